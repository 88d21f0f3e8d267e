/* Helpers of the picking commands (private to wcs_command): the site's pack stations, GTIN to
 * product lookups and the events a release, claim or pick publishes (evt/task, retained
 * state/batch/<id>). command.c runs the commands themselves. */
#ifndef WCS_COMMAND_PICK_H
#define WCS_COMMAND_PICK_H

#include "bus/bus.h"
#include "config/config.h"

#include <jansson.h>
#include <stdbool.h>

/* The ids of the site's stations of kind pack as a compact JSON array (malloc'd; NULL: out of
 * memory). */
char *pick_stations_json(const struct cfg_site *site);

/* The product whose GTINs (padded to 14 digits) hold gtin14; NULL when none does. */
const struct cfg_product *pick_gtin_product(const struct cfg_site *site, const char *gtin14);

/* The first GTIN of product sku padded to 14 digits into out, or "" when it has none. */
void pick_first_gtin(const struct cfg_site *site, const char *sku, char out[15]);

/* True when a pick.confirm / pick.short refusal is a failed pick check (wrong location,
 * product, lot, expiry, quantity or tote) that counts as a pick error. */
bool pick_is_check_refusal(const char *text);

/* Publishes evt/task for every task of tasks_json (a JSON array of objects with "task") and the
 * retained state/batch/<id> of every batch of batches_json; bus may be NULL. Unreadable texts
 * publish nothing. */
void pick_publish(struct bus *bus, const char *batches_json, const char *tasks_json);

#endif
