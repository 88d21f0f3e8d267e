/* Integration tests of cycle counting and inter-warehouse transfers through a real mosquitto
 * (harness ACL) and a real redis-server: the daemon's count scheduler (counting.c) on a virtual
 * clock opening due tasks by ABC class up to the daily maximum; count.submit with zero, small
 * (applied), large (approval by another user) and reserved-short variances and found stock;
 * refusals that change nothing; transfers created, shipped (stock in transit is not
 * reservable), received in part and in full; a transfer and a count over more quants than one
 * read takes; and `wcs audit` balanced after all of it, then failing on a quant changed behind
 * wcs's back. Tests run in order on one fixture (tests/common/cmdfix.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "cmdfix.h"
#include "daemon/counting.h"
#include "store/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE   "t2"
#define P      "wcs/v1/t2/"
#define K(x)   "wcs:{" SITE "}:" x
#define DAY_MS 86400000LL
#define T0_MS  1767225600000LL /* 2026-01-01T00:00:00Z */

static const struct fx_user USERS[] = {{"sup", HARNESS_ROLE_SUPERVISOR},
                                       {"lead1", HARNESS_ROLE_OPERATOR},
                                       {"lead2", HARNESS_ROLE_OPERATOR},
                                       {"counter1", HARNESS_ROLE_OPERATOR},
                                       {"counter2", HARNESS_ROLE_OPERATOR}};
static struct clock_virtual VC;
static struct counting *CNT;
static const char *const WATCH_TOPICS[] = {"alarm/#", "evt/#", "state/#", NULL};

static int setup(void **state)
{
    (void)state;
    clock_virtual_init(&VC, T0_MS);
    /* The command layer stamps its changes with the virtual clock: the last-counted times the
     * scheduler reads are on the same clock as its own. */
    struct fx_opts o = {.site_yaml = SITE_YAML,
                        .users = USERS,
                        .n_users = sizeof(USERS) / sizeof(USERS[0]),
                        .clock = &VC.base,
                        .max_payload_bytes = 8192,
                        .watch = WATCH_TOPICS};
    if (fx_open(&o) != 0)
        return -1;
    if (counting_open(&CNT, FX.loop, FX.store, FX.bus, (const struct cfg_site *const *)&FX.cfg,
                      &VC.base, 0, 0) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    counting_close(CNT);
    fx_close();
    return 0;
}

struct wait {
    bool done;
    int rc;
    char v0[64];
};

static void on_wait(void *arg, const struct store_result *r)
{
    struct wait *w = arg;
    w->done = true;
    w->rc = r->rc;
    if (r->rc == 0 && r->n_values)
        snprintf(w->v0, sizeof(w->v0), "%s", r->values[0]);
}

static const struct store_ctx TCTX = {.actor = "test", .cause = "fixture"};

/* Stock through the import script (journaled as import_stock, as `wcs import` does). */
static void import(const char *sku, const char *loc, const char *lot, int64_t qty)
{
    struct wait w = {0};
    struct store_line l = {sku, loc, lot, qty};
    assert_int_equal(ops_import_quant(FX.store, &TCTX, &l, on_wait, &w), 0);
    FX_PUMP_UNTIL(w.done, 3000);
    assert_true(w.done);
    assert_int_equal(w.rc, 0);
}

static int reserve(const char *order, const char *sku, const char *loc, int64_t qty)
{
    struct wait w = {0};
    struct store_line l = {sku, loc, "", qty};
    assert_int_equal(store_reserve_commit(FX.store, &TCTX, order, &l, 1, on_wait, &w), 0);
    FX_PUMP_UNTIL(w.done, 3000);
    assert_true(w.done);
    return w.rc;
}

struct pass {
    bool done;
    int rc;
};

static void on_pass(void *arg, int rc)
{
    struct pass *p = arg;
    p->done = true;
    p->rc = rc;
}

/* One scheduler pass at the virtual time day (days after T0); returns tasks created. */
static uint64_t schedule_at(int64_t day)
{
    struct pass p = {0};
    struct counting_stats a, b;
    clock_virtual_set(&VC, (uint64_t)day * (uint64_t)DAY_MS * 1000u);
    counting_get_stats(CNT, &a);
    assert_int_equal(counting_run(CNT, on_pass, &p), 0);
    FX_PUMP_UNTIL(p.done, 5000);
    assert_true(p.done);
    assert_int_equal(p.rc, 0);
    counting_get_stats(CNT, &b);
    return b.created - a.created;
}

static void task_is(const char *task, const char *target, const char *cls)
{
    char key[96];
    snprintf(key, sizeof(key), K("task:%s"), task);
    fx_hget_is(key, "target", target);
    fx_hget_is(key, "state", "open");
    fx_hget_is(key, "origin", "schedule");
    fx_hget_is(key, "class", cls);
}

static void submit_zero(const char *task, const char *loc, const char *sku, const char *lot,
                        int qty, const char *rid)
{
    char f[512];
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"counts\":[{\"sku\":\"%s\",%s%s%s\"qty\":%d}]",
             task, loc, sku, lot ? "\"lot\":\"" : "", lot ? lot : "", lot ? "\"," : "", qty);
    json_t *r = fx_ok("counter1", "count.submit", rid, f);
    assert_string_equal(fx_jstr(r, "state"), "done");
    assert_int_equal(fx_jint(r, "variances"), 0);
    assert_int_equal(fx_jint(r, "adjusted"), 0);
    json_t *res = json_array_get(json_object_get(r, "results"), 0);
    assert_string_equal(fx_jstr(res, "action"), "match");
    assert_int_equal(fx_jint(res, "variance"), 0);
    json_decref(r);
}

/* ---- tests ---- */

static void test_scheduler_by_class(void **state)
{
    (void)state;
    import("PA", "WH1/Stock/A/1", "", 10);
    import("PB", "WH1/Stock/A/2", "", 10);
    import("PC", "WH1/Stock/A/3", "", 10);
    import("PN", "WH1/Stock/A/4", "", 5);
    import("LT", "WH1/Stock/A/5", "L1", 7);
    import("PC", "WH1/Stock/A/5", "", 1); /* A/5 holds a B (LT) and a C: its class is B */
    /* Day 0: every location with stock was never counted: due, most overdue (all equal) by
     * path; the daily maximum of 3 stops the rest. */
    assert_int_equal(schedule_at(0), 3);
    task_is("CNT-1", "WH1/Stock/A/1", "A");
    task_is("CNT-2", "WH1/Stock/A/2", "B");
    task_is("CNT-3", "WH1/Stock/A/3", "C");
    fx_hget_is(K("counting:scheduled"), "2026-01-01", "3");
    assert_int_equal(schedule_at(0), 0); /* the same day: the maximum holds across passes */
    /* The counts come back equal: zero variance closes each task and stamps the location. */
    submit_zero("CNT-1", "WH1/Stock/A/1", "PA", NULL, 10, "z1");
    submit_zero("CNT-2", "WH1/Stock/A/2", "PB", NULL, 10, "z2");
    submit_zero("CNT-3", "WH1/Stock/A/3", "PC", NULL, 10, "z3");
    fx_hget_is(K("task:CNT-1"), "state", "done");
    fx_hget_is(K("counts:open"), "WH1/Stock/A/1", NULL);
    fx_hget_is(K("counted"), "WH1/Stock/A/1", "1767225600000");
    fx_hget_is(K("quant:PA:WH1/Stock/A/1:"), "on_hand", "10");
    /* Day 1: the two never counted. */
    assert_int_equal(schedule_at(1), 2);
    task_is("CNT-4", "WH1/Stock/A/4", "C");
    task_is("CNT-5", "WH1/Stock/A/5", "B");
    assert_int_equal(schedule_at(29), 0); /* class A is due after 30 days */
    /* Day 31: A/1 (class A) is due; A/4 and A/5 still have their counts open. */
    assert_int_equal(schedule_at(31), 1);
    task_is("CNT-6", "WH1/Stock/A/1", "A");
    /* Day 91: A/2 (class B, 90 days); A/3 (C, 180) is not. */
    assert_int_equal(schedule_at(91), 1);
    task_is("CNT-7", "WH1/Stock/A/2", "B");
    assert_int_equal(schedule_at(179), 0);
    assert_int_equal(schedule_at(181), 1);
    task_is("CNT-8", "WH1/Stock/A/3", "C");
    /* The events. */
    FX_PUMP_UNTIL(tc_find(FX.watch, 0, P "evt/count", "\"CNT-8\"") >= 0, 2000);
    assert_true(tc_find(FX.watch, 0, P "evt/count", "\"scheduled\"") >= 0);
    assert_true(tc_find(FX.watch, 0, P "evt/count", "\"submitted\"") >= 0);
}

static void test_count_small_variance_applied(void **state)
{
    json_t *r, *res;
    (void)state;
    import("PA", "WH1/Stock/B/1", "", 20);
    r = fx_ok("lead1", "count.request", "r1", "\"location\":\"WH1/Stock/B/1\"");
    assert_string_equal(fx_jstr(r, "task"), "CNT-9");
    json_decref(r);
    r = fx_ok("counter1", "count.submit", "s1",
              "\"task\":\"CNT-9\",\"location\":\"WH1/Stock/B/1\",\"counts\":[{\"sku\":\"PA\","
              "\"qty\":17,\"unit_value_cents\":250}]");
    assert_int_equal(fx_jint(r, "variances"), 1);
    assert_int_equal(fx_jint(r, "adjusted"), 1);
    assert_int_equal(fx_jint(r, "approvals_pending"), 0);
    res = json_array_get(json_object_get(r, "results"), 0);
    assert_string_equal(fx_jstr(res, "action"), "adjusted");
    assert_int_equal(fx_jint(res, "variance"), -3);
    assert_int_equal(fx_jint(res, "on_hand"), 20);
    json_decref(r);
    fx_hget_is(K("quant:PA:WH1/Stock/B/1:"), "on_hand", "17");
    fx_hget_is(K("kpi"), "adjusted_value_cents", "750");
    /* The adjustment is journaled with its reason, before the task's own entry. */
    redisReply *x = fx_redis("XREVRANGE " K("journal") " + - COUNT 2");
    assert_int_equal(x->elements, 2);
    const redisReply *f = x->element[1]->element[1];
    bool adjust = false, reason = false;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        adjust = adjust ||
                 (!strcmp(f->element[i]->str, "op") && !strcmp(f->element[i + 1]->str, "adjust"));
        reason = reason || (!strcmp(f->element[i]->str, "after") &&
                            strstr(f->element[i + 1]->str, "\"count CNT-9\""));
    }
    freeReplyObject(x);
    assert_true(adjust);
    assert_true(reason);
}

static void test_count_big_variance_needs_approval(void **state)
{
    json_t *r, *ap;
    (void)state;
    import("PB", "WH1/Stock/B/2", "", 40);
    json_decref(fx_ok("lead1", "count.request", "r2", "\"location\":\"WH1/Stock/B/2\""));
    r = fx_ok("counter1", "count.submit", "s2",
              "\"task\":\"CNT-10\",\"location\":\"WH1/Stock/B/2\",\"counts\":[{\"sku\":\"PB\","
              "\"qty\":30}]");
    assert_int_equal(fx_jint(r, "adjusted"), 0);
    assert_int_equal(fx_jint(r, "approvals_pending"), 1);
    ap = json_array_get(json_object_get(r, "approvals"), 0);
    assert_string_equal(fx_jstr(ap, "approval"), "ADJ-1");
    assert_int_equal(fx_jint(ap, "qty"), -10);
    assert_string_equal(fx_jstr(ap, "why"), "quantity 10 above the threshold of 5");
    json_decref(r);
    fx_hget_is(K("quant:PB:WH1/Stock/B/2:"), "on_hand", "40"); /* nothing applied yet */
    fx_hget_is(K("approval:ADJ-1"), "requester", "counter1");
    fx_hget_is(K("approval:ADJ-1"), "reason", "count CNT-10");
    FX_PUMP_UNTIL(tc_find_retained(FX.watch, 0, P "alarm/approval-ADJ-1", NULL) >= 0 ||
                      tc_find(FX.watch, 0, P "alarm/approval-ADJ-1", NULL) >= 0,
                  2000);
    assert_true(tc_find(FX.watch, 0, P "alarm/approval-ADJ-1", "CNT-10") >= 0);
    /* The counter may not approve; a lead (a different user) does. */
    fx_refused("counter1", "adjust.approve", "a0", "\"approval\":\"ADJ-1\"",
               "user \"counter1\" (roles counter) may not run \"adjust.approve\"");
    r = fx_ok("lead1", "adjust.approve", "a1", "\"approval\":\"ADJ-1\"");
    assert_int_equal(fx_jint(r, "on_hand"), 30);
    json_decref(r);
    fx_hget_is(K("quant:PB:WH1/Stock/B/2:"), "on_hand", "30");
    fx_hget_is(K("approval:ADJ-1"), "state", "approved");
}

static void test_count_below_reserved_flagged(void **state)
{
    json_t *r, *res;
    size_t i;
    bool seen_found = false, seen_flag = false;
    (void)state;
    import("PC", "WH1/Stock/B/3", "", 10);
    assert_int_equal(reserve("SO1", "PC", "WH1/Stock/B/3", 8), 0);
    json_decref(fx_ok("lead1", "count.request", "r3", "\"location\":\"WH1/Stock/B/3\""));
    /* 5 of PC (8 are reserved) and 2 of PN nobody knew about (found stock, applied). */
    r = fx_ok("counter2", "count.submit", "s3",
              "\"task\":\"CNT-11\",\"location\":\"WH1/Stock/B/3\",\"counts\":[{\"sku\":\"PC\","
              "\"qty\":5},{\"sku\":\"PN\",\"qty\":2}]");
    assert_true(json_is_true(json_object_get(r, "reserved_short")));
    assert_int_equal(fx_jint(r, "approvals_pending"), 1);
    assert_int_equal(fx_jint(r, "adjusted"), 1);
    json_array_foreach(json_object_get(r, "results"), i, res)
    {
        if (!strcmp(fx_jstr(res, "sku"), "PN")) {
            seen_found = true;
            assert_string_equal(fx_jstr(res, "action"), "adjusted");
            assert_int_equal(fx_jint(res, "variance"), 2);
        } else {
            seen_flag = true;
            assert_string_equal(fx_jstr(res, "action"), "approval");
            assert_true(json_is_true(json_object_get(res, "flagged")));
            assert_int_equal(fx_jint(res, "reserved"), 8);
        }
    }
    assert_true(seen_found && seen_flag);
    json_decref(r);
    fx_hget_is(K("quant:PC:WH1/Stock/B/3:"), "on_hand", "10");
    fx_hget_is(K("quant:PN:WH1/Stock/B/3:"), "on_hand", "2");
    fx_hget_is(K("alarm:count.CNT-11.reserved"), "state", "active");
    FX_PUMP_UNTIL(tc_find(FX.watch, 0, P "alarm/count.CNT-11.reserved", NULL) >= 0, 2000);
    assert_true(tc_find(FX.watch, 0, P "alarm/count.CNT-11.reserved", "reservation") >= 0);
    /* The approval cannot apply while the reservation stands (adjust's rules). */
    fx_refused("lead2", "adjust.approve", "a2", "\"approval\":\"ADJ-2\"",
               "quant wcs:{t2}:quant:PC:WH1/Stock/B/3: has 8 reserved, adjust -5 would leave 5");
}

static void test_count_refusals(void **state)
{
    (void)state;
    fx_refused("counter1", "count.submit", "f1",
               "\"task\":\"CNT-99\",\"location\":\"WH1/Stock/A/4\",\"counts\":[]",
               "unknown count task \"CNT-99\"");
    fx_refused("counter1", "count.submit", "f2",
               "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/3\",\"counts\":[]",
               "scanned location WH1/Stock/A/3 is not the location of count CNT-4 (WH1/Stock/A/4)");
    fx_refused("counter1", "count.submit", "f3",
               "\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/1\",\"counts\":[]",
               "count CNT-1 is done: it was submitted before");
    fx_refused("counter1", "count.submit", "f4",
               "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/4\",\"counts\":[{\"sku\":\"LT\","
               "\"qty\":1}]",
               "field \"counts[0].lot\": required: product LT is tracked by lot");
    fx_refused("counter1", "count.submit", "f5",
               "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/4\",\"counts\":[{\"sku\":\"PN\","
               "\"qty\":1},{\"sku\":\"PN\",\"qty\":2}]",
               "field \"counts[1]\": PN is listed twice (as counts[0])");
    fx_refused("counter1", "count.submit", "f6",
               "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/4\",\"counts\":[{\"sku\":\"PN\","
               "\"qty\":-1}]",
               "field \"counts[0].qty\": expected an integer in 0..1073741824");
    fx_refused("counter1", "count.request", "f7", "\"location\":\"WH1/Stock/A/6\"",
               "user \"counter1\" (roles counter) may not run \"count.request\"");
    /* A count restricted to one product refuses another. */
    json_t *r =
        fx_ok("lead1", "count.request", "f8", "\"location\":\"WH1/Stock/B/1\",\"sku\":\"PA\"");
    assert_string_equal(fx_jstr(r, "task"), "CNT-12");
    json_decref(r);
    fx_refused("counter1", "count.submit", "f9",
               "\"task\":\"CNT-12\",\"location\":\"WH1/Stock/B/1\",\"counts\":[{\"sku\":\"PB\","
               "\"qty\":1}]",
               "count CNT-12 counts only PA, not PB");
    /* An empty count of a location holding stock: everything counts 0 (an approval here). */
    r = fx_ok("counter1", "count.submit", "f10",
              "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/4\",\"counts\":[]");
    assert_int_equal(fx_jint(r, "approvals_pending"), 0);
    assert_int_equal(fx_jint(r, "adjusted"), 1); /* 5 -> 0: within the threshold of 5 */
    json_decref(r);
    fx_hget_is(K("quant:PN:WH1/Stock/A/4:"), "on_hand", "0");
}

static void test_transfer_through_transit(void **state)
{
    json_t *r;
    (void)state;
    import("PA", "WH1/Stock/A/6", "", 30);
    fx_refused("lead1", "transfer.create", "t0",
               "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH1\","
               "\"lines\":[{\"sku\":\"PA\",\"qty\":1}]",
               "field \"to_warehouse\": the transfer must leave warehouse WH1");
    fx_refused("lead1", "transfer.create", "t0b",
               "\"transfer\":\"T1\",\"from_warehouse\":\"WH3\",\"to_warehouse\":\"WH1\","
               "\"lines\":[{\"sku\":\"PA\",\"qty\":1}]",
               "field \"from_warehouse\": warehouse WH3 has no transit location (type: transit)");
    fx_refused("lead1", "transfer.create", "t0c",
               "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
               "\"lines\":[{\"sku\":\"PA\",\"qty\":1000}]",
               "not enough stock of PA in WH1: 57 available, 1000 asked");
    /* Units a short pick reported missing (not yet counted) are not available either. */
    fx_exec("HSET %s missing 25", K("quant:PA:WH1/Stock/A/6:"));
    fx_refused("lead1", "transfer.create", "t0m",
               "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
               "\"lines\":[{\"sku\":\"PA\",\"qty\":40}]",
               "not enough stock of PA in WH1: 32 available, 40 asked");
    fx_exec("HDEL %s missing", K("quant:PA:WH1/Stock/A/6:"));
    fx_refused("counter1", "transfer.create", "t0d",
               "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
               "\"lines\":[{\"sku\":\"PA\",\"qty\":1}]",
               "user \"counter1\" (roles counter) may not run \"transfer.create\"");
    /* 12 of PA: A/1 (10) then A/6 (2), by location path (no expiry, no in_date). */
    r = fx_ok("lead1", "transfer.create", "t1",
              "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
              "\"lines\":[{\"sku\":\"PA\",\"qty\":12}]");
    assert_string_equal(fx_jstr(r, "state"), "reserved");
    assert_int_equal(fx_jint(r, "units"), 12);
    assert_string_equal(fx_jstr(r, "transit"), "WH1/Transit");
    assert_string_equal(fx_jstr(r, "destination"), "WH2/Dock");
    json_decref(r);
    fx_hget_is(K("quant:PA:WH1/Stock/A/1:"), "reserved", "10");
    fx_hget_is(K("quant:PA:WH1/Stock/A/6:"), "reserved", "2");
    fx_refused("lead1", "transfer.create", "t1b",
               "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
               "\"lines\":[{\"sku\":\"PA\",\"qty\":1}]",
               "transfer T1 exists");
    fx_refused("lead1", "transfer.receive", "t1c", "\"transfer\":\"T1\"",
               "transfer T1 is reserved: only a transfer in transit can be received");
    r = fx_ok("lead1", "transfer.ship", "t2", "\"transfer\":\"T1\"");
    assert_string_equal(fx_jstr(r, "state"), "in_transit");
    assert_int_equal(fx_jint(r, "units"), 12);
    json_decref(r);
    fx_hget_is(K("quant:PA:WH1/Stock/A/1:"), "on_hand", "0");
    fx_hget_is(K("quant:PA:WH1/Stock/A/1:"), "reserved", "0");
    fx_hget_is(K("quant:PA:WH1/Stock/A/6:"), "on_hand", "28");
    fx_hget_is(K("quant:PA:WH1/Transit:"), "on_hand", "12");
    fx_hget_is(K("quant:PA:WH1/Transit:"), "reserved", "12");
    /* Stock in transit is in no warehouse's available stock. */
    assert_int_equal(reserve("SO2", "PA", "WH1/Transit", 1), WCS_E_STATE);
    fx_refused("lead1", "transfer.ship", "t2b", "\"transfer\":\"T1\"",
               "transfer T1 is in_transit: only a reserved transfer can be shipped");
    fx_refused("lead1", "transfer.receive", "t2c",
               "\"transfer\":\"T1\",\"lines\":[{\"sku\":\"PA\",\"qty\":13}]",
               "transfer T1 has 12 of PA in transit, receive asks 13");
    r = fx_ok("lead1", "transfer.receive", "t3",
              "\"transfer\":\"T1\",\"lines\":[{\"sku\":\"PA\",\"qty\":5}]");
    assert_string_equal(fx_jstr(r, "state"), "in_transit");
    assert_int_equal(fx_jint(r, "received"), 5);
    assert_int_equal(fx_jint(r, "in_transit"), 7);
    json_decref(r);
    fx_hget_is(K("quant:PA:WH2/Dock:"), "on_hand", "5");
    fx_hget_is(K("quant:PA:WH2/Dock:"), "reserved", "0");
    fx_hget_is(K("quant:PA:WH1/Transit:"), "on_hand", "7");
    r = fx_ok("lead2", "transfer.receive", "t4", "\"transfer\":\"T1\"");
    assert_string_equal(fx_jstr(r, "state"), "done");
    assert_int_equal(fx_jint(r, "received_total"), 12);
    assert_int_equal(fx_jint(r, "in_transit"), 0);
    json_decref(r);
    fx_hget_is(K("quant:PA:WH2/Dock:"), "on_hand", "12");
    fx_hget_is(K("quant:PA:WH1/Transit:"), "on_hand", "0");
    fx_hget_is(K("quant:PA:WH1/Transit:"), "reserved", "0");
    fx_hget_is(K("transfer:T1"), "state", "done");
    fx_refused("lead1", "transfer.receive", "t5", "\"transfer\":\"T1\"",
               "transfer T1 is done: only a transfer in transit can be received");
    fx_refused("lead1", "transfer.ship", "t6", "\"transfer\":\"T9\"", "unknown transfer \"T9\"");
    FX_PUMP_UNTIL(tc_find(FX.watch, 0, P "state/transfer/T1", "\"done\"") >= 0, 2000);
    assert_true(tc_find(FX.watch, 0, P "state/transfer/T1", "\"done\"") >= 0);
    assert_true(tc_find(FX.watch, 0, P "evt/transfer", "\"shipped\"") >= 0);
}

/* A product and a location with more quants than one read takes (OPS_READ_MAX, 64): the flows
 * read them a chunk at a time, and the stock in the last chunk is seen. */
static void test_many_quants_read_in_chunks(void **state)
{
    char lot[8], task[32], f[256];
    json_t *r, *res;
    size_t i;
    bool l000 = false, l069 = false;
    (void)state;
    for (int k = 0; k < 70; k++) {
        snprintf(lot, sizeof(lot), "L%03d", k);
        import("LT", "WH2/Stock/A/1", lot, k == 0 ? 2 : k == 69 ? 4 : 0);
    }
    /* LT's quants, sorted: WH1/Stock/A/5 L1, then L000..L069 here; L069 is the 71st. */
    r = fx_ok("lead1", "transfer.create", "m1",
              "\"transfer\":\"T2\",\"from_warehouse\":\"WH2\",\"to_warehouse\":\"WH1\","
              "\"lines\":[{\"sku\":\"LT\",\"lot\":\"L069\",\"qty\":3}]");
    assert_int_equal(fx_jint(r, "units"), 3);
    res = json_array_get(json_object_get(r, "reserved"), 0);
    assert_non_null(res);
    assert_string_equal(fx_jstr(res, "lot"), "L069");
    assert_string_equal(fx_jstr(res, "location"), "WH2/Stock/A/1");
    json_decref(r);
    json_decref(fx_ok("lead1", "transfer.ship", "m2", "\"transfer\":\"T2\""));
    json_decref(fx_ok("lead1", "transfer.receive", "m3", "\"transfer\":\"T2\""));
    fx_hget_is(K("quant:LT:WH2/Stock/A/1:L069"), "on_hand", "1");
    fx_hget_is(K("quant:LT:WH1/In:L069"), "on_hand", "3");
    /* An empty count of the location: both lots holding stock count 0, L069 from the second
     * read (the 70th of the location's quants). */
    r = fx_ok("lead1", "count.request", "m4", "\"location\":\"WH2/Stock/A/1\"");
    snprintf(task, sizeof(task), "%s", fx_jstr(r, "task"));
    json_decref(r);
    snprintf(f, sizeof(f), "\"task\":\"%s\",\"location\":\"WH2/Stock/A/1\",\"counts\":[]", task);
    r = fx_ok("counter1", "count.submit", "m5", f);
    assert_int_equal(json_array_size(json_object_get(r, "results")), 2);
    json_array_foreach(json_object_get(r, "results"), i, res)
    {
        const char *l = fx_jstr(res, "lot");
        l000 = l000 || (!strcmp(l, "L000") && fx_jint(res, "variance") == -2);
        l069 = l069 || (!strcmp(l, "L069") && fx_jint(res, "variance") == -1);
    }
    json_decref(r);
    assert_true(l000);
    assert_true(l069);
    fx_hget_is(K("quant:LT:WH2/Stock/A/1:L069"), "on_hand", "0");
}

/* Runs `wcs audit` on the site config pointing at the harness Redis. */
static int audit(const char *flags, char *out, size_t cap)
{
    return fx_audit(WCS_BIN, flags, out, cap);
}

static void test_audit_balances_then_catches_tampering(void **state)
{
    static char out[65536];
    int rc;
    (void)state;
    rc = audit("", out, sizeof(out));
    if (rc != 0)
        fail_msg("audit not balanced:\n%s", out);
    assert_non_null(strstr(out, "balanced: "));
    rc = audit("--json", out, sizeof(out));
    assert_int_equal(rc, 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "balanced")));
    /* PA: imported 10 + 20 + 30, count -3, all 12 transferred and received. */
    size_t i;
    json_t *row;
    bool pa = false;
    json_array_foreach(json_object_get(j, "rows"), i, row)
    {
        if (strcmp(fx_jstr(row, "sku"), "PA") != 0)
            continue;
        pa = true;
        assert_int_equal(fx_jint(row, "initial"), 60);
        assert_int_equal(fx_jint(row, "adjustments"), -3);
        /* source -> transit -> destination: moves inside the site, nothing left in transit */
        assert_int_equal(fx_jint(row, "moves"), 0);
        assert_int_equal(fx_jint(json_object_get(row, "places"), "transit"), 0);
        assert_int_equal(fx_jint(json_object_get(row, "places"), "stock"), 57);
        assert_int_equal(fx_jint(row, "on_hand"), 57);
        assert_int_equal(fx_jint(row, "expected"), 57);
    }
    assert_true(pa);
    json_decref(j);
    /* One unit added behind wcs's back. */
    redisReply *x = fx_redis("HINCRBY %s on_hand 1", K("quant:PB:WH1/Stock/A/2:"));
    freeReplyObject(x);
    rc = audit("", out, sizeof(out));
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "MISMATCH"));
    assert_non_null(strstr(out, "quant wcs:{t2}:quant:PB:WH1/Stock/A/2: on_hand differs"));
    x = fx_redis("HINCRBY %s on_hand -1", K("quant:PB:WH1/Stock/A/2:"));
    freeReplyObject(x);
    /* reserved > on_hand is caught too. */
    x = fx_redis("HSET %s reserved 99", K("quant:PB:WH1/Stock/A/2:"));
    freeReplyObject(x);
    rc = audit("--json", out, sizeof(out));
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "reserved exceeds on_hand"));
    x = fx_redis("HSET %s reserved 0", K("quant:PB:WH1/Stock/A/2:"));
    freeReplyObject(x);
    assert_int_equal(audit("", out, sizeof(out)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheduler_by_class),
        cmocka_unit_test(test_count_small_variance_applied),
        cmocka_unit_test(test_count_big_variance_needs_approval),
        cmocka_unit_test(test_count_below_reserved_flagged),
        cmocka_unit_test(test_count_refusals),
        cmocka_unit_test(test_transfer_through_transit),
        cmocka_unit_test(test_many_quants_read_in_chunks),
        cmocka_unit_test(test_audit_balances_then_catches_tampering),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
