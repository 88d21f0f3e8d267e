/* Unit tests of the store's key schema helpers (wcs/store/keys.c): identifier and path rules,
 * key builders, capacity handling, and the quant-key parser's round trip and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "store/store.h"

#include <errno.h>
#include <string.h>

static void test_id_rules(void **state)
{
    char long_id[80];
    (void)state;
    assert_int_equal(store_id_check("SKU-1.a_b"), 0);
    assert_int_equal(store_id_check(""), -EINVAL);
    assert_int_equal(store_id_check(NULL), -EINVAL);
    assert_int_equal(store_id_check("a:b"), -EINVAL);
    assert_int_equal(store_id_check("a{b"), -EINVAL);
    assert_int_equal(store_id_check("a b"), -EINVAL);
    assert_int_equal(store_id_check("a/b"), -EINVAL);
    memset(long_id, 'x', 63);
    long_id[63] = '\0';
    assert_int_equal(store_id_check(long_id), 0);
    long_id[63] = 'x';
    long_id[64] = '\0';
    assert_int_equal(store_id_check(long_id), -EINVAL);
    assert_int_equal(store_lot_check(""), 0);
    assert_int_equal(store_lot_check("L1"), 0);
    assert_int_equal(store_lot_check("L:1"), -EINVAL);
}

static void test_path_rules(void **state)
{
    (void)state;
    assert_int_equal(store_path_check("WH1/Stock/A/01/02"), 0);
    assert_int_equal(store_path_check("WH1"), 0);
    assert_int_equal(store_path_check("/WH1"), -EINVAL);
    assert_int_equal(store_path_check("WH1/"), -EINVAL);
    assert_int_equal(store_path_check("WH1//A"), -EINVAL);
    assert_int_equal(store_path_check("WH1/A:B"), -EINVAL);
    assert_int_equal(store_path_check(""), -EINVAL);
}

static void test_key_builders(void **state)
{
    char k[STORE_KEY_MAX];
    (void)state;
    assert_int_equal(store_key(k, sizeof(k), "s1", "journal", NULL), 16);
    assert_string_equal(k, "wcs:{s1}:journal");
    assert_int_equal(store_key(k, sizeof(k), "s1", "tote", "T9"), 16);
    assert_string_equal(k, "wcs:{s1}:tote:T9");
    assert_int_equal(store_key(k, sizeof(k), "s:1", "tote", "T9"), -EINVAL);
    assert_int_equal(store_key(k, sizeof(k), "s1", "tote", "T 9"), -EINVAL);
    assert_true(store_key_quant(k, sizeof(k), "s1", "SKU1", "WH1/A/01", "L7") > 0);
    assert_string_equal(k, "wcs:{s1}:quant:SKU1:WH1/A/01:L7");
    assert_true(store_key_quant(k, sizeof(k), "s1", "SKU1", "WH1/A/01", NULL) > 0);
    assert_string_equal(k, "wcs:{s1}:quant:SKU1:WH1/A/01:");
    assert_int_equal(store_key_quant(k, sizeof(k), "s1", "SKU1", "WH1//A", ""), -EINVAL);
    /* Too small: refused, and the buffer holds an empty string rather than a cut key. */
    assert_int_equal(store_key(k, 10, "s1", "journal", NULL), WCS_E_EXHAUSTED);
    assert_string_equal(k, "");
}

static void test_parse_quant_roundtrip(void **state)
{
    static const char *cases[][3] = {
        {"SKU1", "WH1/Stock/A/01/02", "LOT-9"},
        {"a", "b", ""},
        {"X.Y_Z-1", "W/1/2/3/4/5/6", "l.1"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char k[STORE_KEY_MAX];
        struct store_quant_ref q;
        int n = store_key_quant(k, sizeof(k), "site-1", cases[i][0], cases[i][1], cases[i][2]);
        assert_true(n > 0);
        assert_int_equal(store_key_parse_quant(k, (size_t)n, &q), 0);
        assert_string_equal(q.site, "site-1");
        assert_string_equal(q.sku, cases[i][0]);
        assert_string_equal(q.loc, cases[i][1]);
        assert_string_equal(q.lot, cases[i][2]);
    }
}

static void test_parse_quant_refusals(void **state)
{
    static const char *bad[] = {
        "",
        "wcs:{s}:quant:SKU:LOC",     /* lot separator missing */
        "wcs:{s}:tote:T1",           /* not a quant */
        "wcs:{}:quant:SKU:LOC:",     /* empty site */
        "wcs:{s}:quant::LOC:",       /* empty sku */
        "wcs:{s}:quant:SKU::",       /* empty location */
        "wcs:{s}:quant:SKU:A//B:",   /* empty path segment */
        "wcs:{s}:quant:SKU:LOC:L:2", /* extra part */
        "wcs:{s}:quant:S K:LOC:",    /* space */
        "xcs:{s}:quant:SKU:LOC:",    /* prefix */
        "wcs:{s:quant:SKU:LOC:",     /* no closing brace */
    };
    struct store_quant_ref q;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(store_key_parse_quant(bad[i], strlen(bad[i]), &q), WCS_E_SYNTAX);
    /* Length is honoured: a valid key cut short by len is refused or parsed as the prefix. */
    assert_int_equal(store_key_parse_quant("wcs:{s}:quant:SKU:LOC:L1", 21, &q), WCS_E_SYNTAX);
    assert_int_equal(store_key_parse_quant("wcs:{s}:quant:SKU:LOC:L1", 22, &q), 0);
    assert_string_equal(q.lot, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_rules),
        cmocka_unit_test(test_path_rules),
        cmocka_unit_test(test_key_builders),
        cmocka_unit_test(test_parse_quant_roundtrip),
        cmocka_unit_test(test_parse_quant_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
