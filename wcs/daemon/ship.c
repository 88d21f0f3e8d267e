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

#define BACKLOG_DEFAULT 4096

/* One carton confirmation on its way to Redis. */
struct ship_req {
    struct wcsd *d;
    char sscc[WCSD_ID_MAX], order[WCSD_ID_MAX], lane[WCSD_ID_MAX], shipment[WCSD_ID_MAX];
    bool on_time, recovered;
    int64_t confirmed_ms; /* wall ms of the sorter's confirmation */
};

/* The confirmations not yet handed to Redis, oldest first (a ring of cap entries). Only the head
 * is ever being read (its shipment id), so the drain keeps the confirmations' order. */
struct ship_backlog {
    struct ship_req *q;
    size_t cap, head, len;
    bool reading;     /* the head's shipment id is being read */
    uint64_t dropped; /* confirmations refused because the backlog was full */
    bool alarm;
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
        /* The serials pack_commit wrote with the item ([] for an untracked or lot line, or an
         * item written before serial capture). */
        json_t *ser = json_object_get(it, "serials");
        json_t *l = json_pack("{s:O,s:O,s:O,s:o}", "sku", json_object_get(it, "sku"), "lot",
                              json_object_get(it, "lot"), "qty", json_object_get(it, "qty"),
                              "serials", json_is_array(ser) ? json_incref(ser) : json_array());
        if (l)
            json_array_append_new(lines, l);
    }
    e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:I,s:s,s:b,s:o}", "shipment", q->shipment, "order",
                  r->values[1], "carrier", r->values[3], "sscc", q->sscc, "lane", q->lane,
                  "weight_g", (double)strtoll(r->values[4], NULL, 10) / 1000.0, "weight_mg",
                  (json_int_t)strtoll(r->values[4], NULL, 10), "order_state", r->values[2],
                  "on_time", q->on_time, "lines", lines ? lines : json_array());
    /* When the sorter confirmed it (later than ts after a Redis outage), and whether a restart
     * recovered it from its tote record. */
    if (e) {
        json_object_set_new(e, "confirmed_ts", json_integer((json_int_t)q->confirmed_ms));
        json_object_set_new(e, "recovered", json_boolean(q->recovered));
    }
    if (e && d->bus)
        (void)bus_publish_event(d->bus, "ship", e);
    json_decref(e);
    json_decref(items);
    log_info("shipped shipment=%s order=%s sscc=%s lane=%s on_time=%d recovered=%d", q->shipment,
             r->values[1], q->sscc, q->lane, q->on_time, q->recovered);
    free(q);
}

/* ---- the backlog ---- */

static struct ship_backlog *backlog(struct wcsd *d)
{
    struct ship_backlog *b = d->ship_q;
    size_t cap = d->o.ship_backlog_max ? d->o.ship_backlog_max : BACKLOG_DEFAULT;
    if (b)
        return b;
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->q = calloc(cap, sizeof(*b->q));
    if (!b->q) {
        free(b);
        return NULL;
    }
    b->cap = cap;
    d->ship_q = b;
    return b;
}

static struct ship_req *head(struct ship_backlog *b)
{
    return b->len ? &b->q[b->head] : NULL;
}

static void pop(struct ship_backlog *b)
{
    b->head = (b->head + 1) % b->cap;
    b->len--;
    b->reading = false;
}

/* Keeps a confirmation; a full backlog refuses it (logged with the SSCC, counted, alarmed). */
static void push(struct wcsd *d, const struct ship_req *r)
{
    struct ship_backlog *b = backlog(d);
    char msg[320];
    if (!b || b->len == b->cap) {
        if (b)
            b->dropped++;
        log_warnx("carton confirmation not kept sscc=%s shipment=%s order=%s lane=%s: the shipping "
                  "backlog is full (%zu) while redis is down; the carton is shipped at its next "
                  "confirmation or from its tote record at the next start",
                  r->sscc, r->shipment[0] ? r->shipment : "?", r->order, r->lane,
                  b ? b->cap : (size_t)0);
        if (b && !b->alarm) {
            b->alarm = true;
            snprintf(msg, sizeof(msg),
                     "Carton confirmations are being lost: %zu are waiting for Redis and more do "
                     "not fit (first lost: %s). Bring Redis back; the log names every lost SSCC",
                     b->cap, r->sscc);
            daemon_alarm(d, "ship.backlog", true, "critical", msg);
        }
        return;
    }
    b->q[(b->head + b->len) % b->cap] = *r;
    b->len++;
}

static void on_carton(void *arg, int rc, const char *msg, const struct store_item *items, size_t n)
{
    struct wcsd *d = arg;
    struct ship_backlog *b;
    struct ship_req *h;
    const char *sh = NULL;
    /* wcsd_close: the store calls back what it held; the backlog is logged by ship_close. */
    if (rc == -ECANCELED || !(b = d->ship_q) || !(h = head(b)) || !b->reading)
        return;
    b->reading = false;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!items[i].nil)
            sh = items[i].str;
    if (rc != 0) {
        /* Redis went away again: the head stays, read again when it is back. */
        log_warnx("carton shipment not read sscc=%s: redis rc=%s %s; kept", h->sscc,
                  wcs_strerror(rc), msg ? msg : "");
        return;
    }
    if (!sh || store_id_check(sh) != 0) {
        log_warnx("carton not shipped sscc=%s order=%s: its tote record names no shipment", h->sscc,
                  h->order);
        pop(b);
    } else {
        snprintf(h->shipment, sizeof(h->shipment), "%s", sh);
    }
    ship_drain(d);
}

/* Hands the head to Redis: its shipment read first when the model does not know it, then
 * ship_confirm as a write (from then on the store resends it across link losses). Returns 0 when
 * the head was handed over or dropped, 1 when it waits (a read out, or Redis refused it now). */
static int send_head(struct wcsd *d, struct ship_backlog *b)
{
    struct ship_req *h = head(b), *q;
    char key[STORE_KEY_MAX];
    const char *argv[3] = {"HGET", key, "shipment"};
    int rc;
    if (!h->shipment[0]) {
        if (store_key(key, sizeof(key), d->site->id, "tote", h->sscc) < 0) {
            pop(b);
            return 0;
        }
        if (store_raw(d->store, false, 3, argv, on_carton, d) != 0)
            return 1;
        b->reading = true;
        return 1;
    }
    q = malloc(sizeof(*q));
    if (!q)
        return 1;
    *q = *h;
    struct store_ctx ctx = {.actor = "wcs",
                            .cause = h->recovered ? "carton in carrier lane (recovered at start)"
                                                  : "carton in carrier lane",
                            .ts_ms = h->confirmed_ms};
    rc = packing_ship(d->store, &ctx, q->shipment, q->sscc, q->order, q->lane, q->on_time,
                      on_shipped, q);
    if (rc == 0 || rc == -EINVAL) {
        if (rc != 0) {
            log_warnx("carton not shipped sscc=%s shipment=%s rc=%s", q->sscc, q->shipment,
                      wcs_strerror(rc));
            free(q);
        }
        pop(b);
        return 0;
    }
    free(q); /* WCS_E_FULL, WCS_E_LINK, -ENOMEM: kept, sent again later */
    return 1;
}

void ship_drain(struct wcsd *d)
{
    struct ship_backlog *b = d->ship_q;
    while (b && b->len > 0 && !b->reading && d->store && store_is_ready(d->store))
        if (send_head(d, b) != 0)
            break;
    if (b && b->len == 0 && b->alarm) {
        b->alarm = false;
        log_info("shipping backlog drained; confirmations lost while it was full=%" PRIu64,
                 b->dropped);
    }
}

size_t ship_backlog_len(const struct wcsd *d)
{
    return d->ship_q ? d->ship_q->len : 0;
}

void ship_close(struct wcsd *d)
{
    struct ship_backlog *b = d->ship_q;
    if (!b)
        return;
    for (size_t i = 0; i < b->len; i++) {
        const struct ship_req *r = &b->q[(b->head + i) % b->cap];
        log_warnx("carton confirmation not written at stop sscc=%s shipment=%s order=%s lane=%s "
                  "confirmed_ms=%" PRId64 ": shipped from its tote record at the next start if "
                  "its confirmation reached Redis, else at its next confirmation",
                  r->sscc, r->shipment[0] ? r->shipment : "?", r->order, r->lane, r->confirmed_ms);
    }
    free(b->q);
    free(b);
    d->ship_q = NULL;
}

/* A confirmation of carton t (an SSCC with an order) in carrier lane index lane at wall ms ts. */
static void confirm(struct wcsd *d, const struct wcsd_tote *t, uint32_t lane, int64_t ts_ms,
                    bool recovered)
{
    const struct cfg_lane *l = &d->site->lanes[lane];
    const struct cfg_carrier *c = NULL;
    struct ship_req r = {.d = d, .recovered = recovered, .confirmed_ms = ts_ms};
    if (l->dest_index >= 0 && (uint32_t)l->dest_index < d->site->waves.n_carriers)
        c = &d->site->waves.carriers[l->dest_index];
    snprintf(r.sscc, sizeof(r.sscc), "%s", t->id);
    snprintf(r.order, sizeof(r.order), "%s", t->order);
    snprintf(r.lane, sizeof(r.lane), "%s", l->id);
    snprintf(r.shipment, sizeof(r.shipment), "%s", t->shipment);
    r.on_time = ship_on_time(c, ship_local_minutes(site_zone(d), ts_ms / 1000));
    if (!store_is_ready(d->store) && !recovered)
        log_info("carton confirmation kept until redis is back sscc=%s shipment=%s lane=%s", r.sscc,
                 r.shipment[0] ? r.shipment : "?", r.lane);
    push(d, &r);
    ship_drain(d);
}

void ship_on_divert(struct wcsd *d, const struct wcsd_tote *t, int32_t lane)
{
    if (!t || lane < 0 || (uint32_t)lane >= d->site->n_lanes || !d->store || !is_sscc(t->id) ||
        !t->order[0] || d->site->lanes[lane].dest != CFG_DEST_CARRIER)
        return;
    confirm(d, t, (uint32_t)lane, clock_wall_ms(d->clock), false);
}

void ship_on_load(struct wcsd *d, const struct wcsd_tote *t, const struct store_field *f, size_t n)
{
    const char *state = NULL, *confirm_res = NULL;
    if (!t || !d->store || !is_sscc(t->id) || !t->order[0] || t->last_lane < 0 ||
        (uint32_t)t->last_lane >= d->site->n_lanes ||
        d->site->lanes[t->last_lane].dest != CFG_DEST_CARRIER || t->state != WCSD_TOTE_ARRIVED)
        return;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].name, "state") == 0)
            state = f[i].value;
        else if (strcmp(f[i].name, "confirm") == 0)
            confirm_res = f[i].value;
    }
    /* Packed (not shipped) and diverted into its carrier's lane: the sorter's confirmation was
     * recorded, its ship step was not (a stop or crash while it waited for Redis). */
    if (!state || strcmp(state, "packed") != 0 || !confirm_res ||
        strcmp(confirm_res, "diverted") != 0)
        return;
    log_warnx("carton confirmed in its carrier lane but not shipped: shipping it now sscc=%s "
              "shipment=%s lane=%s",
              t->id, t->shipment[0] ? t->shipment : "?", d->site->lanes[t->last_lane].id);
    confirm(d, t, (uint32_t)t->last_lane,
            t->diverted_at_ms > 0 ? t->diverted_at_ms : clock_wall_ms(d->clock), true);
}
