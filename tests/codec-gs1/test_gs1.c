/* Unit tests for the GS1 element string codec (drivers/codec/gs1.c): vectors from the GS1
 * General Specifications and GS1 examples (check digits verified by hand in the comments),
 * per-AI rules, both input forms, the builders, and the date/decimal/weight/SSCC helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "drivers/codec/gs1.h"

#include <stdio.h>
#include <string.h>

#define CAP 16

static struct gs1_element els[CAP];
static struct gs1_error err;

static int parse(const char *s, size_t *n)
{
    memset(&err, 0, sizeof(err));
    return gs1_parse(s, strlen(s), els, CAP, n, &err);
}

static int parse_hri(const char *s, size_t *n)
{
    memset(&err, 0, sizeof(err));
    return gs1_parse_hri(s, strlen(s), els, CAP, n, &err);
}

static void assert_el(size_t i, const char *ai, const char *value)
{
    assert_string_equal(els[i].ai, ai);
    assert_string_equal(els[i].value, value);
    assert_int_equal(els[i].value_len, strlen(value));
}

/* Parses s expecting failure; checks code, reason and the exact message. */
static void expect_fail(int (*fn)(const char *, size_t *), const char *s, int code,
                        enum gs1_reason reason, const char *msg)
{
    size_t n = 12345;
    int rc = fn(s, &n);
    if (rc != code || err.reason != reason || strcmp(err.msg, msg) != 0)
        print_error("input \"%s\": rc %d (want %d) reason %s (want %s) msg \"%s\" (want \"%s\")\n",
                    s, rc, code, gs1_reason_name(err.reason), gs1_reason_name(reason), err.msg,
                    msg);
    assert_int_equal(rc, code);
    assert_int_equal(err.reason, reason);
    assert_string_equal(err.msg, msg);
    assert_int_equal(n, 12345); /* untouched on failure */
}

static void test_check_digit(void **state)
{
    (void)state;
    /* SSCC 10614141123456789|7 (General Specifications SSCC example): weights 3,1,... from the
     * right give 143, so 10 - 3 = 7. */
    assert_int_equal(gs1_check_digit("10614141123456789", 17), 7);
    /* GTIN 0950600013435|2: sum 78, 10 - 8 = 2. */
    assert_int_equal(gs1_check_digit("0950600013435", 13), 2);
    /* GTIN-13 400638133393|1: 4*1+0*3+0*1+6*3+3*1+8*3+1*1+3*3+3*1+3*3+9*1+3*3 = 89 -> 1. */
    assert_int_equal(gs1_check_digit("400638133393", 12), 1);
    /* GLN 061414100001|2: 1*3+1*1+4*3+1*1+4*3+1*1+6*3 = 48 -> 2. */
    assert_int_equal(gs1_check_digit("061414100001", 12), 2);
    assert_int_equal(gs1_check_digit("12a4", 4), WCS_E_SYNTAX);
    assert_int_equal(gs1_check_digit("", 0), WCS_E_SYNTAX);
}

static void test_spec_examples(void **state)
{
    size_t n;
    (void)state;
    /* (00) SSCC on its own: the General Specifications logistic label example. */
    assert_int_equal(parse("00106141411234567897", &n), 0);
    assert_int_equal(n, 1);
    assert_el(0, "00", "106141411234567897");

    /* GTIN + expiry (fixed, no GS) + batch (variable, last: no GS). */
    assert_int_equal(parse("01095060001343521726123110ABC123", &n), 0);
    assert_int_equal(n, 3);
    assert_el(0, "01", "09506000134352");
    assert_el(1, "17", "261231");
    assert_el(2, "10", "ABC123");

    /* Batch first needs a GS before the next AI; serial last. */
    assert_int_equal(parse("10ABC123\x1d"
                           "21XYZ\x1d"
                           "0109506000134352",
                           &n),
                     0);
    assert_int_equal(n, 3);
    assert_el(0, "10", "ABC123");
    assert_el(1, "21", "XYZ");
    assert_el(2, "01", "09506000134352");
}

static void test_last_fixed_and_trailing_gs(void **state)
{
    size_t n;
    (void)state;
    /* The last fixed-length AI with nothing after it. */
    assert_int_equal(parse("0109506000134352", &n), 0);
    assert_int_equal(n, 1);
    /* A redundant GS after a predefined-length value is tolerated. */
    assert_int_equal(parse("0109506000134352\x1d"
                           "10A",
                           &n),
                     0);
    assert_int_equal(n, 2);
    assert_el(1, "10", "A");
    /* GS at the very end: refused, the data may have been cut. */
    expect_fail(parse, "10ABC\x1d", WCS_E_SYNTAX, GS1_ERR_TRAILING_GS,
                "AI (10): GS at the end of the data (truncated?)");
    expect_fail(parse, "0109506000134352\x1d", WCS_E_SYNTAX, GS1_ERR_TRAILING_GS,
                "AI (01): GS at the end of the data (truncated?)");
    /* Two GS in a row: an empty element. */
    expect_fail(parse,
                "10ABC\x1d\x1d"
                "21X",
                WCS_E_SYNTAX, GS1_ERR_EMPTY, "empty element: GS at byte 6");
}

static void test_empty_values(void **state)
{
    (void)state;
    expect_fail(parse,
                "10\x1d"
                "21X",
                WCS_E_SYNTAX, GS1_ERR_EMPTY, "AI (10): empty value");
    expect_fail(parse, "21", WCS_E_SYNTAX, GS1_ERR_EMPTY, "AI (21): empty value");
    expect_fail(parse_hri, "(10)(21)X", WCS_E_SYNTAX, GS1_ERR_EMPTY, "AI (10): empty value");
    expect_fail(parse, "", WCS_E_SYNTAX, GS1_ERR_NO_DATA, "no data");
}

static void test_lengths(void **state)
{
    size_t n;
    char buf[64];
    (void)state;
    /* (10) X..20: exactly 20 passes, 21 fails. */
    assert_int_equal(parse("1012345678901234567890", &n), 0);
    assert_el(0, "10", "12345678901234567890");
    expect_fail(parse, "10123456789012345678901", WCS_E_SYNTAX, GS1_ERR_TOO_LONG,
                "AI (10): too long: at most 20 characters, got 21");
    /* (30) N..8: 8 passes, 9 fails. */
    assert_int_equal(parse("3012345678", &n), 0);
    expect_fail(parse, "30123456789", WCS_E_SYNTAX, GS1_ERR_TOO_LONG,
                "AI (30): too long: at most 8 digits, got 9");
    /* (01) N14 cut short by the end of the data. */
    expect_fail(parse, "010950600013435", WCS_E_SYNTAX, GS1_ERR_TOO_SHORT,
                "AI (01): too short: 14 digits expected, got 13");
    /* (17) cut short by a GS. */
    expect_fail(parse,
                "1726123\x1d"
                "10A",
                WCS_E_SYNTAX, GS1_ERR_TOO_SHORT, "AI (17): too short: 6 digits expected, got 5");
    /* (91)-(99) X..90: exactly 90. */
    memset(buf, 'A', sizeof(buf));
    assert_int_equal(gs1_element_set(&els[0], "91", buf, 64, &err), 0);
    /* Bracketed: max +1. */
    expect_fail(parse_hri, "(21)ABCDEFGHIJKLMNOPQRSTU", WCS_E_SYNTAX, GS1_ERR_TOO_LONG,
                "AI (21): too long: at most 20 characters, got 21");
    expect_fail(parse_hri, "(421)12", WCS_E_SYNTAX, GS1_ERR_TOO_SHORT,
                "AI (421): too short: at least 4 characters, got 2");
}

static void test_fixed_needs_gs(void **state)
{
    size_t n;
    (void)state;
    /* (8005) is N6 but not of predefined length: a GS must follow unless it is last. */
    assert_int_equal(parse("8005000123\x1d"
                           "0109506000134352",
                           &n),
                     0);
    assert_el(0, "8005", "000123");
    assert_el(1, "01", "09506000134352");
    expect_fail(parse, "80050001230109506000134352", WCS_E_SYNTAX, GS1_ERR_MISSING_GS,
                "AI (8005): GS expected after the 6-character value, got '0'");
    /* (7003) YYMMDDHHMM, same rule. */
    assert_int_equal(parse("70032612311430", &n), 0);
    expect_fail(parse, "7003261231143010A", WCS_E_SYNTAX, GS1_ERR_MISSING_GS,
                "AI (7003): GS expected after the 10-character value, got '1'");
}

static void test_check_digit_errors(void **state)
{
    (void)state;
    expect_fail(parse, "0109506000134353", WCS_E_CHECK, GS1_ERR_CHECK_DIGIT,
                "AI (01): check digit 2 expected, got 3");
    expect_fail(parse_hri, "(00)106141411234567890", WCS_E_CHECK, GS1_ERR_CHECK_DIGIT,
                "AI (00): check digit 7 expected, got 0");
    /* GLN in (414) with a wrong check digit (valid: 0614141000012). */
    expect_fail(parse_hri, "(414)0614141000011", WCS_E_CHECK, GS1_ERR_CHECK_DIGIT,
                "AI (414): check digit 2 expected, got 1");
    /* (253) GDTI: check digit on the first 13 digits, then an optional serial. */
    size_t n;
    assert_int_equal(parse_hri("(253)0614141000012ABC", &n), 0);
    assert_int_equal(parse_hri("(253)0614141000012", &n), 0);
    expect_fail(parse_hri, "(253)0614141000013ABC", WCS_E_CHECK, GS1_ERR_CHECK_DIGIT,
                "AI (253): check digit 2 expected, got 3");
}

static void test_characters(void **state)
{
    (void)state;
    expect_fail(parse, "0109506A00134352", WCS_E_SYNTAX, GS1_ERR_NON_DIGIT,
                "AI (01): non-digit 'A' at position 6");
    expect_fail(parse, "10AB C", WCS_E_SYNTAX, GS1_ERR_CHARSET,
                "AI (10): invalid character 0x20 at position 3 (not in GS1 character set 82)");
    expect_fail(parse, "10AB#", WCS_E_SYNTAX, GS1_ERR_CHARSET,
                "AI (10): invalid character '#' at position 3 (not in GS1 character set 82)");
    /* (8010) uses set 39: '#' allowed, lower case not. */
    size_t n;
    assert_int_equal(parse("8010AB#-/09", &n), 0);
    expect_fail(parse, "8010ABc", WCS_E_SYNTAX, GS1_ERR_CHARSET,
                "AI (8010): invalid character 'c' at position 3 (not in GS1 character set 39)");
    /* Every set-82 punctuation mark is accepted. */
    assert_int_equal(parse_hri("(10)!\"%&'\\()*+,-./:;<=>?_", &n), 0);
    assert_string_equal(els[0].value, "!\"%&'()*+,-./:;<=>?_");
}

static void test_dates(void **state)
{
    size_t n;
    struct gs1_date d;
    (void)state;
    expect_fail(parse, "17261301", WCS_E_RANGE, GS1_ERR_DATE,
                "AI (17): invalid date 261301: month 13");
    expect_fail(parse, "17260431", WCS_E_RANGE, GS1_ERR_DATE,
                "AI (17): invalid date 260431: no day 31 in month 04");
    expect_fail(parse, "17250229", WCS_E_RANGE, GS1_ERR_DATE,
                "AI (17): invalid date 250229: no day 29 in month 02");
    assert_int_equal(parse("17240229", &n), 0);
    /* DD = 00 is allowed for 11-17 but not for 7006. */
    assert_int_equal(parse("15240200", &n), 0);
    expect_fail(parse, "7006240200", WCS_E_RANGE, GS1_ERR_DATE,
                "AI (7006): invalid date 240200: no day 00 in month 02");
    expect_fail(parse, "70032612312400", WCS_E_RANGE, GS1_ERR_TIME, "AI (7003): invalid time 2400");

    /* DD = 00 means the last day of the month: February of a leap year. */
    assert_int_equal(gs1_date_decode("240200", 2025, &d), 0);
    assert_int_equal(d.year, 2024);
    assert_int_equal(d.month, 2);
    assert_int_equal(d.day, 29);
    assert_true(d.day_zero);
    assert_int_equal(gs1_date_decode("250200", 2025, &d), 0);
    assert_int_equal(d.day, 28);
    assert_int_equal(gs1_date_decode("261231", 2025, &d), 0);
    assert_int_equal(d.year, 2026);
    assert_false(d.day_zero);
    /* Century window (§7.12): relative to 2025, YY-25 in 51..99 -> previous century,
     * -99..-50 -> next one. */
    assert_int_equal(gs1_date_decode("750101", 2025, &d), 0);
    assert_int_equal(d.year, 2075); /* +50: current century */
    assert_int_equal(gs1_date_decode("760101", 2025, &d), 0);
    assert_int_equal(d.year, 1976); /* +51 */
    assert_int_equal(gs1_date_decode("100101", 2060, &d), 0);
    assert_int_equal(d.year, 2110); /* -50 */
    assert_int_equal(gs1_date_decode("110101", 2060, &d), 0);
    assert_int_equal(d.year, 2011); /* -49 */
    /* 2100 is not a leap year; 2000 is. */
    assert_int_equal(gs1_date_decode("000229", 2075, &d), WCS_E_RANGE);
    assert_int_equal(gs1_date_decode("000200", 2075, &d), 0);
    assert_int_equal(d.year, 2100);
    assert_int_equal(d.day, 28);
    assert_int_equal(gs1_date_decode("000229", 2025, &d), 0);
    assert_int_equal(d.year, 2000);
    assert_int_equal(gs1_date_decode("0a0101", 2025, &d), WCS_E_SYNTAX);
}

static void test_decimals_and_weights(void **state)
{
    size_t n;
    int64_t units, mg;
    int dec;
    struct gs1_ai_info info;
    (void)state;
    /* (3103)004500 = 4.500 kg. */
    assert_int_equal(parse("0109506000134352"
                           "3103004500",
                           &n),
                     0);
    assert_int_equal(gs1_decimal(&els[1], &units, &dec), 0);
    assert_int_equal(units, 4500);
    assert_int_equal(dec, 3);
    assert_int_equal(gs1_weight_mg(&els[1], &mg), 0);
    assert_int_equal(mg, 4500000);
    /* (3300)000125 = 125 kg gross; (3205)000100 = 0.001 lb = 453.59237 mg -> 454. */
    assert_int_equal(gs1_element_set(&els[0], "3300", "000125", 6, &err), 0);
    assert_int_equal(gs1_weight_mg(&els[0], &mg), 0);
    assert_int_equal(mg, 125000000);
    assert_int_equal(gs1_element_set(&els[0], "3205", "000100", 6, &err), 0);
    assert_int_equal(gs1_weight_mg(&els[0], &mg), 0);
    assert_int_equal(mg, 454);
    /* 3106-3109 do not exist (decimals 0-5 only). */
    expect_fail(parse, "3106004500", WCS_E_UNKNOWN, GS1_ERR_UNKNOWN_AI,
                "unknown AI at byte 0: \"3106\"");
    /* (3922)1999: price 19.99; (3932)978 1999: EUR 19.99. */
    assert_int_equal(parse_hri("(3922)1999", &n), 0);
    assert_int_equal(gs1_decimal(&els[0], &units, &dec), 0);
    assert_int_equal(units, 1999);
    assert_int_equal(dec, 2);
    assert_int_equal(gs1_weight_mg(&els[0], &mg), WCS_E_UNKNOWN);
    assert_int_equal(parse_hri("(3932)9781999", &n), 0);
    assert_int_equal(gs1_decimal(&els[0], &units, &dec), 0);
    assert_int_equal(units, 1999);
    /* Not a decimal AI. */
    assert_int_equal(parse_hri("(10)123", &n), 0);
    assert_int_equal(gs1_decimal(&els[0], &units, &dec), WCS_E_UNKNOWN);

    assert_int_equal(gs1_ai_info("3103", &info), 0);
    assert_string_equal(info.title, "NET WEIGHT (kg)");
    assert_string_equal(info.unit, "kg");
    assert_int_equal(info.decimals, 3);
    assert_true(info.predefined);
    assert_int_equal(gs1_ai_info("10", &info), 0);
    assert_false(info.predefined);
    assert_int_equal(info.max_len, 20);
    assert_int_equal(gs1_ai_info("8005", &info), 0);
    assert_false(info.predefined); /* fixed length, yet FNC1 required */
    assert_int_equal(gs1_ai_info("23", &info), WCS_E_UNKNOWN);
    assert_int_equal(gs1_ai_info("1x", &info), WCS_E_UNKNOWN);
}

static void test_unknown_ai(void **state)
{
    (void)state;
    /* 23 is not allocated any more; 235 is, but 2399 is not. */
    expect_fail(parse,
                "0109506000134352"
                "2399ABC",
                WCS_E_UNKNOWN, GS1_ERR_UNKNOWN_AI, "unknown AI at byte 16: \"2399\"");
    expect_fail(parse, "AB12", WCS_E_UNKNOWN, GS1_ERR_UNKNOWN_AI, "unknown AI at byte 0: \"AB12\"");
    expect_fail(parse_hri, "(23)ABC", WCS_E_UNKNOWN, GS1_ERR_UNKNOWN_AI, "AI (23): unknown AI");
    expect_fail(parse_hri, "(1)ABC", WCS_E_SYNTAX, GS1_ERR_SYNTAX,
                "AI of 2-4 digits and ')' expected at byte 1");
    expect_fail(parse_hri, "(01)0950600013435x(10)A", WCS_E_SYNTAX, GS1_ERR_NON_DIGIT,
                "AI (01): non-digit 'x' at position 14");
    expect_fail(parse_hri, "(01)09506000134352x(10)A", WCS_E_SYNTAX, GS1_ERR_TOO_LONG,
                "AI (01): too long: 14 digits expected, got 15");
    expect_fail(parse_hri, "01)0950", WCS_E_SYNTAX, GS1_ERR_SYNTAX,
                "'(' expected at byte 0, got '0'");
}

static void test_other_rules(void **state)
{
    size_t n;
    (void)state;
    /* (8006) ITIP: piece 01 of 02 fine, 03 of 02 not. */
    assert_int_equal(parse_hri("(8006)095060001343520102", &n), 0);
    expect_fail(parse_hri, "(8006)095060001343520302", WCS_E_SYNTAX, GS1_ERR_CONTENT,
                "AI (8006): piece 03 of total 02 is invalid");
    /* (4330) temperature with an optional '-'. */
    assert_int_equal(parse_hri("(4330)001520-", &n), 0);
    expect_fail(parse_hri, "(4330)001520+", WCS_E_SYNTAX, GS1_ERR_CONTENT,
                "AI (4330): '-' expected after the temperature");
    /* (7007) one date or a range of two. */
    assert_int_equal(parse_hri("(7007)240101240131", &n), 0);
    expect_fail(parse_hri, "(7007)240101240", WCS_E_SYNTAX, GS1_ERR_TOO_SHORT,
                "AI (7007): too short: the part after position 6 needs 6 characters, got 3");
    /* (8011) no leading zero. */
    expect_fail(parse_hri, "(8011)0123", WCS_E_SYNTAX, GS1_ERR_CONTENT,
                "AI (8011): leading zero not allowed");
    /* (4300) percent-escapes. */
    assert_int_equal(parse_hri("(4300)ACME%20Ltd", &n), 0);
    expect_fail(parse_hri, "(4300)ACME%2", WCS_E_SYNTAX, GS1_ERR_CONTENT,
                "AI (4300): '%' at position 5 is not followed by two hex digits");
}

static void test_capacity(void **state)
{
    size_t n = 0;
    struct gs1_element two[2];
    (void)state;
    assert_int_equal(gs1_parse("2001"
                               "2002",
                               8, two, 2, &n, &err),
                     0);
    assert_int_equal(n, 2);
    n = 99;
    assert_int_equal(gs1_parse("2001"
                               "2002"
                               "2003",
                               12, two, 2, &n, &err),
                     WCS_E_EXHAUSTED);
    assert_int_equal(err.reason, GS1_ERR_TOO_MANY);
    assert_int_equal(n, 99);
}

static void test_hri_and_build(void **state)
{
    size_t n, len;
    char out[128];
    (void)state;
    assert_int_equal(parse_hri("(01)09506000134352(17)261231(10)ABC123", &n), 0);
    assert_int_equal(n, 3);
    assert_el(2, "10", "ABC123");
    /* Fixed AIs get no GS; a variable one gets GS unless last. */
    assert_int_equal(gs1_build(els, n, out, sizeof(out), &len, &err), 0);
    assert_string_equal(out, "01095060001343521726123110ABC123");
    assert_int_equal(len, 32);

    /* An unescaped '(' starts an AI. */
    expect_fail(parse_hri, "(10)ABC(8005)000123(21)S(1)", WCS_E_SYNTAX, GS1_ERR_SYNTAX,
                "AI of 2-4 digits and ')' expected at byte 25");
    assert_int_equal(parse_hri("(10)ABC(8005)000123(21)S\\(1)", &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(gs1_build(els, n, out, sizeof(out), &len, &err), 0);
    assert_string_equal(out, "10ABC\x1d"
                             "8005000123\x1d"
                             "21S(1)");
    assert_int_equal(gs1_build_hri(els, n, out, sizeof(out), &len, &err), 0);
    assert_string_equal(out, "(10)ABC(8005)000123(21)S\\(1)");
    /* The escaped form parses back to the same value. */
    assert_int_equal(parse_hri(out, &n), 0);
    assert_el(2, "21", "S(1)");

    /* Buffer exactly large enough, and one byte short. */
    assert_int_equal(gs1_element_set(&els[0], "01", "09506000134352", 14, &err), 0);
    assert_int_equal(gs1_build(els, 1, out, 17, &len, &err), 0);
    assert_int_equal(gs1_build(els, 1, out, 16, &len, &err), WCS_E_EXHAUSTED);
    assert_int_equal(err.reason, GS1_ERR_BUFFER);
    assert_int_equal(gs1_build(els, 0, out, sizeof(out), &len, &err), WCS_E_SYNTAX);

    /* The builder checks its input. */
    memcpy(els[0].value, "09506000134353", 15);
    assert_int_equal(gs1_build(els, 1, out, sizeof(out), &len, &err), WCS_E_CHECK);
    assert_string_equal(err.msg, "AI (01): check digit 2 expected, got 3");
    assert_int_equal(gs1_element_set(&els[0], "99", "", 0, &err), WCS_E_SYNTAX);
    assert_int_equal(gs1_element_set(&els[0], "999", "A", 1, &err), WCS_E_UNKNOWN);
}

static void test_sscc_and_gtin(void **state)
{
    char sscc[19] = "untouched";
    struct gs1_element el;
    (void)state;
    /* Extension 1, GS1 Company Prefix 0614141, serial reference 123456789 -> check 7. */
    assert_int_equal(gs1_sscc_build(1, "0614141", "123456789", sscc), 0);
    assert_string_equal(sscc, "106141411234567897");
    assert_int_equal(gs1_sscc_build(1, "0614141", "12345678", sscc), WCS_E_RANGE);
    assert_int_equal(gs1_sscc_build(10, "0614141", "123456789", sscc), WCS_E_RANGE);
    assert_int_equal(gs1_sscc_build(1, "06141A1", "123456789", sscc), WCS_E_SYNTAX);
    assert_string_equal(sscc, "106141411234567897");

    /* EAN-13 4006381333931 -> GTIN-14 04006381333931. */
    assert_int_equal(gs1_gtin_element("4006381333931", 13, &el, &err), 0);
    assert_string_equal(el.ai, "01");
    assert_string_equal(el.value, "04006381333931");
    /* EAN-8 96385074: 9*3+6+3*3+8+5*3+0+7*3 = 86 -> check 4. */
    assert_int_equal(gs1_gtin_element("96385074", 8, &el, &err), 0);
    assert_string_equal(el.value, "00000096385074");
    assert_int_equal(gs1_gtin_element("4006381333932", 13, &el, &err), WCS_E_CHECK);
    assert_string_equal(err.msg, "AI (01): check digit 1 expected, got 2");
    assert_int_equal(gs1_gtin_element("400638133393", 11, &el, &err), WCS_E_SYNTAX);
}

static void test_scan(void **state)
{
    struct aim_id aim;
    bool gs1;
    size_t n = 0;
    const char *s;
    (void)state;
    s = "]C101095060001343521726123110ABC123";
    assert_int_equal(gs1_parse_scan(s, strlen(s), &aim, &gs1, els, CAP, &n, &err), 0);
    assert_true(gs1);
    assert_string_equal(aim.text, "]C1");
    assert_int_equal(n, 3);
    /* ]d2 with a transmitted leading FNC1. */
    s = "]d2\x1d"
        "0109506000134352";
    assert_int_equal(gs1_parse_scan(s, strlen(s), &aim, &gs1, els, CAP, &n, &err), 0);
    assert_int_equal(n, 1);
    /* ]C0 is plain Code 128, even if it looks like an element string. */
    s = "]C00109506000134352";
    assert_int_equal(gs1_parse_scan(s, strlen(s), &aim, &gs1, els, CAP, &n, &err), 0);
    assert_false(gs1);
    assert_int_equal(n, 0);
    /* ]E0: a GTIN-13. */
    s = "]E04006381333931";
    assert_int_equal(gs1_parse_scan(s, strlen(s), &aim, &gs1, els, CAP, &n, &err), 0);
    assert_true(gs1);
    assert_el(0, "01", "04006381333931");
    /* No identifier: bracketed, GS-led, or plain. */
    s = "(01)09506000134352";
    assert_int_equal(gs1_parse_scan(s, strlen(s), &aim, &gs1, els, CAP, &n, &err), 0);
    assert_true(gs1);
    assert_false(aim.present);
    s = "\x1d"
        "0109506000134352";
    assert_int_equal(gs1_parse_scan(s, strlen(s), &aim, &gs1, els, CAP, &n, &err), 0);
    assert_true(gs1);
    s = "TOTE-0042";
    assert_int_equal(gs1_parse_scan(s, strlen(s), &aim, &gs1, els, CAP, &n, &err), 0);
    assert_false(gs1);
    /* Error offsets count the identifier. */
    s = "]C10109506000134353";
    assert_int_equal(gs1_parse_scan(s, strlen(s), &aim, &gs1, els, CAP, &n, &err), WCS_E_CHECK);
    assert_int_equal(err.offset, 18);
}

/* GS1 allocates AIs so that none is a prefix of another; the element-string parser relies on it
 * (it takes the first AI length that matches). Checks the whole table. */
static void test_table_prefix_free(void **state)
{
    static char known[11200][5];
    size_t n = 0;
    struct gs1_ai_info info;
    (void)state;
    for (int len = 2; len <= 4; len++) {
        int lim = len == 2 ? 100 : len == 3 ? 1000 : 10000;
        for (int v = 0; v < lim; v++) {
            char ai[12]; /* room for any int, so -Wformat-truncation has nothing to say */
            snprintf(ai, sizeof(ai), "%0*d", len, v);
            if (gs1_ai_info(ai, &info) == 0) {
                assert_true(info.min_len >= 1);
                assert_true(info.max_len <= GS1_VALUE_LEN_MAX);
                memcpy(known[n++], ai, 5);
            }
        }
    }
    assert_true(n > 150);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j && strncmp(known[j], known[i], strlen(known[i])) == 0)
                fail_msg("AI %s is a prefix of AI %s", known[i], known[j]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_digit),
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_last_fixed_and_trailing_gs),
        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_fixed_needs_gs),
        cmocka_unit_test(test_check_digit_errors),
        cmocka_unit_test(test_characters),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_decimals_and_weights),
        cmocka_unit_test(test_unknown_ai),
        cmocka_unit_test(test_other_rules),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_hri_and_build),
        cmocka_unit_test(test_sscc_and_gtin),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_table_prefix_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
