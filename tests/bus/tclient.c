/* The test MQTT client (see tclient.h). paho calls back on its threads; a mutex guards the
 * message list and a condition variable signals completions. */
#include "tclient.h"

#include "base/clock.h"

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tclient {
    MQTTAsync h;
    int version;
    bool count_only;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;           /* 1 ok, -1 failed, 0 pending */
    struct tmsg **msgs; /* pointers: entries stay put while the array grows */
    size_t n, cap;
};

static void finish(struct tclient *c, int v)
{
    pthread_mutex_lock(&c->mu);
    c->done = v;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void ok5(void *ctx, MQTTAsync_successData5 *d)
{
    finish(ctx, d && d->reasonCode >= 0x80 ? -1 : 1);
}
static void fail5(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)d;
    finish(ctx, -1);
}
static void ok3(void *ctx, MQTTAsync_successData *d)
{
    (void)d;
    finish(ctx, 1);
}
static void fail3(void *ctx, MQTTAsync_failureData *d)
{
    (void)d;
    finish(ctx, -1);
}

static int wait_done_ms(struct tclient *c, int ms)
{
    struct timespec until;
    int v;
    clock_gettime(CLOCK_REALTIME, &until);
    clock_timespec_add_ms(&until, ms);
    pthread_mutex_lock(&c->mu);
    while (c->done == 0)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0)
            break;
    v = c->done;
    c->done = 0;
    pthread_mutex_unlock(&c->mu);
    return v == 1 ? 0 : -1;
}

static int wait_done(struct tclient *c)
{
    return wait_done_ms(c, 5000);
}

static char *dupn(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static int on_msg(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    struct tclient *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (!c->count_only) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->msgs = realloc(c->msgs, c->cap * sizeof(*c->msgs));
        }
        struct tmsg *t = calloc(1, sizeof(*t));
        c->msgs[c->n] = t;
        t->topic = dupn(topic, tlen > 0 ? (size_t)tlen : strlen(topic));
        t->payload = dupn(m->payload, (size_t)m->payloadlen);
        t->len = (size_t)m->payloadlen;
        t->retained = m->retained;
        t->corr = NULL;
        if (c->version == 5) {
            MQTTProperty *p =
                MQTTProperties_getProperty(&m->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
            if (p)
                t->corr = dupn(p->value.data.data, (size_t)p->value.data.len);
        }
    }
    c->n++;
    pthread_mutex_unlock(&c->mu);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

struct tclient *tc_open(const char *uri, const char *client_id, const char *user,
                        const char *password, int mqtt_version, bool count_only)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    MQTTAsync_connectOptions o3 = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_connectOptions *o = mqtt_version == 5 ? &o5 : &o3;
    struct tclient *c = calloc(1, sizeof(*c));
    c->version = mqtt_version;
    c->count_only = count_only;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    co.MQTTVersion = mqtt_version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    co.maxBufferedMessages = 100000;
    if (MQTTAsync_createWithOptions(&c->h, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                    &co) != MQTTASYNC_SUCCESS) {
        free(c);
        return NULL;
    }
    MQTTAsync_setCallbacks(c->h, c, NULL, on_msg, NULL);
    o->username = user;
    o->password = password;
    o->context = c;
    o->maxInflight = 65535;
    if (mqtt_version == 5) {
        o->onSuccess5 = ok5;
        o->onFailure5 = fail5;
    } else {
        o->onSuccess = ok3;
        o->onFailure = fail3;
    }
    if (MQTTAsync_connect(c->h, o) != MQTTASYNC_SUCCESS || wait_done(c) != 0) {
        tc_close(c);
        return NULL;
    }
    return c;
}

void tc_close(struct tclient *c)
{
    if (!c)
        return;
    if (MQTTAsync_isConnected(c->h)) {
        MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
        d.timeout = 100;
        MQTTAsync_disconnect(c->h, &d);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MQTTAsync_destroy(&c->h);
    for (size_t i = 0; i < c->n && !c->count_only; i++) {
        free(c->msgs[i]->topic);
        free(c->msgs[i]->payload);
        free(c->msgs[i]->corr);
        free(c->msgs[i]);
    }
    free(c->msgs);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int tc_sub(struct tclient *c, const char *filter)
{
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    r.context = c;
    if (c->version == 5) {
        r.onSuccess5 = ok5;
        r.onFailure5 = fail5;
    } else {
        r.onSuccess = ok3;
        r.onFailure = fail3;
    }
    if (MQTTAsync_subscribe(c->h, filter, 1, &r) != MQTTASYNC_SUCCESS)
        return -1;
    return wait_done(c);
}

int tc_unsub(struct tclient *c, const char *filter)
{
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    r.context = c;
    if (c->version == 5) {
        r.onSuccess5 = ok5;
        r.onFailure5 = fail5;
    } else {
        r.onSuccess = ok3;
        r.onFailure = fail3;
    }
    if (MQTTAsync_unsubscribe(c->h, filter, &r) != MQTTASYNC_SUCCESS)
        return -1;
    return wait_done(c);
}

static int pub_ms(struct tclient *c, const char *topic, const void *payload, size_t len, int qos,
                  bool retained, const char *response_topic, const char *corr, int wait_ms)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    MQTTProperty p;
    int rc;
    m.payload = (void *)payload;
    m.payloadlen = (int)len;
    m.qos = qos;
    m.retained = retained;
    if (response_topic) {
        memset(&p, 0, sizeof(p));
        p.identifier = MQTTPROPERTY_CODE_RESPONSE_TOPIC;
        p.value.data.data = (char *)response_topic;
        p.value.data.len = (int)strlen(response_topic);
        MQTTProperties_add(&m.properties, &p);
    }
    if (corr) {
        memset(&p, 0, sizeof(p));
        p.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
        p.value.data.data = (char *)corr;
        p.value.data.len = (int)strlen(corr);
        MQTTProperties_add(&m.properties, &p);
    }
    r.context = c;
    if (c->version == 5) {
        r.onSuccess5 = ok5;
        r.onFailure5 = fail5;
    } else {
        r.onSuccess = ok3;
        r.onFailure = fail3;
    }
    rc = MQTTAsync_sendMessage(c->h, topic, &m, qos > 0 ? &r : NULL);
    MQTTProperties_free(&m.properties);
    if (rc != MQTTASYNC_SUCCESS)
        return -1;
    return qos > 0 ? wait_done_ms(c, wait_ms) : 0;
}

int tc_pub(struct tclient *c, const char *topic, const void *payload, size_t len, int qos,
           bool retained, const char *response_topic, const char *corr)
{
    return pub_ms(c, topic, payload, len, qos, retained, response_topic, corr, 5000);
}

size_t tc_count(struct tclient *c)
{
    size_t n;
    pthread_mutex_lock(&c->mu);
    n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

const struct tmsg *tc_msg(struct tclient *c, size_t i)
{
    const struct tmsg *t = NULL;
    pthread_mutex_lock(&c->mu);
    if (i < c->n && !c->count_only)
        t = c->msgs[i];
    pthread_mutex_unlock(&c->mu);
    return t;
}

static long find(struct tclient *c, size_t from, const char *topic, const char *needle,
                 bool retained_only)
{
    long found = -1;
    pthread_mutex_lock(&c->mu);
    for (size_t i = from; i < c->n && !c->count_only && found < 0; i++)
        if (strcmp(c->msgs[i]->topic, topic) == 0 && (!retained_only || c->msgs[i]->retained) &&
            (!needle || strstr(c->msgs[i]->payload, needle)))
            found = (long)i;
    pthread_mutex_unlock(&c->mu);
    return found;
}

long tc_find(struct tclient *c, size_t from, const char *topic, const char *needle)
{
    return find(c, from, topic, needle, false);
}

long tc_find_retained(struct tclient *c, size_t from, const char *topic, const char *needle)
{
    return find(c, from, topic, needle, true);
}

struct tc_waker {
    char *uri, *user, *password, *topic;
    int period_ms;
    struct tclient *c; /* touched by the waker thread only, once started */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

/* Waits period_ms or until stop; returns stop. */
static bool waker_nap(struct tc_waker *w, int ms)
{
    struct timespec until;
    bool stop;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->mu);
    while (!w->stop)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
            break;
    stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

static void *waker_main(void *arg)
{
    struct tc_waker *w = arg;
    while (!waker_nap(w, w->period_ms)) {
        if (!w->c || !MQTTAsync_isConnected(w->c->h)) {
            /* The broker went away (a restart test): try again at a slower pace. */
            tc_close(w->c);
            w->c = NULL;
            if (waker_nap(w, 100))
                break;
            w->c = tc_open(w->uri, "tc-waker", w->user, w->password, 5, true);
            continue;
        }
        /* The outcome does not matter (a denied topic fails under MQTT 5): the ack woke paho. */
        pub_ms(w->c, w->topic, "w", 1, 1, false, NULL, NULL, 500);
    }
    return NULL;
}

struct tc_waker *tc_waker_start(const char *uri, const char *user, const char *password,
                                const char *topic, int period_ms)
{
    struct tc_waker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->uri = strdup(uri);
    w->user = strdup(user);
    w->password = strdup(password);
    w->topic = strdup(topic);
    w->period_ms = period_ms > 0 ? period_ms : 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (w->uri && w->user && w->password && w->topic)
        w->c = tc_open(uri, "tc-waker", user, password, 5, true);
    if (!w->c || pthread_create(&w->th, NULL, waker_main, w) != 0) {
        tc_close(w->c);
        w->c = NULL;
        w->stop = true;
        tc_waker_stop(w);
        return NULL;
    }
    return w;
}

void tc_waker_stop(struct tc_waker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    bool started = !w->stop;
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (started)
        pthread_join(w->th, NULL);
    tc_close(w->c);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->uri);
    free(w->user);
    free(w->password);
    free(w->topic);
    free(w);
}
