/* Batches and pick paths: each wave is split into cart batches that respect the cart's totes,
 * weight and volume (an order whole on one cart where it fits an empty cart), then each batch's
 * picks are ordered along a serpentine walk (zones ascending, aisles ascending, alternate aisles
 * walked up and down) and numbered. */
#include "internal.h"

#include "base/err.h"

#include <string.h>

#define UNLIMITED INT64_MAX

struct batcher {
    const struct pl_world *w;
    struct pl_batch_out *out;
    bool count_only;
    int64_t max_w, max_v, totes, tote_v;
    uint32_t wave;
    /* the open cart */
    uint32_t first, picks, orders;
    int64_t totes_used, units, weight_g, volume_cm3;
};

static int64_t totes_for(int64_t volume_cm3, int64_t tote_v)
{
    return volume_cm3 <= 0 ? 1 : (volume_cm3 + tote_v - 1) / tote_v;
}

/* Emits a pick of qty units of the allocation at ao_list[k] of order `order`. */
static int emit_pick(struct batcher *b, const struct pl_workspace *ws, uint32_t k, uint32_t order,
                     int64_t qty, int64_t tote, uint16_t flags)
{
    const struct alloc_unit *u = &ws->ao_unit[k];
    if (!b->count_only) {
        struct pl_pick *pk;
        if (b->out->n_picks >= b->out->picks_cap)
            return WCS_E_EXHAUSTED;
        pk = &b->out->picks[b->out->n_picks];
        pk->alloc = ws->ao_list[k];
        pk->order = order;
        pk->quant = u->quant;
        pk->location = u->location;
        pk->batch = b->out->n_batches;
        pk->walk = 0;
        pk->tote = (uint16_t)tote;
        pk->flags = flags;
        pk->pad = 0;
        pk->qty = qty;
    }
    b->out->n_picks++;
    b->picks++;
    b->units += qty;
    b->weight_g += qty * (int64_t)u->weight_g;
    b->volume_cm3 += qty * (int64_t)u->volume_cm3;
    return 0;
}

static int close_cart(struct batcher *b, struct pl_reason why)
{
    if (b->picks == 0)
        return 0;
    if (!b->count_only) {
        struct pl_batch *bt;
        if (b->out->n_batches >= b->out->batches_cap)
            return WCS_E_EXHAUSTED;
        bt = &b->out->batches[b->out->n_batches];
        bt->wave = b->wave;
        bt->first = b->first;
        bt->n_picks = b->picks;
        bt->orders = b->orders;
        bt->totes = (uint32_t)b->totes_used;
        bt->pad = 0;
        bt->units = b->units;
        bt->weight_g = b->weight_g;
        bt->volume_cm3 = b->volume_cm3;
        bt->reason = why;
    }
    b->out->n_batches++;
    b->first = b->out->n_picks;
    b->picks = b->orders = 0;
    b->totes_used = b->units = b->weight_g = b->volume_cm3 = 0;
    return 0;
}

/* Why the open cart cannot take `totes` more totes, weight_g and volume_cm3; PL_R_NONE if it
 * can. */
static struct pl_reason refuses(const struct batcher *b, int64_t totes, int64_t weight_g,
                                int64_t volume_cm3)
{
    if (b->totes_used + totes > b->totes)
        return reason__make(PL_R_BATCH_FULL_TOTES, 0, PL_NONE, b->totes_used + totes, b->totes);
    if (weight_g > b->max_w - b->weight_g)
        return reason__make(PL_R_BATCH_FULL_WEIGHT, 0, PL_NONE, b->weight_g + weight_g, b->max_w);
    if (volume_cm3 > b->max_v - b->volume_cm3)
        return reason__make(PL_R_BATCH_FULL_VOLUME, 0, PL_NONE, b->volume_cm3 + volume_cm3,
                            b->max_v);
    return reason__make(PL_R_NONE, 0, PL_NONE, 0, 0);
}

/* Units of one product (unit_w, unit_v) the open cart can still take into an order part that
 * already holds part_v cm3 and is not yet counted in totes_used. */
static int64_t units_fit(const struct batcher *b, int64_t part_v, int64_t unit_w, int64_t unit_v)
{
    int64_t free_totes = b->totes - b->totes_used, u = UNLIMITED;
    if (free_totes < 1)
        return 0;
    if (unit_w > 0 && b->max_w != UNLIMITED) {
        int64_t k = (b->max_w - b->weight_g) / unit_w;
        u = k < u ? k : u;
    }
    if (unit_v > 0) {
        int64_t k = (b->max_v - b->volume_cm3) / unit_v;
        u = k < u ? k : u;
        k = (free_totes * b->tote_v - part_v) / unit_v;
        u = k < u ? k : u;
    }
    return u < 0 ? 0 : u;
}

static int add_whole(struct batcher *b, const struct pl_workspace *ws, uint32_t o, int64_t totes)
{
    int64_t tote = b->totes_used;
    int rc;
    b->orders++;
    b->totes_used += totes;
    for (uint32_t k = ws->ao_start[o]; k < ws->ao_start[o + 1]; k++)
        if ((rc = emit_pick(b, ws, k, o, ws->ao_unit[k].qty, tote, 0)))
            return rc;
    return 0;
}

/* An order larger than an empty cart: as many units as fit on each cart in turn. */
static int add_split(struct batcher *b, const struct pl_workspace *ws, uint32_t o)
{
    bool part_open = false;
    int64_t part_v = 0, part_tote = 0;
    int rc;
    for (uint32_t k = ws->ao_start[o]; k < ws->ao_start[o + 1]; k++) {
        uint32_t ai = ws->ao_list[k];
        const struct alloc_unit *p = &ws->ao_unit[k];
        int64_t rem = p->qty;
        while (rem > 0) {
            int64_t u = units_fit(b, part_v, p->weight_g, p->volume_cm3);
            if (u == 0 && b->picks == 0) {
                /* One unit is larger than an empty cart: it rides alone. */
                b->orders = 1;
                if ((rc = emit_pick(b, ws, k, o, rem, 0, PL_RF_SPLIT)))
                    return rc;
                b->totes_used = b->totes;
                if ((rc = close_cart(
                         b, reason__make(PL_R_BATCH_OVERSIZE, 0, ai, p->weight_g, p->volume_cm3))))
                    return rc;
                rem = 0;
                part_open = false;
                part_v = 0;
                continue;
            }
            if (u == 0) {
                struct pl_reason why;
                if (part_open)
                    b->totes_used += totes_for(part_v, b->tote_v);
                why = refuses(b, part_open ? 0 : 1, p->weight_g, p->volume_cm3);
                if (why.code == PL_R_NONE)
                    why = reason__make(PL_R_BATCH_FULL_TOTES, 0, PL_NONE, b->totes_used, b->totes);
                if ((rc = close_cart(b, why)))
                    return rc;
                part_open = false;
                part_v = 0;
                continue;
            }
            if (!part_open) {
                part_open = true;
                part_tote = b->totes_used;
                b->orders++;
            }
            if (u > rem)
                u = rem;
            if ((rc = emit_pick(b, ws, k, o, u, part_tote, PL_RF_SPLIT)))
                return rc;
            part_v += u * (int64_t)p->volume_cm3;
            rem -= u;
        }
    }
    if (part_open)
        b->totes_used += totes_for(part_v, b->tote_v);
    return 0;
}

static int batch_order(struct batcher *b, const struct pl_workspace *ws, uint32_t o)
{
    int64_t weight_g = 0, volume_cm3 = 0, totes;
    struct pl_reason why;
    int rc;
    for (uint32_t k = ws->ao_start[o]; k < ws->ao_start[o + 1]; k++) {
        const struct alloc_unit *p = &ws->ao_unit[k];
        int64_t q = p->qty;
        weight_g += q * (int64_t)p->weight_g;
        volume_cm3 += q * (int64_t)p->volume_cm3;
    }
    if (ws->ao_start[o] == ws->ao_start[o + 1])
        return 0;
    totes = totes_for(volume_cm3, b->tote_v);
    why = refuses(b, totes, weight_g, volume_cm3);
    if (why.code == PL_R_NONE)
        return add_whole(b, ws, o, totes);
    if (b->picks) {
        struct batcher empty = *b;
        empty.totes_used = empty.weight_g = empty.volume_cm3 = 0;
        if (refuses(&empty, totes, weight_g, volume_cm3).code == PL_R_NONE) {
            why.ref = o;
            if ((rc = close_cart(b, why)))
                return rc;
            return add_whole(b, ws, o, totes);
        }
    }
    return add_split(b, ws, o);
}

int pl_batch(struct pl_workspace *ws, const struct pl_world *w, const struct pl_alloc *allocs,
             uint32_t n_allocs, const struct pl_wave_out *waves, struct pl_batch_out *out)
{
    const struct pl_cart *c = &w->cart;
    struct batcher b;
    int rc;
    ws__check(ws, w);
    if (c->totes < 1 || c->totes > UINT16_MAX || c->tote_volume_cm3 < 1 || c->max_weight_g < 0 ||
        c->max_volume_cm3 < 0)
        return WCS_E_RANGE;
    if (n_allocs > ws->allocs_cap)
        return WCS_E_EXHAUSTED;

    /* Allocations per order (CSR), in allocation order; empty ones (after a short pick) drop. */
    memset(ws->ao_start, 0, sizeof(uint32_t) * (w->n_orders + 1u));
    for (uint32_t i = 0; i < n_allocs; i++)
        if (allocs[i].qty > 0)
            ws->ao_start[w->lines[allocs[i].line].order + 1]++;
    for (uint32_t o = 0; o < w->n_orders; o++)
        ws->ao_start[o + 1] += ws->ao_start[o];
    for (uint32_t i = 0; i < n_allocs; i++) {
        const struct pl_quant *q;
        const struct pl_product *p;
        uint32_t k;
        if (allocs[i].qty <= 0)
            continue;
        k = ws->ao_start[w->lines[allocs[i].line].order]++;
        q = &w->quants[allocs[i].quant];
        p = &w->products[q->product];
        ws->ao_list[k] = i;
        ws->ao_unit[k].weight_g = p->weight_g;
        ws->ao_unit[k].volume_cm3 = p->volume_cm3;
        ws->ao_unit[k].quant = allocs[i].quant;
        ws->ao_unit[k].location = q->location;
        ws->ao_unit[k].qty = allocs[i].qty;
    }
    for (uint32_t o = w->n_orders; o > 0; o--)
        ws->ao_start[o] = ws->ao_start[o - 1];
    ws->ao_start[0] = 0;

    memset(&b, 0, sizeof(b));
    b.w = w;
    b.out = out;
    b.count_only = !out->batches && !out->picks;
    b.totes = c->totes;
    b.tote_v = c->tote_volume_cm3;
    b.max_w = c->max_weight_g ? c->max_weight_g : UNLIMITED;
    b.max_v = c->max_volume_cm3 ? c->max_volume_cm3 : (int64_t)c->totes * c->tote_volume_cm3;
    out->n_batches = 0;
    out->n_picks = 0;
    for (uint32_t wv = 0; wv < waves->n_waves; wv++) {
        const struct pl_wave *wave = &waves->waves[wv];
        b.wave = wv;
        for (uint32_t k = 0; k < wave->n_orders; k++)
            if ((rc = batch_order(&b, ws, waves->wave_orders[wave->first + k])))
                return rc;
        if ((rc = close_cart(&b, reason__make(PL_R_BATCH_WAVE_END, 0, PL_NONE, 0, 0))))
            return rc;
    }
    return 0;
}

/* ---- pick paths --------------------------------------------------------------------------- */

/* Ascending walk order before the serpentine turn: zone, aisle, pick_seq, location, order,
 * alloc. Total within a batch (an alloc appears at most once per batch). */
static bool pick_less(const struct pl_world *w, const struct pl_pick *x, const struct pl_pick *y)
{
    const struct pl_location *lx = &w->locations[x->location], *ly = &w->locations[y->location];
    if (lx->zone != ly->zone)
        return lx->zone < ly->zone;
    if (lx->aisle != ly->aisle)
        return lx->aisle < ly->aisle;
    if (lx->pick_seq != ly->pick_seq)
        return lx->pick_seq < ly->pick_seq;
    if (x->location != y->location)
        return x->location < y->location;
    if (x->order != y->order)
        return x->order < y->order;
    return x->alloc < y->alloc;
}

static void sift_down(const struct pl_world *w, struct pl_pick *a, uint32_t root, uint32_t n)
{
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && pick_less(w, &a[child], &a[child + 1]))
            child++;
        if (!pick_less(w, &a[root], &a[child]))
            return;
        struct pl_pick t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

/* Sorts by precomputed keys in the workspace's sort records, then permutes the picks in place
 * by following cycles. Same order as pick_less: within a batch picks of one order appear in
 * ascending alloc order, so the index breaks (location, order) ties as alloc would. */
static void sort_picks_keyed(struct pl_workspace *ws, const struct pl_world *w, struct pl_pick *a,
                             uint32_t n)
{
    struct sortrec *r = ws->rec;
    for (uint32_t i = 0; i < n; i++) {
        const struct pl_location *l = &w->locations[a[i].location];
        r[i].k1 = ((uint64_t)l->zone << 48) | ((uint64_t)l->aisle << 32) | l->pick_seq;
        r[i].k2 = ((uint64_t)a[i].location << 32) | a[i].order;
        r[i].idx = i;
        r[i].pad = 0;
    }
    sort__records(r, ws->rec_tmp, n);
    for (uint32_t j = 0; j < n; j++) {
        struct pl_pick first;
        uint32_t cur = j;
        if (r[j].pad)
            continue;
        first = a[j];
        for (;;) {
            uint32_t src = r[cur].idx;
            r[cur].pad = 1;
            if (src == j) {
                a[cur] = first;
                break;
            }
            a[cur] = a[src];
            cur = src;
        }
    }
}

/* In place, no scratch: insertion sort for short batches, heapsort otherwise. */
static void sort_picks(const struct pl_world *w, struct pl_pick *a, uint32_t n)
{
    if (n <= 24) {
        for (uint32_t i = 1; i < n; i++) {
            struct pl_pick v = a[i];
            uint32_t j = i;
            while (j > 0 && pick_less(w, &v, &a[j - 1])) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(w, a, i, n);
    for (uint32_t end = n - 1; end > 0; end--) {
        struct pl_pick t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(w, a, 0, end);
    }
}

static void reverse(struct pl_pick *a, uint32_t n)
{
    for (uint32_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        struct pl_pick t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

int pl_sequence(struct pl_workspace *ws, const struct pl_world *w, struct pl_batch_out *out)
{
    ws__check(ws, w);
    if (out->n_batches && (!out->batches || !out->picks))
        return WCS_E_STATE;
    for (uint32_t bi = 0; bi < out->n_batches; bi++) {
        const struct pl_batch *bt = &out->batches[bi];
        struct pl_pick *a = &out->picks[bt->first];
        uint32_t n = bt->n_picks, rank = 0;
        if (n > 24 && n <= ws->rec_cap)
            sort_picks_keyed(ws, w, a, n);
        else
            sort_picks(w, a, n);
        for (uint32_t s = 0; s < n;) {
            const struct pl_location *ls = &w->locations[a[s].location];
            uint32_t e = s + 1;
            if (s > 0 && w->locations[a[s - 1].location].zone != ls->zone)
                rank = 0; /* each zone starts walking up its first aisle */
            while (e < n && w->locations[a[e].location].zone == ls->zone &&
                   w->locations[a[e].location].aisle == ls->aisle)
                e++;
            if (rank % 2 == 1) {
                /* Walk this aisle down: pick_seq descending, but keep the tie order of
                 * picks at one pick_seq (location, order, alloc ascending). */
                reverse(a + s, e - s);
                for (uint32_t r = s; r < e;) {
                    uint32_t q = r + 1;
                    while (q < e && w->locations[a[q].location].pick_seq ==
                                        w->locations[a[r].location].pick_seq)
                        q++;
                    reverse(a + r, q - r);
                    r = q;
                }
            }
            rank++;
            s = e;
        }
        for (uint32_t i = 0; i < n; i++)
            a[i].walk = i;
    }
    return 0;
}
