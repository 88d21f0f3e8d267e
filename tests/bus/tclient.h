/* A small synchronous MQTT client for the bus tests and the bench (paho MQTTAsync, MQTT 5 or
 * 3.1.1): connect as a user, subscribe, publish with MQTT 5 properties, and record every message
 * received (topic, payload, retained flag, correlation data) for the test to inspect. */
#ifndef TESTS_BUS_TCLIENT_H
#define TESTS_BUS_TCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tclient;

struct tmsg {
    char *topic;
    char *payload; /* NUL-terminated copy */
    size_t len;
    bool retained;
    char *corr; /* NUL-terminated copy of the correlation data, or NULL */
};

/* Connects (waits up to 5 s). mqtt_version 5 or 4. Returns NULL on failure. count_only: keep a
 * count but not the messages (for the bench). */
struct tclient *tc_open(const char *uri, const char *client_id, const char *user,
                        const char *password, int mqtt_version, bool count_only);
void tc_close(struct tclient *c);
/* Subscribes at QoS 1 and waits for the grant. Returns 0 or -1. */
int tc_sub(struct tclient *c, const char *filter);
/* Removes a subscription and waits for the broker's answer. Returns 0 or -1. */
int tc_unsub(struct tclient *c, const char *filter);
/* Publishes and, for QoS 1, waits for the acknowledgement (up to 5 s). response_topic and corr
 * may be NULL (MQTT 5 only). Returns 0 or -1. */
int tc_pub(struct tclient *c, const char *topic, const void *payload, size_t len, int qos,
           bool retained, const char *response_topic, const char *corr);
/* Messages received so far (copies taken under the lock; valid until tc_close). */
size_t tc_count(struct tclient *c);
const struct tmsg *tc_msg(struct tclient *c, size_t i);
/* Index of the first message at or after `from` on topic whose payload contains `needle`
 * (NULL: any), or -1. tc_find_retained counts only messages that carried the retained flag. */
long tc_find(struct tclient *c, size_t from, const char *topic, const char *needle);
long tc_find_retained(struct tclient *c, size_t from, const char *topic, const char *needle);

/* A waker keeps paho's receive thread turning. All MQTTAsync clients of a process share one
 * receive thread that polls their sockets with a fixed 1 s timeout and takes up a new socket (a
 * connect) or a finished disconnect only when that poll returns; with one idle client open, every
 * further connect and close waits up to 1 s. The waker publishes QoS 1 to `topic` every
 * period_ms on its own connection; each acknowledgement wakes the poll. Choose a topic the ACL
 * denies the user: the broker still acknowledges it (MQTT 5: reason 0x87) but delivers it to
 * nobody, so no test sees these messages. It reconnects on its own after a broker restart.
 * Returns NULL when the first connect fails. Only speeds a test up: nothing may depend on it. */
struct tc_waker;
struct tc_waker *tc_waker_start(const char *uri, const char *user, const char *password,
                                const char *topic, int period_ms);
void tc_waker_stop(struct tc_waker *w); /* NULL-safe */

#endif
