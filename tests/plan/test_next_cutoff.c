/* plan_site_next_cutoff (wcs/plan/site.c), which the daemon's automatic wave release uses: the
 * first cutoff strictly after a time, in the site's time zone, across days and a daylight saving
 * change; an unknown carrier. Unit: a config file written to /tmp, no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "plan/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static struct cfg_site *CFG;
static char path[64];

static int setup(void **state)
{
    struct cfg_errors e;
    int fd;
    FILE *f;
    (void)state;
    snprintf(path, sizeof(path), "/tmp/wcs-cutoff-XXXXXX");
    if ((fd = mkstemp(path)) < 0 || !(f = fdopen(fd, "w")))
        return -1;
    fputs("site: {id: t, name: Cutoffs, timezone: Europe/Berlin}\n"
          "waves:\n"
          "  carriers:\n"
          "    - {code: DHL, name: DHL, cutoffs: [\"12:00\", \"16:00\"]}\n"
          "    - {code: UPS, name: UPS, cutoffs: [\"14:00\"]}\n",
          f);
    fclose(f);
    cfg_errors_init(&e);
    if (cfg_load(&CFG, path, &e) != 0)
        return -1;
    cfg_errors_fini(&e);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cfg_free(CFG);
    unlink(path);
    return 0;
}

static int64_t min_of(const char *iso)
{
    int64_t s;
    assert_int_equal(plan_time_parse(iso, &s), 0);
    return s / 60;
}

static void next_is(struct plan_site *s, uint32_t carrier, const char *after, const char *want)
{
    int64_t got = 0;
    assert_int_equal(plan_site_next_cutoff(s, carrier, min_of(after), &got), 0);
    assert_int_equal(got, min_of(want));
}

static void test_next_cutoff(void **state)
{
    struct plan_site *s = NULL;
    char msg[256];
    int64_t got = 0;
    (void)state;
    /* 2026-03-02 is winter time in Berlin (UTC+1). */
    assert_int_equal(plan_site_open(&s, CFG, min_of("2026-03-02T08:00Z") * 60, msg, sizeof(msg)),
                     0);
    next_is(s, 0, "2026-03-02T08:00Z", "2026-03-02T11:00Z");
    next_is(s, 0, "2026-03-02T10:59Z", "2026-03-02T11:00Z");
    next_is(s, 0, "2026-03-02T11:00Z", "2026-03-02T15:00Z"); /* strictly after */
    next_is(s, 0, "2026-03-02T15:00Z", "2026-03-03T11:00Z"); /* the next day */
    next_is(s, 1, "2026-03-02T08:00Z", "2026-03-02T13:00Z");
    next_is(s, 1, "2026-03-01T20:00Z", "2026-03-02T13:00Z"); /* from the day before today */
    assert_int_equal(plan_site_next_cutoff(s, 2, min_of("2026-03-02T08:00Z"), &got), -EINVAL);
    plan_site_close(s);
    /* Summer time starts on 2026-03-29: noon is 10:00 UTC from then on. */
    assert_int_equal(plan_site_open(&s, CFG, min_of("2026-03-28T20:00Z") * 60, msg, sizeof(msg)),
                     0);
    next_is(s, 0, "2026-03-28T20:00Z", "2026-03-29T10:00Z");
    next_is(s, 1, "2026-03-28T12:00Z", "2026-03-28T13:00Z");
    plan_site_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_cutoff),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
