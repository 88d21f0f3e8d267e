/* Unit tests for ZPL rendering: SSCC label content at 203 and 300 dpi, escaping of ^ ~ _ and
 * UTF-8, rejection of bad data, buffer exhaustion, LPN and location labels, and templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "drivers/codec/zpl.h"

static struct zpl_sscc_label sample(void)
{
    struct zpl_sscc_label l = {
        .sscc = "106141411234567897",
        .ship_to = {.name = "ACME Retail",
                    .line1 = "12 Dock Road",
                    .line2 = "Gate 4",
                    .postal = "80331",
                    .city = "München",
                    .country = "DE"},
        .carrier = "DHL",
        .order = "SO^0042",
        .weight_mg = 12345678,
        .dpi = ZPL_DPI_203,
    };
    return l;
}

static void test_sscc_203(void **state)
{
    static char buf[4096];
    struct zpl_sscc_label l = sample();
    (void)state;
    int n = zpl_render_sscc(&l, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    assert_memory_equal(buf, "^XA\n^CI28\n^PW812\n^LL1218\n", 24);
    assert_non_null(strstr(buf, "^BY3^BCN,250,Y,N,N,D^FD(00)106141411234567897^FS"));
    assert_non_null(strstr(buf, "^FD(00) 106141411234567897^FS"));
    assert_non_null(strstr(buf, "^FH_^FDACME Retail^FS"));
    assert_non_null(strstr(buf, "^FD80331 M_C3_BCnchen^FS")); /* UTF-8 as hex escapes */
    assert_non_null(strstr(buf, "^FDSO_5E0042^FS"));          /* '^' in data escaped */
    assert_non_null(strstr(buf, "^FD12.35 kg^FS"));           /* 12.345678 kg */
    assert_non_null(strstr(buf, "^FDGate 4^FS"));
    assert_non_null(strstr(buf, "^FDDHL^FS"));
    assert_string_equal(buf + n - 9, "^PQ1\n^XZ\n");
    /* The only carets are command prefixes: no data leaked one in. */
    for (const char *p = buf; (p = strchr(p, '^')) != NULL; p++)
        assert_true(p[1] >= 'A' && p[1] <= 'Z');
}

static void test_sscc_300(void **state)
{
    static char buf[4096];
    struct zpl_sscc_label l = sample();
    (void)state;
    l.dpi = ZPL_DPI_300;
    l.ship_to.line2 = NULL;
    l.weight_mg = 0;
    int n = zpl_render_sscc(&l, buf, sizeof(buf));
    assert_true(n > 0);
    assert_memory_equal(buf, "^XA\n^CI28\n^PW1200\n^LL1800\n", 25);
    /* 250 dots at 203 dpi is 369 at 300 dpi; module width 4. */
    assert_non_null(strstr(buf, "^BY4^BCN,369,Y,N,N,D^FD(00)106141411234567897^FS"));
    assert_null(strstr(buf, "Gate"));
    assert_non_null(strstr(buf, "^FD0.00 kg^FS"));
}

static void test_sscc_errors(void **state)
{
    static char buf[4096];
    struct zpl_sscc_label l;
    (void)state;
    l = sample();
    l.sscc = "106141411234567890"; /* wrong check digit */
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l.sscc = "10614141123456789"; /* 17 digits */
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l.sscc = "10614141123456789A";
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l = sample();
    l.ship_to.city = NULL;
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l = sample();
    l.carrier = "";
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l = sample();
    l.weight_mg = -1;
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l = sample();
    l.dpi = (enum zpl_dpi)600;
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l = sample();
    l.order = "SO\n42"; /* control character */
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l = sample();
    l.ship_to.name = "Bad \xc3\x28 UTF-8";
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    l = sample();
    l.ship_to.name = "Overlong \xc0\xaf";
    assert_int_equal(zpl_render_sscc(&l, buf, sizeof(buf)), WCS_E_RANGE);
    /* Exhaustion: every size short of the full label fails, the exact size succeeds. */
    l = sample();
    int full = zpl_render_sscc(&l, buf, sizeof(buf));
    assert_true(full > 0);
    for (int cap = 0; cap <= full; cap += 97)
        assert_int_equal(zpl_render_sscc(&l, buf, (size_t)cap), WCS_E_EXHAUSTED);
    assert_int_equal(zpl_render_sscc(&l, buf, (size_t)full), WCS_E_EXHAUSTED); /* no NUL room */
    assert_int_equal(zpl_render_sscc(&l, buf, (size_t)full + 1), full);
}

static void test_lpn_location(void **state)
{
    static char buf[2048];
    struct zpl_lpn_label lpn = {
        .lpn = "TOTE_0042", .caption = "Pack station 3", .dpi = ZPL_DPI_203};
    struct zpl_location_label loc = {.location = "WH1/Stock/A/01/02", .dpi = ZPL_DPI_300};
    (void)state;
    int n = zpl_render_lpn(&lpn, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "^PW812\n^LL406\n"));
    assert_non_null(strstr(buf, "^BCN,180,N,N,N^FH_^FDTOTE_5F0042^FS"));
    assert_non_null(strstr(buf, "^FDPack station 3^FS"));
    n = zpl_render_location(&loc, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "^PW1200\n^LL600\n"));
    assert_non_null(strstr(buf, "^A0N,163,163^FH_^FDWH1/Stock/A/01/02^FS"));
    assert_non_null(strstr(buf, "^FDWH1/Stock/A/01/02^FS\n^FO59,251^BY3^BCN,266,N,N,N"));
    /* Code 128 data: no '>' (invocation prefix), no non-ASCII, 1..40 characters. */
    lpn.lpn = "TOTE>1";
    assert_int_equal(zpl_render_lpn(&lpn, buf, sizeof(buf)), WCS_E_RANGE);
    lpn.lpn = "TÖTE";
    assert_int_equal(zpl_render_lpn(&lpn, buf, sizeof(buf)), WCS_E_RANGE);
    lpn.lpn = "";
    assert_int_equal(zpl_render_lpn(&lpn, buf, sizeof(buf)), WCS_E_RANGE);
    lpn.lpn = "12345678901234567890123456789012345678901";
    assert_int_equal(zpl_render_lpn(&lpn, buf, sizeof(buf)), WCS_E_RANGE);
    loc.location = NULL;
    assert_int_equal(zpl_render_location(&loc, buf, sizeof(buf)), WCS_E_RANGE);
    loc.location = "A~1";
    assert_int_equal(zpl_render_location(&loc, buf, 10), WCS_E_EXHAUSTED);
    assert_true(zpl_render_location(&loc, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "^FDA_7E1^FS"));
}

static void test_template(void **state)
{
    static char buf[1024];
    const char *tmpl = "^XA^FO10,10^A0N,{{ size }},{{size}}^FH^FD{{name}}^FS"
                       "^FO10,60^FD{{code}}^FS^FO10,90^FH\\^FD{{note}}^FS^PQ{{qty}}^XZ";
    struct zpl_field f[] = {
        {"size", "30"}, {"name", "A^B_C~D é"}, {"code", "LPN-1"}, {"note", "x\\y_z"}, {"qty", "2"},
    };
    (void)state;
    int n = zpl_render_template(tmpl, f, 5, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(buf, "^XA^FO10,10^A0N,30,30^FH^FDA_5EB_5FC_7ED _C3_A9^FS"
                             "^FO10,60^FDLPN-1^FS^FO10,90^FH\\^FDx\\5Cy_z^FS^PQ2^XZ");
    assert_int_equal(n, (int)strlen(buf));
    /* Unknown field, malformed and unterminated placeholders. */
    assert_int_equal(zpl_render_template("^FD{{nope}}^FS", f, 5, buf, sizeof(buf)), WCS_E_UNKNOWN);
    assert_int_equal(zpl_render_template("^FD{{name^FS", f, 5, buf, sizeof(buf)), WCS_E_SYNTAX);
    assert_int_equal(zpl_render_template("^FD{{}}^FS", f, 5, buf, sizeof(buf)), WCS_E_SYNTAX);
    assert_int_equal(zpl_render_template("^FD{{a b}}^FS", f, 5, buf, sizeof(buf)), WCS_E_SYNTAX);
    assert_int_equal(zpl_render_template("^FD{{name}", f, 5, buf, sizeof(buf)), WCS_E_SYNTAX);
    /* A value with a caret outside a ^FH field cannot be placed safely. */
    assert_int_equal(zpl_render_template("^FD{{name}}^FS", f, 5, buf, sizeof(buf)), WCS_E_RANGE);
    assert_int_equal(zpl_render_template("^FH^FD{{name}}^FS^FD{{name}}^FS", f, 5, buf, sizeof(buf)),
                     WCS_E_RANGE); /* ^FH ends at ^FS */
    struct zpl_field ctl = {"name", "a\rb"};
    assert_int_equal(zpl_render_template("^FH^FD{{name}}^FS", &ctl, 1, buf, sizeof(buf)),
                     WCS_E_RANGE);
    assert_int_equal(zpl_render_template(tmpl, f, 5, buf, 20), WCS_E_EXHAUSTED);
    /* Single braces are plain text. */
    assert_int_equal(zpl_render_template("^FD{x}^FS", f, 0, buf, sizeof(buf)), 9);
}

static void test_template_check(void **state)
{
    char names[3][33];
    size_t count = 99;
    (void)state;
    assert_int_equal(zpl_template_check("^FD{{a}}{{b.c}}{{a}}^FS", names, 3, &count), 0);
    assert_int_equal(count, 2);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "b.c");
    assert_int_equal(zpl_template_check("{{a}}{{b}}{{c}}{{d}}", names, 3, &count), WCS_E_EXHAUSTED);
    assert_int_equal(zpl_template_check("{{a", names, 3, &count), WCS_E_SYNTAX);
    assert_int_equal(zpl_template_check("{{abcdefghijklmnopqrstuvwxyz0123456}}", names, 3, &count),
                     WCS_E_SYNTAX); /* 33 characters */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sscc_203),    cmocka_unit_test(test_sscc_300),
        cmocka_unit_test(test_sscc_errors), cmocka_unit_test(test_lpn_location),
        cmocka_unit_test(test_template),    cmocka_unit_test(test_template_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
