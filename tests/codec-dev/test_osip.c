/* Unit tests for the OSIP telegram codec: the OpenWMS example REQ_, every telegram type through
 * build and parse, error paths, and the stream framer (chunks, garbage, resync, truncation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "drivers/codec/osip.h"

/* The example request from the OpenWMS tests (protocols.md), padded with '*' to 160. */
static const char REQ_HEAD[] = "###00160SPS03MFC__00001REQ_000000000S0000004711FGINIPNT0001000000"
                               "00????????????????????0000009020131123225959";

static void example(char *buf)
{
    size_t n = strlen(REQ_HEAD);
    memcpy(buf, REQ_HEAD, n);
    memset(buf + n, '*', 160 - n);
    buf[160] = '\0';
}

static void test_parse_example(void **state)
{
    char tg[161];
    struct osip_telegram t;
    (void)state;
    example(tg);
    assert_int_equal(strlen(REQ_HEAD), 109);
    assert_int_equal(osip_parse(tg, 160, 160, '*', &t), 0);
    assert_string_equal(t.sender, "SPS03");
    assert_string_equal(t.receiver, "MFC__");
    assert_int_equal(t.seq, 1);
    assert_int_equal(t.type, OSIP_REQ);
    assert_string_equal(t.barcode, "000000000S0000004711");
    assert_string_equal(t.actual, "FGINIPNT000100000000");
    assert_string_equal(t.target, "????????????????????");
    assert_string_equal(t.error, "00000090");
    assert_string_equal(t.date, "20131123225959");
    /* Any configured length matching the header is fine; 0 accepts the header's. */
    assert_int_equal(osip_parse(tg, 160, 0, '*', &t), 0);
}

static void test_parse_errors(void **state)
{
    char tg[161], bad[161];
    struct osip_telegram t;
    (void)state;
    example(tg);
    memset(&t, 0x5a, sizeof(t));
    assert_int_equal(osip_parse(tg, 159, 0, '*', &t), WCS_E_SYNTAX);   /* length != header */
    assert_int_equal(osip_parse(tg, 160, 120, '*', &t), WCS_E_SYNTAX); /* != configured */
    assert_int_equal(osip_parse(tg, 20, 0, '*', &t), WCS_E_SYNTAX);    /* truncated header */
    assert_int_equal(osip_parse(tg, 160, 160, '#', &t), WCS_E_SYNTAX); /* wrong filler */
    memcpy(bad, tg, sizeof(bad));
    bad[1] = '*';
    assert_int_equal(osip_parse(bad, 160, 160, '*', &t), WCS_E_SYNTAX); /* sync */
    memcpy(bad, tg, sizeof(bad));
    bad[5] = 'x';
    assert_int_equal(osip_parse(bad, 160, 160, '*', &t), WCS_E_SYNTAX); /* length digits */
    memcpy(bad, tg, sizeof(bad));
    bad[22] = 'Z';
    assert_int_equal(osip_parse(bad, 160, 160, '*', &t), WCS_E_SYNTAX); /* sequence digits */
    memcpy(bad, tg, sizeof(bad));
    memcpy(bad + 23, "FOO_", 4);
    assert_int_equal(osip_parse(bad, 160, 160, '*', &t), WCS_E_UNKNOWN);
    memcpy(bad, tg, sizeof(bad));
    memcpy(bad + 95, "20131323", 8); /* month 13 */
    assert_int_equal(osip_parse(bad, 160, 160, '*', &t), WCS_E_SYNTAX);
    memcpy(bad, tg, sizeof(bad));
    memcpy(bad + 95, "20130229", 8); /* not a leap year */
    assert_int_equal(osip_parse(bad, 160, 160, '*', &t), WCS_E_SYNTAX);
    memcpy(bad, tg, sizeof(bad));
    bad[150] = 'A'; /* garbage in the filler */
    assert_int_equal(osip_parse(bad, 160, 160, '*', &t), WCS_E_SYNTAX);
    memcpy(bad, tg, sizeof(bad));
    bad[30] = '\t';
    assert_int_equal(osip_parse(bad, 160, 160, '*', &t), WCS_E_SYNTAX);
    /* A length that cannot hold the type's fields. */
    char shortreq[61];
    memcpy(shortreq, "###00060SPS03MFC__00001REQ_", 27);
    memset(shortreq + 27, '0', 33);
    assert_int_equal(osip_parse(shortreq, 60, 0, '*', &t), WCS_E_SYNTAX);
    for (size_t i = 0; i < sizeof(t); i++)
        assert_int_equal(((unsigned char *)&t)[i], 0x5a);
}

static void test_build_example(void **state)
{
    char tg[161], out[200];
    struct osip_telegram t;
    (void)state;
    example(tg);
    assert_int_equal(osip_parse(tg, 160, 160, '*', &t), 0);
    assert_int_equal(osip_build(&t, 160, '*', out, sizeof(out)), 162);
    assert_memory_equal(out, tg, 160);
    assert_int_equal(out[160], '\r');
    assert_int_equal(out[161], '\n');
    assert_int_equal(osip_build(&t, 160, '*', out, 161), WCS_E_EXHAUSTED);
}

static void test_res_for(void **state)
{
    char tg[161], out[200];
    struct osip_telegram req, res, back;
    (void)state;
    example(tg);
    assert_int_equal(osip_parse(tg, 160, 160, '*', &req), 0);
    assert_int_equal(
        osip_res_for(&req, "FGINIPNT000200000000", NULL, "00000000", "20131123225960", &res),
        0); /* the date is checked by build, not here */
    assert_int_equal(osip_build(&res, 160, '*', out, sizeof(out)), WCS_E_RANGE);
    assert_int_equal(
        osip_res_for(&req, "FGINIPNT000200000000", NULL, "00000000", "20131123230000", &res), 0);
    assert_int_equal(osip_build(&res, 160, '*', out, sizeof(out)), 162);
    assert_memory_equal(out,
                        "###00160MFC__SPS0300002RES_000000000S0000004711FGINIPNT000100000000"
                        "FGINIPNT000200000000********************0000000020131123230000****",
                        133);
    assert_int_equal(osip_parse(out, 160, 160, '*', &back), 0);
    assert_int_equal(back.type, OSIP_RES);
    assert_int_equal(back.seq, 2);
    assert_string_equal(back.target_group, "********************");
    /* Sequence wraps after 99999. */
    req.seq = 99999;
    assert_int_equal(osip_res_for(&req, NULL, NULL, "00000000", "20131123230000", &res), 0);
    assert_int_equal(res.seq, 0);
    /* Wrong widths and wrong request type. */
    assert_int_equal(osip_res_for(&req, "SHORT", NULL, "00000000", "20131123230000", &res),
                     WCS_E_RANGE);
    assert_int_equal(osip_res_for(&req, NULL, NULL, NULL, "20131123230000", &res), WCS_E_RANGE);
    req.type = OSIP_UPD;
    assert_int_equal(osip_res_for(&req, NULL, NULL, "00000000", "20131123230000", &res),
                     WCS_E_RANGE);
}

static void test_all_types_roundtrip(void **state)
{
    static const size_t expect_len[] = {
        [OSIP_REQ] = 109, [OSIP_RES] = 129, [OSIP_UPD] = 89,  [OSIP_LOCU] = 89,
        [OSIP_SYSU] = 69, [OSIP_ERR] = 49,  [OSIP_SYNQ] = 41, [OSIP_SYNC] = 41,
    };
    (void)state;
    for (int ty = OSIP_REQ; ty <= OSIP_SYNC; ty++) {
        struct osip_telegram t, back;
        char out[300];
        memset(&t, 0, sizeof(t));
        strcpy(t.sender, "MFC__");
        strcpy(t.receiver, "SPS01");
        t.seq = 4711;
        t.type = (enum osip_type)ty;
        strcpy(t.barcode, ""); /* -> 20 '?' */
        strcpy(t.actual, "CONV0001SCAN00000001");
        strcpy(t.target, ""); /* -> 20 '*' */
        strcpy(t.target_group, "SORTER______________");
        strcpy(t.group, "ZONE_A______________");
        strcpy(t.location, "");
        strcpy(t.error, "ERR00042");
        strcpy(t.date, "20240229235959"); /* leap day */
        int n = osip_build(&t, 160, '*', out, sizeof(out));
        assert_int_equal(n, 162);
        assert_memory_equal(out + 23, osip_type_name(t.type), 4);
        /* The last field ends where the layout says: then only filler. */
        assert_int_equal(out[expect_len[ty] - 1], '9');
        assert_int_equal(out[expect_len[ty]], '*');
        assert_int_equal(osip_parse(out, 160, 160, '*', &back), 0);
        assert_int_equal(back.type, t.type);
        assert_int_equal(back.seq, 4711);
        assert_string_equal(back.date, t.date);
        assert_string_equal(back.error, ty == OSIP_SYNQ || ty == OSIP_SYNC ? "" : "ERR00042");
        /* A length too small for the type is refused at build time. */
        assert_int_equal(osip_build(&t, expect_len[ty] - 1, '*', out, sizeof(out)), WCS_E_RANGE);
        assert_int_equal(osip_build(&t, expect_len[ty], '*', out, sizeof(out)),
                         (int)expect_len[ty] + 2);
    }
}

static void test_build_errors(void **state)
{
    struct osip_telegram t;
    char out[200];
    (void)state;
    memset(&t, 0, sizeof(t));
    strcpy(t.sender, "MFC__");
    strcpy(t.receiver, "SPS01");
    t.type = OSIP_ERR;
    strcpy(t.error, "00000001");
    strcpy(t.date, "20240101000000");
    assert_int_equal(osip_build(&t, 160, '*', out, sizeof(out)), 162);
    strcpy(t.sender, "MFC");
    assert_int_equal(osip_build(&t, 160, '*', out, sizeof(out)), WCS_E_RANGE);
    strcpy(t.sender, "MFC__");
    t.seq = 100000;
    assert_int_equal(osip_build(&t, 160, '*', out, sizeof(out)), WCS_E_RANGE);
    t.seq = 0;
    strcpy(t.error, "");
    assert_int_equal(osip_build(&t, 160, '*', out, sizeof(out)), WCS_E_RANGE);
    strcpy(t.error, "0000000\x01");
    assert_int_equal(osip_build(&t, 160, '*', out, sizeof(out)), WCS_E_RANGE);
    strcpy(t.error, "00000001");
    strcpy(t.date, "20240101240000");
    assert_int_equal(osip_build(&t, 160, '*', out, sizeof(out)), WCS_E_RANGE);
    strcpy(t.date, "20240101000000");
    assert_int_equal(osip_build(&t, 160, '\n', out, sizeof(out)), WCS_E_RANGE);
    assert_int_equal(osip_build(&t, OSIP_MAX_LEN + 1, '*', out, sizeof(out)), WCS_E_RANGE);
}

/* Builds the example as it travels on the wire (with CR LF). */
static size_t wire(char *buf, unsigned seq)
{
    char tg[161];
    struct osip_telegram t;
    example(tg);
    assert_int_equal(osip_parse(tg, 160, 160, '*', &t), 0);
    t.seq = seq;
    return (size_t)osip_build(&t, 160, '*', buf, 200);
}

static void test_framer_chunks(void **state)
{
    static struct osip_framer f;
    char stream[600], out[OSIP_MAX_LEN + 1];
    size_t n = 0, got = 0;
    (void)state;
    n += wire(stream + n, 1);
    n += wire(stream + n, 2);
    n += wire(stream + n, 3);
    /* Feed one byte at a time: every telegram comes out whole, in order. */
    osip_framer_init(&f, 160);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(osip_framer_feed(&f, (const uint8_t *)stream + i, 1), 1);
        size_t len = osip_framer_next(&f, out, sizeof(out));
        if (len) {
            struct osip_telegram t;
            assert_int_equal(len, 160);
            assert_int_equal(osip_parse(out, len, 160, '*', &t), 0);
            assert_int_equal(t.seq, ++got);
        }
    }
    assert_int_equal(got, 3);
    assert_int_equal(f.discarded_bytes, 0);
    assert_int_equal(osip_framer_next(&f, out, sizeof(out)), 0);
}

static void test_framer_garbage(void **state)
{
    static struct osip_framer f;
    char stream[900], out[OSIP_MAX_LEN + 1];
    struct osip_telegram t;
    size_t n = 0;
    (void)state;
    memcpy(stream, "noise##", 7); /* garbage, including a partial sync */
    n = 7;
    n += wire(stream + n, 1);
    memcpy(stream + n, "###abcde", 8); /* garbage right after a sync */
    n += 8;
    n += wire(stream + n, 2);
    /* A telegram cut short (connection reset mid-frame), then a whole one. */
    size_t cut = wire(stream + n, 3);
    n += cut - 50;
    n += wire(stream + n, 4);
    memcpy(stream + n, "#", 1); /* trailing partial sync stays buffered */
    n += 1;
    osip_framer_init(&f, 160);
    size_t off = 0, seqs[4], ns = 0;
    while (off < n) {
        size_t chunk = n - off < 37 ? n - off : 37;
        off += osip_framer_feed(&f, (const uint8_t *)stream + off, chunk);
        size_t len;
        while ((len = osip_framer_next(&f, out, sizeof(out))) != 0) {
            assert_int_equal(osip_parse(out, len, 160, '*', &t), 0);
            seqs[ns++] = t.seq;
        }
    }
    assert_int_equal(ns, 3);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(seqs[1], 2);
    assert_int_equal(seqs[2], 4);
    /* 5 noise + "##" of a false start... all skipped bytes counted, the last '#' kept. */
    assert_int_equal(f.discarded_bytes, 7 + 8 + (162 - 50));
    assert_int_equal(f.len, 1);
}

static void test_framer_full(void **state)
{
    static struct osip_framer f;
    uint8_t junk[3000];
    char out[OSIP_MAX_LEN + 1];
    (void)state;
    memset(junk, 'x', sizeof(junk));
    osip_framer_init(&f, 0);
    size_t took = osip_framer_feed(&f, junk, sizeof(junk));
    assert_int_equal(took, sizeof(f.buf));
    assert_int_equal(osip_framer_next(&f, out, sizeof(out)), 0);
    assert_int_equal(f.len, 0);
    assert_int_equal(f.discarded_bytes, sizeof(f.buf));
    /* A header announcing a length above the maximum is resynchronised over. */
    const char *big = "###99999";
    osip_framer_feed(&f, (const uint8_t *)big, 8);
    assert_int_equal(osip_framer_next(&f, out, sizeof(out)), 0);
    assert_int_equal(f.len, 0);
    assert_int_equal(f.discarded_bytes, sizeof(f.buf) + 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_example),       cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_build_example),       cmocka_unit_test(test_res_for),
        cmocka_unit_test(test_all_types_roundtrip), cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_framer_chunks),       cmocka_unit_test(test_framer_garbage),
        cmocka_unit_test(test_framer_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
