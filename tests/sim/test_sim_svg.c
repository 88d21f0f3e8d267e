/* Unit tests of the report's SVG writer (sim/svg.h): documents are complete and balanced, data
 * lands on the right pixels (a point at the axis minimum sits on the left axis), text is
 * XML-escaped, markers and bars are drawn, and bad data is refused without output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/svg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned count(const char *s, const char *what)
{
    unsigned n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void well_formed(const char *svg)
{
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "</svg>\n"));
    assert_int_equal(count(svg, "<text"), count(svg, "</text>"));
    assert_int_equal(count(svg, "<svg"), 1);
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "href"));
}

static void test_lines(void **state)
{
    double x[] = {0, 30, 60}, y[] = {0, 5, 20};
    struct sim_svg_series s = {"shipped <orders> & co", x, y, 3};
    struct sim_svg_mark m = {45, "DHL 11:00"};
    char *svg = NULL;
    (void)state;
    assert_int_equal(sim_svg_lines(&svg, "Throughput \"A\"", "minutes", "orders", &s, 1, &m, 1), 0);
    well_formed(svg);
    assert_non_null(strstr(svg, "shipped &lt;orders&gt; &amp; co"));
    assert_non_null(strstr(svg, "Throughput &quot;A&quot;"));
    assert_non_null(strstr(svg, ">DHL 11:00</text>"));
    /* x=0 is on the left axis (64 px); the last point is at the right edge (720 - 16). */
    assert_non_null(strstr(svg, "points=\"64.0,"));
    assert_non_null(strstr(svg, " 704.0,"));
    assert_int_equal(count(svg, "<polyline"), 1);
    assert_int_equal(count(svg, "stroke-dasharray"), 1);
    free(svg);
}

static void test_bars_timeline(void **state)
{
    const char *labels[] = {"L-P1", "L-DHL", "reject"};
    double v[] = {12, 0, 3};
    struct sim_svg_span sp[] = {{"plc.plc1.link", 1, 2}, {"lane.L1.full", 3, -1}};
    char *svg = NULL;
    (void)state;
    assert_int_equal(sim_svg_bars(&svg, "Lanes", "items", labels, v, 3), 0);
    well_formed(svg);
    assert_int_equal(count(svg, "<rect x="), 3 + 0); /* three bars (the background has none) */
    assert_non_null(strstr(svg, "<title>L-P1: 12</title>"));
    free(svg);
    assert_int_equal(sim_svg_timeline(&svg, "Alarms", "minutes", sp, 2, 10), 0);
    well_formed(svg);
    assert_non_null(strstr(svg, ">lane.L1.full</text>"));
    /* The open span is red and runs to the end (t_end 10 = the right edge 704). */
    assert_non_null(strstr(svg, "fill=\"#d62728\""));
    free(svg);
}

static void test_refusals(void **state)
{
    double x[] = {0, 2, 1}, y[] = {1, 2, 3}, bad[] = {1, NAN};
    struct sim_svg_series s = {"s", x, y, 3};
    const char *labels[] = {"a", "b"};
    struct sim_svg_span sp = {"x", 0, INFINITY};
    char *svg = (char *)"untouched";
    (void)state;
    assert_int_equal(sim_svg_lines(&svg, "t", "x", "y", &s, 1, NULL, 0), -EINVAL);
    assert_int_equal(sim_svg_bars(&svg, "t", "y", labels, bad, 2), -EINVAL);
    assert_int_equal(sim_svg_bars(&svg, "t", "y", labels, bad, 0), -EINVAL);
    assert_int_equal(sim_svg_timeline(&svg, "t", "x", &sp, 1, 10), -EINVAL);
    assert_int_equal(sim_svg_timeline(&svg, "t", "x", NULL, 0, 0), -EINVAL);
    assert_string_equal(svg, "untouched");
}

static void test_empty_series(void **state)
{
    char *svg = NULL;
    (void)state;
    /* No data yet (a run that ended at once): still a valid, empty chart. */
    assert_int_equal(sim_svg_lines(&svg, "t", "x", "y", NULL, 0, NULL, 0), 0);
    well_formed(svg);
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_bars_timeline),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_empty_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
