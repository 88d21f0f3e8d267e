/* The MQTT link: the one file of wcs that includes paho's MQTTAsync.h (see mqlink.h).
 * paho calls back on its own threads; those callbacks only copy into bounded queues (base/queue.h
 * with eventfds) and return. Publishing goes through a sender thread of ours: MQTTAsync_sendMessage
 * takes paho's internal mutex, which paho's threads hold while they work, and bench-bus measured
 * calls on the loop waiting up to 21 ms for it; now the loop only pushes to a bounded queue.
 * Automatic reconnect is off: the bus reconnects from the loop so it can re-read the password
 * file and republish its retained state in order. */
#include "mqlink.h"

#include "base/err.h"
#include "base/queue.h"
#include "base/sock.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define EV_QUEUE_CAPACITY 64 /* a few events per connect attempt, and the loop starts each one */

#define SEND_ATTEMPTS 4 /* a tracked message paho fails this often is given up and counted */

/* The send window when the broker names no receive maximum (MQTT 3.1.1, or MQTT 5 without the
 * property): paho's own maxInflight (mqlink_open sets 65535), less one (see sender_main). */
#define SEND_WINDOW_DEFAULT 65534
/* How long the sender waits for an acknowledgement when the window is full before it hands the
 * message over anyway (a lost callback must not stop the link). */
#define SEND_WINDOW_WAIT_MS 200

/* A message on its way to paho: one allocation holding the topic, payload and correlation.
 * Events and replies (QoS 1, not retained) are "tracked": after paho took them they stay on the
 * link's in-flight list until the PUBACK (freed) or paho's failure report (queued for a resend
 * on the next connection: paho drops QoS 1 messages that are in flight when a connection is
 * lost, paho.mqtt.c issue 1210). Retained messages are not resent: the bus republishes all
 * retained state on every reconnect, and an old value resent late could overwrite a newer one. */
struct out {
    struct mqlink *k;
    struct out *prev, *next; /* in-flight or retry list (under k->fmu) */
    int attempts;
    bool tracked;
    char *topic;
    void *payload;
    size_t len;
    int qos;
    bool retain;
    uint32_t expiry_s;
    void *corr;
    size_t corr_len;
};

/* The loop-to-sender queue: a lock-free single-producer (loop) single-consumer (sender) ring, so a
 * publish never waits for a lock the sender holds (a thread preempted inside a short critical
 * section otherwise stalls the loop for a scheduler slice on a busy machine). */
struct ring {
    struct out **slot;
    size_t mask;
    atomic_size_t head; /* next to pop; written by the consumer */
    atomic_size_t tail; /* next to push; written by the producer */
    int efd;            /* readable after a push */
};

static int ring_init(struct ring *r, size_t min_capacity)
{
    size_t cap = 1;
    while (cap < min_capacity)
        cap <<= 1;
    r->slot = calloc(cap, sizeof(*r->slot));
    if (!r->slot)
        return -ENOMEM;
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->efd < 0) {
        int rc = -errno;
        free(r->slot);
        return rc;
    }
    r->mask = cap - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

static void ring_fini(struct ring *r)
{
    close(r->efd);
    free(r->slot);
}

static int ring_push(struct ring *r, struct out *o)
{
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (t - atomic_load_explicit(&r->head, memory_order_acquire) > r->mask)
        return -EAGAIN;
    r->slot[t & r->mask] = o;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    uint64_t one = 1;
    (void)!write(r->efd, &one, sizeof(one)); /* EAGAIN: saturated, readable anyway */
    return 0;
}

static struct out *ring_pop(struct ring *r)
{
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (h == atomic_load_explicit(&r->tail, memory_order_acquire))
        return NULL;
    struct out *o = r->slot[h & r->mask];
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return o;
}

static void ring_drain_fd(struct ring *r)
{
    uint64_t n;
    (void)!read(r->efd, &n, sizeof(n));
}

struct mqlink {
    MQTTAsync h;
    int mqtt_version;
    uint16_t port;       /* the broker's (its sockets get TCP_NODELAY) */
    struct bqueue *evq;  /* struct mqlink_ev */
    struct bqueue *msgq; /* struct mqlink_msg * */
    struct ring outq;    /* loop -> sender thread */
    pthread_t sender;
    bool sender_started;
    atomic_bool stop;
    atomic_size_t outstanding; /* pushed to outq and not yet taken by paho or dropped */
    /* mqlink_close waits for the disconnect to finish. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool disconnected;
    /* Tracked messages: paho's threads move them from inflight to retry (or free them); the
     * sender thread takes from retry first. Both lists are circular with a sentinel. */
    pthread_mutex_t fmu;
    struct out inflight, retry;
    atomic_size_t n_retry;
    /* QoS 1 messages handed to paho and not yet acknowledged or failed, and how many may be:
     * the broker's receive maximum less one (set at each connect). paho 1.3.12's send thread,
     * once it holds the broker's receive maximum in flight, sleeps up to 1 s instead of waking on
     * the next PUBACK (fixed upstream by eclipse-paho/paho.mqtt.c#1457, paho 1.3.14), so the
     * sender never lets it reach that limit: mosquitto's default is 20, and replies stalled for
     * ~1 s every 20 under a burst of commands. */
    atomic_int acks_pending;
    atomic_int send_window;
    /* mqlink_counts */
    atomic_uint_least64_t send_failed, resent, retained_failed;
};

static void list_init(struct out *head)
{
    head->prev = head->next = head;
}

static void list_add_tail(struct out *head, struct out *o)
{
    o->prev = head->prev;
    o->next = head;
    head->prev->next = o;
    head->prev = o;
}

static void list_del(struct out *o)
{
    o->prev->next = o->next;
    o->next->prev = o->prev;
    o->prev = o->next = o;
}

/* Frees every message left on a list (at close, when paho can no longer call back). */
static void list_free(struct out *head)
{
    while (head->next != head) {
        struct out *o = head->next;
        list_del(o);
        free(o);
    }
}

static void push_ev(struct mqlink *k, enum mqlink_ev_kind kind, int rc)
{
    struct mqlink_ev ev = {kind, rc};
    /* The queue holds far more than the events one connect attempt can raise; a refusal is
     * counted by the queue (bq_dropped) and shows up as a stalled link in the bus stats. */
    (void)bq_push(k->evq, &ev);
}

/* ---- paho callbacks (paho's threads) ---- */

static void on_lost(void *ctx, char *cause)
{
    (void)cause;
    push_ev(ctx, MQLINK_EV_LOST, WCS_E_LINK);
}

static void on_disconnected5(void *ctx, MQTTProperties *props, enum MQTTReasonCodes rc)
{
    (void)props;
    (void)rc;
    push_ev(ctx, MQLINK_EV_LOST, WCS_E_LINK);
}

static char *dup_bytes(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct mqlink *k = ctx;
    struct mqlink_msg *c = calloc(1, sizeof(*c));
    size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);

    if (c) {
        c->topic = dup_bytes(topic, tl);
        c->topic_len = tl;
        c->payload = dup_bytes(m->payload, m->payloadlen > 0 ? (size_t)m->payloadlen : 0);
        c->len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
        c->qos = m->qos;
        c->retained = m->retained != 0;
        if (k->mqtt_version == 5) {
            MQTTProperty *p =
                MQTTProperties_getProperty(&m->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
            if (p && p->value.data.len > 0) {
                c->response_topic = dup_bytes(p->value.data.data, (size_t)p->value.data.len);
                c->response_topic_len = (size_t)p->value.data.len;
            }
            p = MQTTProperties_getProperty(&m->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
            if (p && p->value.data.len > 0) {
                c->correlation = dup_bytes(p->value.data.data, (size_t)p->value.data.len);
                c->correlation_len = (size_t)p->value.data.len;
            }
        }
        if (!c->topic || !c->payload || bq_push(k->msgq, &c) != 0) {
            /* The loop is behind (the queue is full, counted by it) or memory is short: paho
             * keeps the message and delivers it again later, so a command is late, not lost. */
            mqlink_msg_free(c);
            return 0;
        }
    } else {
        return 0;
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static int denied_v5(enum MQTTReasonCodes rc)
{
    return rc == MQTTREASONCODE_BAD_USER_NAME_OR_PASSWORD || rc == MQTTREASONCODE_NOT_AUTHORIZED ||
           rc == MQTTREASONCODE_BANNED;
}

/* A new connection: nothing of it is in flight yet (paho failed what the old one had), and the
 * broker's receive maximum (MQTT 5 CONNACK; 0 absent) sets the send window. */
static void window_reset(struct mqlink *k, int receive_max)
{
    atomic_store(&k->send_window, receive_max > 1    ? receive_max - 1
                                  : receive_max == 1 ? 1
                                                     : SEND_WINDOW_DEFAULT);
    atomic_store(&k->acks_pending, 0);
}

/* paho has no TCP_NODELAY option: set it on the new connection's socket (base/sock.h), so a
 * reply or event is not held back by Nagle's algorithm until the broker's delayed ACK. */
static void nodelay(struct mqlink *k)
{
    (void)sock_nodelay_peers(k->port);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *d)
{
    (void)d;
    nodelay(ctx);
    window_reset(ctx, 0);
    push_ev(ctx, MQLINK_EV_CONNECTED, 0);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *d)
{
    /* MQTT 3.1.1 CONNACK 4 (bad user name or password) and 5 (not authorised). */
    int denied = d && (d->code == 4 || d->code == 5);
    push_ev(ctx, MQLINK_EV_CONNECT_FAILED, denied ? WCS_E_DENIED : WCS_E_LINK);
}

static void on_connect_ok5(void *ctx, MQTTAsync_successData5 *d)
{
    int rm =
        d ? MQTTProperties_getNumericValue(&d->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM) : 0;
    nodelay(ctx);
    window_reset(ctx, rm > 0 ? rm : 0); /* absent: paho returns a negative sentinel */
    push_ev(ctx, MQLINK_EV_CONNECTED, 0);
}

static void on_connect_fail5(void *ctx, MQTTAsync_failureData5 *d)
{
    push_ev(ctx, MQLINK_EV_CONNECT_FAILED,
            d && denied_v5(d->reasonCode) ? WCS_E_DENIED : WCS_E_LINK);
}

static void on_sub_ok(void *ctx, MQTTAsync_successData *d)
{
    push_ev(ctx, d && d->alt.qos >= 0x80 ? MQLINK_EV_SUBSCRIBE_FAILED : MQLINK_EV_SUBSCRIBED, 0);
}

static void on_sub_fail(void *ctx, MQTTAsync_failureData *d)
{
    (void)d;
    push_ev(ctx, MQLINK_EV_SUBSCRIBE_FAILED, WCS_E_DENIED);
}

static void on_sub_ok5(void *ctx, MQTTAsync_successData5 *d)
{
    push_ev(ctx, d && d->reasonCode >= 0x80 ? MQLINK_EV_SUBSCRIBE_FAILED : MQLINK_EV_SUBSCRIBED, 0);
}

static void on_sub_fail5(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)d;
    push_ev(ctx, MQLINK_EV_SUBSCRIBE_FAILED, WCS_E_DENIED);
}

/* A QoS 1 message handed to paho was acknowledged or failed: one more may go. Wakes the sender
 * when it may be waiting for this (a spurious wake-up is harmless). */
static void ack_done(struct mqlink *k)
{
    int was = atomic_fetch_sub(&k->acks_pending, 1);
    if (was <= 0)
        atomic_fetch_add(&k->acks_pending, 1); /* a callback of a connection already reset */
    else if (was >= atomic_load(&k->send_window)) {
        uint64_t one = 1;
        (void)!write(k->outq.efd, &one, sizeof(one));
    }
}

/* paho acknowledged a tracked message: it is done. */
static void track_ok(struct out *o)
{
    struct mqlink *k = o->k;
    ack_done(k);
    pthread_mutex_lock(&k->fmu);
    list_del(o);
    pthread_mutex_unlock(&k->fmu);
    free(o);
}

/* paho gave up on a tracked message (connection lost before the PUBACK, or refused): queue it
 * for the sender to hand over again, or count it lost after SEND_ATTEMPTS. */
static void track_fail(struct out *o)
{
    struct mqlink *k = o->k;
    bool again = o->attempts < SEND_ATTEMPTS;
    ack_done(k);
    pthread_mutex_lock(&k->fmu);
    list_del(o);
    if (again) {
        list_add_tail(&k->retry, o);
        atomic_fetch_add(&k->n_retry, 1);
    }
    pthread_mutex_unlock(&k->fmu);
    atomic_fetch_add(again ? &k->resent : &k->send_failed, 1);
    if (!again)
        free(o);
}

static void on_track_ok(void *ctx, MQTTAsync_successData *d)
{
    (void)d;
    track_ok(ctx);
}

static void on_track_ok5(void *ctx, MQTTAsync_successData5 *d)
{
    /* A v5 broker may refuse in the PUBACK (reason >= 0x80, e.g. not authorized). */
    if (d && d->reasonCode >= 0x80)
        track_fail(ctx);
    else
        track_ok(ctx);
}

static void on_track_fail(void *ctx, MQTTAsync_failureData *d)
{
    (void)d;
    track_fail(ctx);
}

static void on_track_fail5(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)d;
    track_fail(ctx);
}

static void on_send_ok(void *ctx, MQTTAsync_successData *d)
{
    (void)d;
    ack_done(ctx);
}

static void on_send_ok5(void *ctx, MQTTAsync_successData5 *d)
{
    (void)d;
    ack_done(ctx);
}

static void retained_fail(struct mqlink *k)
{
    ack_done(k);
    atomic_fetch_add(&k->retained_failed, 1);
}

static void on_send_fail(void *ctx, MQTTAsync_failureData *d)
{
    (void)d;
    retained_fail(ctx);
}

static void on_send_fail5(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)d;
    retained_fail(ctx);
}

static void on_disc_done(void *ctx)
{
    struct mqlink *k = ctx;
    pthread_mutex_lock(&k->mu);
    k->disconnected = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

static void on_disc_ok(void *ctx, MQTTAsync_successData *d)
{
    (void)d;
    on_disc_done(ctx);
}

static void on_disc_fail(void *ctx, MQTTAsync_failureData *d)
{
    (void)d;
    on_disc_done(ctx);
}

static void on_disc_ok5(void *ctx, MQTTAsync_successData5 *d)
{
    (void)d;
    on_disc_done(ctx);
}

static void on_disc_fail5(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)d;
    on_disc_done(ctx);
}

/* ---- the loop side ---- */

static int translate(int rc)
{
    switch (rc) {
    case MQTTASYNC_SUCCESS:
        return 0;
    case MQTTASYNC_MAX_BUFFERED_MESSAGES:
    case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
    case MQTTASYNC_NO_MORE_MSGIDS:
        return -EAGAIN;
    case MQTTASYNC_BAD_UTF8_STRING:
    case MQTTASYNC_NULL_PARAMETER:
    case MQTTASYNC_BAD_STRUCTURE:
    case MQTTASYNC_BAD_QOS:
    case MQTTASYNC_BAD_PROTOCOL:
    case MQTTASYNC_BAD_MQTT_OPTION:
    case MQTTASYNC_WRONG_MQTT_VERSION:
        return -EINVAL;
    default:
        return WCS_E_LINK;
    }
}

/* Hands one message to paho (sender thread). Returns translate()'s codes. */
static int send_now(struct mqlink *k, struct out *o)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    int rc;

    m.payload = o->payload;
    m.payloadlen = (int)o->len;
    m.qos = o->qos;
    m.retained = o->retain;
    if (k->mqtt_version == 5) {
        MQTTProperty p;
        if (o->expiry_s) {
            memset(&p, 0, sizeof(p));
            p.identifier = MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL;
            p.value.integer4 = o->expiry_s;
            if (MQTTProperties_add(&m.properties, &p) != 0)
                goto fail_props;
        }
        if (o->corr) {
            memset(&p, 0, sizeof(p));
            p.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
            p.value.data.data = o->corr;
            p.value.data.len = (int)o->corr_len;
            if (MQTTProperties_add(&m.properties, &p) != 0)
                goto fail_props;
        }
    }
    /* A QoS 0 message has no acknowledgement to fail. A tracked one is on the in-flight list
     * before paho can call back; a retained QoS 1 failure is only counted. */
    if (o->tracked) {
        r.context = (void *)o;
        if (k->mqtt_version == 5) {
            r.onSuccess5 = on_track_ok5;
            r.onFailure5 = on_track_fail5;
        } else {
            r.onSuccess = on_track_ok;
            r.onFailure = on_track_fail;
        }
        pthread_mutex_lock(&k->fmu);
        list_add_tail(&k->inflight, (struct out *)o);
        pthread_mutex_unlock(&k->fmu);
    } else {
        r.context = k; /* only retained messages are QoS 1 and untracked */
        if (k->mqtt_version == 5) {
            r.onSuccess5 = on_send_ok5;
            r.onFailure5 = on_send_fail5;
        } else {
            r.onSuccess = on_send_ok;
            r.onFailure = on_send_fail;
        }
    }
    /* Counted before the hand-over: paho may call back before sendMessage returns. */
    if (o->qos > 0)
        atomic_fetch_add(&k->acks_pending, 1);
    rc = MQTTAsync_sendMessage(k->h, o->topic, &m, o->qos > 0 ? &r : NULL);
    MQTTProperties_free(&m.properties); /* paho keeps its own copy */
    if (rc != MQTTASYNC_SUCCESS && o->qos > 0)
        atomic_fetch_sub(&k->acks_pending, 1);
    if (rc != MQTTASYNC_SUCCESS && o->tracked) {
        /* No callback follows a refused call: the sender still owns the message. */
        pthread_mutex_lock(&k->fmu);
        list_del((struct out *)o);
        pthread_mutex_unlock(&k->fmu);
    }
    return translate(rc);

fail_props:
    MQTTProperties_free(&m.properties);
    return -ENOMEM;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* The sender thread: takes messages in order and hands them to paho. While paho's buffer is full
 * or the connection is down it holds the message and retries, so order is kept; the loop notices
 * the queue filling (mqlink_send returns -EAGAIN) and buffers on its side. */
static void *sender_main(void *arg)
{
    struct mqlink *k = arg;
    struct out *o = NULL;
    struct pollfd pfd = {k->outq.efd, POLLIN, 0};
    bool window_waited = false; /* o already waited for the window once */

    while (!atomic_load(&k->stop)) {
        if (!o && atomic_load(&k->n_retry) > 0) {
            /* Resends go first: they were published before anything still queued. */
            pthread_mutex_lock(&k->fmu);
            if (k->retry.next != &k->retry) {
                o = k->retry.next;
                list_del(o);
                atomic_fetch_sub(&k->n_retry, 1);
                atomic_fetch_add(&k->outstanding, 1);
            }
            pthread_mutex_unlock(&k->fmu);
        }
        if (!o && !(o = ring_pop(&k->outq))) {
            /* Drain before the next pop so a push racing this one wakes us again. */
            (void)poll(&pfd, 1, 50);
            ring_drain_fd(&k->outq);
            continue;
        }
        if (o->qos > 0 && atomic_load(&k->acks_pending) >= atomic_load(&k->send_window) &&
            !window_waited) {
            /* The window is full: wait for an acknowledgement (ack_done wakes us) rather than
             * let paho reach the broker's receive maximum. Bounded, so a lost callback costs
             * one wait, not the link. */
            uint64_t t0 = mono_ms();
            while (atomic_load(&k->acks_pending) >= atomic_load(&k->send_window) &&
                   !atomic_load(&k->stop) && mono_ms() - t0 < SEND_WINDOW_WAIT_MS) {
                (void)poll(&pfd, 1, 10);
                ring_drain_fd(&k->outq);
            }
            window_waited = true;
            continue;
        }
        window_waited = false;
        o->attempts++;
        /* Read before the hand-over: once paho has a tracked message its callback thread may
         * free it at any moment. */
        bool tracked = o->tracked;
        int rc = send_now(k, o);
        if (rc == -EAGAIN || rc == WCS_E_LINK)
            o->attempts--; /* not handed over: this was no attempt */
        if (rc == -EAGAIN) {
            nap_us(200);
            continue;
        }
        if (rc == WCS_E_LINK) {
            nap_us(5000); /* the loop learns of the loss from paho's callback and reconnects */
            continue;
        }
        if (rc < 0)
            atomic_fetch_add(&k->send_failed, 1); /* refused for good (-EINVAL, -ENOMEM) */
        if (rc < 0 || !tracked)
            free(o); /* else paho's callback owns it now */
        o = NULL;
        atomic_fetch_sub(&k->outstanding, 1);
    }
    free(o);
    return NULL;
}

int mqlink_open(struct mqlink **out, const struct mqlink_opts *o)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    struct mqlink *k;
    int rc;

    if (!o->uri || !o->client_id || (o->mqtt_version != 4 && o->mqtt_version != 5) ||
        o->max_buffered <= 0 || o->msg_queue_capacity == 0)
        return -EINVAL;
    k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->mqtt_version = o->mqtt_version;
    rc = bq_new(&k->evq, sizeof(struct mqlink_ev), EV_QUEUE_CAPACITY, BQ_EVENTFD);
    if (rc < 0)
        goto fail_free;
    rc = bq_new(&k->msgq, sizeof(struct mqlink_msg *), o->msg_queue_capacity, BQ_EVENTFD);
    if (rc < 0)
        goto fail_evq;
    rc = ring_init(&k->outq, (size_t)o->max_buffered);
    if (rc < 0)
        goto fail_msgq;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    pthread_mutex_init(&k->fmu, NULL);
    list_init(&k->inflight);
    list_init(&k->retry);
    atomic_init(&k->n_retry, 0);
    atomic_init(&k->acks_pending, 0);
    atomic_init(&k->send_window, SEND_WINDOW_DEFAULT);
    atomic_init(&k->send_failed, 0);
    atomic_init(&k->resent, 0);
    atomic_init(&k->retained_failed, 0);

    co.MQTTVersion = o->mqtt_version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    co.maxBufferedMessages = o->max_buffered;
    co.sendWhileDisconnected = 0; /* the bus buffers itself, bounded and counted */
    co.restoreMessages = 0;
    co.persistQoS0 = 0;
    k->port = sock_uri_port(o->uri);
    rc = MQTTAsync_createWithOptions(&k->h, o->uri, o->client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                     &co);
    if (rc != MQTTASYNC_SUCCESS) {
        rc = rc == MQTTASYNC_BAD_PROTOCOL ? -EINVAL : WCS_E_LINK;
        goto fail_sync;
    }
    if (MQTTAsync_setCallbacks(k->h, k, on_lost, on_message, NULL) != MQTTASYNC_SUCCESS ||
        (o->mqtt_version == 5 &&
         MQTTAsync_setDisconnected(k->h, k, on_disconnected5) != MQTTASYNC_SUCCESS)) {
        rc = WCS_E_LINK;
        goto fail_client;
    }
    if (pthread_create(&k->sender, NULL, sender_main, k) == 0) {
        (void)pthread_setname_np(k->sender, "wcs-mqtt-out");
    } else {
        rc = -EAGAIN;
        goto fail_client;
    }
    k->sender_started = true;
    *out = k;
    return 0;

fail_client:
    MQTTAsync_destroy(&k->h);
fail_sync:
    pthread_mutex_destroy(&k->fmu);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    ring_fini(&k->outq);
fail_msgq:
    bq_free(k->msgq);
fail_evq:
    bq_free(k->evq);
fail_free:
    free(k);
    return rc;
}

void mqlink_close(struct mqlink *k, int timeout_ms, bool send_will)
{
    struct mqlink_msg *m;
    struct out *o;
    if (!k)
        return;
    /* Let the sender hand over what the loop queued (the offline status last), then stop it. */
    for (int waited_ms = 0; waited_ms < timeout_ms &&
                            (atomic_load(&k->outstanding) > 0 || atomic_load(&k->n_retry) > 0) &&
                            MQTTAsync_isConnected(k->h);
         waited_ms++)
        nap_us(1000);
    atomic_store(&k->stop, true);
    if (k->sender_started)
        pthread_join(k->sender, NULL);
    /* Whatever the sender could not hand over may include the offline status: then the broker
     * must publish the Will instead, or the retained status would keep saying online. */
    send_will = send_will || atomic_load(&k->outstanding) > 0;
    if (MQTTAsync_isConnected(k->h) && !(send_will && k->mqtt_version != 5)) {
        MQTTAsync_disconnectOptions d3 = MQTTAsync_disconnectOptions_initializer;
        MQTTAsync_disconnectOptions d5 = MQTTAsync_disconnectOptions_initializer5;
        MQTTAsync_disconnectOptions *d = k->mqtt_version == 5 ? &d5 : &d3;
        d->timeout = timeout_ms;
        /* paho calls the MQTT 5 callbacks on a v5 client and the 3.1.1 ones otherwise. */
        d->onSuccess = on_disc_ok;
        d->onFailure = on_disc_fail;
        d->onSuccess5 = on_disc_ok5;
        d->onFailure5 = on_disc_fail5;
        d->context = k;
        if (send_will)
            d->reasonCode = MQTTREASONCODE_DISCONNECT_WITH_WILL_MESSAGE;
        if (MQTTAsync_disconnect(k->h, d) == MQTTASYNC_SUCCESS) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += timeout_ms / 1000 + 1;
            pthread_mutex_lock(&k->mu);
            while (!k->disconnected)
                if (pthread_cond_timedwait(&k->cv, &k->mu, &until) != 0)
                    break;
            pthread_mutex_unlock(&k->mu);
        }
    }
    MQTTAsync_destroy(&k->h);
    while (bq_pop(k->msgq, &m) == 0)
        mqlink_msg_free(m);
    while ((o = ring_pop(&k->outq)))
        free(o);
    list_free(&k->inflight); /* paho can no longer call back after destroy */
    list_free(&k->retry);
    pthread_mutex_destroy(&k->fmu);
    ring_fini(&k->outq);
    bq_free(k->msgq);
    bq_free(k->evq);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

size_t mqlink_inflight(struct mqlink *k)
{
    size_t n = 0;
    pthread_mutex_lock(&k->fmu);
    for (const struct out *o = k->inflight.next; o != &k->inflight; o = o->next)
        n++;
    for (const struct out *o = k->retry.next; o != &k->retry; o = o->next)
        n++;
    pthread_mutex_unlock(&k->fmu);
    return n;
}

int mqlink_ev_fd(const struct mqlink *k)
{
    return bq_fd(k->evq);
}

int mqlink_msg_fd(const struct mqlink *k)
{
    return bq_fd(k->msgq);
}

void mqlink_ev_fd_drain(struct mqlink *k)
{
    bq_drain_fd(k->evq);
}

void mqlink_msg_fd_drain(struct mqlink *k)
{
    bq_drain_fd(k->msgq);
}

int mqlink_next_ev(struct mqlink *k, struct mqlink_ev *ev)
{
    return bq_pop(k->evq, ev);
}

int mqlink_next_msg(struct mqlink *k, struct mqlink_msg **msg)
{
    return bq_pop(k->msgq, msg);
}

void mqlink_msg_free(struct mqlink_msg *m)
{
    if (!m)
        return;
    free(m->topic);
    free(m->payload);
    free(m->response_topic);
    free(m->correlation);
    free(m);
}

uint64_t mqlink_msgs_dropped(struct mqlink *k)
{
    return bq_dropped(k->msgq);
}

void mqlink_counts(struct mqlink *k, struct mqlink_counts *out)
{
    out->send_failed = atomic_load(&k->send_failed);
    out->resent = atomic_load(&k->resent);
    out->retained_failed = atomic_load(&k->retained_failed);
}

int mqlink_connect(struct mqlink *k, const struct mqlink_connect *c)
{
    MQTTAsync_connectOptions o3 = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_connectOptions *o = k->mqtt_version == 5 ? &o5 : &o3;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTProperties props = MQTTProperties_initializer;
    int rc;

    o->keepAliveInterval = c->keepalive_s;
    if (k->mqtt_version == 5) {
        o->cleanstart = c->clean_start;
        if (!c->clean_start && c->session_expiry_s) {
            /* MQTT 5 ends a session at the disconnect unless CONNECT asks it to be kept
             * (3.1.2.11.2): without this, clean start off would queue nothing while the client is
             * away. */
            MQTTProperty p;
            memset(&p, 0, sizeof(p));
            p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
            p.value.integer4 = c->session_expiry_s;
            if (MQTTProperties_add(&props, &p) != 0)
                return -ENOMEM;
            o->connectProperties = &props;
        }
        o->onSuccess5 = on_connect_ok5;
        o->onFailure5 = on_connect_fail5;
    } else {
        o->cleansession = c->clean_start;
        o->onSuccess = on_connect_ok;
        o->onFailure = on_connect_fail;
    }
    o->context = k;
    o->username = c->user;
    o->password = c->password;
    o->automaticReconnect = 0;
    o->connectTimeout = 10;
    o->maxInflight = 65535;
    if (c->will_topic) {
        will.topicName = c->will_topic;
        will.message = NULL;
        will.payload.data = c->will_payload;
        will.payload.len = (int)c->will_len;
        will.retained = 1;
        will.qos = 1;
        o->will = &will;
    }
    rc = translate(MQTTAsync_connect(k->h, o));
    MQTTProperties_free(&props); /* paho copied what it sends */
    return rc;
}

int mqlink_subscribe(struct mqlink *k, const char *filter, int qos)
{
    MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
    r.context = k;
    if (k->mqtt_version == 5) {
        r.onSuccess5 = on_sub_ok5;
        r.onFailure5 = on_sub_fail5;
    } else {
        r.onSuccess = on_sub_ok;
        r.onFailure = on_sub_fail;
    }
    return translate(MQTTAsync_subscribe(k->h, filter, qos, &r));
}

int mqlink_send(struct mqlink *k, const char *topic, const void *payload, size_t len, int qos,
                bool retain, const struct mqlink_props *props)
{
    size_t tl = strlen(topic), cl = props && props->correlation ? props->correlation_len : 0;
    struct out *o;
    char *p;

    if (len > INT32_MAX || cl > INT32_MAX || qos < 0 || qos > 1)
        return -EINVAL;
    o = malloc(sizeof(*o) + tl + 1 + len + cl);
    if (!o)
        return -ENOMEM;
    p = (char *)(o + 1);
    o->topic = p;
    memcpy(p, topic, tl + 1);
    p += tl + 1;
    o->payload = p;
    if (len)
        memcpy(p, payload, len);
    p += len;
    o->len = len;
    o->qos = qos;
    o->retain = retain;
    o->expiry_s = props ? props->expiry_s : 0;
    o->corr = cl ? p : NULL;
    if (cl)
        memcpy(p, props->correlation, cl);
    o->corr_len = cl;
    o->k = k;
    o->prev = o->next = o;
    o->attempts = 0;
    o->tracked = qos > 0 && !retain;
    atomic_fetch_add(&k->outstanding, 1);
    if (ring_push(&k->outq, o) != 0) {
        atomic_fetch_sub(&k->outstanding, 1);
        free(o);
        return -EAGAIN;
    }
    return 0;
}
