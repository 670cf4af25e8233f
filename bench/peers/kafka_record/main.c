/* main.c: qc-bench-kafka-record, the kafka-record peer of bench/run.
 *
 *   qc-bench-kafka-record create  --bootstrap B --topic T --partitions P
 *   qc-bench-kafka-record produce --bootstrap B --topic T --input FILE
 *   qc-bench-kafka-record consume --bootstrap B --topic T --group G
 *        --alert-id A --event-id E --mag M --lat LAT --lon LON --depth D
 *        --origin-ms MS [--ready-file F] [--instance NAME]
 *        [--max-sends 128] [--connections 64] [--max-attempts 8]
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kr.h"

volatile sig_atomic_t kr_stop;

static void on_signal(int sig)
{
    (void)sig;
    kr_stop = 1;
}

int kr_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka-record: %s=%s: %s\n", key, value, errstr);
        return -1;
    }
    return 0;
}

static int parse_num(const char *name, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) {
        fprintf(stderr, "kafka-record: %s: not a number: %s\n", name, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: qc-bench-kafka-record create|produce|consume --bootstrap B --topic T "
                    "[options] (see main.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *mode = argv[1];
    kr_opts_t o = { .bootstrap = "127.0.0.1:9092", .instance = "kafka-record", .partitions = 32,
                    .max_sends = 128, .connections = 64, .max_attempts = 8, .event_id = "bench" };
    for (int i = 2; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double num = 0;
        if (!v)
            return usage();
        if (!strcmp(k, "--bootstrap"))
            o.bootstrap = v;
        else if (!strcmp(k, "--topic"))
            o.topic = v;
        else if (!strcmp(k, "--group"))
            o.group = v;
        else if (!strcmp(k, "--input"))
            o.input = v;
        else if (!strcmp(k, "--ready-file"))
            o.ready_file = v;
        else if (!strcmp(k, "--instance"))
            o.instance = v;
        else if (!strcmp(k, "--alert-id"))
            o.alert_id = v;
        else if (!strcmp(k, "--event-id"))
            o.event_id = v;
        else if (parse_num(k, v, &num))
            return 2;
        else if (!strcmp(k, "--mag"))
            o.mag = num;
        else if (!strcmp(k, "--lat"))
            o.lat = num;
        else if (!strcmp(k, "--lon"))
            o.lon = num;
        else if (!strcmp(k, "--depth"))
            o.depth_km = num;
        else if (!strcmp(k, "--origin-ms"))
            o.origin_ms = (int64_t)num;
        else if (!strcmp(k, "--partitions") && num >= 1 && num <= 10000)
            o.partitions = (int)num;
        else if (!strcmp(k, "--max-sends") && num >= 1 && num <= 100000)
            o.max_sends = (int)num;
        else if (!strcmp(k, "--connections") && num >= 1 && num <= 10000)
            o.connections = (int)num;
        else if (!strcmp(k, "--max-attempts") && num >= 1 && num <= 1000)
            o.max_attempts = (int)num;
        else {
            fprintf(stderr, "kafka-record: unknown option or bad value: %s %s\n", k, v);
            return 2;
        }
    }
    if (!o.topic)
        return usage();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc;
    if (!strcmp(mode, "create"))
        rc = kr_create(&o);
    else if (!strcmp(mode, "produce"))
        rc = o.input ? kr_produce(&o) : usage();
    else if (!strcmp(mode, "consume")) {
        if (!o.group || !o.alert_id)
            return usage();
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return 1;
        rc = kr_consume(&o);
        curl_global_cleanup();
    } else
        return usage();
    return rc ? 1 : 0;
}
