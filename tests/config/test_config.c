/* Unit tests for config/: the strict scalar parsers, URIs, GTINs, path ranges, CSV lines, and
 * the loader from memory (defaults, range expansion, implied parents, register layout, error
 * collection). The CLI-level error corpus is tests/config/bad/ (run_bad.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "config/config.h"
#include "config/parse.h"

#include <stdio.h>
#include <string.h>

static void test_uint_strict(void **state)
{
    uint64_t v = 7;
    const char *why = NULL;
    (void)state;
    assert_int_equal(cfg_parse_uint("0", 10, &v, &why), 0);
    assert_int_equal(v, 0);
    assert_int_equal(cfg_parse_uint("500", 65535, &v, &why), 0);
    assert_int_equal(v, 500);
    assert_int_equal(cfg_parse_uint("65535", 65535, &v, &why), 0);
    assert_int_equal(cfg_parse_uint("65536", 65535, &v, &why), WCS_E_RANGE);
    assert_string_equal(why, "out of range");
    assert_int_equal(cfg_parse_uint("18446744073709551615", UINT64_MAX, &v, &why), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(cfg_parse_uint("18446744073709551616", UINT64_MAX, &v, &why), WCS_E_RANGE);
    v = 42;
    assert_int_equal(cfg_parse_uint("0500", 65535, &v, &why), WCS_E_SYNTAX);
    assert_non_null(strstr(why, "leading zeros"));
    assert_int_equal(cfg_parse_uint("5x0", 65535, &v, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uint("1.5", 65535, &v, &why), WCS_E_SYNTAX);
    assert_non_null(strstr(why, "fraction"));
    assert_int_equal(cfg_parse_uint("1e3", 65535, &v, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uint("-5", 65535, &v, &why), WCS_E_RANGE);
    assert_string_equal(why, "must not be negative");
    assert_int_equal(cfg_parse_uint("+5", 65535, &v, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uint("0x10", 65535, &v, &why), WCS_E_SYNTAX);
    assert_non_null(strstr(why, "hexadecimal"));
    assert_int_equal(cfg_parse_uint("", 65535, &v, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uint(" 5", 65535, &v, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uint("5 ", 65535, &v, &why), WCS_E_SYNTAX);
    assert_int_equal(v, 42); /* untouched on failure */
}

static void test_int_and_number(void **state)
{
    int64_t i;
    double d;
    bool b;
    const char *why;
    (void)state;
    assert_int_equal(cfg_parse_int("-5", -10, 10, &i, &why), 0);
    assert_int_equal(i, -5);
    assert_int_equal(cfg_parse_int("-11", -10, 10, &i, &why), WCS_E_RANGE);
    assert_int_equal(cfg_parse_int("-0", -10, 10, &i, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_int("-05", -10, 10, &i, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_int("-9223372036854775808", INT64_MIN, INT64_MAX, &i, &why), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(cfg_parse_number("3.5", &d, &why), 0);
    assert_true(d == 3.5);
    assert_int_equal(cfg_parse_number("-0.25e1", &d, &why), 0);
    assert_true(d == -2.5);
    assert_int_equal(cfg_parse_number("05.1", &d, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_number("inf", &d, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_number("nan", &d, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_number("1.", &d, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_number("1e999", &d, &why), WCS_E_RANGE);
    assert_int_equal(cfg_parse_bool("true", &b, &why), 0);
    assert_true(b);
    assert_int_equal(cfg_parse_bool("false", &b, &why), 0);
    assert_false(b);
    assert_int_equal(cfg_parse_bool("yes", &b, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_bool("True", &b, &why), WCS_E_SYNTAX);
}

static void test_time(void **state)
{
    uint16_t m = 0;
    const char *why;
    (void)state;
    assert_int_equal(cfg_parse_time("00:00", &m, &why), 0);
    assert_int_equal(m, 0);
    assert_int_equal(cfg_parse_time("23:59", &m, &why), 0);
    assert_int_equal(m, 1439);
    assert_int_equal(cfg_parse_time("16:30", &m, &why), 0);
    assert_int_equal(m, 990);
    assert_int_equal(cfg_parse_time("25:00", &m, &why), WCS_E_RANGE);
    assert_non_null(strstr(why, "hour"));
    assert_int_equal(cfg_parse_time("24:00", &m, &why), WCS_E_RANGE);
    assert_int_equal(cfg_parse_time("12:60", &m, &why), WCS_E_RANGE);
    assert_non_null(strstr(why, "minute"));
    assert_int_equal(cfg_parse_time("9am", &m, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_time("9:00", &m, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_time("09:00:00", &m, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_time("", &m, &why), WCS_E_SYNTAX);
    assert_int_equal(m, 990);
}

static void test_uri(void **state)
{
    struct cfg_uri u;
    const char *why;
    (void)state;
    assert_int_equal(cfg_parse_uri("tcp://10.1.4.20:502", &u, &why), 0);
    assert_int_equal(u.scheme, CFG_URI_TCP);
    assert_string_equal(u.host, "10.1.4.20");
    assert_int_equal(u.port, 502);
    assert_int_equal(cfg_parse_uri("tcp://[::1]:1502", &u, &why), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 1502);
    assert_int_equal(cfg_parse_uri("tcp://plc-a.local:65535", &u, &why), 0);
    assert_int_equal(cfg_parse_uri("tcp://plc:0", &u, &why), WCS_E_RANGE);
    assert_int_equal(cfg_parse_uri("tcp://plc:65536", &u, &why), WCS_E_RANGE);
    assert_int_equal(cfg_parse_uri("tcp://plc:0502", &u, &why), WCS_E_RANGE);
    assert_int_equal(cfg_parse_uri("tcp://plc", &u, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("tcp://:502", &u, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("tcp://pl c:502", &u, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("rtu:///dev/ttyS1?baud=19200&parity=E&data=8&stop=1", &u, &why),
                     0);
    assert_int_equal(u.scheme, CFG_URI_RTU);
    assert_string_equal(u.device, "/dev/ttyS1");
    assert_int_equal(u.baud, 19200);
    assert_int_equal(u.parity, 'E');
    assert_int_equal(u.data_bits, 8);
    assert_int_equal(u.stop_bits, 1);
    assert_int_equal(cfg_parse_uri("serial:///dev/ttyUSB0?baud=9600", &u, &why), 0);
    assert_int_equal(u.parity, 'N');
    assert_int_equal(cfg_parse_uri("serial:///dev/ttyUSB0?baud=19000", &u, &why), WCS_E_RANGE);
    assert_non_null(strstr(why, "baud"));
    assert_int_equal(cfg_parse_uri("serial:///dev/ttyUSB0", &u, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("serial:///dev/ttyUSB0?baud=9600&parity=X", &u, &why),
                     WCS_E_RANGE);
    assert_int_equal(cfg_parse_uri("serial:///dev/ttyUSB0?baud=9600&data=9", &u, &why),
                     WCS_E_RANGE);
    assert_int_equal(cfg_parse_uri("serial:///dev/ttyUSB0?baud=9600&flow=rts", &u, &why),
                     WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("rtu://dev/ttyS1?baud=9600", &u, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("usb://0922:8003", &u, &why), 0);
    assert_int_equal(u.vid, 0x0922);
    assert_int_equal(u.pid, 0x8003);
    assert_string_equal(u.serial, "");
    assert_int_equal(cfg_parse_uri("usb://05E0:1200?serial=PK1", &u, &why), 0);
    assert_int_equal(u.vid, 0x05e0);
    assert_string_equal(u.serial, "PK1");
    assert_int_equal(cfg_parse_uri("usb://922:8003", &u, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("usb://0922:80g3", &u, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("usb://0922:8003?vendor=x", &u, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_parse_uri("http://x:80", &u, &why), WCS_E_SYNTAX);
}

static void test_gtin(void **state)
{
    char n[15];
    const char *why;
    (void)state;
    assert_int_equal(cfg_gtin_check("4006381333931", n, &why), 0);
    assert_string_equal(n, "04006381333931");
    assert_int_equal(cfg_gtin_check("96385074", n, &why), 0); /* GTIN-8 */
    assert_string_equal(n, "00000096385074");
    assert_int_equal(cfg_gtin_check("036000291452", n, &why), 0);   /* GTIN-12 (UPC-A) */
    assert_int_equal(cfg_gtin_check("09506000134352", n, &why), 0); /* GTIN-14 */
    assert_int_equal(cfg_gtin_check("4006381333932", n, &why), WCS_E_CHECK);
    assert_int_equal(cfg_gtin_check("96385075", n, &why), WCS_E_CHECK);
    assert_int_equal(cfg_gtin_check("400638133393", n, &why), WCS_E_CHECK);
    assert_int_equal(cfg_gtin_check("40063813339", n, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_gtin_check("40063813339X1", n, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_gtin_check("", n, &why), WCS_E_SYNTAX);
}

static void test_range(void **state)
{
    struct cfg_range r;
    char buf[64];
    const char *why;
    (void)state;
    assert_int_equal(cfg_range_parse("WH1/Stock/A/{01..40}/{1..4}", &r, &why), 0);
    assert_int_equal(r.n_groups, 2);
    assert_int_equal(r.count, 160);
    assert_int_equal(cfg_range_expand(&r, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "WH1/Stock/A/01/1");
    assert_int_equal(cfg_range_expand(&r, 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "WH1/Stock/A/01/2"); /* last group fastest */
    assert_int_equal(cfg_range_expand(&r, 4, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "WH1/Stock/A/02/1");
    assert_int_equal(cfg_range_expand(&r, 159, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "WH1/Stock/A/40/4");
    assert_int_equal(cfg_range_expand(&r, 160, buf, sizeof(buf)), WCS_E_RANGE);
    assert_int_equal(cfg_range_expand(&r, 0, buf, 8), WCS_E_EXHAUSTED);
    assert_int_equal(cfg_range_parse("WH1/{A..C}-{8..10}", &r, &why), 0);
    assert_int_equal(r.count, 9);
    assert_int_equal(cfg_range_expand(&r, 2, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "WH1/A-10");
    assert_int_equal(cfg_range_expand(&r, 3, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "WH1/B-8");
    assert_int_equal(cfg_range_parse("WH1/Plain", &r, &why), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(cfg_range_expand(&r, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "WH1/Plain");
    assert_int_equal(cfg_range_parse("WH1/{5..1}", &r, &why), WCS_E_RANGE);
    assert_int_equal(cfg_range_parse("WH1/{1..}", &r, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_range_parse("WH1/{1..5", &r, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_range_parse("WH1/1..5}", &r, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_range_parse("WH1/{A..5}", &r, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_range_parse("WH1/{1,2}", &r, &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_range_parse("{1..100}/{1..100}/{1..100}", &r, &why), WCS_E_RANGE);
    assert_int_equal(
        cfg_range_parse("{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}{1..2}", &r, &why),
        WCS_E_RANGE);
}

static void test_path_and_id(void **state)
{
    const char *why;
    (void)state;
    assert_int_equal(cfg_path_check("WH1/Stock/A/01/02", &why), 0);
    assert_int_equal(cfg_path_check("WH1", &why), 0);
    assert_int_equal(cfg_path_check("WH1//A", &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_path_check("/WH1", &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_path_check("WH1/", &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_path_check("WH1/A B", &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_path_check("", &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_path_check("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_id_check("plc-1.a_b", &why), 0);
    assert_int_equal(cfg_id_check("a/b", &why), WCS_E_SYNTAX); /* unsafe in MQTT topics */
    assert_int_equal(cfg_id_check("a+b", &why), WCS_E_SYNTAX);
    assert_int_equal(cfg_id_check("", &why), WCS_E_SYNTAX);
}

static void test_csv(void **state)
{
    struct cfg_csv_field f[8];
    char scratch[128];
    size_t n = 0;
    uint32_t col = 0;
    const char *why;
    const char *l1 = "A-1,\"Plum, \"\"red\"\"\",,x\r";
    const char *l2 = "a,\"open";
    const char *l3 = "a,\"b\"c";
    const char *l4 = "a,b\"c";
    (void)state;
    assert_int_equal(cfg_csv_split(l1, strlen(l1), scratch, f, 8, &n, &col, &why), 0);
    assert_int_equal(n, 4);
    assert_string_equal(f[0].text, "A-1");
    assert_string_equal(f[1].text, "Plum, \"red\"");
    assert_int_equal(f[1].col, 5);
    assert_string_equal(f[2].text, "");
    assert_string_equal(f[3].text, "x"); /* the '\r' is dropped */
    assert_int_equal(f[3].col, 22);
    assert_int_equal(cfg_csv_split(l2, strlen(l2), scratch, f, 8, &n, &col, &why), WCS_E_SYNTAX);
    assert_int_equal(col, 3);
    assert_int_equal(cfg_csv_split(l3, strlen(l3), scratch, f, 8, &n, &col, &why), WCS_E_SYNTAX);
    assert_int_equal(col, 6);
    assert_int_equal(cfg_csv_split(l4, strlen(l4), scratch, f, 8, &n, &col, &why), WCS_E_SYNTAX);
    assert_int_equal(col, 4);
    assert_int_equal(cfg_csv_split("a,b,c", 5, scratch, f, 2, &n, &col, &why), WCS_E_EXHAUSTED);
    assert_int_equal(cfg_csv_split("", 0, scratch, f, 2, &n, &col, &why), 0);
    assert_int_equal(n, 1);
}

static const char site_yaml[] =
    "site: {id: t, name: Test, timezone: UTC}\n"
    "warehouses:\n"
    "  - code: WH1\n"
    "    name: Main\n"
    "    locations:\n"
    "      - {path: \"WH1/Stock/A/{01..03}/{1..2}\", type: internal, pick_seq_start: 10,\n"
    "         capacity: {units: 5}}\n"
    "      - {path: WH1/Stock, type: view}\n"
    "      - {path: WH1/Pack, type: packing}\n"
    "devices:\n"
    "  - {id: plc1, kind: plc, model: modbus-tcp, uri: \"tcp://127.0.0.1:502\", address_base: 1}\n"
    "  - {id: scn1, kind: scanner, model: line, uri: \"tcp://127.0.0.1:2001\"}\n"
    "  - {id: sc1, kind: scale, model: mt-sics, uri: \"serial:///dev/ttyUSB0?baud=9600\"}\n"
    "  - {id: pr1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:9100\"}\n"
    "conveyor:\n"
    "  scan_points:\n"
    "    - {id: sp1, plc: plc1, scanner: scn1, read_base: 101, write_base: 201,\n"
    "       registers: {dest_lane: 210}, lanes: [L1, LR]}\n"
    "  lanes:\n"
    "    - {id: L1, number: 1, destination: P1}\n"
    "    - {id: LR, number: 9, destination: reject}\n"
    "stations:\n"
    "  - {id: P1, kind: pack, location: WH1/Pack, scale: sc1, printer: pr1}\n"
    "labels: {company_prefix: \"0614141\", ship_from: {name: Test DC, street: Dock 1, city: Town,\n"
    "         postcode: \"12345\", country: DE}}\n"
    "roles: [{name: op, commands: [pick.confirm]}]\n"
    "users: [{name: u1, roles: [op]}]\n";

static void test_load_mem(void **state)
{
    struct cfg_errors e;
    struct cfg_site *s = NULL;
    const struct cfg_scan_point *sp;
    const struct cfg_device *plc;
    int32_t a, b, stock;
    (void)state;
    cfg_errors_init(&e);
    assert_int_equal(cfg_load_mem(&s, "mem.yaml", site_yaml, strlen(site_yaml), &e), 0);
    for (size_t i = 0; i < e.count; i++)
        print_message("%s\n", e.lines[i]);
    assert_int_equal(e.count, 0);
    assert_string_equal(s->id, "t");
    assert_int_equal(s->n_warehouses, 1);
    /* WH1, WH1/Stock, WH1/Stock/A, 3 bays, 6 bins, WH1/Pack */
    assert_int_equal(s->n_locations, 13);
    assert_int_equal(s->warehouses[0].n_declared, 8);
    a = cfg_find_location(s, "WH1/Stock/A/01/1");
    b = cfg_find_location(s, "WH1/Stock/A/03/2");
    stock = cfg_find_location(s, "WH1/Stock");
    assert_true(a >= 0 && b >= 0 && stock >= 0);
    assert_int_equal(s->locations[a].pick_seq, 10);
    assert_int_equal(s->locations[b].pick_seq, 15);
    assert_true(s->locations[a].has_cap_units);
    assert_int_equal(s->locations[a].cap_units, 5);
    assert_false(s->locations[a].has_cap_weight);
    /* WH1/Stock was implied by the range, then declared: it is no longer implied. */
    assert_false(s->locations[stock].implied);
    assert_true(s->locations[cfg_find_location(s, "WH1/Stock/A")].implied);
    assert_int_equal(s->locations[s->locations[a].parent].parent,
                     cfg_find_location(s, "WH1/Stock/A"));
    /* Defaults. */
    plc = &s->devices[cfg_find_device(s, "plc1")];
    assert_int_equal(plc->poll_ms, 10);
    assert_int_equal(plc->heartbeat_ms, 250);
    assert_int_equal(plc->unit_id, 1);
    assert_string_equal(s->devices[cfg_find_device(s, "scn1")].no_read, "NOREAD");
    assert_int_equal(s->devices[cfg_find_device(s, "pr1")].dpi, 203);
    /* Register layout: manual numbering 101 is PDU 100; the override is absolute. */
    sp = &s->scan_points[0];
    assert_int_equal(sp->barcode_regs, CFG_BARCODE_REGS_DEF);
    assert_int_equal(sp->reg[CFG_REG_PLC_HEARTBEAT], 100);
    assert_int_equal(sp->reg[CFG_REG_TRACK_ID], 104);
    assert_int_equal(sp->reg[CFG_REG_BARCODE], 109);
    assert_int_equal(sp->read_start, 100);
    assert_int_equal(sp->read_count, 9 + CFG_BARCODE_REGS_DEF);
    assert_int_equal(sp->reg[CFG_REG_WCS_HEARTBEAT], 200);
    assert_int_equal(sp->reg[CFG_REG_DEST_LANE], 209);
    assert_int_equal(sp->write_start, 200);
    assert_int_equal(sp->write_count, 10);
    assert_int_equal(sp->n_lanes, 2);
    assert_int_equal(sp->reject_lane, 1);
    assert_int_equal(s->lanes[0].dest, CFG_DEST_STATION);
    assert_int_equal(s->lanes[0].dest_index, 0);
    assert_int_equal(s->stations[0].scale, cfg_find_device(s, "sc1"));
    assert_int_equal(s->users[0].n_roles, 1);
    assert_string_equal(s->redis.host, "127.0.0.1");
    assert_int_equal(s->redis.port, 6379);
    cfg_free(s);
    cfg_errors_fini(&e);
    cfg_free(NULL);
}

/* Loads text expecting failure; returns the error lines joined by '\n'. */
static char *load_errors(const char *text)
{
    static char out[4096];
    struct cfg_errors e;
    struct cfg_site *s = (struct cfg_site *)&out; /* must stay untouched */
    size_t o = 0;
    cfg_errors_init(&e);
    assert_int_equal(cfg_load_mem(&s, "m.yaml", text, strlen(text), &e), WCS_E_CONFIG);
    assert_ptr_equal(s, (struct cfg_site *)&out);
    out[0] = '\0';
    for (size_t i = 0; i < e.count && o < sizeof(out); i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s\n", e.lines[i]);
    cfg_errors_fini(&e);
    return out;
}

static void test_errors_collected(void **state)
{
    const char *t;
    (void)state;
    t = load_errors(
        "site: {id: t, name: T, timezone: UTC}\n"
        "devices:\n"
        "  - {id: p, kind: plc, model: modbus-tcp, uri: \"tcp://h:502\", poll_ms: 0500}\n"
        "  - {id: q, kind: plc, model: modbus-tcp, uri: \"tcp://h:502\", unit_id: 5x0}\n"
        "  - {id: r, kind: plc, modle: x}\n");
    assert_string_equal(
        t, "m.yaml:3:72: devices[0].poll_ms: invalid integer '0500': leading zeros are not "
           "allowed (no octal); write it without them; expected an integer 0..4294967295\n"
           "m.yaml:4:72: devices[1].unit_id: invalid integer '5x0': not a decimal integer; "
           "expected an integer 0..255\n"
           "m.yaml:5:24: devices[2].modle: unknown key 'modle'; allowed keys: id, kind, model, "
           "uri, unit_id, address_base, poll_ms, heartbeat_ms, timeout_ms, no_read, multi_read, "
           "terminator, dpi\n"
           "m.yaml:5:5: devices[2].model: missing required key 'model'\n"
           "m.yaml:5:5: devices[2].uri: missing required key 'uri'\n");
    /* Files are not reachable from memory: an error, not a crash or a silent pass. */
    t = load_errors("site: {id: t, name: T, timezone: UTC}\ninclude: [x.yaml]\n");
    assert_non_null(strstr(t, "m.yaml:2:11: include[0]: cannot include 'x.yaml'"));
    t = load_errors("");
    assert_string_equal(t, "m.yaml:1:1: (top): the file is empty\n");
    t = load_errors("[1, 2");
    assert_non_null(strstr(t, "m.yaml:1:6: yaml: "));
    t = load_errors("- a\n- b\n");
    assert_string_equal(t, "m.yaml:1:1: (top): expected a mapping, found a sequence\n");
}

/* Aisles (written, or the path segment aisle_from names) and purchase rules load into the site;
 * a category rule and a product rule of the same category coexist. */
static void test_aisles_and_purchase_rules(void **state)
{
    static const char text[] =
        "site: {id: t, name: T, timezone: UTC}\n"
        "warehouses:\n"
        "  - code: WH1\n"
        "    name: Main\n"
        "    locations:\n"
        "      - {path: \"WH1/Stock/{A..B}/{01..03}\", type: internal, aisle_from: 2}\n"
        "      - {path: \"WH1/Pick/{1..2}\", type: internal, aisle: P-1, pick_face: true}\n"
        "      - {path: WH1/Bulk/7, type: internal, aisle_from: 2}\n"
        "      - {path: WH1/Dock, type: input}\n"
        "categories: [{name: food, removal: fefo}]\n"
        "products:\n"
        "  - {sku: A1, name: A, category: food}\n"
        "  - {sku: B2, name: B, category: food}\n"
        "purchase_rules:\n"
        "  - {category: food, min: 0, max: 100, multiple: 12, lead_days: 5, supplier: Acme Foods}\n"
        "  - {product: B2, min: 10, max: 20, multiple: 1, lead_days: 0, supplier: B-Co}\n";
    struct cfg_errors e;
    struct cfg_site *s = NULL;
    (void)state;
    cfg_errors_init(&e);
    int rc = cfg_load_mem(&s, "mem.yaml", text, strlen(text), &e);
    for (size_t i = 0; i < e.count; i++)
        print_message("%s\n", e.lines[i]);
    assert_int_equal(rc, 0);
    assert_string_equal(s->locations[cfg_find_location(s, "WH1/Stock/A/02")].aisle, "A");
    assert_string_equal(s->locations[cfg_find_location(s, "WH1/Stock/B/03")].aisle, "B");
    assert_string_equal(s->locations[cfg_find_location(s, "WH1/Pick/2")].aisle, "P-1");
    assert_string_equal(s->locations[cfg_find_location(s, "WH1/Bulk/7")].aisle, "7");
    assert_null(s->locations[cfg_find_location(s, "WH1/Dock")].aisle);
    assert_null(s->locations[cfg_find_location(s, "WH1/Stock/A")].aisle); /* implied */
    assert_int_equal(s->n_purchase_rules, 2);
    assert_int_equal(s->purchase_rules[0].product, -1);
    assert_int_equal(s->purchase_rules[0].category, 0);
    assert_int_equal(s->purchase_rules[0].max, 100);
    assert_int_equal(s->purchase_rules[0].multiple, 12);
    assert_int_equal(s->purchase_rules[0].lead_days, 5);
    assert_string_equal(s->purchase_rules[0].supplier, "Acme Foods");
    assert_int_equal(s->purchase_rules[1].product, 1);
    assert_int_equal(s->purchase_rules[1].category, -1);
    assert_int_equal(s->purchase_rules[1].min, 10);
    assert_int_equal(s->purchase_rules[1].origin.line, 16);
    cfg_free(s);
    cfg_errors_fini(&e);
}

/* Products by SKU and by GTIN through the loaded site's indexes, agreeing with a linear search
 * (the same site without its indexes). */
static void test_product_index(void **state)
{
    static const char text[] = "site: {id: t, name: T, timezone: UTC}\n"
                               "products:\n"
                               "  - {sku: Z9, name: Z, gtins: [\"4006381333931\"]}\n"
                               "  - {sku: A1, name: A, gtins: [\"09506000134352\", \"96385074\"]}\n"
                               "  - {sku: M5, name: M}\n"
                               "  - {sku: B2, name: B, gtins: [\"5901234123457\"]}\n";
    struct cfg_errors e;
    struct cfg_site *s = NULL;
    const char *skus[] = {"Z9", "A1", "M5", "B2", "A0", "ZZ", ""};
    const char *gtins[] = {"04006381333931", "09506000134352", "00000096385074",
                           "05901234123457", "04006381333930", "00000000000000"};
    int32_t want_sku[7], want_gtin[6];
    (void)state;
    cfg_errors_init(&e);
    assert_int_equal(cfg_load_mem(&s, "mem.yaml", text, strlen(text), &e), 0);
    assert_non_null(s->sku_index_);
    assert_int_equal(s->n_gtin_index_, 4);
    assert_int_equal(cfg_find_product(s, "A1"), 1);
    assert_int_equal(cfg_find_product(s, "B2"), 3);
    assert_int_equal(cfg_find_product(s, "Z9"), 0);
    assert_int_equal(cfg_find_product(s, "A0"), -1);
    assert_int_equal(cfg_find_product_gtin(s, "00000096385074"), 1); /* an EAN-8, padded */
    assert_int_equal(cfg_find_product_gtin(s, "05901234123457"), 3);
    assert_int_equal(cfg_find_product_gtin(s, "04006381333930"), -1);
    for (int i = 0; i < 7; i++)
        want_sku[i] = cfg_find_product(s, skus[i]);
    for (int i = 0; i < 6; i++)
        want_gtin[i] = cfg_find_product_gtin(s, gtins[i]);
    cfg_index_free(s); /* now linear */
    assert_null(s->sku_index_);
    for (int i = 0; i < 7; i++)
        assert_int_equal(cfg_find_product(s, skus[i]), want_sku[i]);
    for (int i = 0; i < 6; i++)
        assert_int_equal(cfg_find_product_gtin(s, gtins[i]), want_gtin[i]);
    assert_int_equal(cfg_index_products(s), 0);
    assert_int_equal(cfg_find_product(s, "M5"), 2);
    cfg_free(s);
    cfg_errors_fini(&e);
}

static void test_register_checks(void **state)
{
    const char *base = "site: {id: t, name: T, timezone: UTC}\n"
                       "devices: [{id: p, kind: plc, model: modbus-tcp, uri: \"tcp://h:502\"}]\n"
                       "conveyor:\n"
                       "  lanes: [{id: R, number: 1, destination: reject}]\n"
                       "  scan_points:\n";
    char text[1024];
    const char *t;
    (void)state;
    /* barcode_regs is limited to what the plcblock codec carries (50 registers). */
    snprintf(text, sizeof(text),
             "%s    - {id: s, plc: p, read_base: 0, write_base: 65530, "
             "barcode_regs: 51, lanes: [R]}\n",
             base);
    t = load_errors(text);
    assert_non_null(strstr(t, "barcode_regs: 51 is out of range; expected 1..50"));
    /* The write block must fit the address space. */
    snprintf(text, sizeof(text),
             "%s    - {id: s, plc: p, read_base: 0, write_base: 65533, "
             "lanes: [R]}\n",
             base);
    t = load_errors(text);
    assert_non_null(strstr(t, "register confirm_ack_seq at 65537 is outside the address space"));
    /* Read block of one overlapping the write block of another on the same PLC. */
    snprintf(text, sizeof(text),
             "%s    - {id: s, plc: p, read_base: 0, write_base: 100, lanes: [R]}\n"
             "    - {id: s2, plc: p, read_base: 102, write_base: 300, lanes: [R]}\n",
             base);
    t = load_errors(text);
    assert_non_null(strstr(t, "the read block (102..130) overlaps the write block (100..104) "
                              "of scan point 's'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint_strict),
        cmocka_unit_test(test_int_and_number),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_gtin),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_path_and_id),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_load_mem),
        cmocka_unit_test(test_product_index),
        cmocka_unit_test(test_errors_collected),
        cmocka_unit_test(test_register_checks),
        cmocka_unit_test(test_aisles_and_purchase_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
