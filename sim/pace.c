/* The pace of a run whose clock may change speed (sim/pace.h). */
#include "sim/pace.h"

#include <stdlib.h>

void pace_init(struct pace *p, double min, double max)
{
    *p = (struct pace){0};
    p->max = max > 0 ? max : 1;
    p->min = min > 0 && min < p->max ? min : p->max;
    p->factor = p->max;
    p->lowest = p->highest = p->factor;
}

void pace_sample(struct pace *p, uint64_t real_us)
{
    if (p->n < PACE_SAMPLES)
        p->rtt_us[p->n++] = real_us > UINT32_MAX ? UINT32_MAX : (uint32_t)real_us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

double pace_period(struct pace *p, uint64_t dropped, uint32_t held, uint32_t held_cap)
{
    double target = p->max, f;
    bool trouble = dropped > p->dropped || (held_cap > 0 && 2 * held >= held_cap);
    p->periods++;
    p->dropped = dropped;
    p->trouble = trouble;
    p->answers = p->n;
    p->median_us = 0;
    if (p->min >= p->max) {
        p->n = 0;
        return p->factor;
    }
    /* Three answers at least: one slow command is no trend. The median's floor time is
     * median x factor, so the factor that makes it PACE_LATENCY_MS is this. */
    if (p->n >= 3) {
        qsort(p->rtt_us, p->n, sizeof(p->rtt_us[0]), cmp_u32);
        uint32_t med = p->rtt_us[p->n / 2];
        p->median_us = med;
        if (med > 0)
            target = PACE_LATENCY_MS * 1000.0 / med;
    }
    if (target < p->factor) {
        if (++p->over < PACE_SLOW_AFTER)
            target = p->factor;
    } else {
        p->over = 0;
    }
    if (trouble && target > p->factor * PACE_TROUBLE)
        target = p->factor * PACE_TROUBLE;
    f = target;
    if (f > p->factor * PACE_UP)
        f = p->factor * PACE_UP;
    if (f < p->factor * PACE_DOWN)
        f = p->factor * PACE_DOWN;
    if (f > p->max)
        f = p->max;
    if (f < p->min)
        f = p->min;
    if (f < p->factor)
        p->slowed++;
    p->factor = f;
    if (f < p->lowest)
        p->lowest = f;
    if (f > p->highest)
        p->highest = f;
    p->n = 0;
    return f;
}
