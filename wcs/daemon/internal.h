/* Private state of the control daemon, shared by its files: daemon.c (life cycle, signals,
 * systemd, reload, alarms, KPIs), sort.c (the sortation flow on PLC events), model.c (the
 * in-memory totes, orders and lanes and their start-up load), devmap.c (config -> PLC driver
 * config), station.c (pack stations and their devices), ship.c (shipping confirmation).
 * Everything here runs on the loop thread. */
#ifndef WCS_DAEMON_INTERNAL_H
#define WCS_DAEMON_INTERNAL_H

#include "command/command.h"
#include "daemon/daemon.h"
#include "daemon/route.h"
#include "drivers/plc.h"
#include "store/tote.h"

struct wcs_tz;

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PENDING_MAX 256 /* outstanding decisions per scan point awaiting confirmation */
#define SIG_MAX     2048

/* ---- string-keyed map of heap records (model.c) ---- */
struct hmap {
    void **slots; /* each record starts with its NUL-terminated id */
    size_t cap, n;
};

int hmap_put(struct hmap *m, void *rec, void **old_out); /* replaces a record with the same id */
void *hmap_get(const struct hmap *m, const char *id);
void hmap_fini(struct hmap *m); /* frees every record */

/* One decision awaiting its confirmation. */
struct pending {
    bool used;
    uint16_t seq;
    enum route_action action;
    uint16_t lane_number;
    char tote[WCSD_ID_MAX];   /* "" for no-read, unknown, malformed */
    uint64_t decided_us;      /* loop clock */
    uint64_t decided_real_us; /* real time: when the worker (table) or the loop decided */
    bool stale;               /* the driver refused to write it: the PLC routes by default */
    bool lost_reported; /* the sweep declared the tote lost; a late confirmation still matches */
};

struct plcrt;

struct pointrt {
    char id[WCSD_ID_MAX];
    uint32_t cfg_index; /* into site->scan_points */
    struct plcrt *plc;
    uint16_t conv_point; /* index inside the conv_plc */
    struct pending pend[PENDING_MAX];
    uint32_t next_slot;
    uint32_t unmatched_run; /* unmatched confirmations in a row */
    uint16_t last_seq;      /* last scan_seq seen (0 none) */
    bool alarm_unmatched, alarm_noread, alarm_estop, alarm_jam;
    uint16_t status;
    uint64_t period_scans, period_noreads; /* since the last KPI period */
};

struct plcrt {
    struct wcsd *d;
    char id[WCSD_ID_MAX];
    char sig[SIG_MAX]; /* the config that made it: a reload keeps it while this is unchanged */
    struct conv_plc *conv;
    enum conv_link link;
    bool good_cycle; /* a decoded read block has been seen while up */
    bool alarm_link;
    bool keep;                                    /* reload bookkeeping */
    uint64_t opened_us, up_since_us, up_total_us; /* real time, for availability */
    size_t n_points;
    int32_t point_of[CONV_MAX_POINTS]; /* index into d->points for each conv point */
};

struct lanert {
    char id[WCSD_ID_MAX];
    bool full_alarm;
    uint64_t full_until_us;      /* loop clock; 0 not full */
    uint64_t full_since_real_us; /* real time (clock_real_mono_us): when it was marked full */
    uint64_t arrivals;
};

/* Bookkeeping of one scan or confirmation (journal write, MQTT events), done after the decision
 * from a bounded ring so that it never delays the next decision. Ids, not indices: a reload may
 * happen in between. */
enum job_kind { JOB_SCAN, JOB_CONFIRM };
struct job {
    enum job_kind kind;
    char point[WCSD_ID_MAX];
    char tote[WCSD_ID_MAX];  /* "" when there is no tote record */
    char label[WCSD_ID_MAX]; /* the id read from the label (scans), may be "" */
    char lane[WCSD_ID_MAX];  /* decided lane (scan) or confirmed lane (confirm), "" none */
    char barcode[2 * PLC_BARCODE_MAX_REGS + 1];
    uint32_t seq, track_id;
    enum plc_read_result read_result;
    enum plc_confirm_result confirm_result;
    uint16_t confirm_lane, dest_lane;
    enum route_action action;
    enum route_reason reason;
    bool late, written;
    uint64_t latency_us;
    enum wcsd_tote_state state; /* the tote after this fact */
    uint32_t recirc;
    int64_t at_ms;
};
#define JOBS_CAP   32768
#define JOBS_CHUNK 2 /* per loop round: bounds what bookkeeping adds to a waiting decision */

/* A fact waiting to be written with the next batch (store_tote_records). */
#define FACT_FIELDS 9
#define FACTS_MAX   16
struct fact {
    char kind[8], id[WCSD_ID_MAX], op[24], counter[32], cause[32];
    size_t n;
    char names[FACT_FIELDS][16];
    char values[FACT_FIELDS][WCSD_ID_MAX + 8];
};

struct wcsd {
    struct wcsd_opts o;
    char *config_path;
    const struct wcs_clock *clock;
    double speed;
    struct loop *loop;
    struct cfg_site *site;
    struct store *store;
    struct bus *bus;
    wcsd_command_fn cmd_fn; /* test override of the command layer */
    struct cmd_ctx cmds;    /* the command layer (wcs/command) */

    struct plcrt **plcs;
    size_t n_plcs;
    struct pointrt *points; /* one per site scan point, same order */
    size_t n_points;
    struct lanert *lanes; /* one per site lane, same order */
    bool *lane_enabled, *lane_full;

    struct hmap totes, orders;
    struct hmap lane_overrides; /* lane id -> struct lane_override (loaded or set) */
    struct conv_table *tab;     /* the PLC decision table derived from the above (sort.c) */
    struct log_repeat rep_table;

    /* life cycle */
    int sfd; /* signalfd, -1 none */
    bool rt_warned, rt_logged;
    int nfd; /* sd_notify datagram socket, -1 until first used */
    uint64_t notify_dropped;
    bool ready, state_loaded, loading, stopping, draining;
    int loads_pending;
    int load_rc;
    uint64_t drain_deadline_us, drain_timer, wd_timer, kpi_timer, sweep_timer;
    struct log_repeat rep_decide, rep_store, rep_late, rep_unmatched, rep_bus_refused;
    uint64_t watchdog_usec;
    bool store_up, bus_up, store_alarm;
    bool store_reported; /* the store reported its first state (up or down) */
    uint64_t bus_down_since_us, bus_disc_seen;
    bool bus_outage;
    char status_line[256];

    /* deferred bookkeeping */
    struct job *jobs;
    size_t jhead, jlen;
    uint64_t job_timer, jobs_dropped;
    bool job_armed;
    struct fact facts[FACTS_MAX];
    size_t n_facts;

    /* KPIs */
    struct wcsd_kpi k;
    struct hist lat;
    uint64_t kpi_last_confirms, kpi_last_us;
    uint64_t started_real_us;
    uint64_t seq; /* op id sequence */

    /* stale alarms of an earlier run (alarms.c) */
    struct foreign_alarm *foreign;
    size_t n_foreign, cap_foreign;
    uint64_t foreign_timer, foreign_since_us, ready_at_us;

    /* pack stations and their devices (station.c), shipping KPIs (ship.c) */
    struct devrt **devs;
    size_t n_devs;
    struct stationrt **stations;
    size_t n_stations;
    struct usb_host *usb; /* opened for the first usb:// station device */
    uint64_t prn_job_seq;
    struct reprint *reprints; /* label reprints not yet confirmed (station.c) */
    uint64_t k_ship_on_time, k_ship_late;
    struct wcs_tz *zone; /* the site's time zone for on-time checks (ship.c), loaded on use */
    char *zone_name;
    struct ship_backlog *ship_q; /* carton confirmations not yet handed to Redis (ship.c) */

    /* cycle counting (counting.c) and the flow KPIs read from wcs:{s}:kpi (daemon.c) */
    struct counting *counting;
    bool kpi_reading;
    uint64_t kpi_flow_us, kpi_flow_lines, kpi_flow_received;

    struct autowave *autowave; /* automatic wave release (autowave.c) */
};

/* A retained alarm an earlier process left on the broker (alarms.c). */
#define WCSD_ALARM_ID_MAX 128
struct foreign_alarm {
    char id[WCSD_ALARM_ID_MAX];
    json_t *body;  /* NULL when unreadable */
    bool checking; /* an approval's state is being read */
};

struct lane_override {
    char id[WCSD_ID_MAX];
    bool enabled;
};

/* sort.c */
void sort_on_plc_event(struct conv_plc *p, const struct conv_event *ev, void *arg);
/* Runs queued bookkeeping (up to JOBS_CHUNK jobs per call; re-arms itself while work is left). */
void sort_run_jobs(struct wcsd *d);
/* Every 500 ms: diverts unconfirmed for lost_timeout become lost totes; lane-full marks expire. */
void sort_sweep(struct wcsd *d);
/* Writes a fact about a tote / the sorter through the store, logging a refusal. */
void sort_record(struct wcsd *d, const char *kind, const char *id, const char *op,
                 const char *counter, const struct store_field *f, size_t n, const char *cause);

/* The PLC decision table (sort.c; docs/daemon.md "Decision table"). open: creates it. sync:
 * detaches every PLC, republishes the rules and lane flags for the current config and attaches
 * the PLCs again (not while stopping). lanes: republishes the lane flags. tote/order: stage the
 * record's class and publish it (batched while the state load runs). detach: no PLC decides
 * from the table any more. */
int sort_table_open(struct wcsd *d);
void sort_table_sync(struct wcsd *d);
void sort_table_lanes(struct wcsd *d);
void sort_table_tote(struct wcsd *d, const struct wcsd_tote *t);
void sort_table_order(struct wcsd *d, const struct wcsd_order *o);
void sort_table_detach(struct wcsd *d);

/* daemon.c */
void daemon_alarm(struct wcsd *d, const char *id, bool on, const char *severity, const char *text);
void daemon_update_status(struct wcsd *d);
void daemon_check_ready(struct wcsd *d);

/* model.c */
int model_load_start(struct wcsd *d);
/* Re-reads one order from Redis into the in-memory model (after a command changed it). A
 * failed read is logged; the next change or restart loads it. */
void model_refresh_order(struct wcsd *d, const char *id);
/* Re-reads one tote (its order and dest; the sorting state stays the model's) and republishes
 * its table entry, as model_refresh_order. */
void model_refresh_tote(struct wcsd *d, const char *id);
/* A pick advanced order id to state: the order in memory takes it (its table entry too) without
 * a read; an order not in memory, or a state not understood, is re-read (model_refresh_order). */
void model_order_picked(struct wcsd *d, const char *id, const char *state);
/* A pick put units in tote id for order: nothing to read when the tote in memory already
 * carries that order; else it is re-read (model_refresh_tote). */
void model_tote_picked(struct wcsd *d, const char *id, const char *order);
/* Re-reads every order listed in the wave's `orders`, as model_refresh_order. */
void model_refresh_wave(struct wcsd *d, const char *id);
void model_apply_lane_overrides(struct wcsd *d);
enum wcsd_tote_state model_tote_state_parse(const char *s);
const char *model_tote_state_name(enum wcsd_tote_state s);
const char *model_dest_text(const struct wcsd_tote *t, char *buf, size_t cap);

/* alarms.c */
/* bus on_foreign_alarm: remembers the alarm and settles it once this run had time to raise its
 * own (adopt a pending approval's, clear the rest). */
void alarms_on_foreign(void *arg, const char *id, const json_t *body);
void alarms_fini(struct wcsd *d);
/* Writes the alarm registry hash wcs:{s}:alarm:<id> (docs/redis.md) for a floor alarm: on
 * raises it (state active, severity, text; ts = since_ms when fresh, which also drops an earlier
 * occurrence's acknowledgement), off deletes it. Alarms whose hash the command layer owns
 * (approval-*, count.*.reserved) are left alone. A held write when Redis is down. */
void alarms_registry_write(struct wcsd *d, const char *id, bool on, bool fresh,
                           const char *severity, const char *text, int64_t since_ms);
/* alarm.ack succeeded for id: reads the acknowledgement back and republishes the retained alarm
 * with acked_by, acked_ts and note while this process has it raised. */
void alarms_on_ack(struct wcsd *d, const char *id);

/* station.c */
/* Opens, keeps (same config) or closes the pack stations' scanners, scales and printers and
 * the station runtimes so that they match site; a session survives by station id. Returns 0 or
 * -ENOMEM. */
int station_sync(struct wcsd *d, const struct cfg_site *site);
/* Reads the persisted session of every station not loaded yet, when Redis is up, and resumes
 * it (a label in step label is submitted again). Called at store up and from the sweep. */
void station_load(struct wcsd *d);
/* pack.reset: abandons the station's open session (its totes keep their contents); order
 * non-NULL: only a session of that order. Returns 0, WCS_E_UNKNOWN (no such pack station) or
 * WCS_E_STATE (a read of the station in flight, a session of another order, a label at a
 * printer); why says it. */
int station_reset(struct wcsd *d, const char *station, const char *order, const char *actor,
                  const char *cause, char *why, size_t cap);
void station_close_all(struct wcsd *d);
/* label.reprint succeeded: reads shipment's carton (SSCC, order, weight, station) and the
 * order's ship_to from Redis, renders its label again and prints it on printer (a printer
 * device id; "" = the packing station's), the station's other printer as fallback. The job is
 * kept until a printer confirms it (evt/label {event: reprinted}); while no printer takes it
 * the alarm reprint.<shipment> is raised and it is retried from the 500 ms sweep. */
void station_reprint(struct wcsd *d, const char *shipment, const char *printer);

/* ship.c */
/* The sorter confirmed tote t diverted into lane: a packed carton in its carrier's lane is
 * shipped (evt/ship). Anything else is ignored. */
void ship_on_divert(struct wcsd *d, const struct wcsd_tote *t, int32_t lane);
/* True when a carton leaving at minutes since local midnight makes the carrier's last cutoff of
 * the day (no carrier or no cutoffs: true). */
bool ship_on_time(const struct cfg_carrier *c, int minutes);
/* Minutes since local midnight at the instant utc_s in zone (base/tz), -1 when zone is NULL. */
int ship_local_minutes(const struct wcs_tz *zone, int64_t utc_s);
/* Frees the loaded time zone (wcsd_close); NULL-safe fields. */
void ship_fini(struct wcsd *d);
/* Hands the kept carton confirmations to Redis, oldest first, while it is ready (called at
 * Redis up, from the sweep and after each confirmation). Never blocks. */
void ship_drain(struct wcsd *d);
/* Carton confirmations kept, not yet handed to Redis. */
size_t ship_backlog_len(const struct wcsd *d);
/* State load: a carton tote record (id, its hash fields f[0..n)) that the sorter confirmed in
 * its carrier's lane but that is not shipped (a restart lost its confirmation) is shipped now. */
void ship_on_load(struct wcsd *d, const struct wcsd_tote *t, const struct store_field *f, size_t n);
/* Logs every kept confirmation as not shipped and frees the backlog (wcsd_close). */
void ship_close(struct wcsd *d);

/* autowave.c: automatic wave release ahead of carrier cutoffs (docs/daemon.md). */
struct autowave_stats {
    uint64_t checks;   /* timer passes that looked at the carriers */
    uint64_t started;  /* releases started (a carrier's cutoff with a confirmed order waiting) */
    uint64_t released; /* cutoffs for which at least one wave was released now */
    uint64_t waves;    /* waves released now */
    uint64_t failed;   /* cutoffs whose plan or a release was refused or failed (alarmed) */
    uint64_t replayed; /* cutoffs an earlier run had released already (Redis answered) */
};
/* Creates the release timer (d->autowave); it does nothing while the config's
 * waves.auto_release is off. Returns 0 or -ENOMEM. */
int autowave_open(struct wcsd *d);
/* Looks at the carriers again now (after a reload). */
void autowave_kick(struct wcsd *d);
void autowave_get_stats(const struct wcsd *d, struct autowave_stats *out);
/* Cancels the timer and frees it; call after store_close (a release in flight has been
 * answered). NULL-safe. */
void autowave_close(struct wcsd *d);

/* devmap.c */
/* Fills a driver config for PLC device dev of site with its scan points (point_index[i] gets
 * the site scan point index of driver point i) and a signature of everything that went into it.
 * Returns 0, 1 when no scan point uses the PLC (it is not started), or WCS_E_CONFIG (unsupported
 * model or URI, too many points; why says which). */
int devmap_plc(const struct cfg_site *site, uint32_t dev, struct conv_plc_cfg *out,
               uint32_t *point_index, char *sig, size_t sig_cap, const char **why);

#endif
