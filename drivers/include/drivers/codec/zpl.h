/* ZPL label rendering into a caller buffer: the built-in SSCC shipping label (GS1-128, AI 00),
 * tote/LPN label and location label, and a tiny `{{field}}` template syntax over ZPL text
 * given by site config. Field data is escaped with ^FH hex escapes (or rejected where it
 * cannot be escaped). Pure: no I/O, no allocation. */
#ifndef DRIVERS_CODEC_ZPL_H
#define DRIVERS_CODEC_ZPL_H

#include <stddef.h>
#include <stdint.h>

/* Dots per inch of the supported print heads. */
enum zpl_dpi { ZPL_DPI_203 = 203, ZPL_DPI_300 = 300 };

struct zpl_address {
    const char *name;
    const char *line1;
    const char *line2; /* optional (NULL or "") */
    const char *postal;
    const char *city;
    const char *country;
};

/* A 4 x 6 in SSCC shipping label. Text is UTF-8 (printed with ^CI28). */
struct zpl_sscc_label {
    const char *sscc; /* 18 digits with a valid GS1 check digit */
    struct zpl_address ship_to;
    const char *carrier;
    const char *order;
    int64_t weight_mg; /* printed in kg with 2 decimals, rounded half up; must be >= 0 */
    enum zpl_dpi dpi;
};

/* A 4 x 2 in tote / licence-plate label: Code 128 of the LPN plus its text. */
struct zpl_lpn_label {
    const char *lpn;     /* 1..40 printable ASCII characters, no '>' */
    const char *caption; /* optional text above the barcode */
    enum zpl_dpi dpi;
};

/* A 4 x 2 in location label: the location path in big text plus its Code 128. */
struct zpl_location_label {
    const char *location; /* 1..40 printable ASCII characters, no '>' */
    enum zpl_dpi dpi;
};

/* All renderers write a NUL-terminated ZPL text (^XA ... ^XZ) and return its length without
 * the NUL, WCS_E_EXHAUSTED when cap is too small (buf content then unspecified), or WCS_E_RANGE
 * for invalid data: a bad SSCC or check digit, a missing required field, control characters,
 * invalid UTF-8, a barcode value outside its character set, a negative weight, an unknown dpi. */
int zpl_render_sscc(const struct zpl_sscc_label *l, char *buf, size_t cap);
int zpl_render_lpn(const struct zpl_lpn_label *l, char *buf, size_t cap);
int zpl_render_location(const struct zpl_location_label *l, char *buf, size_t cap);

struct zpl_field {
    const char *name;
    const char *value;
};

/* Renders a site template: every `{{name}}` (name of letters, digits, '_', '.', '-', at most
 * 32 characters, spaces around it allowed) is replaced by the value of the field of that name.
 * Inside a ^FD..^FS field preceded by ^FH the value is hex-escaped (^FH's escape character,
 * '_' by default); elsewhere a value containing '^' or '~' is refused. Control characters and
 * invalid UTF-8 are always refused. Returns the length written (NUL-terminated), WCS_E_SYNTAX
 * (an unterminated or malformed placeholder), WCS_E_UNKNOWN (no field of that name),
 * WCS_E_RANGE (a value that cannot be placed), or WCS_E_EXHAUSTED. */
int zpl_render_template(const char *tmpl, const struct zpl_field *fields, size_t n, char *buf,
                        size_t cap);

/* Checks a template's placeholders without rendering it (for `wcs check`): copies each
 * distinct field name, NUL-terminated, into names[0..cap) and sets *count. Returns 0,
 * WCS_E_SYNTAX (malformed placeholder) or WCS_E_EXHAUSTED (more than cap distinct names). */
int zpl_template_check(const char *tmpl, char (*names)[33], size_t cap, size_t *count);

#endif
