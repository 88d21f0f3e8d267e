/* bench/bus: events per second published through wcs's MQTT bus beside bare publishers of the
 * same payloads at QoS 0: paho MQTTAsync (the baseline of the earlier figures) and libmosquitto
 * driven from its own poll loop with no thread, as the bus's link drives it. Each is measured
 * end to end (publisher -> mosquitto -> a counting subscriber) against a mosquitto the harness
 * starts on loopback.
 * usage: bench-bus [EVENTS_PER_ROUND [ROUNDS]]   (defaults 50000 and 3; medians reported)
 * Last line: events_per_s=R baseline_per_s=B ratio=X mosq_baseline_per_s=M mosq_ratio=Y
 * (baseline: paho). The publish_call_us line shows how long a bus_publish_event call held the
 * loop (it never waits on the broker). */
#include "base/clock.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "harness/harness.h"

#include <MQTTAsync.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SITE  "bench"
#define TOPIC "wcs/v1/" SITE "/evt/scan"
#define BATCH 256

static _Atomic uint64_t received;

static int on_msg(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    (void)ctx;
    (void)tlen;
    atomic_fetch_add(&received, 1);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static _Atomic int done;
static void ok5(void *ctx, MQTTAsync_successData5 *d)
{
    (void)ctx;
    (void)d;
    atomic_store(&done, 1);
}
static void fail5(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)ctx;
    (void)d;
    atomic_store(&done, -1);
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int wait_done(void)
{
    for (int i = 0; i < 5000 && atomic_load(&done) == 0; i++)
        sleep_us(1000);
    int v = atomic_exchange(&done, 0);
    return v == 1 ? 0 : -1;
}

/* A paho client as `user`; subscribe to filter when given. */
static MQTTAsync paho_client(const char *uri, const char *id, const char *user, const char *pw,
                             const char *filter)
{
    MQTTAsync h;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer5;
    co.maxBufferedMessages = 4096;
    if (MQTTAsync_createWithOptions(&h, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) != 0)
        return NULL;
    MQTTAsync_setCallbacks(h, NULL, NULL, on_msg, NULL);
    o.username = user;
    o.password = pw;
    o.onSuccess5 = ok5;
    o.onFailure5 = fail5;
    o.maxInflight = 65535;
    if (MQTTAsync_connect(h, &o) != 0 || wait_done() != 0)
        return NULL;
    if (filter) {
        MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
        r.onSuccess5 = ok5;
        r.onFailure5 = fail5;
        if (MQTTAsync_subscribe(h, filter, 0, &r) != 0 || wait_done() != 0)
            return NULL;
    }
    return h;
}

/* Waits until the subscriber has `target` messages or stops making progress for 2 s; returns
 * the real time at which the last counted message arrived (within a poll interval). */
static uint64_t wait_received(struct loop *l, uint64_t target)
{
    uint64_t last = atomic_load(&received), last_change = clock_real_mono_us();
    while (atomic_load(&received) < target) {
        if (l)
            loop_run_once(l, 1);
        else
            sleep_us(200);
        uint64_t now = atomic_load(&received);
        if (now != last) {
            last = now;
            last_change = clock_real_mono_us();
        } else if (clock_real_mono_us() - last_change > 2000000) {
            return last_change; /* some were lost (QoS 0): time up to the last arrival */
        }
    }
    return clock_real_mono_us();
}

static json_t *event_body(uint64_t k)
{
    return json_pack("{s:s,s:i,s:I,s:s}", "code", "]C10109506000134352", "lane", (int)(k % 12),
                     "track", (json_int_t)k, "result", "good");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The bare publisher's run: every payload through MQTTAsync_sendMessage at QoS 0, retrying
 * while paho's buffer is full; bare_us gets each accepted call's duration. */
struct bare_job {
    MQTTAsync h;
    char **payloads;
    uint64_t n;
    uint64_t *us;
    atomic_bool done;
};

static void *bare_main(void *arg)
{
    struct bare_job *j = arg;
    for (uint64_t k = 0; k < j->n; k++) {
        MQTTAsync_message msg = MQTTAsync_message_initializer;
        msg.payload = j->payloads[k];
        msg.payloadlen = (int)strlen(j->payloads[k]);
        uint64_t c0 = clock_real_mono_us();
        while (MQTTAsync_sendMessage(j->h, TOPIC, &msg, NULL) == MQTTASYNC_MAX_BUFFERED_MESSAGES) {
            sleep_us(50);
            c0 = clock_real_mono_us();
        }
        j->us[k] = clock_real_mono_us() - c0;
    }
    atomic_store(&j->done, true);
    return NULL;
}

/* The bare libmosquitto publisher: every payload through mosquitto_publish at QoS 0 from this
 * thread, writing out (poll for POLLOUT, mosquitto_loop_write) whenever the socket is full
 * rather than letting libmosquitto queue without bound. */
static bool mosq_up;

static void mosq_connected(struct mosquitto *m, void *arg, int rc)
{
    (void)m;
    (void)arg;
    mosq_up = rc == 0;
}

static struct mosquitto *mosq_client(int port, const char *pw)
{
    struct mosquitto *m;
    mosquitto_lib_init();
    m = mosquitto_new("bench-bare-mosq", true, NULL);
    if (!m || mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5) ||
        mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1) || mosquitto_username_pw_set(m, "wcs", pw))
        return NULL;
    mosquitto_connect_callback_set(m, mosq_connected);
    if (mosquitto_connect(m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS)
        return NULL;
    for (int i = 0; i < 500 && !mosq_up; i++)
        mosquitto_loop(m, 10, 1);
    return mosq_up ? m : NULL;
}

static void mosq_publish_all(struct mosquitto *m, char **payloads, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++) {
        while (mosquitto_want_write(m)) {
            struct pollfd p = {mosquitto_socket(m), POLLOUT, 0};
            if (poll(&p, 1, 1000) > 0)
                mosquitto_loop_write(m, 1);
        }
        mosquitto_publish(m, NULL, TOPIC, (int)strlen(payloads[k]), payloads[k], 0, false);
    }
    while (mosquitto_want_write(m)) {
        struct pollfd p = {mosquitto_socket(m), POLLOUT, 0};
        if (poll(&p, 1, 1000) > 0)
            mosquitto_loop_write(m, 1);
    }
}

/* One round through the bus: publishes n events in batches from loop callbacks. */
struct bus_round {
    struct bus *b;
    uint64_t n, sent;
    uint64_t *call_us;
};

static void publish_batch(struct loop *l, uint64_t id, void *arg)
{
    struct bus_round *r = arg;
    (void)id;
    for (int i = 0; i < BATCH && r->sent < r->n; i++, r->sent++) {
        json_t *e = event_body(r->sent);
        uint64_t t0 = clock_real_mono_us();
        bus_publish_event(r->b, "scan", e);
        r->call_us[r->sent] = clock_real_mono_us() - t0;
        json_decref(e);
    }
    if (r->sent < r->n)
        loop_add_timer(l, 0, publish_batch, r, NULL);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 50000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    struct harness_user users[] = {{"wcs", "", HARNESS_ROLE_SERVICE},
                                   {"sup", "", HARNESS_ROLE_SUPERVISOR}};
    struct harness_mqtt_opts ho = {.users = users, .n_users = 2, .site = SITE};
    struct harness_mqtt *m;
    char err[HARNESS_ERR_MAX], uri[64];
    struct loop *l;
    struct bus *b;
    struct bus_stats st;
    double bus_rate[16], bare_rate[16], mosq_rate[16];
    uint64_t *call_us, *bare_us;

    if (n == 0 || rounds < 1 || rounds > 16) {
        fprintf(stderr, "usage: bench-bus [EVENTS_PER_ROUND [ROUNDS<=16]]\n");
        return 2;
    }
    if (harness_mqtt_start(&m, &ho, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench-bus: mosquitto: %s\n", err);
        return 1;
    }
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(m));
    MQTTAsync sub = paho_client(uri, "bench-sub", "sup", harness_mqtt_password(m, "sup"), TOPIC);
    MQTTAsync bare = paho_client(uri, "bench-bare", "wcs", harness_mqtt_password(m, "wcs"), NULL);
    struct mosquitto *mbare = mosq_client(harness_mqtt_port(m), harness_mqtt_password(m, "wcs"));
    if (!sub || !bare || !mbare || loop_new(&l, clock_system()) < 0) {
        fprintf(stderr, "bench-bus: cannot connect the subscriber or the bare publisher\n");
        return 1;
    }
    struct bus_opts bo = {.uri = uri,
                          .client_id = "bench-wcs",
                          .user = "wcs",
                          .password_file = harness_mqtt_password_file(m, "wcs"),
                          .site = SITE,
                          .gen = 1,
                          .events_qos0 = true,
                          .offline_capacity = (size_t)n};
    if (bus_open(&b, l, &bo, NULL, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench-bus: bus_open: %s\n", err);
        return 1;
    }
    for (int i = 0; i < 5000 && (bus_get_stats(b, &st), !st.connected); i++)
        loop_run_once(l, 1);

    /* The bare publisher's payloads: the same JSON the bus sends, rendered beforehand. */
    char **payloads = malloc(n * sizeof(*payloads));
    int64_t ts = clock_wall_ms(clock_system());
    for (uint64_t k = 0; k < n; k++) {
        json_t *e = event_body(k);
        json_object_set_new(e, "ts", json_integer(ts));
        json_object_set_new(e, "seq", json_integer((json_int_t)k + 1));
        payloads[k] = json_dumps(e, JSON_COMPACT);
        json_decref(e);
    }
    call_us = malloc(n * sizeof(*call_us));
    bare_us = malloc(n * sizeof(*bare_us));
    uint64_t *json_us = malloc(n * sizeof(*json_us)), n_json = 0;

    printf("bench-bus: %llu events per round, %d rounds, QoS 0, mosquitto on %s\n",
           (unsigned long long)n, rounds, uri);
    for (int r = 0; r < rounds; r++) {
        /* Through the bus, from the loop. */
        uint64_t base = atomic_load(&received);
        struct bus_round br = {b, n, 0, call_us};
        uint64_t t0 = clock_real_mono_us();
        loop_add_timer(l, 0, publish_batch, &br, NULL);
        uint64_t t1 = wait_received(l, base + n);
        uint64_t got = atomic_load(&received) - base;
        bus_rate[r] = (double)got * 1e6 / (double)(t1 - t0);
        bus_get_stats(b, &st);
        printf("round %d bus:  received=%llu/%llu events_per_s=%.0f offline_dropped=%llu\n", r + 1,
               (unsigned long long)got, (unsigned long long)n, bus_rate[r],
               (unsigned long long)st.offline_dropped);

        /* The bare paho publisher in a thread; meanwhile this thread runs the control (the
         * bus's JSON work without MQTT) under the same CPU load, to tell scheduling stalls of
         * an oversubscribed machine from waits inside the MQTT client. */
        struct bare_job job = {bare, payloads, n, bare_us, false};
        pthread_t th;
        base = atomic_load(&received);
        t0 = clock_real_mono_us();
        pthread_create(&th, NULL, bare_main, &job);
        for (n_json = 0; !atomic_load(&job.done); n_json++) {
            uint64_t c0 = clock_real_mono_us();
            json_t *e = event_body(n_json);
            json_object_set_new(e, "ts", json_integer(ts));
            json_object_set_new(e, "seq", json_integer((json_int_t)n_json));
            free(json_dumps(e, JSON_COMPACT));
            json_decref(e);
            json_us[n_json % n] = clock_real_mono_us() - c0;
        }
        pthread_join(th, NULL);
        t1 = wait_received(NULL, base + n);
        got = atomic_load(&received) - base;
        bare_rate[r] = (double)got * 1e6 / (double)(t1 - t0);
        printf("round %d bare: received=%llu/%llu events_per_s=%.0f\n", r + 1,
               (unsigned long long)got, (unsigned long long)n, bare_rate[r]);

        /* The bare libmosquitto publisher, from this thread. */
        base = atomic_load(&received);
        t0 = clock_real_mono_us();
        mosq_publish_all(mbare, payloads, n);
        t1 = wait_received(NULL, base + n);
        got = atomic_load(&received) - base;
        mosq_rate[r] = (double)got * 1e6 / (double)(t1 - t0);
        printf("round %d mosq: received=%llu/%llu events_per_s=%.0f\n", r + 1,
               (unsigned long long)got, (unsigned long long)n, mosq_rate[r]);
    }
    uint64_t nj = n_json < n ? n_json : n;
    if (nj > 0) {
        qsort(json_us, nj, sizeof(*json_us), cmp_u64);
        printf("control_us (JSON work only, beside the bare publisher, last round) p50=%llu "
               "p99=%llu p999=%llu max=%llu samples=%llu\n",
               (unsigned long long)json_us[nj / 2], (unsigned long long)json_us[nj * 99 / 100],
               (unsigned long long)json_us[nj * 999 / 1000], (unsigned long long)json_us[nj - 1],
               (unsigned long long)n_json);
    }
    free(json_us);
    qsort(call_us, n, sizeof(*call_us), cmp_u64);
    qsort(bare_us, n, sizeof(*bare_us), cmp_u64);
    uint64_t over = 0;
    for (uint64_t k = 0; k < n; k++)
        over += call_us[k] >= 1000;
    printf("publish_call_us (bus_publish_event, last round) p50=%llu p99=%llu p999=%llu max=%llu "
           "calls_over_1ms=%llu\n",
           (unsigned long long)call_us[n / 2], (unsigned long long)call_us[n * 99 / 100],
           (unsigned long long)call_us[n * 999 / 1000], (unsigned long long)call_us[n - 1],
           (unsigned long long)over);
    printf("send_call_us (bare MQTTAsync_sendMessage, last round) p50=%llu p99=%llu p999=%llu "
           "max=%llu\n",
           (unsigned long long)bare_us[n / 2], (unsigned long long)bare_us[n * 99 / 100],
           (unsigned long long)bare_us[n * 999 / 1000], (unsigned long long)bare_us[n - 1]);
    qsort(bus_rate, (size_t)rounds, sizeof(double), cmp_d);
    qsort(bare_rate, (size_t)rounds, sizeof(double), cmp_d);
    qsort(mosq_rate, (size_t)rounds, sizeof(double), cmp_d);
    double rb = bus_rate[rounds / 2], rp = bare_rate[rounds / 2], rm = mosq_rate[rounds / 2];
    printf("events_per_s=%.0f baseline_per_s=%.0f ratio=%.2f mosq_baseline_per_s=%.0f "
           "mosq_ratio=%.2f\n",
           rb, rp, rp > 0 ? rb / rp : 0.0, rm, rm > 0 ? rb / rm : 0.0);

    bus_close(b);
    loop_free(l);
    MQTTAsync_destroy(&bare);
    mosquitto_destroy(mbare);
    MQTTAsync_destroy(&sub);
    for (uint64_t k = 0; k < n; k++)
        free(payloads[k]);
    free(payloads);
    free(call_us);
    free(bare_us);
    harness_mqtt_free(m);
    return 0;
}
