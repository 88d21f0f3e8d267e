/* Fuzz target of the receiving scan parser (wcs/command/scan.c): the bytes are a scan as a
 * receiver sends it; a parsed scan is then looked up, matched against two receipt lines and
 * checked for over-receipt and expiry. Nothing may crash or read out of bounds, and a parsed
 * scan must hold a 14-digit GTIN and a count within 0..2^30. */
#include "scan.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scan_data d;
    char err[256];
    if (scan_parse((const char *)data, size, 2026, &d, err, sizeof(err)) != 0)
        return 0;
    assert(strlen(d.gtin) == 14);
    assert(d.qty >= 0 && d.qty <= 1073741824);
    struct scan_line lines[2] = {{"A", "", 10, 3}, {"A", d.lot, 5, 5}};
    int i = scan_match_line(lines, 2, "A", d.lot);
    assert(i >= 0 && i < 2);
    (void)scan_check_over(&lines[i], (size_t)i, d.qty ? d.qty : 1, true, 10, err, sizeof(err));
    if (d.expiry[0])
        (void)scan_check_expiry(d.expiry, "2026-11-27", 30, "A", err, sizeof(err));
    return 0;
}
