/* egress.c: the address classifier and allow-list behind webhook egress
 * checks (why and which ranges: egress.h).
 *
 * Every address is handled as 16 bytes: IPv4 as its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d), so one prefix match serves both families and an
 * allow-list entry "127.0.0.0/8" is the prefix ::ffff:127.0.0.0/104. */
#include "qc/egress.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define EGRESS_MAX_CIDRS 64

typedef struct cidr {
    unsigned char a[16];
    unsigned bits; /* of the 16-byte form */
} cidr_t;

struct qc_egress {
    cidr_t allow[EGRESS_MAX_CIDRS];
    size_t nallow;
};

static const unsigned char v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool prefix_match(const unsigned char *a, const unsigned char *p, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, p, whole) != 0)
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (p[whole] & mask);
}

/* A 4-byte IPv4 address's range, or NULL if public. */
static const char *class_v4(const unsigned char a[4])
{
    if (a[0] == 127)
        return "loopback";
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
        return "private";
    if (a[0] == 169 && a[1] == 254)
        return a[2] == 169 && a[3] == 254 ? "metadata" : "link-local";
    if (a[0] == 168 && a[1] == 63 && a[2] == 129 && a[3] == 16)
        return "metadata";
    if (a[0] == 100 && (a[1] & 0xc0) == 64)
        return "shared";
    if (a[0] == 0)
        return "unspecified";
    if (a[0] >= 224 && a[0] < 240)
        return "multicast";
    if (a[0] >= 240)
        return "reserved"; /* 240/4 and 255.255.255.255 */
    if (a[0] == 192 && a[1] == 0 && a[2] == 0)
        return "reserved"; /* IETF protocol assignments */
    if ((a[0] == 192 && a[1] == 0 && a[2] == 2) || (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
        (a[0] == 203 && a[1] == 0 && a[2] == 113))
        return "documentation";
    if (a[0] == 192 && a[1] == 88 && a[2] == 99)
        return "reserved"; /* 6to4 relay anycast, deprecated (RFC 7526) */
    if (a[0] == 198 && (a[1] & 0xfe) == 18)
        return "benchmarking";
    return NULL;
}

/* The IPv4 address an IPv6 address carries in one of the forms of
 * egress.h, into @p v4. @returns false if it carries none. */
static bool embedded_v4(const unsigned char a[16], unsigned char v4[4])
{
    static const unsigned char zero12[12] = { 0 };
    static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
    if (!memcmp(a, v4mapped_prefix, 12) || !memcmp(a, zero12, 12) || !memcmp(a, nat64, 12)) {
        memcpy(v4, a + 12, 4);
        return true;
    }
    if (a[0] == 0x20 && a[1] == 0x02) {
        memcpy(v4, a + 2, 4);
        return true;
    }
    return false;
}

static const char *class_v6(const unsigned char a[16])
{
    static const unsigned char zero15[15] = { 0 };
    unsigned char v4[4];
    if (!memcmp(a, zero15, 15) && (a[15] == 0 || a[15] == 1))
        return a[15] ? "loopback" : "unspecified";
    if (embedded_v4(a, v4))
        return class_v4(v4);
    if (a[0] == 0xff)
        return "multicast";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "link-local";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return "site-local";
    if ((a[0] & 0xfe) == 0xfc)
        return "unique-local";
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return "documentation";
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] < 0x02)
        return "reserved"; /* 2001::/23 */
    if (a[0] == 0x01 && a[1] == 0 && !memcmp(a + 2, zero15, 6))
        return "discard"; /* 100::/64 */
    if (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0 && a[5] == 1)
        return "private"; /* local-use NAT64 */
    if (a[0] < 0x20 || a[0] >= 0x40)
        return "reserved"; /* outside 2000::/3, the global unicast space */
    return NULL;
}

/* @returns false for families other than IPv4 and IPv6. */
static bool to16(const struct sockaddr *sa, unsigned char out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, v4mapped_prefix, 12);
        memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

const char *qc_egress_classify(const struct sockaddr *sa)
{
    unsigned char a[16];
    if (!sa || !to16(sa, a))
        return "unsupported";
    return class_v6(a);
}

static bool allowed(const qc_egress_t *e, const unsigned char a[16])
{
    for (size_t i = 0; e && i < e->nallow; i++)
        if (prefix_match(a, e->allow[i].a, e->allow[i].bits))
            return true;
    return false;
}

static const char *check16(const qc_egress_t *e, const unsigned char a[16])
{
    const char *cls = class_v6(a);
    if (!cls)
        return NULL;
    if (allowed(e, a))
        return NULL;
    /* "::ffff:127.0.0.1" and friends reach the IPv4 address: an IPv4
     * entry covers them. */
    unsigned char v4[4], m[16];
    if (embedded_v4(a, v4)) {
        memcpy(m, v4mapped_prefix, 12);
        memcpy(m + 12, v4, 4);
        if (allowed(e, m))
            return NULL;
    }
    return cls;
}

const char *qc_egress_check(const qc_egress_t *e, const struct sockaddr *sa)
{
    unsigned char a[16];
    if (!sa || !to16(sa, a))
        return "unsupported";
    return check16(e, a);
}

static bool parse_addr(const char *s, unsigned char a[16], bool *v4)
{
    unsigned char b[4];
    if (inet_pton(AF_INET, s, b) == 1) {
        memcpy(a, v4mapped_prefix, 12);
        memcpy(a + 12, b, 4);
        *v4 = true;
        return true;
    }
    *v4 = false;
    return inet_pton(AF_INET6, s, a) == 1;
}

const char *qc_egress_check_str(const qc_egress_t *e, const char *addr)
{
    unsigned char a[16];
    bool v4;
    if (!addr || !parse_addr(addr, a, &v4))
        return "unparsable";
    return check16(e, a);
}

qc_egress_t *qc_egress_new(const char *allow, char *errstr, size_t errstr_size)
{
    qc_egress_t *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    const char *p = allow ? allow : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (!n)
            break;
        char item[64], *slash;
        if (n >= sizeof item) {
            snprintf(errstr, errstr_size, "allow-list entry too long: %.*s", (int)n, p);
            goto fail;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        p += n;
        if (e->nallow == EGRESS_MAX_CIDRS) {
            snprintf(errstr, errstr_size, "allow-list has more than %d entries", EGRESS_MAX_CIDRS);
            goto fail;
        }
        cidr_t *c = &e->allow[e->nallow];
        bool v4;
        long bits = -1;
        if ((slash = strchr(item, '/'))) {
            *slash = '\0';
            char *end;
            bits = strtol(slash + 1, &end, 10);
            if (end == slash + 1 || *end || bits < 0)
                bits = 999; /* reported below */
        }
        if (!parse_addr(item, c->a, &v4)) {
            snprintf(errstr, errstr_size, "allow-list entry is not an address: %s", item);
            goto fail;
        }
        long max = v4 ? 32 : 128;
        if (bits < 0)
            bits = max;
        if (bits > max) {
            snprintf(errstr, errstr_size, "allow-list entry %s: prefix length must be 0..%ld", item, max);
            goto fail;
        }
        c->bits = (unsigned)(v4 ? 96 + bits : bits);
        e->nallow++;
    }
    return e;
fail:
    free(e);
    return NULL;
}

void qc_egress_destroy(qc_egress_t *e)
{
    free(e);
}
