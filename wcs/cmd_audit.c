/* `wcs audit CONFIG [--json]`: proves stock conservation for the site's Redis (DESIGN.md §2,
 * scenario 6): reads the whole journal and every quant (of the config's products and of every
 * quant the journal names) read-only, and prints per product and lot what the journal says
 * moved (initial import, receipts, picks out, adjustments, transfers out and in, scrap, moves)
 * against what the quants hold. Exit 0 when it all balances, 1 when not (or on errors). */
#include "cmds.h"

#include "audit.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "config/config.h"
#include "store/ops.h"
#include "store/store.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOURNAL_CHUNK 5000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wcs audit CONFIG [--json]\n"
            "\n"
            "Checks stock conservation in the site's Redis (the config's redis: section): for\n"
            "every product and lot, initial (imported) + receipts - shipments (picked out)\n"
            "+/- adjustments - transfers out + transfers in - scrap (+ moves, net 0) as the\n"
            "journal records them must equal what the quants hold now, each quant must match\n"
            "its own journal history, and no quant may have reserved > on_hand or a negative\n"
            "number. Reads only. The journal must reach back to the first stock import\n"
            "(redis.journal_maxlen large enough).\n"
            "\n"
            "exit status: 0 balanced, 1 not balanced (or Redis unreachable, bad config),\n"
            "2 usage error\n");
}

struct sync {
    bool done;
    int rc;
    char msg[256];
    char **v;
    size_t n;
};

static void sync_clear(struct sync *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static void on_sync(void *arg, const struct store_result *r)
{
    struct sync *s = arg;
    s->done = true;
    s->rc = r->rc;
    snprintf(s->msg, sizeof(s->msg), "%s", r->message ? r->message : "");
    if (r->rc == 0 && r->n_values) {
        s->v = calloc(r->n_values, sizeof(*s->v));
        for (size_t i = 0; s->v && i < r->n_values; i++)
            if ((s->v[i] = strdup(r->values[i])))
                s->n = i + 1;
            else
                s->rc = -ENOMEM;
    }
}

static int wait_sync(struct loop *l, struct sync *s, int start_rc)
{
    if (start_rc != 0)
        return start_rc;
    while (!s->done)
        loop_run_once(l, 100);
    return s->rc;
}

struct conn {
    bool up;
    char down[256];
};

static void on_state(void *arg, bool up, int reason, const char *detail)
{
    struct conn *c = arg;
    (void)reason;
    c->up = up;
    if (!up)
        snprintf(c->down, sizeof(c->down), "%s", detail ? detail : "down");
}

static const struct store_ctx ctx = {.actor = "wcs-audit", .cause = "wcs audit"};

static int read_journal(struct loop *l, struct store *st, struct audit *a, uint64_t *entries)
{
    char last[64] = "";
    for (;;) {
        struct sync s = {0};
        int rc = wait_sync(l, &s, ops_journal_read(st, &ctx, last, JOURNAL_CHUNK, on_sync, &s));
        if (rc != 0) {
            fprintf(stderr, "wcs audit: reading the journal failed: %s\n",
                    s.msg[0] ? s.msg : wcs_strerror(rc));
            sync_clear(&s);
            return 1;
        }
        for (size_t i = 0; i + 4 < s.n; i += 5) {
            rc = audit_entry(a, s.v[i + 1], s.v[i + 3], s.v[i + 4]);
            if (rc == WCS_E_SYNTAX)
                fprintf(stderr, "wcs audit: journal entry %s (%s) is unreadable\n", s.v[i],
                        s.v[i + 1]);
            else if (rc < 0) {
                sync_clear(&s);
                return 1;
            }
            snprintf(last, sizeof(last), "%s", s.v[i]);
            (*entries)++;
        }
        size_t got = s.n / 5;
        sync_clear(&s);
        if (got < JOURNAL_CHUNK)
            return 0;
    }
}

/* Adds key to the list unless present. */
static int add_key(char ***keys, size_t *n, const char *k)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*keys)[i], k) == 0)
            return 0;
    char **p = realloc(*keys, (*n + 1) * sizeof(*p));
    if (!p)
        return -ENOMEM;
    *keys = p;
    if (!(p[*n] = strdup(k)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

static int read_quants(struct loop *l, struct store *st, const struct cfg_site *cfg,
                       struct audit *a)
{
    char **keys = NULL;
    size_t n = 0, jn = 0;
    const char *const *jk = audit_journal_quants(a, &jn);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < jn; i++)
        rc = add_key(&keys, &n, jk[i]);
    for (uint32_t p = 0; rc == 0 && p < cfg->n_products; p += OPS_READ_MAX) {
        const char *skus[OPS_READ_MAX];
        size_t m = cfg->n_products - p < OPS_READ_MAX ? cfg->n_products - p : OPS_READ_MAX;
        struct sync s = {0};
        for (size_t i = 0; i < m; i++)
            skus[i] = cfg->products[p + i].sku;
        rc = wait_sync(l, &s, ops_wave_read_sku_quants(st, &ctx, skus, m, on_sync, &s));
        for (size_t i = 0; rc == 0 && i < s.n;) {
            size_t k = strtoul(s.v[i++], NULL, 10);
            for (size_t j = 0; rc == 0 && j < k && i < s.n; j++)
                rc = add_key(&keys, &n, s.v[i++]);
        }
        sync_clear(&s);
    }
    for (size_t i = 0; rc == 0 && i < n; i += OPS_READ_MAX) {
        size_t m = n - i < OPS_READ_MAX ? n - i : OPS_READ_MAX;
        struct sync s = {0};
        rc = wait_sync(
            l, &s, ops_wave_read_quants(st, &ctx, (const char *const *)keys + i, m, on_sync, &s));
        for (size_t j = 0; rc == 0 && j < m && OPS_QUANT_VALUES * (j + 1) <= s.n; j++) {
            const char *const *v = (const char *const *)s.v + OPS_QUANT_VALUES * j;
            if (strcmp(v[0], "1") == 0)
                rc = audit_quant(a, keys[i + j], strtoll(v[4], NULL, 10), strtoll(v[5], NULL, 10));
        }
        sync_clear(&s);
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    if (rc != 0)
        fprintf(stderr, "wcs audit: reading the quants failed: %s\n", wcs_strerror(rc));
    return rc ? 1 : 0;
}

static void print_text(const struct audit_row *rows, size_t n, const struct audit_quant_issue *is,
                       size_t ni, uint64_t unreadable, uint64_t entries, bool ok)
{
    printf("%-20s %-14s %8s %8s %9s %8s %8s %8s %6s %6s %8s %8s %8s  %s\n", "sku", "lot", "initial",
           "receipts", "shipments", "adjust", "xfer_out", "xfer_in", "scrap", "moves", "expected",
           "on_hand", "reserved", "status");
    for (size_t i = 0; i < n; i++) {
        const struct audit_row *r = &rows[i];
        printf(
            "%-20s %-14s %8" PRId64 " %8" PRId64 " %9" PRId64 " %+8" PRId64 " %8" PRId64
            " %8" PRId64 " %6" PRId64 " %6" PRId64 " %8" PRId64 " %8" PRId64 " %8" PRId64 "  %s\n",
            r->sku, r->lot[0] ? r->lot : "-", r->by[AUDIT_INITIAL], r->by[AUDIT_RECEIPTS],
            -r->by[AUDIT_SHIPMENTS], r->by[AUDIT_ADJUSTMENTS], -r->by[AUDIT_TRANSFER_OUT],
            r->by[AUDIT_TRANSFER_IN], -r->by[AUDIT_SCRAP], r->by[AUDIT_MOVES] + r->by[AUDIT_OTHER],
            r->expected, r->on_hand, r->reserved, r->balanced ? "ok" : "MISMATCH");
    }
    for (size_t i = 0; i < ni; i++)
        printf("quant %s %s (journal %" PRId64 ", on_hand %" PRId64 ", reserved %" PRId64 ")\n",
               is[i].key, is[i].why, is[i].expected, is[i].on_hand, is[i].reserved);
    if (unreadable)
        printf("%" PRIu64 " journal entries unreadable\n", unreadable);
    printf("%s: %zu product/lot rows, %" PRIu64 " journal entries\n",
           ok ? "balanced" : "NOT balanced", n, entries);
}

static void print_json(const struct audit_row *rows, size_t n, const struct audit_quant_issue *is,
                       size_t ni, uint64_t unreadable, uint64_t entries, bool ok)
{
    json_t *o = json_object(), *ra = json_array(), *ia = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct audit_row *r = &rows[i];
        json_t *x = json_pack("{s:s,s:s,s:I,s:I,s:I,s:b}", "sku", r->sku, "lot", r->lot, "expected",
                              (json_int_t)r->expected, "on_hand", (json_int_t)r->on_hand,
                              "reserved", (json_int_t)r->reserved, "balanced", r->balanced);
        for (int c = 0; x && c < AUDIT_CLASSES; c++)
            json_object_set_new(x, audit_class_name((enum audit_class)c),
                                json_integer((json_int_t)r->by[c]));
        json_array_append_new(ra, x);
    }
    for (size_t i = 0; i < ni; i++)
        json_array_append_new(ia, json_pack("{s:s,s:s,s:I,s:I,s:I}", "quant", is[i].key, "why",
                                            is[i].why, "expected", (json_int_t)is[i].expected,
                                            "on_hand", (json_int_t)is[i].on_hand, "reserved",
                                            (json_int_t)is[i].reserved));
    json_object_set_new(o, "balanced", json_boolean(ok));
    json_object_set_new(o, "journal_entries", json_integer((json_int_t)entries));
    json_object_set_new(o, "unreadable_entries", json_integer((json_int_t)unreadable));
    json_object_set_new(o, "rows", ra);
    json_object_set_new(o, "quant_issues", ia);
    char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (t)
        printf("%s\n", t);
    free(t);
    json_decref(o);
}

int cmd_audit(int argc, char **argv)
{
    const char *config = NULL;
    bool as_json = false, ok = false;
    struct cfg_site *cfg = NULL;
    struct cfg_errors errs;
    struct loop *l = NULL;
    struct store *st = NULL;
    struct audit *a = NULL;
    struct conn conn = {0};
    uint64_t entries = 0, unreadable = 0, t0;
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else if (argv[i][0] != '-' && !config) {
            config = argv[i];
        } else {
            fprintf(stderr, "wcs audit: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!config) {
        usage(stderr);
        return 2;
    }
    cfg_errors_init(&errs);
    if (cfg_load(&cfg, config, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        cfg_errors_fini(&errs);
        return 1;
    }
    cfg_errors_fini(&errs);
    if (!cfg->redis.password_file) {
        fprintf(stderr, "wcs audit: redis.password_file is required\n");
        goto out;
    }
    if (loop_new(&l, clock_system()) != 0 || audit_new(&a) != 0)
        goto out;
    struct store_opts o = {.host = cfg->redis.host,
                           .port = cfg->redis.port,
                           .user = cfg->redis.user,
                           .password_file = cfg->redis.password_file,
                           .site = cfg->id,
                           .command_timeout_ms = 10000,
                           .on_state = on_state,
                           .state_arg = &conn};
    if (store_open(&st, l, &o) != 0) {
        fprintf(stderr, "wcs audit: cannot set up the Redis connection\n");
        goto out;
    }
    t0 = clock_real_mono_us();
    while (!conn.up && clock_real_mono_us() - t0 < 5000000u)
        loop_run_once(l, 50);
    if (!conn.up) {
        fprintf(stderr, "wcs audit: Redis %s:%u not ready: %s\n",
                cfg->redis.host ? cfg->redis.host : "127.0.0.1", cfg->redis.port,
                conn.down[0] ? conn.down : "timeout");
        goto out;
    }
    if (read_journal(l, st, a, &entries) != 0 || read_quants(l, st, cfg, a) != 0)
        goto out;
    {
        const struct audit_row *rows;
        const struct audit_quant_issue *is;
        size_t n, ni;
        ok = audit_report(a, &rows, &n, &is, &ni, &unreadable);
        if (as_json)
            print_json(rows, n, is, ni, unreadable, entries, ok);
        else
            print_text(rows, n, is, ni, unreadable, entries, ok);
    }
    rc = ok ? 0 : 1;
out:
    store_close(st);
    loop_free(l);
    audit_free(a);
    cfg_free(cfg);
    return rc;
}
