/* bench/shift: the full 8-hour shift on config/examples/dc-mid (scenarios/shift-full.yaml:
 * 20,000 orders, about 100,000 lines, 64 pickers, 24 pack stations) through the scenario runner of
 * `wcs sim`: redis-server, mosquitto, the emulated floor, `wcs import` and `wcs run` (the wcs
 * binary built beside it) on a clock SPEED times faster than real time (default: the scenario's);
 * SPEED as MIN..MAX lets the clock run between the two as the machine keeps up (sim/pace.h).
 * Goal: under 60 s wall. Reproduce: build/bench/bench-shift [SPEED [REPORT_DIR [SCENARIO]]]
 * Last line: sim_hours=H wall_s=S speedup=X orders_shipped=N (H: the floor time simulated, the
 * shift with its drain and settling; S: the whole run, set-up and checks included; X = H/S). */
#include "sim/runner.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct sim_run_opts o = {
        .scenario = WCS_SOURCE_DIR "/scenarios/shift-full.yaml",
        .wcs_bin = WCS_BIN,
        .quiet = true,
    };
    struct sim_run_result res = {0};
    int rc;
    if (argc > 1 && argv[1][0]) {
        /* SPEED or MIN..MAX, each 0.1..10000 (wcs sim's range) */
        char lo[32], *end = argv[1], *dots = strstr(argv[1], "..");
        double a = 0, b = 0;
        bool ok = false;
        /* Split at ".." before reading numbers: strtod would read "50..600" as "50." first. */
        if (!dots) {
            a = b = strtod(argv[1], &end);
            ok = end != argv[1] && !*end;
        } else if ((size_t)(dots - argv[1]) < sizeof(lo)) {
            memcpy(lo, argv[1], (size_t)(dots - argv[1]));
            lo[dots - argv[1]] = 0;
            a = strtod(lo, &end);
            ok = end != lo && !*end;
            b = strtod(dots + 2, &end);
            ok = ok && end != dots + 2 && !*end;
        }
        if (!ok || !(a >= 0.1 && a <= 10000) || !(b >= a && b <= 10000)) {
            fprintf(stderr,
                    "bench-shift: SPEED must be a factor in 0.1..10000 or MIN..MAX, "
                    "not '%s'\n",
                    argv[1]);
            return 2;
        }
        o.speed = b;
        if (b > a)
            o.speed_min = a;
    }
    if (argc > 2)
        o.report_dir = argv[2];
    if (argc > 3)
        o.scenario = argv[3];
    rc = sim_run(&o, &res);
    if (rc < 0) {
        fprintf(stderr, "bench-shift: the run could not be made (%d)\n", rc);
        return 1;
    }
    printf("checks_passed=%u checks_failed=%u orders_in=%llu\n", res.checks_passed,
           res.checks_failed, (unsigned long long)res.orders_in);
    printf("sim_hours=%.1f wall_s=%.1f speedup=%.0f orders_shipped=%llu\n", res.sim_s / 3600.0,
           res.wall_s, res.wall_s > 0 ? res.sim_s / res.wall_s : 0.0,
           (unsigned long long)res.orders_shipped);
    return rc == 0 ? 0 : 1;
}
