/* clock.c: monotonic and wall clocks, ISO 8601 in and out. */
#include "qc/clock.h"
#include "qc/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t qc_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t qc_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t qc_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qc_iso8601_format(int64_t ms, char *buf, size_t bufsz)
{
    if (bufsz < 25)
        return QC_ERR_INVAL;
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int msec = (int)(ms - secs * 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return QC_ERR_INVAL;
    int n = snprintf(buf, bufsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, msec);
    return (n > 0 && (size_t)n < bufsz) ? 0 : QC_ERR_INVAL;
}

/* Reads exactly @p n digits at *p. */
static int read_digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil), so no timegm() and no TZ games. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int qc_iso8601_parse(const char *s, size_t len, int64_t *ms)
{
    const char *p = s, *end = s + len;
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (read_digits(&p, end, 4, &y) || p >= end || *p++ != '-' ||
        read_digits(&p, end, 2, &mo) || p >= end || *p++ != '-' ||
        read_digits(&p, end, 2, &d))
        return QC_ERR_PARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return QC_ERR_PARSE;
    int64_t frac_ms = 0;
    int tz_min = 0;
    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        if (read_digits(&p, end, 2, &h) || p >= end || *p++ != ':' ||
            read_digits(&p, end, 2, &mi))
            return QC_ERR_PARSE;
        if (p < end && *p == ':') {
            p++;
            if (read_digits(&p, end, 2, &se))
                return QC_ERR_PARSE;
        }
        if (h > 23 || mi > 59 || se > 60)
            return QC_ERR_PARSE;
        if (p < end && (*p == '.' || *p == ',')) {
            p++;
            int digits = 0;
            while (p < end && isdigit((unsigned char)*p)) {
                if (digits < 3)
                    frac_ms = frac_ms * 10 + (*p - '0');
                digits++;
                p++;
            }
            if (digits == 0)
                return QC_ERR_PARSE;
            for (int i = digits; i < 3; i++)
                frac_ms *= 10;
        }
        if (p < end && (*p == 'Z' || *p == 'z')) {
            p++;
        } else if (p < end && (*p == '+' || *p == '-')) {
            int sign = *p == '-' ? -1 : 1, th, tm = 0;
            p++;
            if (read_digits(&p, end, 2, &th))
                return QC_ERR_PARSE;
            if (p < end && *p == ':')
                p++;
            if (p < end && read_digits(&p, end, 2, &tm))
                return QC_ERR_PARSE;
            if (th > 23 || tm > 59)
                return QC_ERR_PARSE;
            tz_min = sign * (th * 60 + tm);
        }
    }
    if (p != end)
        return QC_ERR_PARSE;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - (int64_t)tz_min * 60;
    *ms = secs * 1000 + frac_ms;
    return 0;
}
