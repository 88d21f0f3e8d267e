/* Reasons in words: each planner decision's struct pl_reason rendered as one English sentence a
 * supervisor can read ("why was this quant chosen", "why is this line short"). Days print as
 * ISO dates and epoch minutes as UTC date-times. */
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

int pl_reason_format(const struct pl_reason *r, char *buf, size_t len)
{
    struct txt t;
    long long a = (long long)r->a, b = (long long)r->b;
    unsigned ref = r->ref;
    const char *sx = suffix(r->flags);
    char dummy[1];
    if (!buf || len == 0) {
        buf = dummy;
        len = 1;
    }
    switch (r->code) {
    case PL_R_FIFO_OLDEST:
        return snprintf(buf, len, "FIFO: quant %u is the oldest available stock (in %s UTC)%s.",
                        ref, min_str(t.min[0], a >= 0 ? a / 60 : (a - 59) / 60), sx);
    case PL_R_LIFO_NEWEST:
        return snprintf(buf, len, "LIFO: quant %u is the newest available stock (in %s UTC)%s.",
                        ref, min_str(t.min[0], a >= 0 ? a / 60 : (a - 59) / 60), sx);
    case PL_R_FEFO_EARLIEST_EXPIRY:
        return snprintf(buf, len,
                        "FEFO: quant %u expires first (%s) among stock good until at least %s%s.",
                        ref, day_str(t.day[0], a), day_str(t.day[1], b), sx);
    case PL_R_CLOSEST_PICK_SEQ:
        return snprintf(buf, len,
                        "Closest: quant %u is nearest along the walk (pick sequence %lld)%s.", ref,
                        a, sx);
    case PL_R_LOT_REQUESTED:
        return snprintf(buf, len, "The line asks for lot %lld; quant %u holds it%s.", a, ref, sx);
    case PL_R_SHORT_NO_STOCK:
        return snprintf(buf, len, "Short: there is no stock of the product (%lld reserved)%s.", a,
                        sx);
    case PL_R_SHORT_EXPIRED_ONLY:
        return snprintf(buf, len,
                        "Short: the remaining stock is expired or expires before %s (%lld "
                        "reserved)%s.",
                        day_str(t.day[0], b), a, sx);
    case PL_R_SHORT_LOT_NOT_FOUND:
        return snprintf(buf, len, "Short: lot %u is not in any stock location (%lld reserved)%s.",
                        ref, a, sx);
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
        return snprintf(
            buf, len,
            "Short pick: %lld units missing from quant %u (%lld found); it is no longer "
            "a source until counted.",
            a, ref, b);
    case PL_R_WAVE_LATE_FOR_CUTOFF:
        return snprintf(buf, len,
                        "Late: the carrier cutoff %s UTC is before the earliest dock time %s UTC; "
                        "waved first.",
                        min_str(t.min[0], a), min_str(t.min[1], b));
    case PL_R_WAVE_BY_CUTOFF:
        return snprintf(buf, len, "Waved by carrier cutoff %s UTC with %lld minutes of slack.",
                        min_str(t.min[0], a), b);
    case PL_R_WAVE_NOTHING_RESERVED:
        return snprintf(buf, len, "Not waved: nothing of the order is reserved.");
    case PL_R_WAVE_ORDER_TOO_BIG:
        return snprintf(buf, len,
                        "The order (%lld lines, %lld units) exceeds an empty wave's limits; it has "
                        "a wave of its own.",
                        a, b);
    case PL_R_WAVE_FULL_LINES:
        return snprintf(buf, len,
                        "Wave closed: order %u would make %lld lines, over the limit %lld.", ref, a,
                        b);
    case PL_R_WAVE_FULL_UNITS:
        return snprintf(buf, len,
                        "Wave closed: order %u would make %lld units, over the limit %lld.", ref, a,
                        b);
    case PL_R_WAVE_FULL_ORDERS:
        return snprintf(
            buf, len, "Wave closed: order %u would make %lld orders, over the pack capacity %lld.",
            ref, a, b);
    case PL_R_WAVE_FULL_LANES:
        return snprintf(buf, len,
                        "Wave closed: order %u would need %lld carrier lanes, over the %lld sorter "
                        "lanes.",
                        ref, a, b);
    case PL_R_WAVE_CUTOFF_CHANGE:
        return snprintf(buf, len, "Wave closed: order %u has another cutoff (%s UTC).", ref,
                        min_str(t.min[0], a));
    case PL_R_WAVE_ZONE_CHANGE:
        return snprintf(buf, len, "Wave closed: order %u is for zone %lld, the wave for zone %lld.",
                        ref, a, b);
    case PL_R_WAVE_LAST:
        return snprintf(buf, len, "Wave closed: no more orders.");
    case PL_R_BATCH_FULL_TOTES:
        return snprintf(buf, len, "Cart closed: %lld totes needed, the cart has %lld.", a, b);
    case PL_R_BATCH_FULL_WEIGHT:
        return snprintf(buf, len, "Cart closed: %lld g would exceed the cart's %lld g.", a, b);
    case PL_R_BATCH_FULL_VOLUME:
        return snprintf(buf, len, "Cart closed: %lld cm3 would exceed the cart's %lld cm3.", a, b);
    case PL_R_BATCH_WAVE_END:
        return snprintf(buf, len, "Cart closed: end of the wave.");
    case PL_R_BATCH_OVERSIZE:
        return snprintf(buf, len,
                        "Allocation %u rides alone: one unit (%lld g, %lld cm3) exceeds an empty "
                        "cart.",
                        ref, a, b);
    case PL_R_PUTAWAY_PICK_FACE:
        return snprintf(buf, len,
                        "Putaway to the product's pick face (rule %u): it holds %lld of max %lld.",
                        ref, a, b);
    case PL_R_PUTAWAY_SAME_LOT:
        return snprintf(
            buf, len, "Putaway (rule %u) next to %lld units of the same product and lot.", ref, a);
    case PL_R_PUTAWAY_SAME_PRODUCT:
        return snprintf(buf, len, "Putaway (rule %u) next to %lld units of the same product.", ref,
                        a);
    case PL_R_PUTAWAY_EMPTY:
        if (a < 0)
            return snprintf(buf, len,
                            "Putaway (rule %u) to an empty location of unlimited capacity.", ref);
        return snprintf(buf, len, "Putaway (rule %u) to an empty location with %lld cm3 free.", ref,
                        a);
    case PL_R_PUTAWAY_NO_RULE:
        return snprintf(buf, len, "Not placed: no putaway rule matches (%lld units).", a);
    case PL_R_PUTAWAY_NO_CAPACITY:
        return snprintf(
            buf, len, "Not placed: rule %u's locations have no room for %lld more units.", ref, a);
    case PL_R_REPLEN_BELOW_MIN:
        return snprintf(buf, len, "Replenish (rule %u): the face holds %lld, below its min %lld.",
                        ref, a, b);
    case PL_R_REPLEN_WAVE_DEMAND:
        return snprintf(buf, len,
                        "Replenish (rule %u): the face holds %lld and the wave takes %lld, leaving "
                        "it below min.",
                        ref, a, b);
    case PL_R_REPLEN_NO_SOURCE:
        return snprintf(buf, len,
                        "Replenishment short (rule %u): %lld units wanted, %lld free in reserve.",
                        ref, a, b);
    case PL_R_PURCHASE_BELOW_MIN:
        return snprintf(buf, len, "Buy (rule %u): free stock %lld is below min %lld.", ref, a, b);
    default:
        return snprintf(buf, len, "No reason recorded (code %u).", (unsigned)r->code);
    }
}
