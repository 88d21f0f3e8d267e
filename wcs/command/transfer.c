/* transfer.create, transfer.ship, transfer.receive (flow.h): inter-warehouse transfers through
 * the source warehouse's transit location. create reads the products' quants, chooses stock in
 * the source warehouse's internal locations (earliest expiry, then oldest, then location path)
 * and reserves it all or nothing; ship moves the reserved units into transit, where the
 * transfer keeps them reserved (in no warehouse's available stock); receive moves them, all or
 * some, into the destination warehouse's receiving location. Each step sets the retained
 * state/transfer/<id> and publishes evt/transfer. */
#include "flow.h"

#include "base/err.h"
#include "store/ops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAND_MAX 8192 /* quants of the transfer's products read for one transfer.create */

enum tkind { T_CREATE, T_SHIP, T_RECEIVE };

struct cand {
    char key[STORE_KEY_MAX];
    char sku[STORE_ID_MAX], lot[STORE_ID_MAX], loc[STORE_PATH_MAX];
    char expiry[16], in_date[40];
    int64_t avail;
    bool usable;
};

struct held {
    char key[STORE_KEY_MAX];
    char sku[STORE_ID_MAX], lot[STORE_ID_MAX];
    int64_t qty, take;
};

struct tflow {
    struct cmd_ctx *c;
    struct store_ctx ctx;
    char actor[BUS_NAME_MAX], cause[BUS_NAME_MAX + BUS_REQUEST_ID_MAX + 2];
    enum tkind kind;
    const struct cmd_args *a;
    flow_done_fn done;
    void *arg;
    int attempt;
    json_t *lines; /* canonical lines (create, receive with lines), or NULL */
    /* create */
    char **skus;
    size_t n_skus;
    struct cand *cand;
    size_t n_cand;
    /* ship, receive: the transfer as read */
    char state[24], from[STORE_ID_MAX], to[STORE_ID_MAX];
    char transit[STORE_PATH_MAX], dest[STORE_PATH_MAX];
    int64_t units, shipped, received;
    struct held *held;
    size_t n_held;
};

static void tflow_free(struct tflow *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_skus; i++)
        free(f->skus[i]);
    free(f->skus);
    free(f->cand);
    free(f->held);
    json_decref(f->lines);
    free(f);
}

static void fail(struct tflow *f, const char *error, bool store_error)
{
    f->done(f->arg, NULL, error, store_error, NULL, NULL);
    tflow_free(f);
}

static void fail_rc(struct tflow *f, int rc, const char *msg)
{
    flow_fail_rc(f->done, f->arg, rc, msg);
    tflow_free(f);
}

/* The retained state and the event of a step; consumes nothing. */
static void publish(struct tflow *f, const char *event, const char *state, json_t *extra)
{
    json_t *st;
    if (!f->c->bus)
        return;
    st = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "transfer", f->a->id, "state",
                   state, "from_warehouse", f->from, "to_warehouse", f->to, "transit", f->transit,
                   "destination", f->dest, "units", (json_int_t)f->units, "shipped",
                   (json_int_t)f->shipped, "received", (json_int_t)f->received, "in_transit",
                   (json_int_t)(f->shipped - f->received));
    if (!st)
        return;
    (void)bus_set_state(f->c->bus, "transfer", f->a->id, st);
    json_object_set_new(st, "event", json_string(event));
    json_object_set_new(st, "user", json_string(f->actor));
    if (extra)
        json_object_set(st, "lines", extra);
    (void)bus_publish_event(f->c->bus, "transfer", st);
    json_decref(st);
}

/* ---- transfer.create ---- */

static int cand_cmp(const void *x, const void *y)
{
    const struct cand *a = x, *b = y;
    int c;
    /* Earliest expiry first (none last), then oldest, then the location path. */
    if (a->expiry[0] != b->expiry[0] && (!a->expiry[0] || !b->expiry[0]))
        return a->expiry[0] ? -1 : 1;
    if ((c = strcmp(a->expiry, b->expiry)) != 0)
        return c;
    if ((c = strcmp(a->in_date, b->in_date)) != 0)
        return c;
    return strcmp(a->loc, b->loc);
}

static void on_created(void *arg, const struct store_result *r)
{
    struct tflow *f = arg;
    json_t *fields;
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    f->units = r->n_values >= 1 ? strtoll(r->values[0], NULL, 10) : 0;
    fields = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "transfer", f->a->id, "state", "reserved",
                       "from_warehouse", f->from, "to_warehouse", f->to, "transit", f->transit,
                       "destination", f->dest, "units", (json_int_t)f->units);
    if (!fields) {
        fail(f, "out of memory", true);
        return;
    }
    json_t *res = json_array();
    for (size_t i = 0; i < f->n_cand; i++)
        if (f->cand[i].usable && f->cand[i].avail < 0) /* taken: avail holds -qty */
            json_array_append_new(res, json_pack("{s:s,s:s,s:s,s:I}", "sku", f->cand[i].sku, "lot",
                                                 f->cand[i].lot, "location", f->cand[i].loc, "qty",
                                                 (json_int_t)-f->cand[i].avail));
    json_object_set_new(fields, "reserved", res ? res : json_array());
    publish(f, "created", "reserved", f->lines);
    f->done(f->arg, fields, NULL, false, f->a->id, "reserved");
    tflow_free(f);
}

static void choose(struct tflow *f)
{
    const struct cfg_site *site = f->c->site;
    struct store_line picks[OPS_RESERVE_MAX];
    size_t n = 0, i, k;
    char e[CMD_ERR_MAX];
    uint32_t from_w = (uint32_t)site->locations[f->a->transit_loc].warehouse;
    json_t *l;
    int rc;
    for (i = 0; i < f->n_cand; i++) {
        int32_t li = cfg_find_location(site, f->cand[i].loc);
        f->cand[i].usable = li >= 0 && site->locations[li].warehouse == from_w &&
                            site->locations[li].type == CFG_LOC_INTERNAL && f->cand[i].avail > 0;
    }
    qsort(f->cand, f->n_cand, sizeof(*f->cand), cand_cmp);
    json_array_foreach(f->lines, i, l)
    {
        const char *sku = json_string_value(json_object_get(l, "sku"));
        const char *lot = json_string_value(json_object_get(l, "lot"));
        int64_t want = json_integer_value(json_object_get(l, "qty")), have = 0;
        for (k = 0; k < f->n_cand; k++) {
            struct cand *q = &f->cand[k];
            if (q->usable && q->avail > 0 && strcmp(q->sku, sku) == 0 &&
                (!lot[0] || strcmp(q->lot, lot) == 0))
                have += q->avail;
        }
        if (have < want) {
            snprintf(e, sizeof(e),
                     "not enough stock of %s%s%s in %s: %" PRId64 " available, %" PRId64 " asked",
                     sku, lot[0] ? " lot " : "", lot, f->from, have, want);
            fail(f, e, false);
            return;
        }
        for (k = 0; k < f->n_cand && want > 0; k++) {
            struct cand *q = &f->cand[k];
            int64_t take;
            if (!q->usable || q->avail <= 0 || strcmp(q->sku, sku) != 0 ||
                (lot[0] && strcmp(q->lot, lot) != 0))
                continue;
            take = q->avail < want ? q->avail : want;
            if (n == OPS_TRANSFER_MAX) {
                snprintf(e, sizeof(e), "transfer %s needs stock from more than %d quants: split it",
                         f->a->id, OPS_TRANSFER_MAX);
                fail(f, e, false);
                return;
            }
            picks[n].sku = q->sku;
            picks[n].loc = q->loc;
            picks[n].lot = q->lot;
            picks[n].qty = take;
            n++;
            want -= take;
            q->avail = -take; /* taken (a quant serves one line: lines are distinct) */
        }
    }
    rc = ops_transfer_create(f->c->store, &f->ctx, f->a->id, f->from, f->to, f->a->lines_json,
                             f->transit, f->dest, picks, n, on_created, f);
    if (rc != 0)
        fail_rc(f, rc, NULL);
}

static void on_cand(void *arg, size_t i, const struct ops_quant_row *row)
{
    struct tflow *f = arg;
    struct cand *q = &f->cand[i];
    snprintf(q->sku, sizeof(q->sku), "%s", row->sku);
    snprintf(q->loc, sizeof(q->loc), "%s", row->loc);
    snprintf(q->lot, sizeof(q->lot), "%s", row->lot);
    q->avail = ops_quant_free(row); /* not what is held, reserved or reported missing */
    snprintf(q->expiry, sizeof(q->expiry), "%s", row->expiry);
    snprintf(q->in_date, sizeof(q->in_date), "%s", row->in_date);
}

static void on_cands(void *arg, const struct store_result *r)
{
    struct tflow *f = arg;
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    choose(f);
}

static void on_sets(void *arg, const struct store_result *r)
{
    struct tflow *f = arg;
    size_t i = 0, total = 0;
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    for (size_t s = 0; s < f->n_skus && i < r->n_values; s++) {
        size_t n = strtoul(r->values[i++], NULL, 10);
        total += n;
        i += n;
    }
    if (total > CAND_MAX) {
        fail(f, "the transfer's products have too many quants to read in one transfer", false);
        return;
    }
    f->cand = calloc(total ? total : 1, sizeof(*f->cand));
    if (!f->cand) {
        fail(f, "out of memory", true);
        return;
    }
    i = 0;
    for (size_t s = 0; s < f->n_skus && i < r->n_values; s++) {
        size_t n = strtoul(r->values[i++], NULL, 10);
        for (size_t k = 0; k < n && i < r->n_values; k++)
            snprintf(f->cand[f->n_cand++].key, STORE_KEY_MAX, "%s", r->values[i++]);
    }
    if (f->n_cand == 0) {
        choose(f);
        return;
    }
    const char **keys = calloc(f->n_cand, sizeof(*keys));
    if (!keys) {
        fail(f, "out of memory", true);
        return;
    }
    for (i = 0; i < f->n_cand; i++)
        keys[i] = f->cand[i].key;
    int rc = ops_read_quant_rows(f->c->store, &f->ctx, keys, f->n_cand, on_cand, on_cands, f);
    free(keys);
    if (rc != 0)
        fail_rc(f, rc, NULL);
}

static int create_start(struct tflow *f)
{
    const struct cfg_site *site = f->c->site;
    size_t i;
    json_t *l;
    snprintf(f->from, sizeof(f->from), "%s", f->a->from_wh);
    snprintf(f->to, sizeof(f->to), "%s", f->a->to_wh);
    snprintf(f->transit, sizeof(f->transit), "%s", site->locations[f->a->transit_loc].path);
    snprintf(f->dest, sizeof(f->dest), "%s", site->locations[f->a->dest_loc].path);
    json_array_foreach(f->lines, i, l)
    {
        const char *sku = json_string_value(json_object_get(l, "sku"));
        bool seen = false;
        for (size_t k = 0; k < f->n_skus; k++)
            seen = seen || strcmp(f->skus[k], sku) == 0;
        if (seen)
            continue;
        char **a = realloc(f->skus, (f->n_skus + 1) * sizeof(*a));
        if (!a)
            return -ENOMEM;
        f->skus = a;
        if (!(a[f->n_skus] = strdup(sku)))
            return -ENOMEM;
        f->n_skus++;
    }
    return ops_wave_read_sku_quants(f->c->store, &f->ctx, (const char *const *)f->skus, f->n_skus,
                                    on_sets, f);
}

/* ---- transfer.ship, transfer.receive ---- */

static int read_transfer(struct tflow *f);

static void on_shipped(void *arg, const struct store_result *r)
{
    struct tflow *f = arg;
    json_t *fields;
    if (ops_retry_due(r, &f->attempt)) {
        int rc = read_transfer(f);
        if (rc != 0)
            fail_rc(f, rc, NULL);
        return;
    }
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    f->shipped = r->n_values >= 1 ? strtoll(r->values[0], NULL, 10) : 0;
    fields = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "transfer", f->a->id, "state", "in_transit",
                       "from_warehouse", f->from, "to_warehouse", f->to, "transit", f->transit,
                       "units", (json_int_t)f->shipped);
    if (!fields) {
        fail(f, "out of memory", true);
        return;
    }
    publish(f, "shipped", "in_transit", NULL);
    f->done(f->arg, fields, NULL, false, f->a->id, "in_transit");
    tflow_free(f);
}

static void on_received(void *arg, const struct store_result *r)
{
    struct tflow *f = arg;
    json_t *fields, *lines;
    const char *state;
    int64_t now, left;
    if (ops_retry_due(r, &f->attempt)) {
        int rc = read_transfer(f);
        if (rc != 0)
            fail_rc(f, rc, NULL);
        return;
    }
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    if (r->n_values < 3) {
        fail(f, "store unavailable (unexpected script reply): not executed", true);
        return;
    }
    now = strtoll(r->values[0], NULL, 10);
    state = r->values[1];
    left = strtoll(r->values[2], NULL, 10);
    f->received += now;
    lines = json_array();
    for (size_t i = 0; lines && i < f->n_held; i++)
        if (f->held[i].take > 0)
            json_array_append_new(lines,
                                  json_pack("{s:s,s:s,s:I}", "sku", f->held[i].sku, "lot",
                                            f->held[i].lot, "qty", (json_int_t)f->held[i].take));
    fields = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:o}", "transfer", f->a->id, "state", state,
                       "destination", f->dest, "received", (json_int_t)now, "received_total",
                       (json_int_t)f->received, "in_transit", (json_int_t)left, "lines",
                       lines ? lines : json_array());
    if (!fields) {
        fail(f, "out of memory", true);
        return;
    }
    publish(f, "received", state, json_object_get(fields, "lines"));
    f->done(f->arg, fields, NULL, false, f->a->id, state);
    tflow_free(f);
}

static void ship(struct tflow *f)
{
    const char *keys[OPS_TRANSFER_MAX];
    char e[CMD_ERR_MAX];
    int rc;
    if (f->n_held > OPS_TRANSFER_MAX) {
        snprintf(e, sizeof(e), "transfer %s holds more than %d quants", f->a->id, OPS_TRANSFER_MAX);
        fail(f, e, false);
        return;
    }
    for (size_t i = 0; i < f->n_held; i++)
        keys[i] = f->held[i].key;
    rc = ops_transfer_ship(f->c->store, &f->ctx, f->a->id, f->transit, keys, f->n_held, on_shipped,
                           f);
    if (rc != 0)
        fail_rc(f, rc, NULL);
}

static void receive(struct tflow *f)
{
    const char *keys[OPS_TRANSFER_MAX];
    int64_t qty[OPS_TRANSFER_MAX];
    char e[CMD_ERR_MAX];
    size_t n = 0, i, k;
    json_t *l;
    int rc;
    if (!f->lines) {
        for (k = 0; k < f->n_held; k++)
            f->held[k].take = f->held[k].qty;
    } else {
        json_array_foreach(f->lines, i, l)
        {
            const char *sku = json_string_value(json_object_get(l, "sku"));
            const char *lot = json_string_value(json_object_get(l, "lot"));
            int64_t want = json_integer_value(json_object_get(l, "qty")), have = 0;
            for (k = 0; k < f->n_held; k++)
                if (strcmp(f->held[k].sku, sku) == 0 && (!lot[0] || !strcmp(f->held[k].lot, lot)))
                    have += f->held[k].qty - f->held[k].take;
            if (have < want) {
                snprintf(e, sizeof(e),
                         "transfer %s has %" PRId64 " of %s%s%s in transit, receive asks %" PRId64,
                         f->a->id, have, sku, lot[0] ? " lot " : "", lot, want);
                fail(f, e, false);
                return;
            }
            for (k = 0; k < f->n_held && want > 0; k++) {
                struct held *h = &f->held[k];
                int64_t t;
                if (strcmp(h->sku, sku) != 0 || (lot[0] && strcmp(h->lot, lot) != 0))
                    continue;
                t = h->qty - h->take < want ? h->qty - h->take : want;
                h->take += t;
                want -= t;
            }
        }
    }
    for (k = 0; k < f->n_held; k++)
        if (f->held[k].take > 0) {
            if (n == OPS_TRANSFER_MAX)
                break;
            keys[n] = f->held[k].key;
            qty[n++] = f->held[k].take;
        }
    if (n == 0) {
        snprintf(e, sizeof(e), "transfer %s has nothing in transit", f->a->id);
        fail(f, e, false);
        return;
    }
    rc =
        ops_transfer_receive(f->c->store, &f->ctx, f->a->id, f->dest, keys, qty, n, on_received, f);
    if (rc != 0)
        fail_rc(f, rc, NULL);
}

static void on_transfer(void *arg, const struct store_result *r)
{
    struct tflow *f = arg;
    char e[CMD_ERR_MAX];
    size_t n;
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    if (r->n_values < 9) {
        fail(f, "store unavailable (unexpected script reply): not executed", true);
        return;
    }
    if (!r->values[0][0]) {
        snprintf(e, sizeof(e), "unknown transfer \"%s\"", f->a->id);
        fail(f, e, false);
        return;
    }
    snprintf(f->state, sizeof(f->state), "%s", r->values[0]);
    snprintf(f->from, sizeof(f->from), "%s", r->values[1]);
    snprintf(f->to, sizeof(f->to), "%s", r->values[2]);
    snprintf(f->transit, sizeof(f->transit), "%s", r->values[3]);
    snprintf(f->dest, sizeof(f->dest), "%s", r->values[4]);
    f->units = strtoll(r->values[5], NULL, 10);
    f->shipped = strtoll(r->values[6], NULL, 10);
    f->received = strtoll(r->values[7], NULL, 10);
    if (f->kind == T_SHIP && strcmp(f->state, "reserved") != 0) {
        snprintf(e, sizeof(e), "transfer %s is %s: only a reserved transfer can be shipped",
                 f->a->id, f->state);
        fail(f, e, false);
        return;
    }
    if (f->kind == T_RECEIVE && strcmp(f->state, "in_transit") != 0) {
        snprintf(e, sizeof(e), "transfer %s is %s: only a transfer in transit can be received",
                 f->a->id, f->state);
        fail(f, e, false);
        return;
    }
    n = strtoul(r->values[8], NULL, 10);
    if (r->n_values < 9 + 2 * n) {
        fail(f, "store unavailable (unexpected script reply): not executed", true);
        return;
    }
    free(f->held);
    f->held = calloc(n ? n : 1, sizeof(*f->held));
    f->n_held = 0;
    if (!f->held) {
        fail(f, "out of memory", true);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct held *h = &f->held[f->n_held];
        struct store_quant_ref ref;
        const char *k = r->values[9 + 2 * i];
        if (store_key_parse_quant(k, strlen(k), &ref) != 0)
            continue;
        snprintf(h->key, sizeof(h->key), "%s", k);
        snprintf(h->sku, sizeof(h->sku), "%s", ref.sku);
        snprintf(h->lot, sizeof(h->lot), "%s", ref.lot);
        h->qty = strtoll(r->values[10 + 2 * i], NULL, 10);
        h->take = 0;
        f->n_held++;
    }
    if (f->kind == T_SHIP)
        ship(f);
    else
        receive(f);
}

static int read_transfer(struct tflow *f)
{
    return ops_transfer_read(f->c->store, &f->ctx, f->a->id, on_transfer, f);
}

int transfer_start(struct cmd_ctx *c, const struct store_ctx *ctx, const char *command,
                   const struct cmd_args *a, flow_done_fn done, void *arg)
{
    struct tflow *f;
    int rc;
    if (!c || !ctx || !command || !a || !a->id || !done)
        return -EINVAL;
    if (!(f = calloc(1, sizeof(*f))))
        return -ENOMEM;
    f->c = c;
    f->a = a;
    f->done = done;
    f->arg = arg;
    f->ctx = *ctx;
    snprintf(f->actor, sizeof(f->actor), "%s", ctx->actor ? ctx->actor : "");
    snprintf(f->cause, sizeof(f->cause), "%s", ctx->cause ? ctx->cause : "");
    f->ctx.actor = f->actor;
    f->ctx.cause = f->cause;
    if (a->lines_json && !(f->lines = json_loads(a->lines_json, 0, NULL))) {
        tflow_free(f);
        return -EINVAL;
    }
    if (strcmp(command, "transfer.create") == 0) {
        f->kind = T_CREATE;
        if (!f->lines || !a->from_wh || !a->to_wh || a->transit_loc < 0 || a->dest_loc < 0) {
            tflow_free(f);
            return -EINVAL;
        }
        rc = create_start(f);
    } else {
        f->kind = strcmp(command, "transfer.ship") == 0 ? T_SHIP : T_RECEIVE;
        rc = read_transfer(f);
    }
    if (rc != 0)
        tflow_free(f);
    return rc;
}
