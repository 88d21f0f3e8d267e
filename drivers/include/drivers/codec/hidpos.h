/* USB HID Point-of-Sale reports: scale data reports (usage page 0x8D) and barcode scanner
 * input reports (usage page 0x8C) with a reassembler for reads that span several reports.
 * Pure codec over report bytes; the USB transport lives in the scale/scanner drivers.
 * The layouts and where they come from are described at the top of hidpos.c. */
#ifndef DRIVERS_CODEC_HIDPOS_H
#define DRIVERS_CODEC_HIDPOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Scale status byte (HID POS Usage Tables 1.02, Scale Status usages 0x70-0x77). */
enum hidpos_scale_status {
    HIDPOS_SCALE_FAULT = 1,
    HIDPOS_SCALE_STABLE_ZERO = 2,
    HIDPOS_SCALE_IN_MOTION = 3,
    HIDPOS_SCALE_STABLE = 4,
    HIDPOS_SCALE_UNDER_ZERO = 5,
    HIDPOS_SCALE_OVERWEIGHT = 6,
    HIDPOS_SCALE_NEEDS_CALIBRATION = 7,
    HIDPOS_SCALE_NEEDS_REZERO = 8,
};

/* Weight unit byte (Scale Weight Unit usages 0x50-0x5C). */
enum hidpos_unit {
    HIDPOS_UNIT_UNKNOWN = 0,
    HIDPOS_UNIT_MG = 1,
    HIDPOS_UNIT_G = 2,
    HIDPOS_UNIT_KG = 3,
    HIDPOS_UNIT_CARAT = 4,
    HIDPOS_UNIT_TAEL = 5,
    HIDPOS_UNIT_GRAIN = 6,
    HIDPOS_UNIT_PENNYWEIGHT = 7,
    HIDPOS_UNIT_TONNE = 8,
    HIDPOS_UNIT_TON = 9, /* short ton, 2000 lb */
    HIDPOS_UNIT_TROY_OZ = 10,
    HIDPOS_UNIT_OZ = 11,
    HIDPOS_UNIT_LB = 12,
};

struct hidpos_scale_reading {
    enum hidpos_scale_status status;
    enum hidpos_unit unit;
    int8_t exponent;   /* weight = raw x 10^exponent units */
    uint16_t raw;      /* the report's weight field */
    bool has_weight;   /* status is STABLE_ZERO, IN_MOTION or STABLE */
    bool stable;       /* STABLE_ZERO or STABLE */
    int64_t weight_mg; /* valid when has_weight; rounded to nearest, halves away from zero */
};

enum {
    HIDPOS_SCALE_REPORT_LEN = 6,
    HIDPOS_SCANNER_REPORT_LEN = 64, /* with the report id byte */
    HIDPOS_SCANNER_REPORT_ID = 0x02,
    HIDPOS_SCANNER_DATA_MAX = 56, /* data bytes per report */
    HIDPOS_SCAN_MAX = 4096,       /* largest reassembled read */
};

/* Decodes a scale data report: 6 bytes (report id 0x03 or 0x04, status, unit, exponent,
 * weight u16 little-endian), or 7 bytes when the stack put a 0x00 in front. Returns 0,
 * WCS_E_SYNTAX (length or report id), or WCS_E_RANGE (status not 1..8, unit above 12, unit 0
 * with a weight status, or a weight that does not fit). Fault, under-zero, overweight and
 * calibration/re-zero statuses return 0 with has_weight false: the status is the result. */
int hidpos_scale_decode(const uint8_t *rep, size_t len, struct hidpos_scale_reading *out);

/* Writes the zero (tare-to-zero) output report `02 02` into buf. Returns 2 or
 * WCS_E_EXHAUSTED. */
int hidpos_scale_zero_report(uint8_t *buf, size_t cap);

/* One scanner input report, decoded. data points into the caller's report buffer. */
struct hidpos_scan_report {
    char aim[4];         /* "]Xm" NUL-terminated; "" when the report carries none */
    const uint8_t *data; /* len bytes inside the report */
    size_t len;
    bool more; /* continuation flag: more reports follow for this read */
};

/* Decodes a scanner input report: 64 bytes starting with report id 0x02, or 63 bytes when the
 * host stack stripped the id. Returns 0, WCS_E_SYNTAX (length, report id, data length above
 * 56, or an AIM identifier that does not start with ']' or is not printable). An all-zero AIM
 * field is accepted (some readers send it only in the first report of a read). */
int hidpos_scanner_decode(const uint8_t *rep, size_t len, struct hidpos_scan_report *out);

/* Concatenates the reports of one read until the continuation flag clears. */
struct hidpos_scan_asm {
    size_t max_len; /* caller's limit, 1..HIDPOS_SCAN_MAX */
    size_t len;
    bool active;   /* a read is in progress */
    bool dropping; /* an overflowed read is being skipped until its last report */
    uint64_t overflows;
    char aim[4];
    uint8_t buf[HIDPOS_SCAN_MAX];
};

/* A completed read: aim and data (len bytes, also NUL-terminated) copied out. */
struct hidpos_scan {
    char aim[4];
    size_t len;
    uint8_t data[HIDPOS_SCAN_MAX + 1];
};

/* Prepares an empty reassembler accepting reads of up to max_len bytes (clamped to
 * 1..HIDPOS_SCAN_MAX). */
void hidpos_scan_asm_init(struct hidpos_scan_asm *a, size_t max_len);

/* Feeds one report. Returns 1 when a read is complete (copied to *out), 0 when more reports
 * are needed, WCS_E_SYNTAX for a bad report or an AIM identifier that changes inside a read
 * (the partial read is dropped), or WCS_E_FULL when the read exceeds max_len (it is dropped,
 * counted in overflows, and its remaining reports are skipped up to the one that clears the
 * flag). */
int hidpos_scan_asm_feed(struct hidpos_scan_asm *a, const uint8_t *rep, size_t len,
                         struct hidpos_scan *out);

#endif
