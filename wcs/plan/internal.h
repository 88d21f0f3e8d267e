/* wcs_plan's private layout: the mapped site, the input arrays the parsers fill and the result
 * the writer reads. Shared by site.c, read.c, run.c and write.c only. */
#ifndef WCS_PLAN_INTERNAL_H
#define WCS_PLAN_INTERNAL_H

#include "plan.h"
#include "planner/planner.h"
#include "idmap.h"
#include "base/tz.h"

#include <stdbool.h>
#include <stdint.h>

struct plan_site {
    const struct cfg_site *cfg;
    int64_t now_s, now_min;
    int32_t today; /* the site's local date at now, as a day number */
    const char *tz, *site_id;
    struct wcs_tz *zone; /* the site's time zone (base/tz), loaded at open */
    struct idmap *skus, *locs, *zones, *carriers, *priorities, *pkg_types;
    struct pl_product *products;   /* per cfg product */
    struct pl_location *locations; /* per cfg location */
    struct pl_putaway_rule *putaway;
    uint32_t *putaway_cfg; /* planner rule index → config rule index (rules sorted by priority) */
    uint32_t n_putaway;
    struct pl_replen_rule *replen;     /* per config replenishment rule */
    struct pl_purchase_rule *purchase; /* per product that has a purchase rule (config order) */
    uint32_t *purchase_cfg;            /* planner purchase rule → config rule index */
    const char **purchase_supplier;    /* per planner purchase rule (the config's string) */
    uint32_t n_purchase;
    uint32_t *cutoff_first; /* per carrier: index of its first cutoff in a day's table */
    uint32_t n_cutoffs;     /* all carriers' cutoffs */
    struct idmap *days;     /* cached days (4-byte keys) → table index */
    int64_t *day_cutoffs;   /* per cached day, n_cutoffs UTC epoch minutes */
    uint32_t days_cap;
    struct pl_wave_rules wave;
    struct pl_cart cart;
    uint32_t cfg_n_products, cfg_n_locations, n_replen, n_carriers;
    bool frozen; /* plan_site_freeze: no new day is computed (the day cache stays as it is) */
};

struct plan_input {
    struct plan_site *site;
    /* stock: quant i is the i-th stock record */
    struct pl_quant *quants;
    uint32_t *quant_line;
    uint32_t n_quants, quants_cap, quant_line_cap;
    struct idmap *lots;     /* "<product id>\x1f<lot>" → lot id */
    struct idmap *packages; /* package name → package id */
    /* orders: order i is the order id with idmap id i */
    struct idmap *order_ids;
    struct pl_order *orders;
    uint32_t *order_line;
    uint32_t n_orders, orders_cap, order_line_cap;
    struct pl_line *lines;
    uint32_t n_lines, lines_cap;
    /* receipts */
    struct pl_receipt *receipts;
    int32_t *receipt_expiry; /* day number or PL_NO_EXPIRY */
    uint32_t *receipt_line;
    uint32_t n_receipts, receipts_cap, receipt_expiry_cap, receipt_line_cap;
};

struct plan_result {
    const struct plan_site *site;
    const struct plan_input *in;
    unsigned stages;    /* run, with the stages the requested ones need */
    unsigned requested; /* written */
    struct pl_world w;
    struct pl_reserve_out ro;
    struct pl_wave_out wo;
    struct pl_batch_out bo;
    struct pl_putaway *putaways;
    uint32_t n_putaways;
    struct pl_move *moves;
    uint32_t n_moves;
    struct pl_purchase *purchases;
    uint32_t n_purchases;
    uint32_t replen_wave; /* the wave whose demand replenishment saw, PL_NONE for none */
};

/* UTC epoch minutes of each cutoff of `carrier` on local day `day`: *first points into the
 * site's cache (n entries, ascending as configured). Returns 0 or -ENOMEM. */
int site_day_cutoffs(struct plan_site *s, uint32_t carrier, int32_t day, const int64_t **first,
                     uint32_t *n);

/* The reason as `wcs plan` words it: its sentence with names (write.c). */
void plan_reason_words(const struct plan_result *r, const struct pl_reason *why, char *buf,
                       size_t len);

/* The lot name of a lot id (the part after the product prefix). */
const char *input_lot_name(const struct plan_input *in, uint32_t lot);

/* Civil date of a day number (the inverse of pl_day_from_ymd). */
void plan_ymd(int64_t day, int *y, int *m, int *d);

#endif
