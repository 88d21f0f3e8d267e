/* Unit tests of ops_retry_due (wcs/store/ops.c), the one rule every read-then-script operation
 * (ops.c, pick_ops.c and the command flows) follows on a script's "changed meanwhile, retry":
 * which refusals are retried, and that the retries stop after OPS_RETRIES_MAX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "store/ops.h"

#include <errno.h>

static void test_only_changed_meanwhile_is_retried(void **state)
{
    struct store_result ok = {.rc = 0};
    struct store_result other = {.rc = WCS_E_STATE, .message = "ESTATE task T1 is done"};
    struct store_result bare = {.rc = WCS_E_STATE};
    struct store_result down = {.rc = -ECONNRESET, .message = "changed meanwhile, retry"};
    struct store_result again = {.rc = WCS_E_STATE,
                                 .message = "ESTATE task ids changed meanwhile, retry"};
    int attempt = 0;
    (void)state;
    assert_false(ops_retry_due(&ok, &attempt));
    assert_false(ops_retry_due(&other, &attempt));
    assert_false(ops_retry_due(&bare, &attempt));
    assert_false(ops_retry_due(&down, &attempt));
    assert_int_equal(attempt, 0);
    assert_true(ops_retry_due(&again, &attempt));
    assert_int_equal(attempt, 1);
}

static void test_retries_stop_at_the_maximum(void **state)
{
    struct store_result again = {.rc = WCS_E_STATE,
                                 .message = "ESTATE wave W1 changed meanwhile, retry"};
    int attempt = 0, retried = 0;
    (void)state;
    while (retried <= OPS_RETRIES_MAX && ops_retry_due(&again, &attempt))
        retried++;
    assert_int_equal(retried, OPS_RETRIES_MAX);
    assert_int_equal(attempt, OPS_RETRIES_MAX);
    assert_false(ops_retry_due(&again, &attempt));
    assert_int_equal(attempt, OPS_RETRIES_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_changed_meanwhile_is_retried),
        cmocka_unit_test(test_retries_stop_at_the_maximum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
