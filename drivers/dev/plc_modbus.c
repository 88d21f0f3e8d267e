/* Modbus TCP/RTU conveyor PLC: the one file that wraps libmodbus. A worker thread per PLC owns
 * its modbus_t (error recovery off, short response timeout), polls every scan point's read
 * block each poll_ms, posts scans, confirmations and link changes to the loop, and writes a
 * point's whole write block in one FC16 request whenever it changes: a decision, an ack, or
 * the heartbeat tick. It reconnects by itself with bounded backoff. */
#include "plc_private.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/queue.h"

#include <errno.h>
#include <modbus.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { TIMEOUTS_BEFORE_RECONNECT = 3, SPIN_US = 300 };

struct point_state {
    struct plc_read_block blk;
    bool has_read;
    uint16_t last_scan_seq; /* survives reconnects: a scan is posted once */
    uint16_t last_confirm_seq;
    uint16_t last_status;
    bool status_known;
    struct plc_write_block w;
    bool dirty;
};

struct plc_modbus {
    struct conv_plc *p;
    modbus_t *ctx;
    bool connected;
    pthread_t thread;
    int wake_fd; /* written by conv_plc_close to stop the worker */
    _Atomic bool stop;
    struct bqueue *decisions; /* loop -> worker */
    struct plc_request reads[CONV_MAX_POINTS];
    size_t req_of_point[CONV_MAX_POINTS];
    int n_reads;
    struct plc_request writes[CONV_MAX_POINTS];
    struct point_state pt[CONV_MAX_POINTS];
    struct plc_heartbeat hb;
    uint16_t wcs_heartbeat;
    uint32_t backoff_ms;
    unsigned consecutive_timeouts;
    /* the link state last posted */
    enum conv_link link;
    enum conv_fault fault;
    enum conv_fault io_fault; /* the last request's failure (TIMEOUT/EXCEPTION), NONE if it
                                 succeeded */
    bool hb_stalled;
    bool data_fault;
    bool scan_posted; /* a scan went to the loop in this poll: its decision is imminent */
};

static uint64_t now_us(void)
{
    return clock_real_mono_us();
}

static void post_link(struct plc_modbus *m, enum conv_link link, enum conv_fault fault, int rc)
{
    struct conv_event ev = {0};

    if (link == m->link && fault == m->fault)
        return;
    m->link = link;
    m->fault = fault;
    atomic_store(&m->p->link, link);
    ev.kind = CONV_EVT_LINK;
    ev.at_us = now_us();
    ev.link = link;
    ev.fault = fault;
    ev.rc = rc;
    conv_post(m->p, &ev);
}

/* Recomputes the link state of a connected PLC from its current faults. */
static void update_link(struct plc_modbus *m, int rc)
{
    if (m->hb_stalled)
        post_link(m, CONV_LINK_FAULT, CONV_FAULT_HEARTBEAT, WCS_E_PROTOCOL);
    else if (m->io_fault != CONV_FAULT_NONE)
        post_link(m, CONV_LINK_FAULT, m->io_fault, rc);
    else if (m->data_fault)
        post_link(m, CONV_LINK_FAULT, CONV_FAULT_DATA, WCS_E_RANGE);
    else
        post_link(m, CONV_LINK_UP, CONV_FAULT_NONE, 0);
}

static void disconnect(struct plc_modbus *m, enum conv_fault why, int rc)
{
    if (m->connected) {
        modbus_close(m->ctx);
        m->connected = false;
    }
    post_link(m, CONV_LINK_DOWN, why, rc);
}

static int connect_plc(struct plc_modbus *m)
{
    const struct conv_plc_cfg *c = &m->p->cfg;
    uint32_t t = c->timeout_ms;

    if (modbus_connect(m->ctx) < 0)
        return errno ? -errno : -ECONNREFUSED;
    (void)modbus_set_response_timeout(m->ctx, t / 1000, (t % 1000) * 1000);
    (void)modbus_set_byte_timeout(m->ctx, t / 1000, (t % 1000) * 1000);
    m->connected = true;
    m->consecutive_timeouts = 0;
    m->io_fault = CONV_FAULT_NONE;
    m->hb_stalled = false;
    m->data_fault = false;
    plc_heartbeat_init(&m->hb, now_us());
    m->hb.seen = false;
    /* Rewrite every write block after a (re)connect: the PLC may have restarted. */
    for (size_t i = 0; i < c->n_points; i++)
        m->pt[i].dirty = true;
    atomic_fetch_add(&m->p->st.reconnects, 1);
    update_link(m, 0);
    return 0;
}

/* Classifies a failed request. Exceptions keep the connection; timeouts do until several in
 * a row; anything else (reset, broken pipe, bad frame) drops it. */
static void request_failed(struct plc_modbus *m, int err)
{
    if (err >= MODBUS_ENOBASE && err <= EMBXGTAR) {
        atomic_fetch_add(&m->p->st.exceptions, 1);
        m->io_fault = CONV_FAULT_EXCEPTION;
        update_link(m, WCS_E_PROTOCOL);
        return;
    }
    if (err == ETIMEDOUT) {
        atomic_fetch_add(&m->p->st.timeouts, 1);
        m->io_fault = CONV_FAULT_TIMEOUT;
        /* A late answer would be taken for the next request's: drop what arrived. */
        (void)modbus_flush(m->ctx);
        if (++m->consecutive_timeouts >= TIMEOUTS_BEFORE_RECONNECT)
            disconnect(m, CONV_FAULT_TIMEOUT, -ETIMEDOUT);
        else
            update_link(m, -ETIMEDOUT);
        return;
    }
    atomic_fetch_add(&m->p->st.connect_failures, 1);
    disconnect(m, CONV_FAULT_CONNECT, -err);
}

static void request_ok(struct plc_modbus *m)
{
    m->consecutive_timeouts = 0;
    if (m->io_fault != CONV_FAULT_NONE) {
        m->io_fault = CONV_FAULT_NONE;
        update_link(m, 0);
    }
}

static void write_point(struct plc_modbus *m, size_t i)
{
    const struct plc_regmap *map = &m->p->cfg.points[i];
    struct point_state *ps = &m->pt[i];
    uint16_t regs[PLC_WRITE_MAX_REGS];
    int n;

    ps->w.wcs_heartbeat = m->wcs_heartbeat;
    n = plc_write_encode(&ps->w, map, regs, PLC_WRITE_MAX_REGS);
    if (n < 0) { /* cmd_flags were checked in conv_plc_decide: cannot happen */
        ps->dirty = false;
        return;
    }
    if (modbus_write_registers(m->ctx, m->writes[i].addr, n, regs) < 0) {
        request_failed(m, errno);
        return;
    }
    atomic_fetch_add(&m->p->st.writes, 1);
    ps->dirty = false;
    request_ok(m);
}

static void write_dirty(struct plc_modbus *m)
{
    for (size_t i = 0; i < m->p->cfg.n_points && m->connected; i++)
        if (m->pt[i].dirty)
            write_point(m, i);
}

static void take_decisions(struct plc_modbus *m)
{
    struct conv_decision d;

    bq_drain_fd(m->decisions);
    while (bq_pop(m->decisions, &d) == 0) {
        struct point_state *ps = &m->pt[d.point];
        /* Never answer an item the PLC has moved past: its resp_seq would be a lie. */
        if (!ps->has_read || d.seq != ps->blk.scan_seq) {
            struct conv_event ev = {.kind = CONV_EVT_STALE, .point = d.point, .seq = d.seq};
            ev.at_us = now_us();
            atomic_fetch_add(&m->p->st.stale_decisions, 1);
            conv_post(m->p, &ev);
            continue;
        }
        ps->w.resp_seq = (uint16_t)d.seq;
        ps->w.dest_lane = d.dest_lane;
        ps->w.cmd_flags = d.cmd_flags;
        ps->dirty = true;
    }
}

static void on_block(struct plc_modbus *m, size_t i, const struct plc_read_block *b)
{
    struct point_state *ps = &m->pt[i];
    struct conv_event ev = {0};
    uint64_t t = now_us();

    ps->blk = *b;
    ps->has_read = true;
    ev.point = (uint16_t)i;
    ev.at_us = t;
    if (!ps->status_known || b->status != ps->last_status) {
        ps->status_known = true;
        ps->last_status = b->status;
        ev.kind = CONV_EVT_STATUS;
        ev.status = b->status;
        conv_post(m->p, &ev);
    }
    if (plc_seq_is_newer(b->scan_seq, ps->last_scan_seq)) {
        ps->last_scan_seq = b->scan_seq;
        m->scan_posted = true;
        ev.kind = CONV_EVT_SCAN;
        ev.seq = b->scan_seq;
        ev.read_result = b->read_result;
        ev.track_id = b->track_id;
        ev.status = b->status;
        memcpy(ev.barcode, b->barcode, sizeof(ev.barcode));
        conv_post(m->p, &ev);
    }
    if (b->confirm_seq != 0 && b->confirm_seq != ps->last_confirm_seq) {
        ps->last_confirm_seq = b->confirm_seq;
        memset(ev.barcode, 0, sizeof(ev.barcode));
        ev.kind = CONV_EVT_CONFIRM;
        ev.seq = b->confirm_seq;
        ev.confirm_result = b->confirm_result;
        ev.confirm_lane = b->confirm_lane;
        conv_post(m->p, &ev);
    }
    if (b->confirm_seq != ps->w.confirm_ack_seq) {
        ps->w.confirm_ack_seq = b->confirm_seq;
        ps->dirty = true;
    }
}

static void poll_plc(struct plc_modbus *m)
{
    const struct conv_plc_cfg *c = &m->p->cfg;
    uint16_t regs[CONV_MAX_POINTS][PLC_READ_MAX_REGS];
    bool stalled = false, bad = false;
    uint64_t t;

    atomic_fetch_add(&m->p->st.polls, 1);
    for (int r = 0; r < m->n_reads; r++) {
        if (modbus_read_registers(m->ctx, m->reads[r].addr, m->reads[r].count, regs[r]) < 0) {
            request_failed(m, errno);
            return;
        }
        atomic_fetch_add(&m->p->st.reads, 1);
    }
    request_ok(m);
    t = now_us();
    for (size_t i = 0; i < c->n_points; i++) {
        const struct plc_request *rq = &m->reads[m->req_of_point[i]];
        const uint16_t *blk = regs[m->req_of_point[i]] + (c->points[i].read_base - rq->addr);
        struct plc_read_block b;
        if (plc_read_decode(blk, c->points[i].read_regs, &c->points[i], &b) < 0) {
            atomic_fetch_add(&m->p->st.decode_errors, 1);
            bad = true;
            continue;
        }
        /* One heartbeat per PLC: every block carries it, the first decoded one is watched. */
        if (i == 0)
            (void)plc_heartbeat_sample(&m->hb, b.plc_heartbeat, t);
        on_block(m, i, &b);
    }
    stalled = plc_heartbeat_stalled(&m->hb, t, c->heartbeat_ms);
    if (stalled && !m->hb_stalled)
        atomic_fetch_add(&m->p->st.hb_stalls, 1);
    m->hb_stalled = stalled;
    m->data_fault = bad;
    update_link(m, 0);
}

/* Waits until deadline_us (CLOCK_MONOTONIC) or a decision or the stop signal. */
static void wait_until(struct plc_modbus *m, uint64_t deadline_us)
{
    struct pollfd fds[2] = {{bq_fd(m->decisions), POLLIN, 0}, {m->wake_fd, POLLIN, 0}};
    uint64_t t = now_us();
    int ms = deadline_us > t ? (int)((deadline_us - t + 999) / 1000) : 0;

    if (bq_len(m->decisions) > 0)
        return;
    if (m->scan_posted) {
        /* A decision usually follows a scan within tens of microseconds; waiting for it
         * awake saves a scheduler wake-up on the hot path (bench/modbus). Bounded by
         * SPIN_US, after which the worker sleeps as usual. */
        uint64_t until = t + SPIN_US < deadline_us ? t + SPIN_US : deadline_us;
        m->scan_posted = false;
        while (now_us() < until) {
            if (bq_len(m->decisions) > 0 || atomic_load(&m->stop))
                return;
            sched_yield();
        }
        t = now_us();
        ms = deadline_us > t ? (int)((deadline_us - t + 999) / 1000) : 0;
    }
    (void)poll(fds, 2, ms);
}

static void *worker(void *arg)
{
    struct plc_modbus *m = arg;
    const struct conv_plc_cfg *c = &m->p->cfg;
    uint64_t next_poll = 0, next_hb = 0;

    while (!atomic_load(&m->stop)) {
        uint64_t t;
        if (!m->connected) {
            int rc = connect_plc(m);
            if (rc < 0) {
                atomic_fetch_add(&m->p->st.connect_failures, 1);
                post_link(m, CONV_LINK_DOWN, CONV_FAULT_CONNECT, rc);
                wait_until(m, now_us() + (uint64_t)m->backoff_ms * 1000);
                m->backoff_ms =
                    m->backoff_ms * 2 > c->backoff_max_ms ? c->backoff_max_ms : m->backoff_ms * 2;
                /* Decisions queued while down are for items already gone. */
                take_decisions(m);
                continue;
            }
            m->backoff_ms = c->backoff_min_ms;
            next_poll = next_hb = now_us();
        }
        take_decisions(m);
        write_dirty(m);
        t = now_us();
        if (m->connected && t >= next_hb) {
            m->wcs_heartbeat++;
            for (size_t i = 0; i < c->n_points; i++)
                m->pt[i].dirty = true;
            next_hb += (uint64_t)c->heartbeat_ms * 1000;
            if (next_hb <= t)
                next_hb = t + (uint64_t)c->heartbeat_ms * 1000;
        }
        if (m->connected && t >= next_poll) {
            poll_plc(m);
            next_poll += (uint64_t)c->poll_ms * 1000;
            if (next_poll <= t)
                next_poll = t + (uint64_t)c->poll_ms * 1000;
        }
        if (!m->connected)
            continue;
        take_decisions(m);
        write_dirty(m);
        if (m->connected)
            wait_until(m, next_poll < next_hb ? next_poll : next_hb);
    }
    if (m->connected)
        modbus_close(m->ctx);
    m->connected = false;
    return NULL;
}

static int mb_start(struct conv_plc *p)
{
    const struct conv_plc_cfg *c = &p->cfg;
    struct plc_modbus *m = calloc(1, sizeof(*m));
    char port[8];
    int rc;

    if (!m)
        return -ENOMEM;
    m->p = p;
    m->link = CONV_LINK_DOWN;
    m->fault = CONV_FAULT_NONE;
    m->backoff_ms = c->backoff_min_ms;
    m->n_reads =
        plc_plan_reads(c->points, c->n_points, true, m->reads, CONV_MAX_POINTS, m->req_of_point);
    if (m->n_reads < 0 || plc_plan_writes(c->points, c->n_points, m->writes, CONV_MAX_POINTS) < 0) {
        rc = WCS_E_CONFIG;
        goto err_free;
    }
    if (c->proto == CONV_MODBUS_TCP) {
        snprintf(port, sizeof(port), "%u", (unsigned)c->addr.port);
        m->ctx = modbus_new_tcp_pi(c->addr.host, port);
    } else {
        m->ctx = modbus_new_rtu(c->addr.device, (int)c->addr.baud, c->addr.parity,
                                c->addr.data_bits, c->addr.stop_bits);
    }
    if (!m->ctx) {
        rc = errno ? -errno : -ENOMEM;
        goto err_free;
    }
    (void)modbus_set_error_recovery(m->ctx, MODBUS_ERROR_RECOVERY_NONE);
    (void)modbus_set_slave(m->ctx, c->unit_id);
    (void)modbus_set_response_timeout(m->ctx, c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000);
    rc = bq_new(&m->decisions, sizeof(struct conv_decision), c->queue_cap, BQ_EVENTFD);
    if (rc < 0)
        goto err_ctx;
    m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->wake_fd < 0) {
        rc = -errno;
        goto err_queue;
    }
    p->mb = m;
    rc = -pthread_create(&m->thread, NULL, worker, m);
    if (rc < 0)
        goto err_fd;
    return 0;
err_fd:
    close(m->wake_fd);
    p->mb = NULL;
err_queue:
    bq_free(m->decisions);
err_ctx:
    modbus_free(m->ctx);
err_free:
    free(m);
    return rc;
}

static void mb_stop(struct conv_plc *p)
{
    struct plc_modbus *m = p->mb;
    uint64_t one = 1;

    atomic_store(&m->stop, true);
    (void)!write(m->wake_fd, &one, sizeof(one));
    pthread_join(m->thread, NULL);
    close(m->wake_fd);
    bq_free(m->decisions);
    modbus_free(m->ctx);
    free(m);
    p->mb = NULL;
}

static int mb_decide(struct conv_plc *p, const struct conv_decision *d)
{
    if (d->seq == 0 || d->seq > 0xFFFF)
        return WCS_E_RANGE;
    if (bq_push(p->mb->decisions, d) < 0) {
        atomic_fetch_add(&p->st.decisions_dropped, 1);
        return WCS_E_FULL;
    }
    return 0;
}

const struct conv_plc_ops conv_modbus_ops = {"modbus", mb_start, mb_stop, mb_decide};
