/* api/apiutil.c: helpers of the self-service API handlers. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apiutil.h"
#include "qc/clock.h"
#include "qc/err.h"

void qc_api_client_addr(const qc_proc_t *p, struct evhttp_request *req, char *out, size_t outsz)
{
    snprintf(out, outsz, "unknown");
    if (p->conf.trust_proxy) {
        const char *xff = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Forwarded-For");
        if (xff && *xff) {
            /* The last entry is the one our proxy appended; those before it
             * come from the client and prove nothing. */
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            while (*last == ' ')
                last++;
            size_t n = strcspn(last, " ");
            if (n > 0 && n < 64) {
                snprintf(out, outsz, "%.*s", (int)n, last);
                return;
            }
        }
    }
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    if (conn) {
        const char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(conn, (char **)&addr, &port);
        if (addr)
            snprintf(out, outsz, "%s", addr);
    }
}

/* Nesting depth of a JSON text, counted outside strings, so a hostile body
 * is refused before the parser recurses into it. */
static long json_depth(const char *s, size_t n)
{
    long depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

json_t *qc_api_json_body(const qc_proc_t *p, struct evhttp_request *req, size_t max)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (!ct || (strncasecmp(ct, "application/json", 16) && strncasecmp(ct, "application/merge-patch+json", 28))) {
        /* JSON only: a cross-site form post cannot send it without a CORS
         * preflight, which we never grant. */
        qc_http_reply_error(req, 415, "unsupported_media_type", "send Content-Type: application/json", NULL);
        return NULL;
    }
    char *body = NULL;
    size_t len = 0;
    int rc = qc_http_body(req, max, &body, &len);
    if (rc == QC_ERR_TOOBIG) {
        qc_http_reply_error(req, 413, "too_large", "request body too large", NULL);
        return NULL;
    }
    if (rc) {
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    if (json_depth(body, len) > p->conf.json_max_depth) {
        free(body);
        qc_http_reply_error(req, 400, "too_deep", "JSON nested too deeply", NULL);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!doc) {
        qc_http_reply_error(req, 400, "invalid_json", jerr.text, NULL);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        qc_http_reply_error(req, 400, "not_an_object", "the body must be a JSON object", NULL);
        return NULL;
    }
    return doc;
}

void qc_api_sha256_hex(char out[65], ...)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned int n = 32;
    va_list ap;
    va_start(ap, out);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (const char *s; (s = va_arg(ap, const char *));)
        EVP_DigestUpdate(ctx, s, strlen(s));
    va_end(ap);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int qc_api_random_token(const char *prefix, char *out, size_t outsz)
{
    unsigned char rnd[32];
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t pl = strlen(prefix);
    if (RAND_bytes(rnd, sizeof rnd) != 1 || outsz < pl + 44)
        return -1;
    memcpy(out, prefix, pl);
    size_t o = pl;
    for (size_t i = 0; i < sizeof rnd; i += 3) {
        unsigned v = (unsigned)rnd[i] << 16 | (i + 1 < sizeof rnd ? (unsigned)rnd[i + 1] << 8 : 0) |
                     (i + 2 < sizeof rnd ? rnd[i + 2] : 0);
        size_t chars = i + 2 < sizeof rnd ? 4 : i + 1 < sizeof rnd ? 3 : 2;
        for (size_t k = 0; k < chars; k++)
            out[o++] = b64url[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return 0;
}

int qc_api_random_code(char out[7])
{
    /* Rejection sampling keeps every code equally likely. */
    for (int tries = 0; tries < 16; tries++) {
        uint32_t v;
        if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
            return -1;
        if (v >= 4294000000u)
            continue;
        snprintf(out, 7, "%06u", (unsigned)(v % 1000000u));
        return 0;
    }
    return -1;
}

const char *qc_api_bearer(struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7])
        return NULL;
    return h + 7;
}

bool qc_api_is_admin(const qc_proc_t *p, struct evhttp_request *req)
{
    return qc_http_bearer_ok(req, p->token_sha);
}

void qc_api_now_iso(char *out, size_t outsz)
{
    qc_iso8601_format(qc_wall_ms(), out, outsz);
}

void qc_api_reply_limited(struct evhttp_request *req, long retry_after_s, const char *code, const char *message,
                          const char *field)
{
    char ra[24];
    snprintf(ra, sizeof ra, "%ld", retry_after_s > 0 ? retry_after_s : 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
    qc_http_reply_error(req, 429, code, message, field);
}
