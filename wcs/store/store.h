/* The daemon's Redis store: hot state of one site (stock, reservations, totes, requests) behind
 * atomic Lua scripts, driven asynchronously on the wcs event loop (base/loop.h) through hiredis
 * 0.14. One connection per store; reconnects with bounded backoff, re-AUTHs and reloads scripts.
 * The key schema and every key's writer and lifetime are in docs/redis.md. Only store.c sees
 * hiredis; nothing of it leaks through this header. */
#ifndef WCS_STORE_STORE_H
#define WCS_STORE_STORE_H

#include "base/hist.h"
#include "base/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ID_MAX    64  /* site, sku, lot, order, tote, user, request and op ids, with NUL */
#define STORE_PATH_MAX  128 /* a location path such as WH1/Stock/A/01/02, with NUL */
#define STORE_KEY_MAX   384 /* any key the store builds, with NUL */
#define STORE_LINES_MAX 64  /* lines in one reserve_commit / unreserve call */

/* ---- keys (pure: no I/O, no allocation) ---- */

/* Checks an identifier: 1..63 characters from [A-Za-z0-9_.-]. Returns 0 or -EINVAL. */
int store_id_check(const char *id);
/* Checks a location path: 1..127 characters, '/'-separated segments each a valid identifier.
 * Returns 0 or -EINVAL. */
int store_path_check(const char *path);
/* Checks a lot: "" (no lot) or an identifier. Returns 0 or -EINVAL. */
int store_lot_check(const char *lot);

/* Writes "wcs:{<site>}:<kind>" or, with id not NULL, "wcs:{<site>}:<kind>:<id>" into buf
 * (NUL-terminated). kind is a fixed schema word from docs/redis.md (it may contain ':'); site and
 * id are checked with store_id_check. Returns the length, -EINVAL, or WCS_E_EXHAUSTED when cap is
 * too small (buf then holds ""). */
int store_key(char *buf, size_t cap, const char *site, const char *kind, const char *id);
/* Writes the quant key "wcs:{<site>}:quant:<sku>:<loc>:<lot>" (lot "" for none). Returns as
 * store_key. */
int store_key_quant(char *buf, size_t cap, const char *site, const char *sku, const char *loc,
                    const char *lot);

/* A quant key taken apart. */
struct store_quant_ref {
    char site[STORE_ID_MAX];
    char sku[STORE_ID_MAX];
    char loc[STORE_PATH_MAX];
    char lot[STORE_ID_MAX];
};
/* Parses len bytes (not NUL-terminated) as a quant key. Returns 0, or WCS_E_SYNTAX when it is
 * not one (wrong prefix, missing part, bad characters, too long); *out is then undefined. */
int store_key_parse_quant(const char *key, size_t len, struct store_quant_ref *out);

/* ---- the asynchronous store ---- */

struct store;

/* The answer to one operation, valid only during the callback. */
struct store_short {
    struct store_quant_ref quant;
    int64_t requested; /* total asked on this quant by the refused call */
    int64_t available; /* on_hand - reserved when the script ran */
};

struct store_result {
    /* 0 done; WCS_E_STATE refused because the stock does not allow it (shortages listed for
     * reserve_commit; message for others); -EINVAL or WCS_E_RANGE arguments refused by the
     * script; WCS_E_UNKNOWN a referenced record does not exist; WCS_E_DUPLICATE (request_claim)
     * the request was claimed before; -ETIMEDOUT no reply within the command timeout;
     * WCS_E_LINK the connection was lost with the command outstanding; -ECANCELED store closed;
     * WCS_E_PROTOCOL an unexpected reply. A refused script changed nothing. */
    int rc;
    const char *message; /* the server's error text, or NULL */
    bool duplicate;      /* op_id was applied before: nothing was applied this time (rc 0) */
    size_t n_short;      /* reserve_commit refusals: the failing quants */
    const struct store_short *shorts;
    const char *value; /* request_claim with WCS_E_DUPLICATE: the stored reply ("" while
                          the first claim is still being processed) */
    size_t n_values;   /* scripts answering {'ok', v1, ...} (wcs/store/ops.c): v1.. */
    const char *const *values;
};

typedef void (*store_cb)(void *arg, const struct store_result *res);

/* Connection state reports: up == true when connected, authenticated and scripts loaded; false
 * with the reason (negative errno or WCS_E_DENIED for a refused AUTH, WCS_E_PROTOCOL for a
 * script SHA mismatch) and the server's or system's text. Reported on transitions and when the
 * reason of a down state changes, never repeated. Must not call store_close. */
typedef void (*store_state_cb)(void *arg, bool up, int reason, const char *detail);

struct store_opts {
    const char *host;            /* NULL: "127.0.0.1"; an address (a name may block in DNS) */
    int port;                    /* 0: 6379 */
    const char *user;            /* ACL user; NULL: "wcs" */
    const char *password_file;   /* read at every connect, trailing newline dropped; required */
    const char *site;            /* the hash tag; required, an identifier */
    const char *instance;        /* prefix of generated op ids; NULL: "p<pid>-<wall ms>" */
    uint32_t command_timeout_ms; /* 0: 1000; also bounds connect + AUTH + script loading */
    uint32_t backoff_min_ms;     /* 0: 100 */
    uint32_t backoff_max_ms;     /* 0: 5000 */
    uint64_t jitter_seed;        /* seeds the backoff jitter (delay scaled by 0.5..1.0) */
    size_t queue_cap;            /* writes held while down; 0: 1024 */
    uint32_t journal_maxlen;     /* XADD MAXLEN ~ N; 0: 100000 */
    uint32_t op_ttl_s;           /* how long an op id is remembered (replay dedup); 0: 86400 */
    store_state_cb on_state;     /* may be NULL */
    void *state_arg;
};

struct store_stats {
    uint64_t commands;           /* commands sent, handshake included */
    uint64_t replies;            /* replies received */
    uint64_t timeouts;           /* connections dropped because a reply was late */
    uint64_t connects;           /* connections that reached ready */
    uint64_t connect_failures;   /* attempts that failed before ready */
    uint64_t noscript_fallbacks; /* EVALSHA answered NOSCRIPT and resent as EVAL */
    uint64_t queued;             /* writes held while down (total) */
    uint64_t replayed;           /* held writes sent after a reconnect */
    uint64_t overflow;           /* writes refused with WCS_E_FULL */
    uint64_t refused_link;       /* answer-needing calls refused with WCS_E_LINK */
    size_t queue_len;            /* writes held now */
    size_t in_flight;            /* commands awaiting a reply now */
    size_t in_flight_max;        /* the most commands awaiting a reply at once */
};

/* Creates the store and starts connecting at once (the first state report comes from the loop).
 * loop is borrowed and must outlive the store; the strings in o are copied. Sets SIGPIPE to
 * SIG_IGN for the process (hiredis writes with write(2), and a closed peer must not kill the
 * daemon). Returns 0, -EINVAL (missing site or password file, bad site or instance), -ENOMEM. */
int store_open(struct store **out, struct loop *loop, const struct store_opts *o);
/* Disconnects and frees. Every outstanding or held operation is called back with -ECANCELED
 * before this returns. NULL-safe. Must not be called from a store callback. */
void store_close(struct store *s);

bool store_is_ready(const struct store *s);
void store_get_stats(const struct store *s, struct store_stats *out);
/* Round trips of the commands answered since store_open, in real microseconds (from the write to
 * the socket's buffer to the reply's callback: Redis's queue and work and the loop's delay in
 * reading it). Valid until store_close; loop only. */
const struct hist *store_rtt(const struct store *s);
const char *store_site(const struct store *s);
/* The SHA1 of a script by name ("reserve_commit", ...), or NULL for an unknown name. */
const char *store_script_sha(const char *name);
/* The body of a script by name (prelude included, as loaded into Redis), or NULL. */
const char *store_script_body(const char *name);

/* Who did it and why; journaled with every change. actor and cause are free text (actor
 * typically a user or device id); op_id NULL makes the store generate one. A repeated op_id
 * within op_ttl_s is applied once: the later calls report duplicate. */
/* A command's claim of its request id (store_request_claim). A script run under one runs only
 * if the request key still holds this claim's token (refused WCS_E_DUPLICATE, changing nothing,
 * otherwise), so the command layer can send a command's work in the same round trip as its
 * claim: Redis answers one connection's requests in order, and the claim is decided before
 * the script runs (docs/redis.md, "Requests"). */
struct store_claim {
    const char *user;
    const char *request_id;
    const char *token; /* the claim's placeholder value (store_claim_token_ok) */
};

struct store_ctx {
    const char *actor;
    const char *cause;
    const char *op_id;
    int64_t ts_ms;                   /* 0: the loop clock's wall time */
    const struct store_claim *claim; /* NULL: the script runs unguarded */
};

/* One quantity on one quant. */
struct store_line {
    const char *sku;
    const char *loc;
    const char *lot; /* "" or NULL: no lot */
    int64_t qty;
};

/* Calling convention of every operation below: it returns 0 and calls cb exactly once later
 * (cb may be NULL), or returns a negative code and never calls cb: -EINVAL for bad arguments,
 * WCS_E_LINK when Redis is not ready and the call needs an answer, WCS_E_FULL when Redis is not
 * ready and the write queue is full (counted), -ENOMEM. Operations marked "write" are facts that
 * already happened on the floor: while Redis is down they are held (in order, bounded) and sent
 * after the reconnect before any later write; those in flight when the link drops are sent
 * again (their op id makes the retry apply once). Operations marked "decision" need an answer
 * now and fail fast. None blocks. */

/* decision. Reserves every line for order_id, or nothing: when any quant (lines on the same
 * quant are summed) has on_hand - reserved < qty, rc is WCS_E_STATE and shorts lists each
 * failing quant with its availability. qty > 0; 1..STORE_LINES_MAX lines. */
int store_reserve_commit(struct store *s, const struct store_ctx *ctx, const char *order_id,
                         const struct store_line *lines, size_t n, store_cb cb, void *arg);
/* write. Releases reservations of order_id: qty on each line, or all the order holds on that
 * quant when qty is 0. Refused (WCS_E_STATE) if the order holds less than asked. */
int store_unreserve(struct store *s, const struct store_ctx *ctx, const char *order_id,
                    const struct store_line *lines, size_t n, store_cb cb, void *arg);
/* write. A confirmed pick: line.qty leaves the quant (on_hand and reserved) and the order's
 * reservation, and goes into the tote's contents. Refused if the order holds less on it. */
int store_pick_confirm(struct store *s, const struct store_ctx *ctx, const char *order_id,
                       const struct store_line *line, const char *tote_id, store_cb cb, void *arg);
/* write. Receipt into a location: creates the quant if needed, adds line.qty (> 0). */
int store_receive(struct store *s, const struct store_ctx *ctx, const char *receipt_id,
                  const struct store_line *line, store_cb cb, void *arg);
/* write. Moves line.qty of unreserved stock from line.loc to to_loc (same sku and lot). */
int store_move(struct store *s, const struct store_ctx *ctx, const struct store_line *line,
               const char *to_loc, store_cb cb, void *arg);
/* write. Adds line.qty (signed, not 0) to on_hand with a reason (required). Refused when the
 * result would be negative or below what is reserved. A positive adjust creates the quant. */
int store_adjust(struct store *s, const struct store_ctx *ctx, const struct store_line *line,
                 const char *reason, store_cb cb, void *arg);
/* As store_adjust, with the value in cents of the |line.qty| units (>= 0; -1 unknown), added to
 * the KPI adjusted_value_cents and journaled. */
int store_adjust_valued(struct store *s, const struct store_ctx *ctx, const struct store_line *line,
                        const char *reason, int64_t value_cents, store_cb cb, void *arg);
/* write. The tote's contents leave the site under shipment_id (a shipment record is written,
 * the contents emptied). Refused when the tote is empty or the shipment id exists. */
int store_ship(struct store *s, const struct store_ctx *ctx, const char *shipment_id,
               const char *tote_id, const char *order_id, const char *carrier, store_cb cb,
               void *arg);

/* A claim token: "~" and 1..47 of [A-Za-z0-9._-] (never a stored reply, which is JSON). */
bool store_claim_token_ok(const char *token);
/* decision. Claims a command's request id for ttl_s, the key holding token until the reply is
 * stored: rc 0 when this is the first claim, or WCS_E_DUPLICATE with value = the reply stored
 * by store_request_reply (a token, "~...", while the first claim's command is still running). */
int store_request_claim(struct store *s, const char *user, const char *request_id,
                        const char *token, uint32_t ttl_s, store_cb cb, void *arg);
/* write, guarded. Stores reply (a JSON object) for ttl_s in place of the claim ctx->claim (its
 * user, request id and token) if that claim is still there, and changes nothing otherwise
 * (ECLAIM: WCS_E_DUPLICATE): for a command answered without running because its claim's answer
 * was lost, which may have left the claim behind (docs/redis.md, "Requests"). */
int store_request_settle(struct store *s, const struct store_ctx *ctx, const char *reply,
                         uint32_t ttl_s, store_cb cb, void *arg);
/* write. Stores the reply of a claimed request (for answering repeats) for ttl_s. */
int store_request_reply(struct store *s, const char *user, const char *request_id,
                        const char *reply, uint32_t ttl_s, store_cb cb, void *arg);

#endif
