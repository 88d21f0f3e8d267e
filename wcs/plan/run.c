/* Runs the planner's stages for wcs_plan: builds the pl_world from the mapped site and the read
 * input, sizes every output from the planner's bounds, and runs reserve → purchase → wave →
 * batch → sequence → replenish (against the first wave's demand) → putaway, as the stages
 * ask. */
#include "internal.h"

#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void plan_result_free(struct plan_result *r)
{
    if (!r)
        return;
    free(r->ro.allocs);
    free(r->ro.backorders);
    free(r->wo.waves);
    free(r->wo.wave_orders);
    free(r->wo.orders);
    free(r->bo.batches);
    free(r->bo.picks);
    free(r->putaways);
    free(r->moves);
    free(r->purchases);
    free(r);
}

static void *array(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

int plan_run(struct plan_result **out, struct plan_site *site, struct plan_input *in,
             unsigned stages, char *msg, size_t msg_len)
{
    struct plan_result *r;
    struct pl_workspace *ws;
    void *mem = NULL;
    size_t ws_size;
    uint32_t cap_a, cap_b;
    int rc;
    unsigned requested = stages;
    if (stages & PLAN_BATCH)
        stages |= PLAN_WAVE;
    if (stages & (PLAN_WAVE | PLAN_REPLENISH | PLAN_PURCHASE))
        stages |= PLAN_RESERVE;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->site = site;
    r->in = in;
    r->stages = stages;
    r->requested = requested;
    r->replen_wave = PL_NONE;
    r->w = (struct pl_world){
        .products = site->products,
        .locations = site->locations,
        .quants = in->quants,
        .orders = in->orders,
        .lines = in->lines,
        .putaway_rules = site->putaway,
        .replen_rules = site->replen,
        .purchase_rules = site->purchase,
        .n_products = site->cfg_n_products,
        .n_locations = site->cfg_n_locations,
        .n_quants = in->n_quants,
        .n_orders = in->n_orders,
        .n_lines = in->n_lines,
        .n_putaway_rules = site->n_putaway,
        .n_replen_rules = site->n_replen,
        .n_purchase_rules = site->n_purchase,
        .n_carriers = site->n_carriers,
        .today = site->today,
        .wave = site->wave,
        .cart = site->cart,
    };
    if ((rc = pl_world_check(&r->w, msg, msg_len)) < 0)
        goto fail_result;
    ws_size = (pl_workspace_size(&r->w) + 15) & ~(size_t)15;
    mem = aligned_alloc(16, ws_size ? ws_size : 16);
    if (!mem) {
        rc = -ENOMEM;
        goto fail_result;
    }
    if ((rc = pl_workspace_init(&ws, mem, ws_size, &r->w)) < 0 || (rc = pl_index(ws, &r->w)) < 0)
        goto fail_mem;
    if (stages & PLAN_RESERVE) {
        pl_reserve_bounds(&r->w, &cap_a, &cap_b);
        r->ro.allocs = array(cap_a, sizeof(*r->ro.allocs));
        r->ro.backorders = array(cap_b, sizeof(*r->ro.backorders));
        r->ro.allocs_cap = cap_a;
        r->ro.backorders_cap = cap_b;
        if (!r->ro.allocs || !r->ro.backorders) {
            rc = -ENOMEM;
            goto fail_mem;
        }
        if ((rc = pl_reserve(ws, &r->w, &r->ro)) < 0)
            goto fail_mem;
    }
    if (stages & PLAN_PURCHASE) {
        /* Before replenishment: its moves reserve reserve stock that is still free stock. */
        r->purchases = array(r->w.n_purchase_rules, sizeof(*r->purchases));
        if (!r->purchases) {
            rc = -ENOMEM;
            goto fail_mem;
        }
        if ((rc = pl_purchase(ws, &r->w, r->ro.backorders, r->ro.n_backorders, r->purchases,
                              r->w.n_purchase_rules, &r->n_purchases)) < 0)
            goto fail_mem;
    }
    if (stages & PLAN_WAVE) {
        r->wo.waves = array(r->w.n_orders, sizeof(*r->wo.waves));
        r->wo.wave_orders = array(r->w.n_orders, sizeof(*r->wo.wave_orders));
        r->wo.orders = array(r->w.n_orders, sizeof(*r->wo.orders));
        r->wo.waves_cap = r->w.n_orders;
        if (!r->wo.waves || !r->wo.wave_orders || !r->wo.orders) {
            rc = -ENOMEM;
            goto fail_mem;
        }
        if ((rc = pl_wave(ws, &r->w, r->ro.allocs, r->ro.n_allocs, &r->wo)) < 0)
            goto fail_mem;
    }
    if (stages & PLAN_BATCH) {
        if ((rc = pl_batch(ws, &r->w, r->ro.allocs, r->ro.n_allocs, &r->wo, &r->bo)) < 0)
            goto fail_mem;
        r->bo.batches = array(r->bo.n_batches, sizeof(*r->bo.batches));
        r->bo.picks = array(r->bo.n_picks, sizeof(*r->bo.picks));
        r->bo.batches_cap = r->bo.n_batches;
        r->bo.picks_cap = r->bo.n_picks;
        if (!r->bo.batches || !r->bo.picks) {
            rc = -ENOMEM;
            goto fail_mem;
        }
        if ((rc = pl_batch(ws, &r->w, r->ro.allocs, r->ro.n_allocs, &r->wo, &r->bo)) < 0 ||
            (rc = pl_sequence(ws, &r->w, &r->bo)) < 0)
            goto fail_mem;
    }
    if (stages & PLAN_REPLENISH) {
        uint32_t cap = pl_replenish_bound(&r->w);
        /* The first wave is the one released next: its demand on a face counts (planner.md). */
        if ((stages & PLAN_WAVE) && r->wo.n_waves > 0)
            r->replen_wave = 0;
        r->moves = array(cap, sizeof(*r->moves));
        if (!r->moves) {
            rc = -ENOMEM;
            goto fail_mem;
        }
        if ((rc = pl_replenish(ws, &r->w, r->ro.allocs, r->ro.n_allocs,
                               r->replen_wave == PL_NONE ? NULL : &r->wo, r->replen_wave, r->moves,
                               cap, &r->n_moves)) < 0)
            goto fail_mem;
    }
    if (stages & PLAN_PUTAWAY) {
        uint32_t cap = pl_putaway_bound(&r->w, in->n_receipts);
        r->putaways = array(cap, sizeof(*r->putaways));
        if (!r->putaways) {
            rc = -ENOMEM;
            goto fail_mem;
        }
        if ((rc = pl_putaway(ws, &r->w, in->receipts, in->n_receipts, r->putaways, cap,
                             &r->n_putaways)) < 0)
            goto fail_mem;
    }
    free(mem);
    *out = r;
    return 0;
fail_mem:
    if (rc != -ENOMEM && msg && msg_len && !msg[0])
        snprintf(msg, msg_len, "planner: %s", wcs_strerror(rc));
    free(mem);
fail_result:
    plan_result_free(r);
    return rc;
}
