/* wave.plan through the planner (wave.c): a bounded snapshot from Redis, the planner on a worker
 * thread, and a commit of exactly what it reserved. Private to wcs/command: command.c starts it
 * for the wave.plan command; one runs at a time per struct cmd_ctx. */
#ifndef WCS_COMMAND_WAVE_H
#define WCS_COMMAND_WAVE_H

#include "command/command.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Snapshot bounds. Above the open-orders cap wave.plan is refused (plan per carrier); the
 * eligible orders beyond the orders or lines cap (after sorting by priority, ship date, id) are
 * left for the next wave.plan and counted as "deferred"; above the quants cap it is refused. */
#define WAVE_OPEN_ORDERS_MAX     200000
#define WAVE_SNAPSHOT_ORDERS_MAX 20000
#define WAVE_SNAPSHOT_LINES_MAX  100000
#define WAVE_SNAPSHOT_QUANTS_MAX 200000

/* Called once on the loop: fields (the ok reply's fields; the callee owns it) or error (valid
 * during the call); store_error: the refusal is Redis' failure, not the command's. */
typedef void (*wave_done_fn)(void *arg, json_t *fields, const char *error, bool store_error);

/* Starts wave.plan of wave_id (carrier NULL/"": any; max_orders 0: the site's limit). Returns 0
 * and calls done exactly once later, or an error without calling it with err filled:
 * WCS_E_STATE (one is running; no loop), or the store's error. ctx's strings are copied. */
int wave_plan_start(struct cmd_ctx *c, const struct store_ctx *ctx, const char *wave_id,
                    const char *carrier, uint32_t max_orders, wave_done_fn done, void *arg,
                    char *err, size_t err_len);

/* Waits for a running planner thread and ends its wave.plan with an error. NULL-safe. */
void wave_plan_fini(struct cmd_ctx *c);

#endif
