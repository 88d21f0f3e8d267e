/* The daemon's MQTT bus (DESIGN.md §4.3): publishes status, retained state, KPIs, events and
 * alarms under wcs/v1/<site>/, takes commands from cmd/<user>/<command> and answers them on
 * reply/<user>/<request_id>. The MQTT client (libmosquitto) runs inside the event loop with no
 * thread of its own; everything here runs on the loop and never blocks it on the network: while
 * the broker is unreachable or slow, messages wait in the bus's own bounded offline buffer
 * (oldest dropped and counted).
 * JSON values are jansson's json_t, the project's JSON type; no MQTT library type appears here. */
#ifndef WCS_BUS_BUS_H
#define WCS_BUS_BUS_H

#include "base/hist.h"
#include "base/loop.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUS_NAME_MAX       64  /* a topic level (site, user, command, kind, id) with the NUL */
#define BUS_REQUEST_ID_MAX 64  /* request_id characters, without the NUL */
#define BUS_ERR_MAX        256 /* a buffer this size holds any error text of this module */

struct bus;

/* Options; strings are copied by bus_open. Zero values take the documented defaults. */
struct bus_opts {
    const char *uri;           /* "tcp://127.0.0.1:1883" (required) */
    const char *client_id;     /* required; unique per broker */
    const char *user;          /* NULL: connect without credentials */
    const char *password_file; /* read at every connect attempt (trailing newline dropped) */
    const char *site;          /* required; [A-Za-z0-9_.-], 1..63 characters */
    uint64_t gen;              /* generation number in the birth and Will (e.g. Redis INCR) */
    int mqtt_version;          /* 5 (default) or 4 (MQTT 3.1.1) */
    int keepalive_s;           /* default 30 */
    bool persistent_session;   /* false (default): clean start on every connect */
    uint32_t session_expiry_s; /* MQTT 5, persistent_session: the broker keeps the session (its
                                  subscriptions and the QoS 1 messages for them) this long after
                                  a disconnect; default 600 */
    const char *share_group;   /* non-NULL (MQTT 5): subscribe $share/<group>/.../cmd/+/+ */
    size_t offline_capacity;   /* messages held while the link cannot take them; default 10000 */
    size_t max_payload_bytes;  /* largest command payload accepted; default 65536 */
    size_t max_retained;       /* retained topics tracked (state, kpi, alarms); default 65536 */
    int max_unacked;           /* QoS 1 messages handed to the MQTT client and not yet
                                  acknowledged by the broker (in flight, or queued behind its
                                  Receive Maximum); beyond it the offline buffer holds them;
                                  default 4096, at most 32768 */
    bool events_qos0;          /* false (default): evt/ at QoS 1; true: QoS 0 (lossy, faster) */
    uint32_t expiry_s;         /* MQTT 5 message expiry of events and replies; 0: none */
    uint32_t reconnect_min_ms; /* first retry delay after a failure; default 250 */
    uint32_t reconnect_max_ms; /* backoff doubles up to this; default 10000 */
    uint32_t retry_ms;         /* re-offer the backlog while the link refuses it; default 2 (the
                                  link also says when it takes messages again) */
    /* A state/ topic set again less than this long (loop clock) after it was last sent is
     * coalesced: only its latest value goes out, when the interval is up (or sooner, with the
     * backlog when the link had refused it). 0 (default): every bus_set_state is sent at once.
     * Alarms, kpi and deletions are never held. */
    uint64_t state_min_interval_us;
    /* Optional (NULL: refusals are only replied and counted). Called on the loop, after the reply
     * was sent or buffered (it is called even when memory ran out for the reply), once for each
     * command the bus refuses itself (oversize or unreadable envelope, bad command name, retained,
     * no handler, out of memory): user from the topic; command NULL when the topic's command level
     * is invalid; request_id NULL when it could not be read (the reply went to
     * reply/<user>/_invalid); reason the reply's error text. The strings are valid during the call
     * only; it must not call bus_close. Not called for commands handed to the handler, for messages
     * whose user level is invalid (they cannot be answered), nor by bus_close's "shutting down"
     * answers. */
    void (*on_refused)(void *arg, const char *user, const char *command, const char *request_id,
                       const char *reason);
    void *on_refused_arg;
    /* Optional. On every connect the bus subscribes to alarm/+ and is sent the broker's
     * retained alarms; each one it did not raise itself (left by an earlier process, which
     * nobody would clear) is handed to this function on the loop: the owner adopts it
     * (bus_raise_alarm, the bus then republishes it) or clears it (bus_clear_alarm), now or
     * later. NULL: the bus clears it at once. body is the alarm's JSON (NULL when unreadable),
     * valid during the call. Off with share_group (other processes own their alarms). */
    void (*on_foreign_alarm)(void *arg, const char *id, const json_t *body);
    void *on_foreign_alarm_arg;
};

/* A command received on wcs/v1/<site>/cmd/<user>/<command>, owned by the bus until it is
 * answered. The handler (or code it hands the command to) must answer it exactly once with
 * bus_reply_ok or bus_reply_err; that call frees it. */
struct bus_cmd {
    char user[BUS_NAME_MAX];                 /* from the topic; the broker's ACL vouches for it */
    char command[BUS_NAME_MAX];              /* e.g. "order.upsert" */
    char request_id[BUS_REQUEST_ID_MAX + 1]; /* validated: 1..64 of [A-Za-z0-9._:-] */
    json_t *body;                            /* the whole envelope object (borrowed) */
    char *response_topic;                    /* MQTT 5 response topic honoured, or NULL */
    void *correlation;                       /* MQTT 5 correlation data, or NULL */
    size_t correlation_len;
    struct bus *bus;
    uint64_t received_us; /* real monotonic time the loop took it (bus_cmd_latency) */
};

/* Called on the loop for each valid command. */
typedef void (*bus_cmd_fn)(struct bus *b, struct bus_cmd *cmd, void *arg);

/* Counters and link state, for the daemon's KPIs and the tests. */
struct bus_stats {
    bool connected;             /* the broker accepted the last connect and it is not lost */
    bool subscribed;            /* the command subscription was granted on this connection */
    uint64_t connects;          /* successful connects */
    uint64_t connect_failures;  /* refused or failed attempts (also an unreadable password file) */
    uint64_t disconnects;       /* connections lost */
    uint64_t published;         /* messages handed to the MQTT client */
    uint64_t offline_len;       /* messages waiting in the offline buffer now */
    uint64_t offline_dropped;   /* oldest messages dropped because the offline buffer was full */
    uint64_t cmds;              /* commands handed to the handler */
    uint64_t cmds_rejected;     /* commands answered with an error by the bus itself */
    uint64_t cmds_unanswerable; /* command messages whose topic names no valid user: dropped */
    uint64_t response_topics_refused; /* MQTT 5 response topics outside reply/<user>/ */
    uint64_t queue_dropped;           /* received messages handed to the command path without their
                                       * MQTT 5 response topic or correlation data (no memory to copy
                                       * them; answered on reply/<user>/ all the same). Messages are
                                       * handed over as they are read, so nothing queues or drops */
    uint64_t send_failures;     /* events/replies given up: refused by the MQTT client, or their
                                   connection lost (or an MQTT 5 PUBACK refusing them) 4 times */
    uint64_t retained_failures; /* retained QoS 1 messages unacknowledged when a connection was
                                   lost: not resent, the reconnect republishes all retained state */
    uint64_t resent;            /* QoS 1 events/replies unacknowledged when a connection was lost
                                   (or refused in an MQTT 5 PUBACK), queued to be sent again */
    uint64_t foreign_alarms; /* retained alarms found on the broker that this bus had not raised */
    uint64_t inflight;       /* QoS 1 events/replies sent and not yet acknowledged, or waiting
                                to be sent again (walks a list: not for the hot path) */
    uint64_t seq;            /* the last seq stamped */
};

/* Creates the bus on loop `l` (borrowed; outlives the bus) and starts connecting at once; it
 * reconnects by itself with backoff. `on_cmd` (may be NULL: commands are then refused) runs on
 * the loop. Returns 0 and *out, -EINVAL (missing or bad option, with err filled if not NULL),
 * -ENOMEM; *out is untouched on failure. Does not block: a broker that is down is not an error
 * here. A host name in uri (not an IP address) is resolved at every connect attempt, blocking the
 * loop for the resolver's time. */
int bus_open(struct bus **out, struct loop *l, const struct bus_opts *o, bus_cmd_fn on_cmd,
             void *arg, char *err, size_t err_len);
/* Answers pending commands with "shutting down" (their bus_cmd pointers become invalid), sends
 * what the link takes of the backlog, publishes the retained status {"online":false,...} (or, if
 * the link will not take it or the broker does not acknowledge it in time, makes the broker
 * publish the Will), runs the connection for at most 1 s until the broker has acknowledged what
 * was sent (a command arriving meanwhile is answered "shutting down"), disconnects and frees
 * everything. NULL-safe. Blocks up to about 1.1 s: call it at shutdown. */
void bus_close(struct bus *b);

/* Publishes {...body, "ts", "seq"} on evt/<type> (QoS 1, or 0 with events_qos0; not retained). body
 * is an object or NULL (borrowed; its "ts"/"seq" are replaced). Returns 0 when sent or buffered,
 * -EINVAL (bad type name or body), -ENOMEM. Never blocks. */
int bus_publish_event(struct bus *b, const char *type, const json_t *body);
/* Sets the retained state/<kind>/<id> (body object borrowed, NULL: {}); remembered and
 * republished on every reconnect. Returns 0, -EINVAL, -ENOMEM or WCS_E_FULL (max_retained). */
int bus_set_state(struct bus *b, const char *kind, const char *id, const json_t *body);
/* Removes state/<kind>/<id> from the broker (empty retained payload) and from the table.
 * Returns 0, -EINVAL or -ENOENT when the bus never set it. */
int bus_del_state(struct bus *b, const char *kind, const char *id);
/* Sets the retained KPI snapshot on kpi. As bus_set_state. */
int bus_set_kpi(struct bus *b, const json_t *body);
/* Raises (or updates) the retained alarm/<id>. As bus_set_state. */
int bus_raise_alarm(struct bus *b, const char *id, const json_t *body);
/* Clears alarm/<id> with an empty retained payload. As bus_del_state; also clears an alarm
 * reported to on_foreign_alarm. */
int bus_clear_alarm(struct bus *b, const char *id);
/* True when alarm/<id> is raised by this bus (not cleared since). */
bool bus_alarm_raised(const struct bus *b, const char *id);
/* The body of alarm/<id> as this bus raised it (its own copy: valid until the alarm is raised
 * again or cleared), or NULL when it is not raised by this bus. */
const json_t *bus_alarm_body(const struct bus *b, const char *id);

/* Holds commands (hold true) or hands the held ones over (false). While held, each valid command
 * the bus receives is kept, in arrival order, instead of going to the handler; releasing hands
 * them to the handler at once, in order, from this call. For an owner that cannot run commands
 * yet: the broker delivers those it queued for a persistent session right after the connect,
 * before, say, the daemon has reached Redis. bus_close answers held ones "shutting down". Loop
 * only; not from the handler. */
void bus_hold_commands(struct bus *b, bool hold);

/* Answers cmd on reply/<user>/<request_id> (and on its MQTT 5 response topic) with
 * {"ok":true,"request_id","command",...fields,"ts","seq"} and frees cmd. fields is an object or
 * NULL (borrowed); it may not use the keys ok, error, request_id, command, ts or seq.
 * Returns 0 (sent or buffered), -EINVAL (bad fields: cmd is then answered with an internal
 * error instead) or -ENOMEM. cmd is freed in every case. */
int bus_reply_ok(struct bus_cmd *cmd, const json_t *fields);
/* Answers cmd with {"ok":false,"request_id","command","error":message,"ts","seq"} and frees it.
 * Returns 0 or -ENOMEM (cmd freed either way). */
int bus_reply_err(struct bus_cmd *cmd, const char *message);

void bus_get_stats(const struct bus *b, struct bus_stats *out);
/* Handling time of the commands answered since bus_open, in real microseconds: from the loop
 * reading the command off the socket to its reply handed back to the MQTT client (validation,
 * authorisation, every Redis round trip of the command). Valid until bus_close; loop only. */
const struct hist *bus_cmd_latency(const struct bus *b);

/* ---- field helpers for command handlers (pure) ----
 * Each reads body[name]. It returns 0 and sets *out; 1 when the field is absent and
 * BUS_FIELD_OPTIONAL was given (*out untouched); WCS_E_SYNTAX with err holding a text such as
 * `field "qty": expected a positive integer` otherwise (also for a missing required field:
 * `field "sku": missing`). Strings returned are borrowed from body. */
enum { BUS_FIELD_OPTIONAL = 1 };
int bus_field_string(const json_t *body, const char *name, unsigned flags, size_t min_len,
                     size_t max_len, const char **out, char *err, size_t err_len);
/* An integer in min..max (JSON integers only: 2.0, "2" and true are refused). */
int bus_field_int(const json_t *body, const char *name, unsigned flags, int64_t min, int64_t max,
                  int64_t *out, char *err, size_t err_len);
/* A string equal to one of values[] (NULL-terminated); *out is its index. */
int bus_field_enum(const json_t *body, const char *name, unsigned flags, const char *const *values,
                   int *out, char *err, size_t err_len);
int bus_field_bool(const json_t *body, const char *name, unsigned flags, bool *out, char *err,
                   size_t err_len);

#endif
