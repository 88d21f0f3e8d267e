/* The command layer's store operations (ops.h): each builds its keys from the site and checked
 * ids, then runs its Lua script through the store's private script hook (hook.h). Every key a
 * script touches is passed in KEYS: where a key depends on stored data (an order's wave and
 * reserved quants, a wave's orders, an approval's quant, the next approval or task id) the
 * operation first reads that data (wave_read), then runs the script, which re-checks it and
 * refuses with "changed meanwhile, retry"; the operation then reads again and retries (up to
 * OPS_RETRIES_MAX times). */
#include "store/ops.h"

#include "base/err.h"
#include "hook.h"

#include <assert.h>

#include <errno.h>
#include <stdlib.h>
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

/* ---- operations that read before they run (every key declared) ---- */

enum step_kind { ST_ORDER, ST_WAVE, ST_APPROVAL_REQUEST, ST_APPROVAL_APPLY, ST_COUNT };

#define STEP_KEYS_MAX 64 /* the store hook's limit of a script's own keys */

/* One operation in flight: its arguments (copied), what the reads found, and the keys built. */
struct step {
    struct store *s;
    struct store_ctx ctx;
    enum step_kind kind;
    int attempt, phase;
    store_cb cb;
    void *arg;
    char actor[129], cause[257], op_id[STORE_ID_MAX];
    char id[STORE_ID_MAX], action[16], wave[STORE_ID_MAX], sku[STORE_ID_MAX];
    char loc[STORE_PATH_MAX], lot[STORE_ID_MAX], reason[256], why[128], value[24], qty[24];
    char who[129];
    char day[16], daily_max[16], cls[4]; /* a count scheduled by the daemon (day "" otherwise) */
    char *orders_json;                   /* wave cancel: the order list as read */
    char *batches_json; /* wave cancel: the released wave's batch ids as read ("" none) */
    long long first_task, n_tasks; /* wave cancel: its pick tasks PCK-first.. (wave_release) */
    char **orders;                 /* its ids */
    size_t n_orders;
    char **quants; /* quant keys the order(s) hold, grouped per order */
    size_t n_quants;
    size_t *counts; /* per order */
};

static void step_free(struct step *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_orders; i++)
        free(st->orders[i]);
    for (size_t i = 0; i < st->n_quants; i++)
        free(st->quants[i]);
    free(st->orders);
    free(st->quants);
    free(st->counts);
    free(st->orders_json);
    free(st->batches_json);
    free(st);
}

static void step_reset(struct step *st)
{
    for (size_t i = 0; i < st->n_orders; i++)
        free(st->orders[i]);
    for (size_t i = 0; i < st->n_quants; i++)
        free(st->quants[i]);
    free(st->orders);
    free(st->quants);
    free(st->counts);
    free(st->orders_json);
    free(st->batches_json);
    st->batches_json = NULL;
    st->first_task = st->n_tasks = 0;
    st->orders = st->quants = NULL;
    st->counts = NULL;
    st->orders_json = NULL;
    st->n_orders = st->n_quants = 0;
    /* Only what a read filled is forgotten: the wave of an order, the quant of an approval.
     * The ids the caller gave (a wave to act on, a count's location, an approval request's
     * quant) stay for the retry. */
    if (st->kind == ST_ORDER)
        st->wave[0] = '\0';
    if (st->kind == ST_APPROVAL_APPLY)
        st->sku[0] = st->loc[0] = st->lot[0] = '\0';
    st->phase = 0;
}

static void step_finish(struct step *st, const struct store_result *r)
{
    if (st->cb)
        st->cb(st->arg, r);
    step_free(st);
}

static void step_fail(struct step *st, int rc, const char *msg)
{
    struct store_result r = {.rc = rc, .message = msg};
    step_finish(st, &r);
}

static int step_next(struct step *st);

static int read_run(struct step *st, const char *mode, const char *const *keys, size_t n_keys,
                    const char *const *args, size_t n_args, store_cb cb)
{
    const char *a[16] = {mode};
    assert(n_args < 16);
    for (size_t i = 0; i < n_args; i++)
        a[1 + i] = args[i];
    return store_script_run(st->s, &st->ctx, "wave_read", false, keys, n_keys, a, n_args + 1, cb,
                            st);
}

bool ops_retry_due(const struct store_result *r, int *attempt)
{
    if (!r || r->rc != WCS_E_STATE || !r->message ||
        !strstr(r->message, "changed meanwhile, retry") || *attempt >= OPS_RETRIES_MAX)
        return false;
    (*attempt)++;
    return true;
}

static void on_step_run(void *arg, const struct store_result *r)
{
    struct step *st = arg;
    if (ops_retry_due(r, &st->attempt)) {
        int rc;
        step_reset(st);
        if ((rc = step_next(st)) != 0)
            step_fail(st, rc, NULL);
        return;
    }
    step_finish(st, r);
}

static char *dup_n(const char *s)
{
    return strdup(s ? s : "");
}

/* Appends a copy of s to *arr (n elements). */
static int push_str(char ***arr, size_t *n, const char *s)
{
    char **a = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (!a)
        return -ENOMEM;
    *arr = a;
    if (!(a[*n] = dup_n(s)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

static void on_step_read(void *arg, const struct store_result *r)
{
    struct step *st = arg;
    int rc = 0;
    if (r->rc != 0) {
        step_finish(st, r);
        return;
    }
    switch (st->kind) {
    case ST_ORDER:
        if (st->phase == 0) { /* the order's wave */
            snprintf(st->wave, sizeof(st->wave), "%s", r->n_values ? r->values[0] : "");
        } else { /* the quants it holds: n, keys */
            for (size_t i = 1; rc == 0 && i < r->n_values; i++)
                rc = push_str(&st->quants, &st->n_quants, r->values[i]);
        }
        break;
    case ST_WAVE:
        if (st->phase == 0) { /* state, orders JSON, first_task, tasks, batch_ids */
            const char *list = r->n_values > 1 ? r->values[1] : "";
            if (!(st->orders_json = dup_n(list[0] ? list : "[]")) ||
                !(st->batches_json = dup_n(r->n_values > 4 ? r->values[4] : "")))
                rc = -ENOMEM;
            st->first_task = r->n_values > 2 ? atoll(r->values[2]) : 0;
            st->n_tasks = r->n_values > 3 ? atoll(r->values[3]) : 0;
            /* The list is the script's own cjson text: ["a","b"] of ids (no escapes). */
            for (const char *p = strchr(st->orders_json, '"'); rc == 0 && p;) {
                const char *q = strchr(p + 1, '"');
                char id[STORE_ID_MAX];
                if (!q || q - p - 1 >= (long)sizeof(id)) {
                    rc = WCS_E_PROTOCOL;
                    break;
                }
                snprintf(id, sizeof(id), "%.*s", (int)(q - p - 1), p + 1);
                rc = push_str(&st->orders, &st->n_orders, id);
                p = strchr(q + 1, '"');
            }
        } else { /* per order: n, keys */
            size_t i = 0, o = 0;
            if (!(st->counts = calloc(st->n_orders ? st->n_orders : 1, sizeof(*st->counts))))
                rc = -ENOMEM;
            while (rc == 0 && i < r->n_values && o < st->n_orders) {
                size_t n = strtoul(r->values[i++], NULL, 10);
                st->counts[o++] = n;
                for (size_t k = 0; rc == 0 && k < n && i < r->n_values; k++)
                    rc = push_str(&st->quants, &st->n_quants, r->values[i++]);
            }
        }
        break;
    case ST_APPROVAL_REQUEST:
    case ST_COUNT: { /* the counter */
        long long n = r->n_values ? atoll(r->values[0]) : 0;
        snprintf(st->id, sizeof(st->id), "%s-%lld", st->kind == ST_COUNT ? "CNT" : "ADJ", n + 1);
        break;
    }
    case ST_APPROVAL_APPLY: /* state, sku, loc, lot */
        if (r->n_values >= 4) {
            snprintf(st->sku, sizeof(st->sku), "%s", r->values[1]);
            snprintf(st->loc, sizeof(st->loc), "%s", r->values[2]);
            snprintf(st->lot, sizeof(st->lot), "%s", r->values[3]);
        }
        break;
    }
    st->phase++;
    if (rc == 0)
        rc = step_next(st);
    if (rc != 0)
        step_fail(st, rc, rc == -E2BIG ? "too many keys for one script" : NULL);
}

/* Runs the next read or the script itself. Returns 0 (a callback follows) or an error. */
static int step_next(struct step *st)
{
    struct store *s = st->s;
    const char *keys[STEP_KEYS_MAX];
    char kbuf[STEP_KEYS_MAX][KEY_MAX];
    size_t nk = 0;
    switch (st->kind) {
    case ST_ORDER: {
        if (key(kbuf[0], s, "order", st->id, NULL) || key(kbuf[1], s, "order", st->id, "resv") ||
            key0(kbuf[2], s, "orders:open"))
            return -EINVAL;
        if (strcmp(st->action, "cancel") == 0 && st->phase == 0) {
            const char *a[] = {"wave"};
            return store_hash_read(s, kbuf[0], a, 1, on_step_read, st);
        }
        if (strcmp(st->action, "cancel") == 0 && st->phase == 1) {
            const char *k[] = {kbuf[1]};
            return read_run(st, "fields", k, 1, NULL, 0, on_step_read);
        }
        for (nk = 0; nk < 3; nk++)
            keys[nk] = kbuf[nk];
        if (st->wave[0]) {
            if (key(kbuf[3], s, "wave", st->wave, NULL))
                return -EINVAL;
            keys[nk++] = kbuf[3];
        }
        if (nk + st->n_quants > STEP_KEYS_MAX)
            return -E2BIG;
        for (size_t i = 0; i < st->n_quants; i++)
            keys[nk++] = st->quants[i];
        const char *a[] = {st->id, st->action, st->wave};
        return store_script_run(s, &st->ctx, "order_state", false, keys, nk, a, 3, on_step_run, st);
    }
    case ST_WAVE: {
        if (key(kbuf[0], s, "wave", st->wave, NULL))
            return -EINVAL;
        if (strcmp(st->action, "cancel") == 0 && st->phase == 0) {
            const char *a[] = {"state", "orders", "first_task", "tasks", "batch_ids"};
            return store_hash_read(s, kbuf[0], a, 5, on_step_read, st);
        }
        if (strcmp(st->action, "cancel") == 0 && st->phase == 1 && st->n_orders > 0) {
            if (st->n_orders > STEP_KEYS_MAX - 1)
                return -E2BIG;
            for (size_t i = 0; i < st->n_orders; i++) {
                if (key(kbuf[i], s, "order", st->orders[i], "resv"))
                    return -EINVAL;
                keys[i] = kbuf[i];
            }
            return read_run(st, "fields", keys, st->n_orders, NULL, 0, on_step_read);
        }
        keys[nk++] = kbuf[0];
        if (1 + 2 * st->n_orders + st->n_quants > STEP_KEYS_MAX)
            return -E2BIG;
        for (size_t i = 0; i < st->n_orders; i++) {
            if (key(kbuf[1 + 2 * i], s, "order", st->orders[i], NULL) ||
                key(kbuf[2 + 2 * i], s, "order", st->orders[i], "resv"))
                return -EINVAL;
            keys[nk++] = kbuf[1 + 2 * i];
            keys[nk++] = kbuf[2 + 2 * i];
        }
        for (size_t i = 0; i < st->n_quants; i++)
            keys[nk++] = st->quants[i];
        /* A released wave's pick tasks and batches are cancelled with it (wave_release). */
        size_t nb = 0;
        char ftask[24], ntask[24];
        if (st->n_tasks > 0 && st->batches_json) {
            for (const char *q = strchr(st->batches_json, '"'); q; q = strchr(q + 1, '"'))
                nb++;
            nb /= 2;
            if (nk + 1 + nb + (size_t)st->n_tasks > STEP_KEYS_MAX)
                return -E2BIG;
            if (key0(kbuf[nk], s, "batches:released"))
                return -EINVAL;
            keys[nk] = kbuf[nk];
            nk++;
            for (const char *q = strchr(st->batches_json, '"'); q;) {
                const char *e = strchr(q + 1, '"');
                char id[STORE_ID_MAX];
                if (!e || e - q - 1 >= (long)sizeof(id))
                    return -EINVAL;
                snprintf(id, sizeof(id), "%.*s", (int)(e - q - 1), q + 1);
                if (key(kbuf[nk], s, "batch", id, NULL))
                    return -EINVAL;
                keys[nk] = kbuf[nk];
                nk++;
                q = strchr(e + 1, '"');
            }
            for (long long t = 0; t < st->n_tasks; t++) {
                char id[STORE_ID_MAX];
                snprintf(id, sizeof(id), "PCK-%lld", st->first_task + t);
                if (key(kbuf[nk], s, "task", id, NULL))
                    return -EINVAL;
                keys[nk] = kbuf[nk];
                nk++;
            }
        }
        snprintf(ftask, sizeof(ftask), "%lld", st->n_tasks > 0 ? st->first_task : 0);
        snprintf(ntask, sizeof(ntask), "%lld", st->n_tasks > 0 ? st->n_tasks : 0);
        char counts[STEP_KEYS_MAX * 4 + 3] = "[";
        size_t used = 1;
        for (size_t i = 0; i < st->n_orders; i++)
            used += (size_t)snprintf(counts + used, sizeof(counts) - used, "%s%zu", i ? "," : "",
                                     st->counts ? st->counts[i] : 0);
        snprintf(counts + used, sizeof(counts) - used, "]");
        const char *a[] = {st->wave,
                           st->action,
                           st->orders_json ? st->orders_json : "[]",
                           counts,
                           st->n_tasks > 0 && st->batches_json ? st->batches_json : "",
                           ftask,
                           ntask};
        return store_script_run(s, &st->ctx, "wave_state", false, keys, nk, a, 7, on_step_run, st);
    }
    case ST_APPROVAL_REQUEST:
    case ST_COUNT: {
        bool count = st->kind == ST_COUNT;
        if (key0(kbuf[0], s, count ? "task:seq" : "approval:seq"))
            return -EINVAL;
        if (st->phase == 0) {
            const char *k[] = {kbuf[0]};
            return read_run(st, "get", k, 1, NULL, 0, on_step_read);
        }
        if (count) {
            if (key0(kbuf[1], s, "counts:open") || key(kbuf[2], s, "task", st->id, NULL))
                return -EINVAL;
            if (key0(kbuf[3], s, "counting:scheduled"))
                return -EINVAL;
            const char *k[] = {kbuf[1], kbuf[0], kbuf[2], kbuf[3]};
            const char *a[] = {st->id, st->loc, st->sku, st->day, st->daily_max, st->cls};
            bool sched = st->day[0] != '\0';
            return store_script_run(s, &st->ctx, "count_request", false, k, sched ? 4 : 3, a,
                                    sched ? 6 : 3, on_step_run, st);
        }
        char alarm[STORE_ID_MAX + 16];
        snprintf(alarm, sizeof(alarm), "approval-%s", st->id);
        if (store_key_quant(kbuf[1], KEY_MAX, store_site(s), st->sku, st->loc, st->lot) < 0 ||
            key(kbuf[2], s, "approval", st->id, NULL) || key(kbuf[3], s, "alarm", alarm, NULL))
            return -EINVAL;
        const char *k[] = {kbuf[0], kbuf[1], kbuf[2], kbuf[3]};
        const char *a[] = {st->id,  st->sku,    st->loc,   st->lot,
                           st->qty, st->reason, st->value, st->why};
        return store_script_run(s, &st->ctx, "approval_request", false, k, 4, a, 8, on_step_run,
                                st);
    }
    case ST_APPROVAL_APPLY: {
        char alarm[STORE_ID_MAX + 16];
        int n;
        if (key(kbuf[0], s, "approval", st->id, NULL))
            return -EINVAL;
        if (st->phase == 0) {
            const char *a[] = {"state", "sku", "loc", "lot"};
            return store_hash_read(s, kbuf[0], a, 4, on_step_read, st);
        }
        keys[nk++] = kbuf[0];
        snprintf(alarm, sizeof(alarm), "approval-%s", st->id);
        n = snprintf(kbuf[2], KEY_MAX, "wcs:{%s}:loc:%s:quants", store_site(s), st->loc);
        if (st->sku[0] && store_path_check(st->loc) == 0 && store_lot_check(st->lot) == 0 &&
            n > 0 && n < KEY_MAX &&
            store_key_quant(kbuf[1], KEY_MAX, store_site(s), st->sku, st->loc, st->lot) >= 0 &&
            !key(kbuf[3], s, "sku", st->sku, "quants") && !key(kbuf[4], s, "alarm", alarm, NULL))
            for (int i = 1; i <= 4; i++)
                keys[nk++] = kbuf[i];
        const char *a[] = {st->id, st->who, st->sku, st->loc, st->lot};
        return store_script_run(s, &st->ctx, "approval_apply", false, keys, nk, a, 5, on_step_run,
                                st);
    }
    }
    return -EINVAL;
}

static struct step *step_new(struct store *s, const struct store_ctx *ctx, enum step_kind kind,
                             store_cb cb, void *arg)
{
    struct step *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->s = s;
    st->kind = kind;
    st->cb = cb;
    st->arg = arg;
    st->ctx = ctx ? *ctx : (struct store_ctx){0};
    /* The caller's strings may not outlive this call; the steps run later. */
    if (st->ctx.actor) {
        snprintf(st->actor, sizeof(st->actor), "%s", st->ctx.actor);
        st->ctx.actor = st->actor;
    }
    if (st->ctx.cause) {
        snprintf(st->cause, sizeof(st->cause), "%s", st->ctx.cause);
        st->ctx.cause = st->cause;
    }
    if (st->ctx.op_id) {
        snprintf(st->op_id, sizeof(st->op_id), "%s", st->ctx.op_id);
        st->ctx.op_id = st->op_id;
    }
    return st;
}

/* Starts st; on failure frees it and returns the error (no callback). */
static int step_start(struct step *st)
{
    int rc = step_next(st);
    if (rc != 0) {
        step_free(st);
        return rc == -E2BIG ? -EINVAL : rc;
    }
    return 0;
}

int ops_order_action(struct store *s, const struct store_ctx *ctx, const char *order_id,
                     const char *action, store_cb cb, void *arg)
{
    struct step *st;
    if (!s || !action || store_id_check(order_id) != 0 ||
        (strcmp(action, "hold") != 0 && strcmp(action, "release") != 0 &&
         strcmp(action, "cancel") != 0))
        return -EINVAL;
    if (!(st = step_new(s, ctx, ST_ORDER, cb, arg)))
        return -ENOMEM;
    snprintf(st->id, sizeof(st->id), "%s", order_id);
    snprintf(st->action, sizeof(st->action), "%s", action);
    return step_start(st);
}

int ops_wave_action(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                    const char *action, store_cb cb, void *arg)
{
    struct step *st;
    if (!s || !action || store_id_check(wave_id) != 0 ||
        (strcmp(action, "release") != 0 && strcmp(action, "cancel") != 0))
        return -EINVAL;
    if (!(st = step_new(s, ctx, ST_WAVE, cb, arg)))
        return -ENOMEM;
    snprintf(st->wave, sizeof(st->wave), "%s", wave_id);
    snprintf(st->action, sizeof(st->action), "%s", action);
    return step_start(st);
}

/* ---- wave.plan: snapshot reads and the commit ---- */

/* wave_read in mode over the keys <kind>:<id>[:suffix]; mode_arg, when not NULL, is ARGV[8]. */
static int wave_read_keys(struct store *s, const struct store_ctx *ctx, const char *mode,
                          const char *mode_arg, const char *kind, const char *suffix,
                          const char *const *ids, size_t n, store_cb cb, void *arg)
{
    char kbuf[OPS_READ_MAX][KEY_MAX];
    const char *keys[OPS_READ_MAX], *a[] = {mode, mode_arg};
    if (!s || !ids || n < 1 || n > OPS_READ_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (key(kbuf[i], s, kind, ids[i], suffix))
            return -EINVAL;
        keys[i] = kbuf[i];
    }
    return store_script_run(s, ctx, "wave_read", false, keys, n, a, mode_arg ? 2 : 1, cb, arg);
}

int ops_wave_read_open(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                       uint32_t cap, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], c[16];
    if (!s || key0(k1, s, "orders:open") || key(k2, s, "wave", wave_id, NULL))
        return -EINVAL;
    snprintf(c, sizeof(c), "%" PRIu32, cap);
    const char *keys[] = {k1, k2}, *args[] = {"open", c};
    return store_script_run(s, ctx, "wave_read", false, keys, 2, args, 2, cb, arg);
}

int ops_wave_read_candidates(struct store *s, const struct store_ctx *ctx, const char *const *ids,
                             size_t n, const char *carrier, store_cb cb, void *arg)
{
    if (!opt_id_ok(carrier))
        return -EINVAL;
    return wave_read_keys(s, ctx, "candidates", carrier ? carrier : "", "order", NULL, ids, n, cb,
                          arg);
}

int ops_wave_read_lines(struct store *s, const struct store_ctx *ctx, const char *const *ids,
                        size_t n, store_cb cb, void *arg)
{
    return wave_read_keys(s, ctx, "lines", NULL, "order", "lines", ids, n, cb, arg);
}

int ops_wave_read_sku_quants(struct store *s, const struct store_ctx *ctx, const char *const *skus,
                             size_t n, store_cb cb, void *arg)
{
    return wave_read_keys(s, ctx, "sets", NULL, "sku", "quants", skus, n, cb, arg);
}

int ops_wave_read_quants(struct store *s, const struct store_ctx *ctx, const char *const *keys,
                         size_t n, store_cb cb, void *arg)
{
    const char *a[] = {"quants"};
    struct store_quant_ref ref;
    if (!s || !keys || n < 1 || n > OPS_READ_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!keys[i] || store_key_parse_quant(keys[i], strlen(keys[i]), &ref) != 0 ||
            strcmp(ref.site, store_site(s)) != 0)
            return -EINVAL;
    return store_script_run(s, ctx, "wave_read", false, keys, n, a, 1, cb, arg);
}

int ops_wave_open(struct store *s, const struct store_ctx *ctx, const char *const *wave_ids,
                  size_t n, const char *carrier, store_cb cb, void *arg)
{
    char kbuf[OPS_READ_MAX][KEY_MAX];
    const char *keys[OPS_READ_MAX], *args[OPS_READ_MAX + 1];
    if (!s || !wave_ids || n < 1 || n > OPS_READ_MAX || !opt_id_ok(carrier))
        return -EINVAL;
    args[0] = carrier ? carrier : "";
    for (size_t i = 0; i < n; i++) {
        if (key(kbuf[i], s, "wave", wave_ids[i], NULL))
            return -EINVAL;
        keys[i] = kbuf[i];
        args[1 + i] = wave_ids[i];
    }
    return store_script_run(s, ctx, "wave_open", false, keys, n, args, n + 1, cb, arg);
}

int ops_wave_reserve(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                     const char *order_id, const char *updated_ts, uint32_t n_lines,
                     const struct store_line *lines, size_t n, store_cb cb, void *arg)
{
    char kbuf[OPS_RESERVE_MAX + 3][KEY_MAX], qty[OPS_RESERVE_MAX][24], nl[16];
    const char *keys[OPS_RESERVE_MAX + 3], *args[OPS_RESERVE_MAX + 4];
    if (!s || !lines || !updated_ts || n < 1 || n > OPS_RESERVE_MAX ||
        key(kbuf[0], s, "order", order_id, NULL) || key(kbuf[1], s, "order", order_id, "resv") ||
        key(kbuf[2], s, "wave", wave_id, NULL))
        return -EINVAL;
    snprintf(nl, sizeof(nl), "%" PRIu32, n_lines);
    args[0] = order_id;
    args[1] = wave_id;
    args[2] = updated_ts;
    args[3] = nl;
    for (size_t i = 0; i < 3; i++)
        keys[i] = kbuf[i];
    for (size_t i = 0; i < n; i++) {
        if (lines[i].qty <= 0 ||
            store_key_quant(kbuf[3 + i], KEY_MAX, store_site(s), lines[i].sku, lines[i].loc,
                            lines[i].lot ? lines[i].lot : "") < 0)
            return -EINVAL;
        keys[3 + i] = kbuf[3 + i];
        snprintf(qty[i], sizeof(qty[i]), "%" PRId64, lines[i].qty);
        args[4 + i] = qty[i];
    }
    return store_script_run(s, ctx, "wave_reserve", false, keys, n + 3, args, n + 4, cb, arg);
}

int ops_wave_close(struct store *s, const struct store_ctx *ctx, const char *const *wave_ids,
                   size_t n, const char *info_json, store_cb cb, void *arg)
{
    char kbuf[OPS_READ_MAX][KEY_MAX];
    const char *keys[OPS_READ_MAX], *args[] = {info_json};
    if (!s || !wave_ids || !info_json || n < 1 || n > OPS_READ_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (key(kbuf[i], s, "wave", wave_ids[i], NULL))
            return -EINVAL;
        keys[i] = kbuf[i];
    }
    return store_script_run(s, ctx, "wave_close", false, keys, n, args, 1, cb, arg);
}

int ops_approval_request(struct store *s, const struct store_ctx *ctx,
                         const struct store_line *line, const char *reason, int64_t value_cents,
                         const char *why, store_cb cb, void *arg)
{
    struct step *st;
    char k[KEY_MAX];
    const char *lot;
    if (!s || !line || !reason || !reason[0] || !why || line->qty == 0)
        return -EINVAL;
    lot = line->lot ? line->lot : "";
    if (store_key_quant(k, sizeof(k), store_site(s), line->sku, line->loc, lot) < 0 ||
        strlen(reason) >= 256 || strlen(why) >= 128)
        return -EINVAL;
    if (!(st = step_new(s, ctx, ST_APPROVAL_REQUEST, cb, arg)))
        return -ENOMEM;
    snprintf(st->sku, sizeof(st->sku), "%s", line->sku);
    snprintf(st->loc, sizeof(st->loc), "%s", line->loc);
    snprintf(st->lot, sizeof(st->lot), "%s", lot);
    snprintf(st->reason, sizeof(st->reason), "%s", reason);
    snprintf(st->why, sizeof(st->why), "%s", why);
    snprintf(st->qty, sizeof(st->qty), "%" PRId64, line->qty);
    if (value_cents >= 0)
        snprintf(st->value, sizeof(st->value), "%" PRId64, value_cents);
    return step_start(st);
}

int ops_approval_apply(struct store *s, const struct store_ctx *ctx, const char *approval_id,
                       const char *approver, store_cb cb, void *arg)
{
    struct step *st;
    if (!s || !approver || !approver[0] || strlen(approver) > 128 ||
        store_id_check(approval_id) != 0)
        return -EINVAL;
    if (!(st = step_new(s, ctx, ST_APPROVAL_APPLY, cb, arg)))
        return -ENOMEM;
    snprintf(st->id, sizeof(st->id), "%s", approval_id);
    snprintf(st->who, sizeof(st->who), "%s", approver);
    return step_start(st);
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
    struct step *st;
    if (!s || store_path_check(loc) != 0 || !opt_id_ok(sku))
        return -EINVAL;
    if (!(st = step_new(s, ctx, ST_COUNT, cb, arg)))
        return -ENOMEM;
    snprintf(st->loc, sizeof(st->loc), "%s", loc);
    snprintf(st->sku, sizeof(st->sku), "%s", sku ? sku : "");
    return step_start(st);
}

int ops_count_schedule(struct store *s, const struct store_ctx *ctx, const char *loc,
                       const char *day, uint32_t daily_max, char abc, store_cb cb, void *arg)
{
    struct step *st;
    if (!s || store_path_check(loc) != 0 || !day || strlen(day) != 10 || daily_max < 1 ||
        (abc != 0 && abc != 'A' && abc != 'B' && abc != 'C'))
        return -EINVAL;
    if (!(st = step_new(s, ctx, ST_COUNT, cb, arg)))
        return -ENOMEM;
    snprintf(st->loc, sizeof(st->loc), "%s", loc);
    snprintf(st->day, sizeof(st->day), "%s", day);
    snprintf(st->daily_max, sizeof(st->daily_max), "%" PRIu32, daily_max);
    snprintf(st->cls, sizeof(st->cls), "%c", abc ? abc : '\0');
    return step_start(st);
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
    return ops_import_quant_dated(s, ctx, line, NULL, NULL, cb, arg);
}

int ops_import_quant_dated(struct store *s, const struct store_ctx *ctx,
                           const struct store_line *line, const char *expiry, const char *in_date,
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
    if (expiry || in_date) {
        const char *dargs[] = {
            line->sku, line->loc, lot, qty, expiry ? expiry : "", in_date ? in_date : ""};
        return RUN("import_quant", false, keys, dargs);
    }
    const char *args[] = {line->sku, line->loc, lot, qty};
    return RUN("import_quant", false, keys, args);
}

int ops_import_master(struct store *s, const struct store_ctx *ctx, const char *kind,
                      const struct ops_record *recs, size_t n, store_cb cb, void *arg)
{
    char kbuf[OPS_MASTER_MAX][KEY_MAX], count[16], nf[OPS_MASTER_MAX][8];
    const char *keys[OPS_MASTER_MAX];
    const char *args[2 + OPS_MASTER_MAX * (2 + 2 * OPS_MASTER_FIELDS_MAX)];
    size_t na = 0;
    bool product;
    if (!s || !kind || !recs || n < 1 || n > OPS_MASTER_MAX)
        return -EINVAL;
    product = strcmp(kind, "product") == 0;
    if (!product && strcmp(kind, "location") != 0)
        return -EINVAL;
    snprintf(count, sizeof(count), "%zu", n);
    args[na++] = kind;
    args[na++] = count;
    for (size_t i = 0; i < n; i++) {
        const struct ops_record *r = &recs[i];
        int len;
        if (!r->id || !r->fields || r->n_fields < 1 || r->n_fields > OPS_MASTER_FIELDS_MAX ||
            (product ? store_id_check(r->id) : store_path_check(r->id)) != 0)
            return -EINVAL;
        len = snprintf(kbuf[i], KEY_MAX, "wcs:{%s}:%s:%s", store_site(s), kind, r->id);
        if (len < 0 || len >= KEY_MAX)
            return -EINVAL;
        keys[i] = kbuf[i];
        snprintf(nf[i], sizeof(nf[i]), "%zu", r->n_fields);
        args[na++] = r->id;
        args[na++] = nf[i];
        for (size_t f = 0; f < 2 * r->n_fields; f++) {
            if (!r->fields[f] || (f % 2 == 0 && !r->fields[f][0]))
                return -EINVAL;
            args[na++] = r->fields[f];
        }
    }
    return store_script_run(s, ctx, "import_master", false, keys, n, args, na, cb, arg);
}

bool ops_quant_row(const struct store_result *r, size_t i, struct ops_quant_row *out)
{
    const char *const *v;
    if (!r || (i + 1) * OPS_QUANT_VALUES > r->n_values)
        return false;
    v = r->values + i * OPS_QUANT_VALUES;
    out->exists = strcmp(v[0], "1") == 0;
    out->sku = v[1];
    out->loc = v[2];
    out->lot = v[3];
    out->on_hand = strtoll(v[4], NULL, 10);
    out->reserved = strtoll(v[5], NULL, 10);
    out->expiry = v[6];
    out->in_date = v[7];
    out->missing = strtoll(v[8], NULL, 10);
    return true;
}

int64_t ops_quant_free(const struct ops_quant_row *q)
{
    int64_t f = q->exists ? q->on_hand - q->reserved - q->missing : 0;
    return f > 0 ? f : 0;
}

/* ---- reading any number of quants, a chunk per wave_read ---- */

/* One ops_read_quant_rows in flight: its own copy of the keys and where the reads are. */
struct qrows {
    struct store *s;
    struct store_ctx ctx;
    char (*keys)[KEY_MAX];
    size_t n, next;
    ops_quant_row_fn row;
    store_cb done;
    void *arg;
};

static int qrows_read(struct qrows *q);

static void qrows_end(struct qrows *q, const struct store_result *r)
{
    store_cb done = q->done;
    void *arg = q->arg;
    free(q->keys);
    free(q);
    done(arg, r);
}

static void on_qrows(void *arg, const struct store_result *r)
{
    struct qrows *q = arg;
    size_t n = q->n - q->next < OPS_READ_MAX ? q->n - q->next : OPS_READ_MAX;
    int rc;
    if (r->rc != 0) {
        qrows_end(q, r);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct ops_quant_row row;
        if (!ops_quant_row(r, i, &row)) {
            struct store_result e = {.rc = WCS_E_PROTOCOL, .message = "unexpected script reply"};
            qrows_end(q, &e);
            return;
        }
        q->row(q->arg, q->next + i, &row);
    }
    q->next += n;
    if (q->next < q->n) {
        if ((rc = qrows_read(q)) != 0) {
            struct store_result e = {.rc = rc};
            qrows_end(q, &e);
        }
        return;
    }
    struct store_result ok = {.rc = 0};
    qrows_end(q, &ok);
}

static int qrows_read(struct qrows *q)
{
    const char *keys[OPS_READ_MAX];
    size_t n = q->n - q->next < OPS_READ_MAX ? q->n - q->next : OPS_READ_MAX;
    for (size_t i = 0; i < n; i++)
        keys[i] = q->keys[q->next + i];
    return ops_wave_read_quants(q->s, &q->ctx, keys, n, on_qrows, q);
}

int ops_read_quant_rows(struct store *s, const struct store_ctx *ctx, const char *const *keys,
                        size_t n, ops_quant_row_fn row, store_cb done, void *arg)
{
    struct qrows *q;
    int rc;
    if (!s || !ctx || !keys || n < 1 || !row || !done)
        return -EINVAL;
    if (!(q = calloc(1, sizeof(*q))))
        return -ENOMEM;
    if (!(q->keys = calloc(n, sizeof(*q->keys)))) {
        free(q);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct store_quant_ref ref;
        int len = keys[i] ? snprintf(q->keys[i], KEY_MAX, "%s", keys[i]) : -1;
        if (len < 0 || len >= KEY_MAX ||
            store_key_parse_quant(q->keys[i], (size_t)len, &ref) != 0 ||
            strcmp(ref.site, store_site(s)) != 0) {
            free(q->keys);
            free(q);
            return -EINVAL;
        }
    }
    q->s = s;
    q->ctx = *ctx;
    q->n = n;
    q->row = row;
    q->done = done;
    q->arg = arg;
    if ((rc = qrows_read(q)) != 0) {
        free(q->keys);
        free(q);
    }
    return rc;
}
