/* Unit tests of the product-scan decoder (wcs/command/scan.c), the one receiving, returns and
 * picking use: scan forms (GS1 with AIM prefix ]C1/]d2/]Q3/]e0, FNC1, bracketed, written-out GS,
 * EAN, plain GTIN), their refusals with exact texts, the item rule of picks (no AI 02), GTIN
 * padding and lookup, the receipt line choice, the over-receipt rule and the expiry margin. */
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

static int item(const char *s, struct scan_data *d, char *err)
{
    return scan_parse_item(s, strlen(s), 2026, d, err, 256);
}

/* The forms RF pick scanners send, through the item decoder. */
static void test_item_forms(void **state)
{
    struct scan_data d;
    char err[256];
    (void)state;
    assert_int_equal(item("]C10109506000134352", &d, err), 0);
    assert_string_equal(d.gtin, "09506000134352");
    assert_string_equal(d.lot, "");
    assert_string_equal(d.expiry, "");
    assert_int_equal(item("]C101095060001343761730123110LOT1", &d, err), 0);
    assert_string_equal(d.gtin, "09506000134376");
    assert_string_equal(d.lot, "LOT1");
    assert_false(d.serial);
    assert_string_equal(d.expiry, "2030-12-31");
    assert_int_equal(item("(01)09506000134376(10)LOT-2.a(17)300200", &d, err), 0);
    assert_string_equal(d.lot, "LOT-2.a");
    assert_string_equal(d.expiry, "2030-02-28"); /* DD 00: the last day of the month */
    assert_int_equal(item("]d2\x1d"
                          "0109506000134376\x1d"
                          "10L9",
                          &d, err),
                     0);
    assert_string_equal(d.lot, "L9");
    assert_int_equal(item("]Q3"
                          "0109506000134376"
                          "10Q7",
                          &d, err),
                     0);
    assert_string_equal(d.lot, "Q7");
    assert_int_equal(item("9506000134369", &d, err), 0); /* EAN-13 digits, no identifier */
    assert_string_equal(d.gtin, "09506000134369");
    assert_int_equal(item("]E09506000134352", &d, err), 0);
    assert_string_equal(d.gtin, "09506000134352");
    assert_int_equal(item("\x1d"
                          "0109506000134352",
                          &d, err),
                     0); /* FNC1 in first position */
    assert_string_equal(d.gtin, "09506000134352");
    /* A serial is no lot: the pick check sees no AI 10. */
    assert_int_equal(item("]C1010950600013435221SN1", &d, err), 0);
    assert_true(d.serial);
    assert_string_equal(d.lot, "SN1");
}

static void test_item_refusals(void **state)
{
    struct scan_data d;
    char err[256];
    (void)state;
    assert_int_equal(item("]C10109506000134353", &d, err), WCS_E_CHECK);
    assert_string_equal(err, "scan: AI (01): check digit 2 expected, got 3");
    assert_int_equal(item("]C11012345", &d, err), WCS_E_SYNTAX);
    assert_string_equal(err, "scan: no GTIN (AI 01 or 02)");
    assert_int_equal(item("(01)09506000134352(10)A/B", &d, err), WCS_E_RANGE);
    assert_string_equal(err, "scan: AI (10): \"A/B\" is not a lot the store takes (1..63 of "
                             "[A-Za-z0-9_.-])");
    assert_int_equal(item("hello", &d, err), WCS_E_SYNTAX);
    assert_string_equal(err,
                        "scan: expected a GS1 element string or a GTIN of 8, 12, 13 or 14 digits");
    assert_int_equal(item("12345", &d, err), WCS_E_SYNTAX);
    assert_int_equal(item("", &d, err), WCS_E_SYNTAX);
    assert_string_equal(err, "scan: empty");
    /* Two GTINs, two lots, a count out of range: refused for picks too. */
    assert_int_equal(item("]C101095060001343520109506000134352", &d, err), WCS_E_SYNTAX);
    assert_string_equal(err, "scan: more than one GTIN (AI 01 or 02)");
    assert_int_equal(item("]C1010950600013435210A\x1d"
                          "10B",
                          &d, err),
                     WCS_E_SYNTAX);
    assert_string_equal(err, "scan: more than one lot or serial (AI 10, 21)");
    /* A logistic unit's contents is not the item in hand. */
    assert_int_equal(item("]C102040123450000163724", &d, err), WCS_E_SYNTAX);
    assert_string_equal(
        err, "scan: AI (02) names the contents of a logistic unit: scan the item (AI 01)");
    char big[300];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(item(big, &d, err), WCS_E_SYNTAX);
    assert_string_equal(err, "scan: longer than 256 bytes");
}

static void test_gtin14(void **state)
{
    char g[15];
    (void)state;
    assert_true(scan_gtin14("9506000134369", g));
    assert_string_equal(g, "09506000134369");
    assert_true(scan_gtin14("12345670", g));
    assert_string_equal(g, "00000012345670");
    assert_true(scan_gtin14("09506000134369", g));
    assert_false(scan_gtin14("1234567", g));
    assert_false(scan_gtin14("123456789012345", g));
    assert_false(scan_gtin14("12345678x", g));
    assert_false(scan_gtin14(NULL, g));
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
        cmocka_unit_test(test_forms),           cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_item_forms),      cmocka_unit_test(test_item_refusals),
        cmocka_unit_test(test_gtin14),          cmocka_unit_test(test_lines),
        cmocka_unit_test(test_over_and_expiry), cmocka_unit_test(test_find_product),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
