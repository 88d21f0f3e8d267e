/* Integration test of `wcs import` against a real redis-server (harness): stock and orders in
 * the JSON Lines formats of `wcs plan` are imported; a second run of the same files changes no
 * key and journals counts of unchanged records; a changed file updates only what changed; a bad
 * line is reported as file:line: field: message and nothing is written. `--master` writes the
 * config's products and locations the same way: created, then unchanged (no key changes), then
 * exactly the record whose config entry changed is updated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/harness.h"
#include "rdump.h"
#include "tfile.h"

#include <hiredis/hiredis.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct harness_redis *R;
static redisContext *RC;
static char DIR_[256], CONFIG[300], STOCK[300], ORDERS[300], OUT[300], ERR[300];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    char err[HARNESS_ERR_MAX], cmd[700];
    (void)state;
    if (harness_redis_start(&R, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "redis: %s\n", err);
        return -1;
    }
    snprintf(DIR_, sizeof(DIR_), "%s/import", harness_redis_dir(R));
    snprintf(CONFIG, sizeof(CONFIG), "%s/site.yaml", DIR_);
    snprintf(STOCK, sizeof(STOCK), "%s/stock.jsonl", DIR_);
    snprintf(ORDERS, sizeof(ORDERS), "%s/orders.jsonl", DIR_);
    snprintf(OUT, sizeof(OUT), "%s/out.txt", DIR_);
    snprintf(ERR, sizeof(ERR), "%s/err.txt", DIR_);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp %s %s", DIR_, SITE_YAML, CONFIG);
    if (system(cmd) != 0)
        return -1;
    FILE *f = fopen(CONFIG, "a");
    fprintf(f, "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s}\n",
            harness_redis_port(R), harness_redis_user(R), harness_redis_password_file(R));
    fclose(f);
    RC = redisConnect("127.0.0.1", harness_redis_port(R));
    redisReply *r =
        redisCommand(RC, "AUTH %s %s", harness_redis_user(R), harness_redis_password(R));
    if (!r || r->type != REDIS_REPLY_STATUS)
        return -1;
    freeReplyObject(r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    redisFree(RC);
    harness_redis_free(R);
    return 0;
}

/* Runs wcs import; returns its exit status, stdout and stderr in OUT and ERR. */
static int run_import(void)
{
    char cmd[1600];
    snprintf(cmd, sizeof(cmd), "%s import %s --stock %s --orders %s >%s 2>%s", WCS_BIN, CONFIG,
             STOCK, ORDERS, OUT, ERR);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Every key matching pattern (SCAN: the harness user may not run KEYS, a @dangerous command).
 * Returns a calloc'd array of n strdup'd keys. */
static char **scan_keys(const char *pattern, size_t *n_out)
{
    char cursor[32] = "0";
    char **keys = NULL;
    size_t n = 0;
    do {
        redisReply *r = redisCommand(RC, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *ks = r->element[1];
        keys = realloc(keys, (n + ks->elements + 1) * sizeof(*keys));
        for (size_t i = 0; i < ks->elements; i++)
            keys[n++] = strdup(ks->element[i]->str);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    *n_out = n;
    return keys;
}

static bool listed(const char *key, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

static bool skip_listed(const char *key, void *arg)
{
    return strstr(key, ":journal") || strstr(key, ":op:") || listed(key, arg);
}

/* Every key of site t1 but the journal, op records and the keys of skip (NULL-terminated; may be
 * NULL): a canonical snapshot (tests/common/rdump.h). There is always at least one such key
 * when this is called. */
static char *dump_but(const char *const *skip, size_t *len_out)
{
    char *s = rdump(RC, "wcs:{t1}:*", skip_listed, (void *)skip, len_out);
    assert_true(rdump_count(s, *len_out) > 0);
    return s;
}

static char *dump(size_t *len_out)
{
    return dump_but(NULL, len_out);
}

static char *journal_last_after(void)
{
    redisReply *r = redisCommand(RC, "XREVRANGE wcs:{t1}:journal + - COUNT 1");
    char *v = NULL;
    const redisReply *f = r->element[0]->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (strcmp(f->element[i]->str, "after") == 0)
            v = strdup(f->element[i + 1]->str);
    freeReplyObject(r);
    return v;
}

static long long xlen(void)
{
    redisReply *r = redisCommand(RC, "XLEN wcs:{t1}:journal");
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static void hget_is(const char *key, const char *field, const char *want)
{
    redisReply *r = redisCommand(RC, "HGET %s %s", key, field);
    if (r->type != REDIS_REPLY_STRING || strcmp(r->str, want) != 0)
        fail_msg("%s %s = %s, expected %s", key, field, r->str ? r->str : "(nil)", want);
    freeReplyObject(r);
}

static const char STOCK1[] =
    "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"in_date\":\"2026-11-01T06:00Z\",\"qty\":40}\n"
    "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"in_date\":\"2026-11-02T06:00Z\",\"qty\":2,"
    "\"package\":\"PAL2\"}\n"
    "\n"
    "{\"sku\":\"L1\",\"location\":\"WH1/Stock/A/2\",\"lot\":\"LA\",\"in_date\":\"2026-11-01\","
    "\"qty\":7,\"reserved\":2}\n";
static const char ORDERS1[] =
    "{\"order\":\"SO-1\",\"carrier\":\"DHL\",\"priority\":\"urgent\",\"ship_date\":\"2026-11-27\","
    "\"lines\":[{\"sku\":\"P1\",\"qty\":3},{\"sku\":\"L1\",\"qty\":1,\"lot\":\"LA\"}]}\n"
    "{\"order\":\"SO-2\",\"carrier\":\"UPS\",\"lines\":[{\"sku\":\"P2\",\"qty\":1}]}\n";

static void test_import_twice_is_idempotent(void **state)
{
    size_t n0, n1;
    (void)state;
    write_file(STOCK, STOCK1);
    write_file(ORDERS, ORDERS1);
    assert_int_equal(run_import(), 0);
    char *out = tfile_read(OUT);
    assert_string_equal(out, "import: stock created=2 updated=0 unchanged=0 refused=0; orders "
                             "created=2 updated=0 unchanged=0 refused=0\n");
    free(out);
    hget_is("wcs:{t1}:quant:P1:WH1/Stock/A/1:", "on_hand", "42");
    hget_is("wcs:{t1}:quant:L1:WH1/Stock/A/2:LA", "on_hand", "7");
    hget_is("wcs:{t1}:quant:L1:WH1/Stock/A/2:LA", "reserved", "0");
    /* The record's dates reach the quant (FIFO/FEFO and wave.plan read them); the first record
     * of a quant listed twice gives them. */
    hget_is("wcs:{t1}:quant:P1:WH1/Stock/A/1:", "in_date", "2026-11-01T06:00Z");
    hget_is("wcs:{t1}:quant:L1:WH1/Stock/A/2:LA", "in_date", "2026-11-01");
    hget_is("wcs:{t1}:order:SO-1", "state", "confirmed");
    hget_is("wcs:{t1}:order:SO-1", "priority", "urgent");
    hget_is("wcs:{t1}:order:SO-1:lines", "1", "{\"lot\":\"LA\",\"qty\":1,\"sku\":\"L1\"}");
    char *d0 = dump(&n0);
    long long j0 = xlen();

    assert_int_equal(run_import(), 0);
    out = tfile_read(OUT);
    assert_string_equal(out, "import: stock created=0 updated=0 unchanged=2 refused=0; orders "
                             "created=0 updated=0 unchanged=2 refused=0\n");
    free(out);
    char *d1 = dump(&n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    assert_int_equal(xlen(), j0 + 1); /* only the run's own entry */
    char *after = journal_last_after();
    assert_string_equal(after, "{\"stock\":{\"created\":0,\"updated\":0,\"unchanged\":2,"
                               "\"refused\":0},\"orders\":{\"created\":0,\"updated\":0,"
                               "\"unchanged\":2,\"refused\":0}}");
    free(after);
    free(d0);
    free(d1);

    /* One quant and one order changed: exactly those are updated. */
    write_file(STOCK, "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"in_date\":\"2026-11-01\","
                      "\"qty\":30}\n");
    write_file(ORDERS, "{\"order\":\"SO-2\",\"carrier\":\"UPS\",\"lines\":[{\"sku\":\"P2\","
                       "\"qty\":2}]}\n");
    assert_int_equal(run_import(), 0);
    out = tfile_read(OUT);
    assert_string_equal(out, "import: stock created=0 updated=1 unchanged=0 refused=0; orders "
                             "created=0 updated=1 unchanged=0 refused=0\n");
    free(out);
    hget_is("wcs:{t1}:quant:P1:WH1/Stock/A/1:", "on_hand", "30");
}

static void test_bad_line_writes_nothing(void **state)
{
    size_t n0, n1;
    (void)state;
    char *d0 = dump(&n0);
    long long j0 = xlen();
    write_file(STOCK, "{\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"in_date\":\"2026-11-01\","
                      "\"qty\":99}\n"
                      "{\"sku\":\"P9\",\"location\":\"WH1/Stock/A/1\",\"in_date\":\"2026-11-01\","
                      "\"qty\":1}\n");
    write_file(ORDERS, ORDERS1);
    assert_int_equal(run_import(), 1);
    char *err = tfile_read(ERR), want[400];
    snprintf(want, sizeof(want), "%s:2: sku: unknown SKU \"P9\"\n", STOCK);
    assert_string_equal(err, want);
    free(err);
    char *d1 = dump(&n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    assert_int_equal(xlen(), j0);
    free(d0);
    free(d1);
}

/* Replaces the first from in the config copy by to. */
static void config_replace(const char *from, const char *to)
{
    char *text = tfile_read(CONFIG), *at = strstr(text, from);
    assert_non_null(at);
    FILE *f = fopen(CONFIG, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fclose(f);
    free(text);
}

static int run_master(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "%s import %s --master >%s 2>%s", WCS_BIN, CONFIG, OUT, ERR);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long long key_count(const char *pattern)
{
    size_t n;
    char **keys = scan_keys(pattern, &n);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    return (long long)n;
}

/* The op and subject of the journal entry before the last one. */
static void journal_second_last_is(const char *op, const char *subject)
{
    redisReply *r = redisCommand(RC, "XREVRANGE wcs:{t1}:journal + - COUNT 2");
    assert_int_equal(r->elements, 2);
    const redisReply *f = r->element[1]->element[1];
    const char *got_op = NULL, *got_subject = NULL;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (strcmp(f->element[i]->str, "op") == 0)
            got_op = f->element[i + 1]->str;
        if (strcmp(f->element[i]->str, "subject") == 0)
            got_subject = f->element[i + 1]->str;
    }
    assert_non_null(got_op);
    assert_non_null(got_subject);
    assert_string_equal(got_op, op);
    assert_string_equal(got_subject, subject);
    freeReplyObject(r);
}

static void test_master_import(void **state)
{
    size_t n0, n1;
    (void)state;
    /* Richer entries than the shared site file has: every product and location field set. */
    config_replace("{sku: L1, name: Lot product, tracking: lot}",
                   "{sku: L1, name: Lot product, tracking: lot, gtins: [\"4006381333931\", "
                   "\"12345670\"], weight_g: 250, expiry: true, expiry_margin_days: 5, abc: A, "
                   "quality_control: true, package_type: box, category: cold}");
    config_replace("{path: \"WH1/Stock/A/{1..3}\", type: internal, zone: A}",
                   "{path: \"WH1/Stock/A/{1..3}\", type: internal, zone: A, aisle: \"07\", "
                   "pick_seq_start: 10, pick_face: true, capacity: {units: 50, weight_g: 9000}}");
    /* 41 more locations (WH1/Bulk and 40 bins): the locations go in two chunks. */
    config_replace("{path: WH1/Quality, type: quality}",
                   "{path: WH1/Quality, type: quality}\n"
                   "      - {path: \"WH1/Bulk/{01..40}\", type: internal, zone: B}");
    FILE *f = fopen(CONFIG, "a");
    assert_non_null(f);
    fprintf(f, "categories: [{name: cold, removal: fefo}]\n");
    fclose(f);

    long long j0 = xlen();
    assert_int_equal(run_master(), 0);
    char *out = tfile_read(OUT);
    assert_string_equal(out, "import: stock created=0 updated=0 unchanged=0 refused=0; orders "
                             "created=0 updated=0 unchanged=0 refused=0; products created=3 "
                             "updated=0 unchanged=0 refused=0; locations created=48 updated=0 "
                             "unchanged=0 refused=0\n");
    free(out);
    assert_int_equal(key_count("wcs:{t1}:product:*"), 3);
    assert_int_equal(key_count("wcs:{t1}:location:*"), 48);
    assert_int_equal(xlen(), j0 + 3 + 48 + 1); /* one entry per record, one for the run */
    const char *l1 = "wcs:{t1}:product:L1";
    hget_is(l1, "sku", "L1");
    hget_is(l1, "name", "Lot product");
    hget_is(l1, "gtins", "4006381333931,12345670");
    hget_is(l1, "category", "cold");
    hget_is(l1, "unit", "Units");
    hget_is(l1, "weight_g", "250");
    hget_is(l1, "tracking", "lot");
    hget_is(l1, "expiry", "1");
    hget_is(l1, "expiry_margin_days", "5");
    hget_is(l1, "abc", "A");
    hget_is(l1, "quality_control", "1");
    hget_is(l1, "package_type", "box");
    hget_is("wcs:{t1}:product:P2", "gtins", "");
    hget_is("wcs:{t1}:product:P2", "tracking", "none");
    hget_is("wcs:{t1}:product:P2", "category", "");
    const char *a2 = "wcs:{t1}:location:WH1/Stock/A/2";
    hget_is(a2, "path", "WH1/Stock/A/2");
    hget_is(a2, "type", "internal");
    hget_is(a2, "zone", "A");
    hget_is(a2, "aisle", "07");
    hget_is(a2, "pick_seq", "11");
    hget_is(a2, "pick_face", "1");
    hget_is(a2, "cap_units", "50");
    hget_is(a2, "cap_weight_g", "9000");
    hget_is(a2, "cap_volume_cm3", "");
    hget_is("wcs:{t1}:location:WH1/Stock/A", "type", "view"); /* implied parent */
    hget_is("wcs:{t1}:location:WH1/Quality", "type", "quality");
    hget_is("wcs:{t1}:location:WH1/Quality", "pick_seq", "");
    hget_is("wcs:{t1}:location:WH1/Bulk/40", "zone", "B"); /* in the second chunk */
    hget_is("wcs:{t1}:location:WH1/Bulk", "type", "view");

    /* Second run: nothing changes but the run's own journal entry. */
    char *d0 = dump(&n0);
    long long j1 = xlen();
    assert_int_equal(run_master(), 0);
    out = tfile_read(OUT);
    assert_string_equal(out, "import: stock created=0 updated=0 unchanged=0 refused=0; orders "
                             "created=0 updated=0 unchanged=0 refused=0; products created=0 "
                             "updated=0 unchanged=3 refused=0; locations created=0 updated=0 "
                             "unchanged=48 refused=0\n");
    free(out);
    char *d1 = dump(&n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    assert_int_equal(xlen(), j1 + 1);
    char *after = journal_last_after();
    assert_string_equal(after, "{\"stock\":{\"created\":0,\"updated\":0,\"unchanged\":0,"
                               "\"refused\":0},\"orders\":{\"created\":0,\"updated\":0,"
                               "\"unchanged\":0,\"refused\":0},\"products\":{\"created\":0,"
                               "\"updated\":0,\"unchanged\":3,\"refused\":0},\"locations\":{"
                               "\"created\":0,\"updated\":0,\"unchanged\":48,\"refused\":0}}");
    free(after);
    free(d0);
    free(d1);

    /* A product renamed: exactly that record is updated (and journaled). */
    config_replace("{sku: P1, name: Plain product}", "{sku: P1, name: Plain renamed}");
    /* Besides the record, only the KPI counter of imported products moves. */
    static const char *const skip[] = {"wcs:{t1}:product:P1", "wcs:{t1}:kpi", NULL};
    hget_is("wcs:{t1}:kpi", "imported_products", "3");
    d0 = dump_but(skip, &n0);
    j1 = xlen();
    assert_int_equal(run_master(), 0);
    out = tfile_read(OUT);
    assert_string_equal(out, "import: stock created=0 updated=0 unchanged=0 refused=0; orders "
                             "created=0 updated=0 unchanged=0 refused=0; products created=0 "
                             "updated=1 unchanged=2 refused=0; locations created=0 updated=0 "
                             "unchanged=48 refused=0\n");
    free(out);
    d1 = dump_but(skip, &n1);
    assert_int_equal(rdump_diff(d0, n0, d1, n1), 0);
    free(d0);
    free(d1);
    hget_is("wcs:{t1}:kpi", "imported_products", "4");
    hget_is("wcs:{t1}:product:P1", "name", "Plain renamed");
    hget_is("wcs:{t1}:product:P1", "sku", "P1");
    assert_int_equal(xlen(), j1 + 2);
    journal_second_last_is("import_product", "P1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_twice_is_idempotent),
        cmocka_unit_test(test_bad_line_writes_nothing),
        cmocka_unit_test(test_master_import),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
