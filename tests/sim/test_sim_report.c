/* Unit tests of the run's report (sim/report.h): the clock speed plot is written for a run whose
 * clock changed speed (the pace), from the samples that know their speed, and not for a run at a
 * fixed speed; the alarms seen are counted per id and per raise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tfile.h"

#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes a report of four samples (the first without a speed) into a new folder; returns
 * clock.svg's text or NULL when there is none, and index.html's in *html. */
static char *write_report(double speed_min, double speed, char **html)
{
    char dir[] = "/tmp/wcs-reporttest-XXXXXX", path[600];
    struct sim_report r;
    char *svg;
    assert_non_null(mkdtemp(dir));
    sim_report_init(&r);
    r.speed = speed;
    r.speed_min = speed_min;
    sim_report_sample(&r, 0, 0, 0, 0, 0, 0, 0);
    sim_report_sample(&r, 10, 5, 5, 0, 0, 0, 600);
    sim_report_sample(&r, 20, 9, 9, 2, 4, 1, 75.5);
    sim_report_sample(&r, 30, 12, 12, 6, 9, 2, 300);
    assert_int_equal(sim_report_write(&r, dir, "t", "site"), 0);
    sim_report_fini(&r);
    snprintf(path, sizeof(path), "%s/index.html", dir);
    *html = tfile_read(path);
    assert_non_null(*html);
    snprintf(path, sizeof(path), "%s/clock.svg", dir);
    svg = tfile_read(path);
    return svg;
}

static void test_clock_plot_paced(void **state)
{
    char *html, *svg;
    (void)state;
    svg = write_report(50, 600, &html);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "Clock speed over the shift"));
    /* Three points: the first sample has no speed and is left out. */
    const char *pts = strstr(svg, "<polyline");
    assert_non_null(pts);
    pts = strstr(pts, "points=\"");
    assert_non_null(pts);
    int spaces = 0;
    for (const char *c = pts + 8; *c && *c != '"'; c++)
        spaces += *c == ' ';
    assert_int_equal(spaces, 2);
    assert_non_null(strstr(html, "Clock speed over the shift")); /* inlined too */
    free(svg);
    free(html);
}

static void test_no_clock_plot_fixed(void **state)
{
    char *html, *svg;
    (void)state;
    svg = write_report(0, 150, &html);
    assert_null(svg);
    assert_null(strstr(html, "Clock speed"));
    free(html);
}

/* A raise after a clear counts again; a repeated raise while active (a retained alarm sent again
 * on a reconnect) does not; a clear of an alarm never seen raised is ignored. */
static void test_alarm_raises(void **state)
{
    struct sim_report r;
    unsigned raised, active, raises;
    (void)state;
    sim_report_init(&r);
    sim_report_alarm(&r, "plc.a.link", false, 1);
    sim_report_alarm(&r, "redis.down", true, 2);
    sim_report_alarm(&r, "redis.down", true, 3);
    sim_report_alarm(&r, "redis.down", false, 4);
    sim_report_alarm(&r, "redis.down", true, 5);
    sim_report_alarm(&r, "plc.b.link", true, 6);
    sim_report_alarm(&r, "plc.b.link", false, 7);
    sim_report_alarm_match(&r, "redis.down", &raised, &active, &raises);
    assert_int_equal(raised, 1);
    assert_int_equal(active, 1);
    assert_int_equal(raises, 2);
    sim_report_alarm_match(&r, "plc.*.link", &raised, &active, &raises);
    assert_int_equal(raised, 1);
    assert_int_equal(active, 0);
    assert_int_equal(raises, 1);
    sim_report_alarm_match(&r, "*", &raised, &active, &raises);
    assert_int_equal(raised, 2);
    assert_int_equal(raises, 3);
    sim_report_fini(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_plot_paced),
        cmocka_unit_test(test_no_clock_plot_fixed),
        cmocka_unit_test(test_alarm_raises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
