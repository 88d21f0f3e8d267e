/* Time zones without the C library's process-wide TZ: a reader of the system's TZif files
 * (RFC 8536, /usr/share/zoneinfo/<zone>) that answers the UTC offset at an instant and the
 * instant of a local wall time. Parsing is pure (bytes in, struct out); a loaded zone is
 * immutable, so any thread may query it. Leap-second ("right/") files are refused. */
#ifndef BASE_TZ_H
#define BASE_TZ_H

#include <stddef.h>
#include <stdint.h>

struct wcs_tz; /* opaque, immutable once built */

/* Directory tz_load reads zones from. */
#define TZ_DIR "/usr/share/zoneinfo"

/* Parses a TZif file (versions 1 to 4; the 64-bit block and the footer TZ string of v2+, the
 * footer ruling times after the last transition) from data[0..len). Pure: no I/O. Returns 0
 * and sets *out (free with tz_free), WCS_E_SYNTAX for malformed bytes (with a reason in
 * err[0..err_len) when err is not NULL), WCS_E_RANGE for a leap-second file, -ENOMEM. *out is
 * untouched on failure. */
int tz_parse(struct wcs_tz **out, const void *data, size_t len, char *err, size_t err_len);

/* Reads and parses TZ_DIR/<zone> (blocks on the file read only). A zone name must be relative,
 * without "..". Returns 0 and sets *out, WCS_E_UNKNOWN when the file is missing or the name is
 * refused, a negative errno on a read error, or tz_parse's codes; err as for tz_parse. */
int tz_load(struct wcs_tz **out, const char *zone, char *err, size_t err_len);

/* Frees a zone; NULL-safe. */
void tz_free(struct wcs_tz *tz);

/* Returns the UTC offset in seconds (east positive) in effect at the instant utc_s (seconds
 * since the epoch). Never fails. */
int32_t tz_offset_s(const struct wcs_tz *tz, int64_t utc_s);

/* Returns the local wall time at utc_s as seconds since 1970-01-01T00:00 local (utc_s plus
 * its offset); floor-divide by 86 400 for the local day number. */
int64_t tz_local_s(const struct wcs_tz *tz, int64_t utc_s);

/* Returns the instant of the local wall time local_s (seconds since 1970-01-01T00:00 local).
 * A time that occurs twice (clocks set back) gives the earlier instant; a time that does not
 * occur (clocks set forward) is read with the offset before the gap, so it lands as far after
 * the transition as it lies after the gap's start (02:30 in a 02:00→03:00 gap is 03:30). */
int64_t tz_utc_s(const struct wcs_tz *tz, int64_t local_s);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31, unchecked), and
 * its inverse. Exposed for the callers' tests and conversions. */
int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d);
void tz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
