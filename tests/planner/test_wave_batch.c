/* Unit tests for planner waves (cutoffs, late flag, limits, orders too big, nothing reserved),
 * cart batches (exactly full, order kept on one cart, order larger than a cart split, oversize
 * unit, counting mode) and serpentine pick paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

struct plan {
    struct pl_wave waves[FX_MAX];
    uint32_t wave_orders[FX_MAX];
    struct pl_order_wave ow[FX_MAX];
    struct pl_wave_out wo;
    struct pl_batch batches[FX_MAX];
    struct pl_pick picks[4 * FX_MAX];
    struct pl_batch_out bo;
};

static struct plan *plan_new(void)
{
    struct plan *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->wo.waves = p->waves;
    p->wo.wave_orders = p->wave_orders;
    p->wo.orders = p->ow;
    p->wo.waves_cap = FX_MAX;
    p->bo.batches = p->batches;
    p->bo.picks = p->picks;
    p->bo.batches_cap = FX_MAX;
    p->bo.picks_cap = 4 * FX_MAX;
    return p;
}

static void wave_it(struct fx *f, struct plan *p)
{
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(pl_wave(f->ws, &f->w, f->allocs, f->ro.n_allocs, &p->wo), 0);
}

static void batch_it(struct fx *f, struct plan *p)
{
    wave_it(f, p);
    assert_int_equal(pl_batch(f->ws, &f->w, f->allocs, f->ro.n_allocs, &p->wo, &p->bo), 0);
    assert_int_equal(pl_sequence(f->ws, &f->w, &p->bo), 0);
}

/* A product with plenty of stock in its own location. */
static uint32_t stocked(struct fx *f, uint32_t weight_g, uint32_t volume_cm3)
{
    uint32_t p = fx_product(f, PL_FIFO), l = fx_loc(f, 1, (uint16_t)(p + 1), 10 * p);
    f->products[p].weight_g = weight_g;
    f->products[p].volume_cm3 = volume_cm3;
    fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 0, 1000);
    return p;
}

static void test_wave_late_first_then_cutoff_priority(void **state)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    (void)state;
    uint32_t pr = stocked(f, 100, 100);
    f->w.wave.lead_min = 60;
    fx_order(f, 0, 0, MIN0 + 600, DAY0); /* 0: normal */
    fx_line(f, pr, 1, PL_NONE, 0);
    fx_order(f, 0, 1, MIN0 + 30, DAY0); /* 1: cannot make it: late */
    fx_line(f, pr, 1, PL_NONE, 0);
    fx_order(f, 5, 0, MIN0 + 600, DAY0); /* 2: same cutoff as 0, higher priority */
    fx_line(f, pr, 1, PL_NONE, 0);
    fx_order(f, 0, 2, MIN0 + 60, DAY0); /* 3: exactly on time (now + lead == cutoff) */
    fx_line(f, pr, 1, PL_NONE, 0);
    fx_order(f, 0, 2, MIN0 + 61, DAY0); /* 4: no stock reserved */
    fx_line(f, fx_product(f, PL_FIFO), 1, PL_NONE, 0);
    wave_it(f, p);
    assert_int_equal(p->wo.n_waves, 1);
    assert_int_equal(p->wo.n_waved, 4);
    assert_int_equal(p->wave_orders[0], 1);
    assert_int_equal(p->wave_orders[1], 3);
    assert_int_equal(p->wave_orders[2], 2);
    assert_int_equal(p->wave_orders[3], 0);
    assert_int_equal(p->ow[1].reason.code, PL_R_WAVE_LATE_FOR_CUTOFF);
    assert_true(p->ow[1].reason.flags & PL_RF_LATE);
    assert_int_equal(p->ow[1].reason.b, MIN0 + 60);
    assert_int_equal(p->ow[3].reason.code, PL_R_WAVE_BY_CUTOFF);
    assert_int_equal(p->ow[3].reason.b, 0);
    /* the cutoff reasons name the order's carrier */
    assert_int_equal(p->ow[1].reason.ref, 1);
    assert_int_equal(p->ow[3].reason.ref, 2);
    assert_int_equal(p->ow[0].reason.b, 540);
    assert_int_equal(p->ow[4].wave, PL_NONE);
    assert_int_equal(p->ow[4].reason.code, PL_R_WAVE_NOTHING_RESERVED);
    assert_int_equal(p->waves[0].late_orders, 1);
    assert_int_equal(p->waves[0].carriers, 3);
    assert_int_equal(p->waves[0].reason.code, PL_R_WAVE_LAST);
    free(p);
    fx_free(f);
}

static void test_wave_limits(void **state)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    (void)state;
    uint32_t pr = stocked(f, 100, 100);
    for (uint32_t i = 0; i < 6; i++) {
        fx_order(f, 0, i % 3, MIN0 + 600, DAY0);
        fx_line(f, pr, 2, PL_NONE, 0);
    }
    f->w.wave.max_lines = 2; /* exactly two one-line orders fit */
    wave_it(f, p);
    assert_int_equal(p->wo.n_waves, 3);
    assert_int_equal(p->waves[0].n_orders, 2);
    assert_int_equal(p->waves[0].lines, 2);
    assert_int_equal(p->waves[0].reason.code, PL_R_WAVE_FULL_LINES);
    assert_int_equal(p->waves[0].reason.a, 3);
    assert_int_equal(p->waves[0].reason.b, 2);
    assert_int_equal(p->waves[2].reason.code, PL_R_WAVE_LAST);

    f->w.wave.max_lines = 0;
    f->w.wave.max_units = 7;
    for (uint32_t q = 0; q < f->w.n_quants; q++)
        f->quants[q].reserved = 0;
    wave_it(f, p);
    assert_int_equal(p->wo.n_waves, 2);
    assert_int_equal(p->waves[0].units, 6);
    assert_int_equal(p->waves[0].reason.code, PL_R_WAVE_FULL_UNITS);

    f->w.wave.max_units = 0;
    f->w.wave.max_carriers = 2; /* carriers 0,1,2,0,1,2 */
    for (uint32_t q = 0; q < f->w.n_quants; q++)
        f->quants[q].reserved = 0;
    wave_it(f, p);
    assert_int_equal(p->wo.n_waves, 3);
    assert_int_equal(p->waves[0].reason.code, PL_R_WAVE_FULL_LANES);
    assert_int_equal(p->waves[0].carriers, 2);

    f->w.wave.max_carriers = 0;
    f->w.wave.max_orders = 4;
    for (uint32_t q = 0; q < f->w.n_quants; q++)
        f->quants[q].reserved = 0;
    wave_it(f, p);
    assert_int_equal(p->wo.n_waves, 2);
    assert_int_equal(p->waves[0].n_orders, 4);
    assert_int_equal(p->waves[0].reason.code, PL_R_WAVE_FULL_ORDERS);
    free(p);
    fx_free(f);
}

static void test_wave_order_too_big_and_cutoff_split(void **state)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    (void)state;
    uint32_t pr = stocked(f, 100, 100);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, pr, 1, PL_NONE, 0);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, pr, 1, PL_NONE, 0);
    fx_line(f, pr, 1, PL_NONE, 0);
    fx_line(f, pr, 1, PL_NONE, 0);
    fx_order(f, 0, 0, MIN0 + 700, DAY0);
    fx_line(f, pr, 1, PL_NONE, 0);
    f->w.wave.max_lines = 2;
    f->w.wave.split_by_cutoff = 1;
    wave_it(f, p);
    assert_int_equal(p->wo.n_waves, 3);
    assert_int_equal(p->waves[0].n_orders, 1);
    assert_int_equal(p->waves[1].n_orders, 1);
    assert_int_equal(p->wave_orders[1], 1);
    assert_int_equal(p->ow[1].reason.code, PL_R_WAVE_ORDER_TOO_BIG);
    assert_int_equal(p->ow[1].reason.a, 3);
    assert_int_equal(p->waves[1].lines, 3);
    assert_int_equal(p->waves[2].n_orders, 1);
    assert_int_equal(p->ow[2].wave, 2);
    free(p);
    fx_free(f);
}

static void test_cart_exactly_full(void **state)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    (void)state;
    uint32_t heavy = stocked(f, 100, 100);
    f->w.cart.totes = 2;
    f->w.cart.tote_volume_cm3 = 1000;
    f->w.cart.max_weight_g = 1000;
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, heavy, 10, PL_NONE, 0); /* exactly 1000 g, exactly one tote */
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, heavy, 1, PL_NONE, 0);
    batch_it(f, p);
    assert_int_equal(p->bo.n_batches, 2);
    assert_int_equal(p->batches[0].weight_g, 1000);
    assert_int_equal(p->batches[0].totes, 1);
    assert_int_equal(p->picks[0].flags & PL_RF_SPLIT, 0); /* taken whole, not spread */
    assert_int_equal(p->batches[0].orders, 1);
    assert_int_equal(p->batches[0].reason.code, PL_R_BATCH_FULL_WEIGHT);
    assert_int_equal(p->batches[0].reason.a, 1100);
    assert_int_equal(p->batches[0].reason.b, 1000);
    assert_int_equal(p->batches[1].reason.code, PL_R_BATCH_WAVE_END);

    /* totes exactly full: two one-tote orders fill the cart, the third opens a new one */
    struct fx *g = fx_new();
    uint32_t light = stocked(g, 1, 1000);
    g->w.cart = f->w.cart;
    for (int i = 0; i < 3; i++) {
        fx_order(g, 0, 0, MIN0 + 600, DAY0);
        fx_line(g, light, 1, PL_NONE, 0);
    }
    batch_it(g, p);
    assert_int_equal(p->bo.n_batches, 2);
    assert_int_equal(p->batches[0].totes, 2);
    assert_int_equal(p->batches[0].volume_cm3, 2000);
    assert_int_equal(p->batches[0].reason.code, PL_R_BATCH_FULL_TOTES);
    assert_int_equal(p->picks[1].tote, 1);
    free(p);
    fx_free(f);
    fx_free(g);
}

static void test_order_kept_on_one_cart(void **state)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    (void)state;
    uint32_t a = stocked(f, 300, 100), b = stocked(f, 200, 100);
    f->w.cart.totes = 4;
    f->w.cart.max_weight_g = 1000;
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, a, 2, PL_NONE, 0); /* 600 g */
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, a, 1, PL_NONE, 0); /* 300 g + 200 g = 500 g: would fit split, must not */
    fx_line(f, b, 1, PL_NONE, 0);
    batch_it(f, p);
    assert_int_equal(p->bo.n_batches, 2);
    assert_int_equal(p->batches[0].n_picks, 1);
    assert_int_equal(p->batches[1].n_picks, 2);
    assert_int_equal(p->batches[1].weight_g, 500);
    for (uint32_t i = 0; i < p->bo.n_picks; i++)
        assert_int_equal(p->picks[i].flags & PL_RF_SPLIT, 0);
    free(p);
    fx_free(f);
}

static void test_order_bigger_than_cart_split(void **state)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    struct pl_batch_out count = {0};
    (void)state;
    uint32_t a = stocked(f, 100, 10);
    f->w.cart.totes = 2;
    f->w.cart.max_weight_g = 1000;
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, a, 25, PL_NONE, 0);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, a, 3, PL_NONE, 0);
    batch_it(f, p);
    assert_int_equal(p->bo.n_batches, 3);
    assert_int_equal(p->batches[0].units, 10);
    assert_int_equal(p->batches[1].units, 10);
    assert_int_equal(p->batches[2].units, 5 + 3); /* the next order joins the last part */
    assert_int_equal(p->batches[0].reason.code, PL_R_BATCH_FULL_WEIGHT);
    int64_t sum = 0;
    for (uint32_t i = 0; i < p->bo.n_picks; i++)
        if (p->picks[i].order == 0) {
            sum += p->picks[i].qty;
            assert_true(p->picks[i].flags & PL_RF_SPLIT);
        }
    assert_int_equal(sum, 25);
    /* counting mode agrees */
    assert_int_equal(pl_batch(f->ws, &f->w, f->allocs, f->ro.n_allocs, &p->wo, &count), 0);
    assert_int_equal(count.n_batches, p->bo.n_batches);
    assert_int_equal(count.n_picks, p->bo.n_picks);
    /* too small an output */
    p->bo.picks_cap = 2;
    assert_int_equal(pl_batch(f->ws, &f->w, f->allocs, f->ro.n_allocs, &p->wo, &p->bo),
                     WCS_E_EXHAUSTED);
    free(p);
    fx_free(f);
}

static void test_oversize_unit_rides_alone(void **state)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    (void)state;
    uint32_t small = stocked(f, 10, 10), huge = stocked(f, 5000, 10);
    f->w.cart.max_weight_g = 1000;
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, small, 1, PL_NONE, 0);
    fx_line(f, huge, 2, PL_NONE, 0);
    batch_it(f, p);
    assert_int_equal(p->bo.n_batches, 2);
    assert_int_equal(p->batches[1].n_picks, 1);
    assert_int_equal(p->batches[1].reason.code, PL_R_BATCH_OVERSIZE);
    assert_int_equal(p->batches[1].units, 2);
    assert_int_equal(p->batches[0].units, 1);
    f->w.cart.totes = 0;
    assert_int_equal(pl_batch(f->ws, &f->w, f->allocs, f->ro.n_allocs, &p->wo, &p->bo),
                     WCS_E_RANGE);
    free(p);
    fx_free(f);
}

static void test_serpentine_walk(void **state)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    (void)state;
    /* (zone, aisle, pick_seq) of each location, in a scrambled creation order */
    static const uint16_t spec[][3] = {{2, 1, 5}, {1, 4, 3}, {1, 2, 7}, {1, 1, 9}, {1, 2, 2},
                                       {1, 1, 1}, {1, 4, 8}, {2, 1, 1}, {1, 2, 4}};
    uint32_t n = sizeof(spec) / sizeof(spec[0]);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pr = fx_product(f, PL_FIFO);
        uint32_t l = fx_loc(f, spec[i][0], spec[i][1], spec[i][2]);
        fx_quant(f, pr, l, PL_NONE, PL_NO_EXPIRY, 0, 5);
        fx_line(f, pr, 1, PL_NONE, 0);
    }
    f->w.cart.totes = 10;
    batch_it(f, p);
    assert_int_equal(p->bo.n_batches, 1);
    /* zone 1: aisle 1 up (1, 9), aisle 2 down (7, 4, 2), aisle 4 up (3, 8); zone 2 aisle 1 up */
    static const uint16_t want[][3] = {{1, 1, 1}, {1, 1, 9}, {1, 2, 7}, {1, 2, 4}, {1, 2, 2},
                                       {1, 4, 3}, {1, 4, 8}, {2, 1, 1}, {2, 1, 5}};
    for (uint32_t i = 0; i < n; i++) {
        const struct pl_location *l = &f->locations[p->picks[i].location];
        assert_int_equal(p->picks[i].walk, i);
        assert_int_equal(l->zone, want[i][0]);
        assert_int_equal(l->aisle, want[i][1]);
        assert_int_equal(l->pick_seq, want[i][2]);
    }
    free(p);
    fx_free(f);
}

/* 60 picks over 3 aisles, many at one pick_seq. With lines_per_product 1 there are as many
 * quants as picks (the keyed sort path); with 2 the batch outgrows the workspace's sort records
 * and the in-place heapsort runs. Both must give the same walk rules. */
static void serpentine_many(uint32_t lines_per_product)
{
    struct fx *f = fx_new();
    struct plan *p = plan_new();
    uint32_t locs[6], pr = 0;
    for (uint32_t i = 0; i < 6; i++)
        locs[i] = fx_loc(f, 1, (uint16_t)(1 + i / 2), 10 * (i % 2));
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    for (uint32_t i = 0; i < 60; i++) {
        if (i % lines_per_product == 0) {
            pr = fx_product(f, PL_FIFO);
            fx_quant(f, pr, locs[(i * 7) % 6], PL_NONE, PL_NO_EXPIRY, 0, 5);
        }
        fx_line(f, pr, 1, PL_NONE, 0);
    }
    f->w.cart.totes = 100;
    f->w.cart.tote_volume_cm3 = 100000;
    batch_it(f, p);
    assert_int_equal(p->bo.n_batches, 1);
    assert_int_equal(p->bo.n_picks, 60);
    uint32_t rank = 0;
    for (uint32_t i = 1; i < 60; i++) {
        const struct pl_pick *x = &p->picks[i - 1], *y = &p->picks[i];
        const struct pl_location *lx = &f->locations[x->location], *ly = &f->locations[y->location];
        assert_int_equal(y->walk, i);
        if (lx->aisle != ly->aisle) {
            assert_true(lx->aisle < ly->aisle);
            rank++;
            continue;
        }
        if (rank % 2 == 0)
            assert_true(lx->pick_seq <= ly->pick_seq);
        else
            assert_true(lx->pick_seq >= ly->pick_seq);
        if (x->location == y->location)
            assert_true(x->order < y->order || (x->order == y->order && x->alloc < y->alloc));
    }
    assert_int_equal(rank, 2);
    free(p);
    fx_free(f);
}

static void test_serpentine_large_batch_ties(void **state)
{
    (void)state;
    serpentine_many(1);
    serpentine_many(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wave_late_first_then_cutoff_priority),
        cmocka_unit_test(test_wave_limits),
        cmocka_unit_test(test_wave_order_too_big_and_cutoff_split),
        cmocka_unit_test(test_cart_exactly_full),
        cmocka_unit_test(test_order_kept_on_one_cart),
        cmocka_unit_test(test_order_bigger_than_cart_split),
        cmocka_unit_test(test_oversize_unit_rides_alone),
        cmocka_unit_test(test_serpentine_walk),
        cmocka_unit_test(test_serpentine_large_batch_ties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
