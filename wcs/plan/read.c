/* The JSON Lines readers of wcs_plan: one parser per record kind (stock quant, order with its
 * lines, receipt) that checks every field against the site and appends the record to the plan
 * input or names the first bad field, and the file reader that collects "file:line: field:
 * message" for every bad line. The record shapes are documented in docs/formats.md. Only this
 * file and write.c see jansson. */
#include "internal.h"

#include "base/err.h"
#include "config/config.h"

#include <jansson.h>

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- input storage --------------------------------------------------------------------------- */

int plan_input_new(struct plan_input **out, struct plan_site *site)
{
    struct plan_input *in = calloc(1, sizeof(*in));
    if (!in)
        return -ENOMEM;
    in->site = site;
    if (idmap_new(&in->lots) || idmap_new(&in->packages) || idmap_new(&in->order_ids)) {
        plan_input_free(in);
        return -ENOMEM;
    }
    *out = in;
    return 0;
}

void plan_input_free(struct plan_input *in)
{
    if (!in)
        return;
    idmap_free(in->lots);
    idmap_free(in->packages);
    idmap_free(in->order_ids);
    free(in->quants);
    free(in->quant_line);
    free(in->orders);
    free(in->order_line);
    free(in->lines);
    free(in->receipts);
    free(in->receipt_expiry);
    free(in->receipt_line);
    free(in);
}

void plan_input_counts(const struct plan_input *in, struct plan_counts *out)
{
    out->stock = in->n_quants;
    out->orders = in->n_orders;
    out->lines = in->n_lines;
    out->receipts = in->n_receipts;
}

const char *input_lot_name(const struct plan_input *in, uint32_t lot)
{
    const char *k = idmap_key(in->lots, lot);
    return strchr(k, '\x1f') + 1;
}

/* Grows *arr (of elem bytes each) so that it holds at least need elements. */
static int reserve(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    uint32_t n = *cap ? *cap : 64;
    void *p;
    if (need <= *cap)
        return 0;
    if (need > UINT32_MAX / 4)
        return -ENOMEM;
    while (n < need)
        n *= 2;
    p = realloc(*arr, (size_t)n * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

/* ---- field checks ---------------------------------------------------------------------------- */

static int err_at(struct plan_line_err *e, int rc, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->column = 0;
    return rc;
}

/* A short rendering of a JSON value for messages: compact JSON, cut at 40 characters. */
struct shown {
    char s[64];
};

static struct shown show(const json_t *v)
{
    struct shown r;
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!t) {
        snprintf(r.s, sizeof(r.s), "?");
        return r;
    }
    if (strlen(t) > 40)
        snprintf(r.s, sizeof(r.s), "%.37s...", t);
    else
        snprintf(r.s, sizeof(r.s), "%s", t);
    free(t);
    return r;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* The first key of obj not in allowed (NULL-terminated), or NULL. */
static const char *unknown_key(json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        const char *const *a = allowed;
        while (*a && strcmp(*a, k) != 0)
            a++;
        if (!*a)
            return k;
    }
    return NULL;
}

static int check_keys(json_t *obj, const char *const *allowed, const char *prefix,
                      struct plan_line_err *e)
{
    const char *k = unknown_key(obj, allowed);
    char field[80], list[200] = "";
    size_t n = 0;
    if (!k)
        return 0;
    for (const char *const *a = allowed; *a; a++)
        n += (size_t)snprintf(list + n, n < sizeof(list) ? sizeof(list) - n : 0, "%s%s",
                              a == allowed ? "" : ", ", *a);
    /* A key that is empty or not a plain word is shown as a JSON string. */
    if (*k && strlen(k) <= 40 &&
        strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789_.-") == strlen(k)) {
        snprintf(field, sizeof(field), "%s%s", prefix, k);
    } else {
        json_t *ks = json_string(k);
        snprintf(field, sizeof(field), "%s%s", prefix, ks ? show(ks).s : "?");
        json_decref(ks);
    }
    return err_at(e, WCS_E_SYNTAX, field, "unknown field (allowed: %s)", list);
}

/* The value of key, NULL when absent or null (an ERP's "no value"). */
static json_t *opt(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int need_string(json_t *v, const char *field, struct plan_line_err *e, const char **s)
{
    if (!v)
        return err_at(e, WCS_E_SYNTAX, field, "required");
    if (!json_is_string(v))
        return err_at(e, WCS_E_SYNTAX, field, "must be a string, got %s", show(v).s);
    *s = json_string_value(v);
    if (!**s)
        return err_at(e, WCS_E_SYNTAX, field, "must not be empty");
    return 0;
}

/* Identifiers for order ids, lots, serials and packages: the Redis store's id format. */
static int need_id(json_t *v, const char *field, struct plan_line_err *e, const char **s)
{
    int rc = need_string(v, field, e, s);
    size_t n;
    if (rc < 0)
        return rc;
    n = json_string_length(v);
    if (n > PLAN_ID_MAX || strspn(*s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789_.-") != n)
        return err_at(e, WCS_E_SYNTAX, field,
                      "must be 1-%d characters of A-Z a-z 0-9 _ . -, got %s", PLAN_ID_MAX,
                      show(v).s);
    return 0;
}

static int need_qty(json_t *v, const char *field, struct plan_line_err *e, int64_t *q)
{
    if (!v)
        return err_at(e, WCS_E_SYNTAX, field, "required");
    if (!json_is_integer(v))
        return err_at(e, WCS_E_SYNTAX, field, "must be a positive integer, got %s", show(v).s);
    *q = json_integer_value(v);
    if (*q <= 0)
        return err_at(e, WCS_E_RANGE, field, "must be a positive integer, got %lld", (long long)*q);
    if (*q > PLAN_QTY_MAX)
        return err_at(e, WCS_E_RANGE, field, "must be at most %d, got %lld", PLAN_QTY_MAX,
                      (long long)*q);
    return 0;
}

static int need_date(json_t *v, const char *field, struct plan_line_err *e, int32_t *day)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    int64_t t;
    if (!json_is_string(v) || strlen(s) != 10 || plan_time_parse(s, &t) < 0)
        return err_at(e, json_is_string(v) ? WCS_E_RANGE : WCS_E_SYNTAX, field,
                      "must be a date YYYY-MM-DD, got %s", show(v).s);
    *day = (int32_t)(t / 86400);
    return 0;
}

static int lookup(const struct idmap *m, json_t *v, const char *field, const char *what,
                  struct plan_line_err *e, uint32_t *id)
{
    const char *s;
    int rc = need_string(v, field, e, &s);
    if (rc < 0)
        return rc;
    *id = idmap_get(m, s, json_string_length(v));
    if (*id == IDMAP_NONE)
        return err_at(e, WCS_E_UNKNOWN, field, "unknown %s %s", what, show(v).s);
    return 0;
}

/* Lot or serial of a product, checked against its tracking. `key` is the field's name ("lot" or
 * "serial"); a line may give either, a stock record only "lot". */
static int check_tracking(const struct plan_site *s, uint32_t product, json_t *lot, const char *key,
                          const char *field, struct plan_line_err *e, const char **name)
{
    const struct cfg_product *p = &s->cfg->products[product];
    *name = NULL;
    if (!lot) {
        if (p->tracking == CFG_TRACK_NONE)
            return 0;
        return err_at(e, WCS_E_RANGE, field, "required: product %s is %s-tracked", p->sku,
                      p->tracking == CFG_TRACK_LOT ? "lot" : "serial");
    }
    if (p->tracking == CFG_TRACK_NONE)
        return err_at(e, WCS_E_RANGE, field, "product %s is not tracked by lot or serial", p->sku);
    return need_id(lot, field, e, name);
}

static int intern_lot(struct plan_input *in, uint32_t product, const char *name, uint32_t *id)
{
    char key[16 + PLAN_ID_MAX + 1];
    int n = snprintf(key, sizeof(key), "%u\x1f%s", product, name);
    int rc = idmap_put(in->lots, key, (size_t)n, id);
    return rc < 0 ? rc : 0;
}

static void join(char *out, size_t len, const char *prefix, const char *key)
{
    snprintf(out, len, "%s%s", prefix, key);
}

/* ---- one validation path for records from JSON and from C structs ------------------------- */

/* A C string rendered as show() renders a JSON string. */
static struct shown show_str(const char *s)
{
    struct shown r;
    json_t *v = json_string(s);
    if (!v) {
        snprintf(r.s, sizeof(r.s), "?");
        return r;
    }
    r = show(v);
    json_decref(v);
    return r;
}

static int need_cstr(const char *s, const char *field, struct plan_line_err *e)
{
    if (!s)
        return err_at(e, WCS_E_SYNTAX, field, "required");
    if (!*s)
        return err_at(e, WCS_E_SYNTAX, field, "must not be empty");
    return 0;
}

static int need_cid(const char *s, const char *field, struct plan_line_err *e)
{
    int rc = need_cstr(s, field, e);
    size_t n;
    if (rc < 0)
        return rc;
    n = strlen(s);
    if (n > PLAN_ID_MAX || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789_.-") != n)
        return err_at(e, WCS_E_SYNTAX, field,
                      "must be 1-%d characters of A-Z a-z 0-9 _ . -, got %s", PLAN_ID_MAX,
                      show_str(s).s);
    return 0;
}

static int lookup_c(const struct idmap *m, const char *s, const char *field, const char *what,
                    struct plan_line_err *e, uint32_t *id)
{
    int rc = need_cstr(s, field, e);
    if (rc < 0)
        return rc;
    *id = idmap_get(m, s, strlen(s));
    if (*id == IDMAP_NONE)
        return err_at(e, WCS_E_UNKNOWN, field, "unknown %s %s", what, show_str(s).s);
    return 0;
}

static int check_qty(int64_t q, const char *field, struct plan_line_err *e)
{
    if (q <= 0)
        return err_at(e, WCS_E_RANGE, field, "must be a positive integer, got %lld", (long long)q);
    if (q > PLAN_QTY_MAX)
        return err_at(e, WCS_E_RANGE, field, "must be at most %d, got %lld", PLAN_QTY_MAX,
                      (long long)q);
    return 0;
}

static int check_date(const char *s, const char *field, struct plan_line_err *e, int32_t *day)
{
    int64_t t;
    if (strlen(s) != 10 || plan_time_parse(s, &t) < 0)
        return err_at(e, WCS_E_RANGE, field, "must be a date YYYY-MM-DD, got %s", show_str(s).s);
    *day = (int32_t)(t / 86400);
    return 0;
}

/* Lot or serial of a product, checked against its tracking (lot NULL: none given). */
static int check_tracking_c(const struct plan_site *s, uint32_t product, const char *lot,
                            const char *field, struct plan_line_err *e)
{
    const struct cfg_product *p = &s->cfg->products[product];
    if (!lot) {
        if (p->tracking == CFG_TRACK_NONE)
            return 0;
        return err_at(e, WCS_E_RANGE, field, "required: product %s is %s-tracked", p->sku,
                      p->tracking == CFG_TRACK_LOT ? "lot" : "serial");
    }
    if (p->tracking == CFG_TRACK_NONE)
        return err_at(e, WCS_E_RANGE, field, "product %s is not tracked by lot or serial", p->sku);
    return need_cid(lot, field, e);
}

/* ---- stock ----------------------------------------------------------------------------------- */

/* qty_given false: the record has no quantity at all (a JSON record without "qty"). */
static int add_stock(struct plan_input *in, const struct plan_stock_rec *r, bool qty_given,
                     uint32_t line_no, struct plan_line_err *e)
{
    const struct plan_site *s = in->site;
    uint32_t product, location, lot_id = PL_NONE, pkg_id = PL_NONE;
    int32_t expiry = PL_NO_EXPIRY;
    int64_t in_s;
    int rc;
    if ((rc = lookup_c(s->skus, r->sku, "sku", "SKU", e, &product)) < 0 ||
        (rc = lookup_c(s->locs, r->location, "location", "location", e, &location)) < 0)
        return rc;
    if (s->locations[location].usage == PL_USAGE_VIEW)
        return err_at(e, WCS_E_RANGE, "location", "%s is a %s location and holds no stock",
                      s->cfg->locations[location].path,
                      cfg_loc_type_name(s->cfg->locations[location].type));
    if ((rc = check_tracking_c(s, product, r->lot, "lot", e)) < 0)
        return rc;
    if (s->cfg->products[product].expiry && !r->expiry)
        return err_at(e, WCS_E_RANGE, "expiry", "required: product %s has expiry dates",
                      s->cfg->products[product].sku);
    if (r->expiry && !s->cfg->products[product].expiry)
        return err_at(e, WCS_E_RANGE, "expiry", "product %s has no expiry dates",
                      s->cfg->products[product].sku);
    if (r->expiry && (rc = check_date(r->expiry, "expiry", e, &expiry)) < 0)
        return rc;
    if ((rc = need_cstr(r->in_date, "in_date", e)) < 0)
        return rc;
    if (plan_time_parse(r->in_date, &in_s) < 0)
        return err_at(e, WCS_E_RANGE, "in_date",
                      "must be an ISO-8601 date-time (2026-11-20T06:00:00Z), got %s",
                      show_str(r->in_date).s);
    if (!qty_given)
        return err_at(e, WCS_E_SYNTAX, "qty", "required");
    if ((rc = check_qty(r->qty, "qty", e)) < 0)
        return rc;
    if (s->products[product].tracking == PL_TRACK_SERIAL && r->qty != 1)
        return err_at(e, WCS_E_RANGE, "qty",
                      "must be 1: product %s is serial-tracked (the lot is the serial number), "
                      "got %lld",
                      s->cfg->products[product].sku, (long long)r->qty);
    if (r->reserved < 0 || r->reserved > r->qty)
        return err_at(e, WCS_E_RANGE, "reserved", "must be an integer 0..qty (%lld), got %lld",
                      (long long)r->qty, (long long)r->reserved);
    if (r->package && (rc = need_cid(r->package, "package", e)) < 0)
        return rc;
    /* Valid: commit. */
    if ((rc = reserve((void **)&in->quants, &in->quants_cap, in->n_quants + 1,
                      sizeof(*in->quants))) < 0 ||
        (rc = reserve((void **)&in->quant_line, &in->quant_line_cap, in->n_quants + 1,
                      sizeof(*in->quant_line))) < 0)
        return rc;
    if (r->lot && (rc = intern_lot(in, product, r->lot, &lot_id)) < 0)
        return rc;
    if (r->package && (rc = idmap_put(in->packages, r->package, strlen(r->package), &pkg_id)) < 0)
        return rc;
    in->quants[in->n_quants] = (struct pl_quant){
        .product = product,
        .location = location,
        .lot = lot_id,
        .package = pkg_id,
        .expiry_day = expiry,
        .in_date_s = in_s,
        .on_hand = r->qty,
        .reserved = r->reserved,
    };
    in->quant_line[in->n_quants++] = line_no;
    return 0;
}

int plan_add_stock(struct plan_input *in, const struct plan_stock_rec *r, uint32_t line_no,
                   struct plan_line_err *e)
{
    return add_stock(in, r, true, line_no, e);
}

/* A string field of a JSON record: absent/null gives NULL, a non-string the error. */
static int opt_string(json_t *o, const char *key, const char *field, struct plan_line_err *e,
                      const char **out)
{
    json_t *v = opt(o, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return err_at(e, WCS_E_SYNTAX, field, "must be a string, got %s", show(v).s);
    *out = json_string_value(v);
    return 0;
}

/* An integer field of a JSON record; absent/null leaves *out. */
static int opt_integer(json_t *o, const char *key, const char *field, const char *form,
                       struct plan_line_err *e, int64_t *out)
{
    json_t *v = opt(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return err_at(e, WCS_E_SYNTAX, field, "%s, got %s", form, show(v).s);
    *out = json_integer_value(v);
    return 0;
}

static int parse_stock(struct plan_input *in, json_t *o, uint32_t line_no, struct plan_line_err *e)
{
    static const char *const keys[] = {"sku", "location", "lot",     "expiry", "in_date",
                                       "qty", "reserved", "package", NULL};
    struct plan_stock_rec r = {0};
    json_t *v;
    int rc;
    if ((rc = check_keys(o, keys, "", e)) < 0 ||
        (rc = opt_string(o, "sku", "sku", e, &r.sku)) < 0 ||
        (rc = opt_string(o, "location", "location", e, &r.location)) < 0 ||
        (rc = opt_string(o, "lot", "lot", e, &r.lot)) < 0 ||
        (rc = opt_string(o, "in_date", "in_date", e, &r.in_date)) < 0 ||
        (rc = opt_string(o, "package", "package", e, &r.package)) < 0)
        return rc;
    if ((v = opt(o, "expiry"))) {
        if (!json_is_string(v))
            return err_at(e, WCS_E_SYNTAX, "expiry", "must be a date YYYY-MM-DD, got %s",
                          show(v).s);
        r.expiry = json_string_value(v);
    }
    if ((rc = opt_integer(o, "qty", "qty", "must be a positive integer", e, &r.qty)) < 0)
        return rc;
    if ((v = opt(o, "reserved")) && !json_is_integer(v))
        return err_at(e, WCS_E_SYNTAX, "reserved", "must be an integer 0..qty (%lld), got %s",
                      (long long)r.qty, show(v).s);
    if (v)
        r.reserved = json_integer_value(v);
    return add_stock(in, &r, opt(o, "qty") != NULL, line_no, e);
}
/* ---- orders ---------------------------------------------------------------------------------- */

/* The cutoff of an order: on its ship date the first of the carrier's cutoffs at or after now,
 * or the date's last cutoff if all have passed (the order is then late); without a ship date
 * the next cutoff at or after now, today or tomorrow (docs/formats.md). */
static int order_cutoff(struct plan_site *s, uint32_t carrier, int32_t ship_day, bool has_day,
                        int64_t *cutoff, int32_t *day_out)
{
    const int64_t *c = NULL;
    uint32_t n = 0;
    int32_t day = has_day ? ship_day : s->today;
    for (int pass = 0; pass < 2; pass++, day++) {
        int rc = site_day_cutoffs(s, carrier, day, &c, &n);
        if (rc < 0)
            return rc;
        assert(n > 0); /* the config requires 1-48 cutoffs per carrier */
        for (uint32_t i = 0; i < n; i++)
            if (c[i] >= s->now_min) {
                *cutoff = c[i];
                *day_out = day;
                return 0;
            }
        if (has_day) {
            *cutoff = c[n - 1];
            *day_out = day;
            return 0;
        }
    }
    /* Tomorrow's cutoffs all before now cannot happen for a sane zone; take the last. */
    *cutoff = c[n - 1];
    *day_out = day - 1;
    return 0;
}

static int check_line(struct plan_input *in, const struct plan_line_rec *r, uint32_t idx,
                      struct pl_line *out, const char **lot_name, struct plan_line_err *e)
{
    const struct plan_site *s = in->site;
    char prefix[32], f[64];
    int rc;
    snprintf(prefix, sizeof(prefix), "lines[%u].", idx);
    *out = (struct pl_line){.lot = PL_NONE, .urgent = r->urgent ? 1 : 0};
    join(f, sizeof(f), prefix, "sku");
    if ((rc = lookup_c(s->skus, r->sku, f, "SKU", e, &out->product)) < 0)
        return rc;
    join(f, sizeof(f), prefix, "qty");
    if ((rc = check_qty(r->qty, f, e)) < 0)
        return rc;
    out->qty = r->qty;
    *lot_name = NULL;
    if (r->lot || r->serial) {
        const struct cfg_product *p = &s->cfg->products[out->product];
        join(f, sizeof(f), prefix, r->lot ? "lot" : "serial");
        if (r->lot && r->serial)
            return err_at(e, WCS_E_SYNTAX, f, "give lot or serial, not both");
        if (p->tracking == CFG_TRACK_NONE)
            return err_at(e, WCS_E_RANGE, f, "product %s is not tracked by lot or serial", p->sku);
        if (r->lot && p->tracking == CFG_TRACK_SERIAL)
            return err_at(e, WCS_E_RANGE, f, "product %s is serial-tracked: give \"serial\"",
                          p->sku);
        if (r->serial && p->tracking == CFG_TRACK_LOT)
            return err_at(e, WCS_E_RANGE, f, "product %s is lot-tracked: give \"lot\"", p->sku);
        if ((rc = need_cid(r->lot ? r->lot : r->serial, f, e)) < 0)
            return rc;
        *lot_name = r->lot ? r->lot : r->serial;
        if (r->serial && out->qty != 1) {
            join(f, sizeof(f), prefix, "qty");
            return err_at(e, WCS_E_RANGE, f, "must be 1 for a serial number, got %lld",
                          (long long)out->qty);
        }
    }
    return 0;
}

struct order_head {
    uint32_t carrier, zone;
    int32_t ship_day;
    bool has_day;
    uint8_t priority;
};

/* The order's own fields (not its lines), checked in the order the JSON reader reports them. */
static int check_head(struct plan_input *in, const struct plan_order_rec *r,
                      struct plan_line_err *e, struct order_head *h)
{
    struct plan_site *s = in->site;
    uint32_t prio_idx, seen;
    int rc;
    *h = (struct order_head){.zone = PL_ZONE_ANY};
    if ((rc = need_cid(r->order, "order", e)) < 0)
        return rc;
    if ((seen = idmap_get(in->order_ids, r->order, strlen(r->order))) != IDMAP_NONE)
        return err_at(e, WCS_E_DUPLICATE, "order", "duplicate order id \"%s\" (first on line %u)",
                      r->order, in->order_line[seen]);
    if (r->priority) {
        if ((rc = lookup_c(s->priorities, r->priority, "priority", "priority", e, &prio_idx)) < 0)
            return rc;
        uint32_t level = s->cfg->waves.n_priorities - prio_idx;
        h->priority = (uint8_t)(level > 255 ? 255 : level);
    } else if (s->cfg->waves.n_priorities) {
        h->priority = 1; /* the lowest named priority */
    }
    if ((rc = lookup_c(s->carriers, r->carrier, "carrier", "carrier", e, &h->carrier)) < 0)
        return rc;
    if (r->ship_date) {
        if ((rc = check_date(r->ship_date, "ship_date", e, &h->ship_day)) < 0)
            return rc;
        h->has_day = true;
    }
    if (r->zone && (rc = lookup_c(s->zones, r->zone, "zone", "zone", e, &h->zone)) < 0)
        return rc;
    return 0;
}

int plan_add_order(struct plan_input *in, const struct plan_order_rec *r, uint32_t line_no,
                   struct plan_line_err *e)
{
    struct plan_site *s = in->site;
    const char *lot_names[64];
    const char **names = lot_names;
    uint32_t seen, n = r->n_lines;
    struct order_head h;
    int32_t day;
    int64_t cutoff;
    int rc;
    if ((rc = check_head(in, r, e, &h)) < 0)
        return rc;
    if (n == 0 || !r->lines)
        return err_at(e, WCS_E_SYNTAX, "lines", "must be a non-empty array, got []");
    if (n > PLAN_LINES_MAX)
        return err_at(e, WCS_E_RANGE, "lines", "at most %d lines per order, got %u", PLAN_LINES_MAX,
                      n);
    if ((rc = reserve((void **)&in->lines, &in->lines_cap, in->n_lines + n, sizeof(*in->lines))) <
        0)
        return rc;
    if (n > 64 && !(names = malloc(n * sizeof(*names))))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = check_line(in, &r->lines[i], i, &in->lines[in->n_lines + i], &names[i], e)) < 0)
            goto out;
    if ((rc = order_cutoff(s, h.carrier, h.ship_day, h.has_day, &cutoff, &day)) < 0) {
        if (rc == WCS_E_STATE)
            err_at(e, rc, "ship_date", "cutoffs of this day were not prepared (plan_site_freeze)");
        goto out;
    }
    /* Valid: commit. */
    if ((rc = reserve((void **)&in->orders, &in->orders_cap, in->n_orders + 1,
                      sizeof(*in->orders))) < 0 ||
        (rc = reserve((void **)&in->order_line, &in->order_line_cap, in->n_orders + 1,
                      sizeof(*in->order_line))) < 0)
        goto out;
    for (uint32_t i = 0; i < n; i++) {
        struct pl_line *l = &in->lines[in->n_lines + i];
        l->order = in->n_orders;
        if (names[i] && (rc = intern_lot(in, l->product, names[i], &l->lot)) < 0)
            goto out;
    }
    if ((rc = idmap_put(in->order_ids, r->order, strlen(r->order), &seen)) < 0)
        goto out;
    in->orders[in->n_orders] = (struct pl_order){
        .first_line = in->n_lines,
        .n_lines = n,
        .carrier = h.carrier,
        .zone_hint = (uint16_t)h.zone,
        .priority = h.priority,
        .cutoff_min = cutoff,
        .ship_day = day,
    };
    in->order_line[in->n_orders++] = line_no;
    in->n_lines += n;
    rc = 0;
out:
    if (names != lot_names)
        free(names);
    return rc;
}

static int parse_line(json_t *l, uint32_t idx, struct plan_line_rec *out, struct plan_line_err *e)
{
    static const char *const keys[] = {"sku", "qty", "lot", "serial", "urgent", NULL};
    char prefix[32], f[64];
    json_t *v;
    int rc;
    snprintf(prefix, sizeof(prefix), "lines[%u].", idx);
    if (!json_is_object(l)) {
        snprintf(f, sizeof(f), "lines[%u]", idx);
        return err_at(e, WCS_E_SYNTAX, f, "must be an object, got %s", show(l).s);
    }
    if ((rc = check_keys(l, keys, prefix, e)) < 0)
        return rc;
    *out = (struct plan_line_rec){0};
    join(f, sizeof(f), prefix, "sku");
    if ((rc = opt_string(l, "sku", f, e, &out->sku)) < 0)
        return rc;
    join(f, sizeof(f), prefix, "qty");
    if (!opt(l, "qty"))
        return err_at(e, WCS_E_SYNTAX, f, "required");
    if ((rc = opt_integer(l, "qty", f, "must be a positive integer", e, &out->qty)) < 0)
        return rc;
    join(f, sizeof(f), prefix, "lot");
    if ((rc = opt_string(l, "lot", f, e, &out->lot)) < 0)
        return rc;
    join(f, sizeof(f), prefix, "serial");
    if ((rc = opt_string(l, "serial", f, e, &out->serial)) < 0)
        return rc;
    if ((v = opt(l, "urgent"))) {
        join(f, sizeof(f), prefix, "urgent");
        if (!json_is_boolean(v))
            return err_at(e, WCS_E_SYNTAX, f, "must be true or false, got %s", show(v).s);
        out->urgent = json_is_true(v);
    }
    return 0;
}

static int parse_order(struct plan_input *in, json_t *o, uint32_t line_no, struct plan_line_err *e)
{
    static const char *const keys[] = {"order", "priority", "carrier", "ship_date",
                                       "zone",  "lines",    NULL};
    struct plan_order_rec r = {0};
    struct plan_line_rec few[16], *lines = few;
    json_t *v, *arr;
    uint32_t n;
    int rc;
    if ((rc = check_keys(o, keys, "", e)) < 0 ||
        (rc = opt_string(o, "order", "order", e, &r.order)) < 0 ||
        (rc = opt_string(o, "priority", "priority", e, &r.priority)) < 0 ||
        (rc = opt_string(o, "carrier", "carrier", e, &r.carrier)) < 0 ||
        (rc = opt_string(o, "zone", "zone", e, &r.zone)) < 0)
        return rc;
    if ((v = opt(o, "ship_date"))) {
        if (!json_is_string(v))
            return err_at(e, WCS_E_SYNTAX, "ship_date", "must be a date YYYY-MM-DD, got %s",
                          show(v).s);
        r.ship_date = json_string_value(v);
    }
    struct order_head h;
    if ((rc = check_head(in, &r, e, &h)) < 0)
        return rc;
    arr = opt(o, "lines");
    if (!arr)
        return err_at(e, WCS_E_SYNTAX, "lines", "required");
    n = json_is_array(arr) ? (uint32_t)json_array_size(arr) : 0;
    if (!json_is_array(arr) || n == 0)
        return err_at(e, WCS_E_SYNTAX, "lines", "must be a non-empty array, got %s", show(arr).s);
    if (n > PLAN_LINES_MAX)
        return err_at(e, WCS_E_RANGE, "lines", "at most %d lines per order, got %u", PLAN_LINES_MAX,
                      n);
    if (n > 16 && !(lines = malloc(n * sizeof(*lines))))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = parse_line(json_array_get(arr, i), i, &lines[i], e)) < 0)
            goto out;
    r.lines = lines;
    r.n_lines = n;
    rc = plan_add_order(in, &r, line_no, e);
out:
    if (lines != few)
        free(lines);
    return rc;
}

/* ---- receipts -------------------------------------------------------------------------------- */

static int parse_receipt(struct plan_input *in, json_t *o, uint32_t line_no,
                         struct plan_line_err *e)
{
    static const char *const keys[] = {"sku", "qty", "lot", "expiry", "package_type", NULL};
    const struct plan_site *s = in->site;
    const char *lot;
    uint32_t product, lot_id = PL_NONE, pkg = PL_NONE;
    int32_t expiry = PL_NO_EXPIRY;
    int64_t qty = 0;
    json_t *v;
    int rc;
    if ((rc = check_keys(o, keys, "", e)) < 0 ||
        (rc = lookup(s->skus, opt(o, "sku"), "sku", "SKU", e, &product)) < 0 ||
        (rc = need_qty(opt(o, "qty"), "qty", e, &qty)) < 0 ||
        (rc = check_tracking(s, product, opt(o, "lot"), "lot", "lot", e, &lot)) < 0)
        return rc;
    const struct cfg_product *p = &s->cfg->products[product];
    if (p->tracking == CFG_TRACK_SERIAL && qty != 1)
        return err_at(e, WCS_E_RANGE, "qty",
                      "must be 1: product %s is serial-tracked (one receipt per serial), got "
                      "%lld",
                      p->sku, (long long)qty);
    v = opt(o, "expiry");
    if (p->expiry && !v)
        return err_at(e, WCS_E_RANGE, "expiry", "required: product %s has expiry dates", p->sku);
    if (v && !p->expiry)
        return err_at(e, WCS_E_RANGE, "expiry", "product %s has no expiry dates", p->sku);
    if (v && (rc = need_date(v, "expiry", e, &expiry)) < 0)
        return rc;
    if ((v = opt(o, "package_type"))) {
        if ((rc = lookup(s->pkg_types, v, "package_type", "package type", e, &pkg)) < 0)
            return rc;
    } else if (p->package_type) {
        pkg = idmap_get(s->pkg_types, p->package_type, strlen(p->package_type));
    }
    uint32_t n = in->n_receipts + 1;
    if ((rc = reserve((void **)&in->receipts, &in->receipts_cap, n, sizeof(*in->receipts))) < 0 ||
        (rc = reserve((void **)&in->receipt_expiry, &in->receipt_expiry_cap, n,
                      sizeof(*in->receipt_expiry))) < 0 ||
        (rc = reserve((void **)&in->receipt_line, &in->receipt_line_cap, n,
                      sizeof(*in->receipt_line))) < 0)
        return rc;
    if (lot && (rc = intern_lot(in, product, lot, &lot_id)) < 0)
        return rc;
    in->receipts[in->n_receipts] =
        (struct pl_receipt){.product = product, .lot = lot_id, .package_type = pkg, .qty = qty};
    in->receipt_expiry[in->n_receipts] = expiry;
    in->receipt_line[in->n_receipts++] = line_no;
    return 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

typedef int (*record_fn)(struct plan_input *in, json_t *o, uint32_t line_no,
                         struct plan_line_err *e);

static int parse_json(struct plan_input *in, const char *text, size_t len, uint32_t line_no,
                      struct plan_line_err *e, record_fn fn)
{
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int rc;
    if (!o) {
        err_at(e, WCS_E_SYNTAX, "json", "column %d: %s", je.column, je.text);
        e->column = je.column > 0 ? je.column : 1;
        return WCS_E_SYNTAX;
    }
    if (!json_is_object(o))
        rc = err_at(e, WCS_E_SYNTAX, "json", "a JSON object expected, got %s", type_name(o));
    else
        rc = fn(in, o, line_no, e);
    json_decref(o);
    return rc;
}

int plan_parse_stock(struct plan_input *in, const char *text, size_t len, uint32_t line_no,
                     struct plan_line_err *err)
{
    return parse_json(in, text, len, line_no, err, parse_stock);
}

int plan_parse_order(struct plan_input *in, const char *text, size_t len, uint32_t line_no,
                     struct plan_line_err *err)
{
    return parse_json(in, text, len, line_no, err, parse_order);
}

int plan_parse_receipt(struct plan_input *in, const char *text, size_t len, uint32_t line_no,
                       struct plan_line_err *err)
{
    return parse_json(in, text, len, line_no, err, parse_receipt);
}

void plan_errors_init(struct plan_errors *e)
{
    memset(e, 0, sizeof(*e));
}

void plan_errors_fini(struct plan_errors *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->count; i++)
        free(e->lines[i]);
    free(e->lines);
    memset(e, 0, sizeof(*e));
}

static int add_error(struct plan_errors *errs, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;
    if (errs->count >= PLAN_ERRORS_MAX) {
        errs->dropped++;
        return 0;
    }
    if (errs->count == errs->cap) {
        size_t cap = errs->cap ? errs->cap * 2 : 16;
        char **l = realloc(errs->lines, cap * sizeof(*l));
        if (!l)
            return -ENOMEM;
        errs->lines = l;
        errs->cap = cap;
    }
    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    errs->lines[errs->count++] = s;
    return 0;
}

int plan_read_file(struct plan_input *in, enum plan_kind kind, const char *path,
                   struct plan_errors *errs)
{
    static const record_fn fns[] = {parse_stock, parse_order, parse_receipt};
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint32_t line_no = 0;
    int rc = 0, bad = 0;
    if (!f) {
        rc = -errno;
        add_error(errs, "%s: cannot open: %s", path, strerror(-rc));
        return rc;
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        struct plan_line_err e;
        size_t len = (size_t)n;
        line_no++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (strspn(line, " \t") >= len)
            continue;
        rc = parse_json(in, line, len, line_no, &e, fns[kind]);
        if (rc == -ENOMEM)
            break;
        if (rc < 0) {
            bad = 1;
            if ((rc = add_error(errs, "%s:%u: %s: %s", path, line_no, e.field, e.msg)) < 0)
                break;
        }
        rc = 0;
    }
    if (rc == 0 && ferror(f)) {
        rc = -EIO;
        add_error(errs, "%s: read error", path);
    }
    free(line);
    fclose(f);
    if (rc < 0)
        return rc;
    return bad ? WCS_E_CONFIG : 0;
}
