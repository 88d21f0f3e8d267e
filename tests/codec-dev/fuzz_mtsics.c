/* Fuzz target for MT-SICS: the input goes through the line framer in one call sequence and
 * every line is parsed; the whole input is also parsed as a single line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/codec/mtsics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mtsics_framer f;
    struct mtsics_reply r;
    char line[MTSICS_LINE_MAX];
    size_t off = 0, used, len;
    (void)mtsics_parse((const char *)data, size, &r);
    mtsics_framer_init(&f);
    while (off < size) {
        if (mtsics_framer_feed(&f, data + off, size - off, &used, line, &len) == 1) {
            if (len >= MTSICS_LINE_MAX || strlen(line) > len)
                abort();
            if (mtsics_parse(line, len, &r) == 0 && r.has_weight && r.unit[0] == '\0')
                abort();
        }
        if (used == 0)
            abort();
        off += used;
    }
    return 0;
}
