/* cap_write.h: an alert revision as an OASIS CAP 1.2 message (the writer;
 * cap.c is the reader). */
#ifndef QC_CAP_WRITE_H
#define QC_CAP_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qc/event.h"
#include "qc/ipe.h"
#include "qc/msg.h"

typedef struct qc_cap_msg {
    const char *alert_id;
    int rev;
    qc_job_kind_t kind;          /* Alert, Update or Cancel */
    const qc_event_t *ev;
    int64_t sent_ms, expires_ms;
    const char *sender;          /* CAP <sender>: unique per issuing system */
    const char *sender_name;
    const char *references;      /* "sender,identifier,sent ..." of earlier revisions, or NULL */
    bool exercise;               /* a drill: status Exercise */
    qc_ipe_model_t model;        /* the intensity model the alert was decided with */
    const char *regime;          /* its tectonic regime (qc_regime_name), or NULL */
} qc_cap_msg_t;
/** @returns the XML (malloc'd, caller frees) and its length, or NULL. */
char *qc_cap_build(const qc_cap_msg_t *m, size_t *len);
/** The CAP identifier of an alert revision ("quakecast-<alert>-<rev>"). */
void qc_cap_identifier(const char *alert_id, int rev, char *out, size_t outsz);
/** A CAP dateTime of Unix ms @p ms, in UTC written "+00:00" (CAP 1.2
 *  section 3.3.2 forbids "Z"). */
void qc_cap_time(int64_t ms, char *out, size_t outsz);


#endif
