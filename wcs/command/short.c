/* pick.short (short.h): the task, its order and the SKU's quants are read fresh
 * (ops_short_read), the missing units are re-reserved by the planner's reserve stage over that
 * read (the shorted quant left out), and task_short commits it all at once, re-checking every
 * counter and quant; when something moved in between, it reads and plans once more. The plan
 * is for one order line over one SKU's quants and runs on the loop (not measured yet; wave.plan
 * runs its planner on a thread because it plans thousands of orders). */
#include "short.h"

#include "base/err.h"
#include "plan/plan.h"
#include "validate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the plan ---- */

static const struct cfg_location *find_location(const struct cfg_site *cfg, const char *path)
{
    for (uint32_t i = 0; i < cfg->n_locations; i++)
        if (strcmp(cfg->locations[i].path, path) == 0)
            return &cfg->locations[i];
    return NULL;
}

/* Path order of two locations: zone, pick_seq (none last), path. */
static int path_cmp(const struct cfg_site *cfg, const char *a, const char *b)
{
    const struct cfg_location *x = find_location(cfg, a), *y = find_location(cfg, b);
    const char *zx = x && x->zone ? x->zone : "", *zy = y && y->zone ? y->zone : "";
    int c = strcmp(zx, zy);
    if (c)
        return c;
    if (x && y && x->has_pick_seq != y->has_pick_seq)
        return x->has_pick_seq ? -1 : 1;
    if (x && y && x->has_pick_seq && x->pick_seq != y->pick_seq)
        return x->pick_seq < y->pick_seq ? -1 : 1;
    return strcmp(a, b);
}

static bool is_serial(const struct cfg_site *cfg, const char *sku)
{
    int32_t p = cfg_find_product(cfg, sku);
    return p >= 0 && cfg->products[p].tracking == CFG_TRACK_SERIAL;
}

static const char *opt(const char *s)
{
    return s && s[0] ? s : NULL;
}

int short_plan(const struct cfg_site *cfg, int64_t now_s, const struct short_need *need,
               const struct short_quant *quants, size_t n, struct short_alloc *out, size_t cap,
               size_t *n_out, int64_t *backorder, char *msg, size_t msg_len)
{
    struct plan_site *site = NULL;
    struct plan_input *in = NULL;
    struct plan_result *r = NULL;
    struct plan_line_err e;
    size_t *map = calloc(n + 1, sizeof(*map)), n_stock = 0, k = 0;
    int32_t day;
    int64_t t, got = 0;
    int rc;
    *n_out = 0;
    *backorder = need->qty;
    if (!map)
        return -ENOMEM;
    rc = plan_site_open(&site, cfg, now_s, msg, msg_len);
    if (rc == 0) {
        bool has_day = opt(need->ship_date) && plan_time_parse(need->ship_date, &t) == 0;
        day = has_day ? (int32_t)(t / 86400) : 0;
        rc = plan_site_freeze(site, &day, has_day ? 1 : 0);
    }
    rc = rc ? rc : plan_input_new(&in, site);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct short_quant *q = &quants[i];
        struct plan_stock_rec s = {
            .sku = q->sku,
            .location = q->loc,
            .lot = opt(q->lot),
            .expiry = opt(q->expiry),
            /* A quant without an entry date counts as the oldest (as wave.plan). */
            .in_date = opt(q->in_date) ? q->in_date : "1970-01-01",
            .qty = q->on_hand,
            .reserved = q->reserved,
        };
        if (strcmp(q->key, need->skip_key) == 0 || strcmp(q->sku, need->sku) != 0 ||
            q->on_hand <= 0)
            continue;
        rc = plan_add_stock(in, &s, (uint32_t)i + 1, &e);
        if (rc == -ENOMEM)
            break;
        if (rc == 0)
            map[n_stock++] = i;
        rc = 0; /* a quant the planner's checks refuse is no source (as wave.plan) */
    }
    if (rc == 0) {
        bool serial = opt(need->line_lot) && is_serial(cfg, need->sku);
        struct plan_line_rec l = {.sku = need->sku,
                                  .qty = need->qty,
                                  .lot = serial ? NULL : opt(need->line_lot),
                                  .serial = serial ? need->line_lot : NULL};
        struct plan_order_rec o = {.order = need->order,
                                   .carrier = need->carrier,
                                   .priority = opt(need->priority),
                                   .ship_date = opt(need->ship_date),
                                   .zone = opt(need->zone),
                                   .lines = &l,
                                   .n_lines = 1};
        rc = plan_add_order(in, &o, 1, &e);
        if (rc < 0 && rc != -ENOMEM)
            snprintf(msg, msg_len, "%s: %s", e.field, e.msg);
    }
    rc = rc ? rc : plan_run(&r, site, in, PLAN_RESERVE, msg, msg_len);
    for (uint32_t a = 0; rc == 0 && a < plan_result_n_allocs(r); a++) {
        struct plan_alloc_info ai;
        size_t j;
        plan_result_alloc(r, a, &ai);
        if (ai.stock >= n_stock || ai.qty <= 0)
            continue;
        for (j = 0; j < k && out[j].quant != map[ai.stock]; j++)
            ;
        if (j == k) {
            if (k == cap)
                continue; /* beyond cap: the rest is backordered */
            out[k++] = (struct short_alloc){map[ai.stock], 0};
        }
        out[j].qty += ai.qty;
        got += ai.qty;
    }
    if (rc == 0) {
        /* Path order (insertion sort: a handful of quants). */
        for (size_t i = 1; i < k; i++)
            for (size_t j = i;
                 j > 0 && path_cmp(cfg, quants[out[j - 1].quant].loc, quants[out[j].quant].loc) > 0;
                 j--) {
                struct short_alloc x = out[j];
                out[j] = out[j - 1];
                out[j - 1] = x;
            }
        *n_out = k;
        *backorder = need->qty - got;
    }
    plan_result_free(r);
    plan_input_free(in);
    plan_site_close(site);
    free(map);
    return rc;
}

/* ---- the command's path ---- */

struct sjob {
    struct cmd_ctx *c;
    struct store_ctx sctx;
    char actor[BUS_NAME_MAX], cause[BUS_NAME_MAX + BUS_REQUEST_ID_MAX + 2];
    store_cb done;
    void *arg;
    char task[STORE_ID_MAX], loc[STORE_PATH_MAX], gtin[15], gsku[STORE_ID_MAX], lot[64];
    char expiry[16], tote[STORE_ID_MAX], serial[STORE_ID_MAX];
    bool has_lot, has_expiry, has_serial, serial_tracked;
    int64_t qty;
    int attempt;
};

static int read_start(struct sjob *s);

static void end(struct sjob *s, const struct store_result *r)
{
    s->done(s->arg, r);
    free(s);
}

static void end_rc(struct sjob *s, int rc, const char *msg)
{
    struct store_result r = {.rc = rc, .message = msg};
    end(s, &r);
}

static void on_commit(void *arg, const struct store_result *r)
{
    struct sjob *s = arg;
    int rc;
    if (ops_retry_due(r, &s->attempt)) {
        if ((rc = read_start(s)) != 0)
            end_rc(s, rc, NULL);
        return;
    }
    end(s, r);
}

static int64_t now_s(const struct cmd_ctx *c)
{
    return c->clock ? clock_wall_ms(c->clock) / 1000 : (int64_t)time(NULL);
}

static void on_read(void *arg, const struct store_result *r)
{
    struct sjob *s = arg;
    const struct cfg_site *cfg = s->c->site;
    const char *const *t, *const *info, *const *keys, *const *qv;
    struct short_quant *qs = NULL;
    struct short_alloc al[OPS_SHORT_REPL_MAX];
    struct store_line repl[OPS_SHORT_REPL_MAX];
    char skip[STORE_KEY_MAX], follow[STORE_ID_MAX], msg[CMD_ERR_MAX];
    size_t n, n_al = 0;
    int64_t missing, bo = 0;
    int rc;
    if (r->rc != 0) {
        end(s, r);
        return;
    }
    if (r->n_values < OPS_SHORT_TASK + OPS_SHORT_INFO + 1) {
        end_rc(s, WCS_E_PROTOCOL, "unexpected short read");
        return;
    }
    t = r->values;
    info = r->values + OPS_SHORT_TASK;
    n = strtoul(info[OPS_SHORT_INFO], NULL, 10);
    if (r->n_values != OPS_SHORT_TASK + OPS_SHORT_INFO + 1 + 10 * n) {
        end_rc(s, WCS_E_PROTOCOL, "unexpected short read");
        return;
    }
    keys = info + OPS_SHORT_INFO + 1;
    qv = keys + n;
    missing = atoll(t[8]) - atoll(t[9]) - s->qty;
    if (store_key_quant(skip, sizeof(skip), store_site(s->c->store), t[4], t[5], t[6]) < 0) {
        end_rc(s, WCS_E_PROTOCOL, "unexpected short read");
        return;
    }
    /* Nothing missing (qty not below what remains): the script refuses with the reason. */
    if (missing > 0 && n > 0) {
        if (!(qs = calloc(n, sizeof(*qs)))) {
            end_rc(s, -ENOMEM, NULL);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            const char *const *f = qv + 9 * i;
            int64_t on_hand = atoll(f[4]) - atoll(f[8]), reserved = atoll(f[5]);
            qs[i] = (struct short_quant){.key = keys[i],
                                         .sku = f[0][0] == '1' ? f[1] : "",
                                         .loc = f[2],
                                         .lot = f[3],
                                         /* Units a short pick did not find: no source
                                            until counted. */
                                         .on_hand = on_hand < reserved ? reserved : on_hand,
                                         .reserved = reserved,
                                         .expiry = f[6],
                                         .in_date = f[7]};
        }
        struct short_need need = {.order = t[2],
                                  .carrier = info[1],
                                  .priority = info[2],
                                  .ship_date = info[3],
                                  .zone = info[4],
                                  .sku = t[4],
                                  .line_lot = info[6],
                                  .qty = missing,
                                  .skip_key = skip};
        /* A plan the planner refuses (the order's carrier left the config...) re-reserves
         * nothing: the missing units are backordered. */
        if (short_plan(cfg, now_s(s->c), &need, qs, n, al, OPS_SHORT_REPL_MAX, &n_al, &bo, msg,
                       sizeof(msg)) != 0)
            n_al = 0;
    }
    for (size_t i = 0; i < n_al; i++)
        repl[i] = (struct store_line){qs[al[i].quant].sku, qs[al[i].quant].loc, qs[al[i].quant].lot,
                                      al[i].qty};
    int64_t bctr = atoll(info[8]);
    if (snprintf(follow, sizeof(follow), "%s-BO%" PRId64, t[2], bctr + 1) >= (int)sizeof(follow))
        snprintf(follow, sizeof(follow), "BO-%" PRId64, bctr + 1);
    struct ops_short sh = {
        .pick = {.task = s->task,
                 .location = s->loc,
                 .gtin = s->gtin,
                 .gtin_sku = s->gsku,
                 .lot = s->has_lot ? s->lot : NULL,
                 .expiry = s->has_expiry ? s->expiry : NULL,
                 .qty = s->qty,
                 .tote = s->tote,
                 .serial = s->has_serial ? s->serial : NULL,
                 .serial_tracked = s->serial_tracked},
        .order = t[2],
        .batch = t[3],
        .sku = t[4],
        .location = t[5],
        .lot = t[6],
        .line = t[10],
        .own_backorder = info[5],
        .task_ctr = atoll(info[7]),
        .bo_ctr = bctr,
        .count_open = info[9][0] != '\0',
        .follow_up = follow,
        .priority = cfg->waves.n_priorities ? cfg->waves.priorities[0] : "",
        .repl = repl,
        .n_repl = n_al,
    };
    rc = ops_pick_short(s->c->store, &s->sctx, &sh, on_commit, s);
    free(qs);
    if (rc != 0)
        end_rc(s, rc, NULL);
}

static int read_start(struct sjob *s)
{
    return ops_short_read(s->c->store, &s->sctx, s->task, on_read, s);
}

int short_start(struct cmd_ctx *c, const struct store_ctx *ctx, const struct ops_pick *pk,
                store_cb done, void *arg)
{
    struct sjob *s;
    int rc;
    if (!c || !pk || !done || store_id_check(pk->task) != 0 || pk->qty < 0)
        return -EINVAL;
    if (!(s = calloc(1, sizeof(*s))))
        return -ENOMEM;
    s->c = c;
    s->done = done;
    s->arg = arg;
    s->sctx = ctx ? *ctx : (struct store_ctx){0};
    snprintf(s->actor, sizeof(s->actor), "%s", s->sctx.actor ? s->sctx.actor : "wcs");
    snprintf(s->cause, sizeof(s->cause), "%s", s->sctx.cause ? s->sctx.cause : "pick.short");
    s->sctx.actor = s->actor;
    s->sctx.cause = s->cause;
    s->sctx.op_id = NULL;
    snprintf(s->task, sizeof(s->task), "%s", pk->task);
    snprintf(s->loc, sizeof(s->loc), "%s", pk->location ? pk->location : "");
    snprintf(s->gtin, sizeof(s->gtin), "%s", pk->gtin ? pk->gtin : "");
    snprintf(s->gsku, sizeof(s->gsku), "%s", pk->gtin_sku ? pk->gtin_sku : "");
    snprintf(s->tote, sizeof(s->tote), "%s", pk->tote ? pk->tote : "");
    s->has_lot = pk->lot != NULL;
    s->has_expiry = pk->expiry != NULL;
    snprintf(s->lot, sizeof(s->lot), "%s", pk->lot ? pk->lot : "");
    snprintf(s->expiry, sizeof(s->expiry), "%s", pk->expiry ? pk->expiry : "");
    s->has_serial = pk->serial != NULL;
    snprintf(s->serial, sizeof(s->serial), "%s", pk->serial ? pk->serial : "");
    s->serial_tracked = pk->serial_tracked;
    s->qty = pk->qty;
    if ((rc = read_start(s)) != 0)
        free(s);
    return rc;
}
