/* Unit tests for the PLC register-block codec: map defaults and validation, read-block decoding
 * with every error path, write-block encoding, sequence wrap at 65535, heartbeat stall at
 * exactly 3 periods, and request planning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "drivers/codec/plcblock.h"

/* A read block in the default layout with a 4-register barcode "TOTE0042". */
static void sample_regs(uint16_t *r)
{
    memset(r, 0, 13 * sizeof(r[0]));
    r[0] = 812; /* plc_heartbeat */
    r[1] = PLC_ST_AUTO | PLC_ST_DOWNSTREAM_FULL;
    r[2] = 65535; /* scan_seq */
    r[3] = PLC_READ_GOOD;
    r[4] = 0x0001; /* track_id high word */
    r[5] = 0xe240; /* low word: 0x0001e240 = 123456 */
    r[6] = 17;     /* confirm_seq */
    r[7] = PLC_CONFIRM_LANE_FULL;
    r[8] = 4; /* confirm_lane */
    r[9] = ('T' << 8) | 'O';
    r[10] = ('T' << 8) | 'E';
    r[11] = ('0' << 8) | '0';
    r[12] = ('4' << 8) | '2';
}

static void test_map_defaults(void **state)
{
    struct plc_regmap m;
    const char *why = "x";
    (void)state;
    plc_regmap_init(&m, 100, 200, 4);
    assert_int_equal(m.read_regs, 13);
    assert_int_equal(m.write_regs, 5);
    assert_int_equal(m.track_id, 4);
    assert_int_equal(m.barcode, 9);
    assert_int_equal(m.confirm_ack_seq, 4);
    assert_int_equal(plc_regmap_validate(&m, &why), 0);
    assert_null(why);
}

static void test_map_validation(void **state)
{
    struct plc_regmap m;
    const char *why = NULL;
    (void)state;
    plc_regmap_init(&m, 0, 0, 0);
    assert_int_equal(plc_regmap_validate(&m, &why), WCS_E_CONFIG);
    assert_string_equal(why, "barcode_regs must be 1..50");
    plc_regmap_init(&m, 0, 0, 51);
    assert_int_equal(plc_regmap_validate(&m, NULL), WCS_E_CONFIG);
    plc_regmap_init(&m, 0, 0, 50);
    assert_int_equal(plc_regmap_validate(&m, NULL), 0); /* 59 registers */

    /* Span limits: 125 read, 123 write. */
    plc_regmap_init(&m, 0, 0, 10);
    m.read_regs = 126;
    assert_int_equal(plc_regmap_validate(&m, &why), WCS_E_CONFIG);
    m.read_regs = 125;
    assert_int_equal(plc_regmap_validate(&m, NULL), 0);
    m.write_regs = 124;
    assert_int_equal(plc_regmap_validate(&m, &why), WCS_E_CONFIG);
    assert_string_equal(why, "write block span must be 1..123 registers");
    m.write_regs = 123;
    assert_int_equal(plc_regmap_validate(&m, NULL), 0);

    /* track_id takes two registers: moving scan_seq onto its low word overlaps. */
    plc_regmap_init(&m, 0, 0, 10);
    m.scan_seq = 5;
    assert_int_equal(plc_regmap_validate(&m, &why), WCS_E_CONFIG);
    assert_string_equal(why, "two read fields overlap");
    /* Moved fields anywhere inside the span are fine. */
    plc_regmap_init(&m, 0, 0, 10);
    m.read_regs = 40;
    m.scan_seq = 39;
    assert_int_equal(plc_regmap_validate(&m, NULL), 0);
    m.barcode = 31; /* 31..40 runs past 39 */
    assert_int_equal(plc_regmap_validate(&m, &why), WCS_E_CONFIG);
    assert_string_equal(why, "a read field lies outside the read block");
    plc_regmap_init(&m, 0, 0, 10);
    m.dest_lane = m.resp_seq;
    assert_int_equal(plc_regmap_validate(&m, &why), WCS_E_CONFIG);
    assert_string_equal(why, "two write fields overlap");
    plc_regmap_init(&m, 65530, 0, 10);
    assert_int_equal(plc_regmap_validate(&m, &why), WCS_E_CONFIG);
    assert_string_equal(why, "read block runs past address 65535");
}

static void test_read_decode(void **state)
{
    struct plc_regmap m;
    struct plc_read_block b;
    uint16_t r[13];
    (void)state;
    plc_regmap_init(&m, 0, 0, 4);
    sample_regs(r);
    assert_int_equal(plc_read_decode(r, 13, &m, &b), 0);
    assert_int_equal(b.plc_heartbeat, 812);
    assert_int_equal(b.status, PLC_ST_AUTO | PLC_ST_DOWNSTREAM_FULL);
    assert_int_equal(b.scan_seq, 65535);
    assert_int_equal(b.read_result, PLC_READ_GOOD);
    assert_int_equal(b.track_id, 123456);
    assert_int_equal(b.confirm_seq, 17);
    assert_int_equal(b.confirm_result, PLC_CONFIRM_LANE_FULL);
    assert_int_equal(b.confirm_lane, 4);
    assert_string_equal(b.barcode, "TOTE0042");
    assert_int_equal(b.barcode_len, 8);

    /* Padding: NUL or space at the end is trimmed; odd length ends in the high byte. */
    r[11] = ('7' << 8) | 0;
    r[12] = 0;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), 0);
    assert_string_equal(b.barcode, "TOTE7");
    r[11] = ('7' << 8) | ' ';
    r[12] = (' ' << 8) | ' ';
    assert_int_equal(plc_read_decode(r, 13, &m, &b), 0);
    assert_string_equal(b.barcode, "TOTE7");
    /* GS1 scan data keeps its GS separator. */
    r[11] = (0x1d << 8) | '1';
    assert_int_equal(plc_read_decode(r, 13, &m, &b), 0);
    assert_int_equal(b.barcode[4], 0x1d);

    /* No-read with an empty barcode. */
    sample_regs(r);
    r[3] = PLC_READ_NOREAD;
    r[9] = r[10] = r[11] = r[12] = 0;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), 0);
    assert_int_equal(b.read_result, PLC_READ_NOREAD);
    assert_int_equal(b.barcode_len, 0);
    assert_string_equal(b.barcode, "");
}

static void test_read_decode_errors(void **state)
{
    struct plc_regmap m;
    struct plc_read_block b;
    uint16_t r[13];
    (void)state;
    plc_regmap_init(&m, 0, 0, 4);
    memset(&b, 0x5a, sizeof(b));
    sample_regs(r);
    /* Truncated and over-long blocks. */
    assert_int_equal(plc_read_decode(r, 12, &m, &b), WCS_E_SYNTAX);
    assert_int_equal(plc_read_decode(r, 0, &m, &b), WCS_E_SYNTAX);
    uint16_t big[14];
    memcpy(big, r, sizeof(r));
    assert_int_equal(plc_read_decode(big, 14, &m, &b), WCS_E_SYNTAX);
    /* Unknown status bit. */
    r[1] = 1u << 7;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_RANGE);
    sample_regs(r);
    /* Unknown read_result and confirm_result values are errors, not guesses. */
    r[3] = 4;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_RANGE);
    sample_regs(r);
    r[7] = 7;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_RANGE);
    sample_regs(r);
    /* A result of 0 with a nonzero sequence (and the reverse) is inconsistent. */
    r[3] = PLC_READ_NONE;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_RANGE);
    sample_regs(r);
    r[2] = 0;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_RANGE);
    sample_regs(r);
    r[6] = 0;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_RANGE);
    /* Barcode: control character, 8-bit byte, data after NUL padding. */
    sample_regs(r);
    r[10] = ('T' << 8) | '\n';
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_SYNTAX);
    sample_regs(r);
    r[10] = (0xc3 << 8) | 0xa9;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_SYNTAX);
    sample_regs(r);
    r[10] = 0;
    assert_int_equal(plc_read_decode(r, 13, &m, &b), WCS_E_SYNTAX);
    /* Nothing was written on any failure. */
    for (size_t i = 0; i < sizeof(b); i++)
        assert_int_equal(((unsigned char *)&b)[i], 0x5a);

    /* Fresh PLC: everything zero decodes as "nothing yet". */
    memset(r, 0, sizeof(r));
    assert_int_equal(plc_read_decode(r, 13, &m, &b), 0);
    assert_int_equal(b.read_result, PLC_READ_NONE);
    assert_int_equal(b.confirm_result, PLC_CONFIRM_NONE);
}

static void test_moved_fields(void **state)
{
    struct plc_regmap m;
    struct plc_read_block b;
    struct plc_write_block w = {.wcs_heartbeat = 9,
                                .resp_seq = 3,
                                .dest_lane = 12,
                                .cmd_flags = PLC_CMD_REJECT,
                                .confirm_ack_seq = 2};
    uint16_t r[20] = {0}, out[10];
    (void)state;
    plc_regmap_init(&m, 1000, 2000, 1);
    m.read_regs = 20;
    m.scan_seq = 19;
    m.track_id = 15;
    m.barcode = 12;
    m.read_result = 2;
    m.write_regs = 10;
    m.dest_lane = 9;
    assert_int_equal(plc_regmap_validate(&m, NULL), 0);
    r[19] = 5;
    r[2] = PLC_READ_MULTI;
    r[15] = 0xdead;
    r[16] = 0xbeef;
    r[12] = ('A' << 8) | 'B';
    assert_int_equal(plc_read_decode(r, 20, &m, &b), 0);
    assert_int_equal(b.scan_seq, 5);
    assert_int_equal(b.read_result, PLC_READ_MULTI);
    assert_int_equal(b.track_id, 0xdeadbeef);
    assert_string_equal(b.barcode, "AB");
    assert_int_equal(plc_write_encode(&w, &m, out, 10), 10);
    assert_int_equal(out[9], 12);
    assert_int_equal(out[2], 0); /* the unused register between fields is zero */
}

static void test_write_encode(void **state)
{
    struct plc_regmap m;
    struct plc_write_block w = {.wcs_heartbeat = 77,
                                .resp_seq = 65535,
                                .dest_lane = 3,
                                .cmd_flags = 0,
                                .confirm_ack_seq = 65534};
    struct plc_write_block back;
    uint16_t out[8] = {0};
    (void)state;
    plc_regmap_init(&m, 0, 50, 4);
    assert_int_equal(plc_write_encode(&w, &m, out, 4), WCS_E_EXHAUSTED);
    assert_int_equal(plc_write_encode(&w, &m, out, 8), 5);
    assert_int_equal(out[0], 77);
    assert_int_equal(out[1], 65535);
    assert_int_equal(out[2], 3);
    assert_int_equal(out[3], 0);
    assert_int_equal(out[4], 65534);
    assert_int_equal(plc_write_decode(out, 5, &m, &back), 0);
    assert_memory_equal(&w, &back, sizeof(w));
    assert_int_equal(plc_write_decode(out, 4, &m, &back), WCS_E_SYNTAX);
    /* Reserved command bits are refused and nothing is written. */
    w.cmd_flags = 1u << 2;
    out[0] = 0x1234;
    assert_int_equal(plc_write_encode(&w, &m, out, 8), WCS_E_RANGE);
    assert_int_equal(out[0], 0x1234);
    out[3] = 0x8000;
    assert_int_equal(plc_write_decode(out, 5, &m, &back), WCS_E_RANGE);
}

static void test_seq(void **state)
{
    (void)state;
    assert_int_equal(plc_seq_next(1), 2);
    assert_int_equal(plc_seq_next(65534), 65535);
    assert_int_equal(plc_seq_next(65535), 1); /* 0 is never used */
    assert_int_equal(plc_seq_next(0), 1);
    assert_true(plc_seq_is_newer(2, 1));
    assert_false(plc_seq_is_newer(1, 2));
    assert_false(plc_seq_is_newer(5, 5));
    /* Wrap: 1 follows 65535, 3 is three steps ahead of 65535. */
    assert_true(plc_seq_is_newer(1, 65535));
    assert_true(plc_seq_is_newer(3, 65535));
    assert_false(plc_seq_is_newer(65535, 1));
    assert_true(plc_seq_is_newer(65535, 65534));
    /* 0 means "none yet": anything is newer than it; 0 is never newer. */
    assert_true(plc_seq_is_newer(1, 0));
    assert_true(plc_seq_is_newer(40000, 0));
    assert_false(plc_seq_is_newer(0, 0));
    assert_false(plc_seq_is_newer(0, 65535));
    /* Half-cycle boundary: 32767 ahead is newer, 32768 ahead is treated as older. */
    assert_true(plc_seq_is_newer(32768, 1));
    assert_false(plc_seq_is_newer(32769, 1));
    assert_true(plc_seq_is_newer(1, 32769));
}

static void test_heartbeat(void **state)
{
    struct plc_heartbeat hb;
    const uint32_t period_ms = 250;
    (void)state;
    plc_heartbeat_init(&hb, 1000000);
    assert_false(plc_heartbeat_sample(&hb, 5, 1000000)); /* first value: no change yet */
    assert_false(plc_heartbeat_stalled(&hb, 1000000 + 749999, period_ms));
    assert_true(plc_heartbeat_stalled(&hb, 1000000 + 750000, period_ms)); /* exactly 3 periods */
    assert_true(plc_heartbeat_sample(&hb, 6, 1600000));
    assert_false(plc_heartbeat_stalled(&hb, 1600000 + 749999, period_ms));
    assert_true(plc_heartbeat_stalled(&hb, 1600000 + 750000, period_ms));
    assert_false(plc_heartbeat_sample(&hb, 6, 1700000)); /* same value: no change */
    assert_true(plc_heartbeat_stalled(&hb, 2350000, period_ms));
    /* Counter wrap is a change like any other. */
    assert_true(plc_heartbeat_sample(&hb, 65535, 2400000));
    assert_true(plc_heartbeat_sample(&hb, 0, 2500000));
    assert_false(plc_heartbeat_stalled(&hb, 2500000 + 750000 - 1, period_ms));
    /* A clock reading before the change never counts as a stall. */
    assert_false(plc_heartbeat_stalled(&hb, 100, period_ms));
}

static void test_plan(void **state)
{
    struct plc_regmap m[4];
    struct plc_request req[4];
    size_t idx[4];
    (void)state;
    /* Three adjacent 29-register blocks and one far away, given out of order. */
    plc_regmap_init(&m[0], 29, 500, 20);
    plc_regmap_init(&m[1], 0, 505, 20);
    plc_regmap_init(&m[2], 58, 510, 20);
    plc_regmap_init(&m[3], 1000, 515, 20);
    assert_int_equal(plc_plan_reads(m, 4, false, req, 4, idx), 4);
    assert_int_equal(req[0].addr, 0);
    assert_int_equal(req[1].addr, 29);
    assert_int_equal(req[2].addr, 58);
    assert_int_equal(req[3].addr, 1000);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 0);
    assert_int_equal(plc_plan_reads(m, 4, true, req, 4, idx), 2);
    assert_int_equal(req[0].addr, 0);
    assert_int_equal(req[0].count, 87);
    assert_int_equal(req[1].addr, 1000);
    assert_int_equal(req[1].count, 29);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[2], 0);
    assert_int_equal(idx[3], 1);
    assert_int_equal(plc_plan_reads(m, 4, false, req, 3, idx), WCS_E_EXHAUSTED);
    /* Merging stops at 125 registers: a 5th adjacent block of 29 would make 116+29 = 145. */
    struct plc_regmap five[5];
    for (int i = 0; i < 5; i++)
        plc_regmap_init(&five[i], (uint16_t)(i * 29), (uint16_t)(i * 5), 20);
    assert_int_equal(plc_plan_reads(five, 5, true, req, 4, NULL), 2);
    assert_int_equal(req[0].count, 116);
    assert_int_equal(req[1].addr, 116);
    /* A gap is never merged. */
    plc_regmap_init(&m[0], 0, 500, 20);
    plc_regmap_init(&m[1], 30, 505, 20);
    assert_int_equal(plc_plan_reads(m, 2, true, req, 4, NULL), 2);

    /* Writes: one per point, never merged; overlapping write blocks are a config error. */
    plc_regmap_init(&m[0], 0, 500, 20);
    plc_regmap_init(&m[1], 29, 505, 20);
    assert_int_equal(plc_plan_writes(m, 2, req, 4), 2);
    assert_int_equal(req[0].addr, 500);
    assert_int_equal(req[0].count, 5);
    assert_int_equal(req[1].addr, 505);
    assert_int_equal(plc_plan_writes(m, 2, req, 1), WCS_E_EXHAUSTED);
    m[1].write_base = 504;
    assert_int_equal(plc_plan_writes(m, 2, req, 4), WCS_E_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_defaults), cmocka_unit_test(test_map_validation),
        cmocka_unit_test(test_read_decode),  cmocka_unit_test(test_read_decode_errors),
        cmocka_unit_test(test_moved_fields), cmocka_unit_test(test_write_encode),
        cmocka_unit_test(test_seq),          cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
