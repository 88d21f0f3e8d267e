/* Integration tests of packing and shipping under faults (issue #6): a carton confirmed in its
 * carrier lane while Redis is down is shipped when Redis is back (one evt/ship, with the time of
 * the confirmation; a later confirmation ships nothing more; a ship_confirm resent with its op id
 * answers as the first time and applies once); the bound of the kept confirmations
 * (alarm ship.backlog) and the restart that ships a carton from its tote record; a crash between
 * a label print and its confirm (the same SSCC printed again, marked recovered, one shipment);
 * and a pack station with its scanner, scale and printer added and removed by SIGHUP. The same
 * fixture as test_pack.c: harness Redis and mosquitto, the simulator's devices and PLC, the
 * daemon's loop pumped by the test thread. */
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
#include "harness/harness.h"
#include "sim/plc.h"
#include "sim/printer.h"
#include "sim/scale.h"
#include "sim/scanner.h"
#include "store/store.h"
#include "tclient.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SITE    "t"
#define GTIN_A  "09506000134352" /* SKU-A, 500 g */
#define BACKLOG 2                /* the daemon keeps 2 carton confirmations while Redis is down */

struct fx {
    char dir[128], cfg[192];
    struct harness_redis *redis;
    struct harness_mqtt *mqtt;
    struct sim_plc *plc;
    struct sim_scanner *scn, *scn2;
    struct sim_scale *scale, *scale2;
    struct sim_printer *pr1, *pr2, *pr3;
    struct wcsd *d;
    struct tclient *mq;
    char b_sscc[3][19]; /* the seeded cartons of SH-B1..SH-B3 */
};

static struct fx F;

/* ---- helpers ---- */

/* The in-process daemon helpers (tests/common/daemonfix.h) under this suite's names. */
#define now_ms     dfx_now_ms
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

/* Station scanner s reads barcode as aim. */
static void scan(struct sim_scanner *s, const char *barcode, const char *aim)
{
    for (int i = 0; i < 250 && sim_scanner_clients(s) < 1; i++)
        pump(20);
    assert_true(sim_scanner_clients(s) >= 1);
    assert_int_equal(sim_scanner_read(s, barcode, aim, NULL, NULL, 0), 0);
    pump(150);
}

/* Counts the messages on topic from index `from` whose payload contains needle. */
static unsigned mq_count(size_t from, const char *topic, const char *needle)
{
    unsigned n = 0;
    for (long i = tc_find(F.mq, from, topic, needle); i >= 0;
         i = tc_find(F.mq, (size_t)i + 1, topic, needle))
        n++;
    return n;
}

/* GET wcs:{t}:<key> as an integer (-1 when absent). */
static long long rget_int(const char *key)
{
    redisContext *c = rconn();
    redisReply *r;
    long long v = -1;
    if (!c)
        return -1;
    r = redisCommand(c, "GET wcs:{" SITE "}:%s", key);
    if (r && r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return v;
}

/* Journal entries with op (XRANGE over the whole stream). */
static unsigned journal_count(const char *op, const char *subject)
{
    redisContext *c = rconn();
    redisReply *r;
    unsigned n = 0;
    if (!c)
        return 0;
    r = redisCommand(c, "XRANGE wcs:{" SITE "}:journal - +");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        bool op_ok = false, subj_ok = subject == NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "op") == 0 && strcmp(f->element[k + 1]->str, op) == 0)
                op_ok = true;
            if (subject && strcmp(f->element[k]->str, "subject") == 0 &&
                strcmp(f->element[k + 1]->str, subject) == 0)
                subj_ok = true;
        }
        n += op_ok && subj_ok;
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return n;
}

static uint64_t confirms_acked(void)
{
    struct sim_plc_counters c;
    assert_int_equal(sim_plc_counters(F.plc, SIM_PLC_MAX_POINTS, &c), 0);
    return c.confirms_acked;
}

struct acked_cond {
    uint64_t n;
};

static bool acked_at_least(void *arg)
{
    return confirms_acked() >= ((struct acked_cond *)arg)->n;
}

/* Puts the carton sscc on the sorter (it is routed to the DHL lane L2) and waits until the
 * daemon has taken its confirmation (the PLC saw it acknowledged). */
static void carton_to_lane(const char *sscc)
{
    char bc[40];
    uint32_t track = 0;
    struct sim_plc_item it;
    struct acked_cond ac = {confirms_acked() + 1};
    snprintf(bc, sizeof(bc), "]C100%s", sscc);
    assert_int_equal(sim_plc_induct(F.plc, 0, bc, SIM_READ_GOOD, &track), 0);
    if (!pump_until(acked_at_least, &ac, 15000))
        fail_msg("the confirmation of %s was not acknowledged", sscc);
    assert_int_equal(sim_plc_item(F.plc, track, &it), 0);
    assert_int_equal(it.state, SIM_ITEM_DIVERTED);
    assert_int_equal(it.lane, 2);
}

static void write_config(bool p1, bool p2)
{
    FILE *f = fopen(F.cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "site: {id: " SITE ", name: Test, timezone: UTC}\n"
            "warehouses:\n"
            "  - {code: WH1, name: Main, locations: [{path: WH1/Pack, type: packing}]}\n"
            "products:\n"
            "  - {sku: SKU-A, name: A, gtins: [\"" GTIN_A "\"], weight_g: 500}\n"
            "waves:\n"
            "  carriers: [{code: DHL, name: DHL, cutoffs: [\"23:59\"], lane: L2}]\n"
            "devices:\n"
            "  - {id: plc1, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:%u\",\n"
            "     poll_ms: 5, heartbeat_ms: 250, timeout_ms: 500}\n",
            sim_plc_port(F.plc));
    if (p1)
        fprintf(f,
                "  - {id: scn1, kind: scanner, model: line, uri: \"tcp://127.0.0.1:%u\"}\n"
                "  - {id: sc1, kind: scale, model: mt-sics, uri: \"tcp://127.0.0.1:%u\"}\n"
                "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:%u\"}\n"
                "  - {id: pr2, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:%u\"}\n",
                sim_scanner_port(F.scn), sim_scale_port(F.scale), sim_printer_port(F.pr1),
                sim_printer_port(F.pr2));
    if (p2)
        fprintf(f,
                "  - {id: scn2, kind: scanner, model: line, uri: \"tcp://127.0.0.1:%u\"}\n"
                "  - {id: sc2, kind: scale, model: mt-sics, uri: \"tcp://127.0.0.1:%u\"}\n"
                "  - {id: pr3, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:%u\"}\n",
                sim_scanner_port(F.scn2), sim_scale_port(F.scale2), sim_printer_port(F.pr3));
    fprintf(f,
            "conveyor:\n"
            "  scan_points:\n"
            "    - {id: sp1, plc: plc1, read_base: 0, write_base: 100, max_recirc: 2,\n"
            "       decision_budget_ms: 100, lanes: [L1, L2, L3, LC, LR]}\n"
            "  lanes:\n"
            "    - {id: L1, number: 1, destination: %s}\n"
            "    - {id: L2, number: 2, destination: DHL}\n"
            "    - {id: L3, number: 3, destination: qa}\n"
            "    - {id: LC, number: 99, destination: recirc}\n"
            "    - {id: LR, number: 9, destination: reject}\n"
            "stations:\n",
            p1 ? "P1" : "P2");
    if (p1)
        fprintf(f, "  - {id: P1, kind: pack, location: WH1/Pack, scanner: scn1, scale: sc1,\n"
                   "     printer: pr1, fallback_printer: pr2, weight_tolerance_pct: 5, "
                   "packaging_g: 100}\n");
    if (p2)
        fprintf(f, "  - {id: P2, kind: pack, location: WH1/Pack, scanner: scn2, scale: sc2,\n"
                   "     printer: pr3, weight_tolerance_pct: 5, packaging_g: 100}\n");
    fprintf(f,
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
            harness_redis_port(F.redis), harness_redis_user(F.redis),
            harness_redis_password_file(F.redis), harness_mqtt_port(F.mqtt),
            harness_mqtt_password_file(F.mqtt, "wcs"));
    fclose(f);
}

/* An order in state picked at station with one tote of qty units of SKU-A. */
static void seed_order(const char *order, const char *station, const char *tote, int qty)
{
    rcmd("HSET wcs:{" SITE "}:order:%s state picked carrier DHL pack_station %s ship_to %s", order,
         station,
         "{\"name\":\"Ada Buyer\",\"street\":\"Main St 5\",\"city\":\"Berlin\","
         "\"postcode\":\"10115\",\"country\":\"DE\"}");
    rcmd("SADD wcs:{" SITE "}:orders:open %s", order);
    rcmd("HSET wcs:{" SITE "}:tote:%s order %s state picking", tote, order);
    rcmd("HSET wcs:{" SITE "}:tote:%s:contents SKU-A: %d", tote, qty);
}

/* A packed carton as pack_commit leaves it: shipment SH-<shipment> (state packed), the carton's
 * tote record under its SSCC (serial), the order packed with one shipment open. */
static void seed_carton(const char *order, const char *shipment, uint64_t serial, char sscc[19])
{
    sscc_of(serial, sscc);
    rcmd("HSET wcs:{" SITE "}:order:%s state packed carrier DHL pack_station P1 shipments_open 1",
         order);
    rcmd("SADD wcs:{" SITE "}:orders:open %s", order);
    rcmd("HSET wcs:{" SITE "}:shipment:%s order %s sscc %s carrier DHL weight_mg 600000 items %s "
         "units 1 tote %s state packed station P1",
         shipment, order, sscc, "[{\"sku\":\"SKU-A\",\"lot\":\"\",\"qty\":1,\"serials\":[]}]",
         sscc);
    rcmd("HSET wcs:{" SITE "}:tote:%s order %s state packed shipment %s dest carrier:DHL "
         "sort_state open",
         sscc, order, shipment);
}

static int open_daemon(void)
{
    struct wcsd_opts o = {0};
    o.config_path = F.cfg;
    o.kpi_interval_ms = 500;
    o.lost_timeout_ms = 8000;
    o.drain_timeout_ms = 2000;
    o.signals = true; /* SIGHUP reloads, as under wcs run */
    o.ship_backlog_max = BACKLOG;
    return wcsd_open(&F.d, &o);
}

static bool station_loaded(void *arg)
{
    (void)arg;
    return tc_find(F.mq, 0, "wcs/v1/" SITE "/state/station/P1", "\"IDLE\"") >= 0;
}

/* The "crash" of the daemon: closed without the SIGTERM drain (what was only in its memory is
 * lost), then opened again on the same config. */
static void restart_daemon(void)
{
    wcsd_close(F.d);
    F.d = NULL;
    /* Let the emulated scanner drop the old connection, so that a client it counts is new. */
    for (int i = 0; i < 100 && sim_scanner_clients(F.scn) > 0; i++)
        usleep(20000);
    assert_int_equal(open_daemon(), 0);
    assert_true(pump_until(is_ready, NULL, 15000));
}

static void redis_restart(void)
{
    char err[HARNESS_ERR_MAX];
    if (harness_redis_restart(F.redis, err, sizeof(err)) != 0)
        fail_msg("redis restart: %s", err);
}

/* ---- fixture ---- */

static int setup(void **state)
{
    struct sim_plc_cfg pc;
    struct sim_scanner_cfg sc;
    struct sim_scale_cfg kc;
    struct sim_printer_cfg prc;
    sigset_t set;
    (void)state;

    /* Block the daemon's signals before any thread starts (emulators, MQTT client): a SIGHUP
     * sent to the process must reach only the daemon's signalfd, as under `wcs run`. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    log_init(NULL, LOGL_INFO);
    dfx_bind(&F.d, &F.redis, NULL);
    snprintf(F.dir, sizeof(F.dir), "/tmp/wcs-shipf-XXXXXX");
    if (dfx_start(F.dir, SITE, &F.redis, &F.mqtt) != 0)
        return -1;
    snprintf(F.cfg, sizeof(F.cfg), "%s/site.yaml", F.dir);
    pf_emulator_cfgs(F.dir, &pc, &sc, &kc, &prc);
    if (sim_plc_open(&F.plc, &pc) != 0 || sim_scanner_open(&F.scn, &sc) != 0 ||
        sim_scanner_open(&F.scn2, &sc) != 0 || sim_scale_open(&F.scale, &kc) != 0 ||
        sim_scale_open(&F.scale2, &kc) != 0 || sim_printer_open(&F.pr1, &prc) != 0 ||
        sim_printer_open(&F.pr2, &prc) != 0 || sim_printer_open(&F.pr3, &prc) != 0)
        return -1;
    write_config(true, false);
    /* Three packed cartons for the backlog test (in Redis before the daemon loads its state). */
    for (int i = 0; i < 3; i++) {
        char order[16], sh[16];
        snprintf(order, sizeof(order), "O-B%d", i + 1);
        snprintf(sh, sizeof(sh), "SH-B%d", i + 1);
        seed_carton(order, sh, 900001u + (uint64_t)i, F.b_sscc[i]);
    }
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
    sim_scanner_close(F.scn2);
    sim_scale_close(F.scale);
    sim_scale_close(F.scale2);
    sim_printer_close(F.pr1);
    sim_printer_close(F.pr2);
    sim_printer_close(F.pr3);
    harness_mqtt_free(F.mqtt);
    harness_redis_free(F.redis);
    return 0;
}

/* ---- tests ---- */

/* Packs order O1 at P1 to a carton; returns its SSCC and shipment id. */
static void pack_one(const char *order, const char *tote, char sscc[19], char shipment[16])
{
    char v[64];
    size_t m = mq_mark();
    seed_order(order, "P1", tote, 1);
    sim_scale_set_load(F.scale, 600000); /* 500 g + 100 g packaging */
    scan(F.scn, tote, "]C0");
    wait_field("station:P1", "order", order, 3000);
    scan(F.scn, "01" GTIN_A, "]C1");
    wait_field(strcat(strcpy(v, "order:"), order), "state", "packed", 10000);
    wait_mq(m, "wcs/v1/" SITE "/evt/pack", "\"packed\"", false, 3000);
    {
        long i = tc_find(F.mq, m, "wcs/v1/" SITE "/evt/label", order);
        const char *p;
        assert_true(i >= 0);
        p = strstr(tc_msg(F.mq, (size_t)i)->payload, "\"sscc\":\"");
        assert_non_null(p);
        snprintf(sscc, 19, "%.18s", p + 8);
        p = strstr(tc_msg(F.mq, (size_t)i)->payload, "\"shipment\":\"");
        assert_non_null(p);
        snprintf(shipment, 16, "%.*s", (int)strcspn(p + 12, "\""), p + 12);
    }
}

/* Issue #6: a carton confirmed in its carrier lane while Redis is down is shipped once Redis is
 * back, with the confirmation's time; a second confirmation ships nothing more. */
static void test_confirm_while_redis_down(void **state)
{
    char sscc[19], sh[16], key[40], v[64], needle[64];
    size_t m;
    int64_t before_ms, restart_ms;
    (void)state;
    pack_one("O1", "T1", sscc, sh);
    snprintf(key, sizeof(key), "shipment:%s", sh);
    hget(key, "state", v, sizeof(v));
    assert_string_equal(v, "packed");

    assert_int_equal(harness_redis_stop(F.redis), 0);
    m = mq_mark();
    before_ms = (int64_t)time(NULL) * 1000;
    carton_to_lane(sscc);
    pump(1000);
    /* Nothing shipped yet: Redis holds the shipment, and it is down. */
    assert_int_equal(mq_count(m, "wcs/v1/" SITE "/evt/ship", NULL), 0);
    restart_ms = (int64_t)time(NULL) * 1000;
    redis_restart();
    wait_field(key, "state", "shipped", 15000);
    wait_field("order:O1", "state", "shipped", 3000);
    snprintf(needle, sizeof(needle), "\"shipment\":\"%s\"", sh);
    wait_mq(m, "wcs/v1/" SITE "/evt/ship", needle, false, 5000);
    {
        long i = tc_find(F.mq, m, "wcs/v1/" SITE "/evt/ship", needle);
        const char *p = strstr(tc_msg(F.mq, (size_t)i)->payload, "\"confirmed_ts\":");
        int64_t cts;
        assert_non_null(p);
        cts = strtoll(p + 15, NULL, 10);
        /* The time of the sorter's confirmation, not of the replay (seconds: time(NULL)). */
        assert_true(cts >= before_ms - 1000);
        assert_true(cts <= restart_ms + 1000);
        hget(key, "shipped_ts", v, sizeof(v));
        assert_int_equal(strtoll(v, NULL, 10), cts);
        assert_non_null(strstr(tc_msg(F.mq, (size_t)i)->payload, "\"recovered\":false"));
        assert_non_null(strstr(tc_msg(F.mq, (size_t)i)->payload, sscc));
    }
    hget("kpi", "shipments", v, sizeof(v));
    assert_string_equal(v, "1");

    /* The carton seen again in its lane: no second shipment, no second event. */
    carton_to_lane(sscc);
    pump(1500);
    assert_int_equal(mq_count(m, "wcs/v1/" SITE "/evt/ship", needle), 1);
    hget("kpi", "shipments", v, sizeof(v));
    assert_string_equal(v, "1");
    assert_int_equal(journal_count("ship_confirm", sh), 1);
}

/* More confirmations than the backlog keeps while Redis is down: the first BACKLOG ship when it is
 * back, the next raises ship.backlog and is not shipped; its confirmation fact reaches Redis with
 * the sorter's other writes, so the next start ships it from its tote record (recovered). */
static void test_backlog_bound_then_restart(void **state)
{
    char key[40], v[64], needle[64];
    size_t m;
    (void)state;
    assert_int_equal(harness_redis_stop(F.redis), 0);
    m = mq_mark();
    for (int i = 0; i < 3; i++)
        carton_to_lane(F.b_sscc[i]);
    wait_mq(m, "wcs/v1/" SITE "/alarm/ship.backlog", F.b_sscc[2], true, 5000);
    redis_restart();
    wait_field("shipment:SH-B1", "state", "shipped", 15000);
    wait_field("shipment:SH-B2", "state", "shipped", 5000);
    wait_mq(m, "wcs/v1/" SITE "/evt/ship", "\"shipment\":\"SH-B2\"", false, 5000);
    /* The third: its sorter fact is in Redis, its shipment is not shipped. */
    snprintf(key, sizeof(key), "tote:%s", F.b_sscc[2]);
    wait_field(key, "confirm", "diverted", 10000);
    hget(key, "last_lane", v, sizeof(v));
    assert_string_equal(v, "L2");
    pump(1500);
    hget("shipment:SH-B3", "state", v, sizeof(v));
    assert_string_equal(v, "packed");
    assert_int_equal(mq_count(m, "wcs/v1/" SITE "/evt/ship", "SH-B3"), 0);

    restart_daemon();
    wait_field("shipment:SH-B3", "state", "shipped", 10000);
    wait_field("order:O-B3", "state", "shipped", 3000);
    snprintf(needle, sizeof(needle), "\"shipment\":\"SH-B3\"");
    wait_mq(m, "wcs/v1/" SITE "/evt/ship", needle, false, 5000);
    {
        long i = tc_find(F.mq, m, "wcs/v1/" SITE "/evt/ship", needle);
        assert_non_null(strstr(tc_msg(F.mq, (size_t)i)->payload, "\"recovered\":true"));
    }
    /* A further start finds it shipped: nothing again. */
    restart_daemon();
    pump(1500);
    assert_int_equal(mq_count(m, "wcs/v1/" SITE "/evt/ship", "SH-B1"), 1);
    assert_int_equal(mq_count(m, "wcs/v1/" SITE "/evt/ship", "SH-B3"), 1);
    assert_int_equal(journal_count("ship_confirm", "SH-B3"), 1);
}

/* Issue #6: the daemon dies between a label's print and the record of its confirm. The label is
 * printed again after the restart with the same SSCC and shipment (evt/label recovered, journal
 * pack_label_recovered), and the carton is committed once. The crash is reproduced by the state
 * it leaves: the label printed while Redis was down (the commit held in the daemon's memory),
 * then the daemon closed without its drain. */
static void test_label_recovered_after_crash(void **state)
{
    unsigned b1 = labels(F.pr1), b2 = labels(F.pr2);
    long long sscc_seq, ship_seq;
    char sscc[19], sh[16], v[64];
    size_t m = mq_mark();
    struct sim_printer_label l;
    (void)state;
    seed_order("O7", "P1", "T7", 1);
    sim_scale_set_load(F.scale, 600000);
    sim_printer_set_paper_out(F.pr1, true);
    sim_printer_set_head_open(F.pr2, true);
    scan(F.scn, "T7", "]C0");
    wait_field("station:P1", "order", "O7", 3000);
    scan(F.scn, "01" GTIN_A, "]C1");
    wait_field("station:P1", "state", "HELD", 10000);
    hget("station:P1", "sscc", sscc, sizeof(sscc));
    hget("station:P1", "shipment", sh, sizeof(sh));
    assert_int_equal(strlen(sscc), 18);
    sscc_seq = rget_int("sscc:seq");
    ship_seq = rget_int("shipment:seq");

    /* Redis goes away; the printer holding the job comes back and prints it. */
    assert_int_equal(harness_redis_stop(F.redis), 0);
    sim_printer_set_head_open(F.pr2, false);
    struct label_cond lc = {F.pr2, b2 + 1};
    assert_true(pump_until(labels_at_least, &lc, 10000));
    assert_label_sscc(F.pr2, b2 + 1, sscc);
    pump(500); /* the confirm: the commit waits for Redis in the daemon's memory */
    wcsd_close(F.d);
    F.d = NULL;
    redis_restart();
    sim_printer_set_paper_out(F.pr1, false);
    hget("station:P1", "step", v, sizeof(v));
    assert_string_equal(v, "label"); /* what the crash left */

    for (int i = 0; i < 100 && sim_scanner_clients(F.scn) > 0; i++)
        usleep(20000);
    assert_int_equal(open_daemon(), 0);
    struct label_cond lc1 = {F.pr1, b1 + 1};
    assert_true(pump_until(labels_at_least, &lc1, 15000));
    assert_label_sscc(F.pr1, b1 + 1, sscc); /* the same SSCC, printed a second time */
    assert_int_equal(sim_printer_label(F.pr1, b1 + 1, &l), 0);
    wait_field("order:O7", "state", "packed", 10000);
    wait_field("station:P1", "step", "idle", 3000);
    {
        char key[40];
        snprintf(key, sizeof(key), "shipment:%s", sh);
        hget(key, "sscc", v, sizeof(v));
        assert_string_equal(v, sscc);
    }
    /* No new numbers: one SSCC, one shipment. */
    assert_int_equal(rget_int("sscc:seq"), sscc_seq);
    assert_int_equal(rget_int("shipment:seq"), ship_seq);
    assert_int_equal(journal_count("pack_label_recovered", "P1"), 1);
    assert_int_equal(journal_count("pack", sh), 1);
    hget("kpi", "pack_labels_recovered", v, sizeof(v));
    assert_string_equal(v, "1");
    wait_mq(m, "wcs/v1/" SITE "/evt/label", "\"recovered\"", false, 3000);
    wait_mq(m, "wcs/v1/" SITE "/evt/label", "\"recovered\":true", false, 3000);
    pump(1500);
    assert_int_equal(labels(F.pr1), b1 + 1);
    assert_int_equal(labels(F.pr2), b2 + 1);
}

/* Runs ship_confirm as the store does (EVAL of the embedded body, the common keys and arguments)
 * with op id op; returns the status word ("shipped", "again") in out. */
static void ship_confirm_eval(const char *shipment, const char *sscc, const char *order,
                              const char *op, char *out, size_t cap)
{
    redisContext *c = rconn();
    redisReply *r;
    char opk[96], sk[96], tk[96], ok[96];
    const char *body = store_script_body("ship_confirm");
    assert_non_null(c);
    assert_non_null(body);
    snprintf(opk, sizeof(opk), "wcs:{" SITE "}:op:%s", op);
    snprintf(sk, sizeof(sk), "wcs:{" SITE "}:shipment:%s", shipment);
    snprintf(tk, sizeof(tk), "wcs:{" SITE "}:tote:%s", sscc);
    snprintf(ok, sizeof(ok), "wcs:{" SITE "}:order:%s", order);
    r = redisCommand(c,
                     "EVAL %s 7 wcs:{" SITE "}:journal %s wcs:{" SITE "}:kpi %s %s %s "
                     "wcs:{" SITE "}:orders:open tester test %s 1700000000000 1000 600 %s %s L2 1",
                     body, opk, sk, tk, ok, op, shipment, sscc);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("ship_confirm: %s", r->str);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_true(r->elements >= 2);
    snprintf(out, cap, "%s", r->element[1]->str);
    freeReplyObject(r);
    redisFree(c);
}

/* ship_confirm resent with the same op id (the store does so when the link dropped before the
 * reply) answers "shipped" again, so the daemon publishes its one evt/ship, and applies once;
 * another confirmation answers "again". */
static void test_ship_confirm_resend(void **state)
{
    char sscc[19], v[32];
    long long before;
    (void)state;
    seed_carton("O-R1", "SH-R1", 900101u, sscc);
    hget("kpi", "shipments", v, sizeof(v));
    before = strtoll(v, NULL, 10);
    ship_confirm_eval("SH-R1", sscc, "O-R1", "op-r1", v, sizeof(v));
    assert_string_equal(v, "shipped");
    ship_confirm_eval("SH-R1", sscc, "O-R1", "op-r1", v, sizeof(v));
    assert_string_equal(v, "shipped");
    ship_confirm_eval("SH-R1", sscc, "O-R1", "op-r2", v, sizeof(v));
    assert_string_equal(v, "again");
    hget("kpi", "shipments", v, sizeof(v));
    assert_int_equal(strtoll(v, NULL, 10), before + 1);
    assert_int_equal(journal_count("ship_confirm", "SH-R1"), 1);
    hget("order:O-R1", "state", v, sizeof(v));
    assert_string_equal(v, "shipped");
}

static bool p2_idle(void *arg)
{
    (void)arg;
    return tc_find(F.mq, 0, "wcs/v1/" SITE "/state/station/P2", "\"IDLE\"") >= 0;
}

struct clients_cond {
    struct sim_scanner *s;
    unsigned n;
};

static bool clients_are(void *arg)
{
    struct clients_cond *c = arg;
    return sim_scanner_clients(c->s) == c->n;
}

/* Issue #6: SIGHUP adds pack station P2 (scanner, scale, printer) without a restart and it packs
 * an order end to end; a second SIGHUP removes P1, whose devices are closed (the scanner has no
 * client, the device states are cleared, a dead printer of P1 raises no alarm). */
static void test_sighup_adds_and_removes_station(void **state)
{
    const struct cfg_site *before = wcsd_config(F.d);
    unsigned b3 = labels(F.pr3);
    size_t m = mq_mark();
    char v[64];
    struct clients_cond cc2 = {F.scn2, 1}, cc1 = {F.scn, 0};
    (void)state;
    write_config(true, true);
    kill(getpid(), SIGHUP);
    assert_true(pump_until(p2_idle, NULL, 5000));
    assert_true(wcsd_config(F.d) != before);
    assert_int_equal(wcsd_config(F.d)->n_stations, 2);
    assert_true(pump_until(clients_are, &cc2, 5000));
    assert_int_equal(sim_scanner_clients(F.scn), 1); /* P1's scanner kept its connection */

    seed_order("O9", "P2", "T9", 2);
    sim_scale_set_load(F.scale2, 1100000); /* 2 x 500 g + 100 g packaging */
    scan(F.scn2, "T9", "]C0");
    wait_field("station:P2", "order", "O9", 3000);
    scan(F.scn2, "01" GTIN_A, "]C1");
    scan(F.scn2, "01" GTIN_A, "]C1");
    struct label_cond lc = {F.pr3, b3 + 1};
    assert_true(pump_until(labels_at_least, &lc, 10000));
    wait_field("order:O9", "state", "packed", 5000);
    wait_mq(m, "wcs/v1/" SITE "/evt/pack", "\"station\":\"P2\"", false, 3000);
    hget("station:P2", "step", v, sizeof(v));
    assert_string_equal(v, "idle");

    /* P1 removed: its devices are closed. */
    m = mq_mark();
    write_config(false, true);
    kill(getpid(), SIGHUP);
    assert_true(pump_until(clients_are, &cc1, 5000));
    assert_int_equal(wcsd_config(F.d)->n_stations, 1);
    assert_int_equal(sim_scanner_clients(F.scn2), 1);
    wait_mq(m, "wcs/v1/" SITE "/state/device/scn1", NULL, true, 3000);
    {
        long i = tc_find(F.mq, m, "wcs/v1/" SITE "/state/device/sc1", NULL);
        if (i < 0) {
            wait_mq(m, "wcs/v1/" SITE "/state/device/sc1", NULL, true, 3000);
            i = tc_find(F.mq, m, "wcs/v1/" SITE "/state/device/sc1", NULL);
        }
        assert_int_equal(tc_msg(F.mq, (size_t)i)->len, 0); /* the retained state cleared */
    }
    sim_printer_close(F.pr1);
    F.pr1 = NULL;
    sim_scale_close(F.scale);
    F.scale = NULL;
    pump(3000);
    assert_true(tc_find(F.mq, m, "wcs/v1/" SITE "/alarm/dev.pr1.link", "dev.pr1.link") < 0);
    assert_true(tc_find(F.mq, m, "wcs/v1/" SITE "/alarm/dev.sc1.link", "dev.sc1.link") < 0);
    /* P2 still packs. */
    seed_order("O10", "P2", "T10", 1);
    sim_scale_set_load(F.scale2, 600000);
    scan(F.scn2, "T10", "]C0");
    wait_field("station:P2", "order", "O10", 3000);
    scan(F.scn2, "01" GTIN_A, "]C1");
    wait_field("order:O10", "state", "packed", 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confirm_while_redis_down),
        cmocka_unit_test(test_backlog_bound_then_restart),
        cmocka_unit_test(test_label_recovered_after_crash),
        cmocka_unit_test(test_ship_confirm_resend),
        cmocka_unit_test(test_sighup_adds_and_removes_station),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
