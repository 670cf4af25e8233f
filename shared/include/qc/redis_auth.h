/* redis_auth.h: the credentials a Redis connection presents first.
 *
 * Redis 6 and later check every command against the connection's ACL user;
 * a connection starts as the user "default" and becomes another one with
 * "AUTH <username> <password>" (a lone "AUTH <password>" authenticates
 * "default"). Sources: https://redis.io/docs/latest/commands/auth/ and
 * https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/.
 * hiredis 0.14 has no option for it, so the command is queued on a new
 * asynchronous context right after it is created: hiredis sends its output
 * buffer in order once the socket connects, so AUTH precedes everything
 * else on that connection (SELECT, INFO, SCRIPT LOAD, CLUSTER SLOTS, ...).
 * Both the single-node client (redis.c) and the cluster client's node
 * connections (rcluster.c) call qc_redis_auth_send. */
#ifndef QC_REDIS_AUTH_H
#define QC_REDIS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/async.h>

#define QC_REDIS_AUTH_MAX 512

typedef struct qc_redis_auth {
    char user[QC_REDIS_AUTH_MAX]; /**< "" with a password: the default user */
    char pass[QC_REDIS_AUTH_MAX]; /**< "": send no AUTH at all */
} qc_redis_auth_t;

/** Fills @p a from a user name and password (either may be NULL or "").
 *  A user without a password is refused: every ACL user of the project has
 *  one. @returns 0, or QC_ERR_INVAL with errstr set. */
int qc_redis_auth_set(qc_redis_auth_t *a, const char *user, const char *pass, char *errstr,
                      size_t errstr_size);

/** True when a connection must authenticate. NULL ok (false). */
bool qc_redis_auth_on(const qc_redis_auth_t *a);

/** Queues AUTH on @p ac, which must not have sent anything yet. A refusal
 *  (wrong password, user off) is logged as redis_auth_refused and the
 *  connection is closed, so the owner's disconnect callback retries with its
 *  back-off. No-op when @p a is NULL or off. @returns 0 or QC_ERR_REDIS. */
int qc_redis_auth_send(redisAsyncContext *ac, const qc_redis_auth_t *a);

/** Overwrites the password (before the struct is freed). NULL ok. */
void qc_redis_auth_wipe(qc_redis_auth_t *a);

#endif
