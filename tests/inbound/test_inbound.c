/* Integration tests of receiving and returns (wcs/command/inbound.c) through a real mosquitto
 * and redis-server: expected receipts, GS1 scans (good, lot missing, expiry too short, unknown
 * GTIN, over-receipt refused then taken within the tolerance), a partial close with its short
 * lines, a quality hold that a reservation cannot take, quality release and scrap, putaway
 * confirmation at the suggested, an alternative, a wrong and a full location, stock
 * conservation, and a customer return through inspection to the credit event; the serials of
 * returned units (only a serial shipped with the RMA's order comes back; restocked it is picked
 * and shipped again, scrapped it is refused) and `wcs audit`'s serial checks. Every refusal
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
#include "store/packing.h"
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

/* ---- serials of returned units ---- */

#define SCAN_S1(sn) "(01)09506000134390(21)" sn

static const struct store_ctx PCTX = {.actor = "packer", .cause = "test pack"};

static void on_res(void *arg, const struct store_result *r)
{
    struct res *x = arg;
    x->done = true;
    x->rc = r->rc;
}

/* Receives serial sn of S1 on receipt and puts it away where the planner suggests. */
static void receive_serial(const char *receipt, const char *sn, const char *rid)
{
    char f[256], r2[48];
    json_t *r;
    snprintf(f, sizeof(f),
             "\"receipt\":\"%s\",\"station\":\"RCV1\",\"scan\":\"" SCAN_S1("%s") "\",\"qty\":1",
             receipt, sn);
    r = fx_ok("rcv1", "receipt.scan", rid, f);
    assert_string_equal(fx_jstr(r, "lot"), sn);
    const json_t *put = json_object_get(r, "putaway");
    snprintf(f, sizeof(f), "\"task\":\"%s\",\"location\":\"%s\"",
             json_string_value(json_object_get(put, "task")), putaway_loc(r));
    json_decref(r);
    snprintf(r2, sizeof(r2), "%s-p", rid);
    json_decref(fx_ok("rcv1", "putaway.confirm", r2, f));
}

/* Waves, releases and picks order (one line of S1 per serial in sns, n of them) into tote. */
static void pick_serials(const char *order, const char *wave, const char *tote,
                         const char *const *sns, size_t n, const char *rid)
{
    char f[512], r2[64];
    json_t *r, *b, *t;
    size_t i, k, picked = 0;
    snprintf(f, sizeof(f), "\"wave\":\"%s\"", wave);
    snprintf(r2, sizeof(r2), "%s-w", rid);
    json_decref(fx_ok("sup", "wave.plan", r2, f));
    snprintf(r2, sizeof(r2), "%s-r", rid);
    json_t *rel = fx_ok("sup", "wave.release", r2, f);
    json_array_foreach(json_object_get(rel, "batches"), i, b)
    {
        snprintf(f, sizeof(f), "\"batch\":\"%s\"", json_string_value(b));
        snprintf(r2, sizeof(r2), "%s-c%zu", rid, i);
        r = fx_ok("sup", "batch.claim", r2, f);
        json_array_foreach(json_object_get(r, "tasks"), k, t)
        {
            if (strcmp(fx_jstr(t, "order"), order) != 0)
                continue;
            const char *sn = fx_jstr(t, "lot");
            bool wanted = false;
            for (size_t j = 0; j < n; j++)
                wanted = wanted || strcmp(sns[j], sn) == 0;
            assert_true(wanted);
            snprintf(f, sizeof(f),
                     "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"" SCAN_S1(
                         "%s") "\",\"qty\":1,\"tote\":\"%s\"",
                     fx_jstr(t, "task"), fx_jstr(t, "location"), sn, tote);
            snprintf(r2, sizeof(r2), "%s-%s", rid, sn);
            json_decref(fx_ok("sup", "pick.confirm", r2, f));
            picked++;
        }
        json_decref(r);
    }
    json_decref(rel);
    assert_int_equal(picked, n);
}

/* Packs tote into shipment (the pack station's label step written as the daemon writes it) and
 * confirms it shipped in the carrier lane: the order is shipped. */
static void pack_ship(const char *order, const char *tote, const char *shipment, const char *sscc,
                      const char *const *sns, size_t n)
{
    char items[512] = "[";
    struct res x = {0};
    for (size_t i = 0; i < n; i++)
        snprintf(items + strlen(items), sizeof(items) - strlen(items),
                 "%s{\"sku\":\"S1\",\"lot\":\"%s\",\"qty\":1,\"serials\":[\"%s\"]}", i ? "," : "",
                 sns[i], sns[i]);
    strcat(items, "]");
    fx_exec("HSET %s shipment %s order %s step label", K("station:PK9"), shipment, order);
    struct packing_commit c = {.station = "PK9",
                               .shipment = shipment,
                               .order = order,
                               .sscc = sscc,
                               .carrier = "DHL",
                               .weight_mg = 1000,
                               .expected_mg = 1000,
                               .units = n,
                               .items_json = items,
                               .reset_json = "{\"step\":\"idle\"}",
                               .totes = &tote,
                               .n_totes = 1};
    assert_int_equal(packing_commit(FX.store, &PCTX, &c, on_res, &x), 0);
    FX_PUMP_UNTIL(x.done, 3000);
    assert_true(x.done);
    assert_int_equal(x.rc, 0);
    x = (struct res){0};
    assert_int_equal(packing_ship(FX.store, &PCTX, shipment, sscc, order, "L1", true, on_res, &x),
                     0);
    FX_PUMP_UNTIL(x.done, 3000);
    assert_int_equal(x.rc, 0);
    char k[96];
    snprintf(k, sizeof(k), K("order:%s"), order);
    fx_hget_is(k, "state", "shipped");
}

/* The serial issues of `wcs audit --json` (holder serial), as "key why" lines joined by '|'. */
static void serial_issues(char *out, size_t cap)
{
    static char text[1 << 20];
    json_t *j, *is;
    size_t i;
    int rc = fx_audit(WCS_BIN, "--json", text, sizeof(text));
    assert_true(rc == 0 || rc == 1); /* the earlier tests' made-up stock does not balance */
    assert_non_null(j = json_loads(text, 0, NULL));
    out[0] = '\0';
    json_array_foreach(json_object_get(j, "issues"), i, is)
    {
        if (strcmp(fx_jstr(is, "holder"), "serial") != 0)
            continue;
        snprintf(out + strlen(out), cap - strlen(out), "%s%s %s", out[0] ? "|" : "",
                 fx_jstr(is, "key"), fx_jstr(is, "why"));
    }
    json_decref(j);
}

/* Serials of returned units: SR1 and SR2 are received, picked, packed and shipped with SO20;
 * the return of a serial never shipped (SR3, in stock), of one shipped with another order and a
 * second receipt of a returned one are refused with the reason; SR1 is restocked (released:
 * picked again in a later wave and shipped with SO22, and returned once more) and SR2 scrapped
 * (marked: its return and, once found stock again, its pick are refused as scrapped). Each
 * serial's record keeps its life; `wcs audit` finds every serial in one place, as marked, until
 * adjustments book the scrapped SR2 back into stock (still marked scrapped). */
static void test_serial_returns(void **state)
{
    static const char *const both[] = {"SR1", "SR2"}, *const sr1[] = {"SR1"};
    char issues[4096];
    json_t *r;
    (void)state;
    fx_ok0("erp", "receipt.expect", "x1",
           "\"receipt\":\"R5\",\"lines\":[{\"sku\":\"S1\",\"qty\":3}]");
    receive_serial("R5", "SR1", "x2");
    receive_serial("R5", "SR2", "x3");
    receive_serial("R5", "SR3", "x4");
    fx_ok0("erp", "order.upsert", "x5",
           "\"order\":\"SO20\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"S1\",\"qty\":1,"
           "\"lot\":\"SR1\"},{\"sku\":\"S1\",\"qty\":1,\"lot\":\"SR2\"}]");
    pick_serials("SO20", "W20", "T20", both, 2, "x6");
    pack_ship("SO20", "T20", "SH-T20", "006141410000000201", both, 2);
    fx_hget_is(K("serial:S1:SR1"), "state", "picked");
    fx_hget_is(K("serial:S1:SR1"), "order", "SO20");
    serial_issues(issues, sizeof(issues));
    assert_string_equal(issues, "");

    fx_ok0("sup", "rma.authorize", "x7",
           "\"rma\":\"RMA5\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"S1\",\"qty\":2}]");
    fx_refused("rcv1", "return.receive", "x8",
               "\"rma\":\"RMA5\",\"station\":\"RET1\",\"scan\":\"" SCAN_S1("SR3") "\",\"qty\":1",
               "serial SR3 of S1 was never shipped from this site: RMA RMA5 cannot take it");
    fx_refused("rcv1", "return.receive", "x9",
               "\"rma\":\"RMA5\",\"station\":\"RET1\",\"scan\":\"" SCAN_S1("SR9") "\",\"qty\":1",
               "serial SR9 of S1 was never shipped from this site: RMA RMA5 cannot take it");
    /* Shipped, but with another order (its record as a pick for SO99 writes it). */
    fx_exec("HSET %s state picked order SO99", K("serial:S1:SR8"));
    fx_exec("HSET %s S1:SR8 %s", K("serials"), "task PCK-99, tote T99");
    fx_refused("rcv1", "return.receive", "x10",
               "\"rma\":\"RMA5\",\"station\":\"RET1\",\"scan\":\"" SCAN_S1("SR8") "\",\"qty\":1",
               "serial SR8 of S1 was shipped with order SO99, RMA RMA5 is for order SO20");
    fx_exec("DEL %s", K("serial:S1:SR8"));
    fx_exec("HDEL %s S1:SR8", K("serials"));
    r = fx_ok("rcv1", "return.receive", "x11",
              "\"rma\":\"RMA5\",\"station\":\"RET1\",\"scan\":\"" SCAN_S1("SR1") "\",\"qty\":1");
    assert_string_equal(fx_jstr(r, "lot"), "SR1");
    json_decref(r);
    fx_hget_is(K("serials"), "S1:SR1", "returned, RMA RMA5");
    fx_hget_is(K("serial:S1:SR1"), "state", "returned");
    fx_hget_is(K("serial:S1:SR1"), "rma", "RMA5");
    fx_refused("rcv1", "return.receive", "x12",
               "\"rma\":\"RMA5\",\"station\":\"RET1\",\"scan\":\"" SCAN_S1("SR1") "\",\"qty\":1",
               "serial SR1 of S1 is already returned (RMA RMA5), not yet inspected");
    json_decref(
        fx_ok("rcv1", "return.receive", "x13",
              "\"rma\":\"RMA5\",\"station\":\"RET1\",\"scan\":\"" SCAN_S1("SR2") "\","
                                                                                 "\"qty\":1"));
    serial_issues(issues, sizeof(issues));
    assert_string_equal(issues, "");

    /* SR2 scrapped: marked; SR1 restocked: released and put away. */
    json_decref(fx_ok("rcv1", "return.inspect", "x14",
                      "\"rma\":\"RMA5\",\"sku\":\"S1\",\"lot\":\"SR2\",\"qty\":1,"
                      "\"decision\":\"scrap\",\"note\":\"cracked\""));
    fx_hget_is(K("serials"), "S1:SR2", "scrapped, RMA RMA5");
    fx_hget_is(K("serial:S1:SR2"), "state", "scrapped");
    fx_hget_is(K("quant:S1:WH1/Scrap:SR2"), "on_hand", "1");
    r = fx_ok("rcv1", "return.inspect", "x15",
              "\"rma\":\"RMA5\",\"sku\":\"S1\",\"lot\":\"SR1\",\"qty\":1,\"decision\":\"restock\"");
    char put[256];
    snprintf(put, sizeof(put), "\"task\":\"%s\",\"location\":\"%s\"",
             json_string_value(json_object_get(json_object_get(r, "putaway"), "task")),
             putaway_loc(r));
    json_decref(r);
    fx_hget_is(K("serials"), "S1:SR1", NULL);
    fx_hget_is(K("serial:S1:SR1"), "state", "stock");
    json_decref(fx_ok("rcv1", "putaway.confirm", "x16", put));

    /* The restocked SR1 is picked again in a later wave and shipped. */
    fx_ok0("erp", "order.upsert", "x17",
           "\"order\":\"SO22\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"S1\",\"qty\":1,"
           "\"lot\":\"SR1\"}]");
    pick_serials("SO22", "W22", "T22", sr1, 1, "x18");
    pack_ship("SO22", "T22", "SH-T22", "006141410000000222", sr1, 1);
    fx_hget_is(K("serial:S1:SR1"), "state", "picked");
    fx_hget_is(K("serial:S1:SR1"), "order", "SO22");
    fx_hget_is(K("serial:S1:SR1"), "picks", "2");
    fx_hget_is(K("serial:S1:SR1"), "returns", "1");
    char *life = fx_hget(K("serial:S1:SR1"), "life");
    assert_non_null(life);
    json_t *lj = json_loads(life, 0, NULL);
    free(life);
    assert_int_equal(json_array_size(lj), 4);
    static const char *const evs[] = {"pick", "return", "restock", "pick"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(fx_jstr(json_array_get(lj, i), "ev"), evs[i]);
    json_decref(lj);

    /* The scrapped SR2 comes back on no RMA; the twice-shipped SR1 is returned again. */
    fx_ok0("sup", "rma.authorize", "x19",
           "\"rma\":\"RMA6\",\"order\":\"SO22\",\"lines\":[{\"sku\":\"S1\",\"qty\":1}]");
    fx_refused("rcv1", "return.receive", "x20",
               "\"rma\":\"RMA6\",\"station\":\"RET1\",\"scan\":\"" SCAN_S1("SR2") "\",\"qty\":1",
               "serial SR2 of S1 was scrapped (RMA RMA5): it cannot be returned again");
    json_decref(
        fx_ok("rcv1", "return.receive", "x21",
              "\"rma\":\"RMA6\",\"station\":\"RET1\",\"scan\":\"" SCAN_S1("SR1") "\","
                                                                                 "\"qty\":1"));
    serial_issues(issues, sizeof(issues));
    assert_string_equal(issues, "");

    /* SR2 repaired and booked back into stock by two adjustments: still marked scrapped, its
     * pick is refused as scrapped, and the audit sees a serial in stock that is marked. */
    json_decref(fx_ok("sup", "inventory.adjust", "x22a",
                      "\"sku\":\"S1\",\"location\":\"WH1/Scrap\",\"lot\":\"SR2\",\"qty\":-1,"
                      "\"reason\":\"repaired\""));
    json_decref(fx_ok("sup", "inventory.adjust", "x22",
                      "\"sku\":\"S1\",\"location\":\"WH1/Stock/B/2\",\"lot\":\"SR2\",\"qty\":1,"
                      "\"reason\":\"found\""));
    fx_ok0("erp", "order.upsert", "x23",
           "\"order\":\"SO23\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"S1\",\"qty\":1,"
           "\"lot\":\"SR2\"}]");
    json_decref(fx_ok("sup", "wave.plan", "x24", "\"wave\":\"W23\""));
    r = fx_ok("sup", "wave.release", "x25", "\"wave\":\"W23\"");
    const char *batch = json_string_value(json_array_get(json_object_get(r, "batches"), 0));
    char f[512];
    snprintf(f, sizeof(f), "\"batch\":\"%s\"", batch);
    json_decref(r);
    r = fx_ok("sup", "batch.claim", "x26", f);
    json_t *t = json_array_get(json_object_get(r, "tasks"), 0);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/B/2\",\"scan\":\"" SCAN_S1(
                 "SR2") "\",\"qty\":1,\"tote\":\"T23\"",
             fx_jstr(t, "task"));
    json_decref(r);
    /* A refused pick check counts in the KPI hash (pick_errors_serial), so no fx_refused. */
    long long serial_errors = hint(K("kpi"), "pick_errors_serial");
    r = fx_send("sup", "pick.confirm", "x27", f);
    assert_false(json_is_true(json_object_get(r, "ok")));
    assert_string_equal(fx_jstr(r, "error"),
                        "serial SR2 of S1 is scrapped (RMA RMA5): a scrapped unit is never picked");
    json_decref(r);
    assert_int_equal(hint(K("kpi"), "pick_errors_serial"), serial_errors + 1);
    fx_hget_is(K("tote:T23:contents"), "S1:SR2", NULL);
    serial_issues(issues, sizeof(issues));
    assert_string_equal(issues,
                        "S1:SR2 serial in stock is marked out of stock: it can never be picked");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receiving),
        cmocka_unit_test(test_returns),
        cmocka_unit_test(test_serial_returns),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
