/* main.c: qc-fake-sink, a fast fake webhook receiver, and fake Twilio,
 * Telegram, FCM and SMTP providers, that counts what quakecast's dispatchers
 * delivered (see tests/fakes/README.md).
 *
 * Start-up: options from one table, a listening socket on a numeric address
 * (and one for SMTP), the ready files once listening; SIGTERM/SIGINT end the
 * loop, after which the ledger file is written. */
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
#include <openssl/rand.h>

#include "qc/err.h"
#include "qc/sign.h"
#include "sink.h"

#define LISTEN_BACKLOG 4096

typedef enum opt_type { OPT_STR, OPT_LONG, OPT_FLAG, OPT_RATE, OPT_LATENCY } opt_type_t;

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
    {"twilio-sid", OPT_STR, CONF_OFF(twilio_sid), NULL, 0, 0,
     "Twilio AccountSid; with --twilio-token turns on the fake Twilio Messages API"},
    {"twilio-token", OPT_STR, CONF_OFF(twilio_token), NULL, 0, 0, "Twilio AuthToken"},
    {"telegram-token", OPT_STR, CONF_OFF(telegram_token), NULL, 0, 0,
     "bot token; turns on the fake Telegram Bot API (/bot<token>/sendMessage)"},
    {"fcm-public-key", OPT_STR, CONF_OFF(fcm_public_key), NULL, 0, 0,
     "PEM public key of the service account; turns on fake FCM v1 and its /token endpoint"},
    {"fcm-token-ttl", OPT_LONG, CONF_OFF(fcm_token_ttl), "3599", 1, 86400,
     "expires_in of the access tokens /token issues, seconds"},
    {"fcm-project", OPT_STR, CONF_OFF(fcm_project), NULL, 0, 0,
     "only this FCM project may be sent to (default: any)"},
    {"fcm-issuer", OPT_STR, CONF_OFF(fcm_issuer), NULL, 0, 0,
     "the JWT iss (client_email) /token accepts (default: any)"},
    {"smtp-port", OPT_LONG, CONF_OFF(smtp_port), "-1", -1, 65535,
     "SMTP port on --addr (-1 = no SMTP, 0 = ephemeral)"},
    {"smtp-ready-file", OPT_STR, CONF_OFF(smtp_ready_file), NULL, 0, 0,
     "file that gets the SMTP port once listening (tmp + rename)"},
    {"smtp-user", OPT_STR, CONF_OFF(smtp_user), NULL, 0, 0,
     "SMTP AUTH user; with --smtp-password, AUTH is required before MAIL"},
    {"smtp-password", OPT_STR, CONF_OFF(smtp_password), NULL, 0, 0, "SMTP AUTH password"},
    {"smtp-tls-cert", OPT_STR, CONF_OFF(smtp_tls_cert), NULL, 0, 0,
     "PEM certificate; with --smtp-tls-key, SMTP offers STARTTLS"},
    {"smtp-tls-key", OPT_STR, CONF_OFF(smtp_tls_key), NULL, 0, 0, "PEM private key"},
    {"rate-limit", OPT_RATE, CONF_OFF(rate_limit), NULL, 0, 0,
     "provider=N: at most N requests a second (sliding 1 s window); repeatable"},
    {"latency", OPT_LATENCY, 0, NULL, 0, 0,
     "provider=MEDIAN_MS[:SIGMA]: successes are answered after a log-normal delay (median, sigma of the log; default 0.5); repeatable"},
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
    case OPT_RATE: {
        const char *eq = strchr(v, '=');
        char name[16];
        int p;

        if (eq == NULL || (size_t)(eq - v) >= sizeof(name))
            goto bad_rate;
        memcpy(name, v, (size_t)(eq - v));
        name[eq - v] = '\0';
        if ((p = sink_provider_parse(name)) == SINK_P_ANY)
            goto bad_rate;
        errno = 0;
        n = strtol(eq + 1, &end, 10);
        if (errno != 0 || end == eq + 1 || *end != '\0' || n < 1 || n > 10000000)
            goto bad_rate;
        c->rate_limit[p] = n;
        return 0;
    bad_rate:
        snprintf(errstr, errsz, "--%s: expected provider=N (webhook, twilio, telegram, fcm, "
                                "smtp; N 1..10000000), got '%s'",
                 o->name, v);
        return QC_ERR_INVAL;
    }
    case OPT_LATENCY: {
        const char *eq = strchr(v, '=');
        char name[16];
        int p;
        double med, sigma = 0.5;

        if (eq == NULL || (size_t)(eq - v) >= sizeof(name))
            goto bad_latency;
        memcpy(name, v, (size_t)(eq - v));
        name[eq - v] = '\0';
        if ((p = sink_provider_parse(name)) == SINK_P_ANY)
            goto bad_latency;
        errno = 0;
        med = strtod(eq + 1, &end);
        if (errno != 0 || end == eq + 1 || !(med >= 0 && med <= 60000))
            goto bad_latency;
        if (*end == ':') {
            const char *sp = end + 1;
            sigma = strtod(sp, &end);
            if (end == sp || !(sigma >= 0 && sigma <= 3))
                goto bad_latency;
        }
        if (*end != '\0')
            goto bad_latency;
        c->latency_ms[p] = med;
        c->latency_sigma[p] = sigma;
        return 0;
    bad_latency:
        snprintf(errstr, errsz, "--%s: expected provider=MEDIAN_MS[:SIGMA] (median 0..60000, sigma 0..3), got '%s'",
                 o->name, v);
        return QC_ERR_INVAL;
    }
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
    if ((c->twilio_sid == NULL) != (c->twilio_token == NULL)) {
        snprintf(errstr, errsz, "--twilio-sid and --twilio-token go together");
        return QC_ERR_INVAL;
    }
    if ((c->smtp_user == NULL) != (c->smtp_password == NULL)) {
        snprintf(errstr, errsz, "--smtp-user and --smtp-password go together");
        return QC_ERR_INVAL;
    }
    if ((c->smtp_tls_cert == NULL) != (c->smtp_tls_key == NULL)) {
        snprintf(errstr, errsz, "--smtp-tls-cert and --smtp-tls-key go together");
        return QC_ERR_INVAL;
    }
    if (c->smtp_port < 0 && (c->smtp_user || c->smtp_tls_cert || c->smtp_ready_file)) {
        snprintf(errstr, errsz, "--smtp-* options need --smtp-port");
        return QC_ERR_INVAL;
    }
    if (c->telegram_token != NULL && (c->telegram_token[0] == '\0' ||
                                      strchr(c->telegram_token, '/') != NULL)) {
        snprintf(errstr, errsz, "--telegram-token: empty or contains '/'");
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

/* Binds and listens on @p addr:@p port; sets *fd and *bound (the port).
 * @returns 0 or QC_ERR_IO / QC_ERR_INVAL with errstr. */
static int listen_on(const char *addr, long port, evutil_socket_t *fd, int *bound,
                     char *errstr, size_t errsz)
{
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char pstr[8];
    int one = 1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    snprintf(pstr, sizeof(pstr), "%ld", port);
    if ((rc = getaddrinfo(addr, pstr, &hints, &ai)) != 0) {
        snprintf(errstr, errsz, "--addr %s: %s", addr, gai_strerror(rc));
        return QC_ERR_INVAL;
    }
    *fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (*fd < 0)
        goto fail;
    setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(*fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(*fd, LISTEN_BACKLOG) != 0 ||
        evutil_make_socket_nonblocking(*fd) != 0 ||
        getsockname(*fd, (struct sockaddr *)&ss, &sl) != 0)
        goto fail;
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    return 0;

fail:
    snprintf(errstr, errsz, "listen on %s:%ld: %s", addr, port, strerror(errno));
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
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

static int write_port_file(const char *path, int port, char *errstr, size_t errsz)
{
    struct evbuffer *b = evbuffer_new();
    int rc;

    if (b == NULL)
        return QC_ERR_NOMEM;
    evbuffer_add_printf(b, "%d\n", port);
    rc = write_atomic(path, b, errstr, errsz);
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
    sink_ledger_summary_json(s->ledger, SINK_ALERT_ALL, SINK_P_ANY, NULL, b);
    evbuffer_add(b, "}\n", 2);
    while (!sink_ledger_ids_ndjson(s->ledger, SINK_ALERT_ALL, SINK_P_ANY, &cursor, b, SIZE_MAX))
        ;
    rc = write_atomic(s->conf->ledger_file, b, errstr, errsz);
    evbuffer_free(b);
    return rc;
}

/* Turns on the providers whose credentials were given. */
static int setup_providers(sink_t *s, char *errstr, size_t errsz)
{
    const sink_config_t *c = s->conf;
    unsigned char seed[8];

    if (RAND_bytes(seed, sizeof(seed)) != 1) {
        snprintf(errstr, errsz, "RAND_bytes failed");
        return QC_ERR_IO;
    }
    memcpy(&s->rng, seed, sizeof(seed));
    s->rng |= 1; /* xorshift state must not be 0 */
    for (int p = 0; p < SINK_P_COUNT; p++)
        s->rate.limit[p] = c->rate_limit[p];
    sink_rate_reset(&s->rate);
    s->on[SINK_P_WEBHOOK] = true;
    if (c->twilio_sid != NULL) {
        char pair[384];
        int n = snprintf(pair, sizeof(pair), "%s:%s", c->twilio_sid, c->twilio_token);

        memcpy(s->twilio_basic, "Basic ", 6);
        if (n < 0 || (size_t)n >= sizeof(pair) ||
            qc_base64_encode((const unsigned char *)pair, (size_t)n, s->twilio_basic + 6,
                             sizeof(s->twilio_basic) - 6) < 0) {
            snprintf(errstr, errsz, "--twilio-sid/--twilio-token: too long");
            return QC_ERR_INVAL;
        }
        s->on[SINK_P_TWILIO] = true;
    }
    s->on[SINK_P_TELEGRAM] = c->telegram_token != NULL;
    if (c->fcm_public_key != NULL) {
        if (sink_fcm_setup(s, errstr, errsz) != 0)
            return QC_ERR_INVAL;
        s->on[SINK_P_FCM] = true;
    }
    s->on[SINK_P_SMTP] = c->smtp_port >= 0;
    s->providers_on = s->on[SINK_P_TWILIO] || s->on[SINK_P_TELEGRAM] || s->on[SINK_P_FCM];
    return 0;
}

static void listening_fields(const sink_t *s, char *out, size_t outsz)
{
    size_t n;
    bool first = true;

    n = (size_t)snprintf(out, outsz, "\"addr\":\"%s\",\"port\":%d,\"verify\":%s,\"smtp_port\":",
                         s->conf->addr, s->port, s->keylen ? "true" : "false");
    if (n < outsz)
        n += (size_t)(s->smtp_port >= 0 ? snprintf(out + n, outsz - n, "%d", s->smtp_port)
                                        : snprintf(out + n, outsz - n, "null"));
    if (n < outsz)
        n += (size_t)snprintf(out + n, outsz - n, ",\"providers\":[");
    for (int p = 1; p < SINK_P_COUNT && n < outsz; p++) {
        if (!s->on[p])
            continue;
        n += (size_t)snprintf(out + n, outsz - n, "%s\"%s\"", first ? "" : ",",
                              sink_provider_name(p));
        first = false;
    }
    if (n < outsz)
        snprintf(out + n, outsz - n, "]");
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
    char errstr[512], fields[512];
    int rc, ret = 1;

    memset(&s, 0, sizeof(s));
    s.fd = -1;
    s.smtp_port = -1;
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
    if (setup_providers(&s, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "qc-fake-sink: %s\n", errstr);
        sink_fcm_cleanup(&s);
        return 2;
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
    if (listen_on(conf.addr, conf.port, &s.fd, &s.port, errstr, sizeof(errstr)) != 0) {
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
    if (conf.smtp_port >= 0) {
        evutil_socket_t sfd;

        if (listen_on(conf.addr, conf.smtp_port, &sfd, &s.smtp_port, errstr,
                      sizeof(errstr)) != 0 ||
            sink_smtp_setup(&s, sfd, errstr, sizeof(errstr)) != 0) {
            log_error("start_failed", errstr);
            goto out;
        }
    }
    s.ev_sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s);
    s.ev_sigint = evsignal_new(s.base, SIGINT, on_signal, &s);
    if (s.ev_sigterm == NULL || s.ev_sigint == NULL || event_add(s.ev_sigterm, NULL) != 0 ||
        event_add(s.ev_sigint, NULL) != 0) {
        log_error("start_failed", "signal events");
        goto out;
    }
    /* SMTP's file first: whoever waits for --ready-file finds both */
    if (conf.smtp_ready_file != NULL &&
        write_port_file(conf.smtp_ready_file, s.smtp_port, errstr, sizeof(errstr)) != 0) {
        log_error("start_failed", errstr);
        goto out;
    }
    if (conf.ready_file != NULL &&
        write_port_file(conf.ready_file, s.port, errstr, sizeof(errstr)) != 0) {
        log_error("start_failed", errstr);
        goto out;
    }
    listening_fields(&s, fields, sizeof(fields));
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
    sink_smtp_cleanup(&s);
    sink_fcm_cleanup(&s);
    sink_rate_cleanup(&s.rate);
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
