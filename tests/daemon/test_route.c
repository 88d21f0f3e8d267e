/* Unit tests for the pure sortation decision (wcs/daemon/route.c): tote ids from labels (SSCC
 * and LPN), lane choice for every destination kind and refusal, the recirculation limit, and
 * the latency histogram's quantiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/tz.h"
#include "daemon/internal.h"
#include "daemon/route.h"

#include <stdio.h>
#include <string.h>

static const char site_yaml[] =
    "site: {id: t, name: Test, timezone: UTC}\n"
    "warehouses:\n"
    "  - code: WH1\n"
    "    name: Main\n"
    "    locations:\n"
    "      - {path: WH1/Pack, type: packing}\n"
    "      - {path: WH1/Pack2, type: packing}\n"
    "waves:\n"
    "  carriers: [{code: DHL, name: DHL, cutoffs: [\"16:00\"], lane: LD}]\n"
    "devices:\n"
    "  - {id: plc1, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:502\"}\n"
    "  - {id: sc1, kind: scale, model: mt-sics, uri: \"serial:///dev/ttyUSB0?baud=9600\"}\n"
    "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:9100\"}\n"
    "conveyor:\n"
    "  scan_points:\n"
    "    - {id: sp1, plc: plc1, read_base: 0, write_base: 100, max_recirc: 2,\n"
    "       lanes: [L1, L2, LD, LQ, LC, LR]}\n"
    "    - {id: sp2, plc: plc1, read_base: 200, write_base: 300, lanes: [L3, LR2]}\n"
    "  lanes:\n"
    "    - {id: L1, number: 1, destination: P1}\n"
    "    - {id: L2, number: 2, destination: P2}\n"
    "    - {id: LD, number: 3, destination: DHL}\n"
    "    - {id: LQ, number: 4, destination: qa}\n"
    "    - {id: LC, number: 99, destination: recirc}\n"
    "    - {id: LR, number: 9, destination: reject}\n"
    "    - {id: L3, number: 1, destination: P3}\n"
    "    - {id: LR2, number: 9, destination: reject}\n"
    "stations:\n"
    "  - {id: P1, kind: pack, location: WH1/Pack, scale: sc1, printer: pr1}\n"
    "  - {id: P2, kind: pack, location: WH1/Pack2, scale: sc1, printer: pr1}\n"
    "  - {id: P3, kind: pack, location: WH1/Pack2, scale: sc1, printer: pr1}\n"
    "labels: {company_prefix: \"0614141\", ship_from: {name: Test DC, street: Dock 1, city: Town,\n"
    "         postcode: \"12345\", country: DE}}\n";

struct fx {
    struct cfg_site *site;
    bool en[16], full[16];
    struct route_ctx ctx;
};

static int lane_idx(const struct cfg_site *s, const char *id)
{
    for (uint32_t i = 0; i < s->n_lanes; i++)
        if (strcmp(s->lanes[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int setup(void **state)
{
    static struct fx f;
    struct cfg_errors e;
    memset(&f, 0, sizeof(f));
    cfg_errors_init(&e);
    if (cfg_load_mem(&f.site, "route.yaml", site_yaml, strlen(site_yaml), &e) != 0) {
        for (size_t i = 0; i < e.count; i++)
            fprintf(stderr, "%s\n", e.lines[i]);
        cfg_errors_fini(&e);
        return -1;
    }
    cfg_errors_fini(&e);
    for (int i = 0; i < 16; i++)
        f.en[i] = true;
    f.ctx.site = f.site;
    f.ctx.sp = &f.site->scan_points[0];
    f.ctx.lane_enabled = f.en;
    f.ctx.lane_full = f.full;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cfg_free(f->site);
    return 0;
}

static void test_tote_id(void **state)
{
    char id[64];
    (void)state;
    /* Plain LPN, with and without an AIM identifier. */
    assert_int_equal(route_tote_id("T-0001", 6, id, sizeof(id)), 0);
    assert_string_equal(id, "T-0001");
    assert_int_equal(route_tote_id("]C0TOTE42", 9, id, sizeof(id)), 0);
    assert_string_equal(id, "TOTE42");
    /* GS1-128 SSCC: the 18 digits are the id; a bad check digit is refused. */
    assert_int_equal(route_tote_id("]C100106141411234567897", 23, id, sizeof(id)), 0);
    assert_string_equal(id, "106141411234567897");
    assert_int_equal(route_tote_id("]C100106141411234567898", 23, id, sizeof(id)), WCS_E_SYNTAX);
    assert_int_equal(route_tote_id("(00)106141411234567897", 22, id, sizeof(id)), 0);
    assert_string_equal(id, "106141411234567897");
    /* GS1 without an SSCC is a product label, not a tote. */
    assert_int_equal(route_tote_id("]C10109506000134352", 19, id, sizeof(id)), WCS_E_SYNTAX);
    /* Characters outside identifiers, empty, too long, embedded NUL. */
    assert_int_equal(route_tote_id("T 1", 3, id, sizeof(id)), WCS_E_SYNTAX);
    assert_int_equal(route_tote_id("T:1", 3, id, sizeof(id)), WCS_E_SYNTAX);
    assert_int_equal(route_tote_id("", 0, id, sizeof(id)), WCS_E_SYNTAX);
    assert_int_equal(route_tote_id("AB\0C", 4, id, sizeof(id)), WCS_E_SYNTAX);
    {
        char longid[80];
        memset(longid, 'A', sizeof(longid));
        assert_int_equal(route_tote_id(longid, 64, id, sizeof(id)), WCS_E_SYNTAX);
        assert_int_equal(route_tote_id(longid, 63, id, sizeof(id)), 0);
        assert_int_equal(route_tote_id("T-0001", 6, id, 4), WCS_E_EXHAUSTED);
    }
}

static void decide(struct fx *f, enum plc_read_result rr, const struct wcsd_tote *t,
                   const struct wcsd_order *o, struct route_out *out)
{
    struct route_in in = {.read_result = rr, .id_rc = 0, .tote = t, .order = o};
    route_decide(&f->ctx, &in, out);
}

static void test_destinations(void **state)
{
    struct fx *f = *state;
    struct wcsd_tote t = {.id = "T1", .order = "O1", .dest = WCSD_DEST_AUTO};
    struct wcsd_order o = {
        .id = "O1", .state = WCSD_ORDER_PICKING, .carrier = "DHL", .pack_station = "P2"};
    struct route_out r;

    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_DIVERT);
    assert_int_equal(r.lane, lane_idx(f->site, "L2"));
    assert_int_equal(r.dest_lane, 2);
    assert_int_equal(r.cmd_flags, 0);
    /* Packed: the carrier's lane. */
    o.state = WCSD_ORDER_PACKED;
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_DIVERT);
    assert_int_equal(r.dest_lane, 3);
    /* Explicit destinations on the tote win over the order. */
    t.dest = WCSD_DEST_QA;
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.dest_lane, 4);
    t.dest = WCSD_DEST_STATION;
    snprintf(t.dest_id, sizeof(t.dest_id), "P1");
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.dest_lane, 1);
    t.dest = WCSD_DEST_REJECT;
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_REJECT);
    assert_int_equal(r.reason, ROUTE_REJECT_ASKED);
    /* A destination served by another scan point: pass on (recirculate). */
    t.dest = WCSD_DEST_STATION;
    snprintf(t.dest_id, sizeof(t.dest_id), "P3");
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_RECIRC);
    assert_int_equal(r.reason, ROUTE_NOT_HERE);
    assert_int_equal(r.cmd_flags, PLC_CMD_RECIRCULATE);
    /* No lane anywhere. */
    snprintf(t.dest_id, sizeof(t.dest_id), "P9");
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_REJECT);
    assert_int_equal(r.reason, ROUTE_NO_DEST);
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    struct wcsd_tote t = {.id = "T1", .order = "O1"};
    struct wcsd_order o = {.id = "O1", .state = WCSD_ORDER_CANCELLED};
    struct route_out r;
    struct route_in in = {.read_result = PLC_READ_GOOD, .id_rc = WCS_E_SYNTAX};

    route_decide(&f->ctx, &in, &r);
    assert_int_equal(r.reason, ROUTE_MALFORMED);
    assert_int_equal(r.action, ROUTE_REJECT);
    assert_int_equal(r.dest_lane, 9);
    assert_int_equal(r.cmd_flags, PLC_CMD_REJECT);
    decide(f, PLC_READ_NOREAD, NULL, NULL, &r);
    assert_int_equal(r.reason, ROUTE_NOREAD);
    assert_int_equal(r.action, ROUTE_REJECT);
    decide(f, PLC_READ_MULTI, &t, &o, &r);
    assert_int_equal(r.reason, ROUTE_MULTIREAD);
    decide(f, PLC_READ_GOOD, NULL, NULL, &r);
    assert_int_equal(r.reason, ROUTE_UNKNOWN_TOTE);
    decide(f, PLC_READ_GOOD, &t, NULL, &r);
    assert_int_equal(r.reason, ROUTE_UNKNOWN_ORDER);
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.reason, ROUTE_CANCELLED);
    assert_int_equal(r.action, ROUTE_REJECT);
    o.state = WCSD_ORDER_SHIPPED;
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.reason, ROUTE_SHIPPED);
    o.state = WCSD_ORDER_PACKED; /* packed, but no carrier */
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.reason, ROUTE_NO_DEST);
}

static void test_full_disabled_recirc_limit(void **state)
{
    struct fx *f = *state;
    struct wcsd_tote t = {.id = "T1", .order = "O1"};
    struct wcsd_order o = {.id = "O1", .state = WCSD_ORDER_PICKING, .pack_station = "P1"};
    int l1 = lane_idx(f->site, "L1");
    struct route_out r;

    f->full[l1] = true;
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_RECIRC);
    assert_int_equal(r.reason, ROUTE_LANE_FULL);
    assert_int_equal(r.wanted_lane, l1);
    assert_int_equal(r.dest_lane, 99);
    f->full[l1] = false;
    f->en[l1] = false;
    t.recirc = 1;
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_RECIRC);
    assert_int_equal(r.reason, ROUTE_LANE_DISABLED);
    t.recirc = 2; /* max_recirc 2: no third loop */
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_REJECT);
    assert_int_equal(r.reason, ROUTE_RECIRC_EXHAUSTED);
    /* Any pack station: an enabled one is preferred over a disabled one. */
    o.pack_station[0] = '\0';
    t.recirc = 0;
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_DIVERT);
    assert_int_equal(r.lane, lane_idx(f->site, "L2"));
    f->en[l1] = true;
    /* A scan point without a recirculation lane rejects at once. */
    f->ctx.sp = &f->site->scan_points[1];
    t.dest = WCSD_DEST_STATION;
    snprintf(t.dest_id, sizeof(t.dest_id), "P3");
    f->full[lane_idx(f->site, "L3")] = true;
    decide(f, PLC_READ_GOOD, &t, &o, &r);
    assert_int_equal(r.action, ROUTE_REJECT);
    assert_int_equal(r.reason, ROUTE_LANE_FULL);
    assert_int_equal(r.lane, lane_idx(f->site, "LR2"));
    f->full[lane_idx(f->site, "L3")] = false;
    f->ctx.sp = &f->site->scan_points[0];
}

/* The decision table's classes: a tote names its destination or its order, an order its
 * destination or refusal, and each class has the decision route_decide makes for it. */
static void test_table_classes(void **state)
{
    struct fx *f = *state;
    struct wcsd_tote t = {.id = "T1", .order = "O1", .dest = WCSD_DEST_AUTO};
    struct wcsd_order o = {.id = "O1", .state = WCSD_ORDER_PICKING, .pack_station = "P2"};
    struct route_out r, want;
    char c[96];

    assert_int_equal(route_tote_class(&t, c, sizeof(c)), 0);
    assert_string_equal(c, "o:O1");
    assert_int_equal(route_tote_class(&t, c, 3), WCS_E_EXHAUSTED);
    t.order[0] = '\0';
    assert_int_equal(route_tote_class(&t, c, sizeof(c)), 0);
    assert_string_equal(c, "x:unknown_order");
    t.dest = WCSD_DEST_STATION;
    snprintf(t.dest_id, sizeof(t.dest_id), "P1");
    assert_int_equal(route_tote_class(&t, c, sizeof(c)), 0);
    assert_string_equal(c, "station:P1");
    t.dest = WCSD_DEST_CARRIER;
    snprintf(t.dest_id, sizeof(t.dest_id), "DHL");
    assert_int_equal(route_tote_class(&t, c, sizeof(c)), 0);
    assert_string_equal(c, "carrier:DHL");
    t.dest = WCSD_DEST_QA;
    assert_int_equal(route_tote_class(&t, c, sizeof(c)), 0);
    assert_string_equal(c, "qa");
    t.dest = WCSD_DEST_REJECT;
    assert_int_equal(route_tote_class(&t, c, sizeof(c)), 0);
    assert_string_equal(c, "reject");

    assert_int_equal(route_order_key("O1", c, sizeof(c)), 0);
    assert_string_equal(c, "o:O1");
    assert_int_equal(route_order_class(&o, c, sizeof(c)), 0);
    assert_string_equal(c, "station:P2");
    o.pack_station[0] = '\0';
    assert_int_equal(route_order_class(&o, c, sizeof(c)), 0);
    assert_string_equal(c, "station:");
    o.state = WCSD_ORDER_PACKED;
    assert_int_equal(route_order_class(&o, c, sizeof(c)), 0);
    assert_string_equal(c, "x:no_dest");
    snprintf(o.carrier, sizeof(o.carrier), "DHL");
    assert_int_equal(route_order_class(&o, c, sizeof(c)), 0);
    assert_string_equal(c, "carrier:DHL");
    o.state = WCSD_ORDER_CANCELLED;
    assert_int_equal(route_order_class(&o, c, sizeof(c)), 0);
    assert_string_equal(c, "x:cancelled");
    o.state = WCSD_ORDER_SHIPPED;
    assert_int_equal(route_order_class(&o, c, sizeof(c)), 0);
    assert_string_equal(c, "x:shipped");

    /* Each class decides as route_decide does for a tote of that class (all lanes up). */
    assert_true(route_class_rule(&f->ctx, "station:P2", &r));
    o.state = WCSD_ORDER_PICKING;
    snprintf(o.pack_station, sizeof(o.pack_station), "P2");
    t.dest = WCSD_DEST_AUTO;
    snprintf(t.order, sizeof(t.order), "O1");
    decide(f, PLC_READ_GOOD, &t, &o, &want);
    assert_int_equal(r.action, ROUTE_DIVERT);
    assert_int_equal(r.dest_lane, want.dest_lane);
    assert_int_equal(r.lane, want.lane);
    assert_int_equal(r.cmd_flags, want.cmd_flags);
    assert_true(route_class_rule(&f->ctx, "station:", &r)); /* any pack station: L1 first */
    assert_int_equal(r.dest_lane, 1);
    assert_true(route_class_rule(&f->ctx, "carrier:DHL", &r));
    assert_int_equal(r.dest_lane, 3);
    assert_int_equal(r.lane, lane_idx(f->site, "LD"));
    assert_true(route_class_rule(&f->ctx, "qa", &r));
    assert_int_equal(r.dest_lane, 4);
    assert_true(route_class_rule(&f->ctx, "reject", &r));
    assert_int_equal(r.action, ROUTE_REJECT);
    assert_int_equal(r.cmd_flags, PLC_CMD_REJECT);
    assert_int_equal(r.dest_lane, 9);
    assert_true(route_class_rule(&f->ctx, "x:cancelled", &r));
    assert_int_equal(r.reason, ROUTE_CANCELLED);
    assert_true(route_class_rule(&f->ctx, "x:shipped", &r));
    assert_int_equal(r.reason, ROUTE_SHIPPED);
    assert_true(route_class_rule(&f->ctx, "x:no_dest", &r));
    assert_int_equal(r.reason, ROUTE_NO_DEST);
    assert_true(route_class_rule(&f->ctx, "x:unknown_order", &r));
    assert_int_equal(r.reason, ROUTE_UNKNOWN_ORDER);
    assert_true(route_class_rule(&f->ctx, "station:P9", &r)); /* no lane anywhere: config */
    assert_int_equal(r.reason, ROUTE_NO_DEST);
    /* The loop decides: served by another scan point (recirculate, counts), unknown class. */
    assert_false(route_class_rule(&f->ctx, "station:P3", &r));
    assert_false(route_class_rule(&f->ctx, "carrier:", &r));
    assert_false(route_class_rule(&f->ctx, "bogus", &r));
    /* sp2 has no recirculation lane: "not here" is a reject there, still the loop's. */
    f->ctx.sp = &f->site->scan_points[1];
    assert_false(route_class_rule(&f->ctx, "station:P1", &r));
    assert_true(route_class_rule(&f->ctx, "station:P3", &r));
    assert_int_equal(r.dest_lane, 1);
    f->ctx.sp = &f->site->scan_points[0];
}

static void test_hist(void **state)
{
    struct hist h;
    (void)state;
    hist_reset(&h);
    assert_int_equal(hist_quantile(&h, 0.5), 0);
    for (uint64_t i = 1; i <= 1000; i++)
        hist_add(&h, i);
    assert_int_equal(h.count, 1000);
    assert_int_equal(h.max_us, 1000);
    /* 1/16 relative resolution: the bucket upper bound is within 6.25 % above the value. */
    assert_in_range(hist_quantile(&h, 0.50), 500, 532);
    assert_in_range(hist_quantile(&h, 0.99), 990, 1000);
    assert_int_equal(hist_quantile(&h, 1.0), 1000);
    hist_add(&h, 5000000);
    assert_int_equal(hist_quantile(&h, 1.0), 5000000);
    assert_in_range(hist_quantile(&h, 0.999), 990, 1063);
    /* Small values are exact. */
    hist_reset(&h);
    hist_add(&h, 7);
    assert_int_equal(hist_quantile(&h, 0.5), 7);
    /* Huge values land in the last bucket without overflow. */
    hist_add(&h, UINT64_MAX / 2);
    assert_true(hist_quantile(&h, 1.0) == UINT64_MAX / 2);
}

/* Shipping's on-time check reads local time from the zone file (base/tz), no TZ switch: a
 * carton confirmed at 15:30 UTC in Berlin is 17:30 in summer and 16:30 in winter. */
static void test_ship_local_minutes(void **state)
{
    struct wcs_tz *z = NULL;
    char err[128];
    struct cfg_carrier c = {0};
    uint16_t cutoffs[] = {17 * 60};
    (void)state;
    assert_int_equal(tz_load(&z, "Europe/Berlin", err, sizeof(err)), 0);
    int64_t summer = tz_days_from_civil(2026, 7, 1) * 86400 + 15 * 3600 + 30 * 60;
    int64_t winter = tz_days_from_civil(2026, 12, 1) * 86400 + 15 * 3600 + 30 * 60;
    assert_int_equal(ship_local_minutes(z, summer), 17 * 60 + 30);
    assert_int_equal(ship_local_minutes(z, winter), 16 * 60 + 30);
    assert_int_equal(ship_local_minutes(z, tz_days_from_civil(2026, 7, 1) * 86400 + 22 * 3600),
                     0); /* local midnight */
    assert_int_equal(ship_local_minutes(NULL, summer), -1);
    c.cutoffs_min = cutoffs;
    c.n_cutoffs = 1;
    assert_false(ship_on_time(&c, ship_local_minutes(z, summer)));
    assert_true(ship_on_time(&c, ship_local_minutes(z, winter)));
    tz_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tote_id),
        cmocka_unit_test(test_destinations),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_full_disabled_recirc_limit),
        cmocka_unit_test(test_hist),
        cmocka_unit_test(test_table_classes),
        cmocka_unit_test(test_ship_local_minutes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
