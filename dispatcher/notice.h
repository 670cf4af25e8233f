/* notice.h: one-off messages on quake.notices (sign-up verification
 * codes), sent through the same drivers as alerts. Called by the loop. */
#ifndef QC_NOTICE_H
#define QC_NOTICE_H

#include "dispatcher.h"

qc_notices_t *qc_notices_new(qc_disp_t *d);
/** Frees notices in flight (the HTTP client is destroyed first). NULL ok. */
void qc_notices_destroy(qc_notices_t *n);
void qc_notice_on_message(rd_kafka_message_t *msg, void *opaque);

#endif
