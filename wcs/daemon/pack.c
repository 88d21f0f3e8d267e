/* The pure parts of the packing flow (pack.h): scan classification over the shared scan
 * decoder (scan_decode, wcs/command/scan.h), the session's contents and item verification, the
 * expected weight and the tolerance, the SSCC, and the JSON of the persisted session. */
#include "daemon/pack.h"

#include "base/err.h"
#include "command/scan.h"
#include "drivers/codec/gs1.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- scans ---- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

int pack_gtin14(const char *gtin, char out[PACK_GTIN_LEN + 1])
{
    size_t n = gtin ? strlen(gtin) : 0;
    /* The GTIN lengths of the config (scan_gtin14 pads any of 8..14). */
    if ((n != 8 && n != 12 && n != 13 && n != 14) || !scan_gtin14(gtin, out))
        return WCS_E_SYNTAX;
    return 0;
}

/* Copies a lot or serial element into dst (cap bytes) when it is a store identifier; sets
 * *invalid otherwise (the scan is then refused by the verification, not here). */
static void take_id(const struct gs1_element *e, char *dst, size_t cap, bool *invalid)
{
    if (e->value_len < cap && store_id_check(e->value) == 0)
        memcpy(dst, e->value, e->value_len + 1);
    else
        *invalid = true;
}

int pack_scan_parse(const char *aim, const char *data, size_t len, struct pack_scan *out)
{
    char buf[SCAN_TEXT_MAX];
    struct scan_decoded sd;
    size_t alen = aim ? strlen(aim) : 0;

    memset(out, 0, sizeof(*out));
    if (!data || len == 0 || alen > 3 || alen + len > sizeof(buf) || memchr(data, '\0', len))
        return WCS_E_SYNTAX;
    memcpy(buf, aim ? aim : "", alen);
    memcpy(buf + alen, data, len);
    /* The shared decoder (wcs/command/scan.h): GS1 strings, EAN/UPC and plain GTINs. */
    if (scan_decode(buf, alen + len, &sd, NULL, 0) != 0)
        return WCS_E_SYNTAX;
    if (sd.n > 0) {
        /* Unlike a pick or receipt scan, a station scan may be a carton's SSCC (AI 00: a tote)
         * and keeps an item whose lot or serial is no identifier, for the verification to
         * refuse as a wrong item with the session counted. */
        const struct gs1_element *gtin = NULL, *lot = NULL, *sscc = NULL, *ser = NULL;
        for (size_t i = 0; i < sd.n; i++) {
            if (strcmp(sd.el[i].ai, "01") == 0)
                gtin = &sd.el[i];
            else if (strcmp(sd.el[i].ai, "10") == 0)
                lot = &sd.el[i];
            else if (strcmp(sd.el[i].ai, "21") == 0)
                ser = &sd.el[i];
            else if (strcmp(sd.el[i].ai, "00") == 0)
                sscc = &sd.el[i];
        }
        if (gtin && gtin->value_len == PACK_GTIN_LEN) {
            out->kind = PACK_SCAN_ITEM;
            memcpy(out->gtin, gtin->value, PACK_GTIN_LEN + 1);
            if (lot)
                take_id(lot, out->lot, sizeof(out->lot), &out->lot_invalid);
            if (ser)
                take_id(ser, out->serial, sizeof(out->serial), &out->serial_invalid);
            return 0;
        }
        if (sscc) {
            out->kind = PACK_SCAN_TOTE;
            memcpy(out->tote, sscc->value, sscc->value_len + 1);
            return 0;
        }
        memset(out, 0, sizeof(*out));
        return WCS_E_SYNTAX;
    }
    if (sd.gs1 || sd.data_len == 0 || sd.data_len >= sizeof(out->tote) ||
        store_id_check(sd.data) != 0)
        return WCS_E_SYNTAX;
    /* Plain data that is no GTIN: a tote's LPN. */
    memcpy(out->tote, sd.data, sd.data_len + 1);
    out->kind = PACK_SCAN_TOTE;
    return 0;
}

/* ---- session ---- */

static const char *const step_names[] = {"idle", "verify", "weigh", "label"};

const char *pack_step_name(enum pack_step st)
{
    return (unsigned)st < 4 ? step_names[st] : "?";
}

int pack_step_parse(const char *s, enum pack_step *out)
{
    for (unsigned i = 0; s && i < 4; i++)
        if (strcmp(s, step_names[i]) == 0) {
            *out = (enum pack_step)i;
            return 0;
        }
    return -EINVAL;
}

const char *pack_packml_name(const struct pack_session *s)
{
    if (s->step == PACK_STEP_IDLE)
        return "IDLE";
    return s->held ? "HELD" : "EXECUTE";
}

bool pack_has_tote(const struct pack_session *s, const char *tote)
{
    for (size_t i = 0; i < s->n_totes; i++)
        if (strcmp(s->totes[i], tote) == 0)
            return true;
    return false;
}

int pack_add_tote(struct pack_session *s, const char *tote)
{
    if (store_id_check(tote) != 0)
        return -EINVAL;
    if (pack_has_tote(s, tote))
        return WCS_E_DUPLICATE;
    if (s->n_totes >= PACK_TOTES_MAX)
        return WCS_E_FULL;
    snprintf(s->totes[s->n_totes++], WCSD_ID_MAX, "%s", tote);
    return 0;
}

int pack_add_contents(struct pack_session *s, const char *sku, const char *lot, uint32_t qty)
{
    if (!sku || store_id_check(sku) != 0 || !lot || store_lot_check(lot) != 0 || qty == 0)
        return -EINVAL;
    for (size_t i = 0; i < s->n_lines; i++)
        if (strcmp(s->lines[i].sku, sku) == 0 && strcmp(s->lines[i].lot, lot) == 0) {
            if (s->lines[i].qty > UINT32_MAX - qty)
                return -EINVAL;
            s->lines[i].qty += qty;
            return 0;
        }
    if (s->n_lines >= PACK_LINES_MAX)
        return WCS_E_FULL;
    s->lines[s->n_lines] = (struct pack_line){.qty = qty};
    snprintf(s->lines[s->n_lines].sku, WCSD_ID_MAX, "%s", sku);
    snprintf(s->lines[s->n_lines].lot, WCSD_ID_MAX, "%s", lot);
    s->n_lines++;
    return 0;
}

static const struct cfg_product *product_by_gtin(const struct cfg_site *site, const char *gtin14)
{
    int32_t i = cfg_find_product_gtin(site, gtin14);
    return i >= 0 ? &site->products[i] : NULL;
}

static const struct cfg_product *product_by_sku(const struct cfg_site *site, const char *sku)
{
    int32_t i = cfg_find_product(site, sku);
    return i >= 0 ? &site->products[i] : NULL;
}

/* A serial-tracked product's unit: the line of its serial (the line's lot), once. */
static int verify_serial(struct pack_session *s, const struct cfg_product *p,
                         const struct pack_scan *scan, size_t *line_out, char *why, size_t cap)
{
    bool in_carton = false;
    if (scan->serial_invalid) {
        snprintf(why, cap, "the serial of %s cannot be read as a serial number", p->sku);
        return WCS_E_STATE;
    }
    if (!scan->serial[0]) {
        snprintf(why, cap, "%s is serial-tracked: scan the GS1 barcode with its serial (AI 21)",
                 p->sku);
        return WCS_E_STATE;
    }
    for (size_t i = 0; i < s->n_lines; i++) {
        struct pack_line *l = &s->lines[i];
        if (strcmp(l->sku, p->sku) != 0)
            continue;
        in_carton = true;
        if (strcmp(l->lot, scan->serial) != 0)
            continue;
        if (l->verified >= l->qty) {
            snprintf(why, cap, "serial %s of %s is already verified", scan->serial, p->sku);
            return WCS_E_STATE;
        }
        l->verified++;
        *line_out = i;
        return 0;
    }
    if (!in_carton)
        snprintf(why, cap, "%s is not in this order's totes", p->sku);
    else
        snprintf(why, cap, "serial %s of %s is not in this order's totes", scan->serial, p->sku);
    return WCS_E_STATE;
}

int pack_verify_item(struct pack_session *s, const struct cfg_site *site,
                     const struct pack_scan *scan, size_t *line_out, char *why, size_t cap)
{
    const struct cfg_product *p;
    bool in_carton = false, lot_seen = false;
    if (scan->kind != PACK_SCAN_ITEM) {
        snprintf(why, cap, "not an item barcode");
        return WCS_E_STATE;
    }
    p = product_by_gtin(site, scan->gtin);
    if (!p) {
        snprintf(why, cap, "no product has GTIN %s", scan->gtin);
        return WCS_E_UNKNOWN;
    }
    if (scan->lot_invalid) {
        snprintf(why, cap, "the lot of %s cannot be read as a lot number", p->sku);
        return WCS_E_STATE;
    }
    if (p->tracking == CFG_TRACK_SERIAL)
        return verify_serial(s, p, scan, line_out, why, cap);
    if (p->tracking != CFG_TRACK_NONE && !scan->lot[0]) {
        snprintf(why, cap, "%s is lot-tracked: scan the GS1 barcode with its lot (AI 10)", p->sku);
        return WCS_E_STATE;
    }
    for (size_t i = 0; i < s->n_lines; i++) {
        struct pack_line *l = &s->lines[i];
        if (strcmp(l->sku, p->sku) != 0)
            continue;
        in_carton = true;
        if (scan->lot[0] && strcmp(scan->lot, l->lot) != 0)
            continue;
        lot_seen = true;
        if (l->verified >= l->qty)
            continue;
        l->verified++;
        *line_out = i;
        return 0;
    }
    if (!in_carton)
        snprintf(why, cap, "%s is not in this order's totes", p->sku);
    else if (!lot_seen)
        snprintf(why, cap, "lot %s of %s is not in this order's totes", scan->lot, p->sku);
    else
        snprintf(why, cap, "every unit of %s%s%s is already verified", p->sku,
                 scan->lot[0] ? " lot " : "", scan->lot);
    return WCS_E_STATE;
}

bool pack_all_verified(const struct pack_session *s)
{
    for (size_t i = 0; i < s->n_lines; i++)
        if (s->lines[i].verified < s->lines[i].qty)
            return false;
    return s->n_lines > 0;
}

uint64_t pack_units(const struct pack_session *s)
{
    uint64_t u = 0;
    for (size_t i = 0; i < s->n_lines; i++)
        u += s->lines[i].qty;
    return u;
}

/* ---- weight ---- */

int pack_expected_mg(const struct pack_session *s, const struct cfg_site *site,
                     uint32_t packaging_g, int64_t *out_mg, char *missing, size_t cap)
{
    int64_t mg = (int64_t)packaging_g * 1000;
    for (size_t i = 0; i < s->n_lines; i++) {
        const struct cfg_product *p = product_by_sku(site, s->lines[i].sku);
        if (!p || p->weight_g == 0) {
            snprintf(missing, cap, "%s", s->lines[i].sku);
            return WCS_E_UNKNOWN;
        }
        mg += (int64_t)p->weight_g * 1000 * (int64_t)s->lines[i].qty;
    }
    *out_mg = mg;
    return 0;
}

bool pack_weight_ok(int64_t expected_mg, int64_t actual_mg, double tolerance_pct)
{
    double diff;
    if (expected_mg <= 0 || actual_mg <= 0 || !(tolerance_pct >= 0))
        return false;
    diff = fabs((double)actual_mg - (double)expected_mg);
    /* A small epsilon so that a reading exactly on the bound is inside despite rounding. */
    return diff * 100.0 <= tolerance_pct * (double)expected_mg * (1.0 + 1e-12);
}

/* ---- SSCC ---- */

int pack_sscc(uint8_t extension_digit, const char *company_prefix, uint64_t serial, char out[19])
{
    char ref[17];
    size_t plen = company_prefix ? strlen(company_prefix) : 0;
    int width;
    if (plen < 7 || plen > 10 || extension_digit > 9 || !all_digits(company_prefix, plen))
        return WCS_E_RANGE;
    width = (int)(16 - plen);
    if (snprintf(ref, sizeof(ref), "%0*" PRIu64, width, serial) != width)
        return WCS_E_RANGE;
    return gs1_sscc_build(extension_digit, company_prefix, ref, out) == 0 ? 0 : WCS_E_RANGE;
}

/* ---- persisted form ---- */

static int dump(json_t *j, char *buf, size_t cap)
{
    size_t n;
    if (!j)
        return -ENOMEM;
    n = json_dumpb(j, buf, cap > 0 ? cap - 1 : 0, JSON_COMPACT);
    json_decref(j);
    if (n == 0 || n >= cap)
        return WCS_E_EXHAUSTED;
    buf[n] = '\0';
    return (int)n;
}

/* with site: the shipment items (with serials); without: the persisted lines (with verified). */
static int lines_json(const struct pack_session *s, const struct cfg_site *site, char *buf,
                      size_t cap)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_lines; i++) {
        const struct pack_line *l = &s->lines[i];
        const struct cfg_product *p = site ? product_by_sku(site, l->sku) : NULL;
        bool serial = p && p->tracking == CFG_TRACK_SERIAL && l->lot[0];
        json_t *o = !site ? json_pack("{s:s,s:s,s:I,s:I}", "sku", l->sku, "lot", l->lot, "qty",
                                      (json_int_t)l->qty, "verified", (json_int_t)l->verified)
                          : json_pack("{s:s,s:s,s:I,s:o}", "sku", l->sku, "lot", l->lot, "qty",
                                      (json_int_t)l->qty, "serials",
                                      serial ? json_pack("[s]", l->lot) : json_array());
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return -ENOMEM;
        }
    }
    return dump(a, buf, cap);
}

int pack_lines_to_json(const struct pack_session *s, char *buf, size_t cap)
{
    return lines_json(s, NULL, buf, cap);
}

int pack_items_to_json(const struct pack_session *s, const struct cfg_site *site, char *buf,
                       size_t cap)
{
    if (!site)
        return -EINVAL;
    return lines_json(s, site, buf, cap);
}

int pack_lines_from_json(struct pack_session *s, const char *text, size_t len)
{
    struct pack_session tmp = {0};
    json_t *a = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL), *o;
    size_t i;
    int rc = 0;
    if (!a || !json_is_array(a) || json_array_size(a) > PACK_LINES_MAX) {
        json_decref(a);
        return WCS_E_SYNTAX;
    }
    json_array_foreach(a, i, o)
    {
        json_t *sku = json_object_get(o, "sku"), *lot = json_object_get(o, "lot");
        json_t *qty = json_object_get(o, "qty"), *ver = json_object_get(o, "verified");
        json_int_t q, v;
        if (!json_is_object(o) || json_object_size(o) != 4 || !json_is_string(sku) ||
            !json_is_string(lot) || !json_is_integer(qty) || !json_is_integer(ver)) {
            rc = WCS_E_SYNTAX;
            break;
        }
        q = json_integer_value(qty);
        v = json_integer_value(ver);
        if (q <= 0 || q > UINT32_MAX || v < 0 || v > q) {
            rc = WCS_E_SYNTAX;
            break;
        }
        for (size_t k = 0; k < tmp.n_lines; k++)
            if (strcmp(tmp.lines[k].sku, json_string_value(sku)) == 0 &&
                strcmp(tmp.lines[k].lot, json_string_value(lot)) == 0)
                rc = WCS_E_SYNTAX;
        if (rc || pack_add_contents(&tmp, json_string_value(sku), json_string_value(lot),
                                    (uint32_t)q) != 0) {
            rc = WCS_E_SYNTAX;
            break;
        }
        tmp.lines[tmp.n_lines - 1].verified = (uint32_t)v;
    }
    json_decref(a);
    if (rc)
        return rc;
    memcpy(s->lines, tmp.lines, sizeof(tmp.lines));
    s->n_lines = tmp.n_lines;
    return 0;
}

int pack_totes_to_json(const struct pack_session *s, char *buf, size_t cap)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_totes; i++)
        if (json_array_append_new(a, json_string(s->totes[i])) != 0) {
            json_decref(a);
            return -ENOMEM;
        }
    return dump(a, buf, cap);
}

int pack_totes_from_json(struct pack_session *s, const char *text, size_t len)
{
    struct pack_session tmp = {0};
    json_t *a = json_loadb(text, len, 0, NULL), *o;
    size_t i;
    int rc = 0;
    if (!a || !json_is_array(a) || json_array_size(a) > PACK_TOTES_MAX) {
        json_decref(a);
        return WCS_E_SYNTAX;
    }
    json_array_foreach(a, i, o)
    {
        if (!json_is_string(o) || pack_add_tote(&tmp, json_string_value(o)) != 0) {
            rc = WCS_E_SYNTAX;
            break;
        }
    }
    json_decref(a);
    if (rc)
        return rc;
    memcpy(s->totes, tmp.totes, sizeof(tmp.totes));
    s->n_totes = tmp.n_totes;
    return 0;
}
