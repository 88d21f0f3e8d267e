/* Test fixture for the planner tests: a small world in fixed arrays, built with one-line
 * helpers, and the plumbing to index and reserve it. Header-only (static inline) so each test
 * binary takes just what it uses. */
#ifndef TESTS_PLANNER_FIXTURE_H
#define TESTS_PLANNER_FIXTURE_H

#include "base/err.h"
#include "planner/planner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX 512

struct fx {
    struct pl_product products[FX_MAX];
    struct pl_location locations[FX_MAX];
    struct pl_quant quants[FX_MAX];
    struct pl_order orders[FX_MAX];
    struct pl_line lines[FX_MAX];
    struct pl_putaway_rule putaway[FX_MAX];
    struct pl_replen_rule replen[FX_MAX];
    struct pl_purchase_rule purchase[FX_MAX];
    struct pl_world w;
    void *mem;
    struct pl_workspace *ws;
    struct pl_alloc allocs[4 * FX_MAX];
    struct pl_backorder backorders[FX_MAX];
    struct pl_reserve_out ro;
};

#define DAY0 20000                           /* 2024-10-04, "today" in the tests */
#define MIN0 ((int64_t)DAY0 * 1440 + 8 * 60) /* 08:00 that day, epoch minutes */

static inline struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    f->w.products = f->products;
    f->w.locations = f->locations;
    f->w.quants = f->quants;
    f->w.orders = f->orders;
    f->w.lines = f->lines;
    f->w.putaway_rules = f->putaway;
    f->w.replen_rules = f->replen;
    f->w.purchase_rules = f->purchase;
    f->w.n_carriers = 8;
    f->w.today = DAY0;
    f->w.wave.now_min = MIN0;
    f->w.cart.totes = 4;
    f->w.cart.tote_volume_cm3 = 1000;
    return f;
}

static inline void fx_free(struct fx *f)
{
    if (!f)
        return;
    free(f->mem);
    free(f);
}

static inline uint32_t fx_product(struct fx *f, enum pl_removal removal)
{
    uint32_t i = f->w.n_products++;
    f->products[i].removal = (uint8_t)removal;
    f->products[i].category = 0;
    f->products[i].weight_g = 100;
    f->products[i].volume_cm3 = 100;
    return i;
}

/* A stock leaf location; pre/post are unique per index. */
static inline uint32_t fx_loc(struct fx *f, uint16_t zone, uint16_t aisle, uint32_t pick_seq)
{
    uint32_t i = f->w.n_locations++;
    struct pl_location *l = &f->locations[i];
    l->pre = 1000 + i;
    l->post = l->pre + 1;
    l->usage = PL_USAGE_STOCK;
    l->is_stock = 1;
    l->zone = zone;
    l->aisle = aisle;
    l->pick_seq = pick_seq;
    return i;
}

static inline uint32_t fx_quant(struct fx *f, uint32_t product, uint32_t loc, uint32_t lot,
                                int32_t expiry_day, int64_t in_date_s, int64_t on_hand)
{
    uint32_t i = f->w.n_quants++;
    struct pl_quant *q = &f->quants[i];
    q->product = product;
    q->location = loc;
    q->lot = lot;
    q->package = PL_NONE;
    q->expiry_day = expiry_day;
    q->in_date_s = in_date_s;
    q->on_hand = on_hand;
    return i;
}

static inline uint32_t fx_order(struct fx *f, uint8_t priority, uint32_t carrier,
                                int64_t cutoff_min, int32_t ship_day)
{
    uint32_t i = f->w.n_orders++;
    struct pl_order *o = &f->orders[i];
    o->first_line = f->w.n_lines;
    o->carrier = carrier;
    o->zone_hint = PL_ZONE_ANY;
    o->priority = priority;
    o->cutoff_min = cutoff_min;
    o->ship_day = ship_day;
    return i;
}

/* Adds a line to the most recent order. */
static inline uint32_t fx_line(struct fx *f, uint32_t product, int64_t qty, uint32_t lot,
                               uint8_t urgent)
{
    uint32_t o = f->w.n_orders - 1, i = f->w.n_lines++;
    f->lines[i].order = o;
    f->lines[i].product = product;
    f->lines[i].qty = qty;
    f->lines[i].lot = lot;
    f->lines[i].urgent = urgent;
    f->orders[o].n_lines++;
    return i;
}

/* Checks, lays out a workspace and indexes; returns pl_world_check's code. */
static inline int fx_prepare(struct fx *f)
{
    char msg[256];
    size_t sz;
    int rc = pl_world_check(&f->w, msg, sizeof(msg));
    if (rc) {
        fprintf(stderr, "world check: %s\n", msg);
        return rc;
    }
    free(f->mem);
    sz = pl_workspace_size(&f->w);
    f->mem = aligned_alloc(16, (sz + 15) & ~(size_t)15);
    if (!f->mem)
        abort();
    rc = pl_workspace_init(&f->ws, f->mem, sz, &f->w);
    if (rc)
        return rc;
    return pl_index(f->ws, &f->w);
}

static inline int fx_reserve(struct fx *f)
{
    int rc = fx_prepare(f);
    if (rc)
        return rc;
    f->ro.allocs = f->allocs;
    f->ro.backorders = f->backorders;
    f->ro.allocs_cap = 4 * FX_MAX;
    f->ro.backorders_cap = FX_MAX;
    return pl_reserve(f->ws, &f->w, &f->ro);
}

/* Units reserved for a line and backordered for it. */
static inline int64_t fx_reserved_for(const struct fx *f, uint32_t line)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < f->ro.n_allocs; i++)
        if (f->allocs[i].line == line)
            n += f->allocs[i].qty;
    return n;
}

static inline int64_t fx_backordered(const struct fx *f, uint32_t line)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < f->ro.n_backorders; i++)
        if (f->backorders[i].line == line)
            n += f->backorders[i].qty;
    return n;
}

#endif
