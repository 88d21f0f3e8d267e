/* Fuzz target for the planner: the input bytes are read as a small world (products, a location
 * tree or arbitrary intervals, quants, orders and lines, limits, a cart), which goes through
 * pl_world_check; an accepted world is planned end to end and the core invariants are checked
 * (abort on violation): no quant over-reserved, every unit reserved or backordered, batches
 * within the cart, picks of each batch on the walk. */
#include "planner/planner.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 64

struct in {
    const uint8_t *p;
    size_t n;
};

static uint32_t take(struct in *in, uint32_t mod)
{
    uint32_t v = 0;
    for (int i = 0; i < 2 && in->n; i++, in->p++, in->n--)
        v = (v << 8) | *in->p;
    return mod ? v % mod : v;
}

static void check(int ok)
{
    if (!ok)
        abort();
}

struct world {
    struct pl_product products[MAXN];
    struct pl_location locations[MAXN];
    struct pl_quant quants[MAXN];
    struct pl_order orders[MAXN];
    struct pl_line lines[MAXN];
    struct pl_replen_rule replen[4];
    struct pl_putaway_rule putaway[4];
    struct pl_purchase_rule purchase[4];
    struct pl_alloc allocs[4 * MAXN];
    struct pl_backorder backorders[4 * MAXN];
    struct pl_wave waves[MAXN];
    uint32_t wave_orders[MAXN];
    struct pl_order_wave ow[MAXN];
    struct pl_move moves[8 * MAXN];
    struct pl_putaway putaways[8 * MAXN];
    struct pl_purchase purchases[4];
    struct pl_quant before[MAXN];
};

static void build(struct world *x, struct pl_world *w, struct in *in)
{
    memset(w, 0, sizeof(*w));
    w->n_products = 1 + take(in, 8);
    w->n_locations = 1 + take(in, 12);
    w->n_quants = take(in, 24);
    w->n_orders = 1 + take(in, 8);
    w->n_carriers = 1 + take(in, 3);
    w->today = 20000;
    for (uint32_t i = 0; i < w->n_products; i++) {
        struct pl_product *p = &x->products[i];
        p->removal = (uint8_t)take(in, 4);
        p->tracking = (uint8_t)take(in, 3);
        p->category = take(in, 3);
        p->expiry_margin_days = (int32_t)take(in, 8);
        p->weight_g = take(in, 0);
        p->volume_cm3 = take(in, 0);
    }
    for (uint32_t i = 0; i < w->n_locations; i++) {
        struct pl_location *l = &x->locations[i];
        l->pre = take(in, 32);
        l->post = l->pre + 1 + take(in, 4);
        l->usage = (uint8_t)take(in, 8);
        l->is_stock = (uint8_t)take(in, 2);
        l->pick_face = (uint8_t)take(in, 2);
        l->zone = (uint16_t)take(in, 3);
        l->aisle = (uint16_t)take(in, 5);
        l->pick_seq = take(in, 50);
        l->capacity_cm3 = take(in, 0) * 8;
    }
    for (uint32_t i = 0; i < w->n_quants; i++) {
        struct pl_quant *q = &x->quants[i];
        q->product = take(in, w->n_products);
        q->location = take(in, w->n_locations);
        q->lot = take(in, 4);
        q->package = PL_NONE;
        q->expiry_day = take(in, 2) ? PL_NO_EXPIRY : 19990 + (int32_t)take(in, 30);
        q->in_date_s = take(in, 10);
        q->on_hand = take(in, 40);
        q->reserved = take(in, (uint32_t)q->on_hand + 1);
    }
    uint32_t nl = 0;
    for (uint32_t o = 0; o < w->n_orders; o++) {
        struct pl_order *ord = &x->orders[o];
        uint32_t k = 1 + take(in, 4);
        ord->first_line = nl;
        ord->carrier = take(in, w->n_carriers);
        ord->priority = (uint8_t)take(in, 3);
        ord->cutoff_min = (int64_t)20000 * 1440 + take(in, 900);
        ord->ship_day = 20000 + (int32_t)take(in, 6);
        ord->zone_hint = (uint16_t)take(in, 3);
        for (uint32_t j = 0; j < k && nl < MAXN; j++, nl++) {
            struct pl_line *ln = &x->lines[nl];
            ln->order = o;
            ln->product = take(in, w->n_products);
            ln->qty = 1 + take(in, 20);
            ln->lot = take(in, 3) ? PL_NONE : take(in, 4);
            ln->urgent = (uint8_t)take(in, 2);
            ord->n_lines++;
        }
    }
    w->n_lines = nl;
    w->n_replen_rules = take(in, 3);
    for (uint32_t i = 0; i < w->n_replen_rules; i++) {
        struct pl_replen_rule *r = &x->replen[i];
        r->product = take(in, w->n_products);
        r->location = take(in, w->n_locations);
        r->min_qty = take(in, 5);
        r->max_qty = r->min_qty + 1 + take(in, 20);
        r->multiple = 1 + take(in, 4);
        r->source = take(in, 2) ? PL_NONE : take(in, w->n_locations);
    }
    w->n_putaway_rules = take(in, 3);
    for (uint32_t i = 0; i < w->n_putaway_rules; i++)
        x->putaway[i] = (struct pl_putaway_rule){take(in, 2) ? PL_NONE : take(in, w->n_products),
                                                 take(in, 2) ? PL_NONE : take(in, 3), PL_NONE,
                                                 take(in, w->n_locations)};
    w->n_purchase_rules = take(in, 3);
    for (uint32_t i = 0; i < w->n_purchase_rules; i++)
        x->purchase[i] = (struct pl_purchase_rule){take(in, w->n_products), (int32_t)take(in, 9),
                                                   take(in, 5), 5 + take(in, 20), 1 + take(in, 5)};
    w->wave.now_min = (int64_t)20000 * 1440;
    w->wave.lead_min = (int32_t)take(in, 120);
    w->wave.max_lines = take(in, 6);
    w->wave.max_units = take(in, 30);
    w->wave.max_orders = take(in, 4);
    w->wave.max_carriers = take(in, 3);
    w->wave.split_by_zone = (uint8_t)take(in, 2);
    w->wave.split_by_cutoff = (uint8_t)take(in, 2);
    w->cart.totes = 1 + take(in, 4);
    w->cart.tote_volume_cm3 = 1 + take(in, 0);
    w->cart.max_weight_g = take(in, 0);
    w->cart.max_volume_cm3 = take(in, 0);
    /* Now and then one field is broken, so the rejection paths of pl_world_check run too. */
    switch (in->n ? take(in, 12) : 12) {
    case 0:
        x->products[0].removal = 9;
        break;
    case 1:
        x->locations[0].post = x->locations[0].pre;
        break;
    case 2:
        if (w->n_quants)
            x->quants[0].reserved = x->quants[0].on_hand + 1;
        break;
    case 3:
        x->orders[0].carrier = w->n_carriers;
        break;
    default:
        break;
    }
    w->products = x->products;
    w->locations = x->locations;
    w->quants = x->quants;
    w->orders = x->orders;
    w->lines = x->lines;
    w->replen_rules = x->replen;
    w->putaway_rules = x->putaway;
    w->purchase_rules = x->purchase;
}

static void plan(struct world *x, struct pl_world *w, void *mem, size_t size, struct in *in)
{
    struct pl_workspace *ws;
    struct pl_reserve_out ro = {x->allocs, x->backorders, 4 * MAXN, 4 * MAXN, 0, 0};
    struct pl_wave_out wo = {x->waves, x->wave_orders, x->ow, MAXN, 0, 0};
    struct pl_batch_out bo = {0};
    struct pl_reason ev;
    int64_t per_quant[MAXN] = {0};
    uint32_t n;

    check(pl_workspace_init(&ws, mem, size, w) == 0);
    pl_index(ws, w);
    memcpy(x->before, x->quants, sizeof(x->quants));
    check(pl_reserve(ws, w, &ro) == 0);
    if (ro.n_allocs && take(in, 2)) {
        uint32_t a = take(in, ro.n_allocs);
        if (x->allocs[a].qty > 0)
            check(pl_short_pick(ws, w, &ro, a, take(in, (uint32_t)x->allocs[a].qty), &ev) == 0);
    }
    for (uint32_t i = 0; i < ro.n_allocs; i++)
        per_quant[x->allocs[i].quant] += x->allocs[i].qty;
    for (uint32_t q = 0; q < w->n_quants; q++) {
        check(x->quants[q].reserved >= 0 && x->quants[q].reserved <= x->quants[q].on_hand);
        check(x->quants[q].reserved == x->before[q].reserved + per_quant[q]);
    }
    for (uint32_t l = 0; l < w->n_lines; l++) {
        int64_t sum = 0;
        for (uint32_t i = 0; i < ro.n_allocs; i++)
            sum += x->allocs[i].line == l ? x->allocs[i].qty : 0;
        for (uint32_t i = 0; i < ro.n_backorders; i++)
            sum += x->backorders[i].line == l ? x->backorders[i].qty : 0;
        check(sum == x->lines[l].qty);
    }
    check(pl_wave(ws, w, x->allocs, ro.n_allocs, &wo) == 0);
    if (pl_batch(ws, w, x->allocs, ro.n_allocs, &wo, &bo) == 0 && bo.n_picks < 100000 &&
        bo.n_batches < 100000) {
        bo.batches = calloc(bo.n_batches + 1, sizeof(struct pl_batch));
        bo.picks = calloc(bo.n_picks + 1, sizeof(struct pl_pick));
        bo.batches_cap = bo.n_batches;
        bo.picks_cap = bo.n_picks;
        check(bo.batches && bo.picks);
        check(pl_batch(ws, w, x->allocs, ro.n_allocs, &wo, &bo) == 0);
        check(pl_sequence(ws, w, &bo) == 0);
        for (uint32_t b = 0; b < bo.n_batches; b++) {
            const struct pl_batch *bt = &bo.batches[b];
            if (bt->reason.code != PL_R_BATCH_OVERSIZE) {
                check(bt->totes <= w->cart.totes);
                check(w->cart.max_weight_g == 0 || bt->weight_g <= w->cart.max_weight_g);
            }
            for (uint32_t k = 1; k < bt->n_picks; k++) {
                const struct pl_location *a = &x->locations[bo.picks[bt->first + k - 1].location];
                const struct pl_location *c = &x->locations[bo.picks[bt->first + k].location];
                check(a->zone < c->zone || (a->zone == c->zone && a->aisle <= c->aisle));
            }
        }
        free(bo.batches);
        free(bo.picks);
    }
    check(pl_replenish(ws, w, x->allocs, ro.n_allocs, &wo, 0, x->moves, 8 * MAXN, &n) == 0);
    for (uint32_t q = 0; q < w->n_quants; q++)
        check(x->quants[q].reserved <= x->quants[q].on_hand);
    check(pl_purchase(ws, w, x->backorders, ro.n_backorders, x->purchases, 4, &n) == 0);
    struct pl_receipt rc = {take(in, w->n_products), take(in, 3), 0, 0, 1 + take(in, 50)};
    check(pl_putaway(ws, w, &rc, 1, x->putaways, pl_putaway_bound(w, 1), &n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = {data, size};
    struct world *x = calloc(1, sizeof(*x));
    struct pl_world w;
    if (!x)
        return 0;
    build(x, &w, &in);
    if (pl_world_check(&w, NULL, 0) == 0) {
        size_t sz = pl_workspace_size(&w);
        void *mem = aligned_alloc(16, (sz + 15) & ~(size_t)15);
        if (mem)
            plan(x, &w, mem, sz, &in);
        free(mem);
    }
    free(x);
    return 0;
}
