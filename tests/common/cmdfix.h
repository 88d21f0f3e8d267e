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

/* How to start the fixture. */
struct fx_opts {
    const char *site_yaml;         /* the site config; its site id is the site */
    const struct fx_user *users;   /* each gets an MQTT login and a client on its replies */
    size_t n_users;                /* 1..FX_USERS_MAX */
    const struct wcs_clock *clock; /* stamps the command layer; NULL: the system clock */
    size_t max_payload_bytes;      /* the bus's limit; 0: 16384 */
    /* Keys fx_refused's snapshot leaves out besides the journal, request and op records (e.g.
     * the KPI hash where refusals count); NULL: none. */
    bool (*skip_key)(const char *key, void *arg);
    /* Topic filters below "wcs/v1/<site>/" the watch client (a second client of the first user,
     * who should be a supervisor) subscribes to; NULL-terminated, NULL: no watch client. */
    const char *const *watch;
};

/* The command layer's last change notice (cmd_ctx.on_change), and how many came. */
struct fx_change {
    int n;
    enum cmd_change what;
    char id[64], state[32];
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
    char uri[64];             /* the broker, for more clients (fx_client) */
    const char *site_yaml;
    bool (*skip_key)(const char *key, void *arg);
    size_t n_users;
    struct fx_user users[FX_USERS_MAX];
    struct tclient *tc[FX_USERS_MAX];
    struct tclient *watch; /* opts.watch's client, or NULL */
    struct fx_change change;
    bool store_up;
};

extern struct fx FX;

/* Starts everything as o says; the command layer's change notices go to FX.change. A daemon part
 * may be attached to FX.store / FX.bus afterwards. Returns 0 or -1 (printed). */
int fx_open(const struct fx_opts *o);
/* Stops everything (safe after a failed fx_open). */
void fx_close(void);
/* fx_close as a cmocka group teardown. Returns 0. */
int fx_teardown(void **state);

/* Runs the loop for up to ms milliseconds or until *flag is true (flag NULL: the whole time). */
void fx_pump(const bool *flag, int ms);
/* Runs the loop until expr holds, at most ms milliseconds. */
#define FX_PUMP_UNTIL(expr, ms)                                                                    \
    do {                                                                                           \
        uint64_t t0_ = clock_real_mono_us();                                                       \
        while (!(expr) && clock_real_mono_us() - t0_ < (uint64_t)(ms)*1000)                        \
            loop_run_once(FX.loop, 5);                                                             \
    } while (0)

/* user's test client (fails the test for an unknown user). */
struct tclient *fx_tc(const char *user);
/* A new client of user with client id (the caller subscribes and tc_closes it), or NULL. */
struct tclient *fx_client(const char *client_id, const char *user);
/* Waits up to 5 s for the reply to rid on user's client from message index from on, and returns
 * it parsed (the caller json_decrefs); fails the test without one. */
json_t *fx_wait_reply(const char *user, const char *rid, size_t from);
/* Publishes body as it is to cmd/<user>/<command> and returns the reply to rid. */
json_t *fx_send_raw(const char *user, const char *command, const char *rid, const char *body);

/* Publishes command with fields (a JSON object's members without braces, "" none) as user and
 * returns its reply (the caller json_decrefs); fails the test on no reply within 5 s. */
json_t *fx_send(const char *user, const char *command, const char *rid, const char *fields);
/* Publishes as fx_send and returns at once: wait with fx_wait_reply(user, rid, from), from the
 * client's tc_count before this call. */
void fx_send_async(const char *user, const char *command, const char *rid, const char *fields);
/* fx_send, failing the test unless the reply is ok and names command and rid. */
json_t *fx_ok(const char *user, const char *command, const char *rid, const char *fields);
/* fx_ok, the reply dropped. */
void fx_ok0(const char *user, const char *command, const char *rid, const char *fields);
/* fx_send, failing the test unless it is refused with exactly want and changed nothing (the
 * snapshot of fx_dump, taken once earlier writes have settled) but one journal entry: op
 * cmd_refused, actor user, cause "<command> <rid>". */
void fx_refused(const char *user, const char *command, const char *rid, const char *fields,
                const char *want);
/* As fx_refused for texts that vary (a date): the error must contain part; nothing changed. */
void fx_refused_part(const char *user, const char *command, const char *rid, const char *fields,
                     const char *part);

/* The reply's string / integer member; fails the test when absent. */
const char *fx_jstr(const json_t *o, const char *k);
long long fx_jint(const json_t *o, const char *k);

/* A Redis command on the direct connection (printf-style, hiredis); fails on an error reply. */
redisReply *fx_redis(const char *fmt, ...);
/* fx_redis, the reply dropped. */
void fx_exec(const char *fmt, ...);
/* HGET (NULL when absent; the caller frees) and an exact-value check (want NULL: absent). */
char *fx_hget(const char *key, const char *field);
void fx_hget_is(const char *key, const char *field, const char *want);
/* Seeds quant <sku>:<loc>:<lot> (lot "" none) with on_hand units, nothing reserved, expiry
 * (YYYY-MM-DD or "") and in_date 2024-01-01, and adds it to the product's quant index: stock as
 * the store keeps it, written directly (not journaled). */
void fx_quant(const char *sku, const char *loc, const char *lot, int on_hand, const char *expiry);
/* The site's KPI counter field (0 when absent). */
long fx_kpi(const char *field);
/* How many messages the watch client has on topic whose payload contains needle. */
size_t fx_events_with(const char *topic, const char *needle);
/* The journal's length. */
long long fx_xlen(void);
/* The last journal entry's field (the caller frees); fails the test without one. */
char *fx_journal_last(const char *field);
/* A canonical snapshot of every key of the site but the journal, request and op records and
 * the keys opts.skip_key names (tests/common/rdump.h); the caller frees. */
char *fx_dump(size_t *len_out);

/* Runs `wcs_bin audit <the site config + the harness redis> flags`, its stdout and stderr into
 * out (cap bytes, NUL-terminated). Returns its exit status (-1: did not exit). */
int fx_audit(const char *wcs_bin, const char *flags, char *out, size_t cap);

#endif
