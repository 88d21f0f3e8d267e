/* Unit tests for the HID POS codec: scale reports in every unit with exact milligram results,
 * rounding, statuses and error paths; scanner reports and the multi-report reassembler with
 * its overflow and AIM-consistency errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "drivers/codec/hidpos.h"

static int64_t mg_of(uint8_t unit, int8_t exp, uint16_t raw)
{
    const uint8_t rep[6] = {0x03,         HIDPOS_SCALE_STABLE,   unit,
                            (uint8_t)exp, (uint8_t)(raw & 0xff), (uint8_t)(raw >> 8)};
    struct hidpos_scale_reading r;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), 0);
    assert_true(r.has_weight);
    return r.weight_mg;
}

static void test_scale_example(void **state)
{
    /* protocols.md: 03 04 0B FF 31 00 = stable 4.9 oz = 4.9 x 28349.523125 mg = 138912.66 */
    const uint8_t rep[6] = {0x03, 0x04, 0x0b, 0xff, 0x31, 0x00};
    const uint8_t rep7[7] = {0x00, 0x03, 0x04, 0x0b, 0xff, 0x31, 0x00};
    struct hidpos_scale_reading r;
    (void)state;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), 0);
    assert_int_equal(r.status, HIDPOS_SCALE_STABLE);
    assert_int_equal(r.unit, HIDPOS_UNIT_OZ);
    assert_int_equal(r.exponent, -1);
    assert_int_equal(r.raw, 49);
    assert_true(r.stable);
    assert_true(r.has_weight);
    assert_int_equal(r.weight_mg, 138913);
    /* The same report behind the 0x00 some stacks prepend. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(hidpos_scale_decode(rep7, 7, &r), 0);
    assert_int_equal(r.weight_mg, 138913);
}

static void test_scale_units(void **state)
{
    (void)state;
    assert_int_equal(mg_of(HIDPOS_UNIT_MG, 0, 250), 250);
    assert_int_equal(mg_of(HIDPOS_UNIT_G, 0, 1000), 1000000);
    assert_int_equal(mg_of(HIDPOS_UNIT_KG, -3, 12345), 12345000);
    assert_int_equal(mg_of(HIDPOS_UNIT_CARAT, 0, 100), 20000);
    assert_int_equal(mg_of(HIDPOS_UNIT_TAEL, 0, 1), 37799);         /* 37799.364 */
    assert_int_equal(mg_of(HIDPOS_UNIT_TAEL, 0, 3), 113398);        /* exactly 4 oz: 113398.09 */
    assert_int_equal(mg_of(HIDPOS_UNIT_GRAIN, 0, 1000), 64799);     /* 64798.91 */
    assert_int_equal(mg_of(HIDPOS_UNIT_PENNYWEIGHT, 0, 20), 31103); /* 31103.4768 */
    assert_int_equal(mg_of(HIDPOS_UNIT_TONNE, -3, 1500), 1500000000);
    assert_int_equal(mg_of(HIDPOS_UNIT_TON, 0, 1), 907184740);
    assert_int_equal(mg_of(HIDPOS_UNIT_TROY_OZ, 0, 10), 311035);    /* 311034.768 */
    assert_int_equal(mg_of(HIDPOS_UNIT_OZ, 0, 16), 453592);         /* 16 oz = 1 lb = 453592.37 */
    assert_int_equal(mg_of(HIDPOS_UNIT_LB, -1, 50), 2267962);       /* 2267961.85 */
    assert_int_equal(mg_of(HIDPOS_UNIT_LB, 0, 65535), 29726175968); /* 65535 lb, beyond int32 */
    assert_int_equal(mg_of(HIDPOS_UNIT_G, 2, 7), 700000);           /* positive exponent */
    /* Halves round away from zero. */
    assert_int_equal(mg_of(HIDPOS_UNIT_MG, -1, 4), 0);
    assert_int_equal(mg_of(HIDPOS_UNIT_MG, -1, 5), 1);
    assert_int_equal(mg_of(HIDPOS_UNIT_MG, -1, 25), 3);
    /* Tiny exponents round to zero instead of failing. */
    assert_int_equal(mg_of(HIDPOS_UNIT_TON, -128, 65535), 0);
}

static void test_scale_statuses(void **state)
{
    struct hidpos_scale_reading r;
    uint8_t rep[6] = {0x04, 0, HIDPOS_UNIT_G, 0, 0, 0};
    (void)state;
    rep[1] = HIDPOS_SCALE_STABLE_ZERO;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), 0);
    assert_true(r.stable && r.has_weight);
    assert_int_equal(r.weight_mg, 0);
    rep[1] = HIDPOS_SCALE_IN_MOTION;
    rep[4] = 10;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), 0);
    assert_false(r.stable);
    assert_true(r.has_weight);
    assert_int_equal(r.weight_mg, 10000);
    /* Fault, under zero, overweight, calibration and re-zero are distinct, weightless results. */
    static const enum hidpos_scale_status no_weight[] = {
        HIDPOS_SCALE_FAULT, HIDPOS_SCALE_UNDER_ZERO, HIDPOS_SCALE_OVERWEIGHT,
        HIDPOS_SCALE_NEEDS_CALIBRATION, HIDPOS_SCALE_NEEDS_REZERO};
    for (size_t i = 0; i < sizeof(no_weight) / sizeof(no_weight[0]); i++) {
        rep[1] = (uint8_t)no_weight[i];
        assert_int_equal(hidpos_scale_decode(rep, 6, &r), 0);
        assert_int_equal(r.status, no_weight[i]);
        assert_false(r.has_weight);
        assert_false(r.stable);
    }
    /* A fault report may come with unit 0: that is not an error. */
    rep[1] = HIDPOS_SCALE_FAULT;
    rep[2] = HIDPOS_UNIT_UNKNOWN;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), 0);
}

static void test_scale_errors(void **state)
{
    struct hidpos_scale_reading r;
    const uint8_t good[6] = {0x03, 0x04, 0x0b, 0xff, 0x31, 0x00};
    uint8_t rep[8];
    (void)state;
    memset(&r, 0x5a, sizeof(r));
    assert_int_equal(hidpos_scale_decode(good, 5, &r), WCS_E_SYNTAX);
    assert_int_equal(hidpos_scale_decode(good, 0, &r), WCS_E_SYNTAX);
    memcpy(rep, good, 6);
    rep[6] = 0;
    assert_int_equal(hidpos_scale_decode(rep, 7, &r), WCS_E_SYNTAX); /* 7 bytes, no leading 0 */
    memcpy(rep, good, 6);
    rep[0] = 0x05;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), WCS_E_SYNTAX);
    memcpy(rep, good, 6);
    rep[1] = 0;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), WCS_E_RANGE);
    rep[1] = 9;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), WCS_E_RANGE);
    memcpy(rep, good, 6);
    rep[2] = 13;
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), WCS_E_RANGE);
    rep[2] = HIDPOS_UNIT_UNKNOWN; /* a weight in an unknown unit cannot be converted */
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), WCS_E_RANGE);
    memcpy(rep, good, 6);
    rep[2] = HIDPOS_UNIT_KG;
    rep[3] = 12; /* 49e12 kg does not fit */
    assert_int_equal(hidpos_scale_decode(rep, 6, &r), WCS_E_RANGE);
    for (size_t i = 0; i < sizeof(r); i++)
        assert_int_equal(((unsigned char *)&r)[i], 0x5a);
}

static void test_zero_report(void **state)
{
    uint8_t buf[4] = {0};
    (void)state;
    assert_int_equal(hidpos_scale_zero_report(buf, 1), WCS_E_EXHAUSTED);
    assert_int_equal(hidpos_scale_zero_report(buf, sizeof(buf)), 2);
    assert_int_equal(buf[0], 0x02);
    assert_int_equal(buf[1], 0x02);
}

/* Builds a 64-byte scanner report (or the 63-byte form without id). */
static size_t report(uint8_t *r, bool with_id, const char *aim, const char *data, size_t len,
                     bool more)
{
    uint8_t *p = with_id ? r + 1 : r;
    memset(r, 0, 64);
    if (with_id)
        r[0] = 0x02;
    p[0] = (uint8_t)len;
    if (aim)
        memcpy(p + 1, aim, 3);
    memcpy(p + 4, data, len);
    p[60] = 's'; /* vendor symbology id, ignored */
    p[62] = more ? 0x01 : 0x00;
    return with_id ? 64 : 63;
}

static void test_scanner_single(void **state)
{
    static struct hidpos_scan_asm a;
    static struct hidpos_scan s;
    uint8_t r[64];
    struct hidpos_scan_report rep;
    (void)state;
    size_t n = report(r, true, "]C0", "TOTE0042", 8, false);
    assert_int_equal(hidpos_scanner_decode(r, n, &rep), 0);
    assert_string_equal(rep.aim, "]C0");
    assert_int_equal(rep.len, 8);
    assert_false(rep.more);
    hidpos_scan_asm_init(&a, 256);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, n, &s), 1);
    assert_string_equal(s.aim, "]C0");
    assert_int_equal(s.len, 8);
    assert_string_equal((char *)s.data, "TOTE0042");
    /* The 63-byte form (report id stripped by the stack). */
    n = report(r, false, "]E0", "4006381333931", 13, false);
    assert_int_equal(n, 63);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, n, &s), 1);
    assert_string_equal(s.aim, "]E0");
    assert_string_equal((char *)s.data, "4006381333931");
}

static void test_scanner_continuation(void **state)
{
    static struct hidpos_scan_asm a;
    static struct hidpos_scan s;
    char data[61];
    uint8_t r[64];
    (void)state;
    /* Access-IS manual example: a 60-byte read split 56 + 4, flag set on the first report. */
    for (int i = 0; i < 60; i++)
        data[i] = (char)('A' + i % 26);
    data[60] = '\0';
    hidpos_scan_asm_init(&a, 256);
    report(r, true, "]Q0", data, 56, true);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 0);
    report(r, true, "]Q0", data + 56, 4, false);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 1);
    assert_int_equal(s.len, 60);
    assert_memory_equal(s.data, data, 60);
    assert_string_equal(s.aim, "]Q0");
    /* Continuation reports that leave the AIM field zero are accepted. */
    report(r, true, "]d2", data, 56, true);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 0);
    report(r, true, NULL, data + 56, 4, false);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 1);
    assert_string_equal(s.aim, "]d2");
    assert_int_equal(s.len, 60);
    /* An AIM identifier that changes inside a read is an error and drops the read. */
    report(r, true, "]d2", data, 56, true);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 0);
    report(r, true, "]C0", data, 4, false);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), WCS_E_SYNTAX);
    report(r, true, "]C0", "X", 1, false);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 1);
    assert_string_equal((char *)s.data, "X");
}

static void test_scanner_overflow(void **state)
{
    static struct hidpos_scan_asm a;
    static struct hidpos_scan s;
    char data[57];
    uint8_t r[64];
    (void)state;
    memset(data, 'Z', 56);
    hidpos_scan_asm_init(&a, 100);
    report(r, true, "]C0", data, 56, true);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 0);
    report(r, true, "]C0", data, 56, true); /* 112 > 100 */
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), WCS_E_FULL);
    assert_int_equal(a.overflows, 1);
    report(r, true, "]C0", data, 10, false); /* rest of the overflowed read: skipped */
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 0);
    report(r, true, "]C0", "OK", 2, false); /* the next read is whole again */
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 1);
    assert_string_equal((char *)s.data, "OK");
    /* Exactly max_len is fine. */
    hidpos_scan_asm_init(&a, 56);
    report(r, true, "]C0", data, 56, false);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 1);
    assert_int_equal(s.len, 56);
}

static void test_scanner_errors(void **state)
{
    static struct hidpos_scan_asm a;
    static struct hidpos_scan s;
    struct hidpos_scan_report rep;
    uint8_t r[64];
    (void)state;
    report(r, true, "]C0", "A", 1, false);
    assert_int_equal(hidpos_scanner_decode(r, 62, &rep), WCS_E_SYNTAX);
    assert_int_equal(hidpos_scanner_decode(r, 0, &rep), WCS_E_SYNTAX);
    r[0] = 0x01;
    assert_int_equal(hidpos_scanner_decode(r, 64, &rep), WCS_E_SYNTAX);
    report(r, true, "]C0", "A", 1, false);
    r[1] = 57;
    assert_int_equal(hidpos_scanner_decode(r, 64, &rep), WCS_E_SYNTAX);
    report(r, true, "C0]", "A", 1, false);
    assert_int_equal(hidpos_scanner_decode(r, 64, &rep), WCS_E_SYNTAX);
    report(r, true,
           "]\x01"
           "0",
           "A", 1, false);
    assert_int_equal(hidpos_scanner_decode(r, 64, &rep), WCS_E_SYNTAX);
    /* A bad report in the middle of a read drops the partial read. */
    hidpos_scan_asm_init(&a, 256);
    report(r, true, "]C0", "PART", 4, true);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 0);
    r[0] = 0x07;
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), WCS_E_SYNTAX);
    report(r, true, "]C0", "NEW", 3, false);
    assert_int_equal(hidpos_scan_asm_feed(&a, r, 64, &s), 1);
    assert_string_equal((char *)s.data, "NEW");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_example),        cmocka_unit_test(test_scale_units),
        cmocka_unit_test(test_scale_statuses),       cmocka_unit_test(test_scale_errors),
        cmocka_unit_test(test_zero_report),          cmocka_unit_test(test_scanner_single),
        cmocka_unit_test(test_scanner_continuation), cmocka_unit_test(test_scanner_overflow),
        cmocka_unit_test(test_scanner_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
