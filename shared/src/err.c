/* err.c: names for qc_err_t. */
#include "qc/err.h"

const char *qc_err2str(int err)
{
    switch ((qc_err_t)err) {
    case QC_OK: return "ok";
    case QC_ERR_INVAL: return "invalid argument";
    case QC_ERR_NOMEM: return "out of memory";
    case QC_ERR_PARSE: return "parse error";
    case QC_ERR_NOTFOUND: return "not found";
    case QC_ERR_FENCED: return "fenced (lease lost)";
    case QC_ERR_TOOBIG: return "too big";
    case QC_ERR_PERMANENT: return "permanent failure";
    case QC_ERR_UNSUPPORTED: return "unsupported";
    case QC_ERR_DONE: return "done";
    case QC_ERR_EGRESS: return "egress refused";
    case QC_ERR_RETRIABLE_: return "retriable";
    case QC_ERR_IO: return "i/o error";
    case QC_ERR_TIMEOUT: return "timeout";
    case QC_ERR_BUSY: return "busy";
    case QC_ERR_RATELIMIT: return "rate limited";
    case QC_ERR_REDIS: return "redis error";
    case QC_ERR_KAFKA: return "kafka error";
    }
    return "unknown error";
}
