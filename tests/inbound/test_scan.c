/* Unit tests of the receiving scan parts (wcs/command/scan.c): scan forms (GS1 with AIM prefix,
 * FNC1, bracketed, written-out GS, EAN, plain GTIN), their refusals with exact texts, the GTIN
 * lookup, the receipt line choice, the over-receipt rule and the expiry margin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "scan.h"

#include <string.h>

static int parse(const char *s, struct scan_data *d, char *err)
{
    return scan_parse(s, strlen(s), 2026, d, err, 256);
}

static void test_forms(void **state)
{
    struct scan_data d;
    char err[256];
    (void)state;
    assert_int_equal(parse("]C10104006381333931172812311"
                           "0LOT1\x1d"
                           "3012",
                           &d, err),
                     0);
    assert_string_equal(d.gtin, "04006381333931");
    assert_string_equal(d.lot, "LOT1");
    assert_string_equal(d.expiry, "2028-12-31");
    assert_int_equal(d.qty, 12);
    assert_false(d.serial);
    /* The same with GS written out, and bracketed. */
    assert_int_equal(parse("]C10104006381333931172812311"
                           "0LOT1<gs>3012",
                           &d, err),
                     0);
    assert_int_equal(d.qty, 12);
    assert_int_equal(parse("(01)04006381333931(17)281231(10)LOT1(30)12", &d, err), 0);
    assert_string_equal(d.lot, "LOT1");
    /* FNC1 as a leading GS, serial AI 21, day 00 = last day of the month. */
    assert_int_equal(parse("\x1d"
                           "010400638133393117280200"
                           "21SN9",
                           &d, err),
                     0);
    assert_true(d.serial);
    assert_string_equal(d.lot, "SN9");
    assert_string_equal(d.expiry, "2028-02-29");
    /* A logistic unit: 02 with its count 37. */
    assert_int_equal(parse("]C102040123450000163724", &d, err), 0);
    assert_true(d.contained);
    assert_int_equal(d.qty, 24);
    /* EAN-13 symbol and a plain GTIN-13 / GTIN-8. */
    assert_int_equal(parse("]E04012345000016", &d, err), 0);
    assert_string_equal(d.gtin, "04012345000016");
    assert_int_equal(d.qty, 0);
    assert_int_equal(parse("4012345000016", &d, err), 0);
    assert_string_equal(d.gtin, "04012345000016");
    assert_int_equal(parse("96385074", &d, err), 0);
    assert_string_equal(d.gtin, "00000096385074");
}

static void test_refusals(void **state)
{
    struct scan_data d;
    char err[256];
    (void)state;
    assert_int_equal(parse("4012345000017", &d, err), WCS_E_CHECK);
    assert_string_equal(err, "scan: AI (01): check digit 6 expected, got 7");
    assert_int_equal(parse("ABC", &d, err), WCS_E_SYNTAX);
    assert_string_equal(err,
                        "scan: expected a GS1 element string or a GTIN of 8, 12, 13 or 14 digits");
    assert_int_equal(parse("]C110LOT1", &d, err), WCS_E_SYNTAX);
    assert_string_equal(err, "scan: no GTIN (AI 01 or 02)");
    assert_int_equal(parse("]C10204012345000016", &d, err), WCS_E_SYNTAX);
    assert_string_equal(err, "scan: AI (02) needs the count of AI (37)");
    assert_int_equal(parse("]C1010400638133393110A B", &d, err), WCS_E_SYNTAX);
    assert_int_equal(parse("]C101040063813339313000", &d, err), WCS_E_RANGE);
    assert_string_equal(err, "scan: AI (30): count 00 out of range 1..1073741824");
    assert_int_equal(parse("]C1010400638133393110L1\x1d"
                           "21S1",
                           &d, err),
                     WCS_E_SYNTAX);
    assert_string_equal(err, "scan: more than one lot or serial (AI 10, 21)");
    assert_int_equal(parse("", &d, err), WCS_E_SYNTAX);
    assert_string_equal(err, "scan: empty");
}

static void test_lines(void **state)
{
    struct scan_line l[] = {
        {"P1", "", 10, 10}, /* full, any lot */
        {"P1", "", 5, 0},   /* room, any lot */
        {"L1", "A", 5, 0},
        {"L1", "", 5, 0},
    };
    (void)state;
    assert_int_equal(scan_match_line(l, 4, "P1", ""), 1);
    assert_int_equal(scan_match_line(l, 4, "L1", "A"), 2); /* the line naming the lot first */
    assert_int_equal(scan_match_line(l, 4, "L1", "B"), 3);
    assert_int_equal(scan_match_line(l, 3, "L1", "B"), -1);
    assert_int_equal(scan_match_line(l, 4, "X", ""), -1);
    l[1].received = 5;
    assert_int_equal(scan_match_line(l, 2, "P1", ""), 0); /* both full: the lowest index */
}

static void test_over_and_expiry(void **state)
{
    struct scan_line l = {"P1", "", 10, 4};
    char err[256];
    (void)state;
    assert_int_equal(scan_check_over(&l, 0, 6, false, 0, err, sizeof(err)), 0);
    assert_int_equal(scan_check_over(&l, 0, 7, false, 10, err, sizeof(err)), WCS_E_RANGE);
    assert_string_equal(err, "over-receipt: line 0 (P1) expects 10, has 4, 7 more make 11; send "
                             "allow_over to take up to 11 (receiving.over_tolerance_pct 10)");
    assert_int_equal(scan_check_over(&l, 0, 7, true, 10, err, sizeof(err)), 0);
    assert_int_equal(scan_check_over(&l, 0, 8, true, 10, err, sizeof(err)), WCS_E_RANGE);
    assert_int_equal(scan_check_over(&l, 0, 7, true, 0, err, sizeof(err)), WCS_E_RANGE);
    assert_int_equal(scan_check_expiry("2026-12-27", "2026-11-27", 30, "L1", err, sizeof(err)), 0);
    assert_int_equal(scan_check_expiry("2026-12-26", "2026-11-27", 30, "L1", err, sizeof(err)),
                     WCS_E_RANGE);
    assert_string_equal(err, "expiry 2026-12-26 is before 2026-12-27 (today + expiry_margin_days "
                             "30 of L1)");
    assert_int_equal(scan_check_expiry("2026-11-26", "2026-11-27", 0, "L1", err, sizeof(err)),
                     WCS_E_RANGE);
    assert_string_equal(err, "expiry 2026-11-26 of L1 is past (today 2026-11-27)");
    assert_int_equal(scan_check_expiry("2029-02-29", "2026-11-27", 0, "L1", err, sizeof(err)),
                     WCS_E_SYNTAX);
}

static void test_find_product(void **state)
{
    const char *g1[] = {"4012345000016"}, *g2[] = {"96385074", "14012345000044"};
    struct cfg_product p[2] = {{.sku = "A", .gtins = g1, .n_gtins = 1},
                               {.sku = "B", .gtins = g2, .n_gtins = 2}};
    struct cfg_site site = {.products = p, .n_products = 2};
    (void)state;
    assert_ptr_equal(scan_find_product(&site, "04012345000016"), &p[0]);
    assert_ptr_equal(scan_find_product(&site, "00000096385074"), &p[1]);
    assert_ptr_equal(scan_find_product(&site, "14012345000044"), &p[1]);
    assert_null(scan_find_product(&site, "04012345000023"));
    assert_null(scan_find_product(&site, "4012345000016"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_lines),        cmocka_unit_test(test_over_and_expiry),
        cmocka_unit_test(test_find_product),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
