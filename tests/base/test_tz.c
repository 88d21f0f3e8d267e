/* Unit tests for base/tz: offsets and local-time conversions against known transitions of the
 * system's zone files (Europe/Berlin and America/New_York DST 2026, UTC, Australia/Lord_Howe's
 * half-hour DST), the footer rule on a synthetic slim file, a cross-check against the C
 * library, and the refusals of malformed files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Instant of a UTC date and time. */
static int64_t utc(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static struct wcs_tz *load(const char *zone)
{
    struct wcs_tz *z = NULL;
    char err[128] = "";
    int rc = tz_load(&z, zone, err, sizeof(err));
    if (rc != 0)
        fail_msg("tz_load %s: %d %s", zone, rc, err);
    return z;
}

static void test_civil(void **state)
{
    (void)state;
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);
    for (int64_t days = -800000; days < 800000; days += 97) {
        int64_t y;
        unsigned m, d;
        tz_civil_from_days(days, &y, &m, &d);
        assert_int_equal(tz_days_from_civil(y, m, d), days);
    }
}

static void test_berlin(void **state)
{
    struct wcs_tz *z = load("Europe/Berlin");
    (void)state;
    /* 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC. */
    assert_int_equal(tz_offset_s(z, utc(2026, 1, 15, 12, 0, 0)), 3600);
    assert_int_equal(tz_offset_s(z, utc(2026, 3, 29, 0, 59, 59)), 3600);
    assert_int_equal(tz_offset_s(z, utc(2026, 3, 29, 1, 0, 0)), 7200);
    assert_int_equal(tz_offset_s(z, utc(2026, 10, 25, 0, 59, 59)), 7200);
    assert_int_equal(tz_offset_s(z, utc(2026, 10, 25, 1, 0, 0)), 3600);
    /* Far beyond any transition in the file: the footer rule. */
    assert_int_equal(tz_offset_s(z, utc(2199, 7, 1, 0, 0, 0)), 7200);
    assert_int_equal(tz_offset_s(z, utc(2199, 12, 1, 0, 0, 0)), 3600);
    /* Local → UTC: a plain time, the gap (02:30 on 29 March reads as 03:30 CEST), the overlap
     * (02:30 on 25 October happens twice: the earlier one, CEST). */
    assert_int_equal(tz_utc_s(z, utc(2026, 7, 1, 14, 0, 0)), utc(2026, 7, 1, 12, 0, 0));
    assert_int_equal(tz_utc_s(z, utc(2026, 3, 29, 2, 30, 0)), utc(2026, 3, 29, 1, 30, 0));
    assert_int_equal(tz_utc_s(z, utc(2026, 10, 25, 2, 30, 0)), utc(2026, 10, 25, 0, 30, 0));
    assert_int_equal(tz_utc_s(z, utc(2026, 10, 25, 3, 0, 0)), utc(2026, 10, 25, 2, 0, 0));
    assert_int_equal(tz_local_s(z, utc(2026, 6, 30, 22, 30, 0)), utc(2026, 7, 1, 0, 30, 0));
    tz_free(z);
}

static void test_new_york(void **state)
{
    struct wcs_tz *z = load("America/New_York");
    (void)state;
    /* 2026: EDT from 8 March 07:00 UTC to 1 November 06:00 UTC. */
    assert_int_equal(tz_offset_s(z, utc(2026, 3, 8, 6, 59, 59)), -18000);
    assert_int_equal(tz_offset_s(z, utc(2026, 3, 8, 7, 0, 0)), -14400);
    assert_int_equal(tz_offset_s(z, utc(2026, 11, 1, 5, 59, 59)), -14400);
    assert_int_equal(tz_offset_s(z, utc(2026, 11, 1, 6, 0, 0)), -18000);
    assert_int_equal(tz_utc_s(z, utc(2026, 12, 24, 17, 0, 0)), utc(2026, 12, 24, 22, 0, 0));
    assert_int_equal(tz_utc_s(z, utc(2026, 11, 1, 1, 30, 0)), utc(2026, 11, 1, 5, 30, 0));
    /* 1883 before railway time: local mean time, type 0 of the file. */
    assert_int_equal(tz_offset_s(z, utc(1850, 1, 1, 0, 0, 0)), -17762);
    tz_free(z);
}

static void test_utc(void **state)
{
    struct wcs_tz *z = load("UTC");
    (void)state;
    for (int64_t t = -4000000000LL; t < 8000000000LL; t += 123456789)
        assert_int_equal(tz_offset_s(z, t), 0);
    assert_int_equal(tz_utc_s(z, 1790000000), 1790000000);
    tz_free(z);
}

static void test_lord_howe(void **state)
{
    struct wcs_tz *z = load("Australia/Lord_Howe");
    (void)state;
    /* +11:00 until 5 April 2026 02:00 local (15:00 UTC the day before), then +10:30 until
     * 4 October 2026 02:00 local (15:30 UTC the day before). */
    assert_int_equal(tz_offset_s(z, utc(2026, 4, 4, 14, 59, 59)), 39600);
    assert_int_equal(tz_offset_s(z, utc(2026, 4, 4, 15, 0, 0)), 37800);
    assert_int_equal(tz_offset_s(z, utc(2026, 10, 3, 15, 29, 59)), 37800);
    assert_int_equal(tz_offset_s(z, utc(2026, 10, 3, 15, 30, 0)), 39600);
    assert_int_equal(tz_offset_s(z, utc(2150, 1, 1, 0, 0, 0)), 39600);
    /* 01:45 on 5 April happens twice (the earlier, +11:00); 02:15 on 4 October does not. */
    assert_int_equal(tz_utc_s(z, utc(2026, 4, 5, 1, 45, 0)), utc(2026, 4, 4, 14, 45, 0));
    assert_int_equal(tz_utc_s(z, utc(2026, 10, 4, 2, 15, 0)), utc(2026, 10, 3, 15, 45, 0));
    tz_free(z);
}

/* A slim v2 file: one type, no transitions, all in the footer. */
static size_t slim(uint8_t *buf, const char *footer, int32_t utoff, uint32_t leap)
{
    size_t n = 0;
    for (int v = 0; v < 2; v++) {
        memcpy(buf + n, "TZif2", 5);
        memset(buf + n + 5, 0, 15);
        uint32_t c[6] = {0, 0, v ? leap : 0, 0, 1, 4};
        for (int i = 0; i < 6; i++) {
            buf[n + 20 + i * 4] = (uint8_t)(c[i] >> 24);
            buf[n + 21 + i * 4] = (uint8_t)(c[i] >> 16);
            buf[n + 22 + i * 4] = (uint8_t)(c[i] >> 8);
            buf[n + 23 + i * 4] = (uint8_t)c[i];
        }
        n += 44;
        buf[n++] = (uint8_t)((uint32_t)utoff >> 24);
        buf[n++] = (uint8_t)((uint32_t)utoff >> 16);
        buf[n++] = (uint8_t)((uint32_t)utoff >> 8);
        buf[n++] = (uint8_t)utoff;
        buf[n++] = 0;
        buf[n++] = 0;
        memcpy(buf + n, "CET", 4);
        n += 4;
        if (v && leap) {
            memset(buf + n, 0, 12 * leap);
            n += 12 * leap;
        }
    }
    n += (size_t)sprintf((char *)buf + n, "\n%s\n", footer);
    return n;
}

static void test_footer(void **state)
{
    uint8_t buf[512];
    struct wcs_tz *z = NULL;
    char err[128];
    (void)state;
    size_t n = slim(buf, "CET-1CEST,M3.5.0,M10.5.0/3", 3600, 0);
    assert_int_equal(tz_parse(&z, buf, n, err, sizeof(err)), 0);
    assert_int_equal(tz_offset_s(z, utc(2026, 3, 29, 0, 59, 59)), 3600);
    assert_int_equal(tz_offset_s(z, utc(2026, 3, 29, 1, 0, 0)), 7200);
    assert_int_equal(tz_offset_s(z, utc(2026, 10, 25, 0, 59, 59)), 7200);
    assert_int_equal(tz_offset_s(z, utc(2026, 10, 25, 1, 0, 0)), 3600);
    tz_free(z);
    /* Julian day rules and v3 times past 24h: DST all year ("EST5EDT,0/0,J365/25"). */
    n = slim(buf, "EST5EDT,0/0,J365/25", -18000, 0);
    assert_int_equal(tz_parse(&z, buf, n, err, sizeof(err)), 0);
    assert_int_equal(tz_offset_s(z, utc(2026, 1, 1, 12, 0, 0)), -14400);
    assert_int_equal(tz_offset_s(z, utc(2026, 7, 1, 12, 0, 0)), -14400);
    tz_free(z);
    /* A quoted name, a half-hour offset, no DST. */
    n = slim(buf, "<+0530>-5:30", 19800, 0);
    assert_int_equal(tz_parse(&z, buf, n, err, sizeof(err)), 0);
    assert_int_equal(tz_offset_s(z, utc(2300, 1, 1, 0, 0, 0)), 19800);
    tz_free(z);
}

static void test_refused(void **state)
{
    uint8_t buf[512];
    struct wcs_tz *z = NULL;
    char err[128];
    (void)state;
    size_t n = slim(buf, "CET-1CEST,M3.5.0,M10.5.0/3", 3600, 0);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(tz_parse(&z, buf, k, err, sizeof(err)), WCS_E_SYNTAX);
    assert_null(z);
    const char *bad[] = {"CET",
                         "CET-1CEST",
                         "CET-1CEST,M13.5.0,M10.5.0",
                         "CET-1CEST,M3.6.0,M10.5.0",
                         "CET-1CEST,M3.5.7,M10.5.0",
                         "CET-25",
                         "C-1",
                         "<+05>-5,",
                         "CET-1CEST,J0,J10",
                         "CET-1CEST,M3.5.0/168,M10.5.0",
                         "CET-1CEST,M3.5.0,M10.5.0,x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        n = slim(buf, bad[i], 3600, 0);
        if (tz_parse(&z, buf, n, err, sizeof(err)) != WCS_E_SYNTAX)
            fail_msg("footer '%s' accepted", bad[i]);
    }
    n = slim(buf, "CET-1", 3600, 0);
    memcpy(buf, "TZjf", 4);
    assert_int_equal(tz_parse(&z, buf, n, err, sizeof(err)), WCS_E_SYNTAX);
    n = slim(buf, "CET-1", 100000, 0); /* offset out of range */
    assert_int_equal(tz_parse(&z, buf, n, err, sizeof(err)), WCS_E_SYNTAX);
    n = slim(buf, "CET-1", 3600, 1);
    assert_int_equal(tz_parse(&z, buf, n, err, sizeof(err)), WCS_E_RANGE);
    assert_null(z);
    assert_int_equal(tz_load(&z, "../../etc/passwd", err, sizeof(err)), WCS_E_UNKNOWN);
    assert_int_equal(tz_load(&z, "/etc/localtime", err, sizeof(err)), WCS_E_UNKNOWN);
    assert_int_equal(tz_load(&z, "Mars/Olympus_Mons", err, sizeof(err)), WCS_E_UNKNOWN);
    assert_int_equal(tz_load(&z, "right/UTC", err, sizeof(err)), WCS_E_RANGE);
    assert_null(z);
    tz_free(NULL);
}

/* Every 3 hours from 1950 to 2080, the offset agrees with the C library's (this test is single
 * threaded, so switching TZ here is safe). */
static void test_against_libc(void **state)
{
    const char *zones[] = {"Europe/Berlin",     "America/New_York", "Australia/Lord_Howe",
                           "America/Sao_Paulo", "Asia/Kolkata",     "Pacific/Chatham"};
    (void)state;
    for (size_t i = 0; i < sizeof(zones) / sizeof(*zones); i++) {
        struct wcs_tz *z = load(zones[i]);
        setenv("TZ", zones[i], 1);
        tzset();
        for (int64_t t = utc(1950, 1, 1, 0, 0, 0); t < utc(2080, 1, 1, 0, 0, 0); t += 10800) {
            time_t tt = (time_t)t;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            if (tm.tm_gmtoff != tz_offset_s(z, t))
                fail_msg("%s at %lld: libc %ld, tz %d", zones[i], (long long)t, tm.tm_gmtoff,
                         tz_offset_s(z, t));
            int64_t local = tz_local_s(z, t);
            int64_t back = tz_utc_s(z, local);
            /* Round trip, except for the second pass through a repeated hour. */
            if (back != t && tz_local_s(z, back) != local)
                fail_msg("%s: %lld -> %lld -> %lld", zones[i], (long long)t, (long long)local,
                         (long long)back);
        }
        tz_free(z);
    }
    unsetenv("TZ");
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),     cmocka_unit_test(test_berlin),
        cmocka_unit_test(test_new_york),  cmocka_unit_test(test_utc),
        cmocka_unit_test(test_lord_howe), cmocka_unit_test(test_footer),
        cmocka_unit_test(test_refused),   cmocka_unit_test(test_against_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
