/* Picker and packer agents of the scenario runner (docs/scenarios.md): pure state machines on
 * the virtual clock with seeded randomness. Message in (a command's reply, a tote arriving at
 * the station, a printed label) → action out (a command to publish, a barcode to scan, a load on
 * the scale, a tote or carton to put on the conveyor). They follow the picking and packing
 * contracts (batch.claim / pick.confirm / pick.short; pack station scan → verify → weigh →
 * label), and run only where the site's wcs has those flows. No I/O, no clock. */
#ifndef SIM_AGENTS_H
#define SIM_AGENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_act_kind {
    SIM_ACT_COMMAND = 1, /* publish command `name` with JSON `payload` (no request_id) */
    SIM_ACT_INDUCT,      /* put `code` (a tote or carton id) on the conveyor */
    SIM_ACT_SCAN,        /* read `code` on the station's scanner */
    SIM_ACT_SCALE,       /* put a gross load of `load_mg` on the station's scale */
};

struct sim_action {
    enum sim_act_kind kind;
    char name[32];
    char payload[1024];
    char code[128];
    int64_t load_mg;
};

/* ---- picker ---- */

struct sim_picker_cfg {
    double seconds_per_pick;
    double err_wrong_product, err_wrong_qty, err_skipped_scan, err_wrong_tote; /* per pick */
    uint64_t seed;
    const char *tote_prefix; /* totes are <prefix>-<n> */
    /* Wait after "no released batch to claim" before claiming again (default 60 s); a claim
     * that lost a race to another picker ("changed meanwhile, retry") is tried again after 2 s. */
    uint64_t retry_ms;
    /* Locations the picker finds empty whatever wcs's books say: a task there is reported at
     * once with pick.short {task, qty: 0}. Borrowed, not copied (live while the picker is). */
    const char *const *empty;
    size_t n_empty;
};

struct sim_picker_stats {
    uint64_t claims, batches, picks_confirmed, units, errors_injected, errors_refused,
        unexpected_refusals, shorts, totes_inducted;
    uint64_t passing_refusals; /* refused for a passing reason (sim_refusal_passes): done again */
};

/* A refusal that says the command may work later (docs/mqtt.md, "Commands": "... not executed"
 * while Redis is down, "... retry ...", "shutting down"). NULL-safe. */
bool sim_refusal_passes(const char *error);

struct sim_picker;

/* Returns 0 and *out (free with sim_picker_free), -EINVAL for a bad cfg, -ENOMEM. */
int sim_picker_new(struct sim_picker **out, const struct sim_picker_cfg *cfg);
void sim_picker_free(struct sim_picker *p); /* NULL-safe */
/* The next action due at now_ms: 1 with *act filled, 0 when the picker waits (for a reply or
 * for time to pass). After a SIM_ACT_COMMAND the picker waits for sim_picker_on_reply. The walk
 * to the next task (seconds_per_pick) or to the conveyor counts from the scan, not from the
 * reply: a pick answered within that time costs the picker nothing more. */
int sim_picker_next(struct sim_picker *p, uint64_t now_ms, struct sim_action *act);
/* The reply (JSON object text) to the last command. Returns 0, or -EINVAL when no command was
 * outstanding or the text is not a JSON object (the picker then starts over with a claim). */
int sim_picker_on_reply(struct sim_picker *p, uint64_t now_ms, const char *reply);
/* The contents put into each tote so far (for the packers): returns the number of lines written
 * to sku/lot/qty arrays (at most cap) of tote `tote`. */
size_t sim_picker_tote_contents(const struct sim_picker *p, const char *tote, char (*sku)[64],
                                char (*gtin)[16], char (*lot)[64], uint32_t *qty, size_t cap);
void sim_picker_stats(const struct sim_picker *p, struct sim_picker_stats *out);

/* ---- packer ---- */

struct sim_pack_item {
    char gtin[16], lot[64];
    uint32_t qty;
    uint32_t unit_weight_g;
};

struct sim_packer_cfg {
    double seconds_per_item; /* scanning one unit */
    double err_wrong_item;   /* per unit: scans a wrong GTIN first */
    uint32_t packaging_g;
    double weight_error_pct; /* real carton weight differs from the items by up to this */
    uint64_t seed;
};

struct sim_packer_stats {
    uint64_t totes, units_scanned, wrong_scans, cartons, labels, aborted, restarts, rescans;
};

struct sim_packer;

int sim_packer_new(struct sim_packer **out, const struct sim_packer_cfg *cfg);
void sim_packer_free(struct sim_packer *p); /* NULL-safe */
/* A tote arrived at the station with its contents (copied). Returns 0, WCS_E_FULL (4,096
 * queued), -ENOMEM. */
int sim_packer_on_tote(struct sim_packer *p, uint64_t now_ms, const char *tote,
                       const struct sim_pack_item *items, size_t n);
/* The station's printer printed a label carrying SSCC `sscc` (18 digits). Taken once the last
 * unit of the carton is scanned (wcs may print before the packer's next step). Returns 0, or
 * WCS_E_STATE when the packer has no carton waiting for a label (or already has its label). */
int sim_packer_on_label(struct sim_packer *p, uint64_t now_ms, const char *sscc);
/* As sim_picker_next: scan the tote, scan each unit, weigh, (wait for the label), put the
 * carton on the conveyor, clear the scale. */
int sim_packer_next(struct sim_packer *p, uint64_t now_ms, struct sim_action *act);
/* wcs refused the carton (weight out of tolerance: the totes go to QA) or the session was
 * reset: the packer gives up the current carton and clears the scale next. Returns 1 with
 * tote (cap bytes) set to the tote it was packing (to put back on the conveyor), 0 when it
 * was not packing. */
int sim_packer_abort(struct sim_packer *p, uint64_t now_ms, char *tote, size_t cap);
/* The station refused the packer's tote scan for a passing reason (evt/pack error "store":
 * Redis not reachable, the station idle again; or "busy"): the packer starts the carton again
 * in 10 s, the tote scan first, then every unit (what was scanned meanwhile found no session).
 * Returns 1, or 0 when tote is not the carton being packed or its label came already. */
int sim_packer_restart(struct sim_packer *p, uint64_t now_ms, const char *tote);
/* The station refused a unit scan with "busy" (its queue of scans was full), naming the GTIN-14
 * `gtin`: the packer scans one more unit of that item before going on (1 s after reading the
 * screen when it was waiting for the label). Returns 1, or 0 when the carton has no unit of that
 * GTIN scanned and not already to be scanned again (a wrong item's scan, another carton), or
 * its label came. */
int sim_packer_rescan(struct sim_packer *p, uint64_t now_ms, const char *gtin);
/* True while the packer waits for its label (the carton was weighed). */
bool sim_packer_awaiting_label(const struct sim_packer *p);
void sim_packer_stats(const struct sim_packer *p, struct sim_packer_stats *out);

#endif
