/* `wcs run CONFIG`: the control daemon in the foreground (wcs/daemon/). Under systemd it is a
 * Type=notify service: READY=1 once the config, the Redis state and a first good cycle of every
 * PLC are in, WATCHDOG=1 while every link is healthy, STOPPING=1 on SIGTERM. docs/daemon.md. */
#include "cmds.h"

#include "base/err.h"
#include "base/log.h"
#include "daemon/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wcs run [options] CONFIG\n"
            "\n"
            "Run the control daemon: load the site config (it must pass 'wcs check'), connect to\n"
            "Redis, the MQTT broker and the conveyor PLCs, load the state, and sort.\n"
            "Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads CONFIG (a config that\n"
            "fails the check is refused and the running one kept).\n"
            "\n"
            "options:\n"
            "  --log-level L        error, warn, info (default) or debug\n"
            "  --clock-speed X      run the site clock X times faster than real time (sim)\n"
            "  --clock-origin MS    wall time (epoch ms) at which the scaled clock started (it\n"
            "                       reads MS then); give the simulator the same origin and factor\n"
            "  --clock-file PATH    read the site clock from PATH, a clock file the simulator\n"
            "                       writes; its factor may change as it runs (not with the two\n"
            "                       options above)\n"
            "  --kpi-interval-ms N  KPI publish period (default 10000)\n"
            "  --lost-timeout-ms N  a diverted tote not confirmed by then is lost (default 30000)\n"
            "  --drain-timeout-ms N bound of the SIGTERM drain (default 5000)\n"
            "  --rt-priority N      run the decision loop SCHED_FIFO at priority N\n"
            "                       (1..99; needs CAP_SYS_NICE; default off)\n"
            "  -h, --help           show this help\n"
            "\n"
            "exit status: 0 stopped cleanly, 1 failed to start or the loop failed, 2 usage\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || !*s || *end || v > 0xffffffffUL)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct wcsd_opts o = {.signals = true, .sd_notify = true};
    struct clock_scaled scaled;
    struct clock_shared shared = {0};
    const char *clock_file = NULL;
    enum log_level level = LOGL_INFO;
    double speed = 0;
    long long origin_ms = -1;
    const char *config = NULL;
    struct wcsd *d = NULL;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--log-level") == 0 && v) {
            if (log_level_parse(v, &level) != 0) {
                fprintf(stderr, "wcs run: bad --log-level '%s'\n", v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--clock-speed") == 0 && v) {
            speed = strtod(v, &end);
            if (*end || !(speed > 0 && speed <= 1000)) {
                fprintf(stderr, "wcs run: --clock-speed must be a number in (0, 1000]\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--clock-origin") == 0 && v) {
            errno = 0;
            origin_ms = strtoll(v, &end, 10);
            if (errno || *end || origin_ms < 0) {
                fprintf(stderr, "wcs run: --clock-origin must be epoch milliseconds\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--clock-file") == 0 && v) {
            clock_file = v;
            i++;
        } else if (strcmp(a, "--rt-priority") == 0 && v) {
            uint32_t n;
            if (parse_u32(v, &n) != 0 || n < 1 || n > 99) {
                fprintf(stderr, "wcs run: --rt-priority must be 1..99\n");
                return 2;
            }
            o.rt_priority = (int)n;
            i++;
        } else if ((strcmp(a, "--kpi-interval-ms") == 0 || strcmp(a, "--lost-timeout-ms") == 0 ||
                    strcmp(a, "--drain-timeout-ms") == 0) &&
                   v) {
            uint32_t n;
            if (parse_u32(v, &n) != 0 || n == 0) {
                fprintf(stderr, "wcs run: %s must be a positive integer\n", a);
                return 2;
            }
            if (a[2] == 'k')
                o.kpi_interval_ms = n;
            else if (a[2] == 'l')
                o.lost_timeout_ms = n;
            else
                o.drain_timeout_ms = n;
            i++;
        } else if (a[0] == '-' || config) {
            fprintf(stderr, "wcs run: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            config = a;
        }
    }
    if (!config) {
        usage(stderr);
        return 2;
    }
    log_init(NULL, level);
    if (clock_file && (speed > 0 || origin_ms >= 0)) {
        fprintf(stderr, "wcs run: --clock-file excludes --clock-speed and --clock-origin\n");
        return 2;
    }
    if (clock_file) {
        rc = clock_shared_open(&shared, clock_file);
        if (rc == 0 && shared.max_factor > 1000) {
            clock_shared_close(&shared);
            rc = -EINVAL;
        }
        if (rc != 0) {
            log_errx("wcs run: clock file %s: %s (a clock of factor at most 1000 expected)",
                     clock_file, wcs_strerror(rc));
            return 1;
        }
        o.clock = &shared.base;
        /* Real durations (watchdog, minimum publish intervals) are converted at the fastest
         * the clock will run: at a slower moment they only come later in real time. */
        o.clock_speed = shared.max_factor;
    } else if (speed > 0 || origin_ms >= 0) {
        /* The scaled clock started at the real moment the system's wall clock read origin_ms
         * (now when not given or in the future): two processes given the same origin and
         * factor then read the same time without talking to each other. */
        int64_t wall_now = clock_wall_ms(clock_system());
        uint64_t mono_now = clock_real_mono_us(), real_origin = mono_now;
        if (origin_ms < 0 || origin_ms > wall_now)
            origin_ms = wall_now;
        if ((uint64_t)(wall_now - origin_ms) * 1000 < mono_now)
            real_origin = mono_now - (uint64_t)(wall_now - origin_ms) * 1000;
        clock_scaled_init(&scaled, speed > 0 ? speed : 1.0, origin_ms, real_origin);
        o.clock = &scaled.base;
        o.clock_speed = speed > 0 ? speed : 1.0;
    }
    o.config_path = config;
    rc = wcsd_open(&d, &o);
    if (rc != 0) {
        log_errx("wcs run: not started rc=%s", wcs_strerror(rc));
        clock_shared_close(&shared);
        return 1;
    }
    rc = wcsd_run(d);
    wcsd_close(d);
    clock_shared_close(&shared);
    return rc == 0 ? 0 : 1;
}
