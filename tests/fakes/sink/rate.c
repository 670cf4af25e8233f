/* rate.c: sliding windows and retry-after memory (see rate.h). */
#include "rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qc/err.h"

/* Moves @p w forward to @p now_ms, forgetting the ms that left the window.
 * At most SINK_WINDOW_MS slots are touched, however long the gap. */
static void window_advance(sink_window_t *w, int64_t now_ms)
{
    if (w->last_ms < 0 || now_ms - w->last_ms >= SINK_WINDOW_MS) {
        memset(w->slot, 0, sizeof(w->slot));
        w->sum = 0;
        w->last_ms = now_ms;
        return;
    }
    while (w->last_ms < now_ms) {
        uint32_t *s = &w->slot[++w->last_ms % SINK_WINDOW_MS];

        w->sum -= *s;
        *s = 0;
    }
}

void sink_rate_reset(sink_rate_t *r)
{
    for (int p = 0; p < SINK_P_COUNT; p++) {
        memset(&r->win[p], 0, sizeof(r->win[p]));
        r->win[p].last_ms = -1;
    }
    if (r->nb != NULL)
        memset(r->nb, 0, r->nb_cap * sizeof(*r->nb));
    r->nnb = 0;
}

void sink_rate_cleanup(sink_rate_t *r)
{
    free(r->nb);
    r->nb = NULL;
    r->nnb = r->nb_cap = 0;
}

bool sink_rate_admit(sink_rate_t *r, int provider, int64_t now_ms,
                     uint64_t *max_per_second)
{
    sink_window_t *w = &r->win[provider];

    /* a monotonic clock never goes back, but keep a stale caller harmless */
    if (now_ms > w->last_ms)
        window_advance(w, now_ms);
    if (r->limit[provider] > 0 && w->sum >= (uint64_t)r->limit[provider])
        return false;
    w->slot[w->last_ms % SINK_WINDOW_MS]++;
    w->sum++;
    if (w->sum > *max_per_second)
        *max_per_second = w->sum;
    return true;
}

static uint64_t nb_key(int provider, const char *recipient, size_t len)
{
    unsigned char buf[1 + SINK_SUB_MAX];
    uint64_t k;

    if (len > SINK_SUB_MAX)
        len = SINK_SUB_MAX;
    buf[0] = (unsigned char)provider;
    memcpy(buf + 1, recipient, len);
    k = sink_hash(buf, len + 1);
    return k != 0 ? k : 1;
}

static sink_notbefore_t *nb_slot(sink_notbefore_t *tab, size_t cap, uint64_t key)
{
    size_t mask = cap - 1, pos;

    for (pos = key & mask; tab[pos].key != 0 && tab[pos].key != key; pos = (pos + 1) & mask)
        ;
    return &tab[pos];
}

int sink_rate_hold(sink_rate_t *r, int provider, const char *recipient, size_t len,
                   int64_t until_us)
{
    uint64_t key = nb_key(provider, recipient, len);
    sink_notbefore_t *e;

    if ((r->nnb + 1) * 4 > r->nb_cap * 3) {
        size_t cap = r->nb_cap ? r->nb_cap * 2 : 1024;
        sink_notbefore_t *tab = calloc(cap, sizeof(*tab));

        if (tab == NULL)
            return QC_ERR_NOMEM;
        for (size_t i = 0; i < r->nb_cap; i++)
            if (r->nb[i].key != 0)
                *nb_slot(tab, cap, r->nb[i].key) = r->nb[i];
        free(r->nb);
        r->nb = tab;
        r->nb_cap = cap;
    }
    e = nb_slot(r->nb, r->nb_cap, key);
    if (e->key == 0) {
        e->key = key;
        e->until = until_us;
        r->nnb++;
    } else if (until_us > e->until) {
        e->until = until_us;
    }
    return 0;
}

int64_t sink_rate_early(const sink_rate_t *r, int provider, const char *recipient,
                        size_t len, int64_t now_us)
{
    const sink_notbefore_t *e;

    if (r->nnb == 0)
        return 0;
    e = nb_slot(r->nb, r->nb_cap, nb_key(provider, recipient, len));
    return e->key != 0 && now_us < e->until ? e->until - now_us : 0;
}
