/* Unit tests for the pace of a run whose clock may change speed (sim/pace.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/pace.h"

/* The median round trip (real µs) whose floor time at 200x is PACE_LATENCY_MS. */
#define MED_200X ((uint64_t)(PACE_LATENCY_MS * 1000 / 200))

static void samples(struct pace *p, size_t n, uint64_t us)
{
    for (size_t i = 0; i < n; i++)
        pace_sample(p, us);
}

/* min == max: the factor never moves, whatever happens. */
static void test_fixed(void **state)
{
    struct pace p;
    (void)state;
    pace_init(&p, 300, 300);
    samples(&p, 50, 100000);
    assert_true(pace_period(&p, 10, 8, 8) == 300);
    pace_init(&p, 500, 300); /* a min above the max is the max */
    assert_true(p.min == 300 && p.factor == 300);
}

/* The median round trip sets the factor: PACE_LATENCY_MS of floor time over the median's real
 * time,
 * from the fourth period in a row over it, at most -30 % and at most +25 % per period, within
 * min..max. */
static void test_latency(void **state)
{
    struct pace p;
    (void)state;
    pace_init(&p, 50, 600);
    assert_true(p.factor == 600);
    /* a median of PACE_LATENCY_MS / 200 real: 200x is the aim; three periods over it are a
     * burst, not a trend */
    for (int i = 0; i < PACE_SLOW_AFTER - 1; i++) {
        samples(&p, 10, MED_200X);
        pace_sample(&p, 900000); /* an outlier does not move the median */
        assert_true(pace_period(&p, 0, 0, 8) == 600);
        assert_int_equal(p.median_us, MED_200X);
    }
    /* the fourth in a row: down, at most 30 % a period */
    samples(&p, 10, MED_200X);
    assert_true(pace_period(&p, 0, 0, 8) == 420);
    samples(&p, 10, MED_200X);
    assert_true(pace_period(&p, 0, 0, 8) > 293.9 && p.factor < 294.1);
    samples(&p, 10, MED_200X);
    pace_period(&p, 0, 0, 8);
    samples(&p, 10, MED_200X);
    assert_true(pace_period(&p, 0, 0, 8) == 200);
    /* faster answers: back up, 25 % per period */
    samples(&p, 10, MED_200X / 5);
    assert_true(pace_period(&p, 0, 0, 8) == 250);
    /* fewer than three answers: no trend, speed up towards the max */
    pace_sample(&p, 500000);
    pace_sample(&p, 500000);
    assert_true(pace_period(&p, 0, 0, 8) > 312.4 && p.factor < 312.6);
    for (int i = 0; i < 40; i++)
        pace_period(&p, 0, 0, 8);
    assert_true(p.factor == 600);
    /* very slow answers: down to the min, not below */
    for (int i = 0; i < 20; i++) {
        samples(&p, 5, 200000);
        pace_period(&p, 0, 0, 8);
    }
    assert_true(p.factor == 50);
    assert_true(p.lowest == 50 && p.highest == 600);
    assert_true(p.slowed > 0);
}

/* The PLCs in trouble (a confirmation dropped since the last period, or half the emulators'
 * confirmation room in use) slow the clock to 70 % even when commands are answered fast. */
static void test_plc_trouble(void **state)
{
    struct pace p;
    (void)state;
    pace_init(&p, 10, 400);
    samples(&p, 10, 500);
    assert_true(pace_period(&p, 3, 0, 16) == 280); /* at once, not from the second period */
    assert_true(p.trouble);
    samples(&p, 10, 500);
    assert_true(pace_period(&p, 3, 0, 16) == 350); /* no new drop: up again */
    assert_false(p.trouble);
    double f = p.factor;
    assert_true(pace_period(&p, 3, 8, 16) < f * 0.71);
    f = p.factor;
    assert_true(pace_period(&p, 3, 7, 16) > f); /* under half: keeping up */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_plc_trouble),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
