/* Unit tests for JSON Lines products files: the line reader of config/src/jsonl.c (node shapes,
 * JSON types, character columns, syntax errors) and cfg_load() of sites whose products_file is
 * a .jsonl/.ndjson file (values, defaults, strict types, exact error lines, nothing half-built).
 * Links the real config library; includes its private header for the line reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "config/config.h"
#include "internal.h"
#include "tfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(struct arena *mem, const char *line, struct ynode **out, struct jsonl_error *err)
{
    return jsonl_parse_line(mem, line, strlen(line), 7, out, err);
}

static const struct ynode *get(const struct ynode *map, const char *key)
{
    const struct ynode *v = ymap_get(map, key);
    assert_non_null(v);
    return v;
}

static void test_line_shape_and_columns(void **state)
{
    struct arena mem = {0};
    struct jsonl_error err;
    struct ynode *n = NULL;
    const struct ynode *v;
    (void)state;
    /* Columns are 1-based characters: "é" is two bytes but one column. */
    assert_int_equal(parse(&mem,
                           "{\"name\":\"é\", \"sku\": \"A1\",\"weight_g\":120,\"dims_mm\":{\"l\":1,"
                           "\"w\":2, \"h\":3},\"gtins\":[\"4006381333931\", \"96385074\"],"
                           "\"expiry\":true,\"x\":null,\"r\":1.50}\r",
                           &n, &err),
                     0);
    assert_non_null(n);
    assert_int_equal(n->kind, Y_MAP);
    assert_int_equal(n->json, YJ_OBJECT);
    assert_int_equal(n->line, 7);
    assert_int_equal(n->col, 1);
    assert_int_equal(n->n, 8);
    /* Keys in text order, each with its own column. */
    assert_string_equal(n->pairs[0].key->str, "name");
    assert_int_equal(n->pairs[0].key->col, 2);
    assert_string_equal(n->pairs[1].key->str, "sku");
    assert_int_equal(n->pairs[1].key->col, 14);
    v = get(n, "name");
    assert_string_equal(v->str, "é");
    assert_int_equal(v->json, YJ_STRING);
    assert_false(v->plain);
    assert_int_equal(v->col, 9);
    v = get(n, "sku");
    assert_int_equal(v->col, 21);
    v = get(n, "weight_g");
    assert_int_equal(v->json, YJ_INTEGER);
    assert_string_equal(v->str, "120");
    assert_int_equal(v->col, 37);
    v = get(n, "dims_mm");
    assert_int_equal(v->kind, Y_MAP);
    assert_int_equal(v->col, 51);
    assert_int_equal(get(v, "l")->col, 56);
    assert_int_equal(get(v, "w")->col, 62);
    assert_int_equal(get(v, "h")->col, 69);
    assert_string_equal(get(v, "h")->str, "3");
    v = get(n, "gtins");
    assert_int_equal(v->kind, Y_SEQ);
    assert_int_equal(v->n, 2);
    assert_string_equal(v->items[1]->str, "96385074");
    assert_int_equal(v->items[0]->col, 81);
    assert_int_equal(v->items[1]->col, 98);
    v = get(n, "expiry");
    assert_int_equal(v->json, YJ_BOOL);
    assert_string_equal(v->str, "true");
    v = get(n, "x");
    assert_int_equal(v->json, YJ_NULL);
    /* A real is kept as written, so a message shows 1.50, not 1.5. */
    v = get(n, "r");
    assert_int_equal(v->json, YJ_REAL);
    assert_string_equal(v->str, "1.50");
    arena_free(&mem);
}

static void test_line_escaped_keys_keep_columns(void **state)
{
    struct arena mem = {0};
    struct jsonl_error err;
    struct ynode *n = NULL;
    (void)state;
    /* An escaped key cannot be compared byte for byte; the columns still follow the text. */
    assert_int_equal(parse(&mem, "{\"\\u0073ku\":\"A\",\"na\\\"me\":\"q\\\"x\",\"w\":5}", &n, &err),
                     0);
    assert_string_equal(n->pairs[0].key->str, "sku");
    assert_int_equal(get(n, "sku")->col, 13);
    assert_string_equal(get(n, "na\"me")->str, "q\"x");
    assert_int_equal(get(n, "na\"me")->col, 26);
    assert_int_equal(get(n, "w")->col, 37);
    arena_free(&mem);
}

static void test_line_errors(void **state)
{
    struct arena mem = {0};
    struct jsonl_error err;
    struct ynode *n = NULL;
    (void)state;
    /* Syntax: jansson's column. */
    assert_int_equal(parse(&mem, "{\"sku\":\"A\" \"name\":\"B\"}", &n, &err), WCS_E_SYNTAX);
    assert_int_equal(err.col, 17);
    assert_non_null(strstr(err.msg, "invalid JSON: '}' expected"));
    assert_int_equal(parse(&mem, "{\"sku\":\"A\",\"sku\":\"B\"}", &n, &err), WCS_E_SYNTAX);
    assert_non_null(strstr(err.msg, "duplicate object key"));
    assert_int_equal(parse(&mem, "{\"sku\":\"A\"", &n, &err), WCS_E_SYNTAX);
    assert_int_equal(parse(&mem, "{\"sku\":\"A\"} {}", &n, &err), WCS_E_SYNTAX);
    assert_non_null(strstr(err.msg, "end of file expected"));
    assert_int_equal(parse(&mem, "{\"sku\":'A'}", &n, &err), WCS_E_SYNTAX);
    assert_int_equal(parse(&mem, "{\"sku\":\"\\u0000\"}", &n, &err), WCS_E_SYNTAX);
    assert_int_equal(parse(&mem, "{\"sku\":\"\xff\"}", &n, &err), WCS_E_SYNTAX);
    assert_int_equal(parse(&mem, "{\"n\":99999999999999999999}", &n, &err), WCS_E_SYNTAX);
    assert_non_null(strstr(err.msg, "too big integer"));
    /* Not an object: the column of the value. */
    assert_int_equal(parse(&mem, "  [1, 2]", &n, &err), WCS_E_SYNTAX);
    assert_int_equal(err.col, 3);
    assert_string_equal(err.msg, "expected one JSON object per line, found an array");
    assert_int_equal(parse(&mem, "\"sku\"", &n, &err), WCS_E_SYNTAX);
    assert_string_equal(err.msg, "expected one JSON object per line, found a string");
    assert_int_equal(parse(&mem, "42", &n, &err), WCS_E_SYNTAX);
    assert_string_equal(err.msg, "expected one JSON object per line, found a number");
    /* A NUL byte, at its column. */
    assert_int_equal(jsonl_parse_line(&mem, "{\"a\":\0}", 7, 1, &n, &err), WCS_E_SYNTAX);
    assert_int_equal(err.col, 6);
    assert_string_equal(err.msg, "NUL byte in the line");
    /* An error column is never 0 (jansson gives 0 for an empty text). */
    assert_int_equal(parse(&mem, "", &n, &err), WCS_E_SYNTAX);
    assert_int_equal(err.col, 1);
    arena_free(&mem);
}

/* ---- products files through cfg_load ---- */

static char dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/wcs-jsonl-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    return tfile_remove_tree(dir) == 0 ? 0 : -1;
}

static void put(const char *name, const char *text)
{
    char path[128];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int find_product(const struct cfg_site *s, const char *sku)
{
    for (uint32_t i = 0; i < s->n_products; i++)
        if (strcmp(s->products[i].sku, sku) == 0)
            return (int)i;
    return -1;
}

static const char site_head[] = "site: {id: t, name: T, timezone: UTC}\n"
                                "categories: [{name: food, removal: fefo}]\n"
                                "products:\n"
                                "  - {sku: INL, name: Inline, gtins: [\"96385074\"]}\n";

/* Loads dir/site.yaml with the given products_file and file text. Returns cfg_load's code;
 * the error lines, joined by '\n', are in errbuf. */
static int load(const char *file, const char *text, struct cfg_site **site, char *errbuf,
                size_t len)
{
    char yaml[512], path[128];
    struct cfg_errors e;
    size_t o = 0;
    int rc;
    snprintf(yaml, sizeof(yaml), "%sproducts_file: %s\n", site_head, file);
    put("site.yaml", yaml);
    put(file, text);
    snprintf(path, sizeof(path), "%s/site.yaml", dir);
    cfg_errors_init(&e);
    rc = cfg_load(site, path, &e);
    errbuf[0] = '\0';
    /* Error lines name files as dir/name: keep name only. */
    for (size_t i = 0; i < e.count && o < len; i++) {
        for (const char *l = e.lines[i], *d; *l && o < len; l = d + strlen(dir) + 1) {
            d = strstr(l, dir);
            if (!d) {
                o += (size_t)snprintf(errbuf + o, len - o, "%s", l);
                break;
            }
            o += (size_t)snprintf(errbuf + o, len - o, "%.*s", (int)(d - l), l);
        }
        if (o < len)
            o += (size_t)snprintf(errbuf + o, len - o, "\n");
    }
    cfg_errors_fini(&e);
    return rc;
}

static void test_load_good(void **state)
{
    struct cfg_site *s = NULL;
    char errs[4096];
    const struct cfg_product *p;
    int i;
    (void)state;
    assert_int_equal(
        load("p.jsonl",
             "{\"sku\":\"A1\",\"name\":\"Apple\",\"gtins\":[\"4006381333931\"],\"unit\":\"kg\","
             "\"weight_g\":120,\"dims_mm\":{\"l\":10,\"w\":20,\"h\":30},\"tracking\":\"lot\","
             "\"expiry\":true,\"expiry_margin_days\":5,\"category\":\"food\",\"abc\":\"B\","
             "\"quality_control\":true,\"package_type\":\"box\"}\n"
             "\n"
             "   \r\n"
             "{\"sku\":\"A2\",\"name\":\"Plain\"}\r\n",
             &s, errs, sizeof(errs)),
        0);
    assert_string_equal(errs, "");
    assert_int_equal(s->n_products, 3);
    i = find_product(s, "A1");
    assert_true(i >= 0);
    p = &s->products[i];
    assert_string_equal(p->name, "Apple");
    assert_int_equal(p->n_gtins, 1);
    assert_string_equal(p->gtins[0], "4006381333931");
    assert_string_equal(p->unit, "kg");
    assert_int_equal(p->weight_g, 120);
    assert_int_equal(p->dims_mm[0], 10);
    assert_int_equal(p->dims_mm[1], 20);
    assert_int_equal(p->dims_mm[2], 30);
    assert_int_equal(p->tracking, CFG_TRACK_LOT);
    assert_true(p->expiry);
    assert_int_equal(p->expiry_margin_days, 5);
    assert_int_equal(p->category, 0);
    assert_int_equal(p->abc, CFG_ABC_B);
    assert_true(p->quality_control);
    assert_string_equal(p->package_type, "box");
    assert_int_equal(p->origin.line, 1);
    assert_int_equal(p->origin.col, 1);
    /* Defaults, as for an inline product; line 4 after two blank lines. */
    p = &s->products[find_product(s, "A2")];
    assert_string_equal(p->unit, "Units");
    assert_int_equal(p->n_gtins, 0);
    assert_int_equal(p->tracking, CFG_TRACK_NONE);
    assert_int_equal(p->abc, CFG_ABC_NONE);
    assert_int_equal(p->category, -1);
    assert_null(p->package_type);
    assert_false(p->expiry);
    assert_int_equal(p->origin.line, 4);
    cfg_free(s);
    /* .ndjson is the same format; an empty file has no products. */
    assert_int_equal(load("p.ndjson", "{\"sku\":\"N1\",\"name\":\"N\"}", &s, errs, sizeof(errs)),
                     0);
    assert_int_equal(s->n_products, 2);
    cfg_free(s);
    assert_int_equal(load("p.jsonl", "", &s, errs, sizeof(errs)), 0);
    assert_int_equal(s->n_products, 1);
    cfg_free(s);
}

/* Loads a products file that must fail and compares every error line. */
static void expect_errors(const char *file, const char *text, const char *want)
{
    struct cfg_site *s = NULL;
    char errs[4096];
    assert_int_equal(load(file, text, &s, errs, sizeof(errs)), WCS_E_CONFIG);
    assert_null(s);
    assert_string_equal(errs, want);
}

static void test_load_strict_types(void **state)
{
    (void)state;
    expect_errors("p.jsonl",
                  "{\"sku\":\"A\",\"name\":\"N\",\"weight_g\":\"5\"}\n"
                  "{\"sku\":\"B\",\"name\":\"N\",\"weight_g\":1.5,\"expiry\":\"true\"}\n"
                  "{\"sku\":\"C\",\"name\":\"N\",\"weight_g\":2.0,\"abc\":1}\n"
                  "{\"sku\":7,\"name\":null,\"quality_control\":0}\n"
                  "{\"sku\":\"D\",\"name\":\"N\",\"dims_mm\":[1,2,3],\"gtins\":\"96385074\"}\n",
                  "p.jsonl:1:34: products[0].weight_g: expected an integer, found the string "
                  "\"5\"\n"
                  "p.jsonl:2:34: products[1].weight_g: expected an integer, found the number 1.5\n"
                  "p.jsonl:2:47: products[1].expiry: expected a boolean (true or false), found "
                  "the string \"true\"\n"
                  "p.jsonl:3:34: products[2].weight_g: expected an integer, found the number 2.0\n"
                  "p.jsonl:3:44: products[2].abc: expected a string, found the integer 1\n"
                  "p.jsonl:4:8: products[3].sku: expected a string, found the integer 7\n"
                  "p.jsonl:4:17: products[3].name: expected a string, found null\n"
                  "p.jsonl:4:40: products[3].quality_control: expected a boolean (true or "
                  "false), found the integer 0\n"
                  "p.jsonl:5:33: products[4].dims_mm: expected an object, found an array\n"
                  "p.jsonl:5:49: products[4].gtins: expected an array, found the string "
                  "\"96385074\"\n");
}

static void test_load_same_rules_as_inline(void **state)
{
    (void)state;
    /* Ranges, enums, empty strings, unknown and missing keys come from the schema walk; SKU,
     * GTIN and expiry rules and categories from the builder; duplicates span both sources. */
    expect_errors(
        "p.jsonl",
        "{\"sku\":\"A\",\"name\":\"N\",\"weight_g\":-1,\"expiry_margin_days\":4294967296}\n"
        "{\"sku\":\"B\",\"name\":\"\",\"tracking\":\"batch\",\"colour\":\"red\"}\n"
        "{\"name\":\"N\",\"dims_mm\":{\"l\":1,\"w\":2}}\n"
        "{\"sku\":\"INL\",\"name\":\"N\",\"gtins\":[\"96385074\",\"4006381333932\"]}\n"
        "{\"sku\":\"E\",\"name\":\"N\",\"expiry\":true,\"category\":\"toys\"}\n"
        "{\"sku\":\"bad sku\",\"name\":\"N\"}\n",
        "p.jsonl:1:34: products[0].weight_g: invalid integer '-1': must not be negative; "
        "expected an integer 0..4294967295\n"
        "p.jsonl:1:58: products[0].expiry_margin_days: '4294967296' is out of range; expected "
        "an integer 0..4294967295\n"
        "p.jsonl:2:19: products[1].name: empty string\n"
        "p.jsonl:2:33: products[1].tracking: invalid value 'batch'; allowed: none, lot, serial\n"
        "p.jsonl:2:41: products[1].colour: unknown key 'colour'; allowed keys: sku, name, gtins, "
        "unit, weight_g, dims_mm, tracking, expiry, expiry_margin_days, category, abc, "
        "quality_control, package_type\n"
        "p.jsonl:3:23: products[2].dims_mm.h: missing required key 'h'\n"
        "p.jsonl:3:1: products[2].sku: missing required key 'sku'\n"
        "p.jsonl:4:8: products[3].sku: duplicate SKU 'INL' (first defined at site.yaml:4:5)\n"
        "p.jsonl:4:34: products[3].gtins[0]: duplicate GTIN '96385074': already used by SKU "
        "'INL' (defined at site.yaml:4:5)\n"
        "p.jsonl:4:45: products[3].gtins[1]: invalid GTIN '4006381333932': wrong check digit\n"
        "p.jsonl:5:32: products[4].expiry: expiry dates are kept per lot or serial; set "
        "tracking to lot or serial\n"
        "p.jsonl:5:48: products[4].category: unknown category 'toys'; declare it under "
        "categories\n"
        "p.jsonl:6:8: products[5].sku: invalid SKU 'bad sku': an id has only letters, digits, '_', "
        "'-' and '.'\n");
}

static void test_load_syntax_and_files(void **state)
{
    struct cfg_site *s = NULL;
    char errs[4096];
    (void)state;
    /* A bad line does not stop the others; products[N] counts non-blank lines. */
    expect_errors("p.jsonl",
                  "{\"sku\":\"A\",\"name\":\"N\",\"sku\":\"B\"}\n"
                  "\n"
                  "[{\"sku\":\"C\",\"name\":\"N\"}]\n"
                  "{\"sku\":\"D\" \"name\":\"N\"}\n"
                  "{\"sku\":\"A\",\"name\":\"N\",\"weight_g\":\"1\"}\n",
                  "p.jsonl:1:27: products[0]: invalid JSON: duplicate object key near '\"sku\"'\n"
                  "p.jsonl:3:1: products[1]: expected one JSON object per line, found an array\n"
                  "p.jsonl:4:17: products[2]: invalid JSON: '}' expected near '\"name\"'\n"
                  "p.jsonl:5:34: products[3].weight_g: expected an integer, found the string "
                  "\"1\"\n");
    /* Extensions: .csv, .jsonl and .ndjson only. */
    assert_int_equal(load("p.json", "{}", &s, errs, sizeof(errs)), WCS_E_CONFIG);
    assert_non_null(strstr(errs, "site.yaml:5:16: products_file: unsupported products file "
                                 "'p.json'; expected a .csv, .jsonl or .ndjson file"));
    assert_int_equal(load(".jsonl", "{}", &s, errs, sizeof(errs)), WCS_E_CONFIG);
    assert_non_null(strstr(errs, "unsupported products file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_shape_and_columns),
        cmocka_unit_test(test_line_escaped_keys_keep_columns),
        cmocka_unit_test(test_line_errors),
        cmocka_unit_test_setup_teardown(test_load_good, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_load_strict_types, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_load_same_rules_as_inline, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_load_syntax_and_files, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
