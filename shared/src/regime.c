/* regime.c: parses the table of tectonic regions and classifies a
 * hypocentre. Polygons are tested in the plane of longitude and latitude
 * (ray casting); the regions are drawn in that plane and none crosses the
 * 180th meridian, so no spherical geometry is needed. */
#include "qc/regime.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char qc_embed_tectonic_regions[];
extern const unsigned long qc_embed_tectonic_regions_len;

#define QC_REGION_NAME_MAX 32
#define QC_REGION_VERTICES_MAX 64

typedef struct region {
    char name[QC_REGION_NAME_MAX];
    qc_regime_t regime;
    double depth_min, depth_max;
    size_t n;                          /* 0: anywhere */
    double lon[QC_REGION_VERTICES_MAX], lat[QC_REGION_VERTICES_MAX];
} region_t;

struct qc_regions {
    region_t *v;
    size_t n;
};

static const char *const regime_names[QC_REGIME_COUNT] = {
    [QC_REGIME_ACTIVE_SHALLOW] = "active_shallow",
    [QC_REGIME_INTRASLAB] = "intraslab",
    [QC_REGIME_STABLE] = "stable",
    [QC_REGIME_VRANCEA] = "vrancea",
};

const char *qc_regime_name(qc_regime_t g)
{
    return (unsigned)g < QC_REGIME_COUNT ? regime_names[g] : "unknown";
}

bool qc_regime_from_name(const char *name, size_t len, qc_regime_t *out)
{
    for (int i = 0; i < QC_REGIME_COUNT; i++)
        if (strlen(regime_names[i]) == len && !strncmp(regime_names[i], name, len)) {
            *out = (qc_regime_t)i;
            return true;
        }
    return false;
}

/* Next whitespace-separated token of [*p, end); false at the end. */
static bool token(const char **p, const char *end, const char **tok, size_t *tlen)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    if (s >= end)
        return false;
    const char *e = s;
    while (e < end && *e != ' ' && *e != '\t' && *e != '\r')
        e++;
    *tok = s;
    *tlen = (size_t)(e - s);
    *p = e;
    return true;
}

static bool number(const char *s, size_t len, double *out)
{
    char buf[48];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* One "lon,lat" vertex. */
static bool vertex(const char *s, size_t len, double *lon, double *lat)
{
    const char *comma = memchr(s, ',', len);
    return comma && number(s, (size_t)(comma - s), lon) &&
           number(comma + 1, len - (size_t)(comma + 1 - s), lat) && *lon >= -180.0 && *lon <= 180.0 &&
           *lat >= -90.0 && *lat <= 90.0;
}

static int parse_line(const char *s, const char *end, region_t *rg, char *err, size_t errsz)
{
    const char *tok;
    size_t tl;
    memset(rg, 0, sizeof *rg);
    if (!token(&s, end, &tok, &tl) || tl >= sizeof rg->name) {
        snprintf(err, errsz, "region name missing or over %zu bytes", sizeof rg->name - 1);
        return -1;
    }
    memcpy(rg->name, tok, tl);
    if (!token(&s, end, &tok, &tl) || !qc_regime_from_name(tok, tl, &rg->regime)) {
        snprintf(err, errsz, "region %s: regime must be one of vrancea, intraslab, stable, active_shallow",
                 rg->name);
        return -1;
    }
    if (!token(&s, end, &tok, &tl) || !number(tok, tl, &rg->depth_min) || !token(&s, end, &tok, &tl) ||
        !number(tok, tl, &rg->depth_max) || rg->depth_min < 0 || rg->depth_max <= rg->depth_min) {
        snprintf(err, errsz, "region %s: depth range must be two numbers, 0 <= min < max", rg->name);
        return -1;
    }
    if (!token(&s, end, &tok, &tl)) {
        snprintf(err, errsz, "region %s: polygon missing (\"*\" for anywhere)", rg->name);
        return -1;
    }
    if (tl == 1 && *tok == '*') {
        rg->n = 0;
    } else {
        do {
            if (rg->n == QC_REGION_VERTICES_MAX) {
                snprintf(err, errsz, "region %s: more than %d vertices", rg->name, QC_REGION_VERTICES_MAX);
                return -1;
            }
            if (!vertex(tok, tl, &rg->lon[rg->n], &rg->lat[rg->n])) {
                snprintf(err, errsz, "region %s: vertex \"%.*s\" is not lon,lat in degrees", rg->name,
                         (int)(tl < 40 ? tl : 40), tok);
                return -1;
            }
            rg->n++;
        } while (token(&s, end, &tok, &tl));
        if (rg->n < 3) {
            snprintf(err, errsz, "region %s: a polygon needs at least three vertices", rg->name);
            return -1;
        }
    }
    if (token(&s, end, &tok, &tl)) {
        snprintf(err, errsz, "region %s: unexpected text after the polygon", rg->name);
        return -1;
    }
    return 0;
}

qc_regions_t *qc_regions_parse(const char *text, size_t len, char *errstr, size_t errstr_size)
{
    qc_regions_t *r = calloc(1, sizeof *r);
    size_t cap = 0;
    const char *p = text, *end = text + len;
    int lineno = 0;
    if (!r)
        goto oom;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *s = p;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (s < le && *s != '#') {
            if (r->n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                region_t *v = realloc(r->v, ncap * sizeof *v);
                if (!v)
                    goto oom;
                r->v = v;
                cap = ncap;
            }
            char why[160];
            if (parse_line(s, le, &r->v[r->n], why, sizeof why)) {
                snprintf(errstr, errstr_size, "regions line %d: %s", lineno, why);
                goto fail;
            }
            r->n++;
        }
        p = nl ? nl + 1 : end;
    }
    if (r->n == 0 || r->v[r->n - 1].n != 0 || r->v[r->n - 1].depth_min > 0 ||
        r->v[r->n - 1].depth_max < 700) {
        snprintf(errstr, errstr_size, "regions: the last region must cover everywhere (\"*\") from 0 to at "
                                      "least 700 km deep");
        goto fail;
    }
    return r;
oom:
    snprintf(errstr, errstr_size, "regions: out of memory");
fail:
    qc_regions_destroy(r);
    return NULL;
}

qc_regions_t *qc_regions_load(const char *path, char *errstr, size_t errstr_size)
{
    if (!path || !path[0])
        return qc_regions_parse(qc_embed_tectonic_regions, qc_embed_tectonic_regions_len, errstr, errstr_size);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "regions: %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > (1u << 24)) { /* a regions table is a few kilobytes */
                snprintf(errstr, errstr_size, "regions: %s: larger than 16 MB", path);
                goto fail;
            }
            char *nb = realloc(buf, ncap);
            if (!nb) {
                snprintf(errstr, errstr_size, "regions: out of memory");
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(errstr, errstr_size, "regions: %s: read error", path);
        goto fail;
    }
    fclose(f);
    qc_regions_t *r = qc_regions_parse(buf, len, errstr, errstr_size);
    free(buf);
    return r;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

void qc_regions_destroy(qc_regions_t *r)
{
    if (!r)
        return;
    free(r->v);
    free(r);
}

/* Even-odd rule: a horizontal ray from the point crosses the boundary an
 * odd number of times when the point is inside. */
static bool inside(const region_t *rg, double lat, double lon)
{
    bool in = false;
    for (size_t i = 0, j = rg->n - 1; i < rg->n; j = i++) {
        double yi = rg->lat[i], yj = rg->lat[j], xi = rg->lon[i], xj = rg->lon[j];
        if ((yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi)
            in = !in;
    }
    return in;
}

qc_regime_t qc_regions_classify(const qc_regions_t *r, double lat, double lon, double depth_km,
                                const char **region)
{
    for (size_t i = 0; i < r->n; i++) {
        const region_t *rg = &r->v[i];
        if (depth_km < rg->depth_min || depth_km >= rg->depth_max)
            continue;
        if (rg->n && !inside(rg, lat, lon))
            continue;
        if (region)
            *region = rg->name;
        return rg->regime;
    }
    /* Only for depths past every line (the parser insists on a catch-all
     * to at least 700 km): the deepest earthquakes are in slabs. */
    if (region)
        *region = "deep";
    return depth_km >= 50 ? QC_REGIME_INTRASLAB : QC_REGIME_ACTIVE_SHALLOW;
}
