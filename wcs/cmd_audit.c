/* `wcs audit CONFIG [--json]`: proves stock conservation for the site's Redis (DESIGN.md §2,
 * scenario 6): reads the whole journal, then, read-only, every quant (of the config's products
 * and every quant the journal names), every tote and every shipment the journal names, and
 * prints per product and lot: initial + receipts + returns - shipped +/- adjustments - scrapped
 * as the journal records them, and per place (stock, transit, totes, cartons, scrap) what the
 * journal says it holds against what it holds, and that every serial of a serial-tracked
 * product is one unit in one place, marked as that place says in the site's serials hash.
 * Exit 0 when it all balances, 1 when not. */
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
            "every product and lot, initial (imported) + receipts + returns - shipped +/-\n"
            "adjustments - scrapped, as the journal records them, must equal what the site holds\n"
            "in stock, in transit, in totes (picked) and in cartons (packed, not shipped); every\n"
            "place must match its own journal history, moves inside the site must net to zero,\n"
            "and no quant may have reserved, hold or missing above on_hand or a negative number.\n"
            "Every serial of a serial-tracked product must be one unit in one place, marked in\n"
            "the site's serials hash as that place says (docs/redis.md, \"Serials\").\n"
            "Reads only. The journal must reach back to the first stock import\n"
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

static enum audit_place place_of(const char *loc, void *arg)
{
    const struct cfg_site *cfg = arg;
    int32_t i = cfg_find_location(cfg, loc);
    if (i < 0)
        return AUDIT_STOCK;
    switch (cfg->locations[i].type) {
    case CFG_LOC_TRANSIT:
        return AUDIT_TRANSIT;
    case CFG_LOC_SCRAP:
        return AUDIT_SCRAPPED;
    default:
        return AUDIT_STOCK;
    }
}

/* The journal in chunks, in order. The next chunk is asked for as soon as a chunk arrives
 * (its last id is the next start) and read while this one is taken in: Redis and the audit
 * work side by side instead of in turn. */
static int read_journal(struct loop *l, struct store *st, struct audit *a, uint64_t *entries)
{
    struct sync s[2] = {{0}};
    int cur = 0, rc;
    rc = ops_journal_read(st, &ctx, "", JOURNAL_CHUNK, on_sync, &s[0]);
    for (;;) {
        size_t got;
        rc = wait_sync(l, &s[cur], rc);
        if (rc != 0) {
            fprintf(stderr, "wcs audit: reading the journal failed: %s\n",
                    s[cur].msg[0] ? s[cur].msg : wcs_strerror(rc));
            sync_clear(&s[cur]);
            return 1;
        }
        got = s[cur].n / 5;
        if (got == JOURNAL_CHUNK)
            rc = ops_journal_read(st, &ctx, s[cur].v[s[cur].n - 5], JOURNAL_CHUNK, on_sync,
                                  &s[1 - cur]);
        for (size_t i = 0; i + 4 < s[cur].n; i += 5) {
            int erc =
                audit_entry(a, s[cur].v[i + 1], s[cur].v[i + 2], s[cur].v[i + 3], s[cur].v[i + 4]);
            if (erc == WCS_E_SYNTAX)
                fprintf(stderr, "wcs audit: journal entry %s (%s) is unreadable\n", s[cur].v[i],
                        s[cur].v[i + 1]);
            else if (erc < 0) {
                sync_clear(&s[cur]);
                if (got == JOURNAL_CHUNK && rc == 0)
                    (void)wait_sync(l, &s[1 - cur], 0); /* its callback points here */
                sync_clear(&s[1 - cur]);
                return 1;
            }
            (*entries)++;
        }
        sync_clear(&s[cur]);
        if (got < JOURNAL_CHUNK)
            return 0;
        cur = 1 - cur;
    }
}

/* A list of keys, sorted and without duplicates by key_list_done (a full shift's journal
 * names some 60,000 totes and shipments: a scan for each key made the audit quadratic). */
struct key_list {
    char **v;
    size_t n, cap;
};

static int key_list_add(struct key_list *l, const char *k)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->v, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->v = p;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(k)))
        return -ENOMEM;
    l->n++;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void key_list_done(struct key_list *l)
{
    size_t w = 0;
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_key);
    for (size_t i = 0; i < l->n; i++) {
        if (w > 0 && strcmp(l->v[w - 1], l->v[i]) == 0)
            free(l->v[i]);
        else
            l->v[w++] = l->v[i];
    }
    l->n = w;
}

static void key_list_free(struct key_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (struct key_list){0};
}

#define READ_BATCH 64

/* What read_hashes hands its callback: the audit and the site's key prefix "wcs:{site}:". */
struct reader {
    struct audit *a;
    char prefix[96];
};

/* Reads the hashes <prefix><words[i]> (count_read 'all'), READ_BATCH at a time, and hands each
 * one's field/value pairs to take. */
static int read_hashes(struct loop *l, struct store *st, struct reader *rd, char **words, size_t n,
                       int (*take)(struct reader *rd, const char *word, char **fv, size_t nfv))
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += READ_BATCH) {
        struct sync s[READ_BATCH];
        size_t m = n - i < READ_BATCH ? n - i : READ_BATCH;
        memset(s, 0, sizeof(s));
        for (size_t j = 0; j < m; j++) {
            int r = ops_read_hash(st, &ctx, words[i + j], on_sync, &s[j]);
            if (r != 0) {
                s[j].done = true;
                s[j].rc = r;
            }
        }
        for (size_t j = 0; j < m; j++) {
            int r = wait_sync(l, &s[j], 0);
            if (r == 0 && rc == 0)
                r = take(rd, words[i + j], s[j].v, s[j].n);
            if (r != 0 && rc == 0) {
                fprintf(stderr, "wcs audit: reading %s%s failed: %s\n", rd->prefix, words[i + j],
                        s[j].msg[0] ? s[j].msg : wcs_strerror(r));
                rc = r;
            }
            sync_clear(&s[j]);
        }
    }
    return rc;
}

/* The field's value in field/value pairs, or "". */
static const char *field(char **fv, size_t n, const char *name)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if (strcmp(fv[i], name) == 0)
            return fv[i + 1];
    return "";
}

static int64_t num(const char *s)
{
    return strtoll(s, NULL, 10);
}

/* word: "quant:<sku>:<loc>:<lot>". A quant that is gone holds nothing. */
static int take_quant(struct reader *rd, const char *word, char **fv, size_t n)
{
    char key[512];
    snprintf(key, sizeof(key), "%s%s", rd->prefix, word);
    if (n == 0)
        return audit_quant(rd->a, key, 0, 0, 0, 0);
    return audit_quant(rd->a, key, num(field(fv, n, "on_hand")), num(field(fv, n, "reserved")),
                       num(field(fv, n, "hold")), num(field(fv, n, "missing")));
}

/* word: "tote:<id>:contents", fields "<sku>:<lot>" -> units. */
static int take_tote(struct reader *rd, const char *word, char **fv, size_t n)
{
    char id[STORE_ID_MAX];
    const char *p = word + strlen("tote:");
    size_t len = strlen(p) - strlen(":contents");
    if (len >= sizeof(id))
        return WCS_E_SYNTAX;
    memcpy(id, p, len);
    id[len] = '\0';
    for (size_t i = 0; i + 1 < n; i += 2) {
        int rc = audit_tote(rd->a, id, fv[i], num(fv[i + 1]));
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* word: "shipment:<id>": its state and items. */
static int take_shipment(struct reader *rd, const char *word, char **fv, size_t n)
{
    const char *items = field(fv, n, "items");
    return audit_shipment(rd->a, word + strlen("shipment:"), field(fv, n, "state"),
                          items[0] ? items : "[]");
}

/* Every quant the journal names and every quant of the config's products, every tote and every
 * shipment the journal names: what they hold now. */
static int read_places(struct loop *l, struct store *st, const struct cfg_site *cfg,
                       struct audit *a)
{
    struct reader rd = {.a = a};
    struct key_list keys = {0}, words = {0};
    size_t jn = 0, pl;
    const char *const *jk;
    int rc = 0;
    snprintf(rd.prefix, sizeof(rd.prefix), "wcs:{%s}:", cfg->id);
    pl = strlen(rd.prefix);
    jk = audit_journal_holders(a, AUDIT_QUANT, &jn);
    if (!jk)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < jn; i++)
        rc = key_list_add(&keys, jk[i]);
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
                rc = key_list_add(&keys, s.v[i++]);
        }
        sync_clear(&s);
    }
    for (size_t i = 0; rc == 0 && i < keys.n; i++)
        if (strncmp(keys.v[i], rd.prefix, pl) != 0 || key_list_add(&words, keys.v[i] + pl) != 0)
            rc = WCS_E_SYNTAX;
    key_list_done(&words);
    if (rc == 0)
        rc = read_hashes(l, st, &rd, words.v, words.n, take_quant);
    key_list_free(&keys);
    key_list_free(&words);
    static const struct {
        enum audit_holder kind;
        const char *pre, *post;
        int (*take)(struct reader *, const char *, char **, size_t);
    } kinds[] = {{AUDIT_TOTE, "tote:", ":contents", take_tote},
                 {AUDIT_SHIPMENT, "shipment:", "", take_shipment}};
    for (size_t k = 0; rc == 0 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        jk = audit_journal_holders(a, kinds[k].kind, &jn);
        if (!jk)
            rc = -ENOMEM;
        for (size_t i = 0; rc == 0 && i < jn; i++) {
            char w[128];
            snprintf(w, sizeof(w), "%s%s%s", kinds[k].pre, jk[i], kinds[k].post);
            rc = key_list_add(&words, w);
        }
        key_list_done(&words);
        if (rc == 0)
            rc = read_hashes(l, st, &rd, words.v, words.n, kinds[k].take);
        key_list_free(&words);
    }
    if (rc != 0)
        fprintf(stderr, "wcs audit: reading the stock failed: %s\n", wcs_strerror(rc));
    return rc ? 1 : 0;
}

/* word: "serials", fields "<sku>:<serial>" -> why out of stock. */
static int take_serials(struct reader *rd, const char *word, char **fv, size_t n)
{
    (void)word;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int rc = audit_serial_mark(rd->a, fv[i], fv[i + 1]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Serial conservation: the config's serial-tracked products and the site's serials hash. */
static int read_serials(struct loop *l, struct store *st, const struct cfg_site *cfg,
                        struct audit *a)
{
    struct reader rd = {.a = a};
    char *words[] = {"serials"};
    int rc = 0;
    snprintf(rd.prefix, sizeof(rd.prefix), "wcs:{%s}:", cfg->id);
    for (uint32_t p = 0; rc == 0 && p < cfg->n_products; p++)
        if (cfg->products[p].tracking == CFG_TRACK_SERIAL)
            rc = audit_serial_product(a, cfg->products[p].sku);
    rc = rc ? rc : read_hashes(l, st, &rd, words, 1, take_serials);
    if (rc != 0)
        fprintf(stderr, "wcs audit: reading the serials failed: %s\n", wcs_strerror(rc));
    return rc ? 1 : 0;
}

static void print_text(const struct audit_row *rows, size_t n, const struct audit_issue *is,
                       size_t ni, uint64_t unreadable, uint64_t entries, bool ok)
{
    printf("%-16s %-12s %7s %8s %7s %7s %7s %7s %5s | %7s %7s %6s %7s | %8s %7s %8s %5s %7s  %s\n",
           "sku", "lot", "initial", "receipts", "returns", "shipped", "adjust", "scrapped", "moves",
           "stock", "transit", "totes", "cartons", "expected", "on_site", "reserved", "hold",
           "missing", "status");
    for (size_t i = 0; i < n; i++) {
        const struct audit_row *r = &rows[i];
        printf("%-16s %-12s %7" PRId64 " %8" PRId64 " %7" PRId64 " %7" PRId64 " %+7" PRId64
               " %7" PRId64 " %5" PRId64 " | %7" PRId64 " %7" PRId64 " %6" PRId64 " %7" PRId64
               " | %8" PRId64 " %7" PRId64 " %8" PRId64 " %5" PRId64 " %7" PRId64 "  %s\n",
               r->sku, r->lot[0] ? r->lot : "-", r->by[AUDIT_INITIAL], r->by[AUDIT_RECEIPTS],
               r->by[AUDIT_RETURNS], -r->by[AUDIT_SHIPPED], r->by[AUDIT_ADJUSTMENTS],
               r->expected[AUDIT_SCRAPPED], r->by[AUDIT_MOVES], r->actual[AUDIT_STOCK],
               r->actual[AUDIT_TRANSIT], r->actual[AUDIT_TOTES], r->actual[AUDIT_CARTONS],
               r->expected_site, r->actual_site, r->reserved, r->hold, r->missing,
               r->balanced ? "ok" : "MISMATCH");
        if (!r->balanced) {
            for (int p = 0; p < AUDIT_PLACES; p++)
                if (r->expected[p] != r->actual[p])
                    printf("  %s %s: %s holds %" PRId64 ", the journal says %" PRId64 "\n", r->sku,
                           r->lot[0] ? r->lot : "-", audit_place_name((enum audit_place)p),
                           r->actual[p], r->expected[p]);
            if (r->by[AUDIT_MOVES])
                printf("  %s %s: moves inside the site net %+" PRId64 " (units %s)\n", r->sku,
                       r->lot[0] ? r->lot : "-", r->by[AUDIT_MOVES],
                       r->by[AUDIT_MOVES] > 0 ? "appeared" : "vanished");
        }
    }
    for (size_t i = 0; i < ni; i++) {
        static const char *const kind[] = {"quant", "tote", "shipment", "serial"};
        if (is[i].holder == AUDIT_SERIAL)
            printf("serial %s %s (place %s, units on site %" PRId64 ", journal %" PRId64
                   ", hold %" PRId64 ", marked \"%s\")\n",
                   is[i].key, is[i].why, audit_place_name(is[i].place), is[i].actual,
                   is[i].expected, is[i].hold, is[i].mark ? is[i].mark : "");
        else if (is[i].holder == AUDIT_QUANT)
            printf("quant %s %s (journal %" PRId64 ", on_hand %" PRId64 ", reserved %" PRId64
                   ", hold %" PRId64 ", missing %" PRId64 ")\n",
                   is[i].key, is[i].why, is[i].expected, is[i].actual, is[i].reserved, is[i].hold,
                   is[i].missing);
        else
            printf("%s %s %s:%s %s (journal %" PRId64 ", now %" PRId64 ")\n", kind[is[i].holder],
                   is[i].key, is[i].sku, is[i].lot, is[i].why, is[i].expected, is[i].actual);
    }
    if (unreadable)
        printf("%" PRIu64 " journal entries unreadable\n", unreadable);
    printf("%s: %zu product/lot rows, %" PRIu64 " journal entries\n",
           ok ? "balanced" : "NOT balanced", n, entries);
}

static json_t *places(const int64_t *v)
{
    json_t *o = json_object();
    for (int p = 0; o && p < AUDIT_PLACES; p++)
        json_object_set_new(o, audit_place_name((enum audit_place)p), json_integer(v[p]));
    return o;
}

static void print_json(const struct audit_row *rows, size_t n, const struct audit_issue *is,
                       size_t ni, uint64_t unreadable, uint64_t entries, bool ok)
{
    static const char *const kind[] = {"quant", "tote", "shipment", "serial"};
    json_t *o = json_object(), *ra = json_array(), *ia = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct audit_row *r = &rows[i];
        json_t *x = json_pack(
            "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:b}", "sku", r->sku, "lot", r->lot,
            "expected", (json_int_t)r->expected_site, "on_hand", (json_int_t)r->actual_site,
            "reserved", (json_int_t)r->reserved, "hold", (json_int_t)r->hold, "missing",
            (json_int_t)r->missing, "scrapped", (json_int_t)r->expected[AUDIT_SCRAPPED],
            "scrapped_now", (json_int_t)r->actual[AUDIT_SCRAPPED], "places_expected",
            places(r->expected), "places", places(r->actual), "balanced", r->balanced);
        for (int c = 0; x && c < AUDIT_CLASSES; c++)
            json_object_set_new(x, audit_class_name((enum audit_class)c),
                                json_integer((json_int_t)r->by[c]));
        json_array_append_new(ra, x);
    }
    for (size_t i = 0; i < ni; i++) {
        json_t *x = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "holder",
                              kind[is[i].holder], "key", is[i].key, "sku", is[i].sku, "lot",
                              is[i].lot, "place", audit_place_name(is[i].place), "why", is[i].why,
                              "expected", (json_int_t)is[i].expected, "on_hand",
                              (json_int_t)is[i].actual, "reserved", (json_int_t)is[i].reserved,
                              "hold", (json_int_t)is[i].hold, "missing", (json_int_t)is[i].missing);
        if (x && is[i].mark) /* a serial's issue: its serials hash entry */
            json_object_set_new(x, "mark", json_string(is[i].mark));
        json_array_append_new(ia, x);
    }
    json_object_set_new(o, "balanced", json_boolean(ok));
    json_object_set_new(o, "journal_entries", json_integer((json_int_t)entries));
    json_object_set_new(o, "unreadable_entries", json_integer((json_int_t)unreadable));
    json_object_set_new(o, "rows", ra);
    json_object_set_new(o, "issues", ia);
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
    if (loop_new(&l, clock_system()) != 0 || audit_new(&a, place_of, cfg) != 0)
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
    if (read_journal(l, st, a, &entries) != 0 || read_places(l, st, cfg, a) != 0 ||
        read_serials(l, st, cfg, a) != 0)
        goto out;
    {
        const struct audit_row *rows;
        const struct audit_issue *is;
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
