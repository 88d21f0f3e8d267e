/* Scenario files for `wcs sim` (docs/scenarios.md): a pure parser from YAML text to a validated
 * struct. Errors are lines `file:line:col: path: message`, like the site config loader's. The
 * parser does no I/O besides reading the one file in sim_scenario_load; paths inside the
 * scenario (site config, order and stock files) are resolved against the scenario's folder by
 * the runner, not here. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SIM_ID_MAX = 64, SIM_PATH_MAX = 512, SIM_BARCODE_MAX_LEN = 100, SIM_ARRIVAL_MAX = 48 };
/* Pickers and packers of a scenario at most (a picker is one user: one batch at a time). */
enum { SIM_AGENTS_MAX = 64 };

enum sim_fault_kind {
    SIM_FAULT_PLC_DISCONNECT,
    SIM_FAULT_BROKER_RESTART,
    SIM_FAULT_REDIS_RESTART,
    SIM_FAULT_WCS_KILL,
    SIM_FAULT_PRINTER_PAPER_OUT,
    SIM_FAULT_SCALE_UNSTABLE,
    SIM_FAULT_JAM,
    SIM_FAULT_USER_OFFLINE,
    SIM_FAULT_REDIS_STALL, /* the last kind */
};
/* How many kinds there are (not an enumerator, so switches over the kinds stay exhaustive). */
#define SIM_FAULT_KINDS (SIM_FAULT_REDIS_STALL + 1)

struct sim_fault {
    uint64_t at_ms; /* scenario time from the start */
    enum sim_fault_kind kind;
    char target[SIM_ID_MAX]; /* device, scan point or user; "" where the kind has none */
    uint64_t duration_ms;    /* 0 where the kind takes none (wcs_kill restarts at once) */
};

/* Forced read outcome of an inducted item. */
enum sim_induct_read { SIM_INDUCT_RATE, SIM_INDUCT_GOOD, SIM_INDUCT_NOREAD, SIM_INDUCT_MULTI };

/* Items put on the belt at a scan point: `count` items, one every `every_ms`, from `at_ms`.
 * barcode "" is an automatic PLC barcode; "{n}" in the barcode is replaced by 1..count. */
struct sim_induct {
    uint64_t at_ms, every_ms;
    char point[SIM_ID_MAX];
    char barcode[SIM_BARCODE_MAX_LEN + 1];
    uint32_t count;
    enum sim_induct_read read;
};

/* A tote record made before wcs starts (the stand-in for the picking flow: see docs). */
struct sim_tote {
    char tote[SIM_ID_MAX], order[SIM_ID_MAX];
    char dest[SIM_ID_MAX]; /* "" or station:<id>, carrier:<code>, qa, reject */
};

/* A cycle count: at at_ms the counter requests a count of location (and sku); the stock found
 * differs from the books by `delta` units of sku/lot (0: the count agrees). */
struct sim_count {
    uint64_t at_ms;
    char location[SIM_PATH_MAX / 4];
    char sku[SIM_ID_MAX], lot[SIM_ID_MAX];
    int64_t delta;
};

/* A weighted choice ("DHL: 3"). */
struct sim_weight {
    char name[SIM_ID_MAX];
    double weight;
};

struct sim_order_gen {
    uint32_t count;
    uint32_t lines_min, lines_max; /* uniform; or mean (lines_mean > 0): 1 + Poisson(mean - 1) */
    double lines_mean;
    uint32_t qty_min, qty_max;
    double arrival[SIM_ARRIVAL_MAX]; /* weights of equal slices of the run; n_arrival 0: flat */
    unsigned n_arrival;
    struct sim_weight *carriers; /* empty: the site's carriers, evenly */
    size_t n_carriers;
    struct sim_weight *priorities; /* empty: none given */
    size_t n_priorities;
    double max_kg; /* > 0: an order's products weigh at most this (one parcel) */
};

enum sim_orders_via { SIM_VIA_ERP, SIM_VIA_IMPORT };

struct sim_alarm_expect {
    char pattern[SIM_ID_MAX * 2]; /* glob: '*' any run, '?' one character */
    int raised;                   /* 1 must be raised, 0 must not, -1 not checked */
    int cleared;                  /* 1 must be cleared by the end, 0 must still be active, -1 */
    unsigned raises;              /* raised at least this often in all (again after a clear
                                     counts again); 0 not checked */
};

struct sim_kpi_bound {
    char name[SIM_ID_MAX];
    bool has_min, has_max;
    double min, max;
};

/* An expected count: all (every order of the run), a number, or unchecked; for shipped also
 * rest (every order neither backordered nor cancelled). */
struct sim_count_expect {
    bool checked, all, rest;
    uint64_t n;
};

/* Receipts, transfers and returns (docs/scenarios.md, "receipts, transfers, returns"). */
enum { SIM_FLOW_LINES_MAX = 16, SIM_EMPTY_MAX = 8 };

enum sim_flow_kind { SIM_FLOW_RECEIPT, SIM_FLOW_TRANSFER, SIM_FLOW_RETURN };

struct sim_flow_line {
    char sku[SIM_ID_MAX], lot[SIM_ID_MAX];
    char expiry[11]; /* receipt: YYYY-MM-DD or "" */
    uint32_t qty;    /* receipt: expected; transfer: moved; return: authorised */
    uint32_t
        arrive;     /* receipt: units the delivery brings (default qty; fewer: a partial receipt) */
    uint32_t scrap; /* return: units inspected as scrap (the others are restocked) */
};

struct sim_flow {
    enum sim_flow_kind kind;
    char id[SIM_ID_MAX]; /* the receipt, transfer or RMA id */
    uint64_t at_ms;      /* receipt.expect, transfer.create or rma.authorize */
    uint64_t next_ms; /* receipt: the delivery is scanned; transfer: shipped; return: parcel in */
    uint64_t last_ms; /* transfer: received (others 0) */
    char supplier[SIM_ID_MAX], warehouse[SIM_ID_MAX]; /* receipt; transfer: warehouse = from */
    char to[SIM_ID_MAX];                              /* transfer: the destination warehouse */
    char order[SIM_ID_MAX];                           /* return: the shipped order */
    bool credit;                                      /* return: authorised with a credit */
    struct sim_flow_line lines[SIM_FLOW_LINES_MAX];
    size_t n_lines;
};

struct sim_agents {
    char erp_user[SIM_ID_MAX];        /* "" no ERP agent */
    char supervisor_user[SIM_ID_MAX]; /* "" no supervisor */
    char approver_user[SIM_ID_MAX];   /* approves adjustments; "" = supervisor_user */
    uint32_t wave_lead_min;           /* 0: the site's pick_pack_ship_min */
    uint32_t wave_max_orders;         /* 0: no limit given */
    uint64_t wave_every_ms;           /* 0: only ahead of cutoffs */
    bool release_waves, ack_alarms;
    char counter_user[SIM_ID_MAX];
    struct sim_count *counts;
    size_t n_counts;
    /* pickers and packers: run only where the site's wcs has the picking and packing flows */
    uint32_t pickers, packers;
    char picker_users[SIM_AGENTS_MAX][SIM_ID_MAX];
    unsigned n_picker_users;
    double seconds_per_pick, seconds_per_pack;
    double err_wrong_product, err_wrong_qty, err_skipped_scan, err_wrong_tote;
    struct sim_induct *inducts;
    size_t n_inducts;
    char empty[SIM_EMPTY_MAX][SIM_PATH_MAX / 4]; /* pickers.empty: locations found empty */
    unsigned n_empty;
    /* receiver (receipt.scan/close, putaway.confirm, return.receive/inspect) and qa */
    char receiver_user[SIM_ID_MAX], receive_station[SIM_ID_MAX], return_station[SIM_ID_MAX];
    char qa_user[SIM_ID_MAX];
    uint64_t qa_after_ms; /* held units are decided this long after they arrived (10 min) */
    bool qa_scrap;        /* decision scrap instead of release */
};

struct sim_scenario {
    char name[SIM_ID_MAX * 2];
    char site[SIM_PATH_MAX]; /* as written; relative to the scenario file */
    uint64_t duration_ms;
    uint64_t drain_ms;     /* after duration: time for the floor to finish (default 0) */
    bool drain_until_done; /* the drain ends once every order is shipped or backordered and
                            * nothing else is left to do (runner.c, drain_done) */
    double speed;          /* virtual-clock factor (1 = real time) */
    double speed_min; /* > 0: the clock may slow down to this under load (sim/pace.h); 0: fixed */
    bool realtime;    /* demos: forces speed 1 */
    uint64_t seed;
    int start_local_min; /* the virtual clock starts at the next HH:MM of the site's time zone
                          * (minutes since midnight); -1: now */
    /* orders */
    char orders_file[SIM_PATH_MAX]; /* "" or a JSONL file of `wcs import --orders` */
    bool orders_generate;
    struct sim_order_gen gen;
    enum sim_orders_via orders_via;
    /* stock */
    char stock_file[SIM_PATH_MAX];
    bool stock_generate;
    double stock_cover;    /* generated stock = demand × cover */
    double stock_shortage; /* share of the demanded products given half their demand */
    struct sim_tote *totes;
    size_t n_totes;
    struct sim_agents agents;
    struct sim_fault *faults;
    size_t n_faults;
    struct sim_flow *flows; /* receipts, transfers and returns, in file order */
    size_t n_flows;
    /* expectations */
    struct sim_count_expect exp_shipped, exp_backordered, exp_cancelled, exp_waved;
    int exp_stock_conserved, exp_no_over_reservation, exp_totes_accounted; /* -1 unchecked */
    /* every receipt, transfer and return went through all its steps (-1 unchecked) */
    int exp_flows_completed;
    struct sim_alarm_expect *alarms;
    size_t n_alarms;
    struct sim_kpi_bound *kpis;
    size_t n_kpis;
};

/* Collected error lines "file:line:col: path: message". */
struct sim_errors {
    char **lines;
    size_t count;
};
void sim_errors_fini(struct sim_errors *e); /* frees the lines; NULL-safe */

/* Parses a scenario from text (len bytes) named `name` in errors. Returns 0 with *out (free with
 * sim_scenario_free), WCS_E_CONFIG with every problem appended to errs (*out untouched), or
 * -ENOMEM. Pure: no I/O, no clock. */
int sim_scenario_parse(struct sim_scenario **out, const char *name, const char *text, size_t len,
                       struct sim_errors *errs);
/* Reads the file at path and parses it as sim_scenario_parse. An unreadable file is one error
 * line and a negative errno. */
int sim_scenario_load(struct sim_scenario **out, const char *path, struct sim_errors *errs);
void sim_scenario_free(struct sim_scenario *s); /* NULL-safe */

/* Parses a duration: "250ms", "90s", "15m", "8h", or a bare number of seconds. Returns 0 or
 * WCS_E_SYNTAX. Pure. */
int sim_parse_duration(const char *s, uint64_t *ms_out);
/* Whether text matches a glob of '*' and '?'. Pure. */
bool sim_glob_match(const char *pattern, const char *text);
/* The scenario name of a fault kind ("plc_disconnect", ...). */
const char *sim_fault_kind_name(enum sim_fault_kind k);

#endif
