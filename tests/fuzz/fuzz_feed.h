/* fuzz_feed.h: the contract every feed parser keeps (processor/feeds/
 * feeds.h), checked by the feed fuzz targets on each input. A broken
 * promise aborts, so libFuzzer reports it like a crash: a failure that
 * leaves output behind or writes an unterminated or unprintable reason; an
 * event with an unterminated string, an empty or non-ASCII id, a
 * coordinate, depth, magnitude or status out of range, control characters
 * in its place. */
#ifndef QC_FUZZ_FEED_H
#define QC_FUZZ_FEED_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "feeds.h"

static bool fuzz_terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool fuzz_ident(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    }
    return true;
}

static bool fuzz_no_controls(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

static void fuzz_check_event(const qc_event_t *ev)
{
    if (!fuzz_terminated(ev->id, sizeof(ev->id)) ||
        !fuzz_terminated(ev->source, sizeof(ev->source)) ||
        !fuzz_terminated(ev->mag_type, sizeof(ev->mag_type)) ||
        !fuzz_terminated(ev->type, sizeof(ev->type)) ||
        !fuzz_terminated(ev->place, sizeof(ev->place)) ||
        !fuzz_terminated(ev->references, sizeof(ev->references)))
        abort();
    if (!fuzz_ident(ev->id) || !fuzz_ident(ev->source) || !ev->type[0] ||
        !fuzz_no_controls(ev->type) || !fuzz_no_controls(ev->place) ||
        !fuzz_no_controls(ev->mag_type) || !fuzz_no_controls(ev->references))
        abort();
    if (!(ev->lat >= -90.0 && ev->lat <= 90.0) || !(ev->lon >= -180.0 && ev->lon <= 180.0) ||
        !(ev->depth_km >= -100.0 && ev->depth_km <= 1000.0) ||
        (ev->has_mag && !(ev->mag >= -10.0 && ev->mag <= 12.0)))
        abort();
    if (ev->status != QC_EV_AUTOMATIC && ev->status != QC_EV_REVIEWED &&
        ev->status != QC_EV_DELETED)
        abort();
}

/* Checks what a parser returned, then frees the events. */
static void fuzz_check(int rc, qc_event_t *evs, size_t n, const char *err, size_t err_size)
{
    if (rc != 0) {
        if (rc > 0 || evs != NULL || n != 0 || !fuzz_terminated(err, err_size) || !err[0])
            abort();
        for (const char *p = err; *p; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                abort();
        }
        return;
    }
    if ((n == 0) != (evs == NULL))
        abort();
    for (size_t i = 0; i < n; i++)
        fuzz_check_event(&evs[i]);
    free(evs);
}

#endif
