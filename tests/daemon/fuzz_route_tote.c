/* Fuzz target: route_tote_id on arbitrary scan data (the label the PLC reports). It must
 * never crash, and an accepted id must be a store identifier or an 18-digit SSCC. */
#include "daemon/route.h"
#include "store/store.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[64];
    if (size > 256)
        return 0;
    if (route_tote_id((const char *)data, size, id, sizeof(id)) == 0) {
        assert(strlen(id) > 0 && strlen(id) < 64);
        assert(store_id_check(id) == 0);
    }
    return 0;
}
