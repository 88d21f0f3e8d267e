/* Unit tests for planner reservation: each removal strategy and its edges (ties, exact fit,
 * expiry on the boundary day, DD=00 dates, lots split across locations), backorder causes,
 * priorities and urgent backorders, non-stock locations, short pick re-reservation, capacity
 * errors, validation and reason sentences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

static void test_fifo_oldest_first_and_tie_by_quant(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), l = fx_loc(f, 1, 1, 10);
    uint32_t q_new = fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 3000, 5);
    uint32_t q_old_b = fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 1000, 5);
    uint32_t q_old_a = fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 1000, 5);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, p, 7, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    /* same in-date: the lower quant index first */
    assert_int_equal(f->ro.n_allocs, 2);
    assert_int_equal(f->allocs[0].quant, q_old_b);
    assert_int_equal(f->allocs[0].qty, 5);
    assert_int_equal(f->allocs[0].reason.code, PL_R_FIFO_OLDEST);
    assert_int_equal(f->allocs[0].reason.a, 1000);
    assert_int_equal(f->allocs[1].quant, q_old_a);
    assert_int_equal(f->allocs[1].qty, 2);
    assert_int_equal(f->quants[q_new].reserved, 0);
    assert_int_equal(f->ro.n_backorders, 0);
    fx_free(f);
}

static void test_lifo_newest_first(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_LIFO), l = fx_loc(f, 1, 1, 10);
    fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 1000, 5);
    uint32_t q_new = fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 9000, 5);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, p, 5, PL_NONE, 0); /* exact fit of the newest quant */
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 1);
    assert_int_equal(f->allocs[0].quant, q_new);
    assert_int_equal(f->allocs[0].qty, 5);
    assert_int_equal(f->allocs[0].reason.code, PL_R_LIFO_NEWEST);
    assert_int_equal(f->quants[q_new].reserved, f->quants[q_new].on_hand);
    fx_free(f);
}

static void test_fefo_expiry_then_in_date(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_FEFO), l = fx_loc(f, 1, 1, 10);
    uint32_t q_late = fx_quant(f, p, l, PL_NONE, DAY0 + 90, 100, 10);
    uint32_t q_soon_new = fx_quant(f, p, l, PL_NONE, DAY0 + 30, 500, 3);
    uint32_t q_soon_old = fx_quant(f, p, l, PL_NONE, DAY0 + 30, 200, 3);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, p, 8, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 3);
    assert_int_equal(f->allocs[0].quant, q_soon_old);
    assert_int_equal(f->allocs[1].quant, q_soon_new);
    assert_int_equal(f->allocs[2].quant, q_late);
    assert_int_equal(f->allocs[2].qty, 2);
    assert_int_equal(f->allocs[0].reason.code, PL_R_FEFO_EARLIEST_EXPIRY);
    assert_int_equal(f->allocs[0].reason.a, DAY0 + 30);
    assert_int_equal(f->allocs[0].reason.b, DAY0); /* ship today, no margin */
    fx_free(f);
}

static void test_fefo_boundary_day_and_margin(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_FEFO), l = fx_loc(f, 1, 1, 10);
    f->products[p].expiry_margin_days = 10;
    /* ship day DAY0+2, margin 10: expiry must be >= DAY0+12 */
    uint32_t q_day_before = fx_quant(f, p, l, PL_NONE, DAY0 + 11, 100, 4);
    uint32_t q_on_day = fx_quant(f, p, l, PL_NONE, DAY0 + 12, 100, 4);
    uint32_t q_expired = fx_quant(f, p, l, PL_NONE, DAY0 - 1, 50, 4);
    fx_order(f, 0, 0, MIN0 + 600, DAY0 + 2);
    uint32_t ln = fx_line(f, p, 6, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 1);
    assert_int_equal(f->allocs[0].quant, q_on_day);
    assert_int_equal(f->allocs[0].qty, 4);
    assert_int_equal(f->allocs[0].reason.b, DAY0 + 12);
    assert_int_equal(f->quants[q_day_before].reserved, 0);
    assert_int_equal(f->quants[q_expired].reserved, 0);
    assert_int_equal(f->ro.n_backorders, 1);
    assert_int_equal(f->backorders[0].line, ln);
    assert_int_equal(f->backorders[0].qty, 2);
    assert_int_equal(f->backorders[0].reason.code, PL_R_SHORT_EXPIRED_ONLY);
    assert_int_equal(f->backorders[0].reason.a, 4);
    assert_int_equal(f->backorders[0].reason.b, DAY0 + 12);
    fx_free(f);
}

static void test_expiry_applies_to_fifo_too(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), l = fx_loc(f, 1, 1, 10);
    uint32_t q_old_expired = fx_quant(f, p, l, PL_NONE, DAY0 - 1, 10, 5);
    uint32_t q_old_too_soon = fx_quant(f, p, l, PL_NONE, DAY0 + 1, 20, 5);
    uint32_t q_ok = fx_quant(f, p, l, PL_NONE, DAY0 + 5, 30, 5);
    fx_order(f, 0, 0, MIN0 + 600, DAY0 + 3);
    fx_line(f, p, 5, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 1);
    assert_int_equal(f->allocs[0].quant, q_ok);
    assert_int_equal(f->quants[q_old_expired].reserved, 0);
    assert_int_equal(f->quants[q_old_too_soon].reserved, 0);
    fx_free(f);
}

static void test_dd00_is_last_day_of_month(void **state)
{
    int32_t d, d2;
    (void)state;
    assert_int_equal(pl_day_from_ymd(1970, 1, 1, &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(pl_day_from_ymd(2024, 2, 0, &d), 0);
    assert_int_equal(pl_day_from_ymd(2024, 2, 29, &d2), 0);
    assert_int_equal(d, d2); /* leap February */
    assert_int_equal(pl_day_from_ymd(2023, 2, 0, &d), 0);
    assert_int_equal(pl_day_from_ymd(2023, 2, 28, &d2), 0);
    assert_int_equal(d, d2);
    assert_int_equal(pl_day_from_ymd(2100, 2, 0, &d), 0); /* 2100 is not a leap year */
    assert_int_equal(pl_day_from_ymd(2100, 2, 28, &d2), 0);
    assert_int_equal(d, d2);
    assert_int_equal(pl_day_from_ymd(2026, 12, 0, &d), 0);
    assert_int_equal(pl_day_from_ymd(2026, 12, 31, &d2), 0);
    assert_int_equal(d, d2);
    assert_int_equal(pl_day_from_ymd(2000, 3, 1, &d), 0);
    assert_int_equal(d, 11017);
    d = 7;
    assert_int_equal(pl_day_from_ymd(2023, 2, 29, &d), WCS_E_RANGE);
    assert_int_equal(pl_day_from_ymd(2023, 13, 1, &d), WCS_E_RANGE);
    assert_int_equal(pl_day_from_ymd(2023, 4, 31, &d), WCS_E_RANGE);
    assert_int_equal(pl_day_from_ymd(1969, 12, 31, &d), WCS_E_RANGE);
    assert_int_equal(d, 7);

    /* An expiry given as 2024-10-00 (= 2024-10-31) is good for an order shipping that day. */
    struct fx *f = fx_new();
    int32_t exp, ship;
    assert_int_equal(pl_day_from_ymd(2024, 10, 0, &exp), 0);
    assert_int_equal(pl_day_from_ymd(2024, 10, 31, &ship), 0);
    uint32_t p = fx_product(f, PL_FEFO), l = fx_loc(f, 1, 1, 1);
    fx_quant(f, p, l, PL_NONE, exp, 0, 3);
    fx_order(f, 0, 0, MIN0 + 600, ship);
    fx_line(f, p, 2, PL_NONE, 0);
    fx_order(f, 0, 0, MIN0 + 600, ship + 1);
    fx_line(f, p, 1, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(fx_reserved_for(f, 0), 2);
    assert_int_equal(fx_backordered(f, 1), 1);
    assert_int_equal(f->backorders[0].reason.code, PL_R_SHORT_EXPIRED_ONLY);
    assert_int_equal(f->backorders[0].reason.b, ship + 1);
    fx_free(f);
}

static void test_closest_by_pick_seq(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_CLOSEST);
    uint32_t far = fx_loc(f, 1, 3, 300), near = fx_loc(f, 1, 1, 5), mid = fx_loc(f, 1, 2, 50);
    fx_quant(f, p, far, PL_NONE, PL_NO_EXPIRY, 0, 10);
    uint32_t qn = fx_quant(f, p, near, PL_NONE, PL_NO_EXPIRY, 0, 2);
    uint32_t qm = fx_quant(f, p, mid, PL_NONE, PL_NO_EXPIRY, 0, 2);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, p, 3, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 2);
    assert_int_equal(f->allocs[0].quant, qn);
    assert_int_equal(f->allocs[0].reason.code, PL_R_CLOSEST_PICK_SEQ);
    assert_int_equal(f->allocs[0].reason.a, 5);
    assert_int_equal(f->allocs[1].quant, qm);
    assert_int_equal(f->allocs[1].qty, 1);
    fx_free(f);
}

static void test_lot_split_across_locations(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_FEFO);
    uint32_t l1 = fx_loc(f, 1, 1, 1), l2 = fx_loc(f, 1, 2, 2);
    fx_quant(f, p, l1, 7, DAY0 + 10, 0, 4); /* earlier expiry, other lot */
    uint32_t qa = fx_quant(f, p, l1, 9, DAY0 + 50, 0, 3);
    uint32_t qb = fx_quant(f, p, l2, 9, DAY0 + 50, 0, 3);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    uint32_t ln = fx_line(f, p, 5, 9, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 2);
    assert_int_equal(f->allocs[0].quant, qa);
    assert_int_equal(f->allocs[0].qty, 3);
    assert_int_equal(f->allocs[1].quant, qb);
    assert_int_equal(f->allocs[1].qty, 2);
    assert_int_equal(f->allocs[0].reason.code, PL_R_LOT_REQUESTED);
    assert_int_equal(f->allocs[0].reason.a, 9);
    assert_int_equal(fx_backordered(f, ln), 0);
    fx_free(f);
}

static void test_lot_not_found_and_serial(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), l = fx_loc(f, 1, 1, 1);
    f->products[p].tracking = PL_TRACK_SERIAL;
    fx_quant(f, p, l, 100, PL_NO_EXPIRY, 0, 1);
    uint32_t s101 = fx_quant(f, p, l, 101, PL_NO_EXPIRY, 5, 1);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    uint32_t l_serial = fx_line(f, p, 1, 101, 0);
    uint32_t l_missing = fx_line(f, p, 1, 555, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 1);
    assert_int_equal(f->allocs[0].line, l_serial);
    assert_int_equal(f->allocs[0].quant, s101);
    assert_int_equal(f->ro.n_backorders, 1);
    assert_int_equal(f->backorders[0].line, l_missing);
    assert_int_equal(f->backorders[0].reason.code, PL_R_SHORT_LOT_NOT_FOUND);
    assert_int_equal(f->backorders[0].reason.ref, 555);
    fx_free(f);
}

static void test_non_stock_locations_never_used(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO);
    const uint8_t usages[] = {PL_USAGE_VIEW,    PL_USAGE_INPUT, PL_USAGE_QUALITY, PL_USAGE_OUTPUT,
                              PL_USAGE_TRANSIT, PL_USAGE_LOSS,  PL_USAGE_SCRAP};
    for (unsigned i = 0; i < sizeof(usages); i++) {
        uint32_t l = fx_loc(f, 1, 1, i);
        f->locations[l].usage = usages[i];
        fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 0, 10);
    }
    uint32_t blocked = fx_loc(f, 1, 1, 99); /* stock usage but not a source */
    f->locations[blocked].is_stock = 0;
    fx_quant(f, p, blocked, PL_NONE, PL_NO_EXPIRY, 0, 10);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, p, 3, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 0);
    assert_int_equal(f->ro.n_backorders, 1);
    assert_int_equal(f->backorders[0].qty, 3);
    assert_int_equal(f->backorders[0].reason.code, PL_R_SHORT_NON_STOCK_ONLY);
    assert_int_equal(f->backorders[0].reason.b, 80);
    for (uint32_t q = 0; q < f->w.n_quants; q++)
        assert_int_equal(f->quants[q].reserved, 0);
    fx_free(f);
}

static void test_short_causes(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p_none = fx_product(f, PL_FIFO), p_res = fx_product(f, PL_FIFO);
    uint32_t l = fx_loc(f, 1, 1, 1);
    uint32_t q = fx_quant(f, p_res, l, PL_NONE, PL_NO_EXPIRY, 0, 10);
    f->quants[q].reserved = 8; /* reserved by an earlier plan */
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    uint32_t a = fx_line(f, p_none, 2, PL_NONE, 0);
    uint32_t b = fx_line(f, p_res, 5, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(fx_reserved_for(f, b), 2);
    assert_int_equal(f->quants[q].reserved, 10);
    assert_int_equal(f->ro.n_backorders, 2);
    assert_int_equal(f->backorders[0].line, a);
    assert_int_equal(f->backorders[0].reason.code, PL_R_SHORT_NO_STOCK);
    assert_int_equal(f->backorders[1].line, b);
    assert_int_equal(f->backorders[1].qty, 3);
    assert_int_equal(f->backorders[1].reason.code, PL_R_SHORT_RESERVED);
    assert_int_equal(f->backorders[1].reason.a, 2);
    assert_int_equal(f->backorders[1].reason.b, 10);
    fx_free(f);
}

static void test_priority_and_urgent_backorders_first(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), l = fx_loc(f, 1, 1, 1);
    fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 0, 6);
    fx_order(f, 0, 0, MIN0 + 100, DAY0); /* early cutoff, normal */
    uint32_t normal_early = fx_line(f, p, 2, PL_NONE, 0);
    fx_order(f, 0, 0, MIN0 + 900, DAY0); /* late cutoff, normal, holds the urgent line */
    uint32_t normal_late = fx_line(f, p, 2, PL_NONE, 0);
    uint32_t urgent = fx_line(f, p, 2, PL_NONE, 1);
    fx_order(f, 5, 0, MIN0 + 999, DAY0); /* priority order */
    uint32_t prio = fx_line(f, p, 2, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    /* sequence: urgent, priority, early cutoff; the late-cutoff normal line is short */
    assert_int_equal(f->allocs[0].line, urgent);
    assert_int_equal(f->allocs[1].line, prio);
    assert_int_equal(f->allocs[2].line, normal_early);
    assert_int_equal(fx_reserved_for(f, normal_late), 0);
    assert_int_equal(fx_backordered(f, normal_late), 2);
    fx_free(f);
}

static void test_short_pick_rereserves_elsewhere(void **state)
{
    struct fx *f = fx_new();
    struct pl_reason ev;
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO);
    uint32_t la = fx_loc(f, 1, 1, 1), lb = fx_loc(f, 1, 2, 2);
    uint32_t qa = fx_quant(f, p, la, PL_NONE, PL_NO_EXPIRY, 100, 5);
    uint32_t qb = fx_quant(f, p, lb, PL_NONE, PL_NO_EXPIRY, 200, 10);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    uint32_t ln = fx_line(f, p, 4, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(f->ro.n_allocs, 1);
    assert_int_equal(f->allocs[0].quant, qa);
    /* the picker finds 1 of 4 at la */
    assert_int_equal(pl_short_pick(f->ws, &f->w, &f->ro, 0, 4, &ev), WCS_E_RANGE);
    assert_int_equal(pl_short_pick(f->ws, &f->w, &f->ro, 7, 1, &ev), WCS_E_RANGE);
    assert_int_equal(pl_short_pick(f->ws, &f->w, &f->ro, 0, 1, &ev), 0);
    assert_int_equal(ev.code, PL_R_QUANT_MISSING);
    assert_int_equal(ev.ref, qa);
    assert_int_equal(ev.a, 3);
    assert_int_equal(f->allocs[0].qty, 1);
    assert_int_equal(f->quants[qa].on_hand, 2);
    assert_int_equal(f->quants[qa].reserved, 1);
    assert_int_equal(f->quants[qa].missing, 3);
    assert_int_equal(f->ro.n_allocs, 2);
    assert_int_equal(f->allocs[1].quant, qb); /* qa still shows 1 free, but it is suspect */
    assert_int_equal(f->allocs[1].qty, 3);
    assert_true(f->allocs[1].reason.flags & PL_RF_AFTER_SHORT_PICK);
    assert_int_equal(fx_reserved_for(f, ln), 4);
    assert_int_equal(f->ro.n_backorders, 0);
    fx_free(f);
}

static void test_short_pick_backorders_rest(void **state)
{
    struct fx *f = fx_new();
    struct pl_reason ev;
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), l = fx_loc(f, 1, 1, 1);
    uint32_t qa = fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 100, 5);
    uint32_t qb = fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 200, 1);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    uint32_t ln = fx_line(f, p, 5, PL_NONE, 0);
    assert_int_equal(fx_reserve(f), 0);
    assert_int_equal(pl_short_pick(f->ws, &f->w, &f->ro, 0, 0, &ev), 0);
    assert_int_equal(f->quants[qa].on_hand, 0);
    assert_int_equal(f->quants[qa].reserved, 0);
    assert_int_equal(f->quants[qb].reserved, 1);
    assert_int_equal(fx_reserved_for(f, ln), 1);
    assert_int_equal(fx_backordered(f, ln), 4);
    assert_int_equal(f->backorders[0].reason.code, PL_R_SHORT_RESERVED);
    assert_true(f->backorders[0].reason.flags & PL_RF_AFTER_SHORT_PICK);
    fx_free(f);
}

static void test_capacity_exhausted_restores(void **state)
{
    struct fx *f = fx_new();
    uint32_t ba, bb;
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), l = fx_loc(f, 1, 1, 1);
    for (int i = 0; i < 4; i++)
        fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, i, 1);
    fx_order(f, 0, 0, MIN0 + 600, DAY0);
    fx_line(f, p, 3, PL_NONE, 0);
    fx_line(f, p, 3, PL_NONE, 0);
    assert_int_equal(fx_prepare(f), 0);
    pl_reserve_bounds(&f->w, &ba, &bb);
    assert_int_equal(ba, 6);
    assert_int_equal(bb, 2);
    f->ro.allocs = f->allocs;
    f->ro.backorders = f->backorders;
    f->ro.allocs_cap = 2;
    f->ro.backorders_cap = 2;
    assert_int_equal(pl_reserve(f->ws, &f->w, &f->ro), WCS_E_EXHAUSTED);
    assert_int_equal(f->ro.n_allocs, 0);
    for (uint32_t q = 0; q < f->w.n_quants; q++)
        assert_int_equal(f->quants[q].reserved, 0);
    f->ro.allocs_cap = 4;
    f->ro.backorders_cap = 0;
    assert_int_equal(pl_reserve(f->ws, &f->w, &f->ro), WCS_E_EXHAUSTED);
    f->ro.backorders_cap = 1;
    assert_int_equal(pl_reserve(f->ws, &f->w, &f->ro), 0);
    assert_int_equal(f->ro.n_allocs, 4);
    assert_int_equal(fx_backordered(f, 1), 2);
    fx_free(f);
}

static void test_world_check_names_the_field(void **state)
{
    struct fx *f = fx_new();
    char msg[200];
    (void)state;
    uint32_t p = fx_product(f, PL_FIFO), l = fx_loc(f, 1, 1, 1);
    uint32_t q = fx_quant(f, p, l, PL_NONE, PL_NO_EXPIRY, 0, 5);
    fx_order(f, 0, 0, MIN0, DAY0);
    uint32_t ln = fx_line(f, p, 1, PL_NONE, 0);
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), 0);
    f->quants[q].reserved = 6;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_RANGE);
    assert_non_null(strstr(msg, "quants[0].reserved"));
    f->quants[q].reserved = 0;
    f->quants[q].location = 9;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_UNKNOWN);
    assert_non_null(strstr(msg, "quants[0].location 9"));
    f->quants[q].location = l;
    f->lines[ln].qty = 0;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_RANGE);
    assert_non_null(strstr(msg, "lines[0].qty"));
    f->lines[ln].qty = 1;
    f->orders[0].n_lines = 0;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_RANGE);
    f->orders[0].n_lines = 1;
    f->orders[0].carrier = 99;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_UNKNOWN);
    f->orders[0].carrier = 0;
    f->locations[l].post = f->locations[l].pre;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_RANGE);
    f->locations[l].post = f->locations[l].pre + 1;
    f->products[p].removal = 9;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_RANGE);
    f->products[p].removal = PL_FIFO;
    f->products[p].weight_g = (1u << 24) + 1;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_RANGE);
    assert_non_null(strstr(msg, "products[0]: weight_g"));
    f->products[p].weight_g = 1u << 24;
    f->lines[ln].qty = (int64_t)1 << 31;
    assert_int_equal(pl_world_check(&f->w, msg, sizeof(msg)), WCS_E_RANGE);
    f->lines[ln].qty = 1;
    assert_int_equal(pl_world_check(&f->w, NULL, 0), 0);
    fx_free(f);
}

static void test_workspace_too_small(void **state)
{
    struct fx *f = fx_new();
    struct pl_workspace *ws = (struct pl_workspace *)(uintptr_t)1;
    _Alignas(16) char buf[64];
    (void)state;
    fx_product(f, PL_FIFO);
    assert_int_equal(pl_workspace_init(&ws, buf, 8, &f->w), WCS_E_EXHAUSTED);
    assert_int_equal(pl_workspace_init(&ws, buf + 1, sizeof(buf) - 1, &f->w), WCS_E_RANGE);
    assert_int_equal(pl_workspace_init(&ws, NULL, 1 << 20, &f->w), WCS_E_RANGE);
    assert_ptr_equal(ws, (struct pl_workspace *)(uintptr_t)1);
    fx_free(f);
}

/* A namer that knows quant 12, lot 7, order 3, zones 1 and 2, carrier 0 and putaway rule 2,
 * and leaves everything else to the planner's numbers. */
static int test_namer(void *ctx, enum pl_name_kind kind, uint64_t id, char *buf, size_t len)
{
    int *calls = ctx;
    (*calls)++;
    assert_true(len >= 2);
    switch (kind) {
    case PL_NAME_QUANT:
        return id == 12 ? snprintf(buf, len, "FD-1 lot L7 at WH1/A/01") : -1;
    case PL_NAME_LOT:
        return id == 7 ? snprintf(buf, len, "lot L7") : -1;
    case PL_NAME_ORDER:
        return id == 3 ? snprintf(buf, len, "order SO-3") : -1;
    case PL_NAME_ZONE:
        return id == 1 || id == 2 ? snprintf(buf, len, "zone %c", id == 1 ? 'A' : 'B') : -1;
    case PL_NAME_CARRIER:
        return id == 0 ? snprintf(buf, len, "DHL") : -1;
    case PL_NAME_PUTAWAY_RULE:
        /* longer than a phrase may be: cut, still terminated */
        if (id == 2) {
            memset(buf, 'x', len - 1);
            buf[len - 1] = '\0';
            return 1000;
        }
        return -1;
    default:
        return -1;
    }
}

static void test_reason_names(void **state)
{
    char buf[512];
    int calls = 0;
    struct pl_namer namer = {test_namer, &calls};
    struct pl_reason r = {PL_R_FEFO_EARLIEST_EXPIRY, 0, 12, 20000, 19999};
    (void)state;
    int n = pl_reason_text(&r, &namer, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "FEFO: FD-1 lot L7 at WH1/A/01 expires first (2024-10-04) among "
                             "stock good until at least 2024-10-03.");
    assert_int_equal(calls, 1);
    /* lot (in a) and quant (in ref) */
    r = (struct pl_reason){PL_R_LOT_REQUESTED, 0, 12, 7, 0};
    pl_reason_text(&r, &namer, buf, sizeof(buf));
    assert_string_equal(buf, "The line asks for lot L7; FD-1 lot L7 at WH1/A/01 holds it.");
    /* the namer declines: the planner's number */
    r = (struct pl_reason){PL_R_SHORT_LOT_NOT_FOUND, 0, 8, 2, 0};
    pl_reason_text(&r, &namer, buf, sizeof(buf));
    assert_string_equal(buf, "Short: lot 8 is not in any stock location (2 reserved).");
    /* three names in one sentence, one of them "no zone hint" */
    r = (struct pl_reason){PL_R_WAVE_ZONE_CHANGE, 0, 3, 2, 1};
    pl_reason_text(&r, &namer, buf, sizeof(buf));
    assert_string_equal(buf, "Wave closed: order SO-3 is for zone B, the wave for zone A.");
    r = (struct pl_reason){PL_R_WAVE_ZONE_CHANGE, 0, 4, PL_ZONE_ANY, 1};
    pl_reason_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "Wave closed: order 4 is for no zone, the wave for zone 1.");
    /* the carrier of a cutoff reason */
    r = (struct pl_reason){PL_R_WAVE_BY_CUTOFF, 0, 0, MIN0, 30};
    pl_reason_text(&r, &namer, buf, sizeof(buf));
    assert_string_equal(buf, "Waved by the DHL cutoff 2024-10-04 08:00 UTC with 30 minutes of "
                             "slack.");
    /* the cart closed for a named order */
    r = (struct pl_reason){PL_R_BATCH_FULL_WEIGHT, 0, 3, 130, 120};
    pl_reason_text(&r, &namer, buf, sizeof(buf));
    assert_string_equal(buf, "Cart closed: order SO-3 would make 130 g, over the cart's 120 g.");
    /* an overlong phrase is cut at 255 bytes */
    r = (struct pl_reason){PL_R_PUTAWAY_SAME_PRODUCT, 0, 2, 40, 0};
    n = pl_reason_text(&r, &namer, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen("Putaway () next to 40 units of the same product.") + 255);
    /* every code renders with a namer that always declines, as without one */
    for (unsigned c = 0; c < PL_R_COUNT; c++) {
        char plain[512];
        r = (struct pl_reason){(uint16_t)c, 0, 1000, 5, 6};
        pl_reason_text(&r, &namer, buf, sizeof(buf));
        pl_reason_format(&r, plain, sizeof(plain));
        assert_string_equal(buf, plain);
    }
}

static void test_reason_sentences(void **state)
{
    char buf[256];
    struct pl_reason r = {PL_R_FEFO_EARLIEST_EXPIRY, 0, 12, 20000, 19999};
    (void)state;
    int n = pl_reason_format(&r, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf,
                        "FEFO: quant 12 expires first (2024-10-04) among stock good until at least "
                        "2024-10-03.");
    r = (struct pl_reason){PL_R_WAVE_LATE_FOR_CUTOFF, PL_RF_LATE, PL_NONE, MIN0, MIN0 + 90};
    pl_reason_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "Late: the carrier cutoff 2024-10-04 08:00 UTC is before the earliest "
                             "dock time 2024-10-04 09:30 UTC; waved first.");
    r = (struct pl_reason){PL_R_SHORT_LOT_NOT_FOUND, PL_RF_AFTER_SHORT_PICK, 7, 2, 0};
    pl_reason_format(&r, buf, sizeof(buf));
    assert_string_equal(
        buf, "Short: lot 7 is not in any stock location (2 reserved) (after a short pick).");
    /* truncation: like snprintf */
    n = pl_reason_format(&r, buf, 10);
    assert_true(n > 10);
    assert_int_equal(strlen(buf), 9);
    assert_true(pl_reason_format(&r, NULL, 0) > 0);
    for (unsigned c = 0; c < PL_R_COUNT; c++) {
        r = (struct pl_reason){(uint16_t)c, 0, 1, 2, 3};
        assert_true(pl_reason_format(&r, buf, sizeof(buf)) > 10);
        assert_string_not_equal(pl_reason_name(c), "?");
    }
    assert_string_equal(pl_reason_name(PL_R_COUNT), "?");
    assert_string_equal(pl_reason_name(PL_R_WAVE_LATE_FOR_CUTOFF), "LATE_FOR_CUTOFF");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_oldest_first_and_tie_by_quant),
        cmocka_unit_test(test_lifo_newest_first),
        cmocka_unit_test(test_fefo_expiry_then_in_date),
        cmocka_unit_test(test_fefo_boundary_day_and_margin),
        cmocka_unit_test(test_expiry_applies_to_fifo_too),
        cmocka_unit_test(test_dd00_is_last_day_of_month),
        cmocka_unit_test(test_closest_by_pick_seq),
        cmocka_unit_test(test_lot_split_across_locations),
        cmocka_unit_test(test_lot_not_found_and_serial),
        cmocka_unit_test(test_non_stock_locations_never_used),
        cmocka_unit_test(test_short_causes),
        cmocka_unit_test(test_priority_and_urgent_backorders_first),
        cmocka_unit_test(test_short_pick_rereserves_elsewhere),
        cmocka_unit_test(test_short_pick_backorders_rest),
        cmocka_unit_test(test_capacity_exhausted_restores),
        cmocka_unit_test(test_world_check_names_the_field),
        cmocka_unit_test(test_workspace_too_small),
        cmocka_unit_test(test_reason_sentences),
        cmocka_unit_test(test_reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
