/* offsets.c: jobs of one partition finish out of order, but a Kafka offset
 * says "everything before this is done". So per partition we keep the
 * offsets still being worked on, and store only up to the oldest of them. */
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"

typedef struct part {
    int32_t partition;
    int64_t *open;   /* offsets begun, not settled, ascending */
    size_t n, cap;
    int64_t max_settled;
    struct part *next;
} part_t;

struct offtrack {
    part_t *parts;
};

struct offtrack *qc_offtrack_new(void) { return calloc(1, sizeof(struct offtrack)); }

void qc_offtrack_destroy(struct offtrack *t)
{
    if (!t)
        return;
    for (part_t *p = t->parts, *n; p; p = n) {
        n = p->next;
        free(p->open);
        free(p);
    }
    free(t);
}

static part_t *get_part(struct offtrack *t, int32_t partition)
{
    for (part_t *p = t->parts; p; p = p->next)
        if (p->partition == partition)
            return p;
    part_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->partition = partition;
    p->max_settled = -1;
    p->next = t->parts;
    t->parts = p;
    return p;
}

void qc_offtrack_begin(struct offtrack *t, int32_t partition, int64_t offset)
{
    part_t *p = get_part(t, partition);
    if (!p)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        int64_t *o = realloc(p->open, cap * sizeof *o);
        if (!o)
            return;
        p->open = o;
        p->cap = cap;
    }
    /* Offsets arrive in order per partition: append keeps it sorted. */
    size_t i = p->n;
    while (i > 0 && p->open[i - 1] > offset) {
        p->open[i] = p->open[i - 1];
        i--;
    }
    p->open[i] = offset;
    p->n++;
}

int64_t qc_offtrack_settle(struct offtrack *t, int32_t partition, int64_t offset)
{
    part_t *p = get_part(t, partition);
    if (!p)
        return -1;
    size_t i = 0;
    while (i < p->n && p->open[i] != offset)
        i++;
    if (i == p->n)
        return -1;
    bool was_oldest = i == 0;
    memmove(p->open + i, p->open + i + 1, (p->n - i - 1) * sizeof *p->open);
    p->n--;
    if (offset > p->max_settled)
        p->max_settled = offset;
    if (!was_oldest)
        return -1;
    /* Everything below the oldest still open is settled. */
    return p->n ? p->open[0] : p->max_settled + 1;
}
