/* bench-commands: what `wcs run` spends per command, beside the bare cost of the same traffic.
 *
 * Setup: harness redis-server and mosquitto (authenticated, loopback); a generated site (20
 * products with GTINs, 20 stock locations, 2 pack stations, users erp, picker1 and sup); stock
 * preloaded in Redis; `wcs run` as a child process, as the simulator starts it. Phases, each timed
 * from its first publish to its last reply, with the CPU of the wcs process (all its threads),
 * redis-server and mosquitto read from /proc before and after:
 *   upsert: N order.upsert (5 lines each, carrier UPS: never waved), at most WINDOW unanswered;
 *   pick:   M pick.confirm over waves of carrier-DHL orders (made, planned, released and claimed
 *           before the phase, untimed), each batch's picks sent back to back.
 * Baselines in the same run: bare_mqtt_us, the CPU per command of a bare paho process (child)
 * that receives the same order.upsert payloads, parses them with jansson and publishes a reply
 * at QoS 1, as wcs would without doing the work; bare_mosq_us, the same responder on
 * libmosquitto run from its own poll loop with no thread, as wcs's link runs it (kept beside
 * paho's so figures stay comparable with earlier runs); bare_redis_us, this process's CPU per
 * pipelined EVALSHA of a 12-argument script through bare hiredis (the client's side of one
 * store call; the server's side is redis_us_per_cmd).
 *
 * The bench's clients speak MQTT 3.1.1 (see cli_version); wcs speaks what its config says (5).
 * BENCH_WCS=path runs another wcs binary (A/B against main's build).
 *
 * Run: build/bench/bench-commands [N [M]] (default 5000 2000). The last line is
 * cmds_per_s=R wcs_cpu_us_per_cmd=C upsert_cpu_us=U pick_cpu_us=P redis_us_per_cmd=D
 * mosq_us_per_cmd=Q bare_mqtt_us=B bare_mosq_us=M bare_redis_us=H (cmds_per_s and
 * wcs_cpu_us_per_cmd over both phases). */
#include "base/clock.h"
#include "base/sock.h"
#include "harness/harness.h"

#include <MQTTAsync.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <mosquitto.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SITE      "bench"
#define TOPIC     "wcs/v1/" SITE "/"
#define N_SKUS    20
#define WINDOW    256
#define WAVE_SIZE 40

extern char **environ;

static struct harness_redis *redis;
static struct harness_mqtt *mqtt;
static char gtins[N_SKUS][15];

/* CPU (user + system) of a process, microseconds, from /proc/<pid>/stat; 0 when unreadable. */
static uint64_t proc_cpu_us(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    p = strrchr(buf, ')');
    /* After the comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime (fields 3..15). */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (ut + st) * 1000000ull / (unsigned long long)sysconf(_SC_CLK_TCK);
}

static uint64_t thread_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/* GTIN-14 "095060002000ii" with its check digit. */
static void make_gtin(char out[15], int i)
{
    int sum = 0;
    snprintf(out, 15, "09506000200%02d", i);
    for (int k = 0; k < 13; k++)
        sum += (out[k] - '0') * (k % 2 == 0 ? 3 : 1);
    out[13] = (char)('0' + (10 - sum % 10) % 10);
    out[14] = 0;
}

static int write_config(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "site: {id: " SITE ", name: Bench, timezone: UTC}\n"
               "warehouses:\n"
               "  - code: WH1\n"
               "    name: Main\n"
               "    receipt_steps: 1\n"
               "    delivery_steps: 1\n"
               "    locations:\n"
               "      - {path: WH1/Stock, type: view}\n"
               "      - {path: \"WH1/Stock/A/{1..20}\", type: internal, zone: A}\n"
               "      - {path: WH1/Packing, type: view}\n"
               "      - {path: \"WH1/Packing/PK{1..2}\", type: internal}\n"
               "products:\n");
    for (int i = 0; i < N_SKUS; i++)
        fprintf(f, "  - {sku: P%02d, name: Product %d, gtins: [\"%s\"]}\n", i, i, gtins[i]);
    fprintf(f,
            "devices:\n"
            "  - {id: prn1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:9100\", dpi: 203}\n"
            "  - {id: scale1, kind: scale, model: mt-sics, uri: \"tcp://127.0.0.1:4001\"}\n"
            "stations:\n"
            "  - {id: PK1, kind: pack, location: WH1/Packing/PK1, scale: scale1, printer: prn1}\n"
            "  - {id: PK2, kind: pack, location: WH1/Packing/PK2, scale: scale1, printer: prn1}\n"
            "labels: {company_prefix: \"0614141\", ship_from: {name: Test DC, street: Dock 1,\n"
            "         city: Town, postcode: \"12345\", country: DE}}\n"
            "waves:\n"
            "  carriers:\n"
            "    - {code: DHL, name: DHL, cutoffs: [\"23:59\"]}\n"
            "    - {code: UPS, name: UPS, cutoffs: [\"23:59\"]}\n"
            "  pick_pack_ship_min: 60\n"
            "  max_lines: 0\n"
            "  max_units: 0\n"
            "  priorities: [urgent, normal]\n"
            "roles:\n"
            "  - {name: supervisor, commands: [\"*\"], approve: true}\n"
            "  - {name: picker, commands: [batch.claim, pick.*]}\n"
            "  - {name: erp, commands: [order.*]}\n"
            "users:\n"
            "  - {name: sup, roles: [supervisor]}\n"
            "  - {name: picker1, roles: [picker]}\n"
            "  - {name: erp, roles: [erp]}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-bench, user: wcs,\n"
            "       password_file: %s}\n",
            harness_redis_port(redis), harness_redis_user(redis),
            harness_redis_password_file(redis), harness_mqtt_port(mqtt),
            harness_mqtt_password_file(mqtt, "wcs"));
    return fclose(f) == 0 ? 0 : -1;
}

static redisContext *redis_connect(void)
{
    redisContext *c = redisConnect("127.0.0.1", harness_redis_port(redis));
    redisReply *x;
    if (!c || c->err) {
        redisFree(c);
        return NULL;
    }
    x = redisCommand(c, "AUTH %s %s", harness_redis_user(redis), harness_redis_password(redis));
    freeReplyObject(x);
    return c;
}

/* One quant of 10,000,000 units per product, each in its own location. */
static int preload(void)
{
    redisContext *c = redis_connect();
    redisReply *x;
    int rc = 0;
    if (!c)
        return -1;
    for (int i = 0; i < N_SKUS; i++) {
        char k[128], sku[8], loc[32];
        snprintf(sku, sizeof(sku), "P%02d", i);
        snprintf(loc, sizeof(loc), "WH1/Stock/A/%d", i + 1);
        snprintf(k, sizeof(k), "wcs:{" SITE "}:quant:%s:%s:", sku, loc);
        redisAppendCommand(c,
                           "HSET %s sku %s loc %s lot %s on_hand 10000000 reserved 0 "
                           "expiry %s in_date 2024-01-01",
                           k, sku, loc, "", "");
        redisAppendCommand(c, "SADD wcs:{" SITE "}:sku:%s:quants %s", sku, k);
    }
    for (int i = 0; i < 2 * N_SKUS; i++) {
        if (redisGetReply(c, (void **)&x) != REDIS_OK || x->type == REDIS_REPLY_ERROR)
            rc = -1;
        freeReplyObject(x);
    }
    redisFree(c);
    return rc;
}

/* ---- a small MQTT client: publishes QoS 1 without waiting for the acknowledgement, keeps
 * every message received (topic and payload) ---- */

struct msg {
    char *topic, *payload;
};

struct cli {
    MQTTAsync h;
    pthread_mutex_t mu;
    struct msg *msgs;
    size_t n, cap;
    atomic_int subscribed; /* 1 granted, -1 refused */
};

static int cli_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct cli *c = ctx;
    struct msg x;
    size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    x.topic = malloc(tl + 1);
    x.payload = malloc((size_t)m->payloadlen + 1);
    memcpy(x.topic, topic, tl);
    x.topic[tl] = 0;
    memcpy(x.payload, m->payload, (size_t)m->payloadlen);
    x.payload[m->payloadlen] = 0;
    pthread_mutex_lock(&c->mu);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->msgs = realloc(c->msgs, c->cap * sizeof(*c->msgs));
    }
    c->msgs[c->n++] = x;
    pthread_mutex_unlock(&c->mu);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void cli_lost(void *ctx, char *cause)
{
    (void)ctx;
    (void)cause;
}

static void cli_sub_ok(void *ctx, MQTTAsync_successData5 *r)
{
    (void)r;
    atomic_store(&((struct cli *)ctx)->subscribed, 1);
}

static void cli_sub_fail(void *ctx, MQTTAsync_failureData5 *r)
{
    (void)r;
    atomic_store(&((struct cli *)ctx)->subscribed, -1);
}

static void cli_sub_ok3(void *ctx, MQTTAsync_successData *r)
{
    (void)r;
    atomic_store(&((struct cli *)ctx)->subscribed, 1);
}

static void cli_sub_fail3(void *ctx, MQTTAsync_failureData *r)
{
    (void)r;
    atomic_store(&((struct cli *)ctx)->subscribed, -1);
}

/* The bench's own clients speak MQTT 3.1.1: with MQTT 5 the broker's receive maximum (mosquitto:
 * max_inflight_messages, 20) applies to them, and paho 1.3.12's send thread, once at that limit,
 * waits up to 1 s for its next wake-up instead of the PUBACK (fixed upstream in paho 1.3.14 by
 * eclipse-paho/paho.mqtt.c#1457), which throttles a pipelining publisher to ~20 messages per
 * second. BENCH_MQTT_VERSION=5 shows it. */
static int cli_version = 4;

static void cli_close(struct cli *c)
{
    if (!c)
        return;
    if (c->h) {
        MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
        d.timeout = 1000;
        MQTTAsync_disconnect(c->h, &d);
        usleep(100000);
        MQTTAsync_destroy(&c->h);
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->msgs[i].topic);
        free(c->msgs[i].payload);
    }
    free(c->msgs);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Connects as user (MQTT 5) and subscribes to filter at QoS 1; NULL on failure. */
static struct cli *cli_open(const char *id, const char *user, const char *filter)
{
    MQTTAsync_createOptions cr = MQTTAsync_createOptions_initializer5;
    MQTTAsync_createOptions cr3 = MQTTAsync_createOptions_initializer;
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_connectOptions co3 = MQTTAsync_connectOptions_initializer;
    MQTTAsync_responseOptions so = MQTTAsync_responseOptions_initializer;
    struct cli *c = calloc(1, sizeof(*c));
    char uri[64];
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(mqtt));
    if (cli_version == 4) {
        cr = cr3;
        co = co3;
        co.cleansession = 1;
    }
    if (MQTTAsync_createWithOptions(&c->h, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &cr) !=
        MQTTASYNC_SUCCESS) {
        c->h = NULL;
        goto fail;
    }
    if (MQTTAsync_setCallbacks(c->h, c, cli_lost, cli_arrived, NULL) != MQTTASYNC_SUCCESS)
        goto fail;
    co.username = user;
    co.password = harness_mqtt_password(mqtt, user);
    co.cleanstart = cli_version == 5;
    co.maxInflight = 4 * WINDOW;
    if (MQTTAsync_connect(c->h, &co) != MQTTASYNC_SUCCESS)
        goto fail;
    for (int i = 0; i < 500 && !MQTTAsync_isConnected(c->h); i++)
        usleep(10000);
    so.context = c;
    if (cli_version == 5) {
        so.onSuccess5 = cli_sub_ok;
        so.onFailure5 = cli_sub_fail;
    } else {
        so.onSuccess = cli_sub_ok3;
        so.onFailure = cli_sub_fail3;
    }
    if (!MQTTAsync_isConnected(c->h) ||
        MQTTAsync_subscribe(c->h, filter, 1, &so) != MQTTASYNC_SUCCESS)
        goto fail;
    for (int i = 0; i < 500 && atomic_load(&c->subscribed) == 0; i++)
        usleep(10000);
    if (atomic_load(&c->subscribed) != 1)
        goto fail;
    return c;
fail:
    cli_close(c);
    return NULL;
}

/* Publishes at QoS 1 without waiting; a full paho queue is retried. Returns 0 or -1. */
static int cli_pub(struct cli *c, const char *topic, const char *payload, size_t len)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = (void *)payload;
    m.payloadlen = (int)len;
    m.qos = 1;
    for (int i = 0; i < 10000; i++) {
        int rc = MQTTAsync_sendMessage(c->h, topic, &m, NULL);
        if (rc == MQTTASYNC_SUCCESS)
            return 0;
        if (rc != MQTTASYNC_MAX_BUFFERED_MESSAGES)
            return -1;
        usleep(1000);
    }
    return -1;
}

static size_t cli_count(struct cli *c)
{
    size_t n;
    pthread_mutex_lock(&c->mu);
    n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* The i-th message's payload (stable until cli_close), or NULL. */
static const char *cli_payload(struct cli *c, size_t i)
{
    const char *p = NULL;
    pthread_mutex_lock(&c->mu);
    if (i < c->n)
        p = c->msgs[i].payload;
    pthread_mutex_unlock(&c->mu);
    return p;
}

/* Whether a message on topic holds needle. */
static bool cli_has(struct cli *c, const char *topic, const char *needle)
{
    bool found = false;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n && !found; i++)
        found = strcmp(c->msgs[i].topic, topic) == 0 && strstr(c->msgs[i].payload, needle);
    pthread_mutex_unlock(&c->mu);
    return found;
}

/* redis-server's CPU from INFO (microsecond resolution). */
static uint64_t redis_cpu_us(redisContext *c)
{
    redisReply *x = redisCommand(c, "INFO cpu");
    double u = 0, s = 0;
    const char *p;
    if (x && x->type == REDIS_REPLY_STRING) {
        if ((p = strstr(x->str, "used_cpu_sys:")))
            s = atof(p + 13);
        if ((p = strstr(x->str, "used_cpu_user:")))
            u = atof(p + 14);
    }
    freeReplyObject(x);
    return (uint64_t)((u + s) * 1e6);
}

/* The body of the i-th order.upsert (5 distinct products, carrier car). */
static int order_body(char *out, size_t cap, const char *rid, const char *order, const char *car,
                      unsigned i)
{
    int n = snprintf(out, cap,
                     "{\"request_id\":\"%s\",\"order\":\"%s\",\"carrier\":\"%s\","
                     "\"lines\":[",
                     rid, order, car);
    for (unsigned l = 0; l < 5; l++)
        n += snprintf(out + n, cap - (size_t)n, "%s{\"sku\":\"P%02u\",\"qty\":%u}", l ? "," : "",
                      (i * 7 + l * 3) % N_SKUS, 1 + (i + l) % 4);
    n += snprintf(out + n, cap - (size_t)n, "]}");
    return n;
}

/* Counts the replies on c from message index from whose payload holds "\"ok\":true". */
static size_t count_ok(struct cli *c, size_t from, size_t to)
{
    size_t ok = 0;
    for (size_t i = from; i < to; i++) {
        const char *m = cli_payload(c, i);
        if (m && strstr(m, "\"ok\":true"))
            ok++;
    }
    return ok;
}

/* Waits up to ms for c to hold at least n messages. */
static bool wait_count(struct cli *c, size_t n, int ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)ms * 1000;
    while (cli_count(c) < n && clock_real_mono_us() < end)
        usleep(200);
    return cli_count(c) >= n;
}

/* Publishes one command and waits for its reply; returns it parsed (the caller decrefs) or NULL. */
static json_t *call(struct cli *c, const char *user, const char *command, const char *body)
{
    char topic[160];
    size_t from = cli_count(c);
    const char *m;
    snprintf(topic, sizeof(topic), TOPIC "cmd/%s/%s", user, command);
    if (cli_pub(c, topic, body, strlen(body)) != 0 || !wait_count(c, from + 1, 30000))
        return NULL;
    m = cli_payload(c, from);
    return m ? json_loads(m, 0, NULL) : NULL;
}

struct phase {
    uint64_t wall_us, wcs_us, redis_us, mosq_us;
    size_t cmds, ok;
};

struct meter {
    pid_t wcs;
    redisContext *rc;
    uint64_t t0, wcs0, redis0, mosq0;
};

static void meter_start(struct meter *m)
{
    m->t0 = clock_real_mono_us();
    m->wcs0 = proc_cpu_us(m->wcs);
    m->redis0 = redis_cpu_us(m->rc);
    m->mosq0 = proc_cpu_us(harness_mqtt_pid(mqtt));
}

static void meter_stop(struct meter *m, struct phase *p)
{
    p->wall_us += clock_real_mono_us() - m->t0;
    p->wcs_us += proc_cpu_us(m->wcs) - m->wcs0;
    p->redis_us += redis_cpu_us(m->rc) - m->redis0;
    p->mosq_us += proc_cpu_us(harness_mqtt_pid(mqtt)) - m->mosq0;
}

/* N order.upsert from erp with at most WINDOW unanswered; replies on erp's client. */
static int run_upserts(struct cli *erp, struct meter *mt, unsigned n, const char *prefix,
                       const char *car, struct phase *p)
{
    char body[512], rid[48], order[48];
    char topic[] = TOPIC "cmd/erp/order.upsert";
    size_t from = cli_count(erp);
    if (mt)
        meter_start(mt);
    for (unsigned i = 0; i < n; i++) {
        int len;
        snprintf(rid, sizeof(rid), "%s-u%u", prefix, i);
        snprintf(order, sizeof(order), "%s%u", prefix, i);
        len = order_body(body, sizeof(body), rid, order, car, i);
        while (i >= WINDOW && cli_count(erp) < from + i - WINDOW)
            usleep(100);
        if (cli_pub(erp, topic, body, (size_t)len) != 0)
            return -1;
    }
    if (!wait_count(erp, from + n, 120000))
        return -1;
    if (mt)
        meter_stop(mt, p);
    if (p) {
        p->cmds += n;
        p->ok += count_ok(erp, from, from + n);
    }
    return 0;
}

/* Plans and releases DHL waves of WAVE_SIZE orders until none is left. Returns the waves
 * released or -1. */
static int plan_release(struct cli *sup)
{
    static int w = 0;
    int released = 0, tries = 0;
    for (w++;; w++) {
        char body[160];
        json_t *r, *waves;
        size_t i;
        snprintf(
            body, sizeof(body),
            "{\"request_id\":\"plan%d\",\"wave\":\"W%d\",\"carrier\":\"DHL\",\"max_orders\":%d}", w,
            w, WAVE_SIZE);
        r = call(sup, "sup", "wave.plan", body);
        if (!r)
            return -1;
        if (!json_is_true(json_object_get(r, "ok"))) {
            const char *e = json_string_value(json_object_get(r, "error"));
            /* Just after the start wcs may still be connecting its planner's Redis link. */
            if (e && strncmp(e, "store unavailable", 17) == 0 && tries++ < 50) {
                json_decref(r);
                usleep(200000);
                continue;
            }
            printf("wave.plan W%d: %s\n", w, e ? e : "");
            json_decref(r);
            return released;
        }
        waves = json_object_get(r, "waves");
        for (i = 0; i < json_array_size(waves); i++) {
            const char *id = json_string_value(json_object_get(json_array_get(waves, i), "wave"));
            json_t *x;
            snprintf(body, sizeof(body), "{\"request_id\":\"rel-%s\",\"wave\":\"%s\"}", id, id);
            x = call(sup, "sup", "wave.release", body);
            if (!x || !json_is_true(json_object_get(x, "ok"))) {
                fprintf(stderr, "bench-commands: wave.release %s failed\n", id);
                json_decref(x);
                json_decref(r);
                return -1;
            }
            json_decref(x);
            released++;
        }
        json_decref(r);
    }
}

/* Claims batches as picker1 and confirms every task of each, until m confirms were sent or no
 * batch is left. Only the confirms are metered. */
static int run_picks(struct cli *pk, struct cli *sup, struct meter *mt, unsigned m, struct phase *p,
                     int *waves)
{
    char topic[] = TOPIC "cmd/picker1/pick.confirm";
    unsigned sent = 0, claims = 0;
    while (sent < m) {
        char body[512];
        json_t *r, *tasks;
        size_t from, nt = 0;
        snprintf(body, sizeof(body), "{\"request_id\":\"claim%u\"}", claims++);
        r = call(pk, "picker1", "batch.claim", body);
        if (!r)
            return -1;
        if (!json_is_true(json_object_get(r, "ok"))) {
            int w;
            printf("batch.claim: %s\n", json_string_value(json_object_get(r, "error")));
            json_decref(r);
            /* All released batches picked: plan and release the next orders. */
            if ((w = plan_release(sup)) <= 0)
                break;
            *waves += w;
            continue;
        }
        tasks = json_object_get(r, "tasks");
        from = cli_count(pk);
        meter_start(mt);
        for (size_t i = 0; i < json_array_size(tasks) && sent < m; i++, sent++, nt++) {
            json_t *t = json_array_get(tasks, i);
            long long qty = json_integer_value(json_object_get(t, "qty")) -
                            json_integer_value(json_object_get(t, "picked"));
            const char *gt = json_string_value(json_object_get(t, "gtin"));
            int len = snprintf(body, sizeof(body),
                               "{\"request_id\":\"pc%u\",\"task\":\"%s\",\"location\":\"%s\","
                               "\"scan\":\"%s\",\"qty\":%lld,\"tote\":\"T%s\"}",
                               sent, json_string_value(json_object_get(t, "task")),
                               json_string_value(json_object_get(t, "location")), gt ? gt : "", qty,
                               json_string_value(json_object_get(t, "order")));
            if (cli_pub(pk, topic, body, (size_t)len) != 0) {
                json_decref(r);
                return -1;
            }
        }
        json_decref(r);
        if (!wait_count(pk, from + nt, 60000))
            return -1;
        meter_stop(mt, p);
        p->cmds += nt;
        p->ok += count_ok(pk, from, from + nt);
    }
    return 0;
}

/* ---- the bare MQTT responder (a child process) ---- */

static MQTTAsync echo_client;
static atomic_uint echo_n;

/* The reply both bare responders publish: the command's payload parsed, a reply rendered. */
static int echo_reply(const void *payload, size_t len, char *t, size_t t_cap, char *body,
                      size_t body_cap)
{
    json_t *o = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
    const char *rid = json_string_value(json_object_get(o, "request_id"));
    int n;
    snprintf(t, t_cap, TOPIC "reply/erp/%s", rid ? rid : "_invalid");
    n = snprintf(body, body_cap,
                 "{\"ok\":true,\"request_id\":\"%s\",\"command\":\"order.upsert\",\"order\":"
                 "\"%s\",\"result\":\"created\",\"state\":\"confirmed\",\"ts\":%llu,\"seq\":%u}",
                 rid ? rid : "", json_string_value(json_object_get(o, "order")),
                 (unsigned long long)clock_real_mono_us(), atomic_fetch_add(&echo_n, 1));
    json_decref(o);
    return n;
}

static int echo_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    char t[160], body[320];
    MQTTAsync_message out = MQTTAsync_message_initializer;
    (void)ctx;
    (void)topic_len;
    out.payloadlen =
        echo_reply(m->payload, (size_t)m->payloadlen, t, sizeof(t), body, sizeof(body));
    out.payload = body;
    out.qos = 1;
    MQTTAsync_sendMessage(echo_client, t, &out, NULL);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void echo_lost(void *ctx, char *cause)
{
    (void)ctx;
    (void)cause;
}

/* The responder's process: waits for a byte on go_fd, connects, subscribes, writes a byte to
 * ready_fd and answers until killed. Forked before this process uses paho. */
static void echo_main(int go_fd, int ready_fd)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_responseOptions so = MQTTAsync_responseOptions_initializer;
    char uri[64], c;
    if (read(go_fd, &c, 1) != 1)
        _exit(0);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(mqtt));
    if (MQTTAsync_create(&echo_client, uri, "bench-echo", MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
            MQTTASYNC_SUCCESS ||
        MQTTAsync_setCallbacks(echo_client, NULL, echo_lost, echo_arrived, NULL) !=
            MQTTASYNC_SUCCESS)
        _exit(1);
    co.username = "wcs";
    co.password = harness_mqtt_password(mqtt, "wcs");
    co.cleansession = 1;
    co.maxInflight = 4 * WINDOW;
    if (MQTTAsync_connect(echo_client, &co) != MQTTASYNC_SUCCESS)
        _exit(1);
    for (int i = 0; i < 500 && !MQTTAsync_isConnected(echo_client); i++)
        usleep(10000);
    if (MQTTAsync_subscribe(echo_client, TOPIC "cmd/+/+", 1, &so) != MQTTASYNC_SUCCESS)
        _exit(1);
    usleep(300000); /* the grant */
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    for (;;)
        pause();
}

/* The bare responder on libmosquitto (its own process too). */
static bool mecho_subscribed;

static void mecho_arrived(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
    char t[160], body[320];
    int len;
    (void)arg;
    len = echo_reply(msg->payload, (size_t)msg->payloadlen, t, sizeof(t), body, sizeof(body));
    mosquitto_publish(m, NULL, t, len, body, 1, false);
}

static void mecho_granted(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
    (void)m;
    (void)arg;
    (void)mid;
    (void)n;
    (void)qos;
    mecho_subscribed = true;
}

static void mecho_main(int go_fd, int ready_fd)
{
    struct mosquitto *m;
    char c;
    if (read(go_fd, &c, 1) != 1)
        _exit(0);
    mosquitto_lib_init();
    m = mosquitto_new("bench-echo-mosq", true, NULL);
    if (!m || mosquitto_username_pw_set(m, "wcs", harness_mqtt_password(mqtt, "wcs")) ||
        mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1) ||
        mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, 4 * WINDOW))
        _exit(1);
    mosquitto_message_callback_set(m, mecho_arrived);
    mosquitto_subscribe_callback_set(m, mecho_granted);
    if (mosquitto_connect(m, "127.0.0.1", harness_mqtt_port(mqtt), 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_subscribe(m, NULL, TOPIC "cmd/+/+", 1) != MOSQ_ERR_SUCCESS)
        _exit(1);
    for (int i = 0; i < 500 && !mecho_subscribed; i++)
        mosquitto_loop(m, 10, 1);
    if (!mecho_subscribed || write(ready_fd, "r", 1) != 1)
        _exit(1);
    for (;;) {
        struct pollfd p = {mosquitto_socket(m), POLLIN, 0};
        if (mosquitto_want_write(m))
            p.events |= POLLOUT;
        if (poll(&p, 1, 1000) > 0) {
            if ((p.revents & (POLLIN | POLLERR | POLLHUP)) && mosquitto_loop_read(m, 1))
                _exit(1);
            if (mosquitto_want_write(m) && mosquitto_loop_write(m, 1))
                _exit(1);
        }
        mosquitto_loop_misc(m);
    }
}

struct echo {
    pid_t pid;
    int go_fd, ready_fd;
    void (*main)(int go_fd, int ready_fd);
};

static int echo_fork(struct echo *e)
{
    int go[2], ready[2];
    if (pipe(go) != 0)
        return -1;
    if (pipe(ready) != 0) {
        close(go[0]);
        close(go[1]);
        return -1;
    }
    e->pid = fork();
    if (e->pid == 0) {
        close(go[1]);
        close(ready[0]);
        e->main(go[0], ready[1]);
    }
    close(go[0]);
    close(ready[1]);
    e->go_fd = go[1];
    e->ready_fd = ready[0];
    return e->pid > 0 ? 0 : -1;
}

static void echo_end(struct echo *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
        close(e->go_fd);
        close(e->ready_fd);
    }
    e->pid = 0;
}

/* bare_mqtt_us / bare_mosq_us: CPU per command of a bare responder for n order.upsert bodies. */
static double bare_mqtt(struct echo *e, struct cli *erp, unsigned n)
{
    uint64_t cpu0, t0;
    double r = -1;
    char c;
    if (write(e->go_fd, "g", 1) != 1 || read(e->ready_fd, &c, 1) != 1)
        goto out;
    cpu0 = proc_cpu_us(e->pid);
    t0 = clock_real_mono_us();
    if (run_upserts(erp, NULL, n, "BARE", "UPS", NULL) == 0) {
        r = (double)(proc_cpu_us(e->pid) - cpu0) / n;
        printf("bare %s responder: cmds=%u cmds_per_s=%.0f cpu_us=%.1f\n",
               e->main == echo_main ? "paho" : "libmosquitto", n,
               n * 1e6 / (double)(clock_real_mono_us() - t0), r);
    }
out:
    echo_end(e);
    return r;
}

/* bare_redis_us: this thread's CPU per EVALSHA of a 12-argument script, 256 in flight. */
static double bare_redis(unsigned n)
{
    redisContext *c = redis_connect();
    redisReply *x;
    char sha[48];
    uint64_t cpu0;
    unsigned sent = 0, got = 0;
    if (!c)
        return -1;
    x = redisCommand(c, "SCRIPT LOAD %s",
                     "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return {ARGV[3], ARGV[4]}");
    if (!x || x->type != REDIS_REPLY_STRING) {
        freeReplyObject(x);
        redisFree(c);
        return -1;
    }
    snprintf(sha, sizeof(sha), "%s", x->str);
    freeReplyObject(x);
    cpu0 = thread_cpu_us();
    while (got < n) {
        while (sent < n && sent - got < 256) {
            char v[16];
            snprintf(v, sizeof(v), "%u", sent);
            redisAppendCommand(
                c,
                "EVALSHA %s 2 wcs:{" SITE "}:bare wcs:{" SITE "}:journal f %s "
                "PCK-%s WH1/Stock/A/1 09506000134352 3 T1 picker1 op-%s 1700000000 x",
                sha, v, v, v);
            sent++;
        }
        if (redisGetReply(c, (void **)&x) != REDIS_OK)
            break;
        freeReplyObject(x);
        got++;
    }
    redisFree(c);
    return got == n ? (double)(thread_cpu_us() - cpu0) / n : -1;
}

static pid_t wcs_spawn(const char *cfg, const char *log)
{
    char *argv[] = {"wcs", "run", cfg ? (char *)cfg : NULL, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* BENCH_WCS names another build of wcs to compare (e.g. a copy of main's). */
    rc = posix_spawn(&pid, getenv("BENCH_WCS") ? getenv("BENCH_WCS") : WCS_BIN, &fa, NULL, argv,
                     environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

int main(int argc, char **argv)
{
    struct harness_user users[] = {{"wcs", "", HARNESS_ROLE_SERVICE},
                                   {"erp", "", HARNESS_ROLE_OPERATOR},
                                   {"picker1", "", HARNESS_ROLE_OPERATOR},
                                   {"sup", "", HARNESS_ROLE_SUPERVISOR}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 4, .site = SITE};
    char err[HARNESS_ERR_MAX], dir[64] = "/tmp/bench-commands-XXXXXX", cfg[128], log[128];
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 5000;
    unsigned m = argc > 2 ? (unsigned)atoi(argv[2]) : 2000;
    struct cli *erp = NULL, *pk = NULL, *sup = NULL, *st = NULL;
    struct phase up = {0}, pick = {0};
    struct meter mt = {0};
    struct echo echo = {.main = echo_main}, mecho = {.main = mecho_main};
    double bare_m, bare_mm, bare_r, load[1] = {0};
    pid_t wcs = -1;
    int rc = 1, waves = 0;

    if (getenv("BENCH_MQTT_VERSION"))
        cli_version = atoi(getenv("BENCH_MQTT_VERSION"));
    if (n == 0 || n > 1000000 || m > 1000000) {
        fprintf(stderr, "usage: bench-commands [N [M]]\n");
        return 2;
    }
    if (!mkdtemp(dir))
        return 1;
    snprintf(cfg, sizeof(cfg), "%s/site.yaml", dir);
    snprintf(log, sizeof(log), "%s/wcs.log", dir);
    for (int i = 0; i < N_SKUS; i++)
        make_gtin(gtins[i], i);
    if (harness_redis_start(&redis, NULL, err, sizeof(err)) != 0 ||
        harness_mqtt_start(&mqtt, &mo, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-commands: %s\n", err);
        goto out;
    }
    if (echo_fork(&echo) != 0 || echo_fork(&mecho) != 0) {
        fprintf(stderr, "bench-commands: fork failed\n");
        goto out;
    }
    erp = cli_open("bench-erp", "erp", TOPIC "reply/erp/#");
    pk = cli_open("bench-picker1", "picker1", TOPIC "reply/picker1/#");
    sup = cli_open("bench-sup", "sup", TOPIC "reply/sup/#");
    st = cli_open("bench-status", "sup", TOPIC "status");
    /* TCP_NODELAY on this process's MQTT clients, as the simulator's set it: with Nagle's
     * algorithm on them, every batch of picks waited ~50 ms for its first reply once wcs's MQTT
     * client ran in its loop (4-21 ms with paho's threads), and none with TCP_NODELAY. */
    (void)sock_nodelay_peers((uint16_t)harness_mqtt_port(mqtt));
    if (!erp || !pk || !sup || !st || write_config(cfg) != 0 || preload() != 0 ||
        !(mt.rc = redis_connect())) {
        fprintf(stderr, "bench-commands: setup failed\n");
        goto out;
    }
    bare_m = bare_mqtt(&echo, erp, n < 2000 ? n : 2000);
    bare_mm = bare_mqtt(&mecho, erp, n < 2000 ? n : 2000);
    bare_r = bare_redis(20000);
    wcs = wcs_spawn(cfg, log);
    mt.wcs = wcs;
    for (int i = 0; i < 3000 && !cli_has(st, TOPIC "status", "\"online\":true"); i++)
        usleep(10000);
    if (wcs < 0 || !cli_has(st, TOPIC "status", "\"online\":true")) {
        fprintf(stderr, "bench-commands: wcs run did not come online; see %s\n", log);
        goto out;
    }
    /* Orders to pick: M picks need about M/5 orders (5 lines each, a line one task or fewer
     * when the planner merges), with room to spare; planned as the picks need them. */
    if (m > 0 && (run_upserts(erp, NULL, m / 2 + WAVE_SIZE, "SO", "DHL", NULL) != 0 ||
                  (waves = plan_release(sup)) <= 0)) {
        fprintf(stderr, "bench-commands: setup of the pick phase failed; see %s\n", log);
        goto out;
    }
    if (run_upserts(erp, &mt, n, "UO", "UPS", &up) != 0 ||
        run_picks(pk, sup, &mt, m, &pick, &waves) != 0) {
        fprintf(stderr, "bench-commands: a phase did not finish; see %s\n", log);
        goto out;
    }
    (void)getloadavg(load, 1);
    printf("upsert: cmds=%zu ok=%zu wall_s=%.2f cmds_per_s=%.0f wcs_cpu_us=%.1f redis_us=%.1f "
           "mosq_us=%.1f\n",
           up.cmds, up.ok, up.wall_us / 1e6, up.cmds * 1e6 / (double)up.wall_us,
           (double)up.wcs_us / (double)up.cmds, (double)up.redis_us / (double)up.cmds,
           (double)up.mosq_us / (double)up.cmds);
    printf("pick: waves=%d cmds=%zu ok=%zu wall_s=%.2f cmds_per_s=%.0f wcs_cpu_us=%.1f "
           "redis_us=%.1f mosq_us=%.1f\n",
           waves, pick.cmds, pick.ok, pick.wall_us / 1e6,
           pick.cmds * 1e6 / (double)(pick.wall_us ? pick.wall_us : 1),
           (double)pick.wcs_us / (double)(pick.cmds ? pick.cmds : 1),
           (double)pick.redis_us / (double)(pick.cmds ? pick.cmds : 1),
           (double)pick.mosq_us / (double)(pick.cmds ? pick.cmds : 1));
    printf("baseline: bare paho+jansson responder %.1f us/cmd; bare libmosquitto+jansson "
           "responder %.1f us/cmd; bare hiredis EVALSHA client %.1f us/call; loadavg=%.1f\n",
           bare_m, bare_mm, bare_r, load[0]);
    if (up.ok != up.cmds || pick.ok != pick.cmds)
        fprintf(stderr, "bench-commands: %zu upserts and %zu picks refused; see %s\n",
                up.cmds - up.ok, pick.cmds - pick.ok, log);
    {
        size_t cmds = up.cmds + pick.cmds;
        printf("cmds_per_s=%.0f wcs_cpu_us_per_cmd=%.1f upsert_cpu_us=%.1f pick_cpu_us=%.1f "
               "redis_us_per_cmd=%.1f mosq_us_per_cmd=%.1f bare_mqtt_us=%.1f bare_mosq_us=%.1f "
               "bare_redis_us=%.1f\n",
               cmds * 1e6 / (double)(up.wall_us + pick.wall_us),
               (double)(up.wcs_us + pick.wcs_us) / (double)cmds,
               (double)up.wcs_us / (double)up.cmds,
               (double)pick.wcs_us / (double)(pick.cmds ? pick.cmds : 1),
               (double)(up.redis_us + pick.redis_us) / (double)cmds,
               (double)(up.mosq_us + pick.mosq_us) / (double)cmds, bare_m, bare_mm, bare_r);
    }
    rc = up.ok == up.cmds && pick.ok == pick.cmds ? 0 : 1;
out:
    echo_end(&echo);
    echo_end(&mecho);
    if (wcs > 0) {
        kill(wcs, SIGTERM);
        waitpid(wcs, NULL, 0);
    }
    cli_close(erp);
    cli_close(pk);
    cli_close(sup);
    cli_close(st);
    redisFree(mt.rc);
    harness_mqtt_free(mqtt);
    harness_redis_free(redis);
    if (rc == 0) {
        unlink(cfg);
        unlink(log);
        rmdir(dir);
    }
    return rc;
}
