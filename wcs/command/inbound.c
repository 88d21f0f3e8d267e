/* Receiving and returns (inbound.h): one flow per command, a chain of store reads on the loop
 * (the receipt or RMA or task, the task counter, the stock of the candidate putaway locations),
 * the pure decisions of scan.c, a planner run for the putaway suggestion (wcs/plan over a
 * cached, frozen site), then one script that re-checks what was read. A script refusing with
 * "changed meanwhile, retry" restarts the flow (up to OPS_RETRIES_MAX times). */
#include "inbound.h"

#include "base/err.h"
#include "plan/plan.h"
#include "scan.h"
#include "store/ops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUANTS_MAX 50000 /* stock records one putaway snapshot takes */

struct cmd_inbound {
    struct plan_site *site;
};

enum kind { K_EXPECT, K_SCAN, K_CLOSE, K_QUALITY, K_PUTAWAY, K_RETURN, K_INSPECT };

static const char *const names[] = {
    "receipt.expect",  "receipt.scan",   "receipt.close",  "quality.release",
    "putaway.confirm", "return.receive", "return.inspect", NULL};

struct squant {
    char *sku, *loc, *lot, *expiry, *in_date;
    int64_t on_hand, reserved;
};

struct flow;
typedef void (*step_fn)(struct flow *f);

struct flow {
    struct cmd_ctx *c;
    const struct cmd_args *a;
    enum kind kind;
    struct store_ctx ctx;
    char actor[129], cause[300];
    store_cb cb;
    void *arg;
    int attempt;
    char today[11];
    /* what the command is about */
    const struct cfg_product *p;
    const struct cfg_station *station;
    struct scan_data sd;
    char sku[STORE_ID_MAX], lot[STORE_ID_MAX], expiry[11];
    char location[STORE_PATH_MAX], scrap[STORE_PATH_MAX];
    int64_t qty;
    bool hold;
    /* receipt.scan: the line chosen */
    uint32_t line;
    int64_t line_expected, line_received, receipt_units, receipt_received;
    /* the new putaway task */
    char task[STORE_ID_MAX];
    char target[STORE_PATH_MAX], reason_code[48], reason[PLAN_REASON_MAX];
    int64_t target_qty;
    step_fn after_suggest;
    /* putaway snapshot */
    uint32_t *cands;
    size_t n_cands, cand_next;
    char **qkeys;
    size_t n_qkeys, qkey_next;
    struct squant *quants;
    size_t n_quants;
    /* putaway.confirm: the task as read and the location's quants */
    char t_state[16], t_source[STORE_PATH_MAX], t_target[STORE_PATH_MAX];
    int64_t t_qty, t_moved;
    char **lq;
    size_t n_lq;
    /* return.inspect: the RMA as read */
    char rma_state[16];
};

/* ---- small helpers ---- */

/* Forgets a putaway snapshot (a retried flow takes a new one). */
static void snapshot_reset(struct flow *f)
{
    for (size_t i = 0; i < f->n_qkeys; i++)
        free(f->qkeys[i]);
    free(f->qkeys);
    for (size_t i = 0; i < f->n_quants; i++) {
        free(f->quants[i].sku);
        free(f->quants[i].loc);
        free(f->quants[i].lot);
        free(f->quants[i].expiry);
        free(f->quants[i].in_date);
    }
    free(f->quants);
    f->qkeys = NULL;
    f->quants = NULL;
    f->n_qkeys = f->qkey_next = f->n_quants = 0;
}

static void flow_free(struct flow *f)
{
    if (!f)
        return;
    free(f->cands);
    snapshot_reset(f);
    for (size_t i = 0; i < f->n_lq; i++)
        free(f->lq[i]);
    free(f->lq);
    free(f);
}

/* Ends the flow with a refusal (code WCS_E_STATE, WCS_E_UNKNOWN or -EINVAL) or a failure. */
static void fail(struct flow *f, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct flow *f, int rc, const char *fmt, ...)
{
    char text[CMD_ERR_MAX], msg[CMD_ERR_MAX + 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof(msg), "%s %s", rc == WCS_E_UNKNOWN ? "EUNKNOWN" : "ESTATE", text);
    struct store_result r = {.rc = rc, .message = msg};
    f->cb(f->arg, &r);
    flow_free(f);
}

/* Passes a store failure (or refusal) of a read or a script on. */
static void pass(struct flow *f, const struct store_result *r)
{
    f->cb(f->arg, r);
    flow_free(f);
}

/* A script's "changed meanwhile, retry": true when the flow starts again from reread (up to
 * OPS_RETRIES_MAX times); false when r is the flow's answer. */
static bool retried(struct flow *f, const struct store_result *r, step_fn reread)
{
    if (!ops_retry_due(r, &f->attempt))
        return false;
    reread(f);
    return true;
}

static const struct cfg_station *station_of(const struct cfg_site *site, const char *id)
{
    for (uint32_t i = 0; id && i < site->n_stations; i++)
        if (strcmp(site->stations[i].id, id) == 0)
            return &site->stations[i];
    return NULL;
}

static const struct cfg_product *product_of(const struct cfg_site *site, const char *sku)
{
    int32_t i = sku ? cfg_find_product(site, sku) : -1;
    return i >= 0 ? &site->products[i] : NULL;
}

/* The first location of type t in warehouse wh, or -1. */
static int32_t loc_of_type(const struct cfg_site *site, uint32_t wh, enum cfg_loc_type t)
{
    for (uint32_t i = 0; i < site->n_locations; i++)
        if (site->locations[i].warehouse == wh && site->locations[i].type == t)
            return (int32_t)i;
    return -1;
}

static bool in_subtree(const struct cfg_site *site, int32_t loc, uint32_t root)
{
    for (int32_t i = loc; i >= 0; i = site->locations[i].parent)
        if ((uint32_t)i == root)
            return true;
    return false;
}

static bool rule_matches(const struct cfg_site *site, const struct cfg_putaway_rule *r,
                         const struct cfg_product *p)
{
    int32_t pi = (int32_t)(p - site->products);
    if (r->product >= 0)
        return r->product == pi;
    if (r->category >= 0)
        return r->category == p->category;
    if (r->package_type)
        return p->package_type && strcmp(r->package_type, p->package_type) == 0;
    return true;
}

/* A location goods of p may be put away to: an internal location inside the subtree of a
 * putaway rule matching p. */
static bool putaway_allowed(const struct cfg_site *site, int32_t loc, const struct cfg_product *p)
{
    if (loc < 0 || site->locations[loc].type != CFG_LOC_INTERNAL)
        return false;
    for (uint32_t r = 0; r < site->n_putaway_rules; r++)
        if (rule_matches(site, &site->putaway_rules[r], p) &&
            in_subtree(site, loc, site->putaway_rules[r].location))
            return true;
    return false;
}

static uint64_t unit_volume_cm3(const struct cfg_product *p)
{
    uint64_t mm3 = (uint64_t)p->dims_mm[0] * p->dims_mm[1] * p->dims_mm[2];
    return (mm3 + 999) / 1000;
}

static int push_str(char ***arr, size_t *n, const char *s)
{
    char **a = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (!a)
        return -ENOMEM;
    *arr = a;
    if (!(a[*n] = strdup(s)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

/* Hands the reply fields to the command layer (consumes fields). */
static void succeed(struct flow *f, json_t *fields, const char *id, const char *state,
                    enum cmd_change what)
{
    char *text = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
    char num[8];
    json_decref(fields);
    if (!text) {
        struct store_result r = {.rc = -ENOMEM};
        pass(f, &r);
        return;
    }
    snprintf(num, sizeof(num), "%d", (int)what);
    const char *vals[] = {text, id, state, num};
    struct store_result r = {.rc = 0, .n_values = 4, .values = vals};
    f->cb(f->arg, &r);
    free(text);
    flow_free(f);
}

static void event(struct flow *f, const char *type, json_t *body)
{
    if (f->c->bus && body)
        (void)bus_publish_event(f->c->bus, type, body);
    json_decref(body);
}

static void retained(struct flow *f, const char *kind, const char *id, json_t *body)
{
    if (f->c->bus && body)
        (void)bus_set_state(f->c->bus, kind, id, body);
    json_decref(body);
}

/* ---- the putaway suggestion ---- */

static void snapshot_locs(struct flow *f);
static void snapshot_quants(struct flow *f);
static void plan_suggestion(struct flow *f);

/* Asks the planner where f->qty units of f->sku (f->lot, f->expiry) go; fills target, reason
 * and then runs next. */
static void suggest(struct flow *f, step_fn next)
{
    const struct cfg_site *site = f->c->site;
    f->after_suggest = next;
    f->target[0] = f->reason_code[0] = f->reason[0] = '\0';
    snapshot_reset(f);
    free(f->cands);
    f->cands = calloc(site->n_locations ? site->n_locations : 1, sizeof(*f->cands));
    f->n_cands = f->cand_next = 0;
    if (!f->cands) {
        fail(f, -ENOMEM, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < site->n_locations; i++)
        if (putaway_allowed(site, (int32_t)i, f->p))
            f->cands[f->n_cands++] = i;
    snapshot_locs(f);
}

static void on_loc_sets(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    size_t v = 0;
    if (r->rc != 0) {
        pass(f, r);
        return;
    }
    while (v < r->n_values) {
        long m = atol(r->values[v++]);
        for (long k = 0; k < m && v < r->n_values; k++, v++)
            if (f->n_qkeys < QUANTS_MAX && push_str(&f->qkeys, &f->n_qkeys, r->values[v]) != 0) {
                fail(f, -ENOMEM, "out of memory");
                return;
            }
    }
    snapshot_locs(f);
}

static void snapshot_locs(struct flow *f)
{
    const char *locs[OPS_READ_MAX];
    size_t n = 0;
    int rc;
    while (f->cand_next < f->n_cands && n < OPS_READ_MAX)
        locs[n++] = f->c->site->locations[f->cands[f->cand_next++]].path;
    if (n == 0) {
        f->qkey_next = 0;
        snapshot_quants(f);
        return;
    }
    if ((rc = ops_read_loc_quants(f->c->store, &f->ctx, locs, n, on_loc_sets, f)) != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

static void on_quants(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (r->rc != 0) {
        pass(f, r);
        return;
    }
    for (size_t v = 0; v + OPS_QUANT_VALUES <= r->n_values; v += OPS_QUANT_VALUES) {
        const char *const *x = r->values + v;
        int64_t on_hand = atoll(x[4]);
        if (strcmp(x[0], "1") != 0 || on_hand <= 0)
            continue;
        struct squant *q = realloc(f->quants, (f->n_quants + 1) * sizeof(*q));
        if (!q) {
            fail(f, -ENOMEM, "out of memory");
            return;
        }
        f->quants = q;
        q = &f->quants[f->n_quants++];
        q->sku = strdup(x[1]);
        q->loc = strdup(x[2]);
        q->lot = strdup(x[3]);
        q->expiry = strdup(x[6]);
        q->in_date = strdup(x[7]);
        q->on_hand = on_hand;
        q->reserved = atoll(x[5]);
        if (!q->sku || !q->loc || !q->lot || !q->expiry || !q->in_date) {
            fail(f, -ENOMEM, "out of memory");
            return;
        }
    }
    snapshot_quants(f);
}

static void snapshot_quants(struct flow *f)
{
    const char *keys[OPS_READ_MAX];
    size_t n = 0;
    int rc;
    while (f->qkey_next < f->n_qkeys && n < OPS_READ_MAX)
        keys[n++] = f->qkeys[f->qkey_next++];
    if (n == 0) {
        plan_suggestion(f);
        return;
    }
    if ((rc = ops_wave_read_quants(f->c->store, &f->ctx, keys, n, on_quants, f)) != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

static struct plan_site *plan_site_get(struct flow *f, char *msg, size_t cap)
{
    struct cmd_ctx *c = f->c;
    if (c->inbound && c->inbound->site)
        return c->inbound->site;
    if (!c->inbound && !(c->inbound = calloc(1, sizeof(*c->inbound))))
        return NULL;
    if (plan_site_open(&c->inbound->site, c->site, f->ctx.ts_ms / 1000, msg, cap) != 0)
        return NULL;
    /* Frozen: putaway needs no carrier cutoffs, and a frozen site never switches TZ. */
    if (plan_site_freeze(c->inbound->site, NULL, 0) != 0) {
        plan_site_close(c->inbound->site);
        c->inbound->site = NULL;
        return NULL;
    }
    return c->inbound->site;
}

static void plan_suggestion(struct flow *f)
{
    struct plan_input *in = NULL;
    struct plan_result *res = NULL;
    struct plan_line_err e;
    char msg[256] = "", rec[512];
    struct plan_site *site = plan_site_get(f, msg, sizeof(msg));
    int n;
    if (!site) {
        fail(f, WCS_E_STATE, "the planner cannot map the site: %s", msg[0] ? msg : "out of memory");
        return;
    }
    if (plan_input_new(&in, site) != 0) {
        fail(f, -ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < f->n_quants; i++) {
        const struct squant *q = &f->quants[i];
        const struct cfg_product *p = product_of(f->c->site, q->sku);
        if (!p)
            continue;
        /* Only occupancy matters here: a quant lacking a lot or an expiry its product needs
         * (stock from older imports) still fills its location. */
        struct plan_stock_rec r = {
            .sku = q->sku,
            .location = q->loc,
            .lot = q->lot[0] ? q->lot : (p->tracking != CFG_TRACK_NONE ? "unknown" : NULL),
            .expiry = p->expiry ? (q->expiry[0] ? q->expiry : "2099-12-31") : NULL,
            .in_date = q->in_date[0] ? q->in_date : "1970-01-01",
            .qty = q->on_hand,
            .reserved = q->reserved > q->on_hand ? q->on_hand : q->reserved,
        };
        if (p->tracking == CFG_TRACK_NONE)
            r.lot = NULL;
        if (plan_add_stock(in, &r, (uint32_t)i + 1, &e) == -ENOMEM) {
            plan_input_free(in);
            fail(f, -ENOMEM, "out of memory");
            return;
        }
    }
    n = snprintf(rec, sizeof(rec), "{\"sku\":\"%s\",\"qty\":%" PRId64, f->sku, f->qty);
    if (f->p->tracking != CFG_TRACK_NONE)
        n += snprintf(rec + n, sizeof(rec) - (size_t)n, ",\"lot\":\"%s\"",
                      f->lot[0] ? f->lot : "unknown");
    if (f->p->expiry)
        n += snprintf(rec + n, sizeof(rec) - (size_t)n, ",\"expiry\":\"%s\"",
                      f->expiry[0] ? f->expiry : "2099-12-31");
    snprintf(rec + n, sizeof(rec) - (size_t)n, "}");
    if (plan_parse_receipt(in, rec, strlen(rec), 1, &e) != 0) {
        snprintf(f->reason_code, sizeof(f->reason_code), "PUTAWAY_NO_RULE");
        snprintf(f->reason, sizeof(f->reason), "%.60s: %.240s", e.field, e.msg);
    } else if (plan_run(&res, site, in, PLAN_PUTAWAY, msg, sizeof(msg)) != 0) {
        plan_input_free(in);
        fail(f, WCS_E_STATE, "the planner failed: %s", msg);
        return;
    } else {
        uint32_t np = plan_result_n_putaways(res);
        for (uint32_t i = 0; i < np; i++) {
            struct plan_putaway_info pi;
            plan_result_putaway(res, i, &pi);
            if (pi.receipt != 0 || (f->target[0] && pi.location))
                continue;
            if (pi.location && !f->target[0]) {
                snprintf(f->target, sizeof(f->target), "%s", pi.location);
                f->target_qty = pi.qty;
            } else if (f->target[0] || f->reason_code[0]) {
                continue;
            }
            snprintf(f->reason_code, sizeof(f->reason_code), "%s", pi.reason.code);
            snprintf(f->reason, sizeof(f->reason), "%s", pi.reason.text);
        }
    }
    plan_result_free(res);
    plan_input_free(in);
    f->after_suggest(f);
}

/* ---- task ids ---- */

static void on_task_seq(void *arg, const struct store_result *r);

/* Reads the task counter into f->task ("PUT-<n+1>"), then runs next. */
static void read_task_seq(struct flow *f, step_fn next)
{
    int rc;
    f->after_suggest = next;
    if ((rc = ops_read_task_seq(f->c->store, &f->ctx, on_task_seq, f)) != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

static void on_task_seq(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (r->rc != 0 || r->n_values < 1) {
        pass(f, r);
        return;
    }
    snprintf(f->task, sizeof(f->task), "PUT-%lld", atoll(r->values[0]) + 1);
    f->after_suggest(f);
}

/* ---- receipt.expect, receipt.close ---- */

static void on_expect(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (r->rc != 0 || r->n_values < 2) {
        pass(f, r);
        return;
    }
    json_t *fl = json_pack("{s:s,s:s,s:s,s:I}", "receipt", f->a->id, "result", r->values[0],
                           "state", r->values[1], "units", (json_int_t)f->a->qty);
    if (strcmp(r->values[0], "unchanged") != 0) {
        event(f, "receipt",
              json_pack("{s:s,s:s,s:s,s:I}", "receipt", f->a->id, "event", "expected", "result",
                        r->values[0], "units", (json_int_t)f->a->qty));
        retained(f, "receipt", f->a->id,
                 json_pack("{s:s,s:I,s:I}", "state", "expected", "units", (json_int_t)f->a->qty,
                           "received_units", (json_int_t)0));
    }
    succeed(f, fl, f->a->id, r->values[1], CMD_CHANGED_RECEIPT);
}

static void on_close(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (r->rc != 0 || r->n_values < 4) {
        pass(f, r);
        return;
    }
    json_t *shortl = json_loads(r->values[1], 0, NULL);
    if (!shortl)
        shortl = json_array();
    json_t *fl = json_pack("{s:s,s:s,s:O,s:I,s:I}", "receipt", f->a->id, "state", r->values[0],
                           "short", shortl, "received_units", (json_int_t)atoll(r->values[2]),
                           "units", (json_int_t)atoll(r->values[3]));
    event(f, "receipt",
          json_pack("{s:s,s:s,s:s,s:O,s:I,s:I}", "receipt", f->a->id, "event", "closed", "state",
                    r->values[0], "short", shortl, "received_units",
                    (json_int_t)atoll(r->values[2]), "units", (json_int_t)atoll(r->values[3])));
    retained(f, "receipt", f->a->id,
             json_pack("{s:s,s:I,s:I,s:O}", "state", r->values[0], "units",
                       (json_int_t)atoll(r->values[3]), "received_units",
                       (json_int_t)atoll(r->values[2]), "short", shortl));
    json_decref(shortl);
    succeed(f, fl, f->a->id, r->values[0], CMD_CHANGED_RECEIPT);
}

/* ---- receipt.scan ---- */

static void scan_read(struct flow *f);

/* Parses the scan and resolves the product, lot, expiry and quantity (shared with returns). */
static int scan_resolve(struct flow *f, bool need_expiry)
{
    char err[CMD_ERR_MAX];
    const struct scan_data *d = &f->sd;
    int rc = scan_parse(f->a->scan, strlen(f->a->scan), atoi(f->today), &f->sd, err, sizeof(err));
    if (rc != 0) {
        fail(f, -EINVAL, "field \"scan\": %s", strncmp(err, "scan: ", 6) == 0 ? err + 6 : err);
        return -1;
    }
    if (!(f->p = scan_find_product(f->c->site, d->gtin))) {
        fail(f, WCS_E_UNKNOWN, "field \"scan\": unknown GTIN %s", d->gtin);
        return -1;
    }
    snprintf(f->sku, sizeof(f->sku), "%s", f->p->sku);
    if (f->p->tracking != CFG_TRACK_NONE && !d->lot[0]) {
        fail(f, -EINVAL, "field \"scan\": product %s is tracked by %s: the scan needs AI (%s)",
             f->p->sku, f->p->tracking == CFG_TRACK_LOT ? "lot" : "serial",
             f->p->tracking == CFG_TRACK_LOT ? "10" : "21");
        return -1;
    }
    /* A lot on an untracked product's label is informative: the stock carries none. */
    snprintf(f->lot, sizeof(f->lot), "%s", f->p->tracking != CFG_TRACK_NONE ? d->lot : "");
    if (f->a->qty_given && d->qty && d->qty != f->a->qty) {
        fail(f, -EINVAL, "field \"qty\": %lld, but the scan counts %lld", (long long)f->a->qty,
             (long long)d->qty);
        return -1;
    }
    f->qty = d->qty ? d->qty : f->a->qty;
    if (f->qty < 1) {
        fail(f, -EINVAL, "field \"qty\": missing (the scan has no count, AI 30 or 37)");
        return -1;
    }
    if (f->p->tracking == CFG_TRACK_SERIAL && f->qty != 1) {
        fail(f, -EINVAL, "field \"qty\": product %s is tracked by serial: one unit per scan",
             f->p->sku);
        return -1;
    }
    if (f->p->expiry && need_expiry) {
        if (!d->expiry[0]) {
            fail(f, -EINVAL, "field \"scan\": product %s has expiry dates: the scan needs AI (17)",
                 f->p->sku);
            return -1;
        }
        if (scan_check_expiry(d->expiry, f->today, f->p->expiry_margin_days, f->p->sku, err,
                              sizeof(err)) != 0) {
            fail(f, WCS_E_STATE, "%s", err);
            return -1;
        }
    }
    snprintf(f->expiry, sizeof(f->expiry), "%s", f->p->expiry ? d->expiry : "");
    return 0;
}

static void scan_run(struct flow *f);
static void scan_after_seq(struct flow *f);

static void on_scan_receipt(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    const struct cfg_site *site = f->c->site;
    char err[CMD_ERR_MAX];
    if (r->rc != 0 || r->n_values < 4) {
        pass(f, r);
        return;
    }
    if (!r->values[0][0]) {
        fail(f, WCS_E_UNKNOWN, "unknown receipt \"%s\"", f->a->id);
        return;
    }
    if (strcmp(r->values[0], "expected") != 0 && strcmp(r->values[0], "receiving") != 0) {
        fail(f, WCS_E_STATE, "receipt %s is %s: nothing more can be received", f->a->id,
             r->values[0]);
        return;
    }
    uint32_t wh = site->locations[f->station->location].warehouse;
    if (r->values[3][0] && strcmp(r->values[3], site->warehouses[wh].code) != 0) {
        fail(f, WCS_E_STATE, "receipt %s is expected in %s, station %s is in %s", f->a->id,
             r->values[3], f->station->id, site->warehouses[wh].code);
        return;
    }
    json_t *lines = json_loads(r->values[1], 0, NULL), *recv = json_loads(r->values[2], 0, NULL);
    size_t n = json_array_size(lines);
    struct scan_line *sl = calloc(n ? n : 1, sizeof(*sl));
    int idx = -1;
    if (!sl || !json_is_array(lines) || !json_is_array(recv)) {
        free(sl);
        json_decref(lines);
        json_decref(recv);
        fail(f, WCS_E_STATE, "receipt %s is unreadable", f->a->id);
        return;
    }
    f->receipt_units = f->receipt_received = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(lines, i);
        sl[i].sku = json_string_value(json_object_get(l, "sku"));
        sl[i].lot = json_string_value(json_object_get(l, "lot"));
        sl[i].expected = json_integer_value(json_object_get(l, "qty"));
        sl[i].received = json_integer_value(json_array_get(recv, i));
        if (!sl[i].sku)
            sl[i].sku = "";
        f->receipt_units += sl[i].expected;
        f->receipt_received += sl[i].received;
    }
    idx = scan_match_line(sl, n, f->sku, f->lot);
    if (idx < 0) {
        fail(f, WCS_E_STATE, "receipt %s expects no %s%s%s", f->a->id, f->sku,
             f->lot[0] ? " lot " : "", f->lot);
    } else if (scan_check_over(&sl[idx], (size_t)idx, f->qty, f->a->allow_over,
                               site->receiving_over_tolerance_pct, err, sizeof(err)) != 0) {
        fail(f, WCS_E_STATE, "%s", err);
    } else {
        f->line = (uint32_t)idx;
        f->line_expected = sl[idx].expected;
        f->line_received = sl[idx].received;
        idx = -2;
    }
    free(sl);
    json_decref(lines);
    json_decref(recv);
    if (idx != -2)
        return;
    if (f->p->quality_control) {
        int32_t q = loc_of_type(site, wh, CFG_LOC_QUALITY);
        if (q < 0) {
            fail(f, WCS_E_STATE,
                 "product %s needs quality control and warehouse %s has no quality "
                 "location",
                 f->sku, site->warehouses[wh].code);
            return;
        }
        snprintf(f->location, sizeof(f->location), "%s", site->locations[q].path);
        f->hold = true;
        f->task[0] = '\0';
        scan_run(f);
        return;
    }
    snprintf(f->location, sizeof(f->location), "%s", site->locations[f->station->location].path);
    f->hold = false;
    read_task_seq(f, scan_after_seq);
}

static void scan_after_seq(struct flow *f)
{
    suggest(f, scan_run);
}

static void on_scan_done(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (retried(f, r, scan_read))
        return;
    if (r->rc != 0 || r->n_values < 4) {
        pass(f, r);
        return;
    }
    int64_t line_recv = atoll(r->values[0]), total = atoll(r->values[1]),
            units = atoll(r->values[2]);
    const char *task = r->values[3];
    json_t *put =
        task[0] ? json_pack("{s:s,s:o,s:s,s:s}", "task", task, "location", str_or_null(f->target),
                            "reason_code", f->reason_code, "reason", f->reason)
                : json_null();
    json_t *fl = json_pack(
        "{s:s,s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:s,s:o}", "receipt", f->a->id, "station",
        f->station->id, "sku", f->sku, "lot", str_or_null(f->lot), "expiry", str_or_null(f->expiry),
        "received", (json_int_t)f->qty, "line", (json_int_t)f->line, "line_received",
        (json_int_t)line_recv, "line_expected", (json_int_t)f->line_expected, "remaining",
        (json_int_t)(f->line_expected > line_recv ? f->line_expected - line_recv : 0),
        "receipt_remaining", (json_int_t)(units > total ? units - total : 0), "held", f->hold,
        "location", f->location, "putaway", put);
    event(f, "receipt",
          json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:b,s:s,s:o}", "receipt", f->a->id, "event",
                    "scan", "station", f->station->id, "sku", f->sku, "lot", str_or_null(f->lot),
                    "qty", (json_int_t)f->qty, "line", (json_int_t)f->line, "held", f->hold,
                    "location", f->location, "task", str_or_null(task)));
    retained(f, "receipt", f->a->id,
             json_pack("{s:s,s:I,s:I}", "state", "receiving", "units", (json_int_t)units,
                       "received_units", (json_int_t)total));
    if (task[0])
        retained(f, "task", task,
                 json_pack("{s:s,s:s,s:s,s:o,s:I,s:s,s:o,s:s}", "kind", "putaway", "state", "open",
                           "sku", f->sku, "lot", str_or_null(f->lot), "qty", (json_int_t)f->qty,
                           "source", f->location, "target", str_or_null(f->target), "reason",
                           f->reason));
    succeed(f, fl, f->a->id, "receiving", CMD_CHANGED_RECEIPT);
}

static void scan_run(struct flow *f)
{
    struct ops_receipt_scan s = {
        .receipt = f->a->id,
        .sku = f->sku,
        .lot = f->lot,
        .expiry = f->expiry,
        .line = f->line,
        .line_received = f->line_received,
        .qty = f->qty,
        .location = f->location,
        .hold = f->hold,
        .task = f->hold ? "" : f->task,
        .target = f->target,
        .reason_code = f->reason_code,
        .reason = f->reason,
        .today = f->today,
        .station = f->station->id,
    };
    int rc = ops_receipt_scan(f->c->store, &f->ctx, &s, on_scan_done, f);
    if (rc != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

static void scan_read(struct flow *f)
{
    static const char *const fields[] = {"state", "lines", "received", "warehouse"};
    int rc =
        ops_read_record(f->c->store, &f->ctx, "receipt", f->a->id, fields, 4, on_scan_receipt, f);
    if (rc != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

/* ---- quality.release ---- */

static void quality_run(struct flow *f);

static void on_quality_done(void *arg, const struct store_result *r);

static void quality_after_seq(struct flow *f)
{
    suggest(f, quality_run);
}

static void on_quality_quant(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (r->rc != 0 || r->n_values < 8) {
        pass(f, r);
        return;
    }
    if (strcmp(r->values[0], "1") != 0) {
        fail(f, WCS_E_UNKNOWN, "no stock of %s%s%s at %s", f->sku, f->lot[0] ? " lot " : "", f->lot,
             f->location);
        return;
    }
    snprintf(f->expiry, sizeof(f->expiry), "%s", r->values[6]);
    if (f->hold) { /* scrap */
        quality_run(f);
        return;
    }
    read_task_seq(f, quality_after_seq);
}

static void quality_read(struct flow *f)
{
    char k[STORE_KEY_MAX];
    const char *keys[] = {k};
    int rc = store_key_quant(k, sizeof(k), store_site(f->c->store), f->sku, f->location, f->lot);
    if (rc > 0)
        rc = ops_wave_read_quants(f->c->store, &f->ctx, keys, 1, on_quality_quant, f);
    if (rc != 0) {
        struct store_result r = {.rc = rc < 0 ? rc : -EINVAL};
        pass(f, &r);
    }
}

static void quality_run(struct flow *f)
{
    /* f->hold stands for "scrap" in this flow. */
    struct ops_quality q = {.sku = f->sku,
                            .location = f->location,
                            .lot = f->lot,
                            .scrap_location = f->scrap,
                            .qty = f->qty,
                            .scrap = f->hold,
                            .task = f->task,
                            .target = f->target,
                            .reason_code = f->reason_code,
                            .reason = f->reason};
    int rc = ops_quality_release(f->c->store, &f->ctx, &q, on_quality_done, f);
    if (rc != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

static void on_quality_done(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (retried(f, r, quality_read))
        return;
    if (r->rc != 0 || r->n_values < 3) {
        pass(f, r);
        return;
    }
    const char *task = r->values[2];
    json_t *put =
        task[0] ? json_pack("{s:s,s:o,s:s,s:s}", "task", task, "location", str_or_null(f->target),
                            "reason_code", f->reason_code, "reason", f->reason)
                : json_null();
    json_t *fl =
        json_pack("{s:s,s:s,s:o,s:I,s:s,s:I,s:o,s:o}", "sku", f->sku, "location", f->location,
                  "lot", str_or_null(f->lot), "qty", (json_int_t)f->qty, "decision", f->a->decision,
                  "hold_left", (json_int_t)atoll(r->values[0]), "scrap_location",
                  f->hold ? json_string(f->scrap) : json_null(), "putaway", put);
    event(f, "quality",
          json_pack("{s:s,s:s,s:o,s:I,s:s,s:o,s:o}", "sku", f->sku, "location", f->location, "lot",
                    str_or_null(f->lot), "qty", (json_int_t)f->qty, "decision", f->a->decision,
                    "task", str_or_null(task), "note", str_or_null(f->a->note)));
    if (task[0])
        retained(f, "task", task,
                 json_pack("{s:s,s:s,s:s,s:o,s:I,s:s,s:o,s:s}", "kind", "putaway", "state", "open",
                           "sku", f->sku, "lot", str_or_null(f->lot), "qty", (json_int_t)f->qty,
                           "source", f->location, "target", str_or_null(f->target), "reason",
                           f->reason));
    if (task[0])
        succeed(f, fl, task, "open", CMD_CHANGED_TASK);
    else
        succeed(f, fl, f->sku, "scrapped", CMD_CHANGED_STOCK);
}

/* ---- putaway.confirm ---- */

static void putaway_read(struct flow *f);

static void on_putaway_done(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (retried(f, r, putaway_read))
        return;
    if (r->rc != 0 || r->n_values < 4) {
        pass(f, r);
        return;
    }
    bool suggested = strcmp(f->location, f->t_target) == 0;
    int64_t now = atoll(r->values[3]);
    json_t *fl = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:I,s:I,s:I,s:s}", "task", f->a->id,
                           "location", f->location, "how", suggested ? "suggested" : "alternative",
                           "suggested", str_or_null(f->t_target), "sku", f->sku, "source",
                           f->t_source, "lot", str_or_null(f->lot), "qty", (json_int_t)now, "moved",
                           (json_int_t)atoll(r->values[1]), "left", (json_int_t)atoll(r->values[2]),
                           "state", r->values[0]);
    event(f, "putaway",
          json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:s,s:s}", "task", f->a->id, "sku", f->sku, "from",
                    f->t_source, "to", f->location, "lot", str_or_null(f->lot), "qty",
                    (json_int_t)now, "how", suggested ? "suggested" : "alternative", "state",
                    r->values[0]));
    retained(f, "task", f->a->id,
             json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:s,s:o,s:s}", "kind", "putaway", "state",
                       r->values[0], "sku", f->sku, "lot", str_or_null(f->lot), "qty",
                       (json_int_t)f->t_qty, "moved", (json_int_t)atoll(r->values[1]), "source",
                       f->t_source, "target", str_or_null(f->t_target), "location", f->location));
    succeed(f, fl, f->a->id, r->values[0], CMD_CHANGED_TASK);
}

static void on_putaway_loc(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    const struct cfg_site *site = f->c->site;
    int32_t li = cfg_find_location(site, f->location);
    uint64_t w[OPS_READ_MAX], v[OPS_READ_MAX];
    if (r->rc != 0 || r->n_values < 1) {
        pass(f, r);
        return;
    }
    size_t m = (size_t)atol(r->values[0]);
    if (m > OPS_READ_MAX - 9 || r->n_values < 1 + m) {
        fail(f, WCS_E_STATE, "location %s holds %zu quants: too many to check its capacity",
             f->location, m);
        return;
    }
    for (size_t i = 0; i < m; i++) {
        struct store_quant_ref ref;
        const char *k = r->values[1 + i];
        const struct cfg_product *p = NULL;
        if (store_key_parse_quant(k, strlen(k), &ref) == 0)
            p = product_of(site, ref.sku);
        w[i] = p ? p->weight_g : 0;
        v[i] = p ? unit_volume_cm3(p) : 0;
        if (push_str(&f->lq, &f->n_lq, k) != 0) {
            fail(f, -ENOMEM, "out of memory");
            return;
        }
    }
    const struct cfg_location *L = &site->locations[li];
    struct ops_putaway a = {
        .task = f->a->id,
        .sku = f->sku,
        .lot = f->lot,
        .source = f->t_source,
        .location = f->location,
        .how = strcmp(f->location, f->t_target) == 0 ? "suggested" : "alternative",
        .qty = f->a->qty_given ? f->a->qty : 0,
        .cap_units = L->has_cap_units ? L->cap_units : 0,
        .cap_weight_g = L->has_cap_weight ? L->cap_weight_g : 0,
        .cap_volume_cm3 = L->has_cap_volume ? L->cap_volume_cm3 : 0,
        .unit_weight_g = f->p->weight_g,
        .unit_volume_cm3 = unit_volume_cm3(f->p),
        .quants = (const char *const *)f->lq,
        .quant_weight_g = w,
        .quant_volume_cm3 = v,
        .n_quants = m,
    };
    int rc = ops_putaway_confirm(f->c->store, &f->ctx, &a, on_putaway_done, f);
    if (rc != 0) {
        struct store_result e = {.rc = rc};
        pass(f, &e);
    }
}

static void on_putaway_task(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    const struct cfg_site *site = f->c->site;
    if (r->rc != 0 || r->n_values < 8) {
        pass(f, r);
        return;
    }
    if (strcmp(r->values[0], "putaway") != 0) {
        fail(f, WCS_E_UNKNOWN, "unknown putaway task \"%s\"", f->a->id);
        return;
    }
    if (strcmp(r->values[1], "open") != 0) {
        fail(f, WCS_E_STATE, "task %s is %s", f->a->id, r->values[1]);
        return;
    }
    snprintf(f->sku, sizeof(f->sku), "%s", r->values[2]);
    snprintf(f->lot, sizeof(f->lot), "%s", r->values[3]);
    snprintf(f->t_source, sizeof(f->t_source), "%s", r->values[4]);
    snprintf(f->t_target, sizeof(f->t_target), "%s", r->values[5]);
    f->t_qty = atoll(r->values[6]);
    f->t_moved = atoll(r->values[7]);
    if (!(f->p = product_of(site, f->sku))) {
        fail(f, WCS_E_STATE, "task %s names product %s, which the config no longer has", f->a->id,
             f->sku);
        return;
    }
    int32_t li = cfg_find_location(site, f->location);
    if (strcmp(f->location, f->t_source) == 0) {
        fail(f, WCS_E_STATE, "task %s: %s is where the goods are; scan the location they went to",
             f->a->id, f->location);
        return;
    }
    if (strcmp(f->location, f->t_target) != 0 && !putaway_allowed(site, li, f->p)) {
        fail(f, WCS_E_STATE,
             "task %s: %s is not a putaway location for %s (suggested %s; allowed: the internal "
             "locations of the putaway rules for it)",
             f->a->id, f->location, f->sku, f->t_target[0] ? f->t_target : "none");
        return;
    }
    const char *locs[] = {f->location};
    int rc = ops_read_loc_quants(f->c->store, &f->ctx, locs, 1, on_putaway_loc, f);
    if (rc != 0) {
        struct store_result e = {.rc = rc};
        pass(f, &e);
    }
}

static void putaway_read(struct flow *f)
{
    static const char *const fields[] = {"kind",   "state",  "sku", "lot",
                                         "source", "target", "qty", "moved"};
    for (size_t i = 0; i < f->n_lq; i++)
        free(f->lq[i]);
    free(f->lq);
    f->lq = NULL;
    f->n_lq = 0;
    int rc = ops_read_record(f->c->store, &f->ctx, "task", f->a->id, fields, 8, on_putaway_task, f);
    if (rc != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

/* ---- return.receive ---- */

static void on_return_done(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (r->rc != 0 || r->n_values < 5) {
        pass(f, r);
        return;
    }
    json_t *fl = json_pack(
        "{s:s,s:s,s:s,s:o,s:I,s:s,s:I,s:I,s:I,s:I,s:s}", "rma", f->a->id, "station", f->station->id,
        "sku", f->sku, "lot", str_or_null(f->lot), "qty", (json_int_t)f->qty, "state", r->values[0],
        "sku_received", (json_int_t)atoll(r->values[1]), "sku_authorized",
        (json_int_t)atoll(r->values[2]), "received_units", (json_int_t)atoll(r->values[3]), "units",
        (json_int_t)atoll(r->values[4]), "location", f->location);
    event(f, "return",
          json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:s}", "rma", f->a->id, "event", "received",
                    "station", f->station->id, "sku", f->sku, "lot", str_or_null(f->lot), "qty",
                    (json_int_t)f->qty, "state", r->values[0]));
    retained(f, "rma", f->a->id,
             json_pack("{s:s,s:I,s:I}", "state", r->values[0], "received_units",
                       (json_int_t)atoll(r->values[3]), "units", (json_int_t)atoll(r->values[4])));
    succeed(f, fl, f->a->id, r->values[0], CMD_CHANGED_RMA);
}

static void return_start(struct flow *f)
{
    const struct cfg_site *site = f->c->site;
    if (scan_resolve(f, false) != 0)
        return;
    snprintf(f->location, sizeof(f->location), "%s", site->locations[f->station->location].path);
    int rc = ops_return_receive(f->c->store, &f->ctx, f->a->id, f->sku, f->lot, f->qty, f->location,
                                f->station->id, f->today, f->p->tracking == CFG_TRACK_SERIAL,
                                on_return_done, f);
    if (rc != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

/* ---- return.inspect ---- */

static void inspect_read(struct flow *f);
static void inspect_run(struct flow *f);

static void inspect_after_seq(struct flow *f)
{
    suggest(f, inspect_run);
}

static json_t *credit_lines(const json_t *outcome)
{
    json_t *out = json_array(), *o;
    size_t i;
    json_array_foreach(outcome, i, o)
    {
        const char *sku = json_string_value(json_object_get(o, "sku"));
        const char *dec = json_string_value(json_object_get(o, "decision"));
        json_int_t q = json_integer_value(json_object_get(o, "qty"));
        json_t *hit = NULL, *x;
        size_t k;
        json_array_foreach(out, k, x)
        {
            if (sku && dec && strcmp(json_string_value(json_object_get(x, "sku")), sku) == 0 &&
                strcmp(json_string_value(json_object_get(x, "decision")), dec) == 0)
                hit = x;
        }
        if (hit)
            json_object_set_new(hit, "qty",
                                json_integer(json_integer_value(json_object_get(hit, "qty")) + q));
        else if (sku && dec)
            json_array_append_new(
                out, json_pack("{s:s,s:I,s:s}", "sku", sku, "qty", q, "decision", dec));
    }
    return out;
}

static void on_inspect_done(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    if (retried(f, r, inspect_read))
        return;
    if (r->rc != 0 || r->n_values < 7) {
        pass(f, r);
        return;
    }
    const char *state = r->values[0], *task = r->values[6];
    bool credit = strcmp(r->values[3], "1") == 0, done = strcmp(state, "inspected") == 0;
    json_t *outcome = json_loads(r->values[5], 0, NULL);
    json_t *put =
        task[0] ? json_pack("{s:s,s:o,s:s,s:s}", "task", task, "location", str_or_null(f->target),
                            "reason_code", f->reason_code, "reason", f->reason)
                : json_null();
    json_t *fl =
        json_pack("{s:s,s:s,s:o,s:I,s:s,s:s,s:I,s:I,s:b,s:o,s:o}", "rma", f->a->id, "sku", f->sku,
                  "lot", str_or_null(f->lot), "qty", (json_int_t)f->qty, "decision", f->a->decision,
                  "state", state, "inspected", (json_int_t)atoll(r->values[1]), "units",
                  (json_int_t)atoll(r->values[2]), "credit", credit, "scrap_location",
                  f->hold ? json_string(f->scrap) : json_null(), "putaway", put);
    event(f, "return",
          json_pack("{s:s,s:s,s:s,s:o,s:I,s:s,s:s,s:o}", "rma", f->a->id, "event", "inspected",
                    "sku", f->sku, "lot", str_or_null(f->lot), "qty", (json_int_t)f->qty,
                    "decision", f->a->decision, "state", state, "task", str_or_null(task)));
    json_t *rs = json_pack("{s:s,s:s,s:b,s:I,s:I}", "state", state, "order", r->values[4], "credit",
                           credit, "inspected", (json_int_t)atoll(r->values[1]), "units",
                           (json_int_t)atoll(r->values[2]));
    if (done && outcome) {
        json_t *lines = credit_lines(outcome);
        json_object_set(rs, "lines", lines);
        if (credit)
            event(
                f, "credit",
                json_pack("{s:s,s:s,s:O}", "rma", f->a->id, "order", r->values[4], "lines", lines));
        json_object_set_new(fl, "credit_event", json_boolean(credit));
        json_decref(lines);
    }
    retained(f, "rma", f->a->id, rs);
    if (task[0])
        retained(f, "task", task,
                 json_pack("{s:s,s:s,s:s,s:o,s:I,s:s,s:o,s:s}", "kind", "putaway", "state", "open",
                           "sku", f->sku, "lot", str_or_null(f->lot), "qty", (json_int_t)f->qty,
                           "source", f->location, "target", str_or_null(f->target), "reason",
                           f->reason));
    json_decref(outcome);
    succeed(f, fl, f->a->id, state, CMD_CHANGED_RMA);
}

static void inspect_run(struct flow *f)
{
    struct ops_inspect a = {.rma = f->a->id,
                            .sku = f->sku,
                            .lot = f->lot,
                            .note = f->a->note,
                            .location = f->location,
                            .scrap_location = f->scrap,
                            .qty = f->qty,
                            .scrap = f->hold,
                            .serial = f->p && f->p->tracking == CFG_TRACK_SERIAL,
                            .task = f->task,
                            .target = f->target,
                            .reason_code = f->reason_code,
                            .reason = f->reason};
    int rc = ops_return_inspect(f->c->store, &f->ctx, &a, on_inspect_done, f);
    if (rc != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

static void on_inspect_rma(void *arg, const struct store_result *r)
{
    struct flow *f = arg;
    const struct cfg_site *site = f->c->site;
    if (r->rc != 0 || r->n_values < 2) {
        pass(f, r);
        return;
    }
    if (!r->values[0][0]) {
        fail(f, WCS_E_UNKNOWN, "unknown RMA \"%s\"", f->a->id);
        return;
    }
    if (!r->values[1][0]) {
        fail(f, WCS_E_STATE, "RMA %s is %s: nothing received yet", f->a->id, r->values[0]);
        return;
    }
    snprintf(f->location, sizeof(f->location), "%s", r->values[1]);
    int32_t li = cfg_find_location(site, f->location);
    int32_t sc = li < 0 ? -1 : loc_of_type(site, site->locations[li].warehouse, CFG_LOC_SCRAP);
    if (sc < 0) {
        fail(f, WCS_E_STATE, "the warehouse of %s has no scrap location", f->location);
        return;
    }
    snprintf(f->scrap, sizeof(f->scrap), "%s", site->locations[sc].path);
    if (f->hold) {
        inspect_run(f);
        return;
    }
    read_task_seq(f, inspect_after_seq);
}

static void inspect_read(struct flow *f)
{
    static const char *const fields[] = {"state", "location"};
    int rc = ops_read_record(f->c->store, &f->ctx, "rma", f->a->id, fields, 2, on_inspect_rma, f);
    if (rc != 0) {
        struct store_result r = {.rc = rc};
        pass(f, &r);
    }
}

/* ---- entry ---- */

bool inbound_handles(const char *command)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], command) == 0)
            return true;
    return false;
}

int inbound_start(struct cmd_ctx *c, const struct store_ctx *ctx, const char *command,
                  const struct cmd_args *a, store_cb cb, void *arg)
{
    struct flow *f;
    int k = -1, rc = 0;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], command) == 0)
            k = i;
    if (k < 0 || !c || !ctx || !a || !cb)
        return -EINVAL;
    if (!(f = calloc(1, sizeof(*f))))
        return -ENOMEM;
    f->c = c;
    f->a = a;
    f->kind = (enum kind)k;
    f->cb = cb;
    f->arg = arg;
    snprintf(f->actor, sizeof(f->actor), "%s", ctx->actor ? ctx->actor : "");
    snprintf(f->cause, sizeof(f->cause), "%s", ctx->cause ? ctx->cause : "");
    f->ctx = *ctx;
    f->ctx.actor = f->actor;
    f->ctx.cause = f->cause;
    f->ctx.op_id = NULL; /* each script and read of the flow gets its own */
    {
        time_t t = (time_t)(ctx->ts_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(f->today, sizeof(f->today), "%Y-%m-%d", &tm);
    }
    switch (f->kind) {
    case K_EXPECT:
        rc = ops_receipt_expect(c->store, &f->ctx, a->id, a->supplier, a->warehouse, a->lines_json,
                                a->qty, on_expect, f);
        break;
    case K_CLOSE:
        rc = ops_receipt_close(c->store, &f->ctx, a->id, on_close, f);
        break;
    case K_SCAN:
        f->station = station_of(c->site, a->station);
        if (scan_resolve(f, true) != 0)
            return 0;
        scan_read(f);
        return 0;
    case K_QUALITY: {
        int32_t li = cfg_find_location(c->site, a->loc);
        int32_t sc = loc_of_type(c->site, c->site->locations[li].warehouse, CFG_LOC_SCRAP);
        f->p = product_of(c->site, a->sku);
        snprintf(f->sku, sizeof(f->sku), "%s", a->sku);
        snprintf(f->lot, sizeof(f->lot), "%s", a->lot ? a->lot : "");
        snprintf(f->location, sizeof(f->location), "%s", a->loc);
        f->qty = a->qty;
        f->hold = strcmp(a->decision, "scrap") == 0;
        if (f->hold && sc < 0) {
            fail(f, WCS_E_STATE, "the warehouse of %s has no scrap location", a->loc);
            return 0;
        }
        if (sc >= 0)
            snprintf(f->scrap, sizeof(f->scrap), "%s", c->site->locations[sc].path);
        quality_read(f);
        return 0;
    }
    case K_PUTAWAY:
        snprintf(f->location, sizeof(f->location), "%s", a->loc);
        putaway_read(f);
        return 0;
    case K_RETURN:
        f->station = station_of(c->site, a->station);
        return_start(f);
        return 0;
    case K_INSPECT:
        f->p = product_of(c->site, a->sku);
        snprintf(f->sku, sizeof(f->sku), "%s", a->sku);
        snprintf(f->lot, sizeof(f->lot), "%s", a->lot ? a->lot : "");
        f->qty = a->qty;
        f->hold = strcmp(a->decision, "scrap") == 0;
        inspect_read(f);
        return 0;
    }
    if (rc != 0)
        flow_free(f);
    return rc;
}

void inbound_fini(struct cmd_ctx *c)
{
    if (!c || !c->inbound)
        return;
    plan_site_close(c->inbound->site);
    free(c->inbound);
    c->inbound = NULL;
}
