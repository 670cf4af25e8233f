/* qc-healthcheck: one HTTP request, exit 0 when the answer has the expected
 * status. The container images are Debian slim without curl or wget; this is
 * what their HEALTHCHECK, the compose health checks and the Helm test run.
 *
 *   qc-healthcheck [-H host] [-p port] [-t timeout_ms] [-X method]
 *                  [-e status] [-a ENV_VAR] [path]
 *
 * host defaults to 127.0.0.1, port to $QUAKECAST_HTTP_PORT (so the check
 * follows the port the binary in the same container was given), path to
 * /healthz, status to 200. -a NAME sends "Authorization: Bearer <value of
 * $NAME>": the token is read from the environment so it never shows in argv.
 *
 * Exit status: 0 expected status; 1 anything else (other status, refused,
 * timed out, garbage); 2 bad usage. Docker reserves 2 for itself in health
 * checks, but usage errors are found when writing the Dockerfile, not at run
 * time. The whole run is bounded by the timeout: every socket wait uses what
 * is left of it, and name resolution, which cannot be given a timeout, is cut
 * by an alarm. Plain sockets and libc only, no libqc: the probe must work
 * even when the libraries the services use are what broke. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 2000
#define RESPONSE_HEAD_MAX 512 /* enough for "HTTP/1.1 200 OK\r\n" */

typedef struct probe {
    const char *host;
    const char *port;
    const char *path;
    const char *method;
    const char *token; /* NULL: no Authorization header */
    long expect;
    long timeout_ms;
    struct timespec deadline; /* CLOCK_MONOTONIC */
} probe_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: qc-healthcheck [-H host] [-p port] [-t timeout_ms] [-X method]\n"
               "                      [-e status] [-a ENV_VAR] [path]\n"
               "  -H  host to connect to [127.0.0.1]\n"
               "  -p  TCP port [$QUAKECAST_HTTP_PORT]\n"
               "  -t  whole-run timeout in ms [%d]\n"
               "  -X  HTTP method [GET]\n"
               "  -e  expected HTTP status [200]\n"
               "  -a  send 'Authorization: Bearer $ENV_VAR'\n"
               "  path defaults to /healthz\n"
               "exit status: 0 expected status, 1 otherwise, 2 bad usage\n",
            DEFAULT_TIMEOUT_MS);
}

/* Async-signal-safe: the alarm only fires when getaddrinfo hangs. */
static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "qc-healthcheck: timed out\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
    _exit(1);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Milliseconds left before the deadline, at least 0. */
static int ms_left(const probe_t *p)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(p->deadline.tv_sec - now.tv_sec) * 1000 +
                   (p->deadline.tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Waits for @p events on @p fd within the deadline. 0 ready, -1 otherwise. */
static int wait_fd(const probe_t *p, int fd, short events)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events };
        int left = ms_left(p);
        if (left == 0)
            return -1;
        int rc = poll(&pfd, 1, left);
        if (rc > 0)
            return 0;
        if (rc == 0 || errno != EINTR)
            return -1;
    }
}

/* Non-blocking connect bounded by the deadline. @returns the fd or -1. */
static int connect_one(const probe_t *p, const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno == EINPROGRESS && wait_fd(p, fd, POLLOUT) == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
            return fd;
        errno = err;
    }
    close(fd);
    return -1;
}

static int send_all(const probe_t *p, int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(p, fd, POLLOUT))
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Reads until the status line is complete. @returns the status or -1. */
static long read_status(const probe_t *p, int fd)
{
    char head[RESPONSE_HEAD_MAX + 1];
    size_t got = 0;
    while (got < RESPONSE_HEAD_MAX) {
        ssize_t n = recv(fd, head + got, RESPONSE_HEAD_MAX - got, 0);
        if (n > 0) {
            got += (size_t)n;
            head[got] = '\0';
            if (strchr(head, '\n'))
                break;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(p, fd, POLLIN))
                return -1;
        } else {
            break; /* closed early: judge what we have */
        }
    }
    head[got] = '\0';
    /* "HTTP/1.x NNN ..." */
    if (strncmp(head, "HTTP/1.", 7) != 0 || got < 12 || head[8] != ' ')
        return -1;
    long status = 0;
    for (int i = 9; i < 12; i++) {
        if (head[i] < '0' || head[i] > '9')
            return -1;
        status = status * 10 + (head[i] - '0');
    }
    return status;
}

static int run(const probe_t *p)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int fd = -1, rc = 1, n, v6;
    long status = -1;
    char req[2048];

    int gai = getaddrinfo(p->host, p->port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "qc-healthcheck: %s: %s\n", p->host, gai_strerror(gai));
        return 1;
    }
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_one(p, ai);
    if (fd < 0) {
        fprintf(stderr, "qc-healthcheck: connect %s:%s: %s\n", p->host, p->port,
                ms_left(p) == 0 ? "timed out" : strerror(errno));
        goto out_addr;
    }
    /* An IPv6 literal needs brackets in the Host header. */
    v6 = strchr(p->host, ':') != NULL;
    n = snprintf(req, sizeof req,
                 "%s %s HTTP/1.0\r\nHost: %s%s%s:%s\r\nUser-Agent: qc-healthcheck\r\n"
                 "Connection: close\r\n%s%s%s\r\n",
                 p->method, p->path, v6 ? "[" : "", p->host, v6 ? "]" : "", p->port,
                 p->token ? "Authorization: Bearer " : "", p->token ? p->token : "",
                 p->token ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof req) {
        fprintf(stderr, "qc-healthcheck: request too long\n");
        goto out_fd;
    }
    if (send_all(p, fd, req, (size_t)n)) {
        fprintf(stderr, "qc-healthcheck: send: %s\n", ms_left(p) == 0 ? "timed out" : strerror(errno));
        goto out_fd;
    }
    status = read_status(p, fd);
    if (status < 0) {
        fprintf(stderr, "qc-healthcheck: %s %s: %s\n", p->method, p->path,
                ms_left(p) == 0 ? "timed out" : "no HTTP status line");
        goto out_fd;
    }
    printf("qc-healthcheck: %s http://%s:%s%s -> %ld\n", p->method, p->host, p->port, p->path, status);
    rc = status == p->expect ? 0 : 1;
out_fd:
    close(fd);
out_addr:
    freeaddrinfo(res);
    return rc;
}

/* Header and request-line injection: a path or method must be one token. */
static int is_token(const char *s, int allow_slash)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s == 0x7f || (!allow_slash && *s == '/'))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    probe_t p = { .host = "127.0.0.1", .port = getenv("QUAKECAST_HTTP_PORT"), .path = "/healthz",
                  .method = "GET", .expect = 200, .timeout_ms = DEFAULT_TIMEOUT_MS };
    const char *token_var = NULL;
    long port;
    int opt;

    while ((opt = getopt(argc, argv, "H:p:t:X:e:a:h")) != -1) {
        switch (opt) {
        case 'H': p.host = optarg; break;
        case 'p': p.port = optarg; break;
        case 'X': p.method = optarg; break;
        case 'a': token_var = optarg; break;
        case 't':
            if (parse_long(optarg, 1, 600000, &p.timeout_ms)) {
                fprintf(stderr, "qc-healthcheck: -t: expected 1..600000 ms, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'e':
            if (parse_long(optarg, 100, 599, &p.expect)) {
                fprintf(stderr, "qc-healthcheck: -e: expected an HTTP status, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        p.path = argv[optind++];
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (!p.port || !*p.port) {
        fprintf(stderr, "qc-healthcheck: no port: give -p or set QUAKECAST_HTTP_PORT\n");
        return 2;
    }
    if (parse_long(p.port, 1, 65535, &port)) {
        fprintf(stderr, "qc-healthcheck: port '%s' is not 1..65535\n", p.port);
        return 2;
    }
    if (p.path[0] != '/' || !is_token(p.path, 1) || !is_token(p.method, 0) || !is_token(p.host, 0)) {
        fprintf(stderr, "qc-healthcheck: method, host and path must be single tokens (path starting with /)\n");
        return 2;
    }
    if (token_var) {
        p.token = getenv(token_var);
        if (!p.token || !is_token(p.token, 1)) {
            fprintf(stderr, "qc-healthcheck: -a %s: variable unset, empty or not a token\n", token_var);
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &p.deadline);
    p.deadline.tv_sec += p.timeout_ms / 1000;
    p.deadline.tv_nsec += (p.timeout_ms % 1000) * 1000000L;
    if (p.deadline.tv_nsec >= 1000000000L) {
        p.deadline.tv_sec++;
        p.deadline.tv_nsec -= 1000000000L;
    }
    signal(SIGALRM, on_alarm);
    alarm((unsigned)((p.timeout_ms + 999) / 1000) + 1);
    return run(&p);
}
