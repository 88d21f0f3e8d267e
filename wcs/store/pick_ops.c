/* The picking flow's store operations (ops.h, "picking"): wave release into pick tasks and
 * batches, batch claims, scan-confirmed picks and short picks. Each reads what decides its keys
 * first (wave_read, read-only), then runs one script with every key it touches declared; the
 * script re-checks what was read and refuses with "changed meanwhile, retry", and the operation
 * then reads again and retries, up to OPS_RETRIES_MAX times (as ops.c does). Keys live on the heap:
 * a wave release declares one key per order, batch and task. */
#include "store/ops.h"

#include "base/err.h"
#include "hook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX STORE_KEY_MAX

enum pk_kind { PK_RELEASE, PK_CLAIM, PK_CONFIRM, PK_SHORT_READ };

/* A growable list of owned strings. */
struct strv {
    char **v;
    size_t n, cap;
};

static int strv_push(struct strv *sv, const char *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? 2 * sv->cap : 16;
        char **v = realloc(sv->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    if (!(sv->v[sv->n] = strdup(s ? s : "")))
        return -ENOMEM;
    sv->n++;
    return 0;
}

static int strv_pushf(struct strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int strv_pushf(struct strv *sv, const char *fmt, ...)
{
    char buf[KEY_MAX];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return -EINVAL;
    return strv_push(sv, buf);
}

static void strv_clear(struct strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    *sv = (struct strv){0};
}

struct pk {
    struct store *s;
    struct store_ctx ctx;
    enum pk_kind kind;
    int phase, attempt;
    bool any_batch; /* a claim of "the next released batch" (no batch named): one taken by another
                       claim meanwhile is a retry (batch_claim's 'next') */
    store_cb cb;
    void *arg;
    char actor[129], cause[257];
    char id[STORE_ID_MAX]; /* wave, batch or task */
    char user[129];
    struct strv in;   /* the caller's arguments (kind-specific order) */
    struct strv read; /* what the reads found (kind-specific) */
    struct strv hint; /* pick.confirm: the task's read as the caller knows it, used once */
};

static void pk_free(struct pk *p)
{
    if (!p)
        return;
    strv_clear(&p->in);
    strv_clear(&p->read);
    strv_clear(&p->hint);
    free(p);
}

static void pk_finish(struct pk *p, const struct store_result *r)
{
    if (p->cb)
        p->cb(p->arg, r);
    pk_free(p);
}

/* Ends p with a refusal made here (the reads showed the script would refuse). */
static void pk_refuse(struct pk *p, int rc, const char *msg)
{
    struct store_result r = {.rc = rc, .message = msg};
    pk_finish(p, &r);
}

static int pk_next(struct pk *p);

static void on_pk_run(void *arg, const struct store_result *r)
{
    struct pk *p = arg;
    if (ops_retry_due(r, &p->attempt)) {
        int rc;
        p->phase = 0;
        strv_clear(&p->read);
        if ((rc = pk_next(p)) != 0)
            pk_refuse(p, rc, NULL);
        return;
    }
    pk_finish(p, r);
}

static void on_pk_read(void *arg, const struct store_result *r)
{
    struct pk *p = arg;
    int rc = 0;
    if (r->rc != 0) {
        pk_finish(p, r);
        return;
    }
    for (size_t i = 0; rc == 0 && i < r->n_values; i++)
        rc = strv_push(&p->read, r->values[i]);
    /* A separator between the values of successive reads. */
    rc = rc ? rc : strv_push(&p->read, "\x1f");
    p->phase++;
    rc = rc ? rc : pk_next(p);
    if (rc != 0)
        pk_refuse(p, rc, NULL);
}

static int pk_read(struct pk *p, const char *mode, struct strv *keys, const char *const *args,
                   size_t n_args)
{
    const char *a[16] = {mode};
    if (n_args > 15)
        return -EINVAL;
    for (size_t i = 0; i < n_args; i++)
        a[1 + i] = args[i];
    return store_script_run(p->s, &p->ctx, "wave_read", false, (const char *const *)keys->v,
                            keys->n, a, n_args + 1, on_pk_read, p);
}

/* One hash's fields (wcs:{site}:<kind>:<id>) by a plain HMGET, answered as the reads above. */
static int pk_read_hash(struct pk *p, const char *kind, const char *id, const char *const *fields,
                        size_t n)
{
    char key[STORE_KEY_MAX];
    int len = snprintf(key, sizeof(key), "wcs:{%s}:%s:%s", store_site(p->s), kind, id);
    if (len < 0 || (size_t)len >= sizeof(key))
        return -EINVAL;
    return store_hash_read(p->s, key, fields, n, on_pk_read, p);
}

static int pk_run(struct pk *p, const char *script, struct strv *keys, struct strv *args)
{
    if (keys->n > OPS_SCRIPT_KEYS_MAX)
        return -E2BIG;
    return store_script_run(p->s, &p->ctx, script, false, (const char *const *)keys->v, keys->n,
                            (const char *const *)args->v, args->n, on_pk_run, p);
}

/* The values of read number k (0-based) in p->read: *first index and *n values. */
static bool read_part(const struct pk *p, int k, size_t *first, size_t *n)
{
    size_t i = 0;
    for (int part = 0; i <= p->read.n; part++) {
        size_t j = i;
        while (j < p->read.n && strcmp(p->read.v[j], "\x1f") != 0)
            j++;
        if (j >= p->read.n)
            return false;
        if (part == k) {
            *first = i;
            *n = j - i;
            return true;
        }
        i = j + 1;
    }
    return false;
}

static const char *site(const struct pk *p)
{
    return store_site(p->s);
}

/* Pushes the ids of a cjson list of ids (["a","b"], no escapes in ids) onto sv. */
static int push_ids(struct strv *sv, const char *json)
{
    for (const char *q = json ? strchr(json, '"') : NULL; q;) {
        const char *e = strchr(q + 1, '"');
        char id[STORE_ID_MAX];
        if (!e || e - q - 1 >= (long)sizeof(id))
            return WCS_E_PROTOCOL;
        snprintf(id, sizeof(id), "%.*s", (int)(e - q - 1), q + 1);
        if (strv_push(sv, id) != 0)
            return -ENOMEM;
        q = strchr(e + 1, '"');
    }
    return 0;
}

/* ---- wave release ---- */

static int next_release(struct pk *p)
{
    struct strv keys = {0}, args = {0};
    size_t f, n;
    int rc = 0;
    if (p->phase == 0) {
        rc = strv_pushf(&keys, "wcs:{%s}:wave:%s", site(p), p->id);
        rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:task:seq", site(p));
        rc = rc ? rc : pk_read(p, "release", &keys, NULL, 0);
        strv_clear(&keys);
        return rc;
    }
    /* state, orders JSON, first task no, n orders, ids..., n batches, task counts... */
    if (!read_part(p, 0, &f, &n) || n < 4)
        return WCS_E_PROTOCOL;
    const char *const *v = (const char *const *)p->read.v + f;
    size_t n_orders = strtoul(v[3], NULL, 10), n_batches, n_tasks = 0;
    if (4 + n_orders + 1 > n)
        return WCS_E_PROTOCOL;
    n_batches = strtoul(v[4 + n_orders], NULL, 10);
    if (5 + n_orders + n_batches > n)
        return WCS_E_PROTOCOL;
    for (size_t b = 0; b < n_batches; b++)
        n_tasks += strtoul(v[5 + n_orders + b], NULL, 10);
    if (!v[0][0] || strcmp(v[0], "planned") != 0)
        n_orders = n_batches = n_tasks = 0; /* the script refuses on the state */
    if (7 + n_orders + n_batches + n_tasks > OPS_SCRIPT_KEYS_MAX) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "ESTATE wave %s needs %zu orders, batches and tasks in one release, more than "
                 "%d: plan smaller waves (max_orders)",
                 p->id, n_orders + n_batches + n_tasks, OPS_SCRIPT_KEYS_MAX - 7);
        pk_refuse(p, WCS_E_STATE, msg);
        return 0;
    }
    long long first = atoll(v[2]);
    rc = strv_pushf(&keys, "wcs:{%s}:wave:%s", site(p), p->id);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:task:seq", site(p));
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:batches:released", site(p));
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:pack:rr", site(p));
    for (size_t i = 0; rc == 0 && i < n_orders; i++)
        rc = store_id_check(v[4 + i]) ? WCS_E_PROTOCOL
                                      : strv_pushf(&keys, "wcs:{%s}:order:%s", site(p), v[4 + i]);
    for (size_t b = 0; rc == 0 && b < n_batches; b++)
        rc = strv_pushf(&keys, "wcs:{%s}:batch:%s-B%zu", site(p), p->id, b + 1);
    for (size_t t = 0; rc == 0 && t < n_tasks; t++)
        rc = strv_pushf(&keys, "wcs:{%s}:task:PCK-%lld", site(p), first + (long long)t);
    rc = rc ? rc : strv_push(&args, p->id);
    rc = rc ? rc : strv_push(&args, v[1][0] ? v[1] : "[]");
    rc = rc ? rc : strv_push(&args, v[2]);
    rc = rc ? rc : strv_push(&args, p->in.v[0]);
    rc = rc ? rc : pk_run(p, "wave_release", &keys, &args);
    strv_clear(&keys);
    strv_clear(&args);
    return rc;
}

/* ---- batch claim ---- */

static int next_claim(struct pk *p)
{
    struct strv keys = {0}, args = {0};
    size_t f, n;
    /* The read holding the batch hash: the first, or the second after the released batches'
     * first (p->id is set from then on, so it cannot tell the two paths apart). */
    int rc = 0, part = p->any_batch ? 1 : 0;
    if (p->phase == 0 && p->any_batch) {
        /* After a race lost to another picker (a retry), another released batch than the
         * first: pickers who all asked at once then spread over the batches. */
        char k[16];
        const char *a[] = {k};
        snprintf(k, sizeof(k), "%d", p->attempt);
        rc = strv_pushf(&keys, "wcs:{%s}:batches:released", site(p));
        rc = rc ? rc : pk_read(p, "zfirst", &keys, a, 1);
        strv_clear(&keys);
        return rc;
    }
    if (p->phase == 1 && p->any_batch) {
        if (!read_part(p, 0, &f, &n) || n < 1)
            return WCS_E_PROTOCOL;
        if (!p->read.v[f][0]) {
            pk_refuse(p, WCS_E_STATE, "ESTATE no released batch to claim");
            return 0;
        }
        if (store_id_check(p->read.v[f]) != 0)
            return WCS_E_PROTOCOL;
        snprintf(p->id, sizeof(p->id), "%s", p->read.v[f]);
    }
    if (p->phase == part) {
        const char *a[] = {"tasks"};
        return pk_read_hash(p, "batch", p->id, a, 1);
    }
    if (!read_part(p, part, &f, &n) || n < 1)
        return WCS_E_PROTOCOL;
    const char *tasks = p->read.v[f];
    struct strv ids = {0};
    rc = push_ids(&ids, tasks);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:batches:released", site(p));
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:batch:%s", site(p), p->id);
    for (size_t i = 0; rc == 0 && i < ids.n; i++)
        rc = store_id_check(ids.v[i]) ? WCS_E_PROTOCOL
                                      : strv_pushf(&keys, "wcs:{%s}:task:%s", site(p), ids.v[i]);
    rc = rc ? rc : strv_push(&args, p->id);
    rc = rc ? rc : strv_push(&args, p->user);
    rc = rc ? rc : strv_push(&args, tasks[0] ? tasks : "[]");
    rc = rc ? rc : strv_push(&args, p->any_batch ? "next" : "");
    rc = rc ? rc : pk_run(p, "batch_claim", &keys, &args);
    strv_clear(&ids);
    strv_clear(&keys);
    strv_clear(&args);
    return rc;
}

/* ---- pick confirm and short ---- */

/* The task's fields read first: kind, order, batch, sku, location, lot, backorder. */
#define TASK_FIELDS 7

static int task_keys(struct pk *p, const char *const *t, struct strv *keys, const char *tote)
{
    char q[KEY_MAX];
    int rc;
    if (store_id_check(t[1]) || store_id_check(t[2]) || store_id_check(t[3]) ||
        store_path_check(t[4]) || (t[5][0] && store_id_check(t[5])) ||
        store_key_quant(q, sizeof(q), site(p), t[3], t[4], t[5]) < 0)
        return WCS_E_PROTOCOL;
    rc = strv_pushf(keys, "wcs:{%s}:task:%s", site(p), p->id);
    rc = rc ? rc : strv_pushf(keys, "wcs:{%s}:batch:%s", site(p), t[2]);
    rc = rc ? rc : strv_pushf(keys, "wcs:{%s}:order:%s", site(p), t[1]);
    rc = rc ? rc : strv_pushf(keys, "wcs:{%s}:order:%s:resv", site(p), t[1]);
    rc = rc ? rc : strv_push(keys, q);
    /* No tote (a short pick of nothing): the task key stands in, unused by the script. */
    rc = rc ? rc
            : (tote && tote[0] ? strv_pushf(keys, "wcs:{%s}:tote:%s:contents", site(p), tote)
                               : strv_pushf(keys, "wcs:{%s}:task:%s", site(p), p->id));
    rc = rc ? rc
            : (tote && tote[0] ? strv_pushf(keys, "wcs:{%s}:tote:%s", site(p), tote)
                               : strv_pushf(keys, "wcs:{%s}:task:%s", site(p), p->id));
    return rc;
}

/* A task of a backorder's follow-up order: its backorder's key (task_pick marks it done). */
static int backorder_key(struct pk *p, const char *bo, struct strv *keys)
{
    if (!bo[0])
        return 0;
    return store_id_check(bo) ? WCS_E_PROTOCOL
                              : strv_pushf(keys, "wcs:{%s}:backorder:%s", site(p), bo);
}

static int read_task(struct pk *p)
{
    const char *a[TASK_FIELDS] = {"kind", "order", "batch", "sku", "location", "lot", "backorder"};
    return pk_read_hash(p, "task", p->id, a, TASK_FIELDS);
}

/* The task as read, or a refusal for an unknown task or one of another kind (returns NULL). */
static const char *const *task_read(struct pk *p, int *rc)
{
    size_t f, n;
    const char *const *t;
    char msg[160];
    *rc = 0;
    if (!read_part(p, 0, &f, &n) || n < TASK_FIELDS) {
        *rc = WCS_E_PROTOCOL;
        return NULL;
    }
    t = (const char *const *)p->read.v + f;
    if (strcmp(t[0], "pick") != 0) {
        snprintf(msg, sizeof(msg),
                 t[0][0] ? "ESTATE task %s is a %s task, not a pick"
                         : "EUNKNOWN unknown task \"%s\"%s",
                 p->id, t[0]);
        pk_refuse(p, t[0][0] ? WCS_E_STATE : WCS_E_UNKNOWN, msg);
        return NULL;
    }
    return t;
}

/* in: mode, location, gtin, gtin sku, lot ("\x1f": none), expiry ("" none), qty, tote, serial
 * ("" none), "serial" when the product is serial-tracked. */
static int next_confirm(struct pk *p)
{
    struct strv keys = {0}, args = {0};
    const char *const *t;
    int rc;
    if (p->phase == 0 && p->hint.n == TASK_FIELDS) {
        /* The task as the caller knows it, in place of the read (once: a retry reads). */
        struct strv h = p->hint;
        p->hint = (struct strv){0};
        strv_clear(&p->read);
        p->read = h;
        if ((rc = strv_push(&p->read, "\x1f")) != 0)
            return rc;
        p->phase = 1;
    }
    if (p->phase == 0)
        return read_task(p);
    if (!(t = task_read(p, &rc)))
        return rc;
    rc = task_keys(p, t, &keys, p->in.v[7]);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:replen:faces", site(p));
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:tote:%s:serials", site(p), p->in.v[7]);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:serials", site(p));
    /* The scanned serial's record (docs/redis.md, "Serials"); a stand-in, the task, without. */
    if (rc == 0 && strcmp(p->in.v[9], "serial") == 0 && p->in.v[8][0] && p->in.v[3][0])
        rc = strv_pushf(&keys, "wcs:{%s}:serial:%s:%s", site(p), p->in.v[3], p->in.v[8]);
    else if (rc == 0)
        rc = strv_pushf(&keys, "wcs:{%s}:task:%s", site(p), p->id);
    rc = rc ? rc : backorder_key(p, t[6], &keys);
    rc = rc ? rc : strv_push(&args, p->id);
    for (size_t i = 0; rc == 0 && i < p->in.n; i++)
        rc = strv_push(&args, p->in.v[i]);
    rc = rc ? rc : pk_run(p, "task_pick", &keys, &args);
    strv_clear(&keys);
    strv_clear(&args);
    return rc;
}

/* ---- pick.short: the read ---- */

static const char *const SHORT_TASK_FIELDS[OPS_SHORT_TASK] = {"kind", "state",    "order", "batch",
                                                              "sku",  "location", "lot",   "expiry",
                                                              "qty",  "picked",   "line",  "wave"};

/* Ends the read: the task, the info and the quants as one list of values. */
static int short_read_done(struct pk *p)
{
    struct strv out = {0};
    struct store_result r = {0};
    size_t f, n;
    int rc = 0;
    for (int part = 0; rc == 0 && read_part(p, part, &f, &n); part++)
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = strv_push(&out, p->read.v[f + i]);
    if (rc == 0) {
        r.values = (const char *const *)out.v;
        r.n_values = out.n;
        pk_finish(p, &r);
    }
    strv_clear(&out);
    return rc;
}

static int next_short_read(struct pk *p)
{
    struct strv keys = {0};
    size_t f, n;
    int rc = 0;
    if (p->phase == 0)
        return pk_read_hash(p, "task", p->id, SHORT_TASK_FIELDS, OPS_SHORT_TASK);
    if (!read_part(p, 0, &f, &n) || n < OPS_SHORT_TASK)
        return WCS_E_PROTOCOL;
    const char *const *t = (const char *const *)p->read.v + f;
    if (p->phase == 1) {
        char msg[160];
        if (strcmp(t[0], "pick") != 0) {
            snprintf(msg, sizeof(msg),
                     t[0][0] ? "ESTATE task %s is a %s task, not a pick"
                             : "EUNKNOWN unknown task \"%s\"%s",
                     p->id, t[0]);
            pk_refuse(p, t[0][0] ? WCS_E_STATE : WCS_E_UNKNOWN, msg);
            return 0;
        }
        if (strcmp(t[1], "open") != 0) {
            snprintf(msg, sizeof(msg), "ESTATE task %s is %s", p->id, t[1]);
            pk_refuse(p, WCS_E_STATE, msg);
            return 0;
        }
        if (store_id_check(t[2]) || store_id_check(t[4]) || store_path_check(t[5]))
            return WCS_E_PROTOCOL;
        const char *a[] = {t[10], t[5]};
        rc = strv_pushf(&keys, "wcs:{%s}:order:%s", site(p), t[2]);
        rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:order:%s:lines", site(p), t[2]);
        rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:task:seq", site(p));
        rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:backorder:seq", site(p));
        rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:counts:open", site(p));
        rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:sku:%s:quants", site(p), t[4]);
        rc = rc ? rc : pk_read(p, "short", &keys, a, 2);
        strv_clear(&keys);
        return rc;
    }
    /* The SKU's quants, OPS_READ_MAX per read. */
    size_t fi, ni, nq;
    if (!read_part(p, 1, &fi, &ni) || ni < OPS_SHORT_INFO + 1)
        return WCS_E_PROTOCOL;
    nq = strtoul(p->read.v[fi + OPS_SHORT_INFO], NULL, 10);
    if (ni != OPS_SHORT_INFO + 1 + nq)
        return WCS_E_PROTOCOL;
    size_t first = (size_t)(p->phase - 2) * OPS_READ_MAX;
    if (first >= nq)
        return short_read_done(p);
    const char *a0[] = {"quants"};
    for (size_t i = first; rc == 0 && i < nq && i < first + OPS_READ_MAX; i++)
        rc = strncmp(p->read.v[fi + OPS_SHORT_INFO + 1 + i], "wcs:{", 5) != 0
                 ? WCS_E_PROTOCOL
                 : strv_push(&keys, p->read.v[fi + OPS_SHORT_INFO + 1 + i]);
    rc = rc ? rc
            : store_script_run(p->s, &p->ctx, "wave_read", false, (const char *const *)keys.v,
                               keys.n, a0, 1, on_pk_read, p);
    strv_clear(&keys);
    return rc;
}

static int pk_next(struct pk *p)
{
    switch (p->kind) {
    case PK_RELEASE:
        return next_release(p);
    case PK_CLAIM:
        return next_claim(p);
    case PK_CONFIRM:
        return next_confirm(p);
    case PK_SHORT_READ:
        return next_short_read(p);
    }
    return -EINVAL;
}

static struct pk *pk_new(struct store *s, const struct store_ctx *ctx, enum pk_kind kind,
                         const char *id, store_cb cb, void *arg)
{
    struct pk *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->s = s;
    p->kind = kind;
    p->cb = cb;
    p->arg = arg;
    p->ctx = ctx ? *ctx : (struct store_ctx){0};
    p->ctx.op_id = NULL; /* each script of the operation gets its own op id */
    if (p->ctx.actor) {
        snprintf(p->actor, sizeof(p->actor), "%s", p->ctx.actor);
        p->ctx.actor = p->actor;
    }
    if (p->ctx.cause) {
        snprintf(p->cause, sizeof(p->cause), "%s", p->ctx.cause);
        p->ctx.cause = p->cause;
    }
    snprintf(p->id, sizeof(p->id), "%s", id ? id : "");
    return p;
}

static int pk_start(struct pk *p)
{
    int rc = pk_next(p);
    if (rc != 0) {
        pk_free(p);
        return rc == -E2BIG ? -EINVAL : rc;
    }
    return 0;
}

int ops_wave_release(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                     const char *stations_json, store_cb cb, void *arg)
{
    struct pk *p;
    if (!s || store_id_check(wave_id) != 0 || !stations_json)
        return -EINVAL;
    if (!(p = pk_new(s, ctx, PK_RELEASE, wave_id, cb, arg)))
        return -ENOMEM;
    if (strv_push(&p->in, stations_json) != 0) {
        pk_free(p);
        return -ENOMEM;
    }
    return pk_start(p);
}

int ops_batch_claim(struct store *s, const struct store_ctx *ctx, const char *batch_id,
                    const char *picker, store_cb cb, void *arg)
{
    struct pk *p;
    if (!s || (batch_id && batch_id[0] && store_id_check(batch_id) != 0) || !picker || !picker[0] ||
        strlen(picker) > 128)
        return -EINVAL;
    if (!(p = pk_new(s, ctx, PK_CLAIM, batch_id, cb, arg)))
        return -ENOMEM;
    p->any_batch = !batch_id || !batch_id[0];
    snprintf(p->user, sizeof(p->user), "%s", picker);
    return pk_start(p);
}

int ops_pick_confirm(struct store *s, const struct store_ctx *ctx, const struct ops_pick *pk,
                     store_cb cb, void *arg)
{
    struct pk *p;
    char qty[24];
    int rc = 0;
    if (!s || !pk || store_id_check(pk->task) != 0 || !pk->location || !pk->gtin || !pk->gtin_sku ||
        pk->qty < 0 || (pk->qty > 0 && store_id_check(pk->tote) != 0) ||
        (pk->lot && pk->lot[0] && store_id_check(pk->lot) != 0) ||
        (pk->serial && store_id_check(pk->serial) != 0) || pk->short_pick || pk->qty < 1)
        return -EINVAL;
    if (!(p = pk_new(s, ctx, PK_CONFIRM, pk->task, cb, arg)))
        return -ENOMEM;
    snprintf(qty, sizeof(qty), "%" PRId64, pk->qty);
    const char *in[] = {"confirm",
                        pk->location,
                        pk->gtin,
                        pk->gtin_sku,
                        pk->lot ? pk->lot : "\x1f",
                        pk->expiry ? pk->expiry : "",
                        qty,
                        pk->tote ? pk->tote : "",
                        pk->serial ? pk->serial : "",
                        pk->serial_tracked ? "serial" : ""};
    for (size_t i = 0; rc == 0 && i < sizeof(in) / sizeof(in[0]); i++)
        rc = strv_push(&p->in, in[i]);
    if (rc == 0 && pk->hint && pk->hint->order && pk->hint->batch && pk->hint->sku &&
        pk->hint->location) {
        /* In read_task's order: kind, order, batch, sku, location, lot, backorder. A follow-up
         * order's task (its backorder) is not known this way: the script refuses the hint. */
        const char *h[TASK_FIELDS] = {"pick",
                                      pk->hint->order,
                                      pk->hint->batch,
                                      pk->hint->sku,
                                      pk->hint->location,
                                      pk->hint->lot ? pk->hint->lot : "",
                                      ""};
        for (size_t i = 0; rc == 0 && i < TASK_FIELDS; i++)
            rc = strv_push(&p->hint, h[i]);
    }
    if (rc != 0) {
        pk_free(p);
        return rc;
    }
    return pk_start(p);
}

int ops_short_read(struct store *s, const struct store_ctx *ctx, const char *task_id, store_cb cb,
                   void *arg)
{
    struct pk *p;
    if (!s || store_id_check(task_id) != 0)
        return -EINVAL;
    if (!(p = pk_new(s, ctx, PK_SHORT_READ, task_id, cb, arg)))
        return -ENOMEM;
    return pk_start(p);
}

/* ---- pick.short: the commit ---- */

int ops_pick_short(struct store *s, const struct store_ctx *ctx, const struct ops_short *sh,
                   store_cb cb, void *arg)
{
    struct strv keys = {0}, args = {0};
    const struct ops_pick *pk = sh ? &sh->pick : NULL;
    const char *st;
    char q[KEY_MAX];
    int64_t n;
    int rc = 0;
    if (!s || !sh || store_id_check(pk->task) != 0 || pk->qty < 0 ||
        (pk->qty > 0 &&
         (store_id_check(pk->tote) != 0 || !pk->location || !pk->gtin || !pk->gtin_sku)) ||
        (pk->lot && pk->lot[0] && store_id_check(pk->lot) != 0) ||
        (pk->serial && store_id_check(pk->serial) != 0) || !sh->order || !sh->batch || !sh->sku ||
        !sh->location || !sh->line || !sh->own_backorder || !sh->follow_up || !sh->priority ||
        store_id_check(sh->order) || store_id_check(sh->batch) || store_id_check(sh->follow_up) ||
        (sh->priority[0] && store_id_check(sh->priority)) ||
        (sh->own_backorder[0] && store_id_check(sh->own_backorder)) ||
        sh->n_repl > OPS_SHORT_REPL_MAX || (sh->n_repl && !sh->repl) ||
        store_key_quant(q, sizeof(q), store_site(s), sh->sku, sh->location, sh->lot) < 0)
        return -EINVAL;
    st = store_site(s);
    n = sh->task_ctr + (sh->count_open ? 0 : 1);
    rc = strv_pushf(&keys, "wcs:{%s}:task:%s", st, pk->task);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:batch:%s", st, sh->batch);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:order:%s", st, sh->order);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:order:%s:resv", st, sh->order);
    rc = rc ? rc : strv_push(&keys, q);
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = pk->qty > 0 ? strv_pushf(&keys, i ? "wcs:{%s}:tote:%s" : "wcs:{%s}:tote:%s:contents",
                                      st, pk->tote)
                         : strv_pushf(&keys, "wcs:{%s}:task:%s", st, pk->task);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:task:seq", st);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:counts:open", st);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:task:CNT-%" PRId64, st, sh->task_ctr + 1);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:backorder:seq", st);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:backorders", st);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:backorder:BO-%" PRId64, st, sh->bo_ctr + 1);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:order:%s", st, sh->follow_up);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:order:%s:lines", st, sh->follow_up);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:orders:open", st);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:order:%s:lines", st, sh->order);
    rc = rc ? rc
            : (sh->own_backorder[0]
                   ? strv_pushf(&keys, "wcs:{%s}:backorder:%s", st, sh->own_backorder)
                   : strv_pushf(&keys, "wcs:{%s}:task:%s", st, pk->task));
    /* The found unit's serial (a serial-tracked product): the tote's serials, the site's, its
     * record; stand-ins (the task) otherwise. */
    bool ser = pk->qty > 0 && pk->serial_tracked && pk->serial && pk->gtin_sku[0];
    rc = rc ? rc
            : (ser ? strv_pushf(&keys, "wcs:{%s}:tote:%s:serials", st, pk->tote)
                   : strv_pushf(&keys, "wcs:{%s}:task:%s", st, pk->task));
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:serials", st);
    rc = rc ? rc
            : (ser ? strv_pushf(&keys, "wcs:{%s}:serial:%s:%s", st, pk->gtin_sku, pk->serial)
                   : strv_pushf(&keys, "wcs:{%s}:task:%s", st, pk->task));
    for (size_t i = 0; rc == 0 && i < sh->n_repl; i++) {
        const struct store_line *l = &sh->repl[i];
        rc = store_key_quant(q, sizeof(q), st, l->sku, l->loc, l->lot) < 0 || l->qty < 1
                 ? -EINVAL
                 : strv_push(&keys, q);
    }
    for (size_t i = 0; rc == 0 && i < sh->n_repl; i++)
        rc = strv_pushf(&keys, "wcs:{%s}:task:PCK-%" PRId64, st, n + 1 + (int64_t)i);
    char num[24];
    const char *in[] = {pk->task,
                        "short",
                        pk->qty > 0 ? pk->location : "",
                        pk->qty > 0 ? pk->gtin : "",
                        pk->qty > 0 ? pk->gtin_sku : "",
                        pk->lot ? pk->lot : "\x1f",
                        pk->expiry ? pk->expiry : "",
                        NULL,
                        pk->qty > 0 ? pk->tote : "",
                        pk->qty > 0 && pk->serial ? pk->serial : "",
                        pk->qty > 0 && pk->serial_tracked ? "serial" : ""};
    for (size_t i = 0; rc == 0 && i < sizeof(in) / sizeof(in[0]); i++) {
        if (!in[i]) {
            snprintf(num, sizeof(num), "%" PRId64, pk->qty);
            rc = strv_push(&args, num);
        } else {
            rc = strv_push(&args, in[i]);
        }
    }
    rc = rc ? rc : strv_pushf(&args, "%" PRId64, sh->task_ctr);
    rc = rc ? rc : strv_pushf(&args, "%" PRId64, sh->bo_ctr);
    rc = rc ? rc : strv_push(&args, sh->follow_up);
    rc = rc ? rc : strv_push(&args, sh->priority);
    rc = rc ? rc : strv_pushf(&args, "%zu", sh->n_repl);
    for (size_t i = 0; rc == 0 && i < sh->n_repl; i++)
        rc = strv_pushf(&args, "%" PRId64, sh->repl[i].qty);
    if (rc == 0) {
        struct store_ctx c = ctx ? *ctx : (struct store_ctx){0};
        c.op_id = NULL;
        rc = store_script_run(s, &c, "task_short", false, (const char *const *)keys.v, keys.n,
                              (const char *const *)args.v, args.n, cb, arg);
    }
    strv_clear(&keys);
    strv_clear(&args);
    return rc == -E2BIG ? -EINVAL : rc;
}

/* ---- backorders first (wave.plan) ---- */

int ops_wave_reserve_bo(struct store *s, const struct store_ctx *ctx, const char *wave_id,
                        const char *order_id, const char *updated_ts, uint32_t n_lines,
                        const struct store_line *lines, size_t n, const char *backorder,
                        store_cb cb, void *arg)
{
    struct strv keys = {0}, args = {0};
    char q[KEY_MAX];
    const char *st;
    int rc = 0;
    if (!s || !lines || !updated_ts || n < 1 || n > OPS_RESERVE_MAX ||
        store_id_check(order_id) != 0 || store_id_check(wave_id) != 0 ||
        (backorder && backorder[0] && store_id_check(backorder) != 0))
        return -EINVAL;
    st = store_site(s);
    rc = strv_pushf(&keys, "wcs:{%s}:order:%s", st, order_id);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:order:%s:resv", st, order_id);
    rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:wave:%s", st, wave_id);
    rc = rc ? rc : strv_push(&args, order_id);
    rc = rc ? rc : strv_push(&args, wave_id);
    rc = rc ? rc : strv_push(&args, updated_ts);
    rc = rc ? rc : strv_pushf(&args, "%" PRIu32, n_lines);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = lines[i].qty <= 0 || store_key_quant(q, sizeof(q), st, lines[i].sku, lines[i].loc,
                                                  lines[i].lot ? lines[i].lot : "") < 0
                 ? -EINVAL
                 : strv_push(&keys, q);
        rc = rc ? rc : strv_pushf(&args, "%" PRId64, lines[i].qty);
    }
    if (rc == 0 && backorder && backorder[0]) {
        rc = strv_pushf(&keys, "wcs:{%s}:backorder:%s", st, backorder);
        rc = rc ? rc : strv_pushf(&keys, "wcs:{%s}:backorders", st);
    }
    rc = rc ? rc
            : store_script_run(s, ctx, "wave_reserve", false, (const char *const *)keys.v, keys.n,
                               (const char *const *)args.v, args.n, cb, arg);
    strv_clear(&keys);
    strv_clear(&args);
    return rc;
}

int ops_order_short(struct store *s, const struct store_ctx *ctx, const char *order_id, store_cb cb,
                    void *arg)
{
    char k[KEY_MAX];
    const char *keys[] = {k}, *args[] = {order_id};
    if (!s || store_id_check(order_id) != 0 ||
        snprintf(k, sizeof(k), "wcs:{%s}:order:%s", store_site(s), order_id) >= (int)sizeof(k))
        return -EINVAL;
    return store_script_run(s, ctx, "order_short", false, keys, 1, args, 1, cb, arg);
}
