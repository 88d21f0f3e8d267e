/* The single-threaded event loop that owns all mutable state (DESIGN.md §3): file descriptors
 * on epoll, timers on the injected clock (one timerfd armed at the earliest deadline), and
 * nothing else. Worker threads never call into it; they push to a bounded queue (base/queue.h)
 * whose eventfd the loop watches.
 * Time: deadlines are on the loop's clock. With a scaled clock give the factor to
 * loop_set_speed() so real waits shrink accordingly; a clock whose factor changes as it runs
 * (clock_shared) gives its own, and the loop then sleeps at most 10 ms of real time before it
 * looks at the clock again; with a virtual clock the caller advances time and calls
 * loop_run_once(l, 0). */
#ifndef BASE_LOOP_H
#define BASE_LOOP_H

#include "base/clock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

enum { LOOP_READ = 1, LOOP_WRITE = 2 };

/* `events` is LOOP_READ/LOOP_WRITE, plus LOOP_ERROR when the fd reported an error or hang-up. */
enum { LOOP_ERROR = 4 };
typedef void (*loop_fd_cb)(struct loop *l, int fd, unsigned events, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, uint64_t timer_id, void *arg);

/* Creates a loop on `clock` (borrowed; must outlive the loop). Returns 0, -ENOMEM or a negative
 * errno from epoll_create1/timerfd_create. */
int loop_new(struct loop **out, const struct wcs_clock *clock);
/* NULL-safe. Closes the loop's own fds; registered fds stay open (their owners close them). */
void loop_free(struct loop *l);

const struct wcs_clock *loop_clock(const struct loop *l);
/* Loop time in microseconds (the clock's monotonic reading). */
uint64_t loop_now_us(const struct loop *l);
/* Clock units per real unit (1.0 for the system clock). Values <= 0 are ignored. */
void loop_set_speed(struct loop *l, double factor);
/* The clock's factor now when it has one (clock_shared), else that of loop_set_speed (1.0
 * unless set). */
double loop_speed(const struct loop *l);

/* Watches fd for `events`; cb runs on the loop with the events that fired. One registration per
 * fd: -EEXIST if already watched. The fd stays owned by the caller; loop_del_fd before closing. */
int loop_add_fd(struct loop *l, int fd, unsigned events, loop_fd_cb cb, void *arg);
int loop_mod_fd(struct loop *l, int fd, unsigned events);
/* Stops watching; safe inside any callback, including the fd's own (no later event for it). */
int loop_del_fd(struct loop *l, int fd);

/* One-shot timer firing at now + delay_us (loop clock). *id_out (may be NULL) names it for
 * loop_cancel_timer. Timers with equal deadlines fire in the order they were added. */
int loop_add_timer(struct loop *l, uint64_t delay_us, loop_timer_cb cb, void *arg,
                   uint64_t *id_out);
/* Cancels a pending timer. Returns 0, or -ENOENT if it already fired or was cancelled. */
int loop_cancel_timer(struct loop *l, uint64_t id);
size_t loop_timer_count(const struct loop *l);

/* Dispatches due timers and ready fds once, waiting at most max_wait_ms real milliseconds
 * (-1: until the next timer or fd event; 0: don't wait). Returns the number of callbacks run,
 * or a negative errno. */
int loop_run_once(struct loop *l, int max_wait_ms);
/* Runs until loop_stop(). Returns 0, or a negative errno if waiting failed. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
bool loop_is_stopping(const struct loop *l);

#endif
