/* Fuzz target for the quant-key parser (wcs/store/keys.c): any bytes either fail with
 * WCS_E_SYNTAX or parse into parts that rebuild exactly the same key. */
#include "base/err.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_quant_ref q;
    char k[STORE_KEY_MAX];
    int rc = store_key_parse_quant((const char *)data, size, &q), n;
    if (rc != 0) {
        if (rc != WCS_E_SYNTAX)
            abort();
        return 0;
    }
    n = store_key_quant(k, sizeof(k), q.site, q.sku, q.loc, q.lot);
    if (n <= 0 || (size_t)n != size || memcmp(k, data, size) != 0)
        abort();
    return 0;
}
