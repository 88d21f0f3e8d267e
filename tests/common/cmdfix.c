/* The shared command-layer fixture of the integration suites (cmdfix.h): harness servers,
 * store, bus, command layer, one test client per user, and the send/ok/refused helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdfix.h"

#include "base/clock.h"
#include "rdump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fx FX;

static void on_cmd(struct bus *b, struct bus_cmd *cmd, void *arg)
{
    (void)b;
    command_handle(arg, cmd);
}

static void on_change(void *arg, enum cmd_change what, const char *id, const char *state)
{
    struct fx_change *c = arg;
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

void fx_pump(const bool *flag, int ms)
{
    uint64_t t0 = clock_real_mono_us();
    while ((!flag || !*flag) && clock_real_mono_us() - t0 < (uint64_t)ms * 1000)
        loop_run_once(FX.loop, 5);
}

int fx_open(const struct fx_opts *o)
{
    struct harness_user hu[FX_USERS_MAX + 1] = {{"wcs", "", HARNESS_ROLE_SERVICE}};
    struct cfg_errors e;
    char err[HARNESS_ERR_MAX];
    const char *site_yaml = o->site_yaml;
    const struct fx_user *users = o->users;
    size_t n_users = o->n_users;
    memset(&FX, 0, sizeof(FX));
    if (n_users > FX_USERS_MAX)
        return -1;
    FX.site_yaml = site_yaml;
    FX.skip_key = o->skip_key;
    FX.n_users = n_users;
    for (size_t i = 0; i < n_users; i++) {
        FX.users[i] = users[i];
        snprintf(hu[i + 1].name, sizeof(hu[i + 1].name), "%s", users[i].name);
        hu[i + 1].role = users[i].role;
    }
    cfg_errors_init(&e);
    if (cfg_load(&FX.cfg, site_yaml, &e) != 0) {
        for (size_t i = 0; i < e.count; i++)
            fprintf(stderr, "%s\n", e.lines[i]);
        cfg_errors_fini(&e);
        return -1;
    }
    cfg_errors_fini(&e);
    snprintf(FX.site, sizeof(FX.site), "%s", FX.cfg->id);
    snprintf(FX.topic, sizeof(FX.topic), "wcs/v1/%s/", FX.site);
    struct harness_mqtt_opts mo = {.users = hu, .n_users = n_users + 1, .site = FX.site};
    if (harness_redis_start(&FX.redis, NULL, err, sizeof(err)) < 0 ||
        harness_mqtt_start(&FX.mqtt, &mo, err, sizeof(err)) < 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    snprintf(FX.uri, sizeof(FX.uri), "tcp://127.0.0.1:%d", harness_mqtt_port(FX.mqtt));
    if (loop_new(&FX.loop, clock_system()) != 0)
        return -1;
    struct store_opts so = {.host = harness_redis_host(FX.redis),
                            .port = harness_redis_port(FX.redis),
                            .user = harness_redis_user(FX.redis),
                            .password_file = harness_redis_password_file(FX.redis),
                            .site = FX.site,
                            .on_state = on_store_state,
                            .state_arg = &FX.store_up};
    if (store_open(&FX.store, FX.loop, &so) != 0)
        return -1;
    struct bus_opts bo = {.uri = FX.uri,
                          .client_id = "wcs-fx",
                          .user = "wcs",
                          .password_file = harness_mqtt_password_file(FX.mqtt, "wcs"),
                          .site = FX.site,
                          .gen = 1,
                          .max_payload_bytes = o->max_payload_bytes ? o->max_payload_bytes : 16384};
    FX.cmd = (struct cmd_ctx){.store = FX.store,
                              .site = FX.cfg,
                              .clock = o->clock ? o->clock : clock_system(),
                              .request_ttl_s = 600,
                              .on_change = on_change,
                              .change_arg = &FX.change,
                              .loop = FX.loop};
    if (bus_open(&FX.bus, FX.loop, &bo, on_cmd, &FX.cmd, err, sizeof(err)) != 0) {
        fprintf(stderr, "bus: %s\n", err);
        return -1;
    }
    FX.cmd.bus = FX.bus;
    for (size_t i = 0; i < n_users; i++) {
        char id[80], filter[160];
        snprintf(id, sizeof(id), "c-%s", users[i].name);
        snprintf(filter, sizeof(filter), "%sreply/%s/#", FX.topic, users[i].name);
        FX.tc[i] = fx_client(id, users[i].name);
        if (!FX.tc[i] || tc_sub(FX.tc[i], filter) != 0)
            return -1;
    }
    if (o->watch && n_users > 0) {
        if (!(FX.watch = fx_client("watch", users[0].name)))
            return -1;
        for (size_t i = 0; o->watch[i]; i++) {
            char filter[192];
            snprintf(filter, sizeof(filter), "%s%s", FX.topic, o->watch[i]);
            if (tc_sub(FX.watch, filter) != 0)
                return -1;
        }
    }
    struct bus_stats bs;
    uint64_t t0 = clock_real_mono_us();
    do {
        loop_run_once(FX.loop, 5);
        bus_get_stats(FX.bus, &bs);
    } while ((!bs.subscribed || !FX.store_up) && clock_real_mono_us() - t0 < 10000000u);
    if (!bs.subscribed || !FX.store_up)
        return -1;
    FX.rc = redisConnect(harness_redis_host(FX.redis), harness_redis_port(FX.redis));
    if (!FX.rc || FX.rc->err)
        return -1;
    redisReply *r = redisCommand(FX.rc, "AUTH %s %s", harness_redis_user(FX.redis),
                                 harness_redis_password(FX.redis));
    bool authed = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return authed ? 0 : -1;
}

void fx_close(void)
{
    for (size_t i = 0; i < FX.n_users; i++)
        tc_close(FX.tc[i]);
    tc_close(FX.watch);
    command_fini(&FX.cmd);
    store_close(FX.store);
    bus_close(FX.bus);
    loop_free(FX.loop);
    if (FX.rc)
        redisFree(FX.rc);
    cfg_free(FX.cfg);
    harness_mqtt_free(FX.mqtt);
    harness_redis_free(FX.redis);
    memset(&FX, 0, sizeof(FX));
}

int fx_teardown(void **state)
{
    (void)state;
    fx_close();
    return 0;
}

struct tclient *fx_client(const char *client_id, const char *user)
{
    return tc_open(FX.uri, client_id, user, harness_mqtt_password(FX.mqtt, user), 5, false);
}

struct tclient *fx_tc(const char *user)
{
    for (size_t i = 0; i < FX.n_users; i++)
        if (strcmp(FX.users[i].name, user) == 0)
            return FX.tc[i];
    fail_msg("no client %s", user);
    return NULL;
}

json_t *fx_wait_reply(const char *user, const char *rid, size_t from)
{
    char topic[192];
    struct tclient *c = fx_tc(user);
    long i;
    snprintf(topic, sizeof(topic), "%sreply/%s/%s", FX.topic, user, rid);
    FX_PUMP_UNTIL(tc_find(c, from, topic, NULL) >= 0, 5000);
    if ((i = tc_find(c, from, topic, NULL)) < 0)
        fail_msg("no reply on %s", topic);
    json_t *j = json_loads(tc_msg(c, (size_t)i)->payload, 0, NULL);
    assert_non_null(j);
    return j;
}

static void publish_cmd(const char *user, const char *command, const char *body)
{
    char topic[192];
    snprintf(topic, sizeof(topic), "%scmd/%s/%s", FX.topic, user, command);
    assert_int_equal(tc_pub(fx_tc(user), topic, body, strlen(body), 1, false, NULL, NULL), 0);
}

json_t *fx_send_raw(const char *user, const char *command, const char *rid, const char *body)
{
    size_t from = tc_count(fx_tc(user));
    publish_cmd(user, command, body);
    return fx_wait_reply(user, rid, from);
}

static void cmd_body(char *body, size_t cap, const char *rid, const char *fields)
{
    snprintf(body, cap, "{\"request_id\":\"%s\"%s%s}", rid, fields[0] ? "," : "", fields);
}

json_t *fx_send(const char *user, const char *command, const char *rid, const char *fields)
{
    char body[8192];
    cmd_body(body, sizeof(body), rid, fields);
    return fx_send_raw(user, command, rid, body);
}

void fx_send_async(const char *user, const char *command, const char *rid, const char *fields)
{
    char body[8192];
    cmd_body(body, sizeof(body), rid, fields);
    publish_cmd(user, command, body);
}

json_t *fx_ok(const char *user, const char *command, const char *rid, const char *fields)
{
    json_t *r = fx_send(user, command, rid, fields);
    if (!json_is_true(json_object_get(r, "ok")))
        fail_msg("%s %s %s refused: %s", user, command, fields,
                 json_string_value(json_object_get(r, "error")));
    assert_string_equal(fx_jstr(r, "command"), command);
    assert_string_equal(fx_jstr(r, "request_id"), rid);
    return r;
}

void fx_ok0(const char *user, const char *command, const char *rid, const char *fields)
{
    json_decref(fx_ok(user, command, rid, fields));
}

const char *fx_jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) {
        char *t = json_dumps(o, JSON_COMPACT);
        print_error("in %s\n", t ? t : "?");
        free(t);
        fail_msg("reply has no string \"%s\"", k);
    }
    return json_string_value(v);
}

long long fx_jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("reply has no integer \"%s\"", k);
    return json_integer_value(v);
}

static redisReply *vredis(const char *fmt, va_list ap)
{
    redisReply *r = redisvCommand(FX.rc, fmt, ap);
    if (!r || r->type == REDIS_REPLY_ERROR)
        fail_msg("redis %s: %s", fmt, r ? r->str : FX.rc->errstr);
    return r;
}

redisReply *fx_redis(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vredis(fmt, ap);
    va_end(ap);
    return r;
}

void fx_exec(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    freeReplyObject(vredis(fmt, ap));
    va_end(ap);
}

void fx_quant(const char *sku, const char *loc, const char *lot, int on_hand, const char *expiry)
{
    char k[256];
    snprintf(k, sizeof(k), "wcs:{%s}:quant:%s:%s:%s", FX.site, sku, loc, lot);
    fx_exec("HSET %s sku %s loc %s lot %s on_hand %d reserved 0 expiry %s in_date %s", k, sku, loc,
            lot, on_hand, expiry, "2024-01-01");
    fx_exec("SADD wcs:{%s}:sku:%s:quants %s", FX.site, sku, k);
}

long fx_kpi(const char *field)
{
    char key[96], *v;
    long n;
    snprintf(key, sizeof(key), "wcs:{%s}:kpi", FX.site);
    v = fx_hget(key, field);
    n = v ? atol(v) : 0;
    free(v);
    return n;
}

size_t fx_events_with(const char *topic, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; FX.watch && i < tc_count(FX.watch); i++) {
        const struct tmsg *m = tc_msg(FX.watch, i);
        if (strcmp(m->topic, topic) == 0 && strstr(m->payload, needle))
            n++;
    }
    return n;
}

long long fx_xlen(void)
{
    redisReply *r = redisCommand(FX.rc, "XLEN wcs:{%s}:journal", FX.site);
    long long n = r ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

char *fx_journal_last(const char *field)
{
    redisReply *r = fx_redis("XREVRANGE wcs:{%s}:journal + - COUNT 1", FX.site);
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

char *fx_hget(const char *key, const char *field)
{
    redisReply *r = redisCommand(FX.rc, "HGET %s %s", key, field);
    char *v = r && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

void fx_hget_is(const char *key, const char *field, const char *want)
{
    char *v = fx_hget(key, field);
    if (!want ? v != NULL : (!v || strcmp(v, want) != 0))
        fail_msg("%s %s = %s, expected %s", key, field, v ? v : "(nil)", want ? want : "(nil)");
    free(v);
}

static bool skip_records(const char *key, void *arg)
{
    (void)arg;
    return strstr(key, ":journal") || strstr(key, ":req:") || strstr(key, ":op:") ||
           (FX.skip_key && FX.skip_key(key, NULL));
}

char *fx_dump(size_t *len_out)
{
    char pattern[96];
    snprintf(pattern, sizeof(pattern), "wcs:{%s}:*", FX.site);
    return rdump(FX.rc, pattern, skip_records, NULL, len_out);
}

/* A snapshot once the writes of earlier commands have landed (seen under parallel ctest: an
 * order hash changing right after its own upsert was answered): two equal snapshots 50 ms
 * apart, at most 2 s. */
static char *settled_dump(size_t *len_out)
{
    size_t n0, nq;
    char *d0 = fx_dump(&n0), *dq;
    for (int i = 0; i < 40; i++) {
        usleep(50000);
        dq = fx_dump(&nq);
        if (nq == n0 && memcmp(dq, d0, n0) == 0) {
            free(dq);
            break;
        }
        free(d0);
        d0 = dq;
        n0 = nq;
    }
    *len_out = n0;
    return d0;
}

void fx_refused(const char *user, const char *command, const char *rid, const char *fields,
                const char *want)
{
    size_t n0, n1;
    char *d0 = settled_dump(&n0);
    long long j0 = fx_xlen();
    json_t *r = fx_send(user, command, rid, fields);
    if (!json_is_false(json_object_get(r, "ok")))
        fail_msg("%s %s %s: accepted, expected refusal \"%s\"", user, command, fields, want);
    assert_string_equal(fx_jstr(r, "error"), want);
    json_decref(r);
    FX_PUMP_UNTIL(fx_xlen() == j0 + 1, 2000);
    assert_int_equal(fx_xlen(), j0 + 1);
    char *d1 = fx_dump(&n1);
    if (rdump_diff(d0, n0, d1, n1) != 0)
        fail_msg("%s %s changed Redis although refused", user, command);
    free(d0);
    free(d1);
    char *op = fx_journal_last("op"), *actor = fx_journal_last("actor");
    char *cause = fx_journal_last("cause"), want_cause[200];
    snprintf(want_cause, sizeof(want_cause), "%s %s", command, rid);
    assert_string_equal(op, "cmd_refused");
    assert_string_equal(actor, user);
    assert_string_equal(cause, want_cause);
    free(op);
    free(actor);
    free(cause);
}

void fx_refused_part(const char *user, const char *command, const char *rid, const char *fields,
                     const char *part)
{
    size_t n0, n1;
    char *d0 = settled_dump(&n0);
    long long j0 = fx_xlen();
    json_t *r = fx_send(user, command, rid, fields);
    if (!json_is_false(json_object_get(r, "ok")))
        fail_msg("%s %s %s: accepted, expected a refusal with \"%s\"", user, command, fields, part);
    if (!strstr(fx_jstr(r, "error"), part))
        fail_msg("error \"%s\" lacks \"%s\"", fx_jstr(r, "error"), part);
    json_decref(r);
    /* The refusal's journal entry is written beside the reply, not before it: the reply can
     * arrive first, and the next check would count this entry as its own. */
    FX_PUMP_UNTIL(fx_xlen() == j0 + 1, 2000);
    assert_int_equal(fx_xlen(), j0 + 1);
    char *d1 = fx_dump(&n1);
    if (rdump_diff(d0, n0, d1, n1) != 0)
        fail_msg("%s %s changed Redis although refused", user, command);
    free(d0);
    free(d1);
}

int fx_audit(const char *wcs_bin, const char *flags, char *out, size_t cap)
{
    char cfg[512], cmd[2048], outf[512];
    FILE *f, *in;
    snprintf(cfg, sizeof(cfg), "%s/audit-site.yaml", harness_redis_dir(FX.redis));
    snprintf(outf, sizeof(outf), "%s/audit.out", harness_redis_dir(FX.redis));
    if (access(cfg, F_OK) != 0) {
        char buf[8192];
        size_t n;
        in = fopen(FX.site_yaml, "r");
        f = fopen(cfg, "w");
        assert_non_null(in);
        assert_non_null(f);
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            assert_int_equal(fwrite(buf, 1, n, f), n);
        fprintf(f, "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s}\n",
                harness_redis_port(FX.redis), harness_redis_user(FX.redis),
                harness_redis_password_file(FX.redis));
        fclose(in);
        fclose(f);
    }
    snprintf(cmd, sizeof(cmd), "%s audit %s %s >%s 2>&1", wcs_bin, cfg, flags, outf);
    int st = system(cmd);
    f = fopen(outf, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
