/* mpcheck.h: a bounds check of msgpack bytes before msgpack-c sees them.
 * msgpack-c allocates a container's storage from its declared length, so a
 * five-byte record claiming 2^32 elements would make it allocate gigabytes
 * (found by tests/fuzz/fuzz_records.c). This walk refuses any container
 * that declares more elements than bytes remain, and nesting deeper than
 * QC_MP_MAX_DEPTH. */
#ifndef QC_MPCHECK_H
#define QC_MPCHECK_H

#include <stddef.h>

#define QC_MP_MAX_DEPTH 32

/** @returns 0 if @p buf starts with one well-formed msgpack object whose
 *  containers fit in @p len, else QC_ERR_PARSE. */
int qc_mp_check(const char *buf, size_t len);

#endif
