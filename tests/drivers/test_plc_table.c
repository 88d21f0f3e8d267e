/* Unit tests of the PLC decision table (drivers/dev/plc_table.c): lookups through the map and
 * the class rules, the fixed no-read/multi-read/malformed rules, lane flags, staged changes
 * invisible until published, and reclamation while a reader thread looks up without pause
 * (run under ASan, a node freed under the reader is a use after free). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "drivers/plc.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Keys are the label without a "]C0" AIM prefix; a label with ':' is malformed. */
static int key_fn(const char *data, size_t len, char *key, size_t cap)
{
    if (len >= 3 && memcmp(data, "]C0", 3) == 0) {
        data += 3;
        len -= 3;
    }
    if (len == 0 || len + 1 > cap || memchr(data, ':', len))
        return WCS_E_SYNTAX;
    memcpy(key, data, len);
    key[len] = '\0';
    return 0;
}

static const struct conv_class_rule classes[] = {
    {"station:P1", {CONV_RULE_WRITE, 1, 0, 0}},
    {"station:P2", {CONV_RULE_WRITE, 2, 0, 1}},
    {"reject", {CONV_RULE_WRITE, 9, PLC_CMD_REJECT, -1}},
    {"recirc", {CONV_RULE_ASK, 0, 0, -1}},
};

static void rules(struct conv_table *t)
{
    struct conv_ruleset rs = {
        .noread = {CONV_RULE_WRITE, 9, PLC_CMD_REJECT, -1},
        .multiread = {CONV_RULE_WRITE, 8, PLC_CMD_REJECT, -1},
        .malformed = {CONV_RULE_WRITE, 7, PLC_CMD_REJECT, -1},
        .n_classes = 4,
        .classes = classes,
    };
    bool ok[2] = {true, true};
    assert_int_equal(conv_table_set_rules(t, &rs, 1), 0);
    assert_int_equal(conv_table_set_lanes(t, ok, 2), 0);
}

static struct conv_rule ask(struct conv_table *t, int slot, uint32_t set, enum plc_read_result rr,
                            const char *code)
{
    struct conv_rule r;
    uint64_t v;
    conv_table_decide(t, slot, set, rr, code, &r, &v);
    return r;
}

static void test_lookup(void **state)
{
    struct conv_table *t;
    struct conv_rule r;
    int slot;
    (void)state;
    assert_int_equal(conv_table_new(&t, key_fn), 0);
    slot = conv_table_reader_add(t);
    assert_true(slot >= 0);
    /* Nothing published: everything asks. */
    assert_int_equal(ask(t, slot, 0, PLC_READ_NOREAD, "").kind, CONV_RULE_ASK);
    rules(t);
    assert_int_equal(conv_table_put(t, "T1", "o:O1"), 0);
    assert_int_equal(conv_table_put(t, "o:O1", "station:P1"), 0);
    assert_int_equal(conv_table_put(t, "T2", "station:P2"), 0);
    assert_int_equal(conv_table_put(t, "T3", "recirc"), 0);
    assert_int_equal(conv_table_put(t, "T4", "o:O9"), 0); /* order unknown */
    assert_int_equal(conv_table_put(t, "", "x"), WCS_E_RANGE);
    {
        char big[CONV_TABLE_KEY_MAX + 1];
        memset(big, 'k', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(conv_table_put(t, big, "x"), WCS_E_RANGE);
        assert_int_equal(conv_table_put(t, "T5", big), WCS_E_RANGE);
    }
    /* Staged, not yet visible. */
    assert_int_equal(ask(t, slot, 0, PLC_READ_GOOD, "T2").kind, CONV_RULE_ASK);
    assert_int_equal(conv_table_publish(t), 1);
    assert_int_equal(conv_table_size(t), 5);
    r = ask(t, slot, 0, PLC_READ_GOOD, "T1"); /* two hops: tote -> order -> class */
    assert_int_equal(r.kind, CONV_RULE_WRITE);
    assert_int_equal(r.dest_lane, 1);
    r = ask(t, slot, 0, PLC_READ_GOOD, "]C0T2");
    assert_int_equal(r.kind, CONV_RULE_WRITE);
    assert_int_equal(r.dest_lane, 2);
    assert_int_equal(ask(t, slot, 0, PLC_READ_GOOD, "T3").kind, CONV_RULE_ASK);
    assert_int_equal(ask(t, slot, 0, PLC_READ_GOOD, "T4").kind, CONV_RULE_ASK);
    assert_int_equal(ask(t, slot, 0, PLC_READ_GOOD, "NOPE").kind, CONV_RULE_ASK);
    assert_int_equal(ask(t, slot, 1, PLC_READ_GOOD, "T1").kind, CONV_RULE_ASK); /* no set 1 */
    assert_int_equal(ask(t, slot, 0, PLC_READ_NOREAD, "").dest_lane, 9);
    assert_int_equal(ask(t, slot, 0, PLC_READ_MULTI, "T1").dest_lane, 8);
    r = ask(t, slot, 0, PLC_READ_GOOD, "BAD:LABEL");
    assert_int_equal(r.kind, CONV_RULE_WRITE);
    assert_int_equal(r.dest_lane, 7);
    assert_int_equal(r.cmd_flags, PLC_CMD_REJECT);
    /* A lane flag down: the rules that check it ask, the others still answer. */
    {
        bool ok[2] = {true, false};
        assert_int_equal(conv_table_set_lanes(t, ok, 2), 0);
        assert_int_equal(conv_table_publish(t), 2);
        assert_int_equal(ask(t, slot, 0, PLC_READ_GOOD, "T2").kind, CONV_RULE_ASK);
        assert_int_equal(ask(t, slot, 0, PLC_READ_GOOD, "T1").kind, CONV_RULE_WRITE);
    }
    /* Re-route and delete; an unchanged put makes no version. */
    assert_int_equal(conv_table_put(t, "T1", "reject"), 0);
    assert_int_equal(conv_table_put(t, "T4", NULL), 0);
    assert_int_equal(conv_table_publish(t), 3);
    assert_int_equal(conv_table_put(t, "T1", "reject"), 0);
    assert_int_equal(conv_table_publish(t), 3);
    assert_int_equal(conv_table_size(t), 4);
    r = ask(t, slot, 0, PLC_READ_GOOD, "T1");
    assert_int_equal(r.dest_lane, 9);
    assert_int_equal(r.cmd_flags, PLC_CMD_REJECT);
    /* The order's class changes for every tote of the order at once. */
    assert_int_equal(conv_table_put(t, "T6", "o:O1"), 0);
    assert_int_equal(conv_table_put(t, "o:O1", "reject"), 0);
    assert_int_equal(conv_table_publish(t), 4);
    assert_int_equal(ask(t, slot, 0, PLC_READ_GOOD, "T6").dest_lane, 9);
    /* A reader that is idle holds nothing back. */
    assert_int_equal(conv_table_reclaim(t), 0);
    conv_table_reader_del(t, slot);
    conv_table_free(t);
}

static void test_many_keys(void **state)
{
    struct conv_table *t;
    char k[32];
    int slot;
    (void)state;
    assert_int_equal(conv_table_new(&t, NULL), 0);
    slot = conv_table_reader_add(t);
    rules(t);
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof(k), "TOTE%06d", i);
        assert_int_equal(conv_table_put(t, k, i % 2 ? "station:P1" : "reject"), 0);
    }
    assert_int_equal(conv_table_publish(t), 1);
    assert_int_equal(conv_table_size(t), 100000);
    for (int i = 0; i < 100000; i += 997) {
        snprintf(k, sizeof(k), "TOTE%06d", i);
        assert_int_equal(ask(t, slot, 0, PLC_READ_GOOD, k).dest_lane, i % 2 ? 1 : 9);
    }
    /* One change after that copies one page and one bucket, not the map. */
    {
        uint64_t t0 = clock_real_mono_us(), dt;
        for (int i = 0; i < 1000; i++) {
            snprintf(k, sizeof(k), "TOTE%06d", i * 97);
            assert_int_equal(conv_table_put(t, k, "station:P2"), 0);
            (void)conv_table_publish(t);
        }
        dt = clock_real_mono_us() - t0;
        printf("1000 single-change publishes over 100k keys: %llu us\n", (unsigned long long)dt);
    }
    conv_table_reader_del(t, slot);
    conv_table_free(t);
}

struct reader {
    struct conv_table *t;
    int slot;
    _Atomic bool stop;
    _Atomic uint64_t lookups;
    uint64_t bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    char k[32];
    unsigned i = 0;
    while (!atomic_load(&r->stop)) {
        struct conv_rule ru;
        uint64_t v;
        snprintf(k, sizeof(k), "K%u", i++ % 64);
        conv_table_decide(r->t, r->slot, 0, PLC_READ_GOOD, k, &ru, &v);
        /* Every version maps every key to P1 or P2 (or, before the first, nothing). */
        if (v > 0 && (ru.kind != CONV_RULE_WRITE || (ru.dest_lane != 1 && ru.dest_lane != 2)))
            r->bad++;
        atomic_fetch_add(&r->lookups, 1);
    }
    return NULL;
}

/* The owner republishes thousands of versions while a reader looks up without pause: the reader
 * always sees a whole version, and every dropped node is freed once the reader is idle. On a
 * loaded machine the reader thread may not run at all during 20000 publishes, so the owner
 * goes on publishing until the reader has made MIN_LOOKUPS lookups among them (bounded by
 * READER_WAIT_US: a reader that never runs fails the test). */
enum { MIN_LOOKUPS = 2000 };
#define READER_WAIT_US (60u * 1000000u)
static void test_reclaim_under_reader(void **state)
{
    struct reader r = {0};
    pthread_t th;
    char k[32];
    size_t waiting;
    uint64_t end, at_start;
    int round;
    (void)state;
    assert_int_equal(conv_table_new(&r.t, NULL), 0);
    r.slot = conv_table_reader_add(r.t);
    atomic_init(&r.stop, false);
    rules(r.t);
    for (int i = 0; i < 64; i++) {
        snprintf(k, sizeof(k), "K%d", i);
        assert_int_equal(conv_table_put(r.t, k, "station:P1"), 0);
    }
    (void)conv_table_publish(r.t);
    atomic_init(&r.lookups, 0);
    assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
    /* Publishing starts once the reader is looking up, so the lookups counted overlap it. */
    end = clock_real_mono_us() + READER_WAIT_US;
    while (atomic_load(&r.lookups) == 0 && clock_real_mono_us() < end)
        sched_yield();
    at_start = atomic_load(&r.lookups);
    for (round = 0; round < 20000 || (atomic_load(&r.lookups) - at_start < MIN_LOOKUPS &&
                                      clock_real_mono_us() < end);
         round++) {
        snprintf(k, sizeof(k), "K%d", round % 64);
        assert_int_equal(conv_table_put(r.t, k, round % 2 ? "station:P2" : "station:P1"), 0);
        if (round % 100 == 0) {
            bool ok[2] = {true, true};
            assert_int_equal(conv_table_set_lanes(r.t, ok, 2), 0);
        }
        (void)conv_table_publish(r.t);
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    assert_true(at_start > 0);
    assert_true(atomic_load(&r.lookups) - at_start >= MIN_LOOKUPS);
    assert_int_equal(r.bad, 0);
    waiting = conv_table_reclaim(r.t);
    assert_int_equal(waiting, 0);
    printf("reader lookups=%llu during %d publishes\n",
           (unsigned long long)(atomic_load(&r.lookups) - at_start), round);
    conv_table_reader_del(r.t, r.slot);
    conv_table_free(r.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_reclaim_under_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
