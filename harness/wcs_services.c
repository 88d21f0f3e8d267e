/* wcs-services: the harness as a command for people and scripts. Starts redis-server and/or
 * mosquitto on free loopback ports, runs a command with the connection settings in its
 * environment (WCS_REDIS_*, WCS_MQTT_*), stops the services when it exits or on SIGINT/SIGTERM,
 * and exits with the command's status. See harness/README.md. */
#include "harness/harness.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG           "wcs-services"
#define MAX_USERS      64
#define MAX_VARS       (16 + MAX_USERS)
#define CHILD_GRACE_MS 10000

struct var {
    char name[HARNESS_NAME_MAX + 32];
    char value[4096];
};

struct vars {
    struct var v[MAX_VARS];
    size_t n;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [OPTIONS] [-- COMMAND [ARGS...]]\n"
            "\n"
            "Starts redis-server and/or mosquitto on free 127.0.0.1 ports in private temporary\n"
            "directories, runs COMMAND with the connection settings in its environment, stops\n"
            "the services when it exits (or on SIGINT/SIGTERM) and exits with its status.\n"
            "Without COMMAND it prints the settings and runs until SIGINT or SIGTERM.\n"
            "\n"
            "options:\n"
            "  --redis             start redis-server (without --redis or --mqtt: both)\n"
            "  --mqtt              start mosquitto\n"
            "  --site ID           site id of the MQTT topic ACL (default: demo)\n"
            "  --users LIST        MQTT users as name[:password[:role]],... with role operator,\n"
            "                      supervisor or service (an empty password is generated); a\n"
            "                      service user 'wcs' is added when the list names none\n"
            "  --redis-user NAME   the Redis ACL user for wcs (default: wcs)\n"
            "  --env FILE          also write the variables to FILE as shell assignments\n"
            "  --keep              keep the temporary directories (as HARNESS_KEEP=1)\n"
            "  -h, --help          this text\n"
            "\n"
            "exported: WCS_REDIS_HOST WCS_REDIS_PORT WCS_REDIS_USER WCS_REDIS_PASSWORD_FILE\n"
            "          WCS_MQTT_HOST WCS_MQTT_PORT WCS_MQTT_WS_PORT WCS_MQTT_USER\n"
            "          WCS_MQTT_PASSWORD_FILE WCS_MQTT_SITE WCS_MQTT_USERS_DIR (holds\n"
            "          <user>.password per user) and WCS_MQTT_PASSWORD_FILE_<USER> per user\n"
            "          (upper case, '.' and '-' as '_').\n"
            "\n"
            "exit status: the command's (128+N when signal N ended it); 1 when a service does\n"
            "not start (the message names its log); 2 on a usage error.\n");
}

static void var_add(struct vars *vs, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void var_add(struct vars *vs, const char *name, const char *fmt, ...)
{
    va_list ap;
    struct var *v;
    if (vs->n == MAX_VARS)
        return;
    v = &vs->v[vs->n++];
    snprintf(v->name, sizeof(v->name), "%s", name);
    va_start(ap, fmt);
    vsnprintf(v->value, sizeof(v->value), fmt, ap);
    va_end(ap);
}

/* Writes NAME='value' lines, quoting for a POSIX shell. */
static void write_assignments(FILE *f, const struct vars *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        fprintf(f, "export %s='", vs->v[i].name);
        for (const char *p = vs->v[i].value; *p; p++) {
            if (*p == '\'')
                fputs("'\\''", f);
            else
                fputc(*p, f);
        }
        fputs("'\n", f);
    }
}

static int write_env_file(const char *path, const struct vars *vs)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "# Written by " PROG " (pid %ld); valid while it runs.\n", (long)getpid());
    write_assignments(f, vs);
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

static void collect_redis(struct vars *vs, const struct harness_redis *r)
{
    var_add(vs, "WCS_REDIS_HOST", "%s", harness_redis_host(r));
    var_add(vs, "WCS_REDIS_PORT", "%d", harness_redis_port(r));
    var_add(vs, "WCS_REDIS_USER", "%s", harness_redis_user(r));
    var_add(vs, "WCS_REDIS_PASSWORD_FILE", "%s", harness_redis_password_file(r));
}

static void collect_mqtt(struct vars *vs, const struct harness_mqtt *m, const char *site,
                         const char *service_user)
{
    var_add(vs, "WCS_MQTT_HOST", "%s", harness_mqtt_host(m));
    var_add(vs, "WCS_MQTT_PORT", "%d", harness_mqtt_port(m));
    var_add(vs, "WCS_MQTT_WS_PORT", "%d", harness_mqtt_ws_port(m));
    var_add(vs, "WCS_MQTT_SITE", "%s", site);
    var_add(vs, "WCS_MQTT_USER", "%s", service_user);
    var_add(vs, "WCS_MQTT_PASSWORD_FILE", "%s", harness_mqtt_password_file(m, service_user));
    var_add(vs, "WCS_MQTT_USERS_DIR", "%s/users", harness_mqtt_dir(m));
    for (size_t i = 0; i < harness_mqtt_user_count(m); i++) {
        const struct harness_user *u = harness_mqtt_user(m, i);
        char name[HARNESS_NAME_MAX + 32];
        size_t k = (size_t)snprintf(name, sizeof(name), "WCS_MQTT_PASSWORD_FILE_");
        for (const char *p = u->name; *p && k + 1 < sizeof(name); p++)
            name[k++] = (*p >= 'a' && *p <= 'z')   ? (char)(*p - 'a' + 'A')
                        : (*p == '.' || *p == '-') ? '_'
                                                   : *p;
        name[k] = '\0';
        var_add(vs, name, "%s", harness_mqtt_password_file(m, u->name));
    }
}

/* Returns the exit code that mirrors a wait status. */
static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

static pid_t spawn_command(char **argv, const struct vars *vs)
{
    pid_t pid;
    for (size_t i = 0; i < vs->n; i++)
        setenv(vs->v[i].name, vs->v[i].value, 1);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        fprintf(stderr, PROG ": cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits for the command (pid > 0) or, without one, for a signal. A signal sent with kill(2) is
 * forwarded to the command; one from the terminal reached it already (same process group).
 * After a signal the command has CHILD_GRACE_MS to exit before SIGKILL. */
static int supervise(pid_t pid, const sigset_t *set)
{
    uint64_t kill_at = 0;
    for (;;) {
        struct timespec tick = {.tv_sec = 0, .tv_nsec = 200000000L};
        siginfo_t si;
        int sig = sigtimedwait(set, &si, &tick), status;
        if (pid > 0) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid)
                return exit_code(status);
        }
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            if (pid <= 0)
                return 128 + sig;
            if (si.si_code == SI_USER || si.si_code == SI_QUEUE)
                kill(pid, sig);
            if (!kill_at)
                kill_at = now_ms() + CHILD_GRACE_MS;
        }
        if (kill_at && now_ms() >= kill_at) {
            fprintf(stderr, PROG ": %ld did not exit within %d ms; killing it\n", (long)pid,
                    CHILD_GRACE_MS);
            kill(pid, SIGKILL);
            kill_at = 0;
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"redis", no_argument, NULL, 'r'},
        {"mqtt", no_argument, NULL, 'm'},
        {"site", required_argument, NULL, 's'},
        {"users", required_argument, NULL, 'u'},
        {"env", required_argument, NULL, 'e'},
        {"redis-user", required_argument, NULL, 'R'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct harness_user users[MAX_USERS + 1];
    static struct vars vs;
    const char *site = "demo", *users_spec = NULL, *env_file = NULL, *redis_user = NULL;
    const char *service_user = NULL;
    bool want_redis = false, want_mqtt = false;
    struct harness_redis *redis = NULL;
    struct harness_mqtt *mqtt = NULL;
    char err[HARNESS_ERR_MAX];
    int n_users = 0, opt, rc = 1;
    sigset_t set;
    pid_t pid = 0;

    while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            want_redis = true;
            break;
        case 'm':
            want_mqtt = true;
            break;
        case 's':
            site = optarg;
            break;
        case 'u':
            users_spec = optarg;
            break;
        case 'e':
            env_file = optarg;
            break;
        case 'R':
            redis_user = optarg;
            break;
        case 'k':
            setenv("HARNESS_KEEP", "1", 1);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!want_redis && !want_mqtt)
        want_redis = want_mqtt = true;
    if (harness_name_check(site) < 0) {
        fprintf(stderr, PROG ": bad site id '%s' (1-%d characters from A-Z a-z 0-9 _ . -)\n", site,
                HARNESS_NAME_MAX - 1);
        return 2;
    }
    if (users_spec) {
        n_users =
            harness_users_parse(users_spec, strlen(users_spec), users, MAX_USERS, err, sizeof(err));
        if (n_users < 0) {
            fprintf(stderr, PROG ": --users: %s\n", err);
            return 2;
        }
    }
    for (int i = 0; i < n_users && !service_user; i++)
        if (users[i].role == HARNESS_ROLE_SERVICE)
            service_user = users[i].name;
    if (!service_user) {
        for (int i = 0; i < n_users; i++) {
            if (strcmp(users[i].name, "wcs") == 0) {
                fprintf(stderr, PROG ": --users: 'wcs' is not a service user and no other is\n");
                return 2;
            }
        }
        snprintf(users[n_users].name, sizeof(users[n_users].name), "wcs");
        users[n_users].role = HARNESS_ROLE_SERVICE;
        service_user = users[n_users].name;
        n_users++;
    }

    /* Signals wait until the services are up and the command runs: then they are handled. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    if (want_redis) {
        struct harness_redis_opts ro = {.user = redis_user};
        if (harness_redis_start(&redis, &ro, err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            goto stop;
        }
        collect_redis(&vs, redis);
    }
    if (want_mqtt) {
        struct harness_mqtt_opts mo = {.users = users, .n_users = (size_t)n_users, .site = site};
        if (harness_mqtt_start(&mqtt, &mo, err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            goto stop;
        }
        collect_mqtt(&vs, mqtt, site, service_user);
    }
    if (env_file && write_env_file(env_file, &vs) < 0) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", env_file, strerror(errno));
        goto stop;
    }
    if (optind < argc) {
        pid = spawn_command(argv + optind, &vs);
        if (pid < 0) {
            fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
            goto stop;
        }
    } else {
        write_assignments(stdout, &vs);
        fprintf(stdout, "# " PROG " running (pid %ld); stop it with Ctrl-C or SIGTERM.\n",
                (long)getpid());
        fflush(stdout);
    }
    rc = supervise(pid, &set);
    if (pid <= 0)
        rc = 0; /* asked to stop: a clean exit */
stop:
    harness_mqtt_free(mqtt);
    harness_redis_free(redis);
    return rc;
}
