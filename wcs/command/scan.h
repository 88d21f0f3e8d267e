/* Product scans (private to wcs_command, its tests and fuzz target, and the pack stations'
 * classifier wcs/daemon/pack.c): the one decoder of the barcodes receivers, returns stations,
 * pickers and packers scan (AIM prefix, FNC1/GS, bracketed, `<GS>` or `\x1d` written out, or a
 * plain GTIN) into GTIN, lot, expiry and count through the GS1 codec; the product it names in
 * the site config; and, for receiving, the receipt line it adds to. No I/O, no clock, no
 * allocation. */
#ifndef WCS_COMMAND_SCAN_H
#define WCS_COMMAND_SCAN_H

#include "config/config.h"
#include "drivers/codec/gs1.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCAN_TEXT_MAX 256 /* longest scan text taken */

/* What a scan said. */
struct scan_data {
    char gtin[15];   /* AI 01 (or 02: the trade items contained), 14 digits */
    bool contained;  /* the GTIN came from AI 02 (a logistic unit's contents; AI 37 counts) */
    char lot[64];    /* AI 10 (batch/lot) or AI 21 (serial); "" when absent */
    bool serial;     /* lot came from AI 21 */
    char expiry[11]; /* AI 17 as YYYY-MM-DD (DD 00: the month's last day); "" when absent */
    int64_t qty;     /* AI 30 or 37 (count of items); 0 when absent */
};

/* Parses scan text[0..len) (not NUL-terminated) read in year ref_year (the GS1 century rule of
 * AI 17). Accepts a GS1 element string with an AIM identifier (]C1, ]d2, ]Q3, ]e0, ]J1), FNC1
 * as a leading GS, the bracketed form "(01)...(10)...", GS written as `<GS>` or `\x1d`, an EAN
 * symbol (]E0/]E4) and plain 8, 12, 13 or 14 digits (a GTIN: the check digit is checked). It
 * needs AI 01 or 02, refuses 01 with 02, an AI 10 with an AI 21, a lot that is not 1..63 of
 * [A-Za-z0-9_.-] (the store's identifiers), a count of 0 or above 2^30, and AI 02 without 37.
 * Returns 0 and fills *out, or WCS_E_SYNTAX / WCS_E_UNKNOWN / WCS_E_CHECK / WCS_E_RANGE with one
 * line in err (`scan: AI (01): check digit 2 expected, got 3`, `scan: no GTIN (AI 01 or 02)`). */
int scan_parse(const char *text, size_t len, int ref_year, struct scan_data *out, char *err,
               size_t err_len);

/* scan_parse for the scan of one item in hand (pick.confirm, pick.short): also refuses a GTIN
 * from AI 02 (a logistic unit's contents) with `scan: AI (02) names the contents of a logistic
 * unit: scan the item (AI 01)` (WCS_E_SYNTAX). A serial (AI 21) is no lot (out->serial). */
int scan_parse_item(const char *text, size_t len, int ref_year, struct scan_data *out, char *err,
                    size_t err_len);

/* What a scan's text decodes to, before any reading of its elements (scan_decode). */
#define SCAN_ELEMENTS_MAX 16
struct scan_decoded {
    bool gs1; /* a GS1 element string (GS1 AIM identifier, leading FNC1/GS or bracketed form) */
    size_t n; /* el[0..n): the string's elements, or the one (01) of a plain GTIN; 0: neither */
    struct gs1_element el[SCAN_ELEMENTS_MAX];
    char data[SCAN_TEXT_MAX + 1]; /* !gs1: the data after any AIM identifier, NUL-terminated */
    size_t data_len;
    int gtin_rc;   /* !gs1 && n == 0: why the data is no GTIN (WCS_E_SYNTAX, WCS_E_CHECK) */
    char why[160]; /* ... and in words (`AI (01): check digit 2 expected, got 3`) */
};

/* The one decoder of product and station scans (scan_parse here, the pack stations' scans in
 * wcs/daemon/pack.c): text[0..len) with `<GS>` / `\x1d` written out turned into GS, decoded by
 * the GS1 codec (AIM identifier, FNC1, bracketed form); plain data of 8, 12, 13 or 14 digits
 * with a valid check digit becomes the element (01) padded to 14 digits. Plain data that is no
 * GTIN is returned as data (n 0, gtin_rc and why say why). Returns 0, or WCS_E_SYNTAX (empty,
 * longer than SCAN_TEXT_MAX) / the codec's code for a malformed GS1 string, with one line in
 * err; *out is then undefined. Pure. */
int scan_decode(const char *text, size_t len, struct scan_decoded *out, char *err, size_t err_len);

/* Pads a configured GTIN (8..14 digits) to its 14-digit form in out. Returns false when it is not
 * 8..14 digits. */
bool scan_gtin14(const char *gtin, char out[15]);

/* The product of the site whose gtins list gtin14 (a GTIN-8/12/13 in the config matches its
 * 14-digit form padded with zeros), or NULL. A linear search. */
const struct cfg_product *scan_find_product(const struct cfg_site *site, const char *gtin14);

/* One expected line of a receipt and what it holds so far. */
struct scan_line {
    const char *sku;
    const char *lot; /* "" or NULL: any lot */
    int64_t expected, received;
};

/* The line a receipt of qty units of sku in lot (may be "") adds to: among lines[0..n) of that
 * sku whose lot is the scanned one or unset, a line naming the lot before one that does not, a
 * line with room (received < expected) before a full one, then the lowest index. Returns the
 * index, or -1 when no line matches (wrong product, or every line of the product names another
 * lot). */
int scan_match_line(const struct scan_line *lines, size_t n, const char *sku, const char *lot);

/* Checks a receipt line's quantity: received + qty against expected with allow_over and the
 * tolerance in percent (the most a line may take is floor(expected * (100 + pct) / 100)).
 * Returns 0, or WCS_E_RANGE with one line in err naming the line, its counts and the limit. */
int scan_check_over(const struct scan_line *l, size_t index, int64_t qty, bool allow_over,
                    uint32_t tolerance_pct, char *err, size_t err_len);

/* Checks expiry (YYYY-MM-DD) of a product received on day today (YYYY-MM-DD): refused when it
 * is before today + margin_days. Returns 0, or WCS_E_RANGE with err
 * (`expiry 2025-01-10 is before 2025-02-03 (today + expiry_margin_days 30 of FD-1001)`), or
 * WCS_E_SYNTAX for a malformed date. */
int scan_check_expiry(const char *expiry, const char *today, uint32_t margin_days, const char *sku,
                      char *err, size_t err_len);

#endif
