/* The command layer's pick task hints (wcs/command/taskhint.h): put, get, replace, drop, the
 * refusals of bad fields, and the bound (the table starts empty again past TASKHINTS_MAX). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "taskhint.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void test_put_get_drop(void **state)
{
    struct taskhints *th = NULL;
    struct ops_task_hint h = {"SO1", "W1-B1", "P1", "WH1/Stock/A/1", ""}, g;
    (void)state;
    assert_false(taskhints_get(th, "PCK-1", &g));
    assert_int_equal(taskhints_put(&th, "PCK-1", &h), 0);
    assert_non_null(th);
    h = (struct ops_task_hint){"SO2", "W1-B1", "L1", "WH1/Stock/A/2", "LOT1"};
    assert_int_equal(taskhints_put(&th, "PCK-2", &h), 0);
    assert_int_equal(taskhints_count(th), 2);
    assert_true(taskhints_get(th, "PCK-1", &g));
    assert_string_equal(g.order, "SO1");
    assert_string_equal(g.batch, "W1-B1");
    assert_string_equal(g.sku, "P1");
    assert_string_equal(g.location, "WH1/Stock/A/1");
    assert_string_equal(g.lot, "");
    assert_true(taskhints_get(th, "PCK-2", &g));
    assert_string_equal(g.order, "SO2");
    assert_string_equal(g.sku, "L1");
    assert_string_equal(g.location, "WH1/Stock/A/2");
    assert_string_equal(g.lot, "LOT1");
    assert_false(taskhints_get(th, "PCK-3", &g));
    /* A second claim of the batch replaces, never duplicates. */
    h.order = "SO9";
    assert_int_equal(taskhints_put(&th, "PCK-2", &h), 0);
    assert_int_equal(taskhints_count(th), 2);
    assert_true(taskhints_get(th, "PCK-2", &g));
    assert_string_equal(g.order, "SO9");
    taskhints_drop(th, "PCK-2");
    taskhints_drop(th, "PCK-2");
    assert_false(taskhints_get(th, "PCK-2", &g));
    assert_int_equal(taskhints_count(th), 1);
    /* A NULL lot is no lot. */
    h.lot = NULL;
    assert_int_equal(taskhints_put(&th, "PCK-4", &h), 0);
    assert_true(taskhints_get(th, "PCK-4", &g));
    assert_string_equal(g.lot, "");
    taskhints_free(th);
    taskhints_drop(NULL, "PCK-1");
    taskhints_free(NULL);
}

static void test_bad_fields(void **state)
{
    struct taskhints *th = NULL;
    const struct ops_task_hint ok = {"SO1", "W1-B1", "P1", "WH1/A/1", ""};
    struct ops_task_hint h;
    char big[300];
    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(taskhints_put(&th, "", &ok), -EINVAL);
    assert_int_equal(taskhints_put(&th, NULL, &ok), -EINVAL);
    assert_int_equal(taskhints_put(&th, big, &ok), -EINVAL);
    h = ok;
    h.order = "";
    assert_int_equal(taskhints_put(&th, "PCK-1", &h), -EINVAL);
    h = ok;
    h.batch = NULL;
    assert_int_equal(taskhints_put(&th, "PCK-1", &h), -EINVAL);
    h = ok;
    h.location = big;
    assert_int_equal(taskhints_put(&th, "PCK-1", &h), -EINVAL);
    h = ok;
    h.lot = big;
    assert_int_equal(taskhints_put(&th, "PCK-1", &h), -EINVAL);
    assert_int_equal(taskhints_count(th), 0);
    taskhints_free(th);
}

static void test_bounded(void **state)
{
    struct taskhints *th = NULL;
    const struct ops_task_hint h = {"SO1", "W1-B1", "P1", "WH1/A/1", ""};
    struct ops_task_hint g;
    char id[32];
    (void)state;
    for (unsigned i = 0; i < TASKHINTS_MAX; i++) {
        snprintf(id, sizeof(id), "PCK-%u", i);
        assert_int_equal(taskhints_put(&th, id, &h), 0);
    }
    assert_int_equal(taskhints_count(th), TASKHINTS_MAX);
    assert_true(taskhints_get(th, "PCK-0", &g));
    assert_true(taskhints_get(th, "PCK-32767", &g));
    /* One more: the table starts again with only the newest. */
    assert_int_equal(taskhints_put(&th, "PCK-X", &h), 0);
    assert_int_equal(taskhints_count(th), 1);
    assert_false(taskhints_get(th, "PCK-0", &g));
    assert_true(taskhints_get(th, "PCK-X", &g));
    taskhints_free(th);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_drop),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
