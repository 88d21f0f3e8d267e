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
 * re-checks them; a change in between is retried once, then refused "changed meanwhile"). */
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
/* values, 9 per order: state ("" when there is no such order), hold, carrier, priority,
 * ship_date, zone, updated_ts, wave, lines. */
int ops_wave_read_orders(struct store *s, const struct store_ctx *ctx, const char *const *ids,
                         size_t n, store_cb cb, void *arg);
/* values per order: its line count n, then n x (sku, qty, lot) by line number. */
int ops_wave_read_lines(struct store *s, const struct store_ctx *ctx, const char *const *ids,
                        size_t n, store_cb cb, void *arg);
/* values per sku: n, then the n quant keys of its index set (sorted). */
int ops_wave_read_sku_quants(struct store *s, const struct store_ctx *ctx, const char *const *skus,
                             size_t n, store_cb cb, void *arg);
/* keys: quant keys of this site. values, 8 per quant: exists ("1"/"0"), sku, loc, lot, on_hand,
 * reserved, expiry (YYYY-MM-DD or ""), in_date (ISO-8601 or ""). */
int ops_wave_read_quants(struct store *s, const struct store_ctx *ctx, const char *const *keys,
                         size_t n, store_cb cb, void *arg);

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

/* decision, read-only. values per location: n, then the n quant keys of its set (sorted).
 * 1..OPS_READ_MAX locations. */
int ops_read_loc_quants(struct store *s, const struct store_ctx *ctx, const char *const *locs,
                        size_t n, store_cb cb, void *arg);

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

#endif
