/* test_redis_auth.c: credentials are checked at start-up, and AUTH is the
 * first command on the wire of a single-node and of a cluster node
 * connection (a fake server on loopback reads what the client sends); a
 * refused AUTH closes the connection. */
#include "qc/err.h"
#include "qc/rcluster.h"
#include "qc/redis.h"
#include "qc/redis_auth.h"
#include "qctest.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_set(void)
{
    qc_redis_auth_t a;
    char err[256];
    CHECK_INT(qc_redis_auth_set(&a, "processor", "secret", err, sizeof err), 0);
    CHECK_STR(a.user, "processor");
    CHECK(qc_redis_auth_on(&a));
    qc_redis_auth_wipe(&a);
    CHECK(!qc_redis_auth_on(&a));
    CHECK_INT(qc_redis_auth_set(&a, "processor", "", err, sizeof err), QC_ERR_INVAL);
    CHECK(strstr(err, "no password") != NULL);
    CHECK_INT(qc_redis_auth_set(&a, "two words", "secret", err, sizeof err), QC_ERR_INVAL);
    char longpw[QC_REDIS_AUTH_MAX + 8];
    memset(longpw, 'x', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    CHECK_INT(qc_redis_auth_set(&a, "processor", longpw, err, sizeof err), QC_ERR_INVAL);
    /* a password alone: the default user */
    CHECK_INT(qc_redis_auth_set(&a, "", "secret", err, sizeof err), 0);
    CHECK(qc_redis_auth_on(&a));
    CHECK_INT(qc_redis_auth_set(&a, NULL, NULL, err, sizeof err), 0);
    CHECK(!qc_redis_auth_on(&a));
    CHECK(!qc_redis_auth_on(NULL));
}

/* A fake Redis: accepts one connection, collects what the client sends
 * until @want bytes arrived, answers @reply, then waits for the client to
 * close (or the deadline). */
typedef struct fake {
    struct event_base *base;
    int lfd, cfd;
    struct event *accept_ev, *read_ev, *deadline;
    char buf[4096];
    size_t len, want;
    const char *reply;
    bool replied, closed_by_client;
    bool refuse;      /* answer like a Redis refusing the credentials */
    int answered;
} fake_t;

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    fake_t *f = arg;
    ssize_t n = read(fd, f->buf + f->len, sizeof f->buf - 1 - f->len);
    if (n <= 0) {
        f->closed_by_client = true;
        event_base_loopexit(f->base, NULL);
        return;
    }
    size_t from = f->len;
    f->len += (size_t)n;
    f->buf[f->len] = '\0';
    if (f->refuse) {
        /* as Redis does: WRONGPASS for AUTH, NOAUTH for every command
         * queued behind it (each command starts a line with '*') */
        for (size_t i = from; i < f->len; i++) {
            if (f->buf[i] != '*' || (i > 0 && f->buf[i - 1] != '\n'))
                continue;
            const char *r = f->answered++ ? "-NOAUTH Authentication required.\r\n"
                                          : "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
            CHECK(write(fd, r, strlen(r)) == (ssize_t)strlen(r));
        }
        return;
    }
    if (!f->replied && f->len >= f->want) {
        f->replied = true;
        if (!f->reply) {
            event_base_loopexit(f->base, NULL);
            return;
        }
        CHECK(write(fd, f->reply, strlen(f->reply)) == (ssize_t)strlen(f->reply));
    }
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    fake_t *f = arg;
    f->cfd = accept(fd, NULL, NULL);
    if (f->cfd < 0)
        return;
    f->read_ev = event_new(f->base, f->cfd, EV_READ | EV_PERSIST, on_read, f);
    event_add(f->read_ev, NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(((fake_t *)arg)->base, NULL);
}

static int fake_start(fake_t *f, struct event_base *base, size_t want, const char *reply)
{
    memset(f, 0, sizeof *f);
    f->base = base;
    f->cfd = -1;
    f->want = want;
    f->reply = reply;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof sa) || listen(f->lfd, 4) ||
        getsockname(f->lfd, (struct sockaddr *)&sa, &sl))
        return -1;
    f->accept_ev = event_new(base, f->lfd, EV_READ, on_accept, f);
    f->deadline = evtimer_new(base, on_deadline, f);
    struct timeval tv = { 5, 0 };
    event_add(f->accept_ev, NULL);
    evtimer_add(f->deadline, &tv);
    return ntohs(sa.sin_port);
}

static void fake_stop(fake_t *f)
{
    if (f->read_ev)
        event_free(f->read_ev);
    event_free(f->accept_ev);
    event_free(f->deadline);
    if (f->cfd >= 0)
        close(f->cfd);
    close(f->lfd);
}

static const char AUTH_CMD[] = "*3\r\n$4\r\nAUTH\r\n$9\r\nprocessor\r\n$6\r\nsecret\r\n";

static void test_single_node_auth_first(void)
{
    struct event_base *base = event_base_new();
    fake_t f;
    int port = fake_start(&f, base, 0, NULL);
    f.refuse = true;
    CHECK(port > 0);
    char url[64], err[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
    qc_redis_auth_t a;
    CHECK_INT(qc_redis_auth_set(&a, "processor", "secret", err, sizeof err), 0);
    qc_redis_t *r = qc_redis_new(base, url, &a, NULL, NULL, err, sizeof err);
    CHECK(r != NULL);
    event_base_dispatch(base);
    CHECK(f.len >= sizeof AUTH_CMD - 1);
    CHECK(!strncmp(f.buf, AUTH_CMD, sizeof AUTH_CMD - 1));
    /* the refusal closed the connection, and the client is not up */
    CHECK(f.closed_by_client);
    CHECK(!qc_redis_up(r));
    qc_redis_destroy(r);
    fake_stop(&f);
    event_base_free(base);
}

static void test_cluster_node_auth_first(void)
{
    struct event_base *base = event_base_new();
    fake_t f;
    /* AUTH, then the slot map request: the fake answers nothing */
    int port = fake_start(&f, base, sizeof AUTH_CMD - 1 + 1, NULL);
    CHECK(port > 0);
    char seeds[64], err[256];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", port);
    qc_redis_auth_t a;
    CHECK_INT(qc_redis_auth_set(&a, "processor", "secret", err, sizeof err), 0);
    qc_rcluster_t *c = qc_rcluster_new(base, seeds, &a, NULL, NULL, err, sizeof err);
    CHECK(c != NULL);
    event_base_dispatch(base);
    CHECK(!strncmp(f.buf, AUTH_CMD, sizeof AUTH_CMD - 1));
    CHECK(strstr(f.buf + sizeof AUTH_CMD - 1, "CLUSTER") != NULL);
    qc_rcluster_destroy(c);
    fake_stop(&f);
    event_base_free(base);
}

static void test_no_auth_sends_none(void)
{
    struct event_base *base = event_base_new();
    fake_t f;
    int port = fake_start(&f, base, 10, NULL);
    CHECK(port > 0);
    char url[64], err[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
    qc_redis_t *r = qc_redis_new(base, url, NULL, NULL, NULL, err, sizeof err);
    CHECK(r != NULL);
    event_base_dispatch(base);
    CHECK(!strncmp(f.buf, "*1\r\n$4\r\nINFO\r\n", 14));
    CHECK(strstr(f.buf, "AUTH") == NULL);
    qc_redis_destroy(r);
    fake_stop(&f);
    event_base_free(base);
}

QC_TESTS(QC_CASE(test_set), QC_CASE(test_single_node_auth_first), QC_CASE(test_cluster_node_auth_first),
         QC_CASE(test_no_auth_sends_none))
