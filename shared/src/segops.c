/* segops.c: the record steps of the registry scripts on a Redis Cluster.
 *
 * A registry script (segops) answers {ops, reply}: ops lists the record
 * writes ({'set', seg, slot, record[, expected]}) and reads ({'get', seg,
 * slot, mode, p1, p2}) it could not do on the registry's slot. They are
 * sent at once, each to its segment's slot (seg_op.lua); a read's record
 * goes into the reply at p1 (1-based; 0: the whole reply) and p2. The
 * caller's callback gets the reply when every step has answered; NULL if a
 * step was lost or failed (the registry is then ahead of the records: the
 * caller's retry of the same call writes the record where the index
 * points), {'conflict'} if an expected record did not match. */
#include "qc/segops.h"
#include "qc/log.h"

#include <stdlib.h>
#include <string.h>

static redisReply *reply_dup(const redisReply *r)
{
    redisReply *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->type = r->type;
    d->integer = r->integer;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR) {
        d->str = malloc(r->len + 1);
        if (!d->str) {
            free(d);
            return NULL;
        }
        memcpy(d->str, r->str, r->len);
        d->str[r->len] = '\0';
        d->len = r->len;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements) {
        d->element = calloc(r->elements, sizeof *d->element);
        if (!d->element) {
            free(d);
            return NULL;
        }
        d->elements = r->elements;
        for (size_t i = 0; i < r->elements; i++)
            if (!(d->element[i] = reply_dup(r->element[i]))) {
                freeReplyObject(d);
                return NULL;
            }
    }
    return d;
}

static redisReply *reply_str(const char *s, size_t len, int type)
{
    redisReply *d = calloc(1, sizeof *d);
    if (d && !(d->str = malloc(len + 1))) {
        free(d);
        return NULL;
    }
    if (d) {
        d->type = type;
        memcpy(d->str, s, len);
        d->str[len] = '\0';
        d->len = len;
    }
    return d;
}

typedef struct segops {
    qc_redis_cb cb;
    void *opaque;
    redisReply *reply; /* owned: the script's answer, reads filled in */
    int pending;
    bool failed, conflict;
} segops_t;

typedef struct segop_step {
    segops_t *s;
    char mode;   /* 'r' raw, 'e' empty, 'n' nilempty; 0 for a write */
    long p1, p2;
} segop_step_t;

static void segops_finish(segops_t *s)
{
    if (s->conflict && !s->failed) {
        redisReply *c = calloc(1, sizeof *c);
        redisReply **el = calloc(1, sizeof *el);
        redisReply *w = reply_str("conflict", 8, REDIS_REPLY_STRING);
        if (c && el && w) {
            c->type = REDIS_REPLY_ARRAY;
            c->elements = 1;
            c->element = el;
            el[0] = w;
            freeReplyObject(s->reply);
            s->reply = c;
        } else {
            free(c);
            free(el);
            if (w)
                freeReplyObject(w);
            s->failed = true;
        }
    }
    if (s->cb)
        s->cb(s->failed ? NULL : s->reply, s->opaque);
    if (s->reply)
        freeReplyObject(s->reply);
    free(s);
}

/* Where a read's record goes: the reply itself, or one of its elements. */
static redisReply **segop_target(segops_t *s, long p1, long p2)
{
    if (p1 <= 0)
        return &s->reply;
    redisReply *r = s->reply;
    if (!r || r->type != REDIS_REPLY_ARRAY || (size_t)p1 > r->elements)
        return NULL;
    if (p2 <= 0)
        return &r->element[p1 - 1];
    r = r->element[p1 - 1];
    if (r->type != REDIS_REPLY_ARRAY || (size_t)p2 > r->elements)
        return NULL;
    return &r->element[p2 - 1];
}

static void on_segop(redisReply *reply, void *priv)
{
    segop_step_t *st = priv;
    segops_t *s = st->s;
    if (!reply || (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "CONFLICT", 8))) {
        if (reply)
            qc_log(QC_LOG_WARN, "redis_segop_failed", "error", reply->str, NULL);
        s->failed = true;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        s->conflict = true;
    } else if (st->mode) {
        redisReply **t = segop_target(s, st->p1, st->p2);
        bool empty = reply->type != REDIS_REPLY_STRING || (st->mode == 'n' && reply->len == 0);
        redisReply *v = NULL;
        if (empty && st->mode == 'e')
            v = reply_str("", 0, REDIS_REPLY_STRING);
        else if (empty) {
            if ((v = calloc(1, sizeof *v)))
                v->type = REDIS_REPLY_NIL;
        } else {
            v = reply_dup(reply);
        }
        if (!t || !v) {
            if (v)
                freeReplyObject(v);
            s->failed = true;
        } else {
            if (*t)
                freeReplyObject(*t);
            *t = v;
        }
    }
    free(st);
    if (--s->pending == 0)
        segops_finish(s);
}

static const char *elem_str(const redisReply *a, size_t i, size_t *len)
{
    if (i >= a->elements || a->element[i]->type != REDIS_REPLY_STRING)
        return NULL;
    *len = a->element[i]->len;
    return a->element[i]->str;
}

static long elem_long(const redisReply *a, size_t i)
{
    return i < a->elements && a->element[i]->type == REDIS_REPLY_INTEGER ? (long)a->element[i]->integer : 0;
}

/* Sends one step; @returns false if it could not be sent. */
static bool segop_send(qc_redis_t *r, segops_t *s, const redisReply *op)
{
    size_t al = 0, sl = 0, l3 = 0, l4 = 0;
    const char *act = elem_str(op, 0, &al), *seg = elem_str(op, 1, &sl);
    if (!act || !seg || op->elements < 3)
        return false;
    char key[96], slot[24];
    int kl = snprintf(key, sizeof key, "qc:seg:{%.*s}:r", (int)sl, seg);
    snprintf(slot, sizeof slot, "%ld", elem_long(op, 2));
    if (kl <= 0 || (size_t)kl >= sizeof key)
        return false;
    segop_step_t *st = calloc(1, sizeof *st);
    if (!st)
        return false;
    st->s = s;
    const char *argv[5] = { key, NULL, slot, NULL, NULL };
    size_t lens[5] = { (size_t)kl, 3, strlen(slot), 0, 0 };
    int argc = 3;
    if (al == 3 && !memcmp(act, "get", 3)) {
        size_t ml;
        const char *m = elem_str(op, 3, &ml);
        st->mode = m && ml == 3 && !memcmp(m, "raw", 3) ? 'r' : m && ml == 5 ? 'e' : 'n';
        st->p1 = elem_long(op, 4);
        st->p2 = elem_long(op, 5);
        argv[1] = "get";
    } else if (al == 3 && !memcmp(act, "set", 3) && (argv[3] = elem_str(op, 3, &l3))) {
        argv[1] = "set";
        lens[3] = l3;
        argc = 4;
        if ((argv[4] = elem_str(op, 4, &l4))) {
            lens[4] = l4;
            argc = 5;
        }
    } else {
        free(st);
        return false;
    }
    s->pending++;
    if (qc_redis_script(r, QC_SCRIPT_SEG_OP, 1, argc, argv, lens, on_segop, st)) {
        s->pending--;
        free(st);
        return false;
    }
    return true;
}

void qc_segops_run(qc_redis_t *r, const redisReply *answer, qc_redis_cb cb, void *opaque)
{
    segops_t *s = calloc(1, sizeof *s);
    const redisReply *ops = answer->element[0];
    if (!s) {
        if (cb)
            cb(NULL, opaque);
        return;
    }
    s->cb = cb;
    s->opaque = opaque;
    if (answer->elements > 1) {
        s->reply = reply_dup(answer->element[1]);
        s->failed = !s->reply;
    } else if ((s->reply = calloc(1, sizeof *s->reply))) {
        s->reply->type = REDIS_REPLY_NIL; /* the script returned nothing */
    } else {
        s->failed = true;
    }
    s->pending = 1; /* held until every step is sent */
    for (size_t i = 0; !s->failed && ops->type == REDIS_REPLY_ARRAY && i < ops->elements; i++)
        if (ops->element[i]->type != REDIS_REPLY_ARRAY || !segop_send(r, s, ops->element[i]))
            s->failed = true;
    if (--s->pending == 0)
        segops_finish(s);
}

