/* Subscriber validation (one rule per case) and the packed record. */
#include "qctest.h"
#include "qc/subscriber.h"

static const qc_sub_policy_t strict = { .allow_private_webhooks = false, .default_min_mmi = 4 };
static const qc_sub_policy_t local = { .allow_private_webhooks = true, .default_min_mmi = 4 };

static const char *code_of(const char *doc, const qc_sub_policy_t *pol, const char **field)
{
    json_t *j = json_loads(doc, 0, NULL);
    qc_subscriber_t s;
    const char *code = NULL;
    char msg[256];
    *field = NULL;
    int rc = qc_subscriber_from_json(j, pol, &s, &code, field, msg, sizeof msg);
    json_decref(j);
    return rc ? code : "ok";
}

#define WH "\"webhook\":{\"url\":\"https://example.org/h\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}"

static void test_rules(void)
{
    const char *f;
    CHECK_STR(code_of("{\"id\":\"a\",\"lat\":44.4,\"lon\":26.1,\"channels\":{" WH "}}", &strict, &f), "ok");
    CHECK_STR(code_of("[1]", &strict, &f), "not_an_object");
    CHECK_STR(code_of("{\"id\":\"bad id\",\"lat\":1,\"lon\":1,\"channels\":{" WH "}}", &strict, &f), "invalid_id");
    CHECK_STR(code_of("{\"lat\":91,\"lon\":1,\"channels\":{" WH "}}", &strict, &f), "invalid_location");
    CHECK_STR(f, "lat");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":\"x\",\"channels\":{" WH "}}", &strict, &f), "invalid_location");
    CHECK_STR(f, "lon");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"lang\":\"Romanian\",\"channels\":{" WH "}}", &strict, &f), "invalid_lang");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"min_mmi\":11,\"channels\":{" WH "}}", &strict, &f), "invalid_min_mmi");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{}}", &strict, &f), "no_channel");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"pigeon\":{}}}", &strict, &f), "unknown_channel");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"sms\":{\"phone\":\"0712345678\"}}}", &strict, &f), "invalid_phone");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"sms\":{\"phone\":\"+40712345678\"}}}", &strict, &f), "ok");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"email\":{\"address\":\"a@b\"}}}", &strict, &f), "invalid_email");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"webhook\":{\"url\":\"http://127.0.0.1/h\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}}}", &strict, &f), "invalid_webhook");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"webhook\":{\"url\":\"https://10.1.2.3/h\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}}}", &strict, &f), "invalid_webhook");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"webhook\":{\"url\":\"https://[::1]/h\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}}}", &strict, &f), "invalid_webhook");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"webhook\":{\"url\":\"http://127.0.0.1/h\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}}}", &local, &f), "ok");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"webhook\":{\"url\":\"https://example.org/h\",\"secret\":\"nope\"}}}", &strict, &f), "invalid_webhook");
    CHECK_STR(f, "channels.webhook.secret");
    /* issue 6: e-mail syntax and lengths (RFC 5321 4.5.3.1, RFC 5322 3.2.3) */
#define EM(a) "{\"lat\":1,\"lon\":1,\"channels\":{\"email\":{\"address\":\"" a "\"}}}"
    CHECK_STR(code_of(EM("ana.pop+eew@example.org"), &strict, &f), "ok");
    CHECK_STR(code_of(EM(".ana@example.org"), &strict, &f), "invalid_email");
    CHECK_STR(code_of(EM("ana..pop@example.org"), &strict, &f), "invalid_email");
    CHECK_STR(code_of(EM("ana@-example.org"), &strict, &f), "invalid_email");
    CHECK_STR(code_of(EM("ana@example..org"), &strict, &f), "invalid_email");
    CHECK_STR(code_of(EM("ana@example.org."), &strict, &f), "invalid_email");
    CHECK_STR(code_of(EM("a@b@example.org"), &strict, &f), "invalid_email");
    CHECK_STR(code_of(EM("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org"), &strict, &f),
              "invalid_email"); /* 65-octet local part */
    CHECK_STR(f, "channels.email.address");
    /* E.164: at most 15 digits, no leading 0 in the country code */
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"sms\":{\"phone\":\"+4071234567890123\"}}}", &strict, &f), "invalid_phone");
    CHECK_STR(code_of("{\"lat\":1,\"lon\":1,\"channels\":{\"sms\":{\"phone\":\"+0712345678\"}}}", &strict, &f), "invalid_phone");
    /* webhook targets hidden behind other IPv4 spellings or user information */
#define WU(u) "{\"lat\":1,\"lon\":1,\"channels\":{\"webhook\":{\"url\":\"" u "\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}}}"
    CHECK_STR(code_of(WU("https://2130706433/h"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://0x7f.1/h"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://example.org@127.0.0.1/h"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://169.254.169.254/latest"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://localhost./h"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://[fe80::1]/h"), &strict, &f), "invalid_webhook");
    /* the dispatcher's ranges (qc/egress.h), IPv6 forms of IPv4 included */
    CHECK_STR(code_of(WU("https://[::ffff:169.254.169.254]/h"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://[64:ff9b::a9fe:a9fe]/h"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://100.100.100.200/h"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://[fd00:ec2::254]/h"), &strict, &f), "invalid_webhook");
    CHECK_STR(code_of(WU("https://[::ffff:93.184.216.34]/h"), &strict, &f), "ok");
    CHECK_STR(code_of(WU("https://hooks.example.org:8443/h?x=1"), &strict, &f), "ok");
}

static void test_record_round_trip(void)
{
    json_t *j = json_loads("{\"id\":\"ext-42\",\"lat\":44.4268,\"lon\":26.1025,\"lang\":\"ro\",\"min_mmi\":5,"
                           "\"channels\":{" WH ",\"sms\":{\"phone\":\"+40712345678\"}}}", 0, NULL);
    qc_subscriber_t s, back;
    const char *code, *field;
    char msg[128], err[128];
    CHECK_INT(qc_subscriber_from_json(j, &strict, &s, &code, &field, msg, sizeof msg), 0);
    json_decref(j);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_subscriber_pack(&s, &sb), 0);
    CHECK(sb.size < 140); /* the budget of a record */
    CHECK_INT(qc_subscriber_unpack(sb.data, sb.size, &back, err, sizeof err), 0);
    CHECK_STR(back.id, "ext-42");
    CHECK_NEAR(back.lat, 44.4268, 1e-5);
    CHECK_NEAR(back.lon, 26.1025, 1e-5);
    CHECK_STR(back.lang, "ro");
    CHECK_INT(back.min_mmi, 5);
    CHECK_STR(back.webhook_url, "https://example.org/h");
    CHECK_STR(back.sms_phone, "+40712345678");
    CHECK_INT((long)back.dead, 0);
    size_t plain = sb.size;
    /* A dead channel survives the round trip and costs two bytes; a dead bit
     * for a channel the subscriber does not have is dropped. */
    msgpack_sbuffer sb2;
    msgpack_sbuffer_init(&sb2);
    s.dead = (1u << QC_CH_SMS) | (1u << QC_CH_PUSH);
    CHECK_INT(qc_subscriber_pack(&s, &sb2), 0);
    CHECK_INT((long)sb2.size, (long)plain + 2);
    CHECK_INT(qc_subscriber_unpack(sb2.data, sb2.size, &back, err, sizeof err), 0);
    CHECK_INT((long)back.dead, (long)(1u << QC_CH_SMS));
    CHECK_INT((long)back.channels, (long)s.channels);
    json_t *out = qc_subscriber_to_json(&back);
    CHECK(json_is_true(json_object_get(json_object_get(json_object_get(out, "channels"), "sms"), "dead")));
    CHECK(json_object_get(json_object_get(json_object_get(out, "channels"), "webhook"), "dead") == NULL);
    json_decref(out);
    msgpack_sbuffer_destroy(&sb2);
    /* every truncation of a good record is refused, never a crash */
    for (size_t n = 0; n < sb.size; n++)
        CHECK(qc_subscriber_unpack(sb.data, n, &back, err, sizeof err) != 0);
    msgpack_sbuffer_destroy(&sb);
    CHECK(qc_subscriber_unpack("\xc1", 1, &back, err, sizeof err) != 0);
}

/* Secret rotation: previous_secret + previous_secret_until, validated,
 * carried after every channel field, so that a record without a rotation
 * is byte for byte the old format and records already stored read as
 * before. */
#define ROT(extra) "{\"id\":\"rot-1\",\"lat\":44.4,\"lon\":26.1,\"channels\":{\"webhook\":{" \
    "\"url\":\"https://example.org/h\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"" extra "}}}"
#define OLD_SECRET "whsec_c2Vjb25kLXNvdXJjZS1rZXk="

static void pack_str_raw(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* The record as writers before rotation existed packed it (and as its
 * reader expects), built by hand: [1, id, lat, lon, lang, mmi, mask, url, secret]. */
static void old_record(msgpack_sbuffer *sb, int extras)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 9 + (size_t)extras);
    msgpack_pack_uint8(&pk, 1);
    pack_str_raw(&pk, "rot-1");
    msgpack_pack_float(&pk, 44.4f);
    msgpack_pack_float(&pk, 26.1f);
    pack_str_raw(&pk, "en");
    msgpack_pack_uint8(&pk, 4);
    msgpack_pack_uint8(&pk, 1u << QC_CH_WEBHOOK);
    pack_str_raw(&pk, "https://example.org/h");
    pack_str_raw(&pk, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    if (extras >= 1)
        pack_str_raw(&pk, OLD_SECRET);
    if (extras >= 2)
        pack_str_raw(&pk, "not a time");
}

static void test_webhook_rotation(void)
{
    const char *f;
    CHECK_STR(code_of(ROT(",\"previous_secret\":\"" OLD_SECRET "\",\"previous_secret_until\":1900000000"), &strict, &f), "ok");
    CHECK_STR(code_of(ROT(",\"previous_secret\":\"" OLD_SECRET "\""), &strict, &f), "invalid_webhook");
    CHECK_STR(f, "channels.webhook.previous_secret_until");
    CHECK_STR(code_of(ROT(",\"previous_secret\":\"" OLD_SECRET "\",\"previous_secret_until\":\"tomorrow\""), &strict, &f),
              "invalid_webhook");
    CHECK_STR(code_of(ROT(",\"previous_secret_until\":1900000000"), &strict, &f), "invalid_webhook");
    CHECK_STR(f, "channels.webhook.previous_secret_until");
    CHECK_STR(code_of(ROT(",\"previous_secret\":\"whsec_c2hvcnQ=\",\"previous_secret_until\":1900000000"), &strict, &f),
              "invalid_webhook");
    CHECK_STR(f, "channels.webhook.previous_secret");
    CHECK_STR(code_of(ROT(",\"previous_secret\":null,\"previous_secret_until\":null"), &strict, &f), "ok");

    qc_subscriber_t s, back;
    const char *code, *field;
    char msg[128], err[128];
    msgpack_sbuffer sb, old;
    /* No rotation: exactly the old record. */
    json_t *j = json_loads(ROT(""), 0, NULL);
    CHECK_INT(qc_subscriber_from_json(j, &strict, &s, &code, &field, msg, sizeof msg), 0);
    json_decref(j);
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&old);
    CHECK_INT(qc_subscriber_pack(&s, &sb), 0);
    old_record(&old, 0);
    CHECK(sb.size == old.size && !memcmp(sb.data, old.data, sb.size));
    CHECK_INT(qc_subscriber_unpack(old.data, old.size, &back, err, sizeof err), 0);
    CHECK_STR(back.webhook_prev_secret, "");
    CHECK_INT((long)back.webhook_prev_until, 0);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&old);

    /* A rotation survives the record and the JSON round trips. */
    j = json_loads(ROT(",\"previous_secret\":\"" OLD_SECRET "\",\"previous_secret_until\":1900000000"), 0, NULL);
    CHECK_INT(qc_subscriber_from_json(j, &strict, &s, &code, &field, msg, sizeof msg), 0);
    json_decref(j);
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_subscriber_pack(&s, &sb), 0);
    CHECK_INT(qc_subscriber_unpack(sb.data, sb.size, &back, err, sizeof err), 0);
    CHECK_STR(back.webhook_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    CHECK_STR(back.webhook_prev_secret, OLD_SECRET);
    CHECK_INT((long)back.webhook_prev_until, 1900000000L);
    /* with a dead mark too (what sub_mark_dead writes back) */
    back.dead = 1u << QC_CH_WEBHOOK;
    msgpack_sbuffer sb2;
    msgpack_sbuffer_init(&sb2);
    CHECK_INT(qc_subscriber_pack(&back, &sb2), 0);
    CHECK_INT(qc_subscriber_unpack(sb2.data, sb2.size, &back, err, sizeof err), 0);
    CHECK_STR(back.webhook_prev_secret, OLD_SECRET);
    CHECK_INT((long)back.dead, (long)(1u << QC_CH_WEBHOOK));
    msgpack_sbuffer_destroy(&sb2);
    json_t *out = qc_subscriber_to_json(&back);
    json_t *wh = json_object_get(json_object_get(out, "channels"), "webhook");
    CHECK_STR(json_string_value(json_object_get(wh, "previous_secret")), OLD_SECRET);
    CHECK_INT((long)json_integer_value(json_object_get(wh, "previous_secret_until")), 1900000000L);
    json_decref(out);
    for (size_t n = 0; n < sb.size; n++)
        CHECK(qc_subscriber_unpack(sb.data, n, &back, err, sizeof err) != 0);
    msgpack_sbuffer_destroy(&sb);

    /* Half an extra, or one of the wrong type, is refused. */
    for (int extras = 1; extras <= 2; extras++) {
        msgpack_sbuffer_init(&old);
        old_record(&old, extras);
        CHECK(qc_subscriber_unpack(old.data, old.size, &back, err, sizeof err) != 0);
        msgpack_sbuffer_destroy(&old);
    }
}

/* Area broadcast listeners (issue 13): the "area" flag of push and
 * Telegram, through JSON and the packed record, and the route names. */
static void test_area(void)
{
    const char *doc = "{\"id\":\"a1\",\"lat\":44.43,\"lon\":26.10,\"min_mmi\":5,\"channels\":{"
                      "\"push\":{\"token\":\"tok\",\"area\":true},\"telegram\":{\"chat_id\":\"77\",\"area\":false},"
                      "\"webhook\":{\"url\":\"https://example.org/h\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}}}";
    qc_subscriber_t s, back;
    const char *code, *field;
    char msg[128], err[128];
    json_t *j = json_loads(doc, 0, NULL);
    CHECK_INT(qc_subscriber_from_json(j, &strict, &s, &code, &field, msg, sizeof msg), 0);
    json_decref(j);
    CHECK_INT((long)s.area, (long)(1u << QC_CH_PUSH));
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_subscriber_pack(&s, &sb), 0);
    CHECK_INT(qc_subscriber_unpack(sb.data, sb.size, &back, err, sizeof err), 0);
    CHECK_INT((long)back.area, (long)(1u << QC_CH_PUSH));
    /* the webhook carries an empty rotation ahead of the area bits: read
     * as "no rotation" by this reader and by the ones before area bits */
    CHECK_STR(back.webhook_prev_secret, "");
    CHECK_INT((long)back.webhook_prev_until, 0);
    CHECK_STR(back.webhook_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    json_t *out = qc_subscriber_to_json(&back);
    json_t *ch = json_object_get(out, "channels");
    CHECK(json_is_true(json_object_get(json_object_get(ch, "push"), "area")));
    CHECK(json_object_get(json_object_get(ch, "telegram"), "area") == NULL);
    CHECK(json_object_get(json_object_get(ch, "webhook"), "previous_secret") == NULL);
    json_decref(out);
    msgpack_sbuffer_destroy(&sb);
    /* without a webhook the area bits follow the channel fields */
    s.channels &= ~(1u << QC_CH_WEBHOOK);
    s.area = (1u << QC_CH_PUSH) | (1u << QC_CH_TELEGRAM);
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_subscriber_pack(&s, &sb), 0);
    CHECK_INT(qc_subscriber_unpack(sb.data, sb.size, &back, err, sizeof err), 0);
    CHECK_INT((long)back.area, (long)((1u << QC_CH_PUSH) | (1u << QC_CH_TELEGRAM)));
    CHECK_INT((long)(unsigned char)sb.data[0], 0x90 + 7 + 2 + 1 + 1); /* fixarray: header, push x2, telegram, area */
    msgpack_sbuffer_destroy(&sb);
    /* no area: the record is what it was before area bits existed */
    s.area = 0;
    msgpack_sbuffer_init(&sb);
    CHECK_INT(qc_subscriber_pack(&s, &sb), 0);
    CHECK_INT(qc_subscriber_unpack(sb.data, sb.size, &back, err, sizeof err), 0);
    CHECK_INT((long)back.area, 0);
    CHECK_INT((long)(unsigned char)sb.data[0], 0x90 + 7 + 2 + 1);
    msgpack_sbuffer_destroy(&sb);
    j = json_loads("{\"lat\":1,\"lon\":1,\"channels\":{\"push\":{\"token\":\"t\",\"area\":\"yes\"}}}", 0, NULL);
    CHECK(qc_subscriber_from_json(j, &strict, &s, &code, &field, msg, sizeof msg) != 0);
    CHECK_STR(code, "invalid_push");
    CHECK_STR(field, "channels.push.area");
    json_decref(j);

    char r[64];
    CHECK_INT(qc_area_topic("qc", 44.43, 26.10, 4, r, sizeof r), 0);
    CHECK_STR(r, "qc_N177_E104_i4");
    CHECK_INT(qc_area_topic("qc", -33.45, -70.66, 10, r, sizeof r), 0);
    CHECK_STR(r, "qc_S134_W283_i10");
    CHECK(qc_area_topic("9qc", 1, 1, 4, r, sizeof r) != 0);          /* must start with a letter */
    CHECK(qc_area_topic("q-c", 1, 1, 4, r, sizeof r) != 0);          /* Telegram usernames: no '-' */
    CHECK(qc_area_topic("abcdefghijklm", 1, 1, 4, r, sizeof r) != 0); /* 13 characters */
    CHECK(qc_area_topic("qc", 1, 1, 0, r, sizeof r) != 0);
    CHECK(qc_area_topic("qc", 1, 1, 11, r, sizeof r) != 0);
    CHECK(qc_area_topic("qc", 91, 1, 4, r, sizeof r) != 0);
    CHECK(qc_area_topic("qc", 1, 1, 4, r, 8) != 0);                  /* does not fit */
    /* the longest name stays a valid Telegram username (at most 32) */
    CHECK_INT(qc_area_topic("abcdefghijkl", -89.9, -179.9, 10, r, sizeof r), 0);
    CHECK(strlen(r) <= 32);
}

static void test_cells(void)
{
    char c[32];
    double la, lo;
    qc_cell_of(44.43, 26.10, c, sizeof c);
    CHECK_STR(c, "177:104");
    CHECK_INT(qc_cell_parse(c, strlen(c), &la, &lo), 0);
    CHECK_NEAR(la, 44.25, 1e-9);
    CHECK_NEAR(lo, 26.0, 1e-9);
    qc_cell_of(-0.1, -0.1, c, sizeof c);
    CHECK_STR(c, "-1:-1");
    CHECK(qc_cell_parse("x:1", 3, &la, &lo) != 0);
    /* segment groups: the cell, and a lane per quota-bound provider for
     * people it reaches first ("/q": records stored before the lanes) */
    CHECK_INT(qc_cell_parse("177:104/q", 9, &la, &lo), 0);
    CHECK_NEAR(lo, 26.0, 1e-9);
    CHECK_INT(qc_cell_parse("177:104/qs", 10, &la, &lo), 0);
    CHECK_NEAR(la, 44.25, 1e-9);
    CHECK(qc_cell_parse("177:104/x", 9, &la, &lo) != 0);
    CHECK(qc_cell_parse("177:104/qx", 10, &la, &lo) != 0);
    CHECK(qc_cell_parse("177:104/qs/qs", 13, &la, &lo) != 0);
    CHECK(qc_seg_group_slow("177:104/q", 9) && !qc_seg_group_slow("177:104", 7));
    CHECK(qc_seg_group_slow("177:104/qe", 10) && !qc_seg_group_slow("177:104/qx", 10));
    CHECK_INT(qc_seg_group_lane("177:104/qs", 10), QC_CH_SMS);
    CHECK_INT(qc_seg_group_lane("177:104/qe", 10), QC_CH_EMAIL);
    CHECK_INT(qc_seg_group_lane("177:104/qt", 10), QC_CH_TELEGRAM);
    CHECK_INT(qc_seg_group_lane("177:104/q", 9), -1);
    CHECK_INT(qc_seg_group_lane("177:104", 7), -1);
    /* the lane in a catalogue entry "group|min_mmi", read up to the bar */
    CHECK_INT(qc_seg_group_lane("177:104/qt|4", 10), QC_CH_TELEGRAM);
    qc_subscriber_t s = { .lat = 44.43, .lon = 26.10, .channels = (1u << QC_CH_SMS) | (1u << QC_CH_PUSH) };
    qc_seg_group(&s, c, sizeof c);
    CHECK_STR(c, "177:104");               /* push first */
    s.dead = 1u << QC_CH_PUSH;
    qc_seg_group(&s, c, sizeof c);
    CHECK_STR(c, "177:104/qs");            /* push gone: SMS first */
    s.channels |= 1u << QC_CH_EMAIL;
    qc_seg_group(&s, c, sizeof c);
    CHECK_STR(c, "177:104/qs");            /* SMS before e-mail */
    s.channels = 1u << QC_CH_EMAIL;
    qc_seg_group(&s, c, sizeof c);
    CHECK_STR(c, "177:104/qe");
    s = (qc_subscriber_t){ .lat = 44.43, .lon = 26.10, .channels = 1u << QC_CH_TELEGRAM };
    qc_seg_group(&s, c, sizeof c);
    CHECK_STR(c, "177:104/qt");
    s.area = 1u << QC_CH_TELEGRAM;         /* their area's channel: its posts share the bot's quota */
    qc_seg_group(&s, c, sizeof c);
    CHECK_STR(c, "177:104/qt");
    s.area = 1u << QC_CH_PUSH;             /* an app on the area topic... */
    s.channels |= 1u << QC_CH_PUSH;
    qc_seg_group(&s, c, sizeof c);
    CHECK_STR(c, "177:104");               /* ...is reached by push first */
}

/* Inputs tests/fuzz/fuzz_records.c found: a 2^32-element array claim
 * (msgpack-c would allocate 128 GB), a negative channel mask (undefined
 * conversion), an empty string with a NULL pointer. */
static void test_fuzz_regressions(void)
{
    const char *files[] = { "tests/data/fuzz/records/crash_huge_array.bin",
                            "tests/data/fuzz/records/crash_negative_mask.bin",
                            "tests/data/fuzz/records/crash_empty_str.bin" };
    for (size_t i = 0; i < 3; i++) {
        FILE *f = fopen(files[i], "rb");
        CHECK(f != NULL);
        if (!f)
            continue;
        char buf[512];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        qc_subscriber_t s;
        char err[128];
        CHECK(qc_subscriber_unpack(buf, n, &s, err, sizeof err) != 0);
    }
}

QC_TESTS(QC_CASE(test_fuzz_regressions), QC_CASE(test_rules), QC_CASE(test_record_round_trip),
         QC_CASE(test_webhook_rotation), QC_CASE(test_cells), QC_CASE(test_area))
