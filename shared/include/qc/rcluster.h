/* rcluster.h: Redis Cluster routing on a libevent loop (hiredis async).
 *
 * Redis Cluster splits the key space into 16384 hash slots; each slot is
 * served by one primary. A key's slot is CRC16 (the XMODEM variant:
 * polynomial 0x1021, initial value 0, no reflection) of the key, modulo
 * 16384; if the key holds a "{...}" with at least one byte between the
 * first '{' and the first '}' after it, only those bytes are hashed (the
 * hash tag), which is how keys that must meet in one script share a slot.
 * Source: the Redis Cluster specification, "Key distribution model" and
 * "Hash tags" (https://redis.io/docs/latest/operate/oss_and_stack/reference/
 * cluster-spec/), and its reference answer CRC16("123456789") = 0x31C3.
 *
 * A node that does not serve a slot answers "-MOVED <slot> <host>:<port>"
 * (the slot lives there now: update the map) or, while a slot migrates,
 * "-ASK <slot> <host>:<port>" (for this one command: send ASKING to that
 * node, then the command, and keep the map), spec "Redirection and
 * resharding". The slot map comes from CLUSTER SLOTS (array of [start,
 * end, [host, port, id, ...] primary, replicas...]).
 *
 * The client keeps one connection per primary, routes each command to the
 * primary of its first key's slot, follows MOVED (at most
 * QC_RCLUSTER_MAX_REDIRECTS times) and ASK, and reloads the map after a
 * MOVED, a lost connection or CLUSTERDOWN, and then every 500 ms while a
 * mapped primary is unreachable, until a failover has promoted a replica. */
#ifndef QC_RCLUSTER_H
#define QC_RCLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "qc/redis.h"

struct event_base;
typedef struct qc_rcluster qc_rcluster_t;

#define QC_RCLUSTER_SLOTS 16384
#define QC_RCLUSTER_MAX_REDIRECTS 5
#define QC_RCLUSTER_HOST_MAX 64

/* ---- pure parts -------------------------------------------------------- */

/** CRC16/XMODEM of @p len bytes. */
uint16_t qc_rcluster_crc16(const char *buf, size_t len);

/** The hash slot of key @p key (@p len bytes), hash tags applied. */
unsigned qc_rcluster_keyslot(const char *key, size_t len);

typedef struct qc_rcluster_redirect {
    bool ask;                        /**< ASK (else MOVED) */
    unsigned slot;
    char host[QC_RCLUSTER_HOST_MAX]; /**< "" when the server sent none (":port"): the
                                          host of the node that answered */
    int port;
} qc_rcluster_redirect_t;

/** Parses an error reply's text ("MOVED 3999 127.0.0.1:6381", "ASK ...";
 *  IPv6 hosts as "::1:6381": the port follows the last colon).
 *  @returns true if it is a well-formed redirect. */
bool qc_rcluster_parse_redirect(const char *err, size_t len, qc_rcluster_redirect_t *out);

typedef struct qc_rcluster_range {
    unsigned start, end;             /**< inclusive */
    char host[QC_RCLUSTER_HOST_MAX];
    int port;
} qc_rcluster_range_t;

/** Reads the primaries out of a CLUSTER SLOTS reply into @p out (at most
 *  @p max ranges). @returns the number of ranges, or -1 if the reply is
 *  malformed (wrong types, slots out of range, start > end, too many). */
int qc_rcluster_parse_slots(const redisReply *reply, qc_rcluster_range_t *out, size_t max);

/** The slot a command is routed by: its first key's. EVAL/EVALSHA/FCALL:
 *  argv[3] when numkeys > 0; commands without keys (PING, SCRIPT LOAD,
 *  EVAL with 0 keys): -1 (any primary). Others: argv[1]. */
int qc_rcluster_command_slot(int argc, const char **argv, const size_t *argvlen);

/* ---- the client -------------------------------------------------------- */

/** Called from the loop when the client becomes able to route every slot
 *  (a complete map was loaded) or stops being able to. */
typedef void (*qc_rcluster_state_cb)(qc_rcluster_t *c, bool up, void *opaque);

/** Starts a client from @p seeds ("host:port[,host:port...]", optionally
 *  prefixed "redis-cluster://" as deploy/local/stack prints it, or a
 *  "redis://host:port" URL): it asks the seeds for the slot map at once
 *  and connects to every primary. @returns NULL with @p errstr set on bad
 *  seeds. Every node connection presents @p auth first (copied; NULL or
 *  off: none). Caller frees with qc_rcluster_destroy(). */
qc_rcluster_t *qc_rcluster_new(struct event_base *base, const char *seeds, const qc_redis_auth_t *auth,
                               qc_rcluster_state_cb state_cb, void *opaque, char *errstr, size_t errstr_size);
/** Closes every connection; pending callbacks get NULL replies. NULL ok.
 *  Not from inside one of its callbacks. */
void qc_rcluster_destroy(qc_rcluster_t *c);
/** A complete slot map is loaded. */
bool qc_rcluster_up(const qc_rcluster_t *c);

/** Sends a command (argv form, copied) to the primary of its slot
 *  (qc_rcluster_command_slot), following redirects. @p cb gets the final
 *  reply (an error reply such as CLUSTERDOWN or TRYAGAIN is passed on), or
 *  NULL when the connection it was sent on was lost: its effect is then
 *  unknown. @returns 0, or QC_ERR_REDIS when no map is loaded yet or the
 *  slot's primary cannot be reached now (@p cb is then not called). */
int qc_rcluster_argv(qc_rcluster_t *c, qc_redis_cb cb, void *opaque, int argc, const char **argv,
                     const size_t *argvlen);
/** As qc_rcluster_argv, routed by @p slot (-1: any primary). */
int qc_rcluster_argv_slot(qc_rcluster_t *c, int slot, qc_redis_cb cb, void *opaque, int argc,
                          const char **argv, const size_t *argvlen);

typedef struct qc_rcluster_stats {
    unsigned long moved, ask;        /**< redirects followed */
    unsigned long refreshes;         /**< slot maps loaded */
    unsigned long lost;              /**< replies lost with a connection */
    int primaries;                   /**< distinct primaries in the current map */
} qc_rcluster_stats_t;

void qc_rcluster_stats(const qc_rcluster_t *c, qc_rcluster_stats_t *out);

/** "host:port" of the primary currently mapped for @p slot, or NULL. */
const char *qc_rcluster_slot_node(const qc_rcluster_t *c, unsigned slot);

#endif
