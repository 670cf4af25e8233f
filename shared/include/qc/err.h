/* err.h: the one error enum of quakecast.
 *
 * Actions return 0 (QC_OK) or a negative qc_err_t. Retriable errors (the
 * caller may try the same thing again later) are kept apart from permanent
 * ones so callers can decide with qc_err_retriable(). */
#ifndef QC_ERR_H
#define QC_ERR_H

#include <stdbool.h>

typedef enum qc_err {
    QC_OK = 0,
    /* permanent */
    QC_ERR_INVAL = -1,      /**< bad argument or input */
    QC_ERR_NOMEM = -2,      /**< allocation failed */
    QC_ERR_PARSE = -3,      /**< input does not parse */
    QC_ERR_NOTFOUND = -4,   /**< no such object */
    QC_ERR_FENCED = -5,     /**< our lease/fencing token is no longer valid */
    QC_ERR_TOOBIG = -6,     /**< input over a configured limit */
    QC_ERR_PERMANENT = -7,  /**< provider refused for good */
    QC_ERR_UNSUPPORTED = -8,/**< format/version we do not handle */
    QC_ERR_DONE = -9,       /**< nothing left to do (not a failure) */
    QC_ERR_EGRESS = -10,    /**< destination address refused by the egress policy */
    /* retriable: everything at or below QC_ERR_RETRIABLE_ */
    QC_ERR_RETRIABLE_ = -100,
    QC_ERR_IO = -101,       /**< network or socket failure */
    QC_ERR_TIMEOUT = -102,  /**< deadline passed */
    QC_ERR_BUSY = -103,     /**< all lease slots taken; try later */
    QC_ERR_RATELIMIT = -104,/**< provider asked us to slow down */
    QC_ERR_REDIS = -105,    /**< Redis error reply or lost connection */
    QC_ERR_KAFKA = -106,    /**< Kafka client error */
} qc_err_t;

/** @returns a static, human-readable name for @p err. */
const char *qc_err2str(int err);

/** @returns true if retrying the same operation later may succeed. */
static inline bool qc_err_retriable(int err) { return err <= QC_ERR_RETRIABLE_; }

#endif
