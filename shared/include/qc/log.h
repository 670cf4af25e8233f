/* log.h: one JSON object per line on stderr: ts, level, component, event,
 * then fields. No personal data: use qc_mask_* for anything a person owns. */
#ifndef QC_LOG_H
#define QC_LOG_H

#include <stddef.h>

typedef enum qc_log_level { QC_LOG_DEBUG, QC_LOG_INFO, QC_LOG_WARN, QC_LOG_ERROR } qc_log_level_t;

/** Sets the process's component name ("processor") and minimum level.
 *  Called once at start-up, before any thread starts. */
void qc_log_init(const char *component, qc_log_level_t min_level);
/** Parses "debug|info|warn|error". @returns 0 or QC_ERR_INVAL. */
int qc_log_level_parse(const char *s, qc_log_level_t *out);

/** Logs @p event with key/value string pairs, NULL-terminated:
 *  qc_log(QC_LOG_WARN, "import_rejected", "line", "3", "error", msg, NULL); */
void qc_log(qc_log_level_t level, const char *event, ...) __attribute__((sentinel));

/** Masks a phone number or e-mail address for logs ("+4071****678",
 *  "a***@example.org"). Writes at most @p outsz bytes, always NUL-terminated. */
void qc_mask_pii(const char *s, char *out, size_t outsz);

#endif
