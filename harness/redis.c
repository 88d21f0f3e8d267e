/* The harness's redis-server: writes redis.conf (AOF everysec, protected mode, default user off,
 * the wcs ACL user and a read-only user), starts it on a free loopback port, waits for AUTH+PING
 * over a raw socket, and stops, kills and restarts it on the same port and data. */
#include "harness/harness.h"
#include "harness_private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct harness_redis {
    struct hp_server srv;
    char *dir;           /* private directory */
    char *data_dir;      /* <dir>/data: the AOF */
    char *conf_file;     /* <dir>/redis.conf */
    char *password_file; /* <dir>/password */
    char user[HARNESS_NAME_MAX];
    char password[HARNESS_PASSWORD_MAX];
    char ro_user[HARNESS_NAME_MAX];
    char ro_password[HARNESS_PASSWORD_MAX];
    int port;
    int timeout_ms;
    int aof_rewrite_percentage; /* 0: Redis's default */
};

/* Characters redis.conf's quoted strings would reinterpret, and line breaks. */
static bool path_is_plain(const char *p)
{
    return strpbrk(p, "\"\\\n\r") == NULL;
}

static int write_conf(const struct harness_redis *r)
{
    char conf[4096];
    int n = snprintf(conf, sizeof(conf),
                     "# redis-server for wcs tests and demos, written by the wcs service harness.\n"
                     "bind 127.0.0.1\n"
                     "port %d\n"
                     "protected-mode yes\n"
                     "daemonize no\n"
                     "logfile \"\"\n"
                     "loglevel notice\n"
                     "dir \"%s\"\n"
                     "save \"\"\n"
                     "appendonly yes\n"
                     "appendfsync everysec\n"
                     "auto-aof-rewrite-percentage %d\n"
                     "appendfilename \"appendonly.aof\"\n"
                     "appenddirname \"appendonlydir\"\n"
                     /* Off (nobody can log in as it), but with permissions: Redis 7.0 runs
                      * the AOF replay as the default user and refuses every MULTI/EXEC block
                      * (how scripts are written to the AOF) that this user may not run. */
                     "user default off resetchannels ~* &* +@all\n"
                     "user %s on >%s ~wcs:* resetchannels &wcs:* +@all -@dangerous +info "
                     "+client|setname +client|getname +client|id\n"
                     "user %s on >%s ~wcs:* resetchannels -@all +@read +ping\n",
                     r->port, r->data_dir,
                     r->aof_rewrite_percentage > 0 ? r->aof_rewrite_percentage : 100, r->user,
                     r->password, r->ro_user, r->ro_password);
    if (n < 0 || (size_t)n >= sizeof(conf))
        return -ENAMETOOLONG;
    return hp_write_file(r->conf_file, conf, 0600);
}

static int append_bulk(char *buf, size_t cap, size_t *pos, const char *s)
{
    int n = snprintf(buf + *pos, cap - *pos, "$%zu\r\n%s\r\n", strlen(s), s);
    if (n < 0 || (size_t)n >= cap - *pos)
        return -ENOBUFS;
    *pos += (size_t)n;
    return 0;
}

/* Ready when AUTH as the wcs user and PING both succeed; -LOADING (AOF replay) is "not yet". */
static int probe(void *ctx, char *detail, size_t detail_len)
{
    const struct harness_redis *r = ctx;
    char req[512], resp[256];
    size_t pos = 0;
    int fd, n, rc = -EAGAIN;

    memcpy(req, "*3\r\n", 4);
    pos = 4;
    if (append_bulk(req, sizeof(req), &pos, "AUTH") < 0 ||
        append_bulk(req, sizeof(req), &pos, r->user) < 0 ||
        append_bulk(req, sizeof(req), &pos, r->password) < 0)
        return -ENOBUFS;
    memcpy(req + pos, "*1\r\n$4\r\nPING\r\n", 14);
    pos += 14;

    fd = hp_connect(r->port, 500);
    if (fd < 0) {
        hp_set_err(detail, detail_len, "connect: %s", strerror(-fd));
        return -EAGAIN;
    }
    if (hp_send_all(fd, req, pos, 1000) < 0) {
        hp_set_err(detail, detail_len, "send failed");
        goto close_fd;
    }
    n = hp_recv_some(fd, resp, sizeof(resp) - 1, 12, 1000); /* "+OK\r\n+PONG\r\n" */
    if (n < 0) {
        hp_set_err(detail, detail_len, "reply: %s", strerror(-n));
        goto close_fd;
    }
    resp[n] = '\0';
    if (strncmp(resp, "+OK\r\n+PONG\r\n", 12) == 0) {
        rc = 0;
    } else {
        resp[strcspn(resp, "\r\n")] = '\0';
        hp_set_err(detail, detail_len, "reply '%s'", resp);
    }
close_fd:
    close(fd);
    return rc;
}

static int run(struct harness_redis *r, char *err, size_t err_len)
{
    char *argv[] = {"redis-server", r->conf_file, NULL};
    int rc = write_conf(r);
    if (rc < 0) {
        hp_set_err(err, err_len, "redis-server: cannot write %s: %s", r->conf_file, strerror(-rc));
        return rc;
    }
    return hp_run(&r->srv, argv, probe, r, r->timeout_ms, err, err_len);
}

static void redis_free_fields(struct harness_redis *r)
{
    hp_server_fini(&r->srv);
    free(r->dir);
    free(r->data_dir);
    free(r->conf_file);
    free(r->password_file);
    free(r);
}

static int copy_or_generate(char *dst, const char *given, char *err, size_t err_len,
                            const char *what)
{
    if (!given)
        return hp_random_hex(dst, 16);
    if (harness_password_check(given) < 0) {
        hp_set_err(err, err_len,
                   "redis: bad %s (1-%d printable characters, no space, quote, backslash, ',' "
                   "or ':')",
                   what, HARNESS_PASSWORD_MAX - 1);
        return -EINVAL;
    }
    strcpy(dst, given);
    return 0;
}

/* Sets the user and read-only user names (default "wcs" and "<user>_ro"). 0 or -EINVAL. */
static int set_user_names(struct harness_redis *r, const struct harness_redis_opts *o)
{
    const char *user = o->user ? o->user : "wcs";
    size_t ulen = strlen(user);
    if (ulen >= sizeof(r->user))
        return -EINVAL;
    memcpy(r->user, user, ulen + 1);
    if (o->ro_user) {
        if (strlen(o->ro_user) >= sizeof(r->ro_user))
            return -EINVAL;
        strcpy(r->ro_user, o->ro_user);
    } else {
        if (ulen + 3 >= sizeof(r->ro_user))
            return -EINVAL;
        memcpy(r->ro_user, user, ulen);
        memcpy(r->ro_user + ulen, "_ro", 4);
    }
    if (harness_name_check(r->user) < 0 || harness_name_check(r->ro_user) < 0 ||
        strcmp(r->user, r->ro_user) == 0 || strcmp(r->user, "default") == 0 ||
        strcmp(r->ro_user, "default") == 0)
        return -EINVAL;
    return 0;
}

int harness_redis_start(struct harness_redis **out, const struct harness_redis_opts *o, char *err,
                        size_t err_len)
{
    static const struct harness_redis_opts defaults = {0};
    struct harness_redis *r;
    int rc;

    if (!o)
        o = &defaults;
    if (o->aof_rewrite_percentage < 0) {
        hp_set_err(err, err_len, "redis: aof_rewrite_percentage %d is negative",
                   o->aof_rewrite_percentage);
        return -EINVAL;
    }
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->srv.what = "redis-server";
    r->timeout_ms = o->start_timeout_ms > 0 ? o->start_timeout_ms : HARNESS_START_TIMEOUT_MS;
    r->aof_rewrite_percentage = o->aof_rewrite_percentage;

    rc = set_user_names(r, o);
    if (rc < 0) {
        hp_set_err(err, err_len,
                   "redis: bad user names '%s', '%s' (1-%d characters from A-Z a-z 0-9 _ . -, "
                   "distinct, not 'default')",
                   o->user ? o->user : "wcs", o->ro_user ? o->ro_user : "<user>_ro",
                   HARNESS_NAME_MAX - 1);
        rc = -EINVAL;
        goto free_r;
    }
    rc = copy_or_generate(r->password, o->password, err, err_len, "password");
    if (rc == 0)
        rc = copy_or_generate(r->ro_password, o->ro_password, err, err_len, "read-only password");
    if (rc < 0)
        goto free_r;

    r->srv.binary = hp_find_binary(o->binary, "HARNESS_REDIS_SERVER", "redis-server", NULL);
    if (!r->srv.binary) {
        hp_set_err(err, err_len,
                   "redis-server not found (install redis-server, or set "
                   "HARNESS_REDIS_SERVER)");
        rc = -ENOENT;
        goto free_r;
    }
    rc = hp_mkdtemp(o->parent_dir, "redis", &r->dir);
    if (rc < 0) {
        hp_set_err(err, err_len, "redis: cannot make a directory under %s: %s",
                   o->parent_dir ? o->parent_dir : "$TMPDIR", strerror(-rc));
        goto free_r;
    }
    if (!path_is_plain(r->dir)) {
        hp_set_err(err, err_len, "redis: directory %s has a quote, backslash or line break",
                   r->dir);
        rc = -EINVAL;
        goto remove_dir;
    }
    r->data_dir = hp_path(r->dir, "data");
    r->conf_file = hp_path(r->dir, "redis.conf");
    r->password_file = hp_path(r->dir, "password");
    r->srv.log_file = hp_path(r->dir, "redis.log");
    if (!r->data_dir || !r->conf_file || !r->password_file || !r->srv.log_file) {
        rc = -ENOMEM;
        goto remove_dir;
    }
    rc = hp_mkdir(r->data_dir);
    if (rc == 0)
        rc = hp_write_file(r->password_file, r->password, 0600);
    if (rc < 0) {
        hp_set_err(err, err_len, "redis: cannot prepare %s: %s", r->dir, strerror(-rc));
        goto remove_dir;
    }
    for (int attempt = 0; attempt < HP_PORT_ATTEMPTS; attempt++) {
        rc = hp_free_ports(&r->port, 1);
        if (rc < 0) {
            hp_set_err(err, err_len, "redis: no free loopback port: %s", strerror(-rc));
            goto keep_dir;
        }
        rc = run(r, err, err_len);
        if (rc != -EADDRINUSE)
            break;
    }
    if (rc < 0)
        goto keep_dir;
    *out = r;
    return 0;

remove_dir:
    hp_rmtree(r->dir);
    goto free_r;
keep_dir:
    /* A failed start keeps its directory: the message names the log in it. */
free_r:
    redis_free_fields(r);
    return rc;
}

const char *harness_redis_host(const struct harness_redis *r)
{
    (void)r;
    return HP_LOOPBACK;
}

int harness_redis_port(const struct harness_redis *r)
{
    return r->port;
}

const char *harness_redis_user(const struct harness_redis *r)
{
    return r->user;
}

const char *harness_redis_password(const struct harness_redis *r)
{
    return r->password;
}

const char *harness_redis_password_file(const struct harness_redis *r)
{
    return r->password_file;
}

const char *harness_redis_ro_user(const struct harness_redis *r)
{
    return r->ro_user;
}

const char *harness_redis_ro_password(const struct harness_redis *r)
{
    return r->ro_password;
}

const char *harness_redis_dir(const struct harness_redis *r)
{
    return r->dir;
}

const char *harness_redis_data_dir(const struct harness_redis *r)
{
    return r->data_dir;
}

const char *harness_redis_log_file(const struct harness_redis *r)
{
    return r->srv.log_file;
}

pid_t harness_redis_pid(const struct harness_redis *r)
{
    return r->srv.pid;
}

int harness_redis_stop(struct harness_redis *r)
{
    hp_stop(&r->srv, HARNESS_STOP_TIMEOUT_MS);
    return 0;
}

int harness_redis_kill(struct harness_redis *r)
{
    hp_kill(&r->srv);
    return 0;
}

int harness_redis_pause(struct harness_redis *r, bool paused)
{
    if (r->srv.pid <= 0)
        return -ESRCH;
    return kill(r->srv.pid, paused ? SIGSTOP : SIGCONT) == 0 ? 0 : -errno;
}

int harness_redis_restart(struct harness_redis *r, char *err, size_t err_len)
{
    hp_stop(&r->srv, HARNESS_STOP_TIMEOUT_MS);
    return run(r, err, err_len);
}

void harness_redis_free(struct harness_redis *r)
{
    if (!r)
        return;
    hp_stop(&r->srv, HARNESS_STOP_TIMEOUT_MS);
    hp_dir_release(r->dir);
    redis_free_fields(r);
}
