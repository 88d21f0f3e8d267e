/* The harness's mosquitto: writes mosquitto.conf (no anonymous login, password file made by
 * mosquitto_passwd, ACL, TCP and websockets listeners on 127.0.0.1 only), starts it on free
 * loopback ports, waits for a CONNACK to a raw MQTT 3.1.1 CONNECT and a websockets connect, and
 * stops, kills and restarts it on the same ports. */
#include "harness/harness.h"
#include "harness_private.h"

#include "base/err.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct harness_mqtt {
    struct hp_server srv;
    char *dir;
    char *conf_file;
    char *passwd_file;
    char *acl_file; /* NULL: no ACL */
    char *data_dir; /* persistence location, or NULL */
    char **user_pw_files;
    struct harness_user *users;
    size_t n_users;
    char run_as[HARNESS_NAME_MAX * 4]; /* "" unless started as root */
    int port;
    int ws_port;
    int timeout_ms;
    int max_inflight, max_queued; /* 0: mosquitto's defaults */
};

static int write_conf(const struct harness_mqtt *m)
{
    char conf[8192];
    char user_line[sizeof(m->run_as) + 16] = "";
    char acl_line[4200] = "";
    char persist[4200] = "persistence false\n";
    char limits[96] = "";
    int n;
    if (m->run_as[0])
        snprintf(user_line, sizeof(user_line), "user %s\n", m->run_as);
    if (m->acl_file)
        snprintf(acl_line, sizeof(acl_line), "acl_file %s\n", m->acl_file);
    if (m->max_inflight > 0)
        snprintf(limits, sizeof(limits), "max_inflight_messages %d\n", m->max_inflight);
    if (m->max_queued > 0)
        snprintf(limits + strlen(limits), sizeof(limits) - strlen(limits),
                 "max_queued_messages %d\n", m->max_queued);
    if (m->data_dir)
        snprintf(persist, sizeof(persist), "persistence true\npersistence_location %s/\n",
                 m->data_dir);
    n = snprintf(conf, sizeof(conf),
                 "# mosquitto for wcs tests and demos, written by the wcs service harness.\n"
                 "per_listener_settings false\n"
                 "allow_anonymous false\n"
                 "password_file %s\n"
                 "%s"
                 "%s"
                 "%s"
                 "set_tcp_nodelay true\n"
                 "%s"
                 "log_dest file %s\n"
                 "log_type error\n"
                 "log_type warning\n"
                 "log_type notice\n"
                 "log_type information\n"
                 "connection_messages true\n"
                 "log_timestamp true\n"
                 "\n"
                 "listener %d 127.0.0.1\n"
                 "socket_domain ipv4\n"
                 "\n"
                 "# Without socket_domain ipv4 a websockets listener binds every interface.\n"
                 "listener %d 127.0.0.1\n"
                 "protocol websockets\n"
                 "socket_domain ipv4\n",
                 m->passwd_file, acl_line, persist, user_line, limits, m->srv.log_file, m->port,
                 m->ws_port);
    if (n < 0 || (size_t)n >= sizeof(conf))
        return -ENAMETOOLONG;
    return hp_write_file(m->conf_file, conf, 0600);
}

static size_t put_str(unsigned char *p, const char *s)
{
    size_t n = strlen(s);
    p[0] = (unsigned char)(n >> 8);
    p[1] = (unsigned char)(n & 0xff);
    memcpy(p + 2, s, n);
    return n + 2;
}

/* Ready when the TCP listener answers CONNECT with a CONNACK (accepted for the first user, any
 * CONNACK when there is no user) and the websockets listener accepts a connection. */
static int probe(void *ctx, char *detail, size_t detail_len)
{
    const struct harness_mqtt *m = ctx;
    const struct harness_user *u = m->n_users ? &m->users[0] : NULL;
    unsigned char pkt[512], body[500], ack[4];
    static const unsigned char disconnect[2] = {0xe0, 0x00};
    char client_id[48];
    size_t blen = 0, plen = 0;
    int fd, n, rc = -EAGAIN;

    snprintf(client_id, sizeof(client_id), "wcs-harness-probe-%ld", (long)getpid());
    /* MQTT 3.1.1 §3.1: protocol name, level 4, flags, keep alive 60 s, then the payload. */
    blen += put_str(body + blen, "MQTT");
    body[blen++] = 4;
    body[blen++] = (unsigned char)(0x02 | (u ? 0xc0 : 0)); /* clean session, user, password */
    body[blen++] = 0;
    body[blen++] = 60;
    blen += put_str(body + blen, client_id);
    if (u) {
        blen += put_str(body + blen, u->name);
        blen += put_str(body + blen, u->password);
    }
    pkt[plen++] = 0x10;
    if (blen > 127) {
        pkt[plen++] = (unsigned char)(0x80 | (blen & 0x7f));
        pkt[plen++] = (unsigned char)(blen >> 7);
    } else {
        pkt[plen++] = (unsigned char)blen;
    }
    memcpy(pkt + plen, body, blen);
    plen += blen;

    fd = hp_connect(m->port, 500);
    if (fd < 0) {
        hp_set_err(detail, detail_len, "connect to %d: %s", m->port, strerror(-fd));
        return -EAGAIN;
    }
    if (hp_send_all(fd, pkt, plen, 1000) < 0)
        goto close_fd;
    n = hp_recv_some(fd, ack, sizeof(ack), sizeof(ack), 1000);
    if (n != (int)sizeof(ack) || ack[0] != 0x20 || ack[1] != 0x02) {
        hp_set_err(detail, detail_len, "no CONNACK on port %d", m->port);
        goto close_fd;
    }
    if (u && ack[3] != 0) {
        hp_set_err(detail, detail_len, "CONNACK return code %d for user %s", ack[3], u->name);
        rc = -EACCES;
        goto close_fd;
    }
    if (ack[3] == 0)
        hp_send_all(fd, disconnect, sizeof(disconnect), 200);
    close(fd);
    fd = hp_connect(m->ws_port, 500);
    if (fd < 0) {
        hp_set_err(detail, detail_len, "websockets connect to %d: %s", m->ws_port, strerror(-fd));
        return -EAGAIN;
    }
    rc = 0;
close_fd:
    close(fd);
    return rc;
}

static int run(struct harness_mqtt *m, char *err, size_t err_len)
{
    char *argv[] = {"mosquitto", "-c", m->conf_file, NULL};
    int rc = write_conf(m);
    if (rc < 0) {
        hp_set_err(err, err_len, "mosquitto: cannot write %s: %s", m->conf_file, strerror(-rc));
        return rc;
    }
    return hp_run(&m->srv, argv, probe, m, m->timeout_ms, err, err_len);
}

/* Writes "user:password" lines and has mosquitto_passwd -U hash them in place. */
static int make_passwd_file(struct harness_mqtt *m, char *err, size_t err_len)
{
    size_t cap = m->n_users * (HARNESS_NAME_MAX + HARNESS_PASSWORD_MAX + 2) + 1, pos = 0;
    char *text = malloc(cap), *tool, *log;
    char *argv[] = {"mosquitto_passwd", "-U", m->passwd_file, NULL};
    int rc;
    if (!text)
        return -ENOMEM;
    text[0] = '\0';
    for (size_t i = 0; i < m->n_users; i++)
        pos += (size_t)snprintf(text + pos, cap - pos, "%s:%s\n", m->users[i].name,
                                m->users[i].password);
    rc = hp_write_file(m->passwd_file, text, 0600);
    explicit_bzero(text, cap);
    free(text);
    if (rc < 0) {
        hp_set_err(err, err_len, "mosquitto: cannot write %s: %s", m->passwd_file, strerror(-rc));
        return rc;
    }
    if (m->n_users == 0)
        return 0;
    tool = hp_find_binary(NULL, "HARNESS_MOSQUITTO_PASSWD", "mosquitto_passwd", "/usr/bin");
    log = hp_path(m->dir, "mosquitto_passwd.log");
    if (!tool || !log) {
        hp_set_err(err, err_len, "mosquitto_passwd not found (install mosquitto)");
        rc = -ENOENT;
        goto free_all;
    }
    rc = hp_exec_wait(tool, argv, log, 10000);
    if (rc != 0) {
        hp_set_err(err, err_len, "mosquitto_passwd -U %s failed (%d); log %s", m->passwd_file, rc,
                   log);
        rc = rc < 0 ? rc : -EIO;
    }
free_all:
    free(tool);
    free(log);
    return rc;
}

static int write_acl(struct harness_mqtt *m, const struct harness_mqtt_opts *o, char *err,
                     size_t err_len)
{
    char *text = NULL;
    int rc;
    if (!o->acl && !o->site)
        return 0;
    m->acl_file = hp_path(m->dir, "acl");
    if (!m->acl_file)
        return -ENOMEM;
    if (o->acl)
        return hp_write_file(m->acl_file, o->acl, 0600);
    for (size_t cap = 4096;; cap *= 2) {
        char *t = realloc(text, cap);
        if (!t) {
            rc = -ENOMEM;
            break;
        }
        text = t;
        rc = harness_mqtt_acl_wcs(text, cap, o->site, m->users, m->n_users);
        if (rc != WCS_E_EXHAUSTED)
            break;
    }
    if (rc == -EINVAL)
        hp_set_err(err, err_len,
                   "mosquitto: bad site id '%s' (1-%d characters from A-Z a-z "
                   "0-9 _ . -)",
                   o->site, HARNESS_NAME_MAX - 1);
    if (rc >= 0)
        rc = hp_write_file(m->acl_file, text, 0600);
    free(text);
    return rc;
}

static int copy_users(struct harness_mqtt *m, const struct harness_mqtt_opts *o, char *err,
                      size_t err_len)
{
    m->users = calloc(o->n_users ? o->n_users : 1, sizeof(*m->users));
    m->user_pw_files = calloc(o->n_users ? o->n_users : 1, sizeof(*m->user_pw_files));
    if (!m->users || !m->user_pw_files)
        return -ENOMEM;
    for (size_t i = 0; i < o->n_users; i++) {
        struct harness_user *u = &m->users[i];
        *u = o->users[i];
        u->name[sizeof(u->name) - 1] = '\0';
        u->password[sizeof(u->password) - 1] = '\0';
        if (harness_name_check(u->name) < 0 || (unsigned)u->role > HARNESS_ROLE_SERVICE) {
            hp_set_err(err, err_len, "mosquitto: user %zu: bad name '%s' or role", i + 1, u->name);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(m->users[j].name, u->name) == 0) {
                hp_set_err(err, err_len, "mosquitto: user %s is given twice", u->name);
                return -EINVAL;
            }
        }
        if (u->password[0] == '\0') {
            int rc = hp_random_hex(u->password, 16);
            if (rc < 0)
                return rc;
        } else if (harness_password_check(u->password) < 0) {
            hp_set_err(err, err_len, "mosquitto: user %s: bad password", u->name);
            return -EINVAL;
        }
        m->n_users++;
    }
    return 0;
}

static int write_user_files(struct harness_mqtt *m, char *err, size_t err_len)
{
    char *users_dir = hp_path(m->dir, "users");
    int rc = users_dir ? hp_mkdir(users_dir) : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < m->n_users; i++) {
        char name[HARNESS_NAME_MAX + 16];
        snprintf(name, sizeof(name), "%s.password", m->users[i].name);
        m->user_pw_files[i] = hp_path(users_dir, name);
        rc = m->user_pw_files[i] ? hp_write_file(m->user_pw_files[i], m->users[i].password, 0600)
                                 : -ENOMEM;
    }
    if (rc < 0)
        hp_set_err(err, err_len, "mosquitto: cannot write the password files in %s: %s",
                   users_dir ? users_dir : m->dir, strerror(-rc));
    free(users_dir);
    return rc;
}

static void mqtt_free_fields(struct harness_mqtt *m)
{
    hp_server_fini(&m->srv);
    for (size_t i = 0; m->user_pw_files && i < m->n_users; i++)
        free(m->user_pw_files[i]);
    free(m->user_pw_files);
    if (m->users)
        explicit_bzero(m->users, m->n_users * sizeof(*m->users));
    free(m->users);
    free(m->dir);
    free(m->conf_file);
    free(m->passwd_file);
    free(m->acl_file);
    free(m->data_dir);
    free(m);
}

int harness_mqtt_start(struct harness_mqtt **out, const struct harness_mqtt_opts *o, char *err,
                       size_t err_len)
{
    struct harness_mqtt *m;
    int rc;
    if (o->max_inflight < 0 || o->max_queued < 0) {
        hp_set_err(err, err_len, "mosquitto: max_inflight %d and max_queued %d may not be negative",
                   o->max_inflight, o->max_queued);
        return -EINVAL;
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->srv.what = "mosquitto";
    m->timeout_ms = o->start_timeout_ms > 0 ? o->start_timeout_ms : HARNESS_START_TIMEOUT_MS;
    m->max_inflight = o->max_inflight;
    m->max_queued = o->max_queued;
    rc = copy_users(m, o, err, err_len);
    if (rc < 0)
        goto free_m;
    if (geteuid() == 0) {
        /* As root mosquitto drops to user "mosquitto", which cannot read our 0700 directory. */
        struct passwd *pw = getpwuid(geteuid());
        snprintf(m->run_as, sizeof(m->run_as), "%s", pw ? pw->pw_name : "root");
    }
    m->srv.binary = hp_find_binary(o->binary, "HARNESS_MOSQUITTO", "mosquitto", "/usr/sbin");
    if (!m->srv.binary) {
        hp_set_err(err, err_len,
                   "mosquitto not found (install mosquitto, or set HARNESS_MOSQUITTO)");
        rc = -ENOENT;
        goto free_m;
    }
    rc = hp_mkdtemp(o->parent_dir, "mqtt", &m->dir);
    if (rc < 0) {
        hp_set_err(err, err_len, "mosquitto: cannot make a directory under %s: %s",
                   o->parent_dir ? o->parent_dir : "$TMPDIR", strerror(-rc));
        goto free_m;
    }
    if (strpbrk(m->dir, "\n\r")) {
        hp_set_err(err, err_len, "mosquitto: directory %s has a line break", m->dir);
        rc = -EINVAL;
        goto remove_dir;
    }
    m->conf_file = hp_path(m->dir, "mosquitto.conf");
    m->passwd_file = hp_path(m->dir, "passwd");
    m->srv.log_file = hp_path(m->dir, "mosquitto.log");
    if (o->persistence)
        m->data_dir = hp_path(m->dir, "data");
    if (!m->conf_file || !m->passwd_file || !m->srv.log_file || (o->persistence && !m->data_dir)) {
        rc = -ENOMEM;
        goto remove_dir;
    }
    if (m->data_dir && (rc = hp_mkdir(m->data_dir)) < 0) {
        hp_set_err(err, err_len, "mosquitto: cannot make %s: %s", m->data_dir, strerror(-rc));
        goto remove_dir;
    }
    rc = write_user_files(m, err, err_len);
    if (rc < 0)
        goto remove_dir;
    rc = write_acl(m, o, err, err_len);
    if (rc < 0) {
        if (rc != -EINVAL)
            hp_set_err(err, err_len, "mosquitto: cannot write the ACL: %s", strerror(-rc));
        goto remove_dir;
    }
    rc = make_passwd_file(m, err, err_len);
    if (rc < 0)
        goto keep_dir;
    for (int attempt = 0; attempt < HP_PORT_ATTEMPTS; attempt++) {
        int ports[2];
        rc = hp_free_ports(ports, 2);
        if (rc < 0) {
            hp_set_err(err, err_len, "mosquitto: no free loopback port: %s", strerror(-rc));
            goto keep_dir;
        }
        m->port = ports[0];
        m->ws_port = ports[1];
        rc = run(m, err, err_len);
        if (rc != -EADDRINUSE)
            break;
    }
    if (rc < 0)
        goto keep_dir;
    *out = m;
    return 0;

remove_dir:
    hp_rmtree(m->dir);
    goto free_m;
keep_dir:
    /* A failed start keeps its directory: the message names the log in it. */
free_m:
    mqtt_free_fields(m);
    return rc;
}

const char *harness_mqtt_host(const struct harness_mqtt *m)
{
    (void)m;
    return HP_LOOPBACK;
}

int harness_mqtt_port(const struct harness_mqtt *m)
{
    return m->port;
}

int harness_mqtt_ws_port(const struct harness_mqtt *m)
{
    return m->ws_port;
}

size_t harness_mqtt_user_count(const struct harness_mqtt *m)
{
    return m->n_users;
}

const struct harness_user *harness_mqtt_user(const struct harness_mqtt *m, size_t i)
{
    return i < m->n_users ? &m->users[i] : NULL;
}

static ssize_t find_user(const struct harness_mqtt *m, const char *name)
{
    for (size_t i = 0; i < m->n_users; i++)
        if (strcmp(m->users[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

const char *harness_mqtt_password(const struct harness_mqtt *m, const char *user)
{
    ssize_t i = find_user(m, user);
    return i < 0 ? NULL : m->users[i].password;
}

const char *harness_mqtt_password_file(const struct harness_mqtt *m, const char *user)
{
    ssize_t i = find_user(m, user);
    return i < 0 ? NULL : m->user_pw_files[i];
}

const char *harness_mqtt_dir(const struct harness_mqtt *m)
{
    return m->dir;
}

const char *harness_mqtt_acl_file(const struct harness_mqtt *m)
{
    return m->acl_file;
}

const char *harness_mqtt_log_file(const struct harness_mqtt *m)
{
    return m->srv.log_file;
}

pid_t harness_mqtt_pid(const struct harness_mqtt *m)
{
    return m->srv.pid;
}

int harness_mqtt_stop(struct harness_mqtt *m)
{
    hp_stop(&m->srv, HARNESS_STOP_TIMEOUT_MS);
    return 0;
}

int harness_mqtt_kill(struct harness_mqtt *m)
{
    hp_kill(&m->srv);
    return 0;
}

int harness_mqtt_restart(struct harness_mqtt *m, char *err, size_t err_len)
{
    hp_stop(&m->srv, HARNESS_STOP_TIMEOUT_MS);
    return run(m, err, err_len);
}

void harness_mqtt_free(struct harness_mqtt *m)
{
    if (!m)
        return;
    hp_stop(&m->srv, HARNESS_STOP_TIMEOUT_MS);
    hp_dir_release(m->dir);
    mqtt_free_fields(m);
}
