/* Sorter records in the store (docs/redis.md, docs/daemon.md): the facts of the sortation flow
 * written as "write" operations on the tote, lane and sorter hashes with a journal entry each,
 * the daemon's KPI snapshot hash, and the start-up load of the hashes the daemon keeps in memory.
 * Calling convention as in store.h. */
#ifndef WCS_STORE_TOTE_H
#define WCS_STORE_TOTE_H

#include "store/store.h"

#include <stddef.h>

/* A field of a record, both NUL-terminated (value at most 256 bytes). */
struct store_field {
    const char *name; /* [A-Za-z0-9_]{1,32} */
    const char *value;
};

/* write. Records a fact about the record wcs:{site}:<kind>:<id> (kind "tote" or "lane"), or
 * about the sorter as a whole (kind "sorter", id names the subject, the record is
 * wcs:{site}:sorter): sets fields[0..n) on the record (n may be 0: journal only), increments
 * counter ("" or NULL: none) in wcs:{site}:kpi and appends one journal entry with op, subject
 * id, and the fields' values before and after. Applied once per op id. Returns as store.h. */
int store_tote_record(struct store *s, const struct store_ctx *ctx, const char *kind,
                      const char *id, const char *op, const char *counter,
                      const struct store_field *fields, size_t n, store_cb cb, void *arg);

/* One fact for store_tote_records: as the arguments of store_tote_record, plus its own cause. */
struct store_record {
    const char *kind, *id, *op, *counter, *cause;
    const struct store_field *fields;
    size_t n;
};

#define STORE_RECORDS_MAX 32

/* write. Records n facts (1..STORE_RECORDS_MAX) in one script call, in order, each exactly as
 * store_tote_record would (fields, counter, one journal entry with its cause; the batch's op id
 * is shared by its entries and makes a replay apply once). ctx->cause is unused. Returns as
 * store.h; -EINVAL for a bad fact (nothing is sent). */
int store_tote_records(struct store *s, const struct store_ctx *ctx,
                       const struct store_record *recs, size_t n, store_cb cb, void *arg);

/* write. Replaces the fields given in the hash wcs:{site}:kpi:<name> (HSET; not journaled: KPI
 * snapshots are measurements, not state changes). Returns as store.h. */
int store_kpi_write(struct store *s, const char *name, const struct store_field *fields, size_t n,
                    store_cb cb, void *arg);

/* Called for each record found: id is the part after wcs:{site}:<kind>:, fields its hash (valid
 * during the call only). */
typedef void (*store_record_fn)(void *arg, const char *id, const struct store_field *fields,
                                size_t n);

/* decision. Loads every hash wcs:{site}:<kind>:<id> whose id is one identifier (sub-keys such as
 * tote:<id>:contents are skipped) with SCAN and HGETALL, calling each() per record and then
 * done() once with rc 0, or with the first error (the load stops there; records already
 * reported stay reported). kind: "tote", "order" or "lane". Returns as store.h. */
int store_load_records(struct store *s, const char *kind, store_record_fn each, store_cb done,
                       void *arg);

#endif
