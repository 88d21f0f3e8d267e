/* Unit tests of the harness's pure helpers: the --users list parser (fields, defaults, every
 * refusal with its message) and the mosquitto ACL text written for wcs's topic tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "harness/harness.h"

#include <errno.h>
#include <string.h>

static int parse(const char *spec, struct harness_user *u, size_t cap, char *err, size_t err_len)
{
    return harness_users_parse(spec, strlen(spec), u, cap, err, err_len);
}

static void test_parse_full_and_defaults(void **state)
{
    struct harness_user u[4];
    char err[256] = "";
    (void)state;
    assert_int_equal(parse("alice:pw1:operator,bob::supervisor,wcs:S3cr-t:service,carol", u, 4, err,
                           sizeof(err)),
                     4);
    assert_string_equal(u[0].name, "alice");
    assert_string_equal(u[0].password, "pw1");
    assert_int_equal(u[0].role, HARNESS_ROLE_OPERATOR);
    assert_string_equal(u[1].name, "bob");
    assert_string_equal(u[1].password, ""); /* to be generated */
    assert_int_equal(u[1].role, HARNESS_ROLE_SUPERVISOR);
    assert_string_equal(u[2].password, "S3cr-t");
    assert_int_equal(u[2].role, HARNESS_ROLE_SERVICE);
    assert_string_equal(u[3].name, "carol");
    assert_string_equal(u[3].password, "");
    assert_int_equal(u[3].role, HARNESS_ROLE_OPERATOR);
    assert_int_equal(parse("dave:pw", u, 4, err, sizeof(err)), 1);
    assert_string_equal(u[0].password, "pw");
    assert_int_equal(u[0].role, HARNESS_ROLE_OPERATOR);
}

static void test_parse_length_is_respected(void **state)
{
    struct harness_user u[2];
    (void)state;
    /* Only the first 5 bytes are the list: "alice", not "alice,bob". */
    assert_int_equal(harness_users_parse("alice,bob", 5, u, 2, NULL, 0), 1);
    assert_string_equal(u[0].name, "alice");
    /* An embedded NUL is a bad character, not an end. */
    assert_int_equal(harness_users_parse("ali\0ce", 6, u, 2, NULL, 0), -EINVAL);
}

static void test_parse_refusals(void **state)
{
    struct harness_user u[3];
    char err[256];
    (void)state;
    assert_int_equal(parse("", u, 3, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "empty user list");
    assert_int_equal(parse("alice,,bob", u, 3, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "user 2: bad name ''"));
    assert_int_equal(parse("al ice", u, 3, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "bad name 'al ice'"));
    assert_int_equal(parse("a/b", u, 3, err, sizeof(err)), -EINVAL);
    assert_int_equal(parse("a+", u, 3, err, sizeof(err)), -EINVAL);
    assert_int_equal(parse("#", u, 3, err, sizeof(err)), -EINVAL);
    assert_int_equal(parse("..", u, 3, err, sizeof(err)), -EINVAL);
    assert_int_equal(parse("alice:p w", u, 3, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "user alice: bad password"));
    assert_int_equal(parse("alice:p\"w", u, 3, err, sizeof(err)), -EINVAL);
    assert_int_equal(parse("alice:pw:admin", u, 3, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unknown role 'admin'"));
    assert_int_equal(parse("alice:pw:supervisorsupervisor", u, 3, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unknown role"));
    assert_int_equal(parse("alice:pw:operator:x", u, 3, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "too many ':'"));
    assert_int_equal(parse("alice,bob,alice", u, 3, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "user alice is given twice");
    assert_int_equal(parse("a,b,c,d", u, 3, err, sizeof(err)), WCS_E_EXHAUSTED);
    assert_string_equal(err, "more than 3 users");
    assert_int_equal(parse("a,", u, 3, err, sizeof(err)), -EINVAL); /* trailing comma */
}

static void test_parse_limits(void **state)
{
    struct harness_user u[1];
    char spec[300];
    (void)state;
    memset(spec, 'n', 63);
    spec[63] = '\0';
    assert_int_equal(parse(spec, u, 1, NULL, 0), 1);
    assert_int_equal(strlen(u[0].name), 63);
    memset(spec, 'n', 64);
    spec[64] = '\0';
    assert_int_equal(parse(spec, u, 1, NULL, 0), -EINVAL);
    memcpy(spec, "a:", 2);
    memset(spec + 2, 'p', 128);
    spec[130] = '\0';
    assert_int_equal(parse(spec, u, 1, NULL, 0), 1);
    assert_int_equal(strlen(u[0].password), 128);
    memset(spec + 2, 'p', 129);
    spec[131] = '\0';
    assert_int_equal(parse(spec, u, 1, NULL, 0), -EINVAL);
}

static void test_checks_and_roles(void **state)
{
    enum harness_role r;
    (void)state;
    assert_int_equal(harness_name_check("wcs-1.a_B"), 0);
    assert_int_equal(harness_name_check(""), -EINVAL);
    assert_int_equal(harness_name_check("%u"), -EINVAL);
    assert_int_equal(harness_password_check("Ab1!#$%&()*+-./;<=>?@[]^_`{|}~"), 0);
    assert_int_equal(harness_password_check(""), -EINVAL);
    assert_int_equal(harness_password_check("a\\b"), -EINVAL);
    assert_int_equal(harness_password_check("a'b"), -EINVAL);
    assert_int_equal(harness_password_check("a\nb"), -EINVAL);
    assert_int_equal(harness_role_parse("supervisor", &r), 0);
    assert_int_equal(r, HARNESS_ROLE_SUPERVISOR);
    assert_int_equal(harness_role_parse("Service", &r), -EINVAL);
    assert_string_equal(harness_role_name(HARNESS_ROLE_SERVICE), "service");
    assert_string_equal(harness_role_name((enum harness_role)7), "?");
}

static void test_acl_text(void **state)
{
    const struct harness_user u[] = {
        {"alice", "", HARNESS_ROLE_OPERATOR},
        {"sup", "", HARNESS_ROLE_SUPERVISOR},
        {"wcs", "", HARNESS_ROLE_SERVICE},
    };
    char buf[2048];
    int n;
    (void)state;
    n = harness_mqtt_acl_wcs(buf, sizeof(buf), "site1", u, 3);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    assert_non_null(strstr(buf, "\npattern write wcs/v1/site1/cmd/%u/#\n"));
    assert_non_null(strstr(buf, "\npattern read wcs/v1/site1/reply/%u/#\n"));
    assert_non_null(strstr(buf, "\nuser sup\ntopic read wcs/v1/site1/#\n"));
    assert_non_null(strstr(buf, "\nuser wcs\ntopic readwrite wcs/v1/site1/#\n"));
    /* An operator gets nothing beyond the patterns; no topic line precedes the first user
     * line (it would apply to anonymous clients). */
    assert_null(strstr(buf, "user alice"));
    assert_true(strstr(buf, "\ntopic ") > strstr(buf, "\nuser "));
}

static void test_acl_refusals(void **state)
{
    struct harness_user u[] = {{"alice", "", HARNESS_ROLE_OPERATOR}};
    char buf[2048], tiny[40];
    (void)state;
    assert_int_equal(harness_mqtt_acl_wcs(buf, sizeof(buf), "bad/site", u, 1), -EINVAL);
    assert_int_equal(harness_mqtt_acl_wcs(buf, sizeof(buf), "#", u, 1), -EINVAL);
    u[0].role = (enum harness_role)9;
    assert_int_equal(harness_mqtt_acl_wcs(buf, sizeof(buf), "s", u, 1), -EINVAL);
    u[0].role = HARNESS_ROLE_SERVICE;
    strcpy(u[0].name, "a b");
    assert_int_equal(harness_mqtt_acl_wcs(buf, sizeof(buf), "s", u, 1), -EINVAL);
    strcpy(u[0].name, "a");
    assert_int_equal(harness_mqtt_acl_wcs(tiny, sizeof(tiny), "s", u, 1), WCS_E_EXHAUSTED);
    assert_true(strlen(tiny) < sizeof(tiny));
    assert_int_equal(harness_mqtt_acl_wcs(tiny, 0, "s", u, 1), WCS_E_EXHAUSTED);
    assert_true(harness_mqtt_acl_wcs(buf, sizeof(buf), "s", NULL, 0) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full_and_defaults),
        cmocka_unit_test(test_parse_length_is_respected),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_checks_and_roles),
        cmocka_unit_test(test_acl_text),
        cmocka_unit_test(test_acl_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
