/* Unit tests for base/: error names, clocks, the bounded queue and the repeat limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/hash.h"
#include "base/err.h"
#include "base/log.h"
#include "base/queue.h"
#include "base/sock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <math.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* A clock file: the writer's and a reader's time agree (in this process and in a forked one that
 * maps the file itself), a new factor applies from its moment on without a jump and never
 * above the largest, the time never goes back across changes, and a file that is not a clock
 * is refused. */
static void test_shared_clock(void **state)
{
    char dir[] = "/tmp/wcs-clock-XXXXXX", path[64], bad[64];
    struct clock_shared w, r;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/clock", dir);
    snprintf(bad, sizeof(bad), "%s/bad", dir);
    assert_int_equal(clock_shared_create(&w, path, 1700000000000, 100.0, 50.0), -EINVAL);
    assert_int_equal(clock_shared_create(&w, path, 1700000000000, 0.0, 50.0), -EINVAL);
    assert_int_equal(clock_shared_create(&w, path, 1700000000000, 100.0, 400.0), 0);
    assert_int_equal(clock_shared_open(&r, path), 0);
    assert_true(r.max_factor == 400.0);
    assert_non_null(r.base.factor);
    assert_true(r.base.factor(&r.base) == 100.0);
    /* 20 ms of real time at 100x: about 2 s of clock time, the same for both */
    usleep(20000);
    uint64_t a = clock_mono_us(&w.base), b = clock_mono_us(&r.base);
    assert_true(a >= 2000000u && a < 20000000u);
    assert_true(b >= a && b - a < 200000u);
    assert_true(clock_wall_ms(&r.base) >= 1700000000000 + 2000);
    /* a forked reader maps the file on its own and reads the same time */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    /* before is read ahead of the fork: the child may read its clock before the parent runs */
    uint64_t before = clock_mono_us(&r.base), child = 0;
    pid_t pid = fork();
    if (pid == 0) {
        struct clock_shared c;
        uint64_t t = 0;
        if (clock_shared_open(&c, path) == 0)
            t = clock_mono_us(&c.base);
        (void)!write(fds[1], &t, sizeof(t));
        _exit(0);
    }
    assert_int_equal(read(fds[0], &child, sizeof(child)), (ssize_t)sizeof(child));
    uint64_t after = clock_mono_us(&r.base);
    assert_true(child >= before && child <= after);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    close(fds[1]);
    /* a new factor: continuous, then faster; clamped to the largest; never back */
    uint64_t t0 = clock_mono_us(&r.base);
    clock_shared_set_factor(&w, 300.0);
    uint64_t t1 = clock_mono_us(&r.base);
    assert_true(t1 >= t0 && t1 - t0 < 1000000u);
    assert_true(r.base.factor(&r.base) == 300.0);
    usleep(10000);
    assert_true(clock_mono_us(&r.base) - t1 >= 3000000u); /* 10 ms at 300x */
    clock_shared_set_factor(&w, 5000.0);
    assert_true(clock_shared_factor(&r) == 400.0);
    clock_shared_set_factor(&w, 0.001);
    assert_true(clock_shared_factor(&r) == 0.01);
    uint64_t last = clock_mono_us(&r.base);
    for (int i = 0; i < 2000; i++) {
        if (i % 100 == 0)
            clock_shared_set_factor(&w, i % 200 ? 1.0 : 400.0);
        uint64_t t = clock_mono_us(&r.base);
        assert_true(t >= last);
        last = t;
    }
    /* the reader cannot set it */
    clock_shared_set_factor(&r, 2.0);
    assert_true(clock_shared_factor(&w) != 2.0);
    /* a writer that died mid-update (its sequence left odd, the 8 bytes after the magic) does
     * not hang its readers */
    {
        int wfd = open(path, O_WRONLY);
        uint64_t odd = 12345;
        assert_true(wfd >= 0);
        assert_int_equal(pwrite(wfd, &odd, sizeof(odd), 8), (ssize_t)sizeof(odd));
        close(wfd);
        uint64_t t = clock_mono_us(&r.base);
        assert_true(t >= last);
        /* a factor that is no number (at offset 40: magic, seq, two anchors, wall origin) reads
         * as the slowest, not as a jump */
        double nan = NAN;
        wfd = open(path, O_WRONLY);
        assert_true(wfd >= 0);
        assert_int_equal(pwrite(wfd, &nan, sizeof(nan), 40), (ssize_t)sizeof(nan));
        close(wfd);
        assert_true(clock_shared_factor(&r) == 0.01);
        assert_true(clock_mono_us(&r.base) >= t);
    }
    clock_shared_close(&r);
    clock_shared_close(&w);
    /* not a clock: wrong size, wrong magic, missing */
    int fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "WCSCLK1", 8), 8);
    close(fd);
    assert_int_equal(clock_shared_open(&r, bad), WCS_E_PROTOCOL);
    fd = open(bad, O_WRONLY | O_TRUNC);
    char zeros[256] = {0};
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(write(fd, zeros, (size_t)st.st_size), st.st_size);
    close(fd);
    assert_int_equal(clock_shared_open(&r, bad), WCS_E_PROTOCOL);
    unlink(bad);
    assert_int_equal(clock_shared_open(&r, bad), -ENOENT);
    unlink(path);
    rmdir(dir);
}

static void test_uri_port(void **state)
{
    (void)state;
    assert_int_equal(sock_uri_port("tcp://127.0.0.1:1883"), 1883);
    assert_int_equal(sock_uri_port("mqtt://broker.example:8883/"), 8883);
    assert_int_equal(sock_uri_port("127.0.0.1:41833"), 41833);
    assert_int_equal(sock_uri_port("tcp://[::1]:1884"), 1884);
    assert_int_equal(sock_uri_port("tcp://[::1]"), 0);
    assert_int_equal(sock_uri_port("tcp://host"), 0);
    assert_int_equal(sock_uri_port("tcp://host:"), 0);
    assert_int_equal(sock_uri_port("tcp://host:65536"), 0);
    assert_int_equal(sock_uri_port("tcp://host:12a"), 0);
    assert_int_equal(sock_uri_port(""), 0);
    assert_int_equal(sock_uri_port(NULL), 0);
}

/* A connected TCP socket of this process gets TCP_NODELAY when its peer's port is named; one to
 * another port and a listening socket do not. */
static void test_nodelay_peers(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0), l2 = socket(AF_INET, SOCK_STREAM, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0), c2 = socket(AF_INET, SOCK_STREAM, 0);
    int v = -1;
    socklen_t vn = sizeof(v);
    uint16_t port, port2;
    (void)state;
    assert_true(l >= 0 && l2 >= 0 && c >= 0 && c2 >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &n), 0);
    port = ntohs(a.sin_port);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sin_port = 0;
    assert_int_equal(bind(l2, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l2, 4), 0);
    n = sizeof(a);
    assert_int_equal(getsockname(l2, (struct sockaddr *)&a, &n), 0);
    port2 = ntohs(a.sin_port);
    assert_int_equal(connect(c2, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(sock_nodelay_peers(port), 1);
    assert_int_equal(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vn), 0);
    assert_int_equal(v, 1);
    assert_int_equal(getsockopt(c2, IPPROTO_TCP, TCP_NODELAY, &v, &vn), 0);
    assert_int_equal(v, 0);
    (void)port2;
    close(c);
    close(c2);
    close(l);
    close(l2);
}

/* A deadline ms from a reading: whole seconds carried, the nanoseconds kept below a second. */
static void test_timespec_add_ms(void **state)
{
    static const struct {
        struct timespec from;
        int ms;
        struct timespec to;
    } v[] = {
        {{10, 999000000L}, 1, {11, 0}},
        {{10, 500000000L}, 2750, {13, 250000000L}},
        {{10, 123}, 0, {10, 123}},
        {{0, 600000000L}, 400, {1, 0}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct timespec t = v[i].from;
        clock_timespec_add_ms(&t, v[i].ms);
        assert_int_equal(t.tv_sec, v[i].to.tv_sec);
        assert_int_equal(t.tv_nsec, v[i].to.tv_nsec);
    }
}

/* hash_str and hash_mem are FNV-1a 64 (the published offset basis and prime): its reference
 * vectors. */
static void test_hash_str(void **state)
{
    (void)state;
    assert_true(hash_str("") == 0xcbf29ce484222325ull);
    assert_true(hash_str("a") == 0xaf63dc4c8601ec8cull);
    assert_true(hash_str("foobar") == 0x85944171f73967e8ull);
    /* hash_mem: the same over n bytes, a NUL among them hashed as any byte */
    assert_true(hash_mem("", 0) == 0xcbf29ce484222325ull);
    assert_true(hash_mem("foobar!", 6) == 0x85944171f73967e8ull);
    assert_true(hash_mem("a\0", 2) != hash_str("a"));
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
        cmocka_unit_test(test_timespec_add_ms),
        cmocka_unit_test(test_hash_str),
        cmocka_unit_test(test_queue_order_and_full),
        cmocka_unit_test(test_queue_threads),
        cmocka_unit_test(test_shared_clock),
        cmocka_unit_test(test_uri_port),
        cmocka_unit_test(test_nodelay_peers),
        cmocka_unit_test(test_log_repeat),
        cmocka_unit_test(test_log_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
