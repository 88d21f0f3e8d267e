/* `wcs sim SCENARIO [--report DIR] [--speed X] [--speed-min Y] [--realtime] [--quiet]`: a thin
 * entry into the scenario runner (sim/runner.h, docs/scenarios.md). The runner starts the emulated
 * floor, the servers and this same binary as `wcs run` in a child process, and talks to it over the
 * wire. */
#include "cmds.h"

#include "sim/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wcs sim SCENARIO [--report DIR] [--speed X] [--speed-min Y] [--realtime]\n"
            "               [--quiet]\n"
            "\n"
            "Runs a simulator scenario (docs/scenarios.md): redis-server and mosquitto on\n"
            "loopback, the emulated PLCs, scanners, scales and printers of the scenario's site,\n"
            "`wcs import` and `wcs run` on a shared clock SPEED times faster than real time, the\n"
            "agents (ERP, supervisor, counters, conveyor induction) and the timed faults. At the\n"
            "end prints the KPIs and each expectation's PASS/FAIL, and writes the report folder\n"
            "(index.html, SVG plots, label images; default /tmp/wcs-sim-XXXXXX).\n"
            "\n"
            "  --report DIR  the run folder (created if missing)\n"
            "  --speed X     virtual-clock factor, overriding the scenario's speed (a speed\n"
            "                given alone is kept all the run)\n"
            "  --speed-min Y let the clock slow down to Y when the machine falls behind and\n"
            "                speed up again to X (overrides the scenario's speed_min)\n"
            "  --realtime    run at speed 1 (live demos)\n"
            "  --quiet       no progress line on stderr\n"
            "\n"
            "exit status: 0 every expectation passed, 1 one failed or the run could not be made,\n"
            "2 usage error\n");
}

int cmd_sim(int argc, char **argv)
{
    struct sim_run_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--report") == 0 && v) {
            o.report_dir = v;
            i++;
        } else if ((strcmp(a, "--speed") == 0 || strcmp(a, "--speed-min") == 0) && v) {
            char *end;
            double *x = strcmp(a, "--speed") == 0 ? &o.speed : &o.speed_min;
            errno = 0;
            *x = strtod(v, &end);
            if (errno || *end || !(*x >= 0.1 && *x <= 10000)) {
                fprintf(stderr, "wcs sim: %s must be a number in 0.1..10000\n", a);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--realtime") == 0) {
            o.realtime = true;
        } else if (strcmp(a, "--quiet") == 0) {
            o.quiet = true;
        } else if (a[0] == '-' || o.scenario) {
            fprintf(stderr, "wcs sim: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            o.scenario = a;
        }
    }
    if (!o.scenario) {
        usage(stderr);
        return 2;
    }
    if (o.speed_min > 0 && (o.realtime || (o.speed > 0 && o.speed_min > o.speed))) {
        fprintf(stderr, "wcs sim: --speed-min must be at most --speed (and not with --realtime)\n");
        return 2;
    }
    return sim_run(&o, NULL) == 0 ? 0 : 1;
}
