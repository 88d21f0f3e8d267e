/* Integration tests of the MQTT command layer (wcs/command) through a real mosquitto (password
 * file and the wcs ACL from the harness) and a real redis-server: every command's happy path and
 * its refusals with exact reply texts, a key dump of the site unchanged by each refusal (journal
 * and request records aside: a refusal is journaled and remembered), replays answered with the
 * stored reply and not executed, role refusals, segregation of duties on adjustments, the bus's
 * own refusals (oversize, malformed JSON, missing request_id), and the broker refusing an
 * unauthenticated client and a publish under another user's name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdfix.h"
#include "rdump.h"
#include "base/clock.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "command/command.h"
#include "store/store.h"

#include <hiredis/hiredis.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE      "t1"
#define P         "wcs/v1/t1/"
#define MAX_BYTES 2048

static const struct fx_user USERS[] = {
    {"sup", HARNESS_ROLE_SUPERVISOR}, {"lead1", HARNESS_ROLE_OPERATOR},
    {"lead2", HARNESS_ROLE_OPERATOR}, {"clerk1", HARNESS_ROLE_OPERATOR},
    {"erp", HARNESS_ROLE_OPERATOR},   {"mallory", HARNESS_ROLE_OPERATOR}};
static const char *const WATCH_TOPICS[] = {"alarm/#", NULL};

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

/* ---- tests ---- */

static void test_order_and_wave_lifecycle(void **state)
{
    json_t *r;
    (void)state;
    /* Stock: 8 of P1 at A/1 (a small adjustment, applied at once), 3 at A/2. */
    r = fx_ok("lead1", "inventory.adjust", "s1",
              "\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":8,\"reason\":\"initial\","
              "\"unit_value_cents\":100");
    assert_true(json_is_true(json_object_get(r, "applied")));
    json_decref(r);
    fx_ok0("lead1", "inventory.adjust", "s2",
           "\"sku\":\"P1\",\"location\":\"WH1/Stock/A/2\",\"qty\":3,\"reason\":\"initial\","
           "\"unit_value_cents\":100");
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "8");

    r = fx_ok("erp", "order.upsert", "o1",
              "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":10}]");
    assert_string_equal(fx_jstr(r, "result"), "created");
    assert_string_equal(fx_jstr(r, "state"), "confirmed");
    json_decref(r);
    assert_int_equal(FX.change.what, CMD_CHANGED_ORDER);
    assert_string_equal(FX.change.id, "SO1");
    r = fx_ok("erp", "order.upsert", "o2",
              "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":10}]");
    assert_string_equal(fx_jstr(r, "result"), "unchanged");
    json_decref(r);
    r = fx_ok("erp", "order.upsert", "o3",
              "\"order\":\"SO1\",\"carrier\":\"DHL\",\"priority\":\"urgent\","
              "\"lines\":[{\"sku\":\"P1\",\"qty\":9}]");
    assert_string_equal(fx_jstr(r, "result"), "updated");
    json_decref(r);
    fx_ok0("erp", "order.upsert", "o4",
           "\"order\":\"SO2\",\"carrier\":\"UPS\",\"lines\":[{\"sku\":\"P1\",\"qty\":5}]");

    r = fx_ok("erp", "order.hold", "o5", "\"order\":\"SO1\"");
    assert_true(json_is_true(json_object_get(r, "hold")));
    json_decref(r);
    fx_refused("erp", "order.hold", "o6", "\"order\":\"SO1\"", "order SO1 is already on hold");
    fx_refused("lead1", "wave.plan", "w0", "\"wave\":\"W0\",\"carrier\":\"DHL\"",
               "no confirmed order without a hold for carrier DHL to wave");
    r = fx_ok("erp", "order.release", "o7", "\"order\":\"SO1\"");
    assert_true(json_is_false(json_object_get(r, "hold")));
    json_decref(r);
    fx_refused("erp", "order.release", "o8", "\"order\":\"SO1\"", "order SO1 is not on hold");

    /* Stock in the quality location is never reserved. */
    fx_exec("HSET %s on_hand %s", K("quant:P1:WH1/Quality:"), "50");
    fx_exec("SADD %s %s", K("sku:P1:quants"), K("quant:P1:WH1/Quality:"));
    fx_exec("HSET %s loc %s", K("quant:P1:WH1/Quality:"), "WH1/Quality");
    /* SO1 (urgent, 9) goes first and takes 8 + 1; SO2 needs 5 with 2 left: skipped. */
    r = fx_ok("lead1", "wave.plan", "w1", "\"wave\":\"W1\"");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "orders"), 0)), "SO1");
    assert_int_equal(json_array_size(json_object_get(r, "orders")), 1);
    json_t *sk = json_array_get(json_object_get(r, "skipped"), 0);
    assert_string_equal(fx_jstr(sk, "order"), "SO2");
    assert_string_equal(fx_jstr(sk, "reason"),
                        "line 0 (P1): Short: all 11 units in stock are reserved for other lines (2 "
                        "reserved).");
    /* The planner's backorder record of the short line. */
    json_t *bo = json_array_get(json_object_get(r, "backorders"), 0);
    assert_string_equal(fx_jstr(bo, "order"), "SO2");
    assert_string_equal(fx_jstr(bo, "code"), "SHORT_RESERVED");
    assert_int_equal(fx_jint(bo, "qty"), 3);
    assert_int_equal(fx_jint(r, "units"), 9);
    json_decref(r);
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "8");
    fx_hget_is(K("quant:P1:WH1/Stock/A/2:"), "reserved", "1");
    char *q_res = fx_hget(K("quant:P1:WH1/Quality:"), "reserved");
    assert_null(q_res);
    fx_hget_is(K("order:SO1"), "state", "waved");
    fx_hget_is(K("order:SO1:resv"), K("quant:P1:WH1/Stock/A/1:"), "8");
    fx_refused("lead1", "wave.plan", "w2", "\"wave\":\"W1\"", "wave W1 exists");
    fx_refused("lead1", "wave.plan", "w3", "\"wave\":\"W2\"",
               "no order can be waved: SO2 line 0 (P1): Short: all 11 units in stock are reserved "
               "for other lines (2 reserved).");
    fx_refused("erp", "order.upsert", "o9",
               "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
               "order SO1 is waved: only a draft or confirmed order can be changed");
    fx_refused("erp", "order.hold", "o10", "\"order\":\"SO1\"",
               "order SO1 is waved: only a draft, confirmed or reserved order can be held");

    r = fx_ok("lead1", "wave.release", "w4", "\"wave\":\"W1\"");
    assert_string_equal(fx_jstr(r, "state"), "released");
    json_decref(r);
    fx_refused("lead1", "wave.release", "w5", "\"wave\":\"W1\"",
               "wave W1 is released: only a planned wave can be released");
    r = fx_ok("lead1", "wave.cancel", "w6", "\"wave\":\"W1\"");
    assert_string_equal(fx_jstr(r, "state"), "cancelled");
    assert_int_equal(fx_jint(r, "unreserved"), 9);
    json_decref(r);
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "0");
    fx_hget_is(K("order:SO1"), "state", "confirmed");
    fx_refused("lead1", "wave.cancel", "w7", "\"wave\":\"W1\"",
               "wave W1 is cancelled: it can no longer be cancelled");
    fx_refused("lead1", "wave.release", "w8", "\"wave\":\"W9\"", "unknown wave \"W9\"");

    /* Cancel gives reservations back: wave SO1 again, then cancel the order. */
    fx_ok0("lead1", "wave.plan", "w9", "\"wave\":\"W3\",\"carrier\":\"DHL\"");
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "8");
    r = fx_ok("erp", "order.cancel", "o11", "\"order\":\"SO1\"");
    assert_string_equal(fx_jstr(r, "state"), "cancelled");
    assert_int_equal(fx_jint(r, "unreserved"), 9);
    json_decref(r);
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "0");
    fx_hget_is(K("quant:P1:WH1/Stock/A/2:"), "reserved", "0");
    fx_hget_is(K("wave:W3"), "orders", "[]");
    fx_refused("erp", "order.cancel", "o12", "\"order\":\"SO1\"",
               "order SO1 is cancelled: no further changes");
    fx_refused("erp", "order.upsert", "o13",
               "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
               "order SO1 is cancelled: no further changes");
    fx_refused("erp", "order.cancel", "o14", "\"order\":\"NOPE\"", "unknown order \"NOPE\"");
    /* A draft is not waved until released. */
    fx_ok0("erp", "order.upsert", "o15",
           "\"order\":\"SO3\",\"carrier\":\"DHL\",\"draft\":true,"
           "\"lines\":[{\"sku\":\"P1\",\"qty\":1}]");
    fx_refused("lead1", "wave.plan", "w10", "\"wave\":\"W4\",\"carrier\":\"DHL\"",
               "no confirmed order without a hold for carrier DHL to wave");
    r = fx_ok("erp", "order.release", "o16", "\"order\":\"SO3\"");
    assert_string_equal(fx_jstr(r, "state"), "confirmed");
    json_decref(r);
}

static void test_refusals_change_nothing(void **state)
{
    (void)state;
    fx_refused("erp", "order.destroy", "x1", "\"order\":\"SO1\"",
               "unknown command \"order.destroy\"");
    fx_refused("clerk1", "order.cancel", "x2", "\"order\":\"SO2\"",
               "user \"clerk1\" (roles clerk) may not run \"order.cancel\"");
    fx_refused("mallory", "order.upsert", "x3", "\"order\":\"SO9\"",
               "user \"mallory\" is not configured");
    fx_refused("erp", "order.upsert", "x4",
               "\"order\":\"SO9\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":\"2\"}]",
               "field \"lines[0].qty\": expected an integer in 1..1073741824");
    fx_refused("erp", "order.upsert", "x5",
               "\"order\":\"SO9\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"NOPE\",\"qty\":2}]",
               "field \"lines[0].sku\": unknown product \"NOPE\"");
    fx_refused(
        "erp", "order.upsert", "x6",
        "\"order\":\"SO9\",\"carrier\":\"DHL\",\"color\":\"red\","
        "\"lines\":[{\"sku\":\"P1\",\"qty\":2}]",
        "field \"color\": unknown field (allowed: order, carrier, priority, ship_date, zone, "
        "ship_to, draft, lines)");
    fx_refused("lead1", "inventory.adjust", "x7",
               "\"sku\":\"P1\",\"location\":\"WH1/Stock/A/3\",\"qty\":-1,\"reason\":\"x\","
               "\"unit_value_cents\":1",
               "quant " K("quant:P1:WH1/Stock/A/3:") " has 0, adjust -1 would make it negative");
    /* A request_id with ':' is remembered under a hashed key. */
    fx_refused("erp", "order.hold", "ui-1:2", "\"order\":\"NOPE\"", "unknown order \"NOPE\"");
}

static void test_replay_answers_stored_reply(void **state)
{
    (void)state;
    json_t *a =
        fx_ok("erp", "order.upsert", "rp:1",
              "\"order\":\"SO7\",\"carrier\":\"UPS\",\"lines\":[{\"sku\":\"P2\",\"qty\":4}]");
    long long j0 = fx_xlen();
    size_t n0, n1;
    char *d0 = fx_dump(&n0);
    /* Same request_id, different body: the stored reply, nothing executed or journaled. */
    json_t *b =
        fx_send("erp", "order.upsert", "rp:1",
                "\"order\":\"SO8\",\"carrier\":\"UPS\",\"lines\":[{\"sku\":\"P2\",\"qty\":1}]");
    json_object_del(a, "ts");
    json_object_del(a, "seq");
    json_object_del(b, "ts");
    json_object_del(b, "seq");
    assert_true(json_equal(a, b));
    assert_string_equal(fx_jstr(b, "result"), "created");
    loop_run_once(FX.loop, 50);
    assert_int_equal(fx_xlen(), j0);
    char *d1 = fx_dump(&n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    char *none = fx_hget(K("order:SO8"), "state");
    assert_null(none);
    json_decref(a);
    json_decref(b);
    free(d0);
    free(d1);
    /* A refusal replays identically too. */
    json_t *c = fx_send("clerk1", "order.cancel", "x2", "\"order\":\"SO7\"");
    assert_string_equal(fx_jstr(c, "error"),
                        "user \"clerk1\" (roles clerk) may not run \"order.cancel\"");
    json_decref(c);
    fx_hget_is(K("order:SO7"), "state", "confirmed");
    assert_true(FX.cmd.stats.replayed >= 2);
}

/* Redis hangs (SIGSTOP) with a command's claim in flight: the store gives the link up after its
 * command timeout and the command is answered as not executed, to be sent with a new id. The
 * woken server still runs the claim it held; the stored refusal replaces it, so a repeat of the
 * id is answered with that refusal, not "still being processed" for the claim's TTL. */
static void test_claim_lost_to_hung_redis(void **state)
{
    const char *want = "store unavailable (Connection timed out): not executed; "
                       "retry with a new request_id";
    pid_t pid = harness_redis_pid(FX.redis);
    (void)state;
    assert_true(FX.store_up);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    json_t *a = fx_send("lead1", "wave.plan", "hung1", "\"wave\":\"WH1\"");
    assert_int_equal(kill(pid, SIGCONT), 0);
    assert_string_equal(fx_jstr(a, "error"), want);
    json_decref(a);
    for (int i = 0; i < 600 && !FX.store_up; i++)
        loop_run_once(FX.loop, 10);
    assert_true(FX.store_up);
    /* the settle goes out behind the reconnect: answered once Redis holds the reply */
    char *v = NULL;
    for (int i = 0; i < 300; i++) {
        redisReply *r = fx_redis("GET %s", K("req:lead1:hung1"));
        free(v);
        v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
        freeReplyObject(r);
        if (v && v[0] == '{')
            break;
        loop_run_once(FX.loop, 10);
    }
    assert_non_null(v);
    assert_non_null(strstr(v, "retry with a new request_id"));
    free(v);
    json_t *b = fx_send("lead1", "wave.plan", "hung1", "\"wave\":\"WH1\"");
    assert_string_equal(fx_jstr(b, "error"), want);
    json_decref(b);
    char *none = fx_hget(K("wave:WH1"), "state");
    assert_null(none);
    /* a new id runs */
    json_decref(fx_ok("lead1", "wave.plan", "hung2", "\"wave\":\"WH1\""));
}

static void test_segregation_of_duties(void **state)
{
    json_t *r;
    (void)state;
    char *v0 = fx_hget(K("kpi"), "adjusted_value_cents");
    long long value0 = v0 ? atoll(v0) : 0;
    free(v0);
    fx_ok0("lead1", "inventory.adjust", "d0",
           "\"sku\":\"L1\",\"location\":\"WH1/Stock/A/3\",\"lot\":\"LOT1\",\"qty\":5,"
           "\"reason\":\"initial\",\"unit_value_cents\":100");
    /* The value of an applied adjustment is counted (5 x 1.00). */
    char vbuf[32];
    snprintf(vbuf, sizeof(vbuf), "%lld", value0 + 500);
    fx_hget_is(K("kpi"), "adjusted_value_cents", vbuf);
    size_t from = tc_count(FX.watch);
    r = fx_ok("lead1", "inventory.adjust", "d1",
              "\"sku\":\"L1\",\"location\":\"WH1/Stock/A/3\",\"lot\":\"LOT1\",\"qty\":25,"
              "\"reason\":\"found pallet\",\"unit_value_cents\":100");
    assert_true(json_is_false(json_object_get(r, "applied")));
    assert_string_equal(fx_jstr(r, "state"), "pending");
    assert_string_equal(fx_jstr(r, "why"), "quantity 25 above the threshold of 10");
    char approval[32];
    snprintf(approval, sizeof(approval), "%s", fx_jstr(r, "approval"));
    json_decref(r);
    fx_hget_is(K("quant:L1:WH1/Stock/A/3:LOT1"), "on_hand", "5");
    char alarm_topic[96], alarm_key[96], fields[96];
    snprintf(alarm_topic, sizeof(alarm_topic), P "alarm/approval-%s", approval);
    snprintf(alarm_key, sizeof(alarm_key), K("alarm:approval-%s"), approval);
    FX_PUMP_UNTIL(tc_find(FX.watch, from, alarm_topic, "requester") >= 0, 3000);
    assert_true(tc_find(FX.watch, from, alarm_topic, "\"requester\":\"lead1\"") >= 0);
    fx_hget_is(alarm_key, "state", "active");

    snprintf(fields, sizeof(fields), "\"approval\":\"%s\"", approval);
    fx_refused("lead1", "adjust.approve", "d2", fields, "approver must differ from requester");
    fx_refused("clerk1", "adjust.approve", "d3", fields,
               "user \"clerk1\" (roles clerk) may not run \"adjust.approve\"");
    fx_refused("lead2", "adjust.approve", "d4", "\"approval\":\"ADJ-999\"",
               "unknown approval \"ADJ-999\"");
    from = tc_count(FX.watch);
    r = fx_ok("lead2", "adjust.approve", "d5", fields);
    assert_int_equal(fx_jint(r, "on_hand"), 30);
    assert_int_equal(fx_jint(r, "qty"), 25);
    assert_string_equal(fx_jstr(r, "requester"), "lead1");
    json_decref(r);
    fx_hget_is(K("quant:L1:WH1/Stock/A/3:LOT1"), "on_hand", "30");
    /* ... and an approved one's (25 x 1.00) when it is applied. */
    snprintf(vbuf, sizeof(vbuf), "%lld", value0 + 3000);
    fx_hget_is(K("kpi"), "adjusted_value_cents", vbuf);
    char *gone = fx_hget(alarm_key, "state");
    assert_null(gone);
    FX_PUMP_UNTIL(tc_find(FX.watch, from, alarm_topic, NULL) >= 0, 3000);
    long i = tc_find(FX.watch, from, alarm_topic, NULL);
    assert_true(i >= 0);
    assert_int_equal(tc_msg(FX.watch, (size_t)i)->len, 0); /* cleared */
    char *actor = fx_journal_last("after");
    assert_non_null(strstr(actor, "\"approver\":\"lead2\""));
    free(actor);
    char want[64];
    snprintf(want, sizeof(want), "approval %s is approved", approval);
    fx_refused("sup", "adjust.approve", "d6", fields, want);
    /* The value threshold alone: 10 units at 60.00 each. */
    r = fx_ok("clerk1", "inventory.adjust", "d7",
              "\"sku\":\"P2\",\"location\":\"WH1/Stock/A/3\",\"qty\":10,\"reason\":\"found\","
              "\"unit_value_cents\":6000");
    assert_string_equal(fx_jstr(r, "why"), "value 60000 cents above the threshold of 50000 cents");
    json_decref(r);
    /* A decrease the stock cannot take is refused when requested. */
    fx_refused(
        "clerk1", "inventory.adjust", "d8",
        "\"sku\":\"L1\",\"location\":\"WH1/Stock/A/3\",\"lot\":\"LOT1\",\"qty\":-31,"
        "\"reason\":\"lost\",\"unit_value_cents\":1",
        "quant " K("quant:L1:WH1/Stock/A/3:LOT1") " has 30, adjust -31 would make it negative");
}

static void test_rma_device_count_label_alarm(void **state)
{
    json_t *r;
    (void)state;
    fx_ok0("erp", "order.upsert", "m1",
           "\"order\":\"SO20\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":3},"
           "{\"sku\":\"P2\",\"qty\":1}]");
    fx_refused("erp", "rma.authorize", "m2",
               "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
               "order SO20 is confirmed: only a shipped order can be returned");
    fx_exec("HSET %s state %s", K("order:SO20"), "shipped"); /* the shipping flow's job */
    fx_refused(
        "erp", "rma.authorize", "m3",
        "\"rma\":\"R1\",\"order\":\"SO20\",\"credit\":true,\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
        "\"rma.authorize\" needs a supervisor role (approve: true); user \"erp\" has roles erp");
    fx_refused("erp", "rma.authorize", "m4",
               "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"P1\",\"qty\":4}]",
               "order SO20 shipped 3 of P1, the RMA asks 4");
    fx_refused("erp", "rma.authorize", "m5",
               "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"L1\",\"qty\":1}]",
               "order SO20 has no line for L1");
    fx_refused("erp", "rma.authorize", "m6",
               "\"rma\":\"R1\",\"order\":\"SO99\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
               "unknown order \"SO99\"");
    r = fx_ok("erp", "rma.authorize", "m7",
              "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"P1\",\"qty\":2}]");
    assert_int_equal(fx_jint(r, "units"), 2);
    assert_true(json_is_false(json_object_get(r, "credit")));
    json_decref(r);
    r = fx_ok(
        "sup", "rma.authorize", "m8",
        "\"rma\":\"R2\",\"order\":\"SO20\",\"credit\":true,\"lines\":[{\"sku\":\"P2\",\"qty\":1}]");
    assert_true(json_is_true(json_object_get(r, "credit")));
    json_decref(r);
    fx_hget_is(K("rma:R2"), "credit", "1");
    fx_refused("sup", "rma.authorize", "m9",
               "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
               "RMA R1 exists");

    fx_refused(
        "clerk1", "device.disable", "v1", "\"device\":\"prn1\"",
        "\"device.disable\" needs a supervisor role (approve: true); user \"clerk1\" has roles "
        "clerk");
    r = fx_ok("lead1", "device.disable", "v2", "\"device\":\"prn1\",\"reason\":\"jammed\"");
    assert_string_equal(fx_jstr(r, "state"), "disabled");
    json_decref(r);
    assert_int_equal(FX.change.what, CMD_CHANGED_DEVICE);
    assert_string_equal(FX.change.state, "disabled");
    fx_refused("lead1", "device.disable", "v3", "\"device\":\"prn1\"",
               "device prn1 is already disabled");
    fx_ok0("lead1", "device.enable", "v4", "\"device\":\"prn1\"");
    fx_hget_is(K("device:prn1"), "enabled", "1");
    fx_refused("lead1", "device.enable", "v5", "\"device\":\"ghost\"",
               "field \"device\": unknown device \"ghost\"");

    /* Count and pick tasks share the task counter (wave.release made PCK-1, PCK-2 above). */
    redisReply *seq = redisCommand(FX.rc, "GET %s", K("task:seq"));
    char want_task[32], want_key[64], want_err[128];
    snprintf(want_task, sizeof(want_task), "CNT-%lld",
             (seq->type == REDIS_REPLY_STRING ? atoll(seq->str) : 0) + 1);
    freeReplyObject(seq);
    r = fx_ok("clerk1", "count.request", "c1", "\"location\":\"WH1/Stock/A/2\",\"sku\":\"P1\"");
    char task[32];
    snprintf(task, sizeof(task), "%s", fx_jstr(r, "task"));
    json_decref(r);
    assert_string_equal(task, want_task);
    snprintf(want_key, sizeof(want_key), K("task:%s"), want_task);
    fx_hget_is(want_key, "target", "WH1/Stock/A/2");
    snprintf(want_err, sizeof(want_err), "location WH1/Stock/A/2 already has an open count %s",
             want_task);
    fx_refused("clerk1", "count.request", "c2", "\"location\":\"WH1/Stock/A/2\"", want_err);
    fx_refused("clerk1", "count.request", "c3", "\"location\":\"WH1/Stock\"",
               "field \"location\": WH1/Stock is a view location and holds no stock");

    fx_refused("clerk1", "label.reprint", "l1", "\"shipment\":\"SH1\"", "unknown shipment \"SH1\"");
    fx_exec("HSET %s tote %s", K("shipment:SH1"), "T7"); /* written by store_ship */
    r = fx_ok("clerk1", "label.reprint", "l2", "\"shipment\":\"SH1\",\"printer\":\"prn1\"");
    assert_string_equal(fx_jstr(r, "tote"), "T7");
    json_decref(r);
    assert_int_equal(FX.change.what, CMD_CHANGED_TOTE);

    fx_refused("lead1", "alarm.ack", "a1", "\"alarm\":\"jam-3\"", "unknown alarm \"jam-3\"");
    fx_exec("HSET %s state %s", K("alarm:jam-3"), "active");
    fx_ok0("lead1", "alarm.ack", "a2", "\"alarm\":\"jam-3\",\"note\":\"cleared the belt\"");
    fx_hget_is(K("alarm:jam-3"), "acked_by", "lead1");
    fx_refused("lead2", "alarm.ack", "a3", "\"alarm\":\"jam-3\"",
               "alarm jam-3 was acknowledged by lead1");
}

static void test_bus_level_refusals(void **state)
{
    char big[MAX_BYTES + 200], want[128];
    size_t n0, n1;
    (void)state;
    char *d0 = fx_dump(&n0);
    long long j0 = fx_xlen();
    uint64_t handled = FX.cmd.stats.handled;
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "{\"request_id\":\"big\",\"order\":\"SO1\"}", 34);
    json_t *r = fx_send_raw("erp", "order.hold", "_invalid", big);
    snprintf(want, sizeof(want), "payload of %zu bytes exceeds the limit of %d bytes", strlen(big),
             MAX_BYTES);
    assert_string_equal(fx_jstr(r, "error"), want);
    json_decref(r);
    r = fx_send_raw("erp", "order.hold", "_invalid", "{\"request_id\":\"j1\",\"order\":");
    assert_non_null(strstr(fx_jstr(r, "error"), "invalid JSON at line 1"));
    json_decref(r);
    r = fx_send_raw("erp", "order.hold", "_invalid", "{\"order\":\"SO1\"}");
    assert_string_equal(fx_jstr(r, "error"), "field \"request_id\": missing");
    json_decref(r);
    char *d1 = fx_dump(&n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    assert_int_equal(fx_xlen(), j0);
    assert_int_equal(FX.cmd.stats.handled, handled);
    free(d0);
    free(d1);
}

static void test_broker_refuses(void **state)
{
    size_t n0, n1;
    (void)state;
    /* A wrong password: the broker refuses the connection. */
    assert_null(tc_open(FX.uri, "intruder", "erp", "not-the-password", 5, false));
    assert_null(tc_open(FX.uri, "anon", NULL, NULL, 5, false));
    /* erp publishing under lead1's name: dropped by the broker (PUBACK 0x87), never handled. */
    char *d0 = fx_dump(&n0);
    uint64_t handled = FX.cmd.stats.handled;
    const char *body = "{\"request_id\":\"evil1\",\"wave\":\"W66\"}";
    assert_int_equal(
        tc_pub(fx_tc("erp"), P "cmd/lead1/wave.plan", body, strlen(body), 1, false, NULL, NULL),
        -1);
    FX_PUMP_UNTIL(false, 300);
    assert_int_equal(FX.cmd.stats.handled, handled);
    assert_int_equal(tc_find(fx_tc("lead1"), 0, P "reply/lead1/evil1", NULL), -1);
    char *d1 = fx_dump(&n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    free(d0);
    free(d1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_wave_lifecycle),
        cmocka_unit_test(test_refusals_change_nothing),
        cmocka_unit_test(test_replay_answers_stored_reply),
        cmocka_unit_test(test_claim_lost_to_hung_redis),
        cmocka_unit_test(test_segregation_of_duties),
        cmocka_unit_test(test_rma_device_count_label_alarm),
        cmocka_unit_test(test_bus_level_refusals),
        cmocka_unit_test(test_broker_refuses),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
