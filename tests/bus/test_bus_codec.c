/* Unit tests for the bus codec (wcs/bus/codec.c): command topic parsing, envelope checks with
 * their exact error texts, the response-topic guard, ts/seq stamping, reply building, and the
 * field helpers command handlers use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "bus/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int topic(const char *t, char *user, char *cmd, char *err)
{
    return bus_cmd_topic_parse(t, strlen(t), "s1", user, cmd, err, BUS_ERR_MAX);
}

static void test_cmd_topic(void **state)
{
    char user[BUS_NAME_MAX], cmd[BUS_NAME_MAX], err[BUS_ERR_MAX];
    (void)state;
    assert_int_equal(topic("wcs/v1/s1/cmd/alice/order.upsert", user, cmd, err), 0);
    assert_string_equal(user, "alice");
    assert_string_equal(cmd, "order.upsert");
    /* Another site, another branch, too few or too many levels: not ours. */
    assert_int_equal(topic("wcs/v1/s2/cmd/alice/x", user, cmd, err), WCS_E_UNKNOWN);
    assert_int_equal(topic("wcs/v1/s1x/cmd/alice/x", user, cmd, err), WCS_E_UNKNOWN);
    assert_int_equal(topic("wcs/v1/s1/evt/alice/x", user, cmd, err), WCS_E_UNKNOWN);
    assert_int_equal(topic("wcs/v1/s1/cmd/alice", user, cmd, err), WCS_E_UNKNOWN);
    assert_int_equal(topic("wcs/v1/s1/cmd/alice/x/y", user, cmd, err), WCS_E_UNKNOWN);
    assert_int_equal(topic("wcs/v2/s1/cmd/alice/x", user, cmd, err), WCS_E_UNKNOWN);
    assert_int_equal(topic("", user, cmd, err), WCS_E_UNKNOWN);
    assert_string_equal(err, "not a command topic of site s1");
    /* A bad user level cannot be answered; a bad command level can. */
    assert_int_equal(topic("wcs/v1/s1/cmd//x", user, cmd, err), -EINVAL);
    assert_string_equal(user, "");
    assert_int_equal(topic("wcs/v1/s1/cmd/al ice/x", user, cmd, err), -EINVAL);
    assert_int_equal(topic("wcs/v1/s1/cmd/alice/", user, cmd, err), WCS_E_SYNTAX);
    assert_string_equal(user, "alice");
    assert_string_equal(err, "command name: expected 1..63 characters of [A-Za-z0-9_.-]");
    assert_int_equal(topic("wcs/v1/s1/cmd/alice/a$b", user, cmd, err), WCS_E_SYNTAX);
    /* An embedded NUL is never a topic of ours. */
    assert_int_equal(
        bus_cmd_topic_parse("wcs/v1/s1/cmd/a\0b/x", 19, "s1", user, cmd, err, sizeof(err)),
        WCS_E_UNKNOWN);
}

static int env(const char *p, size_t max, json_t **body, char *rid, char *err)
{
    return bus_envelope_parse(p, strlen(p), max, body, rid, err, BUS_ERR_MAX);
}

static void test_envelope(void **state)
{
    char rid[BUS_REQUEST_ID_MAX + 1], err[BUS_ERR_MAX];
    json_t *body = NULL;
    (void)state;
    assert_int_equal(env("{\"request_id\":\"r-1:a.b_c\",\"qty\":2}", 1000, &body, rid, err), 0);
    assert_string_equal(rid, "r-1:a.b_c");
    assert_int_equal(json_integer_value(json_object_get(body, "qty")), 2);
    json_decref(body);
    body = NULL;

    assert_int_equal(env("{\"request_id\":\"r1\"", 1000, &body, rid, err), WCS_E_SYNTAX);
    assert_non_null(strstr(err, "invalid JSON at line 1 column"));
    assert_null(body);
    assert_int_equal(env("[1,2]", 1000, &body, rid, err), WCS_E_SYNTAX);
    assert_string_equal(err, "expected a JSON object with \"request_id\"");
    assert_int_equal(env("{\"qty\":1}", 1000, &body, rid, err), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"request_id\": missing");
    assert_int_equal(env("{\"request_id\":7}", 1000, &body, rid, err), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"request_id\": expected a string");
    assert_int_equal(env("{\"request_id\":\"a/b\"}", 1000, &body, rid, err), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"request_id\": expected 1..64 characters of [A-Za-z0-9._:-]");
    assert_int_equal(env("{\"request_id\":\"\"}", 1000, &body, rid, err), WCS_E_SYNTAX);
    char big[100];
    snprintf(big, sizeof(big), "{\"request_id\":\"%065d\"}", 0);
    assert_int_equal(env(big, 1000, &body, rid, err), WCS_E_SYNTAX);
    /* Duplicate keys would let two readers see two different request_ids. */
    assert_int_equal(env("{\"request_id\":\"a\",\"request_id\":\"b\"}", 1000, &body, rid, err),
                     WCS_E_SYNTAX);
    assert_non_null(strstr(err, "duplicate"));
    assert_int_equal(env("{\"request_id\":\"r1\"}", 10, &body, rid, err), WCS_E_RANGE);
    assert_string_equal(err, "payload of 19 bytes exceeds the limit of 10 bytes");
    assert_int_equal(env("", 10, &body, rid, err), WCS_E_SYNTAX);
    assert_null(body);
}

static void test_response_topic(void **state)
{
    (void)state;
#define RT(s) bus_response_topic_ok(s, strlen(s), "s1", "alice")
    assert_true(RT("wcs/v1/s1/reply/alice/inbox"));
    assert_true(RT("wcs/v1/s1/reply/alice/a/b"));
    assert_false(RT("wcs/v1/s1/reply/alice/"));
    assert_false(RT("wcs/v1/s1/reply/bob/inbox"));
    assert_false(RT("wcs/v1/s1/status"));
    assert_false(RT("wcs/v1/s1/reply/alice/#"));
    assert_false(RT("wcs/v1/s1/reply/alice/+/x"));
    assert_false(RT("wcs/v1/s1/reply/alicex/y"));
#undef RT
}

static void test_payload_dump(void **state)
{
    size_t len;
    json_t *b = json_pack("{s:s,s:i}", "sku", "A1", "ts", 5);
    (void)state;
    char *p = bus_payload_dump(b, 1700000000123, 42, &len);
    assert_string_equal(p, "{\"sku\":\"A1\",\"ts\":1700000000123,\"seq\":42}");
    assert_int_equal(len, strlen(p));
    free(p);
    /* The caller's object is not changed. */
    assert_int_equal(json_integer_value(json_object_get(b, "ts")), 5);
    assert_null(json_object_get(b, "seq"));
    p = bus_payload_dump(NULL, 1, 2, &len);
    assert_string_equal(p, "{\"ts\":1,\"seq\":2}");
    free(p);
    json_t *arr = json_array();
    assert_null(bus_payload_dump(arr, 1, 2, &len));
    json_decref(arr);
    json_decref(b);
}

static void test_reply_dump(void **state)
{
    size_t len;
    json_t *f = json_pack("{s:i}", "accepted", 2);
    (void)state;
    char *p = bus_reply_dump(true, "r1", "order.upsert", f, NULL, 10, 11, &len);
    assert_string_equal(p, "{\"ok\":true,\"request_id\":\"r1\",\"command\":\"order.upsert\","
                           "\"accepted\":2,\"ts\":10,\"seq\":11}");
    free(p);
    p = bus_reply_dump(false, NULL, NULL, NULL, "bad", 1, 2, &len);
    assert_string_equal(p, "{\"ok\":false,\"request_id\":null,\"command\":null,\"error\":\"bad\","
                           "\"ts\":1,\"seq\":2}");
    free(p);
    json_object_set_new(f, "ok", json_false()); /* reserved: refused */
    assert_null(bus_reply_dump(true, "r1", "x", f, NULL, 1, 2, &len));
    json_decref(f);
}

static void test_fields(void **state)
{
    char err[BUS_ERR_MAX];
    const char *s;
    int64_t v;
    int idx;
    bool flag;
    static const char *const modes[] = {"pick", "put", NULL};
    json_t *b = json_pack("{s:s,s:i,s:i,s:f,s:s,s:b,s:s}", "sku", "A1", "qty", 2, "neg", -1, "real",
                          2.0, "mode", "put", "urgent", 1, "qs", "2");
    (void)state;

    assert_int_equal(bus_field_string(b, "sku", 0, 1, 8, &s, err, sizeof(err)), 0);
    assert_string_equal(s, "A1");
    assert_int_equal(bus_field_string(b, "sku", 0, 3, 8, &s, err, sizeof(err)), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"sku\": expected 3..8 characters, got 2");
    assert_int_equal(bus_field_string(b, "qty", 0, 1, 8, &s, err, sizeof(err)), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"qty\": expected a string");
    assert_int_equal(bus_field_string(b, "lot", 0, 1, 8, &s, err, sizeof(err)), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"lot\": missing");
    s = "untouched";
    assert_int_equal(bus_field_string(b, "lot", BUS_FIELD_OPTIONAL, 1, 8, &s, err, sizeof(err)), 1);
    assert_string_equal(s, "untouched");

    assert_int_equal(bus_field_int(b, "qty", 0, 1, INT64_MAX, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 2);
    assert_int_equal(bus_field_int(b, "neg", 0, 1, INT64_MAX, &v, err, sizeof(err)), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"neg\": expected a positive integer");
    assert_int_equal(bus_field_int(b, "real", 0, 0, INT64_MAX, &v, err, sizeof(err)), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"real\": expected a non-negative integer");
    assert_int_equal(bus_field_int(b, "qs", 0, 0, 9, &v, err, sizeof(err)), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"qs\": expected an integer in 0..9");
    assert_int_equal(bus_field_int(b, "urgent", 0, INT64_MIN, INT64_MAX, &v, err, sizeof(err)),
                     WCS_E_SYNTAX);
    assert_string_equal(err, "field \"urgent\": expected an integer");

    assert_int_equal(bus_field_enum(b, "mode", 0, modes, &idx, err, sizeof(err)), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(bus_field_enum(b, "sku", 0, modes, &idx, err, sizeof(err)), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"sku\": expected one of \"pick\", \"put\"");

    assert_int_equal(bus_field_bool(b, "urgent", 0, &flag, err, sizeof(err)), 0);
    assert_true(flag);
    assert_int_equal(bus_field_bool(b, "qty", 0, &flag, err, sizeof(err)), WCS_E_SYNTAX);
    assert_string_equal(err, "field \"qty\": expected true or false");
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_topic),      cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_response_topic), cmocka_unit_test(test_payload_dump),
        cmocka_unit_test(test_reply_dump),     cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
