/* Integration tests of wave.plan through the planner (wcs/command/wave.c) against a real
 * redis-server (harness): FEFO and expiry (expired stock never reserved, the earliest good
 * expiry taken), a lot-specific line, a late order waved first under one-order waves, a short
 * order reported with the planner's reason; stock moved between the snapshot and the commit
 * (that order skipped and reported, the others committed); two command layers with their own
 * Redis connections planning at once never over-reserve; the loop's largest gap during a
 * wave.plan of a 50k-line snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/loop.h"
#include "command/command.h"
#include "config/config.h"
#include "harness/harness.h"
#include "store/store.h"
#include "wave.h"

#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SITE "t2"
#define K(x) "wcs:{" SITE "}:" x

static struct harness_redis *R;
static struct cfg_site *CFG;
static struct loop *L;
static struct store *ST[2];
static struct cmd_ctx C[2];
static redisContext *RC;

struct outcome {
    bool done, store_error;
    json_t *fields;
    char error[512];
};

static void on_done(void *arg, json_t *fields, const char *error, bool store_error)
{
    struct outcome *o = arg;
    o->done = true;
    o->fields = fields;
    o->store_error = store_error;
    snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
}

static void pump_until(const bool *flag, uint64_t ms)
{
    uint64_t t0 = clock_real_mono_us();
    while (!*flag && clock_real_mono_us() - t0 < ms * 1000)
        loop_run_once(L, 5);
}

static uint64_t cpu_us(clockid_t id)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(id, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* CPU time used by the calling thread, and by the whole process. */
static uint64_t thread_cpu_us(void)
{
    return cpu_us(CLOCK_THREAD_CPUTIME_ID);
}

static uint64_t process_cpu_us(void)
{
    return cpu_us(CLOCK_PROCESS_CPUTIME_ID);
}

static void on_state(void *arg, bool up, int reason, const char *detail)
{
    (void)reason;
    (void)detail;
    *(bool *)arg = up;
}

static bool UP[2];

static int setup(void **state)
{
    char err[HARNESS_ERR_MAX];
    struct cfg_errors e;
    (void)state;
    if (harness_redis_start(&R, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    cfg_errors_init(&e);
    if (cfg_load(&CFG, WAVE_SITE_YAML, &e) != 0) {
        for (size_t i = 0; i < e.count; i++)
            fprintf(stderr, "%s\n", e.lines[i]);
        return -1;
    }
    cfg_errors_fini(&e);
    if (loop_new(&L, clock_system()) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        char inst[16];
        snprintf(inst, sizeof(inst), "proc%d", i);
        struct store_opts so = {.host = harness_redis_host(R),
                                .port = harness_redis_port(R),
                                .user = harness_redis_user(R),
                                .password_file = harness_redis_password_file(R),
                                .site = SITE,
                                .instance = inst,
                                .command_timeout_ms = 5000,
                                .on_state = on_state,
                                .state_arg = &UP[i]};
        if (store_open(&ST[i], L, &so) != 0)
            return -1;
        C[i] = (struct cmd_ctx){.store = ST[i], .site = CFG, .clock = clock_system(), .loop = L};
        pump_until(&UP[i], 5000);
        if (!UP[i])
            return -1;
    }
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
    for (int i = 0; i < 2; i++) {
        command_fini(&C[i]);
        store_close(ST[i]);
    }
    loop_free(L);
    redisFree(RC);
    cfg_free(CFG);
    harness_redis_free(R);
    return 0;
}

static void cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(RC, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s", r->str);
    freeReplyObject(r);
}

static void flush_site(void)
{
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(RC, "SCAN %s MATCH wcs:{" SITE "}:* COUNT 1000", cursor);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            cmd("DEL %s", r->element[1]->element[i]->str);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
}

static void quant(const char *sku, const char *loc, const char *lot, long on_hand,
                  const char *expiry, const char *in_date)
{
    char k[256];
    snprintf(k, sizeof(k), K("quant:%s:%s:%s"), sku, loc, lot);
    cmd("HSET %s sku %s loc %s lot %s on_hand %ld reserved 0 expiry %s in_date %s", k, sku, loc,
        lot, on_hand, expiry, in_date);
    cmd("SADD wcs:{" SITE "}:sku:%s:quants %s", sku, k);
}

/* An order as order_upsert stores it; lines "sku:qty[:lot]" separated by spaces. */
static void order(const char *id, const char *prio, const char *ship_date, const char *lines)
{
    char buf[512], *save = NULL;
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", lines);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save), n++) {
        char sku[32] = "", lot[32] = "", json[128];
        long qty = 0;
        sscanf(t, "%31[^:]:%ld:%31s", sku, &qty, lot);
        if (lot[0])
            snprintf(json, sizeof(json), "{\"lot\":\"%s\",\"qty\":%ld,\"sku\":\"%s\"}", lot, qty,
                     sku);
        else
            snprintf(json, sizeof(json), "{\"qty\":%ld,\"sku\":\"%s\"}", qty, sku);
        cmd("HSET wcs:{" SITE "}:order:%s:lines %d %s", id, n, json);
    }
    cmd("HSET wcs:{" SITE "}:order:%s state confirmed hold 0 carrier DHL priority %s ship_date %s "
        "zone %s lines %d units 1 updated_ts 1",
        id, prio, ship_date, "", n);
    cmd("SADD " K("orders:open") " %s", id);
}

static long hget_l(const char *key, const char *field)
{
    redisReply *r = redisCommand(RC, "HGET %s %s", key, field);
    long v = r->type == REDIS_REPLY_STRING ? atol(r->str) : -1;
    freeReplyObject(r);
    return v;
}

static struct outcome plan(int who, const char *wave)
{
    struct outcome o = {0};
    struct store_ctx ctx = {.actor = "sup", .cause = "wave.plan test"};
    char err[256];
    int rc = wave_plan_start(&C[who], &ctx, wave, NULL, 0, on_done, &o, err, sizeof(err));
    if (rc != 0)
        fail_msg("wave_plan_start: %d %s", rc, err);
    pump_until(&o.done, 60000);
    assert_true(o.done);
    return o;
}

static const char *skip_reason(json_t *f, const char *order_id)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(f, "skipped"), i,
                       s) if (strcmp(json_string_value(json_object_get(s, "order")), order_id) ==
                              0) return json_string_value(json_object_get(s, "reason"));
    return NULL;
}

static void test_fefo_expiry_lot_late(void **state)
{
    (void)state;
    flush_site();
    quant("F1", "WH1/Stock/A/1", "LA", 10, "2000-01-01", "2020-01-01"); /* expired */
    quant("F1", "WH1/Stock/A/2", "LB", 10, "2099-01-01", "2020-01-01");
    quant("F1", "WH1/Stock/A/3", "LC", 10, "2098-01-01", "2021-01-01"); /* earliest good */
    quant("P1", "WH1/Stock/A/4", "", 5, "", "");
    order("SOA", "normal", "2030-01-01", "F1:4");
    order("SOB", "normal", "2030-01-01", "F1:2:LB");
    order("SOC", "urgent", "2030-01-01", "F1:30");
    order("SOL", "normal", "2020-01-01", "P1:1"); /* its cutoff has passed: late */
    struct outcome o = plan(0, "W1");
    if (!o.fields)
        fail_msg("refused: %s", o.error);
    if (getenv("WAVE_DEBUG"))
        fprintf(stderr, "%s\n", json_dumps(o.fields, JSON_INDENT(1)));
    /* FEFO: the earliest expiry that is still good; the expired lot is never reserved. */
    assert_int_equal(hget_l(K("quant:F1:WH1/Stock/A/3:LC"), "reserved"), 4);
    assert_int_equal(hget_l(K("quant:F1:WH1/Stock/A/1:LA"), "reserved"), 0);
    /* The lot-specific line takes its lot. */
    assert_int_equal(hget_l(K("quant:F1:WH1/Stock/A/2:LB"), "reserved"), 2);
    assert_int_equal(hget_l(K("quant:P1:WH1/Stock/A/4:"), "reserved"), 1);
    /* SOC wants 30 with 20 good units: short with the planner's reason, nothing reserved. */
    const char *why = skip_reason(o.fields, "SOC");
    assert_non_null(why);
    assert_non_null(strstr(why, "Short"));
    assert_int_equal(hget_l(K("order:SOC"), "lines"), 1);
    redisReply *r = redisCommand(RC, "HGET " K("order:SOC") " state");
    assert_string_equal(r->str, "confirmed");
    freeReplyObject(r);
    /* One order per wave (max_lines 1): the late order comes first. */
    json_t *waves = json_object_get(o.fields, "waves");
    assert_int_equal(json_array_size(waves), 3);
    json_t *w0 = json_array_get(waves, 0);
    assert_string_equal(json_string_value(json_object_get(w0, "wave")), "W1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(w0, "orders"), 0)), "SOL");
    assert_int_equal(json_integer_value(json_object_get(w0, "late_orders")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(waves, 1), "wave")),
                        "W1.2");
    r = redisCommand(RC, "HGET " K("order:SOL") " wave");
    assert_string_equal(r->str, "W1");
    freeReplyObject(r);
    r = redisCommand(RC, "HGET " K("wave:W1") " state");
    assert_string_equal(r->str, "planned");
    freeReplyObject(r);
    json_decref(o.fields);
}

/* Stock moves after the planner ran and before the commit: that order is skipped and reported,
 * the others commit, and it stays confirmed for the next wave.plan. */
static void take_stock(void *arg)
{
    (void)arg;
    cmd("HSET " K("quant:P1:WH1/Stock/A/4:") " on_hand 1");
}

static void test_stock_moved_before_commit(void **state)
{
    (void)state;
    flush_site();
    quant("P1", "WH1/Stock/A/4", "", 5, "", "");
    quant("F1", "WH1/Stock/A/3", "LC", 10, "2098-01-01", "2021-01-01");
    order("SM1", "normal", "2030-01-01", "P1:3");
    order("SM2", "normal", "2030-01-01", "F1:2");
    C[0].before_commit = take_stock;
    struct outcome o = plan(0, "WM");
    C[0].before_commit = NULL;
    if (!o.fields)
        fail_msg("refused: %s", o.error);
    const char *why = skip_reason(o.fields, "SM1");
    assert_non_null(why);
    assert_non_null(strstr(why, "stock moved since the snapshot"));
    assert_int_equal(hget_l(K("quant:P1:WH1/Stock/A/4:"), "reserved"), 0);
    assert_int_equal(hget_l(K("quant:F1:WH1/Stock/A/3:LC"), "reserved"), 2);
    redisReply *r = redisCommand(RC, "HGET " K("order:SM1") " state");
    assert_string_equal(r->str, "confirmed");
    freeReplyObject(r);
    json_decref(o.fields);
}

static struct outcome plan_carrier(const char *wave, const char *carrier)
{
    struct outcome o = {0};
    struct store_ctx ctx = {.actor = "sup", .cause = "wave.plan test"};
    char err[256];
    int rc = wave_plan_start(&C[0], &ctx, wave, carrier, 0, on_done, &o, err, sizeof(err));
    if (rc != 0)
        fail_msg("wave_plan_start: %d %s", rc, err);
    pump_until(&o.done, 60000);
    assert_true(o.done);
    return o;
}

static long snapshot_orders(json_t *f)
{
    return (long)json_integer_value(json_object_get(json_object_get(f, "snapshot"), "orders"));
}

/* Of the open orders only wave candidates reach the snapshot: confirmed, not on hold, in no
 * wave, of the carrier asked for (any without one); an open id without its hash is skipped. */
static void test_only_candidates(void **state)
{
    (void)state;
    flush_site();
    quant("P1", "WH1/Stock/A/4", "", 50, "", "");
    order("CA1", "normal", "2030-01-01", "P1:1");
    order("CA2", "normal", "2030-01-01", "P1:1");
    cmd("HSET " K("order:CA2") " hold 1");
    order("CA3", "normal", "2030-01-01", "P1:1");
    cmd("HSET " K("order:CA3") " wave WOLD");
    order("CA4", "normal", "2030-01-01", "P1:1");
    cmd("HSET " K("order:CA4") " state waved");
    order("CA5", "normal", "2030-01-01", "P1:1");
    cmd("HSET " K("order:CA5") " carrier UPS");
    cmd("SADD " K("orders:open") " CA6");
    struct outcome o = plan_carrier("WC1", "DHL");
    if (!o.fields)
        fail_msg("refused: %s", o.error);
    assert_int_equal(snapshot_orders(o.fields), 1);
    redisReply *r = redisCommand(RC, "HMGET " K("order:CA1") " wave state");
    assert_string_equal(r->element[0]->str, "WC1");
    freeReplyObject(r);
    json_decref(o.fields);
    /* Without a carrier the UPS order is one too; the held and waved ones never are. */
    o = plan_carrier("WC2", NULL);
    if (!o.fields)
        fail_msg("refused: %s", o.error);
    assert_int_equal(snapshot_orders(o.fields), 1);
    assert_int_equal(hget_l(K("order:CA2"), "hold"), 1);
    r = redisCommand(RC, "HMGET " K("order:CA5") " wave");
    assert_string_equal(r->element[0]->str, "WC2");
    freeReplyObject(r);
    r = redisCommand(RC, "HGET " K("order:CA2") " wave");
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    r = redisCommand(RC, "HGET " K("order:CA3") " wave");
    assert_string_equal(r->str, "WOLD");
    freeReplyObject(r);
    json_decref(o.fields);
}

/* Two command layers, each with its own Redis connection (two wcs processes), plan the same
 * orders at once: every quant's reserved stays within on_hand and equals the sum the orders
 * hold, and no order is in two waves. */
static void test_two_processes_never_over_reserve(void **state)
{
    (void)state;
    flush_site();
    quant("P1", "WH1/Stock/A/4", "", 20, "", "");
    for (int i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof(id), "SC%02d", i);
        order(id, "normal", "2030-01-01", "P1:1");
    }
    struct outcome a = {0}, b = {0};
    struct store_ctx ctx = {.actor = "sup", .cause = "race"};
    char err[256];
    assert_int_equal(wave_plan_start(&C[0], &ctx, "WA", NULL, 0, on_done, &a, err, sizeof(err)), 0);
    assert_int_equal(wave_plan_start(&C[1], &ctx, "WB", NULL, 0, on_done, &b, err, sizeof(err)), 0);
    uint64_t t0 = clock_real_mono_us();
    while ((!a.done || !b.done) && clock_real_mono_us() - t0 < 60000000u)
        loop_run_once(L, 5);
    assert_true(a.done && b.done);
    long reserved = hget_l(K("quant:P1:WH1/Stock/A/4:"), "reserved");
    assert_true(reserved <= 20);
    long held = 0, waved = 0;
    for (int i = 0; i < 30; i++) {
        char k[64];
        snprintf(k, sizeof(k), K("order:SC%02d:resv"), i);
        long h = hget_l(k, K("quant:P1:WH1/Stock/A/4:"));
        held += h > 0 ? h : 0;
        snprintf(k, sizeof(k), K("order:SC%02d"), i);
        redisReply *r = redisCommand(RC, "HGET %s state", k);
        waved += strcmp(r->str, "waved") == 0;
        freeReplyObject(r);
    }
    assert_int_equal(held, reserved);
    assert_int_equal(waved, reserved);
    printf("race: WA %s, WB %s, reserved %ld of 20\n", a.fields ? "planned" : a.error,
           b.fields ? "planned" : b.error, reserved);
    json_decref(a.fields);
    json_decref(b.fields);
}

/* The loop keeps turning while the planner works on a 50k-line snapshot. */
static void test_loop_not_blocked(void **state)
{
    (void)state;
    flush_site();
#if defined(__SANITIZE_ADDRESS__)
    /* ASan makes the loop's share of the work (reading and parsing the snapshot replies)
     * tens of times slower; a fifth of the snapshot keeps the bound meaningful there. */
    const int n_orders = 2000, per = 5;
#else
    const int n_orders = 10000, per = 5;
#endif
    for (int q = 1; q <= 4; q++) {
        char loc[32];
        snprintf(loc, sizeof(loc), "WH1/Stock/A/%d", q);
        quant("P1", loc, "", 1000000, "", "");
    }
    for (int i = 0; i < n_orders; i++) {
        for (int k = 0; k < per; k++)
            redisAppendCommand(RC, "HSET " K("order:B%05d:lines") " %d {\"qty\":1,\"sku\":\"P1\"}",
                               i, k);
        redisAppendCommand(RC,
                           "HSET " K("order:B%05d") " state confirmed hold 0 carrier DHL "
                                                    "priority normal lines %d updated_ts 1",
                           i, per);
        redisAppendCommand(RC, "SADD " K("orders:open") " B%05d", i);
    }
    for (int i = 0; i < n_orders * (per + 2); i++) {
        redisReply *r;
        assert_int_equal(redisGetReply(RC, (void **)&r), REDIS_OK);
        freeReplyObject(r);
    }
    /* One wave of everything: the lines limit of the site is lifted for this run. */
    struct outcome o = {0};
    struct store_ctx ctx = {.actor = "sup", .cause = "big"};
    char err[256];
    /* Two measures per loop turn: wall time (includes any wait to be scheduled, which a loaded
     * machine makes long whatever the code does) and the loop thread's own CPU time (only the
     * work done on the loop, whatever the load). */
    uint64_t t0 = clock_real_mono_us(), last = t0, gap = 0;
    uint64_t c0 = thread_cpu_us(), clast = c0, cgap = 0, p0 = process_cpu_us();
    assert_int_equal(
        wave_plan_start(&C[0], &ctx, "WBIG", NULL, 10000, on_done, &o, err, sizeof(err)), 0);
    while (!o.done && clock_real_mono_us() - t0 < 120000000u) {
        loop_run_once(L, 1);
        uint64_t now = clock_real_mono_us(), cnow = thread_cpu_us();
        if (now - last > gap)
            gap = now - last;
        if (cnow - clast > cgap)
            cgap = cnow - clast;
        last = now;
        clast = cnow;
    }
    assert_true(o.done);
    if (!o.fields)
        fail_msg("refused: %s", o.error);
    uint64_t total = clock_real_mono_us() - t0, loop_cpu = thread_cpu_us() - c0;
    uint64_t other_cpu = process_cpu_us() - p0 - loop_cpu;
    printf("wave.plan of %d lines: %.0f ms, largest loop gap %.1f ms (%.1f ms loop CPU), loop CPU "
           "%.0f ms, other threads' CPU %.0f ms, %zu waves\n",
           n_orders * per, (double)total / 1000.0, (double)gap / 1000.0, (double)cgap / 1000.0,
           (double)loop_cpu / 1000.0, (double)other_cpu / 1000.0,
           json_array_size(json_object_get(o.fields, "waves")));
#if defined(__SANITIZE_ADDRESS__)
    /* Under ASan on a loaded machine absolute times mean little: the loop's share of the work
     * (parsing the snapshot, building the reply) slows down as much as the planner does (seen:
     * gap/total 0.09 idle, 0.21 at load 15). The loop must still have kept turning for most of
     * the run: planning on the loop would make one gap most of the total. */
    if (gap * 2 >= total)
        fail_msg("largest loop gap %.1f ms of %.1f ms in all", gap / 1000.0, total / 1000.0);
#else
    /* The loop's CPU in one turn, not the wall gap: under parallel tests on a busy machine the
     * loop thread can wait its turn for a CPU longer than any bound worth keeping (a 250 ms
     * wall bound failed once under parallel ctest; 100 ms wall gaps with 13 ms of loop CPU
     * seen at load 8). Measured: one turn uses 9-13 ms of loop CPU (decoding the snapshot
     * replies), the planner ~100 ms of its worker's CPU ("other threads" above), so 50 ms is
     * four times the first and half the second: planning on the loop fails it. The wall check
     * catches a loop blocked waiting rather than computing. */
    if (cgap >= 50000)
        fail_msg("largest loop turn used %.1f ms of CPU (bound 50 ms)", cgap / 1000.0);
    if (gap * 2 >= total)
        fail_msg("largest loop gap %.1f ms of %.1f ms in all", gap / 1000.0, total / 1000.0);
#endif
    json_decref(o.fields);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fefo_expiry_lot_late),
        cmocka_unit_test(test_stock_moved_before_commit),
        cmocka_unit_test(test_only_candidates),
        cmocka_unit_test(test_two_processes_never_over_reserve),
        cmocka_unit_test(test_loop_not_blocked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
