/* The plan as JSON Lines: a header record, then reservations, backorders, waves, unwaved
 * orders, batches with their ordered picks, putaway suggestions, replenishment moves and
 * purchase suggestions, each with its reason (the planner's code, its sentence with every
 * quant, lot, order, zone, carrier and rule written by name, and what it names resolved to
 * input and config names). Keys sorted, compact, one object per line: same plan, same bytes.
 * Shapes: docs/formats.md. */
#include "internal.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *day_json(int32_t day)
{
    int y, m, d;
    char buf[16];
    if (day == PL_NO_EXPIRY)
        return json_null();
    plan_ymd(day, &y, &m, &d);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
    return json_string(buf);
}

static json_t *min_json(int64_t minutes)
{
    int y, m, d;
    char buf[32];
    int64_t day = minutes >= 0 ? minutes / 1440 : (minutes - 1439) / 1440;
    int64_t rest = minutes - day * 1440;
    plan_ymd(day, &y, &m, &d);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02dZ", y, m, d, (int)(rest / 60),
             (int)(rest % 60));
    return json_string(buf);
}

static const char *sku(const struct plan_result *r, uint32_t product)
{
    return idmap_key(r->site->skus, product);
}

static const char *loc(const struct plan_result *r, uint32_t location)
{
    return idmap_key(r->site->locs, location);
}

static const char *order_id(const struct plan_result *r, uint32_t order)
{
    return idmap_key(r->in->order_ids, order);
}

static json_t *lot_json(const struct plan_result *r, uint32_t lot)
{
    return lot == PL_NONE ? json_null() : json_string(input_lot_name(r->in, lot));
}

static json_t *quant_ref(const struct plan_result *r, uint32_t q)
{
    const struct pl_quant *x = &r->in->quants[q];
    return json_pack("{s:I,s:I,s:s,s:s,s:o}", "quant", (json_int_t)q, "stock_line",
                     (json_int_t)r->in->quant_line[q], "sku", sku(r, x->product), "location",
                     loc(r, x->location), "lot", lot_json(r, x->lot));
}

/* The lot name of lot id `lot`, with "serial" or "lot" as its product is tracked. */
static const char *lot_word(const struct plan_result *r, uint32_t lot)
{
    uint32_t product = (uint32_t)strtoul(idmap_key(r->in->lots, lot), NULL, 10);
    return product < r->site->cfg_n_products &&
                   r->site->products[product].tracking == PL_TRACK_SERIAL
               ? "serial"
               : "lot";
}

/* struct pl_namer for the reason sentences: the names a supervisor reads in the config and the
 * input files (docs/formats.md, "Reasons"). Declines (-1) ids it does not know. */
static int name_of(void *ctx, enum pl_name_kind kind, uint64_t id, char *buf, size_t len)
{
    const struct plan_result *r = ctx;
    const struct plan_site *s = r->site;
    switch (kind) {
    case PL_NAME_QUANT: {
        const struct pl_quant *q;
        if (id >= r->in->n_quants)
            return -1;
        q = &r->in->quants[id];
        if (q->lot == PL_NONE)
            return snprintf(buf, len, "%s at %s", sku(r, q->product), loc(r, q->location));
        return snprintf(buf, len, "%s %s %s at %s", sku(r, q->product), lot_word(r, q->lot),
                        input_lot_name(r->in, q->lot), loc(r, q->location));
    }
    case PL_NAME_LOT:
        if (id >= idmap_count(r->in->lots))
            return -1;
        return snprintf(buf, len, "%s %s", lot_word(r, (uint32_t)id),
                        input_lot_name(r->in, (uint32_t)id));
    case PL_NAME_ORDER:
        return id < r->in->n_orders ? snprintf(buf, len, "order %s", order_id(r, (uint32_t)id))
                                    : -1;
    case PL_NAME_ALLOC: {
        const struct pl_line *l;
        if (id >= r->ro.n_allocs)
            return -1;
        l = &r->in->lines[r->ro.allocs[id].line];
        return snprintf(buf, len, "%s for order %s", sku(r, l->product), order_id(r, l->order));
    }
    case PL_NAME_ZONE:
        if (id == PL_ZONE_ANY)
            return snprintf(buf, len, "no zone");
        return id < idmap_count(s->zones)
                   ? snprintf(buf, len, "zone %s", idmap_key(s->zones, (uint32_t)id))
                   : -1;
    case PL_NAME_CARRIER:
        return id < s->n_carriers ? snprintf(buf, len, "%s", idmap_key(s->carriers, (uint32_t)id))
                                  : -1;
    case PL_NAME_PUTAWAY_RULE:
        return id < s->n_putaway ? snprintf(buf, len, "putaway_rules[%u]", s->putaway_cfg[id]) : -1;
    case PL_NAME_REPLEN_RULE:
        return id < s->n_replen ? snprintf(buf, len, "replenishment[%u]", (unsigned)id) : -1;
    case PL_NAME_PURCHASE_RULE:
        return id < s->n_purchase ? snprintf(buf, len, "purchase_rules[%u]", s->purchase_cfg[id])
                                  : -1;
    default:
        return -1;
    }
}

/* The reason's ref resolved to names, NULL when it names nothing. */
static json_t *ref_json(const struct plan_result *r, const struct pl_reason *why)
{
    uint32_t ref = why->ref;
    if (ref == PL_NONE)
        return NULL;
    switch (why->code) {
    case PL_R_FIFO_OLDEST:
    case PL_R_LIFO_NEWEST:
    case PL_R_FEFO_EARLIEST_EXPIRY:
    case PL_R_CLOSEST_PICK_SEQ:
    case PL_R_LOT_REQUESTED:
    case PL_R_QUANT_MISSING:
        return ref < r->in->n_quants ? quant_ref(r, ref) : NULL;
    case PL_R_SHORT_LOT_NOT_FOUND:
        return ref < idmap_count(r->in->lots) ? json_pack("{s:o}", "lot", lot_json(r, ref)) : NULL;
    case PL_R_WAVE_FULL_LINES:
    case PL_R_WAVE_FULL_UNITS:
    case PL_R_WAVE_FULL_ORDERS:
    case PL_R_WAVE_FULL_LANES:
    case PL_R_WAVE_CUTOFF_CHANGE:
    case PL_R_WAVE_ZONE_CHANGE:
    case PL_R_BATCH_FULL_TOTES:
    case PL_R_BATCH_FULL_WEIGHT:
    case PL_R_BATCH_FULL_VOLUME:
        return ref < r->in->n_orders ? json_pack("{s:s}", "order", order_id(r, ref)) : NULL;
    case PL_R_WAVE_LATE_FOR_CUTOFF:
    case PL_R_WAVE_BY_CUTOFF:
        return ref < r->site->n_carriers
                   ? json_pack("{s:s}", "carrier", idmap_key(r->site->carriers, ref))
                   : NULL;
    case PL_R_PURCHASE_BELOW_MIN:
        return ref < r->site->n_purchase
                   ? json_pack("{s:I}", "purchase_rule", (json_int_t)r->site->purchase_cfg[ref])
                   : NULL;
    case PL_R_BATCH_OVERSIZE:
        if (ref < r->ro.n_allocs) {
            const struct pl_line *l = &r->in->lines[r->ro.allocs[ref].line];
            return json_pack("{s:s,s:s}", "order", order_id(r, l->order), "sku",
                             sku(r, l->product));
        }
        return NULL;
    case PL_R_PUTAWAY_PICK_FACE:
    case PL_R_REPLEN_BELOW_MIN:
    case PL_R_REPLEN_WAVE_DEMAND:
    case PL_R_REPLEN_NO_SOURCE:
        return ref < r->site->n_replen ? json_pack("{s:I}", "replenishment_rule", (json_int_t)ref)
                                       : NULL;
    case PL_R_PUTAWAY_SAME_LOT:
    case PL_R_PUTAWAY_SAME_PRODUCT:
    case PL_R_PUTAWAY_EMPTY:
    case PL_R_PUTAWAY_NO_CAPACITY:
        return ref < r->site->n_putaway
                   ? json_pack("{s:I}", "putaway_rule", (json_int_t)r->site->putaway_cfg[ref])
                   : NULL;
    default:
        return NULL;
    }
}

static json_t *reason_json(const struct plan_result *r, const struct pl_reason *why)
{
    char text[1024];
    json_t *o, *ref, *flags;
    struct pl_namer namer = {name_of, (void *)r};
    pl_reason_text(why, &namer, text, sizeof(text));
    o = json_pack("{s:s,s:s}", "code", pl_reason_name(why->code), "text", text);
    if (!o)
        return NULL;
    if (why->flags) {
        flags = json_array();
        if (why->flags & PL_RF_AFTER_SHORT_PICK)
            json_array_append_new(flags, json_string("AFTER_SHORT_PICK"));
        if (why->flags & PL_RF_LATE)
            json_array_append_new(flags, json_string("LATE"));
        if (why->flags & PL_RF_SPLIT)
            json_array_append_new(flags, json_string("SPLIT"));
        json_object_set_new(o, "flags", flags);
    }
    if ((ref = ref_json(r, why)))
        json_object_set_new(o, "ref", ref);
    return o;
}

void plan_reason_words(const struct plan_result *r, const struct pl_reason *why, char *buf,
                       size_t len)
{
    struct pl_namer namer = {name_of, (void *)r};
    pl_reason_text(why, &namer, buf, len);
}

/* Writes one record and releases it. */
static int emit(json_t *o, FILE *f)
{
    char *s;
    int rc = 0;
    if (!o)
        return -ENOMEM;
    s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    if (!s)
        return -ENOMEM;
    if (fputs(s, f) == EOF || fputc('\n', f) == EOF)
        rc = -EIO;
    free(s);
    return rc;
}

static int cmp_alloc(const void *a, const void *b)
{
    const struct pl_alloc *x = *(const struct pl_alloc *const *)a,
                          *y = *(const struct pl_alloc *const *)b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int cmp_backorder(const void *a, const void *b)
{
    const struct pl_backorder *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

static json_t *line_fields(const struct plan_result *r, const char *type, uint32_t line)
{
    const struct pl_line *l = &r->in->lines[line];
    const struct pl_order *o = &r->in->orders[l->order];
    return json_pack("{s:s,s:s,s:I,s:s}", "type", type, "order", order_id(r, l->order), "line",
                     (json_int_t)(line - o->first_line), "sku", sku(r, l->product));
}

static int write_reserve(const struct plan_result *r, FILE *f)
{
    const struct pl_alloc **order = malloc((r->ro.n_allocs ? r->ro.n_allocs : 1) * sizeof(*order));
    struct pl_backorder *bos = malloc((r->ro.n_backorders ? r->ro.n_backorders : 1) * sizeof(*bos));
    int rc = 0;
    if (!order || !bos) {
        rc = -ENOMEM;
        goto out;
    }
    /* Grouped by order line (input order), a line's allocations in the planner's order. */
    for (uint32_t i = 0; i < r->ro.n_allocs; i++)
        order[i] = &r->ro.allocs[i];
    qsort(order, r->ro.n_allocs, sizeof(*order), cmp_alloc);
    for (uint32_t i = 0; i < r->ro.n_allocs && rc == 0; i++) {
        const struct pl_alloc *a = order[i];
        const struct pl_quant *q = &r->in->quants[a->quant];
        json_t *o = line_fields(r, "reservation", a->line);
        if (o) {
            json_object_set_new(o, "qty", json_integer(a->qty));
            json_object_set_new(o, "quant", json_integer(a->quant));
            json_object_set_new(o, "location", json_string(loc(r, q->location)));
            json_object_set_new(o, "lot", lot_json(r, q->lot));
            json_object_set_new(o, "expiry", day_json(q->expiry_day));
            json_object_set_new(o, "reason", reason_json(r, &a->reason));
        }
        rc = emit(o, f);
    }
    memcpy(bos, r->ro.backorders, r->ro.n_backorders * sizeof(*bos));
    qsort(bos, r->ro.n_backorders, sizeof(*bos), cmp_backorder);
    for (uint32_t i = 0; i < r->ro.n_backorders && rc == 0; i++) {
        const struct pl_line *l = &r->in->lines[bos[i].line];
        json_t *o = line_fields(r, "backorder", bos[i].line);
        if (o) {
            json_object_set_new(o, "qty", json_integer(bos[i].qty));
            json_object_set_new(o, "ordered", json_integer(l->qty));
            json_object_set_new(o, "lot", lot_json(r, l->lot));
            json_object_set_new(o, "reason", reason_json(r, &bos[i].reason));
        }
        rc = emit(o, f);
    }
out:
    free(order);
    free(bos);
    return rc;
}

static int write_waves(const struct plan_result *r, FILE *f)
{
    int rc = 0;
    for (uint32_t i = 0; i < r->wo.n_waves && rc == 0; i++) {
        const struct pl_wave *wv = &r->wo.waves[i];
        json_t *orders = json_array();
        for (uint32_t k = 0; k < wv->n_orders && orders; k++) {
            uint32_t oi = r->wo.wave_orders[wv->first + k];
            const struct pl_order *o = &r->in->orders[oi];
            const struct pl_reason *why = &r->wo.orders[oi].reason;
            json_array_append_new(
                orders, json_pack("{s:s,s:s,s:o,s:b,s:o}", "order", order_id(r, oi), "carrier",
                                  idmap_key(r->site->carriers, o->carrier), "cutoff",
                                  min_json(o->cutoff_min), "late", (why->flags & PL_RF_LATE) != 0,
                                  "reason", reason_json(r, why)));
        }
        rc = emit(json_pack("{s:s,s:I,s:o,s:I,s:I,s:I,s:I,s:o}", "type", "wave", "wave",
                            (json_int_t)i + 1, "orders", orders, "lines", (json_int_t)wv->lines,
                            "units", (json_int_t)wv->units, "carriers", (json_int_t)wv->carriers,
                            "late_orders", (json_int_t)wv->late_orders, "reason",
                            reason_json(r, &wv->reason)),
                  f);
    }
    for (uint32_t i = 0; i < r->in->n_orders && rc == 0; i++)
        if (r->wo.orders[i].wave == PL_NONE)
            rc = emit(json_pack("{s:s,s:s,s:o}", "type", "unwaved", "order", order_id(r, i),
                                "reason", reason_json(r, &r->wo.orders[i].reason)),
                      f);
    return rc;
}

static int write_batches(const struct plan_result *r, FILE *f)
{
    int rc = 0;
    for (uint32_t i = 0; i < r->bo.n_batches && rc == 0; i++) {
        const struct pl_batch *b = &r->bo.batches[i];
        json_t *picks = json_array();
        for (uint32_t k = 0; k < b->n_picks && picks; k++) {
            const struct pl_pick *p = &r->bo.picks[b->first + k];
            const struct pl_quant *q = &r->in->quants[p->quant];
            json_array_append_new(
                picks, json_pack("{s:I,s:s,s:s,s:o,s:I,s:s,s:I,s:b}", "seq",
                                 (json_int_t)p->walk + 1, "location", loc(r, p->location), "sku",
                                 sku(r, q->product), "lot", lot_json(r, q->lot), "qty",
                                 (json_int_t)p->qty, "order", order_id(r, p->order), "tote",
                                 (json_int_t)p->tote + 1, "split", (p->flags & PL_RF_SPLIT) != 0));
        }
        rc = emit(json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "type", "batch", "batch",
                            (json_int_t)i + 1, "wave", (json_int_t)b->wave + 1, "orders",
                            (json_int_t)b->orders, "totes", (json_int_t)b->totes, "units",
                            (json_int_t)b->units, "weight_g", (json_int_t)b->weight_g, "volume_cm3",
                            (json_int_t)b->volume_cm3, "picks", picks, "reason",
                            reason_json(r, &b->reason)),
                  f);
    }
    return rc;
}

static int write_replenish(const struct plan_result *r, FILE *f)
{
    int rc = 0;
    for (uint32_t i = 0; i < r->n_moves && rc == 0; i++) {
        const struct pl_move *m = &r->moves[i];
        const struct pl_replen_rule *rule = &r->site->replen[m->rule];
        bool src = m->quant != PL_NONE;
        const struct pl_quant *q = src ? &r->in->quants[m->quant] : NULL;
        rc = emit(json_pack("{s:s,s:I,s:s,s:o,s:o,s:o,s:s,s:I,s:o}", "type", "replenish", "rule",
                            (json_int_t)m->rule, "sku", sku(r, rule->product), "from",
                            src ? json_string(loc(r, q->location)) : json_null(), "quant",
                            src ? json_integer(m->quant) : json_null(), "lot",
                            src ? lot_json(r, q->lot) : json_null(), "to", loc(r, m->to), "qty",
                            (json_int_t)m->qty, "reason", reason_json(r, &m->reason)),
                  f);
    }
    return rc;
}

static int write_putaway(const struct plan_result *r, FILE *f)
{
    int rc = 0;
    for (uint32_t i = 0; i < r->n_putaways && rc == 0; i++) {
        const struct pl_putaway *p = &r->putaways[i];
        const struct pl_receipt *rc_ = &r->in->receipts[p->receipt];
        rc = emit(json_pack("{s:s,s:I,s:I,s:s,s:o,s:o,s:I,s:o,s:o}", "type", "putaway", "receipt",
                            (json_int_t)p->receipt, "receipt_line",
                            (json_int_t)r->in->receipt_line[p->receipt], "sku",
                            sku(r, rc_->product), "lot", lot_json(r, rc_->lot), "expiry",
                            day_json(r->in->receipt_expiry[p->receipt]), "qty", (json_int_t)p->qty,
                            "location",
                            p->location == PL_NONE ? json_null() : json_string(loc(r, p->location)),
                            "reason", reason_json(r, &p->reason)),
                  f);
    }
    return rc;
}

static int write_purchase(const struct plan_result *r, FILE *f)
{
    int rc = 0;
    for (uint32_t i = 0; i < r->n_purchases && rc == 0; i++) {
        const struct pl_purchase *p = &r->purchases[i];
        uint32_t cfg_rule = r->site->purchase_cfg[p->rule];
        rc = emit(json_pack("{s:s,s:I,s:s,s:s,s:I,s:I,s:o,s:o,s:o}", "type", "purchase", "rule",
                            (json_int_t)cfg_rule, "sku", sku(r, p->product), "supplier",
                            r->site->purchase_supplier[p->rule], "qty", (json_int_t)p->qty,
                            "free_stock", (json_int_t)p->reason.a, "order_date",
                            day_json(p->order_day), "arrival_date", day_json(p->due_day), "reason",
                            reason_json(r, &p->reason)),
                  f);
    }
    return rc;
}

static json_t *header(const struct plan_result *r, const struct plan_header *h)
{
    const unsigned q = r->requested;
    json_t *counts = json_object(), *stages = json_array();
    char now[32];
    int y, m, d;
    int64_t s = r->site->now_s, day = s / 86400, rest = s % 86400;
    plan_ymd(day, &y, &m, &d);
    snprintf(now, sizeof(now), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(rest / 3600),
             (int)(rest / 60 % 60), (int)(rest % 60));
    if (!counts || !stages)
        goto fail;
    if (q & PLAN_RESERVE) {
        json_array_append_new(stages, json_string("reserve"));
        json_object_set_new(counts, "reservation", json_integer(r->ro.n_allocs));
        json_object_set_new(counts, "backorder", json_integer(r->ro.n_backorders));
    }
    if (q & PLAN_WAVE) {
        json_array_append_new(stages, json_string("wave"));
        json_object_set_new(counts, "wave", json_integer(r->wo.n_waves));
        json_object_set_new(counts, "unwaved", json_integer(r->in->n_orders - r->wo.n_waved));
    }
    if (q & PLAN_BATCH) {
        json_array_append_new(stages, json_string("batch"));
        json_object_set_new(counts, "batch", json_integer(r->bo.n_batches));
        json_object_set_new(counts, "pick", json_integer(r->bo.n_picks));
    }
    if (q & PLAN_PUTAWAY) {
        json_array_append_new(stages, json_string("putaway"));
        json_object_set_new(counts, "putaway", json_integer(r->n_putaways));
    }
    if (q & PLAN_REPLENISH) {
        json_array_append_new(stages, json_string("replenish"));
        json_object_set_new(counts, "replenish", json_integer(r->n_moves));
    }
    if (q & PLAN_PURCHASE) {
        json_array_append_new(stages, json_string("purchase"));
        json_object_set_new(counts, "purchase", json_integer(r->n_purchases));
    }
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:o,s:o,s:{s:I,s:I,s:I,s:I},s:o}", "type", "plan",
                     "version", 1, "site", r->site->site_id, "timezone", r->site->tz, "now", now,
                     "now_from", h && h->now_from_clock ? "clock" : "option", "today",
                     day_json(r->site->today), "stages", stages, "inputs", "stock",
                     (json_int_t)r->in->n_quants, "orders", (json_int_t)r->in->n_orders, "lines",
                     (json_int_t)r->in->n_lines, "receipts", (json_int_t)r->in->n_receipts,
                     "counts", counts);
fail:
    json_decref(counts);
    json_decref(stages);
    return NULL;
}

int plan_write(const struct plan_result *r, const struct plan_header *h, FILE *f)
{
    int rc = emit(header(r, h), f);
    if (rc == 0 && (r->requested & PLAN_RESERVE))
        rc = write_reserve(r, f);
    if (rc == 0 && (r->requested & PLAN_WAVE))
        rc = write_waves(r, f);
    if (rc == 0 && (r->requested & PLAN_BATCH))
        rc = write_batches(r, f);
    if (rc == 0 && (r->requested & PLAN_PUTAWAY))
        rc = write_putaway(r, f);
    if (rc == 0 && (r->requested & PLAN_REPLENISH))
        rc = write_replenish(r, f);
    if (rc == 0 && (r->requested & PLAN_PURCHASE))
        rc = write_purchase(r, f);
    if (rc == 0 && fflush(f) == EOF)
        rc = -EIO;
    return rc;
}
