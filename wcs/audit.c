/* Stock-conservation bookkeeping (audit.h): a table of quants (key -> journal sum per class,
 * on_hand, reserved), filled from journal entries and the quants' current hashes, reduced per
 * product and lot. Pure: jansson parses the entries' JSON; no I/O, no clock. */
#include "audit.h"

#include "base/err.h"
#include "store/store.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aq {
    char *key;
    char sku[64], lot[64];
    int64_t by[AUDIT_CLASSES];
    int64_t on_hand, reserved;
    bool in_journal, read;
};

struct audit {
    struct aq *q;
    size_t n, cap;
    const char **keys; /* audit_journal_quants */
    struct audit_row *rows;
    size_t n_rows;
    struct audit_quant_issue *issues;
    size_t n_issues;
    uint64_t unreadable;
};

static const char *const names[AUDIT_CLASSES] = {"initial",     "receipts",     "shipments",
                                                 "adjustments", "transfer_out", "transfer_in",
                                                 "scrap",       "moves",        "other"};

const char *audit_class_name(enum audit_class c)
{
    return (unsigned)c < AUDIT_CLASSES ? names[c] : "?";
}

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

enum audit_class audit_class_of(const char *op, int64_t delta)
{
    if (!op)
        return AUDIT_OTHER;
    if (strcmp(op, "import_stock") == 0)
        return AUDIT_INITIAL;
    if (starts(op, "transfer"))
        return delta < 0 ? AUDIT_TRANSFER_OUT : AUDIT_TRANSFER_IN;
    if (strstr(op, "scrap"))
        return AUDIT_SCRAP;
    if (starts(op, "pick"))
        return AUDIT_SHIPMENTS;
    if (starts(op, "adjust"))
        return AUDIT_ADJUSTMENTS;
    if (starts(op, "receive") || starts(op, "receipt") || starts(op, "return") ||
        starts(op, "restock"))
        return AUDIT_RECEIPTS;
    if (strcmp(op, "move") == 0 || starts(op, "putaway") || starts(op, "replenish"))
        return AUDIT_MOVES;
    return AUDIT_OTHER;
}

int audit_new(struct audit **out)
{
    struct audit *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    *out = a;
    return 0;
}

static void free_report(struct audit *a)
{
    free(a->rows);
    free(a->issues);
    free(a->keys);
    a->rows = NULL;
    a->issues = NULL;
    a->keys = NULL;
    a->n_rows = a->n_issues = 0;
}

void audit_free(struct audit *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->q[i].key);
    free(a->q);
    free_report(a);
    free(a);
}

/* The quant of key (created when absent), or NULL (not a quant key, or no memory: *rc). */
static struct aq *quant(struct audit *a, const char *key, int *rc)
{
    struct store_quant_ref ref;
    struct aq *q;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->q[i].key, key) == 0)
            return &a->q[i];
    if (store_key_parse_quant(key, strlen(key), &ref) != 0) {
        *rc = WCS_E_SYNTAX;
        return NULL;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        struct aq *p = realloc(a->q, cap * sizeof(*p));
        if (!p) {
            *rc = -ENOMEM;
            return NULL;
        }
        a->q = p;
        a->cap = cap;
    }
    q = &a->q[a->n];
    memset(q, 0, sizeof(*q));
    if (!(q->key = strdup(key))) {
        *rc = -ENOMEM;
        return NULL;
    }
    snprintf(q->sku, sizeof(q->sku), "%s", ref.sku);
    snprintf(q->lot, sizeof(q->lot), "%s", ref.lot);
    a->n++;
    return q;
}

/* An integer field, or 0 when absent; false when present but not an integer. */
static bool int_field(const json_t *o, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(o, name);
    *out = 0;
    if (!v)
        return true;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v)) {
        *out = (int64_t)json_real_value(v); /* Lua's cjson may write 5 as 5.0 */
        return true;
    }
    return false;
}

/* One change: the quant named by after[qname] went from before[nname] to after[nname]. Returns
 * 1 (applied), 0 (no such change in this entry) or an error. */
static int change(struct audit *a, const char *op, const json_t *before, const json_t *after,
                  const char *qname, const char *nname)
{
    const json_t *k = json_object_get(after, qname);
    const json_t *kb = json_object_get(before, qname);
    int64_t from, to;
    struct aq *q;
    int rc = 0;
    if (!k || !json_object_get(after, nname))
        return 0;
    if (!json_is_string(k) ||
        (kb && (!json_is_string(kb) || strcmp(json_string_value(kb), json_string_value(k)) != 0)))
        return WCS_E_SYNTAX;
    if (!int_field(before, nname, &from) || !int_field(after, nname, &to))
        return WCS_E_SYNTAX;
    if (!(q = quant(a, json_string_value(k), &rc)))
        return rc;
    q->in_journal = true;
    if (to != from)
        q->by[audit_class_of(op, to - from)] += to - from;
    return 1;
}

int audit_entry(struct audit *a, const char *op, const char *before, const char *after)
{
    json_t *b, *f;
    int n = 0, rc;
    if (!a || !op || !before || !after)
        return -EINVAL;
    b = json_loads(before, JSON_DECODE_ANY, NULL);
    f = json_loads(after, JSON_DECODE_ANY, NULL);
    /* cjson writes an empty Lua table as {}; anything but objects holds no quant change. */
    if (!json_is_object(b) || !json_is_object(f)) {
        bool bad = (!b || !f);
        json_decref(b);
        json_decref(f);
        if (bad) {
            a->unreadable++;
            return WCS_E_SYNTAX;
        }
        return 0;
    }
    static const char *const shapes[][2] = {
        {"quant", "on_hand"}, {"from", "from_on_hand"}, {"to", "to_on_hand"}};
    rc = 0;
    for (size_t k = 0; k < 3 && rc >= 0; k++) {
        rc = change(a, op, b, f, shapes[k][0], shapes[k][1]);
        n += rc > 0 ? rc : 0;
    }
    json_decref(b);
    json_decref(f);
    if (rc < 0) {
        if (rc == WCS_E_SYNTAX)
            a->unreadable++;
        return rc;
    }
    return n;
}

int audit_quant(struct audit *a, const char *key, int64_t on_hand, int64_t reserved)
{
    int rc = 0;
    struct aq *q;
    if (!a || !key)
        return -EINVAL;
    if (!(q = quant(a, key, &rc)))
        return rc;
    q->on_hand = on_hand;
    q->reserved = reserved;
    q->read = true;
    return 0;
}

const char *const *audit_journal_quants(struct audit *a, size_t *n_out)
{
    size_t n = 0;
    free(a->keys);
    a->keys = calloc(a->n ? a->n : 1, sizeof(*a->keys));
    if (!a->keys) {
        *n_out = 0;
        return NULL;
    }
    for (size_t i = 0; i < a->n; i++)
        if (a->q[i].in_journal)
            a->keys[n++] = a->q[i].key;
    *n_out = n;
    return a->keys;
}

static int row_cmp(const void *x, const void *y)
{
    const struct audit_row *a = x, *b = y;
    int c = strcmp(a->sku, b->sku);
    return c ? c : strcmp(a->lot, b->lot);
}

bool audit_report(struct audit *a, const struct audit_row **rows, size_t *n_rows,
                  const struct audit_quant_issue **issues, size_t *n_issues, uint64_t *unreadable)
{
    bool ok = a->unreadable == 0;
    free_report(a);
    a->rows = calloc(a->n ? a->n : 1, sizeof(*a->rows));
    a->issues = calloc(a->n ? a->n : 1, sizeof(*a->issues));
    if (!a->rows || !a->issues) {
        *n_rows = *n_issues = 0;
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct aq *q = &a->q[i];
        struct audit_row *r = NULL;
        int64_t expected = 0;
        for (int c = 0; c < AUDIT_CLASSES; c++)
            expected += q->by[c];
        for (size_t k = 0; k < a->n_rows && !r; k++)
            if (strcmp(a->rows[k].sku, q->sku) == 0 && strcmp(a->rows[k].lot, q->lot) == 0)
                r = &a->rows[k];
        if (!r) {
            r = &a->rows[a->n_rows++];
            snprintf(r->sku, sizeof(r->sku), "%s", q->sku);
            snprintf(r->lot, sizeof(r->lot), "%s", q->lot);
        }
        for (int c = 0; c < AUDIT_CLASSES; c++)
            r->by[c] += q->by[c];
        r->expected += expected;
        r->on_hand += q->on_hand;
        r->reserved += q->reserved;
        const char *why = expected != q->on_hand              ? "on_hand differs from the journal"
                          : q->on_hand < 0 || q->reserved < 0 ? "negative quantity"
                          : q->reserved > q->on_hand          ? "reserved exceeds on_hand"
                                                              : NULL;
        if (why) {
            struct audit_quant_issue *is = &a->issues[a->n_issues++];
            snprintf(is->key, sizeof(is->key), "%s", q->key);
            is->expected = expected;
            is->on_hand = q->on_hand;
            is->reserved = q->reserved;
            is->why = why;
            ok = false;
        }
    }
    for (size_t k = 0; k < a->n_rows; k++) {
        a->rows[k].balanced = a->rows[k].expected == a->rows[k].on_hand;
        ok = ok && a->rows[k].balanced;
    }
    qsort(a->rows, a->n_rows, sizeof(*a->rows), row_cmp);
    *rows = a->rows;
    *n_rows = a->n_rows;
    *issues = a->issues;
    *n_issues = a->n_issues;
    *unreadable = a->unreadable;
    return ok;
}
