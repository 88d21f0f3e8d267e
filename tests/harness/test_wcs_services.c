/* Integration tests of the wcs-services command: the command runs with working WCS_REDIS_* and
 * WCS_MQTT_* settings (checked with redis-cli and mosquitto_pub), its exit status comes back,
 * --env writes the same settings, SIGTERM reaches the command and stops the services, the
 * no-command mode runs until SIGINT, and usage errors exit 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/wcs-services-test-XXXXXX";
static char out_path[256], env_path[256];

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(out_path, sizeof(out_path), "%s/out", tmpdir);
    snprintf(env_path, sizeof(env_path), "%s/env", tmpdir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(out_path);
    unlink(env_path);
    rmdir(tmpdir);
    return 0;
}

/* Starts wcs-services with args (NULL-terminated), stdout and stderr to out_path. */
static pid_t spawn_cli(const char *const *args)
{
    const char *argv[32] = {WCS_SERVICES_BIN};
    size_t n = 1;
    pid_t pid;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(126);
    }
    return pid;
}

/* Runs wcs-services to completion; returns its exit code (128+N for signal N). */
static int run_cli(const char *const *args)
{
    int status;
    pid_t pid = spawn_cli(args);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void read_out(char *buf, size_t cap)
{
    assert_true(read_small_file(out_path, buf, cap) >= 0);
}

/* Finds "export NAME='value'" in text; copies value. */
static bool env_value(const char *text, const char *name, char *out, size_t cap)
{
    char key[128];
    const char *p, *end;
    snprintf(key, sizeof(key), "export %s='", name);
    p = strstr(text, key);
    if (!p)
        return false;
    p += strlen(key);
    end = strchr(p, '\'');
    if (!end)
        return false;
    snprintf(out, cap, "%.*s", (int)(end - p), p);
    return true;
}

static bool path_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_help_and_usage_errors(void **state)
{
    char out[8192];
    (void)state;
    assert_int_equal(run_cli((const char *[]){"--help", NULL}), 0);
    read_out(out, sizeof(out));
    assert_non_null(strstr(out, "usage: wcs-services"));
    assert_non_null(strstr(out, "WCS_REDIS_PASSWORD_FILE"));
    assert_int_equal(run_cli((const char *[]){"--users", "alice:pw:boss", "--", "true", NULL}), 2);
    read_out(out, sizeof(out));
    assert_non_null(strstr(out, "unknown role 'boss'"));
    assert_int_equal(run_cli((const char *[]){"--site", "a/b", "--", "true", NULL}), 2);
    assert_int_equal(run_cli((const char *[]){"--bogus", NULL}), 2);
    assert_int_equal(run_cli((const char *[]){"--users", "wcs:pw:operator", "--", "true", NULL}),
                     2);
}

/* The command talks to both services with the exported settings, as a user would. */
static void test_command_uses_the_services(void **state)
{
    static const char script[] =
        "set -e\n"
        "test \"$WCS_REDIS_HOST\" = 127.0.0.1 && test \"$WCS_MQTT_HOST\" = 127.0.0.1\n"
        "test \"$WCS_MQTT_USER\" = wcs && test \"$WCS_MQTT_SITE\" = s9\n"
        "r=$(redis-cli -h $WCS_REDIS_HOST -p $WCS_REDIS_PORT --user $WCS_REDIS_USER "
        "--pass \"$(cat $WCS_REDIS_PASSWORD_FILE)\" --no-auth-warning SET 'wcs:{s9}:k' v)\n"
        "test \"$r\" = OK\n"
        "mosquitto_pub -h $WCS_MQTT_HOST -p $WCS_MQTT_PORT -u alice "
        "-P \"$(cat $WCS_MQTT_PASSWORD_FILE_ALICE)\" -q 1 -t wcs/v1/s9/cmd/alice/x -m hi\n"
        "test \"$(cat $WCS_MQTT_USERS_DIR/alice.password)\" = alice-pw\n"
        "test -s \"$WCS_MQTT_PASSWORD_FILE_SUP_1\"\n"
        "if mosquitto_pub -h $WCS_MQTT_HOST -p $WCS_MQTT_PORT -u alice -P wrong -t x -m y "
        "2>/dev/null; then exit 1; fi\n"
        "test -n \"$WCS_MQTT_WS_PORT\"\n"
        "exit 7\n";
    char out[8192];
    int rc;
    (void)state;
    rc = run_cli((const char *[]){"--site", "s9", "--users", "alice:alice-pw,sup-1::supervisor",
                                  "--", "sh", "-c", script, NULL});
    read_out(out, sizeof(out));
    if (rc != 7)
        fail_msg("exit %d (7 means every check in the script passed); output:\n%s", rc, out);
}

static void test_env_file_and_cleanup(void **state)
{
    char env[8192], port[16], pwfile[512];
    (void)state;
    assert_int_equal(run_cli((const char *[]){"--redis", "--env", env_path, "--", "true", NULL}),
                     0);
    assert_true(read_small_file(env_path, env, sizeof(env)) > 0);
    assert_true(env_value(env, "WCS_REDIS_PORT", port, sizeof(port)));
    assert_true(atoi(port) > 0);
    assert_true(env_value(env, "WCS_REDIS_PASSWORD_FILE", pwfile, sizeof(pwfile)));
    assert_null(strstr(env, "WCS_MQTT_PORT")); /* --redis only */
    /* The services and their directory are gone once the command exited. */
    assert_false(path_exists(pwfile));
    {
        int lo, other;
        assert_int_equal(listeners_on_port(atoi(port), &lo, &other), 0);
        assert_int_equal(lo + other, 0);
    }
}

static void test_sigterm_reaches_command_and_stops_services(void **state)
{
    char env[8192], port[16], pwfile[512];
    int status, lo, other;
    pid_t pid;
    (void)state;
    unlink(env_path);
    pid = spawn_cli((const char *[]){"--redis", "--env", env_path, "--", "sleep", "30", NULL});
    for (int i = 0; i < 300 && read_small_file(env_path, env, sizeof(env)) <= 0; i++)
        usleep(50000);
    assert_true(env_value(env, "WCS_REDIS_PORT", port, sizeof(port)));
    assert_true(env_value(env, "WCS_REDIS_PASSWORD_FILE", pwfile, sizeof(pwfile)));
    assert_int_equal(listeners_on_port(atoi(port), &lo, &other), 0);
    assert_int_equal(lo, 1);
    assert_true(path_exists(pwfile));
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM); /* sleep died of the SIGTERM */
    assert_false(path_exists(pwfile));
    assert_int_equal(listeners_on_port(atoi(port), &lo, &other), 0);
    assert_int_equal(lo + other, 0);
}

static void test_no_command_runs_until_sigint(void **state)
{
    char out[8192], port[16];
    int status, lo, other;
    pid_t pid;
    (void)state;
    pid = spawn_cli((const char *[]){"--mqtt", NULL});
    for (int i = 0; i < 300; i++) {
        read_out(out, sizeof(out));
        if (strstr(out, "running"))
            break;
        usleep(50000);
    }
    assert_true(env_value(out, "WCS_MQTT_PORT", port, sizeof(port)));
    assert_int_equal(listeners_on_port(atoi(port), &lo, &other), 0);
    assert_int_equal(lo, 1);
    assert_int_equal(kill(pid, SIGINT), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(listeners_on_port(atoi(port), &lo, &other), 0);
    assert_int_equal(lo + other, 0);
}

static void test_missing_command(void **state)
{
    char out[8192];
    (void)state;
    assert_int_equal(run_cli((const char *[]){"--redis", "--", "/nonexistent/cmd", NULL}), 127);
    read_out(out, sizeof(out));
    assert_non_null(strstr(out, "cannot run /nonexistent/cmd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage_errors),
        cmocka_unit_test(test_command_uses_the_services),
        cmocka_unit_test(test_env_file_and_cleanup),
        cmocka_unit_test(test_sigterm_reaches_command_and_stops_services),
        cmocka_unit_test(test_no_command_runs_until_sigint),
        cmocka_unit_test(test_missing_command),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
