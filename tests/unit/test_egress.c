/* test_egress.c: the webhook egress classifier and allow-list. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "qc/egress.h"
#include "qctest.h"

/* qc_egress_classify through a real sockaddr, as curl hands them over. */
static const char *cls(const char *addr)
{
    struct sockaddr_in v4 = { .sin_family = AF_INET };
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
    if (inet_pton(AF_INET, addr, &v4.sin_addr) == 1)
        return qc_egress_classify((struct sockaddr *)&v4);
    if (inet_pton(AF_INET6, addr, &v6.sin6_addr) == 1)
        return qc_egress_classify((struct sockaddr *)&v6);
    return "not an address";
}

static void test_classify_v4(void)
{
    static const struct { const char *a, *want; } cases[] = {
        { "127.0.0.1", "loopback" }, { "127.255.255.254", "loopback" },
        { "10.0.0.1", "private" }, { "10.255.255.255", "private" },
        { "172.16.0.1", "private" }, { "172.31.255.255", "private" },
        { "192.168.1.1", "private" },
        { "169.254.169.254", "metadata" }, { "168.63.129.16", "metadata" },
        { "169.254.0.1", "link-local" }, { "169.254.255.255", "link-local" },
        { "100.64.0.1", "shared" }, { "100.127.255.255", "shared" },
        { "100.100.100.200", "shared" }, /* Alibaba's metadata address */
        { "0.0.0.0", "unspecified" }, { "0.1.2.3", "unspecified" },
        { "224.0.0.1", "multicast" }, { "239.255.255.250", "multicast" },
        { "240.0.0.1", "reserved" }, { "255.255.255.255", "reserved" },
        { "192.0.0.8", "reserved" }, { "192.88.99.1", "reserved" },
        { "192.0.2.1", "documentation" }, { "198.51.100.7", "documentation" },
        { "203.0.113.9", "documentation" },
        { "198.18.0.1", "benchmarking" }, { "198.19.255.255", "benchmarking" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(cls(cases[i].a), cases[i].want);
    /* Just outside each range: public. */
    static const char *const pub[] = { "8.8.8.8", "11.0.0.1", "172.15.255.255", "172.32.0.0",
                                       "192.167.255.255", "192.169.0.0", "169.253.255.255",
                                       "169.255.0.0", "100.63.255.255", "100.128.0.0",
                                       "126.255.255.255", "128.0.0.0", "223.255.255.255",
                                       "198.17.255.255", "198.20.0.0", "192.0.1.1", "168.63.129.17",
                                       "1.1.1.1" };
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++)
        if (cls(pub[i]) != NULL) {
            CHECK(!"public address classified");
            fprintf(stderr, "  %s -> %s\n", pub[i], cls(pub[i]));
        }
}

static void test_classify_v6(void)
{
    static const struct { const char *a, *want; } cases[] = {
        { "::1", "loopback" }, { "::", "unspecified" },
        { "::ffff:127.0.0.1", "loopback" }, { "::ffff:10.1.2.3", "private" },
        { "::ffff:169.254.169.254", "metadata" }, { "::127.0.0.1", "loopback" },
        { "64:ff9b::7f00:1", "loopback" }, { "64:ff9b::a9fe:a9fe", "metadata" },
        { "2002:7f00:1::1", "loopback" }, { "2002:c0a8:101::", "private" },
        { "fc00::1", "unique-local" }, { "fd00:ec2::254", "unique-local" },
        { "fdff:ffff::1", "unique-local" },
        { "fe80::1", "link-local" }, { "febf::1", "link-local" }, { "fec0::1", "site-local" },
        { "ff02::1", "multicast" }, { "2001:db8::1", "documentation" },
        { "2001::1", "reserved" }, { "2001:1ff::1", "reserved" }, { "100::1", "discard" },
        { "64:ff9b:1::1", "private" }, { "4000::1", "reserved" }, { "1fff::1", "reserved" }, { "fbff::1", "reserved" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(cls(cases[i].a), cases[i].want);
    static const char *const pub[] = { "2606:4700:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8",
                                       "64:ff9b::808:808", "2002:808:808::1", "2001:200::1",
                                       "3fff:ffff::1" };
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++)
        if (cls(pub[i]) != NULL) {
            CHECK(!"public address classified");
            fprintf(stderr, "  %s -> %s\n", pub[i], cls(pub[i]));
        }
}

static void test_other_families(void)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    CHECK_STR(qc_egress_classify((struct sockaddr *)&un), "unsupported");
    CHECK_STR(qc_egress_classify(NULL), "unsupported");
    CHECK_STR(qc_egress_check(NULL, (struct sockaddr *)&un), "unsupported");
}

static void test_allow_list(void)
{
    char err[128] = "";
    qc_egress_t *none = qc_egress_new("", err, sizeof err);
    CHECK(none != NULL);
    CHECK_STR(qc_egress_check_str(none, "127.0.0.1"), "loopback");
    CHECK(qc_egress_check_str(none, "93.184.216.34") == NULL);
    CHECK_STR(qc_egress_check_str(none, "localhost"), "unparsable");
    /* A NULL policy is an empty allow-list. */
    CHECK_STR(qc_egress_check_str(NULL, "::1"), "loopback");

    qc_egress_t *e = qc_egress_new(" 127.0.0.1/32, ::1 ,10.1.0.0/16,fd00::/8", err, sizeof err);
    CHECK(e != NULL);
    if (!e) {
        fprintf(stderr, "  %s\n", err);
        qc_egress_destroy(none);
        return;
    }
    CHECK(qc_egress_check_str(e, "127.0.0.1") == NULL);
    CHECK_STR(qc_egress_check_str(e, "127.0.0.2"), "loopback");
    CHECK(qc_egress_check_str(e, "::1") == NULL);
    /* mapped, compatible and NAT64 forms match the IPv4 entry */
    CHECK(qc_egress_check_str(e, "::ffff:127.0.0.1") == NULL);
    CHECK(qc_egress_check_str(e, "64:ff9b::7f00:1") == NULL);
    CHECK_STR(qc_egress_check_str(e, "::ffff:127.0.0.2"), "loopback");
    CHECK(qc_egress_check_str(e, "10.1.255.255") == NULL);
    CHECK_STR(qc_egress_check_str(e, "10.2.0.0"), "private");
    CHECK(qc_egress_check_str(e, "fd12::1") == NULL);
    CHECK_STR(qc_egress_check_str(e, "fc12::1"), "unique-local");
    CHECK_STR(qc_egress_check_str(e, "169.254.169.254"), "metadata");
    CHECK(qc_egress_check_str(e, "8.8.8.8") == NULL);
    qc_egress_destroy(e);

    /* 0.0.0.0/0 opens all of IPv4 but nothing of IPv6 */
    e = qc_egress_new("0.0.0.0/0", err, sizeof err);
    CHECK(e && qc_egress_check_str(e, "169.254.169.254") == NULL);
    CHECK(e && qc_egress_check_str(e, "::ffff:10.0.0.1") == NULL);
    CHECK_STR(qc_egress_check_str(e, "fe80::1"), "link-local");
    qc_egress_destroy(e);
    qc_egress_destroy(none);
}

static void test_allow_list_errors(void)
{
    static const char *const bad[] = { "127.0.0.1/33", "::1/129", "localhost", "10.0.0.0/",
                                       "10.0.0.0/x", "10.0.0.0/-1", "10.0.0/8",
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[160] = "";
        qc_egress_t *e = qc_egress_new(bad[i], err, sizeof err);
        CHECK(e == NULL);
        CHECK(err[0] != '\0');
        qc_egress_destroy(e);
    }
    /* more entries than the list holds */
    char many[65 * 12] = "";
    size_t len = 0;
    for (int i = 0; i < 65; i++)
        len += (size_t)snprintf(many + len, sizeof many - len, "10.0.0.%d,", i);
    char err[160] = "";
    CHECK(qc_egress_new(many, err, sizeof err) == NULL);
    CHECK(strstr(err, "more than") != NULL);
}

QC_TESTS(QC_CASE(test_classify_v4), QC_CASE(test_classify_v6), QC_CASE(test_other_families),
         QC_CASE(test_allow_list), QC_CASE(test_allow_list_errors))
