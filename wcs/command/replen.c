/* Replenishment checks and replen.confirm (replen.h). A check reads the task counter, the
 * product's quant set and its quants, maps them for the planner (a face quant counts with what
 * stays after its reserved picks: on hand - reserved), runs the replenish stage and commits the
 * moves of the face's rule with replen_create, which re-checks everything; "changed meanwhile"
 * reads and plans once more. Checks run one at a time from a bounded queue (they share the
 * task counter). */
#include "replen.h"

#include "base/err.h"
#include "plan/plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 256

struct rcheck {
    char face[STORE_PATH_MAX], sku[STORE_ID_MAX], trigger[8];
    uint32_t rule;
};

struct cmd_replen {
    struct rcheck q[QUEUE_MAX];
    size_t head, n;
    bool running, closing;
    /* the check in flight */
    int attempt;
    int64_t seq;
    char **keys; /* the SKU's quant keys */
    size_t n_keys, next;
    char **vals; /* OPS_QUANT_VALUES per key */
};

static void run_next(struct cmd_ctx *c);

static void clear_read(struct cmd_replen *r)
{
    for (size_t i = 0; i < r->n_keys; i++)
        free(r->keys[i]);
    for (size_t i = 0; r->vals && i < r->n_keys * OPS_QUANT_VALUES; i++)
        free(r->vals[i]);
    free(r->keys);
    free(r->vals);
    r->keys = r->vals = NULL;
    r->n_keys = r->next = 0;
}

static int64_t now_s(const struct cmd_ctx *c)
{
    return c->clock ? clock_wall_ms(c->clock) / 1000 : (int64_t)time(NULL);
}

/* Ends the check at the head of the queue and starts the next one. */
static void check_done(struct cmd_ctx *c)
{
    struct cmd_replen *r = c->replen;
    c->stats.replen_finished++;
    clear_read(r);
    r->head = (r->head + 1) % QUEUE_MAX;
    r->n--;
    r->running = false;
    if (r->closing) {
        free(r);
        c->replen = NULL;
        return;
    }
    run_next(c);
}

static void check_failed(struct cmd_ctx *c)
{
    c->stats.replen_failed++;
    check_done(c);
}

static int start_read(struct cmd_ctx *c);

static void on_create(void *arg, const struct store_result *res)
{
    struct cmd_ctx *c = arg;
    struct cmd_replen *r = c->replen;
    if (r->closing) {
        check_done(c);
        return;
    }
    if (res->rc == WCS_E_STATE && res->message && strstr(res->message, "changed meanwhile") &&
        r->attempt == 0) {
        r->attempt++;
        clear_read(r);
        if (start_read(c) != 0)
            check_failed(c);
        return;
    }
    if (res->rc == WCS_E_STATE) {
        c->stats.replen_skipped++; /* an open replenishment meanwhile, or no longer below min */
        check_done(c);
        return;
    }
    if (res->rc != 0 || res->n_values < 2) {
        check_failed(c);
        return;
    }
    json_t *tasks = json_loads(res->values[0], 0, NULL), *v;
    size_t i;
    json_array_foreach(tasks, i, v)
    {
        c->stats.replen_created++;
        if (c->bus)
            (void)bus_publish_event(c->bus, "task", v);
    }
    json_decref(tasks);
    check_done(c);
}

/* Plans over the read and commits. */
static void plan_and_commit(struct cmd_ctx *c)
{
    struct cmd_replen *r = c->replen;
    const struct rcheck *k = &r->q[r->head];
    const struct cfg_site *cfg = c->site;
    const struct cfg_replenishment *rule = &cfg->replenishment[k->rule];
    struct plan_site *site = NULL;
    struct plan_input *in = NULL;
    struct plan_result *res = NULL;
    struct plan_line_err e;
    struct ops_replen_move mv[OPS_REPLEN_MOVES_MAX];
    struct plan_reason_info why[OPS_REPLEN_MOVES_MAX];
    const char *face_keys[OPS_READ_MAX];
    size_t *map = calloc(r->n_keys + 1, sizeof(*map)), n_stock = 0, n_face = 0, n_mv = 0;
    char msg[256];
    int rc;
    if (!map) {
        check_failed(c);
        return;
    }
    rc = plan_site_open(&site, cfg, now_s(c), msg, sizeof(msg));
    rc = rc ? rc : plan_site_freeze(site, NULL, 0);
    rc = rc ? rc : plan_input_new(&in, site);
    for (size_t i = 0; rc == 0 && i < r->n_keys; i++) {
        char **f = r->vals + i * OPS_QUANT_VALUES;
        int64_t on_hand = atoll(f[4]), reserved = atoll(f[5]), missing = atoll(f[8]);
        bool at_face = strcmp(f[2], k->face) == 0;
        if (f[0][0] != '1' || strcmp(f[1], k->sku) != 0)
            continue;
        if (at_face && n_face < OPS_READ_MAX)
            face_keys[n_face++] = r->keys[i];
        /* Units a short pick did not find are no source until counted (as pick.short). */
        on_hand -= missing;
        if (at_face) {
            on_hand -= reserved; /* what stays after the reserved picks */
            reserved = 0;
        }
        if (reserved > on_hand)
            reserved = on_hand;
        if (on_hand <= 0)
            continue;
        struct plan_stock_rec s = {.sku = f[1],
                                   .location = f[2],
                                   .lot = f[3][0] ? f[3] : NULL,
                                   .expiry = f[6][0] ? f[6] : NULL,
                                   .in_date = f[7][0] ? f[7] : "1970-01-01",
                                   .qty = on_hand,
                                   .reserved = reserved};
        rc = plan_add_stock(in, &s, (uint32_t)i + 1, &e);
        if (rc == -ENOMEM)
            break;
        if (rc == 0)
            map[n_stock++] = i;
        rc = 0; /* a quant the planner refuses is no source (as wave.plan) */
    }
    rc = rc ? rc : plan_run(&res, site, in, PLAN_REPLENISH, msg, sizeof(msg));
    for (uint32_t i = 0; rc == 0 && i < plan_result_n_moves(res); i++) {
        struct plan_move_info m;
        plan_result_move(res, i, &m);
        if (m.rule != k->rule)
            continue;
        if (m.stock == PLAN_NONE || m.stock >= n_stock) {
            c->stats.replen_no_source++;
            continue;
        }
        if (n_mv == OPS_REPLEN_MOVES_MAX)
            break;
        char **f = r->vals + map[m.stock] * OPS_QUANT_VALUES;
        why[n_mv] = m.reason;
        mv[n_mv] = (struct ops_replen_move){
            .qty = m.qty, .lot = f[3], .expiry = f[6], .from = f[2], .reason = why[n_mv].text};
        n_mv++;
    }
    if (rc == 0 && n_mv > 0) {
        struct ops_replen op = {.face = k->face,
                                .sku = k->sku,
                                .min = rule->min,
                                .first_task = r->seq + 1,
                                .trigger = k->trigger,
                                .face_keys = face_keys,
                                .n_face_keys = n_face,
                                .moves = mv,
                                .n_moves = n_mv};
        struct store_ctx sctx = {.actor = "wcs", .cause = "replenish"};
        sctx.ts_ms = c->clock ? clock_wall_ms(c->clock) : 0;
        rc = ops_replen_create(c->store, &sctx, &op, on_create, c);
    }
    plan_result_free(res);
    plan_input_free(in);
    plan_site_close(site);
    free(map);
    if (rc != 0)
        check_failed(c);
    else if (n_mv == 0)
        check_done(c); /* at or above min, or nothing to move */
}

static void on_quants(void *arg, const struct store_result *res)
{
    struct cmd_ctx *c = arg;
    struct cmd_replen *r = c->replen;
    size_t n;
    int rc = 0;
    if (r->closing) {
        check_done(c);
        return;
    }
    n = r->n_keys - r->next < OPS_READ_MAX ? r->n_keys - r->next : OPS_READ_MAX;
    if (res->rc != 0 || res->n_values != n * OPS_QUANT_VALUES) {
        check_failed(c);
        return;
    }
    for (size_t i = 0; i < res->n_values; i++)
        if (!(r->vals[r->next * OPS_QUANT_VALUES + i] = strdup(res->values[i])))
            rc = -ENOMEM;
    r->next += n;
    if (rc != 0) {
        check_failed(c);
        return;
    }
    if (r->next < r->n_keys) {
        n = r->n_keys - r->next < OPS_READ_MAX ? r->n_keys - r->next : OPS_READ_MAX;
        struct store_ctx sctx = {.actor = "wcs", .cause = "replenish"};
        if (ops_wave_read_quants(c->store, &sctx, (const char *const *)r->keys + r->next, n,
                                 on_quants, c) != 0)
            check_failed(c);
        return;
    }
    plan_and_commit(c);
}

static void on_set(void *arg, const struct store_result *res)
{
    struct cmd_ctx *c = arg;
    struct cmd_replen *r = c->replen;
    size_t n;
    if (r->closing) {
        check_done(c);
        return;
    }
    if (res->rc != 0 || res->n_values < 1 ||
        res->n_values != 1 + (n = strtoul(res->values[0], NULL, 10))) {
        check_failed(c);
        return;
    }
    if (n == 0) {
        check_done(c);
        return;
    }
    r->keys = calloc(n, sizeof(*r->keys));
    r->vals = calloc(n * OPS_QUANT_VALUES, sizeof(*r->vals));
    if (!r->keys || !r->vals) {
        check_failed(c);
        return;
    }
    for (size_t i = 0; i < n; i++, r->n_keys++)
        if (!(r->keys[i] = strdup(res->values[1 + i]))) {
            check_failed(c);
            return;
        }
    struct store_ctx sctx = {.actor = "wcs", .cause = "replenish"};
    if (ops_wave_read_quants(c->store, &sctx, (const char *const *)r->keys,
                             n < OPS_READ_MAX ? n : OPS_READ_MAX, on_quants, c) != 0)
        check_failed(c);
}

static void on_seq(void *arg, const struct store_result *res)
{
    struct cmd_ctx *c = arg;
    struct cmd_replen *r = c->replen;
    if (r->closing) {
        check_done(c);
        return;
    }
    if (res->rc != 0 || res->n_values < 1) {
        check_failed(c);
        return;
    }
    r->seq = atoll(res->values[0]);
    const char *skus[] = {r->q[r->head].sku};
    struct store_ctx sctx = {.actor = "wcs", .cause = "replenish"};
    if (ops_wave_read_sku_quants(c->store, &sctx, skus, 1, on_set, c) != 0)
        check_failed(c);
}

static int start_read(struct cmd_ctx *c)
{
    struct store_ctx sctx = {.actor = "wcs", .cause = "replenish"};
    return ops_read_task_seq(c->store, &sctx, on_seq, c);
}

static void run_next(struct cmd_ctx *c)
{
    struct cmd_replen *r = c->replen;
    while (r->n > 0 && !r->running) {
        r->running = true;
        r->attempt = 0;
        c->stats.replen_checks++;
        if (start_read(c) == 0)
            return;
        r->running = false;
        c->stats.replen_failed++;
        r->head = (r->head + 1) % QUEUE_MAX;
        r->n--;
    }
}

int replen_check(struct cmd_ctx *c, const char *face, const char *sku, const char *trigger)
{
    const struct cfg_site *cfg;
    struct cmd_replen *r;
    uint32_t rule = UINT32_MAX;
    if (!c || !face || !sku || !trigger || !c->store || !(cfg = c->site))
        return -EINVAL;
    for (uint32_t i = 0; i < cfg->n_replenishment && rule == UINT32_MAX; i++)
        if (strcmp(cfg->locations[cfg->replenishment[i].location].path, face) == 0 &&
            strcmp(cfg->products[cfg->replenishment[i].product].sku, sku) == 0)
            rule = i; /* the first rule of a face/product pair governs (planner.md) */
    if (rule == UINT32_MAX)
        return 0;
    if (!c->replen && !(c->replen = calloc(1, sizeof(*c->replen))))
        return -ENOMEM;
    r = c->replen;
    /* One queued check per face and product is enough: it reads fresh state when it runs. */
    for (size_t i = r->running ? 1 : 0; i < r->n; i++) {
        const struct rcheck *k = &r->q[(r->head + i) % QUEUE_MAX];
        if (strcmp(k->face, face) == 0 && strcmp(k->sku, sku) == 0)
            return 0;
    }
    if (r->n == QUEUE_MAX) {
        c->stats.replen_dropped++;
        return WCS_E_FULL;
    }
    struct rcheck *k = &r->q[(r->head + r->n) % QUEUE_MAX];
    snprintf(k->face, sizeof(k->face), "%s", face);
    snprintf(k->sku, sizeof(k->sku), "%s", sku);
    snprintf(k->trigger, sizeof(k->trigger), "%s", trigger);
    k->rule = rule;
    r->n++;
    run_next(c);
    return 0;
}

void replen_fini(struct cmd_ctx *c)
{
    if (!c || !c->replen)
        return;
    if (c->replen->running) {
        c->replen->closing = true; /* freed when the store answers the call in flight */
        c->replen->n = 1;
        return;
    }
    clear_read(c->replen);
    free(c->replen);
    c->replen = NULL;
}

/* ---- replen.confirm ---- */

struct rconf {
    struct cmd_ctx *c;
    struct store_ctx sctx;
    char actor[129], cause[257];
    char task[STORE_ID_MAX], user[129], from[STORE_PATH_MAX], to[STORE_PATH_MAX];
    char gtin[15], gsku[STORE_ID_MAX], lot[64], expiry[16];
    bool has_lot, has_expiry;
    int64_t qty;
    store_cb done;
    void *arg;
};

static void on_confirm(void *arg, const struct store_result *res)
{
    struct rconf *x = arg;
    x->done(x->arg, res);
    free(x);
}

static void on_task(void *arg, const struct store_result *res)
{
    struct rconf *x = arg;
    char msg[160];
    int rc;
    if (res->rc != 0) {
        on_confirm(x, res);
        return;
    }
    /* kind, sku, from, to, lot */
    if (res->n_values != 5) {
        struct store_result e = {.rc = WCS_E_PROTOCOL, .message = "unexpected task read"};
        on_confirm(x, &e);
        return;
    }
    const char *const *t = res->values;
    if (strcmp(t[0], "replenish") != 0) {
        snprintf(msg, sizeof(msg),
                 t[0][0] ? "ESTATE task %s is a %s task, not a replenishment"
                         : "EUNKNOWN unknown task \"%s\"%s",
                 x->task, t[0]);
        struct store_result e = {.rc = t[0][0] ? WCS_E_STATE : WCS_E_UNKNOWN, .message = msg};
        on_confirm(x, &e);
        return;
    }
    struct ops_replen_scan p = {.task = x->task,
                                .user = x->user,
                                .sku = t[1],
                                .source = t[2],
                                .face = t[3],
                                .task_lot = t[4],
                                .from_scanned = x->from,
                                .to_scanned = x->to,
                                .gtin = x->gtin,
                                .gtin_sku = x->gsku,
                                .lot = x->has_lot ? x->lot : NULL,
                                .expiry = x->has_expiry ? x->expiry : NULL,
                                .qty = x->qty};
    rc = ops_replen_confirm(x->c->store, &x->sctx, &p, on_confirm, x);
    if (rc != 0) {
        struct store_result e = {.rc = rc == -EINVAL ? WCS_E_PROTOCOL : rc,
                                 .message = "unreadable replenishment task"};
        on_confirm(x, &e);
    }
}

int replen_confirm_start(struct cmd_ctx *c, const struct store_ctx *ctx,
                         const struct ops_replen_scan *p, store_cb done, void *arg)
{
    static const char *const fields[] = {"kind", "sku", "from", "to", "lot"};
    struct rconf *x;
    int rc;
    if (!c || !p || !done || store_id_check(p->task) != 0 || !p->user)
        return -EINVAL;
    if (!(x = calloc(1, sizeof(*x))))
        return -ENOMEM;
    x->c = c;
    x->done = done;
    x->arg = arg;
    x->sctx = ctx ? *ctx : (struct store_ctx){0};
    snprintf(x->actor, sizeof(x->actor), "%s", x->sctx.actor ? x->sctx.actor : "wcs");
    snprintf(x->cause, sizeof(x->cause), "%s", x->sctx.cause ? x->sctx.cause : "replen.confirm");
    x->sctx.actor = x->actor;
    x->sctx.cause = x->cause;
    snprintf(x->task, sizeof(x->task), "%s", p->task);
    snprintf(x->user, sizeof(x->user), "%s", p->user);
    snprintf(x->from, sizeof(x->from), "%s", p->from_scanned ? p->from_scanned : "");
    snprintf(x->to, sizeof(x->to), "%s", p->to_scanned ? p->to_scanned : "");
    snprintf(x->gtin, sizeof(x->gtin), "%s", p->gtin ? p->gtin : "");
    snprintf(x->gsku, sizeof(x->gsku), "%s", p->gtin_sku ? p->gtin_sku : "");
    x->has_lot = p->lot != NULL;
    x->has_expiry = p->expiry != NULL;
    snprintf(x->lot, sizeof(x->lot), "%s", p->lot ? p->lot : "");
    snprintf(x->expiry, sizeof(x->expiry), "%s", p->expiry ? p->expiry : "");
    x->qty = p->qty;
    rc = ops_read_record(c->store, &x->sctx, "task", x->task, fields, 5, on_task, x);
    if (rc != 0)
        free(x);
    return rc;
}
