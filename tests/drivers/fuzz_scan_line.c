/* Fuzz target for the line scanner's splitter and classifier (drivers/scanner.h): the input is
 * fed in chunks whose sizes come from its first byte, every completed line is classified
 * against fixed tokens, and the framer's invariants are checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scanner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scan_line_framer f;
    struct scan_read r;
    size_t chunk = size ? (size_t)(data[0] % 17) + 1 : 1, off = 0;

    scan_line_init(&f, size ? (size_t)(data[0] % 64) + 1 : 8);
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk, used = 0, len = 0;
        if (scan_line_feed(&f, data + off, n, &used, &len) == 1) {
            if (len == 0 || len > f.max_len || strlen(f.buf) > len)
                abort();
            if (memchr(f.buf, '\r', len) || memchr(f.buf, '\n', len))
                abort();
            if (scan_line_classify(f.buf, len, "NOREAD", "MULTI", &r) == 0 &&
                (r.data < f.buf || r.data + r.len != f.buf + len))
                abort();
        }
        if (used == 0 || used > n)
            abort();
        off += used;
    }
    return 0;
}
