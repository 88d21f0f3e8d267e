/* wcs_plan readers: every field rule of the stock, order and receipt parsers with its exact
 * message, records left out on error, cutoffs from carrier times, the file reader's
 * "file:line: field: message" lines and cap, the time and stage parsers, and the id map. */
#include "fixture.h"
#include "plan/idmap.h"
#include "plan/internal.h"

#include "base/err.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

struct env {
    struct cfg_site *cfg;
    struct plan_site *site;
    struct plan_input *in;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    char msg[200];
    assert_non_null(e);
    e->cfg = plan_fixture_cfg();
    assert_int_equal(plan_site_open(&e->site, e->cfg, PLAN_FIXTURE_NOW, msg, sizeof(msg)), 0);
    assert_int_equal(plan_input_new(&e->in, e->site), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    plan_input_free(e->in);
    plan_site_close(e->site);
    cfg_free(e->cfg);
    free(e);
    return 0;
}

typedef int (*parse_fn)(struct plan_input *, const char *, size_t, uint32_t,
                        struct plan_line_err *);

/* Parses text and expects rc with exactly "field: msg"; the input must not change. */
static void expect_err(struct plan_input *in, parse_fn fn, const char *text, int rc,
                       const char *want)
{
    struct plan_line_err err;
    struct plan_counts before, after;
    char got[400];
    plan_input_counts(in, &before);
    int r = fn(in, text, strlen(text), 7, &err);
    snprintf(got, sizeof(got), "%s: %s", err.field, err.msg);
    if (r != rc || strcmp(got, want) != 0)
        fail_msg("input %s\n  want rc %d '%s'\n  got  rc %d '%s'", text, rc, want, r, got);
    plan_input_counts(in, &after);
    assert_memory_equal(&before, &after, sizeof(before));
}

static void expect_ok(struct plan_input *in, parse_fn fn, const char *text, uint32_t line)
{
    struct plan_line_err err;
    int r = fn(in, text, strlen(text), line, &err);
    if (r != 0)
        fail_msg("input %s: rc %d %s: %s", text, r, err.field, err.msg);
}

#define DAY(y, m, d)                                                                               \
    ({                                                                                             \
        int32_t d_;                                                                                \
        assert_int_equal(pl_day_from_ymd(y, m, d, &d_), 0);                                        \
        d_;                                                                                        \
    })

static void test_stock_ok(void **state)
{
    struct env *e = *state;
    struct plan_input *in = e->in;
    expect_ok(in, plan_parse_stock,
              "{\"sku\":\"P-EXP\",\"location\":\"WH/Stock/A/2\",\"lot\":\"L1\",\"expiry\":"
              "\"2027-01-31\",\"in_date\":\"2026-11-01T06:30:00+01:00\",\"qty\":40,\"reserved\":5,"
              "\"package\":\"PAL-1\"}",
              3);
    expect_ok(in, plan_parse_stock,
              "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Quality\",\"in_date\":\"2026-11-02\","
              "\"qty\":1,\"lot\":null,\"expiry\":null,\"reserved\":null}",
              4);
    assert_int_equal(in->n_quants, 2);
    const struct pl_quant *q = &in->quants[0];
    assert_int_equal(q->product, 2);
    assert_string_equal(idmap_key(e->site->locs, q->location), "WH/Stock/A/2");
    assert_string_equal(input_lot_name(in, q->lot), "L1");
    assert_int_equal(q->expiry_day, DAY(2027, 1, 31));
    assert_int_equal(q->in_date_s, (int64_t)DAY(2026, 11, 1) * 86400 + 5 * 3600 + 30 * 60);
    assert_int_equal(q->on_hand, 40);
    assert_int_equal(q->reserved, 5);
    assert_int_not_equal(q->package, PL_NONE);
    assert_int_equal(in->quant_line[0], 3);
    q = &in->quants[1];
    assert_int_equal(q->lot, PL_NONE);
    assert_int_equal(q->package, PL_NONE);
    assert_int_equal(q->expiry_day, PL_NO_EXPIRY);
    assert_int_equal(q->in_date_s, (int64_t)DAY(2026, 11, 2) * 86400);
    assert_int_equal(in->quant_line[1], 4);
}

#define S_OK "\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/A/1\",\"in_date\":\"2026-11-01\""

static void test_stock_errors(void **state)
{
    struct env *e = *state;
    struct plan_input *in = e->in;
    parse_fn f = plan_parse_stock;
    expect_err(in, f, "{\"sku\":\"P-PLAIN\",", WCS_E_SYNTAX,
               "json: column 17: string or '}' expected near end of file");
    expect_err(in, f, "[1]", WCS_E_SYNTAX, "json: a JSON object expected, got an array");
    expect_err(in, f, "{" S_OK ",\"qty\":1,\"qty\":2}", WCS_E_SYNTAX,
               "json: column 79: duplicate object key near '\"qty\"'");
    expect_err(in, f, "{" S_OK ",\"qty\":1,\"color\":\"red\"}", WCS_E_SYNTAX,
               "color: unknown field (allowed: sku, location, lot, expiry, in_date, qty, "
               "reserved, package)");
    expect_err(in, f, "{" S_OK ",\"qty\":1,\"\":2}", WCS_E_SYNTAX,
               "\"\": unknown field (allowed: sku, location, lot, expiry, in_date, qty, "
               "reserved, package)");
    expect_err(in, f, "{" S_OK ",\"qty\":1,\"a b\\n\":2}", WCS_E_SYNTAX,
               "\"a b\\n\": unknown field (allowed: sku, location, lot, expiry, in_date, qty, "
               "reserved, package)");
    expect_err(in, f, "{\"location\":\"WH/Stock/A/1\",\"qty\":1}", WCS_E_SYNTAX, "sku: required");
    expect_err(in, f, "{\"sku\":7}", WCS_E_SYNTAX, "sku: must be a string, got 7");
    expect_err(in, f, "{\"sku\":\"\"}", WCS_E_SYNTAX, "sku: must not be empty");
    expect_err(in, f, "{\"sku\":\"NOPE-1\"}", WCS_E_UNKNOWN, "sku: unknown SKU \"NOPE-1\"");
    expect_err(in, f, "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/Z/9\"}", WCS_E_UNKNOWN,
               "location: unknown location \"WH/Stock/Z/9\"");
    expect_err(in, f, "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/A\"}", WCS_E_RANGE,
               "location: WH/Stock/A is a view location and holds no stock");
    expect_err(in, f, "{" S_OK ",\"qty\":1,\"lot\":\"L1\"}", WCS_E_RANGE,
               "lot: product P-PLAIN is not tracked by lot or serial");
    expect_err(in, f,
               "{\"sku\":\"P-LOT\",\"location\":\"WH/Stock/A/1\",\"in_date\":\"2026-11-01\","
               "\"qty\":1}",
               WCS_E_RANGE, "lot: required: product P-LOT is lot-tracked");
    expect_err(in, f, "{\"sku\":\"P-LOT\",\"location\":\"WH/Stock/A/1\",\"lot\":\"L 1\",\"qty\":1}",
               WCS_E_SYNTAX, "lot: must be 1-63 characters of A-Z a-z 0-9 _ . -, got \"L 1\"");
    expect_err(in, f, "{\"sku\":\"P-EXP\",\"location\":\"WH/Stock/A/1\",\"lot\":\"L1\",\"qty\":1}",
               WCS_E_RANGE, "expiry: required: product P-EXP has expiry dates");
    expect_err(in, f, "{" S_OK ",\"qty\":1,\"expiry\":\"2027-01-01\"}", WCS_E_RANGE,
               "expiry: product P-PLAIN has no expiry dates");
    expect_err(in, f,
               "{\"sku\":\"P-EXP\",\"location\":\"WH/Stock/A/1\",\"lot\":\"L1\",\"expiry\":"
               "\"2027-02-29\"}",
               WCS_E_RANGE, "expiry: must be a date YYYY-MM-DD, got \"2027-02-29\"");
    expect_err(in, f,
               "{\"sku\":\"P-EXP\",\"location\":\"WH/Stock/A/1\",\"lot\":\"L1\",\"expiry\":"
               "20270101}",
               WCS_E_SYNTAX, "expiry: must be a date YYYY-MM-DD, got 20270101");
    expect_err(in, f, "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/A/1\",\"qty\":1}", WCS_E_SYNTAX,
               "in_date: required");
    expect_err(in, f,
               "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/A/1\",\"in_date\":\"yesterday\","
               "\"qty\":1}",
               WCS_E_RANGE,
               "in_date: must be an ISO-8601 date-time (2026-11-20T06:00:00Z), got \"yesterday\"");
    expect_err(in, f, "{" S_OK "}", WCS_E_SYNTAX, "qty: required");
    expect_err(in, f, "{" S_OK ",\"qty\":0}", WCS_E_RANGE,
               "qty: must be a positive integer, got 0");
    expect_err(in, f, "{" S_OK ",\"qty\":-3}", WCS_E_RANGE,
               "qty: must be a positive integer, got -3");
    expect_err(in, f, "{" S_OK ",\"qty\":1.5}", WCS_E_SYNTAX,
               "qty: must be a positive integer, got 1.5");
    expect_err(in, f, "{" S_OK ",\"qty\":\"5\"}", WCS_E_SYNTAX,
               "qty: must be a positive integer, got \"5\"");
    expect_err(in, f, "{" S_OK ",\"qty\":1073741825}", WCS_E_RANGE,
               "qty: must be at most 1073741824, got 1073741825");
    expect_err(in, f,
               "{\"sku\":\"P-SER\",\"location\":\"WH/Stock/A/1\",\"lot\":\"S1\",\"in_date\":"
               "\"2026-11-01\",\"qty\":2}",
               WCS_E_RANGE,
               "qty: must be 1: product P-SER is serial-tracked (the lot is the serial number), "
               "got 2");
    expect_err(in, f, "{" S_OK ",\"qty\":3,\"reserved\":4}", WCS_E_RANGE,
               "reserved: must be an integer 0..qty (3), got 4");
    expect_err(in, f, "{" S_OK ",\"qty\":3,\"reserved\":-1}", WCS_E_RANGE,
               "reserved: must be an integer 0..qty (3), got -1");
    expect_err(in, f, "{" S_OK ",\"qty\":3,\"package\":\"a/b\"}", WCS_E_SYNTAX,
               "package: must be 1-63 characters of A-Z a-z 0-9 _ . -, got \"a/b\"");
    assert_int_equal(in->n_quants, 0);
}

#define O_HEAD "{\"order\":\"SO-1\",\"carrier\":\"DHL\","

static void test_order_ok(void **state)
{
    struct env *e = *state;
    struct plan_input *in = e->in;
    expect_ok(in, plan_parse_stock,
              "{\"sku\":\"P-LOT\",\"location\":\"WH/Stock/A/1\",\"lot\":\"L7\",\"in_date\":"
              "\"2026-11-01\",\"qty\":5}",
              1);
    /* No ship date: the next cutoff today (11:00 UTC); priority names map high to low. */
    expect_ok(in, plan_parse_order,
              O_HEAD "\"priority\":\"urgent\",\"zone\":\"B\",\"lines\":[{\"sku\":\"P-PLAIN\","
                     "\"qty\":3},{\"sku\":\"P-LOT\",\"qty\":2,\"lot\":\"L7\",\"urgent\":true},"
                     "{\"sku\":\"P-SER\",\"qty\":1,\"serial\":\"SN9\"}]}",
              4);
    /* A ship date tomorrow takes that day's first cutoff; no priority is the lowest. */
    expect_ok(in, plan_parse_order,
              "{\"order\":\"SO-2\",\"carrier\":\"DHL\",\"ship_date\":\"2026-11-27\",\"lines\":"
              "[{\"sku\":\"P-PLAIN\",\"qty\":1}]}",
              5);
    /* UPS's only cutoff 09:00 is still ahead today. */
    expect_ok(in, plan_parse_order,
              "{\"order\":\"SO-3\",\"carrier\":\"UPS\",\"priority\":\"low\",\"lines\":"
              "[{\"sku\":\"P-PLAIN\",\"qty\":1}]}",
              6);
    assert_int_equal(in->n_orders, 3);
    assert_int_equal(in->n_lines, 5);
    const struct pl_order *o = &in->orders[0];
    int64_t today = (int64_t)DAY(2026, 11, 26) * 1440;
    assert_int_equal(o->first_line, 0);
    assert_int_equal(o->n_lines, 3);
    assert_int_equal(o->carrier, 0);
    assert_int_equal(o->priority, 3);
    assert_int_equal(o->cutoff_min, today + 11 * 60);
    assert_int_equal(o->ship_day, DAY(2026, 11, 26));
    assert_int_equal(o->zone_hint, idmap_get(e->site->zones, "B", 1));
    assert_int_equal(in->lines[1].lot, in->quants[0].lot); /* matched by name */
    assert_int_equal(in->lines[1].urgent, 1);
    assert_string_equal(input_lot_name(in, in->lines[2].lot), "SN9");
    assert_int_equal(in->lines[2].order, 0);
    o = &in->orders[1];
    assert_int_equal(o->priority, 1);
    assert_int_equal(o->cutoff_min, today + 1440 + 11 * 60);
    assert_int_equal(o->ship_day, DAY(2026, 11, 27));
    assert_int_equal(o->zone_hint, PL_ZONE_ANY);
    o = &in->orders[2];
    assert_int_equal(o->carrier, 1);
    assert_int_equal(o->cutoff_min, today + 9 * 60);
    assert_int_equal(in->order_line[2], 6);
}

static void test_order_cutoff_passed(void **state)
{
    struct cfg_site *cfg = plan_fixture_cfg();
    struct plan_site *site;
    struct plan_input *in;
    char msg[200];
    (void)state;
    /* 17:00 UTC: DHL's 16:30 has passed. */
    assert_int_equal(plan_site_open(&site, cfg, PLAN_FIXTURE_NOW + 9 * 3600, msg, sizeof(msg)), 0);
    assert_int_equal(plan_input_new(&in, site), 0);
    expect_ok(in, plan_parse_order,
              "{\"order\":\"A\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":1}]}",
              1);
    expect_ok(in, plan_parse_order,
              "{\"order\":\"B\",\"carrier\":\"DHL\",\"ship_date\":\"2026-11-26\",\"lines\":[{"
              "\"sku\":\"P-PLAIN\",\"qty\":1}]}",
              2);
    int64_t today = (int64_t)DAY(2026, 11, 26) * 1440;
    /* Without a ship date: tomorrow's first cutoff. */
    assert_int_equal(in->orders[0].cutoff_min, today + 1440 + 11 * 60);
    assert_int_equal(in->orders[0].ship_day, DAY(2026, 11, 27));
    /* Shipping today: the day's last cutoff, already past (the order is late). */
    assert_int_equal(in->orders[1].cutoff_min, today + 16 * 60 + 30);
    assert_int_equal(in->orders[1].ship_day, DAY(2026, 11, 26));
    plan_input_free(in);
    plan_site_close(site);
    cfg_free(cfg);
}

static void test_order_errors(void **state)
{
    struct env *e = *state;
    struct plan_input *in = e->in;
    parse_fn f = plan_parse_order;
    expect_ok(in, f, O_HEAD "\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":1}]}", 3);
    expect_err(in, f, O_HEAD "\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":1}]}", WCS_E_DUPLICATE,
               "order: duplicate order id \"SO-1\" (first on line 3)");
    expect_err(in, f, "{\"carrier\":\"DHL\"}", WCS_E_SYNTAX, "order: required");
    expect_err(in, f, "{\"order\":\"S 2\"}", WCS_E_SYNTAX,
               "order: must be 1-63 characters of A-Z a-z 0-9 _ . -, got \"S 2\"");
    expect_err(in, f, "{\"order\":\"S2\",\"carrier\":\"FedEx\"}", WCS_E_UNKNOWN,
               "carrier: unknown carrier \"FedEx\"");
    expect_err(in, f, "{\"order\":\"S2\",\"lines\":[]}", WCS_E_SYNTAX, "carrier: required");
    expect_err(in, f, "{\"order\":\"S2\",\"carrier\":\"DHL\",\"priority\":\"vip\"}", WCS_E_UNKNOWN,
               "priority: unknown priority \"vip\"");
    expect_err(in, f, "{\"order\":\"S2\",\"carrier\":\"DHL\",\"zone\":\"Q\"}", WCS_E_UNKNOWN,
               "zone: unknown zone \"Q\"");
    expect_err(in, f, "{\"order\":\"S2\",\"carrier\":\"DHL\",\"ship_date\":\"26.11.2026\"}",
               WCS_E_RANGE, "ship_date: must be a date YYYY-MM-DD, got \"26.11.2026\"");
    expect_err(in, f, "{\"order\":\"S2\",\"carrier\":\"DHL\"}", WCS_E_SYNTAX, "lines: required");
    expect_err(in, f, "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[]}", WCS_E_SYNTAX,
               "lines: must be a non-empty array, got []");
    expect_err(in, f, "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":{}}", WCS_E_SYNTAX,
               "lines: must be a non-empty array, got {}");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":1},"
               "{\"sku\":\"P-PLAIN\",\"qty\":0}]}",
               WCS_E_RANGE, "lines[1].qty: must be a positive integer, got 0");
    expect_err(in, f, "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[\"P-PLAIN\"]}",
               WCS_E_SYNTAX, "lines[0]: must be an object, got \"P-PLAIN\"");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"X\",\"qty\":1}]}",
               WCS_E_UNKNOWN, "lines[0].sku: unknown SKU \"X\"");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":1,"
               "\"price\":3}]}",
               WCS_E_SYNTAX,
               "lines[0].price: unknown field (allowed: sku, qty, lot, serial, urgent)");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":1,"
               "\"lot\":\"L1\"}]}",
               WCS_E_RANGE, "lines[0].lot: product P-PLAIN is not tracked by lot or serial");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-SER\",\"qty\":1,"
               "\"lot\":\"L1\"}]}",
               WCS_E_RANGE, "lines[0].lot: product P-SER is serial-tracked: give \"serial\"");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-LOT\",\"qty\":1,"
               "\"serial\":\"S1\"}]}",
               WCS_E_RANGE, "lines[0].serial: product P-LOT is lot-tracked: give \"lot\"");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-LOT\",\"qty\":1,"
               "\"lot\":\"L1\",\"serial\":\"S1\"}]}",
               WCS_E_SYNTAX, "lines[0].lot: give lot or serial, not both");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-SER\",\"qty\":2,"
               "\"serial\":\"S1\"}]}",
               WCS_E_RANGE, "lines[0].qty: must be 1 for a serial number, got 2");
    expect_err(in, f,
               "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":1,"
               "\"urgent\":1}]}",
               WCS_E_SYNTAX, "lines[0].urgent: must be true or false, got 1");
    assert_int_equal(in->n_orders, 1);
    assert_int_equal(in->n_lines, 1);
    /* A failed order leaves no trace: its id is free for a later good line. */
    expect_ok(in, f,
              "{\"order\":\"S2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":2}]}",
              9);
    assert_int_equal(in->orders[1].first_line, 1);
}

static void test_receipts(void **state)
{
    struct env *e = *state;
    struct plan_input *in = e->in;
    parse_fn f = plan_parse_receipt;
    expect_ok(in, f, "{\"sku\":\"P-BULK\",\"qty\":4}", 2);
    expect_ok(in, f, "{\"sku\":\"P-EXP\",\"qty\":6,\"lot\":\"L2\",\"expiry\":\"2027-05-01\"}", 3);
    assert_int_equal(in->n_receipts, 2);
    assert_int_equal(in->receipts[0].package_type, idmap_get(e->site->pkg_types, "bulky", 5));
    assert_int_equal(in->receipts[0].qty, 4);
    assert_int_equal(in->receipt_expiry[1], DAY(2027, 5, 1));
    assert_string_equal(input_lot_name(in, in->receipts[1].lot), "L2");
    expect_err(in, f, "{\"sku\":\"P-PLAIN\",\"qty\":1,\"package_type\":\"crate\"}", WCS_E_UNKNOWN,
               "package_type: unknown package type \"crate\"");
    expect_err(in, f, "{\"sku\":\"P-LOT\",\"qty\":1}", WCS_E_RANGE,
               "lot: required: product P-LOT is lot-tracked");
    expect_err(in, f, "{\"sku\":\"P-EXP\",\"qty\":1,\"lot\":\"L2\"}", WCS_E_RANGE,
               "expiry: required: product P-EXP has expiry dates");
    expect_err(in, f, "{\"sku\":\"P-SER\",\"qty\":3,\"lot\":\"S1\"}", WCS_E_RANGE,
               "qty: must be 1: product P-SER is serial-tracked (one receipt per serial), got 3");
    expect_err(in, f, "{\"sku\":\"P-PLAIN\",\"qty\":0}", WCS_E_RANGE,
               "qty: must be a positive integer, got 0");
    expect_err(in, f, "{\"sku\":\"P-PLAIN\",\"qty\":1,\"location\":\"WH/Input\"}", WCS_E_SYNTAX,
               "location: unknown field (allowed: sku, qty, lot, expiry, package_type)");
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_read_file(void **state)
{
    struct env *e = *state;
    struct plan_errors errs;
    char path[] = "/tmp/plan-read-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_text(path,
               "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/A/1\",\"in_date\":\"2026-11-01\","
               "\"qty\":5}\r\n"
               "\n"
               "   \n"
               "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/A/1\",\"qty\":0}\n"
               "{oops\n"
               "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/A/3\",\"in_date\":\"2026-11-01\","
               "\"qty\":2}");
    plan_errors_init(&errs);
    assert_int_equal(plan_read_file(e->in, PLAN_STOCK, path, &errs), WCS_E_CONFIG);
    assert_int_equal(errs.count, 2);
    char want[2][200];
    snprintf(want[0], sizeof(want[0]), "%s:4: in_date: required", path);
    snprintf(want[1], sizeof(want[1]), "%s:5: json: column 5: string or '}' expected near 'oops'",
             path);
    assert_string_equal(errs.lines[0], want[0]);
    assert_string_equal(errs.lines[1], want[1]);
    assert_int_equal(e->in->n_quants, 2);
    assert_int_equal(e->in->quant_line[1], 6);
    plan_errors_fini(&errs);

    /* The cap: PLAN_ERRORS_MAX lines kept, the rest counted. */
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < PLAN_ERRORS_MAX + 5; i++)
        fputs("{}\n", fp);
    fclose(fp);
    plan_errors_init(&errs);
    assert_int_equal(plan_read_file(e->in, PLAN_STOCK, path, &errs), WCS_E_CONFIG);
    assert_int_equal(errs.count, PLAN_ERRORS_MAX);
    assert_int_equal(errs.dropped, 5);
    plan_errors_fini(&errs);
    unlink(path);

    plan_errors_init(&errs);
    assert_int_equal(plan_read_file(e->in, PLAN_ORDERS, "/nonexistent/o.jsonl", &errs), -ENOENT);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.lines[0],
                        "/nonexistent/o.jsonl: cannot open: No such file or directory");
    plan_errors_fini(&errs);
}

static void test_time_parse(void **state)
{
    int64_t t = 42;
    int64_t day = (int64_t)DAY(2026, 11, 26) * 86400;
    (void)state;
    assert_int_equal(plan_time_parse("2026-11-26T08:00Z", &t), 0);
    assert_int_equal(t, day + 8 * 3600);
    assert_int_equal(plan_time_parse("2026-11-26T08:00:30+01:30", &t), 0);
    assert_int_equal(t, day + 8 * 3600 + 30 - 90 * 60);
    assert_int_equal(plan_time_parse("2026-11-26 08:00:30.250-0500", &t), 0);
    assert_int_equal(t, day + 13 * 3600 + 30);
    assert_int_equal(plan_time_parse("2026-11-26T08:00", &t), 0);
    assert_int_equal(t, day + 8 * 3600);
    assert_int_equal(plan_time_parse("2026-11-26", &t), 0);
    assert_int_equal(t, day);
    t = 42;
    const char *bad[] = {"2026-11-26T24:00Z",
                         "2026-11-31",
                         "2026-11-26T08:00Zx",
                         "2026-1-26",
                         "2026-11-26T8:00",
                         "2026-11-26T08:00:00.Z",
                         "",
                         "1969-12-31",
                         "2026-11-26T08:00+1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (plan_time_parse(bad[i], &t) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(t, 42);
    }
}

static void test_stages_parse(void **state)
{
    unsigned s = 0;
    char msg[200];
    (void)state;
    assert_int_equal(plan_stages_parse("reserve,batch", &s, msg, sizeof(msg)), 0);
    assert_int_equal(s, PLAN_RESERVE | PLAN_BATCH);
    assert_int_equal(plan_stages_parse("putaway,replenish,wave", &s, msg, sizeof(msg)), 0);
    assert_int_equal(s, PLAN_PUTAWAY | PLAN_REPLENISH | PLAN_WAVE);
    assert_int_equal(plan_stages_parse("reserve,,wave", &s, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "unknown stage '' (stages: reserve, wave, batch, putaway, replenish, "
                             "purchase)");
    assert_int_equal(plan_stages_parse("purchase,wave", &s, msg, sizeof(msg)), 0);
    assert_int_equal(s, PLAN_PURCHASE | PLAN_WAVE);
}

static void test_idmap(void **state)
{
    struct idmap *m;
    uint32_t id;
    char key[16];
    (void)state;
    assert_int_equal(idmap_new(&m), 0);
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(idmap_put(m, key, (size_t)n, &id), 1);
        assert_int_equal(id, (uint32_t)i);
    }
    assert_int_equal(idmap_put(m, "k17", 3, &id), 0);
    assert_int_equal(id, 17);
    assert_int_equal(idmap_get(m, "k999", 4), 999);
    assert_int_equal(idmap_get(m, "k1000", 5), IDMAP_NONE);
    assert_string_equal(idmap_key(m, 5), "k5");
    idmap_pop(m);
    assert_int_equal(idmap_count(m), 999);
    assert_int_equal(idmap_get(m, "k999", 4), IDMAP_NONE);
    for (int i = 0; i < 999; i++) {
        int n = snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(idmap_get(m, key, (size_t)n), (uint32_t)i);
    }
    idmap_free(m);
}

/* Same input, same bytes: two full runs written to memory. */
static void run_once(char **buf, size_t *len)
{
    struct cfg_site *cfg = plan_fixture_cfg();
    struct plan_site *site;
    struct plan_input *in;
    struct plan_result *r;
    char msg[200];
    assert_int_equal(plan_site_open(&site, cfg, PLAN_FIXTURE_NOW, msg, sizeof(msg)), 0);
    assert_int_equal(plan_input_new(&in, site), 0);
    expect_ok(in, plan_parse_stock,
              "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/A/1\",\"in_date\":\"2026-11-01\","
              "\"qty\":5}",
              1);
    expect_ok(in, plan_parse_stock,
              "{\"sku\":\"P-PLAIN\",\"location\":\"WH/Stock/B/2\",\"in_date\":\"2026-10-01\","
              "\"qty\":7}",
              2);
    expect_ok(in, plan_parse_order,
              "{\"order\":\"X1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P-PLAIN\",\"qty\":9},"
              "{\"sku\":\"P-LOT\",\"qty\":1,\"lot\":\"Q\"}]}",
              1);
    expect_ok(in, plan_parse_receipt, "{\"sku\":\"P-BULK\",\"qty\":3}", 1);
    assert_int_equal(plan_run(&r, site, in, PLAN_ALL, msg, sizeof(msg)), 0);
    FILE *f = open_memstream(buf, len);
    assert_non_null(f);
    assert_int_equal(plan_write(r, NULL, f), 0);
    fclose(f);
    plan_result_free(r);
    plan_input_free(in);
    plan_site_close(site);
    cfg_free(cfg);
}

static void test_run_deterministic(void **state)
{
    char *a, *b;
    size_t na, nb;
    (void)state;
    run_once(&a, &na);
    run_once(&b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    /* FIFO takes the older quant at B/2 first; the lot line is short. */
    assert_non_null(strstr(a, "\"code\":\"FIFO_OLDEST\""));
    assert_non_null(strstr(a, "\"location\":\"WH/Stock/B/2\",\"lot\":null,\"order\":\"X1\","
                              "\"qty\":7"));
    assert_non_null(strstr(a, "\"code\":\"SHORT_LOT_NOT_FOUND\",\"ref\":{\"lot\":\"Q\"}"));
    /* The bulky receipt follows the package-type rule into WH/Stock/B. */
    assert_non_null(strstr(a, "\"location\":\"WH/Stock/B/1\",\"lot\":null,\"qty\":3,"));
    free(a);
    free(b);
}

/* Aisles from the config (aisle_from), purchase rules by category and by product, and reason
 * sentences with names, on a site of three aisles in one zone and a two-line wave limit. */
static const char aisle_site[] =
    "site: {id: t2, name: T, timezone: UTC}\n"
    "warehouses:\n"
    "  - code: WH\n"
    "    name: W\n"
    "    locations:\n"
    "      - {path: \"WH/S/{A..C}/{1..3}\", type: internal, zone: Z, aisle_from: 2,\n"
    "         pick_seq_start: 1}\n"
    "categories: [{name: c, removal: fifo}]\n"
    "products:\n"
    "  - {sku: P1, name: P1, category: c}\n"
    "  - {sku: P2, name: P2, category: c}\n"
    "  - {sku: P3, name: P3}\n"
    "purchase_rules:\n"
    "  - {category: c, min: 5, max: 20, multiple: 5, lead_days: 2, supplier: Sup}\n"
    "  - {product: P2, min: 1, max: 3, multiple: 1, lead_days: 9, supplier: Own}\n"
    "waves:\n"
    "  carriers: [{code: DHL, name: DHL, cutoffs: [\"18:00\"]}]\n"
    "  max_lines: 2\n";

static void test_run_aisles_purchase_names(void **state)
{
    static const char *const stock[] = {
        "P1\",\"location\":\"WH/S/A/1", "P1\",\"location\":\"WH/S/A/3",
        "P1\",\"location\":\"WH/S/B/1", "P1\",\"location\":\"WH/S/B/3",
        "P1\",\"location\":\"WH/S/C/2", "P2\",\"location\":\"WH/S/C/1",
        "P3\",\"location\":\"WH/S/C/3"};
    /* the walk: aisle A up, B down, C up */
    static const char *const walk[] = {"WH/S/A/1", "WH/S/A/3", "WH/S/B/3", "WH/S/B/1", "WH/S/C/2"};
    struct cfg_errors errs;
    struct cfg_site *cfg = NULL;
    struct plan_site *site;
    struct plan_input *in;
    struct plan_result *r;
    char msg[200], text[200], *out = NULL, *batch, *prev;
    size_t len = 0;
    (void)state;
    cfg_errors_init(&errs);
    assert_int_equal(cfg_load_mem(&cfg, "a.yaml", aisle_site, strlen(aisle_site), &errs), 0);
    cfg_errors_fini(&errs);
    assert_int_equal(plan_site_open(&site, cfg, PLAN_FIXTURE_NOW, msg, sizeof(msg)), 0);
    assert_int_equal(plan_input_new(&in, site), 0);
    for (uint32_t i = 0; i < sizeof(stock) / sizeof(stock[0]); i++) {
        snprintf(text, sizeof(text), "{\"sku\":\"%s\",\"in_date\":\"2026-11-0%u\",\"qty\":1}",
                 stock[i], 1 + i);
        expect_ok(in, plan_parse_stock, text, 1 + i);
    }
    expect_ok(in, plan_parse_order,
              "{\"order\":\"X1\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":5}]}", 1);
    expect_ok(in, plan_parse_order,
              "{\"order\":\"X2\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P2\",\"qty\":1},"
              "{\"sku\":\"P3\",\"qty\":1}]}",
              2);
    assert_int_equal(plan_run(&r, site, in, PLAN_ALL & ~(unsigned)PLAN_PUTAWAY, msg, sizeof(msg)),
                     0);
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    assert_int_equal(plan_write(r, NULL, f), 0);
    fclose(f);
    /* X1's five picks in serpentine order within the first batch */
    batch = strstr(out, "\"type\":\"batch\"");
    assert_non_null(batch);
    prev = strstr(out, "{\"batch\":1,");
    assert_non_null(prev);
    for (size_t i = 0; i < sizeof(walk) / sizeof(walk[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "\"location\":\"%s\"", walk[i]);
        char *at = strstr(prev, want);
        if (!at || at > batch)
            fail_msg("pick %zu at %s is not next on the walk:\n%s", i, walk[i], out);
        prev = at;
    }
    /* the wave closed for X2, named */
    assert_non_null(strstr(out, "\"reason\":{\"code\":\"WAVE_FULL_LINES\",\"ref\":{\"order\":"
                                "\"X2\"},\"text\":\"Wave closed: order X2 would make 3 lines, over "
                                "the limit 2.\"}"));
    /* P1 by its category's rule, P2 by its own; P3 has none */
    assert_non_null(
        strstr(out, "{\"arrival_date\":\"2026-11-28\",\"free_stock\":0,\"order_date\":"
                    "\"2026-11-26\",\"qty\":20,\"reason\":{\"code\":"
                    "\"PURCHASE_BELOW_MIN\",\"ref\":{\"purchase_rule\":0},\"text\":\"Buy "
                    "(purchase_rules[0]): free stock 0 is below min 5.\"},\"rule\":0,\"sku\":"
                    "\"P1\",\"supplier\":\"Sup\",\"type\":\"purchase\"}"));
    assert_non_null(strstr(out, "\"arrival_date\":\"2026-12-05\",\"free_stock\":0,"));
    assert_non_null(strstr(out, "\"rule\":1,\"sku\":\"P2\",\"supplier\":\"Own\""));
    assert_null(strstr(out, "\"sku\":\"P3\",\"supplier\""));
    assert_non_null(strstr(out, "\"purchase\":2"));
    /* a quant named in a sentence */
    assert_non_null(strstr(out, "FIFO: P1 at WH/S/A/1 is the oldest available stock"));
    free(out);
    plan_result_free(r);
    plan_input_free(in);
    plan_site_close(site);
    cfg_free(cfg);
}

/* Downstream capacity from the site: two pack stations x orders_per_pack_station 1 = two
 * orders per wave; the third order opens a second wave, with the reason named. */
static const char pack_site[] =
    "site: {id: t3, name: T, timezone: UTC}\n"
    "warehouses:\n"
    "  - code: WH\n"
    "    name: W\n"
    "    locations:\n"
    "      - {path: \"WH/S/{1..3}\", type: internal, zone: Z, pick_seq_start: 1}\n"
    "      - {path: WH/Pack, type: packing}\n"
    "products: [{sku: P1, name: P1}]\n"
    "devices:\n"
    "  - {id: sc1, kind: scale, model: mt-sics, uri: \"tcp://127.0.0.1:4001\"}\n"
    "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:9100\"}\n"
    "stations:\n"
    "  - {id: PS1, kind: pack, location: WH/Pack, scale: sc1, printer: pr1}\n"
    "  - {id: PS2, kind: pack, location: WH/Pack, scale: sc1, printer: pr1}\n"
    "labels: {company_prefix: \"0614141\", ship_from: {name: Test DC, street: Dock 1, city: Town,\n"
    "         postcode: \"12345\", country: DE}}\n"
    "waves:\n"
    "  carriers: [{code: DHL, name: DHL, cutoffs: [\"18:00\"]}]\n"
    "  orders_per_pack_station: 1\n";

static void test_run_pack_station_limit(void **state)
{
    struct cfg_errors errs;
    struct cfg_site *cfg = NULL;
    struct plan_site *site;
    struct plan_input *in;
    struct plan_result *r;
    char msg[200], text[200], *out = NULL;
    size_t len = 0;
    (void)state;
    cfg_errors_init(&errs);
    if (cfg_load_mem(&cfg, "p.yaml", pack_site, strlen(pack_site), &errs) < 0)
        fail_msg("config: %s", errs.count ? errs.lines[0] : "?");
    cfg_errors_fini(&errs);
    assert_int_equal(plan_site_open(&site, cfg, PLAN_FIXTURE_NOW, msg, sizeof(msg)), 0);
    assert_int_equal(plan_input_new(&in, site), 0);
    expect_ok(in, plan_parse_stock,
              "{\"sku\":\"P1\",\"location\":\"WH/S/1\",\"in_date\":\"2026-11-01\",\"qty\":9}", 1);
    for (int i = 1; i <= 3; i++) {
        snprintf(text, sizeof(text),
                 "{\"order\":\"O%d\",\"carrier\":\"DHL\",\"lines\":[{\"sku\":\"P1\",\"qty\":1}]}",
                 i);
        expect_ok(in, plan_parse_order, text, (unsigned)i);
    }
    assert_int_equal(plan_run(&r, site, in, PLAN_RESERVE | PLAN_WAVE, msg, sizeof(msg)), 0);
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    assert_int_equal(plan_write(r, NULL, f), 0);
    fclose(f);
    assert_non_null(strstr(out, "\"wave\":2"));
    assert_null(strstr(out, "\"wave\":3"));
    assert_non_null(strstr(out, "WAVE_FULL_ORDERS"));
    free(out);
    plan_result_free(r);
    plan_input_free(in);
    plan_site_close(site);
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stock_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stock_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_ok, setup, teardown),
        cmocka_unit_test(test_order_cutoff_passed),
        cmocka_unit_test_setup_teardown(test_order_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_stages_parse),
        cmocka_unit_test(test_idmap),
        cmocka_unit_test(test_run_deterministic),
        cmocka_unit_test(test_run_aisles_purchase_names),
        cmocka_unit_test(test_run_pack_station_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
