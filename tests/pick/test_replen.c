/* Integration tests of replenishment (wcs/command/replen.c, wcs/store/replen_ops.c and its
 * scripts) through a real mosquitto (harness ACL) and redis-server: a wave release that leaves a
 * pick face below its min opens an RPL task from the reserve (the planner's replenish stage:
 * max - level rounded down to the multiple), the task reserves its source; a second release
 * does not open another while one is open; replen.claim makes the face busy and a pick there
 * waits (refused, nothing changed, no pick error); replen.confirm refuses wrong scans with
 * nothing changed, then moves the units (journaled as 'replenish') and closes the task; the
 * pick then goes through and the refilled face opens nothing new. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "command/command.h"
#include "../../wcs/command/replen.h"
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

static char *get_str(const char *key)
{
    redisReply *r = redisCommand(RC, "GET %s", key);
    char *v = r && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static void test_release_replenish_confirm(void **state)
{
    char rpl[32], f[512], want[300], task[32] = "", loc[64] = "";
    json_t *r, *t;
    size_t i;
    (void)state;
    quant("P1", "WH1/Stock/A/1", "", 8, "");
    quant("P1", "WH1/Reserve/R1", "", 30, "");
    /* Younger than the face's stock: the order's FIFO reservation takes the face. */
    freeReplyObject(redisCommand(RC, "HSET " K("quant:P1:WH1/Reserve/R1:") " in_date 2024-06-01"));
    ok0("erp", "order.upsert", "o1",
        "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":6}]");
    json_decref(ok("sup", "wave.plan", "w1", "\"wave\":\"W1\""));
    /* The order is reserved on the face (the planner prefers pick faces): level 8 - 6 = 2. */
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "6");
    json_decref(ok("sup", "wave.release", "w2", "\"wave\":\"W1\""));
    PUMP_UNTIL(kpi("replen_tasks") == 1 && C.stats.replen_finished == 1, 5000);
    assert_int_equal(kpi("replen_tasks"), 1);
    assert_int_equal(kpi("replen_tasks_release"), 1);
    assert_int_equal(C.stats.replen_created, 1);
    char *seq = get_str(K("task:seq"));
    assert_non_null(seq);
    snprintf(rpl, sizeof(rpl), "RPL-%s", seq);
    free(seq);
    char k[128];
    snprintf(k, sizeof(k), K("task:%s"), rpl);
    hget_is(k, "kind", "replenish");
    hget_is(k, "state", "open");
    hget_is(k, "from", "WH1/Reserve/R1");
    hget_is(k, "to", "WH1/Stock/A/1");
    /* max 20 - level 2 = 18, rounded down to the multiple 5. */
    hget_is(k, "qty", "15");
    hget_is(k, "trigger", "release");
    hget_is(K("quant:P1:WH1/Reserve/R1:"), "reserved", "15");
    hget_is(K("replen:open"), "WH1/Stock/A/1|P1", "1");
    PUMP_UNTIL(events_with(P "evt/task", rpl) > 0, 3000);
    assert_true(events_with(P "evt/task", "\"replenish\"") > 0);

    /* Another check of the face while the task is open opens nothing. */
    assert_int_equal(replen_check(&C, "WH1/Stock/A/1", "P1", "pick"), 0);
    PUMP_UNTIL(C.stats.replen_finished == 2, 5000);
    assert_int_equal(C.stats.replen_skipped, 1);
    assert_int_equal(kpi("replen_tasks"), 1);
    /* A product without a rule is no check. */
    assert_int_equal(replen_check(&C, "WH1/Stock/A/2", "P1", "pick"), 0);
    assert_int_equal(C.stats.replen_checks, 2);

    /* The picker's batch, then the replenisher claims: the face is busy, the pick waits. */
    r = ok("picker1", "batch.claim", "c1", "\"batch\":\"W1-B1\"");
    json_array_foreach(json_object_get(r, "tasks"), i, t)
    {
        snprintf(task, sizeof(task), "%s", jstr(t, "task"));
        snprintf(loc, sizeof(loc), "%s", jstr(t, "location"));
    }
    json_decref(r);
    assert_string_equal(loc, "WH1/Stock/A/1");
    snprintf(f, sizeof(f), "\"task\":\"%s\"", rpl);
    r = ok("picker2", "replen.claim", "r1", f);
    assert_string_equal(jstr(r, "from"), "WH1/Reserve/R1");
    assert_string_equal(jstr(r, "to"), "WH1/Stock/A/1");
    assert_int_equal(jint(r, "qty"), 15);
    assert_string_equal(jstr(r, "gtin"), "09506000134352");
    json_decref(r);
    snprintf(want, sizeof(want), "task %s is assigned to picker2", rpl);
    refused("picker1", "replen.claim", "r2", f, want);
    long errors = kpi("pick_errors");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
             "\"qty\":6,\"tote\":\"T1\"",
             task);
    snprintf(want, sizeof(want),
             "task %s waits: replenishment %s is filling WH1/Stock/A/1, pick after its "
             "replen.confirm",
             task, rpl);
    refused("picker1", "pick.confirm", "p1", f, want);
    assert_int_equal(kpi("pick_errors"), errors);

    /* replen.confirm: each wrong scan refused with nothing changed. */
#define RC_FIELDS(from, scan, qty, to)                                                             \
    snprintf(f, sizeof(f),                                                                         \
             "\"task\":\"%s\",\"from\":\"%s\",\"scan\":\"%s\",\"qty\":%d,\"to\":\"%s\"", rpl,      \
             from, scan, qty, to)
    RC_FIELDS("WH1/Reserve/R2", "09506000134352", 15, "WH1/Stock/A/1");
    snprintf(want, sizeof(want),
             "scanned location WH1/Reserve/R2 is not WH1/Reserve/R1, the source of task %s", rpl);
    refused("picker2", "replen.confirm", "x1", f, want);
    RC_FIELDS("WH1/Reserve/R1", "9506000134369", 15, "WH1/Stock/A/1");
    snprintf(want, sizeof(want), "scanned GTIN 09506000134369 is product P2, task %s is for P1",
             rpl);
    refused("picker2", "replen.confirm", "x2", f, want);
    RC_FIELDS("WH1/Reserve/R1", "09506000134352", 16, "WH1/Stock/A/1");
    snprintf(want, sizeof(want), "qty 16 is more than the 15 remaining on task %s", rpl);
    refused("picker2", "replen.confirm", "x3", f, want);
    RC_FIELDS("WH1/Reserve/R1", "09506000134352", 15, "WH1/Stock/A/2");
    snprintf(want, sizeof(want),
             "scanned location WH1/Stock/A/2 is not WH1/Stock/A/1, the pick face of task %s", rpl);
    refused("picker2", "replen.confirm", "x4", f, want);
    RC_FIELDS("WH1/Reserve/R1", "09506000134352", 15, "WH1/Stock/A/1");
    snprintf(want, sizeof(want), "task %s is assigned to picker2", rpl);
    refused("picker1", "replen.confirm", "x5", f, want);
    refused("picker2", "replen.confirm", "x6",
            "\"task\":\"PCK-1\",\"from\":\"a\",\"scan\":"
            "\"09506000134352\",\"qty\":1,\"to\":\"b\"",
            "task PCK-1 is a pick task, not a replenishment");

    /* The move. */
    r = ok("picker2", "replen.confirm", "x7", f);
    assert_string_equal(jstr(r, "state"), "done");
    assert_int_equal(jint(r, "moved"), 15);
    assert_int_equal(jint(r, "remaining"), 0);
    json_decref(r);
    hget_is(K("quant:P1:WH1/Reserve/R1:"), "on_hand", "15");
    hget_is(K("quant:P1:WH1/Reserve/R1:"), "reserved", "0");
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "23");
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "6");
    hget_is(k, "state", "done");
    char *op = journal_last("op");
    assert_string_equal(op, "replenish");
    free(op);
    assert_int_equal(kpi("replen_units"), 15);
    assert_int_equal(kpi("replen_confirms"), 1);
    char *open = hget(K("replen:open"), "WH1/Stock/A/1|P1");
    assert_null(open);
    char *busy = hget(K("replen:faces"), "WH1/Stock/A/1");
    assert_null(busy);
    /* A replay answers the same and moves nothing again. */
    r = ok("picker2", "replen.confirm", "x7", f);
    assert_int_equal(jint(r, "moved"), 15);
    json_decref(r);
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "23");

    /* The pick goes through; the face (23 - 6 = 17 >= 5) needs nothing. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
             "\"qty\":6,\"tote\":\"T1\"",
             task);
    json_decref(ok("picker1", "pick.confirm", "p2", f));
    PUMP_UNTIL(C.stats.replen_finished == 3, 5000);
    assert_int_equal(C.stats.replen_checks, 3);
    assert_int_equal(kpi("replen_tasks"), 1);
    hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "17");
}

/* Roles: a clerk may not replenish. */
static void test_replen_roles(void **state)
{
    (void)state;
    refused("clerk1", "replen.claim", "q1", "\"task\":\"RPL-1\"",
            "user \"clerk1\" (roles clerk) may not run \"replen.claim\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_replenish_confirm),
        cmocka_unit_test(test_replen_roles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
