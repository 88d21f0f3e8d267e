/* Waves: released, reserved orders grouped into waves against carrier cutoffs. Orders that
 * cannot make their cutoff go first and are flagged late; then cutoff, priority and zone order
 * the rest, and a wave closes when the next order would break a line, unit, order (pack
 * stations) or carrier (sorter lanes) limit. */
#include "internal.h"

#include "base/err.h"

#include <string.h>

/* Per order: reserved lines, units, weight and volume from the allocations. */
static void order_totals(struct pl_workspace *ws, const struct pl_world *w,
                         const struct pl_alloc *allocs, uint32_t n_allocs)
{
    memset(ws->ord_lines, 0, sizeof(uint32_t) * w->n_orders);
    memset(ws->ord_units, 0, sizeof(int64_t) * w->n_orders);
    memset(ws->ord_weight_g, 0, sizeof(int64_t) * w->n_orders);
    memset(ws->ord_volume_cm3, 0, sizeof(int64_t) * w->n_orders);
    memset(ws->line_mark, 0, w->n_lines);
    for (uint32_t i = 0; i < n_allocs; i++) {
        const struct pl_alloc *a = &allocs[i];
        const struct pl_product *p;
        uint32_t o;
        if (a->qty <= 0)
            continue;
        o = w->lines[a->line].order;
        p = &w->products[w->lines[a->line].product];
        if (!ws->line_mark[a->line]) {
            ws->line_mark[a->line] = 1;
            ws->ord_lines[o]++;
        }
        ws->ord_units[o] += a->qty;
        ws->ord_weight_g[o] += a->qty * (int64_t)p->weight_g;
        ws->ord_volume_cm3[o] += a->qty * (int64_t)p->volume_cm3;
    }
}

struct open_wave {
    uint32_t first, orders, lines, carriers, late;
    int64_t units, cutoff_min;
    uint16_t zone;
};

/* Why order o cannot join the open wave, or PL_R_NONE. *a, *b get the figures. */
static unsigned wave_refuses(const struct pl_world *w, const struct pl_workspace *ws,
                             const struct open_wave *cw, uint32_t wave_id, uint32_t o, int64_t *a,
                             int64_t *b)
{
    const struct pl_wave_rules *r = &w->wave;
    const struct pl_order *ord = &w->orders[o];
    bool new_carrier = ws->carrier_stamp[ord->carrier] != wave_id + 1;
    if (cw->orders && r->split_by_cutoff && ord->cutoff_min != cw->cutoff_min) {
        *a = ord->cutoff_min;
        *b = cw->cutoff_min;
        return PL_R_WAVE_CUTOFF_CHANGE;
    }
    if (cw->orders && r->split_by_zone && ord->zone_hint != cw->zone) {
        *a = ord->zone_hint;
        *b = cw->zone;
        return PL_R_WAVE_ZONE_CHANGE;
    }
    if (r->max_lines && cw->lines + ws->ord_lines[o] > r->max_lines) {
        *a = (int64_t)cw->lines + ws->ord_lines[o];
        *b = r->max_lines;
        return PL_R_WAVE_FULL_LINES;
    }
    if (r->max_units && cw->units + ws->ord_units[o] > r->max_units) {
        *a = cw->units + ws->ord_units[o];
        *b = r->max_units;
        return PL_R_WAVE_FULL_UNITS;
    }
    if (r->max_orders && cw->orders + 1 > r->max_orders) {
        *a = (int64_t)cw->orders + 1;
        *b = r->max_orders;
        return PL_R_WAVE_FULL_ORDERS;
    }
    if (r->max_carriers && new_carrier && cw->carriers + 1 > r->max_carriers) {
        *a = (int64_t)cw->carriers + 1;
        *b = r->max_carriers;
        return PL_R_WAVE_FULL_LANES;
    }
    return PL_R_NONE;
}

static int close_wave(struct pl_wave_out *out, const struct open_wave *cw, struct pl_reason why)
{
    struct pl_wave *wv;
    if (out->n_waves >= out->waves_cap)
        return WCS_E_EXHAUSTED;
    wv = &out->waves[out->n_waves++];
    wv->first = cw->first;
    wv->n_orders = cw->orders;
    wv->lines = cw->lines;
    wv->carriers = cw->carriers;
    wv->units = cw->units;
    wv->late_orders = cw->late;
    wv->pad = 0;
    wv->reason = why;
    return 0;
}

static void join_wave(struct pl_workspace *ws, const struct pl_world *w, struct pl_wave_out *out,
                      struct open_wave *cw, uint32_t o, bool late)
{
    const struct pl_order *ord = &w->orders[o];
    uint32_t wave_id = out->n_waves;
    if (cw->orders == 0) {
        cw->cutoff_min = ord->cutoff_min;
        cw->zone = ord->zone_hint;
    }
    if (ws->carrier_stamp[ord->carrier] != wave_id + 1) {
        ws->carrier_stamp[ord->carrier] = wave_id + 1;
        cw->carriers++;
    }
    cw->orders++;
    cw->lines += ws->ord_lines[o];
    cw->units += ws->ord_units[o];
    cw->late += late;
    out->wave_orders[out->n_waved++] = o;
    out->orders[o].wave = wave_id;
}

int pl_wave(struct pl_workspace *ws, const struct pl_world *w, const struct pl_alloc *allocs,
            uint32_t n_allocs, struct pl_wave_out *out)
{
    const struct pl_wave_rules *r = &w->wave;
    int64_t dock_min = r->now_min + r->lead_min;
    uint32_t n = 0;
    struct open_wave cw;
    int rc;

    ws__check(ws, w);
    order_totals(ws, w, allocs, n_allocs);
    memset(ws->carrier_stamp, 0, sizeof(uint32_t) * w->n_carriers);
    out->n_waves = 0;
    out->n_waved = 0;
    for (uint32_t o = 0; o < w->n_orders; o++) {
        const struct pl_order *ord = &w->orders[o];
        bool late = dock_min > ord->cutoff_min;
        out->orders[o].wave = PL_NONE;
        out->orders[o].pad = 0;
        if (ws->ord_lines[o] == 0) {
            out->orders[o].reason =
                reason__make(PL_R_WAVE_NOTHING_RESERVED, 0, PL_NONE, ord->cutoff_min, 0);
            continue;
        }
        out->orders[o].reason = late ? reason__make(PL_R_WAVE_LATE_FOR_CUTOFF, PL_RF_LATE,
                                                    ord->carrier, ord->cutoff_min, dock_min)
                                     : reason__make(PL_R_WAVE_BY_CUTOFF, 0, ord->carrier,
                                                    ord->cutoff_min, ord->cutoff_min - dock_min);
        /* late first, cutoff, priority (high first); then zone hint, order index */
        ws->rec[n].k1 = ((uint64_t)!late << 63) | ((uint64_t)ord->cutoff_min << 8) |
                        (uint64_t)(255u - ord->priority);
        ws->rec[n].k2 = (uint64_t)ord->zone_hint << 32;
        ws->rec[n].idx = o;
        ws->rec[n].pad = 0;
        n++;
    }
    sort__records(ws->rec, ws->rec_tmp, n);

    memset(&cw, 0, sizeof(cw));
    for (uint32_t k = 0; k < n; k++) {
        uint32_t o = ws->rec[k].idx;
        bool late = (out->orders[o].reason.flags & PL_RF_LATE) != 0;
        int64_t a = 0, b = 0;
        unsigned why = wave_refuses(w, ws, &cw, out->n_waves, o, &a, &b);
        if (why != PL_R_NONE && cw.orders) {
            if ((rc = close_wave(out, &cw, reason__make(why, 0, o, a, b))))
                return rc;
            memset(&cw, 0, sizeof(cw));
            cw.first = out->n_waved;
            why = wave_refuses(w, ws, &cw, out->n_waves, o, &a, &b);
        }
        join_wave(ws, w, out, &cw, o, late);
        if (why != PL_R_NONE) {
            /* Larger than an empty wave: it ships alone rather than never. */
            out->orders[o].reason = reason__make(PL_R_WAVE_ORDER_TOO_BIG, late ? PL_RF_LATE : 0,
                                                 PL_NONE, ws->ord_lines[o], ws->ord_units[o]);
            if ((rc = close_wave(out, &cw, reason__make(why, 0, o, a, b))))
                return rc;
            memset(&cw, 0, sizeof(cw));
            cw.first = out->n_waved;
        }
    }
    if (cw.orders && (rc = close_wave(out, &cw, reason__make(PL_R_WAVE_LAST, 0, PL_NONE, 0, 0))))
        return rc;
    return 0;
}
