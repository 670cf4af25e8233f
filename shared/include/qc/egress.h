/* egress.h: which addresses an outgoing connection to a URL someone else
 * gave us (a subscriber's webhook) may reach.
 *
 * A webhook URL is chosen by whoever signs up, so without a check the
 * dispatcher would POST, from inside the cluster, to its own Redis, the
 * Kubernetes API or a cloud metadata service (server-side request
 * forgery). Refusing literal addresses at sign-up is not enough: a name can
 * resolve to 127.0.0.1 today, or only after sign-up. So the address the
 * connection is about to use is checked when the socket is opened
 * (qc_httpc_request_egress), after name resolution, and refused unless it is
 * a public unicast address or lies in the operator's allow-list.
 *
 * Ranges refused, from the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries (RFC 6890 and its updates):
 *   IPv4: 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10 (shared/CGNAT, RFC 6598),
 *     127.0.0.0/8, 169.254.0.0/16 (link-local; 169.254.169.254 is the cloud
 *     metadata service), 172.16.0.0/12, 192.0.0.0/24, 192.0.2.0/24,
 *     192.88.99.0/24, 192.168.0.0/16, 198.18.0.0/15, 198.51.100.0/24,
 *     203.0.113.0/24, 224.0.0.0/4 (multicast), 240.0.0.0/4 and broadcast;
 *     and 168.63.129.16, Azure's platform (metadata) address, public space.
 *   IPv6: ::/128, ::1/128, 100::/64 (discard), 2001::/23 (IETF protocol
 *     assignments, Teredo), 2001:db8::/32, fc00::/7 (unique local, RFC
 *     4193; AWS's IPv6 metadata fd00:ec2::254 is in it), fe80::/10
 *     (link-local), fec0::/10 (old site-local, RFC 3879), ff00::/8,
 *     64:ff9b:1::/48 (local-use NAT64, RFC 8215).
 *   Forms that carry an IPv4 address are judged by that address:
 *     ::ffff:0:0/96 (mapped, RFC 4291 §2.5.5.2), ::/96 (compatible, same
 *     section, deprecated), 64:ff9b::/96 (NAT64, RFC 6052) and 2002::/16
 *     (6to4, RFC 3056: bits 16-47).
 */
#ifndef QC_EGRESS_H
#define QC_EGRESS_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
typedef struct qc_egress qc_egress_t;

/** The special range @p sa (AF_INET or AF_INET6) lies in: a static name
 *  ("loopback", "private", "link-local", "metadata", "shared", "multicast",
 *  "reserved", "unspecified", "documentation", "unique-local", ...), or
 *  NULL for a public unicast address. Other families: "unsupported". */
const char *qc_egress_classify(const struct sockaddr *sa);

/** Parses @p allow, a comma-separated list of CIDRs ("127.0.0.0/8,
 *  ::1/128", spaces allowed, "" = none; a bare address is a /32 or /128).
 *  @returns a policy, or NULL with the reason in @p errstr. Caller frees
 *  with qc_egress_destroy(). */
qc_egress_t *qc_egress_new(const char *allow, char *errstr, size_t errstr_size);
void qc_egress_destroy(qc_egress_t *e);

/** NULL if a connection to @p sa may go ahead (public, or allow-listed),
 *  else the name of the refused range (see qc_egress_classify). An IPv4
 *  address in one of the IPv6 forms above is matched against IPv4 entries
 *  of the allow-list too. */
const char *qc_egress_check(const qc_egress_t *e, const struct sockaddr *sa);

/** As qc_egress_check for a numeric address string ("127.0.0.1", "::1"); a
 *  string that is not an address is refused as "unparsable". */
const char *qc_egress_check_str(const qc_egress_t *e, const char *addr);

#endif
