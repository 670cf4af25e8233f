/* config.h: configuration as one declarative table per binary (name, type,
 * default, bounds, help), from which parsing, validation, --help and the
 * README table all come. Values come from QUAKECAST_* environment variables;
 * a secret may instead come from a file named by <NAME>_FILE (Kubernetes
 * Secrets mounted as files). */
#ifndef QC_CONFIG_H
#define QC_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum qc_conf_type { QC_CONF_STR, QC_CONF_INT, QC_CONF_DOUBLE, QC_CONF_BOOL } qc_conf_type_t;

#define QC_CONF_SECRET 0x1u /**< value may come from NAME_FILE; never printed */

typedef struct qc_conf_def {
    const char *name;     /**< environment variable, e.g. "QUAKECAST_HTTP_PORT" */
    qc_conf_type_t type;
    const char *def;      /**< default, as text ("" for none) */
    double min, max;      /**< bounds for INT and DOUBLE (ignored when min > max) */
    size_t offset;        /**< offsetof() the field in the target struct:
                               char * for STR (owned, freed by qc_conf_free),
                               long for INT, double for DOUBLE, int for BOOL */
    unsigned flags;
    const char *help;
} qc_conf_def_t;

/** Fills @p target from the environment using @p defs (terminated by a
 *  zeroed entry). @returns 0, or QC_ERR_INVAL with the key named in errstr. */
int qc_conf_load(const qc_conf_def_t *defs, void *target, char *errstr, size_t errstr_size);
/** Frees the strings qc_conf_load stored in @p target. */
void qc_conf_free(const qc_conf_def_t *defs, void *target);
/** Prints "NAME (type, default X): help" lines. */
void qc_conf_print_help(FILE *out, const qc_conf_def_t *defs);
/** Reads a secret from the file @p path (at most 4096 bytes, trailing
 *  newlines dropped); @p name names the setting in errors ("<name>_FILE:
 *  ..."). @returns the text (caller frees), or NULL with errstr set. */
char *qc_conf_read_secret_file(const char *path, const char *name, char *errstr, size_t errstr_size);
/** Prints the table as Markdown rows for the README. */
void qc_conf_print_markdown(FILE *out, const qc_conf_def_t *defs);

#endif
