/* Modbus TCP/RTU conveyor PLC: the one file that wraps libmodbus. A worker thread per PLC owns
 * its modbus_t (error recovery off, short response timeout), polls every scan point's read
 * block each poll_ms (and at once again after a poll that found work, a bounded burst), posts
 * scans, confirmations and link changes to the loop, and writes a point's whole write block in
 * one FC16 request whenever it changes: a decision, an ack, or the heartbeat tick. It reconnects by
 * itself with bounded backoff. A scan the attached decision table answers is written at once and
 * reported afterwards, with every other event of that poll; any other scan goes to the loop at
 * once, and the worker waits awake, for a bounded time, for its decision (the loop wakes it only if
 * asleep). */
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
#include <time.h>
#include <unistd.h>

/* SPIN_US bounds the awake wait for a decision after a scan. OUTBOX_CAP holds one poll's events
 * (status, scan and confirmation per point) and a few link changes; a burst's events may not
 * fit, and a full outbox is posted at once, never dropped. */
enum { FAILURES_BEFORE_RECONNECT = 3, SPIN_US = 300, OUTBOX_CAP = 3 * CONV_MAX_POINTS + 8 };

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
    bool established; /* a request succeeded since the last connect */
    pthread_t thread;
    int wake_fd; /* written by mb_decide (only while the worker sleeps) and by mb_stop */
    _Atomic bool stop;
    _Atomic bool sleeping;       /* the worker is in (or entering) poll on wake_fd */
    _Atomic bool decision_ready; /* set after each push to decisions */
    struct bqueue *decisions;    /* loop -> worker, without an eventfd: see sleep_until */
    struct plc_request reads[CONV_MAX_POINTS];
    size_t req_of_point[CONV_MAX_POINTS];
    int n_reads;
    struct plc_request writes[CONV_MAX_POINTS];
    struct point_state pt[CONV_MAX_POINTS];
    struct plc_heartbeat hb;
    uint16_t wcs_heartbeat;
    uint32_t backoff_ms;
    uint64_t retry_at_us;          /* next connect attempt while disconnected */
    unsigned consecutive_failures; /* timeouts and garbled replies in a row */
    /* the link state last posted */
    enum conv_link link;
    enum conv_fault fault;
    enum conv_fault io_fault; /* the last request's failure (TIMEOUT/EXCEPTION), NONE if it
                                 succeeded */
    bool hb_stalled;
    bool data_fault;
    bool scan_posted; /* a scan went to the loop in this poll: its decision is imminent */
    /* Burst polling: a poll that finds a new scan or confirmation (found_work) is followed at
     * once by another (poll_now), up to cfg.burst_polls of them per poll period (burst_left,
     * refilled by each periodic poll). A poll that finds nothing ends the burst. */
    bool found_work;
    bool poll_now;
    uint32_t burst_left;
    /* points whose scan the table answered in this poll: written before anything else */
    uint16_t decided[CONV_MAX_POINTS];
    size_t n_decided;
    /* Events for the loop, in order, not yet posted: posting wakes the loop thread (an eventfd
     * write, a few microseconds), so while a table decision is pending nothing is posted
     * before its write is on the wire, and during a burst nothing before its last poll
     * (flush_events). A scan the loop must decide is posted at once. */
    struct conv_event outbox[OUTBOX_CAP];
    size_t n_out;
};

static uint64_t now_us(void)
{
    return clock_real_mono_us();
}

/* Posts the outbox to the loop, oldest first. */
static void flush_events(struct plc_modbus *m)
{
    for (size_t i = 0; i < m->n_out; i++)
        conv_post(m->p, &m->outbox[i]);
    m->n_out = 0;
}

/* Queues an event for the loop behind the ones already queued. */
static void emit(struct plc_modbus *m, const struct conv_event *ev)
{
    if (m->n_out == OUTBOX_CAP)
        flush_events(m);
    m->outbox[m->n_out++] = *ev;
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
    emit(m, &ev);
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

/* Schedules the next connect attempt: at once after losing an established link (a PLC that
 * restarted is usually back), else after the backoff, which doubles up to backoff_max_ms. */
static void schedule_retry(struct plc_modbus *m, bool at_once)
{
    const struct conv_plc_cfg *c = &m->p->cfg;

    if (at_once) {
        m->retry_at_us = now_us();
        return;
    }
    m->retry_at_us = now_us() + (uint64_t)m->backoff_ms * 1000;
    m->backoff_ms = m->backoff_ms * 2 > c->backoff_max_ms ? c->backoff_max_ms : m->backoff_ms * 2;
}

static void disconnect(struct plc_modbus *m, enum conv_fault why, int rc)
{
    if (m->connected) {
        modbus_close(m->ctx);
        m->connected = false;
    }
    schedule_retry(m, m->established);
    m->established = false;
    m->poll_now = false; /* no burst across a reconnect: the outbox is posted from here on */
    post_link(m, CONV_LINK_DOWN, why, rc);
}

/* Opens the connection (TCP connect, or the serial device). The link goes UP only when a
 * request is answered: an RTU device always opens, and a TCP gateway accepts connections
 * while the PLC behind it is dead. */
static int connect_plc(struct plc_modbus *m)
{
    const struct conv_plc_cfg *c = &m->p->cfg;
    uint32_t t = c->timeout_ms;

    if (modbus_connect(m->ctx) < 0)
        return errno ? -errno : -ECONNREFUSED;
    (void)modbus_set_response_timeout(m->ctx, t / 1000, (t % 1000) * 1000);
    (void)modbus_set_byte_timeout(m->ctx, t / 1000, (t % 1000) * 1000);
    /* Bytes left in the receive buffer by a previous session are not answers of this one. */
    (void)modbus_flush(m->ctx);
    m->connected = true;
    m->established = false;
    m->consecutive_failures = 0;
    m->io_fault = CONV_FAULT_NONE;
    m->hb_stalled = false;
    m->data_fault = false;
    plc_heartbeat_init(&m->hb, now_us());
    m->hb.seen = false;
    /* Rewrite every write block after a (re)connect: the PLC may have restarted. */
    for (size_t i = 0; i < c->n_points; i++)
        m->pt[i].dirty = true;
    atomic_fetch_add(&m->p->st.reconnects, 1);
    return 0;
}

static bool is_exception(int err)
{
    return err >= MODBUS_ENOBASE && err <= EMBXGTAR;
}

/* A reply that arrived but cannot be trusted: line noise on RTU, a desynchronised stream. */
static bool is_garbled(int err)
{
    return err == EMBBADCRC || err == EMBBADDATA || err == EMBBADEXC || err == EMBUNKEXC ||
           err == EMBMDATA || err == EMBBADSLAVE;
}

/* The PLC answered since the connect: the link exists and the backoff starts over. */
static void mark_established(struct plc_modbus *m)
{
    m->consecutive_failures = 0;
    if (!m->established) {
        m->established = true;
        m->backoff_ms = m->p->cfg.backoff_min_ms;
    }
}

/* Classifies a failed request. An exception is an answer: the connection stays, the link
 * faults. Timeouts and garbled replies fault the link and keep the connection until
 * FAILURES_BEFORE_RECONNECT in a row; before any answer since the connect they drop it at once
 * and back off (there is no link to fault yet). Anything else (reset, broken pipe) drops it. */
static void request_failed(struct plc_modbus *m, int err)
{
    enum conv_fault f;
    int rc;

    if (is_exception(err)) {
        atomic_fetch_add(&m->p->st.exceptions, 1);
        mark_established(m);
        m->io_fault = CONV_FAULT_EXCEPTION;
        update_link(m, WCS_E_PROTOCOL);
        return;
    }
    if (err != ETIMEDOUT && !is_garbled(err)) {
        atomic_fetch_add(&m->p->st.connect_failures, 1);
        disconnect(m, CONV_FAULT_CONNECT, -err);
        return;
    }
    if (err == ETIMEDOUT) {
        atomic_fetch_add(&m->p->st.timeouts, 1);
        f = CONV_FAULT_TIMEOUT;
        rc = -ETIMEDOUT;
    } else {
        atomic_fetch_add(&m->p->st.frame_errors, 1);
        f = CONV_FAULT_FRAME;
        rc = WCS_E_PROTOCOL;
    }
    /* A late answer, or the rest of a garbled one, would be taken for the next request's
     * answer: drop what arrived. */
    (void)modbus_flush(m->ctx);
    if (!m->established || ++m->consecutive_failures >= FAILURES_BEFORE_RECONNECT) {
        disconnect(m, f, rc);
        return;
    }
    m->io_fault = f;
    update_link(m, rc);
}

/* A request was answered. relink: recompute the link state now (poll_plc does it itself
 * after decoding, so that a bad block does not flash UP first). */
static void request_ok(struct plc_modbus *m, bool relink)
{
    bool was_down = !m->established || m->io_fault != CONV_FAULT_NONE;

    mark_established(m);
    m->io_fault = CONV_FAULT_NONE;
    if (relink && was_down)
        update_link(m, 0);
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
    request_ok(m, true);
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

    /* Cleared before popping: a push after this sets it again and the next wait sees it. */
    if (!atomic_exchange(&m->decision_ready, false))
        return;
    while (bq_pop(m->decisions, &d) == 0) {
        struct point_state *ps = &m->pt[d.point];
        /* Never answer an item the PLC has moved past: its resp_seq would be a lie. */
        if (!ps->has_read || d.seq != ps->blk.scan_seq) {
            struct conv_event ev = {.kind = CONV_EVT_STALE, .point = d.point, .seq = d.seq};
            ev.at_us = now_us();
            atomic_fetch_add(&m->p->st.stale_decisions, 1);
            emit(m, &ev);
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
        emit(m, &ev);
    }
    if (plc_seq_is_newer(b->scan_seq, ps->last_scan_seq)) {
        struct conv_rule r;
        uint64_t version = 0;
        ps->last_scan_seq = b->scan_seq;
        ev.kind = CONV_EVT_SCAN;
        ev.seq = b->scan_seq;
        ev.read_result = b->read_result;
        ev.track_id = b->track_id;
        ev.status = b->status;
        memcpy(ev.barcode, b->barcode, sizeof(ev.barcode));
        m->found_work = true;
        if (conv_table_answer(m->p, i, b->read_result, b->barcode, &r, &version)) {
            /* Answered here: the write goes out right after this poll, the report after it. */
            ps->w.resp_seq = b->scan_seq;
            ps->w.dest_lane = r.dest_lane;
            ps->w.cmd_flags = r.cmd_flags;
            ps->dirty = true;
            ev.decided = true;
            ev.dest_lane = r.dest_lane;
            ev.cmd_flags = r.cmd_flags;
            ev.table_version = version;
            ev.decided_us = now_us();
            m->decided[m->n_decided++] = (uint16_t)i;
            emit(m, &ev);
            ev.decided = false;
        } else {
            /* The loop decides: it must have the scan now, behind what came before it. */
            m->scan_posted = true;
            emit(m, &ev);
            flush_events(m);
        }
    }
    if (b->confirm_seq != 0 && b->confirm_seq != ps->last_confirm_seq) {
        ps->last_confirm_seq = b->confirm_seq;
        m->found_work = true;
        memset(ev.barcode, 0, sizeof(ev.barcode));
        ev.kind = CONV_EVT_CONFIRM;
        ev.seq = b->confirm_seq;
        ev.confirm_result = b->confirm_result;
        ev.confirm_lane = b->confirm_lane;
        emit(m, &ev);
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
    m->found_work = false;
    for (int r = 0; r < m->n_reads; r++) {
        if (modbus_read_registers(m->ctx, m->reads[r].addr, m->reads[r].count, regs[r]) < 0) {
            request_failed(m, errno);
            return;
        }
        atomic_fetch_add(&m->p->st.reads, 1);
    }
    request_ok(m, false);
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

static bool has_work(struct plc_modbus *m)
{
    return atomic_load(&m->decision_ready) || atomic_load(&m->stop);
}

/* Right after a scan was posted the decision is usually tens of microseconds away, so the
 * worker waits for it awake, until until_us at most: the loop then hands it over with a store,
 * no syscall on its side and no scheduler wake-up on this one (bench/modbus). Yielding between
 * checks lets a loop thread that was queued on this CPU run at once (on a busy machine the
 * scheduler often puts the woken loop there); pause-spinning instead measured no better.
 * Returns true if there is work. */
static bool spin_for_decision(struct plc_modbus *m, uint64_t until_us)
{
    for (;;) {
        if (has_work(m))
            return true;
        if (now_us() >= until_us)
            return false;
        sched_yield();
    }
}

/* Sleeps until deadline_us (CLOCK_MONOTONIC), a decision or the stop signal, on wake_fd, which
 * mb_decide writes only when it sees `sleeping` set. Both sides store their flag and then
 * load the other's, all sequentially consistent, so at least one of them sees the other: no
 * decision is missed. */
static void sleep_until(struct plc_modbus *m, uint64_t deadline_us)
{
    struct pollfd fd = {m->wake_fd, POLLIN, 0};
    struct timespec ts;
    uint64_t t = now_us();

    atomic_store(&m->sleeping, true);
    if (!has_work(m) && deadline_us > t) {
        uint64_t d = deadline_us - t;
        ts.tv_sec = (time_t)(d / 1000000u);
        ts.tv_nsec = (long)(d % 1000000u) * 1000;
        if (ppoll(&fd, 1, &ts, NULL) > 0) {
            uint64_t v;
            (void)!read(m->wake_fd, &v, sizeof(v));
        }
    }
    atomic_store(&m->sleeping, false);
}

static void *worker(void *arg)
{
    struct plc_modbus *m = arg;
    const struct conv_plc_cfg *c = &m->p->cfg;
    uint64_t next_poll = 0, next_hb = 0;

    while (!atomic_load(&m->stop)) {
        uint64_t t;
        if (!m->poll_now)
            flush_events(m);
        if (!m->connected) {
            int rc;
            if (now_us() < m->retry_at_us) {
                sleep_until(m, m->retry_at_us);
                /* Decisions queued while down are for items already gone. */
                take_decisions(m);
                continue;
            }
            rc = connect_plc(m);
            if (rc < 0) {
                atomic_fetch_add(&m->p->st.connect_failures, 1);
                schedule_retry(m, false);
                post_link(m, CONV_LINK_DOWN, CONV_FAULT_CONNECT, rc);
                continue;
            }
            next_poll = next_hb = now_us();
            m->poll_now = false;
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
        if (m->connected && (t >= next_poll || m->poll_now)) {
            bool periodic = t >= next_poll;
            if (!periodic)
                atomic_fetch_add(&m->p->st.burst_polls, 1);
            m->poll_now = false;
            poll_plc(m);
            if (periodic) {
                next_poll += (uint64_t)c->poll_ms * 1000;
                if (next_poll <= t)
                    next_poll = t + (uint64_t)c->poll_ms * 1000;
                m->burst_left = c->burst_polls;
            }
            /* Work found: the next scan or confirmation (here or at another point of this PLC)
             * is looked for right after this poll's writes instead of a period later. The
             * periodic schedule is unchanged, so an idle PLC is read once per period. */
            if (m->found_work && m->burst_left > 0) {
                m->burst_left--;
                m->poll_now = true;
            }
            /* Nothing to write first and no burst poll to follow: the loop gets the poll's
             * events now. */
            if (!m->n_decided && !m->poll_now)
                flush_events(m);
        }
        if (m->n_decided) {
            /* Table decisions first, then the poll's reports: the PLC never waits for the loop.
             * The decided points' blocks go before any other (acks, heartbeats). A write that
             * fails stays dirty and is rewritten after the reconnect. */
            for (size_t i = 0; i < m->n_decided; i++) {
                size_t pt = m->decided[i];
                if (m->connected && m->pt[pt].dirty)
                    write_point(m, pt);
            }
            m->n_decided = 0;
            /* The write's reply woke this thread, which on the same CPU usually preempts the
             * thread that sent it: a PLC emulator on this host (wcs sim, bench/modbus). Yield
             * so that it finishes serving the write before the reports below wake the loop
             * (bench/modbus: p50 46 -> 33-37 us with the outbox). With a remote PLC nothing
             * waits here and the call returns at once. In a burst the reports wait for its
             * last poll: waking the loop between the polls of a burst put the loop thread on
             * the CPUs of the next cycle (bench/modbus: back-to-back cycles 4-8 us slower than
             * a bare client's, 0-1 us with the reports held). */
            sched_yield();
            if (!m->poll_now)
                flush_events(m);
            write_dirty(m);
        }
        if (!m->connected)
            continue;
        if (m->scan_posted) {
            /* A heartbeat or ack due now rides on the decision's write instead of delaying it
             * by a request of its own: the top of the loop writes whatever is dirty. */
            uint64_t until = now_us() + SPIN_US;
            m->scan_posted = false;
            flush_events(m);
            (void)spin_for_decision(m, until < next_poll ? until : next_poll);
            continue;
        }
        if (m->poll_now)
            continue; /* the burst poll: the top of the loop takes decisions and writes first */
        take_decisions(m);
        write_dirty(m);
        flush_events(m);
        if (m->connected)
            sleep_until(m, next_poll < next_hb ? next_poll : next_hb);
    }
    if (m->connected)
        modbus_close(m->ctx);
    m->connected = false;
    flush_events(m);
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
    rc = bq_new(&m->decisions, sizeof(struct conv_decision), c->queue_cap, 0);
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
    /* Named for top -H and perf (at most 15 characters). */
    (void)pthread_setname_np(m->thread, "wcs-plc");
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
    struct plc_modbus *m = p->mb;

    if (d->seq == 0 || d->seq > 0xFFFF)
        return WCS_E_RANGE;
    if (bq_push(m->decisions, d) < 0) {
        atomic_fetch_add(&p->st.decisions_dropped, 1);
        return WCS_E_FULL;
    }
    /* See sleep_until: a worker still awake finds the flag without a syscall. */
    atomic_store(&m->decision_ready, true);
    if (atomic_load(&m->sleeping)) {
        uint64_t one = 1;
        (void)!write(m->wake_fd, &one, sizeof(one));
    }
    return 0;
}

const struct conv_plc_ops conv_modbus_ops = {"modbus", mb_start, mb_stop, mb_decide};
