/* main.c: qc-fake-sink, a fast fake webhook receiver that counts what
 * quakecast's dispatchers delivered (see tests/fakes/README.md).
 *
 * Start-up: options from one table, a listening socket on a numeric address,
 * the ready file once listening; SIGTERM/SIGINT end the loop, after which the
 * ledger file is written. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "qc/err.h"
#include "qc/sign.h"
#include "sink.h"

#define LISTEN_BACKLOG 4096

typedef enum opt_type { OPT_STR, OPT_LONG, OPT_FLAG } opt_type_t;

typedef struct opt {
    const char *name;
    opt_type_t type;
    size_t offset;      /* into sink_config_t */
    const char *dflt;   /* NULL = unset */
    long min, max;      /* OPT_LONG bounds */
    const char *help;
} opt_t;

#define CONF_OFF(f) offsetof(sink_config_t, f)

static const opt_t sink_opts[] = {
    {"port", OPT_LONG, CONF_OFF(port), NULL, 0, 65535,
     "TCP port to listen on (required; 0 = ephemeral, printed and written to --ready-file)"},
    {"addr", OPT_STR, CONF_OFF(addr), "127.0.0.1", 0, 0,
     "numeric address to bind (only this one)"},
    {"secret", OPT_STR, CONF_OFF(secret), NULL, 0, 0,
     "whsec_... secret; when set, deliveries must carry a valid Standard Webhooks signature"},
    {"ready-file", OPT_STR, CONF_OFF(ready_file), NULL, 0, 0,
     "file that gets the port number once listening (tmp + rename)"},
    {"ledger-file", OPT_STR, CONF_OFF(ledger_file), NULL, 0, 0,
     "NDJSON ledger written on SIGTERM/SIGINT: a summary line, then one line per (alert, subscriber)"},
    {"tolerance", OPT_LONG, CONF_OFF(tolerance_s), "300", 0, 86400 * 365,
     "seconds webhook-timestamp may differ from now when verifying (0 = no check)"},
    {"max-body", OPT_LONG, CONF_OFF(max_body), "1048576", 1024, 64L * 1024 * 1024,
     "largest request body accepted, bytes (larger: 413)"},
    {"idle-timeout", OPT_LONG, CONF_OFF(idle_timeout_s), "120", 1, 86400,
     "seconds before an idle keep-alive connection is closed"},
    {"help", OPT_FLAG, CONF_OFF(help), NULL, 0, 0, "this text"},
};
#define NOPTS (sizeof(sink_opts) / sizeof(sink_opts[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: qc-fake-sink --port N [options]\n\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const opt_t *o = &sink_opts[i];

        fprintf(f, "  --%-14s %s", o->name, o->help);
        if (o->dflt != NULL)
            fprintf(f, " [%s]", o->dflt);
        fputc('\n', f);
    }
}

static int opt_set(sink_config_t *c, const opt_t *o, const char *v, char *errstr,
                   size_t errsz)
{
    char *base = (char *)c + o->offset, *end;
    long n;

    switch (o->type) {
    case OPT_STR:
        *(const char **)(void *)base = v;
        return 0;
    case OPT_FLAG:
        *(bool *)(void *)base = true;
        return 0;
    case OPT_LONG:
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || n < o->min || n > o->max) {
            snprintf(errstr, errsz, "--%s: expected an integer %ld..%ld, got '%s'",
                     o->name, o->min, o->max, v);
            return QC_ERR_INVAL;
        }
        *(long *)(void *)base = n;
        return 0;
    }
    return QC_ERR_INVAL;
}

static int config_parse(sink_config_t *c, int argc, char **argv, char *errstr,
                        size_t errsz)
{
    bool seen_port = false;

    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NOPTS; i++)
        if (sink_opts[i].dflt != NULL &&
            opt_set(c, &sink_opts[i], sink_opts[i].dflt, errstr, errsz) != 0)
            return QC_ERR_INVAL;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        const opt_t *o = NULL;
        size_t nlen;

        if (strncmp(arg, "--", 2) != 0) {
            snprintf(errstr, errsz, "unexpected argument '%s'", arg);
            return QC_ERR_INVAL;
        }
        arg += 2;
        eq = strchr(arg, '=');
        nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        for (size_t k = 0; k < NOPTS; k++)
            if (strlen(sink_opts[k].name) == nlen && strncmp(sink_opts[k].name, arg, nlen) == 0)
                o = &sink_opts[k];
        if (o == NULL) {
            snprintf(errstr, errsz, "unknown option '--%.*s'", (int)nlen, arg);
            return QC_ERR_INVAL;
        }
        if (o->type != OPT_FLAG) {
            if (eq != NULL) {
                val = eq + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                snprintf(errstr, errsz, "--%s needs a value", o->name);
                return QC_ERR_INVAL;
            }
        }
        if (opt_set(c, o, val, errstr, errsz) != 0)
            return QC_ERR_INVAL;
        if (o->offset == CONF_OFF(port))
            seen_port = true;
    }
    if (!c->help && !seen_port) {
        snprintf(errstr, errsz, "--port is required");
        return QC_ERR_INVAL;
    }
    return 0;
}

static void log_line(FILE *f, const char *level, const char *event, const char *fields)
{
    struct timespec ts;
    struct tm tm;
    char when[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(f, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"component\":\"fake-sink\","
               "\"event\":\"%s\"%s%s}\n",
            when, ts.tv_nsec / 1000000, level, event, fields[0] ? "," : "", fields);
    fflush(f);
}

static void log_error(const char *event, const char *msg)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;

    if (b == NULL)
        return;
    evbuffer_add(b, "\"error\":", 8);
    sink_json_string(b, msg, strlen(msg));
    evbuffer_add(b, "", 1);
    n = evbuffer_get_length(b);
    log_line(stderr, "error", event, (const char *)evbuffer_pullup(b, (ev_ssize_t)n));
    evbuffer_free(b);
}

/* Binds and listens on conf->addr:port. @returns 0 or QC_ERR_IO with errstr. */
static int sink_listen(sink_t *s, char *errstr, size_t errsz)
{
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char port[8];
    int one = 1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    snprintf(port, sizeof(port), "%ld", s->conf->port);
    if ((rc = getaddrinfo(s->conf->addr, port, &hints, &ai)) != 0) {
        snprintf(errstr, errsz, "--addr %s: %s", s->conf->addr, gai_strerror(rc));
        return QC_ERR_INVAL;
    }
    s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (s->fd < 0)
        goto fail;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s->fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s->fd, LISTEN_BACKLOG) != 0 ||
        evutil_make_socket_nonblocking(s->fd) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&ss, &sl) != 0)
        goto fail;
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    return 0;

fail:
    snprintf(errstr, errsz, "listen on %s:%ld: %s", s->conf->addr, s->conf->port,
             strerror(errno));
    freeaddrinfo(ai);
    return QC_ERR_IO;
}

/* Writes @p len bytes to @p path atomically (tmp file + rename). */
static int write_atomic(const char *path, struct evbuffer *data, char *errstr, size_t errsz)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    int fd = -1, rc = QC_ERR_IO;

    if (tmp == NULL)
        return QC_ERR_NOMEM;
    snprintf(tmp, plen + 8, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto out_free;
    while (evbuffer_get_length(data) > 0)
        if (evbuffer_write(data, fd) < 0 && errno != EINTR)
            goto out_close;
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out_unlink;
    rc = 0;
    goto out_free;

out_close:
    close(fd);
out_unlink:
    unlink(tmp);
out_free:
    if (rc != 0)
        snprintf(errstr, errsz, "write %s: %s", path, strerror(errno));
    free(tmp);
    return rc;
}

static int write_ready_file(const sink_t *s, char *errstr, size_t errsz)
{
    struct evbuffer *b = evbuffer_new();
    int rc;

    if (b == NULL)
        return QC_ERR_NOMEM;
    evbuffer_add_printf(b, "%d\n", s->port);
    rc = write_atomic(s->conf->ready_file, b, errstr, errsz);
    evbuffer_free(b);
    return rc;
}

static int write_ledger_file(const sink_t *s, char *errstr, size_t errsz)
{
    struct evbuffer *b = evbuffer_new();
    size_t cursor = 0;
    int rc;

    if (b == NULL)
        return QC_ERR_NOMEM;
    evbuffer_add(b, "{\"summary\":", 11);
    sink_ledger_summary_json(s->ledger, SINK_ALERT_ALL, NULL, b);
    evbuffer_add(b, "}\n", 2);
    while (!sink_ledger_ids_ndjson(s->ledger, SINK_ALERT_ALL, &cursor, b, SIZE_MAX))
        ;
    rc = write_atomic(s->conf->ledger_file, b, errstr, errsz);
    evbuffer_free(b);
    return rc;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    sink_t *s = arg;

    event_base_loopexit(s->base, NULL);
}

int main(int argc, char **argv)
{
    struct event_config *ecfg;
    struct rlimit rl;
    sink_config_t conf;
    sink_t s;
    char errstr[512], fields[256];
    int rc, ret = 1;

    memset(&s, 0, sizeof(s));
    s.fd = -1;
    if (config_parse(&conf, argc, argv, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "qc-fake-sink: %s\n", errstr);
        usage(stderr);
        return 2;
    }
    if (conf.help) {
        usage(stdout);
        return 0;
    }
    s.conf = &conf;
    if (conf.secret != NULL) {
        rc = qc_sign_secret_decode(conf.secret, s.key, sizeof(s.key));
        if (rc <= 0) {
            fprintf(stderr, "qc-fake-sink: --secret: not a whsec_<base64> secret\n");
            return 2;
        }
        s.keylen = (size_t)rc;
    }
    /* a client closing mid-write must be an EPIPE, not a dead process */
    signal(SIGPIPE, SIG_IGN);
    /* several dispatchers with wide connection pools exceed the usual soft
     * limit of 1024 descriptors */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if ((s.ledger = sink_ledger_new()) == NULL) {
        log_error("start_failed", "out of memory");
        return 1;
    }
    if ((ecfg = event_config_new()) == NULL) {
        log_error("start_failed", "out of memory");
        goto out;
    }
    /* evhttp toggles read/write interest on every request; the changelist
     * folds those toggles into one epoll_ctl per fd and loop turn. */
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    s.base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    if (s.base == NULL || (s.http = evhttp_new(s.base)) == NULL) {
        log_error("start_failed", "libevent init failed");
        goto out;
    }
    if (sink_listen(&s, errstr, sizeof(errstr)) != 0) {
        log_error("start_failed", errstr);
        goto out;
    }
    if (evhttp_accept_socket(s.http, s.fd) != 0) {
        log_error("start_failed", "evhttp_accept_socket failed");
        goto out;
    }
    s.fd = -1; /* owned by s.http now */
    if (sink_http_setup(&s) != 0)
        goto out;
    s.ev_sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s);
    s.ev_sigint = evsignal_new(s.base, SIGINT, on_signal, &s);
    if (s.ev_sigterm == NULL || s.ev_sigint == NULL || event_add(s.ev_sigterm, NULL) != 0 ||
        event_add(s.ev_sigint, NULL) != 0) {
        log_error("start_failed", "signal events");
        goto out;
    }
    if (conf.ready_file != NULL && write_ready_file(&s, errstr, sizeof(errstr)) != 0) {
        log_error("start_failed", errstr);
        goto out;
    }
    snprintf(fields, sizeof(fields), "\"addr\":\"%s\",\"port\":%d,\"verify\":%s", conf.addr,
             s.port, s.keylen ? "true" : "false");
    log_line(stdout, "info", "listening", fields);

    event_base_dispatch(s.base);

    ret = 0;
    if (conf.ledger_file != NULL && write_ledger_file(&s, errstr, sizeof(errstr)) != 0) {
        log_error("ledger_write_failed", errstr);
        ret = 1;
    }
    snprintf(fields, sizeof(fields), "\"ledger_bytes\":%zu", sink_ledger_memory(s.ledger));
    log_line(stdout, "info", "stopped", fields);

out:
    /* evhttp_free frees every connection and request, stream states via their
     * close callbacks; then only our bookkeeping of delayed requests is left. */
    if (s.http != NULL)
        evhttp_free(s.http);
    sink_http_cleanup(&s);
    if (s.fd >= 0)
        close(s.fd);
    if (s.ev_sigterm != NULL)
        event_free(s.ev_sigterm);
    if (s.ev_sigint != NULL)
        event_free(s.ev_sigint);
    if (s.base != NULL)
        event_base_free(s.base);
    sink_ledger_destroy(s.ledger);
    return ret;
}
