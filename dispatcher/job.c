/* job.c: one job = one worker slot of one segment run. The life of a job:
 *
 *   acquire ─OK─► claim ─► chunk.c sends ─► complete+claim-next ─► ... ─► release
 *      └ BUSY / NOWORK / DONE / NORUN: nothing to do, the job is settled
 *
 * Every step is one Lua script on the segment's slot; complete also claims
 * the next chunk, so a chunk costs one round trip. The lease is renewed
 * every lease/3; once it may have expired (monotonic estimate from when the
 * renewal was sent) no new send starts. The Kafka offset of the job is
 * stored only when the job is settled.
 *
 * A job owns its chunk (chunk.h) and gives it a qc_chunk_owner_t to ask and
 * report through; it never calls main.c: the loop hears through the
 * qc_job_hooks_t given to qc_jobs_init() (job.h).
 *
 * Scheduling: job_claim() asks for the next chunk when there is room in
 * the in-flight bound; jobs without room wait in d->waiting ordered by
 * their segment's deadline (when the S wave first reaches its cell, from
 * the job) and qc_jobs_kick() lets them claim as room comes; within the
 * records claimed, chunk.c's send queue orders each person by their own
 * deadline. */
#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "job.h"
#include "qc/clock.h"
#include "qc/log.h"

struct qc_job {
    qc_disp_t *d;
    qc_msg_job_t msg;
    char topic[64];
    int32_t partition;
    int64_t offset;
    /* keys, all on the segment's hash tag */
    char k_run[96], k_leases[100], k_chunks[100], k_bits[100], k_recs[64];
    char token[64];
    int64_t lease_deadline_mono; /* past this the lease may have expired */
    int64_t op_sent;             /* when the last lease-extending script left */
    int64_t renew_sent;
    struct event *renew_ev, *retry_ev;
    struct event *done_ev;       /* chunk completion, run from the loop */
    qc_chunk_result_t done_res;
    qc_chunk_t *chunk;           /* the chunk being sent, or NULL */
    long chunk_size;             /* records per chunk of this run */
    bool fenced, releasing, settled, waiting, parked;
    bool release_done;           /* the run is done: settle after release */
    bool late;                   /* lost the lease because Redis answered too slowly */
    bool handover_failed;        /* Kafka refused the copy: keep the job ourselves */
    bool handing_back;           /* stopping: its copy is on its way to Kafka */
    int pending;                 /* script calls in flight: they hold the job */
    qc_job_t *wnext;
    int redis_retries;
    qc_job_t *next;
    /* cancel jobs: who the alert reached in this segment (bit per slot) */
    unsigned char *elig;
    size_t elig_len;
    bool elig_loaded;
};

static void job_acquire(qc_job_t *j);
static void job_settle(qc_job_t *j, const char *outcome);
static void hand_over(qc_job_t *j);
static void hand_back(qc_job_t *j);
static void jobs_kick(qc_disp_t *d);
static void owner_chunk_done(void *user, const qc_chunk_result_t *res);

void qc_jobs_init(qc_disp_t *d, const qc_job_hooks_t *hooks) { d->job_hooks = hooks; }

static void link_slow(qc_disp_t *d)
{
    if (d->job_hooks && d->job_hooks->link_slow)
        d->job_hooks->link_slow(d->job_hooks->user);
}

/* True while the lease may still be held (monotonic estimate). */
static bool lease_ok(const qc_job_t *j)
{
    return !j->fenced && j->token[0] && qc_mono_ms() < j->lease_deadline_mono;
}

static void unwait(qc_disp_t *d, qc_job_t *j)
{
    if (!j->waiting)
        return;
    for (qc_job_t **pp = &d->waiting; *pp; pp = &(*pp)->wnext)
        if (*pp == j) {
            *pp = j->wnext;
            break;
        }
    j->waiting = false;
}

static void unlink_job(qc_disp_t *d, qc_job_t *j)
{
    unwait(d, j);
    for (qc_job_t **pp = &d->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            return;
        }
}

static void job_free(qc_job_t *j)
{
    if (j->renew_ev)
        event_free(j->renew_ev);
    if (j->retry_ev)
        event_free(j->retry_ev);
    if (j->done_ev)
        event_free(j->done_ev);
    qc_chunk_free(j->chunk);
    free(j->elig);
    free(j);
}


/* Lets the job go. With @p store its Kafka offset may be committed (the run
 * is done, or a copy of the job is in Kafka); without, the partition's
 * offset stays before it and its next owner gets the job again. */
static void job_finish(qc_job_t *j, const char *outcome, bool store)
{
    qc_disp_t *d = j->d;
    if (j->settled)
        return;
    j->settled = true;
    int64_t next = store ? qc_offtrack_settle(d->offsets, j->partition, j->offset) : -1;
    if (next >= 0 && d->jobs_in)
        qc_kcons_store(d->jobs_in, j->topic, j->partition, next);
    qc_log(QC_LOG_DEBUG, "job_settled", "seg", j->msg.seg, "alert_id", j->msg.alert_id, "outcome", outcome, NULL);
    unlink_job(d, j);
    if (!j->parked)
        d->jobs_active--;
    evtimer_del(j->renew_ev);
    evtimer_del(j->retry_ev);
    event_del(j->done_ev);
    if (j->pending == 0)
        job_free(j);
    if (d->stopping) {
        if (!d->jobs && d->job_hooks && d->job_hooks->drained)
            d->job_hooks->drained(d->job_hooks->user);
    } else if (d->jobs_active < d->conf.max_jobs) {
        qc_kcons_pause(d->jobs_in, false);
    }
}

static void job_settle(qc_job_t *j, const char *outcome) { job_finish(j, outcome, true); }

/* Every script call in flight holds its job: a reply can come after the
 * job was settled (a renewal sent just before), and must then only let go.
 * @returns true if the job is gone and the reply must be ignored. */
static bool reply_for_gone_job(qc_job_t *j)
{
    j->pending--;
    if (!j->settled)
        return false;
    if (j->pending == 0)
        job_free(j);
    return true;
}

/* Retries a Redis step after a short pause: Redis restarts, the job stays. */
static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    qc_job_t *j = arg;
    if (j->parked) {
        j->parked = false;
        j->d->jobs_active++;
    }
    if (j->d->stopping) {
        hand_back(j);
        return;
    }
    if (j->d->degraded && !j->handover_failed) {
        hand_over(j);
        return;
    }
    job_acquire(j);
}

/* BUSY or NOWORK: others hold the run. The job is kept (its offset not
 * stored) and asks again every half lease until the run is done, so if a
 * holder dies its chunks are reclaimed by this copy: no sweeper is needed
 * while any copy of a job is alive. Parked jobs do not count against
 * QUAKECAST_MAX_JOBS: they cost one timer. */
static void job_park(qc_job_t *j)
{
    qc_disp_t *d = j->d;
    if (d->stopping) {
        hand_back(j);
        return;
    }
    /* While our Redis link is degraded we are out of the consumer group:
     * pass every job we still hold to the others. */
    if (d->degraded && !j->handover_failed) {
        hand_over(j);
        return;
    }
    if (j->msg.deadline_ms && qc_wall_ms() > j->msg.deadline_ms) {
        job_settle(j, "deadline_passed");
        return;
    }
    j->token[0] = '\0';
    j->releasing = false;
    j->fenced = false;
    if (!j->parked) {
        j->parked = true;
        d->jobs_active--;
        if (d->jobs_active < d->conf.max_jobs)
            qc_kcons_pause(d->jobs_in, false);
    }
    long ms = d->conf.lease_ms / 2 + (long)(drand48() * (double)(d->conf.lease_ms / 4));
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(j->retry_ev, &tv);
}

static void retry_later(qc_job_t *j)
{
    j->redis_retries++;
    if (j->msg.deadline_ms && qc_wall_ms() > j->msg.deadline_ms) {
        job_settle(j, "deadline_passed");
        return;
    }
    /* Whatever we held is gone or will expire: start again from acquire. */
    j->token[0] = '\0';
    bool had_chunk = j->chunk != NULL;
    qc_chunk_free(j->chunk);
    j->chunk = NULL;
    if (had_chunk)
        jobs_kick(j->d); /* its records left the in-flight bound */
    long ms = 100L << (j->redis_retries < 5 ? j->redis_retries : 5);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(j->retry_ev, &tv);
}

/* For a cancel job: did the alert reach slot @p slot? (true for others) */
static bool eligible(const qc_job_t *j, long slot)
{
    if (j->msg.kind != QC_JOB_CANCEL)
        return true;
    size_t byte = (size_t)slot / 8;
    return slot >= 0 && byte < j->elig_len && (j->elig[byte] & (0x80u >> (slot % 8)));
}

/* A cancel run's eligible set, written by the processor when it planned the
 * cancellation: the union of the earlier runs' bits in this segment. */
static void on_eligible(redisReply *r, void *opaque)
{
    qc_job_t *j = opaque;
    if (reply_for_gone_job(j))
        return;
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        retry_later(j);
        return;
    }
    if (r->type == REDIS_REPLY_STRING && r->len) {
        j->elig = malloc(r->len);
        if (!j->elig) {
            retry_later(j);
            return;
        }
        memcpy(j->elig, r->str, r->len);
        j->elig_len = r->len;
    }
    j->elig_loaded = true;
    job_acquire(j);
}

static void run_script(qc_job_t *j, qc_script_t s, int nkeys, int argc, const char **argv, qc_redis_cb cb)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    j->op_sent = qc_mono_ms();
    if (qc_redis_script(j->d->redis, s, nkeys, argc, argv, lens, cb, j))
        retry_later(j);
    else
        j->pending++;
}

/* chunk owner callbacks (qc_chunk_owner_t) */
static bool owner_lease_ok(void *user) { return lease_ok(user); }
static bool owner_eligible(void *user, long slot) { return eligible(user, slot); }

/* A send was skipped because the lease may have expired. */
static void owner_lease_late(void *user)
{
    qc_job_t *j = user;
    j->late = true;
    link_slow(j->d);
}

/* A dispatcher whose link to Redis is too slow to hold a lease must not
 * keep the job to itself (no other copy may exist): it publishes the job
 * again under a fresh key, so it lands on some partition and likely another
 * dispatcher, and lets its own copy go. */
static void hand_over(qc_job_t *j)
{
    qc_disp_t *d = j->d;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    qc_msg_job_pack(&j->msg, &sb);
    char key[80];
    int kl = snprintf(key, sizeof key, "%s:%d:h%ld", j->msg.seg, j->msg.slot, (long)(drand48() * 1e9));
    int rc = qc_kprod_send(d->producer, QC_TOPIC_DISPATCH, key, (size_t)kl, sb.data, sb.size, NULL, NULL);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        j->handover_failed = true;
        job_park(j); /* Kafka refused: keep trying ourselves */
        return;
    }
    qc_counter_add(d->m_handed_over, 1);
    qc_log(QC_LOG_WARN, "job_handed_over", "seg", j->msg.seg, "alert_id", j->msg.alert_id, NULL);
    job_settle(j, "handed_over");
}

/* Stopping: the job goes back to Kafka for another dispatcher, on a
 * partition this process does not own (ours are paused until we leave the
 * group, which would cost the hand-over a rebalance). The original's
 * offset is stored only once Kafka acknowledged the copy; the job holds no
 * lease by now, so the new owner's acquire succeeds at once, and a run
 * already done answers DONE there. */
static void on_handed_back(int err, const char *errstr, void *opaque)
{
    qc_job_t *j = opaque;
    j->pending--;
    if (j->settled) {
        if (j->pending == 0)
            job_free(j);
        return;
    }
    if (err) {
        qc_log(QC_LOG_WARN, "job_hand_back_failed", "seg", j->msg.seg, "alert_id", j->msg.alert_id, "error",
               errstr ? errstr : "", NULL);
        job_finish(j, "hand_back_failed", false); /* the partition's next owner gets it again */
        return;
    }
    job_settle(j, "handed_back");
}

static void hand_back(qc_job_t *j)
{
    qc_disp_t *d = j->d;
    if (j->handing_back || j->settled)
        return;
    if (!d->producer) { /* the process is past its loop: Kafka is gone */
        job_finish(j, "exiting", false);
        return;
    }
    if (j->msg.deadline_ms && qc_wall_ms() > j->msg.deadline_ms) {
        job_settle(j, "deadline_passed");
        return;
    }
    j->handing_back = true;
    evtimer_del(j->retry_ev);
    evtimer_del(j->renew_ev);
    unwait(d, j);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    qc_msg_job_pack(&j->msg, &sb);
    char key[80];
    int kl = snprintf(key, sizeof key, "%s:%d", j->msg.seg, j->msg.slot);
    int32_t part = -1; /* RD_KAFKA_PARTITION_UA: by key, when we know no other partition */
    if (d->nhandback_parts > 0)
        part = d->handback_parts[d->handback_next++ % d->nhandback_parts];
    int rc = qc_kprod_send_to(d->producer, QC_TOPIC_DISPATCH, part, key, (size_t)kl, sb.data, sb.size,
                              on_handed_back, j);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        job_finish(j, "hand_back_failed", false);
        return;
    }
    j->pending++;
    qc_counter_add(d->m_handed_back, 1);
    char p[16];
    snprintf(p, sizeof p, "%d", (int)part);
    qc_log(QC_LOG_INFO, "job_handed_back", "seg", j->msg.seg, "alert_id", j->msg.alert_id, "partition", p, NULL);
}

static void released(qc_job_t *j)
{
    if (j->release_done)
        job_settle(j, "done");
    else if (j->d->stopping)
        hand_back(j);
    else if (j->late)
        hand_over(j);
    else
        job_park(j);
}

static void on_released(redisReply *r, void *opaque)
{
    qc_job_t *j = opaque;
    if (!reply_for_gone_job(j))
        released(j);
}

static void job_release(qc_job_t *j, const char *why)
{
    if (j->releasing)
        return;
    j->releasing = true;
    evtimer_del(j->renew_ev);
    j->release_done = !strcmp(why, "done");
    if (!j->token[0] || j->fenced) {
        released(j);
        return;
    }
    const char *argv[] = { j->k_run, j->k_leases, j->token };
    size_t lens[] = { strlen(argv[0]), strlen(argv[1]), strlen(argv[2]) };
    if (qc_redis_script(j->d->redis, QC_SCRIPT_RELEASE, 2, 3, argv, lens, on_released, j))
        released(j);
    else
        j->pending++;
}

static void lost_lease(qc_job_t *j, const char *where)
{
    j->fenced = true;
    if (!strcmp(where, "renew_late")) {
        qc_counter_add(j->d->m_leases_late, 1);
        j->late = true;
        link_slow(j->d);
    }
    if (strcmp(where, "renew_late") != 0) /* Redis refused us */
        qc_counter_add(j->d->m_fenced, 1);
    qc_log(QC_LOG_WARN, "lease_lost", "seg", j->msg.seg, "alert_id", j->msg.alert_id, "at", where, NULL);
    /* Sends in flight finish; their chunk is not completed (the next owner
     * reclaims it and sends to whoever is still unmarked). */
    if (!j->chunk)
        job_release(j, "fenced");
}

/* A claim-shaped reply: {'OK', idx, start, reclaimed, bits, {records}} or a word. */
static void on_claim_reply(qc_job_t *j, redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING) {
        if (r && r->type == REDIS_REPLY_ERROR)
            qc_log(QC_LOG_ERROR, "script_error", "seg", j->msg.seg, "error", r->str, NULL);
        retry_later(j);
        return;
    }
    const char *w = r->element[0]->str;
    if (!strcmp(w, "OK")) {
        /* Counted from when the script left, not when it answered: a slow
         * link makes us stop early, never late. */
        j->lease_deadline_mono = j->op_sent + j->d->conf.lease_ms * 9 / 10;
        if (r->elements >= 4 && r->element[3]->integer)
            qc_counter_add(j->d->m_chunks_reclaimed, 1);
        qc_chunk_owner_t owner = { .msg = &j->msg, .lease_ok = owner_lease_ok, .lease_late = owner_lease_late,
                                   .eligible = j->msg.kind == QC_JOB_CANCEL ? owner_eligible : NULL,
                                   .done = owner_chunk_done, .user = j };
        j->chunk = qc_chunk_start(j->d, &owner, r);
        if (!j->chunk) {
            qc_log(QC_LOG_ERROR, "chunk_start_failed", "seg", j->msg.seg, NULL);
            job_release(j, "internal");
        }
        return;
    }
    if (!strcmp(w, "FENCED")) {
        lost_lease(j, "claim");
        return;
    }
    job_release(j, !strcmp(w, "DONE") ? "done" : "nowork");
}

static void on_claim(redisReply *r, void *opaque)
{
    if (!reply_for_gone_job(opaque))
        on_claim_reply(opaque, r);
}

/* Records claimed and not completed are what a crash can send twice: a job
 * claims only while the whole process stays within QUAKECAST_MAX_INFLIGHT. */
/* Segments whose people wait for a quota-bound provider hold their chunks
 * for long: they get a quarter of the room and of the job slots, so the
 * others keep claiming (a saturated provider holds back no one else). */
static bool slow_share_full(const qc_job_t *j)
{
    const qc_disp_t *d = j->d;
    if (!j->msg.slow || d->held_slow <= 0)
        return false;
    /* Quota-bound segments together: at most a quarter of the in-flight
     * records and half of the job slots. Each provider's lane (SMS, e-mail,
     * Telegram) at most a quarter of the slots, so the slowest provider's
     * chunks, held longest, cannot fill them all and leave a faster one
     * idle (a lane's chunks are often a few dozen people: a cell's SMS
     * subscribers). */
    long quarter = d->conf.max_jobs / 4 > 0 ? d->conf.max_jobs / 4 : 1;
    long half = d->conf.max_jobs / 2 > 0 ? d->conf.max_jobs / 2 : 1;
    if (d->held_slow + j->chunk_size > d->conf.max_inflight / 4 || d->chunks_slow >= half)
        return true;
    int lane = j->msg.slow_ch;
    if (lane < 0 || lane >= QC_CH_COUNT_)
        return d->chunks_slow >= quarter; /* segments stored before the lanes: as before */
    return d->lane_chunks[lane] >= quarter;
}

static bool room_for_chunk(const qc_job_t *j)
{
    const qc_disp_t *d = j->d;
    if (slow_share_full(j))
        return false;
    return d->held_records == 0 || d->held_records + j->chunk_size <= d->conf.max_inflight;
}

static void job_wait(qc_job_t *j)
{
    if (j->waiting)
        return;
    j->waiting = true;
    /* Earliest deadline first: the segment the S wave reaches first claims
     * first; ties (and jobs of one segment) in arrival order. */
    qc_job_t **pp = &j->d->waiting;
    bool fifo = j->d->order == QC_ORDER_FIFO; /* benchmarks: arrival order only */
    while (*pp && (fifo || (*pp)->msg.due_ms <= j->msg.due_ms))
        pp = &(*pp)->wnext;
    j->wnext = *pp;
    *pp = j;
}

static void job_claim(qc_job_t *j)
{
    if (j->d->stopping) {
        job_release(j, "stopping");
        return;
    }
    if (slow_share_full(j) && !j->chunk) {
        /* Not waiting with a lease and a job slot: parked jobs cost a
         * timer and leave QUAKECAST_MAX_JOBS to the segments that can go
         * (32 slow jobs waiting had stopped this dispatcher taking any
         * other job from Kafka). */
        job_release(j, "slow_share_full");
        return;
    }
    if (!room_for_chunk(j)) {
        job_wait(j);
        return;
    }
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", j->d->conf.lease_ms);
    const char *argv[] = { j->k_run, j->k_leases, j->k_chunks, j->k_bits, j->k_recs, j->token, lease };
    run_script(j, QC_SCRIPT_CLAIM, 5, 7, argv, on_claim);
}

static void complete_reply(qc_job_t *j, redisReply *r);

static void on_complete(redisReply *r, void *opaque)
{
    qc_job_t *j = opaque;
    qc_disp_t *d = j->d;
    if (reply_for_gone_job(j))
        return;
    qc_chunk_free(j->chunk);
    j->chunk = NULL;
    complete_reply(j, r); /* may settle j */
    jobs_kick(d);
}

static void complete_reply(qc_job_t *j, redisReply *r)
{
    if (j->fenced) {
        job_release(j, "fenced");
        return;
    }
    /* {'OK'} alone: completed without claiming, because there was no room. */
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_STRING &&
        !strcmp(r->element[0]->str, "OK")) {
        j->lease_deadline_mono = j->op_sent + j->d->conf.lease_ms * 9 / 10;
        if (j->d->stopping)
            job_release(j, "stopping");
        else
            job_claim(j);
        return;
    }
    on_claim_reply(j, r);
}

/* Lets jobs waiting for in-flight room claim their next chunk. */
static void jobs_kick(qc_disp_t *d)
{
    /* In deadline order; a slow segment without room in its share lets
     * the jobs behind it go, the whole bound being full stops all. */
    for (qc_job_t **pp = &d->waiting; *pp;) {
        qc_job_t *j = *pp;
        if (!room_for_chunk(j)) {
            if (!j->msg.slow)
                return;
            pp = &j->wnext;
            continue;
        }
        *pp = j->wnext;
        j->waiting = false;
        if (j->fenced || !lease_ok(j))
            job_release(j, "lease_expired_while_waiting");
        else
            job_claim(j);
        pp = &d->waiting; /* the list may have changed under job_claim */
    }
}

/* The chunk's done callback, called from deep inside chunk.c (a send's
 * completion): the work that may free the chunk or the job runs from the
 * loop instead, never under its caller. */
static void owner_chunk_done(void *user, const qc_chunk_result_t *res)
{
    qc_job_t *j = user;
    j->done_res = *res;
    event_active(j->done_ev, 0, 0);
}

static void on_released_partial(redisReply *r, void *opaque)
{
    qc_job_t *j = opaque;
    qc_disp_t *d = j->d;
    if (reply_for_gone_job(j))
        return;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->type == REDIS_REPLY_STRING &&
        !strcmp(r->element[0]->str, "FENCED"))
        qc_counter_add(d->m_fenced, 1);
    qc_chunk_free(j->chunk);
    j->chunk = NULL;
    released(j); /* hands the job back */
    jobs_kick(d);
}

/* Stopping with a chunk partly sent: one release call marks and counts
 * what was settled and gives the lease up; the chunk stays ours in Redis
 * with no live lease, so the next claim of any worker of the run reclaims
 * it at once and sends the unmarked records only. */
static void release_partial(qc_job_t *j, const qc_chunk_result_t *res)
{
    qc_disp_t *d = j->d;
    j->releasing = true;
    j->release_done = false;
    evtimer_del(j->renew_ev);
    char idx[24], t[24], n[24], f[24], q[24], first[24], last[24];
    snprintf(idx, sizeof idx, "%ld", res->idx);
    snprintf(t, sizeof t, "%ld", res->targeted - res->abandoned); /* the rest is counted by its sender */
    snprintf(n, sizeof n, "%ld", res->notified);
    snprintf(f, sizeof f, "%ld", res->failed);
    snprintf(q, sizeof q, "%ld", res->dlq);
    snprintf(first, sizeof first, "%lld", (long long)res->first_ms);
    snprintf(last, sizeof last, "%lld", (long long)res->last_ms);
    const char *argv[] = { j->k_run, j->k_leases, j->k_chunks, j->k_bits, j->token, idx, (const char *)res->bits,
                           t, n, f, q, first, last };
    size_t lens[13];
    for (int i = 0; i < 13; i++)
        lens[i] = i == 6 ? res->nbits_bytes : strlen(argv[i]);
    qc_counter_add(d->m_records_handed_back, (uint64_t)res->abandoned);
    /* The settled records as hex bits, so a test can tell whose sends came after. */
    char hex[2 * 256 + 1] = "";
    if (res->nbits_bytes <= 256)
        for (size_t i = 0; i < res->nbits_bytes; i++)
            snprintf(hex + 2 * i, 3, "%02x", res->bits[i]);
    char rev[16], start[24], nrec[24], unsent[24];
    snprintf(rev, sizeof rev, "%d", j->msg.rev);
    snprintf(start, sizeof start, "%ld", res->start);
    snprintf(nrec, sizeof nrec, "%ld", res->nrecords);
    snprintf(unsent, sizeof unsent, "%ld", res->abandoned);
    qc_log(QC_LOG_INFO, "chunk_handed_back", "seg", j->msg.seg, "alert_id", j->msg.alert_id, "rev", rev, "chunk", idx,
           "start", start, "records", nrec, "unsent", unsent, "settled_bits", hex, NULL);
    if (qc_redis_script(d->redis, QC_SCRIPT_RELEASE, 4, 13, argv, lens, on_released_partial, j) == 0) {
        j->pending++;
        return;
    }
    /* Redis away: the lease expires by itself; the chunk is reclaimed then. */
    qc_chunk_free(j->chunk);
    j->chunk = NULL;
    released(j);
    jobs_kick(d);
}

static void on_chunk_done(evutil_socket_t fd, short what, void *arg)
{
    qc_job_t *j = arg;
    qc_disp_t *d = j->d;
    const qc_chunk_result_t *res = &j->done_res;
    qc_counter_add(d->m_chunks, 1);
    /* Completing would mark the chunk done with records never attempted:
     * give the lease up instead, so the chunk is reclaimed at once and the
     * unmarked records are sent by its next owner. */
    if (j->fenced || res->abandoned > 0) {
        if (d->stopping && !j->fenced && j->token[0]) {
            release_partial(j, res);
            return;
        }
        qc_chunk_free(j->chunk);
        j->chunk = NULL;
        job_release(j, "fenced"); /* may settle j */
        jobs_kick(d);
        return;
    }
    char lease[24], idx[24], t[24], n[24], f[24], q[24], first[24], last[24];
    snprintf(lease, sizeof lease, "%ld", d->conf.lease_ms);
    snprintf(idx, sizeof idx, "%ld", res->idx);
    snprintf(t, sizeof t, "%ld", res->targeted);
    snprintf(n, sizeof n, "%ld", res->notified);
    snprintf(f, sizeof f, "%ld", res->failed);
    snprintf(q, sizeof q, "%ld", res->dlq);
    snprintf(first, sizeof first, "%lld", (long long)res->first_ms);
    snprintf(last, sizeof last, "%lld", (long long)res->last_ms);
    /* If this completes, its records are marked and leave the bound. */
    bool next = !d->stopping && d->held_records - res->nrecords + j->chunk_size <= d->conf.max_inflight &&
                (!j->msg.slow || d->held_slow - res->nrecords + j->chunk_size <= d->conf.max_inflight / 4);
    /* (a slow job's next chunk replaces this one: the slot count stays) */
    const char *argv[] = { j->k_run, j->k_leases, j->k_chunks, j->k_bits, j->k_recs, j->token, lease, idx,
                           (const char *)res->bits, t, n, f, q, first, last, next ? "1" : "0" };
    size_t lens[16];
    for (int i = 0; i < 16; i++)
        lens[i] = i == 8 ? res->nbits_bytes : strlen(argv[i]);
    j->op_sent = qc_mono_ms();
    if (qc_redis_script(d->redis, QC_SCRIPT_COMPLETE, 5, 16, argv, lens, on_complete, j) == 0) {
        j->pending++;
    } else {
        /* Redis is away: the chunk stays claimed by us and will be
         * reclaimed after our lease expires; sends were made, so at most
         * this chunk's hand-offs repeat (the in-flight bound). */
        qc_chunk_free(j->chunk);
        j->chunk = NULL;
        retry_later(j);
    }
}

static void on_renewed(redisReply *r, void *opaque)
{
    qc_job_t *j = opaque;
    if (reply_for_gone_job(j))
        return;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING)
        return; /* no news: the deadline estimate stands */
    if (!strcmp(r->element[0]->str, "FENCED"))
        lost_lease(j, "renew");
    else if (j->renew_sent + j->d->conf.lease_ms * 9 / 10 > j->lease_deadline_mono)
        j->lease_deadline_mono = j->renew_sent + j->d->conf.lease_ms * 9 / 10;
}

static void on_renew_tick(evutil_socket_t fd, short what, void *arg)
{
    qc_job_t *j = arg;
    if (!j->token[0] || j->fenced || j->releasing)
        return;
    /* Renewals did not come back in time: the lease may already be someone
     * else's. Stop here rather than keep it alive in Redis with late
     * renewals while sending nothing. */
    if (!lease_ok(j)) {
        lost_lease(j, "renew_late");
        return;
    }
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", j->d->conf.lease_ms);
    const char *argv[] = { j->k_run, j->k_leases, j->token, lease };
    size_t lens[] = { strlen(argv[0]), strlen(argv[1]), strlen(argv[2]), strlen(argv[3]) };
    j->renew_sent = qc_mono_ms();
    if (qc_redis_script(j->d->redis, QC_SCRIPT_RENEW, 2, 4, argv, lens, on_renewed, j) == 0)
        j->pending++;
}

static void on_acquired(redisReply *r, void *opaque)
{
    qc_job_t *j = opaque;
    if (reply_for_gone_job(j))
        return;
    qc_disp_t *d = j->d;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING) {
        retry_later(j);
        return;
    }
    const char *w = r->element[0]->str;
    /* acquire purges expired leases and says how many: {'OK', …, expired}
     * or {'BUSY', expired}. */
    size_t ei = !strcmp(w, "OK") ? 5 : 1;
    if ((!strcmp(w, "OK") || !strcmp(w, "BUSY")) && r->elements > ei &&
        r->element[ei]->type == REDIS_REPLY_INTEGER && r->element[ei]->integer > 0)
        qc_counter_add(d->m_leases_expired, (uint64_t)r->element[ei]->integer);
    if (!strcmp(w, "OK") && r->elements >= 2) {
        snprintf(j->token, sizeof j->token, "%s", r->element[1]->str);
        j->chunk_size = r->elements >= 4 && r->element[3]->type == REDIS_REPLY_INTEGER
                            ? (long)r->element[3]->integer : 512;
        j->lease_deadline_mono = j->op_sent + d->conf.lease_ms * 9 / 10;
        qc_counter_add(d->m_leases_granted, 1);
        struct timeval tv = { d->conf.lease_ms / 3000, (d->conf.lease_ms / 3 % 1000) * 1000 };
        evtimer_add(j->renew_ev, &tv);
        job_claim(j);
        return;
    }
    if (!strcmp(w, "STALE_EPOCH")) {
        d->epoch = 0;
        qc_job_on_redis(d, true);
        retry_later(j);
        return;
    }
    if (!strcmp(w, "BUSY") || !strcmp(w, "NOWORK")) {
        if (!strcmp(w, "BUSY"))
            qc_counter_add(d->m_leases_busy, 1);
        job_park(j);
        return;
    }
    job_settle(j, w); /* DONE, NORUN */
}

static void job_acquire(qc_job_t *j)
{
    qc_disp_t *d = j->d;
    if (d->stopping) {
        hand_back(j);
        return;
    }
    if (!d->epoch) {
        /* The epoch request may have failed (Redis loading, a timeout):
         * ask again, then try this job later. */
        if (qc_redis_up(d->redis) && !d->epoch_pending)
            qc_job_on_redis(d, true);
        retry_later(j);
        return;
    }
    if (j->msg.kind == QC_JOB_CANCEL && !j->elig_loaded) {
        char ek[112];
        snprintf(ek, sizeof ek, "%s:e", j->k_run);
        j->op_sent = qc_mono_ms();
        if (qc_redis_cmd(d->redis, on_eligible, j, "GET %s", ek))
            retry_later(j);
        else
            j->pending++;
        return;
    }
    char epoch[24], lease[24], nonce[17];
    snprintf(epoch, sizeof epoch, "%ld", d->epoch);
    snprintf(lease, sizeof lease, "%ld", d->conf.lease_ms);
    /* 64 random bits end the token: a counter value re-issued after lost
     * writes (a failover, a lost AOF tail) never makes the same token, so
     * a stale holder's token is unknown to the new primary and refused
     * (docs/ARCHITECTURE.md, "Fencing epoch"). */
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        retry_later(j);
        return;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
    const char *argv[] = { j->k_run, j->k_leases, j->k_chunks, epoch, lease, nonce };
    run_script(j, QC_SCRIPT_ACQUIRE, 3, 6, argv, on_acquired);
}

void qc_job_on_message(rd_kafka_message_t *msg, void *opaque)
{
    qc_disp_t *d = opaque;
    qc_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        rd_kafka_message_destroy(msg);
        return;
    }
    j->d = d;
    snprintf(j->topic, sizeof j->topic, "%s", rd_kafka_topic_name(msg->rkt));
    j->partition = msg->partition;
    j->offset = msg->offset;
    char err[128];
    int rc = qc_msg_job_unpack(msg->payload, msg->len, &j->msg, err, sizeof err);
    rd_kafka_message_destroy(msg);
    qc_offtrack_begin(d->offsets, j->partition, j->offset);
    j->next = d->jobs;
    d->jobs = j;
    d->jobs_active++;
    if (d->jobs_active >= d->conf.max_jobs)
        qc_kcons_pause(d->jobs_in, true);
    j->renew_ev = evtimer_new(d->base, on_renew_tick, j);
    j->retry_ev = evtimer_new(d->base, on_retry, j);
    j->done_ev = event_new(d->base, -1, 0, on_chunk_done, j);
    if (rc || !j->renew_ev || !j->retry_ev || !j->done_ev) {
        char off[32];
        snprintf(off, sizeof off, "%lld", (long long)j->offset);
        qc_counter_add(d->m_jobs_bad, 1);
        qc_log(QC_LOG_WARN, "kafka_record_skipped", "topic", QC_TOPIC_DISPATCH, "offset", off, "error",
               rc ? err : "out of memory", NULL);
        job_settle(j, "undecodable");
        return;
    }
    qc_counter_add(d->m_jobs, 1);
    if (d->job_hooks && d->job_hooks->arrived)
        d->job_hooks->arrived(d->job_hooks->user, &j->msg);
    event_assign(j->renew_ev, d->base, -1, EV_PERSIST, on_renew_tick, j);
    const char *seg = j->msg.seg;
    snprintf(j->k_run, sizeof j->k_run, "qc:run:{%s}:%s:%d", seg, j->msg.alert_id, j->msg.rev);
    snprintf(j->k_leases, sizeof j->k_leases, "%s:l", j->k_run);
    snprintf(j->k_chunks, sizeof j->k_chunks, "%s:c", j->k_run);
    snprintf(j->k_bits, sizeof j->k_bits, "%s:d", j->k_run);
    snprintf(j->k_recs, sizeof j->k_recs, "qc:seg:{%s}:r", seg);
    job_acquire(j);
}

static void on_epoch(redisReply *r, void *opaque)
{
    qc_disp_t *d = opaque;
    d->epoch_pending = false;
    if (r && r->type == REDIS_REPLY_ERROR)
        qc_log(QC_LOG_WARN, "fencing_epoch_failed", "error", r->str, NULL);
    if (r && r->type == REDIS_REPLY_INTEGER) {
        d->epoch = (long)r->integer;
        char e[24];
        snprintf(e, sizeof e, "%ld", d->epoch);
        qc_log(QC_LOG_INFO, "fencing_epoch", "epoch", e, NULL);
    }
}

void qc_job_on_redis(qc_disp_t *d, bool up)
{
    if (!up) {
        d->epoch = 0;
        return;
    }
    const char *run_id = qc_redis_run_id(d->redis);
    const char *argv[] = { "qc:epoch", run_id };
    size_t lens[] = { 8, strlen(run_id) };
    if (qc_redis_script(d->redis, QC_SCRIPT_EPOCH, 1, 2, argv, lens, on_epoch, d) == 0)
        d->epoch_pending = true;
}

long qc_jobs_count(const qc_disp_t *d)
{
    long n = 0;
    for (const qc_job_t *j = d->jobs; j; j = j->next)
        n++;
    return n;
}

/* The partitions of quake.dispatch that are not ours: a hand-back lands
 * there, so a live dispatcher reads it at once. */
static void find_handback_partitions(qc_disp_t *d)
{
    int n = qc_kprod_partition_count(d->producer, QC_TOPIC_DISPATCH, 1000);
    if (n <= 0 || n > 100000)
        return;
    int32_t *mine = calloc((size_t)n, sizeof *mine);
    d->handback_parts = calloc((size_t)n, sizeof *d->handback_parts);
    int nm = mine ? qc_kcons_assignment(d->jobs_in, QC_TOPIC_DISPATCH, mine, n) : -1;
    if (nm >= 0 && d->handback_parts) {
        for (int32_t p = 0; p < n; p++) {
            bool ours = false;
            for (int k = 0; k < nm && !ours; k++)
                ours = mine[k] == p;
            if (!ours)
                d->handback_parts[d->nhandback_parts++] = p;
        }
        d->handback_next = (int)(drand48() * (double)(d->nhandback_parts ? d->nhandback_parts : 1));
    }
    free(mine);
}

void qc_jobs_stop(qc_disp_t *d)
{
    qc_kcons_pause(d->jobs_in, true);
    find_handback_partitions(d);
    char n[24], np[24];
    snprintf(n, sizeof n, "%ld", qc_jobs_count(d));
    snprintf(np, sizeof np, "%d", d->nhandback_parts);
    qc_log(QC_LOG_INFO, "jobs_stopping", "jobs", n, "handback_partitions", np, NULL);
    for (qc_job_t *j = d->jobs, *next; j; j = next) {
        next = j->next;
        if (j->settled || j->handing_back)
            continue;
        if (j->chunk) {
            qc_chunk_stop(j->chunk); /* sends waiting for a retry are given up */
        } else if (j->waiting) {
            unwait(d, j);
            job_release(j, "stopping"); /* then handed back */
        } else if (evtimer_pending(j->retry_ev, NULL)) {
            evtimer_del(j->retry_ev);   /* parked, or retrying after a Redis error */
            hand_back(j);
        }
        /* else a script call is in flight; its reply sees d->stopping */
    }
    qc_sends_stop(d);
    if (!d->jobs && d->job_hooks && d->job_hooks->drained)
        d->job_hooks->drained(d->job_hooks->user);
}

void qc_jobs_free_all(qc_disp_t *d)
{
    while (d->jobs) {
        qc_job_t *j = d->jobs;
        d->jobs = j->next;
        job_free(j);
    }
    d->waiting = NULL;
}
