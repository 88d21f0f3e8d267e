/* Fuzz target for the Zebra ~HQES parser: never crashes, consumes at most its input, and a
 * success always has flags consistent with the masks (checked by the parser itself). */
#include <stdint.h>
#include <stdlib.h>

#include "drivers/codec/zebra.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zebra_hqes q;
    int rc = zebra_hqes_parse(data, size, &q);
    if (rc > 0 && (size_t)rc > size)
        abort();
    return 0;
}
