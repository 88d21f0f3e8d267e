/* Fuzz target for the PLC register-block codec: decodes the input as a read block under a map
 * derived from its first bytes, round-trips it as a write block, and checks the sequence
 * helper's antisymmetry and the planner's coverage. Aborts on a broken property. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/codec/plcblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plc_regmap m;
    struct plc_read_block b;
    struct plc_write_block w, w2;
    uint16_t regs[PLC_READ_MAX_REGS], out[PLC_WRITE_MAX_REGS];
    size_t n;
    if (size < 1)
        return 0;
    plc_regmap_init(&m, 0, 0, (uint16_t)(data[0] % PLC_BARCODE_MAX_REGS + 1));
    if (plc_regmap_validate(&m, NULL) != 0)
        abort();
    data++;
    size--;
    n = size / 2 < PLC_READ_MAX_REGS ? size / 2 : PLC_READ_MAX_REGS;
    for (size_t i = 0; i < n; i++)
        regs[i] = (uint16_t)(data[2 * i] << 8 | data[2 * i + 1]);
    if (plc_read_decode(regs, n, &m, &b) == 0) {
        if (b.barcode_len > 2u * m.barcode_regs || strlen(b.barcode) != b.barcode_len)
            abort();
        if ((b.scan_seq == 0) != (b.read_result == PLC_READ_NONE))
            abort();
    }
    if (plc_write_decode(regs, n < 5 ? n : 5, &m, &w) == 0) {
        if (plc_write_encode(&w, &m, out, PLC_WRITE_MAX_REGS) != 5)
            abort();
        if (memcmp(out, regs, 5 * sizeof(uint16_t)) != 0)
            abort();
        if (plc_write_decode(out, 5, &m, &w2) != 0 || memcmp(&w, &w2, sizeof(w)) != 0)
            abort();
    }
    if (n >= 2) {
        uint16_t a = regs[0], c = regs[1];
        if (plc_seq_is_newer(a, c) && plc_seq_is_newer(c, a))
            abort();
        if (a != 0 && !plc_seq_is_newer(plc_seq_next(a), a))
            abort();
    }
    /* Planner: read blocks at fuzzed bases; every point lands inside its request. */
    struct plc_regmap maps[8];
    struct plc_request req[8];
    size_t idx[8], np = n < 8 ? n : 8;
    for (size_t i = 0; i < np; i++)
        plc_regmap_init(&maps[i], (uint16_t)(regs[i] % 60000), (uint16_t)(i * 5), 4);
    int nr = plc_plan_reads(maps, np, true, req, 8, idx);
    if (nr < 0 || (size_t)nr > np)
        abort();
    for (size_t i = 0; i < np; i++) {
        const struct plc_request *r = &req[idx[i]];
        if (r->count > PLC_READ_MAX_REGS || maps[i].read_base < r->addr ||
            (uint32_t)maps[i].read_base + maps[i].read_regs > (uint32_t)r->addr + r->count)
            abort();
    }
    return 0;
}
