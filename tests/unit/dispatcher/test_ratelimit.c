/* test_ratelimit.c: dispatcher/ratelimit.c driven alone. The shared bucket
 * is a stub ops.ask that records the questions; the test answers them with
 * qc_rl_answer() as Redis would, and ops.ready collects the items handed
 * back. No Redis, no chunk, no loop above the limiter. */
#include <event2/event.h>
#include <stdlib.h>

#include "qctest.h"
#include "ratelimit.h"

typedef struct item {
    qc_rl_node_t q; /* first: the node handed back is the item */
    int id;
} item_t;

typedef struct stub {
    int asks;
    long last_want;
    int waits;
    int ready_calls;
    int order[16];
    int nready;
} stub_t;

static int stub_ask(void *user, qc_rl_t *rl, long want)
{
    (void)rl;
    stub_t *s = user;
    s->asks++;
    s->last_want = want;
    return 0;
}

static void stub_ready(void *user, qc_rl_node_t *head, qc_rl_node_t *tail)
{
    stub_t *s = user;
    s->ready_calls++;
    for (qc_rl_node_t *n = head; n; n = n->next) {
        if (s->nready < 16)
            s->order[s->nready++] = ((item_t *)n)->id;
        if (n == tail)
            break;
    }
    CHECK(tail->next == NULL);
}

static void stub_waited(void *user) { ((stub_t *)user)->waits++; }

static qc_rl_t *new_rl(struct event_base *base, stub_t *s, long burst)
{
    qc_rl_ops_t ops = { .ask = stub_ask, .ready = stub_ready, .waited = stub_waited, .user = s };
    return qc_rl_new(base, NULL, "test", 10.0, burst, &ops);
}

static void test_waits_then_goes_in_order(void)
{
    struct event_base *base = event_base_new();
    stub_t s = { 0 };
    qc_rl_t *rl = new_rl(base, &s, 10);
    item_t it[3] = { { .id = 1 }, { .id = 2 }, { .id = 3 } };
    CHECK(!qc_rl_take(rl, &it[0].q)); /* no tokens yet: waits, and the bucket is asked */
    CHECK_INT(s.asks, 1);
    CHECK_INT(s.last_want, 1);
    CHECK(!qc_rl_take(rl, &it[1].q)); /* a question is out: no second one */
    CHECK(!qc_rl_take(rl, &it[2].q));
    CHECK_INT(s.asks, 1);
    CHECK_INT(qc_rl_waiting(rl), 3);
    qc_rl_answer(rl, 2, 0);            /* two tokens: the first two go, in order */
    CHECK_INT(s.ready_calls, 1);
    CHECK_INT(s.nready, 2);
    CHECK_INT(s.order[0], 1);
    CHECK_INT(s.order[1], 2);
    CHECK(it[0].q.has_token && it[1].q.has_token && !it[2].q.has_token);
    CHECK_INT(s.asks, 2);              /* one still waits: asked again at once */
    CHECK_INT(s.last_want, 1);
    /* An item handed back with its token goes without asking again. */
    CHECK(qc_rl_take(rl, &it[0].q));
    CHECK(!it[0].q.has_token);
    CHECK_INT(s.asks, 2);
    qc_rl_answer(rl, 1, 0);
    CHECK_INT(s.nready, 3);
    CHECK_INT(s.order[2], 3);
    CHECK_INT(qc_rl_waiting(rl), 0);
    qc_rl_destroy(rl);
    event_base_free(base);
}

static void test_empty_bucket_asks_again_later(void)
{
    struct event_base *base = event_base_new();
    stub_t s = { 0 };
    qc_rl_t *rl = new_rl(base, &s, 10);
    item_t a = { .id = 7 };
    CHECK(!qc_rl_take(rl, &a.q));
    qc_rl_answer(rl, 0, 20 * 1000); /* empty: not before 20 ms */
    CHECK_INT(s.waits, 1);
    CHECK_INT(s.nready, 0);
    CHECK_INT(s.asks, 1);
    /* The limiter's own timer asks again; the loop runs until it has. */
    for (int i = 0; i < 100 && s.asks < 2; i++)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK_INT(s.asks, 2);
    qc_rl_answer(rl, -1, 0); /* no answer (Redis away): asked again later */
    for (int i = 0; i < 100 && s.asks < 3; i++)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK_INT(s.asks, 3);
    qc_rl_answer(rl, 1, 0);
    CHECK_INT(s.nready, 1);
    CHECK_INT(s.order[0], 7);
    qc_rl_destroy(rl);
    event_base_free(base);
}

static void test_no_queue_jumping(void)
{
    struct event_base *base = event_base_new();
    stub_t s = { 0 };
    qc_rl_t *rl = new_rl(base, &s, 4);
    item_t a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
    CHECK(!qc_rl_take(rl, &a.q));
    qc_rl_answer(rl, 3, 0); /* more than asked for: a goes, two stay in hand */
    CHECK_INT(s.nready, 1);
    CHECK(qc_rl_take(rl, &b.q)); /* nobody waits: a spare token is used at once */
    CHECK(qc_rl_take(rl, &c.q));
    CHECK(qc_rl_take(rl, &a.q)); /* a holds its own token */
    item_t d = { .id = 4 };
    CHECK(!qc_rl_take(rl, &d.q)); /* tokens used up */
    CHECK_INT(s.last_want, 1);
    qc_rl_destroy(rl);
    event_base_free(base);
}

static void test_burst_caps_the_question(void)
{
    struct event_base *base = event_base_new();
    stub_t s = { 0 };
    qc_rl_t *rl = new_rl(base, &s, 2);
    item_t it[5];
    for (int i = 0; i < 5; i++) {
        it[i] = (item_t){ .id = i };
        CHECK(!qc_rl_take(rl, &it[i].q));
    }
    qc_rl_answer(rl, 0, 1000); /* first question (want 1) refused */
    for (int i = 0; i < 100 && s.asks < 2; i++)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK_INT(s.last_want, 2); /* five wait, the burst is two */
    qc_rl_destroy(rl);
    event_base_free(base);
}

/* An area's message (one token for a whole cell) goes before personal
 * messages that were waiting longer, and urgent ones keep their own order;
 * a newcomer, urgent or not, does not take a spare token from them. */
static void test_urgent_line_first(void)
{
    struct event_base *base = event_base_new();
    stub_t s = { 0 };
    qc_rl_t *rl = new_rl(base, &s, 10);
    item_t p1 = { .id = 1 }, p2 = { .id = 2 }, u1 = { .id = 11 }, u2 = { .id = 12 };
    CHECK(!qc_rl_take(rl, &p1.q));
    CHECK(!qc_rl_take(rl, &p2.q));
    CHECK(!qc_rl_take_urgent(rl, &u1.q));
    CHECK(!qc_rl_take_urgent(rl, &u2.q));
    CHECK_INT(qc_rl_waiting(rl), 4);
    qc_rl_answer(rl, 3, 0);
    CHECK_INT(s.nready, 3);
    CHECK_INT(s.order[0], 11);
    CHECK_INT(s.order[1], 12);
    CHECK_INT(s.order[2], 1);
    CHECK_INT(qc_rl_waiting(rl), 1);
    /* p2 still waits: an urgent newcomer finds no spare token... */
    item_t u3 = { .id = 13 };
    CHECK(!qc_rl_take_urgent(rl, &u3.q));
    qc_rl_answer(rl, 1, 0); /* ...and goes before p2 all the same */
    CHECK_INT(s.order[3], 13);
    qc_rl_answer(rl, 1, 0);
    CHECK_INT(s.order[4], 2);
    CHECK_INT(qc_rl_waiting(rl), 0);
    /* Draining hands back both lines, urgent ones first. */
    item_t p3 = { .id = 3 }, u4 = { .id = 14 };
    CHECK(!qc_rl_take(rl, &p3.q));
    CHECK(!qc_rl_take_urgent(rl, &u4.q));
    qc_rl_drain(rl);
    CHECK_INT(s.nready, 7);
    CHECK_INT(s.order[5], 14);
    CHECK_INT(s.order[6], 3);
    CHECK_INT(qc_rl_waiting(rl), 0);
    qc_rl_destroy(rl);
    event_base_free(base);
}

static void test_needs_ready(void)
{
    struct event_base *base = event_base_new();
    qc_rl_ops_t ops = { .ask = stub_ask };
    CHECK(qc_rl_new(base, NULL, "x", 1, 1, &ops) == NULL);
    ops.ready = stub_ready;
    ops.ask = NULL; /* the Redis default needs a client */
    CHECK(qc_rl_new(base, NULL, "x", 1, 1, &ops) == NULL);
    event_base_free(base);
}

QC_TESTS(QC_CASE(test_waits_then_goes_in_order), QC_CASE(test_empty_bucket_asks_again_later),
         QC_CASE(test_no_queue_jumping), QC_CASE(test_burst_caps_the_question), QC_CASE(test_urgent_line_first),
         QC_CASE(test_needs_ready))
