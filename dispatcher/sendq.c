/* sendq.c: a binary min-heap of (deadline, sequence) per channel, a FIFO
 * for items that already hold a rate-limit token, and, per channel, a FIFO
 * of items whose deadline passed before they could go (moved there in
 * deadline order as they surface, so it stays sorted). The sequence number
 * keeps records of one deadline in the order they came. Choosing a channel
 * looks at every channel's top: there are a handful. */
#include "sendq.h"

#include <stdlib.h>

typedef struct entry {
    int64_t key;
    uint64_t seq;
    void *item;
} entry_t;

typedef struct vec {
    entry_t *v;
    size_t n, cap, head; /* head: first live entry of a FIFO */
} vec_t;

struct qc_sendq {
    int nch;
    vec_t *heap;  /* per channel: by (key, seq) */
    vec_t *late;  /* per channel: deadline passed, in deadline order */
    vec_t ready;  /* holds tokens: goes first */
    uint64_t seq;
    size_t len;
};

static int vec_push(vec_t *v, entry_t e)
{
    if (v->n == v->cap) {
        if (v->head > 0 && v->head * 2 >= v->n) { /* a FIFO that drained: compact */
            for (size_t i = v->head; i < v->n; i++)
                v->v[i - v->head] = v->v[i];
            v->n -= v->head;
            v->head = 0;
        } else {
            size_t ncap = v->cap ? v->cap * 2 : 64;
            entry_t *nv = realloc(v->v, ncap * sizeof *nv);
            if (!nv)
                return -1;
            v->v = nv;
            v->cap = ncap;
        }
    }
    v->v[v->n++] = e;
    return 0;
}

static bool less(const entry_t *a, const entry_t *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static int heap_push(vec_t *h, entry_t e)
{
    if (vec_push(h, e))
        return -1;
    size_t i = h->n - 1;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(&h->v[i], &h->v[p]))
            break;
        entry_t t = h->v[i];
        h->v[i] = h->v[p];
        h->v[p] = t;
        i = p;
    }
    return 0;
}

static entry_t heap_pop(vec_t *h)
{
    entry_t top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && less(&h->v[l], &h->v[m]))
            m = l;
        if (r < h->n && less(&h->v[r], &h->v[m]))
            m = r;
        if (m == i)
            break;
        entry_t t = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = t;
        i = m;
    }
    return top;
}

static bool fifo_empty(const vec_t *f)
{
    return f->head >= f->n;
}

static entry_t fifo_pop(vec_t *f)
{
    entry_t e = f->v[f->head++];
    if (f->head == f->n)
        f->head = f->n = 0;
    return e;
}

qc_sendq_t *qc_sendq_new(int nchannels)
{
    qc_sendq_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->nch = nchannels;
    q->heap = calloc((size_t)nchannels, sizeof *q->heap);
    q->late = calloc((size_t)nchannels, sizeof *q->late);
    if (!q->heap || !q->late) {
        qc_sendq_destroy(q);
        return NULL;
    }
    return q;
}

void qc_sendq_destroy(qc_sendq_t *q)
{
    if (!q)
        return;
    for (int c = 0; q->heap && q->late && c < q->nch; c++) {
        free(q->heap[c].v);
        free(q->late[c].v);
    }
    free(q->heap);
    free(q->late);
    free(q->ready.v);
    free(q);
}

int qc_sendq_push(qc_sendq_t *q, int channel, int64_t deadline_ms, void *item)
{
    if (channel < 0 || channel >= q->nch)
        return -1;
    if (heap_push(&q->heap[channel], (entry_t){ deadline_ms, q->seq++, item }))
        return -1;
    q->len++;
    return 0;
}

int qc_sendq_push_ready(qc_sendq_t *q, void *item)
{
    if (vec_push(&q->ready, (entry_t){ 0, q->seq++, item }))
        return -1;
    q->len++;
    return 0;
}

void *qc_sendq_pop(qc_sendq_t *q, int64_t now_ms, qc_sendq_blocked_fn blocked, void *user)
{
    if (!fifo_empty(&q->ready)) {
        q->len--;
        return fifo_pop(&q->ready).item;
    }
    int best = -1, best_late = -1;
    for (int c = 0; c < q->nch; c++) {
        if (blocked && (q->heap[c].n || !fifo_empty(&q->late[c])) && blocked(user, c))
            continue;
        vec_t *h = &q->heap[c];
        /* Tops whose deadline passed go to the channel's late line: they
         * are served only when nobody who can still act is waiting. */
        while (h->n && h->v[0].key < now_ms) {
            entry_t e = heap_pop(h);
            if (vec_push(&q->late[c], e)) {
                heap_push(h, e); /* out of memory: keep it where it was */
                break;
            }
        }
        if (h->n && h->v[0].key >= now_ms && (best < 0 || less(&h->v[0], &q->heap[best].v[0])))
            best = c;
        vec_t *l = &q->late[c];
        if (!fifo_empty(l) &&
            (best_late < 0 || less(&l->v[l->head], &q->late[best_late].v[q->late[best_late].head])))
            best_late = c;
    }
    if (best >= 0) {
        q->len--;
        return heap_pop(&q->heap[best]).item;
    }
    if (best_late >= 0) {
        q->len--;
        return fifo_pop(&q->late[best_late]).item;
    }
    return NULL;
}

void *qc_sendq_pop_any(qc_sendq_t *q)
{
    if (!fifo_empty(&q->ready)) {
        q->len--;
        return fifo_pop(&q->ready).item;
    }
    for (int c = 0; c < q->nch; c++) {
        if (!fifo_empty(&q->late[c])) {
            q->len--;
            return fifo_pop(&q->late[c]).item;
        }
        if (q->heap[c].n) {
            q->len--;
            return heap_pop(&q->heap[c]).item;
        }
    }
    return NULL;
}

size_t qc_sendq_len(const qc_sendq_t *q)
{
    return q ? q->len : 0;
}
