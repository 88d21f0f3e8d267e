/* The stock-conservation audit behind `wcs audit` (docs/redis.md, "Stock conservation"): pure
 * bookkeeping over the journal's entries and the quants' current numbers. Every journal entry
 * that changes a quant states it as {"quant", "on_hand"} before and after, or as {"from",
 * "from_on_hand", "to", "to_on_hand"} (moves); the audit sums those changes per quant,
 * classified by the entry's op, and compares the sum with the quant's on_hand now. No I/O. */
#ifndef WCS_AUDIT_H
#define WCS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What moved stock, by journal op (audit_class_of). */
enum audit_class {
    AUDIT_INITIAL,      /* import_stock */
    AUDIT_RECEIPTS,     /* receive, receipt*, return*, restock* */
    AUDIT_SHIPMENTS,    /* pick*: units picked out of stock (they leave with the shipment) */
    AUDIT_ADJUSTMENTS,  /* adjust* (count adjustments and approvals included) */
    AUDIT_TRANSFER_OUT, /* transfer_*: units leaving a quant */
    AUDIT_TRANSFER_IN,  /* transfer_*: units arriving in a quant */
    AUDIT_SCRAP,        /* *scrap* */
    AUDIT_MOVES,        /* move, putaway, replenish*: inside the site */
    AUDIT_OTHER,        /* any other op that changed a quant */
    AUDIT_CLASSES
};

const char *audit_class_name(enum audit_class c);
/* The class of a change of delta units by journal op. */
enum audit_class audit_class_of(const char *op, int64_t delta);

/* One product and lot: the sums per class (signed: out is negative), what the journal says it
 * should hold (their sum) and what its quants hold. */
struct audit_row {
    char sku[64], lot[64];
    int64_t by[AUDIT_CLASSES];
    int64_t expected, on_hand, reserved;
    bool balanced;
};

/* One quant whose numbers are wrong: expected (journal) differs from on_hand, a negative
 * number, or reserved > on_hand. */
struct audit_quant_issue {
    char key[384];
    int64_t expected, on_hand, reserved;
    const char *why;
};

struct audit;

int audit_new(struct audit **out); /* 0 or -ENOMEM */
void audit_free(struct audit *a);  /* NULL-safe */

/* Applies one journal entry (op, before and after JSON texts). Returns the number of quant
 * changes it held (0: none), or WCS_E_SYNTAX when it is unreadable (counted; the audit then
 * cannot balance: an unreadable change is a change unaccounted for) or -ENOMEM. */
int audit_entry(struct audit *a, const char *op, const char *before, const char *after);

/* Records a quant's current numbers (key: a quant key, store_key_parse_quant). Returns 0,
 * WCS_E_SYNTAX (not a quant key) or -ENOMEM. A quant recorded twice keeps the last. */
int audit_quant(struct audit *a, const char *key, int64_t on_hand, int64_t reserved);

/* The quant keys the journal named (valid until the next call that changes a); n_out: count. */
const char *const *audit_journal_quants(struct audit *a, size_t *n_out);

/* Computes the report: rows sorted by sku and lot (*rows valid until audit_free), issues per
 * quant. Returns true when everything balances: every row and quant, and no unreadable
 * entry. */
bool audit_report(struct audit *a, const struct audit_row **rows, size_t *n_rows,
                  const struct audit_quant_issue **issues, size_t *n_issues, uint64_t *unreadable);

#endif
