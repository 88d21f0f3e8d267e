/* The daemon's in-memory model: totes, orders and lane overrides in string-keyed maps, their
 * accessors for the command handlers (daemon.h), and the start-up load from Redis (SCAN +
 * HGETALL of the tote, order and lane hashes), which is part of READY. */
#include "internal.h"

#include "base/err.h"
#include "base/hash.h"
#include "base/log.h"
#include "store/hook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- map: open addressing, linear probing, FNV-1a; records start with their id ---- */

static int grow(struct hmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    void **slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        void *r = m->slots[i];
        size_t j;
        if (!r)
            continue;
        j = hash_str(r) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = r;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int hmap_put(struct hmap *m, void *rec, void **old_out)
{
    size_t j;
    if (old_out)
        *old_out = NULL;
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -ENOMEM;
    j = hash_str(rec) & (m->cap - 1);
    while (m->slots[j]) {
        if (strcmp(m->slots[j], rec) == 0) {
            if (old_out)
                *old_out = m->slots[j];
            else
                free(m->slots[j]);
            m->slots[j] = rec;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j] = rec;
    m->n++;
    return 0;
}

void *hmap_get(const struct hmap *m, const char *id)
{
    size_t j;
    if (!m->cap)
        return NULL;
    j = hash_str(id) & (m->cap - 1);
    while (m->slots[j]) {
        if (strcmp(m->slots[j], id) == 0)
            return m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

void hmap_fini(struct hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i]);
    free(m->slots);
    *m = (struct hmap){0};
}

/* ---- names ---- */

static const char *const order_states[] = {"draft",  "confirmed", "waved",   "picking",
                                           "picked", "packed",    "shipped", "cancelled"};
static const char *const tote_states[] = {"open",   "routed",   "arrived",
                                          "recirc", "rejected", "lost"};

int wcsd_order_state_parse(const char *s, enum wcsd_order_state *out)
{
    for (size_t i = 0; s && i < sizeof(order_states) / sizeof(order_states[0]); i++)
        if (strcmp(s, order_states[i]) == 0) {
            *out = (enum wcsd_order_state)i;
            return 0;
        }
    return -EINVAL;
}

const char *wcsd_order_state_name(enum wcsd_order_state s)
{
    return (unsigned)s < sizeof(order_states) / sizeof(order_states[0]) ? order_states[s] : "?";
}

enum wcsd_tote_state model_tote_state_parse(const char *s)
{
    for (size_t i = 0; s && i < sizeof(tote_states) / sizeof(tote_states[0]); i++)
        if (strcmp(s, tote_states[i]) == 0)
            return (enum wcsd_tote_state)i;
    return WCSD_TOTE_OPEN;
}

const char *model_tote_state_name(enum wcsd_tote_state s)
{
    return (unsigned)s < sizeof(tote_states) / sizeof(tote_states[0]) ? tote_states[s] : "?";
}

/* The tote's "dest" field: "", "station:<id>", "carrier:<code>", "qa" or "reject". */
const char *model_dest_text(const struct wcsd_tote *t, char *buf, size_t cap)
{
    switch (t->dest) {
    case WCSD_DEST_AUTO:
        snprintf(buf, cap, "%s", "");
        break;
    case WCSD_DEST_STATION:
        snprintf(buf, cap, "station:%s", t->dest_id);
        break;
    case WCSD_DEST_CARRIER:
        snprintf(buf, cap, "carrier:%s", t->dest_id);
        break;
    case WCSD_DEST_QA:
        snprintf(buf, cap, "%s", "qa");
        break;
    case WCSD_DEST_REJECT:
        snprintf(buf, cap, "%s", "reject");
        break;
    }
    return buf;
}

static void dest_parse(const char *v, struct wcsd_tote *t)
{
    t->dest = WCSD_DEST_AUTO;
    t->dest_id[0] = '\0';
    if (!v || !v[0])
        return;
    if (strncmp(v, "station:", 8) == 0 && store_id_check(v + 8) == 0) {
        t->dest = WCSD_DEST_STATION;
        snprintf(t->dest_id, sizeof(t->dest_id), "%s", v + 8);
    } else if (strncmp(v, "carrier:", 8) == 0 && store_id_check(v + 8) == 0) {
        t->dest = WCSD_DEST_CARRIER;
        snprintf(t->dest_id, sizeof(t->dest_id), "%s", v + 8);
    } else if (strcmp(v, "qa") == 0) {
        t->dest = WCSD_DEST_QA;
    } else if (strcmp(v, "reject") == 0) {
        t->dest = WCSD_DEST_REJECT;
    }
}

/* ---- accessors ---- */

int wcsd_order_get(struct wcsd *d, const char *id, struct wcsd_order *out)
{
    const struct wcsd_order *o = id ? hmap_get(&d->orders, id) : NULL;
    if (!o)
        return WCS_E_UNKNOWN;
    *out = *o;
    return 0;
}

int wcsd_tote_get(struct wcsd *d, const char *id, struct wcsd_tote *out)
{
    const struct wcsd_tote *t = id ? hmap_get(&d->totes, id) : NULL;
    if (!t)
        return WCS_E_UNKNOWN;
    *out = *t;
    return 0;
}

int wcsd_order_put(struct wcsd *d, const struct wcsd_order *o)
{
    struct wcsd_order *c;
    int rc;
    if (!o || store_id_check(o->id) != 0 || (unsigned)o->state > WCSD_ORDER_CANCELLED)
        return -EINVAL;
    c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    *c = *o;
    rc = hmap_put(&d->orders, c, NULL);
    if (rc) {
        free(c);
        return rc;
    }
    sort_table_order(d, c);
    return 0;
}

int wcsd_tote_put(struct wcsd *d, const struct wcsd_tote *t)
{
    struct wcsd_tote *c;
    int rc;
    if (!t || store_id_check(t->id) != 0 || (unsigned)t->dest > WCSD_DEST_REJECT ||
        (unsigned)t->state > WCSD_TOTE_LOST)
        return -EINVAL;
    c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    *c = *t;
    rc = hmap_put(&d->totes, c, NULL);
    if (rc) {
        free(c);
        return rc;
    }
    sort_table_tote(d, c);
    return 0;
}

/* ---- lane overrides ---- */

static int set_override(struct wcsd *d, const char *id, bool enabled)
{
    struct lane_override *lo = hmap_get(&d->lane_overrides, id);
    int rc;
    if (lo) {
        lo->enabled = enabled;
        return 0;
    }
    lo = calloc(1, sizeof(*lo));
    if (!lo)
        return -ENOMEM;
    snprintf(lo->id, sizeof(lo->id), "%s", id);
    lo->enabled = enabled;
    rc = hmap_put(&d->lane_overrides, lo, NULL);
    if (rc)
        free(lo);
    return rc;
}

/* The config gives each lane's initial state; an override set at run time (or loaded from
 * Redis) wins, so a supervisor's disable survives restarts and reloads. */
void model_apply_lane_overrides(struct wcsd *d)
{
    for (uint32_t i = 0; i < d->site->n_lanes; i++) {
        const struct lane_override *lo = hmap_get(&d->lane_overrides, d->site->lanes[i].id);
        d->lane_enabled[i] = lo ? lo->enabled : d->site->lanes[i].enabled;
    }
    sort_table_lanes(d);
}

int wcsd_lane_set_enabled(struct wcsd *d, const char *lane_id, bool enabled, const char *actor,
                          const char *cause)
{
    struct store_field f[1] = {{"enabled", enabled ? "1" : "0"}};
    json_t *body;
    int32_t li = -1;
    int rc;
    if (!lane_id || !actor || !actor[0])
        return -EINVAL;
    for (uint32_t i = 0; i < d->site->n_lanes; i++)
        if (strcmp(d->site->lanes[i].id, lane_id) == 0)
            li = (int32_t)i;
    if (li < 0)
        return WCS_E_UNKNOWN;
    rc = set_override(d, lane_id, enabled);
    if (rc)
        return rc;
    d->lane_enabled[li] = enabled;
    sort_table_lanes(d); /* published before this returns: the next scan sees it */
    if (d->store) {
        struct store_ctx ctx = {.actor = actor, .cause = cause ? cause : "lane state"};
        rc = store_tote_record(d->store, &ctx, "lane", lane_id,
                               enabled ? "lane_enable" : "lane_disable", NULL, f, 1, NULL, NULL);
        if (rc)
            log_warnx("lane state not persisted lane=%s rc=%s", lane_id, wcs_strerror(rc));
    }
    body = json_pack("{s:s,s:b,s:b,s:s}", "id", lane_id, "enabled", enabled, "full",
                     d->lane_full[li], "by", actor);
    if (body && d->bus)
        (void)bus_set_state(d->bus, "lane", lane_id, body);
    json_decref(body);
    log_info("lane %s lane=%s actor=%s", enabled ? "enabled" : "disabled", lane_id, actor);
    return 0;
}

/* ---- start-up load ---- */

static void on_order(void *arg, const char *id, const struct store_field *f, size_t n)
{
    struct wcsd *d = arg;
    struct wcsd_order o = {0};
    snprintf(o.id, sizeof(o.id), "%s", id);
    o.state = WCSD_ORDER_DRAFT;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].name, "state") == 0)
            (void)wcsd_order_state_parse(f[i].value, &o.state);
        else if (strcmp(f[i].name, "carrier") == 0 && store_id_check(f[i].value) == 0)
            snprintf(o.carrier, sizeof(o.carrier), "%s", f[i].value);
        else if (strcmp(f[i].name, "pack_station") == 0 && store_id_check(f[i].value) == 0)
            snprintf(o.pack_station, sizeof(o.pack_station), "%s", f[i].value);
    }
    if (wcsd_order_put(d, &o) != 0 && d->load_rc == 0)
        d->load_rc = -ENOMEM;
}

static void tote_parse(struct wcsd *d, const char *id, const struct store_field *f, size_t n,
                       struct wcsd_tote *out)
{
    struct wcsd_tote t = {0};
    snprintf(t.id, sizeof(t.id), "%s", id);
    t.last_point = -1;
    t.last_lane = -1;
    for (size_t i = 0; i < n; i++) {
        const char *k = f[i].name, *v = f[i].value;
        if (strcmp(k, "order") == 0 && store_id_check(v) == 0)
            snprintf(t.order, sizeof(t.order), "%s", v);
        else if (strcmp(k, "dest") == 0)
            dest_parse(v, &t);
        else if (strcmp(k, "sort_state") == 0)
            t.state = model_tote_state_parse(v);
        else if (strcmp(k, "recirc") == 0)
            t.recirc = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "diverted_at") == 0)
            t.diverted_at_ms = strtoll(v, NULL, 10);
        else if (strcmp(k, "shipment") == 0 && store_id_check(v) == 0)
            snprintf(t.shipment, sizeof(t.shipment), "%s", v);
        else if (strcmp(k, "last_point") == 0 || strcmp(k, "last_lane") == 0) {
            int32_t idx = -1;
            if (k[5] == 'p') {
                for (uint32_t j = 0; j < d->site->n_scan_points; j++)
                    if (strcmp(d->site->scan_points[j].id, v) == 0)
                        idx = (int32_t)j;
                t.last_point = idx;
            } else {
                for (uint32_t j = 0; j < d->site->n_lanes; j++)
                    if (strcmp(d->site->lanes[j].id, v) == 0)
                        idx = (int32_t)j;
                t.last_lane = idx;
            }
        }
    }
    *out = t;
}

static void on_tote(void *arg, const char *id, const struct store_field *f, size_t n)
{
    struct wcsd *d = arg;
    struct wcsd_tote t;
    tote_parse(d, id, f, n, &t);
    if (wcsd_tote_put(d, &t) != 0 && d->load_rc == 0)
        d->load_rc = -ENOMEM;
    ship_on_load(d, &t, f, n); /* a carton whose shipping a restart interrupted */
}

static void on_lane(void *arg, const char *id, const struct store_field *f, size_t n)
{
    struct wcsd *d = arg;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, "enabled") == 0 && set_override(d, id, strcmp(f[i].value, "1") == 0))
            d->load_rc = -ENOMEM;
}

static void on_load_done(void *arg, const struct store_result *r)
{
    struct wcsd *d = arg;
    if (r->rc != 0 && d->load_rc == 0)
        d->load_rc = r->rc;
    if (--d->loads_pending > 0)
        return;
    d->loading = false;
    if (d->load_rc != 0) {
        /* Retried on the next store up report (a partial load is merged, never duplicated). */
        log_warnx("state load failed rc=%s", wcs_strerror(d->load_rc));
        return;
    }
    model_apply_lane_overrides(d);
    d->state_loaded = true;
    log_info("state loaded totes=%zu orders=%zu", d->totes.n, d->orders.n);
    daemon_check_ready(d);
}

int model_load_start(struct wcsd *d)
{
    static const char *const kinds[] = {"order", "tote", "lane"};
    static const store_record_fn fns[] = {on_order, on_tote, on_lane};
    if (d->loading || d->state_loaded)
        return 0;
    d->loading = true;
    d->load_rc = 0;
    d->loads_pending = 0;
    for (size_t i = 0; i < 3; i++) {
        int rc = store_load_records(d->store, kinds[i], fns[i], on_load_done, d);
        if (rc != 0) {
            d->load_rc = rc;
            break;
        }
        d->loads_pending++;
    }
    if (d->loads_pending == 0) {
        d->loading = false;
        return d->load_rc;
    }
    return 0;
}

/* ---- one order, after a command changed it ---- */

struct refresh {
    struct wcsd *d;
    char id[WCSD_ID_MAX];
    char kind[8]; /* "order", "tote", "wave" */
};

static int refresh_start(struct wcsd *d, const char *kind, const char *id, store_raw_cb cb);

static void on_refresh(void *arg, int rc, const char *msg, const struct store_item *items, size_t n)
{
    struct refresh *r = arg;
    struct wcsd *d = r->d;
    struct store_field f[32];
    size_t nf = 0;
    if (rc != 0) {
        log_warnx("%s not refreshed %s=%s rc=%s %s", r->kind, r->kind, r->id, wcs_strerror(rc),
                  msg ? msg : "");
        free(r);
        return;
    }
    for (size_t i = 0; i + 1 < n && nf < sizeof(f) / sizeof(f[0]); i += 2)
        if (!items[i].nil && !items[i + 1].nil)
            f[nf++] = (struct store_field){items[i].str, items[i + 1].str};
    if (strcmp(r->kind, "order") == 0) {
        if (nf > 0)
            on_order(d, r->id, f, nf);
    } else if (nf > 0) {
        /* A tote: order and dest come from the record the command wrote; the sorting state
         * stays the model's (Redis may lag it by the bookkeeping still queued). */
        struct wcsd_tote t;
        const struct wcsd_tote *cur = hmap_get(&d->totes, r->id);
        tote_parse(d, r->id, f, nf, &t);
        if (cur) {
            t.state = cur->state;
            t.recirc = cur->recirc;
            t.last_point = cur->last_point;
            t.last_lane = cur->last_lane;
            t.diverted_at_ms = cur->diverted_at_ms;
        }
        if (wcsd_tote_put(d, &t) != 0)
            log_warnx("tote not refreshed tote=%s: out of memory", r->id);
    }
    free(r);
}

/* A wave's orders changed state together (plan, release, cancel): refresh each. */
static void on_wave_orders(void *arg, int rc, const char *msg, const struct store_item *items,
                           size_t n)
{
    struct refresh *r = arg;
    json_t *orders, *v;
    size_t i;
    if (rc != 0 || n < 1 || items[0].nil) {
        log_warnx("wave orders not refreshed wave=%s rc=%s %s", r->id, wcs_strerror(rc),
                  msg ? msg : "");
        free(r);
        return;
    }
    orders = json_loadb(items[0].str, items[0].len, 0, NULL);
    json_array_foreach(orders, i, v)
    {
        if (json_is_string(v))
            model_refresh_order(r->d, json_string_value(v));
    }
    json_decref(orders);
    free(r);
}

static int refresh_start(struct wcsd *d, const char *kind, const char *id, store_raw_cb cb)
{
    char key[256];
    const char *argv[3] = {cb == on_wave_orders ? "HGET" : "HGETALL", key, "orders"};
    struct refresh *r;
    if (!d->store || store_id_check(id) != 0 ||
        store_key(key, sizeof(key), d->site->id, kind, id) < 0)
        return -EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->d = d;
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->kind, sizeof(r->kind), "%s", kind);
    if (store_raw(d->store, false, cb == on_wave_orders ? 3 : 2, argv, cb, r) != 0) {
        log_warnx("%s not refreshed %s=%s: redis not ready", kind, kind, id);
        free(r);
        return WCS_E_LINK;
    }
    return 0;
}

void model_refresh_order(struct wcsd *d, const char *id)
{
    (void)refresh_start(d, "order", id, on_refresh);
}

void model_refresh_tote(struct wcsd *d, const char *id)
{
    (void)refresh_start(d, "tote", id, on_refresh);
}

void model_order_picked(struct wcsd *d, const char *id, const char *state)
{
    const struct wcsd_order *cur = hmap_get(&d->orders, id);
    struct wcsd_order o;
    enum wcsd_order_state st;
    if (!cur || wcsd_order_state_parse(state, &st) != 0) {
        model_refresh_order(d, id);
        return;
    }
    if (cur->state == st)
        return;
    o = *cur;
    o.state = st;
    if (wcsd_order_put(d, &o) != 0)
        log_warnx("order not updated order=%s: out of memory", id);
}

void model_tote_picked(struct wcsd *d, const char *id, const char *order)
{
    const struct wcsd_tote *cur = hmap_get(&d->totes, id);
    if (!cur || strcmp(cur->order, order) != 0)
        model_refresh_tote(d, id);
}

void model_refresh_wave(struct wcsd *d, const char *id)
{
    (void)refresh_start(d, "wave", id, on_wave_orders);
}
