/* Cross-reference checks once every file is built: names that must resolve (categories,
 * products, locations, devices of the right kind, lanes, stations, carriers, roles), the PLC
 * register map of each scan point and the overlap of register blocks on one PLC. Names are
 * read back from the node tree of each item, which also gives their positions. */
#include "loader.h"

#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scalar under key in an item's node, or NULL. */
static const char *fstr(const struct org *o, const char *key)
{
    const struct ynode *n = ymap_get(o->node, key);
    return n && n->kind == Y_SCALAR ? n->str : NULL;
}

static const struct ynode *fseq(const struct org *o, const char *key)
{
    const struct ynode *n = ymap_get(o->node, key);
    return n && n->kind == Y_SEQ ? n : NULL;
}

static int32_t find_loc(struct loader *L, const struct org *o, const char *key, const char *what)
{
    const char *p = fstr(o, key);
    uint32_t i;
    if (!p)
        return -1;
    if (strmap_get(&L->m_loc, p, &i))
        return (int32_t)i;
    lerr(L, o, key, "unknown location '%s'%s", p, what);
    return -2;
}

/* Resolves a device name of the expected kind; -1 when absent, -2 on an error (reported). */
static int32_t find_dev(struct loader *L, const struct org *o, const char *key,
                        enum cfg_dev_kind kind)
{
    const char *id = fstr(o, key);
    uint32_t i;
    if (!id)
        return -1;
    if (!strmap_get(&L->m_dev, id, &i)) {
        char list[300];
        size_t n = 0;
        list[0] = '\0';
        for (uint32_t d = 0; d < L->site->n_devices && n < sizeof(list); d++)
            if (L->site->devices[d].kind == kind)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
                                      L->site->devices[d].id);
        lerr(L, o, key, "unknown %s '%s'; %s devices: %s", cfg_dev_kind_name(kind), id,
             cfg_dev_kind_name(kind), n ? list : "none");
        return -2;
    }
    if (L->site->devices[i].kind != kind) {
        lerr(L, o, key, "device '%s' is a %s, not a %s", id,
             cfg_dev_kind_name(L->site->devices[i].kind), cfg_dev_kind_name(kind));
        return -2;
    }
    return (int32_t)i;
}

static bool is_under(const struct cfg_site *s, uint32_t loc, uint32_t root)
{
    for (int32_t l = (int32_t)loc; l >= 0; l = s->locations[l].parent)
        if ((uint32_t)l == root)
            return true;
    return false;
}

void product_category(struct loader *L, uint32_t i)
{
    const struct org *o = &L->o_prod.v[i];
    const char *c;
    uint32_t ci;
    if (!o->node)
        return; /* from a products file: checked as it was read */
    c = fstr(o, "category");
    if (!c)
        return;
    if (strmap_get(&L->m_cat, c, &ci))
        L->site->products[i].category = (int32_t)ci;
    else
        lerr(L, o, "category", "unknown category '%s'; declare it under categories", c);
}

static void check_products(struct loader *L)
{
    for (uint32_t i = 0; i < L->site->n_products; i++)
        product_category(L, i);
}

/* Purchase rules: the product or category must exist, and each may have one rule. */
static void check_purchase_rules(struct loader *L)
{
    struct cfg_site *s = L->site;
    for (uint32_t i = 0; i < s->n_purchase_rules; i++) {
        const struct org *o = &L->o_pur.v[i];
        struct cfg_purchase_rule *r = &s->purchase_rules[i];
        const char *name, *key = "product";
        uint32_t x;
        if ((name = fstr(o, "product"))) {
            if (!strmap_get(&L->m_sku, name, &x)) {
                lerr(L, o, "product", "unknown product '%s'", name);
                continue;
            }
            r->product = (int32_t)x;
        } else if ((name = fstr(o, "category"))) {
            key = "category";
            if (!strmap_get(&L->m_cat, name, &x)) {
                lerr(L, o, "category", "unknown category '%s'; declare it under categories", name);
                continue;
            }
            r->category = (int32_t)x;
        } else {
            continue;
        }
        for (uint32_t j = 0; j < i; j++) {
            const struct cfg_purchase_rule *q = &s->purchase_rules[j];
            if ((r->product >= 0 && q->product == r->product) ||
                (r->category >= 0 && q->category == r->category)) {
                const struct ynode *first = ymap_get(L->o_pur.v[j].node, key);
                char at[600];
                snprintf(at, sizeof(at), "%s:%u:%u", q->origin.file,
                         first ? first->line : q->origin.line, first ? first->col : q->origin.col);
                lerr(L, o, key, "%s '%s' already has a purchase rule (first defined at %s)", key,
                     name, at);
                break;
            }
        }
    }
}

static void check_rules(struct loader *L)
{
    struct cfg_site *s = L->site;
    for (uint32_t i = 0; i < s->n_putaway_rules; i++) {
        const struct org *o = &L->o_put.v[i];
        struct cfg_putaway_rule *r = &s->putaway_rules[i];
        const char *name;
        uint32_t x;
        int32_t loc = find_loc(L, o, "location", "");
        if (loc >= 0)
            r->location = (uint32_t)loc;
        if ((name = fstr(o, "product"))) {
            if (strmap_get(&L->m_sku, name, &x))
                r->product = (int32_t)x;
            else
                lerr(L, o, "product", "unknown product '%s'", name);
        }
        if ((name = fstr(o, "category"))) {
            if (strmap_get(&L->m_cat, name, &x))
                r->category = (int32_t)x;
            else
                lerr(L, o, "category", "unknown category '%s'; declare it under categories", name);
        }
    }
    for (uint32_t i = 0; i < s->n_replenishment; i++) {
        const struct org *o = &L->o_rep.v[i];
        struct cfg_replenishment *r = &s->replenishment[i];
        const char *name = fstr(o, "product");
        uint32_t x;
        int32_t loc = find_loc(L, o, "location", ""), src = find_loc(L, o, "source", "");
        if (strmap_get(&L->m_sku, name, &x))
            r->product = x;
        else
            lerr(L, o, "product", "unknown product '%s'", name);
        if (loc >= 0) {
            r->location = (uint32_t)loc;
            if (!s->locations[loc].pick_face)
                lerr(L, o, "location",
                     "location '%s' is not a pick face (pick_face: true); "
                     "replenishment fills pick faces",
                     s->locations[loc].path);
        }
        if (src >= 0) {
            r->source = (uint32_t)src;
            if (loc >= 0 && is_under(s, (uint32_t)loc, (uint32_t)src))
                lerr(L, o, "source", "source '%s' contains the pick face itself",
                     s->locations[src].path);
        }
    }
    check_purchase_rules(L);
}

static void check_stations(struct loader *L)
{
    struct cfg_site *s = L->site;
    bool labels_reported = false;
    for (uint32_t i = 0; i < s->n_stations; i++) {
        const struct org *o = &L->o_st.v[i];
        struct cfg_station *st = &s->stations[i];
        int32_t loc = find_loc(L, o, "location", "");
        st->location = loc >= 0 ? loc : -1;
        st->scanner = find_dev(L, o, "scanner", CFG_DEV_SCANNER);
        st->scale = find_dev(L, o, "scale", CFG_DEV_SCALE);
        st->printer = find_dev(L, o, "printer", CFG_DEV_PRINTER);
        st->fallback_printer = find_dev(L, o, "fallback_printer", CFG_DEV_PRINTER);
        if (st->kind == CFG_STATION_PACK) {
            if (st->scale == -1 && st->printer == -1)
                lerr(L, o, "", "a pack station needs a scale and a printer");
            else if (st->scale == -1)
                lerr(L, o, "", "a pack station needs a scale (check-weighing)");
            else if (st->printer == -1)
                lerr(L, o, "", "a pack station needs a printer (shipping labels)");
            if (!s->labels.present && !labels_reported) {
                labels_reported = true;
                lerr(L, o, "",
                     "a pack station needs the site's labels: section (company_prefix, "
                     "ship_from) to print SSCC labels");
            }
        }
        if (st->printer >= 0 && st->printer == st->fallback_printer)
            lerr(L, o, "fallback_printer", "the fallback printer is the station's own printer");
        st->scanner = st->scanner < 0 ? -1 : st->scanner;
        st->scale = st->scale < 0 ? -1 : st->scale;
        st->printer = st->printer < 0 ? -1 : st->printer;
        st->fallback_printer = st->fallback_printer < 0 ? -1 : st->fallback_printer;
    }
}

static void check_lanes(struct loader *L)
{
    struct cfg_site *s = L->site;
    for (uint32_t i = 0; i < s->n_lanes; i++) {
        const struct org *o = &L->o_lane.v[i];
        struct cfg_lane *l = &s->lanes[i];
        const char *d = fstr(o, "destination");
        uint32_t x;
        if (!d)
            continue;
        if (strcmp(d, "qa") == 0)
            l->dest = CFG_DEST_QA;
        else if (strcmp(d, "reject") == 0)
            l->dest = CFG_DEST_REJECT;
        else if (strcmp(d, "recirc") == 0)
            l->dest = CFG_DEST_RECIRC;
        else if (strmap_get(&L->m_st, d, &x)) {
            l->dest = CFG_DEST_STATION;
            l->dest_index = (int32_t)x;
            if (s->stations[x].kind != CFG_STATION_PACK)
                lerr(L, o, "destination",
                     "station '%s' is a %s station; a lane leads to a pack "
                     "station",
                     d, cfg_station_kind_name(s->stations[x].kind));
        } else if (strmap_get(&L->m_car, d, &x)) {
            l->dest = CFG_DEST_CARRIER;
            l->dest_index = (int32_t)x;
        } else {
            lerr(L, o, "destination",
                 "unknown destination '%s'; expected a pack station id, a carrier code, qa, "
                 "reject or recirc",
                 d);
        }
    }
    for (uint32_t i = 0; i < s->waves.n_carriers; i++) {
        const struct org *o = &L->o_car.v[i];
        const char *lane = fstr(o, "lane");
        uint32_t x;
        if (!lane)
            continue;
        if (!strmap_get(&L->m_lane, lane, &x)) {
            lerr(L, o, "lane", "unknown lane '%s'", lane);
            continue;
        }
        s->waves.carriers[i].lane = (int32_t)x;
        if (s->lanes[x].dest != CFG_DEST_CARRIER || s->lanes[x].dest_index != (int32_t)i)
            lerr(L, o, "lane",
                 "lane '%s' does not lead to carrier '%s' (its destination is "
                 "'%s')",
                 lane, s->waves.carriers[i].code, fstr(&L->o_lane.v[x], "destination"));
    }
}

struct block {
    uint32_t sp;
    bool write;
    uint32_t start, end; /* PDU addresses, end exclusive */
};

/* Resolves the register map of scan point i: field addresses, block spans, field overlaps. */
static bool map_registers(struct loader *L, uint32_t i, struct block *rb, struct block *wb)
{
    struct cfg_site *s = L->site;
    struct cfg_scan_point *sp = &s->scan_points[i];
    const struct org *o = &L->o_sp.v[i];
    const struct cfg_device *plc = &s->devices[sp->plc];
    const struct ynode *regs = ymap_get(o->node, "registers");
    uint32_t base = plc->address_base;
    uint32_t start[CFG_REG_COUNT], end[CFG_REG_COUNT];
    const char *rel[CFG_REG_COUNT];
    char relbuf[CFG_REG_COUNT][48];
    bool ok = true;
    uint64_t rbase = 0, wbase = 0;
    cfg_parse_uint(fstr(o, "read_base"), UINT32_MAX, &rbase, NULL);
    cfg_parse_uint(fstr(o, "write_base"), UINT32_MAX, &wbase, NULL);
    for (int b = 0; b < 2; b++) {
        uint64_t v = b ? wbase : rbase;
        const char *key = b ? "write_base" : "read_base";
        if (v < base || v - base > 65535) {
            lerr(L, o, key, "address %llu is outside %u..%u (address_base %u of PLC '%s')",
                 (unsigned long long)v, base, 65535 + base, base, plc->id);
            ok = false;
        }
    }
    if (!ok)
        return false;
    for (int r = 0; r < CFG_REG_COUNT; r++) {
        const struct ynode *ov = regs ? ymap_get(regs, cfg_reg_name((enum cfg_reg)r)) : NULL;
        uint64_t addr;
        if (ov) {
            cfg_parse_uint(ov->str, UINT32_MAX, &addr, NULL);
            snprintf(relbuf[r], sizeof(relbuf[r]), "registers.%s", cfg_reg_name((enum cfg_reg)r));
            rel[r] = relbuf[r];
        } else {
            addr =
                (r < CFG_REG_READ_COUNT ? rbase : wbase) + cfg_reg_default_offset((enum cfg_reg)r);
            rel[r] = r < CFG_REG_READ_COUNT ? "read_base" : "write_base";
        }
        if (addr < base || addr - base + cfg_reg_width((enum cfg_reg)r, sp->barcode_regs) > 65536) {
            lerr(L, o, rel[r], "register %s at %llu is outside the address space %u..%u",
                 cfg_reg_name((enum cfg_reg)r), (unsigned long long)addr, base, 65535 + base);
            ok = false;
            continue;
        }
        start[r] = (uint32_t)(addr - base);
        end[r] = start[r] + cfg_reg_width((enum cfg_reg)r, sp->barcode_regs);
        sp->reg[r] = (uint16_t)start[r];
    }
    if (!ok)
        return false;
    for (int r = 1; r < CFG_REG_COUNT; r++)
        for (int q = 0; q < r; q++) {
            bool same_block = (r < CFG_REG_READ_COUNT) == (q < CFG_REG_READ_COUNT);
            if (start[r] < end[q] && start[q] < end[r]) {
                lerr(L, o, rel[r], "register %s (%u..%u) overlaps %s (%u..%u)%s",
                     cfg_reg_name((enum cfg_reg)r), start[r] + base, end[r] - 1 + base,
                     cfg_reg_name((enum cfg_reg)q), start[q] + base, end[q] - 1 + base,
                     same_block ? "" : " of the other block");
                ok = false;
            }
        }
    for (int b = 0; b < 2; b++) {
        int lo = b ? CFG_REG_READ_COUNT : 0, hi = b ? CFG_REG_COUNT : CFG_REG_READ_COUNT;
        uint32_t mn = UINT32_MAX, mx = 0, lim = b ? CFG_MODBUS_WRITE_MAX : CFG_MODBUS_READ_MAX;
        for (int r = lo; r < hi; r++) {
            mn = start[r] < mn ? start[r] : mn;
            mx = end[r] > mx ? end[r] : mx;
        }
        if (mx - mn > lim) {
            lerr(L, o, b ? "write_base" : "read_base",
                 "the %s block spans %u registers (%u..%u); one Modbus %s request carries at "
                 "most %u",
                 b ? "write" : "read", mx - mn, mn + base, mx - 1 + base, b ? "write" : "read",
                 lim);
            ok = false;
        }
        if (b) {
            sp->write_start = (uint16_t)mn;
            sp->write_count = (uint16_t)(mx - mn);
            *wb = (struct block){i, true, mn, mx};
        } else {
            sp->read_start = (uint16_t)mn;
            sp->read_count = (uint16_t)(mx - mn);
            *rb = (struct block){i, false, mn, mx};
        }
    }
    return ok;
}

static void check_scan_points(struct loader *L)
{
    struct cfg_site *s = L->site;
    struct block *blocks = calloc(2 * (size_t)s->n_scan_points + 1, sizeof(*blocks));
    bool *used = calloc(s->n_lanes + 1, sizeof(*used));
    size_t nb = 0;
    if (!blocks || !used) {
        free(blocks);
        free(used);
        L->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < s->n_scan_points; i++) {
        const struct org *o = &L->o_sp.v[i];
        struct cfg_scan_point *sp = &s->scan_points[i];
        const struct ynode *lanes = fseq(o, "lanes");
        int32_t plc = find_dev(L, o, "plc", CFG_DEV_PLC);
        int32_t sc = find_dev(L, o, "scanner", CFG_DEV_SCANNER);
        const char *rj = fstr(o, "reject_lane"), *rc = fstr(o, "recirc_lane");
        sp->scanner = sc < 0 ? -1 : sc;
        for (size_t k = 0; lanes && k < lanes->n; k++) {
            const char *id = lanes->items[k]->str;
            char rel[32];
            uint32_t x;
            bool dup = false;
            snprintf(rel, sizeof(rel), "lanes[%zu]", k);
            if (!strmap_get(&L->m_lane, id, &x)) {
                lerr(L, o, rel, "unknown lane '%s'", id);
                continue;
            }
            for (uint32_t q = 0; q < sp->n_lanes; q++) {
                if (sp->lanes[q] == x) {
                    lerr(L, o, rel, "lane '%s' is listed twice", id);
                    dup = true;
                    break;
                }
                if (s->lanes[sp->lanes[q]].number == s->lanes[x].number) {
                    /* Reported, but the lane stays listed so no follow-up errors appear. */
                    lerr(L, o, rel,
                         "lanes '%s' and '%s' share number %u; a number names one "
                         "lane of a scan point",
                         s->lanes[sp->lanes[q]].id, id, s->lanes[x].number);
                    break;
                }
            }
            if (dup)
                continue;
            used[x] = true;
            sp->lanes[sp->n_lanes++] = x;
        }
        for (int k = 0; k < 2; k++) {
            const char *name = k ? rc : rj;
            const char *key = k ? "recirc_lane" : "reject_lane";
            enum cfg_dest want = k ? CFG_DEST_RECIRC : CFG_DEST_REJECT;
            int32_t found = -1;
            for (uint32_t q = 0; q < sp->n_lanes; q++) {
                const struct cfg_lane *l = &s->lanes[sp->lanes[q]];
                if (name ? strcmp(l->id, name) == 0 : (l->dest == want && found < 0))
                    found = (int32_t)sp->lanes[q];
            }
            if (name && found < 0)
                lerr(L, o, key, "'%s' is not one of this scan point's lanes", name);
            else if (name && s->lanes[found].dest != want)
                lerr(L, o, key, "lane '%s' leads to '%s', not to %s", name,
                     fstr(&L->o_lane.v[found], "destination"), k ? "recirc" : "reject");
            if (k)
                sp->recirc_lane = found;
            else
                sp->reject_lane = found;
        }
        if (sp->reject_lane < 0 && !rj)
            lerr(L, o, "lanes",
                 "no reject lane: name one with reject_lane or list a lane "
                 "whose destination is reject");
        if (plc < 0)
            continue;
        sp->plc = (uint32_t)plc;
        if (map_registers(L, i, &blocks[nb], &blocks[nb + 1]))
            nb += 2;
    }
    /* Blocks of one PLC must not overlap across scan points. */
    for (size_t a = 0; a < nb; a++)
        for (size_t b = 0; b < a; b++) {
            const struct block *x = &blocks[a], *y = &blocks[b];
            const struct cfg_scan_point *sx = &s->scan_points[x->sp], *sy = &s->scan_points[y->sp];
            uint32_t base = s->devices[sx->plc].address_base;
            if (x->sp == y->sp || sx->plc != sy->plc)
                continue;
            if (x->start < y->end && y->start < x->end)
                lerr(L, &L->o_sp.v[x->sp], x->write ? "write_base" : "read_base",
                     "the %s block (%u..%u) overlaps the %s block (%u..%u) of scan point '%s' on "
                     "PLC '%s'",
                     x->write ? "write" : "read", x->start + base, x->end - 1 + base,
                     y->write ? "write" : "read", y->start + base, y->end - 1 + base, sy->id,
                     s->devices[sx->plc].id);
        }
    for (uint32_t l = 0; l < s->n_lanes; l++)
        if (!used[l])
            lerr(L, &L->o_lane.v[l], "id", "lane '%s' is not listed by any scan point",
                 s->lanes[l].id);
    free(blocks);
    free(used);
}

static void check_users(struct loader *L)
{
    struct cfg_site *s = L->site;
    for (uint32_t i = 0; i < s->n_users; i++) {
        const struct org *o = &L->o_user.v[i];
        const struct ynode *roles = fseq(o, "roles");
        struct cfg_user *u = &s->users[i];
        for (size_t k = 0; roles && k < roles->n; k++) {
            const char *r = roles->items[k]->str;
            char rel[32];
            uint32_t x;
            snprintf(rel, sizeof(rel), "roles[%zu]", k);
            if (!strmap_get(&L->m_role, r, &x)) {
                lerr(L, o, rel, "unknown role '%s'; declare it under roles", r);
                continue;
            }
            u->roles[u->n_roles++] = x;
        }
    }
}

int build_finish(struct loader *L)
{
    struct cfg_site *s = L->site;
    if (L->oom)
        return -ENOMEM;
    if (!s->id) {
        errs_add(L->errs, L->files[0].path, 1, 1, "site",
                 "missing required key 'site' (id, name, timezone)");
        return 0;
    }
    check_products(L);
    check_rules(L);
    check_stations(L);
    check_lanes(L);
    check_scan_points(L);
    check_users(L);
    if (!s->redis.host) {
        s->redis.host = "127.0.0.1";
        s->redis.port = 6379;
        s->redis.timeout_ms = 500;
        s->redis.journal_maxlen = 1000000;
    }
    if (!s->mqtt.uri) {
        s->mqtt.uri = "tcp://127.0.0.1:1883";
        s->mqtt.keepalive_s = 30;
        s->mqtt.qos = 1;
    }
    return L->oom ? -ENOMEM : 0;
}
