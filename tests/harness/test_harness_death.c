/* Integration test: servers started by the harness die with the process that started them, even
 * when it is killed by SIGKILL (no cleanup runs) or by a Ctrl-C's SIGINT. A child process starts
 * redis-server and mosquitto, reports their pids, and is killed; the servers must be gone and
 * their ports free within a few seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/harness.h"
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct started {
    pid_t redis_pid, mqtt_pid;
    int redis_port, mqtt_port, ws_port;
    char redis_dir[256], mqtt_dir[256];
};

static void child_main(int fd)
{
    static const struct harness_user users[] = {{"wcs", "", HARNESS_ROLE_SERVICE}};
    struct harness_mqtt_opts mo = {.users = users, .n_users = 1, .site = "d"};
    struct harness_redis *r;
    struct harness_mqtt *m;
    char err[HARNESS_ERR_MAX];
    if (harness_redis_start(&r, NULL, err, sizeof(err)) < 0 ||
        harness_mqtt_start(&m, &mo, err, sizeof(err)) < 0) {
        dprintf(fd, "ERR %s\n", err);
        _exit(1);
    }
    dprintf(fd, "%ld %ld %d %d %d %s %s\n", (long)harness_redis_pid(r), (long)harness_mqtt_pid(m),
            harness_redis_port(r), harness_mqtt_port(m), harness_mqtt_ws_port(m),
            harness_redis_dir(r), harness_mqtt_dir(m));
    close(fd);
    for (;;)
        pause();
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void read_started(int fd, struct started *s)
{
    char line[1024];
    size_t n = 0;
    long rp, mp;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n + 1 < sizeof(line)) {
        ssize_t r;
        if (poll(&p, 1, 30000) <= 0)
            fail_msg("the child did not report within 30 s");
        r = read(fd, line + n, sizeof(line) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(line, '\n', n))
            break;
    }
    line[n] = '\0';
    if (strncmp(line, "ERR", 3) == 0 || n == 0)
        fail_msg("the child could not start the services: %s", line);
    if (sscanf(line, "%ld %ld %d %d %d %255s %255s", &rp, &mp, &s->redis_port, &s->mqtt_port,
               &s->ws_port, s->redis_dir, s->mqtt_dir) != 7)
        fail_msg("bad report '%s'", line);
    s->redis_pid = (pid_t)rp;
    s->mqtt_pid = (pid_t)mp;
}

static bool port_free_within(int port, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        int lo, other;
        assert_int_equal(listeners_on_port(port, &lo, &other), 0);
        if (lo + other == 0)
            return true;
        usleep(50000);
    }
    return false;
}

static void start_then_kill(int sig)
{
    struct started s;
    int p[2], status;
    pid_t child;
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[0]);
        child_main(p[1]);
    }
    close(p[1]);
    read_started(p[0], &s);
    close(p[0]);
    assert_false(process_gone(s.redis_pid));
    assert_false(process_gone(s.mqtt_pid));

    assert_int_equal(kill(child, sig), 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), sig);

    if (!process_gone_within(s.redis_pid, 5000))
        fail_msg("redis-server %ld outlived its parent", (long)s.redis_pid);
    if (!process_gone_within(s.mqtt_pid, 5000))
        fail_msg("mosquitto %ld outlived its parent", (long)s.mqtt_pid);
    assert_true(port_free_within(s.redis_port, 3000));
    assert_true(port_free_within(s.mqtt_port, 3000));
    assert_true(port_free_within(s.ws_port, 3000));
    /* Nobody ran the cleanup: remove what the killed child left. */
    nftw(s.redis_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    nftw(s.mqtt_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_servers_die_with_sigkilled_parent(void **state)
{
    (void)state;
    start_then_kill(SIGKILL);
}

static void test_servers_die_with_interrupted_parent(void **state)
{
    (void)state;
    start_then_kill(SIGINT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_servers_die_with_sigkilled_parent),
        cmocka_unit_test(test_servers_die_with_interrupted_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
