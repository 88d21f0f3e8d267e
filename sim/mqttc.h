/* Private to the runner: the simulator's own small MQTT client (libmosquitto, MQTT 3.1.1, clean
 * session), so agents publish commands as their site user and the runner reads alarms, KPIs and
 * events. One network thread serves every client of the process: messages arrive on it and wait
 * in a mutex-protected list the runner's loop drains; a publish is written to the socket by the
 * calling thread. Reconnects by itself and subscribes again after a broker restart. Any thread
 * may call any function, but one client is closed only once nothing else uses it. */
#ifndef SIM_MQTTC_H
#define SIM_MQTTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqttc;

struct mqttc_msg {
    char *topic;
    char *payload; /* NUL-terminated copy; len bytes before the NUL */
    size_t len;
    bool retained;
    int qos;             /* the QoS it was delivered at: min(published, subscribed) */
    uint64_t arrived_us; /* clock_real_mono_us() when the network thread received it */
    struct mqttc_msg *next;
};

/* Connects (blocks up to 10 s) with automatic reconnect (backoff 0.25 s doubling to 2 s).
 * Returns 0 and *out, or a negative code with err filled (WCS_E_LINK: refused, or nothing
 * listens). */
int mqttc_open(struct mqttc **out, const char *uri, const char *client_id, const char *user,
               const char *password, char *err, size_t err_len);
/* The same in two steps, so several clients connect at once: start (never blocks), then wait
 * (blocks up to timeout_ms; 0 connected, a negative code otherwise: close it then). */
int mqttc_connect_start(struct mqttc **out, const char *uri, const char *client_id,
                        const char *user, const char *password, char *err, size_t err_len);
int mqttc_connect_wait(struct mqttc *c, int timeout_ms);
/* Subscribes n filters in one SUBSCRIBE (QoS 1), as mqttc_subscribe. */
int mqttc_subscribe_many(struct mqttc *c, const char *const *filters, size_t n);
/* This client's subscriptions from now on (and after every reconnect) ask for QoS 0: the broker
 * delivers without the PUBACK round, and a message in flight when the connection drops is lost
 * (the runner resends a command whose reply does not come; state topics are retained). */
void mqttc_sub_qos0(struct mqttc *c);
/* Subscribes at QoS 1, or 0 after mqttc_sub_qos0 (blocks up to 5 s for the SUBACK); the
 * filter is subscribed again after every reconnect. Returns 0 or a negative code. */
int mqttc_subscribe(struct mqttc *c, const char *filter);
/* Publishes (QoS 1, not retained), writing to the socket before it returns unless the kernel's
 * buffer is full (the network thread writes the rest). Returns 0, or WCS_E_LINK while
 * disconnected (the message is dropped). A message accepted just before the connection is
 * found lost goes again after the reconnect. */
int mqttc_publish(struct mqttc *c, const char *topic, const char *payload);
/* Pops the oldest received message (free with mqttc_msg_free), or NULL. */
struct mqttc_msg *mqttc_pop(struct mqttc *c);
void mqttc_msg_free(struct mqttc_msg *m); /* NULL-safe */
bool mqttc_is_connected(struct mqttc *c);
/* offline true: drops the connection without a DISCONNECT (a handheld out of the radio's reach)
 * and makes no reconnect until it is called with false, which reconnects at once (then the
 * usual backoff). Publishes meanwhile return WCS_E_LINK; the subscriptions are made again. */
void mqttc_set_offline(struct mqttc *c, bool offline);
/* How many times the client has connected (the first time and every automatic reconnect). */
unsigned mqttc_connects(struct mqttc *c);
void mqttc_close(struct mqttc *c); /* NULL-safe */

#endif
