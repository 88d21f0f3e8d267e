/* The in-process daemon suites' shared helpers (daemonfix.h): harness servers, the supervisor's
 * client, pumping the daemon's loop, and Redis reads and writes beside the daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemonfix.h"

#include "base/clock.h"
#include "base/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wcsd *const *D;
static struct harness_redis *const *R;
static void (*AFTER_TURN)(void);

void dfx_bind(struct wcsd *const *d, struct harness_redis *const *redis, void (*after_turn)(void))
{
    D = d;
    R = redis;
    AFTER_TURN = after_turn;
}

int dfx_start(char *tmpl, const char *site, struct harness_redis **redis,
              struct harness_mqtt **mqtt)
{
    struct harness_user users[2] = {{"wcs", "", HARNESS_ROLE_SERVICE},
                                    {"sup", "", HARNESS_ROLE_SUPERVISOR}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 2, .site = site};
    char err[HARNESS_ERR_MAX];
    if (!mkdtemp(tmpl))
        return -1;
    if (harness_redis_start(redis, NULL, err, sizeof(err)) != 0 ||
        harness_mqtt_start(mqtt, &mo, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    return 0;
}

struct tclient *dfx_sup_client(struct harness_mqtt *mqtt, const char *site)
{
    char uri[64], filter[96];
    struct tclient *c;
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(mqtt));
    snprintf(filter, sizeof(filter), "wcs/v1/%s/#", site);
    c = tc_open(uri, "t-sup", "sup", harness_mqtt_password(mqtt, "sup"), 5, false);
    if (c && tc_sub(c, filter) != 0) {
        tc_close(c);
        return NULL;
    }
    return c;
}

uint64_t dfx_now_ms(void)
{
    return clock_real_mono_us() / 1000;
}

static void turn(void)
{
    (void)loop_run_once(wcsd_loop(*D), 5);
    if (AFTER_TURN)
        AFTER_TURN();
}

void dfx_pump(int ms)
{
    uint64_t end = dfx_now_ms() + (uint64_t)ms;
    while (dfx_now_ms() < end)
        turn();
}

bool dfx_pump_until(dfx_cond_fn c, void *arg, int ms)
{
    uint64_t end = dfx_now_ms() + (uint64_t)ms;
    while (dfx_now_ms() < end) {
        if (c(arg))
            return true;
        turn();
    }
    return c(arg);
}

bool dfx_is_ready(void *arg)
{
    (void)arg;
    return wcsd_is_ready(*D);
}

redisContext *dfx_rconn(void)
{
    redisContext *c = redisConnect("127.0.0.1", harness_redis_port(*R));
    redisReply *r;
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    r = redisCommand(c, "AUTH %s %s", harness_redis_user(*R), harness_redis_password(*R));
    if (r)
        freeReplyObject(r);
    return c;
}

void dfx_rcmd(const char *fmt, ...)
{
    redisContext *c = dfx_rconn();
    va_list ap;
    redisReply *r;
    assert_non_null(c);
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s", r->str);
    freeReplyObject(r);
    redisFree(c);
}

void dfx_hget(const char *key, const char *field, char *out, size_t cap)
{
    redisContext *c = dfx_rconn();
    redisReply *r;
    out[0] = '\0';
    if (!c)
        return;
    r = redisCommand(c, "HGET %s %s", key, field);
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(out, cap, "%s", r->str);
    if (r)
        freeReplyObject(r);
    redisFree(c);
}

long long dfx_hlen(const char *key)
{
    redisContext *c = dfx_rconn();
    redisReply *r;
    long long n = -1;
    if (!c)
        return -1;
    r = redisCommand(c, "HLEN %s", key);
    if (r && r->type == REDIS_REPLY_INTEGER)
        n = r->integer;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return n;
}

struct hcond {
    const char *key, *field, *want;
};

static bool hfield_is(void *arg)
{
    struct hcond *h = arg;
    char v[256];
    dfx_hget(h->key, h->field, v, sizeof(v));
    return strcmp(v, h->want) == 0;
}

void dfx_wait_field(const char *key, const char *field, const char *want, int ms)
{
    struct hcond h = {key, field, want};
    char v[256];
    if (!dfx_pump_until(hfield_is, &h, ms)) {
        dfx_hget(key, field, v, sizeof(v));
        fail_msg("%s.%s is \"%s\", want \"%s\"", key, field, v, want);
    }
}

struct mq_cond {
    struct tclient *c;
    size_t from;
    const char *topic, *needle;
};

static bool mq_seen(void *arg)
{
    struct mq_cond *m = arg;
    return tc_find(m->c, m->from, m->topic, m->needle) >= 0;
}

void dfx_wait_mq(struct tclient *c, size_t from, const char *topic, const char *needle, int ms)
{
    struct mq_cond m = {c, from, topic, needle};
    if (!dfx_pump_until(mq_seen, &m, ms)) {
        size_t n = tc_count(c);
        for (size_t i = n > 6 ? n - 6 : 0; i < n; i++)
            fprintf(stderr, "seen %zu %s %s\n", i, tc_msg(c, i)->topic, tc_msg(c, i)->payload);
        fail_msg("no message on %s with %s (from %zu of %zu)", topic, needle, from, n);
    }
}
