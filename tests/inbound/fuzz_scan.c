/* Fuzz target of the product-scan decoder (wcs/command/scan.c), the one of receiving, returns
 * and picking: the bytes are a scan as a receiver or picker sends it; it is decoded as a
 * receiving scan and as an item (pick) scan, and a parsed receiving scan is matched against two
 * receipt lines and checked for over-receipt and expiry. Nothing may crash or read out of
 * bounds; a parsed scan holds a 14-digit GTIN, a count within 0..2^30 and an expiry of 10
 * characters or none; an item scan is never a logistic unit's contents and agrees with the
 * receiving decode. */
#include "scan.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scan_data d, it;
    char err[256], g[15];
    int rc_item = scan_parse_item((const char *)data, size, 2026, &it, err, sizeof(err));
    if (rc_item == 0) {
        assert(!it.contained);
        assert(scan_gtin14(it.gtin, g) && strcmp(g, it.gtin) == 0);
    } else {
        assert(err[0] != '\0');
    }
    if (scan_parse((const char *)data, size, 2026, &d, err, sizeof(err)) != 0) {
        assert(rc_item != 0);
        return 0;
    }
    assert(rc_item == 0 || d.contained);
    assert(strlen(d.gtin) == 14);
    assert(!d.expiry[0] || strlen(d.expiry) == 10);
    assert(d.qty >= 0 && d.qty <= 1073741824);
    struct scan_line lines[2] = {{"A", "", 10, 3}, {"A", d.lot, 5, 5}};
    int i = scan_match_line(lines, 2, "A", d.lot);
    assert(i >= 0 && i < 2);
    (void)scan_check_over(&lines[i], (size_t)i, d.qty ? d.qty : 1, true, 10, err, sizeof(err));
    if (d.expiry[0])
        (void)scan_check_expiry(d.expiry, "2026-11-27", 30, "A", err, sizeof(err));
    return 0;
}
