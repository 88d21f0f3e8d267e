/* Integration tests of the harness's redis-server: ACL users and refusals seen through hiredis,
 * the password file, the AOF on disk, data surviving kill -9 + restart and stop + restart on
 * the same port, loopback-only binding, and a clear error when the port is taken on restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/harness.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct harness_redis *R;

static int group_setup(void **state)
{
    char err[HARNESS_ERR_MAX];
    int rc = harness_redis_start(&R, NULL, err, sizeof(err));
    (void)state;
    if (rc < 0) {
        fprintf(stderr, "harness_redis_start: %d %s\n", rc, err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_redis_free(R);
    return 0;
}

/* Connect and command timeout: Redis answers in milliseconds, but on a loaded machine its main
 * thread can stall on a postponed AOF write (see test_aof_written); only a hang should fail. */
static const struct timeval ANSWER_TV = {.tv_sec = 10};

static redisContext *connect_plain(void)
{
    struct timeval tv = ANSWER_TV;
    redisContext *c = redisConnectWithTimeout(harness_redis_host(R), harness_redis_port(R), tv);
    assert_non_null(c);
    if (c->err)
        fail_msg("connect to %d: %s", harness_redis_port(R), c->errstr);
    redisSetTimeout(c, tv);
    return c;
}

/* Runs a command and returns its reply as "+text" (status/string), ":n", "-ERR..." or "nil". */
static void command(redisContext *c, char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r)
        fail_msg("redis I/O error: %s", c->errstr);
    switch (r->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING:
        snprintf(out, cap, "+%s", r->str);
        break;
    case REDIS_REPLY_ERROR:
        snprintf(out, cap, "-%s", r->str);
        break;
    case REDIS_REPLY_INTEGER:
        snprintf(out, cap, ":%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        snprintf(out, cap, "nil");
        break;
    default:
        snprintf(out, cap, "type%d", r->type);
    }
    freeReplyObject(r);
}

static redisContext *connect_as(const char *user, const char *password)
{
    char rep[256];
    redisContext *c = connect_plain();
    command(c, rep, sizeof(rep), "AUTH %s %s", user, password);
    assert_string_equal(rep, "+OK");
    return c;
}

static void assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("'%s' does not start with '%s'", s, prefix);
}

static void test_wcs_user_set_get(void **state)
{
    char rep[256];
    redisContext *c = connect_as(harness_redis_user(R), harness_redis_password(R));
    (void)state;
    command(c, rep, sizeof(rep), "SET wcs:{t}:k %s", "v1");
    assert_string_equal(rep, "+OK");
    command(c, rep, sizeof(rep), "GET wcs:{t}:k");
    assert_string_equal(rep, "+v1");
    command(c, rep, sizeof(rep), "INFO server");
    assert_prefix(rep, "+# Server");
    /* Outside its key pattern and dangerous commands are refused. */
    command(c, rep, sizeof(rep), "SET other:k x");
    assert_prefix(rep, "-NOPERM");
    command(c, rep, sizeof(rep), "FLUSHALL");
    assert_prefix(rep, "-NOPERM");
    command(c, rep, sizeof(rep), "CONFIG SET appendonly no");
    assert_prefix(rep, "-NOPERM");
    redisFree(c);
}

static void test_refused_without_credentials(void **state)
{
    char rep[256];
    redisContext *c = connect_plain();
    (void)state;
    command(c, rep, sizeof(rep), "SET wcs:{t}:k x");
    assert_prefix(rep, "-NOAUTH");
    command(c, rep, sizeof(rep), "GET wcs:{t}:k");
    assert_prefix(rep, "-NOAUTH");
    /* The default user holds permissions (for the AOF replay) but is off: no login. */
    command(c, rep, sizeof(rep), "AUTH default %s", harness_redis_password(R));
    assert_prefix(rep, "-WRONGPASS");
    command(c, rep, sizeof(rep), "AUTH %s", "");
    assert_prefix(rep, "-");
    command(c, rep, sizeof(rep), "GET wcs:{t}:k");
    assert_prefix(rep, "-NOAUTH");
    redisFree(c);
}

static void test_refused_wrong_password(void **state)
{
    char rep[256];
    redisContext *c = connect_plain();
    (void)state;
    command(c, rep, sizeof(rep), "AUTH %s %s", harness_redis_user(R), "not-the-password");
    assert_prefix(rep, "-WRONGPASS");
    /* The default user is off: even its (empty) password does not log in. */
    command(c, rep, sizeof(rep), "AUTH default %s", "");
    assert_prefix(rep, "-WRONGPASS");
    command(c, rep, sizeof(rep), "AUTH %s", harness_redis_password(R));
    assert_prefix(rep, "-WRONGPASS");
    command(c, rep, sizeof(rep), "SET wcs:{t}:k x");
    assert_prefix(rep, "-NOAUTH");
    redisFree(c);
}

static void test_read_only_user(void **state)
{
    char rep[256];
    redisContext *w = connect_as(harness_redis_user(R), harness_redis_password(R));
    redisContext *c = connect_as(harness_redis_ro_user(R), harness_redis_ro_password(R));
    (void)state;
    command(w, rep, sizeof(rep), "SET wcs:{t}:ro %s", "seen");
    assert_string_equal(rep, "+OK");
    command(c, rep, sizeof(rep), "GET wcs:{t}:ro");
    assert_string_equal(rep, "+seen");
    command(c, rep, sizeof(rep), "SET wcs:{t}:ro %s", "changed");
    assert_prefix(rep, "-NOPERM");
    command(c, rep, sizeof(rep), "DEL wcs:{t}:ro");
    assert_prefix(rep, "-NOPERM");
    command(w, rep, sizeof(rep), "GET wcs:{t}:ro");
    assert_string_equal(rep, "+seen");
    redisFree(c);
    redisFree(w);
}

static void test_password_file(void **state)
{
    struct stat st;
    char buf[256];
    (void)state;
    assert_int_equal(stat(harness_redis_password_file(R), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(read_small_file(harness_redis_password_file(R), buf, sizeof(buf)) > 0);
    assert_string_equal(buf, harness_redis_password(R));
    assert_int_equal(strlen(buf), 32); /* generated: 16 random bytes in hex */
}

static void test_loopback_only(void **state)
{
    int lo, other;
    (void)state;
    assert_int_equal(listeners_on_port(harness_redis_port(R), &lo, &other), 0);
    assert_int_equal(lo, 1);
    assert_int_equal(other, 0);
}

/* Returns true when an *.incr.aof file under the data dir contains needle. */
static bool aof_contains(const char *needle)
{
    char dir[512], path[1024];
    static char buf[1 << 16];
    struct dirent *e;
    bool found = false;
    DIR *d;
    snprintf(dir, sizeof(dir), "%s/appendonlydir", harness_redis_data_dir(R));
    d = opendir(dir);
    if (!d)
        return false;
    while (!found && (e = readdir(d))) {
        if (!strstr(e->d_name, ".incr.aof"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (read_small_file(path, buf, sizeof(buf)) > 0)
            found = strstr(buf, needle) != NULL;
    }
    closedir(d);
    return found;
}

/* Polls the AOF for up to 5 s: Redis' bound on a postponed everysec write is 2 s, after which
 * its next cron tick (100 ms) writes it; the rest is room for that write() on a machine whose
 * disk is busy. What this guards, an AOF that is on, fails it either way. */
static bool aof_eventually_contains(const char *needle)
{
    for (int i = 0; i < 100; i++) {
        if (aof_contains(needle))
            return true;
        usleep(50000);
    }
    return false;
}

static void test_aof_written(void **state)
{
    char rep[256];
    redisContext *c = connect_as(harness_redis_user(R), harness_redis_password(R));
    (void)state;
    assert_false(aof_contains("wcs:{t}:aofkey"));
    command(c, rep, sizeof(rep), "SET wcs:{t}:aofkey %s", "durable");
    assert_string_equal(rep, "+OK");
    /* With appendfsync everysec Redis normally writes the AOF buffer before the reply goes
     * out, but while a background fsync is slow (a loaded machine) it postpones the write by
     * up to 2 s and replies anyway. So the record must appear within that bound. */
    assert_true(aof_eventually_contains("wcs:{t}:aofkey"));
    redisFree(c);
}

static void test_kill_and_restart_keeps_data(void **state)
{
    char rep[256], err[HARNESS_ERR_MAX];
    int port = harness_redis_port(R);
    pid_t old = harness_redis_pid(R);
    redisContext *c = connect_as(harness_redis_user(R), harness_redis_password(R));
    (void)state;
    command(c, rep, sizeof(rep), "SET wcs:{t}:crash %s", "survives");
    assert_string_equal(rep, "+OK");
    command(c, rep, sizeof(rep), "HSET wcs:{t}:stock p1 %d", 7);
    /* A script's writes go to the AOF as MULTI/EXEC; replaying them must not be refused (with a
     * default user without permissions Redis 7.0 drops every such block on load). */
    command(c, rep, sizeof(rep), "EVAL %s 2 wcs:{t}:lua1 wcs:{t}:lua2",
            "redis.call('SET', KEYS[1], 'x') "
            "redis.call('HSET', KEYS[2], 'f', 'y') return 1");
    assert_string_equal(rep, ":1");
    redisFree(c);
    /* A crash loses what is not yet written to the AOF (up to 2 s under everysec when fsync is
     * slow); what is written must survive. */
    assert_true(aof_eventually_contains("wcs:{t}:stock"));
    assert_true(aof_eventually_contains("wcs:{t}:lua2"));

    assert_int_equal(harness_redis_kill(R), 0);
    assert_int_equal(harness_redis_pid(R), 0);
    assert_true(process_gone(old));
    {
        struct timeval tv = {.tv_sec = 1};
        redisContext *dead = redisConnectWithTimeout("127.0.0.1", port, tv);
        assert_true(dead == NULL || dead->err != 0);
        redisFree(dead);
    }
    if (harness_redis_restart(R, err, sizeof(err)) < 0)
        fail_msg("restart: %s", err);
    assert_int_equal(harness_redis_port(R), port);
    assert_true(harness_redis_pid(R) > 0);
    assert_int_not_equal(harness_redis_pid(R), old);

    c = connect_as(harness_redis_user(R), harness_redis_password(R));
    command(c, rep, sizeof(rep), "GET wcs:{t}:crash");
    assert_string_equal(rep, "+survives");
    command(c, rep, sizeof(rep), "HGET wcs:{t}:stock p1");
    assert_string_equal(rep, "+7");
    command(c, rep, sizeof(rep), "GET wcs:{t}:lua1");
    assert_string_equal(rep, "+x");
    command(c, rep, sizeof(rep), "HGET wcs:{t}:lua2 f");
    assert_string_equal(rep, "+y");
    redisFree(c);
}

static void test_stop_and_restart(void **state)
{
    char rep[256], err[HARNESS_ERR_MAX];
    int port = harness_redis_port(R);
    pid_t old = harness_redis_pid(R);
    redisContext *c = connect_as(harness_redis_user(R), harness_redis_password(R));
    (void)state;
    command(c, rep, sizeof(rep), "SET wcs:{t}:graceful %s", "yes");
    assert_string_equal(rep, "+OK");
    assert_int_equal(harness_redis_stop(R), 0);
    assert_true(process_gone(old));
    /* The old connection sees the server go away. */
    {
        redisReply *r = redisCommand(c, "GET wcs:{t}:graceful");
        assert_null(r);
    }
    redisFree(c);
    if (harness_redis_restart(R, err, sizeof(err)) < 0)
        fail_msg("restart: %s", err);
    assert_int_equal(harness_redis_port(R), port);
    c = connect_as(harness_redis_user(R), harness_redis_password(R));
    command(c, rep, sizeof(rep), "GET wcs:{t}:graceful");
    assert_string_equal(rep, "+yes");
    redisFree(c);
}

static void test_restart_on_taken_port_fails_clearly(void **state)
{
    char err[HARNESS_ERR_MAX] = "";
    struct sockaddr_in a = {.sin_family = AF_INET};
    int fd, one = 1, rc;
    (void)state;
    assert_int_equal(harness_redis_kill(R), 0);
    a.sin_port = htons((uint16_t)harness_redis_port(R));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    rc = harness_redis_restart(R, err, sizeof(err));
    assert_int_equal(rc, -EADDRINUSE);
    assert_non_null(strstr(err, harness_redis_log_file(R)));
    assert_int_equal(harness_redis_pid(R), 0);
    close(fd);
    rc = harness_redis_restart(R, err, sizeof(err));
    if (rc < 0)
        fail_msg("restart after the port is free again: %s", err);
}

static void test_bad_options_change_nothing(void **state)
{
    struct harness_redis *r = NULL;
    char err[HARNESS_ERR_MAX] = "";
    struct harness_redis_opts o = {.password = "has space"};
    (void)state;
    assert_int_equal(harness_redis_start(&r, &o, err, sizeof(err)), -EINVAL);
    assert_null(r);
    assert_non_null(strstr(err, "password"));
    o = (struct harness_redis_opts){.user = "bad/name"};
    assert_int_equal(harness_redis_start(&r, &o, err, sizeof(err)), -EINVAL);
    o = (struct harness_redis_opts){.user = "default"};
    assert_int_equal(harness_redis_start(&r, &o, err, sizeof(err)), -EINVAL);
    o = (struct harness_redis_opts){.user = "same", .ro_user = "same"};
    assert_int_equal(harness_redis_start(&r, &o, err, sizeof(err)), -EINVAL);
    /* 61 characters fit a name, but not with the "_ro" suffix of the default read-only user. */
    o = (struct harness_redis_opts){
        .user = "u12345678901234567890123456789012345678901234567890123456789a"};
    assert_int_equal(harness_redis_start(&r, &o, err, sizeof(err)), -EINVAL);
    o = (struct harness_redis_opts){
        .ro_user = "r1234567890123456789012345678901234567890123456789012345678901234567890"};
    assert_int_equal(harness_redis_start(&r, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "bad user names"));
    o = (struct harness_redis_opts){.aof_rewrite_percentage = -1};
    assert_int_equal(harness_redis_start(&r, &o, err, sizeof(err)), -EINVAL);
    assert_null(r);
    assert_non_null(strstr(err, "aof_rewrite_percentage"));
    o = (struct harness_redis_opts){.binary = "/nonexistent/redis-server"};
    assert_int_equal(harness_redis_start(&r, &o, err, sizeof(err)), -ENOENT);
    assert_null(r);
    harness_redis_free(NULL);
}

/* Whether the server's redis.conf holds line. */
static bool conf_has(const struct harness_redis *r, const char *line)
{
    char path[512], buf[8192];
    size_t n;
    FILE *f;
    snprintf(path, sizeof(path), "%s/redis.conf", harness_redis_dir(r));
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, line) != NULL;
}

static void test_chosen_credentials(void **state)
{
    struct harness_redis *r = NULL;
    char err[HARNESS_ERR_MAX] = "", rep[256];
    struct harness_redis_opts o = {
        .user = "svc", .password = "s3cret-Pw", .ro_user = "viewer", .aof_rewrite_percentage = 400};
    redisContext *c;
    struct timeval tv = ANSWER_TV;
    (void)state;
    if (harness_redis_start(&r, &o, err, sizeof(err)) < 0)
        fail_msg("start: %s", err);
    assert_string_equal(harness_redis_user(r), "svc");
    assert_string_equal(harness_redis_password(r), "s3cret-Pw");
    assert_string_equal(harness_redis_ro_user(r), "viewer");
    assert_int_not_equal(harness_redis_port(r), harness_redis_port(R));
    c = redisConnectWithTimeout("127.0.0.1", harness_redis_port(r), tv);
    assert_true(c && !c->err);
    command(c, rep, sizeof(rep), "AUTH svc s3cret-Pw");
    assert_string_equal(rep, "+OK");
    redisFree(c);
    /* The server started with the rewrite threshold asked for (the default one keeps Redis's). */
    assert_true(conf_has(r, "auto-aof-rewrite-percentage 400\n"));
    assert_true(conf_has(R, "auto-aof-rewrite-percentage 100\n"));
    harness_redis_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wcs_user_set_get),
        cmocka_unit_test(test_refused_without_credentials),
        cmocka_unit_test(test_refused_wrong_password),
        cmocka_unit_test(test_read_only_user),
        cmocka_unit_test(test_password_file),
        cmocka_unit_test(test_loopback_only),
        cmocka_unit_test(test_aof_written),
        cmocka_unit_test(test_kill_and_restart_keeps_data),
        cmocka_unit_test(test_stop_and_restart),
        cmocka_unit_test(test_restart_on_taken_port_fails_clearly),
        cmocka_unit_test(test_bad_options_change_nothing),
        cmocka_unit_test(test_chosen_credentials),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
