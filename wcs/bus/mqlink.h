/* The MQTT link (private to wcs_bus): the one file that wraps libmosquitto (mqlink.c), run inside
 * the event loop with no thread of its own: its socket is a loop fd, keepalive a timer. Every
 * call below is made from the loop thread and returns without waiting on the network, except
 * mqlink_close. The owner's callbacks run on the loop, only from the link's own fd and timer
 * handlers (never from inside an mqlink_* call the owner made). No libmosquitto type appears
 * here; its codes are translated in mqlink.c. */
#ifndef WCS_BUS_MQLINK_H
#define WCS_BUS_MQLINK_H

#include "base/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqlink;

struct mqlink_opts {
    /* "tcp://host:port" (also "mqtt://", or no scheme; port default 1883). A host name is
     * resolved with getaddrinfo at each connect attempt, which blocks the loop for as long as
     * the resolver takes: give an IP address (as the tests, the demo and deploy/ do) or a name
     * /etc/hosts answers. */
    const char *uri;
    const char *client_id;
    int mqtt_version; /* 5 or 4 */
    /* QoS 1 messages the link holds at once, sent or queued behind the broker's Receive
     * Maximum, not yet acknowledged (1..32768); mqlink_send refuses more with -EAGAIN. */
    int max_unacked;
    int connect_timeout_ms; /* no CONNACK by then: MQLINK_EV_CONNECT_FAILED; 0: 10000 */
    int tick_ms;            /* how often keepalive and the connect timeout are looked at; 0: 1000
                               (libmosquitto counts keepalive in whole seconds) */
};

/* One connect attempt's parameters; borrowed for the duration of mqlink_connect. */
struct mqlink_connect {
    const char *user;     /* NULL: none */
    const char *password; /* NULL: none */
    int keepalive_s;      /* raised to 5, libmosquitto's least */
    bool clean_start;
    uint32_t session_expiry_s; /* MQTT 5 without clean_start: kept this long after a disconnect */
    const char *will_topic;    /* NULL: no Will */
    const void *will_payload;
    size_t will_len;
};

enum mqlink_ev_kind {
    MQLINK_EV_CONNECTED,
    MQLINK_EV_CONNECT_FAILED, /* rc: WCS_E_DENIED (refused credentials) or WCS_E_LINK */
    MQLINK_EV_LOST,
    MQLINK_EV_SUBSCRIBED,
    MQLINK_EV_SUBSCRIBE_FAILED,
    /* mqlink_send refused a message with -EAGAIN and would now take one again: the owner may
     * hand over what it kept. */
    MQLINK_EV_SEND_READY,
};
/* Only changes of the link's state are events; what happens to single messages is counted
 * (mqlink_counts). */

struct mqlink_ev {
    enum mqlink_ev_kind kind;
    int rc;
};

/* A received message, valid during the on_msg call. topic and payload are NUL-terminated.
 * response_topic and correlation (MQTT 5, NULL when absent) are malloc'd and freed by the link
 * after the call, unless the callee takes them (sets the pointer to NULL and frees it later). */
struct mqlink_msg {
    const char *topic;
    size_t topic_len;
    const void *payload;
    size_t len;
    int qos;
    bool retained;
    char *response_topic;
    size_t response_topic_len;
    void *correlation;
    size_t correlation_len;
};

/* The owner's callbacks (on the loop). on_msg may call mqlink_send and mqlink_subscribe;
 * neither may call mqlink_connect or mqlink_close. */
struct mqlink_cbs {
    void (*on_event)(void *arg, const struct mqlink_ev *ev);
    void (*on_msg)(void *arg, struct mqlink_msg *m);
    void *arg;
};

/* Per-message MQTT 5 options (ignored under 3.1.1). */
struct mqlink_props {
    uint32_t expiry_s;       /* 0: none */
    const void *correlation; /* NULL: none */
    size_t correlation_len;
};

/* Creates the link on loop l (borrowed; outlives the link), with no connection yet. o and cbs
 * are copied. Returns 0, -EINVAL (bad uri or option), -ENOMEM, or a negative errno. */
int mqlink_open(struct mqlink **out, struct loop *l, const struct mqlink_opts *o,
                const struct mqlink_cbs *cbs);
/* Runs the connection from inside this call until every QoS 1 message the link holds is
 * acknowledged and everything is written, for at most timeout_ms, then disconnects and frees
 * everything. Messages received meanwhile still go to on_msg (so the owner can answer them);
 * no event is reported. With send_will, or when something was left unacknowledged, the broker is
 * made to publish the Will: MQTT 5 DISCONNECT reason 0x04, or under 3.1.1 no DISCONNECT at all
 * (the socket just closes). NULL-safe. Blocks up to timeout_ms plus 100 ms for the DISCONNECT. */
void mqlink_close(struct mqlink *k, int timeout_ms, bool send_will);

/* Events and replies (QoS 1, not retained) handed to the broker and not yet acknowledged, plus
 * those waiting to be sent again on the next connection. */
size_t mqlink_inflight(const struct mqlink *k);

/* What became of single messages since mqlink_open. */
struct mqlink_counts {
    uint64_t send_failed;     /* events/replies given up: refused by libmosquitto, or the
                                 connection lost (or a PUBACK refusing them) 4 times */
    uint64_t resent;          /* events/replies unacknowledged when a connection was lost, or
                                 refused in an MQTT 5 PUBACK, queued to be sent again */
    uint64_t retained_failed; /* retained QoS 1 messages unacknowledged when a connection was
                                 lost: not resent (the owner republishes its retained state) */
    uint64_t recv_damaged;    /* received messages passed on without their MQTT 5 response
                                 topic or correlation data: no memory to copy them */
};
void mqlink_counts(const struct mqlink *k, struct mqlink_counts *out);

/* Starts a connect attempt on a new client (a previous one is dropped); its outcome arrives as
 * MQLINK_EV_CONNECTED or _CONNECT_FAILED (after at most connect_timeout_ms and a tick). Returns 0,
 * or WCS_E_LINK (the connection was refused at once, or the host is not found), -EINVAL, -ENOMEM
 * (no event follows). */
int mqlink_connect(struct mqlink *k, const struct mqlink_connect *c);
/* Subscribes; the outcome arrives as MQLINK_EV_SUBSCRIBED or _SUBSCRIBE_FAILED. Returns 0,
 * WCS_E_LINK (not connected), -EINVAL or -ENOMEM. */
int mqlink_subscribe(struct mqlink *k, const char *filter, int qos);
/* Hands a message to the connection: it is written to the socket now when the socket takes it,
 * else when the loop sees the socket writable. QoS 1 events and replies (not retained) are kept
 * until their PUBACK and sent again, in order and ahead of anything newer, on the next
 * connection; retained messages are not (see mqlink_counts). Returns 0, WCS_E_LINK (not
 * connected), -EAGAIN (max_unacked QoS 1 messages held, or a QoS 0 message while the socket is
 * full: keep it and offer it again, at the latest on MQLINK_EV_SEND_READY), -EINVAL (a topic,
 * size or property libmosquitto refuses) or -ENOMEM. Never blocks. */
int mqlink_send(struct mqlink *k, const char *topic, const void *payload, size_t len, int qos,
                bool retain, const struct mqlink_props *props);

#endif
