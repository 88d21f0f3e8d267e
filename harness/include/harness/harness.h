/* The service harness: starts real redis-server 7.0 and mosquitto 2.0 on free loopback ports, each
 * in a private temporary directory, for integration tests, the demo and the benches (Linux only).
 * Servers run in their own process group and die with the thread that started them
 * (PR_SET_PDEATHSIG), so a killed test never leaves one behind. Also the pure helpers that parse
 * a user list ("name:pass:role,...") and write the mosquitto ACL for wcs's topic tree. */
#ifndef HARNESS_HARNESS_H
#define HARNESS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HARNESS_NAME_MAX         64  /* user names and site ids, with the NUL */
#define HARNESS_PASSWORD_MAX     129 /* passwords, with the NUL */
#define HARNESS_ERR_MAX          512 /* a buffer this size holds any harness error message */
#define HARNESS_START_TIMEOUT_MS 10000
#define HARNESS_STOP_TIMEOUT_MS  5000

/* What a user may do on the MQTT topic tree of a site (DESIGN.md §4.3). */
enum harness_role {
    HARNESS_ROLE_OPERATOR = 0, /* own cmd/<user>/# (write) and reply/<user>/# (read) only */
    HARNESS_ROLE_SUPERVISOR,   /* plus reading everything under wcs/v1/<site>/# */
    HARNESS_ROLE_SERVICE,      /* the wcs daemon: reads and writes everything under the site */
};

struct harness_user {
    char name[HARNESS_NAME_MAX];         /* [A-Za-z0-9_.-], 1..63 characters */
    char password[HARNESS_PASSWORD_MAX]; /* "" asks the harness to generate one */
    enum harness_role role;
};

/* ---- pure helpers (no I/O, no allocation) ---- */

/* Parses a role name: "operator", "supervisor" or "service". Returns 0 or -EINVAL. */
int harness_role_parse(const char *s, enum harness_role *out);
/* Returns the static name of a role ("operator", ...); "?" for a value outside the enum. */
const char *harness_role_name(enum harness_role role);

/* Checks a user name or site id: 1..63 characters from [A-Za-z0-9_.-]. Such a name is one MQTT
 * topic level, one Redis hash tag and one file name. Returns 0 or -EINVAL. */
int harness_name_check(const char *name);
/* Checks a password: 1..128 printable ASCII characters other than space, quotes, backslash, ','
 * and ':' (so it survives redis.conf, the password file and the CLI list). Returns 0 or -EINVAL. */
int harness_password_check(const char *password);

/* Parses a user list "name[:password[:role]],..." of len bytes (not NUL-terminated) into
 * users[0..cap). A missing or empty password leaves password "" (to be generated); a missing role
 * is operator. Returns the number of users (>= 1), or -EINVAL (syntax, bad name, bad password,
 * unknown role, a name given twice) or WCS_E_EXHAUSTED (more than cap users); on error err (if
 * not NULL) holds one line naming the entry and the reason, and users[] may be partly written. */
int harness_users_parse(const char *spec, size_t len, struct harness_user *users, size_t cap,
                        char *err, size_t err_len);

/* Writes the mosquitto ACL file text for a wcs site into buf (NUL-terminated): every user may
 * write wcs/v1/<site>/cmd/<itself>/# and read wcs/v1/<site>/reply/<itself>/# (pattern lines with
 * %u); supervisors read wcs/v1/<site>/#; service users read and write wcs/v1/<site>/#.
 * Returns the text length, -EINVAL (bad site or user name, unknown role) or WCS_E_EXHAUSTED
 * (cap too small; buf then holds a truncated, NUL-terminated text). */
int harness_mqtt_acl_wcs(char *buf, size_t cap, const char *site, const struct harness_user *users,
                         size_t n_users);

/* ---- redis-server ---- */

struct harness_redis;

struct harness_redis_opts {
    const char *user;        /* the wcs ACL user; NULL: "wcs" */
    const char *password;    /* NULL: 32 random hex characters */
    const char *ro_user;     /* a read-only user for tests; NULL: "<user>_ro" */
    const char *ro_password; /* NULL: generated */
    const char *parent_dir;  /* where the private directory is made; NULL: $TMPDIR or /tmp */
    const char *binary;      /* NULL: $HARNESS_REDIS_SERVER or "redis-server" from PATH */
    int start_timeout_ms;    /* 0: HARNESS_START_TIMEOUT_MS */
    /* auto-aof-rewrite-percentage: the AOF is rewritten (a fork writing the whole dataset) when
     * it grew by this percentage since the last rewrite; 0: Redis's default (100). */
    int aof_rewrite_percentage;
};

/* Starts redis-server on 127.0.0.1 and a free port in a new 0700 directory: AOF on (everysec),
 * protected mode, the default user off, the wcs user allowed keys wcs:* and every command but
 * @dangerous (plus INFO), the read-only user allowed @read on wcs:*. The password is also written
 * to <dir>/redis/password (mode 0600, no newline). Blocks until the server answers AUTH and PING
 * (at most the start timeout); a port taken meanwhile is retried with another port.
 * o may be NULL (all defaults). Returns 0 and *out (free with harness_redis_free), or a negative
 * code with err (if not NULL) naming the reason and the log file; *out is untouched and the
 * directory is kept for inspection. */
int harness_redis_start(struct harness_redis **out, const struct harness_redis_opts *o, char *err,
                        size_t err_len);

/* Accessors: valid until harness_redis_free; strings are owned by r. */
const char *harness_redis_host(const struct harness_redis *r); /* "127.0.0.1" */
int harness_redis_port(const struct harness_redis *r);
const char *harness_redis_user(const struct harness_redis *r);
const char *harness_redis_password(const struct harness_redis *r);
const char *harness_redis_password_file(const struct harness_redis *r);
const char *harness_redis_ro_user(const struct harness_redis *r);
const char *harness_redis_ro_password(const struct harness_redis *r);
const char *harness_redis_dir(const struct harness_redis *r);      /* the private directory */
const char *harness_redis_data_dir(const struct harness_redis *r); /* holds appendonlydir/ */
const char *harness_redis_log_file(const struct harness_redis *r);
pid_t harness_redis_pid(const struct harness_redis *r); /* 0 while stopped */

/* Stops the server: SIGTERM to its process group, then SIGKILL after HARNESS_STOP_TIMEOUT_MS.
 * Keeps the directory and the port. Blocks at most about 5 s. Returns 0 (also when already
 * stopped). */
int harness_redis_stop(struct harness_redis *r);
/* Kills the server with SIGKILL (a crash) and reaps it; the AOF stays. Returns 0. */
int harness_redis_kill(struct harness_redis *r);
/* Freezes the server (SIGSTOP: a hung server whose connections stay open, as in a VM pause or a
 * fork stalling a large instance) or lets it go on (SIGCONT). A stop or kill of a frozen server
 * works. Returns 0, or -ESRCH when it is not running. */
int harness_redis_pause(struct harness_redis *r, bool paused);
/* Starts the server again on the same port and data (stopping it first if it runs) and waits
 * until it answers, as harness_redis_start does (no retry on another port). Returns 0 or a
 * negative code with err filled. */
int harness_redis_restart(struct harness_redis *r, char *err, size_t err_len);
/* Stops the server and removes its directory (kept when HARNESS_KEEP=1, then one line on stderr
 * names it). NULL-safe. */
void harness_redis_free(struct harness_redis *r);

/* ---- mosquitto ---- */

struct harness_mqtt;

struct harness_mqtt_opts {
    const struct harness_user *users; /* copied; an empty password is generated */
    size_t n_users;
    const char *site; /* with acl NULL: the ACL is harness_mqtt_acl_wcs(site, users) */
    const char *acl;  /* ACL file text as given; NULL and site NULL: no ACL (all allowed) */
    bool persistence; /* false: persistence off */
    const char *parent_dir;
    const char *binary; /* NULL: $HARNESS_MOSQUITTO or "mosquitto" from PATH (or /usr/sbin) */
    int start_timeout_ms;
    /* max_inflight_messages (also the MQTT 5 Receive Maximum) and max_queued_messages; 0:
     * mosquitto's defaults (20 and 1000), negative: refused. The simulator raises them
     * (docs/mqtt.md, flow control). */
    int max_inflight, max_queued;
};

/* Starts mosquitto with allow_anonymous false, a password file (made by mosquitto_passwd), the
 * ACL, a TCP listener and a websockets listener, both on 127.0.0.1 only, set_tcp_nodelay true,
 * o->max_inflight and o->max_queued when given, and `user <current user>` when run as root. Each
 * user's password is also written to <dir>/mqtt/users/<name>.password (0600). Blocks until the
 * broker answers an MQTT CONNECT on the TCP port and accepts a connection on the websockets port. o
 * must not be NULL. Returns and fails as harness_redis_start. */
int harness_mqtt_start(struct harness_mqtt **out, const struct harness_mqtt_opts *o, char *err,
                       size_t err_len);

const char *harness_mqtt_host(const struct harness_mqtt *m); /* "127.0.0.1" */
int harness_mqtt_port(const struct harness_mqtt *m);
int harness_mqtt_ws_port(const struct harness_mqtt *m);
size_t harness_mqtt_user_count(const struct harness_mqtt *m);
/* The i-th user (i < count), with its password filled in. */
const struct harness_user *harness_mqtt_user(const struct harness_mqtt *m, size_t i);
/* The password of a user, or NULL when there is no such user. */
const char *harness_mqtt_password(const struct harness_mqtt *m, const char *user);
/* The 0600 file holding a user's password, or NULL when there is no such user. */
const char *harness_mqtt_password_file(const struct harness_mqtt *m, const char *user);
const char *harness_mqtt_dir(const struct harness_mqtt *m);
const char *harness_mqtt_acl_file(const struct harness_mqtt *m); /* NULL: no ACL */
const char *harness_mqtt_log_file(const struct harness_mqtt *m);
pid_t harness_mqtt_pid(const struct harness_mqtt *m); /* 0 while stopped */

/* As the harness_redis_ counterparts. */
int harness_mqtt_stop(struct harness_mqtt *m);
int harness_mqtt_kill(struct harness_mqtt *m);
int harness_mqtt_restart(struct harness_mqtt *m, char *err, size_t err_len);
void harness_mqtt_free(struct harness_mqtt *m);

#endif
