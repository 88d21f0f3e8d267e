/* Unit tests of the packing flow's pure rules (wcs/daemon/pack.h): station scan classification,
 * the session's contents and item verification (wrong product, lot, over-scan), the expected
 * weight and the tolerance bounds, the SSCC, and the persisted JSON (round trip and refusals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "config/config.h"
#include "command/scan.h"
#include "daemon/pack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char yaml[] =
    "site: {id: t, name: Test, timezone: UTC}\n"
    "products:\n"
    "  - {sku: SKU-A, name: A, gtins: [\"09506000134352\"], weight_g: 500}\n"
    "  - {sku: SKU-B, name: B, gtins: [\"4006381333931\"], weight_g: 250, tracking: lot}\n"
    "  - {sku: SKU-C, name: C, gtins: [\"5901234123457\"]}\n"
    "  - {sku: SKU-S, name: S, gtins: [\"09506000134390\"], tracking: serial}\n";

static struct cfg_site *site;

static int setup(void **state)
{
    struct cfg_errors e;
    (void)state;
    cfg_errors_init(&e);
    int rc = cfg_load_mem(&site, "unit.yaml", yaml, sizeof(yaml) - 1, &e);
    for (size_t i = 0; i < e.count; i++)
        fprintf(stderr, "%s\n", e.lines[i]);
    cfg_errors_fini(&e);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    cfg_free(site);
    return 0;
}

static void test_scan_parse(void **state)
{
    struct pack_scan s;
    const char gs1[] = "0109506000134352\x1d"
                       "10L7";
    (void)state;
    assert_int_equal(pack_scan_parse("]C1", gs1, strlen(gs1), &s), 0);
    assert_int_equal(s.kind, PACK_SCAN_ITEM);
    assert_string_equal(s.gtin, "09506000134352");
    assert_string_equal(s.lot, "L7");
    /* The lot last: no GS needed. */
    assert_int_equal(pack_scan_parse("]C1", "01040063813339311099", 20, &s), 0);
    assert_string_equal(s.gtin, "04006381333931");
    assert_string_equal(s.lot, "99");
    /* EAN-13 symbol, and the same digits as plain data. */
    assert_int_equal(pack_scan_parse("]E0", "4006381333931", 13, &s), 0);
    assert_string_equal(s.gtin, "04006381333931");
    assert_int_equal(pack_scan_parse("", "4006381333931", 13, &s), 0);
    assert_int_equal(s.kind, PACK_SCAN_ITEM);
    /* 13 digits with a wrong check digit are not a GTIN: an LPN of digits. */
    assert_int_equal(pack_scan_parse("", "4006381333932", 13, &s), 0);
    assert_int_equal(s.kind, PACK_SCAN_TOTE);
    assert_int_equal(pack_scan_parse("]C0", "T-17", 4, &s), 0);
    assert_int_equal(s.kind, PACK_SCAN_TOTE);
    assert_string_equal(s.tote, "T-17");
    assert_int_equal(pack_scan_parse("]C1", "00106141411234567897", 20, &s), 0);
    assert_int_equal(s.kind, PACK_SCAN_TOTE);
    assert_string_equal(s.tote, "106141411234567897");
    /* GS1 without 00 or 01; bad characters; a GS1 check digit error; empty. */
    assert_int_equal(pack_scan_parse("]C1", "10LOT", 5, &s), WCS_E_SYNTAX);
    assert_int_equal(pack_scan_parse("]C0", "T 1", 3, &s), WCS_E_SYNTAX);
    assert_int_equal(pack_scan_parse("]C1", "0109506000134353", 16, &s), WCS_E_SYNTAX);
    assert_int_equal(pack_scan_parse("]C0", "", 0, &s), WCS_E_SYNTAX);
}

/* The station's readings of what the shared decoder (scan_decode) returns: GS written out as
 * scan_parse takes it, a lot and a serial together (scan_parse refuses them), a lot that is no
 * store identifier kept for the verification to refuse, and the same classification as
 * scan_parse for a GTIN. */
static void test_scan_shared_decoder(void **state)
{
    struct pack_scan s;
    struct scan_data sd;
    char err[160];
    (void)state;
    const char *ws = "0109506000134352<GS>10L7", *wx = "0109506000134352\\x1d21SN7";
    const char *both = "0109506000134352\x1d"
                       "10L7\x1d"
                       "21SN7",
               *bad = "010950600013435210L!7";
    assert_int_equal(pack_scan_parse("]C1", ws, strlen(ws), &s), 0);
    assert_int_equal(s.kind, PACK_SCAN_ITEM);
    assert_string_equal(s.lot, "L7");
    assert_int_equal(pack_scan_parse("]C1", wx, strlen(wx), &s), 0);
    assert_string_equal(s.serial, "SN7");
    assert_int_equal(pack_scan_parse("]C1", both, strlen(both), &s), 0);
    assert_string_equal(s.lot, "L7");
    assert_string_equal(s.serial, "SN7");
    {
        char t[64];
        snprintf(t, sizeof(t), "]C1%s", both);
        assert_int_equal(scan_parse(t, strlen(t), 2026, &sd, err, sizeof(err)), WCS_E_SYNTAX);
    }
    assert_int_equal(pack_scan_parse("]C1", bad, strlen(bad), &s), 0);
    assert_int_equal(s.kind, PACK_SCAN_ITEM);
    assert_true(s.lot_invalid);
    assert_string_equal(s.lot, "");
    /* A plain GTIN-8 is the same item for both readers. */
    assert_int_equal(pack_scan_parse("", "12345670", 8, &s), 0);
    assert_int_equal(scan_parse("12345670", 8, 2026, &sd, err, sizeof(err)), 0);
    assert_string_equal(s.gtin, sd.gtin);
    /* A reader's prefix that is no AIM identifier is no LPN either. */
    assert_int_equal(pack_scan_parse("", "]!!T1", 5, &s), WCS_E_SYNTAX);
}

static void test_verify(void **state)
{
    struct pack_session s = {0};
    struct pack_scan a = {.kind = PACK_SCAN_ITEM, .gtin = "09506000134352"};
    struct pack_scan b = {.kind = PACK_SCAN_ITEM, .gtin = "04006381333931"};
    struct pack_scan c = {.kind = PACK_SCAN_ITEM, .gtin = "05901234123457"};
    struct pack_scan x = {.kind = PACK_SCAN_ITEM, .gtin = "04000000000006"};
    char why[200];
    size_t line = 99;
    (void)state;
    assert_int_equal(pack_add_tote(&s, "T1"), 0);
    assert_int_equal(pack_add_tote(&s, "T1"), WCS_E_DUPLICATE);
    assert_int_equal(pack_add_contents(&s, "SKU-A", "", 2), 0);
    assert_int_equal(pack_add_contents(&s, "SKU-B", "L7", 1), 0);
    assert_int_equal(pack_add_contents(&s, "SKU-A", "", 1), 0); /* merged */
    assert_int_equal(s.n_lines, 2);
    assert_int_equal(s.lines[0].qty, 3);
    assert_int_equal(pack_add_contents(&s, "SKU A", "", 1), -EINVAL);
    assert_int_equal(pack_add_contents(&s, "SKU-A", "", 0), -EINVAL);
    assert_int_equal(pack_units(&s), 4);

    assert_int_equal(pack_verify_item(&s, site, &c, &line, why, sizeof(why)), WCS_E_STATE);
    assert_non_null(strstr(why, "SKU-C is not in"));
    assert_int_equal(pack_verify_item(&s, site, &x, &line, why, sizeof(why)), WCS_E_UNKNOWN);
    assert_int_equal(pack_verify_item(&s, site, &b, &line, why, sizeof(why)), WCS_E_STATE);
    assert_non_null(strstr(why, "lot-tracked"));
    snprintf(b.lot, sizeof(b.lot), "L8");
    assert_int_equal(pack_verify_item(&s, site, &b, &line, why, sizeof(why)), WCS_E_STATE);
    assert_non_null(strstr(why, "lot L8"));
    snprintf(b.lot, sizeof(b.lot), "L7");
    assert_int_equal(pack_verify_item(&s, site, &b, &line, why, sizeof(why)), 0);
    assert_int_equal(line, 1);
    assert_int_equal(pack_verify_item(&s, site, &b, &line, why, sizeof(why)), WCS_E_STATE);
    assert_non_null(strstr(why, "already verified"));
    for (int i = 0; i < 3; i++) {
        assert_false(pack_all_verified(&s));
        assert_int_equal(pack_verify_item(&s, site, &a, &line, why, sizeof(why)), 0);
    }
    assert_true(pack_all_verified(&s));
    assert_int_equal(pack_verify_item(&s, site, &a, &line, why, sizeof(why)), WCS_E_STATE);
}

/* A serial-tracked product: AI 21 required, the line whose lot is the serial, once; items carry
 * the serial; the station's scan parser reads AI 21. */
static void test_serial_verify(void **state)
{
    struct pack_session s = {0};
    struct pack_scan n = {.kind = PACK_SCAN_ITEM, .gtin = "09506000134390"};
    struct pack_scan v;
    char why[200], buf[512];
    size_t line = 99;
    const char scan[] = "]C10109506000134390\x1d"
                        "21SN2";
    (void)state;
    assert_int_equal(pack_add_contents(&s, "SKU-S", "SN1", 1), 0);
    assert_int_equal(pack_add_contents(&s, "SKU-S", "SN2", 1), 0);
    assert_int_equal(pack_verify_item(&s, site, &n, &line, why, sizeof(why)), WCS_E_STATE);
    assert_string_equal(why,
                        "SKU-S is serial-tracked: scan the GS1 barcode with its serial (AI 21)");
    snprintf(n.serial, sizeof(n.serial), "SN9");
    assert_int_equal(pack_verify_item(&s, site, &n, &line, why, sizeof(why)), WCS_E_STATE);
    assert_string_equal(why, "serial SN9 of SKU-S is not in this order's totes");
    assert_int_equal(pack_scan_parse("", scan, strlen(scan), &v), 0);
    assert_int_equal(v.kind, PACK_SCAN_ITEM);
    assert_string_equal(v.serial, "SN2");
    assert_string_equal(v.lot, "");
    assert_int_equal(pack_verify_item(&s, site, &v, &line, why, sizeof(why)), 0);
    assert_int_equal(line, 1);
    assert_int_equal(pack_verify_item(&s, site, &v, &line, why, sizeof(why)), WCS_E_STATE);
    assert_string_equal(why, "serial SN2 of SKU-S is already verified");
    assert_false(pack_all_verified(&s));
    assert_true(pack_items_to_json(&s, site, buf, sizeof(buf)) > 0);
    assert_string_equal(buf,
                        "[{\"sku\":\"SKU-S\",\"lot\":\"SN1\",\"qty\":1,\"serials\":[\"SN1\"]},"
                        "{\"sku\":\"SKU-S\",\"lot\":\"SN2\",\"qty\":1,\"serials\":[\"SN2\"]}]");
}

static void test_weight(void **state)
{
    struct pack_session s = {0};
    int64_t mg = 0;
    char missing[64] = "";
    (void)state;
    assert_int_equal(pack_add_contents(&s, "SKU-A", "", 2), 0);
    assert_int_equal(pack_add_contents(&s, "SKU-B", "L7", 1), 0);
    assert_int_equal(pack_expected_mg(&s, site, 100, &mg, missing, sizeof(missing)), 0);
    assert_int_equal(mg, 1350000);
    assert_true(pack_weight_ok(1350000, 1350000, 5));
    assert_true(pack_weight_ok(1000000, 1050000, 5)); /* on the bound */
    assert_true(pack_weight_ok(1000000, 950000, 5));
    assert_false(pack_weight_ok(1000000, 1050001, 5));
    assert_false(pack_weight_ok(1000000, 949999, 5));
    assert_false(pack_weight_ok(1000000, -5, 5));
    assert_false(pack_weight_ok(0, 0, 5));
    assert_int_equal(pack_add_contents(&s, "SKU-C", "", 1), 0); /* no weight_g */
    assert_int_equal(pack_expected_mg(&s, site, 100, &mg, missing, sizeof(missing)), WCS_E_UNKNOWN);
    assert_string_equal(missing, "SKU-C");
}

static void test_sscc(void **state)
{
    char out[19];
    (void)state;
    /* GS1 General Specifications' example: (00) 1 0614141 123456789 7. */
    assert_int_equal(pack_sscc(1, "0614141", 123456789, out), 0);
    assert_string_equal(out, "106141411234567897");
    assert_int_equal(pack_sscc(0, "0614141", 1, out), 0);
    assert_int_equal(strlen(out), 18);
    assert_memory_equal(out, "00614141000000001", 17);
    assert_int_equal(pack_sscc(0, "0614141", 999999999, out), 0);
    assert_int_equal(pack_sscc(0, "0614141", 1000000000, out), WCS_E_RANGE); /* 9 digits */
    assert_int_equal(pack_sscc(0, "4012345678", 999999, out), 0);
    assert_int_equal(pack_sscc(0, "4012345678", 1000000, out), WCS_E_RANGE);
    assert_int_equal(pack_sscc(10, "0614141", 1, out), WCS_E_RANGE);
    assert_int_equal(pack_sscc(0, "061414", 1, out), WCS_E_RANGE);
    assert_int_equal(pack_sscc(0, "06141x1", 1, out), WCS_E_RANGE);
}

static void test_json(void **state)
{
    struct pack_session s = {0}, t = {0};
    char buf[1024];
    const char *bad[] = {
        "{}",
        "[{\"sku\":\"A\",\"lot\":\"\",\"qty\":0,\"verified\":0}]",
        "[{\"sku\":\"A\",\"lot\":\"\",\"qty\":1,\"verified\":2}]",
        "[{\"sku\":\"A B\",\"lot\":\"\",\"qty\":1,\"verified\":0}]",
        "[{\"sku\":\"A\",\"lot\":\"\",\"qty\":1,\"verified\":0,\"x\":1}]",
        "[{\"sku\":\"A\",\"lot\":\"\",\"qty\":1,\"verified\":0},"
        "{\"sku\":\"A\",\"lot\":\"\",\"qty\":2,\"verified\":0}]",
        "[{\"sku\":\"A\",\"lot\":\"\",\"qty\":\"1\",\"verified\":0}]",
    };
    (void)state;
    assert_int_equal(pack_add_tote(&s, "T1"), 0);
    assert_int_equal(pack_add_tote(&s, "T2"), 0);
    assert_int_equal(pack_add_contents(&s, "SKU-A", "", 2), 0);
    assert_int_equal(pack_add_contents(&s, "SKU-B", "L7", 1), 0);
    s.lines[0].verified = 1;
    assert_true(pack_lines_to_json(&s, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "[{\"sku\":\"SKU-A\",\"lot\":\"\",\"qty\":2,\"verified\":1},"
                             "{\"sku\":\"SKU-B\",\"lot\":\"L7\",\"qty\":1,\"verified\":0}]");
    assert_int_equal(pack_lines_from_json(&t, buf, strlen(buf)), 0);
    assert_int_equal(t.n_lines, 2);
    assert_int_equal(t.lines[0].verified, 1);
    assert_true(pack_items_to_json(&s, site, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "[{\"sku\":\"SKU-A\",\"lot\":\"\",\"qty\":2,\"serials\":[]},"
                             "{\"sku\":\"SKU-B\",\"lot\":\"L7\",\"qty\":1,\"serials\":[]}]");
    assert_true(pack_totes_to_json(&s, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "[\"T1\",\"T2\"]");
    assert_int_equal(pack_totes_from_json(&t, buf, strlen(buf)), 0);
    assert_int_equal(t.n_totes, 2);
    assert_int_equal(pack_totes_from_json(&t, "[\"T1\",\"T1\"]", 11), WCS_E_SYNTAX);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pack_session u = t;
        assert_int_equal(pack_lines_from_json(&u, bad[i], strlen(bad[i])), WCS_E_SYNTAX);
        assert_int_equal(u.n_lines, t.n_lines); /* untouched */
    }
    assert_int_equal(pack_lines_to_json(&s, buf, 10), WCS_E_EXHAUSTED);
    assert_string_equal(pack_step_name(PACK_STEP_WEIGH), "weigh");
    enum pack_step st;
    assert_int_equal(pack_step_parse("label", &st), 0);
    assert_int_equal(st, PACK_STEP_LABEL);
    assert_int_equal(pack_step_parse("x", &st), -EINVAL);
    s.step = PACK_STEP_LABEL;
    s.held = true;
    assert_string_equal(pack_packml_name(&s), "HELD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_parse), cmocka_unit_test(test_scan_shared_decoder),
        cmocka_unit_test(test_verify),     cmocka_unit_test(test_serial_verify),
        cmocka_unit_test(test_weight),     cmocka_unit_test(test_sscc),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
