/* Fuzz target: the PLC emulator's Modbus write-request range parser (the PDU after the MBAP
 * header) and the barcode register decoder. A parsed range must lie inside 0..65535. */
#include "sim/plcmap.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_mb_write w;
    uint16_t regs[50];
    char bc[101];
    size_t n = size / 2 > 50 ? 50 : size / 2;
    if (sim_mb_parse_write(data, size, &w) == 0)
        assert(w.count >= 1 && (uint32_t)w.addr + w.count <= 65536u);
    for (size_t i = 0; i < n; i++)
        regs[i] = (uint16_t)((data[2 * i] << 8) | data[2 * i + 1]);
    if (sim_regs_to_barcode(regs, n, bc, sizeof(bc)) >= 0)
        assert(strlen(bc) <= 2 * n);
    return 0;
}
