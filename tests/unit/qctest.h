/* qctest.h: the smallest unit-test harness that does the job. A test file
 * defines QC_TESTS(...) listing its test functions; each CHECK failure is
 * printed with file:line and makes the executable exit non-zero. */
#ifndef QC_QCTEST_H
#define QC_QCTEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int qct_failures;
static int qct_checks;

#define CHECK(cond) do { qct_checks++; if (!(cond)) { qct_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_INT(a, b) do { long long qa_ = (long long)(a), qb_ = (long long)(b); qct_checks++; \
    if (qa_ != qb_) { qct_failures++; fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
    __FILE__, __LINE__, #a, qa_, qb_); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double qa_ = (a), qb_ = (b); qct_checks++; \
    if (!(fabs(qa_ - qb_) <= (tol))) { qct_failures++; fprintf(stderr, \
    "%s:%d: %s == %.6f, expected %.6f +- %g\n", __FILE__, __LINE__, #a, qa_, qb_, (double)(tol)); } } while (0)
#define CHECK_STR(a, b) do { const char *qa_ = (a), *qb_ = (b); qct_checks++; \
    if (!qa_ || !qb_ || strcmp(qa_, qb_) != 0) { qct_failures++; fprintf(stderr, \
    "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, qa_ ? qa_ : "(null)", qb_ ? qb_ : "(null)"); } } while (0)

typedef void (*qct_fn)(void);
struct qct_case { const char *name; qct_fn fn; };
#define QC_CASE(f) { #f, f }
#define QC_TESTS(...) \
    int main(void) { \
        static const struct qct_case cases[] = { __VA_ARGS__ }; \
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) { \
            int before = qct_failures; cases[i].fn(); \
            printf("%s %s\n", qct_failures == before ? "ok  " : "FAIL", cases[i].name); } \
        printf("%d checks, %d failed\n", qct_checks, qct_failures); \
        return qct_failures ? 1 : 0; }

#endif
