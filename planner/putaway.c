/* Putaway: locations for received goods. The best-matching putaway rule names a subtree; inside
 * it, pick faces of the product that need stock come first, then locations already holding the
 * same product and lot, then the same product, then empty ones, within capacity (units,
 * weight and volume). */
#include "internal.h"

#include "base/err.h"

#include <string.h>

enum cls { CLS_FACE, CLS_SAME_LOT, CLS_SAME_PRODUCT, CLS_EMPTY, CLS_COUNT };

static const unsigned cls_reason[CLS_COUNT] = {PL_R_PUTAWAY_PICK_FACE, PL_R_PUTAWAY_SAME_LOT,
                                               PL_R_PUTAWAY_SAME_PRODUCT, PL_R_PUTAWAY_EMPTY};

uint32_t pl_putaway_bound(const struct pl_world *w, uint32_t n_receipts)
{
    /* Each suggestion but a receipt's last fills its location, and a location fills once;
     * each receipt may also end with one unplaced record. */
    return 2u * n_receipts + w->n_locations;
}

/* The most specific rule matching the receipt (product 4, category 2, package type 1), lowest
 * index on a tie; PL_NONE if none. */
static uint32_t best_rule(const struct pl_world *w, const struct pl_receipt *r)
{
    uint32_t best = PL_NONE;
    int best_score = -1;
    uint32_t category = w->products[r->product].category;
    for (uint32_t i = 0; i < w->n_putaway_rules; i++) {
        const struct pl_putaway_rule *pr = &w->putaway_rules[i];
        int score = 0;
        if (pr->product != PL_NONE) {
            if (pr->product != r->product)
                continue;
            score += 4;
        }
        if (pr->category != PL_NONE) {
            if (pr->category != category)
                continue;
            score += 2;
        }
        if (pr->package_type != PL_NONE) {
            if (pr->package_type != r->package_type)
                continue;
            score += 1;
        }
        if (score > best_score) {
            best_score = score;
            best = i;
        }
    }
    return best;
}

/* Units held at location l of product p (and of lot `lot` when it is not PL_MIXED). */
static int64_t units_at(const struct pl_world *w, uint32_t l, uint32_t p, uint32_t lot)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < w->n_quants; i++) {
        const struct pl_quant *q = &w->quants[i];
        if (q->location == l && q->product == p && (lot == PL_MIXED || q->lot == lot))
            n += q->on_hand;
    }
    return n;
}

uint32_t loc__face_rule(const struct pl_workspace *ws, const struct pl_world *w, uint32_t l,
                        uint32_t p)
{
    for (uint32_t r = ws->loc_rule[l]; r != PL_NONE; r = ws->rule_next[r])
        if (w->replen_rules[r].product == p)
            return r;
    return PL_NONE;
}

/* The class of location l for product p, lot `lot`, or CLS_COUNT if it must not be used. */
static enum cls classify(const struct pl_workspace *ws, const struct pl_world *w, uint32_t l,
                         uint32_t p, uint32_t lot)
{
    const struct pl_location *loc = &w->locations[l];
    if (!loc__is_source(loc))
        return CLS_COUNT;
    if (loc->pick_face || ws->loc_rule[l] != PL_NONE)
        return loc__face_rule(ws, w, l, p) != PL_NONE ? CLS_FACE : CLS_COUNT;
    if (ws->loc_product[l] == PL_NONE)
        return CLS_EMPTY;
    if (ws->loc_product[l] != p)
        return CLS_COUNT; /* another product, or several */
    return ws->loc_lot[l] == lot ? CLS_SAME_LOT : CLS_SAME_PRODUCT;
}

/* Units that fit into `free` of a limit at `per_unit` each (never negative). */
static int64_t fit(int64_t free, int64_t per_unit)
{
    return free > 0 ? free / per_unit : 0;
}

/* Units of a product (unit weight unit_g, unit volume unit_v) location l can still take: the
 * least of what its unit, weight and volume limits leave (a limit of 0 is none; a product
 * without a weight or volume is not held back by that limit). INT64_MAX when no limit applies.
 * *limit gets the limit that sets it (enum pl_cap_limit). */
static int64_t room(const struct pl_workspace *ws, const struct pl_world *w, uint32_t l,
                    int64_t unit_g, int64_t unit_v, unsigned *limit)
{
    const struct pl_location *loc = &w->locations[l];
    int64_t r = INT64_MAX, k;
    *limit = PL_CAP_NONE;
    if (loc->capacity_units) {
        r = fit((int64_t)loc->capacity_units - ws->loc_used_units[l], 1);
        *limit = PL_CAP_UNITS;
    }
    if (loc->capacity_weight_g && unit_g > 0 &&
        (k = fit((int64_t)loc->capacity_weight_g - ws->loc_used_g[l], unit_g)) < r) {
        r = k;
        *limit = PL_CAP_WEIGHT;
    }
    if (loc->capacity_cm3 && unit_v > 0 &&
        (k = fit((int64_t)loc->capacity_cm3 - ws->loc_used_cm3[l], unit_v)) < r) {
        r = k;
        *limit = PL_CAP_VOLUME;
    }
    return r;
}

void loc__scan(struct pl_workspace *ws, const struct pl_world *w)
{
    memset(ws->loc_used_cm3, 0, sizeof(int64_t) * w->n_locations);
    memset(ws->loc_used_units, 0, sizeof(int64_t) * w->n_locations);
    memset(ws->loc_used_g, 0, sizeof(int64_t) * w->n_locations);
    for (uint32_t l = 0; l < w->n_locations; l++) {
        ws->loc_product[l] = PL_NONE;
        ws->loc_lot[l] = PL_NONE;
        ws->loc_rule[l] = PL_NONE;
    }
    for (uint32_t i = 0; i < w->n_quants; i++) {
        const struct pl_quant *q = &w->quants[i];
        uint32_t l = q->location;
        if (q->on_hand <= 0)
            continue;
        ws->loc_used_cm3[l] += q->on_hand * (int64_t)w->products[q->product].volume_cm3;
        ws->loc_used_units[l] += q->on_hand;
        ws->loc_used_g[l] += q->on_hand * (int64_t)w->products[q->product].weight_g;
        if (ws->loc_product[l] == PL_NONE) {
            ws->loc_product[l] = q->product;
            ws->loc_lot[l] = q->lot;
            continue;
        }
        if (ws->loc_product[l] != q->product)
            ws->loc_product[l] = PL_MIXED;
        if (ws->loc_lot[l] != q->lot)
            ws->loc_lot[l] = PL_MIXED;
    }
    /* Rules chained per location, lowest index first. */
    for (uint32_t r = w->n_replen_rules; r-- > 0;) {
        uint32_t l = w->replen_rules[r].location;
        ws->rule_next[r] = ws->loc_rule[l];
        ws->loc_rule[l] = r;
    }
    /* Units at each pick face of its rule's product; suggestions add to them. */
    memset(ws->rule_scratch, 0, sizeof(int64_t) * w->n_replen_rules);
    for (uint32_t i = 0; i < w->n_quants; i++) {
        const struct pl_quant *q = &w->quants[i];
        uint32_t r = loc__face_rule(ws, w, q->location, q->product);
        if (r != PL_NONE)
            ws->rule_scratch[r] += q->on_hand;
    }
}

/* Locations in pre order: a subtree is one contiguous run of loc_by_pre. */
static void order_by_pre(struct pl_workspace *ws, const struct pl_world *w)
{
    uint32_t n = w->n_locations;
    uint32_t *a = ws->loc_by_pre;
    for (uint32_t i = 0; i < n; i++)
        a[i] = i;
        /* heap sort by pre, then index */
#define LESS(x, y)                                                                                 \
    (w->locations[x].pre < w->locations[y].pre ||                                                  \
     (w->locations[x].pre == w->locations[y].pre && (x) < (y)))
    for (uint32_t start = n / 2; start-- > 0;) {
        uint32_t root = start;
        for (;;) {
            uint32_t c = 2 * root + 1;
            if (c >= n)
                break;
            if (c + 1 < n && LESS(a[c], a[c + 1]))
                c++;
            if (!LESS(a[root], a[c]))
                break;
            uint32_t t = a[root];
            a[root] = a[c];
            a[c] = t;
            root = c;
        }
    }
    for (uint32_t end = n; end-- > 1;) {
        uint32_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        uint32_t root = 0;
        for (;;) {
            uint32_t c = 2 * root + 1;
            if (c >= end)
                break;
            if (c + 1 < end && LESS(a[c], a[c + 1]))
                c++;
            if (!LESS(a[root], a[c]))
                break;
            t = a[root];
            a[root] = a[c];
            a[c] = t;
            root = c;
        }
    }
#undef LESS
}

int pl_putaway(struct pl_workspace *ws, const struct pl_world *w, const struct pl_receipt *rc,
               uint32_t n, struct pl_putaway *out, uint32_t cap, uint32_t *n_out)
{
    uint32_t k = 0;
    ws__check(ws, w);
    for (uint32_t i = 0; i < n; i++)
        if (rc[i].product >= w->n_products || rc[i].qty <= 0 || rc[i].qty > ((int64_t)1 << 30))
            return WCS_E_RANGE;
    *n_out = 0;
    loc__scan(ws, w);
    order_by_pre(ws, w);
    for (uint32_t i = 0; i < n; i++) {
        const struct pl_receipt *r = &rc[i];
        int64_t unit_v = w->products[r->product].volume_cm3, rem = r->qty;
        int64_t unit_g = w->products[r->product].weight_g;
        uint32_t rule = best_rule(w, r);
        uint32_t lo = 0, hi = 0;
        if (rule != PL_NONE) {
            const struct pl_location *root = &w->locations[w->putaway_rules[rule].location];
            /* [lo, hi): the positions of loc_by_pre inside root's subtree */
            uint32_t a = 0, b = w->n_locations;
            while (a < b) {
                uint32_t m = a + (b - a) / 2;
                if (w->locations[ws->loc_by_pre[m]].pre < root->pre)
                    a = m + 1;
                else
                    b = m;
            }
            lo = hi = a;
            while (hi < w->n_locations && w->locations[ws->loc_by_pre[hi]].pre < root->post)
                hi++;
        }
        for (int c = 0; c < CLS_COUNT && rem > 0; c++) {
            for (;;) {
                /* the best location of class c: lowest pick_seq, then index */
                uint32_t best = PL_NONE;
                int64_t best_room = 0, face_units = 0, face_max = 0;
                uint32_t face = PL_NONE;
                unsigned best_limit = PL_CAP_NONE;
                for (uint32_t pos = lo; pos < hi; pos++) {
                    uint32_t l = ws->loc_by_pre[pos];
                    int64_t rm;
                    uint32_t fr = PL_NONE;
                    int64_t fu = 0;
                    unsigned limit;
                    if ((int)classify(ws, w, l, r->product, r->lot) != c)
                        continue;
                    rm = room(ws, w, l, unit_g, unit_v, &limit);
                    if (c == CLS_FACE) {
                        fr = loc__face_rule(ws, w, l, r->product);
                        fu = ws->rule_scratch[fr];
                        int64_t need = w->replen_rules[fr].max_qty - fu;
                        rm = need < rm ? need : rm;
                    }
                    if (rm <= 0)
                        continue;
                    if (best == PL_NONE || w->locations[l].pick_seq < w->locations[best].pick_seq ||
                        (w->locations[l].pick_seq == w->locations[best].pick_seq && l < best)) {
                        best = l;
                        best_room = rm;
                        best_limit = limit;
                        face = fr;
                        face_units = fu;
                        face_max = fr != PL_NONE ? w->replen_rules[fr].max_qty : 0;
                    }
                }
                if (best == PL_NONE)
                    break;
                if (k >= cap)
                    return WCS_E_EXHAUSTED;
                int64_t take = best_room < rem ? best_room : rem;
                struct pl_putaway *pa = &out[k++];
                pa->receipt = i;
                pa->location = best;
                pa->qty = take;
                switch (c) {
                case CLS_FACE:
                    pa->reason = reason__make(cls_reason[c], 0, face, face_units, face_max);
                    ws->rule_scratch[face] += take;
                    break;
                case CLS_EMPTY:
                    pa->reason =
                        reason__make(cls_reason[c], 0, rule,
                                     best_limit == PL_CAP_NONE ? -1 : best_room, best_limit);
                    break;
                default:
                    pa->reason = reason__make(
                        cls_reason[c], 0, rule,
                        units_at(w, best, r->product, c == CLS_SAME_LOT ? r->lot : PL_MIXED), 0);
                    break;
                }
                ws->loc_used_cm3[best] += take * unit_v;
                ws->loc_used_units[best] += take;
                ws->loc_used_g[best] += take * unit_g;
                if (ws->loc_product[best] == PL_NONE) {
                    ws->loc_product[best] = r->product;
                    ws->loc_lot[best] = r->lot;
                } else if (ws->loc_lot[best] != r->lot) {
                    ws->loc_lot[best] = PL_MIXED;
                }
                rem -= take;
                if (rem == 0)
                    break;
            }
        }
        if (rem > 0) {
            if (k >= cap)
                return WCS_E_EXHAUSTED;
            struct pl_putaway *pa = &out[k++];
            pa->receipt = i;
            pa->location = PL_NONE;
            pa->qty = rem;
            pa->reason = rule == PL_NONE ? reason__make(PL_R_PUTAWAY_NO_RULE, 0, PL_NONE, rem, 0)
                                         : reason__make(PL_R_PUTAWAY_NO_CAPACITY, 0, rule, rem, 0);
        }
    }
    *n_out = k;
    return 0;
}
