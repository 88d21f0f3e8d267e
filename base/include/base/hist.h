/* Latency histogram: log buckets with 1/16 relative resolution from 16 up to 2^48 (values below
 * 16 exact), a count and the maximum. Fixed size, no allocation, not thread-safe: one owner
 * adds (the loop, a driver's worker), readers take quantiles from it on the same thread. Used
 * for scan-to-decision latency (the daemon), command handling time (the bus) and Redis round
 * trips (the store), all in microseconds. */
#ifndef BASE_HIST_H
#define BASE_HIST_H

#include <stdint.h>

#define HIST_BUCKETS (16 + 44 * 16)

struct hist {
    uint64_t count, max_us;
    uint64_t b[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t us);
/* The value at quantile q (0..1): the upper bound of the bucket holding it, capped at max_us.
 * 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
