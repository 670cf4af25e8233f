/* The segmentation formulas of sizing.h. */
#include "qctest.h"
#include "qc/clock.h"
#include "qc/sizing.h"

static void test_sizes(void)
{
    qc_sizing_t s = qc_sizing_compute(0, 0);
    CHECK_INT(s.segment_size, 256);
    CHECK_INT(s.chunk, 64);
    CHECK_INT(s.dispatchers, 1);
    s = qc_sizing_compute(100000, 2); /* 100000/32 = 3125 -> 4096 */
    CHECK_INT(s.segment_size, 4096);
    CHECK_INT(s.chunk, 512);
    s = qc_sizing_compute(10000000, 4);
    CHECK_INT(s.segment_size, 8192);
    CHECK_INT(qc_sizing_max_workers(&s, 0), 1);
    CHECK_INT(qc_sizing_max_workers(&s, 1024), 1);
    CHECK_INT(qc_sizing_max_workers(&s, 1025), 2);
    CHECK_INT(qc_sizing_max_workers(&s, 1000000), 16);
    CHECK_INT(s.chunk % 8, 0);
}

static void test_desired(void)
{
    CHECK_INT(qc_sizing_dispatchers_desired(1000000, 20000, 5, 1), 10);
    CHECK_INT(qc_sizing_dispatchers_desired(1000001, 20000, 5, 1), 11);
    CHECK_INT(qc_sizing_dispatchers_desired(0, 20000, 5, 2), 2);
    CHECK_INT(qc_sizing_dispatchers_desired(100, 0, 5, 1), 1);
}

static void test_iso8601(void)
{
    int64_t ms;
    char buf[32];
    CHECK_INT(qc_iso8601_parse("1977-03-04T19:21:54.1Z", 22, &ms), 0);
    CHECK_INT(ms, 226351314100);
    CHECK_INT(qc_iso8601_format(ms, buf, sizeof buf), 0);
    CHECK_STR(buf, "1977-03-04T19:21:54.100Z");
    CHECK_INT(qc_iso8601_parse("1977-03-04T21:21:54.1+02:00", 27, &ms), 0);
    CHECK_INT(ms, 226351314100);
    CHECK_INT(qc_iso8601_parse("1977-03-04 19:21:54", 19, &ms), 0); /* no zone: UTC */
    CHECK_INT(ms, 226351314000);
    CHECK(qc_iso8601_parse("1977-13-04T19:21:54Z", 20, &ms) != 0);
    CHECK(qc_iso8601_parse("1977-03-04T19:21:54Zjunk", 24, &ms) != 0);
    CHECK_INT(qc_iso8601_format(-1, buf, sizeof buf), 0);
    CHECK_STR(buf, "1969-12-31T23:59:59.999Z");
}

QC_TESTS(QC_CASE(test_sizes), QC_CASE(test_desired), QC_CASE(test_iso8601))
