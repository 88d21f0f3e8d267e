/* Integration test of `wcs audit` over every stock flow, through a real mosquitto and
 * redis-server and the real command layer: stock imported, received (one product under quality
 * hold, released in part and scrapped in part, put away), ordered, waved, released, picked into
 * totes (one pick short), packed and shipped through the packing store operations, returned
 * and inspected (restock and scrap), transferred to a second warehouse through transit, and
 * counted with a variance. The audit must balance with the expected figures per product and
 * place, then fail naming the product when a quant or a tote is changed behind wcs's back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdfix.h"
#include "store/ops.h"
#include "store/packing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K(x)    "wcs:{t5}:" x
#define P1_GTIN "4012345000016"
#define Q1_SCAN "]C1010401234500002310QL1"

static const struct fx_user USERS[] = {{"sup", HARNESS_ROLE_SUPERVISOR},
                                       {"lead", HARNESS_ROLE_SUPERVISOR}};
static const struct store_ctx SCTX = {.actor = "test", .cause = "audit test"};

static int setup(void **state)
{
    (void)state;
    struct fx_opts o = {
        .site_yaml = SITE_YAML, .users = USERS, .n_users = sizeof(USERS) / sizeof(USERS[0])};
    return fx_open(&o);
}

struct wait {
    bool done;
    int rc;
    char v[2][64];
};

static void on_wait(void *arg, const struct store_result *r)
{
    struct wait *w = arg;
    w->done = true;
    w->rc = r->rc;
    for (size_t i = 0; r->rc == 0 && i < r->n_values && i < 2; i++)
        snprintf(w->v[i], sizeof(w->v[i]), "%s", r->values[i]);
}

/* Runs a store operation already started (start_rc) to its answer; fails on any error. */
static void store_done(int start_rc, struct wait *w, const char *what)
{
    if (start_rc != 0)
        fail_msg("%s: not started (%d)", what, start_rc);
    fx_pump(&w->done, 5000);
    if (!w->done || w->rc != 0)
        fail_msg("%s: %s", what, w->done ? "refused" : "no answer");
}

static void import(const char *sku, const char *loc, int64_t qty)
{
    struct wait w = {0};
    struct store_line l = {.sku = sku, .loc = loc, .lot = "", .qty = qty};
    store_done(ops_import_quant(FX.store, &SCTX, &l, on_wait, &w), &w, "import");
}

/* The reply's putaway task and location. */
static void putaway_of(const json_t *r, char task[32], char loc[128])
{
    const json_t *p = json_object_get(r, "putaway");
    if (!json_is_object(p))
        fail_msg("reply has no putaway: %s", json_dumps(r, 0));
    snprintf(task, 32, "%s", fx_jstr(p, "task"));
    snprintf(loc, 128, "%s", fx_jstr(p, "location"));
}

static void putaway(const json_t *r, const char *rid)
{
    char task[32], loc[128], f[256];
    putaway_of(r, task, loc);
    snprintf(f, sizeof(f), "\"task\":\"%s\",\"location\":\"%s\"", task, loc);
    json_t *x = fx_ok("sup", "putaway.confirm", rid, f);
    assert_string_equal(fx_jstr(x, "state"), "done");
    json_decref(x);
}

static long long hnum(const char *key, const char *field)
{
    char *v = fx_hget(key, field);
    long long n = v ? atoll(v) : 0;
    free(v);
    return n;
}

static void receive_and_release(void)
{
    json_t *r;
    r = fx_ok("sup", "receipt.expect", "e1",
              "\"receipt\":\"R1\",\"supplier\":\"ACME\",\"warehouse\":\"WH1\",\"lines\":["
              "{\"sku\":\"P1\",\"qty\":6},{\"sku\":\"Q1\",\"qty\":10,\"lot\":\"QL1\"}]");
    json_decref(r);
    r = fx_ok("sup", "receipt.scan", "s1",
              "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"" P1_GTIN "\",\"qty\":6");
    putaway(r, "p1");
    json_decref(r);
    r = fx_ok("sup", "receipt.scan", "s2",
              "\"receipt\":\"R1\",\"station\":\"RCV1\",\"scan\":\"" Q1_SCAN "\",\"qty\":10");
    assert_true(json_is_true(json_object_get(r, "held")));
    char qloc[128], qkey[192], f[512];
    snprintf(qloc, sizeof(qloc), "%s", fx_jstr(r, "location"));
    json_decref(r);
    snprintf(qkey, sizeof(qkey), K("quant:Q1:%s:QL1"), qloc);
    assert_int_equal(hnum(qkey, "hold"), 10);
    snprintf(
        f, sizeof(f),
        "\"sku\":\"Q1\",\"location\":\"%s\",\"lot\":\"QL1\",\"qty\":7,\"decision\":\"release\"",
        qloc);
    r = fx_ok("sup", "quality.release", "q1", f);
    putaway(r, "p2");
    json_decref(r);
    snprintf(f, sizeof(f),
             "\"sku\":\"Q1\",\"location\":\"%s\",\"lot\":\"QL1\",\"qty\":3,\"decision\":\"scrap\"",
             qloc);
    r = fx_ok("sup", "quality.release", "q2", f);
    assert_string_equal(fx_jstr(r, "scrap_location"), "WH1/Scrap");
    json_decref(r);
    assert_int_equal(hnum(qkey, "on_hand"), 0);
    assert_int_equal(hnum(K("quant:Q1:WH1/Scrap:QL1"), "on_hand"), 3);
}

/* SO2's units picked into its tote and missing after the short. */
static long long SO2_PICKED, SO2_MISSING;

/* Picks every open task of the claimed batches into the order's tote; the first of SO2's tasks
 * with 2 units or more is shorted (1 found). */
static void wave_and_pick(void)
{
    json_t *r, *t;
    size_t i;
    json_decref(fx_ok("sup", "order.upsert", "o1",
                      "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":4},"
                      "{\"sku\":\"Q1\",\"qty\":2,\"lot\":\"QL1\"}]"));
    json_decref(
        fx_ok("sup", "order.upsert", "o2",
              "\"order\":\"SO2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":3}]"));
    json_decref(fx_ok("sup", "wave.plan", "w1", "\"wave\":\"W1\""));
    json_decref(fx_ok("sup", "wave.release", "w2", "\"wave\":\"W1\""));
    int n_short = 0;
    for (int b = 0; b < 4; b++) {
        char rid[48];
        snprintf(rid, sizeof(rid), "c%d", b);
        json_t *c = fx_send("sup", "batch.claim", rid, "");
        if (!json_is_true(json_object_get(c, "ok"))) {
            json_decref(c);
            break;
        }
        json_array_foreach(json_object_get(c, "tasks"), i, t)
        {
            char f[512];
            const char *sku = fx_jstr(t, "sku"), *order = fx_jstr(t, "order");
            long long qty = fx_jint(t, "qty");
            bool so2 = strcmp(order, "SO2") == 0, shorted = so2 && qty >= 2 && n_short == 0;
            if (strcmp(fx_jstr(t, "state"), "open") != 0)
                continue;
            snprintf(f, sizeof(f),
                     "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"%s\",\"qty\":%lld,"
                     "\"tote\":\"T-%s\"",
                     fx_jstr(t, "task"), fx_jstr(t, "location"),
                     strcmp(sku, "P1") == 0 ? P1_GTIN : Q1_SCAN, shorted ? 1 : qty, order);
            snprintf(rid, sizeof(rid), "k%d-%zu", b, i);
            r = fx_ok("sup", shorted ? "pick.short" : "pick.confirm", rid, f);
            json_decref(r);
            if (so2) {
                SO2_PICKED += shorted ? 1 : qty;
                SO2_MISSING += shorted ? qty - 1 : 0;
            }
            n_short += shorted;
        }
        json_decref(c);
    }
    assert_int_equal(n_short, 1);
    assert_int_equal(hnum(K("tote:T-SO1:contents"), "P1:"), 4);
    assert_int_equal(hnum(K("tote:T-SO1:contents"), "Q1:QL1"), 2);
    assert_int_equal(hnum(K("tote:T-SO2:contents"), "P1:"), SO2_PICKED);
    assert_true(SO2_MISSING >= 1);
}

/* SO1's tote through a pack station and out: the packing flow's store operations, as the
 * station daemon calls them. */
static void pack_and_ship(void)
{
    struct wait w = {0};
    const struct store_field sf[] = {{"order", "SO1"}, {"step", "weigh"}, {"totes", "[\"T-SO1\"]"}};
    const char *const totes[] = {"T-SO1"};
    store_done(packing_step(FX.store, &SCTX, "PK1", "pack_open", NULL, sf, 3, totes, 1, NULL, 0,
                            on_wait, &w),
               &w, "pack_open");
    memset(&w, 0, sizeof(w));
    store_done(packing_label(FX.store, &SCTX, "PK1", "SO1", 1200000, 1200000, on_wait, &w), &w,
               "pack_label");
    char shipment[80];
    snprintf(shipment, sizeof(shipment), "SH-%s", w.v[1]);
    const char *sscc = "006141410000000017";
    struct packing_commit c = {
        .station = "PK1",
        .shipment = shipment,
        .order = "SO1",
        .sscc = sscc,
        .carrier = "DHL",
        .weight_mg = 1200000,
        .expected_mg = 1200000,
        .units = 6,
        .items_json = "[{\"sku\":\"P1\",\"lot\":\"\",\"qty\":4},{\"sku\":\"Q1\",\"lot\":\"QL1\","
                      "\"qty\":2}]",
        .reset_json = "{\"step\":\"idle\",\"order\":\"\"}",
        .totes = totes,
        .n_totes = 1};
    memset(&w, 0, sizeof(w));
    store_done(packing_commit(FX.store, &SCTX, &c, on_wait, &w), &w, "pack_commit");
    assert_int_equal(hnum(K("tote:T-SO1:contents"), "P1:"), 0);
    /* Packed, not shipped: the carton holds the units. */
    static char out[65536];
    int rc = fx_audit(WCS_BIN, "--json", out, sizeof(out));
    if (rc != 0)
        fail_msg("audit not balanced with a packed carton:\n%s", out);
    memset(&w, 0, sizeof(w));
    store_done(packing_ship(FX.store, &SCTX, shipment, sscc, "SO1", "L1", true, on_wait, &w), &w,
               "ship_confirm");
    assert_string_equal(w.v[0], "shipped");
    fx_hget_is(K("order:SO1"), "state", "shipped");
}

static void return_and_inspect(void)
{
    json_t *r;
    json_decref(fx_ok("sup", "rma.authorize", "a1",
                      "\"rma\":\"RMA1\",\"order\":\"SO1\",\"credit\":true,\"lines\":[{\"sku\":"
                      "\"P1\",\"qty\":2}]"));
    json_decref(fx_ok("sup", "return.receive", "r1",
                      "\"rma\":\"RMA1\",\"station\":\"RET1\",\"scan\":\"" P1_GTIN "\",\"qty\":2"));
    r = fx_ok("sup", "return.inspect", "i1",
              "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"restock\"");
    putaway(r, "p3");
    json_decref(r);
    json_decref(fx_ok("sup", "return.inspect", "i2",
                      "\"rma\":\"RMA1\",\"sku\":\"P1\",\"qty\":1,\"decision\":\"scrap\","
                      "\"note\":\"broken\""));
    assert_int_equal(hnum(K("quant:P1:WH1/Scrap:"), "on_hand"), 1);
}

static void transfer_and_count(void)
{
    json_t *r;
    json_decref(fx_ok("lead", "transfer.create", "t1",
                      "\"transfer\":\"X1\",\"from_warehouse\":\"WH1\",\"to_warehouse\":\"WH2\","
                      "\"lines\":[{\"sku\":\"P1\",\"qty\":5}]"));
    json_decref(fx_ok("lead", "transfer.ship", "t2", "\"transfer\":\"X1\""));
    /* Half-way: 5 in transit. */
    static char out[65536];
    int rc = fx_audit(WCS_BIN, "", out, sizeof(out));
    if (rc != 0)
        fail_msg("audit not balanced in transit:\n%s", out);
    r = fx_ok("lead", "transfer.receive", "t3", "\"transfer\":\"X1\"");
    assert_string_equal(fx_jstr(r, "state"), "done");
    json_decref(r);
    /* A count finds one unit more than on hand at WH1/Stock/A/1. */
    long long oh = hnum(K("quant:P1:WH1/Stock/A/1:"), "on_hand");
    char task[32], f[256];
    r = fx_send("lead", "count.request", "n1", "\"location\":\"WH1/Stock/A/1\"");
    if (json_is_true(json_object_get(r, "ok"))) {
        snprintf(task, sizeof(task), "%s", fx_jstr(r, "task"));
    } else { /* the short pick there asked for a count already: that one */
        const char *e = fx_jstr(r, "error"), *sp = strrchr(e, ' ');
        assert_non_null(strstr(e, "already has an open count"));
        snprintf(task, sizeof(task), "%s", sp + 1);
    }
    json_decref(r);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"counts\":[{\"sku\":\"P1\","
             "\"qty\":%lld}]",
             task, oh + 1);
    r = fx_ok("sup", "count.submit", "n2", f);
    assert_int_equal(fx_jint(r, "variances"), 1);
    assert_int_equal(fx_jint(r, "adjusted"), 1);
    json_decref(r);
}

static const json_t *row_of(const json_t *j, const char *sku)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(j, "rows"), i, row)
    {
        if (strcmp(fx_jstr(row, "sku"), sku) == 0)
            return row;
    }
    fail_msg("no audit row for %s", sku);
    return NULL;
}

static void test_every_flow_balances_then_tampering_fails(void **state)
{
    static char out[65536];
    int rc;
    (void)state;
    import("P1", "WH1/Stock/A/1", 20);
    import("P1", "WH1/Stock/A/2", 5);
    receive_and_release();
    wave_and_pick();
    pack_and_ship();
    return_and_inspect();
    transfer_and_count();

    rc = fx_audit(WCS_BIN, "", out, sizeof(out));
    if (rc != 0)
        fail_msg("audit not balanced:\n%s", out);
    assert_non_null(strstr(out, "balanced: 2 product/lot rows"));
    rc = fx_audit(WCS_BIN, "--json", out, sizeof(out));
    assert_int_equal(rc, 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "balanced")));
    assert_int_equal(json_array_size(json_object_get(j, "issues")), 0);
    /* P1: 25 imported + 6 received + 2 returned - 4 shipped + 1 counted - 1 scrapped = 29 on
     * site: what SO2's picks found in its tote, the rest in stock (5 of them moved to WH2
     * through transit). */
    const json_t *p1 = row_of(j, "P1"), *pl = json_object_get(p1, "places");
    assert_int_equal(fx_jint(p1, "initial"), 25);
    assert_int_equal(fx_jint(p1, "receipts"), 6);
    assert_int_equal(fx_jint(p1, "returns"), 2);
    assert_int_equal(fx_jint(p1, "shipped"), -4);
    assert_int_equal(fx_jint(p1, "adjustments"), 1);
    assert_int_equal(fx_jint(p1, "scrapped"), 1);
    assert_int_equal(fx_jint(p1, "moves"), 0);
    assert_int_equal(fx_jint(p1, "expected"), 29);
    assert_int_equal(fx_jint(p1, "on_hand"), 29);
    assert_int_equal(fx_jint(pl, "totes"), SO2_PICKED);
    assert_int_equal(fx_jint(pl, "transit"), 0);
    assert_int_equal(fx_jint(pl, "cartons"), 0);
    assert_int_equal(fx_jint(pl, "stock"), 29 - SO2_PICKED);
    /* The short pick's missing units, unless the count cleared them at its location. */
    assert_true(fx_jint(p1, "missing") == SO2_MISSING || fx_jint(p1, "missing") == 0);
    /* Q1 lot QL1: 10 received, 3 scrapped, 2 shipped. */
    const json_t *q1 = row_of(j, "Q1");
    assert_string_equal(fx_jstr(q1, "lot"), "QL1");
    assert_int_equal(fx_jint(q1, "receipts"), 10);
    assert_int_equal(fx_jint(q1, "scrapped"), 3);
    assert_int_equal(fx_jint(q1, "shipped"), -2);
    assert_int_equal(fx_jint(q1, "on_hand"), 5);
    json_decref(j);

    /* One unit added to a quant behind wcs's back. */
    freeReplyObject(fx_redis("HINCRBY %s on_hand 1", K("quant:P1:WH1/Stock/A/2:")));
    rc = fx_audit(WCS_BIN, "", out, sizeof(out));
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "MISMATCH"));
    assert_non_null(strstr(out, "P1 -: stock holds"));
    assert_non_null(strstr(out, "quant wcs:{t5}:quant:P1:WH1/Stock/A/2: on_hand differs"));
    assert_null(strstr(out, "Q1 QL1: stock holds"));
    freeReplyObject(fx_redis("HINCRBY %s on_hand -1", K("quant:P1:WH1/Stock/A/2:")));
    /* A unit taken out of a tote. */
    freeReplyObject(fx_redis("HINCRBY %s Q1:QL1 -1", K("tote:T-SO2:contents")));
    rc = fx_audit(WCS_BIN, "--json", out, sizeof(out));
    assert_int_equal(rc, 1);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_false(json_is_true(json_object_get(row_of(j, "Q1"), "balanced")));
    assert_true(json_is_true(json_object_get(row_of(j, "P1"), "balanced")));
    const json_t *is = json_array_get(json_object_get(j, "issues"), 0);
    assert_string_equal(fx_jstr(is, "holder"), "tote");
    assert_string_equal(fx_jstr(is, "key"), "T-SO2");
    assert_string_equal(fx_jstr(is, "sku"), "Q1");
    assert_string_equal(fx_jstr(is, "lot"), "QL1");
    json_decref(j);
    freeReplyObject(fx_redis("HDEL %s Q1:QL1", K("tote:T-SO2:contents")));
    /* Held units above on_hand. */
    freeReplyObject(fx_redis("HSET %s hold 99", K("quant:P1:WH1/Stock/A/2:")));
    rc = fx_audit(WCS_BIN, "", out, sizeof(out));
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "hold exceeds on_hand"));
    freeReplyObject(fx_redis("HDEL %s hold", K("quant:P1:WH1/Stock/A/2:")));
    rc = fx_audit(WCS_BIN, "", out, sizeof(out));
    if (rc != 0)
        fail_msg("audit not balanced after undoing the tampering:\n%s", out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_flow_balances_then_tampering_fails),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
