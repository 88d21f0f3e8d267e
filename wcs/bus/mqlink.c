/* The MQTT link: the one file of wcs that includes libmosquitto (see mqlink.h). libmosquitto runs
 * inside the event loop and starts no thread: its socket is a loop fd (mosquitto_loop_read when
 * readable; mosquitto_loop_write while it has output, EPOLLOUT asked for only then), and
 * mosquitto_loop_misc (keepalive) and the connect timeout run from a 1 s real-time timerfd. Its
 * callbacks run inside those calls, on the loop thread: a received message goes to the owner
 * from there, and a publish is written to the socket inside mqlink_send when the socket takes it.
 * Each connect attempt uses a new client: across mosquitto_reconnect libmosquitto keeps the
 * QoS 1 messages the broker did not acknowledge and sends them again itself, retained ones too
 * and with no limit, so the link keeps its own copies and does the resending (struct out). */
#include "mqlink.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/sock.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define SEND_ATTEMPTS       4 /* an event or reply lost this often is given up and counted */
#define CONNECT_TIMEOUT_MS  10000
#define TICK_MS             1000 /* keepalive granularity (libmosquitto counts whole seconds) */
#define DISCONNECT_FLUSH_MS 100
#define KEEPALIVE_MIN_S     5 /* libmosquitto refuses less */
#define UNACKED_MAX         32768
/* See mid_span_ok. */
#define MID_SPAN_MAX 32768

enum link_state {
    ST_IDLE,       /* no client */
    ST_CONNECTING, /* a client waiting for its CONNACK */
    ST_UP,
    ST_DEAD, /* the client's connection ended; it is freed once libmosquitto has returned */
};

/* A QoS 1 message handed to the client and not yet acknowledged (the `unacked` list, in publish
 * order, which is the order of the broker's PUBACKs), or an event or reply waiting to be sent
 * again (the `retry` list). Events and replies are "tracked": the entry holds a copy of the
 * message (one allocation) to send it again on the next connection. Retained messages hold no
 * copy and are not sent again: the bus republishes all its retained state on every reconnect,
 * and an old value resent late could overwrite a newer one. */
struct out {
    struct out *prev, *next;
    int mid;
    int attempts; /* times handed to a client */
    bool tracked;
    char *topic;
    void *payload;
    size_t len;
    uint32_t expiry_s;
    void *corr;
    size_t corr_len;
};

struct mqlink {
    struct loop *loop;
    struct mqlink_cbs cb;
    char *host, *client_id;
    int port, mqtt_version, max_unacked;
    uint64_t connect_timeout_us;
    struct mosquitto *m; /* the current attempt's client, or NULL */
    enum link_state state;
    int fd; /* the client's socket as registered with the loop, or -1 */
    unsigned fd_events;
    int tfd;
    uint64_t connect_deadline_us; /* real monotonic */
    int in_mosq;  /* > 0: inside a call into libmosquitto, where its callbacks run */
    bool closing; /* mqlink_close runs: no events */
    bool corked;  /* TCP_CORK holds this loop round's writes on fd */
    uint64_t uncork_timer;
    bool uncork_pending; /* uncork_timer is set */
    bool refused_full;   /* mqlink_send said -EAGAIN because of held messages */
    bool refused_sock;   /* ... because the socket was full */
    int last_mid;
    struct out unacked, retry; /* list heads */
    size_t n_unacked, n_tracked, n_retry;
    struct mqlink_counts counts;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    (void)mosquitto_lib_init();
}

/* ---- lists ---- */

static void list_init(struct out *head)
{
    head->prev = head->next = head;
}

static bool list_empty(const struct out *head)
{
    return head->next == head;
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

static void list_free(struct out *head)
{
    while (!list_empty(head)) {
        struct out *o = head->next;
        list_del(o);
        free(o);
    }
}

static struct out *out_new(bool tracked, const char *topic, const void *payload, size_t len,
                           const struct mqlink_props *p)
{
    size_t tl = tracked ? strlen(topic) + 1 : 0, pl = tracked ? len : 0;
    size_t cl = tracked && p && p->correlation ? p->correlation_len : 0;
    struct out *o = malloc(sizeof(*o) + tl + pl + cl);
    char *c;
    if (!o)
        return NULL;
    memset(o, 0, sizeof(*o));
    o->prev = o->next = o;
    o->tracked = tracked;
    if (!tracked)
        return o;
    c = (char *)(o + 1);
    o->topic = memcpy(c, topic, tl);
    o->payload = c + tl;
    if (pl)
        memcpy(o->payload, payload, pl);
    o->len = pl;
    o->expiry_s = p ? p->expiry_s : 0;
    if (cl) {
        o->corr = c + tl + pl;
        memcpy(o->corr, p->correlation, cl);
    }
    o->corr_len = cl;
    return o;
}

/* ---- helpers ---- */

static int translate(int rc)
{
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        return 0;
    case MOSQ_ERR_NOMEM:
        return -ENOMEM;
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_MALFORMED_UTF8:
    case MOSQ_ERR_OVERSIZE_PACKET:
    case MOSQ_ERR_QOS_NOT_SUPPORTED:
    case MOSQ_ERR_RETAIN_NOT_SUPPORTED:
    case MOSQ_ERR_NOT_SUPPORTED:
    case MOSQ_ERR_DUPLICATE_PROPERTY:
        return -EINVAL;
    default: /* NO_CONN, CONN_LOST, ERRNO, EAI, PROTOCOL, ...: the connection, not the call */
        return WCS_E_LINK;
    }
}

static void emit(struct mqlink *k, enum mqlink_ev_kind kind, int rc)
{
    struct mqlink_ev ev = {kind, rc};
    if (!k->closing)
        k->cb.on_event(k->cb.arg, &ev);
}

static void fd_unwatch(struct mqlink *k)
{
    if (k->fd >= 0)
        (void)loop_del_fd(k->loop, k->fd);
    k->fd = -1;
}

/* EPOLLOUT only while libmosquitto has something to write: asked for always, a level-triggered
 * writable socket would wake the loop at every turn. */
static void fd_interest(struct mqlink *k)
{
    unsigned ev;
    if (k->fd < 0)
        return;
    ev = LOOP_READ | (mosquitto_want_write(k->m) ? LOOP_WRITE : 0);
    if (ev != k->fd_events && loop_mod_fd(k->loop, k->fd, ev) == 0)
        k->fd_events = ev;
}

/* libmosquitto numbers every message from one 16-bit counter, QoS 0 ones too, and reports a
 * QoS 0 message written with the same callback as a PUBACK: a number still waiting for its
 * PUBACK must not be handed out again, or a QoS 0 message written would seem to acknowledge it.
 * Nothing is published while the oldest unacknowledged message is half the numbers behind. */
static bool mid_span_ok(const struct mqlink *k)
{
    unsigned span;
    if (list_empty(&k->unacked))
        return true;
    span = ((unsigned)k->last_mid - (unsigned)k->unacked.next->mid + 65535u) % 65535u;
    return span < MID_SPAN_MAX;
}

/* An event or reply the broker did not take: sent again on the next connection, or given up. */
static void retry_or_give_up(struct mqlink *k, struct out *o)
{
    if (o->attempts < SEND_ATTEMPTS) {
        list_add_tail(&k->retry, o);
        k->n_retry++;
        k->counts.resent++;
    } else {
        k->counts.send_failed++;
        free(o);
    }
}

/* The connection ended: what it left unacknowledged goes behind what already waits to be sent
 * again, in order; retained messages are counted and dropped (struct out). */
static void requeue(struct mqlink *k)
{
    while (!list_empty(&k->unacked)) {
        struct out *o = k->unacked.next;
        list_del(o);
        k->n_unacked--;
        if (o->tracked) {
            k->n_tracked--;
            retry_or_give_up(k, o);
        } else {
            k->counts.retained_failed++;
            free(o);
        }
    }
}

/* The connection of the current client ended (in one of its callbacks, or found closed). */
static void conn_ended(struct mqlink *k, int rc_failed)
{
    enum link_state was = k->state;
    fd_unwatch(k); /* libmosquitto closes the socket around this */
    k->state = ST_DEAD;
    requeue(k);
    if (was == ST_UP)
        emit(k, MQLINK_EV_LOST, WCS_E_LINK);
    else if (was == ST_CONNECTING)
        emit(k, MQLINK_EV_CONNECT_FAILED, rc_failed);
}

/* Frees the client (never from inside libmosquitto). */
/* The writes of one loop round (replies, events, PUBACKs: a burst of small packets whenever a
 * round finishes several commands) go out as few TCP segments: the first write of a round corks
 * the socket and a zero-delay timer, which fires at the end of the round, uncorks it, so the
 * kernel transmits them together instead of one segment (and one wake-up of the broker) each.
 * Nothing waits longer than the round. */
static void uncork(struct mqlink *k)
{
    static const int zero = 0;
    if (k->corked)
        (void)setsockopt(k->fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));
    k->corked = false;
}

static void on_uncork(struct loop *l, uint64_t id, void *arg)
{
    struct mqlink *k = arg;
    (void)l;
    (void)id;
    k->uncork_pending = false;
    uncork(k);
}

static void cork(struct mqlink *k)
{
    static const int one = 1;
    if (k->corked || k->fd < 0 || k->closing ||
        setsockopt(k->fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) != 0)
        return;
    k->corked = true;
    if (!k->uncork_pending && loop_add_timer(k->loop, 0, on_uncork, k, &k->uncork_timer) == 0)
        k->uncork_pending = true;
    if (!k->uncork_pending)
        uncork(k);
}

static void client_free(struct mqlink *k)
{
    assert(k->in_mosq == 0);
    /* Closing the socket sends what it holds; the timer finds nothing corked. */
    k->corked = false;
    fd_unwatch(k);
    if (k->m)
        mosquitto_destroy(k->m);
    k->m = NULL;
    requeue(k);
    k->state = ST_IDLE;
}

/* mosquitto_publish_v5 with the MQTT 5 properties. *mid is set even on most failures. */
static int publish(struct mqlink *k, const char *topic, const void *payload, size_t len, int qos,
                   bool retain, uint32_t expiry_s, const void *corr, size_t corr_len, int *mid)
{
    mosquitto_property *props = NULL;
    int rc;
    *mid = 0;
    if (k->mqtt_version == 5) {
        if (expiry_s &&
            mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, expiry_s))
            goto nomem;
        if (corr && mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
                                                  (uint16_t)corr_len))
            goto nomem;
    }
    if (k->state == ST_UP)
        cork(k);
    k->in_mosq++;
    rc = mosquitto_publish_v5(k->m, mid, topic, (int)len, payload, qos, retain, props);
    k->in_mosq--;
    mosquitto_property_free_all(&props);
    if (*mid)
        k->last_mid = *mid;
    return translate(rc);
nomem:
    mosquitto_property_free_all(&props);
    return -ENOMEM;
}

/* Hands the retry list to the connection, oldest first. A failing connection leaves the rest
 * for the next one. */
static void resend(struct mqlink *k)
{
    while (k->state == ST_UP && !list_empty(&k->retry) && k->n_unacked < (size_t)k->max_unacked &&
           mid_span_ok(k)) {
        struct out *o = k->retry.next;
        int mid, rc;
        list_del(o);
        k->n_retry--;
        o->attempts++;
        rc = publish(k, o->topic, o->payload, o->len, 1, false, o->expiry_s, o->corr, o->corr_len,
                     &mid);
        if (rc == 0 || rc == WCS_E_LINK) {
            /* On WCS_E_LINK libmosquitto still queued it: the coming loss requeues it. */
            o->mid = mid;
            list_add_tail(&k->unacked, o);
            k->n_unacked++;
            k->n_tracked++;
            if (rc < 0)
                return;
        } else {
            k->counts.send_failed++;
            free(o);
        }
    }
}

static void write_out(struct mqlink *k)
{
    k->in_mosq++;
    (void)mosquitto_loop_write(k->m, 1); /* writes all it has, until the socket is full */
    k->in_mosq--;
}

/* After the loop ran the socket or the tick: resends, what callbacks queued written at once,
 * the dead client freed, EPOLLOUT as needed, and SEND_READY when a refusal no longer holds. */
static void service(struct mqlink *k)
{
    if (k->state == ST_UP) {
        resend(k);
        if (mosquitto_want_write(k->m))
            write_out(k);
        if (k->state == ST_UP && mosquitto_socket(k->m) < 0)
            conn_ended(k, WCS_E_LINK); /* closed without its callback: never seen, but cheap */
    }
    if (k->state == ST_DEAD)
        client_free(k);
    fd_interest(k);
    if (k->state == ST_UP && (k->refused_full || k->refused_sock) &&
        (!k->refused_sock || !mosquitto_want_write(k->m)) &&
        (!k->refused_full ||
         (k->n_retry == 0 && k->n_unacked <= (size_t)k->max_unacked / 2 && mid_span_ok(k)))) {
        k->refused_full = k->refused_sock = false;
        emit(k, MQLINK_EV_SEND_READY, 0);
    }
}

/* ---- libmosquitto callbacks (inside its calls, on the loop) ---- */

static bool denied(int version, int rc)
{
    if (version == 5)
        return rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD || rc == MQTT_RC_NOT_AUTHORIZED ||
               rc == MQTT_RC_BANNED;
    return rc == CONNACK_REFUSED_BAD_USERNAME_PASSWORD || rc == CONNACK_REFUSED_NOT_AUTHORIZED;
}

static void on_connect(struct mosquitto *m, void *arg, int rc, int flags,
                       const mosquitto_property *props)
{
    struct mqlink *k = arg;
    (void)m;
    (void)flags;
    (void)props;
    if (k->state != ST_CONNECTING)
        return;
    if (rc != 0) {
        /* libmosquitto goes on to report the closed socket: the client is freed after it. */
        conn_ended(k, denied(k->mqtt_version, rc) ? WCS_E_DENIED : WCS_E_LINK);
        return;
    }
    k->state = ST_UP;
    k->refused_full = k->refused_sock = false;
    /* What the last connection left unacknowledged goes first: published before anything the
     * owner sends from here on. (libmosquitto holds it until this callback returns.) */
    resend(k);
    emit(k, MQLINK_EV_CONNECTED, 0);
}

static void on_disconnect(struct mosquitto *m, void *arg, int rc, const mosquitto_property *props)
{
    struct mqlink *k = arg;
    (void)m;
    (void)rc;
    (void)props;
    if (k->state == ST_UP || k->state == ST_CONNECTING)
        conn_ended(k, WCS_E_LINK);
}

static void on_publish(struct mosquitto *m, void *arg, int mid, int reason,
                       const mosquitto_property *props)
{
    struct mqlink *k = arg;
    struct out *o;
    (void)m;
    (void)props;
    /* PUBACKs come in publish order (MQTT 3.1.1 4.6.0-2, 5.0 4.6.0-2): the first entry. */
    for (o = k->unacked.next; o != &k->unacked && o->mid != mid; o = o->next)
        ;
    if (o == &k->unacked)
        return; /* a QoS 0 message written */
    list_del(o);
    k->n_unacked--;
    if (!o->tracked) {
        free(o);
        return;
    }
    k->n_tracked--;
    /* An MQTT 5 broker may refuse in the PUBACK (0x87 not authorised, 0x97 quota exceeded). */
    if (reason >= 0x80)
        retry_or_give_up(k, o);
    else
        free(o);
}

static void on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
    struct mqlink *k = arg;
    (void)m;
    (void)mid;
    (void)props;
    emit(k, n > 0 && granted[0] >= 0x80 ? MQLINK_EV_SUBSCRIBE_FAILED : MQLINK_EV_SUBSCRIBED,
         n > 0 && granted[0] >= 0x80 ? WCS_E_DENIED : 0);
}

/* Copies an MQTT 5 string or binary property; 0 absent, 1 copied, -ENOMEM. */
static int read_prop(const mosquitto_property *props, int id, bool binary, void **out, size_t *len)
{
    uint16_t l = 0;
    if (binary) {
        if (!mosquitto_property_read_binary(props, id, NULL, NULL, false))
            return 0;
        if (!mosquitto_property_read_binary(props, id, out, &l, false))
            return -ENOMEM;
        if (l == 0) { /* as absent: nothing to hand back */
            free(*out);
            *out = NULL;
            return 0;
        }
        *len = l;
    } else {
        if (!mosquitto_property_read_string(props, id, NULL, false))
            return 0;
        if (!mosquitto_property_read_string(props, id, (char **)out, false))
            return -ENOMEM;
        *len = strlen(*out);
    }
    return 1;
}

static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct mqlink *k = arg;
    struct mqlink_msg mm = {
        .topic = msg->topic,
        .topic_len = strlen(msg->topic),
        .payload = msg->payload ? msg->payload : "",
        .len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
        .qos = msg->qos,
        .retained = msg->retain,
    };
    (void)m;
    if (props && (read_prop(props, MQTT_PROP_RESPONSE_TOPIC, false, (void **)&mm.response_topic,
                            &mm.response_topic_len) < 0 ||
                  read_prop(props, MQTT_PROP_CORRELATION_DATA, true, &mm.correlation,
                            &mm.correlation_len) < 0)) {
        /* Answered on its standard reply topic all the same: a command is never dropped here
         * (libmosquitto has acknowledged it already). */
        free(mm.response_topic);
        free(mm.correlation);
        mm.response_topic = NULL;
        mm.correlation = NULL;
        k->counts.recv_damaged++;
    }
    k->cb.on_msg(k->cb.arg, &mm);
    free(mm.response_topic);
    free(mm.correlation);
}

/* ---- the loop's handlers ---- */

static void on_sock(struct loop *l, int fd, unsigned events, void *arg)
{
    struct mqlink *k = arg;
    (void)l;
    (void)fd;
    if (events & (LOOP_READ | LOOP_ERROR)) {
        if (k->state == ST_UP)
            cork(k); /* the PUBACKs of what it reads */
        k->in_mosq++;
        (void)mosquitto_loop_read(k->m, 1); /* an error ends in on_disconnect */
        k->in_mosq--;
    }
    if ((events & LOOP_WRITE) && (k->state == ST_CONNECTING || k->state == ST_UP))
        write_out(k); /* also how a non-blocking connect completes */
    service(k);
}

static void on_tick(struct loop *l, int fd, unsigned events, void *arg)
{
    struct mqlink *k = arg;
    uint64_t n;
    (void)l;
    (void)events;
    (void)!read(fd, &n, sizeof(n));
    if (k->state == ST_CONNECTING && clock_real_mono_us() >= k->connect_deadline_us) {
        conn_ended(k, WCS_E_LINK); /* no CONNACK: an unreachable host, or a stuck broker */
    } else if (k->state == ST_CONNECTING || k->state == ST_UP) {
        /* PINGREQ when the link was idle for keepalive_s; the connection closed (and
         * on_disconnect) when the broker did not answer the last one. */
        k->in_mosq++;
        (void)mosquitto_loop_misc(k->m);
        k->in_mosq--;
    }
    service(k);
}

/* ---- API ---- */

/* "tcp://host:port", "mqtt://host:port" or "host:port" ("[v6]:port" too; port default 1883). */
static int parse_uri(const char *uri, char **host, int *port)
{
    const char *h = uri, *end, *colon = NULL;
    if (strncmp(uri, "tcp://", 6) == 0)
        h += 6;
    else if (strncmp(uri, "mqtt://", 7) == 0)
        h += 7;
    else if (strstr(uri, "://"))
        return -EINVAL; /* ssl, ws: libmosquitto here has neither set up */
    end = h + strcspn(h, "/?#");
    if (*end && strcmp(end, "/") != 0)
        return -EINVAL;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb || (rb + 1 < end && rb[1] != ':'))
            return -EINVAL;
        colon = rb + 1 < end ? rb + 1 : NULL;
        *host = strndup(h + 1, (size_t)(rb - h - 1));
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        *host = strndup(h, (size_t)((colon ? colon : end) - h));
    }
    if (!*host)
        return -ENOMEM;
    *port = colon ? sock_uri_port(uri) : 1883;
    if (!**host || *port == 0) {
        free(*host);
        return -EINVAL;
    }
    return 0;
}

int mqlink_open(struct mqlink **out, struct loop *l, const struct mqlink_opts *o,
                const struct mqlink_cbs *cbs)
{
    int tick_ms = o->tick_ms > 0 ? o->tick_ms : TICK_MS;
    struct itimerspec its;
    struct mqlink *k;
    int rc;

    if (!o->uri || !o->client_id || (o->mqtt_version != 4 && o->mqtt_version != 5) ||
        o->max_unacked < 1 || o->max_unacked > UNACKED_MAX || o->connect_timeout_ms < 0 ||
        o->tick_ms < 0 || !cbs->on_event || !cbs->on_msg)
        return -EINVAL;
    its.it_value.tv_sec = tick_ms / 1000;
    its.it_value.tv_nsec = (long)(tick_ms % 1000) * 1000000L;
    its.it_interval = its.it_value;
    k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->loop = l;
    k->cb = *cbs;
    k->mqtt_version = o->mqtt_version;
    k->max_unacked = o->max_unacked;
    k->connect_timeout_us =
        (uint64_t)(o->connect_timeout_ms ? o->connect_timeout_ms : CONNECT_TIMEOUT_MS) * 1000u;
    k->fd = -1;
    list_init(&k->unacked);
    list_init(&k->retry);
    rc = parse_uri(o->uri, &k->host, &k->port);
    if (rc < 0)
        goto fail_free;
    rc = -ENOMEM;
    if (!(k->client_id = strdup(o->client_id)))
        goto fail_host;
    (void)pthread_once(&lib_once, lib_init);
    k->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (k->tfd < 0 || timerfd_settime(k->tfd, 0, &its, NULL) < 0) {
        rc = -errno;
        goto fail_tfd;
    }
    rc = loop_add_fd(l, k->tfd, LOOP_READ, on_tick, k);
    if (rc < 0)
        goto fail_tfd;
    *out = k;
    return 0;

fail_tfd:
    if (k->tfd >= 0)
        close(k->tfd);
    free(k->client_id);
fail_host:
    free(k->host);
fail_free:
    free(k);
    return rc;
}

/* Runs the connection from here (the loop does not run while the owner closes) until nothing is
 * unacknowledged, waiting to be sent again or to be written, for at most ms. True when done. */
static bool drain(struct mqlink *k, int ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)(ms > 0 ? ms : 0) * 1000u;
    for (;;) {
        struct pollfd p;
        uint64_t now;
        resend(k);
        if (k->state == ST_UP && mosquitto_want_write(k->m))
            write_out(k);
        if (k->state != ST_UP)
            return false;
        if (k->n_unacked == 0 && k->n_retry == 0 && !mosquitto_want_write(k->m))
            return true;
        now = clock_real_mono_us();
        if (now >= end)
            return false;
        p = (struct pollfd){mosquitto_socket(k->m), POLLIN, 0};
        if (mosquitto_want_write(k->m))
            p.events |= POLLOUT;
        if (poll(&p, 1, (int)((end - now + 999) / 1000)) <= 0)
            continue;
        if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
            k->in_mosq++;
            (void)mosquitto_loop_read(k->m, 1);
            k->in_mosq--;
        }
        if (k->state == ST_UP && (p.revents & POLLOUT))
            write_out(k);
    }
}

void mqlink_close(struct mqlink *k, int timeout_ms, bool send_will)
{
    if (!k)
        return;
    assert(k->in_mosq == 0);
    k->closing = true;
    if (k->uncork_pending)
        (void)loop_cancel_timer(k->loop, k->uncork_timer);
    k->uncork_pending = false;
    uncork(k);
    (void)loop_del_fd(k->loop, k->tfd);
    close(k->tfd);
    fd_unwatch(k);
    if (k->state == ST_UP) {
        /* Unacknowledged messages may include the owner's offline status: then the broker must
         * publish the Will instead, or the retained status would keep saying online. */
        send_will = !drain(k, timeout_ms) || send_will;
        if (k->state == ST_UP && (k->mqtt_version == 5 || !send_will)) {
            int rc;
            k->in_mosq++;
            rc = k->mqtt_version == 5
                     ? mosquitto_disconnect_v5(
                           k->m, send_will ? MQTT_RC_DISCONNECT_WITH_WILL_MSG : MQTT_RC_SUCCESS,
                           NULL)
                     : mosquitto_disconnect(k->m);
            k->in_mosq--;
            uint64_t end = clock_real_mono_us() + DISCONNECT_FLUSH_MS * 1000u;
            while (rc == MOSQ_ERR_SUCCESS && k->m && mosquitto_socket(k->m) >= 0 &&
                   mosquitto_want_write(k->m) && clock_real_mono_us() < end) {
                struct pollfd p = {mosquitto_socket(k->m), POLLOUT, 0};
                if (poll(&p, 1, 10) > 0)
                    write_out(k);
            }
        }
        /* 3.1.1 with the Will: no DISCONNECT, the socket just closes (client_free). */
    }
    client_free(k);
    list_free(&k->retry);
    free(k->client_id);
    free(k->host);
    free(k);
}

size_t mqlink_inflight(const struct mqlink *k)
{
    return k->n_tracked + k->n_retry;
}

void mqlink_counts(const struct mqlink *k, struct mqlink_counts *out)
{
    *out = k->counts;
}

/* Options, callbacks, credentials, Will and session expiry of a new client. */
static int client_setup(struct mqlink *k, struct mosquitto *m, const struct mqlink_connect *c)
{
    int rc;
    rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
                              k->mqtt_version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    /* Nagle would hold a small reply written while an earlier one is unacknowledged until the
     * broker's delayed ACK, up to 40 ms (docs/mqtt.md). */
    rc = rc ? rc : mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    /* libmosquitto keeps at most this many QoS 1 messages in flight and queues the rest in
     * order; an MQTT 5 broker's Receive Maximum (CONNACK) replaces it, as it must (mosquitto
     * sends its max_inflight_messages, default 20). max_unacked bounds the queue. */
    rc = rc ? rc : mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, 65535);
    /* Commands are acknowledged as they are read: no reason to hold the broker back. */
    if (k->mqtt_version == 5)
        rc = rc ? rc : mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
    if (!rc && c->user)
        rc = mosquitto_username_pw_set(m, c->user, c->password);
    if (!rc && c->will_topic)
        rc = mosquitto_will_set(m, c->will_topic, (int)c->will_len, c->will_payload, 1, true);
    if (!rc && k->mqtt_version == 5 && !c->clean_start && c->session_expiry_s) {
        /* MQTT 5 ends a session at the disconnect unless CONNECT asks it to be kept
         * (3.1.2.11.2). libmosquitto 2.0 takes CONNECT properties only in the blocking
         * mosquitto_connect_bind_v5, which stores a copy that every later connect of the client
         * sends: given a keepalive it refuses (< 5 s) it stores them and returns before it opens
         * a socket, and the non-blocking connect below sends them (test_bus
         * test_persistent_session fails without). */
        mosquitto_property *p = NULL;
        rc = mosquitto_property_add_int32(&p, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                          c->session_expiry_s);
        if (!rc && mosquitto_connect_bind_v5(m, k->host, k->port, 1, NULL, p) != MOSQ_ERR_INVAL)
            rc = MOSQ_ERR_UNKNOWN; /* the trick would have connected: never with 2.0.11 */
        mosquitto_property_free_all(&p);
    }
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_disconnect_v5_callback_set(m, on_disconnect);
    mosquitto_publish_v5_callback_set(m, on_publish);
    mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, on_message);
    return rc == MOSQ_ERR_UNKNOWN ? WCS_E_LINK : translate(rc);
}

int mqlink_connect(struct mqlink *k, const struct mqlink_connect *c)
{
    struct mosquitto *m;
    int rc, ka = c->keepalive_s < KEEPALIVE_MIN_S ? KEEPALIVE_MIN_S : c->keepalive_s;
    assert(k->in_mosq == 0 && !k->closing);
    client_free(k); /* an earlier attempt's client */
    m = mosquitto_new(k->client_id, c->clean_start, k);
    if (!m)
        return errno == ENOMEM ? -ENOMEM : -EINVAL;
    rc = client_setup(k, m, c);
    if (rc == 0) {
        /* getaddrinfo inside is synchronous (mqlink.h); the TCP connect is not: the CONNECT
         * goes out once the loop sees the socket writable. */
        k->in_mosq++;
        rc = translate(
            mosquitto_connect_bind_async(m, k->host, k->port, ka > 65535 ? 65535 : ka, NULL));
        k->in_mosq--;
    }
    if (rc == 0 && mosquitto_socket(m) < 0)
        rc = WCS_E_LINK;
    if (rc == 0) {
        k->m = m;
        k->fd = mosquitto_socket(m);
        k->fd_events = LOOP_READ | (mosquitto_want_write(m) ? LOOP_WRITE : 0);
        rc = loop_add_fd(k->loop, k->fd, k->fd_events, on_sock, k);
        if (rc < 0) {
            k->fd = -1;
            client_free(k);
            return rc;
        }
        k->state = ST_CONNECTING;
        k->connect_deadline_us = clock_real_mono_us() + k->connect_timeout_us;
        return 0;
    }
    mosquitto_destroy(m);
    return rc;
}

int mqlink_subscribe(struct mqlink *k, const char *filter, int qos)
{
    int rc;
    if (k->state != ST_UP)
        return WCS_E_LINK;
    k->in_mosq++;
    rc = mosquitto_subscribe_v5(k->m, NULL, filter, qos, 0, NULL);
    k->in_mosq--;
    fd_interest(k);
    return translate(rc);
}

int mqlink_send(struct mqlink *k, const char *topic, const void *payload, size_t len, int qos,
                bool retain, const struct mqlink_props *props)
{
    /* An empty correlation is sent as none. */
    size_t cl = props && props->correlation ? props->correlation_len : 0;
    bool tracked = qos == 1 && !retain;
    struct out *o = NULL;
    int mid, rc;

    if (len > INT_MAX || cl > UINT16_MAX || qos < 0 || qos > 1)
        return -EINVAL;
    if (k->state != ST_UP)
        return WCS_E_LINK;
    resend(k);
    /* Held messages go first (order), and the bounds keep memory bounded while the broker is
     * slow: the owner keeps what is refused. */
    if (k->n_retry > 0 || !mid_span_ok(k) || (qos > 0 && k->n_unacked >= (size_t)k->max_unacked)) {
        k->refused_full = true;
        return -EAGAIN;
    }
    if (qos == 0 && mosquitto_want_write(k->m)) {
        /* A QoS 0 message would only wait in libmosquitto's queue, unbounded. */
        k->refused_sock = true;
        return -EAGAIN;
    }
    if (qos > 0 && !(o = out_new(tracked, topic, payload, len, props)))
        return -ENOMEM;
    rc = publish(k, topic, payload, len, qos, retain, props ? props->expiry_s : 0,
                 cl ? props->correlation : NULL, cl, &mid);
    if (o && (rc == 0 || (rc == WCS_E_LINK && tracked && mid))) {
        /* On WCS_E_LINK libmosquitto queued it all the same: the coming loss requeues it. */
        o->mid = mid;
        o->attempts = 1;
        list_add_tail(&k->unacked, o);
        k->n_unacked++;
        k->n_tracked += tracked;
        rc = 0;
    } else {
        free(o);
        if (rc < 0 && rc != WCS_E_LINK && tracked)
            k->counts.send_failed++;
    }
    fd_interest(k);
    return rc;
}
