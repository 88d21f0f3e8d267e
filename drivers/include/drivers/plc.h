/* Conveyor PLC device class (DESIGN.md §4.5): Modbus TCP/RTU through libmodbus with one worker
 * thread per PLC, or OSIP telegrams over a TCP link on the loop. Either way the owner sees the
 * same events on the loop (a new scan, a confirmation, link state) and answers a scan with
 * conv_plc_decide. Several scan points per PLC; several PLCs are several conv_plc objects. */
#ifndef DRIVERS_PLC_H
#define DRIVERS_PLC_H

#include "drivers/codec/plcblock.h"
#include "drivers/transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct conv_plc;

enum conv_proto {
    CONV_MODBUS_TCP, /* addr.kind TR_TCP */
    CONV_MODBUS_RTU, /* addr.kind TR_SERIAL */
    CONV_OSIP,       /* addr.kind TR_TCP; one scan point, decisions are RES_ telegrams */
};

enum { CONV_MAX_POINTS = 16, CONV_TARGET_LEN = 20 };

struct conv_plc_cfg {
    const char *id; /* for the owner's logs; copied */
    enum conv_proto proto;
    struct tr_addr addr;
    uint8_t unit_id;         /* Modbus slave id (1..247) */
    uint32_t poll_ms;        /* read period, default 10 */
    uint32_t heartbeat_ms;   /* wcs_heartbeat period and PLC heartbeat watch, default 250 */
    uint32_t timeout_ms;     /* Modbus response timeout, default 50 (well below a decision) */
    uint32_t backoff_min_ms; /* reconnect delay, doubling, default 100 */
    uint32_t backoff_max_ms; /* default 2000 */
    size_t n_points;         /* 1..CONV_MAX_POINTS (OSIP: 1) */
    struct plc_regmap points[CONV_MAX_POINTS]; /* Modbus: one register map per scan point */
    size_t queue_cap;                          /* events and decisions in flight, default 256 */
    /* OSIP */
    size_t osip_len;   /* telegram length, default 160 */
    char osip_node[6]; /* our node name (5 chars), default "WCS__" */
};

/* Fills *cfg with the defaults above for proto and addr and zero points. */
void conv_plc_cfg_init(struct conv_plc_cfg *cfg, enum conv_proto proto, const struct tr_addr *addr);

enum conv_link {
    CONV_LINK_DOWN,  /* not connected (reconnecting with backoff) */
    CONV_LINK_UP,    /* connected and a request answered since; heartbeat moving */
    CONV_LINK_FAULT, /* connected but faulted: heartbeat stalled 3 periods, an exception, a
                        timeout or a garbled reply (see enum conv_fault) */
};

enum conv_evt_kind {
    CONV_EVT_SCAN,    /* scan_seq changed: a decision request */
    CONV_EVT_CONFIRM, /* confirm_seq changed (acknowledged to the PLC by the driver) */
    CONV_EVT_LINK,    /* link state changed */
    CONV_EVT_STATUS,  /* plc_status bits changed */
    CONV_EVT_STALE,   /* a decision was not written: its scan_seq is no longer current */
};

enum conv_fault {
    CONV_FAULT_NONE,
    CONV_FAULT_CONNECT,   /* connect failed or the connection dropped */
    CONV_FAULT_TIMEOUT,   /* a request got no answer within timeout_ms */
    CONV_FAULT_EXCEPTION, /* the PLC answered with a Modbus exception */
    CONV_FAULT_HEARTBEAT, /* plc_heartbeat did not change for 3 periods */
    CONV_FAULT_DATA,      /* the read block did not decode (bad value in a register) */
    CONV_FAULT_FRAME,     /* a reply was garbled: bad CRC, wrong unit id or length (line noise) */
};

struct conv_event {
    enum conv_evt_kind kind;
    uint16_t point; /* scan point index */
    uint64_t at_us; /* CLOCK_MONOTONIC when the worker saw it */
    uint32_t seq;   /* SCAN: scan_seq (OSIP: REQ_ sequence); CONFIRM: confirm_seq; STALE */
    enum plc_read_result read_result;
    uint32_t track_id;
    enum plc_confirm_result confirm_result;
    uint16_t confirm_lane;
    uint16_t status; /* plc_status bits */
    enum conv_link link;
    enum conv_fault fault;
    int rc; /* LINK: the error behind a DOWN or FAULT */
    char barcode[2 * PLC_BARCODE_MAX_REGS + 1];
    char target[CONV_TARGET_LEN + 1]; /* OSIP REQ_: the PLC's target location ('*' none) */
};

/* Called on the loop for each event; ev is valid during the call only. */
typedef void (*conv_event_cb)(struct conv_plc *p, const struct conv_event *ev, void *arg);

struct conv_plc_stats {
    uint64_t polls, reads, writes;
    uint64_t timeouts, exceptions, connect_failures, reconnects;
    uint64_t hb_stalls, decode_errors;
    uint64_t frame_errors;      /* replies dropped as garbled (CONV_FAULT_FRAME) */
    uint64_t stale_decisions;   /* decisions refused: scan_seq no longer current */
    uint64_t events_dropped;    /* the event queue was full */
    uint64_t decisions_dropped; /* the decision queue was full (conv_plc_decide failed) */
};

/* Validates cfg (every map with plc_regmap_validate, non-overlapping write blocks, periods),
 * starts the worker thread (Modbus) or the link (OSIP) and watches the event queue on loop.
 * Returns 0, WCS_E_CONFIG, -ENOMEM or a negative errno; *out untouched on failure. Never
 * blocks: connecting happens in the worker. */
int conv_plc_open(struct conv_plc **out, struct loop *loop, const struct conv_plc_cfg *cfg,
                  conv_event_cb cb, void *arg);

/* Stops the worker (joins it; it wakes within one poll period or response timeout), closes the
 * connection and frees. Events still queued are discarded. NULL-safe. */
void conv_plc_close(struct conv_plc *p);

struct conv_decision {
    uint16_t point; /* scan point index */
    uint32_t seq;   /* the scan_seq (OSIP: REQ_ seq) being answered */
    uint16_t dest_lane;
    uint16_t cmd_flags;               /* PLC_CMD_* */
    char target[CONV_TARGET_LEN + 1]; /* OSIP: target location ("" = none) */
};

/* Queues a decision for the worker, which writes it in one request (resp_seq, dest_lane,
 * cmd_flags, confirm_ack_seq, wcs_heartbeat) as soon as it is dequeued, unless the point's
 * scan_seq has moved on (then a CONV_EVT_STALE event instead). Returns 0, WCS_E_RANGE (point
 * out of range, reserved cmd_flags bit), WCS_E_FULL (queue full, counted) or WCS_E_LINK (link
 * not up). Never blocks. */
int conv_plc_decide(struct conv_plc *p, const struct conv_decision *d);

enum conv_link conv_plc_get_link(const struct conv_plc *p);
/* A snapshot of the counters (read atomically field by field). */
void conv_plc_get_stats(const struct conv_plc *p, struct conv_plc_stats *out);
const char *conv_link_name(enum conv_link l);
const char *conv_fault_name(enum conv_fault f);

#endif
