/* Integration tests of the harness's mosquitto, through paho MQTTClient: an authenticated round
 * trip, refused logins (anonymous, wrong password, unknown user), the wcs topic ACL (a user's
 * publish under another user's cmd/ is dropped, supervisors read all, operators only their
 * replies), the websockets listener, loopback-only listeners, stop/kill + restart on the same
 * ports (and -EADDRINUSE when one is taken), and persistence on/off across a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/harness.h"
#include "testutil.h"

#include <MQTTClient.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SITE                   "t1"
#define T(suffix)              "wcs/v1/" SITE "/" suffix
#define CONNACK_NOT_AUTHORIZED 5 /* MQTT 3.1.1 CONNACK return code */

static struct harness_mqtt *M;

/* How long to wait for an answer or a message that must come: the broker answers within
 * milliseconds and the wait ends then; only a loaded machine (ASan, a busy 2-core CI runner)
 * needs more than a second. Windows in which nothing may arrive stay short. */
#define WAIT_MS 10000

static int group_setup(void **state)
{
    static const struct harness_user users[] = {
        {"wcs", "", HARNESS_ROLE_SERVICE},
        {"alice", "alice-pw", HARNESS_ROLE_OPERATOR},
        {"bob", "", HARNESS_ROLE_OPERATOR},
        {"sup", "", HARNESS_ROLE_SUPERVISOR},
    };
    struct harness_mqtt_opts o = {.users = users, .n_users = 4, .site = SITE};
    char err[HARNESS_ERR_MAX];
    int rc = harness_mqtt_start(&M, &o, err, sizeof(err));
    (void)state;
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

/* Connects a client; returns the paho/CONNACK code (0: connected). *out is always created. */
static int mq_connect_uri(MQTTClient *out, const char *uri, const char *id, const char *user,
                          const char *password)
{
    MQTTClient_connectOptions o = MQTTClient_connectOptions_initializer;
    int rc = MQTTClient_create(out, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL);
    assert_int_equal(rc, MQTTCLIENT_SUCCESS);
    o.keepAliveInterval = 20;
    o.cleansession = 1;
    o.connectTimeout = 5;
    o.username = user;
    o.password = password;
    return MQTTClient_connect(*out, &o);
}

static int mq_connect_port(MQTTClient *out, int port, const char *id, const char *user,
                           const char *password)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
    return mq_connect_uri(out, uri, id, user, password);
}

static MQTTClient mq_login(const char *user)
{
    MQTTClient c;
    char id[64];
    snprintf(id, sizeof(id), "test-%s", user);
    int rc = mq_connect_port(&c, harness_mqtt_port(M), id, user, harness_mqtt_password(M, user));
    if (rc != MQTTCLIENT_SUCCESS)
        fail_msg("login as %s: rc %d", user, rc);
    return c;
}

static void mq_close(MQTTClient c)
{
    if (MQTTClient_isConnected(c))
        MQTTClient_disconnect(c, 200);
    MQTTClient_destroy(&c);
}

static void mq_subscribe(MQTTClient c, const char *filter)
{
    assert_int_equal(MQTTClient_subscribe(c, filter, 1), MQTTCLIENT_SUCCESS);
}

/* Publishes with QoS 1 and waits for the PUBACK. */
static void mq_publish(MQTTClient c, const char *topic, const char *payload)
{
    MQTTClient_deliveryToken tok;
    int rc = MQTTClient_publish(c, topic, (int)strlen(payload), payload, 1, 0, &tok);
    assert_int_equal(rc, MQTTCLIENT_SUCCESS);
    assert_int_equal(MQTTClient_waitForCompletion(c, tok, WAIT_MS), MQTTCLIENT_SUCCESS);
}

static void mq_publish_retained(MQTTClient c, const char *topic, const char *payload)
{
    MQTTClient_deliveryToken tok;
    int rc = MQTTClient_publish(c, topic, (int)strlen(payload), payload, 1, 1, &tok);
    assert_int_equal(rc, MQTTCLIENT_SUCCESS);
    assert_int_equal(MQTTClient_waitForCompletion(c, tok, WAIT_MS), MQTTCLIENT_SUCCESS);
}

/* Receives one message within timeout_ms into topic/payload; returns false on timeout. */
static bool mq_receive(MQTTClient c, int timeout_ms, char *topic, size_t tcap, char *payload,
                       size_t pcap)
{
    char *name = NULL;
    int len = 0;
    MQTTClient_message *msg = NULL;
    int rc = MQTTClient_receive(c, &name, &len, &msg, (unsigned long)timeout_ms);
    if (rc != MQTTCLIENT_SUCCESS && rc != MQTTCLIENT_TOPICNAME_TRUNCATED)
        fail_msg("receive: rc %d", rc);
    if (!msg)
        return false;
    snprintf(topic, tcap, "%s", name);
    snprintf(payload, pcap, "%.*s", msg->payloadlen, (const char *)msg->payload);
    MQTTClient_freeMessage(&msg);
    MQTTClient_free(name);
    return true;
}

static void expect_message(MQTTClient c, const char *topic, const char *payload)
{
    char t[256], p[256];
    if (!mq_receive(c, WAIT_MS, t, sizeof(t), p, sizeof(p)))
        fail_msg("no message (wanted %s '%s')", topic, payload);
    assert_string_equal(t, topic);
    assert_string_equal(p, payload);
}

/* Checks that nothing reached rx before a marker that tx publishes now on marker_topic (which
 * rx must receive). mosquitto forwards to a subscriber in the order it handled the publishes, and
 * it handled everything published and acknowledged before the marker first: whatever was
 * wrongly let through would arrive ahead of it. So no time window is needed. */
static void expect_nothing_before_marker(MQTTClient rx, MQTTClient tx, const char *marker_topic)
{
    char t[256], p[256];
    mq_publish(tx, marker_topic, "marker");
    if (!mq_receive(rx, WAIT_MS, t, sizeof(t), p, sizeof(p)))
        fail_msg("the marker on %s did not arrive", marker_topic);
    if (strcmp(t, marker_topic) != 0 || strcmp(p, "marker") != 0)
        fail_msg("unexpected message %s '%s'", t, p);
}

static void test_round_trip(void **state)
{
    MQTTClient svc = mq_login("wcs"), alice = mq_login("alice");
    (void)state;
    assert_string_equal(harness_mqtt_password(M, "alice"), "alice-pw");
    mq_subscribe(svc, T("cmd/#"));
    mq_subscribe(alice, T("reply/alice/#"));
    mq_publish(alice, T("cmd/alice/release_wave"), "{\"request_id\":\"r1\"}");
    expect_message(svc, T("cmd/alice/release_wave"), "{\"request_id\":\"r1\"}");
    mq_publish(svc, T("reply/alice/r1"), "{\"ok\":true}");
    expect_message(alice, T("reply/alice/r1"), "{\"ok\":true}");
    mq_close(alice);
    mq_close(svc);
}

static void test_refused_logins(void **state)
{
    MQTTClient c;
    int port = harness_mqtt_port(M);
    (void)state;
    assert_int_equal(mq_connect_port(&c, port, "anon", NULL, NULL), CONNACK_NOT_AUTHORIZED);
    mq_close(c);
    assert_int_equal(mq_connect_port(&c, port, "wrong", "alice", "not-alice-pw"),
                     CONNACK_NOT_AUTHORIZED);
    mq_close(c);
    assert_int_equal(mq_connect_port(&c, port, "nouser", "mallory", "alice-pw"),
                     CONNACK_NOT_AUTHORIZED);
    mq_close(c);
    /* Another user's password does not open this one. */
    assert_int_equal(mq_connect_port(&c, port, "swap", "bob", "alice-pw"), CONNACK_NOT_AUTHORIZED);
    mq_close(c);
}

static void test_publish_under_other_user_dropped(void **state)
{
    MQTTClient svc = mq_login("wcs"), alice = mq_login("alice");
    (void)state;
    mq_subscribe(svc, T("cmd/#"));
    /* Both publishes get an ordinary PUBACK (MQTT 3.1.1); only the own one is delivered. */
    mq_publish(alice, T("cmd/bob/x"), "forged");
    mq_publish(alice, T("cmd/alice/x"), "own");
    expect_message(svc, T("cmd/alice/x"), "own");
    expect_nothing_before_marker(svc, alice, T("cmd/alice/marker"));
    /* Nor may an operator write outside cmd/, e.g. fake an event. */
    mq_subscribe(svc, T("evt/#"));
    mq_publish(alice, T("evt/scan"), "fake");
    expect_nothing_before_marker(svc, alice, T("cmd/alice/marker"));
    mq_close(alice);
    mq_close(svc);
}

static void test_read_rights_by_role(void **state)
{
    MQTTClient svc = mq_login("wcs"), sup = mq_login("sup"), bob = mq_login("bob");
    (void)state;
    mq_subscribe(sup, T("#"));
    MQTTClient_subscribe(bob, T("#"), 1); /* may be refused: either way nothing may arrive */
    mq_subscribe(bob, T("reply/bob/#"));
    mq_publish(svc, T("evt/scan"), "{\"seq\":1}");
    mq_publish(svc, T("reply/alice/r9"), "{\"ok\":true}");
    mq_publish(svc, T("reply/bob/r7"), "{\"ok\":false}");
    expect_message(sup, T("evt/scan"), "{\"seq\":1}");
    expect_message(sup, T("reply/alice/r9"), "{\"ok\":true}");
    expect_message(sup, T("reply/bob/r7"), "{\"ok\":false}");
    /* The operator sees only its own reply. */
    expect_message(bob, T("reply/bob/r7"), "{\"ok\":false}");
    expect_nothing_before_marker(bob, svc, T("reply/bob/marker"));
    /* A supervisor may read but not write outside its own cmd/. */
    mq_subscribe(svc, T("evt/#"));
    mq_subscribe(svc, T("cmd/sup/#"));
    mq_publish(sup, T("evt/fake"), "x");
    expect_nothing_before_marker(svc, sup, T("cmd/sup/marker"));
    mq_close(bob);
    mq_close(sup);
    mq_close(svc);
}

static void test_websockets_listener(void **state)
{
    MQTTClient svc = mq_login("wcs"), ws;
    char uri[64];
    (void)state;
    snprintf(uri, sizeof(uri), "ws://127.0.0.1:%d", harness_mqtt_ws_port(M));
    mq_subscribe(svc, T("cmd/#"));
    assert_int_equal(mq_connect_uri(&ws, uri, "ws-alice", "alice", "alice-pw"), MQTTCLIENT_SUCCESS);
    mq_publish(ws, T("cmd/alice/over_ws"), "ws");
    expect_message(svc, T("cmd/alice/over_ws"), "ws");
    mq_close(ws);
    /* Credentials are checked on websockets too. */
    assert_int_equal(mq_connect_uri(&ws, uri, "ws-anon", NULL, NULL), CONNACK_NOT_AUTHORIZED);
    mq_close(ws);
    mq_close(svc);
}

static void test_loopback_only(void **state)
{
    int lo, other;
    (void)state;
    assert_int_not_equal(harness_mqtt_port(M), harness_mqtt_ws_port(M));
    assert_int_equal(listeners_on_port(harness_mqtt_port(M), &lo, &other), 0);
    assert_int_equal(lo, 1);
    assert_int_equal(other, 0);
    assert_int_equal(listeners_on_port(harness_mqtt_ws_port(M), &lo, &other), 0);
    assert_int_equal(lo, 1);
    assert_int_equal(other, 0);
}

static void test_password_files(void **state)
{
    struct stat st;
    char buf[256];
    (void)state;
    assert_int_equal(harness_mqtt_user_count(M), 4);
    for (size_t i = 0; i < harness_mqtt_user_count(M); i++) {
        const struct harness_user *u = harness_mqtt_user(M, i);
        const char *f = harness_mqtt_password_file(M, u->name);
        assert_non_null(f);
        assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_true(read_small_file(f, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, u->password);
    }
    assert_null(harness_mqtt_password_file(M, "mallory"));
    assert_null(harness_mqtt_password(M, "mallory"));
    assert_null(harness_mqtt_user(M, 4));
    assert_non_null(harness_mqtt_acl_file(M));
}

static void restart_keeps_ports(bool crash)
{
    char err[HARNESS_ERR_MAX];
    int port = harness_mqtt_port(M), ws_port = harness_mqtt_ws_port(M);
    pid_t old = harness_mqtt_pid(M);
    MQTTClient before = mq_login("wcs"), after;
    if (crash)
        assert_int_equal(harness_mqtt_kill(M), 0);
    else
        assert_int_equal(harness_mqtt_stop(M), 0);
    assert_int_equal(harness_mqtt_pid(M), 0);
    assert_true(process_gone(old));
    if (harness_mqtt_restart(M, err, sizeof(err)) < 0)
        fail_msg("restart: %s", err);
    assert_int_equal(harness_mqtt_port(M), port);
    assert_int_equal(harness_mqtt_ws_port(M), ws_port);
    assert_int_not_equal(harness_mqtt_pid(M), old);
    after = mq_login("alice");
    assert_true(MQTTClient_isConnected(after));
    mq_close(after);
    mq_close(before);
}

static void test_stop_restart(void **state)
{
    (void)state;
    restart_keeps_ports(false);
}

static void test_kill_restart(void **state)
{
    (void)state;
    restart_keeps_ports(true);
    /* And it still enforces its ACL after the restart. */
    test_publish_under_other_user_dropped(state);
}

/* Listens on 127.0.0.1:port (SO_REUSEADDR: the stopped broker's connections may linger in
 * TIME_WAIT). Returns the fd. */
static int occupy_port(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    return fd;
}

/* A port taken by another process is reported as -EADDRINUSE, for the websockets port too (its
 * listener does not say "Address already in use"): that is what makes a start retry with new
 * ports when another test takes one between the harness's choice and the broker's bind. */
static void test_restart_port_taken(void **state)
{
    char err[HARNESS_ERR_MAX] = "";
    int ports[2] = {harness_mqtt_ws_port(M), harness_mqtt_port(M)};
    (void)state;
    for (int i = 0; i < 2; i++) {
        int fd;
        assert_int_equal(harness_mqtt_stop(M), 0);
        fd = occupy_port(ports[i]);
        int rc = harness_mqtt_restart(M, err, sizeof(err));
        close(fd);
        if (rc != -EADDRINUSE)
            fail_msg("port %d taken: restart gave %d, want -EADDRINUSE (%s)", ports[i], rc, err);
        assert_int_equal(harness_mqtt_pid(M), 0);
    }
    if (harness_mqtt_restart(M, err, sizeof(err)) < 0)
        fail_msg("restart: %s", err);
    mq_close(mq_login("alice"));
}

/* A retained message survives a clean restart only with persistence on. */
static void retained_after_restart(bool persistence, bool *kept)
{
    const struct harness_user users[] = {{"wcs", "", HARNESS_ROLE_SERVICE}};
    struct harness_mqtt_opts o = {
        .users = users, .n_users = 1, .site = SITE, .persistence = persistence};
    struct harness_mqtt *m;
    char err[HARNESS_ERR_MAX], t[128], p[128];
    MQTTClient c;
    if (harness_mqtt_start(&m, &o, err, sizeof(err)) < 0)
        fail_msg("start: %s", err);
    assert_int_equal(
        mq_connect_port(&c, harness_mqtt_port(m), "r1", "wcs", harness_mqtt_password(m, "wcs")), 0);
    mq_publish_retained(c, T("state/lane/L1"), "{\"state\":\"EXECUTE\"}");
    mq_close(c);
    assert_int_equal(harness_mqtt_stop(m), 0);
    if (harness_mqtt_restart(m, err, sizeof(err)) < 0)
        fail_msg("restart: %s", err);
    assert_int_equal(
        mq_connect_port(&c, harness_mqtt_port(m), "r2", "wcs", harness_mqtt_password(m, "wcs")), 0);
    mq_subscribe(c, T("state/#"));
    /* The broker sends retained messages on SUBSCRIBE, before it handles a later publish: the
     * first message is the retained one if it survived, else this marker. No time window. */
    mq_publish(c, T("state/marker"), "marker");
    if (!mq_receive(c, WAIT_MS, t, sizeof(t), p, sizeof(p)))
        fail_msg("not even the marker arrived");
    *kept = strcmp(t, T("state/lane/L1")) == 0;
    if (*kept) {
        assert_string_equal(p, "{\"state\":\"EXECUTE\"}");
        expect_message(c, T("state/marker"), "marker");
    } else {
        assert_string_equal(t, T("state/marker"));
    }
    mq_close(c);
    harness_mqtt_free(m);
}

static void test_persistence_option(void **state)
{
    bool kept;
    (void)state;
    retained_after_restart(true, &kept);
    assert_true(kept);
    retained_after_restart(false, &kept);
    assert_false(kept);
}

static void test_custom_acl_and_bad_options(void **state)
{
    const struct harness_user users[] = {{"u1", "pw-1", HARNESS_ROLE_OPERATOR}};
    const struct harness_user bad[] = {{"u/1", "pw", HARNESS_ROLE_OPERATOR}};
    const struct harness_user dup[] = {{"a", "", 0}, {"a", "", 0}};
    struct harness_mqtt_opts o = {.users = users, .n_users = 1, .acl = "user u1\ntopic x/#\n"};
    struct harness_mqtt *m = NULL;
    char err[HARNESS_ERR_MAX] = "";
    MQTTClient a, b;
    (void)state;
    if (harness_mqtt_start(&m, &o, err, sizeof(err)) < 0)
        fail_msg("start: %s", err);
    assert_int_equal(mq_connect_port(&a, harness_mqtt_port(m), "a", "u1", "pw-1"), 0);
    assert_int_equal(mq_connect_port(&b, harness_mqtt_port(m), "b", "u1", "pw-1"), 0);
    mq_subscribe(b, "#");
    mq_publish(a, "y/1", "denied");
    mq_publish(a, "x/1", "allowed");
    expect_message(b, "x/1", "allowed");
    expect_nothing_before_marker(b, a, "x/marker");
    mq_close(a);
    mq_close(b);
    harness_mqtt_free(m);

    m = NULL;
    o = (struct harness_mqtt_opts){.users = bad, .n_users = 1};
    assert_int_equal(harness_mqtt_start(&m, &o, err, sizeof(err)), -EINVAL);
    assert_null(m);
    o = (struct harness_mqtt_opts){.users = dup, .n_users = 2};
    assert_int_equal(harness_mqtt_start(&m, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "twice"));
    o = (struct harness_mqtt_opts){.users = users, .n_users = 1, .site = "a/b"};
    assert_int_equal(harness_mqtt_start(&m, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "site"));
    o = (struct harness_mqtt_opts){.users = users, .n_users = 1, .max_queued = -1};
    assert_int_equal(harness_mqtt_start(&m, &o, err, sizeof(err)), -EINVAL);
    assert_null(m);
    assert_non_null(strstr(err, "max_queued -1"));
    o = (struct harness_mqtt_opts){.binary = "/nonexistent/mosquitto"};
    assert_int_equal(harness_mqtt_start(&m, &o, err, sizeof(err)), -ENOENT);
    assert_null(m);
    harness_mqtt_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused_logins),
        cmocka_unit_test(test_publish_under_other_user_dropped),
        cmocka_unit_test(test_read_rights_by_role),
        cmocka_unit_test(test_websockets_listener),
        cmocka_unit_test(test_loopback_only),
        cmocka_unit_test(test_password_files),
        cmocka_unit_test(test_stop_restart),
        cmocka_unit_test(test_kill_restart),
        cmocka_unit_test(test_restart_port_taken),
        cmocka_unit_test(test_persistence_option),
        cmocka_unit_test(test_custom_acl_and_bad_options),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
