/* Reservation: order lines take stock from quants in the removal order of their product's
 * category (FIFO, LIFO, FEFO, closest), lot-specific lines take their lot only, what is short
 * becomes a backorder with its cause; and the short-pick path that releases, marks missing and
 * re-reserves. The quant index comes from pl_index (world.c). */
#include "internal.h"

#include "base/err.h"

#include <string.h>

/* The earliest expiry day a line may take: not expired today, and not expiring before the
 * order's ship day plus the product's margin (a quant expiring on exactly that day is fine). */
static int32_t min_expiry(const struct pl_world *w, const struct pl_line *ln)
{
    int64_t d =
        (int64_t)w->orders[ln->order].ship_day + w->products[ln->product].expiry_margin_days;
    if (d < w->today)
        d = w->today;
    return d > INT32_MAX ? INT32_MAX : (int32_t)d;
}

static struct pl_reason alloc_reason(const struct pl_world *w, const struct pl_line *ln,
                                     uint32_t qi, int32_t min_exp, unsigned flags)
{
    const struct pl_quant *q = &w->quants[qi];
    if (ln->lot != PL_NONE)
        return reason__make(PL_R_LOT_REQUESTED, flags, qi, ln->lot, 0);
    switch (w->products[ln->product].removal) {
    case PL_FIFO:
        return reason__make(PL_R_FIFO_OLDEST, flags, qi, q->in_date_s, 0);
    case PL_LIFO:
        return reason__make(PL_R_LIFO_NEWEST, flags, qi, q->in_date_s, 0);
    case PL_FEFO:
        return reason__make(PL_R_FEFO_EARLIEST_EXPIRY, flags, qi, q->expiry_day, min_exp);
    default:
        return reason__make(PL_R_CLOSEST_PICK_SEQ, flags, qi, w->locations[q->location].pick_seq,
                            0);
    }
}

/* First position in [s, e) whose quant expires on or after min_exp (FEFO runs are sorted by
 * expiry). */
static uint32_t fefo_start(const struct pl_workspace *ws, uint32_t s, uint32_t e, int32_t min_exp)
{
    while (s < e) {
        uint32_t mid = s + (e - s) / 2;
        if (ws->qexp[mid] < min_exp)
            s = mid + 1;
        else
            e = mid;
    }
    return s;
}

static bool lot_in_index(const struct pl_workspace *ws, const struct pl_world *w, uint32_t s,
                         uint32_t e, uint32_t lot)
{
    for (uint32_t i = s; i < e; i++)
        if (w->quants[ws->qpos[i]].lot == lot)
            return true;
    return false;
}

/* Why a line stays short after `got` units: the first cause that applies, in the order lot
 * missing, expiry, nothing in stock locations, everything reserved. */
static struct pl_reason short_cause(const struct pl_workspace *ws, const struct pl_world *w,
                                    const struct pl_line *ln, int64_t got, bool expiry_skipped,
                                    int32_t min_exp, unsigned flags)
{
    uint32_t p = ln->product, s = ws->pstart[p], e = ws->pstart[p + 1] - 1;
    if (ln->lot != PL_NONE && !lot_in_index(ws, w, s, e, ln->lot))
        return reason__make(PL_R_SHORT_LOT_NOT_FOUND, flags, ln->lot, got, 0);
    if (expiry_skipped || (ws->prod_stock[p] == 0 && ws->prod_expired[p] > 0))
        return reason__make(PL_R_SHORT_EXPIRED_ONLY, flags, PL_NONE, got, min_exp);
    if (ws->prod_stock[p] == 0 && ws->prod_nonstock[p] > 0)
        return reason__make(PL_R_SHORT_NON_STOCK_ONLY, flags, PL_NONE, got, ws->prod_nonstock[p]);
    if (ws->prod_stock[p] == 0)
        return reason__make(PL_R_SHORT_NO_STOCK, flags, PL_NONE, got, 0);
    return reason__make(PL_R_SHORT_RESERVED, flags, PL_NONE, got, ws->prod_stock[p]);
}

/* Reserves up to qty units for `line`, appending to out. Returns 0 with *got set, or
 * WCS_E_EXHAUSTED when out->allocs is full (what was appended stays for the caller to undo). */
static int reserve_line(struct pl_workspace *ws, struct pl_world *w, uint32_t line, int64_t qty,
                        unsigned flags, struct pl_reserve_out *out, int64_t *got_out,
                        struct pl_reason *cause)
{
    const struct pl_line *ln = &w->lines[line];
    const struct pl_product *p = &w->products[ln->product];
    uint32_t s = ws->pstart[ln->product], e = ws->pstart[ln->product + 1] - 1;
    int32_t min_exp = min_expiry(w, ln);
    bool expiry_skipped = false;
    int64_t got = 0;
    uint32_t i;

    if (p->removal == PL_FEFO && ln->lot == PL_NONE) {
        uint32_t start = fefo_start(ws, s, e, min_exp);
        /* Positions before start expire too early; one with free stock there means stock was
         * passed over for its expiry. Empty ones met on the way are skipped for good. */
        for (uint32_t j = index__find(ws->qnext, s); j < start && !expiry_skipped;) {
            const struct pl_quant *q = &w->quants[ws->qpos[j]];
            if (quant__avail(q) > 0 && q->missing == 0) {
                expiry_skipped = true;
            } else {
                ws->qnext[j] = j + 1;
                j = index__find(ws->qnext, j + 1);
            }
        }
        i = index__find(ws->qnext, start);
    } else {
        i = index__find(ws->qnext, s);
    }
    while (i < e && got < qty) {
        uint32_t qi = ws->qpos[i];
        struct pl_quant *q = &w->quants[qi];
        int64_t avail = quant__avail(q), take;
        if (avail <= 0 || q->missing > 0) {
            ws->qnext[i] = i + 1; /* never a source again in this index */
            i = index__find(ws->qnext, i + 1);
            continue;
        }
        if (ln->lot != PL_NONE && q->lot != ln->lot) {
            i = index__find(ws->qnext, i + 1);
            continue;
        }
        if (q->expiry_day != PL_NO_EXPIRY && q->expiry_day < min_exp) {
            expiry_skipped = true;
            i = index__find(ws->qnext, i + 1);
            continue;
        }
        if (out->n_allocs >= out->allocs_cap) {
            *got_out = got;
            return WCS_E_EXHAUSTED;
        }
        take = avail < qty - got ? avail : qty - got;
        q->reserved += take;
        got += take;
        struct pl_alloc *a = &out->allocs[out->n_allocs++];
        a->line = line;
        a->quant = qi;
        a->qty = take;
        a->reason = alloc_reason(w, ln, qi, min_exp, flags);
        if (take == avail)
            ws->qnext[i] = i + 1;
        i = index__find(ws->qnext, i + 1);
    }
    *got_out = got;
    if (got < qty)
        *cause = short_cause(ws, w, ln, got, expiry_skipped, min_exp, flags);
    return 0;
}

static int add_backorder(struct pl_reserve_out *out, uint32_t line, int64_t qty,
                         const struct pl_reason *cause)
{
    if (out->n_backorders >= out->backorders_cap)
        return WCS_E_EXHAUSTED;
    struct pl_backorder *b = &out->backorders[out->n_backorders++];
    b->line = line;
    b->pad = 0;
    b->qty = qty;
    b->reason = *cause;
    return 0;
}

void pl_reserve_bounds(const struct pl_world *w, uint32_t *allocs, uint32_t *backorders)
{
    /* Every allocation but a line's last empties its quant, and a quant empties once. */
    *allocs = w->n_lines + w->n_quants;
    *backorders = w->n_lines;
}

static int reserve_pass(struct pl_workspace *ws, struct pl_world *w, struct pl_reserve_out *out,
                        bool urgent)
{
    for (uint32_t k = 0; k < w->n_orders; k++) {
        const struct pl_order *o = &w->orders[ws->ord_seq[k]];
        if (urgent && !ws->ord_urgent[ws->ord_seq[k]])
            continue;
        for (uint32_t l = o->first_line; l < o->first_line + o->n_lines; l++) {
            int64_t got;
            struct pl_reason cause;
            int rc;
            if ((w->lines[l].urgent != 0) != urgent)
                continue;
            rc = reserve_line(ws, w, l, w->lines[l].qty, 0, out, &got, &cause);
            if (rc)
                return rc;
            if (got < w->lines[l].qty &&
                (rc = add_backorder(out, l, w->lines[l].qty - got, &cause)))
                return rc;
        }
    }
    return 0;
}

int pl_reserve(struct pl_workspace *ws, struct pl_world *w, struct pl_reserve_out *out)
{
    int rc;
    ws__check(ws, w);
    if (!ws->indexed)
        return WCS_E_STATE;
    out->n_allocs = 0;
    out->n_backorders = 0;
    /* Reservation sequence: priority (high first), cutoff, order index. */
    for (uint32_t i = 0; i < w->n_orders; i++) {
        const struct pl_order *o = &w->orders[i];
        ws->rec[i].k1 = ((uint64_t)(255u - o->priority) << 40) | (uint64_t)o->cutoff_min;
        ws->rec[i].k2 = 0;
        ws->rec[i].idx = i;
        ws->rec[i].pad = 0;
    }
    sort__records(ws->rec, ws->rec_tmp, w->n_orders);
    for (uint32_t i = 0; i < w->n_orders; i++)
        ws->ord_seq[i] = ws->rec[i].idx;
    memset(ws->ord_urgent, 0, w->n_orders);
    for (uint32_t l = 0; l < w->n_lines; l++)
        if (w->lines[l].urgent)
            ws->ord_urgent[w->lines[l].order] = 1;

    rc = reserve_pass(ws, w, out, true);
    if (!rc)
        rc = reserve_pass(ws, w, out, false);
    if (rc) {
        /* Undo: give back what was taken, and rebuild the index the pass consumed. */
        for (uint32_t i = 0; i < out->n_allocs; i++)
            w->quants[out->allocs[i].quant].reserved -= out->allocs[i].qty;
        out->n_allocs = 0;
        out->n_backorders = 0;
        pl_index(ws, w);
        return rc;
    }
    return 0;
}

int pl_short_pick(struct pl_workspace *ws, struct pl_world *w, struct pl_reserve_out *out,
                  uint32_t alloc, int64_t found, struct pl_reason *event)
{
    struct pl_alloc *a;
    struct pl_quant *q;
    uint32_t p, worst;
    int64_t missing, got;
    struct pl_reason cause;
    ws__check(ws, w);
    if (!ws->indexed)
        return WCS_E_STATE;
    if (alloc >= out->n_allocs)
        return WCS_E_RANGE;
    a = &out->allocs[alloc];
    if (found < 0 || found >= a->qty)
        return WCS_E_RANGE;
    q = &w->quants[a->quant];
    p = q->product;
    /* All or nothing: room for the worst case (one allocation per indexed quant of the product,
     * and one backorder) before anything changes. */
    worst = ws->pstart[p + 1] - ws->pstart[p];
    if (out->allocs_cap - out->n_allocs < worst || out->n_backorders >= out->backorders_cap)
        return WCS_E_EXHAUSTED;

    missing = a->qty - found;
    q->on_hand -= missing;
    q->reserved -= missing;
    q->missing += missing;
    a->qty = found;
    *event = reason__make(PL_R_QUANT_MISSING, PL_RF_AFTER_SHORT_PICK, a->quant, missing, found);

    uint32_t line = a->line; /* `a` may move no more, but keep the value, not the pointer */
    int rc = reserve_line(ws, w, line, missing, PL_RF_AFTER_SHORT_PICK, out, &got, &cause);
    PL_ASSERT(rc == 0);
    if (got < missing)
        add_backorder(out, line, missing - got, &cause);
    return 0;
}
