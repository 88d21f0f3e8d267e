/* Integration tests of replenishment (wcs/command/replen.c, wcs/store/replen_ops.c and its
 * scripts) through a real mosquitto (harness ACL) and redis-server: a wave release that leaves a
 * pick face below its min opens an RPL task from the reserve (the planner's replenish stage:
 * max - level rounded down to the multiple), the task reserves its source; a second release
 * does not open another while one is open; replen.claim makes the face busy and a pick there
 * waits (refused, nothing changed, no pick error); replen.confirm refuses wrong scans with
 * nothing changed, then moves the units (journaled as 'replenish') and closes the task; the
 * pick then goes through and the refilled face opens nothing new. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdfix.h"
#include "../../wcs/command/replen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE      "t3"
#define P         "wcs/v1/t3/"
#define MAX_BYTES 8192
#define K(x)      "wcs:{" SITE "}:" x

static const struct fx_user USERS[] = {{"sup", HARNESS_ROLE_SUPERVISOR},
                                       {"picker1", HARNESS_ROLE_OPERATOR},
                                       {"picker2", HARNESS_ROLE_OPERATOR},
                                       {"clerk1", HARNESS_ROLE_OPERATOR},
                                       {"erp", HARNESS_ROLE_OPERATOR}};
/* A supervisor reading the site's task events and batches. */
static const char *const WATCH_TOPICS[] = {"evt/task", "state/batch/#", "evt/backorder", NULL};

/* Refused pick checks count in the KPI hash: fx_refused leaves it out (compared on its own). */
static bool skip_kpi(const char *key, void *arg)
{
    (void)arg;
    return strcmp(key, K("kpi")) == 0;
}

static int setup(void **state)
{
    (void)state;
    struct fx_opts o = {.site_yaml = SITE_YAML,
                        .users = USERS,
                        .n_users = sizeof(USERS) / sizeof(USERS[0]),
                        .skip_key = skip_kpi,
                        .max_payload_bytes = MAX_BYTES,
                        .watch = WATCH_TOPICS};
    return fx_open(&o);
}

static char *get_str(const char *key)
{
    redisReply *r = fx_redis("GET %s", key);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static void test_release_replenish_confirm(void **state)
{
    char rpl[32], f[512], want[300], task[32] = "", loc[64] = "";
    json_t *r, *t;
    size_t i;
    (void)state;
    fx_quant("P1", "WH1/Stock/A/1", "", 8, "");
    fx_quant("P1", "WH1/Reserve/R1", "", 30, "");
    /* Younger than the face's stock: the order's FIFO reservation takes the face. */
    fx_exec("HSET " K("quant:P1:WH1/Reserve/R1:") " in_date 2024-06-01");
    fx_ok0("erp", "order.upsert", "o1",
           "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":6}]");
    json_decref(fx_ok("sup", "wave.plan", "w1", "\"wave\":\"W1\""));
    /* The order is reserved on the face (the planner prefers pick faces): level 8 - 6 = 2. */
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "6");
    json_decref(fx_ok("sup", "wave.release", "w2", "\"wave\":\"W1\""));
    FX_PUMP_UNTIL(fx_kpi("replen_tasks") == 1 && FX.cmd.stats.replen_finished == 1, 5000);
    assert_int_equal(fx_kpi("replen_tasks"), 1);
    assert_int_equal(fx_kpi("replen_tasks_release"), 1);
    assert_int_equal(FX.cmd.stats.replen_created, 1);
    char *seq = get_str(K("task:seq"));
    assert_non_null(seq);
    snprintf(rpl, sizeof(rpl), "RPL-%s", seq);
    free(seq);
    char k[128];
    snprintf(k, sizeof(k), K("task:%s"), rpl);
    fx_hget_is(k, "kind", "replenish");
    fx_hget_is(k, "state", "open");
    fx_hget_is(k, "from", "WH1/Reserve/R1");
    fx_hget_is(k, "to", "WH1/Stock/A/1");
    /* max 20 - level 2 = 18, rounded down to the multiple 5. */
    fx_hget_is(k, "qty", "15");
    fx_hget_is(k, "trigger", "release");
    fx_hget_is(K("quant:P1:WH1/Reserve/R1:"), "reserved", "15");
    fx_hget_is(K("replen:open"), "WH1/Stock/A/1|P1", "1");
    FX_PUMP_UNTIL(fx_events_with(P "evt/task", rpl) > 0, 3000);
    assert_true(fx_events_with(P "evt/task", "\"replenish\"") > 0);

    /* Another check of the face while the task is open opens nothing. */
    assert_int_equal(replen_check(&FX.cmd, "WH1/Stock/A/1", "P1", "pick"), 0);
    FX_PUMP_UNTIL(FX.cmd.stats.replen_finished == 2, 5000);
    assert_int_equal(FX.cmd.stats.replen_skipped, 1);
    assert_int_equal(fx_kpi("replen_tasks"), 1);
    /* A product without a rule is no check. */
    assert_int_equal(replen_check(&FX.cmd, "WH1/Stock/A/2", "P1", "pick"), 0);
    assert_int_equal(FX.cmd.stats.replen_checks, 2);

    /* The picker's batch, then the replenisher claims: the face is busy, the pick waits. */
    r = fx_ok("picker1", "batch.claim", "c1", "\"batch\":\"W1-B1\"");
    json_array_foreach(json_object_get(r, "tasks"), i, t)
    {
        snprintf(task, sizeof(task), "%s", fx_jstr(t, "task"));
        snprintf(loc, sizeof(loc), "%s", fx_jstr(t, "location"));
    }
    json_decref(r);
    assert_string_equal(loc, "WH1/Stock/A/1");
    snprintf(f, sizeof(f), "\"task\":\"%s\"", rpl);
    r = fx_ok("picker2", "replen.claim", "r1", f);
    assert_string_equal(fx_jstr(r, "from"), "WH1/Reserve/R1");
    assert_string_equal(fx_jstr(r, "to"), "WH1/Stock/A/1");
    assert_int_equal(fx_jint(r, "qty"), 15);
    assert_string_equal(fx_jstr(r, "gtin"), "09506000134352");
    json_decref(r);
    snprintf(want, sizeof(want), "task %s is assigned to picker2", rpl);
    fx_refused("picker1", "replen.claim", "r2", f, want);
    long errors = fx_kpi("pick_errors");
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
             "\"qty\":6,\"tote\":\"T1\"",
             task);
    snprintf(want, sizeof(want),
             "task %s waits: replenishment %s is filling WH1/Stock/A/1, pick after its "
             "replen.confirm",
             task, rpl);
    fx_refused("picker1", "pick.confirm", "p1", f, want);
    assert_int_equal(fx_kpi("pick_errors"), errors);

    /* replen.confirm: each wrong scan refused with nothing changed. */
#define RC_FIELDS(from, scan, qty, to)                                                             \
    snprintf(f, sizeof(f),                                                                         \
             "\"task\":\"%s\",\"from\":\"%s\",\"scan\":\"%s\",\"qty\":%d,\"to\":\"%s\"", rpl,      \
             from, scan, qty, to)
    RC_FIELDS("WH1/Reserve/R2", "09506000134352", 15, "WH1/Stock/A/1");
    snprintf(want, sizeof(want),
             "scanned location WH1/Reserve/R2 is not WH1/Reserve/R1, the source of task %s", rpl);
    fx_refused("picker2", "replen.confirm", "x1", f, want);
    RC_FIELDS("WH1/Reserve/R1", "9506000134369", 15, "WH1/Stock/A/1");
    snprintf(want, sizeof(want), "scanned GTIN 09506000134369 is product P2, task %s is for P1",
             rpl);
    fx_refused("picker2", "replen.confirm", "x2", f, want);
    RC_FIELDS("WH1/Reserve/R1", "09506000134352", 16, "WH1/Stock/A/1");
    snprintf(want, sizeof(want), "qty 16 is more than the 15 remaining on task %s", rpl);
    fx_refused("picker2", "replen.confirm", "x3", f, want);
    RC_FIELDS("WH1/Reserve/R1", "09506000134352", 15, "WH1/Stock/A/2");
    snprintf(want, sizeof(want),
             "scanned location WH1/Stock/A/2 is not WH1/Stock/A/1, the pick face of task %s", rpl);
    fx_refused("picker2", "replen.confirm", "x4", f, want);
    RC_FIELDS("WH1/Reserve/R1", "09506000134352", 15, "WH1/Stock/A/1");
    snprintf(want, sizeof(want), "task %s is assigned to picker2", rpl);
    fx_refused("picker1", "replen.confirm", "x5", f, want);
    fx_refused("picker2", "replen.confirm", "x6",
               "\"task\":\"PCK-1\",\"from\":\"a\",\"scan\":"
               "\"09506000134352\",\"qty\":1,\"to\":\"b\"",
               "task PCK-1 is a pick task, not a replenishment");

    /* The move. */
    r = fx_ok("picker2", "replen.confirm", "x7", f);
    assert_string_equal(fx_jstr(r, "state"), "done");
    assert_int_equal(fx_jint(r, "moved"), 15);
    assert_int_equal(fx_jint(r, "remaining"), 0);
    json_decref(r);
    fx_hget_is(K("quant:P1:WH1/Reserve/R1:"), "on_hand", "15");
    fx_hget_is(K("quant:P1:WH1/Reserve/R1:"), "reserved", "0");
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "23");
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "reserved", "6");
    fx_hget_is(k, "state", "done");
    char *op = fx_journal_last("op");
    assert_string_equal(op, "replenish");
    free(op);
    assert_int_equal(fx_kpi("replen_units"), 15);
    assert_int_equal(fx_kpi("replen_confirms"), 1);
    char *open = fx_hget(K("replen:open"), "WH1/Stock/A/1|P1");
    assert_null(open);
    char *busy = fx_hget(K("replen:faces"), "WH1/Stock/A/1");
    assert_null(busy);
    /* A replay answers the same and moves nothing again. */
    r = fx_ok("picker2", "replen.confirm", "x7", f);
    assert_int_equal(fx_jint(r, "moved"), 15);
    json_decref(r);
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "23");

    /* The pick goes through; the face (23 - 6 = 17 >= 5) needs nothing. */
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"WH1/Stock/A/1\",\"scan\":\"09506000134352\","
             "\"qty\":6,\"tote\":\"T1\"",
             task);
    json_decref(fx_ok("picker1", "pick.confirm", "p2", f));
    FX_PUMP_UNTIL(FX.cmd.stats.replen_finished == 3, 5000);
    assert_int_equal(FX.cmd.stats.replen_checks, 3);
    assert_int_equal(fx_kpi("replen_tasks"), 1);
    fx_hget_is(K("quant:P1:WH1/Stock/A/1:"), "on_hand", "17");
}

/* Roles: a clerk may not replenish. */
static void test_replen_roles(void **state)
{
    (void)state;
    fx_refused("clerk1", "replen.claim", "q1", "\"task\":\"RPL-1\"",
               "user \"clerk1\" (roles clerk) may not run \"replen.claim\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_replenish_confirm),
        cmocka_unit_test(test_replen_roles),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
