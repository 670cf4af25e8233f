/* feed_util.c: field helpers shared by the feed parsers (see feed_util.h). */
#include "feed_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qc_feed_fail(char *errstr, size_t errstr_size, int err, const char *fmt, ...)
{
    va_list ap;

    if (errstr && errstr_size > 0) {
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
        /* reasons quote input (an element name, an event type): keep them
         * printable ASCII for HTTP answers and log lines */
        for (char *p = errstr; *p; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
        }
    }
    return err;
}

bool qc_feed_is_ident(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

bool qc_feed_copy_lower(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return false;
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    dst[len] = '\0';
    return true;
}

void qc_feed_copy_text(char *dst, size_t size, const char *src, size_t len)
{
    size_t n = 0;
    bool space = false;

    if (size == 0)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        size_t seq = 1;

        if (c <= 0x20 || c == 0x7f) {
            space = n > 0;
            continue;
        }
        /* length of the UTF-8 sequence this byte leads, so that a cut never
         * splits one; a stray continuation byte counts as one */
        if (c >= 0xf0)
            seq = 4;
        else if (c >= 0xe0)
            seq = 3;
        else if (c >= 0xc0)
            seq = 2;
        if (i + seq > len)
            seq = len - i;
        for (size_t k = 1; k < seq; k++) {
            if (((unsigned char)src[i + k] & 0xc0) != 0x80) {
                seq = k; /* broken sequence: keep its bytes up to here */
                break;
            }
        }
        if (n + (space ? 1 : 0) + seq >= size)
            break;
        if (space)
            dst[n++] = ' ';
        space = false;
        memcpy(dst + n, src + i, seq);
        n += seq;
        i += seq - 1;
    }
    dst[n] = '\0';
}

bool qc_feed_number(const char *s, size_t len, double *out)
{
    char tmp[64];
    char *end;

    while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '\n'))
        len--;
    if (len == 0 || len >= sizeof(tmp))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return false;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *out = strtod(tmp, &end);
    return end == tmp + len && isfinite(*out);
}

bool qc_feed_plausible(const qc_event_t *ev, const char **what)
{
    if (!(ev->lat >= -90.0 && ev->lat <= 90.0))
        *what = "latitude";
    else if (!(ev->lon >= -180.0 && ev->lon <= 180.0))
        *what = "longitude";
    else if (!(ev->depth_km >= QC_FEED_DEPTH_MIN_KM && ev->depth_km <= QC_FEED_DEPTH_MAX_KM))
        *what = "depth";
    else if (ev->has_mag && !(ev->mag >= QC_FEED_MAG_MIN && ev->mag <= QC_FEED_MAG_MAX))
        *what = "magnitude";
    else if (ev->origin_ms < QC_FEED_TIME_MIN_MS || ev->origin_ms > QC_FEED_TIME_MAX_MS)
        *what = "time";
    else
        return true;
    return false;
}
