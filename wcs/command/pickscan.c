/* Pick scan decoding (scan.h): drivers/codec's AIM and GS1 parsers turn the scan into elements,
 * and the three a pick check needs are taken from them. */
#include "pickscan.h"

#include "base/err.h"
#include "drivers/codec/aim.h"
#include "drivers/codec/gs1.h"

#include <stdio.h>
#include <string.h>

#define ELEMENTS_MAX 16

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

bool pick_gtin14(const char *gtin, char out[15])
{
    size_t n = gtin ? strlen(gtin) : 0;
    if (n < 8 || n > 14 || !all_digits(gtin, n))
        return false;
    memset(out, '0', 14 - n);
    memcpy(out + 14 - n, gtin, n);
    out[14] = '\0';
    return true;
}

static bool lot_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

int pick_scan_decode(const char *scan, int ref_year, struct pick_scan *out, char *err,
                     size_t err_len)
{
    struct gs1_element el[ELEMENTS_MAX];
    struct gs1_error ge = {0};
    struct aim_id aim;
    struct pick_scan r = {0};
    bool is_gs1 = false, gtin = false;
    size_t n = 0, len = scan ? strlen(scan) : 0;
    int rc;
    if (len == 0 || len > PICK_SCAN_MAX) {
        snprintf(err, err_len, "field \"scan\": expected 1..%d bytes of scan data", PICK_SCAN_MAX);
        return WCS_E_SYNTAX;
    }
    rc = gs1_parse_scan(scan, len, &aim, &is_gs1, el, ELEMENTS_MAX, &n, &ge);
    if (rc != 0) {
        snprintf(err, err_len, "field \"scan\": %s", ge.msg[0] ? ge.msg : "unreadable scan");
        return rc;
    }
    if (!is_gs1 || n == 0) {
        /* Plain data: the digits of a GTIN-8/12/13/14 (a reader without AIM prefix, EAN/UPC). */
        const char *d = scan + aim.data_offset;
        size_t dn = len - aim.data_offset;
        if (!(dn == 8 || dn == 12 || dn == 13 || dn == 14) || !all_digits(d, dn)) {
            snprintf(err, err_len,
                     "field \"scan\": expected a GS1 element string or the digits of a "
                     "GTIN-8/12/13/14");
            return WCS_E_SYNTAX;
        }
        rc = gs1_gtin_element(d, dn, &el[0], &ge);
        if (rc != 0) {
            snprintf(err, err_len, "field \"scan\": %s", ge.msg[0] ? ge.msg : "bad GTIN");
            return rc;
        }
        n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(el[i].ai, "01") == 0) {
            snprintf(r.gtin, sizeof(r.gtin), "%.14s", el[i].value); /* AI 01: 14 digits */
            gtin = true;
        } else if (strcmp(el[i].ai, "10") == 0) {
            if (!lot_ok(el[i].value)) {
                snprintf(err, err_len,
                         "field \"scan\": lot \"%.40s\" is not 1..63 characters of [A-Za-z0-9_.-]",
                         el[i].value);
                return WCS_E_SYNTAX;
            }
            snprintf(r.lot, sizeof(r.lot), "%.63s", el[i].value); /* lot_ok: 1..63 */
            r.has_lot = true;
        } else if (strcmp(el[i].ai, "17") == 0) {
            struct gs1_date d;
            rc = gs1_date_decode(el[i].value, ref_year, &d);
            if (rc != 0) {
                snprintf(err, err_len, "field \"scan\": AI (17): not a date: %s", el[i].value);
                return rc;
            }
            snprintf(r.expiry, sizeof(r.expiry), "%04d-%02d-%02d", (d.year % 10000 + 10000) % 10000,
                     (d.month % 100 + 100) % 100, (d.day % 100 + 100) % 100);
            r.has_expiry = true;
        }
    }
    if (!gtin) {
        snprintf(err, err_len, "field \"scan\": no GTIN (AI 01) in the scan");
        return WCS_E_SYNTAX;
    }
    *out = r;
    return 0;
}
