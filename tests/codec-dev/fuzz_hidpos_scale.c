/* Fuzz target for HID POS scale reports: decode must never crash, and a decoded weight must be
 * non-negative (the weight field is unsigned) and consistent with the status. */
#include <stdint.h>
#include <stdlib.h>

#include "drivers/codec/hidpos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hidpos_scale_reading r;
    if (hidpos_scale_decode(data, size, &r) == 0) {
        if (r.has_weight && r.weight_mg < 0)
            abort();
        if (r.stable && !r.has_weight)
            abort();
        if (r.status < HIDPOS_SCALE_FAULT || r.status > HIDPOS_SCALE_NEEDS_REZERO)
            abort();
    }
    return 0;
}
