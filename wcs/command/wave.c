/* wave.plan through the planner (DESIGN.md §3: the planner runs on snapshots and commits
 * atomically): a bounded snapshot of the open orders and their products' quants is read from
 * Redis on the loop (read-only scripts, every key declared), the planner's reserve → wave →
 * batch stages run on a worker thread over it (one wave.plan at a time per command layer), and
 * the result comes back through a bounded queue's eventfd; then each order the planner reserved
 * whole is committed with exactly the planner's quants (wave_reserve: all or nothing, order
 * re-checked), and the waves are closed. Orders the stock or the order itself moved under are
 * left out and reported. */
#include "wave.h"

#include "base/err.h"
#include "base/hash.h"
#include "validate.h"
#include "base/queue.h"
#include "plan/plan.h"
#include "store/ops.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ORDER_FIELDS  11
#define QUANT_FIELDS  OPS_QUANT_VALUES
#define IN_FLIGHT_MAX 16 /* reads or commits outstanding at once */
#define PASSES_MAX    8  /* planner passes dropping partly reserved orders */

/* A set of borrowed strings (open addressing, base/hash.h), so that the snapshot's SKUs and quant
 * keys are deduplicated as they arrive instead of by sorting on the loop. */
struct strset {
    const char **slot;
    size_t cap, n;
};

/* Adds s (borrowed: it must outlive the set). Returns 1 added, 0 already there, -ENOMEM. */
static int strset_add(struct strset *set, const char *s)
{
    size_t i;
    if ((set->n + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 1024;
        const char **slot = calloc(cap, sizeof(*slot));
        if (!slot)
            return -ENOMEM;
        for (size_t k = 0; k < set->cap; k++)
            if (set->slot[k]) {
                for (i = hash_str(set->slot[k]) & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
                    ;
                slot[i] = set->slot[k];
            }
        free(set->slot);
        set->slot = slot;
        set->cap = cap;
    }
    for (i = hash_str(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
        if (strcmp(set->slot[i], s) == 0)
            return 0;
    set->slot[i] = s;
    set->n++;
    return 1;
}

static void strset_fini(struct strset *set)
{
    free(set->slot);
    *set = (struct strset){0};
}

/* Makes room for one more element of size sz in *arr (capacity doubling). */
static int grow(void **arr, size_t n, size_t *cap, size_t sz)
{
    void *p;
    size_t c;
    if (n < *cap)
        return 0;
    c = *cap ? *cap * 2 : 256;
    p = realloc(*arr, c * sz);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

struct sline {
    char *sku, *lot;
    int64_t qty;
};

struct sorder {
    char id[STORE_ID_MAX], carrier[STORE_ID_MAX], priority[STORE_ID_MAX], zone[STORE_ID_MAX];
    char ship_date[16], updated_ts[24];
    char backorder[STORE_ID_MAX]; /* the backorder it follows up, "" none */
    bool urgent; /* a backorder's follow-up or an order skipped for missing stock: first */
    uint32_t rank, n_lines;
    struct sline *lines;
    bool excluded;  /* not planned any more (a short line, a bad record, too many quants) */
    char *skip_why; /* why it is not committed (malloc'd), NULL */
    int32_t wave;   /* the planner's wave, -1 none */
    int short_pass; /* the planner pass that found it short, -1 none */
    /* its commit: per distinct quant (index into quants) the quantity */
    uint32_t *cq;
    int64_t *cqty;
    uint32_t n_cq;
    bool committed;
};

struct squant {
    char *key, *sku, *loc, *lot, *expiry, *in_date;
    int64_t on_hand, reserved;
    bool usable;
};

struct swave {
    char id[STORE_ID_MAX];
    struct plan_wave_info info;
    json_t *batches; /* the planner's batches in pick-path order (wave_close stores them) */
};

/* Progress of the snapshot reads. */
struct progress {
    int phase;   /* R_ORDERS .. R_QUANTS */
    size_t sent; /* items sent in this phase */
};

struct cmd_wave {
    struct cmd_ctx *c;
    wave_done_fn done;
    void *arg;
    struct store_ctx sctx;
    char actor[BUS_NAME_MAX], cause[BUS_NAME_MAX + BUS_REQUEST_ID_MAX + 2];
    char wave[STORE_ID_MAX], carrier[STORE_ID_MAX];
    uint32_t max_orders;
    int64_t now_s;
    /* snapshot */
    char **ids;
    size_t n_ids, next, in_flight;
    struct sorder *orders;
    size_t n_orders, cap_orders;
    bool orders_sorted; /* choose_orders sorted them (only when the caps cut some) */
    char **skus;
    size_t n_skus, cap_skus;
    struct squant *quants;
    size_t n_quants, cap_quants;
    struct strset sku_set, quant_set; /* dedupe while reading: no sort on the loop */
    struct progress prog;
    uint32_t deferred;
    int failed; /* first store error of the reads */
    char fail_msg[256];
    /* worker */
    struct plan_site *site;
    pthread_t thread;
    bool thread_started;
    bool closer; /* the thread is the closer (the reply), not the planner */
    struct bqueue *q;
    /* the closer's input (wave_close's reply) and output */
    char **close_vals;
    size_t n_close_vals;
    json_t *close_fields;
    char close_error[CMD_ERR_MAX];
    bool close_store_error;
    int rc_plan;
    char plan_msg[256];
    uint32_t stock_rejected;
    char stock_reject_msg[300];
    json_t *backorders; /* [{order, line, sku, qty, code, reason}] */
    struct swave *waves;
    uint32_t n_waves;
    /* commit */
    size_t commit_next, n_commits;
    bool closing;
};

static void sorder_fini(struct sorder *o)
{
    /* n_lines comes from the header before the lines are read. */
    for (uint32_t i = 0; o->lines && i < o->n_lines; i++) {
        free(o->lines[i].sku);
        free(o->lines[i].lot);
    }
    free(o->lines);
    free(o->skip_why);
    free(o->cq);
    free(o->cqty);
}

static void free_snapshot(struct cmd_wave *w);

static void wave_free(struct cmd_wave *w)
{
    if (!w)
        return;
    free_snapshot(w);
    for (size_t i = 0; i < w->n_close_vals; i++)
        free(w->close_vals[i]);
    free(w->close_vals);
    json_decref(w->close_fields);
    plan_site_close(w->site);
    bq_free(w->q);
    json_decref(w->backorders);
    for (uint32_t i = 0; w->waves && i < w->n_waves; i++)
        json_decref(w->waves[i].batches);
    free(w->waves);
    free(w);
}

/* Ends the command: fields (consumed) on success, else the refusal text. */
static void wave_end(struct cmd_wave *w, json_t *fields, const char *error, bool store_error)
{
    struct cmd_ctx *c = w->c;
    c->wave = NULL;
    w->done(w->arg, fields, error, store_error);
    wave_free(w);
}

static void set_skip(struct sorder *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_skip(struct sorder *o, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    if (o->skip_why)
        return;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    o->skip_why = s;
    o->excluded = true;
}

static char *sdup(const char *s)
{
    return strdup(s ? s : "");
}

/* ---- the worker: snapshot → plan_input → planner passes ---- */

static int cmp_order(const void *a, const void *b)
{
    const struct sorder *x = a, *y = b;
    if (x->urgent != y->urgent)
        return x->urgent ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (strcmp(x->ship_date, y->ship_date) != 0) {
        if (!x->ship_date[0])
            return 1;
        if (!y->ship_date[0])
            return -1;
        return strcmp(x->ship_date, y->ship_date);
    }
    return strcmp(x->id, y->id);
}

static int cmp_quant(const void *a, const void *b)
{
    return strcmp(((const struct squant *)a)->key, ((const struct squant *)b)->key);
}

/* One planner pass over the orders not excluded. Fills `map` (input order → snapshot order).
 * Returns 0 with *out set, or an error with w->plan_msg. */
static int plan_pass(struct cmd_wave *w, uint32_t *map, uint32_t *stock_map,
                     struct plan_input **in_out, struct plan_result **out, bool count_rejects)
{
    struct plan_input *in = NULL;
    struct plan_line_err e;
    uint32_t n_in = 0, n_stock = 0;
    int rc = plan_input_new(&in, w->site);
    if (rc)
        return rc;
    for (size_t i = 0; i < w->n_quants; i++) {
        struct squant *q = &w->quants[i];
        struct plan_stock_rec r = {
            .sku = q->sku,
            .location = q->loc,
            .lot = q->lot[0] ? q->lot : NULL,
            .expiry = q->expiry[0] ? q->expiry : NULL,
            /* A quant without an entry date counts as the oldest (FIFO takes it first). */
            .in_date = q->in_date[0] ? q->in_date : "1970-01-01",
            .qty = q->on_hand,
            .reserved = q->reserved,
        };
        if (!q->usable)
            continue;
        rc = plan_add_stock(in, &r, (uint32_t)i + 1, &e);
        if (rc == -ENOMEM)
            goto fail;
        if (rc < 0) {
            if (count_rejects && w->stock_rejected++ == 0)
                snprintf(w->stock_reject_msg, sizeof(w->stock_reject_msg), "%.120s: %.40s: %.120s",
                         q->key, e.field, e.msg);
            q->usable = false;
            continue;
        }
        stock_map[n_stock++] = (uint32_t)i;
    }
    for (size_t i = 0; i < w->n_orders; i++) {
        struct sorder *o = &w->orders[i];
        struct plan_line_rec lines_small[8], *lines = lines_small;
        if (o->excluded)
            continue;
        if (o->n_lines > 8 && !(lines = calloc(o->n_lines, sizeof(*lines)))) {
            rc = -ENOMEM;
            goto fail;
        }
        for (uint32_t k = 0; k < o->n_lines; k++) {
            const struct sline *l = &o->lines[k];
            int32_t p = cfg_find_product(w->c->site, l->sku);
            bool serial = p >= 0 && w->c->site->products[p].tracking == CFG_TRACK_SERIAL;
            lines[k] = (struct plan_line_rec){
                .sku = l->sku,
                .qty = l->qty,
                .lot = l->lot[0] && !serial ? l->lot : NULL,
                .serial = l->lot[0] && serial ? l->lot : NULL,
                /* Backorders first (DESIGN.md §2 scenario 2): the planner reserves urgent
                 * lines before any other. */
                .urgent = o->urgent,
            };
        }
        struct plan_order_rec r = {
            .order = o->id,
            .carrier = o->carrier,
            .priority = o->priority[0] ? o->priority : NULL,
            .ship_date = o->ship_date[0] ? o->ship_date : NULL,
            .zone = o->zone[0] ? o->zone : NULL,
            .lines = lines,
            .n_lines = o->n_lines,
        };
        rc = plan_add_order(in, &r, (uint32_t)i + 1, &e);
        if (lines != lines_small)
            free(lines);
        if (rc == -ENOMEM)
            goto fail;
        if (rc < 0) {
            set_skip(o, "refused by the planner's checks: %s: %s", e.field, e.msg);
            continue;
        }
        map[n_in++] = (uint32_t)i;
    }
    rc = plan_run(out, w->site, in, PLAN_RESERVE | PLAN_WAVE | PLAN_BATCH, w->plan_msg,
                  sizeof(w->plan_msg));
    if (rc)
        goto fail;
    *in_out = in;
    return 0;
fail:
    plan_input_free(in);
    return rc;
}

/* Keeps each wave's cart batches (docs/redis.md, wave `batch_plan`): per batch its earliest
 * cutoff (epoch ms) and its picks in path order with the order, line, quant and quantity. Picks
 * of orders that are not committed are filtered out by wave.release. */
static int keep_batches(struct cmd_wave *w, const struct plan_result *r, const uint32_t *map,
                        const uint32_t *stock_map)
{
    for (uint32_t i = 0; i < w->n_waves; i++)
        if (!(w->waves[i].batches = json_array()))
            return -ENOMEM;
    for (uint32_t b = 0; b < plan_result_n_batches(r); b++) {
        struct plan_batch_info bi;
        json_t *picks, *batch;
        plan_result_batch(r, b, &bi);
        if (bi.wave >= w->n_waves)
            continue;
        picks = json_array();
        for (uint32_t k = 0; picks && k < bi.n_picks; k++) {
            struct plan_pick_info pi;
            plan_result_batch_pick(r, b, k, &pi);
            const struct sorder *o = &w->orders[map[pi.order]];
            const struct squant *q = &w->quants[stock_map[pi.stock]];
            if (o->excluded || o->wave != (int32_t)bi.wave)
                continue;
            json_array_append_new(picks, json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:I}", "o", o->id, "l",
                                                   (json_int_t)pi.line, "sku", q->sku, "loc",
                                                   q->loc, "lot", q->lot, "exp", q->expiry, "n",
                                                   (json_int_t)pi.qty));
        }
        if (!picks)
            return -ENOMEM;
        if (json_array_size(picks) == 0) {
            json_decref(picks);
            continue;
        }
        batch = json_pack("{s:I,s:o}", "cutoff", (json_int_t)bi.cutoff_min * 60000, "picks", picks);
        if (!batch || json_array_append_new(w->waves[bi.wave].batches, batch) != 0)
            return -ENOMEM;
    }
    return 0;
}

static void *worker(void *arg)
{
    struct cmd_wave *w = arg;
    /* Snapshot order (the planner's input order decides ties): sorted here, off the loop. */
    if (!w->orders_sorted)
        qsort(w->orders, w->n_orders, sizeof(*w->orders), cmp_order);
    qsort(w->quants, w->n_quants, sizeof(*w->quants), cmp_quant);
    uint32_t *map = calloc(w->n_orders + 1, sizeof(*map));
    uint32_t *stock_map = calloc(w->n_quants + 1, sizeof(*stock_map));
    struct plan_input *in = NULL;
    struct plan_result *r = NULL;
    int rc = map && stock_map ? 0 : -ENOMEM;
    w->backorders = json_array();
    for (int pass = 0; rc == 0 && pass < PASSES_MAX; pass++) {
        bool dropped = false;
        plan_result_free(r);
        plan_input_free(in);
        r = NULL;
        in = NULL;
        if ((rc = plan_pass(w, map, stock_map, &in, &r, pass == 0)) != 0)
            break;
        /* An order is waved only whole: one with a short line is reported with the planner's
         * reasons and left confirmed, and the next pass plans without it, so its partial
         * reservations do not hold stock other orders could use. An order short only because
         * stock is reserved may be short because of an earlier dropped order: per pass only
         * the first of those (in snapshot order: priority, ship date, id) is dropped, the
         * others get another pass; on the last pass every short order is dropped. */
        size_t first_reserved = SIZE_MAX;
        uint32_t nb = plan_result_n_backorders(r);
        for (uint32_t b = 0; b < nb; b++) {
            struct plan_backorder_info bi;
            plan_result_backorder(r, b, &bi);
            size_t oi = map[bi.order];
            if (strcmp(bi.reason.code, "SHORT_RESERVED") == 0 && pass + 1 < PASSES_MAX) {
                if (oi < first_reserved)
                    first_reserved = oi;
                continue;
            }
            w->orders[oi].short_pass = pass;
        }
        if (first_reserved != SIZE_MAX)
            w->orders[first_reserved].short_pass = pass;
        for (uint32_t b = 0; b < nb; b++) {
            struct plan_backorder_info bi;
            plan_result_backorder(r, b, &bi);
            struct sorder *o = &w->orders[map[bi.order]];
            if (o->short_pass != pass)
                continue;
            if (!o->excluded) {
                set_skip(o, "line %u (%s): %s", bi.line, o->lines[bi.line].sku, bi.reason.text);
                dropped = true;
            }
            json_array_append_new(w->backorders,
                                  json_pack("{s:s,s:I,s:s,s:I,s:s,s:s}", "order", o->id, "line",
                                            (json_int_t)bi.line, "sku", o->lines[bi.line].sku,
                                            "qty", (json_int_t)bi.qty, "code", bi.reason.code,
                                            "reason", bi.reason.text));
        }
        if (!dropped)
            break;
    }
    if (rc == 0) {
        /* The orders still planned are reserved whole; gather each one's quants. */
        for (uint32_t a = 0; a < plan_result_n_allocs(r); a++) {
            struct plan_alloc_info ai;
            plan_result_alloc(r, a, &ai);
            struct sorder *o = &w->orders[map[ai.order]];
            uint32_t q = stock_map[ai.stock], k;
            if (o->excluded)
                continue;
            for (k = 0; k < o->n_cq && o->cq[k] != q; k++)
                ;
            if (k == o->n_cq) {
                uint32_t *cq = realloc(o->cq, (k + 1) * sizeof(*cq));
                int64_t *cqty = cq ? realloc(o->cqty, (k + 1) * sizeof(*cqty)) : NULL;
                if (cq)
                    o->cq = cq;
                if (!cq || !cqty) {
                    rc = -ENOMEM;
                    break;
                }
                o->cqty = cqty;
                o->cq[k] = q;
                o->cqty[k] = 0;
                o->n_cq++;
            }
            o->cqty[k] += ai.qty;
        }
        w->n_waves = plan_result_n_waves(r);
        if (w->n_waves > OPS_READ_MAX)
            w->n_waves = OPS_READ_MAX;
        w->waves = calloc(w->n_waves ? w->n_waves : 1, sizeof(*w->waves));
        if (!w->waves)
            rc = -ENOMEM;
        for (uint32_t i = 0; rc == 0 && i < plan_result_n_waves(r); i++) {
            struct plan_wave_info wi;
            plan_result_wave(r, i, &wi);
            if (i < w->n_waves) {
                w->waves[i].info = wi;
                if (i == 0)
                    snprintf(w->waves[i].id, sizeof(w->waves[i].id), "%s", w->wave);
                else if (snprintf(w->waves[i].id, sizeof(w->waves[i].id), "%s.%u", w->wave,
                                  i + 1) >= (int)sizeof(w->waves[i].id))
                    w->n_waves = i; /* the id would be too long: later waves wait */
            }
            for (uint32_t k = 0; k < wi.n_orders; k++) {
                struct sorder *o = &w->orders[map[plan_result_wave_order(r, i, k)]];
                if (o->excluded)
                    continue;
                if (i >= w->n_waves)
                    set_skip(o, "deferred: this wave.plan makes at most %u waves",
                             (unsigned)w->n_waves);
                else if (o->n_cq > OPS_RESERVE_MAX)
                    set_skip(o, "its %u quants exceed the %d one commit can take", o->n_cq,
                             OPS_RESERVE_MAX);
                else
                    o->wave = (int32_t)i;
            }
        }
        for (size_t i = 0; i < w->n_orders; i++) {
            struct sorder *o = &w->orders[i];
            if (!o->excluded && o->wave < 0)
                set_skip(o, "not waved by the planner");
        }
        if (rc == 0)
            rc = keep_batches(w, r, map, stock_map);
    }
    plan_result_free(r);
    plan_input_free(in);
    free(map);
    free(stock_map);
    w->rc_plan = rc;
    bq_push(w->q, &w);
    return NULL;
}

/* ---- commit ---- */

static void commit_next(struct cmd_wave *w);
static void close_waves(struct cmd_wave *w);

struct commit_ref {
    struct cmd_wave *w;
    size_t order;
};

static void on_commit(void *arg, const struct store_result *res)
{
    struct commit_ref *ref = arg;
    struct cmd_wave *w = ref->w;
    struct sorder *o = &w->orders[ref->order];
    free(ref);
    w->in_flight--;
    if (res->rc == 0) {
        o->committed = true;
    } else if (res->rc == WCS_E_STATE && res->n_short > 0) {
        const struct store_short *sh = &res->shorts[0];
        set_skip(o,
                 "stock moved since the snapshot: %s at %s%s%s has %" PRId64
                 " available, the plan needs %" PRId64 "; left for the next wave.plan",
                 sh->quant.sku, sh->quant.loc, sh->quant.lot[0] ? " lot " : "", sh->quant.lot,
                 sh->available, sh->requested);
    } else if (res->rc == WCS_E_STATE || res->rc == WCS_E_UNKNOWN || res->rc == -EINVAL) {
        set_skip(o, "%s", ops_refusal_text(res->message));
    } else {
        set_skip(o, "not committed: %s", res->message ? res->message : wcs_strerror(res->rc));
        if (!w->failed) {
            w->failed = res->rc;
            snprintf(w->fail_msg, sizeof(w->fail_msg), "%s",
                     res->message ? res->message : wcs_strerror(res->rc));
        }
    }
    commit_next(w);
}

/* An order_short mark answered: its outcome does not change the wave (a failed mark only
 * loses the order's priority next time). */
static void on_marked(void *arg, const struct store_result *res)
{
    struct cmd_wave *w = arg;
    (void)res;
    w->in_flight--;
    commit_next(w);
}

static void commit_next(struct cmd_wave *w)
{
    while (!w->failed && w->in_flight < IN_FLIGHT_MAX && w->commit_next < w->n_orders) {
        struct sorder *o = &w->orders[w->commit_next];
        size_t idx = w->commit_next++;
        struct store_line lines[OPS_RESERVE_MAX];
        struct commit_ref *ref;
        int rc;
        if (o->excluded || o->wave < 0) {
            /* Skipped for missing stock: marked, so that it goes first once stock arrives. */
            if (o->short_pass >= 0 && !o->urgent &&
                ops_order_short(w->c->store, &w->sctx, o->id, on_marked, w) == 0)
                w->in_flight++;
            continue;
        }
        for (uint32_t k = 0; k < o->n_cq; k++) {
            const struct squant *q = &w->quants[o->cq[k]];
            lines[k] = (struct store_line){q->sku, q->loc, q->lot, o->cqty[k]};
        }
        if (!(ref = malloc(sizeof(*ref)))) {
            set_skip(o, "not committed: out of memory");
            continue;
        }
        *ref = (struct commit_ref){w, idx};
        rc = ops_wave_reserve_bo(w->c->store, &w->sctx, w->waves[o->wave].id, o->id, o->updated_ts,
                                 o->n_lines, lines, o->n_cq, o->backorder, on_commit, ref);
        if (rc != 0) {
            free(ref);
            set_skip(o, "not committed: %s", wcs_strerror(rc));
            if (rc == WCS_E_LINK && !w->failed) {
                w->failed = rc;
                snprintf(w->fail_msg, sizeof(w->fail_msg), "%s", wcs_strerror(rc));
            }
            continue;
        }
        w->in_flight++;
    }
    if (w->in_flight == 0 && !w->closing)
        close_waves(w);
}

static json_t *skipped_json(const struct cmd_wave *w)
{
    json_t *a = json_array();
    for (size_t i = 0; i < w->n_orders; i++)
        if (w->orders[i].skip_why)
            json_array_append_new(a, json_pack("{s:s,s:s}", "order", w->orders[i].id, "reason",
                                               w->orders[i].skip_why));
    return a;
}

/* Frees the snapshot's bulk (orders, lines, quants, SKUs, ids): thousands of allocations. */
static void free_snapshot(struct cmd_wave *w)
{
    for (size_t i = 0; i < w->n_ids; i++)
        free(w->ids[i]);
    free(w->ids);
    w->ids = NULL;
    w->n_ids = 0;
    for (size_t i = 0; i < w->n_orders; i++)
        sorder_fini(&w->orders[i]);
    free(w->orders);
    w->orders = NULL;
    w->n_orders = 0;
    for (size_t i = 0; i < w->n_skus; i++)
        free(w->skus[i]);
    free(w->skus);
    w->skus = NULL;
    w->n_skus = 0;
    for (size_t i = 0; i < w->n_quants; i++) {
        struct squant *q = &w->quants[i];
        free(q->key);
        free(q->sku);
        free(q->loc);
        free(q->lot);
        free(q->expiry);
        free(q->in_date);
    }
    free(w->quants);
    w->quants = NULL;
    w->n_quants = 0;
    strset_fini(&w->sku_set);
    strset_fini(&w->quant_set);
}

/* Builds the reply from wave_close's reply (close_vals: per wave state, orders JSON, lines,
 * units) into close_fields or close_error, then frees the snapshot. Runs on the closer thread
 * (the loop is not touching w meanwhile): for a wave of 20,000 orders this is ~10 ms of JSON
 * and frees that would otherwise stall the loop's decisions. */
static void build_reply(struct cmd_wave *w)
{
    json_t *f, *waves = json_array(), *all = json_array();
    int64_t lines = 0, units = 0;
    size_t n_orders = w->n_orders, n_quants = w->n_quants;
    for (uint32_t i = 0; i < w->n_waves; i++) {
        char *const *v = w->close_vals + 4 * i;
        json_t *ids, *id;
        size_t k;
        if (strcmp(v[0], "planned") != 0)
            continue;
        ids = json_loads(v[1], 0, NULL);
        if (!ids)
            ids = json_array();
        json_array_foreach(ids, k, id) json_array_append(all, id);
        json_array_append_new(
            waves,
            json_pack("{s:s,s:o,s:I,s:I,s:I,s:I,s:s,s:s}", "wave", w->waves[i].id, "orders", ids,
                      "lines", (json_int_t)atoll(v[2]), "units", (json_int_t)atoll(v[3]), "batches",
                      (json_int_t)w->waves[i].info.batches, "late_orders",
                      (json_int_t)w->waves[i].info.late_orders, "closed",
                      w->waves[i].info.reason.code, "closed_reason", w->waves[i].info.reason.text));
        lines += atoll(v[2]);
        units += atoll(v[3]);
    }
    if (json_array_size(all) == 0) {
        json_t *sk = skipped_json(w);
        json_t *first = json_array_get(sk, 0);
        snprintf(w->close_error, sizeof(w->close_error), "no order could be committed: %s %s",
                 first ? json_string_value(json_object_get(first, "order")) : "-",
                 first ? json_string_value(json_object_get(first, "reason")) : "");
        w->close_store_error = w->failed != 0;
        json_decref(sk);
        json_decref(waves);
        json_decref(all);
        free_snapshot(w);
        return;
    }
    f = json_pack("{s:s,s:s,s:o,s:o,s:o,s:O,s:I,s:I,s:{s:I,s:I,s:I,s:I}}", "wave",
                  json_string_value(json_object_get(json_array_get(waves, 0), "wave")), "state",
                  "planned", "waves", waves, "orders", all, "skipped", skipped_json(w),
                  "backorders", w->backorders, "lines", (json_int_t)lines, "units",
                  (json_int_t)units, "snapshot", "orders", (json_int_t)n_orders, "quants",
                  (json_int_t)n_quants, "deferred", (json_int_t)w->deferred, "stock_rejected",
                  (json_int_t)w->stock_rejected);
    if (f && w->stock_rejected)
        json_object_set_new(f, "stock_rejected_first", json_string(w->stock_reject_msg));
    if (!f)
        snprintf(w->close_error, sizeof(w->close_error), "out of memory");
    w->close_fields = f;
    free_snapshot(w);
}

/* Answers with the closer's outcome (on the loop). */
static void end_closed(struct cmd_wave *w)
{
    json_t *f = w->close_fields;
    w->close_fields = NULL;
    if (f)
        wave_end(w, f, NULL, false);
    else
        wave_end(w, NULL, w->close_error, w->close_store_error);
}

static void *closer_main(void *arg)
{
    struct cmd_wave *w = arg;
    build_reply(w);
    (void)bq_push(w->q, &w); /* capacity 1, empty: cannot fail */
    return NULL;
}

/* On the loop, when a worker thread (planner or closer) reports through w->q: true once it
 * finished (its fd is unwatched and the thread joined), false for a spurious wake-up. */
static bool thread_finished(struct cmd_wave *w, struct loop *l, int fd)
{
    struct cmd_wave *got = NULL;
    bq_drain_fd(w->q);
    if (bq_pop(w->q, &got) != 0)
        return false;
    loop_del_fd(l, fd);
    pthread_join(w->thread, NULL);
    w->thread_started = false;
    return true;
}

static void on_closer_done(struct loop *l, int fd, unsigned events, void *arg)
{
    struct cmd_wave *w = arg;
    (void)events;
    if (thread_finished(w, l, fd))
        end_closed(w);
}

static void on_closed(void *arg, const struct store_result *res)
{
    struct cmd_wave *w = arg;
    if (res->rc != 0 || res->n_values != 4 * (size_t)w->n_waves) {
        char e[CMD_ERR_MAX];
        snprintf(e, sizeof(e), "wave.plan: closing the waves failed: %s",
                 res->rc ? (res->message ? ops_refusal_text(res->message) : wcs_strerror(res->rc))
                         : "unexpected reply");
        wave_end(w, NULL, e, res->rc != WCS_E_STATE);
        return;
    }
    w->close_vals = calloc(res->n_values + 1, sizeof(*w->close_vals));
    for (size_t i = 0; w->close_vals && i < res->n_values; i++, w->n_close_vals++)
        if (!(w->close_vals[i] = strdup(res->values[i])))
            break;
    if (!w->close_vals || w->n_close_vals != res->n_values) {
        wave_end(w, NULL, "wave.plan: out of memory building the reply (the waves are planned)",
                 true);
        return;
    }
    w->closer = true;
    if (loop_add_fd(w->c->loop, bq_fd(w->q), LOOP_READ, on_closer_done, w) == 0) {
        if (pthread_create(&w->thread, NULL, closer_main, w) == 0) {
            w->thread_started = true;
            return;
        }
        loop_del_fd(w->c->loop, bq_fd(w->q));
    }
    build_reply(w); /* no thread: on the loop after all */
    end_closed(w);
}

static void close_waves(struct cmd_wave *w)
{
    const char *ids[OPS_READ_MAX];
    json_t *info = json_array();
    char *text;
    int rc;
    w->closing = true;
    for (uint32_t i = 0; i < w->n_waves; i++) {
        ids[i] = w->waves[i].id;
        json_array_append_new(
            info, json_pack("{s:s,s:I,s:s,s:o}", "id", w->waves[i].id, "batches",
                            (json_int_t)w->waves[i].info.batches, "closed",
                            w->waves[i].info.reason.text, "plan",
                            w->waves[i].batches ? json_incref(w->waves[i].batches) : json_array()));
    }
    text = json_dumps(info, JSON_COMPACT);
    json_decref(info);
    rc =
        text ? ops_wave_close(w->c->store, &w->sctx, ids, w->n_waves, text, on_closed, w) : -ENOMEM;
    free(text);
    if (rc != 0) {
        char e[CMD_ERR_MAX];
        snprintf(e, sizeof(e), "store unavailable (%s): waves %s... left in state planning",
                 wcs_strerror(rc), w->wave);
        wave_end(w, NULL, e, true);
    }
}

static void on_opened(void *arg, const struct store_result *res)
{
    struct cmd_wave *w = arg;
    if (res->rc != 0) {
        wave_end(w, NULL,
                 res->rc == WCS_E_STATE ? ops_refusal_text(res->message)
                                        : (res->message ? res->message : wcs_strerror(res->rc)),
                 res->rc != WCS_E_STATE);
        return;
    }
    commit_next(w);
}

/* Back on the loop: the planner's result. */
static void on_planned(struct loop *l, int fd, unsigned events, void *arg)
{
    struct cmd_wave *w = arg;
    const char *ids[OPS_READ_MAX];
    size_t first = SIZE_MAX;
    int rc;
    (void)events;
    if (!thread_finished(w, l, fd))
        return;
    if (w->rc_plan != 0) {
        char e[CMD_ERR_MAX];
        snprintf(e, sizeof(e), "the planner refused the snapshot: %.180s",
                 w->plan_msg[0] ? w->plan_msg : wcs_strerror(w->rc_plan));
        wave_end(w, NULL, e, false);
        return;
    }
    for (size_t i = 0; i < w->n_orders && first == SIZE_MAX; i++)
        if (!w->orders[i].excluded && w->orders[i].wave >= 0)
            first = i;
    if (first == SIZE_MAX) {
        char e[CMD_ERR_MAX];
        const struct sorder *o = NULL;
        for (size_t i = 0; i < w->n_orders && !o; i++)
            if (w->orders[i].skip_why)
                o = &w->orders[i];
        snprintf(e, sizeof(e), "no order can be waved: %s %s", o ? o->id : "-",
                 o ? o->skip_why : "");
        wave_end(w, NULL, e, false);
        return;
    }
    for (uint32_t i = 0; i < w->n_waves; i++)
        ids[i] = w->waves[i].id;
    if (w->c->before_commit)
        w->c->before_commit(w->c->before_commit_arg);
    rc = ops_wave_open(w->c->store, &w->sctx, ids, w->n_waves, w->carrier, on_opened, w);
    if (rc != 0) {
        char e[CMD_ERR_MAX];
        snprintf(e, sizeof(e), "store unavailable (%s): not executed", wcs_strerror(rc));
        wave_end(w, NULL, e, true);
    }
}

static void start_worker(struct cmd_wave *w)
{
    int32_t *days = calloc(w->n_orders + 1, sizeof(*days));
    size_t n_days = 0;
    char msg[256];
    int rc;
    /* The site is opened and its cutoff days computed here, on the loop: it switches the
     * process's TZ, which the worker must never do. */
    rc = plan_site_open(&w->site, w->c->site, w->now_s, msg, sizeof(msg));
    if (rc == 0 && !days)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < w->n_orders; i++) {
        int64_t t;
        if (w->orders[i].ship_date[0] && plan_time_parse(w->orders[i].ship_date, &t) == 0)
            days[n_days++] = (int32_t)(t / 86400);
    }
    if (rc == 0 && w->max_orders)
        plan_site_limit_orders(w->site, w->max_orders);
    if (rc == 0)
        rc = plan_site_freeze(w->site, days, n_days);
    free(days);
    if (rc == 0)
        rc = bq_new(&w->q, sizeof(struct cmd_wave *), 1, BQ_EVENTFD);
    if (rc == 0)
        rc = loop_add_fd(w->c->loop, bq_fd(w->q), LOOP_READ, on_planned, w);
    if (rc == 0) {
        rc = -pthread_create(&w->thread, NULL, worker, w);
        if (rc != 0)
            loop_del_fd(w->c->loop, bq_fd(w->q));
    }
    if (rc != 0) {
        char e[CMD_ERR_MAX];
        snprintf(e, sizeof(e), "wave.plan could not start the planner: %.180s",
                 rc == WCS_E_RANGE ? msg : wcs_strerror(rc));
        wave_end(w, NULL, e, false);
        return;
    }
    w->thread_started = true;
}

/* ---- snapshot reads ---- */

static void read_next(struct cmd_wave *w);

struct read_ref {
    struct cmd_wave *w;
    int stage;
    size_t first, n;
};

enum { R_ORDERS, R_LINES, R_SETS, R_QUANTS };

static void read_failed(struct cmd_wave *w, const struct store_result *res)
{
    if (!w->failed) {
        w->failed = res->rc ? res->rc : WCS_E_PROTOCOL;
        snprintf(w->fail_msg, sizeof(w->fail_msg), "%s",
                 res->message ? ops_refusal_text(res->message) : wcs_strerror(w->failed));
    }
}

static void on_read(void *arg, const struct store_result *res);

static int send_chunk(struct cmd_wave *w, int stage, size_t first, size_t n)
{
    const char *keys[OPS_READ_MAX];
    struct read_ref *ref = malloc(sizeof(*ref));
    int rc;
    if (!ref)
        return -ENOMEM;
    *ref = (struct read_ref){w, stage, first, n};
    for (size_t i = 0; i < n; i++)
        keys[i] = stage == R_ORDERS  ? w->ids[first + i]
                  : stage == R_LINES ? w->orders[first + i].id
                  : stage == R_SETS  ? w->skus[first + i]
                                     : w->quants[first + i].key;
    rc = stage == R_ORDERS
             ? ops_wave_read_candidates(w->c->store, &w->sctx, keys, n, w->carrier, on_read, ref)
         : stage == R_LINES ? ops_wave_read_lines(w->c->store, &w->sctx, keys, n, on_read, ref)
         : stage == R_SETS  ? ops_wave_read_sku_quants(w->c->store, &w->sctx, keys, n, on_read, ref)
                            : ops_wave_read_quants(w->c->store, &w->sctx, keys, n, on_read, ref);
    if (rc != 0)
        free(ref);
    return rc;
}

/* The phase after all headers: choose the orders (priority, ship date, id) within the caps.
 * Only when the caps cut some is the choice made here, by a sort on the loop; otherwise the
 * worker sorts them (snapshot order) before planning, off the loop. */
static void choose_orders(struct cmd_wave *w)
{
    uint64_t lines = 0;
    size_t keep = 0;
    for (size_t i = 0; i < w->n_orders; i++)
        lines += w->orders[i].n_lines;
    if (w->n_orders <= WAVE_SNAPSHOT_ORDERS_MAX && lines <= WAVE_SNAPSHOT_LINES_MAX)
        return;
    lines = 0;
    qsort(w->orders, w->n_orders, sizeof(*w->orders), cmp_order);
    w->orders_sorted = true;
    for (size_t i = 0; i < w->n_orders; i++) {
        if (keep < WAVE_SNAPSHOT_ORDERS_MAX &&
            lines + w->orders[i].n_lines <= WAVE_SNAPSHOT_LINES_MAX) {
            lines += w->orders[i].n_lines;
            w->orders[keep++] = w->orders[i];
        } else {
            w->deferred++;
            sorder_fini(&w->orders[i]);
        }
    }
    w->n_orders = keep;
}

/* Adds a SKU to the snapshot's list unless it is there already. */
static int add_sku(struct cmd_wave *w, const char *sku)
{
    char *d;
    int rc;
    if (grow((void **)&w->skus, w->n_skus, &w->cap_skus, sizeof(*w->skus)) < 0 || !(d = sdup(sku)))
        return -ENOMEM;
    rc = strset_add(&w->sku_set, d);
    if (rc <= 0) {
        free(d);
        return rc;
    }
    w->skus[w->n_skus++] = d;
    return 0;
}

static void on_read(void *arg, const struct store_result *res)
{
    struct read_ref *ref = arg;
    struct cmd_wave *w = ref->w;
    size_t v = 0;
    int rc = 0;
    w->in_flight--;
    if (res->rc != 0) {
        read_failed(w, res);
    } else if (!w->failed) {
        for (size_t i = 0; rc == 0 && i < ref->n; i++) {
            if (ref->stage == R_ORDERS) {
                const char *const *f;
                struct sorder *o;
                uint32_t rank;
                if (v >= res->n_values ||
                    (strcmp(res->values[v], "1") == 0 && v + 1 + ORDER_FIELDS > res->n_values)) {
                    rc = WCS_E_PROTOCOL;
                    break;
                }
                /* wave_read 'candidates' filters (confirmed, not held, in no wave, of w->carrier):
                 * "0" for the others, "1" and state, hold, carrier, priority, ship_date, zone,
                 * updated_ts, wave, lines, backorder, short_since for a candidate. */
                if (strcmp(res->values[v++], "1") != 0)
                    continue;
                f = res->values + v;
                v += ORDER_FIELDS;
                if (grow((void **)&w->orders, w->n_orders, &w->cap_orders, sizeof(*w->orders)) <
                    0) {
                    rc = -ENOMEM;
                    break;
                }
                o = &w->orders[w->n_orders++];
                memset(o, 0, sizeof(*o));
                o->wave = -1;
                o->short_pass = -1;
                snprintf(o->id, sizeof(o->id), "%s", w->ids[ref->first + i]);
                snprintf(o->carrier, sizeof(o->carrier), "%s", f[2]);
                snprintf(o->priority, sizeof(o->priority), "%s", f[3]);
                snprintf(o->ship_date, sizeof(o->ship_date), "%s", f[4]);
                snprintf(o->zone, sizeof(o->zone), "%s", f[5]);
                snprintf(o->updated_ts, sizeof(o->updated_ts), "%s", f[6]);
                o->n_lines = (uint32_t)strtoul(f[8], NULL, 10);
                snprintf(o->backorder, sizeof(o->backorder), "%s", f[9]);
                o->urgent = f[9][0] || f[10][0];
                for (rank = 0; rank < w->c->site->waves.n_priorities; rank++)
                    if (strcmp(w->c->site->waves.priorities[rank], f[3]) == 0)
                        break;
                o->rank = rank;
            } else if (ref->stage == R_LINES) {
                struct sorder *o = &w->orders[ref->first + i];
                uint32_t n;
                if (v >= res->n_values) {
                    rc = WCS_E_PROTOCOL;
                    break;
                }
                n = (uint32_t)strtoul(res->values[v++], NULL, 10);
                if (v + 3 * (size_t)n > res->n_values ||
                    !(o->lines = calloc(n + 1, sizeof(*o->lines)))) {
                    rc = v + 3 * (size_t)n > res->n_values ? WCS_E_PROTOCOL : -ENOMEM;
                    break;
                }
                o->n_lines = n;
                for (uint32_t k = 0; k < n; k++, v += 3) {
                    o->lines[k].sku = sdup(res->values[v]);
                    o->lines[k].qty = atoll(res->values[v + 1]);
                    o->lines[k].lot = sdup(res->values[v + 2]);
                    if (!o->lines[k].sku || !o->lines[k].lot || add_sku(w, res->values[v]) < 0)
                        rc = -ENOMEM;
                }
                if (n == 0)
                    set_skip(o, "it has no lines");
            } else if (ref->stage == R_SETS) {
                size_t n;
                if (v >= res->n_values) {
                    rc = WCS_E_PROTOCOL;
                    break;
                }
                n = strtoul(res->values[v++], NULL, 10);
                for (size_t k = 0; rc == 0 && k < n && v < res->n_values; k++, v++) {
                    char *key;
                    int added;
                    if (w->n_quants >= WAVE_SNAPSHOT_QUANTS_MAX) {
                        rc = WCS_E_EXHAUSTED;
                        snprintf(w->fail_msg, sizeof(w->fail_msg),
                                 "the snapshot holds more than %d quants: plan per carrier",
                                 WAVE_SNAPSHOT_QUANTS_MAX);
                        break;
                    }
                    if (grow((void **)&w->quants, w->n_quants, &w->cap_quants, sizeof(*w->quants)) <
                            0 ||
                        !(key = sdup(res->values[v]))) {
                        rc = -ENOMEM;
                        break;
                    }
                    if ((added = strset_add(&w->quant_set, key)) <= 0) {
                        free(key); /* already listed (another line of the SKU), or no memory */
                        rc = added;
                        continue;
                    }
                    memset(&w->quants[w->n_quants], 0, sizeof(*w->quants));
                    w->quants[w->n_quants++].key = key;
                }
            } else {
                const char *const *f = res->values + v;
                struct squant *q = &w->quants[ref->first + i];
                if (v + QUANT_FIELDS > res->n_values) {
                    rc = WCS_E_PROTOCOL;
                    break;
                }
                v += QUANT_FIELDS;
                q->sku = sdup(f[1]);
                q->loc = sdup(f[2]);
                q->lot = sdup(f[3]);
                q->on_hand = atoll(f[4]);
                q->reserved = atoll(f[5]);
                /* Units a short pick did not find are not planned until counted. */
                if (atoll(f[8]) > 0) {
                    q->on_hand -= atoll(f[8]);
                    if (q->on_hand < q->reserved)
                        q->on_hand = q->reserved;
                }
                q->expiry = sdup(f[6]);
                q->in_date = sdup(f[7]);
                if (!q->sku || !q->loc || !q->lot || !q->expiry || !q->in_date)
                    rc = -ENOMEM;
                /* Empty quants are kept in Redis for their history; they hold nothing. */
                q->usable = strcmp(f[0], "1") == 0 && q->on_hand > 0;
            }
        }
        if (rc != 0 && !w->failed) {
            w->failed = rc;
            if (!w->fail_msg[0])
                snprintf(w->fail_msg, sizeof(w->fail_msg), "%s", wcs_strerror(rc));
        }
    }
    free(ref);
    read_next(w);
}

/* Sends the next chunks of the current phase, or moves to the next phase when all of it has
 * come back. */
static void read_next(struct cmd_wave *w)
{
    struct progress *p = &w->prog;
    while (!w->failed) {
        size_t total = p->phase == R_ORDERS  ? w->n_ids
                       : p->phase == R_LINES ? w->n_orders
                       : p->phase == R_SETS  ? w->n_skus
                                             : w->n_quants;
        if (p->sent < total) {
            size_t n = total - p->sent < OPS_READ_MAX ? total - p->sent : OPS_READ_MAX;
            int rc;
            if (w->in_flight >= IN_FLIGHT_MAX)
                return;
            rc = send_chunk(w, p->phase, p->sent, n);
            if (rc != 0) {
                w->failed = rc;
                snprintf(w->fail_msg, sizeof(w->fail_msg), "%s", wcs_strerror(rc));
                break;
            }
            w->in_flight++;
            p->sent += n;
            continue;
        }
        if (w->in_flight > 0)
            return;
        /* The phase is complete. */
        if (p->phase == R_ORDERS) {
            if (w->n_orders == 0) {
                char e[CMD_ERR_MAX];
                snprintf(e, sizeof(e), "no confirmed order without a hold%s%s to wave",
                         w->carrier[0] ? " for carrier " : "", w->carrier);
                wave_end(w, NULL, e, false);
                return;
            }
            choose_orders(w);
        } else if (p->phase == R_QUANTS) {
            start_worker(w);
            return;
        }
        p->phase++;
        p->sent = 0;
    }
    if (w->in_flight == 0) {
        char e[CMD_ERR_MAX];
        bool store = w->failed != WCS_E_STATE && w->failed != WCS_E_EXHAUSTED;
        snprintf(e, sizeof(e), store ? "store unavailable (%s): not executed" : "%s", w->fail_msg);
        wave_end(w, NULL, e, store);
    }
}

static void on_open(void *arg, const struct store_result *res)
{
    struct cmd_wave *w = arg;
    char e[CMD_ERR_MAX];
    if (res->rc != 0) {
        bool refused = res->rc == WCS_E_STATE;
        snprintf(e, sizeof(e), refused ? "%s" : "store unavailable (%s): not executed",
                 res->message ? ops_refusal_text(res->message) : wcs_strerror(res->rc));
        wave_end(w, NULL, e, !refused);
        return;
    }
    if (res->n_values < 1) {
        wave_end(w, NULL, "store unavailable (unexpected reply): not executed", true);
        return;
    }
    if (strcmp(res->values[0], "1") == 0) {
        snprintf(e, sizeof(e), "wave %s exists", w->wave);
        wave_end(w, NULL, e, false);
        return;
    }
    w->n_ids = res->n_values - 1;
    w->ids = calloc(w->n_ids + 1, sizeof(*w->ids));
    for (size_t i = 0; w->ids && i < w->n_ids; i++)
        if (!(w->ids[i] = sdup(res->values[1 + i]))) {
            w->n_ids = i;
            w->failed = -ENOMEM;
        }
    if (!w->ids || w->failed) {
        wave_end(w, NULL, "out of memory", true);
        return;
    }
    read_next(w);
}

int wave_plan_start(struct cmd_ctx *c, const struct store_ctx *ctx, const char *wave_id,
                    const char *carrier, uint32_t max_orders, wave_done_fn done, void *arg,
                    char *err, size_t err_len)
{
    struct cmd_wave *w;
    int rc;
    if (c->wave) {
        snprintf(err, err_len, "wave.plan %s is running: one at a time, retry when it has answered",
                 c->wave->wave);
        return WCS_E_STATE;
    }
    if (!c->loop) {
        snprintf(err, err_len, "wave.plan is not available: the command layer has no loop");
        return WCS_E_STATE;
    }
    if (!(w = calloc(1, sizeof(*w))))
        return -ENOMEM;
    w->c = c;
    w->done = done;
    w->arg = arg;
    w->sctx = *ctx;
    snprintf(w->actor, sizeof(w->actor), "%s", ctx->actor ? ctx->actor : "wcs");
    snprintf(w->cause, sizeof(w->cause), "%s", ctx->cause ? ctx->cause : "wave.plan");
    w->sctx.actor = w->actor;
    w->sctx.cause = w->cause;
    w->sctx.op_id = NULL;
    snprintf(w->wave, sizeof(w->wave), "%s", wave_id);
    snprintf(w->carrier, sizeof(w->carrier), "%s", carrier ? carrier : "");
    w->max_orders = max_orders;
    w->now_s = c->clock ? clock_wall_ms(c->clock) / 1000 : (int64_t)time(NULL);
    rc = ops_wave_read_open(c->store, &w->sctx, wave_id, WAVE_OPEN_ORDERS_MAX, on_open, w);
    if (rc != 0) {
        snprintf(err, err_len, "store unavailable (%s): not executed", wcs_strerror(rc));
        free(w);
        return rc;
    }
    c->wave = w;
    return 0;
}

void wave_plan_fini(struct cmd_ctx *c)
{
    struct cmd_wave *w = c ? c->wave : NULL;
    if (!w)
        return;
    if (w->thread_started) {
        pthread_join(w->thread, NULL);
        loop_del_fd(c->loop, bq_fd(w->q));
        w->thread_started = false;
        if (w->closer) /* the waves are planned: answer with them */
            end_closed(w);
        else
            wave_end(w, NULL, "wave.plan cancelled: the command layer is closing", true);
    }
}
