/* Links: the generic functions every kind shares, and the fd links (TCP client and serial
 * port) on the event loop. An fd link reads whatever arrives, buffers output up to a bound,
 * and on any error closes the fd and retries after a delay that doubles from backoff_min_ms up
 * to backoff_max_ms, reset by a successful connect. */
#include "link_private.h"

#include "base/err.h"
#include "base/loop.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { READ_CHUNK = 4096 };

int link_opts_resolve(const struct link_opts *in, struct link_opts *out)
{
    struct link_opts o = {100, 5000, 2000, 65536};

    if (in) {
        if (in->backoff_min_ms)
            o.backoff_min_ms = in->backoff_min_ms;
        if (in->backoff_max_ms)
            o.backoff_max_ms = in->backoff_max_ms;
        if (in->connect_timeout_ms)
            o.connect_timeout_ms = in->connect_timeout_ms;
        if (in->out_cap)
            o.out_cap = in->out_cap;
    }
    if (o.backoff_max_ms < o.backoff_min_ms)
        return -EINVAL;
    *out = o;
    return 0;
}

void link_set_state(struct link *k, enum link_state st, int rc)
{
    if (k->state == st)
        return;
    k->state = st;
    if (k->cbs.on_state)
        k->cbs.on_state(k, st, rc, k->arg);
}

void link_deliver(struct link *k, const uint8_t *data, size_t len)
{
    k->stats.bytes_in += len;
    if (k->cbs.on_data)
        k->cbs.on_data(k, data, len, k->arg);
}

int tr_addr_tcp(struct tr_addr *a, const char *host, uint16_t port)
{
    size_t n = host ? strlen(host) : 0;

    if (n == 0 || n > TR_HOST_MAX || port == 0)
        return -EINVAL;
    memset(a, 0, sizeof(*a));
    a->kind = TR_TCP;
    memcpy(a->host, host, n + 1);
    a->port = port;
    return 0;
}

void link_close(struct link *k)
{
    if (!k)
        return;
    k->ops->close(k);
}

int link_write(struct link *k, const void *data, size_t len)
{
    int rc;

    if (k->state != LINK_UP) {
        k->stats.refused_out++;
        return WCS_E_LINK;
    }
    rc = k->ops->write(k, data, len);
    if (rc < 0)
        k->stats.refused_out++;
    return rc;
}

void link_reset(struct link *k, int rc)
{
    k->ops->reset(k, rc);
}

enum link_state link_get_state(const struct link *k)
{
    return k->state;
}

size_t link_get_pending(const struct link *k)
{
    return k->ops->pending(k);
}

void link_get_stats(const struct link *k, struct link_stats *out)
{
    *out = k->stats;
}

const char *link_get_kind(const struct link *k)
{
    return k->ops->kind;
}

/* ---- fd links ---- */

struct fdlink {
    struct link base;
    struct tr_addr addr;
    struct link_opts opts;
    int fd;
    unsigned events;
    uint32_t backoff_ms;
    uint64_t retry_timer, conn_timer;
    bool retry_armed, conn_armed;
    uint64_t gen; /* bumped when the fd is dropped, so a callback can tell */
    size_t out_len;
    uint8_t *out;
};

static void attempt(struct fdlink *f);

static void cancel_timers(struct fdlink *f)
{
    if (f->retry_armed)
        (void)loop_cancel_timer(f->base.loop, f->retry_timer);
    if (f->conn_armed)
        (void)loop_cancel_timer(f->base.loop, f->conn_timer);
    f->retry_armed = f->conn_armed = false;
}

static void drop_fd(struct fdlink *f)
{
    if (f->fd >= 0) {
        (void)loop_del_fd(f->base.loop, f->fd);
        close(f->fd);
        f->fd = -1;
    }
    f->out_len = 0;
    f->events = 0;
    f->gen++;
}

static void on_retry(struct loop *l, uint64_t id, void *arg)
{
    struct fdlink *f = arg;

    f->retry_armed = false;
    attempt(f);
}

/* Drops the connection (or the failed attempt) and schedules the next attempt. */
static void fail(struct fdlink *f, int rc)
{
    uint32_t delay = f->backoff_ms;

    cancel_timers(f);
    drop_fd(f);
    f->base.stats.failures++;
    f->backoff_ms =
        f->backoff_ms >= f->opts.backoff_max_ms / 2 ? f->opts.backoff_max_ms : f->backoff_ms * 2;
    if (loop_add_timer(f->base.loop, (uint64_t)delay * 1000, on_retry, f, &f->retry_timer) == 0)
        f->retry_armed = true;
    link_set_state(&f->base, LINK_DOWN, rc);
}

static int set_events(struct fdlink *f, unsigned ev)
{
    if (ev == f->events)
        return 0;
    f->events = ev;
    return loop_mod_fd(f->base.loop, f->fd, ev);
}

static void flush_out(struct fdlink *f)
{
    while (f->out_len > 0) {
        ssize_t n = write(f->fd, f->out, f->out_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            fail(f, -errno);
            return;
        }
        f->base.stats.bytes_out += (size_t)n;
        memmove(f->out, f->out + n, f->out_len - (size_t)n);
        f->out_len -= (size_t)n;
    }
    if (set_events(f, LOOP_READ | (f->out_len ? LOOP_WRITE : 0)) < 0)
        fail(f, WCS_E_LINK);
}

static void up(struct fdlink *f)
{
    if (f->conn_armed)
        (void)loop_cancel_timer(f->base.loop, f->conn_timer);
    f->conn_armed = false;
    f->backoff_ms = f->opts.backoff_min_ms;
    f->base.stats.connects++;
    if (set_events(f, LOOP_READ) < 0) {
        fail(f, WCS_E_LINK);
        return;
    }
    link_set_state(&f->base, LINK_UP, 0);
}

static void on_fd(struct loop *l, int fd, unsigned events, void *arg)
{
    struct fdlink *f = arg;
    uint8_t buf[READ_CHUNK];
    uint64_t gen = f->gen;

    if (f->base.state == LINK_CONNECTING) {
        int rc = tcp_connect_result(fd);
        if (rc < 0 || (events & LOOP_ERROR)) {
            fail(f, rc < 0 ? rc : -ECONNREFUSED);
            return;
        }
        up(f);
        return;
    }
    if (events & LOOP_READ) {
        for (;;) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n > 0) {
                link_deliver(&f->base, buf, (size_t)n);
                if (gen != f->gen)
                    return; /* the owner reset the link from on_data */
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break;
            /* EOF: the peer closed (a pty whose other side closed gives EIO). */
            fail(f, n == 0 ? -ECONNRESET : -errno);
            return;
        }
    } else if (events & LOOP_ERROR) {
        fail(f, -ECONNRESET);
        return;
    }
    if (events & LOOP_WRITE)
        flush_out(f);
}

static void on_conn_timeout(struct loop *l, uint64_t id, void *arg)
{
    struct fdlink *f = arg;

    f->conn_armed = false;
    fail(f, -ETIMEDOUT);
}

static void attempt(struct fdlink *f)
{
    bool in_progress = false;
    int fd = -1, rc;

    if (f->addr.kind == TR_TCP)
        rc = tcp_connect_start(&f->addr, &fd, &in_progress);
    else
        rc = serial_open_fd(&f->addr, &fd);
    if (rc < 0) {
        fail(f, rc);
        return;
    }
    f->fd = fd;
    f->events = in_progress ? LOOP_WRITE : LOOP_READ;
    if (loop_add_fd(f->base.loop, fd, f->events, on_fd, f) < 0) {
        close(fd);
        f->fd = -1;
        fail(f, WCS_E_LINK);
        return;
    }
    if (!in_progress) {
        up(f);
        return;
    }
    /* A connect timeout is a network deadline: real time, also on a loop whose clock runs
     * faster than real time (the simulator's shifts). */
    if (loop_add_timer(
            f->base.loop,
            (uint64_t)((double)f->opts.connect_timeout_ms * 1000 * loop_speed(f->base.loop)),
            on_conn_timeout, f, &f->conn_timer) == 0)
        f->conn_armed = true;
    link_set_state(&f->base, LINK_CONNECTING, 0);
}

static int fd_write(struct link *k, const void *data, size_t len)
{
    struct fdlink *f = (struct fdlink *)k;

    if (len > f->opts.out_cap - f->out_len)
        return WCS_E_FULL;
    memcpy(f->out + f->out_len, data, len);
    f->out_len += len;
    flush_out(f);
    return 0;
}

static void fd_reset(struct link *k, int rc)
{
    struct fdlink *f = (struct fdlink *)k;

    if (f->base.state == LINK_DOWN)
        return;
    fail(f, rc);
}

static void fd_close(struct link *k)
{
    struct fdlink *f = (struct fdlink *)k;

    cancel_timers(f);
    drop_fd(f);
    free(f->out);
    free(f);
}

static size_t fd_pending(const struct link *k)
{
    return ((const struct fdlink *)k)->out_len;
}

static const struct link_ops tcp_ops = {"tcp", fd_write, fd_reset, fd_close, fd_pending};
static const struct link_ops serial_ops = {"serial", fd_write, fd_reset, fd_close, fd_pending};

int link_open(struct link **out, struct loop *loop, const struct tr_addr *addr,
              const struct link_opts *opts, const struct link_cbs *cbs, void *arg)
{
    struct fdlink *f;
    struct link_opts o;

    if (link_opts_resolve(opts, &o) < 0 || !cbs)
        return -EINVAL;
    if (addr->kind == TR_TCP ? (addr->port == 0 || addr->host[0] == '\0') : addr->device[0] == '\0')
        return -EINVAL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->out = malloc(o.out_cap);
    if (!f->out) {
        free(f);
        return -ENOMEM;
    }
    f->base.ops = addr->kind == TR_TCP ? &tcp_ops : &serial_ops;
    f->base.loop = loop;
    f->base.cbs = *cbs;
    f->base.arg = arg;
    f->base.state = LINK_DOWN;
    f->addr = *addr;
    f->opts = o;
    f->fd = -1;
    f->backoff_ms = o.backoff_min_ms;
    *out = &f->base;
    attempt(f);
    return 0;
}
