/* Integration test of `wcs import` against a real redis-server (harness): stock and orders in
 * the JSON Lines formats of `wcs plan` are imported; a second run of the same files changes no
 * key and journals counts of unchanged records; a changed file updates only what changed; a bad
 * line is reported as file:line: field: message and nothing is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/harness.h"

#include <hiredis/hiredis.h>

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

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);
    if (f) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every key of site t1 but the journal and op records, sorted, with its DUMP. */
static char *dump(size_t *len_out)
{
    redisReply *r = redisCommand(RC, "KEYS wcs:{t1}:*");
    char **keys = calloc(r->elements + 1, sizeof(*keys));
    size_t n = 0, len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (size_t i = 0; i < r->elements; i++)
        if (!strstr(r->element[i]->str, ":journal") && !strstr(r->element[i]->str, ":op:"))
            keys[n++] = strdup(r->element[i]->str);
    freeReplyObject(r);
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (size_t i = 0; i < n; i++) {
        redisReply *d = redisCommand(RC, "DUMP %s", keys[i]);
        while (len + strlen(keys[i]) + d->len + 2 > cap)
            buf = realloc(buf, cap *= 2);
        memcpy(buf + len, keys[i], strlen(keys[i]) + 1);
        len += strlen(keys[i]) + 1;
        memcpy(buf + len, d->str, d->len);
        len += d->len;
        buf[len++] = '\n';
        freeReplyObject(d);
        free(keys[i]);
    }
    free(keys);
    *len_out = len;
    return buf;
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
    char *out = slurp(OUT);
    assert_string_equal(out, "import: stock created=2 updated=0 unchanged=0 refused=0; orders "
                             "created=2 updated=0 unchanged=0 refused=0\n");
    free(out);
    hget_is("wcs:{t1}:quant:P1:WH1/Stock/A/1:", "on_hand", "42");
    hget_is("wcs:{t1}:quant:L1:WH1/Stock/A/2:LA", "on_hand", "7");
    hget_is("wcs:{t1}:quant:L1:WH1/Stock/A/2:LA", "reserved", "0");
    hget_is("wcs:{t1}:order:SO-1", "state", "confirmed");
    hget_is("wcs:{t1}:order:SO-1", "priority", "urgent");
    hget_is("wcs:{t1}:order:SO-1:lines", "1", "{\"lot\":\"LA\",\"qty\":1,\"sku\":\"L1\"}");
    char *d0 = dump(&n0);
    long long j0 = xlen();

    assert_int_equal(run_import(), 0);
    out = slurp(OUT);
    assert_string_equal(out, "import: stock created=0 updated=0 unchanged=2 refused=0; orders "
                             "created=0 updated=0 unchanged=2 refused=0\n");
    free(out);
    char *d1 = dump(&n1);
    assert_true(n0 == n1 && memcmp(d0, d1, n0) == 0);
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
    out = slurp(OUT);
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
    char *err = slurp(ERR), want[400];
    snprintf(want, sizeof(want), "%s:2: sku: unknown SKU \"P9\"\n", STOCK);
    assert_string_equal(err, want);
    free(err);
    char *d1 = dump(&n1);
    assert_true(n0 == n1 && memcmp(d0, d1, n0) == 0);
    assert_int_equal(xlen(), j0);
    free(d0);
    free(d1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_twice_is_idempotent),
        cmocka_unit_test(test_bad_line_writes_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
