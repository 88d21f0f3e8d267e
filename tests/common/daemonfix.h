/* Helpers of the suites that run the control daemon in-process (tests/daemon/test_daemon.c,
 * tests/pack/test_pack.c): the harness servers and a supervisor's test client, the daemon's
 * loop pumped by the test thread (for a while, or until a condition holds), and a direct Redis
 * connection to the harness server. A suite names its daemon, Redis and hook once with
 * dfx_bind; the daemon is read at each call, so a suite may reopen it. Helpers that say so
 * fail the running cmocka test. One fixture per process. */
#ifndef TESTS_DAEMONFIX_H
#define TESTS_DAEMONFIX_H

#include "daemon/daemon.h"
#include "harness/harness.h"
#include "tclient.h"

#include <hiredis/hiredis.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A condition the pump waits for. */
typedef bool (*dfx_cond_fn)(void *arg);

/* What the helpers act on: *d the daemon, *redis the harness Redis (both read at each call),
 * after_turn (NULL: none) run after each turn of the loop (test_daemon drains its sd_notify
 * socket there). The pointers must outlive the suite. */
void dfx_bind(struct wcsd *const *d, struct harness_redis *const *redis, void (*after_turn)(void));

/* Makes the directory from tmpl ("/tmp/wcs-x-XXXXXX", rewritten in place) and starts a
 * redis-server and a mosquitto for site with the users wcs (service) and sup (supervisor).
 * Returns 0, or -1 (the harness's error printed). */
int dfx_start(char *tmpl, const char *site, struct harness_redis **redis,
              struct harness_mqtt **mqtt);
/* The supervisor's test client "t-sup", subscribed to wcs/v1/<site>/#, or NULL. */
struct tclient *dfx_sup_client(struct harness_mqtt *mqtt, const char *site);

/* CLOCK_MONOTONIC milliseconds. */
uint64_t dfx_now_ms(void);
/* Runs the daemon's loop for ms milliseconds. */
void dfx_pump(int ms);
/* Runs the daemon's loop until c(arg) holds, at most ms milliseconds. Returns c's last answer. */
bool dfx_pump_until(dfx_cond_fn c, void *arg, int ms);
/* A condition: the daemon is ready (wcsd_is_ready). */
bool dfx_is_ready(void *arg);

/* A new authenticated connection to the harness Redis (the caller redisFrees it), or NULL. */
redisContext *dfx_rconn(void);
/* A Redis command (printf-style, hiredis) on a new connection; fails the test on an error. */
void dfx_rcmd(const char *fmt, ...);
/* HGET key field into out ("" when absent or Redis is unreachable). */
void dfx_hget(const char *key, const char *field, char *out, size_t cap);
/* HLEN key, or -1 when Redis is unreachable. */
long long dfx_hlen(const char *key);
/* Pumps until HGET key field is want, at most ms; fails the test with the value found. */
void dfx_wait_field(const char *key, const char *field, const char *want, int ms);
/* Pumps until c received, from its message index `from` on, a message on topic whose payload
 * contains needle (NULL: any), at most ms; fails the test listing the last messages seen. A
 * retained message published while subscribed arrives without the retain flag. */
void dfx_wait_mq(struct tclient *c, size_t from, const char *topic, const char *needle, int ms);

#endif
