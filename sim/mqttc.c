/* The simulator's MQTT client (mqttc.h) over libmosquitto 2.0: the only file of sim/ that
 * includes mosquitto.h. One network thread serves every client of the process: it waits in
 * epoll on the clients' sockets, reads (and so acknowledges and queues) what arrives, keeps the
 * connections alive and reconnects lost ones. Publishes go to the socket from the caller's
 * thread without a hop. */
#include "mqttc.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/sock.h"

#include <mosquitto.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_FILTERS = 16,
    KEEPALIVE_S = 10,
    /* QoS 1 messages in flight per client before libmosquitto holds more back until PUBACKs
     * come (its default, 20, would queue an ERP burst behind round trips). */
    MAX_INFLIGHT = 1000,
    MISC_PERIOD_MS = 1000, /* keepalive checks (mosquitto_loop_misc) */
    RETRY_MIN_MS = 250,    /* reconnect backoff, doubling up to RETRY_MAX_MS */
    RETRY_MAX_MS = 2000,
    READS_PER_EVENT = 64, /* packets read from one socket before the others get a turn */
    MAX_EVENTS = 64,
    SUBACK_TIMEOUT_MS = 5000,
    CLOSE_FLUSH_MS = 100, /* how long close waits to hand the DISCONNECT to the kernel */
};

#define WAKE_TOKEN UINT64_MAX

struct mqttc {
    struct mosquitto *m;
    char *host;
    int port;
    /* Held around every libmosquitto call on m, by the caller's thread and the network thread
     * alike: libmosquitto 2.0 is not safe against a publish while another thread reads or
     * reconnects the same client, and with it held a publish never finds the client inside a
     * callback, so libmosquitto writes it to the socket at once (packet__queue writes only when
     * in_callback is false and the client is not "threaded"). Also guards the fields up to qmu. */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* conn_done and sub_done changed */
    int conn_done;     /* 0 waiting for the first CONNACK, 1 connected once, -1 failed */
    int sub_mid;       /* the SUBSCRIBE mqttc_subscribe_many waits for, 0 none */
    int sub_done;      /* 1 granted, -1 refused or the connection went, 0 waiting */
    char *filters[MAX_FILTERS];
    size_t n_filters;
    int sub_qos; /* the QoS the filters are subscribed at (1 unless mqttc_sub_qos0) */
    /* Network thread only (and mqttc_connect_start, mqttc_close, which hold net.mu): */
    int reg_fd;      /* our duplicate of the socket registered with epoll, -1 none */
    uint32_t reg_ev; /* its events */
    uint32_t slot;   /* index in net.slots, valid while in_net */
    bool in_net;
    uint64_t retry_at_ms; /* next reconnect attempt, 0 none */
    bool offline;         /* mqttc_set_offline: no reconnect until it is cleared */
    unsigned retry_ms;    /* the last backoff, 0 after a successful connect */
    atomic_bool connected;
    atomic_bool need_write; /* the caller left bytes in libmosquitto's queue: the thread writes */
    atomic_uint connects;   /* successful connects, first and automatic reconnects */
    pthread_mutex_t qmu;    /* the received messages */
    struct mqttc_msg *head, *tail;
    atomic_size_t queued; /* messages in the queue: mqttc_pop of an empty one takes no lock */
};

/* The network thread and what it serves. net.mu is held by the thread while it works (never
 * while it waits in epoll) and by whoever adds or removes a client; lock order: net_life, then
 * net.mu, then a client's mu. */
static struct {
    pthread_mutex_t mu;
    pthread_t thread;
    int ep, wake; /* epoll and the eventfd that wakes it */
    bool stop;
    struct mqttc **slots; /* clients by slot, NULL for a free one */
    uint32_t *gens;       /* bumped when a slot is freed: stale epoll events are ignored */
    size_t cap;
    unsigned users;         /* open clients; the thread runs while there is one */
    uint64_t next_retry_ms; /* earliest retry_at_ms, 0 none */
} net = {.mu = PTHREAD_MUTEX_INITIALIZER, .ep = -1, .wake = -1};
static pthread_mutex_t net_life = PTHREAD_MUTEX_INITIALIZER; /* starts and stops the thread */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t token(const struct mqttc *c)
{
    return (uint64_t)net.gens[c->slot] << 32 | c->slot;
}

/* Drops c's epoll registration (net.mu held). */
static void unregister(struct mqttc *c)
{
    if (c->reg_fd < 0)
        return;
    epoll_ctl(net.ep, EPOLL_CTL_DEL, c->reg_fd, NULL);
    close(c->reg_fd);
    c->reg_fd = -1;
}

static void wake_waiters(struct mqttc *c)
{
    pthread_cond_broadcast(&c->cv);
}

/* The socket is gone (net.mu and c->mu held): a first connection that failed is reported to
 * mqttc_connect_wait and not retried (as paho did); a lost one is retried with backoff. */
static void on_lost(struct mqttc *c)
{
    atomic_store(&c->connected, false);
    if (c->sub_mid && c->sub_done == 0) {
        c->sub_done = -1; /* its SUBACK will not come; the filters are subscribed on reconnect */
        wake_waiters(c);
    }
    if (c->conn_done == 0) {
        c->conn_done = -1;
        wake_waiters(c);
    }
    if (c->conn_done < 0 || c->retry_at_ms || c->offline)
        return;
    c->retry_ms = c->retry_ms ? c->retry_ms * 2 : RETRY_MIN_MS;
    if (c->retry_ms > RETRY_MAX_MS)
        c->retry_ms = RETRY_MAX_MS;
    c->retry_at_ms = mono_ms() + c->retry_ms;
    if (!net.next_retry_ms || c->retry_at_ms < net.next_retry_ms)
        net.next_retry_ms = c->retry_at_ms;
}

/* After every libmosquitto call that may have closed or replaced c's socket (net.mu and c->mu
 * held): registers the socket with epoll, for writing too while libmosquitto holds bytes it
 * could not write. epoll watches a duplicate of the socket, ours: libmosquitto closes its own
 * descriptor inside its calls, and a registration whose file lives on (a child spawned
 * meanwhile inherited the socket) could otherwise neither fire usefully nor be removed.
 * fresh: the call may have replaced the socket by one with the same number (a reconnect). */
static void sync_socket(struct mqttc *c, bool fresh)
{
    int fd = mosquitto_socket(c->m);
    struct epoll_event e;
    if (fd < 0) {
        unregister(c);
        on_lost(c);
        return;
    }
    e.events = EPOLLIN | (mosquitto_want_write(c->m) ? EPOLLOUT : 0);
    e.data.u64 = token(c);
    if (fresh || c->reg_fd < 0) {
        unregister(c);
        /* wcs and the servers are spawned from this process: the socket stays ours */
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        c->reg_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (c->reg_fd < 0 || epoll_ctl(net.ep, EPOLL_CTL_ADD, c->reg_fd, &e) != 0) {
            /* out of descriptors: drop the connection, the retry tries again */
            if (c->reg_fd >= 0)
                close(c->reg_fd);
            c->reg_fd = -1;
            mosquitto_disconnect(c->m);
            on_lost(c);
            return;
        }
        c->reg_ev = e.events;
    } else if (e.events != c->reg_ev) {
        if (epoll_ctl(net.ep, EPOLL_CTL_MOD, c->reg_fd, &e) == 0)
            c->reg_ev = e.events;
    }
}

/* Has the network thread write what libmosquitto kept queued (c->mu held). */
static void kick(struct mqttc *c)
{
    uint64_t one = 1;
    if (mosquitto_want_write(c->m) && !atomic_exchange(&c->need_write, true))
        (void)!write(net.wake, &one, sizeof(one));
}

/* ---- libmosquitto callbacks: on the network thread, inside a call under c->mu ---- */

static void on_connect(struct mosquitto *m, void *ctx, int rc)
{
    struct mqttc *c = ctx;
    if (rc != 0)
        return; /* refused: libmosquitto closes the socket, sync_socket sees it */
    atomic_store(&c->connected, true);
    atomic_fetch_add(&c->connects, 1);
    c->retry_ms = 0;
    /* A clean session lost the subscriptions: make them again. Inside a callback libmosquitto
     * only queues the SUBSCRIBE; serve() writes it when the read returns. */
    if (c->n_filters)
        (void)mosquitto_subscribe_multiple(m, NULL, (int)c->n_filters, c->filters, c->sub_qos, 0,
                                           NULL);
    if (c->conn_done == 0) {
        c->conn_done = 1;
        wake_waiters(c);
    }
}

static void on_subscribe(struct mosquitto *m, void *ctx, int mid, int n, const int *granted)
{
    struct mqttc *c = ctx;
    (void)m;
    if (mid != c->sub_mid || c->sub_done)
        return;
    c->sub_done = 1;
    for (int i = 0; i < n; i++)
        if (granted[i] < 0 || granted[i] > 2)
            c->sub_done = -1;
    wake_waiters(c);
}

static void on_message(struct mosquitto *m, void *ctx, const struct mosquitto_message *mm)
{
    struct mqttc *c = ctx;
    struct mqttc_msg *x = calloc(1, sizeof(*x));
    size_t len = mm->payloadlen > 0 ? (size_t)mm->payloadlen : 0;
    (void)m;
    if (!x)
        return;
    x->topic = strdup(mm->topic);
    x->payload = malloc(len + 1);
    if (!x->topic || !x->payload) {
        mqttc_msg_free(x);
        return;
    }
    if (len)
        memcpy(x->payload, mm->payload, len);
    x->payload[len] = '\0';
    x->len = len;
    x->retained = mm->retain;
    x->qos = mm->qos;
    x->arrived_us = clock_real_mono_us();
    pthread_mutex_lock(&c->qmu);
    if (c->tail)
        c->tail->next = x;
    else
        c->head = x;
    c->tail = x;
    atomic_fetch_add(&c->queued, 1);
    pthread_mutex_unlock(&c->qmu);
}

/* ---- the network thread ---- */

/* Reads, writes and re-registers c after an epoll event (events 0: only write what is queued).
 * net.mu held. */
static void serve(struct mqttc *c, uint32_t events)
{
    pthread_mutex_lock(&c->mu);
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        /* mosquitto_loop_read reads one packet per queued QoS message and stops at EAGAIN;
         * errno tells whether the socket is drained (a stale EAGAIN only costs one more
         * epoll_wait, the registration is level-triggered). */
        for (int i = 0; i < READS_PER_EVENT && mosquitto_socket(c->m) >= 0; i++) {
            errno = 0;
            if (mosquitto_loop_read(c->m, 1) != MOSQ_ERR_SUCCESS || errno == EAGAIN ||
                errno == EWOULDBLOCK)
                break;
        }
    /* Replies and SUBSCRIBEs queued inside callbacks, or what the kernel refused earlier. */
    if (mosquitto_socket(c->m) >= 0 && mosquitto_want_write(c->m))
        (void)mosquitto_loop_write(c->m, 1);
    sync_socket(c, false);
    pthread_mutex_unlock(&c->mu);
}

/* Keepalive (PINGREQ, or closing a connection whose broker stopped answering). net.mu held. */
static void misc(struct mqttc *c)
{
    pthread_mutex_lock(&c->mu);
    if (mosquitto_socket(c->m) >= 0) {
        (void)mosquitto_loop_misc(c->m);
        sync_socket(c, false);
    }
    pthread_mutex_unlock(&c->mu);
}

static void reconnect(struct mqttc *c)
{
    pthread_mutex_lock(&c->mu);
    c->retry_at_ms = 0;
    /* non-blocking connect; the CONNECT goes out when the socket is writable */
    (void)mosquitto_reconnect_async(c->m);
    sync_socket(c, true);
    pthread_mutex_unlock(&c->mu);
}

static int wait_ms(uint64_t next_misc)
{
    uint64_t now = mono_ms(), next = next_misc;
    if (net.next_retry_ms && net.next_retry_ms < next)
        next = net.next_retry_ms;
    return next > now ? (int)(next - now) : 0;
}

static void *net_main(void *arg)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t next_misc = mono_ms() + MISC_PERIOD_MS, now;
    int timeout;
    (void)arg;
    pthread_mutex_lock(&net.mu);
    timeout = wait_ms(next_misc);
    pthread_mutex_unlock(&net.mu);
    for (;;) {
        int n = epoll_wait(net.ep, evs, MAX_EVENTS, timeout);
        pthread_mutex_lock(&net.mu);
        if (net.stop) {
            pthread_mutex_unlock(&net.mu);
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            uint64_t t = evs[i].data.u64;
            uint32_t slot = (uint32_t)t;
            if (t == WAKE_TOKEN) {
                uint64_t v;
                (void)!read(net.wake, &v, sizeof(v));
                for (size_t s = 0; s < net.cap; s++)
                    if (net.slots[s] && atomic_exchange(&net.slots[s]->need_write, false))
                        serve(net.slots[s], 0);
            } else if (slot < net.cap && net.slots[slot] && net.gens[slot] == (uint32_t)(t >> 32)) {
                serve(net.slots[slot], evs[i].events);
            }
        }
        now = mono_ms();
        if (now >= next_misc) {
            for (size_t s = 0; s < net.cap; s++)
                if (net.slots[s])
                    misc(net.slots[s]);
            next_misc = now + MISC_PERIOD_MS;
        }
        if (net.next_retry_ms && now >= net.next_retry_ms) {
            net.next_retry_ms = 0;
            for (size_t s = 0; s < net.cap; s++) {
                struct mqttc *c = net.slots[s];
                if (!c || !c->retry_at_ms)
                    continue;
                if (c->retry_at_ms <= now)
                    reconnect(c);
                else if (!net.next_retry_ms || c->retry_at_ms < net.next_retry_ms)
                    net.next_retry_ms = c->retry_at_ms;
            }
        }
        timeout = wait_ms(next_misc);
        pthread_mutex_unlock(&net.mu);
    }
}

/* Starts the thread for the first client (net_life held). */
static int net_start(void)
{
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = WAKE_TOKEN};
    sigset_t all, old;
    int rc;
    if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
        return WCS_E_LINK;
    net.ep = epoll_create1(EPOLL_CLOEXEC);
    net.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (net.ep < 0 || net.wake < 0 || epoll_ctl(net.ep, EPOLL_CTL_ADD, net.wake, &e) != 0) {
        rc = -errno;
        goto fail_fds;
    }
    net.stop = false;
    /* signals stay with the runner's thread */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&net.thread, NULL, net_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        goto fail_fds;
    pthread_setname_np(net.thread, "sim-mqtt");
    return 0;
fail_fds:
    if (net.ep >= 0)
        close(net.ep);
    if (net.wake >= 0)
        close(net.wake);
    net.ep = net.wake = -1;
    mosquitto_lib_cleanup();
    return rc;
}

/* Stops the thread after the last client (net_life held). */
static void net_stop(void)
{
    uint64_t one = 1;
    pthread_mutex_lock(&net.mu);
    net.stop = true;
    pthread_mutex_unlock(&net.mu);
    (void)!write(net.wake, &one, sizeof(one));
    pthread_join(net.thread, NULL);
    close(net.ep);
    close(net.wake);
    net.ep = net.wake = -1;
    free(net.slots);
    free(net.gens);
    net.slots = NULL;
    net.gens = NULL;
    net.cap = 0;
    net.next_retry_ms = 0;
    mosquitto_lib_cleanup();
}

/* Gives c a slot (net.mu held). */
static int slot_take(struct mqttc *c)
{
    size_t s;
    for (s = 0; s < net.cap && net.slots[s]; s++)
        ;
    if (s == net.cap) {
        size_t cap = net.cap ? net.cap * 2 : 64;
        struct mqttc **slots = realloc(net.slots, cap * sizeof(*slots));
        uint32_t *gens;
        if (!slots)
            return -ENOMEM;
        net.slots = slots;
        if (!(gens = realloc(net.gens, cap * sizeof(*gens))))
            return -ENOMEM;
        net.gens = gens;
        for (size_t i = net.cap; i < cap; i++) {
            net.slots[i] = NULL;
            net.gens[i] = 0;
        }
        net.cap = cap;
    }
    net.slots[s] = c;
    c->slot = (uint32_t)s;
    c->in_net = true;
    return 0;
}

/* "scheme://host:port", "host:port" or "[v6]:port" → host (malloc'd) and port (1883 if none). */
static char *uri_host(const char *uri, int *port)
{
    const char *h = strstr(uri, "://"), *end;
    h = h ? h + 3 : uri;
    if (*h == '[') {
        h++;
        end = strchr(h, ']');
    } else {
        end = strrchr(h, ':');
    }
    *port = sock_uri_port(uri);
    if (*port == 0)
        *port = 1883;
    return strndup(h, end ? (size_t)(end - h) : strlen(h));
}

static void client_free(struct mqttc *c)
{
    while (c->head) {
        struct mqttc_msg *n = c->head->next;
        mqttc_msg_free(c->head);
        c->head = n;
    }
    for (size_t i = 0; i < c->n_filters; i++)
        free(c->filters[i]);
    mosquitto_destroy(c->m);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->qmu);
    free(c->host);
    free(c);
}

/* Takes c out of the network thread's hands; the thread stops with the last client. */
static void net_release(struct mqttc *c)
{
    pthread_mutex_lock(&net_life);
    pthread_mutex_lock(&net.mu);
    if (c->in_net) {
        unregister(c);
        net.slots[c->slot] = NULL;
        net.gens[c->slot]++;
        c->in_net = false;
    }
    pthread_mutex_unlock(&net.mu);
    if (--net.users == 0)
        net_stop();
    pthread_mutex_unlock(&net_life);
}

/* Waits (c->mu held) up to timeout_ms until the network thread sets *flag; 0 for 1,
 * WCS_E_LINK for -1, -ETIMEDOUT while still 0. */
static int wait_result(struct mqttc *c, const int *flag, int timeout_ms)
{
    struct timespec until;
    int rc = 0;
    clock_gettime(CLOCK_MONOTONIC, &until);
    clock_timespec_add_ms(&until, timeout_ms);
    while (*flag == 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
    return *flag == 1 ? 0 : *flag == -1 ? WCS_E_LINK : -ETIMEDOUT;
}

int mqttc_connect_start(struct mqttc **out, const char *uri, const char *client_id,
                        const char *user, const char *password, char *err, size_t err_len)
{
    struct mqttc *c = calloc(1, sizeof(*c));
    pthread_condattr_t ca;
    int rc;
    if (!c)
        return -ENOMEM;
    c->reg_fd = -1;
    c->sub_qos = 1;
    atomic_init(&c->connected, false);
    atomic_init(&c->need_write, false);
    atomic_init(&c->connects, 0);
    atomic_init(&c->queued, 0);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->qmu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&net_life);
    if (net.users == 0 && (rc = net_start()) != 0) {
        pthread_mutex_unlock(&net_life);
        wcs_errf(err, err_len, "mqtt client %s: no network thread (%d)", client_id, rc);
        client_free(c);
        return rc;
    }
    net.users++;
    pthread_mutex_unlock(&net_life);
    /* From here the client is counted: every failure goes through mqttc_close. */
    if (!(c->host = uri_host(uri, &c->port)) || !(c->m = mosquitto_new(client_id, true, c))) {
        wcs_errf(err, err_len, "mqtt client %s: create failed", client_id);
        rc = -ENOMEM;
        goto fail;
    }
    /* MQTT 3.1.1, as the paho client before it spoke. No Nagle delay on small messages, as an
     * RF device would. */
    mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(c->m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(c->m, MOSQ_OPT_SEND_MAXIMUM, MAX_INFLIGHT);
    if (mosquitto_username_pw_set(c->m, user, password) != MOSQ_ERR_SUCCESS) {
        wcs_errf(err, err_len, "mqtt client %s: bad user or password", client_id);
        rc = -EINVAL;
        goto fail;
    }
    mosquitto_connect_callback_set(c->m, on_connect);
    mosquitto_subscribe_callback_set(c->m, on_subscribe);
    mosquitto_message_callback_set(c->m, on_message);
    pthread_mutex_lock(&net.mu);
    if ((rc = slot_take(c)) != 0) {
        pthread_mutex_unlock(&net.mu);
        wcs_errf(err, err_len, "mqtt client %s: out of memory", client_id);
        goto fail;
    }
    pthread_mutex_lock(&c->mu);
    /* A refusal now (nothing listening) shows as a failed first connection in
     * mqttc_connect_wait, as a refusal after the SYN would. */
    (void)mosquitto_connect_async(c->m, c->host, c->port, KEEPALIVE_S);
    sync_socket(c, true);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&net.mu);
    *out = c;
    return 0;
fail:
    mqttc_close(c);
    return rc;
}

int mqttc_connect_wait(struct mqttc *c, int timeout_ms)
{
    int rc;
    pthread_mutex_lock(&c->mu);
    rc = wait_result(c, &c->conn_done, timeout_ms);
    pthread_mutex_unlock(&c->mu);
    return rc;
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
    int mid = 0, rc;
    size_t first;
    pthread_mutex_lock(&c->mu);
    if (n == 0 || c->n_filters + n > MAX_FILTERS) {
        pthread_mutex_unlock(&c->mu);
        return WCS_E_FULL;
    }
    first = c->n_filters;
    for (size_t i = 0; i < n; i++) {
        if (!(c->filters[c->n_filters] = strdup(filters[i]))) {
            pthread_mutex_unlock(&c->mu);
            return -ENOMEM;
        }
        c->n_filters++;
    }
    /* Kept either way: the next connect subscribes them. */
    if (!atomic_load(&c->connected) ||
        mosquitto_subscribe_multiple(c->m, &mid, (int)n, &c->filters[first], c->sub_qos, 0, NULL) !=
            MOSQ_ERR_SUCCESS) {
        pthread_mutex_unlock(&c->mu);
        return WCS_E_LINK;
    }
    c->sub_mid = mid;
    c->sub_done = 0;
    kick(c);
    rc = wait_result(c, &c->sub_done, SUBACK_TIMEOUT_MS);
    c->sub_mid = 0;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void mqttc_sub_qos0(struct mqttc *c)
{
    pthread_mutex_lock(&c->mu);
    c->sub_qos = 0;
    pthread_mutex_unlock(&c->mu);
}

int mqttc_subscribe(struct mqttc *c, const char *filter)
{
    return mqttc_subscribe_many(c, &filter, 1);
}

int mqttc_publish(struct mqttc *c, const char *topic, const char *payload)
{
    size_t len = strlen(payload);
    int rc;
    if (len > INT32_MAX)
        return -EMSGSIZE;
    pthread_mutex_lock(&c->mu);
    if (!atomic_load(&c->connected)) {
        pthread_mutex_unlock(&c->mu);
        return WCS_E_LINK;
    }
    rc = mosquitto_publish(c->m, NULL, topic, (int)len, payload, 1, false);
    kick(c);
    pthread_mutex_unlock(&c->mu);
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
    /* The write failed but the message is in libmosquitto's QoS 1 queue: it goes again after
     * the reconnect, as paho resent what it had accepted. */
    case MOSQ_ERR_CONN_LOST:
    case MOSQ_ERR_ERRNO:
        return 0;
    case MOSQ_ERR_NOMEM:
        return -ENOMEM;
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
        return -EMSGSIZE;
    case MOSQ_ERR_NO_CONN:
        return WCS_E_LINK;
    default:
        return -EINVAL; /* a topic that is no topic */
    }
}

unsigned mqttc_connects(struct mqttc *c)
{
    return atomic_load(&c->connects);
}

void mqttc_set_offline(struct mqttc *c, bool offline)
{
    uint64_t one = 1;
    pthread_mutex_lock(&net.mu);
    pthread_mutex_lock(&c->mu);
    c->offline = offline;
    if (offline) {
        int fd = mosquitto_socket(c->m);
        c->retry_at_ms = 0;
        if (fd >= 0) {
            /* No DISCONNECT: the link just goes, as a handheld's leaving the radio's reach. The
             * reads find the end of the stream and libmosquitto closes its socket. */
            (void)shutdown(fd, SHUT_RDWR);
            for (int i = 0; i < READS_PER_EVENT && mosquitto_socket(c->m) >= 0; i++)
                if (mosquitto_loop_read(c->m, 1) != MOSQ_ERR_SUCCESS)
                    break;
            if (mosquitto_socket(c->m) >= 0)
                (void)mosquitto_disconnect(c->m);
        }
        sync_socket(c, false);
        atomic_store(&c->connected, false);
    } else if (mosquitto_socket(c->m) < 0 && c->conn_done > 0) {
        /* back at once, then the usual backoff */
        c->retry_ms = 0;
        c->retry_at_ms = mono_ms();
        if (!net.next_retry_ms || c->retry_at_ms < net.next_retry_ms)
            net.next_retry_ms = c->retry_at_ms;
        (void)!write(net.wake, &one, sizeof(one));
    }
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&net.mu);
}

bool mqttc_is_connected(struct mqttc *c)
{
    return atomic_load(&c->connected);
}

struct mqttc_msg *mqttc_pop(struct mqttc *c)
{
    struct mqttc_msg *m;
    /* the runner polls every client each tick, nearly all of them with nothing queued */
    if (atomic_load(&c->queued) == 0)
        return NULL;
    pthread_mutex_lock(&c->qmu);
    m = c->head;
    if (m) {
        atomic_fetch_sub(&c->queued, 1);
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        m->next = NULL;
    }
    pthread_mutex_unlock(&c->qmu);
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
    /* Out of the network thread's hands first: from here this thread alone touches c. */
    net_release(c);
    if (c->m && atomic_load(&c->connected)) {
        uint64_t end = mono_ms() + CLOSE_FLUSH_MS;
        /* A DISCONNECT, so the broker does not publish a Will or count a lost client; what the
         * kernel does not take at once gets a moment. */
        mosquitto_disconnect(c->m);
        while (mosquitto_socket(c->m) >= 0 && mosquitto_want_write(c->m) && mono_ms() < end) {
            struct pollfd p = {.fd = mosquitto_socket(c->m), .events = POLLOUT};
            if (poll(&p, 1, CLOSE_FLUSH_MS) <= 0 || mosquitto_loop_write(c->m, 1) != 0)
                break;
        }
    }
    client_free(c);
}
