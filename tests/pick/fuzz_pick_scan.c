/* Fuzz target of the pick scan decoder (wcs/command/scan.c): any bytes (cut at the first NUL) are
 * decoded as RF scan data; a success must yield 14 GTIN digits and a well-formed expiry. Nothing
 * may crash or read out of bounds. */
#include "pickscan.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[PICK_SCAN_MAX + 2], err[256];
    struct pick_scan s;
    size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    if (pick_scan_decode(buf, 2025, &s, err, sizeof(err)) == 0) {
        assert(strlen(s.gtin) == 14);
        assert(!s.has_expiry || strlen(s.expiry) == 10);
    } else {
        assert(err[0] != '\0');
    }
    return 0;
}
