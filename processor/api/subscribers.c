/* api/subscribers.c: GET and DELETE /v1/subscribers/{id} with the admin
 * token (the subscriber's own token comes with self sign-up). GET shows the
 * stored document, with channels a provider declared gone marked "dead".
 * DELETE erases the person from the registry and empties their segment
 * slot, so no alert, not even one planned before, reaches them. */
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor.h"
#include "qc/log.h"
#include "qc/subscriber.h"

typedef struct del_req {
    struct evhttp_request *req;
} del_req_t;

static void on_deleted(redisReply *r, void *opaque)
{
    del_req_t *dr = opaque;
    struct evhttp_request *req = qc_http_take(&dr->req);
    if (req) {
        if (!r || r->type != REDIS_REPLY_INTEGER)
            qc_http_reply_error(req, 503, "unavailable", "Redis unavailable", NULL);
        else if (r->integer == 0)
            qc_http_reply_error(req, 404, "not_found", "no such subscriber", NULL);
        else
            qc_http_reply_json(req, 204, NULL);
    }
    free(dr);
}

static void on_got(redisReply *r, void *opaque)
{
    del_req_t *dr = opaque;
    struct evhttp_request *req = qc_http_take(&dr->req);
    if (req) {
        qc_subscriber_t sub;
        char err[128];
        json_t *doc = NULL;
        if (!r || r->type == REDIS_REPLY_ERROR)
            qc_http_reply_error(req, 503, "unavailable", "Redis unavailable", NULL);
        else if (r->type != REDIS_REPLY_STRING || r->len == 0)
            qc_http_reply_error(req, 404, "not_found", "no such subscriber", NULL);
        else if (qc_subscriber_unpack(r->str, r->len, &sub, err, sizeof err) || !(doc = qc_subscriber_to_json(&sub))) {
            qc_log(QC_LOG_ERROR, "subscriber_record_bad", "error", err, NULL);
            qc_http_reply_error(req, 500, "internal", "stored record does not decode", NULL);
        } else {
            qc_http_reply_json(req, 200, doc); /* takes doc */
            doc = NULL;
        }
        json_decref(doc);
    }
    free(dr);
}

void qc_api_subscribers(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_DELETE && cmd != EVHTTP_REQ_GET) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use GET or DELETE", NULL);
        return;
    }
    if (!qc_http_bearer_ok(req, p->token_sha)) {
        qc_http_reply_error(req, 401, "unauthorized", "admin bearer token required", NULL);
        return;
    }
    size_t n = strlen(rest);
    if (n == 0 || n > 64 || strspn(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") != n) {
        qc_http_reply_error(req, 404, "not_found", "no such subscriber", "id");
        return;
    }
    del_req_t *dr = calloc(1, sizeof *dr);
    if (!dr) {
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    qc_http_hold(req, &dr->req);
    char idxk[32];
    qc_sub_index_key(rest, idxk, sizeof idxk);
    const char *argv[] = { idxk, rest };
    size_t lens[] = { strlen(idxk), n };
    bool get = cmd == EVHTTP_REQ_GET;
    if (qc_redis_script(p->redis, get ? QC_SCRIPT_SUB_GET : QC_SCRIPT_SUB_DELETE, 0, 2, argv, lens,
                        get ? on_got : on_deleted, dr))
        (get ? on_got : on_deleted)(NULL, dr);
}
