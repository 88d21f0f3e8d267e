/* epoll + timerfd event loop (base/loop.h). Timers live in a slab with a binary min-heap of
 * (deadline, insertion order); ids carry a generation so a stale id never cancels a new timer. */
#include "base/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct timer {
    uint64_t deadline_us;
    uint64_t order;
    loop_timer_cb cb;
    void *arg;
    uint32_t gen;
    int32_t heap_pos; /* -1 when free */
    uint32_t next_free;
};

struct watch {
    loop_fd_cb cb;
    void *arg;
    unsigned events;
    uint32_t gen;
    bool used;
};

struct loop {
    const struct wcs_clock *clock;
    double speed;
    int epfd, tfd;
    bool tfd_armed; /* the timerfd is set for tfd_deadline_us and has not been read */
    uint64_t tfd_deadline_us;
    bool stopping;

    struct watch *watches;
    size_t nwatches;
    uint32_t watch_gen;

    struct timer *timers;
    uint32_t *heap;
    size_t ntimers, cap_timers, heap_len;
    uint32_t free_head; /* UINT32_MAX: none */
    uint64_t next_order;
};

#define NO_FREE              UINT32_MAX
#define CHANGING_MAX_WAIT_US 10000u

int loop_new(struct loop **out, const struct wcs_clock *clock)
{
    struct loop *l = calloc(1, sizeof(*l));
    struct epoll_event ev = {.events = EPOLLIN};
    int rc;
    if (!l)
        return -ENOMEM;
    l->clock = clock;
    l->speed = 1.0;
    l->free_head = NO_FREE;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        goto err_epoll;
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->tfd < 0)
        goto err_timerfd;
    ev.data.u64 = UINT64_MAX; /* marks the timerfd */
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev) < 0)
        goto err_ctl;
    *out = l;
    return 0;
err_ctl:
    rc = -errno;
    close(l->tfd);
    close(l->epfd);
    free(l);
    return rc;
err_timerfd:
    rc = -errno;
    close(l->epfd);
    free(l);
    return rc;
err_epoll:
    rc = -errno;
    free(l);
    return rc;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    close(l->tfd);
    close(l->epfd);
    free(l->watches);
    free(l->timers);
    free(l->heap);
    free(l);
}

const struct wcs_clock *loop_clock(const struct loop *l)
{
    return l->clock;
}

uint64_t loop_now_us(const struct loop *l)
{
    return clock_mono_us(l->clock);
}

double loop_speed(const struct loop *l)
{
    return l->clock->factor ? l->clock->factor(l->clock) : l->speed;
}

void loop_set_speed(struct loop *l, double factor)
{
    if (factor > 0) {
        l->speed = factor;
        l->tfd_armed = false; /* re-arm with the new factor */
    }
}

static uint32_t to_epoll(unsigned events)
{
    return ((events & LOOP_READ) ? EPOLLIN : 0u) | ((events & LOOP_WRITE) ? EPOLLOUT : 0u);
}

int loop_add_fd(struct loop *l, int fd, unsigned events, loop_fd_cb cb, void *arg)
{
    struct epoll_event ev;
    if (fd < 0 || !cb)
        return -EINVAL;
    if ((size_t)fd >= l->nwatches) {
        size_t n = l->nwatches ? l->nwatches : 64;
        struct watch *w;
        while (n <= (size_t)fd)
            n *= 2;
        w = realloc(l->watches, n * sizeof(*w));
        if (!w)
            return -ENOMEM;
        memset(w + l->nwatches, 0, (n - l->nwatches) * sizeof(*w));
        l->watches = w;
        l->nwatches = n;
    }
    if (l->watches[fd].used)
        return -EEXIST;
    ev.events = to_epoll(events);
    ev.data.u64 = ((uint64_t)++l->watch_gen << 32) | (uint32_t)fd;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    l->watches[fd] =
        (struct watch){.cb = cb, .arg = arg, .events = events, .gen = l->watch_gen, .used = true};
    return 0;
}

static struct watch *find_watch(struct loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nwatches || !l->watches[fd].used)
        return NULL;
    return &l->watches[fd];
}

int loop_mod_fd(struct loop *l, int fd, unsigned events)
{
    struct watch *w = find_watch(l, fd);
    struct epoll_event ev;
    if (!w)
        return -ENOENT;
    ev.events = to_epoll(events);
    ev.data.u64 = ((uint64_t)w->gen << 32) | (uint32_t)fd;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -errno;
    w->events = events;
    return 0;
}

int loop_del_fd(struct loop *l, int fd)
{
    struct watch *w = find_watch(l, fd);
    if (!w)
        return -ENOENT;
    /* EBADF/ENOENT: the owner closed it first; the registration is gone either way. */
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    w->used = false;
    w->cb = NULL;
    return 0;
}

/* ---- timers ---- */

static bool before(const struct loop *l, uint32_t a, uint32_t b)
{
    const struct timer *ta = &l->timers[a], *tb = &l->timers[b];
    if (ta->deadline_us != tb->deadline_us)
        return ta->deadline_us < tb->deadline_us;
    return ta->order < tb->order;
}

static void heap_set(struct loop *l, size_t pos, uint32_t slot)
{
    l->heap[pos] = slot;
    l->timers[slot].heap_pos = (int32_t)pos;
}

static void sift_up(struct loop *l, size_t pos)
{
    uint32_t slot = l->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!before(l, slot, l->heap[parent]))
            break;
        heap_set(l, pos, l->heap[parent]);
        pos = parent;
    }
    heap_set(l, pos, slot);
}

static void sift_down(struct loop *l, size_t pos)
{
    uint32_t slot = l->heap[pos];
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= l->heap_len)
            break;
        if (c + 1 < l->heap_len && before(l, l->heap[c + 1], l->heap[c]))
            c++;
        if (!before(l, l->heap[c], slot))
            break;
        heap_set(l, pos, l->heap[c]);
        pos = c;
    }
    heap_set(l, pos, slot);
}

static void heap_remove(struct loop *l, size_t pos)
{
    uint32_t slot = l->heap[pos];
    l->heap_len--;
    if (pos != l->heap_len) {
        heap_set(l, pos, l->heap[l->heap_len]);
        sift_down(l, pos);
        sift_up(l, (size_t)l->timers[l->heap[pos]].heap_pos);
    }
    l->timers[slot].heap_pos = -1;
    l->timers[slot].cb = NULL;
    l->timers[slot].next_free = l->free_head;
    l->free_head = slot;
}

int loop_add_timer(struct loop *l, uint64_t delay_us, loop_timer_cb cb, void *arg, uint64_t *id_out)
{
    uint32_t slot;
    struct timer *t;
    if (!cb)
        return -EINVAL;
    if (l->free_head != NO_FREE) {
        slot = l->free_head;
        l->free_head = l->timers[slot].next_free;
    } else {
        if (l->ntimers == l->cap_timers) {
            size_t n = l->cap_timers ? l->cap_timers * 2 : 64;
            struct timer *ts = realloc(l->timers, n * sizeof(*ts));
            uint32_t *h;
            if (!ts)
                return -ENOMEM;
            l->timers = ts;
            h = realloc(l->heap, n * sizeof(*h));
            if (!h)
                return -ENOMEM;
            l->heap = h;
            l->cap_timers = n;
        }
        slot = (uint32_t)l->ntimers++;
        l->timers[slot].gen = 0;
    }
    t = &l->timers[slot];
    t->gen++;
    t->deadline_us = loop_now_us(l) + delay_us;
    t->order = l->next_order++;
    t->cb = cb;
    t->arg = arg;
    l->heap[l->heap_len] = slot;
    t->heap_pos = (int32_t)l->heap_len;
    l->heap_len++;
    sift_up(l, l->heap_len - 1);
    if (id_out)
        *id_out = ((uint64_t)t->gen << 32) | slot;
    return 0;
}

int loop_cancel_timer(struct loop *l, uint64_t id)
{
    uint32_t slot = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (slot >= l->ntimers || l->timers[slot].gen != gen || l->timers[slot].heap_pos < 0)
        return -ENOENT;
    heap_remove(l, (size_t)l->timers[slot].heap_pos);
    return 0;
}

size_t loop_timer_count(const struct loop *l)
{
    return l->heap_len;
}

/* Fires timers due now that existed before this call (a timer added by a callback with delay 0
 * runs on the next round, so a self-rearming timer cannot starve the fds). */
static int fire_timers(struct loop *l)
{
    uint64_t now = loop_now_us(l), limit = l->next_order;
    int n = 0;
    while (l->heap_len > 0 && !l->stopping) {
        uint32_t slot = l->heap[0];
        struct timer *t = &l->timers[slot];
        loop_timer_cb cb;
        void *arg;
        uint64_t id;
        if (t->deadline_us > now || t->order >= limit)
            break;
        cb = t->cb;
        arg = t->arg;
        id = ((uint64_t)t->gen << 32) | slot;
        heap_remove(l, 0);
        cb(l, id, arg);
        n++;
    }
    return n;
}

static void arm_timerfd(struct loop *l)
{
    struct itimerspec its = {0};
    /* timerfd_settime is a syscall per round: skip it while the timerfd is already set for the
     * earliest deadline (or already disarmed with no timer left). */
    if (l->heap_len > 0 ? l->tfd_armed && l->tfd_deadline_us == l->timers[l->heap[0]].deadline_us
                        : !l->tfd_armed)
        return;
    l->tfd_armed = l->heap_len > 0;
    if (l->heap_len > 0) {
        uint64_t now = loop_now_us(l), dl = l->timers[l->heap[0]].deadline_us;
        uint64_t real_us = dl > now ? (uint64_t)((double)(dl - now) / loop_speed(l)) : 0;
        l->tfd_deadline_us = dl;
        if (real_us == 0)
            real_us = 1;
        /* A clock whose factor changes (clock_shared): a wait computed with this factor would
         * run late in clock time if the clock sped up meanwhile, so it is cut to
         * CHANGING_MAX_WAIT_US; when it fires the timerfd is armed again (an early wake-up
         * finds nothing due). */
        if (l->clock->factor && real_us > CHANGING_MAX_WAIT_US)
            real_us = CHANGING_MAX_WAIT_US;
        its.it_value.tv_sec = (time_t)(real_us / 1000000u);
        its.it_value.tv_nsec = (long)(real_us % 1000000u) * 1000;
    }
    timerfd_settime(l->tfd, 0, &its, NULL); /* all zero disarms */
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
    struct epoll_event evs[64];
    int n = fire_timers(l), nev;

    if (l->stopping)
        return n;
    if (n > 0)
        max_wait_ms = 0; /* callbacks ran: report back before sleeping */
    arm_timerfd(l);
    nev = epoll_wait(l->epfd, evs, 64, max_wait_ms);
    if (nev < 0)
        return errno == EINTR ? n : -errno;
    for (int i = 0; i < nev && !l->stopping; i++) {
        uint64_t data = evs[i].data.u64;
        int fd = (int)(uint32_t)data;
        struct watch *w;
        unsigned events = 0;
        if (data == UINT64_MAX) {
            uint64_t expirations;
            (void)!read(l->tfd, &expirations, sizeof(expirations));
            l->tfd_armed = false; /* one-shot: it expired */
            continue;
        }
        w = find_watch(l, fd);
        if (!w || w->gen != (uint32_t)(data >> 32))
            continue; /* removed (or fd reused) by an earlier callback of this round */
        if (evs[i].events & EPOLLIN)
            events |= LOOP_READ;
        if (evs[i].events & EPOLLOUT)
            events |= LOOP_WRITE;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            events |= LOOP_ERROR | (w->events & LOOP_READ);
        w->cb(l, fd, events, w->arg);
        n++;
    }
    return n + fire_timers(l);
}

int loop_run(struct loop *l)
{
    l->stopping = false;
    while (!l->stopping) {
        int rc = loop_run_once(l, -1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void loop_stop(struct loop *l)
{
    l->stopping = true;
}

bool loop_is_stopping(const struct loop *l)
{
    return l->stopping;
}
