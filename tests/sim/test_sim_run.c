/* End-to-end test of `wcs sim` (the binary, as a user runs it): the short scenario on the small
 * site (redis-server, mosquitto, the emulated PLC, scale and printers, wcs import and wcs run
 * as children, agents, a PLC disconnect and a wcs SIGKILL) passes every expectation and writes
 * the report; a scenario with an expectation that cannot hold exits 1 with a FAIL line; a bad
 * scenario exits 1 naming file:line:col and starts nothing; a run killed with SIGKILL leaves no
 * wcs behind; a drain_until_done run ends once its orders shipped; commands keyed while a
 * user's link is down (user_offline) are held and sent when it is back, and orders refused
 * while Redis is down are sent again. A passed test removes its
 * run folder (/tmp/wcs-simtest-*); a failed one keeps it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "tfile.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* mkdtemp(3) template of each test's run folder (mkdtemp replaces the six X). */
#define SIMTEST_DIR "/tmp/wcs-simtest-XXXXXX"

/* Runs `wcs sim ARGS` with stdout and stderr into files of dir; returns the exit status. */
static int run_sim(const char *dir, const char *scenario, char *out, size_t out_len)
{
    char cmd[2048], path[512];
    FILE *f;
    size_t n;
    int st;
    snprintf(cmd, sizeof(cmd), "%s sim %s --report %s --quiet >%s/out.txt 2>&1", WCS_BIN, scenario,
             dir, dir);
    st = system(cmd);
    snprintf(path, sizeof(path), "%s/out.txt", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(out, 1, out_len - 1, f);
    out[n] = '\0';
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs scenario with the new temporary folder dir (a mkdtemp template) as its report folder,
 * its output into out; the test fails, showing the output, unless wcs sim exits 0. */
static void run_passing(char *dir, const char *scenario, char *out, size_t out_len)
{
    int rc;
    assert_non_null(mkdtemp(dir));
    rc = run_sim(dir, scenario, out, out_len);
    if (rc != 0)
        fail_msg("wcs sim exited %d:\n%s", rc, out);
}

/* The text of the run folder's file name (malloc'd); the test fails when it cannot be read. */
static char *run_file(const char *dir, const char *name)
{
    char path[600];
    char *text;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    text = tfile_read(path);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

static void test_short_passes(void **state)
{
    char dir[] = SIMTEST_DIR, out[16384], path[600];
    char *html;
    struct stat st;
    (void)state;
    run_passing(dir, SIM_SCEN_DIR "/short.yaml", out, sizeof(out));
    assert_null(strstr(out, "FAIL"));
    assert_non_null(strstr(out, "PASS  totes_accounted"));
    assert_non_null(strstr(out, "PASS  stock_conserved (journal)"));
    assert_non_null(strstr(out, "PASS  alarm                        plc.plc1.link"));
    assert_non_null(strstr(out, "0 failed"));
    assert_non_null(strstr(out, "x, the checks ")); /* their share of the wall time */
    assert_non_null(strstr(out, "PLC plc1: inducted=9 "));
    html = run_file(dir, "index.html");
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "Per-lane counts"));
    assert_non_null(strstr(html, "Backlog against carrier cutoffs"));
    assert_non_null(strstr(html, "plc.plc1.link"));
    assert_null(strstr(html, "src=\"http")); /* self-contained: nothing from the network */
    free(html);
    snprintf(path, sizeof(path), "%s/lanes.svg", dir);
    assert_int_equal(stat(path, &st), 0);
    html = run_file(dir, "site.yaml");
    /* The derived config points the PLC at its emulator on loopback. */
    assert_null(strstr(html, "10.0.0.10"));
    assert_non_null(strstr(html, "tcp://127.0.0.1:"));
    free(html);
    assert_int_equal(tfile_remove_tree(dir), 0);
}

/* A tote still on the belt when the scenario's time is up: wcs is stopped only after it
 * arrived and its confirmation was acknowledged, so its record agrees with the PLC (before,
 * wcs was stopped first and the check compared "routed" with the PLC's "diverted"). */
static void test_last_tote_settles(void **state)
{
    char dir[] = SIMTEST_DIR, out[16384];
    (void)state;
    run_passing(dir, SIM_SCEN_DIR "/last-tote.yaml", out, sizeof(out));
    /* Diverted, or rejected when a loaded machine made the decision late: either way wcs
     * acknowledged the confirmation before it was stopped and its record agrees. */
    if (!strstr(out, "PASS  totes_accounted              1 inducted: 0 still on the belt, 0 "
                     "unread (rejected by the PLC); 1 tote records checked against their last "
                     "trip, 0 disagreements") ||
        !strstr(out, "confirms=1/1 "))
        fail_msg("the tote on the belt at the end:\n%s", out);
    assert_int_equal(tfile_remove_tree(dir), 0);
}

static void test_failing_expectation(void **state)
{
    char dir[] = SIMTEST_DIR, out[16384];
    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(run_sim(dir, SIM_SCEN_DIR "/fails.yaml", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "FAIL  alarm                        redis.down: raised 0"));
    assert_non_null(strstr(out, "PASS  stock_conserved (redis)"));
    assert_int_equal(tfile_remove_tree(dir), 0);
}

static void test_bad_scenario(void **state)
{
    char dir[] = SIMTEST_DIR, out[16384];
    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(run_sim(dir, SIM_BAD_DIR "/14-fault-kind.yaml", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "14-fault-kind.yaml:4:20: faults[0].kind: expected one of"));
    assert_null(strstr(out, "PASS"));
    assert_int_equal(tfile_remove_tree(dir), 0);
}

/* A child of pid whose command line has word as its second argument ("wcs run ..."), or 0. */
static pid_t child_running(pid_t pid, const char *word)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    while (d && !found && (e = readdir(d))) {
        char path[300], buf[512];
        int ppid = 0, n;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if (read_small_file(path, buf, sizeof(buf)) < 0)
            continue;
        const char *rp = strrchr(buf, ')'); /* "pid (comm) state ppid ..." */
        if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1 || ppid != pid)
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        if ((n = read_small_file(path, buf, sizeof(buf))) < 0)
            continue;
        if (strlen(buf) + 1 < (size_t)n && strcmp(buf + strlen(buf) + 1, word) == 0)
            found = (pid_t)atoi(e->d_name);
    }
    if (d)
        closedir(d);
    return found;
}

/* The runner killed outright (SIGKILL: no handler, no cleanup): the wcs it started ends too
 * (PR_SET_PDEATHSIG; this test is the subreaper that then reaps it), within its drain time. */
static void test_killed_run_leaves_no_wcs(void **state)
{
    char dir[] = SIMTEST_DIR, rep[600], log[600];
    pid_t sim, wcs = 0;
    int st;
    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    snprintf(rep, sizeof(rep), "%s/report", dir);
    snprintf(log, sizeof(log), "%s/out.txt", dir);
    sim = fork();
    assert_true(sim >= 0);
    if (sim == 0) {
        FILE *o = freopen(log, "w", stdout);
        (void)o;
        dup2(1, 2);
        /* The servers' folders, which nobody removes after a SIGKILL, go under dir. */
        setenv("TMPDIR", dir, 1);
        execl(WCS_BIN, "wcs", "sim", SIM_SCEN_DIR "/short.yaml", "--report", rep, "--quiet",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000 && !wcs; i++) {
        wcs = child_running(sim, "run");
        if (!wcs)
            usleep(10000);
    }
    if (!wcs) {
        kill(sim, SIGKILL);
        fail_msg("no `wcs run` under wcs sim within 30 s (see %s)", log);
    }
    assert_int_equal(kill(sim, SIGKILL), 0);
    assert_int_equal(waitpid(sim, &st, 0), sim);
    assert_true(WIFSIGNALED(st));
    /* wcs is reparented to this process: it must exit by itself (SIGTERM, drain <= 5 s). */
    if (!process_gone_within(wcs, 15000)) {
        kill(wcs, SIGKILL);
        waitpid(wcs, &st, 0);
        fail_msg("wcs run (pid %d) still running 15 s after its runner was killed", (int)wcs);
    }
    assert_int_equal(waitpid(wcs, &st, 0), wcs);
    /* Reap whatever else came to this subreaper (the servers die with the runner too). */
    while (waitpid(-1, &st, WNOHANG) > 0)
        ;
    assert_int_equal(tfile_remove_tree(dir), 0);
}

/* drain_until_done: the orders are still on the floor when the scenario's minute is up; the run
 * goes on until all three shipped (orders.shipped passes) and then ends, long before the two
 * hours of drain. */
static void test_drain_until_done(void **state)
{
    char dir[] = SIMTEST_DIR, out[16384];
    char *log;
    const char *sim;
    double sim_s;
    (void)state;
    run_passing(dir, SIM_SCEN_DIR "/drain-done.yaml", out, sizeof(out));
    assert_non_null(strstr(out, "PASS  orders.shipped"));
    assert_non_null(strstr(out, "0 failed"));
    sim = strstr(out, "failed; sim ");
    assert_non_null(sim);
    sim_s = strtod(sim + strlen("failed; sim "), NULL);
    assert_true(sim_s > 60 && sim_s < 3600);
    log = run_file(dir, "sim.log");
    assert_non_null(strstr(log, "drain ends"));
    free(log);
    assert_int_equal(tfile_remove_tree(dir), 0);
}

/* links-down: the ERP's orders are refused while Redis is down and sent again; the supervisor
 * and both pickers key commands while their links are down, each is held and sent when the
 * link is back; every order ships. */
static void test_links_down(void **state)
{
    char dir[] = SIMTEST_DIR, out[16384];
    char *log;
    const char *held, *retried;
    (void)state;
    run_passing(dir, SIM_SCEN_DIR "/links-down.yaml", out, sizeof(out));
    assert_non_null(strstr(out, "PASS  orders.shipped"));
    assert_non_null(strstr(out, "0 failed"));
    held = strstr(out, " held ");
    retried = strstr(out, " retried ");
    /* the pickers' claims and a wave plan held; the three orders sent again */
    if (!held || !retried || strtol(held + strlen(" held "), NULL, 10) < 3 ||
        strtol(retried + strlen(" retried "), NULL, 10) < 3 || !strstr(out, " not sent 0"))
        fail_msg("commands held for their links and refusals retried:\n%s", out);
    log = run_file(dir, "sim.log");
    assert_non_null(strstr(log, "cmd picker1 batch.claim held until its link is up"));
    assert_non_null(strstr(log, "cmd lead wave.plan held until its link is up"));
    assert_non_null(strstr(log, "cmd picker1 batch.claim sent, held until now"));
    {
        const char *ref = strstr(log, "refused order.upsert sim-5-");
        const char *eol = ref ? strchr(ref, '\n') : NULL;
        const char *why = ref ? strstr(ref, "not executed (sent again in 30 s)") : NULL;
        if (!ref || !eol || !why || why > eol)
            fail_msg("no order refused while Redis is down and sent again:\n%s", log);
    }
    free(log);
    assert_int_equal(tfile_remove_tree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_scenario),        cmocka_unit_test(test_last_tote_settles),
        cmocka_unit_test(test_failing_expectation), cmocka_unit_test(test_short_passes),
        cmocka_unit_test(test_drain_until_done),    cmocka_unit_test(test_killed_run_leaves_no_wcs),
        cmocka_unit_test(test_links_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
