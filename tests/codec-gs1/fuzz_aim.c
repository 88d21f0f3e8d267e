/* Fuzz target for the AIM identifier codec: any bytes parse, and the result is consistent. */
#include "drivers/codec/aim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aim_id a;
    const char *s = (const char *)data;
    if (aim_parse(s, size, &a) != 0)
        abort();
    if (!a.symbology)
        abort();
    if (a.present) {
        if (a.data_offset != 3 || size < 3 || memcmp(a.text, s, 3) != 0 || a.text[3] != '\0')
            abort();
    } else if (a.data_offset != 0 || a.content != AIM_CONTENT_PLAIN || a.text[0] != '\0') {
        abort();
    }
    return 0;
}
