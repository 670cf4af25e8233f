/* fuzz_fdsn_text.c: libFuzzer target for the FDSN event text parser. Seed
 * it with tests/data/fuzz/fdsn_text/. Besides crashes and sanitizer reports
 * it traps on a broken contract: events without a NUL-terminated string, an
 * out-of-range coordinate, or a failure that leaves output behind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256];
    int rc = qc_feed_fdsn_text_parse((const char *)data, size, &evs, &n, err, sizeof(err));

    if (rc != 0) {
        if (evs != NULL || n != 0 || memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        return 0;
    }
    if ((n == 0) != (evs == NULL))
        abort();
    for (size_t i = 0; i < n; i++) {
        const qc_event_t *ev = &evs[i];
        if (!memchr(ev->id, '\0', sizeof(ev->id)) || !memchr(ev->place, '\0', sizeof(ev->place)) ||
            !memchr(ev->type, '\0', sizeof(ev->type)) ||
            !memchr(ev->source, '\0', sizeof(ev->source)) ||
            !memchr(ev->mag_type, '\0', sizeof(ev->mag_type)) || ev->id[0] == '\0' ||
            ev->source[0] == '\0' || ev->type[0] == '\0' || ev->version != ev->origin_ms ||
            !(ev->lat >= -90.0 && ev->lat <= 90.0) || !(ev->lon >= -180.0 && ev->lon <= 180.0))
            abort();
    }
    free(evs);
    return 0;
}
