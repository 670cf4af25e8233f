/* channels/common.c: what the HTTP provider drivers share: form encoding,
 * base64, the usual classification of an HTTP answer, reading a secret
 * file. */
#include <event2/event.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"
#include "qc/err.h"

int qc_form_add(char *buf, size_t bufsz, size_t *len, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = *len;
    const char *parts[2] = { name, value };
    if (n && n < bufsz)
        buf[n++] = '&';
    for (int p = 0; p < 2; p++) {
        if (p == 1) {
            if (n >= bufsz)
                return QC_ERR_INVAL;
            buf[n++] = '=';
        }
        /* application/x-www-form-urlencoded (WHATWG URL standard):
         * unreserved bytes as they are, space as '+', the rest %XX. */
        for (const unsigned char *s = (const unsigned char *)parts[p]; *s; s++) {
            if (n + 3 >= bufsz)
                return QC_ERR_INVAL;
            if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
                *s == '.' || *s == '_' || *s == '*')
                buf[n++] = (char)*s;
            else if (*s == ' ')
                buf[n++] = '+';
            else {
                buf[n++] = '%';
                buf[n++] = hex[*s >> 4];
                buf[n++] = hex[*s & 15];
            }
        }
    }
    if (n >= bufsz)
        return QC_ERR_INVAL;
    buf[n] = '\0';
    *len = n;
    return 0;
}

int qc_b64(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    if (outsz < 4 * ((n + 2) / 3) + 1 || n > (size_t)1 << 30)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int qc_b64url(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    int len = qc_b64(in, n, out, outsz);
    if (len < 0)
        return -1;
    /* RFC 7515 appendix C: base64url is base64 with '-' '_' and no '='. */
    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return len;
}

/* Never early: libevent measures timers from the loop's cached time, which
 * may be a few ms behind, so the cache is refreshed and a margin added;
 * spread by up to 10% so many refused messages do not return in a burst. */
static long retry_after_delay_ms(struct event_base *base, long s)
{
    event_base_update_cache_time(base);
    long ms = s * 1000;
    return ms + 50 + (long)(drand48() * (double)ms * 0.1);
}

long qc_retry_delay_ms(const qc_disp_t *d, int attempts, long retry_after_s)
{
    long cap = d->conf.retry_base_ms << (attempts < 16 ? attempts : 16);
    if (cap > d->conf.retry_max_ms || cap <= 0)
        cap = d->conf.retry_max_ms;
    long ms = (long)(drand48() * (double)cap);
    if (retry_after_s >= 0 && retry_after_s * 1000 >= ms)
        ms = retry_after_delay_ms(d->base, retry_after_s);
    return ms;
}

qc_send_outcome_t qc_http_outcome(long status, int err)
{
    if (err)
        return QC_SEND_TRANSIENT;
    if (status >= 200 && status < 300)
        return QC_SEND_OK;
    if (status == 408 || status == 425 || status == 429 || status >= 500)
        return QC_SEND_TRANSIENT;
    return QC_SEND_PERMANENT;
}

char *qc_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = ferror(f) || n > max;
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
