/* Fuzz target for the JSON Lines products reader: arbitrary bytes split into lines, each parsed
 * into a node tree (config/src/jsonl.c), walked against the product schema and, when accepted,
 * filled into a raw product, as the loader does. Crashes, leaks and UB surface through the
 * sanitizers; an accepted item that does not fill is a bug and aborts. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct cfg_errors errs;
    struct arena mem = {0};
    uint32_t line = 0;
    cfg_errors_init(&errs);
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        struct jsonl_error je;
        struct ynode *item = NULL;
        struct raw_product raw;
        line++;
        if (jsonl_parse_line(&mem, p, len, line, &item, &je) == 0) {
            if (!item || item->kind != Y_MAP || item->line != line || item->col < 1)
                abort();
            if (schema_check_product(item, "fuzz.jsonl", "products[0]", &errs) == 0 &&
                schema_fill_product(&raw, item, &mem) == 0 && (!raw.sku || !raw.name))
                abort();
        } else if (je.col < 1 || !memchr(je.msg, '\0', sizeof(je.msg))) {
            abort();
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    arena_free(&mem);
    cfg_errors_fini(&errs);
    return 0;
}
