/* Unit tests for the event loop: timer order, cancellation, virtual and scaled time, fd
 * dispatch, removal inside callbacks, and fairness of self-rearming timers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct rec {
    int order[16];
    int n;
};

static void note(struct loop *l, uint64_t id, void *arg)
{
    struct rec *r = arg;
    (void)l;
    (void)id;
    r->order[r->n++] = (int)(id & 0xffff); /* slot; only used for counting here */
}

struct tagged {
    struct rec *r;
    int tag;
};

static void note_tag(struct loop *l, uint64_t id, void *arg)
{
    struct tagged *t = arg;
    (void)l;
    (void)id;
    t->r->order[t->r->n++] = t->tag;
}

static void test_timer_order_virtual(void **state)
{
    struct clock_virtual vc;
    struct loop *l;
    struct rec r = {0};
    struct tagged t[4];
    (void)state;
    clock_virtual_init(&vc, 0);
    assert_int_equal(loop_new(&l, &vc.base), 0);
    for (int i = 0; i < 4; i++)
        t[i] = (struct tagged){&r, i};
    loop_add_timer(l, 300, note_tag, &t[0], NULL);
    loop_add_timer(l, 100, note_tag, &t[1], NULL);
    loop_add_timer(l, 200, note_tag, &t[2], NULL);
    loop_add_timer(l, 100, note_tag, &t[3], NULL); /* same deadline as t[1]: fires after it */
    assert_int_equal(loop_run_once(l, 0), 0);
    clock_virtual_advance(&vc, 150);
    assert_int_equal(loop_run_once(l, 0), 2);
    assert_int_equal(r.order[0], 1);
    assert_int_equal(r.order[1], 3);
    clock_virtual_advance(&vc, 1000);
    assert_int_equal(loop_run_once(l, 0), 2);
    assert_int_equal(r.order[2], 2);
    assert_int_equal(r.order[3], 0);
    assert_int_equal(loop_timer_count(l), 0);
    loop_free(l);
}

static void test_timer_cancel(void **state)
{
    struct clock_virtual vc;
    struct loop *l;
    struct rec r = {0};
    uint64_t a, b, c;
    (void)state;
    clock_virtual_init(&vc, 0);
    assert_int_equal(loop_new(&l, &vc.base), 0);
    loop_add_timer(l, 10, note, &r, &a);
    loop_add_timer(l, 20, note, &r, &b);
    loop_add_timer(l, 30, note, &r, &c);
    assert_int_equal(loop_cancel_timer(l, b), 0);
    assert_int_equal(loop_cancel_timer(l, b), -ENOENT);
    clock_virtual_advance(&vc, 100);
    assert_int_equal(loop_run_once(l, 0), 2);
    assert_int_equal(loop_cancel_timer(l, a), -ENOENT); /* already fired */
    /* A reused slot gets a new generation: the stale id must not cancel the new timer. */
    uint64_t d;
    loop_add_timer(l, 10, note, &r, &d);
    assert_int_not_equal(d, a);
    assert_int_equal(loop_cancel_timer(l, a), -ENOENT);
    assert_int_equal(loop_timer_count(l), 1);
    loop_free(l);
}

static void rearm(struct loop *l, uint64_t id, void *arg)
{
    int *count = arg;
    (void)id;
    (*count)++;
    loop_add_timer(l, 0, rearm, arg, NULL);
}

static void on_pipe(struct loop *l, int fd, unsigned events, void *arg)
{
    int *hits = arg;
    char c;
    (void)l;
    assert_true(events & LOOP_READ);
    assert_int_equal(read(fd, &c, 1), 1);
    (*hits)++;
}

static void test_fd_and_fairness(void **state)
{
    struct loop *l;
    int p[2], hits = 0, rearms = 0;
    (void)state;
    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, on_pipe, &hits), 0);
    assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, on_pipe, &hits), -EEXIST);
    loop_add_timer(l, 0, rearm, &rearms, NULL);
    assert_int_equal(write(p[1], "x", 1), 1);
    /* The self-rearming 0-delay timer fires once per round; the fd still gets served. */
    for (int i = 0; i < 5 && hits == 0; i++)
        loop_run_once(l, 0);
    assert_int_equal(hits, 1);
    assert_true(rearms >= 1 && rearms <= 10);
    assert_int_equal(loop_del_fd(l, p[0]), 0);
    assert_int_equal(loop_del_fd(l, p[0]), -ENOENT);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

struct pair {
    int fds[2][2];
    int calls;
};

static void del_other(struct loop *l, int fd, unsigned events, void *arg)
{
    struct pair *p = arg;
    (void)events;
    p->calls++;
    /* Whichever fires first removes both; the other must not be dispatched this round. */
    loop_del_fd(l, p->fds[0][0]);
    loop_del_fd(l, p->fds[1][0]);
    (void)fd;
}

static void test_del_inside_callback(void **state)
{
    struct loop *l;
    struct pair p = {0};
    (void)state;
    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(pipe(p.fds[0]), 0);
    assert_int_equal(pipe(p.fds[1]), 0);
    loop_add_fd(l, p.fds[0][0], LOOP_READ, del_other, &p);
    loop_add_fd(l, p.fds[1][0], LOOP_READ, del_other, &p);
    assert_int_equal(write(p.fds[0][1], "a", 1), 1);
    assert_int_equal(write(p.fds[1][1], "b", 1), 1);
    assert_int_equal(loop_run_once(l, 100), 1);
    assert_int_equal(p.calls, 1);
    for (int i = 0; i < 2; i++) {
        close(p.fds[i][0]);
        close(p.fds[i][1]);
    }
    loop_free(l);
}

static void stop_cb(struct loop *l, uint64_t id, void *arg)
{
    (void)id;
    (void)arg;
    loop_stop(l);
}

static void test_scaled_wait(void **state)
{
    struct clock_scaled sc;
    struct loop *l;
    uint64_t t0;
    (void)state;
    clock_scaled_init(&sc, 100.0, 0, 0);
    assert_int_equal(loop_new(&l, &sc.base), 0);
    loop_set_speed(l, 100.0);
    /* Two virtual seconds at 100x: about 20 ms real, well under the 2 s it would take unscaled. */
    loop_add_timer(l, 2000000, stop_cb, NULL, NULL);
    t0 = clock_real_mono_us();
    assert_int_equal(loop_run(l), 0);
    uint64_t real = clock_real_mono_us() - t0;
    assert_true(real >= 15000);
    assert_true(real < 1000000);
    assert_true(clock_mono_us(&sc.base) >= 2000000);
    loop_free(l);
}

struct shared_fire {
    struct clock_shared *clk;
    uint64_t at_clock_us;
};

static void shared_cb(struct loop *l, uint64_t id, void *arg)
{
    struct shared_fire *f = arg;
    (void)id;
    f->at_clock_us = clock_mono_us(&f->clk->base);
    loop_stop(l);
}

/* Another process's writer, as the simulator is: sets the factor while the loop sleeps. */
static void *speed_up(void *arg)
{
    usleep(5000);
    clock_shared_set_factor(arg, 1000.0);
    return NULL;
}

/* On a clock whose factor changes (clock_shared) a timer fires when the clock reaches its
 * deadline, never before: slowed down after it was armed, the loop wakes early, finds it not
 * due and waits again; sped up, it waits at most 10 ms of real time before it looks again. */
static void test_changing_factor(void **state)
{
    char dir[] = "/tmp/wcs-loopclk-XXXXXX", path[64];
    struct clock_shared w;
    struct shared_fire f;
    struct loop *l;
    uint64_t t0, real;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/clock", dir);
    assert_int_equal(clock_shared_create(&w, path, 0, 100.0, 1000.0), 0);
    f.clk = &w;
    assert_int_equal(loop_new(&l, &w.base), 0);
    assert_true(loop_speed(l) == 100.0);
    /* 2 s of clock: 20 ms of real time at 100x, armed so; then the clock slows to 10x */
    uint64_t dl = clock_mono_us(&w.base) + 2000000;
    loop_add_timer(l, 2000000, shared_cb, &f, NULL);
    assert_int_equal(loop_run_once(l, 0), 0);
    clock_shared_set_factor(&w, 10.0);
    t0 = clock_real_mono_us();
    assert_int_equal(loop_run(l), 0);
    real = clock_real_mono_us() - t0;
    assert_true(f.at_clock_us >= dl);
    assert_true(real >= 100000); /* most of 2 s at 10x */
    /* 60 s of clock at 10x is 6 s of real time; sped up to 1000x from outside after 5 ms of
     * real time, it fires some 65 ms later (plus at most the 10 ms wait) */
    pthread_t th;
    dl = clock_mono_us(&w.base) + 60000000;
    loop_add_timer(l, 60000000, shared_cb, &f, NULL);
    t0 = clock_real_mono_us();
    assert_int_equal(pthread_create(&th, NULL, speed_up, &w), 0);
    assert_int_equal(loop_run(l), 0);
    pthread_join(th, NULL);
    real = clock_real_mono_us() - t0;
    assert_true(f.at_clock_us >= dl);
    assert_true(real < 1000000);
    loop_free(l);
    clock_shared_close(&w);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_order_virtual), cmocka_unit_test(test_timer_cancel),
        cmocka_unit_test(test_fd_and_fairness),     cmocka_unit_test(test_del_inside_callback),
        cmocka_unit_test(test_scaled_wait),         cmocka_unit_test(test_changing_factor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
