/* Unit tests of the pick scan decoder (wcs/command/scan.c): GS1-128 and Data Matrix with and
 * without AIM identifiers, the bracketed form, EAN-13 and plain GTIN digits, lots and expiry
 * dates, and the refusals (check digit, no GTIN, bad lot, not a barcode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "pickscan.h"

#include <string.h>

static struct pick_scan ok_scan(const char *scan)
{
    struct pick_scan s;
    char err[256] = "";
    int rc = pick_scan_decode(scan, 2025, &s, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: %d %s", scan, rc, err);
    return s;
}

static void bad_scan(const char *scan, const char *want)
{
    struct pick_scan s;
    char err[256] = "";
    assert_int_not_equal(pick_scan_decode(scan, 2025, &s, err, sizeof(err)), 0);
    assert_string_equal(err, want);
}

static void test_forms(void **state)
{
    struct pick_scan s;
    (void)state;
    s = ok_scan("]C10109506000134352");
    assert_string_equal(s.gtin, "09506000134352");
    assert_false(s.has_lot);
    assert_false(s.has_expiry);
    s = ok_scan("]C101095060001343761730123110LOT1");
    assert_string_equal(s.gtin, "09506000134376");
    assert_true(s.has_lot);
    assert_string_equal(s.lot, "LOT1");
    assert_true(s.has_expiry);
    assert_string_equal(s.expiry, "2030-12-31");
    s = ok_scan("(01)09506000134376(10)LOT-2.a(17)300200");
    assert_string_equal(s.lot, "LOT-2.a");
    assert_string_equal(s.expiry, "2030-02-28"); /* DD 00: the last day of the month */
    s = ok_scan("]d2\x1d"
                "0109506000134376\x1d"
                "10L9");
    assert_string_equal(s.lot, "L9");
    s = ok_scan("9506000134369"); /* EAN-13 digits without identifier */
    assert_string_equal(s.gtin, "09506000134369");
    s = ok_scan("]E09506000134352");
    assert_string_equal(s.gtin, "09506000134352");
    s = ok_scan("\x1d"
                "0109506000134352"); /* FNC1 in first position */
    assert_string_equal(s.gtin, "09506000134352");
}

static void test_refusals(void **state)
{
    (void)state;
    bad_scan("]C10109506000134353", "field \"scan\": AI (01): check digit 2 expected, got 3");
    bad_scan("]C11012345", "field \"scan\": no GTIN (AI 01) in the scan");
    bad_scan("(01)09506000134352(10)A/B", "field \"scan\": lot \"A/B\" is not 1..63 characters "
                                          "of [A-Za-z0-9_.-]");
    bad_scan("hello", "field \"scan\": expected a GS1 element string or the digits of a "
                      "GTIN-8/12/13/14");
    bad_scan("", "field \"scan\": expected 1..256 bytes of scan data");
    bad_scan("12345", "field \"scan\": expected a GS1 element string or the digits of a "
                      "GTIN-8/12/13/14");
}

static void test_gtin14(void **state)
{
    char g[15];
    (void)state;
    assert_true(pick_gtin14("9506000134369", g));
    assert_string_equal(g, "09506000134369");
    assert_true(pick_gtin14("12345670", g));
    assert_string_equal(g, "00000012345670");
    assert_false(pick_gtin14("1234567", g));
    assert_false(pick_gtin14("12345678x", g));
    assert_false(pick_gtin14(NULL, g));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_gtin14),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
