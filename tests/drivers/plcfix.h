/* What the Modbus PLC driver suites share (test_plc_modbus.c over TCP, test_plc_rtu.c over RTU):
 * the PLC side's register layout, written out by hand (never through plc_regmap_init, so a bug
 * there cannot pass on both sides), the driver's register map of it, and waiting on the test's
 * loop for the driver's events. */
#ifndef TESTS_DRIVERS_PLCFIX_H
#define TESTS_DRIVERS_PLCFIX_H

#include "base/loop.h"
#include "drivers/plc.h"

#include <stddef.h>
#include <stdint.h>

/* Offsets from a scan point's read base (R_) and write base (W_), and the block sizes. */
enum {
    R_HB = 0,
    R_STATUS = 1,
    R_SEQ = 2,
    R_RESULT = 3,
    R_TRACK = 4,
    R_CSEQ = 6,
    R_CRES = 7,
    R_CLANE = 8,
    R_CODE = 9,
    CODE_REGS = 10,
    READ_REGS = 19,
    W_BASE = 100, /* the first scan point's write base */
    W_HB = 0,
    W_RESP = 1,
    W_LANE = 2,
    W_FLAGS = 3,
    W_ACK = 4,
    WRITE_REGS = 5,
};

/* Fills m (cleared first) with the layout above at read_base and write_base. */
void plcfix_map(struct plc_regmap *m, uint16_t read_base, uint16_t write_base);

/* Runs loop until one of the events ev[0..*n_ev) (the driver's callback appends to them) at or
 * after *from is of kind with val: the seq for SCAN, CONFIRM and STALE, the link state for
 * LINK, anything for STATUS; or until timeout_ms pass. Returns its index and moves *from past
 * it, or -1 (*from then past every event seen). */
int plcfix_wait_event(struct loop *loop, const struct conv_event *ev, const size_t *n_ev,
                      size_t *from, enum conv_evt_kind kind, uint32_t val, uint32_t timeout_ms);
/* Runs loop for ms milliseconds. */
void plcfix_run_ms(struct loop *loop, uint32_t ms);

#endif
