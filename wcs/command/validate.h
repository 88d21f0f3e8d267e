/* The pure part of the command layer (private to wcs_command, its tests and fuzz target): role
 * checks with wildcards and the field validators of every command (schema, types, ranges and
 * references to the site config), each failure one precise line. No I/O, no clock. */
#ifndef WCS_COMMAND_VALIDATE_H
#define WCS_COMMAND_VALIDATE_H

#include "config/config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMD_ERR_MAX 256 /* a buffer this size holds any error text of the command layer */

/* A command's fields after validation. Strings are borrowed from the body (valid while it
 * lives); header_json and lines_json are owned (cmd_args_fini frees them). */
struct cmd_args {
    const char *id; /* the command's subject: order, wave, approval, rma, device, alarm,
                       shipment, count task, transfer id; the location of count.request */
    const char *order, *carrier, *priority, *ship_date, *zone, *sku, *loc, *lot, *reason;
    const char *printer, *note;
    const char *scan, *tote; /* pick.confirm, pick.short */
    const char *to;          /* replen.confirm: the pick face as scanned */
    int64_t qty, unit_value_cents, max_orders;
    bool has_value, draft, credit;
    char *header_json, *lines_json;
    /* transfer.create: the warehouses (codes), the source's transit location and the
     * destination's receiving location (indices into site->locations) */
    const char *from_wh, *to_wh;
    int32_t transit_loc, dest_loc;
    /* inventory.adjust: needs a second person's approval, and why */
    bool needs_approval;
    char why[128];
    /* receiving and returns (inbound.c): station, scan text, supplier, warehouse; decision
     * "release"|"scrap"|"restock"; qty_given: qty was sent (receipt.scan takes it from the scan
     * otherwise); allow_over: over-receipt within the tolerance asked for */
    const char *station, *supplier, *warehouse, *decision; /* scan: above */
    bool qty_given, allow_over;
};

void cmd_args_fini(struct cmd_args *a);

/* Validates body (a JSON object holding "request_id" and the command's fields) for `command`
 * against site. Returns 0 with *out filled (cmd_args_fini it), WCS_E_UNKNOWN when the command
 * does not exist, or WCS_E_SYNTAX / WCS_E_UNKNOWN / WCS_E_RANGE with err holding one line
 * (`field "qty": expected a non-zero integer`, `field "sku": unknown product "X"`,
 * `field "colour": unknown field (allowed: order, carrier, ...)`); *out is then cleared. */
int cmd_validate(const char *command, const json_t *body, const struct cfg_site *site,
                 struct cmd_args *out, char *err, size_t err_len);

/* The transit location of warehouse w (the first of type transit) and its receiving location
 * (the first of type input, else the first internal one): indices into site->locations, or -1
 * when it has none. Pure. */
int32_t cmd_transit_location(const struct cfg_site *site, uint32_t w);
int32_t cmd_receiving_location(const struct cfg_site *site, uint32_t w);

/* True when the command is one the layer knows. */
bool cmd_known(const char *command);

/* True when `pattern` (a role's commands entry: "order.upsert", "order.*" or "*") covers
 * command. */
bool cmd_pattern_matches(const char *pattern, const char *command);

/* What a command asks of the user's roles beyond its name in their command lists. */
enum cmd_need {
    CMD_NEED_ROLE = 0,   /* a role listing the command */
    CMD_NEED_SUPERVISOR, /* also a role with approve: true (RMA credit, device disable) */
    CMD_NEED_APPROVER,   /* also a role with approve: true, to approve an adjustment */
};

/* The need of a validated command (args may be NULL before validation: the need known from the
 * name alone). */
enum cmd_need cmd_need_of(const char *command, const struct cmd_args *args);

/* Checks that site's user may run command with need. Returns 0, or WCS_E_DENIED with err:
 * `user "x" is not configured`, `user "x" (roles a, b) may not run "order.cancel"`,
 * `"device.disable" needs a supervisor role (approve: true); user "x" has roles a`, or
 * `user "x" has no role that may approve adjustments (approve: true)`. */
int cmd_authorize(const struct cfg_site *site, const char *user, const char *command,
                  enum cmd_need need, char *err, size_t err_len);

#endif
