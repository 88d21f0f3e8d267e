/* The packing flow's store operations (packing.h): keys built from checked ids, arguments laid
 * out for the scripts pack_step, pack_label, pack_commit and ship_confirm (wcs/store/lua/). */
#include "store/packing.h"

#include "base/err.h"
#include "hook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define STEP_ARGS_MAX (4 + 2 * 48)

static int key(char *buf, const struct store *s, const char *kind, const char *id,
               const char *suffix)
{
    int n;
    if (!id || store_id_check(id) != 0)
        return -EINVAL;
    n = snprintf(buf, STORE_KEY_MAX, "wcs:{%s}:%s:%s%s%s", store_site(s), kind, id,
                 suffix ? ":" : "", suffix ? suffix : "");
    return n > 0 && n < STORE_KEY_MAX ? 0 : -EINVAL;
}

int packing_step(struct store *s, const struct store_ctx *ctx, const char *station, const char *op,
                 const char *counter, const struct store_field *sf, size_t n_sf,
                 const char *const *totes, size_t n_totes, const struct store_field *tf,
                 size_t n_tf, store_cb cb, void *arg)
{
    char keys_buf[1 + PACKING_TOTES_MAX][STORE_KEY_MAX], nbuf[12];
    const char *keys[1 + PACKING_TOTES_MAX], *args[STEP_ARGS_MAX];
    size_t na = 0;
    if (!s || !op || !station || n_totes > PACKING_TOTES_MAX ||
        4 + 2 * (n_sf + n_tf) > STEP_ARGS_MAX || (n_tf > 0 && n_totes == 0) ||
        key(keys_buf[0], s, "station", station, NULL) != 0)
        return -EINVAL;
    keys[0] = keys_buf[0];
    for (size_t i = 0; i < n_totes; i++) {
        if (key(keys_buf[1 + i], s, "tote", totes[i], NULL) != 0)
            return -EINVAL;
        keys[1 + i] = keys_buf[1 + i];
    }
    snprintf(nbuf, sizeof(nbuf), "%zu", n_sf);
    args[na++] = op;
    args[na++] = station;
    args[na++] = counter ? counter : "";
    args[na++] = nbuf;
    for (size_t i = 0; i < n_sf; i++) {
        args[na++] = sf[i].name;
        args[na++] = sf[i].value;
    }
    for (size_t i = 0; i < n_tf; i++) {
        args[na++] = tf[i].name;
        args[na++] = tf[i].value;
    }
    return store_script_run(s, ctx, "pack_step", true, keys, 1 + n_totes, args, na, cb, arg);
}

int packing_label(struct store *s, const struct store_ctx *ctx, const char *station,
                  const char *order, int64_t weight_mg, int64_t expected_mg, store_cb cb, void *arg)
{
    char k1[STORE_KEY_MAX], k2[STORE_KEY_MAX], k3[STORE_KEY_MAX], w[24], e[24];
    if (!s || key(k1, s, "station", station, NULL) || store_id_check(order ? order : "") != 0 ||
        store_key(k2, sizeof(k2), store_site(s), "sscc:seq", NULL) < 0 ||
        store_key(k3, sizeof(k3), store_site(s), "shipment:seq", NULL) < 0)
        return -EINVAL;
    snprintf(w, sizeof(w), "%" PRId64, weight_mg);
    snprintf(e, sizeof(e), "%" PRId64, expected_mg);
    const char *keys[] = {k1, k2, k3};
    const char *args[] = {station, order, w, e};
    return store_script_run(s, ctx, "pack_label", false, keys, 3, args, 4, cb, arg);
}

int packing_commit(struct store *s, const struct store_ctx *ctx, const struct packing_commit *c,
                   store_cb cb, void *arg)
{
    char kb[4 + 3 * PACKING_TOTES_MAX][STORE_KEY_MAX], w[24], e[24], u[24];
    const char *keys[4 + 3 * PACKING_TOTES_MAX];
    if (!s || !c || c->n_totes == 0 || c->n_totes > PACKING_TOTES_MAX || !c->items_json ||
        !c->reset_json || !c->carrier || key(kb[0], s, "station", c->station, NULL) ||
        key(kb[1], s, "shipment", c->shipment, NULL) || key(kb[2], s, "tote", c->sscc, NULL) ||
        key(kb[3], s, "order", c->order, NULL))
        return -EINVAL;
    for (size_t i = 0; i < c->n_totes; i++)
        if (key(kb[4 + 3 * i], s, "tote", c->totes[i], NULL) ||
            key(kb[5 + 3 * i], s, "tote", c->totes[i], "contents") ||
            key(kb[6 + 3 * i], s, "tote", c->totes[i], "serials"))
            return -EINVAL;
    for (size_t i = 0; i < 4 + 3 * c->n_totes; i++)
        keys[i] = kb[i];
    snprintf(w, sizeof(w), "%" PRId64, c->weight_mg);
    snprintf(e, sizeof(e), "%" PRId64, c->expected_mg);
    snprintf(u, sizeof(u), "%" PRIu64, c->units);
    const char *args[] = {c->station, c->shipment, c->order,      c->sscc, c->carrier,
                          w,          e,           c->items_json, u,       c->reset_json};
    return store_script_run(s, ctx, "pack_commit", true, keys, 4 + 3 * c->n_totes, args, 10, cb,
                            arg);
}

int packing_ship(struct store *s, const struct store_ctx *ctx, const char *shipment,
                 const char *sscc, const char *order, const char *lane, bool on_time, store_cb cb,
                 void *arg)
{
    char k1[STORE_KEY_MAX], k2[STORE_KEY_MAX], k3[STORE_KEY_MAX], k4[STORE_KEY_MAX];
    if (!s || key(k1, s, "shipment", shipment, NULL) || key(k2, s, "tote", sscc, NULL) ||
        key(k3, s, "order", order, NULL) || !lane || store_id_check(lane) != 0 ||
        store_key(k4, sizeof(k4), store_site(s), "orders:open", NULL) < 0)
        return -EINVAL;
    const char *keys[] = {k1, k2, k3, k4};
    const char *args[] = {shipment, sscc, lane, on_time ? "1" : "0"};
    return store_script_run(s, ctx, "ship_confirm", true, keys, 4, args, 4, cb, arg);
}
