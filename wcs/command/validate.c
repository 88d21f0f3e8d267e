/* Field validators of the MQTT commands (validate.h): one table row per command with its
 * allowed fields and its validator. Validators check JSON types with the bus's field helpers,
 * then ranges and references to the site config, and build the canonical JSON the store scripts
 * take. Pure: no I/O. */
#include "validate.h"

#include "base/err.h"
#include "bus/bus.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QTY_MAX            1073741824 /* 2^30 units, as docs/formats.md */
#define LINES_MAX          1000       /* lines in one order or RMA command */
#define TEXT_MAX           256        /* reasons and notes */
#define TRANSFER_LINES_MAX 32         /* lines of one transfer */

typedef int (*validate_fn)(const json_t *body, const struct cfg_site *site, struct cmd_args *a,
                           char *err, size_t err_len);

struct spec {
    const char *name;
    const char *fields; /* allowed fields besides request_id, ", "-separated */
    validate_fn validate;
};

static void seterr(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (!err || !len)
        return;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

void cmd_args_fini(struct cmd_args *a)
{
    if (!a)
        return;
    free(a->header_json);
    free(a->lines_json);
    memset(a, 0, sizeof(*a));
}

/* ---- field helpers ---- */

/* A required (or optional) identifier: 1..63 of [A-Za-z0-9_.-]. */
static int field_id(const json_t *o, const char *name, unsigned flags, const char **out, char *err,
                    size_t len)
{
    int rc = bus_field_string(o, name, flags, 1, STORE_ID_MAX - 1, out, err, len);
    if (rc != 0)
        return rc;
    if (store_id_check(*out) != 0) {
        seterr(err, len, "field \"%s\": expected 1..63 characters of [A-Za-z0-9_.-]", name);
        return WCS_E_SYNTAX;
    }
    return 0;
}

static const struct cfg_product *find_product(const struct cfg_site *site, const char *sku)
{
    int32_t i = cfg_find_product(site, sku);
    return i >= 0 ? &site->products[i] : NULL;
}

static int field_product(const json_t *o, const char *name, unsigned flags,
                         const struct cfg_site *site, const char **out,
                         const struct cfg_product **prod, char *err, size_t len)
{
    int rc = bus_field_string(o, name, flags, 1, STORE_ID_MAX - 1, out, err, len);
    if (rc != 0)
        return rc;
    if (!(*prod = find_product(site, *out))) {
        seterr(err, len, "field \"%s\": unknown product \"%s\"", name, *out);
        return WCS_E_UNKNOWN;
    }
    return 0;
}

/* A location of the config that can hold stock. */
static int field_location(const json_t *o, const char *name, const struct cfg_site *site,
                          const char **out, char *err, size_t len)
{
    int rc = bus_field_string(o, name, 0, 1, STORE_PATH_MAX - 1, out, err, len);
    int32_t i;
    if (rc != 0)
        return rc;
    i = cfg_find_location(site, *out);
    if (i < 0) {
        seterr(err, len, "field \"%s\": unknown location \"%s\"", name, *out);
        return WCS_E_UNKNOWN;
    }
    switch (site->locations[i].type) {
    case CFG_LOC_VIEW:
    case CFG_LOC_CUSTOMER:
    case CFG_LOC_SUPPLIER:
        seterr(err, len, "field \"%s\": %s is a %s location and holds no stock", name, *out,
               cfg_loc_type_name(site->locations[i].type));
        return WCS_E_RANGE;
    default:
        return 0;
    }
}

static int field_text(const json_t *o, const char *name, unsigned flags, const char **out,
                      char *err, size_t len)
{
    return bus_field_string(o, name, flags, 1, TEXT_MAX, out, err, len);
}

/* A lot for product p: required when it is tracked, refused when it is not. */
static int field_lot(const json_t *o, const char *name, const struct cfg_product *p,
                     const char **out, char *err, size_t len)
{
    int rc = field_id(o, name, BUS_FIELD_OPTIONAL, out, err, len);
    if (rc < 0)
        return rc;
    if (rc == 1 && p->tracking != CFG_TRACK_NONE) {
        seterr(err, len, "field \"%s\": required: product %s is tracked by %s", name, p->sku,
               p->tracking == CFG_TRACK_LOT ? "lot" : "serial");
        return WCS_E_RANGE;
    }
    if (rc == 0 && p->tracking == CFG_TRACK_NONE) {
        seterr(err, len, "field \"%s\": product %s is not tracked by lot or serial", name, p->sku);
        return WCS_E_RANGE;
    }
    return 0;
}

/* Rewrites `field "x": ...` of an error inside an array element to `field "arr[i].x": ...`. */
static void nest_err(char *err, size_t len, const char *arr, size_t i)
{
    char tail[CMD_ERR_MAX];
    const char *p = strncmp(err, "field \"", 7) == 0 ? err + 7 : NULL;
    if (!p)
        return;
    snprintf(tail, sizeof(tail), "%s", p);
    seterr(err, len, "field \"%s[%zu].%s", arr, i, tail);
}

/* Element i of an array "lines" of {sku, qty, lot?}: a product the site has, 1..QTY_MAX units,
 * and a lot only for a product tracked by lot or serial. Returns the lot's field_id code (0
 * given, 1 absent: *lot stays NULL), or the error (err names lines[i]). */
static int field_sku_line(const json_t *l, size_t i, const struct cfg_site *site, const char **sku,
                          int64_t *qty, const char **lot, char *err, size_t len)
{
    const struct cfg_product *p = NULL;
    int rc;
    *lot = NULL;
    if ((rc = field_product(l, "sku", 0, site, sku, &p, err, len)) < 0 ||
        (rc = bus_field_int(l, "qty", 0, 1, QTY_MAX, qty, err, len)) < 0 ||
        (rc = field_id(l, "lot", BUS_FIELD_OPTIONAL, lot, err, len)) < 0) {
        nest_err(err, len, "lines", i);
        return rc;
    }
    if (rc == 0 && p->tracking == CFG_TRACK_NONE) {
        seterr(err, len, "field \"lines[%zu].lot\": product %s is not tracked by lot or serial", i,
               *sku);
        return WCS_E_RANGE;
    }
    return rc;
}

/* Refuses keys of o outside `allowed` (", "-separated; "request_id" allowed when top). */
static int check_keys(const json_t *o, const char *allowed, bool top, const char *where, char *err,
                      size_t len)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t n = strlen(k);
        const char *p = allowed;
        bool ok = top && strcmp(k, "request_id") == 0;
        (void)v;
        while (!ok && p && *p) {
            const char *e = strstr(p, ", ");
            size_t m = e ? (size_t)(e - p) : strlen(p);
            ok = m == n && strncmp(p, k, n) == 0;
            p = e ? e + 2 : NULL;
        }
        if (!ok) {
            seterr(err, len, "field \"%s%.64s\": unknown field (allowed: %s)", where, k,
                   allowed[0] ? allowed : "none");
            return WCS_E_SYNTAX;
        }
    }
    return 0;
}

static bool date_ok(const char *s)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return false;
    return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

static bool zone_known(const struct cfg_site *site, const char *zone)
{
    for (uint32_t i = 0; i < site->n_locations; i++)
        if (site->locations[i].zone && strcmp(site->locations[i].zone, zone) == 0)
            return true;
    return false;
}

static bool carrier_known(const struct cfg_site *site, const char *code)
{
    for (uint32_t i = 0; i < site->waves.n_carriers; i++)
        if (strcmp(site->waves.carriers[i].code, code) == 0)
            return true;
    return false;
}

static int field_carrier(const json_t *o, unsigned flags, const struct cfg_site *site,
                         const char **out, char *err, size_t len)
{
    int rc = bus_field_string(o, "carrier", flags, 1, STORE_ID_MAX - 1, out, err, len);
    if (rc != 0)
        return rc;
    if (!carrier_known(site, *out)) {
        seterr(err, len, "field \"carrier\": unknown carrier \"%s\"", *out);
        return WCS_E_UNKNOWN;
    }
    return 0;
}

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

/* The array field `name` of 1..LINES_MAX objects with the keys of `allowed`. */
static int field_lines(const json_t *body, const char *name, const char *allowed, json_t **out,
                       char *err, size_t len)
{
    json_t *arr = json_object_get(body, name);
    char where[32];
    size_t i;
    json_t *l;
    if (!arr) {
        seterr(err, len, "field \"%s\": missing", name);
        return WCS_E_SYNTAX;
    }
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > LINES_MAX) {
        seterr(err, len, "field \"%s\": expected an array of 1..%d objects", name, LINES_MAX);
        return WCS_E_SYNTAX;
    }
    json_array_foreach(arr, i, l)
    {
        if (!json_is_object(l)) {
            seterr(err, len, "field \"%s[%zu]\": expected an object", name, i);
            return WCS_E_SYNTAX;
        }
        snprintf(where, sizeof(where), "%s[%zu].", name, i);
        if (check_keys(l, allowed, false, where, err, len) != 0)
            return WCS_E_SYNTAX;
    }
    *out = arr;
    return 0;
}

/* ---- validators ---- */

/* ship_to {name, street, city, postcode, country}: printed on the shipping label, so no
 * control characters and none of ZPL's command characters ^ and ~. Returns 1 (absent), 0 with
 * *out a new object, or a refusal. */
static int field_ship_to(const json_t *b, json_t **out, char *err, size_t len)
{
    static const char *const keys[] = {"name", "street", "city", "postcode", "country"};
    static const size_t max[] = {64, 64, 64, 16, 2};
    const json_t *o = json_object_get(b, "ship_to");
    const char *k;
    json_t *v, *res;
    if (!o)
        return 1;
    if (!json_is_object(o)) {
        seterr(err, len,
               "field \"ship_to\": expected an object {name, street, city, postcode, "
               "country}");
        return WCS_E_SYNTAX;
    }
    json_object_foreach((json_t *)o, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < 5; i++)
            known = known || strcmp(k, keys[i]) == 0;
        if (!known) {
            seterr(err, len,
                   "field \"ship_to.%s\": unknown field (allowed: name, street, city, "
                   "postcode, country)",
                   k);
            return WCS_E_SYNTAX;
        }
    }
    res = json_object();
    for (size_t i = 0; res && i < 5; i++) {
        const char *s = json_string_value(json_object_get(o, keys[i]));
        size_t n = s ? strlen(s) : 0;
        bool bad = !s || n == 0 || n > max[i];
        for (size_t c = 0; !bad && c < n; c++)
            bad = (unsigned char)s[c] < 0x20 || s[c] == '^' || s[c] == '~' || s[c] == 0x7f;
        if (!bad && i == 4)
            bad = n != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z';
        if (bad) {
            seterr(err, len,
                   i == 4 ? "field \"ship_to.country\": expected an ISO 3166-1 alpha-2 code "
                            "(two capital letters)"
                          : "field \"ship_to.%s\": expected a text of 1..%zu characters "
                            "without control characters, ^ or ~",
                   keys[i], max[i]);
            json_decref(res);
            return WCS_E_SYNTAX;
        }
        json_object_set_new(res, keys[i], json_string(s));
    }
    if (!res)
        return -ENOMEM;
    *out = res;
    return 0;
}

static int v_order_upsert(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                          char *err, size_t len)
{
    json_t *ship_to = NULL;
    json_t *arr, *l, *hdr, *lines;
    size_t i;
    int rc;
    if ((rc = field_id(b, "order", 0, &a->id, err, len)) < 0 ||
        (rc = field_carrier(b, 0, site, &a->carrier, err, len)) < 0)
        return rc;
    rc = bus_field_string(b, "priority", BUS_FIELD_OPTIONAL, 1, 63, &a->priority, err, len);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        bool known = false;
        for (uint32_t p = 0; p < site->waves.n_priorities; p++)
            known = known || strcmp(site->waves.priorities[p], a->priority) == 0;
        if (!known) {
            seterr(err, len, "field \"priority\": unknown priority \"%s\"", a->priority);
            return WCS_E_UNKNOWN;
        }
    }
    rc = bus_field_string(b, "ship_date", BUS_FIELD_OPTIONAL, 10, 10, &a->ship_date, err, len);
    if (rc < 0)
        return rc;
    if (rc == 0 && !date_ok(a->ship_date)) {
        seterr(err, len, "field \"ship_date\": expected a date YYYY-MM-DD, got \"%s\"",
               a->ship_date);
        return WCS_E_SYNTAX;
    }
    rc = bus_field_string(b, "zone", BUS_FIELD_OPTIONAL, 1, 63, &a->zone, err, len);
    if (rc < 0)
        return rc;
    if (rc == 0 && !zone_known(site, a->zone)) {
        seterr(err, len, "field \"zone\": unknown zone \"%s\"", a->zone);
        return WCS_E_UNKNOWN;
    }
    if ((rc = bus_field_bool(b, "draft", BUS_FIELD_OPTIONAL, &a->draft, err, len)) < 0)
        return rc;
    if ((rc = field_ship_to(b, &ship_to, err, len)) < 0)
        return rc;
    if ((rc = field_lines(b, "lines", "sku, qty, lot", &arr, err, len)) < 0) {
        json_decref(ship_to);
        return rc;
    }
    lines = json_array();
    json_array_foreach(arr, i, l)
    {
        const char *sku, *lot;
        int64_t qty;
        if ((rc = field_sku_line(l, i, site, &sku, &qty, &lot, err, len)) < 0) {
            json_decref(lines);
            json_decref(ship_to);
            return rc;
        }
        json_array_append_new(
            lines, rc == 0
                       ? json_pack("{s:s,s:I,s:s}", "sku", sku, "qty", (json_int_t)qty, "lot", lot)
                       : json_pack("{s:s,s:I}", "sku", sku, "qty", (json_int_t)qty));
    }
    hdr = json_pack("{s:s,s:s,s:s,s:s}", "carrier", a->carrier, "priority",
                    a->priority ? a->priority : "", "ship_date", a->ship_date ? a->ship_date : "",
                    "zone", a->zone ? a->zone : "");
    if (hdr && ship_to)
        json_object_set_new(hdr, "ship_to", ship_to);
    else
        json_decref(ship_to);
    a->header_json = dump(hdr);
    a->lines_json = dump(lines);
    return a->header_json && a->lines_json ? 0 : -ENOMEM;
}

static int v_order_id(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                      size_t len)
{
    (void)site;
    return field_id(b, "order", 0, &a->id, err, len);
}

static int v_wave_plan(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                       size_t len)
{
    int rc;
    if ((rc = field_id(b, "wave", 0, &a->id, err, len)) < 0 ||
        (rc = field_carrier(b, BUS_FIELD_OPTIONAL, site, &a->carrier, err, len)) < 0 ||
        (rc = bus_field_int(b, "max_orders", BUS_FIELD_OPTIONAL, 1, 10000, &a->max_orders, err,
                            len)) < 0)
        return rc;
    return 0;
}

static int v_wave_id(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                     size_t len)
{
    (void)site;
    return field_id(b, "wave", 0, &a->id, err, len);
}

static int v_label_reprint(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                           char *err, size_t len)
{
    int rc = field_id(b, "shipment", 0, &a->id, err, len);
    int32_t d;
    if (rc < 0 || (rc = field_id(b, "printer", BUS_FIELD_OPTIONAL, &a->printer, err, len)) < 0)
        return rc;
    if (rc == 0) {
        d = cfg_find_device(site, a->printer);
        if (d < 0 || site->devices[d].kind != CFG_DEV_PRINTER) {
            seterr(err, len, "field \"printer\": unknown printer \"%s\"", a->printer);
            return WCS_E_UNKNOWN;
        }
    }
    return 0;
}

static int v_alarm_ack(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                       size_t len)
{
    int rc;
    (void)site;
    if ((rc = field_id(b, "alarm", 0, &a->id, err, len)) < 0 ||
        (rc = field_text(b, "note", BUS_FIELD_OPTIONAL, &a->note, err, len)) < 0)
        return rc;
    return 0;
}

static uint64_t absq(int64_t q)
{
    return q < 0 ? (uint64_t)(-q) : (uint64_t)q;
}

static int v_inventory_adjust(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                              char *err, size_t len)
{
    const struct cfg_product *p = NULL;
    uint64_t q;
    int rc;
    if ((rc = field_product(b, "sku", 0, site, &a->sku, &p, err, len)) < 0 ||
        (rc = field_location(b, "location", site, &a->loc, err, len)) < 0 ||
        (rc = field_lot(b, "lot", p, &a->lot, err, len)) < 0 ||
        (rc = bus_field_int(b, "qty", 0, -QTY_MAX, QTY_MAX, &a->qty, err, len)) < 0 ||
        (rc = field_text(b, "reason", 0, &a->reason, err, len)) < 0)
        return rc;
    if (a->qty == 0) {
        seterr(err, len, "field \"qty\": expected a non-zero integer");
        return WCS_E_RANGE;
    }
    rc = bus_field_int(b, "unit_value_cents", BUS_FIELD_OPTIONAL, 0, 100000000,
                       &a->unit_value_cents, err, len);
    if (rc < 0)
        return rc;
    a->has_value = rc == 0;
    if (!a->has_value && site->adjust_value_threshold_cents > 0) {
        seterr(err, len,
               "field \"unit_value_cents\": missing: the site approves adjustments above %" PRIu64
               " cents",
               site->adjust_value_threshold_cents);
        return WCS_E_SYNTAX;
    }
    /* docs/config.md: qty_threshold 0 means every adjustment needs approval. */
    q = absq(a->qty);
    if (site->adjust_qty_threshold == 0) {
        a->needs_approval = true;
        snprintf(a->why, sizeof(a->why), "every adjustment needs approval");
    } else if (q > site->adjust_qty_threshold) {
        a->needs_approval = true;
        snprintf(a->why, sizeof(a->why), "quantity %" PRIu64 " above the threshold of %" PRIu32, q,
                 site->adjust_qty_threshold);
    } else if (a->has_value && site->adjust_value_threshold_cents > 0 &&
               q * (uint64_t)a->unit_value_cents > site->adjust_value_threshold_cents) {
        a->needs_approval = true;
        snprintf(a->why, sizeof(a->why),
                 "value %" PRIu64 " cents above the threshold of %" PRIu64 " cents",
                 q * (uint64_t)a->unit_value_cents, site->adjust_value_threshold_cents);
    }
    return 0;
}

static int v_adjust_approve(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                            char *err, size_t len)
{
    (void)site;
    return field_id(b, "approval", 0, &a->id, err, len);
}

static int v_rma_authorize(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                           char *err, size_t len)
{
    json_t *arr, *l, *lines;
    size_t i;
    int rc;
    if ((rc = field_id(b, "rma", 0, &a->id, err, len)) < 0 ||
        (rc = field_id(b, "order", 0, &a->order, err, len)) < 0 ||
        (rc = bus_field_bool(b, "credit", BUS_FIELD_OPTIONAL, &a->credit, err, len)) < 0 ||
        (rc = field_lines(b, "lines", "sku, qty", &arr, err, len)) < 0)
        return rc;
    lines = json_array();
    json_array_foreach(arr, i, l)
    {
        const struct cfg_product *p = NULL;
        const char *sku;
        int64_t qty;
        if ((rc = field_product(l, "sku", 0, site, &sku, &p, err, len)) < 0 ||
            (rc = bus_field_int(l, "qty", 0, 1, QTY_MAX, &qty, err, len)) < 0) {
            nest_err(err, len, "lines", i);
            json_decref(lines);
            return rc;
        }
        json_array_append_new(lines, json_pack("{s:s,s:I}", "sku", sku, "qty", (json_int_t)qty));
    }
    a->lines_json = dump(lines);
    return a->lines_json ? 0 : -ENOMEM;
}

static int v_device(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                    size_t len)
{
    int rc = bus_field_string(b, "device", 0, 1, 63, &a->id, err, len);
    if (rc < 0 || (rc = field_text(b, "reason", BUS_FIELD_OPTIONAL, &a->reason, err, len)) < 0)
        return rc;
    if (cfg_find_device(site, a->id) < 0) {
        seterr(err, len, "field \"device\": unknown device \"%s\"", a->id);
        return WCS_E_UNKNOWN;
    }
    return 0;
}

static int v_count_request(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                           char *err, size_t len)
{
    const struct cfg_product *p;
    int rc;
    if ((rc = field_location(b, "location", site, &a->loc, err, len)) < 0 ||
        (rc = field_product(b, "sku", BUS_FIELD_OPTIONAL, site, &a->sku, &p, err, len)) < 0)
        return rc;
    a->id = a->loc;
    return 0;
}

static int v_pack_reset(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                        size_t len)
{
    int rc = field_id(b, "station", 0, &a->id, err, len);
    if (rc < 0 || (rc = field_id(b, "order", BUS_FIELD_OPTIONAL, &a->order, err, len)) < 0)
        return rc;
    for (uint32_t i = 0; i < site->n_stations; i++)
        if (strcmp(site->stations[i].id, a->id) == 0 && site->stations[i].kind == CFG_STATION_PACK)
            return 0;
    seterr(err, len, "field \"station\": unknown pack station \"%s\"", a->id);
    return WCS_E_UNKNOWN;
}

static int v_batch_claim(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                         char *err, size_t len)
{
    int rc;
    (void)site;
    if ((rc = field_id(b, "batch", BUS_FIELD_OPTIONAL, &a->id, err, len)) < 0)
        return rc;
    return 0;
}

/* pick.confirm and pick.short: the scan itself is decoded by the executor (scan.c), which knows
 * the date the GS1 century rule counts from. */
static int v_pick(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                  size_t len, bool is_short)
{
    int rc;
    unsigned opt = is_short ? BUS_FIELD_OPTIONAL : 0;
    (void)site;
    if ((rc = field_id(b, "task", 0, &a->id, err, len)) < 0 ||
        (rc = bus_field_int(b, "qty", 0, is_short ? 0 : 1, QTY_MAX, &a->qty, err, len)) < 0)
        return rc;
    if ((rc = bus_field_string(b, "location", opt, 1, STORE_PATH_MAX - 1, &a->loc, err, len)) < 0 ||
        (rc = bus_field_string(b, "scan", opt, 1, 256, &a->scan, err, len)) < 0 ||
        (rc = field_id(b, "tote", opt, &a->tote, err, len)) < 0)
        return rc;
    if (is_short && a->qty > 0 && (!a->loc || !a->scan || !a->tote)) {
        seterr(err, len, "field \"%s\": missing: a short pick of qty > 0 is scanned as a confirm",
               !a->loc    ? "location"
               : !a->scan ? "scan"
                          : "tote");
        return WCS_E_SYNTAX;
    }
    return 0;
}

static int v_pick_confirm(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                          char *err, size_t len)
{
    return v_pick(b, site, a, err, len, false);
}

static int v_pick_short(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                        size_t len)
{
    return v_pick(b, site, a, err, len, true);
}

/* ---- replenishment (docs/mqtt.md, "Replenishment") ---- */

static int v_replen_claim(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                          char *err, size_t len)
{
    int rc;
    (void)site;
    return (rc = field_id(b, "task", 0, &a->id, err, len)) < 0 ? rc : 0;
}

/* replen.confirm: the source as scanned in loc, the face as scanned in to (the scans are
 * checked against the task by the script; the product scan is decoded by the executor). */
static int v_replen_confirm(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                            char *err, size_t len)
{
    int rc;
    (void)site;
    if ((rc = field_id(b, "task", 0, &a->id, err, len)) < 0 ||
        (rc = bus_field_string(b, "from", 0, 1, STORE_PATH_MAX - 1, &a->loc, err, len)) < 0 ||
        (rc = bus_field_string(b, "scan", 0, 1, 256, &a->scan, err, len)) < 0 ||
        (rc = bus_field_int(b, "qty", 0, 1, QTY_MAX, &a->qty, err, len)) < 0 ||
        (rc = bus_field_string(b, "to", 0, 1, STORE_PATH_MAX - 1, &a->to, err, len)) < 0)
        return rc;
    return 0;
}

/* ---- receiving and returns (docs/mqtt.md, "Receiving and returns") ---- */

static int field_station(const json_t *b, const struct cfg_site *site, enum cfg_station_kind kind,
                         const char **out, char *err, size_t len)
{
    int rc = field_id(b, "station", 0, out, err, len);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < site->n_stations; i++)
        if (strcmp(site->stations[i].id, *out) == 0 && site->stations[i].kind == kind) {
            if (site->stations[i].location < 0) {
                seterr(err, len, "field \"station\": station %s has no location", *out);
                return WCS_E_RANGE;
            }
            return 0;
        }
    seterr(err, len, "field \"station\": unknown %s station \"%s\"",
           kind == CFG_STATION_RECEIVE ? "receive" : "return", *out);
    return WCS_E_UNKNOWN;
}

/* A location of the config of one type. */
static int field_location_of(const json_t *b, const char *name, const struct cfg_site *site,
                             enum cfg_loc_type type, const char **out, char *err, size_t len)
{
    int rc = field_location(b, name, site, out, err, len);
    int32_t i;
    if (rc < 0)
        return rc;
    i = cfg_find_location(site, *out);
    if (site->locations[i].type != type) {
        seterr(err, len, "field \"%s\": %s is a %s location, expected a %s location", name, *out,
               cfg_loc_type_name(site->locations[i].type), cfg_loc_type_name(type));
        return WCS_E_RANGE;
    }
    return 0;
}

static int v_receipt_expect(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                            char *err, size_t len)
{
    json_t *arr, *l, *lines;
    size_t i;
    int64_t units = 0;
    int rc;
    if ((rc = field_id(b, "receipt", 0, &a->id, err, len)) < 0 ||
        (rc = field_text(b, "supplier", BUS_FIELD_OPTIONAL, &a->supplier, err, len)) < 0 ||
        (rc = bus_field_string(b, "warehouse", BUS_FIELD_OPTIONAL, 1, 63, &a->warehouse, err,
                               len)) < 0)
        return rc;
    if (rc == 0) {
        bool known = false;
        for (uint32_t w = 0; w < site->n_warehouses; w++)
            known = known || strcmp(site->warehouses[w].code, a->warehouse) == 0;
        if (!known) {
            seterr(err, len, "field \"warehouse\": unknown warehouse \"%s\"", a->warehouse);
            return WCS_E_UNKNOWN;
        }
    }
    if ((rc = field_lines(b, "lines", "sku, qty, lot, expiry", &arr, err, len)) < 0)
        return rc;
    lines = json_array();
    json_array_foreach(arr, i, l)
    {
        const struct cfg_product *p = NULL;
        const char *sku, *lot = NULL, *expiry = NULL;
        int64_t qty;
        int rl = 1, re = 1;
        if ((rc = field_product(l, "sku", 0, site, &sku, &p, err, len)) < 0 ||
            (rc = bus_field_int(l, "qty", 0, 1, QTY_MAX, &qty, err, len)) < 0 ||
            (rc = rl = field_id(l, "lot", BUS_FIELD_OPTIONAL, &lot, err, len)) < 0 ||
            (rc = re = bus_field_string(l, "expiry", BUS_FIELD_OPTIONAL, 10, 10, &expiry, err,
                                        len)) < 0) {
            nest_err(err, len, "lines", i);
            json_decref(lines);
            return rc;
        }
        if (rl == 0 && p->tracking == CFG_TRACK_NONE) {
            seterr(err, len, "field \"lines[%zu].lot\": product %s is not tracked by lot or serial",
                   i, sku);
            json_decref(lines);
            return WCS_E_RANGE;
        }
        if (re == 0 && (!date_ok(expiry) || !p->expiry)) {
            if (!p->expiry)
                seterr(err, len, "field \"lines[%zu].expiry\": product %s has no expiry dates", i,
                       sku);
            else
                seterr(err, len, "field \"lines[%zu].expiry\": expected a date YYYY-MM-DD", i);
            json_decref(lines);
            return !p->expiry ? WCS_E_RANGE : WCS_E_SYNTAX;
        }
        if (units + qty > QTY_MAX) {
            seterr(err, len, "field \"lines\": more than %d units", QTY_MAX);
            json_decref(lines);
            return WCS_E_RANGE;
        }
        units += qty;
        json_t *o = json_pack("{s:s,s:I}", "sku", sku, "qty", (json_int_t)qty);
        if (o && rl == 0)
            json_object_set_new(o, "lot", json_string(lot));
        if (o && re == 0)
            json_object_set_new(o, "expiry", json_string(expiry));
        json_array_append_new(lines, o);
    }
    a->qty = units;
    a->lines_json = dump(lines);
    return a->lines_json ? 0 : -ENOMEM;
}

static int v_receipt_scan(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                          char *err, size_t len)
{
    int rc;
    if ((rc = field_id(b, "receipt", 0, &a->id, err, len)) < 0 ||
        (rc = field_station(b, site, CFG_STATION_RECEIVE, &a->station, err, len)) < 0 ||
        (rc = bus_field_string(b, "scan", 0, 1, 256, &a->scan, err, len)) < 0 ||
        (rc = bus_field_int(b, "qty", BUS_FIELD_OPTIONAL, 1, QTY_MAX, &a->qty, err, len)) < 0)
        return rc;
    a->qty_given = rc == 0;
    if ((rc = bus_field_bool(b, "allow_over", BUS_FIELD_OPTIONAL, &a->allow_over, err, len)) < 0)
        return rc;
    return 0;
}

static int v_receipt_id(const json_t *b, const struct cfg_site *site, struct cmd_args *a, char *err,
                        size_t len)
{
    (void)site;
    return field_id(b, "receipt", 0, &a->id, err, len);
}

static int field_decision(const json_t *b, const char *const *values, struct cmd_args *a, char *err,
                          size_t len)
{
    int k = 0, rc = bus_field_enum(b, "decision", 0, values, &k, err, len);
    if (rc < 0)
        return rc;
    a->decision = values[k];
    return 0;
}

static int v_quality_release(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                             char *err, size_t len)
{
    static const char *const decisions[] = {"release", "scrap", NULL};
    const struct cfg_product *p = NULL;
    int rc;
    if ((rc = field_product(b, "sku", 0, site, &a->sku, &p, err, len)) < 0 ||
        (rc = field_location_of(b, "location", site, CFG_LOC_QUALITY, &a->loc, err, len)) < 0 ||
        (rc = field_lot(b, "lot", p, &a->lot, err, len)) < 0 ||
        (rc = bus_field_int(b, "qty", 0, 1, QTY_MAX, &a->qty, err, len)) < 0 ||
        (rc = field_decision(b, decisions, a, err, len)) < 0 ||
        (rc = field_text(b, "note", BUS_FIELD_OPTIONAL, &a->note, err, len)) < 0)
        return rc;
    a->id = a->sku;
    return 0;
}

static int v_putaway_confirm(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                             char *err, size_t len)
{
    int rc;
    if ((rc = field_id(b, "task", 0, &a->id, err, len)) < 0 ||
        (rc = field_location(b, "location", site, &a->loc, err, len)) < 0 ||
        (rc = bus_field_int(b, "qty", BUS_FIELD_OPTIONAL, 1, QTY_MAX, &a->qty, err, len)) < 0)
        return rc;
    a->qty_given = rc == 0;
    return 0;
}

static int v_return_receive(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                            char *err, size_t len)
{
    int rc;
    if ((rc = field_id(b, "rma", 0, &a->id, err, len)) < 0 ||
        (rc = field_station(b, site, CFG_STATION_RETURN, &a->station, err, len)) < 0 ||
        (rc = bus_field_string(b, "scan", 0, 1, 256, &a->scan, err, len)) < 0 ||
        (rc = bus_field_int(b, "qty", 0, 1, QTY_MAX, &a->qty, err, len)) < 0)
        return rc;
    a->qty_given = true;
    return 0;
}

static int v_return_inspect(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                            char *err, size_t len)
{
    static const char *const decisions[] = {"restock", "scrap", NULL};
    const struct cfg_product *p = NULL;
    int rc;
    if ((rc = field_id(b, "rma", 0, &a->id, err, len)) < 0 ||
        (rc = field_product(b, "sku", 0, site, &a->sku, &p, err, len)) < 0 ||
        (rc = field_lot(b, "lot", p, &a->lot, err, len)) < 0 ||
        (rc = bus_field_int(b, "qty", 0, 1, QTY_MAX, &a->qty, err, len)) < 0 ||
        (rc = field_decision(b, decisions, a, err, len)) < 0 ||
        (rc = field_text(b, "note", BUS_FIELD_OPTIONAL, &a->note, err, len)) < 0)
        return rc;
    return 0;
}

/* Refuses a (sku, lot) listed twice in an array of canonical lines. */
static int no_duplicates(const json_t *lines, const char *arr, char *err, size_t len)
{
    size_t n = json_array_size(lines);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++) {
            const json_t *a = json_array_get(lines, i), *b = json_array_get(lines, k);
            const char *la = json_string_value(json_object_get(a, "lot"));
            const char *lb = json_string_value(json_object_get(b, "lot"));
            if (strcmp(json_string_value(json_object_get(a, "sku")),
                       json_string_value(json_object_get(b, "sku"))) == 0 &&
                strcmp(la ? la : "", lb ? lb : "") == 0) {
                seterr(err, len, "field \"%s[%zu]\": %s%s%s is listed twice (as %s[%zu])", arr, i,
                       json_string_value(json_object_get(a, "sku")), la && la[0] ? " lot " : "",
                       la ? la : "", arr, k);
                return WCS_E_SYNTAX;
            }
        }
    return 0;
}

/* count.submit: the counts array may be empty (an empty location: everything there counts 0). */
static int v_count_submit(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                          char *err, size_t len)
{
    const json_t *arr;
    json_t *l, *out;
    size_t i;
    int rc;
    if ((rc = field_id(b, "task", 0, &a->id, err, len)) < 0 ||
        (rc = field_location(b, "location", site, &a->loc, err, len)) < 0)
        return rc;
    arr = json_object_get(b, "counts");
    if (!arr) {
        seterr(err, len, "field \"counts\": missing");
        return WCS_E_SYNTAX;
    }
    if (!json_is_array(arr) || json_array_size(arr) > LINES_MAX) {
        seterr(err, len, "field \"counts\": expected an array of 0..%d objects", LINES_MAX);
        return WCS_E_SYNTAX;
    }
    out = json_array();
    json_array_foreach(arr, i, l)
    {
        const struct cfg_product *p = NULL;
        const char *sku, *lot = NULL;
        char where[32];
        int64_t qty, unit = -1;
        if (!json_is_object(l)) {
            seterr(err, len, "field \"counts[%zu]\": expected an object", i);
            json_decref(out);
            return WCS_E_SYNTAX;
        }
        snprintf(where, sizeof(where), "counts[%zu].", i);
        if ((rc = check_keys(l, "sku, lot, qty, unit_value_cents", false, where, err, len)) < 0 ||
            (rc = field_product(l, "sku", 0, site, &sku, &p, err, len)) < 0 ||
            (rc = field_lot(l, "lot", p, &lot, err, len)) < 0 ||
            (rc = bus_field_int(l, "qty", 0, 0, QTY_MAX, &qty, err, len)) < 0 ||
            (rc = bus_field_int(l, "unit_value_cents", BUS_FIELD_OPTIONAL, 0, 100000000, &unit, err,
                                len)) < 0) {
            if (strncmp(err, "field \"counts[", 14) != 0)
                nest_err(err, len, "counts", i);
            json_decref(out);
            return rc;
        }
        json_array_append_new(out, json_pack("{s:s,s:s,s:I,s:I}", "sku", sku, "lot", lot ? lot : "",
                                             "qty", (json_int_t)qty, "unit",
                                             (json_int_t)(rc == 1 ? -1 : unit)));
    }
    if ((rc = no_duplicates(out, "counts", err, len)) < 0) {
        json_decref(out);
        return rc;
    }
    a->lines_json = dump(out);
    return a->lines_json ? 0 : -ENOMEM;
}

int32_t cmd_transit_location(const struct cfg_site *site, uint32_t w)
{
    for (uint32_t i = 0; i < site->n_locations; i++)
        if (site->locations[i].warehouse == w && site->locations[i].type == CFG_LOC_TRANSIT)
            return (int32_t)i;
    return -1;
}

int32_t cmd_receiving_location(const struct cfg_site *site, uint32_t w)
{
    for (uint32_t i = 0; i < site->n_locations; i++)
        if (site->locations[i].warehouse == w && site->locations[i].type == CFG_LOC_INPUT)
            return (int32_t)i;
    for (uint32_t i = 0; i < site->n_locations; i++)
        if (site->locations[i].warehouse == w && site->locations[i].type == CFG_LOC_INTERNAL)
            return (int32_t)i;
    return -1;
}

static int field_warehouse(const json_t *o, const char *name, const struct cfg_site *site,
                           const char **out, uint32_t *index, char *err, size_t len)
{
    int rc = field_id(o, name, 0, out, err, len);
    if (rc < 0)
        return rc;
    for (uint32_t w = 0; w < site->n_warehouses; w++)
        if (strcmp(site->warehouses[w].code, *out) == 0) {
            *index = w;
            return 0;
        }
    seterr(err, len, "field \"%s\": unknown warehouse \"%s\"", name, *out);
    return WCS_E_UNKNOWN;
}

/* Transfer lines [{sku, qty, lot?}] (lot optional: any lot when absent), canonical with "lot"
 * "" for none. required: the field must be there (transfer.create). */
static int transfer_lines(const json_t *b, const struct cfg_site *site, bool required,
                          struct cmd_args *a, char *err, size_t len)
{
    json_t *arr, *l, *out;
    size_t i;
    int rc;
    if (!required && !json_object_get(b, "lines"))
        return 0;
    if ((rc = field_lines(b, "lines", "sku, qty, lot", &arr, err, len)) < 0)
        return rc;
    if (json_array_size(arr) > TRANSFER_LINES_MAX) {
        seterr(err, len, "field \"lines\": expected an array of 1..%d objects", TRANSFER_LINES_MAX);
        return WCS_E_SYNTAX;
    }
    out = json_array();
    json_array_foreach(arr, i, l)
    {
        const char *sku, *lot;
        int64_t qty;
        if ((rc = field_sku_line(l, i, site, &sku, &qty, &lot, err, len)) < 0) {
            json_decref(out);
            return rc;
        }
        json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "sku", sku, "lot", lot ? lot : "",
                                             "qty", (json_int_t)qty));
    }
    if ((rc = no_duplicates(out, "lines", err, len)) < 0) {
        json_decref(out);
        return rc;
    }
    a->lines_json = dump(out);
    return a->lines_json ? 0 : -ENOMEM;
}

static int v_transfer_create(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                             char *err, size_t len)
{
    uint32_t from = 0, to = 0;
    int rc;
    if ((rc = field_id(b, "transfer", 0, &a->id, err, len)) < 0 ||
        (rc = field_warehouse(b, "from_warehouse", site, &a->from_wh, &from, err, len)) < 0 ||
        (rc = field_warehouse(b, "to_warehouse", site, &a->to_wh, &to, err, len)) < 0)
        return rc;
    if (from == to) {
        seterr(err, len, "field \"to_warehouse\": the transfer must leave warehouse %s",
               a->from_wh);
        return WCS_E_RANGE;
    }
    a->transit_loc = cmd_transit_location(site, from);
    if (a->transit_loc < 0) {
        seterr(err, len,
               "field \"from_warehouse\": warehouse %s has no transit location (type: transit)",
               a->from_wh);
        return WCS_E_RANGE;
    }
    a->dest_loc = cmd_receiving_location(site, to);
    if (a->dest_loc < 0) {
        seterr(err, len,
               "field \"to_warehouse\": warehouse %s has no input or internal location to "
               "receive into",
               a->to_wh);
        return WCS_E_RANGE;
    }
    return transfer_lines(b, site, true, a, err, len);
}

static int v_transfer_id(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                         char *err, size_t len)
{
    (void)site;
    return field_id(b, "transfer", 0, &a->id, err, len);
}

static int v_transfer_receive(const json_t *b, const struct cfg_site *site, struct cmd_args *a,
                              char *err, size_t len)
{
    int rc = field_id(b, "transfer", 0, &a->id, err, len);
    if (rc < 0)
        return rc;
    return transfer_lines(b, site, false, a, err, len);
}

static const struct spec specs[] = {
    {"order.upsert", "order, carrier, priority, ship_date, zone, ship_to, draft, lines",
     v_order_upsert},
    {"order.cancel", "order", v_order_id},
    {"order.hold", "order", v_order_id},
    {"order.release", "order", v_order_id},
    {"wave.plan", "wave, carrier, max_orders", v_wave_plan},
    {"wave.release", "wave", v_wave_id},
    {"wave.cancel", "wave", v_wave_id},
    {"label.reprint", "shipment, printer", v_label_reprint},
    {"alarm.ack", "alarm, note", v_alarm_ack},
    {"inventory.adjust", "sku, location, lot, qty, reason, unit_value_cents", v_inventory_adjust},
    {"adjust.approve", "approval", v_adjust_approve},
    {"rma.authorize", "rma, order, lines, credit", v_rma_authorize},
    {"device.enable", "device, reason", v_device},
    {"device.disable", "device, reason", v_device},
    {"count.request", "location, sku", v_count_request},
    {"pack.reset", "station, order", v_pack_reset},
    {"batch.claim", "batch", v_batch_claim},
    {"receipt.expect", "receipt, supplier, warehouse, lines", v_receipt_expect},
    {"receipt.scan", "receipt, station, scan, qty, allow_over", v_receipt_scan},
    {"receipt.close", "receipt", v_receipt_id},
    {"quality.release", "sku, location, lot, qty, decision, note", v_quality_release},
    {"putaway.confirm", "task, location, qty", v_putaway_confirm},
    {"return.receive", "rma, station, scan, qty", v_return_receive},
    {"return.inspect", "rma, sku, lot, qty, decision, note", v_return_inspect},
    {"count.submit", "task, location, counts", v_count_submit},
    {"transfer.create", "transfer, from_warehouse, to_warehouse, lines", v_transfer_create},
    {"transfer.ship", "transfer", v_transfer_id},
    {"transfer.receive", "transfer, lines", v_transfer_receive},
    {"pick.confirm", "task, location, scan, qty, tote", v_pick_confirm},
    {"pick.short", "task, qty, tote, scan, location", v_pick_short},
    {"replen.claim", "task", v_replen_claim},
    {"replen.confirm", "task, from, scan, qty, to", v_replen_confirm},
    {NULL, NULL, NULL},
};

static const struct spec *find_spec(const char *name)
{
    for (const struct spec *s = specs; name && s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

bool cmd_known(const char *command)
{
    return find_spec(command) != NULL;
}

int cmd_validate(const char *command, const json_t *body, const struct cfg_site *site,
                 struct cmd_args *out, char *err, size_t err_len)
{
    const struct spec *s = find_spec(command);
    int rc;
    memset(out, 0, sizeof(*out));
    if (!s) {
        seterr(err, err_len, "unknown command \"%s\"", command ? command : "");
        return WCS_E_UNKNOWN;
    }
    if (!json_is_object(body)) {
        seterr(err, err_len, "expected a JSON object");
        return WCS_E_SYNTAX;
    }
    rc = check_keys(body, s->fields, true, "", err, err_len);
    if (rc == 0)
        rc = s->validate(body, site, out, err, err_len);
    if (rc < 0)
        cmd_args_fini(out);
    return rc < 0 ? rc : 0;
}

bool cmd_pattern_matches(const char *pattern, const char *command)
{
    size_t n = strlen(pattern);
    if (strcmp(pattern, "*") == 0 || strcmp(pattern, command) == 0)
        return true;
    /* "noun.*": every command of the noun. */
    return n >= 2 && strcmp(pattern + n - 2, ".*") == 0 && strncmp(pattern, command, n - 1) == 0;
}

enum cmd_need cmd_need_of(const char *command, const struct cmd_args *args)
{
    if (strcmp(command, "device.disable") == 0)
        return CMD_NEED_SUPERVISOR;
    if (strcmp(command, "rma.authorize") == 0 && args && args->credit)
        return CMD_NEED_SUPERVISOR;
    if (strcmp(command, "adjust.approve") == 0)
        return CMD_NEED_APPROVER;
    return CMD_NEED_ROLE;
}

static void role_list(const struct cfg_site *site, const struct cfg_user *u, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < u->n_roles && used < n; i++) {
        int k =
            snprintf(buf + used, n - used, "%s%s", i ? ", " : "", site->roles[u->roles[i]].name);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (u->n_roles == 0)
        snprintf(buf, n, "none");
}

int cmd_authorize(const struct cfg_site *site, const char *user, const char *command,
                  enum cmd_need need, char *err, size_t err_len)
{
    const struct cfg_user *u = NULL;
    bool allowed = false, approver = false;
    char roles[128];
    for (uint32_t i = 0; i < site->n_users && !u; i++)
        if (strcmp(site->users[i].name, user) == 0)
            u = &site->users[i];
    if (!u) {
        seterr(err, err_len, "user \"%s\" is not configured", user);
        return WCS_E_DENIED;
    }
    for (uint32_t i = 0; i < u->n_roles; i++) {
        const struct cfg_role *r = &site->roles[u->roles[i]];
        for (uint32_t j = 0; j < r->n_commands; j++)
            allowed = allowed || cmd_pattern_matches(r->commands[j], command);
        approver = approver || r->approve;
    }
    role_list(site, u, roles, sizeof(roles));
    if (!allowed) {
        seterr(err, err_len, "user \"%s\" (roles %s) may not run \"%s\"", user, roles, command);
        return WCS_E_DENIED;
    }
    if (need == CMD_NEED_SUPERVISOR && !approver) {
        seterr(err, err_len,
               "\"%s\" needs a supervisor role (approve: true); user \"%s\" has roles %s", command,
               user, roles);
        return WCS_E_DENIED;
    }
    if (need == CMD_NEED_APPROVER && !approver) {
        seterr(err, err_len, "user \"%s\" has no role that may approve adjustments (approve: true)",
               user);
        return WCS_E_DENIED;
    }
    return 0;
}
