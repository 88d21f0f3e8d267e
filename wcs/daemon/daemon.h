/* The control daemon (`wcs run`): one event loop that owns the site's floor state, wired to the
 * Redis store, the MQTT bus and the conveyor PLCs, with the sortation flow, alarms, KPIs and the
 * systemd protocol (READY, WATCHDOG, STOPPING, STATUS). docs/daemon.md describes the behaviour.
 * Commands from the bus go to the command layer (wcs/command/), which the daemon owns; the
 * in-memory model below is what the hot path reads. */
#ifndef WCS_DAEMON_DAEMON_H
#define WCS_DAEMON_DAEMON_H

#include "base/clock.h"
#include "base/loop.h"
#include "base/log.h"
#include "bus/bus.h"
#include "config/config.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wcsd;

#define WCSD_ID_MAX 64 /* tote, order, station, carrier ids with the NUL (= STORE_ID_MAX) */

/* ---- options and life cycle ---- */

struct wcsd_opts {
    const char *config_path;       /* required; re-read on SIGHUP / wcsd_reload */
    const struct wcs_clock *clock; /* NULL: the system clock (borrowed, outlives the daemon) */
    double clock_speed;        /* the clock's factor over real time (0 or 1: real time); for a clock
                                  whose factor changes (clock_shared), the largest it will be */
    uint32_t kpi_interval_ms;  /* KPI publish period; 0: 10000 */
    uint32_t lost_timeout_ms;  /* a diverted tote not confirmed by then is lost; 0: 30000 */
    uint32_t drain_timeout_ms; /* bound on the SIGTERM drain of store and bus; 0: 5000 */
    uint32_t noread_alarm_pct; /* no-read share over a KPI period that raises an alarm; 0: 5 */
    uint32_t unmatched_alarm_n; /* unmatched confirmations in a row that raise one; 0: 3 */
    int rt_priority;            /* 1..99: SCHED_FIFO for the loop thread; 0 off */
    bool signals;               /* true: take SIGTERM/SIGINT/SIGHUP through a signalfd */
    bool sd_notify;             /* true: talk to $NOTIFY_SOCKET (a no-op when it is unset) */
    const char *instance;       /* store op id prefix and bus client suffix; NULL: default */
    uint32_t ship_backlog_max;  /* carton confirmations kept while Redis is down; 0: 4096 */
};

/* Loads the config (every error logged), creates the loop, and opens store, bus and PLCs (they
 * connect in the background). Returns 0 and *out, WCS_E_CONFIG (the config did not pass; the
 * errors were logged), -EINVAL, -ENOMEM or a negative errno; *out untouched on failure. Does not
 * block on the network. */
int wcsd_open(struct wcsd **out, const struct wcsd_opts *o);
/* Runs the loop until SIGTERM/SIGINT or wcsd_stop, then drains (bounded by drain_timeout_ms)
 * and returns 0, or a negative errno when the loop failed. */
int wcsd_run(struct wcsd *d);
/* Asks the loop to stop as SIGTERM does: STOPPING=1, no more decisions, drain, return from
 * wcsd_run. Safe from the loop's callbacks; not thread-safe (use a signal from other threads). */
void wcsd_stop(struct wcsd *d);
/* Re-reads the config as SIGHUP does. Returns 0 (applied), WCS_E_CONFIG (refused: the errors
 * were logged, the running config stays), or a negative errno. */
int wcsd_reload(struct wcsd *d);
/* Closes PLCs, bus (publishing the offline status) and store, frees everything. NULL-safe.
 * Blocks up to about 1 s (bus_close). */
void wcsd_close(struct wcsd *d);

/* ---- accessors (borrowed pointers; valid until the next reload or wcsd_close) ---- */

struct loop *wcsd_loop(struct wcsd *d);
struct store *wcsd_store(struct wcsd *d);
struct bus *wcsd_bus(struct wcsd *d);
const struct cfg_site *wcsd_config(struct wcsd *d);
const struct wcs_clock *wcsd_clock(struct wcsd *d);
/* True after READY=1 was sent (config, state load and first good PLC cycles done). */
bool wcsd_is_ready(const struct wcsd *d);

/* ---- the in-memory model (the hot path answers from it; Redis is its durable copy) ----
 * The daemon keeps it in sync with its own writes. A command handler that changes an order or a
 * tote in Redis (through its own store scripts) calls the matching put so that the next scan
 * sees the change at once. Ids are store identifiers (store_id_check). */

/* The order states of docs/mqtt.md ("Order states"), as the command layer writes them. */
enum wcsd_order_state {
    WCSD_ORDER_DRAFT,
    WCSD_ORDER_CONFIRMED,
    WCSD_ORDER_WAVED,
    WCSD_ORDER_PICKING,
    WCSD_ORDER_PICKED,
    WCSD_ORDER_PACKED,
    WCSD_ORDER_SHIPPED,
    WCSD_ORDER_CANCELLED,
};

struct wcsd_order {
    char id[WCSD_ID_MAX];
    enum wcsd_order_state state;
    char carrier[WCSD_ID_MAX];      /* carrier code ("" none): its lane after packing */
    char pack_station[WCSD_ID_MAX]; /* pack station id ("" none): where its totes go first */
};

/* Where a tote is to go next. */
enum wcsd_dest {
    WCSD_DEST_AUTO,    /* from its order: pack station while picking, carrier lane once packed */
    WCSD_DEST_STATION, /* dest_id names a station (pack station or a consolidation station) */
    WCSD_DEST_CARRIER, /* dest_id names a carrier code */
    WCSD_DEST_QA,      /* the quality lane */
    WCSD_DEST_REJECT,  /* the reject lane (a person must look at it) */
};

enum wcsd_tote_state {
    WCSD_TOTE_OPEN,     /* known, not on the sorter */
    WCSD_TOTE_ROUTED,   /* a decision was written; waiting for its confirmation */
    WCSD_TOTE_ARRIVED,  /* confirmed in a lane (last_lane) */
    WCSD_TOTE_RECIRC,   /* sent round the recirculation loop */
    WCSD_TOTE_REJECTED, /* confirmed in (or sent to) the reject lane */
    WCSD_TOTE_LOST,     /* diverted but never confirmed, or confirmed lost by the PLC */
};

struct wcsd_tote {
    char id[WCSD_ID_MAX];
    char order[WCSD_ID_MAX]; /* "" none */
    enum wcsd_dest dest;
    char dest_id[WCSD_ID_MAX];
    enum wcsd_tote_state state;
    uint32_t recirc;        /* recirculations on the current trip */
    int32_t last_point;     /* scan point index, -1 none */
    int32_t last_lane;      /* lane index, -1 none */
    int64_t diverted_at_ms; /* wall ms of the last decision (0 none) */
    /* A packed carton's shipment (SH-<n>, from pack_commit or its tote record), "" none. */
    char shipment[WCSD_ID_MAX];
};

/* Copies the order or tote into *out. Returns 0 or WCS_E_UNKNOWN. */
int wcsd_order_get(struct wcsd *d, const char *id, struct wcsd_order *out);
int wcsd_tote_get(struct wcsd *d, const char *id, struct wcsd_tote *out);
/* Inserts or replaces the in-memory record (memory only: the caller persists it, normally in
 * the same script that changed Redis). Returns 0, -EINVAL (bad id) or -ENOMEM. */
int wcsd_order_put(struct wcsd *d, const struct wcsd_order *o);
int wcsd_tote_put(struct wcsd *d, const struct wcsd_tote *t);
/* Enables or disables a lane (persisted by the daemon as a write, journaled with actor and
 * cause, state/lane republished). Returns 0, WCS_E_UNKNOWN (no such lane) or -EINVAL. */
int wcsd_lane_set_enabled(struct wcsd *d, const char *lane_id, bool enabled, const char *actor,
                          const char *cause);
/* Parses an order state name ("new", "picking", ...). Returns 0 or -EINVAL. */
int wcsd_order_state_parse(const char *s, enum wcsd_order_state *out);
const char *wcsd_order_state_name(enum wcsd_order_state s);

/* ---- commands ----
 * Every command from the bus goes to the command layer (wcs/command: roles, segregation of
 * duties, idempotency, journal, reply). wcsd_set_command_fn replaces it at run time (tests): the
 * function must answer cmd exactly once (bus_reply_ok/bus_reply_err, now or later from the
 * loop) and return 0, or return WCS_E_UNKNOWN without answering; the daemon then answers
 * "unknown command". */
typedef int (*wcsd_command_fn)(struct wcsd *d, struct bus_cmd *cmd);
void wcsd_set_command_fn(struct wcsd *d, wcsd_command_fn fn);

/* ---- KPIs ---- */

/* Scan-to-decision latency summary, microseconds (from the worker's view of the new scan_seq to
 * after conv_plc_decide returned). */
struct wcsd_latency {
    uint64_t count, p50_us, p99_us, p999_us, max_us;
};

/* The flow KPIs (docs/daemon.md, "KPIs"): the order backlog from the in-memory model, the rest
 * from the counters in wcs:{s}:kpi, read asynchronously every KPI period (so at most one period
 * old). Rates are per hour of the daemon's clock between two reads. */
struct wcsd_kpi_flow {
    bool valid; /* the counters were read at least once */
    uint64_t backlog_confirmed, backlog_waved, backlog_picking, backlog_picked, backlog_total;
    uint64_t lines_picked, pick_confirms, pick_errors;
    double lines_picked_per_hour, pick_accuracy; /* accuracy: confirms / (confirms + errors) */
    uint64_t ship_on_time, ship_late;
    double ship_on_time_rate; /* on time / (on time + late) */
    uint64_t received_units;
    double received_units_per_hour;
    uint64_t adjustments, adjusted_units_in, adjusted_units_out, adjusted_value_cents;
    uint64_t approvals_requested;
    uint64_t counts_done, count_quants, count_variances;
    double count_variance_share; /* quants with a variance / quants counted */
    uint64_t transfers, transfers_done, transfer_shipped_units, transfer_received_units;
    /* replenishment (wcs:{s}:kpi): tasks created (by trigger: a pick, a wave release), their
     * planned units, claims, confirms, units moved, tasks done */
    uint64_t replen_tasks, replen_tasks_pick, replen_tasks_release, replen_planned_units;
    uint64_t replen_claims, replen_confirms, replen_units, replen_done;
    /* automatic wave release (this process since start, docs/daemon.md): cutoffs released, waves
     * released, cutoffs that failed (alarmed) */
    uint64_t auto_releases, auto_release_waves, auto_release_failed;
};

struct wcsd_kpi {
    uint64_t scans, decisions, no_reads, multi_reads, unknown_totes, malformed;
    uint64_t scans_missed; /* scan_seq advanced by more than one between two polls */
    uint64_t diverts, reject_decisions, recirc_decisions, late, decide_failed, stale;
    uint64_t confirms, confirms_diverted, confirms_unmatched, confirms_missed, lost;
    uint64_t lane_full, lane_disabled, recirc_exhausted;
    uint64_t table_decisions;    /* decisions the PLC workers took from the decision table */
    uint64_t table_disagreed;    /* of those, ones the loop would have decided otherwise */
    double throughput_per_min;   /* confirmed items per minute over the last KPI period */
    double noread_rate;          /* no-reads / scans since start */
    double divert_confirm_rate;  /* diverted confirmations / diverts decided, since start */
    double device_availability;  /* share of PLC-time with the link up since start, 0..1 */
    struct wcsd_latency latency; /* since start (or wcsd_kpi_reset_latency) */
    struct wcsd_kpi_flow flow;   /* the warehouse flows' KPIs */
};

void wcsd_get_kpi(struct wcsd *d, struct wcsd_kpi *out);
/* Clears the latency histogram (the bench measures each load step separately). */
void wcsd_kpi_reset_latency(struct wcsd *d);

#endif
