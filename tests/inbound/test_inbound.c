/* Integration tests of receiving and returns (wcs/command/inbound.c) through a real mosquitto
 * and redis-server: expected receipts, GS1 scans (good, lot missing, expiry too short, unknown
 * GTIN, over-receipt refused then taken within the tolerance), a partial close with its short
 * lines, a quality hold that a reservation cannot take, quality release and scrap, putaway
 * confirmation at the suggested, an alternative, a wrong and a full location, stock
 * conservation, and a customer return through inspection to the credit event. Every refusal
 * leaves the site's keys as they were (journal and request records aside). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdfix.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "command/command.h"
#include "store/store.h"

#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE      "t2"
#define P         "wcs/v1/t2/"
#define MAX_BYTES 8192

static const struct fx_user USERS[] = {{"sup", HARNESS_ROLE_SUPERVISOR},
                                       {"erp", HARNESS_ROLE_OPERATOR},
                                       {"rcv1", HARNESS_ROLE_OPERATOR},
                                       {"qa1", HARNESS_ROLE_OPERATOR}};
static const char *const WATCH_TOPICS[] = {"evt/#", "state/#", NULL};

static int setup(void **state)
{
    (void)state;
    struct fx_opts o = {.site_yaml = SITE_YAML,
                        .users = USERS,
                        .n_users = sizeof(USERS) / sizeof(USERS[0]),
                        .max_payload_bytes = MAX_BYTES,
                        .watch = WATCH_TOPICS};
    return fx_open(&o);
}

#define K(x) "wcs:{" SITE "}:" x

static long long hint(const char *key, const char *field)
{
    char *v = fx_hget(key, field);
    long long n = v ? atoll(v) : 0;
    free(v);
    return n;
}

/* The sum of on_hand over every quant of the site. */
static long long stock_total(void)
{
    long long sum = 0;
    char cursor[32] = "0";
    do {
        redisReply *r =
            redisCommand(FX.rc, "SCAN %s MATCH wcs:{" SITE "}:quant:* COUNT 1000", cursor);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            sum += hint(r->element[1]->element[i]->str, "on_hand");
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return sum;
}

/* Waits for an event on evt/<type> after `from` whose payload contains needle; returns it. */
static json_t *wait_event(const char *type, size_t from, const char *needle)
{
    char topic[128];
    snprintf(topic, sizeof(topic), P "evt/%s", type);
    FX_PUMP_UNTIL(tc_find(FX.watch, from, topic, needle) >= 0, 5000);
    long i = tc_find(FX.watch, from, topic, needle);
    if (i < 0)
        fail_msg("no event on %s with %s", topic, needle);
    json_t *j = json_loads(tc_msg(FX.watch, (size_t)i)->payload, 0, NULL);
    assert_non_null(j);
    return j;
}

struct res {
    bool done;
    int rc;
    int64_t available;
};

static void on_reserve(void *arg, const struct store_result *r)
{
    struct res *x = arg;
    x->done = true;
    x->rc = r->rc;
    x->available = r->n_short ? r->shorts[0].available : -1;
}

static const char *putaway_loc(const json_t *r)
{
    const json_t *p = json_object_get(r, "putaway");
    if (!json_is_object(p))
        fail_msg("reply has no putaway: %s", json_dumps(r, 0));
    return json_string_value(json_object_get(p, "location"));
}

/* Scans: P1 (GTIN 4012345000016), L1 (4006381333931, lot and expiry), Q1 (4012345000023,
 * quality-controlled). */
#define SCAN_L1_GOOD                                                                               \
    "]C10104006381333931172812311"                                                                 \
    "0LOT1<GS>3012"
#define SCAN_Q1 "]C1010401234500002310QL1<GS>304"

static void test_receiving(void **state)
{
    json_t *r;
    (void)state;
    long long kpi0 = hint(K("kpi"), "received_units"), stock0 = stock_total();
    size_t w0 = tc_count(FX.watch);

    r = fx_ok("erp", "receipt.expect", "e1",
              "\"receipt\":\"R1\",\"supplier\":\"ACME\",\"warehouse\":\"WH1\",\"lines\":["
              "{\"sku\":\"P1\",\"qty\":10},{\"sku\":\"L1\",\"qty\":20,\"lot\":\"LOT1\"},"
              "{\"sku\":\"Q1\",\"qty\":4}]");
    assert_string_equal(fx_jstr(r, "result"), "created");
    assert_string_equal(fx_jstr(r, "state"), "expected");
    assert_int_equal(fx_jint(r, "units"), 34);
    json_decref(r);
    r = fx_ok("erp", "receipt.expect", "e2",
              "\"receipt\":\"R1\",\"supplier\":\"ACME\",\"warehouse\":\"WH1\",\"lines\":["
              "{\"sku\":\"P1\",\"qty\":10},{\"sku\":\"L1\",\"qty\":20,\"lot\":\"LOT1\"},"
              "{\"sku\":\"Q1\",\"qty\":4}]");
    assert_string_equal(fx_jstr(r, "result"), "unchanged");
    json_decref(r);
    fx_refused(
        "erp", "receipt.expect", "e3",
        "\"receipt\":\"R2\",\"lines\":[{\"sku\":\"P1\",\"qty\":1,\"expiry\":\"2027-01-01\"}]",
        "field \"lines[0].expiry\": product P1 has no expiry dates");
    fx_refused("rcv1", "receipt.expect", "e4",
               "\"receipt\":\"R2\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
               "user \"rcv1\" (roles receiver) may not run \"receipt.expect\"");

    /* A plain GTIN with its quantity: into the receiving location, a putaway task to the
     * planner's first empty location of the generic rule. */
    r = fx_ok("rcv1", "receipt.scan", "s1",
              "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":4");
    assert_string_equal(fx_jstr(r, "sku"), "P1");
    assert_int_equal(fx_jint(r, "line"), 0);
    assert_int_equal(fx_jint(r, "remaining"), 6);
    assert_string_equal(fx_jstr(r, "location"), "WH1/Receiving");
    assert_false(json_is_true(json_object_get(r, "held")));
    assert_string_equal(putaway_loc(r), "WH1/Stock/A/1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "putaway"), "task")),
                        "PUT-1");
    json_decref(r);
    fx_hget_is(K("quant:P1:WH1/Receiving:"), "on_hand", "4");
    fx_hget_is(K("task:PUT-1"), "target", "WH1/Stock/A/1");
    json_decref(wait_event("receipt", w0, "\"scan\""));

    /* Refusals, each changing nothing. */
    fx_refused("rcv1", "receipt.scan", "s2",
               "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"]C1010400638133393117281231\","
               "\"qty\":5",
               "field \"scan\": product L1 is tracked by lot: the scan needs AI (10)");
    fx_refused_part("rcv1", "receipt.scan", "s3",
                    "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":"
                    "\"]C1010400638133393117261201"
                    "10LOT1<GS>305\"",
                    "(today + expiry_margin_days 30 of L1)");
    fx_refused("rcv1", "receipt.scan", "s4",
               "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000146\",\"qty\":1",
               "field \"scan\": unknown GTIN 04012345000146");
    fx_refused("rcv1", "receipt.scan", "s5",
               "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000017\",\"qty\":1",
               "field \"scan\": AI (01): check digit 6 expected, got 7");
    fx_refused("rcv1", "receipt.scan", "s6",
               "\"receipt\":\"R9\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":1",
               "unknown receipt \"R9\"");
    fx_refused("rcv1", "receipt.scan", "s7",
               "\"receipt\":\"R1\",\"station\":\"RET1\",\"scan\":\"4012345000016\",\"qty\":1",
               "field \"station\": unknown receive station \"RET1\"");

    /* Lot, expiry and count from the GS1 string; food goes to zone B by its rule. */
    r = fx_ok("rcv1", "receipt.scan", "s8",
              "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"" SCAN_L1_GOOD "\"");
    assert_string_equal(fx_jstr(r, "lot"), "LOT1");
    assert_string_equal(fx_jstr(r, "expiry"), "2028-12-31");
    assert_int_equal(fx_jint(r, "received"), 12);
    assert_int_equal(fx_jint(r, "line"), 1);
    assert_string_equal(putaway_loc(r), "WH1/Stock/B/1");
    json_decref(r);
    fx_hget_is(K("quant:L1:WH1/Receiving:LOT1"), "expiry", "2028-12-31");

    /* Over-receipt: refused without allow_over, taken within 10 %, refused beyond. */
    fx_refused("rcv1", "receipt.scan", "s9",
               "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":7",
               "over-receipt: line 0 (P1) expects 10, has 4, 7 more make 11; send allow_over to "
               "take up to 11 (receiving.over_tolerance_pct 10)");
    r = fx_ok("rcv1", "receipt.scan", "s10",
              "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"]C101040123450000163007\","
              "\"allow_over\":true");
    assert_int_equal(fx_jint(r, "line_received"), 11);
    assert_int_equal(fx_jint(r, "remaining"), 0);
    json_decref(r);
    fx_refused(
        "rcv1", "receipt.scan", "s11",
        "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":1,"
        "\"allow_over\":true",
        "over-receipt: line 0 (P1) expects 10, has 11, 1 more make 12, above the limit of 11 "
        "(receiving.over_tolerance_pct 10)");
    fx_refused("erp", "receipt.expect", "e5",
               "\"receipt\":\"R1\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
               "receipt R1 is receiving: it can no longer be changed once receiving started");

    /* Quality-controlled: held in the quality location, no putaway task. */
    r = fx_ok("rcv1", "receipt.scan", "s12",
              "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"" SCAN_Q1 "\"");
    assert_true(json_is_true(json_object_get(r, "held")));
    assert_string_equal(fx_jstr(r, "location"), "WH1/Quality");
    assert_true(json_is_null(json_object_get(r, "putaway")));
    json_decref(r);
    fx_hget_is(K("quant:Q1:WH1/Quality:QL1"), "hold", "4");

    /* A reservation cannot take held units: reserve_commit refuses with 0 available. */
    {
        struct store_line l = {"Q1", "WH1/Quality", "QL1", 1};
        struct store_ctx sc = {.actor = "test", .cause = "held"};
        struct res res = {0};
        assert_int_equal(store_reserve_commit(FX.store, &sc, "SO-HELD", &l, 1, on_reserve, &res),
                         0);
        FX_PUMP_UNTIL(res.done, 3000);
        assert_true(res.done);
        assert_int_equal(res.rc, WCS_E_STATE);
        assert_int_equal(res.available, 0);
        fx_hget_is(K("quant:Q1:WH1/Quality:QL1"), "reserved", "0");
    }

    /* Stock conservation: what was received is what the site holds more. */
    assert_int_equal(hint(K("kpi"), "received_units") - kpi0, 4 + 12 + 7 + 4);
    assert_int_equal(stock_total() - stock0, 4 + 12 + 7 + 4);

    /* Partial close: L1 is 8 short; the ERP sees it on evt/receipt. */
    size_t w1 = tc_count(FX.watch);
    r = fx_ok("rcv1", "receipt.close", "c1", "\"receipt\":\"R1\"");
    assert_string_equal(fx_jstr(r, "state"), "closed");
    json_t *sh = json_object_get(r, "short");
    assert_int_equal(json_array_size(sh), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sh, 0), "sku")), "L1");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(sh, 0), "short")), 8);
    json_decref(r);
    json_decref(wait_event("receipt", w1, "\"closed\""));
    fx_refused("rcv1", "receipt.scan", "s13",
               "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":1",
               "receipt R1 is closed: nothing more can be received");
    fx_refused("rcv1", "receipt.close", "c2", "\"receipt\":\"R1\"", "receipt R1 is closed already");

    /* Quality: a receiver may not decide; QA releases 3 (a putaway task) and scraps 1. */
    fx_refused("rcv1", "quality.release", "q1",
               "\"sku\":\"Q1\",\"location\":\"WH1/Quality\",\"lot\":\"QL1\",\"qty\":3,"
               "\"decision\":\"release\"",
               "user \"rcv1\" (roles receiver) may not run \"quality.release\"");
    fx_refused("qa1", "quality.release", "q2",
               "\"sku\":\"Q1\",\"location\":\"WH1/Quality\",\"lot\":\"QL1\",\"qty\":5,"
               "\"decision\":\"release\"",
               "Q1 lot QL1 at WH1/Quality has 4 units on hold, asked 5");
    r = fx_ok("qa1", "quality.release", "q3",
              "\"sku\":\"Q1\",\"location\":\"WH1/Quality\",\"lot\":\"QL1\",\"qty\":3,"
              "\"decision\":\"release\"");
    assert_int_equal(fx_jint(r, "hold_left"), 1);
    const char *qtask = json_string_value(json_object_get(json_object_get(r, "putaway"), "task"));
    assert_string_equal(qtask, "PUT-4"); /* PUT-3: the over-receipt of P1 */
    json_decref(r);
    long long scrapped0 = hint(K("kpi"), "scrapped_units");
    r = fx_ok("qa1", "quality.release", "q4",
              "\"sku\":\"Q1\",\"location\":\"WH1/Quality\",\"lot\":\"QL1\",\"qty\":1,"
              "\"decision\":\"scrap\"");
    assert_string_equal(fx_jstr(r, "scrap_location"), "WH1/Scrap");
    json_decref(r);
    fx_hget_is(K("quant:Q1:WH1/Scrap:QL1"), "on_hand", "1");
    fx_hget_is(K("quant:Q1:WH1/Quality:QL1"), "hold", "0");
    assert_int_equal(hint(K("kpi"), "scrapped_units") - scrapped0, 1);

    /* Putaway: a wrong location, the suggested one, twice; an alternative; a full location. */
    size_t w2 = tc_count(FX.watch);
    fx_refused("rcv1", "putaway.confirm", "p1", "\"task\":\"PUT-1\",\"location\":\"WH1/Quality\"",
               "task PUT-1: WH1/Quality is not a putaway location for P1 (suggested WH1/Stock/A/1; "
               "allowed: the internal locations of the putaway rules for it)");
    r = fx_ok("rcv1", "putaway.confirm", "p2", "\"task\":\"PUT-1\",\"location\":\"WH1/Stock/A/1\"");
    assert_string_equal(fx_jstr(r, "how"), "suggested");
    assert_string_equal(fx_jstr(r, "state"), "done");
    assert_int_equal(fx_jint(r, "qty"), 4);
    json_decref(r);
    json_decref(wait_event("putaway", w2, "PUT-1"));
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "4");
    fx_hget_is(K("quant:P1:WH1/Receiving:"), "on_hand", "7");
    fx_refused("rcv1", "putaway.confirm", "p3", "\"task\":\"PUT-1\",\"location\":\"WH1/Stock/A/1\"",
               "task PUT-1 is done");
    fx_refused("rcv1", "putaway.confirm", "p4",
               "\"task\":\"PUT-99\",\"location\":\"WH1/Stock/A/1\"",
               "unknown putaway task \"PUT-99\"");
    r = fx_ok("rcv1", "putaway.confirm", "p5",
              "\"task\":\"PUT-2\",\"location\":\"WH1/Stock/A/2\",\"qty\":5");
    assert_string_equal(fx_jstr(r, "how"), "alternative");
    assert_string_equal(fx_jstr(r, "suggested"), "WH1/Stock/B/1");
    assert_string_equal(fx_jstr(r, "state"), "open");
    assert_int_equal(fx_jint(r, "left"), 7);
    json_decref(r);
    fx_exec("HSET %s on_hand 99 reserved 0 sku P1 loc WH1/Stock/A/3 lot \"\"",
            K("quant:P1:WH1/Stock/A/3:"), "");
    fx_exec("SADD %s %s", K("loc:WH1/Stock/A/3:quants"), K("quant:P1:WH1/Stock/A/3:"));
    fx_refused("rcv1", "putaway.confirm", "p6", "\"task\":\"PUT-4\",\"location\":\"WH1/Stock/A/3\"",
               "location WH1/Stock/A/3 has no room: units would be 102, capacity 100");
    r = fx_ok("rcv1", "putaway.confirm", "p7", "\"task\":\"PUT-4\",\"location\":\"WH1/Stock/B/2\"");
    assert_string_equal(fx_jstr(r, "state"), "done");
    json_decref(r);
    fx_hget_is(K("quant:Q1:WH1/Quality:QL1"), "on_hand", "0");
    assert_int_equal(hint(K("kpi"), "putaways"), 3);
}

static void test_returns(void **state)
{
    json_t *r;
    (void)state;
    fx_ok0("erp", "order.upsert", "o1",
           "\"order\":\"SO9\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":3},"
           "{\"sku\":\"L1\",\"qty\":2,\"lot\":\"LOTR\"}]");
    fx_exec("HSET %s state %s", K("order:SO9"), "shipped");
    r = fx_ok("sup", "rma.authorize", "a1",
              "\"rma\":\"RMA1\",\"order\":\"SO9\",\"credit\":true,\"lines\":[{\"sku\":\"P1\","
              "\"qty\":2},{\"sku\":\"L1\",\"qty\":1}]");
    json_decref(r);
    long long rr0 = hint(K("kpi"), "returns_received"), sc0 = hint(K("kpi"), "scrapped_units");

    fx_refused("rcv1", "return.inspect", "i0",
               "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"",
               "RMA RMA1 is authorized: nothing received yet");
    fx_refused("rcv1", "return.receive", "r1",
               "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"4012345000016\",\"qty\":3",
               "RMA RMA1 authorises 2 of P1, 0 received, 3 more refused");
    fx_refused("rcv1", "return.receive", "r2",
               "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"4012345000023\",\"qty\":1",
               "field \"scan\": product Q1 is tracked by lot: the scan needs AI (10)");
    r = fx_ok("rcv1", "return.receive", "r3",
              "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"4012345000016\",\"qty\":2");
    assert_string_equal(fx_jstr(r, "state"), "receiving");
    json_decref(r);
    r = fx_ok("rcv1", "return.receive", "r4",
              "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"]C1010400638133393110LOTR\","
              "\"qty\":1");
    assert_string_equal(fx_jstr(r, "state"), "received");
    json_decref(r);
    fx_hget_is(K("quant:P1:WH1/Returns:"), "hold", "2");
    assert_int_equal(hint(K("kpi"), "returns_received") - rr0, 3);
    fx_refused("rcv1", "return.receive", "r5",
               "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"4012345000016\",\"qty\":1",
               "RMA RMA1 is received: nothing more can be received");

    size_t w0 = tc_count(FX.watch);
    r = fx_ok("rcv1", "return.inspect", "i1",
              "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"");
    assert_string_equal(fx_jstr(r, "state"), "received");
    assert_non_null(putaway_loc(r));
    json_decref(r);
    r = fx_ok(
        "rcv1", "return.inspect", "i2",
        "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"scrap\",\"note\":\"broken\"");
    assert_string_equal(fx_jstr(r, "scrap_location"), "WH1/Scrap");
    json_decref(r);
    fx_refused("rcv1", "return.inspect", "i3",
               "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"",
               "RMA RMA1 received 2 of P1, 2 inspected, 1 more refused");
    r = fx_ok(
        "rcv1", "return.inspect", "i4",
        "\"rma\":\"RMA1\",\"sku\":\"L1\",\"lot\":\"LOTR\",\"qty\":1,\"decision\":\"restock\"");
    assert_string_equal(fx_jstr(r, "state"), "inspected");
    assert_true(json_is_true(json_object_get(r, "credit_event")));
    json_decref(r);
    json_t *e = wait_event("credit", w0, "RMA1");
    assert_string_equal(fx_jstr(e, "order"), "SO9");
    json_t *lines = json_object_get(e, "lines");
    assert_int_equal(json_array_size(lines), 3);
    char *t = json_dumps(lines, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(t, "[{\"decision\":\"restock\",\"qty\":1,\"sku\":\"P1\"},"
                           "{\"decision\":\"scrap\",\"qty\":1,\"sku\":\"P1\"},"
                           "{\"decision\":\"restock\",\"qty\":1,\"sku\":\"L1\"}]");
    free(t);
    json_decref(e);
    FX_PUMP_UNTIL(tc_find_retained(FX.watch, 0, P "state/rma/RMA1", "inspected") >= 0, 3000);
    assert_true(tc_find(FX.watch, w0, P "state/rma/RMA1", "inspected") >= 0);
    fx_hget_is(K("rma:RMA1"), "state", "inspected");
    assert_int_equal(hint(K("kpi"), "scrapped_units") - sc0, 1);
    assert_int_equal(hint(K("kpi"), "returns_restocked"), 2);
    assert_int_equal(hint(K("kpi"), "returns_scrapped"), 1);
    fx_refused("rcv1", "return.inspect", "i5",
               "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"",
               "RMA RMA1 is inspected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receiving),
        cmocka_unit_test(test_returns),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
