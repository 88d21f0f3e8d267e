/* The scenario runner behind `wcs sim` (docs/scenarios.md): starts redis-server and mosquitto
 * (harness/), the device emulators of the site, `wcs import` and `wcs run` as child processes
 * on a shared scaled clock, drives the agents and the fault timeline, checks the expectations
 * and writes the report. It talks to wcs only over the wire (Modbus, TCP, MQTT; Redis read-only
 * for the end-of-run checks). */
#ifndef SIM_RUNNER_H
#define SIM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

struct sim_run_opts {
    const char *scenario;   /* path of the scenario file */
    const char *report_dir; /* NULL: a new /tmp/wcs-sim-XXXXXX (its path is printed) */
    const char *wcs_bin;    /* the wcs binary to run; NULL: /proc/self/exe */
    double speed;           /* > 0 overrides the scenario's speed (then fixed, unless speed_min) */
    double speed_min;       /* > 0 overrides the scenario's speed_min (at most speed) */
    bool realtime;          /* speed 1 */
    bool quiet;             /* no progress line */
};

struct sim_run_result {
    double sim_s, wall_s;
    uint64_t orders_in, orders_shipped;
    unsigned checks_passed, checks_failed;
};

/* Runs the scenario to its end. Blocks for the run (duration / speed plus start-up and drain).
 * Prints the progress line (stderr), the KPIs and each expectation's verdict (stdout), and
 * writes the report folder. Returns 0 when every expectation passed, 1 when one failed, or a
 * negative code when the run could not be made (bad scenario, a server that did not start, wcs
 * not ready); res (may be NULL) gets the figures. */
int sim_run(const struct sim_run_opts *o, struct sim_run_result *res);

#endif
