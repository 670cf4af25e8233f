/* dlq.c: one record on quake.dlq for a message given up on: who, which
 * channel, why, after how many attempts. Best effort: a refused produce is
 * logged, and the record's bit is set by the caller either way. */
#include <stdio.h>
#include <string.h>

#include "dispatcher.h"
#include "qc/clock.h"
#include "qc/log.h"

void qc_dead_letter(qc_disp_t *d, const qc_msg_job_t *job, const char *sub_id, const char *channel,
                    const char *reason, int attempts)
{
    qc_msg_dlq_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.alert_id, sizeof m.alert_id, "%s", job->alert_id);
    snprintf(m.seg, sizeof m.seg, "%s", job->seg);
    snprintf(m.subscriber_id, sizeof m.subscriber_id, "%s", sub_id);
    snprintf(m.channel, sizeof m.channel, "%s", channel);
    snprintf(m.reason, sizeof m.reason, "%s", reason);
    m.attempts = attempts;
    m.ts_ms = qc_wall_ms();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    qc_msg_dlq_pack(&m, &sb);
    if (qc_kprod_send(d->producer, QC_TOPIC_DLQ, job->alert_id, strlen(job->alert_id), sb.data, sb.size, NULL, NULL))
        qc_log(QC_LOG_ERROR, "dlq_produce_failed", "alert_id", job->alert_id, "reason", reason, NULL);
    msgpack_sbuffer_destroy(&sb);
}
