/* Integration tests of the pack stations and shipping in the daemon: harness redis-server and
 * mosquitto, the simulator's scanner (TCP), MT-SICS scale and two ZPL printers (9100-style,
 * paper-out) and its PLC for the carrier lane, the daemon's loop pumped by the test thread. One
 * fixture, tests in order, each on its own order and totes: a good pack to a shipped carton,
 * a wrong item, a carton out of tolerance to QA, an unstable scale, the fallback printer, both
 * printers silent (HELD, then exactly one label), pack.reset, and a restart mid-session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "daemonfix.h"
#include "packfix.h"
#include "daemon/daemon.h"
#include "daemon/pack.h"
#include "drivers/codec/gs1.h"
#include "harness/harness.h"
#include "sim/plc.h"
#include "sim/printer.h"
#include "sim/scale.h"
#include "sim/scanner.h"
#include "tclient.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE   "t"
#define GTIN_A "09506000134352" /* SKU-A, 500 g */
#define GTIN_B "4006381333931"  /* SKU-B, 250 g, lot-tracked */
#define GTIN_C "5901234123457"  /* SKU-C, in no tote */
#define GTIN_S "09506000134390" /* SKU-S, 200 g, serial-tracked */

struct fx {
    char dir[128], cfg[192];
    struct harness_redis *redis;
    struct harness_mqtt *mqtt;
    struct sim_plc *plc;
    struct sim_scanner *scn;
    struct sim_scale *scale;
    struct sim_printer *pr1, *pr2;
    struct wcsd *d;
    struct tclient *mq;
};

static struct fx F;

/* ---- helpers ---- */

/* The in-process daemon helpers (tests/common/daemonfix.h) under this suite's names. */
#define pump       dfx_pump
#define pump_until dfx_pump_until
#define rconn      dfx_rconn
#define rcmd       dfx_rcmd
#define is_ready   dfx_is_ready

/* HGET wcs:{t}:<key> field into out ("" when absent). */
static void hget(const char *key, const char *field, char *out, size_t cap)
{
    char k[160];
    snprintf(k, sizeof(k), "wcs:{" SITE "}:%s", key);
    dfx_hget(k, field, out, cap);
}

static long long hlen(const char *key)
{
    char k[160];
    snprintf(k, sizeof(k), "wcs:{" SITE "}:%s", key);
    return dfx_hlen(k);
}

static void wait_field(const char *key, const char *field, const char *want, int ms)
{
    char k[160];
    snprintf(k, sizeof(k), "wcs:{" SITE "}:%s", key);
    dfx_wait_field(k, field, want, ms);
}

/* retained: documents the message's kind; it arrives without the flag while subscribed. */
static void wait_mq(size_t from, const char *topic, const char *needle, bool retained, int ms)
{
    (void)retained;
    dfx_wait_mq(F.mq, from, topic, needle, ms);
}

static size_t mq_mark(void)
{
    return tc_count(F.mq);
}

static bool scanner_connected(void *arg)
{
    (void)arg;
    return sim_scanner_clients(F.scn) >= 1;
}

/* The station scanner reads barcode (aim NULL: the emulator's default "]C1"). */
static void scan(const char *barcode, const char *aim)
{
    assert_true(pump_until(scanner_connected, NULL, 5000));
    assert_int_equal(sim_scanner_read(F.scn, barcode, aim, NULL, NULL, 0), 0);
    pump(150);
}

static void scan_tote(const char *tote)
{
    scan(tote, "]C0");
}

static void scan_item(const char *gtin, const char *lot)
{
    char b[64];
    /* AI 01 and the GTIN-14, then AI 10 and the lot (last: no GS needed). */
    snprintf(b, sizeof(b), "01%s%s%s%s", strlen(gtin) == 13 ? "0" : "", gtin, lot ? "10" : "",
             lot ? lot : "");
    scan(b, "]C1");
}

static void write_config(void)
{
    FILE *f = fopen(F.cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "site: {id: " SITE ", name: Test, timezone: UTC}\n"
            "warehouses:\n"
            "  - {code: WH1, name: Main, locations: [{path: WH1/Pack, type: packing}]}\n"
            "products:\n"
            "  - {sku: SKU-A, name: A, gtins: [\"" GTIN_A "\"], weight_g: 500}\n"
            "  - {sku: SKU-B, name: B, gtins: [\"" GTIN_B "\"], weight_g: 250, tracking: lot}\n"
            "  - {sku: SKU-C, name: C, gtins: [\"" GTIN_C "\"], weight_g: 100}\n"
            "  - {sku: SKU-S, name: S, gtins: [\"" GTIN_S "\"], weight_g: 200, tracking: serial}\n"
            "waves:\n"
            "  carriers: [{code: DHL, name: DHL, cutoffs: [\"23:59\"], lane: L2}]\n"
            "devices:\n"
            "  - {id: plc1, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:%u\",\n"
            "     poll_ms: 5, heartbeat_ms: 250, timeout_ms: 500}\n"
            "  - {id: scn1, kind: scanner, model: line, uri: \"tcp://127.0.0.1:%u\",\n"
            "     no_read: NOREAD, multi_read: MULTIREAD}\n"
            "  - {id: sc1, kind: scale, model: mt-sics, uri: \"tcp://127.0.0.1:%u\"}\n"
            "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:%u\"}\n"
            "  - {id: pr2, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:%u\"}\n"
            "conveyor:\n"
            "  scan_points:\n"
            "    - {id: sp1, plc: plc1, read_base: 0, write_base: 100, max_recirc: 2,\n"
            "       decision_budget_ms: 100, lanes: [L1, L2, L3, LC, LR]}\n"
            "  lanes:\n"
            "    - {id: L1, number: 1, destination: P1}\n"
            "    - {id: L2, number: 2, destination: DHL}\n"
            "    - {id: L3, number: 3, destination: qa}\n"
            "    - {id: LC, number: 99, destination: recirc}\n"
            "    - {id: LR, number: 9, destination: reject}\n"
            "stations:\n"
            "  - {id: P1, kind: pack, location: WH1/Pack, scanner: scn1, scale: sc1,\n"
            "     printer: pr1, fallback_printer: pr2, weight_tolerance_pct: 5, packaging_g: 100}\n"
            "labels:\n"
            "  company_prefix: \"0614141\"\n"
            "  ship_from: {name: Test DC, street: Dock 1, city: Town, postcode: \"12345\",\n"
            "              country: DE}\n"
            "roles:\n"
            "  - {name: supervisor, commands: [\"*\"]}\n"
            "users:\n"
            "  - {name: sup, roles: [supervisor]}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-pack, user: wcs,\n"
            "       password_file: %s, keepalive_s: 5, qos: 1}\n",
            sim_plc_port(F.plc), sim_scanner_port(F.scn), sim_scale_port(F.scale),
            sim_printer_port(F.pr1), sim_printer_port(F.pr2), harness_redis_port(F.redis),
            harness_redis_user(F.redis), harness_redis_password_file(F.redis),
            harness_mqtt_port(F.mqtt), harness_mqtt_password_file(F.mqtt, "wcs"));
    fclose(f);
}

/* An order in state picked with its totes: "T:SKU:lot:qty,...". */
static void seed_order(const char *order, const char *totes)
{
    char buf[256], *save = NULL, *it;
    rcmd("HSET wcs:{" SITE "}:order:%s state picked carrier DHL pack_station P1 ship_to %s", order,
         "{\"name\":\"Ada Buyer\",\"street\":\"Main St 5\",\"city\":\"Berlin\","
         "\"postcode\":\"10115\",\"country\":\"DE\"}");
    rcmd("SADD wcs:{" SITE "}:orders:open %s", order);
    snprintf(buf, sizeof(buf), "%s", totes);
    for (it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char tote[32], sku[32], lot[32];
        int qty;
        assert_int_equal(sscanf(it, "%31[^:]:%31[^:]:%31[^:]:%d", tote, sku, lot, &qty), 4);
        rcmd("HSET wcs:{" SITE "}:tote:%s order %s state picking", tote, order);
        rcmd("HSET wcs:{" SITE "}:tote:%s:contents %s:%s %d", tote, sku,
             strcmp(lot, "-") == 0 ? "" : lot, qty);
    }
}

static int open_daemon(void)
{
    struct wcsd_opts o = {0};
    o.config_path = F.cfg;
    o.kpi_interval_ms = 500;
    o.lost_timeout_ms = 8000;
    o.drain_timeout_ms = 2000;
    return wcsd_open(&F.d, &o);
}

static bool station_loaded(void *arg)
{
    (void)arg;
    return tc_find(F.mq, 0, "wcs/v1/" SITE "/state/station/P1", "\"IDLE\"") >= 0;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    struct sim_plc_cfg pc;
    struct sim_scanner_cfg sc;
    struct sim_scale_cfg kc;
    struct sim_printer_cfg prc;
    (void)state;

    log_init(NULL, LOGL_INFO);
    dfx_bind(&F.d, &F.redis, NULL);
    snprintf(F.dir, sizeof(F.dir), "/tmp/wcs-pack-XXXXXX");
    if (dfx_start(F.dir, SITE, &F.redis, &F.mqtt) != 0)
        return -1;
    snprintf(F.cfg, sizeof(F.cfg), "%s/site.yaml", F.dir);
    pf_emulator_cfgs(F.dir, &pc, &sc, &kc, &prc);
    if (sim_plc_open(&F.plc, &pc) != 0 || sim_scanner_open(&F.scn, &sc) != 0 ||
        sim_scale_open(&F.scale, &kc) != 0 || sim_printer_open(&F.pr1, &prc) != 0 ||
        sim_printer_open(&F.pr2, &prc) != 0)
        return -1;
    write_config();
    if (!(F.mq = dfx_sup_client(F.mqtt, SITE)))
        return -1;
    if (open_daemon() != 0)
        return -1;
    if (!pump_until(is_ready, NULL, 10000) || !pump_until(station_loaded, NULL, 5000))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wcsd_close(F.d);
    tc_close(F.mq);
    sim_plc_close(F.plc);
    sim_scanner_close(F.scn);
    sim_scale_close(F.scale);
    sim_printer_close(F.pr1);
    sim_printer_close(F.pr2);
    harness_mqtt_free(F.mqtt);
    harness_redis_free(F.redis);
    return 0;
}

/* ---- tests ---- */

static void test_good_pack_to_shipped(void **state)
{
    char sscc[19], v[512], carton[32];
    size_t m = mq_mark();
    uint32_t track = 0;
    (void)state;
    seed_order("O1", "T1:SKU-A:-:2,T2:SKU-B:L7:1,T2:SKU-S:SN7:1");
    rcmd("SADD wcs:{" SITE "}:tote:T2:serials SKU-S:SN7"); /* as pick.confirm records it */
    sim_scale_set_load(F.scale, 1550000);                  /* 2 x 500 + 250 + 200 + 100 packaging */

    scan_tote("T1");
    wait_field("station:P1", "step", "verify", 3000);
    wait_mq(m, "wcs/v1/" SITE "/state/station/P1", "\"EXECUTE\"", true, 3000);
    scan_tote("T2");
    scan_item(GTIN_A, NULL);
    scan_item(GTIN_A, NULL);
    scan_item(GTIN_B, "L7");
    /* The serial-tracked unit: another serial than the tote's is a wrong item. */
    scan("01" GTIN_S "21SN8", "]C1");
    wait_field("station:P1", "wrong_items", "1", 3000);
    scan("01" GTIN_S "21SN7", "]C1");

    struct label_cond lc = {F.pr1, 1};
    assert_true(pump_until(labels_at_least, &lc, 8000));
    sscc_of(1, sscc);
    assert_label_sscc(F.pr1, 1, sscc);
    assert_int_equal(gs1_check_digit(sscc, 17), sscc[17] - '0');

    wait_field("shipment:SH-1", "state", "packed", 3000);
    hget("shipment:SH-1", "sscc", v, sizeof(v));
    assert_string_equal(v, sscc);
    hget("shipment:SH-1", "order", v, sizeof(v));
    assert_string_equal(v, "O1");
    hget("shipment:SH-1", "weight_mg", v, sizeof(v));
    assert_string_equal(v, "1550000");
    hget("shipment:SH-1", "items", v, sizeof(v));
    assert_non_null(strstr(v, "\"sku\":\"SKU-A\""));
    assert_non_null(strstr(v, "\"lot\":\"L7\""));
    assert_non_null(
        strstr(v, "{\"sku\":\"SKU-S\",\"lot\":\"SN7\",\"qty\":1,\"serials\":[\"SN7\"]}"));
    wait_field("order:O1", "state", "packed", 2000);
    snprintf(carton, sizeof(carton), "tote:%s", sscc);
    hget(carton, "dest", v, sizeof(v));
    assert_string_equal(v, "carrier:DHL");
    assert_int_equal(hlen("tote:T1:contents"), 0);
    assert_int_equal(hlen("tote:T2:contents"), 0);
    {
        redisContext *c = rconn();
        redisReply *x = c ? redisCommand(c, "EXISTS wcs:{" SITE "}:tote:T2:serials") : NULL;
        assert_non_null(x);
        assert_int_equal(x->integer, 0); /* emptied with the contents */
        freeReplyObject(x);
        redisFree(c);
    }
    wait_field("station:P1", "step", "idle", 2000);
    wait_mq(m, "wcs/v1/" SITE "/evt/weigh", "\"ok\":true", false, 2000);
    wait_mq(m, "wcs/v1/" SITE "/evt/label", sscc, false, 2000);
    wait_mq(m, "wcs/v1/" SITE "/evt/pack", "\"packed\"", false, 2000);

    /* The carton on the sorter: routed to the DHL lane, confirmed there, shipped. */
    {
        char bc[40];
        snprintf(bc, sizeof(bc), "]C100%s", sscc);
        assert_int_equal(sim_plc_induct(F.plc, 0, bc, SIM_READ_GOOD, &track), 0);
    }
    wait_field("shipment:SH-1", "state", "shipped", 10000);
    wait_field("order:O1", "state", "shipped", 2000);
    wait_mq(m, "wcs/v1/" SITE "/evt/ship", "\"shipment\":\"SH-1\"", false, 3000);
    {
        long i = tc_find(F.mq, m, "wcs/v1/" SITE "/evt/ship", "SH-1");
        const struct tmsg *msg = tc_msg(F.mq, (size_t)i);
        assert_non_null(strstr(msg->payload, "\"carrier\":\"DHL\""));
        assert_non_null(strstr(msg->payload, sscc));
        assert_non_null(strstr(msg->payload, "\"serials\":[]"));
        assert_non_null(strstr(msg->payload, "{\"sku\":\"SKU-S\",\"lot\":\"SN7\",\"qty\":1,"
                                             "\"serials\":[\"SN7\"]}"));
        assert_non_null(strstr(msg->payload, "\"on_time\":true"));
    }
    hget("kpi", "ship_on_time", v, sizeof(v));
    assert_string_equal(v, "1");
    assert_int_equal(labels(F.pr2), 0);
}

static void test_wrong_item_refused(void **state)
{
    char v[64];
    size_t m = mq_mark();
    (void)state;
    seed_order("O2", "T3:SKU-A:-:1");
    scan_tote("T3");
    wait_field("station:P1", "order", "O2", 3000);
    scan_item(GTIN_C, NULL); /* a product not in the tote */
    wait_mq(m, "wcs/v1/" SITE "/evt/pack", "\"wrong_item\"", false, 3000);
    scan_item(GTIN_B, NULL);          /* lot-tracked without its lot */
    scan_item("4000000000006", NULL); /* a valid GTIN no product has */
    wait_mq(m, "wcs/v1/" SITE "/evt/pack", "\"unknown_item\"", false, 3000);
    wait_field("station:P1", "wrong_items", "3", 3000);
    hget("station:P1", "step", v, sizeof(v));
    assert_string_equal(v, "verify");
    /* A tote of another order is refused and changes nothing. */
    seed_order("O2X", "T3X:SKU-A:-:1");
    scan_tote("T3X");
    wait_mq(m, "wcs/v1/" SITE "/evt/pack", "\"other_order\"", false, 3000);
    hget("station:P1", "totes", v, sizeof(v));
    assert_string_equal(v, "[\"T3\"]");
    /* pack.reset naming another order's carton changes nothing. */
    {
        const char *cmd = "{\"request_id\":\"r-reset-0\",\"station\":\"P1\",\"order\":\"O2X\"}";
        assert_int_equal(tc_pub(F.mq, "wcs/v1/" SITE "/cmd/sup/pack.reset", cmd, strlen(cmd), 1,
                                false, NULL, NULL),
                         0);
    }
    wait_mq(m, "wcs/v1/" SITE "/reply/sup/r-reset-0", "is packing order O2, not O2X: nothing reset",
            false, 5000);
    hget("station:P1", "order", v, sizeof(v));
    assert_string_equal(v, "O2");
    hget("station:P1", "step", v, sizeof(v));
    assert_string_equal(v, "verify");
    /* pack.reset: the session is abandoned, the tote keeps its contents. */
    {
        const char *cmd = "{\"request_id\":\"r-reset-1\",\"station\":\"P1\",\"order\":\"O2\"}";
        assert_int_equal(tc_pub(F.mq, "wcs/v1/" SITE "/cmd/sup/pack.reset", cmd, strlen(cmd), 1,
                                false, NULL, NULL),
                         0);
    }
    wait_mq(m, "wcs/v1/" SITE "/reply/sup/r-reset-1", "\"ok\":true", false, 5000);
    wait_field("station:P1", "step", "idle", 3000);
    assert_int_equal(hlen("tote:T3:contents"), 1);
    hget("order:O2", "state", v, sizeof(v));
    assert_string_equal(v, "picked");
}

static void test_out_of_tolerance_to_qa(void **state)
{
    char v[64];
    size_t m = mq_mark();
    (void)state;
    seed_order("O3", "T4:SKU-A:-:1");
    sim_scale_set_load(F.scale, 900000); /* expected 600 g */
    scan_tote("T4");
    wait_field("station:P1", "order", "O3", 3000);
    scan_item(GTIN_A, NULL);
    wait_field("tote:T4", "dest", "qa", 8000);
    wait_mq(m, "wcs/v1/" SITE "/alarm/pack.P1.weight", "expected 0.600 kg", true, 3000);
    wait_mq(m, "wcs/v1/" SITE "/evt/weigh", "\"ok\":false", false, 3000);
    wait_field("station:P1", "step", "idle", 3000);
    hget("order:O3", "state", v, sizeof(v));
    assert_string_equal(v, "picked");
    assert_int_equal(hlen("tote:T4:contents"), 1);
    {
        struct wcsd_tote t;
        assert_int_equal(wcsd_tote_get(F.d, "T4", &t), 0);
        assert_int_equal(t.dest, WCSD_DEST_QA);
    }
}

static void test_unstable_then_stable(void **state)
{
    unsigned before = labels(F.pr1);
    (void)state;
    seed_order("O4", "T5:SKU-A:-:1");
    sim_scale_set_load(F.scale, 600000);
    sim_scale_set_unstable(F.scale, true);
    scan_tote("T5");
    wait_field("station:P1", "order", "O4", 3000);
    scan_item(GTIN_A, NULL);
    pump(900); /* at least one unstable answer */
    assert_int_equal(labels(F.pr1), before);
    sim_scale_set_unstable(F.scale, false);
    struct label_cond lc = {F.pr1, before + 1};
    assert_true(pump_until(labels_at_least, &lc, 8000));
    wait_field("order:O4", "state", "packed", 3000);
}

static void test_paper_out_fallback_once(void **state)
{
    unsigned b1 = labels(F.pr1), b2 = labels(F.pr2);
    char v[64], sscc[19];
    (void)state;
    seed_order("O5", "T6:SKU-A:-:1");
    sim_scale_set_load(F.scale, 600000);
    sim_printer_set_paper_out(F.pr1, true);
    scan_tote("T6");
    wait_field("station:P1", "order", "O5", 3000);
    scan_item(GTIN_A, NULL);
    struct label_cond lc = {F.pr2, b2 + 1};
    assert_true(pump_until(labels_at_least, &lc, 10000));
    wait_field("order:O5", "state", "packed", 3000);
    hget("station:P1", "step", v, sizeof(v));
    assert_string_equal(v, "idle");
    hget("shipment:SH-3", "sscc", v, sizeof(v));
    assert_int_equal(strlen(v), 18);
    snprintf(sscc, sizeof(sscc), "%.18s", v); /* 18 digits, checked above */
    assert_label_sscc(F.pr2, b2 + 1, sscc);
    sim_printer_set_paper_out(F.pr1, false);
    pump(1500);
    assert_int_equal(labels(F.pr1), b1);
    assert_int_equal(labels(F.pr2), b2 + 1);
}

static void test_both_printers_silent_held(void **state)
{
    unsigned b1 = labels(F.pr1), b2 = labels(F.pr2);
    size_t m = mq_mark();
    (void)state;
    seed_order("O6", "T7:SKU-A:-:1");
    sim_scale_set_load(F.scale, 600000);
    sim_printer_set_paper_out(F.pr1, true);
    sim_printer_set_head_open(F.pr2, true);
    scan_tote("T7");
    wait_field("station:P1", "order", "O6", 3000);
    scan_item(GTIN_A, NULL);
    wait_field("station:P1", "state", "HELD", 10000);
    wait_mq(m, "wcs/v1/" SITE "/alarm/pack.P1.printer", "O6", true, 3000);
    wait_mq(m, "wcs/v1/" SITE "/state/station/P1", "\"HELD\"", true, 3000);
    pump(1500);
    assert_int_equal(labels(F.pr1) + labels(F.pr2), b1 + b2);
    sim_printer_set_head_open(F.pr2, false); /* the printer holding the job comes back */
    wait_field("order:O6", "state", "packed", 10000);
    wait_field("station:P1", "state", "IDLE", 3000);
    sim_printer_set_paper_out(F.pr1, false);
    pump(2500);
    assert_int_equal(labels(F.pr1) + labels(F.pr2), b1 + b2 + 1);
    assert_true(tc_find(F.mq, m, "wcs/v1/" SITE "/alarm/pack.P1.printer", NULL) >= 0);
}

static void test_restart_resumes_session(void **state)
{
    unsigned before = labels(F.pr1);
    char v[64];
    (void)state;
    seed_order("O7", "T8:SKU-A:-:2");
    sim_scale_set_load(F.scale, 1100000);
    scan_tote("T8");
    wait_field("station:P1", "order", "O7", 3000);
    scan_item(GTIN_A, NULL);
    wait_field("station:P1", "lines", "[{\"sku\":\"SKU-A\",\"lot\":\"\",\"qty\":2,\"verified\":1}]",
               3000);
    wcsd_close(F.d);
    F.d = NULL;
    /* Let the emulated scanner drop the old connection, so that a client it counts is new. */
    for (int i = 0; i < 100 && sim_scanner_clients(F.scn) > 0; i++)
        usleep(20000);
    assert_int_equal(open_daemon(), 0);
    /* The session comes back from Redis once it is up (READY also waits for the PLC). */
    assert_true(pump_until(scanner_connected, NULL, 5000));
    pump(1500);
    scan_item(GTIN_A, NULL);
    struct label_cond lc = {F.pr1, before + 1};
    assert_true(pump_until(labels_at_least, &lc, 10000));
    wait_field("order:O7", "state", "packed", 3000);
    hget("station:P1", "wrong_items", v, sizeof(v));
    assert_string_equal(v, "0");
}

static void send_cmd(const char *command, const char *rid, const char *fields)
{
    char body[512], topic[128];
    snprintf(body, sizeof(body), "{\"request_id\":\"%s\",%s}", rid, fields);
    snprintf(topic, sizeof(topic), "wcs/v1/" SITE "/cmd/sup/%s", command);
    assert_int_equal(tc_pub(F.mq, topic, body, strlen(body), 1, false, NULL, NULL), 0);
}

/* label.reprint prints SH-1's SSCC label again on the station's printer, then on the one
 * named; each once, through the printer job path (evt/label reprinted). */
static void test_label_reprint_prints(void **state)
{
    char sscc[19];
    size_t m = mq_mark();
    unsigned n1 = labels(F.pr1), n2 = labels(F.pr2);
    (void)state;
    sscc_of(1, sscc);
    send_cmd("label.reprint", "rp-1", "\"shipment\":\"SH-1\"");
    wait_mq(m, "wcs/v1/" SITE "/reply/sup/rp-1", "\"ok\":true", false, 3000);
    struct label_cond lc = {F.pr1, n1 + 1};
    assert_true(pump_until(labels_at_least, &lc, 8000));
    assert_label_sscc(F.pr1, n1 + 1, sscc);
    wait_mq(m, "wcs/v1/" SITE "/evt/label", "\"reprinted\"", false, 3000);
    send_cmd("label.reprint", "rp-2", "\"shipment\":\"SH-1\",\"printer\":\"pr2\"");
    struct label_cond lc2 = {F.pr2, n2 + 1};
    assert_true(pump_until(labels_at_least, &lc2, 8000));
    assert_label_sscc(F.pr2, n2 + 1, sscc);
    pump(500);
    assert_int_equal(labels(F.pr1), n1 + 1); /* printed once each */
    assert_int_equal(labels(F.pr2), n2 + 1);
}

/* A floor alarm (dev.pr2.link, the printer gone) is in the Redis registry, acknowledgeable with
 * alarm.ack, republished with acked_by while it stays raised. */
static void test_floor_alarm_ack(void **state)
{
    size_t m = mq_mark();
    char v[64];
    (void)state;
    sim_printer_close(F.pr2);
    F.pr2 = NULL;
    wait_mq(m, "wcs/v1/" SITE "/alarm/dev.pr2.link", "\"id\":\"dev.pr2.link\"", true, 10000);
    wait_field("alarm:dev.pr2.link", "state", "active", 3000);
    send_cmd("alarm.ack", "ack-1", "\"alarm\":\"dev.pr2.link\",\"note\":\"cable\"");
    wait_mq(m, "wcs/v1/" SITE "/reply/sup/ack-1", "\"ok\":true", false, 3000);
    wait_field("alarm:dev.pr2.link", "acked_by", "sup", 3000);
    wait_mq(m, "wcs/v1/" SITE "/alarm/dev.pr2.link", "\"acked_by\":\"sup\"", true, 3000);
    hget("alarm:dev.pr2.link", "note", v, sizeof(v));
    assert_string_equal(v, "cable");
    /* Acknowledged once only; an unknown alarm is refused as before. */
    send_cmd("alarm.ack", "ack-2", "\"alarm\":\"dev.pr2.link\"");
    wait_mq(m, "wcs/v1/" SITE "/reply/sup/ack-2", "was acknowledged by sup", false, 3000);
    send_cmd("alarm.ack", "ack-3", "\"alarm\":\"plc.none.link\"");
    wait_mq(m, "wcs/v1/" SITE "/reply/sup/ack-3", "unknown alarm", false, 3000);
}

/* A packer scanning faster than the station's Redis steps: the tote and both units read back to
 * back, while the tote's contents are still being read. Every read is held and answered in
 * order (no "busy" refusal), and the carton is verified, weighed and labelled. */
static void test_burst_scans_held(void **state)
{
    size_t m = mq_mark();
    struct label_cond lc = {F.pr1, labels(F.pr1) + 1};
    (void)state;
    seed_order("OB1", "TB1:SKU-A:-:2");
    sim_scale_set_load(F.scale, 1100000); /* 2 x 500 + 100 packaging */
    assert_true(pump_until(scanner_connected, NULL, 5000));
    assert_int_equal(sim_scanner_read(F.scn, "TB1", "]C0", NULL, NULL, 0), 0);
    assert_int_equal(sim_scanner_read(F.scn, "01" GTIN_A, "]C1", NULL, NULL, 0), 0);
    assert_int_equal(sim_scanner_read(F.scn, "01" GTIN_A, "]C1", NULL, NULL, 0), 0);
    assert_true(pump_until(labels_at_least, &lc, 8000));
    wait_field("order:OB1", "state", "packed", 3000);
    assert_int_equal(tc_find(F.mq, m, "wcs/v1/" SITE "/evt/pack", "\"busy\""), -1);
    assert_int_equal(tc_find(F.mq, m, "wcs/v1/" SITE "/evt/pack", "\"error\""), -1);
}

/* A packer scanning faster than the station can hold: with Redis stopped, the tote's read waits,
 * 16 unit scans are held and the 17th is refused "busy" naming the GTIN to scan again; that unit
 * scanned again completes the carton. */
static void test_full_queue_refused_busy(void **state)
{
    size_t m = mq_mark();
    struct label_cond lc = {F.pr1, labels(F.pr1) + 1};
    long i;
    (void)state;
    seed_order("OB2", "TB2:SKU-A:-:17");
    sim_scale_set_load(F.scale, 8600000); /* 17 x 500 + 100 packaging */
    assert_true(pump_until(scanner_connected, NULL, 5000));
    assert_int_equal(kill(harness_redis_pid(F.redis), SIGSTOP), 0);
    assert_int_equal(sim_scanner_read(F.scn, "TB2", "]C0", NULL, NULL, 0), 0);
    for (int k = 0; k < 17; k++)
        assert_int_equal(sim_scanner_read(F.scn, "01" GTIN_A, "]C1", NULL, NULL, 0), 0);
    pump(300);
    assert_int_equal(kill(harness_redis_pid(F.redis), SIGCONT), 0);
    wait_mq(m, "wcs/v1/" SITE "/evt/pack", "\"busy\"", false, 3000);
    i = tc_find(F.mq, m, "wcs/v1/" SITE "/evt/pack", "\"busy\"");
    assert_non_null(strstr(tc_msg(F.mq, (size_t)i)->payload, "\"subject\":\"" GTIN_A "\""));
    /* One refusal only, and the 16 held scans verified: no label without the 17th unit. */
    wait_mq(m, "wcs/v1/" SITE "/state/station/P1", "\"verified\":16", true, 3000);
    pump(300);
    assert_int_equal(tc_find(F.mq, (size_t)i + 1, "wcs/v1/" SITE "/evt/pack", "\"error\""), -1);
    assert_int_equal(labels(F.pr1), lc.n - 1);
    scan_item(GTIN_A, NULL);
    assert_true(pump_until(labels_at_least, &lc, 8000));
    wait_field("order:OB2", "state", "packed", 3000);
}

/* The journal entries of op `op` with subject `subject` after stream id `from` (oldest
 * first): each one's cause and `after` into causes/afters (up to n); returns how many. */
static size_t journal_steps(const char *from, const char *op, const char *subject,
                            char causes[][96], char afters[][1024], size_t n)
{
    redisContext *c = rconn();
    redisReply *x =
        c ? redisCommand(c, "XRANGE wcs:{" SITE "}:journal (%s + COUNT 10000", from) : NULL;
    size_t k = 0;
    assert_non_null(x);
    assert_int_equal(x->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < x->elements; i++) {
        redisReply *f = x->element[i]->element[1];
        const char *o = "", *sub = "", *cause = "", *after = "";
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            const char *name = f->element[j]->str, *v = f->element[j + 1]->str;
            if (strcmp(name, "op") == 0)
                o = v;
            else if (strcmp(name, "subject") == 0)
                sub = v;
            else if (strcmp(name, "cause") == 0)
                cause = v;
            else if (strcmp(name, "after") == 0)
                after = v;
        }
        if (strcmp(o, op) != 0 || strcmp(sub, subject) != 0)
            continue;
        if (k < n) {
            snprintf(causes[k], sizeof(causes[k]), "%s", cause);
            snprintf(afters[k], sizeof(afters[k]), "%s", after);
        }
        k++;
    }
    freeReplyObject(x);
    redisFree(c);
    return k;
}

/* The journal's last stream id into id ("0-0" when empty). */
static void journal_last(char *id, size_t cap)
{
    redisContext *c = rconn();
    redisReply *x = c ? redisCommand(c, "XREVRANGE wcs:{" SITE "}:journal + - COUNT 1") : NULL;
    assert_non_null(x);
    snprintf(id, cap, "%s", x->elements ? x->element[0]->element[0]->str : "0-0");
    freeReplyObject(x);
    redisFree(c);
}

/* Group commit: units verified while the station's step is still in Redis are journaled in one
 * step when it is answered (the session as after the last of them), not one step each; every
 * unit is still answered at once and the carton completes. */
static void test_units_merged_behind_step(void **state)
{
    char from[64], causes[8][96], afters[8][1024], v[512];
    size_t m = mq_mark();
    struct label_cond lc = {F.pr1, labels(F.pr1) + 1};
    (void)state;
    seed_order("OB3", "TB3:SKU-A:-:5");
    sim_scale_set_load(F.scale, 2600000); /* 5 x 500 + 100 packaging */
    scan_tote("TB3");
    wait_field("station:P1", "step", "verify", 3000);
    pump(200);
    journal_last(from, sizeof(from));
    assert_int_equal(kill(harness_redis_pid(F.redis), SIGSTOP), 0);
    for (int k = 0; k < 5; k++)
        assert_int_equal(sim_scanner_read(F.scn, "01" GTIN_A, "]C1", NULL, NULL, 0), 0);
    /* Answered while Redis stands still: the scans do not wait for their steps. */
    wait_mq(m, "wcs/v1/" SITE "/evt/pack", "\"verified\":5", false, 3000);
    assert_int_equal(kill(harness_redis_pid(F.redis), SIGCONT), 0);
    assert_true(pump_until(labels_at_least, &lc, 8000));
    wait_field("order:OB3", "state", "packed", 3000);
    /* The first unit's step went out alone; the four behind it in one. */
    assert_int_equal(journal_steps(from, "pack_verify", "P1", causes, afters, 8), 2);
    assert_string_equal(causes[0], "SKU-A");
    assert_string_equal(causes[1], "SKU-A and 3 units before it");
    assert_non_null(strstr(afters[0], "\\\"verified\\\":1"));
    assert_non_null(strstr(afters[1], "\\\"verified\\\":5"));
    assert_non_null(strstr(afters[1], "\"step\":\"weigh\""));
    hget("station:P1", "step", v, sizeof(v));
    assert_string_equal(v, "idle");
    assert_int_equal(tc_find(F.mq, m, "wcs/v1/" SITE "/evt/pack", "\"error\""), -1);
}

/* Redis down when the carton is weighed: the station does not ask for its label numbers at every
 * scale reading (the old loop read the scale and failed every 300 ms, a few hundred times a
 * second at a simulator's clock) but waits for Redis; once Redis is back it weighs again and
 * the carton is labelled and packed. */
static void test_label_waits_for_redis(void **state)
{
    struct label_cond lc = {F.pr1, labels(F.pr1) + 1};
    struct sim_scale_counters c0, c1;
    char err[HARNESS_ERR_MAX];
    (void)state;
    seed_order("OB4", "TB4:SKU-A:-:1");
    sim_scale_set_load(F.scale, 600000); /* 500 + 100 packaging */
    scan_tote("TB4");
    wait_field("station:P1", "step", "verify", 3000);
    pump(200);
    assert_int_equal(harness_redis_stop(F.redis), 0);
    scan_item(GTIN_A, NULL);
    pump(500); /* weighed once, the label numbers not asked */
    sim_scale_counters(F.scale, &c0);
    pump(2000);
    sim_scale_counters(F.scale, &c1);
    if (c1.commands - c0.commands > 1)
        fail_msg("the scale was read %llu times in 2 s while Redis was down",
                 (unsigned long long)(c1.commands - c0.commands));
    assert_int_equal(labels(F.pr1), lc.n - 1);
    assert_int_equal(harness_redis_restart(F.redis, err, sizeof(err)), 0);
    assert_true(pump_until(labels_at_least, &lc, 10000));
    wait_field("order:OB4", "state", "packed", 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_pack_to_shipped),
        cmocka_unit_test(test_wrong_item_refused),
        cmocka_unit_test(test_out_of_tolerance_to_qa),
        cmocka_unit_test(test_unstable_then_stable),
        cmocka_unit_test(test_paper_out_fallback_once),
        cmocka_unit_test(test_both_printers_silent_held),
        cmocka_unit_test(test_label_reprint_prints),
        cmocka_unit_test(test_floor_alarm_ack),
        cmocka_unit_test(test_restart_resumes_session),
        cmocka_unit_test(test_burst_scans_held),
        cmocka_unit_test(test_full_queue_refused_busy),
        cmocka_unit_test(test_units_merged_behind_step),
        cmocka_unit_test(test_label_waits_for_redis),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
