/* chunk.h: one claimed chunk of a segment run, and the process-wide send
 * queue its records wait in for an in-flight slot.
 *
 * Below job.c, above the channels and the rate limiter: a chunk never calls
 * its job. What it needs from the job (the message, whether the lease
 * still holds, the cancel set, where to report) comes in qc_chunk_owner_t. */
#ifndef QC_CHUNK_H
#define QC_CHUNK_H

#include <stdbool.h>

#include "area.h"
#include "dispatcher.h"
#include "ratelimit.h"

typedef struct qc_chunk qc_chunk_t;

/** What a finished chunk reports; valid during the done callback and, for
 *  @c bits, until qc_chunk_free(). */
typedef struct qc_chunk_result {
    long idx;
    long start;           /* slot of its first record */
    long nrecords;
    const unsigned char *bits;
    size_t nbits_bytes;
    long targeted, notified, failed, dlq;
    long abandoned;       /* records not attempted (lease in doubt): never complete the chunk then */
    int64_t first_ms, last_ms;
} qc_chunk_result_t;

/** The chunk's way back to whoever claimed it (job.c). Copied by
 *  qc_chunk_start(); @c msg and @c user must outlive the chunk. */
typedef struct qc_chunk_owner {
    const qc_msg_job_t *msg;
    /** True while the lease may still be held: no send starts otherwise. */
    bool (*lease_ok)(void *user);
    /** A send was skipped because the lease may have expired. */
    void (*lease_late)(void *user);
    /** For a cancel run: did the alert reach slot @p slot? NULL: everyone. */
    bool (*eligible)(void *user, long slot);
    /** Every record is settled; called once, possibly from deep inside a
     *  send's completion: the owner must not free the chunk from within
     *  (job.c defers to the loop). */
    void (*done)(void *user, const qc_chunk_result_t *res);
    void *user;
} qc_chunk_owner_t;

/** Starts a chunk from a claim reply {'OK', idx, start, reclaimed, bits,
 *  {records}}: decides per record, queues the sends. @returns the chunk,
 *  owned by the caller (qc_chunk_free), or NULL if the reply is malformed
 *  or memory ran out (nothing was queued then). */
qc_chunk_t *qc_chunk_start(qc_disp_t *d, const qc_chunk_owner_t *owner, const redisReply *claim);
/** Frees a chunk (its records leave d->held_records). Sends of it still in
 *  flight must have finished. NULL ok. */
void qc_chunk_free(qc_chunk_t *c);
/** Starts queued sends while in-flight slots are free. */
void qc_sends_pump(qc_disp_t *d);
/** Stopping (d->stopping is set): no send starts any more; sends queued or
 *  waiting for a rate-limit token are given up (counted abandoned in their
 *  chunks, their bits left clear for whoever reclaims the chunk). Sends in
 *  flight finish. */
void qc_sends_stop(qc_disp_t *d);
/** Stopping: gives up the chunk's sends waiting for a retry. */
void qc_chunk_stop(qc_chunk_t *c);
/** At exit, once the HTTP client is destroyed (it drops requests in
 *  flight without answering): frees what those sends held. */
void qc_sends_free_unanswered(qc_disp_t *d);
/** The area broadcasts' answer for a person parked by a chunk (give it to
 *  qc_areas_new() with the dispatcher as @p user). */
void qc_chunk_area_resolved(void *user, qc_rl_node_t *n, qc_area_outcome_t o);
/** The callbacks a rate limiter of the send queue needs (ready, waited). */
void qc_sends_rl_ops(qc_disp_t *d, qc_rl_ops_t *ops);

#endif
