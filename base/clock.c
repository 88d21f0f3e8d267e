/* System, virtual and scaled clocks (base/clock.h). */
#include "base/clock.h"

#include <time.h>

uint64_t clock_real_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
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
