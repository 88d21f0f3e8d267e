/* Receiving and returns in the command layer (private to wcs_command): receipt.expect,
 * receipt.scan, receipt.close, quality.release, putaway.confirm, return.receive and
 * return.inspect. Each reads what its script re-checks, asks the planner for a putaway
 * suggestion where goods become free stock, runs one script, publishes its events and builds
 * its reply (docs/mqtt.md, "Receiving and returns"). */
#ifndef WCS_COMMAND_INBOUND_H
#define WCS_COMMAND_INBOUND_H

#include "command/command.h"
#include "validate.h"

#include <stdbool.h>

/* True for the commands above. */
bool inbound_handles(const char *command);

/* Runs command (inbound_handles) with its validated args a (borrowed until cb) for the actor and
 * cause of ctx (copied). Calls cb exactly once on the loop: rc 0 with values[0] the reply fields
 * (a JSON object text), values[1] the subject id, values[2] its state, values[3] the enum
 * cmd_change as a number; or a refusal (rc WCS_E_STATE, WCS_E_UNKNOWN or -EINVAL, message
 * "ESTATE <text>"; nothing changed); or a store failure. Events of a success are published on
 * c->bus before cb. Returns 0, or a negative code without calling cb. */
int inbound_start(struct cmd_ctx *c, const struct store_ctx *ctx, const char *command,
                  const struct cmd_args *a, store_cb cb, void *arg);

/* Frees what inbound_start cached in c (the planner's site). NULL-safe. */
void inbound_fini(struct cmd_ctx *c);

#endif
