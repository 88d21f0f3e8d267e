/* Replenishment (docs/mqtt.md, "Replenishment"): the check that opens RPL-<n> tasks for a pick
 * face when a pick confirm or a wave release leaves it below its rule's min (the planner's
 * replenish stage chooses the sources), and replen.confirm's read-then-commit. Private to
 * wcs/command: command.c calls it. */
#ifndef WCS_COMMAND_REPLEN_H
#define WCS_COMMAND_REPLEN_H

#include "command/command.h"
#include "store/ops.h"

/* Queues a check of pick face `face` for product sku (trigger "pick" or "release") and runs
 * the queue one check at a time on the loop; a face/product without a replenishment rule is
 * ignored at once. Outcomes are counted in c->stats (replen_*) and new tasks published on
 * evt/task. Never blocks; returns 0, -EINVAL, -ENOMEM or WCS_E_FULL (queue full, counted). */
int replen_check(struct cmd_ctx *c, const char *face, const char *sku, const char *trigger);

/* The scanned move of replen.confirm: reads the task, then runs ops_replen_confirm with p's
 * scans (p->sku/source/face/task_lot are filled from the read). done is called exactly once
 * later with the store's result, or the call returns a negative code without calling it. */
int replen_confirm_start(struct cmd_ctx *c, const struct store_ctx *ctx,
                         const struct ops_replen_scan *p, store_cb done, void *arg);

/* Frees the queue (pending checks are dropped; one in flight ends when the store answers it).
 * Call from command_fini. */
void replen_fini(struct cmd_ctx *c);

#endif
