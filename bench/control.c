/* bench-control: the daemon's scan-to-decision latency against 100 emulated scan points on
 * loopback, at a stepped load, beside the bare cost of the same Modbus and Redis round trips.
 *
 * Setup: harness redis-server and mosquitto; in a child process at nice 10 (the floor: on site
 * the PLCs are other machines), 13 PLC emulators (12 x 8 scan points + 1 x 4 = 100)
 * with a fast belt (items 100 mm long, 100 mm apart at 20 m/s) so one point can take 50+ items/s;
 * 52 000 totes preloaded in Redis, all of one order bound for pack station P1 (each scan point
 * has a lane to P1 and a reject lane); the daemon in-process, its loop on the main thread, the
 * same code `wcs run` runs; MQTT events at QoS 0. A feeder thread inducts items round robin over
 * the 100 points at the step's rate (1000, 2000, 5000 items/s, STEP_S seconds each, after a 2 s
 * warm-up at 500/s). Each item is one scan, one decision written, one confirmation, two journal
 * entries and three MQTT events.
 *
 * Measured: the daemon's own histogram of scan-to-decision latency (from the PLC worker's
 * timestamp of the new scan_seq to after conv_plc_decide returned), reset per step, and the
 * decisions written per second. Baseline in the same run, after the steps: a bare libmodbus
 * client doing the same read (the scan point's 29-register block) + write (5 registers) cycle
 * against a spare emulator, and a bare hiredis HSET round trip on the same Redis; baseline_p99_us
 * is the sum of the two p99s: what one decision would cost if it waited for its Modbus write and
 * its Redis write, which the daemon never does.
 *
 * The daemon runs as `wcs run --rt-priority 10` would (its loop thread SCHED_FIFO 10; the
 * bench must run as root or with CAP_SYS_NICE, else it says so and runs without); RT_PRIORITY 0
 * measures the default scheduling.
 *
 * Run: build/bench/bench-control [STEP_S [RT_PRIORITY]] (default 5 10). The last line is
 * decisions_per_s=R p50_us=A p99_us=B p999_us=C max_us=D baseline_p99_us=E for the 5000/s step. */
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "harness/harness.h"
#include "sim/plc.h"

#include <hiredis/hiredis.h>
#include <modbus.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_SIMS       13
#define POINTS_TOTAL 100

/* The floor runs in a child process at a lower CPU priority (nice 10): on site the PLCs are
 * other machines, and on this 2-core bench host the 13 emulators would otherwise compete with the
 * daemon's loop as if they were part of it. Shared with the child through an anonymous mapping. */
struct shared {
    _Atomic unsigned rate_per_s;
    _Atomic bool feeding, ready, quit;
    _Atomic uint64_t fed, feed_refused;
    uint16_t ports[N_SIMS + 1];
};
static struct shared *sh;
static struct sim_plc *sims[N_SIMS + 1];
static unsigned sim_points[N_SIMS];

static void *feeder(void *arg)
{
    uint64_t next = clock_real_mono_us();
    unsigned point = 0;
    double carry = 0;
    (void)arg;
    while (atomic_load(&sh->feeding)) {
        double n;
        next += 1000;
        n = atomic_load(&sh->rate_per_s) / 1000.0 + carry;
        while (n >= 1.0) {
            unsigned s = point / 8, p = point % 8;
            if (sim_plc_induct(sims[s], p, NULL, SIM_READ_GOOD, NULL) == 0)
                atomic_fetch_add(&sh->fed, 1);
            else
                atomic_fetch_add(&sh->feed_refused, 1);
            point = (point + 1) % POINTS_TOTAL;
            n -= 1.0;
        }
        carry = n;
        {
            uint64_t now = clock_real_mono_us();
            if (next > now)
                usleep((useconds_t)(next - now));
        }
    }
    return NULL;
}

static int open_sim(unsigned idx, unsigned n_points, struct sim_plc **out)
{
    struct sim_plc_cfg sc;
    sim_plc_cfg_defaults(&sc);
    sc.heartbeat_ms = 100;
    sc.n_points = n_points;
    sc.first_track_id = idx * 1000000u + 1;
    for (unsigned i = 0; i < n_points; i++) {
        struct sim_plc_point_cfg *pc = &sc.points[i];
        sim_plc_point_defaults(pc);
        /* Adjacent 19-register read blocks (10 barcode registers) so that the driver reads up
         * to 6 points per request; write blocks at 400 + 10*i. */
        pc->map.read_base = (uint16_t)(19 * i);
        pc->map.write_base = (uint16_t)(400 + 10 * i);
        pc->map.barcode_regs = 10;
        pc->belt_mm_s = 20000;
        pc->item_len_mm = 100;
        pc->min_gap_mm = 100;
        pc->scanner_pos_mm = 200;
        pc->scanner_to_divert_mm = 4000;
        pc->actuation_ms = 20;
        pc->n_lanes = 1;
        pc->lane_capacity[0] = 0;
        pc->reject_lane_id = 9;
        pc->confirm_queue = 64;
        snprintf(pc->barcode_prefix, sizeof(pc->barcode_prefix), "B");
    }
    return sim_plc_open(out, &sc);
}

/* The child: opens the emulators, publishes their ports, feeds items while asked, exits when
 * told to. */
static void floor_main(void)
{
    pthread_t th;
    int rc = 0;
    if (nice(10) == -1)
        perror("bench-control: nice");
    for (unsigned s = 0; s < N_SIMS && rc == 0; s++)
        rc = open_sim(s, sim_points[s], &sims[s]);
    if (rc == 0)
        rc = open_sim(N_SIMS, 1, &sims[N_SIMS]);
    if (rc != 0) {
        fprintf(stderr, "bench-control: an emulator did not start\n");
        _exit(1);
    }
    for (unsigned s = 0; s <= N_SIMS; s++)
        sh->ports[s] = sim_plc_port(sims[s]);
    atomic_store(&sh->ready, true);
    while (!atomic_load(&sh->feeding) && !atomic_load(&sh->quit))
        usleep(1000);
    if (!atomic_load(&sh->quit)) {
        pthread_create(&th, NULL, feeder, NULL);
        pthread_join(th, NULL);
    }
    while (!atomic_load(&sh->quit))
        usleep(10000);
    for (unsigned s = 0; s <= N_SIMS; s++)
        sim_plc_close(sims[s]);
    _exit(0);
}

static int write_config(const char *path, struct harness_redis *r, struct harness_mqtt *m)
{
    FILE *f = fopen(path, "w");
    unsigned k = 0;
    if (!f)
        return -1;
    fprintf(f, "site: {id: bench, name: Bench, timezone: UTC}\n"
               "warehouses:\n"
               "  - {code: WH1, name: Main, locations: [{path: WH1/Pack, type: packing}]}\n"
               "devices:\n");
    for (unsigned s = 0; s < N_SIMS; s++)
        fprintf(f,
                "  - {id: plc%u, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:%u\","
                " poll_ms: 5, heartbeat_ms: 250, timeout_ms: 50}\n",
                s, sh->ports[s]);
    fprintf(f,
            "  - {id: sc1, kind: scale, model: mt-sics, uri: \"serial:///dev/ttyUSB0?baud=9600\"}\n"
            "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:9100\"}\n"
            "conveyor:\n  scan_points:\n");
    for (unsigned s = 0; s < N_SIMS; s++)
        for (unsigned p = 0; p < sim_points[s]; p++, k++)
            fprintf(f,
                    "    - {id: sp%u, plc: plc%u, read_base: %u, write_base: %u, barcode_regs: 10,"
                    " decision_budget_ms: 100, lanes: [P%u, R%u]}\n",
                    k, s, 19 * p, 400 + 10 * p, k, k);
    fprintf(f, "  lanes:\n");
    for (unsigned i = 0; i < k; i++)
        fprintf(f,
                "    - {id: P%u, number: 1, destination: P1}\n"
                "    - {id: R%u, number: 9, destination: reject}\n",
                i, i);
    fprintf(f,
            "stations:\n"
            "  - {id: P1, kind: pack, location: WH1/Pack, scale: sc1, printer: pr1}\n"
            "labels: {company_prefix: \"0614141\", ship_from: {name: Test DC, street: Dock 1,\n"
            "         city: Town, postcode: \"12345\", country: DE}}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-bench, user: wcs,\n"
            "       password_file: %s, qos: 0}\n",
            harness_redis_port(r), harness_redis_user(r), harness_redis_password_file(r),
            harness_mqtt_port(m), harness_mqtt_password_file(m, "wcs"));
    fclose(f);
    return 0;
}

static int preload(struct harness_redis *r, unsigned per_sim)
{
    redisContext *c = redisConnect("127.0.0.1", harness_redis_port(r));
    redisReply *x;
    unsigned n = 0;
    if (!c || c->err)
        return -1;
    x = redisCommand(c, "AUTH %s %s", harness_redis_user(r), harness_redis_password(r));
    freeReplyObject(x);
    redisAppendCommand(c, "HSET wcs:{bench}:order:O1 state picking pack_station P1");
    n++;
    for (unsigned s = 0; s < N_SIMS; s++)
        for (unsigned i = 0; i < per_sim; i++, n++)
            redisAppendCommand(c, "HSET wcs:{bench}:tote:B%08u order O1", s * 1000000u + 1 + i);
    for (unsigned i = 0; i < n; i++) {
        if (redisGetReply(c, (void **)&x) != REDIS_OK) {
            redisFree(c);
            return -1;
        }
        freeReplyObject(x);
    }
    redisFree(c);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n);
    return v[i < n ? i : n - 1];
}

/* Bare libmodbus: read the 29-register block and write the 5-register block, N times. */
static uint64_t baseline_modbus(uint16_t port, size_t n, uint64_t *p50)
{
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    uint16_t regs[64], w[5] = {0};
    uint64_t *v = calloc(n, sizeof(*v)), p99;
    if (!ctx || !v || modbus_connect(ctx) != 0)
        return 0;
    modbus_set_slave(ctx, 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = clock_real_mono_us();
        if (modbus_read_registers(ctx, 0, 29, regs) != 29 ||
            modbus_write_registers(ctx, 100, 5, w) != 5)
            break;
        v[i] = clock_real_mono_us() - t0;
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    *p50 = pct(v, n, 0.5);
    p99 = pct(v, n, 0.99);
    modbus_close(ctx);
    modbus_free(ctx);
    free(v);
    return p99;
}

static uint64_t baseline_redis(struct harness_redis *r, size_t n, uint64_t *p50)
{
    redisContext *c = redisConnect("127.0.0.1", harness_redis_port(r));
    redisReply *x;
    uint64_t *v = calloc(n, sizeof(*v)), p99;
    if (!c || c->err || !v)
        return 0;
    x = redisCommand(c, "AUTH %s %s", harness_redis_user(r), harness_redis_password(r));
    freeReplyObject(x);
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = clock_real_mono_us();
        x = redisCommand(c, "HSET wcs:{bench}:baseline sort_state routed seq %d", (int)i);
        v[i] = clock_real_mono_us() - t0;
        if (!x || x->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "bench-control: baseline HSET failed: %s\n", x ? x->str : c->errstr);
            freeReplyObject(x);
            redisFree(c);
            free(v);
            return 0;
        }
        freeReplyObject(x);
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    *p50 = pct(v, n, 0.5);
    p99 = pct(v, n, 0.99);
    redisFree(c);
    free(v);
    return p99;
}

/* CPU time of the calling thread (the daemon's loop), microseconds. */
static uint64_t thread_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

static void run_for(struct wcsd *d, unsigned ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)ms * 1000;
    while (clock_real_mono_us() < end)
        (void)loop_run_once(wcsd_loop(d), 5);
}

int main(int argc, char **argv)
{
    static const unsigned steps[] = {1000, 2000, 5000};
    struct harness_user users[1] = {{"wcs", "", HARNESS_ROLE_SERVICE}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 1, .site = "bench"};
    struct harness_redis *redis = NULL;
    struct harness_mqtt *mqtt = NULL;
    char err[HARNESS_ERR_MAX], dir[64] = "/tmp/bench-control-XXXXXX", cfg[128];
    struct wcsd_opts o = {0};
    struct wcsd *d = NULL;
    struct wcsd_kpi k;
    pid_t floor_pid = -1;
    unsigned step_s = argc > 1 ? (unsigned)atoi(argv[1]) : 5;
    /* As `wcs run --rt-priority N` (0: the default scheduling, for comparison). */
    int rt_priority = argc > 2 ? atoi(argv[2]) : 10;
    /* Totes for every item a point of the busiest emulator (8 of 100) can see in the run. */
    unsigned per_sim = (unsigned)(0.08 * (1000 + 8000.0 * (step_s + 0.5))) + 500;
    double last_rate = 0;
    uint64_t last[4] = {0}, mb50 = 0, rd50 = 0, mb99, rd99;
    int rc = 1;

    if (step_s == 0 || step_s > 600 || rt_priority < 0 || rt_priority > 99) {
        fprintf(stderr, "usage: bench-control [STEP_S [RT_PRIORITY]]\n");
        return 2;
    }
    log_init(NULL, LOGL_WARN);
    if (!mkdtemp(dir))
        return 1;
    snprintf(cfg, sizeof(cfg), "%s/site.yaml", dir);
    if (harness_redis_start(&redis, NULL, err, sizeof(err)) != 0 ||
        harness_mqtt_start(&mqtt, &mo, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-control: %s\n", err);
        goto out;
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        goto out;
    for (unsigned s = 0; s < N_SIMS; s++)
        sim_points[s] = s < N_SIMS - 1 ? 8 : POINTS_TOTAL - 8 * (N_SIMS - 1);
    floor_pid = fork();
    if (floor_pid == 0)
        floor_main();
    for (int i = 0; i < 1000 && !atomic_load(&sh->ready); i++)
        usleep(10000);
    if (floor_pid < 0 || !atomic_load(&sh->ready) || write_config(cfg, redis, mqtt) != 0 ||
        preload(redis, per_sim) != 0) {
        fprintf(stderr, "bench-control: setup failed\n");
        goto out;
    }
    o.config_path = cfg;
    o.kpi_interval_ms = 1000;
    o.rt_priority = rt_priority;
    if (wcsd_open(&d, &o) != 0) {
        fprintf(stderr, "bench-control: daemon did not start\n");
        goto out;
    }
    for (int i = 0; i < 3000 && !wcsd_is_ready(d); i++)
        run_for(d, 10);
    if (!wcsd_is_ready(d)) {
        fprintf(stderr, "bench-control: daemon not ready\n");
        goto out;
    }
    printf("ready: %d scan points on %d emulated PLCs, %u totes loaded\n", POINTS_TOTAL, N_SIMS,
           N_SIMS * per_sim);
    atomic_store(&sh->rate_per_s, 500);
    atomic_store(&sh->feeding, true);
    run_for(d, 2000);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        uint64_t dec0, fed0, cpu0;
        double rate, load[1] = {0};
        atomic_store(&sh->rate_per_s, steps[i]);
        run_for(d, 300); /* settle at the new rate */
        wcsd_get_kpi(d, &k);
        dec0 = k.decisions;
        fed0 = atomic_load(&sh->fed);
        wcsd_kpi_reset_latency(d);
        cpu0 = thread_cpu_us();
        run_for(d, step_s * 1000);
        wcsd_get_kpi(d, &k);
        rate = (double)(k.decisions - dec0) / step_s;
        (void)getloadavg(load, 1);
        printf("step %u/s: decisions_per_s=%.0f inducted_per_s=%.0f p50_us=%llu p99_us=%llu "
               "p999_us=%llu max_us=%llu late=%llu decide_failed=%llu lost=%llu "
               "loop_cpu_us_per_item=%.1f loadavg=%.1f\n",
               steps[i], rate, (double)(atomic_load(&sh->fed) - fed0) / step_s,
               (unsigned long long)k.latency.p50_us, (unsigned long long)k.latency.p99_us,
               (unsigned long long)k.latency.p999_us, (unsigned long long)k.latency.max_us,
               (unsigned long long)k.late, (unsigned long long)k.decide_failed,
               (unsigned long long)k.lost,
               (double)(thread_cpu_us() - cpu0) /
                   (double)(k.decisions - dec0 ? k.decisions - dec0 : 1),
               load[0]);
        last_rate = rate;
        last[0] = k.latency.p50_us;
        last[1] = k.latency.p99_us;
        last[2] = k.latency.p999_us;
        last[3] = k.latency.max_us;
    }
    atomic_store(&sh->feeding, false);
    run_for(d, 1500);
    wcsd_get_kpi(d, &k);
    printf("totals: scans=%llu scans_missed=%llu decisions=%llu confirms=%llu diverted=%llu "
           "unknown=%llu late=%llu unmatched=%llu feed_refused=%llu table_decisions=%llu "
           "table_disagreed=%llu\n",
           (unsigned long long)k.scans, (unsigned long long)k.scans_missed,
           (unsigned long long)k.decisions, (unsigned long long)k.confirms,
           (unsigned long long)k.confirms_diverted, (unsigned long long)k.unknown_totes,
           (unsigned long long)k.late, (unsigned long long)k.confirms_unmatched,
           (unsigned long long)atomic_load(&sh->feed_refused),
           (unsigned long long)k.table_decisions, (unsigned long long)k.table_disagreed);
    mb99 = baseline_modbus(sh->ports[N_SIMS], 3000, &mb50);
    rd99 = baseline_redis(redis, 3000, &rd50);
    printf("baseline: bare libmodbus read 29 + write 5 p50_us=%llu p99_us=%llu; bare hiredis "
           "HSET p50_us=%llu p99_us=%llu\n",
           (unsigned long long)mb50, (unsigned long long)mb99, (unsigned long long)rd50,
           (unsigned long long)rd99);
    printf("decisions_per_s=%.0f p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu "
           "baseline_p99_us=%llu\n",
           last_rate, (unsigned long long)last[0], (unsigned long long)last[1],
           (unsigned long long)last[2], (unsigned long long)last[3],
           (unsigned long long)(mb99 + rd99));
    rc = 0;
out:
    wcsd_close(d);
    if (floor_pid > 0) {
        atomic_store(&sh->feeding, false);
        atomic_store(&sh->quit, true);
        waitpid(floor_pid, NULL, 0);
    }
    harness_mqtt_free(mqtt);
    harness_redis_free(redis);
    unlink(cfg);
    rmdir(dir);
    return rc;
}
