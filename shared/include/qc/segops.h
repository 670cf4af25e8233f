/* segops.h: the record steps of the registry scripts on a Redis Cluster.
 *
 * The registry ({reg} slot) and a segment's records ({<seg>} slot) are on
 * different slots, so on a cluster a registry script cannot write or read
 * the records itself. redis.c loads those scripts (qc_script_t with
 * segment steps) wrapped by QC_SEGOPS_WRAP_HEAD/TAIL: lib.lua's seg_set and
 * seg_get then only list the steps, the script answers {ops, reply}, and
 * qc_segops_run() carries the steps out, each on its segment's slot
 * (shared/scripts/seg_op.lua), before handing the reply on. */
#ifndef QC_SEGOPS_H
#define QC_SEGOPS_H

#include <hiredis/hiredis.h>

#include "qc/redis.h"

#define QC_SEGOPS_WRAP_HEAD "\nSEG_OPS = {}\nlocal function qc_body()\n"
#define QC_SEGOPS_WRAP_TAIL "\nend\nlocal qc_out = qc_body()\nreturn {SEG_OPS, qc_out}\n"

/** Runs the steps of a wrapped script's @p answer (an array {ops, reply};
 *  only read, valid until this returns) and then calls @p cb with the reply,
 *  the records read filled in (valid until the callback returns); NULL if a
 *  step was lost or failed; {"conflict"} if a write found another record
 *  than the one expected. */
void qc_segops_run(qc_redis_t *r, const redisReply *answer, qc_redis_cb cb, void *opaque);

#endif
