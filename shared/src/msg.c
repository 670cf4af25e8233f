/* msg.c: msgpack encoding of the messages on quake.events, quake.dispatch
 * quake.dlq and quake.notices. Maps with short keys: a reader skips keys it does not know,
 * so a newer writer can add fields without breaking older readers. */
#include "qc/msg.h"
#include "qc/ipe.h"
#include "qc/err.h"
#include "qc/mpcheck.h"
#include "qc/subscriber.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- writing ---- */

static void kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    size_t kl = strlen(k), vl = strlen(v);
    msgpack_pack_str(pk, kl);
    msgpack_pack_str_body(pk, k, kl);
    msgpack_pack_str(pk, vl);
    msgpack_pack_str_body(pk, v, vl);
}

static void kv_key(msgpack_packer *pk, const char *k)
{
    size_t kl = strlen(k);
    msgpack_pack_str(pk, kl);
    msgpack_pack_str_body(pk, k, kl);
}

static void kv_dbl(msgpack_packer *pk, const char *k, double v) { kv_key(pk, k); msgpack_pack_double(pk, v); }
static void kv_int(msgpack_packer *pk, const char *k, int64_t v) { kv_key(pk, k); msgpack_pack_int64(pk, v); }

/* ---- reading ---- */

typedef struct reader {
    msgpack_unpacked u;
    const msgpack_object_kv *kv;
    size_t n;
} reader_t;

static int reader_open(reader_t *r, const char *data, size_t len, char *err, size_t errsz)
{
    msgpack_unpacked_init(&r->u);
    size_t off = 0;
    if (!data || qc_mp_check(data, len) || msgpack_unpack_next(&r->u, data, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        snprintf(err, errsz, "not msgpack");
        return QC_ERR_PARSE;
    }
    if (r->u.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errsz, "not a msgpack map");
        return QC_ERR_PARSE;
    }
    r->kv = r->u.data.via.map.ptr;
    r->n = r->u.data.via.map.size;
    return 0;
}

static const msgpack_object *get(const reader_t *r, const char *k)
{
    size_t kl = strlen(k);
    for (size_t i = 0; i < r->n; i++)
        if (r->kv[i].key.type == MSGPACK_OBJECT_STR && r->kv[i].key.via.str.size == kl &&
            !memcmp(r->kv[i].key.via.str.ptr, k, kl))
            return &r->kv[i].val;
    return NULL;
}

static int get_str(const reader_t *r, const char *k, char *dst, size_t dstsz, bool required)
{
    const msgpack_object *o = get(r, k);
    if (!o) {
        dst[0] = '\0';
        return required ? -1 : 0;
    }
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= dstsz)
        return -1;
    if (o->via.str.size) /* an empty string may come with a NULL pointer */
        memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
    return 0;
}

static int get_dbl(const reader_t *r, const char *k, double *out, bool required)
{
    const msgpack_object *o = get(r, k);
    if (!o)
        return required ? -1 : 0;
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 0;
    case MSGPACK_OBJECT_NIL: *out = NAN; return 0;
    default: return -1;
    }
}

static int get_int(const reader_t *r, const char *k, int64_t *out, bool required)
{
    const msgpack_object *o = get(r, k);
    if (!o)
        return required ? -1 : 0;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return -1;
}

static int check_version(const reader_t *r, char *err, size_t errsz)
{
    int64_t v = 0;
    if (get_int(r, "v", &v, true) || v != QC_MSG_VERSION) {
        snprintf(err, errsz, "missing or unsupported schema version");
        return QC_ERR_PARSE;
    }
    return 0;
}

/* ---- quake.events ---- */

int qc_msg_event_pack(const qc_msg_event_t *m, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    const qc_event_t *e = &m->ev;
    msgpack_pack_map(&pk, 20);
    kv_int(&pk, "v", QC_MSG_VERSION);
    kv_str(&pk, "id", e->id);
    kv_str(&pk, "src", e->source);
    kv_int(&pk, "ot", e->origin_ms);
    kv_dbl(&pk, "lat", e->lat);
    kv_dbl(&pk, "lon", e->lon);
    kv_dbl(&pk, "dep", e->depth_km);
    kv_key(&pk, "mag");
    if (e->has_mag)
        msgpack_pack_double(&pk, e->mag);
    else
        msgpack_pack_nil(&pk);
    kv_str(&pk, "mt", e->mag_type);
    kv_str(&pk, "type", e->type);
    kv_int(&pk, "st", e->status);
    kv_int(&pk, "ver", e->version);
    kv_str(&pk, "place", e->place);
    kv_str(&pk, "corr", m->corr);
    kv_int(&pk, "rcv", m->received_ms);
    kv_key(&pk, "replay");
    if (m->replay)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    kv_int(&pk, "hm", e->has_mag);
    kv_int(&pk, "x", 0); /* reserved */
    kv_str(&pk, "refs", e->references);
    kv_key(&pk, "test");
    if (e->test)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    return 0;
}

int qc_msg_event_unpack(const char *data, size_t len, qc_msg_event_t *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    reader_t r;
    int rc = reader_open(&r, data, len, err, errsz);
    if (!rc)
        rc = check_version(&r, err, errsz);
    if (rc)
        goto done;
    qc_event_t *e = &out->ev;
    int64_t st = 0, hm = 0;
    double mag = NAN;
    const msgpack_object *rp = get(&r, "replay");
    const msgpack_object *tp = get(&r, "test"); /* optional, as "refs": older writers */
    if (get_str(&r, "id", e->id, sizeof e->id, true) || get_str(&r, "src", e->source, sizeof e->source, true) ||
        get_int(&r, "ot", &e->origin_ms, true) || get_dbl(&r, "lat", &e->lat, true) ||
        get_dbl(&r, "lon", &e->lon, true) || get_dbl(&r, "dep", &e->depth_km, true) ||
        get_dbl(&r, "mag", &mag, false) || get_str(&r, "mt", e->mag_type, sizeof e->mag_type, false) ||
        get_str(&r, "type", e->type, sizeof e->type, false) || get_int(&r, "st", &st, false) ||
        get_int(&r, "ver", &e->version, false) || get_str(&r, "place", e->place, sizeof e->place, false) ||
        get_str(&r, "corr", out->corr, sizeof out->corr, false) ||
        get_int(&r, "rcv", &out->received_ms, false) || get_int(&r, "hm", &hm, false) ||
        get_str(&r, "refs", e->references, sizeof e->references, false) ||
        (rp && rp->type != MSGPACK_OBJECT_BOOLEAN) || (tp && tp->type != MSGPACK_OBJECT_BOOLEAN) ||
        st < 0 || st > QC_EV_DELETED) {
        snprintf(err, errsz, "event message fields missing or of the wrong type");
        rc = QC_ERR_PARSE;
        goto done;
    }
    e->status = (qc_event_status_t)st;
    e->has_mag = hm && isfinite(mag);
    e->mag = e->has_mag ? mag : 0;
    out->replay = rp && rp->via.boolean;
    e->test = tp && tp->via.boolean;
    if (!isfinite(e->lat) || !isfinite(e->lon) || !isfinite(e->depth_km)) {
        snprintf(err, errsz, "event message has non-finite coordinates");
        rc = QC_ERR_PARSE;
    }
done:
    msgpack_unpacked_destroy(&r.u);
    return rc;
}

/* ---- quake.dispatch ---- */

int qc_msg_job_pack(const qc_msg_job_t *m, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 20);
    kv_int(&pk, "v", QC_MSG_VERSION);
    kv_str(&pk, "a", m->alert_id);
    kv_int(&pk, "r", m->rev);
    kv_str(&pk, "e", m->event_id);
    kv_str(&pk, "s", m->seg);
    kv_int(&pk, "slot", m->slot);
    kv_int(&pk, "k", m->kind);
    kv_dbl(&pk, "lat", m->lat);
    kv_dbl(&pk, "lon", m->lon);
    kv_dbl(&pk, "dep", m->depth_km);
    kv_dbl(&pk, "mag", m->mag);
    kv_int(&pk, "gm", m->model);
    kv_key(&pk, "pm");
    if (isfinite(m->prev_mag))
        msgpack_pack_double(&pk, m->prev_mag);
    else
        msgpack_pack_nil(&pk);
    kv_int(&pk, "ot", m->origin_ms);
    kv_int(&pk, "dl", m->deadline_ms);
    kv_int(&pk, "is", m->issued_ms);
    kv_int(&pk, "due", m->due_ms);
    kv_int(&pk, "q", m->slow ? 1 : 0);
    /* a new key: dispatchers before the lanes ignore it */
    kv_int(&pk, "ql", m->slow && m->slow_ch >= 0 ? m->slow_ch : -1);
    kv_str(&pk, "place", m->place);
    return 0;
}

int qc_msg_job_unpack(const char *data, size_t len, qc_msg_job_t *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    out->prev_mag = NAN;
    reader_t r;
    int rc = reader_open(&r, data, len, err, errsz);
    if (!rc)
        rc = check_version(&r, err, errsz);
    if (rc)
        goto done;
    int64_t slot = 0, kind = 0, rev = 0, model = 0, slow = 0, lane = -1;
    if (get_str(&r, "a", out->alert_id, sizeof out->alert_id, true) || get_int(&r, "r", &rev, false) ||
        rev < 0 || rev > 1000 ||
        get_str(&r, "e", out->event_id, sizeof out->event_id, false) ||
        get_str(&r, "s", out->seg, sizeof out->seg, true) || get_int(&r, "slot", &slot, false) ||
        get_int(&r, "k", &kind, false) || get_dbl(&r, "lat", &out->lat, true) ||
        get_dbl(&r, "lon", &out->lon, true) || get_dbl(&r, "dep", &out->depth_km, true) ||
        get_dbl(&r, "mag", &out->mag, true) || get_dbl(&r, "pm", &out->prev_mag, false) ||
        get_int(&r, "gm", &model, false) || model < 0 || model >= QC_IPE_MODEL_COUNT ||
        get_int(&r, "ot", &out->origin_ms, true) || get_int(&r, "dl", &out->deadline_ms, false) ||
        get_int(&r, "is", &out->issued_ms, false) || get_int(&r, "due", &out->due_ms, false) ||
        get_int(&r, "q", &slow, false) || slow < 0 || slow > 1 ||
        get_int(&r, "ql", &lane, false) || lane < -1 || lane >= QC_CH_COUNT_ ||
        get_str(&r, "place", out->place, sizeof out->place, false) || slot < 0 || slot > 1000000 ||
        kind < 0 || kind > QC_JOB_CANCEL || !out->alert_id[0] || !out->seg[0] ||
        !isfinite(out->lat) || !isfinite(out->lon) || !isfinite(out->mag) || !isfinite(out->depth_km)) {
        snprintf(err, errsz, "job message fields missing or of the wrong type");
        rc = QC_ERR_PARSE;
        goto done;
    }
    out->slot = (int)slot;
    out->rev = (int)rev;
    out->model = (int)model;
    out->kind = (qc_job_kind_t)kind;
    out->slow = slow == 1;
    out->slow_ch = out->slow ? (int)lane : -1;
done:
    msgpack_unpacked_destroy(&r.u);
    return rc;
}

/* ---- quake.dlq ---- */

int qc_msg_dlq_pack(const qc_msg_dlq_t *m, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 8);
    kv_int(&pk, "v", QC_MSG_VERSION);
    kv_str(&pk, "a", m->alert_id);
    kv_str(&pk, "s", m->seg);
    kv_str(&pk, "sub", m->subscriber_id);
    kv_str(&pk, "ch", m->channel);
    kv_str(&pk, "reason", m->reason);
    kv_int(&pk, "att", m->attempts);
    kv_int(&pk, "ts", m->ts_ms);
    return 0;
}

int qc_msg_dlq_unpack(const char *data, size_t len, qc_msg_dlq_t *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    reader_t r;
    int rc = reader_open(&r, data, len, err, errsz);
    if (!rc)
        rc = check_version(&r, err, errsz);
    if (rc)
        goto done;
    int64_t att = 0;
    if (get_str(&r, "a", out->alert_id, sizeof out->alert_id, true) ||
        get_str(&r, "s", out->seg, sizeof out->seg, false) ||
        get_str(&r, "sub", out->subscriber_id, sizeof out->subscriber_id, false) ||
        get_str(&r, "ch", out->channel, sizeof out->channel, false) ||
        get_str(&r, "reason", out->reason, sizeof out->reason, false) ||
        get_int(&r, "att", &att, false) || get_int(&r, "ts", &out->ts_ms, false)) {
        snprintf(err, errsz, "dlq message fields missing or of the wrong type");
        rc = QC_ERR_PARSE;
        goto done;
    }
    out->attempts = (int)att;
done:
    msgpack_unpacked_destroy(&r.u);
    return rc;
}

/* ---- quake.notices ---- */

int qc_msg_notice_pack(const qc_msg_notice_t *m, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 8);
    kv_int(&pk, "v", QC_MSG_VERSION);
    kv_str(&pk, "id", m->id);
    kv_str(&pk, "k", m->kind);
    kv_int(&pk, "ch", m->channel);
    kv_str(&pk, "subj", m->subject);
    kv_str(&pk, "text", m->text);
    kv_int(&pk, "exp", m->expires_ms);
    kv_key(&pk, "rec");
    msgpack_pack_bin(&pk, m->record_len);
    msgpack_pack_bin_body(&pk, m->record, m->record_len);
    return 0;
}

int qc_msg_notice_unpack(const char *data, size_t len, qc_msg_notice_t *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    reader_t r;
    int rc = reader_open(&r, data, len, err, errsz);
    if (!rc)
        rc = check_version(&r, err, errsz);
    if (rc)
        goto done;
    int64_t ch = -1;
    if (get_str(&r, "id", out->id, sizeof out->id, true) || get_str(&r, "k", out->kind, sizeof out->kind, true) ||
        get_int(&r, "ch", &ch, true) || get_str(&r, "subj", out->subject, sizeof out->subject, false) ||
        get_str(&r, "text", out->text, sizeof out->text, true) || get_int(&r, "exp", &out->expires_ms, false) ||
        ch < 0 || ch > 15) {
        snprintf(err, errsz, "notice fields missing or of the wrong type");
        rc = QC_ERR_PARSE;
        goto done;
    }
    out->channel = (int)ch;
    const msgpack_object *o = get(&r, "rec");
    if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size == 0) {
        snprintf(err, errsz, "notice without a subscriber record");
        rc = QC_ERR_PARSE;
        goto done;
    }
    /* The zone of an unpacked object with no copies points into data. */
    out->record = (char *)o->via.bin.ptr;
    out->record_len = o->via.bin.size;
done:
    msgpack_unpacked_destroy(&r.u);
    return rc;
}
