/* Raw structs (as libcyaml filled them) -> struct cfg_site, with every semantic check: value
 * ranges, formats, duplicates, location range expansion and implied parents, then the
 * cross-references between sections once all files are in (build_finish). Positions come from
 * the node tree kept beside each item (struct org). */
#include "loader.h"

#include "base/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    ONCE_SITE,
    ONCE_WAVES,
    ONCE_CONVEYOR,
    ONCE_ADJUST,
    ONCE_REDIS,
    ONCE_MQTT,
    ONCE_LABELS,
    ONCE_RECEIVING,
    ONCE_COUNTING,
    ONCE_COUNT /* loader.h sizes its once_node/once_file arrays above this */
};
_Static_assert(ONCE_COUNT <= 16, "loader.h: once_node[] and once_file[] hold 16 sections");

#define GROW(L, arr, n, cap, orgs, org)                                                            \
    grow((L), (void **)&(arr), &(n), &(cap), sizeof(*(arr)), &(orgs), (org))

static const char *fmt_path(struct loader *L, const char *a, size_t i)
{
    char buf[340];
    snprintf(buf, sizeof(buf), "%s[%zu]", a, i);
    const char *s = arena_strdup(L->mem, buf);
    if (!s)
        L->oom = 1;
    return s ? s : "";
}

/* The origin of item i of the sequence under key in node parent. */
static struct org item_org(struct loader *L, const struct ynode *parent, const char *file,
                           const char *parent_path, const char *key, size_t i)
{
    struct org o = {NULL, file, ""};
    const struct ynode *seq = ymap_get(parent, key);
    char p[300];
    if (seq && seq->kind == Y_SEQ && i < seq->n)
        o.node = seq->items[i];
    snprintf(p, sizeof(p), "%s%s%s", parent_path, *parent_path ? "." : "", key);
    o.path = fmt_path(L, p, i);
    return o;
}

static const char *dup_str(struct loader *L, const char *s)
{
    const char *d = arena_strdup(L->mem, s);
    if (s && !d)
        L->oom = 1;
    return d;
}

static void where(const struct org *o, const char *rel, char *buf, size_t n)
{
    const struct ynode *node = o->node;
    if (node && *rel) {
        const struct ynode *k = ymap_get(node, rel);
        if (k)
            node = k;
    }
    snprintf(buf, n, "%s:%u:%u", o->file, node ? node->line : 1, node ? node->col : 1);
}

static struct cfg_origin origin_of(const struct org *o)
{
    struct cfg_origin c = {o->file, o->node ? o->node->line : 1, o->node ? o->node->col : 1};
    return c;
}

/* Registers an id in a map; reports a duplicate with the first place. Returns false on dup. */
/* Adds an entity of a list, named id (its key field; what names it in errors): refuses an
 * invalid or duplicate name (an error at o), else appends a zeroed element to the site array
 * (grow) and maps the name's arena copy (*name, which outlives the raw structs) to its index.
 * Returns the index; -1 when the name is refused (skip the item); -2 out of memory (stop). */
static int add_named(struct loader *L, struct strmap *m, struct orgs *orgs, const struct org *o,
                     const char *field, const char *id, const char *what, void **arr, uint32_t *n,
                     size_t *cap, size_t elem, const char **name)
{
    uint32_t first;
    const char *why;
    int i;
    if (cfg_id_check(id, &why) < 0) {
        lerr(L, o, field, "invalid %s '%s': %s", what, id, why);
        return -1;
    }
    if (strmap_get(m, id, &first)) {
        char at[600];
        where(&orgs->v[first], field, at, sizeof(at));
        lerr(L, o, field, "duplicate %s '%s' (first defined at %s)", what, id, at);
        return -1;
    }
    if ((i = grow(L, arr, n, cap, elem, orgs, o)) < 0)
        return -2;
    if (!(*name = dup_str(L, id)) || strmap_put(m, *name, (uint32_t)i) < 0) {
        L->oom = 1;
        return -2;
    }
    return i;
}

/* add_named on the site array arr (n elements, cap) and its orgs. */
#define ADD_NAMED(L, m, orgs, o, field, id, what, arr, n, cap, name)                               \
    add_named((L), (m), &(orgs), (o), (field), (id), (what), (void **)&(arr), &(n), &(cap),        \
              sizeof(*(arr)), (name))

static bool once(struct loader *L, int slot, size_t fi, const char *key)
{
    const struct ynode *n = ymap_get(L->files[fi].tree.root, key);
    if (L->once_node[slot]) {
        errs_add(L->errs, L->files[fi].path, n->line, n->col, key,
                 "'%s' is already set at %s:%u:%u; this section may appear in one file only", key,
                 L->once_file[slot], L->once_node[slot]->line, L->once_node[slot]->col);
        return false;
    }
    L->once_node[slot] = n;
    L->once_file[slot] = L->files[fi].path;
    return true;
}

static bool u32_range(struct loader *L, const struct org *o, const char *rel, uint64_t v,
                      uint64_t min, uint64_t max)
{
    if (v < min || v > max) {
        lerr(L, o, rel, "%llu is out of range; expected %llu..%llu", (unsigned long long)v,
             (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    return true;
}

/* ---- site ---- */

static void build_site(struct loader *L, size_t fi, const struct raw_site *r)
{
    struct org o = {ymap_get(L->files[fi].tree.root, "site"), L->files[fi].path, "site"};
    const char *why;
    struct cfg_site *s = L->site;
    if (!once(L, ONCE_SITE, fi, "site"))
        return;
    if (cfg_id_check(r->id, &why) < 0)
        lerr(L, &o, "id", "invalid site id '%s': %s", r->id, why);
    s->id = dup_str(L, r->id);
    s->name = dup_str(L, r->name);
    s->timezone = dup_str(L, r->timezone);
    {
        /* IANA names like Europe/Berlin or UTC; check the zone exists where tzdata is. */
        bool ok = r->timezone[0] != '/' && !strstr(r->timezone, "..");
        struct stat st;
        for (const char *c = r->timezone; *c && ok; c++)
            ok = isalnum((unsigned char)*c) || strchr("/_+-", *c);
        if (ok && stat("/usr/share/zoneinfo", &st) == 0) {
            char p[600];
            snprintf(p, sizeof(p), "/usr/share/zoneinfo/%s", r->timezone);
            ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
        }
        if (!ok)
            lerr(L, &o, "timezone",
                 "unknown time zone '%s'; expected an IANA name such as Europe/Berlin or UTC",
                 r->timezone);
    }
}

/* ---- locations ---- */

static int new_location(struct loader *L, const char *path, uint32_t wh, int32_t parent,
                        const struct org *o)
{
    struct cfg_site *s = L->site;
    int i = GROW(L, s->locations, s->n_locations, L->cap_loc, L->o_loc, o);
    if (i < 0)
        return -1;
    s->locations[i].path = path;
    s->locations[i].warehouse = wh;
    s->locations[i].parent = parent;
    s->locations[i].type = CFG_LOC_VIEW;
    s->locations[i].implied = true;
    s->locations[i].origin = origin_of(o);
    if (strmap_put(&L->m_loc, path, (uint32_t)i) < 0) {
        L->oom = 1;
        return -1;
    }
    return i;
}

/* Index of the location at path, creating it and its missing parents as implied views. */
static int ensure_location(struct loader *L, const char *path, uint32_t wh, const struct org *o)
{
    uint32_t idx;
    const char *slash;
    int32_t parent = -1;
    const char *p;
    if (strmap_get(&L->m_loc, path, &idx))
        return (int)idx;
    slash = strrchr(path, '/');
    if (slash) {
        char *pp = arena_strndup(L->mem, path, (size_t)(slash - path));
        if (!pp) {
            L->oom = 1;
            return -1;
        }
        parent = ensure_location(L, pp, wh, o);
        if (parent < 0)
            return -1;
    }
    p = dup_str(L, path);
    return p ? new_location(L, p, wh, parent, o) : -1;
}

static void build_locations(struct loader *L, uint32_t wh, const struct org *who,
                            const struct raw_warehouse *rw)
{
    struct cfg_site *s = L->site;
    const char *code = rw->code;
    size_t code_len = strlen(code);
    for (uint32_t j = 0; j < rw->locations_count; j++) {
        const struct raw_location *r = &rw->locations[j];
        struct org o = item_org(L, who->node, who->file, who->path, "locations", j);
        struct cfg_range range;
        const char *why;
        char buf[300];
        uint64_t dups = 0;
        char first_dup[300] = "", first_at[600] = "";
        if (cfg_range_parse(r->path, &range, &why) < 0) {
            lerr(L, &o, "path", "invalid path '%s': %s", r->path, why);
            continue;
        }
        if (range.n_groups == 0 && r->pick_seq_start) {
            lerr(L, &o, "pick_seq_start", "pick_seq_start is for a range path; use pick_seq");
            continue;
        }
        if (range.n_groups > 0 && r->pick_seq) {
            lerr(L, &o, "pick_seq", "a range path expands to many locations; use pick_seq_start");
            continue;
        }
        if (r->pick_seq_start && (uint64_t)*r->pick_seq_start + range.count - 1 > UINT32_MAX) {
            lerr(L, &o, "pick_seq_start", "pick_seq_start + %llu locations exceeds 4294967295",
                 (unsigned long long)range.count);
            continue;
        }
        if (r->capacity && r->capacity->units == NULL && r->capacity->weight_g == NULL &&
            r->capacity->volume_cm3 == NULL)
            lerr(L, &o, "capacity", "an empty capacity; give units, weight_g or volume_cm3");
        if (r->capacity) {
            /* 0 would read as "holds nothing" to some and "no limit" to others: neither. */
            static const char *const keys[3] = {"capacity.units", "capacity.weight_g",
                                                "capacity.volume_cm3"};
            bool zero[3] = {r->capacity->units && *r->capacity->units == 0,
                            r->capacity->weight_g && *r->capacity->weight_g == 0,
                            r->capacity->volume_cm3 && *r->capacity->volume_cm3 == 0};
            for (int c = 0; c < 3; c++)
                if (zero[c])
                    lerr(L, &o, keys[c],
                         "a capacity of 0 would hold nothing; give at least 1, or leave the key "
                         "out for no limit");
        }
        /* The aisle: as written, or the path segment aisle_from names (0 = none). A bad one is
         * reported and left out; the locations are still declared. */
        const char *aisle = NULL;
        uint32_t aisle_seg = 0;
        if (r->aisle && r->aisle_from) {
            lerr(L, &o, "aisle_from", "give aisle or aisle_from, not both");
        } else if (r->aisle) {
            if (cfg_id_check(r->aisle, &why) < 0)
                lerr(L, &o, "aisle", "invalid aisle '%s': %s", r->aisle, why);
            else
                aisle = r->aisle;
        } else if (r->aisle_from) {
            /* Range groups hold no '/', so the pattern has the segments of every path. */
            uint32_t segs = 1;
            for (const char *c = r->path; *c; c++)
                segs += *c == '/';
            if (*r->aisle_from == 0 || *r->aisle_from >= segs)
                lerr(L, &o, "aisle_from",
                     "aisle_from %u is not a segment of '%s' after the warehouse code; segments "
                     "count from 0 (the warehouse code), so 1..%u here",
                     *r->aisle_from, r->path, segs - 1);
            else
                aisle_seg = *r->aisle_from;
        }
        for (uint64_t k = 0; k < range.count; k++) {
            uint32_t idx;
            int i;
            struct cfg_location *loc;
            if (cfg_range_expand(&range, k, buf, sizeof(buf)) < 0) {
                lerr(L, &o, "path", "path '%s' expands to more than 255 bytes", r->path);
                break;
            }
            if (cfg_path_check(buf, &why) < 0) {
                lerr(L, &o, "path", "invalid path '%s': %s", buf, why);
                break;
            }
            if (strncmp(buf, code, code_len) != 0 || (buf[code_len] != '/' && buf[code_len])) {
                size_t seg = strcspn(buf, "/");
                lerr(L, &o, "path",
                     "unknown parent '%.*s' of '%s': a location path starts with its "
                     "warehouse code '%s'",
                     (int)seg, buf, buf, code);
                break;
            }
            if (strmap_get(&L->m_loc, buf, &idx) && !s->locations[idx].implied) {
                if (dups++ == 0) {
                    snprintf(first_dup, sizeof(first_dup), "%s", buf);
                    where(&L->o_loc.v[idx], "path", first_at, sizeof(first_at));
                }
                continue;
            }
            i = ensure_location(L, buf, wh, &o);
            if (i < 0)
                return;
            loc = &s->locations[i];
            loc->implied = false;
            loc->type = (enum cfg_loc_type)r->type;
            L->o_loc.v[i] = o;
            loc->origin = origin_of(&o);
            if (r->pick_seq) {
                loc->has_pick_seq = true;
                loc->pick_seq = *r->pick_seq;
            } else if (r->pick_seq_start) {
                loc->has_pick_seq = true;
                loc->pick_seq = *r->pick_seq_start + (uint32_t)k;
            }
            loc->zone = dup_str(L, r->zone);
            if (aisle) {
                loc->aisle = dup_str(L, aisle);
            } else if (aisle_seg) {
                const char *seg = buf;
                for (uint32_t k2 = 0; k2 < aisle_seg; k2++)
                    seg = strchr(seg, '/') + 1;
                loc->aisle = arena_strndup(L->mem, seg, strcspn(seg, "/"));
                if (!loc->aisle)
                    L->oom = 1;
            }
            loc->pick_face = r->pick_face && *r->pick_face;
            if (r->capacity) {
                loc->has_cap_units = r->capacity->units != NULL;
                loc->has_cap_weight = r->capacity->weight_g != NULL;
                loc->has_cap_volume = r->capacity->volume_cm3 != NULL;
                loc->cap_units = loc->has_cap_units ? *r->capacity->units : 0;
                loc->cap_weight_g = loc->has_cap_weight ? *r->capacity->weight_g : 0;
                loc->cap_volume_cm3 = loc->has_cap_volume ? *r->capacity->volume_cm3 : 0;
            }
            s->warehouses[wh].n_declared++;
        }
        if (dups == 1)
            lerr(L, &o, "path", "duplicate location '%s' (first defined at %s)", first_dup,
                 first_at);
        else if (dups > 1)
            lerr(L, &o, "path",
                 "duplicate location '%s' (first defined at %s) and %llu more duplicates "
                 "from this entry",
                 first_dup, first_at, (unsigned long long)(dups - 1));
    }
}

static void build_warehouses(struct loader *L, size_t fi, const struct raw_file *r)
{
    struct cfg_site *s = L->site;
    const struct ynode *root = L->files[fi].tree.root;
    for (uint32_t i = 0; i < r->warehouses_count; i++) {
        const struct raw_warehouse *rw = &r->warehouses[i];
        struct org o = item_org(L, root, L->files[fi].path, "", "warehouses", i);
        struct cfg_warehouse *w;
        const char *why, *name;
        int wi, root_loc;
        if (cfg_path_check(rw->code, &why) < 0 || strchr(rw->code, '/')) {
            lerr(L, &o, "code",
                 "invalid warehouse code '%s': one path segment of letters, "
                 "digits, '_', '-' or '.'",
                 rw->code);
            continue;
        }
        wi = ADD_NAMED(L, &L->m_wh, L->o_wh, &o, "code", rw->code, "warehouse code", s->warehouses,
                       s->n_warehouses, L->cap_wh, &name);
        if (wi == -1)
            continue;
        if (wi < 0)
            return;
        w = &s->warehouses[wi];
        w->code = name;
        w->name = dup_str(L, rw->name);
        w->origin = origin_of(&o);
        w->receipt_steps = rw->receipt_steps ? *rw->receipt_steps : 1;
        w->delivery_steps = rw->delivery_steps ? *rw->delivery_steps : 1;
        u32_range(L, &o, "receipt_steps", w->receipt_steps, 1, 3);
        u32_range(L, &o, "delivery_steps", w->delivery_steps, 1, 3);
        if (!w->code)
            return;
        root_loc = ensure_location(L, w->code, (uint32_t)wi, &o);
        if (root_loc < 0)
            return;
        w->root = (uint32_t)root_loc;
        build_locations(L, (uint32_t)wi, &o, rw);
    }
}

/* ---- products (shared by YAML and CSV) ---- */

/* Reports a product field problem: YAML through the node tree, CSV by line and column. */
struct perr {
    struct loader *L;
    const struct org *o; /* YAML */
    const char *file;    /* CSV */
    uint32_t line;
    const uint32_t *cols; /* CSV: column per field (see prod_cols) */
    size_t row;
};

enum {
    PF_SKU,
    PF_NAME,
    PF_GTINS,
    PF_UNIT,
    PF_WEIGHT,
    PF_L,
    PF_W,
    PF_H,
    PF_TRACKING,
    PF_EXPIRY,
    PF_MARGIN,
    PF_CATEGORY,
    PF_ABC,
    PF_QC,
    PF_PACKAGE,
    PF_COUNT
};
static const char *const pf_names[PF_COUNT] = {"sku",
                                               "name",
                                               "gtins",
                                               "unit",
                                               "weight_g",
                                               "length_mm",
                                               "width_mm",
                                               "height_mm",
                                               "tracking",
                                               "expiry",
                                               "expiry_margin_days",
                                               "category",
                                               "abc",
                                               "quality_control",
                                               "package_type"};
static const char *const pf_yaml[PF_COUNT] = {"sku",
                                              "name",
                                              "gtins",
                                              "unit",
                                              "weight_g",
                                              "dims_mm.l",
                                              "dims_mm.w",
                                              "dims_mm.h",
                                              "tracking",
                                              "expiry",
                                              "expiry_margin_days",
                                              "category",
                                              "abc",
                                              "quality_control",
                                              "package_type"};

static void perr_at(const struct perr *p, int field, int item, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void perr_at(const struct perr *p, int field, int item, const char *fmt, ...)
{
    char msg[900], rel[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->o) {
        if (item >= 0)
            snprintf(rel, sizeof(rel), "%s[%d]", pf_yaml[field], item);
        else
            snprintf(rel, sizeof(rel), "%s", pf_yaml[field]);
        lerr(p->L, p->o, rel, "%s", msg);
    } else {
        char path[96];
        snprintf(path, sizeof(path), "products[%zu].%s", p->row, pf_names[field]);
        errs_add(p->L->errs, p->file, p->line, p->cols[field], path, "%s", msg);
    }
}

/* Registers product i (already filled) in the SKU and GTIN maps. The product's own origins
 * (prod_where) give "first defined at" places. */
static void product_index(struct loader *L, const struct perr *pe, uint32_t i)
{
    struct cfg_product *p = &L->site->products[i];
    uint32_t first;
    const char *why;
    char at[600];
    if (cfg_id_check(p->sku, &why) < 0)
        perr_at(pe, PF_SKU, -1, "invalid SKU '%s': %s", p->sku, why);
    else if (strmap_get(&L->m_sku, p->sku, &first)) {
        snprintf(at, sizeof(at), "%s:%u:%u", L->site->products[first].origin.file,
                 L->site->products[first].origin.line, L->site->products[first].origin.col);
        perr_at(pe, PF_SKU, -1, "duplicate SKU '%s' (first defined at %s)", p->sku, at);
    } else if (strmap_put(&L->m_sku, p->sku, i) < 0) {
        L->oom = 1;
    }
    for (uint32_t g = 0; g < p->n_gtins; g++) {
        char norm[15], *key;
        int rc = cfg_gtin_check(p->gtins[g], norm, &why);
        if (rc < 0) {
            perr_at(pe, PF_GTINS, (int)g, "invalid GTIN '%s': %s", p->gtins[g], why);
            continue;
        }
        if (strmap_get(&L->m_gtin, norm, &first)) {
            const struct cfg_product *q = &L->site->products[first];
            if (first == i)
                perr_at(pe, PF_GTINS, (int)g, "GTIN '%s' is listed twice for SKU '%s'", p->gtins[g],
                        p->sku);
            else
                perr_at(pe, PF_GTINS, (int)g,
                        "duplicate GTIN '%s': already used by SKU '%s' (defined at %s:%u:%u)",
                        p->gtins[g], q->sku, q->origin.file, q->origin.line, q->origin.col);
            continue;
        }
        key = arena_strdup(L->mem, norm);
        if (!key || strmap_put(&L->m_gtin, key, i) < 0)
            L->oom = 1;
    }
    if (p->expiry && p->tracking == CFG_TRACK_NONE)
        perr_at(pe, PF_EXPIRY, -1,
                "expiry dates are kept per lot or serial; set tracking to "
                "lot or serial");
    if (!p->expiry && p->expiry_margin_days)
        perr_at(pe, PF_MARGIN, -1, "expiry_margin_days needs expiry: true");
    if (p->expiry_margin_days > 3650)
        perr_at(pe, PF_MARGIN, -1, "%u is out of range; expected 0..3650", p->expiry_margin_days);
}

/* Builds one product from its raw struct (inline YAML, or a JSONL line through the same schema
 * tables) at origin o, whose node locates every field. Returns its index, or -1 when out of
 * memory. */
static int product_from_raw(struct loader *L, const struct raw_product *rp, const struct org *o)
{
    struct cfg_site *s = L->site;
    struct perr pe = {.L = L, .o = o};
    struct cfg_product *p;
    int pi = GROW(L, s->products, s->n_products, L->cap_prod, L->o_prod, o);
    if (pi < 0)
        return -1;
    p = &s->products[pi];
    p->sku = dup_str(L, rp->sku);
    p->name = dup_str(L, rp->name);
    p->unit = dup_str(L, rp->unit ? rp->unit : "Units");
    p->n_gtins = rp->gtins_count;
    p->gtins = arena_alloc(L->mem, (rp->gtins_count + 1) * sizeof(*p->gtins));
    if (!p->gtins) {
        L->oom = 1;
        return -1;
    }
    for (uint32_t g = 0; g < rp->gtins_count; g++)
        p->gtins[g] = dup_str(L, rp->gtins[g]);
    p->weight_g = rp->weight_g ? *rp->weight_g : 0;
    if (rp->dims_mm) {
        p->dims_mm[0] = rp->dims_mm->l;
        p->dims_mm[1] = rp->dims_mm->w;
        p->dims_mm[2] = rp->dims_mm->h;
    }
    p->tracking = rp->tracking ? (enum cfg_tracking) * rp->tracking : CFG_TRACK_NONE;
    p->expiry = rp->expiry && *rp->expiry;
    p->expiry_margin_days = rp->expiry_margin_days ? *rp->expiry_margin_days : 0;
    p->category = -1; /* resolved in build_finish */
    p->abc = rp->abc ? (enum cfg_abc) * rp->abc : CFG_ABC_NONE;
    p->quality_control = rp->quality_control && *rp->quality_control;
    p->package_type = dup_str(L, rp->package_type);
    p->origin = origin_of(o);
    if (p->sku)
        product_index(L, &pe, (uint32_t)pi);
    return L->oom ? -1 : pi;
}

static void build_products(struct loader *L, size_t fi, const struct raw_file *r)
{
    const struct ynode *root = L->files[fi].tree.root;
    for (uint32_t i = 0; i < r->products_count; i++) {
        struct org o = item_org(L, root, L->files[fi].path, "", "products", i);
        if (product_from_raw(L, &r->products[i], &o) < 0)
            return;
    }
}

/* ---- products CSV ---- */

static int parse_csv_uint(const struct perr *pe, int field, const char *s, uint32_t max,
                          uint32_t *out)
{
    uint64_t v;
    const char *why;
    if (!*s) {
        *out = 0;
        return 0;
    }
    int rc = cfg_parse_uint(s, max, &v, &why);
    if (rc == WCS_E_RANGE && strcmp(why, "out of range") == 0) {
        perr_at(pe, field, -1, "'%s' is out of range; expected an integer 0..%u", s, max);
        return -1;
    }
    if (rc < 0) {
        perr_at(pe, field, -1, "invalid integer '%s': %s; expected an integer 0..%u", s, why, max);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int parse_csv_enum(const struct perr *pe, int field, const char *s, const char *const *names,
                          int n, int *out)
{
    char allowed[100];
    size_t o = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    allowed[0] = '\0';
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s", i ? ", " : "", names[i]);
    perr_at(pe, field, -1, "invalid value '%s'; allowed: %s", s, allowed);
    return -1;
}

static void csv_row(struct loader *L, const char *file, uint32_t line, size_t row,
                    const struct cfg_csv_field *f)
{
    static const char *const trk[] = {"none", "lot", "serial"};
    static const char *const bools[] = {"false", "true"};
    static const char *const abc[] = {"A", "B", "C"};
    struct cfg_site *s = L->site;
    uint32_t cols[PF_COUNT];
    struct org o = {NULL, file, ""};
    struct perr pe = {.L = L, .file = file, .line = line, .cols = cols, .row = row};
    struct cfg_product p;
    int v, pi;
    size_t before = L->errs->count + L->errs->dropped;
    memset(&p, 0, sizeof(p));
    for (int i = 0; i < PF_COUNT; i++)
        cols[i] = f[i].col;
    if (!*f[PF_SKU].text)
        perr_at(&pe, PF_SKU, -1, "missing SKU");
    if (!*f[PF_NAME].text)
        perr_at(&pe, PF_NAME, -1, "missing name");
    parse_csv_uint(&pe, PF_WEIGHT, f[PF_WEIGHT].text, UINT32_MAX, &p.weight_g);
    parse_csv_uint(&pe, PF_L, f[PF_L].text, UINT32_MAX, &p.dims_mm[0]);
    parse_csv_uint(&pe, PF_W, f[PF_W].text, UINT32_MAX, &p.dims_mm[1]);
    parse_csv_uint(&pe, PF_H, f[PF_H].text, UINT32_MAX, &p.dims_mm[2]);
    parse_csv_uint(&pe, PF_MARGIN, f[PF_MARGIN].text, UINT32_MAX, &p.expiry_margin_days);
    if (*f[PF_TRACKING].text &&
        parse_csv_enum(&pe, PF_TRACKING, f[PF_TRACKING].text, trk, 3, &v) == 0)
        p.tracking = (enum cfg_tracking)v;
    if (*f[PF_EXPIRY].text && parse_csv_enum(&pe, PF_EXPIRY, f[PF_EXPIRY].text, bools, 2, &v) == 0)
        p.expiry = v;
    if (*f[PF_QC].text && parse_csv_enum(&pe, PF_QC, f[PF_QC].text, bools, 2, &v) == 0)
        p.quality_control = v;
    if (*f[PF_ABC].text && parse_csv_enum(&pe, PF_ABC, f[PF_ABC].text, abc, 3, &v) == 0)
        p.abc = (enum cfg_abc)(v + 1);
    p.category = -1;
    if (*f[PF_CATEGORY].text) {
        uint32_t c;
        if (strmap_get(&L->m_cat, f[PF_CATEGORY].text, &c))
            p.category = (int32_t)c;
        else
            perr_at(&pe, PF_CATEGORY, -1, "unknown category '%s'; declare it under categories",
                    f[PF_CATEGORY].text);
    }
    if (L->errs->count + L->errs->dropped > before)
        return;
    p.sku = dup_str(L, f[PF_SKU].text);
    p.name = dup_str(L, f[PF_NAME].text);
    p.unit = dup_str(L, *f[PF_UNIT].text ? f[PF_UNIT].text : "Units");
    p.package_type = *f[PF_PACKAGE].text ? dup_str(L, f[PF_PACKAGE].text) : NULL;
    /* gtins: ';'-separated in one field. */
    {
        const char *g = f[PF_GTINS].text;
        uint32_t n = *g ? 1 : 0;
        for (const char *c = g; *c; c++)
            n += *c == ';';
        p.gtins = arena_alloc(L->mem, (n + 1) * sizeof(*p.gtins));
        if (!p.gtins) {
            L->oom = 1;
            return;
        }
        for (uint32_t k = 0; k < n; k++) {
            size_t len = strcspn(g, ";");
            p.gtins[k] = arena_strndup(L->mem, g, len);
            g += len + (g[len] == ';');
        }
        p.n_gtins = n;
    }
    p.origin.file = file;
    p.origin.line = line;
    p.origin.col = 1;
    pi = GROW(L, s->products, s->n_products, L->cap_prod, L->o_prod, &o);
    if (pi < 0)
        return;
    s->products[pi] = p;
    product_index(L, &pe, (uint32_t)pi);
}

/* Reads the rows of a products CSV (text, NUL-terminated) named path in errors. */
static int products_csv(struct loader *L, const char *path, const char *text, size_t len)
{
    const char *p, *end;
    char *scratch;
    struct cfg_csv_field f[PF_COUNT + 1];
    size_t row = 0;
    uint32_t line = 0;
    if (len == 0) {
        errs_add(L->errs, path, 1, 1, "products",
                 "the products file is empty; the first "
                 "line is the header");
        return 0;
    }
    scratch = malloc(len + 1);
    if (!scratch)
        return -ENOMEM;
    for (p = text; p < text + len; p = end + 1) {
        size_t n = 0, ll;
        uint32_t ecol = 1;
        const char *why;
        int rc;
        end = memchr(p, '\n', (size_t)(text + len - p));
        if (!end)
            end = text + len;
        ll = (size_t)(end - p);
        line++;
        if (ll == 0 || (ll == 1 && p[0] == '\r'))
            continue;
        if (memchr(p, '\0', ll)) {
            errs_add(L->errs, path, line, 1, "products", "NUL byte in the line");
            continue;
        }
        rc = cfg_csv_split(p, ll, scratch, f, PF_COUNT + 1, &n, &ecol, &why);
        if (rc == WCS_E_SYNTAX) {
            char rp[40];
            snprintf(rp, sizeof(rp), "products[%zu]", row);
            errs_add(L->errs, path, line, ecol, line == 1 ? "products" : rp, "%s", why);
            if (line == 1)
                break;
            row++;
            continue;
        }
        if (line == 1) {
            char want[400];
            size_t o2 = 0;
            bool ok = rc == 0 && n == PF_COUNT;
            for (int i = 0; ok && i < PF_COUNT; i++)
                ok = strcmp(f[i].text, pf_names[i]) == 0;
            if (!ok) {
                for (int i = 0; i < PF_COUNT; i++)
                    o2 += (size_t)snprintf(want + o2, sizeof(want) - o2, "%s%s", i ? "," : "",
                                           pf_names[i]);
                errs_add(L->errs, path, 1, 1, "products", "unexpected header; expected: %s", want);
                break;
            }
            continue;
        }
        if (rc < 0 || n != PF_COUNT) {
            char rp[40];
            snprintf(rp, sizeof(rp), "products[%zu]", row);
            errs_add(L->errs, path, line, 1, rp, "%s%zu fields; a row has %d (see the header)",
                     rc < 0 ? "more than " : "", rc < 0 ? (size_t)PF_COUNT : n, PF_COUNT);
            row++;
            continue;
        }
        csv_row(L, path, line, row++, f);
        if (L->oom)
            break;
    }
    free(scratch);
    return 0;
}

static bool is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

/* Reads a JSON Lines products file: one object per non-blank line, each turned into the node
 * tree of an inline product (jsonl.c), checked by the same schema walk and built by the same
 * code. products[N] counts the non-blank lines from 0. A line's tree lives only while the line
 * is read, so its category is resolved here (all categories are known by now) and its origin
 * keeps no node. */
static int products_jsonl(struct loader *L, const char *path, const char *text, size_t len)
{
    const char *p, *end;
    size_t row = 0;
    uint32_t line = 0;
    int rc = 0;
    for (p = text; p < text + len && rc == 0; p = end + 1) {
        struct arena mem = {0};
        struct jsonl_error je;
        struct ynode *item;
        struct raw_product raw;
        char rp[40];
        size_t ll;
        end = memchr(p, '\n', (size_t)(text + len - p));
        if (!end)
            end = text + len;
        ll = (size_t)(end - p);
        line++;
        if (is_blank(p, ll))
            continue;
        snprintf(rp, sizeof(rp), "products[%zu]", row++);
        rc = jsonl_parse_line(&mem, p, ll, line, &item, &je);
        if (rc == WCS_E_SYNTAX) {
            errs_add(L->errs, path, line, je.col, rp, "%s", je.msg);
            rc = 0;
        } else if (rc == 0 && schema_check_product(item, path, rp, L->errs) == 0) {
            struct org o = {item, path, dup_str(L, rp)};
            int pi;
            rc = schema_fill_product(&raw, item, &mem);
            pi = rc == 0 ? product_from_raw(L, &raw, &o) : -1;
            if (pi >= 0) {
                product_category(L, (uint32_t)pi);
                L->o_prod.v[pi].node = NULL;
            } else {
                rc = -ENOMEM;
            }
        }
        arena_free(&mem);
    }
    return rc;
}

static bool has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcmp(name + n - e, ext) == 0;
}

int load_products_file(struct loader *L, size_t fi)
{
    const char *name = L->files[fi].raw->products_file;
    struct org o = {L->files[fi].tree.root, L->files[fi].path, ""};
    const char *path;
    char *text;
    size_t len = 0;
    int err = 0, rc;
    bool jsonl = has_ext(name, ".jsonl") || has_ext(name, ".ndjson");
    if (L->from_mem) {
        lerr(L, &o, "products_file", "cannot read '%s' when the config is loaded from memory",
             name);
        return 0;
    }
    if (!jsonl && !has_ext(name, ".csv")) {
        lerr(L, &o, "products_file",
             "unsupported products file '%s'; expected a .csv, .jsonl or .ndjson file", name);
        return 0;
    }
    path = resolve_path(L, fi, name);
    if (!path)
        return -ENOMEM;
    text = read_all(path, &len, &err);
    if (!text) {
        if (err == ENOMEM)
            return -ENOMEM;
        lerr(L, &o, "products_file", "cannot read '%s': %s", path, strerror(err));
        return 0;
    }
    path = dup_str(L, path);
    if (!path) {
        free(text);
        return -ENOMEM;
    }
    rc = jsonl ? products_jsonl(L, path, text, len) : products_csv(L, path, text, len);
    free(text);
    return rc;
}

/* ---- categories, rules ---- */

static void build_categories(struct loader *L, size_t fi, const struct raw_file *r)
{
    struct cfg_site *s = L->site;
    for (uint32_t i = 0; i < r->categories_count; i++) {
        struct org o = item_org(L, L->files[fi].tree.root, L->files[fi].path, "", "categories", i);
        const char *name;
        int ci = ADD_NAMED(L, &L->m_cat, L->o_cat, &o, "name", r->categories[i].name, "category",
                           s->categories, s->n_categories, L->cap_cat, &name);
        if (ci == -1)
            continue;
        if (ci < 0)
            return;
        s->categories[ci].name = name;
        s->categories[ci].removal = (enum cfg_removal)r->categories[i].removal;
        s->categories[ci].origin = origin_of(&o);
    }
}

static void build_rules(struct loader *L, size_t fi, const struct raw_file *r)
{
    struct cfg_site *s = L->site;
    const struct ynode *root = L->files[fi].tree.root;
    for (uint32_t i = 0; i < r->putaway_rules_count; i++) {
        const struct raw_putaway *rp = &r->putaway_rules[i];
        struct org o = item_org(L, root, L->files[fi].path, "", "putaway_rules", i);
        int n = !!rp->product + !!rp->category + !!rp->package_type;
        int pi;
        if (n > 1) {
            lerr(L, &o, "",
                 "a putaway rule matches on at most one of product, category, "
                 "package_type");
            continue;
        }
        pi = GROW(L, s->putaway_rules, s->n_putaway_rules, L->cap_put, L->o_put, &o);
        if (pi < 0)
            return;
        s->putaway_rules[pi].product = -1;
        s->putaway_rules[pi].category = -1;
        s->putaway_rules[pi].package_type = dup_str(L, rp->package_type);
        s->putaway_rules[pi].priority = rp->priority;
        s->putaway_rules[pi].origin = origin_of(&o);
    }
    for (uint32_t i = 0; i < r->replenishment_count; i++) {
        const struct raw_replenishment *rr = &r->replenishment[i];
        struct org o = item_org(L, root, L->files[fi].path, "", "replenishment", i);
        int ri;
        if (rr->min > rr->max)
            lerr(L, &o, "min", "min %u is above max %u", rr->min, rr->max);
        if (rr->multiple == 0)
            lerr(L, &o, "multiple", "multiple must be at least 1");
        ri = GROW(L, s->replenishment, s->n_replenishment, L->cap_rep, L->o_rep, &o);
        if (ri < 0)
            return;
        s->replenishment[ri].min = rr->min;
        s->replenishment[ri].max = rr->max;
        s->replenishment[ri].multiple = rr->multiple;
        s->replenishment[ri].origin = origin_of(&o);
    }
    for (uint32_t i = 0; i < r->purchase_rules_count; i++) {
        const struct raw_purchase *rp = &r->purchase_rules[i];
        struct org o = item_org(L, root, L->files[fi].path, "", "purchase_rules", i);
        struct cfg_purchase_rule *pr;
        int pi;
        if (!rp->product == !rp->category) {
            lerr(L, &o, "", "a purchase rule names exactly one of product (a SKU) or category, %s",
                 rp->product ? "not both" : "found neither");
            continue;
        }
        if (rp->max < 1 || rp->max > CFG_PURCHASE_QTY_MAX)
            u32_range(L, &o, "max", rp->max, 1, CFG_PURCHASE_QTY_MAX);
        else if (rp->min > rp->max)
            lerr(L, &o, "min", "min %u is above max %u", rp->min, rp->max);
        if (rp->multiple < 1 || rp->multiple > CFG_PURCHASE_QTY_MAX)
            u32_range(L, &o, "multiple", rp->multiple, 1, CFG_PURCHASE_QTY_MAX);
        u32_range(L, &o, "lead_days", rp->lead_days, 0, CFG_PURCHASE_LEAD_MAX);
        pi = GROW(L, s->purchase_rules, s->n_purchase_rules, L->cap_pur, L->o_pur, &o);
        if (pi < 0)
            return;
        pr = &s->purchase_rules[pi];
        pr->product = -1;
        pr->category = -1;
        pr->min = rp->min;
        pr->max = rp->max;
        pr->multiple = rp->multiple;
        pr->lead_days = rp->lead_days;
        pr->supplier = dup_str(L, rp->supplier);
        pr->origin = origin_of(&o);
    }
}

/* ---- waves ---- */

static void build_waves(struct loader *L, size_t fi, const struct raw_waves *r)
{
    struct cfg_site *s = L->site;
    struct cfg_waves *w = &s->waves;
    struct org wo = {ymap_get(L->files[fi].tree.root, "waves"), L->files[fi].path, "waves"};
    if (!once(L, ONCE_WAVES, fi, "waves"))
        return;
    w->pick_pack_ship_min = r->pick_pack_ship_min ? *r->pick_pack_ship_min : 60;
    u32_range(L, &wo, "pick_pack_ship_min", w->pick_pack_ship_min, 1, 1440);
    w->max_lines = r->max_lines ? *r->max_lines : 0;
    w->max_units = r->max_units ? *r->max_units : 0;
    w->orders_per_pack_station = r->orders_per_pack_station ? *r->orders_per_pack_station : 0;
    w->split_by_zone = r->split_by_zone && *r->split_by_zone;
    w->split_by_cutoff = r->split_by_cutoff && *r->split_by_cutoff;
    w->auto_release = r->auto_release && *r->auto_release;
    if (r->cart) {
        w->cart_totes = r->cart->totes ? *r->cart->totes : 0;
        w->cart_weight_g = r->cart->weight_g ? *r->cart->weight_g : 0;
        w->cart_volume_cm3 = r->cart->volume_cm3 ? *r->cart->volume_cm3 : 0;
        if (w->cart_totes > 64)
            u32_range(L, &wo, "cart.totes", w->cart_totes, 1, 64);
    }
    w->n_priorities = r->priorities_count;
    w->priorities = arena_alloc(L->mem, (r->priorities_count + 1) * sizeof(*w->priorities));
    if (!w->priorities) {
        L->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < r->priorities_count; i++) {
        char rel[32];
        const char *why;
        snprintf(rel, sizeof(rel), "priorities[%u]", i);
        w->priorities[i] = dup_str(L, r->priorities[i]);
        if (cfg_id_check(r->priorities[i], &why) < 0)
            lerr(L, &wo, rel, "invalid priority name '%s': %s", r->priorities[i], why);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(r->priorities[j], r->priorities[i]) == 0)
                lerr(L, &wo, rel, "priority '%s' is listed twice", r->priorities[i]);
    }
    for (uint32_t i = 0; i < r->carriers_count; i++) {
        const struct raw_carrier *rc = &r->carriers[i];
        struct org o = item_org(L, wo.node, wo.file, "waves", "carriers", i);
        struct cfg_carrier *c;
        const char *name;
        int ci = ADD_NAMED(L, &L->m_car, L->o_car, &o, "code", rc->code, "carrier code",
                           w->carriers, w->n_carriers, L->cap_car, &name);
        if (ci == -1)
            continue;
        if (ci < 0)
            return;
        c = &w->carriers[ci];
        c->code = name;
        c->name = dup_str(L, rc->name);
        c->lane = -1;
        c->origin = origin_of(&o);
        c->cutoffs_min = arena_alloc(L->mem, (rc->cutoffs_count + 1) * sizeof(uint16_t));
        if (!c->cutoffs_min) {
            L->oom = 1;
            return;
        }
        for (uint32_t k = 0; k < rc->cutoffs_count; k++) {
            const char *why;
            char rel[32];
            snprintf(rel, sizeof(rel), "cutoffs[%u]", k);
            if (cfg_parse_time(rc->cutoffs[k], &c->cutoffs_min[k], &why) < 0)
                lerr(L, &o, rel, "invalid cutoff '%s': %s", rc->cutoffs[k], why);
            else if (k > 0 && c->cutoffs_min[k] <= c->cutoffs_min[k - 1])
                lerr(L, &o, rel,
                     "cutoff '%s' is not after the previous one; list cutoffs in "
                     "ascending order",
                     rc->cutoffs[k]);
        }
        c->n_cutoffs = rc->cutoffs_count;
    }
    /* Automatic release works from the carriers' cutoffs: without one it would never run. */
    if (w->auto_release && r->carriers_count == 0)
        lerr(L, &wo, "auto_release",
             "automatic wave release needs carriers with cutoffs; list waves.carriers or set "
             "auto_release: false");
}

/* ---- devices ---- */

struct model_info {
    const char *name;
    enum cfg_dev_model model;
    unsigned kinds;   /* bit per cfg_dev_kind */
    unsigned schemes; /* bit per cfg_uri_scheme */
};
#define K(k) (1u << (k))
static const struct model_info models[] = {
    {"modbus-tcp", CFG_MODEL_MODBUS_TCP, K(CFG_DEV_PLC), K(CFG_URI_TCP)},
    {"modbus-rtu", CFG_MODEL_MODBUS_RTU, K(CFG_DEV_PLC), K(CFG_URI_RTU)},
    {"osip", CFG_MODEL_OSIP, K(CFG_DEV_PLC), K(CFG_URI_TCP)},
    {"line", CFG_MODEL_LINE, K(CFG_DEV_SCANNER), K(CFG_URI_TCP) | K(CFG_URI_SERIAL)},
    {"hidpos", CFG_MODEL_HIDPOS, K(CFG_DEV_SCANNER) | K(CFG_DEV_SCALE), K(CFG_URI_USB)},
    {"mt-sics", CFG_MODEL_MT_SICS, K(CFG_DEV_SCALE), K(CFG_URI_SERIAL) | K(CFG_URI_TCP)},
    {"nci", CFG_MODEL_NCI, K(CFG_DEV_SCALE), K(CFG_URI_SERIAL)},
    {"zpl", CFG_MODEL_ZPL, K(CFG_DEV_PRINTER), K(CFG_URI_TCP) | K(CFG_URI_USB) | K(CFG_URI_SERIAL)},
};
#define N_MODELS (sizeof(models) / sizeof(models[0]))

const char *cfg_dev_model_name(enum cfg_dev_model m)
{
    for (size_t i = 0; i < N_MODELS; i++)
        if (models[i].model == m)
            return models[i].name;
    return "?";
}

static void list_names(char *buf, size_t n, unsigned kinds_or_schemes, bool models_for_kind)
{
    size_t o = 0;
    buf[0] = '\0';
    if (models_for_kind) {
        for (size_t i = 0; i < N_MODELS; i++)
            if (models[i].kinds & kinds_or_schemes)
                o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", models[i].name);
    } else {
        for (int sc = CFG_URI_TCP; sc <= CFG_URI_USB; sc++)
            if (kinds_or_schemes & K(sc))
                o += (size_t)snprintf(buf + o, n - o, "%s%s://", o ? ", " : "",
                                      cfg_uri_scheme_name((enum cfg_uri_scheme)sc));
    }
}

static void only_for(struct loader *L, const struct org *o, const char *key, bool given,
                     bool allowed, const char *kind)
{
    if (given && !allowed)
        lerr(L, o, key, "'%s' applies to %s devices only", key, kind);
}

static void build_devices(struct loader *L, size_t fi, const struct raw_file *r)
{
    struct cfg_site *s = L->site;
    for (uint32_t i = 0; i < r->devices_count; i++) {
        const struct raw_device *rd = &r->devices[i];
        struct org o = item_org(L, L->files[fi].tree.root, L->files[fi].path, "", "devices", i);
        const struct model_info *mi = NULL;
        struct cfg_device *d;
        const char *why, *name;
        char list[200];
        enum cfg_dev_kind kind = (enum cfg_dev_kind)rd->kind;
        int di = ADD_NAMED(L, &L->m_dev, L->o_dev, &o, "id", rd->id, "device id", s->devices,
                           s->n_devices, L->cap_dev, &name);
        if (di == -1)
            continue;
        if (di < 0)
            return;
        d = &s->devices[di];
        d->id = name;
        d->kind = kind;
        d->origin = origin_of(&o);
        d->uri_text = dup_str(L, rd->uri);
        for (size_t m = 0; m < N_MODELS; m++)
            if (strcmp(models[m].name, rd->model) == 0 && (models[m].kinds & K(kind)))
                mi = &models[m];
        if (!mi) {
            list_names(list, sizeof(list), K(kind), true);
            lerr(L, &o, "model", "unknown %s model '%s'; allowed: %s", cfg_dev_kind_name(kind),
                 rd->model, list);
        } else {
            d->model = mi->model;
        }
        if (cfg_parse_uri(rd->uri, &d->uri, &why) < 0)
            lerr(L, &o, "uri", "invalid uri '%s': %s", rd->uri, why);
        else if (mi && !(mi->schemes & K(d->uri.scheme))) {
            list_names(list, sizeof(list), mi->schemes, false);
            lerr(L, &o, "uri", "model %s does not use %s://; allowed: %s", mi->name,
                 cfg_uri_scheme_name(d->uri.scheme), list);
        }
        only_for(L, &o, "unit_id", rd->unit_id, kind == CFG_DEV_PLC, "plc");
        only_for(L, &o, "address_base", rd->address_base, kind == CFG_DEV_PLC, "plc");
        only_for(L, &o, "poll_ms", rd->poll_ms, kind == CFG_DEV_PLC, "plc");
        only_for(L, &o, "heartbeat_ms", rd->heartbeat_ms, kind == CFG_DEV_PLC, "plc");
        only_for(L, &o, "no_read", rd->no_read, kind == CFG_DEV_SCANNER, "scanner");
        only_for(L, &o, "multi_read", rd->multi_read, kind == CFG_DEV_SCANNER, "scanner");
        only_for(L, &o, "terminator", rd->terminator, kind == CFG_DEV_SCANNER, "scanner");
        only_for(L, &o, "dpi", rd->dpi, kind == CFG_DEV_PRINTER, "printer");
        d->unit_id = rd->unit_id ? *rd->unit_id : 1;
        d->address_base = rd->address_base ? *rd->address_base : 0;
        d->poll_ms = rd->poll_ms ? *rd->poll_ms : 10;
        d->heartbeat_ms = rd->heartbeat_ms ? *rd->heartbeat_ms : 250;
        d->timeout_ms = rd->timeout_ms ? *rd->timeout_ms : (kind == CFG_DEV_PLC ? 50 : 1000);
        if (kind == CFG_DEV_PLC) {
            u32_range(L, &o, "unit_id", d->unit_id, 1, 247);
            u32_range(L, &o, "address_base", d->address_base, 0, 1);
            u32_range(L, &o, "poll_ms", d->poll_ms, 1, 10000);
            u32_range(L, &o, "heartbeat_ms", d->heartbeat_ms, 10, 60000);
        }
        u32_range(L, &o, "timeout_ms", d->timeout_ms, 1, 60000);
        d->no_read = dup_str(L, rd->no_read ? rd->no_read : "NOREAD");
        d->multi_read = dup_str(L, rd->multi_read);
        d->terminator = rd->terminator ? (enum cfg_terminator) * rd->terminator : CFG_TERM_CR;
        d->dpi = rd->dpi ? *rd->dpi : 203;
        if (kind == CFG_DEV_PRINTER && d->dpi != 152 && d->dpi != 203 && d->dpi != 300 &&
            d->dpi != 600)
            lerr(L, &o, "dpi", "unsupported dpi %u; allowed: 152, 203, 300, 600", d->dpi);
    }
}

/* ---- conveyor ---- */

static void build_conveyor(struct loader *L, size_t fi, const struct raw_conveyor *r)
{
    struct cfg_site *s = L->site;
    struct org co = {ymap_get(L->files[fi].tree.root, "conveyor"), L->files[fi].path, "conveyor"};
    if (!once(L, ONCE_CONVEYOR, fi, "conveyor"))
        return;
    for (uint32_t i = 0; i < r->lanes_count; i++) {
        const struct raw_lane *rl = &r->lanes[i];
        struct org o = item_org(L, co.node, co.file, "conveyor", "lanes", i);
        struct cfg_lane *l;
        const char *name;
        int li = ADD_NAMED(L, &L->m_lane, L->o_lane, &o, "id", rl->id, "lane id", s->lanes,
                           s->n_lanes, L->cap_lane, &name);
        if (li == -1)
            continue;
        if (li < 0)
            return;
        l = &s->lanes[li];
        l->id = name;
        l->number = rl->number;
        if (rl->number == 0)
            lerr(L, &o, "number", "lane number 0 means 'no decision' to the PLC; use 1..65535");
        l->capacity = rl->capacity ? *rl->capacity : 0;
        l->enabled = rl->enabled ? *rl->enabled : true;
        l->dest_index = -1;
        l->origin = origin_of(&o);
    }
    for (uint32_t i = 0; i < r->scan_points_count; i++) {
        const struct raw_scan_point *rs = &r->scan_points[i];
        struct org o = item_org(L, co.node, co.file, "conveyor", "scan_points", i);
        struct cfg_scan_point *sp;
        const char *name;
        int si = ADD_NAMED(L, &L->m_sp, L->o_sp, &o, "id", rs->id, "scan point id", s->scan_points,
                           s->n_scan_points, L->cap_sp, &name);
        if (si == -1)
            continue;
        if (si < 0)
            return;
        sp = &s->scan_points[si];
        sp->id = name;
        sp->scanner = -1;
        sp->reject_lane = -1;
        sp->recirc_lane = -1;
        sp->barcode_regs = rs->barcode_regs ? *rs->barcode_regs : CFG_BARCODE_REGS_DEF;
        if (sp->barcode_regs == 0 || sp->barcode_regs > CFG_BARCODE_REGS_MAX)
            lerr(L, &o, "barcode_regs", "%u is out of range; expected 1..%u", sp->barcode_regs,
                 CFG_BARCODE_REGS_MAX);
        sp->max_recirc = rs->max_recirc ? *rs->max_recirc : 3;
        u32_range(L, &o, "max_recirc", sp->max_recirc, 0, 100);
        sp->decision_budget_ms = rs->decision_budget_ms ? *rs->decision_budget_ms : 100;
        u32_range(L, &o, "decision_budget_ms", sp->decision_budget_ms, 1, 10000);
        sp->origin = origin_of(&o);
        sp->lanes = arena_alloc(L->mem, (rs->lanes_count + 1) * sizeof(*sp->lanes));
        if (!sp->lanes) {
            L->oom = 1;
            return;
        }
    }
}

/* ---- stations, users, roles ---- */

static void build_stations(struct loader *L, size_t fi, const struct raw_file *r)
{
    struct cfg_site *s = L->site;
    for (uint32_t i = 0; i < r->stations_count; i++) {
        const struct raw_station *rs = &r->stations[i];
        struct org o = item_org(L, L->files[fi].tree.root, L->files[fi].path, "", "stations", i);
        struct cfg_station *st;
        const char *name;
        int si = ADD_NAMED(L, &L->m_st, L->o_st, &o, "id", rs->id, "station id", s->stations,
                           s->n_stations, L->cap_st, &name);
        if (si == -1)
            continue;
        if (si < 0)
            return;
        st = &s->stations[si];
        st->id = name;
        st->kind = (enum cfg_station_kind)rs->kind;
        st->location = st->scanner = st->scale = st->printer = st->fallback_printer = -1;
        st->weight_tolerance_pct = rs->weight_tolerance_pct ? *rs->weight_tolerance_pct : 2.0;
        if (st->weight_tolerance_pct <= 0 || st->weight_tolerance_pct > 50)
            lerr(L, &o, "weight_tolerance_pct",
                 "%g is out of range; expected more than 0 and "
                 "at most 50",
                 st->weight_tolerance_pct);
        st->packaging_g = rs->packaging_g ? *rs->packaging_g : 0;
        u32_range(L, &o, "packaging_g", st->packaging_g, 0, 1000000);
        st->origin = origin_of(&o);
    }
}

static bool command_ok(const char *c)
{
    /* "*", "order.*" or "order.upsert": lower-case words joined by one dot. */
    const char *dot = strchr(c, '.');
    if (strcmp(c, "*") == 0)
        return true;
    if (!dot || dot == c || strchr(dot + 1, '.'))
        return false;
    for (const char *p = c; *p; p++)
        if (p != dot && !(islower((unsigned char)*p) || *p == '_' ||
                          (*p == '*' && p == dot + 1 && p[1] == '\0')))
            return false;
    return dot[1] != '\0';
}

/* A role's read scope: an MQTT topic filter relative to wcs/v1/<site>/ (MQTT 3.1.1 section
 * 4.7: '+' and '#' fill a whole level, '#' only last), of levels from [A-Za-z0-9_.-], whose first
 * level is one of the site's topic kinds (DESIGN.md section 4.3) or '#'. */
static bool read_filter_ok(const char *f, const char **why)
{
    static const char *const kinds[] = {"status", "state", "kpi", "evt", "alarm", "cmd", "reply"};
    size_t first = strcspn(f, "/");
    bool kind = false;
    if (!*f) {
        *why = "empty";
        return false;
    }
    for (const char *lv = f;;) {
        size_t n = strcspn(lv, "/");
        if (n == 0) {
            *why = "empty level (a leading, trailing or double '/')";
            return false;
        }
        if ((memchr(lv, '+', n) || memchr(lv, '#', n)) && n != 1) {
            *why = "'+' and '#' must be a whole level";
            return false;
        }
        if (*lv == '#' && lv[1] != '\0') {
            *why = "'#' must be the last level";
            return false;
        }
        for (size_t i = 0; i < n; i++)
            if (!(isalnum((unsigned char)lv[i]) || strchr("_.-+#", lv[i]))) {
                *why = "levels are made of [A-Za-z0-9_.-]";
                return false;
            }
        if (lv[n] == '\0')
            break;
        lv += n + 1;
    }
    if (first == 1 && f[0] == '#')
        return true;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strlen(kinds[i]) == first && strncmp(f, kinds[i], first) == 0)
            kind = true;
    if (!kind) {
        *why = "the first level must be status, state, kpi, evt, alarm, cmd, reply or '#'";
        return false;
    }
    return true;
}

static void build_people(struct loader *L, size_t fi, const struct raw_file *r)
{
    struct cfg_site *s = L->site;
    for (uint32_t i = 0; i < r->roles_count; i++) {
        const struct raw_role *rr = &r->roles[i];
        struct org o = item_org(L, L->files[fi].tree.root, L->files[fi].path, "", "roles", i);
        struct cfg_role *ro;
        const char *name;
        int ri = ADD_NAMED(L, &L->m_role, L->o_role, &o, "name", rr->name, "role", s->roles,
                           s->n_roles, L->cap_role, &name);
        if (ri == -1)
            continue;
        if (ri < 0)
            return;
        ro = &s->roles[ri];
        ro->name = name;
        ro->approve = rr->approve && *rr->approve;
        ro->origin = origin_of(&o);
        ro->commands = arena_alloc(L->mem, (rr->commands_count + 1) * sizeof(*ro->commands));
        if (!ro->commands) {
            L->oom = 1;
            return;
        }
        for (uint32_t k = 0; k < rr->commands_count; k++) {
            char rel[32];
            snprintf(rel, sizeof(rel), "commands[%u]", k);
            if (!command_ok(rr->commands[k]))
                lerr(L, &o, rel,
                     "invalid command '%s'; expected noun.verb (e.g. order.upsert), "
                     "noun.* or *",
                     rr->commands[k]);
            ro->commands[k] = dup_str(L, rr->commands[k]);
        }
        ro->n_commands = rr->commands_count;
        ro->read = arena_alloc(L->mem, (rr->read_count + 1) * sizeof(*ro->read));
        if (!ro->read) {
            L->oom = 1;
            return;
        }
        for (uint32_t k = 0; k < rr->read_count; k++) {
            char rel[32];
            const char *why = NULL;
            snprintf(rel, sizeof(rel), "read[%u]", k);
            if (!read_filter_ok(rr->read[k], &why))
                lerr(L, &o, rel, "invalid topic filter '%s': %s", rr->read[k], why);
            ro->read[k] = dup_str(L, rr->read[k]);
        }
        ro->n_read = rr->read_count;
    }
    for (uint32_t i = 0; i < r->users_count; i++) {
        const struct raw_user *ru = &r->users[i];
        struct org o = item_org(L, L->files[fi].tree.root, L->files[fi].path, "", "users", i);
        struct cfg_user *u;
        const char *name;
        int ui = ADD_NAMED(L, &L->m_user, L->o_user, &o, "name", ru->name, "user name", s->users,
                           s->n_users, L->cap_user, &name);
        if (ui == -1)
            continue;
        if (ui < 0)
            return;
        u = &s->users[ui];
        u->name = name;
        u->origin = origin_of(&o);
        u->roles = arena_alloc(L->mem, (ru->roles_count + 1) * sizeof(*u->roles));
        if (!u->roles) {
            L->oom = 1;
            return;
        }
    }
}

/* ---- services ---- */

static bool mqtt_uri_ok(const char *u, const char **why)
{
    static const char *const schemes[] = {"tcp://",   "mqtt://", "ssl://",
                                          "mqtts://", "ws://",   "wss://"};
    struct cfg_uri tmp;
    char buf[600];
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(u, schemes[i], n) == 0) {
            const char *rest = u + n;
            size_t hl = strcspn(rest, "/");
            if (hl + 7 >= sizeof(buf)) {
                *why = "too long";
                return false;
            }
            snprintf(buf, sizeof(buf), "tcp://%.*s", (int)hl, rest);
            return cfg_parse_uri(buf, &tmp, why) == 0;
        }
    }
    *why = "unknown scheme, expected tcp://, mqtt://, ssl://, mqtts://, ws:// or wss://";
    return false;
}

static void build_services(struct loader *L, size_t fi, const struct raw_file *r)
{
    struct cfg_site *s = L->site;
    const struct ynode *root = L->files[fi].tree.root;
    const char *file = L->files[fi].path;
    if (r->adjust_approval && once(L, ONCE_ADJUST, fi, "adjust_approval")) {
        s->adjust_qty_threshold =
            r->adjust_approval->qty_threshold ? *r->adjust_approval->qty_threshold : 0;
        s->adjust_value_threshold_cents = r->adjust_approval->value_threshold_cents
                                              ? *r->adjust_approval->value_threshold_cents
                                              : 0;
    }
    if (r->receiving && once(L, ONCE_RECEIVING, fi, "receiving")) {
        struct org o = {ymap_get(root, "receiving"), file, "receiving"};
        uint32_t pct = r->receiving->over_tolerance_pct ? *r->receiving->over_tolerance_pct : 0;
        if (pct > 100)
            lerr(L, &o, "over_tolerance_pct", "%u is out of range; expected 0..100", pct);
        else
            s->receiving_over_tolerance_pct = pct;
    }
    if (r->counting && once(L, ONCE_COUNTING, fi, "counting")) {
        const struct raw_counting *rc = r->counting;
        struct org o = {ymap_get(root, "counting"), file, "counting"};
        s->counting.enabled = true;
        s->counting.a_days = rc->a_days ? *rc->a_days : 30;
        s->counting.b_days = rc->b_days ? *rc->b_days : 90;
        s->counting.c_days = rc->c_days ? *rc->c_days : 180;
        s->counting.daily_max = rc->daily_max ? *rc->daily_max : 50;
        u32_range(L, &o, "a_days", s->counting.a_days, 1, 3650);
        u32_range(L, &o, "b_days", s->counting.b_days, 1, 3650);
        u32_range(L, &o, "c_days", s->counting.c_days, 1, 3650);
        u32_range(L, &o, "daily_max", s->counting.daily_max, 1, 100000);
    }
    if (r->redis && once(L, ONCE_REDIS, fi, "redis")) {
        const struct raw_redis *rr = r->redis;
        struct org o = {ymap_get(root, "redis"), file, "redis"};
        s->redis.host = dup_str(L, rr->host ? rr->host : "127.0.0.1");
        s->redis.port = rr->port ? *rr->port : 6379;
        if (s->redis.port == 0)
            lerr(L, &o, "port", "0 is out of range; expected 1..65535");
        s->redis.user = dup_str(L, rr->user);
        s->redis.db = rr->db ? *rr->db : 0;
        u32_range(L, &o, "db", s->redis.db, 0, 15);
        s->redis.timeout_ms = rr->timeout_ms ? *rr->timeout_ms : 500;
        u32_range(L, &o, "timeout_ms", s->redis.timeout_ms, 1, 60000);
        s->redis.journal_maxlen = rr->journal_maxlen ? *rr->journal_maxlen : 1000000;
        u32_range(L, &o, "journal_maxlen", s->redis.journal_maxlen, 1000, 1000000000);
        if (rr->password)
            lerr(L, &o, "password",
                 "inline passwords are not allowed; put the secret in a file "
                 "(mode 600) and name it with password_file");
        if (rr->password_file) {
            s->redis.password_file = resolve_path(L, fi, rr->password_file);
            check_secret(L, fi, &o, "password_file", rr->password_file);
        }
    }
    if (r->mqtt && once(L, ONCE_MQTT, fi, "mqtt")) {
        const struct raw_mqtt *rm = r->mqtt;
        struct org o = {ymap_get(root, "mqtt"), file, "mqtt"};
        const char *why;
        s->mqtt.uri = dup_str(L, rm->uri ? rm->uri : "tcp://127.0.0.1:1883");
        if (rm->uri && !mqtt_uri_ok(rm->uri, &why))
            lerr(L, &o, "uri", "invalid uri '%s': %s", rm->uri, why);
        s->mqtt.client_id = dup_str(L, rm->client_id);
        if (rm->client_id && cfg_id_check(rm->client_id, &why) < 0)
            lerr(L, &o, "client_id", "invalid client_id '%s': %s", rm->client_id, why);
        s->mqtt.user = dup_str(L, rm->user);
        s->mqtt.keepalive_s = rm->keepalive_s ? *rm->keepalive_s : 30;
        u32_range(L, &o, "keepalive_s", s->mqtt.keepalive_s, 1, 65535);
        s->mqtt.qos = rm->qos ? *rm->qos : 1;
        u32_range(L, &o, "qos", s->mqtt.qos, 0, 2);
        if (rm->password)
            lerr(L, &o, "password",
                 "inline passwords are not allowed; put the secret in a file "
                 "(mode 600) and name it with password_file");
        if (rm->password_file) {
            s->mqtt.password_file = resolve_path(L, fi, rm->password_file);
            check_secret(L, fi, &o, "password_file", rm->password_file);
        }
    }
}

/* labels: the SSCC's company prefix and extension digit, the label template, the ship-from
 * address (docs/config.md). Text fields are printed inside ZPL ^FD fields, so the characters
 * that start ZPL commands (^ and ~) and the template's braces are refused. */
static void build_labels(struct loader *L, size_t fi, const struct raw_labels *rl)
{
    struct cfg_labels *lb = &L->site->labels;
    const struct ynode *root = L->files[fi].tree.root;
    struct org o = {ymap_get(root, "labels"), L->files[fi].path, "labels"};
    struct org a = {ymap_get(o.node, "ship_from"), L->files[fi].path, "labels.ship_from"};
    const struct raw_address *ra = rl->ship_from;
    const char *const vals[] = {ra->name, ra->street, ra->city, ra->postcode, ra->country};
    const char *const keys[] = {"name", "street", "city", "postcode", "country"};
    const char *p;

    lb->present = true;
    lb->company_prefix = dup_str(L, rl->company_prefix);
    for (p = rl->company_prefix; *p; p++)
        if (*p < '0' || *p > '9') {
            lerr(L, &o, "company_prefix",
                 "'%s' is not a GS1 company prefix; expected 7 to 10 digits", rl->company_prefix);
            break;
        }
    lb->extension_digit = rl->extension_digit ? *rl->extension_digit : 0;
    u32_range(L, &o, "extension_digit", lb->extension_digit, 0, 9);
    if (rl->sscc_template) {
        lb->sscc_template = resolve_path(L, fi, rl->sscc_template);
        if (lb->sscc_template && access(lb->sscc_template, R_OK) != 0)
            lerr(L, &o, "sscc_template", "cannot read '%s': %s", rl->sscc_template,
                 strerror(errno));
    }
    for (size_t i = 0; i < 5; i++)
        for (p = vals[i]; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == '^' || *p == '~' || *p == '{' || *p == '}') {
                lerr(L, &a, keys[i],
                     "'%s' has a character a label cannot print (control, ^, ~, { or })", vals[i]);
                break;
            }
    if (ra->country[0] < 'A' || ra->country[0] > 'Z' || ra->country[1] < 'A' ||
        ra->country[1] > 'Z')
        lerr(L, &a, "country", "'%s' is not an ISO 3166-1 alpha-2 code (two capital letters)",
             ra->country);
    lb->ship_from.name = dup_str(L, ra->name);
    lb->ship_from.street = dup_str(L, ra->street);
    lb->ship_from.city = dup_str(L, ra->city);
    lb->ship_from.postcode = dup_str(L, ra->postcode);
    lb->ship_from.country = dup_str(L, ra->country);
    lb->origin = origin_of(&o);
}

int build_file(struct loader *L, size_t fi)
{
    const struct raw_file *r = L->files[fi].raw;
    if (r->site)
        build_site(L, fi, r->site);
    build_warehouses(L, fi, r);
    build_categories(L, fi, r);
    build_products(L, fi, r);
    build_rules(L, fi, r);
    if (r->waves)
        build_waves(L, fi, r->waves);
    build_devices(L, fi, r);
    if (r->conveyor)
        build_conveyor(L, fi, r->conveyor);
    build_stations(L, fi, r);
    build_people(L, fi, r);
    build_services(L, fi, r);
    if (r->labels && once(L, ONCE_LABELS, fi, "labels"))
        build_labels(L, fi, r->labels);
    return L->oom ? -ENOMEM : 0;
}
