/* The MQTT command layer (docs/mqtt.md, "Commands"): takes each struct bus_cmd the bus hands the
 * daemon, claims its request_id in Redis (a replay is answered with the stored reply and not
 * executed), checks the user's roles from the site config (with segregation of duties),
 * validates its fields, runs it as one atomic store script and answers on the reply topic.
 * Every outcome, refusals included, is journaled with actor = user and cause =
 * "<command> <request_id>". Independent of the daemon: the owner builds a struct cmd_ctx. */
#ifndef WCS_COMMAND_COMMAND_H
#define WCS_COMMAND_COMMAND_H

#include "base/clock.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "config/config.h"
#include "store/store.h"

#include <stdint.h>

/* What a successful command changed, for the owner (retained state, flows). */
enum cmd_change {
    CMD_CHANGED_ORDER,       /* id: order */
    CMD_CHANGED_WAVE,        /* id: wave */
    CMD_CHANGED_DEVICE,      /* id: device; state "enabled" or "disabled" */
    CMD_CHANGED_TOTE,        /* id: tote whose record changed (label.reprint: the shipment's
                                carton); the owner re-reads it */
    CMD_CHANGED_STOCK,       /* id: sku (an adjustment applied) */
    CMD_CHANGED_APPROVAL,    /* id: approval ("ADJ-<n>"); state "pending" or "approved" */
    CMD_CHANGED_ALARM,       /* id: alarm acknowledged */
    CMD_CHANGED_COUNT,       /* id: count task ("CNT-<n>") */
    CMD_CHANGED_RMA,         /* id: RMA */
    CMD_CHANGED_STATION,     /* id: pack station (pack.reset); state "IDLE" */
    CMD_CHANGED_RECEIPT,     /* id: receipt; state expected, receiving, received, closed */
    CMD_CHANGED_TASK,        /* id: putaway task ("PUT-<n>"); state open, done */
    CMD_CHANGED_TRANSFER,    /* id: transfer; state "reserved", "in_transit" or "done" */
    CMD_CHANGED_REPRINT,     /* id: shipment whose label is to be printed again; state: the printer
                                named ("" = the packing station's); told before CMD_CHANGED_TOTE */
    CMD_CHANGED_ORDER_STATE, /* id: order a pick (pick.confirm, pick.short) advanced: only its
                                state can have changed; state: the order's state now */
    CMD_CHANGED_TOTE_PICKED, /* id: tote a pick put units in (its record now carries the order,
                                state picking); state: that order */
};

/* Called on the loop after the reply was sent; id and state are valid during the call. A
 * command may report two changes: the second (pick.confirm's tote, label.reprint's reprint)
 * comes first, the command's main change last. */
typedef void (*cmd_change_fn)(void *arg, enum cmd_change what, const char *id, const char *state);

struct cmd_stats {
    uint64_t handled;       /* commands answered (every outcome below) */
    uint64_t executed;      /* ok replies */
    uint64_t refused;       /* refused: unknown command, role, fields, references, state */
    uint64_t replayed;      /* answered from the stored reply of an earlier request */
    uint64_t store_errors;  /* not executed because Redis failed or was down */
    uint64_t pick_confirms; /* pick.confirm and the found part of pick.short, applied */
    uint64_t pick_errors;   /* pick checks refused (location, product, lot, expiry, qty, tote) */
    uint64_t pick_hinted;   /* pick.confirm run without reading its task (known from the claim) */
    /* replenishment checks (replen.c): run, tasks created, skipped by the script (an open
     * replenishment or no longer below min meanwhile), rule needs without reserve stock,
     * failed on a store error, dropped on a full queue */
    uint64_t replen_checks, replen_created, replen_skipped, replen_no_source, replen_failed;
    uint64_t replen_dropped, replen_finished; /* finished: checks ended, whatever the outcome */
};

/* Filled by the owner; every pointer is borrowed and must outlive the commands in flight. Close
 * the store before the bus: store_close calls back every pending command with -ECANCELED and
 * the layer answers it on the bus. */
struct cmd_ctx {
    struct store *store;
    struct bus *bus;             /* approval alarms are raised and cleared on it */
    const struct cfg_site *site; /* users, roles, thresholds, references */
    const struct wcs_clock *clock;
    uint32_t request_ttl_s;  /* how long a request_id is remembered; 0: 86400 */
    cmd_change_fn on_change; /* may be NULL */
    void *change_arg;
    struct loop *loop; /* the loop the store runs on: wave.plan's planner thread reports to it
                          (NULL: wave.plan is refused) */
    /* Test seam: called on the loop between the planner's result and wave.plan's commit. */
    void (*before_commit)(void *arg);
    void *before_commit_arg;
    /* pack.reset: the owner abandons the station's session (it owns the pack stations); order
     * non-NULL: only a session of that order (an idle station is reset as it is). Returns 0, or
     * a refusal code with why filled. NULL: pack.reset is refused. */
    int (*station_reset)(void *arg, const char *station, const char *order, const char *actor,
                         const char *cause, char *why, size_t cap);
    void *station_arg;
    struct cmd_stats stats;      /* zero it before the first command; the layer counts */
    struct cmd_wave *wave;       /* private: the wave.plan running (one at a time) */
    struct cmd_inbound *inbound; /* private: receiving's planner site (inbound.c) */
    struct cmd_replen *replen;   /* private: the replenishment check queue (replen.c) */
    struct taskhints *hints;     /* private: pick tasks handed out by batch.claim (taskhint.h) */
    /* private: claim tokens are "~<prefix>.<n>", the prefix random per process (command.c) */
    char claim_prefix[17];
    uint64_t claims;
};

/* Handles cmd (from the bus's command callback): answers it exactly once, later on the loop (or
 * at once when Redis is not ready), which frees it. Returns 0 when the command was taken, or
 * -ENOMEM after answering it with an error. Never blocks. */
int command_handle(struct cmd_ctx *c, struct bus_cmd *cmd);

/* A command wcs issues itself (the daemon's automatic wave release): it goes the same way as
 * one from the bus — request_id claimed in Redis (a replay is answered with the stored reply
 * and not executed), fields validated, one store operation, reply stored, journaled with actor
 * `user` and the given cause — except that no role is checked and the answer goes to a
 * callback instead of the bus. */
struct cmd_local {
    const char *user;       /* the actor, a store identifier ("wcs") */
    const char *command;    /* a command of the table, e.g. "wave.plan" */
    const char *request_id; /* 1..64 characters; at most once per (user, request_id) */
    const char *cause;      /* the journal's cause, e.g. "auto-release DHL 2026-11-27T14:00Z" */
    const json_t *body;     /* the command's fields as an object (borrowed; referenced) */
};

#define CMD_LOCAL_REPLAYED    1u /* the stored answer of an earlier run: nothing executed now */
#define CMD_LOCAL_STORE_ERROR 2u /* Redis failed or was down: not executed */
/* Called exactly once on the loop with the ok reply's fields (borrowed during the call) or the
 * error, and CMD_LOCAL_* flags. */
typedef void (*cmd_local_fn)(void *arg, const json_t *fields, const char *error, unsigned flags);

/* Runs l as described above. Returns 0 and calls done exactly once later (or at once when
 * Redis is not ready), or -EINVAL (a missing or bad field of l) / -ENOMEM without calling it.
 * Never blocks. */
int command_run_local(struct cmd_ctx *c, const struct cmd_local *l, cmd_local_fn done, void *arg);

/* Ends a running wave.plan (waits for its planner thread, at most one planner run, and answers
 * it with an error). Call before store_close. NULL-safe. */
void command_fini(struct cmd_ctx *c);

/* The key id under which a request_id is remembered (wcs:{s}:req:<user>:<key id>): the
 * request_id itself when it is a store identifier, else "h" and 32 hex digits of two 64-bit
 * FNV-1a hashes (request_ids may hold ':' and be 64 characters long). Pure. */
void command_request_key(const char *request_id, char out[STORE_ID_MAX]);

#endif
