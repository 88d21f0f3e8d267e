/* The command-layer fixture shared by integration suites: a harness redis-server and mosquitto
 * (authenticated, loopback), the site config, the store, the bus with the command layer behind
 * it, one MQTT test client per user and a direct Redis connection, plus the helpers the suites
 * use: send a command and wait for its reply, expect it accepted or refused with an exact text
 * (a refusal must change nothing but one journal entry), read Redis, run `wcs audit`. The
 * helpers fail the running cmocka test. One fixture per process (a global). */
#ifndef TESTS_CMDFIX_H
#define TESTS_CMDFIX_H

#include "base/clock.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "command/command.h"
#include "harness/harness.h"
#include "store/store.h"
#include "tclient.h"

#include <hiredis/hiredis.h>
#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>

#define FX_USERS_MAX 12

/* One user of the fixture: its name (also its client id suffix) and harness role. */
struct fx_user {
    const char *name;
    enum harness_role role;
};

struct fx {
    struct harness_redis *redis;
    struct harness_mqtt *mqtt;
    struct cfg_site *cfg;
    struct loop *loop;
    struct store *store;
    struct bus *bus;
    struct cmd_ctx cmd;
    redisContext *rc;
    char site[64], topic[96]; /* topic: "wcs/v1/<site>/" */
    const char *site_yaml;
    size_t n_users;
    struct fx_user users[FX_USERS_MAX];
    struct tclient *tc[FX_USERS_MAX];
    bool store_up;
};

extern struct fx FX;

/* Starts everything for the site config site_yaml (its site id is the site) with users (each
 * gets an MQTT login and a test client subscribed to its replies); clock stamps the command
 * layer (NULL: the system clock). Returns 0 or -1 (printed). */
int fx_open(const char *site_yaml, const struct fx_user *users, size_t n_users,
            const struct wcs_clock *clock);
/* Stops everything (safe after a failed fx_open). */
void fx_close(void);

/* Runs the loop for up to ms milliseconds or until *flag is true (flag NULL: the whole time). */
void fx_pump(const bool *flag, int ms);

/* Publishes command with fields (a JSON object's members without braces, "" none) as user and
 * returns its reply (the caller json_decrefs); fails the test on no reply within 5 s. */
json_t *fx_send(const char *user, const char *command, const char *rid, const char *fields);
/* fx_send, failing the test unless the reply is ok. */
json_t *fx_ok(const char *user, const char *command, const char *rid, const char *fields);
/* fx_send, failing the test unless it is refused with exactly want and changed nothing but one
 * journal entry (cmd_refused). */
void fx_refused(const char *user, const char *command, const char *rid, const char *fields,
                const char *want);

/* The reply's string / integer member; fails the test when absent. */
const char *fx_jstr(const json_t *o, const char *k);
long long fx_jint(const json_t *o, const char *k);

/* A Redis command on the direct connection (printf-style, hiredis); fails on an error reply. */
redisReply *fx_redis(const char *fmt, ...);
/* HGET (NULL when absent; the caller frees) and an exact-value check (want NULL: absent). */
char *fx_hget(const char *key, const char *field);
void fx_hget_is(const char *key, const char *field, const char *want);
/* The journal's length. */
long long fx_xlen(void);

/* Runs `wcs_bin audit <the site config + the harness redis> flags`, its stdout and stderr into
 * out (cap bytes, NUL-terminated). Returns its exit status (-1: did not exit). */
int fx_audit(const char *wcs_bin, const char *flags, char *out, size_t cap);

#endif
