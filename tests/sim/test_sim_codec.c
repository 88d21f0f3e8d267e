/* Unit tests of the simulator's own pure codecs: PLC sequence and register helpers, the Modbus
 * write-range parser, the MT-SICS command parser and weight formatter, the ZPL stream splitter,
 * format parser and GS1 mode-D normaliser. No sockets, no threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "sim/plcmap.h"
#include "sim/sics.h"
#include "sim/zpl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_seq_and_barcode_regs(void **state)
{
    uint16_t regs[3] = {0xffff, 0xffff, 0xffff};
    char out[8];
    (void)state;
    assert_int_equal(sim_seq_next(0), 1);
    assert_int_equal(sim_seq_next(1), 2);
    assert_int_equal(sim_seq_next(65534), 65535);
    assert_int_equal(sim_seq_next(65535), 1);
    assert_int_equal(sim_barcode_to_regs(regs, 3, "ABC", 3), 0);
    assert_int_equal(regs[0], 0x4142);
    assert_int_equal(regs[1], 0x4300);
    assert_int_equal(regs[2], 0x0000);
    assert_int_equal(sim_regs_to_barcode(regs, 3, out, sizeof(out)), 3);
    assert_string_equal(out, "ABC");
    assert_int_equal(sim_barcode_to_regs(regs, 3, "ABCDEFG", 7), WCS_E_RANGE);
    assert_int_equal(regs[0], 0x4142); /* untouched */
    assert_int_equal(sim_regs_to_barcode(regs, 3, out, 3), WCS_E_EXHAUSTED);
}

static void test_mb_parse_write(void **state)
{
    struct sim_mb_write w;
    const uint8_t fc16[] = {16, 0x00, 0x64, 0x00, 0x02, 0x04, 0, 1, 0, 2};
    const uint8_t fc16_badcount[] = {16, 0x00, 0x64, 0x00, 0x02, 0x03, 0, 1, 0};
    const uint8_t fc16_short[] = {16, 0x00, 0x64, 0x00, 0x02, 0x04, 0, 1};
    const uint8_t fc16_wrap[] = {16, 0xff, 0xff, 0x00, 0x02, 0x04, 0, 1, 0, 2};
    const uint8_t fc6[] = {6, 0x01, 0x00, 0x12, 0x34};
    const uint8_t fc23[] = {23, 0, 0, 0, 10, 0, 100, 0, 1, 2, 0xab, 0xcd};
    const uint8_t fc3[] = {3, 0, 0, 0, 10};
    (void)state;
    assert_int_equal(sim_mb_parse_write(fc16, sizeof(fc16), &w), 0);
    assert_int_equal(w.function, 16);
    assert_int_equal(w.addr, 100);
    assert_int_equal(w.count, 2);
    assert_int_equal(sim_mb_parse_write(fc6, sizeof(fc6), &w), 0);
    assert_int_equal(w.addr, 256);
    assert_int_equal(w.count, 1);
    assert_int_equal(sim_mb_parse_write(fc23, sizeof(fc23), &w), 0);
    assert_int_equal(w.addr, 100);
    assert_int_equal(w.count, 1);
    assert_int_equal(sim_mb_parse_write(fc3, sizeof(fc3), &w), -ENOENT);
    assert_int_equal(sim_mb_parse_write(fc16_badcount, sizeof(fc16_badcount), &w), WCS_E_SYNTAX);
    assert_int_equal(sim_mb_parse_write(fc16_short, sizeof(fc16_short), &w), WCS_E_SYNTAX);
    assert_int_equal(sim_mb_parse_write(fc16_wrap, sizeof(fc16_wrap), &w), WCS_E_SYNTAX);
    assert_int_equal(sim_mb_parse_write(fc16, 0, &w), WCS_E_SYNTAX);
    assert_true(sim_ranges_overlap(100, 5, 104, 1));
    assert_false(sim_ranges_overlap(100, 5, 105, 1));
    assert_false(sim_ranges_overlap(100, 0, 100, 1));
}

static void test_sics(void **state)
{
    char buf[64];
    (void)state;
    assert_int_equal(sics_parse("S", 1), SICS_S);
    assert_int_equal(sics_parse("SI\r\n", 4), SICS_SI);
    assert_int_equal(sics_parse("  Z ", 4), SICS_Z);
    assert_int_equal(sics_parse("TAC", 3), SICS_TAC);
    assert_int_equal(sics_parse("I4", 2), SICS_I4);
    assert_int_equal(sics_parse("@", 1), SICS_RESET);
    assert_int_equal(sics_parse("s", 1), WCS_E_SYNTAX); /* case-sensitive */
    assert_int_equal(sics_parse("", 0), WCS_E_SYNTAX);
    assert_int_equal(sics_parse("SX", 2), WCS_E_SYNTAX);
    assert_int_equal(sics_parse("S 1", 3), WCS_E_RANGE);
    assert_int_equal(sics_fmt_weight(buf, sizeof(buf), "S", 'S', 100000, 10), 16);
    assert_string_equal(buf, "S S     100.00 g");
    sics_fmt_weight(buf, sizeof(buf), "S", 'D', 129074, 10);
    assert_string_equal(buf, "S D     129.07 g");
    sics_fmt_weight(buf, sizeof(buf), "S", 'S', -1235, 10); /* half away from zero */
    assert_string_equal(buf, "S S      -1.24 g");
    sics_fmt_weight(buf, sizeof(buf), "S", 'S', -4, 10);
    assert_string_equal(buf, "S S       0.00 g");
    sics_fmt_weight(buf, sizeof(buf), "T", 'S', 5, 1);
    assert_string_equal(buf, "T S      0.005 g");
    sics_fmt_weight(buf, sizeof(buf), "S", 'S', 29999500, 1000);
    assert_string_equal(buf, "S S      30000 g");
    assert_int_equal(sics_fmt_weight(buf, sizeof(buf), "S", 'S', 1, 5), WCS_E_RANGE);
    assert_int_equal(sics_fmt_weight(buf, 10, "S", 'S', 1, 10), WCS_E_EXHAUSTED);
    assert_int_equal(sics_fmt_weight(buf, sizeof(buf), "S", 'S', 99999999999LL, 1), WCS_E_RANGE);
}

static void test_zpl_next(void **state)
{
    const char *s = "\r\n~HS^XA^FO1,1^FDx^FS^XZ~HQES~PP~PS~JA^JUS~XX^XA^FDpart";
    const uint8_t *b = (const uint8_t *)s;
    size_t len = strlen(s), off = 0, used, st, en;
    enum zpl_event want[] = {ZPL_EV_SKIPPED,    ZPL_EV_HS,      ZPL_EV_FORMAT,
                             ZPL_EV_HQES,       ZPL_EV_PAUSE,   ZPL_EV_RESUME,
                             ZPL_EV_CANCEL_ALL, ZPL_EV_SKIPPED, ZPL_EV_SKIPPED};
    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        enum zpl_event ev = zpl_next(b + off, len - off, &used, &st, &en);
        assert_int_equal(ev, want[i]);
        if (ev == ZPL_EV_FORMAT) {
            assert_int_equal(en - st, strlen("^XA^FO1,1^FDx^FS^XZ"));
            assert_memory_equal(b + off + st, "^XA^FO1,1^FDx^FS^XZ", en - st);
        }
        assert_true(used > 0);
        off += used;
    }
    /* The unfinished format waits for more bytes; so does a split tilde command. */
    assert_int_equal(zpl_next(b + off, len - off, &used, &st, &en), ZPL_EV_NEED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(zpl_next((const uint8_t *)"~H", 2, &used, &st, &en), ZPL_EV_NEED_MORE);
    assert_int_equal(zpl_next((const uint8_t *)"~HQE", 4, &used, &st, &en), ZPL_EV_NEED_MORE);
    assert_int_equal(zpl_next((const uint8_t *)"~hs", 3, &used, &st, &en), ZPL_EV_HS);
}

static void test_zpl_parse(void **state)
{
    static struct zpl_label lb;
    char err[128];
    const char *ok = "^XA^PW600^LL400^LH10,20^CFA,20,10^FO5,6^FDplain^FS"
                     "^FO1,2^A0N,50,40^FH^FD_1D_41b^FS^BY3,2.5,77^FO0,100^BCN,,N,N,N,D"
                     "^FD(00)106141411234567897^FS^FO0,0^GB100,50,3,W^FS^CI28^PQ2,0,1,Y^XZ";
    (void)state;
    assert_int_equal(zpl_parse(ok, strlen(ok), &lb, err, sizeof(err)), 0);
    assert_int_equal(lb.pw, 600);
    assert_int_equal(lb.ll, 400);
    assert_int_equal(lb.pq, 2);
    assert_int_equal(lb.n_fields, 4);
    assert_int_equal(lb.ignored, 1);
    assert_int_equal(lb.f[0].kind, ZPL_TEXT);
    assert_int_equal(lb.f[0].x, 15);
    assert_int_equal(lb.f[0].y, 26);
    assert_int_equal(lb.f[0].font, 'A');
    assert_int_equal(lb.f[0].font_h, 20);
    assert_int_equal(lb.f[0].font_w, 10);
    assert_string_equal(lb.f[0].data, "plain");
    assert_int_equal(lb.f[1].font, '0');
    assert_int_equal(lb.f[1].font_h, 50);
    assert_int_equal(lb.f[1].data_len, 3);
    assert_memory_equal(lb.f[1].data,
                        "\x1d"
                        "Ab",
                        3);
    assert_int_equal(lb.f[2].kind, ZPL_CODE128);
    assert_int_equal(lb.f[2].module_w, 3);
    assert_int_equal(lb.f[2].bar_h, 77); /* from ^BY when ^BC gives none */
    assert_int_equal(lb.f[2].mode, 'D');
    assert_false(lb.f[2].hr_line);
    assert_int_equal(lb.f[3].kind, ZPL_BOX);
    assert_int_equal(lb.f[3].box_t, 3);
    assert_int_equal(lb.f[3].box_color, 'W');

#define BAD(z, rc)                                                                                 \
    do {                                                                                           \
        err[0] = '\0';                                                                             \
        assert_int_equal(zpl_parse(z, strlen(z), &lb, err, sizeof(err)), rc);                      \
        assert_true(err[0] != '\0');                                                               \
        assert_int_equal(lb.n_fields, 0);                                                          \
    } while (0)
    BAD("^XA^FDx^XZ", WCS_E_SYNTAX);
    BAD("^XA^FO1,x^XZ", WCS_E_SYNTAX);
    BAD("^XA^FO99999,1^XZ", WCS_E_RANGE);
    BAD("^XA^FH^FD_4^FS^XZ", WCS_E_SYNTAX);
    BAD("^XA^BCN,10,Y,N,N,Q^FD1^FS^XZ", WCS_E_SYNTAX);
    BAD("^XA^BY11^XZ", WCS_E_RANGE);
    BAD("^XA^XA^XZ", WCS_E_SYNTAX);
    BAD("^XB^XZ", WCS_E_SYNTAX);
    BAD("^XA^FS^XY", WCS_E_SYNTAX);
    BAD("^XA^^XZ", WCS_E_SYNTAX);
    {
        char big[ZPL_FIELDS_MAX * 12 + 16];
        size_t n = 0;
        n += (size_t)snprintf(big + n, sizeof(big) - n, "^XA");
        for (int i = 0; i <= ZPL_FIELDS_MAX; i++)
            n += (size_t)snprintf(big + n, sizeof(big) - n, "^FDa^FS");
        snprintf(big + n, sizeof(big) - n, "^XZ");
        BAD(big, WCS_E_EXHAUSTED);
    }
}

static void test_gs1_normalize(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(zpl_gs1_normalize("(00)106141411234567897", 22, out, sizeof(out)), 22);
    assert_string_equal(out, "[00]106141411234567897");
    /* One digit short: the check digit is computed, as the printer does in mode D. */
    zpl_gs1_normalize("(00) 1061 4141 1234 5678 9", 26, out, sizeof(out));
    assert_string_equal(out, "[00]106141411234567897");
    zpl_gs1_normalize("(01)0950600013435(17)261231(10)AB", 33, out, sizeof(out));
    assert_string_equal(out, "[01]09506000134352[17]261231[10]AB");
    assert_int_equal(zpl_gs1_normalize("00106141411234567897", 20, out, sizeof(out)), WCS_E_SYNTAX);
    assert_int_equal(zpl_gs1_normalize("(0)1", 4, out, sizeof(out)), WCS_E_SYNTAX);
    assert_int_equal(zpl_gs1_normalize("(00)", 4, out, sizeof(out)), WCS_E_SYNTAX);
    assert_int_equal(zpl_gs1_normalize("(00)1061414112345678X", 21, out, sizeof(out)),
                     WCS_E_SYNTAX);
    assert_int_equal(zpl_gs1_normalize("(00)106141411234567897", 22, out, 10), WCS_E_EXHAUSTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_and_barcode_regs),
        cmocka_unit_test(test_mb_parse_write),
        cmocka_unit_test(test_sics),
        cmocka_unit_test(test_zpl_next),
        cmocka_unit_test(test_zpl_parse),
        cmocka_unit_test(test_gs1_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
