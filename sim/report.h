/* Private to the runner: what a run records for its end-of-run summary and report folder
 * (index.html with SVG plots from sim/svg.h and the printers' label PNGs). */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include "sim/plc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg_site;

struct sim_report {
    uint64_t cmds_sent, cmds_unsent, cmds_ok, cmds_refused, cmds_resent, cmds_held, cmds_retried;
    uint64_t orders_in, orders_accepted, orders_shipped, ship_events;
    uint64_t waves_planned, waves_released, counts_done, adjustments_applied, approvals_requested,
        inducted;
    bool wcs_died, wcs_restart_failed;
    double sim_s, wall_s, speed;
    double speed_min, speed_low, speed_high; /* a changing clock: its bounds, what it ran at */
    unsigned passed, failed;
    struct sim_report_priv *p; /* samples, alarms, checks, lanes, labels */
};

void sim_report_init(struct sim_report *r);
void sim_report_fini(struct sim_report *r);
void sim_report_latency(struct sim_report *r, double ms);
/* An alarm topic seen: raised (non-empty payload) or cleared, at t_s of scenario time. */
void sim_report_alarm(struct sim_report *r, const char *id, bool raised, double t_s);
size_t sim_report_active_alarms(const struct sim_report *r);
/* Alarms whose id matches the glob: how many were ever raised, how many are still active, and
 * how often they were raised in all (a raise after a clear counts again). */
void sim_report_alarm_match(const struct sim_report *r, const char *pattern, unsigned *raised,
                            unsigned *active, unsigned *raises);
void sim_report_cutoff(struct sim_report *r, const char *carrier, double t_min);
void sim_report_fault(struct sim_report *r, const char *kind, const char *target, double t_s,
                      bool start);
/* speed: the clock's mean factor since the previous sample (floor time over real time; 0 for
 * the first), plotted when the clock changes speed during the run. */
void sim_report_sample(struct sim_report *r, double t_min, double arrived, double accepted,
                       double shipped, double sorted, double throughput_per_min, double speed);
void sim_report_check(struct sim_report *r, const char *name, bool ok, const char *detail);
void sim_report_order_state(struct sim_report *r, const char *state);
/* Per-lane counts of one PLC emulator (lane names from the site config). */
void sim_report_plc(struct sim_report *r, const char *plc, const struct sim_plc_counters *c,
                    const struct cfg_site *site, const uint32_t *sp, unsigned n_points);
/* Collects the label PNGs under labels_dir/<printer>/ (up to 12 are shown). */
void sim_report_labels(struct sim_report *r, const char *labels_dir);
/* Writes dir/index.html and the SVG files beside it. Returns 0 or a negative errno. */
int sim_report_write(struct sim_report *r, const char *dir, const char *title, const char *site);

#endif
