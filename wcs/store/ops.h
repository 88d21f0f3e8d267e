/* The store operations of the MQTT command layer (wcs/command) and `wcs import`: orders, waves,
 * adjustment approvals, RMAs, devices, count tasks, label reprints, alarm acknowledgements,
 * journal notes, stock import and master-data import. Each is one atomic Lua script
 * (wcs/store/lua/) that checks every reference inside Redis before it writes, so a refused call
 * changes nothing. Keys and journal entries: docs/redis.md. */
#ifndef WCS_STORE_OPS_H
#define WCS_STORE_OPS_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

/* Calling convention: as store.h (returns 0 and calls cb exactly once, or a negative code and
 * never calls it). Every operation here is a "decision" (fails fast with WCS_E_LINK while Redis
 * is down) except ops_journal_note, a "write". Script refusals come back as rc WCS_E_STATE or
 * WCS_E_UNKNOWN with message "ESTATE <text>" / "EUNKNOWN <text>"; ops_refusal_text() gives the
 * text. The result's values are listed per operation. JSON arguments are compact texts made by
 * the caller (the command layer checks their shape before calling). */

/* The person-readable part of a script error ("ESTATE order X is shipped" -> "order X is
 * shipped"); msg itself when it has no code. NULL-safe (returns ""). */
const char *ops_refusal_text(const char *msg);

/* Creates or replaces order_id. header_json {"carrier","priority","ship_date","zone"} (absent
 * keys: ""), lines_json [{"sku","qty"[,"lot"]}], draft: state draft instead of confirmed.
 * values: "created"|"updated"|"unchanged", state. */
int ops_order_upsert(struct store *s, const struct store_ctx *ctx, const char *order_id,
                     const char *header_json, const char *lines_json, bool draft, store_cb cb,
                     void *arg);

/* action "hold", "release" or "cancel". values: state, hold ("0"|"1"), units unreserved.
 * Cancel first reads the order's wave and reserved quants (declared to the script, which
 * re-checks them; a change in between is retried up to OPS_RETRIES_MAX times, then refused
 * "changed meanwhile"). */
int ops_order_action(struct store *s, const struct store_ctx *ctx, const char *order_id,
                     const char *action, store_cb cb, void *arg);

/* action "release" or "cancel". values: state, orders JSON array, units unreserved. Cancel
 * reads the wave's orders and their reservations first (every key the script touches is
 * declared) and is refused with -EINVAL when they need more than 64 keys (about 30 orders). */
int ops_wave_action(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                    const char *action, store_cb cb, void *arg);

/* Records a pending adjustment of line->qty (signed) needing approval; value_cents < 0: unknown;
 * why: the threshold crossed. values: approval id ("ADJ-<n>"). */
int ops_approval_request(struct store *s, const struct store_ctx *ctx,
                         const struct store_line *line, const char *reason, int64_t value_cents,
                         const char *why, store_cb cb, void *arg);

/* Applies pending approval approval_id as approver (must differ from its requester).
 * values: sku, location, lot, delta, on_hand after, requester. */
int ops_approval_apply(struct store *s, const struct store_ctx *ctx, const char *approval_id,
                       const char *approver, store_cb cb, void *arg);

/* Authorises RMA rma_id for shipped order_id; lines_json [{"sku","qty"}]. values: units. */
int ops_rma_authorize(struct store *s, const struct store_ctx *ctx, const char *rma_id,
                      const char *order_id, const char *lines_json, bool credit, store_cb cb,
                      void *arg);

/* values: "enabled"|"disabled". */
int ops_device_set(struct store *s, const struct store_ctx *ctx, const char *device_id,
                   bool enabled, const char *reason, store_cb cb, void *arg);

/* Opens a count task at loc (sku NULL or "": every product). values: task id ("CNT-<n>"). */
int ops_count_request(struct store *s, const struct store_ctx *ctx, const char *loc,
                      const char *sku, store_cb cb, void *arg);

/* Records a label reprint of shipment_id (printer NULL or "": the station's). values: tote. */
int ops_label_reprint(struct store *s, const struct store_ctx *ctx, const char *shipment_id,
                      const char *printer, store_cb cb, void *arg);

/* Acknowledges alarm wcs:{s}:alarm:<alarm_id>. No values. */
int ops_alarm_ack(struct store *s, const struct store_ctx *ctx, const char *alarm_id,
                  const char *note, store_cb cb, void *arg);

/* write. Appends a journal entry op/subject with after_json (an object) and changes nothing
 * else: refused commands, import summaries. */
int ops_journal_note(struct store *s, const struct store_ctx *ctx, const char *op,
                     const char *subject, const char *after_json, store_cb cb, void *arg);

/* Sets the quant of line (sku, loc, lot) to on_hand line->qty (>= 0) from an import.
 * values: "created"|"updated"|"unchanged". */
int ops_import_quant(struct store *s, const struct store_ctx *ctx, const struct store_line *line,
                     store_cb cb, void *arg);
/* As ops_import_quant, also setting the quant's expiry (YYYY-MM-DD) and in_date (ISO-8601) from
 * the stock record (NULL or "": the field is removed), which FEFO/FIFO and wave.plan read. */
int ops_import_quant_dated(struct store *s, const struct store_ctx *ctx,
                           const struct store_line *line, const char *expiry, const char *in_date,
                           store_cb cb, void *arg);

#define OPS_MASTER_MAX        32 /* records per ops_import_master call */
#define OPS_MASTER_FIELDS_MAX 16 /* fields per record */

/* One master record: id (a sku, or a location path) and n_fields (name, value) pairs in
 * fields[0..2*n_fields). Names non-empty and distinct; values any text ("" allowed). */
struct ops_record {
    const char *id;
    size_t n_fields;
    const char *const *fields;
};

/* Writes master records of kind "product" (wcs:{s}:product:<sku>) or "location"
 * (wcs:{s}:location:<path>) from the site config, 1..OPS_MASTER_MAX per call, each with
 * 1..OPS_MASTER_FIELDS_MAX fields: a record whose stored hash holds exactly these fields and
 * values is left alone; otherwise the hash is replaced by them and the change journaled
 * (import_product / import_location). values: one "created"|"updated"|"unchanged" per record,
 * in order. */
int ops_import_master(struct store *s, const struct store_ctx *ctx, const char *kind,
                      const struct ops_record *recs, size_t n, store_cb cb, void *arg);

/* ---- wave.plan (wcs/command/wave.c): the snapshot reads and the commit ----
 * The reads are read-only scripts (wave_read) that touch only the keys they are given; their
 * values are listed per call. Each read takes 1..OPS_READ_MAX ids or keys. */

#define OPS_READ_MAX    64 /* keys per read, waves per wave_open / wave_close */
#define OPS_RESERVE_MAX 61 /* distinct quants of one order in ops_wave_reserve */

/* values: "1" if wave_id exists else "0", then every open order id (sorted). Refused
 * (WCS_E_STATE) when more than cap orders are open. */
int ops_wave_read_open(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                       uint32_t cap, store_cb cb, void *arg);
/* values per order: "0" when it is no wave candidate (absent, not confirmed, on hold, in a
 * wave, or of another carrier than carrier, NULL or "" any), else "1" and 11 values: state,
 * hold, carrier, priority, ship_date, zone, updated_ts, wave, lines, backorder, short_since. */
int ops_wave_read_candidates(struct store *s, const struct store_ctx *ctx, const char *const *ids,
                             size_t n, const char *carrier, store_cb cb, void *arg);
/* values per order: its line count n, then n x (sku, qty, lot) by line number. */
int ops_wave_read_lines(struct store *s, const struct store_ctx *ctx, const char *const *ids,
                        size_t n, store_cb cb, void *arg);
/* values per sku: n, then the n quant keys of its index set (sorted). */
int ops_wave_read_sku_quants(struct store *s, const struct store_ctx *ctx, const char *const *skus,
                             size_t n, store_cb cb, void *arg);
/* How often an operation that reads, then runs a script re-checking what it read, reads again
 * when the script answers "changed meanwhile, retry" (another writer moved a counter or a record
 * in between: several wave releases, picks and counts at once share the task counter). */
#define OPS_RETRIES_MAX 16
/* True when r is a script's "changed meanwhile, retry" refusal and *attempt (the retries made
 * so far) is below OPS_RETRIES_MAX: counts the retry in *attempt, and the caller reads again and
 * reruns its script. False otherwise: the caller ends with r. */
bool ops_retry_due(const struct store_result *r, int *attempt);

/* keys: quant keys of this site. values, OPS_QUANT_VALUES per quant: exists ("1"/"0"), sku, loc,
 * lot, on_hand, reserved (plus units on hold), expiry (YYYY-MM-DD or ""), in_date (ISO-8601 or
 * ""), missing (units a short pick did not find, "" none). */
#define OPS_QUANT_VALUES 9
/* One quant of that reply, decoded; strings point into the reply (valid during its callback). */
struct ops_quant_row {
    bool exists;
    const char *sku, *loc, *lot, *expiry, *in_date;
    int64_t on_hand, reserved, missing; /* reserved includes units on hold */
};
/* Decodes quant i of an ops_wave_read_quants reply. Returns false when the reply has no row i. */
bool ops_quant_row(const struct store_result *r, size_t i, struct ops_quant_row *out);
/* Units a new reservation may take: on hand less reserved (holds included) and missing, >= 0. */
int64_t ops_quant_free(const struct ops_quant_row *q);
int ops_wave_read_quants(struct store *s, const struct store_ctx *ctx, const char *const *keys,
                         size_t n, store_cb cb, void *arg);
/* Called by ops_read_quant_rows for quant i of its keys, in order; row is valid during the call. */
typedef void (*ops_quant_row_fn)(void *arg, size_t i, const struct ops_quant_row *row);
/* Reads the quants keys[0..n) (n >= 1, any number; the keys are copied) with
 * ops_wave_read_quants, OPS_READ_MAX at a time, calling row for each quant in key order, then
 * done exactly once: rc 0 after the last row; or a failed read's result (no more rows); or
 * WCS_E_PROTOCOL "unexpected script reply" when a reply lacks a quant. ctx's strings must live
 * until done. Returns 0, or -EINVAL (a bad key) / -ENOMEM without calling row or done. */
int ops_read_quant_rows(struct store *s, const struct store_ctx *ctx, const char *const *keys,
                        size_t n, ops_quant_row_fn row, store_cb done, void *arg);

/* Creates waves wave_ids[0..n) in state "planning" (empty), or none when any exists
 * (WCS_E_STATE "wave W exists"). No values. */
int ops_wave_open(struct store *s, const struct store_ctx *ctx, const char *const *wave_ids,
                  size_t n, const char *carrier, store_cb cb, void *arg);
/* Commits order_id into the planning wave wave_id: reserves exactly lines (quant and qty; n in
 * 1..OPS_RESERVE_MAX distinct quants), all or nothing, if the order is still confirmed, not held,
 * in no wave and updated at updated_ts (as the snapshot read it). rc 0; WCS_E_STATE with shorts
 * (stock moved: each failing quant with its availability); WCS_E_STATE with message "ESTATE
 * order X changed since the snapshot: ..." or "... wave W ... no longer being planned". */
int ops_wave_reserve(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                     const char *order_id, const char *updated_ts, uint32_t n_lines,
                     const struct store_line *lines, size_t n, store_cb cb, void *arg);
/* Finishes the planning waves wave_ids[0..n): info_json is a JSON array with one
 * {"id","batches","closed"} per wave. values per wave: "planned" or "dropped" (it received no
 * order and was deleted), its orders JSON array, lines, units. */
int ops_wave_close(struct store *s, const struct store_ctx *ctx, const char *const *wave_ids,
                   size_t n, const char *info_json, store_cb cb, void *arg);

/* ---- picking (wcs/store/pick_ops.c; docs/redis.md "Picking") ---- */

#define OPS_SCRIPT_KEYS_MAX 1024 /* own keys of one script (the store hook's limit) */

/* Releases planned wave_id: one pick task per pick of its batch plan, the batches, a pack
 * station per order (stations_json: JSON array of pack station ids, may be "[]"). values:
 * "released", orders JSON, "0", batches JSON [{batch, tasks, orders, cutoff, state}], tasks
 * JSON [{task, batch, order, sku, location, lot, qty, seq, state}]. Refused (WCS_E_STATE) when
 * the wave needs more than OPS_SCRIPT_KEYS_MAX keys. */
int ops_wave_release(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                     const char *stations_json, store_cb cb, void *arg);

/* picker claims batch_id (NULL or "": the released batch with the earliest cutoff, then the
 * oldest; one another claim takes first is passed over for the next, up to OPS_RETRIES_MAX
 * times; WCS_E_STATE "no released batch to claim" when none). values: batch, wave, orders
 * JSON, tasks JSON [{task, seq, location, sku, lot, expiry, qty, picked, order, state}], the
 * batch's state before. */
int ops_batch_claim(struct store *s, const struct store_ctx *ctx, const char *batch_id,
                    const char *picker, store_cb cb, void *arg);

/* A pick as the RF device reported it, its scan decoded by the caller. */
/* What the caller already knows of a pick task, from the batch claim that handed it out (its
 * order, batch, product, location and lot never change): pick.confirm then runs its script at
 * once instead of reading the task first. The script checks the keys these make against the
 * task; a hint that does not match (or a task of a backorder's follow-up order, which takes one
 * more key) is "changed meanwhile", and the operation reads the task and runs again. */
struct ops_task_hint {
    const char *order, *batch, *sku, *location, *lot; /* lot "" none */
};

struct ops_pick {
    const char *task, *location;      /* the location as scanned */
    const char *gtin;                 /* 14 digits */
    const char *gtin_sku;             /* the product owning gtin, "" none */
    const char *lot;                  /* AI 10, NULL: the scan had none */
    const char *expiry;               /* AI 17 as YYYY-MM-DD, NULL: none */
    int64_t qty;                      /* units picked now: confirm >= 1; short >= 0 */
    const char *tote;                 /* required when qty > 0 */
    bool short_pick;                  /* must be false for ops_pick_confirm (pick.short: below) */
    const char *serial;               /* AI 21, NULL: the scan had none (pick.confirm only) */
    bool serial_tracked;              /* gtin_sku is serial-tracked: the serial rule applies */
    const struct ops_task_hint *hint; /* pick.confirm: the task as known, NULL: read it */
};

/* pick.confirm of p (short_pick false). values: picked, remaining, order, order state, next
 * open task of the batch ("" none), task state, batch state, tote, batch, sku, location. A pick
 * at a face a claimed replenishment is filling is refused ("task PCK-1 waits: ..."). A refused
 * check (location, product, lot, expiry, qty, tote; serial for a serial-tracked product: AI 21
 * present, qty 1, the task's serial, not picked before) comes back as WCS_E_STATE and is counted
 * in the KPI hash. A serial pick adds <sku>:<serial> to the tote's serials set and the site's
 * serials hash and marks its record wcs:{s}:serial:<sku>:<serial> picked (docs/redis.md,
 * "Serials"). */
int ops_pick_confirm(struct store *s, const struct store_ctx *ctx, const struct ops_pick *p,
                     store_cb cb, void *arg);
/* ---- receiving and returns (wcs/command/inbound.c; wcs/store/inbound.c) ----
 * Every operation below is a decision. The command layer reads what a script re-checks (the
 * receipt's line counts, the task counter, a task, a location's quants), runs the script and,
 * on "ESTATE ... changed meanwhile, retry", reads again and retries (ops_retry_due). */

/* values: the fields[0..n) (1..OPS_READ_MAX) of hash wcs:{s}:<kind>:<id> ("" when absent); kind
 * is "receipt", "rma" or "task". */
int ops_read_record(struct store *s, const struct store_ctx *ctx, const char *kind, const char *id,
                    const char *const *fields, size_t n, store_cb cb, void *arg);
/* values: the task counter wcs:{s}:task:seq ("" before the first task). */
int ops_read_task_seq(struct store *s, const struct store_ctx *ctx, store_cb cb, void *arg);
/* values per location of locs[0..n) (1..OPS_READ_MAX): its quant count m, then the m quant keys
 * of wcs:{s}:loc:<loc>:quants (sorted). */
int ops_read_loc_quants(struct store *s, const struct store_ctx *ctx, const char *const *locs,
                        size_t n, store_cb cb, void *arg);

/* Creates or replaces receipt_id (state expected) while nothing was received under it.
 * lines_json [{"sku","qty"[,"lot"][,"expiry"]}] canonical; supplier, warehouse may be "".
 * values: "created"|"updated"|"unchanged", state. */
int ops_receipt_expect(struct store *s, const struct store_ctx *ctx, const char *receipt_id,
                       const char *supplier, const char *warehouse, const char *lines_json,
                       int64_t units, store_cb cb, void *arg);

/* One receipt scan as the command layer decided it. */
struct ops_receipt_scan {
    const char *receipt, *sku, *lot, *expiry; /* lot, expiry "" when none */
    uint32_t line;                            /* the receipt line (from 0) */
    int64_t line_received;                    /* its count as read (re-checked) */
    int64_t qty;
    const char *location; /* where the units go (receive station or quality) */
    bool hold;            /* quality hold */
    const char *task;     /* "PUT-<n>" as read from the counter, or "" (held) */
    const char *target;   /* the suggested location ("" none) */
    const char *reason_code, *reason;
    const char *today; /* YYYY-MM-DD: the quant's in_date when new */
    const char *station;
};
/* values: the line's received count, the receipt's received units, its units, the task id
 * ("" none). */
int ops_receipt_scan(struct store *s, const struct store_ctx *ctx, const struct ops_receipt_scan *a,
                     store_cb cb, void *arg);
/* values: state ("received"|"closed"), short lines JSON, received units, units. */
int ops_receipt_close(struct store *s, const struct store_ctx *ctx, const char *receipt_id,
                      store_cb cb, void *arg);

/* A quality decision on held units (scrap: to scrap_location; else a putaway task). */
struct ops_quality {
    const char *sku, *location, *lot, *scrap_location;
    int64_t qty;
    bool scrap;
    const char *task, *target, *reason_code, *reason; /* release */
};
/* values: units still on hold, on hand left, task id ("" for scrap). */
int ops_quality_release(struct store *s, const struct store_ctx *ctx, const struct ops_quality *a,
                        store_cb cb, void *arg);

/* A putaway confirmation: the task as read and the scanned location with its capacity and the
 * quants it holds (as read; each with its product's unit weight and volume). */
struct ops_putaway {
    const char *task, *sku, *lot, *source, *location, *how; /* how: suggested|alternative */
    int64_t qty;                                            /* 0: what is left */
    uint64_t cap_units, cap_weight_g, cap_volume_cm3;       /* 0: no limit */
    uint64_t unit_weight_g, unit_volume_cm3;
    const char *const *quants;
    const uint64_t *quant_weight_g, *quant_volume_cm3;
    size_t n_quants; /* 0..OPS_READ_MAX - 10 */
};
/* values: task state ("open"|"done"), moved, left, moved now. */
int ops_putaway_confirm(struct store *s, const struct store_ctx *ctx, const struct ops_putaway *a,
                        store_cb cb, void *arg);

/* values: RMA state, received of the sku, authorised of the sku, received units, units. serial:
 * the product is serial-tracked (lot is the serial, qty 1): the serial must be one the site
 * shipped with the RMA's order, else WCS_E_STATE with the reason (docs/mqtt.md, "Serials of
 * returned units"); received, it is marked returned. */
int ops_return_receive(struct store *s, const struct store_ctx *ctx, const char *rma_id,
                       const char *sku, const char *lot, int64_t qty, const char *location,
                       const char *station, const char *today, bool serial, store_cb cb, void *arg);

/* An inspection decision on returned units held at location (the RMA's, as read). */
struct ops_inspect {
    const char *rma, *sku, *lot, *note, *location, *scrap_location;
    int64_t qty;
    bool scrap;
    bool serial; /* serial-tracked: lot is the serial, released (restock) or marked scrapped */
    const char *task, *target, *reason_code, *reason; /* restock */
};
/* values: RMA state, inspected units, units, credit ("0"|"1"), order, outcome JSON
 * [{sku, lot, qty, decision, note}], task id ("" for scrap). A restocked serial becomes
 * pickable again; a scrapped one is refused by every later pick or return. */
int ops_return_inspect(struct store *s, const struct store_ctx *ctx, const struct ops_inspect *a,
                       store_cb cb, void *arg);

/* pick.short, step 1 (read-only, several wave_read calls): what a short pick of task_id needs.
 * values: the task's OPS_SHORT_TASK fields kind, state, order, batch, sku, location, lot,
 * expiry, qty, picked, line, wave; then OPS_SHORT_INFO values: the order's state, carrier,
 * priority, ship_date, zone, backorder, the line's lot, the task counter, the backorder counter,
 * the location's open count ("" none); then n and the n quant keys of the SKU's index (sorted);
 * then 9 values per quant as ops_wave_read_quants. A task that is not an open pick task is
 * refused (WCS_E_UNKNOWN / WCS_E_STATE) with the text the script would give. */
#define OPS_SHORT_TASK 12
#define OPS_SHORT_INFO 10
int ops_short_read(struct store *s, const struct store_ctx *ctx, const char *task_id, store_cb cb,
                   void *arg);

#define OPS_SHORT_REPL_MAX 64 /* replacement quants of one short pick */

/* pick.short, step 2: the short pick as decided from the read (script task_short, docs/redis.md
 * "Short picks and backorders"). */
struct ops_short {
    struct ops_pick pick;              /* the found units (qty 0..remaining-1) and their scans */
    const char *order, *batch, *sku;   /* the task as read */
    const char *location, *lot, *line; /* the task's quant and order line */
    const char *own_backorder;         /* the order's `backorder` ("" none) */
    int64_t task_ctr, bo_ctr;          /* the counters as read */
    bool count_open;                   /* the location has an open count */
    const char *follow_up;             /* the follow-up order id if a backorder is made */
    const char *priority;              /* its priority ("" none) */
    const struct store_line *repl;     /* replacement quants (sku, loc, lot) and quantities */
    size_t n_repl;                     /* 0..OPS_SHORT_REPL_MAX, in path order */
};

/* values: picked, short, replacements JSON [{task, location, lot, qty}], backorder id ("" none),
 * order, order state, batch, batch state, count task ("" none), follow-up order ("" none), next
 * open task of the batch ("" none), tote ("" none). WCS_E_STATE "task X changed meanwhile,
 * retry" when what was read moved (read and decide again); the pick checks as ops_pick_confirm
 * (counted), plus "qty N is not less than the N remaining on task X: ...". */
int ops_pick_short(struct store *s, const struct store_ctx *ctx, const struct ops_short *sh,
                   store_cb cb, void *arg);

/* ops_wave_reserve for an order that may be a backorder's follow-up: backorder (the order's
 * `backorder` field as the snapshot read it; NULL or "": none) is declared with the open
 * backorders zset, and the commit makes the backorder `reserved` (the script refuses "order X
 * changed since the snapshot: ..." when the order's field says otherwise). Same values and
 * refusals as ops_wave_reserve. */
int ops_wave_reserve_bo(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                        const char *order_id, const char *updated_ts, uint32_t n_lines,
                        const struct store_line *lines, size_t n, const char *backorder,
                        store_cb cb, void *arg);

/* Marks order_id (confirmed, in no wave, not marked yet) with `short_since` = now: wave.plan
 * skipped it for missing stock, and later wave.plans reserve it first. values: "marked" or
 * "unchanged". */
int ops_order_short(struct store *s, const struct store_ctx *ctx, const char *order_id, store_cb cb,
                    void *arg);
/* ---- counting, transfers, KPI and audit reads (wcs/store/ops_count.c) ---- */

#define OPS_COUNT_QUANTS_MAX 13 /* quants one count_submit declares (4 keys each, 64 in all) */
#define OPS_TRANSFER_MAX     19 /* quants one transfer_ship / transfer_receive moves */
#define OPS_JOURNAL_READ_MAX 10000

/* Opens a count task at loc as the daemon's scheduler (the same script as count.request):
 * refused (WCS_E_STATE "daily maximum of N scheduled counts reached for DAY") when day
 * (YYYY-MM-DD) has daily_max scheduled tasks already, or when loc has an open count. abc: 'A',
 * 'B', 'C' or 0, recorded on the task. values: task id ("CNT-<n>"). */
int ops_count_schedule(struct store *s, const struct store_ctx *ctx, const char *loc,
                       const char *day, uint32_t daily_max, char abc, store_cb cb, void *arg);

/* decision, read-only. The task and what count.submit declares: values: kind, state, target,
 * sku ("" all; all "" when there is no such task), the approval counter, n, then the n quant
 * keys of loc's quant set (sorted). */
int ops_count_read_task(struct store *s, const struct store_ctx *ctx, const char *task_id,
                        const char *loc, store_cb cb, void *arg);

/* One quant of a count: counted < 0 means not listed (counts 0); unit_value_cents < 0 unknown. */
struct ops_count_quant {
    const char *sku, *lot; /* lot "" for none */
    int64_t counted, unit_value_cents;
};

/* Submits the count of task_id at loc over q[0..n) (n <= OPS_COUNT_QUANTS_MAX; every quant of
 * the location's set that holds or reserves stock, plus every listed one), with what
 * ops_count_read_task read: approval_seq and set_size (the set's member count); thresholds as
 * the site's adjust_approval. values: results JSON [{sku, lot, on_hand, reserved, counted,
 * variance, action: match|adjusted|approval, approval?, why?, flagged?}], approvals JSON
 * [{approval, sku, lot, qty, why, flagged}], "1" when a count was below what is reserved (the
 * alarm wcs:{s}:alarm:count.<task>.reserved was written). */
int ops_count_submit(struct store *s, const struct store_ctx *ctx, const char *task_id,
                     const char *loc, uint64_t approval_seq, uint64_t set_size,
                     uint32_t qty_threshold, uint64_t value_threshold_cents,
                     const struct ops_count_quant *q, size_t n, store_cb cb, void *arg);

/* decision, read-only. The scheduler's view: values: tasks scheduled on day, n, n x (location,
 * last counted ts ms), m, m locations with an open count. */
int ops_count_read_plan(struct store *s, const struct store_ctx *ctx, const char *day, store_cb cb,
                        void *arg);

/* ops_read_loc_quants (above, receiving) serves the count scheduler too. */

/* decision, read-only. Every field of wcs:{s}:<word> (a schema word such as "kpi"): values:
 * field, value, ... sorted by field. */
int ops_read_hash(struct store *s, const struct store_ctx *ctx, const char *word, store_cb cb,
                  void *arg);

/* decision, read-only. values: state ("" no such transfer), from, to, transit, dest, units,
 * shipped, received, n, n x (quant key, qty held) sorted. */
int ops_transfer_read(struct store *s, const struct store_ctx *ctx, const char *transfer_id,
                      store_cb cb, void *arg);

/* Creates transfer_id from warehouse `from` to `to`, reserving picks[0..n) (quants chosen by the
 * caller in the source warehouse, 1..OPS_RESERVE_MAX) all or nothing; lines_json is the
 * canonical lines text; transit and dest are the locations it passes through and ends in.
 * values: units. */
int ops_transfer_create(struct store *s, const struct store_ctx *ctx, const char *transfer_id,
                        const char *from, const char *to, const char *lines_json,
                        const char *transit, const char *dest, const struct store_line *picks,
                        size_t n, store_cb cb, void *arg);

/* Ships transfer_id: src_keys[0..n) are the quant keys its reservations hold (as read),
 * 1..OPS_TRANSFER_MAX; their units move to the same sku and lot at transit. values: units. */
int ops_transfer_ship(struct store *s, const struct store_ctx *ctx, const char *transfer_id,
                      const char *transit, const char *const *src_keys, size_t n, store_cb cb,
                      void *arg);

/* Receives qty[i] (> 0) from transit quant transit_keys[i] of transfer_id into dest (same sku
 * and lot), 1..OPS_TRANSFER_MAX distinct quants. values: units, state ("in_transit"|"done"),
 * units left in transit. */
int ops_transfer_receive(struct store *s, const struct store_ctx *ctx, const char *transfer_id,
                         const char *dest, const char *const *transit_keys, const int64_t *qty,
                         size_t n, store_cb cb, void *arg);

/* decision, read-only. Up to count (1..OPS_JOURNAL_READ_MAX) journal entries after after_id
 * ("" from the start): values, 5 per entry: id, op, subject, before JSON, after JSON. */
int ops_journal_read(struct store *s, const struct store_ctx *ctx, const char *after_id,
                     uint32_t count, store_cb cb, void *arg);

/* ---- replenishment (wcs/store/replen_ops.c; docs/redis.md "Replenishment") ---- */

#define OPS_REPLEN_MOVES_MAX 32 /* source quants of one replenishment */

/* One move the planner chose: qty units of (sku, from, lot) to the face. */
struct ops_replen_move {
    int64_t qty;
    const char *lot, *expiry; /* "" none */
    const char *from;         /* source location */
    const char *reason;       /* the planner's sentence */
};
struct ops_replen {
    const char *face, *sku;
    uint32_t min;                 /* the rule's min: the face must still be below it */
    int64_t first_task;           /* task counter as read + 1: the first RPL-<n> */
    const char *trigger;          /* "pick" or "release" */
    const char *const *face_keys; /* the face's quant keys of sku, as read */
    size_t n_face_keys;           /* 0..OPS_READ_MAX */
    const struct ops_replen_move *moves;
    size_t n_moves; /* 1..OPS_REPLEN_MOVES_MAX */
};
/* Opens one RPL task per move, reserving its units on the source, if the face still has no
 * open replenishment of sku and is still below min. values: the tasks JSON, the face level. */
int ops_replen_create(struct store *s, const struct store_ctx *ctx, const struct ops_replen *r,
                      store_cb cb, void *arg);
/* user claims replenishment task_id (the face becomes busy). values: task, sku, lot, expiry,
 * from, to, qty, moved, assignee before. */
int ops_replen_claim(struct store *s, const struct store_ctx *ctx, const char *task_id,
                     const char *user, store_cb cb, void *arg);
/* A replenisher's scans; sku, source, face and task_lot are the task's as read. */
struct ops_replen_scan {
    const char *task, *user;
    const char *sku, *source, *face, *task_lot;
    const char *from_scanned, *to_scanned;
    const char *gtin, *gtin_sku; /* 14 digits; the product owning it ("" none) */
    const char *lot, *expiry;    /* NULL: the scan had none */
    int64_t qty;
};
/* Moves c->qty units of the task from its source to its face after the scan checks. values:
 * moved, remaining, task state, face, sku, source. */
int ops_replen_confirm(struct store *s, const struct store_ctx *ctx,
                       const struct ops_replen_scan *c, store_cb cb, void *arg);

#endif
