/* bench/store: committed reservations per second through the store's Lua path (async, many in
 * flight on one connection, pipelined by the loop), beside redis-benchmark calling the same
 * reserve_commit script by EVALSHA on the same server as the baseline. Starts its own
 * redis-server with the harness. Reproduce: build/bench/bench-store [N [IN_FLIGHT]]
 * Last line: reservations_per_s=R baseline_per_s=B ratio=X */
#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "harness/harness.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
    struct store *s;
    struct loop *l;
    long total, sent, done, ok, failed;
    int last_rc;
    bool up;
};

static const struct store_ctx CTX = {.actor = "bench", .cause = "bench"};
static const struct store_line LINE = {"SKU1", "WH1/A/01", "", 1};

static void on_state(void *arg, bool up, int reason, const char *detail)
{
    struct run *r = arg;
    r->up = up;
    if (!up)
        fprintf(stderr, "bench-store: redis down: %s (%s)\n", detail, wcs_strerror(reason));
}

static void submit_next(struct run *r);

static void on_done(void *arg, const struct store_result *res)
{
    struct run *r = arg;
    r->done++;
    if (res->rc == 0)
        r->ok++;
    else {
        r->failed++;
        r->last_rc = res->rc;
    }
    if (r->done == r->total)
        loop_stop(r->l);
    else
        submit_next(r);
}

static void submit_next(struct run *r)
{
    char order[32];
    int rc;
    if (r->sent >= r->total)
        return;
    snprintf(order, sizeof(order), "B%ld", r->sent);
    rc = store_reserve_commit(r->s, &CTX, order, &LINE, 1, on_done, r);
    if (rc != 0) {
        fprintf(stderr, "bench-store: reserve_commit: %s\n", wcs_strerror(rc));
        exit(1);
    }
    r->sent++;
}

static void on_receive(void *arg, const struct store_result *res)
{
    struct run *r = arg;
    r->last_rc = res->rc;
    loop_stop(r->l);
}

/* The KPI counter of committed reservations, read with redis-cli (-1 on failure). */
static long long kpi_reservations(struct harness_redis *h)
{
    char cmd[512], line[128] = "";
    FILE *p;
    snprintf(cmd, sizeof(cmd),
             "redis-cli -h %s -p %d --user %s -a %s --no-auth-warning HGET 'wcs:{bench}:kpi' "
             "reservations",
             harness_redis_host(h), harness_redis_port(h), harness_redis_user(h),
             harness_redis_password(h));
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (!fgets(line, sizeof(line), p))
        line[0] = '\0';
    pclose(p);
    return line[0] >= '0' && line[0] <= '9' ? atoll(line) : -1;
}

/* Runs redis-benchmark with the same script call and returns its requests per second. */
static double baseline(struct harness_redis *h, long n)
{
    char cmd[2048], line[1024];
    const char *site = "bench";
    double rps = -1;
    FILE *p;
    /* __rand_int__ gives every call its own op id and order (as the store does); the quant and
     * the common arguments are those the store sends. -r must fit an int (redis-benchmark reads
     * it with atoi; 1e12 silently gives 0 and every call after the first is a replay). */
    snprintf(cmd, sizeof(cmd),
             "redis-benchmark -h %s -p %d --user %s -a %s -n %ld -P 16 -r 2000000000 -q "
             "EVALSHA %s 5 'wcs:{%s}:journal' 'wcs:{%s}:op:b__rand_int__' 'wcs:{%s}:kpi' "
             "'wcs:{%s}:order:b__rand_int__:resv' 'wcs:{%s}:quant:SKU1:WH1/A/01:' "
             "bench bench b__rand_int__ 1700000000000 100000 86400 b__rand_int__ 1 2>/dev/null",
             harness_redis_host(h), harness_redis_port(h), harness_redis_user(h),
             harness_redis_password(h), n, store_script_sha("reserve_commit"), site, site, site,
             site, site);
    printf("baseline: redis-benchmark -n %ld -P 16 -r 2000000000 -q EVALSHA <reserve_commit> "
           "5 <the same 5 keys> <the same 8 args>\n",
           n);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p)) {
        /* -q prints "\r"-separated progress, then "EVALSHA ...: 123.45 requests per second" */
        char *last = strrchr(line, '\r'), *hit;
        hit = strstr(last ? last : line, "requests per second");
        if (hit) {
            char *colon = strrchr(line, ':');
            if (colon && colon < hit)
                rps = strtod(colon + 1, NULL);
        }
    }
    pclose(p);
    return rps;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long in_flight = argc > 2 ? atol(argv[2]) : 256;
    char err[HARNESS_ERR_MAX];
    struct harness_redis *h;
    struct run r = {0};
    struct store_opts o = {0};
    struct store_line stock = LINE;
    uint64_t t0, t1;
    double rate, base;
    long long before, after;

    if (n <= 0 || in_flight <= 0) {
        fprintf(stderr, "usage: bench-store [N [IN_FLIGHT]]\n");
        return 2;
    }
    if (harness_redis_start(&h, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-store: %s\n", err);
        return 1;
    }
    if (loop_new(&r.l, clock_system()) != 0)
        return 1;
    o.host = harness_redis_host(h);
    o.port = harness_redis_port(h);
    o.user = harness_redis_user(h);
    o.password_file = harness_redis_password_file(h);
    o.site = "bench";
    o.on_state = on_state;
    o.state_arg = &r;
    o.command_timeout_ms = 5000;
    if (store_open(&r.s, r.l, &o) != 0)
        return 1;
    while (!r.up)
        loop_run_once(r.l, 100);

    /* Enough stock that no reservation of either run is refused. */
    stock.qty = 1000000000000;
    if (store_receive(r.s, &CTX, "R0", &stock, on_receive, &r) != 0 || loop_run(r.l) != 0 ||
        r.last_rc != 0) {
        fprintf(stderr, "bench-store: receive failed\n");
        return 1;
    }

    r.total = n;
    t0 = clock_real_mono_us();
    for (long i = 0; i < in_flight && i < n; i++)
        submit_next(&r);
    loop_run(r.l);
    t1 = clock_real_mono_us();
    rate = (double)r.done * 1e6 / (double)(t1 - t0);
    printf("store: %ld reserve_commit calls, %ld in flight, one connection: %ld ok, %ld failed "
           "(last %s), %.3f s\n",
           n, in_flight, r.ok, r.failed, r.failed ? wcs_strerror(r.last_rc) : "-",
           (double)(t1 - t0) / 1e6);

    before = kpi_reservations(h);
    base = baseline(h, n);
    after = kpi_reservations(h);
    /* Each baseline call must have done the work: a refused or replayed call is cheaper. */
    printf("baseline committed %lld for %ld calls (redis-benchmark may send a few more with -P; "
           "random-id collisions replay a few)\n",
           after - before, n);
    if (before < 0 || after - before < n - n / 100) {
        fprintf(stderr, "bench-store: the baseline calls did not commit\n");
        base = -1;
    }
    store_close(r.s);
    loop_free(r.l);
    harness_redis_free(h);
    if (base <= 0) {
        fprintf(stderr, "bench-store: redis-benchmark gave no figure\n");
        return 1;
    }
    printf("reservations_per_s=%.0f baseline_per_s=%.0f ratio=%.2f\n", rate, base, rate / base);
    return r.failed ? 1 : 0;
}
