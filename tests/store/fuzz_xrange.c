/* Fuzz target for store_xrange_entries (wcs/store/ops_count.c): items built from the bytes
 * (per item a depth byte, a nil flag and up to 15 bytes of text) are either refused or cut into
 * as many entries as they hold ids at depth 2, every value a string. */
#include "store/hook.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ITEMS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_item items[ITEMS_MAX];
    char text[ITEMS_MAX][16];
    const char *v[5 * ITEMS_MAX];
    size_t n = 0, ids = 0, pos = 0;
    long got;
    while (pos + 2 <= size && n < ITEMS_MAX) {
        unsigned depth = data[pos] % 5, len = (data[pos + 1] >> 1) % 16;
        bool nil = data[pos + 1] & 1;
        pos += 2;
        if (len > size - pos)
            len = (unsigned)(size - pos);
        memcpy(text[n], data + pos, len);
        text[n][len] = '\0';
        pos += len;
        items[n] = (struct store_item){nil ? NULL : text[n], nil ? 0 : strlen(text[n]), nil, depth};
        ids += depth == 2;
        n++;
    }
    got = store_xrange_entries(items, n, v, ids);
    if (got < 0)
        return 0;
    if ((size_t)got != ids)
        abort();
    for (size_t i = 0; i < 5 * (size_t)got; i++)
        if (!v[i] || (i % 5 == 0 && strlen(v[i]) > 15))
            abort();
    return 0;
}
