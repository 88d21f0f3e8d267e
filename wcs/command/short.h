/* pick.short (short.c, private to wcs_command): re-reserving a short pick's missing units with
 * the planner over a fresh read of the SKU's quants, and the command's read → plan → commit
 * path. command.c runs it for the pick.short command. */
#ifndef WCS_COMMAND_SHORT_H
#define WCS_COMMAND_SHORT_H

#include "command/command.h"
#include "store/ops.h"

#include <stddef.h>
#include <stdint.h>

/* One quant of the SKU as read (ops_wave_read_quants' fields). Strings are borrowed. */
struct short_quant {
    const char *key, *sku, *loc, *lot, *expiry, *in_date;
    int64_t on_hand, reserved;
};

/* What the missing units are re-reserved for: the order line as the planner sees it. */
struct short_need {
    const char *order, *carrier;             /* the order's */
    const char *priority, *ship_date, *zone; /* "" or NULL: none */
    const char *sku, *line_lot;              /* line_lot "" or NULL: any lot */
    int64_t qty;                             /* missing units, >= 1 */
    const char *skip_key;                    /* the shorted quant: never a source */
};

/* One replacement reservation: quant index into the quants given, and its quantity. */
struct short_alloc {
    size_t quant;
    int64_t qty;
};

/* Re-reserves need->qty units of need->sku for the order with the planner's reserve stage (the
 * product's removal strategy FEFO/FIFO/LIFO/closest, lots, expiry and margin, stock locations
 * only) over quants[0..n) (need->skip_key and quants of other SKUs left out), at now_s. Fills
 * out[0..*n_out) (at most cap; sorted by pick path: zone, pick_seq, path of the site's
 * locations) and *backorder with the units no quant covers. Runs on the calling thread (it
 * opens a plan_site, which briefly sets TZ: call it on the loop). Returns 0, -ENOMEM, or
 * WCS_E_RANGE / WCS_E_STATE / WCS_E_UNKNOWN with the planner's reason in msg (the order's
 * carrier or priority is not in the config, the site cannot be planned). */
int short_plan(const struct cfg_site *cfg, int64_t now_s, const struct short_need *need,
               const struct short_quant *quants, size_t n, struct short_alloc *out, size_t cap,
               size_t *n_out, int64_t *backorder, char *msg, size_t msg_len);

/* Runs pick.short of pk (its scan decoded, short_pick set) for the command layer c: reads the
 * task, plans and commits (task_short), reading and planning again once when the commit finds
 * that something moved. Calls done exactly once with the commit's result or the refusal (as a
 * store result: rc WCS_E_STATE / WCS_E_UNKNOWN with "ECODE text"), or returns an error and never
 * calls it. pk's and ctx's strings are copied. */
int short_start(struct cmd_ctx *c, const struct store_ctx *ctx, const struct ops_pick *pk,
                store_cb done, void *arg);

#endif
