/* Store operations of the packing and shipping flow (docs/daemon.md "Packing and shipping",
 * docs/redis.md): a pack station's session steps, the SSCC and shipment numbers of a carton,
 * the commit of a packed carton, and the confirmation of a shipped one. Each is one Lua script
 * (wcs/store/lua/pack_*.lua, ship_confirm.lua) that journals what it changes. Calling
 * convention as store.h; refusals as ops.h (WCS_E_STATE / WCS_E_UNKNOWN, ops_refusal_text). */
#ifndef WCS_STORE_PACKING_H
#define WCS_STORE_PACKING_H

#include "store/store.h"
#include "store/tote.h"

#include <stddef.h>
#include <stdint.h>

#define PACKING_TOTES_MAX 8

/* write. Sets station fields sf[0..n_sf) on wcs:{s}:station:<station>, the fields tf[0..n_tf)
 * on each tote hash of totes[0..n_totes) (n_tf 0: none), increments counter (NULL or "": none)
 * and journals op with subject the station. Values up to 8192 bytes. */
int packing_step(struct store *s, const struct store_ctx *ctx, const char *station, const char *op,
                 const char *counter, const struct store_field *sf, size_t n_sf,
                 const char *const *totes, size_t n_totes, const struct store_field *tf,
                 size_t n_tf, store_cb cb, void *arg);

/* decision. The station's session of order, in step weigh, gets an SSCC serial
 * (wcs:{s}:sscc:seq) and a shipment number (wcs:{s}:shipment:seq) and moves to step label with
 * the weights; a session already in step label answers its numbers again. values: serial,
 * shipment number (the id is "SH-<n>"). */
int packing_label(struct store *s, const struct store_ctx *ctx, const char *station,
                  const char *order, int64_t weight_mg, int64_t expected_mg, store_cb cb,
                  void *arg);

/* What a confirmed label commits. */
struct packing_commit {
    const char *station, *shipment, *order, *sscc, *carrier; /* carrier "" none */
    int64_t weight_mg, expected_mg;
    uint64_t units;
    const char *items_json;   /* [{"sku","lot","qty"}] */
    const char *reset_json;   /* station fields to set, a JSON object */
    const char *const *totes; /* the session's totes */
    size_t n_totes;           /* 1..PACKING_TOTES_MAX */
};

/* write. Writes the shipment, the carton's tote record under its SSCC, empties and releases the
 * totes, sets the order packed and the station's reset fields, in one script (journal op
 * pack). Refused when the shipment exists or the station holds no label for it. */
int packing_commit(struct store *s, const struct store_ctx *ctx, const struct packing_commit *c,
                   store_cb cb, void *arg);

/* write. The carton sscc of shipment reached lane: the shipment shipped (once), the order
 * shipped when none of its shipments is open, KPIs shipments and ship_on_time / ship_late.
 * values: "shipped" (this call shipped it) or "again", order, order state, carrier, weight mg,
 * items JSON. */
int packing_ship(struct store *s, const struct store_ctx *ctx, const char *shipment,
                 const char *sscc, const char *order, const char *lane, bool on_time, store_cb cb,
                 void *arg);

#endif
