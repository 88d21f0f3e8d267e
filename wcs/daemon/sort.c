/* The sortation flow on the loop (docs/daemon.md): a new scan_seq becomes a decision written
 * through conv_plc_decide within the scan point's budget, answered from memory only; Redis and
 * MQTT work (journal, tote record, events) happens after the decision is queued. Scans the PLC
 * worker answered itself from the decision table (derived here from the model and republished on
 * every change) arrive decided and get the same bookkeeping. Confirmations are matched to
 * outstanding decisions by scan point and sequence and update the tote and lane. */
#include "internal.h"

#include "base/err.h"
#include "base/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANE_FULL_HOLD_US (10ull * 1000 * 1000) /* a lane reported full is avoided this long */

/* ---- the PLC decision table ---- */

int sort_table_open(struct wcsd *d)
{
    /* route_tote_id is pure and thread-safe: the workers run it on the scan data. */
    return conv_table_new(&d->tab, route_tote_id);
}

static void table_warn(struct wcsd *d, const char *what, int rc)
{
    uint64_t sup = 0;
    if (log_repeat_hit(&d->rep_table, loop_now_us(d->loop), 10000000, &sup))
        log_warnx("decision table not updated what=%s rc=%s suppressed=%" PRIu64
                  " (the loop decides what the table cannot)",
                  what, wcs_strerror(rc), sup);
}

static void table_publish(struct wcsd *d)
{
    if (!d->loading)
        (void)conv_table_publish(d->tab);
}

static struct conv_rule rule_of(const struct route_out *r, bool ok)
{
    struct conv_rule c = {.kind = ok ? CONV_RULE_WRITE : CONV_RULE_ASK, .lane = -1};
    c.dest_lane = r->dest_lane;
    c.cmd_flags = r->cmd_flags;
    if (r->action == ROUTE_DIVERT)
        c.lane = r->lane;
    return c;
}

/* One rule set per site scan point: the fixed refusals and every class with a table-safe
 * decision there, computed with all lanes up (the lane flags are checked at scan time). */
static int table_rules(struct wcsd *d)
{
    const struct cfg_site *s = d->site;
    uint32_t n_lanes = s->n_lanes ? s->n_lanes : 1;
    size_t n_sets = s->n_scan_points;
    struct conv_ruleset *sets = calloc(n_sets ? n_sets : 1, sizeof(*sets));
    struct conv_class_rule *cls = calloc((n_sets ? n_sets : 1) * CONV_TABLE_CLASSES, sizeof(*cls));
    bool *en = calloc(n_lanes, sizeof(bool)), *full = calloc(n_lanes, sizeof(bool));
    int rc = -ENOMEM;

    if (!sets || !cls || !en || !full)
        goto out;
    for (uint32_t i = 0; i < n_lanes; i++)
        en[i] = true;
    for (size_t p = 0; p < n_sets; p++) {
        struct route_ctx c = {s, &s->scan_points[p], en, full};
        struct route_in in = {.read_result = PLC_READ_NOREAD, .id_rc = WCS_E_SYNTAX};
        struct conv_class_rule *pc = cls + p * CONV_TABLE_CLASSES;
        struct route_out r;
        char name[CONV_TABLE_KEY_MAX];
        size_t n = 0, total;
        route_decide(&c, &in, &r);
        sets[p].noread = rule_of(&r, true);
        in.read_result = PLC_READ_MULTI;
        route_decide(&c, &in, &r);
        sets[p].multiread = rule_of(&r, true);
        in.read_result = PLC_READ_GOOD;
        route_decide(&c, &in, &r);
        sets[p].malformed = rule_of(&r, true);
        /* Classes: every station, any pack station, every carrier, qa, reject, refusals. */
        total = s->n_stations + 1 + s->waves.n_carriers + 6;
        for (size_t k = 0; k < total && n < CONV_TABLE_CLASSES; k++) {
            static const char *const fixed[] = {"qa",        "reject",    "x:cancelled",
                                                "x:shipped", "x:no_dest", "x:unknown_order"};
            if (k < s->n_stations)
                snprintf(name, sizeof(name), "station:%s", s->stations[k].id);
            else if (k == s->n_stations)
                snprintf(name, sizeof(name), "station:");
            else if (k < s->n_stations + 1 + s->waves.n_carriers)
                snprintf(name, sizeof(name), "carrier:%s",
                         s->waves.carriers[k - s->n_stations - 1].code);
            else
                snprintf(name, sizeof(name), "%s",
                         fixed[k - s->n_stations - 1 - s->waves.n_carriers]);
            if (!route_class_rule(&c, name, &r))
                continue; /* the loop decides */
            snprintf(pc[n].cls, sizeof(pc[n].cls), "%s", name);
            pc[n].rule = rule_of(&r, true);
            n++;
        }
        sets[p].classes = pc;
        sets[p].n_classes = n;
    }
    rc = conv_table_set_rules(d->tab, sets, n_sets);
out:
    free(sets);
    free(cls);
    free(en);
    free(full);
    return rc;
}

static int table_lanes(struct wcsd *d)
{
    uint32_t n = d->site->n_lanes;
    bool *ok = calloc(n ? n : 1, sizeof(bool));
    int rc;
    if (!ok)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        ok[i] = d->lane_enabled[i] && !d->lane_full[i];
    rc = conv_table_set_lanes(d->tab, ok, n);
    free(ok);
    return rc;
}

void sort_table_lanes(struct wcsd *d)
{
    int rc;
    if (!d->tab)
        return;
    rc = table_lanes(d);
    if (rc != 0)
        table_warn(d, "lanes", rc);
    table_publish(d);
}

void sort_table_detach(struct wcsd *d)
{
    for (size_t i = 0; i < d->n_plcs; i++)
        (void)conv_plc_set_table(d->plcs[i]->conv, NULL, NULL);
}

void sort_table_sync(struct wcsd *d)
{
    int rc;
    if (!d->tab)
        return;
    /* Rule set numbers are site scan point indices, which a reload may renumber: no worker
     * may look up with the old numbering in the new rules. */
    sort_table_detach(d);
    rc = table_rules(d);
    if (rc == 0)
        rc = table_lanes(d);
    if (rc != 0) {
        table_warn(d, "rules", rc);
        return; /* stays detached: the loop decides everything */
    }
    (void)conv_table_publish(d->tab);
    if (d->stopping)
        return;
    for (size_t i = 0; i < d->n_plcs; i++) {
        struct plcrt *p = d->plcs[i];
        uint32_t set[CONV_MAX_POINTS];
        for (size_t j = 0; j < p->n_points; j++)
            set[j] = p->point_of[j] >= 0 ? (uint32_t)p->point_of[j] : UINT32_MAX;
        rc = conv_plc_set_table(p->conv, d->tab, set);
        if (rc != 0)
            log_warnx("plc decides through the loop only dev=%s rc=%s", p->id, wcs_strerror(rc));
    }
}

void sort_table_tote(struct wcsd *d, const struct wcsd_tote *t)
{
    char cls[CONV_TABLE_KEY_MAX];
    int rc;
    if (!d->tab)
        return;
    rc = route_tote_class(t, cls, sizeof(cls));
    rc = conv_table_put(d->tab, t->id, rc == 0 ? cls : NULL);
    if (rc != 0)
        table_warn(d, t->id, rc);
    table_publish(d);
}

void sort_table_order(struct wcsd *d, const struct wcsd_order *o)
{
    char key[CONV_TABLE_KEY_MAX], cls[CONV_TABLE_KEY_MAX];
    int rc;
    if (!d->tab || route_order_key(o->id, key, sizeof(key)) != 0)
        return;
    rc = route_order_class(o, cls, sizeof(cls));
    rc = conv_table_put(d->tab, key, rc == 0 ? cls : NULL);
    if (rc != 0)
        table_warn(d, o->id, rc);
    table_publish(d);
}

void sort_record(struct wcsd *d, const char *kind, const char *id, const char *op,
                 const char *counter, const struct store_field *f, size_t n, const char *cause)
{
    struct store_ctx ctx = {.actor = "wcs", .cause = cause};
    uint64_t sup = 0;
    int rc;
    if (!d->store)
        return;
    rc = store_tote_record(d->store, &ctx, kind, id, op, counter, f, n, NULL, NULL);
    if (rc != 0 && log_repeat_hit(&d->rep_store, loop_now_us(d->loop), 10000000, &sup))
        log_warnx("journal write refused op=%s subject=%s rc=%s suppressed=%" PRIu64, op, id,
                  wcs_strerror(rc), sup);
}

static struct pointrt *point_of(struct plcrt *p, uint16_t conv_point)
{
    if (conv_point >= p->n_points || p->point_of[conv_point] < 0)
        return NULL;
    return &p->d->points[p->point_of[conv_point]];
}

static int32_t lane_by_number(const struct wcsd *d, const struct cfg_scan_point *sp, uint16_t num)
{
    for (uint32_t i = 0; i < sp->n_lanes; i++)
        if (d->site->lanes[sp->lanes[i]].number == num)
            return (int32_t)sp->lanes[i];
    return -1;
}

static const char *read_result_name(enum plc_read_result r)
{
    switch (r) {
    case PLC_READ_GOOD:
        return "good";
    case PLC_READ_NOREAD:
        return "no_read";
    case PLC_READ_MULTI:
        return "multi_read";
    default:
        return "none";
    }
}

static const char *confirm_name(enum plc_confirm_result r)
{
    static const char *const n[] = {"none",      "diverted",       "passed", "late_default",
                                    "lane_full", "actuator_fault", "lost"};
    return (unsigned)r < 7 ? n[r] : "?";
}

static struct pending *pending_take(struct wcsd *d, struct pointrt *pt)
{
    struct pending *pe = &pt->pend[pt->next_slot];
    pt->next_slot = (pt->next_slot + 1) % PENDING_MAX;
    if (pe->used) {
        /* The PLC never confirmed this one and PENDING_MAX newer decisions followed. */
        d->k.confirms_missed++;
        sort_record(d, "sorter", pt->id, "confirm_missed", "sorter_confirms_missed", NULL, 0,
                    pe->tote[0] ? pe->tote : "no tote");
    }
    memset(pe, 0, sizeof(*pe));
    return pe;
}

static struct pending *pending_find(struct pointrt *pt, uint16_t seq)
{
    for (unsigned i = 0; i < PENDING_MAX; i++) {
        /* Newest first: a wrapped sequence matches the latest use. */
        struct pending *pe = &pt->pend[(pt->next_slot + PENDING_MAX - 1 - i) % PENDING_MAX];
        if (pe->used && pe->seq == seq)
            return pe;
    }
    return NULL;
}

static void count_reason(struct wcsd *d, const struct route_out *r)
{
    switch (r->action) {
    case ROUTE_DIVERT:
        d->k.diverts++;
        break;
    case ROUTE_RECIRC:
        d->k.recirc_decisions++;
        break;
    case ROUTE_REJECT:
        d->k.reject_decisions++;
        break;
    }
    switch (r->reason) {
    case ROUTE_NOREAD:
        d->k.no_reads++;
        break;
    case ROUTE_MULTIREAD:
        d->k.multi_reads++;
        break;
    case ROUTE_MALFORMED:
        d->k.malformed++;
        break;
    case ROUTE_UNKNOWN_TOTE:
    case ROUTE_UNKNOWN_ORDER:
    case ROUTE_CANCELLED:
    case ROUTE_SHIPPED:
        d->k.unknown_totes++;
        break;
    case ROUTE_LANE_FULL:
        d->k.lane_full++;
        break;
    case ROUTE_LANE_DISABLED:
        d->k.lane_disabled++;
        break;
    case ROUTE_RECIRC_EXHAUSTED:
        d->k.recirc_exhausted++;
        break;
    default:
        break;
    }
}

/* ---- deferred bookkeeping ---- */

/* Writes the batched facts in one script call (one round trip, one reply). */
static void flush_facts(struct wcsd *d)
{
    struct store_record recs[FACTS_MAX];
    struct store_field fields[FACTS_MAX][FACT_FIELDS];
    struct store_ctx ctx = {.actor = "wcs"};
    uint64_t sup = 0;
    int rc;
    if (d->n_facts == 0 || !d->store) {
        d->n_facts = 0;
        return;
    }
    for (size_t r = 0; r < d->n_facts; r++) {
        struct fact *f = &d->facts[r];
        for (size_t i = 0; i < f->n; i++) {
            fields[r][i].name = f->names[i];
            fields[r][i].value = f->values[i];
        }
        recs[r] =
            (struct store_record){f->kind, f->id, f->op, f->counter, f->cause, fields[r], f->n};
    }
    rc = store_tote_records(d->store, &ctx, recs, d->n_facts, NULL, NULL);
    if (rc != 0 && log_repeat_hit(&d->rep_store, loop_now_us(d->loop), 10000000, &sup))
        log_warnx("journal batch refused facts=%zu rc=%s suppressed=%" PRIu64, d->n_facts,
                  wcs_strerror(rc), sup);
    d->n_facts = 0;
}

/* As sort_record, batched: sent when FACTS_MAX are waiting or the job queue is empty. */
static void batch_record(struct wcsd *d, const char *kind, const char *id, const char *op,
                         const char *counter, const struct store_field *fl, size_t n,
                         const char *cause)
{
    struct fact *f = &d->facts[d->n_facts++];
    snprintf(f->kind, sizeof(f->kind), "%s", kind);
    snprintf(f->id, sizeof(f->id), "%s", id);
    snprintf(f->op, sizeof(f->op), "%s", op);
    snprintf(f->counter, sizeof(f->counter), "%s", counter ? counter : "");
    snprintf(f->cause, sizeof(f->cause), "%s", cause ? cause : "");
    f->n = n < FACT_FIELDS ? n : FACT_FIELDS;
    for (size_t i = 0; i < f->n; i++) {
        snprintf(f->names[i], sizeof(f->names[i]), "%s", fl[i].name);
        snprintf(f->values[i], sizeof(f->values[i]), "%s", fl[i].value);
    }
    if (d->n_facts == FACTS_MAX)
        flush_facts(d);
}

static void on_job_timer(struct loop *l, uint64_t id, void *arg)
{
    struct wcsd *d = arg;
    (void)l;
    (void)id;
    d->job_armed = false;
    sort_run_jobs(d);
}

static struct job *job_push(struct wcsd *d)
{
    struct job *j;
    uint64_t sup = 0;
    if (d->jlen >= JOBS_CAP) {
        /* Overload: the decision was made; its journal entry and events are shed and counted. */
        d->jobs_dropped++;
        if (log_repeat_hit(&d->rep_store, loop_now_us(d->loop), 10000000, &sup))
            log_warnx("bookkeeping queue full, journal entry and events dropped total=%" PRIu64,
                      d->jobs_dropped);
        return NULL;
    }
    j = &d->jobs[(d->jhead + d->jlen) % JOBS_CAP];
    d->jlen++;
    memset(j, 0, sizeof(*j));
    if (!d->job_armed && loop_add_timer(d->loop, 0, on_job_timer, d, &d->job_timer) == 0)
        d->job_armed = true;
    return j;
}

static void job_scan(struct wcsd *d, const struct job *j)
{
    char seqs[12], recs[12], ats[24];
    json_t *e;
    snprintf(seqs, sizeof(seqs), "%u", j->seq);
    if (j->tote[0]) {
        struct store_field f[] = {
            {"sort_state", model_tote_state_name(j->state)},
            {"last_point", j->point},
            {"decision", j->late ? "late" : route_action_name(j->action)},
            {"reason", j->late ? "late" : route_reason_name(j->reason)},
            {"dest_lane", j->lane},
            {"recirc", recs},
            {"scan_seq", seqs},
            {"diverted_at", ats},
        };
        snprintf(recs, sizeof(recs), "%u", j->recirc);
        snprintf(ats, sizeof(ats), "%" PRId64, j->at_ms);
        batch_record(d, "tote", j->tote, "route", j->late ? "sorter_late" : "sorter_decisions", f,
                     sizeof(f) / sizeof(f[0]), route_reason_name(j->reason));
    } else {
        struct store_field f[] = {
            {"point", j->point},
            {"scan_seq", seqs},
            {"reason", j->late ? "late" : route_reason_name(j->reason)},
            {"tote", j->label},
        };
        /* No tote record to hang it on: the refused scan is journaled on the sorter. */
        batch_record(d, "sorter", j->point, j->late ? "scan_late" : "scan_refused",
                     j->late ? "sorter_late" : "sorter_refused", f, 4,
                     route_reason_name(j->reason));
    }
    if (!d->bus)
        return;
    e = json_pack("{s:s,s:i,s:I,s:s,s:s,s:s}", "point", j->point, "seq", (int)j->seq, "track_id",
                  (json_int_t)j->track_id, "read_result", read_result_name(j->read_result),
                  "barcode", j->barcode, "tote", j->tote[0] ? j->tote : j->label);
    if (e)
        (void)bus_publish_event(d->bus, "scan", e);
    json_decref(e);
    e = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:b,s:I,s:b}", "point", j->point, "seq",
                  (int)j->seq, "tote", j->tote[0] ? j->tote : j->label, "action",
                  j->late ? "none" : route_action_name(j->action), "reason",
                  j->late ? "late" : route_reason_name(j->reason), "lane", j->lane, "dest_lane",
                  (int)j->dest_lane, "late", j->late, "latency_us", (json_int_t)j->latency_us,
                  "written", j->written);
    if (e)
        (void)bus_publish_event(d->bus, "decision", e);
    json_decref(e);
}

static void job_confirm(struct wcsd *d, const struct job *j)
{
    char seqs[12], recs[12];
    json_t *e;
    snprintf(seqs, sizeof(seqs), "%u", j->seq);
    snprintf(recs, sizeof(recs), "%u", j->recirc);
    if (j->tote[0]) {
        struct store_field f[] = {
            {"sort_state", model_tote_state_name(j->state)},
            {"confirm", confirm_name(j->confirm_result)},
            {"last_lane", j->lane},
            {"recirc", recs},
            {"confirm_seq", seqs},
        };
        batch_record(d, "tote", j->tote, "confirm", "sorter_confirms", f, sizeof(f) / sizeof(f[0]),
                     confirm_name(j->confirm_result));
    } else {
        struct store_field f[] = {{"point", j->point},
                                  {"confirm_seq", seqs},
                                  {"result", confirm_name(j->confirm_result)},
                                  {"lane", j->lane}};
        batch_record(d, "sorter", j->point, "confirm", "sorter_confirms", f, 4,
                     confirm_name(j->confirm_result));
    }
    if (!d->bus)
        return;
    e = json_pack("{s:s,s:i,s:s,s:s,s:s,s:i}", "point", j->point, "seq", (int)j->seq, "tote",
                  j->tote, "result", confirm_name(j->confirm_result), "lane", j->lane,
                  "confirm_lane", (int)j->confirm_lane);
    if (e)
        (void)bus_publish_event(d->bus, "divert", e);
    json_decref(e);
}

void sort_run_jobs(struct wcsd *d)
{
    for (unsigned n = 0; n < JOBS_CHUNK && d->jlen > 0; n++) {
        struct job *j = &d->jobs[d->jhead];
        if (j->kind == JOB_SCAN)
            job_scan(d, j);
        else
            job_confirm(d, j);
        d->jhead = (d->jhead + 1) % JOBS_CAP;
        d->jlen--;
    }
    if (d->jlen == 0)
        flush_facts(d);
    /* A zero-delay timer runs on the next loop round, after the fds: decisions go first. */
    if (d->jlen > 0 && !d->job_armed &&
        loop_add_timer(d->loop, 0, on_job_timer, d, &d->job_timer) == 0)
        d->job_armed = true;
}

static void on_scan(struct wcsd *d, struct plcrt *p, struct pointrt *pt,
                    const struct conv_event *ev)
{
    const struct cfg_scan_point *sp = &d->site->scan_points[pt->cfg_index];
    struct route_ctx rc_ctx = {d->site, sp, d->lane_enabled, d->lane_full};
    struct route_in in = {.read_result = ev->read_result, .id_rc = WCS_E_SYNTAX};
    struct route_out r;
    struct wcsd_tote *t = NULL;
    struct conv_decision dec = {0};
    struct pending *pe;
    struct job *j;
    char id[WCSD_ID_MAX] = "";
    uint64_t now_real, elapsed_us, latency_us = 0, sup = 0;
    bool late;
    int rc = 0;

    if (d->stopping)
        return; /* draining: no decision, the PLC routes the item by default */
    d->k.scans++;
    pt->period_scans++;
    /* The PLC advanced scan_seq more than once between two polls: those items were never
     * decided (the PLC routes them by default; their confirmations will not match). */
    if (pt->last_seq && ev->seq != plc_seq_next(pt->last_seq) &&
        plc_seq_is_newer((uint16_t)ev->seq, pt->last_seq)) {
        uint32_t gap = ((uint32_t)ev->seq + 65535u - pt->last_seq) % 65535u;
        d->k.scans_missed += gap > 1 ? gap - 1 : 0;
    }
    pt->last_seq = (uint16_t)ev->seq;
    if (ev->read_result == PLC_READ_GOOD) {
        in.id_rc = route_tote_id(ev->barcode, strlen(ev->barcode), id, sizeof(id));
        if (in.id_rc == 0) {
            t = hmap_get(&d->totes, id);
            /* Recirculations count per trip: a trip goes on only while the tote loops. */
            if (t && t->state != WCSD_TOTE_RECIRC)
                t->recirc = 0;
            in.tote = t;
            if (t && t->order[0])
                in.order = hmap_get(&d->orders, t->order);
        } else {
            id[0] = '\0';
        }
    }
    route_decide(&rc_ctx, &in, &r);
    if (r.reason == ROUTE_NOREAD)
        pt->period_noreads++;

    /* The budget runs from when the worker saw the new scan_seq (real time; scaled to the
     * loop's clock when the site runs faster than real time). */
    now_real = clock_real_mono_us();
    elapsed_us = now_real > ev->at_us ? now_real - ev->at_us : 0;
    late = !ev->decided && (double)elapsed_us * d->speed > (double)sp->decision_budget_ms * 1000.0;
    if (ev->decided) {
        /* The worker wrote it from the table already: record it, and what was written wins. */
        latency_us = ev->decided_us > ev->at_us ? ev->decided_us - ev->at_us : 0;
        hist_add(&d->lat, latency_us);
        d->k.decisions++;
        d->k.table_decisions++;
        if (r.dest_lane != ev->dest_lane || r.cmd_flags != ev->cmd_flags) {
            d->k.table_disagreed++;
            if (log_repeat_hit(&d->rep_table, loop_now_us(d->loop), 10000000, &sup))
                log_warnx("table decision differs from the loop's point=%s seq=%u written=%u/%u "
                          "loop=%u/%u suppressed=%" PRIu64,
                          pt->id, ev->seq, ev->dest_lane, ev->cmd_flags, r.dest_lane, r.cmd_flags,
                          sup);
            r.dest_lane = ev->dest_lane;
            r.cmd_flags = ev->cmd_flags;
            if (ev->cmd_flags & PLC_CMD_REJECT) {
                r.action = ROUTE_REJECT;
                r.lane = sp->reject_lane;
            } else if (ev->cmd_flags & PLC_CMD_RECIRCULATE) {
                r.action = ROUTE_RECIRC;
                r.lane = sp->recirc_lane;
            } else {
                r.action = ROUTE_DIVERT;
                r.reason = ROUTE_OK;
                r.lane = lane_by_number(d, sp, ev->dest_lane);
            }
        }
    } else if (late) {
        d->k.late++;
        if (log_repeat_hit(&d->rep_late, loop_now_us(d->loop), 10000000, &sup))
            log_warnx("decision late, not written point=%s seq=%u elapsed_us=%" PRIu64
                      " budget_ms=%u suppressed=%" PRIu64,
                      pt->id, ev->seq, elapsed_us, sp->decision_budget_ms, sup);
    } else {
        dec.point = ev->point;
        dec.seq = ev->seq;
        dec.dest_lane = r.dest_lane;
        dec.cmd_flags = r.cmd_flags;
        rc = conv_plc_decide(p->conv, &dec);
        latency_us = clock_real_mono_us() - ev->at_us;
        hist_add(&d->lat, latency_us);
        if (rc != 0) {
            d->k.decide_failed++;
            if (log_repeat_hit(&d->rep_decide, loop_now_us(d->loop), 10000000, &sup))
                log_warnx("decision not queued point=%s seq=%u rc=%s suppressed=%" PRIu64, pt->id,
                          ev->seq, wcs_strerror(rc), sup);
        } else {
            d->k.decisions++;
        }
    }
    count_reason(d, &r);

    /* Everything below is bookkeeping after the decision left. */
    pe = pending_take(d, pt);
    pe->used = true;
    pe->seq = (uint16_t)ev->seq;
    pe->action = late || rc != 0 ? ROUTE_REJECT : r.action;
    pe->stale = late || rc != 0;
    pe->lane_number = r.dest_lane;
    pe->decided_us = loop_now_us(d->loop);
    pe->decided_real_us = ev->decided ? ev->decided_us : now_real;
    snprintf(pe->tote, sizeof(pe->tote), "%s", t ? t->id : "");
    if (t) {
        if (!late && rc == 0) {
            t->state = r.action == ROUTE_RECIRC   ? WCSD_TOTE_RECIRC
                       : r.action == ROUTE_DIVERT ? WCSD_TOTE_ROUTED
                                                  : WCSD_TOTE_REJECTED;
            if (r.action == ROUTE_RECIRC)
                t->recirc++;
        }
        /* A tote's table entry holds its destination only (recirculation is the loop's), so
         * nothing here needs republishing. */
        t->last_point = (int32_t)pt->cfg_index;
        t->diverted_at_ms = clock_wall_ms(d->clock);
    }
    /* Everything else (journal, events) waits for the bookkeeping queue. */
    j = job_push(d);
    if (!j)
        return;
    j->kind = JOB_SCAN;
    snprintf(j->point, sizeof(j->point), "%s", pt->id);
    snprintf(j->tote, sizeof(j->tote), "%s", t ? t->id : "");
    snprintf(j->label, sizeof(j->label), "%s", id);
    snprintf(j->lane, sizeof(j->lane), "%s", r.lane >= 0 ? d->site->lanes[r.lane].id : "");
    snprintf(j->barcode, sizeof(j->barcode), "%s", ev->barcode);
    j->seq = ev->seq;
    j->track_id = ev->track_id;
    j->read_result = ev->read_result;
    j->dest_lane = r.dest_lane;
    j->action = r.action;
    j->reason = r.reason;
    j->late = late;
    j->written = !late && rc == 0;
    j->latency_us = latency_us;
    if (t) {
        j->state = t->state;
        j->recirc = t->recirc;
        j->at_ms = t->diverted_at_ms;
    }
}

static void lane_mark_full(struct wcsd *d, int32_t li, bool full)
{
    struct lanert *l = &d->lanes[li];
    json_t *body;
    char text[160];
    if (d->lane_full[li] == full) {
        if (full)
            l->full_until_us = loop_now_us(d->loop) + LANE_FULL_HOLD_US;
        return;
    }
    d->lane_full[li] = full;
    l->full_until_us = full ? loop_now_us(d->loop) + LANE_FULL_HOLD_US : 0;
    l->full_since_real_us = full ? clock_real_mono_us() : 0;
    sort_table_lanes(d);
    snprintf(text, sizeof(text), "lane.%s.full", l->id);
    {
        char msg[320];
        snprintf(msg, sizeof(msg),
                 "Lane %s is full: empty it; totes for it recirculate or go to reject", l->id);
        daemon_alarm(d, text, full, "warning", msg);
    }
    body = json_pack("{s:s,s:b,s:b}", "id", l->id, "enabled", d->lane_enabled[li], "full", full);
    if (body && d->bus)
        (void)bus_set_state(d->bus, "lane", l->id, body);
    json_decref(body);
    log_info("lane %s lane=%s", full ? "full" : "has room", l->id);
}

static void on_confirm(struct wcsd *d, struct pointrt *pt, const struct conv_event *ev)
{
    const struct cfg_scan_point *sp = &d->site->scan_points[pt->cfg_index];
    struct pending *pe = pending_find(pt, (uint16_t)ev->seq);
    struct wcsd_tote *t;
    bool was_lost;
    int32_t lane = lane_by_number(d, sp, ev->confirm_lane);
    char seqs[8], alarm[WCSD_ID_MAX + 16], msg[320];
    uint64_t sup = 0;
    struct job *j;

    d->k.confirms++;
    snprintf(seqs, sizeof(seqs), "%u", ev->seq);
    if (!pe) {
        struct store_field f[] = {
            {"point", pt->id}, {"confirm_seq", seqs}, {"result", confirm_name(ev->confirm_result)}};
        d->k.confirms_unmatched++;
        pt->unmatched_run++;
        if (log_repeat_hit(&d->rep_unmatched, loop_now_us(d->loop), 10000000, &sup))
            log_warnx(
                "confirmation matches no decision point=%s seq=%u result=%s suppressed=%" PRIu64,
                pt->id, ev->seq, confirm_name(ev->confirm_result), sup);
        sort_record(d, "sorter", pt->id, "confirm_unmatched", "sorter_confirms_unmatched", f, 3,
                    "no outstanding decision");
        if (pt->unmatched_run >= d->o.unmatched_alarm_n && !pt->alarm_unmatched) {
            pt->alarm_unmatched = true;
            snprintf(alarm, sizeof(alarm), "sp.%s.unmatched", pt->id);
            snprintf(msg, sizeof(msg),
                     "Scan point %s confirms items wcs never decided: check the PLC program and "
                     "the register map",
                     pt->id);
            daemon_alarm(d, alarm, true, "warning", msg);
        }
        return;
    }
    if (pt->alarm_unmatched) {
        pt->alarm_unmatched = false;
        snprintf(alarm, sizeof(alarm), "sp.%s.unmatched", pt->id);
        daemon_alarm(d, alarm, false, NULL, NULL);
    }
    pt->unmatched_run = 0;
    t = pe->tote[0] ? hmap_get(&d->totes, pe->tote) : NULL;
    was_lost = t && t->state == WCSD_TOTE_LOST;
    switch (ev->confirm_result) {
    case PLC_CONFIRM_DIVERTED:
        d->k.confirms_diverted++;
        if (lane >= 0) {
            d->lanes[lane].arrivals++;
            /* Room for an item sent after the lane was marked full is room; one decided
             * before (already on its way) only took the place the lane's drain just made,
             * and the next would find it full again: the mark holds (LANE_FULL_HOLD_US). */
            if (d->lane_full[lane] && pe->decided_real_us >= d->lanes[lane].full_since_real_us)
                lane_mark_full(d, lane, false);
        }
        if (t) {
            t->state = d->site->lanes[lane >= 0 ? lane : 0].dest == CFG_DEST_REJECT
                           ? WCSD_TOTE_REJECTED
                           : WCSD_TOTE_ARRIVED;
            t->last_lane = lane;
            t->recirc = 0;
            ship_on_divert(d, t, lane);
        }
        break;
    case PLC_CONFIRM_PASSED:
        /* Not diverted: it went to the end-of-line reject or round the loop. */
        if (t) {
            bool rej = (lane >= 0 && d->site->lanes[lane].dest == CFG_DEST_REJECT) ||
                       (lane < 0 && pe->action == ROUTE_REJECT);
            t->state = rej ? WCSD_TOTE_REJECTED : WCSD_TOTE_RECIRC;
            t->last_lane = lane;
        }
        break;
    case PLC_CONFIRM_LANE_FULL: {
        int32_t wanted = lane_by_number(d, sp, pe->lane_number);
        if (wanted >= 0)
            lane_mark_full(d, wanted, true);
        /* The PLC sent it to its default lane, as for the cases below. */
        __attribute__((fallthrough));
    }
    case PLC_CONFIRM_LATE_DEFAULT:
    case PLC_CONFIRM_ACTUATOR_FAULT:
        if (t) {
            bool recirc =
                sp->recirc_lane >= 0 && ev->confirm_lane == d->site->lanes[sp->recirc_lane].number;
            t->state = recirc ? WCSD_TOTE_RECIRC : WCSD_TOTE_REJECTED;
            t->last_lane = lane;
        }
        break;
    case PLC_CONFIRM_LOST:
    default:
        d->k.lost++;
        if (t) {
            t->state = WCSD_TOTE_LOST;
            snprintf(alarm, sizeof(alarm), "tote.%s.lost", t->id);
            snprintf(msg, sizeof(msg),
                     "Tote %s left tracking at scan point %s: find it on the conveyor", t->id,
                     pt->id);
            daemon_alarm(d, alarm, true, "warning", msg);
        }
        break;
    }
    if (was_lost && t->state != WCSD_TOTE_LOST) {
        /* A tote confirmed after all clears the lost alarm the sweep raised (the tote's state
         * says so, also one loaded after a restart); the others have none to clear. */
        snprintf(alarm, sizeof(alarm), "tote.%s.lost", t->id);
        daemon_alarm(d, alarm, false, NULL, NULL);
    }
    j = job_push(d);
    if (j) {
        j->kind = JOB_CONFIRM;
        snprintf(j->point, sizeof(j->point), "%s", pt->id);
        snprintf(j->tote, sizeof(j->tote), "%s", t ? t->id : "");
        snprintf(j->lane, sizeof(j->lane), "%s", lane >= 0 ? d->site->lanes[lane].id : "");
        j->seq = ev->seq;
        j->confirm_result = ev->confirm_result;
        j->confirm_lane = ev->confirm_lane;
        if (t) {
            j->state = t->state;
            j->recirc = t->recirc;
        }
    }
    pe->used = false;
}

static void on_status(struct wcsd *d, struct plcrt *p, struct pointrt *pt, uint16_t status)
{
    char id[WCSD_ID_MAX + 16], msg[320];
    bool estop = status & PLC_ST_ESTOP, jam = status & PLC_ST_JAM;
    json_t *body;
    pt->status = status;
    if (estop != pt->alarm_estop) {
        pt->alarm_estop = estop;
        snprintf(id, sizeof(id), "sp.%s.estop", pt->id);
        snprintf(msg, sizeof(msg),
                 "Emergency stop active on the conveyor of scan point %s (PLC %s): clear the "
                 "cause and reset it on site",
                 pt->id, p->id);
        daemon_alarm(d, id, estop, "critical", msg);
    }
    if (jam != pt->alarm_jam) {
        pt->alarm_jam = jam;
        snprintf(id, sizeof(id), "sp.%s.jam", pt->id);
        snprintf(msg, sizeof(msg), "Jam at scan point %s (PLC %s): clear the belt", pt->id, p->id);
        daemon_alarm(d, id, jam, "critical", msg);
    }
    if (d->bus) {
        body = json_pack("{s:s,s:s,s:i,s:b,s:b,s:b}", "id", pt->id, "state",
                         estop                    ? "ABORTED"
                         : jam                    ? "HELD"
                         : (status & PLC_ST_AUTO) ? "EXECUTE"
                                                  : "STOPPED",
                         "status", (int)status, "estop", estop, "jam", jam, "auto",
                         (status & PLC_ST_AUTO) != 0);
        if (body)
            (void)bus_set_state(d->bus, "scanpoint", pt->id, body);
        json_decref(body);
    }
}

static void on_link(struct wcsd *d, struct plcrt *p, const struct conv_event *ev)
{
    char id[WCSD_ID_MAX + 16], msg[256];
    uint64_t now = clock_real_mono_us();
    json_t *body;
    if (p->link == CONV_LINK_UP && ev->link != CONV_LINK_UP)
        p->up_total_us += now - p->up_since_us;
    if (p->link != CONV_LINK_UP && ev->link == CONV_LINK_UP)
        p->up_since_us = now;
    p->link = ev->link;
    snprintf(id, sizeof(id), "plc.%s.link", p->id);
    if (ev->link == CONV_LINK_UP) {
        log_info("plc link up dev=%s", p->id);
        if (p->alarm_link) {
            p->alarm_link = false;
            daemon_alarm(d, id, false, NULL, NULL);
        }
    } else {
        log_warnx("plc link %s dev=%s fault=%s rc=%s", conv_link_name(ev->link), p->id,
                  conv_fault_name(ev->fault), wcs_strerror(ev->rc));
        if (!p->alarm_link) {
            p->alarm_link = true;
            snprintf(msg, sizeof(msg),
                     "PLC %s link %s (%s): items at its scan points go to the default lane "
                     "until it is back; check the network and the PLC",
                     p->id, conv_link_name(ev->link), conv_fault_name(ev->fault));
            daemon_alarm(d, id, true, "critical", msg);
        }
    }
    if (d->bus) {
        body = json_pack("{s:s,s:s,s:s}", "id", p->id, "state",
                         ev->link == CONV_LINK_UP ? "EXECUTE" : "ABORTED", "link",
                         conv_link_name(ev->link));
        if (body)
            (void)bus_set_state(d->bus, "device", p->id, body);
        json_decref(body);
    }
    daemon_update_status(d);
}

void sort_on_plc_event(struct conv_plc *cp, const struct conv_event *ev, void *arg)
{
    struct plcrt *p = arg;
    struct wcsd *d = p->d;
    struct pointrt *pt;
    (void)cp;
    if (ev->kind == CONV_EVT_LINK) {
        on_link(d, p, ev);
        return;
    }
    pt = point_of(p, ev->point);
    if (!pt)
        return;
    switch (ev->kind) {
    case CONV_EVT_SCAN:
        on_scan(d, p, pt, ev);
        break;
    case CONV_EVT_CONFIRM:
        on_confirm(d, pt, ev);
        break;
    case CONV_EVT_STATUS:
        on_status(d, p, pt, ev->status);
        if (p->link == CONV_LINK_UP && !p->good_cycle) {
            /* A decoded read block while up: the first good PLC cycle (READY needs one). */
            p->good_cycle = true;
            log_info("plc first good cycle dev=%s", p->id);
            daemon_check_ready(d);
        }
        break;
    case CONV_EVT_STALE: {
        struct pending *pe = pending_find(pt, (uint16_t)ev->seq);
        d->k.stale++;
        if (pe)
            pe->stale = true;
        break;
    }
    default:
        break;
    }
}

void sort_sweep(struct wcsd *d)
{
    uint64_t now = loop_now_us(d->loop), limit = (uint64_t)d->o.lost_timeout_ms * 1000;
    char alarm[WCSD_ID_MAX + 16], msg[320];
    for (size_t i = 0; i < d->n_points; i++) {
        struct pointrt *pt = &d->points[i];
        for (unsigned j = 0; j < PENDING_MAX; j++) {
            struct pending *pe = &pt->pend[j];
            struct wcsd_tote *t;
            if (!pe->used || pe->action != ROUTE_DIVERT || pe->stale || pe->lost_reported ||
                now - pe->decided_us < limit)
                continue;
            /* Kept outstanding: a confirmation that still comes matches and clears the alarm. */
            pe->lost_reported = true;
            d->k.lost++;
            t = pe->tote[0] ? hmap_get(&d->totes, pe->tote) : NULL;
            if (!t)
                continue;
            t->state = WCSD_TOTE_LOST;
            {
                struct store_field f[] = {{"sort_state", "lost"}};
                sort_record(d, "tote", t->id, "lost", "sorter_lost", f, 1,
                            "diverted, never confirmed");
            }
            snprintf(alarm, sizeof(alarm), "tote.%s.lost", t->id);
            snprintf(msg, sizeof(msg),
                     "Tote %s was sent to a lane at scan point %s and never confirmed: find it",
                     t->id, pt->id);
            daemon_alarm(d, alarm, true, "warning", msg);
            log_warnx("tote lost tote=%s point=%s", t->id, pt->id);
        }
    }
    for (uint32_t i = 0; i < d->site->n_lanes; i++)
        if (d->lane_full[i] && d->lanes[i].full_until_us && now >= d->lanes[i].full_until_us)
            lane_mark_full(d, (int32_t)i, false);
}
