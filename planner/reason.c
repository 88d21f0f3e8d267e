/* Reasons in words: each planner decision's struct pl_reason rendered as one English sentence a
 * supervisor can read ("why was this quant chosen", "why is this line short"). Days print as
 * ISO dates and epoch minutes as UTC date-times; quants, lots, orders, zones, carriers and rules
 * are named by the caller's struct pl_namer, or by the planner's numbers without one. */
#include "internal.h"

#include <stdio.h>

static const char *const names[PL_R_COUNT] = {
    [PL_R_NONE] = "NONE",
    [PL_R_FIFO_OLDEST] = "FIFO_OLDEST",
    [PL_R_LIFO_NEWEST] = "LIFO_NEWEST",
    [PL_R_FEFO_EARLIEST_EXPIRY] = "FEFO_EARLIEST_EXPIRY",
    [PL_R_CLOSEST_PICK_SEQ] = "CLOSEST_PICK_SEQ",
    [PL_R_LOT_REQUESTED] = "LOT_REQUESTED",
    [PL_R_SHORT_NO_STOCK] = "SHORT_NO_STOCK",
    [PL_R_SHORT_EXPIRED_ONLY] = "SHORT_EXPIRED_ONLY",
    [PL_R_SHORT_LOT_NOT_FOUND] = "SHORT_LOT_NOT_FOUND",
    [PL_R_SHORT_NON_STOCK_ONLY] = "SHORT_NON_STOCK_ONLY",
    [PL_R_SHORT_RESERVED] = "SHORT_RESERVED",
    [PL_R_QUANT_MISSING] = "QUANT_MISSING",
    [PL_R_WAVE_LATE_FOR_CUTOFF] = "LATE_FOR_CUTOFF",
    [PL_R_WAVE_BY_CUTOFF] = "WAVE_BY_CUTOFF",
    [PL_R_WAVE_NOTHING_RESERVED] = "WAVE_NOTHING_RESERVED",
    [PL_R_WAVE_ORDER_TOO_BIG] = "WAVE_ORDER_TOO_BIG",
    [PL_R_WAVE_FULL_LINES] = "WAVE_FULL_LINES",
    [PL_R_WAVE_FULL_UNITS] = "WAVE_FULL_UNITS",
    [PL_R_WAVE_FULL_ORDERS] = "WAVE_FULL_ORDERS",
    [PL_R_WAVE_FULL_LANES] = "WAVE_FULL_LANES",
    [PL_R_WAVE_CUTOFF_CHANGE] = "WAVE_CUTOFF_CHANGE",
    [PL_R_WAVE_ZONE_CHANGE] = "WAVE_ZONE_CHANGE",
    [PL_R_WAVE_LAST] = "WAVE_LAST",
    [PL_R_BATCH_FULL_TOTES] = "BATCH_FULL_TOTES",
    [PL_R_BATCH_FULL_WEIGHT] = "BATCH_FULL_WEIGHT",
    [PL_R_BATCH_FULL_VOLUME] = "BATCH_FULL_VOLUME",
    [PL_R_BATCH_WAVE_END] = "BATCH_WAVE_END",
    [PL_R_BATCH_OVERSIZE] = "BATCH_OVERSIZE",
    [PL_R_PUTAWAY_PICK_FACE] = "PUTAWAY_PICK_FACE",
    [PL_R_PUTAWAY_SAME_LOT] = "PUTAWAY_SAME_LOT",
    [PL_R_PUTAWAY_SAME_PRODUCT] = "PUTAWAY_SAME_PRODUCT",
    [PL_R_PUTAWAY_EMPTY] = "PUTAWAY_EMPTY",
    [PL_R_PUTAWAY_NO_RULE] = "PUTAWAY_NO_RULE",
    [PL_R_PUTAWAY_NO_CAPACITY] = "PUTAWAY_NO_CAPACITY",
    [PL_R_REPLEN_BELOW_MIN] = "REPLEN_BELOW_MIN",
    [PL_R_REPLEN_WAVE_DEMAND] = "REPLEN_WAVE_DEMAND",
    [PL_R_REPLEN_NO_SOURCE] = "REPLEN_NO_SOURCE",
    [PL_R_PURCHASE_BELOW_MIN] = "PURCHASE_BELOW_MIN",
};

const char *pl_reason_name(unsigned code)
{
    return code < PL_R_COUNT && names[code] ? names[code] : "?";
}

/* Civil date of a day number (proleptic Gregorian), the inverse of pl_day_from_ymd. */
static void ymd(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

struct txt {
    char day[3][16];
    char min[2][24];
};

static const char *day_str(char *buf, int64_t day)
{
    int y, m, d;
    if (day == PL_NO_EXPIRY)
        return "never";
    ymd(day, &y, &m, &d);
    snprintf(buf, 16, "%04d-%02d-%02d", y, m, d);
    return buf;
}

static const char *min_str(char *buf, int64_t minutes)
{
    int y, m, d;
    int64_t day = minutes >= 0 ? minutes / 1440 : (minutes - 1439) / 1440;
    int64_t rest = minutes - day * 1440;
    ymd(day, &y, &m, &d);
    snprintf(buf, 24, "%04d-%02d-%02d %02d:%02d", y, m, d, (int)(rest / 60), (int)(rest % 60));
    return buf;
}

static const char *suffix(unsigned flags)
{
    if (flags & PL_RF_AFTER_SHORT_PICK)
        return " (after a short pick)";
    if (flags & PL_RF_SPLIT)
        return " (order split over carts)";
    return "";
}

/* Noun phrases for the numbers a sentence names: the caller's words (struct pl_namer) or the
 * planner's ("quant 12"). Each phrase gets its own buffer; a sentence names at most three. */
#define NOUN_MAX 256
struct nouns {
    const struct pl_namer *namer;
    char buf[3][NOUN_MAX];
    unsigned used;
};

static const char *noun(struct nouns *n, enum pl_name_kind kind, uint64_t id)
{
    char *b = n->buf[n->used++];
    unsigned long long x = (unsigned long long)id;
    PL_ASSERT(n->used <= 3);
    if (n->namer && n->namer->name && n->namer->name(n->namer->ctx, kind, id, b, NOUN_MAX) >= 0) {
        b[NOUN_MAX - 1] = '\0';
        return b;
    }
    switch (kind) {
    case PL_NAME_QUANT:
        snprintf(b, NOUN_MAX, "quant %llu", x);
        break;
    case PL_NAME_LOT:
        snprintf(b, NOUN_MAX, "lot %llu", x);
        break;
    case PL_NAME_ORDER:
        snprintf(b, NOUN_MAX, "order %llu", x);
        break;
    case PL_NAME_ALLOC:
        snprintf(b, NOUN_MAX, "allocation %llu", x);
        break;
    case PL_NAME_ZONE:
        if (id == PL_ZONE_ANY)
            snprintf(b, NOUN_MAX, "no zone");
        else
            snprintf(b, NOUN_MAX, "zone %llu", x);
        break;
    case PL_NAME_CARRIER:
        snprintf(b, NOUN_MAX, "carrier %llu", x);
        break;
    default:
        snprintf(b, NOUN_MAX, "rule %llu", x);
        break;
    }
    return b;
}

int pl_reason_format(const struct pl_reason *r, char *buf, size_t len)
{
    return pl_reason_text(r, NULL, buf, len);
}

/* Why a cart was closed, naming the order that did not fit when the reason has it. */
static int cart_full(struct nouns *n, const struct pl_reason *r, const char *what, char *buf,
                     size_t len)
{
    long long a = (long long)r->a, b = (long long)r->b;
    if (r->ref == PL_NONE)
        return snprintf(buf, len, "Cart closed: %lld %s would exceed the cart's %lld %s.", a, what,
                        b, what);
    return snprintf(buf, len, "Cart closed: %s would make %lld %s, over the cart's %lld %s.",
                    noun(n, PL_NAME_ORDER, r->ref), a, what, b, what);
}

static const char *const cap_limit_names[] = {"no limit", "unit", "weight", "volume"};

int pl_reason_text(const struct pl_reason *r, const struct pl_namer *namer, char *buf, size_t len)
{
    struct txt t;
    struct nouns n;
    long long a = (long long)r->a, b = (long long)r->b;
    uint32_t ref = r->ref;
    const char *sx = suffix(r->flags);
    char dummy[1];
    n.namer = namer;
    n.used = 0;
    if (!buf || len == 0) {
        buf = dummy;
        len = 1;
    }
    switch (r->code) {
    case PL_R_FIFO_OLDEST:
        return snprintf(buf, len, "FIFO: %s is the oldest available stock (in %s UTC)%s.",
                        noun(&n, PL_NAME_QUANT, ref),
                        min_str(t.min[0], a >= 0 ? a / 60 : (a - 59) / 60), sx);
    case PL_R_LIFO_NEWEST:
        return snprintf(buf, len, "LIFO: %s is the newest available stock (in %s UTC)%s.",
                        noun(&n, PL_NAME_QUANT, ref),
                        min_str(t.min[0], a >= 0 ? a / 60 : (a - 59) / 60), sx);
    case PL_R_FEFO_EARLIEST_EXPIRY:
        return snprintf(
            buf, len, "FEFO: %s expires first (%s) among stock good until at least %s%s.",
            noun(&n, PL_NAME_QUANT, ref), day_str(t.day[0], a), day_str(t.day[1], b), sx);
    case PL_R_CLOSEST_PICK_SEQ:
        return snprintf(buf, len, "Closest: %s is nearest along the walk (pick sequence %lld)%s.",
                        noun(&n, PL_NAME_QUANT, ref), a, sx);
    case PL_R_LOT_REQUESTED:
        return snprintf(buf, len, "The line asks for %s; %s holds it%s.",
                        noun(&n, PL_NAME_LOT, (uint64_t)r->a), noun(&n, PL_NAME_QUANT, ref), sx);
    case PL_R_SHORT_NO_STOCK:
        return snprintf(buf, len, "Short: there is no stock of the product (%lld reserved)%s.", a,
                        sx);
    case PL_R_SHORT_EXPIRED_ONLY:
        return snprintf(buf, len,
                        "Short: the remaining stock is expired or expires before %s (%lld "
                        "reserved)%s.",
                        day_str(t.day[0], b), a, sx);
    case PL_R_SHORT_LOT_NOT_FOUND:
        return snprintf(buf, len, "Short: %s is not in any stock location (%lld reserved)%s.",
                        noun(&n, PL_NAME_LOT, ref), a, sx);
    case PL_R_SHORT_NON_STOCK_ONLY:
        return snprintf(buf, len,
                        "Short: the product's %lld units are all in non-stock locations (quality "
                        "hold, input, transit...) (%lld reserved)%s.",
                        b, a, sx);
    case PL_R_SHORT_RESERVED:
        return snprintf(buf, len,
                        "Short: all %lld units in stock are reserved for other lines (%lld "
                        "reserved)%s.",
                        b, a, sx);
    case PL_R_QUANT_MISSING:
        return snprintf(buf, len,
                        "Short pick: %lld units missing from %s (%lld found); it is no longer "
                        "a source until counted.",
                        a, noun(&n, PL_NAME_QUANT, ref), b);
    case PL_R_WAVE_LATE_FOR_CUTOFF:
        return snprintf(buf, len,
                        "Late: the %s cutoff %s UTC is before the earliest dock time %s UTC; "
                        "waved first.",
                        ref == PL_NONE ? "carrier" : noun(&n, PL_NAME_CARRIER, ref),
                        min_str(t.min[0], a), min_str(t.min[1], b));
    case PL_R_WAVE_BY_CUTOFF:
        return snprintf(buf, len, "Waved by the %s cutoff %s UTC with %lld minutes of slack.",
                        ref == PL_NONE ? "carrier" : noun(&n, PL_NAME_CARRIER, ref),
                        min_str(t.min[0], a), b);
    case PL_R_WAVE_NOTHING_RESERVED:
        return snprintf(buf, len, "Not waved: nothing of the order is reserved.");
    case PL_R_WAVE_ORDER_TOO_BIG:
        return snprintf(buf, len,
                        "The order (%lld lines, %lld units) exceeds an empty wave's limits; it has "
                        "a wave of its own.",
                        a, b);
    case PL_R_WAVE_FULL_LINES:
        return snprintf(buf, len, "Wave closed: %s would make %lld lines, over the limit %lld.",
                        noun(&n, PL_NAME_ORDER, ref), a, b);
    case PL_R_WAVE_FULL_UNITS:
        return snprintf(buf, len, "Wave closed: %s would make %lld units, over the limit %lld.",
                        noun(&n, PL_NAME_ORDER, ref), a, b);
    case PL_R_WAVE_FULL_ORDERS:
        return snprintf(buf, len,
                        "Wave closed: %s would make %lld orders, over the pack capacity %lld.",
                        noun(&n, PL_NAME_ORDER, ref), a, b);
    case PL_R_WAVE_FULL_LANES:
        return snprintf(buf, len,
                        "Wave closed: %s would need %lld carrier lanes, over the %lld sorter "
                        "lanes.",
                        noun(&n, PL_NAME_ORDER, ref), a, b);
    case PL_R_WAVE_CUTOFF_CHANGE:
        return snprintf(buf, len, "Wave closed: %s has another cutoff (%s UTC).",
                        noun(&n, PL_NAME_ORDER, ref), min_str(t.min[0], a));
    case PL_R_WAVE_ZONE_CHANGE:
        return snprintf(buf, len, "Wave closed: %s is for %s, the wave for %s.",
                        noun(&n, PL_NAME_ORDER, ref), noun(&n, PL_NAME_ZONE, (uint64_t)r->a),
                        noun(&n, PL_NAME_ZONE, (uint64_t)r->b));
    case PL_R_WAVE_LAST:
        return snprintf(buf, len, "Wave closed: no more orders.");
    case PL_R_BATCH_FULL_TOTES:
        if (ref == PL_NONE)
            return snprintf(buf, len, "Cart closed: %lld totes needed, the cart has %lld.", a, b);
        return snprintf(buf, len, "Cart closed: %s would need %lld totes, the cart has %lld.",
                        noun(&n, PL_NAME_ORDER, ref), a, b);
    case PL_R_BATCH_FULL_WEIGHT:
        return cart_full(&n, r, "g", buf, len);
    case PL_R_BATCH_FULL_VOLUME:
        return cart_full(&n, r, "cm3", buf, len);
    case PL_R_BATCH_WAVE_END:
        return snprintf(buf, len, "Cart closed: end of the wave.");
    case PL_R_BATCH_OVERSIZE:
        return snprintf(buf, len,
                        "Cart closed: %s rides alone, one unit (%lld g, %lld cm3) exceeds an "
                        "empty cart.",
                        noun(&n, PL_NAME_ALLOC, ref), a, b);
    case PL_R_PUTAWAY_PICK_FACE:
        return snprintf(buf, len,
                        "Putaway to the product's pick face (%s): it holds %lld of max %lld.",
                        noun(&n, PL_NAME_REPLEN_RULE, ref), a, b);
    case PL_R_PUTAWAY_SAME_LOT:
        return snprintf(buf, len, "Putaway (%s) next to %lld units of the same product and lot.",
                        noun(&n, PL_NAME_PUTAWAY_RULE, ref), a);
    case PL_R_PUTAWAY_SAME_PRODUCT:
        return snprintf(buf, len, "Putaway (%s) next to %lld units of the same product.",
                        noun(&n, PL_NAME_PUTAWAY_RULE, ref), a);
    case PL_R_PUTAWAY_EMPTY:
        if (a < 0 || r->b <= PL_CAP_NONE || r->b > PL_CAP_VOLUME)
            return snprintf(buf, len, "Putaway (%s) to an empty location without a capacity limit.",
                            noun(&n, PL_NAME_PUTAWAY_RULE, ref));
        return snprintf(buf, len,
                        "Putaway (%s) to an empty location with room for %lld units (by its %s "
                        "limit).",
                        noun(&n, PL_NAME_PUTAWAY_RULE, ref), a, cap_limit_names[r->b]);
    case PL_R_PUTAWAY_NO_RULE:
        return snprintf(buf, len, "Not placed: no putaway rule matches (%lld units).", a);
    case PL_R_PUTAWAY_NO_CAPACITY:
        return snprintf(buf, len, "Not placed: %s's locations have no room for %lld more units.",
                        noun(&n, PL_NAME_PUTAWAY_RULE, ref), a);
    case PL_R_REPLEN_BELOW_MIN:
        return snprintf(buf, len, "Replenish (%s): the face holds %lld, below its min %lld.",
                        noun(&n, PL_NAME_REPLEN_RULE, ref), a, b);
    case PL_R_REPLEN_WAVE_DEMAND:
        return snprintf(buf, len,
                        "Replenish (%s): the face holds %lld and the wave takes %lld, leaving "
                        "it below min.",
                        noun(&n, PL_NAME_REPLEN_RULE, ref), a, b);
    case PL_R_REPLEN_NO_SOURCE:
        return snprintf(buf, len,
                        "Replenishment short (%s): %lld units wanted, %lld free in reserve.",
                        noun(&n, PL_NAME_REPLEN_RULE, ref), a, b);
    case PL_R_PURCHASE_BELOW_MIN:
        return snprintf(buf, len, "Buy (%s): free stock %lld is below min %lld.",
                        noun(&n, PL_NAME_PURCHASE_RULE, ref), a, b);
    default:
        return snprintf(buf, len, "No reason recorded (code %u).", (unsigned)r->code);
    }
}
