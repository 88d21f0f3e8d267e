/* Property tests for the planner: a few hundred seeded random small worlds, each planned end to
 * end (reserve, short picks, wave, batch, sequence, replenish, purchase, putaway) and checked
 * after every step: no quant over-reserved, reserved + available = on hand, every ordered unit
 * reserved or backordered, no expired or too-soon stock and no non-stock location allocated, a
 * short line leaves no eligible stock free, waves and batches within limits, picks on a
 * serpentine walk, and the same input planned twice gives identical bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#define WORLDS 400

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    /* xorshift64*: fixed seeds make every failure reproducible */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return n ? (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 33) % n : 0;
}

static void random_world(struct fx *f)
{
    uint32_t np = 1 + rnd(6), nzones = 1 + rnd(2), pre = 1;
    for (uint32_t i = 0; i < np; i++) {
        uint32_t p = fx_product(f, (enum pl_removal)rnd(4));
        f->products[p].category = rnd(3);
        f->products[p].tracking = (uint8_t)rnd(2);
        f->products[p].expiry_margin_days = (int32_t)rnd(4);
        f->products[p].weight_g = 1 + rnd(500);
        f->products[p].volume_cm3 = rnd(8) ? 1 + rnd(400) : 0;
    }
    /* site (view) > zones (view) > leaves, pre-order numbered */
    uint32_t site = fx_loc(f, 0, 0, 0);
    f->locations[site].usage = PL_USAGE_VIEW;
    f->locations[site].pre = 0;
    for (uint32_t z = 0; z < nzones; z++) {
        uint32_t zl = fx_loc(f, (uint16_t)z, 0, 0), nleaves = 1 + rnd(7);
        f->locations[zl].usage = PL_USAGE_VIEW;
        f->locations[zl].pre = pre++;
        for (uint32_t k = 0; k < nleaves; k++) {
            uint32_t l = fx_loc(f, (uint16_t)(1 + z), (uint16_t)(1 + rnd(4)), rnd(20));
            f->locations[l].pre = pre++;
            f->locations[l].post = f->locations[l].pre + 1;
            f->locations[l].capacity_cm3 = rnd(3) ? 500 + rnd(5000) : 0;
            f->locations[l].capacity_units = rnd(3) ? 0 : 1 + rnd(40);
            f->locations[l].capacity_weight_g = rnd(3) ? 0 : 100 + rnd(4000);
            if (rnd(6) == 0)
                f->locations[l].usage = (uint8_t)(2 + rnd(6)); /* input .. scrap */
            if (rnd(10) == 0)
                f->locations[l].is_stock = 0;
        }
        f->locations[zl].post = pre;
    }
    f->locations[site].post = pre;
    uint32_t nq = rnd(30);
    for (uint32_t i = 0; i < nq; i++) {
        uint32_t p = rnd(np), l = 1 + rnd(f->w.n_locations - 1);
        int32_t exp = rnd(3) ? PL_NO_EXPIRY : (int32_t)(DAY0 - 3 + rnd(20));
        uint32_t lot = f->products[p].tracking ? rnd(3) : PL_NONE;
        uint32_t q = fx_quant(f, p, l, lot, exp, rnd(6), rnd(16));
        if (rnd(4) == 0)
            f->quants[q].reserved = rnd((uint32_t)f->quants[q].on_hand + 1);
    }
    /* pick faces with replen rules: stock leaves only */
    for (uint32_t l = 0; l < f->w.n_locations; l++) {
        const struct pl_location *loc = &f->locations[l];
        if (loc->post == loc->pre + 1 && loc->usage == PL_USAGE_STOCK && rnd(4) == 0) {
            struct pl_replen_rule *r = &f->replen[f->w.n_replen_rules++];
            r->product = rnd(np);
            r->location = l;
            r->min_qty = rnd(6);
            r->max_qty = r->min_qty + 1 + rnd(20);
            r->multiple = 1 + rnd(4);
            /* a subtree (site, zone or leaf) or any reserve location */
            r->source = rnd(2) ? PL_NONE : rnd(f->w.n_locations);
            f->locations[l].pick_face = 1;
        }
    }
    for (uint32_t i = 0, n = rnd(3); i < n; i++) {
        struct pl_purchase_rule *r = &f->purchase[f->w.n_purchase_rules++];
        r->product = rnd(np);
        r->lead_days = (int32_t)rnd(10);
        r->min_qty = rnd(10);
        r->max_qty = r->min_qty + rnd(30);
        r->multiple = 1 + rnd(6);
    }
    for (uint32_t i = 0, n = 1 + rnd(3); i < n; i++) {
        struct pl_putaway_rule *r = &f->putaway[f->w.n_putaway_rules++];
        r->product = rnd(2) ? rnd(np) : PL_NONE;
        r->category = rnd(2) ? rnd(3) : PL_NONE;
        r->package_type = rnd(3) ? PL_NONE : rnd(2);
        r->location = rnd(f->w.n_locations);
    }
    f->w.n_carriers = 3;
    for (uint32_t o = 0, n = 1 + rnd(10); o < n; o++) {
        uint32_t oi =
            fx_order(f, (uint8_t)rnd(3), rnd(3), MIN0 - 60 + rnd(660), (int32_t)(DAY0 + rnd(6)));
        f->orders[oi].zone_hint = rnd(3) ? (uint16_t)(1 + rnd(2)) : PL_ZONE_ANY;
        for (uint32_t k = 0, nl = 1 + rnd(4); k < nl; k++)
            fx_line(f, rnd(np), 1 + rnd(12), rnd(5) == 0 ? rnd(4) : PL_NONE, rnd(8) == 0);
    }
    f->w.wave.lead_min = (int32_t)rnd(120);
    f->w.wave.max_lines = rnd(2) ? 2 + rnd(8) : 0;
    f->w.wave.max_units = rnd(2) ? 5 + rnd(40) : 0;
    f->w.wave.max_orders = rnd(2) ? 1 + rnd(4) : 0;
    f->w.wave.max_carriers = rnd(2) ? 1 + rnd(2) : 0;
    f->w.wave.split_by_zone = (uint8_t)rnd(2);
    f->w.wave.split_by_cutoff = (uint8_t)rnd(2);
    f->w.cart.totes = 1 + rnd(4);
    f->w.cart.tote_volume_cm3 = 200 + rnd(3000);
    f->w.cart.max_weight_g = rnd(4) ? 500 + rnd(5000) : 0;
    f->w.cart.max_volume_cm3 = rnd(3) ? 0 : 300 + rnd(8000);
}

struct outs {
    struct pl_alloc allocs[4 * FX_MAX];
    struct pl_backorder backorders[2 * FX_MAX];
    struct pl_reserve_out ro;
    struct pl_reason events[4];
    struct pl_wave waves[FX_MAX];
    uint32_t wave_orders[FX_MAX];
    struct pl_order_wave ow[FX_MAX];
    struct pl_wave_out wo;
    struct pl_batch batches[8 * FX_MAX];
    struct pl_pick picks[8 * FX_MAX];
    struct pl_batch_out bo;
    struct pl_move moves[4 * FX_MAX];
    uint32_t n_moves;
    struct pl_purchase purchases[FX_MAX];
    uint32_t n_purchases;
    struct pl_receipt receipts[8];
    struct pl_putaway putaways[4 * FX_MAX];
    uint32_t n_putaways;
    struct pl_quant quants[FX_MAX];
};

static bool loc_is_source(const struct fx *f, uint32_t l)
{
    return f->locations[l].usage == PL_USAGE_STOCK && f->locations[l].is_stock;
}

static int32_t min_exp(const struct fx *f, uint32_t line)
{
    const struct pl_line *ln = &f->lines[line];
    int32_t d = f->orders[ln->order].ship_day + f->products[ln->product].expiry_margin_days;
    return d < f->w.today ? f->w.today : d;
}

/* Could quant q serve line `line` (ignoring availability)? */
static bool eligible(const struct fx *f, uint32_t q, uint32_t line)
{
    const struct pl_quant *qt = &f->quants[q];
    const struct pl_line *ln = &f->lines[line];
    return qt->product == ln->product && loc_is_source(f, qt->location) && qt->missing == 0 &&
           (ln->lot == PL_NONE || ln->lot == qt->lot) &&
           (qt->expiry_day == PL_NO_EXPIRY || qt->expiry_day >= min_exp(f, line));
}

static void check_reservation(const struct fx *f, const struct outs *o,
                              const struct pl_quant *before, bool after_short_picks)
{
    int64_t per_quant[FX_MAX] = {0};
    for (uint32_t i = 0; i < o->ro.n_allocs; i++) {
        const struct pl_alloc *a = &o->allocs[i];
        assert_true(a->quant < f->w.n_quants);
        per_quant[a->quant] += a->qty;
        assert_true(a->qty >= 0);
        if (!after_short_picks) {
            assert_true(a->qty > 0);
            assert_true(eligible(f, a->quant, a->line));
        } else {
            const struct pl_quant *qt = &f->quants[a->quant];
            assert_true(loc_is_source(f, qt->location));
            assert_int_equal(qt->product, f->lines[a->line].product);
            assert_true(qt->expiry_day == PL_NO_EXPIRY || qt->expiry_day >= min_exp(f, a->line));
        }
        assert_true(a->reason.code >= PL_R_FIFO_OLDEST && a->reason.code <= PL_R_LOT_REQUESTED);
    }
    for (uint32_t q = 0; q < f->w.n_quants; q++) {
        const struct pl_quant *qt = &f->quants[q];
        /* no quant over-reserved; reserved + available = on hand with available >= 0 */
        assert_true(qt->reserved >= 0);
        assert_true(qt->reserved <= qt->on_hand);
        assert_int_equal(qt->reserved, before[q].reserved + per_quant[q]);
        assert_int_equal(qt->on_hand + qt->missing, before[q].on_hand + before[q].missing);
    }
    for (uint32_t l = 0; l < f->w.n_lines; l++) {
        int64_t got = 0, bo = 0;
        for (uint32_t i = 0; i < o->ro.n_allocs; i++)
            if (o->allocs[i].line == l)
                got += o->allocs[i].qty;
        for (uint32_t i = 0; i < o->ro.n_backorders; i++)
            if (o->backorders[i].line == l) {
                assert_true(o->backorders[i].qty > 0);
                assert_true(o->backorders[i].reason.code >= PL_R_SHORT_NO_STOCK &&
                            o->backorders[i].reason.code <= PL_R_SHORT_RESERVED);
                bo += o->backorders[i].qty;
            }
        /* every ordered unit reserved or backordered */
        assert_int_equal(got + bo, f->lines[l].qty);
        /* a short line leaves no stock it could have taken */
        if (bo > 0 && !after_short_picks)
            for (uint32_t q = 0; q < f->w.n_quants; q++)
                if (eligible(f, q, l))
                    assert_int_equal(f->quants[q].on_hand - f->quants[q].reserved, 0);
    }
}

static int64_t totes_for(int64_t v, int64_t tv)
{
    return v <= 0 ? 1 : (v + tv - 1) / tv;
}

static void check_waves(const struct fx *f, const struct outs *o)
{
    const struct pl_wave_rules *r = &f->w.wave;
    int64_t units[FX_MAX] = {0};
    bool seen_normal = false;
    for (uint32_t i = 0; i < o->ro.n_allocs; i++)
        units[f->lines[o->allocs[i].line].order] += o->allocs[i].qty;
    uint32_t waved = 0;
    for (uint32_t ord = 0; ord < f->w.n_orders; ord++) {
        bool late = r->now_min + r->lead_min > f->orders[ord].cutoff_min;
        if (units[ord] == 0) {
            assert_int_equal(o->ow[ord].wave, PL_NONE);
            continue;
        }
        waved++;
        assert_true(o->ow[ord].wave < o->wo.n_waves);
        assert_int_equal((o->ow[ord].reason.flags & PL_RF_LATE) != 0, late);
    }
    assert_int_equal(waved, o->wo.n_waved);
    for (uint32_t wv = 0; wv < o->wo.n_waves; wv++) {
        const struct pl_wave *w = &o->waves[wv];
        int64_t u = 0;
        for (uint32_t k = 0; k < w->n_orders; k++) {
            uint32_t ord = o->wave_orders[w->first + k];
            bool late = (o->ow[ord].reason.flags & PL_RF_LATE) != 0;
            assert_int_equal(o->ow[ord].wave, wv);
            u += units[ord];
            /* late orders go first */
            if (!late)
                seen_normal = true;
            else
                assert_false(seen_normal);
        }
        assert_int_equal(u, w->units);
        if (w->n_orders > 1) {
            if (r->max_lines)
                assert_true(w->lines <= r->max_lines);
            if (r->max_units)
                assert_true(w->units <= r->max_units);
            if (r->max_orders)
                assert_true(w->n_orders <= r->max_orders);
            if (r->max_carriers)
                assert_true(w->carriers <= r->max_carriers);
        }
    }
}

static void check_batches(const struct fx *f, const struct outs *o)
{
    const struct pl_cart *c = &f->w.cart;
    int64_t max_v = c->max_volume_cm3 ? c->max_volume_cm3 : (int64_t)c->totes * c->tote_volume_cm3;
    int64_t per_alloc[4 * FX_MAX] = {0};
    for (uint32_t b = 0; b < o->bo.n_batches; b++) {
        const struct pl_batch *bt = &o->batches[b];
        int64_t wg = 0, vol = 0;
        for (uint32_t k = 0; k < bt->n_picks; k++) {
            const struct pl_pick *pk = &o->picks[bt->first + k];
            const struct pl_product *p = &f->products[f->quants[pk->quant].product];
            assert_int_equal(pk->batch, b);
            assert_int_equal(o->ow[pk->order].wave, bt->wave);
            assert_int_equal(pk->order, f->lines[o->allocs[pk->alloc].line].order);
            wg += pk->qty * (int64_t)p->weight_g;
            vol += pk->qty * (int64_t)p->volume_cm3;
            per_alloc[pk->alloc] += pk->qty;
        }
        assert_int_equal(wg, bt->weight_g);
        assert_int_equal(vol, bt->volume_cm3);
        /* every batch within cart limits, but for a lone oversize pick */
        if (bt->reason.code == PL_R_BATCH_OVERSIZE) {
            assert_int_equal(bt->n_picks, 1);
            continue;
        }
        assert_true(bt->totes <= c->totes);
        assert_true(vol <= max_v);
        if (c->max_weight_g)
            assert_true(wg <= c->max_weight_g);
    }
    for (uint32_t i = 0; i < o->ro.n_allocs; i++) {
        uint32_t ord = f->lines[o->allocs[i].line].order;
        if (o->ow[ord].wave != PL_NONE)
            assert_int_equal(per_alloc[i], o->allocs[i].qty);
    }
    /* an order that fits an empty cart rides on one cart */
    for (uint32_t ord = 0; ord < f->w.n_orders; ord++) {
        int64_t wg = 0, vol = 0;
        uint32_t batch = PL_NONE;
        bool one = true;
        for (uint32_t i = 0; i < o->ro.n_allocs; i++)
            if (f->lines[o->allocs[i].line].order == ord) {
                const struct pl_product *p = &f->products[f->quants[o->allocs[i].quant].product];
                wg += o->allocs[i].qty * (int64_t)p->weight_g;
                vol += o->allocs[i].qty * (int64_t)p->volume_cm3;
            }
        bool split = false;
        for (uint32_t k = 0; k < o->bo.n_picks; k++)
            if (o->picks[k].order == ord) {
                if (batch != PL_NONE && batch != o->picks[k].batch)
                    one = false;
                batch = o->picks[k].batch;
                split |= (o->picks[k].flags & PL_RF_SPLIT) != 0;
            }
        if ((c->max_weight_g == 0 || wg <= c->max_weight_g) && vol <= max_v &&
            totes_for(vol, c->tote_volume_cm3) <= c->totes) {
            assert_true(one);
            assert_false(split);
        }
    }
}

static void check_walk(const struct fx *f, const struct outs *o)
{
    for (uint32_t b = 0; b < o->bo.n_batches; b++) {
        const struct pl_batch *bt = &o->batches[b];
        uint32_t rank = 0;
        for (uint32_t k = 0; k < bt->n_picks; k++) {
            const struct pl_pick *y = &o->picks[bt->first + k];
            const struct pl_location *ly = &f->locations[y->location];
            assert_int_equal(y->walk, k);
            if (k == 0)
                continue;
            const struct pl_pick *x = y - 1;
            const struct pl_location *lx = &f->locations[x->location];
            assert_true(lx->zone <= ly->zone);
            if (lx->zone != ly->zone) {
                rank = 0;
                continue;
            }
            assert_true(lx->aisle <= ly->aisle); /* so each aisle is one contiguous run */
            if (lx->aisle != ly->aisle) {
                rank++;
                continue;
            }
            if (rank % 2 == 0)
                assert_true(lx->pick_seq <= ly->pick_seq);
            else
                assert_true(lx->pick_seq >= ly->pick_seq);
        }
    }
}

static void check_replen(const struct fx *f, const struct outs *o)
{
    int64_t moved[FX_MAX] = {0};
    for (uint32_t q = 0; q < f->w.n_quants; q++)
        assert_true(f->quants[q].reserved <= f->quants[q].on_hand);
    for (uint32_t i = 0; i < o->n_moves; i++) {
        const struct pl_move *m = &o->moves[i];
        const struct pl_replen_rule *r = &f->replen[m->rule];
        assert_int_equal(m->to, r->location);
        if (m->quant == PL_NONE) {
            assert_int_equal(m->reason.code, PL_R_REPLEN_NO_SOURCE);
            continue;
        }
        const struct pl_quant *qt = &f->quants[m->quant];
        assert_int_equal(qt->product, r->product);
        assert_true(loc_is_source(f, qt->location));
        assert_false(f->locations[qt->location].pick_face);
        if (r->source != PL_NONE)
            assert_true(f->locations[r->source].pre <= f->locations[qt->location].pre &&
                        f->locations[qt->location].pre < f->locations[r->source].post);
        assert_true(qt->expiry_day == PL_NO_EXPIRY || qt->expiry_day >= f->w.today);
        assert_true(m->qty > 0);
        moved[m->rule] += m->qty;
    }
    for (uint32_t r = 0; r < f->w.n_replen_rules; r++) {
        int64_t at_face = 0;
        assert_int_equal(moved[r] % f->replen[r].multiple, 0);
        for (uint32_t q = 0; q < f->w.n_quants; q++)
            if (f->quants[q].location == f->replen[r].location &&
                f->quants[q].product == f->replen[r].product)
                at_face += f->quants[q].on_hand;
        if (moved[r])
            assert_true(at_face + moved[r] <= f->replen[r].max_qty);
    }
    for (uint32_t i = 0; i < o->n_purchases; i++) {
        const struct pl_purchase *pu = &o->purchases[i];
        const struct pl_purchase_rule *r = &f->purchase[pu->rule];
        assert_int_equal(pu->qty % r->multiple, 0);
        assert_true(pu->reason.a < r->min_qty);
        assert_true(pu->reason.a + pu->qty >= r->max_qty);
        assert_int_equal(pu->due_day, f->w.today + r->lead_days);
    }
}

static void check_putaway(const struct fx *f, const struct outs *o, uint32_t n_receipts)
{
    int64_t placed[FX_MAX] = {0}, placed_units[FX_MAX] = {0}, placed_g[FX_MAX] = {0};
    int64_t per_receipt[8] = {0};
    for (uint32_t i = 0; i < o->n_putaways; i++) {
        const struct pl_putaway *pa = &o->putaways[i];
        const struct pl_receipt *rc = &o->receipts[pa->receipt];
        per_receipt[pa->receipt] += pa->qty;
        assert_true(pa->qty > 0);
        if (pa->location == PL_NONE)
            continue;
        assert_true(loc_is_source(f, pa->location));
        if (pa->reason.code == PL_R_PUTAWAY_PICK_FACE) {
            /* ref is the face's replen rule: the face is for this product */
            assert_int_equal(f->replen[pa->reason.ref].product, rc->product);
            assert_int_equal(f->replen[pa->reason.ref].location, pa->location);
        } else {
            const struct pl_location *root = &f->locations[f->putaway[pa->reason.ref].location];
            assert_true(root->pre <= f->locations[pa->location].pre &&
                        f->locations[pa->location].pre < root->post);
        }
        placed[pa->location] += pa->qty * (int64_t)f->products[rc->product].volume_cm3;
        placed_units[pa->location] += pa->qty;
        placed_g[pa->location] += pa->qty * (int64_t)f->products[rc->product].weight_g;
    }
    for (uint32_t i = 0; i < n_receipts; i++)
        assert_int_equal(per_receipt[i], o->receipts[i].qty);
    /* Every limit holds where something that counts against it was placed (a product without
     * weight or volume may go where those limits are already exceeded). */
    for (uint32_t l = 0; l < f->w.n_locations; l++) {
        const struct pl_location *loc = &f->locations[l];
        int64_t used = 0, used_units = 0, used_g = 0;
        for (uint32_t q = 0; q < f->w.n_quants; q++)
            if (f->quants[q].location == l) {
                const struct pl_product *p = &f->products[f->quants[q].product];
                used += f->quants[q].on_hand * (int64_t)p->volume_cm3;
                used_units += f->quants[q].on_hand;
                used_g += f->quants[q].on_hand * (int64_t)p->weight_g;
            }
        if (placed[l] && loc->capacity_cm3)
            assert_true(used + placed[l] <= loc->capacity_cm3);
        if (placed_units[l] && loc->capacity_units)
            assert_true(used_units + placed_units[l] <= loc->capacity_units);
        if (placed_g[l] && loc->capacity_weight_g)
            assert_true(used_g + placed_g[l] <= loc->capacity_weight_g);
    }
}

/* Plans f end to end into o, checking after every step. */
static void pipeline(struct fx *f, struct outs *o, uint64_t seed)
{
    struct pl_quant before[FX_MAX];
    uint32_t ba, bb;
    memcpy(before, f->quants, sizeof(struct pl_quant) * f->w.n_quants);
    assert_int_equal(fx_prepare(f), 0);
    pl_reserve_bounds(&f->w, &ba, &bb);
    assert_true(ba <= 4 * FX_MAX);
    o->ro.allocs = o->allocs;
    o->ro.backorders = o->backorders;
    o->ro.allocs_cap = 4 * FX_MAX;
    o->ro.backorders_cap = 2 * FX_MAX;
    assert_int_equal(pl_reserve(f->ws, &f->w, &o->ro), 0);
    assert_true(o->ro.n_allocs <= ba);
    assert_true(o->ro.n_backorders <= bb);
    check_reservation(f, o, before, false);

    /* short picks, chosen by their own seed so both runs make the same ones */
    uint64_t saved = rng_state;
    rng_state = seed;
    for (uint32_t k = 0, n = rnd(3); k < n && o->ro.n_allocs; k++) {
        uint32_t a = rnd(o->ro.n_allocs);
        if (o->allocs[a].qty == 0)
            continue;
        assert_int_equal(
            pl_short_pick(f->ws, &f->w, &o->ro, a, rnd((uint32_t)o->allocs[a].qty), &o->events[k]),
            0);
        assert_int_equal(o->events[k].code, PL_R_QUANT_MISSING);
    }
    check_reservation(f, o, before, true);

    o->wo.waves = o->waves;
    o->wo.wave_orders = o->wave_orders;
    o->wo.orders = o->ow;
    o->wo.waves_cap = f->w.n_orders;
    assert_int_equal(pl_wave(f->ws, &f->w, o->allocs, o->ro.n_allocs, &o->wo), 0);
    check_waves(f, o);

    struct pl_batch_out count = {0};
    assert_int_equal(pl_batch(f->ws, &f->w, o->allocs, o->ro.n_allocs, &o->wo, &count), 0);
    assert_true(count.n_batches <= 8 * FX_MAX && count.n_picks <= 8 * FX_MAX);
    o->bo.batches = o->batches;
    o->bo.picks = o->picks;
    o->bo.batches_cap = count.n_batches;
    o->bo.picks_cap = count.n_picks;
    assert_int_equal(pl_batch(f->ws, &f->w, o->allocs, o->ro.n_allocs, &o->wo, &o->bo), 0);
    assert_int_equal(o->bo.n_batches, count.n_batches);
    assert_int_equal(o->bo.n_picks, count.n_picks);
    check_batches(f, o);
    assert_int_equal(pl_sequence(f->ws, &f->w, &o->bo), 0);
    check_walk(f, o);
    check_batches(f, o);

    assert_int_equal(pl_replenish(f->ws, &f->w, o->allocs, o->ro.n_allocs, &o->wo,
                                  o->wo.n_waves ? 0 : PL_NONE, o->moves, pl_replenish_bound(&f->w),
                                  &o->n_moves),
                     0);
    check_replen(f, o);
    assert_int_equal(pl_purchase(f->ws, &f->w, o->backorders, o->ro.n_backorders, o->purchases,
                                 f->w.n_purchase_rules, &o->n_purchases),
                     0);
    check_replen(f, o);

    uint32_t nr = 1 + rnd(4);
    for (uint32_t i = 0; i < nr; i++)
        o->receipts[i] = (struct pl_receipt){rnd(f->w.n_products), rnd(3), rnd(2), 0, 1 + rnd(40)};
    assert_int_equal(pl_putaway(f->ws, &f->w, o->receipts, nr, o->putaways,
                                pl_putaway_bound(&f->w, nr), &o->n_putaways),
                     0);
    check_putaway(f, o, nr);
    memcpy(o->quants, f->quants, sizeof(struct pl_quant) * f->w.n_quants);
    rng_state = saved;
}

#define SAME(field, n) assert_memory_equal(a->field, b->field, sizeof(a->field[0]) * (n))

static void same_outputs(const struct fx *f, const struct outs *a, const struct outs *b)
{
    assert_int_equal(a->ro.n_allocs, b->ro.n_allocs);
    assert_int_equal(a->ro.n_backorders, b->ro.n_backorders);
    assert_int_equal(a->wo.n_waves, b->wo.n_waves);
    assert_int_equal(a->wo.n_waved, b->wo.n_waved);
    assert_int_equal(a->bo.n_batches, b->bo.n_batches);
    assert_int_equal(a->bo.n_picks, b->bo.n_picks);
    assert_int_equal(a->n_moves, b->n_moves);
    assert_int_equal(a->n_purchases, b->n_purchases);
    assert_int_equal(a->n_putaways, b->n_putaways);
    SAME(allocs, a->ro.n_allocs);
    SAME(backorders, a->ro.n_backorders);
    SAME(events, 4);
    SAME(waves, a->wo.n_waves);
    SAME(wave_orders, a->wo.n_waved);
    SAME(ow, f->w.n_orders);
    SAME(batches, a->bo.n_batches);
    SAME(picks, a->bo.n_picks);
    SAME(moves, a->n_moves);
    SAME(purchases, a->n_purchases);
    SAME(putaways, a->n_putaways);
    SAME(quants, f->w.n_quants);
}

/* What the random worlds exercised, so a generator change cannot quietly test nothing. */
struct coverage {
    uint64_t allocs, backorders, short_picks, waves, late, batches, picks, split, oversize;
    uint64_t moves, purchases, putaways, unplaced, causes[PL_R_COUNT];
};

static void count(struct coverage *c, const struct fx *f, const struct outs *o)
{
    c->allocs += o->ro.n_allocs;
    c->backorders += o->ro.n_backorders;
    for (uint32_t i = 0; i < o->ro.n_backorders; i++)
        c->causes[o->backorders[i].reason.code]++;
    for (uint32_t i = 0; i < o->ro.n_allocs; i++)
        c->causes[o->allocs[i].reason.code]++;
    for (int k = 0; k < 4; k++)
        c->short_picks += o->events[k].code == PL_R_QUANT_MISSING;
    c->waves += o->wo.n_waves;
    for (uint32_t i = 0; i < f->w.n_orders; i++)
        c->late += (o->ow[i].reason.flags & PL_RF_LATE) != 0;
    c->batches += o->bo.n_batches;
    c->picks += o->bo.n_picks;
    for (uint32_t i = 0; i < o->bo.n_picks; i++)
        c->split += (o->picks[i].flags & PL_RF_SPLIT) != 0;
    for (uint32_t i = 0; i < o->bo.n_batches; i++)
        c->oversize += o->batches[i].reason.code == PL_R_BATCH_OVERSIZE;
    c->moves += o->n_moves;
    c->purchases += o->n_purchases;
    c->putaways += o->n_putaways;
    for (uint32_t i = 0; i < o->n_putaways; i++)
        c->unplaced += o->putaways[i].location == PL_NONE;
}

static void test_random_worlds(void **state)
{
    struct coverage cov = {0};
    struct outs *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    struct pl_quant initial[FX_MAX];
    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    for (uint64_t seed = 1; seed <= WORLDS; seed++) {
        struct fx *f = fx_new();
        rng_state = seed * UINT64_C(0x9E3779B97F4A7C15);
        random_world(f);
        memcpy(initial, f->quants, sizeof(initial));
        memset(a, 0, sizeof(*a));
        memset(b, 0, sizeof(*b));
        pipeline(f, a, seed + 7);
        /* determinism: the same input planned again gives identical bytes */
        memcpy(f->quants, initial, sizeof(initial));
        pipeline(f, b, seed + 7);
        same_outputs(f, a, b);
        count(&cov, f, a);
        fx_free(f);
    }
    printf("worlds=%d allocs=%llu backorders=%llu short_picks=%llu waves=%llu late=%llu "
           "batches=%llu picks=%llu split=%llu oversize=%llu moves=%llu purchases=%llu "
           "putaways=%llu unplaced=%llu\n",
           WORLDS, (unsigned long long)cov.allocs, (unsigned long long)cov.backorders,
           (unsigned long long)cov.short_picks, (unsigned long long)cov.waves,
           (unsigned long long)cov.late, (unsigned long long)cov.batches,
           (unsigned long long)cov.picks, (unsigned long long)cov.split,
           (unsigned long long)cov.oversize, (unsigned long long)cov.moves,
           (unsigned long long)cov.purchases, (unsigned long long)cov.putaways,
           (unsigned long long)cov.unplaced);
    assert_true(cov.short_picks > 20 && cov.late > 20 && cov.split > 20 && cov.oversize > 0);
    assert_true(cov.moves > 20 && cov.purchases > 20 && cov.putaways > 100 && cov.unplaced > 0);
    assert_true(cov.waves > 2 * WORLDS && cov.batches > 2 * WORLDS);
    for (unsigned c = PL_R_FIFO_OLDEST; c <= PL_R_SHORT_RESERVED; c++)
        assert_true(cov.causes[c] > 0);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_worlds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
