/* Integration tests of the PLC emulator over real Modbus TCP: a bare libmodbus client in the
 * test plays wcs against sim_plc on a free loopback port, on a virtual clock so every timing
 * (heartbeats, decision windows, stalls) is exact. Covers the handshake of DESIGN.md §4.5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "sim/plc.h"
#include "sim/plcmap.h"

#include <errno.h>
#include <modbus/modbus.h>
#include <string.h>
#include <unistd.h>

enum {
    RB = 0,   /* read base */
    WB = 100, /* write base */
    RN = 29,  /* read block length with 20 barcode registers */
};

struct fx {
    struct clock_virtual vc;
    struct sim_plc *p;
    modbus_t *c;
    uint16_t wb[5]; /* hb, resp_seq, dest_lane, cmd_flags, confirm_ack_seq */
    uint16_t rb[RN];
};

/* How long to wait for something that must happen (a reply, a connection): the emulators answer
 * within milliseconds and the wait ends as soon as they do; only a loaded machine (ASan, a busy
 * 2-core CI runner) needs more than a second. Windows in which nothing may arrive stay short. */
#define WAIT_MS 10000

static void connect_client(struct fx *f)
{
    f->c = modbus_new_tcp("127.0.0.1", sim_plc_port(f->p));
    assert_non_null(f->c);
    assert_int_equal(modbus_connect(f->c), 0);
}

static void start(struct fx *f, struct sim_plc_cfg *cfg)
{
    memset(f, 0, sizeof(*f));
    clock_virtual_init(&f->vc, 1700000000000);
    clock_virtual_advance(&f->vc, 1000000);
    cfg->clock = &f->vc.base;
    assert_int_equal(sim_plc_open(&f->p, cfg), 0);
    connect_client(f);
}

static void stop(struct fx *f)
{
    if (f->c) {
        modbus_close(f->c);
        modbus_free(f->c);
    }
    sim_plc_close(f->p);
}

static void rd(struct fx *f)
{
    assert_int_equal(modbus_read_registers(f->c, RB, RN, f->rb), RN);
}

static void wr(struct fx *f)
{
    assert_int_equal(modbus_write_registers(f->c, WB, 5, f->wb), 5);
}

static void adv_ms(struct fx *f, uint32_t ms)
{
    clock_virtual_advance(&f->vc, (uint64_t)ms * 1000u);
}

/* Advances like a live wcs: a heartbeat write every 50 ms of clock time. */
static void run_ms(struct fx *f, uint32_t ms)
{
    while (ms > 0) {
        uint32_t d = ms < 50 ? ms : 50;
        adv_ms(f, d);
        ms -= d;
        f->wb[0]++;
        wr(f);
    }
}

static uint32_t track(const uint16_t *rb)
{
    return ((uint32_t)rb[4] << 16) | rb[5];
}

static void barcode_of(const uint16_t *rb, char *out, size_t cap)
{
    assert_true(sim_regs_to_barcode(rb + 9, 20, out, cap) >= 0);
}

static void test_heartbeat(void **state)
{
    struct sim_plc_cfg cfg;
    struct fx f;
    uint16_t hb0;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    start(&f, &cfg);
    rd(&f);
    hb0 = f.rb[0];
    assert_int_equal(f.rb[1] & SIM_ST_AUTO, SIM_ST_AUTO);
    assert_int_equal(f.rb[2], 0); /* no item yet */
    adv_ms(&f, 250);
    rd(&f);
    assert_int_equal(f.rb[0], (uint16_t)(hb0 + 1));
    adv_ms(&f, 1000);
    rd(&f);
    assert_int_equal(f.rb[0], (uint16_t)(hb0 + 5));
    /* A frozen PLC heartbeat stays put however long wcs waits. */
    sim_plc_freeze_heartbeat(f.p, true);
    adv_ms(&f, 1000);
    rd(&f);
    assert_int_equal(f.rb[0], (uint16_t)(hb0 + 5));
    stop(&f);
}

/* heartbeat_real (a run whose clock may change speed): the PLC heartbeat and its watch of
 * wcs's heartbeat run in real time, whatever the model's clock does. The clock stands still
 * here; 50 ms periods pass in real time. */
static void test_heartbeat_real(void **state)
{
    struct sim_plc_cfg cfg;
    struct fx f;
    uint16_t hb0;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    cfg.heartbeat_ms = 50;
    cfg.heartbeat_real = true;
    start(&f, &cfg);
    f.wb[0] = 1;
    wr(&f);
    rd(&f);
    hb0 = f.rb[0];
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, 0);
    usleep(260000); /* five periods and more of real time, no clock time */
    rd(&f);
    assert_true((uint16_t)(f.rb[0] - hb0) >= 4);
    /* wcs's heartbeat did not move for more than 3 real periods: comms lost */
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, SIM_ST_WCS_COMMS_LOST);
    f.wb[0]++;
    wr(&f);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, 0);
    /* frozen: stays put in real time too */
    sim_plc_freeze_heartbeat(f.p, true);
    rd(&f);
    hb0 = f.rb[0];
    usleep(120000);
    rd(&f);
    assert_int_equal(f.rb[0], hb0);
    stop(&f);
}

static void test_scan_decision_divert(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc_counters c;
    struct sim_plc_item it;
    struct fx f;
    uint32_t tid;
    uint64_t ch0, ch1;
    char bc[64];
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    start(&f, &cfg);
    run_ms(&f, 50);
    ch0 = sim_plc_item_changes(f.p);
    assert_int_equal(sim_plc_item_changes(f.p), ch0); /* nothing moves: no change */
    assert_int_equal(sim_plc_induct(f.p, 0, "TOTE-0001", SIM_READ_BY_RATE, &tid), 0);
    /* The scanner is 500 mm from induction at 2000 mm/s: 250 ms. */
    run_ms(&f, 200);
    rd(&f);
    assert_int_equal(f.rb[2], 0);
    /* queued, then on the belt */
    ch1 = sim_plc_item_changes(f.p);
    assert_int_equal(ch1, ch0 + 2);
    run_ms(&f, 100);
    rd(&f);
    assert_int_equal(f.rb[2], 1);
    assert_int_equal(f.rb[3], SIM_READ_GOOD);
    assert_int_equal(track(f.rb), tid);
    barcode_of(f.rb, bc, sizeof(bc));
    assert_string_equal(bc, "TOTE-0001");
    /* Answer in time: lane 2. */
    f.wb[1] = 1;
    f.wb[2] = 2;
    run_ms(&f, 1000);
    rd(&f);
    assert_int_equal(f.rb[6], 0); /* not at the divert yet (1500 ms after the scan) */
    /* the scan and the decision leave the item on the belt: no state change */
    assert_int_equal(sim_plc_item_changes(f.p), ch1);
    run_ms(&f, 600);
    rd(&f);
    assert_int_equal(f.rb[6], 1);
    assert_int_equal(sim_plc_item_changes(f.p), ch1 + 1); /* diverted */
    assert_int_equal(f.rb[7], SIM_CONF_DIVERTED);
    assert_int_equal(f.rb[8], 2);
    assert_int_equal(sim_plc_counters(f.p, 0, &c), 0);
    assert_int_equal(c.inducted, 1);
    assert_int_equal(c.diverted[2], 1);
    assert_int_equal(c.diverted_total, 1);
    assert_int_equal(c.decisions_used, 1);
    assert_int_equal(c.late_default, 0);
    assert_int_equal(c.lane_fill[2], 1);
    assert_int_equal(sim_plc_item(f.p, tid, &it), 0);
    assert_int_equal(it.state, SIM_ITEM_DIVERTED);
    assert_int_equal(it.lane, 2);
    assert_int_equal(sim_plc_item(f.p, tid + 1, &it), WCS_E_UNKNOWN);
    /* wcs acknowledges; the next confirmation may then be published. */
    f.wb[4] = 1;
    run_ms(&f, 50);
    assert_int_equal(sim_plc_counters(f.p, 0, &c), 0);
    assert_int_equal(c.confirms_acked, 1);
    stop(&f);
}

/* The decision must arrive before the item is actuation_ms * speed before the divert:
 * 3000 mm - 600 mm = 2400 mm after the scanner, 1200 ms at 2 m/s. */
static void test_decision_window(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc_counters c;
    struct fx f;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    start(&f, &cfg);
    run_ms(&f, 50);
    assert_int_equal(sim_plc_induct(f.p, 0, "IN-TIME", SIM_READ_BY_RATE, NULL), 0);
    assert_int_equal(sim_plc_induct(f.p, 0, "LATE", SIM_READ_BY_RATE, NULL), 0);
    /* First item: scanned at ~251 ms after induction. Answer at 1150 ms after its scan. */
    run_ms(&f, 300);
    rd(&f);
    assert_int_equal(f.rb[2], 1);
    run_ms(&f, 1100);
    f.wb[1] = 1;
    f.wb[2] = 3;
    wr(&f);
    /* Second item (800 mm behind, 400 ms later): wait until after its decision point. */
    rd(&f);
    assert_int_equal(f.rb[2], 2);
    run_ms(&f, 500);
    f.wb[1] = 2;
    f.wb[2] = 3;
    wr(&f);
    f.wb[4] = 1;
    run_ms(&f, 1000);
    rd(&f);
    assert_int_equal(f.rb[6], 2);
    assert_int_equal(f.rb[7], SIM_CONF_LATE_DEFAULT);
    assert_int_equal(f.rb[8], 0); /* reject at the end of the line */
    assert_int_equal(sim_plc_counters(f.p, 0, &c), 0);
    assert_int_equal(c.diverted[3], 1);
    assert_int_equal(c.late_default, 1);
    assert_int_equal(c.decisions_late, 1);
    assert_int_equal(c.rejected, 1);
    /* A decision for a sequence no item carries is counted, not applied. */
    f.wb[1] = 999;
    wr(&f);
    assert_int_equal(sim_plc_counters(f.p, 0, &c), 0);
    assert_int_equal(c.decisions_unknown, 1);
    stop(&f);
}

static void test_comms_lost_failsafe(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc_counters c;
    struct fx f;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    cfg.points[0].default_route = SIM_ROUTE_RECIRC;
    start(&f, &cfg);
    /* Nobody has written since start-up: lost after 3 periods; the first write, whatever its
     * heartbeat value (here 0), starts the clock again. */
    adv_ms(&f, 760);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, SIM_ST_WCS_COMMS_LOST);
    wr(&f);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, 0);
    run_ms(&f, 100);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, 0);
    /* Stalled: 3 periods of 250 ms counted from the last change. */
    adv_ms(&f, 740);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, 0);
    adv_ms(&f, 20);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, SIM_ST_WCS_COMMS_LOST);
    /* Writes that do not move the heartbeat do not revive the link. */
    wr(&f);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, SIM_ST_WCS_COMMS_LOST);
    /* An item decided in time still goes the fail-safe way while the link is lost. */
    assert_int_equal(sim_plc_induct(f.p, 0, "FS-1", SIM_READ_BY_RATE, NULL), 0);
    adv_ms(&f, 300);
    rd(&f);
    assert_int_equal(f.rb[2], 1);
    f.wb[1] = 1;
    f.wb[2] = 1;
    wr(&f);
    adv_ms(&f, 2000);
    rd(&f);
    assert_int_equal(f.rb[6], 1);
    assert_int_equal(f.rb[7], SIM_CONF_LATE_DEFAULT);
    assert_int_equal(f.rb[8], 99); /* recirculation lane id */
    assert_int_equal(sim_plc_counters(f.p, 0, &c), 0);
    assert_int_equal(c.failsafe_routed, 1);
    assert_int_equal(c.recirculated, 1);
    assert_int_equal(c.diverted_total, 0);
    /* The heartbeat moves again: the bit clears at once. */
    f.wb[0]++;
    wr(&f);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_WCS_COMMS_LOST, 0);
    stop(&f);
}

static void test_lane_full(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc_counters c;
    struct fx f;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    cfg.points[0].lane_capacity[0] = 1;
    cfg.points[0].lane_drain_per_min[0] = 0;
    start(&f, &cfg);
    run_ms(&f, 50);
    assert_int_equal(sim_plc_induct(f.p, 0, "A", SIM_READ_BY_RATE, NULL), 0);
    assert_int_equal(sim_plc_induct(f.p, 0, "B", SIM_READ_BY_RATE, NULL), 0);
    run_ms(&f, 300);
    f.wb[1] = 1;
    f.wb[2] = 1;
    run_ms(&f, 400);
    rd(&f);
    assert_int_equal(f.rb[2], 2);
    f.wb[1] = 2;
    f.wb[2] = 1;
    run_ms(&f, 1500);
    rd(&f);
    assert_int_equal(f.rb[6], 1);
    assert_int_equal(f.rb[7], SIM_CONF_DIVERTED);
    assert_int_equal(f.rb[1] & SIM_ST_DOWNSTREAM_FULL, SIM_ST_DOWNSTREAM_FULL);
    /* The second confirmation waits for the ack of the first. */
    f.wb[4] = 1;
    run_ms(&f, 50);
    rd(&f);
    assert_int_equal(f.rb[6], 2);
    assert_int_equal(f.rb[7], SIM_CONF_LANE_FULL);
    assert_int_equal(f.rb[8], 0);
    assert_int_equal(sim_plc_counters(f.p, 0, &c), 0);
    assert_int_equal(c.lane_full, 1);
    assert_int_equal(c.diverted[1], 1);
    assert_int_equal(c.lane_fill[1], 1);
    stop(&f);
}

static void test_seq_wrap_and_noread(void **state)
{
    struct sim_plc_cfg cfg;
    struct fx f;
    char bc[64];
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    cfg.points[0].initial_scan_seq = 65534;
    cfg.first_track_id = 0x12344;
    start(&f, &cfg);
    rd(&f);
    assert_int_equal(f.rb[2], 65534);
    assert_int_equal(sim_plc_induct(f.p, 0, "W1", SIM_READ_BY_RATE, NULL), 0);
    assert_int_equal(sim_plc_induct(f.p, 0, "W2", SIM_READ_NOREAD, NULL), 0);
    run_ms(&f, 300);
    rd(&f);
    assert_int_equal(f.rb[2], 65535);
    assert_int_equal(f.rb[4], 0x0001); /* track id high word first */
    assert_int_equal(f.rb[5], 0x2344);
    run_ms(&f, 400);
    rd(&f);
    assert_int_equal(f.rb[2], 1); /* 65535 is followed by 1, never 0 */
    assert_int_equal(f.rb[3], SIM_READ_NOREAD);
    barcode_of(f.rb, bc, sizeof(bc));
    assert_string_equal(bc, "");
    assert_int_equal(track(f.rb), 0x12345);
    stop(&f);
}

static void test_confirm_queue_bound(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc_counters c;
    struct fx f;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    cfg.points[0].confirm_queue = 2;
    start(&f, &cfg);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sim_plc_induct(f.p, 0, NULL, SIM_READ_BY_RATE, NULL), 0);
    run_ms(&f, 4000); /* no decisions, no acks: three late items */
    rd(&f);
    assert_int_equal(f.rb[6], 1);
    assert_int_equal(sim_plc_counters(f.p, 0, &c), 0);
    assert_int_equal(c.late_default, 3);
    assert_int_equal(c.confirms_dropped, 1);
    f.wb[4] = 1;
    run_ms(&f, 50);
    rd(&f);
    assert_int_equal(f.rb[6], 2);
    f.wb[4] = 2;
    run_ms(&f, 50);
    rd(&f);
    assert_int_equal(f.rb[6], 2); /* the third was dropped: wcs sees the gap later */
    stop(&f);
}

static void test_recirculation(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc_item it;
    struct fx f;
    uint32_t tid;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    cfg.points[0].recirc_loop_mm = 2000;
    cfg.points[0].max_recirc = 1;
    start(&f, &cfg);
    assert_int_equal(sim_plc_induct(f.p, 0, "LOOPY", SIM_READ_BY_RATE, &tid), 0);
    run_ms(&f, 300);
    f.wb[1] = 1;
    f.wb[3] = 0x2; /* recirculate */
    run_ms(&f, 1600);
    rd(&f);
    assert_int_equal(f.rb[6], 1);
    assert_int_equal(f.rb[7], SIM_CONF_PASSED);
    assert_int_equal(f.rb[8], 99);
    f.wb[4] = 1;
    /* 2000 mm loop back to induction + 500 mm to the scanner: 1250 ms. */
    run_ms(&f, 1300);
    rd(&f);
    assert_int_equal(f.rb[2], 2);
    assert_int_equal(track(f.rb), tid);
    /* Asked to recirculate again after its one allowed pass: rejected instead. */
    f.wb[1] = 2;
    run_ms(&f, 1600);
    rd(&f);
    assert_int_equal(f.rb[6], 2);
    assert_int_equal(f.rb[8], 0);
    assert_int_equal(sim_plc_item(f.p, tid, &it), 0);
    assert_int_equal(it.passes, 2);
    assert_int_equal(it.recirculations, 1);
    assert_int_equal(it.state, SIM_ITEM_REJECTED);
    stop(&f);
}

static void test_jam_estop_actuator(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc_counters c;
    struct fx f;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    start(&f, &cfg);
    assert_int_equal(sim_plc_induct(f.p, 0, "J1", SIM_READ_BY_RATE, NULL), 0);
    run_ms(&f, 300);
    assert_int_equal(sim_plc_jam(f.p, 0, 5000, true), 0);
    run_ms(&f, 2000);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_JAM, SIM_ST_JAM);
    assert_int_equal(f.rb[6], 0); /* the belt stands: nothing reached the divert */
    assert_int_equal(sim_plc_jam(f.p, 0, 0, false), 0);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_JAM, 0);
    assert_int_equal(f.rb[6], 1);
    assert_int_equal(f.rb[7], SIM_CONF_LOST);
    f.wb[4] = 1;
    /* E-stop clears auto and stops the belt. */
    sim_plc_estop(f.p, true);
    rd(&f);
    assert_int_equal(f.rb[1] & (SIM_ST_AUTO | SIM_ST_ESTOP), SIM_ST_ESTOP);
    sim_plc_estop(f.p, false);
    /* Actuator fault: a divert asked for does not happen. */
    sim_plc_actuator_fault(f.p, 0, true);
    assert_int_equal(sim_plc_induct(f.p, 0, "J2", SIM_READ_BY_RATE, NULL), 0);
    run_ms(&f, 300);
    rd(&f);
    assert_int_equal(f.rb[1] & SIM_ST_ACTUATOR_FAULT, SIM_ST_ACTUATOR_FAULT);
    f.wb[1] = f.rb[2];
    f.wb[2] = 1;
    run_ms(&f, 1600);
    rd(&f);
    assert_int_equal(f.rb[6], 2);
    assert_int_equal(f.rb[7], SIM_CONF_ACTUATOR_FAULT);
    assert_int_equal(sim_plc_counters(f.p, 0, &c), 0);
    assert_int_equal(c.lost, 1);
    assert_int_equal(c.actuator_faults, 1);
    assert_int_equal(c.diverted_total, 0);
    stop(&f);
}

static void test_disconnect_reconnect(void **state)
{
    struct sim_plc_cfg cfg;
    struct fx f;
    modbus_t *c2;
    uint16_t v;
    int ok = 0;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    start(&f, &cfg);
    rd(&f);
    assert_int_equal(sim_plc_disconnect(f.p, 2000), 0);
    assert_int_equal(modbus_read_registers(f.c, 0, 1, &v), -1);
    modbus_close(f.c);
    assert_int_equal(modbus_connect(f.c), -1); /* listener closed */
    adv_ms(&f, 1000);
    usleep(20000);
    assert_int_equal(modbus_connect(f.c), -1);
    adv_ms(&f, 1100);
    for (int i = 0; i < WAIT_MS / 5 && !ok; i++) {
        usleep(5000);
        ok = modbus_connect(f.c) == 0;
    }
    assert_true(ok);
    rd(&f);
    /* A second client at the same time is served too. */
    c2 = modbus_new_tcp("127.0.0.1", sim_plc_port(f.p));
    assert_int_equal(modbus_connect(c2), 0);
    assert_int_equal(modbus_read_registers(c2, 0, 1, &v), 1);
    modbus_close(c2);
    modbus_free(c2);
    /* Reading past the map is an illegal-address exception, as on a real PLC. */
    assert_int_equal(modbus_read_registers(f.c, 200, 1, &v), -1);
    assert_int_equal(errno, EMBXILADD);
    stop(&f);
}

static void test_config_rejected(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc *p = NULL;
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    cfg.points[0].map.write_base = 20; /* overlaps the read block (0..28) */
    assert_int_equal(sim_plc_open(&p, &cfg), WCS_E_CONFIG);
    sim_plc_cfg_defaults(&cfg);
    cfg.points[0].actuation_ms = 2000; /* decision point before the scanner */
    assert_int_equal(sim_plc_open(&p, &cfg), WCS_E_CONFIG);
    sim_plc_cfg_defaults(&cfg);
    cfg.n_points = 2;
    sim_plc_point_defaults(&cfg.points[1]); /* same addresses as point 0 */
    assert_int_equal(sim_plc_open(&p, &cfg), WCS_E_CONFIG);
    assert_null(p);
}

static void test_two_points_auto_induction(void **state)
{
    struct sim_plc_cfg cfg;
    struct sim_plc_counters c0, c1, all;
    struct fx f;
    uint16_t r1[RN];
    (void)state;
    sim_plc_cfg_defaults(&cfg);
    cfg.n_points = 2;
    sim_plc_point_defaults(&cfg.points[1]);
    cfg.points[1].map.read_base = 200;
    cfg.points[1].map.write_base = 300;
    cfg.points[1].induct_per_min = 60; /* one a second */
    start(&f, &cfg);
    run_ms(&f, 9500); /* inductions at 0, 1, ..., 9 s; each diverts 1.75 s later */
    assert_int_equal(sim_plc_counters(f.p, 0, &c0), 0);
    assert_int_equal(sim_plc_counters(f.p, 1, &c1), 0);
    assert_int_equal(sim_plc_counters(f.p, SIM_PLC_MAX_POINTS, &all), 0);
    assert_int_equal(c0.inducted, 0);
    assert_int_equal(c1.inducted, 10);
    assert_int_equal(all.inducted, 10);
    /* Nobody writes point 1's heartbeat: its link is lost, so every item goes fail-safe. */
    assert_int_equal(c1.failsafe_routed, 8);
    assert_int_equal(c1.late_default, 0);
    assert_int_equal(c1.confirms_published, 1); /* the rest wait for an ack */
    assert_int_equal(modbus_read_registers(f.c, 200, RN, r1), RN);
    assert_true(r1[2] >= 9);
    assert_int_equal(sim_plc_counters(f.p, 2, &c0), WCS_E_RANGE);
    stop(&f);
}

/* A scaled clock (factor 100, the way a shift runs faster than real time with wcs on the same
 * origin and factor): 60 ms of real time are 6 s of belt time. */
static void test_scaled_clock(void **state)
{
    struct clock_scaled sc;
    struct sim_plc_cfg cfg;
    struct sim_plc_counters c;
    struct sim_plc *p;
    uint16_t hb0, hb1;
    (void)state;
    clock_scaled_init(&sc, 100.0, 1700000000000, 0);
    sim_plc_cfg_defaults(&cfg);
    cfg.clock = &sc.base;
    assert_int_equal(sim_plc_open(&p, &cfg), 0);
    assert_int_equal(sim_plc_peek(p, 0, 1, &hb0), 0);
    assert_int_equal(sim_plc_induct(p, 0, "FAST", SIM_READ_BY_RATE, NULL), 0);
    usleep(60000);
    assert_int_equal(sim_plc_peek(p, 0, 1, &hb1), 0);
    /* >= 6 s of clock time: at least 24 heartbeats of 250 ms (scheduling only adds). */
    assert_true((uint16_t)(hb1 - hb0) >= 24);
    assert_int_equal(sim_plc_counters(p, 0, &c), 0);
    assert_int_equal(c.late_default + c.failsafe_routed, 1); /* scanned and past the divert */
    sim_plc_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_heartbeat_real),
        cmocka_unit_test(test_scan_decision_divert),
        cmocka_unit_test(test_decision_window),
        cmocka_unit_test(test_comms_lost_failsafe),
        cmocka_unit_test(test_lane_full),
        cmocka_unit_test(test_seq_wrap_and_noread),
        cmocka_unit_test(test_confirm_queue_bound),
        cmocka_unit_test(test_recirculation),
        cmocka_unit_test(test_jam_estop_actuator),
        cmocka_unit_test(test_disconnect_reconnect),
        cmocka_unit_test(test_config_rejected),
        cmocka_unit_test(test_two_points_auto_induction),
        cmocka_unit_test(test_scaled_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
