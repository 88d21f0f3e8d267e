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

#include "base/clock.h"
#include "base/err.h"
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

#define SITE      "t2"
#define P         "wcs/v1/t2/"
#define MAX_BYTES 8192
#define N_CLIENTS 4

static struct harness_redis *R;
static struct harness_mqtt *M;
static struct cfg_site *CFG;
static struct loop *L;
static struct store *ST;
static struct bus *B;
static struct cmd_ctx C;
static redisContext *RC;
static char URI[64];
static const char *const NAMES[N_CLIENTS] = {"sup", "erp", "rcv1", "qa1"};
static struct tclient *TC[N_CLIENTS];
static struct tclient *WATCH; /* a supervisor reading events and retained state */

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
                          .client_id = "wcs-inbound",
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
    if (!WATCH || tc_sub(WATCH, P "evt/#") != 0 || tc_sub(WATCH, P "state/#") != 0)
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

/* As refused(), for texts that hold the date of today: the error must contain `part`. */
static void refused_part(const char *user, const char *command, const char *rid, const char *fields,
                         const char *part)
{
    size_t n0, n1;
    char *d0 = dump(&n0);
    json_t *r = send(user, command, rid, fields);
    if (!json_is_false(json_object_get(r, "ok")))
        fail_msg("%s %s %s: accepted, expected a refusal with \"%s\"", user, command, fields, part);
    if (!strstr(jstr(r, "error"), part))
        fail_msg("error \"%s\" lacks \"%s\"", jstr(r, "error"), part);
    json_decref(r);
    char *d1 = dump(&n1);
    if (rdump_diff(d0, n0, d1, n1) != 0)
        fail_msg("%s %s changed Redis although refused", user, command);
    free(d0);
    free(d1);
}

#define K(x) "wcs:{" SITE "}:" x

static long long hint(const char *key, const char *field)
{
    char *v = hget(key, field);
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
        redisReply *r = redisCommand(RC, "SCAN %s MATCH wcs:{" SITE "}:quant:* COUNT 1000", cursor);
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
    PUMP_UNTIL(tc_find(WATCH, from, topic, needle) >= 0, 5000);
    long i = tc_find(WATCH, from, topic, needle);
    if (i < 0)
        fail_msg("no event on %s with %s", topic, needle);
    json_t *j = json_loads(tc_msg(WATCH, (size_t)i)->payload, 0, NULL);
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
    size_t w0 = tc_count(WATCH);

    r = ok("erp", "receipt.expect", "e1",
           "\"receipt\":\"R1\",\"supplier\":\"ACME\",\"warehouse\":\"WH1\",\"lines\":["
           "{\"sku\":\"P1\",\"qty\":10},{\"sku\":\"L1\",\"qty\":20,\"lot\":\"LOT1\"},"
           "{\"sku\":\"Q1\",\"qty\":4}]");
    assert_string_equal(jstr(r, "result"), "created");
    assert_string_equal(jstr(r, "state"), "expected");
    assert_int_equal(jint(r, "units"), 34);
    json_decref(r);
    r = ok("erp", "receipt.expect", "e2",
           "\"receipt\":\"R1\",\"supplier\":\"ACME\",\"warehouse\":\"WH1\",\"lines\":["
           "{\"sku\":\"P1\",\"qty\":10},{\"sku\":\"L1\",\"qty\":20,\"lot\":\"LOT1\"},"
           "{\"sku\":\"Q1\",\"qty\":4}]");
    assert_string_equal(jstr(r, "result"), "unchanged");
    json_decref(r);
    refused("erp", "receipt.expect", "e3",
            "\"receipt\":\"R2\",\"lines\":[{\"sku\":\"P1\",\"qty\":1,\"expiry\":\"2027-01-01\"}]",
            "field \"lines[0].expiry\": product P1 has no expiry dates");
    refused("rcv1", "receipt.expect", "e4",
            "\"receipt\":\"R2\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
            "user \"rcv1\" (roles receiver) may not run \"receipt.expect\"");

    /* A plain GTIN with its quantity: into the receiving location, a putaway task to the
     * planner's first empty location of the generic rule. */
    r = ok("rcv1", "receipt.scan", "s1",
           "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":4");
    assert_string_equal(jstr(r, "sku"), "P1");
    assert_int_equal(jint(r, "line"), 0);
    assert_int_equal(jint(r, "remaining"), 6);
    assert_string_equal(jstr(r, "location"), "WH1/Receiving");
    assert_false(json_is_true(json_object_get(r, "held")));
    assert_string_equal(putaway_loc(r), "WH1/Stock/A/1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "putaway"), "task")),
                        "PUT-1");
    json_decref(r);
    hget_is(K("quant:P1:WH1/Receiving:"), "on_hand", "4");
    hget_is(K("task:PUT-1"), "target", "WH1/Stock/A/1");
    json_decref(wait_event("receipt", w0, "\"scan\""));

    /* Refusals, each changing nothing. */
    refused("rcv1", "receipt.scan", "s2",
            "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"]C1010400638133393117281231\","
            "\"qty\":5",
            "field \"scan\": product L1 is tracked by lot: the scan needs AI (10)");
    refused_part("rcv1", "receipt.scan", "s3",
                 "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":"
                 "\"]C1010400638133393117261201"
                 "10LOT1<GS>305\"",
                 "(today + expiry_margin_days 30 of L1)");
    refused("rcv1", "receipt.scan", "s4",
            "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000146\",\"qty\":1",
            "field \"scan\": unknown GTIN 04012345000146");
    refused("rcv1", "receipt.scan", "s5",
            "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000017\",\"qty\":1",
            "field \"scan\": AI (01): check digit 6 expected, got 7");
    refused("rcv1", "receipt.scan", "s6",
            "\"receipt\":\"R9\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":1",
            "unknown receipt \"R9\"");
    refused("rcv1", "receipt.scan", "s7",
            "\"receipt\":\"R1\",\"station\":\"RET1\",\"scan\":\"4012345000016\",\"qty\":1",
            "field \"station\": unknown receive station \"RET1\"");

    /* Lot, expiry and count from the GS1 string; food goes to zone B by its rule. */
    r = ok("rcv1", "receipt.scan", "s8",
           "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"" SCAN_L1_GOOD "\"");
    assert_string_equal(jstr(r, "lot"), "LOT1");
    assert_string_equal(jstr(r, "expiry"), "2028-12-31");
    assert_int_equal(jint(r, "received"), 12);
    assert_int_equal(jint(r, "line"), 1);
    assert_string_equal(putaway_loc(r), "WH1/Stock/B/1");
    json_decref(r);
    hget_is(K("quant:L1:WH1/Receiving:LOT1"), "expiry", "2028-12-31");

    /* Over-receipt: refused without allow_over, taken within 10 %, refused beyond. */
    refused("rcv1", "receipt.scan", "s9",
            "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":7",
            "over-receipt: line 0 (P1) expects 10, has 4, 7 more make 11; send allow_over to "
            "take up to 11 (receiving.over_tolerance_pct 10)");
    r = ok("rcv1", "receipt.scan", "s10",
           "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"]C101040123450000163007\","
           "\"allow_over\":true");
    assert_int_equal(jint(r, "line_received"), 11);
    assert_int_equal(jint(r, "remaining"), 0);
    json_decref(r);
    refused("rcv1", "receipt.scan", "s11",
            "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":1,"
            "\"allow_over\":true",
            "over-receipt: line 0 (P1) expects 10, has 11, 1 more make 12, above the limit of 11 "
            "(receiving.over_tolerance_pct 10)");
    refused("erp", "receipt.expect", "e5",
            "\"receipt\":\"R1\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]",
            "receipt R1 is receiving: it can no longer be changed once receiving started");

    /* Quality-controlled: held in the quality location, no putaway task. */
    r = ok("rcv1", "receipt.scan", "s12",
           "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"" SCAN_Q1 "\"");
    assert_true(json_is_true(json_object_get(r, "held")));
    assert_string_equal(jstr(r, "location"), "WH1/Quality");
    assert_true(json_is_null(json_object_get(r, "putaway")));
    json_decref(r);
    hget_is(K("quant:Q1:WH1/Quality:QL1"), "hold", "4");

    /* A reservation cannot take held units: reserve_commit refuses with 0 available. */
    {
        struct store_line l = {"Q1", "WH1/Quality", "QL1", 1};
        struct store_ctx sc = {.actor = "test", .cause = "held"};
        struct res res = {0};
        assert_int_equal(store_reserve_commit(ST, &sc, "SO-HELD", &l, 1, on_reserve, &res), 0);
        PUMP_UNTIL(res.done, 3000);
        assert_true(res.done);
        assert_int_equal(res.rc, WCS_E_STATE);
        assert_int_equal(res.available, 0);
        hget_is(K("quant:Q1:WH1/Quality:QL1"), "reserved", "0");
    }

    /* Stock conservation: what was received is what the site holds more. */
    assert_int_equal(hint(K("kpi"), "received_units") - kpi0, 4 + 12 + 7 + 4);
    assert_int_equal(stock_total() - stock0, 4 + 12 + 7 + 4);

    /* Partial close: L1 is 8 short; the ERP sees it on evt/receipt. */
    size_t w1 = tc_count(WATCH);
    r = ok("rcv1", "receipt.close", "c1", "\"receipt\":\"R1\"");
    assert_string_equal(jstr(r, "state"), "closed");
    json_t *sh = json_object_get(r, "short");
    assert_int_equal(json_array_size(sh), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sh, 0), "sku")), "L1");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(sh, 0), "short")), 8);
    json_decref(r);
    json_decref(wait_event("receipt", w1, "\"closed\""));
    refused("rcv1", "receipt.scan", "s13",
            "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"4012345000016\",\"qty\":1",
            "receipt R1 is closed: nothing more can be received");
    refused("rcv1", "receipt.close", "c2", "\"receipt\":\"R1\"", "receipt R1 is closed already");

    /* Quality: a receiver may not decide; QA releases 3 (a putaway task) and scraps 1. */
    refused("rcv1", "quality.release", "q1",
            "\"sku\":\"Q1\",\"location\":\"WH1/Quality\",\"lot\":\"QL1\",\"qty\":3,"
            "\"decision\":\"release\"",
            "user \"rcv1\" (roles receiver) may not run \"quality.release\"");
    refused("qa1", "quality.release", "q2",
            "\"sku\":\"Q1\",\"location\":\"WH1/Quality\",\"lot\":\"QL1\",\"qty\":5,"
            "\"decision\":\"release\"",
            "Q1 lot QL1 at WH1/Quality has 4 units on hold, asked 5");
    r = ok("qa1", "quality.release", "q3",
           "\"sku\":\"Q1\",\"location\":\"WH1/Quality\",\"lot\":\"QL1\",\"qty\":3,"
           "\"decision\":\"release\"");
    assert_int_equal(jint(r, "hold_left"), 1);
    const char *qtask = json_string_value(json_object_get(json_object_get(r, "putaway"), "task"));
    assert_string_equal(qtask, "PUT-4"); /* PUT-3: the over-receipt of P1 */
    json_decref(r);
    long long scrapped0 = hint(K("kpi"), "scrapped_units");
    r = ok("qa1", "quality.release", "q4",
           "\"sku\":\"Q1\",\"location\":\"WH1/Quality\",\"lot\":\"QL1\",\"qty\":1,"
           "\"decision\":\"scrap\"");
    assert_string_equal(jstr(r, "scrap_location"), "WH1/Scrap");
    json_decref(r);
    hget_is(K("quant:Q1:WH1/Scrap:QL1"), "on_hand", "1");
    hget_is(K("quant:Q1:WH1/Quality:QL1"), "hold", "0");
    assert_int_equal(hint(K("kpi"), "scrapped_units") - scrapped0, 1);

    /* Putaway: a wrong location, the suggested one, twice; an alternative; a full location. */
    size_t w2 = tc_count(WATCH);
    refused("rcv1", "putaway.confirm", "p1", "\"task\":\"PUT-1\",\"location\":\"WH1/Quality\"",
            "task PUT-1: WH1/Quality is not a putaway location for P1 (suggested WH1/Stock/A/1; "
            "allowed: the internal locations of the putaway rules for it)");
    r = ok("rcv1", "putaway.confirm", "p2", "\"task\":\"PUT-1\",\"location\":\"WH1/Stock/A/1\"");
    assert_string_equal(jstr(r, "how"), "suggested");
    assert_string_equal(jstr(r, "state"), "done");
    assert_int_equal(jint(r, "qty"), 4);
    json_decref(r);
    json_decref(wait_event("putaway", w2, "PUT-1"));
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "4");
    hget_is(K("quant:P1:WH1/Receiving:"), "on_hand", "7");
    refused("rcv1", "putaway.confirm", "p3", "\"task\":\"PUT-1\",\"location\":\"WH1/Stock/A/1\"",
            "task PUT-1 is done");
    refused("rcv1", "putaway.confirm", "p4", "\"task\":\"PUT-99\",\"location\":\"WH1/Stock/A/1\"",
            "unknown putaway task \"PUT-99\"");
    r = ok("rcv1", "putaway.confirm", "p5",
           "\"task\":\"PUT-2\",\"location\":\"WH1/Stock/A/2\",\"qty\":5");
    assert_string_equal(jstr(r, "how"), "alternative");
    assert_string_equal(jstr(r, "suggested"), "WH1/Stock/B/1");
    assert_string_equal(jstr(r, "state"), "open");
    assert_int_equal(jint(r, "left"), 7);
    json_decref(r);
    fixture("HSET %s on_hand 99 reserved 0 sku P1 loc WH1/Stock/A/3 lot \"\"",
            K("quant:P1:WH1/Stock/A/3:"), "");
    fixture("SADD %s %s", K("loc:WH1/Stock/A/3:quants"), K("quant:P1:WH1/Stock/A/3:"));
    refused("rcv1", "putaway.confirm", "p6", "\"task\":\"PUT-4\",\"location\":\"WH1/Stock/A/3\"",
            "location WH1/Stock/A/3 has no room: units would be 102, capacity 100");
    r = ok("rcv1", "putaway.confirm", "p7", "\"task\":\"PUT-4\",\"location\":\"WH1/Stock/B/2\"");
    assert_string_equal(jstr(r, "state"), "done");
    json_decref(r);
    hget_is(K("quant:Q1:WH1/Quality:QL1"), "on_hand", "0");
    assert_int_equal(hint(K("kpi"), "putaways"), 3);
}

static void test_returns(void **state)
{
    json_t *r;
    (void)state;
    ok0("erp", "order.upsert", "o1",
        "\"order\":\"SO9\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":3},"
        "{\"sku\":\"L1\",\"qty\":2,\"lot\":\"LOTR\"}]");
    fixture("HSET %s state %s", K("order:SO9"), "shipped");
    r = ok("sup", "rma.authorize", "a1",
           "\"rma\":\"RMA1\",\"order\":\"SO9\",\"credit\":true,\"lines\":[{\"sku\":\"P1\","
           "\"qty\":2},{\"sku\":\"L1\",\"qty\":1}]");
    json_decref(r);
    long long rr0 = hint(K("kpi"), "returns_received"), sc0 = hint(K("kpi"), "scrapped_units");

    refused("rcv1", "return.inspect", "i0",
            "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"",
            "RMA RMA1 is authorized: nothing received yet");
    refused("rcv1", "return.receive", "r1",
            "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"4012345000016\",\"qty\":3",
            "RMA RMA1 authorises 2 of P1, 0 received, 3 more refused");
    refused("rcv1", "return.receive", "r2",
            "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"4012345000023\",\"qty\":1",
            "field \"scan\": product Q1 is tracked by lot: the scan needs AI (10)");
    r = ok("rcv1", "return.receive", "r3",
           "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"4012345000016\",\"qty\":2");
    assert_string_equal(jstr(r, "state"), "receiving");
    json_decref(r);
    r = ok("rcv1", "return.receive", "r4",
           "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"]C1010400638133393110LOTR\","
           "\"qty\":1");
    assert_string_equal(jstr(r, "state"), "received");
    json_decref(r);
    hget_is(K("quant:P1:WH1/Returns:"), "hold", "2");
    assert_int_equal(hint(K("kpi"), "returns_received") - rr0, 3);
    refused("rcv1", "return.receive", "r5",
            "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"4012345000016\",\"qty\":1",
            "RMA RMA1 is received: nothing more can be received");

    size_t w0 = tc_count(WATCH);
    r = ok("rcv1", "return.inspect", "i1",
           "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"");
    assert_string_equal(jstr(r, "state"), "received");
    assert_non_null(putaway_loc(r));
    json_decref(r);
    r = ok("rcv1", "return.inspect", "i2",
           "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"scrap\",\"note\":\"broken\"");
    assert_string_equal(jstr(r, "scrap_location"), "WH1/Scrap");
    json_decref(r);
    refused("rcv1", "return.inspect", "i3",
            "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"",
            "RMA RMA1 received 2 of P1, 2 inspected, 1 more refused");
    r = ok("rcv1", "return.inspect", "i4",
           "\"rma\":\"RMA1\",\"sku\":\"L1\",\"lot\":\"LOTR\",\"qty\":1,\"decision\":\"restock\"");
    assert_string_equal(jstr(r, "state"), "inspected");
    assert_true(json_is_true(json_object_get(r, "credit_event")));
    json_decref(r);
    json_t *e = wait_event("credit", w0, "RMA1");
    assert_string_equal(jstr(e, "order"), "SO9");
    json_t *lines = json_object_get(e, "lines");
    assert_int_equal(json_array_size(lines), 3);
    char *t = json_dumps(lines, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(t, "[{\"decision\":\"restock\",\"qty\":1,\"sku\":\"P1\"},"
                           "{\"decision\":\"scrap\",\"qty\":1,\"sku\":\"P1\"},"
                           "{\"decision\":\"restock\",\"qty\":1,\"sku\":\"L1\"}]");
    free(t);
    json_decref(e);
    PUMP_UNTIL(tc_find_retained(WATCH, 0, P "state/rma/RMA1", "inspected") >= 0, 3000);
    assert_true(tc_find(WATCH, w0, P "state/rma/RMA1", "inspected") >= 0);
    hget_is(K("rma:RMA1"), "state", "inspected");
    assert_int_equal(hint(K("kpi"), "scrapped_units") - sc0, 1);
    assert_int_equal(hint(K("kpi"), "returns_restocked"), 2);
    assert_int_equal(hint(K("kpi"), "returns_scrapped"), 1);
    refused("rcv1", "return.inspect", "i5",
            "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"",
            "RMA RMA1 is inspected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receiving),
        cmocka_unit_test(test_returns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
