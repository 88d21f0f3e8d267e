/* Private to planner/: the workspace layout and helpers shared by its source files.
 * The workspace is carved from one caller-owned block by pl_workspace_init; every array in it is
 * sized from the world's counts so no planner function allocates. */
#ifndef PLANNER_INTERNAL_H
#define PLANNER_INTERNAL_H

#include "planner/planner.h"

/* One record of the shared merge sort: ordered by (k1, k2, idx), a total order. */
struct sortrec {
    uint64_t k1, k2;
    uint32_t idx;
    uint32_t pad;
};

/* What batching needs of one allocation, packed in the order of ao_list. */
struct alloc_unit {
    uint32_t weight_g, volume_cm3; /* per unit of the product */
    uint32_t quant, location;
    int64_t qty;
};

struct pl_workspace {
    /* counts the workspace was laid out for */
    uint32_t n_products, n_locations, n_quants, n_orders, n_lines, n_replen_rules, n_carriers;
    uint32_t allocs_cap; /* alloc-indexed scratch holds this many allocs */
    uint32_t rec_cap;    /* records in rec and rec_tmp */
    bool indexed;

    struct sortrec *rec, *rec_tmp; /* max(n_quants, n_orders) each */

    /* Quants per product in removal order: product p owns positions [pstart[p], pstart[p+1]-1);
     * position pstart[p+1]-1 is p's sentinel. qpos holds the quant at each position (PL_NONE at
     * sentinels); qnext skips positions whose quant can no longer give stock (union-find with
     * path halving: qnext[i] == i means "look here"). */
    uint32_t *pstart; /* n_products + 1 */
    uint32_t *qpos;   /* n_quants + n_products */
    uint32_t *qnext;  /* n_quants + n_products */
    int32_t *qexp;    /* n_quants + n_products: expiry of the quant at each position */

    int64_t *prod_nonstock; /* units per product in locations that are not sources */
    int64_t *prod_expired;  /* units per product in sources, expired today */
    int64_t *prod_stock;    /* units per product indexed (sources, not expired, not missing) */
    int64_t *prod_scratch;  /* per product, used by pl_purchase */

    uint32_t *ord_seq;   /* n_orders: orders in reservation sequence */
    uint32_t *ord_lines; /* n_orders: reserved lines */
    int64_t *ord_units, *ord_weight_g, *ord_volume_cm3; /* n_orders */
    uint32_t *ao_start;         /* n_orders + 1: allocs of each order (CSR) */
    uint32_t *ao_list;          /* allocs_cap */
    struct alloc_unit *ao_unit; /* allocs_cap, parallel to ao_list */
    uint8_t *ord_urgent;        /* n_orders: 1 if the order has an urgent line */
    uint8_t *line_mark;         /* n_lines */
    uint32_t *carrier_stamp;    /* n_carriers: 1 + last wave the carrier was seen in */

    uint32_t *loc_by_pre;    /* n_locations, sorted by pre */
    int64_t *loc_used_cm3;   /* n_locations: volume on hand and suggested (putaway) */
    int64_t *loc_used_units; /* n_locations: units of all products */
    int64_t *loc_used_g;     /* n_locations: their weight */
    uint32_t *loc_product;   /* n_locations: the one product held, PL_NONE empty, MIXED */
    uint32_t *loc_lot;       /* n_locations: the one lot held, PL_NONE none, MIXED */
    uint32_t *loc_rule;      /* n_locations: first replen rule at the location or PL_NONE */
    uint32_t *rule_next;     /* n_replen_rules: next rule at the same location */
    int64_t *rule_scratch;   /* n_replen_rules: units at the face (loc__scan) */
    int64_t *rule_demand;    /* n_replen_rules */
};

#define PL_MIXED (UINT32_MAX - 1u)

/* An assert that stays compiled in (release builds define NDEBUG): a broken invariant is a
 * programming error, and planning on with it would over-allocate stock. */
#define PL_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* Traps unless ws was laid out for w's counts. */
void ws__check(const struct pl_workspace *ws, const struct pl_world *w);

/* Stable (idx breaks ties) sort of n records using tmp (n records) as scratch. */
void sort__records(struct sortrec *a, struct sortrec *tmp, uint32_t n);

/* True if location l may be a pick source. */
static inline bool loc__is_source(const struct pl_location *l)
{
    return l->usage == PL_USAGE_STOCK && l->is_stock;
}

static inline int64_t quant__avail(const struct pl_quant *q)
{
    return q->on_hand - q->reserved;
}

/* Reason constructor. */
static inline struct pl_reason reason__make(unsigned code, unsigned flags, uint32_t ref, int64_t a,
                                            int64_t b)
{
    struct pl_reason r;
    r.code = (uint16_t)code;
    r.flags = (uint16_t)flags;
    r.ref = ref;
    r.a = a;
    r.b = b;
    return r;
}

/* Returns the first position at or after i not skipped in the quant index (a quant that may
 * still give stock, or the product's sentinel), halving the path as it goes. */
static inline uint32_t index__find(uint32_t *next, uint32_t i)
{
    while (next[i] != i) {
        next[i] = next[next[i]];
        i = next[i];
    }
    return i;
}

/* Fills the per-location tables (used units, g and cm3, the one product and lot held, replen rules
 * chained per location) and rule_scratch (units of each rule's product at its face) from the
 * quants. */
void loc__scan(struct pl_workspace *ws, const struct pl_world *w);

/* The replen rule of product p at location l (lowest index), or PL_NONE. Needs loc__scan. */
uint32_t loc__face_rule(const struct pl_workspace *ws, const struct pl_world *w, uint32_t l,
                        uint32_t p);

#endif
