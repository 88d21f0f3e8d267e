/* Integration tests of the picking flow (wcs/command pick commands, wcs/store/pick_ops.c and its
 * scripts) through a real mosquitto (password file and ACL from the harness) and redis-server:
 * wave.plan keeping its batches and wave.release making pick tasks, batches and pack stations;
 * batch.claim (first by cutoff, by id, refusals); pick.confirm with every refused check (wrong
 * location, product, lot, expiry, quantity, tote) changing nothing but the pick error counters,
 * partial and full picks moving the stock into the tote, the order waved -> picking -> picked,
 * the batch done; replays; role refusals; the events on evt/task and state/batch. */
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
#include "store/store.h"
#include "tclient.h"

#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE      "t3"
#define P         "wcs/v1/t3/"
#define MAX_BYTES 8192
#define N_CLIENTS 5

static struct harness_redis *R;
static struct harness_mqtt *M;
static struct cfg_site *CFG;
static struct loop *L;
static struct store *ST;
static struct bus *B;
static struct cmd_ctx C;
static redisContext *RC;
static char URI[64];
static const char *const NAMES[N_CLIENTS] = {"sup", "picker1", "picker2", "clerk1", "erp"};
static struct tclient *TC[N_CLIENTS];
static struct tclient *WATCH; /* a supervisor reading the site's task events and batches */

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
    users[1].role = HARNESS_ROLE_SUPERVISOR; /* sup */
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
    if (!WATCH || tc_sub(WATCH, P "evt/task") != 0 || tc_sub(WATCH, P "state/batch/#") != 0 ||
        tc_sub(WATCH, P "evt/backorder") != 0)
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every key of the site but the journal and the request records, sorted, with its DUMP and TTL
 * presence. Returns a malloc'd text. */
static char *dump(size_t *len_out)
{
    char cursor[32] = "0", **keys = NULL;
    size_t n = 0, cap = 0, len = 0, bcap = 4096;
    char *buf = malloc(bcap);
    do {
        redisReply *r = redisCommand(RC, "SCAN %s MATCH wcs:{" SITE "}:* COUNT 1000", cursor);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *k = r->element[1]->element[i]->str;
            /* The KPI hash counts refused pick checks: compared on its own (kpi_is). */
            if (strstr(k, ":journal") || strstr(k, ":req:") || strstr(k, ":op:") ||
                strcmp(k, "wcs:{" SITE "}:kpi") == 0)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                keys = realloc(keys, cap * sizeof(*keys));
            }
            keys[n++] = strdup(k);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (size_t i = 0; i < n; i++) {
        redisReply *r = redisCommand(RC, "DUMP %s", keys[i]);
        size_t need = strlen(keys[i]) + 2 + sizeof(size_t) + r->len;
        while (len + need > bcap)
            buf = realloc(buf, bcap *= 2);
        /* key NUL, value length (size_t), value: so differing keys can be named (dump_diff) */
        memcpy(buf + len, keys[i], strlen(keys[i]) + 1);
        len += strlen(keys[i]) + 1;
        memcpy(buf + len, &r->len, sizeof(size_t));
        len += sizeof(size_t);
        memcpy(buf + len, r->str, r->len);
        len += r->len;
        buf[len++] = '\n';
        freeReplyObject(r);
        free(keys[i]);
    }
    free(keys);
    *len_out = len;
    return buf;
}

/* Prints the keys that differ between two dumps (added, removed or changed), for the failure
 * message of refused(). */
static void dump_diff(const char *a, size_t na, const char *b, size_t nb)
{
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        const char *ka = i < na ? a + i : NULL, *kb = j < nb ? b + j : NULL;
        int c = !ka ? 1 : !kb ? -1 : strcmp(ka, kb);
        size_t la = 0, lb = 0;
        if (ka)
            memcpy(&la, ka + strlen(ka) + 1, sizeof(size_t));
        if (kb)
            memcpy(&lb, kb + strlen(kb) + 1, sizeof(size_t));
        if (c < 0)
            print_error("  removed: %s\n", ka ? ka : "?");
        else if (c > 0)
            print_error("  added: %s\n", kb ? kb : "?");
        else if (la != lb || memcmp(ka + strlen(ka) + 1 + sizeof(size_t),
                                    kb + strlen(kb) + 1 + sizeof(size_t), la) != 0)
            print_error("  changed: %s\n", ka ? ka : "?");
        if (c <= 0)
            i += strlen(ka) + 1 + sizeof(size_t) + la + 1;
        if (c >= 0)
            j += strlen(kb) + 1 + sizeof(size_t) + lb + 1;
    }
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
    /* Let writes of earlier commands land first (seen under parallel ctest: an order hash
     * changing right after its own upsert was answered, cause not yet found, see the issue
     * notes): the check is about what this refusal changes. Bounded at 2 s. */
    for (int i = 0; i < 40; i++) {
        size_t nq;
        char *dq;
        usleep(50000);
        dq = dump(&nq);
        if (nq == n0 && memcmp(dq, d0, n0) == 0) {
            free(dq);
            break;
        }
        free(d0);
        d0 = dq;
        n0 = nq;
    }
    long long j0 = xlen();
    json_t *r = send(user, command, rid, fields);
    if (!json_is_false(json_object_get(r, "ok")))
        fail_msg("%s %s %s: accepted, expected refusal \"%s\"", user, command, fields, want);
    assert_string_equal(jstr(r, "error"), want);
    json_decref(r);
    PUMP_UNTIL(xlen() == j0 + 1, 2000);
    assert_int_equal(xlen(), j0 + 1);
    char *d1 = dump(&n1);
    if (n0 != n1 || memcmp(d0, d1, n0) != 0) {
        dump_diff(d0, n0, d1, n1);
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

static void quant(const char *sku, const char *loc, const char *lot, int on_hand,
                  const char *expiry)
{
    char k[256];
    redisReply *r;
    snprintf(k, sizeof(k), K("quant:%s:%s:%s"), sku, loc, lot);
    r = redisCommand(RC, "HSET %s sku %s loc %s lot %s on_hand %d reserved 0 expiry %s in_date %s",
                     k, sku, loc, lot, on_hand, expiry, "2024-01-01");
    freeReplyObject(r);
    r = redisCommand(RC, "SADD " K("sku:%s:quants") " %s", sku, k);
    freeReplyObject(r);
}

static long kpi(const char *field)
{
    char *v = hget(K("kpi"), field);
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
    refused(user, "pick.confirm", rid, fields, want);
    assert_int_equal(kpi("pick_errors"), total + 1);
    assert_int_equal(kpi(f), by_kind + 1);
}

static size_t events_with(const char *topic, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < tc_count(WATCH); i++) {
        const struct tmsg *m = tc_msg(WATCH, i);
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
    ok0("erp", "order.upsert", "o1",
        "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":3},"
        "{\"sku\":\"L1\",\"qty\":2}]");
    ok0("erp", "order.upsert", "o2",
        "\"order\":\"SO2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]");
    r = ok("sup", "wave.plan", "w1", "\"wave\":\"W1\"");
    json_decref(r);
    char *plan = hget(K("wave:W1"), "batch_plan");
    assert_non_null(plan);
    assert_non_null(strstr(plan, "\"picks\""));
    free(plan);

    /* Claiming before the release: nothing released. */
    refused("picker1", "batch.claim", "c0", "", "no released batch to claim");

    r = ok("sup", "wave.release", "r1", "\"wave\":\"W1\"");
    assert_string_equal(jstr(r, "state"), "released");
    assert_int_equal(jint(r, "tasks"), 3);
    assert_int_equal(json_array_size(json_object_get(r, "batches")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "batches"), 0)),
                        "W1-B1");
    json_decref(r);
    hget_is(K("batch:W1-B1"), "state", "released");
    hget_is(K("order:SO1"), "tasks_open", "2");
    /* Round-robin pack stations, one per order. */
    char *s1 = hget(K("order:SO1"), "pack_station"), *s2 = hget(K("order:SO2"), "pack_station");
    assert_non_null(s1);
    assert_non_null(s2);
    assert_string_not_equal(s1, s2);
    assert_true(strcmp(s1, "PK1") == 0 || strcmp(s1, "PK2") == 0);
    free(s1);
    free(s2);
    /* A second release is refused. */
    refused("sup", "wave.release", "r2", "\"wave\":\"W1\"",
            "wave W1 is released: only a planned wave can be released");

    /* picker1 claims the first released batch: its tasks in path order with GTINs. */
    r = ok("picker1", "batch.claim", "c1", "");
    assert_string_equal(jstr(r, "batch"), "W1-B1");
    assert_string_equal(jstr(r, "wave"), "W1");
    tasks = json_object_get(r, "tasks");
    assert_int_equal(json_array_size(tasks), 3);
    json_array_foreach(tasks, i, t)
    {
        const char *sku = json_string_value(json_object_get(t, "sku"));
        const char *order = json_string_value(json_object_get(t, "order"));
        assert_int_equal(json_integer_value(json_object_get(t, "seq")), (json_int_t)i + 1);
        if (strcmp(sku, "P1") == 0 && strcmp(order, "SO1") == 0) {
            snprintf(P1_TASK, sizeof(P1_TASK), "%s", jstr(t, "task"));
            assert_string_equal(jstr(t, "gtin"), "09506000134352");
            assert_string_equal(jstr(t, "location"), "WH1/Stock/A/1");
            assert_int_equal(json_integer_value(json_object_get(t, "qty")), 3);
        } else if (strcmp(sku, "L1") == 0) {
            snprintf(L1_TASK, sizeof(L1_TASK), "%s", jstr(t, "task"));
            assert_string_equal(jstr(t, "lot"), "LOT1");
            assert_string_equal(jstr(t, "expiry"), "2030-12-31");
        }
    }
    assert_true(P1_TASK[0] && L1_TASK[0]);
    json_decref(r);
    hget_is(K("batch:W1-B1"), "assignee", "picker1");
    refused("picker2", "batch.claim", "c2", "\"batch\":\"W1-B1\"",
            "batch W1-B1 is assigned to picker1");
    refused("picker2", "batch.claim", "c3", "", "no released batch to claim");
    /* The holder may claim it again (an RF device restarted). */
    json_decref(ok("picker1", "batch.claim", "c4", "\"batch\":\"W1-B1\""));

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
    fixture("HSET %s order %s state picking", K("tote:T9"), "SO9");
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
    refused("picker1", "pick.confirm", "e8", f,
            "field \"scan\": AI (01): check digit 2 expected, got 3");
    assert_int_equal(kpi("pick_errors"), errors);
    assert_int_equal(C.stats.pick_errors, 7);

    /* A partial pick: the order starts picking, the task stays next. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]C10109506000134352\","
             "\"qty\":2,\"tote\":\"T1\"",
             P1_TASK);
    r = ok("picker1", "pick.confirm", "p1", f);
    assert_int_equal(jint(r, "picked"), 2);
    assert_int_equal(jint(r, "remaining"), 1);
    assert_string_equal(jstr(r, "order"), "SO1");
    assert_string_equal(jstr(r, "order_state"), "picking");
    json_decref(r);
    /* A replay is answered with the stored reply and moves nothing more. */
    r = ok("picker1", "pick.confirm", "p1", f);
    assert_int_equal(jint(r, "remaining"), 1);
    json_decref(r);
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "8");
    hget_is(K("tote:T1:contents"), "P1:", "2");
    hget_is(K("order:SO1"), "state", "picking");
    /* The lot product, scanned as GS1-128 with lot and expiry, in full. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/2\","
             "\"scan\":\"]C10109506000134376173012311"
             "0LOT1\",\"qty\":2,\"tote\":\"T1\"",
             L1_TASK);
    r = ok("picker1", "pick.confirm", "p2", f);
    assert_int_equal(jint(r, "remaining"), 0);
    assert_string_equal(jstr(r, "order_state"), "picking");
    json_decref(r);
    hget_is(K("quant:L1:WH1/Stock/A/2:LOT1"), "on_hand", "8");
    hget_is(K("quant:L1:WH1/Stock/A/2:LOT1"), "reserved", "0");
    hget_is(K("tote:T1:contents"), "L1:LOT1", "2");
    /* The last unit of SO1: the order is picked (the sorter sends its totes to packing). */
    CHG.n = 0;
    /* ]E0 carries a GTIN-13: the 13 digits after the identifier. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"]E09506000134352\","
             "\"qty\":1,\"tote\":\"T1\"",
             P1_TASK);
    r = ok("picker1", "pick.confirm", "p3", f);
    assert_string_equal(jstr(r, "order_state"), "picked");
    assert_int_equal(jint(r, "remaining"), 0);
    json_t *next = json_object_get(r, "next");
    assert_true(json_is_string(next)); /* SO2's task is still open */
    char so2_task[32];
    snprintf(so2_task, sizeof(so2_task), "%s", json_string_value(next));
    json_decref(r);
    PUMP_UNTIL(CHG.n > 0, 2000);
    assert_int_equal(CHG.what, CMD_CHANGED_ORDER);
    assert_string_equal(CHG.id, "SO1");
    assert_string_equal(CHG.state, "picked");
    hget_is(K("order:SO1"), "state", "picked");
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "7");
    /* A done task refuses more picks (not a pick error). */
    snprintf(want, sizeof(want), "task %s is done", P1_TASK);
    errors = kpi("pick_errors");
    refused("picker1", "pick.confirm", "p4", f, want);
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
    r = ok("picker1", "pick.confirm", "p5", f);
    assert_string_equal(jstr(r, "order_state"), "picked");
    assert_true(json_is_null(json_object_get(r, "next")));
    json_decref(r);
    hget_is(K("batch:W1-B1"), "state", "done");
    /* Counters: 4 applied picks and 8 refused checks, in Redis and in the layer. */
    assert_int_equal(kpi("pick_confirms"), 4);
    assert_int_equal(kpi("pick_errors"), 8);
    assert_int_equal(kpi("pick_errors_tote"), 2);
    assert_int_equal(C.stats.pick_confirms, 4);
    assert_int_equal(C.stats.pick_errors, 8);
    /* Events: every task created and changed on evt/task, the batch's retained state. */
    PUMP_UNTIL(events_with(P "state/batch/W1-B1", "\"done\"") > 0, 3000);
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
    r = ok(user, "batch.claim", rid, f);
    task[0] = loc[0] = '\0';
    json_array_foreach(json_object_get(r, "tasks"), i, t)
    {
        if (strcmp(jstr(t, "sku"), sku) == 0 && strcmp(jstr(t, "state"), "open") == 0) {
            snprintf(task, 32, "%s", jstr(t, "task"));
            snprintf(loc, 64, "%s", jstr(t, "location"));
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
    ok0("erp", "order.upsert", "s1",
        "\"order\":\"SO3\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P2\",\"qty\":3}]");
    json_decref(ok("sup", "wave.plan", "s2", "\"wave\":\"W2\""));
    json_decref(ok("sup", "wave.release", "s3", "\"wave\":\"W2\""));
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
    refused("picker2", "pick.short", "s5", f, want);
    assert_int_equal(kpi("pick_errors"), errors + 1);
    /* A wrong location on the found part is the confirm's refusal. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"9506000134369\","
             "\"qty\":1,\"tote\":\"T3\"",
             task);
    snprintf(want, sizeof(want), "scanned location WH1/Stock/A/1 is not %s of task %s", loc, task);
    refused("picker2", "pick.short", "s6", f, want);

    /* 1 found, 2 missing: picked, released, counted, re-reserved at the other location. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"9506000134369\",\"qty\":1,"
             "\"tote\":\"T3\"",
             task, loc);
    r = ok("picker2", "pick.short", "s7", f);
    assert_int_equal(jint(r, "picked"), 1);
    assert_int_equal(jint(r, "short"), 2);
    assert_true(json_is_null(json_object_get(r, "backorder")));
    assert_string_equal(jstr(r, "order_state"), "picking");
    char repl[32], cnt[32];
    snprintf(repl, sizeof(repl), "%s", jstr(r, "replacement"));
    snprintf(cnt, sizeof(cnt), "%s", jstr(r, "count"));
    assert_string_equal(jstr(r, "next"), repl);
    json_decref(r);
    /* A replay answers the same and moves nothing more. */
    r = ok("picker2", "pick.short", "s7", f);
    assert_string_equal(jstr(r, "replacement"), repl);
    json_decref(r);
    char tk[96];
    snprintf(tk, sizeof(tk), K("task:%s"), task);
    hget_is(tk, "state", "short");
    hget_is(tk, "short", "2");
    hget_is(qa, "on_hand", "2");
    hget_is(qa, "reserved", "0");
    hget_is(qa, "missing", "2");
    hget_is(qb, "reserved", "2");
    hget_is(K("counts:open"), loc, cnt);
    snprintf(tk, sizeof(tk), K("task:%s"), cnt);
    hget_is(tk, "kind", "count");
    snprintf(tk, sizeof(tk), K("task:%s"), repl);
    hget_is(tk, "location", other);
    hget_is(tk, "qty", "2");
    hget_is(tk, "batch", "W2-B1");
    hget_is(tk, "assignee", "picker2");
    hget_is(tk, "replaces", task);
    hget_is(K("order:SO3"), "tasks_open", "1");
    char *tasks = hget(K("batch:W2-B1"), "tasks");
    assert_non_null(strstr(tasks, repl));
    free(tasks);

    /* The replacement is short too, nothing found: no free stock is left (the first quant's
     * units are missing until counted), so the 2 units are backordered with a follow-up. */
    snprintf(f, sizeof(f), "\"task\":\"%s\",\"qty\":0", repl);
    CHG.n = 0;
    r = ok("picker2", "pick.short", "s8", f);
    assert_int_equal(jint(r, "picked"), 0);
    assert_int_equal(jint(r, "short"), 2);
    assert_true(json_is_null(json_object_get(r, "replacement")));
    assert_string_equal(jstr(r, "backorder"), "BO-1");
    assert_string_equal(jstr(r, "follow_up"), "SO3-BO1");
    assert_string_equal(jstr(r, "order_state"), "picked");
    assert_true(json_is_null(json_object_get(r, "next")));
    json_decref(r);
    PUMP_UNTIL(CHG.n > 0, 2000);
    assert_string_equal(CHG.id, "SO3");
    assert_string_equal(CHG.state, "picked");
    hget_is(K("batch:W2-B1"), "state", "done");
    hget_is(qb, "reserved", "0");
    hget_is(qb, "missing", "2");
    hget_is(K("backorder:BO-1"), "state", "open");
    hget_is(K("backorder:BO-1"), "qty", "2");
    hget_is(K("backorder:BO-1"), "order", "SO3");
    hget_is(K("order:SO3-BO1"), "state", "confirmed");
    hget_is(K("order:SO3-BO1"), "priority", "urgent");
    hget_is(K("order:SO3-BO1"), "backorder", "BO-1");
    redisReply *z = redisCommand(RC, "ZSCORE " K("backorders") " BO-1");
    assert_int_equal(z->type, REDIS_REPLY_STRING);
    freeReplyObject(z);
    assert_int_equal(kpi("picks_short"), 2);
    assert_int_equal(kpi("backorders"), 1);
    PUMP_UNTIL(events_with(P "evt/backorder", "BO-1") > 0, 2000);
    assert_true(events_with(P "evt/backorder", "BO-1") > 0);
    assert_true(events_with(P "evt/task", "\"short\"") >= 2);

    /* A competing order of the same top priority, with a smaller id (it would be planned
     * first), and stock for only one of them arrives: the backorder goes first. */
    ok0("erp", "order.upsert", "s9",
        "\"order\":\"SO0\",\"carrier\":\"DHL\",\"priority\":\"urgent\","
        "\"lines\":[{\"sku\":\"P2\",\"qty\":2}]");
    /* Stock arrives: a receipt of 2 units into WH1/Stock/A/1 (the store's receive). */
    struct store_ctx rctx = {.actor = "receiver", .cause = "test receipt"};
    struct store_line rl = {"P2", "WH1/Stock/A/1", "", 2};
    int received = 0;
    assert_int_equal(store_receive(ST, &rctx, "RC1", &rl, on_received, &received), 0);
    PUMP_UNTIL(received != 0, 3000);
    assert_int_equal(received, 1);
    r = ok("sup", "wave.plan", "s11", "\"wave\":\"W3\"");
    json_t *orders = json_object_get(r, "orders");
    assert_int_equal(json_array_size(orders), 1);
    assert_string_equal(json_string_value(json_array_get(orders, 0)), "SO3-BO1");
    json_decref(r);
    hget_is(K("order:SO3-BO1"), "state", "waved");
    hget_is(K("backorder:BO-1"), "state", "reserved");
    z = redisCommand(RC, "ZCARD " K("backorders"));
    assert_int_equal(z->integer, 0);
    freeReplyObject(z);
    /* SO0, skipped for missing stock, is marked to go first next time. */
    char *since = hget(K("order:SO0"), "short_since");
    assert_non_null(since);
    free(since);

    /* The follow-up is picked: the backorder is done. */
    json_decref(ok("sup", "wave.release", "s12", "\"wave\":\"W3\""));
    claim_task("picker1", "s13", "W3-B1", "P2", task, loc);
    assert_string_equal(loc, "WH1/Stock/A/1");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"9506000134369\","
             "\"qty\":2,\"tote\":\"T5\"",
             task);
    r = ok("picker1", "pick.confirm", "s14", f);
    assert_string_equal(jstr(r, "order_state"), "picked");
    json_decref(r);
    hget_is(K("backorder:BO-1"), "state", "done");

    /* The count the short pick opened finds the 2 "missing" units after all: no variance,
     * and the quant's units are plannable again. */
    char *sku = hget(qa, "sku"), *qloc = hget(qa, "loc");
    assert_non_null(sku);
    assert_non_null(qloc);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"counts\":[{\"sku\":\"%s\",\"qty\":2}]", cnt,
             qloc, sku);
    free(sku);
    free(qloc);
    json_decref(ok("sup", "count.submit", "s15", f));
    char *missing = hget(qa, "missing");
    assert_null(missing);
    hget_is(qa, "on_hand", "2");
    snprintf(tk, sizeof(tk), K("task:%s"), cnt);
    hget_is(tk, "state", "done");
}

static void test_roles(void **state)
{
    (void)state;
    refused("clerk1", "pick.confirm", "x1",
            "\"task\":\"PCK-1\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
            "\"qty\":1,\"tote\":\"T1\"",
            "user \"clerk1\" (roles clerk) may not run \"pick.confirm\"");
    refused("clerk1", "batch.claim", "x2", "",
            "user \"clerk1\" (roles clerk) may not run \"batch.claim\"");
    refused("picker1", "wave.release", "x3", "\"wave\":\"W1\"",
            "user \"picker1\" (roles picker) may not run \"wave.release\"");
    refused("picker1", "pick.confirm", "x4",
            "\"task\":\"PCK-99\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
            "\"qty\":1,\"tote\":\"T1\"",
            "unknown task \"PCK-99\"");
    refused("picker1", "pick.confirm", "x5",
            "\"task\":\"PCK-1\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
            "\"qty\":0,\"tote\":\"T1\"",
            "field \"qty\": expected an integer in 1..1073741824");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_claim_confirm),
        cmocka_unit_test(test_short_backorder_first),
        cmocka_unit_test(test_roles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
