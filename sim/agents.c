/* Picker and packer state machines (sim/agents.h). Pure: replies are parsed with jansson,
 * actions are filled into caller structs, randomness is a seeded splitmix64 per agent. */
#include "sim/agents.h"

#include "base/err.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TASKS = 512, MAX_TOTES = 64, MAX_QUEUE = 4096, MAX_ITEMS = 128, MAX_CONTENTS = 4096 };
/* A pick or short refused for a passing reason, or a pack station's tote refused because Redis
 * was not reachable, is done again after this (clock time). */
enum { PASSING_RETRY_MS = 10000 };

static uint64_t split(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
    return (double)(split(s) >> 11) / 9007199254740992.0;
}

/* ---- picker ---- */

struct task {
    char id[64], location[128], sku[64], gtin[16], lot[64], expiry[16], order[64];
    uint32_t qty, remaining;
    unsigned attempts;
};

enum pstate { P_IDLE, P_CLAIMING, P_PICKING, P_AWAIT, P_INDUCT };
enum perr { E_NONE, E_PRODUCT, E_QTY, E_SCAN, E_TOTE };

struct content {
    char tote[64], sku[64], gtin[16], lot[64];
    uint32_t qty;
};

struct sim_picker {
    struct sim_picker_cfg cfg;
    char prefix[32];
    uint64_t rng, next_at;
    uint64_t sent_at; /* when the outstanding pick.confirm / pick.short was scanned */
    enum pstate st;
    struct task tasks[MAX_TASKS];
    size_t n_tasks, cur;
    char totes[MAX_TOTES][64], tote_order[MAX_TOTES][64];
    size_t n_totes, next_induct;
    uint64_t tote_seq;
    enum perr last_err;
    bool last_short;    /* the outstanding command is a pick.short */
    bool pending_short; /* a pick.short is the next action */
    struct content contents[MAX_CONTENTS];
    size_t n_contents;
    /* contents[round_first..] are those of the current cart's totes: tote ids are never reused
     * (tote_seq), so the lookups of a round need not scan the whole shift's contents */
    size_t round_first;
    struct sim_picker_stats st_;
};

int sim_picker_new(struct sim_picker **out, const struct sim_picker_cfg *cfg)
{
    struct sim_picker *p;
    if (!cfg || !(cfg->seconds_per_pick > 0) || !cfg->tote_prefix || !cfg->tote_prefix[0] ||
        strlen(cfg->tote_prefix) > 20)
        return -EINVAL;
    if (!(p = calloc(1, sizeof(*p))))
        return -ENOMEM;
    p->cfg = *cfg;
    snprintf(p->prefix, sizeof(p->prefix), "%s", cfg->tote_prefix);
    p->cfg.tote_prefix = p->prefix;
    if (!p->cfg.retry_ms)
        p->cfg.retry_ms = 60000;
    p->rng = cfg->seed;
    *out = p;
    return 0;
}

void sim_picker_free(struct sim_picker *p)
{
    free(p);
}

static const char *tote_for(struct sim_picker *p, const char *order)
{
    for (size_t i = 0; i < p->n_totes; i++)
        if (strcmp(p->tote_order[i], order) == 0)
            return p->totes[i];
    if (p->n_totes == MAX_TOTES)
        return p->totes[MAX_TOTES - 1];
    if (p->n_totes == 0)
        p->round_first = p->n_contents;
    snprintf(p->totes[p->n_totes], sizeof(p->totes[0]), "%s-%llu", p->prefix,
             (unsigned long long)++p->tote_seq);
    snprintf(p->tote_order[p->n_totes], sizeof(p->tote_order[0]), "%s", order);
    return p->totes[p->n_totes++];
}

/* Of a tote of the current cart (tote_for). */
static bool tote_has_contents(const struct sim_picker *p, const char *tote)
{
    for (size_t i = p->round_first; i < p->n_contents; i++)
        if (strcmp(p->contents[i].tote, tote) == 0 && p->contents[i].qty > 0)
            return true;
    return false;
}

static void cmd(struct sim_action *a, const char *name, json_t *payload)
{
    char *s = json_dumps(payload, JSON_COMPACT);
    memset(a, 0, sizeof(*a));
    a->kind = SIM_ACT_COMMAND;
    snprintf(a->name, sizeof(a->name), "%s", name);
    snprintf(a->payload, sizeof(a->payload), "%s", s ? s : "{}");
    free(s);
    json_decref(payload);
}

/* The product barcode as an RF device reads it: GS1 bracketed form with GTIN, lot, expiry. */
static void scan_text(char *out, size_t cap, const char *gtin, const char *lot, const char *exp)
{
    char g14[15];
    size_t n = strlen(gtin), pad = n < 14 ? 14 - n : 0;
    memset(g14, '0', pad);
    memcpy(g14 + pad, gtin, 14 - pad);
    g14[14] = '\0';
    snprintf(out, cap, "(01)%s%s%s%s%s", g14, exp[0] ? "(17)" : "", exp, lot[0] ? "(10)" : "", lot);
}

int sim_picker_next(struct sim_picker *p, uint64_t now_ms, struct sim_action *act)
{
    if (now_ms < p->next_at)
        return 0;
    switch (p->st) {
    case P_IDLE:
        cmd(act, "batch.claim", json_object());
        p->st = P_CLAIMING;
        p->st_.claims++;
        return 1;
    case P_PICKING: {
        struct task *t = &p->tasks[p->cur];
        json_t *f;
        char scan[200];
        const char *tote = tote_for(p, t->order);
        uint32_t qty = t->remaining;
        double x = unit(&p->rng);
        p->last_err = E_NONE;
        for (size_t e = 0; e < p->cfg.n_empty; e++)
            if (p->cfg.empty[e] && strcmp(p->cfg.empty[e], t->location) == 0) {
                /* The shelf is empty: nothing to pick, the task is short of all it asks. */
                p->last_short = true;
                cmd(act, "pick.short", json_pack("{s:s,s:i}", "task", t->id, "qty", 0));
                p->st = P_AWAIT;
                p->sent_at = now_ms;
                return 1;
            }
        /* At most one injected mistake per task, on its first attempt. */
        if (t->attempts++ > 0)
            x = 2;
        if (x < p->cfg.err_wrong_product)
            p->last_err = E_PRODUCT;
        else if ((x -= p->cfg.err_wrong_product) < p->cfg.err_wrong_qty)
            p->last_err = E_QTY;
        else if ((x -= p->cfg.err_wrong_qty) < p->cfg.err_skipped_scan)
            p->last_err = E_SCAN;
        else if ((x -= p->cfg.err_skipped_scan) < p->cfg.err_wrong_tote && p->n_totes > 1)
            p->last_err = E_TOTE;
        scan_text(scan, sizeof(scan), p->last_err == E_PRODUCT ? "09506000134352" : t->gtin, t->lot,
                  t->expiry);
        f = json_pack(
            "{s:s,s:s,s:I,s:s}", "task", t->id, "location", t->location, "qty",
            (json_int_t)(p->last_err == E_QTY ? qty + 1 : qty), "tote",
            p->last_err == E_TOTE ? (strcmp(p->totes[0], tote) ? p->totes[0] : p->totes[1]) : tote);
        if (p->last_err != E_SCAN)
            json_object_set_new(f, "scan", json_string(scan));
        if (p->last_err != E_NONE)
            p->st_.errors_injected++;
        p->last_short = false;
        cmd(act, "pick.confirm", f);
        p->st = P_AWAIT;
        p->sent_at = now_ms;
        return 1;
    }
    case P_INDUCT:
        /* A tote nothing went into (its order's picks were all short) stays on the cart. */
        while (p->next_induct < p->n_totes && !tote_has_contents(p, p->totes[p->next_induct]))
            p->next_induct++;
        if (p->next_induct < p->n_totes) {
            memset(act, 0, sizeof(*act));
            act->kind = SIM_ACT_INDUCT;
            snprintf(act->code, sizeof(act->code), "%s", p->totes[p->next_induct++]);
            p->st_.totes_inducted++;
            p->next_at = now_ms + 5000; /* walking to the next tote on the cart */
            return 1;
        }
        p->st = P_IDLE;
        p->n_totes = p->next_induct = 0;
        p->next_at = now_ms + 30000; /* back to the start of the pick area */
        return 0;
    case P_AWAIT:
        if (p->pending_short) {
            p->pending_short = false;
            p->last_short = true;
            cmd(act, "pick.short", json_pack("{s:s,s:i}", "task", p->tasks[p->cur].id, "qty", 0));
            p->sent_at = now_ms;
            return 1;
        }
        return 0;
    case P_CLAIMING:
        return 0;
    }
    return 0;
}

static void json_str(char *out, size_t cap, json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(out, cap, "%s", s ? s : "");
}

/* Copies a NUL-terminated string into dst of cap bytes, truncating. */
static void cpy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* tote: one of the current cart (tote_for). */
static void add_content(struct sim_picker *p, const char *tote, const struct task *t, uint32_t qty)
{
    for (size_t i = p->round_first; i < p->n_contents; i++) {
        struct content *c = &p->contents[i];
        if (strcmp(c->tote, tote) == 0 && strcmp(c->sku, t->sku) == 0 &&
            strcmp(c->lot, t->lot) == 0) {
            c->qty += qty;
            return;
        }
    }
    if (p->n_contents == MAX_CONTENTS)
        return;
    struct content *c = &p->contents[p->n_contents++];
    cpy(c->tote, sizeof(c->tote), tote);
    cpy(c->sku, sizeof(c->sku), t->sku);
    cpy(c->gtin, sizeof(c->gtin), t->gtin);
    cpy(c->lot, sizeof(c->lot), t->lot);
    c->qty = qty;
}

/* The picker walks on from the scan, not from the reply: the next location is on the batch's
 * list, so a reply that comes while walking costs nothing and only a slower one holds the picker
 * up (at hundreds of times real time a few milliseconds of round trip are many floor seconds). */
static uint64_t from_scan(const struct sim_picker *p, uint64_t now_ms, uint64_t walk_ms)
{
    uint64_t at = p->sent_at + walk_ms;
    return at > now_ms ? at : now_ms;
}

static void next_task(struct sim_picker *p, uint64_t now_ms)
{
    p->cur++;
    if (p->cur >= p->n_tasks) {
        p->st = P_INDUCT;
        p->st_.batches++;
        p->next_at = from_scan(p, now_ms, 10000); /* to the conveyor */
    } else {
        p->st = P_PICKING;
        p->next_at = from_scan(p, now_ms, (uint64_t)(p->cfg.seconds_per_pick * 1000));
    }
}

bool sim_refusal_passes(const char *error)
{
    return error && (strstr(error, "not executed") || strstr(error, "retry") ||
                     strcmp(error, "shutting down") == 0);
}

int sim_picker_on_reply(struct sim_picker *p, uint64_t now_ms, const char *reply)
{
    json_t *j = json_loads(reply, 0, NULL);
    bool ok;
    if (!json_is_object(j) || (p->st != P_CLAIMING && p->st != P_AWAIT)) {
        json_decref(j);
        p->st = P_IDLE;
        p->next_at = now_ms + p->cfg.retry_ms;
        return -EINVAL;
    }
    ok = json_is_true(json_object_get(j, "ok"));
    if (p->st == P_CLAIMING) {
        json_t *t;
        size_t i;
        p->n_tasks = p->cur = 0;
        if (ok)
            json_array_foreach(json_object_get(j, "tasks"), i, t)
            {
                struct task *k;
                if (p->n_tasks == MAX_TASKS)
                    break;
                k = &p->tasks[p->n_tasks++];
                json_str(k->id, sizeof(k->id), t, "task");
                json_str(k->location, sizeof(k->location), t, "location");
                json_str(k->sku, sizeof(k->sku), t, "sku");
                json_str(k->gtin, sizeof(k->gtin), t, "gtin");
                json_str(k->lot, sizeof(k->lot), t, "lot");
                json_str(k->expiry, sizeof(k->expiry), t, "expiry");
                json_str(k->order, sizeof(k->order), t, "order");
                /* AI 17 is YYMMDD: the reply's expiry is YYYY-MM-DD. */
                if (strlen(k->expiry) == 10) {
                    char ymd[7] = {k->expiry[2], k->expiry[3], k->expiry[5], k->expiry[6],
                                   k->expiry[8], k->expiry[9], '\0'};
                    memcpy(k->expiry, ymd, sizeof(ymd));
                }
                k->qty = k->remaining = (uint32_t)json_integer_value(json_object_get(t, "qty"));
            }
        if (p->n_tasks == 0) {
            const char *e = json_string_value(json_object_get(j, "error"));
            p->st = P_IDLE;
            if (!ok && e && strstr(e, "retry")) {
                /* a race lost to another picker ("changed meanwhile, retry"): press again */
                p->next_at = now_ms + 2000;
            } else {
                p->next_at = now_ms + p->cfg.retry_ms;
            }
        } else {
            p->st = P_PICKING;
            p->next_at = now_ms + (uint64_t)(p->cfg.seconds_per_pick * 1000);
        }
        json_decref(j);
        return 0;
    }
    /* P_AWAIT: the reply to pick.confirm or pick.short. */
    struct task *t = &p->tasks[p->cur];
    if (ok && !p->last_short) {
        json_int_t rem = json_integer_value(json_object_get(j, "remaining"));
        uint32_t done = t->remaining - (uint32_t)(rem >= 0 ? rem : 0);
        add_content(p, tote_for(p, t->order), t, done);
        p->st_.picks_confirmed++;
        p->st_.units += done;
        t->remaining = (uint32_t)(rem >= 0 ? rem : 0);
        if (t->remaining > 0) {
            p->st = P_PICKING;
            p->next_at = from_scan(p, now_ms, 2000);
        } else {
            next_task(p, now_ms);
        }
    } else if (ok) {
        p->st_.shorts++;
        next_task(p, now_ms);
    } else if (sim_refusal_passes(json_string_value(json_object_get(j, "error")))) {
        /* wcs could not do it now (Redis down: "not executed"): the same scan, or the same
         * short, again in a while. Taken for "no stock there", it became a short of units on
         * the shelf, and a refused short skipped the task. */
        p->st_.passing_refusals++;
        if (p->last_short)
            p->pending_short = true;
        else
            p->st = P_PICKING;
        p->next_at = now_ms + PASSING_RETRY_MS;
    } else if (p->last_err != E_NONE) {
        /* The refusal the mistake deserved: the picker notices and does it right. */
        p->st_.errors_refused++;
        p->last_err = E_NONE;
        p->st = P_PICKING;
        p->next_at = now_ms + 3000;
    } else if (!p->last_short) {
        /* Refused without a mistake (the stock is not where the task says): report a short
         * of what remains; wcs re-reserves elsewhere or backorders. */
        p->st_.unexpected_refusals++;
        p->pending_short = true;
        p->next_at = now_ms + 2000;
    } else {
        next_task(p, now_ms);
    }
    json_decref(j);
    return 0;
}

size_t sim_picker_tote_contents(const struct sim_picker *p, const char *tote, char (*sku)[64],
                                char (*gtin)[16], char (*lot)[64], uint32_t *qty, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_contents && n < cap; i++)
        if (strcmp(p->contents[i].tote, tote) == 0) {
            memcpy(sku[n], p->contents[i].sku, 64);
            memcpy(gtin[n], p->contents[i].gtin, 16);
            memcpy(lot[n], p->contents[i].lot, 64);
            qty[n++] = p->contents[i].qty;
        }
    return n;
}

void sim_picker_stats(const struct sim_picker *p, struct sim_picker_stats *out)
{
    *out = p->st_;
}

/* ---- packer ---- */

struct arrival {
    char tote[64];
    struct sim_pack_item items[MAX_ITEMS];
    size_t n;
};

enum kstate { K_IDLE, K_SCAN_TOTE, K_SCAN_ITEMS, K_WEIGH, K_LABEL, K_INDUCT, K_CLEAR };

struct sim_packer {
    struct sim_packer_cfg cfg;
    uint64_t rng, next_at;
    enum kstate st;
    /* Totes waiting at the station, a ring that grows (a person stacks them on the floor when
     * the packer is behind: 64 places lost 270 totes of the full shift at its peak). */
    struct arrival *queue;
    size_t head, n_queue, cap_queue;
    struct arrival cur;
    size_t item, unit; /* next unit to scan: items[item], its unit-th piece */
    /* Units of items[i] scanned but refused "busy" by the station: scanned again first. */
    uint32_t redo[MAX_ITEMS];
    bool wrong_done, weighed, labelled;
    char sscc[32];
    struct sim_packer_stats st_;
};

int sim_packer_new(struct sim_packer **out, const struct sim_packer_cfg *cfg)
{
    struct sim_packer *p;
    if (!cfg || !(cfg->seconds_per_item > 0) || cfg->err_wrong_item < 0 ||
        cfg->err_wrong_item > 1 || cfg->weight_error_pct < 0)
        return -EINVAL;
    if (!(p = calloc(1, sizeof(*p))))
        return -ENOMEM;
    p->cfg = *cfg;
    p->rng = cfg->seed;
    *out = p;
    return 0;
}

void sim_packer_free(struct sim_packer *p)
{
    if (p)
        free(p->queue);
    free(p);
}

int sim_packer_on_tote(struct sim_packer *p, uint64_t now_ms, const char *tote,
                       const struct sim_pack_item *items, size_t n)
{
    struct arrival *a;
    (void)now_ms;
    if (p->n_queue == p->cap_queue) {
        size_t cap = p->cap_queue ? 2 * p->cap_queue : 16;
        struct arrival *q;
        if (p->cap_queue == MAX_QUEUE)
            return WCS_E_FULL;
        if (!(q = malloc(cap * sizeof(*q))))
            return -ENOMEM;
        for (size_t i = 0; i < p->n_queue; i++)
            q[i] = p->queue[(p->head + i) % p->cap_queue];
        free(p->queue);
        p->queue = q;
        p->head = 0;
        p->cap_queue = cap;
    }
    a = &p->queue[(p->head + p->n_queue++) % p->cap_queue];
    snprintf(a->tote, sizeof(a->tote), "%s", tote);
    a->n = n < MAX_ITEMS ? n : MAX_ITEMS;
    memcpy(a->items, items, a->n * sizeof(*items));
    return 0;
}

/* A unit refused "busy" waits to be scanned again. */
static bool redo_pending(const struct sim_packer *p)
{
    for (size_t i = 0; i < p->cur.n; i++)
        if (p->redo[i])
            return true;
    return false;
}

/* True once the tote is scanned and the last unit with it: wcs prints when the last unit is
 * verified, so the label may come out while the packer still holds that unit. */
static bool last_unit_scanned(const struct sim_packer *p)
{
    size_t item = p->item, unit = p->unit;
    if (p->st == K_LABEL)
        return true;
    if (p->st != K_SCAN_ITEMS || !p->weighed || redo_pending(p))
        return false;
    while (item < p->cur.n && unit >= p->cur.items[item].qty) {
        item++;
        unit = 0;
    }
    return item >= p->cur.n;
}

int sim_packer_on_label(struct sim_packer *p, uint64_t now_ms, const char *sscc)
{
    if (p->labelled || !last_unit_scanned(p))
        return WCS_E_STATE;
    snprintf(p->sscc, sizeof(p->sscc), "%s", sscc);
    p->st_.labels++;
    p->labelled = true;
    if (p->st == K_LABEL) {
        p->st = K_INDUCT;
        p->next_at = now_ms + 5000; /* apply the label, put the carton on the belt */
    }
    return 0;
}

static void act_code(struct sim_action *a, enum sim_act_kind k, const char *code)
{
    memset(a, 0, sizeof(*a));
    a->kind = k;
    snprintf(a->code, sizeof(a->code), "%s", code);
}

/* The GTIN-14 of it (shorter GTINs zero-padded, as wcs names them). */
static void gtin14(const struct sim_pack_item *it, char *out, size_t cap)
{
    snprintf(out, cap, "%.*s%s", strlen(it->gtin) < 14 ? (int)(14 - strlen(it->gtin)) : 0,
             "00000000000000", it->gtin);
}

/* A scan of one unit of it: (01)GTIN-14 and (10)lot when the item has a lot. */
static void act_unit(struct sim_action *a, const struct sim_pack_item *it)
{
    char g[32], code[128];
    gtin14(it, g, sizeof(g));
    snprintf(code, sizeof(code), "(01)%s%s%s", g, it->lot[0] ? "(10)" : "", it->lot);
    act_code(a, SIM_ACT_SCAN, code);
}

int sim_packer_next(struct sim_packer *p, uint64_t now_ms, struct sim_action *act)
{
    if (now_ms < p->next_at)
        return 0;
    switch (p->st) {
    case K_IDLE:
        if (p->n_queue == 0)
            return 0;
        p->cur = p->queue[p->head];
        p->head = (p->head + 1) % p->cap_queue;
        p->n_queue--;
        p->item = p->unit = 0;
        memset(p->redo, 0, sizeof(p->redo));
        p->wrong_done = p->weighed = p->labelled = false;
        p->st = K_SCAN_TOTE;
        /* fall through to scanning the tote at once */
        /* FALLTHROUGH */
    case K_SCAN_TOTE:
        act_code(act, SIM_ACT_SCAN, p->cur.tote);
        p->st_.totes++;
        p->st = K_SCAN_ITEMS;
        p->next_at = now_ms + 3000;
        return 1;
    case K_SCAN_ITEMS: {
        const struct sim_pack_item *it;
        for (size_t i = 0; i < p->cur.n; i++)
            if (p->redo[i]) { /* "busy: scan again" */
                p->redo[i]--;
                act_unit(act, &p->cur.items[i]);
                p->st_.units_scanned++;
                p->next_at = now_ms + (uint64_t)(p->cfg.seconds_per_item * 1000);
                return 1;
            }
        while (p->item < p->cur.n && p->unit >= p->cur.items[p->item].qty) {
            p->item++;
            p->unit = 0;
        }
        if (p->item >= p->cur.n) {
            if (p->labelled) { /* the label came while the last unit went in */
                p->st = K_INDUCT;
                p->next_at = now_ms + 5000;
                return sim_packer_next(p, now_ms, act);
            }
            p->st = K_LABEL;
            return 0;
        }
        it = &p->cur.items[p->item];
        /* The carton stands on the scale while units go in: before the last unit is scanned
         * (wcs weighs once every unit is verified) the scale holds the whole carton. */
        if (!p->weighed && p->item + 1 >= p->cur.n && p->unit + 1 >= it->qty) {
            p->weighed = true;
            p->st = K_WEIGH;
            return sim_packer_next(p, now_ms, act);
        }
        if (!p->wrong_done && unit(&p->rng) < p->cfg.err_wrong_item) {
            p->wrong_done = true;
            p->st_.wrong_scans++;
            act_code(act, SIM_ACT_SCAN, "(01)09506000134352");
        } else {
            act_unit(act, it);
            p->unit++;
            p->st_.units_scanned++;
        }
        p->next_at = now_ms + (uint64_t)(p->cfg.seconds_per_item * 1000);
        return 1;
    }
    case K_WEIGH: {
        int64_t mg = (int64_t)p->cfg.packaging_g * 1000;
        double e = (unit(&p->rng) * 2 - 1) * p->cfg.weight_error_pct / 100;
        for (size_t i = 0; i < p->cur.n; i++)
            mg += (int64_t)p->cur.items[i].unit_weight_g * 1000 * p->cur.items[i].qty;
        memset(act, 0, sizeof(*act));
        act->kind = SIM_ACT_SCALE;
        act->load_mg = mg + (int64_t)((double)mg * e);
        p->st_.cartons++;
        p->st = K_SCAN_ITEMS;
        p->next_at = now_ms + 1500; /* the scale settles */
        return 1;
    }
    case K_INDUCT:
        act_code(act, SIM_ACT_INDUCT, p->sscc);
        p->st = K_CLEAR;
        return 1;
    case K_CLEAR:
        memset(act, 0, sizeof(*act));
        act->kind = SIM_ACT_SCALE;
        act->load_mg = 0;
        p->st = K_IDLE;
        p->next_at = now_ms + 2000;
        return 1;
    case K_LABEL:
        return 0;
    }
    return 0;
}

int sim_packer_abort(struct sim_packer *p, uint64_t now_ms, char *tote, size_t cap)
{
    if (p->st == K_IDLE || p->st == K_CLEAR)
        return 0;
    if (cap)
        snprintf(tote, cap, "%s", p->cur.tote);
    p->st_.aborted++;
    p->st = K_CLEAR;
    p->next_at = now_ms + 5000; /* take the carton off the scale */
    return 1;
}

int sim_packer_restart(struct sim_packer *p, uint64_t now_ms, const char *tote)
{
    if (p->st == K_IDLE || p->st == K_INDUCT || p->st == K_CLEAR || p->labelled || !tote ||
        strcmp(p->cur.tote, tote) != 0)
        return 0;
    p->st_.restarts++;
    p->item = p->unit = 0;
    memset(p->redo, 0, sizeof(p->redo));
    p->wrong_done = true; /* the one mistake, if any, was made; weighed stays: the carton is
                           * still on the scale */
    p->st = K_SCAN_TOTE;
    p->next_at = now_ms + PASSING_RETRY_MS;
    return 1;
}

int sim_packer_rescan(struct sim_packer *p, uint64_t now_ms, const char *gtin)
{
    char g[32];
    if ((p->st != K_SCAN_ITEMS && p->st != K_WEIGH && p->st != K_LABEL) || p->labelled || !gtin)
        return 0;
    for (size_t i = 0; i < p->cur.n; i++) {
        /* Units of items[i] scanned so far, of which redo[i] are to be scanned again. */
        size_t done = i < p->item ? p->cur.items[i].qty : i == p->item ? p->unit : 0;
        gtin14(&p->cur.items[i], g, sizeof(g));
        if (strcmp(g, gtin) != 0 || done <= p->redo[i])
            continue;
        p->redo[i]++;
        p->st_.rescans++;
        if (p->st == K_LABEL) {
            p->st = K_SCAN_ITEMS;
            p->next_at = now_ms + 1000; /* reads the screen, scans the unit again */
        }
        return 1;
    }
    return 0;
}

bool sim_packer_awaiting_label(const struct sim_packer *p)
{
    return p->st == K_LABEL;
}

void sim_packer_stats(const struct sim_packer *p, struct sim_packer_stats *out)
{
    *out = p->st_;
}
