/* Alarms an earlier wcs run left retained on the broker: a new daemon adopts the alarm of an
 * adjustment approval still pending in Redis (and republishes it after a broker restart, as its
 * own), and clears the others (an approval no longer pending, a device alarm nobody raises
 * now); an alarm it raises itself meanwhile stays. Real redis-server and mosquitto (harness),
 * a site without PLCs (READY after the state load). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

#define SITE    "t"
#define P       "wcs/v1/" SITE "/"
#define WAIT_MS 20000

static struct harness_redis *R;
static struct harness_mqtt *M;
static char dir[64], cfg[96];

static void rcmd(const char *cmd)
{
    redisContext *c = redisConnect("127.0.0.1", harness_redis_port(R));
    redisReply *r;
    assert_non_null(c);
    r = redisCommand(c, "AUTH %s %s", harness_redis_user(R), harness_redis_password(R));
    freeReplyObject(r);
    r = redisCommand(c, cmd);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
}

static struct tclient *client(const char *user, const char *id)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(M));
    struct tclient *c = tc_open(uri, id, user, harness_mqtt_password(M, user), 5, false);
    assert_non_null(c);
    return c;
}

static void pump_ms(struct wcsd *d, int ms)
{
    uint64_t t0 = clock_real_mono_us();
    while (clock_real_mono_us() - t0 < (uint64_t)ms * 1000)
        loop_run_once(wcsd_loop(d), 5);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pumps until a fresh subscriber of alarm/# receives exactly the retained alarms `want` (ids in
 * alphabetical order joined by ','), or the time is up. */
static bool retained_alarms_are(struct wcsd *d, const char *want, int ms)
{
    uint64_t t0 = clock_real_mono_us();
    char got[512];
    do {
        struct tclient *c = client("sup", "probe");
        assert_int_equal(tc_sub(c, P "alarm/#"), 0);
        pump_ms(d, 300); /* retained messages come right after the SUBACK */
        const char *ids[16];
        size_t n = 0;
        got[0] = '\0';
        for (size_t i = 0; i < tc_count(c) && n < 16; i++) {
            const struct tmsg *m = tc_msg(c, i);
            if (m->retained && m->len > 0)
                ids[n++] = m->topic + strlen(P "alarm/");
        }
        qsort(ids, n, sizeof(ids[0]), cmp_str);
        for (size_t i = 0; i < n; i++) {
            strcat(got, i ? "," : "");
            strcat(got, ids[i]);
        }
        tc_close(c);
        if (strcmp(got, want) == 0)
            return true;
    } while (clock_real_mono_us() - t0 < (uint64_t)ms * 1000);
    print_message("retained alarms: \"%s\", wanted \"%s\"\n", got, want);
    return false;
}

static int setup(void **state)
{
    struct harness_user users[2] = {{"wcs", "", HARNESS_ROLE_SERVICE},
                                    {"sup", "", HARNESS_ROLE_SUPERVISOR}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 2, .site = SITE};
    char err[HARNESS_ERR_MAX];
    FILE *f;
    (void)state;
    log_init(NULL, LOGL_INFO);
    snprintf(dir, sizeof(dir), "/tmp/wcs-stale-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cfg, sizeof(cfg), "%s/site.yaml", dir);
    if (harness_redis_start(&R, NULL, err, sizeof(err)) != 0 ||
        harness_mqtt_start(&M, &mo, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    f = fopen(cfg, "w");
    if (!f)
        return -1;
    fprintf(f,
            "site: {id: " SITE ", name: Test, timezone: UTC}\n"
            "warehouses:\n"
            "  - {code: WH1, name: Main, locations: [{path: WH1/Stock, type: internal}]}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-stale, user: wcs,\n"
            "       password_file: %s, keepalive_s: 5, qos: 1}\n",
            harness_redis_port(R), harness_redis_user(R), harness_redis_password_file(R),
            harness_mqtt_port(M), harness_mqtt_password_file(M, "wcs"));
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_mqtt_free(M);
    harness_redis_free(R);
    return tfile_remove_tree(dir) == 0 ? 0 : -1;
}

static void test_stale_alarms_settled(void **state)
{
    struct wcsd *d = NULL;
    struct wcsd_opts o = {.config_path = cfg, .kpi_interval_ms = 1000};
    char err[HARNESS_ERR_MAX];
    (void)state;
    /* What an earlier run left: retained alarms on the broker, approvals in Redis. */
    struct tclient *old = client("wcs", "old-run");
    const char *body = "{\"text\":\"left\",\"since\":1}";
    const char *ids[] = {"approval-ADJ-7", "approval-ADJ-8", "plc.gone.link", "redis.down"};
    for (size_t i = 0; i < 4; i++) {
        char topic[128];
        snprintf(topic, sizeof(topic), P "alarm/%s", ids[i]);
        assert_int_equal(tc_pub(old, topic, body, strlen(body), 1, true, NULL, NULL), 0);
    }
    tc_close(old);
    rcmd("HSET wcs:{" SITE "}:approval:ADJ-7 kind adjust state pending requester clerk1");
    rcmd("HSET wcs:{" SITE "}:approval:ADJ-8 kind adjust state approved requester clerk1");

    assert_int_equal(wcsd_open(&d, &o), 0);
    uint64_t t0 = clock_real_mono_us();
    while (!wcsd_is_ready(d) && clock_real_mono_us() - t0 < WAIT_MS * 1000ull)
        loop_run_once(wcsd_loop(d), 5);
    assert_true(wcsd_is_ready(d));
    /* Raised by this run before the settling: its own (Redis is up, so the daemon would
     * clear it by itself later; raise it through the bus as a live alarm would be). */
    json_t *live = json_pack("{s:s}", "text", "raised by this run");
    assert_int_equal(bus_raise_alarm(wcsd_bus(d), "plc.gone.link", live), 0);
    json_decref(live);
    /* Settled about 5 s after READY: the pending approval adopted, the rest cleared. */
    assert_true(retained_alarms_are(d, "approval-ADJ-7,plc.gone.link", WAIT_MS));

    /* Adopted means owned: a broker without persistence comes back empty and gets it again
     * (with the daemon's note of the outage). */
    assert_int_equal(harness_mqtt_restart(M, err, sizeof(err)), 0);
    assert_true(retained_alarms_are(d, "approval-ADJ-7,mqtt.outage,plc.gone.link", WAIT_MS));
    wcsd_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_alarms_settled),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
