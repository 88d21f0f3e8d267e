/* Unit tests of the pure parts of counting, transfers and the audit: the scheduler's due dates
 * by ABC class (wcs/daemon/counting.h), the validators of count.submit and transfer.*
 * (wcs/command/validate.c) with their canonical JSON and error texts, and the audit's journal
 * bookkeeping and report (wcs/audit.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit.h"
#include "base/err.h"
#include "daemon/counting.h"
#include "validate.h"

#include <jansson.h>
#include <string.h>

static struct cfg_site *S;

static int setup(void **state)
{
    struct cfg_errors e;
    (void)state;
    cfg_errors_init(&e);
    if (cfg_load(&S, SITE_YAML, &e) != 0)
        return -1;
    cfg_errors_fini(&e);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cfg_free(S);
    return 0;
}

/* ---- due dates ---- */

static void test_due_by_class(void **state)
{
    const struct cfg_counting c = {true, 30, 90, 180, 10};
    const int64_t day = COUNTING_DAY_MS, t = 1767225600000LL;
    (void)state;
    assert_int_equal(counting_period_days(&c, CFG_ABC_A), 30);
    assert_int_equal(counting_period_days(&c, CFG_ABC_B), 90);
    assert_int_equal(counting_period_days(&c, CFG_ABC_C), 180);
    assert_int_equal(counting_period_days(&c, CFG_ABC_NONE), 180); /* no class: as C */
    assert_int_equal(counting_due_ms(&c, CFG_ABC_A, 0), 0);        /* never counted: now */
    assert_true(counting_due_ms(&c, CFG_ABC_A, t) == t + 30 * day);
    assert_true(counting_due_ms(&c, CFG_ABC_B, t) == t + 90 * day);
    assert_true(counting_due_ms(&c, CFG_ABC_NONE, t) == t + 180 * day);
    assert_int_equal(counting_higher(CFG_ABC_C, CFG_ABC_A), CFG_ABC_A);
    assert_int_equal(counting_higher(CFG_ABC_B, CFG_ABC_C), CFG_ABC_B);
    assert_int_equal(counting_higher(CFG_ABC_NONE, CFG_ABC_C), CFG_ABC_C);
    assert_int_equal(counting_higher(CFG_ABC_A, CFG_ABC_NONE), CFG_ABC_A);
}

static void test_day(void **state)
{
    char d[11];
    (void)state;
    counting_day(1767225600000LL, d);
    assert_string_equal(d, "2026-01-01");
    counting_day(1767225600000LL - 1, d);
    assert_string_equal(d, "2025-12-31");
    counting_day(1709164800000LL, d); /* leap day */
    assert_string_equal(d, "2024-02-29");
}

static void test_config_counting(void **state)
{
    (void)state;
    assert_true(S->counting.enabled);
    assert_int_equal(S->counting.a_days, 30);
    assert_int_equal(S->counting.daily_max, 3);
}

/* ---- validators ---- */

static int validate(const char *cmd, const char *body, struct cmd_args *a, char *err)
{
    json_t *j = json_loads(body, 0, NULL);
    int rc;
    assert_non_null(j);
    rc = cmd_validate(cmd, j, S, a, err, CMD_ERR_MAX);
    json_decref(j);
    return rc;
}

static void refuses(const char *cmd, const char *body, const char *want)
{
    struct cmd_args a;
    char err[CMD_ERR_MAX] = "";
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    assert_true(cmd_validate(cmd, j, S, &a, err, sizeof(err)) < 0);
    assert_string_equal(err, want);
    json_decref(j);
}

static void test_count_submit_fields(void **state)
{
    struct cmd_args a;
    char err[CMD_ERR_MAX];
    json_t *j = json_loads("{\"request_id\":\"r\",\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/"
                           "1\",\"counts\":[{\"sku\":\"PA\",\"qty\":3},{\"sku\":\"LT\",\"lot\":"
                           "\"L1\",\"qty\":0,\"unit_value_cents\":120}]}",
                           0, NULL);
    (void)state;
    assert_int_equal(cmd_validate("count.submit", j, S, &a, err, sizeof(err)), 0);
    assert_string_equal(a.id, "CNT-1");
    assert_string_equal(a.loc, "WH1/Stock/A/1");
    assert_string_equal(a.lines_json, "[{\"lot\":\"\",\"qty\":3,\"sku\":\"PA\",\"unit\":-1},"
                                      "{\"lot\":\"L1\",\"qty\":0,\"sku\":\"LT\",\"unit\":120}]");
    cmd_args_fini(&a);
    json_decref(j);
    assert_int_equal(validate("count.submit",
                              "{\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/1\",\"counts\":[]}",
                              &a, err),
                     0);
    assert_string_equal(a.lines_json, "[]");
    cmd_args_fini(&a);
    refuses("count.submit", "{\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/1\"}",
            "field \"counts\": missing");
    refuses("count.submit",
            "{\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/1\",\"counts\":[{\"sku\":\"PX\","
            "\"qty\":1}]}",
            "field \"counts[0].sku\": unknown product \"PX\"");
    refuses("count.submit",
            "{\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/1\",\"counts\":[{\"sku\":\"PA\","
            "\"lot\":\"L\",\"qty\":1}]}",
            "field \"counts[0].lot\": product PA is not tracked by lot or serial");
    refuses("count.submit",
            "{\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/1\",\"counts\":[{\"sku\":\"PA\","
            "\"qty\":1,\"colour\":1}]}",
            "field \"counts[0].colour\": unknown field (allowed: sku, lot, qty, "
            "unit_value_cents)");
    refuses("count.submit",
            "{\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/1\",\"counts\":[{\"sku\":\"LT\","
            "\"lot\":\"L1\",\"qty\":1},{\"sku\":\"LT\",\"lot\":\"L1\",\"qty\":2}]}",
            "field \"counts[1]\": LT lot L1 is listed twice (as counts[0])");
    refuses("count.submit", "{\"task\":\"CNT-1\",\"location\":\"WH1/Stock\",\"counts\":[]}",
            "field \"location\": WH1/Stock is a view location and holds no stock");
    refuses("count.submit", "{\"task\":\"C:1\",\"location\":\"WH1/Stock/A/1\",\"counts\":[]}",
            "field \"task\": expected 1..63 characters of [A-Za-z0-9_.-]");
}

static void test_transfer_fields(void **state)
{
    struct cmd_args a;
    char err[CMD_ERR_MAX];
    (void)state;
    json_t *body = json_loads("{\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":"
                              "\"WH2\",\"lines\":[{\"sku\":\"PA\",\"qty\":2},{\"sku\":\"LT\","
                              "\"qty\":1,\"lot\":\"L1\"}]}",
                              0, NULL);
    assert_int_equal(cmd_validate("transfer.create", body, S, &a, err, sizeof(err)), 0);
    assert_string_equal(S->locations[a.transit_loc].path, "WH1/Transit");
    assert_string_equal(S->locations[a.dest_loc].path, "WH2/Dock");
    assert_string_equal(a.from_wh, "WH1"); /* borrowed from the body */
    assert_string_equal(a.to_wh, "WH2");
    assert_string_equal(a.lines_json, "[{\"lot\":\"\",\"qty\":2,\"sku\":\"PA\"},{\"lot\":\"L1\","
                                      "\"qty\":1,\"sku\":\"LT\"}]");
    cmd_args_fini(&a);
    json_decref(body);
    /* WH3 has no input location: it receives into its first internal one. */
    assert_int_equal(validate("transfer.create",
                              "{\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":"
                              "\"WH3\",\"lines\":[{\"sku\":\"PA\",\"qty\":2}]}",
                              &a, err),
                     0);
    assert_string_equal(S->locations[a.dest_loc].path, "WH3/Stock");
    cmd_args_fini(&a);
    assert_int_equal(validate("transfer.receive", "{\"transfer\":\"T1\"}", &a, err), 0);
    assert_null(a.lines_json);
    cmd_args_fini(&a);
    refuses("transfer.create",
            "{\"transfer\":\"T1\",\"from_warehouse\":\"WH9\",\"to_warehouse\":\"WH2\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":2}]}",
            "field \"from_warehouse\": unknown warehouse \"WH9\"");
    refuses("transfer.create",
            "{\"transfer\":\"T1\",\"from_warehouse\":\"WH3\",\"to_warehouse\":\"WH2\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":2}]}",
            "field \"from_warehouse\": warehouse WH3 has no transit location (type: transit)");
    refuses("transfer.create",
            "{\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":0}]}",
            "field \"lines[0].qty\": expected an integer in 1..1073741824");
    refuses("transfer.create",
            "{\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":1},{\"sku\":\"PA\",\"qty\":2}]}",
            "field \"lines[1]\": PA is listed twice (as lines[0])");
    refuses("transfer.receive", "{\"transfer\":\"T1\",\"lines\":[]}",
            "field \"lines\": expected an array of 1..1000 objects");
    assert_int_equal(cmd_need_of("transfer.create", NULL), CMD_NEED_ROLE);
}

/* ---- audit ---- */

static void test_audit_classes(void **state)
{
    (void)state;
    assert_int_equal(audit_class_of("import_stock", 5), AUDIT_INITIAL);
    assert_int_equal(audit_class_of("receive", 5), AUDIT_RECEIPTS);
    assert_int_equal(audit_class_of("pick", -5), AUDIT_SHIPMENTS);
    assert_int_equal(audit_class_of("adjust", -5), AUDIT_ADJUSTMENTS);
    assert_int_equal(audit_class_of("transfer_ship", -5), AUDIT_TRANSFER_OUT);
    assert_int_equal(audit_class_of("transfer_ship", 5), AUDIT_TRANSFER_IN);
    assert_int_equal(audit_class_of("return_scrap", -1), AUDIT_SCRAP);
    assert_int_equal(audit_class_of("move", 1), AUDIT_MOVES);
    assert_int_equal(audit_class_of("route", 1), AUDIT_OTHER);
    assert_string_equal(audit_class_name(AUDIT_TRANSFER_IN), "transfer_in");
}

#define QA "wcs:{s}:quant:P1:WH1/A:"
#define QB "wcs:{s}:quant:P1:WH1/B:"
#define QL "wcs:{s}:quant:L1:WH1/A:LOT1"

static void test_audit_balance(void **state)
{
    struct audit *a;
    const struct audit_row *rows;
    const struct audit_quant_issue *is;
    size_t n, ni;
    uint64_t bad;
    (void)state;
    assert_int_equal(audit_new(&a), 0);
    assert_int_equal(audit_entry(a, "import_stock", "{\"quant\":\"" QA "\",\"on_hand\":0}",
                                 "{\"quant\":\"" QA "\",\"on_hand\":10}"),
                     1);
    assert_int_equal(audit_entry(a, "receive", "{\"quant\":\"" QL "\",\"on_hand\":0}",
                                 "{\"quant\":\"" QL "\",\"on_hand\":4,\"qty\":4}"),
                     1);
    assert_int_equal(audit_entry(a, "move",
                                 "{\"from\":\"" QA "\",\"from_on_hand\":10,\"to\":\"" QB
                                 "\",\"to_on_hand\":0}",
                                 "{\"from\":\"" QA "\",\"from_on_hand\":7,\"to\":\"" QB
                                 "\",\"to_on_hand\":3,\"qty\":3}"),
                     2);
    assert_int_equal(audit_entry(a, "pick", "{\"quant\":\"" QB "\",\"on_hand\":3,\"reserved\":3}",
                                 "{\"quant\":\"" QB "\",\"on_hand\":1,\"reserved\":1}"),
                     1);
    assert_int_equal(audit_entry(a, "adjust", "{\"quant\":\"" QA "\",\"on_hand\":7}",
                                 "{\"quant\":\"" QA "\",\"on_hand\":6,\"delta\":-1}"),
                     1);
    /* Entries without quant changes, and reservations (no on_hand). */
    assert_int_equal(audit_entry(a, "reserve", "{\"" QA "\":0}", "{\"" QA "\":2}"), 0);
    assert_int_equal(audit_entry(a, "wave_open", "{}", "{}"), 0);
    /* Lua's cjson may print integers as floats. */
    assert_int_equal(audit_entry(a, "adjust", "{\"quant\":\"" QL "\",\"on_hand\":4}",
                                 "{\"quant\":\"" QL "\",\"on_hand\":5.0}"),
                     1);
    assert_int_equal(audit_quant(a, QA, 6, 2), 0);
    assert_int_equal(audit_quant(a, QB, 1, 1), 0);
    assert_int_equal(audit_quant(a, QL, 5, 0), 0);
    size_t nk;
    audit_journal_quants(a, &nk);
    assert_int_equal(nk, 3);
    assert_true(audit_report(a, &rows, &n, &is, &ni, &bad));
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].sku, "L1");
    assert_string_equal(rows[0].lot, "LOT1");
    assert_int_equal(rows[0].by[AUDIT_RECEIPTS], 4);
    assert_int_equal(rows[0].by[AUDIT_ADJUSTMENTS], 1);
    assert_string_equal(rows[1].sku, "P1");
    assert_int_equal(rows[1].by[AUDIT_INITIAL], 10);
    assert_int_equal(rows[1].by[AUDIT_SHIPMENTS], -2);
    assert_int_equal(rows[1].by[AUDIT_ADJUSTMENTS], -1);
    assert_int_equal(rows[1].by[AUDIT_MOVES], 0);
    assert_int_equal(rows[1].expected, 7);
    assert_int_equal(rows[1].on_hand, 7);
    assert_int_equal(ni, 0);
    /* Tampering: a quant that does not match its history. */
    assert_int_equal(audit_quant(a, QB, 2, 1), 0);
    assert_false(audit_report(a, &rows, &n, &is, &ni, &bad));
    assert_false(rows[1].balanced);
    assert_int_equal(ni, 1);
    assert_string_equal(is[0].key, QB);
    assert_string_equal(is[0].why, "on_hand differs from the journal");
    /* reserved > on_hand. */
    assert_int_equal(audit_quant(a, QB, 1, 5), 0);
    assert_false(audit_report(a, &rows, &n, &is, &ni, &bad));
    assert_string_equal(is[0].why, "reserved exceeds on_hand");
    assert_int_equal(audit_quant(a, QB, 1, 1), 0);
    assert_true(audit_report(a, &rows, &n, &is, &ni, &bad));
    /* An unreadable entry spoils the balance. */
    assert_int_equal(audit_entry(a, "adjust", "{\"quant\":", "{}"), WCS_E_SYNTAX);
    assert_int_equal(audit_entry(a, "adjust", "{\"quant\":\"" QA "\",\"on_hand\":\"x\"}",
                                 "{\"quant\":\"" QA "\",\"on_hand\":1}"),
                     WCS_E_SYNTAX);
    assert_int_equal(audit_entry(a, "adjust", "{\"quant\":\"nope\",\"on_hand\":1}",
                                 "{\"quant\":\"nope\",\"on_hand\":2}"),
                     WCS_E_SYNTAX);
    assert_false(audit_report(a, &rows, &n, &is, &ni, &bad));
    assert_int_equal(bad, 3);
    audit_free(a);
    audit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_by_class),    cmocka_unit_test(test_day),
        cmocka_unit_test(test_config_counting), cmocka_unit_test(test_count_submit_fields),
        cmocka_unit_test(test_transfer_fields), cmocka_unit_test(test_audit_classes),
        cmocka_unit_test(test_audit_balance),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
