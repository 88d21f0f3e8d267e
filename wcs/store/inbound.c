/* The store side of receiving and returns (ops.h, "receiving and returns"): key building and
 * argument lists of the scripts receipt_expect, receipt_scan, receipt_close, quality_release,
 * putaway_confirm, return_receive and return_inspect, and the read-only pre-reads the command
 * layer makes before them (through wave_read). Each script re-checks what was read. */
#include "store/ops.h"

#include "base/err.h"
#include "hook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define KEY_MAX STORE_KEY_MAX

/* wcs:{site}:kind:id[:suffix] (id checked as an identifier, or as a path when path is true). */
static int key(char *buf, const struct store *s, const char *kind, const char *id, bool path,
               const char *suffix)
{
    int n;
    if (!id || (path ? store_path_check(id) : store_id_check(id)) != 0)
        return -EINVAL;
    n = snprintf(buf, KEY_MAX, "wcs:{%s}:%s:%s%s%s", store_site(s), kind, id, suffix ? ":" : "",
                 suffix ? suffix : "");
    return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

static int key0(char *buf, const struct store *s, const char *word)
{
    int n = snprintf(buf, KEY_MAX, "wcs:{%s}:%s", store_site(s), word);
    return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

static int quant(char *buf, const struct store *s, const char *sku, const char *loc,
                 const char *lot)
{
    return store_key_quant(buf, KEY_MAX, store_site(s), sku, loc, lot ? lot : "") > 0 ? 0 : -EINVAL;
}

/* The keys of a new putaway task: the counter, the task hash (id may be "": then the counter
 * stands in, unused) and the open set. */
static int task_keys(char *seq, char *task, char *open, const struct store *s, const char *id)
{
    if (key0(seq, s, "task:seq") || key0(open, s, "tasks:putaway"))
        return -EINVAL;
    if (!id || !id[0]) {
        snprintf(task, KEY_MAX, "%s", seq);
        return 0;
    }
    return key(task, s, "task", id, false, NULL);
}

/* The record of a serial, wcs:{site}:serial:<sku>:<serial> (docs/redis.md, "Serials"), when
 * serial; else a copy of stand_in (a declared key the script leaves alone). */
static int serial_record(char *buf, const struct store *s, bool serial, const char *sku,
                         const char *lot, const char *stand_in)
{
    int n;
    if (!serial) {
        snprintf(buf, KEY_MAX, "%s", stand_in);
        return 0;
    }
    if (!sku || !lot || store_id_check(sku) != 0 || store_id_check(lot) != 0)
        return -EINVAL;
    n = snprintf(buf, KEY_MAX, "wcs:{%s}:serial:%s:%s", store_site(s), sku, lot);
    return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

#define RUN(name, keys, args)                                                                      \
    store_script_run(s, ctx, name, false, keys, sizeof(keys) / sizeof(keys[0]), args,              \
                     sizeof(args) / sizeof(args[0]), cb, arg)

static const char *z(const char *v)
{
    return v ? v : "";
}

int ops_read_record(struct store *s, const struct store_ctx *ctx, const char *kind, const char *id,
                    const char *const *fields, size_t n, store_cb cb, void *arg)
{
    char k[KEY_MAX];
    const char *a[OPS_READ_MAX];
    if (!s || !kind || !fields || n < 1 || n > OPS_READ_MAX ||
        (strcmp(kind, "receipt") != 0 && strcmp(kind, "rma") != 0 && strcmp(kind, "task") != 0) ||
        key(k, s, kind, id, false, NULL))
        return -EINVAL;
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        if (!fields[i] || !fields[i][0])
            return -EINVAL;
        a[i] = fields[i];
    }
    return store_hash_read(s, k, a, n, cb, arg);
}

int ops_read_task_seq(struct store *s, const struct store_ctx *ctx, store_cb cb, void *arg)
{
    char k[KEY_MAX];
    if (!s || key0(k, s, "task:seq"))
        return -EINVAL;
    const char *keys[] = {k};
    const char *a[] = {"get"};
    return RUN("wave_read", keys, a);
}

int ops_read_loc_quants(struct store *s, const struct store_ctx *ctx, const char *const *locs,
                        size_t n, store_cb cb, void *arg)
{
    char kbuf[OPS_READ_MAX][KEY_MAX];
    const char *keys[OPS_READ_MAX];
    const char *a[] = {"sets"};
    if (!s || !locs || n < 1 || n > OPS_READ_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (key(kbuf[i], s, "loc", locs[i], true, "quants"))
            return -EINVAL;
        keys[i] = kbuf[i];
    }
    return store_script_run(s, ctx, "wave_read", false, keys, n, a, 1, cb, arg);
}

int ops_receipt_expect(struct store *s, const struct store_ctx *ctx, const char *receipt_id,
                       const char *supplier, const char *warehouse, const char *lines_json,
                       int64_t units, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], u[24];
    if (!s || !lines_json || units < 1 || key(k1, s, "receipt", receipt_id, false, NULL) ||
        key0(k2, s, "receipts:open"))
        return -EINVAL;
    snprintf(u, sizeof(u), "%" PRId64, units);
    const char *keys[] = {k1, k2};
    const char *args[] = {receipt_id, z(supplier), z(warehouse), lines_json, u};
    return RUN("receipt_expect", keys, args);
}

int ops_receipt_scan(struct store *s, const struct store_ctx *ctx, const struct ops_receipt_scan *a,
                     store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], k4[KEY_MAX], k5[KEY_MAX], k6[KEY_MAX], k7[KEY_MAX];
    char line[16], before[24], qty[24];
    if (!s || !a || a->qty < 1 || key(k1, s, "receipt", a->receipt, false, NULL) ||
        quant(k2, s, a->sku, a->location, a->lot) ||
        key(k3, s, "loc", a->location, true, "quants") ||
        key(k4, s, "sku", a->sku, false, "quants") || task_keys(k5, k6, k7, s, a->task))
        return -EINVAL;
    snprintf(line, sizeof(line), "%" PRIu32, a->line);
    snprintf(before, sizeof(before), "%" PRId64, a->line_received);
    snprintf(qty, sizeof(qty), "%" PRId64, a->qty);
    const char *keys[] = {k1, k2, k3, k4, k5, k6, k7};
    const char *args[] = {a->receipt,          line,         before,       a->sku,
                          z(a->lot),           z(a->expiry), qty,          a->location,
                          a->hold ? "1" : "0", z(a->task),   z(a->target), z(a->reason_code),
                          z(a->reason),        z(a->today),  z(a->station)};
    return RUN("receipt_scan", keys, args);
}

int ops_receipt_close(struct store *s, const struct store_ctx *ctx, const char *receipt_id,
                      store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX];
    if (!s || key(k1, s, "receipt", receipt_id, false, NULL) || key0(k2, s, "receipts:open"))
        return -EINVAL;
    const char *keys[] = {k1, k2};
    const char *args[] = {receipt_id};
    return RUN("receipt_close", keys, args);
}

int ops_quality_release(struct store *s, const struct store_ctx *ctx, const struct ops_quality *a,
                        store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], k4[KEY_MAX], k5[KEY_MAX], k6[KEY_MAX], k7[KEY_MAX],
        qty[24];
    if (!s || !a || a->qty < 1 || quant(k1, s, a->sku, a->location, a->lot) ||
        quant(k2, s, a->sku, a->scrap_location, a->lot) ||
        key(k3, s, "loc", a->scrap_location, true, "quants") ||
        key(k4, s, "sku", a->sku, false, "quants") ||
        task_keys(k5, k6, k7, s, a->scrap ? "" : a->task))
        return -EINVAL;
    snprintf(qty, sizeof(qty), "%" PRId64, a->qty);
    const char *keys[] = {k1, k2, k3, k4, k5, k6, k7};
    const char *args[] = {a->scrap ? "scrap" : "release",
                          qty,
                          a->sku,
                          a->location,
                          z(a->lot),
                          a->scrap_location,
                          a->scrap ? "" : z(a->task),
                          z(a->target),
                          z(a->reason_code),
                          z(a->reason)};
    return RUN("quality_release", keys, args);
}

int ops_putaway_confirm(struct store *s, const struct store_ctx *ctx, const struct ops_putaway *a,
                        store_cb cb, void *arg)
{
    enum { NK = 6, NA = 12 };
    char kb[NK][KEY_MAX], nums[8][24], sizes[2 * OPS_READ_MAX][24];
    const char *keys[NK + OPS_READ_MAX], *args[NA + 2 * OPS_READ_MAX];
    size_t nk = 0, na = 0;
    if (!s || !a || a->qty < 0 || a->n_quants > OPS_READ_MAX - NK - 3 ||
        (a->n_quants && (!a->quants || !a->quant_weight_g || !a->quant_volume_cm3)) ||
        key(kb[0], s, "task", a->task, false, NULL) || quant(kb[1], s, a->sku, a->source, a->lot) ||
        quant(kb[2], s, a->sku, a->location, a->lot) ||
        key(kb[3], s, "loc", a->location, true, "quants") ||
        key(kb[4], s, "sku", a->sku, false, "quants") || key0(kb[5], s, "tasks:putaway"))
        return -EINVAL;
    for (size_t i = 0; i < NK; i++)
        keys[nk++] = kb[i];
    for (size_t i = 0; i < a->n_quants; i++)
        keys[nk++] = a->quants[i];
    snprintf(nums[0], 24, "%" PRId64, a->qty);
    snprintf(nums[1], 24, "%" PRIu64, a->cap_units);
    snprintf(nums[2], 24, "%" PRIu64, a->cap_weight_g);
    snprintf(nums[3], 24, "%" PRIu64, a->cap_volume_cm3);
    snprintf(nums[4], 24, "%" PRIu64, a->unit_weight_g);
    snprintf(nums[5], 24, "%" PRIu64, a->unit_volume_cm3);
    const char *fixed[NA] = {a->task, a->sku,  z(a->lot), a->source, a->location, nums[0],
                             nums[1], nums[2], nums[3],   nums[4],   nums[5],     z(a->how)};
    for (size_t i = 0; i < NA; i++)
        args[na++] = fixed[i];
    for (size_t i = 0; i < a->n_quants; i++) {
        snprintf(sizes[2 * i], 24, "%" PRIu64, a->quant_weight_g[i]);
        snprintf(sizes[2 * i + 1], 24, "%" PRIu64, a->quant_volume_cm3[i]);
        args[na++] = sizes[2 * i];
        args[na++] = sizes[2 * i + 1];
    }
    return store_script_run(s, ctx, "putaway_confirm", false, keys, nk, args, na, cb, arg);
}

int ops_return_receive(struct store *s, const struct store_ctx *ctx, const char *rma_id,
                       const char *sku, const char *lot, int64_t qty, const char *location,
                       const char *station, const char *today, bool serial, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], k4[KEY_MAX], k5[KEY_MAX], k6[KEY_MAX], q[24];
    if (!s || qty < 1 || key(k1, s, "rma", rma_id, false, NULL) ||
        quant(k2, s, sku, location, lot) || key(k3, s, "loc", location, true, "quants") ||
        key(k4, s, "sku", sku, false, "quants") || key0(k5, s, "serials") ||
        serial_record(k6, s, serial, sku, lot, k1))
        return -EINVAL;
    snprintf(q, sizeof(q), "%" PRId64, qty);
    const char *keys[] = {k1, k2, k3, k4, k5, k6};
    const char *args[] = {rma_id,   sku,        z(lot),   q,
                          location, z(station), z(today), serial ? "serial" : ""};
    return RUN("return_receive", keys, args);
}

int ops_return_inspect(struct store *s, const struct store_ctx *ctx, const struct ops_inspect *a,
                       store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], k4[KEY_MAX], k5[KEY_MAX], k6[KEY_MAX], k7[KEY_MAX],
        k8[KEY_MAX], k9[KEY_MAX], k10[KEY_MAX], qty[24];
    if (!s || !a || a->qty < 1 || key(k1, s, "rma", a->rma, false, NULL) ||
        quant(k2, s, a->sku, a->location, a->lot) ||
        quant(k3, s, a->sku, a->scrap_location, a->lot) ||
        key(k4, s, "loc", a->scrap_location, true, "quants") ||
        key(k5, s, "sku", a->sku, false, "quants") ||
        task_keys(k6, k7, k8, s, a->scrap ? "" : a->task) || key0(k9, s, "serials") ||
        serial_record(k10, s, a->serial, a->sku, a->lot, k1))
        return -EINVAL;
    snprintf(qty, sizeof(qty), "%" PRId64, a->qty);
    const char *keys[] = {k1, k2, k3, k4, k5, k6, k7, k8, k9, k10};
    const char *args[] = {a->rma,
                          a->sku,
                          z(a->lot),
                          qty,
                          a->scrap ? "scrap" : "restock",
                          z(a->note),
                          a->location,
                          a->scrap_location,
                          a->scrap ? "" : z(a->task),
                          z(a->target),
                          z(a->reason_code),
                          z(a->reason),
                          a->serial ? "serial" : ""};
    return RUN("return_inspect", keys, args);
}
