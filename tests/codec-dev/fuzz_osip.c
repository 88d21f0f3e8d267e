/* Fuzz target for OSIP: parses the input as one telegram (a successful parse must rebuild to
 * the same bytes), then feeds it to the stream framer in uneven chunks and parses what comes
 * out. Aborts on a broken property. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/codec/osip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct osip_framer f;
    static char out[OSIP_MAX_LEN + 1], built[OSIP_MAX_LEN + 2];
    struct osip_telegram t;
    if (osip_parse((const char *)data, size, 0, '*', &t) == 0) {
        int n = osip_build(&t, size, '*', built, sizeof(built));
        if (n != (int)size + 2 || memcmp(built, data, size) != 0)
            abort();
    }
    osip_framer_init(&f, 0);
    size_t off = 0, step = 1;
    while (off < size) {
        size_t chunk = size - off < step ? size - off : step;
        off += osip_framer_feed(&f, data + off, chunk);
        size_t len;
        while ((len = osip_framer_next(&f, out, sizeof(out))) != 0) {
            if (len < OSIP_MIN_LEN || len > OSIP_MAX_LEN || memcmp(out, "###", 3) != 0)
                abort();
            (void)osip_parse(out, len, 0, '*', &t);
        }
        step = step * 3 % 61 + 1;
    }
    return 0;
}
