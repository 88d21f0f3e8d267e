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

#include "base/clock.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "command/command.h"
#include "harness/harness.h"
#include "rdump.h"
#include "store/store.h"
#include "tclient.h"

#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE      "t1"
#define P         "wcs/v1/t1/"
#define MAX_BYTES 2048
#define N_CLIENTS 6

static struct harness_redis *R;
static struct harness_mqtt *M;
static struct cfg_site *CFG;
static struct loop *L;
static struct store *ST;
static struct bus *B;
static struct cmd_ctx C;
static redisContext *RC;
static char URI[64];
static const char *const NAMES[N_CLIENTS] = {"sup", "lead1", "lead2", "clerk1", "erp", "mallory"};
static struct tclient *TC[N_CLIENTS];
static struct tclient *WATCH; /* a supervisor reading the whole site (alarms) */

struct change {
    int n;
    enum cmd_change what;
    char id[64], state[32];
};
static struct change CHG;

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

static void on_change(void *arg, enum cmd_change what, const char *id, const char *state)
{
    struct change *c = arg;
    c->n++;
    c->what = what;
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->state, sizeof(c->state), "%s", state ? state : "");
}

static void on_store_state(void *arg, bool up, int reason, const char *detail)
{
    (void)reason;
    (void)detail;
    *(bool *)arg = up;
}

static bool STORE_UP;

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
                          .client_id = "wcs-cmd",
                          .user = "wcs",
                          .password_file = harness_mqtt_password_file(M, "wcs"),
                          .site = SITE,
                          .gen = 1,
                          .max_payload_bytes = MAX_BYTES};
    C = (struct cmd_ctx){.store = ST,
                         .site = CFG,
                         .clock = clock_system(),
                         .request_ttl_s = 600,
                         .on_change = on_change,
                         .change_arg = &CHG,
                         .loop = L};
    if (bus_open(&B, L, &bo, on_cmd, &C, err, sizeof(err)) != 0) {
        fprintf(stderr, "bus: %s\n", err);
        return -1;
    }
    C.bus = B;
    for (int i = 0; i < N_CLIENTS; i++) {
        char id[32], filter[128];
        snprintf(id, sizeof(id), "c-%s", NAMES[i]);
        snprintf(filter, sizeof(filter), P "reply/%s/#", NAMES[i]);
        TC[i] = tc_open(URI, id, NAMES[i], harness_mqtt_password(M, NAMES[i]), 5, false);
        if (!TC[i] || tc_sub(TC[i], filter) != 0)
            return -1;
    }
    WATCH = tc_open(URI, "watch", "sup", harness_mqtt_password(M, "sup"), 5, false);
    if (!WATCH || tc_sub(WATCH, P "alarm/#") != 0)
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
    store_close(ST); /* before the bus: pending commands are answered on it */
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

/* Publishes payload as user's command and waits for the reply on reply/<user>/<rid>; returns
 * the reply parsed (caller json_decref's). from: tc_count before publishing. */
static json_t *wait_reply(const char *user, const char *rid, size_t from)
{
    char topic[160];
    struct tclient *c = tc(user);
    snprintf(topic, sizeof(topic), P "reply/%s/%s", user, rid);
    PUMP_UNTIL(tc_find(c, from, topic, NULL) >= 0, 5000);
    long i = tc_find(c, from, topic, NULL);
    if (i < 0)
        fail_msg("no reply on %s", topic);
    json_t *j = json_loads(tc_msg(c, (size_t)i)->payload, 0, NULL);
    assert_non_null(j);
    return j;
}

static json_t *send_raw(const char *user, const char *command, const char *rid, const char *body)
{
    char topic[160];
    struct tclient *c = tc(user);
    size_t from = tc_count(c);
    snprintf(topic, sizeof(topic), P "cmd/%s/%s", user, command);
    assert_int_equal(tc_pub(c, topic, body, strlen(body), 1, false, NULL, NULL), 0);
    return wait_reply(user, rid, from);
}

/* Sends {"request_id":rid,<fields>} and returns the reply. */
static json_t *send(const char *user, const char *command, const char *rid, const char *fields)
{
    char body[4096];
    snprintf(body, sizeof(body), "{\"request_id\":\"%s\"%s%s}", rid, fields[0] ? "," : "", fields);
    return send_raw(user, command, rid, body);
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        fail_msg("reply has no string \"%s\": %s", k, json_dumps(o, 0));
    return json_string_value(v);
}

static long long jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("reply has no integer \"%s\"", k);
    return json_integer_value(v);
}

/* Expects ok:true and returns the reply (caller decrefs). */
static json_t *ok(const char *user, const char *command, const char *rid, const char *fields)
{
    json_t *r = send(user, command, rid, fields);
    if (!json_is_true(json_object_get(r, "ok")))
        fail_msg("%s %s refused: %s", user, command,
                 json_string_value(json_object_get(r, "error")));
    assert_string_equal(jstr(r, "command"), command);
    assert_string_equal(jstr(r, "request_id"), rid);
    return r;
}

static void ok0(const char *user, const char *command, const char *rid, const char *fields)
{
    json_decref(ok(user, command, rid, fields));
}

static long long xlen(void)
{
    redisReply *r = redisCommand(RC, "XLEN wcs:{" SITE "}:journal");
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
    if (!v || strcmp(v, want) != 0)
        fail_msg("%s %s = %s, expected %s", key, field, v ? v : "(nil)", want);
    free(v);
}

static void fixture(const char *fmt, const char *a, const char *b)
{
    redisReply *r = redisCommand(RC, fmt, a, b);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static bool skip_records(const char *key, void *arg)
{
    (void)arg;
    return strstr(key, ":journal") || strstr(key, ":req:") || strstr(key, ":op:");
}

/* Every key of the site but the journal and the request records: a canonical snapshot of their
 * contents (tests/common/rdump.h). Returns a malloc'd buffer. */
static char *dump(size_t *len_out)
{
    return rdump(RC, "wcs:{" SITE "}:*", skip_records, NULL, len_out);
}

/* The last journal entry's field. */
static char *journal_last(const char *field)
{
    redisReply *r = redisCommand(RC, "XREVRANGE wcs:{" SITE "}:journal + - COUNT 1");
    char *v = NULL;
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    const redisReply *f = r->element[0]->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (strcmp(f->element[i]->str, field) == 0)
            v = strdup(f->element[i + 1]->str);
    freeReplyObject(r);
    assert_non_null(v);
    return v;
}

/* Sends a command that must be refused with exactly `want`, leave every key but the journal and
 * request records as it was, and add one journal entry "cmd_refused" by user. */
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
    if (rdump_diff(d0, n0, d1, n1) != 0) {
        fail_msg("%s %s changed Redis although refused", user, command);
    }
    free(d0);
    free(d1);
    char *op = journal_last("op"), *actor = journal_last("actor"), *cause = journal_last("cause");
    char want_cause[200];
    snprintf(want_cause, sizeof(want_cause), "%s %s", command, rid);
    assert_string_equal(op, "cmd_refused");
    assert_string_equal(actor, user);
    assert_string_equal(cause, want_cause);
    free(op);
    free(actor);
    free(cause);
}

#define K(x) "wcs:{" SITE "}:" x

/* ---- tests ---- */

static void test_order_and_wave_lifecycle(void **state)
{
    json_t *r;
    (void)state;
    /* Stock: 8 of P1 at A/1 (a small adjustment, applied at once), 3 at A/2. */
    r = ok("lead1", "inventory.adjust", "s1",
           "\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":8,\"reason\":\"initial\","
           "\"unit_value_cents\":100");
    assert_true(json_is_true(json_object_get(r, "applied")));
    json_decref(r);
    ok0("lead1", "inventory.adjust", "s2",
        "\"sku\":\"P1\",\"location\":\"WH1/Stock/A/2\",\"qty\":3,\"reason\":\"initial\","
        "\"unit_value_cents\":100");
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "8");

    r = ok("erp", "order.upsert", "o1",
           "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":10}]");
    assert_string_equal(jstr(r, "result"), "created");
    assert_string_equal(jstr(r, "state"), "confirmed");
    json_decref(r);
    assert_int_equal(CHG.what, CMD_CHANGED_ORDER);
    assert_string_equal(CHG.id, "SO1");
    r = ok("erp", "order.upsert", "o2",
           "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":10}]");
    assert_string_equal(jstr(r, "result"), "unchanged");
    json_decref(r);
    r = ok("erp", "order.upsert", "o3",
           "\"order\":\"SO1\",\"carrier\":\"DHL\",\"priority\":\"urgent\","
           "\"lines\":[{\"sku\":\"P1\",\"qty\":9}]");
    assert_string_equal(jstr(r, "result"), "updated");
    json_decref(r);
    ok0("erp", "order.upsert", "o4",
        "\"order\":\"SO2\",\"carrier\":\"UPS\",\"lines\":[{\"sku\":\"P1\",\"qty\":5}]");

    r = ok("erp", "order.hold", "o5", "\"order\":\"SO1\"");
    assert_true(json_is_true(json_object_get(r, "hold")));
    json_decref(r);
    refused("erp", "order.hold", "o6", "\"order\":\"SO1\"", "order SO1 is already on hold");
    refused("lead1", "wave.plan", "w0", "\"wave\":\"W0\",\"carrier\":\"DHL\"",
            "no confirmed order without a hold for carrier DHL to wave");
    r = ok("erp", "order.release", "o7", "\"order\":\"SO1\"");
    assert_true(json_is_false(json_object_get(r, "hold")));
    json_decref(r);
    refused("erp", "order.release", "o8", "\"order\":\"SO1\"", "order SO1 is not on hold");

    /* Stock in the quality location is never reserved. */
    fixture("HSET %s on_hand %s", K("quant:P1:WH1/Quality:"), "50");
    fixture("SADD %s %s", K("sku:P1:quants"), K("quant:P1:WH1/Quality:"));
    fixture("HSET %s loc %s", K("quant:P1:WH1/Quality:"), "WH1/Quality");
    /* SO1 (urgent, 9) goes first and takes 8 + 1; SO2 needs 5 with 2 left: skipped. */
    r = ok("lead1", "wave.plan", "w1", "\"wave\":\"W1\"");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "orders"), 0)), "SO1");
    assert_int_equal(json_array_size(json_object_get(r, "orders")), 1);
    json_t *sk = json_array_get(json_object_get(r, "skipped"), 0);
    assert_string_equal(jstr(sk, "order"), "SO2");
    assert_string_equal(jstr(sk, "reason"),
                        "line 0 (P1): Short: all 11 units in stock are reserved for other lines (2 "
                        "reserved).");
    /* The planner's backorder record of the short line. */
    json_t *bo = json_array_get(json_object_get(r, "backorders"), 0);
    assert_string_equal(jstr(bo, "order"), "SO2");
    assert_string_equal(jstr(bo, "code"), "SHORT_RESERVED");
    assert_int_equal(jint(bo, "qty"), 3);
    assert_int_equal(jint(r, "units"), 9);
    json_decref(r);
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "8");
    hget_is(K("quant:P1:WH1/Stock/A/2:"), "reserved", "1");
    char *q_res = hget(K("quant:P1:WH1/Quality:"), "reserved");
    assert_null(q_res);
    hget_is(K("order:SO1"), "state", "waved");
    hget_is(K("order:SO1:resv"), K("quant:P1:WH1/Stock/A/1:"), "8");
    refused("lead1", "wave.plan", "w2", "\"wave\":\"W1\"", "wave W1 exists");
    refused("lead1", "wave.plan", "w3", "\"wave\":\"W2\"",
            "no order can be waved: SO2 line 0 (P1): Short: all 11 units in stock are reserved "
            "for other lines (2 reserved).");
    refused("erp", "order.upsert", "o9",
            "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
            "order SO1 is waved: only a draft or confirmed order can be changed");
    refused("erp", "order.hold", "o10", "\"order\":\"SO1\"",
            "order SO1 is waved: only a draft, confirmed or reserved order can be held");

    r = ok("lead1", "wave.release", "w4", "\"wave\":\"W1\"");
    assert_string_equal(jstr(r, "state"), "released");
    json_decref(r);
    refused("lead1", "wave.release", "w5", "\"wave\":\"W1\"",
            "wave W1 is released: only a planned wave can be released");
    r = ok("lead1", "wave.cancel", "w6", "\"wave\":\"W1\"");
    assert_string_equal(jstr(r, "state"), "cancelled");
    assert_int_equal(jint(r, "unreserved"), 9);
    json_decref(r);
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "0");
    hget_is(K("order:SO1"), "state", "confirmed");
    refused("lead1", "wave.cancel", "w7", "\"wave\":\"W1\"",
            "wave W1 is cancelled: it can no longer be cancelled");
    refused("lead1", "wave.release", "w8", "\"wave\":\"W9\"", "unknown wave \"W9\"");

    /* Cancel gives reservations back: wave SO1 again, then cancel the order. */
    ok0("lead1", "wave.plan", "w9", "\"wave\":\"W3\",\"carrier\":\"DHL\"");
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "8");
    r = ok("erp", "order.cancel", "o11", "\"order\":\"SO1\"");
    assert_string_equal(jstr(r, "state"), "cancelled");
    assert_int_equal(jint(r, "unreserved"), 9);
    json_decref(r);
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "0");
    hget_is(K("quant:P1:WH1/Stock/A/2:"), "reserved", "0");
    hget_is(K("wave:W3"), "orders", "[]");
    refused("erp", "order.cancel", "o12", "\"order\":\"SO1\"",
            "order SO1 is cancelled: no further changes");
    refused("erp", "order.upsert", "o13",
            "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
            "order SO1 is cancelled: no further changes");
    refused("erp", "order.cancel", "o14", "\"order\":\"NOPE\"", "unknown order \"NOPE\"");
    /* A draft is not waved until released. */
    ok0("erp", "order.upsert", "o15",
        "\"order\":\"SO3\",\"carrier\":\"DHL\",\"draft\":true,"
        "\"lines\":[{\"sku\":\"P1\",\"qty\":1}]");
    refused("lead1", "wave.plan", "w10", "\"wave\":\"W4\",\"carrier\":\"DHL\"",
            "no confirmed order without a hold for carrier DHL to wave");
    r = ok("erp", "order.release", "o16", "\"order\":\"SO3\"");
    assert_string_equal(jstr(r, "state"), "confirmed");
    json_decref(r);
}

static void test_refusals_change_nothing(void **state)
{
    (void)state;
    refused("erp", "order.destroy", "x1", "\"order\":\"SO1\"", "unknown command \"order.destroy\"");
    refused("clerk1", "order.cancel", "x2", "\"order\":\"SO2\"",
            "user \"clerk1\" (roles clerk) may not run \"order.cancel\"");
    refused("mallory", "order.upsert", "x3", "\"order\":\"SO9\"",
            "user \"mallory\" is not configured");
    refused("erp", "order.upsert", "x4",
            "\"order\":\"SO9\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":\"2\"}]",
            "field \"lines[0].qty\": expected an integer in 1..1073741824");
    refused("erp", "order.upsert", "x5",
            "\"order\":\"SO9\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"NOPE\",\"qty\":2}]",
            "field \"lines[0].sku\": unknown product \"NOPE\"");
    refused("erp", "order.upsert", "x6",
            "\"order\":\"SO9\",\"carrier\":\"DHL\",\"color\":\"red\","
            "\"lines\":[{\"sku\":\"P1\",\"qty\":2}]",
            "field \"color\": unknown field (allowed: order, carrier, priority, ship_date, zone, "
            "ship_to, draft, lines)");
    refused("lead1", "inventory.adjust", "x7",
            "\"sku\":\"P1\",\"location\":\"WH1/Stock/A/3\",\"qty\":-1,\"reason\":\"x\","
            "\"unit_value_cents\":1",
            "quant " K("quant:P1:WH1/Stock/A/3:") " has 0, adjust -1 would make it negative");
    /* A request_id with ':' is remembered under a hashed key. */
    refused("erp", "order.hold", "ui-1:2", "\"order\":\"NOPE\"", "unknown order \"NOPE\"");
}

static void test_replay_answers_stored_reply(void **state)
{
    (void)state;
    json_t *a = ok("erp", "order.upsert", "rp:1",
                   "\"order\":\"SO7\",\"carrier\":\"UPS\",\"lines\":[{\"sku\":\"P2\",\"qty\":4}]");
    long long j0 = xlen();
    size_t n0, n1;
    char *d0 = dump(&n0);
    /* Same request_id, different body: the stored reply, nothing executed or journaled. */
    json_t *b =
        send("erp", "order.upsert", "rp:1",
             "\"order\":\"SO8\",\"carrier\":\"UPS\",\"lines\":[{\"sku\":\"P2\",\"qty\":1}]");
    json_object_del(a, "ts");
    json_object_del(a, "seq");
    json_object_del(b, "ts");
    json_object_del(b, "seq");
    assert_true(json_equal(a, b));
    assert_string_equal(jstr(b, "result"), "created");
    loop_run_once(L, 50);
    assert_int_equal(xlen(), j0);
    char *d1 = dump(&n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    char *none = hget(K("order:SO8"), "state");
    assert_null(none);
    json_decref(a);
    json_decref(b);
    free(d0);
    free(d1);
    /* A refusal replays identically too. */
    json_t *c = send("clerk1", "order.cancel", "x2", "\"order\":\"SO7\"");
    assert_string_equal(jstr(c, "error"),
                        "user \"clerk1\" (roles clerk) may not run \"order.cancel\"");
    json_decref(c);
    hget_is(K("order:SO7"), "state", "confirmed");
    assert_true(C.stats.replayed >= 2);
}

static void test_segregation_of_duties(void **state)
{
    json_t *r;
    (void)state;
    ok0("lead1", "inventory.adjust", "d0",
        "\"sku\":\"L1\",\"location\":\"WH1/Stock/A/3\",\"lot\":\"LOT1\",\"qty\":5,"
        "\"reason\":\"initial\",\"unit_value_cents\":100");
    size_t from = tc_count(WATCH);
    r = ok("lead1", "inventory.adjust", "d1",
           "\"sku\":\"L1\",\"location\":\"WH1/Stock/A/3\",\"lot\":\"LOT1\",\"qty\":25,"
           "\"reason\":\"found pallet\",\"unit_value_cents\":100");
    assert_true(json_is_false(json_object_get(r, "applied")));
    assert_string_equal(jstr(r, "state"), "pending");
    assert_string_equal(jstr(r, "why"), "quantity 25 above the threshold of 10");
    char approval[32];
    snprintf(approval, sizeof(approval), "%s", jstr(r, "approval"));
    json_decref(r);
    hget_is(K("quant:L1:WH1/Stock/A/3:LOT1"), "on_hand", "5");
    char alarm_topic[96], alarm_key[96], fields[96];
    snprintf(alarm_topic, sizeof(alarm_topic), P "alarm/approval-%s", approval);
    snprintf(alarm_key, sizeof(alarm_key), K("alarm:approval-%s"), approval);
    PUMP_UNTIL(tc_find(WATCH, from, alarm_topic, "requester") >= 0, 3000);
    assert_true(tc_find(WATCH, from, alarm_topic, "\"requester\":\"lead1\"") >= 0);
    hget_is(alarm_key, "state", "active");

    snprintf(fields, sizeof(fields), "\"approval\":\"%s\"", approval);
    refused("lead1", "adjust.approve", "d2", fields, "approver must differ from requester");
    refused("clerk1", "adjust.approve", "d3", fields,
            "user \"clerk1\" (roles clerk) may not run \"adjust.approve\"");
    refused("lead2", "adjust.approve", "d4", "\"approval\":\"ADJ-999\"",
            "unknown approval \"ADJ-999\"");
    from = tc_count(WATCH);
    r = ok("lead2", "adjust.approve", "d5", fields);
    assert_int_equal(jint(r, "on_hand"), 30);
    assert_int_equal(jint(r, "qty"), 25);
    assert_string_equal(jstr(r, "requester"), "lead1");
    json_decref(r);
    hget_is(K("quant:L1:WH1/Stock/A/3:LOT1"), "on_hand", "30");
    char *gone = hget(alarm_key, "state");
    assert_null(gone);
    PUMP_UNTIL(tc_find(WATCH, from, alarm_topic, NULL) >= 0, 3000);
    long i = tc_find(WATCH, from, alarm_topic, NULL);
    assert_true(i >= 0);
    assert_int_equal(tc_msg(WATCH, (size_t)i)->len, 0); /* cleared */
    char *actor = journal_last("after");
    assert_non_null(strstr(actor, "\"approver\":\"lead2\""));
    free(actor);
    char want[64];
    snprintf(want, sizeof(want), "approval %s is approved", approval);
    refused("sup", "adjust.approve", "d6", fields, want);
    /* The value threshold alone: 10 units at 60.00 each. */
    r = ok("clerk1", "inventory.adjust", "d7",
           "\"sku\":\"P2\",\"location\":\"WH1/Stock/A/3\",\"qty\":10,\"reason\":\"found\","
           "\"unit_value_cents\":6000");
    assert_string_equal(jstr(r, "why"), "value 60000 cents above the threshold of 50000 cents");
    json_decref(r);
    /* A decrease the stock cannot take is refused when requested. */
    refused("clerk1", "inventory.adjust", "d8",
            "\"sku\":\"L1\",\"location\":\"WH1/Stock/A/3\",\"lot\":\"LOT1\",\"qty\":-31,"
            "\"reason\":\"lost\",\"unit_value_cents\":1",
            "quant " K("quant:L1:WH1/Stock/A/3:LOT1") " has 30, adjust -31 would make it negative");
}

static void test_rma_device_count_label_alarm(void **state)
{
    json_t *r;
    (void)state;
    ok0("erp", "order.upsert", "m1",
        "\"order\":\"SO20\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":3},"
        "{\"sku\":\"P2\",\"qty\":1}]");
    refused("erp", "rma.authorize", "m2",
            "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
            "order SO20 is confirmed: only a shipped order can be returned");
    fixture("HSET %s state %s", K("order:SO20"), "shipped"); /* the shipping flow's job */
    refused(
        "erp", "rma.authorize", "m3",
        "\"rma\":\"R1\",\"order\":\"SO20\",\"credit\":true,\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
        "\"rma.authorize\" needs a supervisor role (approve: true); user \"erp\" has roles erp");
    refused("erp", "rma.authorize", "m4",
            "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"P1\",\"qty\":4}]",
            "order SO20 shipped 3 of P1, the RMA asks 4");
    refused("erp", "rma.authorize", "m5",
            "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"L1\",\"qty\":1}]",
            "order SO20 has no line for L1");
    refused("erp", "rma.authorize", "m6",
            "\"rma\":\"R1\",\"order\":\"SO99\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
            "unknown order \"SO99\"");
    r = ok("erp", "rma.authorize", "m7",
           "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"P1\",\"qty\":2}]");
    assert_int_equal(jint(r, "units"), 2);
    assert_true(json_is_false(json_object_get(r, "credit")));
    json_decref(r);
    r = ok(
        "sup", "rma.authorize", "m8",
        "\"rma\":\"R2\",\"order\":\"SO20\",\"credit\":true,\"lines\":[{\"sku\":\"P2\",\"qty\":1}]");
    assert_true(json_is_true(json_object_get(r, "credit")));
    json_decref(r);
    hget_is(K("rma:R2"), "credit", "1");
    refused("sup", "rma.authorize", "m9",
            "\"rma\":\"R1\",\"order\":\"SO20\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
            "RMA R1 exists");

    refused("clerk1", "device.disable", "v1", "\"device\":\"prn1\"",
            "\"device.disable\" needs a supervisor role (approve: true); user \"clerk1\" has roles "
            "clerk");
    r = ok("lead1", "device.disable", "v2", "\"device\":\"prn1\",\"reason\":\"jammed\"");
    assert_string_equal(jstr(r, "state"), "disabled");
    json_decref(r);
    assert_int_equal(CHG.what, CMD_CHANGED_DEVICE);
    assert_string_equal(CHG.state, "disabled");
    refused("lead1", "device.disable", "v3", "\"device\":\"prn1\"",
            "device prn1 is already disabled");
    ok0("lead1", "device.enable", "v4", "\"device\":\"prn1\"");
    hget_is(K("device:prn1"), "enabled", "1");
    refused("lead1", "device.enable", "v5", "\"device\":\"ghost\"",
            "field \"device\": unknown device \"ghost\"");

    /* Count and pick tasks share the task counter (wave.release made PCK-1, PCK-2 above). */
    redisReply *seq = redisCommand(RC, "GET %s", K("task:seq"));
    char want_task[32], want_key[64], want_err[128];
    snprintf(want_task, sizeof(want_task), "CNT-%lld",
             (seq->type == REDIS_REPLY_STRING ? atoll(seq->str) : 0) + 1);
    freeReplyObject(seq);
    r = ok("clerk1", "count.request", "c1", "\"location\":\"WH1/Stock/A/2\",\"sku\":\"P1\"");
    char task[32];
    snprintf(task, sizeof(task), "%s", jstr(r, "task"));
    json_decref(r);
    assert_string_equal(task, want_task);
    snprintf(want_key, sizeof(want_key), K("task:%s"), want_task);
    hget_is(want_key, "target", "WH1/Stock/A/2");
    snprintf(want_err, sizeof(want_err), "location WH1/Stock/A/2 already has an open count %s",
             want_task);
    refused("clerk1", "count.request", "c2", "\"location\":\"WH1/Stock/A/2\"", want_err);
    refused("clerk1", "count.request", "c3", "\"location\":\"WH1/Stock\"",
            "field \"location\": WH1/Stock is a view location and holds no stock");

    refused("clerk1", "label.reprint", "l1", "\"shipment\":\"SH1\"", "unknown shipment \"SH1\"");
    fixture("HSET %s tote %s", K("shipment:SH1"), "T7"); /* written by store_ship */
    r = ok("clerk1", "label.reprint", "l2", "\"shipment\":\"SH1\",\"printer\":\"prn1\"");
    assert_string_equal(jstr(r, "tote"), "T7");
    json_decref(r);
    assert_int_equal(CHG.what, CMD_CHANGED_TOTE);

    refused("lead1", "alarm.ack", "a1", "\"alarm\":\"jam-3\"", "unknown alarm \"jam-3\"");
    fixture("HSET %s state %s", K("alarm:jam-3"), "active");
    ok0("lead1", "alarm.ack", "a2", "\"alarm\":\"jam-3\",\"note\":\"cleared the belt\"");
    hget_is(K("alarm:jam-3"), "acked_by", "lead1");
    refused("lead2", "alarm.ack", "a3", "\"alarm\":\"jam-3\"",
            "alarm jam-3 was acknowledged by lead1");
}

static void test_bus_level_refusals(void **state)
{
    char big[MAX_BYTES + 200], want[128];
    size_t n0, n1;
    (void)state;
    char *d0 = dump(&n0);
    long long j0 = xlen();
    uint64_t handled = C.stats.handled;
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "{\"request_id\":\"big\",\"order\":\"SO1\"}", 34);
    json_t *r = send_raw("erp", "order.hold", "_invalid", big);
    snprintf(want, sizeof(want), "payload of %zu bytes exceeds the limit of %d bytes", strlen(big),
             MAX_BYTES);
    assert_string_equal(jstr(r, "error"), want);
    json_decref(r);
    r = send_raw("erp", "order.hold", "_invalid", "{\"request_id\":\"j1\",\"order\":");
    assert_non_null(strstr(jstr(r, "error"), "invalid JSON at line 1"));
    json_decref(r);
    r = send_raw("erp", "order.hold", "_invalid", "{\"order\":\"SO1\"}");
    assert_string_equal(jstr(r, "error"), "field \"request_id\": missing");
    json_decref(r);
    char *d1 = dump(&n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    assert_int_equal(xlen(), j0);
    assert_int_equal(C.stats.handled, handled);
    free(d0);
    free(d1);
}

static void test_broker_refuses(void **state)
{
    size_t n0, n1;
    (void)state;
    /* A wrong password: the broker refuses the connection. */
    assert_null(tc_open(URI, "intruder", "erp", "not-the-password", 5, false));
    assert_null(tc_open(URI, "anon", NULL, NULL, 5, false));
    /* erp publishing under lead1's name: dropped by the broker (PUBACK 0x87), never handled. */
    char *d0 = dump(&n0);
    uint64_t handled = C.stats.handled;
    const char *body = "{\"request_id\":\"evil1\",\"wave\":\"W66\"}";
    assert_int_equal(
        tc_pub(tc("erp"), P "cmd/lead1/wave.plan", body, strlen(body), 1, false, NULL, NULL), -1);
    PUMP_UNTIL(false, 300);
    assert_int_equal(C.stats.handled, handled);
    assert_int_equal(tc_find(tc("lead1"), 0, P "reply/lead1/evil1", NULL), -1);
    char *d1 = dump(&n1);
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
        cmocka_unit_test(test_segregation_of_duties),
        cmocka_unit_test(test_rma_device_count_label_alarm),
        cmocka_unit_test(test_bus_level_refusals),
        cmocka_unit_test(test_broker_refuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
