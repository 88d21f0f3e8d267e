/* The MQTT link (private to wcs_bus): the one file that wraps paho MQTTAsync (mqlink.c). paho's
 * threads only copy what they report into two bounded queues whose eventfds the loop watches;
 * every call below is made from the loop thread and returns without waiting on the network,
 * except mqlink_close. Messages reach paho through a sender thread (mqlink_send only queues). No
 * paho type appears here; paho's codes are translated in mqlink.c. */
#ifndef WCS_BUS_MQLINK_H
#define WCS_BUS_MQLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqlink;

struct mqlink_opts {
    const char *uri;
    const char *client_id;
    int mqtt_version; /* 5 or 4 */
    int max_buffered; /* paho's maxBufferedMessages, and the sender queue's capacity */
    size_t msg_queue_capacity;
};

/* One connect attempt's parameters; borrowed for the duration of mqlink_connect. */
struct mqlink_connect {
    const char *user;     /* NULL: none */
    const char *password; /* NULL: none */
    int keepalive_s;
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
};
/* Only changes of the link's state are events: a few per connect attempt, so the event queue
 * never fills. What happens to single messages is counted (mqlink_counts): with a broker
 * Receive Maximum of 1,000, a lost connection fails up to 1,000 messages at once, and an event
 * for each once filled the queue and dropped the MQLINK_EV_LOST behind them (the bus never
 * reconnected). */

struct mqlink_ev {
    enum mqlink_ev_kind kind;
    int rc;
};

/* A received message; free with mqlink_msg_free. */
struct mqlink_msg {
    char *topic;
    size_t topic_len;
    void *payload;
    size_t len;
    int qos;
    bool retained;
    char *response_topic; /* MQTT 5, NUL-terminated copy or NULL */
    size_t response_topic_len;
    void *correlation; /* MQTT 5 or NULL */
    size_t correlation_len;
};

/* Per-message MQTT 5 options (ignored under 3.1.1). */
struct mqlink_props {
    uint32_t expiry_s;       /* 0: none */
    const void *correlation; /* NULL: none */
    size_t correlation_len;
};

/* Creates the paho client (no connection yet). Returns 0, -EINVAL, -ENOMEM or WCS_E_LINK. */
int mqlink_open(struct mqlink **out, const struct mqlink_opts *o);
/* Disconnects (waiting at most timeout_ms for in-flight messages), destroys the paho client and
 * drops queued events and messages. With send_will, or when queued messages could not be handed
 * to paho within timeout_ms, the broker is made to publish the Will: MQTT 5
 * DISCONNECT reason 0x04, or under 3.1.1 no DISCONNECT at all (the socket just closes).
 * NULL-safe. Blocks up to timeout_ms plus paho's teardown. */
void mqlink_close(struct mqlink *k, int timeout_ms, bool send_will);

/* Tracked QoS 1 messages handed to paho and not yet acknowledged, plus those waiting to be
 * sent again. Any thread. */
size_t mqlink_inflight(struct mqlink *k);

/* Fds that become readable when mqlink_next_ev / mqlink_next_msg have something. */
int mqlink_ev_fd(const struct mqlink *k);
int mqlink_msg_fd(const struct mqlink *k);
/* Re-arm the fds: call once when an fd fires, before popping until -EAGAIN, so a push racing
 * the pops wakes the loop again. */
void mqlink_ev_fd_drain(struct mqlink *k);
void mqlink_msg_fd_drain(struct mqlink *k);
/* Pop the next event / message. Return 0 or -EAGAIN. */
int mqlink_next_ev(struct mqlink *k, struct mqlink_ev *ev);
int mqlink_next_msg(struct mqlink *k, struct mqlink_msg **msg);
void mqlink_msg_free(struct mqlink_msg *m);
/* Times a message found the loop's queue full (it stayed with paho and came again later). */
uint64_t mqlink_msgs_dropped(struct mqlink *k);

/* What became of single messages since mqlink_open. Any thread. */
struct mqlink_counts {
    uint64_t send_failed;     /* given up: refused by paho for good, or failed 4 times */
    uint64_t resent;          /* QoS 1 events/replies paho failed, queued to be sent again */
    uint64_t retained_failed; /* retained QoS 1 messages paho failed (republished on reconnect) */
};
void mqlink_counts(struct mqlink *k, struct mqlink_counts *out);

/* Starts a connect attempt; its outcome arrives as MQLINK_EV_CONNECTED or _CONNECT_FAILED.
 * Returns 0, or WCS_E_LINK / -EINVAL when paho refused to start, -ENOMEM when the CONNECT
 * properties could not be built (no event follows). */
int mqlink_connect(struct mqlink *k, const struct mqlink_connect *c);
/* Subscribes; the outcome arrives as MQLINK_EV_SUBSCRIBED or _SUBSCRIBE_FAILED. */
int mqlink_subscribe(struct mqlink *k, const char *filter, int qos);
/* Queues a copy of the message for the sender thread, which hands it to paho in order (holding
 * it while paho's buffer is full or the link is down). Returns 0 (queued), -EAGAIN (the queue of
 * max_buffered messages is full: keep it and retry later), -EINVAL or -ENOMEM. Never blocks on
 * paho. A message paho later refuses for good is counted (mqlink_counts send_failed). */
int mqlink_send(struct mqlink *k, const char *topic, const void *payload, size_t len, int qos,
                bool retain, const struct mqlink_props *props);

#endif
