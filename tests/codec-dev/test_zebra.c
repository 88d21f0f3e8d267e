/* Unit tests for the Zebra status parsers: a ~HS reply as a ZT410 sends it, every flag, partial
 * input, malformed fields; ~HQES error/warning bitmasks and their consistency checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "drivers/codec/zebra.h"

/* A real-looking ~HS reply: 9600 8N1 (comm 030), 1245-dot label, 2 formats in buffer, tear-off
 * mode, thermal transfer, 10 labels left in the batch, 3 graphics stored, password 1234. */
static const char HS[] = "\x02"
                         "030,0,0,1245,002,0,0,0,000,0,0,0\x03\r\n"
                         "\x02"
                         "001,0,0,0,1,2,6,0,00000010,1,003\x03\r\n"
                         "\x02"
                         "1234,0\x03\r\n";

static int hs(const char *s, size_t n, struct zebra_hs *h)
{
    return zebra_hs_parse((const uint8_t *)s, n, h);
}

static void test_hs_example(void **state)
{
    struct zebra_hs h;
    (void)state;
    assert_int_equal(hs(HS, sizeof(HS) - 1, &h), (int)sizeof(HS) - 1);
    assert_int_equal(h.comm_settings, 30);
    assert_false(h.paper_out);
    assert_false(h.paused);
    assert_int_equal(h.label_length_dots, 1245);
    assert_int_equal(h.formats_in_buffer, 2);
    assert_false(h.buffer_full || h.comm_diag_mode || h.partial_format || h.corrupt_ram ||
                 h.under_temperature || h.over_temperature);
    assert_int_equal(h.function_settings, 1);
    assert_false(h.head_up);
    assert_false(h.ribbon_out);
    assert_true(h.thermal_transfer);
    assert_int_equal(h.print_mode, ZEBRA_MODE_TEAR_OFF);
    assert_int_equal(h.print_width_mode, 6);
    assert_false(h.label_waiting);
    assert_int_equal(h.labels_remaining, 10);
    assert_true(h.format_while_printing);
    assert_int_equal(h.graphics_stored, 3);
    assert_int_equal(h.password, 1234);
    assert_false(h.static_ram_installed);
}

static void test_hs_flags(void **state)
{
    struct zebra_hs h;
    /* Every flag set: paper out, paused, buffer full, diag, partial, corrupt RAM, under and
     * over temperature, head up, ribbon out, label waiting, static RAM; peel-off and kiosk. */
    const char all[] = "\x02"
                       "094,1,1,0812,999,1,1,1,000,1,1,1\x03\r\n"
                       "\x02"
                       "127,0,1,1,0,1,0,1,99999999,1,000\x03\r\n"
                       "\x02"
                       "0000,1\x03\r\n";
    const char kiosk[] = "\x02"
                         "030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n"
                         "\x02"
                         "001,0,0,0,1,K,6,0,00000000,1,000\x03\r\n"
                         "\x02"
                         "1234,0\x03\r\n";
    (void)state;
    assert_int_equal(hs(all, sizeof(all) - 1, &h), (int)sizeof(all) - 1);
    assert_true(h.paper_out && h.paused && h.buffer_full && h.comm_diag_mode && h.partial_format &&
                h.corrupt_ram && h.under_temperature && h.over_temperature);
    assert_true(h.head_up && h.ribbon_out && h.label_waiting && h.static_ram_installed);
    assert_false(h.thermal_transfer);
    assert_int_equal(h.print_mode, ZEBRA_MODE_PEEL_OFF);
    assert_int_equal(h.formats_in_buffer, 999);
    assert_int_equal(h.labels_remaining, 99999999);
    assert_int_equal(hs(kiosk, sizeof(kiosk) - 1, &h), (int)sizeof(kiosk) - 1);
    assert_int_equal(h.print_mode, ZEBRA_MODE_KIOSK);
}

static void test_hs_partial_and_noise(void **state)
{
    struct zebra_hs h;
    char buf[200];
    size_t n = sizeof(HS) - 1;
    (void)state;
    /* Every strict prefix is "need more", never an error. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hs(HS, i, &h), -EAGAIN);
    /* Noise before the first STX (a stray CR LF) is skipped; bytes after are left. */
    memcpy(buf, "\r\n", 2);
    memcpy(buf + 2, HS, n);
    memcpy(buf + 2 + n, "\x02", 1);
    assert_int_equal(hs(buf, n + 3, &h), (int)n + 2);
}

static void test_hs_errors(void **state)
{
    struct zebra_hs h;
    static const char *const bad[] = {
        /* 11 fields in string 1 */
        "\x02"
        "030,0,0,1245,002,0,0,0,000,0,0\x03\r\n\x02"
        "001,0,0,0,1,2,6,0,00000010,1,003"
        "\x03\r\n\x02"
        "1234,0\x03\r\n",
        /* flag 2 */
        "\x02"
        "030,2,0,1245,002,0,0,0,000,0,0,0\x03\r\n\x02"
        "001,0,0,0,1,2,6,0,00000010,1,003"
        "\x03\r\n\x02"
        "1234,0\x03\r\n",
        /* letter in a number */
        "\x02"
        "030,0,0,12a5,002,0,0,0,000,0,0,0\x03\r\n\x02"
        "001,0,0,0,1,2,6,0,00000010,1,003"
        "\x03\r\n\x02"
        "1234,0\x03\r\n",
        /* empty field */
        "\x02"
        "030,0,0,,002,0,0,0,000,0,0,0\x03\r\n\x02"
        "001,0,0,0,1,2,6,0,00000010,1,003"
        "\x03\r\n\x02"
        "1234,0\x03\r\n",
        /* 12 fields in string 2 */
        "\x02"
        "030,0,0,1245,002,0,0,0,000,0,0,0\x03\r\n\x02"
        "001,0,0,0,1,2,6,0,00000010,1,003,"
        "0\x03\r\n\x02"
        "1234,0\x03\r\n",
        /* string 3 with 3 fields */
        "\x02"
        "030,0,0,1245,002,0,0,0,000,0,0,0\x03\r\n\x02"
        "001,0,0,0,1,2,6,0,00000010,1,003"
        "\x03\r\n\x02"
        "1234,0,1\x03\r\n",
        /* ETX not followed by CR LF */
        "\x02"
        "030,0,0,1245,002,0,0,0,000,0,0,0\x03X\n\x02"
        "001,0,0,0,1,2,6,0,00000010,1,003"
        "\x03\r\n\x02"
        "1234,0\x03\r\n",
        /* STX inside a string */
        "\x02"
        "030,0,0,12\x02"
        "45,002,0,0,0,000,0,0,0\x03\r\n\x02"
        "001,0,0,0,1,2,6,0,00000010,"
        "1,003\x03\r\n\x02"
        "1234,0\x03\r\n",
        /* ETX outside a string */
        "\x03\x02"
        "030,0,0,1245,002,0,0,0,000,0,0,0\x03\r\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&h, 0x5a, sizeof(h));
        int rc = hs(bad[i], strlen(bad[i]), &h);
        if (rc != WCS_E_SYNTAX)
            fail_msg("case %zu: rc %d", i, rc);
        assert_int_equal(((unsigned char *)&h)[0], 0x5a);
    }
    const char mode[] = "\x02"
                        "030,0,0,1245,002,0,0,0,000,0,0,0\x03\r\n"
                        "\x02"
                        "001,0,0,0,1,Z,6,0,00000010,1,003\x03\r\n"
                        "\x02"
                        "1234,0\x03\r\n";
    assert_int_equal(hs(mode, sizeof(mode) - 1, &h), WCS_E_RANGE);
}

static int hq(const char *s, struct zebra_hqes *q)
{
    return zebra_hqes_parse((const uint8_t *)s, strlen(s), q);
}

static void test_hqes(void **state)
{
    struct zebra_hqes q;
    /* Layout as the printer sends it: STX, indented lines, ETX. */
    const char ok[] = "\x02\r\n  PRINTER STATUS\r\n"
                      "   ERRORS:         0 00000000 00000000\r\n"
                      "   WARNINGS:       0 00000000 00000000\r\n\x03";
    const char errs[] = "\x02\r\n  PRINTER STATUS\r\n"
                        "   ERRORS:         1 00000000 00011005\r\n"
                        "   WARNINGS:       1 00000000 00000002\r\n\x03";
    (void)state;
    assert_int_equal(hq(ok, &q), (int)strlen(ok));
    assert_int_equal(q.errors, 0);
    assert_int_equal(q.warnings, 0);
    assert_int_equal(hq(errs, &q), (int)strlen(errs));
    assert_int_equal(q.errors, ZEBRA_ERR_MEDIA_OUT | ZEBRA_ERR_HEAD_OPEN | ZEBRA_ERR_PAPER_JAM |
                                   ZEBRA_ERR_PAUSED);
    assert_int_equal(q.warnings, ZEBRA_WARN_CLEAN_HEAD);
    /* Group 2 lands in the high 32 bits; LF-only lines and lower-case hex are accepted. */
    assert_true(
        hq("PRINTER STATUS\nERRORS: 1 0000000a 00000000\nWARNINGS: 0 00000000 00000000\n", &q) > 0);
    assert_int_equal(q.errors, 0xaull << 32);
    /* Incomplete input asks for more. */
    assert_int_equal(hq("\x02\r\n  PRINTER STATUS\r\n   ERRORS:   0 00000000 00000000\r\n", &q),
                     -EAGAIN);
    assert_int_equal(hq("", &q), -EAGAIN);
}

static void test_hqes_errors(void **state)
{
    struct zebra_hqes q;
    static const struct {
        const char *s;
        int rc;
    } bad[] = {
        {"PRINTER STATE\nERRORS: 0 00000000 00000000\nWARNINGS: 0 00000000 00000000\n",
         WCS_E_SYNTAX},
        {"PRINTER STATUS\nERRORS: 0 0000000 00000000\nWARNINGS: 0 00000000 00000000\n",
         WCS_E_SYNTAX},
        {"PRINTER STATUS\nERRORS: 0 00000000 0000000G\nWARNINGS: 0 00000000 00000000\n",
         WCS_E_SYNTAX},
        {"PRINTER STATUS\nERRORS: 2 00000000 00000000\nWARNINGS: 0 00000000 00000000\n",
         WCS_E_SYNTAX},
        {"PRINTER STATUS\nWARNINGS: 0 00000000 00000000\nERRORS: 0 00000000 00000000\n",
         WCS_E_SYNTAX},
        {"PRINTER STATUS\nERRORS: 0 00000000 00000000 1\nWARNINGS: 0 00000000 00000000\n",
         WCS_E_SYNTAX},
        {"PRINTER STATUS\nERRORS:0 00000000 00000000\nWARNINGS: 0 00000000 00000000\n", 0},
        /* Flag and bitmask disagree. */
        {"PRINTER STATUS\nERRORS: 1 00000000 00000000\nWARNINGS: 0 00000000 00000000\n",
         WCS_E_PROTOCOL},
        {"PRINTER STATUS\nERRORS: 0 00000000 00000001\nWARNINGS: 0 00000000 00000000\n",
         WCS_E_PROTOCOL},
        {"PRINTER STATUS\nERRORS: 0 00000000 00000000\nWARNINGS: 0 00000000 00000004\n",
         WCS_E_PROTOCOL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = hq(bad[i].s, &q);
        if (bad[i].rc == 0 ? rc <= 0 : rc != bad[i].rc)
            fail_msg("case %zu: rc %d, expected %d", i, rc, bad[i].rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs_example),
        cmocka_unit_test(test_hs_flags),
        cmocka_unit_test(test_hs_partial_and_noise),
        cmocka_unit_test(test_hs_errors),
        cmocka_unit_test(test_hqes),
        cmocka_unit_test(test_hqes_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
