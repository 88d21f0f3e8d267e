/* Product scans (scan.h): the scan text normalised (written-out GS), decoded by the GS1 codec
 * (drivers/codec/gs1.h), its elements picked (01/02, 10/21, 17, 30/37) for receiving, returns
 * and picking; the product looked up by GTIN; the receipt line matched and the over-receipt and
 * expiry rules applied. Pure. */
#include "scan.h"

#include "base/err.h"
#include "drivers/codec/gs1.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QTY_MAX 1073741824 /* 2^30, as the command layer */

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

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

static bool is_ident(const char *s)
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

/* Copies text with `<GS>` and `\x1d` (any case) turned into GS. Returns the length. */
static size_t unescape(const char *in, size_t len, char *out)
{
    size_t w = 0;
    for (size_t r = 0; r < len;) {
        if (len - r >= 4 &&
            (strncasecmp(in + r, "<GS>", 4) == 0 || strncasecmp(in + r, "\\x1d", 4) == 0)) {
            out[w++] = GS1_GS;
            r += 4;
        } else {
            out[w++] = in[r++];
        }
    }
    return w;
}

static int64_t count_of(const char *v)
{
    int64_t q = 0;
    for (const char *p = v; *p; p++) {
        q = q * 10 + (*p - '0');
        if (q > QTY_MAX)
            return QTY_MAX + 1;
    }
    return q;
}

int scan_decode(const char *text, size_t len, struct scan_decoded *out, char *err, size_t err_len)
{
    char buf[SCAN_TEXT_MAX];
    struct gs1_error ge;
    struct aim_id aim;
    size_t blen;
    int rc;
    memset(out, 0, sizeof(*out));
    if (!text || len == 0) {
        seterr(err, err_len, "scan: empty");
        return WCS_E_SYNTAX;
    }
    if (len > SCAN_TEXT_MAX) {
        seterr(err, err_len, "scan: longer than %d bytes", SCAN_TEXT_MAX);
        return WCS_E_SYNTAX;
    }
    blen = unescape(text, len, buf);
    memset(&ge, 0, sizeof(ge));
    rc = gs1_parse_scan(buf, blen, &aim, &out->gs1, out->el, SCAN_ELEMENTS_MAX, &out->n, &ge);
    if (rc != 0) {
        seterr(err, err_len, "scan: %s", ge.msg[0] ? ge.msg : "not a GS1 element string");
        return rc;
    }
    if (!out->gs1 && out->n == 0) {
        /* Plain data: a GTIN as printed (8, 12, 13 or 14 digits), after any AIM identifier. */
        const char *p = buf + aim.data_offset;
        size_t m = blen - aim.data_offset;
        memcpy(out->data, p, m);
        out->data[m] = '\0';
        out->data_len = m;
        if (!(m == 8 || m == 12 || m == 13 || m == 14) || !all_digits(p, m)) {
            out->gtin_rc = WCS_E_SYNTAX;
            snprintf(out->why, sizeof(out->why),
                     "expected a GS1 element string or a GTIN of 8, 12, 13 or 14 digits");
        } else if ((rc = gs1_gtin_element(p, m, &out->el[0], &ge)) != 0) {
            out->gtin_rc = rc;
            snprintf(out->why, sizeof(out->why), "%s", ge.msg);
        } else {
            out->n = 1;
        }
    }
    return 0;
}

int scan_parse(const char *text, size_t len, int ref_year, struct scan_data *out, char *err,
               size_t err_len)
{
    struct scan_decoded sd;
    const struct gs1_element *el = sd.el;
    struct scan_data d;
    bool has01 = false, has02 = false, has37 = false;
    size_t n;
    int rc;
    memset(&d, 0, sizeof(d));
    rc = scan_decode(text, len, &sd, err, err_len);
    if (rc != 0)
        return rc;
    if (sd.n == 0 && !sd.gs1) {
        seterr(err, err_len, "scan: %s", sd.why);
        return sd.gtin_rc;
    }
    n = sd.n;
    for (size_t i = 0; i < n; i++) {
        const char *ai = el[i].ai, *v = el[i].value;
        if (strcmp(ai, "01") == 0 || strcmp(ai, "02") == 0) {
            bool c = ai[1] == '2';
            if ((c ? has02 : has01) || (c ? has01 : has02)) {
                seterr(err, err_len, "scan: more than one GTIN (AI 01 or 02)");
                return WCS_E_SYNTAX;
            }
            snprintf(d.gtin, sizeof(d.gtin), "%.14s", v); /* AI 01/02: 14 digits */
            d.contained = c;
            has01 = has01 || !c;
            has02 = has02 || c;
        } else if (strcmp(ai, "10") == 0 || strcmp(ai, "21") == 0) {
            if (d.lot[0]) {
                seterr(err, err_len, "scan: more than one lot or serial (AI 10, 21)");
                return WCS_E_SYNTAX;
            }
            if (!is_ident(v)) {
                seterr(err, err_len,
                       "scan: AI (%s): \"%s\" is not a lot the store takes (1..63 of "
                       "[A-Za-z0-9_.-])",
                       ai, v);
                return WCS_E_RANGE;
            }
            snprintf(d.lot, sizeof(d.lot), "%.63s", v); /* is_ident: 1..63 */
            d.serial = ai[1] == '1';
        } else if (strcmp(ai, "17") == 0) {
            struct gs1_date dt;
            if (gs1_date_decode(v, ref_year, &dt) != 0) {
                seterr(err, err_len, "scan: AI (17): %s is not a date", v);
                return WCS_E_RANGE;
            }
            char t[32];
            snprintf(t, sizeof(t), "%04d-%02d-%02d", dt.year, dt.month, dt.day);
            memcpy(d.expiry, t, 10);
            d.expiry[10] = '\0';
        } else if (strcmp(ai, "30") == 0 || strcmp(ai, "37") == 0) {
            int64_t q = count_of(v);
            if (d.qty) {
                seterr(err, err_len, "scan: more than one count (AI 30, 37)");
                return WCS_E_SYNTAX;
            }
            if (q < 1 || q > QTY_MAX) {
                seterr(err, err_len, "scan: AI (%s): count %s out of range 1..%d", ai, v, QTY_MAX);
                return WCS_E_RANGE;
            }
            d.qty = q;
            has37 = has37 || ai[1] == '7';
        }
        /* Other AIs (weights, dates of production, SSCC ...) are read past. */
    }
    if (!has01 && !has02) {
        seterr(err, err_len, "scan: no GTIN (AI 01 or 02)");
        return WCS_E_SYNTAX;
    }
    if (has02 && !has37) {
        seterr(err, err_len, "scan: AI (02) needs the count of AI (37)");
        return WCS_E_SYNTAX;
    }
    *out = d;
    return 0;
}

int scan_parse_item(const char *text, size_t len, int ref_year, struct scan_data *out, char *err,
                    size_t err_len)
{
    struct scan_data d;
    int rc = scan_parse(text, len, ref_year, &d, err, err_len);
    if (rc != 0)
        return rc;
    if (d.contained) {
        seterr(err, err_len,
               "scan: AI (02) names the contents of a logistic unit: scan the item (AI 01)");
        return WCS_E_SYNTAX;
    }
    *out = d;
    return 0;
}

bool scan_gtin14(const char *gtin, char out[15])
{
    size_t n = gtin ? strlen(gtin) : 0;
    if (n < 8 || n > 14 || !all_digits(gtin, n))
        return false;
    memset(out, '0', 14 - n);
    memcpy(out + 14 - n, gtin, n);
    out[14] = '\0';
    return true;
}

const struct cfg_product *scan_find_product(const struct cfg_site *site, const char *gtin14)
{
    int32_t i;
    if (!site || !gtin14 || strlen(gtin14) != 14)
        return NULL;
    i = cfg_find_product_gtin(site, gtin14);
    return i >= 0 ? &site->products[i] : NULL;
}

int scan_match_line(const struct scan_line *lines, size_t n, const char *sku, const char *lot)
{
    int best = -1, best_score = -1;
    if (!lot)
        lot = "";
    for (size_t i = 0; i < n; i++) {
        const struct scan_line *l = &lines[i];
        const char *ll = l->lot ? l->lot : "";
        int score;
        if (strcmp(l->sku, sku) != 0 || (ll[0] && strcmp(ll, lot) != 0))
            continue;
        score = (ll[0] ? 2 : 0) + (l->received < l->expected ? 1 : 0);
        if (score > best_score) {
            best = (int)i;
            best_score = score;
        }
    }
    return best;
}

int scan_check_over(const struct scan_line *l, size_t index, int64_t qty, bool allow_over,
                    uint32_t tolerance_pct, char *err, size_t err_len)
{
    int64_t total = l->received + qty;
    int64_t limit = l->expected * (100 + (int64_t)tolerance_pct) / 100;
    if (total <= l->expected)
        return 0;
    if (!allow_over) {
        seterr(err, err_len,
               "over-receipt: line %zu (%s) expects %lld, has %lld, %lld more make %lld; send "
               "allow_over to take up to %lld (receiving.over_tolerance_pct %u)",
               index, l->sku, (long long)l->expected, (long long)l->received, (long long)qty,
               (long long)total, (long long)limit, tolerance_pct);
        return WCS_E_RANGE;
    }
    if (total > limit) {
        seterr(err, err_len,
               "over-receipt: line %zu (%s) expects %lld, has %lld, %lld more make %lld, above "
               "the limit of %lld (receiving.over_tolerance_pct %u)",
               index, l->sku, (long long)l->expected, (long long)l->received, (long long)qty,
               (long long)total, (long long)limit, tolerance_pct);
        return WCS_E_RANGE;
    }
    return 0;
}

/* Days since 1970-01-01 of a valid YYYY-MM-DD, or INT32_MIN. */
static int32_t day_number(const char *s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, dim;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s, 4) ||
        !all_digits(s + 5, 2) || !all_digits(s + 8, 2))
        return INT32_MIN;
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    if (m < 1 || m > 12 || y < 1970)
        return INT32_MIN;
    dim = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d < 1 || d > dim)
        return INT32_MIN;
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    int era = y / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void day_text(int32_t z, char out[11])
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp + (mp < 10 ? 3 : -9);
    char t[32];
    snprintf(t, sizeof(t), "%04d-%02d-%02d", y + (m <= 2), m, d);
    memcpy(out, t, 10);
    out[10] = '\0';
}

int scan_check_expiry(const char *expiry, const char *today, uint32_t margin_days, const char *sku,
                      char *err, size_t err_len)
{
    int32_t e = day_number(expiry), t = day_number(today);
    char limit[11];
    if (e == INT32_MIN || t == INT32_MIN) {
        seterr(err, err_len, "expiry: expected dates YYYY-MM-DD");
        return WCS_E_SYNTAX;
    }
    if (e >= t + (int32_t)(margin_days > 36500 ? 36500 : margin_days))
        return 0;
    day_text(t + (int32_t)(margin_days > 36500 ? 36500 : margin_days), limit);
    if (e < t)
        seterr(err, err_len, "expiry %s of %s is past (today %s)", expiry, sku, today);
    else
        seterr(err, err_len, "expiry %s is before %s (today + expiry_margin_days %u of %s)", expiry,
               limit, margin_days, sku);
    return WCS_E_RANGE;
}
