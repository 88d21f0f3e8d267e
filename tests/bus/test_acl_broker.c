/* The ACL `wcs acl` writes, enforced by a real mosquitto (harness): started with exactly the
 * rendered text and the site's users, it must let each user publish only under its own
 * cmd/<user>/ and deliver to it only its replies, the status and its roles' `read` topics; the
 * service user reads and writes everything; a client without credentials is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "acl_site.h"
#include "bus/acl.h"
#include "harness/harness.h"

#include <MQTTClient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T(suffix) "wcs/v1/s1/" suffix
#define WAIT_MS   10000 /* a message that must come; ends as soon as it does */

static struct harness_mqtt *M;

static int group_setup(void **state)
{
    static const struct harness_user users[] = {
        {"wcs", "", HARNESS_ROLE_SERVICE},    {"pick1", "", HARNESS_ROLE_OPERATOR},
        {"pick2", "", HARNESS_ROLE_OPERATOR}, {"erp", "", HARNESS_ROLE_OPERATOR},
        {"lead", "", HARNESS_ROLE_OPERATOR},
    };
    struct cfg_errors errs;
    struct cfg_site *site = NULL;
    char *acl = NULL, err[HARNESS_ERR_MAX];
    size_t len;
    const char *why = NULL;
    int rc;
    (void)state;
    cfg_errors_init(&errs);
    rc = cfg_load_mem(&site, "acl.yaml", ACL_SITE_YAML, strlen(ACL_SITE_YAML), &errs);
    cfg_errors_fini(&errs);
    if (rc < 0 || acl_render(site, NULL, &acl, &len, &why) < 0)
        return -1;
    /* The harness roles are ignored when the ACL text is given. */
    struct harness_mqtt_opts o = {.users = users, .n_users = 5, .acl = acl};
    rc = harness_mqtt_start(&M, &o, err, sizeof(err));
    free(acl);
    cfg_free(site);
    if (rc < 0) {
        fprintf(stderr, "harness_mqtt_start: %d %s\n", rc, err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_mqtt_free(M);
    return 0;
}

static int connect_as(MQTTClient *c, const char *user, const char *password)
{
    MQTTClient_connectOptions o = MQTTClient_connectOptions_initializer;
    char uri[64], id[64];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", harness_mqtt_port(M));
    snprintf(id, sizeof(id), "acl-%s", user ? user : "anon");
    assert_int_equal(MQTTClient_create(c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL),
                     MQTTCLIENT_SUCCESS);
    o.keepAliveInterval = 20;
    o.cleansession = 1;
    o.connectTimeout = 5;
    o.username = user;
    o.password = password;
    return MQTTClient_connect(*c, &o);
}

static MQTTClient login(const char *user)
{
    MQTTClient c;
    int rc = connect_as(&c, user, harness_mqtt_password(M, user));
    if (rc != MQTTCLIENT_SUCCESS)
        fail_msg("login as %s: rc %d", user, rc);
    return c;
}

static void logout(MQTTClient c)
{
    if (MQTTClient_isConnected(c))
        MQTTClient_disconnect(c, 200);
    MQTTClient_destroy(&c);
}

static void sub(MQTTClient c, const char *filter)
{
    /* mosquitto may refuse a subscription the ACL never lets through (SUBACK 0x80) or accept it
     * and filter each message: either way what arrives is what counts. */
    (void)MQTTClient_subscribe(c, filter, 1);
}

static void pub(MQTTClient c, const char *topic, const char *payload)
{
    MQTTClient_deliveryToken tok;
    assert_int_equal(MQTTClient_publish(c, topic, (int)strlen(payload), payload, 1, 0, &tok),
                     MQTTCLIENT_SUCCESS);
    assert_int_equal(MQTTClient_waitForCompletion(c, tok, WAIT_MS), MQTTCLIENT_SUCCESS);
}

/* Receives the next message and checks it is topic. mosquitto forwards in the order it handled
 * the publishes, so a message that was wrongly let through arrives ahead of the expected one. */
static void expect(MQTTClient c, const char *topic)
{
    char *name = NULL;
    int len = 0;
    MQTTClient_message *msg = NULL;
    int rc = MQTTClient_receive(c, &name, &len, &msg, WAIT_MS);
    if (rc != MQTTCLIENT_SUCCESS || !msg)
        fail_msg("nothing arrived (wanted %s)", topic);
    if (strcmp(name, topic) != 0)
        fail_msg("got %s, wanted %s", name, topic);
    MQTTClient_freeMessage(&msg);
    MQTTClient_free(name);
}

static void test_anonymous_refused(void **state)
{
    MQTTClient c;
    (void)state;
    assert_int_not_equal(connect_as(&c, NULL, NULL), MQTTCLIENT_SUCCESS);
    logout(c);
    assert_int_not_equal(connect_as(&c, "pick1", "wrong"), MQTTCLIENT_SUCCESS);
    logout(c);
}

static void test_commands_only_under_own_name(void **state)
{
    MQTTClient svc = login("wcs"), p1 = login("pick1"), lead = login("lead");
    (void)state;
    sub(svc, T("cmd/+/+"));
    pub(p1, T("cmd/pick2/pick.confirm"), "{\"request_id\":\"forged\"}");
    pub(p1, T("cmd/lead/adjust.approve"), "{\"request_id\":\"forged\"}");
    pub(p1, T("evt/pick"), "{}"); /* nor may it fake an event */
    pub(p1, T("cmd/pick1/pick.confirm"), "{\"request_id\":\"own\"}");
    expect(svc, T("cmd/pick1/pick.confirm"));
    /* A supervisor reads everything but writes only its own commands too. */
    pub(lead, T("cmd/pick1/pick.confirm"), "{\"request_id\":\"forged\"}");
    pub(lead, T("cmd/lead/wave.release"), "{\"request_id\":\"own\"}");
    expect(svc, T("cmd/lead/wave.release"));
    logout(lead);
    logout(p1);
    logout(svc);
}

static void test_reads_by_role(void **state)
{
    MQTTClient svc = login("wcs"), p1 = login("pick1"), p2 = login("pick2"), erp = login("erp"),
               lead = login("lead");
    static const char *const all[] = {T("evt/scan"),       T("kpi"),
                                      T("reply/pick2/r1"), T("evt/ship"),
                                      T("state/lane/L1"),  T("state/batch/W1-B1"),
                                      T("evt/task"),       T("cmd/erp/order.upsert"),
                                      T("reply/pick1/r1"), T("status")};
    (void)state;
    /* Each client subscribes to every topic separately (no overlap: one copy each). */
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        sub(p1, all[i]);
        sub(p2, all[i]);
        sub(erp, all[i]);
    }
    sub(lead, T("#"));
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pub(svc, all[i], "{}");
    /* picker: its batch and task topics, its own reply, the status. */
    expect(p1, T("state/batch/W1-B1"));
    expect(p1, T("evt/task"));
    expect(p1, T("reply/pick1/r1"));
    expect(p1, T("status"));
    /* picker + viewer: also the state tree and the KPIs; pick2's reply, not pick1's. */
    expect(p2, T("kpi"));
    expect(p2, T("reply/pick2/r1"));
    expect(p2, T("state/lane/L1"));
    expect(p2, T("state/batch/W1-B1"));
    expect(p2, T("evt/task"));
    expect(p2, T("status"));
    /* ERP: shipments and the status; never another user's commands. */
    expect(erp, T("evt/ship"));
    expect(erp, T("status"));
    /* The supervisor role reads the whole tree, commands of others included. */
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        expect(lead, all[i]);
    /* Markers: each client's next message must be the marker, nothing leaked after. */
    pub(svc, T("status"), "{\"marker\":1}");
    expect(p1, T("status"));
    expect(p2, T("status"));
    expect(erp, T("status"));
    logout(lead);
    logout(erp);
    logout(p2);
    logout(p1);
    logout(svc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous_refused),
        cmocka_unit_test(test_commands_only_under_own_name),
        cmocka_unit_test(test_reads_by_role),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
