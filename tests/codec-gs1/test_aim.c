/* Unit tests for the AIM symbology identifier codec (drivers/codec/aim.c): GS1 carriers, GTIN
 * carriers, plain symbologies, and data without (or with a malformed) identifier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "drivers/codec/aim.h"

#include <string.h>

static struct aim_id parse(const char *s)
{
    struct aim_id a;
    assert_int_equal(aim_parse(s, strlen(s), &a), 0);
    return a;
}

static void expect(const char *s, const char *text, enum aim_content content, const char *symbology)
{
    struct aim_id a = parse(s);
    assert_true(a.present);
    assert_string_equal(a.text, text);
    assert_int_equal(a.code, text[1]);
    assert_int_equal(a.modifier, text[2]);
    assert_int_equal(a.content, content);
    assert_string_equal(a.symbology, symbology);
    assert_int_equal(a.data_offset, 3);
}

static void test_gs1_carriers(void **state)
{
    (void)state;
    expect("]C10109506000134352", "]C1", AIM_CONTENT_GS1, "GS1-128");
    expect("]e00109506000134352", "]e0", AIM_CONTENT_GS1, "GS1 DataBar");
    expect("]d20109506000134352", "]d2", AIM_CONTENT_GS1, "GS1 DataMatrix");
    expect("]Q30109506000134352", "]Q3", AIM_CONTENT_GS1, "GS1 QR Code");
    expect("]J10109506000134352", "]J1", AIM_CONTENT_GS1, "GS1 DotCode");
}

static void test_gtin_and_plain(void **state)
{
    (void)state;
    expect("]E04006381333931", "]E0", AIM_CONTENT_GTIN, "EAN-13/UPC-A");
    expect("]E496385074", "]E4", AIM_CONTENT_GTIN, "EAN-8");
    expect("]E3400638133393112", "]E3", AIM_CONTENT_PLAIN, "EAN/UPC with add-on");
    /* Same symbology, other modifiers: not GS1. */
    expect("]C0ABC", "]C0", AIM_CONTENT_PLAIN, "Code 128");
    expect("]d1ABC", "]d1", AIM_CONTENT_PLAIN, "Data Matrix");
    expect("]Q1http://x", "]Q1", AIM_CONTENT_PLAIN, "QR Code");
    expect("]A0CODE39", "]A0", AIM_CONTENT_PLAIN, "Code 39");
    expect("]I1123", "]I1", AIM_CONTENT_PLAIN, "Interleaved 2 of 5");
    expect("]z0aztec", "]z0", AIM_CONTENT_PLAIN, "Aztec");
    /* An identifier and no data is still an identifier. */
    expect("]C1", "]C1", AIM_CONTENT_GS1, "GS1-128");
    /* A letter not in the table: an identifier of an unknown symbology. */
    expect("]W5x", "]W5", AIM_CONTENT_PLAIN, "unknown");
    assert_string_equal(aim_symbology_name('L'), "PDF417");
    assert_string_equal(aim_symbology_name('?'), "unknown");
}

static void test_no_identifier(void **state)
{
    const char *cases[] = {"",
                           "]",
                           "]C",
                           "]1C0",
                           "]C-",
                           "0109506000134352",
                           "[C1abc",
                           "]\x1d"
                           "1"};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct aim_id a = parse(cases[i]);
        assert_false(a.present);
        assert_int_equal(a.data_offset, 0);
        assert_int_equal(a.content, AIM_CONTENT_PLAIN);
        assert_string_equal(a.text, "");
        assert_string_equal(a.symbology, "none");
    }
    /* Not NUL-terminated: only len bytes are read. */
    struct aim_id a;
    assert_int_equal(aim_parse("]C1", 2, &a), 0);
    assert_false(a.present);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gs1_carriers),
        cmocka_unit_test(test_gtin_and_plain),
        cmocka_unit_test(test_no_identifier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
