/* Fuzz target for HID POS scanner reports: the input is cut into 64-byte reports (a short last
 * one included) and fed to reassemblers with a small and the largest limit; completed reads
 * must respect the limit and be NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>

#include "drivers/codec/hidpos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hidpos_scan_asm a;
    static struct hidpos_scan s;
    static const size_t limits[] = {100, HIDPOS_SCAN_MAX};
    for (int k = 0; k < 2; k++) {
        hidpos_scan_asm_init(&a, limits[k]);
        for (size_t off = 0; off < size; off += 64) {
            size_t n = size - off < 64 ? size - off : 64;
            int rc = hidpos_scan_asm_feed(&a, data + off, n, &s);
            if (rc == 1 && (s.len > limits[k] || s.data[s.len] != 0))
                abort();
        }
    }
    /* The 63-byte form over the same bytes. */
    hidpos_scan_asm_init(&a, HIDPOS_SCAN_MAX);
    for (size_t off = 0; off + 63 <= size; off += 63)
        (void)hidpos_scan_asm_feed(&a, data + off, 63, &s);
    return 0;
}
