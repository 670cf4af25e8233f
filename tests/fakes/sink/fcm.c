/* fcm.c: a fake of FCM HTTP v1 and of the OAuth2 token endpoint a service
 * account uses to reach it.
 *
 * POST /token: the JWT bearer grant of RFC 7523 as Google runs it
 * (https://developers.google.com/identity/protocols/oauth2/service-account#httprest):
 * an RS256 JWT signed with the service account's private key, checked here
 * against --fcm-public-key; answers an access token that expires after
 * --fcm-token-ttl seconds. Errors as RFC 6749 §5.2 words them.
 *
 * POST /v1/projects/{project}/messages:send
 * (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send)
 * with "Authorization: Bearer <token>"; errors in Google's JSON error format
 * with an FcmError detail
 * (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode,
 * https://cloud.google.com/apis/design/errors#http_mapping). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "qc/err.h"
#include "qc/sign.h"
#include "sink.h"

#define JWT_PART_MAX 8192
#define FCM_SCOPE "https://www.googleapis.com/auth/firebase.messaging"
#define CLOUD_SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define JWT_MAX_LIFE_S 3600 /* Google: "exp ... a maximum of 1 hour after iat" */
#define JWT_SKEW_S 60

typedef struct fcm_token {
    uint64_t hash;        /* sink_hash of the access token */
    int64_t expires_mono; /* ms */
} fcm_token_t;

typedef struct sink_fcm {
    EVP_PKEY *pkey;
    fcm_token_t *tokens;
    size_t ntokens, cap;
} sink_fcm_t;

/* ---- errors -------------------------------------------------------------- */

typedef struct fcm_error {
    const char *code;   /* FcmError.errorCode */
    int status;
    const char *message;
} fcm_error_t;

static const fcm_error_t fcm_errors[] = {
    {"INVALID_ARGUMENT", 400, "Request contains an invalid argument."},
    {"UNREGISTERED", 404, "Requested entity was not found."},
    {"SENDER_ID_MISMATCH", 403, "SenderId mismatch"},
    {"QUOTA_EXCEEDED", 429, "Quota exceeded for quota metric 'Send requests'."},
    {"UNAVAILABLE", 503, "The service is currently unavailable."},
    {"INTERNAL", 500, "Internal error encountered."},
    {"THIRD_PARTY_AUTH_ERROR", 401, "Auth error from APNS or Web Push Service"},
};
#define NERRORS (sizeof(fcm_errors) / sizeof(fcm_errors[0]))

static const fcm_error_t *error_find(const char *code)
{
    for (size_t i = 0; i < NERRORS; i++)
        if (strcmp(fcm_errors[i].code, code) == 0)
            return &fcm_errors[i];
    return NULL;
}

static const fcm_error_t *error_of_status(int status)
{
    for (size_t i = 0; i < NERRORS; i++)
        if (fcm_errors[i].status == status)
            return &fcm_errors[i];
    return NULL;
}

int sink_fcm_error_status(const char *error)
{
    const fcm_error_t *e = error_find(error);

    return e ? e->status : 0;
}

/* google.rpc.Code name for an HTTP status (the API design guide's table). */
static const char *google_status(int status)
{
    switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 500: return "INTERNAL";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return status >= 500 ? "UNKNOWN" : "FAILED_PRECONDITION";
    }
}

/* Sends Google's error object; @p fcm_code NULL = no FcmError detail. */
static void google_error(struct evhttp_request *req, int status, const char *message,
                         const char *fcm_code, long retry_after)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);

    sink_retry_after_header(req, retry_after);
    evbuffer_add_printf(b, "{\"error\":{\"code\":%d,\"message\":", status);
    sink_json_string(b, message, strlen(message));
    evbuffer_add_printf(b, ",\"status\":\"%s\"", google_status(status));
    if (fcm_code != NULL) {
        evbuffer_add_printf(b, ",\"details\":[{\"@type\":\"type.googleapis.com/"
                               "google.firebase.fcm.v1.FcmError\",\"errorCode\":");
        sink_json_string(b, fcm_code, strlen(fcm_code));
        evbuffer_add(b, "}]", 2);
    }
    evbuffer_add(b, "}}\n", 3);
    sink_reply(req, status, NULL);
}

void sink_fcm_fault(struct evhttp_request *req, int status, const char *error,
                    long retry_after)
{
    const fcm_error_t *e = error ? error_find(error) : error_of_status(status);

    if (e != NULL)
        google_error(req, status, e->message, error ? error : e->code, retry_after);
    else
        google_error(req, status, sink_reason(status), error, retry_after);
}

static void fcm_invalid(struct evhttp_request *req, const char *why)
{
    google_error(req, 400, why, "INVALID_ARGUMENT", -1);
}

static void oauth_error(struct evhttp_request *req, int status, const char *error,
                        const char *description)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);

    evbuffer_add_printf(b, "{\"error\":\"%s\",\"error_description\":", error);
    sink_json_string(b, description, strlen(description));
    evbuffer_add(b, "}\n", 2);
    sink_reply(req, status, NULL);
}

/* ---- set-up -------------------------------------------------------------- */

int sink_fcm_setup(sink_t *s, char *errstr, size_t errsz)
{
    const char *path = s->conf->fcm_public_key;
    FILE *f = fopen(path, "r");
    sink_fcm_t *fcm;
    EVP_PKEY *pkey;

    if (f == NULL) {
        snprintf(errstr, errsz, "--fcm-public-key %s: cannot open", path);
        return QC_ERR_IO;
    }
    pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (pkey == NULL) {
        /* a certificate holding the key will do too */
        X509 *x;

        rewind(f);
        if ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
            pkey = X509_get_pubkey(x);
            X509_free(x);
        }
    }
    fclose(f);
    if (pkey == NULL || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pkey);
        snprintf(errstr, errsz, "--fcm-public-key %s: not a PEM RSA public key", path);
        return QC_ERR_INVAL;
    }
    if ((fcm = calloc(1, sizeof(*fcm))) == NULL) {
        EVP_PKEY_free(pkey);
        snprintf(errstr, errsz, "out of memory");
        return QC_ERR_NOMEM;
    }
    fcm->pkey = pkey;
    s->fcm = fcm;
    return 0;
}

void sink_fcm_cleanup(sink_t *s)
{
    if (s->fcm == NULL)
        return;
    EVP_PKEY_free(s->fcm->pkey);
    free(s->fcm->tokens);
    free(s->fcm);
    s->fcm = NULL;
}

/* ---- POST /token ---------------------------------------------------------- */

/* Decodes base64url without padding (RFC 7515 §2) into @p out.
 * @returns the length or a negative qc_err_t. */
static int b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz)
{
    char tmp[JWT_PART_MAX + 4];
    size_t n = 0;

    if (len > JWT_PART_MAX || len % 4 == 1)
        return QC_ERR_PARSE;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];

        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/' || c == '=')
            return QC_ERR_PARSE;
        tmp[n++] = c;
    }
    while (n % 4 != 0)
        tmp[n++] = '=';
    return qc_base64_decode(tmp, n, out, outsz);
}

static json_t *b64url_json(const char *in, size_t len)
{
    unsigned char buf[JWT_PART_MAX];
    json_error_t jerr;
    int n = b64url_decode(in, len, buf, sizeof(buf));

    return n < 0 ? NULL : json_loadb((const char *)buf, (size_t)n, 0, &jerr);
}

static bool scope_ok(const char *scope)
{
    size_t fl = strlen(FCM_SCOPE), cl = strlen(CLOUD_SCOPE);

    for (const char *p = scope; *p;) {
        size_t n = strcspn(p, " ");

        if ((n == fl && strncmp(p, FCM_SCOPE, fl) == 0) ||
            (n == cl && strncmp(p, CLOUD_SCOPE, cl) == 0))
            return true;
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

/* Checks the assertion. @returns NULL if good, else the error description. */
static const char *jwt_check(sink_t *s, const char *jwt)
{
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    unsigned char sig[1024];
    const char *err = NULL, *str;
    json_t *hdr = NULL, *claims = NULL, *v;
    EVP_MD_CTX *md = NULL;
    json_int_t iat, exp;
    int siglen;
    long long now = time(NULL);

    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
        return "Invalid JWT: not three base64url parts";
    hdr = b64url_json(jwt, (size_t)(dot1 - jwt));
    claims = b64url_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
    if (!json_is_object(hdr) || !json_is_object(claims) || siglen <= 0) {
        err = "Invalid JWT: cannot decode header, claims or signature";
        goto out;
    }
    str = json_string_value(json_object_get(hdr, "alg"));
    if (str == NULL || strcmp(str, "RS256") != 0) {
        err = "Invalid JWT: alg must be RS256";
        goto out;
    }
    /* RS256 = RSASSA-PKCS1-v1_5 with SHA-256 over "header.claims" (RFC 7518 §3.3) */
    if ((md = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, s->fcm->pkey) != 1 ||
        EVP_DigestVerify(md, sig, (size_t)siglen, (const unsigned char *)jwt,
                         (size_t)(dot2 - jwt)) != 1) {
        err = "Invalid JWT Signature.";
        goto out;
    }
    str = json_string_value(json_object_get(claims, "iss"));
    if (str == NULL || str[0] == '\0' ||
        (s->conf->fcm_issuer != NULL && strcmp(str, s->conf->fcm_issuer) != 0)) {
        err = "Invalid JWT: iss is missing or not the service account";
        goto out;
    }
    str = json_string_value(json_object_get(claims, "scope"));
    if (str == NULL || !scope_ok(str)) {
        err = "Invalid JWT: scope does not include " FCM_SCOPE;
        goto out;
    }
    str = json_string_value(json_object_get(claims, "aud"));
    if (str == NULL || strlen(str) < 6 || strcmp(str + strlen(str) - 6, "/token") != 0) {
        err = "Invalid JWT: aud must be the token endpoint";
        goto out;
    }
    v = json_object_get(claims, "iat");
    iat = json_integer_value(v);
    if (!json_is_integer(v) || !json_is_integer(json_object_get(claims, "exp"))) {
        err = "Invalid JWT: iat and exp must be integers";
        goto out;
    }
    exp = json_integer_value(json_object_get(claims, "exp"));
    if (exp <= iat || exp - iat > JWT_MAX_LIFE_S || exp <= now || iat > now + JWT_SKEW_S) {
        err = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
              "reasonable timeframe. Check your iat and exp values in the JWT claim.";
        goto out;
    }

out:
    EVP_MD_CTX_free(md);
    json_decref(hdr);
    json_decref(claims);
    return err;
}

static int token_remember(sink_fcm_t *fcm, uint64_t hash, int64_t expires)
{
    if (fcm->ntokens == fcm->cap) {
        size_t cap = fcm->cap ? fcm->cap * 2 : 16;
        fcm_token_t *t = realloc(fcm->tokens, cap * sizeof(*t));

        if (t == NULL)
            return QC_ERR_NOMEM;
        fcm->tokens = t;
        fcm->cap = cap;
    }
    fcm->tokens[fcm->ntokens].hash = hash;
    fcm->tokens[fcm->ntokens].expires_mono = expires;
    fcm->ntokens++;
    return 0;
}

static void token_endpoint(sink_t *s, struct evhttp_request *req)
{
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, SINK_P_FCM);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *grant, *assertion, *err;
    unsigned char rnd[16];
    char token[64];
    struct evkeyvalq form;
    int n;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        oauth_error(req, 405, "invalid_request", "POST only");
        return;
    }
    if (sink_form_parse(len ? (const char *)evbuffer_pullup(in, -1) : "", len, &form) != 0) {
        ps->token_rejected++;
        oauth_error(req, 400, "invalid_request", "body is not form-urlencoded");
        goto out;
    }
    grant = evhttp_find_header(&form, "grant_type");
    assertion = evhttp_find_header(&form, "assertion");
    if (grant == NULL || strcmp(grant, JWT_BEARER) != 0) {
        ps->token_rejected++;
        oauth_error(req, 400, "unsupported_grant_type", "Invalid grant_type");
        goto out;
    }
    if (assertion == NULL || assertion[0] == '\0') {
        ps->token_rejected++;
        oauth_error(req, 400, "invalid_request", "Missing required parameter: assertion");
        goto out;
    }
    if ((err = jwt_check(s, assertion)) != NULL) {
        ps->token_rejected++;
        oauth_error(req, 400, "invalid_grant", err);
        goto out;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        oauth_error(req, 500, "server_error", "no randomness");
        goto out;
    }
    n = snprintf(token, sizeof(token), "ya29.fake-");
    for (size_t i = 0; i < sizeof(rnd); i++)
        n += snprintf(token + n, sizeof(token) - (size_t)n, "%02x", rnd[i]);
    if (token_remember(s->fcm, sink_hash(token, (size_t)n),
                       sink_now_ms(CLOCK_MONOTONIC) + s->conf->fcm_token_ttl * 1000) != 0) {
        oauth_error(req, 500, "server_error", "out of memory");
        goto out;
    }
    ps->tokens_issued++;
    evbuffer_add_printf(evhttp_request_get_output_buffer(req),
                        "{\"access_token\":\"%s\",\"expires_in\":%ld,\"token_type\":\"Bearer\"}\n",
                        token, s->conf->fcm_token_ttl);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control",
                      "no-cache, no-store, max-age=0, must-revalidate");
    sink_reply(req, 200, NULL);

out:
    evhttp_clear_headers(&form);
}

/* ---- POST /v1/projects/{project}/messages:send --------------------------- */

typedef enum { BEARER_OK, BEARER_UNKNOWN, BEARER_EXPIRED } bearer_t;

static bearer_t bearer_check(const sink_t *s, struct evhttp_request *req)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Authorization");
    int64_t now = sink_now_ms(CLOCK_MONOTONIC);
    bool expired = false;
    uint64_t h;

    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return BEARER_UNKNOWN;
    h = sink_hash(auth + 7, strlen(auth + 7));
    /* a handful of tokens per run: a scan is cheap */
    for (size_t i = 0; i < s->fcm->ntokens; i++) {
        if (s->fcm->tokens[i].hash != h)
            continue;
        if (now < s->fcm->tokens[i].expires_mono)
            return BEARER_OK;
        expired = true;
    }
    return expired ? BEARER_EXPIRED : BEARER_UNKNOWN;
}

static bool topic_ok(const char *t)
{
    if (*t == '\0')
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
              (*t >= '0' && *t <= '9') || strchr("-_.~%", *t) != NULL))
            return false;
    return true;
}

/* @returns the text a message is keyed on (see README); *owned is set when
 * the caller must free it. */
static const char *message_text(json_t *msg, char **owned)
{
    const char *t;
    json_t *data = json_object_get(msg, "data");

    *owned = NULL;
    t = json_string_value(json_object_get(json_object_get(msg, "notification"), "body"));
    if (t != NULL)
        return t;
    t = json_string_value(json_object_get(data, "body"));
    if (t != NULL)
        return t;
    if (json_is_object(data))
        return (*owned = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS)) ? *owned : "";
    return "";
}

static void send_message(sink_t *s, struct evhttp_request *req, const char *project,
                         size_t plen)
{
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, SINK_P_FCM);
    struct evbuffer *in = evhttp_request_get_input_buffer(req), *b;
    size_t len = evbuffer_get_length(in), ntargets = 0;
    json_t *root, *msg, *data, *v;
    const char *target = NULL, *kind = NULL, *key, *text;
    char rcpt[SINK_SUB_MAX + 1], *owned;
    json_error_t jerr;
    sink_msg_t m;
    bearer_t auth;

    if ((auth = bearer_check(s, req)) != BEARER_OK) {
        ps->unauthorized++;
        if (auth == BEARER_EXPIRED)
            ps->expired_token++;
        google_error(req, 401,
                     "Request had invalid authentication credentials. Expected OAuth 2 "
                     "access token, login cookie or other valid authentication credential. "
                     "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                     NULL, -1);
        return;
    }
    if (s->conf->fcm_project != NULL &&
        (strlen(s->conf->fcm_project) != plen || memcmp(s->conf->fcm_project, project, plen) != 0)) {
        ps->unauthorized++;
        google_error(req, 403, "Permission 'cloudmessaging.messages.create' denied on resource",
                     "SENDER_ID_MISMATCH", -1);
        return;
    }
    root = json_loadb(len ? (const char *)evbuffer_pullup(in, -1) : "", len, 0, &jerr);
    msg = json_object_get(root, "message");
    if (!json_is_object(msg)) {
        fcm_invalid(req, "Invalid JSON payload received. 'message' must be an object.");
        goto bad;
    }
    static const char *const targets[] = {"token", "topic", "condition"};
    for (size_t i = 0; i < 3; i++) {
        if ((v = json_object_get(msg, targets[i])) == NULL)
            continue;
        ntargets++;
        target = json_string_value(v);
        kind = targets[i];
    }
    if (ntargets != 1 || target == NULL || target[0] == '\0') {
        fcm_invalid(req, "Request contains an invalid argument: exactly one of token, topic "
                         "or condition is required.");
        goto bad;
    }
    if (strcmp(kind, "topic") == 0 && !topic_ok(target)) {
        fcm_invalid(req, "Request contains an invalid argument: topic must match "
                         "[a-zA-Z0-9-_.~%]+ (no /topics/ prefix).");
        goto bad;
    }
    data = json_object_get(msg, "data");
    if (data != NULL && !json_is_object(data)) {
        fcm_invalid(req, "Invalid value at 'message.data': must be a map of strings.");
        goto bad;
    }
    json_object_foreach(data, key, v) {
        if (!json_is_string(v)) {
            fcm_invalid(req, "Invalid value at 'message.data': values must be strings.");
            goto bad;
        }
    }
    if (strcmp(kind, "token") == 0)
        snprintf(rcpt, sizeof(rcpt), "%s", target);
    else
        snprintf(rcpt, sizeof(rcpt), "%s:%s", kind, target);
    if (strlen(target) + 10 > SINK_SUB_MAX) {
        fcm_invalid(req, "The registration token is not a valid FCM registration token");
        goto bad;
    }
    if ((b = evbuffer_new()) == NULL) {
        google_error(req, 500, "Internal error encountered.", "INTERNAL", -1);
        json_decref(root);
        return;
    }
    evbuffer_add(b, "{\"name\":\"projects/", 18);
    evbuffer_add(b, project, plen);
    evbuffer_add_printf(b, "/messages/0:%lld%%%016llx\"}\n",
                        (long long)sink_now_ms(CLOCK_REALTIME) * 1000,
                        (unsigned long long)sink_rand(s));
    if (json_is_true(json_object_get(root, "validate_only"))) {
        /* a dry run: FCM checks and answers but sends nothing */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
        json_decref(root);
        return;
    }
    text = message_text(msg, &owned);
    memset(&m, 0, sizeof(m));
    m.provider = SINK_P_FCM;
    m.rcpt = rcpt;
    m.rlen = strlen(rcpt);
    m.text = text;
    m.tlen = strlen(text);
    m.ok_status = 200;
    m.ok_body = b;
    sink_deliver(s, req, &m);
    free(owned);
    json_decref(root);
    return;

bad:
    ps->bad_request++;
    json_decref(root);
}

void sink_fcm_request(sink_t *s, struct evhttp_request *req, const char *path)
{
    static const char pfx[] = "/v1/projects/", sfx[] = "/messages:send";
    size_t len = strlen(path), plen;

    sink_ledger_pstats(s->ledger, SINK_P_FCM)->requests++;
    if (strcmp(path, "/token") == 0) {
        token_endpoint(s, req);
        return;
    }
    if (strncmp(path, pfx, sizeof(pfx) - 1) != 0 || len <= sizeof(pfx) - 1 + sizeof(sfx) - 1 ||
        strcmp(path + len - (sizeof(sfx) - 1), sfx) != 0) {
        google_error(req, 404, "Not Found", NULL, -1);
        return;
    }
    plen = len - (sizeof(pfx) - 1) - (sizeof(sfx) - 1);
    if (memchr(path + sizeof(pfx) - 1, '/', plen) != NULL) {
        google_error(req, 404, "Not Found", NULL, -1);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        google_error(req, 405, "Method Not Allowed", NULL, -1);
        return;
    }
    send_message(s, req, path + sizeof(pfx) - 1, plen);
}
