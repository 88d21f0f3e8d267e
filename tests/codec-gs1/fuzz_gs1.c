/* Fuzz target for the GS1 codec. The input is parsed as an element string, as the bracketed
 * form, and as scan data; every successful parse is built back into both forms, which must
 * re-parse to the same elements (round-trip property). Any mismatch aborts. */
#include "drivers/codec/gs1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 64

static void same(const struct gs1_element *a, size_t na, const struct gs1_element *b, size_t nb)
{
    if (na != nb)
        abort();
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].ai, b[i].ai) != 0 || a[i].value_len != b[i].value_len ||
            memcmp(a[i].value, b[i].value, a[i].value_len + 1) != 0)
            abort();
}

static void round_trip(const struct gs1_element *el, size_t n)
{
    static struct gs1_element back[CAP];
    static char buf[CAP * (GS1_AI_LEN_MAX + 2 * GS1_VALUE_LEN_MAX + 3) + 1];
    struct gs1_error err;
    size_t len, nb;
    if (gs1_build(el, n, buf, sizeof(buf), &len, &err) != 0 || strlen(buf) != len)
        abort();
    if (gs1_parse(buf, len, back, CAP, &nb, &err) != 0)
        abort();
    same(el, n, back, nb);
    if (gs1_build_hri(el, n, buf, sizeof(buf), &len, &err) != 0 || strlen(buf) != len)
        abort();
    if (gs1_parse_hri(buf, len, back, CAP, &nb, &err) != 0)
        abort();
    same(el, n, back, nb);
    /* Every element passes its own validation, and the decoders accept what parsed. */
    for (size_t i = 0; i < n; i++) {
        struct gs1_element one;
        struct gs1_ai_info info;
        int64_t units;
        int dec;
        if (gs1_element_set(&one, el[i].ai, el[i].value, el[i].value_len, &err) != 0)
            abort();
        if (gs1_ai_info(el[i].ai, &info) != 0 || el[i].value_len < info.min_len ||
            el[i].value_len > info.max_len)
            abort();
        if ((info.kind == GS1_KIND_DECIMAL || info.kind == GS1_KIND_CURRENCY_DECIMAL) &&
            gs1_decimal(&el[i], &units, &dec) != 0)
            abort();
        if (info.kind == GS1_KIND_DATE) {
            struct gs1_date d;
            int rc = gs1_date_decode(el[i].value, 2025, &d);
            if (rc != 0 || d.day < 1 || d.day > 31)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gs1_element el[CAP];
    struct gs1_error err;
    struct aim_id aim;
    bool is_gs1;
    size_t n;
    const char *s = (const char *)data;
    int rc;

    rc = gs1_parse(s, size, el, CAP, &n, &err);
    if (rc == 0)
        round_trip(el, n);
    else if (rc >= 0 || err.msg[0] == '\0')
        abort();
    rc = gs1_parse_hri(s, size, el, CAP, &n, &err);
    if (rc == 0)
        round_trip(el, n);
    else if (rc >= 0 || err.msg[0] == '\0')
        abort();
    rc = gs1_parse_scan(s, size, &aim, &is_gs1, el, CAP, &n, &err);
    if (rc == 0 && is_gs1)
        round_trip(el, n);
    else if (rc == 0 && n != 0)
        abort();
    return 0;
}
