/* GS1 element strings (GS1 General Specifications §3 and §7.8): parse scan data and the
 * bracketed human-readable form into (AI, value) elements, validate each value against its AI's
 * rules (length, character set, check digit, date), build both forms back, and decode dates,
 * decimals, weights, GTINs and SSCCs. Pure codec of the drivers library: no I/O, no clock, no
 * allocation; callers pass element arrays and buffers with their capacities. */
#ifndef DRIVERS_CODEC_GS1_H
#define DRIVERS_CODEC_GS1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/codec/aim.h"

#define GS1_GS            '\x1d' /* FNC1 as transmitted in scan data (ASCII group separator) */
#define GS1_AI_LEN_MAX    4      /* an AI has 2 to 4 digits */
#define GS1_VALUE_LEN_MAX 90     /* the longest value any AI allows (91-99: X..90) */

/* One element: an AI and its value, both NUL-terminated copies (values never contain NUL). */
struct gs1_element {
    char ai[GS1_AI_LEN_MAX + 1];
    char value[GS1_VALUE_LEN_MAX + 1];
    size_t value_len;
};

/* Why a parse or build failed. */
enum gs1_reason {
    GS1_OK = 0,
    GS1_ERR_NO_DATA,     /* empty input, or nothing to build */
    GS1_ERR_UNKNOWN_AI,  /* no AI of the table matches */
    GS1_ERR_SYNTAX,      /* bracketed form malformed: '(' or ')' missing, AI not 2-4 digits */
    GS1_ERR_EMPTY,       /* an AI with an empty value, or an empty element between two GS */
    GS1_ERR_TOO_SHORT,   /* value shorter than its AI allows */
    GS1_ERR_TOO_LONG,    /* value longer than its AI allows */
    GS1_ERR_NON_DIGIT,   /* a numeric field holds a non-digit */
    GS1_ERR_CHARSET,     /* a character outside GS1 character set 82 (or 39 where required) */
    GS1_ERR_CHECK_DIGIT, /* the check digit does not match */
    GS1_ERR_DATE,        /* not a calendar date (month 13, 31 April, 29 February 2025) */
    GS1_ERR_TIME,        /* not a time of day (hour 24, minute 60) */
    GS1_ERR_CONTENT,     /* another rule of the AI (e.g. piece > total, '-' expected) */
    GS1_ERR_MISSING_GS,  /* a value that needs a GS after it is followed by more data */
    GS1_ERR_TRAILING_GS, /* GS after the last element: the data may have been cut */
    GS1_ERR_TOO_MANY,    /* more elements than the caller's capacity */
    GS1_ERR_BUFFER,      /* the output buffer of a builder is too small */
};

/* Details of a failure, filled by every function below that takes one (it may be NULL). */
struct gs1_error {
    enum gs1_reason reason;
    char ai[GS1_AI_LEN_MAX + 1]; /* the AI concerned, "" when none could be read */
    size_t offset;               /* byte offset in the input where the problem was found */
    char msg[160];               /* one line naming the AI and the reason, e.g.
                                  * "AI (01): check digit 2 expected, got 3" */
};

/* How an AI's value is to be read beyond its raw characters. */
enum gs1_kind {
    GS1_KIND_PLAIN = 0,
    GS1_KIND_DATE,       /* YYMMDD (11-17, 4326, 7006): gs1_date_decode() */
    GS1_KIND_DATE_TIME,  /* YYMMDD then HH, HHMM or HHMMSS (7003, 4324, 4325, 7011, 8008) */
    GS1_KIND_DATE_RANGE, /* YYMMDD, optionally a second YYMMDD (7007) */
    GS1_KIND_DECIMAL,    /* number with an implied decimal point (31nn-36nn, 390n, 392n, ...) */
    GS1_KIND_CURRENCY_DECIMAL, /* ISO 4217 numeric code N3, then a decimal (391n, 393n) */
};

/* Static facts about one AI. */
struct gs1_ai_info {
    const char *title; /* GS1 data title, e.g. "GTIN", "BATCH/LOT" (static) */
    const char *unit;  /* unit of a measure ("kg", "m2", "lb"), NULL for other AIs (static) */
    enum gs1_kind kind;
    int decimals;    /* implied decimals for the DECIMAL kinds (the AI's last digit), else 0 */
    bool predefined; /* predefined length: no GS is needed after the value */
    size_t min_len;  /* shortest and longest value allowed */
    size_t max_len;
};

/* Looks up the AI given as a NUL-terminated string of exactly its 2-4 digits ("01", "3103").
 * Returns 0 and fills *out, or WCS_E_UNKNOWN if the table has no such AI. */
int gs1_ai_info(const char *ai, struct gs1_ai_info *out);

/* Parses a GS1 element string as scanned: the data after the symbology identifier (and after
 * FNC1 in first position), with GS (0x1D) after every value that is not of predefined length,
 * except the last. A redundant GS after a predefined-length value is accepted; a GS at the very
 * end is not (GS1_ERR_TRAILING_GS). Every value is checked against its AI's rules; February 29
 * is accepted in any year YY divisible by 4 (the century is not known here, see
 * gs1_date_decode). On success returns 0, writes *n_out elements to out[0..cap). On failure
 * returns WCS_E_SYNTAX, WCS_E_UNKNOWN (unknown AI), WCS_E_CHECK (check digit), WCS_E_RANGE (date,
 * time) or WCS_E_EXHAUSTED (more than cap elements), fills *err if not NULL, leaves *n_out
 * untouched; out[] may have been partly written. data need not be NUL-terminated. */
int gs1_parse(const char *data, size_t len, struct gs1_element *out, size_t cap, size_t *n_out,
              struct gs1_error *err);

/* Parses the bracketed human-readable form "(01)09506000134352(10)ABC": each AI in parentheses,
 * followed by its value; a literal '(' inside a value is written "\(". Same checks, returns and
 * error reporting as gs1_parse(). */
int gs1_parse_hri(const char *text, size_t len, struct gs1_element *out, size_t cap, size_t *n_out,
                  struct gs1_error *err);

/* Decodes scan data as a reader sends it: reads the AIM identifier into *aim, then
 *   ]C1 ]e0 ]d2 ]Q3 ]J1  -> a GS1 element string (one leading GS, a transmitted FNC1, is skipped);
 *   ]E0 ]E4              -> a GTIN-13 / GTIN-8, returned as one element (01) padded to 14 digits;
 *   other identifiers    -> plain data;
 *   no identifier        -> bracketed form if the data starts with '(', an element string if it
 *                           starts with GS (FNC1 in first position), plain data otherwise.
 * Sets *is_gs1 and returns 0 with the elements in out[0..*n_out) (*n_out = 0 for plain data).
 * On failure returns as gs1_parse() does; *aim is filled in every case. */
int gs1_parse_scan(const char *data, size_t len, struct aim_id *aim, bool *is_gs1,
                   struct gs1_element *out, size_t cap, size_t *n_out, struct gs1_error *err);

/* Fills *el with ai (NUL-terminated 2-4 digits) and value[0..value_len) after checking them as
 * the parsers do. Returns 0, or the parsers' error codes with *err filled; *el is untouched on
 * failure. */
int gs1_element_set(struct gs1_element *el, const char *ai, const char *value, size_t value_len,
                    struct gs1_error *err);

/* Builds the element string of el[0..n) in the given order: each AI and value, and a GS after
 * every value that is not of predefined length unless it is the last (no leading FNC1: the
 * symbology adds it). Writes a NUL-terminated string to out[0..cap) and its length (without the
 * NUL) to *len_out. Every element is checked first. Returns 0; WCS_E_EXHAUSTED if cap is too
 * small (GS1_ERR_BUFFER); the parsers' codes for an invalid element; WCS_E_SYNTAX if n is 0. */
int gs1_build(const struct gs1_element *el, size_t n, char *out, size_t cap, size_t *len_out,
              struct gs1_error *err);

/* Builds the bracketed form "(01)...(10)..." of el[0..n), escaping '(' in values as "\(".
 * Same contract as gs1_build(). */
int gs1_build_hri(const struct gs1_element *el, size_t n, char *out, size_t cap, size_t *len_out,
                  struct gs1_error *err);

/* The GS1 check digit (mod 10, weights 3,1,3,... from the right) of digits[0..n), the data
 * without its check digit. Returns 0-9, or WCS_E_SYNTAX if n is 0 or a character is not a digit. */
int gs1_check_digit(const char *digits, size_t n);

/* Builds an SSCC: extension digit (0-9), GS1 Company Prefix (4-12 digits) and serial reference
 * (16 minus the prefix length, digits), both NUL-terminated, then the check digit. Writes 18
 * digits and a NUL to out. Returns 0, WCS_E_SYNTAX (non-digit) or WCS_E_RANGE (a length or the
 * extension digit out of range); out is untouched on failure. */
int gs1_sscc_build(int extension_digit, const char *company_prefix, const char *serial_ref,
                   char out[19]);

/* Turns the digits of an EAN/UPC symbol (8, 12, 13 or 14 digits) into the element (01) with the
 * GTIN padded to 14 digits. Checks digits and check digit. Returns 0, or WCS_E_SYNTAX /
 * WCS_E_CHECK with *err filled (AI "01"); *el is untouched on failure. */
int gs1_gtin_element(const char *digits, size_t len, struct gs1_element *el, struct gs1_error *err);

/* A decoded date. */
struct gs1_date {
    int year;      /* four digits */
    int month;     /* 1-12 */
    int day;       /* 1-31; the last day of the month when the data said DD = 00 */
    bool day_zero; /* the data said DD = 00 (day not specified) */
};

/* Decodes YYMMDD (the first 6 characters of yymmdd) with the GS1 century rule (General
 * Specifications §7.12): relative to ref_year (the caller's "today", e.g. 2025), YY - ref_year%100
 * of 51..99 means the previous century, -99..-50 the next one, otherwise the current one.
 * DD = 00 yields the last day of the month. Returns 0, WCS_E_SYNTAX (non-digit) or WCS_E_RANGE
 * (not a date in that century, e.g. 2100-02-29); *out is untouched on failure. */
int gs1_date_decode(const char *yymmdd, int ref_year, struct gs1_date *out);

/* The number in an element of a DECIMAL kind as units and decimals: (3103)004500 gives 4500 and
 * 3, i.e. 4.500; for 391n/393n the currency code is skipped. Returns 0, or WCS_E_UNKNOWN if the
 * AI has no implied decimal point. */
int gs1_decimal(const struct gs1_element *el, int64_t *units, int *decimals);

/* The weight in milligrams of a weight element: net 310n and gross 330n (kg), exact; net 320n
 * and gross 340n (lb), rounded to the nearest mg (1 lb = 453.59237 g). Returns 0, or
 * WCS_E_UNKNOWN for other AIs. */
int gs1_weight_mg(const struct gs1_element *el, int64_t *weight_mg);

/* Static name of a reason, e.g. "check digit". Never NULL. */
const char *gs1_reason_name(enum gs1_reason reason);

#endif
