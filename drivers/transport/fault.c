/* The fault link (fault:// in tests): wraps a real link and, per chunk, drops it, passes only
 * its first half, flips one byte, or delays its delivery, with seeded probabilities so a failing
 * run can be replayed. Outgoing chunks get the same treatment except the delay. */
#include "link_private.h"

#include "base/err.h"
#include "base/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct delayed {
    struct delayed *next;
    struct faultlink *owner;
    uint64_t timer;
    size_t len;
    uint8_t data[];
};

struct faultlink {
    struct link base;
    struct link *inner;
    struct tr_fault f;
    struct tr_fault_stats st;
    uint32_t rng;
    struct delayed *delayed; /* pending deliveries, oldest first */
};

static uint32_t next_rand(struct faultlink *fl)
{
    /* xorshift32: reproducible from the seed, good enough to pick faults. */
    uint32_t x = fl->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    fl->rng = x;
    return x;
}

static bool roll(struct faultlink *fl, uint32_t ppm)
{
    return ppm > 0 && next_rand(fl) % 1000000u < ppm;
}

/* Applies drop/truncate/corrupt to buf[0..*len). Returns false when the chunk is dropped. */
static bool mangle(struct faultlink *fl, uint8_t *buf, size_t *len)
{
    if (roll(fl, fl->f.drop_ppm)) {
        fl->st.dropped++;
        return false;
    }
    if (*len > 1 && roll(fl, fl->f.truncate_ppm)) {
        fl->st.truncated++;
        *len /= 2;
    }
    if (*len > 0 && roll(fl, fl->f.corrupt_ppm)) {
        fl->st.corrupted++;
        buf[next_rand(fl) % *len] ^= 0xFF;
    }
    return true;
}

static void on_delay(struct loop *l, uint64_t id, void *arg)
{
    struct delayed *d = arg;
    struct faultlink *fl = d->owner;
    struct delayed **pp = &fl->delayed;

    while (*pp != d)
        pp = &(*pp)->next;
    *pp = d->next;
    link_deliver(&fl->base, d->data, d->len);
    free(d);
}

static void inner_data(struct link *k, const uint8_t *data, size_t len, void *arg)
{
    struct faultlink *fl = arg;
    uint8_t *buf = malloc(len ? len : 1);
    size_t n = len;

    if (!buf)
        return;
    memcpy(buf, data, len);
    if (mangle(fl, buf, &n)) {
        struct delayed *d = NULL;
        if (fl->f.delay_ms > 0)
            d = malloc(sizeof(*d) + n);
        if (d) {
            d->owner = fl;
            d->len = n;
            memcpy(d->data, buf, n);
            if (loop_add_timer(fl->base.loop, (uint64_t)fl->f.delay_ms * 1000, on_delay, d,
                               &d->timer) == 0) {
                struct delayed **pp = &fl->delayed;
                while (*pp)
                    pp = &(*pp)->next;
                d->next = NULL;
                *pp = d;
                fl->st.delayed++;
            } else {
                free(d);
                link_deliver(&fl->base, buf, n);
            }
        } else {
            link_deliver(&fl->base, buf, n);
        }
    }
    free(buf);
}

static void inner_state(struct link *k, enum link_state st, int rc, void *arg)
{
    struct faultlink *fl = arg;

    link_set_state(&fl->base, st, rc);
}

static int fl_write(struct link *k, const void *data, size_t len)
{
    struct faultlink *fl = (struct faultlink *)k;
    uint8_t *buf = malloc(len ? len : 1);
    size_t n = len;
    int rc = 0;

    if (!buf)
        return -ENOMEM;
    memcpy(buf, data, len);
    /* A dropped outgoing chunk reports success: the sender must find out as it would on a
     * real line, by the missing reply. */
    if (mangle(fl, buf, &n))
        rc = link_write(fl->inner, buf, n);
    free(buf);
    return rc;
}

static void fl_reset(struct link *k, int rc)
{
    link_reset(((struct faultlink *)k)->inner, rc);
}

static void fl_close(struct link *k)
{
    struct faultlink *fl = (struct faultlink *)k;

    while (fl->delayed) {
        struct delayed *d = fl->delayed;
        fl->delayed = d->next;
        (void)loop_cancel_timer(fl->base.loop, d->timer);
        free(d);
    }
    link_close(fl->inner);
    free(fl);
}

static size_t fl_pending(const struct link *k)
{
    return link_get_pending(((const struct faultlink *)k)->inner);
}

static const struct link_ops fault_ops = {"fault", fl_write, fl_reset, fl_close, fl_pending};

int link_open_fault(struct link **out, struct loop *loop, const struct tr_addr *addr,
                    const struct tr_fault *fault, const struct link_opts *opts,
                    const struct link_cbs *cbs, void *arg)
{
    static const struct link_cbs inner_cbs = {inner_data, inner_state};
    struct faultlink *fl;
    int rc;

    if (!fault || !cbs || fault->drop_ppm > 1000000 || fault->truncate_ppm > 1000000 ||
        fault->corrupt_ppm > 1000000)
        return -EINVAL;
    fl = calloc(1, sizeof(*fl));
    if (!fl)
        return -ENOMEM;
    fl->base.ops = &fault_ops;
    fl->base.loop = loop;
    fl->base.cbs = *cbs;
    fl->base.arg = arg;
    fl->base.state = LINK_DOWN;
    fl->f = *fault;
    fl->rng = fault->seed ? fault->seed : 0x9e3779b9u;
    rc = link_open(&fl->inner, loop, addr, opts, &inner_cbs, fl);
    if (rc < 0) {
        free(fl);
        return rc;
    }
    *out = &fl->base;
    return 0;
}

void link_fault_stats(const struct link *k, struct tr_fault_stats *out)
{
    if (k->ops == &fault_ops)
        *out = ((const struct faultlink *)k)->st;
    else
        memset(out, 0, sizeof(*out));
}
