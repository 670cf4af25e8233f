/* sizing.h: the automatic segmentation of the original design, as pure
 * functions of the subscriber count and the number of live dispatchers.
 *
 *   S (segment size)  = clamp(pow2ceil(N / (16 D)), 256, 8192)
 *   C (chunk size)    = clamp(S / 8, 64, 512), a multiple of 8
 *   max_workers(seg)  = clamp(ceil(len / 2C), 1, 4 D)
 *
 * Why: 16 segments per dispatcher keeps every dispatcher busy and the
 * nearest-first order fine-grained; 256..8192 bounds per-segment planning
 * cost (one run_init and a few jobs) and the size of one segment's list.
 * A chunk is what one round trip reads and marks: 1/8 of a segment lets
 * eight workers share one segment, 512 records (~60 KB) keeps a reply small
 * and bounds duplicates after a crash (in-flight bound = 2 C per job). A
 * worker per two chunks, at most four per dispatcher, so a segment is never
 * split thinner than its chunks. S only applies to segments created from
 * now on: existing ones keep their size, so the base can grow without
 * stopping dispatch. */
#ifndef QC_SIZING_H
#define QC_SIZING_H

typedef struct qc_sizing {
    long segment_size;  /**< S */
    long chunk;         /**< C */
    long dispatchers;   /**< D used */
} qc_sizing_t;

/** @p subscribers and @p dispatchers below 1 count as 1. */
qc_sizing_t qc_sizing_compute(long subscribers, long dispatchers);
/** Lease holders allowed on a segment run of @p len records. */
long qc_sizing_max_workers(const qc_sizing_t *s, long len);
/** Dispatchers needed to hand off @p subscribers within @p target_s seconds
 *  at @p per_dispatcher_rate hand-offs per second, at least @p min. */
long qc_sizing_dispatchers_desired(long subscribers, double per_dispatcher_rate,
                                   double target_s, long min);

#endif
