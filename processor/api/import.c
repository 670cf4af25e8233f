/* api/import.c: POST /v1/subscribers/import (NDJSON). Every line is
 * validated on its own: good lines are stored, bad ones are reported with
 * their line number and reason, and one bad line never rejects the rest. */
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor.h"
#include "qc/log.h"
#include "qc/subscriber.h"

#define MAX_REPORTED_REJECTIONS 1000

typedef struct import {
    qc_proc_t *p;
    struct evhttp_request *req;
    json_t *rejected;
    long imported, nrejected, outstanding;
    bool parsing; /* replies may arrive before the body is fully walked */
} import_t;

typedef struct line_ref {
    import_t *im;
    long line;
} line_ref_t;

static void reject(import_t *im, long line, const char *code, const char *field, const char *msg)
{
    im->nrejected++;
    qc_counter_add(im->p->m_import_rejected, 1);
    if (json_array_size(im->rejected) >= MAX_REPORTED_REJECTIONS)
        return;
    char text[400];
    snprintf(text, sizeof text, "%s: %s", code, msg);
    json_t *r = json_pack("{s:I,s:s,s:s}", "line", (json_int_t)line, "error", text, "code", code);
    if (r && field)
        json_object_set_new(r, "field", json_string(field));
    json_array_append_new(im->rejected, r);
}

static void finish_if_done(import_t *im)
{
    if (im->parsing || im->outstanding > 0)
        return;
    struct evhttp_request *req = qc_http_take(&im->req);
    if (req)
        qc_http_reply_json(req, 200, json_pack("{s:I,s:I,s:O}", "imported", (json_int_t)im->imported,
                                               "rejected_count", (json_int_t)im->nrejected,
                                               "rejected", im->rejected));
    char a[24], b[24];
    snprintf(a, sizeof a, "%ld", im->imported);
    snprintf(b, sizeof b, "%ld", im->nrejected);
    qc_log(QC_LOG_INFO, "import_done", "imported", a, "rejected", b, NULL);
    json_decref(im->rejected);
    free(im);
}

static void on_stored(redisReply *r, void *opaque)
{
    line_ref_t *ref = opaque;
    import_t *im = ref->im;
    if (r && r->type == REDIS_REPLY_ARRAY) {
        im->imported++;
        qc_counter_add(im->p->m_imported, 1);
    } else {
        reject(im, ref->line, "storage_error", NULL,
               r && r->type == REDIS_REPLY_ERROR ? r->str : "Redis unavailable");
    }
    free(ref);
    im->outstanding--;
    finish_if_done(im);
}

static void import_line(import_t *im, long lineno, const char *s, size_t len, const qc_sub_policy_t *pol)
{
    json_error_t jerr;
    json_t *doc = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        reject(im, lineno, "invalid_json", NULL, jerr.text);
        return;
    }
    qc_subscriber_t sub;
    const char *code = NULL, *field = NULL;
    char msg[256];
    int rc = qc_subscriber_from_json(doc, pol, &sub, &code, &field, msg, sizeof msg);
    json_decref(doc);
    if (rc) {
        reject(im, lineno, code, field, msg);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    line_ref_t *ref = malloc(sizeof *ref);
    if (!ref || qc_subscriber_pack(&sub, &sb)) {
        free(ref);
        msgpack_sbuffer_destroy(&sb);
        reject(im, lineno, "internal", NULL, "out of memory");
        return;
    }
    char idxk[32], cell[32], size[16], minmmi[8];
    qc_sub_index_key(sub.id, idxk, sizeof idxk);
    qc_seg_group(&sub, cell, sizeof cell);
    snprintf(size, sizeof size, "%ld", im->p->sizing.segment_size);
    snprintf(minmmi, sizeof minmmi, "%d", sub.min_mmi);
    const char *argv[] = { idxk, sub.id, sb.data, cell, size, minmmi };
    size_t lens[] = { strlen(idxk), strlen(sub.id), sb.size, strlen(cell), strlen(size), strlen(minmmi) };
    ref->im = im;
    ref->line = lineno;
    if (qc_redis_script(im->p->redis, QC_SCRIPT_SUB_UPSERT, 0, 6, argv, lens, on_stored, ref)) {
        free(ref);
        reject(im, lineno, "storage_error", NULL, "Redis unavailable");
    } else {
        im->outstanding++;
    }
    msgpack_sbuffer_destroy(&sb);
}

void qc_api_import(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    char *body = NULL;
    size_t len = 0;
    if (!qc_http_admin_post(req, p->token_sha, (size_t)p->conf.import_max_bytes, &body, &len))
        return;
    import_t *im = calloc(1, sizeof *im);
    if (!im || !(im->rejected = json_array())) {
        free(im);
        free(body);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    im->p = p;
    im->parsing = true;
    qc_http_hold(req, &im->req);
    qc_sub_policy_t pol = { .allow_private_webhooks = p->conf.webhook_allow_private != 0,
                            .default_min_mmi = (int)p->conf.default_min_mmi };
    long lineno = 0;
    for (char *s = body, *end = body + len; s < end;) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        lineno++;
        size_t m = n;
        while (m > 0 && (s[m - 1] == '\r' || s[m - 1] == ' ' || s[m - 1] == '\t'))
            m--;
        if (m > 0)
            import_line(im, lineno, s, m, &pol);
        s += n + 1;
    }
    free(body);
    im->parsing = false;
    finish_if_done(im);
}
