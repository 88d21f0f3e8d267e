/* Integration test of the daemon's parts of this area, in-process with a harness redis-server
 * and mosquitto and no PLC: the KPI snapshot carries the flow KPIs computed from the counters
 * in wcs:{s}:kpi (pick accuracy, on-time rate, variance share, receiving rate) and the order
 * backlog from the model, on MQTT and in wcs:{s}:kpi:flow; and the count scheduler opens the due
 * counts of a site with a counting: section by itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/log.h"
#include "daemon/daemon.h"
#include "harness/harness.h"
#include "tclient.h"

#include <hiredis/hiredis.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE "t3"
#define K(x) "wcs:{" SITE "}:" x

static struct harness_redis *R;
static struct harness_mqtt *M;
static struct wcsd *D;
static struct tclient *MQ;
static redisContext *RC;
static char DIR_[128], CFG[192];

static void rcmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(RC, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static void pump(int ms)
{
    uint64_t t0 = clock_real_mono_us();
    while (clock_real_mono_us() - t0 < (uint64_t)ms * 1000)
        loop_run_once(wcsd_loop(D), 5);
}

static int setup(void **state)
{
    struct harness_user users[2] = {{"wcs", "", HARNESS_ROLE_SERVICE},
                                    {"sup", "", HARNESS_ROLE_SUPERVISOR}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 2, .site = SITE};
    struct wcsd_opts o = {0};
    char err[HARNESS_ERR_MAX], uri[64];
    FILE *f;
    (void)state;
    log_init(NULL, LOGL_INFO);
    snprintf(DIR_, sizeof(DIR_), "/tmp/wcs-count-XXXXXX");
    if (!mkdtemp(DIR_))
        return -1;
    snprintf(CFG, sizeof(CFG), "%s/site.yaml", DIR_);
    if (harness_redis_start(&R, NULL, err, sizeof(err)) != 0 ||
        harness_mqtt_start(&M, &mo, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    if (!(f = fopen(CFG, "w")))
        return -1;
    fprintf(f,
            "site: {id: " SITE ", name: Test, timezone: UTC}\n"
            "warehouses:\n"
            "  - {code: WH1, name: Main, locations: [{path: \"WH1/A/{1..3}\", type: internal}]}\n"
            "products: [{sku: PA, name: a, abc: A}, {sku: PC, name: c, abc: C}]\n"
            "counting: {daily_max: 2}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-count, user: wcs,\n"
            "       password_file: %s, keepalive_s: 5, qos: 1}\n",
            harness_redis_port(R), harness_redis_user(R), harness_redis_password_file(R),
            harness_mqtt_port(M), harness_mqtt_password_file(M, "wcs"));
    fclose(f);
    RC = redisConnect("127.0.0.1", harness_redis_port(R));
    redisReply *r =
        redisCommand(RC, "AUTH %s %s", harness_redis_user(R), harness_redis_password(R));
    if (!r || r->type != REDIS_REPLY_STATUS)
        return -1;
    freeReplyObject(r);
    /* Counters as the flows leave them, stock in three locations, orders in the backlog. */
    rcmd("HSET " K("kpi") " pick_confirms 9 pick_errors 1 ship_on_time 3 ship_late 1 "
                          "count_quants 4 count_variances 1 received_units 100 adjustments 2 "
                          "adjusted_value_cents 750 counts_done 3");
    rcmd("HSET " K("order:O1") " state picking");
    rcmd("HSET " K("order:O2") " state confirmed");
    for (int i = 1; i <= 3; i++) {
        const char *sku = i == 2 ? "PA" : "PC";
        char q[96];
        snprintf(q, sizeof(q), K("quant:%s:WH1/A/%d:"), sku, i);
        rcmd("HSET %s sku %s loc WH1/A/%d lot %s on_hand 5 reserved 0", q, sku, i, "");
        rcmd("SADD " K("loc:WH1/A/%d:quants") " %s", i, q);
    }
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(M));
    MQ = tc_open(uri, "t-sup", "sup", harness_mqtt_password(M, "sup"), 5, false);
    if (!MQ || tc_sub(MQ, "wcs/v1/" SITE "/#") != 0)
        return -1;
    o.config_path = CFG;
    o.kpi_interval_ms = 200;
    if (wcsd_open(&D, &o) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wcsd_close(D);
    tc_close(MQ);
    redisFree(RC);
    harness_mqtt_free(M);
    harness_redis_free(R);
    unlink(CFG);
    rmdir(DIR_);
    return 0;
}

/* The latest kpi snapshot with the counters read, or NULL. */
static json_t *last_kpi(void)
{
    for (long i = (long)tc_count(MQ) - 1; i >= 0; i--) {
        const struct tmsg *m = tc_msg(MQ, (size_t)i);
        if (strcmp(m->topic, "wcs/v1/" SITE "/kpi") != 0)
            continue;
        json_t *j = json_loads(m->payload, 0, NULL);
        if (j && json_is_true(json_object_get(j, "counters_read")))
            return j;
        json_decref(j);
    }
    return NULL;
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        fail_msg("kpi has no number \"%s\"", k);
    return json_number_value(v);
}

static void test_flow_kpis(void **state)
{
    json_t *k = NULL;
    (void)state;
    for (int i = 0; i < 50 && !k; i++) {
        pump(100);
        k = last_kpi();
    }
    assert_non_null(k);
    assert_true(num(k, "pick_accuracy") > 0.899 && num(k, "pick_accuracy") < 0.901);
    assert_true(num(k, "ship_on_time_rate") > 0.749 && num(k, "ship_on_time_rate") < 0.751);
    assert_true(num(k, "count_variance_share") > 0.249 && num(k, "count_variance_share") < 0.251);
    assert_int_equal((int)num(k, "adjusted_value_cents"), 750);
    assert_int_equal((int)num(k, "lines_picked"), 9);
    const json_t *b = json_object_get(k, "order_backlog");
    assert_int_equal((int)num(b, "picking"), 1);
    assert_int_equal((int)num(b, "confirmed"), 1);
    assert_int_equal((int)num(b, "total"), 2);
    /* No command came: none timed. The daemon's Redis round trips are (loads, KPI reads). */
    const json_t *cl = json_object_get(k, "cmd_latency_us");
    assert_int_equal((int)num(cl, "count"), 0);
    assert_int_equal((int)num(cl, "max"), 0);
    const json_t *rt = json_object_get(k, "redis_rtt_us");
    assert_true(num(rt, "count") > 0);
    assert_true(num(rt, "p50") <= num(rt, "p99") && num(rt, "p99") <= num(rt, "max"));
    assert_true(num(rt, "in_flight_max") >= 1);
    json_decref(k);
    /* 50 more units received: a positive receiving rate at the next reads. */
    rcmd("HINCRBY " K("kpi") " received_units 50");
    double rate = 0;
    for (int i = 0; i < 30 && rate <= 0; i++) {
        pump(100);
        if ((k = last_kpi())) {
            rate = num(k, "received_units_per_hour");
            json_decref(k);
        }
    }
    assert_true(rate > 0);
    redisReply *r = redisCommand(RC, "HGET " K("kpi:flow") " pick_accuracy");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "0.9000");
    freeReplyObject(r);
}

static void test_scheduler_runs_in_the_daemon(void **state)
{
    (void)state;
    /* The first pass runs 5 s after start; all three never counted (due alike, by path) and
     * daily_max 2. */
    for (int i = 0; i < 100 && tc_find(MQ, 0, "wcs/v1/" SITE "/evt/count", "CNT-2") < 0; i++)
        pump(100);
    assert_true(tc_find(MQ, 0, "wcs/v1/" SITE "/evt/count", "\"WH1/A/2\"") >= 0);
    redisReply *r = redisCommand(RC, "HGET " K("task:CNT-1") " target");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "WH1/A/1");
    freeReplyObject(r);
    r = redisCommand(RC, "HLEN " K("counts:open"));
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);
    /* The day's count in Redis holds the limit for the next passes. */
    r = redisCommand(RC, "HVALS " K("counting:scheduled"));
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "2");
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_kpis),
        cmocka_unit_test(test_scheduler_runs_in_the_daemon),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
