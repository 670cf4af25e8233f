/* config.c: the declarative configuration table engine. */
#include "qc/config.h"
#include "qc/err.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *type_name(qc_conf_type_t t)
{
    switch (t) {
    case QC_CONF_STR: return "string";
    case QC_CONF_INT: return "integer";
    case QC_CONF_DOUBLE: return "number";
    case QC_CONF_BOOL: return "bool";
    }
    return "?";
}

/* Reads NAME_FILE's content (trailing newline removed). Caller frees. */
char *qc_conf_read_secret_file(const char *path, const char *name, char *errstr, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errsz, "%s_FILE: cannot open %s: %s", name, path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(4097);
    size_t n = buf ? fread(buf, 1, 4096, f) : 0;
    fclose(f);
    if (!buf) {
        snprintf(errstr, errsz, "%s_FILE: out of memory", name);
        return NULL;
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

static int set_value(const qc_conf_def_t *d, void *target, const char *v, char *errstr, size_t errsz)
{
    char *field = (char *)target + d->offset;
    char *end = NULL;
    bool bounded = d->min <= d->max;
    switch (d->type) {
    case QC_CONF_STR: {
        char *copy = strdup(v);
        if (!copy)
            return QC_ERR_NOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case QC_CONF_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end) {
            snprintf(errstr, errsz, "%s: '%s' is not an integer", d->name, v);
            return QC_ERR_INVAL;
        }
        if (bounded && ((double)x < d->min || (double)x > d->max)) {
            snprintf(errstr, errsz, "%s: %lld is out of range [%g, %g]", d->name, x, d->min, d->max);
            return QC_ERR_INVAL;
        }
        *(long *)field = (long)x;
        return 0;
    }
    case QC_CONF_DOUBLE: {
        errno = 0;
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x)) {
            snprintf(errstr, errsz, "%s: '%s' is not a number", d->name, v);
            return QC_ERR_INVAL;
        }
        if (bounded && (x < d->min || x > d->max)) {
            snprintf(errstr, errsz, "%s: %g is out of range [%g, %g]", d->name, x, d->min, d->max);
            return QC_ERR_INVAL;
        }
        *(double *)field = x;
        return 0;
    }
    case QC_CONF_BOOL:
        if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
            *(int *)field = 1;
        else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
                 !strcasecmp(v, "off") || !*v)
            *(int *)field = 0;
        else {
            snprintf(errstr, errsz, "%s: '%s' is not a boolean (1/0, true/false)", d->name, v);
            return QC_ERR_INVAL;
        }
        return 0;
    }
    return QC_ERR_INVAL;
}

int qc_conf_load(const qc_conf_def_t *defs, void *target, char *errstr, size_t errsz)
{
    for (const qc_conf_def_t *d = defs; d->name; d++) {
        int rc = set_value(d, target, d->def ? d->def : "", errstr, errsz);
        if (rc)
            return rc;
        const char *v = getenv(d->name);
        char *fromfile = NULL;
        if ((d->flags & QC_CONF_SECRET) && !v) {
            char key[128];
            snprintf(key, sizeof key, "%s_FILE", d->name);
            const char *path = getenv(key);
            if (path && *path) {
                fromfile = qc_conf_read_secret_file(path, d->name, errstr, errsz);
                if (!fromfile)
                    return QC_ERR_INVAL;
                v = fromfile;
            }
        }
        if (v) {
            rc = set_value(d, target, v, errstr, errsz);
            free(fromfile);
            if (rc)
                return rc;
        }
    }
    return 0;
}

void qc_conf_free(const qc_conf_def_t *defs, void *target)
{
    for (const qc_conf_def_t *d = defs; d->name; d++)
        if (d->type == QC_CONF_STR) {
            char **p = (char **)((char *)target + d->offset);
            free(*p);
            *p = NULL;
        }
}

void qc_conf_print_help(FILE *out, const qc_conf_def_t *defs)
{
    for (const qc_conf_def_t *d = defs; d->name; d++)
        fprintf(out, "  %-36s %-8s default '%s'%s\n      %s\n", d->name, type_name(d->type),
                (d->flags & QC_CONF_SECRET) ? "(secret)" : d->def,
                (d->flags & QC_CONF_SECRET) ? " (or NAME_FILE)" : "", d->help);
}

void qc_conf_print_markdown(FILE *out, const qc_conf_def_t *defs)
{
    for (const qc_conf_def_t *d = defs; d->name; d++) {
        fprintf(out, "| `%s` | %s | `%s` |", d->name, type_name(d->type), d->def);
        if (d->min <= d->max && d->type != QC_CONF_STR && d->type != QC_CONF_BOOL)
            fprintf(out, " %g … %g |", d->min, d->max);
        else
            fprintf(out, " |");
        fprintf(out, " %s%s |\n", d->help, (d->flags & QC_CONF_SECRET) ? " Also `_FILE`." : "");
    }
}
