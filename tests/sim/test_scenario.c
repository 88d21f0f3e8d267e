/* Unit tests of the scenario parser (sim/scenario.h): a full scenario parses to the values
 * written, defaults apply, durations and globs, and every file of the bad-scenario corpus
 * (tests/sim/bad/NN-name.yaml) gives exactly the error lines of its .expect file (the last line
 * of which is the `wcs sim` summary line, not a parser line) and no scenario. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "sim/scenario.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char FULL[] =
    "name: full\n"
    "site: ../config/site.yaml\n"
    "duration: 8h\n"
    "drain: 90s\n"
    "drain_until_done: true\n"
    "speed: 600\n"
    "seed: 42\n"
    "start: \"06:00\"\n"
    "orders:\n"
    "  generate:\n"
    "    count: 1500\n"
    "    lines_per_order: {mean: 2.5}\n"
    "    qty: {min: 1, max: 4}\n"
    "    arrival: [1, 2, 3, 0.5]\n"
    "    carriers: {DHL: 3, UPS: 1}\n"
    "    priorities: {urgent: 1, standard: 9}\n"
    "    max_kg: 29.5\n"
    "stock: {generate: {cover: 1.2, shortage: 0.05}}\n"
    "totes:\n"
    "  - {tote: T1, order: SO1}\n"
    "  - {tote: T2, dest: \"station:P1\"}\n"
    "agents:\n"
    "  erp: {user: erp}\n"
    "  supervisor: {user: anna, approver: ben, wave_lead: 2h, wave_max_orders: 48,\n"
    "               wave_every: 30m, release: false, ack_alarms: false}\n"
    "  counters:\n"
    "    user: op1\n"
    "    counts: [{at: 1h, location: WH1/A/1, sku: P1, lot: L1, delta: -3}]\n"
    "  pickers: {count: 4, users: [p1, p2], seconds_per_pick: 6.5,\n"
    "            errors: {wrong_product: 0.01, wrong_qty: 0.02, skipped_scan: 0.03,\n"
    "                     wrong_tote: 0.004}}\n"
    "  packers: {count: 2, seconds_per_pack: 40}\n"
    "  induction:\n"
    "    - {at: 10s, point: sp1, barcode: \"T{n}\", count: 5, every: 500ms, read: noread}\n"
    "faults:\n"
    "  - {at: 1h, kind: plc_disconnect, target: plc1, duration: 30s}\n"
    "  - {at: 2h, kind: wcs_kill}\n"
    "  - {at: 3h, kind: broker_restart, duration: 10s}\n"
    "  - {at: 4h, kind: jam, target: sp1, duration: 2m}\n"
    "  - {at: 5h, kind: redis_stall, duration: 20s}\n"
    "expect:\n"
    "  orders: {shipped: all, backordered: 3, cancelled: 0}\n"
    "  stock_conserved: true\n"
    "  no_over_reservation: true\n"
    "  totes_accounted: false\n"
    "  alarms:\n"
    "    - {id: \"plc.*.link\", raised: true, cleared: true, raises: 2}\n"
    "    - {id: redis.down, raised: false}\n"
    "  kpi:\n"
    "    noread_rate: {max: 0.02}\n"
    "    latency_us.p99: {min: 0, max: 5000}\n";

static void test_full(void **state)
{
    struct sim_scenario *s = NULL;
    struct sim_errors e = {0};
    (void)state;
    assert_int_equal(sim_scenario_parse(&s, "full.yaml", FULL, strlen(FULL), &e), 0);
    assert_int_equal(e.count, 0);
    assert_string_equal(s->name, "full");
    assert_string_equal(s->site, "../config/site.yaml");
    assert_int_equal(s->duration_ms, 8 * 3600 * 1000);
    assert_int_equal(s->drain_ms, 90000);
    assert_true(s->drain_until_done);
    assert_true(s->speed == 600);
    assert_int_equal(s->seed, 42);
    assert_int_equal(s->start_local_min, 360);
    assert_true(s->orders_generate);
    assert_int_equal(s->orders_via, SIM_VIA_ERP);
    assert_int_equal(s->gen.count, 1500);
    assert_true(s->gen.lines_mean == 2.5);
    assert_int_equal(s->gen.qty_min, 1);
    assert_int_equal(s->gen.qty_max, 4);
    assert_int_equal(s->gen.n_arrival, 4);
    assert_true(s->gen.arrival[3] == 0.5);
    assert_int_equal(s->gen.n_carriers, 2);
    assert_string_equal(s->gen.carriers[1].name, "UPS");
    assert_int_equal(s->gen.n_priorities, 2);
    assert_true(s->gen.max_kg == 29.5);
    assert_true(s->stock_generate);
    assert_true(s->stock_cover == 1.2);
    assert_true(s->stock_shortage == 0.05);
    assert_int_equal(s->n_totes, 2);
    assert_string_equal(s->totes[0].order, "SO1");
    assert_string_equal(s->totes[1].dest, "station:P1");
    assert_string_equal(s->agents.erp_user, "erp");
    assert_string_equal(s->agents.supervisor_user, "anna");
    assert_string_equal(s->agents.approver_user, "ben");
    assert_int_equal(s->agents.wave_lead_min, 120);
    assert_int_equal(s->agents.wave_max_orders, 48);
    assert_int_equal(s->agents.wave_every_ms, 1800000);
    assert_false(s->agents.release_waves);
    assert_false(s->agents.ack_alarms);
    assert_int_equal(s->agents.n_counts, 1);
    assert_int_equal(s->agents.counts[0].delta, -3);
    assert_string_equal(s->agents.counts[0].lot, "L1");
    assert_int_equal(s->agents.pickers, 4);
    assert_int_equal(s->agents.n_picker_users, 2);
    assert_true(s->agents.seconds_per_pick == 6.5);
    assert_true(s->agents.err_wrong_tote == 0.004);
    assert_int_equal(s->agents.packers, 2);
    assert_true(s->agents.seconds_per_pack == 40);
    assert_int_equal(s->agents.n_inducts, 1);
    assert_int_equal(s->agents.inducts[0].count, 5);
    assert_int_equal(s->agents.inducts[0].every_ms, 500);
    assert_int_equal(s->agents.inducts[0].read, SIM_INDUCT_NOREAD);
    assert_string_equal(s->agents.inducts[0].barcode, "T{n}");
    assert_int_equal(s->n_faults, 5);
    assert_int_equal(s->faults[0].kind, SIM_FAULT_PLC_DISCONNECT);
    assert_string_equal(s->faults[0].target, "plc1");
    assert_int_equal(s->faults[0].duration_ms, 30000);
    assert_int_equal(s->faults[1].kind, SIM_FAULT_WCS_KILL);
    assert_int_equal(s->faults[1].duration_ms, 0);
    assert_int_equal(s->faults[3].kind, SIM_FAULT_JAM);
    assert_int_equal(s->faults[4].kind, SIM_FAULT_REDIS_STALL);
    assert_string_equal(s->faults[4].target, "");
    assert_int_equal(s->faults[4].duration_ms, 20000);
    assert_true(s->exp_shipped.checked && s->exp_shipped.all);
    assert_true(s->exp_backordered.checked && !s->exp_backordered.all);
    assert_int_equal(s->exp_backordered.n, 3);
    assert_false(s->exp_waved.checked);
    assert_int_equal(s->exp_stock_conserved, 1);
    assert_int_equal(s->exp_totes_accounted, 0);
    assert_int_equal(s->n_alarms, 2);
    assert_int_equal(s->alarms[1].raised, 0);
    assert_int_equal(s->alarms[1].cleared, -1);
    assert_int_equal(s->alarms[0].raises, 2);
    assert_int_equal(s->alarms[1].raises, 0);
    assert_int_equal(s->n_kpis, 2);
    assert_string_equal(s->kpis[1].name, "latency_us.p99");
    assert_true(s->kpis[0].has_max && !s->kpis[0].has_min);
    sim_scenario_free(s);
}

static void test_defaults(void **state)
{
    static const char t[] = "site: s.yaml\nduration: 90\n";
    struct sim_scenario *s = NULL;
    (void)state;
    assert_int_equal(sim_scenario_parse(&s, "d", t, strlen(t), NULL), 0);
    assert_int_equal(s->duration_ms, 90000);
    assert_true(s->speed == 1);
    assert_int_equal(s->seed, 1);
    assert_int_equal(s->start_local_min, -1);
    assert_int_equal(s->exp_stock_conserved, -1);
    assert_int_equal(s->n_faults, 0);
    assert_false(s->orders_generate);
    sim_scenario_free(s);
}

static void test_duration_glob(void **state)
{
    uint64_t ms = 0;
    (void)state;
    assert_int_equal(sim_parse_duration("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(sim_parse_duration("15m", &ms), 0);
    assert_int_equal(ms, 900000);
    assert_int_equal(sim_parse_duration("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(sim_parse_duration("7", &ms), 0);
    assert_int_equal(ms, 7000);
    assert_int_equal(sim_parse_duration("07", &ms), WCS_E_SYNTAX);
    assert_int_equal(sim_parse_duration("-1s", &ms), WCS_E_SYNTAX);
    assert_int_equal(sim_parse_duration("1.5s", &ms), WCS_E_SYNTAX);
    assert_int_equal(sim_parse_duration("5x", &ms), WCS_E_SYNTAX);
    assert_int_equal(sim_parse_duration("", &ms), WCS_E_SYNTAX);
    assert_int_equal(sim_parse_duration("99999999999999999999h", &ms), WCS_E_SYNTAX);
    assert_true(sim_glob_match("plc.*.link", "plc.plc1.link"));
    assert_false(sim_glob_match("plc.*.link", "plc.plc1.link2"));
    assert_true(sim_glob_match("approval-ADJ-*", "approval-ADJ-12"));
    assert_true(sim_glob_match("sp?.jam", "sp1.jam"));
    assert_false(sim_glob_match("sp?.jam", "sp12.jam"));
    assert_true(sim_glob_match("*", ""));
    assert_false(sim_glob_match("a", ""));
}

/* Every bad file: no scenario, and the error lines of the .expect file, in order. */
static const char FLOWS[] =
    "site: s.yaml\n"
    "duration: 2h\n"
    "receipts:\n"
    "  - {at: 5m, receipt: R1, supplier: Nordfood, warehouse: WH1,\n"
    "     lines: [{sku: P1, qty: 20, arrive: 12}, {sku: P2, qty: 5, lot: L9, expiry: "
    "\"2030-06-30\"}]}\n"
    "transfers:\n"
    "  - {at: 10m, transfer: T1, from: WH1, to: WH2, lines: [{sku: P1, qty: 3}]}\n"
    "returns:\n"
    "  - {at: 1h, rma: RMA1, order: SO1, credit: true, arrive: 70m,\n"
    "     lines: [{sku: P1, qty: 2, scrap: 1}]}\n"
    "agents:\n"
    "  erp: {user: erp}\n"
    "  supervisor: {user: lead}\n"
    "  pickers: {count: 1, users: [p1], empty: [WH1/A/1, WH1/A/2]}\n"
    "  receiver: {user: rcv, station: RCV1, return_station: RET1}\n"
    "  qa: {user: qa1, after: 5m, decision: scrap}\n"
    "expect: {flows_completed: true}\n";

/* Receipts, transfers and returns parse to their values, with the defaults of the steps' times. */
static void test_flows(void **state)
{
    struct sim_scenario *s = NULL;
    struct sim_errors e = {0};
    const struct sim_flow *f;
    (void)state;
    assert_int_equal(sim_scenario_parse(&s, "flows.yaml", FLOWS, strlen(FLOWS), &e), 0);
    assert_int_equal(s->n_flows, 3);
    f = &s->flows[0];
    assert_int_equal(f->kind, SIM_FLOW_RECEIPT);
    assert_string_equal(f->id, "R1");
    assert_string_equal(f->supplier, "Nordfood");
    assert_string_equal(f->warehouse, "WH1");
    assert_int_equal(f->at_ms, 300000);
    assert_int_equal(f->next_ms, 900000); /* arrives 10 min after receipt.expect */
    assert_int_equal(f->n_lines, 2);
    assert_int_equal(f->lines[0].qty, 20);
    assert_int_equal(f->lines[0].arrive, 12);
    assert_int_equal(f->lines[1].arrive, 5);
    assert_string_equal(f->lines[1].lot, "L9");
    assert_string_equal(f->lines[1].expiry, "2030-06-30");
    f = &s->flows[1];
    assert_int_equal(f->kind, SIM_FLOW_TRANSFER);
    assert_string_equal(f->warehouse, "WH1");
    assert_string_equal(f->to, "WH2");
    assert_int_equal(f->next_ms, 1200000); /* shipped 10 min later */
    assert_int_equal(f->last_ms, 3000000); /* received 30 min after that */
    f = &s->flows[2];
    assert_int_equal(f->kind, SIM_FLOW_RETURN);
    assert_string_equal(f->order, "SO1");
    assert_true(f->credit);
    assert_int_equal(f->next_ms, 4200000);
    assert_int_equal(f->lines[0].scrap, 1);
    assert_int_equal(s->agents.n_empty, 2);
    assert_string_equal(s->agents.empty[1], "WH1/A/2");
    assert_string_equal(s->agents.receiver_user, "rcv");
    assert_string_equal(s->agents.receive_station, "RCV1");
    assert_string_equal(s->agents.return_station, "RET1");
    assert_string_equal(s->agents.qa_user, "qa1");
    assert_int_equal(s->agents.qa_after_ms, 300000);
    assert_true(s->agents.qa_scrap);
    assert_int_equal(s->exp_flows_completed, 1);
    sim_scenario_free(s);
    sim_errors_fini(&e);
}

/* orders.shipped: rest, every order neither backordered nor cancelled. */
static void test_shipped_rest(void **state)
{
    static const char T[] = "site: a.yaml\nduration: 1h\nexpect:\n  orders: {shipped: rest}\n";
    struct sim_scenario *s = NULL;
    struct sim_errors e = {0};
    (void)state;
    assert_int_equal(sim_scenario_parse(&s, "rest.yaml", T, strlen(T), &e), 0);
    assert_true(s->exp_shipped.checked && s->exp_shipped.rest && !s->exp_shipped.all);
    assert_false(s->exp_backordered.checked);
    sim_scenario_free(s);
    sim_errors_fini(&e);
}

static void test_bad_corpus(void **state)
{
    DIR *d = opendir(SIM_BAD_DIR);
    struct dirent *de;
    unsigned n = 0;
    (void)state;
    assert_non_null(d);
    assert_int_equal(chdir(SIM_BAD_DIR), 0);
    while ((de = readdir(d))) {
        char expect[300], line[1024];
        size_t len = strlen(de->d_name), k = 0;
        struct sim_scenario *s = NULL;
        struct sim_errors e = {0};
        FILE *f;
        if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
            continue;
        snprintf(expect, sizeof(expect), "%.*s.expect", (int)(len - 5), de->d_name);
        assert_int_equal(sim_scenario_load(&s, de->d_name, &e), WCS_E_CONFIG);
        assert_null(s);
        f = fopen(expect, "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\n")] = '\0';
            if (strncmp(line, "wcs sim: ", 9) == 0)
                continue;
            if (k >= e.count || strcmp(e.lines[k], line) != 0)
                fail_msg("%s: expected \"%s\", got \"%s\"", de->d_name, line,
                         k < e.count ? e.lines[k] : "(no more lines)");
            k++;
        }
        fclose(f);
        assert_int_equal(k, e.count);
        sim_errors_fini(&e);
        n++;
    }
    closedir(d);
    assert_true(n >= 48);
}

static void test_missing_file(void **state)
{
    struct sim_scenario *s = NULL;
    struct sim_errors e = {0};
    (void)state;
    assert_int_equal(sim_scenario_load(&s, "/nonexistent/x.yaml", &e), -ENOENT);
    assert_int_equal(e.count, 1);
    assert_non_null(strstr(e.lines[0], "/nonexistent/x.yaml"));
    sim_errors_fini(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),          cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_duration_glob), cmocka_unit_test(test_shipped_rest),
        cmocka_unit_test(test_bad_corpus),    cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
