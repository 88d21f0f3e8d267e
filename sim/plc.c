/* Conveyor PLC emulator (sim/include/sim/plc.h): a libmodbus TCP server thread and the belt
 * model it serves. One mutex guards the model and the register map; the thread advances the
 * model in fixed clock steps before it answers each request, so a decision is judged against
 * the item's position at the moment the write arrived. libmodbus is used only here. */
#include "sim/plc.h"
#include "sim/plcmap.h"

#include "base/err.h"
#include "net.h"

#include <errno.h>
#include <modbus/modbus.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    BELT_MAX = 256,   /* items on one belt at once */
    LOOP_MAX = 256,   /* items in one recirculation loop */
    WAIT_MAX = 1024,  /* API items waiting for induction */
    CONF_MAX = 256,   /* confirmation queue bound */
    CLIENTS_MAX = 8,  /* Modbus clients at once */
    TICK_MS = 1,      /* real wait between model steps when idle */
    READ_SPAN = 125,  /* Modbus read limit: a read block must fit one request */
    WRITE_SPAN = 123, /* FC16 limit */
};

enum route { R_NONE = 0, R_LANE, R_REJECT, R_RECIRC };

struct belt_item {
    uint32_t rec;   /* index into plc->items */
    int64_t pos_um; /* leading edge, from the induction point */
    uint16_t scan_seq;
    bool scanned, decided, locked, lose, lose_on_clear;
    uint16_t d_lane, d_flags; /* latched decision */
    enum route route;         /* locked at the decision point */
    uint16_t lane;
    uint8_t result;
    bool failsafe;
    uint8_t forced; /* read outcome forced by the API for the first scan */
};

struct loop_item {
    uint32_t rec;
    int64_t left_um;
};

struct ring {
    uint32_t v[WAIT_MAX];
    unsigned head, len, cap;
};

struct conf {
    uint16_t seq, result, lane;
};

struct point {
    struct sim_plc_point_cfg cfg;
    int64_t scan_um, decision_um, divert_um, space_um;
    uint64_t auto_period_us, next_auto_us;
    uint64_t last_induct_real_us;    /* clock_real_mono_us() of the last induction */
    struct belt_item belt[BELT_MAX]; /* [0] is the oldest, furthest along */
    unsigned n_belt;
    struct loop_item loop[LOOP_MAX];
    unsigned n_loop;
    struct ring waiting, merging;
    uint8_t forced[WAIT_MAX]; /* forced read result of waiting items, parallel to `waiting` */
    uint16_t scan_seq;
    struct conf confq[CONF_MAX];
    unsigned conf_head, conf_len;
    bool conf_out;
    uint16_t conf_seq;
    uint32_t fill[SIM_PLC_MAX_LANES + 1];
    uint64_t next_drain_us[SIM_PLC_MAX_LANES + 1];
    bool jam, jam_lose, scanner_fault, actuator_fault, comms_lost;
    uint64_t jam_until_us;
    bool have_last;
    uint16_t last_resp, last_dest, last_flags;
    uint16_t wcs_hb;
    bool wcs_hb_seen; /* the first write starts the heartbeat clock whatever its value */
    uint64_t wcs_hb_change_us;
    struct sim_plc_counters c;
};

struct sim_plc {
    struct sim_plc_cfg cfg;
    const struct wcs_clock *clk;
    pthread_mutex_t mu;
    pthread_t thread;
    atomic_bool stop;
    modbus_t *mb;
    modbus_mapping_t *map;
    uint16_t port;
    int lfd;
    int clients[CLIENTS_MAX];
    bool disconnect_req;
    uint32_t disconnect_ms;
    uint64_t reopen_at_us; /* 0: not disconnected */
    uint64_t now_us;       /* model time */
    uint64_t step_us, hb_period_us, next_hb_us;
    uint16_t plc_hb;
    bool hb_frozen, estop;
    struct sim_rng rng;
    struct sim_plc_item *items;
    uint32_t n_items, first_track_id;
    uint64_t item_changes; /* every change of an item's state (sim_plc_item_changes) */
    struct point pt[SIM_PLC_MAX_POINTS];
};

void sim_plc_point_defaults(struct sim_plc_point_cfg *pc)
{
    memset(pc, 0, sizeof(*pc));
    pc->map = (struct sim_plc_map){
        .read_base = 0,
        .write_base = 100,
        .barcode_regs = 20,
        .plc_heartbeat = 0,
        .plc_status = 1,
        .scan_seq = 2,
        .read_result = 3,
        .track_id = 4,
        .confirm_seq = 6,
        .confirm_result = 7,
        .confirm_lane = 8,
        .barcode = 9,
        .wcs_heartbeat = 0,
        .resp_seq = 1,
        .dest_lane = 2,
        .cmd_flags = 3,
        .confirm_ack_seq = 4,
    };
    pc->belt_mm_s = 2000;
    pc->scanner_pos_mm = 500;
    pc->scanner_to_divert_mm = 3000;
    pc->actuation_ms = 300;
    pc->item_len_mm = 400;
    pc->min_gap_mm = 400;
    snprintf(pc->barcode_prefix, sizeof(pc->barcode_prefix), "T");
    pc->n_lanes = 4;
    for (unsigned i = 0; i < SIM_PLC_MAX_LANES; i++) {
        pc->lane_capacity[i] = 20;
        pc->lane_drain_per_min[i] = 30;
    }
    pc->default_route = SIM_ROUTE_REJECT;
    pc->reject_lane_id = 0;
    pc->recirc_lane_id = 99;
    pc->recirc_loop_mm = 20000;
    pc->max_recirc = 3;
    pc->confirm_queue = 8;
}

void sim_plc_cfg_defaults(struct sim_plc_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->clock = clock_system();
    cfg->heartbeat_ms = 250;
    cfg->step_us = 1000;
    cfg->seed = 1;
    cfg->max_items = 100000;
    cfg->n_points = 1;
    sim_plc_point_defaults(&cfg->points[0]);
}

/* ---- registers ---------------------------------------------------------------------------- */

static uint16_t *reg(struct sim_plc *p, uint32_t addr)
{
    return &p->map->tab_registers[addr];
}

static uint32_t read_span(const struct sim_plc_map *m)
{
    uint32_t end = m->barcode + m->barcode_regs;
    const uint16_t f[] = {m->plc_heartbeat, m->plc_status,  m->scan_seq,       m->read_result,
                          m->track_id + 1u, m->confirm_seq, m->confirm_result, m->confirm_lane};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i] + 1u > end)
            end = f[i] + 1u;
    return end;
}

static uint32_t write_span(const struct sim_plc_map *m)
{
    const uint16_t f[] = {m->wcs_heartbeat, m->resp_seq, m->dest_lane, m->cmd_flags,
                          m->confirm_ack_seq};
    uint32_t end = 0;
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i] + 1u > end)
            end = f[i] + 1u;
    return end;
}

static void publish_status(struct sim_plc *p, struct point *pt)
{
    const struct sim_plc_map *m = &pt->cfg.map;
    uint16_t st = 0;
    if (!p->estop)
        st |= SIM_ST_AUTO;
    else
        st |= SIM_ST_ESTOP;
    if (pt->jam)
        st |= SIM_ST_JAM;
    for (unsigned l = 1; l <= pt->cfg.n_lanes; l++)
        if (pt->cfg.lane_capacity[l - 1] && pt->fill[l] >= pt->cfg.lane_capacity[l - 1])
            st |= SIM_ST_DOWNSTREAM_FULL;
    if (pt->scanner_fault)
        st |= SIM_ST_SCANNER_FAULT;
    if (pt->actuator_fault)
        st |= SIM_ST_ACTUATOR_FAULT;
    if (pt->comms_lost)
        st |= SIM_ST_WCS_COMMS_LOST;
    *reg(p, m->read_base + m->plc_status) = st;
    *reg(p, m->read_base + m->plc_heartbeat) = p->plc_hb;
}

/* The time the heartbeats are measured in: the model's clock, or real time (heartbeat_real). */
static uint64_t hb_now(const struct sim_plc *p)
{
    return p->cfg.heartbeat_real ? clock_real_mono_us() : p->now_us;
}

static void publish_confirm(struct sim_plc *p, struct point *pt, const struct conf *cf)
{
    const struct sim_plc_map *m = &pt->cfg.map;
    /* Result and lane first, the sequence last (docs/plc.md handshake step 5); the whole
     * update happens under the lock, between two requests, so a poll sees all or nothing. */
    *reg(p, m->read_base + m->confirm_result) = cf->result;
    *reg(p, m->read_base + m->confirm_lane) = cf->lane;
    *reg(p, m->read_base + m->confirm_seq) = cf->seq;
    pt->conf_out = true;
    pt->conf_seq = cf->seq;
    pt->c.confirms_published++;
}

static void confirm(struct sim_plc *p, struct point *pt, uint16_t seq, uint8_t result,
                    uint16_t lane)
{
    struct conf cf = {seq, result, lane};
    unsigned held = pt->conf_len + (pt->conf_out ? 1u : 0u);
    if (!pt->conf_out) {
        publish_confirm(p, pt, &cf);
        return;
    }
    if (held >= pt->cfg.confirm_queue) {
        pt->c.confirms_dropped++;
        return;
    }
    pt->confq[(pt->conf_head + pt->conf_len) % CONF_MAX] = cf;
    pt->conf_len++;
}

static void on_ack(struct sim_plc *p, struct point *pt, uint16_t ack)
{
    if (!pt->conf_out || ack != pt->conf_seq)
        return;
    pt->conf_out = false;
    pt->c.confirms_acked++;
    if (pt->conf_len > 0) {
        struct conf cf = pt->confq[pt->conf_head];
        pt->conf_head = (pt->conf_head + 1) % CONF_MAX;
        pt->conf_len--;
        publish_confirm(p, pt, &cf);
    }
}

/* ---- the belt model ------------------------------------------------------------------------ */

static bool ring_push(struct ring *r, uint32_t v)
{
    if (r->len >= r->cap)
        return false;
    r->v[(r->head + r->len) % WAIT_MAX] = v;
    r->len++;
    return true;
}

static uint32_t ring_pop(struct ring *r)
{
    uint32_t v = r->v[r->head];
    r->head = (r->head + 1) % WAIT_MAX;
    r->len--;
    return v;
}

static int new_record(struct sim_plc *p, unsigned point, const char *barcode, size_t len,
                      uint32_t *rec)
{
    struct sim_plc_item *it;
    if (p->n_items >= p->cfg.max_items)
        return WCS_E_FULL;
    it = &p->items[p->n_items];
    memset(it, 0, sizeof(*it));
    it->track_id = p->first_track_id + p->n_items;
    it->point = point;
    if (barcode) {
        memcpy(it->barcode, barcode, len);
        it->barcode[len] = '\0';
    } else {
        snprintf(it->barcode, sizeof(it->barcode), "%s%08u", p->pt[point].cfg.barcode_prefix,
                 (unsigned)it->track_id);
    }
    it->state = SIM_ITEM_WAITING;
    p->item_changes++;
    *rec = p->n_items++;
    return 0;
}

static void scan(struct sim_plc *p, struct point *pt, struct belt_item *bi, uint8_t forced)
{
    const struct sim_plc_map *m = &pt->cfg.map;
    struct sim_plc_item *it = &p->items[bi->rec];
    uint8_t rr;
    double u;
    pt->scan_seq = sim_seq_next(pt->scan_seq);
    bi->scanned = true;
    bi->scan_seq = pt->scan_seq;
    u = rng_unit(&p->rng); /* drawn for every scan so forced reads keep the sequence */
    if (pt->scanner_fault)
        rr = SIM_READ_NOREAD;
    else if (forced != SIM_READ_BY_RATE)
        rr = forced;
    else if (u < pt->cfg.noread_rate)
        rr = SIM_READ_NOREAD;
    else if (u < pt->cfg.noread_rate + pt->cfg.multiread_rate)
        rr = SIM_READ_MULTI;
    else
        rr = SIM_READ_GOOD;
    bi->lose = rng_unit(&p->rng) < pt->cfg.lost_rate;
    it->scan_seq = bi->scan_seq;
    it->read_result = rr;
    it->passes++;
    pt->c.scanned++;
    if (rr == SIM_READ_GOOD)
        pt->c.good_reads++;
    else if (rr == SIM_READ_NOREAD)
        pt->c.no_reads++;
    else
        pt->c.multi_reads++;
    /* Barcode, result and track id first, scan_seq last (docs/plc.md handshake step 1). */
    if (rr == SIM_READ_GOOD)
        sim_barcode_to_regs(reg(p, m->read_base + m->barcode), m->barcode_regs, it->barcode,
                            strlen(it->barcode));
    else
        sim_barcode_to_regs(reg(p, m->read_base + m->barcode), m->barcode_regs, "", 0);
    *reg(p, m->read_base + m->read_result) = rr;
    *reg(p, m->read_base + m->track_id) = (uint16_t)(it->track_id >> 16);
    *reg(p, m->read_base + m->track_id + 1u) = (uint16_t)(it->track_id & 0xffff);
    *reg(p, m->read_base + m->scan_seq) = pt->scan_seq;
}

static void default_route(struct point *pt, struct belt_item *bi, uint8_t result)
{
    bi->route = pt->cfg.default_route == SIM_ROUTE_RECIRC ? R_RECIRC : R_REJECT;
    bi->result = result;
}

/* The item reached the point where its destination must be known (actuation lead before the
 * divert): the latched decision is used, or the fail-safe/default route is chosen. */
static void lock_decision(struct point *pt, struct belt_item *bi)
{
    bi->locked = true;
    if (pt->comms_lost) {
        bi->failsafe = true;
        default_route(pt, bi, SIM_CONF_LATE_DEFAULT);
        return;
    }
    if (!bi->decided) {
        default_route(pt, bi, SIM_CONF_LATE_DEFAULT);
        return;
    }
    pt->c.decisions_used++;
    if (bi->d_flags & 0x1) {
        bi->route = R_REJECT;
        bi->result = SIM_CONF_PASSED;
    } else if (bi->d_flags & 0x2) {
        bi->route = R_RECIRC;
        bi->result = SIM_CONF_PASSED;
    } else if (bi->d_lane == 0) {
        bi->route = R_REJECT;
        bi->result = SIM_CONF_PASSED;
    } else if (bi->d_lane <= pt->cfg.n_lanes) {
        bi->route = R_LANE;
        bi->lane = bi->d_lane;
        bi->result = SIM_CONF_DIVERTED;
    } else {
        /* A lane that does not exist is an unknown decision: fail safe. */
        default_route(pt, bi, SIM_CONF_LATE_DEFAULT);
    }
}

static void to_reject_or_loop(struct sim_plc *p, struct point *pt, struct belt_item *bi,
                              enum route route, uint8_t result)
{
    struct sim_plc_item *it = &p->items[bi->rec];
    uint16_t lane = pt->cfg.reject_lane_id;
    if (route == R_RECIRC && it->recirculations >= pt->cfg.max_recirc) {
        pt->c.recirc_exhausted++;
        route = R_REJECT;
    }
    if (route == R_RECIRC && pt->n_loop < LOOP_MAX) {
        pt->loop[pt->n_loop++] =
            (struct loop_item){bi->rec, (int64_t)pt->cfg.recirc_loop_mm * 1000};
        it->recirculations++;
        it->state = SIM_ITEM_IN_LOOP;
        p->item_changes++;
        pt->c.recirculated++;
        lane = pt->cfg.recirc_lane_id;
    } else {
        it->state = SIM_ITEM_REJECTED;
        p->item_changes++;
        pt->c.rejected++;
    }
    it->confirm_result = result;
    it->lane = lane;
    confirm(p, pt, bi->scan_seq, result, lane);
}

static void divert(struct sim_plc *p, struct point *pt, struct belt_item *bi)
{
    struct sim_plc_item *it = &p->items[bi->rec];
    if (bi->lose) {
        it->state = SIM_ITEM_LOST;
        p->item_changes++;
        it->confirm_result = SIM_CONF_LOST;
        it->lane = 0;
        pt->c.lost++;
        confirm(p, pt, bi->scan_seq, SIM_CONF_LOST, 0);
        return;
    }
    if (bi->result == SIM_CONF_LATE_DEFAULT) {
        if (bi->failsafe)
            pt->c.failsafe_routed++;
        else
            pt->c.late_default++;
    } else if (bi->result == SIM_CONF_PASSED) {
        pt->c.passed++;
    }
    if (bi->route == R_LANE) {
        unsigned l = bi->lane;
        uint32_t cap = pt->cfg.lane_capacity[l - 1];
        if (pt->actuator_fault) {
            pt->c.actuator_faults++;
            to_reject_or_loop(p, pt, bi, R_REJECT, SIM_CONF_ACTUATOR_FAULT);
            return;
        }
        if (cap && pt->fill[l] >= cap) {
            pt->c.lane_full++;
            to_reject_or_loop(p, pt, bi,
                              pt->cfg.default_route == SIM_ROUTE_RECIRC ? R_RECIRC : R_REJECT,
                              SIM_CONF_LANE_FULL);
            return;
        }
        if (pt->fill[l] == 0)
            pt->next_drain_us[l] =
                p->now_us + (pt->cfg.lane_drain_per_min[l - 1]
                                 ? 60000000ull / pt->cfg.lane_drain_per_min[l - 1]
                                 : 0);
        pt->fill[l]++;
        pt->c.diverted[l]++;
        pt->c.diverted_total++;
        it->state = SIM_ITEM_DIVERTED;
        p->item_changes++;
        it->confirm_result = SIM_CONF_DIVERTED;
        it->lane = (uint16_t)l;
        confirm(p, pt, bi->scan_seq, SIM_CONF_DIVERTED, (uint16_t)l);
        return;
    }
    to_reject_or_loop(p, pt, bi, bi->route, bi->result);
}

static void belt_remove(struct point *pt, unsigned i)
{
    memmove(&pt->belt[i], &pt->belt[i + 1], (pt->n_belt - i - 1) * sizeof(pt->belt[0]));
    pt->n_belt--;
}

static void clear_jam(struct sim_plc *p, struct point *pt)
{
    pt->jam = false;
    for (unsigned i = 0; i < pt->n_belt; i++) {
        struct belt_item *bi = &pt->belt[i];
        if (bi->lose_on_clear) {
            bi->lose = true;
            divert(p, pt, bi);
            belt_remove(pt, i);
            break;
        }
    }
}

static void induct_one(struct sim_plc *p, struct point *pt)
{
    uint32_t rec;
    uint8_t forced = SIM_READ_BY_RATE;
    struct belt_item *bi;
    if (pt->n_belt >= BELT_MAX)
        return;
    if (pt->n_belt > 0 && pt->belt[pt->n_belt - 1].pos_um < pt->space_um)
        return;
    if (pt->cfg.min_pitch_real_us &&
        clock_real_mono_us() - pt->last_induct_real_us < pt->cfg.min_pitch_real_us)
        return;
    if (pt->merging.len > 0) {
        rec = ring_pop(&pt->merging);
    } else if (pt->waiting.len > 0) {
        forced = pt->forced[pt->waiting.head];
        rec = ring_pop(&pt->waiting);
        pt->c.inducted++;
    } else if (pt->auto_period_us && p->now_us >= pt->next_auto_us) {
        if (new_record(p, (unsigned)(pt - p->pt), NULL, 0, &rec) < 0)
            return;
        pt->next_auto_us += pt->auto_period_us;
        if (pt->next_auto_us + pt->auto_period_us < p->now_us)
            pt->next_auto_us = p->now_us;
        pt->c.inducted++;
    } else {
        return;
    }
    bi = &pt->belt[pt->n_belt++];
    memset(bi, 0, sizeof(*bi));
    pt->last_induct_real_us = clock_real_mono_us();
    bi->rec = rec;
    bi->pos_um = 0;
    bi->forced = forced;
    p->items[rec].state = SIM_ITEM_ON_BELT;
    p->item_changes++;
}

/* wcs's heartbeat unchanged for 3 periods at time t (hb_now's): comms lost (on_write clears). */
static void watch_wcs(struct sim_plc *p, struct point *pt, uint64_t t)
{
    if (t - pt->wcs_hb_change_us >= 3 * p->hb_period_us)
        pt->comms_lost = true;
}

static void step_point(struct sim_plc *p, struct point *pt)
{
    uint64_t t = p->now_us;
    bool running;
    if (pt->jam && pt->jam_until_us && t >= pt->jam_until_us)
        clear_jam(p, pt);
    running = !p->estop && !pt->jam;
    if (running) {
        int64_t d = (int64_t)pt->cfg.belt_mm_s * (int64_t)p->step_us / 1000;
        for (unsigned i = 0; i < pt->n_belt;) {
            struct belt_item *bi = &pt->belt[i];
            int64_t old = bi->pos_um;
            bi->pos_um += d;
            if (!bi->scanned && old < pt->scan_um && bi->pos_um >= pt->scan_um)
                scan(p, pt, bi, bi->forced);
            if (bi->scanned && !bi->locked && bi->pos_um >= pt->decision_um)
                lock_decision(pt, bi);
            if (bi->pos_um >= pt->divert_um) {
                if (!bi->locked)
                    lock_decision(pt, bi);
                divert(p, pt, bi);
                belt_remove(pt, i);
                continue;
            }
            i++;
        }
        for (unsigned i = 0; i < pt->n_loop;) {
            pt->loop[i].left_um -= d;
            if (pt->loop[i].left_um <= 0 && ring_push(&pt->merging, pt->loop[i].rec)) {
                memmove(&pt->loop[i], &pt->loop[i + 1], (pt->n_loop - i - 1) * sizeof(pt->loop[0]));
                pt->n_loop--;
                continue;
            }
            i++;
        }
        induct_one(p, pt);
    }
    for (unsigned l = 1; l <= pt->cfg.n_lanes; l++) {
        uint32_t rate = pt->cfg.lane_drain_per_min[l - 1];
        if (rate && pt->fill[l] > 0 && t >= pt->next_drain_us[l]) {
            pt->fill[l]--;
            pt->next_drain_us[l] = t + 60000000ull / rate;
        }
    }
    if (!p->cfg.heartbeat_real)
        watch_wcs(p, pt, t);
}

/* The PLC heartbeat at time t (hb_now's): one step per period, on the period's grid
 * (model steps) or from now (real time, looked at once per advance). */
static void tick_heartbeat(struct sim_plc *p, uint64_t t, bool grid)
{
    if (p->hb_frozen) {
        p->next_hb_us = t + p->hb_period_us;
    } else if (t >= p->next_hb_us) {
        p->plc_hb++;
        p->next_hb_us = grid ? p->next_hb_us + p->hb_period_us : t + p->hb_period_us;
    }
}

static void advance(struct sim_plc *p)
{
    uint64_t now = clock_mono_us(p->clk);
    if (p->cfg.heartbeat_real) {
        /* real time: looked at once per call, before the steps that route by it */
        uint64_t rt = clock_real_mono_us();
        tick_heartbeat(p, rt, false);
        for (unsigned i = 0; i < p->cfg.n_points; i++)
            watch_wcs(p, &p->pt[i], rt);
    }
    while (p->now_us + p->step_us <= now) {
        p->now_us += p->step_us;
        if (!p->cfg.heartbeat_real)
            tick_heartbeat(p, p->now_us, true);
        for (unsigned i = 0; i < p->cfg.n_points; i++)
            step_point(p, &p->pt[i]);
    }
    for (unsigned i = 0; i < p->cfg.n_points; i++)
        publish_status(p, &p->pt[i]);
}

/* wcs wrote (part of) a write block: read the whole block back from the map and act on what
 * changed. A decision is latched on the tracked item whose scan_seq equals resp_seq. */
static void on_write(struct sim_plc *p, struct point *pt)
{
    const struct sim_plc_map *m = &pt->cfg.map;
    uint16_t hb = *reg(p, m->write_base + m->wcs_heartbeat);
    uint16_t resp = *reg(p, m->write_base + m->resp_seq);
    uint16_t dest = *reg(p, m->write_base + m->dest_lane);
    uint16_t flags = *reg(p, m->write_base + m->cmd_flags);
    uint16_t ack = *reg(p, m->write_base + m->confirm_ack_seq);
    if (hb != pt->wcs_hb || !pt->wcs_hb_seen) {
        pt->wcs_hb = hb;
        pt->wcs_hb_seen = true;
        pt->wcs_hb_change_us = hb_now(p);
        pt->comms_lost = false;
    }
    if (resp != 0 && (!pt->have_last || resp != pt->last_resp || dest != pt->last_dest ||
                      flags != pt->last_flags)) {
        pt->have_last = true;
        pt->last_resp = resp;
        pt->last_dest = dest;
        pt->last_flags = flags;
        if (flags & ~0x3u) {
            pt->c.mb_bad_writes++;
        } else {
            struct belt_item *hit = NULL;
            for (unsigned i = pt->n_belt; i-- > 0;) {
                if (pt->belt[i].scanned && pt->belt[i].scan_seq == resp) {
                    hit = &pt->belt[i];
                    break;
                }
            }
            if (!hit) {
                pt->c.decisions_unknown++;
            } else if (hit->locked) {
                pt->c.decisions_late++;
            } else {
                hit->decided = true;
                hit->d_lane = dest;
                hit->d_flags = flags;
            }
        }
    }
    on_ack(p, pt, ack);
    publish_status(p, pt);
}

/* ---- the server thread --------------------------------------------------------------------- */

static void close_clients(struct sim_plc *p)
{
    for (int i = 0; i < CLIENTS_MAX; i++) {
        if (p->clients[i] >= 0) {
            close(p->clients[i]);
            p->clients[i] = -1;
        }
    }
}

static void serve_client(struct sim_plc *p, int slot)
{
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    int hl = modbus_get_header_length(p->mb), rc;
    struct sim_mb_write w;
    bool is_write;
    modbus_set_socket(p->mb, p->clients[slot]);
    rc = modbus_receive(p->mb, q);
    if (rc == 0)
        return;
    if (rc < 0) {
        close(p->clients[slot]);
        p->clients[slot] = -1;
        return;
    }
    p->pt[0].c.mb_requests++;
    is_write = rc > hl && sim_mb_parse_write(q + hl, (size_t)(rc - hl), &w) == 0;
    if (modbus_reply(p->mb, q, rc, p->map) < 0) {
        close(p->clients[slot]);
        p->clients[slot] = -1;
        return;
    }
    if (!is_write)
        return;
    for (unsigned i = 0; i < p->cfg.n_points; i++) {
        struct point *pt = &p->pt[i];
        if (sim_ranges_overlap(w.addr, w.count, pt->cfg.map.write_base, write_span(&pt->cfg.map)))
            on_write(p, pt);
    }
}

static void *plc_thread(void *arg)
{
    struct sim_plc *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pfd[CLIENTS_MAX + 1];
        int slot[CLIENTS_MAX + 1];
        int n = 0;
        pthread_mutex_lock(&p->mu);
        if (p->lfd >= 0) {
            pfd[n] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
            slot[n++] = -1;
        }
        for (int i = 0; i < CLIENTS_MAX; i++) {
            if (p->clients[i] >= 0) {
                pfd[n] = (struct pollfd){.fd = p->clients[i], .events = POLLIN};
                slot[n++] = i;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (poll(pfd, (nfds_t)n, TICK_MS) < 0 && errno != EINTR)
            break;
        pthread_mutex_lock(&p->mu);
        advance(p);
        if (p->disconnect_req) {
            p->disconnect_req = false;
            close_clients(p);
            if (p->lfd >= 0)
                close(p->lfd);
            p->lfd = -1;
            p->reopen_at_us = p->now_us + (uint64_t)p->disconnect_ms * 1000u;
            if (p->reopen_at_us == 0)
                p->reopen_at_us = 1;
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        if (p->lfd < 0 && p->reopen_at_us && clock_mono_us(p->clk) >= p->reopen_at_us) {
            uint16_t bound;
            int fd = net_listen(p->port, &bound);
            if (fd >= 0) {
                p->lfd = fd;
                p->reopen_at_us = 0;
            }
        }
        for (int k = 0; k < n; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (slot[k] < 0) {
                int fd;
                if (pfd[k].fd != p->lfd)
                    continue;
                while ((fd = net_accept(p->lfd)) >= 0) {
                    int i = 0;
                    while (i < CLIENTS_MAX && p->clients[i] >= 0)
                        i++;
                    if (i == CLIENTS_MAX) {
                        close(fd);
                        continue;
                    }
                    p->clients[i] = fd;
                    p->pt[0].c.mb_connections++;
                }
            } else if (p->clients[slot[k]] == pfd[k].fd) {
                serve_client(p, slot[k]);
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* ---- API ----------------------------------------------------------------------------------- */

static int check_point(const struct sim_plc_point_cfg *pc)
{
    const struct sim_plc_map *m = &pc->map;
    uint64_t decision_mm_x1000;
    if (m->barcode_regs < 1 || m->barcode_regs > 50 || read_span(m) > READ_SPAN ||
        write_span(m) > WRITE_SPAN || (uint32_t)m->read_base + read_span(m) > 65536u ||
        (uint32_t)m->write_base + write_span(m) > 65536u)
        return WCS_E_CONFIG;
    if (sim_ranges_overlap(m->read_base, read_span(m), m->write_base, write_span(m)))
        return WCS_E_CONFIG;
    if (pc->belt_mm_s == 0 || pc->item_len_mm == 0 || pc->n_lanes > SIM_PLC_MAX_LANES ||
        pc->confirm_queue < 1 || pc->confirm_queue > CONF_MAX)
        return WCS_E_CONFIG;
    if (pc->noread_rate < 0 || pc->multiread_rate < 0 || pc->lost_rate < 0 ||
        pc->noread_rate + pc->multiread_rate > 1.0 || pc->lost_rate > 1.0)
        return WCS_E_CONFIG;
    /* The decision point (actuation lead before the divert) must lie after the scanner. */
    decision_mm_x1000 = (uint64_t)pc->belt_mm_s * pc->actuation_ms;
    if (decision_mm_x1000 >= (uint64_t)pc->scanner_to_divert_mm * 1000u)
        return WCS_E_CONFIG;
    return 0;
}

int sim_plc_open(struct sim_plc **out, const struct sim_plc_cfg *cfg)
{
    struct sim_plc *p;
    uint32_t nregs = 0;
    int rc;
    if (!cfg->clock || cfg->n_points < 1 || cfg->n_points > SIM_PLC_MAX_POINTS ||
        cfg->heartbeat_ms == 0 || cfg->max_items == 0 ||
        (uint64_t)cfg->first_track_id + cfg->max_items > UINT32_MAX)
        return WCS_E_CONFIG;
    for (unsigned i = 0; i < cfg->n_points; i++) {
        const struct sim_plc_map *a = &cfg->points[i].map;
        if ((rc = check_point(&cfg->points[i])) < 0)
            return rc;
        for (unsigned j = 0; j < i; j++) {
            const struct sim_plc_map *b = &cfg->points[j].map;
            if (sim_ranges_overlap(a->read_base, read_span(a), b->read_base, read_span(b)) ||
                sim_ranges_overlap(a->read_base, read_span(a), b->write_base, write_span(b)) ||
                sim_ranges_overlap(a->write_base, write_span(a), b->read_base, read_span(b)) ||
                sim_ranges_overlap(a->write_base, write_span(a), b->write_base, write_span(b)))
                return WCS_E_CONFIG;
        }
        if (a->read_base + read_span(a) > nregs)
            nregs = a->read_base + read_span(a);
        if (a->write_base + write_span(a) > nregs)
            nregs = a->write_base + write_span(a);
    }
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    p->clk = cfg->clock;
    p->step_us = cfg->step_us ? cfg->step_us : 1000;
    p->first_track_id = cfg->first_track_id ? cfg->first_track_id : 1;
    p->hb_period_us = (uint64_t)cfg->heartbeat_ms * 1000u;
    p->items = calloc(cfg->max_items, sizeof(*p->items));
    if (!p->items) {
        rc = -ENOMEM;
        goto fail_alloc;
    }
    rng_seed(&p->rng, cfg->seed);
    p->now_us = clock_mono_us(p->clk);
    p->next_hb_us = hb_now(p) + p->hb_period_us;
    for (int i = 0; i < CLIENTS_MAX; i++)
        p->clients[i] = -1;
    for (unsigned i = 0; i < cfg->n_points; i++) {
        struct point *pt = &p->pt[i];
        const struct sim_plc_point_cfg *pc = &cfg->points[i];
        pt->cfg = *pc;
        pt->scan_um = (int64_t)pc->scanner_pos_mm * 1000;
        pt->divert_um = pt->scan_um + (int64_t)pc->scanner_to_divert_mm * 1000;
        pt->decision_um = pt->divert_um - (int64_t)pc->belt_mm_s * pc->actuation_ms;
        pt->space_um = (int64_t)(pc->item_len_mm + pc->min_gap_mm) * 1000;
        pt->auto_period_us = pc->induct_per_min ? 60000000ull / pc->induct_per_min : 0;
        pt->next_auto_us = p->now_us;
        pt->waiting.cap = WAIT_MAX;
        pt->merging.cap = WAIT_MAX;
        pt->scan_seq = pc->initial_scan_seq;
        pt->wcs_hb_change_us = hb_now(p);
    }
    p->map = modbus_mapping_new(0, 0, (int)nregs, 0);
    if (!p->map) {
        rc = -ENOMEM;
        goto fail_map;
    }
    for (unsigned i = 0; i < cfg->n_points; i++) {
        const struct sim_plc_map *m = &p->pt[i].cfg.map;
        *reg(p, m->read_base + m->scan_seq) = p->pt[i].scan_seq;
        publish_status(p, &p->pt[i]);
    }
    p->mb = modbus_new_tcp("127.0.0.1", cfg->port ? cfg->port : 502);
    if (!p->mb) {
        rc = -errno ? -errno : -ENOMEM;
        goto fail_ctx;
    }
    rc = net_listen(cfg->port, &p->port);
    if (rc < 0)
        goto fail_listen;
    p->lfd = rc;
    if ((rc = pthread_mutex_init(&p->mu, NULL)) != 0) {
        rc = -rc;
        goto fail_mutex;
    }
    atomic_init(&p->stop, false);
    if ((rc = pthread_create(&p->thread, NULL, plc_thread, p)) == 0) {
        (void)pthread_setname_np(p->thread, "sim-plc");
    } else {
        rc = -rc;
        goto fail_thread;
    }
    *out = p;
    return 0;
fail_thread:
    pthread_mutex_destroy(&p->mu);
fail_mutex:
    close(p->lfd);
fail_listen:
    modbus_free(p->mb);
fail_ctx:
    modbus_mapping_free(p->map);
fail_map:
    free(p->items);
fail_alloc:
    free(p);
    return rc;
}

void sim_plc_close(struct sim_plc *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    close_clients(p);
    if (p->lfd >= 0)
        close(p->lfd);
    modbus_free(p->mb);
    modbus_mapping_free(p->map);
    pthread_mutex_destroy(&p->mu);
    free(p->items);
    free(p);
}

uint16_t sim_plc_port(const struct sim_plc *p)
{
    return p->port;
}

static bool barcode_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != 0x1d && (c < 0x20 || c > 0x7e))
            return false;
    }
    return true;
}

int sim_plc_induct(struct sim_plc *p, unsigned point, const char *barcode,
                   enum sim_read_result forced, uint32_t *track_id_out)
{
    struct point *pt;
    size_t len = barcode ? strlen(barcode) : 0;
    uint32_t rec;
    int rc;
    if (point >= p->cfg.n_points || (unsigned)forced > SIM_READ_MULTI)
        return WCS_E_RANGE;
    pt = &p->pt[point];
    if (barcode && (len > SIM_PLC_BARCODE_MAX || len > 2u * pt->cfg.map.barcode_regs ||
                    !barcode_ok(barcode, len)))
        return WCS_E_RANGE;
    pthread_mutex_lock(&p->mu);
    advance(p);
    if (pt->waiting.len >= pt->waiting.cap) {
        rc = WCS_E_FULL;
        goto out;
    }
    if ((rc = new_record(p, point, barcode, len, &rec)) < 0)
        goto out;
    pt->forced[(pt->waiting.head + pt->waiting.len) % WAIT_MAX] = (uint8_t)forced;
    ring_push(&pt->waiting, rec);
    if (track_id_out)
        *track_id_out = p->items[rec].track_id;
out:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int sim_plc_jam(struct sim_plc *p, unsigned point, uint32_t duration_ms, bool lose_item)
{
    struct point *pt;
    if (point >= p->cfg.n_points)
        return WCS_E_RANGE;
    pt = &p->pt[point];
    pthread_mutex_lock(&p->mu);
    advance(p);
    if (duration_ms == 0) {
        if (pt->jam)
            clear_jam(p, pt);
    } else {
        pt->jam = true;
        pt->jam_until_us = p->now_us + (uint64_t)duration_ms * 1000u;
        if (lose_item) {
            for (unsigned i = 0; i < pt->n_belt; i++) {
                if (pt->belt[i].scanned) {
                    pt->belt[i].lose_on_clear = true;
                    break;
                }
            }
        }
    }
    publish_status(p, pt);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int sim_plc_estop(struct sim_plc *p, bool on)
{
    pthread_mutex_lock(&p->mu);
    advance(p);
    p->estop = on;
    for (unsigned i = 0; i < p->cfg.n_points; i++)
        publish_status(p, &p->pt[i]);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static int set_flag(struct sim_plc *p, unsigned point, bool on, size_t off)
{
    if (point >= p->cfg.n_points)
        return WCS_E_RANGE;
    pthread_mutex_lock(&p->mu);
    advance(p);
    *(bool *)((char *)&p->pt[point] + off) = on;
    publish_status(p, &p->pt[point]);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int sim_plc_scanner_fault(struct sim_plc *p, unsigned point, bool on)
{
    return set_flag(p, point, on, offsetof(struct point, scanner_fault));
}

int sim_plc_actuator_fault(struct sim_plc *p, unsigned point, bool on)
{
    return set_flag(p, point, on, offsetof(struct point, actuator_fault));
}

int sim_plc_lane_empty(struct sim_plc *p, unsigned point, unsigned lane)
{
    if (point >= p->cfg.n_points || lane < 1 || lane > p->pt[point].cfg.n_lanes)
        return WCS_E_RANGE;
    pthread_mutex_lock(&p->mu);
    advance(p);
    p->pt[point].fill[lane] = 0;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int sim_plc_disconnect(struct sim_plc *p, uint32_t duration_ms)
{
    pthread_mutex_lock(&p->mu);
    p->disconnect_req = true;
    p->disconnect_ms = duration_ms;
    pthread_mutex_unlock(&p->mu);
    /* The thread closes the sockets on its next tick; wait for it so the caller can rely on
     * the listener being gone when this returns. */
    for (;;) {
        bool pending;
        pthread_mutex_lock(&p->mu);
        pending = p->disconnect_req;
        pthread_mutex_unlock(&p->mu);
        if (!pending)
            return 0;
        usleep(500);
    }
}

int sim_plc_freeze_heartbeat(struct sim_plc *p, bool frozen)
{
    pthread_mutex_lock(&p->mu);
    advance(p);
    p->hb_frozen = frozen;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void add_counters(struct sim_plc_counters *a, const struct sim_plc_counters *b)
{
    const uint64_t *src = (const uint64_t *)b;
    uint64_t *dst = (uint64_t *)a;
    size_t n64 = offsetof(struct sim_plc_counters, lane_fill) / sizeof(uint64_t);
    for (size_t i = 0; i < n64; i++)
        dst[i] += src[i];
    a->on_belt += b->on_belt;
    a->in_loop += b->in_loop;
    a->waiting += b->waiting;
    a->confirms_held += b->confirms_held;
}

int sim_plc_counters(struct sim_plc *p, unsigned point, struct sim_plc_counters *out)
{
    if (point != SIM_PLC_MAX_POINTS && point >= p->cfg.n_points)
        return WCS_E_RANGE;
    pthread_mutex_lock(&p->mu);
    advance(p);
    for (unsigned i = 0; i < p->cfg.n_points; i++) {
        struct point *pt = &p->pt[i];
        pt->c.on_belt = pt->n_belt;
        pt->c.in_loop = pt->n_loop + pt->merging.len;
        pt->c.waiting = pt->waiting.len;
        pt->c.confirms_held = pt->conf_len + (pt->conf_out ? 1u : 0u);
        for (unsigned l = 0; l <= SIM_PLC_MAX_LANES; l++)
            pt->c.lane_fill[l] = pt->fill[l];
    }
    if (point == SIM_PLC_MAX_POINTS) {
        memset(out, 0, sizeof(*out));
        for (unsigned i = 0; i < p->cfg.n_points; i++)
            add_counters(out, &p->pt[i].c);
        /* Connection-level counters live on point 0 only; the sum already holds them once. */
    } else {
        *out = p->pt[point].c;
        if (point != 0) {
            out->mb_requests = p->pt[0].c.mb_requests;
            out->mb_connections = p->pt[0].c.mb_connections;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int sim_plc_item(struct sim_plc *p, uint32_t track_id, struct sim_plc_item *out)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    advance(p);
    if (track_id < p->first_track_id || track_id - p->first_track_id >= p->n_items)
        rc = WCS_E_UNKNOWN;
    else
        *out = p->items[track_id - p->first_track_id];
    pthread_mutex_unlock(&p->mu);
    return rc;
}

uint64_t sim_plc_item_changes(struct sim_plc *p)
{
    uint64_t n;
    pthread_mutex_lock(&p->mu);
    advance(p);
    n = p->item_changes;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int sim_plc_peek(struct sim_plc *p, uint16_t addr, uint16_t n, uint16_t *out)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    advance(p);
    if ((uint32_t)addr + n > (uint32_t)p->map->nb_registers)
        rc = WCS_E_RANGE;
    else
        memcpy(out, &p->map->tab_registers[addr], n * sizeof(uint16_t));
    pthread_mutex_unlock(&p->mu);
    return rc;
}
