/* Bounded, mutex-protected ring of fixed-size items (base/queue.h). An uncontended mutex costs
 * tens of nanoseconds, far below any I/O the queue bridges; it keeps the code obviously right. */
#include "base/queue.h"
#include "base/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct bqueue {
    pthread_mutex_t mu;
    size_t item_size, capacity, head, len;
    uint64_t dropped;
    int efd;
    unsigned char *items;
};

int bq_new(struct bqueue **out, size_t item_size, size_t capacity, unsigned flags)
{
    struct bqueue *q;
    if (item_size == 0 || capacity == 0 || capacity > SIZE_MAX / item_size)
        return -EINVAL;
    q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->items = malloc(item_size * capacity);
    if (!q->items)
        goto err_items;
    q->efd = -1;
    if (flags & BQ_EVENTFD) {
        q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->efd < 0) {
            int rc = -errno;
            free(q->items);
            free(q);
            return rc;
        }
    }
    pthread_mutex_init(&q->mu, NULL);
    q->item_size = item_size;
    q->capacity = capacity;
    *out = q;
    return 0;
err_items:
    free(q);
    return -ENOMEM;
}

void bq_free(struct bqueue *q)
{
    if (!q)
        return;
    if (q->efd >= 0)
        close(q->efd);
    pthread_mutex_destroy(&q->mu);
    free(q->items);
    free(q);
}

int bq_push(struct bqueue *q, const void *item)
{
    pthread_mutex_lock(&q->mu);
    if (q->len == q->capacity) {
        q->dropped++;
        pthread_mutex_unlock(&q->mu);
        return WCS_E_FULL;
    }
    memcpy(q->items + ((q->head + q->len) % q->capacity) * q->item_size, item, q->item_size);
    q->len++;
    pthread_mutex_unlock(&q->mu);
    if (q->efd >= 0) {
        uint64_t one = 1;
        /* EAGAIN means the counter is saturated: the fd is readable anyway. */
        (void)!write(q->efd, &one, sizeof(one));
    }
    return 0;
}

int bq_pop(struct bqueue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    if (q->len == 0) {
        pthread_mutex_unlock(&q->mu);
        return -EAGAIN;
    }
    memcpy(item, q->items + q->head * q->item_size, q->item_size);
    q->head = (q->head + 1) % q->capacity;
    q->len--;
    pthread_mutex_unlock(&q->mu);
    return 0;
}

size_t bq_len(struct bqueue *q)
{
    size_t n;
    pthread_mutex_lock(&q->mu);
    n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t bq_capacity(const struct bqueue *q)
{
    return q->capacity;
}

uint64_t bq_dropped(struct bqueue *q)
{
    uint64_t n;
    pthread_mutex_lock(&q->mu);
    n = q->dropped;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int bq_fd(const struct bqueue *q)
{
    return q->efd;
}

void bq_drain_fd(struct bqueue *q)
{
    uint64_t v;
    if (q->efd >= 0)
        (void)!read(q->efd, &v, sizeof(v));
}
