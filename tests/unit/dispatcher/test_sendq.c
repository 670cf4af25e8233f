/* test_sendq.c: the send queue alone (dispatcher/sendq.c): earliest
 * deadline first across channels, people already inside their shaking
 * after those who can still act, a blocked (saturated) channel skipped
 * without holding back the others, the ready line first, ties in arrival
 * order, and many items in and out in order. */
#include <stdint.h>
#include <stdlib.h>

#include "qctest.h"
#include "sendq.h"

static bool blocked_ch1(void *user, int channel)
{
    (void)user;
    return channel == 1;
}

static void test_edf_across_channels(void)
{
    qc_sendq_t *q = qc_sendq_new(3);
    int items[6];
    /* deadlines (ms): ch0 300, 100; ch1 200; ch2 50, 400, 250 */
    CHECK_INT(qc_sendq_push(q, 0, 300, &items[0]), 0);
    CHECK_INT(qc_sendq_push(q, 0, 100, &items[1]), 0);
    CHECK_INT(qc_sendq_push(q, 1, 200, &items[2]), 0);
    CHECK_INT(qc_sendq_push(q, 2, 50, &items[3]), 0);
    CHECK_INT(qc_sendq_push(q, 2, 400, &items[4]), 0);
    CHECK_INT(qc_sendq_push(q, 2, 250, &items[5]), 0);
    CHECK_INT(qc_sendq_len(q), 6);
    int *want[] = { &items[3], &items[1], &items[2], &items[5], &items[0], &items[4] };
    for (int k = 0; k < 6; k++)
        CHECK(qc_sendq_pop(q, 0, NULL, NULL) == want[k]);
    CHECK(qc_sendq_pop(q, 0, NULL, NULL) == NULL);
    CHECK_INT(qc_sendq_len(q), 0);
    qc_sendq_destroy(q);
}

static void test_late_after_those_who_can_act(void)
{
    qc_sendq_t *q = qc_sendq_new(2);
    int a, b, c, d;
    qc_sendq_push(q, 0, 1000, &a); /* passed at now = 5000 */
    qc_sendq_push(q, 1, 2000, &b); /* passed */
    qc_sendq_push(q, 0, 9000, &c);
    qc_sendq_push(q, 1, 7000, &d);
    CHECK(qc_sendq_pop(q, 5000, NULL, NULL) == &d);
    CHECK(qc_sendq_pop(q, 5000, NULL, NULL) == &c);
    /* then the late ones, most overdue first */
    CHECK(qc_sendq_pop(q, 5000, NULL, NULL) == &a);
    CHECK(qc_sendq_pop(q, 5000, NULL, NULL) == &b);
    CHECK(qc_sendq_pop(q, 5000, NULL, NULL) == NULL);
    qc_sendq_destroy(q);
}

static void test_blocked_channel_does_not_hold_others(void)
{
    qc_sendq_t *q = qc_sendq_new(2);
    int a, b, c;
    qc_sendq_push(q, 1, 10, &a);  /* most urgent, but its provider is saturated */
    qc_sendq_push(q, 0, 500, &b);
    qc_sendq_push(q, 0, 600, &c);
    CHECK(qc_sendq_pop(q, 0, blocked_ch1, NULL) == &b);
    CHECK(qc_sendq_pop(q, 0, blocked_ch1, NULL) == &c);
    CHECK(qc_sendq_pop(q, 0, blocked_ch1, NULL) == NULL); /* waits, not dropped */
    CHECK_INT(qc_sendq_len(q), 1);
    CHECK(qc_sendq_pop(q, 0, NULL, NULL) == &a);
    qc_sendq_destroy(q);
}

static void test_ready_first_and_ties_in_order(void)
{
    qc_sendq_t *q = qc_sendq_new(1);
    int a, b, c, r;
    qc_sendq_push(q, 0, 100, &a);
    qc_sendq_push(q, 0, 100, &b);
    qc_sendq_push(q, 0, 100, &c);
    qc_sendq_push_ready(q, &r);
    CHECK(qc_sendq_pop(q, 0, blocked_ch1, NULL) == &r);
    CHECK(qc_sendq_pop(q, 0, NULL, NULL) == &a);
    CHECK(qc_sendq_pop(q, 0, NULL, NULL) == &b);
    CHECK(qc_sendq_pop(q, 0, NULL, NULL) == &c);
    CHECK(qc_sendq_push(q, 5, 1, &a) == -1); /* no such channel */
    qc_sendq_destroy(q);
}

static void test_many_in_order(void)
{
    enum { N = 20000 };
    qc_sendq_t *q = qc_sendq_new(4);
    int64_t *keys = malloc(N * sizeof *keys);
    CHECK(keys != NULL);
    if (!keys)
        return;
    srand(7);
    for (int i = 0; i < N; i++) {
        keys[i] = rand() % 100000;
        qc_sendq_push(q, i % 4, keys[i], &keys[i]);
    }
    int64_t prev = -1;
    long out = 0;
    int64_t *k;
    while ((k = qc_sendq_pop(q, 0, NULL, NULL))) {
        CHECK(*k >= prev);
        prev = *k;
        out++;
    }
    CHECK_INT(out, N);
    /* pop_any empties a queue whatever its state */
    for (int i = 0; i < 100; i++)
        qc_sendq_push(q, i % 4, i, &keys[i]);
    qc_sendq_push_ready(q, &keys[0]);
    out = 0;
    while (qc_sendq_pop_any(q))
        out++;
    CHECK_INT(out, 101);
    free(keys);
    qc_sendq_destroy(q);
    qc_sendq_destroy(NULL);
}

QC_TESTS(QC_CASE(test_edf_across_channels), QC_CASE(test_late_after_those_who_can_act),
         QC_CASE(test_blocked_channel_does_not_hold_others), QC_CASE(test_ready_first_and_ties_in_order),
         QC_CASE(test_many_in_order))
