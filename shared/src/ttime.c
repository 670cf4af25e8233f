/* ttime.c: P and S first-arrival times of iasp91 from the compiled-in table
 * shared/data/iasp91.txt (see that file for how it was computed).
 *
 * The table is parsed once, on first use, into an immutable grid (a
 * pthread_once: the only process-wide state here, and it never changes
 * after that). A table the build embedded but that does not parse is a
 * build defect: qc_ttime_*() then answer NaN, and test_ttime fails. */
#include "qc/ttime.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

extern const char qc_embed_iasp91[];
extern const unsigned long qc_embed_iasp91_len;

#define TT_MAX_DEPTHS 64
#define TT_MAX_DISTS 512
/* km per degree of arc on the sphere of QC_EARTH_RADIUS_KM (6371.0088 km) */
#define TT_KM_PER_DEG 111.19508
/* below the table's deepest source: S and P speeds of the upper mantle
 * near 300-400 km in iasp91, rounded down (so the warning is not late) */
#define TT_DEEP_VS 4.5
#define TT_DEEP_VP 8.0

typedef struct grid {
    int nd, nx;
    double depth[TT_MAX_DEPTHS];
    double dist_deg[TT_MAX_DISTS];
    float t[TT_MAX_DISTS][TT_MAX_DEPTHS];
} grid_t;

static grid_t g_p, g_s;
static bool g_ok;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* "depths d0 d1 ...", then "P x t0 t1 ..." and "S x t0 t1 ..." rows in
 * increasing distance x (degrees). */
static bool parse(const char *s, size_t len)
{
    const char *end = s + len;
    int nd = 0;
    g_p.nx = g_s.nx = 0;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        char line[4096];
        size_t ll = (size_t)(le - s);
        if (ll >= sizeof line)
            return false;
        memcpy(line, s, ll);
        line[ll] = '\0';
        s = nl ? nl + 1 : end;
        if (!line[0] || line[0] == '#')
            continue;
        char *p = line, *q;
        if (!strncmp(line, "depths ", 7)) {
            p += 7;
            while (*p && nd < TT_MAX_DEPTHS) {
                double v = strtod(p, &q);
                if (q == p)
                    break;
                g_p.depth[nd] = g_s.depth[nd] = v;
                nd++;
                p = q;
            }
            g_p.nd = g_s.nd = nd;
            continue;
        }
        grid_t *g = line[0] == 'P' ? &g_p : line[0] == 'S' ? &g_s : NULL;
        if (!g || line[1] != ' ' || nd < 2 || g->nx >= TT_MAX_DISTS)
            return false;
        p = line + 2;
        double x = strtod(p, &q);
        if (q == p || (g->nx && x <= g->dist_deg[g->nx - 1]))
            return false;
        p = q;
        for (int i = 0; i < nd; i++) {
            double v = strtod(p, &q);
            if (q == p || !isfinite(v) || v < 0)
                return false;
            g->t[g->nx][i] = (float)v;
            p = q;
        }
        g->dist_deg[g->nx++] = x;
    }
    return nd >= 2 && g_p.nx >= 2 && g_s.nx >= 2;
}

static void load(void)
{
    g_ok = parse(qc_embed_iasp91, qc_embed_iasp91_len);
}

/* Index i with a[i] <= v < a[i+1], clamped to [0, n-2]. */
static int bracket(const double *a, int n, double v)
{
    int lo = 0, hi = n - 1;
    if (v <= a[0])
        return 0;
    if (v >= a[n - 1])
        return n - 2;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (a[mid] <= v)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static double lookup(const grid_t *g, double depth_km, double epi_km, double deep_speed)
{
    if (!isfinite(depth_km) || !isfinite(epi_km) || depth_km < 0 || epi_km < 0)
        return NAN;
    pthread_once(&g_once, load);
    if (!g_ok)
        return NAN;
    double extra = 0.0, dmax = g->depth[g->nd - 1];
    if (depth_km > dmax) {
        extra = (depth_km - dmax) / deep_speed;
        depth_km = dmax;
    }
    double x = epi_km / TT_KM_PER_DEG;
    int i = bracket(g->dist_deg, g->nx, x), j = bracket(g->depth, g->nd, depth_km);
    double fx = (x - g->dist_deg[i]) / (g->dist_deg[i + 1] - g->dist_deg[i]);
    double fz = (depth_km - g->depth[j]) / (g->depth[j + 1] - g->depth[j]);
    if (fz < 0)
        fz = 0;
    /* past the last distance fx > 1: the last interval's slope goes on */
    double t0 = g->t[i][j] + fx * (g->t[i + 1][j] - g->t[i][j]);
    double t1 = g->t[i][j + 1] + fx * (g->t[i + 1][j + 1] - g->t[i][j + 1]);
    return t0 + fz * (t1 - t0) + extra;
}

double qc_ttime_s(double depth_km, double epi_km)
{
    return lookup(&g_s, depth_km, epi_km, TT_DEEP_VS);
}

double qc_ttime_p(double depth_km, double epi_km)
{
    return lookup(&g_p, depth_km, epi_km, TT_DEEP_VP);
}
