/* qc-kafka-put: produces stdin, as one record, to a topic, for the system
 * tests that feed processes records they must survive. Test tool only. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qc/kafka.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: qc-kafka-put BOOTSTRAP TOPIC [KEY] < value\n");
        return 2;
    }
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, stdin);
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) ||
        qc_kafka_conf_from_env(conf, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const char *key = argc > 3 ? argv[3] : "test";
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_KEY(key, strlen(key)),
                                              RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              RD_KAFKA_V_END);
    int rc = 0;
    if (e || rd_kafka_flush(rk, 10000)) {
        fprintf(stderr, "produce failed: %s\n", rd_kafka_err2str(e));
        rc = 1;
    }
    rd_kafka_destroy(rk);
    return rc;
}
