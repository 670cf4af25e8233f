/* log.c: JSON lines on stderr. The component and level are set once at
 * start-up (before threads), then only read: no mutable state afterwards. */
#include "qc/log.h"
#include "qc/clock.h"
#include "qc/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static struct {
    char component[32];
    qc_log_level_t min_level;
} log_conf = { "quakecast", QC_LOG_INFO };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void qc_log_init(const char *component, qc_log_level_t min_level)
{
    snprintf(log_conf.component, sizeof log_conf.component, "%s", component);
    log_conf.min_level = min_level;
}

int qc_log_level_parse(const char *s, qc_log_level_t *out)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (qc_log_level_t)i;
            return 0;
        }
    return QC_ERR_INVAL;
}

/* Appends @p s JSON-escaped; stops quietly when the buffer is full. */
static size_t put_escaped(char *buf, size_t pos, size_t cap, const char *s)
{
    for (; s && *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
        } else {
            buf[pos++] = (char)c;
        }
    }
    return pos;
}

static size_t put_raw(char *buf, size_t pos, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (pos + n + 1 >= cap)
        n = cap - pos - 2;
    memcpy(buf + pos, s, n);
    return pos + n;
}

void qc_log(qc_log_level_t level, const char *event, ...)
{
    if (level < log_conf.min_level)
        return;
    char line[4096], ts[32];
    size_t cap = sizeof line - 4, pos = 0;
    qc_iso8601_format(qc_wall_ms(), ts, sizeof ts);
    pos = put_raw(line, pos, cap, "{\"ts\":\"");
    pos = put_raw(line, pos, cap, ts);
    pos = put_raw(line, pos, cap, "\",\"level\":\"");
    pos = put_raw(line, pos, cap, level_names[level]);
    pos = put_raw(line, pos, cap, "\",\"component\":\"");
    pos = put_escaped(line, pos, cap, log_conf.component);
    pos = put_raw(line, pos, cap, "\",\"event\":\"");
    pos = put_escaped(line, pos, cap, event);
    pos = put_raw(line, pos, cap, "\"");
    va_list ap;
    va_start(ap, event);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        pos = put_raw(line, pos, cap, ",\"");
        pos = put_escaped(line, pos, cap, k);
        pos = put_raw(line, pos, cap, "\":\"");
        pos = put_escaped(line, pos, cap, v ? v : "");
        pos = put_raw(line, pos, cap, "\"");
    }
    va_end(ap);
    line[pos++] = '}';
    line[pos++] = '\n';
    /* One write per line so lines from several threads never interleave. */
    fwrite(line, 1, pos, stderr);
}

void qc_mask_pii(const char *s, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    size_t n = s ? strlen(s) : 0;
    const char *at = s ? strchr(s, '@') : NULL;
    if (at) { /* e-mail: first letter, then the domain */
        snprintf(out, outsz, "%c***%s", n ? s[0] : '?', at);
    } else if (n > 7) { /* phone or token: keep 5 in front, 3 at the end */
        snprintf(out, outsz, "%.5s****%s", s, s + n - 3);
    } else {
        snprintf(out, outsz, "****");
    }
}
