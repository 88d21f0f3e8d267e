/* `wcs import CONFIG [--master] [--stock F] [--orders F]`: loads the config's master data
 * (products, locations), stock and open orders from the JSON Lines files of `wcs plan`
 * (docs/formats.md) into the site's Redis. Every line is validated by the wcs/plan readers first
 * (nothing is written if any line is bad); then master records, quants and orders are written
 * through the store scripts, which leave equal records alone: a second run changes nothing, and
 * its journal entry says so. */
#include "cmds.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "config/config.h"
#include "plan/plan.h"
#include "store/ops.h"
#include "store/store.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IN_FLIGHT_MAX 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wcs import CONFIG [--master] [--stock STOCK.jsonl] [--orders ORDERS.jsonl]\n"
            "\n"
            "Imports stock quants and open orders, in the JSON Lines formats of `wcs plan`\n"
            "(docs/formats.md), into the site's Redis (the config's redis: section); --master\n"
            "also writes every product and location of CONFIG (wcs:{site}:product:<sku>,\n"
            "wcs:{site}:location:<path>), a record only where it differs. Every line\n"
            "is checked first; a bad line is reported as 'file:line: field: message' and nothing\n"
            "is written. A quant's on_hand is set to the record's qty (records of one quant are\n"
            "summed; 'reserved' is not imported: reservations belong to orders); an order is\n"
            "created, or updated while it is draft or confirmed. Importing the same files again\n"
            "changes nothing; each run appends one 'import' journal entry with its counts.\n"
            "\n"
            "exit status: 0 imported, 1 bad config or input, Redis unreachable, or a record\n"
            "refused by the current state (e.g. an order already waved), 2 usage error\n");
}

struct counts {
    unsigned created, updated, unchanged, refused;
};

struct run {
    struct loop *l;
    struct store *s;
    bool up, failed_connect;
    char down[256];
    int in_flight;
    struct counts stock, orders, products, locations;
};

struct item {
    struct run *r;
    struct counts *c;
    unsigned n; /* master records in the chunk */
    char where[300];
};

static void on_state(void *arg, bool up, int reason, const char *detail)
{
    struct run *r = arg;
    (void)reason;
    r->up = up;
    if (!up)
        snprintf(r->down, sizeof(r->down), "%s", detail ? detail : "down");
}

static void on_done(void *arg, const struct store_result *res)
{
    struct item *it = arg;
    it->r->in_flight--;
    if (res->rc == 0 && res->n_values >= 1) {
        if (strcmp(res->values[0], "created") == 0)
            it->c->created++;
        else if (strcmp(res->values[0], "updated") == 0)
            it->c->updated++;
        else
            it->c->unchanged++;
    } else {
        it->c->refused++;
        fprintf(stderr, "%s: %s\n", it->where,
                res->rc == 0
                    ? "unexpected reply"
                    : (res->message ? ops_refusal_text(res->message) : wcs_strerror(res->rc)));
    }
    free(it);
}

/* A chunk of master records: one status per record. */
static void on_master_done(void *arg, const struct store_result *res)
{
    struct item *it = arg;
    it->r->in_flight--;
    if (res->rc == 0 && res->n_values == it->n) {
        for (size_t i = 0; i < res->n_values; i++) {
            if (strcmp(res->values[i], "created") == 0)
                it->c->created++;
            else if (strcmp(res->values[i], "updated") == 0)
                it->c->updated++;
            else
                it->c->unchanged++;
        }
    } else {
        it->c->refused += it->n;
        fprintf(stderr, "%s: %s\n", it->where,
                res->rc == 0
                    ? "unexpected reply"
                    : (res->message ? ops_refusal_text(res->message) : wcs_strerror(res->rc)));
    }
    free(it);
}

static void wait_room(struct run *r, int max)
{
    while (r->in_flight > max)
        loop_run_once(r->l, 100);
}

/* Reads a validated JSON Lines file again and calls fn for each record. */
static int each_line(const char *path, int (*fn)(struct run *, json_t *, const char *, unsigned),
                     struct run *r)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned no = 0;
    ssize_t n;
    int rc = 0;
    if (!f) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        return 1;
    }
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        json_t *j;
        no++;
        j = json_loadb(line, (size_t)n, JSON_DISABLE_EOF_CHECK, NULL);
        if (!j)
            continue; /* blank: the reader accepted the file */
        rc = fn(r, j, path, no);
        json_decref(j);
    }
    free(line);
    fclose(f);
    return rc;
}

static const char *opt_str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Stock: records of one quant are summed first (a quant may be listed per package). */
struct quant {
    char sku[STORE_ID_MAX], loc[STORE_PATH_MAX], lot[STORE_ID_MAX];
    char expiry[16], in_date[48]; /* of the quant's first record */
    int64_t qty;
    unsigned line;
    const char *path;
};
static struct quant *Q;
static size_t NQ, CAPQ;

static int add_stock(struct run *r, json_t *j, const char *path, unsigned no)
{
    const char *sku = opt_str(j, "sku"), *loc = opt_str(j, "location"), *lot = opt_str(j, "lot");
    (void)r;
    lot = lot ? lot : "";
    for (size_t i = 0; i < NQ; i++)
        if (strcmp(Q[i].sku, sku) == 0 && strcmp(Q[i].loc, loc) == 0 &&
            strcmp(Q[i].lot, lot) == 0) {
            Q[i].qty += json_integer_value(json_object_get(j, "qty"));
            return 0;
        }
    if (NQ == CAPQ) {
        struct quant *q = realloc(Q, (CAPQ = CAPQ ? CAPQ * 2 : 256) * sizeof(*Q));
        if (!q)
            return -ENOMEM;
        Q = q;
    }
    snprintf(Q[NQ].sku, sizeof(Q[NQ].sku), "%s", sku);
    snprintf(Q[NQ].loc, sizeof(Q[NQ].loc), "%s", loc);
    snprintf(Q[NQ].lot, sizeof(Q[NQ].lot), "%s", lot);
    snprintf(Q[NQ].expiry, sizeof(Q[NQ].expiry), "%s",
             opt_str(j, "expiry") ? opt_str(j, "expiry") : "");
    snprintf(Q[NQ].in_date, sizeof(Q[NQ].in_date), "%s",
             opt_str(j, "in_date") ? opt_str(j, "in_date") : "");
    Q[NQ].qty = json_integer_value(json_object_get(j, "qty"));
    Q[NQ].line = no;
    Q[NQ].path = path;
    NQ++;
    return 0;
}

static const struct store_ctx *import_ctx(void)
{
    static const struct store_ctx ctx = {.actor = "wcs-import", .cause = "wcs import"};
    return &ctx;
}

static int send_order(struct run *r, json_t *j, const char *path, unsigned no)
{
    json_t *lines = json_array(), *l, *hdr;
    const char *date = opt_str(j, "ship_date");
    char *hj, *lj;
    size_t i;
    int rc;
    json_array_foreach(json_object_get(j, "lines"), i, l)
    {
        const char *lot = opt_str(l, "lot") ? opt_str(l, "lot") : opt_str(l, "serial");
        json_t *o = json_pack("{s:s,s:I}", "sku", opt_str(l, "sku"), "qty",
                              json_integer_value(json_object_get(l, "qty")));
        if (lot)
            json_object_set_new(o, "lot", json_string(lot));
        json_array_append_new(lines, o);
    }
    hdr = json_pack("{s:s,s:s,s:s,s:s}", "carrier", opt_str(j, "carrier"), "priority",
                    opt_str(j, "priority") ? opt_str(j, "priority") : "", "ship_date",
                    date ? date : "", "zone", opt_str(j, "zone") ? opt_str(j, "zone") : "");
    hj = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
    lj = json_dumps(lines, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(hdr);
    json_decref(lines);
    struct item *it = calloc(1, sizeof(*it));
    if (!hj || !lj || !it) {
        free(hj);
        free(lj);
        free(it);
        return -ENOMEM;
    }
    it->r = r;
    it->c = &r->orders;
    snprintf(it->where, sizeof(it->where), "%s:%u: order", path, no);
    wait_room(r, IN_FLIGHT_MAX);
    rc = ops_order_upsert(r->s, import_ctx(), opt_str(j, "order"), hj, lj, false, on_done, it);
    free(hj);
    free(lj);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", it->where, wcs_strerror(rc));
        free(it);
        return 1;
    }
    r->in_flight++;
    return 0;
}

static int send_stock(struct run *r)
{
    for (size_t i = 0; i < NQ; i++) {
        struct store_line line = {Q[i].sku, Q[i].loc, Q[i].lot, Q[i].qty};
        struct item *it = calloc(1, sizeof(*it));
        int rc;
        if (!it)
            return -ENOMEM;
        it->r = r;
        it->c = &r->stock;
        snprintf(it->where, sizeof(it->where), "%s:%u: stock", Q[i].path, Q[i].line);
        wait_room(r, IN_FLIGHT_MAX);
        rc = ops_import_quant_dated(r->s, import_ctx(), &line, Q[i].expiry, Q[i].in_date, on_done,
                                    it);
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", it->where, wcs_strerror(rc));
            free(it);
            return 1;
        }
        r->in_flight++;
    }
    return 0;
}

/* ---- master data: the config's products and locations ---- */

#define PRODUCT_FIELDS  12
#define LOCATION_FIELDS 9

/* The fields of one master record; values point into cfg or into the record's own buffers. */
struct mrec {
    char num[5][24];
    char *gtins; /* products: owned */
    const char *f[2 * OPS_MASTER_FIELDS_MAX];
    struct ops_record rec;
};

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int product_rec(struct mrec *m, const struct cfg_site *cfg, const struct cfg_product *p)
{
    static const char *const tracking[] = {"none", "lot", "serial"};
    static const char *const abc[] = {"", "A", "B", "C"};
    size_t len = 1, used = 0;
    for (uint32_t i = 0; i < p->n_gtins; i++)
        len += strlen(p->gtins[i]) + 1;
    if (!(m->gtins = malloc(len)))
        return -ENOMEM;
    m->gtins[0] = '\0';
    for (uint32_t i = 0; i < p->n_gtins; i++)
        used += (size_t)snprintf(m->gtins + used, len - used, "%s%s", i ? "," : "", p->gtins[i]);
    snprintf(m->num[0], sizeof(m->num[0]), "%" PRIu32, p->weight_g);
    snprintf(m->num[1], sizeof(m->num[1]), "%" PRIu32, p->expiry_margin_days);
    const char *f[2 * PRODUCT_FIELDS] = {
        "sku",
        p->sku,
        "name",
        nz(p->name),
        "gtins",
        m->gtins,
        "category",
        p->category >= 0 ? nz(cfg->categories[p->category].name) : "",
        "unit",
        nz(p->unit),
        "weight_g",
        m->num[0],
        "tracking",
        tracking[p->tracking],
        "expiry",
        p->expiry ? "1" : "0",
        "expiry_margin_days",
        m->num[1],
        "abc",
        abc[p->abc],
        "quality_control",
        p->quality_control ? "1" : "0",
        "package_type",
        nz(p->package_type),
    };
    memcpy(m->f, f, sizeof(f));
    m->rec = (struct ops_record){p->sku, PRODUCT_FIELDS, m->f};
    return 0;
}

static void location_rec(struct mrec *m, const struct cfg_location *l)
{
    m->gtins = NULL;
    m->num[0][0] = m->num[1][0] = m->num[2][0] = m->num[3][0] = '\0';
    if (l->has_pick_seq)
        snprintf(m->num[0], sizeof(m->num[0]), "%" PRIu32, l->pick_seq);
    if (l->has_cap_units)
        snprintf(m->num[1], sizeof(m->num[1]), "%" PRIu32, l->cap_units);
    if (l->has_cap_weight)
        snprintf(m->num[2], sizeof(m->num[2]), "%" PRIu32, l->cap_weight_g);
    if (l->has_cap_volume)
        snprintf(m->num[3], sizeof(m->num[3]), "%" PRIu64, l->cap_volume_cm3);
    const char *f[2 * LOCATION_FIELDS] = {
        "path",           l->path,     "type",         cfg_loc_type_name(l->type),
        "zone",           nz(l->zone), "aisle",        nz(l->aisle),
        "pick_seq",       m->num[0],   "pick_face",    l->pick_face ? "1" : "0",
        "cap_units",      m->num[1],   "cap_weight_g", m->num[2],
        "cap_volume_cm3", m->num[3],
    };
    memcpy(m->f, f, sizeof(f));
    m->rec = (struct ops_record){l->path, LOCATION_FIELDS, m->f};
}

/* Checks every product sku and location path before anything is written. Returns 0 or 1. */
static int validate_master(const struct cfg_site *cfg, const char *config)
{
    int bad = 0;
    for (uint32_t i = 0; i < cfg->n_products; i++)
        if (store_id_check(cfg->products[i].sku) != 0) {
            fprintf(stderr, "%s: product \"%s\": sku is not a store identifier\n", config,
                    cfg->products[i].sku);
            bad = 1;
        }
    for (uint32_t i = 0; i < cfg->n_locations; i++)
        if (store_path_check(cfg->locations[i].path) != 0) {
            fprintf(stderr, "%s: location \"%s\": path is not a store path\n", config,
                    cfg->locations[i].path);
            bad = 1;
        }
    return bad;
}

/* Sends the products (kind "product") or locations in chunks of OPS_MASTER_MAX records. */
static int send_master(struct run *r, const struct cfg_site *cfg, const char *config, bool products)
{
    uint32_t total = products ? cfg->n_products : cfg->n_locations;
    const char *kind = products ? "product" : "location";
    for (uint32_t first = 0; first < total; first += OPS_MASTER_MAX) {
        size_t n = total - first < OPS_MASTER_MAX ? total - first : OPS_MASTER_MAX;
        struct mrec *m = calloc(n, sizeof(*m));
        struct ops_record recs[OPS_MASTER_MAX];
        struct item *it = calloc(1, sizeof(*it));
        int rc = m && it ? 0 : -ENOMEM;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (products)
                rc = product_rec(&m[i], cfg, &cfg->products[first + i]);
            else
                location_rec(&m[i], &cfg->locations[first + i]);
            recs[i] = m[i].rec;
        }
        if (rc == 0) {
            it->r = r;
            it->c = products ? &r->products : &r->locations;
            it->n = (unsigned)n;
            snprintf(it->where, sizeof(it->where), "%s: %ss %" PRIu32 "..%zu", config, kind,
                     first + 1, first + n);
            wait_room(r, IN_FLIGHT_MAX);
            rc = ops_import_master(r->s, import_ctx(), kind, recs, n, on_master_done, it);
            if (rc != 0)
                fprintf(stderr, "%s: %s\n", it->where, wcs_strerror(rc));
        }
        for (size_t i = 0; m && i < n; i++)
            free(m[i].gtins);
        free(m);
        if (rc != 0) {
            free(it);
            return 1;
        }
        r->in_flight++;
    }
    return 0;
}

/* Validates both files with the wcs/plan readers. Returns 0 or 1 (errors printed). */
static int validate(const struct cfg_site *cfg, const char *stock, const char *orders)
{
    struct plan_site *ps = NULL;
    struct plan_input *in = NULL;
    struct plan_errors errs;
    char msg[256];
    int bad = 0;
    if (plan_site_open(&ps, cfg, (int64_t)time(NULL), msg, sizeof(msg)) != 0) {
        fprintf(stderr, "wcs import: %s\n", msg);
        return 1;
    }
    if (plan_input_new(&in, ps) != 0) {
        plan_site_close(ps);
        return 1;
    }
    plan_errors_init(&errs);
    if (stock && plan_read_file(in, PLAN_STOCK, stock, &errs) != 0)
        bad = 1;
    if (orders && plan_read_file(in, PLAN_ORDERS, orders, &errs) != 0)
        bad = 1;
    for (size_t i = 0; i < errs.count; i++)
        fprintf(stderr, "%s\n", errs.lines[i]);
    plan_errors_fini(&errs);
    plan_input_free(in);
    plan_site_close(ps);
    return bad;
}

static int connect_store(struct run *r, const struct cfg_site *cfg)
{
    struct store_opts o = {.host = cfg->redis.host,
                           .port = cfg->redis.port,
                           .user = cfg->redis.user,
                           .password_file = cfg->redis.password_file,
                           .site = cfg->id,
                           .command_timeout_ms = 5000,
                           .journal_maxlen = cfg->redis.journal_maxlen,
                           .on_state = on_state,
                           .state_arg = r};
    uint64_t t0 = clock_real_mono_us();
    if (!cfg->redis.password_file) {
        fprintf(stderr, "wcs import: redis.password_file is required\n");
        return 1;
    }
    if (store_open(&r->s, r->l, &o) != 0) {
        fprintf(stderr, "wcs import: cannot set up the Redis connection\n");
        return 1;
    }
    while (!r->up && clock_real_mono_us() - t0 < 5000000u)
        loop_run_once(r->l, 50);
    if (!r->up) {
        fprintf(stderr, "wcs import: Redis %s:%u not ready: %s\n",
                cfg->redis.host ? cfg->redis.host : "127.0.0.1", cfg->redis.port,
                r->down[0] ? r->down : "timeout");
        return 1;
    }
    return 0;
}

static void on_note(void *arg, const struct store_result *res)
{
    struct run *r = arg;
    r->in_flight--;
    if (res->rc != 0)
        fprintf(stderr, "wcs import: journal entry failed: %s\n", wcs_strerror(res->rc));
}

int cmd_import(int argc, char **argv)
{
    const char *config = NULL, *stock = NULL, *orders = NULL;
    bool master = false;
    struct cfg_site *cfg = NULL;
    struct cfg_errors errs;
    struct run r = {0};
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--master") == 0) {
            master = true;
        } else if (strcmp(argv[i], "--stock") == 0 && i + 1 < argc) {
            stock = argv[++i];
        } else if (strcmp(argv[i], "--orders") == 0 && i + 1 < argc) {
            orders = argv[++i];
        } else if (argv[i][0] != '-' && !config) {
            config = argv[i];
        } else {
            fprintf(stderr, "wcs import: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!config || (!stock && !orders && !master)) {
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
    if ((master && validate_master(cfg, config) != 0) ||
        ((stock || orders) && validate(cfg, stock, orders) != 0))
        goto out_cfg;
    if (loop_new(&r.l, clock_system()) != 0)
        goto out_cfg;
    if (connect_store(&r, cfg) != 0)
        goto out_store;
    if ((master &&
         (send_master(&r, cfg, config, true) != 0 || send_master(&r, cfg, config, false) != 0)) ||
        (stock && (each_line(stock, add_stock, &r) != 0 || send_stock(&r) != 0)) ||
        (orders && each_line(orders, send_order, &r) != 0)) {
        wait_room(&r, 0);
        goto out_store;
    }
    wait_room(&r, 0);
    {
        char note[1024];
        int len =
            snprintf(note, sizeof(note),
                     "{\"stock\":{\"created\":%u,\"updated\":%u,\"unchanged\":%u,\"refused\":%u},"
                     "\"orders\":{\"created\":%u,\"updated\":%u,\"unchanged\":%u,\"refused\":%u}",
                     r.stock.created, r.stock.updated, r.stock.unchanged, r.stock.refused,
                     r.orders.created, r.orders.updated, r.orders.unchanged, r.orders.refused);
        if (master)
            len += snprintf(note + len, sizeof(note) - (size_t)len,
                            ",\"products\":{\"created\":%u,\"updated\":%u,\"unchanged\":%u,"
                            "\"refused\":%u},\"locations\":{\"created\":%u,\"updated\":%u,"
                            "\"unchanged\":%u,\"refused\":%u}",
                            r.products.created, r.products.updated, r.products.unchanged,
                            r.products.refused, r.locations.created, r.locations.updated,
                            r.locations.unchanged, r.locations.refused);
        snprintf(note + len, sizeof(note) - (size_t)len, "}");
        if (ops_journal_note(r.s, import_ctx(), "import", cfg->id, note, on_note, &r) == 0)
            r.in_flight++;
        wait_room(&r, 0);
    }
    printf("import: stock created=%u updated=%u unchanged=%u refused=%u; orders created=%u "
           "updated=%u unchanged=%u refused=%u",
           r.stock.created, r.stock.updated, r.stock.unchanged, r.stock.refused, r.orders.created,
           r.orders.updated, r.orders.unchanged, r.orders.refused);
    if (master)
        printf("; products created=%u updated=%u unchanged=%u refused=%u; locations created=%u "
               "updated=%u unchanged=%u refused=%u",
               r.products.created, r.products.updated, r.products.unchanged, r.products.refused,
               r.locations.created, r.locations.updated, r.locations.unchanged,
               r.locations.refused);
    printf("\n");
    rc = r.stock.refused || r.orders.refused || r.products.refused || r.locations.refused ? 1 : 0;
out_store:
    store_close(r.s);
    loop_free(r.l);
out_cfg:
    free(Q);
    Q = NULL;
    NQ = CAPQ = 0;
    cfg_free(cfg);
    return rc;
}
