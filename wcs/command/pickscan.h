/* Pick scans (private to wcs_command, its tests and fuzz target): the product barcode an RF
 * device read at a pick, decoded into what a pick check compares with the task: the GTIN (AI
 * 01), the lot (AI 10) and the expiry (AI 17). Pure: no I/O, no clock (the caller gives the
 * year the GS1 century rule counts from). */
#ifndef WCS_COMMAND_PICKSCAN_H
#define WCS_COMMAND_PICKSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define PICK_SCAN_MAX 256 /* bytes of scan data accepted */

struct pick_scan {
    char gtin[15];   /* 14 digits */
    char lot[64];    /* AI 10 when has_lot */
    char expiry[16]; /* AI 17 as YYYY-MM-DD when has_expiry */
    bool has_lot, has_expiry;
};

/* Decodes scan (NUL-terminated): a GS1 element string with or without its AIM identifier
 * (]C1, ]d2, ]Q3, ]e0, ]J1; a leading GS as FNC1), the bracketed form "(01)...(10)...", an
 * EAN/UPC symbol (]E0, ]E4) or the plain digits of a GTIN-8/12/13/14. Every GS1 value is checked
 * by drivers/codec/gs1 (length, charset, check digit, date); AI 17 is read with the century
 * rule relative to ref_year. Returns 0 with *out filled, or WCS_E_SYNTAX / WCS_E_CHECK /
 * WCS_E_RANGE / WCS_E_UNKNOWN with err holding one line (`field "scan": AI (01): check digit 2
 * expected, got 3`, `field "scan": no GTIN (AI 01) in the scan`, `field "scan": lot "A B" is
 * not 1..63 characters of [A-Za-z0-9_.-]`). */
int pick_scan_decode(const char *scan, int ref_year, struct pick_scan *out, char *err,
                     size_t err_len);

/* Pads a configured GTIN (8, 12, 13 or 14 digits) to 14 digits in out. Returns false when it is
 * not 8..14 digits. */
bool pick_gtin14(const char *gtin, char out[15]);

#endif
