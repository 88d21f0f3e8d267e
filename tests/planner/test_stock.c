/* Unit tests for planner putaway (rule specificity, capacity, pick face that needs stock first,
 * same product and lot preferred, other products' locations never used) and replenishment
 * (min/max in multiples, a wave's demand, short reserve, purchase suggestions with lead time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

static uint32_t node(struct fx *f, uint32_t pre, uint32_t post, uint32_t pick_seq, uint32_t cap)
{
    uint32_t l = fx_loc(f, 1, 1, pick_seq);
    f->locations[l].pre = pre;
    f->locations[l].post = post;
    f->locations[l].capacity_cm3 = cap;
    if (post > pre + 1)
        f->locations[l].usage = PL_USAGE_VIEW;
    return l;
}

static void add_replen(struct fx *f, uint32_t product, uint32_t loc, int64_t min, int64_t max,
                       int64_t multiple)
{
    struct pl_replen_rule *r = &f->replen[f->w.n_replen_rules++];
    r->product = product;
    r->location = loc;
    r->min_qty = min;
    r->max_qty = max;
    r->multiple = multiple;
    r->source = PL_NONE;
    f->locations[loc].pick_face = 1;
}

static void add_putaway(struct fx *f, uint32_t product, uint32_t category, uint32_t loc)
{
    struct pl_putaway_rule *r = &f->putaway[f->w.n_putaway_rules++];
    r->product = product;
    r->category = category;
    r->package_type = PL_NONE;
    r->location = loc;
}

static void test_putaway_preferences_and_capacity(void **state)
{
    struct fx *f = fx_new();
    struct pl_putaway out[32];
    uint32_t n = 0;
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), other = fx_product(f, PL_FIFO);
    node(f, 0, 20, 0, 0);                     /* site */
    uint32_t zone_a = node(f, 1, 8, 0, 0);    /* zone A */
    uint32_t b3 = node(f, 5, 6, 10, 500);     /* empty, lowest pick_seq */
    uint32_t face = node(f, 2, 3, 90, 0);     /* pick face of p */
    uint32_t b1 = node(f, 3, 4, 50, 1000);    /* p lot 1 */
    uint32_t b2 = node(f, 4, 5, 40, 1000);    /* p lot 2 */
    uint32_t b4 = node(f, 6, 7, 1, 100000);   /* other product */
    uint32_t qual = node(f, 7, 8, 2, 100000); /* quality hold: not stock */
    f->locations[qual].usage = PL_USAGE_QUALITY;
    node(f, 8, 12, 0, 0); /* zone B: outside the rule */
    node(f, 9, 10, 0, 0);
    add_replen(f, p, face, 5, 20, 1);
    fx_quant(f, p, face, 1, PL_NO_EXPIRY, 0, 8);
    fx_quant(f, p, b1, 1, PL_NO_EXPIRY, 0, 5);
    fx_quant(f, p, b2, 2, PL_NO_EXPIRY, 0, 8);
    fx_quant(f, other, b4, PL_NONE, PL_NO_EXPIRY, 0, 1);
    add_putaway(f, p, PL_NONE, zone_a);
    assert_int_equal(fx_prepare(f), 0);
    struct pl_receipt rc = {p, 1, PL_NONE, 0, 30};
    assert_int_equal(pl_putaway(f->ws, &f->w, &rc, 1, out, 32, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(out[0].location, face);
    assert_int_equal(out[0].qty, 12);
    assert_int_equal(out[0].reason.code, PL_R_PUTAWAY_PICK_FACE);
    assert_int_equal(out[0].reason.a, 8);
    assert_int_equal(out[0].reason.b, 20);
    assert_int_equal(out[1].location, b1);
    assert_int_equal(out[1].qty, 5);
    assert_int_equal(out[1].reason.code, PL_R_PUTAWAY_SAME_LOT);
    assert_int_equal(out[1].reason.a, 5);
    assert_int_equal(out[2].location, b2);
    assert_int_equal(out[2].qty, 2);
    assert_int_equal(out[2].reason.code, PL_R_PUTAWAY_SAME_PRODUCT);
    assert_int_equal(out[3].location, b3);
    assert_int_equal(out[3].qty, 5);
    assert_int_equal(out[3].reason.code, PL_R_PUTAWAY_EMPTY);
    assert_int_equal(out[3].reason.a, 5); /* 500 cm3 free: room for 5 units of 100 cm3 */
    assert_int_equal(out[3].reason.b, PL_CAP_VOLUME);
    assert_int_equal(out[4].location, PL_NONE);
    assert_int_equal(out[4].qty, 6);
    assert_int_equal(out[4].reason.code, PL_R_PUTAWAY_NO_CAPACITY);
    /* capacity of the output */
    assert_int_equal(pl_putaway(f->ws, &f->w, &rc, 1, out, 3, &n), WCS_E_EXHAUSTED);
    assert_true(pl_putaway_bound(&f->w, 1) >= 5);
    fx_free(f);
}

static void test_putaway_rules_and_running_capacity(void **state)
{
    struct fx *f = fx_new();
    struct pl_putaway out[32];
    uint32_t n = 0;
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), same_cat = fx_product(f, PL_FIFO);
    uint32_t lonely = fx_product(f, PL_FIFO);
    f->products[p].category = 3;
    f->products[same_cat].category = 3;
    f->products[lonely].category = 4;
    node(f, 0, 10, 0, 0);
    uint32_t za = node(f, 1, 3, 0, 0);
    uint32_t a1 = node(f, 2, 3, 5, 1000);
    uint32_t zb = node(f, 3, 6, 0, 0);
    uint32_t b1 = node(f, 4, 5, 5, 1000);
    uint32_t b2 = node(f, 5, 6, 6, 1000);
    add_putaway(f, PL_NONE, 3, zb); /* category */
    add_putaway(f, p, PL_NONE, za); /* product: more specific, wins */
    assert_int_equal(fx_prepare(f), 0);
    struct pl_receipt rc[4] = {{p, 1, PL_NONE, 0, 4},
                               {same_cat, 2, PL_NONE, 0, 7},
                               {same_cat, 2, PL_NONE, 0, 7}, /* b1 has 3 left: then b2 */
                               {lonely, 3, PL_NONE, 0, 1}};
    assert_int_equal(pl_putaway(f->ws, &f->w, rc, 4, out, 32, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(out[0].location, a1);
    assert_int_equal(out[0].reason.ref, 1);
    assert_int_equal(out[1].location, b1);
    assert_int_equal(out[1].qty, 7);
    assert_int_equal(out[1].reason.ref, 0);
    assert_int_equal(out[2].location, b1); /* same product and lot now */
    assert_int_equal(out[2].qty, 3);
    assert_int_equal(out[2].reason.code, PL_R_PUTAWAY_SAME_LOT);
    assert_int_equal(out[3].location, b2);
    assert_int_equal(out[3].qty, 4);
    assert_int_equal(out[4].receipt, 3);
    assert_int_equal(out[4].location, PL_NONE);
    assert_int_equal(out[4].reason.code, PL_R_PUTAWAY_NO_RULE);
    struct pl_receipt bad = {99, 0, 0, 0, 1};
    assert_int_equal(pl_putaway(f->ws, &f->w, &bad, 1, out, 32, &n), WCS_E_RANGE);
    fx_free(f);
}

/* Units, weight and volume limits each stop a location: it takes what fits all three, counting
 * every product on hand there and the suggestions made so far; a product without a weight (or
 * volume) is not held back by that limit. */
static void test_putaway_units_weight_volume(void **state)
{
    struct pl_putaway out[32];
    uint32_t n = 0;
    (void)state;
    struct fx *f = fx_new();
    uint32_t p = fx_product(f, PL_FIFO), other = fx_product(f, PL_FIFO);
    uint32_t light = fx_product(f, PL_FIFO);
    f->products[p].weight_g = 1000; /* 1 kg, 100 cm3 */
    f->products[light].weight_g = 0;
    f->products[light].volume_cm3 = 0;
    node(f, 0, 10, 0, 0);
    uint32_t by_units = node(f, 1, 2, 1, 0);  /* 10 units, 3 of another product there */
    uint32_t by_weight = node(f, 2, 3, 2, 0); /* 4.5 kg */
    uint32_t by_volume = node(f, 3, 4, 3, 0); /* 250 cm3 */
    uint32_t all_three = node(f, 4, 5, 4, 0); /* units 6, 8 kg, 1000 cm3: units bind */
    uint32_t unlimited = node(f, 5, 6, 5, 0); /* no limit */
    uint32_t tiny = node(f, 6, 7, 6, 0);      /* 1 g */
    f->locations[by_units].capacity_units = 10;
    f->locations[by_weight].capacity_weight_g = 4500;
    f->locations[by_volume].capacity_cm3 = 250;
    f->locations[all_three].capacity_units = 6;
    f->locations[all_three].capacity_weight_g = 8000;
    f->locations[all_three].capacity_cm3 = 1000;
    f->locations[tiny].capacity_weight_g = 1;
    fx_quant(f, other, by_units, PL_NONE, PL_NO_EXPIRY, 0, 3);
    add_putaway(f, PL_NONE, PL_NONE, 0);
    assert_int_equal(fx_prepare(f), 0);
    /* `other` at by_units makes it another product's location: p may not go there, but a
     * second receipt of `other` fills it by units (10 - 3 = 7) */
    struct pl_receipt rc[3] = {{p, PL_NONE, PL_NONE, 0, 30},
                               {other, PL_NONE, PL_NONE, 0, 9},
                               {light, PL_NONE, PL_NONE, 0, 5}};
    assert_int_equal(pl_putaway(f->ws, &f->w, rc, 3, out, 32, &n), 0);
    assert_int_equal(n, 7);
    assert_int_equal(out[0].location, by_weight); /* 4 units of 1 kg; a 5th would make 5 kg */
    assert_int_equal(out[0].qty, 4);
    assert_int_equal(out[0].reason.code, PL_R_PUTAWAY_EMPTY);
    assert_int_equal(out[0].reason.a, 4);
    assert_int_equal(out[0].reason.b, PL_CAP_WEIGHT);
    assert_int_equal(out[1].location, by_volume); /* 2 units of 100 cm3 */
    assert_int_equal(out[1].qty, 2);
    assert_int_equal(out[1].reason.b, PL_CAP_VOLUME);
    assert_int_equal(out[2].location, all_three); /* 6 units < 8 kg and < 10 x 100 cm3 */
    assert_int_equal(out[2].qty, 6);
    assert_int_equal(out[2].reason.a, 6);
    assert_int_equal(out[2].reason.b, PL_CAP_UNITS);
    assert_int_equal(out[3].location, unlimited);
    assert_int_equal(out[3].qty, 18);
    assert_int_equal(out[3].reason.a, -1);
    assert_int_equal(out[3].reason.b, PL_CAP_NONE);
    /* other (untracked: the same "lot"): 7 more fit next to its 3 units; the one empty location
     * left takes 1 g, less than one unit of 100 g, so 2 units stay unplaced */
    assert_int_equal(out[4].receipt, 1);
    assert_int_equal(out[4].location, by_units);
    assert_int_equal(out[4].qty, 7);
    assert_int_equal(out[4].reason.code, PL_R_PUTAWAY_SAME_LOT);
    assert_int_equal(out[5].location, PL_NONE);
    assert_int_equal(out[5].qty, 2);
    assert_int_equal(out[5].reason.code, PL_R_PUTAWAY_NO_CAPACITY);
    /* light (no weight, no volume): the 1 g limit does not hold it back */
    assert_int_equal(out[6].receipt, 2);
    assert_int_equal(out[6].location, tiny);
    assert_int_equal(out[6].qty, 5);
    assert_int_equal(out[6].reason.a, -1);
    fx_free(f);
}

/* A face of p (pick_seq 1) with face_units, reserve bins r1 (older) and r2 (newer). */
static struct fx *replen_world(int64_t face_units, int64_t r1_units, int64_t r2_units)
{
    struct fx *f = fx_new();
    uint32_t p = fx_product(f, PL_CLOSEST);
    uint32_t face = fx_loc(f, 1, 1, 1), r1 = fx_loc(f, 1, 9, 90), r2 = fx_loc(f, 1, 9, 91);
    add_replen(f, p, face, 5, 20, 6);
    fx_quant(f, p, face, PL_NONE, PL_NO_EXPIRY, 0, face_units);
    fx_quant(f, p, r1, PL_NONE, PL_NO_EXPIRY, 100, r1_units);
    fx_quant(f, p, r2, PL_NONE, PL_NO_EXPIRY, 200, r2_units);
    return f;
}

static void test_replen_min_max_multiples(void **state)
{
    struct pl_move mv[16];
    uint32_t n = 0;
    (void)state;
    struct fx *f = replen_world(3, 10, 10);
    assert_int_equal(fx_prepare(f), 0);
    assert_int_equal(pl_replenish(f->ws, &f->w, NULL, 0, NULL, PL_NONE, mv, 16, &n), 0);
    /* want 20 - 3 = 17, rounded down to 12 (multiple 6): 10 from r1, 2 from r2 */
    assert_int_equal(n, 2);
    assert_int_equal(mv[0].quant, 1);
    assert_int_equal(mv[0].qty, 10);
    assert_int_equal(mv[1].quant, 2);
    assert_int_equal(mv[1].qty, 2);
    assert_int_equal(mv[0].to, 0);
    assert_int_equal(mv[0].reason.code, PL_R_REPLEN_BELOW_MIN);
    assert_int_equal(mv[0].reason.a, 3);
    assert_int_equal(mv[0].reason.b, 5);
    assert_int_equal(f->quants[1].reserved, 10);
    assert_int_equal(f->quants[2].reserved, 2);
    /* capacity error undoes the reservations */
    f->quants[1].reserved = f->quants[2].reserved = 0;
    assert_int_equal(pl_replenish(f->ws, &f->w, NULL, 0, NULL, PL_NONE, mv, 1, &n),
                     WCS_E_EXHAUSTED);
    assert_int_equal(f->quants[1].reserved, 0);
    fx_free(f);

    /* at min: nothing */
    f = replen_world(5, 10, 10);
    assert_int_equal(fx_prepare(f), 0);
    assert_int_equal(pl_replenish(f->ws, &f->w, NULL, 0, NULL, PL_NONE, mv, 16, &n), 0);
    assert_int_equal(n, 0);
    fx_free(f);

    /* too little reserve for one multiple; expired reserve is not used */
    f = replen_world(3, 4, 50);
    f->quants[2].expiry_day = DAY0 - 1;
    assert_int_equal(fx_prepare(f), 0);
    assert_int_equal(pl_replenish(f->ws, &f->w, NULL, 0, NULL, PL_NONE, mv, 16, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mv[0].quant, PL_NONE);
    assert_int_equal(mv[0].reason.code, PL_R_REPLEN_NO_SOURCE);
    assert_int_equal(mv[0].reason.a, 12);
    assert_int_equal(mv[0].reason.b, 4);
    assert_int_equal(f->quants[1].reserved, 0);
    fx_free(f);
}

/* A rule's source subtree limits where reserve stock comes from: r1 (the first in CLOSEST
 * order) lies outside it, so the move takes from r2; with no stock in the subtree the rule is
 * short even though r1 holds plenty. */
static void test_replen_from_source_subtree(void **state)
{
    struct pl_move mv[16];
    uint32_t n = 0;
    (void)state;
    struct fx *f = replen_world(3, 30, 30);
    uint32_t src = fx_loc(f, 1, 9, 0); /* a view holding r2 only */
    f->locations[src].usage = PL_USAGE_VIEW;
    f->locations[src].pre = 2000;
    f->locations[src].post = 2010;
    f->locations[2].pre = 2001; /* r2 */
    f->locations[2].post = 2002;
    f->replen[0].source = src;
    assert_int_equal(fx_prepare(f), 0);
    assert_int_equal(pl_replenish(f->ws, &f->w, NULL, 0, NULL, PL_NONE, mv, 16, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mv[0].quant, 2);
    assert_int_equal(mv[0].qty, 12);
    assert_int_equal(f->quants[1].reserved, 0);
    /* the subtree without stock: short, r1 untouched */
    f->quants[2].on_hand = 0;
    f->quants[2].reserved = 0;
    assert_int_equal(fx_prepare(f), 0);
    assert_int_equal(pl_replenish(f->ws, &f->w, NULL, 0, NULL, PL_NONE, mv, 16, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mv[0].quant, PL_NONE);
    assert_int_equal(mv[0].reason.code, PL_R_REPLEN_NO_SOURCE);
    assert_int_equal(mv[0].reason.b, 0);
    assert_int_equal(f->quants[1].reserved, 0);
    /* PL_NONE: any reserve location, r1 first */
    f->replen[0].source = PL_NONE;
    f->quants[2].on_hand = 30;
    assert_int_equal(fx_prepare(f), 0);
    assert_int_equal(pl_replenish(f->ws, &f->w, NULL, 0, NULL, PL_NONE, mv, 16, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mv[0].quant, 1);
    /* a source that is no location is refused by the check */
    f->replen[0].source = f->w.n_locations;
    assert_int_equal(pl_world_check(&f->w, NULL, 0), WCS_E_UNKNOWN);
    fx_free(f);
}

static void test_replen_for_wave_demand(void **state)
{
    struct pl_move mv[16];
    struct pl_wave waves[4];
    uint32_t wave_orders[4];
    struct pl_order_wave ow[4];
    struct pl_wave_out wo = {waves, wave_orders, ow, 4, 0, 0};
    uint32_t n = 0;
    (void)state;
    struct fx *f = replen_world(10, 30, 0);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, 0, 8, PL_NONE, 0); /* CLOSEST: taken from the face */
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->allocs[0].quant, 0);
    assert_int_equal(pl_wave(f->ws, &f->w, f->allocs, f->ro.n_allocs, &wo), 0);
    /* without the wave: the face holds 10 >= min 5 */
    assert_int_equal(
        pl_replenish(f->ws, &f->w, f->allocs, f->ro.n_allocs, NULL, PL_NONE, mv, 16, &n), 0);
    assert_int_equal(n, 0);
    /* with wave 0: 10 - 8 < 5, top up by (20 - 10) rounded down to 6 */
    assert_int_equal(pl_replenish(f->ws, &f->w, f->allocs, f->ro.n_allocs, &wo, 0, mv, 16, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mv[0].qty, 6);
    assert_int_equal(mv[0].quant, 1);
    assert_int_equal(mv[0].reason.code, PL_R_REPLEN_WAVE_DEMAND);
    assert_int_equal(mv[0].reason.a, 10);
    assert_int_equal(mv[0].reason.b, 8);
    assert_true(pl_replenish_bound(&f->w) >= 2);
    fx_free(f);
}

static void test_purchase_with_lead_time(void **state)
{
    struct pl_purchase out[4];
    uint32_t n = 0;
    (void)state;
    struct fx *f = fx_new();
    uint32_t p = fx_product(f, PL_FIFO), plenty = fx_product(f, PL_FIFO);
    uint32_t l = fx_loc(f, 1, 1, 1), q = fx_loc(f, 1, 1, 2);
    f->locations[q].usage = PL_USAGE_QUALITY;
    fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 0, 10);
    fx_quant(f, p, q, PL_NONE, PL_NO_EXPIRY, 0, 100); /* held: not free stock */
    fx_quant(f, plenty, l, PL_NONE, PL_NO_EXPIRY, 0, 100);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, p, 13, PL_NONE, 0); /* 10 reserved, 3 backordered: free = -3 */
    f->purchase[0] = (struct pl_purchase_rule){p, 7, 5, 20, 12};
    f->purchase[1] = (struct pl_purchase_rule){plenty, 3, 5, 20, 1};
    f->w.n_purchase_rules = 2;
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(pl_purchase(f->ws, &f->w, f->backorders, f->ro.n_backorders, out, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].product, p);
    assert_int_equal(out[0].qty, 24); /* 20 - (-3) = 23, rounded up to 12s */
    assert_int_equal(out[0].order_day, DAY0);
    assert_int_equal(out[0].due_day, DAY0 + 7);
    assert_int_equal(out[0].reason.code, PL_R_PURCHASE_BELOW_MIN);
    assert_int_equal(out[0].reason.a, -3);
    assert_int_equal(pl_purchase(f->ws, &f->w, f->backorders, f->ro.n_backorders, out, 0, &n),
                     WCS_E_EXHAUSTED);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_putaway_preferences_and_capacity),
        cmocka_unit_test(test_putaway_rules_and_running_capacity),
        cmocka_unit_test(test_replen_min_max_multiples),
        cmocka_unit_test(test_putaway_units_weight_volume),
        cmocka_unit_test(test_replen_from_source_subtree),
        cmocka_unit_test(test_replen_for_wave_demand),
        cmocka_unit_test(test_purchase_with_lead_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
