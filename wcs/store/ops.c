/* The command layer's store operations (ops.h): each builds its keys from the site and checked
 * ids, then runs its Lua script through the store's private script hook (hook.h). Scripts that
 * reach keys they derive from a declared key (an order's wave, an approval's quant) build them
 * from the site prefix passed as an argument: all stay under the site's hash tag. */
#include "store/ops.h"

#include "base/err.h"
#include "hook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define KEY_MAX STORE_KEY_MAX

const char *ops_refusal_text(const char *msg)
{
    static const char *const codes[] = {"ESTATE ", "EUNKNOWN ", "EARG ", NULL};
    if (!msg)
        return "";
    for (int i = 0; codes[i]; i++)
        if (strncmp(msg, codes[i], strlen(codes[i])) == 0)
            return msg + strlen(codes[i]);
    return msg;
}

/* wcs:{site}:kind:id[:suffix] (id checked). Returns 0 or -EINVAL. */
static int key(char *buf, const struct store *s, const char *kind, const char *id,
               const char *suffix)
{
    int n;
    if (store_id_check(id) != 0)
        return -EINVAL;
    n = snprintf(buf, KEY_MAX, "wcs:{%s}:%s:%s%s%s", store_site(s), kind, id, suffix ? ":" : "",
                 suffix ? suffix : "");
    return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

/* wcs:{site}:word (a fixed schema word). */
static int key0(char *buf, const struct store *s, const char *word)
{
    int n = snprintf(buf, KEY_MAX, "wcs:{%s}:%s", store_site(s), word);
    return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

static void prefix(char *buf, const struct store *s)
{
    snprintf(buf, KEY_MAX, "wcs:{%s}:", store_site(s));
}

static bool opt_id_ok(const char *id)
{
    return !id || !id[0] || store_id_check(id) == 0;
}

static int run(struct store *s, const struct store_ctx *ctx, const char *name, bool write,
               const char *const *keys, size_t n_keys, const char *const *args, size_t n_args,
               store_cb cb, void *arg)
{
    return store_script_run(s, ctx, name, write, keys, n_keys, args, n_args, cb, arg);
}

#define RUN(name, write, keys, args)                                                               \
    run(s, ctx, name, write, keys, sizeof(keys) / sizeof(keys[0]), args,                           \
        sizeof(args) / sizeof(args[0]), cb, arg)

int ops_order_upsert(struct store *s, const struct store_ctx *ctx, const char *order_id,
                     const char *header_json, const char *lines_json, bool draft, store_cb cb,
                     void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX];
    if (!s || !header_json || !lines_json || key(k1, s, "order", order_id, NULL) ||
        key(k2, s, "order", order_id, "lines") || key0(k3, s, "orders:open"))
        return -EINVAL;
    const char *keys[] = {k1, k2, k3};
    const char *args[] = {order_id, header_json, lines_json, draft ? "draft" : "confirmed"};
    return RUN("order_upsert", false, keys, args);
}

int ops_order_action(struct store *s, const struct store_ctx *ctx, const char *order_id,
                     const char *action, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], p[KEY_MAX];
    if (!s || !action || key(k1, s, "order", order_id, NULL) ||
        key(k2, s, "order", order_id, "resv") || key0(k3, s, "orders:open"))
        return -EINVAL;
    if (strcmp(action, "hold") != 0 && strcmp(action, "release") != 0 &&
        strcmp(action, "cancel") != 0)
        return -EINVAL;
    prefix(p, s);
    const char *keys[] = {k1, k2, k3};
    const char *args[] = {p, order_id, action};
    return RUN("order_state", false, keys, args);
}

int ops_wave_plan(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                  const char *carrier, uint32_t max_orders, uint32_t max_lines, uint32_t max_units,
                  const char *priorities_json, const char *excluded_json, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], p[KEY_MAX], mo[16], ml[16], mu[16];
    if (!s || !priorities_json || !excluded_json || !opt_id_ok(carrier) ||
        key(k1, s, "wave", wave_id, NULL) || key0(k2, s, "orders:open"))
        return -EINVAL;
    prefix(p, s);
    snprintf(mo, sizeof(mo), "%" PRIu32, max_orders);
    snprintf(ml, sizeof(ml), "%" PRIu32, max_lines);
    snprintf(mu, sizeof(mu), "%" PRIu32, max_units);
    const char *keys[] = {k1, k2};
    const char *args[] = {p,  wave_id, carrier ? carrier : "", mo,
                          ml, mu,      priorities_json,        excluded_json};
    return RUN("wave_plan", false, keys, args);
}

int ops_wave_action(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                    const char *action, store_cb cb, void *arg)
{
    char k1[KEY_MAX], p[KEY_MAX];
    if (!s || !action || key(k1, s, "wave", wave_id, NULL) ||
        (strcmp(action, "release") != 0 && strcmp(action, "cancel") != 0))
        return -EINVAL;
    prefix(p, s);
    const char *keys[] = {k1};
    const char *args[] = {p, wave_id, action};
    return RUN("wave_state", false, keys, args);
}

int ops_approval_request(struct store *s, const struct store_ctx *ctx,
                         const struct store_line *line, const char *reason, int64_t value_cents,
                         const char *why, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], p[KEY_MAX], qty[24], val[24] = "";
    const char *lot;
    if (!s || !line || !reason || !reason[0] || !why || line->qty == 0 ||
        key0(k1, s, "approval:seq"))
        return -EINVAL;
    lot = line->lot ? line->lot : "";
    if (store_key_quant(k2, sizeof(k2), store_site(s), line->sku, line->loc, lot) < 0)
        return -EINVAL;
    prefix(p, s);
    snprintf(qty, sizeof(qty), "%" PRId64, line->qty);
    if (value_cents >= 0)
        snprintf(val, sizeof(val), "%" PRId64, value_cents);
    const char *keys[] = {k1, k2};
    const char *args[] = {p, line->sku, line->loc, lot, qty, reason, val, why};
    return RUN("approval_request", false, keys, args);
}

int ops_approval_apply(struct store *s, const struct store_ctx *ctx, const char *approval_id,
                       const char *approver, store_cb cb, void *arg)
{
    char k1[KEY_MAX], p[KEY_MAX];
    if (!s || !approver || !approver[0] || key(k1, s, "approval", approval_id, NULL))
        return -EINVAL;
    prefix(p, s);
    const char *keys[] = {k1};
    const char *args[] = {p, approval_id, approver};
    return RUN("approval_apply", false, keys, args);
}

int ops_rma_authorize(struct store *s, const struct store_ctx *ctx, const char *rma_id,
                      const char *order_id, const char *lines_json, bool credit, store_cb cb,
                      void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX];
    if (!s || !lines_json || key(k1, s, "rma", rma_id, NULL) ||
        key(k2, s, "order", order_id, NULL) || key(k3, s, "order", order_id, "lines"))
        return -EINVAL;
    const char *keys[] = {k1, k2, k3};
    const char *args[] = {rma_id, order_id, lines_json, credit ? "1" : "0"};
    return RUN("rma_authorize", false, keys, args);
}

int ops_device_set(struct store *s, const struct store_ctx *ctx, const char *device_id,
                   bool enabled, const char *reason, store_cb cb, void *arg)
{
    char k1[KEY_MAX];
    if (!s || key(k1, s, "device", device_id, NULL))
        return -EINVAL;
    const char *keys[] = {k1};
    const char *args[] = {device_id, enabled ? "1" : "0", reason ? reason : ""};
    return RUN("device_set", false, keys, args);
}

int ops_count_request(struct store *s, const struct store_ctx *ctx, const char *loc,
                      const char *sku, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], p[KEY_MAX];
    if (!s || store_path_check(loc) != 0 || !opt_id_ok(sku) || key0(k1, s, "counts:open") ||
        key0(k2, s, "task:seq"))
        return -EINVAL;
    prefix(p, s);
    const char *keys[] = {k1, k2};
    const char *args[] = {p, loc, sku ? sku : ""};
    return RUN("count_request", false, keys, args);
}

int ops_label_reprint(struct store *s, const struct store_ctx *ctx, const char *shipment_id,
                      const char *printer, store_cb cb, void *arg)
{
    char k1[KEY_MAX];
    if (!s || !opt_id_ok(printer) || key(k1, s, "shipment", shipment_id, NULL))
        return -EINVAL;
    const char *keys[] = {k1};
    const char *args[] = {shipment_id, printer ? printer : ""};
    return RUN("label_reprint", false, keys, args);
}

int ops_alarm_ack(struct store *s, const struct store_ctx *ctx, const char *alarm_id,
                  const char *note, store_cb cb, void *arg)
{
    char k1[KEY_MAX];
    if (!s || key(k1, s, "alarm", alarm_id, NULL))
        return -EINVAL;
    const char *keys[] = {k1};
    const char *args[] = {alarm_id, note ? note : ""};
    return RUN("alarm_ack", false, keys, args);
}

int ops_journal_note(struct store *s, const struct store_ctx *ctx, const char *op,
                     const char *subject, const char *after_json, store_cb cb, void *arg)
{
    if (!s || !op || !op[0] || !subject || !after_json)
        return -EINVAL;
    const char *args[] = {op, subject, after_json};
    return run(s, ctx, "note", true, NULL, 0, args, 3, cb, arg);
}

int ops_import_quant(struct store *s, const struct store_ctx *ctx, const struct store_line *line,
                     store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX], qty[24];
    const char *lot;
    int n;
    if (!s || !line || line->qty < 0 || store_path_check(line->loc) != 0)
        return -EINVAL;
    lot = line->lot ? line->lot : "";
    if (store_key_quant(k1, sizeof(k1), store_site(s), line->sku, line->loc, lot) < 0 ||
        key(k3, s, "sku", line->sku, "quants"))
        return -EINVAL;
    n = snprintf(k2, sizeof(k2), "wcs:{%s}:loc:%s:quants", store_site(s), line->loc);
    if (n < 0 || n >= (int)sizeof(k2))
        return -EINVAL;
    snprintf(qty, sizeof(qty), "%" PRId64, line->qty);
    const char *keys[] = {k1, k2, k3};
    const char *args[] = {line->sku, line->loc, lot, qty};
    return RUN("import_quant", false, keys, args);
}
