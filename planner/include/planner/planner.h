/* The planner: pure algorithms over caller-owned arrays that decide what gets picked, from where,
 * in which wave and on which cart, where received goods go and what to replenish or buy, and
 * why (every decision carries a struct pl_reason). No I/O, no global state, no allocation: the
 * caller passes a workspace (sized by pl_workspace_size) and output arrays with capacities.
 * Ids are dense array indices; strings (SKUs, location paths) stay with the caller.
 * Days are day numbers (days since 1970-01-01), times are epoch minutes or seconds as named. */
#ifndef PLANNER_PLANNER_H
#define PLANNER_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_NONE      UINT32_MAX /* "no id": no lot, no location, any product/category in rules */
#define PL_NO_EXPIRY INT32_MAX  /* quant without an expiry date */
#define PL_ZONE_ANY  UINT16_MAX /* order without a zone hint */

/* ---- inputs ---------------------------------------------------------------------------- */

enum pl_removal {
    PL_FIFO = 0,    /* oldest in-date first */
    PL_LIFO = 1,    /* newest in-date first */
    PL_FEFO = 2,    /* earliest expiry first, then oldest in-date */
    PL_CLOSEST = 3, /* lowest pick sequence first */
};

enum pl_tracking { PL_TRACK_NONE = 0, PL_TRACK_LOT = 1, PL_TRACK_SERIAL = 2 };

enum pl_usage {
    PL_USAGE_STOCK = 0, /* internal stock: the only usage a reservation may take from */
    PL_USAGE_VIEW = 1,  /* a parent node (warehouse, zone, aisle); holds no stock itself */
    PL_USAGE_INPUT = 2,
    PL_USAGE_QUALITY = 3, /* quality hold */
    PL_USAGE_OUTPUT = 4,  /* pack / output / dock */
    PL_USAGE_TRANSIT = 5,
    PL_USAGE_LOSS = 6, /* inventory loss */
    PL_USAGE_SCRAP = 7,
};

struct pl_product {
    uint32_t category;          /* caller's category id (putaway rules match on it) */
    uint8_t removal;            /* enum pl_removal, the category's removal strategy */
    uint8_t tracking;           /* enum pl_tracking; a serial is a lot of one unit */
    uint8_t abc;                /* 0 = A, 1 = B, 2 = C (informative) */
    uint8_t pad;                /* zero */
    int32_t expiry_margin_days; /* stock must not expire before ship day + this */
    uint32_t weight_g;          /* per unit */
    uint32_t volume_cm3;        /* per unit */
};

/* A location's subtree is [pre, post) in a pre-order numbering of the tree: location X is inside
 * Y's subtree iff Y.pre <= X.pre && X.pre < Y.post (a leaf has post = pre + 1). */
struct pl_location {
    uint32_t pre, post;
    uint32_t pick_seq; /* walking order along an aisle; CLOSEST prefers lower values */
    /* Putaway capacity, each 0 = unlimited: a location is full when one more unit of a product
     * would exceed any of them (units of all products, their weight, their volume). */
    uint32_t capacity_cm3;
    uint32_t capacity_units;
    uint32_t capacity_weight_g;
    uint16_t zone;     /* walked in ascending order */
    uint16_t aisle;    /* within a zone, aisles are walked in ascending order, serpentine */
    uint8_t usage;     /* enum pl_usage */
    uint8_t is_stock;  /* 1: may be a pick source (usage must be PL_USAGE_STOCK too) */
    uint8_t pick_face; /* 1: a pick face (replenished from reserve, see pl_replen_rule) */
    uint8_t pad;       /* zero */
};

/* Stock of one product at one location in one lot. The planner updates `reserved` (reserve,
 * replenish) and `on_hand`/`missing` (pl_short_pick) in place; available = on_hand - reserved. */
struct pl_quant {
    uint32_t product, location;
    uint32_t lot;       /* caller's lot/serial id, PL_NONE if untracked */
    uint32_t package;   /* caller's package id, PL_NONE if loose */
    int32_t expiry_day; /* last good day; PL_NO_EXPIRY if none */
    int32_t pad;        /* zero */
    int64_t in_date_s;  /* when it entered the warehouse, epoch seconds */
    int64_t on_hand, reserved;
    int64_t missing; /* units found missing by a short pick and not yet counted; a quant with
                        missing > 0 is never a source */
};

struct pl_order {
    uint32_t first_line, n_lines; /* this order's lines are lines[first_line .. +n_lines) */
    uint32_t carrier;   /* carrier, < n_carriers (one sorter lane per carrier in a wave) */
    uint16_t zone_hint; /* main zone, PL_ZONE_ANY if none */
    uint8_t priority;   /* higher reserves and waves first */
    uint8_t pad;        /* zero */
    int64_t cutoff_min; /* carrier cutoff, epoch minutes, 0 <= cutoff_min < 2^40 */
    int32_t ship_day;
    int32_t pad2; /* zero */
};

struct pl_line {
    uint32_t order, product;
    uint32_t lot;   /* a specific lot or serial, or PL_NONE for any */
    uint8_t urgent; /* 1: an urgent backorder, reserved before everything else */
    uint8_t pad[3]; /* zero */
    int64_t qty;    /* units, > 0 */
};

/* Putaway rule: goods matching every non-PL_NONE field go into the subtree of `location`.
 * The most specific matching rule wins (product 4, category 2, package type 1), then the lowest
 * index. */
struct pl_putaway_rule {
    uint32_t product, category, package_type;
    uint32_t location;
};

/* Min/max rule for a pick face: when it would fall below min, top it up towards max from
 * reserve stock in multiples of `multiple`, taken from the subtree of `source` only (PL_NONE:
 * from any stock location that is not a pick face). */
struct pl_replen_rule {
    uint32_t product, location;
    int64_t min_qty, max_qty, multiple;
    uint32_t source;
    uint32_t pad; /* zero */
};

/* Purchase rule: when a product's free stock falls below min, buy up to max in multiples;
 * the goods arrive lead_days later. */
struct pl_purchase_rule {
    uint32_t product;
    int32_t lead_days;
    int64_t min_qty, max_qty, multiple;
};

/* Wave limits. A zero limit means "no limit". */
struct pl_wave_rules {
    int64_t now_min;         /* planning time, epoch minutes */
    int32_t lead_min;        /* pick-pack-ship lead time from release to the dock, minutes */
    uint32_t max_lines;      /* reserved lines per wave */
    int64_t max_units;       /* reserved units per wave */
    uint32_t max_orders;     /* downstream capacity: pack stations x orders per station */
    uint32_t max_carriers;   /* sorter lanes: distinct carriers per wave */
    uint8_t split_by_zone;   /* 1: a wave holds one zone hint only */
    uint8_t split_by_cutoff; /* 1: a wave holds one cutoff only */
    uint8_t pad[6];          /* zero */
};

/* A picking cart: `totes` totes of tote_volume_cm3 each. An order part on a cart takes
 * max(1, ceil(volume / tote_volume_cm3)) totes. */
struct pl_cart {
    uint32_t totes;
    uint32_t tote_volume_cm3;
    int64_t max_weight_g;
    int64_t max_volume_cm3; /* 0: totes * tote_volume_cm3 */
};

/* Everything a plan reads. Only `quants` is written (see struct pl_quant). */
struct pl_world {
    const struct pl_product *products;
    const struct pl_location *locations;
    struct pl_quant *quants;
    const struct pl_order *orders;
    const struct pl_line *lines;
    const struct pl_putaway_rule *putaway_rules;
    const struct pl_replen_rule *replen_rules;
    const struct pl_purchase_rule *purchase_rules;
    uint32_t n_products, n_locations, n_quants, n_orders, n_lines;
    uint32_t n_putaway_rules, n_replen_rules, n_purchase_rules;
    uint32_t n_carriers;
    int32_t today; /* day number of the planning day: stock with expiry_day < today is expired */
    struct pl_wave_rules wave;
    struct pl_cart cart;
};

/* ---- reasons --------------------------------------------------------------------------- */

enum pl_reason_code {
    PL_R_NONE = 0,
    /* allocations: ref = quant */
    PL_R_FIFO_OLDEST,          /* a = in_date_s */
    PL_R_LIFO_NEWEST,          /* a = in_date_s */
    PL_R_FEFO_EARLIEST_EXPIRY, /* a = expiry day, b = earliest acceptable expiry day */
    PL_R_CLOSEST_PICK_SEQ,     /* a = pick_seq */
    PL_R_LOT_REQUESTED,        /* a = lot */
    /* backorders: a = units reserved for the line, ref/b as named */
    PL_R_SHORT_NO_STOCK,       /* no stock of the product anywhere */
    PL_R_SHORT_EXPIRED_ONLY,   /* b = earliest acceptable expiry day; the rest expires earlier */
    PL_R_SHORT_LOT_NOT_FOUND,  /* ref = lot */
    PL_R_SHORT_NON_STOCK_ONLY, /* b = units held in non-stock locations (quality, input...) */
    PL_R_SHORT_RESERVED,       /* b = units on hand in stock locations, all reserved */
    /* short pick: ref = quant */
    PL_R_QUANT_MISSING, /* a = units missing, b = units the picker found */
    /* waves: per order; ref = the order's carrier */
    PL_R_WAVE_LATE_FOR_CUTOFF, /* a = cutoff_min, b = earliest dock time (now + lead) */
    PL_R_WAVE_BY_CUTOFF,       /* a = cutoff_min, b = slack minutes */
    PL_R_WAVE_NOTHING_RESERVED,
    PL_R_WAVE_ORDER_TOO_BIG, /* alone in its wave; a = lines, b = units */
    /* waves: why a wave was closed; ref = the next order, a = value reached with it, b = limit */
    PL_R_WAVE_FULL_LINES,
    PL_R_WAVE_FULL_UNITS,
    PL_R_WAVE_FULL_ORDERS,
    PL_R_WAVE_FULL_LANES,
    PL_R_WAVE_CUTOFF_CHANGE, /* a = next cutoff_min */
    PL_R_WAVE_ZONE_CHANGE,   /* a = next zone, b = the wave's zone (PL_ZONE_ANY: no hint) */
    PL_R_WAVE_LAST,
    /* batches: why a cart was closed; a = value reached with the next order, b = limit */
    PL_R_BATCH_FULL_TOTES,
    PL_R_BATCH_FULL_WEIGHT,
    PL_R_BATCH_FULL_VOLUME,
    PL_R_BATCH_WAVE_END,
    PL_R_BATCH_OVERSIZE, /* one pick whose single unit exceeds an empty cart; ref = alloc */
    /* putaway: ref = putaway rule (PICK_FACE: replen rule) */
    PL_R_PUTAWAY_PICK_FACE,    /* a = units at the face, b = its max */
    PL_R_PUTAWAY_SAME_LOT,     /* a = units of the lot already there */
    PL_R_PUTAWAY_SAME_PRODUCT, /* a = units of the product already there */
    PL_R_PUTAWAY_EMPTY,        /* a = units of the product it has room for (-1: no limit applies),
                                  b = the limit that sets it (enum pl_cap_limit) */
    PL_R_PUTAWAY_NO_RULE,
    PL_R_PUTAWAY_NO_CAPACITY, /* a = units left unplaced */
    /* replenishment: ref = rule */
    PL_R_REPLEN_BELOW_MIN,   /* a = units at the face, b = min */
    PL_R_REPLEN_WAVE_DEMAND, /* a = units at the face, b = the wave's demand on it */
    PL_R_REPLEN_NO_SOURCE,   /* a = units wanted, b = units found in reserve */
    PL_R_PURCHASE_BELOW_MIN, /* ref = purchase rule; a = free stock, b = min */
    PL_R_COUNT
};

enum pl_reason_flags {
    PL_RF_AFTER_SHORT_PICK = 1, /* made by pl_short_pick */
    PL_RF_LATE = 2,             /* the order will miss its cutoff */
    PL_RF_SPLIT = 4,            /* the order is split over several carts */
};

/* Which putaway capacity limit is reached first (PL_R_PUTAWAY_EMPTY's b). */
enum pl_cap_limit { PL_CAP_NONE = 0, PL_CAP_UNITS = 1, PL_CAP_WEIGHT = 2, PL_CAP_VOLUME = 3 };

struct pl_reason {
    uint16_t code;  /* enum pl_reason_code */
    uint16_t flags; /* enum pl_reason_flags */
    uint32_t ref;   /* the quant, lot, rule, order, carrier or alloc the code names, or PL_NONE */
    int64_t a, b;   /* figures, per code above */
};

/* Writes `r` as one English sentence into buf (always NUL-terminated when len > 0), naming
 * things by their planner numbers ("quant 12", "rule 3"). Returns the length the full sentence
 * needs, like snprintf; never fails. Same as pl_reason_text(r, NULL, buf, len). */
int pl_reason_format(const struct pl_reason *r, char *buf, size_t len);

/* What a number in a reason stands for, as asked of a struct pl_namer. */
enum pl_name_kind {
    PL_NAME_QUANT,         /* index into quants */
    PL_NAME_LOT,           /* the caller's lot id */
    PL_NAME_ORDER,         /* index into orders */
    PL_NAME_ALLOC,         /* index into the allocations of pl_reserve's output */
    PL_NAME_ZONE,          /* a zone number, PL_ZONE_ANY for an order without a zone hint */
    PL_NAME_CARRIER,       /* a carrier number */
    PL_NAME_PUTAWAY_RULE,  /* index into putaway_rules */
    PL_NAME_REPLEN_RULE,   /* index into replen_rules */
    PL_NAME_PURCHASE_RULE, /* index into purchase_rules */
};

/* The caller's names for the numbers a reason holds. name() writes a noun phrase for `id` of
 * `kind` into buf (NUL-terminated when len > 0; the planner passes len >= 2) and returns its
 * full length like snprintf, or a negative value to keep the planner's wording ("quant 12").
 * It is called synchronously from pl_reason_text only, and must not fail otherwise. */
struct pl_namer {
    int (*name)(void *ctx, enum pl_name_kind kind, uint64_t id, char *buf, size_t len);
    void *ctx;
};

/* As pl_reason_format, with every quant, lot, order, allocation, zone, carrier and rule the
 * sentence names written as namer->name() words it (namer NULL: the planner's numbers), e.g.
 * "FEFO: FD-1001 lot L7 at WH1/A/01 expires first (...)". A phrase is cut at 255 bytes. Returns
 * the length the full sentence needs, like snprintf; never fails. */
int pl_reason_text(const struct pl_reason *r, const struct pl_namer *namer, char *buf, size_t len);

/* Returns the static name of a reason code ("FEFO_EARLIEST_EXPIRY"), "?" if unknown. */
const char *pl_reason_name(unsigned code);

/* ---- dates ----------------------------------------------------------------------------- */

/* Day number of a calendar date. Day 0 (as printed by GS1 "DD=00") means the last day of the
 * month. Returns 0 and sets *out, or WCS_E_RANGE for year outside 1970..9999, month outside
 * 1..12 or a day past the month's end; *out is untouched on failure. */
int pl_day_from_ymd(int year, int month, int day, int32_t *out);

/* ---- validation and workspace ---------------------------------------------------------- */

/* Checks every id, quantity and interval of `w`: quantities 0..2^30 per quant or line (2^38 in
 * all), unit weight and volume up to 2^24, 0 <= reserved <= on_hand, each order's line range
 * naming its own lines. Returns 0, or WCS_E_UNKNOWN (an id out of range) / WCS_E_RANGE (a bad
 * quantity, interval or limit) and writes one line naming the first bad field into msg (may be
 * NULL). Every other function assumes a checked world. */
int pl_world_check(const struct pl_world *w, char *msg, size_t msg_len);

struct pl_workspace;

/* Bytes of workspace a plan over `w` needs (depends on the counts of w only). */
size_t pl_workspace_size(const struct pl_world *w);

/* Lays a workspace out in the caller's `mem` (size bytes, 16-byte aligned, owned and freed by
 * the caller after the last call that uses *out). Every later call must pass a world with the
 * same counts (a mismatch traps). Returns 0, WCS_E_RANGE (mem NULL or misaligned), or
 * WCS_E_EXHAUSTED if size is smaller than pl_workspace_size(w); *out is untouched on failure. */
int pl_workspace_init(struct pl_workspace **out, void *mem, size_t size, const struct pl_world *w);

/* Indexes the quants of `w` per product in removal-strategy order. Call after pl_world_check
 * and again whenever quants or `today` are changed by anything but the planner. `ws` must have
 * been laid out for w's counts (a mismatch traps). Returns 0. */
int pl_index(struct pl_workspace *ws, const struct pl_world *w);

/* ---- reservation ----------------------------------------------------------------------- */

struct pl_alloc {
    uint32_t line, quant;
    int64_t qty;
    struct pl_reason reason;
};

struct pl_backorder {
    uint32_t line;
    uint32_t pad; /* zero */
    int64_t qty;
    struct pl_reason reason;
};

struct pl_reserve_out {
    struct pl_alloc *allocs;
    struct pl_backorder *backorders;
    uint32_t allocs_cap, backorders_cap; /* set by the caller */
    uint32_t n_allocs, n_backorders;     /* set by the planner */
};

/* Worst-case output sizes of pl_reserve (allocs <= lines + quants, backorders <= lines). */
void pl_reserve_bounds(const struct pl_world *w, uint32_t *allocs, uint32_t *backorders);

/* Reserves every line of w (after pl_index): urgent backorder lines first, then by order
 * priority (high first), cutoff, order index, line index. Each line takes stock in its
 * product's removal order from stock locations only, never expired stock nor stock expiring
 * before the order's ship day plus the product's margin (nor before today); a line with a lot
 * takes that lot only; what cannot be reserved becomes a backorder with the cause. Increments
 * quants[].reserved. Returns 0, or WCS_E_EXHAUSTED (an output capacity is too small; the
 * quants are then restored and out->n_* are 0), or WCS_E_STATE before pl_index. */
int pl_reserve(struct pl_workspace *ws, struct pl_world *w, struct pl_reserve_out *out);

/* A picker found only `found` (< qty) units for out->allocs[alloc]. The planner shrinks that
 * allocation to `found`, marks the missing units on the quant (on_hand and reserved drop by
 * them, `missing` grows, so the quant is no longer a source), then reserves the missing units
 * for the same line elsewhere by the same rules, appending allocations and, for what is still
 * short, a backorder (flag PL_RF_AFTER_SHORT_PICK). *event gets PL_R_QUANT_MISSING.
 * Returns 0, WCS_E_RANGE (alloc index or found out of range), WCS_E_STATE before pl_index, or
 * WCS_E_EXHAUSTED (room for the worst case is missing; nothing changed). */
int pl_short_pick(struct pl_workspace *ws, struct pl_world *w, struct pl_reserve_out *out,
                  uint32_t alloc, int64_t found, struct pl_reason *event);

/* ---- waves ----------------------------------------------------------------------------- */

struct pl_wave {
    uint32_t first, n_orders; /* wave_orders[first .. +n_orders) */
    uint32_t lines, carriers;
    int64_t units;
    uint32_t late_orders;
    uint32_t pad;            /* zero */
    struct pl_reason reason; /* why it was closed */
};

struct pl_order_wave {
    uint32_t wave; /* PL_NONE: not waved */
    uint32_t pad;  /* zero */
    struct pl_reason reason;
};

struct pl_wave_out {
    struct pl_wave *waves;
    uint32_t *wave_orders;        /* order indices, wave by wave */
    struct pl_order_wave *orders; /* per order of w, n_orders entries */
    uint32_t waves_cap;           /* set by the caller; wave_orders holds n_orders */
    uint32_t n_waves, n_waved;    /* set by the planner */
};

/* Builds waves from the reserved orders (allocs of pl_reserve). Orders are taken late ones
 * first (now + lead > cutoff, flagged PL_RF_LATE), then by cutoff, priority (high first), zone
 * hint, order index, and packed into waves in that sequence; a wave closes when the next order
 * would break a limit of w->wave. An order with nothing reserved is not waved; an order larger
 * than an empty wave gets a wave of its own. waves_cap >= n_orders always suffices.
 * Returns 0 or WCS_E_EXHAUSTED. */
int pl_wave(struct pl_workspace *ws, const struct pl_world *w, const struct pl_alloc *allocs,
            uint32_t n_allocs, struct pl_wave_out *out);

/* ---- batches and pick paths ------------------------------------------------------------ */

struct pl_batch {
    uint32_t wave;
    uint32_t first, n_picks; /* picks[first .. +n_picks) */
    uint32_t orders, totes;
    uint32_t pad; /* zero */
    int64_t units, weight_g, volume_cm3;
    struct pl_reason reason; /* why the cart was closed */
};

struct pl_pick {
    uint32_t alloc, order, quant, location;
    uint32_t batch;
    uint32_t walk;  /* position along the batch's walk, from 0 (set by pl_sequence) */
    uint16_t tote;  /* first tote of the order's part on the cart */
    uint16_t flags; /* PL_RF_SPLIT if the order spans carts */
    uint32_t pad;   /* zero */
    int64_t qty;
};

struct pl_batch_out {
    struct pl_batch *batches;
    struct pl_pick *picks;
    uint32_t batches_cap, picks_cap; /* set by the caller; both NULL/0: count only */
    uint32_t n_batches, n_picks;     /* set by the planner */
};

/* Splits every wave into cart batches within w->cart: orders in wave sequence, an order whole
 * on one cart when it fits an empty cart (a cart is closed when the next order does not fit),
 * else spread unit by unit over as many carts as needed (flag PL_RF_SPLIT). A single unit
 * larger than an empty cart gets a cart of its own (PL_R_BATCH_OVERSIZE). With NULL arrays it
 * only counts, so a first call sizes the second. Returns 0, WCS_E_RANGE (bad cart: totes
 * outside 1..65535, tote volume 0, negative limits) or WCS_E_EXHAUSTED (also when n_allocs
 * exceeds the workspace's 2 * (lines + quants) + 64). */
int pl_batch(struct pl_workspace *ws, const struct pl_world *w, const struct pl_alloc *allocs,
             uint32_t n_allocs, const struct pl_wave_out *waves, struct pl_batch_out *out);

/* Orders each batch's picks along a serpentine walk and numbers them (walk): zones ascending;
 * within a zone the aisles it visits ascending, the 1st, 3rd, 5th... visited aisle walked up
 * (pick_seq ascending) and the 2nd, 4th... walked down, so each aisle is walked once; equal
 * pick_seq by location, order, then alloc. Reorders out->picks within each batch. Returns 0, or
 * WCS_E_STATE if out holds only counts (pl_batch with NULL arrays). */
int pl_sequence(struct pl_workspace *ws, const struct pl_world *w, struct pl_batch_out *out);

/* ---- putaway --------------------------------------------------------------------------- */

struct pl_receipt {
    uint32_t product, lot, package_type;
    uint32_t pad; /* zero */
    int64_t qty;
};

struct pl_putaway {
    uint32_t receipt, location; /* location PL_NONE: not placed (see reason) */
    int64_t qty;
    struct pl_reason reason;
};

/* Worst-case number of putaway suggestions for n receipts: 2 * n + n_locations. */
uint32_t pl_putaway_bound(const struct pl_world *w, uint32_t n_receipts);

/* Suggests locations for received goods, in receipt order, each within the subtree of its best
 * putaway rule: first pick faces of the product that need stock (below max), then locations
 * holding only the same product and lot, then only the same product, then empty locations;
 * within a class by pick_seq, then location index. Capacity (units, weight and volume, each
 * when set; a location takes what fits all three) counts stock on hand plus earlier
 * suggestions of this call; pick faces fill up to their max; locations holding other
 * products and pick faces of other products are never suggested. Unplaced units get a record
 * with location PL_NONE. Changes no quant. Returns 0, WCS_E_RANGE (a receipt names no product
 * or has qty outside 1..2^30) or WCS_E_EXHAUSTED. */
int pl_putaway(struct pl_workspace *ws, const struct pl_world *w, const struct pl_receipt *rc,
               uint32_t n, struct pl_putaway *out, uint32_t cap, uint32_t *n_out);

/* ---- replenishment --------------------------------------------------------------------- */

struct pl_move {
    uint32_t rule, quant; /* source quant in reserve; PL_NONE with PL_R_REPLEN_NO_SOURCE */
    uint32_t to;          /* destination pick face */
    uint32_t pad;         /* zero */
    int64_t qty;
    struct pl_reason reason;
};

struct pl_purchase {
    uint32_t rule, product;
    int32_t order_day, due_day;
    int64_t qty;
    struct pl_reason reason;
};

/* Worst-case number of moves of pl_replenish: 2 * n_replen_rules + n_quants. */
uint32_t pl_replenish_bound(const struct pl_world *w);

/* Min/max replenishment of pick faces from reserve stock (stock locations that are not pick
 * faces, inside the rule's source subtree unless it is PL_NONE, in the product's removal order,
 * no expired stock). For each rule, on hand at the face
 * minus the demand of wave `wave` on it (allocs of orders in that wave taking from the face;
 * wave PL_NONE or waves NULL: no demand) is compared with min; below it, the face is topped up
 * by max - on hand rounded down to the multiple. Moves reserve their source quants. A rule
 * whose need finds too little reserve stock also gets a PL_R_REPLEN_NO_SOURCE record.
 * Returns 0, WCS_E_STATE before pl_index, or WCS_E_EXHAUSTED (nothing reserved). */
int pl_replenish(struct pl_workspace *ws, struct pl_world *w, const struct pl_alloc *allocs,
                 uint32_t n_allocs, const struct pl_wave_out *waves, uint32_t wave,
                 struct pl_move *out, uint32_t cap, uint32_t *n_out);

/* Purchase suggestions: for each purchase rule, free stock = on hand in stock locations (not
 * expired) - reserved - backordered units of the product; below min, buy max - free rounded up
 * to the multiple, ordered today and due today + lead_days. Returns 0 or WCS_E_EXHAUSTED
 * (cap >= n_purchase_rules always suffices). */
int pl_purchase(struct pl_workspace *ws, const struct pl_world *w,
                const struct pl_backorder *backorders, uint32_t n_backorders,
                struct pl_purchase *out, uint32_t cap, uint32_t *n_out);

#endif
