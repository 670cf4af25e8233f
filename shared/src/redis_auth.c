/* redis_auth.c: AUTH as the first command of a Redis connection. */
#include "qc/redis_auth.h"
#include "qc/err.h"
#include "qc/log.h"

#include <stdio.h>
#include <string.h>

int qc_redis_auth_set(qc_redis_auth_t *a, const char *user, const char *pass, char *errstr, size_t errsz)
{
    memset(a, 0, sizeof *a);
    user = user ? user : "";
    pass = pass ? pass : "";
    if (*user && !*pass) {
        snprintf(errstr, errsz, "Redis user '%.64s' has no password", user);
        return QC_ERR_INVAL;
    }
    if (strlen(user) >= sizeof a->user || strlen(pass) >= sizeof a->pass) {
        snprintf(errstr, errsz, "Redis user name or password longer than %d bytes", QC_REDIS_AUTH_MAX - 1);
        return QC_ERR_INVAL;
    }
    /* ACL user names are single tokens in ACL files and ACL SETUSER:
     * a space or control byte would make the user unmatchable. */
    for (const char *p = user; *p; p++)
        if ((unsigned char)*p <= ' ') {
            snprintf(errstr, errsz, "Redis user name '%.64s' has a space or control character", user);
            return QC_ERR_INVAL;
        }
    memcpy(a->user, user, strlen(user) + 1);
    memcpy(a->pass, pass, strlen(pass) + 1);
    return 0;
}

bool qc_redis_auth_on(const qc_redis_auth_t *a)
{
    return a && a->pass[0];
}

static void on_auth(redisAsyncContext *ac, void *reply_, void *priv)
{
    (void)priv;
    redisReply *reply = reply_;
    if (!reply || reply->type != REDIS_REPLY_ERROR)
        return;
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", ac->c.tcp.host ? ac->c.tcp.host : "?", ac->c.tcp.port);
    qc_log(QC_LOG_ERROR, "redis_auth_refused", "node", addr, "error", reply->str, NULL);
    /* Everything queued behind AUTH would fail with NOAUTH: drop the
     * connection so its owner reconnects (and retries AUTH) with back-off. */
    redisAsyncDisconnect(ac);
}

int qc_redis_auth_send(redisAsyncContext *ac, const qc_redis_auth_t *a)
{
    if (!qc_redis_auth_on(a))
        return 0;
    const char *argv[3] = { "AUTH", a->user, a->pass };
    size_t lens[3] = { 4, strlen(a->user), strlen(a->pass) };
    int argc = a->user[0] ? 3 : 2;
    if (argc == 2) {
        argv[1] = a->pass;
        lens[1] = lens[2];
    }
    return redisAsyncCommandArgv(ac, on_auth, NULL, argc, argv, lens) == REDIS_OK ? 0 : QC_ERR_REDIS;
}

void qc_redis_auth_wipe(qc_redis_auth_t *a)
{
    if (!a)
        return;
    volatile char *p = a->pass;
    for (size_t i = 0; i < sizeof a->pass; i++)
        p[i] = 0;
}
