/* Injectable clocks. Every component that needs time takes a `const struct wcs_clock *`, so the
 * simulator can run a shift faster than real time and tests are deterministic.
 * Three kinds: the system clock, a virtual clock advanced by hand, and a scaled clock that runs
 * a fixed factor faster than the system clock from a shared origin (two processes given the same
 * origin and factor agree on the time without talking to each other). */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct wcs_clock {
    uint64_t (*mono_us)(const struct wcs_clock *c); /* monotonic microseconds, never decreases */
    int64_t (*wall_ms)(const struct wcs_clock *c);  /* Unix epoch milliseconds */
    /* A clock whose factor over real time changes while it runs (clock_shared): the factor now.
     * NULL for every other clock. */
    double (*factor)(const struct wcs_clock *c);
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

/* A clock shared by processes through a file (a page mapped by each): one process (the
 * simulator) creates it and changes its factor while it runs, so a simulated shift goes as fast
 * as the machine keeps up; the others (wcs) map it read-only and read the same time. The time
 * is continuous: a new factor applies from the moment it is set. Reads are lock-free (a
 * sequence counter); one writer. The file holds the magic "WCSCLK1", the sequence, the real
 * (CLOCK_MONOTONIC) and clock anchors, the wall origin, the factor and the largest factor the
 * writer will set (docs/scenarios.md, "Time"). */
struct clock_shared_page;
struct clock_shared {
    struct wcs_clock base;
    struct clock_shared_page *page;
    int64_t wall_origin_ms; /* clock time 0 */
    double max_factor;
    bool writer;
    _Atomic uint64_t last_us; /* what this process last read: never less (mono_us) */
};

/* Creates (or replaces) path, mode 0644, and maps it: the clock reads wall_origin_ms now and
 * runs factor times faster than real time; max_factor >= factor is what readers take as the
 * fastest it will run. Returns 0 or -errno (-EINVAL for a factor outside 0.01..100000). */
int clock_shared_create(struct clock_shared *c, const char *path, int64_t wall_origin_ms,
                        double factor, double max_factor);
/* Maps an existing clock file read-only. Returns 0, -errno, or WCS_E_PROTOCOL when the file is
 * not a clock (size, magic, factors). */
int clock_shared_open(struct clock_shared *c, const char *path);
/* The writer sets a new factor (clamped to 0.01..max_factor), effective now. */
void clock_shared_set_factor(struct clock_shared *c, double factor);
double clock_shared_factor(const struct clock_shared *c);
void clock_shared_close(struct clock_shared *c);

/* CLOCK_MONOTONIC in microseconds, for code that measures real elapsed time (benchmarks). */
uint64_t clock_real_mono_us(void);

/* ts plus ms milliseconds (ms >= 0), tv_nsec kept below one second: the deadline of a
 * pthread_cond_timedwait from a clock_gettime reading. Pure. */
void clock_timespec_add_ms(struct timespec *ts, int ms);

#endif
