/* Integration test of `wcs run` as a child process, the way systemd runs it: a config that fails
 * the check exits 1 with its errors; a good one sends READY=1 after the first PLC cycle, sorts a
 * tote, writes its KPI hash, survives SIGHUP with a broken config, and on SIGTERM sends
 * STOPPING=1 and exits 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "harness/harness.h"
#include "sim/plc.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

struct fx {
    char dir[128], cfg[192], notify[192], log[192];
    struct harness_redis *redis;
    struct harness_mqtt *mqtt;
    struct sim_plc *sim;
    int nfd;
};
static struct fx F;

static uint64_t now_ms(void)
{
    return clock_real_mono_us() / 1000;
}

static void write_config(bool bad)
{
    FILE *f = fopen(F.cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "site: {id: r, name: Run, timezone: UTC}\n"
            "warehouses:\n"
            "  - {code: WH1, name: Main, locations: [{path: WH1/Pack, type: packing}]}\n"
            "devices:\n"
            "  - {id: plc1, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:%u\",\n"
            "     poll_ms: 5, heartbeat_ms: 250, timeout_ms: 500}\n"
            "  - {id: sc1, kind: scale, model: mt-sics, uri: \"serial:///dev/ttyUSB0?baud=9600\"}\n"
            "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:9100\"}\n"
            "conveyor:\n"
            "  scan_points:\n"
            "    - {id: sp1, plc: plc1, read_base: 0, write_base: 100, lanes: [L1, LR]%s}\n"
            "  lanes:\n"
            "    - {id: L1, number: 1, destination: P1}\n"
            "    - {id: LR, number: 9, destination: reject}\n"
            "stations:\n"
            "  - {id: P1, kind: pack, location: WH1/Pack, scale: sc1, printer: pr1}\n"
            "labels: {company_prefix: \"0614141\", ship_from: {name: Test DC, street: Dock 1,\n"
            "         city: Town, postcode: \"12345\", country: DE}}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-run, user: wcs,\n"
            "       password_file: %s}\n",
            sim_plc_port(F.sim), bad ? ", max_recirc: 5x0" : "", harness_redis_port(F.redis),
            harness_redis_user(F.redis), harness_redis_password_file(F.redis),
            harness_mqtt_port(F.mqtt), harness_mqtt_password_file(F.mqtt, "wcs"));
    fclose(f);
}

/* wcs run with up to four options (NULL-terminated) before the usual ones. */
static pid_t spawn_wcs_with(const char *const *opts)
{
    char *argv[10] = {WCS_BIN, "run"};
    size_t n = 2;
    for (; opts && *opts && n < 6; opts++)
        argv[n++] = (char *)*opts;
    argv[n++] = "--kpi-interval-ms";
    argv[n++] = "200";
    argv[n++] = F.cfg;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, F.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(posix_spawn(&pid, WCS_BIN, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static pid_t spawn_wcs(void)
{
    return spawn_wcs_with(NULL);
}

static void log_has(const char *want)
{
    char text[4096] = "";
    FILE *f = fopen(F.log, "r");
    size_t n;
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    if (!strstr(text, want))
        fail_msg("wcs.log lacks \"%s\": %s", want, text);
}

/* Waits for a notify message equal to text (or containing it with prefix match off). */
static bool wait_note(const char *text, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    char buf[512];
    while (now_ms() < end) {
        ssize_t n = recv(F.nfd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n > 0) {
            char *save = NULL, *l;
            buf[n] = '\0';
            for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (strcmp(l, text) == 0)
                    return true;
            continue;
        }
        usleep(5000);
    }
    return false;
}

static int wait_exit(pid_t pid, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    int st;
    while (now_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static int setup(void **state)
{
    struct harness_user users[1] = {{"wcs", "", HARNESS_ROLE_SERVICE}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 1, .site = "r"};
    struct sim_plc_cfg sc;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char err[HARNESS_ERR_MAX];
    (void)state;
    snprintf(F.dir, sizeof(F.dir), "/tmp/wcs-run-XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(F.cfg, sizeof(F.cfg), "%s/site.yaml", F.dir);
    snprintf(F.notify, sizeof(F.notify), "%s/notify", F.dir);
    snprintf(F.log, sizeof(F.log), "%s/wcs.log", F.dir);
    if (harness_redis_start(&F.redis, NULL, err, sizeof(err)) != 0 ||
        harness_mqtt_start(&F.mqtt, &mo, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    sim_plc_cfg_defaults(&sc);
    sc.heartbeat_ms = 250;
    sim_plc_point_defaults(&sc.points[0]);
    sc.points[0].reject_lane_id = 9;
    sc.points[0].scanner_to_divert_mm = 1000;
    sc.points[0].actuation_ms = 100;
    if (sim_plc_open(&F.sim, &sc) != 0)
        return -1;
    F.nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (strlen(F.notify) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, F.notify, strlen(F.notify) + 1);
    if (F.nfd < 0 || bind(F.nfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return -1;
    setenv("NOTIFY_SOCKET", F.notify, 1);
    unsetenv("WATCHDOG_USEC");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sim_plc_close(F.sim);
    harness_mqtt_free(F.mqtt);
    harness_redis_free(F.redis);
    close(F.nfd);
    unlink(F.notify);
    unlink(F.cfg);
    unlink(F.log);
    rmdir(F.dir);
    return 0;
}

static void test_bad_config_exits_1(void **state)
{
    (void)state;
    write_config(true);
    assert_int_equal(wait_exit(spawn_wcs(), 10000), 1);
    log_has("max_recirc");
}

/* --clock-file: a missing file or one that is not a clock stops the start with the reason;
 * with --clock-speed it is a usage error. */
static void test_bad_clock_file(void **state)
{
    char path[300];
    FILE *f;
    (void)state;
    write_config(false);
    snprintf(path, sizeof(path), "%s/clock", F.dir);
    const char *missing[] = {"--clock-file", path, NULL};
    assert_int_equal(wait_exit(spawn_wcs_with(missing), 10000), 1);
    log_has("clock file");
    log_has(strerror(ENOENT));
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a clock", f);
    fclose(f);
    assert_int_equal(wait_exit(spawn_wcs_with(missing), 10000), 1);
    log_has("clock file");
    const char *both[] = {"--clock-file", path, "--clock-speed", "10", NULL};
    assert_int_equal(wait_exit(spawn_wcs_with(both), 10000), 2);
    log_has("--clock-file excludes");
    unlink(path);
}

/* Whether HGET key field is the string want. */
static bool hget_is(redisContext *c, const char *key, const char *field, const char *want)
{
    redisReply *r = redisCommand(c, "HGET %s %s", key, field);
    bool is = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, want) == 0;
    freeReplyObject(r);
    return is;
}

static void test_run_ready_sort_reload_stop(void **state)
{
    redisContext *c;
    redisReply *r;
    uint32_t track;
    struct sim_plc_item it = {0};
    uint64_t end;
    pid_t pid;
    (void)state;
    write_config(false);
    {
        redisContext *rc = redisConnect("127.0.0.1", harness_redis_port(F.redis));
        redisReply *x = redisCommand(rc, "AUTH %s %s", harness_redis_user(F.redis),
                                     harness_redis_password(F.redis));
        freeReplyObject(x);
        x = redisCommand(rc, "HSET wcs:{r}:order:O1 state picking pack_station P1");
        freeReplyObject(x);
        x = redisCommand(rc, "HSET wcs:{r}:tote:T1 order O1");
        freeReplyObject(x);
        redisFree(rc);
    }
    pid = spawn_wcs();
    assert_true(wait_note("READY=1", 10000));
    assert_int_equal(sim_plc_induct(F.sim, 0, "T1", SIM_READ_GOOD, &track), 0);
    end = now_ms() + 5000;
    while (now_ms() < end && (sim_plc_item(F.sim, track, &it) != 0 || it.confirm_result == 0))
        usleep(10000);
    assert_int_equal(it.state, SIM_ITEM_DIVERTED);
    assert_int_equal(it.lane, 1);
    c = redisConnect("127.0.0.1", harness_redis_port(F.redis));
    r = redisCommand(c, "AUTH %s %s", harness_redis_user(F.redis), harness_redis_password(F.redis));
    freeReplyObject(r);
    /* The KPIs are written once a period and the confirmation a moment after the divert: poll
     * (a loaded machine may take several periods) rather than sleep one period. */
    end = now_ms() + 5000;
    while (now_ms() < end && !(hget_is(c, "wcs:{r}:kpi:sorter", "decisions", "1") &&
                               hget_is(c, "wcs:{r}:tote:T1", "sort_state", "arrived")))
        usleep(20000);
    r = redisCommand(c, "HGET wcs:{r}:kpi:sorter decisions");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "1");
    freeReplyObject(r);
    r = redisCommand(c, "HGET wcs:{r}:tote:T1 sort_state");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "arrived");
    freeReplyObject(r);
    redisFree(c);

    /* A broken config on SIGHUP is refused: the daemon keeps running. */
    write_config(true);
    kill(pid, SIGHUP);
    usleep(300000);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);

    kill(pid, SIGTERM);
    assert_true(wait_note("STOPPING=1", 3000));
    assert_int_equal(wait_exit(pid, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config_exits_1),
        cmocka_unit_test(test_bad_clock_file),
        cmocka_unit_test(test_run_ready_sort_reload_stop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
