/* Unit tests of the command layer's pure part (wcs/command/validate.c): role patterns with
 * wildcards, authorization with segregation of duties, every command's field validation with
 * the exact error texts, the approval thresholds, the canonical JSON handed to the store and
 * the request_id key mapping. The site is tests/command/site.yaml. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "command/command.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

static struct cfg_site *S;
static json_t *LAST; /* the body of the last check: validated strings are borrowed from it */

static int setup(void **state)
{
    struct cfg_errors e;
    (void)state;
    cfg_errors_init(&e);
    int rc = cfg_load(&S, SITE_YAML, &e);
    for (size_t i = 0; i < e.count; i++)
        fprintf(stderr, "%s\n", e.lines[i]);
    cfg_errors_fini(&e);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(LAST);
    cfg_free(S);
    return 0;
}

/* Validates text for command; returns rc and leaves the error in err. The body lives until the
 * next check. */
static int check(const char *command, const char *text, struct cmd_args *a, char *err)
{
    json_decref(LAST);
    LAST = json_loads(text, 0, NULL);
    assert_non_null(LAST);
    err[0] = '\0';
    return cmd_validate(command, LAST, S, a, err, CMD_ERR_MAX);
}

static void refused(const char *command, const char *text, const char *want)
{
    struct cmd_args a;
    char err[CMD_ERR_MAX];
    int rc = check(command, text, &a, err);
    if (rc == 0)
        fail_msg("%s %s: accepted, expected \"%s\"", command, text, want);
    assert_string_equal(err, want);
    assert_null(a.header_json);
}

static void test_patterns(void **state)
{
    (void)state;
    assert_true(cmd_pattern_matches("*", "order.upsert"));
    assert_true(cmd_pattern_matches("order.*", "order.upsert"));
    assert_true(cmd_pattern_matches("order.upsert", "order.upsert"));
    assert_false(cmd_pattern_matches("order.*", "orders.upsert"));
    assert_false(cmd_pattern_matches("order.*", "wave.plan"));
    assert_false(cmd_pattern_matches("order.up", "order.upsert"));
    assert_false(cmd_pattern_matches("order.upsert", "order.upsert2"));
}

static void denied(const char *user, const char *command, enum cmd_need need, const char *want)
{
    char err[CMD_ERR_MAX] = "";
    assert_int_equal(cmd_authorize(S, user, command, need, err, sizeof(err)), WCS_E_DENIED);
    assert_string_equal(err, want);
}

static void test_authorize(void **state)
{
    char err[CMD_ERR_MAX];
    (void)state;
    assert_int_equal(cmd_authorize(S, "erp", "order.cancel", CMD_NEED_ROLE, err, sizeof(err)), 0);
    assert_int_equal(cmd_authorize(S, "lead1", "wave.plan", CMD_NEED_ROLE, err, sizeof(err)), 0);
    assert_int_equal(cmd_authorize(S, "sup", "rma.authorize", CMD_NEED_SUPERVISOR, err, 256), 0);
    denied("mallory", "order.upsert", CMD_NEED_ROLE, "user \"mallory\" is not configured");
    denied("clerk1", "order.cancel", CMD_NEED_ROLE,
           "user \"clerk1\" (roles clerk) may not run \"order.cancel\"");
    denied("clerk1", "device.disable", CMD_NEED_SUPERVISOR,
           "\"device.disable\" needs a supervisor role (approve: true); user \"clerk1\" has roles "
           "clerk");
    denied("erp", "rma.authorize", CMD_NEED_SUPERVISOR,
           "\"rma.authorize\" needs a supervisor role (approve: true); user \"erp\" has roles erp");
    denied("erp", "adjust.approve", CMD_NEED_APPROVER,
           "user \"erp\" (roles erp) may not run \"adjust.approve\"");
    assert_int_equal(cmd_need_of("device.disable", NULL), CMD_NEED_SUPERVISOR);
    assert_int_equal(cmd_need_of("device.enable", NULL), CMD_NEED_ROLE);
    assert_int_equal(cmd_need_of("adjust.approve", NULL), CMD_NEED_APPROVER);
    struct cmd_args a = {.credit = true};
    assert_int_equal(cmd_need_of("rma.authorize", &a), CMD_NEED_SUPERVISOR);
    a.credit = false;
    assert_int_equal(cmd_need_of("rma.authorize", &a), CMD_NEED_ROLE);
}

static void test_order_upsert(void **state)
{
    struct cmd_args a;
    char err[CMD_ERR_MAX];
    (void)state;
    /* ship_to (packing): printed on the label, so checked for label-safe text. */
    assert_int_equal(check("order.upsert",
                           "{\"request_id\":\"r\",\"order\":\"SO1\",\"carrier\":\"DHL\","
                           "\"ship_to\":{\"name\":\"Ada\",\"street\":\"Main 5\",\"city\":"
                           "\"Berlin\",\"postcode\":\"10115\",\"country\":\"DE\"},"
                           "\"lines\":[{\"sku\":\"P1\",\"qty\":2}]}",
                           &a, err),
                     0);
    assert_non_null(strstr(a.header_json, "\"ship_to\":{"));
    assert_non_null(strstr(a.header_json, "\"country\":\"DE\""));
    cmd_args_fini(&a);
    refused("order.upsert",
            "{\"request_id\":\"r\",\"order\":\"SO1\",\"carrier\":\"DHL\",\"ship_to\":{"
            "\"name\":\"A^FS\",\"street\":\"S\",\"city\":\"C\",\"postcode\":\"1\","
            "\"country\":\"DE\"},\"lines\":[{\"sku\":\"P1\",\"qty\":2}]}",
            "field \"ship_to.name\": expected a text of 1..64 characters without control "
            "characters, ^ or ~");
    refused("order.upsert",
            "{\"request_id\":\"r\",\"order\":\"SO1\",\"carrier\":\"DHL\",\"ship_to\":{"
            "\"name\":\"A\",\"street\":\"S\",\"city\":\"C\",\"postcode\":\"1\","
            "\"country\":\"de\"},\"lines\":[{\"sku\":\"P1\",\"qty\":2}]}",
            "field \"ship_to.country\": expected an ISO 3166-1 alpha-2 code (two capital "
            "letters)");
    refused("order.upsert",
            "{\"request_id\":\"r\",\"order\":\"SO1\",\"carrier\":\"DHL\",\"ship_to\":{"
            "\"name\":\"A\",\"floor\":\"3\"},\"lines\":[{\"sku\":\"P1\",\"qty\":2}]}",
            "field \"ship_to.floor\": unknown field (allowed: name, street, city, postcode, "
            "country)");
    assert_int_equal(check("order.upsert",
                           "{\"request_id\":\"r\",\"order\":\"SO1\",\"carrier\":\"DHL\","
                           "\"priority\":\"urgent\",\"ship_date\":\"2026-02-28\",\"zone\":\"A\","
                           "\"lines\":[{\"sku\":\"P1\",\"qty\":2},{\"qty\":1,\"lot\":\"X\","
                           "\"sku\":\"L1\"}]}",
                           &a, err),
                     0);
    assert_string_equal(a.id, "SO1");
    assert_string_equal(a.header_json, "{\"carrier\":\"DHL\",\"priority\":\"urgent\","
                                       "\"ship_date\":\"2026-02-28\",\"zone\":\"A\"}");
    assert_string_equal(a.lines_json,
                        "[{\"qty\":2,\"sku\":\"P1\"},{\"lot\":\"X\",\"qty\":1,\"sku\":\"L1\"}]");
    assert_false(a.draft);
    cmd_args_fini(&a);

    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[],\"colour\":1}",
            "field \"colour\": unknown field (allowed: order, carrier, priority, ship_date, zone, "
            "ship_to, draft, lines)");
    refused("order.upsert", "{\"carrier\":\"DHL\"}", "field \"order\": missing");
    refused("order.upsert", "{\"order\":\"SO 1\",\"carrier\":\"DHL\"}",
            "field \"order\": expected 1..63 characters of [A-Za-z0-9_.-]");
    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"FEDEX\"}",
            "field \"carrier\": unknown carrier \"FEDEX\"");
    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"priority\":\"vip\"}",
            "field \"priority\": unknown priority \"vip\"");
    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"ship_date\":\"2026-02-29\"}",
            "field \"ship_date\": expected a date YYYY-MM-DD, got \"2026-02-29\"");
    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"zone\":\"Z\"}",
            "field \"zone\": unknown zone \"Z\"");
    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"draft\":1}",
            "field \"draft\": expected true or false");
    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"DHL\"}", "field \"lines\": missing");
    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[]}",
            "field \"lines\": expected an array of 1..1000 objects");
    refused("order.upsert", "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P9\"}]}",
            "field \"lines[0].sku\": unknown product \"P9\"");
    refused("order.upsert",
            "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1},"
            "{\"sku\":\"P1\",\"qty\":2.0}]}",
            "field \"lines[1].qty\": expected an integer in 1..1073741824");
    refused("order.upsert",
            "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1,"
            "\"lot\":\"A\"}]}",
            "field \"lines[0].lot\": product P1 is not tracked by lot or serial");
    refused("order.upsert",
            "{\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1,"
            "\"x\":1}]}",
            "field \"lines[0].x\": unknown field (allowed: sku, qty, lot)");
}

static void test_inventory_adjust(void **state)
{
    struct cmd_args a;
    char err[CMD_ERR_MAX];
    (void)state;
    assert_int_equal(check("inventory.adjust",
                           "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":-3,"
                           "\"reason\":\"damaged\",\"unit_value_cents\":100}",
                           &a, err),
                     0);
    assert_false(a.needs_approval);
    assert_int_equal(a.qty, -3);
    cmd_args_fini(&a);
    assert_int_equal(check("inventory.adjust",
                           "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":11,"
                           "\"reason\":\"found\",\"unit_value_cents\":1}",
                           &a, err),
                     0);
    assert_true(a.needs_approval);
    assert_string_equal(a.why, "quantity 11 above the threshold of 10");
    cmd_args_fini(&a);
    assert_int_equal(check("inventory.adjust",
                           "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":-10,"
                           "\"reason\":\"found\",\"unit_value_cents\":5001}",
                           &a, err),
                     0);
    assert_true(a.needs_approval);
    assert_string_equal(a.why, "value 50010 cents above the threshold of 50000 cents");
    cmd_args_fini(&a);
    assert_int_equal(check("inventory.adjust",
                           "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":10,"
                           "\"reason\":\"found\",\"unit_value_cents\":5000}",
                           &a, err),
                     0);
    assert_false(a.needs_approval);
    cmd_args_fini(&a);

    refused("inventory.adjust",
            "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":0,\"reason\":\"x\","
            "\"unit_value_cents\":1}",
            "field \"qty\": expected a non-zero integer");
    refused("inventory.adjust",
            "{\"sku\":\"P1\",\"location\":\"WH1/Stock\",\"qty\":1,\"reason\":\"x\"}",
            "field \"location\": WH1/Stock is a view location and holds no stock");
    refused("inventory.adjust",
            "{\"sku\":\"P1\",\"location\":\"WH1/Nowhere\",\"qty\":1,\"reason\":\"x\"}",
            "field \"location\": unknown location \"WH1/Nowhere\"");
    refused("inventory.adjust",
            "{\"sku\":\"L1\",\"location\":\"WH1/Stock/A/1\",\"qty\":1,\"reason\":\"x\"}",
            "field \"lot\": required: product L1 is tracked by lot");
    refused("inventory.adjust",
            "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":\"1\",\"reason\":\"x\"}",
            "field \"qty\": expected an integer in -1073741824..1073741824");
    refused("inventory.adjust",
            "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":1,\"reason\":\"x\"}",
            "field \"unit_value_cents\": missing: the site approves adjustments above 50000 cents");
    refused("inventory.adjust", "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":1}",
            "field \"reason\": missing");
}

static void test_other_commands(void **state)
{
    struct cmd_args a;
    char err[CMD_ERR_MAX];
    (void)state;
    assert_int_equal(check("rma.authorize",
                           "{\"rma\":\"R1\",\"order\":\"SO1\",\"credit\":true,"
                           "\"lines\":[{\"sku\":\"P1\",\"qty\":1}]}",
                           &a, err),
                     0);
    assert_true(a.credit);
    assert_string_equal(a.lines_json, "[{\"qty\":1,\"sku\":\"P1\"}]");
    cmd_args_fini(&a);
    refused("rma.authorize", "{\"rma\":\"R1\",\"order\":\"SO1\",\"lines\":[{\"sku\":\"P1\"}]}",
            "field \"lines[0].qty\": missing");
    refused("device.disable", "{\"device\":\"nope\"}", "field \"device\": unknown device \"nope\"");
    refused("label.reprint", "{\"shipment\":\"S1\",\"printer\":\"scn1\"}",
            "field \"printer\": unknown printer \"scn1\"");
    refused("count.request", "{\"location\":\"WH1/Stock/A/1\",\"sku\":\"Q\"}",
            "field \"sku\": unknown product \"Q\"");
    refused("wave.plan", "{\"wave\":\"W1\",\"max_orders\":0}",
            "field \"max_orders\": expected an integer in 1..10000");
    refused("adjust.approve", "{}", "field \"approval\": missing");
    refused("pack.reset", "{\"station\":\"P9\",\"order\":\"a b\"}",
            "field \"order\": expected 1..63 characters of [A-Za-z0-9_.-]");
    refused("pack.reset", "{\"station\":\"P9\",\"orders\":\"O1\"}",
            "field \"orders\": unknown field (allowed: station, order)");
    refused("pack.reset", "{\"station\":\"P9\",\"order\":\"O1\"}",
            "field \"station\": unknown pack station \"P9\"");
    refused("alarm.ack", "{\"alarm\":7}", "field \"alarm\": expected a string");
    refused("order.cancel", "{\"order\":\"SO1\",\"reason\":\"x\"}",
            "field \"reason\": unknown field (allowed: order)");
    assert_int_equal(check("order.nope", "{}", &a, err), WCS_E_UNKNOWN);
    assert_string_equal(err, "unknown command \"order.nope\"");
    assert_false(cmd_known("order.nope"));
    assert_true(cmd_known("count.request"));
}

static void test_request_key(void **state)
{
    char k[STORE_ID_MAX], k2[STORE_ID_MAX];
    (void)state;
    command_request_key("ui-4711.17", k);
    assert_string_equal(k, "ui-4711.17");
    command_request_key("ui-4711:17", k);
    assert_int_equal(strlen(k), 33);
    assert_int_equal(k[0], 'h');
    assert_int_equal(store_id_check(k), 0);
    command_request_key("ui-4711:18", k2);
    assert_string_not_equal(k, k2);
    command_request_key("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", k2);
    assert_int_equal(store_id_check(k2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),       cmocka_unit_test(test_authorize),
        cmocka_unit_test(test_order_upsert),   cmocka_unit_test(test_inventory_adjust),
        cmocka_unit_test(test_other_commands), cmocka_unit_test(test_request_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
