/* Bounded queue of fixed-size items, safe between threads. It bridges libraries that block or
 * run their own threads (libmodbus workers, paho callbacks) to the single event loop: producers
 * push, the loop pops. A full queue refuses the item and counts the refusal; it never grows.
 * With BQ_EVENTFD the queue owns an eventfd that becomes readable after a push, for epoll. */
#ifndef BASE_QUEUE_H
#define BASE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct bqueue;

enum { BQ_EVENTFD = 1 };

/* Creates a queue of `capacity` items of `item_size` bytes. Returns 0, -EINVAL for a zero size
 * or capacity, -ENOMEM, or a negative errno from eventfd(). The caller frees with bq_free. */
int bq_new(struct bqueue **out, size_t item_size, size_t capacity, unsigned flags);
void bq_free(struct bqueue *q); /* NULL-safe; items still queued are discarded */

/* Copies the item in. Returns 0, or WCS_E_FULL (the item is dropped and counted). */
int bq_push(struct bqueue *q, const void *item);
/* Copies the oldest item out. Returns 0 or -EAGAIN when empty. Never blocks. */
int bq_pop(struct bqueue *q, void *item);

size_t bq_len(struct bqueue *q);
size_t bq_capacity(const struct bqueue *q);
uint64_t bq_dropped(struct bqueue *q); /* pushes refused because the queue was full */
/* The eventfd to poll for readability (-1 without BQ_EVENTFD). Read it (bq_drain_fd) before
 * popping everything, so a push that races the pops wakes the loop again. */
int bq_fd(const struct bqueue *q);
void bq_drain_fd(struct bqueue *q);

#endif
