/* The pure parts of the packing flow (docs/daemon.md "Packing and shipping"): what a station
 * scan is (a tote id or an item), the pack session's contents and its item verification, the
 * expected carton weight and the tolerance check, the SSCC, and the session's persisted form
 * (the `lines` JSON of wcs:{s}:station:<id>). No I/O, no clock: unit-tested and fuzzed
 * (tests/pack/). station.c drives it from the devices and the store. */
#ifndef WCS_DAEMON_PACK_H
#define WCS_DAEMON_PACK_H

#include "config/config.h"
#include "daemon/daemon.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACK_TOTES_MAX 8  /* totes of one order in one session */
#define PACK_LINES_MAX 48 /* distinct (sku, lot) in one session */
#define PACK_GTIN_LEN  14

/* ---- scans ---- */

enum pack_scan_kind { PACK_SCAN_TOTE, PACK_SCAN_ITEM };

struct pack_scan {
    enum pack_scan_kind kind;
    char tote[WCSD_ID_MAX];       /* PACK_SCAN_TOTE: the LPN, or the 18 SSCC digits */
    char gtin[PACK_GTIN_LEN + 1]; /* PACK_SCAN_ITEM: GTIN-14 (shorter GTINs zero-padded) */
    char lot[WCSD_ID_MAX];        /* PACK_SCAN_ITEM: AI 10, "" when not scanned */
    bool lot_invalid;             /* AI 10 was scanned but is not a store identifier */
    char serial[WCSD_ID_MAX];     /* PACK_SCAN_ITEM: AI 21, "" when not scanned */
    bool serial_invalid;          /* AI 21 was scanned but is not a store identifier */
};

/* Classifies one station scan: aim is the AIM identifier the scanner sent ("" none), data[0..len)
 * what followed it (aim and data together at most SCAN_TEXT_MAX bytes), decoded by scan_decode
 * (wcs/command/scan.h: GS also written out as `<GS>` or `\x1d`). A GS1 element string with
 * AI 01 (lot from AI 10, serial from AI 21), an EAN/UPC symbol, or plain data of 8, 12, 13 or 14
 * digits with a valid check digit is an item; a GS1 string with AI 00 or plain data that is an
 * identifier is a tote. Returns 0, or WCS_E_SYNTAX (neither; a GS1 error) with *out zeroed. */
int pack_scan_parse(const char *aim, const char *data, size_t len, struct pack_scan *out);

/* Writes the GTIN-14 of a product's configured GTIN (8, 12, 13 or 14 digits, zero-padded).
 * Returns 0 or WCS_E_SYNTAX (not digits of one of those lengths). */
int pack_gtin14(const char *gtin, char out[PACK_GTIN_LEN + 1]);

/* ---- the session ---- */

enum pack_step {
    PACK_STEP_IDLE,   /* no session */
    PACK_STEP_VERIFY, /* items being scanned */
    PACK_STEP_WEIGH,  /* every unit verified: waiting for a stable weight */
    PACK_STEP_LABEL,  /* in tolerance: the label is with a printer */
};

struct pack_line {
    char sku[WCSD_ID_MAX];
    char lot[WCSD_ID_MAX]; /* "" none */
    uint32_t qty, verified;
};

struct pack_session {
    enum pack_step step;
    bool held; /* no printer could take the label: PackML HELD until one does */
    char order[WCSD_ID_MAX];
    char totes[PACK_TOTES_MAX][WCSD_ID_MAX];
    size_t n_totes;
    struct pack_line lines[PACK_LINES_MAX];
    size_t n_lines;
    uint32_t wrong_items; /* refused item scans in this session */
};

/* "IDLE", "EXECUTE" or "HELD": the PackML state of state/station/<id>. */
const char *pack_packml_name(const struct pack_session *s);
/* "idle", "verify", "weigh", "label"; pack_step_parse reverses it (-EINVAL unknown). */
const char *pack_step_name(enum pack_step st);
int pack_step_parse(const char *s, enum pack_step *out);

/* True when tote is already in the session. */
bool pack_has_tote(const struct pack_session *s, const char *tote);
/* Adds tote to the session. Returns 0, WCS_E_DUPLICATE (already in), WCS_E_FULL. */
int pack_add_tote(struct pack_session *s, const char *tote);
/* Adds qty (> 0) units of (sku, lot) to the session's contents (lines of equal sku and lot are
 * merged). Returns 0, -EINVAL (bad sku or lot, qty 0) or WCS_E_FULL. */
int pack_add_contents(struct pack_session *s, const char *sku, const char *lot, uint32_t qty);

/* Verifies one item scan against the session (step VERIFY): the GTIN names a product of site
 * (by its configured GTINs), and a line of that product with an unverified unit takes it. A
 * lot-tracked product needs its lot scanned and equal to the line's; a scanned lot of another
 * product is compared too. A serial-tracked product needs its serial (AI 21) scanned and equal
 * to the line's lot (a serial-tracked line's lot is the serial picked: pick.confirm). Returns 0
 * with *line_out the line index, or a refusal with why (a short sentence for the operator,
 * NUL-terminated in why[0..cap)): WCS_E_UNKNOWN (no product has this GTIN), WCS_E_STATE (the
 * product is not in the carton, or all its units are verified, or the lot is missing or differs).
 * The session is only changed on success. */
int pack_verify_item(struct pack_session *s, const struct cfg_site *site,
                     const struct pack_scan *scan, size_t *line_out, char *why, size_t cap);
/* True when the session has lines and every unit is verified. */
bool pack_all_verified(const struct pack_session *s);
/* Units in the session. */
uint64_t pack_units(const struct pack_session *s);

/* ---- weight ---- */

/* Expected gross weight: Σ product weight_g x qty of the session's lines + packaging_g, in mg.
 * Returns 0, or WCS_E_UNKNOWN with the sku in missing[0..cap) when a product is not in site or
 * has no weight_g (the carton cannot be check-weighed). */
int pack_expected_mg(const struct pack_session *s, const struct cfg_site *site,
                     uint32_t packaging_g, int64_t *out_mg, char *missing, size_t cap);
/* True when actual_mg is within ±tolerance_pct of expected_mg (both > 0; bounds included). */
bool pack_weight_ok(int64_t expected_mg, int64_t actual_mg, double tolerance_pct);

/* ---- SSCC ---- */

/* Builds the SSCC of serial: extension digit, company prefix (7..10 digits), serial zero-padded
 * to 16 - strlen(prefix) digits, GS1 check digit. Returns 0 with 18 digits and a NUL in out, or
 * WCS_E_RANGE (serial too large for the prefix, bad digit or prefix). */
int pack_sscc(uint8_t extension_digit, const char *company_prefix, uint64_t serial, char out[19]);

/* ---- persisted form ---- */

/* Writes the session's lines as a compact JSON array [{"sku","lot","qty","verified"}] into
 * buf[0..cap). Returns the length, or WCS_E_EXHAUSTED. */
int pack_lines_to_json(const struct pack_session *s, char *buf, size_t cap);
/* Writes the shipment items [{"sku","lot","qty","serials"}] of the session: serials is [lot] for a
 * line of a product site tracks by serial (its lot is the serial picked), else []. As
 * pack_lines_to_json. */
int pack_items_to_json(const struct pack_session *s, const struct cfg_site *site, char *buf,
                       size_t cap);
/* Parses what pack_lines_to_json wrote into s->lines (replacing them). Returns 0, or
 * WCS_E_SYNTAX (not such an array; bad ids, qty 0, verified > qty, duplicates, too many) with
 * s->lines untouched. */
int pack_lines_from_json(struct pack_session *s, const char *text, size_t len);
/* As pack_lines_from_json for the `totes` JSON array of tote ids. */
int pack_totes_to_json(const struct pack_session *s, char *buf, size_t cap);
int pack_totes_from_json(struct pack_session *s, const char *text, size_t len);

#endif
