/* ledger.c: compact store of deliveries seen by the fake sink.
 *
 * Entries live in fixed-size chunks and subscriber ids in a chunked arena so
 * that growing never copies (and never doubles) the bulk of the memory; only
 * the open-addressing index (8 bytes a slot, load <= 3/4) is rehashed. */
#include "ledger.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qc/err.h"

#define ENTRY_CHUNK_SHIFT 16
#define ENTRY_CHUNK ((size_t)1 << ENTRY_CHUNK_SHIFT)
#define ARENA_CHUNK_SHIFT 20
#define ARENA_CHUNK ((size_t)1 << ARENA_CHUNK_SHIFT)
#define ARENA_MAX_CHUNKS ((size_t)1 << (32 - ARENA_CHUNK_SHIFT))
#define FAULT_KINDS 8
#define FAULT_OTHER (-1)

/* Receive times are stored as 32-bit ms offsets from base_wall, which is set
 * a day before the ledger started so a wall clock stepping back is kept. */
#define BASE_MARGIN_MS (24 * 3600 * 1000LL)

typedef struct entry {
    uint64_t id_hash;    /* webhook-id of the first delivery */
    uint32_t first_off;  /* wall ms - base_wall */
    uint32_t last_off;
    uint32_t alert;      /* index into alerts */
    uint32_t count;
    uint32_t sub_off;    /* arena offset of the subscriber id */
    uint8_t sub_len;
    uint8_t mismatch;    /* a repeat carried another webhook-id */
} entry_t;

/* tag is the low 32 bits of the key's hash, so the home slot can be found
 * again on rehash without touching the entry. idx1 = entry index + 1. */
typedef struct slot {
    uint32_t tag;
    uint32_t idx1;
} slot_t;

typedef struct fault_count {
    int status[FAULT_KINDS]; /* HTTP status, 0 = dropped, FAULT_OTHER */
    uint64_t n[FAULT_KINDS];
} fault_count_t;

typedef struct alert {
    char *id;
    size_t len;
    uint32_t tag;
    int provider;        /* sink_provider_t */
    char *text;          /* providers: start of the keyed text, or NULL */
    size_t textlen;
    uint64_t received;   /* 2xx deliveries */
    uint64_t distinct;   /* entries */
    uint64_t mismatch;   /* repeats whose webhook-id differed */
    int64_t first_ms, last_ms;     /* wall */
    int64_t first_mono, last_mono; /* monotonic, for span_ms */
    fault_count_t faulted;
    uint32_t *times;     /* one wall offset per 2xx delivery */
    size_t ntimes, tcap;
} alert_t;

struct sink_ledger {
    /* (alert, subscriber) entries */
    entry_t **chunks;
    size_t nchunks, chunks_cap;
    size_t nentries;
    slot_t *slots;
    size_t nslots;          /* power of two */
    /* subscriber id bytes; an id never straddles two chunks */
    char **arena;
    size_t narena, arena_cap;
    size_t arena_used;      /* bytes used in the last chunk */
    /* alerts */
    alert_t *alerts;
    size_t nalerts, alerts_cap;
    slot_t *aslots;
    size_t naslots;
    /* requests not attributable to an alert */
    fault_count_t faulted;
    sink_counters_t counters;
    /* per provider */
    sink_pstats_t pstats[SINK_P_COUNT];
    fault_count_t pfaulted[SINK_P_COUNT];
    int64_t base_wall;
    uint64_t generation;
};

static const char *const provider_names[SINK_P_COUNT] = {
    "webhook", "twilio", "telegram", "fcm", "smtp",
};

const char *sink_provider_name(int p)
{
    return p >= 0 && p < SINK_P_COUNT ? provider_names[p] : "any";
}

int sink_provider_parse(const char *name)
{
    for (int i = 0; i < SINK_P_COUNT; i++)
        if (strcmp(name, provider_names[i]) == 0)
            return i;
    return SINK_P_ANY;
}

uint64_t sink_fnv1a64(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t sink_hash(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    /* FNV's low bits are weak for keys that differ in the last byte only;
     * the murmur3 finaliser spreads them over the index bits. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static int64_t wall_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fault_add(fault_count_t *f, int status, uint64_t n)
{
    for (size_t i = 0; i < FAULT_KINDS; i++) {
        if (f->n[i] != 0 && f->status[i] == status) {
            f->n[i] += n;
            return;
        }
        if (f->n[i] == 0) {
            f->status[i] = status;
            f->n[i] = n;
            return;
        }
    }
    /* more distinct statuses than slots: lump the rest together */
    f->status[FAULT_KINDS - 1] = FAULT_OTHER;
    f->n[FAULT_KINDS - 1] += n;
}

static void fault_merge(fault_count_t *dst, const fault_count_t *src)
{
    for (size_t i = 0; i < FAULT_KINDS && src->n[i] != 0; i++)
        fault_add(dst, src->status[i], src->n[i]);
}

static void ledger_free_contents(sink_ledger_t *l)
{
    for (size_t i = 0; i < l->nchunks; i++)
        free(l->chunks[i]);
    free(l->chunks);
    free(l->slots);
    for (size_t i = 0; i < l->narena; i++)
        free(l->arena[i]);
    free(l->arena);
    for (size_t i = 0; i < l->nalerts; i++) {
        free(l->alerts[i].id);
        free(l->alerts[i].text);
        free(l->alerts[i].times);
    }
    free(l->alerts);
    free(l->aslots);
}

static int ledger_init_contents(sink_ledger_t *l)
{
    uint64_t gen = l->generation;

    memset(l, 0, sizeof(*l));
    l->generation = gen + 1;
    l->base_wall = wall_now_ms() - BASE_MARGIN_MS;
    l->nslots = 1024;
    l->slots = calloc(l->nslots, sizeof(*l->slots));
    l->naslots = 64;
    l->aslots = calloc(l->naslots, sizeof(*l->aslots));
    if (l->slots == NULL || l->aslots == NULL)
        return QC_ERR_NOMEM;
    return 0;
}

sink_ledger_t *sink_ledger_new(void)
{
    sink_ledger_t *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    if (ledger_init_contents(l) != 0) {
        sink_ledger_destroy(l);
        return NULL;
    }
    return l;
}

void sink_ledger_destroy(sink_ledger_t *l)
{
    if (l == NULL)
        return;
    ledger_free_contents(l);
    free(l);
}

int sink_ledger_reset(sink_ledger_t *l)
{
    ledger_free_contents(l);
    return ledger_init_contents(l);
}

uint64_t sink_ledger_generation(const sink_ledger_t *l)
{
    return l->generation;
}

sink_counters_t *sink_ledger_counters(sink_ledger_t *l)
{
    return &l->counters;
}

sink_pstats_t *sink_ledger_pstats(sink_ledger_t *l, int provider)
{
    return &l->pstats[provider];
}

static inline entry_t *entry_at(const sink_ledger_t *l, size_t i)
{
    return &l->chunks[i >> ENTRY_CHUNK_SHIFT][i & (ENTRY_CHUNK - 1)];
}

static inline const char *sub_at(const sink_ledger_t *l, const entry_t *e)
{
    return l->arena[e->sub_off >> ARENA_CHUNK_SHIFT] + (e->sub_off & (ARENA_CHUNK - 1));
}

/* Doubles a slot table, re-placing each slot at its tag's home. */
static int slots_grow(slot_t **slots, size_t *nslots)
{
    size_t n = *nslots * 2, mask = n - 1;
    slot_t *s = calloc(n, sizeof(*s));

    if (s == NULL)
        return QC_ERR_NOMEM;
    for (size_t i = 0; i < *nslots; i++) {
        slot_t old = (*slots)[i];
        size_t pos;

        if (old.idx1 == 0)
            continue;
        for (pos = old.tag & mask; s[pos].idx1 != 0; pos = (pos + 1) & mask)
            ;
        s[pos] = old;
    }
    free(*slots);
    *slots = s;
    *nslots = n;
    return 0;
}

static size_t alert_find_slot(const sink_ledger_t *l, const char *id, size_t len,
                              uint32_t tag, bool *found)
{
    size_t mask = l->naslots - 1, pos;

    for (pos = tag & mask; l->aslots[pos].idx1 != 0; pos = (pos + 1) & mask) {
        const alert_t *a = &l->alerts[l->aslots[pos].idx1 - 1];

        if (l->aslots[pos].tag == tag && a->len == len && memcmp(a->id, id, len) == 0) {
            *found = true;
            return pos;
        }
    }
    *found = false;
    return pos;
}

bool sink_ledger_alert_find(const sink_ledger_t *l, const char *id, uint32_t *idx)
{
    size_t len = strlen(id);
    uint32_t tag = (uint32_t)sink_hash(id, len);
    bool found;
    size_t pos = alert_find_slot(l, id, len, tag, &found);

    if (found)
        *idx = l->aslots[pos].idx1 - 1;
    return found;
}

int sink_ledger_alert(sink_ledger_t *l, const char *id, size_t len, uint32_t *idx)
{
    return sink_ledger_alert_p(l, SINK_P_WEBHOOK, id, len, NULL, 0, idx);
}

int sink_ledger_alert_p(sink_ledger_t *l, int provider, const char *id, size_t len,
                        const char *text, size_t textlen, uint32_t *idx)
{
    uint32_t tag;
    bool found;
    size_t pos;
    alert_t *a;

    if (len > SINK_ALERT_MAX)
        return QC_ERR_TOOBIG;
    tag = (uint32_t)sink_hash(id, len);
    pos = alert_find_slot(l, id, len, tag, &found);
    if (found) {
        *idx = l->aslots[pos].idx1 - 1;
        return 0;
    }
    if ((l->nalerts + 1) * 4 > l->naslots * 3) {
        if (slots_grow(&l->aslots, &l->naslots) != 0)
            return QC_ERR_NOMEM;
        pos = alert_find_slot(l, id, len, tag, &found);
    }
    if (l->nalerts == l->alerts_cap) {
        size_t cap = l->alerts_cap ? l->alerts_cap * 2 : 16;
        alert_t *na = realloc(l->alerts, cap * sizeof(*na));

        if (na == NULL)
            return QC_ERR_NOMEM;
        l->alerts = na;
        l->alerts_cap = cap;
    }
    a = &l->alerts[l->nalerts];
    memset(a, 0, sizeof(*a));
    a->id = malloc(len + 1);
    if (a->id == NULL)
        return QC_ERR_NOMEM;
    memcpy(a->id, id, len);
    a->id[len] = '\0';
    a->len = len;
    a->tag = tag;
    a->provider = provider;
    if (text != NULL) {
        /* cut at a UTF-8 character boundary so the JSON stays valid */
        if (textlen > SINK_TEXT_KEEP) {
            textlen = SINK_TEXT_KEEP;
            while (textlen > 0 && ((unsigned char)text[textlen] & 0xc0) == 0x80)
                textlen--;
        }
        a->text = malloc(textlen + 1);
        if (a->text == NULL) {
            free(a->id);
            return QC_ERR_NOMEM;
        }
        memcpy(a->text, text, textlen);
        a->text[textlen] = '\0';
        a->textlen = textlen;
    }
    l->aslots[pos].tag = tag;
    l->aslots[pos].idx1 = (uint32_t)++l->nalerts;
    *idx = (uint32_t)(l->nalerts - 1);
    return 0;
}

static uint32_t wall_off(const sink_ledger_t *l, int64_t wall_ms)
{
    int64_t off = wall_ms - l->base_wall;

    if (off < 0)
        return 0;
    if (off > (int64_t)UINT32_MAX)
        return UINT32_MAX;
    return (uint32_t)off;
}

static int arena_put(sink_ledger_t *l, const char *s, size_t len, uint32_t *off)
{
    if (l->narena == 0 || l->arena_used + len > ARENA_CHUNK) {
        char *chunk;

        if (l->narena == ARENA_MAX_CHUNKS)
            return QC_ERR_NOMEM;
        if (l->narena == l->arena_cap) {
            size_t cap = l->arena_cap ? l->arena_cap * 2 : 16;
            char **na = realloc(l->arena, cap * sizeof(*na));

            if (na == NULL)
                return QC_ERR_NOMEM;
            l->arena = na;
            l->arena_cap = cap;
        }
        chunk = malloc(ARENA_CHUNK);
        if (chunk == NULL)
            return QC_ERR_NOMEM;
        l->arena[l->narena++] = chunk;
        l->arena_used = 0;
    }
    memcpy(l->arena[l->narena - 1] + l->arena_used, s, len);
    *off = (uint32_t)(((l->narena - 1) << ARENA_CHUNK_SHIFT) | l->arena_used);
    l->arena_used += len;
    return 0;
}

static int entry_append(sink_ledger_t *l, entry_t **out)
{
    size_t chunk = l->nentries >> ENTRY_CHUNK_SHIFT;

    if (l->nentries >= UINT32_MAX - 1)
        return QC_ERR_NOMEM;
    if (chunk == l->nchunks) {
        if (l->nchunks == l->chunks_cap) {
            size_t cap = l->chunks_cap ? l->chunks_cap * 2 : 16;
            entry_t **nc = realloc(l->chunks, cap * sizeof(*nc));

            if (nc == NULL)
                return QC_ERR_NOMEM;
            l->chunks = nc;
            l->chunks_cap = cap;
        }
        l->chunks[l->nchunks] = malloc(ENTRY_CHUNK * sizeof(entry_t));
        if (l->chunks[l->nchunks] == NULL)
            return QC_ERR_NOMEM;
        l->nchunks++;
    }
    *out = entry_at(l, l->nentries);
    return 0;
}

static int times_append(alert_t *a, uint32_t off)
{
    if (a->ntimes == a->tcap) {
        size_t cap = a->tcap ? a->tcap + a->tcap / 2 : 1024;
        uint32_t *nt = realloc(a->times, cap * sizeof(*nt));

        if (nt == NULL)
            return QC_ERR_NOMEM;
        a->times = nt;
        a->tcap = cap;
    }
    a->times[a->ntimes++] = off;
    return 0;
}

int sink_ledger_record(sink_ledger_t *l, uint32_t alert, const char *sub,
                       size_t sublen, uint64_t id_hash, int64_t wall_ms,
                       int64_t mono_ms)
{
    unsigned char key[sizeof(uint32_t) + SINK_SUB_MAX];
    uint32_t tag, off = wall_off(l, wall_ms);
    size_t mask, pos;
    alert_t *a;
    entry_t *e;
    int rc;

    if (alert >= l->nalerts || sublen == 0 || sublen > SINK_SUB_MAX)
        return QC_ERR_INVAL;
    a = &l->alerts[alert];
    memcpy(key, &alert, sizeof(alert));
    memcpy(key + sizeof(alert), sub, sublen);
    tag = (uint32_t)sink_hash(key, sizeof(alert) + sublen);

    /* the times array first: if it fails nothing else has changed */
    if ((rc = times_append(a, off)) != 0)
        return rc;

    mask = l->nslots - 1;
    for (pos = tag & mask; l->slots[pos].idx1 != 0; pos = (pos + 1) & mask) {
        if (l->slots[pos].tag != tag)
            continue;
        e = entry_at(l, l->slots[pos].idx1 - 1);
        if (e->alert == alert && e->sub_len == sublen &&
            memcmp(sub_at(l, e), sub, sublen) == 0) {
            e->count++;
            e->last_off = off;
            if (e->id_hash != id_hash) {
                e->mismatch = 1;
                a->mismatch++;
            }
            goto counted;
        }
    }

    if ((l->nentries + 1) * 4 > l->nslots * 3) {
        if ((rc = slots_grow(&l->slots, &l->nslots)) != 0)
            goto undo_time;
        mask = l->nslots - 1;
        for (pos = tag & mask; l->slots[pos].idx1 != 0; pos = (pos + 1) & mask)
            ;
    }
    if ((rc = entry_append(l, &e)) != 0)
        goto undo_time;
    if ((rc = arena_put(l, sub, sublen, &e->sub_off)) != 0)
        goto undo_time;
    e->id_hash = id_hash;
    e->first_off = e->last_off = off;
    e->alert = alert;
    e->count = 1;
    e->sub_len = (uint8_t)sublen;
    e->mismatch = 0;
    l->slots[pos].tag = tag;
    l->slots[pos].idx1 = (uint32_t)++l->nentries;
    a->distinct++;

counted:
    if (a->received == 0) {
        a->first_ms = wall_ms;
        a->first_mono = mono_ms;
    }
    a->last_ms = wall_ms;
    a->last_mono = mono_ms;
    a->received++;
    return 0;

undo_time:
    a->ntimes--;
    return rc;
}

void sink_ledger_fault(sink_ledger_t *l, uint32_t alert, int provider, int status)
{
    if (provider >= 0 && provider < SINK_P_COUNT)
        fault_add(&l->pfaulted[provider], status, 1);
    if (alert < l->nalerts)
        fault_add(&l->alerts[alert].faulted, status, 1);
    else
        fault_add(&l->faulted, status, 1);
}

static void faults_json(struct evbuffer *out, const fault_count_t *f)
{
    evbuffer_add(out, "{", 1);
    for (size_t i = 0; i < FAULT_KINDS && f->n[i] != 0; i++) {
        const char *sep = i ? "," : "";

        if (f->status[i] == 0)
            evbuffer_add_printf(out, "%s\"drop\":%" PRIu64, sep, f->n[i]);
        else if (f->status[i] == FAULT_OTHER)
            evbuffer_add_printf(out, "%s\"other\":%" PRIu64, sep, f->n[i]);
        else
            evbuffer_add_printf(out, "%s\"%d\":%" PRIu64, sep, f->status[i], f->n[i]);
    }
    evbuffer_add(out, "}", 1);
}

/* Folds alert @p a into the running sum @p sum. */
static void alert_merge(alert_t *sum, const alert_t *a)
{
    fault_merge(&sum->faulted, &a->faulted);
    if (a->received == 0)
        return;
    if (sum->received == 0 || a->first_ms < sum->first_ms)
        sum->first_ms = a->first_ms;
    if (sum->received == 0 || a->last_ms > sum->last_ms)
        sum->last_ms = a->last_ms;
    if (sum->received == 0 || a->first_mono < sum->first_mono)
        sum->first_mono = a->first_mono;
    if (sum->received == 0 || a->last_mono > sum->last_mono)
        sum->last_mono = a->last_mono;
    sum->received += a->received;
    sum->distinct += a->distinct;
    sum->mismatch += a->mismatch;
}

static void pstats_json(struct evbuffer *out, const sink_ledger_t *l, int p)
{
    const sink_pstats_t *ps = &l->pstats[p];

    evbuffer_add_printf(out,
                        "\"requests\":%" PRIu64 ",\"unauthorized\":%" PRIu64
                        ",\"bad_request\":%" PRIu64 ",\"rate_limited\":%" PRIu64
                        ",\"early_retry\":%" PRIu64 ",\"early_retry_max_us\":%" PRIu64
                        ",\"max_per_second\":%" PRIu64 ",\"client_gone\":%" PRIu64,
                        ps->requests, ps->unauthorized, ps->bad_request,
                        ps->rate_limited, ps->early_retry, ps->early_retry_max_us,
                        ps->max_per_second, ps->client_gone);
    if (p == SINK_P_FCM)
        evbuffer_add_printf(out,
                            ",\"tokens_issued\":%" PRIu64 ",\"token_rejected\":%" PRIu64
                            ",\"expired_token\":%" PRIu64,
                            ps->tokens_issued, ps->token_rejected, ps->expired_token);
    if (p == SINK_P_SMTP)
        evbuffer_add_printf(out,
                            ",\"connections\":%" PRIu64 ",\"messages\":%" PRIu64
                            ",\"missing_id\":%" PRIu64,
                            ps->connections, ps->messages, ps->missing_id);
    evbuffer_add(out, ",\"faulted\":", 11);
    faults_json(out, &l->pfaulted[p]);
}

static void providers_json(struct evbuffer *out, const sink_ledger_t *l)
{
    alert_t per[SINK_P_COUNT];

    memset(per, 0, sizeof(per));
    for (size_t i = 0; i < l->nalerts; i++)
        alert_merge(&per[l->alerts[i].provider], &l->alerts[i]);
    evbuffer_add(out, ",\"providers\":{", 14);
    for (int p = 0; p < SINK_P_COUNT; p++) {
        evbuffer_add_printf(out,
                            "%s\"%s\":{\"received\":%" PRIu64 ",\"distinct\":%" PRIu64
                            ",\"duplicates\":%" PRIu64
                            ",\"duplicate_id_mismatch\":%" PRIu64 ",",
                            p ? "," : "", provider_names[p], per[p].received,
                            per[p].distinct, per[p].received - per[p].distinct,
                            per[p].mismatch);
        pstats_json(out, l, p);
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add(out, "}", 1);
}

void sink_ledger_summary_json(const sink_ledger_t *l, uint32_t alert, int provider,
                              const char *unknown_id, struct evbuffer *out)
{
    alert_t sum;
    const sink_counters_t *c = &l->counters;
    uint64_t rate_limited = 0, early_retry = 0;

    memset(&sum, 0, sizeof(sum));
    if (alert == SINK_ALERT_ALL) {
        if (provider == SINK_P_ANY)
            fault_merge(&sum.faulted, &l->faulted);
        for (size_t i = 0; i < l->nalerts; i++)
            if (provider == SINK_P_ANY || l->alerts[i].provider == provider)
                alert_merge(&sum, &l->alerts[i]);
        evbuffer_add_printf(out, "{\"alert_id\":null,\"alerts\":%zu,\"ledger_bytes\":%zu",
                            l->nalerts, sink_ledger_memory(l));
    } else if (alert < l->nalerts) {
        sum = l->alerts[alert];
        evbuffer_add_printf(out, "{\"alert_id\":");
        sink_json_string(out, sum.id, sum.len);
    } else {
        evbuffer_add_printf(out, "{\"alert_id\":");
        if (unknown_id != NULL)
            sink_json_string(out, unknown_id, strlen(unknown_id));
        else
            evbuffer_add(out, "null", 4);
    }
    evbuffer_add_printf(out,
                        ",\"received\":%" PRIu64 ",\"distinct\":%" PRIu64
                        ",\"duplicates\":%" PRIu64
                        ",\"duplicate_id_mismatch\":%" PRIu64,
                        sum.received, sum.distinct, sum.received - sum.distinct,
                        sum.mismatch);
    if (sum.received != 0)
        evbuffer_add_printf(out,
                            ",\"first_ms\":%" PRId64 ",\"last_ms\":%" PRId64
                            ",\"span_ms\":%" PRId64,
                            sum.first_ms, sum.last_ms, sum.last_mono - sum.first_mono);
    else
        evbuffer_add_printf(out, ",\"first_ms\":null,\"last_ms\":null,\"span_ms\":null");
    if (alert == SINK_ALERT_ALL && provider != SINK_P_ANY) {
        /* the provider's own counters at the top level */
        evbuffer_add_printf(out, ",\"provider\":\"%s\",", provider_names[provider]);
        if (provider == SINK_P_WEBHOOK)
            evbuffer_add_printf(out,
                                "\"bad_signature\":%" PRIu64 ",\"stale_timestamp\":%" PRIu64
                                ",\"missing_id\":%" PRIu64 ",",
                                c->bad_signature, c->stale_timestamp, c->missing_id);
        pstats_json(out, l, provider);
        evbuffer_add(out, "}", 1);
        return;
    }
    for (int p = 0; p < SINK_P_COUNT; p++) {
        rate_limited += l->pstats[p].rate_limited;
        early_retry += l->pstats[p].early_retry;
    }
    evbuffer_add_printf(out,
                        ",\"bad_signature\":%" PRIu64 ",\"stale_timestamp\":%" PRIu64
                        ",\"bad_request\":%" PRIu64 ",\"missing_id\":%" PRIu64
                        ",\"client_gone\":%" PRIu64 ",\"rate_limited\":%" PRIu64
                        ",\"early_retry\":%" PRIu64 ",\"tokens_issued\":%" PRIu64,
                        c->bad_signature, c->stale_timestamp, c->bad_request,
                        c->missing_id, c->client_gone, rate_limited, early_retry,
                        l->pstats[SINK_P_FCM].tokens_issued);
    if (alert < l->nalerts)
        evbuffer_add_printf(out, ",\"provider\":\"%s\"", provider_names[sum.provider]);
    evbuffer_add(out, ",\"faulted\":", 11);
    faults_json(out, &sum.faulted);
    if (alert == SINK_ALERT_ALL)
        providers_json(out, l);
    evbuffer_add(out, "}", 1);
}

void sink_ledger_alerts_ndjson(const sink_ledger_t *l, int provider, struct evbuffer *out)
{
    for (size_t i = 0; i < l->nalerts; i++) {
        const alert_t *a = &l->alerts[i];

        if (provider != SINK_P_ANY && a->provider != provider)
            continue;
        evbuffer_add(out, "{\"alert_id\":", 12);
        sink_json_string(out, a->id, a->len);
        evbuffer_add_printf(out, ",\"provider\":\"%s\",\"text\":", provider_names[a->provider]);
        if (a->text != NULL)
            sink_json_string(out, a->text, a->textlen);
        else
            evbuffer_add(out, "null", 4);
        evbuffer_add_printf(out, ",\"received\":%" PRIu64 ",\"distinct\":%" PRIu64 "}\n",
                            a->received, a->distinct);
    }
}

bool sink_ledger_ids_ndjson(const sink_ledger_t *l, uint32_t alert, int provider,
                            size_t *cursor, struct evbuffer *out,
                            size_t max_bytes)
{
    size_t start = evbuffer_get_length(out), i;

    for (i = *cursor; i < l->nentries; i++) {
        const entry_t *e = entry_at(l, i);
        const alert_t *a = &l->alerts[e->alert];

        if (alert != SINK_ALERT_ALL && e->alert != alert)
            continue;
        if (provider != SINK_P_ANY && a->provider != provider)
            continue;
        if (evbuffer_get_length(out) - start >= max_bytes)
            break;
        evbuffer_add(out, "{\"alert_id\":", 12);
        sink_json_string(out, a->id, a->len);
        evbuffer_add(out, ",\"subscriber_id\":", 17);
        sink_json_string(out, sub_at(l, e), e->sub_len);
        evbuffer_add_printf(out,
                            ",\"count\":%" PRIu32 ",\"first_ms\":%" PRId64
                            ",\"last_ms\":%" PRId64 ",\"id_mismatch\":%s"
                            ",\"provider\":\"%s\",\"recipient\":",
                            e->count, l->base_wall + e->first_off,
                            l->base_wall + e->last_off,
                            e->mismatch ? "true" : "false", provider_names[a->provider]);
        sink_json_string(out, sub_at(l, e), e->sub_len);
        evbuffer_add(out, "}\n", 2);
    }
    *cursor = i;
    return i >= l->nentries;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static bool times_wanted(const sink_ledger_t *l, size_t i, uint32_t alert, int provider)
{
    return (alert == SINK_ALERT_ALL || alert == i) &&
           (provider == SINK_P_ANY || l->alerts[i].provider == provider);
}

int sink_ledger_times(const sink_ledger_t *l, uint32_t alert, int provider,
                      int64_t **out, size_t *n)
{
    size_t total = 0, k = 0;
    uint32_t *tmp;
    int64_t *res;

    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < l->nalerts; i++)
        if (times_wanted(l, i, alert, provider))
            total += l->alerts[i].ntimes;
    if (total == 0)
        return 0;
    tmp = malloc(total * sizeof(*tmp));
    res = malloc(total * sizeof(*res));
    if (tmp == NULL || res == NULL) {
        free(tmp);
        free(res);
        return QC_ERR_NOMEM;
    }
    for (size_t i = 0; i < l->nalerts; i++) {
        if (!times_wanted(l, i, alert, provider) || l->alerts[i].ntimes == 0)
            continue;
        memcpy(tmp + k, l->alerts[i].times, l->alerts[i].ntimes * sizeof(*tmp));
        k += l->alerts[i].ntimes;
    }
    qsort(tmp, total, sizeof(*tmp), cmp_u32);
    for (size_t i = 0; i < total; i++)
        res[i] = l->base_wall + tmp[i];
    free(tmp);
    *out = res;
    *n = total;
    return 0;
}

size_t sink_ledger_memory(const sink_ledger_t *l)
{
    size_t m = sizeof(*l);

    m += l->chunks_cap * sizeof(*l->chunks) + l->nchunks * ENTRY_CHUNK * sizeof(entry_t);
    m += l->nslots * sizeof(slot_t) + l->naslots * sizeof(slot_t);
    m += l->arena_cap * sizeof(*l->arena) + l->narena * ARENA_CHUNK;
    m += l->alerts_cap * sizeof(alert_t);
    for (size_t i = 0; i < l->nalerts; i++)
        m += l->alerts[i].len + 1 + l->alerts[i].tcap * sizeof(uint32_t) +
             (l->alerts[i].text ? l->alerts[i].textlen + 1 : 0);
    return m;
}

void sink_json_string(struct evbuffer *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    evbuffer_add(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        evbuffer_add(out, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            evbuffer_add(out, esc, 2);
        } else {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            evbuffer_add(out, esc, 6);
        }
    }
    evbuffer_add(out, s + run, len - run);
    evbuffer_add(out, "\"", 1);
}

bool sink_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* overlong forms, surrogates and values past U+10FFFF */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += n + 1;
    }
    return true;
}
