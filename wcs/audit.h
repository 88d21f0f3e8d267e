/* The stock-conservation audit behind `wcs audit` (docs/redis.md, "Stock conservation"): pure
 * bookkeeping over the journal's entries and the current contents of every place stock can be
 * in: quants (stock, transit, scrap locations), totes (picked, not packed) and cartons (packed,
 * not shipped). Each journal entry's before/after states the units it moved in those places;
 * the audit sums them per place, product and lot, classified by the entry's op, and compares
 * them with what the places hold now. No I/O. */
#ifndef WCS_AUDIT_H
#define WCS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What moved stock, by journal op (audit_class_of). The first five cross the site's boundary;
 * AUDIT_MOVES are moves inside it (picks, packing, putaway, transfers, scrapping) and must
 * net to zero over all places. */
enum audit_class {
    AUDIT_INITIAL,     /* import_stock */
    AUDIT_RECEIPTS,    /* receive, receipt* */
    AUDIT_RETURNS,     /* return* (returns received) */
    AUDIT_SHIPPED,     /* ship, ship_confirm: units leaving the site (negative) */
    AUDIT_ADJUSTMENTS, /* adjust*, approval* (count adjustments and approvals included) */
    AUDIT_MOVES,       /* any other op */
    AUDIT_CLASSES
};

/* Where units are. Quants are in STOCK, TRANSIT or SCRAPPED by their location's type. */
enum audit_place {
    AUDIT_STOCK,    /* quants at any other location */
    AUDIT_TRANSIT,  /* quants at transit locations (transfers on the way) */
    AUDIT_TOTES,    /* tote contents: picked, not yet packed or shipped */
    AUDIT_CARTONS,  /* packed shipments not yet shipped */
    AUDIT_SCRAPPED, /* quants at scrap locations: no longer the site's stock */
    AUDIT_PLACES
};

/* What holds units: a quant (by key), a tote (by id) or a shipment's carton (by id).
 * AUDIT_SERIAL names no holder: an issue of a serial's conservation (key "<sku>:<serial>"). */
enum audit_holder { AUDIT_QUANT, AUDIT_TOTE, AUDIT_SHIPMENT, AUDIT_SERIAL };

const char *audit_class_name(enum audit_class c);
const char *audit_place_name(enum audit_place p);
/* The class of a change by journal op (NULL: AUDIT_MOVES). */
enum audit_class audit_class_of(const char *op);

/* The place of a quant at location loc (AUDIT_STOCK, AUDIT_TRANSIT or AUDIT_SCRAPPED; anything
 * else counts as AUDIT_STOCK). */
typedef enum audit_place (*audit_place_fn)(const char *loc, void *arg);

/* One product and lot: the journal's flows per class (signed: out is negative) over all places,
 * what the journal says each place should hold and what it holds; site = stock + transit +
 * totes + cartons. Balanced when every place matches and the moves net to zero. */
struct audit_row {
    char sku[64], lot[64];
    int64_t by[AUDIT_CLASSES];
    int64_t expected[AUDIT_PLACES], actual[AUDIT_PLACES];
    int64_t expected_site, actual_site;
    int64_t reserved, hold, missing; /* summed over its quants */
    bool balanced;
};

/* One holder whose numbers are wrong (for one product and lot), or a serial not conserved
 * (holder AUDIT_SERIAL: place where it is, actual its units on site including scrap, mark its
 * entry in the site's serials hash or "", expected 1 or 0: what the journal says is on site). */
struct audit_issue {
    char key[384]; /* quant key, tote id, shipment id or "<sku>:<serial>" */
    char sku[64], lot[64];
    enum audit_holder holder;
    enum audit_place place;
    int64_t expected, actual, reserved, hold, missing;
    const char *why;
    const char *mark; /* AUDIT_SERIAL: the serials hash's entry ("" none), else NULL */
};

struct audit;

/* place_of (NULL: every quant is AUDIT_STOCK) classifies quants by location. 0 or -ENOMEM. */
int audit_new(struct audit **out, audit_place_fn place_of, void *arg);
void audit_free(struct audit *a); /* NULL-safe */

/* Applies one journal entry (op, subject, before and after JSON texts; docs/redis.md, "Stock
 * conservation", lists the shapes read). Returns the number of holder changes it held (0:
 * none), or WCS_E_SYNTAX when it is unreadable (counted; the audit then cannot balance: an
 * unreadable change is a change unaccounted for) or -ENOMEM. */
int audit_entry(struct audit *a, const char *op, const char *subject, const char *before,
                const char *after);

/* Records a quant's current numbers (key: a quant key, store_key_parse_quant). Returns 0,
 * WCS_E_SYNTAX (not a quant key) or -ENOMEM. A quant recorded twice keeps the last. */
int audit_quant(struct audit *a, const char *key, int64_t on_hand, int64_t reserved, int64_t hold,
                int64_t missing);

/* Records one field of a tote's contents now: item "<sku>:<lot>" holds qty units. Returns 0,
 * WCS_E_SYNTAX (bad tote id or item) or -ENOMEM. */
int audit_tote(struct audit *a, const char *tote, const char *item, int64_t qty);

/* Records a shipment now: state ("packed": its items are in its carton on site; anything else:
 * nothing on site) and items JSON [{"sku","lot","qty"}]. Returns 0, WCS_E_SYNTAX (bad id or
 * items of a packed shipment) or -ENOMEM. */
int audit_shipment(struct audit *a, const char *shipment, const char *state, const char *items);

/* Serial conservation (docs/redis.md, "Serials"): sku is serial-tracked (a lot of it is one
 * serial number). Returns 0, WCS_E_SYNTAX (bad sku) or -ENOMEM. */
int audit_serial_product(struct audit *a, const char *sku);

/* Records one entry of the site's serials hash: item "<sku>:<serial>" is out of stock, value
 * why ("task <id>, tote <id>": picked; "returned, RMA <id>"; "scrapped, RMA <id>"). Returns 0,
 * WCS_E_SYNTAX (not an item) or -ENOMEM. */
int audit_serial_mark(struct audit *a, const char *item, const char *value);

/* The distinct ids of holders of that kind the journal named, sorted (valid until the next call
 * that changes a); n_out: count. NULL (and 0) when out of memory. */
const char *const *audit_journal_holders(struct audit *a, enum audit_holder kind, size_t *n_out);

/* Computes the report: rows sorted by sku and lot (*rows valid until the next call or
 * audit_free), issues per holder and per serial. Returns true when everything balances: every
 * row and holder, no unreadable entry, and every serial of a serial-tracked product is in at
 * most one place with one unit, marked in the serials hash as its place says: unmarked in
 * stock (not held), marked picked in a tote, a carton or shipped, marked returned only while
 * held on site, marked scrapped only in a scrap location. */
bool audit_report(struct audit *a, const struct audit_row **rows, size_t *n_rows,
                  const struct audit_issue **issues, size_t *n_issues, uint64_t *unreadable);

#endif
