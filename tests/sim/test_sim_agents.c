/* Unit tests of the picker and packer state machines (sim/agents.h): the action each message
 * produces, on a virtual clock, following the picking and packing contracts: claim → confirm per
 * task with scans → totes onto the conveyor; a mistake is refused and redone; a refusal without
 * a mistake becomes a short; the packer scans the tote and every unit, weighs, waits for the
 * label and puts the carton (its SSCC) on the conveyor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "sim/agents.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char CLAIM_OK[] =
    "{\"ok\":true,\"batch\":\"W1-B1\",\"wave\":\"W1\",\"tasks\":["
    "{\"task\":\"PCK-1\",\"seq\":1,\"location\":\"WH1/A/1\",\"sku\":\"P1\",\"gtin\":"
    "\"4006381333931\",\"lot\":\"L1\",\"expiry\":\"2027-03-01\",\"qty\":2,\"order\":\"SO1\"},"
    "{\"task\":\"PCK-2\",\"seq\":2,\"location\":\"WH1/A/2\",\"sku\":\"P2\",\"gtin\":"
    "\"4012345000016\",\"lot\":\"\",\"expiry\":\"\",\"qty\":1,\"order\":\"SO2\"}]}";

static struct sim_picker *picker(double wrong_product)
{
    struct sim_picker *p = NULL;
    struct sim_picker_cfg c = {
        .seconds_per_pick = 8, .err_wrong_product = wrong_product, .seed = 5, .tote_prefix = "PK1"};
    assert_int_equal(sim_picker_new(&p, &c), 0);
    return p;
}

static void test_picker_batch(void **state)
{
    struct sim_picker *p = picker(0);
    struct sim_action a;
    struct sim_picker_stats st;
    char sku[4][64], gtin[4][16], lot[4][64];
    uint32_t qty[4];
    (void)state;
    assert_int_equal(sim_picker_next(p, 0, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_COMMAND);
    assert_string_equal(a.name, "batch.claim");
    assert_string_equal(a.payload, "{}");
    assert_int_equal(sim_picker_next(p, 1000, &a), 0); /* waits for the reply */
    assert_int_equal(sim_picker_on_reply(p, 1000, CLAIM_OK), 0);
    assert_int_equal(sim_picker_next(p, 8999, &a), 0); /* walking and picking: 8 s */
    assert_int_equal(sim_picker_next(p, 9000, &a), 1);
    assert_string_equal(a.name, "pick.confirm");
    assert_non_null(strstr(a.payload, "\"task\":\"PCK-1\""));
    assert_non_null(strstr(a.payload, "\"location\":\"WH1/A/1\""));
    assert_non_null(strstr(a.payload, "\"scan\":\"(01)04006381333931(17)270301(10)L1\""));
    assert_non_null(strstr(a.payload, "\"qty\":2"));
    assert_non_null(strstr(a.payload, "\"tote\":\"PK1-1\""));
    assert_int_equal(sim_picker_on_reply(p, 9100, "{\"ok\":true,\"remaining\":0}"), 0);
    assert_int_equal(sim_picker_next(p, 17100, &a), 1);
    assert_non_null(strstr(a.payload, "\"task\":\"PCK-2\""));
    assert_non_null(strstr(a.payload, "\"scan\":\"(01)04012345000016\""));
    assert_non_null(strstr(a.payload, "\"tote\":\"PK1-2\"")); /* another order, another tote */
    assert_int_equal(sim_picker_on_reply(p, 17200, "{\"ok\":true,\"remaining\":0}"), 0);
    /* To the conveyor, then one tote after the other. */
    assert_int_equal(sim_picker_next(p, 17300, &a), 0);
    assert_int_equal(sim_picker_next(p, 27200, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_INDUCT);
    assert_string_equal(a.code, "PK1-1");
    assert_int_equal(sim_picker_next(p, 32200, &a), 1);
    assert_string_equal(a.code, "PK1-2");
    assert_int_equal(sim_picker_next(p, 37200, &a), 0);
    assert_int_equal(sim_picker_next(p, 67200, &a), 1);
    assert_string_equal(a.name, "batch.claim");
    assert_int_equal(sim_picker_tote_contents(p, "PK1-1", sku, gtin, lot, qty, 4), 1);
    assert_string_equal(sku[0], "P1");
    assert_string_equal(lot[0], "L1");
    assert_int_equal(qty[0], 2);
    sim_picker_stats(p, &st);
    assert_int_equal(st.picks_confirmed, 2);
    assert_int_equal(st.units, 3);
    assert_int_equal(st.totes_inducted, 2);
    assert_int_equal(st.batches, 1);
    /* A second cart: the same order gets a new tote, a task picked in two confirmations is one
     * content line of that tote, and the first cart's totes keep theirs. */
    assert_int_equal(sim_picker_on_reply(p, 67300, CLAIM_OK), 0);
    assert_int_equal(sim_picker_next(p, 75300, &a), 1);
    assert_non_null(strstr(a.payload, "\"tote\":\"PK1-3\""));
    assert_int_equal(sim_picker_on_reply(p, 75400, "{\"ok\":true,\"remaining\":1}"), 0);
    assert_int_equal(sim_picker_next(p, 77400, &a), 1);
    assert_non_null(strstr(a.payload, "\"qty\":1"));
    assert_non_null(strstr(a.payload, "\"tote\":\"PK1-3\""));
    assert_int_equal(sim_picker_on_reply(p, 77500, "{\"ok\":true,\"remaining\":0}"), 0);
    assert_int_equal(sim_picker_next(p, 85500, &a), 1);
    assert_non_null(strstr(a.payload, "\"tote\":\"PK1-4\""));
    assert_int_equal(sim_picker_on_reply(p, 85600, "{\"ok\":true,\"remaining\":0}"), 0);
    assert_int_equal(sim_picker_next(p, 95600, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_INDUCT);
    assert_string_equal(a.code, "PK1-3");
    assert_int_equal(sim_picker_tote_contents(p, "PK1-3", sku, gtin, lot, qty, 4), 1);
    assert_string_equal(sku[0], "P1");
    assert_int_equal(qty[0], 2);
    assert_int_equal(sim_picker_tote_contents(p, "PK1-4", sku, gtin, lot, qty, 4), 1);
    assert_string_equal(sku[0], "P2");
    assert_int_equal(qty[0], 1);
    assert_int_equal(sim_picker_tote_contents(p, "PK1-1", sku, gtin, lot, qty, 4), 1);
    assert_int_equal(qty[0], 2);
    sim_picker_free(p);
}

/* The walk to the next location starts at the scan: a reply within it costs nothing, a slower
 * one holds the picker until it comes. */
static void test_picker_walks_from_the_scan(void **state)
{
    struct sim_picker *p = picker(0);
    struct sim_action a;
    (void)state;
    assert_int_equal(sim_picker_next(p, 0, &a), 1);
    assert_int_equal(sim_picker_on_reply(p, 0, CLAIM_OK), 0);
    assert_int_equal(sim_picker_next(p, 8000, &a), 1); /* PCK-1 scanned at 8 s */
    assert_int_equal(sim_picker_on_reply(p, 14000, "{\"ok\":true,\"remaining\":0}"), 0);
    assert_int_equal(sim_picker_next(p, 15999, &a), 0);
    assert_int_equal(sim_picker_next(p, 16000, &a), 1); /* 8 s after the scan, not the reply */
    assert_non_null(strstr(a.payload, "\"task\":\"PCK-2\""));
    /* Answered 12 s after the scan: the picker waited for it, and goes on at once. */
    assert_int_equal(sim_picker_next(p, 24000, &a), 0);
    assert_int_equal(sim_picker_on_reply(p, 28000, "{\"ok\":true,\"remaining\":0}"), 0);
    /* The last task: to the conveyor, 10 s from the scan at 16 s. */
    assert_int_equal(sim_picker_next(p, 28000, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_INDUCT);
    sim_picker_free(p);
}

static void test_picker_nothing_to_claim(void **state)
{
    struct sim_picker *p = picker(0);
    struct sim_action a;
    (void)state;
    assert_int_equal(sim_picker_next(p, 0, &a), 1);
    assert_int_equal(
        sim_picker_on_reply(p, 10, "{\"ok\":false,\"error\":\"no released batch to claim\"}"), 0);
    assert_int_equal(sim_picker_next(p, 60009, &a), 0);
    assert_int_equal(sim_picker_next(p, 60010, &a), 1);
    assert_string_equal(a.name, "batch.claim");
    /* A reply that is not JSON: start over later, and say so. */
    assert_int_equal(sim_picker_on_reply(p, 60020, "not json"), -EINVAL);
    sim_picker_free(p);
}

/* A claim that lost a race to another picker says "retry": the picker presses again after 2 s,
 * not after the 60 s it waits when there is no work. */
static void test_picker_claim_race_retried(void **state)
{
    struct sim_picker *p = picker(0);
    struct sim_action a;
    (void)state;
    assert_int_equal(sim_picker_next(p, 0, &a), 1);
    assert_int_equal(sim_picker_on_reply(
                         p, 10, "{\"ok\":false,\"error\":\"batch B1 changed meanwhile, retry\"}"),
                     0);
    assert_int_equal(sim_picker_next(p, 2009, &a), 0);
    assert_int_equal(sim_picker_next(p, 2010, &a), 1);
    assert_string_equal(a.name, "batch.claim");
    assert_int_equal(sim_picker_on_reply(p, 2020, CLAIM_OK), 0);
    assert_int_equal(sim_picker_next(p, 2020, &a), 0); /* walking to the first task */
    sim_picker_free(p);
}

static void test_picker_mistake_then_short(void **state)
{
    struct sim_picker *p = picker(1); /* every first attempt scans the wrong product */
    struct sim_action a;
    struct sim_picker_stats st;
    (void)state;
    assert_int_equal(sim_picker_next(p, 0, &a), 1);
    assert_int_equal(sim_picker_on_reply(p, 0, CLAIM_OK), 0);
    assert_int_equal(sim_picker_next(p, 8000, &a), 1);
    assert_non_null(strstr(a.payload, "(01)09506000134352"));
    assert_int_equal(sim_picker_on_reply(p, 8100, "{\"ok\":false,\"error\":\"scanned GTIN\"}"), 0);
    /* Redone right, 3 s later. */
    assert_int_equal(sim_picker_next(p, 11100, &a), 1);
    assert_non_null(strstr(a.payload, "(01)04006381333931"));
    /* Refused although right (the stock is not there): a short of what remains. */
    assert_int_equal(sim_picker_on_reply(p, 11200, "{\"ok\":false,\"error\":\"no stock\"}"), 0);
    assert_int_equal(sim_picker_next(p, 13200, &a), 1);
    assert_string_equal(a.name, "pick.short");
    assert_string_equal(a.payload, "{\"task\":\"PCK-1\",\"qty\":0}");
    assert_int_equal(sim_picker_on_reply(p, 13300, "{\"ok\":true,\"short\":2}"), 0);
    assert_int_equal(sim_picker_next(p, 21300, &a), 1);
    assert_non_null(strstr(a.payload, "PCK-2"));
    sim_picker_stats(p, &st);
    assert_int_equal(st.errors_injected, 2); /* PCK-1 and now PCK-2 */
    assert_int_equal(st.errors_refused, 1);
    assert_int_equal(st.unexpected_refusals, 1);
    assert_int_equal(st.shorts, 1);
    sim_picker_free(p);
}

/* A pick refused for a passing reason (Redis down) is scanned again 10 s later, the same scan,
 * not reported short; a short refused so is sent again; the batch goes on after both. */
static void test_picker_passing_refusal(void **state)
{
    struct sim_picker *p = picker(0);
    struct sim_action a;
    struct sim_picker_stats st;
    char first[sizeof(a.payload)];
    const char *down = "{\"ok\":false,\"error\":\"store unavailable (link down): not executed\"}";
    (void)state;
    assert_false(sim_refusal_passes(NULL));
    assert_false(sim_refusal_passes("no stock"));
    assert_true(sim_refusal_passes("batch B1 changed meanwhile, retry"));
    assert_true(sim_refusal_passes("shutting down"));
    assert_int_equal(sim_picker_next(p, 0, &a), 1);
    assert_int_equal(sim_picker_on_reply(p, 0, CLAIM_OK), 0);
    assert_int_equal(sim_picker_next(p, 8000, &a), 1);
    assert_string_equal(a.name, "pick.confirm");
    memcpy(first, a.payload, sizeof(first));
    assert_int_equal(sim_picker_on_reply(p, 8100, down), 0);
    assert_int_equal(sim_picker_next(p, 18099, &a), 0);
    assert_int_equal(sim_picker_next(p, 18100, &a), 1);
    assert_string_equal(a.name, "pick.confirm");
    assert_string_equal(a.payload, first);
    /* now the stock is not there: a short, refused while Redis is down, then sent again */
    assert_int_equal(sim_picker_on_reply(p, 18200, "{\"ok\":false,\"error\":\"no stock\"}"), 0);
    assert_int_equal(sim_picker_next(p, 20200, &a), 1);
    assert_string_equal(a.name, "pick.short");
    assert_int_equal(sim_picker_on_reply(p, 20300, down), 0);
    assert_int_equal(sim_picker_next(p, 30299, &a), 0);
    assert_int_equal(sim_picker_next(p, 30300, &a), 1);
    assert_string_equal(a.name, "pick.short");
    assert_string_equal(a.payload, "{\"task\":\"PCK-1\",\"qty\":0}");
    assert_int_equal(sim_picker_on_reply(p, 30400, "{\"ok\":true,\"short\":2}"), 0);
    assert_int_equal(sim_picker_next(p, 38400, &a), 1);
    assert_non_null(strstr(a.payload, "PCK-2"));
    sim_picker_stats(p, &st);
    assert_int_equal(st.passing_refusals, 2);
    assert_int_equal(st.unexpected_refusals, 1);
    assert_int_equal(st.shorts, 1);
    sim_picker_free(p);
}

/* Totes wait at a station in arrival order however many come while the packer is behind (the
 * queue grows past its first places). */
static void test_packer_backlog(void **state)
{
    struct sim_packer *k = NULL;
    struct sim_packer_cfg c = {.seconds_per_item = 2, .seed = 1};
    struct sim_pack_item item = {"4006381333931", "", 1, 500};
    struct sim_action a;
    char tote[32], got[64];
    uint64_t t = 0;
    (void)state;
    assert_int_equal(sim_packer_new(&k, &c), 0);
    for (int i = 0; i < 100; i++) {
        snprintf(tote, sizeof(tote), "PK9-%d", i);
        assert_int_equal(sim_packer_on_tote(k, 0, tote, &item, 1), 0);
    }
    /* Scanned one after the other (the packer gives each up at once: abort, clear the scale). */
    for (int i = 0; i < 100; i++) {
        snprintf(tote, sizeof(tote), "PK9-%d", i);
        assert_int_equal(sim_packer_next(k, t, &a), 1);
        assert_int_equal(a.kind, SIM_ACT_SCAN);
        assert_string_equal(a.code, tote);
        assert_int_equal(sim_packer_abort(k, t, got, sizeof(got)), 1);
        assert_string_equal(got, tote);
        t += 5000;
        assert_int_equal(sim_packer_next(k, t, &a), 1); /* the scale cleared */
        assert_int_equal(a.kind, SIM_ACT_SCALE);
        t += 2000;
    }
    assert_int_equal(sim_packer_next(k, t, &a), 0);
    sim_packer_free(k);
}

/* The carton of the packer tests below: two units of a lot-tracked item, one of another. */
static const struct sim_packer_cfg CARTON_CFG = {
    .seconds_per_item = 2, .packaging_g = 150, .seed = 1};
static const struct sim_pack_item CARTON[2] = {{"4006381333931", "L1", 2, 520},
                                               {"4012345000016", "", 1, 1010}};

static void test_packer(void **state)
{
    struct sim_packer *k = NULL;
    struct sim_action a;
    struct sim_packer_stats st;
    (void)state;
    assert_int_equal(sim_packer_new(&k, &CARTON_CFG), 0);
    assert_int_equal(sim_packer_next(k, 0, &a), 0); /* nothing to pack */
    assert_int_equal(sim_packer_on_label(k, 0, "001234567890123457"), WCS_E_STATE);
    assert_int_equal(sim_packer_on_tote(k, 0, "PK1-1", CARTON, 2), 0);
    assert_int_equal(sim_packer_next(k, 0, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_SCAN);
    assert_string_equal(a.code, "PK1-1");
    assert_int_equal(sim_packer_next(k, 3000, &a), 1);
    assert_string_equal(a.code, "(01)04006381333931(10)L1");
    assert_int_equal(sim_packer_next(k, 5000, &a), 1);
    assert_string_equal(a.code, "(01)04006381333931(10)L1");
    /* The carton stands on the scale with everything in it before the last unit is scanned
     * (wcs weighs as soon as every unit is verified). */
    assert_int_equal(sim_packer_next(k, 7000, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_SCALE);
    assert_int_equal(a.load_mg, (2 * 520 + 1010 + 150) * 1000);
    assert_false(sim_packer_awaiting_label(k));
    assert_int_equal(sim_packer_next(k, 7500, &a), 0); /* the scale settles */
    assert_int_equal(sim_packer_next(k, 8500, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_SCAN);
    assert_string_equal(a.code, "(01)04012345000016");
    assert_int_equal(sim_packer_next(k, 20000, &a), 0); /* waits for the label */
    assert_true(sim_packer_awaiting_label(k));
    assert_int_equal(sim_packer_on_label(k, 21000, "001234567890123457"), 0);
    assert_int_equal(sim_packer_next(k, 26000, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_INDUCT);
    assert_string_equal(a.code, "001234567890123457");
    assert_int_equal(sim_packer_next(k, 26000, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_SCALE);
    assert_int_equal(a.load_mg, 0);
    sim_packer_stats(k, &st);
    assert_int_equal(st.totes, 1);
    assert_int_equal(st.units_scanned, 3);
    assert_int_equal(st.labels, 1);
    sim_packer_free(k);
}

/* The station refused the tote scan (evt/pack "store": Redis not reachable): the packer starts
 * the carton again 10 s later, the tote first and then every unit; a refusal naming another
 * tote, or one after the label came, changes nothing. */
static void test_packer_restart(void **state)
{
    struct sim_packer *k = NULL;
    struct sim_action a;
    struct sim_packer_stats st;
    (void)state;
    assert_int_equal(sim_packer_new(&k, &CARTON_CFG), 0);
    assert_int_equal(sim_packer_restart(k, 0, "PK1-1"), 0); /* nothing being packed */
    assert_int_equal(sim_packer_on_tote(k, 0, "PK1-1", CARTON, 2), 0);
    assert_int_equal(sim_packer_next(k, 0, &a), 1);
    assert_string_equal(a.code, "PK1-1");
    assert_int_equal(sim_packer_next(k, 3000, &a), 1);
    assert_string_equal(a.code, "(01)04006381333931(10)L1");
    assert_int_equal(sim_packer_restart(k, 3100, "PK7-7"), 0);
    assert_int_equal(sim_packer_restart(k, 3100, NULL), 0);
    assert_int_equal(sim_packer_restart(k, 3100, "PK1-1"), 1);
    assert_int_equal(sim_packer_next(k, 13099, &a), 0);
    assert_int_equal(sim_packer_next(k, 13100, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_SCAN);
    assert_string_equal(a.code, "PK1-1");
    assert_int_equal(sim_packer_next(k, 16100, &a), 1);
    assert_string_equal(a.code, "(01)04006381333931(10)L1");
    assert_int_equal(sim_packer_next(k, 18100, &a), 1);
    assert_string_equal(a.code, "(01)04006381333931(10)L1");
    assert_int_equal(sim_packer_next(k, 20100, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_SCALE);
    assert_int_equal(sim_packer_next(k, 21600, &a), 1);
    assert_string_equal(a.code, "(01)04012345000016");
    assert_int_equal(sim_packer_on_label(k, 22000, "001234567890123457"), 0);
    assert_int_equal(sim_packer_restart(k, 22100, "PK1-1"), 0); /* labelled: too late */
    assert_int_equal(sim_packer_next(k, 23600, &a), 0);         /* applying the label */
    assert_int_equal(sim_packer_next(k, 28600, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_INDUCT);
    sim_packer_stats(k, &st);
    assert_int_equal(st.restarts, 1);
    assert_int_equal(st.totes, 2);
    assert_int_equal(st.units_scanned, 4);
    sim_packer_free(k);
}

/* A unit scan refused "busy" (the station's queue was full) is scanned again, naming its GTIN;
 * one refused after the packer waits for its label brings it back to scanning. */
static void test_packer_rescan(void **state)
{
    struct sim_packer *k = NULL;
    struct sim_action a;
    struct sim_packer_stats st;
    (void)state;
    assert_int_equal(sim_packer_new(&k, &CARTON_CFG), 0);
    assert_int_equal(sim_packer_rescan(k, 0, "04006381333931"), 0); /* nothing being packed */
    assert_int_equal(sim_packer_on_tote(k, 0, "PK1-1", CARTON, 2), 0);
    assert_int_equal(sim_packer_next(k, 0, &a), 1);
    assert_string_equal(a.code, "PK1-1");
    assert_int_equal(sim_packer_rescan(k, 100, "04006381333931"), 0); /* none scanned yet */
    assert_int_equal(sim_packer_next(k, 3000, &a), 1);
    assert_string_equal(a.code, "(01)04006381333931(10)L1");
    assert_int_equal(sim_packer_rescan(k, 3100, "04012345000016"), 0); /* not scanned yet */
    assert_int_equal(sim_packer_rescan(k, 3100, "09506000134352"), 0); /* not in the carton */
    assert_int_equal(sim_packer_rescan(k, 3100, NULL), 0);
    assert_int_equal(sim_packer_rescan(k, 3100, "04006381333931"), 1);
    assert_int_equal(sim_packer_rescan(k, 3100, "04006381333931"), 0); /* only one scanned */
    /* The refused unit first, then the rest in order. */
    assert_int_equal(sim_packer_next(k, 4999, &a), 0);
    assert_int_equal(sim_packer_next(k, 5000, &a), 1);
    assert_string_equal(a.code, "(01)04006381333931(10)L1");
    assert_int_equal(sim_packer_next(k, 7000, &a), 1);
    assert_string_equal(a.code, "(01)04006381333931(10)L1");
    assert_int_equal(sim_packer_next(k, 9000, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_SCALE);
    assert_int_equal(sim_packer_next(k, 10500, &a), 1);
    assert_string_equal(a.code, "(01)04012345000016");
    assert_int_equal(sim_packer_next(k, 12500, &a), 0);
    assert_true(sim_packer_awaiting_label(k));
    /* The last unit refused while waiting for the label: scanned again a second later, and the
     * label is not taken before. */
    assert_int_equal(sim_packer_rescan(k, 12600, "04012345000016"), 1);
    assert_false(sim_packer_awaiting_label(k));
    assert_int_equal(sim_packer_on_label(k, 12700, "001234567890123457"), WCS_E_STATE);
    assert_int_equal(sim_packer_next(k, 13599, &a), 0);
    assert_int_equal(sim_packer_next(k, 13600, &a), 1);
    assert_string_equal(a.code, "(01)04012345000016");
    assert_int_equal(sim_packer_on_label(k, 13700, "001234567890123457"), 0);
    assert_int_equal(sim_packer_rescan(k, 13800, "04012345000016"), 0); /* labelled */
    assert_int_equal(sim_packer_next(k, 15600, &a), 0);                 /* applying the label */
    assert_int_equal(sim_packer_next(k, 20599, &a), 0);
    assert_int_equal(sim_packer_next(k, 20600, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_INDUCT);
    sim_packer_stats(k, &st);
    assert_int_equal(st.rescans, 2);
    assert_int_equal(st.units_scanned, 5);
    sim_packer_free(k);
}

static void test_packer_wrong_item(void **state)
{
    struct sim_packer *k = NULL;
    struct sim_packer_cfg c = {.seconds_per_item = 1, .err_wrong_item = 1, .seed = 1};
    struct sim_pack_item it = {"4012345000016", "", 2, 100};
    struct sim_action a;
    struct sim_packer_stats st;
    (void)state;
    assert_int_equal(sim_packer_new(&k, &c), 0);
    assert_int_equal(sim_packer_on_tote(k, 0, "T9", &it, 1), 0);
    assert_int_equal(sim_packer_next(k, 0, &a), 1);
    assert_int_equal(sim_packer_next(k, 3000, &a), 1);
    assert_string_equal(a.code, "(01)09506000134352"); /* once per tote */
    assert_int_equal(sim_packer_next(k, 4000, &a), 1);
    assert_string_equal(a.code, "(01)04012345000016");
    assert_int_equal(sim_packer_next(k, 5000, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_SCALE);
    assert_int_equal(a.load_mg, 200 * 1000);
    assert_int_equal(sim_packer_next(k, 6500, &a), 1);
    assert_string_equal(a.code, "(01)04012345000016");
    sim_packer_stats(k, &st);
    assert_int_equal(st.wrong_scans, 1);
    assert_int_equal(st.units_scanned, 2);
    /* wcs sends the carton to QA: the packer gives it up and clears the scale. */
    {
        char tote[64];
        assert_int_equal(sim_packer_next(k, 8000, &a), 0);
        assert_int_equal(sim_packer_abort(k, 8000, tote, sizeof(tote)), 1);
        assert_string_equal(tote, "T9");
        assert_int_equal(sim_packer_next(k, 13000, &a), 1);
        assert_int_equal(a.kind, SIM_ACT_SCALE);
        assert_int_equal(a.load_mg, 0);
        assert_int_equal(sim_packer_abort(k, 13000, tote, sizeof(tote)), 0);
        sim_packer_stats(k, &st);
        assert_int_equal(st.aborted, 1);
    }
    struct sim_packer_cfg bad = {.seconds_per_item = 0};
    struct sim_packer *x = NULL;
    assert_int_equal(sim_packer_new(&x, &bad), -EINVAL);
    assert_null(x);
    sim_packer_free(k);
}

/* wcs prints the label as soon as the last unit is verified: the label may come while the packer
 * still holds that unit; it is taken then (once), and the carton goes on the belt. */
static void test_packer_label_early(void **state)
{
    struct sim_packer *k = NULL;
    struct sim_packer_cfg c = {.seconds_per_item = 4, .packaging_g = 100, .seed = 1};
    struct sim_pack_item items[1] = {{"4012345000016", "", 1, 500}};
    struct sim_action a;
    (void)state;
    assert_int_equal(sim_packer_new(&k, &c), 0);
    assert_int_equal(sim_packer_on_tote(k, 0, "PK1-1", items, 1), 0);
    assert_int_equal(sim_packer_next(k, 0, &a), 1); /* the tote */
    assert_int_equal(sim_packer_on_label(k, 100, "001234567890123457"), WCS_E_STATE);
    assert_int_equal(sim_packer_next(k, 3000, &a), 1); /* on the scale first */
    assert_int_equal(a.kind, SIM_ACT_SCALE);
    assert_int_equal(sim_packer_next(k, 4500, &a), 1); /* the only unit */
    assert_string_equal(a.code, "(01)04012345000016");
    assert_false(sim_packer_awaiting_label(k));
    /* printed 1 s later, while the packer's 4 s per unit run */
    assert_int_equal(sim_packer_on_label(k, 5500, "001234567890123457"), 0);
    assert_int_equal(sim_packer_on_label(k, 5600, "001234567890123464"), WCS_E_STATE);
    assert_int_equal(sim_packer_next(k, 8500, &a), 0); /* applies the label: 5 s */
    assert_int_equal(sim_packer_next(k, 13500, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_INDUCT);
    assert_string_equal(a.code, "001234567890123457");
    sim_packer_free(k);
}

/* A location the picker finds empty: pick.short {qty 0} at once, and the tote nothing went into
 * stays on the cart. */
static void test_picker_empty_shelf(void **state)
{
    const char *empty[] = {"WH1/A/1"};
    struct sim_picker *p = NULL;
    struct sim_picker_cfg c = {
        .seconds_per_pick = 8, .seed = 5, .tote_prefix = "PK1", .empty = empty, .n_empty = 1};
    struct sim_action a;
    struct sim_picker_stats st;
    (void)state;
    assert_int_equal(sim_picker_new(&p, &c), 0);
    assert_int_equal(sim_picker_next(p, 0, &a), 1);
    assert_int_equal(sim_picker_on_reply(p, 0, CLAIM_OK), 0);
    assert_int_equal(sim_picker_next(p, 8000, &a), 1);
    assert_string_equal(a.name, "pick.short");
    assert_string_equal(a.payload, "{\"task\":\"PCK-1\",\"qty\":0}");
    assert_int_equal(sim_picker_on_reply(p, 8100, "{\"ok\":true,\"short\":2}"), 0);
    assert_int_equal(sim_picker_next(p, 16100, &a), 1);
    assert_string_equal(a.name, "pick.confirm");
    assert_non_null(strstr(a.payload, "\"tote\":\"PK1-2\""));
    assert_int_equal(sim_picker_on_reply(p, 16200, "{\"ok\":true,\"remaining\":0}"), 0);
    assert_int_equal(sim_picker_next(p, 26200, &a), 1);
    assert_int_equal(a.kind, SIM_ACT_INDUCT);
    assert_string_equal(a.code, "PK1-2"); /* PK1-1 is empty */
    assert_int_equal(sim_picker_next(p, 31200, &a), 0);
    sim_picker_stats(p, &st);
    assert_int_equal(st.shorts, 1);
    assert_int_equal(st.totes_inducted, 1);
    empty[0] = NULL; /* goods were put away there: found from now on */
    sim_picker_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_picker_batch),
        cmocka_unit_test(test_picker_walks_from_the_scan),
        cmocka_unit_test(test_picker_nothing_to_claim),
        cmocka_unit_test(test_picker_claim_race_retried),
        cmocka_unit_test(test_picker_mistake_then_short),
        cmocka_unit_test(test_picker_passing_refusal),
        cmocka_unit_test(test_packer),
        cmocka_unit_test(test_packer_backlog),
        cmocka_unit_test(test_packer_wrong_item),
        cmocka_unit_test(test_packer_restart),
        cmocka_unit_test(test_packer_rescan),
        cmocka_unit_test(test_packer_label_early),
        cmocka_unit_test(test_picker_empty_shelf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
