/* The simulator's MQTT client (mqttc.h) over paho MQTTAsync: the only file of sim/ that
 * includes a paho header. */
#include "mqttc.h"

#include "base/err.h"
#include "base/sock.h"

#include <MQTTAsync.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAX_FILTERS = 16 };

struct mqttc {
    MQTTAsync h;
    uint16_t port; /* the broker's */
    pthread_mutex_t mu;
    struct mqttc_msg *head, *tail;
    char *filters[MAX_FILTERS];
    size_t n_filters;
    volatile int done;    /* 1 success, -1 failure of the pending blocking call */
    atomic_uint connects; /* successful connects, first and automatic reconnects */
    atomic_size_t queued; /* messages in the queue: mqttc_pop of an empty one takes no lock */
};

static void on_ok(void *ctx, MQTTAsync_successData *d)
{
    (void)d;
    ((struct mqttc *)ctx)->done = 1;
}

static void on_fail(void *ctx, MQTTAsync_failureData *d)
{
    (void)d;
    ((struct mqttc *)ctx)->done = -1;
}

static int wait_done(struct mqttc *c, int ms)
{
    for (int i = 0; i < ms && !c->done; i++)
        usleep(1000);
    return c->done == 1 ? 0 : c->done == -1 ? WCS_E_LINK : -ETIMEDOUT;
}

static int on_msg(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    struct mqttc *c = ctx;
    struct mqttc_msg *x = calloc(1, sizeof(*x));
    if (x) {
        x->topic = tlen > 0 ? strndup(topic, (size_t)tlen) : strdup(topic);
        x->payload = malloc((size_t)m->payloadlen + 1);
        if (!x->topic || !x->payload) {
            mqttc_msg_free(x);
            x = NULL;
        } else {
            memcpy(x->payload, m->payload, (size_t)m->payloadlen);
            x->payload[m->payloadlen] = '\0';
            x->len = (size_t)m->payloadlen;
            x->retained = m->retained;
        }
    }
    if (x) {
        pthread_mutex_lock(&c->mu);
        if (c->tail)
            c->tail->next = x;
        else
            c->head = x;
        c->tail = x;
        atomic_fetch_add(&c->queued, 1);
        pthread_mutex_unlock(&c->mu);
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

/* After an automatic reconnect (clean session) the subscriptions are gone: make them again. */
static void on_connected(void *ctx, char *cause)
{
    struct mqttc *c = ctx;
    (void)cause;
    /* As an RF device would: no Nagle delay on small messages (base/sock.h). */
    (void)sock_nodelay_peers(c->port);
    atomic_fetch_add(&c->connects, 1);
    for (size_t i = 0; i < c->n_filters; i++)
        MQTTAsync_subscribe(c->h, c->filters[i], 1, NULL);
}

int mqttc_connect_start(struct mqttc **out, const char *uri, const char *client_id,
                        const char *user, const char *password, char *err, size_t err_len)
{
    struct mqttc *c = calloc(1, sizeof(*c));
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    if (!c)
        return -ENOMEM;
    atomic_init(&c->queued, 0);
    pthread_mutex_init(&c->mu, NULL);
    c->port = sock_uri_port(uri);
    if (MQTTAsync_create(&c->h, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
        MQTTASYNC_SUCCESS) {
        wcs_errf(err, err_len, "mqtt client %s: create failed", client_id);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return WCS_E_LINK;
    }
    MQTTAsync_setCallbacks(c->h, c, NULL, on_msg, NULL);
    MQTTAsync_setConnected(c->h, c, on_connected);
    o.keepAliveInterval = 10;
    o.cleansession = 1;
    o.username = user;
    o.password = password;
    o.automaticReconnect = 1;
    o.minRetryInterval = 1;
    o.maxRetryInterval = 2;
    o.onSuccess = on_ok;
    o.onFailure = on_fail;
    o.context = c;
    c->done = 0;
    if (MQTTAsync_connect(c->h, &o) != MQTTASYNC_SUCCESS) {
        wcs_errf(err, err_len, "mqtt client %s: connect to %s as %s failed", client_id, uri, user);
        MQTTAsync_destroy(&c->h);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return WCS_E_LINK;
    }
    *out = c;
    return 0;
}

int mqttc_connect_wait(struct mqttc *c, int timeout_ms)
{
    return wait_done(c, timeout_ms);
}

int mqttc_open(struct mqttc **out, const char *uri, const char *client_id, const char *user,
               const char *password, char *err, size_t err_len)
{
    struct mqttc *c;
    int rc = mqttc_connect_start(&c, uri, client_id, user, password, err, err_len);
    if (rc != 0)
        return rc;
    if ((rc = mqttc_connect_wait(c, 10000)) != 0) {
        wcs_errf(err, err_len, "mqtt client %s: connect to %s as %s failed", client_id, uri, user);
        mqttc_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

int mqttc_subscribe_many(struct mqttc *c, const char *const *filters, size_t n)
{
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    int qos[MAX_FILTERS];
    if (n == 0 || c->n_filters + n > MAX_FILTERS)
        return WCS_E_FULL;
    for (size_t i = 0; i < n; i++) {
        if (!(c->filters[c->n_filters] = strdup(filters[i])))
            return -ENOMEM;
        c->n_filters++;
        qos[i] = 1;
    }
    r.onSuccess = on_ok;
    r.onFailure = on_fail;
    r.context = c;
    c->done = 0;
    if (MQTTAsync_subscribeMany(c->h, (int)n, (char *const *)filters, qos, &r) != MQTTASYNC_SUCCESS)
        return WCS_E_LINK;
    return wait_done(c, 5000);
}

int mqttc_subscribe(struct mqttc *c, const char *filter)
{
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    if (c->n_filters == MAX_FILTERS)
        return WCS_E_FULL;
    if (!(c->filters[c->n_filters] = strdup(filter)))
        return -ENOMEM;
    c->n_filters++;
    r.onSuccess = on_ok;
    r.onFailure = on_fail;
    r.context = c;
    c->done = 0;
    if (MQTTAsync_subscribe(c->h, filter, 1, &r) != MQTTASYNC_SUCCESS)
        return WCS_E_LINK;
    return wait_done(c, 5000);
}

int mqttc_publish(struct mqttc *c, const char *topic, const char *payload)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = (void *)payload;
    m.payloadlen = (int)strlen(payload);
    m.qos = 1;
    return MQTTAsync_sendMessage(c->h, topic, &m, NULL) == MQTTASYNC_SUCCESS ? 0 : WCS_E_LINK;
}

unsigned mqttc_connects(struct mqttc *c)
{
    return atomic_load(&c->connects);
}

bool mqttc_is_connected(struct mqttc *c)
{
    return MQTTAsync_isConnected(c->h);
}

struct mqttc_msg *mqttc_pop(struct mqttc *c)
{
    struct mqttc_msg *m;
    /* the runner polls every client each tick, nearly all of them with nothing queued */
    if (atomic_load(&c->queued) == 0)
        return NULL;
    pthread_mutex_lock(&c->mu);
    m = c->head;
    if (m) {
        atomic_fetch_sub(&c->queued, 1);
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        m->next = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    return m;
}

void mqttc_msg_free(struct mqttc_msg *m)
{
    if (!m)
        return;
    free(m->topic);
    free(m->payload);
    free(m);
}

void mqttc_close(struct mqttc *c)
{
    if (!c)
        return;
    if (MQTTAsync_isConnected(c->h)) {
        MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
        d.timeout = 1000;
        MQTTAsync_disconnect(c->h, &d);
        usleep(20000);
    }
    MQTTAsync_destroy(&c->h);
    while (c->head) {
        struct mqttc_msg *n = c->head->next;
        mqttc_msg_free(c->head);
        c->head = n;
    }
    for (size_t i = 0; i < c->n_filters; i++)
        free(c->filters[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
