/* Pack stations on the loop (docs/daemon.md "Packing and shipping"): the stations' scanners,
 * scales and printers (opened once per device, reconnecting, kept or replaced on reload), and
 * one pack session per station driven by their events: tote scan -> item verification ->
 * check-weigh -> SSCC label (fallback printer, HELD when none prints) -> commit on the print
 * confirm. Each step is persisted in wcs:{s}:station:<id> (wcs/store/packing.h) and published on
 * state/station/<id>; the pure rules are in pack.c. */
#include "internal.h"

#include "base/err.h"
#include "base/hash.h"
#include "base/log.h"
#include "daemon/pack.h"
#include "drivers/codec/zpl.h"
#include "drivers/printer.h"
#include "drivers/scale.h"
#include "drivers/scanner.h"
#include "store/hook.h"
#include "store/packing.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCALE_TRIES    5 /* readings asked for before an unstable scale is alarmed */
#define SCALE_RETRY_US 300000ull
#define ZPL_MAX        16384
#define TMPL_MAX       65536

struct devrt {
    struct wcsd *d;
    char id[WCSD_ID_MAX];
    char sig[SIG_MAX];
    enum cfg_dev_kind kind;
    struct scanner *scn;
    struct scale *scl;
    struct printer *prn;
    enum link_state link;
    bool alarm_link, keep;
};

struct address {
    char name[65], street[65], city[65], postcode[17], country[3];
};

/* Scans a station holds while busy; one more is refused with "busy". */
enum { STATION_QUEUE_MAX = 16 };

#define STATION_FIELDS 17 /* the station hash fields pack_step writes (persist, write_idle) */

struct stationrt {
    struct wcsd *d;
    char id[WCSD_ID_MAX];
    uint32_t cfg_index;
    struct devrt *scanner, *scale, *printer, *fallback;
    struct pack_session s;
    bool loaded, loading, busy, keep;
    char carrier[WCSD_ID_MAX];
    struct address ship_to;
    /* weighing */
    unsigned scale_tries;
    bool scale_pending, scale_wait; /* a request is out / tries exhausted: waits for a rescan */
    uint64_t scale_timer;
    bool scale_timer_armed;
    /* label */
    bool label_wait; /* the label numbers wait for Redis to be back (station_load asks again) */
    uint64_t serial;
    char sscc[19], shipment[WCSD_ID_MAX];
    int64_t weight_mg, expected_mg;
    uint64_t job_id;
    struct devrt *job_on; /* the printer holding the job */
    bool job_out, committing;
    bool recovered; /* the label was resubmitted at a restart: it may print a second time */
    char *zpl;
    size_t zpl_len;
    bool alarm_printer, alarm_scale, alarm_weight;
    /* Good reads that came while the station was busy (a Redis step in flight) or loading,
     * answered in order once it is free: a packer scans at the pace of hands, not of Redis. */
    struct pack_scan queue[STATION_QUEUE_MAX];
    unsigned q_head, q_len;
    uint64_t q_timer;
    bool q_armed;
    /* What the last pack_step sent (hash_str of each station field): the next sends only
     * the fields that differ. Not valid after a failed write, a load, or before the first:
     * then all are sent. */
    uint64_t sent_hash[STATION_FIELDS];
    bool sent_valid;
    /* Group commit of verified units: while a step of this station is in flight (steps_out), a
     * verified unit's step is not sent but kept (defer: the station fields after the unit);
     * the next one replaces it. It goes out when the last step in flight is answered, or just
     * before the station's next other step, so the journal keeps the steps' order. A packer
     * faster than Redis costs one step per round trip instead of one per unit. */
    unsigned steps_out;
    struct defer_step *defer;
};

struct defer_step {
    const char *name[STATION_FIELDS]; /* persist's field names (string literals) */
    char *val[STATION_FIELDS];
    char sku[WCSD_ID_MAX];
    unsigned units; /* verified units whose changes it carries */
};

/* The station a pack_step was sent for, looked up again by id when it is answered (the station
 * may have been removed by a reload meanwhile). */
struct step_req {
    struct wcsd *d;
    char station[WCSD_ID_MAX];
};

static bool reprint_on_job(struct wcsd *d, struct devrt *dv, uint64_t job_id,
                           enum prn_job_state state, int rc);
static void reprint_retry(struct wcsd *d);
static void reprint_printer_closed(struct wcsd *d, const char *printer);
static void reprint_free_all(struct wcsd *d);

/* ---- small helpers ---- */

static struct stationrt *station_by_id(struct wcsd *d, const char *id)
{
    for (size_t i = 0; i < d->n_stations; i++)
        if (strcmp(d->stations[i]->id, id) == 0)
            return d->stations[i];
    return NULL;
}

static const struct cfg_station *scfg(const struct stationrt *st)
{
    return &st->d->site->stations[st->cfg_index];
}

static void alarm_set(struct stationrt *st, bool *flag, const char *what, bool on,
                      const char *severity, const char *text)
{
    char id[WCSD_ID_MAX + 24];
    if (*flag == on && !on)
        return;
    snprintf(id, sizeof(id), "pack.%s.%s", st->id, what);
    *flag = on;
    daemon_alarm(st->d, id, on, severity, text);
}

static void publish_state(struct stationrt *st)
{
    json_t *b, *totes;
    if (!st->d->bus)
        return;
    totes = json_array();
    for (size_t i = 0; totes && i < st->s.n_totes; i++)
        json_array_append_new(totes, json_string(st->s.totes[i]));
    uint64_t verified = 0;
    for (size_t i = 0; i < st->s.n_lines; i++)
        verified += st->s.lines[i].verified;
    b = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:s,s:s}", "id", st->id, "state",
                  pack_packml_name(&st->s), "step", pack_step_name(st->s.step), "order",
                  st->s.order, "totes", totes ? totes : json_array(), "units",
                  (json_int_t)pack_units(&st->s), "verified", (json_int_t)verified, "wrong_items",
                  (json_int_t)st->s.wrong_items, "sscc", st->sscc, "shipment", st->shipment);
    if (b)
        (void)bus_set_state(st->d->bus, "station", st->id, b);
    json_decref(b);
}

static void publish_event(struct wcsd *d, const char *type, json_t *body)
{
    if (body && d->bus)
        (void)bus_publish_event(d->bus, type, body);
    json_decref(body);
}

/* evt/pack {station, error, ...}: a refused scan; the station stays as it was. */
static void refuse(struct stationrt *st, const char *code, const char *text, const char *subject)
{
    log_info("pack scan refused station=%s error=%s subject=%s: %s", st->id, code,
             subject ? subject : "", text);
    publish_event(st->d, "pack",
                  json_pack("{s:s,s:s,s:s,s:s,s:s}", "station", st->id, "error", code, "reason",
                            text, "subject", subject ? subject : "", "order", st->s.order));
}

static void on_write_done(void *arg, const struct store_result *r)
{
    struct wcsd *d = arg;
    uint64_t sup = 0;
    if (r->rc == 0)
        return;
    /* What Redis holds is not known now: every station sends its whole session next time. */
    for (size_t i = 0; i < d->n_stations; i++)
        d->stations[i]->sent_valid = false;
    if (log_repeat_hit(&d->rep_store, loop_now_us(d->loop), 10000000, &sup))
        log_warnx("pack step refused by the store rc=%s msg=%s suppressed=%" PRIu64,
                  wcs_strerror(r->rc), r->message ? r->message : "", sup);
}

static void defer_flush(struct stationrt *st);

static void defer_free(struct defer_step *df)
{
    if (!df)
        return;
    for (size_t i = 0; i < STATION_FIELDS; i++)
        free(df->val[i]);
    free(df);
}

static void on_step_done(void *arg, const struct store_result *r)
{
    struct step_req *q = arg;
    struct stationrt *st = station_by_id(q->d, q->station);
    on_write_done(q->d, r);
    free(q);
    if (!st)
        return;
    if (st->steps_out > 0)
        st->steps_out--;
    if (st->steps_out == 0 && st->defer)
        defer_flush(st);
}

/* One journaled pack_step with the station fields sf[0..STATION_FIELDS) of which only those
 * changed since the last step are sent (pack_step writes and journals only changes anyway: this
 * spares Redis reading and comparing a whole session per verified unit). */
static void send_step(struct stationrt *st, const struct store_ctx *ctx, const char *op,
                      const char *counter, const struct store_field *sf,
                      const struct store_field *tf, size_t n_tf)
{
    struct wcsd *d = st->d;
    struct store_field out[STATION_FIELDS];
    uint64_t h[STATION_FIELDS];
    const char *tp[PACK_TOTES_MAX];
    struct step_req *q = malloc(sizeof(*q));
    size_t n = 0;
    if (!q) {
        st->sent_valid = false;
        log_warnx("pack step not written station=%s op=%s rc=%s", st->id, op,
                  wcs_strerror(-ENOMEM));
        return;
    }
    q->d = d;
    snprintf(q->station, sizeof(q->station), "%s", st->id);
    for (size_t i = 0; i < STATION_FIELDS; i++) {
        h[i] = hash_str(sf[i].value);
        if (!st->sent_valid || h[i] != st->sent_hash[i])
            out[n++] = sf[i];
    }
    for (size_t i = 0; i < st->s.n_totes; i++)
        tp[i] = st->s.totes[i];
    if (packing_step(d->store, ctx, st->id, op, counter, out, n, tp, tf ? st->s.n_totes : 0, tf,
                     tf ? n_tf : 0, on_step_done, q) != 0) {
        free(q);
        st->sent_valid = false;
        log_warnx("pack step not written station=%s op=%s", st->id, op);
        return;
    }
    st->steps_out++;
    memcpy(st->sent_hash, h, sizeof(h));
    st->sent_valid = true;
}

/* Keeps the step of a verified unit (sf: the station fields after it) in place of the one kept
 * before, which it includes. Returns 0, or -ENOMEM (then the caller sends it now). */
static int defer_keep(struct stationrt *st, const struct store_field *sf, const char *sku)
{
    struct defer_step *df = calloc(1, sizeof(*df));
    if (!df)
        return -ENOMEM;
    for (size_t i = 0; i < STATION_FIELDS; i++) {
        df->name[i] = sf[i].name;
        if (!(df->val[i] = strdup(sf[i].value))) {
            defer_free(df);
            return -ENOMEM;
        }
    }
    snprintf(df->sku, sizeof(df->sku), "%s", sku);
    df->units = st->defer ? st->defer->units + 1 : 1;
    defer_free(st->defer);
    st->defer = df;
    return 0;
}

/* Sends the kept step of verified units (journal op pack_verify; its cause the last unit's
 * product, and how many more units it carries). */
static void defer_flush(struct stationrt *st)
{
    struct defer_step *df = st->defer;
    struct store_field sf[STATION_FIELDS];
    char cause[WCSD_ID_MAX + 48];
    struct store_ctx ctx = {.actor = "wcs", .cause = cause};
    if (!df)
        return;
    st->defer = NULL;
    for (size_t i = 0; i < STATION_FIELDS; i++)
        sf[i] = (struct store_field){df->name[i], df->val[i]};
    if (df->units > 1)
        snprintf(cause, sizeof(cause), "%s and %u units before it", df->sku, df->units - 1);
    else
        snprintf(cause, sizeof(cause), "%s", df->sku);
    if (st->d->store)
        send_step(st, &ctx, "pack_verify", NULL, sf, NULL, 0);
    defer_free(df);
}

/* Persists the session (state, step, order, totes, lines and the label fields) as one
 * journaled step op; tf (may be NULL) is set on every tote of the session too. A verified
 * unit's step (op pack_verify, cause its product) may be kept and sent with the next ones
 * (group commit: struct stationrt). */
static void persist(struct stationrt *st, const char *op, const char *counter, const char *cause,
                    const struct store_field *tf, size_t n_tf)
{
    struct wcsd *d = st->d;
    bool verify = strcmp(op, "pack_verify") == 0 && !counter && !tf;
    char totes[PACK_TOTES_MAX * (WCSD_ID_MAX + 4) + 4], lines[8192], wrong[12], serial[24], w[24],
        e[24];
    struct store_ctx ctx = {.actor = "wcs", .cause = cause};
    if (pack_totes_to_json(&st->s, totes, sizeof(totes)) < 0 ||
        pack_lines_to_json(&st->s, lines, sizeof(lines)) < 0) {
        log_warnx("pack session too large to persist station=%s", st->id);
        return;
    }
    snprintf(wrong, sizeof(wrong), "%u", st->s.wrong_items);
    snprintf(serial, sizeof(serial), "%" PRIu64, st->serial);
    snprintf(w, sizeof(w), "%" PRId64, st->weight_mg);
    snprintf(e, sizeof(e), "%" PRId64, st->expected_mg);
    struct store_field sf[] = {
        {"state", pack_packml_name(&st->s)},
        {"step", pack_step_name(st->s.step)},
        {"order", st->s.order},
        {"totes", totes},
        {"lines", lines},
        {"wrong_items", wrong},
        {"carrier", st->carrier},
        {"ship_to_name", st->ship_to.name},
        {"ship_to_street", st->ship_to.street},
        {"ship_to_city", st->ship_to.city},
        {"ship_to_postcode", st->ship_to.postcode},
        {"ship_to_country", st->ship_to.country},
        {"sscc_serial", st->serial ? serial : ""},
        {"sscc", st->sscc},
        {"shipment", st->shipment},
        {"weight_mg", w},
        {"expected_mg", e},
    };
    _Static_assert(sizeof(sf) / sizeof(sf[0]) == STATION_FIELDS, "the station's fields");
    if (!d->store)
        return;
    if (verify && st->steps_out > 0 && defer_keep(st, sf, cause) == 0)
        return;
    defer_flush(st);
    send_step(st, &ctx, op, counter, sf, tf, n_tf);
}

/* Writes the station back to idle in one journaled step; tf (may be NULL) is set on every tote
 * of the session being ended (e.g. dest qa). */
static void write_idle(struct stationrt *st, const char *op, const char *counter, const char *actor,
                       const char *cause, const struct store_field *tf, size_t n_tf)
{
    struct wcsd *d = st->d;
    struct store_ctx ctx = {.actor = actor, .cause = cause};
    static const struct store_field sf[] = {
        {"state", "IDLE"},
        {"step", "idle"},
        {"order", ""},
        {"totes", "[]"},
        {"lines", "[]"},
        {"wrong_items", "0"},
        {"carrier", ""},
        {"ship_to_name", ""},
        {"ship_to_street", ""},
        {"ship_to_city", ""},
        {"ship_to_postcode", ""},
        {"ship_to_country", ""},
        {"sscc_serial", ""},
        {"sscc", ""},
        {"shipment", ""},
        {"weight_mg", "0"},
        {"expected_mg", "0"},
    };
    _Static_assert(sizeof(sf) / sizeof(sf[0]) == STATION_FIELDS, "the station's fields");
    if (!d->store)
        return;
    defer_flush(st);
    send_step(st, &ctx, op, counter, sf, tf, n_tf);
}

static void session_clear(struct stationrt *st)
{
    st->s = (struct pack_session){0};
    st->carrier[0] = '\0';
    st->ship_to = (struct address){0};
    st->serial = 0;
    st->sscc[0] = st->shipment[0] = '\0';
    st->weight_mg = st->expected_mg = 0;
    st->job_id = 0;
    st->job_on = NULL;
    st->job_out = st->committing = false;
    st->recovered = false;
    free(st->zpl);
    st->zpl = NULL;
    st->zpl_len = 0;
    st->scale_tries = 0;
    st->scale_wait = false;
    st->label_wait = false;
}

/* ---- weighing ---- */

static void weigh_start(struct stationrt *st);
static void set_idle(struct stationrt *st);

static void on_scale_timer(struct loop *l, uint64_t id, void *arg)
{
    struct stationrt *st = arg;
    (void)l;
    (void)id;
    st->scale_timer_armed = false;
    weigh_start(st);
}

static void weigh_later(struct stationrt *st)
{
    if (!st->scale_timer_armed &&
        loop_add_timer(st->d->loop, SCALE_RETRY_US, on_scale_timer, st, &st->scale_timer) == 0)
        st->scale_timer_armed = true;
}

static void weigh_start(struct stationrt *st)
{
    int rc;
    if (st->s.step != PACK_STEP_WEIGH || st->scale_pending || st->scale_wait || st->busy ||
        !st->scale || !st->scale->scl)
        return;
    rc = scale_request(st->scale->scl);
    if (rc == 0) {
        st->scale_pending = true;
        return;
    }
    /* Not connected: asked again when the scale's link comes up. */
    if (rc != WCS_E_LINK)
        weigh_later(st);
}

static void label_start(struct stationrt *st);

static void on_label_numbers(void *arg, const struct store_result *r);

static void weigh_result(struct stationrt *st, int64_t weight_mg)
{
    struct wcsd *d = st->d;
    const struct cfg_station *c = scfg(st);
    char missing[WCSD_ID_MAX] = "", text[320];
    int64_t expected = 0;
    bool ok;
    int rc = pack_expected_mg(&st->s, d->site, c->packaging_g, &expected, missing, sizeof(missing));
    ok = rc == 0 && pack_weight_ok(expected, weight_mg, c->weight_tolerance_pct);
    publish_event(d, "weigh",
                  json_pack("{s:s,s:s,s:I,s:I,s:f,s:b,s:s}", "station", st->id, "order",
                            st->s.order, "weight_mg", (json_int_t)weight_mg, "expected_mg",
                            (json_int_t)expected, "tolerance_pct", c->weight_tolerance_pct, "ok",
                            ok, "reason",
                            ok        ? ""
                            : rc != 0 ? "weight_unknown"
                                      : "out_of_tolerance"));
    st->weight_mg = weight_mg;
    st->expected_mg = expected;
    if (!ok) {
        /* The carton goes to QA: its totes are routed to the quality lane, the order stays as
         * it is, the station is free for the next order. */
        struct store_field tf[] = {{"dest", "qa"}};
        if (rc != 0)
            snprintf(text, sizeof(text),
                     "Station %s: order %s cannot be check-weighed (product %s has no weight): "
                     "carton sent to QA",
                     st->id, st->s.order, missing);
        else
            snprintf(text, sizeof(text),
                     "Station %s: order %s weighs %.3f kg, expected %.3f kg (+-%.1f%%): carton "
                     "sent to QA",
                     st->id, st->s.order, (double)weight_mg / 1e6, (double)expected / 1e6,
                     c->weight_tolerance_pct);
        alarm_set(st, &st->alarm_weight, "weight", true, "warning", text);
        log_warnx("pack weight out of tolerance station=%s order=%s weight_mg=%" PRId64
                  " expected_mg=%" PRId64,
                  st->id, st->s.order, weight_mg, expected);
        for (size_t i = 0; i < st->s.n_totes; i++) {
            struct wcsd_tote *t = hmap_get(&d->totes, st->s.totes[i]);
            if (t) {
                t->dest = WCSD_DEST_QA;
                t->dest_id[0] = '\0';
            } else {
                /* Picked since the start-up load: the sorter must know where it goes. */
                struct wcsd_tote nt = {.dest = WCSD_DEST_QA, .last_point = -1, .last_lane = -1};
                snprintf(nt.id, sizeof(nt.id), "%s", st->s.totes[i]);
                snprintf(nt.order, sizeof(nt.order), "%s", st->s.order);
                (void)wcsd_tote_put(d, &nt);
            }
        }
        publish_event(d, "pack",
                      json_pack("{s:s,s:s,s:s,s:s}", "station", st->id, "order", st->s.order,
                                "event", "qa", "error", rc != 0 ? "weight_unknown" : "weight"));
        /* The QA destination goes on the totes with the same step that frees the station. */
        write_idle(st, "pack_qa", "pack_qa", "wcs", "weight out of tolerance", tf, 1);
        session_clear(st);
        publish_state(st);
        return;
    }
    label_start(st);
}

static void on_reading(struct scale *s, int rc, const struct scale_reading *r, void *arg)
{
    struct devrt *dv = arg;
    struct wcsd *d = dv->d;
    char text[256];
    (void)s;
    for (size_t i = 0; i < d->n_stations; i++) {
        struct stationrt *st = d->stations[i];
        if (st->scale != dv || !st->scale_pending)
            continue;
        st->scale_pending = false;
        if (st->s.step != PACK_STEP_WEIGH)
            return;
        if (rc == 0 && r->stable && r->weight_mg > 0) {
            st->scale_tries = 0;
            alarm_set(st, &st->alarm_scale, "scale", false, NULL, NULL);
            weigh_result(st, r->weight_mg);
            return;
        }
        if (rc == WCS_E_RANGE || (rc == 0 && r->weight_mg <= 0)) {
            /* Negative, underload, overload: nothing to check against; a person looks. */
            snprintf(text, sizeof(text),
                     "Station %s: the scale reports %s: check the platform, then rescan a tote "
                     "of order %s",
                     st->id, rc == 0 ? "no positive weight" : "a weight out of its range",
                     st->s.order);
            st->scale_wait = true;
            alarm_set(st, &st->alarm_scale, "scale", true, "warning", text);
            refuse(st, "scale", text, st->s.order);
            return;
        }
        /* Unstable, busy, timed out: ask again a bounded number of times. */
        if (++st->scale_tries >= SCALE_TRIES) {
            snprintf(text, sizeof(text),
                     "Station %s: no stable weight after %u readings (%s): steady the carton, "
                     "then rescan a tote of order %s",
                     st->id, st->scale_tries, wcs_strerror(rc), st->s.order);
            st->scale_wait = true;
            alarm_set(st, &st->alarm_scale, "scale", true, "warning", text);
            return;
        }
        weigh_later(st);
        return;
    }
}

/* ---- label ---- */

static const char builtin_template[] =
    "^XA^CI28^PW812^LL1218\n"
    "^FO30,30^A0N,28,28^FDSHIP FROM:^FS\n"
    "^FO30,62^A0N,28,28^FH_^FD{{ship_from_name}}^FS\n"
    "^FO30,94^A0N,24,24^FH_^FD{{ship_from_street}}, {{ship_from_postcode}} {{ship_from_city}}, "
    "{{ship_from_country}}^FS\n"
    "^FO30,130^GB752,3,3^FS\n"
    "^FO30,150^A0N,28,28^FDSHIP TO:^FS\n"
    "^FO30,185^A0N,36,36^FH_^FD{{ship_to_name}}^FS\n"
    "^FO30,225^A0N,30,30^FH_^FD{{ship_to_street}}^FS\n"
    "^FO30,260^A0N,30,30^FH_^FD{{ship_to_postcode}} {{ship_to_city}}^FS\n"
    "^FO30,295^A0N,30,30^FH_^FD{{ship_to_country}}^FS\n"
    "^FO30,340^GB752,3,3^FS\n"
    "^FO30,365^A0N,28,28^FDCARRIER:^FS^FO220,360^A0N,36,36^FH_^FD{{carrier}}^FS\n"
    "^FO30,415^A0N,28,28^FDORDER:^FS^FO220,410^A0N,36,36^FH_^FD{{order}}^FS\n"
    "^FO30,465^A0N,28,28^FDWEIGHT:^FS^FO220,460^A0N,36,36^FH_^FD{{weight_kg}} kg^FS\n"
    "^FO30,520^GB752,3,3^FS\n"
    "^FO30,545^A0N,28,28^FDSSCC^FS\n"
    "^FO60,600^BY3^BCN,250,Y,N,N,D^FD(00){{sscc}}^FS\n"
    "^FO30,960^A0N,40,40^FD{{sscc_hri}}^FS\n"
    "^XZ\n";

static char *read_template(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    if (!f)
        return NULL;
    buf = malloc(TMPL_MAX + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, TMPL_MAX, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* What a carton label shows. */
struct label_data {
    const char *sscc, *order, *shipment, *station, *carrier;
    int64_t weight_mg;
    const struct address *ship_to;
};

/* Renders a carton label into a new buffer (*zpl, freed by the caller). Returns 0 or a negative
 * code with *why saying what a person must fix. */
static int render_zpl(const struct cfg_labels *lb, const struct label_data *ld, char **zpl,
                      size_t *zpl_len, const char **why)
{
    char kg[32], hri[40], *tmpl = NULL, *buf;
    int64_t hundredths = (ld->weight_mg + 5000) / 10000;
    int n;
    snprintf(kg, sizeof(kg), "%" PRId64 ".%02" PRId64, hundredths / 100, hundredths % 100);
    snprintf(hri, sizeof(hri), "(00) %s", ld->sscc);
    struct zpl_field f[] = {
        {"sscc", ld->sscc},
        {"sscc_hri", hri},
        {"order", ld->order},
        {"shipment", ld->shipment},
        {"station", ld->station},
        {"carrier", ld->carrier},
        {"weight_kg", kg},
        {"ship_to_name", ld->ship_to->name},
        {"ship_to_street", ld->ship_to->street},
        {"ship_to_city", ld->ship_to->city},
        {"ship_to_postcode", ld->ship_to->postcode},
        {"ship_to_country", ld->ship_to->country},
        {"ship_from_name", lb->ship_from.name ? lb->ship_from.name : ""},
        {"ship_from_street", lb->ship_from.street ? lb->ship_from.street : ""},
        {"ship_from_city", lb->ship_from.city ? lb->ship_from.city : ""},
        {"ship_from_postcode", lb->ship_from.postcode ? lb->ship_from.postcode : ""},
        {"ship_from_country", lb->ship_from.country ? lb->ship_from.country : ""},
    };
    if (lb->sscc_template && !(tmpl = read_template(lb->sscc_template))) {
        *why = "the label template cannot be read";
        return -errno ? -errno : -EIO;
    }
    buf = malloc(ZPL_MAX);
    if (!buf) {
        free(tmpl);
        return -ENOMEM;
    }
    n = zpl_render_template(tmpl ? tmpl : builtin_template, f, sizeof(f) / sizeof(f[0]), buf,
                            ZPL_MAX);
    free(tmpl);
    if (n < 0) {
        *why = "the label template does not render with this order's data";
        free(buf);
        return n;
    }
    *zpl = buf;
    *zpl_len = (size_t)n;
    return 0;
}

/* Renders the label of the session's carton (st->sscc set). Returns 0 or a negative code. */
static int render_label(struct stationrt *st, const char **why)
{
    struct label_data ld = {st->sscc,    st->s.order,   st->shipment, st->id,
                            st->carrier, st->weight_mg, &st->ship_to};
    free(st->zpl);
    st->zpl = NULL;
    return render_zpl(&st->d->site->labels, &ld, &st->zpl, &st->zpl_len, why);
}

static void set_held(struct stationrt *st, bool held, const char *text)
{
    if (st->s.held == held)
        return;
    st->s.held = held;
    alarm_set(st, &st->alarm_printer, "printer", held, "critical", text);
    persist(st, held ? "pack_held" : "pack_unheld", NULL, held ? "no printer" : "printer back",
            NULL, 0);
    publish_state(st);
}

static void submit(struct stationrt *st)
{
    struct printer *p = st->printer ? st->printer->prn : NULL;
    struct printer *fb = st->fallback ? st->fallback->prn : NULL;
    char text[320];
    int rc;
    if (st->job_out || !st->zpl)
        return;
    if (!p) {
        p = fb;
        fb = NULL;
    }
    if (!p) {
        snprintf(text, sizeof(text),
                 "Station %s: no printer is configured or open for the label of order %s", st->id,
                 st->s.order);
        set_held(st, true, text);
        return;
    }
    st->job_id = ++st->d->prn_job_seq;
    rc = prn_submit(p, st->job_id, st->zpl, st->zpl_len, fb);
    if (rc != 0) {
        snprintf(text, sizeof(text),
                 "Station %s: the label of order %s was not taken by printer (%s); retried", st->id,
                 st->s.order, wcs_strerror(rc));
        set_held(st, true, text);
        return;
    }
    st->job_out = true;
    st->job_on = p == (st->printer ? st->printer->prn : NULL) ? st->printer : st->fallback;
    log_info("label submitted station=%s order=%s sscc=%s shipment=%s job=%" PRIu64, st->id,
             st->s.order, st->sscc, st->shipment, st->job_id);
}

static int label_prepare(struct stationrt *st)
{
    const struct cfg_labels *lb = &st->d->site->labels;
    const char *why = "";
    char text[320];
    int rc = pack_sscc(lb->extension_digit, lb->company_prefix, st->serial, st->sscc);
    if (rc == 0)
        rc = render_label(st, &why);
    else
        why = "the SSCC serial range of the company prefix is used up";
    if (rc != 0) {
        snprintf(text, sizeof(text), "Station %s: the label of order %s cannot be made: %s", st->id,
                 st->s.order, why);
        set_held(st, true, text);
        return rc;
    }
    return 0;
}

static void on_label_numbers(void *arg, const struct store_result *r)
{
    struct stationrt *st = arg;
    set_idle(st);
    if (r->rc != 0 || r->n_values < 2) {
        log_warnx("label numbers refused station=%s rc=%s msg=%s", st->id, wcs_strerror(r->rc),
                  r->message ? r->message : "");
        /* Still weighing: the next reading asks again, once Redis is back if the link went. */
        st->scale_tries = 0;
        if (st->d->store && !store_is_ready(st->d->store))
            st->label_wait = true;
        else
            weigh_later(st);
        return;
    }
    st->serial = strtoull(r->values[0], NULL, 10);
    snprintf(st->shipment, sizeof(st->shipment), "SH-%s", r->values[1]);
    st->s.step = PACK_STEP_LABEL;
    if (label_prepare(st) != 0)
        return;
    persist(st, "pack_sscc", NULL, "label", NULL, 0);
    publish_state(st);
    submit(st);
}

static void label_start(struct stationrt *st)
{
    struct wcsd *d = st->d;
    struct store_ctx ctx = {.actor = "wcs", .cause = "in tolerance"};
    int rc;
    /* The session is persisted in step weigh first: pack_label checks it. */
    persist(st, "pack_weighed", NULL, "stable weight", NULL, 0);
    rc = d->store ? packing_label(d->store, &ctx, st->id, st->s.order, st->weight_mg,
                                  st->expected_mg, on_label_numbers, st)
                  : -EINVAL;
    if (rc == WCS_E_LINK && !store_is_ready(d->store)) {
        /* Redis is down: asked again when it is back (station_load, at the up report and
         * from the sweep), not at every reading. A store that is up but still handing over the
         * writes it held refuses reads too, briefly: the next reading asks again (below). */
        log_warnx("label numbers wait for redis station=%s order=%s", st->id, st->s.order);
        st->label_wait = true;
        return;
    }
    if (rc != 0) {
        log_warnx("label numbers not asked station=%s rc=%s", st->id, wcs_strerror(rc));
        weigh_later(st);
        return;
    }
    st->busy = true;
}

/* The printer confirmed the label: one script commits the carton (pack_commit). */
static void commit(struct stationrt *st, const char *printer)
{
    struct wcsd *d = st->d;
    char items[8192], reset[512];
    const char *tp[PACK_TOTES_MAX];
    struct store_ctx ctx = {.actor = "wcs",
                            .cause = st->recovered
                                         ? "label printed (resubmitted after a restart: the "
                                           "carton may carry two identical labels)"
                                         : "label printed"};
    struct wcsd_order o;
    struct wcsd_tote carton = {0};
    int rc;

    if (pack_items_to_json(&st->s, st->d->site, items, sizeof(items)) < 0)
        snprintf(items, sizeof(items), "[]");
    snprintf(reset, sizeof(reset),
             "{\"state\":\"IDLE\",\"step\":\"idle\",\"order\":\"\",\"totes\":\"[]\","
             "\"lines\":\"[]\",\"wrong_items\":\"0\",\"carrier\":\"\",\"ship_to_name\":\"\","
             "\"ship_to_street\":\"\",\"ship_to_city\":\"\",\"ship_to_postcode\":\"\","
             "\"ship_to_country\":\"\",\"sscc_serial\":\"\",\"sscc\":\"\",\"shipment\":\"\","
             "\"weight_mg\":\"0\",\"expected_mg\":\"0\"}");
    for (size_t i = 0; i < st->s.n_totes; i++)
        tp[i] = st->s.totes[i];
    defer_flush(st); /* the units' step before the commit that resets the station */
    struct packing_commit c = {.station = st->id,
                               .shipment = st->shipment,
                               .order = st->s.order,
                               .sscc = st->sscc,
                               .carrier = st->carrier,
                               .weight_mg = st->weight_mg,
                               .expected_mg = st->expected_mg,
                               .units = pack_units(&st->s),
                               .items_json = items,
                               .reset_json = reset,
                               .totes = tp,
                               .n_totes = st->s.n_totes};
    rc = d->store ? packing_commit(d->store, &ctx, &c, on_write_done, d) : -EINVAL;
    if (rc != 0)
        log_warnx("pack commit not written station=%s shipment=%s rc=%s", st->id, st->shipment,
                  wcs_strerror(rc));
    /* The model follows at once: the carton is routed to its carrier, the totes are free. */
    snprintf(carton.id, sizeof(carton.id), "%s", st->sscc);
    snprintf(carton.order, sizeof(carton.order), "%s", st->s.order);
    carton.dest = st->carrier[0] ? WCSD_DEST_CARRIER : WCSD_DEST_AUTO;
    snprintf(carton.dest_id, sizeof(carton.dest_id), "%s", st->carrier);
    snprintf(carton.shipment, sizeof(carton.shipment), "%s", st->shipment);
    carton.last_point = carton.last_lane = -1;
    (void)wcsd_tote_put(d, &carton);
    for (size_t i = 0; i < st->s.n_totes; i++) {
        struct wcsd_tote *t = hmap_get(&d->totes, st->s.totes[i]);
        if (t) {
            t->order[0] = '\0';
            t->dest = WCSD_DEST_AUTO;
            t->dest_id[0] = '\0';
        }
    }
    if (wcsd_order_get(d, st->s.order, &o) == 0) {
        o.state = WCSD_ORDER_PACKED;
        (void)wcsd_order_put(d, &o);
    }
    publish_event(d, "label",
                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "station", st->id, "order", st->s.order,
                            "sscc", st->sscc, "shipment", st->shipment, "printer", printer,
                            "recovered", st->recovered));
    publish_event(d, "pack",
                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "station", st->id, "event", "packed",
                            "order", st->s.order, "shipment", st->shipment, "sscc", st->sscc,
                            "units", (json_int_t)pack_units(&st->s), "weight_mg",
                            (json_int_t)st->weight_mg));
    log_info("carton packed station=%s order=%s shipment=%s sscc=%s printer=%s", st->id,
             st->s.order, st->shipment, st->sscc, printer);
    if (st->s.held)
        alarm_set(st, &st->alarm_printer, "printer", false, NULL, NULL);
    session_clear(st);
    publish_state(st);
}

static void on_job(struct printer *p, uint64_t job_id, enum prn_job_state state, int rc,
                   const struct prn_status *ps, void *arg)
{
    struct devrt *dv = arg;
    struct wcsd *d = dv->d;
    char text[320];
    (void)p;
    (void)ps;
    for (size_t i = 0; i < d->n_stations; i++) {
        struct stationrt *st = d->stations[i];
        if (!st->job_out || st->job_id != job_id)
            continue;
        switch (state) {
        case PRN_JOB_DONE:
            st->job_out = false;
            commit(st, dv->id);
            break;
        case PRN_JOB_FAILED_OVER:
            st->job_on = st->fallback;
            log_warnx("label failed over station=%s printer=%s rc=%s", st->id, dv->id,
                      wcs_strerror(rc));
            publish_event(d, "label",
                          json_pack("{s:s,s:s,s:s,s:s,s:s}", "station", st->id, "order",
                                    st->s.order, "sscc", st->sscc, "event", "failed_over",
                                    "printer", dv->id));
            break;
        case PRN_JOB_RETRYING:
            /* Kept by the printer holding it and retried there until it prints. */
            snprintf(text, sizeof(text),
                     "Station %s: no printer prints the label of order %s (last: %s, %s): fix "
                     "a printer; the label is kept and printed once",
                     st->id, st->s.order, dv->id, wcs_strerror(rc));
            set_held(st, true, text);
            break;
        }
        return;
    }
    if (!reprint_on_job(d, dv, job_id, state, rc))
        log_warnx("printer job matches no station printer=%s job=%" PRIu64, dv->id, job_id);
}

/* ---- opening a session: the tote, its contents and its order, read from Redis ---- */

struct open_req {
    struct wcsd *d;
    char station[WCSD_ID_MAX], tote[WCSD_ID_MAX], order[WCSD_ID_MAX];
    struct pack_session add; /* the tote's contents */
    int phase;
};

static void open_next(struct open_req *q);

static const char *item_get(const struct store_item *items, size_t n, const char *field)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if (!items[i].nil && !items[i + 1].nil && strcmp(items[i].str, field) == 0)
            return items[i + 1].str;
    return NULL;
}

static void copy_addr(char *dst, size_t cap, const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    snprintf(dst, cap, "%s", v ? v : "");
}

static void open_done(struct open_req *q, const struct store_item *items, size_t n)
{
    struct stationrt *st = station_by_id(q->d, q->station);
    const char *state = item_get(items, n, "state");
    const char *carrier = item_get(items, n, "carrier");
    const char *ship_to = item_get(items, n, "ship_to");
    enum wcsd_order_state os;
    bool first;
    char text[256];
    if (!st)
        return;
    set_idle(st);
    if (!state || wcsd_order_state_parse(state, &os) != 0) {
        refuse(st, "unknown_order", "the tote's order is not known", q->tote);
        return;
    }
    if (os != WCSD_ORDER_PICKED && os != WCSD_ORDER_PICKING) {
        snprintf(text, sizeof(text), "order %s is %s, not picked", q->order, state);
        refuse(st, "order_not_picked", text, q->tote);
        return;
    }
    if (st->s.step != PACK_STEP_IDLE && st->s.step != PACK_STEP_VERIFY) {
        refuse(st, "busy", "the station is weighing or labelling a carton", q->tote);
        return;
    }
    if (st->s.step == PACK_STEP_VERIFY && strcmp(st->s.order, q->order) != 0) {
        snprintf(text, sizeof(text), "tote %s belongs to order %s, the station packs %s", q->tote,
                 q->order, st->s.order);
        refuse(st, "other_order", text, q->tote);
        return;
    }
    first = st->s.step == PACK_STEP_IDLE;
    {
        struct pack_session next = st->s;
        if (pack_add_tote(&next, q->tote) != 0) {
            refuse(st, "too_many_totes", "the session holds as many totes as it can", q->tote);
            return;
        }
        for (size_t i = 0; i < q->add.n_lines; i++)
            if (pack_add_contents(&next, q->add.lines[i].sku, q->add.lines[i].lot,
                                  q->add.lines[i].qty) != 0) {
                refuse(st, "too_many_items", "the session holds as many products as it can",
                       q->tote);
                return;
            }
        st->s = next;
    }
    if (first) {
        json_t *j = ship_to ? json_loads(ship_to, 0, NULL) : NULL;
        snprintf(st->s.order, sizeof(st->s.order), "%s", q->order);
        snprintf(st->carrier, sizeof(st->carrier), "%s", carrier ? carrier : "");
        st->ship_to = (struct address){0};
        if (json_is_object(j)) {
            copy_addr(st->ship_to.name, sizeof(st->ship_to.name), j, "name");
            copy_addr(st->ship_to.street, sizeof(st->ship_to.street), j, "street");
            copy_addr(st->ship_to.city, sizeof(st->ship_to.city), j, "city");
            copy_addr(st->ship_to.postcode, sizeof(st->ship_to.postcode), j, "postcode");
            copy_addr(st->ship_to.country, sizeof(st->ship_to.country), j, "country");
        }
        json_decref(j);
        st->s.step = PACK_STEP_VERIFY;
        alarm_set(st, &st->alarm_weight, "weight", false, NULL, NULL);
    }
    persist(st, first ? "pack_open" : "pack_tote", NULL, q->tote, NULL, 0);
    publish_event(q->d, "pack",
                  json_pack("{s:s,s:s,s:s,s:s,s:I}", "station", st->id, "event",
                            first ? "opened" : "tote_added", "order", st->s.order, "tote", q->tote,
                            "units", (json_int_t)pack_units(&st->s)));
    log_info("pack %s station=%s order=%s tote=%s units=%" PRIu64,
             first ? "session opened" : "tote added", st->id, st->s.order, q->tote,
             pack_units(&st->s));
    publish_state(st);
}

static void on_open_read(void *arg, int rc, const char *msg, const struct store_item *items,
                         size_t n)
{
    struct open_req *q = arg;
    struct stationrt *st = station_by_id(q->d, q->station);
    const char *order;
    if (!st) {
        free(q);
        return;
    }
    if (rc != 0) {
        set_idle(st);
        log_warnx("pack read failed station=%s tote=%s rc=%s %s", st->id, q->tote, wcs_strerror(rc),
                  msg ? msg : "");
        refuse(st, "store", "Redis did not answer: scan the tote again", q->tote);
        free(q);
        return;
    }
    switch (q->phase) {
    case 0: /* the tote hash */
        order = item_get(items, n, "order");
        if (!order || store_id_check(order) != 0) {
            set_idle(st);
            refuse(st, "unknown_tote", n == 0 ? "no such tote" : "the tote belongs to no order",
                   q->tote);
            free(q);
            return;
        }
        snprintf(q->order, sizeof(q->order), "%s", order);
        break;
    case 1: /* its contents, <sku>:<lot> -> qty */
        for (size_t i = 0; i + 1 < n; i += 2) {
            char sku[WCSD_ID_MAX], *colon;
            long long qty = items[i + 1].nil ? 0 : strtoll(items[i + 1].str, NULL, 10);
            if (items[i].nil || qty <= 0 || qty > UINT32_MAX)
                continue;
            snprintf(sku, sizeof(sku), "%s", items[i].str);
            colon = strchr(sku, ':');
            if (!colon)
                continue;
            *colon = '\0';
            (void)pack_add_contents(&q->add, sku, colon + 1, (uint32_t)qty);
        }
        if (q->add.n_lines == 0) {
            set_idle(st);
            refuse(st, "empty_tote", "the tote is empty", q->tote);
            free(q);
            return;
        }
        break;
    default: /* the order */
        open_done(q, items, n);
        free(q);
        return;
    }
    q->phase++;
    open_next(q);
}

static void open_next(struct open_req *q)
{
    struct stationrt *st = station_by_id(q->d, q->station);
    char key[STORE_KEY_MAX + 16], sub[STORE_KEY_MAX];
    const char *argv[2] = {"HGETALL", key};
    int rc;
    if (q->phase == 0)
        rc = store_key(key, sizeof(key), q->d->site->id, "tote", q->tote);
    else if (q->phase == 1) {
        rc = store_key(sub, sizeof(sub), q->d->site->id, "tote", q->tote);
        snprintf(key, sizeof(key), "%s:contents", sub);
    } else
        rc = store_key(key, sizeof(key), q->d->site->id, "order", q->order);
    if (rc >= 0)
        rc = store_raw(q->d->store, false, 2, argv, on_open_read, q);
    if (rc != 0) {
        if (st) {
            set_idle(st);
            refuse(st, "store", "Redis is not reachable: scan the tote again later", q->tote);
        }
        free(q);
    }
}

static void scan_tote(struct stationrt *st, const char *tote)
{
    struct open_req *q;
    if (st->s.step == PACK_STEP_WEIGH && pack_has_tote(&st->s, tote)) {
        /* A rescan of the carton's tote asks the scale again after an alarm. */
        st->scale_wait = false;
        st->scale_tries = 0;
        weigh_start(st);
        return;
    }
    if (st->s.step == PACK_STEP_VERIFY && pack_has_tote(&st->s, tote)) {
        refuse(st, "duplicate_tote", "the tote is already in this session", tote);
        return;
    }
    for (size_t i = 0; i < st->d->n_stations; i++)
        if (st->d->stations[i] != st && pack_has_tote(&st->d->stations[i]->s, tote)) {
            refuse(st, "tote_elsewhere", "the tote is in another station's session", tote);
            return;
        }
    if (!st->d->store) {
        refuse(st, "store", "Redis is not reachable", tote);
        return;
    }
    q = calloc(1, sizeof(*q));
    if (!q)
        return;
    q->d = st->d;
    snprintf(q->station, sizeof(q->station), "%s", st->id);
    snprintf(q->tote, sizeof(q->tote), "%s", tote);
    st->busy = true;
    open_next(q);
}

static void scan_item(struct stationrt *st, const struct pack_scan *sc)
{
    char why[200];
    size_t line = 0;
    int rc;
    if (st->s.step != PACK_STEP_VERIFY) {
        refuse(st, "no_session",
               st->s.step == PACK_STEP_IDLE
                   ? "scan a tote first"
                   : "every unit is verified: the carton is being weighed or "
                     "labelled",
               sc->gtin);
        return;
    }
    rc = pack_verify_item(&st->s, st->d->site, sc, &line, why, sizeof(why));
    if (rc != 0) {
        st->s.wrong_items++;
        refuse(st, rc == WCS_E_UNKNOWN ? "unknown_item" : "wrong_item", why, sc->gtin);
        persist(st, "pack_wrong_item", "pack_wrong_items", why, NULL, 0);
        publish_state(st);
        return;
    }
    if (pack_all_verified(&st->s)) {
        st->s.step = PACK_STEP_WEIGH;
        st->scale_tries = 0;
        st->scale_wait = false;
    }
    persist(st, "pack_verify", NULL, st->s.lines[line].sku, NULL, 0);
    publish_event(st->d, "pack",
                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "station", st->id, "event", "verified",
                            "order", st->s.order, "sku", st->s.lines[line].sku, "lot",
                            st->s.lines[line].lot, "verified",
                            (json_int_t)st->s.lines[line].verified, "qty",
                            (json_int_t)st->s.lines[line].qty));
    publish_state(st);
    weigh_start(st);
}

static void dispatch_scan(struct stationrt *st, const struct pack_scan *sc)
{
    if (sc->kind == PACK_SCAN_TOTE)
        scan_tote(st, sc->tote);
    else
        scan_item(st, sc);
}

/* Answers the held scans in order while the station is free (a timer of the loop: never from
 * inside the callback that freed it). */
static void on_queue_timer(struct loop *l, uint64_t id, void *arg)
{
    struct stationrt *st = arg;
    (void)l;
    (void)id;
    st->q_armed = false;
    while (st->q_len > 0 && st->loaded && !st->busy) {
        struct pack_scan sc = st->queue[st->q_head];
        st->q_head = (st->q_head + 1) % STATION_QUEUE_MAX;
        st->q_len--;
        dispatch_scan(st, &sc);
    }
}

static void queue_kick(struct stationrt *st)
{
    if (st->q_len == 0 || st->q_armed || !st->d->loop)
        return;
    if (loop_add_timer(st->d->loop, 0, on_queue_timer, st, &st->q_timer) == 0)
        st->q_armed = true;
}

static void set_idle(struct stationrt *st)
{
    st->busy = false;
    queue_kick(st);
}

static void queue_cancel(struct stationrt *st)
{
    if (st->q_armed && st->d->loop)
        (void)loop_cancel_timer(st->d->loop, st->q_timer);
    st->q_armed = false;
    st->q_len = 0;
}

static void on_read(struct scanner *s, const struct scan_read *r, void *arg)
{
    struct devrt *dv = arg;
    struct wcsd *d = dv->d;
    struct pack_scan sc;
    (void)s;
    for (size_t i = 0; i < d->n_stations; i++) {
        struct stationrt *st = d->stations[i];
        if (st->scanner != dv)
            continue;
        if (r->result != SCAN_GOOD) {
            refuse(st, "no_read",
                   r->result == SCAN_NOREAD ? "nothing was read: scan again"
                                            : "several barcodes were read",
                   "");
            return;
        }
        if (pack_scan_parse(r->aim, r->data, r->len, &sc) != 0) {
            refuse(st, "unreadable", "the barcode is neither a tote nor an item", "");
            return;
        }
        if (!st->loaded || st->busy || st->q_len > 0) {
            if (st->q_len == STATION_QUEUE_MAX) {
                /* The subject names what to scan again: the tote or the item's GTIN. */
                refuse(st, "busy",
                       st->loaded ? "the station is busy: scan again"
                                  : "the station is starting: scan again",
                       sc.kind == PACK_SCAN_TOTE ? sc.tote : sc.gtin);
                return;
            }
            st->queue[(st->q_head + st->q_len) % STATION_QUEUE_MAX] = sc;
            st->q_len++;
            if (st->loaded && !st->busy)
                queue_kick(st);
            return;
        }
        dispatch_scan(st, &sc);
        return;
    }
}

/* ---- devices ---- */

static void dev_link(struct devrt *dv, enum link_state ls, int rc)
{
    struct wcsd *d = dv->d;
    char id[WCSD_ID_MAX + 16], text[256];
    json_t *b;
    bool was_up = dv->link == LINK_UP;
    dv->link = ls;
    if (ls == LINK_CONNECTING)
        return;
    snprintf(id, sizeof(id), "dev.%s.link", dv->id);
    if (ls == LINK_UP && !was_up) {
        log_info("device link up dev=%s kind=%s", dv->id, cfg_dev_kind_name(dv->kind));
        if (dv->alarm_link) {
            dv->alarm_link = false;
            daemon_alarm(d, id, false, NULL, NULL);
        }
    } else if (ls == LINK_DOWN && !dv->alarm_link) {
        dv->alarm_link = true;
        log_warnx("device link down dev=%s kind=%s rc=%s", dv->id, cfg_dev_kind_name(dv->kind),
                  wcs_strerror(rc));
        snprintf(text, sizeof(text), "%s %s is not reachable (%s): check its cable and power",
                 cfg_dev_kind_name(dv->kind), dv->id, wcs_strerror(rc));
        daemon_alarm(d, id, true, "warning", text);
    }
    b = json_pack("{s:s,s:s,s:s,s:s}", "id", dv->id, "kind", cfg_dev_kind_name(dv->kind), "state",
                  ls == LINK_UP ? "EXECUTE" : "ABORTED", "link", ls == LINK_UP ? "up" : "down");
    if (b && d->bus)
        (void)bus_set_state(d->bus, "device", dv->id, b);
    json_decref(b);
    if (ls == LINK_UP && dv->kind == CFG_DEV_SCALE)
        for (size_t i = 0; i < d->n_stations; i++)
            if (d->stations[i]->scale == dv)
                weigh_start(d->stations[i]);
}

static void on_scan_state(struct scanner *s, enum link_state ls, int rc, void *arg)
{
    (void)s;
    dev_link(arg, ls, rc);
}

static void on_scale_state(struct scale *s, enum link_state ls, int rc, void *arg)
{
    (void)s;
    dev_link(arg, ls, rc);
}

static void on_prn_state(struct printer *p, enum link_state ls, int rc, void *arg)
{
    (void)p;
    dev_link(arg, ls, rc);
}

static void on_zero(struct scale *s, int rc, void *arg)
{
    (void)s;
    (void)rc;
    (void)arg;
}

/* The transport address of a device URI; usb is set for usb:// (which needs the USB host). */
static int dev_addr(const struct cfg_device *dev, struct tr_addr *a, struct usb_match *um,
                    bool *usb)
{
    *usb = false;
    switch (dev->uri.scheme) {
    case CFG_URI_TCP:
        return tr_addr_tcp(a, dev->uri.host, dev->uri.port) == 0 ? 0 : WCS_E_CONFIG;
    case CFG_URI_SERIAL:
    case CFG_URI_RTU:
        return tr_addr_serial(a, dev->uri.device, dev->uri.baud, dev->uri.parity,
                              dev->uri.data_bits, dev->uri.stop_bits) == 0
                   ? 0
                   : WCS_E_CONFIG;
    case CFG_URI_USB:
        *usb = true;
        um->vid = dev->uri.vid;
        um->pid = dev->uri.pid;
        snprintf(um->serial, sizeof(um->serial), "%s", dev->uri.serial);
        return 0;
    }
    return WCS_E_CONFIG;
}

static void dev_sig(const struct cfg_device *dev, char *sig, size_t cap)
{
    snprintf(sig, cap, "%s|%s|%s|%s|%s|%s|%d|%u", dev->id, cfg_dev_kind_name(dev->kind),
             cfg_dev_model_name(dev->model), dev->uri_text, dev->no_read ? dev->no_read : "",
             dev->multi_read ? dev->multi_read : "", (int)dev->terminator, dev->dpi);
}

/* A device's deadline in the loop clock's milliseconds for ms of real time: devices answer in
 * real time, while the loop may run on a scaled clock (the simulator's shifts run faster), like
 * the decision budgets (docs/daemon.md). */
static uint32_t real_ms(const struct wcsd *d, uint32_t ms)
{
    double v = (double)ms * (d->speed > 0 ? d->speed : 1.0);
    return v >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int dev_open(struct wcsd *d, const struct cfg_device *dev, struct devrt **out)
{
    struct devrt *dv = calloc(1, sizeof(*dv));
    struct usb_match um = {0};
    struct tr_addr addr = {0};
    bool usb = false;
    int rc;
    if (!dv)
        return -ENOMEM;
    dv->d = d;
    dv->kind = dev->kind;
    dv->link = LINK_CONNECTING;
    snprintf(dv->id, sizeof(dv->id), "%s", dev->id);
    dev_sig(dev, dv->sig, sizeof(dv->sig));
    rc = dev_addr(dev, &addr, &um, &usb);
    if (rc == 0 && usb && !d->usb && (rc = usb_host_open(&d->usb, d->loop)) != 0)
        log_warnx("usb host not opened dev=%s rc=%s", dev->id, wcs_strerror(rc));
    if (rc == 0 && dev->kind == CFG_DEV_SCANNER) {
        struct scan_cfg c = {.model = dev->model == CFG_MODEL_HIDPOS ? SCAN_HIDPOS : SCAN_LINE,
                             .addr = addr,
                             .usb = um,
                             .term = dev->terminator == CFG_TERM_CR   ? SCAN_TERM_CR
                                     : dev->terminator == CFG_TERM_LF ? SCAN_TERM_LF
                                                                      : SCAN_TERM_CRLF};
        struct scan_cbs cb = {on_read, on_scan_state};
        snprintf(c.no_read, sizeof(c.no_read), "%s", dev->no_read ? dev->no_read : "");
        snprintf(c.multi_read, sizeof(c.multi_read), "%s", dev->multi_read ? dev->multi_read : "");
        rc = scan_open(&dv->scn, d->loop, d->usb, &c, &cb, dv);
    } else if (rc == 0 && dev->kind == CFG_DEV_SCALE) {
        struct scale_cfg c = {.model = dev->model == CFG_MODEL_NCI      ? SCALE_NCI
                                       : dev->model == CFG_MODEL_HIDPOS ? SCALE_HIDPOS
                                                                        : SCALE_MT_SICS,
                              .addr = addr,
                              .usb = um,
                              .reply_timeout_ms = real_ms(d, 4000)};
        struct scale_cbs cb = {on_reading, on_zero, on_scale_state};
        rc = scale_open(&dv->scl, d->loop, d->usb, &c, &cb, dv);
    } else if (rc == 0 && dev->kind == CFG_DEV_PRINTER) {
        struct prn_cfg c = {.id = dev->id,
                            .usb = usb,
                            .addr = addr,
                            .usbm = um,
                            .status_timeout_ms = real_ms(d, 1000),
                            .retry_ms = real_ms(d, 1000)};
        struct prn_cbs cb = {on_job, on_prn_state};
        rc = prn_open(&dv->prn, d->loop, d->usb, &c, &cb, dv);
    }
    if (rc != 0) {
        log_warnx("device not opened dev=%s uri=%s rc=%s", dev->id, dev->uri_text,
                  wcs_strerror(rc));
        free(dv);
        return rc;
    }
    log_info("device opened dev=%s kind=%s uri=%s", dev->id, cfg_dev_kind_name(dev->kind),
             dev->uri_text);
    *out = dv;
    return 0;
}

static void dev_close(struct wcsd *d, struct devrt *dv, bool publish)
{
    char id[WCSD_ID_MAX + 16];
    if (!dv)
        return;
    scan_close(dv->scn);
    scale_close(dv->scl);
    prn_close(dv->prn);
    if (dv->prn)
        reprint_printer_closed(d, dv->id);
    if (publish && dv->alarm_link) {
        snprintf(id, sizeof(id), "dev.%s.link", dv->id);
        daemon_alarm(d, id, false, NULL, NULL);
    }
    if (publish && d->bus)
        (void)bus_del_state(d->bus, "device", dv->id);
    free(dv);
}

static struct devrt *dev_find(struct devrt **v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i]->id, id) == 0)
            return v[i];
    return NULL;
}

static bool dev_used(const struct cfg_site *site, uint32_t dev)
{
    for (uint32_t i = 0; i < site->n_stations; i++) {
        const struct cfg_station *s = &site->stations[i];
        if (s->kind == CFG_STATION_PACK &&
            (s->scanner == (int32_t)dev || s->scale == (int32_t)dev || s->printer == (int32_t)dev ||
             s->fallback_printer == (int32_t)dev))
            return true;
    }
    return false;
}

/* ---- life cycle ---- */

int station_sync(struct wcsd *d, const struct cfg_site *site)
{
    struct devrt **devs = calloc(site->n_devices ? site->n_devices : 1, sizeof(*devs));
    struct stationrt **sts = calloc(site->n_stations ? site->n_stations : 1, sizeof(*sts));
    size_t nd = 0, ns = 0;
    if (!devs || !sts) {
        free(devs);
        free(sts);
        return -ENOMEM;
    }
    for (size_t i = 0; i < d->n_devs; i++)
        d->devs[i]->keep = false;
    for (uint32_t i = 0; i < site->n_devices; i++) {
        const struct cfg_device *dev = &site->devices[i];
        char sig[SIG_MAX];
        struct devrt *dv = NULL;
        if (dev->kind == CFG_DEV_PLC || !dev_used(site, i))
            continue;
        dev_sig(dev, sig, sizeof(sig));
        for (size_t k = 0; k < d->n_devs; k++)
            if (!d->devs[k]->keep && strcmp(d->devs[k]->sig, sig) == 0)
                dv = d->devs[k];
        if (dv) {
            dv->keep = true;
            devs[nd++] = dv;
        } else if (dev_open(d, dev, &dv) == 0) {
            dv->keep = true;
            devs[nd++] = dv;
        }
    }
    /* Stations: a session survives a reload by station id. */
    for (size_t i = 0; i < d->n_stations; i++)
        d->stations[i]->keep = false;
    for (uint32_t i = 0; i < site->n_stations; i++) {
        const struct cfg_station *c = &site->stations[i];
        struct stationrt *st;
        if (c->kind != CFG_STATION_PACK)
            continue;
        st = station_by_id(d, c->id);
        if (!st) {
            st = calloc(1, sizeof(*st));
            if (!st)
                continue;
            st->d = d;
            snprintf(st->id, sizeof(st->id), "%s", c->id);
        }
        st->keep = true;
        st->cfg_index = i;
        st->scanner = c->scanner >= 0 ? dev_find(devs, nd, site->devices[c->scanner].id) : NULL;
        st->scale = c->scale >= 0 ? dev_find(devs, nd, site->devices[c->scale].id) : NULL;
        st->printer = c->printer >= 0 ? dev_find(devs, nd, site->devices[c->printer].id) : NULL;
        st->fallback = c->fallback_printer >= 0
                           ? dev_find(devs, nd, site->devices[c->fallback_printer].id)
                           : NULL;
        sts[ns++] = st;
    }
    for (size_t i = 0; i < d->n_stations; i++) {
        struct stationrt *st = d->stations[i];
        if (st->keep)
            continue;
        log_info("pack station removed station=%s step=%s", st->id, pack_step_name(st->s.step));
        if (st->scale_timer_armed)
            (void)loop_cancel_timer(d->loop, st->scale_timer);
        queue_cancel(st);
        defer_flush(st); /* its verified units' step, kept behind one in flight */
        if (d->bus)
            (void)bus_del_state(d->bus, "station", st->id);
        free(st->zpl);
        free(st);
    }
    for (size_t i = 0; i < d->n_devs; i++)
        if (!d->devs[i]->keep) {
            log_info("device closed dev=%s", d->devs[i]->id);
            /* A label it held is submitted again below by its station. */
            for (size_t k = 0; k < ns; k++)
                if (sts[k]->job_out && sts[k]->job_on == d->devs[i])
                    sts[k]->job_out = false;
            dev_close(d, d->devs[i], true);
        }
    free(d->devs);
    free(d->stations);
    d->devs = devs;
    d->n_devs = nd;
    d->stations = sts;
    d->n_stations = ns;
    for (size_t i = 0; i < ns; i++)
        if (sts[i]->loaded && sts[i]->s.step == PACK_STEP_LABEL && !sts[i]->job_out &&
            !sts[i]->committing)
            submit(sts[i]);
    return 0;
}

void station_close_all(struct wcsd *d)
{
    reprint_free_all(d);
    for (size_t i = 0; i < d->n_stations; i++) {
        if (d->stations[i]->scale_timer_armed && d->loop)
            (void)loop_cancel_timer(d->loop, d->stations[i]->scale_timer);
        queue_cancel(d->stations[i]);
        if (d->stations[i]->defer)
            log_warnx("pack step not written station=%s: %u verified units after the last "
                      "step in flight (the drain timed out)",
                      d->stations[i]->id, d->stations[i]->defer->units);
        defer_free(d->stations[i]->defer);
        free(d->stations[i]->zpl);
        free(d->stations[i]);
    }
    for (size_t i = 0; i < d->n_devs; i++)
        dev_close(d, d->devs[i], false);
    free(d->stations);
    free(d->devs);
    d->stations = NULL;
    d->devs = NULL;
    d->n_stations = d->n_devs = 0;
    usb_host_close(d->usb);
    d->usb = NULL;
}

/* ---- resuming sessions from Redis ---- */

struct load_req {
    struct wcsd *d;
    char station[WCSD_ID_MAX];
};

static void resume(struct stationrt *st, const struct store_item *items, size_t n)
{
    const char *step = item_get(items, n, "step"), *v;
    enum pack_step ps = PACK_STEP_IDLE;
    struct pack_session s = {0};
    if (!step || pack_step_parse(step, &ps) != 0 || ps == PACK_STEP_IDLE)
        return;
    v = item_get(items, n, "totes");
    if (!v || pack_totes_from_json(&s, v, strlen(v)) != 0)
        goto bad;
    v = item_get(items, n, "lines");
    if (!v || pack_lines_from_json(&s, v, strlen(v)) != 0)
        goto bad;
    v = item_get(items, n, "order");
    if (!v || store_id_check(v) != 0)
        goto bad;
    snprintf(s.order, sizeof(s.order), "%s", v);
    v = item_get(items, n, "wrong_items");
    s.wrong_items = v ? (uint32_t)strtoul(v, NULL, 10) : 0;
    v = item_get(items, n, "state");
    s.held = v && strcmp(v, "HELD") == 0;
    s.step = ps;
    st->s = s;
#define COPY(dst, name)                                                                            \
    do {                                                                                           \
        const char *x = item_get(items, n, name);                                                  \
        snprintf(dst, sizeof(dst), "%s", x ? x : "");                                              \
    } while (0)
    COPY(st->carrier, "carrier");
    COPY(st->ship_to.name, "ship_to_name");
    COPY(st->ship_to.street, "ship_to_street");
    COPY(st->ship_to.city, "ship_to_city");
    COPY(st->ship_to.postcode, "ship_to_postcode");
    COPY(st->ship_to.country, "ship_to_country");
    COPY(st->shipment, "shipment");
#undef COPY
    v = item_get(items, n, "sscc_serial");
    st->serial = v ? strtoull(v, NULL, 10) : 0;
    v = item_get(items, n, "weight_mg");
    st->weight_mg = v ? strtoll(v, NULL, 10) : 0;
    v = item_get(items, n, "expected_mg");
    st->expected_mg = v ? strtoll(v, NULL, 10) : 0;
    log_info("pack session resumed station=%s order=%s step=%s totes=%zu units=%" PRIu64, st->id,
             st->s.order, pack_step_name(ps), st->s.n_totes, pack_units(&st->s));
    if (ps == PACK_STEP_LABEL) {
        if (st->serial == 0 || !st->shipment[0]) {
            /* The numbers were not recorded: weigh again. */
            st->s.step = PACK_STEP_WEIGH;
        } else if (label_prepare(st) == 0) {
            /* The last process may have printed this label and died before its confirm was
             * recorded: the label goes out again with the same SSCC and shipment (never new
             * numbers: pack_label answers the recorded ones), made visible as a recovery. */
            st->recovered = true;
            log_warnx("label resubmitted after a restart station=%s order=%s sscc=%s shipment=%s: "
                      "it may be printed a second time (same SSCC)",
                      st->id, st->s.order, st->sscc, st->shipment);
            persist(st, "pack_label_recovered", "pack_labels_recovered",
                    "restart with a label at the printer: printed again with the same SSCC", NULL,
                    0);
            publish_event(st->d, "label",
                          json_pack("{s:s,s:s,s:s,s:s,s:s}", "station", st->id, "order",
                                    st->s.order, "sscc", st->sscc, "shipment", st->shipment,
                                    "event", "recovered"));
            submit(st);
        }
    }
    weigh_start(st);
    return;
bad:
    log_warnx("pack session not resumed station=%s: its record does not parse; the totes keep "
              "their contents, scan them again",
              st->id);
}

static void on_station_read(void *arg, int rc, const char *msg, const struct store_item *items,
                            size_t n)
{
    struct load_req *q = arg;
    struct stationrt *st = station_by_id(q->d, q->station);
    if (st) {
        st->loading = false;
        if (rc != 0) {
            log_warnx("pack session not read station=%s rc=%s %s", st->id, wcs_strerror(rc),
                      msg ? msg : "");
        } else {
            st->loaded = true;
            st->sent_valid = false; /* Redis's copy is what was read, not what was last sent */
            resume(st, items, n);
            publish_state(st);
            queue_kick(st);
        }
    }
    free(q);
}

void station_load(struct wcsd *d)
{
    reprint_retry(d);
    for (size_t i = 0; i < d->n_stations; i++) {
        struct stationrt *st = d->stations[i];
        char key[STORE_KEY_MAX];
        const char *argv[2] = {"HGETALL", key};
        struct load_req *q;
        if (st->label_wait && d->store && store_is_ready(d->store)) {
            /* weighed again first: the carton may have changed while Redis was away */
            st->label_wait = false;
            st->scale_tries = 0;
            weigh_start(st);
        }
        if (st->loaded || st->loading || !d->store || !store_is_ready(d->store))
            continue;
        if (store_key(key, sizeof(key), d->site->id, "station", st->id) < 0)
            continue;
        q = calloc(1, sizeof(*q));
        if (!q)
            continue;
        q->d = d;
        snprintf(q->station, sizeof(q->station), "%s", st->id);
        if (store_raw(d->store, false, 2, argv, on_station_read, q) != 0)
            free(q);
        else
            st->loading = true;
    }
}

int station_reset(struct wcsd *d, const char *station, const char *order, const char *actor,
                  const char *cause, char *why, size_t cap)
{
    struct stationrt *st = station_by_id(d, station ? station : "");
    if (!st) {
        snprintf(why, cap, "no pack station %s", station ? station : "");
        return WCS_E_UNKNOWN;
    }
    if (st->busy) {
        snprintf(why, cap, "station %s is reading Redis: retry", st->id);
        return WCS_E_STATE;
    }
    /* A reset meant for one carton (a supervisor's screen, a request sent again) never ends the
     * next carton's session. */
    if (order && st->s.order[0] && strcmp(st->s.order, order) != 0) {
        snprintf(why, cap, "station %s is packing order %s, not %s: nothing reset", st->id,
                 st->s.order, order);
        return WCS_E_STATE;
    }
    if (st->s.step == PACK_STEP_LABEL) {
        snprintf(why, cap,
                 "station %s has the label of order %s at a printer: it is printed once a "
                 "printer takes it",
                 st->id, st->s.order);
        return WCS_E_STATE;
    }
    log_info("pack session reset station=%s order=%s actor=%s", st->id, st->s.order, actor);
    publish_event(d, "pack",
                  json_pack("{s:s,s:s,s:s,s:s}", "station", st->id, "event", "reset", "order",
                            st->s.order, "by", actor));
    write_idle(st, "pack_reset", NULL, actor, cause, NULL, 0);
    session_clear(st);
    st->scale_pending = false;
    alarm_set(st, &st->alarm_scale, "scale", false, NULL, NULL);
    publish_state(st);
    return 0;
}

/* ---- label reprints (label.reprint, docs/mqtt.md) ---- */

/* A reprint: the shipment's SSCC label rendered again from its Redis records and printed on
 * the named printer (or its packing station's), with the station's other printer as fallback.
 * Kept until a printer confirms it: never dropped, printed once. */
struct reprint {
    struct wcsd *d;
    struct reprint *next;
    char shipment[WCSD_ID_MAX], printer[WCSD_ID_MAX], station[WCSD_ID_MAX];
    char sscc[19], order[WCSD_ID_MAX], carrier[WCSD_ID_MAX], on[WCSD_ID_MAX];
    int64_t weight_mg;
    struct address ship_to;
    char *zpl;
    size_t zpl_len;
    uint64_t job_id;
    bool out, alarm, reading;
};

static void reprint_alarm(struct reprint *r, bool on, const char *text)
{
    char id[WCSD_ID_MAX + 16];
    if (r->alarm == on)
        return;
    r->alarm = on;
    snprintf(id, sizeof(id), "reprint.%s", r->shipment);
    daemon_alarm(r->d, id, on, "critical", text);
}

static void reprint_free(struct wcsd *d, struct reprint *r)
{
    for (struct reprint **pp = &d->reprints; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    free(r->zpl);
    free(r);
}

static struct devrt *open_printer(struct wcsd *d, const char *id)
{
    struct devrt *dv = id && id[0] ? dev_find(d->devs, d->n_devs, id) : NULL;
    return dv && dv->prn ? dv : NULL;
}

/* Hands a rendered reprint to its printer; one that no printer takes now is tried again from
 * the 500 ms sweep (station_load). */
static void reprint_submit(struct reprint *r)
{
    struct wcsd *d = r->d;
    struct stationrt *st = r->station[0] ? station_by_id(d, r->station) : NULL;
    struct devrt *p = open_printer(d, r->printer), *fb = NULL;
    char text[320];
    int rc;
    if (r->out || !r->zpl)
        return;
    if (st) {
        struct devrt *sp = st->printer && st->printer->prn ? st->printer : NULL;
        struct devrt *sf = st->fallback && st->fallback->prn ? st->fallback : NULL;
        if (!p) {
            p = sp ? sp : sf;
            fb = sp ? sf : NULL;
        } else {
            fb = sp && sp != p ? sp : sf && sf != p ? sf : NULL;
        }
    }
    if (!p) {
        snprintf(text, sizeof(text),
                 "The label of shipment %s cannot be printed again: printer %s is not open; it "
                 "is printed once one is",
                 r->shipment, r->printer[0] ? r->printer : "of its station");
        reprint_alarm(r, true, text);
        return;
    }
    r->job_id = ++d->prn_job_seq;
    rc = prn_submit(p->prn, r->job_id, r->zpl, r->zpl_len, fb ? fb->prn : NULL);
    if (rc != 0) {
        snprintf(text, sizeof(text),
                 "The label of shipment %s was not taken by printer %s (%s); retried", r->shipment,
                 p->id, wcs_strerror(rc));
        reprint_alarm(r, true, text);
        return;
    }
    r->out = true;
    snprintf(r->on, sizeof(r->on), "%s", p->id);
    log_info("label reprint submitted shipment=%s sscc=%s printer=%s fallback=%s job=%" PRIu64,
             r->shipment, r->sscc, p->id, fb ? fb->id : "", r->job_id);
}

/* A printer job that is not a station's: a reprint's. Returns true when it was one. */
static bool reprint_on_job(struct wcsd *d, struct devrt *dv, uint64_t job_id,
                           enum prn_job_state state, int rc)
{
    char text[320];
    struct reprint *r = d->reprints;
    while (r && !(r->out && r->job_id == job_id))
        r = r->next;
    if (!r)
        return false;
    switch (state) {
    case PRN_JOB_DONE:
        log_info("label reprinted shipment=%s sscc=%s printer=%s", r->shipment, r->sscc, dv->id);
        publish_event(d, "label",
                      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "event", "reprinted", "station",
                                r->station, "order", r->order, "sscc", r->sscc, "shipment",
                                r->shipment, "printer", dv->id));
        reprint_alarm(r, false, NULL);
        reprint_free(d, r);
        break;
    case PRN_JOB_FAILED_OVER:
        log_warnx("label reprint failed over shipment=%s printer=%s rc=%s", r->shipment, dv->id,
                  wcs_strerror(rc));
        publish_event(d, "label",
                      json_pack("{s:s,s:s,s:s,s:s,s:s}", "event", "failed_over", "station",
                                r->station, "sscc", r->sscc, "shipment", r->shipment, "printer",
                                dv->id));
        break;
    case PRN_JOB_RETRYING:
        snprintf(text, sizeof(text),
                 "No printer prints the label reprint of shipment %s (last: %s, %s): fix a "
                 "printer; the label is kept and printed once",
                 r->shipment, dv->id, wcs_strerror(rc));
        reprint_alarm(r, true, text);
        break;
    }
    return true;
}

static void on_reprint_order(void *arg, int rc, const char *msg, const struct store_item *items,
                             size_t n)
{
    struct reprint *r = arg;
    const char *why = "";
    json_t *j;
    r->reading = false;
    if (rc != 0) {
        log_warnx("label reprint not made shipment=%s rc=%s %s", r->shipment, wcs_strerror(rc),
                  msg ? msg : "");
        reprint_free(r->d, r);
        return;
    }
    if (n >= 1 && !items[0].nil && (j = json_loadb(items[0].str, items[0].len, 0, NULL))) {
        copy_addr(r->ship_to.name, sizeof(r->ship_to.name), j, "name");
        copy_addr(r->ship_to.street, sizeof(r->ship_to.street), j, "street");
        copy_addr(r->ship_to.city, sizeof(r->ship_to.city), j, "city");
        copy_addr(r->ship_to.postcode, sizeof(r->ship_to.postcode), j, "postcode");
        copy_addr(r->ship_to.country, sizeof(r->ship_to.country), j, "country");
        json_decref(j);
    }
    struct label_data ld = {r->sscc,    r->order,     r->shipment, r->station,
                            r->carrier, r->weight_mg, &r->ship_to};
    if ((rc = render_zpl(&r->d->site->labels, &ld, &r->zpl, &r->zpl_len, &why)) != 0) {
        char text[320];
        snprintf(text, sizeof(text), "The label of shipment %s cannot be made again: %s",
                 r->shipment, why);
        log_warnx("label reprint not made shipment=%s rc=%s: %s", r->shipment, wcs_strerror(rc),
                  why);
        publish_event(r->d, "label",
                      json_pack("{s:s,s:s,s:s}", "event", "reprint_failed", "shipment", r->shipment,
                                "reason", why));
        reprint_free(r->d, r);
        return;
    }
    reprint_submit(r);
}

static void on_reprint_shipment(void *arg, int rc, const char *msg, const struct store_item *items,
                                size_t n)
{
    struct reprint *r = arg;
    struct wcsd *d = r->d;
    char key[STORE_KEY_MAX];
    const char *argv[3] = {"HGET", key, "ship_to"};
    const char *sscc = item_get(items, n, "sscc"), *order = item_get(items, n, "order");
    const char *v;
    if (rc != 0 || !sscc || strlen(sscc) != 18 || !order) {
        log_warnx("label reprint not made shipment=%s rc=%s %s", r->shipment, wcs_strerror(rc),
                  rc ? (msg ? msg : "") : "the shipment has no SSCC carton (not packed here)");
        publish_event(d, "label",
                      json_pack("{s:s,s:s,s:s}", "event", "reprint_failed", "shipment", r->shipment,
                                "reason", rc ? "redis" : "the shipment has no SSCC carton"));
        reprint_free(d, r);
        return;
    }
    snprintf(r->sscc, sizeof(r->sscc), "%s", sscc);
    snprintf(r->order, sizeof(r->order), "%s", order);
    if ((v = item_get(items, n, "carrier")))
        snprintf(r->carrier, sizeof(r->carrier), "%s", v);
    if ((v = item_get(items, n, "station")))
        snprintf(r->station, sizeof(r->station), "%s", v);
    if ((v = item_get(items, n, "weight_mg")))
        r->weight_mg = strtoll(v, NULL, 10);
    if (store_key(key, sizeof(key), d->site->id, "order", r->order) < 0 ||
        store_raw(d->store, false, 3, argv, on_reprint_order, r) != 0) {
        log_warnx("label reprint not made shipment=%s: order %s not readable", r->shipment,
                  r->order);
        reprint_free(d, r);
    }
}

void station_reprint(struct wcsd *d, const char *shipment, const char *printer)
{
    char key[STORE_KEY_MAX];
    const char *argv[2] = {"HGETALL", key};
    struct reprint *r;
    if (!d->store || store_key(key, sizeof(key), d->site->id, "shipment", shipment) < 0)
        return;
    if (!(r = calloc(1, sizeof(*r)))) {
        log_warnx("label reprint not made shipment=%s: out of memory", shipment);
        return;
    }
    r->d = d;
    snprintf(r->shipment, sizeof(r->shipment), "%s", shipment);
    snprintf(r->printer, sizeof(r->printer), "%s", printer ? printer : "");
    r->next = d->reprints;
    d->reprints = r;
    r->reading = true;
    if (store_raw(d->store, false, 2, argv, on_reprint_shipment, r) != 0) {
        log_warnx("label reprint not made shipment=%s: redis not ready", shipment);
        reprint_free(d, r);
    }
}

/* Reprints no printer holds (none was open, or the one holding it was closed) go out again. */
static void reprint_retry(struct wcsd *d)
{
    for (struct reprint *r = d->reprints; r; r = r->next)
        if (!r->out && !r->reading)
            reprint_submit(r);
}

static void reprint_printer_closed(struct wcsd *d, const char *printer)
{
    for (struct reprint *r = d->reprints; r; r = r->next)
        if (r->out && strcmp(r->on, printer) == 0)
            r->out = false;
}

static void reprint_free_all(struct wcsd *d)
{
    while (d->reprints)
        reprint_free(d, d->reprints);
}
