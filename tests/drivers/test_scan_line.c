/* Unit tests of the line scanner's pure part: splitting a byte stream into reads on CR, LF and
 * CR LF across chunk boundaries, dropping over-long lines, and classifying reads (AIM prefix,
 * no-read and multi-read tokens with or without the prefix, control characters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "drivers/scanner.h"

#include <string.h>

/* Feeds s in chunks of `chunk` bytes and joins the lines with '|'. */
static void split(const char *s, size_t chunk, size_t max_len, char *out, size_t cap,
                  uint64_t *overlong)
{
    struct scan_line_framer f;
    size_t off = 0, len = strlen(s);

    out[0] = '\0';
    scan_line_init(&f, max_len);
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk, used, ll;
        while (n > 0) {
            int got = scan_line_feed(&f, (const uint8_t *)s + off, n, &used, &ll);
            assert_true(used > 0 && used <= n);
            off += used;
            n -= used;
            if (got == 1) {
                assert_int_equal(strlen(f.buf), ll);
                strncat(out, f.buf, cap - strlen(out) - 2);
                strcat(out, "|");
            }
        }
    }
    *overlong = f.overlong;
}

static void test_split(void **state)
{
    char out[256];
    uint64_t ol;

    for (size_t chunk = 1; chunk <= 7; chunk++) {
        split("AB\r\nCD\nEF\r\rGH\n\r\nIJ", chunk, 16, out, sizeof(out), &ol);
        assert_string_equal(out, "AB|CD|EF|GH|"); /* IJ has no terminator yet */
        assert_int_equal(ol, 0);
    }
    /* A line longer than max_len is dropped whole and counted; the next one is intact. */
    split("12345678901\r\nOK\r\n", 3, 10, out, sizeof(out), &ol);
    assert_string_equal(out, "OK|");
    assert_int_equal(ol, 1);
    /* Exactly max_len passes. */
    split("1234567890\r\n", 4, 10, out, sizeof(out), &ol);
    assert_string_equal(out, "1234567890|");
    assert_int_equal(ol, 0);
}

static void test_classify(void **state)
{
    struct scan_read r;

    assert_int_equal(scan_line_classify("]C1011234\x1d"
                                        "10AB",
                                        12, "NR", "MR", &r),
                     0);
    assert_int_equal(r.result, SCAN_GOOD);
    assert_string_equal(r.aim, "]C1");
    assert_int_equal(r.len, 9);
    assert_memory_equal(r.data,
                        "011234\x1d"
                        "10",
                        9);
    assert_int_equal(scan_line_classify("NR", 2, "NR", "MR", &r), 0);
    assert_int_equal(r.result, SCAN_NOREAD);
    assert_int_equal(scan_line_classify("]C0MR", 5, "NR", "MR", &r), 0);
    assert_int_equal(r.result, SCAN_MULTI);
    /* A token inside data is data. */
    assert_int_equal(scan_line_classify("NRX", 3, "NR", "MR", &r), 0);
    assert_int_equal(r.result, SCAN_GOOD);
    /* No tokens configured: nothing is a no-read by text. */
    assert_int_equal(scan_line_classify("NR", 2, "", "", &r), 0);
    assert_int_equal(r.result, SCAN_GOOD);
    assert_string_equal(r.aim, "");
    /* Control characters other than GS are refused. */
    assert_int_equal(scan_line_classify("A\tB", 3, "NR", "MR", &r), WCS_E_SYNTAX);
    assert_int_equal(scan_line_classify("A\x7f", 2, "NR", "MR", &r), WCS_E_SYNTAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
