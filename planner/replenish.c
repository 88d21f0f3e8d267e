/* Replenishment: min/max top-ups of pick faces from reserve stock in multiples, from each
 * rule's source subtree (optionally ahead of a released wave's demand), and purchase
 * suggestions for products whose free stock falls below min, dated by the supplier's lead
 * time. */
#include "internal.h"

#include "base/err.h"

#include <string.h>

uint32_t pl_replenish_bound(const struct pl_world *w)
{
    /* Per rule: moves that each empty a source quant (a quant empties once), one last move and
     * one PL_R_REPLEN_NO_SOURCE record. */
    return 2u * w->n_replen_rules + w->n_quants;
}

/* A quant reserve stock may come from for a rule with source subtree `src` (NULL: any): a
 * source that is no pick face, inside src, not expired, not missing, with stock free. */
static bool is_reserve(const struct pl_workspace *ws, const struct pl_world *w,
                       const struct pl_location *src, const struct pl_quant *q)
{
    const struct pl_location *l = &w->locations[q->location];
    return !l->pick_face && ws->loc_rule[q->location] == PL_NONE && q->missing == 0 &&
           (!src || (src->pre <= l->pre && l->pre < src->post)) &&
           (q->expiry_day == PL_NO_EXPIRY || q->expiry_day >= w->today) && quant__avail(q) > 0;
}

static void wave_demand(struct pl_workspace *ws, const struct pl_world *w,
                        const struct pl_alloc *allocs, uint32_t n_allocs,
                        const struct pl_wave_out *waves, uint32_t wave)
{
    memset(ws->rule_demand, 0, sizeof(int64_t) * w->n_replen_rules);
    if (!waves || wave == PL_NONE)
        return;
    for (uint32_t i = 0; i < n_allocs; i++) {
        const struct pl_quant *q = &w->quants[allocs[i].quant];
        uint32_t r;
        if (allocs[i].qty <= 0 || waves->orders[w->lines[allocs[i].line].order].wave != wave)
            continue;
        r = loc__face_rule(ws, w, q->location, q->product);
        if (r != PL_NONE)
            ws->rule_demand[r] += allocs[i].qty;
    }
}

static void undo(struct pl_world *w, const struct pl_move *out, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++)
        if (out[i].quant != PL_NONE)
            w->quants[out[i].quant].reserved -= out[i].qty;
}

int pl_replenish(struct pl_workspace *ws, struct pl_world *w, const struct pl_alloc *allocs,
                 uint32_t n_allocs, const struct pl_wave_out *waves, uint32_t wave,
                 struct pl_move *out, uint32_t cap, uint32_t *n_out)
{
    uint32_t k = 0;
    ws__check(ws, w);
    if (!ws->indexed)
        return WCS_E_STATE;
    *n_out = 0;
    loc__scan(ws, w);
    wave_demand(ws, w, allocs, n_allocs, waves, wave);
    for (uint32_t ri = 0; ri < w->n_replen_rules; ri++) {
        const struct pl_replen_rule *r = &w->replen_rules[ri];
        int64_t units = ws->rule_scratch[ri], demand = ws->rule_demand[ri];
        int64_t want, found = 0, movable;
        uint32_t s = ws->pstart[r->product], e = ws->pstart[r->product + 1] - 1;
        const struct pl_location *src = r->source == PL_NONE ? NULL : &w->locations[r->source];
        struct pl_reason why;
        if (loc__face_rule(ws, w, r->location, r->product) != ri)
            continue; /* a duplicate rule for the same face: the first one governs */
        if (units - demand >= r->min_qty)
            continue;
        want = (r->max_qty - units) / r->multiple * r->multiple;
        if (want <= 0)
            continue;
        why = units < r->min_qty && demand == 0
                  ? reason__make(PL_R_REPLEN_BELOW_MIN, 0, ri, units, r->min_qty)
                  : reason__make(PL_R_REPLEN_WAVE_DEMAND, 0, ri, units, demand);
        for (uint32_t i = index__find(ws->qnext, s); i < e && found < want;
             i = index__find(ws->qnext, i + 1))
            if (is_reserve(ws, w, src, &w->quants[ws->qpos[i]]))
                found += quant__avail(&w->quants[ws->qpos[i]]);
        movable = (found < want ? found : want) / r->multiple * r->multiple;
        for (uint32_t i = index__find(ws->qnext, s); i < e && movable > 0;
             i = index__find(ws->qnext, i + 1)) {
            struct pl_quant *q = &w->quants[ws->qpos[i]];
            int64_t take;
            if (!is_reserve(ws, w, src, q))
                continue;
            if (k >= cap) {
                undo(w, out, k);
                return WCS_E_EXHAUSTED;
            }
            take = quant__avail(q) < movable ? quant__avail(q) : movable;
            q->reserved += take;
            out[k].rule = ri;
            out[k].quant = ws->qpos[i];
            out[k].to = r->location;
            out[k].pad = 0;
            out[k].qty = take;
            out[k].reason = why;
            k++;
            movable -= take;
            want -= take;
            found -= take;
        }
        if (want > 0 && found < want) {
            /* Short of reserve stock: say so, with what was wanted and what was there. */
            if (k >= cap) {
                undo(w, out, k);
                return WCS_E_EXHAUSTED;
            }
            out[k].rule = ri;
            out[k].quant = PL_NONE;
            out[k].to = r->location;
            out[k].pad = 0;
            out[k].qty = want;
            out[k].reason = reason__make(PL_R_REPLEN_NO_SOURCE, 0, ri, want, found);
            k++;
        }
    }
    *n_out = k;
    return 0;
}

int pl_purchase(struct pl_workspace *ws, const struct pl_world *w,
                const struct pl_backorder *backorders, uint32_t n_backorders,
                struct pl_purchase *out, uint32_t cap, uint32_t *n_out)
{
    uint32_t k = 0;
    int64_t *free_units = ws->prod_scratch;
    *n_out = 0;
    ws__check(ws, w);
    memset(free_units, 0, sizeof(int64_t) * w->n_products);
    for (uint32_t i = 0; i < w->n_quants; i++) {
        const struct pl_quant *q = &w->quants[i];
        if (!loc__is_source(&w->locations[q->location]))
            continue;
        if (q->expiry_day != PL_NO_EXPIRY && q->expiry_day < w->today)
            continue;
        free_units[q->product] += quant__avail(q);
    }
    for (uint32_t i = 0; i < n_backorders; i++)
        free_units[w->lines[backorders[i].line].product] -= backorders[i].qty;
    for (uint32_t ri = 0; ri < w->n_purchase_rules; ri++) {
        const struct pl_purchase_rule *r = &w->purchase_rules[ri];
        int64_t avail = free_units[r->product], qty;
        if (avail >= r->min_qty)
            continue;
        if (k >= cap)
            return WCS_E_EXHAUSTED;
        qty = (r->max_qty - avail + r->multiple - 1) / r->multiple * r->multiple;
        out[k].rule = ri;
        out[k].product = r->product;
        out[k].order_day = w->today;
        out[k].due_day = w->today + r->lead_days;
        out[k].qty = qty;
        out[k].reason = reason__make(PL_R_PURCHASE_BELOW_MIN, 0, ri, avail, r->min_qty);
        k++;
    }
    *n_out = k;
    return 0;
}
