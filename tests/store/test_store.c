/* Integration tests of the Redis store (wcs/store) against a real redis-server started by the
 * harness with an ACL user and a password file: connect + AUTH, a refused password, every
 * script's happy path and refusals (key dump unchanged), idempotent replays, NOSCRIPT fallback,
 * the journal and its trimming, the command timeout with a stopped server, a server restart
 * (reconnect, re-AUTH, scripts reloaded, held writes replayed in order, overflow counted), and
 * several processes reserving the same stock at once. Each test uses its own site (hash tag). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "harness/harness.h"
#include "rdump.h"
#include "store/hook.h"
#include "store/ops.h"
#include "store/packing.h"
#include "store/store.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct harness_redis *g_redis;

/* ---- helpers ---- */

struct res {
    bool done;
    int rc;
    bool dup;
    size_t n_short;
    struct store_short shorts[8];
    char msg[256];
    char value[256];
    int seq; /* completion order */
};

static int g_seq;

static void on_res(void *arg, const struct store_result *r)
{
    struct res *x = arg;
    x->done = true;
    x->rc = r->rc;
    x->dup = r->duplicate;
    x->n_short = r->n_short;
    for (size_t i = 0; i < r->n_short && i < 8; i++)
        x->shorts[i] = r->shorts[i];
    snprintf(x->msg, sizeof(x->msg), "%s", r->message ? r->message : "");
    snprintf(x->value, sizeof(x->value), "%s", r->value ? r->value : "");
    x->seq = ++g_seq;
}

struct states {
    int n_up, n_down;
    bool up;
    bool down; /* !up, once a state was reported: something run_until can wait for */
    int last_reason;
    char last_detail[256];
};

static void on_state(void *arg, bool up, int reason, const char *detail)
{
    struct states *st = arg;
    st->up = up;
    st->down = !up;
    if (up)
        st->n_up++;
    else
        st->n_down++;
    st->last_reason = reason;
    snprintf(st->last_detail, sizeof(st->last_detail), "%s", detail ? detail : "");
}

struct env {
    struct loop *l;
    struct store *s;
    struct states st;
    char site[32];
};

static bool run_until(struct loop *l, const bool *flag, int timeout_ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)timeout_ms * 1000u;
    while (!*flag && clock_real_mono_us() < end)
        loop_run_once(l, 5);
    return *flag;
}

static void env_open_opts(struct env *e, const char *site, struct store_opts *o)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->site, sizeof(e->site), "%s", site);
    assert_int_equal(loop_new(&e->l, clock_system()), 0);
    o->host = harness_redis_host(g_redis);
    o->port = harness_redis_port(g_redis);
    o->user = harness_redis_user(g_redis);
    if (!o->password_file)
        o->password_file = harness_redis_password_file(g_redis);
    o->site = e->site;
    o->on_state = on_state;
    o->state_arg = &e->st;
    if (!o->backoff_min_ms)
        o->backoff_min_ms = 20;
    if (!o->backoff_max_ms)
        o->backoff_max_ms = 200;
    o->jitter_seed = 42;
    assert_int_equal(store_open(&e->s, e->l, o), 0);
}

static void env_open(struct env *e, const char *site)
{
    struct store_opts o = {0};
    env_open_opts(e, site, &o);
    assert_true(run_until(e->l, &e->st.up, 5000));
}

static void env_close(struct env *e)
{
    store_close(e->s);
    loop_free(e->l);
}

/* Waits for one result and returns its rc. */
static int wait_res(struct env *e, struct res *r)
{
    if (!run_until(e->l, &r->done, 5000))
        fail_msg("no callback within 5 s");
    return r->rc;
}

static const struct store_ctx CTX = {.actor = "tester", .cause = "test"};

static redisContext *sync_ctx(void)
{
    redisContext *c = redisConnect(harness_redis_host(g_redis), harness_redis_port(g_redis));
    redisReply *r;
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    r = redisCommand(c, "AUTH %s %s", harness_redis_user(g_redis), harness_redis_password(g_redis));
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    return c;
}

static long long hget_ll(redisContext *c, const char *key, const char *field)
{
    redisReply *r = redisCommand(c, "HGET %s %s", key, field);
    long long v = -1;
    assert_non_null(r);
    if (r->type == REDIS_REPLY_STRING)
        v = atoll(r->str);
    freeReplyObject(r);
    return v;
}

/* Fails unless key holds the string want. */
static void get_is(redisContext *c, const char *key, const char *want)
{
    redisReply *r = redisCommand(c, "GET %s", key);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING || strcmp(r->str, want) != 0)
        fail_msg("%s holds %s, expected %s", key, r->type == REDIS_REPLY_STRING ? r->str : "nil",
                 want);
    freeReplyObject(r);
}

static long long cmd_ll(redisContext *c, const char *fmt, const char *a)
{
    redisReply *r = redisCommand(c, fmt, a);
    long long v;
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("'%s' answered type %d %s", fmt, r->type, r->str ? r->str : "");
    v = r->integer;
    freeReplyObject(r);
    return v;
}

/* Every key of a site: a canonical snapshot of names, types and contents (journal stream
 * included; tests/common/rdump.h). Returns a malloc'd buffer and its length. */
static char *dump_site(redisContext *c, const char *site, size_t *len_out)
{
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "wcs:{%s}:*", site);
    return rdump(c, pattern, NULL, NULL, len_out);
}

struct snap {
    char *buf;
    size_t len;
};

static struct snap snap_take(redisContext *c, const char *site)
{
    struct snap s;
    s.buf = dump_site(c, site, &s.len);
    return s;
}

static void snap_assert_same(redisContext *c, const char *site, struct snap *before,
                             const char *what)
{
    struct snap after = snap_take(c, site);
    if (rdump_diff(before->buf, before->len, after.buf, after.len) != 0)
        fail_msg("%s changed the keys of site %s (dump %zu -> %zu bytes)", what, site, before->len,
                 after.len);
    free(after.buf);
    free(before->buf);
}

static void quant_key(char *k, const char *site, const char *sku, const char *loc, const char *lot)
{
    assert_true(store_key_quant(k, STORE_KEY_MAX, site, sku, loc, lot) > 0);
}

/* Receives qty and waits for it to be applied. */
static void receive_now(struct env *e, const char *rcpt, const char *sku, const char *loc,
                        int64_t qty)
{
    struct res r = {0};
    struct store_line ln = {sku, loc, "", qty};
    assert_int_equal(store_receive(e->s, &CTX, rcpt, &ln, on_res, &r), 0);
    assert_int_equal(wait_res(e, &r), 0);
}

/* ---- tests ---- */

static void test_connect_auth(void **state)
{
    struct env e;
    struct store_stats st;
    (void)state;
    env_open(&e, "conn");
    assert_true(store_is_ready(e.s));
    assert_int_equal(e.st.n_up, 1);
    assert_int_equal(e.st.n_down, 0);
    store_get_stats(e.s, &st);
    assert_int_equal(st.connects, 1);
    /* AUTH + one SCRIPT LOAD per embedded script (7 stock scripts and those of ops.c, tote.c),
     * every one answered. */
    assert_int_equal(st.replies, st.commands);
    assert_true(st.replies >= 8);
    /* Every reply's round trip is in the histogram; the handshake pipelines its loads. */
    const struct hist *h = store_rtt(e.s);
    assert_int_equal(h->count, st.replies);
    assert_true(h->max_us > 0 && h->max_us < 10000000);
    assert_true(st.in_flight_max >= 2 && st.in_flight_max <= st.commands);
    env_close(&e);
}

static void test_wrong_password(void **state)
{
    char dir[] = "/tmp/wcs-store-pwXXXXXX", path[128];
    struct store_opts o = {0};
    struct env e;
    struct store_line ln = {"S", "L", "", 1};
    int fd;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/password", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not-the-password\n", 17), 17);
    close(fd);
    o.password_file = path;
    env_open_opts(&e, "pw", &o);
    run_until(e.l, &e.st.up, 500); /* never becomes true */
    assert_false(e.st.up);
    assert_int_equal(e.st.n_up, 0);
    assert_int_equal(e.st.n_down, 1); /* reported once, not per retry */
    assert_int_equal(e.st.last_reason, WCS_E_DENIED);
    if (!strstr(e.st.last_detail, "WRONGPASS"))
        fail_msg("detail: %s", e.st.last_detail);
    /* A decision fails at once, without a callback. */
    assert_int_equal(store_reserve_commit(e.s, &CTX, "O1", &ln, 1, on_res, NULL), WCS_E_LINK);
    env_close(&e);
    unlink(path);
    rmdir(dir);
}

static void test_scripts(void **state)
{
    struct env e;
    redisContext *c;
    char qa[STORE_KEY_MAX], qb[STORE_KEY_MAX];
    struct snap sn;
    struct res r;
    struct store_line a = {"SKU1", "WH1/A/01", "", 10};
    (void)state;
    env_open(&e, "scr");
    c = sync_ctx();
    quant_key(qa, "scr", "SKU1", "WH1/A/01", "");
    quant_key(qb, "scr", "SKU1", "WH1/B/01", "");

    /* receive creates the quant and its indexes */
    receive_now(&e, "R1", "SKU1", "WH1/A/01", 10);
    assert_int_equal(hget_ll(c, qa, "on_hand"), 10);
    assert_int_equal(hget_ll(c, qa, "reserved"), 0);
    assert_int_equal(cmd_ll(c, "SISMEMBER wcs:{scr}:loc:WH1/A/01:quants %s", qa), 1);
    assert_int_equal(cmd_ll(c, "SISMEMBER wcs:{scr}:sku:SKU1:quants %s", qa), 1);

    /* reserve 6 of 10 */
    memset(&r, 0, sizeof(r));
    a.qty = 6;
    assert_int_equal(store_reserve_commit(e.s, &CTX, "O1", &a, 1, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    assert_int_equal(hget_ll(c, qa, "reserved"), 6);
    assert_int_equal(hget_ll(c, "wcs:{scr}:order:O1:resv", qa), 6);

    /* refused: 5 asked, 4 available; two lines of one order on A plus a missing quant */
    {
        struct store_line two[3] = {
            {"SKU1", "WH1/A/01", "", 3}, {"SKU1", "WH1/A/01", "", 2}, {"SKU2", "WH1/A/01", "", 1}};
        sn = snap_take(c, "scr");
        memset(&r, 0, sizeof(r));
        assert_int_equal(store_reserve_commit(e.s, &CTX, "O2", two, 3, on_res, &r), 0);
        assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
        assert_int_equal(r.n_short, 2);
        assert_string_equal(r.shorts[0].quant.sku, "SKU1");
        assert_string_equal(r.shorts[0].quant.loc, "WH1/A/01");
        assert_int_equal(r.shorts[0].requested, 5);
        assert_int_equal(r.shorts[0].available, 4);
        assert_string_equal(r.shorts[1].quant.sku, "SKU2");
        assert_int_equal(r.shorts[1].available, 0);
        snap_assert_same(c, "scr", &sn, "a refused reserve_commit");
    }
    /* ... and with only the available part of the order it goes through, all of it */
    {
        struct store_line ok2[2] = {{"SKU1", "WH1/A/01", "", 3}, {"SKU1", "WH1/A/01", "", 1}};
        memset(&r, 0, sizeof(r));
        assert_int_equal(store_reserve_commit(e.s, &CTX, "O2", ok2, 2, on_res, &r), 0);
        assert_int_equal(wait_res(&e, &r), 0);
        assert_int_equal(hget_ll(c, qa, "reserved"), 10);
    }

    /* pick_confirm 4 of O1's 6 into tote T1 */
    memset(&r, 0, sizeof(r));
    a.qty = 4;
    assert_int_equal(store_pick_confirm(e.s, &CTX, "O1", &a, "T1", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    assert_int_equal(hget_ll(c, qa, "on_hand"), 6);
    assert_int_equal(hget_ll(c, qa, "reserved"), 6);
    assert_int_equal(hget_ll(c, "wcs:{scr}:tote:T1:contents", "SKU1:"), 4);
    assert_int_equal(hget_ll(c, "wcs:{scr}:order:O1:resv", qa), 2);

    /* refused: O1 holds 2, picks 3; and O2 picking into O1's tote */
    sn = snap_take(c, "scr");
    memset(&r, 0, sizeof(r));
    a.qty = 3;
    assert_int_equal(store_pick_confirm(e.s, &CTX, "O1", &a, "T1", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
    memset(&r, 0, sizeof(r));
    a.qty = 1;
    assert_int_equal(store_pick_confirm(e.s, &CTX, "O2", &a, "T1", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
    if (!strstr(r.msg, "belongs to order O1"))
        fail_msg("message: %s", r.msg);
    snap_assert_same(c, "scr", &sn, "refused pick_confirm");

    /* unreserve: qty 0 releases all O2 holds (4) */
    memset(&r, 0, sizeof(r));
    a.qty = 0;
    assert_int_equal(store_unreserve(e.s, &CTX, "O2", &a, 1, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    assert_int_equal(hget_ll(c, qa, "reserved"), 2);
    assert_int_equal(cmd_ll(c, "EXISTS %s", "wcs:{scr}:order:O2:resv"), 0);
    /* refused: O2 holds nothing now; O1 holds 2, releases 3 */
    sn = snap_take(c, "scr");
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_unreserve(e.s, &CTX, "O2", &a, 1, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
    memset(&r, 0, sizeof(r));
    a.qty = 3;
    assert_int_equal(store_unreserve(e.s, &CTX, "O1", &a, 1, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
    snap_assert_same(c, "scr", &sn, "refused unreserve");

    /* move 3 of the 4 unreserved to B; refused: 2 more (only 1 unreserved left), unknown quant */
    memset(&r, 0, sizeof(r));
    a.qty = 3;
    assert_int_equal(store_move(e.s, &CTX, &a, "WH1/B/01", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    assert_int_equal(hget_ll(c, qa, "on_hand"), 3);
    assert_int_equal(hget_ll(c, qb, "on_hand"), 3);
    assert_int_equal(hget_ll(c, qb, "reserved"), 0);
    sn = snap_take(c, "scr");
    memset(&r, 0, sizeof(r));
    a.qty = 2;
    assert_int_equal(store_move(e.s, &CTX, &a, "WH1/B/01", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
    {
        struct store_line none = {"SKU9", "WH1/A/01", "", 1};
        memset(&r, 0, sizeof(r));
        assert_int_equal(store_move(e.s, &CTX, &none, "WH1/B/01", on_res, &r), 0);
        assert_int_equal(wait_res(&e, &r), WCS_E_UNKNOWN);
    }
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_move(e.s, &CTX, &a, "WH1/A/01", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), -EINVAL); /* same quant: the script's EARG */
    snap_assert_same(c, "scr", &sn, "refused move");

    /* adjust: B down to zero is fine; refused below zero and below reserved */
    {
        struct store_line b = {"SKU1", "WH1/B/01", "", -3};
        memset(&r, 0, sizeof(r));
        assert_int_equal(store_adjust(e.s, &CTX, &b, "damaged", on_res, &r), 0);
        assert_int_equal(wait_res(&e, &r), 0);
        assert_int_equal(hget_ll(c, qb, "on_hand"), 0);
        sn = snap_take(c, "scr");
        b.qty = -1;
        memset(&r, 0, sizeof(r));
        assert_int_equal(store_adjust(e.s, &CTX, &b, "damaged", on_res, &r), 0);
        assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
        a.qty = -2; /* A: on_hand 3, reserved 2 */
        memset(&r, 0, sizeof(r));
        assert_int_equal(store_adjust(e.s, &CTX, &a, "count", on_res, &r), 0);
        assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
        snap_assert_same(c, "scr", &sn, "refused adjust");
        assert_int_equal(store_adjust(e.s, &CTX, &a, "", on_res, &r), -EINVAL);
    }

    /* ship T1 (4 units); refused: ship it again (empty), reuse the shipment id */
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_ship(e.s, &CTX, "SH1", "T1", "O1", "DHL", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    assert_int_equal(hget_ll(c, "wcs:{scr}:shipment:SH1", "units"), 4);
    assert_int_equal(cmd_ll(c, "EXISTS %s", "wcs:{scr}:tote:T1:contents"), 0);
    sn = snap_take(c, "scr");
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_ship(e.s, &CTX, "SH2", "T1", "O1", "DHL", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_ship(e.s, &CTX, "SH1", "T1", "O1", "DHL", on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_STATE);
    snap_assert_same(c, "scr", &sn, "refused ship");

    /* Arguments the client would never send are refused by the script itself. */
    {
        redisReply *rr;
        sn = snap_take(c, "scr");
        rr = redisCommand(c,
                          "EVALSHA %s 5 wcs:{scr}:journal wcs:{scr}:op:x1 wcs:{scr}:kpi "
                          "wcs:{scr}:order:O3:resv %s tester test x1 1 100 60 O3 -5",
                          store_script_sha("reserve_commit"), qa);
        assert_int_equal(rr->type, REDIS_REPLY_ERROR);
        if (strncmp(rr->str, "EARG quantity must be a positive integer", 40) != 0)
            fail_msg("reply: %s", rr->str);
        freeReplyObject(rr);
        rr = redisCommand(c,
                          "EVALSHA %s 5 wcs:{scr}:journal wcs:{scr}:op:x1 wcs:{scr}:kpi "
                          "wcs:{scr}:order:O3:resv %s tester test x1 1 100 60 O3 1e3",
                          store_script_sha("reserve_commit"), qa);
        assert_int_equal(rr->type, REDIS_REPLY_ERROR);
        freeReplyObject(rr);
        snap_assert_same(c, "scr", &sn, "bad script arguments");
    }

    /* Conservation: received 10 - shipped 4 - adjusted 3 = on hand 3 (A) + 0 (B). */
    assert_int_equal(hget_ll(c, "wcs:{scr}:kpi", "received_units"), 10);
    assert_int_equal(hget_ll(c, "wcs:{scr}:kpi", "shipped_units"), 4);
    assert_int_equal(hget_ll(c, "wcs:{scr}:kpi", "adjusted_units_out"), 3);
    assert_int_equal(hget_ll(c, qa, "on_hand") + hget_ll(c, qb, "on_hand"), 3);
    redisFree(c);
    env_close(&e);
}

static void test_idempotent_op_id(void **state)
{
    struct env e;
    redisContext *c;
    char q[STORE_KEY_MAX];
    struct store_ctx ctx = {.actor = "tester", .cause = "scan", .op_id = "scan-77"};
    struct store_line ln = {"S1", "WH1/A", "L1", 5};
    struct res r1 = {0}, r2 = {0};
    struct snap sn;
    (void)state;
    env_open(&e, "idem");
    c = sync_ctx();
    quant_key(q, "idem", "S1", "WH1/A", "L1");
    assert_int_equal(store_receive(e.s, &ctx, "R1", &ln, on_res, &r1), 0);
    assert_int_equal(wait_res(&e, &r1), 0);
    assert_false(r1.dup);
    sn = snap_take(c, "idem");
    assert_int_equal(store_receive(e.s, &ctx, "R1", &ln, on_res, &r2), 0);
    assert_int_equal(wait_res(&e, &r2), 0);
    assert_true(r2.dup);
    snap_assert_same(c, "idem", &sn, "a replayed op id");
    assert_int_equal(hget_ll(c, q, "on_hand"), 5);
    redisFree(c);
    env_close(&e);
}

static void test_noscript_fallback(void **state)
{
    struct env e;
    redisContext *c;
    redisReply *rr;
    struct store_stats st;
    struct res r = {0};
    struct store_line ln = {"S1", "WH1/A", "", 2};
    (void)state;
    env_open(&e, "nos");
    c = sync_ctx();
    receive_now(&e, "R1", "S1", "WH1/A", 5);
    rr = redisCommand(c, "SCRIPT FLUSH");
    assert_non_null(rr);
    if (rr->type != REDIS_REPLY_STATUS)
        fail_msg("SCRIPT FLUSH: %s", rr->str ? rr->str : "?");
    freeReplyObject(rr);
    assert_int_equal(store_reserve_commit(e.s, &CTX, "O1", &ln, 1, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    store_get_stats(e.s, &st);
    assert_int_equal(st.noscript_fallbacks, 1);
    assert_int_equal(hget_ll(c, "wcs:{nos}:quant:S1:WH1/A:", "reserved"), 2);
    /* EVAL put the script back in the cache: the next call needs no fallback. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_reserve_commit(e.s, &CTX, "O2", &ln, 1, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    store_get_stats(e.s, &st);
    assert_int_equal(st.noscript_fallbacks, 1);
    redisFree(c);
    env_close(&e);
}

static void test_journal(void **state)
{
    struct env e;
    struct store_opts o = {.journal_maxlen = 10};
    redisContext *c;
    redisReply *rr;
    struct res r = {0};
    struct store_ctx ctx = {.actor = "op7", .cause = "putaway", .ts_ms = 1700000000123};
    struct store_line ln = {"S1", "WH1/A", "", 1};
    long long xlen;
    (void)state;
    env_open_opts(&e, "jrn", &o);
    assert_true(run_until(e.l, &e.st.up, 5000));
    c = sync_ctx();
    assert_int_equal(store_receive(e.s, &ctx, "R1", &ln, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    rr = redisCommand(c, "XRANGE wcs:{jrn}:journal - +");
    assert_int_equal(rr->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rr->elements, 1);
    {
        redisReply *f = rr->element[0]->element[1];
        char flat[1024] = "";
        for (size_t i = 0; i < f->elements; i++) {
            strncat(flat, f->element[i]->str, sizeof(flat) - strlen(flat) - 2);
            strcat(flat, "|");
        }
        if (!strstr(flat, "ts|1700000000123|actor|op7|cause|putaway|op|receive|") ||
            !strstr(flat, "subject|R1|") || !strstr(flat, "\"on_hand\":0") ||
            !strstr(flat, "\"on_hand\":1"))
            fail_msg("journal entry: %s", flat);
    }
    freeReplyObject(rr);
    /* 300 more changes with MAXLEN ~ 10: trimmed by whole stream nodes (100 entries each). */
    for (int i = 0; i < 300; i++)
        assert_int_equal(store_receive(e.s, &ctx, "R2", &ln, NULL, NULL), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_receive(e.s, &ctx, "R3", &ln, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    xlen = cmd_ll(c, "XLEN %s", "wcs:{jrn}:journal");
    if (xlen < 10 || xlen > 110)
        fail_msg("journal length %lld after 302 entries with MAXLEN ~ 10", xlen);
    assert_int_equal(hget_ll(c, "wcs:{jrn}:quant:S1:WH1/A:", "on_hand"), 302);
    redisFree(c);
    env_close(&e);
}

/* The last journal entry's field (e.g. "before"), copied into out. */
static void last_entry_field(redisContext *c, const char *stream, const char *field, char *out,
                             size_t cap)
{
    redisReply *rr = redisCommand(c, "XREVRANGE %s + - COUNT 1", stream);
    out[0] = '\0';
    assert_non_null(rr);
    assert_int_equal(rr->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rr->elements, 1);
    redisReply *f = rr->element[0]->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (strcmp(f->element[i]->str, field) == 0)
            snprintf(out, cap, "%s", f->element[i + 1]->str);
    freeReplyObject(rr);
}

static void pack_step_now(struct env *e, const char *op, const struct store_field *sf, size_t n)
{
    struct res r = {0};
    assert_int_equal(packing_step(e->s, &CTX, "PS1", op, NULL, sf, n, NULL, 0, NULL, 0, on_res, &r),
                     0);
    assert_int_equal(wait_res(e, &r), 0);
}

/* pack_step gets the whole session each time; it writes and journals only what changed (a
 * verified unit journals its line, not the session). */
static void test_pack_step_changes(void **state)
{
    struct env e;
    char before[512], after[512];
    const char *stream = "wcs:{pks}:journal", *station = "wcs:{pks}:station:PS1";
    struct store_field sf[] = {
        {"state", "EXECUTE"}, {"step", "verify"}, {"lines", "[{\"sku\":\"S1\",\"verified\":0}]"}};
    (void)state;
    env_open(&e, "pks");
    redisContext *c = sync_ctx();
    pack_step_now(&e, "pack_open", sf, 3);
    last_entry_field(c, stream, "before", before, sizeof(before));
    last_entry_field(c, stream, "after", after, sizeof(after));
    if (!strstr(before, "\"state\":null") || !strstr(before, "\"step\":null") ||
        !strstr(after, "\"step\":\"verify\"") || !strstr(after, "\"lines\":"))
        fail_msg("first step journal: before %s after %s", before, after);
    /* One field changes: only it is journaled; the others stay as they were. */
    sf[2].value = "[{\"sku\":\"S1\",\"verified\":1}]";
    pack_step_now(&e, "pack_verify", sf, 3);
    last_entry_field(c, stream, "before", before, sizeof(before));
    last_entry_field(c, stream, "after", after, sizeof(after));
    assert_string_equal(before, "{\"lines\":\"[{\\\"sku\\\":\\\"S1\\\",\\\"verified\\\":0}]\"}");
    assert_string_equal(after, "{\"lines\":\"[{\\\"sku\\\":\\\"S1\\\",\\\"verified\\\":1}]\"}");
    /* Nothing changes: the step is journaled with empty objects, the station is untouched. */
    pack_step_now(&e, "pack_wrong_item", sf, 3);
    last_entry_field(c, stream, "before", before, sizeof(before));
    last_entry_field(c, stream, "after", after, sizeof(after));
    assert_string_equal(before, "{}");
    assert_string_equal(after, "{}");
    assert_int_equal(cmd_ll(c, "XLEN %s", stream), 3);
    redisReply *rr = redisCommand(c, "HGETALL %s", station);
    assert_non_null(rr);
    assert_int_equal(rr->elements, 6);
    freeReplyObject(rr);
    rr = redisCommand(c, "HGET %s lines", station);
    assert_string_equal(rr->str, sf[2].value);
    freeReplyObject(rr);
    redisFree(c);
    env_close(&e);
}

struct hread {
    bool done;
    int rc;
    size_t n;
    char v[12][64];
};

static void on_hread(void *arg, const struct store_result *r)
{
    struct hread *h = arg;
    h->done = true;
    h->rc = r->rc;
    h->n = r->n_values;
    for (size_t i = 0; i < r->n_values && i < 12; i++)
        snprintf(h->v[i], sizeof(h->v[i]), "%s", r->values[i]);
}

/* store_hash_read answers as wave_read's 'hash' mode: the values in order, "" for an absent
 * field or hash, the server's error for a key of another type. */
static void test_hash_read(void **state)
{
    struct env e;
    struct hread h = {0};
    const char *f[] = {"a", "missing", "b"};
    (void)state;
    env_open(&e, "hrd");
    redisContext *c = sync_ctx();
    freeReplyObject(redisCommand(c, "HSET wcs:{hrd}:task:T1 a 1 b two"));
    freeReplyObject(redisCommand(c, "SET wcs:{hrd}:str x"));
    assert_int_equal(store_hash_read(e.s, "wcs:{hrd}:task:T1", f, 3, on_hread, &h), 0);
    assert_true(run_until(e.l, &h.done, 5000));
    assert_int_equal(h.rc, 0);
    assert_int_equal(h.n, 3);
    assert_string_equal(h.v[0], "1");
    assert_string_equal(h.v[1], "");
    assert_string_equal(h.v[2], "two");
    h = (struct hread){0};
    assert_int_equal(store_hash_read(e.s, "wcs:{hrd}:task:T2", f, 1, on_hread, &h), 0);
    assert_true(run_until(e.l, &h.done, 5000));
    assert_int_equal(h.rc, 0);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0], "");
    h = (struct hread){0};
    assert_int_equal(store_hash_read(e.s, "wcs:{hrd}:str", f, 1, on_hread, &h), 0);
    assert_true(run_until(e.l, &h.done, 5000));
    assert_int_not_equal(h.rc, 0);
    assert_int_equal(store_hash_read(e.s, "wcs:{hrd}:str", f, 0, on_hread, &h), -EINVAL);
    redisFree(c);
    env_close(&e);
}

/* ops_journal_read pages the journal with a plain XRANGE: 5 values per entry (id, op, subject,
 * before, after; "" for a field an entry lacks, whatever other fields it has), the next page
 * after the last id read (exclusive), none after the last; bad arguments refused, a journal key
 * of another type answered with the server's error. */
static void jpage(struct env *e, const char *after, uint32_t count, struct hread *j)
{
    *j = (struct hread){0};
    assert_int_equal(ops_journal_read(e->s, &CTX, after, count, on_hread, j), 0);
    assert_true(run_until(e->l, &j->done, 5000));
}

static void test_journal_pages(void **state)
{
    struct env e;
    struct hread j;
    char id2[64];
    (void)state;
    env_open(&e, "jrp");
    redisContext *c = sync_ctx();
    freeReplyObject(redisCommand(c, "XADD wcs:{jrp}:journal 1-1 ts 5 op pick subject T1 "
                                    "before {\"tote\":0} after {\"tote\":1}"));
    freeReplyObject(redisCommand(c, "XADD wcs:{jrp}:journal 1-2 op note extra x"));
    freeReplyObject(
        redisCommand(c, "XADD wcs:{jrp}:journal 2-0 after {} before [] subject S op ship"));
    jpage(&e, "", 2, &j);
    assert_int_equal(j.rc, 0);
    assert_int_equal(j.n, 10);
    const char *want[] = {"1-1", "pick", "T1", "{\"tote\":0}", "{\"tote\":1}", "1-2", "note",
                          "",    "",     ""};
    for (size_t i = 0; i < 10; i++)
        assert_string_equal(j.v[i], want[i]);
    snprintf(id2, sizeof(id2), "%s", j.v[5]);
    jpage(&e, id2, 2, &j);
    assert_int_equal(j.rc, 0);
    assert_int_equal(j.n, 5);
    assert_string_equal(j.v[0], "2-0");
    assert_string_equal(j.v[1], "ship");
    assert_string_equal(j.v[2], "S");
    assert_string_equal(j.v[3], "[]");
    assert_string_equal(j.v[4], "{}");
    jpage(&e, "2-0", 100, &j);
    assert_int_equal(j.rc, 0);
    assert_int_equal(j.n, 0);
    assert_int_equal(ops_journal_read(e.s, &CTX, "x", 2, on_hread, &j), -EINVAL);
    assert_int_equal(ops_journal_read(e.s, &CTX, "", 0, on_hread, &j), -EINVAL);
    assert_int_equal(ops_journal_read(e.s, &CTX, "", OPS_JOURNAL_READ_MAX + 1, on_hread, &j),
                     -EINVAL);
    redisFree(c);
    env_close(&e);
    env_open(&e, "jrs");
    c = sync_ctx();
    freeReplyObject(redisCommand(c, "SET wcs:{jrs}:journal x"));
    jpage(&e, "", 2, &j);
    assert_int_not_equal(j.rc, 0);
    redisFree(c);
    env_close(&e);
}

/* wave_read 'zfirst' (the next batch a claim takes): the first member, or with a retry count k
 * the member at rank k modulo the set's size, so claims that lost a race spread over the set;
 * a bad rank is refused. */
static void zfirst(struct env *e, const char *rank, struct hread *h)
{
    const char *k[] = {"wcs:{zf}:batches:released"};
    const char *a[] = {"zfirst", rank};
    *h = (struct hread){0};
    assert_int_equal(
        store_script_run(e->s, &CTX, "wave_read", false, k, 1, a, rank ? 2 : 1, on_hread, h), 0);
    assert_true(run_until(e->l, &h->done, 5000));
}

static void test_zfirst_rank(void **state)
{
    struct env e;
    struct hread h;
    (void)state;
    env_open(&e, "zf");
    zfirst(&e, NULL, &h);
    assert_int_equal(h.rc, 0);
    assert_string_equal(h.v[0], ""); /* empty */
    zfirst(&e, "3", &h);
    assert_int_equal(h.rc, 0);
    assert_string_equal(h.v[0], "");
    redisContext *c = sync_ctx();
    freeReplyObject(redisCommand(c, "ZADD wcs:{zf}:batches:released 1 B1 2 B2 3 B3"));
    zfirst(&e, NULL, &h);
    assert_string_equal(h.v[0], "B1");
    zfirst(&e, "0", &h);
    assert_string_equal(h.v[0], "B1");
    zfirst(&e, "1", &h);
    assert_string_equal(h.v[0], "B2");
    zfirst(&e, "5", &h);
    assert_string_equal(h.v[0], "B3");
    zfirst(&e, "6", &h);
    assert_string_equal(h.v[0], "B1");
    zfirst(&e, "-1", &h);
    assert_int_not_equal(h.rc, 0);
    zfirst(&e, "x", &h);
    assert_int_not_equal(h.rc, 0);
    redisFree(c);
    env_close(&e);
}

/* Microseconds this thread has spent runnable but waiting for a CPU (the second field of
 * /proc/thread-self/schedstat); 0 when the kernel does not report it. On a busy machine a
 * thread that never blocks still loses the CPU for a while: that time is not the store's. */
static uint64_t runq_wait_us(void)
{
    unsigned long long run_ns, wait_ns;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    int n = f ? fscanf(f, "%llu %llu", &run_ns, &wait_ns) : 0;
    if (f)
        fclose(f);
    return n == 2 ? (uint64_t)(wait_ns / 1000u) : 0;
}

/* Measures the longest time between two 5 ms ticks of the loop, less the time the thread was
 * waiting for a CPU in between (raw_max_gap_us keeps the uncorrected figure for the message). */
struct ticker {
    uint64_t last_us, last_runq_us, max_gap_us, raw_max_gap_us;
    bool on;
};

static void on_tick(struct loop *l, uint64_t id, void *arg)
{
    struct ticker *t = arg;
    uint64_t now = clock_real_mono_us(), runq = runq_wait_us();
    (void)id;
    if (t->last_us) {
        uint64_t gap = now - t->last_us, waited = runq - t->last_runq_us;
        uint64_t own = gap > waited ? gap - waited : 0;
        if (own > t->max_gap_us)
            t->max_gap_us = own;
        if (gap > t->raw_max_gap_us)
            t->raw_max_gap_us = gap;
    }
    t->last_us = now;
    t->last_runq_us = runq;
    if (t->on)
        loop_add_timer(l, 5000, on_tick, t, NULL);
}

static void test_timeout(void **state)
{
    struct env e;
    struct store_opts o = {.command_timeout_ms = 300};
    struct res r = {0};
    struct res w = {0};
    struct ticker t = {.on = true};
    struct store_line ln = {"S1", "WH1/A", "", 7};
    pid_t pid = harness_redis_pid(g_redis);
    uint64_t t0, took_us, raw_took_us, runq0_us;
    redisContext *c;
    (void)state;
    env_open_opts(&e, "tmo", &o);
    assert_true(run_until(e.l, &e.st.up, 5000));
    loop_add_timer(e.l, 5000, on_tick, &t, NULL);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    t0 = clock_real_mono_us();
    runq0_us = runq_wait_us();
    assert_int_equal(store_request_claim(e.s, "op1", "rq1", "~t.1", 60, on_res, &r), 0);
    /* A write in flight when the link drops is held and sent again after the reconnect; the
     * stopped server may also run the first copy when it resumes: applied once either way. */
    assert_int_equal(store_receive(e.s, &CTX, "R1", &ln, on_res, &w), 0);
    run_until(e.l, &r.done, 3000);
    {
        /* As for the ticker: time spent waiting for a CPU is taken out (for the upper bound). */
        uint64_t waited = runq_wait_us() - runq0_us;
        raw_took_us = clock_real_mono_us() - t0;
        took_us = raw_took_us > waited ? raw_took_us - waited : 0;
    }
    /* keep the loop running a little while reconnect attempts time out too */
    {
        bool never = false;
        run_until(e.l, &never, 700);
    }
    kill(pid, SIGCONT);
    t.on = false;
    assert_true(r.done);
    assert_int_equal(r.rc, -ETIMEDOUT);
    /* The timeout fires neither early (in real time) nor a whole timeout late (in time the
     * thread could have run). The loop is never blocked for half the command timeout, so a
     * command, connect or AUTH that waits on the stopped server (300 ms, or forever) fails
     * this, while the 5 ms ticks leave room for ASan's slower code. */
    if (raw_took_us < 290000 || took_us > 600000)
        fail_msg("timed out after %llu us (%llu us less the time waiting for a CPU), timeout "
                 "300 ms",
                 (unsigned long long)raw_took_us, (unsigned long long)took_us);
    if (t.max_gap_us > 150000)
        fail_msg("the loop was blocked %llu us (%llu us with the time waiting for a CPU)",
                 (unsigned long long)t.max_gap_us, (unsigned long long)t.raw_max_gap_us);
    assert_true(e.st.n_down >= 1);
    assert_int_equal(e.st.n_up, 1);
    /* The server resumes: the store reconnects on its own and works again. */
    assert_true(run_until(e.l, &e.st.up, 5000));
    assert_int_equal(e.st.n_up, 2);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_claim(e.s, "op1", "rq2", "~t.1", 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    assert_true(w.done);
    assert_int_equal(w.rc, 0);
    c = sync_ctx();
    assert_int_equal(hget_ll(c, "wcs:{tmo}:quant:S1:WH1/A:", "on_hand"), 7);
    assert_int_equal(cmd_ll(c, "XLEN %s", "wcs:{tmo}:journal"), 1);
    redisFree(c);
    {
        struct store_stats st;
        store_get_stats(e.s, &st);
        assert_true(st.timeouts >= 1);
        assert_true(st.replayed >= 1); /* the receive went out again */
    }
    env_close(&e);
}

static void test_request_claim(void **state)
{
    struct env e;
    struct res r = {0};
    (void)state;
    env_open(&e, "req");
    assert_int_equal(store_request_claim(e.s, "alice", "r-1", "~t.1", 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    /* a second claim sees the first one's token while no reply is stored */
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_claim(e.s, "alice", "r-1", "~t.2", 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_DUPLICATE);
    assert_string_equal(r.value, "~t.1");
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_reply(e.s, "alice", "r-1", "{\"ok\":true}", 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_claim(e.s, "alice", "r-1", "~t.1", 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_DUPLICATE);
    assert_string_equal(r.value, "{\"ok\":true}");
    /* another user's id of the same text is its own request */
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_claim(e.s, "bob", "r-1", "~t.1", 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    assert_int_equal(store_request_claim(e.s, "al:ice", "r-1", "~t.1", 60, on_res, &r), -EINVAL);
    /* a token is "~" and 1..47 of [A-Za-z0-9._-]: never empty, never JSON */
    const char *bad[] = {NULL,
                         "",
                         "~",
                         "t.1",
                         "{\"ok\":true}",
                         "~a b",
                         "~012345678901234567890123456789012345678901234567"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(store_request_claim(e.s, "carol", "r-1", bad[i], 60, on_res, &r), -EINVAL);
    assert_true(store_claim_token_ok("~0123456789012345678901234567890123456789012345a"));
    env_close(&e);
}

/* A command answered without running because its claim's answer was lost may leave its claim
 * behind: request_settle puts the command's reply in the claim's place, only while that claim
 * is there (another call's claim, a stored reply, no key: refused and unchanged). */
static void test_request_settle(void **state)
{
    struct env e;
    struct res r = {0};
    redisContext *c;
    const struct store_claim mine = {"alice", "s-1", "~me.1"}, other = {"alice", "s-1", "~you.1"};
    const struct store_claim none = {"alice", "s-2", "~me.2"};
    struct store_ctx ctx = {.actor = "alice", .cause = "settle", .claim = &other};
    const char *reply = "{\"error\":\"store unavailable (x): not executed\",\"ok\":false}";
    (void)state;
    env_open(&e, "stl");
    c = sync_ctx();
    assert_int_equal(store_request_claim(e.s, "alice", "s-1", "~me.1", 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    /* another call's token: refused, the claim stays */
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_settle(e.s, &ctx, reply, 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_DUPLICATE);
    get_is(c, "wcs:{stl}:req:alice:s-1", "~me.1");
    /* its own: the reply replaces it, with the TTL given */
    ctx.claim = &mine;
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_settle(e.s, &ctx, reply, 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    get_is(c, "wcs:{stl}:req:alice:s-1", reply);
    assert_true(cmd_ll(c, "TTL %s", "wcs:{stl}:req:alice:s-1") > 50);
    /* a stored reply is never replaced, nor is an absent claim created */
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_settle(e.s, &ctx, "{\"ok\":true}", 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_DUPLICATE);
    ctx.claim = &none;
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_request_settle(e.s, &ctx, reply, 60, on_res, &r), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_DUPLICATE);
    assert_int_equal(cmd_ll(c, "EXISTS %s", "wcs:{stl}:req:alice:s-2"), 0);
    /* bad input is refused before anything is sent */
    assert_int_equal(store_request_settle(e.s, &ctx, "not json", 60, on_res, &r), -EINVAL);
    assert_int_equal(store_request_settle(e.s, &ctx, reply, 0, on_res, &r), -EINVAL);
    ctx.claim = NULL;
    assert_int_equal(store_request_settle(e.s, &ctx, reply, 60, on_res, &r), -EINVAL);
    get_is(c, "wcs:{stl}:req:alice:s-1", reply);
    redisFree(c);
    env_close(&e);
}

/* A script run under a claim (struct store_claim) runs only while the request key holds that
 * claim's token: sent behind a claim that lost, or after the reply replaced the token, it is
 * refused WCS_E_DUPLICATE and changes nothing; the key and token it carries are invisible to
 * the script itself. */
static void test_claim_guard(void **state)
{
    struct env e;
    struct res r = {0};
    redisContext *c;
    char qa[STORE_KEY_MAX];
    struct store_line ln = {"SKU1", "WH1/A/01", "", 4};
    const struct store_claim mine = {"alice", "r-9", "~me.1"}, other = {"alice", "r-9", "~you.1"};
    const struct store_claim none = {"alice", "r-10", "~me.2"};
    struct store_ctx ctx = {.actor = "alice", .cause = "guard"};
    (void)state;
    env_open(&e, "grd");
    c = sync_ctx();
    quant_key(qa, "grd", "SKU1", "WH1/A/01", "");
    /* the claim and a guarded script in one round trip: the claim is decided first */
    assert_int_equal(store_request_claim(e.s, "alice", "r-9", "~me.1", 60, on_res, &r), 0);
    ctx.claim = &mine;
    struct res w = {0};
    assert_int_equal(store_receive(e.s, &ctx, "R1", &ln, on_res, &w), 0);
    assert_int_equal(wait_res(&e, &r), 0);
    assert_int_equal(wait_res(&e, &w), 0);
    assert_int_equal(hget_ll(c, qa, "on_hand"), 4);
    /* a repeat's claim loses; its script, sent behind it, is refused and writes nothing */
    long long xlen = cmd_ll(c, "XLEN %s", "wcs:{grd}:journal");
    memset(&r, 0, sizeof(r));
    memset(&w, 0, sizeof(w));
    assert_int_equal(store_request_claim(e.s, "alice", "r-9", "~you.1", 60, on_res, &r), 0);
    ctx.claim = &other;
    assert_int_equal(store_receive(e.s, &ctx, "R2", &ln, on_res, &w), 0);
    assert_int_equal(wait_res(&e, &r), WCS_E_DUPLICATE);
    assert_string_equal(r.value, "~me.1");
    assert_int_equal(wait_res(&e, &w), WCS_E_DUPLICATE);
    assert_int_equal(hget_ll(c, qa, "on_hand"), 4);
    assert_int_equal(cmd_ll(c, "XLEN %s", "wcs:{grd}:journal"), xlen);
    /* an unclaimed request id guards nothing through: refused */
    memset(&w, 0, sizeof(w));
    ctx.claim = &none;
    assert_int_equal(store_receive(e.s, &ctx, "R3", &ln, on_res, &w), 0);
    assert_int_equal(wait_res(&e, &w), WCS_E_DUPLICATE);
    /* once the reply replaced the token the claim's own guard no longer passes */
    memset(&w, 0, sizeof(w));
    assert_int_equal(store_request_reply(e.s, "alice", "r-9", "{\"ok\":true}", 60, NULL, NULL), 0);
    ctx.claim = &mine;
    assert_int_equal(store_receive(e.s, &ctx, "R4", &ln, on_res, &w), 0);
    assert_int_equal(wait_res(&e, &w), WCS_E_DUPLICATE);
    assert_int_equal(hget_ll(c, qa, "on_hand"), 4);
    /* a bad token is refused before anything is sent */
    const struct store_claim bad = {"alice", "r-9", "me"};
    ctx.claim = &bad;
    assert_int_equal(store_receive(e.s, &ctx, "R5", &ln, on_res, &w), -EINVAL);
    redisFree(c);
    env_close(&e);
}

static void test_restart_replay(void **state)
{
    struct env e;
    struct store_opts o = {.queue_cap = 5};
    struct res r[6];
    struct store_stats st;
    char err[HARNESS_ERR_MAX];
    redisContext *c;
    redisReply *rr;
    struct store_line ln = {"S1", "WH1/A", "", 1};
    (void)state;
    memset(r, 0, sizeof(r));
    env_open_opts(&e, "rst", &o);
    assert_true(run_until(e.l, &e.st.up, 5000));
    assert_int_equal(harness_redis_stop(g_redis), 0);
    /* The store notices (the server closed the link); how soon depends on the machine's load. */
    assert_true(run_until(e.l, &e.st.down, 5000));
    assert_false(e.st.up);
    assert_true(e.st.n_down >= 1); /* reset, then refused while it stays down */
    /* Held while down, in order; the sixth overflows; a decision fails at once. */
    for (int i = 0; i < 5; i++) {
        char rcpt[16];
        snprintf(rcpt, sizeof(rcpt), "R%d", i);
        ln.qty = i + 1;
        assert_int_equal(store_receive(e.s, &CTX, rcpt, &ln, on_res, &r[i]), 0);
    }
    assert_int_equal(store_receive(e.s, &CTX, "R5", &ln, on_res, &r[5]), WCS_E_FULL);
    assert_int_equal(store_reserve_commit(e.s, &CTX, "O1", &ln, 1, on_res, &r[5]), WCS_E_LINK);
    store_get_stats(e.s, &st);
    assert_int_equal(st.queue_len, 5);
    assert_int_equal(st.overflow, 1);
    assert_int_equal(st.refused_link, 1);

    if (harness_redis_restart(g_redis, err, sizeof(err)) != 0)
        fail_msg("restart: %s", err);
    assert_true(run_until(e.l, &e.st.up, 8000));
    assert_true(run_until(e.l, &r[4].done, 3000));
    for (int i = 0; i < 5; i++) {
        assert_true(r[i].done);
        assert_int_equal(r[i].rc, 0);
        if (i > 0)
            assert_true(r[i].seq > r[i - 1].seq);
    }
    assert_false(r[5].done);
    store_get_stats(e.s, &st);
    assert_int_equal(st.replayed, 5);
    assert_int_equal(st.queue_len, 0);
    assert_int_equal(st.connects, 2);
    /* Scripts were loaded again on reconnect: no NOSCRIPT fallback was needed. */
    assert_int_equal(st.noscript_fallbacks, 0);
    /* Applied in the order made: the journal holds R0..R4 in sequence. */
    c = sync_ctx();
    rr = redisCommand(c, "XRANGE wcs:{rst}:journal - +");
    assert_int_equal(rr->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rr->elements, 5);
    for (size_t i = 0; i < 5; i++) {
        redisReply *f = rr->element[i]->element[1];
        char want[8];
        snprintf(want, sizeof(want), "R%zu", i);
        for (size_t j = 0; j + 1 < f->elements; j += 2)
            if (strcmp(f->element[j]->str, "subject") == 0)
                assert_string_equal(f->element[j + 1]->str, want);
    }
    freeReplyObject(rr);
    assert_int_equal(hget_ll(c, "wcs:{rst}:quant:S1:WH1/A:", "on_hand"), 15);
    redisFree(c);
    env_close(&e);
}

/* Several processes reserve against the same three quants at once. */
#define N_PROC   4
#define N_ORDERS 60

struct child_tally {
    long long reserved[3];
    int ok, refused, errors;
};

static void child_run(int idx, int wfd)
{
    struct env e;
    struct child_tally t = {0};
    struct res r[N_ORDERS];
    struct store_line lines[N_ORDERS][3];
    size_t nlines[N_ORDERS];
    static const char *locs[3] = {"WH1/A", "WH1/B", "WH1/C"};
    unsigned seed = 1234u + (unsigned)idx;
    struct store_opts o = {0};
    memset(r, 0, sizeof(r));
    env_open_opts(&e, "conc", &o);
    if (!run_until(e.l, &e.st.up, 5000))
        _exit(3);
    /* All orders in flight at once, pipelined on one connection per process. */
    for (int i = 0; i < N_ORDERS; i++) {
        char oid[32];
        nlines[i] = 1 + (size_t)(rand_r(&seed) % 3);
        for (size_t j = 0; j < nlines[i]; j++)
            lines[i][j] =
                (struct store_line){"SKU", locs[((size_t)i + j) % 3], "", 1 + rand_r(&seed) % 5};
        snprintf(oid, sizeof(oid), "P%d-O%d", idx, i);
        if (store_reserve_commit(e.s, &CTX, oid, lines[i], nlines[i], on_res, &r[i]) != 0)
            _exit(4);
    }
    for (int i = 0; i < N_ORDERS; i++) {
        if (!run_until(e.l, &r[i].done, 10000))
            _exit(5);
        if (r[i].rc == 0) {
            t.ok++;
            for (size_t j = 0; j < nlines[i]; j++)
                t.reserved[((size_t)i + j) % 3] += lines[i][j].qty;
        } else if (r[i].rc == WCS_E_STATE) {
            t.refused++;
        } else {
            t.errors++;
        }
    }
    if (write(wfd, &t, sizeof(t)) != (ssize_t)sizeof(t))
        _exit(7);
    env_close(&e);
    _exit(0);
}

static void test_concurrent_writers(void **state)
{
    struct env e;
    redisContext *c;
    int fds[2];
    pid_t pids[N_PROC];
    long long sum[3] = {0};
    int ok = 0, refused = 0;
    static const char *locs[3] = {"WH1/A", "WH1/B", "WH1/C"};
    (void)state;
    env_open(&e, "conc");
    for (int i = 0; i < 3; i++)
        receive_now(&e, "R0", "SKU", locs[i], 100);
    env_close(&e);
    assert_int_equal(pipe(fds), 0);
    for (int i = 0; i < N_PROC; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(fds[0]);
            child_run(i, fds[1]);
        }
    }
    close(fds[1]);
    for (int i = 0; i < N_PROC; i++) {
        struct child_tally t;
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("child %d failed: status 0x%x", i, status);
        assert_int_equal(read(fds[0], &t, sizeof(t)), (ssize_t)sizeof(t));
        assert_int_equal(t.errors, 0);
        for (int q = 0; q < 3; q++)
            sum[q] += t.reserved[q];
        ok += t.ok;
        refused += t.refused;
    }
    close(fds[0]);
    /* Demand (about 4 x 60 x 2 x 3 units) far exceeds 3 x 100: both outcomes happened. */
    assert_true(ok > 0);
    assert_true(refused > 0);
    c = sync_ctx();
    for (int q = 0; q < 3; q++) {
        char k[STORE_KEY_MAX];
        long long on_hand, reserved;
        quant_key(k, "conc", "SKU", locs[q], "");
        on_hand = hget_ll(c, k, "on_hand");
        reserved = hget_ll(c, k, "reserved");
        if (reserved > on_hand || reserved != sum[q])
            fail_msg("quant %s: on_hand %lld reserved %lld, committed by the writers %lld", k,
                     on_hand, reserved, sum[q]);
    }
    redisFree(c);
}

static int setup(void **state)
{
    char err[HARNESS_ERR_MAX];
    (void)state;
    if (harness_redis_start(&g_redis, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness_redis_start: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_redis_free(g_redis);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_auth),      cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_scripts),           cmocka_unit_test(test_idempotent_op_id),
        cmocka_unit_test(test_noscript_fallback), cmocka_unit_test(test_journal),
        cmocka_unit_test(test_request_claim),     cmocka_unit_test(test_claim_guard),
        cmocka_unit_test(test_timeout),           cmocka_unit_test(test_request_settle),
        cmocka_unit_test(test_restart_replay),    cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_pack_step_changes), cmocka_unit_test(test_hash_read),
        cmocka_unit_test(test_zfirst_rank),       cmocka_unit_test(test_journal_pages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
