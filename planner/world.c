/* The planner's foundations: world validation, the workspace layout, the per-product quant
 * index in removal-strategy order, the shared merge sort and calendar dates.
 * Everything else in planner/ assumes a world that passed pl_world_check. */
#include "internal.h"

#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Quantity and size limits keep every product of units x grams (or cm3), and every sum of them,
 * inside int64: 2^30 units per quant or line, 2^24 g or cm3 per unit, 2^38 units in total. */
#define QTY_MAX    ((int64_t)1 << 30)
#define UNIT_MAX   (UINT32_C(1) << 24)
#define TOTAL_MAX  ((int64_t)1 << 38)
#define CUTOFF_MAX ((int64_t)1 << 40)

static int fail(char *msg, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *msg, size_t len, int rc, const char *fmt, ...)
{
    va_list ap;
    if (msg && len) {
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool id_ok(uint32_t id, uint32_t n)
{
    return id < n;
}

static bool any_or_id_ok(uint32_t id, uint32_t n)
{
    return id == PL_NONE || id < n;
}

static int check_products(const struct pl_world *w, char *msg, size_t len)
{
    for (uint32_t i = 0; i < w->n_products; i++) {
        const struct pl_product *p = &w->products[i];
        if (p->removal > PL_CLOSEST)
            return fail(msg, len, WCS_E_RANGE, "products[%u].removal %u is not a strategy", i,
                        p->removal);
        if (p->tracking > PL_TRACK_SERIAL)
            return fail(msg, len, WCS_E_RANGE, "products[%u].tracking %u is not a tracking", i,
                        p->tracking);
        if (p->weight_g > UNIT_MAX || p->volume_cm3 > UNIT_MAX)
            return fail(msg, len, WCS_E_RANGE,
                        "products[%u]: weight_g %u or volume_cm3 %u above 2^24 per unit", i,
                        p->weight_g, p->volume_cm3);
        if (p->expiry_margin_days < 0 || p->expiry_margin_days > 36500)
            return fail(msg, len, WCS_E_RANGE,
                        "products[%u].expiry_margin_days %d outside 0..36500", i,
                        p->expiry_margin_days);
    }
    return 0;
}

static int check_locations(const struct pl_world *w, char *msg, size_t len)
{
    for (uint32_t i = 0; i < w->n_locations; i++) {
        const struct pl_location *l = &w->locations[i];
        if (l->pre >= l->post)
            return fail(msg, len, WCS_E_RANGE, "locations[%u]: pre %u is not below post %u", i,
                        l->pre, l->post);
        if (l->usage > PL_USAGE_SCRAP)
            return fail(msg, len, WCS_E_RANGE, "locations[%u].usage %u is not a usage", i,
                        l->usage);
    }
    return 0;
}

static int check_quants(const struct pl_world *w, char *msg, size_t len)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < w->n_quants; i++) {
        const struct pl_quant *q = &w->quants[i];
        if (!id_ok(q->product, w->n_products))
            return fail(msg, len, WCS_E_UNKNOWN, "quants[%u].product %u: no such product", i,
                        q->product);
        if (!id_ok(q->location, w->n_locations))
            return fail(msg, len, WCS_E_UNKNOWN, "quants[%u].location %u: no such location", i,
                        q->location);
        if (q->on_hand < 0 || q->on_hand > QTY_MAX)
            return fail(msg, len, WCS_E_RANGE, "quants[%u].on_hand %lld outside 0..2^30", i,
                        (long long)q->on_hand);
        if (q->reserved < 0 || q->reserved > q->on_hand)
            return fail(msg, len, WCS_E_RANGE, "quants[%u].reserved %lld outside 0..on_hand %lld",
                        i, (long long)q->reserved, (long long)q->on_hand);
        if (q->missing < 0 || q->missing > QTY_MAX)
            return fail(msg, len, WCS_E_RANGE, "quants[%u].missing %lld outside 0..2^30", i,
                        (long long)q->missing);
        total += q->on_hand;
    }
    if (total > TOTAL_MAX)
        return fail(msg, len, WCS_E_RANGE, "quants: %lld units on hand in all, above 2^38",
                    (long long)total);
    return 0;
}

static int check_orders(const struct pl_world *w, char *msg, size_t len)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < w->n_orders; i++) {
        const struct pl_order *o = &w->orders[i];
        if ((uint64_t)o->first_line + o->n_lines > w->n_lines)
            return fail(msg, len, WCS_E_UNKNOWN, "orders[%u]: lines %u..+%u past the %u lines", i,
                        o->first_line, o->n_lines, w->n_lines);
        if (!id_ok(o->carrier, w->n_carriers))
            return fail(msg, len, WCS_E_UNKNOWN, "orders[%u].carrier %u: no such carrier", i,
                        o->carrier);
        if (o->cutoff_min < 0 || o->cutoff_min >= CUTOFF_MAX)
            return fail(msg, len, WCS_E_RANGE, "orders[%u].cutoff_min %lld outside 0..2^40", i,
                        (long long)o->cutoff_min);
        for (uint32_t l = o->first_line; l < o->first_line + o->n_lines; l++)
            if (w->lines[l].order != i)
                return fail(msg, len, WCS_E_RANGE, "lines[%u].order %u but orders[%u] lists it", l,
                            w->lines[l].order, i);
        total += o->n_lines;
    }
    if (total != w->n_lines)
        return fail(msg, len, WCS_E_RANGE, "orders list %llu lines but there are %u",
                    (unsigned long long)total, w->n_lines);
    int64_t units = 0;
    for (uint32_t i = 0; i < w->n_lines; i++) {
        const struct pl_line *l = &w->lines[i];
        if (!id_ok(l->product, w->n_products))
            return fail(msg, len, WCS_E_UNKNOWN, "lines[%u].product %u: no such product", i,
                        l->product);
        if (l->qty <= 0 || l->qty > QTY_MAX)
            return fail(msg, len, WCS_E_RANGE, "lines[%u].qty %lld outside 1..2^30", i,
                        (long long)l->qty);
        units += l->qty;
    }
    if (units > TOTAL_MAX)
        return fail(msg, len, WCS_E_RANGE, "lines: %lld units ordered in all, above 2^38",
                    (long long)units);
    return 0;
}

static int check_rules(const struct pl_world *w, char *msg, size_t len)
{
    for (uint32_t i = 0; i < w->n_putaway_rules; i++) {
        const struct pl_putaway_rule *r = &w->putaway_rules[i];
        if (!id_ok(r->location, w->n_locations))
            return fail(msg, len, WCS_E_UNKNOWN, "putaway_rules[%u].location %u: no such location",
                        i, r->location);
        if (!any_or_id_ok(r->product, w->n_products))
            return fail(msg, len, WCS_E_UNKNOWN, "putaway_rules[%u].product %u: no such product", i,
                        r->product);
    }
    for (uint32_t i = 0; i < w->n_replen_rules; i++) {
        const struct pl_replen_rule *r = &w->replen_rules[i];
        if (!id_ok(r->product, w->n_products))
            return fail(msg, len, WCS_E_UNKNOWN, "replen_rules[%u].product %u: no such product", i,
                        r->product);
        if (!id_ok(r->location, w->n_locations))
            return fail(msg, len, WCS_E_UNKNOWN, "replen_rules[%u].location %u: no such location",
                        i, r->location);
        if (!any_or_id_ok(r->source, w->n_locations))
            return fail(msg, len, WCS_E_UNKNOWN, "replen_rules[%u].source %u: no such location", i,
                        r->source);
        if (r->min_qty < 0 || r->max_qty <= 0 || r->min_qty > r->max_qty || r->max_qty > QTY_MAX)
            return fail(msg, len, WCS_E_RANGE, "replen_rules[%u]: need 0 <= min %lld <= max %lld",
                        i, (long long)r->min_qty, (long long)r->max_qty);
        if (r->multiple < 1 || r->multiple > QTY_MAX)
            return fail(msg, len, WCS_E_RANGE, "replen_rules[%u].multiple %lld is below 1", i,
                        (long long)r->multiple);
    }
    for (uint32_t i = 0; i < w->n_purchase_rules; i++) {
        const struct pl_purchase_rule *r = &w->purchase_rules[i];
        if (!id_ok(r->product, w->n_products))
            return fail(msg, len, WCS_E_UNKNOWN, "purchase_rules[%u].product %u: no such product",
                        i, r->product);
        if (r->lead_days < 0 || r->lead_days > 3650)
            return fail(msg, len, WCS_E_RANGE, "purchase_rules[%u].lead_days %d outside 0..3650", i,
                        r->lead_days);
        if (r->min_qty < 0 || r->min_qty > r->max_qty || r->max_qty > QTY_MAX)
            return fail(msg, len, WCS_E_RANGE, "purchase_rules[%u]: need 0 <= min %lld <= max %lld",
                        i, (long long)r->min_qty, (long long)r->max_qty);
        if (r->multiple < 1 || r->multiple > QTY_MAX)
            return fail(msg, len, WCS_E_RANGE, "purchase_rules[%u].multiple %lld is below 1", i,
                        (long long)r->multiple);
    }
    if (w->wave.lead_min < 0 || w->wave.max_units < 0)
        return fail(msg, len, WCS_E_RANGE, "wave: lead_min and max_units must not be negative");
    return 0;
}

int pl_world_check(const struct pl_world *w, char *msg, size_t msg_len)
{
    int rc;
    if (msg && msg_len)
        msg[0] = '\0';
    if ((w->n_products && !w->products) || (w->n_locations && !w->locations) ||
        (w->n_quants && !w->quants) || (w->n_orders && !w->orders) || (w->n_lines && !w->lines) ||
        (w->n_putaway_rules && !w->putaway_rules) || (w->n_replen_rules && !w->replen_rules) ||
        (w->n_purchase_rules && !w->purchase_rules))
        return fail(msg, msg_len, WCS_E_RANGE, "world: an array with a nonzero count is NULL");
    if (w->n_products >= PL_MIXED || w->n_locations >= PL_MIXED ||
        (uint64_t)w->n_quants + w->n_products >= PL_MIXED || w->n_orders >= PL_MIXED ||
        (uint64_t)w->n_lines * 2 + (uint64_t)w->n_quants * 2 + 64 >= PL_MIXED)
        return fail(msg, msg_len, WCS_E_RANGE, "world: too many items for 32-bit ids");
    if ((rc = check_products(w, msg, msg_len)) || (rc = check_locations(w, msg, msg_len)) ||
        (rc = check_quants(w, msg, msg_len)) || (rc = check_orders(w, msg, msg_len)) ||
        (rc = check_rules(w, msg, msg_len)))
        return rc;
    return 0;
}

/* ---- workspace ---------------------------------------------------------------------------- */

static uint32_t allocs_cap_for(const struct pl_world *w)
{
    return 2u * (w->n_lines + w->n_quants) + 64u;
}

/* Walks the layout once: with base NULL it only adds up sizes. */
static size_t layout(struct pl_workspace *ws, char *base, const struct pl_world *w)
{
    size_t off = 0;
    uint32_t nrec = w->n_quants > w->n_orders ? w->n_quants : w->n_orders;
    uint32_t npos = w->n_quants + w->n_products;
#define CARVE(field, count)                                                                        \
    do {                                                                                           \
        off = (off + 15u) & ~(size_t)15u;                                                          \
        if (base)                                                                                  \
            ws->field = (void *)(base + off);                                                      \
        off += sizeof(*ws->field) * (size_t)(count);                                               \
    } while (0)
    CARVE(rec, nrec);
    CARVE(rec_tmp, nrec);
    CARVE(pstart, w->n_products + 1u);
    CARVE(qpos, npos);
    CARVE(qnext, npos);
    CARVE(qexp, npos);
    CARVE(prod_nonstock, w->n_products);
    CARVE(prod_expired, w->n_products);
    CARVE(prod_stock, w->n_products);
    CARVE(prod_scratch, w->n_products);
    CARVE(ord_seq, w->n_orders);
    CARVE(ord_lines, w->n_orders);
    CARVE(ord_units, w->n_orders);
    CARVE(ord_weight_g, w->n_orders);
    CARVE(ord_volume_cm3, w->n_orders);
    CARVE(ao_start, w->n_orders + 1u);
    CARVE(line_mark, w->n_lines);
    CARVE(carrier_stamp, w->n_carriers);
    CARVE(ao_list, allocs_cap_for(w));
    CARVE(ao_unit, allocs_cap_for(w));
    CARVE(ord_urgent, w->n_orders);
    CARVE(loc_by_pre, w->n_locations);
    CARVE(loc_used_cm3, w->n_locations);
    CARVE(loc_used_units, w->n_locations);
    CARVE(loc_used_g, w->n_locations);
    CARVE(loc_product, w->n_locations);
    CARVE(loc_lot, w->n_locations);
    CARVE(loc_rule, w->n_locations);
    CARVE(rule_next, w->n_replen_rules);
    CARVE(rule_scratch, w->n_replen_rules);
    CARVE(rule_demand, w->n_replen_rules);
#undef CARVE
    return off;
}

size_t pl_workspace_size(const struct pl_world *w)
{
    struct pl_workspace dummy;
    return ((sizeof(struct pl_workspace) + 15u) & ~(size_t)15u) + layout(&dummy, NULL, w) + 16u;
}

int pl_workspace_init(struct pl_workspace **out, void *mem, size_t size, const struct pl_world *w)
{
    struct pl_workspace *ws = mem;
    size_t head = (sizeof(struct pl_workspace) + 15u) & ~(size_t)15u;
    if (!mem || ((uintptr_t)mem & 15u))
        return WCS_E_RANGE;
    if (size < pl_workspace_size(w))
        return WCS_E_EXHAUSTED;
    memset(ws, 0, sizeof(*ws));
    layout(ws, (char *)mem + head, w);
    ws->n_products = w->n_products;
    ws->n_locations = w->n_locations;
    ws->n_quants = w->n_quants;
    ws->n_orders = w->n_orders;
    ws->n_lines = w->n_lines;
    ws->n_replen_rules = w->n_replen_rules;
    ws->n_carriers = w->n_carriers;
    ws->allocs_cap = allocs_cap_for(w);
    ws->rec_cap = w->n_quants > w->n_orders ? w->n_quants : w->n_orders;
    *out = ws;
    return 0;
}

void ws__check(const struct pl_workspace *ws, const struct pl_world *w)
{
    /* A workspace laid out for another world is a programming error. */
    PL_ASSERT(ws->n_products == w->n_products && ws->n_quants == w->n_quants &&
              ws->n_orders == w->n_orders && ws->n_lines == w->n_lines &&
              ws->n_locations == w->n_locations && ws->n_replen_rules == w->n_replen_rules &&
              ws->n_carriers == w->n_carriers);
}

/* ---- sort --------------------------------------------------------------------------------- */

static bool rec_less(const struct sortrec *x, const struct sortrec *y)
{
    if (x->k1 != y->k1)
        return x->k1 < y->k1;
    if (x->k2 != y->k2)
        return x->k2 < y->k2;
    return x->idx < y->idx;
}

void sort__records(struct sortrec *a, struct sortrec *tmp, uint32_t n)
{
    const uint32_t run = 16;
    struct sortrec *src = a, *dst = tmp;
    /* Insertion-sort short runs, then merge them bottom-up, ping-ponging between the arrays. */
    for (uint32_t s = 0; s < n; s += run) {
        uint32_t e = s + run < n ? s + run : n;
        for (uint32_t i = s + 1; i < e; i++) {
            struct sortrec v = a[i];
            uint32_t j = i;
            while (j > s && rec_less(&v, &a[j - 1])) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
    }
    for (uint64_t width = run; width < n; width *= 2) {
        for (uint64_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = (uint32_t)(lo + width < n ? lo + width : n);
            uint32_t hi = (uint32_t)(lo + 2 * width < n ? lo + 2 * width : n);
            uint32_t i = (uint32_t)lo, j = mid, k = (uint32_t)lo;
            while (i < mid && j < hi)
                dst[k++] = rec_less(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct sortrec *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, sizeof(*a) * n);
}

/* ---- quant index -------------------------------------------------------------------------- */

static uint64_t bias64(int64_t v)
{
    return (uint64_t)v ^ (UINT64_C(1) << 63);
}

static uint32_t bias32(int32_t v)
{
    return (uint32_t)v ^ (UINT32_C(1) << 31);
}

int pl_index(struct pl_workspace *ws, const struct pl_world *w)
{
    uint32_t n = 0;
    ws__check(ws, w);
    memset(ws->prod_nonstock, 0, sizeof(int64_t) * w->n_products);
    memset(ws->prod_expired, 0, sizeof(int64_t) * w->n_products);
    memset(ws->prod_stock, 0, sizeof(int64_t) * w->n_products);
    for (uint32_t i = 0; i < w->n_quants; i++) {
        const struct pl_quant *q = &w->quants[i];
        const struct pl_location *l = &w->locations[q->location];
        const struct pl_product *p = &w->products[q->product];
        uint64_t k1 = (uint64_t)q->product << 32, k2 = 0;
        if (!loc__is_source(l)) {
            ws->prod_nonstock[q->product] += q->on_hand;
            continue;
        }
        if (q->expiry_day != PL_NO_EXPIRY && q->expiry_day < w->today) {
            ws->prod_expired[q->product] += q->on_hand;
            continue;
        }
        if (q->missing > 0 || q->on_hand <= 0)
            continue;
        ws->prod_stock[q->product] += q->on_hand;
        switch (p->removal) {
        case PL_FIFO:
            k2 = bias64(q->in_date_s);
            break;
        case PL_LIFO:
            k2 = ~bias64(q->in_date_s);
            break;
        case PL_FEFO:
            k1 |= bias32(q->expiry_day);
            k2 = bias64(q->in_date_s);
            break;
        default:
            k1 |= l->pick_seq;
            break;
        }
        ws->rec[n].k1 = k1;
        ws->rec[n].k2 = k2;
        ws->rec[n].idx = i;
        ws->rec[n].pad = 0;
        n++;
    }
    sort__records(ws->rec, ws->rec_tmp, n);
    /* Lay the sorted quants out per product, one sentinel after each product's run. */
    uint32_t r = 0, pos = 0;
    for (uint32_t p = 0; p < w->n_products; p++) {
        ws->pstart[p] = pos;
        while (r < n && (uint32_t)(ws->rec[r].k1 >> 32) == p) {
            ws->qpos[pos] = ws->rec[r].idx;
            ws->qnext[pos] = pos;
            ws->qexp[pos] = w->quants[ws->rec[r].idx].expiry_day;
            pos++;
            r++;
        }
        ws->qpos[pos] = PL_NONE;
        ws->qnext[pos] = pos;
        ws->qexp[pos] = PL_NO_EXPIRY;
        pos++;
    }
    ws->pstart[w->n_products] = pos;
    ws->indexed = true;
    return 0;
}

/* ---- dates -------------------------------------------------------------------------------- */

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int pl_day_from_ymd(int year, int month, int day, int32_t *out)
{
    if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 0 ||
        day > month_days(year, month))
        return WCS_E_RANGE;
    if (day == 0)
        day = month_days(year, month); /* GS1: DD=00 is the month's last day */
    /* Days from civil (proleptic Gregorian), era-based so it needs no tables. */
    int y = month <= 2 ? year - 1 : year;
    int era = y / 400;
    int yoe = y - era * 400;
    int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *out = (int32_t)(era * 146097 + doe - 719468);
    return 0;
}
