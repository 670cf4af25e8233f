/* feedtest.h: what the feed parser tests share: reading a test document
 * into a buffer of exactly its size (so an over-read shows under ASan),
 * checking every field of a parsed event against the expected one, and
 * checking that a document is refused with the expected reason. Include
 * after qctest.h. */
#ifndef QC_FEEDTEST_H
#define QC_FEEDTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds.h"
#include "qc/err.h"
#include "qc/event.h"

typedef int (*ft_parse_fn)(const char *buf, size_t len, qc_event_t **out, size_t *n,
                           char *errstr, size_t errstr_size);

/* One expected event: its document (a file name under the test's data
 * folder) and index in it, and every field. */
typedef struct ft_expect {
    const char *file;
    size_t index;
    const char *id, *source;
    int64_t origin_ms;
    double lat, lon, depth_km;
    bool has_mag;
    double mag;
    const char *mag_type, *type;
    qc_event_status_t status;
    int64_t version;
    const char *place;
    bool test;
    const char *references;
} ft_expect_t;

/* Reads a whole file into a malloc'd buffer of exactly its size, without a
 * terminating NUL. Caller frees. */
static inline char *ft_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out_file;
    buf = malloc(size > 0 ? (size_t)size : 1);
    if (!buf)
        goto out_file;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out_file;
    }
    *len = (size_t)size;
out_file:
    fclose(f);
    return buf;
}

/* Parses @p dir/@p file. @returns the parser's result; 0 with *n events
 * at *evs (caller frees), or the error with its reason in @p err. */
static inline int ft_parse_file(ft_parse_fn parse, const char *dir, const char *file, qc_event_t **evs,
                         size_t *n, char *err, size_t err_size)
{
    char path[512];
    size_t len = 0;
    char *buf;
    int rc;

    snprintf(path, sizeof(path), "%s%s", dir, file);
    buf = ft_read_file(path, &len);
    if (!buf) {
        snprintf(err, err_size, "cannot read %s", path);
        return QC_ERR_IO;
    }
    rc = parse(buf, len, evs, n, err, err_size);
    free(buf);
    return rc;
}

/* Parses the NUL-terminated @p doc copied into a buffer of exactly its
 * length (no NUL after it). */
static inline int ft_parse_str(ft_parse_fn parse, const char *doc, qc_event_t **evs, size_t *n,
                        char *err, size_t err_size)
{
    size_t len = strlen(doc);
    char *copy = malloc(len ? len : 1);
    int rc;

    if (!copy)
        return QC_ERR_NOMEM;
    memcpy(copy, doc, len);
    rc = parse(copy, len, evs, n, err, err_size);
    free(copy);
    return rc;
}

/* Checks every field of @p ev against @p x. */
static inline void ft_check_event(const qc_event_t *ev, const ft_expect_t *x)
{
    int before = qct_failures;

    CHECK_STR(ev->id, x->id);
    CHECK_STR(ev->source, x->source);
    CHECK_INT(ev->origin_ms, x->origin_ms);
    CHECK_NEAR(ev->lat, x->lat, 1e-9);
    CHECK_NEAR(ev->lon, x->lon, 1e-9);
    CHECK_NEAR(ev->depth_km, x->depth_km, 1e-9);
    CHECK_INT(ev->has_mag, x->has_mag);
    if (x->has_mag)
        CHECK_NEAR(ev->mag, x->mag, 1e-9);
    CHECK_STR(ev->mag_type, x->mag_type);
    CHECK_STR(ev->type, x->type);
    CHECK_INT(ev->status, x->status);
    CHECK_INT(ev->version, x->version);
    CHECK_STR(ev->place, x->place);
    CHECK_INT(ev->test, x->test);
    CHECK_STR(ev->references, x->references ? x->references : "");
    if (qct_failures != before)
        fprintf(stderr, "  ^ in %s, event %zu (%s)\n", x->file, x->index, x->id);
}

/* Parses every file named in @p x (entries of one file together, in event
 * order) and checks that each has exactly the events listed, with the
 * values listed. */
static inline void ft_check_files(ft_parse_fn parse, const char *dir, const ft_expect_t *x, size_t nx)
{
    size_t i = 0;

    while (i < nx) {
        const char *file = x[i].file;
        size_t nfile = 0;
        qc_event_t *evs = NULL;
        size_t n = 0;
        char err[256] = "";
        int rc;

        while (i + nfile < nx && strcmp(x[i + nfile].file, file) == 0)
            nfile++;
        rc = ft_parse_file(parse, dir, file, &evs, &n, err, sizeof(err));
        if (rc)
            fprintf(stderr, "  %s: %s\n", file, err);
        CHECK_INT(rc, 0);
        if (n != nfile)
            fprintf(stderr, "  %s: %zu events, expected %zu\n", file, n, nfile);
        CHECK_INT(n, nfile);
        for (size_t k = 0; k < nfile && k < n; k++) {
            CHECK_INT(x[i + k].index, k);
            ft_check_event(&evs[k], &x[i + k]);
        }
        free(evs);
        i += nfile;
    }
}

/* Checks that @p rc, @p evs, @p n and @p err are those of a refusal with
 * @p want and a reason containing @p reason. */
static inline void ft_check_refused(int rc, qc_event_t *evs, size_t n, const char *err, int want,
                             const char *reason, const char *what)
{
    int before = qct_failures;

    CHECK_INT(rc, want);
    CHECK(evs == NULL);
    CHECK_INT(n, 0);
    CHECK(strstr(err, reason) != NULL);
    if (qct_failures != before)
        fprintf(stderr, "  ^ %s: reason \"%s\", expected \"%s\"\n", what, err, reason);
    free(evs);
}

/* Expects the file @p dir/@p file to be refused. */
static inline void ft_refuse_file(ft_parse_fn parse, const char *dir, const char *file, int want,
                           const char *reason)
{
    qc_event_t *evs = NULL;
    size_t n = 99;
    char err[256] = "";
    int rc = ft_parse_file(parse, dir, file, &evs, &n, err, sizeof(err));

    ft_check_refused(rc, evs, n, err, want, reason, file);
}

/* Expects the document @p doc to be refused. */
static inline void ft_refuse_str(ft_parse_fn parse, const char *doc, int want, const char *reason)
{
    qc_event_t *evs = NULL;
    size_t n = 99;
    char err[256] = "";
    int rc = ft_parse_str(parse, doc, &evs, &n, err, sizeof(err));

    ft_check_refused(rc, evs, n, err, want, reason, doc);
}

/* Parses @p doc, expecting exactly one event; copies it to @p ev.
 * @returns true if so. */
static inline bool ft_parse_one(ft_parse_fn parse, const char *doc, qc_event_t *ev)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = ft_parse_str(parse, doc, &evs, &n, err, sizeof(err));

    if (rc)
        fprintf(stderr, "  unexpected refusal: %s\n", err);
    CHECK_INT(rc, 0);
    CHECK_INT(n, 1);
    if (rc == 0 && n == 1)
        *ev = evs[0];
    free(evs);
    return rc == 0 && n == 1;
}

#endif
