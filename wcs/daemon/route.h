/* The pure parts of the sortation decision (docs/daemon.md "Sortation flow"): the tote id in a
 * scanned label (GS1 SSCC or plain LPN), and the choice of lane and PLC command for one scan
 * from the scan point's config, the lanes' state and the tote and order records. No I/O, no
 * clock, no allocation: unit-tested and fuzzed (tests/daemon/). */
#ifndef WCS_DAEMON_ROUTE_H
#define WCS_DAEMON_ROUTE_H

#include "base/hist.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "drivers/codec/plcblock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Extracts the tote id from scan data as the PLC delivered it (printable ASCII and GS, possibly
 * with an AIM identifier). A GS1 element string (]C1, ]d2, leading GS, or the bracketed form)
 * must hold an SSCC (AI 00), whose 18 digits are the id; other GS1 content is not a tote label.
 * Plain data is an LPN and must be an identifier (store_id_check: 1..63 of [A-Za-z0-9_.-]).
 * Writes the NUL-terminated id into id[0..cap). Returns 0, WCS_E_SYNTAX (empty, not a tote
 * label, bad characters or a GS1 error), or WCS_E_EXHAUSTED (cap too small). */
int route_tote_id(const char *data, size_t len, char *id, size_t cap);

enum route_action { ROUTE_DIVERT, ROUTE_RECIRC, ROUTE_REJECT };

enum route_reason {
    ROUTE_OK,               /* diverted to the lane of its destination */
    ROUTE_NOREAD,           /* the scanner read nothing */
    ROUTE_MULTIREAD,        /* the scanner saw several labels */
    ROUTE_MALFORMED,        /* the label is not a tote label */
    ROUTE_UNKNOWN_TOTE,     /* no such tote in the model */
    ROUTE_UNKNOWN_ORDER,    /* the tote's order is not known */
    ROUTE_CANCELLED,        /* the tote's order was cancelled */
    ROUTE_SHIPPED,          /* the tote's order has shipped already */
    ROUTE_NO_DEST,          /* no destination can be derived (no pack station, no carrier) */
    ROUTE_NOT_HERE,         /* the destination lane is not reachable from this scan point */
    ROUTE_LANE_FULL,        /* its lane is full: recirculated */
    ROUTE_LANE_DISABLED,    /* its lane is disabled: recirculated */
    ROUTE_RECIRC_EXHAUSTED, /* would recirculate past max_recirc: rejected */
    ROUTE_REJECT_ASKED,     /* the tote's destination is the reject lane */
    ROUTE_REASON_COUNT
};

/* The scan point and the state of the site's lanes (arrays of site->n_lanes entries). */
struct route_ctx {
    const struct cfg_site *site;
    const struct cfg_scan_point *sp;
    const bool *lane_enabled;
    const bool *lane_full;
};

struct route_in {
    enum plc_read_result read_result;
    int id_rc;                      /* route_tote_id's result */
    const struct wcsd_tote *tote;   /* NULL: not in the model */
    const struct wcsd_order *order; /* NULL: no order or not in the model */
};

struct route_out {
    enum route_action action;
    enum route_reason reason;
    int32_t lane;        /* site lane index the item is sent to (-1: pass without a lane) */
    int32_t wanted_lane; /* the destination lane before full/disabled/recirc rules, or -1 */
    uint16_t dest_lane;  /* value for the PLC's dest_lane */
    uint16_t cmd_flags;  /* PLC_CMD_* */
};

/* Decides one scan. Never fails: every path ends in a divert, a recirculation (only while
 * tote->recirc < sp->max_recirc and the scan point has a recirc lane) or the reject lane. */
void route_decide(const struct route_ctx *ctx, const struct route_in *in, struct route_out *out);

/* ---- the PLC decision table (docs/daemon.md "Decision table") ----
 * The daemon publishes to the PLC workers: tote id -> class, "o:<order>" -> class, and per scan
 * point class -> rule. A class is a destination whose decision depends on the config only:
 * "station:<id>" ("station:" any pack station), "carrier:<code>", "qa", "reject", or a refusal
 * "x:cancelled", "x:shipped", "x:no_dest", "x:unknown_order". */

/* The class of a tote: its own destination, or "o:<order>" (then its order's class decides).
 * Returns 0 or WCS_E_EXHAUSTED (cap too small). */
int route_tote_class(const struct wcsd_tote *t, char *buf, size_t cap);
/* The class of an order (the rules of route_decide for a tote without its own destination).
 * Returns 0 or WCS_E_EXHAUSTED. */
int route_order_class(const struct wcsd_order *o, char *buf, size_t cap);
/* The table key of an order: "o:<id>". Returns 0 or WCS_E_EXHAUSTED. */
int route_order_key(const char *order_id, char *buf, size_t cap);

/* The decision for class cls at ctx's scan point, computed by route_decide with every lane
 * taken as enabled and not full (ctx's lane arrays must say so: the table's lane flags check the
 * lane at scan time). Returns true when the decision may be taken by a PLC worker from the table:
 * a divert (out->lane is the lane to check) or a reject that depends on the config and the
 * class alone; false when the loop must decide (recirculation, recirc limit, not at this point,
 * an unknown class). */
bool route_class_rule(const struct route_ctx *ctx, const char *cls, struct route_out *out);

const char *route_reason_name(enum route_reason r);
const char *route_action_name(enum route_action a);

#endif
