/* detect.c: which parser reads a document (see qc_feed_detect in feeds.h).
 *
 * A Content-Type that names one format decides; generic ones
 * (application/json, application/xml, text/xml, none, or what an HTTP
 * client sends by default) leave it to the document itself:
 * - XML: the root element's local name, read from the first bytes without
 *   parsing (the prolog's declaration, comments and DOCTYPE are skipped; the
 *   parser refuses a DOCTYPE later with its own reason);
 * - JSON: parsed once to look at its shape; a document that is not JSON
 *   goes to the USGS parser, which was the only JSON reader before and
 *   names the syntax error;
 * - anything else: FDSN event text, whose parser says when it is not. */
#include "feeds.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "feed_util.h"
#include "qc/err.h"

static const struct ct_map {
    const char *type;
    qc_feed_format_t fmt;
} content_types[] = {
    { "application/geo+json", QC_FEED_USGS_GEOJSON },
    { "application/vnd.geo+json", QC_FEED_USGS_GEOJSON },
    { "text/plain", QC_FEED_FDSN_TEXT },
    { "application/quakeml+xml", QC_FEED_QUAKEML },
    { "application/vnd.quakeml+xml", QC_FEED_QUAKEML },
    { "application/cap+xml", QC_FEED_CAP },
    { "application/common-alerting-protocol+xml", QC_FEED_CAP },
};

/* The media type of a Content-Type header ("text/plain; charset=utf-8"):
 * @returns the format it names, QC_FEED_UNKNOWN for a generic one. */
static qc_feed_format_t from_content_type(const char *ct)
{
    size_t len;

    if (!ct)
        return QC_FEED_UNKNOWN;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    len = strcspn(ct, "; \t");
    for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
        if (len == strlen(content_types[i].type) &&
            strncasecmp(ct, content_types[i].type, len) == 0)
            return content_types[i].fmt;
    }
    return QC_FEED_UNKNOWN;
}

/* @returns where @p needle starts in the @p len bytes at @p s, or NULL. */
static const char *find(const char *s, size_t len, const char *needle)
{
    size_t nl = strlen(needle);

    for (size_t i = 0; i + nl <= len; i++) {
        if (memcmp(s + i, needle, nl) == 0)
            return s + i;
    }
    return NULL;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Finds the root element's name in an XML document: its local part (after
 * any prefix) at *name, its length returned; 0 if none was found. */
static size_t xml_root(const char *buf, size_t len, const char **name)
{
    size_t i = 0;

    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    for (;;) {
        const char *end;
        size_t start, j;

        while (i < len && is_ws(buf[i]))
            i++;
        if (i >= len || buf[i] != '<')
            return 0;
        if (i + 1 < len && buf[i + 1] == '?') {
            end = find(buf + i, len - i, "?>");
            if (!end)
                return 0;
            i = (size_t)(end - buf) + 2;
            continue;
        }
        if (i + 3 < len && memcmp(buf + i, "<!--", 4) == 0) {
            end = find(buf + i + 4, len - i - 4, "-->");
            if (!end)
                return 0;
            i = (size_t)(end - buf) + 3;
            continue;
        }
        if (i + 1 < len && buf[i + 1] == '!') {
            /* <!DOCTYPE ...>, possibly with an internal subset [...] */
            int depth = 0;

            for (i += 2; i < len; i++) {
                if (buf[i] == '[')
                    depth++;
                else if (buf[i] == ']')
                    depth--;
                else if (buf[i] == '>' && depth <= 0)
                    break;
            }
            if (i >= len)
                return 0;
            i++;
            continue;
        }
        start = ++i;
        for (j = start; j < len && !is_ws(buf[j]) && buf[j] != '>' && buf[j] != '/'; j++) {
            if (buf[j] == ':')
                start = j + 1;
        }
        *name = buf + start;
        return j - start;
    }
}

static qc_feed_format_t from_xml(const char *buf, size_t len)
{
    const char *name = NULL;
    size_t n = xml_root(buf, len, &name);

    if (n == strlen("quakeml") && memcmp(name, "quakeml", n) == 0)
        return QC_FEED_QUAKEML;
    if (n == strlen("alert") && memcmp(name, "alert", n) == 0)
        return QC_FEED_CAP;
    if ((n == strlen("event_message") && memcmp(name, "event_message", n) == 0) ||
        (n == strlen("system_status") && memcmp(name, "system_status", n) == 0))
        return QC_FEED_SHAKEALERT;
    return QC_FEED_UNKNOWN;
}

/* @returns true if a Feature is EMSC's: its properties name a unid or
 * source_catalog, or its id is an EMSC unid ("20210502_0000100"; ComCat
 * ids start with a network code). */
static bool emsc_feature(const json_t *feature)
{
    const json_t *props = json_object_get(feature, "properties");
    const json_t *id = json_object_get(feature, "id");
    const char *s;

    if (json_object_get(props, "unid") || json_object_get(props, "source_catalog"))
        return true;
    if (!json_is_string(id) || json_string_length(id) != 16)
        return false;
    s = json_string_value(id);
    for (size_t i = 0; i < 16; i++) {
        if (i == 8 ? s[i] != '_' : (s[i] < '0' || s[i] > '9'))
            return false;
    }
    return true;
}

static qc_feed_format_t from_json(const char *buf, size_t len)
{
    json_t *root = json_loadb(buf, len, 0, NULL);
    qc_feed_format_t fmt = QC_FEED_USGS_GEOJSON;
    const json_t *type, *v;
    const char *key;

    if (!json_is_object(root))
        goto out_root;
    type = json_object_get(root, "type");
    if (json_object_get(root, "action") && json_object_get(root, "data")) {
        fmt = QC_FEED_EMSC_JSON;
    } else if (json_is_string(type) &&
               strcmp(json_string_value(type), "FeatureCollection") == 0) {
        if (emsc_feature(json_array_get(json_object_get(root, "features"), 0)))
            fmt = QC_FEED_EMSC_JSON;
    } else if (json_is_string(type) && strcmp(json_string_value(type), "Feature") == 0) {
        if (emsc_feature(root))
            fmt = QC_FEED_EMSC_JSON;
    } else {
        json_object_foreach(root, key, v)
        {
            if (json_is_object(v) && json_object_get(v, "eq_id")) {
                fmt = QC_FEED_INFP_GM;
                break;
            }
        }
    }
out_root:
    json_decref(root);
    return fmt;
}

qc_feed_format_t qc_feed_detect(const char *buf, size_t len, const char *content_type)
{
    qc_feed_format_t fmt = from_content_type(content_type);
    size_t i = 0;

    if (fmt != QC_FEED_UNKNOWN)
        return fmt;
    if (!buf)
        return QC_FEED_FDSN_TEXT;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < len && is_ws(buf[i]))
        i++;
    if (i < len && buf[i] == '<')
        return from_xml(buf, len);
    if (i < len && (buf[i] == '{' || buf[i] == '['))
        return from_json(buf, len);
    return QC_FEED_FDSN_TEXT;
}

int qc_feed_parse(qc_feed_format_t fmt, const char *buf, size_t len, qc_event_t **out,
                  size_t *n, char *errstr, size_t errstr_size)
{
    const char *name = NULL;
    size_t nl;

    switch (fmt) {
    case QC_FEED_USGS_GEOJSON:
        return qc_feed_usgs_geojson_parse(buf, len, out, n, errstr, errstr_size);
    case QC_FEED_FDSN_TEXT:
        return qc_feed_fdsn_text_parse(buf, len, out, n, errstr, errstr_size);
    case QC_FEED_QUAKEML:
        return qc_feed_quakeml_parse(buf, len, out, n, errstr, errstr_size);
    case QC_FEED_CAP:
        return qc_feed_cap_parse(buf, len, out, n, errstr, errstr_size);
    case QC_FEED_SHAKEALERT:
        return qc_feed_shakealert_parse(buf, len, out, n, errstr, errstr_size);
    case QC_FEED_EMSC_JSON:
        return qc_feed_emsc_json_parse(buf, len, out, n, errstr, errstr_size);
    case QC_FEED_INFP_GM:
        return qc_feed_infp_gm_parse(buf, len, out, n, errstr, errstr_size);
    case QC_FEED_UNKNOWN:
        break;
    }
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    nl = buf ? xml_root(buf, len, &name) : 0;
    if (nl > 0)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "not an event document: XML root "
                            "element <%.*s> (expected quakeml, alert or event_message)",
                            nl > 40 ? 40 : (int)nl, name);
    return qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "not an event document of a known "
                        "format");
}

const char *qc_feed_format_name(qc_feed_format_t fmt)
{
    switch (fmt) {
    case QC_FEED_USGS_GEOJSON:
        return "usgs_geojson";
    case QC_FEED_FDSN_TEXT:
        return "fdsn_text";
    case QC_FEED_QUAKEML:
        return "quakeml";
    case QC_FEED_CAP:
        return "cap";
    case QC_FEED_SHAKEALERT:
        return "shakealert";
    case QC_FEED_EMSC_JSON:
        return "emsc_json";
    case QC_FEED_INFP_GM:
        return "infp_gm";
    case QC_FEED_UNKNOWN:
        break;
    }
    return "unknown";
}
