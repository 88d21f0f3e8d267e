/* Sorter records (tote.h): the tote_update script for facts of the sortation flow, the KPI
 * snapshot hash, and the SCAN + HGETALL start-up load. Built on the private hooks of store.c
 * (hook.h); never sees hiredis. */
#include "store/tote.h"

#include "base/err.h"
#include "hook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS_MAX 32

static bool field_ok(const struct store_field *f)
{
    size_t n;
    if (!f->name || !f->value)
        return false;
    n = strlen(f->name);
    if (n == 0 || n > 32 || strlen(f->value) > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = f->name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

int store_tote_record(struct store *s, const struct store_ctx *ctx, const char *kind,
                      const char *id, const char *op, const char *counter,
                      const struct store_field *fields, size_t n, store_cb cb, void *arg)
{
    char key[STORE_KEY_MAX];
    const char *keys[1] = {key};
    const char *args[3 + 2 * FIELDS_MAX];
    int k;

    if (!s || !kind || !id || !op || (n > 0 && !fields) || n > FIELDS_MAX)
        return -EINVAL;
    if (strcmp(kind, "sorter") == 0)
        k = store_key(key, sizeof(key), store_site(s), "sorter", NULL);
    else if (strcmp(kind, "tote") == 0 || strcmp(kind, "lane") == 0)
        k = store_key(key, sizeof(key), store_site(s), kind, id);
    else
        return -EINVAL;
    if (k < 0 || store_id_check(id) != 0)
        return -EINVAL;
    args[0] = op;
    args[1] = id;
    args[2] = counter ? counter : "";
    for (size_t i = 0; i < n; i++) {
        if (!field_ok(&fields[i]))
            return -EINVAL;
        args[3 + 2 * i] = fields[i].name;
        args[4 + 2 * i] = fields[i].value;
    }
    return store_script_run(s, ctx, "tote_update", true, keys, 1, args, 3 + 2 * n, cb, arg);
}

static int record_key(struct store *s, const char *kind, const char *id, char *key, size_t cap)
{
    int k;
    if (!kind || !id || store_id_check(id) != 0)
        return -EINVAL;
    if (strcmp(kind, "sorter") == 0)
        k = store_key(key, cap, store_site(s), "sorter", NULL);
    else if (strcmp(kind, "tote") == 0 || strcmp(kind, "lane") == 0)
        k = store_key(key, cap, store_site(s), kind, id);
    else
        return -EINVAL;
    return k < 0 ? -EINVAL : 0;
}

int store_tote_records(struct store *s, const struct store_ctx *ctx,
                       const struct store_record *recs, size_t n, store_cb cb, void *arg)
{
    char keys_buf[STORE_RECORDS_MAX][STORE_KEY_MAX], counts[STORE_RECORDS_MAX][12], nb[12];
    const char *keys[STORE_RECORDS_MAX];
    const char *args[1 + STORE_RECORDS_MAX * (5 + 2 * FIELDS_MAX)];
    size_t na = 0;

    if (!s || !recs || n == 0 || n > STORE_RECORDS_MAX)
        return -EINVAL;
    snprintf(nb, sizeof(nb), "%zu", n);
    args[na++] = nb;
    for (size_t r = 0; r < n; r++) {
        const struct store_record *rec = &recs[r];
        if (record_key(s, rec->kind, rec->id, keys_buf[r], STORE_KEY_MAX) != 0 || !rec->op ||
            rec->n > FIELDS_MAX || (rec->n > 0 && !rec->fields) ||
            (rec->cause && strlen(rec->cause) > 256))
            return -EINVAL;
        keys[r] = keys_buf[r];
        snprintf(counts[r], sizeof(counts[r]), "%zu", rec->n);
        args[na++] = rec->op;
        args[na++] = rec->id;
        args[na++] = rec->counter ? rec->counter : "";
        args[na++] = rec->cause ? rec->cause : "";
        args[na++] = counts[r];
        for (size_t i = 0; i < rec->n; i++) {
            if (!field_ok(&rec->fields[i]))
                return -EINVAL;
            args[na++] = rec->fields[i].name;
            args[na++] = rec->fields[i].value;
        }
    }
    return store_script_run(s, ctx, "tote_batch", true, keys, n, args, na, cb, arg);
}

struct adapter {
    store_cb cb;
    void *arg;
};

static void on_adapted(void *arg, int rc, const char *msg, const struct store_item *items, size_t n)
{
    struct adapter *a = arg;
    struct store_result r = {.rc = rc, .message = msg};
    (void)items;
    (void)n;
    if (a->cb)
        a->cb(a->arg, &r);
    free(a);
}

int store_kpi_write(struct store *s, const char *name, const struct store_field *fields, size_t n,
                    store_cb cb, void *arg)
{
    struct adapter *a;
    char key[STORE_KEY_MAX];
    const char *argv[2 + 2 * FIELDS_MAX];
    int k, rc;
    if (!s || !name || !fields || n == 0 || n > FIELDS_MAX)
        return -EINVAL;
    k = snprintf(key, sizeof(key), "wcs:{%s}:kpi:%s", store_site(s), name);
    if (k < 0 || (size_t)k >= sizeof(key) || store_id_check(name) != 0)
        return -EINVAL;
    argv[0] = "HSET";
    argv[1] = key;
    for (size_t i = 0; i < n; i++) {
        if (!field_ok(&fields[i]))
            return -EINVAL;
        argv[2 + 2 * i] = fields[i].name;
        argv[3 + 2 * i] = fields[i].value;
    }
    a = malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->cb = cb;
    a->arg = arg;
    /* HSET of absolute values is idempotent: safe to hold and replay. */
    rc = store_raw(s, true, 2 + 2 * n, argv, on_adapted, a);
    if (rc != 0)
        free(a);
    return rc;
}

/* ---- the start-up load ---- */

struct loader {
    struct store *s;
    char prefix[STORE_KEY_MAX]; /* wcs:{site}:<kind>: */
    size_t prefix_len;
    char cursor[24];
    store_record_fn each;
    store_cb done;
    void *arg;
    size_t pending; /* commands sent and not answered */
    int rc;         /* first error */
    bool scan_done;
};

struct fetch {
    struct loader *ld;
    char id[STORE_ID_MAX];
};

static void next_step(struct loader *ld);

static void finish_if_idle(struct loader *ld)
{
    struct store_result r = {0};
    if (ld->pending > 0)
        return;
    if (ld->rc == 0 && !ld->scan_done) {
        next_step(ld);
        if (ld->pending > 0)
            return;
    }
    r.rc = ld->rc;
    if (ld->done)
        ld->done(ld->arg, &r);
    free(ld);
}

static void on_hgetall(void *arg, int rc, const char *msg, const struct store_item *items, size_t n)
{
    struct fetch *f = arg;
    struct loader *ld = f->ld;
    struct store_field fields[FIELDS_MAX];
    char *copy[2 * FIELDS_MAX];
    size_t nf = 0;
    (void)msg;

    ld->pending--;
    if (rc != 0 && ld->rc == 0)
        ld->rc = rc;
    /* A record with more fields than FIELDS_MAX is reported with its first FIELDS_MAX. */
    if (rc == 0 && n > 0 && n % 2 == 0) {
        for (size_t i = 0; i + 1 < n && nf < FIELDS_MAX; i += 2) {
            copy[2 * nf] = strndup(items[i].str ? items[i].str : "", items[i].len);
            copy[2 * nf + 1] = strndup(items[i + 1].str ? items[i + 1].str : "", items[i + 1].len);
            if (!copy[2 * nf] || !copy[2 * nf + 1]) {
                free(copy[2 * nf]);
                free(copy[2 * nf + 1]);
                if (ld->rc == 0)
                    ld->rc = -ENOMEM;
                break;
            }
            fields[nf].name = copy[2 * nf];
            fields[nf].value = copy[2 * nf + 1];
            nf++;
        }
        if (ld->rc == 0)
            ld->each(ld->arg, f->id, fields, nf);
        for (size_t i = 0; i < 2 * nf; i++)
            free(copy[i]);
    }
    free(f);
    finish_if_idle(ld);
}

static void on_scan(void *arg, int rc, const char *msg, const struct store_item *items, size_t n)
{
    struct loader *ld = arg;
    (void)msg;
    ld->pending--;
    if (rc == 0 && (n < 1 || !items[0].str || items[0].len >= sizeof(ld->cursor)))
        rc = WCS_E_PROTOCOL;
    if (rc != 0) {
        if (ld->rc == 0)
            ld->rc = rc;
        finish_if_idle(ld);
        return;
    }
    memcpy(ld->cursor, items[0].str, items[0].len);
    ld->cursor[items[0].len] = '\0';
    ld->scan_done = strcmp(ld->cursor, "0") == 0;
    for (size_t i = 1; i < n && ld->rc == 0; i++) {
        const char *k = items[i].str;
        size_t len = items[i].len, idlen;
        struct fetch *f;
        const char *argv[2];
        char key[STORE_KEY_MAX];
        int src;
        if (!k || len <= ld->prefix_len || len >= sizeof(key) ||
            memcmp(k, ld->prefix, ld->prefix_len) != 0)
            continue;
        idlen = len - ld->prefix_len;
        if (idlen >= STORE_ID_MAX)
            continue;
        f = calloc(1, sizeof(*f));
        if (!f) {
            ld->rc = -ENOMEM;
            break;
        }
        memcpy(f->id, k + ld->prefix_len, idlen);
        f->id[idlen] = '\0';
        if (store_id_check(f->id) != 0) { /* a sub-key such as tote:<id>:contents */
            free(f);
            continue;
        }
        f->ld = ld;
        memcpy(key, k, len);
        key[len] = '\0';
        argv[0] = "HGETALL";
        argv[1] = key;
        src = store_raw(ld->s, false, 2, argv, on_hgetall, f);
        if (src != 0) {
            free(f);
            ld->rc = src;
            break;
        }
        ld->pending++;
    }
    finish_if_idle(ld);
}

static void next_step(struct loader *ld)
{
    char match[STORE_KEY_MAX + 2];
    const char *argv[6];
    int rc;
    snprintf(match, sizeof(match), "%s*", ld->prefix);
    argv[0] = "SCAN";
    argv[1] = ld->cursor;
    argv[2] = "MATCH";
    argv[3] = match;
    argv[4] = "COUNT";
    argv[5] = "1000";
    rc = store_raw(ld->s, false, 6, argv, on_scan, ld);
    if (rc != 0)
        ld->rc = rc;
    else
        ld->pending++;
}

int store_load_records(struct store *s, const char *kind, store_record_fn each, store_cb done,
                       void *arg)
{
    struct loader *ld;
    int k;
    if (!s || !kind || !each ||
        (strcmp(kind, "tote") != 0 && strcmp(kind, "order") != 0 && strcmp(kind, "lane") != 0))
        return -EINVAL;
    ld = calloc(1, sizeof(*ld));
    if (!ld)
        return -ENOMEM;
    ld->s = s;
    k = snprintf(ld->prefix, sizeof(ld->prefix), "wcs:{%s}:%s:", store_site(s), kind);
    if (k < 0 || (size_t)k >= sizeof(ld->prefix)) {
        free(ld);
        return -EINVAL;
    }
    ld->prefix_len = (size_t)k;
    strcpy(ld->cursor, "0");
    ld->each = each;
    ld->done = done;
    ld->arg = arg;
    next_step(ld);
    if (ld->rc != 0) {
        k = ld->rc;
        free(ld);
        return k;
    }
    return 0;
}
