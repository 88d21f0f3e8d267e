/* The store operations of the MQTT command layer (wcs/command) and `wcs import`: orders, waves,
 * adjustment approvals, RMAs, devices, count tasks, label reprints, alarm acknowledgements,
 * journal notes and stock import. Each is one atomic Lua script (wcs/store/lua/) that checks
 * every reference inside Redis before it writes, so a refused call changes nothing. Keys and
 * journal entries: docs/redis.md. */
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

/* action "hold", "release" or "cancel". values: state, hold ("0"|"1"), units unreserved. */
int ops_order_action(struct store *s, const struct store_ctx *ctx, const char *order_id,
                     const char *action, store_cb cb, void *arg);

/* Plans wave_id from confirmed orders without a hold (carrier NULL or "": any), limits 0 = none,
 * priorities_json the config's priority names highest first, excluded_json the locations whose
 * stock is never reserved (a JSON array of paths). values: orders JSON array, skipped JSON
 * [{"order","reason"}], lines, units. */
int ops_wave_plan(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                  const char *carrier, uint32_t max_orders, uint32_t max_lines, uint32_t max_units,
                  const char *priorities_json, const char *excluded_json, store_cb cb, void *arg);

/* action "release" or "cancel". values: state, orders JSON array, units unreserved. */
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

#endif
