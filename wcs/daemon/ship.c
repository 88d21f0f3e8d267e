/* Shipping (docs/daemon.md "Packing and shipping"): a packed carton (a tote record under its
 * SSCC) confirmed by the sorter in its carrier's lane makes its shipment shipped, the order
 * shipped with its last shipment, and evt/ship the ERP's shipment confirmation. Called from the
 * sortation flow's confirmation path (sort.c); Redis work through wcs/store/packing.h. */
#include "internal.h"

#include "base/err.h"
#include "base/log.h"
#include "base/tz.h"
#include "store/hook.h"
#include "store/packing.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ship_req {
    struct wcsd *d;
    char sscc[WCSD_ID_MAX], order[WCSD_ID_MAX], lane[WCSD_ID_MAX], shipment[WCSD_ID_MAX];
    bool on_time;
};

static bool is_sscc(const char *id)
{
    size_t n = strlen(id);
    if (n != 18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (id[i] < '0' || id[i] > '9')
            return false;
    return true;
}

/* The site's zone, loaded on first use and again when a reload changed the site's timezone
 * (base/tz reads the zone file: no process-wide TZ switch while other threads run). NULL when
 * the zone cannot be read (logged; the carton then counts as on time). */
static const struct wcs_tz *site_zone(struct wcsd *d)
{
    char err[160];
    const char *name = d->site->timezone;
    if (d->zone && d->zone_name && strcmp(d->zone_name, name) == 0)
        return d->zone;
    ship_fini(d);
    int rc = tz_load(&d->zone, name, err, sizeof(err));
    if (rc < 0) {
        log_warnx("time zone not loaded zone=%s rc=%s reason=\"%s\"", name, wcs_strerror(rc), err);
        return NULL;
    }
    if (!(d->zone_name = strdup(name))) {
        ship_fini(d);
        return NULL;
    }
    return d->zone;
}

void ship_fini(struct wcsd *d)
{
    tz_free(d->zone);
    free(d->zone_name);
    d->zone = NULL;
    d->zone_name = NULL;
}

int ship_local_minutes(const struct wcs_tz *zone, int64_t utc_s)
{
    if (!zone)
        return -1;
    int64_t l = tz_local_s(zone, utc_s) % 86400;
    return (int)((l < 0 ? l + 86400 : l) / 60);
}

bool ship_on_time(const struct cfg_carrier *c, int minutes)
{
    if (!c || c->n_cutoffs == 0 || minutes < 0)
        return true;
    return minutes <= (int)c->cutoffs_min[c->n_cutoffs - 1];
}

static void on_shipped(void *arg, const struct store_result *r)
{
    struct ship_req *q = arg;
    struct wcsd *d = q->d;
    json_t *items, *lines, *it, *e;
    size_t i;
    if (r->rc != 0 || r->n_values < 6) {
        log_warnx("shipment not confirmed shipment=%s sscc=%s rc=%s msg=%s", q->shipment, q->sscc,
                  wcs_strerror(r->rc), r->message ? r->message : "");
        free(q);
        return;
    }
    if (strcmp(r->values[0], "shipped") != 0) {
        /* Confirmed before (a carton seen twice in its lane): one evt/ship per shipment. */
        free(q);
        return;
    }
    if (strcmp(r->values[2], "shipped") == 0) {
        struct wcsd_order o;
        if (wcsd_order_get(d, r->values[1], &o) == 0) {
            o.state = WCSD_ORDER_SHIPPED;
            (void)wcsd_order_put(d, &o);
        }
    }
    if (q->on_time)
        d->k_ship_on_time++;
    else
        d->k_ship_late++;
    items = json_loads(r->values[5], 0, NULL);
    lines = json_array();
    json_array_foreach(items, i, it)
    {
        json_t *l =
            json_pack("{s:O,s:O,s:O,s:[]}", "sku", json_object_get(it, "sku"), "lot",
                      json_object_get(it, "lot"), "qty", json_object_get(it, "qty"), "serials");
        if (l)
            json_array_append_new(lines, l);
    }
    e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:I,s:s,s:b,s:o}", "shipment", q->shipment, "order",
                  r->values[1], "carrier", r->values[3], "sscc", q->sscc, "lane", q->lane,
                  "weight_g", (double)strtoll(r->values[4], NULL, 10) / 1000.0, "weight_mg",
                  (json_int_t)strtoll(r->values[4], NULL, 10), "order_state", r->values[2],
                  "on_time", q->on_time, "lines", lines ? lines : json_array());
    if (e && d->bus)
        (void)bus_publish_event(d->bus, "ship", e);
    json_decref(e);
    json_decref(items);
    log_info("shipped shipment=%s order=%s sscc=%s lane=%s on_time=%d", q->shipment, r->values[1],
             q->sscc, q->lane, q->on_time);
    free(q);
}

static void on_carton(void *arg, int rc, const char *msg, const struct store_item *items, size_t n)
{
    struct ship_req *q = arg;
    struct store_ctx ctx = {.actor = "wcs", .cause = "carton in carrier lane"};
    const char *sh = NULL;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!items[i].nil)
            sh = items[i].str;
    if (rc != 0 || !sh || store_id_check(sh) != 0) {
        if (rc != 0)
            log_warnx("carton not shipped sscc=%s: redis rc=%s %s", q->sscc, wcs_strerror(rc),
                      msg ? msg : "");
        free(q);
        return;
    }
    snprintf(q->shipment, sizeof(q->shipment), "%s", sh);
    rc = packing_ship(q->d->store, &ctx, q->shipment, q->sscc, q->order, q->lane, q->on_time,
                      on_shipped, q);
    if (rc != 0) {
        log_warnx("carton not shipped sscc=%s shipment=%s rc=%s", q->sscc, q->shipment,
                  wcs_strerror(rc));
        free(q);
    }
}

void ship_on_divert(struct wcsd *d, const struct wcsd_tote *t, int32_t lane)
{
    const struct cfg_lane *l;
    const struct cfg_carrier *c = NULL;
    char key[STORE_KEY_MAX];
    const char *argv[3] = {"HGET", key, "shipment"};
    struct ship_req *q;
    if (!t || lane < 0 || (uint32_t)lane >= d->site->n_lanes || !d->store || !is_sscc(t->id) ||
        !t->order[0])
        return;
    l = &d->site->lanes[lane];
    if (l->dest != CFG_DEST_CARRIER)
        return;
    if (l->dest_index >= 0 && (uint32_t)l->dest_index < d->site->waves.n_carriers)
        c = &d->site->waves.carriers[l->dest_index];
    if (store_key(key, sizeof(key), d->site->id, "tote", t->id) < 0)
        return;
    q = calloc(1, sizeof(*q));
    if (!q)
        return;
    q->d = d;
    snprintf(q->sscc, sizeof(q->sscc), "%s", t->id);
    snprintf(q->order, sizeof(q->order), "%s", t->order);
    snprintf(q->lane, sizeof(q->lane), "%s", l->id);
    q->on_time = ship_on_time(c, ship_local_minutes(site_zone(d), clock_wall_ms(d->clock) / 1000));
    if (store_raw(d->store, false, 3, argv, on_carton, q) != 0) {
        log_warnx("carton not shipped sscc=%s: redis not ready", t->id);
        free(q);
    }
}
