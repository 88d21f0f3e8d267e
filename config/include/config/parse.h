/* Pure parsers used by the site configuration loader and by anyone reading the same formats:
 * strict integers and numbers, 24 h times, device URIs, GTIN check digits, location path ranges
 * and CSV records. No I/O, no allocation: results go into caller storage. Each returns 0 or a
 * negative code from base/err.h and, on failure, points *why at a static sentence. */
#ifndef CONFIG_PARSE_H
#define CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a decimal unsigned integer in 0..max. Accepts only [0-9]+ with no leading zero (a lone
 * "0" is fine), no sign, no space, no base prefix. Returns 0, WCS_E_SYNTAX (not an integer,
 * leading zero, fraction, negative) or WCS_E_RANGE (above max). */
int cfg_parse_uint(const char *s, uint64_t max, uint64_t *out, const char **why);

/* As cfg_parse_uint, for a signed decimal integer in min..max (an optional leading '-'). */
int cfg_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, const char **why);

/* Parses a finite decimal number ("12", "-0.5", "1.5e3"); rejects hex, inf, nan, leading zeros
 * before other digits ("05.1") and trailing bytes. Returns 0 or WCS_E_SYNTAX. */
int cfg_parse_number(const char *s, double *out, const char **why);

/* Parses "true" or "false" (nothing else). Returns 0 or WCS_E_SYNTAX. */
int cfg_parse_bool(const char *s, bool *out, const char **why);

/* Parses a 24 h time "HH:MM" (two digits each, 00:00..23:59) into minutes since midnight.
 * Returns 0, WCS_E_SYNTAX (shape) or WCS_E_RANGE (hour or minute too large). */
int cfg_parse_time(const char *s, uint16_t *minutes, const char **why);

/* Device transport URIs (DESIGN.md §3, docs/config.md "Device URIs"). */
enum cfg_uri_scheme {
    CFG_URI_TCP,    /* tcp://host:port */
    CFG_URI_RTU,    /* rtu:///dev/ttyS1?baud=19200&parity=E&data=8&stop=1 (Modbus RTU) */
    CFG_URI_SERIAL, /* serial:///dev/ttyUSB0?baud=9600&parity=N&data=8&stop=1 */
    CFG_URI_USB,    /* usb://VID:PID[?serial=...] (hex ids) */
};

#define CFG_URI_HOST_MAX   253
#define CFG_URI_DEVICE_MAX 255
#define CFG_URI_SERIAL_MAX 126

struct cfg_uri {
    enum cfg_uri_scheme scheme;
    char host[CFG_URI_HOST_MAX + 1];     /* tcp: name, IPv4 or IPv6 (without brackets) */
    uint16_t port;                       /* tcp: 1..65535 */
    char device[CFG_URI_DEVICE_MAX + 1]; /* rtu, serial: absolute device path */
    uint32_t baud;                       /* rtu, serial: one of the standard rates */
    char parity;                         /* rtu, serial: 'N', 'E' or 'O' (default 'N') */
    uint8_t data_bits;                   /* rtu, serial: 7 or 8 (default 8) */
    uint8_t stop_bits;                   /* rtu, serial: 1 or 2 (default 1) */
    uint16_t vid, pid;                   /* usb */
    char serial[CFG_URI_SERIAL_MAX + 1]; /* usb: "" when not given */
};

/* Parses a device URI into *out (fully overwritten on success). baud is required for rtu and
 * serial and must be one of 1200 2400 4800 9600 19200 38400 57600 115200. Returns 0,
 * WCS_E_SYNTAX or WCS_E_RANGE. */
int cfg_parse_uri(const char *s, struct cfg_uri *out, const char **why);

/* Returns the scheme's name ("tcp", "rtu", "serial", "usb"). */
const char *cfg_uri_scheme_name(enum cfg_uri_scheme s);

/* Checks a GTIN-8/12/13/14: only digits, one of those lengths, and a valid GS1 mod-10 check
 * digit. On success, writes the GTIN-14 form (left-padded with zeros, NUL-terminated) to
 * norm14 when it is not NULL. Returns 0, WCS_E_SYNTAX or WCS_E_CHECK. */
int cfg_gtin_check(const char *s, char norm14[15], const char **why);

/* A location path pattern with {a..b} range groups, e.g. "WH1/Stock/A/{01..40}/{1..4}".
 * A group is numeric ("{1..4}", "{01..40}": a leading zero in the start pads every value to the
 * start's width) or a single letter ("{A..F}"). Expansion runs the last group fastest. */
#define CFG_RANGE_GROUPS_MAX 8
#define CFG_RANGE_EXPAND_MAX 100000 /* one pattern expands to at most this many paths */

struct cfg_range_group {
    uint32_t start, end; /* inclusive; letters as their ASCII code */
    uint32_t from, to;   /* byte offsets of '{' and one past '}' in the pattern */
    uint8_t width;       /* zero-padded width, 0 for none */
    bool alpha;
};

struct cfg_range {
    const char *pattern; /* borrowed, must outlive the range */
    uint32_t n_groups;   /* 0: a plain path */
    struct cfg_range_group g[CFG_RANGE_GROUPS_MAX];
    uint64_t count; /* number of paths the pattern expands to (1 for a plain path) */
};

/* Parses the range groups of pattern into *r. Returns 0, WCS_E_SYNTAX (a brace that is not a
 * well-formed group, mixed letter/number bounds) or WCS_E_RANGE (start after end, more than
 * CFG_RANGE_GROUPS_MAX groups, more than CFG_RANGE_EXPAND_MAX paths). */
int cfg_range_parse(const char *pattern, struct cfg_range *r, const char **why);

/* Writes the idx-th expansion (0 <= idx < r->count) of r into buf. Returns 0 or
 * WCS_E_EXHAUSTED when buf is too small. */
int cfg_range_expand(const struct cfg_range *r, uint64_t idx, char *buf, size_t len);

/* Checks a location path (after expansion): 1..16 segments of [A-Za-z0-9_.-]+ separated by '/',
 * at most 255 bytes. Returns 0 or WCS_E_SYNTAX. */
int cfg_path_check(const char *path, const char **why);

/* Checks an identifier (device, station, lane, scan point, user, role, site ids): 1..64 bytes of
 * [A-Za-z0-9_.-], so it is safe in MQTT topics and Redis keys. Returns 0 or WCS_E_SYNTAX. */
int cfg_id_check(const char *id, const char **why);

/* One field of a CSV record. text points into the caller's scratch buffer, NUL-terminated. */
struct cfg_csv_field {
    const char *text;
    size_t len;
    uint32_t col; /* 1-based byte column of the field's first byte in the line */
};

/* Splits one CSV line (RFC 4180 quoting, no line break inside a field; the line excludes its
 * terminator, a trailing '\r' is ignored) into at most max fields, unescaped into scratch
 * (which needs len + 1 bytes). Returns 0 with *n set, or WCS_E_SYNTAX with *err_col at the
 * offending byte, or WCS_E_EXHAUSTED when there are more than max fields. */
int cfg_csv_split(const char *line, size_t len, char *scratch, struct cfg_csv_field *fields,
                  size_t max, size_t *n, uint32_t *err_col, const char **why);

#endif
