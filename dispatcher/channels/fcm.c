/* channels/fcm.c: push notifications through Firebase Cloud Messaging's
 * HTTP v1 API, authorised by OAuth 2.0 with a service account.
 *
 * Token (RFC 7523, as Google's "service account" flow uses it:
 * https://developers.google.com/identity/protocols/oauth2/service-account
 * #authorizingrequests): a JWT signed RS256 with the account's private key,
 * claims iss = client_email, scope = .../auth/firebase.messaging, aud = the
 * token URL, iat, exp (at most an hour later), POSTed as
 * grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>;
 * the answer's access_token is used as a Bearer token until shortly before
 * expires_in runs out. It is fetched at start-up, so the first alert does
 * not wait for it, and refreshed in the background.
 *
 * Send (https://firebase.google.com/docs/reference/fcm/rest/v1/
 * projects.messages/send): POST <url>/v1/projects/<project>/messages:send
 * {"message":{"token"|"topic", "notification":{title,body}, "data":{...},
 * "android":{"priority":"HIGH"}, "apns":{...}}}. Errors carry an FcmError
 * code (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode):
 * UNREGISTERED (404) and SENDER_ID_MISMATCH (403) mean the token will never
 * work again (dead); INVALID_ARGUMENT is permanent; QUOTA_EXCEEDED (429),
 * UNAVAILABLE (503) and INTERNAL (500) are transient; 401 means our access
 * token expired: fetch a new one and try again. */
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"
#include "qc/ipe.h"
#include "qc/clock.h"
#include "qc/log.h"

#define FCM_SCOPE "https://www.googleapis.com/auth/firebase.messaging"

typedef struct fcm {
    qc_disp_t *d;
    EVP_PKEY *key;
    char client_email[256];
    char token_url[512];
    char send_url[512];
    const char *topic;          /* broadcast route, NULL if none */
    char bearer[2200];          /* "Authorization: Bearer ..." */
    int64_t token_expires_ms;   /* monotonic; 0 = no token */
    bool fetching;
    long backoff_ms;
    qc_send_t *wait_head, *wait_tail; /* sends waiting for a token */
    struct event *refresh;
    int generation;             /* token version, to spot stale 401s */
    struct fcm_call *calls;     /* sends not answered yet (freed by fcm_destroy
                                   if the exit drops them unanswered) */
} fcm_t;

static void fetch_token(fcm_t *f);

static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fetch_token(arg);
}

static void schedule(fcm_t *f, long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(f->refresh, &tv);
}

static int post_message(fcm_t *f, qc_send_t *s);

static void flush_waiting(fcm_t *f, bool ok, const char *why)
{
    qc_send_t *s = f->wait_head;
    f->wait_head = f->wait_tail = NULL;
    while (s) {
        qc_send_t *next = s->dnext;
        s->dnext = NULL;
        if (!ok || post_message(f, s))
            s->done(s, QC_SEND_TRANSIENT, -1, why ? why : "could not start the request");
        s = next;
    }
}

static void on_token(const qc_httpc_result_t *res, void *opaque)
{
    fcm_t *f = opaque;
    f->fetching = false;
    json_t *j = res->err ? NULL : json_loadb(res->body, res->body_len, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    json_int_t ttl = json_integer_value(json_object_get(j, "expires_in"));
    char why[200];
    if (res->status == 200 && tok && strlen(tok) < sizeof f->bearer - 32 && ttl > 0) {
        snprintf(f->bearer, sizeof f->bearer, "Authorization: Bearer %s", tok);
        /* Use it for 80% of its life, then refresh in the background. */
        long use_ms = (long)(ttl * 800);
        f->token_expires_ms = qc_mono_ms() + use_ms;
        f->generation++;
        f->backoff_ms = 0;
        schedule(f, use_ms);
        json_decref(j);
        qc_log(QC_LOG_INFO, "fcm_token", "state", "fetched", NULL);
        flush_waiting(f, true, NULL);
        return;
    }
    const char *e = json_string_value(json_object_get(j, "error"));
    snprintf(why, sizeof why, "oauth token: %s %ld %s", res->err ? res->curl_error : "HTTP", res->status,
             e ? e : "");
    json_decref(j);
    qc_log(QC_LOG_WARN, "fcm_token_failed", "error", why, NULL);
    f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : 500;
    if (f->backoff_ms > 30000)
        f->backoff_ms = 30000;
    schedule(f, f->backoff_ms);
    flush_waiting(f, false, why);
}

/* The signed JWT assertion (RFC 7519 with RS256, RFC 7518 section 3.3). */
static int make_assertion(fcm_t *f, char *out, size_t outsz)
{
    int64_t now = qc_wall_ms() / 1000;
    char claims[1024];
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", f->client_email, "scope", FCM_SCOPE, "aud", f->token_url,
                          "iat", (json_int_t)now, "exp", (json_int_t)(now + 3600));
    char *cs = c ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    if (!cs)
        return -1;
    static const char hdr[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    int hl = qc_b64url((const unsigned char *)hdr, sizeof hdr - 1, out, outsz);
    int cl = hl < 0 ? -1 : qc_b64url((const unsigned char *)cs, strlen(cs), claims, sizeof claims);
    free(cs);
    if (cl < 0 || (size_t)(hl + 1 + cl) + 400 > outsz)
        return -1;
    out[hl] = '.';
    memcpy(out + hl + 1, claims, (size_t)cl + 1);
    size_t signed_len = (size_t)hl + 1 + (size_t)cl;
    unsigned char sig[1024];
    size_t siglen = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, f->key) == 1 &&
             EVP_DigestSign(md, sig, &siglen, (const unsigned char *)out, signed_len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    out[signed_len] = '.';
    return qc_b64url(sig, siglen, out + signed_len + 1, outsz - signed_len - 1) < 0 ? -1 : 0;
}

static void fetch_token(fcm_t *f)
{
    if (f->fetching)
        return;
    char jwt[4096], form[4608];
    size_t n = 0;
    if (make_assertion(f, jwt, sizeof jwt) ||
        qc_form_add(form, sizeof form, &n, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer") ||
        qc_form_add(form, sizeof form, &n, "assertion", jwt)) {
        qc_log(QC_LOG_ERROR, "fcm_token_failed", "error", "could not sign the assertion", NULL);
        schedule(f, 30000);
        flush_waiting(f, false, "could not sign the OAuth assertion");
        return;
    }
    static const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
    if (qc_httpc_request(f->d->http, "POST", f->token_url, headers, form, n, on_token, f) == 0)
        f->fetching = true;
    else
        schedule(f, 1000);
}

static int load_credentials(fcm_t *f, const char *path, char *why, size_t whysz)
{
    size_t len;
    char *raw = qc_read_file(path, 1 << 16, &len);
    if (!raw) {
        snprintf(why, whysz, "QUAKECAST_FCM_CREDENTIALS: cannot read %s", path);
        return -1;
    }
    json_error_t je;
    json_t *j = json_loadb(raw, len, 0, &je);
    free(raw);
    const char *pem = json_string_value(json_object_get(j, "private_key"));
    const char *email = json_string_value(json_object_get(j, "client_email"));
    const char *project = json_string_value(json_object_get(j, "project_id"));
    const char *token_uri = json_string_value(json_object_get(j, "token_uri"));
    int rc = -1;
    if (!pem || !email || !project || strlen(email) >= sizeof f->client_email) {
        snprintf(why, whysz, "QUAKECAST_FCM_CREDENTIALS: not a service-account file (private_key, client_email, "
                             "project_id)");
        goto out;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    f->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!f->key || EVP_PKEY_get_base_id(f->key) != EVP_PKEY_RSA) {
        snprintf(why, whysz, "QUAKECAST_FCM_CREDENTIALS: private_key is not an RSA key in PEM");
        goto out;
    }
    snprintf(f->client_email, sizeof f->client_email, "%s", email);
    const qc_dconf_t *c = &f->d->conf;
    const char *tu = c->fcm_token_url[0] ? c->fcm_token_url : token_uri ? token_uri : "https://oauth2.googleapis.com/token";
    size_t bl = strlen(c->fcm_url);
    while (bl && c->fcm_url[bl - 1] == '/')
        bl--;
    if ((size_t)snprintf(f->token_url, sizeof f->token_url, "%s", tu) >= sizeof f->token_url ||
        (size_t)snprintf(f->send_url, sizeof f->send_url, "%.*s/v1/projects/%s/messages:send", (int)bl, c->fcm_url,
                         project) >= sizeof f->send_url) {
        snprintf(why, whysz, "FCM URLs too long");
        goto out;
    }
    rc = 0;
out:
    json_decref(j);
    return rc;
}

static int fcm_init(qc_disp_t *d, void **state, char *why, size_t whysz)
{
    if (!d->conf.fcm_credentials[0]) {
        snprintf(why, whysz, "QUAKECAST_FCM_CREDENTIALS not set");
        return 0;
    }
    fcm_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->d = d;
    f->topic = d->conf.fcm_topic[0] ? d->conf.fcm_topic : NULL;
    f->refresh = evtimer_new(d->base, on_refresh, f);
    if (!f->refresh || load_credentials(f, d->conf.fcm_credentials, why, whysz)) {
        if (f->refresh)
            event_free(f->refresh);
        EVP_PKEY_free(f->key);
        free(f);
        return -1;
    }
    *state = f;
    fetch_token(f);
    qc_httpc_warm(d->http, f->send_url, 2);
    return 1;
}

typedef struct fcm_call {
    fcm_t *f;
    qc_send_t *s;
    int generation;
    struct fcm_call *prev, *next; /* f->calls */
} fcm_call_t;

static void call_unlink(fcm_call_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->f->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void fcm_destroy(void *state)
{
    fcm_t *f = state;
    if (!f)
        return;
    while (f->calls) {
        fcm_call_t *c = f->calls;
        f->calls = c->next;
        free(c);
    }
    event_free(f->refresh);
    EVP_PKEY_free(f->key);
    free(f);
}

static void on_sent(const qc_httpc_result_t *res, void *opaque)
{
    fcm_call_t *call = opaque;
    fcm_t *f = call->f;
    qc_send_t *s = call->s;
    int gen = call->generation;
    call_unlink(call);
    free(call);
    char detail[200];
    if (res->err) {
        snprintf(detail, sizeof detail, "%s", res->curl_error[0] ? res->curl_error : "network error");
        s->done(s, QC_SEND_TRANSIENT, -1, detail);
        return;
    }
    qc_send_outcome_t o = qc_http_outcome(res->status, 0);
    if (o == QC_SEND_OK) {
        s->done(s, o, -1, NULL);
        return;
    }
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    json_t *err = json_object_get(j, "error");
    const char *status = json_string_value(json_object_get(err, "status"));
    const char *code = NULL;
    json_t *det;
    size_t i;
    json_array_foreach(json_object_get(err, "details"), i, det)
        if (!code)
            code = json_string_value(json_object_get(det, "errorCode"));
    snprintf(detail, sizeof detail, "HTTP %ld %s %s", res->status, code ? code : "", status ? status : "");
    if (code && (!strcmp(code, "UNREGISTERED") || !strcmp(code, "SENDER_ID_MISMATCH")))
        o = QC_SEND_DEAD;
    else if (res->status == 404 && s->sub)
        o = QC_SEND_DEAD; /* NOT_FOUND without details: the token is unknown */
    json_decref(j);
    if (res->status == 401) {
        /* Our access token was refused: drop it (if no newer one came
         * meanwhile) and fetch another; the send is retried. */
        if (gen == f->generation) {
            f->token_expires_ms = 0;
            fetch_token(f);
        }
        s->done(s, QC_SEND_TRANSIENT, 0, detail);
        return;
    }
    s->done(s, o, o == QC_SEND_TRANSIENT ? res->retry_after_s : -1, detail);
}

static int post_message(fcm_t *f, qc_send_t *s)
{
    const qc_msg_job_t *job = s->job;
    char mag[16], mmi[16], secs[16];
    snprintf(mag, sizeof mag, "%.1f", job->mag);
    snprintf(mmi, sizeof mmi, "%.1f", s->mmi);
    snprintf(secs, sizeof secs, "%.0f", s->seconds > 0 ? s->seconds : 0.0);
    /* data values must be strings (the API's map<string,string>). */
    json_t *msg = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s},s:{s:{s:s}}}", "notification", "title",
                            s->subject ? s->subject : "Earthquake", "body", s->text, "data", "alert_id", job->alert_id, "event_id",
                            job->event_id, "magnitude", mag, "mmi", mmi, "seconds_to_shaking", secs, "android",
                            "priority", "HIGH", "ttl", "60s", "apns", "headers", "apns-priority", "10");
    if (!msg)
        return -1;
    json_t *data = json_object_get(msg, "data");
    if (data) /* which equation predicted mmi */
        json_object_set_new(data, "intensity_model", json_string(qc_ipe_model_name((qc_ipe_model_t)job->model)));
    if (data && s->route) /* an area's topic: which one, for the app */
        json_object_set_new(data, "area", json_string(s->route));
    const char *topic = s->route ? s->route : f->topic;
    if (!s->sub && !topic) {
        json_decref(msg);
        return -1;
    }
    json_object_set_new(msg, s->sub ? "token" : "topic", json_string(s->sub ? s->sub->push_token : topic));
    json_t *body = json_pack("{s:o}", "message", msg);
    char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    fcm_call_t *call = js ? malloc(sizeof *call) : NULL;
    if (!call) {
        free(js);
        return -1;
    }
    *call = (fcm_call_t){ f, s, f->generation, NULL, f->calls };
    if (f->calls)
        f->calls->prev = call;
    f->calls = call;
    const char *headers[] = { "Content-Type: application/json", f->bearer, NULL };
    int rc = qc_httpc_request(f->d->http, "POST", f->send_url, headers, js, strlen(js), on_sent, call);
    free(js);
    if (rc) {
        call_unlink(call);
        free(call);
    }
    return rc;
}

static int fcm_send(qc_disp_t *d, void *state, qc_send_t *s)
{
    (void)d;
    fcm_t *f = state;
    if (f->token_expires_ms && qc_mono_ms() < f->token_expires_ms)
        return post_message(f, s);
    /* No usable token yet: wait for the one on its way. */
    s->dnext = NULL;
    if (f->wait_tail)
        f->wait_tail->dnext = s;
    else
        f->wait_head = s;
    f->wait_tail = s;
    fetch_token(f);
    return 0;
}

static const char *fcm_route(void *state)
{
    return ((fcm_t *)state)->topic;
}

const qc_channel_driver_t qc_channel_fcm = { .name = "push", .init = fcm_init, .destroy = fcm_destroy,
                                             .send = fcm_send, .broadcast_route = fcm_route,
                                             .broadcast = fcm_send };
