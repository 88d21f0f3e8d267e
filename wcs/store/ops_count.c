/* The store side of counting, transfers, the KPI read and the audit (ops.h, the section
 * "counting, transfers, KPI and audit reads"): each builds the keys its script declares from
 * the site and checked ids and runs one Lua script (count_read, count_submit, transfer_*). The
 * callers (wcs/command count.c and transfer.c, the daemon's scheduler, `wcs audit`) read first
 * and pass what they read; the scripts re-check it. */
#include "store/ops.h"

#include "base/err.h"
#include "hook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX STORE_KEY_MAX

/* wcs:{site}:<word> */
static int key0(char *buf, const struct store *s, const char *word)
{
    int n = snprintf(buf, KEY_MAX, "wcs:{%s}:%s", store_site(s), word);
    return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

/* wcs:{site}:<kind>:<id>[:<suffix>] with id an identifier. */
static int key_id(char *buf, const struct store *s, const char *kind, const char *id,
                  const char *suffix)
{
    int n;
    if (store_id_check(id) != 0)
        return -EINVAL;
    n = snprintf(buf, KEY_MAX, "wcs:{%s}:%s:%s%s%s", store_site(s), kind, id, suffix ? ":" : "",
                 suffix ? suffix : "");
    return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

/* wcs:{site}:loc:<path>:quants */
static int key_loc(char *buf, const struct store *s, const char *loc)
{
    int n;
    if (store_path_check(loc) != 0)
        return -EINVAL;
    n = snprintf(buf, KEY_MAX, "wcs:{%s}:loc:%s:quants", store_site(s), loc);
    return n > 0 && n < KEY_MAX ? 0 : -EINVAL;
}

/* The quant key of the same sku and lot as quant key `q` at loc. */
static int key_moved(char *buf, const struct store *s, const char *q, const char *loc,
                     char sku_out[STORE_ID_MAX])
{
    struct store_quant_ref ref;
    if (!q || store_key_parse_quant(q, strlen(q), &ref) != 0 ||
        strcmp(ref.site, store_site(s)) != 0)
        return -EINVAL;
    snprintf(sku_out, STORE_ID_MAX, "%s", ref.sku);
    return store_key_quant(buf, KEY_MAX, store_site(s), ref.sku, loc, ref.lot) < 0 ? -EINVAL : 0;
}

int ops_count_read_task(struct store *s, const struct store_ctx *ctx, const char *task_id,
                        const char *loc, store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX];
    if (!s || key_id(k1, s, "task", task_id, NULL) || key0(k2, s, "approval:seq") ||
        key_loc(k3, s, loc))
        return -EINVAL;
    const char *keys[] = {k1, k2, k3}, *args[] = {"task"};
    return store_script_run(s, ctx, "count_read", false, keys, 3, args, 1, cb, arg);
}

int ops_count_submit(struct store *s, const struct store_ctx *ctx, const char *task_id,
                     const char *loc, uint64_t approval_seq, uint64_t set_size,
                     uint32_t qty_threshold, uint64_t value_threshold_cents,
                     const struct ops_count_quant *q, size_t n, store_cb cb, void *arg)
{
    char kbuf[6 + 4 * OPS_COUNT_QUANTS_MAX][KEY_MAX];
    char num[4 + 2 * OPS_COUNT_QUANTS_MAX][24];
    const char *keys[6 + 4 * OPS_COUNT_QUANTS_MAX], *args[7 + 4 * OPS_COUNT_QUANTS_MAX];
    char alarm[STORE_ID_MAX + 16];
    size_t na = 0;
    if (!s || (n > 0 && !q) || n > OPS_COUNT_QUANTS_MAX || store_id_check(task_id) != 0)
        return -EINVAL;
    snprintf(alarm, sizeof(alarm), "count.%s.reserved", task_id);
    if (key_id(kbuf[0], s, "task", task_id, NULL) || key0(kbuf[1], s, "counts:open") ||
        key0(kbuf[2], s, "counted") || key0(kbuf[3], s, "approval:seq") ||
        key_loc(kbuf[4], s, loc) || key_id(kbuf[5], s, "alarm", alarm, NULL))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char id[STORE_ID_MAX + 8], al[STORE_ID_MAX + 24];
        const char *lot = q[i].lot ? q[i].lot : "";
        if (store_key_quant(kbuf[6 + i], KEY_MAX, store_site(s), q[i].sku, loc, lot) < 0 ||
            key_id(kbuf[6 + n + i], s, "sku", q[i].sku, "quants"))
            return -EINVAL;
        snprintf(id, sizeof(id), "ADJ-%" PRIu64, approval_seq + i + 1);
        snprintf(al, sizeof(al), "approval-%s", id);
        if (key_id(kbuf[6 + 2 * n + i], s, "approval", id, NULL) ||
            key_id(kbuf[6 + 3 * n + i], s, "alarm", al, NULL))
            return -EINVAL;
    }
    for (size_t i = 0; i < 6 + 4 * n; i++)
        keys[i] = kbuf[i];
    snprintf(num[0], sizeof(num[0]), "%" PRIu64, approval_seq);
    snprintf(num[1], sizeof(num[1]), "%" PRIu64, set_size);
    snprintf(num[2], sizeof(num[2]), "%" PRIu32, qty_threshold);
    snprintf(num[3], sizeof(num[3]), "%" PRIu64, value_threshold_cents);
    args[na++] = task_id;
    args[na++] = loc;
    args[na++] = num[0];
    args[na++] = num[1];
    args[na++] = num[2];
    args[na++] = num[3];
    char count[16];
    snprintf(count, sizeof(count), "%zu", n);
    args[na++] = count;
    for (size_t i = 0; i < n; i++) {
        char *c = num[4 + 2 * i], *u = num[5 + 2 * i];
        if (q[i].counted < 0)
            c[0] = '\0';
        else
            snprintf(c, 24, "%" PRId64, q[i].counted);
        if (q[i].unit_value_cents < 0)
            u[0] = '\0';
        else
            snprintf(u, 24, "%" PRId64, q[i].unit_value_cents);
        args[na++] = q[i].sku;
        args[na++] = q[i].lot ? q[i].lot : "";
        args[na++] = c;
        args[na++] = u;
    }
    return store_script_run(s, ctx, "count_submit", false, keys, 6 + 4 * n, args, na, cb, arg);
}

int ops_count_read_plan(struct store *s, const struct store_ctx *ctx, const char *day, store_cb cb,
                        void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX];
    if (!s || !day || strlen(day) != 10 || key0(k1, s, "counted") || key0(k2, s, "counts:open") ||
        key0(k3, s, "counting:scheduled"))
        return -EINVAL;
    const char *keys[] = {k1, k2, k3}, *args[] = {"plan", day};
    return store_script_run(s, ctx, "count_read", false, keys, 3, args, 2, cb, arg);
}

int ops_read_hash(struct store *s, const struct store_ctx *ctx, const char *word, store_cb cb,
                  void *arg)
{
    char k1[KEY_MAX];
    if (!s || !word || !word[0] || strchr(word, '{') || key0(k1, s, word))
        return -EINVAL;
    const char *keys[] = {k1}, *args[] = {"all"};
    return store_script_run(s, ctx, "count_read", false, keys, 1, args, 1, cb, arg);
}

int ops_transfer_read(struct store *s, const struct store_ctx *ctx, const char *transfer_id,
                      store_cb cb, void *arg)
{
    char k1[KEY_MAX], k2[KEY_MAX];
    if (!s || key_id(k1, s, "transfer", transfer_id, NULL) ||
        key_id(k2, s, "transfer", transfer_id, "resv"))
        return -EINVAL;
    const char *keys[] = {k1, k2}, *args[] = {"transfer"};
    return store_script_run(s, ctx, "count_read", false, keys, 2, args, 1, cb, arg);
}

int ops_transfer_create(struct store *s, const struct store_ctx *ctx, const char *transfer_id,
                        const char *from, const char *to, const char *lines_json,
                        const char *transit, const char *dest, const struct store_line *picks,
                        size_t n, store_cb cb, void *arg)
{
    char kbuf[2 + OPS_RESERVE_MAX][KEY_MAX], qty[OPS_RESERVE_MAX][24];
    const char *keys[2 + OPS_RESERVE_MAX], *args[6 + OPS_RESERVE_MAX];
    if (!s || !picks || n < 1 || n > OPS_RESERVE_MAX || !lines_json || store_id_check(from) != 0 ||
        store_id_check(to) != 0 || store_path_check(transit) != 0 || store_path_check(dest) != 0 ||
        key_id(kbuf[0], s, "transfer", transfer_id, NULL) ||
        key_id(kbuf[1], s, "transfer", transfer_id, "resv"))
        return -EINVAL;
    args[0] = transfer_id;
    args[1] = from;
    args[2] = to;
    args[3] = lines_json;
    args[4] = transit;
    args[5] = dest;
    for (size_t i = 0; i < n; i++) {
        if (picks[i].qty <= 0 ||
            store_key_quant(kbuf[2 + i], KEY_MAX, store_site(s), picks[i].sku, picks[i].loc,
                            picks[i].lot ? picks[i].lot : "") < 0)
            return -EINVAL;
        snprintf(qty[i], sizeof(qty[i]), "%" PRId64, picks[i].qty);
        args[6 + i] = qty[i];
    }
    for (size_t i = 0; i < 2 + n; i++)
        keys[i] = kbuf[i];
    return store_script_run(s, ctx, "transfer_create", false, keys, 2 + n, args, 6 + n, cb, arg);
}

/* transfer_ship and transfer_receive: transfer, resv, the target location's set, then n source
 * quants, n target quants, n sku sets. */
static int move_keys(struct store *s, const char *transfer_id, const char *to_loc,
                     const char *const *src, size_t n, char (*kbuf)[KEY_MAX], const char **keys)
{
    if (n < 1 || n > OPS_TRANSFER_MAX || !src ||
        key_id(kbuf[0], s, "transfer", transfer_id, NULL) ||
        key_id(kbuf[1], s, "transfer", transfer_id, "resv") || key_loc(kbuf[2], s, to_loc))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char sku[STORE_ID_MAX];
        if (!src[i] || strlen(src[i]) >= KEY_MAX)
            return -EINVAL;
        snprintf(kbuf[3 + i], KEY_MAX, "%s", src[i]);
        if (key_moved(kbuf[3 + n + i], s, src[i], to_loc, sku) ||
            key_id(kbuf[3 + 2 * n + i], s, "sku", sku, "quants"))
            return -EINVAL;
    }
    for (size_t i = 0; i < 3 + 3 * n; i++)
        keys[i] = kbuf[i];
    return 0;
}

int ops_transfer_ship(struct store *s, const struct store_ctx *ctx, const char *transfer_id,
                      const char *transit, const char *const *src_keys, size_t n, store_cb cb,
                      void *arg)
{
    char kbuf[3 + 3 * OPS_TRANSFER_MAX][KEY_MAX], count[16];
    const char *keys[3 + 3 * OPS_TRANSFER_MAX];
    if (!s || move_keys(s, transfer_id, transit, src_keys, n, kbuf, keys))
        return -EINVAL;
    snprintf(count, sizeof(count), "%zu", n);
    const char *args[] = {transfer_id, count};
    return store_script_run(s, ctx, "transfer_ship", false, keys, 3 + 3 * n, args, 2, cb, arg);
}

int ops_transfer_receive(struct store *s, const struct store_ctx *ctx, const char *transfer_id,
                         const char *dest, const char *const *transit_keys, const int64_t *qty,
                         size_t n, store_cb cb, void *arg)
{
    char kbuf[3 + 3 * OPS_TRANSFER_MAX][KEY_MAX], count[16], q[OPS_TRANSFER_MAX][24];
    const char *keys[3 + 3 * OPS_TRANSFER_MAX], *args[2 + OPS_TRANSFER_MAX];
    if (!s || !qty || move_keys(s, transfer_id, dest, transit_keys, n, kbuf, keys))
        return -EINVAL;
    snprintf(count, sizeof(count), "%zu", n);
    args[0] = transfer_id;
    args[1] = count;
    for (size_t i = 0; i < n; i++) {
        if (qty[i] <= 0)
            return -EINVAL;
        snprintf(q[i], sizeof(q[i]), "%" PRId64, qty[i]);
        args[2 + i] = q[i];
    }
    return store_script_run(s, ctx, "transfer_receive", false, keys, 3 + 3 * n, args, 2 + n, cb,
                            arg);
}

long store_xrange_entries(const struct store_item *items, size_t n, const char **v, size_t cap)
{
    static const char *const names[] = {"op", "subject", "before", "after"};
    size_t k = 0, i = 0;
    while (i < n) {
        const char **e = v + 5 * k;
        if (items[i].depth != 2 || items[i].nil || !items[i].str || k == cap)
            return -1;
        e[0] = items[i++].str;
        e[1] = e[2] = e[3] = e[4] = "";
        for (; i < n && items[i].depth == 3; i += 2) {
            if (i + 1 >= n || items[i + 1].depth != 3 || items[i].nil || !items[i].str)
                return -1;
            for (size_t f = 0; f < 4; f++)
                if (strcmp(items[i].str, names[f]) == 0)
                    e[1 + f] = items[i + 1].nil || !items[i + 1].str ? "" : items[i + 1].str;
        }
        k++;
    }
    return (long)k;
}

/* A page of XRANGE, flattened (store_xrange_entries), handed on as 5 values per entry. */
struct journal_page {
    store_cb cb;
    void *arg;
};

static void on_journal_page(void *arg, int rc, const char *msg, const struct store_item *items,
                            size_t n)
{
    struct journal_page *p = arg;
    struct store_result res = {.rc = rc, .message = msg};
    const char **v = NULL;
    size_t entries = 0;
    long got = 0;
    for (size_t j = 0; rc == 0 && j < n; j++)
        entries += items[j].depth == 2;
    if (rc == 0 && !(v = calloc(5 * entries + 1, sizeof(*v))))
        res.rc = -ENOMEM;
    if (res.rc == 0 && (got = store_xrange_entries(items, n, v, entries)) < 0) {
        res.rc = WCS_E_PROTOCOL;
        res.message = "XRANGE answered an unexpected shape";
    }
    if (res.rc == 0) {
        res.values = v;
        res.n_values = 5 * (size_t)got;
    }
    p->cb(p->arg, &res);
    free(v);
    free(p);
}

int ops_journal_read(struct store *s, const struct store_ctx *ctx, const char *after_id,
                     uint32_t count, store_cb cb, void *arg)
{
    char key[KEY_MAX], from[48], c[16];
    struct journal_page *p;
    int rc;
    (void)ctx;
    if (!s || !after_id || !cb || strlen(after_id) > 40 || count < 1 ||
        count > OPS_JOURNAL_READ_MAX || key0(key, s, "journal"))
        return -EINVAL;
    for (const char *q = after_id; *q; q++)
        if ((*q < '0' || *q > '9') && *q != '-')
            return -EINVAL;
    /* A plain XRANGE: the same page through a script cost Redis ten times as much (the
     * entries turned into Lua tables and back; BENCHMARKS.md, "shift, session 15"). "(" makes
     * the start exclusive. */
    snprintf(from, sizeof(from), "%s%s", after_id[0] ? "(" : "", after_id[0] ? after_id : "-");
    snprintf(c, sizeof(c), "%" PRIu32, count);
    const char *argv[] = {"XRANGE", key, from, "+", "COUNT", c};
    if (!(p = malloc(sizeof(*p))))
        return -ENOMEM;
    *p = (struct journal_page){cb, arg};
    rc = store_raw(s, false, 6, argv, on_journal_page, p);
    if (rc)
        free(p);
    return rc;
}
