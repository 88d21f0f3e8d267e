/* Unit tests of the pure parts of counting and transfers: the scheduler's due dates by ABC class
 * (wcs/daemon/counting.h) and the validators of count.submit and transfer.* (wcs/command/
 * validate.c) with their canonical JSON and error texts. The audit's are in tests/audit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_by_class),    cmocka_unit_test(test_day),
        cmocka_unit_test(test_config_counting), cmocka_unit_test(test_count_submit_fields),
        cmocka_unit_test(test_transfer_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
