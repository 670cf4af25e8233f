/* job.h: one job = one worker slot of one segment run, under a lease.
 *
 * Below the loop (main.c), above chunks: a job owns its chunk and never
 * calls main.c; what the loop wants to hear goes through qc_job_hooks_t. */
#ifndef QC_JOB_H
#define QC_JOB_H

#include <stdbool.h>

#include "dispatcher.h"

typedef struct qc_job_hooks {
    /** A lease could not be renewed in time: the Redis link is too slow for
     *  this process to hold leases (the loop leaves the consumer group). */
    void (*link_slow)(void *user);
    /** A job decoded and is about to be worked (broadcast routes go first).
     *  @p msg is valid during the call. May be NULL. */
    void (*arrived)(void *user, const qc_msg_job_t *msg);
    /** Stopping, and no job is left: each was settled or handed back (and
     *  Kafka acknowledged the copy). May be NULL. */
    void (*drained)(void *user);
    void *user;
} qc_job_hooks_t;

/** @p hooks is borrowed and must outlive every job. */
void qc_jobs_init(qc_disp_t *d, const qc_job_hooks_t *hooks);
/** The consumer callback of quake.dispatch (opaque: the qc_disp_t). */
void qc_job_on_message(rd_kafka_message_t *msg, void *opaque);
/** Stops (d->stopping must be set): consuming pauses, no send starts; a
 *  chunk being sent finishes its sends in flight and is handed back (the
 *  records it settled marked, the rest left to whoever reclaims it), every
 *  lease is released and every job is published again to a partition of
 *  quake.dispatch another dispatcher owns, its own offset stored once Kafka
 *  has the copy. hooks.drained says when nothing is left. Blocks for one
 *  metadata request (up to a second) to learn the partitions. */
void qc_jobs_stop(qc_disp_t *d);
/** At exit, once Redis and Kafka are gone (no reply comes any more):
 *  frees every job still held, with its chunk. */
void qc_jobs_free_all(qc_disp_t *d);
/** Jobs not yet settled (the shutdown log). */
long qc_jobs_count(const qc_disp_t *d);
/** Redis went up or down: the fencing epoch is asked for again. */
void qc_job_on_redis(qc_disp_t *d, bool up);

#endif
