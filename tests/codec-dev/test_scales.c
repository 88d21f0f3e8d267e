/* Unit tests for the serial scale codecs: MT-SICS commands, replies, units and line framer;
 * NCI/SCP-01 commands, weight and status replies, status bytes and ETX framer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "drivers/codec/mtsics.h"
#include "drivers/codec/nci.h"

static struct mtsics_reply parse_ok(const char *line)
{
    struct mtsics_reply r;
    assert_int_equal(mtsics_parse(line, strlen(line), &r), 0);
    return r;
}

static void test_mtsics_build(void **state)
{
    char buf[8];
    (void)state;
    assert_int_equal(mtsics_build(MTSICS_CMD_S, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "S\r\n", 3);
    assert_int_equal(mtsics_build(MTSICS_CMD_SI, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "SI\r\n", 4);
    assert_int_equal(mtsics_build(MTSICS_CMD_Z, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "Z\r\n", 3);
    assert_int_equal(mtsics_build(MTSICS_CMD_T, buf, sizeof(buf)), 3);
    assert_int_equal(mtsics_build(MTSICS_CMD_TA, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "TA\r\n", 4);
    assert_int_equal(mtsics_build(MTSICS_CMD_I4, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "I4\r\n", 4);
    assert_int_equal(mtsics_build(MTSICS_CMD_I4, buf, 3), WCS_E_EXHAUSTED);
    assert_int_equal(mtsics_build(MTSICS_CMD_NONE, buf, sizeof(buf)), WCS_E_RANGE);
}

static void test_mtsics_weights(void **state)
{
    struct mtsics_reply r;
    (void)state;
    r = parse_ok("S S     100.00 g");
    assert_int_equal(r.cmd, MTSICS_CMD_S);
    assert_int_equal(r.status, MTSICS_ST_STABLE);
    assert_true(r.has_weight);
    assert_int_equal(r.weight_mg, 100000);
    assert_string_equal(r.unit, "g");
    r = parse_ok("S D     129.07 g");
    assert_int_equal(r.status, MTSICS_ST_DYNAMIC);
    assert_int_equal(r.weight_mg, 129070);
    r = parse_ok("S S      -0.35 g\r"); /* negative (below tare), trailing CR tolerated */
    assert_int_equal(r.weight_mg, -350);
    r = parse_ok("S S    12.3456 kg");
    assert_int_equal(r.weight_mg, 12345600);
    r = parse_ok("S S        250 mg");
    assert_int_equal(r.weight_mg, 250);
    r = parse_ok("S S      5.125 lb");
    assert_int_equal(r.weight_mg, 2324661); /* 2324660.90 */
    r = parse_ok("S S       4.90 oz");
    assert_int_equal(r.weight_mg, 138913);
    r = parse_ok("T S      12.50 g");
    assert_int_equal(r.cmd, MTSICS_CMD_T);
    assert_int_equal(r.status, MTSICS_ST_STABLE);
    assert_int_equal(r.weight_mg, 12500);
    r = parse_ok("TA A      0.00 g");
    assert_int_equal(r.cmd, MTSICS_CMD_TA);
    assert_int_equal(r.status, MTSICS_ST_DONE);
    assert_true(r.has_weight);
    assert_int_equal(r.weight_mg, 0);
}

static void test_mtsics_statuses(void **state)
{
    struct mtsics_reply r;
    (void)state;
    r = parse_ok("S I");
    assert_int_equal(r.status, MTSICS_ST_BUSY);
    assert_false(r.has_weight);
    assert_int_equal(parse_ok("S +").status, MTSICS_ST_OVERLOAD);
    assert_int_equal(parse_ok("S -").status, MTSICS_ST_UNDERLOAD);
    r = parse_ok("Z A");
    assert_int_equal(r.cmd, MTSICS_CMD_Z);
    assert_int_equal(r.status, MTSICS_ST_DONE);
    assert_int_equal(parse_ok("Z I").status, MTSICS_ST_BUSY);
    assert_int_equal(parse_ok("Z +").status, MTSICS_ST_OVERLOAD);
    assert_int_equal(parse_ok("T I").status, MTSICS_ST_BUSY);
    assert_int_equal(parse_ok("TA L").status, MTSICS_ST_LOGICAL);
    r = parse_ok("ES");
    assert_int_equal(r.cmd, MTSICS_CMD_NONE);
    assert_int_equal(r.status, MTSICS_ST_ERR_SYNTAX);
    assert_int_equal(parse_ok("ET").status, MTSICS_ST_ERR_TRANSMIT);
    assert_int_equal(parse_ok("EL").status, MTSICS_ST_ERR_LOGICAL);
    r = parse_ok("I4 A \"B021002593\"");
    assert_int_equal(r.cmd, MTSICS_CMD_I4);
    assert_string_equal(r.serial, "B021002593");
    r = parse_ok("I4 A \"SN 12 34\"");
    assert_string_equal(r.serial, "SN 12 34");
    assert_int_equal(parse_ok("I4 I").status, MTSICS_ST_BUSY);
}

static void test_mtsics_errors(void **state)
{
    struct mtsics_reply r;
    static const struct {
        const char *line;
        int rc;
    } bad[] = {
        {"", WCS_E_SYNTAX},
        {"   ", WCS_E_SYNTAX},
        {"X S 1.00 g", WCS_E_SYNTAX}, /* unknown command */
        {"S Q", WCS_E_SYNTAX},        /* unknown status */
        {"S", WCS_E_SYNTAX},          /* missing status */
        {"S S", WCS_E_SYNTAX},        /* missing weight */
        {"S S 100.00", WCS_E_SYNTAX}, /* missing unit */
        {"S S 100.00 g extra", WCS_E_SYNTAX},
        {"S S 10.0.0 g", WCS_E_SYNTAX},
        {"S S 1a.00 g", WCS_E_SYNTAX},
        {"S S 100.00 ct", WCS_E_RANGE},               /* unit not supported */
        {"S S 9999999999999999999 kg", WCS_E_SYNTAX}, /* more than 18 digits */
        {"S S 999999999999999999 kg", WCS_E_RANGE},   /* does not fit in int64 mg */
        {"S I 1.00 g", WCS_E_SYNTAX},                 /* busy carries no value */
        {"S A", WCS_E_SYNTAX},                        /* A is not an S status */
        {"Z S", WCS_E_SYNTAX},
        {"Z A 1.00 g", WCS_E_SYNTAX},
        {"ES extra", WCS_E_SYNTAX},
        {"I4 A B0210", WCS_E_SYNTAX},   /* unquoted */
        {"I4 A \"B0210", WCS_E_SYNTAX}, /* unterminated */
        {"I4 A \"\"", WCS_E_SYNTAX},    /* empty */
        {"I4 A \"B0\" x", WCS_E_SYNTAX},
        {"S S\t100.00 g", WCS_E_SYNTAX}, /* control character */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&r, 0x5a, sizeof(r));
        int rc = mtsics_parse(bad[i].line, strlen(bad[i].line), &r);
        if (rc != bad[i].rc)
            fail_msg("line \"%s\": rc %d, expected %d", bad[i].line, rc, bad[i].rc);
        assert_int_equal(((unsigned char *)&r)[0], 0x5a);
    }
}

static void test_mtsics_framer(void **state)
{
    static struct mtsics_framer f;
    const char *stream = "S S     100.00 g\r\nZ A\r\nS D  1.5 kg\n";
    char line[MTSICS_LINE_MAX];
    size_t len, used, off = 0, n = strlen(stream);
    const char *want[] = {"S S     100.00 g", "Z A", "S D  1.5 kg"};
    int got = 0;
    (void)state;
    mtsics_framer_init(&f);
    /* Chunks of 5 bytes. */
    while (off < n) {
        size_t chunk = n - off < 5 ? n - off : 5;
        size_t pos = 0;
        while (pos < chunk) {
            int rc = mtsics_framer_feed(&f, (const uint8_t *)stream + off + pos, chunk - pos, &used,
                                        line, &len);
            pos += used;
            if (rc == 1) {
                assert_string_equal(line, want[got]);
                assert_int_equal(len, strlen(want[got]));
                got++;
            }
        }
        off += chunk;
    }
    assert_int_equal(got, 3);
    /* An over-long line is dropped whole and counted; the next line is intact. */
    uint8_t junk[300];
    memset(junk, 'x', sizeof(junk));
    assert_int_equal(mtsics_framer_feed(&f, junk, sizeof(junk), &used, line, &len), 0);
    assert_int_equal(used, sizeof(junk));
    assert_int_equal(mtsics_framer_feed(&f, (const uint8_t *)"xx\r\nS +\r\n", 9, &used, line, &len),
                     1);
    assert_string_equal(line, "S +");
    assert_int_equal(used, 9);
    assert_int_equal(f.dropped_lines, 1);
}

static void test_nci_build(void **state)
{
    char buf[4];
    (void)state;
    assert_int_equal(nci_build(NCI_CMD_WEIGHT, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "W\r", 2);
    assert_int_equal(nci_build(NCI_CMD_STATUS, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "S\r", 2);
    assert_int_equal(nci_build(NCI_CMD_ZERO, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "Z\r", 2);
    assert_int_equal(nci_build(NCI_CMD_ZERO, buf, 1), WCS_E_EXHAUSTED);
}

static int nci(const char *s, struct nci_reply *r)
{
    return nci_parse((const uint8_t *)s, strlen(s), r);
}

static void test_nci_replies(void **state)
{
    struct nci_reply r;
    (void)state;
    /* Stable 1.25 lb, no flags ("00"). */
    assert_int_equal(nci("\n0001.25lb\r\n00\r\x03", &r), 0);
    assert_int_equal(r.kind, NCI_REPLY_WEIGHT);
    assert_true(r.has_weight);
    assert_int_equal(r.weight_mg, 566990); /* 566990.4625 */
    assert_string_equal(r.unit, "lb");
    assert_int_equal(r.status, 0);
    assert_int_equal(r.status_bytes, 2);
    /* In motion ('1' = 0x31: bit 0), kg with leading spaces. */
    assert_int_equal(nci("\n   2.345kg\r\n10\r\x03", &r), 0);
    assert_int_equal(r.weight_mg, 2345000);
    assert_int_equal(r.status, NCI_ST_MOTION);
    /* Grams with the space layout of the Brecknell 3700 ("<LF> XXXXg <CR>"). */
    assert_int_equal(nci("\n 1234g \r\n20\r\x03", &r), 0);
    assert_int_equal(r.weight_mg, 1234000);
    assert_int_equal(r.status, NCI_ST_AT_ZERO);
    assert_int_equal(nci("\n-0.35oz\r\n00\r\x03", &r), 0);
    assert_int_equal(r.weight_mg, -9922); /* -9922.33 */
    /* Over capacity: dashes instead of a weight, byte 2 bit 1. */
    assert_int_equal(nci("\n^^^^^^lb\r\n02\r\x03", &r), 0);
    assert_false(r.has_weight);
    assert_int_equal(r.status, NCI_ST_OVER_CAPACITY);
    /* Status only (S, Z) with RAM error ('4': bit 2) and under capacity ('1'). */
    assert_int_equal(nci("\n41\r\x03", &r), 0);
    assert_int_equal(r.kind, NCI_REPLY_STATUS);
    assert_int_equal(r.status, NCI_ST_RAM_ERROR | NCI_ST_UNDER_CAPACITY);
    /* Four status bytes: bytes 2 and 3 carry "byte follows" (0x40): 'p' = 0x70, 0x7f. */
    assert_int_equal(nci("\n0p\x7f"
                         "7\r\x03",
                         &r),
                     0);
    assert_int_equal(r.status_bytes, 4);
    assert_int_equal(r.status, NCI_ST_HIGH_RANGE | NCI_ST_NET | NCI_ST_INITIAL_ZERO_ERROR |
                                   NCI_ST_WEIGHT_CHANGED | NCI_ST_ZERO_SEEN | NCI_ST_METRIC);
    /* Parity bit set on a status byte is ignored. */
    assert_int_equal(nci("\n\xb0"
                         "0\r\x03",
                         &r),
                     0);
    assert_int_equal(r.status, 0);
    assert_int_equal(nci("\n?\r\x03", &r), 0);
    assert_int_equal(r.kind, NCI_REPLY_UNRECOGNISED);
}

static void test_nci_errors(void **state)
{
    struct nci_reply r;
    static const struct {
        const char *frame;
        int rc;
    } bad[] = {
        {"", WCS_E_SYNTAX},
        {"\n00\r", WCS_E_SYNTAX},        /* no ETX */
        {"00\r\x03", WCS_E_SYNTAX},      /* no LF */
        {"\n0\r\x03", WCS_E_SYNTAX},     /* one status byte */
        {"\n00000\r\x03", WCS_E_SYNTAX}, /* five */
        {"\n0\x01\r\x03", WCS_E_SYNTAX}, /* control char */
        {"\n A\r\x03", WCS_E_SYNTAX},    /* fixed bits 4-5 missing */
        {"\np0\r\x03", WCS_E_SYNTAX},    /* follow bit in byte 1 */
        {"\n0p\r\x03", WCS_E_SYNTAX},    /* byte 2 says more, none follows */
        {"\n000\r\x03", WCS_E_SYNTAX},   /* byte 3 without byte 2's follow bit */
        {"\n0p1\r\x03", WCS_E_SYNTAX},   /* range code 01 undefined */
        {"\n1.00lb\r\n0\r\x03", WCS_E_SYNTAX},
        {"\n1.00\r\n00\r\x03", WCS_E_SYNTAX},  /* no unit */
        {"\n1.00tn\r\n00\r\x03", WCS_E_RANGE}, /* unknown unit */
        {"\nlb\r\n00\r\x03", WCS_E_SYNTAX},    /* no number */
        {"\n1.0.0lb\r\n00\r\x03", WCS_E_SYNTAX},
        {"\n1.00lb\r\n00\r\n00\r\x03", WCS_E_SYNTAX}, /* two CR LF */
        {"\n1.00lb\r00\r\x03", WCS_E_SYNTAX},         /* CR without LF */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&r, 0x5a, sizeof(r));
        int rc = nci(bad[i].frame, &r);
        if (rc != bad[i].rc)
            fail_msg("frame %zu: rc %d, expected %d", i, rc, bad[i].rc);
        assert_int_equal(((unsigned char *)&r)[0], 0x5a);
    }
}

static void test_nci_framer(void **state)
{
    static struct nci_framer f;
    const char *stream = "\n0001.25lb\r\n00\r\x03\n00\r\x03\n?\r\x03";
    uint8_t frame[NCI_FRAME_MAX];
    size_t len, used, n = strlen(stream), pos = 0;
    int frames = 0;
    struct nci_reply r;
    (void)state;
    nci_framer_init(&f);
    /* Byte by byte. */
    for (size_t i = 0; i < n; i++) {
        if (nci_framer_feed(&f, (const uint8_t *)stream + i, 1, &used, frame, &len) == 1) {
            assert_int_equal(nci_parse(frame, len, &r), 0);
            frames++;
        }
        assert_int_equal(used, 1);
    }
    assert_int_equal(frames, 3);
    /* All at once: one frame per call, *consumed tells where to resume. */
    frames = 0;
    while (pos < n) {
        if (nci_framer_feed(&f, (const uint8_t *)stream + pos, n - pos, &used, frame, &len) == 1)
            frames++;
        pos += used;
    }
    assert_int_equal(frames, 3);
    /* An over-long frame is dropped up to its ETX; the next one is intact. */
    uint8_t junk[100];
    memset(junk, '1', sizeof(junk));
    junk[99] = 0x03;
    assert_int_equal(nci_framer_feed(&f, junk, sizeof(junk), &used, frame, &len), 0);
    assert_int_equal(f.dropped_frames, 1);
    assert_int_equal(nci_framer_feed(&f, (const uint8_t *)"\n20\r\x03", 5, &used, frame, &len), 1);
    assert_int_equal(nci_parse(frame, len, &r), 0);
    assert_int_equal(r.status, NCI_ST_AT_ZERO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mtsics_build),    cmocka_unit_test(test_mtsics_weights),
        cmocka_unit_test(test_mtsics_statuses), cmocka_unit_test(test_mtsics_errors),
        cmocka_unit_test(test_mtsics_framer),   cmocka_unit_test(test_nci_build),
        cmocka_unit_test(test_nci_replies),     cmocka_unit_test(test_nci_errors),
        cmocka_unit_test(test_nci_framer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
