/* Unit tests of store_xrange_entries (wcs/store/ops_count.c): the flattened XRANGE reply of the
 * audit's journal pages cut into entries of 5 values, and the shapes it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/hook.h"

#include <string.h>

#define S(d, t)                                                                                    \
    (struct store_item)                                                                            \
    {                                                                                              \
        t, sizeof(t) - 1, false, d                                                                 \
    }
#define NIL(d)                                                                                     \
    (struct store_item)                                                                            \
    {                                                                                              \
        NULL, 0, true, d                                                                           \
    }

static void test_entries(void **state)
{
    const struct store_item items[] = {
        S(2, "1-1"),   S(3, "ts"),        S(3, "5"),       S(3, "op"),   S(3, "pick"),
        S(3, "after"), S(3, "{\"a\":1}"), S(3, "subject"), S(3, "T1"),   S(3, "before"),
        S(3, "{}"),    S(2, "1-2"),       S(3, "op"),      S(3, "note"), S(3, "after"),
        NIL(3),        S(2, "2-0"),
    };
    const char *v[15];
    (void)state;
    assert_int_equal(store_xrange_entries(items, 17, v, 3), 3);
    assert_string_equal(v[0], "1-1");
    assert_string_equal(v[1], "pick");
    assert_string_equal(v[2], "T1");
    assert_string_equal(v[3], "{}");
    assert_string_equal(v[4], "{\"a\":1}");
    assert_string_equal(v[5], "1-2");
    assert_string_equal(v[6], "note");
    assert_string_equal(v[7], "");
    assert_string_equal(v[8], "");
    assert_string_equal(v[9], ""); /* a nil value reads as absent */
    assert_string_equal(v[10], "2-0");
    assert_string_equal(v[11], "");
    assert_int_equal(store_xrange_entries(items, 0, v, 0), 0);
    /* More entries than room for. */
    assert_int_equal(store_xrange_entries(items, 17, v, 2), -1);
}

static void test_refused_shapes(void **state)
{
    const char *v[10];
    const struct store_item field_first[] = {S(3, "op"), S(3, "pick")};
    const struct store_item odd[] = {S(2, "1-1"), S(3, "op")};
    const struct store_item odd_next[] = {S(2, "1-1"), S(3, "op"), S(2, "1-2")};
    const struct store_item nil_id[] = {NIL(2)};
    const struct store_item nil_name[] = {S(2, "1-1"), NIL(3), S(3, "x")};
    const struct store_item flat[] = {S(1, "1-1")};
    const struct store_item deep[] = {S(2, "1-1"), S(4, "op"), S(4, "x")};
    (void)state;
    assert_int_equal(store_xrange_entries(field_first, 2, v, 2), -1);
    assert_int_equal(store_xrange_entries(odd, 2, v, 2), -1);
    assert_int_equal(store_xrange_entries(odd_next, 3, v, 2), -1);
    assert_int_equal(store_xrange_entries(nil_id, 1, v, 2), -1);
    assert_int_equal(store_xrange_entries(nil_name, 3, v, 2), -1);
    assert_int_equal(store_xrange_entries(flat, 1, v, 2), -1);
    assert_int_equal(store_xrange_entries(deep, 3, v, 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_refused_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
