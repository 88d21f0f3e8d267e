/* Integration tests of the control daemon in-process: harness redis-server and mosquitto, the
 * PLC emulator as the floor over loopback Modbus, the daemon's loop pumped by the test thread,
 * sd_notify to a datagram socket. One fixture, tests in order (each leaves the floor idle):
 * readiness, sorting a known tote, decisions taken by the PLC worker from the decision table
 * (and a re-route reaching it), refusals, recirculation limit, late decisions, PLC link loss,
 * Redis and broker restarts, the watchdog, SIGHUP (bad config, a second PLC), commands and the
 * bus's own refusals (journaled), and SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "daemonfix.h"
#include "harness/harness.h"
#include "sim/plc.h"
#include "tclient.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SITE "t"

struct fx {
    char dir[128], cfg[192], notify_path[192];
    struct harness_redis *redis;
    struct harness_mqtt *mqtt;
    struct sim_plc *sim, *sim2;
    struct wcsd *d;
    struct tclient *mq;
    int nfd;
    char notes[64][64]; /* sd_notify messages received, in order (ring) */
    size_t n_notes;
};

static struct fx F;

/* ---- helpers ---- */

/* The in-process daemon helpers (tests/common/daemonfix.h) under this suite's names; each loop
 * turn drains the sd_notify socket (dfx_bind in setup). */
#define now_ms     dfx_now_ms
#define pump       dfx_pump
#define pump_until dfx_pump_until
#define rconn      dfx_rconn
#define rcmd       dfx_rcmd
#define is_ready   dfx_is_ready

static void notes_drain(void)
{
    char buf[512];
    ssize_t n;
    while ((n = recv(F.nfd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
        char *save = NULL, *line;
        buf[n] = '\0';
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            snprintf(F.notes[F.n_notes++ % 64], 64, "%s", line);
    }
}

/* Messages equal to text since index from. */
static size_t notes_count(size_t from, const char *text)
{
    size_t c = 0;
    notes_drain();
    for (size_t i = from; i < F.n_notes; i++)
        if (i + 64 >= F.n_notes && strcmp(F.notes[i % 64], text) == 0)
            c++;
    return c;
}

/* HGET of a tote field into out ("" when absent). */
static void tote_field(const char *tote, const char *field, char *out, size_t cap)
{
    char k[160];
    snprintf(k, sizeof(k), "wcs:{" SITE "}:tote:%s", tote);
    dfx_hget(k, field, out, cap);
}

struct field_cond {
    const char *tote, *field, *want;
};

static bool field_is(void *arg)
{
    struct field_cond *fc = arg;
    char v[128];
    tote_field(fc->tote, fc->field, v, sizeof(v));
    return strcmp(v, fc->want) == 0;
}

/* Journal entries with this subject and op. */
static int journal_count(const char *subject, const char *op)
{
    redisContext *c = rconn();
    redisReply *r;
    int n = 0;
    if (!c)
        return -1;
    r = redisCommand(c, "XRANGE wcs:{" SITE "}:journal - +");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *subj = NULL, *o = NULL;
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            if (strcmp(f->element[j]->str, "subject") == 0)
                subj = f->element[j + 1]->str;
            if (strcmp(f->element[j]->str, "op") == 0)
                o = f->element[j + 1]->str;
        }
        if (subj && o && strcmp(subj, subject) == 0 && strcmp(o, op) == 0)
            n++;
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return n;
}

struct item_cond {
    struct sim_plc *sim;
    uint32_t track;
    enum sim_item_state state;
};

static bool item_is(void *arg)
{
    struct item_cond *ic = arg;
    struct sim_plc_item it;
    return sim_plc_item(ic->sim, ic->track, &it) == 0 && it.state == ic->state &&
           it.confirm_result != 0;
}

struct mq_cond {
    size_t from;
    const char *topic, *needle;
    bool retained;
};

static bool mq_seen(void *arg)
{
    struct mq_cond *m = arg;
    return (m->retained ? tc_find_retained(F.mq, m->from, m->topic, m->needle)
                        : tc_find(F.mq, m->from, m->topic, m->needle)) >= 0;
}

static void sim_point(struct sim_plc_point_cfg *pc)
{
    sim_plc_point_defaults(pc);
    pc->scanner_to_divert_mm = 1000;
    pc->actuation_ms = 100;
    pc->n_lanes = 3;
    pc->reject_lane_id = 9;
    pc->recirc_lane_id = 99;
    pc->recirc_loop_mm = 1000;
    pc->max_recirc = 5;
    for (int i = 0; i < 3; i++) {
        pc->lane_capacity[i] = 0;
        pc->lane_drain_per_min[i] = 0;
    }
}

/* lane1_cap: capacity of lane 1 (0 unlimited; lanes never drain). */
static int open_sim(struct sim_plc **out, uint32_t lane1_cap)
{
    struct sim_plc_cfg sc;
    sim_plc_cfg_defaults(&sc);
    sc.heartbeat_ms = 250; /* as the daemon's: a loaded CI host must not fault the link */
    sc.n_points = 1;
    sim_point(&sc.points[0]);
    sc.points[0].lane_capacity[0] = lane1_cap;
    return sim_plc_open(out, &sc);
}

/* Writes the site config: plc1 (and plc2 with a second scan point when two_plcs); bad writes a
 * config that fails the check. */
static void write_config(bool two_plcs, bool bad)
{
    FILE *f = fopen(F.cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "site: {id: " SITE ", name: Test, timezone: UTC}\n"
            "warehouses:\n"
            "  - {code: WH1, name: Main, locations: [{path: WH1/Pack, type: packing}]}\n"
            "waves:\n"
            "  carriers: [{code: DHL, name: DHL, cutoffs: [\"16:00\"], lane: L2}]\n"
            "devices:\n"
            "  - {id: plc1, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:%u\",\n"
            "     poll_ms: 5, heartbeat_ms: 250, timeout_ms: 500}\n",
            sim_plc_port(F.sim));
    if (two_plcs)
        fprintf(f,
                "  - {id: plc2, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:%u\",\n"
                "     poll_ms: 5, heartbeat_ms: 250, timeout_ms: 500}\n",
                sim_plc_port(F.sim2));
    fprintf(f,
            "  - {id: sc1, kind: scale, model: mt-sics, uri: \"serial:///dev/ttyUSB0?baud=9600\"}\n"
            "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:9100\"}\n"
            "conveyor:\n"
            "  scan_points:\n"
            "    - {id: sp1, plc: plc1, read_base: 0, write_base: 100, max_recirc: 2,\n"
            "       decision_budget_ms: %s, lanes: [L1, L2, L3, LC, LR]}\n",
            bad ? "0500" : "100");
    if (two_plcs)
        fprintf(f, "    - {id: sp2, plc: plc2, read_base: 0, write_base: 100,\n"
                   "       lanes: [M1, MR]}\n");
    fprintf(f, "  lanes:\n"
               "    - {id: L1, number: 1, destination: P1}\n"
               "    - {id: L2, number: 2, destination: DHL}\n"
               "    - {id: L3, number: 3, destination: qa}\n"
               "    - {id: LC, number: 99, destination: recirc}\n"
               "    - {id: LR, number: 9, destination: reject}\n");
    if (two_plcs)
        fprintf(f, "    - {id: M1, number: 1, destination: P1}\n"
                   "    - {id: MR, number: 9, destination: reject}\n");
    fprintf(f,
            "stations:\n"
            "  - {id: P1, kind: pack, location: WH1/Pack, scale: sc1, printer: pr1}\n"
            "labels: {company_prefix: \"0614141\", ship_from: {name: Test DC, street: Dock 1,\n"
            "         city: Town, postcode: \"12345\", country: DE}}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-test, user: wcs,\n"
            "       password_file: %s, keepalive_s: 5, qos: 1}\n",
            harness_redis_port(F.redis), harness_redis_user(F.redis),
            harness_redis_password_file(F.redis), harness_mqtt_port(F.mqtt),
            harness_mqtt_password_file(F.mqtt, "wcs"));
    fclose(f);
}

static uint32_t induct(struct sim_plc *sim, const char *barcode, enum sim_read_result rr)
{
    uint32_t track = 0;
    assert_int_equal(sim_plc_induct(sim, 0, barcode, rr, &track), 0);
    return track;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char env[32];
    struct wcsd_opts o = {0};
    (void)state;

    sigset_t set;
    /* Block the daemon's signals before any thread starts (emulators, MQTT client): a signal
     * sent to the process must reach only the daemon's signalfd, as under `wcs run`. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    log_init(NULL, LOGL_INFO);
    dfx_bind(&F.d, &F.redis, notes_drain);
    snprintf(F.dir, sizeof(F.dir), "/tmp/wcs-daemon-XXXXXX");
    if (dfx_start(F.dir, SITE, &F.redis, &F.mqtt) != 0)
        return -1;
    snprintf(F.cfg, sizeof(F.cfg), "%s/site.yaml", F.dir);
    snprintf(F.notify_path, sizeof(F.notify_path), "%s/notify", F.dir);
    if (open_sim(&F.sim, 0) != 0 || open_sim(&F.sim2, 1) != 0)
        return -1;
    write_config(false, false);

    /* Records the daemon must load before READY. */
    rcmd("HSET wcs:{" SITE "}:order:O1 state picking pack_station P1 carrier DHL");
    rcmd("HSET wcs:{" SITE "}:order:O2 state picking pack_station P1");
    rcmd("HSET wcs:{" SITE "}:order:O3 state packed carrier DHL");
    rcmd("HSET wcs:{" SITE "}:order:OX state cancelled");
    for (int i = 1; i <= 12; i++)
        rcmd("HSET wcs:{" SITE "}:tote:T%d order %s state picking", i, i == 3 ? "O3" : "O1");
    rcmd("HSET wcs:{" SITE "}:tote:T2 order O2");
    rcmd("HSET wcs:{" SITE "}:tote:TX order OX state picking");
    rcmd("HSET wcs:{" SITE "}:tote:T1:contents SKU1: 2"); /* a sub-key: not a tote */

    F.nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (strlen(F.notify_path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, F.notify_path, strlen(F.notify_path) + 1);
    if (F.nfd < 0 || bind(F.nfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return -1;
    setenv("NOTIFY_SOCKET", F.notify_path, 1);
    setenv("WATCHDOG_USEC", "200000", 1);
    snprintf(env, sizeof(env), "%d", (int)getpid());
    setenv("WATCHDOG_PID", env, 1);

    if (!(F.mq = dfx_sup_client(F.mqtt, SITE)))
        return -1;

    /* The PLC is unreachable for the first 1.5 s: READY must wait for its first good cycle. */
    sim_plc_disconnect(F.sim, 1500);
    o.config_path = F.cfg;
    o.kpi_interval_ms = 300;
    o.lost_timeout_ms = 4000;
    o.drain_timeout_ms = 3000;
    o.signals = true;
    o.sd_notify = true;
    if (wcsd_open(&F.d, &o) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wcsd_close(F.d);
    tc_close(F.mq);
    sim_plc_close(F.sim);
    sim_plc_close(F.sim2);
    harness_mqtt_free(F.mqtt);
    harness_redis_free(F.redis);
    if (F.nfd >= 0)
        close(F.nfd);
    unlink(F.notify_path);
    unlink(F.cfg);
    rmdir(F.dir);
    return 0;
}

/* ---- tests ---- */

static void test_ready_after_first_plc_cycle(void **state)
{
    struct wcsd_tote t;
    (void)state;
    pump(1000);
    /* Redis is up and the state is loaded, but the PLC has not been read yet. */
    assert_false(wcsd_is_ready(F.d));
    assert_int_equal(notes_count(0, "READY=1"), 0);
    assert_int_equal(wcsd_tote_get(F.d, "T1", &t), 0);
    assert_string_equal(t.order, "O1");
    assert_int_equal(wcsd_tote_get(F.d, "T1:contents", &t), WCS_E_UNKNOWN);
    assert_true(pump_until(is_ready, NULL, 5000));
    assert_int_equal(notes_count(0, "READY=1"), 1);
}

static void test_known_tote_diverted(void **state)
{
    struct wcsd_kpi k;
    struct item_cond ic = {F.sim, 0, SIM_ITEM_DIVERTED};
    struct field_cond fc = {"T1", "sort_state", "arrived"};
    struct mq_cond mc = {tc_count(F.mq), "wcs/v1/" SITE "/evt/divert", "\"tote\":\"T1\"", false};
    struct sim_plc_item it;
    char lane[32];
    (void)state;
    ic.track = induct(F.sim, "T1", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim, ic.track, &it), 0);
    assert_int_equal(it.lane, 1); /* L1: pack station P1 of order O1 */
    assert_true(pump_until(field_is, &fc, 3000));
    tote_field("T1", "last_lane", lane, sizeof(lane));
    assert_string_equal(lane, "L1");
    assert_true(pump_until(mq_seen, &mc, 3000));
    assert_true(journal_count("T1", "route") >= 1);
    assert_true(journal_count("T1", "confirm") >= 1);
    wcsd_get_kpi(F.d, &k);
    assert_int_equal(k.diverts, 1);
    assert_int_equal(k.confirms_diverted, 1);
    assert_int_equal(k.late, 0);
    assert_true(k.latency.count >= 1);
    assert_true(k.latency.max_us < 100000); /* within the 100 ms budget */
    /* Packed order: the carrier lane. */
    ic.track = induct(F.sim, "T3", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim, ic.track, &it), 0);
    assert_int_equal(it.lane, 2);
}

/* A known tote is answered by the PLC worker from the decision table (the loop only does the
 * bookkeeping); a re-route through the model API reaches the table before the next scan. */
static void test_table_decisions(void **state)
{
    struct item_cond ic = {F.sim, 0, SIM_ITEM_DIVERTED};
    struct field_cond fc = {"T5", "sort_state", "arrived"};
    struct sim_plc_item it;
    struct wcsd_tote t;
    struct wcsd_kpi k0, k;
    (void)state;
    wcsd_get_kpi(F.d, &k0);
    ic.track = induct(F.sim, "T5", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim, ic.track, &it), 0);
    assert_int_equal(it.lane, 1);
    assert_true(pump_until(field_is, &fc, 3000)); /* the bookkeeping of a worker decision */
    assert_true(journal_count("T5", "route") >= 1);
    wcsd_get_kpi(F.d, &k);
    assert_int_equal(k.table_decisions - k0.table_decisions, 1);
    assert_int_equal(k.decisions - k0.decisions, 1);
    assert_int_equal(k.table_disagreed, 0);
    /* Re-routed to quality: the next scan goes to L3, still from the table. */
    assert_int_equal(wcsd_tote_get(F.d, "T11", &t), 0);
    t.dest = WCSD_DEST_QA;
    assert_int_equal(wcsd_tote_put(F.d, &t), 0);
    ic.track = induct(F.sim, "T11", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim, ic.track, &it), 0);
    assert_int_equal(it.lane, 3);
    wcsd_get_kpi(F.d, &k);
    assert_int_equal(k.table_decisions - k0.table_decisions, 2);
    assert_int_equal(k.table_disagreed, 0);
}

static void test_refusals_rejected(void **state)
{
    struct item_cond ic = {F.sim, 0, SIM_ITEM_REJECTED};
    struct wcsd_kpi k0, k;
    struct sim_plc_item it;
    (void)state;
    wcsd_get_kpi(F.d, &k0);
    ic.track = induct(F.sim, "NOPE", SIM_READ_GOOD); /* unknown tote */
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim, ic.track, &it), 0);
    assert_int_equal(it.lane, 9);
    ic.track = induct(F.sim, "TX", SIM_READ_GOOD); /* cancelled order */
    assert_true(pump_until(item_is, &ic, 5000));
    ic.track = induct(F.sim, NULL, SIM_READ_NOREAD);
    assert_true(pump_until(item_is, &ic, 5000));
    ic.track = induct(F.sim, "T4", SIM_READ_MULTI);
    assert_true(pump_until(item_is, &ic, 5000));
    ic.track = induct(F.sim, "BAD:LABEL", SIM_READ_GOOD); /* malformed */
    assert_true(pump_until(item_is, &ic, 5000));
    pump(200);
    wcsd_get_kpi(F.d, &k);
    assert_int_equal(k.unknown_totes - k0.unknown_totes, 2);
    assert_int_equal(k.no_reads - k0.no_reads, 1);
    assert_int_equal(k.multi_reads - k0.multi_reads, 1);
    assert_int_equal(k.malformed - k0.malformed, 1);
    assert_int_equal(k.reject_decisions - k0.reject_decisions, 5);
    /* The unknown tote is the loop's (fallback); the cancelled order, no-read, multi-read and
     * malformed label are answered by the worker from the table. */
    assert_int_equal(k.table_decisions - k0.table_decisions, 4);
    assert_int_equal(k.confirms_unmatched, 0);
    assert_true(journal_count("sp1", "scan_refused") >= 4);
    assert_true(journal_count("TX", "route") >= 1);
}

static void test_lane_disabled_recirc_then_reject(void **state)
{
    struct item_cond ic = {F.sim, 0, SIM_ITEM_REJECTED};
    struct field_cond fc = {"T2", "sort_state", "rejected"};
    struct sim_plc_item it;
    struct wcsd_kpi k0, k;
    char v[16];
    (void)state;
    wcsd_get_kpi(F.d, &k0);
    assert_int_equal(wcsd_lane_set_enabled(F.d, "L1", false, "sup", "maintenance"), 0);
    assert_int_equal(wcsd_lane_set_enabled(F.d, "L9", false, "sup", "x"), WCS_E_UNKNOWN);
    ic.track = induct(F.sim, "T2", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 15000));
    assert_int_equal(sim_plc_item(F.sim, ic.track, &it), 0);
    assert_int_equal(it.recirculations, 2); /* max_recirc 2, then the reject lane */
    assert_int_equal(it.lane, 9);
    assert_true(pump_until(field_is, &fc, 3000));
    wcsd_get_kpi(F.d, &k);
    assert_int_equal(k.recirc_decisions - k0.recirc_decisions, 2);
    assert_int_equal(k.recirc_exhausted - k0.recirc_exhausted, 1);
    assert_int_equal(k.lane_disabled - k0.lane_disabled, 2);
    /* The lane's flag is down in the table: every pass was the loop's decision. */
    assert_int_equal(k.table_decisions - k0.table_decisions, 0);
    /* The disable is persisted and journaled. */
    {
        redisContext *c = rconn();
        redisReply *r = redisCommand(c, "HGET wcs:{" SITE "}:lane:L1 enabled");
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_string_equal(r->str, "0");
        freeReplyObject(r);
        redisFree(c);
    }
    assert_int_equal(journal_count("L1", "lane_disable"), 1);
    assert_int_equal(wcsd_lane_set_enabled(F.d, "L1", true, "sup", "done"), 0);
    tote_field("T2", "recirc", v, sizeof(v));
    assert_string_equal(v, "2");
}

static void test_late_decision_not_written(void **state)
{
    struct item_cond ic = {F.sim, 0, SIM_ITEM_REJECTED};
    struct sim_plc_counters c0, c;
    struct sim_plc_item it = {0};
    struct wcsd_kpi k0, k;
    uint64_t end;
    (void)state;
    wcsd_get_kpi(F.d, &k0);
    sim_plc_counters(F.sim, 0, &c0);
    /* A label the decision table cannot answer (no such tote: the loop decides), so the
     * decision waits for the loop. Do not run the loop until the scan has been seen by the
     * worker and 200 ms more have passed: the decision is processed after its 100 ms budget. */
    ic.track = induct(F.sim, "T5LATE", SIM_READ_GOOD);
    end = now_ms() + 3000;
    while (now_ms() < end && (sim_plc_item(F.sim, ic.track, &it) != 0 || it.passes == 0))
        usleep(2000);
    assert_true(it.passes >= 1);
    usleep(250000);
    if (!pump_until(item_is, &ic, 5000)) {
        (void)sim_plc_item(F.sim, ic.track, &it);
        fail_msg("item state=%d confirm=%d passes=%u lane=%u", it.state, it.confirm_result,
                 (unsigned)it.passes, (unsigned)it.lane);
    }
    assert_int_equal(sim_plc_item(F.sim, ic.track, &it), 0);
    assert_int_equal(it.confirm_result, SIM_CONF_LATE_DEFAULT);
    sim_plc_counters(F.sim, 0, &c);
    assert_int_equal(c.late_default - c0.late_default, 1);
    pump(100);
    wcsd_get_kpi(F.d, &k);
    assert_int_equal(k.late - k0.late, 1);
    assert_int_equal(k.decisions - k0.decisions, 0); /* nothing was written */
}

static bool link_alarm_raised(void *arg)
{
    size_t *from = arg;
    return tc_find_retained(F.mq, *from, "wcs/v1/" SITE "/alarm/plc.plc1.link", "critical") >= 0 ||
           tc_find(F.mq, *from, "wcs/v1/" SITE "/alarm/plc.plc1.link", "critical") >= 0;
}

static bool link_alarm_cleared(void *arg)
{
    size_t *from = arg;
    for (size_t i = *from; i < tc_count(F.mq); i++) {
        const struct tmsg *m = tc_msg(F.mq, i);
        if (strcmp(m->topic, "wcs/v1/" SITE "/alarm/plc.plc1.link") == 0 && m->len == 0)
            return true;
    }
    return false;
}

/* Counts tote records (not their :contents hashes). SCAN, because the wcs ACL user may not run
 * KEYS (it is in @dangerous): an error reply would count as zero and prove nothing. */
static int count_tote_keys(void)
{
    redisContext *c = rconn();
    char cursor[32] = "0";
    int n = 0;
    do {
        redisReply *r = redisCommand(c, "SCAN %s MATCH wcs:{" SITE "}:tote:* COUNT 1000", cursor);
        assert_non_null(r);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            fail_msg("SCAN failed: %s", r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            if (!strstr(r->element[1]->element[i]->str + strlen("wcs:{" SITE "}:tote:"), ":"))
                n++;
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redisFree(c);
    return n;
}

static void test_plc_disconnect_alarm(void **state)
{
    size_t from = tc_count(F.mq);
    int keys0 = count_tote_keys();
    struct item_cond ic = {F.sim, 0, SIM_ITEM_DIVERTED};
    (void)state;
    assert_int_equal(sim_plc_disconnect(F.sim, 1500), 0);
    assert_true(pump_until(link_alarm_raised, &from, 4000));
    assert_true(pump_until(link_alarm_cleared, &from, 6000));
    /* Sorting resumes; the same tote sorted again is the same record. */
    ic.track = induct(F.sim, "T1", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    pump(300);
    assert_int_equal(count_tote_keys(), keys0);
}

static bool alarm_state(const char *topic, bool want_raised, size_t from)
{
    for (size_t i = tc_count(F.mq); i > from; i--) {
        const struct tmsg *m = tc_msg(F.mq, i - 1);
        if (strcmp(m->topic, topic) == 0)
            return want_raised ? m->len > 0 : m->len == 0;
    }
    return false;
}

struct alarm_cond {
    const char *topic;
    bool raised;
    size_t from;
};

static bool alarm_is(void *arg)
{
    struct alarm_cond *a = arg;
    return alarm_state(a->topic, a->raised, a->from);
}

/* A tote diverted but not confirmed within lost_timeout (4 s here) is reported lost; its late
 * confirmation still matches and clears the alarm. A loss the PLC confirms is reported at once. */
static void test_lost_totes(void **state)
{
    struct alarm_cond ac = {"wcs/v1/" SITE "/alarm/tote.T10.lost", true, tc_count(F.mq)};
    struct field_cond fc = {"T10", "sort_state", "lost"};
    struct sim_plc_counters c0, c;
    struct sim_plc_item it = {0};
    uint32_t track;
    uint64_t end;
    (void)state;
    sim_plc_counters(F.sim, 0, &c0);
    track = induct(F.sim, "T10", SIM_READ_GOOD);
    /* Wait until the emulator latched wcs's decision for it, then cut the link for 6 s. */
    end = now_ms() + 5000;
    do {
        pump(2);
        sim_plc_counters(F.sim, 0, &c);
    } while (now_ms() < end && c.decisions_used == c0.decisions_used);
    assert_true(c.decisions_used > c0.decisions_used);
    assert_int_equal(sim_plc_disconnect(F.sim, 6000), 0);
    assert_true(pump_until(alarm_is, &ac, 6000));
    assert_true(pump_until(field_is, &fc, 2000));
    /* Back: the confirmation queued in the PLC arrives, the tote is found, the alarm cleared. */
    ac.raised = false;
    fc.want = "arrived";
    assert_true(pump_until(alarm_is, &ac, 10000));
    assert_true(pump_until(field_is, &fc, 3000));
    assert_int_equal(sim_plc_item(F.sim, track, &it), 0);
    assert_int_equal(it.state, SIM_ITEM_DIVERTED);

    /* A jam that loses the item: the PLC confirms "lost". */
    ac.topic = "wcs/v1/" SITE "/alarm/tote.T11.lost";
    ac.raised = true;
    ac.from = tc_count(F.mq);
    track = induct(F.sim, "T11", SIM_READ_GOOD);
    end = now_ms() + 5000;
    while (now_ms() < end && (sim_plc_item(F.sim, track, &it) != 0 || it.passes == 0))
        pump(2);
    assert_int_equal(sim_plc_jam(F.sim, 0, 300, true), 0);
    assert_true(pump_until(alarm_is, &ac, 5000));
    fc.tote = "T11";
    fc.want = "lost";
    assert_true(pump_until(field_is, &fc, 3000));
    assert_true(journal_count("T11", "confirm") >= 1);
}

static bool store_up(void *arg)
{
    struct store_stats st;
    (void)arg;
    store_get_stats(wcsd_store(F.d), &st);
    return store_is_ready(wcsd_store(F.d)) && st.queue_len == 0 && st.in_flight == 0;
}

struct notes_cond {
    size_t from;
    const char *text;
    size_t at_least;
};

static bool notes_reach(void *arg)
{
    const struct notes_cond *n = arg;
    return notes_count(n->from, n->text) >= n->at_least;
}

static bool store_down(void *arg)
{
    (void)arg;
    return !store_is_ready(wcsd_store(F.d));
}

static void test_redis_restart_and_watchdog(void **state)
{
    struct item_cond ic = {F.sim, 0, SIM_ITEM_DIVERTED};
    struct field_cond fc = {"T6", "sort_state", "arrived"};
    char err[HARNESS_ERR_MAX];
    size_t mark;
    (void)state;
    /* Healthy: the watchdog is fed every 100 ms (three feeds take ~300 ms; a loaded machine
     * gets ten times that: the point is that it keeps being fed). */
    struct notes_cond nc = {0, "WATCHDOG=1", 3};
    notes_drain();
    nc.from = F.n_notes;
    assert_true(pump_until(notes_reach, &nc, 3000));

    assert_int_equal(harness_redis_kill(F.redis), 0);
    assert_true(pump_until(store_down, NULL, 5000)); /* the store notices */
    pump(50); /* a feed sent before it noticed is drained before the mark */
    mark = F.n_notes;
    notes_drain();
    mark = F.n_notes;
    ic.track = induct(F.sim, "T6", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000)); /* decided from memory */
    pump(300);
    assert_int_equal(notes_count(mark, "WATCHDOG=1"), 0);
    assert_true(tc_find(F.mq, 0, "wcs/v1/" SITE "/alarm/redis.down", "critical") >= 0);

    assert_int_equal(harness_redis_restart(F.redis, err, sizeof(err)), 0);
    assert_true(pump_until(store_up, NULL, 10000));
    assert_true(pump_until(field_is, &fc, 3000));
    assert_int_equal(journal_count("T6", "route"), 1);
    assert_int_equal(journal_count("T6", "confirm"), 1);
    notes_drain();
    nc.from = F.n_notes;
    nc.at_least = 2;
    assert_true(pump_until(notes_reach, &nc, 3000));
}

static void test_broker_restart_republishes(void **state)
{
    char err[HARNESS_ERR_MAX], uri[64];
    struct tclient *c2;
    bool seen = false;
    (void)state;
    assert_int_equal(harness_mqtt_restart(F.mqtt, err, sizeof(err)), 0);
    pump(3000); /* the bus reconnects with backoff */
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(F.mqtt));
    c2 = tc_open(uri, "t-sup2", "sup", harness_mqtt_password(F.mqtt, "sup"), 5, false);
    assert_non_null(c2);
    assert_int_equal(tc_sub(c2, "wcs/v1/" SITE "/#"), 0);
    for (int i = 0; i < 300 && !seen; i++) {
        pump(10);
        seen = tc_find_retained(c2, 0, "wcs/v1/" SITE "/state/device/plc1", "EXECUTE") >= 0 &&
               tc_find_retained(c2, 0, "wcs/v1/" SITE "/status", "\"online\":true") >= 0;
    }
    assert_true(seen);
    /* The outage is reported (retained) once the broker is back. */
    seen = false;
    for (int i = 0; i < 200 && !seen; i++) {
        pump(10);
        seen = tc_find_retained(c2, 0, "wcs/v1/" SITE "/alarm/mqtt.outage", "unreachable") >= 0 ||
               tc_find(c2, 0, "wcs/v1/" SITE "/alarm/mqtt.outage", "unreachable") >= 0;
    }
    assert_true(seen);
    tc_close(c2);
    /* The test's own subscriber reconnects too (paho auto reconnect is not set up in tclient:
     * reopen it). */
    tc_close(F.mq);
    F.mq = tc_open(uri, "t-sup", "sup", harness_mqtt_password(F.mqtt, "sup"), 5, false);
    assert_non_null(F.mq);
    assert_int_equal(tc_sub(F.mq, "wcs/v1/" SITE "/#"), 0);
}

static void test_sighup_bad_config_kept(void **state)
{
    const struct cfg_site *before = wcsd_config(F.d);
    struct item_cond ic = {F.sim, 0, SIM_ITEM_DIVERTED};
    (void)state;
    write_config(false, true);
    kill(getpid(), SIGHUP);
    pump(300);
    assert_ptr_equal(wcsd_config(F.d), before);
    assert_int_equal(wcsd_config(F.d)->scan_points[0].decision_budget_ms, 100);
    ic.track = induct(F.sim, "T7", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
}

static bool plc2_up(void *arg)
{
    (void)arg;
    return tc_find(F.mq, 0, "wcs/v1/" SITE "/state/device/plc2", "EXECUTE") >= 0;
}

static void test_sighup_adds_plc(void **state)
{
    struct item_cond ic = {F.sim2, 0, SIM_ITEM_DIVERTED};
    struct item_cond ic1 = {F.sim, 0, SIM_ITEM_DIVERTED};
    struct sim_plc_counters c0, c;
    (void)state;
    sim_plc_counters(F.sim, SIM_PLC_MAX_POINTS, &c0);
    write_config(true, false);
    kill(getpid(), SIGHUP);
    assert_true(pump_until(plc2_up, NULL, 5000));
    assert_int_equal(wcsd_config(F.d)->n_scan_points, 2);
    ic.track = induct(F.sim2, "T8", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    /* plc1 kept its connection through the reload. */
    sim_plc_counters(F.sim, SIM_PLC_MAX_POINTS, &c);
    assert_int_equal(c.mb_connections, c0.mb_connections);
    ic1.track = induct(F.sim, "T9", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic1, 5000));
}

/* plc2's lane M1 holds one tote (sim2: capacity 1, no drain); T8 filled it. The PLC confirms
 * the next one "lane full"; the lane is then marked full (alarm, state) and the following tote
 * for it is rejected by wcs itself (sp2 has no recirculation lane). */
static void test_lane_full(void **state)
{
    struct item_cond ic = {F.sim2, 0, SIM_ITEM_REJECTED};
    struct alarm_cond ac = {"wcs/v1/" SITE "/alarm/lane.M1.full", true, tc_count(F.mq)};
    struct sim_plc_item it;
    struct wcsd_kpi k0, k;
    (void)state;
    wcsd_get_kpi(F.d, &k0);
    ic.track = induct(F.sim2, "T12", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim2, ic.track, &it), 0);
    assert_int_equal(it.confirm_result, SIM_CONF_LANE_FULL);
    assert_true(pump_until(alarm_is, &ac, 3000));
    ic.track = induct(F.sim2, "T1", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim2, ic.track, &it), 0);
    assert_int_equal(it.confirm_result, SIM_CONF_PASSED); /* wcs's reject, not the PLC's */
    wcsd_get_kpi(F.d, &k);
    assert_int_equal(k.lane_full - k0.lane_full, 1);
}

/* A divert into a lane marked full lifts the mark only for an item decided after the mark: one
 * decided before (already on its way) only took the place that emptying the lane made, and the
 * mark holds (it flapped on every such confirm: 217 raise/clear pairs in a full shift). */
static void test_lane_full_holds(void **state)
{
    struct item_cond ic = {F.sim2, 0, SIM_ITEM_DIVERTED};
    struct sim_plc_item it;
    uint32_t b, c;
    (void)state;
    /* An empty lane, and the mark of test_lane_full gone (held 10 s). */
    assert_int_equal(sim_plc_lane_empty(F.sim2, 0, 1), 0);
    pump(10500);
    /* Three back to back, each decided before the next reaches the divert: the first fills
     * M1 (capacity 1), the PLC confirms the second "lane full" (the mark), a person empties
     * the lane, and the third, decided before the mark, goes in. */
    ic.track = induct(F.sim2, "T4", SIM_READ_GOOD);
    b = induct(F.sim2, "T5", SIM_READ_GOOD);
    c = induct(F.sim2, "T6", SIM_READ_GOOD);
    assert_true(pump_until(item_is, &ic, 5000));
    ic = (struct item_cond){F.sim2, b, SIM_ITEM_REJECTED};
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim2, b, &it), 0);
    assert_int_equal(it.confirm_result, SIM_CONF_LANE_FULL);
    assert_int_equal(sim_plc_lane_empty(F.sim2, 0, 1), 0);
    ic = (struct item_cond){F.sim2, c, SIM_ITEM_DIVERTED};
    assert_true(pump_until(item_is, &ic, 5000));
    pump(100);
    /* The mark held: wcs rejects the next one itself (before: the PLC, lane full). */
    ic = (struct item_cond){F.sim2, induct(F.sim2, "T7", SIM_READ_GOOD), SIM_ITEM_REJECTED};
    assert_true(pump_until(item_is, &ic, 5000));
    assert_int_equal(sim_plc_item(F.sim2, ic.track, &it), 0);
    assert_int_equal(it.confirm_result, SIM_CONF_PASSED);
}

static int handled_cmds;

static int test_cmd_fn(struct wcsd *d, struct bus_cmd *cmd)
{
    json_t *f;
    (void)d;
    if (strcmp(cmd->command, "lane.disable") != 0)
        return WCS_E_UNKNOWN;
    handled_cmds++;
    f = json_pack("{s:b}", "handled", 1);
    (void)bus_reply_ok(cmd, f);
    json_decref(f);
    return 0;
}

/* Commands reach the command layer (here it refuses "sup", who is no user of the test site);
 * an override replaces it, and a command the override does not know is answered "unknown
 * command". */
static void test_command_seam(void **state)
{
    const char *body = "{\"request_id\":\"r1\"}";
    struct mq_cond mc = {tc_count(F.mq), "wcs/v1/" SITE "/reply/sup/r1",
                         "user \\\"sup\\\" is not configured", false};
    (void)state;
    assert_int_equal(tc_pub(F.mq, "wcs/v1/" SITE "/cmd/sup/order.upsert", body, strlen(body), 1,
                            false, NULL, NULL),
                     0);
    assert_true(pump_until(mq_seen, &mc, 5000));
    wcsd_set_command_fn(F.d, test_cmd_fn);
    body = "{\"request_id\":\"r2\"}";
    mc.topic = "wcs/v1/" SITE "/reply/sup/r2";
    mc.needle = "\"handled\":true";
    assert_int_equal(tc_pub(F.mq, "wcs/v1/" SITE "/cmd/sup/lane.disable", body, strlen(body), 1,
                            false, NULL, NULL),
                     0);
    assert_true(pump_until(mq_seen, &mc, 5000));
    assert_int_equal(handled_cmds, 1);
    body = "{\"request_id\":\"r3\"}";
    mc.topic = "wcs/v1/" SITE "/reply/sup/r3";
    mc.needle = "unknown command";
    assert_int_equal(
        tc_pub(F.mq, "wcs/v1/" SITE "/cmd/sup/foo.bar", body, strlen(body), 1, false, NULL, NULL),
        0);
    assert_true(pump_until(mq_seen, &mc, 5000));
    wcsd_set_command_fn(F.d, NULL);
}

struct jentry {
    char actor[64], subject[128], after[512];
};

/* cmd_refused journal entries with this cause; the last one is copied into *last (may be NULL). */
static int refusals_journaled(const char *cause, struct jentry *last)
{
    redisContext *c = rconn();
    redisReply *r;
    int n = 0;
    if (!c)
        return -1;
    r = redisCommand(c, "XRANGE wcs:{" SITE "}:journal - +");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *v[5] = {NULL}, *names[5] = {"op", "cause", "actor", "subject", "after"};
        for (size_t j = 0; j + 1 < f->elements; j += 2)
            for (size_t k = 0; k < 5; k++)
                if (strcmp(f->element[j]->str, names[k]) == 0)
                    v[k] = f->element[j + 1]->str;
        if (!v[0] || !v[1] || strcmp(v[0], "cmd_refused") != 0 || strcmp(v[1], cause) != 0)
            continue;
        n++;
        if (last) {
            snprintf(last->actor, sizeof(last->actor), "%s", v[2] ? v[2] : "");
            snprintf(last->subject, sizeof(last->subject), "%s", v[3] ? v[3] : "");
            snprintf(last->after, sizeof(last->after), "%s", v[4] ? v[4] : "");
        }
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return n;
}

struct refusal_cond {
    const char *cause;
    int want;
};

static bool refusals_reach(void *arg)
{
    struct refusal_cond *rc = arg;
    return refusals_journaled(rc->cause, NULL) >= rc->want;
}

/* One command the bus refuses: published by "sup" on cmd/sup/<command>, answered on reply_topic
 * with ok false and an error starting with error_prefix, then journaled once with actor sup,
 * this cause, subject and an after object whose request_id is want_rid (NULL: null) and whose
 * error is the reply's error, exactly. */
static void bus_refusal(const char *command, const char *payload, size_t len,
                        const char *reply_topic, const char *error_prefix, const char *cause,
                        const char *subject, const char *want_rid)
{
    char topic[128];
    struct mq_cond mc = {tc_count(F.mq), reply_topic, "\"ok\":false", false};
    int before = refusals_journaled(cause, NULL);
    struct refusal_cond rc = {cause, before + 1};
    struct jentry e;
    json_t *after, *rid, *reply;
    json_error_t jerr;
    long idx;
    const char *error;

    assert_true(before >= 0);
    snprintf(topic, sizeof(topic), "wcs/v1/" SITE "/cmd/sup/%s", command);
    assert_int_equal(tc_pub(F.mq, topic, payload, len, 1, false, NULL, NULL), 0);
    assert_true(pump_until(mq_seen, &mc, 5000));
    idx = tc_find(F.mq, mc.from, reply_topic, mc.needle);
    reply = json_loads(tc_msg(F.mq, (size_t)idx)->payload, 0, &jerr);
    assert_non_null(reply);
    error = json_string_value(json_object_get(reply, "error"));
    assert_non_null(error);
    if (strncmp(error, error_prefix, strlen(error_prefix)) != 0)
        fail_msg("reply error \"%s\", expected it to start with \"%s\"", error, error_prefix);
    assert_true(pump_until(refusals_reach, &rc, 5000));
    pump(100); /* a second entry for the same refusal would show up here */
    assert_int_equal(refusals_journaled(cause, &e), before + 1);
    assert_string_equal(e.actor, "sup");
    assert_string_equal(e.subject, subject);
    after = json_loads(e.after, 0, &jerr);
    if (!after)
        fail_msg("after is not JSON: %s (%s)", e.after, jerr.text);
    assert_string_equal(json_string_value(json_object_get(after, "user")), "sup");
    assert_string_equal(json_string_value(json_object_get(after, "error")), error);
    rid = json_object_get(after, "request_id");
    if (want_rid)
        assert_string_equal(json_string_value(rid), want_rid);
    else
        assert_true(json_is_null(rid));
    json_decref(after);
    json_decref(reply);
}

/* The refusals the bus makes before the command layer (DESIGN.md §3) are answered as before and
 * journaled like the command layer's: one cmd_refused entry each, and nothing else written. */
static void test_bus_refusals_journaled(void **state)
{
    const char *bad = "{\"request_id\":\"m1\",";
    const char *norid = "{\"order_id\":\"O9\"}";
    const char *badname = "{\"request_id\":\"r-badname\"}";
    size_t big_len = 70000;
    char *big = malloc(big_len + 1), reason[128];
    struct bus_stats b0, b1;
    (void)state;
    assert_non_null(big);
    memset(big, 'x', big_len);
    memcpy(big, "{\"request_id\":\"big1\",\"pad\":\"", 28);
    memcpy(big + big_len - 2, "\"}", 2);
    big[big_len] = '\0';
    bus_get_stats(wcsd_bus(F.d), &b0);

    bus_refusal("order.upsert", bad, strlen(bad), "wcs/v1/" SITE "/reply/sup/_invalid",
                "invalid JSON at line 1 column ", "order.upsert _invalid", "order.upsert", NULL);
    snprintf(reason, sizeof(reason), "payload of %zu bytes exceeds the limit of 65536 bytes",
             big_len);
    bus_refusal("order.cancel", big, big_len, "wcs/v1/" SITE "/reply/sup/_invalid", reason,
                "order.cancel _invalid", "order.cancel", NULL);
    bus_refusal("wave.release", norid, strlen(norid), "wcs/v1/" SITE "/reply/sup/_invalid",
                "field \"request_id\": missing", "wave.release _invalid", "wave.release", NULL);
    /* A readable request_id with a bad command level: answered on it, and in the cause. */
    bus_refusal("order!upsert", badname, strlen(badname), "wcs/v1/" SITE "/reply/sup/r-badname",
                "command name: expected 1..63 characters of [A-Za-z0-9_.-]", "_invalid r-badname",
                "_invalid", "r-badname");
    free(big);

    bus_get_stats(wcsd_bus(F.d), &b1);
    assert_int_equal(b1.cmds_rejected - b0.cmds_rejected, 4);
    assert_int_equal(b1.cmds - b0.cmds, 0); /* none reached the command layer */
    {
        redisContext *c = rconn();
        redisReply *r;
        assert_non_null(c);
        r = redisCommand(c, "EXISTS wcs:{" SITE "}:req:sup:r-badname");
        assert_non_null(r);
        assert_int_equal(r->integer, 0);
        freeReplyObject(r);
        redisFree(c);
    }
}

static void test_sigterm_drains_and_exits(void **state)
{
    size_t from = tc_count(F.mq);
    (void)state;
    kill(getpid(), SIGTERM);
    assert_int_equal(wcsd_run(F.d), 0);
    assert_true(notes_count(0, "STOPPING=1") >= 1);
    {
        struct store_stats st;
        store_get_stats(wcsd_store(F.d), &st);
        assert_int_equal(st.queue_len, 0);
        assert_int_equal(st.in_flight, 0);
    }
    wcsd_close(F.d);
    F.d = NULL;
    for (int i = 0;
         i < 100 &&
         tc_find_retained(F.mq, from, "wcs/v1/" SITE "/status", "\"online\":false") < 0 &&
         tc_find(F.mq, from, "wcs/v1/" SITE "/status", "\"online\":false") < 0;
         i++)
        usleep(20000);
    assert_true(tc_find(F.mq, from, "wcs/v1/" SITE "/status", "\"online\":false") >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_after_first_plc_cycle),
        cmocka_unit_test(test_known_tote_diverted),
        cmocka_unit_test(test_table_decisions),
        cmocka_unit_test(test_refusals_rejected),
        cmocka_unit_test(test_lane_disabled_recirc_then_reject),
        cmocka_unit_test(test_late_decision_not_written),
        cmocka_unit_test(test_plc_disconnect_alarm),
        cmocka_unit_test(test_lost_totes),
        cmocka_unit_test(test_redis_restart_and_watchdog),
        cmocka_unit_test(test_broker_restart_republishes),
        cmocka_unit_test(test_sighup_bad_config_kept),
        cmocka_unit_test(test_sighup_adds_plc),
        cmocka_unit_test(test_lane_full),
        cmocka_unit_test(test_lane_full_holds),
        cmocka_unit_test(test_command_seam),
        cmocka_unit_test(test_bus_refusals_journaled),
        cmocka_unit_test(test_sigterm_drains_and_exits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
