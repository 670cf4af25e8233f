/* test_cap_write.c: the CAP 1.2 messages quakecast issues (Alert, Update
 * with references, Cancel; each with its English and Romanian <info> and
 * its <area>) are valid against the official OASIS CAP 1.2 schema
 * (tests/data/cap_oasis, a verbatim copy) and against our data-dictionary
 * schema (tests/data/cap_schema), which also checks what the official one
 * leaves as free text (references triples, the circle form); and our own
 * CAP reader gets the event back from them. Both schemas are checked first:
 * they accept the standard's Appendix A examples and refuse a value outside
 * a CAP value list. */
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_write.h"
#include "feeds.h"
#include "qctest.h"

enum { OASIS, DICTIONARY, NSCHEMAS };
static const char *const schema_path[NSCHEMAS] = {
    [OASIS] = "tests/data/cap_oasis/CAP-v1.2-schema.xsd",
    [DICTIONARY] = "tests/data/cap_schema/cap12-dictionary.xsd",
};
static xmlSchemaPtr schema[NSCHEMAS];

static void quiet(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

/* @returns 0 if @p xml is valid against schema @p which, > 0 if not, < 0
 * if it does not parse or the schema does not load. */
static int validate_with(int which, const char *xml, size_t len)
{
    if (!schema[which]) {
        xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(schema_path[which]);
        schema[which] = pc ? xmlSchemaParse(pc) : NULL;
        xmlSchemaFreeParserCtxt(pc);
        if (!schema[which])
            return -2;
    }
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "cap.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return -1;
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema[which]);
    xmlSchemaSetValidStructuredErrors(v, quiet, NULL);
    int rc = xmlSchemaValidateDoc(v, doc);
    xmlSchemaFreeValidCtxt(v);
    xmlFreeDoc(doc);
    return rc;
}

/* Valid against both: 0, else the first schema's non-zero answer. */
static int validate(const char *xml, size_t len)
{
    int rc = validate_with(OASIS, xml, len);
    return rc ? rc : validate_with(DICTIONARY, xml, len);
}

/* Occurrences of @p needle in @p hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static void test_schema_accepts_the_standards_examples(void)
{
    for (int i = 1; i <= 4; i++) {
        static const char *const names[] = { "", "example1_homeland_security", "example2_severe_thunderstorm",
                                             "example3_earthquake_update_TRI13970876", "example4_amber_alert" };
        char path[256];
        snprintf(path, sizeof path, "tests/data/cap/oasis_cap12_spec_%s.xml", names[i]);
        size_t len;
        char *xml = slurp(path, &len);
        CHECK(xml != NULL);
        if (xml) {
            CHECK_INT(validate_with(OASIS, xml, len), 0);
            CHECK_INT(validate_with(DICTIONARY, xml, len), 0);
        }
        free(xml);
    }
}

static qc_event_t vrancea(void)
{
    qc_event_t e;
    memset(&e, 0, sizeof e);
    snprintf(e.id, sizeof e.id, "us7000abcd");
    snprintf(e.source, sizeof e.source, "us");
    e.origin_ms = 1795636800000LL; /* 2026-11-25T20:00:00Z */
    e.lat = 45.77;
    e.lon = 26.76;
    e.depth_km = 94;
    e.mag = 7.4;
    e.has_mag = true;
    snprintf(e.mag_type, sizeof e.mag_type, "mww");
    snprintf(e.type, sizeof e.type, "earthquake");
    snprintf(e.place, sizeof e.place, "Vrancea, Romania <& \"quoted\">");
    return e;
}

static void check_round_trip(const char *xml, size_t len, qc_event_status_t status)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256];
    CHECK_INT(qc_feed_cap_parse(xml, len, &evs, &n, err, sizeof err), 0);
    CHECK(n >= 1);
    if (n >= 1) {
        CHECK_NEAR(evs[0].mag, 7.4, 1e-9);
        CHECK_NEAR(evs[0].lat, 45.77, 1e-4);
        CHECK_NEAR(evs[0].lon, 26.76, 1e-4);
        CHECK_NEAR(evs[0].depth_km, 94, 1e-6);
        CHECK_INT(evs[0].origin_ms, 1795636800000LL);
        CHECK_INT(evs[0].status, status);
    }
    free(evs);
}

static void test_alert_update_cancel(void)
{
    qc_event_t e = vrancea();
    qc_cap_msg_t m = { .alert_id = "a7", .rev = 0, .kind = QC_JOB_ALERT, .ev = &e, .sent_ms = e.origin_ms + 4000,
                       .expires_ms = e.origin_ms + 600000, .sender = "quakecast.example.ro",
                       .sender_name = "quakecast test", .references = NULL };
    size_t len;
    char *xml = qc_cap_build(&m, &len);
    CHECK(xml != NULL);
    if (!xml)
        return;
    CHECK_INT(validate(xml, len), 0);
    CHECK(strstr(xml, "<msgType>Alert</msgType>") != NULL);
    CHECK(strstr(xml, "<sent>2026-11-25T20:00:04+00:00</sent>") != NULL);
    CHECK(strstr(xml, "&lt;&amp; &quot;quoted&quot;&gt;") != NULL);
    CHECK(strstr(xml, "<references>") == NULL);
    /* Both languages, each with its area. */
    CHECK_INT(count(xml, "<info>"), 2);
    CHECK_INT(count(xml, "<language>en-US</language>"), 1);
    CHECK_INT(count(xml, "<language>ro-RO</language>"), 1);
    CHECK_INT(count(xml, "<area>"), 2);
    CHECK_INT(count(xml, "<circle>45.7700,26.7600 "), 2);
    check_round_trip(xml, len, QC_EV_AUTOMATIC);
    /* A value outside a CAP list must be refused by both: the schemas are real. */
    char *bad = strdup(xml);
    char *u = strstr(bad, "<urgency>Immediate</urgency>");
    CHECK(u != NULL);
    if (u) {
        memcpy(u, "<urgency>Imminent!</urgency>", strlen("<urgency>Immediate</urgency>"));
        CHECK(validate_with(OASIS, bad, len) > 0);
        CHECK(validate_with(DICTIONARY, bad, len) > 0);
    }
    free(bad);
    /* "Z" for UTC, which CAP 1.2 section 3.3.2 forbids: both refuse it. */
    bad = strdup(xml);
    u = strstr(bad, "<sent>2026-11-25T20:00:04+00:00</sent>");
    CHECK(u != NULL);
    if (u) {
        memcpy(u + strlen("<sent>2026-11-25T20:00:04"), "Z</sent>     ", strlen("+00:00</sent>"));
        CHECK(validate_with(OASIS, bad, len) > 0);
        CHECK(validate_with(DICTIONARY, bad, len) > 0);
    }
    free(bad);
    /* What only the dictionary schema checks (the official one types
     * circle as free text): a circle without its radius. This is why
     * tests/data/cap_schema is kept next to the official schema. */
    bad = strdup(xml);
    u = strstr(bad, "<circle>45.7700,26.7600 ");
    CHECK(u != NULL);
    if (u) {
        u[strlen("<circle>45.7700,26.7600")] = ';';
        CHECK_INT(validate_with(OASIS, bad, len), 0);
        CHECK(validate_with(DICTIONARY, bad, len) > 0);
    }
    free(bad);
    free(xml);

    m.rev = 1;
    m.kind = QC_JOB_UPDATE;
    m.references = "quakecast.example.ro,quakecast-a7-0,2026-11-25T20:00:04+00:00";
    xml = qc_cap_build(&m, &len);
    CHECK(xml && validate(xml, len) == 0);
    CHECK(xml && strstr(xml, "<msgType>Update</msgType>") && strstr(xml, "<identifier>quakecast-a7-1</identifier>"));
    CHECK(xml && strstr(xml, "<references>quakecast.example.ro,quakecast-a7-0,2026-11-25T20:00:04+00:00</references>"));
    CHECK(xml && count(xml, "<info>") == 2 && count(xml, "<area>") == 2);
    free(xml);

    m.rev = 2;
    m.kind = QC_JOB_CANCEL;
    m.references = "quakecast.example.ro,quakecast-a7-0,2026-11-25T20:00:04+00:00 "
                   "quakecast.example.ro,quakecast-a7-1,2026-11-25T20:00:09+00:00";
    xml = qc_cap_build(&m, &len);
    CHECK(xml && validate(xml, len) == 0);
    CHECK(xml && strstr(xml, "<msgType>Cancel</msgType>") && strstr(xml, "<responseType>AllClear</responseType>"));
    CHECK(xml && count(xml, "<info>") == 2 && count(xml, "<language>ro-RO</language>") == 1 &&
          count(xml, "<area>") == 2);
    if (xml)
        check_round_trip(xml, len, QC_EV_DELETED);
    free(xml);

    /* A drill is an Exercise, which consumers do not show the public. */
    m.exercise = true;
    m.kind = QC_JOB_ALERT;
    m.references = NULL;
    xml = qc_cap_build(&m, &len);
    CHECK(xml && validate(xml, len) == 0 && strstr(xml, "<status>Exercise</status>"));
    free(xml);
}

/* Last case: frees what the others shared (LeakSanitizer runs at exit). */
static void test_cleanup(void)
{
    for (int i = 0; i < NSCHEMAS; i++) {
        xmlSchemaFree(schema[i]);
        schema[i] = NULL;
    }
    xmlCleanupParser();
}

QC_TESTS(QC_CASE(test_schema_accepts_the_standards_examples), QC_CASE(test_alert_update_cancel),
         QC_CASE(test_cleanup))
