/* `wcs acl`'s renderer (wcs/bus/acl.h): the exact lines per user from a site config, each filter
 * once, status always readable, and the refusal of a user named like the service user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "acl_site.h"
#include "bus/acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cfg_site *load(const char *yaml)
{
    struct cfg_errors errs;
    struct cfg_site *s = NULL;
    cfg_errors_init(&errs);
    if (cfg_load_mem(&s, "acl.yaml", yaml, strlen(yaml), &errs) < 0) {
        for (size_t i = 0; i < errs.count; i++)
            print_error("%s\n", errs.lines[i]);
        fail_msg("config refused");
    }
    cfg_errors_fini(&errs);
    return s;
}

/* The block of lines of one user (from its "user" line to the next blank line). */
static char *block_of(const char *text, const char *user)
{
    char key[80];
    const char *p, *end;
    snprintf(key, sizeof(key), "\nuser %s\n", user);
    p = strstr(text, key);
    if (!p)
        return NULL;
    p += 1;
    end = strstr(p, "\n\n");
    if (!end)
        end = p + strlen(p);
    return strndup(p, (size_t)(end - p + 1));
}

static void test_render(void **state)
{
    struct cfg_site *s = load(ACL_SITE_YAML);
    char *text = NULL, *b;
    size_t len = 0;
    const char *why = NULL;
    (void)state;
    assert_int_equal(acl_render(s, "site.yaml", &text, &len, &why), 0);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "written by `wcs acl` from site.yaml"));

    b = block_of(text, "wcs");
    assert_string_equal(b, "user wcs\ntopic readwrite wcs/v1/s1/#\n");
    free(b);
    b = block_of(text, "pick1");
    assert_string_equal(b, "user pick1\n"
                           "topic write wcs/v1/s1/cmd/pick1/#\n"
                           "topic read wcs/v1/s1/reply/pick1/#\n"
                           "topic read wcs/v1/s1/status\n"
                           "topic read wcs/v1/s1/state/batch/#\n"
                           "topic read wcs/v1/s1/evt/task\n");
    free(b);
    /* Two roles: both scopes, a filter repeated inside a role written once. */
    b = block_of(text, "pick2");
    assert_string_equal(b, "user pick2\n"
                           "topic write wcs/v1/s1/cmd/pick2/#\n"
                           "topic read wcs/v1/s1/reply/pick2/#\n"
                           "topic read wcs/v1/s1/status\n"
                           "topic read wcs/v1/s1/state/batch/#\n"
                           "topic read wcs/v1/s1/evt/task\n"
                           "topic read wcs/v1/s1/state/#\n"
                           "topic read wcs/v1/s1/kpi\n");
    free(b);
    b = block_of(text, "lead");
    assert_non_null(strstr(b, "topic read wcs/v1/s1/#\n"));
    assert_null(strstr(b, "readwrite"));
    free(b);
    /* Nobody but the service user may write outside its own cmd/. */
    for (const char *p = text; (p = strstr(p, "topic write ")); p++)
        assert_true(strncmp(p + 12, "wcs/v1/s1/cmd/", 14) == 0);
    free(text);
    cfg_free(s);
}

static void test_service_user_collision(void **state)
{
    static const char yaml[] = "site: {id: s1, name: Test, timezone: UTC}\n"
                               "roles: [{name: r, commands: [order.upsert]}]\n"
                               "users: [{name: wcs, roles: [r]}]\n"
                               "mqtt: {uri: \"tcp://127.0.0.1:1883\", user: wcs}\n";
    struct cfg_site *s = load(yaml);
    char *text = (char *)"untouched";
    size_t len = 7;
    const char *why = NULL;
    (void)state;
    assert_int_equal(acl_render(s, NULL, &text, &len, &why), -EINVAL);
    assert_string_equal(text, "untouched");
    assert_int_equal(len, 7);
    assert_non_null(strstr(why, "mqtt.user"));
    cfg_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_service_user_collision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
