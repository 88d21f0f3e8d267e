/* The bus on the event loop (see bus.h): connection state and reconnect backoff, the table of
 * retained topics republished on every connect, the bounded offline buffer, seq/ts stamping, and
 * the command path (topic and envelope checks, handler dispatch, replies). The MQTT client
 * (libmosquitto) is reached only through mqlink.h; the pure parts live in codec.c. */
#include "bus/bus.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/hash.h"
#include "codec.h"
#include "mqlink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPIC_MAX        320
#define PASSWORD_MAX     4096
#define MAX_UNACKED      4096
#define CLOSE_TIMEOUT_MS 1000

enum conn_state { ST_DOWN, ST_CONNECTING, ST_UP };

/* A message waiting for the MQTT link to take it. */
struct out_msg {
    char *topic;
    char *payload;
    size_t len;
    int qos;
    bool retain;
    uint32_t expiry_s;
    void *corr;
    size_t corr_len;
};

/* A retained topic the bus owns: republished on every connect. A tombstone (body NULL) is an
 * empty retained payload still to be sent; it leaves the table once the broker has it. */
struct retained {
    char *topic;
    json_t *body; /* deep copy; NULL for a tombstone */
    int64_t ts_ms;
    uint64_t sent_us; /* loop clock of the last send; 0: never */
    bool dirty;
};

struct pending {
    struct bus_cmd cmd;
    struct pending *prev, *next;
    struct pending *held_next; /* in the held queue (bus_hold_commands) */
};

struct bus {
    struct loop *loop;
    struct mqlink *link;
    bus_cmd_fn on_cmd;
    void *arg;
    void (*on_refused)(void *arg, const char *user, const char *command, const char *request_id,
                       const char *reason);
    void *refused_arg;
    void (*on_foreign_alarm)(void *arg, const char *id, const json_t *body);
    void *foreign_arg;
    int subs_pending; /* SUBACKs still expected on this connection */
    bool closing;     /* bus_close runs: commands still arriving are answered "shutting down" */
    bool hold;        /* bus_hold_commands */
    struct pending *held, **held_tail; /* held commands, oldest first */
    char **foreign; /* alarm topics found on the broker and not yet raised or cleared here */
    size_t n_foreign, cap_foreign;

    /* options, copied */
    char *user, *password_file, *site, *share_group;
    uint64_t gen;
    int mqtt_version, keepalive_s, event_qos;
    bool clean_start;
    uint32_t session_expiry_s;
    size_t max_payload, max_retained;
    uint32_t expiry_s, reconnect_min_ms, reconnect_max_ms, retry_ms;

    char prefix[BUS_NAME_MAX + 16]; /* "wcs/v1/<site>/" */
    size_t prefix_len;
    char *will_payload;
    size_t will_len;

    enum conn_state state;
    uint32_t backoff_ms;
    uint64_t reconnect_timer;
    bool reconnect_armed;
    uint64_t flush_timer, flush_due_us; /* arm_flush: loop clock */
    bool flush_armed;
    uint64_t state_min_us; /* bus_opts.state_min_interval_us */
    bool status_dirty;

    struct out_msg **ring; /* the offline buffer, oldest at head */
    size_t ring_cap, ring_head, ring_len;

    struct retained *ret; /* table, with an open-addressing index of (position + 1) */
    size_t ret_len, ret_cap, n_dirty;
    uint32_t *slots;
    size_t n_slots;

    struct pending *pending; /* commands not answered yet */

    struct bus_stats st;
    struct hist cmd_lat; /* bus_cmd_latency */
};

static int64_t now_ms(const struct bus *b)
{
    return clock_wall_ms(loop_clock(b->loop));
}

static void flush(struct bus *b);

/* ---- offline buffer ---- */

static void out_free(struct out_msg *m)
{
    if (!m)
        return;
    free(m->topic);
    free(m->payload);
    free(m->corr);
    free(m);
}

static void on_flush_timer(struct loop *l, uint64_t id, void *arg)
{
    struct bus *b = arg;
    (void)l;
    (void)id;
    b->flush_armed = false;
    flush(b);
}

/* One timer runs flush() for whoever needs it soonest: the backlog re-offered while the link
 * refuses (arm_retry; its MQLINK_EV_SEND_READY usually comes first), or the state topics held by
 * coalescing (state_min_us). A flush sends every dirty topic, so one tick serves both. */
static void arm_flush(struct bus *b, uint64_t delay_us)
{
    uint64_t due = loop_now_us(b->loop) + delay_us;
    if (b->state != ST_UP || b->closing || (b->flush_armed && b->flush_due_us <= due))
        return;
    if (b->flush_armed)
        loop_cancel_timer(b->loop, b->flush_timer);
    b->flush_armed = loop_add_timer(b->loop, delay_us, on_flush_timer, b, &b->flush_timer) == 0;
    b->flush_due_us = due;
}

static void arm_retry(struct bus *b)
{
    arm_flush(b, (uint64_t)b->retry_ms * 1000);
}

/* Takes ownership of payload. */
static int buffer(struct bus *b, const char *topic, char *payload, size_t len, int qos, bool retain,
                  const struct mqlink_props *p)
{
    struct out_msg *m = calloc(1, sizeof(*m));
    if (!m || !(m->topic = strdup(topic)))
        goto fail;
    m->payload = payload;
    m->len = len;
    m->qos = qos;
    m->retain = retain;
    if (p) {
        m->expiry_s = p->expiry_s;
        if (p->correlation) {
            if (!(m->corr = malloc(p->correlation_len ? p->correlation_len : 1))) {
                m->payload = NULL;
                goto fail;
            }
            memcpy(m->corr, p->correlation, p->correlation_len);
            m->corr_len = p->correlation_len;
        }
    }
    if (b->ring_len == b->ring_cap) {
        /* Full: the oldest message goes, counted (DESIGN.md §3: never lost silently). */
        out_free(b->ring[b->ring_head]);
        b->ring_head = (b->ring_head + 1) % b->ring_cap;
        b->ring_len--;
        b->st.offline_dropped++;
    }
    b->ring[(b->ring_head + b->ring_len) % b->ring_cap] = m;
    b->ring_len++;
    arm_retry(b);
    return 0;
fail:
    if (m)
        m->payload = NULL;
    out_free(m);
    free(payload);
    return -ENOMEM;
}

/* Sends now when the link is up and nothing older waits; otherwise buffers in order.
 * Takes ownership of payload. */
static int publish(struct bus *b, const char *topic, char *payload, size_t len, int qos,
                   bool retain, const struct mqlink_props *p)
{
    if (b->state == ST_UP && b->ring_len == 0) {
        int rc = mqlink_send(b->link, topic, payload, len, qos, retain, p);
        if (rc == 0) {
            b->st.published++;
            free(payload);
            return 0;
        }
        if (rc != -EAGAIN && rc != WCS_E_LINK) {
            free(payload);
            return rc;
        }
    }
    return buffer(b, topic, payload, len, qos, retain, p);
}

/* ---- retained table ---- */

static void fill_slots(const struct bus *b, uint32_t *s, size_t n_slots)
{
    memset(s, 0, n_slots * sizeof(*s));
    for (size_t i = 0; i < b->ret_len; i++) {
        size_t j = hash_str(b->ret[i].topic) & (n_slots - 1);
        while (s[j])
            j = (j + 1) & (n_slots - 1);
        s[j] = (uint32_t)(i + 1);
    }
}

static int grow_index(struct bus *b, size_t n_slots)
{
    uint32_t *s = malloc(n_slots * sizeof(*s));
    if (!s)
        return -ENOMEM;
    fill_slots(b, s, n_slots);
    free(b->slots);
    b->slots = s;
    b->n_slots = n_slots;
    return 0;
}

static struct retained *ret_find(struct bus *b, const char *topic)
{
    if (!b->n_slots)
        return NULL;
    for (size_t j = hash_str(topic) & (b->n_slots - 1); b->slots[j]; j = (j + 1) & (b->n_slots - 1))
        if (strcmp(b->ret[b->slots[j] - 1].topic, topic) == 0)
            return &b->ret[b->slots[j] - 1];
    return NULL;
}

static struct retained *ret_add(struct bus *b, const char *topic)
{
    struct retained *r;
    if (b->ret_len == b->max_retained)
        return NULL;
    if (b->ret_len == b->ret_cap) {
        size_t cap = b->ret_cap ? b->ret_cap * 2 : 16;
        r = realloc(b->ret, cap * sizeof(*r));
        if (!r)
            return NULL;
        b->ret = r;
        b->ret_cap = cap;
    }
    if ((b->ret_len + 1) * 2 > b->n_slots && grow_index(b, b->n_slots ? b->n_slots * 2 : 32) < 0)
        return NULL;
    r = &b->ret[b->ret_len];
    memset(r, 0, sizeof(*r));
    if (!(r->topic = strdup(topic)))
        return NULL;
    b->ret_len++;
    size_t j = hash_str(topic) & (b->n_slots - 1);
    while (b->slots[j])
        j = (j + 1) & (b->n_slots - 1);
    b->slots[j] = (uint32_t)b->ret_len;
    return r;
}

static void ret_remove(struct bus *b, struct retained *r)
{
    size_t i = (size_t)(r - b->ret);
    if (r->dirty)
        b->n_dirty--;
    free(r->topic);
    json_decref(r->body);
    b->ret[i] = b->ret[--b->ret_len];
    /* Removal is rare (an alarm cleared, a state deleted): rebuilding the index in place is
     * simpler than tombstoned probing and costs one pass. */
    fill_slots(b, b->slots, b->n_slots);
}

static void mark_dirty(struct bus *b, struct retained *r)
{
    if (!r->dirty) {
        r->dirty = true;
        b->n_dirty++;
    }
}

/* Tries to hand one retained entry to the link. Returns 0, -EAGAIN or WCS_E_LINK (stop flushing),
 * or another negative code (the entry is skipped and stays dirty). */
static int ret_send(struct bus *b, struct retained *r)
{
    char *p = NULL;
    size_t len = 0;
    int rc;
    if (r->body) {
        p = bus_payload_dump(r->body, r->ts_ms, b->st.seq + 1, &len);
        if (!p)
            return -ENOMEM;
        b->st.seq++;
    }
    rc = mqlink_send(b->link, r->topic, p ? p : "", len, 1, true, NULL);
    free(p);
    if (rc == 0) {
        b->st.published++;
        r->sent_us = loop_now_us(b->loop);
        if (!r->body) {
            ret_remove(b, r);
            return 0;
        }
        r->dirty = false;
        b->n_dirty--;
    }
    return rc;
}

/* Stores body as the retained value of topic (NULL body: a tombstone) and sends it when the
 * link is idle; otherwise it goes out at the next flush. */
/* Forgets a foreign alarm topic; returns whether it was listed. */
static bool foreign_take(struct bus *b, const char *topic)
{
    for (size_t i = 0; i < b->n_foreign; i++)
        if (strcmp(b->foreign[i], topic) == 0) {
            free(b->foreign[i]);
            b->foreign[i] = b->foreign[--b->n_foreign];
            return true;
        }
    return false;
}

static int ret_set(struct bus *b, const char *topic, const json_t *body, bool tombstone,
                   bool coalesce)
{
    struct retained *r = ret_find(b, topic);
    json_t *copy = NULL;

    if (body && !json_is_object(body))
        return -EINVAL;
    /* A foreign alarm may be cleared although this bus never raised it. */
    if (tombstone && !r && !foreign_take(b, topic))
        return -ENOENT;
    if (!tombstone && !r && b->n_foreign)
        (void)foreign_take(b, topic); /* adopted */
    if (!tombstone) {
        copy = body ? json_deep_copy(body) : json_object();
        if (!copy)
            return -ENOMEM;
    }
    if (!r && !(r = ret_add(b, topic))) {
        json_decref(copy);
        return b->ret_len == b->max_retained ? WCS_E_FULL : -ENOMEM;
    }
    json_decref(r->body);
    r->body = copy;
    r->ts_ms = now_ms(b);
    mark_dirty(b, r);
    if (coalesce && copy && b->state_min_us && r->sent_us &&
        loop_now_us(b->loop) - r->sent_us < b->state_min_us) {
        /* Sent a moment ago: this value (or a later one) goes out with the next flush. */
        arm_flush(b, b->state_min_us);
        return 0;
    }
    if (b->state == ST_UP && b->ring_len == 0 && !b->status_dirty) {
        int rc = ret_send(b, r);
        if (rc == -EAGAIN || rc == WCS_E_LINK)
            arm_retry(b);
        else if (rc < 0)
            return rc;
    } else {
        arm_retry(b);
    }
    return 0;
}

/* ---- flushing: birth, then dirty retained topics, then the offline buffer in order ---- */

static int send_status(struct bus *b, bool online)
{
    json_t *o = json_pack("{s:b,s:I}", "online", online, "gen", (json_int_t)b->gen);
    char topic[TOPIC_MAX], *p;
    size_t len;
    int rc;
    if (!o)
        return -ENOMEM;
    p = bus_payload_dump(o, now_ms(b), b->st.seq + 1, &len);
    json_decref(o);
    if (!p)
        return -ENOMEM;
    b->st.seq++;
    snprintf(topic, sizeof(topic), "%sstatus", b->prefix);
    rc = mqlink_send(b->link, topic, p, len, 1, true, NULL);
    free(p);
    if (rc == 0)
        b->st.published++;
    return rc;
}

static void flush(struct bus *b)
{
    int rc;
    if (b->state != ST_UP)
        return;
    if (b->status_dirty) {
        rc = send_status(b, true);
        if (rc == -EAGAIN || rc == WCS_E_LINK)
            goto again;
        b->status_dirty = false;
    }
    for (size_t i = 0; b->n_dirty > 0 && i < b->ret_len;) {
        struct retained *r = &b->ret[i];
        size_t before = b->ret_len;
        if (!r->dirty) {
            i++;
            continue;
        }
        rc = ret_send(b, r);
        if (rc == -EAGAIN || rc == WCS_E_LINK)
            goto again;
        /* A sent tombstone swapped the last entry into slot i: look at slot i again. */
        if (b->ret_len == before)
            i++;
    }
    while (b->ring_len > 0) {
        struct out_msg *m = b->ring[b->ring_head];
        struct mqlink_props p = {m->expiry_s, m->corr, m->corr_len};
        rc = mqlink_send(b->link, m->topic, m->payload, m->len, m->qos, m->retain, &p);
        if (rc == -EAGAIN || rc == WCS_E_LINK)
            goto again;
        if (rc == 0)
            b->st.published++;
        /* Any other refusal (-EINVAL) would repeat forever: the message is dropped, counted. */
        else
            b->st.offline_dropped++;
        out_free(m);
        b->ring_head = (b->ring_head + 1) % b->ring_cap;
        b->ring_len--;
    }
    return;
again:
    arm_retry(b);
}

/* ---- connection ---- */

static void do_connect(struct bus *b);

static void on_reconnect(struct loop *l, uint64_t id, void *arg)
{
    struct bus *b = arg;
    (void)l;
    (void)id;
    b->reconnect_armed = false;
    do_connect(b);
}

static void schedule_reconnect(struct bus *b)
{
    b->state = ST_DOWN;
    if (b->reconnect_armed)
        return;
    if (loop_add_timer(b->loop, (uint64_t)b->backoff_ms * 1000, on_reconnect, b,
                       &b->reconnect_timer) == 0)
        b->reconnect_armed = true;
    b->backoff_ms =
        b->backoff_ms * 2 > b->reconnect_max_ms ? b->reconnect_max_ms : b->backoff_ms * 2;
}

/* Reads the password file (at every attempt, so a rotated password is picked up). */
static int read_password(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    size_t len = 0;
    if (fd < 0)
        return -errno;
    while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            n = -errno;
            close(fd);
            return (int)n;
        }
        len += (size_t)n;
    }
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    return 0;
}

static void do_connect(struct bus *b)
{
    char password[PASSWORD_MAX], topic[TOPIC_MAX];
    struct mqlink_connect c = {
        .user = b->user,
        .keepalive_s = b->keepalive_s,
        .clean_start = b->clean_start,
        .session_expiry_s = b->session_expiry_s,
        .will_topic = topic,
        .will_payload = b->will_payload,
        .will_len = b->will_len,
    };
    int rc = 0;

    if (b->password_file) {
        rc = read_password(b->password_file, password, sizeof(password));
        c.password = password;
    }
    snprintf(topic, sizeof(topic), "%sstatus", b->prefix);
    if (rc == 0)
        rc = mqlink_connect(b->link, &c);
    explicit_bzero(password, sizeof(password));
    if (rc < 0) {
        b->st.connect_failures++;
        schedule_reconnect(b);
        return;
    }
    b->state = ST_CONNECTING;
}

static void on_connected(struct bus *b)
{
    char filter[TOPIC_MAX + BUS_NAME_MAX];
    b->state = ST_UP;
    b->st.connects++;
    b->backoff_ms = b->reconnect_min_ms;
    if (b->share_group)
        snprintf(filter, sizeof(filter), "$share/%s/%scmd/+/+", b->share_group, b->prefix);
    else
        snprintf(filter, sizeof(filter), "%scmd/+/+", b->prefix);
    b->subs_pending = 1;
    if (mqlink_subscribe(b->link, filter, 1) < 0)
        b->st.subscribed = false;
    /* The broker's retained alarms: those this bus did not raise are a previous process's
     * (on_alarm_msg). Not with a share group: there the other processes own theirs. */
    if (!b->share_group) {
        snprintf(filter, sizeof(filter), "%salarm/+", b->prefix);
        if (mqlink_subscribe(b->link, filter, 1) == 0)
            b->subs_pending++;
    }
    /* MQTT is not a durable log: a restarted broker may hold none of our retained topics. */
    b->status_dirty = true;
    for (size_t i = 0; i < b->ret_len; i++)
        mark_dirty(b, &b->ret[i]);
    flush(b);
}

/* The link's events, on the loop (from its socket or timer handlers). */
static void on_link_event(void *arg, const struct mqlink_ev *ev)
{
    struct bus *b = arg;
    switch (ev->kind) {
    case MQLINK_EV_CONNECTED:
        if (b->state == ST_CONNECTING)
            on_connected(b);
        break;
    case MQLINK_EV_CONNECT_FAILED:
        if (b->state == ST_CONNECTING) {
            b->st.connect_failures++;
            schedule_reconnect(b);
        }
        break;
    case MQLINK_EV_LOST:
        if (b->state == ST_UP) {
            b->st.disconnects++;
            b->st.subscribed = false;
            b->backoff_ms = b->reconnect_min_ms;
            schedule_reconnect(b);
        }
        break;
    case MQLINK_EV_SUBSCRIBED:
        if (--b->subs_pending <= 0)
            b->st.subscribed = b->state == ST_UP;
        break;
    case MQLINK_EV_SUBSCRIBE_FAILED:
        b->st.subscribed = false;
        break;
    case MQLINK_EV_SEND_READY:
        flush(b);
        break;
    }
}

/* ---- commands ---- */

static int reply_send(struct bus *b, const char *user, const char *rid_topic, const char *rt,
                      const void *corr, size_t corr_len, char *payload, size_t len)
{
    char topic[TOPIC_MAX];
    struct mqlink_props p = {b->expiry_s, NULL, 0};
    int rc, rc2 = 0;
    snprintf(topic, sizeof(topic), "%sreply/%s/%s", b->prefix, user, rid_topic);
    if (rt) {
        char *copy = malloc(len + 1);
        struct mqlink_props pc = {b->expiry_s, corr, corr_len};
        if (copy) {
            memcpy(copy, payload, len + 1);
            rc2 = publish(b, rt, copy, len, 1, false, &pc);
        } else {
            rc2 = -ENOMEM;
        }
    }
    rc = publish(b, topic, payload, len, 1, false, &p);
    return rc < 0 ? rc : rc2;
}

/* Answers a command with ok:false and error. */
static void answer_error(struct bus *b, const char *user, const char *rid, const char *command,
                         const struct mqlink_msg *m, bool rt_ok, const char *error)
{
    size_t len;
    char *p = bus_reply_dump(false, rid, command, NULL, error, now_ms(b), b->st.seq + 1, &len);
    if (p) {
        b->st.seq++;
        reply_send(b, user, rid ? rid : "_invalid", rt_ok ? m->response_topic : NULL,
                   m->correlation, m->correlation_len, p, len);
    }
}

/* Answers a command the bus itself refuses, then reports it (DESIGN.md §3: the daemon journals
 * it). The report is made even when the reply could not be built: the refusal happened. */
static void refuse(struct bus *b, const char *user, const char *rid, const char *command,
                   const struct mqlink_msg *m, bool rt_ok, const char *error)
{
    b->st.cmds_rejected++;
    answer_error(b, user, rid, command, m, rt_ok, error);
    if (b->on_refused)
        b->on_refused(b->refused_arg, user, command, rid, error);
}

static void on_command(struct bus *b, struct mqlink_msg *m)
{
    char user[BUS_NAME_MAX], command[BUS_NAME_MAX], rid[BUS_REQUEST_ID_MAX + 1];
    char err[BUS_ERR_MAX], err2[BUS_ERR_MAX];
    json_t *body = NULL;
    bool rt_ok;
    int trc, erc;
    struct pending *pc;

    trc = bus_cmd_topic_parse(m->topic, m->topic_len, b->site, user, command, err, sizeof(err));
    if (trc == WCS_E_UNKNOWN || trc == -EINVAL) {
        b->st.cmds_unanswerable++;
        return;
    }
    rt_ok = m->response_topic &&
            bus_response_topic_ok(m->response_topic, m->response_topic_len, b->site, user);
    if (m->response_topic && !rt_ok)
        b->st.response_topics_refused++;
    erc = bus_envelope_parse(m->payload, m->len, b->max_payload, &body, rid, err2, sizeof(err2));
    if (erc < 0) {
        refuse(b, user, NULL, trc == 0 ? command : NULL, m, rt_ok, err2);
        return;
    }
    if (trc < 0) {
        refuse(b, user, rid, NULL, m, rt_ok, err);
        goto out_body;
    }
    if (m->retained) {
        refuse(b, user, rid, command, m, rt_ok, "retained commands are refused");
        goto out_body;
    }
    if (b->closing) {
        /* Arrived while bus_close drains the link: libmosquitto has acknowledged it to the
         * broker, so it is answered as the pending ones were, not dropped. */
        answer_error(b, user, rid, command, m, rt_ok, "shutting down");
        goto out_body;
    }
    if (!b->on_cmd) {
        refuse(b, user, rid, command, m, rt_ok, "this wcs accepts no commands");
        goto out_body;
    }
    pc = calloc(1, sizeof(*pc));
    if (!pc) {
        refuse(b, user, rid, command, m, rt_ok, "out of memory");
        goto out_body;
    }
    memcpy(pc->cmd.user, user, sizeof(user));
    memcpy(pc->cmd.command, command, sizeof(command));
    memcpy(pc->cmd.request_id, rid, sizeof(rid));
    pc->cmd.body = body;
    pc->cmd.bus = b;
    pc->cmd.received_us = clock_real_mono_us();
    if (rt_ok) {
        pc->cmd.response_topic = m->response_topic;
        m->response_topic = NULL;
        pc->cmd.correlation = m->correlation;
        pc->cmd.correlation_len = m->correlation_len;
        m->correlation = NULL;
    }
    pc->next = b->pending;
    if (pc->next)
        pc->next->prev = pc;
    b->pending = pc;
    b->st.cmds++;
    if (b->hold) {
        *b->held_tail = pc;
        b->held_tail = &pc->held_next;
        return;
    }
    b->on_cmd(b, &pc->cmd, b->arg);
    return;
out_body:
    json_decref(body);
}

static bool name_ok(const char *s)
{
    return s && bus_name_ok(s, strlen(s));
}

/* A message on alarm/<id>. Only retained ones count (the broker's stored alarms, sent when the
 * subscription is made); live copies of our own alarms are ignored. One this bus does not hold
 * was raised by an earlier process and nobody will clear it: the owner decides, or it is
 * cleared. */
static void on_alarm_msg(struct bus *b, const struct mqlink_msg *m)
{
    const char *id = m->topic + strlen(b->prefix) + strlen("alarm/");
    json_t *body;
    if (!m->retained || m->len == 0 || !name_ok(id) || ret_find(b, m->topic))
        return;
    b->st.foreign_alarms++;
    if (!foreign_take(b, m->topic) && b->n_foreign == b->cap_foreign) {
        size_t cap = b->cap_foreign ? 2 * b->cap_foreign : 16;
        char **p = realloc(b->foreign, cap * sizeof(*p));
        if (!p)
            return; /* counted; it stays on the broker until the next connect */
        b->foreign = p;
        b->cap_foreign = cap;
    }
    if (!(b->foreign[b->n_foreign] = strdup(m->topic)))
        return;
    b->n_foreign++;
    body = json_loadb(m->payload, m->len, 0, NULL);
    if (b->on_foreign_alarm)
        b->on_foreign_alarm(b->foreign_arg, id, body);
    else
        (void)bus_clear_alarm(b, id);
    json_decref(body);
}

/* A message straight from the link, inside its socket handler on the loop. */
static void on_link_msg(void *arg, struct mqlink_msg *m)
{
    struct bus *b = arg;
    size_t pl = b->prefix_len;
    if (m->topic_len > pl + 6 && strncmp(m->topic, b->prefix, pl) == 0 &&
        strncmp(m->topic + pl, "alarm/", 6) == 0) {
        if (!b->closing)
            on_alarm_msg(b, m);
    } else {
        on_command(b, m);
    }
}

static void cmd_free(struct bus_cmd *cmd)
{
    struct pending *pc = (struct pending *)cmd; /* cmd is the first member */
    struct bus *b = cmd->bus;
    if (pc->prev)
        pc->prev->next = pc->next;
    else
        b->pending = pc->next;
    if (pc->next)
        pc->next->prev = pc->prev;
    json_decref(cmd->body);
    free(cmd->response_topic);
    free(cmd->correlation);
    free(pc);
}

static int reply(struct bus_cmd *cmd, bool ok, const json_t *fields, const char *error)
{
    struct bus *b = cmd->bus;
    size_t len;
    int rc = 0;
    char *p = bus_reply_dump(ok, cmd->request_id, cmd->command, fields, error, now_ms(b),
                             b->st.seq + 1, &len);
    if (!p && ok) {
        /* The handler passed fields the reply cannot carry: still answer, then report it. */
        rc = -EINVAL;
        p = bus_reply_dump(false, cmd->request_id, cmd->command, NULL, "internal error", now_ms(b),
                           b->st.seq + 1, &len);
    }
    if (!p) {
        cmd_free(cmd);
        return -ENOMEM;
    }
    b->st.seq++;
    if (cmd->received_us)
        hist_add(&b->cmd_lat, clock_real_mono_us() - cmd->received_us);
    int src = reply_send(b, cmd->user, cmd->request_id, cmd->response_topic, cmd->correlation,
                         cmd->correlation_len, p, len);
    cmd_free(cmd);
    return rc < 0 ? rc : src;
}

void bus_hold_commands(struct bus *b, bool hold)
{
    struct pending *pc = b->held;
    b->hold = hold;
    if (hold)
        return;
    b->held = NULL;
    b->held_tail = &b->held;
    while (pc) {
        struct pending *next = pc->held_next; /* the handler may answer (free) pc at once */
        b->on_cmd(b, &pc->cmd, b->arg);
        pc = next;
    }
}

int bus_reply_ok(struct bus_cmd *cmd, const json_t *fields)
{
    return reply(cmd, true, fields, NULL);
}

int bus_reply_err(struct bus_cmd *cmd, const char *message)
{
    return reply(cmd, false, NULL, message);
}

/* ---- publishing API ---- */

static int stamped_publish(struct bus *b, const char *topic, const json_t *body, int qos)
{
    size_t len;
    char *p = bus_payload_dump(body, now_ms(b), b->st.seq + 1, &len);
    struct mqlink_props props = {b->expiry_s, NULL, 0};
    if (!p)
        return body && !json_is_object(body) ? -EINVAL : -ENOMEM;
    b->st.seq++;
    return publish(b, topic, p, len, qos, false, &props);
}

int bus_publish_event(struct bus *b, const char *type, const json_t *body)
{
    char topic[TOPIC_MAX];
    if (!name_ok(type))
        return -EINVAL;
    snprintf(topic, sizeof(topic), "%sevt/%s", b->prefix, type);
    return stamped_publish(b, topic, body, b->event_qos);
}

int bus_set_state(struct bus *b, const char *kind, const char *id, const json_t *body)
{
    char topic[TOPIC_MAX];
    if (!name_ok(kind) || !name_ok(id))
        return -EINVAL;
    snprintf(topic, sizeof(topic), "%sstate/%s/%s", b->prefix, kind, id);
    return ret_set(b, topic, body, false, true);
}

int bus_del_state(struct bus *b, const char *kind, const char *id)
{
    char topic[TOPIC_MAX];
    if (!name_ok(kind) || !name_ok(id))
        return -EINVAL;
    snprintf(topic, sizeof(topic), "%sstate/%s/%s", b->prefix, kind, id);
    return ret_set(b, topic, NULL, true, false);
}

int bus_set_kpi(struct bus *b, const json_t *body)
{
    char topic[TOPIC_MAX];
    snprintf(topic, sizeof(topic), "%skpi", b->prefix);
    return ret_set(b, topic, body, false, false);
}

int bus_raise_alarm(struct bus *b, const char *id, const json_t *body)
{
    char topic[TOPIC_MAX];
    if (!name_ok(id))
        return -EINVAL;
    snprintf(topic, sizeof(topic), "%salarm/%s", b->prefix, id);
    return ret_set(b, topic, body, false, false);
}

int bus_clear_alarm(struct bus *b, const char *id)
{
    char topic[TOPIC_MAX];
    if (!name_ok(id))
        return -EINVAL;
    snprintf(topic, sizeof(topic), "%salarm/%s", b->prefix, id);
    return ret_set(b, topic, NULL, true, false);
}

bool bus_alarm_raised(const struct bus *b, const char *id)
{
    char topic[TOPIC_MAX];
    const struct retained *r;
    if (!name_ok(id))
        return false;
    snprintf(topic, sizeof(topic), "%salarm/%s", b->prefix, id);
    r = ret_find((struct bus *)b, topic);
    return r && r->body;
}

const json_t *bus_alarm_body(const struct bus *b, const char *id)
{
    char topic[TOPIC_MAX];
    const struct retained *r;
    if (!name_ok(id))
        return NULL;
    snprintf(topic, sizeof(topic), "%salarm/%s", b->prefix, id);
    r = ret_find((struct bus *)b, topic);
    return r ? r->body : NULL;
}

const struct hist *bus_cmd_latency(const struct bus *b)
{
    return &b->cmd_lat;
}

void bus_get_stats(const struct bus *b, struct bus_stats *out)
{
    *out = b->st;
    out->connected = b->state == ST_UP;
    out->offline_len = b->ring_len;
    out->inflight = mqlink_inflight(b->link);
    struct mqlink_counts c;
    mqlink_counts(b->link, &c);
    out->queue_dropped = c.recv_damaged;
    out->send_failures = c.send_failed;
    out->resent = c.resent;
    out->retained_failures = c.retained_failed;
}

/* ---- open / close ---- */

static char *dup_opt(const char *s, bool *oom)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static int check_opts(const struct bus_opts *o, char *err, size_t err_len)
{
    int v = o->mqtt_version ? o->mqtt_version : 5;
    if (!o->uri || !*o->uri)
        return wcs_errf(err, err_len, "uri: missing"), -EINVAL;
    if (!o->client_id || !*o->client_id)
        return wcs_errf(err, err_len, "client_id: missing"), -EINVAL;
    if (!name_ok(o->site))
        return wcs_errf(err, err_len, "site: expected 1..63 characters of [A-Za-z0-9_.-]"), -EINVAL;
    if (v != 4 && v != 5)
        return wcs_errf(err, err_len, "mqtt_version: expected 4 (3.1.1) or 5"), -EINVAL;
    if (o->share_group && (v != 5 || !name_ok(o->share_group)))
        return wcs_errf(err, err_len,
                        "share_group: needs MQTT 5 and 1..63 characters of [A-Za-z0-9_.-]"),
               -EINVAL;
    if (o->keepalive_s < 0 || o->max_unacked < 0 || o->max_unacked > 32768)
        return wcs_errf(err, err_len,
                        "keepalive_s, max_unacked: expected >= 0 (max_unacked <= 32768)"),
               -EINVAL;
    if (o->reconnect_min_ms && o->reconnect_max_ms && o->reconnect_min_ms > o->reconnect_max_ms)
        return wcs_errf(err, err_len, "reconnect_min_ms: above reconnect_max_ms"), -EINVAL;
    if (o->max_retained > UINT32_MAX / 4)
        return wcs_errf(err, err_len, "max_retained: too large"), -EINVAL;
    return 0;
}

int bus_open(struct bus **out, struct loop *l, const struct bus_opts *o, bus_cmd_fn on_cmd,
             void *arg, char *err, size_t err_len)
{
    struct mqlink_opts lo;
    struct bus *b;
    bool oom = false;
    json_t *will;
    int rc = check_opts(o, err, err_len);
    if (rc < 0)
        return rc;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->loop = l;
    b->on_cmd = on_cmd;
    b->arg = arg;
    b->on_refused = o->on_refused;
    b->refused_arg = o->on_refused_arg;
    b->on_foreign_alarm = o->on_foreign_alarm;
    b->foreign_arg = o->on_foreign_alarm_arg;
    b->user = dup_opt(o->user, &oom);
    b->password_file = dup_opt(o->password_file, &oom);
    b->site = dup_opt(o->site, &oom);
    b->share_group = dup_opt(o->share_group, &oom);
    b->gen = o->gen;
    b->mqtt_version = o->mqtt_version ? o->mqtt_version : 5;
    b->keepalive_s = o->keepalive_s ? o->keepalive_s : 30;
    b->event_qos = o->events_qos0 ? 0 : 1;
    b->clean_start = !o->persistent_session;
    b->session_expiry_s = o->session_expiry_s ? o->session_expiry_s : 600;
    b->max_payload = o->max_payload_bytes ? o->max_payload_bytes : 65536;
    b->max_retained = o->max_retained ? o->max_retained : 65536;
    b->expiry_s = o->expiry_s;
    b->reconnect_min_ms = o->reconnect_min_ms ? o->reconnect_min_ms : 250;
    b->reconnect_max_ms = o->reconnect_max_ms ? o->reconnect_max_ms : 10000;
    if (b->reconnect_max_ms < b->reconnect_min_ms)
        b->reconnect_max_ms = b->reconnect_min_ms;
    b->backoff_ms = b->reconnect_min_ms;
    b->held_tail = &b->held;
    b->retry_ms = o->retry_ms ? o->retry_ms : 2;
    b->state_min_us = o->state_min_interval_us;
    b->ring_cap = o->offline_capacity ? o->offline_capacity : 10000;
    b->ring = calloc(b->ring_cap, sizeof(*b->ring));
    b->prefix_len = (size_t)snprintf(b->prefix, sizeof(b->prefix), "wcs/v1/%s/", o->site);
    /* The Will carries no ts/seq: the broker sends it at an unknown later time (docs/mqtt.md). */
    will = json_pack("{s:b,s:I}", "online", 0, "gen", (json_int_t)b->gen);
    b->will_payload = will ? json_dumps(will, JSON_COMPACT) : NULL;
    json_decref(will);
    if (oom || !b->ring || !b->will_payload) {
        rc = -ENOMEM;
        goto fail_bus;
    }
    b->will_len = strlen(b->will_payload);

    lo = (struct mqlink_opts){
        .uri = o->uri,
        .client_id = o->client_id,
        .mqtt_version = b->mqtt_version,
        .max_unacked = o->max_unacked ? o->max_unacked : MAX_UNACKED,
    };
    struct mqlink_cbs cbs = {.on_event = on_link_event, .on_msg = on_link_msg, .arg = b};
    rc = mqlink_open(&b->link, l, &lo, &cbs);
    if (rc < 0) {
        wcs_errf(err, err_len, "uri %s: %s", o->uri,
                 rc == -EINVAL ? "expected tcp://host:port or mqtt://host:port" : wcs_strerror(rc));
        goto fail_bus;
    }
    do_connect(b);
    *out = b;
    return 0;

fail_bus:
    free(b->will_payload);
    free(b->ring);
    free(b->user);
    free(b->password_file);
    free(b->site);
    free(b->share_group);
    free(b);
    return rc;
}

void bus_close(struct bus *b)
{
    if (!b)
        return;
    b->held = NULL; /* answered below with the other pending ones */
    b->held_tail = &b->held;
    while (b->pending)
        bus_reply_err(&b->pending->cmd, "shutting down");
    bool offline_sent = false;
    if (b->state == ST_UP) {
        /* Best effort within the close timeout: what the link takes now goes out before the
         * DISCONNECT; the rest of the backlog is dropped. */
        flush(b);
        offline_sent = send_status(b, false) == 0;
    }
    if (b->reconnect_armed)
        loop_cancel_timer(b->loop, b->reconnect_timer);
    if (b->flush_armed)
        loop_cancel_timer(b->loop, b->flush_timer);
    /* The link reports no events from here; commands it still receives are answered. */
    b->closing = true;
    /* If the link would not take the offline status, have the broker publish the Will instead,
     * so the retained status never keeps saying online after we are gone. */
    mqlink_close(b->link, CLOSE_TIMEOUT_MS, b->state == ST_UP && !offline_sent);
    while (b->ring_len > 0) {
        out_free(b->ring[b->ring_head]);
        b->ring_head = (b->ring_head + 1) % b->ring_cap;
        b->ring_len--;
    }
    for (size_t i = 0; i < b->ret_len; i++) {
        free(b->ret[i].topic);
        json_decref(b->ret[i].body);
    }
    for (size_t i = 0; i < b->n_foreign; i++)
        free(b->foreign[i]);
    free(b->foreign);
    free(b->ret);
    free(b->slots);
    free(b->ring);
    free(b->will_payload);
    free(b->user);
    free(b->password_file);
    free(b->site);
    free(b->share_group);
    free(b);
}
