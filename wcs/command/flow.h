/* The multi-step commands of wcs/command (count.c: count.submit; transfer.c: transfer.create,
 * transfer.ship, transfer.receive): each reads from Redis first, decides in C with the site
 * config, then runs one store script that re-checks what was read (a "changed meanwhile"
 * refusal is retried from the first read, up to OPS_RETRIES_MAX times). Private to wcs/command:
 * command.c starts them. */
#ifndef WCS_COMMAND_FLOW_H
#define WCS_COMMAND_FLOW_H

#include "command/command.h"
#include "validate.h"

#include <jansson.h>
#include <stdbool.h>

/* Called exactly once on the loop: fields (the ok reply's fields; the callee owns them) or error
 * (valid during the call); store_error: Redis failed, the command was not executed. id and
 * state name what changed (for cmd_ctx.on_change), valid during the call. */
typedef void (*flow_done_fn)(void *arg, json_t *fields, const char *error, bool store_error,
                             const char *id, const char *state);

/* Starts command (one of the above) with the validated args a (borrowed: they must live until
 * done is called) as user. Returns 0 and calls done exactly once later, or a negative code
 * (the store's error, -ENOMEM) without calling it. ctx's strings are copied. */
int count_submit_start(struct cmd_ctx *c, const struct store_ctx *ctx, const struct cmd_args *a,
                       const char *user, flow_done_fn done, void *arg);
int transfer_start(struct cmd_ctx *c, const struct store_ctx *ctx, const char *command,
                   const struct cmd_args *a, flow_done_fn done, void *arg);

/* Calls done once with the error of a failed store call or script (rc, and the store's msg or
 * NULL): a refusal (WCS_E_STATE, WCS_E_UNKNOWN, -EINVAL) as the script's text without its code;
 * anything else as "store unavailable (...): not executed; retry with a new request_id", a store
 * error. */
void flow_fail_rc(flow_done_fn done, void *arg, int rc, const char *msg);

#endif
