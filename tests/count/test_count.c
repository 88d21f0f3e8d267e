/* Integration tests of cycle counting and inter-warehouse transfers through a real mosquitto
 * (harness ACL) and a real redis-server: the daemon's count scheduler (counting.c) on a virtual
 * clock opening due tasks by ABC class up to the daily maximum; count.submit with zero, small
 * (applied), large (approval by another user) and reserved-short variances and found stock;
 * refusals that change nothing; transfers created, shipped (stock in transit is not
 * reservable), received in part and in full; and `wcs audit` balanced after all of it, then
 * failing on a quant changed behind wcs's back. Tests run in order on one fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "command/command.h"
#include "daemon/counting.h"
#include "harness/harness.h"
#include "rdump.h"
#include "store/ops.h"
#include "store/store.h"
#include "tclient.h"

#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SITE      "t2"
#define P         "wcs/v1/t2/"
#define N_CLIENTS 5
#define K(x)      "wcs:{" SITE "}:" x
#define DAY_MS    86400000LL
#define T0_MS     1767225600000LL /* 2026-01-01T00:00:00Z */

static struct harness_redis *R;
static struct harness_mqtt *M;
static struct cfg_site *CFG;
static struct loop *L;
static struct store *ST;
static struct bus *B;
static struct cmd_ctx C;
static struct clock_virtual VC;
static struct counting *CNT;
static redisContext *RC;
static char URI[64];
static const char *const NAMES[N_CLIENTS] = {"sup", "lead1", "lead2", "counter1", "counter2"};
static struct tclient *TC[N_CLIENTS];
static struct tclient *WATCH; /* a supervisor reading alarms, events and states */
static bool STORE_UP;

#define PUMP_UNTIL(expr, ms)                                                                       \
    do {                                                                                           \
        uint64_t t0_ = clock_real_mono_us();                                                       \
        while (!(expr) && clock_real_mono_us() - t0_ < (uint64_t)(ms)*1000)                        \
            loop_run_once(L, 5);                                                                   \
    } while (0)

static void on_cmd(struct bus *b, struct bus_cmd *cmd, void *arg)
{
    (void)b;
    command_handle(arg, cmd);
}

static void on_store_state(void *arg, bool up, int reason, const char *detail)
{
    (void)reason;
    (void)detail;
    *(bool *)arg = up;
}

static int setup(void **state)
{
    struct harness_user users[N_CLIENTS + 1] = {{"wcs", "", HARNESS_ROLE_SERVICE}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = N_CLIENTS + 1, .site = SITE};
    struct cfg_errors e;
    char err[HARNESS_ERR_MAX];
    (void)state;
    for (int i = 0; i < N_CLIENTS; i++) {
        snprintf(users[i + 1].name, sizeof(users[i + 1].name), "%s", NAMES[i]);
        users[i + 1].role = HARNESS_ROLE_OPERATOR;
    }
    users[1].role = HARNESS_ROLE_SUPERVISOR;
    if (harness_redis_start(&R, NULL, err, sizeof(err)) < 0 ||
        harness_mqtt_start(&M, &mo, err, sizeof(err)) < 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    cfg_errors_init(&e);
    if (cfg_load(&CFG, SITE_YAML, &e) != 0)
        return -1;
    cfg_errors_fini(&e);
    clock_virtual_init(&VC, T0_MS);
    snprintf(URI, sizeof(URI), "tcp://127.0.0.1:%d", harness_mqtt_port(M));
    if (loop_new(&L, clock_system()) != 0)
        return -1;
    struct store_opts so = {.host = harness_redis_host(R),
                            .port = harness_redis_port(R),
                            .user = harness_redis_user(R),
                            .password_file = harness_redis_password_file(R),
                            .site = SITE,
                            .on_state = on_store_state,
                            .state_arg = &STORE_UP};
    if (store_open(&ST, L, &so) != 0)
        return -1;
    struct bus_opts bo = {.uri = URI,
                          .client_id = "wcs-count",
                          .user = "wcs",
                          .password_file = harness_mqtt_password_file(M, "wcs"),
                          .site = SITE,
                          .gen = 1,
                          .max_payload_bytes = 8192};
    /* The command layer stamps its changes with the virtual clock: the last-counted times the
     * scheduler reads are on the same clock as its own. */
    C = (struct cmd_ctx){
        .store = ST, .site = CFG, .clock = &VC.base, .request_ttl_s = 600, .loop = L};
    if (bus_open(&B, L, &bo, on_cmd, &C, err, sizeof(err)) != 0) {
        fprintf(stderr, "bus: %s\n", err);
        return -1;
    }
    C.bus = B;
    if (counting_open(&CNT, L, ST, B, (const struct cfg_site *const *)&CFG, &VC.base, 0, 0) != 0)
        return -1;
    for (int i = 0; i < N_CLIENTS; i++) {
        char id[32], filter[128];
        snprintf(id, sizeof(id), "c-%s", NAMES[i]);
        snprintf(filter, sizeof(filter), P "reply/%s/#", NAMES[i]);
        TC[i] = tc_open(URI, id, NAMES[i], harness_mqtt_password(M, NAMES[i]), 5, false);
        if (!TC[i] || tc_sub(TC[i], filter) != 0)
            return -1;
    }
    WATCH = tc_open(URI, "watch", "sup", harness_mqtt_password(M, "sup"), 5, false);
    if (!WATCH || tc_sub(WATCH, P "alarm/#") != 0 || tc_sub(WATCH, P "evt/#") != 0 ||
        tc_sub(WATCH, P "state/#") != 0)
        return -1;
    struct bus_stats bs;
    uint64_t t0 = clock_real_mono_us();
    do {
        loop_run_once(L, 5);
        bus_get_stats(B, &bs);
    } while ((!bs.subscribed || !STORE_UP) && clock_real_mono_us() - t0 < 10000000u);
    if (!bs.subscribed || !STORE_UP)
        return -1;
    RC = redisConnect(harness_redis_host(R), harness_redis_port(R));
    redisReply *r =
        redisCommand(RC, "AUTH %s %s", harness_redis_user(R), harness_redis_password(R));
    if (!r || r->type != REDIS_REPLY_STATUS)
        return -1;
    freeReplyObject(r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N_CLIENTS; i++)
        tc_close(TC[i]);
    tc_close(WATCH);
    command_fini(&C);
    store_close(ST);
    counting_close(CNT);
    bus_close(B);
    loop_free(L);
    redisFree(RC);
    cfg_free(CFG);
    harness_mqtt_free(M);
    harness_redis_free(R);
    return 0;
}

/* ---- helpers ---- */

static struct tclient *tc(const char *user)
{
    for (int i = 0; i < N_CLIENTS; i++)
        if (strcmp(NAMES[i], user) == 0)
            return TC[i];
    fail_msg("no client %s", user);
    return NULL;
}

static json_t *send(const char *user, const char *command, const char *rid, const char *fields)
{
    char topic[160], body[4096];
    struct tclient *c = tc(user);
    size_t from = tc_count(c);
    snprintf(body, sizeof(body), "{\"request_id\":\"%s\"%s%s}", rid, fields[0] ? "," : "", fields);
    snprintf(topic, sizeof(topic), P "cmd/%s/%s", user, command);
    assert_int_equal(tc_pub(c, topic, body, strlen(body), 1, false, NULL, NULL), 0);
    snprintf(topic, sizeof(topic), P "reply/%s/%s", user, rid);
    PUMP_UNTIL(tc_find(c, from, topic, NULL) >= 0, 5000);
    long i = tc_find(c, from, topic, NULL);
    if (i < 0)
        fail_msg("no reply on %s", topic);
    json_t *j = json_loads(tc_msg(c, (size_t)i)->payload, 0, NULL);
    assert_non_null(j);
    return j;
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        fail_msg("reply has no string \"%s\"", k);
    return json_string_value(v);
}

static long long jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("reply has no integer \"%s\"", k);
    return json_integer_value(v);
}

static json_t *ok(const char *user, const char *command, const char *rid, const char *fields)
{
    json_t *r = send(user, command, rid, fields);
    if (!json_is_true(json_object_get(r, "ok")))
        fail_msg("%s %s refused: %s", user, command,
                 json_string_value(json_object_get(r, "error")));
    return r;
}

static long long xlen(void)
{
    redisReply *r = redisCommand(RC, "XLEN " K("journal"));
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static char *hget(const char *key, const char *field)
{
    redisReply *r = redisCommand(RC, "HGET %s %s", key, field);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static void hget_is(const char *key, const char *field, const char *want)
{
    char *v = hget(key, field);
    if (!want ? v != NULL : (!v || strcmp(v, want) != 0))
        fail_msg("%s %s = %s, expected %s", key, field, v ? v : "(nil)", want ? want : "(nil)");
    free(v);
}

static bool skip_records(const char *key, void *arg)
{
    (void)arg;
    return strstr(key, ":journal") || strstr(key, ":req:") || strstr(key, ":op:");
}

static char *dump(size_t *len_out)
{
    return rdump(RC, "wcs:{" SITE "}:*", skip_records, NULL, len_out);
}

/* A refusal with exactly `want` that changes nothing but the journal (one cmd_refused). */
static void refused(const char *user, const char *command, const char *rid, const char *fields,
                    const char *want)
{
    size_t n0, n1;
    char *d0 = dump(&n0);
    long long j0 = xlen();
    json_t *r = send(user, command, rid, fields);
    if (!json_is_false(json_object_get(r, "ok")))
        fail_msg("%s %s %s: accepted, expected refusal \"%s\"", user, command, fields, want);
    assert_string_equal(jstr(r, "error"), want);
    json_decref(r);
    PUMP_UNTIL(xlen() == j0 + 1, 2000);
    assert_int_equal(xlen(), j0 + 1);
    char *d1 = dump(&n1);
    if (rdump_diff(d0, n0, d1, n1) != 0)
        fail_msg("%s %s changed Redis although refused", user, command);
    free(d0);
    free(d1);
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
    assert_int_equal(ops_import_quant(ST, &TCTX, &l, on_wait, &w), 0);
    PUMP_UNTIL(w.done, 3000);
    assert_true(w.done);
    assert_int_equal(w.rc, 0);
}

static int reserve(const char *order, const char *sku, const char *loc, int64_t qty)
{
    struct wait w = {0};
    struct store_line l = {sku, loc, "", qty};
    assert_int_equal(store_reserve_commit(ST, &TCTX, order, &l, 1, on_wait, &w), 0);
    PUMP_UNTIL(w.done, 3000);
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
    PUMP_UNTIL(p.done, 5000);
    assert_true(p.done);
    assert_int_equal(p.rc, 0);
    counting_get_stats(CNT, &b);
    return b.created - a.created;
}

static void task_is(const char *task, const char *target, const char *cls)
{
    char key[96];
    snprintf(key, sizeof(key), K("task:%s"), task);
    hget_is(key, "target", target);
    hget_is(key, "state", "open");
    hget_is(key, "origin", "schedule");
    hget_is(key, "class", cls);
}

static void submit_zero(const char *task, const char *loc, const char *sku, const char *lot,
                        int qty, const char *rid)
{
    char f[512];
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"counts\":[{\"sku\":\"%s\",%s%s%s\"qty\":%d}]",
             task, loc, sku, lot ? "\"lot\":\"" : "", lot ? lot : "", lot ? "\"," : "", qty);
    json_t *r = ok("counter1", "count.submit", rid, f);
    assert_string_equal(jstr(r, "state"), "done");
    assert_int_equal(jint(r, "variances"), 0);
    assert_int_equal(jint(r, "adjusted"), 0);
    json_t *res = json_array_get(json_object_get(r, "results"), 0);
    assert_string_equal(jstr(res, "action"), "match");
    assert_int_equal(jint(res, "variance"), 0);
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
    hget_is(K("counting:scheduled"), "2026-01-01", "3");
    assert_int_equal(schedule_at(0), 0); /* the same day: the maximum holds across passes */
    /* The counts come back equal: zero variance closes each task and stamps the location. */
    submit_zero("CNT-1", "WH1/Stock/A/1", "PA", NULL, 10, "z1");
    submit_zero("CNT-2", "WH1/Stock/A/2", "PB", NULL, 10, "z2");
    submit_zero("CNT-3", "WH1/Stock/A/3", "PC", NULL, 10, "z3");
    hget_is(K("task:CNT-1"), "state", "done");
    hget_is(K("counts:open"), "WH1/Stock/A/1", NULL);
    hget_is(K("counted"), "WH1/Stock/A/1", "1767225600000");
    hget_is(K("quant:PA:WH1/Stock/A/1:"), "on_hand", "10");
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
    PUMP_UNTIL(tc_find(WATCH, 0, P "evt/count", "\"CNT-8\"") >= 0, 2000);
    assert_true(tc_find(WATCH, 0, P "evt/count", "\"scheduled\"") >= 0);
    assert_true(tc_find(WATCH, 0, P "evt/count", "\"submitted\"") >= 0);
}

static void test_count_small_variance_applied(void **state)
{
    json_t *r, *res;
    (void)state;
    import("PA", "WH1/Stock/B/1", "", 20);
    r = ok("lead1", "count.request", "r1", "\"location\":\"WH1/Stock/B/1\"");
    assert_string_equal(jstr(r, "task"), "CNT-9");
    json_decref(r);
    r = ok("counter1", "count.submit", "s1",
           "\"task\":\"CNT-9\",\"location\":\"WH1/Stock/B/1\",\"counts\":[{\"sku\":\"PA\","
           "\"qty\":17,\"unit_value_cents\":250}]");
    assert_int_equal(jint(r, "variances"), 1);
    assert_int_equal(jint(r, "adjusted"), 1);
    assert_int_equal(jint(r, "approvals_pending"), 0);
    res = json_array_get(json_object_get(r, "results"), 0);
    assert_string_equal(jstr(res, "action"), "adjusted");
    assert_int_equal(jint(res, "variance"), -3);
    assert_int_equal(jint(res, "on_hand"), 20);
    json_decref(r);
    hget_is(K("quant:PA:WH1/Stock/B/1:"), "on_hand", "17");
    hget_is(K("kpi"), "adjusted_value_cents", "750");
    /* The adjustment is journaled with its reason, before the task's own entry. */
    redisReply *x = redisCommand(RC, "XREVRANGE " K("journal") " + - COUNT 2");
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
    json_decref(ok("lead1", "count.request", "r2", "\"location\":\"WH1/Stock/B/2\""));
    r = ok("counter1", "count.submit", "s2",
           "\"task\":\"CNT-10\",\"location\":\"WH1/Stock/B/2\",\"counts\":[{\"sku\":\"PB\","
           "\"qty\":30}]");
    assert_int_equal(jint(r, "adjusted"), 0);
    assert_int_equal(jint(r, "approvals_pending"), 1);
    ap = json_array_get(json_object_get(r, "approvals"), 0);
    assert_string_equal(jstr(ap, "approval"), "ADJ-1");
    assert_int_equal(jint(ap, "qty"), -10);
    assert_string_equal(jstr(ap, "why"), "quantity 10 above the threshold of 5");
    json_decref(r);
    hget_is(K("quant:PB:WH1/Stock/B/2:"), "on_hand", "40"); /* nothing applied yet */
    hget_is(K("approval:ADJ-1"), "requester", "counter1");
    hget_is(K("approval:ADJ-1"), "reason", "count CNT-10");
    PUMP_UNTIL(tc_find_retained(WATCH, 0, P "alarm/approval-ADJ-1", NULL) >= 0 ||
                   tc_find(WATCH, 0, P "alarm/approval-ADJ-1", NULL) >= 0,
               2000);
    assert_true(tc_find(WATCH, 0, P "alarm/approval-ADJ-1", "CNT-10") >= 0);
    /* The counter may not approve; a lead (a different user) does. */
    refused("counter1", "adjust.approve", "a0", "\"approval\":\"ADJ-1\"",
            "user \"counter1\" (roles counter) may not run \"adjust.approve\"");
    r = ok("lead1", "adjust.approve", "a1", "\"approval\":\"ADJ-1\"");
    assert_int_equal(jint(r, "on_hand"), 30);
    json_decref(r);
    hget_is(K("quant:PB:WH1/Stock/B/2:"), "on_hand", "30");
    hget_is(K("approval:ADJ-1"), "state", "approved");
}

static void test_count_below_reserved_flagged(void **state)
{
    json_t *r, *res;
    size_t i;
    bool seen_found = false, seen_flag = false;
    (void)state;
    import("PC", "WH1/Stock/B/3", "", 10);
    assert_int_equal(reserve("SO1", "PC", "WH1/Stock/B/3", 8), 0);
    json_decref(ok("lead1", "count.request", "r3", "\"location\":\"WH1/Stock/B/3\""));
    /* 5 of PC (8 are reserved) and 2 of PN nobody knew about (found stock, applied). */
    r = ok("counter2", "count.submit", "s3",
           "\"task\":\"CNT-11\",\"location\":\"WH1/Stock/B/3\",\"counts\":[{\"sku\":\"PC\","
           "\"qty\":5},{\"sku\":\"PN\",\"qty\":2}]");
    assert_true(json_is_true(json_object_get(r, "reserved_short")));
    assert_int_equal(jint(r, "approvals_pending"), 1);
    assert_int_equal(jint(r, "adjusted"), 1);
    json_array_foreach(json_object_get(r, "results"), i, res)
    {
        if (!strcmp(jstr(res, "sku"), "PN")) {
            seen_found = true;
            assert_string_equal(jstr(res, "action"), "adjusted");
            assert_int_equal(jint(res, "variance"), 2);
        } else {
            seen_flag = true;
            assert_string_equal(jstr(res, "action"), "approval");
            assert_true(json_is_true(json_object_get(res, "flagged")));
            assert_int_equal(jint(res, "reserved"), 8);
        }
    }
    assert_true(seen_found && seen_flag);
    json_decref(r);
    hget_is(K("quant:PC:WH1/Stock/B/3:"), "on_hand", "10");
    hget_is(K("quant:PN:WH1/Stock/B/3:"), "on_hand", "2");
    hget_is(K("alarm:count.CNT-11.reserved"), "state", "active");
    PUMP_UNTIL(tc_find(WATCH, 0, P "alarm/count.CNT-11.reserved", NULL) >= 0, 2000);
    assert_true(tc_find(WATCH, 0, P "alarm/count.CNT-11.reserved", "reservation") >= 0);
    /* The approval cannot apply while the reservation stands (adjust's rules). */
    refused("lead2", "adjust.approve", "a2", "\"approval\":\"ADJ-2\"",
            "quant wcs:{t2}:quant:PC:WH1/Stock/B/3: has 8 reserved, adjust -5 would leave 5");
}

static void test_count_refusals(void **state)
{
    (void)state;
    refused("counter1", "count.submit", "f1",
            "\"task\":\"CNT-99\",\"location\":\"WH1/Stock/A/4\",\"counts\":[]",
            "unknown count task \"CNT-99\"");
    refused("counter1", "count.submit", "f2",
            "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/3\",\"counts\":[]",
            "scanned location WH1/Stock/A/3 is not the location of count CNT-4 (WH1/Stock/A/4)");
    refused("counter1", "count.submit", "f3",
            "\"task\":\"CNT-1\",\"location\":\"WH1/Stock/A/1\",\"counts\":[]",
            "count CNT-1 is done: it was submitted before");
    refused("counter1", "count.submit", "f4",
            "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/4\",\"counts\":[{\"sku\":\"LT\","
            "\"qty\":1}]",
            "field \"counts[0].lot\": required: product LT is tracked by lot");
    refused("counter1", "count.submit", "f5",
            "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/4\",\"counts\":[{\"sku\":\"PN\","
            "\"qty\":1},{\"sku\":\"PN\",\"qty\":2}]",
            "field \"counts[1]\": PN is listed twice (as counts[0])");
    refused("counter1", "count.submit", "f6",
            "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/4\",\"counts\":[{\"sku\":\"PN\","
            "\"qty\":-1}]",
            "field \"counts[0].qty\": expected an integer in 0..1073741824");
    refused("counter1", "count.request", "f7", "\"location\":\"WH1/Stock/A/6\"",
            "user \"counter1\" (roles counter) may not run \"count.request\"");
    /* A count restricted to one product refuses another. */
    json_t *r = ok("lead1", "count.request", "f8", "\"location\":\"WH1/Stock/B/1\",\"sku\":\"PA\"");
    assert_string_equal(jstr(r, "task"), "CNT-12");
    json_decref(r);
    refused("counter1", "count.submit", "f9",
            "\"task\":\"CNT-12\",\"location\":\"WH1/Stock/B/1\",\"counts\":[{\"sku\":\"PB\","
            "\"qty\":1}]",
            "count CNT-12 counts only PA, not PB");
    /* An empty count of a location holding stock: everything counts 0 (an approval here). */
    r = ok("counter1", "count.submit", "f10",
           "\"task\":\"CNT-4\",\"location\":\"WH1/Stock/A/4\",\"counts\":[]");
    assert_int_equal(jint(r, "approvals_pending"), 0);
    assert_int_equal(jint(r, "adjusted"), 1); /* 5 -> 0: within the threshold of 5 */
    json_decref(r);
    hget_is(K("quant:PN:WH1/Stock/A/4:"), "on_hand", "0");
}

static void test_transfer_through_transit(void **state)
{
    json_t *r;
    (void)state;
    import("PA", "WH1/Stock/A/6", "", 30);
    refused("lead1", "transfer.create", "t0",
            "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH1\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":1}]",
            "field \"to_warehouse\": the transfer must leave warehouse WH1");
    refused("lead1", "transfer.create", "t0b",
            "\"transfer\":\"T1\",\"from_warehouse\":\"WH3\",\"to_warehouse\":\"WH1\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":1}]",
            "field \"from_warehouse\": warehouse WH3 has no transit location (type: transit)");
    refused("lead1", "transfer.create", "t0c",
            "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":1000}]",
            "not enough stock of PA in WH1: 57 available, 1000 asked");
    refused("counter1", "transfer.create", "t0d",
            "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":1}]",
            "user \"counter1\" (roles counter) may not run \"transfer.create\"");
    /* 12 of PA: A/1 (10) then A/6 (2), by location path (no expiry, no in_date). */
    r = ok("lead1", "transfer.create", "t1",
           "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
           "\"lines\":[{\"sku\":\"PA\",\"qty\":12}]");
    assert_string_equal(jstr(r, "state"), "reserved");
    assert_int_equal(jint(r, "units"), 12);
    assert_string_equal(jstr(r, "transit"), "WH1/Transit");
    assert_string_equal(jstr(r, "destination"), "WH2/Dock");
    json_decref(r);
    hget_is(K("quant:PA:WH1/Stock/A/1:"), "reserved", "10");
    hget_is(K("quant:PA:WH1/Stock/A/6:"), "reserved", "2");
    refused("lead1", "transfer.create", "t1b",
            "\"transfer\":\"T1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
            "\"lines\":[{\"sku\":\"PA\",\"qty\":1}]",
            "transfer T1 exists");
    refused("lead1", "transfer.receive", "t1c", "\"transfer\":\"T1\"",
            "transfer T1 is reserved: only a transfer in transit can be received");
    r = ok("lead1", "transfer.ship", "t2", "\"transfer\":\"T1\"");
    assert_string_equal(jstr(r, "state"), "in_transit");
    assert_int_equal(jint(r, "units"), 12);
    json_decref(r);
    hget_is(K("quant:PA:WH1/Stock/A/1:"), "on_hand", "0");
    hget_is(K("quant:PA:WH1/Stock/A/1:"), "reserved", "0");
    hget_is(K("quant:PA:WH1/Stock/A/6:"), "on_hand", "28");
    hget_is(K("quant:PA:WH1/Transit:"), "on_hand", "12");
    hget_is(K("quant:PA:WH1/Transit:"), "reserved", "12");
    /* Stock in transit is in no warehouse's available stock. */
    assert_int_equal(reserve("SO2", "PA", "WH1/Transit", 1), WCS_E_STATE);
    refused("lead1", "transfer.ship", "t2b", "\"transfer\":\"T1\"",
            "transfer T1 is in_transit: only a reserved transfer can be shipped");
    refused("lead1", "transfer.receive", "t2c",
            "\"transfer\":\"T1\",\"lines\":[{\"sku\":\"PA\",\"qty\":13}]",
            "transfer T1 has 12 of PA in transit, receive asks 13");
    r = ok("lead1", "transfer.receive", "t3",
           "\"transfer\":\"T1\",\"lines\":[{\"sku\":\"PA\",\"qty\":5}]");
    assert_string_equal(jstr(r, "state"), "in_transit");
    assert_int_equal(jint(r, "received"), 5);
    assert_int_equal(jint(r, "in_transit"), 7);
    json_decref(r);
    hget_is(K("quant:PA:WH2/Dock:"), "on_hand", "5");
    hget_is(K("quant:PA:WH2/Dock:"), "reserved", "0");
    hget_is(K("quant:PA:WH1/Transit:"), "on_hand", "7");
    r = ok("lead2", "transfer.receive", "t4", "\"transfer\":\"T1\"");
    assert_string_equal(jstr(r, "state"), "done");
    assert_int_equal(jint(r, "received_total"), 12);
    assert_int_equal(jint(r, "in_transit"), 0);
    json_decref(r);
    hget_is(K("quant:PA:WH2/Dock:"), "on_hand", "12");
    hget_is(K("quant:PA:WH1/Transit:"), "on_hand", "0");
    hget_is(K("quant:PA:WH1/Transit:"), "reserved", "0");
    hget_is(K("transfer:T1"), "state", "done");
    refused("lead1", "transfer.receive", "t5", "\"transfer\":\"T1\"",
            "transfer T1 is done: only a transfer in transit can be received");
    refused("lead1", "transfer.ship", "t6", "\"transfer\":\"T9\"", "unknown transfer \"T9\"");
    PUMP_UNTIL(tc_find(WATCH, 0, P "state/transfer/T1", "\"done\"") >= 0, 2000);
    assert_true(tc_find(WATCH, 0, P "state/transfer/T1", "\"done\"") >= 0);
    assert_true(tc_find(WATCH, 0, P "evt/transfer", "\"shipped\"") >= 0);
}

/* Runs `wcs audit` on a copy of the site config pointing at the harness Redis. */
static int audit(const char *flags, char *out, size_t cap)
{
    char cfg[256], cmd[768], outf[256];
    FILE *f, *in;
    snprintf(cfg, sizeof(cfg), "%s/audit-site.yaml", harness_redis_dir(R));
    snprintf(outf, sizeof(outf), "%s/audit.out", harness_redis_dir(R));
    if (access(cfg, F_OK) != 0) {
        char buf[8192];
        size_t n;
        in = fopen(SITE_YAML, "r");
        f = fopen(cfg, "w");
        assert_non_null(in);
        assert_non_null(f);
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            fwrite(buf, 1, n, f);
        fprintf(f, "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s}\n",
                harness_redis_port(R), harness_redis_user(R), harness_redis_password_file(R));
        fclose(in);
        fclose(f);
    }
    snprintf(cmd, sizeof(cmd), "%s audit %s %s >%s 2>&1", WCS_BIN, cfg, flags, outf);
    int st = system(cmd);
    f = fopen(outf, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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
        if (strcmp(jstr(row, "sku"), "PA") != 0)
            continue;
        pa = true;
        assert_int_equal(jint(row, "initial"), 60);
        assert_int_equal(jint(row, "adjustments"), -3);
        /* source -> transit -> destination: moves inside the site, nothing left in transit */
        assert_int_equal(jint(row, "moves"), 0);
        assert_int_equal(jint(json_object_get(row, "places"), "transit"), 0);
        assert_int_equal(jint(json_object_get(row, "places"), "stock"), 57);
        assert_int_equal(jint(row, "on_hand"), 57);
        assert_int_equal(jint(row, "expected"), 57);
    }
    assert_true(pa);
    json_decref(j);
    /* One unit added behind wcs's back. */
    redisReply *x = redisCommand(RC, "HINCRBY %s on_hand 1", K("quant:PB:WH1/Stock/A/2:"));
    freeReplyObject(x);
    rc = audit("", out, sizeof(out));
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "MISMATCH"));
    assert_non_null(strstr(out, "quant wcs:{t2}:quant:PB:WH1/Stock/A/2: on_hand differs"));
    x = redisCommand(RC, "HINCRBY %s on_hand -1", K("quant:PB:WH1/Stock/A/2:"));
    freeReplyObject(x);
    /* reserved > on_hand is caught too. */
    x = redisCommand(RC, "HSET %s reserved 99", K("quant:PB:WH1/Stock/A/2:"));
    freeReplyObject(x);
    rc = audit("--json", out, sizeof(out));
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "reserved exceeds on_hand"));
    x = redisCommand(RC, "HSET %s reserved 0", K("quant:PB:WH1/Stock/A/2:"));
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
        cmocka_unit_test(test_audit_balances_then_catches_tampering),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
