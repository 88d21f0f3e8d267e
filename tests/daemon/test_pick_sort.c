/* A tote filled by pick.confirm is sorted to its order's pack station by the running daemon,
 * without a restart: the command layer's change reaches the in-memory model and the PLC decision
 * table. Real redis-server and mosquitto (harness), the daemon in-process with its real command
 * layer, the PLC emulator over loopback Modbus; the commands go over MQTT as the ERP, a
 * supervisor and a picker send them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "harness/harness.h"
#include "sim/plc.h"
#include "tclient.h"
#include "tfile.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE    "ps"
#define P       "wcs/v1/" SITE "/"
#define WAIT_MS 20000

static struct harness_redis *R;
static struct harness_mqtt *M;
static struct sim_plc *SIM;
static struct wcsd *D;
static struct tclient *ERP, *SUP, *PICK;
static char dir[64], cfg[96];

static void pump_ms(int ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)ms * 1000;
    while (clock_real_mono_us() < end)
        (void)loop_run_once(wcsd_loop(D), 5);
}

static struct tclient *client(const char *user)
{
    char uri[64], id[64], filter[96];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(M));
    snprintf(id, sizeof(id), "ps-%s", user);
    struct tclient *c = tc_open(uri, id, user, harness_mqtt_password(M, user), 5, false);
    snprintf(filter, sizeof(filter), P "reply/%s/#", user);
    if (!c || tc_sub(c, filter) != 0)
        return NULL;
    return c;
}

/* Sends a command and pumps the daemon until its reply; fails the test on a refusal. Returns
 * the reply (the caller decrefs). */
static json_t *ok(struct tclient *c, const char *user, const char *command, const char *rid,
                  const char *fields)
{
    char topic[128], body[1024], reply[160];
    size_t from = tc_count(c);
    uint64_t end = clock_real_mono_us() + WAIT_MS * 1000ull;
    long i = -1;
    snprintf(topic, sizeof(topic), P "cmd/%s/%s", user, command);
    snprintf(body, sizeof(body), "{\"request_id\":\"%s\",%s}", rid, fields);
    snprintf(reply, sizeof(reply), P "reply/%s/%s", user, rid);
    assert_int_equal(tc_pub(c, topic, body, strlen(body), 1, false, NULL, NULL), 0);
    while ((i = tc_find(c, from, reply, NULL)) < 0 && clock_real_mono_us() < end)
        (void)loop_run_once(wcsd_loop(D), 5);
    if (i < 0)
        fail_msg("no reply to %s %s", command, rid);
    json_t *j = json_loads(tc_msg(c, (size_t)i)->payload, 0, NULL);
    assert_non_null(j);
    if (!json_is_true(json_object_get(j, "ok")))
        fail_msg("%s refused: %s", command, json_string_value(json_object_get(j, "error")));
    return j;
}

static int setup(void **state)
{
    static const struct harness_user users[] = {
        {"wcs", "", HARNESS_ROLE_SERVICE},
        {"erp", "", HARNESS_ROLE_OPERATOR},
        {"sup", "", HARNESS_ROLE_OPERATOR},
        {"picker1", "", HARNESS_ROLE_OPERATOR},
    };
    struct harness_mqtt_opts mo = {.users = users, .n_users = 4, .site = SITE};
    struct sim_plc_cfg sc;
    struct wcsd_opts o = {0};
    char err[HARNESS_ERR_MAX];
    FILE *f;
    (void)state;
    log_init(NULL, LOGL_WARN);
    snprintf(dir, sizeof(dir), "/tmp/wcs-picksort-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cfg, sizeof(cfg), "%s/site.yaml", dir);
    if (harness_redis_start(&R, NULL, err, sizeof(err)) != 0 ||
        harness_mqtt_start(&M, &mo, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    /* One scan point: lane 1 to the pack station, 2 to the carrier, 9 reject. */
    sim_plc_cfg_defaults(&sc);
    sc.heartbeat_ms = 250;
    sc.n_points = 1;
    sim_plc_point_defaults(&sc.points[0]);
    sc.points[0].scanner_to_divert_mm = 1000;
    sc.points[0].actuation_ms = 100;
    sc.points[0].n_lanes = 2;
    sc.points[0].reject_lane_id = 9;
    if (sim_plc_open(&SIM, &sc) != 0)
        return -1;
    f = fopen(cfg, "w");
    if (!f)
        return -1;
    fprintf(f,
            "site: {id: " SITE ", name: Test, timezone: UTC}\n"
            "warehouses:\n"
            "  - {code: WH1, name: Main, locations: [{path: WH1/Stock/A/1, type: internal},\n"
            "     {path: WH1/Pack, type: packing}]}\n"
            "products:\n"
            "  - {sku: P1, name: Plain, gtins: [\"09506000134352\"], weight_g: 100}\n"
            "waves:\n"
            "  carriers: [{code: DHL, name: DHL, cutoffs: [\"23:59\"], lane: L2}]\n"
            "devices:\n"
            "  - {id: plc1, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:%u\",\n"
            "     poll_ms: 5, heartbeat_ms: 250, timeout_ms: 500}\n"
            "  - {id: sc1, kind: scale, model: mt-sics, uri: \"tcp://127.0.0.1:1\"}\n"
            "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:1\"}\n"
            "conveyor:\n"
            "  scan_points:\n"
            "    - {id: sp1, plc: plc1, read_base: 0, write_base: 100, lanes: [L1, L2, LR]}\n"
            "  lanes:\n"
            "    - {id: L1, number: 1, destination: P1}\n"
            "    - {id: L2, number: 2, destination: DHL}\n"
            "    - {id: LR, number: 9, destination: reject}\n"
            "labels: {company_prefix: \"0614141\", ship_from: {name: Test DC, street: Dock 1,\n"
            "         city: Town, postcode: \"12345\", country: DE}}\n"
            "stations:\n"
            "  - {id: P1, kind: pack, location: WH1/Pack, scale: sc1, printer: pr1}\n"
            "roles:\n"
            "  - {name: erp, commands: [order.*]}\n"
            "  - {name: sup, commands: [\"*\"], approve: true}\n"
            "  - {name: picker, commands: [batch.claim, pick.*]}\n"
            "users:\n"
            "  - {name: erp, roles: [erp]}\n"
            "  - {name: sup, roles: [sup]}\n"
            "  - {name: picker1, roles: [picker]}\n"
            "adjust_approval: {qty_threshold: 1000}\n"
            "redis: {host: 127.0.0.1, port: %d, user: %s, password_file: %s, timeout_ms: 2000}\n"
            "mqtt: {uri: \"tcp://127.0.0.1:%d\", client_id: wcs-ps, user: wcs,\n"
            "       password_file: %s, keepalive_s: 5, qos: 1}\n",
            sim_plc_port(SIM), harness_redis_port(R), harness_redis_user(R),
            harness_redis_password_file(R), harness_mqtt_port(M),
            harness_mqtt_password_file(M, "wcs"));
    fclose(f);
    o.config_path = cfg;
    o.kpi_interval_ms = 500;
    if (wcsd_open(&D, &o) != 0)
        return -1;
    for (uint64_t end = clock_real_mono_us() + WAIT_MS * 1000ull;
         !wcsd_is_ready(D) && clock_real_mono_us() < end;)
        (void)loop_run_once(wcsd_loop(D), 5);
    ERP = client("erp");
    SUP = client("sup");
    PICK = client("picker1");
    return wcsd_is_ready(D) && ERP && SUP && PICK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tc_close(ERP);
    tc_close(SUP);
    tc_close(PICK);
    wcsd_close(D);
    sim_plc_close(SIM);
    harness_mqtt_free(M);
    harness_redis_free(R);
    return tfile_remove_tree(dir) == 0 ? 0 : -1;
}

static void test_picked_tote_sorted_to_its_pack_station(void **state)
{
    char f[512];
    json_t *r, *tasks, *t;
    struct wcsd_tote tote;
    struct wcsd_kpi k0, k1;
    struct sim_plc_item it;
    uint32_t track = 0;
    (void)state;
    json_decref(ok(SUP, "sup", "inventory.adjust", "a1",
                   "\"sku\":\"P1\",\"location\":\"WH1/Stock/A/1\",\"qty\":10,"
                   "\"reason\":\"initial stock\""));
    json_decref(ok(ERP, "erp", "order.upsert", "o1",
                   "\"order\":\"SO1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":2}]"));
    json_decref(ok(SUP, "sup", "wave.plan", "w1", "\"wave\":\"W1\""));
    json_decref(ok(SUP, "sup", "wave.release", "w2", "\"wave\":\"W1\""));
    r = ok(PICK, "picker1", "batch.claim", "c1", "\"batch\":\"W1-B1\"");
    tasks = json_object_get(r, "tasks");
    assert_int_equal(json_array_size(tasks), 1);
    t = json_array_get(tasks, 0);
    snprintf(f, sizeof(f),
             "\"task\":\"%s\",\"location\":\"%s\",\"scan\":\"]C10109506000134352\",\"qty\":2,"
             "\"tote\":\"T77\"",
             json_string_value(json_object_get(t, "task")),
             json_string_value(json_object_get(t, "location")));
    json_decref(r);
    /* Before the pick the daemon does not know the tote. */
    assert_int_equal(wcsd_tote_get(D, "T77", &tote), WCS_E_UNKNOWN);
    json_decref(ok(PICK, "picker1", "pick.confirm", "p1", f));
    /* The change reached the model (and the PLC table) without a restart. */
    for (uint64_t end = clock_real_mono_us() + WAIT_MS * 1000ull;
         wcsd_tote_get(D, "T77", &tote) != 0 && clock_real_mono_us() < end;)
        (void)loop_run_once(wcsd_loop(D), 5);
    assert_int_equal(wcsd_tote_get(D, "T77", &tote), 0);
    assert_string_equal(tote.order, "SO1");
    wcsd_get_kpi(D, &k0);

    assert_int_equal(sim_plc_induct(SIM, 0, "T77", SIM_READ_GOOD, &track), 0);
    for (uint64_t end = clock_real_mono_us() + WAIT_MS * 1000ull;
         !(sim_plc_item(SIM, track, &it) == 0 && it.confirm_result != 0) &&
         clock_real_mono_us() < end;)
        (void)loop_run_once(wcsd_loop(D), 5);
    assert_int_equal(sim_plc_item(SIM, track, &it), 0);
    assert_int_equal(it.state, SIM_ITEM_DIVERTED);
    assert_int_equal(it.lane, 1); /* L1: the order's pack station P1 */
    pump_ms(200);
    wcsd_get_kpi(D, &k1);
    assert_int_equal(k1.unknown_totes, k0.unknown_totes);
    assert_true(k1.diverts > k0.diverts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_picked_tote_sorted_to_its_pack_station),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
