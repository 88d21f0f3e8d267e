/* Unit tests of short_plan (wcs/command/short.c): the planner's reserve stage re-reserving a
 * short pick's missing units over the SKU's quants of the pick tests' site (no I/O but the
 * config file): the shorted quant left out, reserved units respected, the line's lot kept, the
 * product's removal strategy (FIFO here), what no quant covers backordered, path order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "short.h"

#include <string.h>

static struct cfg_site *CFG;

#define NOW_S 1767225600 /* 2026-01-01 */

static int setup(void **state)
{
    struct cfg_errors e;
    (void)state;
    cfg_errors_init(&e);
    if (cfg_load(&CFG, SITE_YAML, &e) != 0)
        return -1;
    cfg_errors_fini(&e);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cfg_free(CFG);
    return 0;
}

static const struct short_quant P2Q[] = {
    {"k3", "P2", "WH1/Stock/A/3", "", "", "2024-01-01", 3, 1},
    {"k4", "P2", "WH1/Stock/A/4", "", "", "2024-01-01", 5, 0},
    {"k2", "P2", "WH1/Stock/A/2", "", "", "2024-01-01", 2, 0},
    {"kx", "P1", "WH1/Stock/A/1", "", "", "2024-01-01", 9, 0},
};

static struct short_need need(const char *sku, int64_t qty, const char *skip, const char *lot)
{
    return (struct short_need){.order = "SO1",
                               .carrier = "DHL",
                               .sku = sku,
                               .line_lot = lot,
                               .qty = qty,
                               .skip_key = skip};
}

static void test_covered_in_path_order(void **state)
{
    struct short_alloc out[8];
    size_t n;
    int64_t bo;
    char msg[256];
    struct short_need nd = need("P2", 6, "k3", "");
    (void)state;
    assert_int_equal(short_plan(CFG, NOW_S, &nd, P2Q, 4, out, 8, &n, &bo, msg, sizeof(msg)), 0);
    assert_int_equal(bo, 0);
    assert_int_equal(n, 2);
    /* A/2 before A/4 along the path, whatever the removal order chose first. */
    assert_int_equal(out[0].quant, 2);
    assert_int_equal(out[1].quant, 1);
    assert_int_equal(out[0].qty + out[1].qty, 6);
}

static void test_backorder_rest(void **state)
{
    struct short_alloc out[8];
    size_t n;
    int64_t bo;
    char msg[256];
    struct short_need nd = need("P2", 10, "k4", "");
    (void)state;
    assert_int_equal(short_plan(CFG, NOW_S, &nd, P2Q, 4, out, 8, &n, &bo, msg, sizeof(msg)), 0);
    /* k3 has 2 free (1 reserved), k2 has 2: 4 re-reserved, 6 backordered, k4 never used. */
    assert_int_equal(bo, 6);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(out[i].quant, 1);
        assert_int_not_equal(out[i].quant, 3);
        sum += out[i].qty;
    }
    assert_int_equal(sum, 4);
    /* Capacity 1: the second quant's units are backordered too. */
    assert_int_equal(short_plan(CFG, NOW_S, &nd, P2Q, 4, out, 1, &n, &bo, msg, sizeof(msg)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(bo, 8);
}

static void test_lot_and_removal(void **state)
{
    static const struct short_quant lq[] = {
        {"a", "L1", "WH1/Stock/A/1", "LOT1", "2030-12-31", "2024-01-01", 4, 0},
        {"b", "L1", "WH1/Stock/A/2", "LOT2", "2029-06-30", "2024-03-01", 4, 0},
        {"c", "L1", "WH1/Stock/A/3", "LOT3", "2031-01-31", "2023-01-01", 4, 0},
    };
    struct short_alloc out[8];
    size_t n;
    int64_t bo;
    char msg[256];
    struct short_need nd = need("L1", 3, "zz", "");
    (void)state;
    assert_int_equal(short_plan(CFG, NOW_S, &nd, lq, 3, out, 8, &n, &bo, msg, sizeof(msg)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].quant, 2); /* FIFO (the site's default removal): the oldest */
    assert_int_equal(bo, 0);
    nd = need("L1", 6, "zz", "LOT3");
    assert_int_equal(short_plan(CFG, NOW_S, &nd, lq, 3, out, 8, &n, &bo, msg, sizeof(msg)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].quant, 2); /* the line's lot only */
    assert_int_equal(out[0].qty, 4);
    assert_int_equal(bo, 2);
}

static void test_unknown_carrier(void **state)
{
    struct short_alloc out[8];
    size_t n = 9;
    int64_t bo = 0;
    char msg[256] = "";
    struct short_need nd = need("P2", 2, "k3", "");
    (void)state;
    nd.carrier = "UPS";
    assert_true(short_plan(CFG, NOW_S, &nd, P2Q, 4, out, 8, &n, &bo, msg, sizeof(msg)) < 0);
    assert_int_equal(n, 0);
    assert_int_equal(bo, 2);
    assert_non_null(strstr(msg, "carrier"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_covered_in_path_order),
        cmocka_unit_test(test_backorder_rest),
        cmocka_unit_test(test_lot_and_removal),
        cmocka_unit_test(test_unknown_carrier),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
