/* Fuzz target: tz_parse on arbitrary bytes (a zone file). It must never crash; a parsed zone
 * must answer offsets within RFC 8536's range and local-time conversions for any instant. */
#include "base/tz.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t at[] = {INT64_MIN,    -5000000000LL, -1,           0,
                                 1774746000LL, 1790000000LL,  4102444800LL, 32503680000LL,
                                 INT64_MAX};
    struct wcs_tz *z = NULL;
    char err[128];
    if (tz_parse(&z, data, size, err, sizeof(err)) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(at) / sizeof(*at); i++) {
        int32_t off = tz_offset_s(z, at[i]);
        assert(off >= -89999 && off <= 93599);
        (void)tz_utc_s(z, tz_local_s(z, at[i]));
    }
    tz_free(z);
    return 0;
}
