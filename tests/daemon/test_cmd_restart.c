/* Commands across a daemon restart (docs/reliability.md, "Commands across a restart"): a QoS 1
 * command published while wcs is down, and one published right after it was started again
 * (before its connection and subscription are certain), are each executed once and answered
 * with exactly one reply, 20 restarts in a row. Real redis-server and mosquitto (harness), an
 * in-process daemon on a site without PLCs, the tester connected throughout. */
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

#define SITE     "t"
#define P        "wcs/v1/" SITE "/"
#define ROUNDS   20
#define REPLY_MS 20000 /* a loaded 2-core machine: generous, the wait ends at the reply */

static struct harness_redis *R;
static struct harness_mqtt *M;
static struct tclient *T;
static char dir[64], cfg[96];

static void pump_ms(struct wcsd *d, int ms)
{
    uint64_t t0 = clock_real_mono_us();
    while (clock_real_mono_us() - t0 < (uint64_t)ms * 1000)
        loop_run_once(wcsd_loop(d), 5);
}

/* How many messages the tester received on topic. */
static unsigned replies(const char *topic)
{
    unsigned n = 0;
    for (long i = tc_find(T, 0, topic, NULL); i >= 0; i = tc_find(T, (size_t)i + 1, topic, NULL))
        n++;
    return n;
}

/* Pumps the daemon until both topics have a reply or ms passed; true when both have. */
static bool wait_replies(struct wcsd *d, const char *a, const char *b, int ms)
{
    uint64_t t0 = clock_real_mono_us();
    while (clock_real_mono_us() - t0 < (uint64_t)ms * 1000) {
        if (replies(a) > 0 && replies(b) > 0)
            return true;
        loop_run_once(wcsd_loop(d), 5);
    }
    return replies(a) > 0 && replies(b) > 0;
}

/* Journal entries whose cause is `cause` (each command's effect is journaled once). */
static unsigned journaled(const char *cause)
{
    redisContext *c = redisConnect("127.0.0.1", harness_redis_port(R));
    redisReply *r;
    unsigned n = 0;
    assert_non_null(c);
    r = redisCommand(c, "AUTH %s %s", harness_redis_user(R), harness_redis_password(R));
    freeReplyObject(r);
    r = redisCommand(c, "XRANGE wcs:{" SITE "}:journal - +");
    assert_non_null(r);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2)
            if (strcmp(f->element[k]->str, "cause") == 0 &&
                strcmp(f->element[k + 1]->str, cause) == 0)
                n++;
    }
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static void publish_upsert(const char *rid, const char *order)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"request_id\":\"%s\",\"order\":\"%s\",\"carrier\":\"DHL\","
             "\"lines\":[{\"sku\":\"SKU-A\",\"qty\":1}]}",
             rid, order);
    assert_int_equal(tc_pub(T, P "cmd/sup/order.upsert", body, strlen(body), 1, false, NULL, NULL),
                     0);
}

static int open_daemon(struct wcsd **d)
{
    struct wcsd_opts o = {.config_path = cfg, .kpi_interval_ms = 1000, .drain_timeout_ms = 2000};
    return wcsd_open(d, &o);
}

static int setup(void **state)
{
    struct harness_user users[2] = {{"wcs", "", HARNESS_ROLE_SERVICE},
                                    {"sup", "", HARNESS_ROLE_SUPERVISOR}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 2, .site = SITE};
    char err[HARNESS_ERR_MAX], uri[64];
    FILE *f;
    (void)state;
    log_init(NULL, LOGL_WARN);
    snprintf(dir, sizeof(dir), "/tmp/wcs-cmdrestart-XXXXXX");
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
            "products:\n"
            "  - {sku: SKU-A, name: A, gtins: [\"09506000134352\"], weight_g: 500}\n"
            "waves:\n"
            "  carriers: [{code: DHL, name: DHL, cutoffs: [\"23:59\"]}]\n"
            "roles:\n"
            "  - {name: supervisor, commands: [\"*\"]}\n"
            "users:\n"
            "  - {name: sup, roles: [supervisor]}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-restart, user: wcs,\n"
            "       password_file: %s, keepalive_s: 5, qos: 1}\n",
            harness_redis_port(R), harness_redis_user(R), harness_redis_password_file(R),
            harness_mqtt_port(M), harness_mqtt_password_file(M, "wcs"));
    fclose(f);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(M));
    T = tc_open(uri, "t-sup", "sup", harness_mqtt_password(M, "sup"), 5, false);
    if (!T || tc_sub(T, P "reply/sup/#") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_close(T);
    harness_mqtt_free(M);
    harness_redis_free(R);
    return tfile_remove_tree(dir) == 0 ? 0 : -1;
}

/* Each round: wcs stopped, a command published (the broker holds it for wcs's session), wcs
 * started, a second command published at once; both answered once with ok, both orders made
 * once (one journal entry each), and nothing more arrives within a further second. */
static void test_commands_across_restarts(void **state)
{
    struct wcsd *d = NULL;
    (void)state;
    assert_int_equal(open_daemon(&d), 0);
    /* The first start creates wcs's session on the broker (a command sent before it existed
     * would reach nobody): a first command answered means wcs is subscribed. */
    for (int i = 0;; i++) {
        char rid[32], topic[64];
        snprintf(rid, sizeof(rid), "first-%d", i);
        snprintf(topic, sizeof(topic), P "reply/sup/%s", rid);
        publish_upsert(rid, "SO-FIRST");
        if (wait_replies(d, topic, topic, 500))
            break;
        if (i == REPLY_MS / 500)
            fail_msg("no reply to a first command");
    }
    for (int round = 1; round <= ROUNDS; round++) {
        char ra[32], rb[32], oa[32], ob[32], ta[64], tb[64], ca[64], cb[64];
        snprintf(ra, sizeof(ra), "down-%d", round);
        snprintf(rb, sizeof(rb), "up-%d", round);
        snprintf(oa, sizeof(oa), "SO-D%d", round);
        snprintf(ob, sizeof(ob), "SO-U%d", round);
        snprintf(ta, sizeof(ta), P "reply/sup/%s", ra);
        snprintf(tb, sizeof(tb), P "reply/sup/%s", rb);
        snprintf(ca, sizeof(ca), "order.upsert %s", ra);
        snprintf(cb, sizeof(cb), "order.upsert %s", rb);

        wcsd_close(d);
        d = NULL;
        publish_upsert(ra, oa); /* while wcs is down */
        assert_int_equal(open_daemon(&d), 0);
        publish_upsert(rb, ob); /* right after the start: connect and subscribe still running */
        if (!wait_replies(d, ta, tb, REPLY_MS))
            fail_msg("round %d: replies %s %u, %s %u (expected 1 each)", round, ra, replies(ta), rb,
                     replies(tb));
        pump_ms(d, 1000); /* a duplicate would come now */
        if (replies(ta) != 1 || replies(tb) != 1)
            fail_msg("round %d: replies %s %u, %s %u (expected exactly 1 each)", round, ra,
                     replies(ta), rb, replies(tb));
        if (tc_find(T, 0, ta, "\"ok\":true") < 0 || tc_find(T, 0, tb, "\"ok\":true") < 0)
            fail_msg("round %d: %s: %s / %s: %s", round, ra,
                     tc_msg(T, tc_find(T, 0, ta, NULL))->payload, rb,
                     tc_msg(T, tc_find(T, 0, tb, NULL))->payload);
        assert_int_equal(journaled(ca), 1);
        assert_int_equal(journaled(cb), 1);
    }
    wcsd_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands_across_restarts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
