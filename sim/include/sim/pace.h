/* The pace of a simulated run whose clock may change speed (scenario speed_min below speed):
 * every PACE_PERIOD_US of real time the runner asks for the factor to run at, from the real
 * round trips of the commands answered in that period and the PLC emulators' confirmation
 * backlog. The aim is a floor that behaves as it would in real time: the median command round
 * trip at most PACE_LATENCY_MS of the floor's time (the simulated people hardly wait for wcs),
 * and no PLC confirmation dropped because wcs fell behind. Pure: no clock, no I/O
 * (docs/scenarios.md, "Time"). */
#ifndef SIM_PACE_H
#define SIM_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACE_PERIOD_US  100000u /* real time between two decisions */
#define PACE_LATENCY_MS 2000.0  /* the floor latency aimed at (median command round trip) */
#define PACE_SAMPLES    512     /* round trips kept per period (the rest are not needed) */
#define PACE_UP         1.25    /* at most this much faster per period */
#define PACE_DOWN       0.7     /* at most this much slower per period */
#define PACE_TROUBLE    0.7     /* the factor's share kept when the PLCs are in trouble */
/* A median over the aim slows the clock only in the fourth period in a row: a wave's release
 * answers a burst of claims late for a few hundred milliseconds, which slowing the clock would
 * not have avoided (the full shift: 151.5 and 163.2 s wall with 4, 157.6-181.9 s with 2). */
#define PACE_SLOW_AFTER 4

struct pace {
    double min, max, factor;
    uint32_t rtt_us[PACE_SAMPLES]; /* this period's round trips, real microseconds */
    size_t n;
    uint64_t dropped;   /* the PLC emulators' dropped confirmations at the last period */
    unsigned over;      /* consecutive periods whose median was over the aim */
    uint32_t median_us; /* the last period's median round trip (0: under three answers) */
    size_t answers;     /* and how many it had */
    bool trouble;       /* and whether the PLCs were in trouble */
    /* what the pace did, for the report */
    double lowest, highest;
    uint64_t periods, slowed;
};

/* factor starts at max; min..max is where it stays (min == max: a fixed speed). */
void pace_init(struct pace *p, double min, double max);
/* A command's real round trip (first send to its answer). */
void pace_sample(struct pace *p, uint64_t real_us);
/* The end of a period: dropped = the emulators' dropped confirmations so far, held = the
 * confirmations now waiting for wcs's acknowledgement (all points), held_cap = how many the
 * emulators hold at most. Returns the factor to run at (also p->factor). */
double pace_period(struct pace *p, uint64_t dropped, uint32_t held, uint32_t held_cap);

#endif
