/* Automatic wave release (wcs/daemon/autowave.c) through a real daemon on a virtual clock, with
 * harness Redis and mosquitto: two carriers (DHL cutoffs 12:00 and 16:00, UPS 14:00) and
 * pick_pack_ship_min 60. Orders upserted over MQTT; the clock moved past each release time:
 * the carrier's wave is planned and released once, journaled as actor wcs with cause
 * "auto-release <carrier> <cutoff>", announced on evt/wave and counted in the KPIs; nothing
 * before the release time, nothing while no order of the carrier waits (an order arriving in the
 * window is released then); a restarted daemon does not release the same cutoff again; with
 * waves.auto_release false (reload) nothing is released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "harness/harness.h"
#include "tclient.h"
#include "tfile.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE    "ta"
#define P       "wcs/v1/" SITE "/"
#define K(x)    "wcs:{" SITE "}:" x
#define WAIT_MS 20000
#define T0_MS   1772438400000LL /* 2026-03-02T08:00:00Z */
#define MIN_US  60000000ull

static struct harness_redis *R;
static struct harness_mqtt *M;
static redisContext *RC;
static struct clock_virtual VC;
static struct tclient *ERP, *WATCH;
static char dir[64], cfg[96];

static void write_config(bool auto_release)
{
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "site: {id: " SITE ", name: Autowave, timezone: UTC}\n"
            "warehouses:\n"
            "  - code: WH1\n"
            "    name: Main\n"
            "    locations:\n"
            "      - {path: WH1/Stock, type: view}\n"
            "      - {path: \"WH1/Stock/A/{1..2}\", type: internal, zone: A}\n"
            "products:\n"
            "  - {sku: P1, name: Plain product, gtins: [\"09506000134352\"]}\n"
            "waves:\n"
            "  auto_release: %s\n"
            "  pick_pack_ship_min: 60\n"
            "  carriers:\n"
            "    - {code: DHL, name: DHL, cutoffs: [\"12:00\", \"16:00\"]}\n"
            "    - {code: UPS, name: UPS, cutoffs: [\"14:00\"]}\n"
            "roles:\n"
            "  - {name: erp, commands: [order.*]}\n"
            "users:\n"
            "  - {name: erp, roles: [erp]}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-autowave, user: wcs,\n"
            "       password_file: %s, keepalive_s: 5, qos: 1}\n",
            auto_release ? "true" : "false", harness_redis_port(R), harness_redis_user(R),
            harness_redis_password_file(R), harness_mqtt_port(M),
            harness_mqtt_password_file(M, "wcs"));
    fclose(f);
}

static int setup(void **state)
{
    struct harness_user users[3] = {{"wcs", "", HARNESS_ROLE_SERVICE},
                                    {"erp", "", HARNESS_ROLE_OPERATOR},
                                    {"sup", "", HARNESS_ROLE_SUPERVISOR}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 3, .site = SITE};
    char err[HARNESS_ERR_MAX], uri[64];
    redisReply *r;
    (void)state;
    log_init(NULL, LOGL_INFO);
    snprintf(dir, sizeof(dir), "/tmp/wcs-autowave-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cfg, sizeof(cfg), "%s/site.yaml", dir);
    if (harness_redis_start(&R, NULL, err, sizeof(err)) != 0 ||
        harness_mqtt_start(&M, &mo, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(M));
    ERP = tc_open(uri, "erp-client", "erp", harness_mqtt_password(M, "erp"), 5, false);
    WATCH = tc_open(uri, "watch", "sup", harness_mqtt_password(M, "sup"), 5, false);
    if (!ERP || !WATCH || tc_sub(ERP, P "reply/erp/#") != 0 || tc_sub(WATCH, P "evt/wave") != 0)
        return -1;
    RC = redisConnect("127.0.0.1", harness_redis_port(R));
    if (!RC)
        return -1;
    r = redisCommand(RC, "AUTH %s %s", harness_redis_user(R), harness_redis_password(R));
    if (!r || r->type != REDIS_REPLY_STATUS)
        return -1;
    freeReplyObject(r);
    clock_virtual_init(&VC, T0_MS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_close(ERP);
    tc_close(WATCH);
    redisFree(RC);
    harness_mqtt_free(M);
    harness_redis_free(R);
    return tfile_remove_tree(dir) == 0 ? 0 : -1;
}

/* One loop round; the virtual clock moves on about as fast as real time (the bus's connect
 * retries and the store's timers run on it), far below the minutes the test jumps. */
static void tick(struct wcsd *d)
{
    loop_run_once(wcsd_loop(d), 5);
    clock_virtual_advance(&VC, 5000);
}

static void pump_ms(struct wcsd *d, int ms)
{
    uint64_t t0 = clock_real_mono_us();
    while (clock_real_mono_us() - t0 < (uint64_t)ms * 1000)
        tick(d);
}

#define PUMP_UNTIL(d, expr)                                                                        \
    do {                                                                                           \
        uint64_t t0_ = clock_real_mono_us();                                                       \
        while (!(expr) && clock_real_mono_us() - t0_ < WAIT_MS * 1000ull)                          \
            tick(d);                                                                               \
    } while (0)

/* The virtual time of day hh:mm:ss on the test's day (moved forward only). */
static void at(int day, int hh, int mm, int ss)
{
    int64_t ms = (int64_t)day * 86400000LL + ((int64_t)(hh - 8) * 3600 + mm * 60 + ss) * 1000;
    clock_virtual_set(&VC, (uint64_t)ms * 1000u);
}

static char *hget(const char *key, const char *field)
{
    redisReply *r = redisCommand(RC, "HGET %s %s", key, field);
    char *v = r && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static bool hget_is(const char *key, const char *field, const char *want)
{
    char *v = hget(key, field);
    bool eq = v && strcmp(v, want) == 0;
    free(v);
    return eq;
}

static long long exists(const char *key)
{
    redisReply *r = redisCommand(RC, "EXISTS %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

/* Journal entries with actor and cause. */
static int journaled(const char *actor, const char *cause, const char *op)
{
    redisReply *r = redisCommand(RC, "XRANGE " K("journal") " - +");
    int n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *a = "", *c = "", *o = "";
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "actor") == 0)
                a = f->element[k + 1]->str;
            else if (strcmp(f->element[k]->str, "cause") == 0)
                c = f->element[k + 1]->str;
            else if (strcmp(f->element[k]->str, "op") == 0)
                o = f->element[k + 1]->str;
        }
        n += strcmp(a, actor) == 0 && strcmp(c, cause) == 0 && (!op || strcmp(o, op) == 0);
    }
    freeReplyObject(r);
    return n;
}

/* True when the request key holds a stored ok reply. */
static bool stored(const char *key)
{
    redisReply *r = redisCommand(RC, "GET %s", key);
    bool ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "\"ok\":true");
    freeReplyObject(r);
    return ok;
}

static size_t wave_events(const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < tc_count(WATCH); i++)
        if (strstr(tc_msg(WATCH, i)->payload, needle))
            n++;
    return n;
}

static bool subscribed(struct wcsd *d)
{
    struct bus_stats bs;
    bus_get_stats(wcsd_bus(d), &bs);
    return bs.subscribed;
}

static struct wcsd *start(void)
{
    struct wcsd *d = NULL;
    struct wcsd_opts o = {.config_path = cfg, .clock = &VC.base, .kpi_interval_ms = 1000};
    assert_int_equal(wcsd_open(&d, &o), 0);
    PUMP_UNTIL(d, wcsd_is_ready(d) && subscribed(d));
    assert_true(wcsd_is_ready(d));
    assert_true(subscribed(d)); /* commands published before would be lost */
    return d;
}

static bool confirmed_in_model(struct wcsd *d, const char *id)
{
    struct wcsd_order o;
    return wcsd_order_get(d, id, &o) == 0 && o.state == WCSD_ORDER_CONFIRMED;
}

/* order.upsert over MQTT; waits for the reply and the model to see it confirmed. */
static void upsert(struct wcsd *d, const char *order, const char *carrier)
{
    char body[256], rid[32], topic[96];
    size_t from = tc_count(ERP);
    snprintf(rid, sizeof(rid), "up-%s", order);
    snprintf(body, sizeof(body),
             "{\"request_id\":\"%s\",\"order\":\"%s\",\"carrier\":\"%s\",\"lines\":[{\"sku\":"
             "\"P1\",\"qty\":2}]}",
             rid, order, carrier);
    assert_int_equal(
        tc_pub(ERP, P "cmd/erp/order.upsert", body, strlen(body), 1, false, NULL, NULL), 0);
    snprintf(topic, sizeof(topic), P "reply/erp/%s", rid);
    PUMP_UNTIL(d, tc_find(ERP, from, topic, "\"ok\":true") >= 0);
    assert_true(tc_find(ERP, from, topic, "\"ok\":true") >= 0);
    PUMP_UNTIL(d, confirmed_in_model(d, order));
    assert_true(confirmed_in_model(d, order));
}

static uint64_t auto_releases(struct wcsd *d)
{
    struct wcsd_kpi k;
    wcsd_get_kpi(d, &k);
    return k.flow.auto_releases;
}

static void test_auto_release(void **state)
{
    redisReply *r;
    (void)state;
    write_config(true);
    r = redisCommand(RC, "HSET %s sku %s loc %s lot %s on_hand %d reserved 0 expiry %s in_date %s",
                     K("quant:P1:WH1/Stock/A/1:"), "P1", "WH1/Stock/A/1", "", 100, "",
                     "2026-01-01");
    freeReplyObject(r);
    r = redisCommand(RC, "SADD " K("sku:P1:quants") " " K("quant:P1:WH1/Stock/A/1:"));
    freeReplyObject(r);

    struct wcsd *d = start();
    upsert(d, "SO1", "DHL");
    upsert(d, "SO2", "UPS");

    /* Before DHL's release time (12:00 - 60 min): nothing. */
    at(0, 10, 59, 0);
    pump_ms(d, 300);
    assert_int_equal(exists(K("wave:AUTO-DHL-202603021200")), 0);
    assert_true(hget_is(K("order:SO1"), "state", "confirmed"));

    /* Past it: DHL's wave planned and released, UPS's order untouched. */
    at(0, 11, 0, 30);
    PUMP_UNTIL(d, hget_is(K("wave:AUTO-DHL-202603021200"), "state", "released"));
    assert_true(hget_is(K("wave:AUTO-DHL-202603021200"), "state", "released"));
    assert_false(hget_is(K("order:SO1"), "state", "confirmed"));
    assert_true(hget_is(K("order:SO2"), "state", "confirmed"));
    assert_true(journaled("wcs", "auto-release DHL 2026-03-02T12:00Z", "wave_release") >= 1);
    PUMP_UNTIL(d, wave_events("\"carrier\":\"DHL\"") == 1 && auto_releases(d) == 1);
    assert_int_equal(wave_events("\"carrier\":\"DHL\""), 1);
    assert_non_null(strstr(tc_msg(WATCH, 0)->payload, "\"event\":\"auto_release\""));
    assert_non_null(strstr(tc_msg(WATCH, 0)->payload, "\"ok\":true"));
    assert_int_equal(auto_releases(d), 1);

    /* UPS at 13:00 for its 14:00 cutoff. */
    at(0, 13, 0, 30);
    PUMP_UNTIL(d, hget_is(K("wave:AUTO-UPS-202603021400"), "state", "released"));
    assert_true(hget_is(K("wave:AUTO-UPS-202603021400"), "state", "released"));
    assert_true(journaled("wcs", "auto-release UPS 2026-03-02T14:00Z", "wave_release") >= 1);
    PUMP_UNTIL(d, auto_releases(d) == 2);
    assert_int_equal(auto_releases(d), 2);

    /* DHL's 16:00 window opens with no DHL order waiting: nothing is planned. */
    at(0, 15, 0, 30);
    pump_ms(d, 500);
    assert_int_equal(exists(K("wave:AUTO-DHL-202603021600")), 0);
    assert_int_equal(journaled("wcs", "auto-release DHL 2026-03-02T16:00Z", NULL), 0);
    /* An order arriving inside the window is released at the next check (a minute). */
    upsert(d, "SO3", "DHL");
    at(0, 15, 2, 0);
    PUMP_UNTIL(d, hget_is(K("wave:AUTO-DHL-202603021600"), "state", "released"));
    assert_true(hget_is(K("wave:AUTO-DHL-202603021600"), "state", "released"));
    PUMP_UNTIL(d, auto_releases(d) == 3);
    assert_int_equal(auto_releases(d), 3);
    int journal_1600 = journaled("wcs", "auto-release DHL 2026-03-02T16:00Z", NULL);
    assert_true(journal_1600 > 0);
    /* The stored replies are writes the daemon pipelines: let them land before the "crash". */
    PUMP_UNTIL(d, stored(K("req:wcs:auto-DHL-202603021600-1")));
    assert_true(stored(K("req:wcs:auto-DHL-202603021600")));
    assert_true(stored(K("req:wcs:auto-DHL-202603021600-1")));
    wcsd_close(d);

    /* A restart inside the same window with a new DHL order: Redis answers the cutoff's
     * request_ids with the stored replies, nothing is planned or released again. */
    d = start();
    size_t events = tc_count(WATCH);
    upsert(d, "SO4", "DHL");
    at(0, 15, 30, 0);
    pump_ms(d, 1500);
    assert_true(hget_is(K("order:SO4"), "state", "confirmed"));
    assert_int_equal(journaled("wcs", "auto-release DHL 2026-03-02T16:00Z", NULL), journal_1600);
    assert_int_equal(auto_releases(d), 0);
    assert_int_equal(tc_count(WATCH), events);

    /* auto_release false (reload): the next day's 12:00 window passes with SO4 waiting. */
    write_config(false);
    assert_int_equal(wcsd_reload(d), 0);
    at(1, 11, 30, 0);
    pump_ms(d, 500);
    assert_int_equal(exists(K("wave:AUTO-DHL-202603031200")), 0);
    assert_true(hget_is(K("order:SO4"), "state", "confirmed"));
    /* Switched on again inside the window: released. */
    write_config(true);
    assert_int_equal(wcsd_reload(d), 0);
    PUMP_UNTIL(d, hget_is(K("wave:AUTO-DHL-202603031200"), "state", "released"));
    assert_true(hget_is(K("wave:AUTO-DHL-202603031200"), "state", "released"));
    assert_false(hget_is(K("order:SO4"), "state", "confirmed"));
    wcsd_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_release),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
