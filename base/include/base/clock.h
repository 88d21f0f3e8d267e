/* Injectable clocks. Every component that needs time takes a `const struct wcs_clock *`, so the
 * simulator can run a shift faster than real time and tests are deterministic.
 * Three kinds: the system clock, a virtual clock advanced by hand, and a scaled clock that runs
 * a fixed factor faster than the system clock from a shared origin (two processes given the same
 * origin and factor agree on the time without talking to each other). */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

struct wcs_clock {
    uint64_t (*mono_us)(const struct wcs_clock *c); /* monotonic microseconds, never decreases */
    int64_t (*wall_ms)(const struct wcs_clock *c);  /* Unix epoch milliseconds */
};

static inline uint64_t clock_mono_us(const struct wcs_clock *c)
{
    return c->mono_us(c);
}

static inline int64_t clock_wall_ms(const struct wcs_clock *c)
{
    return c->wall_ms(c);
}

/* The process's real clock (CLOCK_MONOTONIC and CLOCK_REALTIME). Static; never freed. */
const struct wcs_clock *clock_system(void);

/* A clock that moves only when told to. Safe to read from any thread while one thread advances. */
struct clock_virtual {
    struct wcs_clock base;
    _Atomic uint64_t now_us;
    int64_t wall_origin_ms; /* wall time when now_us == 0 */
};

void clock_virtual_init(struct clock_virtual *v, int64_t wall_origin_ms);
void clock_virtual_advance(struct clock_virtual *v, uint64_t us);
/* Moves to `us` if it is later than now; a time in the past is ignored (monotonic). */
void clock_virtual_set(struct clock_virtual *v, uint64_t us);

/* A clock that runs `factor` times faster than CLOCK_MONOTONIC, starting at wall_origin_ms at
 * the moment given by real_origin_us (a CLOCK_MONOTONIC reading, 0 means "now"). */
struct clock_scaled {
    struct wcs_clock base;
    uint64_t real_origin_us;
    int64_t wall_origin_ms;
    double factor;
};

void clock_scaled_init(struct clock_scaled *s, double factor, int64_t wall_origin_ms,
                       uint64_t real_origin_us);
/* Converts a duration on this clock into real microseconds to sleep (at least 1 when us > 0). */
uint64_t clock_scaled_real_us(const struct clock_scaled *s, uint64_t us);

/* CLOCK_MONOTONIC in microseconds, for code that measures real elapsed time (benchmarks). */
uint64_t clock_real_mono_us(void);

#endif
