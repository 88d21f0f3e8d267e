/* The pick tasks a batch claim handed out, as the command layer remembers them for pick.confirm
 * (struct ops_task_hint: order, batch, product, location and lot, which never change for a
 * task): the confirm then runs its script at once instead of reading the task first. A hint is
 * only a hint: the script checks it against the task and the store reads the task when it does
 * not match. Bounded: past TASKHINTS_MAX entries the table starts empty again. Loop-only. */
#ifndef WCS_COMMAND_TASKHINT_H
#define WCS_COMMAND_TASKHINT_H

#include "store/ops.h"

#include <stdbool.h>
#include <stddef.h>

#define TASKHINTS_MAX 32768

struct taskhints;

/* Remembers (replaces) task's hint; *th is created on first use. 0, -EINVAL (a NULL or empty
 * field but lot, or a string over 200 bytes), -ENOMEM (nothing remembered). */
int taskhints_put(struct taskhints **th, const char *task, const struct ops_task_hint *h);
/* The task's hint (its strings live until the entry is dropped or replaced), or false. */
bool taskhints_get(const struct taskhints *th, const char *task, struct ops_task_hint *out);
/* Forgets the task (the task is done). NULL-safe. */
void taskhints_drop(struct taskhints *th, const char *task);
size_t taskhints_count(const struct taskhints *th);
void taskhints_free(struct taskhints *th); /* NULL-safe */

#endif
