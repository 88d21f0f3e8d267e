/* Unit tests for base/: error names, clocks, the bounded queue and the repeat limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/queue.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(wcs_strerror(0), "ok");
    assert_string_equal(wcs_strerror(WCS_E_CHECK), "check digit mismatch");
    assert_string_equal(wcs_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(wcs_strerror(WCS_E_LAST), "unknown error");
    assert_string_equal(wcs_strerror(5), "unknown error");
}

static void test_virtual_clock(void **state)
{
    struct clock_virtual v;
    const struct wcs_clock *c = &v.base;
    (void)state;
    clock_virtual_init(&v, 1700000000000);
    assert_int_equal(clock_mono_us(c), 0);
    clock_virtual_advance(&v, 2500);
    assert_int_equal(clock_mono_us(c), 2500);
    assert_int_equal(clock_wall_ms(c), 1700000000002);
    clock_virtual_set(&v, 1000); /* the past is ignored */
    assert_int_equal(clock_mono_us(c), 2500);
    clock_virtual_set(&v, 10000000);
    assert_int_equal(clock_wall_ms(c), 1700000010000);
}

static void test_scaled_clock(void **state)
{
    struct clock_scaled s;
    uint64_t real0 = clock_real_mono_us();
    (void)state;
    /* Origin one real second ago at 60x: one virtual minute has passed. */
    clock_scaled_init(&s, 60.0, 0, real0 - 1000000);
    uint64_t now = clock_mono_us(&s.base);
    assert_true(now >= 60000000u);
    assert_true(now < 70000000u);
    assert_int_equal(clock_scaled_real_us(&s, 60000000u), 1000000u);
    assert_int_equal(clock_scaled_real_us(&s, 1), 1);
    assert_int_equal(clock_scaled_real_us(&s, 0), 0);
}

static void test_system_clock_monotonic(void **state)
{
    const struct wcs_clock *c = clock_system();
    uint64_t a = clock_mono_us(c), b = clock_mono_us(c);
    (void)state;
    assert_true(b >= a);
    assert_true(clock_wall_ms(c) > 1600000000000); /* after 2020 */
}

static void test_queue_order_and_full(void **state)
{
    struct bqueue *q;
    int v;
    (void)state;
    assert_int_equal(bq_new(&q, sizeof(int), 0, 0), -EINVAL);
    assert_int_equal(bq_new(&q, sizeof(int), 3, BQ_EVENTFD), 0);
    assert_int_equal(bq_pop(q, &v), -EAGAIN);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(bq_push(q, &i), 0);
    v = 4;
    assert_int_equal(bq_push(q, &v), WCS_E_FULL);
    assert_int_equal(bq_dropped(q), 1);
    assert_int_equal(bq_len(q), 3);
    struct pollfd pfd = {.fd = bq_fd(q), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 1);
    bq_drain_fd(q);
    assert_int_equal(poll(&pfd, 1, 0), 0);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(bq_pop(q, &v), 0);
        assert_int_equal(v, i);
    }
    /* Wrap-around keeps FIFO order. */
    for (int i = 10; i < 20; i++) {
        assert_int_equal(bq_push(q, &i), 0);
        assert_int_equal(bq_pop(q, &v), 0);
        assert_int_equal(v, i);
    }
    bq_free(q);
    bq_free(NULL);
}

struct producer {
    struct bqueue *q;
    int base, n, refused;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < p->n; i++) {
        int v = p->base + i;
        while (bq_push(p->q, &v) != 0)
            p->refused++;
    }
    return NULL;
}

static void test_queue_threads(void **state)
{
    struct bqueue *q;
    struct producer p[2];
    pthread_t t[2];
    int last[2] = {-1, -1}, got = 0, v;
    (void)state;
    assert_int_equal(bq_new(&q, sizeof(int), 64, 0), 0);
    for (int i = 0; i < 2; i++) {
        p[i] = (struct producer){.q = q, .base = i * 1000000, .n = 20000};
        pthread_create(&t[i], NULL, produce, &p[i]);
    }
    while (got < 40000) {
        if (bq_pop(q, &v) != 0)
            continue;
        int who = v / 1000000;
        assert_true(v > last[who]); /* per-producer order is preserved */
        last[who] = v;
        got++;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(bq_dropped(q), (uint64_t)(p[0].refused + p[1].refused));
    bq_free(q);
}

static void test_log_repeat(void **state)
{
    struct log_repeat r = {0};
    uint64_t sup = 99;
    (void)state;
    assert_true(log_repeat_hit(&r, 1000, 1000000, &sup));
    assert_int_equal(sup, 0);
    assert_false(log_repeat_hit(&r, 2000, 1000000, &sup));
    assert_false(log_repeat_hit(&r, 3000, 1000000, &sup));
    assert_true(log_repeat_hit(&r, 1001000, 1000000, &sup));
    assert_int_equal(sup, 2);
}

static void test_log_level_parse(void **state)
{
    enum log_level l;
    (void)state;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOGL_DEBUG);
    assert_int_equal(log_level_parse("loud", &l), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_virtual_clock),
        cmocka_unit_test(test_scaled_clock),
        cmocka_unit_test(test_system_clock_monotonic),
        cmocka_unit_test(test_queue_order_and_full),
        cmocka_unit_test(test_queue_threads),
        cmocka_unit_test(test_log_repeat),
        cmocka_unit_test(test_log_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
