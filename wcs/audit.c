/* Stock-conservation bookkeeping (audit.h): a hash table of holders (quant, tote or shipment,
 * per product and lot) with the journal's sum per class and what they hold now, reduced per
 * product and lot and place, and the serial checks over those rows and the site's serials
 * hash. Pure: jansson parses the entries' JSON; no I/O, no clock. */
#include "audit.h"

#include "base/err.h"
#include "base/hash.h"
#include "store/store.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ah {
    char *id;        /* "<kind>\x1f<key>\x1f<sku>\x1f<lot>": the table's key */
    const char *key; /* inside id */
    enum audit_holder holder;
    enum audit_place place;
    char sku[STORE_ID_MAX], lot[STORE_ID_MAX];
    int64_t by[AUDIT_CLASSES];
    int64_t actual, reserved, hold, missing;
    bool in_journal;
};

struct audit {
    audit_place_fn place_of;
    void *place_arg;
    struct ah *h;
    size_t n, cap;
    uint32_t *slot; /* index + 1 into h, 0 free; n_slot a power of two */
    size_t n_slot;
    char **keys; /* audit_journal_holders: owned copies */
    size_t n_keys;
    struct audit_row *rows;
    size_t n_rows;
    struct audit_issue *issues;
    size_t n_issues;
    uint64_t unreadable;
    char **serial_skus; /* serial-tracked products */
    size_t n_serial_skus;
    struct mark *marks; /* the site's serials hash */
    size_t n_marks, cap_marks;
};

/* An entry of the site's serials hash. */
struct mark {
    char *item, *value;
};

static const char *const class_names[AUDIT_CLASSES] = {"initial", "receipts",    "returns",
                                                       "shipped", "adjustments", "moves"};
static const char *const place_names[AUDIT_PLACES] = {"stock", "transit", "totes", "cartons",
                                                      "scrapped"};

const char *audit_class_name(enum audit_class c)
{
    return (unsigned)c < AUDIT_CLASSES ? class_names[c] : "?";
}

const char *audit_place_name(enum audit_place p)
{
    return (unsigned)p < AUDIT_PLACES ? place_names[p] : "?";
}

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

enum audit_class audit_class_of(const char *op)
{
    if (!op)
        return AUDIT_MOVES;
    if (strcmp(op, "import_stock") == 0)
        return AUDIT_INITIAL;
    if (strcmp(op, "receive") == 0 || starts(op, "receipt"))
        return AUDIT_RECEIPTS;
    if (starts(op, "return"))
        return AUDIT_RETURNS;
    if (strcmp(op, "ship") == 0 || strcmp(op, "ship_confirm") == 0)
        return AUDIT_SHIPPED;
    if (starts(op, "adjust") || starts(op, "approval"))
        return AUDIT_ADJUSTMENTS;
    return AUDIT_MOVES;
}

int audit_new(struct audit **out, audit_place_fn place_of, void *arg)
{
    struct audit *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->place_of = place_of;
    a->place_arg = arg;
    *out = a;
    return 0;
}

static void free_keys(struct audit *a)
{
    for (size_t i = 0; i < a->n_keys; i++)
        free(a->keys[i]);
    free(a->keys);
    a->keys = NULL;
    a->n_keys = 0;
}

static void free_report(struct audit *a)
{
    free(a->rows);
    free(a->issues);
    a->rows = NULL;
    a->issues = NULL;
    a->n_rows = a->n_issues = 0;
}

void audit_free(struct audit *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->h[i].id);
    free(a->h);
    free(a->slot);
    free_report(a);
    free_keys(a);
    for (size_t i = 0; i < a->n_serial_skus; i++)
        free(a->serial_skus[i]);
    free(a->serial_skus);
    for (size_t i = 0; i < a->n_marks; i++) {
        free(a->marks[i].item);
        free(a->marks[i].value);
    }
    free(a->marks);
    free(a);
}

static int rehash(struct audit *a)
{
    size_t n = a->n_slot ? 2 * a->n_slot : 256;
    uint32_t *s = calloc(n, sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < a->n; i++) {
        size_t k = hash_str(a->h[i].id) & (n - 1);
        while (s[k])
            k = (k + 1) & (n - 1);
        s[k] = (uint32_t)(i + 1);
    }
    free(a->slot);
    a->slot = s;
    a->n_slot = n;
    return 0;
}

/* The holder (kind, key) of sku and lot, created when absent; NULL on bad ids or no memory
 * (*rc). A quant's sku and lot come from its key (sku and lot are then ignored). */
static struct ah *holder(struct audit *a, enum audit_holder kind, const char *key, const char *sku,
                         const char *lot, int *rc)
{
    struct store_quant_ref ref;
    char *id;
    size_t k;
    if (kind == AUDIT_QUANT) {
        if (store_key_parse_quant(key, strlen(key), &ref) != 0) {
            *rc = WCS_E_SYNTAX;
            return NULL;
        }
        sku = ref.sku;
        lot = ref.lot;
    } else if (store_id_check(key) != 0 || store_id_check(sku) != 0 ||
               (lot[0] && store_id_check(lot) != 0)) {
        *rc = WCS_E_SYNTAX;
        return NULL;
    }
    size_t len = strlen(key) + strlen(sku) + strlen(lot) + 6;
    if (!(id = malloc(len))) {
        *rc = -ENOMEM;
        return NULL;
    }
    snprintf(id, len, "%d\x1f%s\x1f%s\x1f%s", (int)kind, key, sku, lot);
    if (a->n_slot) {
        for (k = hash_str(id) & (a->n_slot - 1); a->slot[k]; k = (k + 1) & (a->n_slot - 1))
            if (strcmp(a->h[a->slot[k] - 1].id, id) == 0) {
                free(id);
                return &a->h[a->slot[k] - 1];
            }
    }
    if ((2 * (a->n + 1) > a->n_slot && rehash(a) != 0) || a->n >= UINT32_MAX - 1) {
        free(id);
        *rc = -ENOMEM;
        return NULL;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        struct ah *p = realloc(a->h, cap * sizeof(*p));
        if (!p) {
            free(id);
            *rc = -ENOMEM;
            return NULL;
        }
        a->h = p;
        a->cap = cap;
    }
    struct ah *h = &a->h[a->n];
    memset(h, 0, sizeof(*h));
    h->id = id;
    h->key = strchr(id, '\x1f') + 1;
    h->holder = kind;
    snprintf(h->sku, sizeof(h->sku), "%s", sku);
    snprintf(h->lot, sizeof(h->lot), "%s", lot);
    if (kind == AUDIT_TOTE)
        h->place = AUDIT_TOTES;
    else if (kind == AUDIT_SHIPMENT)
        h->place = AUDIT_CARTONS;
    else {
        enum audit_place p = a->place_of ? a->place_of(ref.loc, a->place_arg) : AUDIT_STOCK;
        h->place = p == AUDIT_TRANSIT || p == AUDIT_SCRAPPED ? p : AUDIT_STOCK;
    }
    for (k = hash_str(id) & (a->n_slot - 1); a->slot[k]; k = (k + 1) & (a->n_slot - 1))
        ;
    a->slot[k] = (uint32_t)(a->n + 1);
    a->n++;
    return h;
}

/* The key part of a holder id (the id without "<kind>\x1f"), up to the next separator. */
static size_t key_len(const struct ah *h)
{
    return (size_t)(strchr(h->key, '\x1f') - h->key);
}

/* An integer value (Lua's cjson may write 5 as 5.0); false when v is not one. */
static bool int_value(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) >= -9e15 && json_real_value(v) <= 9e15 &&
        json_real_value(v) == (double)(int64_t)json_real_value(v)) {
        *out = (int64_t)json_real_value(v);
        return true;
    }
    return false;
}

/* An integer field, or 0 when absent; false when present but not an integer. */
static bool int_field(const json_t *o, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(o, name);
    *out = 0;
    return !v || int_value(v, out);
}

/* Applies delta units of class c to a holder. 1, or an error. */
static int apply(struct audit *a, enum audit_holder kind, const char *key, const char *sku,
                 const char *lot, enum audit_class c, int64_t delta)
{
    int rc = 0;
    struct ah *h = holder(a, kind, key, sku, lot, &rc);
    if (!h)
        return rc;
    h->in_journal = true;
    h->by[c] += delta;
    return 1;
}

/* Splits an item "<sku>:<lot>" into sku and lot; false when it is not one. */
static bool split_item(const char *item, char *sku, char *lot)
{
    const char *c = item ? strchr(item, ':') : NULL;
    if (!c || (size_t)(c - item) >= STORE_ID_MAX || strlen(c + 1) >= STORE_ID_MAX)
        return false;
    memcpy(sku, item, (size_t)(c - item));
    sku[c - item] = '\0';
    strcpy(lot, c + 1);
    return store_id_check(sku) == 0 && (!lot[0] || store_id_check(lot) == 0);
}

/* One quant change: the quant named by after[qname] went from before[nname] to after[nname].
 * Returns 1 (applied), 0 (no such change in this entry) or an error. */
static int quant_change(struct audit *a, enum audit_class c, const json_t *before,
                        const json_t *after, const char *qname, const char *nname)
{
    const json_t *k = json_object_get(after, qname);
    const json_t *kb = json_object_get(before, qname);
    int64_t from, to;
    if (!k || !json_object_get(after, nname))
        return 0;
    if (!json_is_string(k) ||
        (kb && (!json_is_string(kb) || strcmp(json_string_value(kb), json_string_value(k)) != 0)))
        return WCS_E_SYNTAX;
    if (!int_field(before, nname, &from) || !int_field(after, nname, &to))
        return WCS_E_SYNTAX;
    return apply(a, AUDIT_QUANT, json_string_value(k), "", "", c, to - from);
}

/* Tote contents {"<sku>:<lot>": qty} leaving tote (sign -1) or arriving. */
static int tote_contents(struct audit *a, const char *tote, const json_t *contents,
                         enum audit_class c, int sign)
{
    const char *item;
    json_t *v;
    int n = 0, rc;
    if (!json_is_object(contents))
        return WCS_E_SYNTAX;
    json_object_foreach((json_t *)contents, item, v)
    {
        char sku[STORE_ID_MAX], lot[STORE_ID_MAX];
        int64_t q;
        if (!split_item(item, sku, lot) || !int_value(v, &q))
            return WCS_E_SYNTAX;
        if ((rc = apply(a, AUDIT_TOTE, tote, sku, lot, c, sign * q)) < 0)
            return rc;
        n += rc;
    }
    return n;
}

/* Shipment items [{"sku","lot","qty"}] (cjson writes an empty array as {}) into or out of the
 * shipment's carton (sign, class c), or, with actual, added to what the carton holds now. */
static int carton_items(struct audit *a, const char *shipment, const json_t *items,
                        enum audit_class c, int sign, bool actual)
{
    size_t i;
    json_t *o;
    int n = 0, rc = 0;
    if (json_is_object(items) && json_object_size(items) == 0)
        return 0;
    if (!json_is_array(items))
        return WCS_E_SYNTAX;
    json_array_foreach((json_t *)items, i, o)
    {
        const json_t *sku = json_object_get(o, "sku"), *lot = json_object_get(o, "lot");
        int64_t q;
        if (!json_is_string(sku) || (lot && !json_is_string(lot)) ||
            !int_value(json_object_get(o, "qty"), &q))
            return WCS_E_SYNTAX;
        const char *l = lot ? json_string_value(lot) : "";
        if (actual) {
            struct ah *h = holder(a, AUDIT_SHIPMENT, shipment, json_string_value(sku), l, &rc);
            if (!h)
                return rc;
            h->actual += q;
            n++;
            continue;
        }
        if ((rc = apply(a, AUDIT_SHIPMENT, shipment, json_string_value(sku), l, c, sign * q)) < 0)
            return rc;
        n += rc;
    }
    return n;
}

/* The tote and carton changes of ops that move units through totes and cartons. */
static int container_changes(struct audit *a, const char *op, const char *subject, const json_t *b,
                             const json_t *f)
{
    enum audit_class c = audit_class_of(op);
    if (strcmp(op, "pick") == 0) {
        /* Units into a tote: before/after "tote" (the item's qty in it), after "item". */
        const json_t *item = json_object_get(f, "item");
        char sku[STORE_ID_MAX], lot[STORE_ID_MAX];
        int64_t t0, t1;
        if (!json_object_get(f, "tote"))
            return 0;
        if (!json_is_string(item) || !split_item(json_string_value(item), sku, lot) ||
            !int_field(b, "tote", &t0) || !int_field(f, "tote", &t1))
            return WCS_E_SYNTAX;
        return apply(a, AUDIT_TOTE, subject, sku, lot, c, t1 - t0);
    }
    if (strcmp(op, "pack") == 0) {
        /* The session's totes emptied (before "totes": {tote: contents}) into the carton of
         * the shipment (subject; after "items"). */
        const json_t *totes = json_object_get(b, "totes");
        const char *tote;
        json_t *contents;
        int n = 0, rc;
        if (json_is_object(totes)) {
            json_object_foreach((json_t *)totes, tote, contents)
            {
                if (json_is_array(contents) && json_array_size(contents) == 0)
                    continue; /* an empty tote: cjson's {} may come back as [] */
                if ((rc = tote_contents(a, tote, contents, c, -1)) < 0)
                    return rc;
                n += rc;
            }
        } else if (totes && !json_is_array(totes)) {
            return WCS_E_SYNTAX;
        }
        if ((rc = carton_items(a, subject, json_object_get(f, "items"), c, 1, false)) < 0)
            return rc;
        return n + rc;
    }
    if (strcmp(op, "ship") == 0) {
        /* A tote shipped as it is (before "tote", "contents"). */
        const json_t *tote = json_object_get(b, "tote");
        if (!json_is_string(tote))
            return WCS_E_SYNTAX;
        return tote_contents(a, json_string_value(tote), json_object_get(b, "contents"), c, -1);
    }
    if (strcmp(op, "ship_confirm") == 0) {
        /* The carton leaves (after "items", the shipment's). */
        return carton_items(a, subject, json_object_get(f, "items"), c, -1, false);
    }
    return 0;
}

/* Ops that never move stock (orders, waves, batches, reservations, the pack stations' session
 * steps, the sorter's tote records, labels: most of a shift's journal, docs/redis.md "Stock
 * conservation"): their entries are not parsed unless a text names on_hand (the shape
 * quant_change reads). A damaged entry of any other op is still parsed and counted
 * unreadable. ("pack_" is not "pack", the carton's commit, which moves units.) */
static bool moves_nothing(const char *op, const char *before, const char *after)
{
    static const char *const prefixes[] = {
        "order_",          "wave_",      "batch_",        "backorder",    "reserve",
        "unreserve",       "tasks_",     "replen_create", "replen_claim", "pack_",
        "label_",          "alarm_",     "count_request", "rma_",         "receipt_expect",
        "transfer_create", "pick_short", "route",         "confirm",      "scan_",
        "device_"};
    if (strstr(after, "on_hand") || strstr(before, "on_hand"))
        return false;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (starts(op, prefixes[i]))
            return true;
    return false;
}

int audit_entry(struct audit *a, const char *op, const char *subject, const char *before,
                const char *after)
{
    json_t *b, *f;
    int n = 0, rc;
    if (!a || !op || !subject || !before || !after)
        return -EINVAL;
    if (moves_nothing(op, before, after))
        return 0;
    b = json_loads(before, JSON_DECODE_ANY, NULL);
    f = json_loads(after, JSON_DECODE_ANY, NULL);
    /* cjson writes an empty Lua table as {}; anything but objects holds no change. */
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
        rc = quant_change(a, audit_class_of(op), b, f, shapes[k][0], shapes[k][1]);
        n += rc > 0 ? rc : 0;
    }
    if (rc >= 0) {
        rc = container_changes(a, op, subject, b, f);
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

int audit_quant(struct audit *a, const char *key, int64_t on_hand, int64_t reserved, int64_t hold,
                int64_t missing)
{
    int rc = 0;
    struct ah *h;
    if (!a || !key)
        return -EINVAL;
    if (!(h = holder(a, AUDIT_QUANT, key, "", "", &rc)))
        return rc;
    h->actual = on_hand;
    h->reserved = reserved;
    h->hold = hold;
    h->missing = missing;
    return 0;
}

int audit_tote(struct audit *a, const char *tote, const char *item, int64_t qty)
{
    char sku[STORE_ID_MAX], lot[STORE_ID_MAX];
    int rc = 0;
    struct ah *h;
    if (!a || !tote || !item)
        return -EINVAL;
    if (!split_item(item, sku, lot))
        return WCS_E_SYNTAX;
    if (!(h = holder(a, AUDIT_TOTE, tote, sku, lot, &rc)))
        return rc;
    h->actual = qty;
    return 0;
}

int audit_shipment(struct audit *a, const char *shipment, const char *state, const char *items)
{
    json_t *j;
    int rc;
    if (!a || !shipment || !state || !items)
        return -EINVAL;
    if (store_id_check(shipment) != 0)
        return WCS_E_SYNTAX;
    if (strcmp(state, "packed") != 0)
        return 0; /* shipped (or gone): nothing of it on site */
    if (!(j = json_loads(items, JSON_DECODE_ANY, NULL)))
        return WCS_E_SYNTAX;
    rc = carton_items(a, shipment, j, AUDIT_MOVES, 1, true);
    json_decref(j);
    return rc < 0 ? rc : 0;
}

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int audit_serial_product(struct audit *a, const char *sku)
{
    char **p;
    if (!a || !sku)
        return -EINVAL;
    if (store_id_check(sku) != 0)
        return WCS_E_SYNTAX;
    if (!(p = realloc(a->serial_skus, (a->n_serial_skus + 1) * sizeof(*p))))
        return -ENOMEM;
    a->serial_skus = p;
    if (!(p[a->n_serial_skus] = strdup(sku)))
        return -ENOMEM;
    a->n_serial_skus++;
    return 0;
}

int audit_serial_mark(struct audit *a, const char *item, const char *value)
{
    char sku[STORE_ID_MAX], lot[STORE_ID_MAX];
    if (!a || !item || !value)
        return -EINVAL;
    if (!split_item(item, sku, lot) || !lot[0])
        return WCS_E_SYNTAX;
    if (a->n_marks == a->cap_marks) {
        size_t cap = a->cap_marks ? 2 * a->cap_marks : 64;
        struct mark *m = realloc(a->marks, cap * sizeof(*m));
        if (!m)
            return -ENOMEM;
        a->marks = m;
        a->cap_marks = cap;
    }
    struct mark *m = &a->marks[a->n_marks];
    m->item = strdup(item);
    m->value = strdup(value);
    if (!m->item || !m->value) {
        free(m->item);
        free(m->value);
        return -ENOMEM;
    }
    a->n_marks++;
    return 0;
}

static int mark_cmp(const void *x, const void *y)
{
    return strcmp(((const struct mark *)x)->item, ((const struct mark *)y)->item);
}

static bool is_serial_sku(const struct audit *a, const char *sku)
{
    for (size_t i = 0; i < a->n_serial_skus; i++)
        if (strcmp(a->serial_skus[i], sku) == 0)
            return true;
    return false;
}

/* What a serials hash entry says (its text's first word, docs/redis.md "Serials"). */
enum mark_kind { MARK_NONE, MARK_PICKED, MARK_RETURNED, MARK_SCRAPPED, MARK_OTHER };

static enum mark_kind mark_kind(const char *v)
{
    if (!v)
        return MARK_NONE;
    if (starts(v, "task "))
        return MARK_PICKED;
    if (starts(v, "returned"))
        return MARK_RETURNED;
    if (starts(v, "scrapped"))
        return MARK_SCRAPPED;
    return MARK_OTHER;
}

/* Why serial row r (its mark kind k) is not conserved, or NULL; *units and *where: its units on
 * site (scrap included) and the last place holding any. */
static const char *serial_issue(const struct audit_row *r, enum mark_kind k, int64_t *units,
                                enum audit_place *where)
{
    int places = 0;
    bool negative = false;
    *units = 0;
    *where = AUDIT_STOCK;
    for (int p = 0; p < AUDIT_PLACES; p++)
        if (r->actual[p] != 0) {
            *units += r->actual[p];
            *where = (enum audit_place)p;
            places++;
            negative = negative || r->actual[p] < 0;
        }
    if (k == MARK_OTHER)
        return "serial marked out of stock with an unknown entry";
    if (negative || *units > 1 || places > 1)
        return "serial held more than once: a serial is one unit in one place";
    if (*units == 0) {
        if (k == MARK_RETURNED || k == MARK_SCRAPPED)
            return "serial marked returned or scrapped is not on site";
        if (r->by[AUDIT_SHIPPED] < 0 && k != MARK_PICKED)
            return "shipped serial is not marked picked: a return of it would be refused";
        return NULL;
    }
    switch (*where) {
    case AUDIT_STOCK:
    case AUDIT_TRANSIT:
        if (r->hold == 0 && k != MARK_NONE)
            return "serial in stock is marked out of stock: it can never be picked";
        if (r->hold > 0 && k != MARK_NONE && k != MARK_RETURNED)
            return "serial on hold is marked picked or scrapped";
        return NULL;
    case AUDIT_TOTES:
    case AUDIT_CARTONS:
        return k == MARK_PICKED ? NULL : "picked serial is not marked picked";
    case AUDIT_SCRAPPED:
        return k == MARK_NONE || k == MARK_SCRAPPED
                   ? NULL
                   : "serial in a scrap location is marked picked or returned";
    default:
        return NULL;
    }
}

/* The serial checks over the rows (after the per-place sums). Returns false when one fails. */
static bool check_serials(struct audit *a)
{
    bool ok = true;
    bool *seen = a->n_marks ? calloc(a->n_marks, sizeof(*seen)) : NULL;
    if (a->n_marks && !seen)
        return false;
    if (a->n_marks)
        qsort(a->marks, a->n_marks, sizeof(*a->marks), mark_cmp);
    for (size_t i = 0; i < a->n_rows; i++) {
        struct audit_row *r = &a->rows[i];
        char item[2 * STORE_ID_MAX];
        if (!r->lot[0] || !is_serial_sku(a, r->sku))
            continue;
        snprintf(item, sizeof(item), "%s:%s", r->sku, r->lot);
        struct mark key = {.item = item}, *m = a->n_marks ? bsearch(&key, a->marks, a->n_marks,
                                                                    sizeof(*a->marks), mark_cmp)
                                                          : NULL;
        if (m)
            seen[m - a->marks] = true;
        int64_t units;
        enum audit_place where;
        const char *why = serial_issue(r, mark_kind(m ? m->value : NULL), &units, &where);
        if (!why)
            continue;
        struct audit_issue *is = &a->issues[a->n_issues++];
        snprintf(is->key, sizeof(is->key), "%s", item);
        snprintf(is->sku, sizeof(is->sku), "%s", r->sku);
        snprintf(is->lot, sizeof(is->lot), "%s", r->lot);
        is->holder = AUDIT_SERIAL;
        is->place = where;
        is->expected = r->expected_site + r->expected[AUDIT_SCRAPPED];
        is->actual = units;
        is->hold = r->hold;
        is->why = why;
        is->mark = m ? m->value : "";
        r->balanced = false;
        ok = false;
    }
    for (size_t i = 0; i < a->n_marks; i++) {
        char sku[STORE_ID_MAX], lot[STORE_ID_MAX];
        if (seen[i] || !split_item(a->marks[i].item, sku, lot))
            continue;
        struct audit_issue *is = &a->issues[a->n_issues++];
        snprintf(is->key, sizeof(is->key), "%s", a->marks[i].item);
        snprintf(is->sku, sizeof(is->sku), "%s", sku);
        snprintf(is->lot, sizeof(is->lot), "%s", lot);
        is->holder = AUDIT_SERIAL;
        is->place = AUDIT_STOCK;
        is->why = is_serial_sku(a, sku) ? "marked serial the journal never moved"
                                        : "marked serial of a product not serial-tracked";
        is->mark = a->marks[i].value;
        ok = false;
    }
    free(seen);
    return ok;
}

const char *const *audit_journal_holders(struct audit *a, enum audit_holder kind, size_t *n_out)
{
    size_t n = 0;
    free_keys(a);
    *n_out = 0;
    if (!(a->keys = calloc(a->n ? a->n : 1, sizeof(*a->keys))))
        return NULL;
    for (size_t i = 0; i < a->n; i++) {
        const struct ah *h = &a->h[i];
        if (!h->in_journal || h->holder != kind)
            continue;
        if (!(a->keys[n] = strndup(h->key, key_len(h)))) {
            free_keys(a);
            return NULL;
        }
        a->n_keys = ++n;
    }
    /* A tote or shipment holds several products and lots: each id once, sorted. */
    qsort(a->keys, n, sizeof(*a->keys), str_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u > 0 && strcmp(a->keys[u - 1], a->keys[i]) == 0)
            free(a->keys[i]);
        else
            a->keys[u++] = a->keys[i];
    }
    a->n_keys = u;
    *n_out = u;
    return (const char *const *)a->keys;
}

static int row_cmp(const void *x, const void *y)
{
    const struct audit_row *a = x, *b = y;
    int c = strcmp(a->sku, b->sku);
    return c ? c : strcmp(a->lot, b->lot);
}

/* Why a holder's numbers are wrong, or NULL. */
static const char *holder_issue(const struct ah *h, int64_t expected)
{
    if (expected != h->actual)
        return h->holder == AUDIT_QUANT ? "on_hand differs from the journal"
                                        : "contents differ from the journal";
    if (h->actual < 0 || h->reserved < 0 || h->hold < 0 || h->missing < 0)
        return "negative quantity";
    if (h->reserved > h->actual)
        return "reserved exceeds on_hand";
    if (h->hold > h->actual)
        return "hold exceeds on_hand";
    if (h->missing > h->actual)
        return "missing exceeds on_hand";
    return NULL;
}

bool audit_report(struct audit *a, const struct audit_row **rows, size_t *n_rows,
                  const struct audit_issue **issues, size_t *n_issues, uint64_t *unreadable)
{
    bool ok = a->unreadable == 0;
    free_report(a);
    *unreadable = a->unreadable;
    a->rows = calloc(a->n ? a->n : 1, sizeof(*a->rows));
    /* A holder's issue, a serial row's and an unmatched serial mark's. */
    a->issues = calloc(2 * a->n + a->n_marks + 1, sizeof(*a->issues));
    if (!a->rows || !a->issues) {
        *n_rows = *n_issues = 0;
        return false;
    }
    /* Rows: sort the holders' (sku, lot) pairs through the rows array itself. */
    for (size_t i = 0; i < a->n; i++) {
        struct audit_row *r = &a->rows[i];
        snprintf(r->sku, sizeof(r->sku), "%s", a->h[i].sku);
        snprintf(r->lot, sizeof(r->lot), "%s", a->h[i].lot);
    }
    qsort(a->rows, a->n, sizeof(*a->rows), row_cmp);
    for (size_t i = 0; i < a->n; i++)
        if (a->n_rows == 0 || row_cmp(&a->rows[a->n_rows - 1], &a->rows[i]) != 0)
            a->rows[a->n_rows++] = a->rows[i];
    for (size_t i = 0; i < a->n; i++) {
        const struct ah *h = &a->h[i];
        struct audit_row key = {0}, *r;
        int64_t expected = 0;
        snprintf(key.sku, sizeof(key.sku), "%s", h->sku);
        snprintf(key.lot, sizeof(key.lot), "%s", h->lot);
        r = bsearch(&key, a->rows, a->n_rows, sizeof(*a->rows), row_cmp);
        for (int c = 0; c < AUDIT_CLASSES; c++) {
            expected += h->by[c];
            r->by[c] += h->by[c];
        }
        r->expected[h->place] += expected;
        r->actual[h->place] += h->actual;
        if (h->holder == AUDIT_QUANT) {
            r->reserved += h->reserved;
            r->hold += h->hold;
            r->missing += h->missing;
        }
        const char *why = holder_issue(h, expected);
        if (why) {
            struct audit_issue *is = &a->issues[a->n_issues++];
            snprintf(is->key, sizeof(is->key), "%.*s", (int)key_len(h), h->key);
            snprintf(is->sku, sizeof(is->sku), "%s", h->sku);
            snprintf(is->lot, sizeof(is->lot), "%s", h->lot);
            is->holder = h->holder;
            is->place = h->place;
            is->expected = expected;
            is->actual = h->actual;
            is->reserved = h->reserved;
            is->hold = h->hold;
            is->missing = h->missing;
            is->why = why;
            ok = false;
        }
    }
    for (size_t k = 0; k < a->n_rows; k++) {
        struct audit_row *r = &a->rows[k];
        r->balanced = r->by[AUDIT_MOVES] == 0;
        for (int p = 0; p < AUDIT_PLACES; p++) {
            r->balanced = r->balanced && r->expected[p] == r->actual[p];
            if (p != AUDIT_SCRAPPED) {
                r->expected_site += r->expected[p];
                r->actual_site += r->actual[p];
            }
        }
        ok = ok && r->balanced;
    }
    ok = check_serials(a) && ok;
    *rows = a->rows;
    *n_rows = a->n_rows;
    *issues = a->issues;
    *n_issues = a->n_issues;
    return ok;
}
