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
    uint32_t burst_polls;    /* Modbus: extra polls at once after a poll that found a new scan
                                or confirmation, at most this many per period; 0 = strictly
                                periodic. Default 4 (docs/plc.md "Polling") */
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
    /* SCAN only: the worker answered the scan itself from the decision table (see below) and
     * queued the write before posting this event; the owner does the bookkeeping. */
    bool decided;
    uint16_t dest_lane, cmd_flags; /* what was written (decided only) */
    uint64_t decided_us;           /* CLOCK_MONOTONIC when it was put in the write block */
    uint64_t table_version;        /* the table version it came from */
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
    uint64_t table_decisions;   /* scans the worker answered from the decision table */
    uint64_t table_asks;        /* scans the table could not answer (posted to the owner) */
    uint64_t burst_polls;       /* polls made at once after one that found work (in polls) */
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

/* ---- decision table: the worker answers a scan without waking the loop ----
 *
 * The owner (the loop) derives an immutable snapshot from its own state and publishes it; each
 * worker that is attached looks every new scan up in the newest snapshot and, when it has an
 * answer, writes the decision at once and reports the scan with `decided` set. Anything the
 * table cannot answer goes to the owner as before (CONV_EVT_SCAN, conv_plc_decide).
 *
 * A snapshot holds: a string map (persistent hash, copy-on-write buckets: a change copies one
 * bucket and its page, never the whole map), per rule set (one per scan point) the rules for
 * no-read, multi-read and a malformed label and a rule per class string, and one ok flag per
 * lane. A good read is resolved as: key = key_fn(barcode) (failure: the malformed rule), then
 * value = map[key]; while value names no class of the rule set, value = map[value], at most
 * CONV_TABLE_HOPS lookups; nothing found: ask the owner. A WRITE rule whose `lane` flag is
 * down also asks the owner.
 *
 * Reclamation: a publish swaps one pointer (sequentially consistent); each reader announces
 * the published version it entered with in its slot and clears the slot when done. A node
 * dropped by version V is freed only once no slot holds a version below V. No lock and no
 * allocation on the reader's side; nothing is freed under a reader.
 *
 * Threads: everything but conv_table_decide is the owner's (one thread). conv_table_decide is
 * called by the reader owning the slot (the PLC worker does it itself once attached). */

struct conv_table;

enum conv_rule_kind {
    CONV_RULE_ASK = 0, /* the owner decides (the fallback) */
    CONV_RULE_WRITE,   /* write dest_lane and cmd_flags at once */
};

struct conv_rule {
    enum conv_rule_kind kind;
    uint16_t dest_lane;
    uint16_t cmd_flags; /* PLC_CMD_* */
    int32_t lane;       /* lane flag that must be up to WRITE (-1: none checked) */
};

enum {
    CONV_TABLE_KEY_MAX = 96, /* map keys and values, with the NUL */
    CONV_TABLE_HOPS = 3,     /* map lookups per scan at most */
    CONV_TABLE_READERS = 64, /* reader slots per table */
    CONV_TABLE_CLASSES = 64, /* class rules per rule set */
};

struct conv_class_rule {
    char cls[CONV_TABLE_KEY_MAX];
    struct conv_rule rule;
};

struct conv_ruleset {
    struct conv_rule noread, multiread, malformed;
    size_t n_classes; /* 0..CONV_TABLE_CLASSES */
    const struct conv_class_rule *classes;
};

/* Turns a scan's data into its map key. Called on worker threads: must be pure and
 * thread-safe. Returns 0 with a NUL-terminated key, or a negative code: a malformed label. */
typedef int (*conv_key_fn)(const char *data, size_t len, char *key, size_t cap);

/* Creates an empty table (no rule sets: every scan asks the owner until rules are published).
 * key_fn NULL: the barcode itself is the key. Returns 0, -ENOMEM; *out untouched on failure. */
int conv_table_new(struct conv_table **out, conv_key_fn key_fn);
/* Frees the table and every version. No reader may use it any more (detach every PLC first).
 * NULL-safe. */
void conv_table_free(struct conv_table *t);

/* Stage a change for the next version (visible to readers only after conv_table_publish).
 * put: value NULL deletes key. Returns 0, WCS_E_RANGE (key empty or longer than
 * CONV_TABLE_KEY_MAX - 1, value too long), -ENOMEM (nothing changed). */
int conv_table_put(struct conv_table *t, const char *key, const char *value);
/* Replaces every rule set (index = rule set number). Returns 0, WCS_E_RANGE (too many
 * classes, a reserved cmd_flags bit), -ENOMEM. */
int conv_table_set_rules(struct conv_table *t, const struct conv_ruleset *sets, size_t n);
/* Replaces the lane flags (ok[i] for lane i; a lane past n counts as down). Returns 0,
 * -ENOMEM. */
int conv_table_set_lanes(struct conv_table *t, const bool *ok, size_t n);
/* Publishes the staged changes as a new version (nothing staged: nothing happens) and frees
 * what no reader can still see. Cost: the pages and buckets changed since the last publish.
 * Returns the published version (>= 1 once anything was published, 0 before). Never fails. */
uint64_t conv_table_publish(struct conv_table *t);
/* Frees what no reader can still see (publish does this too). Returns the number of nodes
 * still waiting for a reader to move on. */
size_t conv_table_reclaim(struct conv_table *t);
/* Map entries of the newest published version. */
size_t conv_table_size(const struct conv_table *t);

/* Takes a reader slot. Returns the slot (>= 0) or WCS_E_FULL. Owner thread. */
int conv_table_reader_add(struct conv_table *t);
/* Gives the slot back; its reader must not be inside conv_table_decide. Owner thread. */
void conv_table_reader_del(struct conv_table *t, int slot);
/* The reader's lookup (see above) for rule set `set`, on the slot's own thread. Fills *out
 * (CONV_RULE_ASK when nothing answers) and *version_out (0: nothing published). Lock-free, no
 * allocation, never blocks. */
void conv_table_decide(struct conv_table *t, int slot, uint32_t set, enum plc_read_result rr,
                       const char *barcode, struct conv_rule *out, uint64_t *version_out);

/* Attaches table t to a Modbus PLC (t NULL: detaches): scan point i of the PLC uses rule set
 * set_of_point[i]. Replaces any earlier attachment; returns after the worker has left any
 * lookup in the old one (microseconds). t must outlive the attachment. Owner thread. Returns
 * 0, WCS_E_FULL (no reader slot left), WCS_E_STATE (OSIP: the owner decides itself), -ENOMEM. */
int conv_plc_set_table(struct conv_plc *p, struct conv_table *t, const uint32_t *set_of_point);

enum conv_link conv_plc_get_link(const struct conv_plc *p);
/* A snapshot of the counters (read atomically field by field). */
void conv_plc_get_stats(const struct conv_plc *p, struct conv_plc_stats *out);
const char *conv_link_name(enum conv_link l);
const char *conv_fault_name(enum conv_fault f);

#endif
