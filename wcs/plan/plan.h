/* wcs_plan: offline planning on files. Maps a loaded site config (config/) onto the planner's
 * dense ids, parses stock, order and receipt records (one JSON object per line, docs/formats.md)
 * into a plan input, runs the planner's stages and writes the plan as JSON Lines. Used by
 * `wcs plan`; the daemon can reuse the line parsers for imports. Only read.c and write.c see
 * jansson; no jansson type appears in this header. */
#ifndef WCS_PLAN_PLAN_H
#define WCS_PLAN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cfg_site;
struct plan_site;   /* the config mapped for planning (opaque) */
struct plan_input;  /* stock, orders and receipts read so far (opaque) */
struct plan_result; /* a computed plan (opaque) */

#define PLAN_ID_MAX     63         /* order ids, lots, serials, packages: [A-Za-z0-9_.-]{1,63} */
#define PLAN_QTY_MAX    1073741824 /* 2^30 units per stock record or order line */
#define PLAN_LINES_MAX  10000      /* lines in one order */
#define PLAN_ERRORS_MAX 100        /* error lines kept by a file reader; the rest are counted */

/* Stages of a plan (bit set). Output stages imply the stages they depend on (a batch needs its
 * wave, a wave needs reservations); only the requested ones are written. */
enum plan_stage {
    PLAN_RESERVE = 1,    /* "reservation" and "backorder" records */
    PLAN_WAVE = 2,       /* "wave" and "unwaved" records */
    PLAN_BATCH = 4,      /* "batch" records with their ordered picks */
    PLAN_PUTAWAY = 8,    /* "putaway" records (needs receipts) */
    PLAN_REPLENISH = 16, /* "replenish" records */
    PLAN_PURCHASE = 32   /* "purchase" records (the config's purchase_rules) */
};
#define PLAN_ALL                                                                                   \
    (PLAN_RESERVE | PLAN_WAVE | PLAN_BATCH | PLAN_PUTAWAY | PLAN_REPLENISH | PLAN_PURCHASE)

/* Parses a --what list ("reserve,wave,batch,putaway,replenish,purchase") into *out. Returns 0,
 * or -EINVAL with a one-line reason in msg (an unknown or empty name). */
int plan_stages_parse(const char *text, unsigned *out, char *msg, size_t msg_len);

/* Parses a time "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]" (a space may replace the T; no zone
 * means UTC) or a date "YYYY-MM-DD" (midnight UTC) into epoch seconds. Pure. Returns 0 and sets
 * *out, or -EINVAL (*out untouched). */
int plan_time_parse(const char *text, int64_t *out);

/* ---- site ---------------------------------------------------------------------------------- */

/* Maps `cfg` for planning at time now_s (epoch seconds): products, the location tree (pre/post
 * numbering), zones and aisles, carriers and their cutoffs in the site's time zone, putaway,
 * replenishment and purchase rules, wave and cart limits (docs/formats.md, "From the config"). cfg
 * must outlive the site. Returns 0 with *out set (free with plan_site_close), -ENOMEM, or
 * WCS_E_RANGE with a reason in msg (the time zone cannot be used, or now is out of range); *out
 * untouched on failure. Reads time-zone data (briefly sets TZ, restoring it). */
int plan_site_open(struct plan_site **out, const struct cfg_site *cfg, int64_t now_s, char *msg,
                   size_t msg_len);
/* NULL-safe. */
void plan_site_close(struct plan_site *s);

/* Computes now, on the calling thread, the carriers' cutoffs of today, tomorrow and each of
 * days[0..n) (day numbers, days since 1970-01-01), then freezes the site: from then on an order
 * whose cutoff needs another day is refused (WCS_E_STATE, field "ship_date"), so the day cache
 * no longer changes. Local times come from the site's zone file (base/tz), never the process's
 * TZ, so the site may then be used (with its inputs and results) by one other thread at a
 * time. Returns 0 or -ENOMEM. */
int plan_site_freeze(struct plan_site *s, const int32_t *days, size_t n);
/* The first cutoff of config carrier `carrier` strictly after after_min (UTC epoch minutes),
 * from the site's day before today to a week ahead, in the site's time zone. Before
 * plan_site_freeze it may compute new days (briefly sets TZ); after it, a day not computed
 * yet is WCS_E_STATE. Returns 0 with *cutoff_min set, -ENOENT (the carrier has no cutoff),
 * -EINVAL (no such carrier), -ENOMEM. */
int plan_site_next_cutoff(struct plan_site *s, uint32_t carrier, int64_t after_min,
                          int64_t *cutoff_min);
/* Lowers the site's orders-per-wave limit (downstream capacity) to max_orders (> 0). */
void plan_site_limit_orders(struct plan_site *s, uint32_t max_orders);
/* The site's planning day ("today" in its time zone) as a day number. */
int32_t plan_site_today(const struct plan_site *s);

/* ---- input and the line parsers ------------------------------------------------------------ */

/* One parse error: the field as a path into the record ("lines[1].qty", "sku", or "json" for
 * malformed JSON with column > 0), and the message. */
struct plan_line_err {
    char field[80];
    char msg[240];
    int column; /* jansson's column for malformed JSON, else 0 */
};

/* A new, empty input for `site` (which must outlive it). Returns 0 or -ENOMEM. */
int plan_input_new(struct plan_input **out, struct plan_site *site);
/* NULL-safe. */
void plan_input_free(struct plan_input *in);

/* Each parser reads one record (text of len bytes, one JSON object, no newline needed) and
 * appends it to `in`, or appends nothing and fills *err. `line_no` is the file line kept for
 * reasons and duplicate messages. Pure apart from the appended record: no I/O. Returns 0,
 * WCS_E_SYNTAX (malformed JSON or a field of the wrong type or form), WCS_E_UNKNOWN (a SKU,
 * location, carrier, priority, zone or package type the config lacks), WCS_E_RANGE (a quantity
 * or date out of range, a lot/expiry against the product's tracking), WCS_E_DUPLICATE (an order
 * id seen before) or -ENOMEM. Stock must be read before orders (lots are matched by name). */
int plan_parse_stock(struct plan_input *in, const char *text, size_t len, uint32_t line_no,
                     struct plan_line_err *err);
int plan_parse_order(struct plan_input *in, const char *text, size_t len, uint32_t line_no,
                     struct plan_line_err *err);
int plan_parse_receipt(struct plan_input *in, const char *text, size_t len, uint32_t line_no,
                       struct plan_line_err *err);

/* The same records from C structs (the daemon's Redis snapshot): the same checks and error
 * texts as the JSON parsers (one validation path; the JSON parsers check the JSON types, then
 * call these). Strings are copied where kept; NULL means "not given". */
struct plan_stock_rec {
    const char *sku, *location; /* required */
    const char *lot;            /* NULL: none (required for tracked products) */
    const char *expiry;         /* "YYYY-MM-DD", the last good day; NULL: none */
    const char *in_date;        /* ISO-8601 date or date-time it entered the site; required */
    const char *package;        /* NULL: loose */
    int64_t qty;                /* on hand, 1..PLAN_QTY_MAX */
    int64_t reserved;           /* 0..qty */
};
struct plan_line_rec {
    const char *sku;          /* required */
    int64_t qty;              /* 1..PLAN_QTY_MAX */
    const char *lot, *serial; /* at most one; NULL: any */
    bool urgent;
};
struct plan_order_rec {
    const char *order, *carrier;             /* required */
    const char *priority, *ship_date, *zone; /* NULL: none; ship_date "YYYY-MM-DD" */
    const struct plan_line_rec *lines;       /* 1..PLAN_LINES_MAX */
    uint32_t n_lines;
};
/* Return and append as the parsers above. Order i of the input is the i-th order added, stock
 * record i the i-th stock record added. */
int plan_add_stock(struct plan_input *in, const struct plan_stock_rec *r, uint32_t line_no,
                   struct plan_line_err *err);
int plan_add_order(struct plan_input *in, const struct plan_order_rec *r, uint32_t line_no,
                   struct plan_line_err *err);

enum plan_kind { PLAN_STOCK, PLAN_ORDERS, PLAN_RECEIPTS };

/* Error lines "file:line: field: message" collected by plan_read_file. */
struct plan_errors {
    char **lines;
    size_t count, cap;
    size_t dropped; /* beyond PLAN_ERRORS_MAX */
};
void plan_errors_init(struct plan_errors *e);
/* Frees the lines. NULL-safe. */
void plan_errors_fini(struct plan_errors *e);

/* Reads a JSON Lines file of `kind` (blank lines skipped, CRLF accepted) into `in`, naming it
 * `path` in errors. Every bad line adds one error line to errs and nothing to `in`. Blocks on the
 * file reads. Returns 0, WCS_E_CONFIG if any line was bad, or a negative errno (the file cannot
 * be read; one error line names it). */
int plan_read_file(struct plan_input *in, enum plan_kind kind, const char *path,
                   struct plan_errors *errs);

/* Counts of what `in` holds. */
struct plan_counts {
    uint32_t stock, orders, lines, receipts;
};
void plan_input_counts(const struct plan_input *in, struct plan_counts *out);

/* ---- planning and output ------------------------------------------------------------------- */

/* Runs the planner over site + in for `stages` (enum plan_stage bits; PLAN_PUTAWAY needs
 * receipts to say anything). `in` is consumed: the planner updates its stock reservations, so run
 * once per input. The result points into site and in, which must outlive it. Returns 0 with *out
 * set (free with plan_result_free), -ENOMEM, or WCS_E_RANGE / WCS_E_UNKNOWN with the planner's
 * reason in msg (totals beyond the planner's limits). */
int plan_run(struct plan_result **out, struct plan_site *site, struct plan_input *in,
             unsigned stages, char *msg, size_t msg_len);
/* NULL-safe. */
void plan_result_free(struct plan_result *r);

/* ---- reading a result (callers that commit it: wave.plan) ---------------------------------- */

#define PLAN_NONE       UINT32_MAX
#define PLAN_REASON_MAX 320 /* a reason sentence with names, with NUL (longer ones are cut) */

/* A reason: the planner's code name ("FEFO_EARLIEST_EXPIRY") and its sentence with the names of
 * the site and the input (the text `wcs plan` writes). */
struct plan_reason_info {
    const char *code; /* static */
    char text[PLAN_REASON_MAX];
    bool late; /* flag LATE: the order will miss its cutoff */
};

/* One reservation: `qty` of stock record `stock` for line `line` (index within the order) of
 * order `order` (indices in the order the records were added). */
struct plan_alloc_info {
    uint32_t order, line, stock;
    int64_t qty;
};
/* One short line: qty units of line `line` of `order` could not be reserved. */
struct plan_backorder_info {
    uint32_t order, line;
    int64_t qty;
    struct plan_reason_info reason;
};
/* One wave: its orders are plan_result_wave_order(r, wave, 0 .. n_orders). */
struct plan_wave_info {
    uint32_t n_orders, lines, carriers, late_orders, batches;
    int64_t units;
    struct plan_reason_info reason; /* why it was closed */
};

/* Counts and records of a result (PLAN_RESERVE, PLAN_WAVE, PLAN_BATCH as run; a stage not run
 * has 0 records). i must be below the count (asserted). Pure reads; the texts are written into
 * *out. */
uint32_t plan_result_n_allocs(const struct plan_result *r);
void plan_result_alloc(const struct plan_result *r, uint32_t i, struct plan_alloc_info *out);
uint32_t plan_result_n_backorders(const struct plan_result *r);
void plan_result_backorder(const struct plan_result *r, uint32_t i,
                           struct plan_backorder_info *out);
uint32_t plan_result_n_waves(const struct plan_result *r);
void plan_result_wave(const struct plan_result *r, uint32_t i, struct plan_wave_info *out);
uint32_t plan_result_wave_order(const struct plan_result *r, uint32_t wave, uint32_t k);
/* The wave of order `order` (PLAN_NONE: not waved) and the planner's reason for it. */
uint32_t plan_result_order_wave(const struct plan_result *r, uint32_t order,
                                struct plan_reason_info *why);
/* One cart batch of the BATCH stage: its wave, its picks (plan_result_batch_pick 0..n_picks, in
 * pick-path order) and the earliest carrier cutoff of its orders (epoch minutes). */
struct plan_batch_info {
    uint32_t wave, n_picks;
    int64_t units;
    int64_t cutoff_min;
};
/* One pick of a batch: qty units of stock record `stock` for line `line` of order `order` (as
 * plan_alloc_info; an order split over carts has picks of one reservation in several batches). */
struct plan_pick_info {
    uint32_t order, line, stock;
    int64_t qty;
};
uint32_t plan_result_n_batches(const struct plan_result *r);
void plan_result_batch(const struct plan_result *r, uint32_t i, struct plan_batch_info *out);
/* Pick k (0..n_picks) of batch b in walk order. */
void plan_result_batch_pick(const struct plan_result *r, uint32_t b, uint32_t k,
                            struct plan_pick_info *out);
/* One putaway suggestion (PLAN_PUTAWAY): qty units of receipt `receipt` (index as added) to
 * `location` (a path of the config; NULL when nothing fits), with the planner's reason. */
struct plan_putaway_info {
    uint32_t receipt;
    const char *location;
    int64_t qty;
    struct plan_reason_info reason;
};
uint32_t plan_result_n_putaways(const struct plan_result *r);
void plan_result_putaway(const struct plan_result *r, uint32_t i, struct plan_putaway_info *out);

/* One replenishment move (PLAN_REPLENISH): qty units of stock record `stock` (index as added;
 * PLAN_NONE with the NO_SOURCE reason: qty units wanted and not found) to the pick face `to` (a
 * path of the config) under config replenishment rule `rule`, with the planner's reason. */
struct plan_move_info {
    uint32_t rule, stock;
    const char *to;
    int64_t qty;
    struct plan_reason_info reason;
};
uint32_t plan_result_n_moves(const struct plan_result *r);
void plan_result_move(const struct plan_result *r, uint32_t i, struct plan_move_info *out);

/* The id of order i of the input (as added). */
const char *plan_input_order_id(const struct plan_input *in, uint32_t i);

/* How the header record names the planning time. */
struct plan_header {
    bool now_from_clock; /* true: taken from the system clock, not --now */
};

/* Writes the plan as JSON Lines to f (the header record, then each requested stage's records in
 * the fixed order of docs/formats.md, keys sorted, compact). Same plan, same bytes. Returns 0,
 * -EIO (a write failed) or -ENOMEM. Blocks on f. */
int plan_write(const struct plan_result *r, const struct plan_header *h, FILE *f);

#endif
