/* Scale emulator speaking MT-SICS over TCP and over a pty (its serial port). The load on the
 * platform settles linearly over settle_ms after each change (dynamic meanwhile), readings carry
 * Gaussian noise and a linear drift, and the usual replies apply: S waits for stability up to
 * stable_timeout_ms then answers "S I", SI answers at once ("S S" or "S D"), "S +" above
 * capacity, "S -" below -underload_mg, Z and T set zero and tare when stable. Time is the
 * injected clock's. Runs its own thread; every function is thread-safe. */
#ifndef SIM_SCALE_H
#define SIM_SCALE_H

#include "base/clock.h"

#include <stdbool.h>
#include <stdint.h>

struct sim_scale_cfg {
    const struct wcs_clock *clock; /* borrowed */
    bool tcp;
    uint16_t port; /* 0: a free port */
    bool serial;
    int64_t capacity_mg;        /* above capacity + 9 steps: "S +" */
    int64_t underload_mg;       /* below minus this: "S -" */
    uint32_t resolution_mg;     /* display step: 1, 10, 100 or 1000 */
    double noise_mg;            /* standard deviation of each reading */
    double drift_mg_per_min;    /* added linearly since start (removed by Z) */
    uint32_t settle_ms;         /* after a load change */
    uint32_t stable_timeout_ms; /* S, Z and T wait this long for stability */
    int64_t zero_range_mg;      /* Z refuses outside +-this from the power-on zero */
    char serial_no[16];
    uint64_t seed;
};

/* TCP on a free port, 30 kg capacity, 10 mg steps, noise 5 mg, no drift, 800 ms settling,
 * 3 s timeout, underload 200 g, zero range 600 g, serial "0123456789", seed 1, system clock. */
void sim_scale_cfg_defaults(struct sim_scale_cfg *cfg);

struct sim_scale;

/* Returns 0, WCS_E_CONFIG, -ENOMEM or a negative errno. */
int sim_scale_open(struct sim_scale **out, const struct sim_scale_cfg *cfg);
/* Stops the thread, closes every connection and the pty, frees. NULL-safe. */
void sim_scale_close(struct sim_scale *s);

/* The TCP port (0 without tcp) and the pty slave path. */
uint16_t sim_scale_port(const struct sim_scale *s);
const char *sim_scale_pty_path(const struct sim_scale *s); /* "" without serial; owned by s */

/* Sets the gross load on the platform (mg, may be 0); settling starts now. */
void sim_scale_set_load(struct sim_scale *s, int64_t load_mg);
/* Vibration: while on, the scale never becomes stable. */
void sim_scale_set_unstable(struct sim_scale *s, bool on);

struct sim_scale_counters {
    uint64_t commands, weights_stable, weights_dynamic, not_executable, overloads, underloads,
        zeros, tares, syntax_errors, logic_errors;
};
/* Copies a snapshot of the counters. */
void sim_scale_counters(struct sim_scale *s, struct sim_scale_counters *out);

#endif
