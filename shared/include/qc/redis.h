/* redis.h: an asynchronous Redis connection on a libevent loop (hiredis
 * async + its libevent adapter), reconnecting by itself, and the project's
 * Lua scripts called by SHA (loaded on NOSCRIPT, transparently). */
#ifndef QC_REDIS_H
#define QC_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "qc/redis_auth.h"

struct event_base;
typedef struct qc_redis qc_redis_t;

/** Reply callback: @p reply is NULL when the connection failed; it is valid
 *  until the callback returns (hiredis frees it). */
typedef void (*qc_redis_cb)(redisReply *reply, void *opaque);
/** Called from the loop each time the connection comes up (after a
 *  reconnect too) or goes down. */
typedef void (*qc_redis_state_cb)(qc_redis_t *r, bool up, void *opaque);

/** The project's scripts (shared/scripts/<name>.lua, each prefixed with
 *  lib.lua). */
typedef enum qc_script {
    QC_SCRIPT_SUB_UPSERT,
    QC_SCRIPT_SUB_DELETE,
    QC_SCRIPT_RUN_INIT,
    QC_SCRIPT_ACQUIRE,
    QC_SCRIPT_RENEW,
    QC_SCRIPT_CLAIM,
    QC_SCRIPT_COMPLETE,
    QC_SCRIPT_RELEASE,
    QC_SCRIPT_EPOCH,
    QC_SCRIPT_ASSOCIATE,
    QC_SCRIPT_RATE_TAKE,
    QC_SCRIPT_SUB_MARK_DEAD,
    QC_SCRIPT_SUB_GET,
    QC_SCRIPT_SUB_PENDING,  /* self-service sign-up (issue 6) */
    QC_SCRIPT_SUB_VERIFY,
    QC_SCRIPT_SUB_FETCH,
    QC_SCRIPT_SUB_LIST,
    QC_SCRIPT_SUB_PHONE,
    QC_SCRIPT_SEG_OP,       /* internal: a record step of a registry script on a cluster */
    QC_SCRIPT_COUNT_
} qc_script_t;

/** Connects to @p url ("redis://host:port[/db]"), presenting @p auth
 *  (copied; NULL or off: no AUTH) first on every connection. The first connection is
 *  attempted at once; failures are retried with back-off. @returns NULL with
 *  errstr set if the URL is invalid.
 *  "redis-cluster://host:port[,host:port...]" (seed nodes) talks to a Redis
 *  Cluster instead (qc/rcluster.h): every command and script is routed by
 *  its first key, up means a complete slot map, run_id is "". Scripts that
 *  declare no keys are the registry's and go to its slot (tag {reg}); the
 *  record reads and writes of the registry scripts follow them, each on its
 *  segment's slot, and the callback gets the reply once all are done
 *  (docs/ARCHITECTURE.md, "Redis Cluster"). */
qc_redis_t *qc_redis_new(struct event_base *base, const char *url,
                         const qc_redis_auth_t *auth, qc_redis_state_cb state_cb, void *opaque,
                         char *errstr, size_t errstr_size);
/** Disconnects; pending callbacks get NULL replies. NULL ok. */
void qc_redis_destroy(qc_redis_t *r);
bool qc_redis_up(const qc_redis_t *r);
/** The server's run_id once known (changes when Redis restarts), or "". */
const char *qc_redis_run_id(const qc_redis_t *r);

/** Sends a command (argv form). @returns 0, or QC_ERR_REDIS if not
 *  connected (then @p cb is not called). */
int qc_redis_argv(qc_redis_t *r, qc_redis_cb cb, void *opaque, int argc,
                  const char **argv, const size_t *argvlen);
/** printf-style convenience (hiredis format rules). */
int qc_redis_cmd(qc_redis_t *r, qc_redis_cb cb, void *opaque, const char *fmt, ...);

/** SUBSCRIBE to @p channel on a connection used for nothing else; @p cb
 *  gets every reply (["subscribe",...], ["message", channel, payload]) and a
 *  NULL when the connection drops (subscribe again from the state callback).
 *  On a cluster URL the subscriptions share one more connection, to the
 *  primary of the channel's slot; when it drops, the state callback is
 *  called down then up once the slot map is complete again. */
int qc_redis_subscribe(qc_redis_t *r, const char *channel, qc_redis_cb cb, void *opaque);

/** EVALSHA of @p script with @p nkeys keys followed by arguments (argv holds
 *  keys then args). On NOSCRIPT the script is sent with EVAL, which loads it,
 *  and the callback receives that reply. */
int qc_redis_script(qc_redis_t *r, qc_script_t script, int nkeys, int argc,
                    const char **argv, const size_t *argvlen, qc_redis_cb cb, void *opaque);

/** Name of a script (for logs and metrics). */
const char *qc_script_name(qc_script_t s);

/** Number of scripts sent via EVAL after NOSCRIPT (metrics, tests). */
unsigned long qc_redis_noscript_count(const qc_redis_t *r);

#endif
