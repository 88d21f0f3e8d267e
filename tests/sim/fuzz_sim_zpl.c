/* Fuzz target: the printer emulator's ZPL reader. The input is treated as a 9100 byte stream:
 * split with zpl_next(), every format parsed, every ^BC mode-D field normalised, as the
 * printer would. Checks the splitter's offsets stay inside the input. */
#include "sim/zpl.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct zpl_label lb;
    char err[96], gs1[ZPL_DATA_MAX + 64];
    size_t off = 0;
    while (off < size) {
        size_t used = 0, s = 0, e = 0;
        enum zpl_event ev = zpl_next(data + off, size - off, &used, &s, &e);
        if (ev == ZPL_EV_NEED_MORE)
            break;
        assert(used > 0 && used <= size - off);
        if (ev == ZPL_EV_FORMAT) {
            assert(s < e && e <= used);
            if (zpl_parse((const char *)data + off + s, e - s, &lb, err, sizeof(err)) == 0) {
                assert(lb.n_fields <= ZPL_FIELDS_MAX);
                for (unsigned i = 0; i < lb.n_fields; i++) {
                    assert(lb.f[i].data_len <= ZPL_DATA_MAX);
                    if (lb.f[i].kind == ZPL_CODE128 && lb.f[i].mode == 'D')
                        zpl_gs1_normalize(lb.f[i].data, lb.f[i].data_len, gs1, sizeof(gs1));
                }
            }
        }
        off += used;
    }
    return 0;
}
