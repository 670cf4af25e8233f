/* broadcast.h: one post per alert revision to each broadcast route (the
 * Telegram channel, the FCM topic), by whichever dispatcher claims it
 * first. Called by the loop (main.c) when a job arrives. */
#ifndef QC_BROADCAST_H
#define QC_BROADCAST_H

#include "dispatcher.h"

void qc_bcast_job(qc_disp_t *d, const qc_msg_job_t *job);
void qc_bcast_cleanup(qc_disp_t *d);

#endif
