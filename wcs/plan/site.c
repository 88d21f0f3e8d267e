/* The site config mapped onto the planner's dense ids: products (removal strategy from the
 * category, unit volume from the dimensions), the location tree numbered pre/post, zones ordered
 * along the pick path, carriers with their cutoffs converted from the site's time zone, putaway
 * rules in priority order, replenishment rules, wave and cart limits. Also the --now and --what
 * parsers. The only file of wcs_plan that reads struct cfg_site. */
#include "internal.h"

#include "base/err.h"
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void plan_ymd(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int fail(char *msg, size_t len, int rc, const char *fmt, ...)
{
    va_list ap;
    if (msg && len) {
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- time and stage parsing ---------------------------------------------------------------- */

/* Reads exactly n digits at *p into *v. */
static bool digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return true;
}

int plan_time_parse(const char *text, int64_t *out)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0, sign = 0;
    int32_t day;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return -EINVAL;
    if (mo < 1 || d < 1 || pl_day_from_ymd(y, mo, d, &day) < 0)
        return -EINVAL;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || h > 23 || mi > 59)
            return -EINVAL;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &s) || s > 59)
                return -EINVAL;
            if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                    return -EINVAL;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            sign = *p++ == '+' ? 1 : -1;
            if (!digits(&p, 2, &oh) || oh > 23)
                return -EINVAL;
            if (*p == ':')
                p++;
            if (!digits(&p, 2, &om) || om > 59)
                return -EINVAL;
        }
    }
    if (*p)
        return -EINVAL;
    *out = (int64_t)day * 86400 + h * 3600 + mi * 60 + s - sign * (oh * 3600 + om * 60);
    return 0;
}

/* In enum plan_stage bit order. */
static const char *const stage_names[] = {"reserve", "wave",      "batch",
                                          "putaway", "replenish", "purchase"};

int plan_stages_parse(const char *text, unsigned *out, char *msg, size_t msg_len)
{
    unsigned set = 0;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        unsigned bit = 0;
        for (unsigned i = 0; i < sizeof(stage_names) / sizeof(stage_names[0]); i++)
            if (strlen(stage_names[i]) == n && strncmp(p, stage_names[i], n) == 0)
                bit = 1u << i;
        if (!bit)
            return fail(msg, msg_len, -EINVAL,
                        "unknown stage '%.*s' (stages: reserve, wave, batch, putaway, replenish, "
                        "purchase)",
                        (int)(n > 40 ? 40 : n), p);
        set |= bit;
        if (!end)
            break;
        p = end + 1;
    }
    *out = set;
    return 0;
}

/* ---- time zone ----------------------------------------------------------------------------- */

/* UTC epoch minute of a local wall time on a local day (base/tz: no process-wide TZ switch, so
 * the planner may run beside the daemon's other threads). */
static int64_t local_to_utc_min(const struct wcs_tz *zone, int32_t day, unsigned minute_of_day)
{
    int64_t t = tz_utc_s(zone, (int64_t)day * 86400 + (int64_t)minute_of_day * 60);
    return t >= 0 ? t / 60 : (t - 59) / 60;
}

int site_day_cutoffs(struct plan_site *s, uint32_t carrier, int32_t day, const int64_t **first,
                     uint32_t *n)
{
    const struct cfg_carrier *c = &s->cfg->waves.carriers[carrier];
    uint32_t id;
    int rc = idmap_put(s->days, (const char *)&day, sizeof(day), &id);
    if (rc < 0)
        return rc;
    if (rc == 1 && s->frozen) {
        idmap_pop(s->days);
        return WCS_E_STATE;
    }
    if (rc == 1) {
        if (id >= s->days_cap) {
            uint32_t cap = s->days_cap ? s->days_cap * 2 : 8;
            int64_t *t = realloc(s->day_cutoffs, (size_t)cap * (s->n_cutoffs + 1) * sizeof(*t));
            if (!t) {
                idmap_pop(s->days);
                return -ENOMEM;
            }
            s->day_cutoffs = t;
            s->days_cap = cap;
        }
        int64_t *row = s->day_cutoffs + (size_t)id * (s->n_cutoffs + 1);
        for (uint32_t k = 0; k < s->cfg->waves.n_carriers; k++) {
            const struct cfg_carrier *ck = &s->cfg->waves.carriers[k];
            for (uint32_t j = 0; j < ck->n_cutoffs; j++)
                row[s->cutoff_first[k] + j] = local_to_utc_min(s->zone, day, ck->cutoffs_min[j]);
        }
    }
    *first = s->day_cutoffs + (size_t)id * (s->n_cutoffs + 1) + s->cutoff_first[carrier];
    *n = c->n_cutoffs;
    return 0;
}

/* ---- mapping ------------------------------------------------------------------------------- */

static uint8_t usage_of(enum cfg_loc_type t)
{
    switch (t) {
    case CFG_LOC_INTERNAL:
        return PL_USAGE_STOCK;
    case CFG_LOC_INPUT:
        return PL_USAGE_INPUT;
    case CFG_LOC_QUALITY:
        return PL_USAGE_QUALITY;
    case CFG_LOC_OUTPUT:
    case CFG_LOC_PACKING:
        return PL_USAGE_OUTPUT;
    case CFG_LOC_TRANSIT:
        return PL_USAGE_TRANSIT;
    case CFG_LOC_LOSS:
        return PL_USAGE_LOSS;
    case CFG_LOC_SCRAP:
        return PL_USAGE_SCRAP;
    default: /* view; customer and supplier are partners' places, not warehouse stock */
        return PL_USAGE_VIEW;
    }
}

struct zone_rank {
    uint32_t tmp_id, min_seq;
    const char *name;
};

static int cmp_zone(const void *a, const void *b)
{
    const struct zone_rank *x = a, *y = b;
    if (x->min_seq != y->min_seq)
        return x->min_seq < y->min_seq ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Zones are numbered along the pick path: by the lowest pick_seq among their locations, then
 * by name; locations without a zone form the zone "" (docs/formats.md). */
static int map_zones(struct plan_site *s, char *msg, size_t len)
{
    const struct cfg_site *c = s->cfg;
    struct idmap *tmp;
    struct zone_rank *rank = NULL;
    uint32_t *tmp_to_final = NULL, n, id;
    int rc = idmap_new(&tmp);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < c->n_locations; i++) {
        const char *z = c->locations[i].zone ? c->locations[i].zone : "";
        if ((rc = idmap_put(tmp, z, strlen(z), &id)) < 0)
            goto out;
    }
    n = idmap_count(tmp);
    if (n >= PL_ZONE_ANY) {
        rc = fail(msg, len, WCS_E_RANGE, "%u zones: the planner takes at most 65534", n);
        goto out;
    }
    rank = calloc(n ? n : 1, sizeof(*rank));
    tmp_to_final = calloc(n ? n : 1, sizeof(*tmp_to_final));
    if (!rank || !tmp_to_final) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t z = 0; z < n; z++)
        rank[z] = (struct zone_rank){z, UINT32_MAX, idmap_key(tmp, z)};
    for (uint32_t i = 0; i < c->n_locations; i++) {
        const char *z = c->locations[i].zone ? c->locations[i].zone : "";
        id = idmap_get(tmp, z, strlen(z));
        if (c->locations[i].has_pick_seq && c->locations[i].pick_seq < rank[id].min_seq)
            rank[id].min_seq = c->locations[i].pick_seq;
    }
    qsort(rank, n, sizeof(*rank), cmp_zone);
    for (uint32_t z = 0; z < n; z++) {
        if ((rc = idmap_put(s->zones, rank[z].name, strlen(rank[z].name), &id)) < 0)
            goto out;
        tmp_to_final[rank[z].tmp_id] = z;
    }
    for (uint32_t i = 0; i < c->n_locations; i++) {
        const char *z = c->locations[i].zone ? c->locations[i].zone : "";
        s->locations[i].zone = (uint16_t)tmp_to_final[idmap_get(tmp, z, strlen(z))];
    }
    rc = 0;
out:
    free(rank);
    free(tmp_to_final);
    idmap_free(tmp);
    return rc;
}

struct aisle_rank {
    uint32_t tmp_id, zone, min_seq;
    const char *name; /* the aisle's name (after the zone prefix of its key) */
};

static int cmp_aisle(const void *a, const void *b)
{
    const struct aisle_rank *x = a, *y = b;
    if (x->zone != y->zone)
        return x->zone < y->zone ? -1 : 1;
    if (x->min_seq != y->min_seq)
        return x->min_seq < y->min_seq ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int aisle_key(char *buf, size_t len, uint16_t zone, const char *aisle)
{
    return snprintf(buf, len, "%u\x1f%s", (unsigned)zone, aisle ? aisle : "");
}

/* Aisles are numbered zone by zone along the pick path: within a zone by the lowest pick_seq
 * among their locations, then by name; the locations of a zone without an aisle form one aisle
 * of their own (docs/formats.md). An aisle name in two zones is two aisles. Needs the zones. */
static int map_aisles(struct plan_site *s, char *msg, size_t len)
{
    const struct cfg_site *c = s->cfg;
    struct idmap *tmp;
    struct aisle_rank *rank = NULL;
    uint32_t *tmp_to_final = NULL, n, id;
    char key[128];
    int rc = idmap_new(&tmp), k;
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < c->n_locations; i++) {
        k = aisle_key(key, sizeof(key), s->locations[i].zone, c->locations[i].aisle);
        if ((rc = idmap_put(tmp, key, (size_t)k, &id)) < 0)
            goto out;
    }
    n = idmap_count(tmp);
    if (n > UINT16_MAX) {
        rc = fail(msg, len, WCS_E_RANGE, "%u aisles: the planner takes at most 65535", n);
        goto out;
    }
    rank = calloc(n ? n : 1, sizeof(*rank));
    tmp_to_final = calloc(n ? n : 1, sizeof(*tmp_to_final));
    if (!rank || !tmp_to_final) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t a = 0; a < n; a++) {
        const char *kk = idmap_key(tmp, a);
        rank[a] = (struct aisle_rank){a, (uint32_t)strtoul(kk, NULL, 10), UINT32_MAX,
                                      strchr(kk, '\x1f') + 1};
    }
    for (uint32_t i = 0; i < c->n_locations; i++) {
        k = aisle_key(key, sizeof(key), s->locations[i].zone, c->locations[i].aisle);
        id = idmap_get(tmp, key, (size_t)k);
        if (c->locations[i].has_pick_seq && c->locations[i].pick_seq < rank[id].min_seq)
            rank[id].min_seq = c->locations[i].pick_seq;
    }
    qsort(rank, n, sizeof(*rank), cmp_aisle);
    for (uint32_t a = 0; a < n; a++)
        tmp_to_final[rank[a].tmp_id] = a;
    for (uint32_t i = 0; i < c->n_locations; i++) {
        k = aisle_key(key, sizeof(key), s->locations[i].zone, c->locations[i].aisle);
        s->locations[i].aisle = (uint16_t)tmp_to_final[idmap_get(tmp, key, (size_t)k)];
    }
    rc = 0;
out:
    free(rank);
    free(tmp_to_final);
    idmap_free(tmp);
    return rc;
}

/* Pre-order numbering of the location forest: the config lists parents before children, so
 * subtree sizes accumulate backwards and each child takes the next free number of its parent. */
static int map_locations(struct plan_site *s)
{
    const struct cfg_site *c = s->cfg;
    uint32_t n = c->n_locations, next_root = 0, id;
    uint32_t *size = calloc(n ? n : 1, sizeof(*size)), *next = calloc(n ? n : 1, sizeof(*next));
    int rc = 0;
    if (!size || !next) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t i = n; i-- > 0;) {
        size[i] += 1;
        if (c->locations[i].parent >= 0)
            size[c->locations[i].parent] += size[i];
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct cfg_location *l = &c->locations[i];
        struct pl_location *p = &s->locations[i];
        if (l->parent < 0) {
            p->pre = next_root;
            next_root += size[i];
        } else {
            p->pre = next[l->parent];
            next[l->parent] += size[i];
        }
        next[i] = p->pre + 1;
        p->post = p->pre + size[i];
        p->pick_seq = l->has_pick_seq ? l->pick_seq : UINT32_MAX;
        /* The config refuses a capacity of 0, the planner's "no limit". */
        p->capacity_cm3 = !l->has_cap_volume               ? 0
                          : l->cap_volume_cm3 > UINT32_MAX ? UINT32_MAX
                                                           : (uint32_t)l->cap_volume_cm3;
        p->capacity_units = l->has_cap_units ? l->cap_units : 0;
        p->capacity_weight_g = l->has_cap_weight ? l->cap_weight_g : 0;
        p->usage = usage_of(l->type);
        p->is_stock = l->type == CFG_LOC_INTERNAL;
        p->pick_face = l->pick_face;
        if ((rc = idmap_put(s->locs, l->path, strlen(l->path), &id)) < 0)
            goto out;
    }
out:
    free(size);
    free(next);
    return rc;
}

static int map_products(struct plan_site *s)
{
    const struct cfg_site *c = s->cfg;
    uint32_t id;
    int rc;
    for (uint32_t i = 0; i < c->n_products; i++) {
        const struct cfg_product *p = &c->products[i];
        uint64_t vol_mm3 = (uint64_t)p->dims_mm[0] * p->dims_mm[1] * p->dims_mm[2];
        uint64_t vol_cm3 = (vol_mm3 + 999) / 1000;
        static const uint8_t removal[] = {PL_FIFO, PL_LIFO, PL_FEFO, PL_CLOSEST};
        s->products[i] = (struct pl_product){
            .category = p->category >= 0 ? (uint32_t)p->category : PL_NONE,
            .removal = p->category >= 0 ? removal[c->categories[p->category].removal] : PL_FIFO,
            .tracking = p->tracking == CFG_TRACK_LOT      ? PL_TRACK_LOT
                        : p->tracking == CFG_TRACK_SERIAL ? PL_TRACK_SERIAL
                                                          : PL_TRACK_NONE,
            .abc = p->abc == CFG_ABC_A   ? 0
                   : p->abc == CFG_ABC_B ? 1
                                         : 2,
            .expiry_margin_days = (int32_t)p->expiry_margin_days,
            .weight_g = p->weight_g,
            .volume_cm3 = vol_cm3 > UINT32_MAX ? UINT32_MAX : (uint32_t)vol_cm3,
        };
        if ((rc = idmap_put(s->skus, p->sku, strlen(p->sku), &id)) < 0)
            return rc;
        if (p->package_type &&
            (rc = idmap_put(s->pkg_types, p->package_type, strlen(p->package_type), &id)) < 0)
            return rc;
    }
    return 0;
}

/* One planner purchase rule per product that has a rule: its own, else its category's. In
 * config rule order; a category rule expands to its products in config order. */
static int map_purchase(struct plan_site *s)
{
    const struct cfg_site *c = s->cfg;
    uint32_t k = 0;
    bool *own = calloc(c->n_products ? c->n_products : 1, sizeof(*own));
    if (!own)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->n_purchase_rules; i++)
        if (c->purchase_rules[i].product >= 0)
            own[c->purchase_rules[i].product] = true;
    for (uint32_t i = 0; i < c->n_purchase_rules; i++) {
        const struct cfg_purchase_rule *r = &c->purchase_rules[i];
        for (uint32_t p = 0; p < c->n_products; p++) {
            if (r->product >= 0 ? (uint32_t)r->product != p
                                : c->products[p].category != r->category || own[p])
                continue; /* not this rule's, or the product's own rule governs it */
            s->purchase[k] = (struct pl_purchase_rule){.product = p,
                                                       .lead_days = (int32_t)r->lead_days,
                                                       .min_qty = r->min,
                                                       .max_qty = r->max,
                                                       .multiple = r->multiple};
            s->purchase_supplier[k] = r->supplier;
            s->purchase_cfg[k++] = i;
        }
    }
    s->n_purchase = k;
    free(own);
    return 0;
}

static const struct cfg_putaway_rule *sort_rules; /* qsort has no context argument */

static int cmp_rule(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (sort_rules[x].priority != sort_rules[y].priority)
        return sort_rules[x].priority < sort_rules[y].priority ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int map_rules(struct plan_site *s)
{
    const struct cfg_site *c = s->cfg;
    uint32_t id;
    int rc;
    s->n_putaway = c->n_putaway_rules;
    for (uint32_t i = 0; i < c->n_putaway_rules; i++)
        s->putaway_cfg[i] = i;
    sort_rules = c->putaway_rules;
    qsort(s->putaway_cfg, s->n_putaway, sizeof(*s->putaway_cfg), cmp_rule);
    sort_rules = NULL;
    for (uint32_t i = 0; i < s->n_putaway; i++) {
        const struct cfg_putaway_rule *r = &c->putaway_rules[s->putaway_cfg[i]];
        uint32_t pkg = PL_NONE;
        if (r->package_type) {
            if ((rc = idmap_put(s->pkg_types, r->package_type, strlen(r->package_type), &pkg)) < 0)
                return rc;
        }
        s->putaway[i] = (struct pl_putaway_rule){
            .product = r->product >= 0 ? (uint32_t)r->product : PL_NONE,
            .category = r->category >= 0 ? (uint32_t)r->category : PL_NONE,
            .package_type = pkg,
            .location = r->location,
        };
    }
    for (uint32_t i = 0; i < c->n_replenishment; i++) {
        const struct cfg_replenishment *r = &c->replenishment[i];
        s->replen[i] = (struct pl_replen_rule){.product = r->product,
                                               .location = r->location,
                                               .min_qty = r->min,
                                               .max_qty = r->max,
                                               .multiple = r->multiple,
                                               .source = r->source};
    }
    if ((rc = map_purchase(s)) < 0)
        return rc;
    for (uint32_t i = 0; i < c->waves.n_carriers; i++) {
        const struct cfg_carrier *k = &c->waves.carriers[i];
        s->cutoff_first[i] = s->n_cutoffs;
        s->n_cutoffs += k->n_cutoffs;
        if ((rc = idmap_put(s->carriers, k->code, strlen(k->code), &id)) < 0)
            return rc;
    }
    for (uint32_t i = 0; i < c->waves.n_priorities; i++)
        if ((rc = idmap_put(s->priorities, c->waves.priorities[i], strlen(c->waves.priorities[i]),
                            &id)) < 0)
            return rc;
    return 0;
}

/* Downstream capacity (the "pack stations, sorter lanes"): orders per wave from the
 * pack stations, carriers per wave from the enabled carrier lanes of the sorter. */
static void map_downstream(struct plan_site *s)
{
    const struct cfg_site *c = s->cfg;
    uint32_t packs = 0, carrier_lanes = 0;
    for (uint32_t i = 0; i < c->n_stations; i++)
        packs += c->stations[i].kind == CFG_STATION_PACK;
    for (uint32_t i = 0; i < c->n_lanes; i++)
        carrier_lanes += c->lanes[i].dest == CFG_DEST_CARRIER && c->lanes[i].enabled;
    if (c->waves.orders_per_pack_station && packs)
        s->wave.max_orders = c->waves.orders_per_pack_station * packs;
    s->wave.max_carriers = carrier_lanes; /* 0 (no sorter lanes to carriers): no limit */
}

static void map_limits(struct plan_site *s)
{
    const struct cfg_waves *w = &s->cfg->waves;
    s->wave = (struct pl_wave_rules){
        .now_min = s->now_min,
        .lead_min = (int32_t)w->pick_pack_ship_min,
        .max_lines = w->max_lines,
        .max_units = w->max_units,
        .split_by_zone = w->split_by_zone,
        .split_by_cutoff = w->split_by_cutoff,
    };
    map_downstream(s);
    /* Config 0 means "no limit"; the planner needs 1..65535 totes and a tote volume. */
    s->cart.totes = w->cart_totes ? w->cart_totes : 65535;
    if (w->cart_volume_cm3 == 0)
        s->cart.tote_volume_cm3 = UINT32_MAX;
    else if (w->cart_totes)
        s->cart.tote_volume_cm3 =
            w->cart_volume_cm3 / w->cart_totes ? w->cart_volume_cm3 / w->cart_totes : 1;
    else
        s->cart.tote_volume_cm3 = w->cart_volume_cm3;
    s->cart.max_weight_g = w->cart_weight_g;
    s->cart.max_volume_cm3 = w->cart_volume_cm3;
}

void plan_site_close(struct plan_site *s)
{
    if (!s)
        return;
    idmap_free(s->skus);
    idmap_free(s->locs);
    idmap_free(s->zones);
    idmap_free(s->carriers);
    idmap_free(s->priorities);
    idmap_free(s->pkg_types);
    idmap_free(s->days);
    free(s->products);
    free(s->locations);
    free(s->putaway);
    free(s->putaway_cfg);
    free(s->replen);
    free(s->purchase);
    free(s->purchase_cfg);
    free(s->purchase_supplier);
    free(s->cutoff_first);
    free(s->day_cutoffs);
    tz_free(s->zone);
    free(s);
}

static void *array(uint32_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

int plan_site_open(struct plan_site **out, const struct cfg_site *cfg, int64_t now_s, char *msg,
                   size_t msg_len)
{
    struct plan_site *s;
    char tz_err[160];
    int64_t y;
    unsigned mon, mday;
    int rc;
    /* 2^40 minutes is the planner's cutoff limit; keep now well inside 1970..9999. */
    if (now_s < 0 || now_s > 253402300799LL)
        return fail(msg, msg_len, WCS_E_RANGE, "now %lld is outside 1970..9999", (long long)now_s);
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = cfg;
    s->tz = cfg->timezone;
    s->site_id = cfg->id;
    s->now_s = now_s;
    s->now_min = now_s / 60;
    s->products = array(cfg->n_products, sizeof(*s->products));
    s->locations = array(cfg->n_locations, sizeof(*s->locations));
    s->putaway = array(cfg->n_putaway_rules, sizeof(*s->putaway));
    s->putaway_cfg = array(cfg->n_putaway_rules, sizeof(*s->putaway_cfg));
    s->replen = array(cfg->n_replenishment, sizeof(*s->replen));
    s->purchase = array(cfg->n_products, sizeof(*s->purchase)); /* one rule per product at most */
    s->purchase_cfg = array(cfg->n_products, sizeof(*s->purchase_cfg));
    s->purchase_supplier = array(cfg->n_products, sizeof(*s->purchase_supplier));
    s->cutoff_first = array(cfg->waves.n_carriers, sizeof(*s->cutoff_first));
    if (!s->products || !s->locations || !s->putaway || !s->putaway_cfg || !s->replen ||
        !s->purchase || !s->purchase_cfg || !s->purchase_supplier || !s->cutoff_first ||
        idmap_new(&s->skus) || idmap_new(&s->locs) || idmap_new(&s->zones) ||
        idmap_new(&s->carriers) || idmap_new(&s->priorities) || idmap_new(&s->pkg_types) ||
        idmap_new(&s->days)) {
        rc = -ENOMEM;
        goto fail_site;
    }
    if ((rc = tz_load(&s->zone, s->tz, tz_err, sizeof(tz_err))) < 0) {
        rc = fail(msg, msg_len, rc, "%s", tz_err);
        goto fail_site;
    }
    int64_t local_s = tz_local_s(s->zone, now_s);
    tz_civil_from_days(local_s >= 0 ? local_s / 86400 : (local_s - 86399) / 86400, &y, &mon, &mday);
    if (pl_day_from_ymd((int)y, (int)mon, (int)mday, &s->today) < 0) {
        rc = fail(msg, msg_len, WCS_E_RANGE, "now: local date outside 1970..9999");
        goto fail_site;
    }
    if ((rc = map_products(s)) < 0 || (rc = map_locations(s)) < 0 ||
        (rc = map_zones(s, msg, msg_len)) < 0 || (rc = map_aisles(s, msg, msg_len)) < 0 ||
        (rc = map_rules(s)) < 0)
        goto fail_site;
    map_limits(s);
    s->cfg_n_products = cfg->n_products;
    s->cfg_n_locations = cfg->n_locations;
    s->n_replen = cfg->n_replenishment;
    s->n_carriers = cfg->waves.n_carriers;
    *out = s;
    return 0;
fail_site:
    plan_site_close(s);
    return rc;
}

int plan_site_freeze(struct plan_site *s, const int32_t *days, size_t n)
{
    const int64_t *c;
    uint32_t nc;
    int rc;
    /* Carrier 0's table is computed for every carrier at once (site_day_cutoffs). */
    for (size_t i = 0; i < n + 2; i++) {
        int32_t day = i < n ? days[i] : s->today + (int32_t)(i - n);
        if (s->n_carriers && (rc = site_day_cutoffs(s, 0, day, &c, &nc)) < 0)
            return rc;
    }
    s->frozen = true;
    return 0;
}

int32_t plan_site_today(const struct plan_site *s)
{
    return s->today;
}

void plan_site_limit_orders(struct plan_site *s, uint32_t max_orders)
{
    if (max_orders && (s->wave.max_orders == 0 || max_orders < s->wave.max_orders))
        s->wave.max_orders = max_orders;
}

int plan_site_next_cutoff(struct plan_site *s, uint32_t carrier, int64_t after_min,
                          int64_t *cutoff_min)
{
    const int64_t *c;
    uint32_t n;
    int rc;
    if (carrier >= s->cfg->waves.n_carriers)
        return -EINVAL;
    /* Today and the next seven days cover every carrier with at least one cutoff. */
    for (int32_t day = s->today - 1; day <= s->today + 7; day++) {
        if ((rc = site_day_cutoffs(s, carrier, day, &c, &n)) < 0)
            return rc;
        for (uint32_t k = 0; k < n; k++)
            if (c[k] > after_min) {
                *cutoff_min = c[k];
                return 0;
            }
    }
    return -ENOENT;
}
