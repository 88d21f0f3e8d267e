/* System, virtual and scaled clocks (base/clock.h). */
#include "base/clock.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t clock_real_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void clock_timespec_add_ms(struct timespec *ts, int ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static uint64_t sys_mono_us(const struct wcs_clock *c)
{
    (void)c;
    return clock_real_mono_us();
}

static int64_t sys_wall_ms(const struct wcs_clock *c)
{
    struct timespec ts;
    (void)c;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct wcs_clock system_clock = {.mono_us = sys_mono_us, .wall_ms = sys_wall_ms};

const struct wcs_clock *clock_system(void)
{
    return &system_clock;
}

static uint64_t virt_mono_us(const struct wcs_clock *c)
{
    const struct clock_virtual *v = (const struct clock_virtual *)c;
    return atomic_load(&v->now_us);
}

static int64_t virt_wall_ms(const struct wcs_clock *c)
{
    const struct clock_virtual *v = (const struct clock_virtual *)c;
    return v->wall_origin_ms + (int64_t)(atomic_load(&v->now_us) / 1000u);
}

void clock_virtual_init(struct clock_virtual *v, int64_t wall_origin_ms)
{
    v->base.mono_us = virt_mono_us;
    v->base.wall_ms = virt_wall_ms;
    v->base.factor = NULL;
    atomic_init(&v->now_us, 0);
    v->wall_origin_ms = wall_origin_ms;
}

void clock_virtual_advance(struct clock_virtual *v, uint64_t us)
{
    atomic_fetch_add(&v->now_us, us);
}

void clock_virtual_set(struct clock_virtual *v, uint64_t us)
{
    uint64_t cur = atomic_load(&v->now_us);
    while (us > cur && !atomic_compare_exchange_weak(&v->now_us, &cur, us))
        ;
}

static uint64_t scaled_mono_us(const struct wcs_clock *c)
{
    const struct clock_scaled *s = (const struct clock_scaled *)c;
    uint64_t real = clock_real_mono_us();
    if (real <= s->real_origin_us)
        return 0;
    return (uint64_t)((double)(real - s->real_origin_us) * s->factor);
}

static int64_t scaled_wall_ms(const struct wcs_clock *c)
{
    const struct clock_scaled *s = (const struct clock_scaled *)c;
    return s->wall_origin_ms + (int64_t)(scaled_mono_us(c) / 1000u);
}

void clock_scaled_init(struct clock_scaled *s, double factor, int64_t wall_origin_ms,
                       uint64_t real_origin_us)
{
    s->base.mono_us = scaled_mono_us;
    s->base.wall_ms = scaled_wall_ms;
    s->base.factor = NULL;
    s->factor = factor > 0 ? factor : 1.0;
    s->wall_origin_ms = wall_origin_ms;
    s->real_origin_us = real_origin_us ? real_origin_us : clock_real_mono_us();
}

uint64_t clock_scaled_real_us(const struct clock_scaled *s, uint64_t us)
{
    uint64_t r;
    if (us == 0)
        return 0;
    r = (uint64_t)((double)us / s->factor);
    return r ? r : 1;
}

/* ---- the shared clock ---- */

#define SHARED_MAGIC "WCSCLK1"

/* The mapped file. Doubles travel as their bit patterns so that every field is a lock-free
 * atomic; seq is odd while the writer changes the anchors (a seqlock). */
struct clock_shared_page {
    char magic[8];
    _Atomic uint64_t seq;
    _Atomic uint64_t real_anchor_us; /* CLOCK_MONOTONIC at the last factor change */
    _Atomic uint64_t mono_anchor_us; /* the clock's time then */
    _Atomic uint64_t wall_origin_ms; /* int64 bits: wall time at clock time 0 */
    _Atomic uint64_t factor_bits;
    _Atomic uint64_t max_factor_bits;
};

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

/* Retries of a read that met the writer mid-update; a writer that died there (the simulator
 * killed between its two stores) must not hang its readers: after this many the values read
 * are taken as they are. */
#define SHARED_READ_TRIES 100000

/* A consistent copy of the anchors and the factor. */
static void shared_read(const struct clock_shared_page *p, uint64_t *real, uint64_t *mono,
                        double *factor)
{
    for (int tries = 0;; tries++) {
        bool last = tries >= SHARED_READ_TRIES;
        uint64_t s1 = atomic_load_explicit(&p->seq, memory_order_acquire);
        if ((s1 & 1u) && !last)
            continue;
        *real = atomic_load_explicit(&p->real_anchor_us, memory_order_relaxed);
        *mono = atomic_load_explicit(&p->mono_anchor_us, memory_order_relaxed);
        *factor = bitsd(atomic_load_explicit(&p->factor_bits, memory_order_relaxed));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&p->seq, memory_order_relaxed) == s1 || last)
            break;
    }
    /* The file was checked when it was mapped; a factor written since that is no number in
     * range (another process scribbling on it) would make the time jump: the slowest. */
    if (!(*factor >= 0.01 && *factor <= 100000))
        *factor = 0.01;
}

static uint64_t shared_at(const struct clock_shared_page *p, uint64_t real_now)
{
    uint64_t real, mono;
    double f;
    shared_read(p, &real, &mono, &f);
    return real_now <= real ? mono : mono + (uint64_t)((double)(real_now - real) * f);
}

static uint64_t shared_mono_us(const struct wcs_clock *c)
{
    struct clock_shared *s = (struct clock_shared *)c;
    uint64_t t = shared_at(s->page, clock_real_mono_us());
    /* A reader that sampled the old factor just after the writer's anchor can be a few
     * microseconds ahead of the new line: never go back. */
    uint64_t last = atomic_load(&s->last_us);
    while (t > last && !atomic_compare_exchange_weak(&s->last_us, &last, t))
        ;
    return t > last ? t : last;
}

static int64_t shared_wall_ms(const struct wcs_clock *c)
{
    const struct clock_shared *s = (const struct clock_shared *)c;
    return s->wall_origin_ms + (int64_t)(shared_mono_us(c) / 1000u);
}

static double shared_factor(const struct wcs_clock *c)
{
    return clock_shared_factor((const struct clock_shared *)c);
}

static void shared_init(struct clock_shared *c, struct clock_shared_page *p, bool writer)
{
    memset(c, 0, sizeof(*c));
    c->base.mono_us = shared_mono_us;
    c->base.wall_ms = shared_wall_ms;
    c->base.factor = shared_factor;
    c->page = p;
    c->writer = writer;
    c->wall_origin_ms = (int64_t)atomic_load(&p->wall_origin_ms);
    c->max_factor = bitsd(atomic_load(&p->max_factor_bits));
    atomic_init(&c->last_us, 0);
}

static bool factor_ok(double f)
{
    return isfinite(f) && f >= 0.01 && f <= 100000;
}

int clock_shared_create(struct clock_shared *c, const char *path, int64_t wall_origin_ms,
                        double factor, double max_factor)
{
    struct clock_shared_page *p;
    int fd, rc = 0;
    if (!c || !path || !factor_ok(factor) || !factor_ok(max_factor) || factor > max_factor)
        return -EINVAL;
    (void)unlink(path); /* a reader of an old run keeps its own mapping */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)sizeof(*p)) != 0)
        rc = -errno;
    p = rc ? MAP_FAILED : mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (!rc && p == MAP_FAILED)
        rc = -errno;
    close(fd);
    if (rc) {
        (void)unlink(path);
        return rc;
    }
    atomic_store(&p->seq, 0);
    atomic_store(&p->real_anchor_us, clock_real_mono_us());
    atomic_store(&p->mono_anchor_us, 0);
    atomic_store(&p->wall_origin_ms, (uint64_t)wall_origin_ms);
    atomic_store(&p->factor_bits, dbits(factor));
    atomic_store(&p->max_factor_bits, dbits(max_factor));
    atomic_thread_fence(memory_order_release);
    memcpy(p->magic, SHARED_MAGIC, sizeof(p->magic)); /* last: a reader checks it */
    shared_init(c, p, true);
    return 0;
}

int clock_shared_open(struct clock_shared *c, const char *path)
{
    struct clock_shared_page *p;
    struct stat st;
    int fd, rc = 0;
    if (!c || !path)
        return -EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof(*p))
        rc = WCS_E_PROTOCOL;
    p = rc ? MAP_FAILED : mmap(NULL, sizeof(*p), PROT_READ, MAP_SHARED, fd, 0);
    if (!rc && p == MAP_FAILED)
        rc = -errno;
    close(fd);
    if (rc)
        return rc;
    if (memcmp(p->magic, SHARED_MAGIC, sizeof(p->magic)) != 0 ||
        !factor_ok(bitsd(atomic_load(&p->factor_bits))) ||
        !factor_ok(bitsd(atomic_load(&p->max_factor_bits)))) {
        munmap(p, sizeof(*p));
        return WCS_E_PROTOCOL;
    }
    shared_init(c, p, false);
    return 0;
}

void clock_shared_set_factor(struct clock_shared *c, double factor)
{
    struct clock_shared_page *p;
    uint64_t real, mono, now, seq;
    double old;
    if (!c || !c->page || !c->writer || !isfinite(factor))
        return;
    p = c->page;
    factor = factor < 0.01 ? 0.01 : factor > c->max_factor ? c->max_factor : factor;
    shared_read(p, &real, &mono, &old);
    if (factor == old)
        return;
    now = clock_real_mono_us();
    mono = now <= real ? mono : mono + (uint64_t)((double)(now - real) * old);
    seq = atomic_load_explicit(&p->seq, memory_order_relaxed);
    atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&p->real_anchor_us, now, memory_order_relaxed);
    atomic_store_explicit(&p->mono_anchor_us, mono, memory_order_relaxed);
    atomic_store_explicit(&p->factor_bits, dbits(factor), memory_order_relaxed);
    atomic_store_explicit(&p->seq, seq + 2, memory_order_release);
}

double clock_shared_factor(const struct clock_shared *c)
{
    uint64_t real, mono;
    double f;
    if (!c || !c->page)
        return 1.0;
    shared_read(c->page, &real, &mono, &f);
    return f;
}

void clock_shared_close(struct clock_shared *c)
{
    if (c && c->page) {
        munmap(c->page, sizeof(*c->page));
        c->page = NULL;
    }
}
