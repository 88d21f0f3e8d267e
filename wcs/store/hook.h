/* Private extension points of the store for the store's own feature files (tote.c): run a named
 * embedded script with caller-built keys, and send a plain Redis command whose reply comes back
 * flattened to strings. Both follow the calling convention of store.h (write vs decision).
 * Not for callers outside wcs/store: they use store.h and the feature headers (tote.h). */
#ifndef WCS_STORE_HOOK_H
#define WCS_STORE_HOOK_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

/* One element of a flattened reply: arrays are walked depth first; integers and status replies
 * become their text; a nil is {NULL, 0, true}. depth: how many arrays hold it (0 for a reply
 * that is no array), which tells where a nested reply's inner arrays start (XRANGE). */
struct store_item {
    const char *str;
    size_t len;
    bool nil;
    unsigned depth;
};

/* rc as in struct store_result (0, WCS_E_LINK, -ETIMEDOUT, -ECANCELED, or the mapped error of
 * an error reply with msg its text). items are valid during the call only. */
typedef void (*store_raw_cb)(void *arg, int rc, const char *msg, const struct store_item *items,
                             size_t n);

/* The entries of a flattened XRANGE reply (items as a store_raw_cb gets them: per entry its id
 * at depth 2, then its field/value pairs at depth 3): 5 values per entry into v (id, op,
 * subject, before, after; "" for a field the entry lacks). Returns the number of entries, or -1
 * when the items are not that shape or hold more than cap entries (v then partly written).
 * Pure. */
long store_xrange_entries(const struct store_item *items, size_t n, const char **v, size_t cap);

/* Runs the embedded script `name` (EVALSHA, EVAL on NOSCRIPT) with the common keys and arguments
 * of every store script (journal, op, kpi; actor, cause, op id, ts, maxlen, ttl), then keys[]
 * (full key names) and args[]. write: held while down and replayed (op id dedup), else failing
 * fast. Its reply is {'ok'} / {'dup'} as for the public operations. */
int store_script_run(struct store *s, const struct store_ctx *ctx, const char *name, bool write,
                     const char *const *keys, size_t n_keys, const char *const *args, size_t n_args,
                     store_cb cb, void *arg);

/* Sends argv[0..argc) as one command. write: held while down and replayed (use only for
 * idempotent commands such as HSET), else failing fast with WCS_E_LINK. cb (may be NULL) is called
 * exactly once unless this returns an error. */
int store_raw(struct store *s, bool write, size_t argc, const char *const *argv, store_raw_cb cb,
              void *arg);

/* Reads fields[0..n) of the hash `key` (full key name) with one HMGET, failing fast while down
 * (the pre-reads of the command layer's operations): cb gets rc 0 and n values as a read script
 * answers them ("" for an absent field), or the error. n is 1..STORE_HASH_READ_MAX. */
#define STORE_HASH_READ_MAX 64
int store_hash_read(struct store *s, const char *key, const char *const *fields, size_t n,
                    store_cb cb, void *arg);

#endif
