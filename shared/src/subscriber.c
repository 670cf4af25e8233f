/* subscriber.c: validation of the subscriber document and its packed
 * segment record. */
#include "qc/subscriber.h"
#include "qc/egress.h"
#include "qc/err.h"
#include "qc/geo.h"
#include "qc/mpcheck.h"
#include "qc/sign.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ctype.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const channel_names[QC_CH_COUNT_] = {
    [QC_CH_PUSH] = "push", [QC_CH_WEBHOOK] = "webhook", [QC_CH_TELEGRAM] = "telegram",
    [QC_CH_SMS] = "sms", [QC_CH_EMAIL] = "email", [QC_CH_NULL] = "null",
};

const char *qc_channel_name(qc_channel_t c)
{
    return (unsigned)c < QC_CH_COUNT_ ? channel_names[c] : "?";
}

int qc_channel_from_name(const char *name)
{
    for (int i = 0; i < QC_CH_COUNT_; i++)
        if (!strcmp(name, channel_names[i]))
            return i;
    return -1;
}

void qc_cell_of(double lat, double lon, char *out, size_t outsz)
{
    long la = (long)floor(lat / QC_CELL_DEG), lo = (long)floor(lon / QC_CELL_DEG);
    snprintf(out, outsz, "%ld:%ld", la, lo);
}

void qc_seg_group(const qc_subscriber_t *s, char *out, size_t outsz)
{
    static const qc_channel_t order[] = { QC_CH_PUSH, QC_CH_WEBHOOK, QC_CH_NULL, QC_CH_TELEGRAM, QC_CH_SMS,
                                          QC_CH_EMAIL };
    const char *lane = "";
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        unsigned bit = 1u << order[k];
        if (!(s->channels & bit) || (s->dead & bit))
            continue;
        /* One lane per provider: a chunk is done only when its last
         * person is, so SMS people in a chunk of Telegram people waited
         * for the bot's 30 a second with 100 SMS a second to spare.
         * Telegram even for those who listen to their area's channel: its
         * posts share the bot's quota with the personal messages, and in
         * a push chunk they held every push person until their post went. */
        lane = order[k] == QC_CH_SMS ? "/qs" : order[k] == QC_CH_EMAIL ? "/qe" : order[k] == QC_CH_TELEGRAM ? "/qt" : "";
        break;
    }
    char cell[32];
    qc_cell_of(s->lat, s->lon, cell, sizeof cell);
    snprintf(out, outsz, "%s%s", cell, lane);
}

/* The suffix of a quota-bound group: "/q" (written before the lanes per
 * provider), or "/qs", "/qe", "/qt". @returns its length, or 0. */
static size_t lane_suffix(const char *group, size_t len)
{
    if (len >= 2 && group[len - 2] == '/' && group[len - 1] == 'q')
        return 2;
    if (len >= 3 && group[len - 3] == '/' && group[len - 2] == 'q' &&
        (group[len - 1] == 's' || group[len - 1] == 'e' || group[len - 1] == 't'))
        return 3;
    return 0;
}

bool qc_seg_group_slow(const char *group, size_t len)
{
    return lane_suffix(group, len) > 0;
}

int qc_seg_group_lane(const char *group, size_t len)
{
    if (lane_suffix(group, len) != 3)
        return -1;
    char c = group[len - 1];
    return c == 's' ? QC_CH_SMS : c == 'e' ? QC_CH_EMAIL : QC_CH_TELEGRAM;
}

bool qc_area_prefix_valid(const char *prefix)
{
    if (!prefix || !isalpha((unsigned char)prefix[0]) || strlen(prefix) > 12)
        return false;
    for (const char *p = prefix; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

int qc_area_topic(const char *prefix, double lat, double lon, int band, char *out, size_t outsz)
{
    if (!qc_area_prefix_valid(prefix) || band < 1 || band > 10 || !qc_geo_valid(lat, lon))
        return QC_ERR_INVAL;
    long la = (long)floor(lat / QC_CELL_DEG), lo = (long)floor(lon / QC_CELL_DEG);
    int n = snprintf(out, outsz, "%s_%c%ld_%c%ld_i%d", prefix, la < 0 ? 'S' : 'N', la < 0 ? -la : la,
                     lo < 0 ? 'W' : 'E', lo < 0 ? -lo : lo, band);
    return n > 0 && (size_t)n < outsz ? 0 : QC_ERR_INVAL;
}

int qc_cell_parse(const char *cell, size_t len, double *lat0, double *lon0)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return QC_ERR_PARSE;
    memcpy(buf, cell, len);
    buf[len] = '\0';
    char *end;
    long la = strtol(buf, &end, 10);
    if (*end != ':')
        return QC_ERR_PARSE;
    char *p = end + 1;
    long lo = strtol(p, &end, 10);
    if (end == p || (*end && lane_suffix(end, strlen(end)) != strlen(end)))
        return QC_ERR_PARSE;
    *lat0 = (double)la * QC_CELL_DEG;
    *lon0 = (double)lo * QC_CELL_DEG;
    return 0;
}

void qc_sub_index_key(const char *id, char *out, size_t outsz)
{
    /* FNV-1a: cheap and stable; 4096 buckets keep each hash a small
     * listpack (Redis's compact encoding) up to a few million ids. */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    snprintf(out, outsz, "qc:{reg}:idx:%u", h & 4095u);
}

/* ---- validation helpers ---- */

#define FAIL(c, f, ...) do { *code = (c); *field = (f); snprintf(msg, msgsz, __VA_ARGS__); \
    return QC_ERR_INVAL; } while (0)

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._:-", *s))
            return false;
    return true;
}

static bool valid_lang(const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n && islower((unsigned char)s[i]))
        i++;
    if (i < 2 || i > 3)
        return false;
    if (i == n)
        return true;
    if (s[i] != '-' || n - i - 1 < 2 || n > 7)
        return false;
    for (i++; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

/* ITU-T E.164 section 6.1: at most 15 digits, country code first (which
 * never starts with 0), written with a leading "+" (E.123). Fewer than 7
 * digits is no subscriber number anywhere. */
static bool valid_e164(const char *s)
{
    if (*s++ != '+' || *s < '1' || *s > '9')
        return false;
    size_t n = 0;
    for (; *s; s++, n++)
        if (!isdigit((unsigned char)*s))
            return false;
    return n >= 7 && n <= 15;
}

/* An Internet mail address as SMTP carries it: RFC 5321 section 4.5.3.1
 * limits the local part to 64 octets, the domain to 255 and the whole path
 * to 256 with its angle brackets (so 254 for the address). The local part
 * is a dot-atom (RFC 5322 section 3.2.3: atext runs separated by single
 * dots); quoted local parts and address literals are refused, real
 * subscribers do not use them. The domain is LDH labels of 1-63 octets, not
 * starting or ending with a hyphen (RFC 5321 section 4.1.2, RFC 1035
 * section 2.3.1), with at least two labels. */
static bool valid_email(const char *s)
{
    size_t n = strlen(s);
    const char *at = strrchr(s, '@');
    if (n < 3 || n > 254 || !at || at == s || (size_t)(at - s) > 64)
        return false;
    static const char atext_special[] = "!#$%&'*+-/=?^_`{|}~";
    bool prev_dot = true; /* no leading dot */
    for (const char *p = s; p < at; p++) {
        if (*p == '.') {
            if (prev_dot)
                return false;
            prev_dot = true;
        } else if (isalnum((unsigned char)*p) || strchr(atext_special, *p)) {
            prev_dot = false;
        } else {
            return false;
        }
    }
    if (prev_dot) /* trailing dot */
        return false;
    const char *d = at + 1;
    size_t labels = 0;
    while (*d) {
        size_t l = 0;
        while (isalnum((unsigned char)d[l]) || d[l] == '-')
            l++;
        if (l == 0 || l > 63 || d[0] == '-' || d[l - 1] == '-')
            return false;
        labels++;
        d += l;
        if (*d == '.')
            d++;
        else if (*d)
            return false;
        else
            break;
        if (!*d) /* trailing dot */
            return false;
    }
    return labels >= 2;
}

/* Refuses targets an attacker could use to reach internal services.
 * Literal addresses are refused here with the ranges the dispatcher
 * refuses (qc/egress.h); a name that resolves to one is refused by the
 * dispatcher when it connects (channels/webhook.c). */
static int check_webhook_url(const char *url, bool allow_private, const char **reason)
{
    const char *p;
    bool https = !strncasecmp(url, "https://", 8);
    if (https)
        p = url + 8;
    else if (!strncasecmp(url, "http://", 7))
        p = url + 7;
    else {
        *reason = "url must be http(s)";
        return -1;
    }
    if (!https && !allow_private) {
        *reason = "url must use https";
        return -1;
    }
    /* Userinfo ("https://a@127.0.0.1/") would hide the real host from the
     * checks below, and a backslash is read as a slash by some parsers. */
    size_t auth = strcspn(p, "/?#");
    if (memchr(p, '@', auth) || memchr(p, '\\', auth)) {
        *reason = "url must not carry user information";
        return -1;
    }
    char host[256];
    size_t hl;
    if (*p == '[') {
        hl = strcspn(p + 1, "]");
        if (p[1 + hl] != ']' || hl == 0 || hl >= sizeof host) {
            *reason = "bad IPv6 host";
            return -1;
        }
        memcpy(host, p + 1, hl);
    } else {
        hl = strcspn(p, ":/?#");
        if (hl == 0 || hl >= sizeof host) {
            *reason = "url has no host";
            return -1;
        }
        memcpy(host, p, hl);
    }
    host[hl] = '\0';
    for (const char *q = url; *q; q++)
        if ((unsigned char)*q <= ' ') {
            *reason = "url contains spaces or control characters";
            return -1;
        }
    if (allow_private)
        return 0;
    struct sockaddr_in v4 = { .sin_family = AF_INET };
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
    /* inet_aton also reads the forms URL parsers accept besides dotted
     * quads ("2130706433", "0x7f.1", "0177.0.0.1"). */
    if ((inet_aton(host, &v4.sin_addr) && qc_egress_classify((struct sockaddr *)&v4)) ||
        (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 && qc_egress_classify((struct sockaddr *)&v6))) {
        *reason = "private, loopback or link-local target refused";
        return -1;
    }
    size_t n = strlen(host);
    while (n > 0 && host[n - 1] == '.') /* "localhost." is localhost */
        host[--n] = '\0';
    if (!strcasecmp(host, "localhost") || (n > 10 && !strcasecmp(host + n - 10, ".localhost")) ||
        (n > 9 && !strcasecmp(host + n - 9, ".internal")) || (n > 6 && !strcasecmp(host + n - 6, ".local"))) {
        *reason = "private, loopback or link-local target refused";
        return -1;
    }
    return 0;
}

static bool copy_str(char *dst, size_t dstsz, const json_t *v)
{
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    if (n >= dstsz || memchr(json_string_value(v), '\0', n))
        return false;
    memcpy(dst, json_string_value(v), n + 1);
    return true;
}

/* The optional "area" member of a channel: the person listens to their
 * area's broadcast on it. @returns 0 (absent, null or a boolean) or -1. */
static int area_flag(const json_t *c, bool *out)
{
    const json_t *a = json_object_get(c, "area");
    *out = json_is_true(a);
    return !a || json_is_null(a) || json_is_boolean(a) ? 0 : -1;
}

int qc_subscriber_from_json(const json_t *doc, const qc_sub_policy_t *policy,
                            qc_subscriber_t *out, const char **code, const char **field,
                            char *msg, size_t msgsz)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc))
        FAIL("not_an_object", NULL, "a subscriber must be a JSON object");
    const json_t *v = json_object_get(doc, "id");
    if (v && !json_is_null(v)) {
        if (!copy_str(out->id, sizeof out->id, v) || !valid_id(out->id))
            FAIL("invalid_id", "id", "id must be 1-64 characters of A-Z a-z 0-9 . _ : -");
    } else {
        unsigned char rnd[12];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            FAIL("internal", "id", "cannot generate an id");
        memcpy(out->id, "sub-", 4);
        for (size_t i = 0; i < sizeof rnd; i++)
            snprintf(out->id + 4 + 2 * i, 3, "%02x", rnd[i]);
    }
    const json_t *lat = json_object_get(doc, "lat"), *lon = json_object_get(doc, "lon");
    out->lat = json_is_number(lat) ? json_number_value(lat) : NAN;
    if (!isfinite(out->lat) || out->lat < -90 || out->lat > 90)
        FAIL("invalid_location", "lat", "lat must be a number in [-90, 90]");
    out->lon = json_is_number(lon) ? json_number_value(lon) : NAN;
    if (!isfinite(out->lon) || out->lon < -180 || out->lon > 180)
        FAIL("invalid_location", "lon", "lon must be a number in [-180, 180]");
    v = json_object_get(doc, "lang");
    snprintf(out->lang, sizeof out->lang, "en");
    if (v && !json_is_null(v)) {
        if (!copy_str(out->lang, sizeof out->lang, v) || !valid_lang(out->lang))
            FAIL("invalid_lang", "lang", "lang must be a language code such as \"ro\" or \"en\"");
    }
    out->min_mmi = policy->default_min_mmi;
    v = json_object_get(doc, "min_mmi");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10)
            FAIL("invalid_min_mmi", "min_mmi", "min_mmi must be an integer from 1 to 10");
        out->min_mmi = (int)json_integer_value(v);
    }
    const json_t *ch = json_object_get(doc, "channels");
    if (!json_is_object(ch) || json_object_size(ch) == 0)
        FAIL("no_channel", "channels", "channels must be an object with at least one channel");
    const char *name;
    const json_t *c;
    json_object_foreach((json_t *)ch, name, c) {
        bool area = false;
        int id = qc_channel_from_name(name);
        if (id < 0)
            FAIL("unknown_channel", "channels", "unknown channel \"%.40s\"", name);
        if (!json_is_object(c))
            FAIL("invalid_channel", "channels", "channel \"%s\" must be an object", name);
        const char *reason = NULL;
        switch ((qc_channel_t)id) {
        case QC_CH_WEBHOOK: {
            if (!copy_str(out->webhook_url, sizeof out->webhook_url, json_object_get(c, "url")))
                FAIL("invalid_webhook", "channels.webhook.url", "webhook url must be a string under 1024 bytes");
            if (check_webhook_url(out->webhook_url, policy->allow_private_webhooks, &reason))
                FAIL("invalid_webhook", "channels.webhook.url", "webhook url refused: %s", reason);
            unsigned char key[96];
            if (!copy_str(out->webhook_secret, sizeof out->webhook_secret, json_object_get(c, "secret")) ||
                qc_sign_secret_decode(out->webhook_secret, key, sizeof key) < 16)
                FAIL("invalid_webhook", "channels.webhook.secret",
                     "webhook secret must be whsec_ followed by base64 of at least 16 bytes");
            const json_t *prev = json_object_get(c, "previous_secret");
            const json_t *until = json_object_get(c, "previous_secret_until");
            if (prev && !json_is_null(prev)) {
                if (!copy_str(out->webhook_prev_secret, sizeof out->webhook_prev_secret, prev) ||
                    qc_sign_secret_decode(out->webhook_prev_secret, key, sizeof key) < 16)
                    FAIL("invalid_webhook", "channels.webhook.previous_secret",
                         "previous_secret must be whsec_ followed by base64 of at least 16 bytes");
                /* A bound is required: a forgotten old secret must not stay
                 * valid for ever. */
                if (!json_is_integer(until) || json_integer_value(until) <= 0)
                    FAIL("invalid_webhook", "channels.webhook.previous_secret_until",
                         "previous_secret_until must be a positive integer (Unix seconds)");
                out->webhook_prev_until = json_integer_value(until);
            } else if (until && !json_is_null(until)) {
                FAIL("invalid_webhook", "channels.webhook.previous_secret_until",
                     "previous_secret_until needs previous_secret");
            }
            break;
        }
        case QC_CH_SMS:
            if (!copy_str(out->sms_phone, sizeof out->sms_phone, json_object_get(c, "phone")) ||
                !valid_e164(out->sms_phone))
                FAIL("invalid_phone", "channels.sms.phone", "phone must be in E.164 form, e.g. +40712345678");
            break;
        case QC_CH_EMAIL:
            if (!copy_str(out->email, sizeof out->email, json_object_get(c, "address")) ||
                !valid_email(out->email))
                FAIL("invalid_email", "channels.email.address", "address must be a valid e-mail address");
            break;
        case QC_CH_TELEGRAM: {
            const json_t *cid = json_object_get(c, "chat_id");
            if (json_is_integer(cid))
                snprintf(out->telegram_chat, sizeof out->telegram_chat, "%lld",
                         (long long)json_integer_value(cid));
            else if (!copy_str(out->telegram_chat, sizeof out->telegram_chat, cid) || !out->telegram_chat[0])
                FAIL("invalid_telegram", "channels.telegram.chat_id", "chat_id must be a number or string");
            for (const char *q = out->telegram_chat; *q; q++)
                if (!isalnum((unsigned char)*q) && *q != '-' && *q != '@' && *q != '_')
                    FAIL("invalid_telegram", "channels.telegram.chat_id", "chat_id has invalid characters");
            if (area_flag(c, &area))
                FAIL("invalid_telegram", "channels.telegram.area", "area must be true or false");
            if (area)
                out->area |= 1u << QC_CH_TELEGRAM;
            break;
        }
        case QC_CH_PUSH: {
            if (!copy_str(out->push_token, sizeof out->push_token, json_object_get(c, "token")) ||
                !out->push_token[0])
                FAIL("invalid_push", "channels.push.token", "push token must be a non-empty string");
            const json_t *pl = json_object_get(c, "platform");
            snprintf(out->push_platform, sizeof out->push_platform, "android");
            if (pl && (!copy_str(out->push_platform, sizeof out->push_platform, pl) ||
                       (strcmp(out->push_platform, "android") && strcmp(out->push_platform, "ios") &&
                        strcmp(out->push_platform, "web"))))
                FAIL("invalid_push", "channels.push.platform", "platform must be android, ios or web");
            if (area_flag(c, &area))
                FAIL("invalid_push", "channels.push.area", "area must be true or false");
            if (area)
                out->area |= 1u << QC_CH_PUSH;
            break;
        }
        case QC_CH_NULL:
        case QC_CH_COUNT_:
            break;
        }
        out->channels |= 1u << id;
    }
    return 0;
}

json_t *qc_subscriber_to_json(const qc_subscriber_t *s)
{
    json_t *ch = json_object();
    if (!ch)
        return NULL;
    if (s->channels & (1u << QC_CH_WEBHOOK)) {
        json_t *wh = json_pack("{s:s,s:s}", "url", s->webhook_url, "secret", s->webhook_secret);
        if (wh && s->webhook_prev_secret[0]) {
            json_object_set_new(wh, "previous_secret", json_string(s->webhook_prev_secret));
            json_object_set_new(wh, "previous_secret_until", json_integer((json_int_t)s->webhook_prev_until));
        }
        json_object_set_new(ch, "webhook", wh);
    }
    if (s->channels & (1u << QC_CH_SMS))
        json_object_set_new(ch, "sms", json_pack("{s:s}", "phone", s->sms_phone));
    if (s->channels & (1u << QC_CH_EMAIL))
        json_object_set_new(ch, "email", json_pack("{s:s}", "address", s->email));
    if (s->channels & (1u << QC_CH_TELEGRAM))
        json_object_set_new(ch, "telegram", json_pack("{s:s}", "chat_id", s->telegram_chat));
    if (s->channels & (1u << QC_CH_PUSH))
        json_object_set_new(ch, "push", json_pack("{s:s,s:s}", "token", s->push_token, "platform", s->push_platform));
    if (s->channels & (1u << QC_CH_NULL))
        json_object_set_new(ch, "null", json_object());
    /* Channels listened to by area broadcast carry "area": true. */
    for (int c = 0; c < QC_CH_COUNT_; c++) {
        json_t *o = (s->area & (1u << c)) ? json_object_get(ch, qc_channel_name((qc_channel_t)c)) : NULL;
        if (o)
            json_object_set_new(o, "area", json_true());
    }
    /* Channels the provider declared gone carry "dead": true. */
    for (int c = 0; c < QC_CH_COUNT_; c++) {
        json_t *o = (s->dead & (1u << c)) ? json_object_get(ch, qc_channel_name((qc_channel_t)c)) : NULL;
        if (o)
            json_object_set_new(o, "dead", json_true());
    }
    return json_pack("{s:s,s:f,s:f,s:s,s:i,s:o}", "id", s->id, "lat", s->lat, "lon", s->lon,
                     "lang", s->lang, "min_mmi", s->min_mmi, "channels", ch);
}

/* ---- packed record: [v, id, lat, lon, lang, min_mmi, channels, fields...,
 *                      extras...] ----
 * channels is the bit mask; the fields of each set channel follow in
 * qc_channel_t order, so a record carries no key names. Optional extras
 * come after every channel field, so that records written before they
 * existed read as before and readers from before them (which stop after
 * the channel fields) still read new records: today only the webhook's
 * previous secret and its end (str, int), present when a rotation is under
 * way. */

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

int qc_subscriber_pack(const qc_subscriber_t *s, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    size_t nfields = 0;
    unsigned ch = s->channels;
    nfields += (ch >> QC_CH_PUSH & 1) * 2 + (ch >> QC_CH_WEBHOOK & 1) * 2 + (ch >> QC_CH_TELEGRAM & 1) +
               (ch >> QC_CH_SMS & 1) + (ch >> QC_CH_EMAIL & 1);
    bool rotating = (ch & (1u << QC_CH_WEBHOOK)) && s->webhook_prev_secret[0];
    unsigned area = s->area & ch & ((1u << QC_CH_PUSH) | (1u << QC_CH_TELEGRAM));
    /* The area bits come after the webhook's extras; a webhook record
     * without a rotation then carries an empty one ("", 0), which every
     * reader takes for "no rotation". */
    bool wh_pad = area && (ch & (1u << QC_CH_WEBHOOK)) && !rotating;
    if (rotating || wh_pad)
        nfields += 2;
    if (area)
        nfields += 1;
    if (msgpack_pack_array(&pk, 7 + nfields))
        return QC_ERR_NOMEM;
    msgpack_pack_uint8(&pk, QC_SUB_RECORD_VERSION);
    pack_str(&pk, s->id);
    /* float32 is ~1 m at these magnitudes and saves 8 bytes per record. */
    msgpack_pack_float(&pk, (float)s->lat);
    msgpack_pack_float(&pk, (float)s->lon);
    pack_str(&pk, s->lang);
    msgpack_pack_uint8(&pk, (uint8_t)s->min_mmi);
    /* Dead channels ride in the bits above the channel mask: a record
     * without any is byte-for-byte what it was before they existed. */
    unsigned dead = s->dead & ch;
    if (dead)
        msgpack_pack_uint16(&pk, (uint16_t)(ch | dead << 8));
    else
        msgpack_pack_uint8(&pk, (uint8_t)ch);
    if (ch & (1u << QC_CH_PUSH)) {
        pack_str(&pk, s->push_token);
        pack_str(&pk, s->push_platform);
    }
    if (ch & (1u << QC_CH_WEBHOOK)) {
        pack_str(&pk, s->webhook_url);
        pack_str(&pk, s->webhook_secret);
    }
    if (ch & (1u << QC_CH_TELEGRAM))
        pack_str(&pk, s->telegram_chat);
    if (ch & (1u << QC_CH_SMS))
        pack_str(&pk, s->sms_phone);
    if (ch & (1u << QC_CH_EMAIL))
        pack_str(&pk, s->email);
    if (rotating) {
        pack_str(&pk, s->webhook_prev_secret);
        msgpack_pack_int64(&pk, s->webhook_prev_until);
    } else if (wh_pad) {
        pack_str(&pk, "");
        msgpack_pack_int64(&pk, 0);
    }
    if (area)
        msgpack_pack_uint8(&pk, (uint8_t)area);
    return 0;
}

static int get_str(const msgpack_object *o, char *dst, size_t dstsz)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= dstsz)
        return -1;
    if (o->via.str.size) /* an empty string may come with a NULL pointer */
        memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
    return 0;
}

static int get_num(const msgpack_object *o, double *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 0;
    default: return -1;
    }
}

int qc_subscriber_unpack(const char *data, size_t len, qc_subscriber_t *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = QC_ERR_PARSE;
    if (qc_mp_check(data, len) || msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        snprintf(err, errsz, "record is not msgpack");
        goto done;
    }
    const msgpack_object *o = &u.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 7) {
        snprintf(err, errsz, "record is not an array of at least 7");
        goto done;
    }
    const msgpack_object *a = o->via.array.ptr;
    size_t n = o->via.array.size;
    if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[0].via.u64 != QC_SUB_RECORD_VERSION) {
        snprintf(err, errsz, "unsupported record version");
        goto done;
    }
    double mmi, ch;
    if (get_str(&a[1], out->id, sizeof out->id) || get_num(&a[2], &out->lat) ||
        get_num(&a[3], &out->lon) || get_str(&a[4], out->lang, sizeof out->lang) ||
        get_num(&a[5], &mmi) || get_num(&a[6], &ch) || !qc_geo_valid(out->lat, out->lon)) {
        snprintf(err, errsz, "record header fields have wrong types");
        goto done;
    }
    /* Converting an out-of-range double is undefined: check first. */
    if (!(mmi >= 1 && mmi <= 10) || !(ch >= 0 && ch < (double)(1u << (8 + QC_CH_COUNT_)))
        || ((unsigned)ch & 0xffu) >= (1u << QC_CH_COUNT_)) {
        snprintf(err, errsz, "record threshold or channel mask out of range");
        goto done;
    }
    out->min_mmi = (int)mmi;
    out->channels = (unsigned)ch & 0xffu;
    out->dead = ((unsigned)ch >> 8) & out->channels;
    size_t i = 7;
    struct { unsigned bit; char *dst; size_t sz; } f[] = {
        { QC_CH_PUSH, out->push_token, sizeof out->push_token },
        { QC_CH_PUSH, out->push_platform, sizeof out->push_platform },
        { QC_CH_WEBHOOK, out->webhook_url, sizeof out->webhook_url },
        { QC_CH_WEBHOOK, out->webhook_secret, sizeof out->webhook_secret },
        { QC_CH_TELEGRAM, out->telegram_chat, sizeof out->telegram_chat },
        { QC_CH_SMS, out->sms_phone, sizeof out->sms_phone },
        { QC_CH_EMAIL, out->email, sizeof out->email },
    };
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        if (!(out->channels & (1u << f[k].bit)))
            continue;
        if (i >= n || get_str(&a[i], f[k].dst, f[k].sz)) {
            snprintf(err, errsz, "record channel %s field missing or invalid", qc_channel_name(f[k].bit));
            goto done;
        }
        i++;
    }
    /* Extras (see qc_subscriber_pack); anything after them is from a newer
     * writer and ignored. */
    if ((out->channels & (1u << QC_CH_WEBHOOK)) && i < n) {
        if (i + 1 >= n || get_str(&a[i], out->webhook_prev_secret, sizeof out->webhook_prev_secret) ||
            (a[i + 1].type != MSGPACK_OBJECT_POSITIVE_INTEGER && a[i + 1].type != MSGPACK_OBJECT_NEGATIVE_INTEGER) ||
            (a[i + 1].type == MSGPACK_OBJECT_POSITIVE_INTEGER && a[i + 1].via.u64 > INT64_MAX)) {
            snprintf(err, errsz, "record webhook previous secret invalid");
            goto done;
        }
        out->webhook_prev_until = a[i + 1].via.i64;
        i += 2;
    }
    if (i < n && a[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        out->area = (unsigned)(a[i].via.u64 & 0xffu) & out->channels &
                    ((1u << QC_CH_PUSH) | (1u << QC_CH_TELEGRAM));
    rc = 0;
done:
    msgpack_unpacked_destroy(&u);
    return rc;
}
