/* Kafka messages: round trips and refusal of bad records. */
#include <math.h>

#include "qctest.h"
#include "qc/msg.h"

static void test_job_round_trip(void)
{
    qc_msg_job_t j = { .slot = 3, .rev = 2, .kind = QC_JOB_UPDATE, .lat = 45.77, .lon = 26.76,
                       .depth_km = 94, .mag = 7.4, .prev_mag = 6.9, .origin_ms = 226351314100,
                       .deadline_ms = 226351914100, .issued_ms = 5, .due_ms = 226351358300, .slow = true,
                       .slow_ch = 3 /* QC_CH_SMS */ };
    snprintf(j.alert_id, sizeof j.alert_id, "a17");
    snprintf(j.seg, sizeof j.seg, "45");
    snprintf(j.place, sizeof j.place, "Vrancea");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_msg_job_pack(&j, &sb), 0);
    qc_msg_job_t b;
    char err[128];
    CHECK_INT(qc_msg_job_unpack(sb.data, sb.size, &b, err, sizeof err), 0);
    CHECK_STR(b.alert_id, "a17");
    CHECK_STR(b.seg, "45");
    CHECK_INT(b.slot, 3);
    CHECK_INT(b.rev, 2);
    CHECK_INT(b.kind, QC_JOB_UPDATE);
    CHECK_NEAR(b.prev_mag, 6.9, 1e-12);
    CHECK_INT(b.origin_ms, 226351314100);
    CHECK_INT(b.due_ms, 226351358300);
    CHECK(b.slow);
    CHECK_INT(b.slow_ch, 3);
    for (size_t n = 0; n < sb.size; n++)
        CHECK(qc_msg_job_unpack(sb.data, n, &b, err, sizeof err) != 0);
    msgpack_sbuffer_destroy(&sb);
    /* not slow: no lane, whatever the field held */
    j.slow = false;
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_msg_job_pack(&j, &sb), 0);
    CHECK_INT(qc_msg_job_unpack(sb.data, sb.size, &b, err, sizeof err), 0);
    CHECK(!b.slow);
    CHECK_INT(b.slow_ch, -1);
    msgpack_sbuffer_destroy(&sb);
}

static void test_event_round_trip(void)
{
    qc_msg_event_t m = { .received_ms = 42, .replay = true };
    snprintf(m.ev.id, sizeof m.ev.id, "us7000abcd");
    snprintf(m.ev.source, sizeof m.ev.source, "us");
    m.ev.lat = 1.5;
    m.ev.lon = -2.5;
    m.ev.depth_km = -0.3;
    m.ev.has_mag = false;
    m.ev.test = true;
    snprintf(m.ev.references, sizeof m.ev.references, "trinet@caltech.edu,TRI1.1,2003-06-11T20:30:00-07:00");
    snprintf(m.corr, sizeof m.corr, "c1");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_msg_event_pack(&m, &sb), 0);
    qc_msg_event_t b;
    char err[128];
    CHECK_INT(qc_msg_event_unpack(sb.data, sb.size, &b, err, sizeof err), 0);
    CHECK_STR(b.ev.id, "us7000abcd");
    CHECK(!b.ev.has_mag);
    CHECK(b.replay);
    CHECK_NEAR(b.ev.depth_km, -0.3, 1e-12);
    CHECK_STR(b.corr, "c1");
    CHECK(b.ev.test);
    CHECK_STR(b.ev.references, "trinet@caltech.edu,TRI1.1,2003-06-11T20:30:00-07:00");
    msgpack_sbuffer_destroy(&sb);
}

static void test_garbage(void)
{
    char err[128];
    qc_msg_job_t j;
    qc_msg_event_t e;
    qc_msg_dlq_t d;
    const char *bad[] = { "", "\xc1\xc1", "\x81\xa1v\x05", "\x90", "\x81\xa1v\x01" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i]);
        CHECK(qc_msg_job_unpack(bad[i], n, &j, err, sizeof err) != 0);
        CHECK(qc_msg_event_unpack(bad[i], n, &e, err, sizeof err) != 0);
        CHECK(qc_msg_dlq_unpack(bad[i], n, &d, err, sizeof err) != 0);
        qc_msg_notice_t no;
        CHECK(qc_msg_notice_unpack(bad[i], n, &no, err, sizeof err) != 0);
        CHECK(err[0] != '\0');
    }
    CHECK(qc_msg_job_unpack(NULL, 0, &j, err, sizeof err) != 0);
}

/* quake.notices (issue 6): the record travels as bytes, NULs included. */
static void test_notice_round_trip(void)
{
    static const char rec[] = { (char)0x97, 0x01, 0x00, (char)0xca, 0x00, 0x00, 0x00, 0x00, 'x' };
    qc_msg_notice_t n = { .id = "vfy-sub-1-sms", .kind = "verify", .channel = 3, .subject = "Code",
                          .text = "your code is 123456", .expires_ms = 1700000000000LL,
                          .record = (char *)rec, .record_len = sizeof rec };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_msg_notice_pack(&n, &sb), 0);
    qc_msg_notice_t back;
    char err[128];
    CHECK_INT(qc_msg_notice_unpack(sb.data, sb.size, &back, err, sizeof err), 0);
    CHECK_STR(back.id, "vfy-sub-1-sms");
    CHECK_STR(back.kind, "verify");
    CHECK_INT(back.channel, 3);
    CHECK_STR(back.text, "your code is 123456");
    CHECK(back.expires_ms == 1700000000000LL);
    CHECK(back.record_len == sizeof rec && !memcmp(back.record, rec, sizeof rec));
    /* A record is required. */
    msgpack_sbuffer_clear(&sb);
    n.record_len = 0;
    CHECK_INT(qc_msg_notice_pack(&n, &sb), 0);
    CHECK(qc_msg_notice_unpack(sb.data, sb.size, &back, err, sizeof err) != 0);
    msgpack_sbuffer_destroy(&sb);
}

QC_TESTS(QC_CASE(test_job_round_trip), QC_CASE(test_event_round_trip), QC_CASE(test_garbage),
         QC_CASE(test_notice_round_trip))
