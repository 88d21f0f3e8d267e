/* Pure helpers of the PLC emulator's side of the Modbus handshake (DESIGN.md §4.5): sequence
 * arithmetic, the barcode register encoding, and the range of a Modbus write request. The
 * simulator keeps its own copy of these rules on purpose: it never shares drivers/codec, so a
 * codec bug cannot pass on both sides of the wire. No I/O, no allocation. */
#ifndef SIM_PLCMAP_H
#define SIM_PLCMAP_H

#include <stddef.h>
#include <stdint.h>

/* The successor of a handshake sequence number: 1..65535, and 65535 is followed by 1. */
uint16_t sim_seq_next(uint16_t seq);

/* Writes `len` bytes of barcode into regs[0..nregs), two characters per register, high byte
 * first, NUL padded. Returns 0, or WCS_E_RANGE when len > 2 * nregs (regs untouched). */
int sim_barcode_to_regs(uint16_t *regs, size_t nregs, const char *barcode, size_t len);

/* Reads the barcode back from registers (for tests and tracing): copies up to 2 * nregs bytes,
 * stopping at the first NUL, into out (cap bytes including the terminating NUL). Returns the
 * length, or WCS_E_EXHAUSTED if cap is too small. */
int sim_regs_to_barcode(const uint16_t *regs, size_t nregs, char *out, size_t cap);

/* A write request seen by the server: function code and the register range it covers. */
struct sim_mb_write {
    uint8_t function; /* 6, 16 or 23 */
    uint16_t addr;    /* first holding register written (0-based PDU address) */
    uint16_t count;   /* registers written */
};

/* Parses a Modbus PDU (function code first, no MBAP header) and reports the holding-register
 * range it writes. Returns 0 for a well-formed write (FC 6, 16, 23), -ENOENT for any other
 * function (a read, a coil write), WCS_E_SYNTAX for a truncated or inconsistent write (byte
 * count disagreeing with the register count, a count of 0 or above the Modbus limits, a range
 * past 65535). */
int sim_mb_parse_write(const uint8_t *pdu, size_t len, struct sim_mb_write *out);

/* True when [a, a+na) and [b, b+nb) share a register. */
/* Pure; no side effects. */
int sim_ranges_overlap(uint32_t a, uint32_t na, uint32_t b, uint32_t nb);

#endif
