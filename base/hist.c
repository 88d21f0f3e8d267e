/* Latency histogram with log buckets (base/hist.h). */
#include "base/hist.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
    unsigned e;
    if (v < 16)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v); /* 4.. */
    if (e > 47)
        return HIST_BUCKETS - 1;
    return 16 + (e - 4) * 16 + (unsigned)((v >> (e - 4)) & 15);
}

static uint64_t bucket_upper(unsigned b)
{
    unsigned e, sub;
    if (b < 16)
        return b;
    e = (b - 16) / 16 + 4;
    sub = (b - 16) % 16;
    return ((16ull + sub + 1) << (e - 4)) - 1;
}

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof(*h));
}

void hist_add(struct hist *h, uint64_t us)
{
    h->b[bucket_of(us)]++;
    h->count++;
    if (us > h->max_us)
        h->max_us = us;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    uint64_t rank, seen = 0;
    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count)
        rank = h->count - 1;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->b[b];
        if (seen > rank) {
            uint64_t up = b == HIST_BUCKETS - 1 ? h->max_us : bucket_upper(b);
            return up < h->max_us ? up : h->max_us;
        }
    }
    return h->max_us;
}
