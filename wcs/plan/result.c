/* Reading a computed plan record by record (plan.h, "reading a result"): the reservations,
 * short lines, waves and each order's wave, with reasons worded as `wcs plan` words them. For
 * callers that commit a plan instead of writing it (the daemon's wave.plan). Pure reads. */
#include "internal.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void reason(const struct plan_result *r, const struct pl_reason *why,
                   struct plan_reason_info *out)
{
    out->code = pl_reason_name(why->code);
    out->late = (why->flags & PL_RF_LATE) != 0;
    plan_reason_words(r, why, out->text, sizeof(out->text));
}

uint32_t plan_result_n_allocs(const struct plan_result *r)
{
    return r->ro.n_allocs;
}

void plan_result_alloc(const struct plan_result *r, uint32_t i, struct plan_alloc_info *out)
{
    assert(i < r->ro.n_allocs);
    const struct pl_alloc *a = &r->ro.allocs[i];
    const struct pl_line *l = &r->in->lines[a->line];
    *out = (struct plan_alloc_info){
        .order = l->order,
        .line = a->line - r->in->orders[l->order].first_line,
        .stock = a->quant,
        .qty = a->qty,
    };
}

uint32_t plan_result_n_backorders(const struct plan_result *r)
{
    return r->ro.n_backorders;
}

void plan_result_backorder(const struct plan_result *r, uint32_t i, struct plan_backorder_info *out)
{
    assert(i < r->ro.n_backorders);
    const struct pl_backorder *b = &r->ro.backorders[i];
    const struct pl_line *l = &r->in->lines[b->line];
    out->order = l->order;
    out->line = b->line - r->in->orders[l->order].first_line;
    out->qty = b->qty;
    reason(r, &b->reason, &out->reason);
}

uint32_t plan_result_n_waves(const struct plan_result *r)
{
    return (r->stages & PLAN_WAVE) ? r->wo.n_waves : 0;
}

void plan_result_wave(const struct plan_result *r, uint32_t i, struct plan_wave_info *out)
{
    assert(i < plan_result_n_waves(r));
    const struct pl_wave *w = &r->wo.waves[i];
    uint32_t batches = 0;
    for (uint32_t b = 0; (r->stages & PLAN_BATCH) && b < r->bo.n_batches; b++)
        batches += r->bo.batches[b].wave == i;
    out->n_orders = w->n_orders;
    out->lines = w->lines;
    out->carriers = w->carriers;
    out->late_orders = w->late_orders;
    out->units = w->units;
    out->batches = batches;
    reason(r, &w->reason, &out->reason);
}

uint32_t plan_result_n_batches(const struct plan_result *r)
{
    return (r->stages & PLAN_BATCH) ? r->bo.n_batches : 0;
}

void plan_result_batch(const struct plan_result *r, uint32_t i, struct plan_batch_info *out)
{
    assert(i < plan_result_n_batches(r));
    const struct pl_batch *b = &r->bo.batches[i];
    int64_t cutoff = INT64_MAX;
    for (uint32_t k = 0; k < b->n_picks; k++) {
        const struct pl_order *o = &r->in->orders[r->bo.picks[b->first + k].order];
        if (o->cutoff_min < cutoff)
            cutoff = o->cutoff_min;
    }
    *out = (struct plan_batch_info){.wave = b->wave,
                                    .n_picks = b->n_picks,
                                    .units = b->units,
                                    .cutoff_min = b->n_picks ? cutoff : 0};
}

void plan_result_batch_pick(const struct plan_result *r, uint32_t b, uint32_t k,
                            struct plan_pick_info *out)
{
    assert(b < plan_result_n_batches(r) && k < r->bo.batches[b].n_picks);
    const struct pl_pick *p = &r->bo.picks[r->bo.batches[b].first + k];
    const struct pl_alloc *a = &r->ro.allocs[p->alloc];
    const struct pl_line *l = &r->in->lines[a->line];
    *out = (struct plan_pick_info){
        .order = l->order,
        .line = a->line - r->in->orders[l->order].first_line,
        .stock = a->quant,
        .qty = p->qty,
    };
}

uint32_t plan_result_wave_order(const struct plan_result *r, uint32_t wave, uint32_t k)
{
    assert(wave < plan_result_n_waves(r) && k < r->wo.waves[wave].n_orders);
    return r->wo.wave_orders[r->wo.waves[wave].first + k];
}

uint32_t plan_result_order_wave(const struct plan_result *r, uint32_t order,
                                struct plan_reason_info *why)
{
    assert(order < r->in->n_orders);
    if (!(r->stages & PLAN_WAVE)) {
        if (why)
            *why = (struct plan_reason_info){.code = "NONE"};
        return PLAN_NONE;
    }
    if (why)
        reason(r, &r->wo.orders[order].reason, why);
    return r->wo.orders[order].wave == PL_NONE ? PLAN_NONE : r->wo.orders[order].wave;
}

const char *plan_input_order_id(const struct plan_input *in, uint32_t i)
{
    assert(i < in->n_orders);
    return idmap_key(in->order_ids, i);
}

uint32_t plan_result_n_putaways(const struct plan_result *r)
{
    return (r->stages & PLAN_PUTAWAY) ? r->n_putaways : 0;
}

void plan_result_putaway(const struct plan_result *r, uint32_t i, struct plan_putaway_info *out)
{
    assert(i < plan_result_n_putaways(r));
    const struct pl_putaway *p = &r->putaways[i];
    out->receipt = p->receipt;
    out->qty = p->qty;
    out->location = p->location == PL_NONE ? NULL : idmap_key(r->site->locs, p->location);
    reason(r, &p->reason, &out->reason);
}

uint32_t plan_result_n_moves(const struct plan_result *r)
{
    return (r->stages & PLAN_REPLENISH) ? r->n_moves : 0;
}

void plan_result_move(const struct plan_result *r, uint32_t i, struct plan_move_info *out)
{
    assert(i < plan_result_n_moves(r));
    const struct pl_move *m = &r->moves[i];
    out->rule = m->rule;
    out->stock = m->quant == PL_NONE ? PLAN_NONE : m->quant;
    out->to = idmap_key(r->site->locs, m->to);
    out->qty = m->qty;
    reason(r, &m->reason, &out->reason);
}
