/* AIM symbology identifiers (ISO/IEC 15424): the "]Cm" prefix a reader puts before the data
 * it decoded, naming the symbology and its options (e.g. "]C1" GS1-128, "]d2" GS1 DataMatrix).
 * Pure codec of the drivers library: bytes in, a struct out; no allocation, no I/O.
 * Callers: the scanner drivers, `wcs barcode`, and gs1_parse_scan() (gs1.h). */
#ifndef DRIVERS_CODEC_AIM_H
#define DRIVERS_CODEC_AIM_H

#include <stdbool.h>
#include <stddef.h>

/* What the data after the identifier holds, as far as the identifier tells. */
enum aim_content {
    AIM_CONTENT_PLAIN = 0, /* plain data (or no identifier at all) */
    AIM_CONTENT_GS1,       /* a GS1 element string: FNC1 in first position (]C1 ]e0 ]d2 ]Q3 ]J1) */
    AIM_CONTENT_GTIN,      /* an EAN/UPC symbol: 13 digits (]E0) or 8 digits (]E4), a GTIN */
};

/* The identifier found at the start of scan data. */
struct aim_id {
    bool present;             /* false: no identifier; symbology "none", the rest zeroed */
    char code;                /* symbology code character, e.g. 'C' */
    char modifier;            /* modifier character, e.g. '1' */
    char text[4];             /* "]C1", NUL-terminated; "" when !present */
    const char *symbology;    /* static name, e.g. "GS1-128"; "unknown" for an unlisted code */
    enum aim_content content; /* how to read the data */
    size_t data_offset;       /* where the data starts: 3 with an identifier, else 0 */
};

/* Reads the identifier at the start of data[0..len). An identifier is ']' followed by a code
 * letter (A-Z, a-z) and a modifier character (0-9, A-Z, a-z); data that does not start that way
 * has no identifier (out->present false, data_offset 0), which is not an error: readers without
 * the AIM prefix enabled send plain data. Returns 0 and fills *out; never fails for any input.
 * Does not allocate or block; data need not be NUL-terminated. */
int aim_parse(const char *data, size_t len, struct aim_id *out);

/* Static name of the symbology for a code character (e.g. 'd' -> "Data Matrix"), or "unknown".
 * Never returns NULL. */
const char *aim_symbology_name(char code);

#endif
