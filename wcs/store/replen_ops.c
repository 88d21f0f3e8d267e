/* Replenishment's store operations (ops.h, "replenishment"): opening the tasks the planner
 * chose for a pick face (replen_create), a replenisher's claim (replen_claim) and the scanned
 * move (replen_confirm). The command layer (wcs/command/replen.c) reads what decides the keys
 * first; each script re-checks it and refuses with the reason. */
#include "store/ops.h"

#include "base/err.h"
#include "hook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX STORE_KEY_MAX

/* *out = "wcs:{<site>}:<mid><a>" (malloc'd). */
static int keyf(char **out, const char *site, const char *mid, const char *a)
{
    char buf[KEY_MAX];
    int n = snprintf(buf, sizeof(buf), "wcs:{%s}:%s%s", site, mid, a);
    if (n < 0 || (size_t)n >= sizeof(buf) || !(*out = strdup(buf)))
        return n < 0 || (size_t)n >= sizeof(buf) ? -EINVAL : -ENOMEM;
    return 0;
}

static void free_all(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

int ops_replen_create(struct store *s, const struct store_ctx *ctx, const struct ops_replen *r,
                      store_cb cb, void *arg)
{
    size_t nk, na, k = 0, a = 0;
    char **keys, **args, q[KEY_MAX];
    const char *st;
    int rc = 0;
    if (!s || !r || store_path_check(r->face) != 0 || store_id_check(r->sku) != 0 ||
        r->first_task < 1 || r->n_moves < 1 || r->n_moves > OPS_REPLEN_MOVES_MAX ||
        r->n_face_keys > OPS_READ_MAX || (r->n_face_keys && !r->face_keys) || !r->moves ||
        (strcmp(r->trigger, "pick") != 0 && strcmp(r->trigger, "release") != 0))
        return -EINVAL;
    st = store_site(s);
    nk = 2 + r->n_face_keys + 2 * r->n_moves;
    na = 7 + 5 * r->n_moves;
    keys = calloc(nk, sizeof(*keys));
    args = calloc(na, sizeof(*args));
    if (!keys || !args) {
        free(keys);
        free(args);
        return -ENOMEM;
    }
    rc = keyf(&keys[k++], st, "task:seq", "");
    rc = rc ? rc : keyf(&keys[k++], st, "replen:open", "");
    for (size_t i = 0; rc == 0 && i < r->n_face_keys; i++)
        rc = strncmp(r->face_keys[i], "wcs:{", 5) != 0 ? -EINVAL
             : (keys[k] = strdup(r->face_keys[i]))     ? (k++, 0)
                                                       : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < r->n_moves; i++) {
        const struct ops_replen_move *m = &r->moves[i];
        if (m->qty < 1 || store_key_quant(q, sizeof(q), st, r->sku, m->from, m->lot) < 0)
            rc = -EINVAL;
        else
            rc = (keys[k] = strdup(q)) ? (k++, 0) : -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < r->n_moves; i++) {
        char id[32];
        snprintf(id, sizeof(id), "RPL-%" PRId64, r->first_task + (int64_t)i);
        rc = keyf(&keys[k++], st, "task:", id);
    }
    char num[4][24];
    snprintf(num[0], sizeof(num[0]), "%" PRIu32, r->min);
    snprintf(num[1], sizeof(num[1]), "%" PRId64, r->first_task);
    snprintf(num[2], sizeof(num[2]), "%zu", r->n_face_keys);
    snprintf(num[3], sizeof(num[3]), "%zu", r->n_moves);
    const char *head[] = {r->face, r->sku, num[0], num[1], r->trigger, num[2], num[3]};
    for (size_t i = 0; rc == 0 && i < 7; i++)
        rc = (args[a] = strdup(head[i])) ? (a++, 0) : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < r->n_moves; i++) {
        const struct ops_replen_move *m = &r->moves[i];
        char qty[24];
        snprintf(qty, sizeof(qty), "%" PRId64, m->qty);
        const char *v[] = {qty, m->lot ? m->lot : "", m->expiry ? m->expiry : "", m->from,
                           m->reason ? m->reason : ""};
        for (size_t j = 0; rc == 0 && j < 5; j++)
            rc = (args[a] = strdup(v[j])) ? (a++, 0) : -ENOMEM;
    }
    if (rc == 0) {
        struct store_ctx c = ctx ? *ctx : (struct store_ctx){0};
        c.op_id = NULL;
        rc = store_script_run(s, &c, "replen_create", false, (const char *const *)keys, k,
                              (const char *const *)args, a, cb, arg);
    }
    free_all(keys, k);
    free_all(args, a);
    free(keys);
    free(args);
    return rc == -E2BIG ? -EINVAL : rc;
}

int ops_replen_claim(struct store *s, const struct store_ctx *ctx, const char *task_id,
                     const char *user, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX];
    const char *st;
    if (!s || store_id_check(task_id) != 0 || !user || !user[0] || strlen(user) > 128)
        return -EINVAL;
    st = store_site(s);
    if (snprintf(k1, sizeof(k1), "wcs:{%s}:task:%s", st, task_id) >= (int)sizeof(k1) ||
        snprintf(k2, sizeof(k2), "wcs:{%s}:replen:faces", st) >= (int)sizeof(k2))
        return -EINVAL;
    const char *keys[] = {k1, k2}, *args[] = {task_id, user};
    return store_script_run(s, ctx, "replen_claim", false, keys, 2, args, 2, cb, arg);
}

int ops_replen_confirm(struct store *s, const struct store_ctx *ctx,
                       const struct ops_replen_scan *c, store_cb cb, void *arg)
{
    char k[7][KEY_MAX], qty[24];
    const char *st;
    if (!s || !c || store_id_check(c->task) != 0 || store_id_check(c->sku) != 0 ||
        store_path_check(c->source) != 0 || store_path_check(c->face) != 0 || !c->from_scanned ||
        !c->to_scanned || !c->gtin || !c->gtin_sku || c->qty < 1 || !c->user || !c->user[0] ||
        (c->lot && c->lot[0] && store_id_check(c->lot) != 0) ||
        (c->task_lot && c->task_lot[0] && store_id_check(c->task_lot) != 0))
        return -EINVAL;
    st = store_site(s);
    if (snprintf(k[0], KEY_MAX, "wcs:{%s}:task:%s", st, c->task) >= KEY_MAX ||
        snprintf(k[1], KEY_MAX, "wcs:{%s}:replen:open", st) >= KEY_MAX ||
        snprintf(k[2], KEY_MAX, "wcs:{%s}:replen:faces", st) >= KEY_MAX ||
        store_key_quant(k[3], KEY_MAX, st, c->sku, c->source, c->task_lot) < 0 ||
        store_key_quant(k[4], KEY_MAX, st, c->sku, c->face, c->task_lot) < 0 ||
        snprintf(k[5], KEY_MAX, "wcs:{%s}:loc:%s:quants", st, c->face) >= KEY_MAX ||
        snprintf(k[6], KEY_MAX, "wcs:{%s}:sku:%s:quants", st, c->sku) >= KEY_MAX)
        return -EINVAL;
    snprintf(qty, sizeof(qty), "%" PRId64, c->qty);
    const char *keys[] = {k[0], k[1], k[2], k[3], k[4], k[5], k[6]};
    const char *args[] = {c->task,
                          c->from_scanned,
                          c->gtin,
                          c->gtin_sku,
                          c->lot ? c->lot : "\x1f",
                          c->expiry ? c->expiry : "",
                          qty,
                          c->to_scanned,
                          c->user};
    return store_script_run(s, ctx, "replen_confirm", false, keys, 7, args, 9, cb, arg);
}
