/* Fuzzes every decoder of bytes that come from Redis or Kafka: the packed
 * subscriber record and the three message kinds. Each must refuse bad
 * input with an error, never crash; a decoded record must hold a
 * NUL-terminated id and valid coordinates. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qc/geo.h"
#include "qc/msg.h"
#include "qc/subscriber.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    char err[256];
    qc_subscriber_t s;
    if (qc_subscriber_unpack(buf, size, &s, err, sizeof err) == 0) {
        if (strnlen(s.id, sizeof s.id) == sizeof s.id || !qc_geo_valid(s.lat, s.lon))
            abort();
    }
    qc_msg_job_t j;
    qc_msg_event_t e;
    qc_msg_dlq_t d;
    (void)qc_msg_job_unpack(buf, size, &j, err, sizeof err);
    (void)qc_msg_event_unpack(buf, size, &e, err, sizeof err);
    (void)qc_msg_dlq_unpack(buf, size, &d, err, sizeof err);
    free(buf);
    return 0;
}
