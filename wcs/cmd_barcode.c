/* `wcs barcode DATA...`: decodes scan data (AIM symbology identifier, GS1 element string or
 * bracketed form, EAN/UPC GTIN) and prints one JSON object per input (DESIGN.md §4.1).
 * The decoding is the codec of drivers/codec (gs1.h, aim.h); this file only reads arguments,
 * turns `\x1d` and `<GS>` into GS, and prints. See docs/barcode.md. */
#include "cmds.h"

#include "base/err.h"
#include "drivers/codec/gs1.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_ELEMENTS 128 /* a GS1 DataMatrix holds at most ~2300 characters; plenty */

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: wcs barcode [--year YYYY] DATA... | -\n"
        "\n"
        "Decodes scan data and prints one JSON object per input: the AIM symbology\n"
        "identifier (\"aim\", null if none), whether the data is GS1 (\"gs1\"), and either\n"
        "the GS1 elements (\"elements\": ai, value, title and decoded date/time/decimal)\n"
        "or the plain \"data\".\n"
        "\n"
        "  DATA        scan data as the reader sends it, e.g. ']C101095060001343521726123110ABC'\n"
        "              GS (0x1D) may be given literally, as \\x1d or as <GS>;\n"
        "              the bracketed form '(01)09506000134352(17)261231' is accepted;\n"
        "              without an AIM identifier, data starting with GS is a GS1 element\n"
        "              string and anything else not starting with '(' is plain data\n"
        "  -           read one input per line from standard input (empty lines skipped)\n"
        "  --year YYYY reference year for the GS1 century rule of dates (default: now)\n"
        "\n"
        "Exit status: 0 all inputs valid, 1 an input failed its rules (one line on\n"
        "stderr per failure, naming the AI and the reason), 2 usage error.\n");
}

/* Replaces `\x1d` (any case) and `<GS>` by GS in s, in place. Returns the new length. */
static size_t unescape_gs(char *s, size_t len)
{
    size_t r = 0, w = 0;
    while (r < len) {
        if (len - r >= 4 && s[r] == '\\' && (s[r + 1] == 'x' || s[r + 1] == 'X') &&
            s[r + 2] == '1' && (s[r + 3] == 'd' || s[r + 3] == 'D')) {
            s[w++] = GS1_GS;
            r += 4;
        } else if (len - r >= 4 && strncasecmp(s + r, "<GS>", 4) == 0) {
            s[w++] = GS1_GS;
            r += 4;
        } else {
            s[w++] = s[r++];
        }
    }
    return w;
}

/* A JSON string of bytes that may not be UTF-8: invalid input is read as Latin-1. */
static json_t *json_bytes(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    char *u;
    size_t k = 0;
    if (j)
        return j;
    u = malloc(len * 2 + 1);
    if (!u)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            u[k++] = (char)c;
        } else {
            u[k++] = (char)(0xc0 | (c >> 6));
            u[k++] = (char)(0x80 | (c & 0x3f));
        }
    }
    j = json_stringn(u, k);
    free(u);
    return j;
}

static void format_decimal(int64_t units, int decimals, char *out, size_t cap)
{
    int64_t p = 1;
    for (int i = 0; i < decimals; i++)
        p *= 10;
    if (decimals == 0)
        snprintf(out, cap, "%" PRId64, units);
    else
        snprintf(out, cap, "%" PRId64 ".%0*" PRId64, units / p, decimals, units % p);
}

/* Adds the decoded fields of one element to obj. Returns 0, or 1 after printing the error
 * (a date that does not exist once the century is known). */
static int decode_element(const struct gs1_element *el, int ref_year, json_t *obj)
{
    struct gs1_ai_info info;
    struct gs1_date d;
    char buf[64];
    if (gs1_ai_info(el->ai, &info) < 0)
        return 0;
    json_object_set_new(obj, "title", json_string(info.title));
    switch (info.kind) {
    case GS1_KIND_DATE:
    case GS1_KIND_DATE_TIME:
    case GS1_KIND_DATE_RANGE:
        if (gs1_date_decode(el->value, ref_year, &d) < 0) {
            fprintf(stderr, "wcs barcode: AI (%s): invalid date %.6s for reference year %d\n",
                    el->ai, el->value, ref_year);
            return 1;
        }
        snprintf(buf, sizeof(buf), "%04d-%02d-%02d", d.year, d.month, d.day);
        json_object_set_new(obj, "date", json_string(buf));
        if (info.kind == GS1_KIND_DATE_TIME && el->value_len > 6) {
            const char *t = el->value + 6;
            size_t tn = el->value_len - 6;
            if (tn == 2)
                snprintf(buf, sizeof(buf), "%.2s", t);
            else if (tn == 4)
                snprintf(buf, sizeof(buf), "%.2s:%.2s", t, t + 2);
            else
                snprintf(buf, sizeof(buf), "%.2s:%.2s:%.2s", t, t + 2, t + 4);
            json_object_set_new(obj, "time", json_string(buf));
        }
        if (info.kind == GS1_KIND_DATE_RANGE && el->value_len == 12) {
            if (gs1_date_decode(el->value + 6, ref_year, &d) < 0) {
                fprintf(stderr, "wcs barcode: AI (%s): invalid date %.6s for reference year %d\n",
                        el->ai, el->value + 6, ref_year);
                return 1;
            }
            snprintf(buf, sizeof(buf), "%04d-%02d-%02d", d.year, d.month, d.day);
            json_object_set_new(obj, "date_end", json_string(buf));
        }
        break;
    case GS1_KIND_DECIMAL:
    case GS1_KIND_CURRENCY_DECIMAL: {
        int64_t units, mg;
        int dec;
        if (gs1_decimal(el, &units, &dec) < 0)
            break;
        if (info.kind == GS1_KIND_CURRENCY_DECIMAL) {
            snprintf(buf, sizeof(buf), "%.3s", el->value);
            json_object_set_new(obj, "currency", json_string(buf));
        }
        format_decimal(units, dec, buf, sizeof(buf));
        json_object_set_new(obj, "decimal", json_string(buf));
        if (info.unit)
            json_object_set_new(obj, "unit", json_string(info.unit));
        if (gs1_weight_mg(el, &mg) == 0)
            json_object_set_new(obj, "weight_mg", json_integer(mg));
        break;
    }
    default:
        break;
    }
    return 0;
}

/* Decodes one input and prints its JSON line. Returns 0 or 1 (invalid input, reported). */
static int decode_one(char *s, size_t len, int ref_year)
{
    static struct gs1_element els[MAX_ELEMENTS];
    struct gs1_error err;
    struct aim_id aim;
    bool is_gs1 = false;
    size_t n = 0;
    json_t *obj, *arr;
    char *text;
    int rc;

    len = unescape_gs(s, len);
    rc = gs1_parse_scan(s, len, &aim, &is_gs1, els, MAX_ELEMENTS, &n, &err);
    if (rc < 0) {
        fprintf(stderr, "wcs barcode: %s\n", err.msg);
        return 1;
    }
    obj = json_object();
    json_object_set_new(obj, "aim", aim.present ? json_string(aim.text) : json_null());
    json_object_set_new(obj, "gs1", json_boolean(is_gs1));
    if (is_gs1) {
        arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "ai", json_string(els[i].ai));
            json_object_set_new(e, "value", json_string(els[i].value));
            if (decode_element(&els[i], ref_year, e)) {
                json_decref(e);
                json_decref(arr);
                json_decref(obj);
                return 1;
            }
            json_array_append_new(arr, e);
        }
        json_object_set_new(obj, "elements", arr);
    } else {
        json_object_set_new(obj, "data", json_bytes(s + aim.data_offset, len - aim.data_offset));
    }
    if (aim.present)
        json_object_set_new(obj, "symbology", json_string(aim.symbology));
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text) {
        fprintf(stderr, "wcs barcode: out of memory\n");
        return 1;
    }
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    return 0;
}

static int decode_stdin(int ref_year)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int bad = 0;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        bad |= decode_one(line, len, ref_year);
    }
    free(line);
    return bad;
}

static int current_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    if (!localtime_r(&now, &tm))
        return 2000;
    return tm.tm_year + 1900;
}

int cmd_barcode(int argc, char **argv)
{
    int ref_year = current_year(), first = 1, bad = 0;
    while (first < argc && argv[first][0] == '-' && argv[first][1] != '\0') {
        const char *a = argv[first];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--year") == 0 && first + 1 < argc) {
            char *end;
            long y;
            errno = 0;
            y = strtol(argv[first + 1], &end, 10);
            if (errno || *end || end == argv[first + 1] || y < 100 || y > 9999) {
                fprintf(stderr, "wcs barcode: --year: a year 100-9999 expected, got '%s'\n",
                        argv[first + 1]);
                return 2;
            }
            ref_year = (int)y;
            first += 2;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            first++;
            break;
        }
        fprintf(stderr, "wcs barcode: unknown option '%s'\n", a);
        usage(stderr);
        return 2;
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0)
            bad |= decode_stdin(ref_year);
        else
            bad |= decode_one(argv[i], strlen(argv[i]), ref_year);
    }
    return bad ? 1 : 0;
}
