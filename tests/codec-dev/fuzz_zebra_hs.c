/* Fuzz target for the Zebra ~HS parser: never crashes; a success consumes at most the input
 * and every strict prefix of an accepted reply is "need more" (-EAGAIN). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "drivers/codec/zebra.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zebra_hs h;
    int rc = zebra_hs_parse(data, size, &h);
    if (rc > 0) {
        if ((size_t)rc > size)
            abort();
        if (zebra_hs_parse(data, (size_t)rc - 1, &h) != -EAGAIN)
            abort();
    }
    return 0;
}
