/* Integration tests of the picking flow (wcs/command pick commands, wcs/store/pick_ops.c and its
 * scripts) through a real mosquitto (password file and ACL from the harness) and redis-server:
 * wave.plan keeping its batches and wave.release making pick tasks, batches and pack stations;
 * batch.claim (first by cutoff, by id, refusals); pick.confirm with every refused check (wrong
 * location, product, lot, expiry, quantity, tote) changing nothing but the pick error counters,
 * partial and full picks moving the stock into the tote, the order waved -> picking -> picked,
 * the batch done; replays; role refusals; the events on evt/task and state/batch; the serial rule
 * (a serial-tracked product: AI 21, one unit, the task's serial, not picked before; the serial
 * recorded in the tote's serials set and the site's serials hash); pick.short of a serial-tracked
 * line (the serial rule on the found part, the missing serial released and counted, another
 * serial re-reserved, a backorder when none is free). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdfix.h"
#include "base/clock.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "command/command.h"
#include "command/taskhint.h"
#include "store/store.h"

#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE      "t3"
#define P         "wcs/v1/t3/"
#define MAX_BYTES 8192

static const struct fx_user USERS[] = {{"sup", HARNESS_ROLE_SUPERVISOR},
                                       {"picker1", HARNESS_ROLE_OPERATOR},
                                       {"picker2", HARNESS_ROLE_OPERATOR},
                                       {"clerk1", HARNESS_ROLE_OPERATOR},
                                       {"erp", HARNESS_ROLE_OPERATOR}};

/* Refused pick checks count in the KPI hash: fx_refused leaves it out (compared on its own). */
static bool skip_kpi(const char *key, void *arg)
{
    (void)arg;
    return strcmp(key, "wcs:{" SITE "}:kpi") == 0;
}

static const char *const WATCH_TOPICS[] = {"evt/task", "state/batch/#", "evt/backorder", NULL};

static int setup(void **state)
{
    (void)state;
    struct fx_opts o = {.site_yaml = SITE_YAML,
                        .users = USERS,
                        .n_users = sizeof(USERS) / sizeof(USERS[0]),
                        .skip_key = skip_kpi,
                        .max_payload_bytes = MAX_BYTES,
                        .watch = WATCH_TOPICS};
    return fx_open(&o);
}

#define K(x) "wcs:{" SITE "}:" x

static void quant(const char *sku, const char *loc, const char *lot, int on_hand,
                  const char *expiry)
{
    char k[256];
    redisReply *r;
    snprintf(k, sizeof(k), K("quant:%s:%s:%s"), sku, loc, lot);
    r = redisCommand(FX.rc,
                     "HSET %s sku %s loc %s lot %s on_hand %d reserved 0 expiry %s in_date %s", k,
                     sku, loc, lot, on_hand, expiry, "2024-01-01");
    freeReplyObject(r);
    r = redisCommand(FX.rc, "SADD " K("sku:%s:quants") " %s", sku, k);
    freeReplyObject(r);
}

static long kpi(const char *field)
{
    char *v = fx_hget(K("kpi"), field);
    long n = v ? atol(v) : 0;
    free(v);
    return n;
}

/* A pick check refused: the exact reply text, nothing changed but the journal, the request and
 * the pick error counters (total and kind +1). */
static void pick_refused(const char *user, const char *rid, const char *fields, const char *kind,
                         const char *want)
{
    char f[64];
    long total = kpi("pick_errors"), by_kind;
    snprintf(f, sizeof(f), "pick_errors_%s", kind);
    by_kind = kpi(f);
    fx_refused(user, "pick.confirm", rid, fields, want);
    assert_int_equal(kpi("pick_errors"), total + 1);
    assert_int_equal(kpi(f), by_kind + 1);
}

static size_t events_with(const char *topic, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < tc_count(FX.watch); i++) {
        const struct tmsg *m = tc_msg(FX.watch, i);
        if (strcmp(m->topic, topic) == 0 && strstr(m->payload, needle))
            n++;
    }
    return n;
}

static char P1_TASK[32], L1_TASK[32];

static void test_release_claim_confirm(void **state)
{
    json_t *r, *tasks, *t;
    size_t i;
    (void)state;
    quant("P1", "WH1/Stock/A/1", "", 10, "");
    quant("L1", "WH1/Stock/A/2", "LOT1", 10, "2030-12-31");
    fx_ok0("erp", "order.upsert", "o1",
           "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":3},"
           "{\"sku\":\"L1\",\"qty\":2}]");
    fx_ok0("erp", "order.upsert", "o2",
           "\"order\":\"SO2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]");
    r = fx_ok("sup", "wave.plan", "w1", "\"wave\":\"W1\"");
    json_decref(r);
    char *plan = fx_hget(K("wave:W1"), "batch_plan");
    assert_non_null(plan);
    assert_non_null(strstr(plan, "\"picks\""));
    free(plan);

    /* Claiming before the release: nothing released. */
    fx_refused("picker1", "batch.claim", "c0", "", "no released batch to claim");

    r = fx_ok("sup", "wave.release", "r1", "\"wave\":\"W1\"");
    assert_string_equal(fx_jstr(r, "state"), "released");
    assert_int_equal(fx_jint(r, "tasks"), 3);
    assert_int_equal(json_array_size(json_object_get(r, "batches")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "batches"), 0)),
                        "W1-B1");
    json_decref(r);
    fx_hget_is(K("batch:W1-B1"), "state", "released");
    fx_hget_is(K("order:SO1"), "tasks_open", "2");
    /* Round-robin pack stations, one per order. */
    char *s1 = fx_hget(K("order:SO1"), "pack_station"),
         *s2 = fx_hget(K("order:SO2"), "pack_station");
    assert_non_null(s1);
    assert_non_null(s2);
    assert_string_not_equal(s1, s2);
    assert_true(strcmp(s1, "PK1") == 0 || strcmp(s1, "PK2") == 0);
    free(s1);
    free(s2);
    /* A second release is refused. */
    fx_refused("sup", "wave.release", "r2", "\"wave\":\"W1\"",
               "wave W1 is released: only a planned wave can be released");

    /* picker1 claims the first released batch: its tasks in path order with GTINs. */
    r = fx_ok("picker1", "batch.claim", "c1", "");
    assert_string_equal(fx_jstr(r, "batch"), "W1-B1");
    assert_string_equal(fx_jstr(r, "wave"), "W1");
    tasks = json_object_get(r, "tasks");
    assert_int_equal(json_array_size(tasks), 3);
    json_array_foreach(tasks, i, t)
    {
        const char *sku = json_string_value(json_object_get(t, "sku"));
        const char *order = json_string_value(json_object_get(t, "order"));
        assert_int_equal(json_integer_value(json_object_get(t, "seq")), (json_int_t)i + 1);
        if (strcmp(sku, "P1") == 0 && strcmp(order, "SO1") == 0) {
            snprintf(P1_TASK, sizeof(P1_TASK), "%s", fx_jstr(t, "task"));
            assert_string_equal(fx_jstr(t, "gtin"), "09506000134352");
            assert_string_equal(fx_jstr(t, "location"), "WH1/Stock/A/1");
            assert_int_equal(json_integer_value(json_object_get(t, "qty")), 3);
        } else if (strcmp(sku, "L1") == 0) {
            snprintf(L1_TASK, sizeof(L1_TASK), "%s", fx_jstr(t, "task"));
            assert_string_equal(fx_jstr(t, "lot"), "LOT1");
            assert_string_equal(fx_jstr(t, "expiry"), "2030-12-31");
        }
    }
    assert_true(P1_TASK[0] && L1_TASK[0]);
    json_decref(r);
    fx_hget_is(K("batch:W1-B1"), "assignee", "picker1");
    fx_refused("picker2", "batch.claim", "c2", "\"batch\":\"W1-B1\"",
               "batch W1-B1 is assigned to picker1");
    fx_refused("picker2", "batch.claim", "c3", "", "no released batch to claim");
    /* The holder may claim it again (an RF device restarted). */
    json_decref(fx_ok("picker1", "batch.claim", "c4", "\"batch\":\"W1-B1\""));

    /* Every refused check: nothing moves, the error is counted by kind. */
    char f[512];
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/3\",\"scan\":\"]C10109506000134352\","
             "\"qty\":1,\"tote\":\"T1\"",
             P1_TASK);
    char want[256];
    snprintf(want, sizeof(want), "scanned location WH1/Stock/A/3 is not WH1/Stock/A/1 of task %s",
             P1_TASK);
    pick_refused("picker1", "e1", f, "location", want);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"9506000134369\","
             "\"qty\":1,\"tote\":\"T1\"",
             P1_TASK);
    snprintf(want, sizeof(want), "scanned GTIN 09506000134369 is product P2, task %s is for P1",
             P1_TASK);
    pick_refused("picker1", "e2", f, "product", want);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/2\",\"scan\":\"]C10109506000134376\","
             "\"qty\":1,\"tote\":\"T1\"",
             L1_TASK);
    snprintf(want, sizeof(want), "scan has no lot (AI 10), task %s is for lot LOT1", L1_TASK);
    pick_refused("picker1", "e3", f, "lot", want);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/2\","
             "\"scan\":\"(01)09506000134376(17)301231(10)LOT2\",\"qty\":1,\"tote\":\"T1\"",
             L1_TASK);
    snprintf(want, sizeof(want), "scanned lot LOT2, task %s is for lot LOT1", L1_TASK);
    pick_refused("picker1", "e4", f, "lot", want);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/2\","
             "\"scan\":\"]C1010950600013437617301130\\u001d10LOT1\",\"qty\":1,\"tote\":\"T1\"",
             L1_TASK);
    snprintf(want, sizeof(want), "scanned expiry 2030-11-30, task %s is for expiry 2030-12-31",
             L1_TASK);
    pick_refused("picker1", "e5", f, "expiry", want);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]C10109506000134352\","
             "\"qty\":4,\"tote\":\"T1\"",
             P1_TASK);
    snprintf(want, sizeof(want), "qty 4 is more than the 3 remaining on task %s", P1_TASK);
    pick_refused("picker1", "e6", f, "qty", want);
    fx_exec("HSET %s order %s state picking", K("tote:T9"), "SO9");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]C10109506000134352\","
             "\"qty\":1,\"tote\":\"T9\"",
             P1_TASK);
    snprintf(want, sizeof(want), "tote T9 holds order SO9, task %s is for order SO1", P1_TASK);
    pick_refused("picker1", "e7", f, "tote", want);
    /* A scan that is no barcode is a field error, not a pick error. */
    long errors = kpi("pick_errors");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]C10109506000134353\","
             "\"qty\":1,\"tote\":\"T1\"",
             P1_TASK);
    fx_refused("picker1", "pick.confirm", "e8", f,
               "field \"scan\": AI (01): check digit 2 expected, got 3");
    assert_int_equal(kpi("pick_errors"), errors);
    assert_int_equal(FX.cmd.stats.pick_errors, 7);

    /* A partial pick: the order starts picking, the task stays next. The RF device sends it
     * twice at once (a resend before the answer): each copy's task read and script go out in
     * the round trip of its claim, and the script of the copy whose claim lost is refused by
     * the claim's guard, so the pick is applied once; that copy is answered "still being
     * processed" (or with the stored reply, had the first finished). */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]C10109506000134352\","
             "\"qty\":2,\"tote\":\"T1\"",
             P1_TASK);
    struct tclient *pc = fx_tc("picker1");
    size_t from = tc_count(pc);
    fx_send_async("picker1", "pick.confirm", "p1", f);
    fx_send_async("picker1", "pick.confirm", "p1", f);
    long first = -1, second = -1;
    FX_PUMP_UNTIL((first = tc_find(pc, from, P "reply/picker1/p1", NULL)) >= 0 &&
                      (second = tc_find(pc, (size_t)first + 1, P "reply/picker1/p1", NULL)) >= 0,
                  5000);
    assert_true(first >= 0 && second >= 0);
    int oks = 0;
    for (int k = 0; k < 2; k++) {
        json_t *a = json_loads(tc_msg(pc, (size_t)(k ? second : first))->payload, 0, NULL);
        assert_non_null(a);
        if (json_is_true(json_object_get(a, "ok"))) {
            assert_int_equal(fx_jint(a, "picked"), 2);
            oks++;
        } else {
            assert_string_equal(fx_jstr(a, "error"), "request_id \"p1\" is still being processed");
        }
        json_decref(a);
    }
    assert_true(oks >= 1);
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "8");
    fx_hget_is(K("tote:T1:contents"), "P1:", "2");
    r = fx_ok("picker1", "pick.confirm", "p1", f);
    assert_int_equal(fx_jint(r, "picked"), 2);
    assert_int_equal(fx_jint(r, "remaining"), 1);
    assert_string_equal(fx_jstr(r, "order"), "SO1");
    assert_string_equal(fx_jstr(r, "order_state"), "picking");
    json_decref(r);
    /* A replay is answered with the stored reply and moves nothing more. */
    r = fx_ok("picker1", "pick.confirm", "p1", f);
    assert_int_equal(fx_jint(r, "remaining"), 1);
    json_decref(r);
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "8");
    fx_hget_is(K("tote:T1:contents"), "P1:", "2");
    fx_hget_is(K("order:SO1"), "state", "picking");
    /* The lot product, scanned as GS1-128 with lot and expiry, in full. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/2\","
             "\"scan\":\"]C10109506000134376173012311"
             "0LOT1\",\"qty\":2,\"tote\":\"T1\"",
             L1_TASK);
    r = fx_ok("picker1", "pick.confirm", "p2", f);
    assert_int_equal(fx_jint(r, "remaining"), 0);
    assert_string_equal(fx_jstr(r, "order_state"), "picking");
    json_decref(r);
    fx_hget_is(K("quant:L1:WH1/Stock/A/2:LOT1"), "on_hand", "8");
    fx_hget_is(K("quant:L1:WH1/Stock/A/2:LOT1"), "reserved", "0");
    fx_hget_is(K("tote:T1:contents"), "L1:LOT1", "2");
    /* The last unit of SO1: the order is picked (the sorter sends its totes to packing). */
    FX.change.n = 0;
    /* ]E0 carries a GTIN-13: the 13 digits after the identifier. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]E09506000134352\","
             "\"qty\":1,\"tote\":\"T1\"",
             P1_TASK);
    r = fx_ok("picker1", "pick.confirm", "p3", f);
    assert_string_equal(fx_jstr(r, "order_state"), "picked");
    assert_int_equal(fx_jint(r, "remaining"), 0);
    json_t *next = json_object_get(r, "next");
    assert_true(json_is_string(next)); /* SO2's task is still open */
    char so2_task[32];
    snprintf(so2_task, sizeof(so2_task), "%s", json_string_value(next));
    json_decref(r);
    FX_PUMP_UNTIL(FX.change.n > 0, 2000);
    assert_int_equal(FX.change.what, CMD_CHANGED_ORDER_STATE);
    assert_string_equal(FX.change.id, "SO1");
    assert_string_equal(FX.change.state, "picked");
    fx_hget_is(K("order:SO1"), "state", "picked");
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "7");
    /* A done task refuses more picks (not a pick error). */
    snprintf(want, sizeof(want), "task %s is done", P1_TASK);
    errors = kpi("pick_errors");
    fx_refused("picker1", "pick.confirm", "p4", f, want);
    assert_int_equal(kpi("pick_errors"), errors);
    /* SO2's task into tote T1 is refused (T1 holds SO1), into T2 it completes the batch. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]C10109506000134352\","
             "\"qty\":1,\"tote\":\"T1\"",
             so2_task);
    snprintf(want, sizeof(want), "tote T1 holds order SO1, task %s is for order SO2", so2_task);
    pick_refused("picker1", "e9", f, "tote", want);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]C10109506000134352\","
             "\"qty\":1,\"tote\":\"T2\"",
             so2_task);
    r = fx_ok("picker1", "pick.confirm", "p5", f);
    assert_string_equal(fx_jstr(r, "order_state"), "picked");
    assert_true(json_is_null(json_object_get(r, "next")));
    json_decref(r);
    fx_hget_is(K("batch:W1-B1"), "state", "done");
    /* Counters: 4 applied picks and 8 refused checks, in Redis and in the layer. */
    assert_int_equal(kpi("pick_confirms"), 4);
    assert_int_equal(kpi("pick_errors"), 8);
    assert_int_equal(kpi("pick_errors_tote"), 2);
    assert_int_equal(FX.cmd.stats.pick_confirms, 4);
    assert_int_equal(FX.cmd.stats.pick_errors, 8);
    /* Events: every task created and changed on evt/task, the batch's retained state. */
    FX_PUMP_UNTIL(events_with(P "state/batch/W1-B1", "\"done\"") > 0, 3000);
    assert_true(events_with(P "state/batch/W1-B1", "\"released\"") > 0);
    assert_true(events_with(P "state/batch/W1-B1", "\"assigned\"") > 0);
    assert_true(events_with(P "state/batch/W1-B1", "\"done\"") > 0);
    assert_true(events_with(P "evt/task", "\"open\"") >= 3);
    assert_true(events_with(P "evt/task", "\"done\"") >= 3);
}

static void on_received(void *arg, const struct store_result *r)
{
    *(int *)arg = r->rc == 0 ? 1 : -1;
}

/* The task of batch `batch` for sku (claimed by user): its id and location. */
static void claim_task(const char *user, const char *rid, const char *batch, const char *sku,
                       char task[32], char loc[64])
{
    char f[64];
    json_t *r, *t;
    size_t i;
    snprintf(f, sizeof(f), "\"batch\":\"%s\"", batch);
    r = fx_ok(user, "batch.claim", rid, f);
    task[0] = loc[0] = '\0';
    json_array_foreach(json_object_get(r, "tasks"), i, t)
    {
        if (strcmp(fx_jstr(t, "sku"), sku) == 0 && strcmp(fx_jstr(t, "state"), "open") == 0) {
            snprintf(task, 32, "%s", fx_jstr(t, "task"));
            snprintf(loc, 64, "%s", fx_jstr(t, "location"));
        }
    }
    json_decref(r);
    assert_true(task[0] != '\0');
}

/* pick.short: the units found are picked, the missing ones released from the quant (flagged
 * `missing` and counted), re-reserved elsewhere with a replacement task in the same batch; a
 * second short with no free stock left backorders with a follow-up order; the follow-up is
 * reserved before a competing order of the same top priority once stock arrives, and its last
 * pick makes the backorder done. */
static void test_short_backorder_first(void **state)
{
    char task[32], loc[64], f[512], want[256], qa[128], qb[128], other[64];
    json_t *r;
    (void)state;
    quant("P2", "WH1/Stock/A/3", "", 3, "");
    quant("P2", "WH1/Stock/A/4", "", 3, "");
    fx_ok0("erp", "order.upsert", "s1",
           "\"order\":\"SO3\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P2\",\"qty\":3}]");
    json_decref(fx_ok("sup", "wave.plan", "s2", "\"wave\":\"W2\""));
    json_decref(fx_ok("sup", "wave.release", "s3", "\"wave\":\"W2\""));
    claim_task("picker2", "s4", "W2-B1", "P2", task, loc);
    snprintf(other, sizeof(other), "%s",
             strcmp(loc, "WH1/Stock/A/3") == 0 ? "WH1/Stock/A/4" : "WH1/Stock/A/3");
    snprintf(qa, sizeof(qa), K("quant:P2:%s:"), loc);
    snprintf(qb, sizeof(qb), K("quant:P2:%s:"), other);

    /* A short of every remaining unit is no short: refused and counted, nothing else moves. */
    long errors = kpi("pick_errors");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"9506000134369\",\"qty\":3,"
             "\"tote\":\"T3\"",
             task, loc);
    snprintf(want, sizeof(want),
             "qty 3 is not less than the 3 remaining on task %s: a short pick leaves units "
             "missing",
             task);
    fx_refused("picker2", "pick.short", "s5", f, want);
    assert_int_equal(kpi("pick_errors"), errors + 1);
    /* A wrong location on the found part is the confirm's refusal. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"9506000134369\","
             "\"qty\":1,\"tote\":\"T3\"",
             task);
    snprintf(want, sizeof(want), "scanned location WH1/Stock/A/1 is not %s of task %s", loc, task);
    fx_refused("picker2", "pick.short", "s6", f, want);

    /* 1 found, 2 missing: picked, released, counted, re-reserved at the other location. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"9506000134369\",\"qty\":1,"
             "\"tote\":\"T3\"",
             task, loc);
    r = fx_ok("picker2", "pick.short", "s7", f);
    assert_int_equal(fx_jint(r, "picked"), 1);
    assert_int_equal(fx_jint(r, "short"), 2);
    assert_true(json_is_null(json_object_get(r, "backorder")));
    assert_string_equal(fx_jstr(r, "order_state"), "picking");
    char repl[32], cnt[32];
    snprintf(repl, sizeof(repl), "%s", fx_jstr(r, "replacement"));
    snprintf(cnt, sizeof(cnt), "%s", fx_jstr(r, "count"));
    assert_string_equal(fx_jstr(r, "next"), repl);
    json_decref(r);
    /* A replay answers the same and moves nothing more. */
    r = fx_ok("picker2", "pick.short", "s7", f);
    assert_string_equal(fx_jstr(r, "replacement"), repl);
    json_decref(r);
    char tk[96];
    snprintf(tk, sizeof(tk), K("task:%s"), task);
    fx_hget_is(tk, "state", "short");
    fx_hget_is(tk, "short", "2");
    fx_hget_is(qa, "on_hand", "2");
    fx_hget_is(qa, "reserved", "0");
    fx_hget_is(qa, "missing", "2");
    fx_hget_is(qb, "reserved", "2");
    fx_hget_is(K("counts:open"), loc, cnt);
    snprintf(tk, sizeof(tk), K("task:%s"), cnt);
    fx_hget_is(tk, "kind", "count");
    snprintf(tk, sizeof(tk), K("task:%s"), repl);
    fx_hget_is(tk, "location", other);
    fx_hget_is(tk, "qty", "2");
    fx_hget_is(tk, "batch", "W2-B1");
    fx_hget_is(tk, "assignee", "picker2");
    fx_hget_is(tk, "replaces", task);
    fx_hget_is(K("order:SO3"), "tasks_open", "1");
    char *tasks = fx_hget(K("batch:W2-B1"), "tasks");
    assert_non_null(strstr(tasks, repl));
    free(tasks);

    /* The replacement is short too, nothing found: no free stock is left (the first quant's
     * units are missing until counted), so the 2 units are backordered with a follow-up. */
    snprintf(f, sizeof(f), "\"task\":\"%s\",\"qty\":0", repl);
    FX.change.n = 0;
    r = fx_ok("picker2", "pick.short", "s8", f);
    assert_int_equal(fx_jint(r, "picked"), 0);
    assert_int_equal(fx_jint(r, "short"), 2);
    assert_true(json_is_null(json_object_get(r, "replacement")));
    assert_string_equal(fx_jstr(r, "backorder"), "BO-1");
    assert_string_equal(fx_jstr(r, "follow_up"), "SO3-BO1");
    assert_string_equal(fx_jstr(r, "order_state"), "picked");
    assert_true(json_is_null(json_object_get(r, "next")));
    json_decref(r);
    FX_PUMP_UNTIL(FX.change.n > 0, 2000);
    assert_string_equal(FX.change.id, "SO3");
    assert_string_equal(FX.change.state, "picked");
    fx_hget_is(K("batch:W2-B1"), "state", "done");
    fx_hget_is(qb, "reserved", "0");
    fx_hget_is(qb, "missing", "2");
    fx_hget_is(K("backorder:BO-1"), "state", "open");
    fx_hget_is(K("backorder:BO-1"), "qty", "2");
    fx_hget_is(K("backorder:BO-1"), "order", "SO3");
    fx_hget_is(K("order:SO3-BO1"), "state", "confirmed");
    fx_hget_is(K("order:SO3-BO1"), "priority", "urgent");
    fx_hget_is(K("order:SO3-BO1"), "backorder", "BO-1");
    redisReply *z = redisCommand(FX.rc, "ZSCORE " K("backorders") " BO-1");
    assert_int_equal(z->type, REDIS_REPLY_STRING);
    freeReplyObject(z);
    assert_int_equal(kpi("picks_short"), 2);
    assert_int_equal(kpi("backorders"), 1);
    FX_PUMP_UNTIL(events_with(P "evt/backorder", "BO-1") > 0, 2000);
    assert_true(events_with(P "evt/backorder", "BO-1") > 0);
    assert_true(events_with(P "evt/task", "\"short\"") >= 2);

    /* A competing order of the same top priority, with a smaller id (it would be planned
     * first), and stock for only one of them arrives: the backorder goes first. */
    fx_ok0("erp", "order.upsert", "s9",
           "\"order\":\"SO0\",\"carrier\":\"DHL\",\"priority\":\"urgent\","
           "\"lines\":[{\"sku\":\"P2\",\"qty\":2}]");
    /* Stock arrives: a receipt of 2 units into WH1/Stock/A/1 (the store's receive). */
    struct store_ctx rctx = {.actor = "receiver", .cause = "test receipt"};
    struct store_line rl = {"P2", "WH1/Stock/A/1", "", 2};
    int received = 0;
    assert_int_equal(store_receive(FX.store, &rctx, "RC1", &rl, on_received, &received), 0);
    FX_PUMP_UNTIL(received != 0, 3000);
    assert_int_equal(received, 1);
    r = fx_ok("sup", "wave.plan", "s11", "\"wave\":\"W3\"");
    json_t *orders = json_object_get(r, "orders");
    assert_int_equal(json_array_size(orders), 1);
    assert_string_equal(json_string_value(json_array_get(orders, 0)), "SO3-BO1");
    json_decref(r);
    fx_hget_is(K("order:SO3-BO1"), "state", "waved");
    fx_hget_is(K("backorder:BO-1"), "state", "reserved");
    z = redisCommand(FX.rc, "ZCARD " K("backorders"));
    assert_int_equal(z->integer, 0);
    freeReplyObject(z);
    /* SO0, skipped for missing stock, is marked to go first next time. */
    char *since = fx_hget(K("order:SO0"), "short_since");
    assert_non_null(since);
    free(since);

    /* The follow-up is picked: the backorder is done. */
    json_decref(fx_ok("sup", "wave.release", "s12", "\"wave\":\"W3\""));
    claim_task("picker1", "s13", "W3-B1", "P2", task, loc);
    assert_string_equal(loc, "WH1/Stock/A/1");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"9506000134369\","
             "\"qty\":2,\"tote\":\"T5\"",
             task);
    r = fx_ok("picker1", "pick.confirm", "s14", f);
    assert_string_equal(fx_jstr(r, "order_state"), "picked");
    json_decref(r);
    fx_hget_is(K("backorder:BO-1"), "state", "done");

    /* The count the short pick opened finds the 2 "missing" units after all: no variance,
     * and the quant's units are plannable again. */
    char *sku = fx_hget(qa, "sku"), *qloc = fx_hget(qa, "loc");
    assert_non_null(sku);
    assert_non_null(qloc);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"counts\":[{\"sku\":\"%s\",\"qty\":2}]", cnt,
             qloc, sku);
    free(sku);
    free(qloc);
    json_decref(fx_ok("sup", "count.submit", "s15", f));
    char *missing = fx_hget(qa, "missing");
    assert_null(missing);
    fx_hget_is(qa, "on_hand", "2");
    snprintf(tk, sizeof(tk), K("task:%s"), cnt);
    fx_hget_is(tk, "state", "done");
}

static void test_roles(void **state)
{
    (void)state;
    fx_refused("clerk1", "pick.confirm", "x1",
               "\"task\":\"PCK-1\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
               "\"qty\":1,\"tote\":\"T1\"",
               "user \"clerk1\" (roles clerk) may not run \"pick.confirm\"");
    fx_refused("clerk1", "batch.claim", "x2", "",
               "user \"clerk1\" (roles clerk) may not run \"batch.claim\"");
    fx_refused("picker1", "wave.release", "x3", "\"wave\":\"W1\"",
               "user \"picker1\" (roles picker) may not run \"wave.release\"");
    fx_refused("picker1", "pick.confirm", "x4",
               "\"task\":\"PCK-99\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
               "\"qty\":1,\"tote\":\"T1\"",
               "unknown task \"PCK-99\"");
    fx_refused("picker1", "pick.confirm", "x5",
               "\"task\":\"PCK-1\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
               "\"qty\":0,\"tote\":\"T1\"",
               "field \"qty\": expected an integer in 1..1073741824");
}

/* A serial-tracked product: each refusal of the serial rule is a pick error of kind serial that
 * changes nothing else; the pick records <sku>:<serial> in the tote's serials set and the site's
 * serials hash; a serial found there already is refused. */
static void test_serials(void **state)
{
    json_t *r, *t;
    size_t i;
    char sn1[32] = "", sn2[32] = "", f[512], want[256], loc[64] = "";
    (void)state;
    quant("S1", "WH1/Stock/A/4", "SN1", 1, "");
    quant("S1", "WH1/Stock/A/4", "SN2", 1, "");
    fx_ok0("erp", "order.upsert", "so1",
           "\"order\":\"SO50\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"S1\",\"qty\":2}]");
    json_decref(fx_ok("sup", "wave.plan", "sw1", "\"wave\":\"W50\""));
    json_decref(fx_ok("sup", "wave.release", "sr1", "\"wave\":\"W50\""));
    r = fx_ok("picker2", "batch.claim", "sc1", "\"batch\":\"W50-B1\"");
    json_array_foreach(json_object_get(r, "tasks"), i, t)
    {
        if (strcmp(fx_jstr(t, "sku"), "S1") != 0)
            continue;
        snprintf(loc, sizeof(loc), "%s", fx_jstr(t, "location"));
        if (strcmp(fx_jstr(t, "lot"), "SN1") == 0)
            snprintf(sn1, sizeof(sn1), "%s", fx_jstr(t, "task"));
        else if (strcmp(fx_jstr(t, "lot"), "SN2") == 0)
            snprintf(sn2, sizeof(sn2), "%s", fx_jstr(t, "task"));
    }
    json_decref(r);
    assert_true(sn1[0] && sn2[0]);
    assert_string_equal(loc, "WH1/Stock/A/4");
    long serial_errors = kpi("pick_errors_serial");
    /* No AI 21. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/4\",\"scan\":\"]C10109506000134390\","
             "\"qty\":1,\"tote\":\"T50\"",
             sn1);
    snprintf(want, sizeof(want),
             "scan has no serial (AI 21), product S1 of task %s is serial-tracked", sn1);
    pick_refused("picker2", "se1", f, "serial", want);
    /* Two units on one scan. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/4\","
             "\"scan\":\"(01)09506000134390(21)SN1\",\"qty\":2,\"tote\":\"T50\"",
             sn1);
    pick_refused("picker2", "se2", f, "serial",
                 "serial-tracked product S1 is picked one unit per scan, qty 2");
    /* Another serial than the task's. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/4\","
             "\"scan\":\"(01)09506000134390(21)SN2\",\"qty\":1,\"tote\":\"T50\"",
             sn1);
    snprintf(want, sizeof(want), "scanned serial SN2, task %s is for serial SN1", sn1);
    pick_refused("picker2", "se3", f, "serial", want);
    assert_int_equal(kpi("pick_errors_serial"), serial_errors + 3);
    /* The pick: the serial goes with the tote's contents. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/4\","
             "\"scan\":\"]C10109506000134390\\u001d21SN1\",\"qty\":1,\"tote\":\"T50\"",
             sn1);
    r = fx_ok("picker2", "pick.confirm", "sp1", f);
    assert_int_equal(fx_jint(r, "remaining"), 0);
    json_decref(r);
    fx_hget_is(K("tote:T50:contents"), "S1:SN1", "1");
    redisReply *m = fx_redis("SMEMBERS " K("tote:T50:serials"));
    assert_int_equal(m->type, REDIS_REPLY_ARRAY);
    assert_int_equal(m->elements, 1);
    assert_string_equal(m->element[0]->str, "S1:SN1");
    freeReplyObject(m);
    snprintf(want, sizeof(want), "task %s, tote T50", sn1);
    fx_hget_is(K("serials"), "S1:SN1", want);
    /* A serial picked before (here: recorded by an earlier pick of a duplicated stock record). */
    fx_exec("HSET %s %s %s", K("serials"), "S1:SN2", "task PCK-0, tote T0");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/4\","
             "\"scan\":\"(01)09506000134390(21)SN2\",\"qty\":1,\"tote\":\"T50\"",
             sn2);
    pick_refused("picker2", "se4", f, "serial",
                 "serial SN2 of S1 is already picked (task PCK-0, tote T0)");
    fx_exec("HDEL %s %s", K("serials"), "S1:SN2");
    r = fx_ok("picker2", "pick.confirm", "sp2", f);
    assert_string_equal(fx_jstr(r, "order_state"), "picked");
    json_decref(r);
    m = fx_redis("SCARD " K("tote:T50:serials"));
    assert_int_equal(m->integer, 2);
    freeReplyObject(m);
}

/* The S1 pick tasks of order in the batches of a released wave (claimed by user), in path order:
 * ids, serials (lots) and locations; returns how many (at most 4). */
static size_t serial_tasks(const char *user, const char *rid, json_t *release, const char *order,
                           char ids[4][32], char lots[4][32], char locs[4][64])
{
    json_t *b;
    size_t i, n = 0;
    json_array_foreach(json_object_get(release, "batches"), i, b)
    {
        char f[96], r2[48];
        json_t *r, *t;
        size_t k;
        snprintf(f, sizeof(f), "\"batch\":\"%s\"", json_string_value(b));
        snprintf(r2, sizeof(r2), "%s-%zu", rid, i);
        r = fx_ok(user, "batch.claim", r2, f);
        json_array_foreach(json_object_get(r, "tasks"), k, t)
        {
            if (n == 4 || strcmp(fx_jstr(t, "sku"), "S1") != 0 ||
                strcmp(fx_jstr(t, "order"), order) != 0)
                continue;
            snprintf(ids[n], 32, "%s", fx_jstr(t, "task"));
            snprintf(lots[n], 32, "%s", fx_jstr(t, "lot"));
            snprintf(locs[n], 64, "%s", fx_jstr(t, "location"));
            n++;
        }
        json_decref(r);
    }
    return n;
}

/* pick.short of a serial-tracked line (its task's lot is the reserved serial): the found part
 * takes the serial rule (a one-unit task shorted with qty 1 is refused for its qty, a wrong
 * serial as a serial error, never as a missing lot); nothing found releases the serial's quant
 * (reserved 0, missing 1, a count) and re-reserves another serial with a replacement task, which
 * takes that serial and not the missing one; the picked units keep their serials in the tote
 * and their records. With no free serial left the unit is backordered, and the follow-up takes
 * the next serial to arrive before any other order. */
static void test_short_serial(void **state)
{
    char ids[4][32], lots[4][32], locs[4][64], f[512], want[256], k[128], free_sn[8] = "";
    json_t *r, *rel;
    (void)state;
    quant("S1", "WH1/Stock/A/1", "SN21", 1, "");
    quant("S1", "WH1/Stock/A/2", "SN22", 1, "");
    quant("S1", "WH1/Stock/A/3", "SN23", 1, "");
    fx_ok0("erp", "order.upsert", "ss1",
           "\"order\":\"SO60\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"S1\",\"qty\":2}]");
    json_decref(fx_ok("sup", "wave.plan", "ss2", "\"wave\":\"W60\""));
    rel = fx_ok("sup", "wave.release", "ss3", "\"wave\":\"W60\"");
    assert_int_equal(serial_tasks("picker1", "ss4", rel, "SO60", ids, lots, locs), 2);
    json_decref(rel);
    for (int i = 21; i <= 23; i++) {
        char sn[8];
        snprintf(sn, sizeof(sn), "SN%d", i);
        if (strcmp(sn, lots[0]) != 0 && strcmp(sn, lots[1]) != 0)
            snprintf(free_sn, sizeof(free_sn), "%s", sn);
    }
    assert_true(free_sn[0] != '\0');

    /* The found part of a serial-tracked task takes the serial rule. */
    long qty_errors = kpi("pick_errors_qty"), serial_errors = kpi("pick_errors_serial"),
         lot_errors = kpi("pick_errors_lot");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"(01)09506000134390(21)%s\","
             "\"qty\":1,\"tote\":\"T60\"",
             ids[0], locs[0], lots[0]);
    snprintf(want, sizeof(want),
             "qty 1 is not less than the 1 remaining on task %s: a short pick leaves units "
             "missing",
             ids[0]);
    fx_refused("picker1", "pick.short", "ss5", f, want);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"(01)09506000134390(21)%s\","
             "\"qty\":1,\"tote\":\"T60\"",
             ids[0], locs[0], lots[1]);
    snprintf(want, sizeof(want), "scanned serial %s, task %s is for serial %s", lots[1], ids[0],
             lots[0]);
    fx_refused("picker1", "pick.short", "ss6", f, want);
    assert_int_equal(kpi("pick_errors_qty"), qty_errors + 1);
    assert_int_equal(kpi("pick_errors_serial"), serial_errors + 1);
    assert_int_equal(kpi("pick_errors_lot"), lot_errors);

    /* Nothing found: the serial's quant is released and counted, another serial re-reserved. */
    snprintf(f, sizeof(f), "\"task\":\"%s\",\"qty\":0", ids[0]);
    r = fx_ok("picker1", "pick.short", "ss7", f);
    assert_int_equal(fx_jint(r, "short"), 1);
    assert_true(json_is_null(json_object_get(r, "backorder")));
    char repl[32];
    snprintf(repl, sizeof(repl), "%s", fx_jstr(r, "replacement"));
    json_decref(r);
    snprintf(k, sizeof(k), K("quant:S1:%s:%s"), locs[0], lots[0]);
    fx_hget_is(k, "on_hand", "1");
    fx_hget_is(k, "reserved", "0");
    fx_hget_is(k, "missing", "1");
    snprintf(k, sizeof(k), "S1:%s", lots[0]);
    fx_hget_is(K("serials"), k, NULL); /* a missing serial is not picked */
    snprintf(k, sizeof(k), K("task:%s"), repl);
    fx_hget_is(k, "lot", free_sn);
    fx_hget_is(k, "qty", "1");
    fx_hget_is(k, "replaces", ids[0]);
    char *rloc = fx_hget(k, "location");
    assert_non_null(rloc);
    snprintf(k, sizeof(k), K("quant:S1:%s:%s"), rloc, free_sn);
    fx_hget_is(k, "reserved", "1");

    /* The other task is picked; the replacement takes its own serial, not the missing one. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"(01)09506000134390(21)%s\","
             "\"qty\":1,\"tote\":\"T60\"",
             ids[1], locs[1], lots[1]);
    json_decref(fx_ok("picker1", "pick.confirm", "ss8", f));
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"(01)09506000134390(21)%s\","
             "\"qty\":1,\"tote\":\"T60\"",
             repl, rloc, lots[0]);
    snprintf(want, sizeof(want), "scanned serial %s, task %s is for serial %s", lots[0], repl,
             free_sn);
    pick_refused("picker1", "ss9", f, "serial", want);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"(01)09506000134390(21)%s\","
             "\"qty\":1,\"tote\":\"T60\"",
             repl, rloc, free_sn);
    free(rloc);
    r = fx_ok("picker1", "pick.confirm", "ss10", f);
    assert_string_equal(fx_jstr(r, "order_state"), "picked");
    json_decref(r);
    redisReply *m = fx_redis("SMEMBERS " K("tote:T60:serials"));
    assert_int_equal(m->elements, 2);
    freeReplyObject(m);
    snprintf(k, sizeof(k), "S1:%s", lots[1]);
    fx_hget_is(K("tote:T60:contents"), k, "1");
    snprintf(k, sizeof(k), "S1:%s", free_sn);
    fx_hget_is(K("tote:T60:contents"), k, "1");
    snprintf(k, sizeof(k), K("serial:S1:%s"), free_sn);
    fx_hget_is(k, "state", "picked");
    fx_hget_is(k, "order", "SO60");
    fx_hget_is(k, "task", repl);
    fx_hget_is(k, "picks", "1");

    /* No free serial left for a second short: backordered, and the follow-up takes the next
     * serial to arrive. */
    quant("S1", "WH1/Stock/A/4", "SN24", 1, "");
    fx_ok0("erp", "order.upsert", "ss11",
           "\"order\":\"SO61\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"S1\",\"qty\":1}]");
    json_decref(fx_ok("sup", "wave.plan", "ss12", "\"wave\":\"W61\""));
    rel = fx_ok("sup", "wave.release", "ss13", "\"wave\":\"W61\"");
    assert_int_equal(serial_tasks("picker1", "ss14", rel, "SO61", ids, lots, locs), 1);
    json_decref(rel);
    assert_string_equal(lots[0], "SN24");
    snprintf(f, sizeof(f), "\"task\":\"%s\",\"qty\":0", ids[0]);
    r = fx_ok("picker1", "pick.short", "ss15", f);
    assert_true(json_is_null(json_object_get(r, "replacement")));
    char bo[32], fo[64];
    snprintf(bo, sizeof(bo), "%s", fx_jstr(r, "backorder"));
    snprintf(fo, sizeof(fo), "%s", fx_jstr(r, "follow_up"));
    json_decref(r);
    snprintf(k, sizeof(k), K("backorder:%s"), bo);
    fx_hget_is(k, "sku", "S1");
    fx_hget_is(k, "qty", "1");
    quant("S1", "WH1/Stock/A/1", "SN25", 1, "");
    r = fx_ok("sup", "wave.plan", "ss16", "\"wave\":\"W62\"");
    bool planned = false;
    json_t *o;
    size_t i;
    json_array_foreach(json_object_get(r, "orders"), i, o) planned =
        planned || strcmp(json_string_value(o), fo) == 0;
    json_decref(r);
    assert_true(planned);
    fx_hget_is(K("quant:S1:WH1/Stock/A/1:SN25"), "reserved", "1");
    fx_hget_is(k, "state", "reserved");
}

/* Scripts run by the store so far (Redis INFO commandstats). */
static long evalsha_calls(void)
{
    redisReply *r = fx_redis("INFO commandstats");
    const char *p = r->str ? strstr(r->str, "cmdstat_evalsha:calls=") : NULL;
    long n = p ? atol(p + strlen("cmdstat_evalsha:calls=")) : -1;
    freeReplyObject(r);
    assert_true(n >= 0);
    return n;
}

/* n DHL orders <order_prefix>0.. of one unit of sku each (request ids <rid_prefix>0..). */
static void unit_orders(const char *rid_prefix, const char *order_prefix, const char *sku, int n)
{
    for (int k = 0; k < n; k++) {
        char rid[16], f[160];
        snprintf(rid, sizeof(rid), "%s%d", rid_prefix, k);
        snprintf(f, sizeof(f),
                 "\"order\":\"%s%d\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"%s\",\"qty\":1}]",
                 order_prefix, k, sku);
        fx_ok0("erp", "order.upsert", rid, f);
    }
}

/* Two pickers asking for the next batch at the same moment get one batch each: the claim that
 * loses the race for the first released batch takes the next one instead of being refused. */
static void test_claim_race(void **state)
{
    (void)state;
    quant("P2", "WH1/Stock/A/3", "", 20, "");
    unit_orders("cr", "SO7", "P2", 5);
    /* One order per wave: W70, W70.2, ... each with its batch. */
    json_t *r = fx_ok("sup", "wave.plan", "crp", "\"wave\":\"W70\",\"max_orders\":1");
    size_t n_waves = json_array_size(json_object_get(r, "waves"));
    assert_true(n_waves >= 2);
    json_t *w;
    size_t i;
    json_array_foreach(json_object_get(r, "waves"), i, w)
    {
        char rid[32], f[64];
        snprintf(rid, sizeof(rid), "crr%zu", i);
        snprintf(f, sizeof(f), "\"wave\":\"%s\"", fx_jstr(w, "wave"));
        fx_ok0("sup", "wave.release", rid, f);
    }
    json_decref(r);
    /* Unhindered, a claim of the next batch is two reads (the first batch by script, its tasks
     * by a plain HMGET) and its script. */
    long before = evalsha_calls();
    json_decref(fx_ok("sup", "batch.claim", "crc0", ""));
    assert_int_equal(evalsha_calls() - before, 2);
    for (int round = 0; round < 2; round++) {
        const char *rid1 = round ? "crc3" : "crc1", *rid2 = round ? "crc4" : "crc2";
        size_t from1 = tc_count(fx_tc("picker1")), from2 = tc_count(fx_tc("picker2"));
        char b1[64];
        /* Both published before either is answered. */
        fx_send_async("picker1", "batch.claim", rid1, "");
        fx_send_async("picker2", "batch.claim", rid2, "");
        json_t *r1 = fx_wait_reply("picker1", rid1, from1),
               *r2 = fx_wait_reply("picker2", rid2, from2);
        assert_true(json_is_true(json_object_get(r1, "ok")));
        assert_true(json_is_true(json_object_get(r2, "ok")));
        snprintf(b1, sizeof(b1), "%s", fx_jstr(r1, "batch"));
        assert_string_not_equal(b1, fx_jstr(r2, "batch"));
        json_decref(r1);
        json_decref(r2);
    }
}

static uint64_t store_commands(void)
{
    struct store_stats st;
    store_get_stats(FX.store, &st);
    return st.commands;
}

/* Confirms all of task t (one picked with its claim's location and qty) into tote; returns the
 * store commands it took. */
static uint64_t confirm_all(const json_t *t, const char *rid, const char *tote)
{
    char f[512];
    uint64_t before = store_commands();
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"(01)09506000134352\",\"qty\":%lld,"
             "\"tote\":\"%s\"",
             fx_jstr(t, "task"), fx_jstr(t, "location"), fx_jint(t, "qty"), tote);
    json_t *r = fx_ok("picker2", "pick.confirm", rid, f);
    assert_int_equal(fx_jint(r, "remaining"), 0);
    assert_string_equal(fx_jstr(r, "order"), fx_jstr(t, "order"));
    json_decref(r);
    return store_commands() - before;
}

/* The batch's claim tells the command layer each task's order, batch, product, location and
 * lot: pick.confirm then runs its script without reading the task (one store command fewer). A
 * hint that does not match the task (here: planted with another order) is refused by the script
 * as changed meanwhile, and the pick reads the task and goes through as usual. */
static void test_pick_hint(void **state)
{
    (void)state;
    quant("P1", "WH1/Stock/C/1", "", 30, "");
    unit_orders("ph", "SO9", "P1", 3);
    json_decref(fx_ok("sup", "wave.plan", "php", "\"wave\":\"W90\""));
    json_t *rel = fx_ok("sup", "wave.release", "phr", "\"wave\":\"W90\"");
    char claim[96];
    snprintf(claim, sizeof(claim), "\"batch\":\"%s\"",
             json_string_value(json_array_get(json_object_get(rel, "batches"), 0)));
    json_decref(rel);
    json_t *c = fx_ok("picker2", "batch.claim", "phc", claim);
    json_t *tasks = json_object_get(c, "tasks"), *mine[3];
    size_t i, n = 0;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        if (n < 3 && strncmp(fx_jstr(t, "order"), "SO9", 3) == 0)
            mine[n++] = t;
    }
    assert_int_equal(n, 3);
    /* Known from the claim. */
    uint64_t hinted = FX.cmd.stats.pick_hinted;
    uint64_t d_hint = confirm_all(mine[0], "ph-a", "TH1");
    assert_int_equal(FX.cmd.stats.pick_hinted, hinted + 1);
    /* A wrong hint: read again, the pick is the task's own. */
    const struct ops_task_hint wrong = {"SO-NOPE", fx_jstr(c, "batch"), "P1",
                                        fx_jstr(mine[1], "location"), ""};
    assert_int_equal(taskhints_put(&FX.cmd.hints, fx_jstr(mine[1], "task"), &wrong), 0);
    uint64_t d_wrong = confirm_all(mine[1], "ph-b", "TH2");
    assert_int_equal(FX.cmd.stats.pick_hinted, hinted + 2);
    /* Not known (the hint dropped): the task is read first. */
    taskhints_drop(FX.cmd.hints, fx_jstr(mine[2], "task"));
    uint64_t d_read = confirm_all(mine[2], "ph-c", "TH3");
    assert_int_equal(FX.cmd.stats.pick_hinted, hinted + 2);
    assert_int_equal(d_hint + 1, d_read);
    assert_int_equal(d_wrong, d_read + 1); /* the refused script, then read and script */
    /* Done tasks are forgotten. */
    struct ops_task_hint g;
    assert_false(taskhints_get(FX.cmd.hints, fx_jstr(mine[0], "task"), &g));
    assert_false(taskhints_get(FX.cmd.hints, fx_jstr(mine[1], "task"), &g));
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_claim_confirm),
        cmocka_unit_test(test_short_backorder_first),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_serials),
        cmocka_unit_test(test_short_serial),
        cmocka_unit_test(test_claim_race),
        cmocka_unit_test(test_pick_hint),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
