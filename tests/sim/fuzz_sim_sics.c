/* Fuzz target: the scale emulator's MT-SICS command parser, fed each line of the input the way
 * the emulator splits them (CR or LF), plus the weight formatter on values taken from the
 * input bytes. */
#include "sim/sics.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t b = 0;
    char out[64];
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\r' || data[i] == '\n') {
            int rc = sics_parse((const char *)data + b, i - b);
            assert(rc != 0);
            b = i + 1;
        }
    }
    if (size >= 9) {
        int64_t v;
        static const uint32_t res[] = {1, 10, 100, 1000};
        memcpy(&v, data, sizeof(v));
        v %= 100000000000LL;
        if (sics_fmt_weight(out, sizeof(out), "S", 'S', v, res[data[8] & 3]) > 0)
            assert(strlen(out) == 16);
    }
    return 0;
}
