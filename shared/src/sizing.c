/* sizing.c: see sizing.h for the formulas and why. */
#include "qc/sizing.h"

#include <math.h>

static long clampl(long v, long lo, long hi) { return v < lo ? lo : v > hi ? hi : v; }

static long pow2ceil(long v)
{
    long p = 1;
    while (p < v && p < (1L << 40))
        p <<= 1;
    return p;
}

qc_sizing_t qc_sizing_compute(long subscribers, long dispatchers)
{
    qc_sizing_t s;
    if (subscribers < 1)
        subscribers = 1;
    if (dispatchers < 1)
        dispatchers = 1;
    s.dispatchers = dispatchers;
    s.segment_size = clampl(pow2ceil(subscribers / (16 * dispatchers)), 256, 8192);
    s.chunk = clampl(s.segment_size / 8, 64, 512) & ~7L;
    return s;
}

long qc_sizing_max_workers(const qc_sizing_t *s, long len)
{
    long w = (len + 2 * s->chunk - 1) / (2 * s->chunk);
    return clampl(w, 1, 4 * s->dispatchers);
}

long qc_sizing_dispatchers_desired(long subscribers, double per_dispatcher_rate, double target_s, long min)
{
    if (min < 1)
        min = 1;
    if (subscribers <= 0 || per_dispatcher_rate <= 0 || target_s <= 0)
        return min;
    long d = (long)ceil((double)subscribers / (per_dispatcher_rate * target_s));
    return d < min ? min : d;
}
