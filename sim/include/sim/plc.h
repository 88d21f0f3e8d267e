/* Conveyor PLC emulator: a libmodbus TCP server on 127.0.0.1 that implements the scan-point
 * register map and handshake of DESIGN.md §4.5 (docs/plc.md) over a belt model in the time of
 * an injected clock. Each scan point is one sorter line: induction, a photo-eye and scanner,
 * one divert point feeding lanes with capacity and drain, an end-of-line reject and a
 * recirculation loop back to the scanner. Runs on its own thread; every function here is
 * thread-safe. The model is documented in docs/simulator.md. */
#ifndef SIM_PLC_H
#define SIM_PLC_H

#include "base/clock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SIM_PLC_MAX_POINTS = 8, SIM_PLC_MAX_LANES = 32, SIM_PLC_BARCODE_MAX = 100 };

/* plc_status bits. */
enum {
    SIM_ST_AUTO = 0x01,
    SIM_ST_ESTOP = 0x02,
    SIM_ST_JAM = 0x04,
    SIM_ST_DOWNSTREAM_FULL = 0x08,
    SIM_ST_SCANNER_FAULT = 0x10,
    SIM_ST_ACTUATOR_FAULT = 0x20,
    SIM_ST_WCS_COMMS_LOST = 0x40,
};

enum sim_read_result {
    SIM_READ_BY_RATE = 0,
    SIM_READ_GOOD = 1,
    SIM_READ_NOREAD = 2,
    SIM_READ_MULTI = 3
};

enum sim_confirm {
    SIM_CONF_DIVERTED = 1,
    SIM_CONF_PASSED = 2,
    SIM_CONF_LATE_DEFAULT = 3,
    SIM_CONF_LANE_FULL = 4,
    SIM_CONF_ACTUATOR_FAULT = 5,
    SIM_CONF_LOST = 6,
};

enum sim_route { SIM_ROUTE_REJECT = 0, SIM_ROUTE_RECIRC = 1 };

/* Offsets inside the blocks; sim_plc_point_defaults() fills the defaults of docs/plc.md. */
struct sim_plc_map {
    uint16_t read_base, write_base;
    uint16_t barcode_regs; /* 1..50 */
    uint16_t plc_heartbeat, plc_status, scan_seq, read_result, track_id, confirm_seq,
        confirm_result, confirm_lane, barcode;                               /* read block */
    uint16_t wcs_heartbeat, resp_seq, dest_lane, cmd_flags, confirm_ack_seq; /* write block */
};

struct sim_plc_point_cfg {
    struct sim_plc_map map;
    uint32_t belt_mm_s;            /* belt speed */
    uint32_t scanner_pos_mm;       /* photo-eye/scanner distance from the induction point */
    uint32_t scanner_to_divert_mm; /* scanner to the divert point */
    uint32_t actuation_ms;         /* divert lead time: the decision must be in this long before */
    uint32_t item_len_mm;          /* item length; induction waits for item_len + gap of space */
    uint32_t min_gap_mm;
    uint32_t induct_per_min; /* automatic induction rate; 0: only items given by the API */
    char barcode_prefix[16]; /* automatic items read "<prefix><track id, 8 digits>" */
    double noread_rate, multiread_rate, lost_rate;  /* per scan / per pass, 0..1 */
    unsigned n_lanes;                               /* lanes 1..n_lanes */
    uint32_t lane_capacity[SIM_PLC_MAX_LANES];      /* items; 0 means unlimited */
    uint32_t lane_drain_per_min[SIM_PLC_MAX_LANES]; /* items leaving each lane; 0: never */
    enum sim_route default_route;                   /* late, unknown, fail-safe, lane full */
    uint16_t reject_lane_id;   /* confirm_lane reported for the end-of-line reject (default 0) */
    uint16_t recirc_lane_id;   /* confirm_lane reported for recirculation (default 99) */
    uint32_t recirc_loop_mm;   /* loop length from the divert back to the induction point */
    unsigned max_recirc;       /* passes through the loop before an item is rejected instead */
    unsigned confirm_queue;    /* unacknowledged confirmations held (1..256, default 8) */
    uint16_t initial_scan_seq; /* scan_seq before the first item (0: none yet); for wrap tests */
    /* At least this long in REAL time between two inductions (0: only the belt's spacing).
     * On a clock S times faster than real time the belt's spacing shrinks S times, while wcs
     * polls the PLC in real time: with one scan block per point, scans closer together than a
     * poll period overwrite each other. */
    uint32_t min_pitch_real_us;
};

struct sim_plc_cfg {
    const struct wcs_clock *clock; /* borrowed; must outlive the emulator */
    uint16_t port;                 /* 0: a free port, read it back with sim_plc_port() */
    uint32_t heartbeat_ms;         /* PLC heartbeat period; wcs heartbeat stalls after 3 */
    bool heartbeat_real;     /* heartbeat_ms and the stall are real time, not the clock's (a clock
                                whose factor changes: wcs watches heartbeats in real time) */
    uint32_t step_us;        /* model step (default 1000 us of clock time) */
    uint64_t seed;           /* read outcomes and losses */
    uint32_t max_items;      /* per-item records kept (default 100000) */
    uint32_t first_track_id; /* track id of the first item (default 1; 0 means 1) */
    unsigned n_points;
    struct sim_plc_point_cfg points[SIM_PLC_MAX_POINTS];
};

/* Fills a scan point with defaults: read_base 0, write_base 100, map offsets of docs/plc.md,
 * 20 barcode registers, 2000 mm/s, scanner at 500 mm, 3000 mm to the divert, 300 ms actuation,
 * 400 mm items with 400 mm gaps, no automatic induction, 4 lanes of capacity 20 draining
 * 30/min, reject as default route, recirculation loop 20 m and 3 passes, 8 confirmations. */
void sim_plc_point_defaults(struct sim_plc_point_cfg *pc);
/* Fills cfg with one default scan point, the system clock, a 250 ms heartbeat, seed 1. */
void sim_plc_cfg_defaults(struct sim_plc_cfg *cfg);

struct sim_plc;

/* Validates cfg, listens on 127.0.0.1 and starts the emulator thread. Returns 0, WCS_E_CONFIG
 * (overlapping blocks, a field outside its block, a zero speed, a point whose decision point
 * lies before the scanner...), -ENOMEM, or a negative errno from the socket calls. */
int sim_plc_open(struct sim_plc **out, const struct sim_plc_cfg *cfg);
/* Stops the thread, closes the server and frees. NULL-safe. */
void sim_plc_close(struct sim_plc *p);

/* The TCP port the server listens on (the one given, or the free one chosen). */
uint16_t sim_plc_port(const struct sim_plc *p);

/* Queues an item for induction on scan point `point` (before automatic ones, after recirculated
 * ones). barcode NULL: an automatic barcode. forced: SIM_READ_BY_RATE or a fixed read outcome
 * for its first scan. *track_id_out (may be NULL) gets its tracking number.
 * Returns 0, WCS_E_RANGE (bad point, barcode longer than the map holds, or not printable ASCII
 * or GS), WCS_E_FULL (1024 items already waiting). */
int sim_plc_induct(struct sim_plc *p, unsigned point, const char *barcode,
                   enum sim_read_result forced, uint32_t *track_id_out);

/* Faults. Each returns 0 or WCS_E_RANGE for a bad point.
 * sim_plc_jam: duration_ms > 0 stops the belt of `point` for that long (clock time), and with
 * lose_item the first scanned item between scanner and divert is gone when the jam clears
 * (confirmed lost); duration_ms 0 clears an active jam now. */
int sim_plc_jam(struct sim_plc *p, unsigned point, uint32_t duration_ms, bool lose_item);
/* E-stop on/off for all scan points. Returns 0. */
int sim_plc_estop(struct sim_plc *p, bool on);
int sim_plc_scanner_fault(struct sim_plc *p, unsigned point, bool on);
int sim_plc_actuator_fault(struct sim_plc *p, unsigned point, bool on);
/* A person empties lane (1..n_lanes) of a point: its fill becomes 0. Returns 0 or WCS_E_RANGE. */
int sim_plc_lane_empty(struct sim_plc *p, unsigned point, unsigned lane);
/* Closes the listener and every client before it returns (blocks until the thread did it,
 * about a millisecond); listens again on the same port after duration_ms of clock time.
 * Returns 0. */
int sim_plc_disconnect(struct sim_plc *p, uint32_t duration_ms);
/* Freezes plc_heartbeat (the PLC side of a stalled link) or lets it run again. Returns 0. */
int sim_plc_freeze_heartbeat(struct sim_plc *p, bool frozen);

struct sim_plc_counters {
    uint64_t inducted, scanned, good_reads, no_reads, multi_reads;
    uint64_t decisions_used, decisions_late, decisions_unknown;
    uint64_t diverted[SIM_PLC_MAX_LANES + 1]; /* index = lane; [0] unused */
    uint64_t diverted_total, passed, rejected, late_default, failsafe_routed, lane_full,
        actuator_faults, recirculated, recirc_exhausted, lost;
    uint64_t confirms_published, confirms_acked, confirms_dropped;
    uint64_t mb_requests, mb_connections, mb_bad_writes;
    uint32_t lane_fill[SIM_PLC_MAX_LANES + 1];
    uint32_t on_belt, in_loop, waiting;
    uint32_t confirms_held; /* published and not acknowledged, plus queued behind (confirm_queue) */
};

/* Brings the model up to the clock's now and copies the counters of one scan point
 * (point == SIM_PLC_MAX_POINTS: the sum over all points; lane_fill then stays 0). */
int sim_plc_counters(struct sim_plc *p, unsigned point, struct sim_plc_counters *out);

enum sim_item_state {
    SIM_ITEM_WAITING = 0, /* queued for induction */
    SIM_ITEM_ON_BELT,
    SIM_ITEM_IN_LOOP,
    SIM_ITEM_DIVERTED, /* in a lane */
    SIM_ITEM_REJECTED, /* end-of-line reject */
    SIM_ITEM_LOST,
};

struct sim_plc_item {
    uint32_t track_id;
    unsigned point;
    char barcode[SIM_PLC_BARCODE_MAX + 1];
    enum sim_item_state state;
    uint16_t scan_seq;      /* of its last scan (0: not scanned yet) */
    uint8_t read_result;    /* of its last scan */
    uint8_t confirm_result; /* of its last pass of the divert (0: none yet) */
    uint16_t lane;          /* confirm_lane of its last pass */
    unsigned passes;        /* scans so far */
    unsigned recirculations;
};

/* Copies the record of an item (brought up to now). Returns 0 or WCS_E_UNKNOWN. */
int sim_plc_item(struct sim_plc *p, uint32_t track_id, struct sim_plc_item *out);
/* Brings the model up to now and returns how many times an item's state changed so far
 * (queued, on the belt, diverted, rejected, in the loop, lost): who follows items with
 * sim_plc_item need look at them again only when this changed. */
uint64_t sim_plc_item_changes(struct sim_plc *p);

/* Reads holding registers straight from the emulator's map (no Modbus), for assertions.
 * Returns 0 or WCS_E_RANGE. */
int sim_plc_peek(struct sim_plc *p, uint16_t addr, uint16_t n, uint16_t *out);

#endif
