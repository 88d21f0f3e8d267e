/* Pure helpers of the PLC emulator (sim/include/sim/plcmap.h): sequences, barcode registers and
 * write-request ranges. Modbus limits from the Modbus Application Protocol v1.1b3 §6.12, §6.17:
 * write multiple registers 1..123 (0x7B), read/write multiple writes 1..121 (0x79). */
#include "sim/plcmap.h"

#include "base/err.h"

#include <errno.h>

uint16_t sim_seq_next(uint16_t seq)
{
    return seq >= 65535u ? 1u : (uint16_t)(seq + 1u);
}

int sim_barcode_to_regs(uint16_t *regs, size_t nregs, const char *barcode, size_t len)
{
    if (len > 2 * nregs)
        return WCS_E_RANGE;
    for (size_t i = 0; i < nregs; i++) {
        uint8_t hi = 2 * i < len ? (uint8_t)barcode[2 * i] : 0;
        uint8_t lo = 2 * i + 1 < len ? (uint8_t)barcode[2 * i + 1] : 0;
        regs[i] = (uint16_t)((hi << 8) | lo);
    }
    return 0;
}

int sim_regs_to_barcode(const uint16_t *regs, size_t nregs, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < 2 * nregs; i++) {
        uint8_t c = (i & 1) ? (uint8_t)(regs[i / 2] & 0xff) : (uint8_t)(regs[i / 2] >> 8);
        if (c == 0)
            break;
        if (n + 1 >= cap)
            return WCS_E_EXHAUSTED;
        out[n++] = (char)c;
    }
    if (cap == 0)
        return WCS_E_EXHAUSTED;
    out[n] = '\0';
    return (int)n;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

int sim_mb_parse_write(const uint8_t *pdu, size_t len, struct sim_mb_write *out)
{
    uint16_t addr, count;
    if (len < 1)
        return WCS_E_SYNTAX;
    switch (pdu[0]) {
    case 6: /* write single register: addr, value */
        if (len < 5)
            return WCS_E_SYNTAX;
        addr = be16(pdu + 1);
        count = 1;
        break;
    case 16: /* write multiple registers: addr, quantity, byte count, values */
        if (len < 6)
            return WCS_E_SYNTAX;
        addr = be16(pdu + 1);
        count = be16(pdu + 3);
        if (count < 1 || count > 123 || pdu[5] != 2 * count || len < 6u + 2u * count)
            return WCS_E_SYNTAX;
        break;
    case 23: /* read/write multiple: read addr, read qty, write addr, write qty, byte count */
        if (len < 10)
            return WCS_E_SYNTAX;
        addr = be16(pdu + 5);
        count = be16(pdu + 7);
        if (count < 1 || count > 121 || pdu[9] != 2 * count || len < 10u + 2u * count)
            return WCS_E_SYNTAX;
        break;
    default:
        return -ENOENT;
    }
    if ((uint32_t)addr + count > 65536u)
        return WCS_E_SYNTAX;
    out->function = pdu[0];
    out->addr = addr;
    out->count = count;
    return 0;
}

int sim_ranges_overlap(uint32_t a, uint32_t na, uint32_t b, uint32_t nb)
{
    return na > 0 && nb > 0 && a < b + nb && b < a + na;
}
