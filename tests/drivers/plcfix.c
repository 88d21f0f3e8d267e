/* The Modbus PLC driver suites' shared layout and event waits (plcfix.h). */
#include "plcfix.h"

#include "base/clock.h"

#include <string.h>

void plcfix_map(struct plc_regmap *m, uint16_t read_base, uint16_t write_base)
{
    memset(m, 0, sizeof(*m));
    m->read_base = read_base;
    m->read_regs = READ_REGS;
    m->write_base = write_base;
    m->write_regs = WRITE_REGS;
    m->barcode_regs = CODE_REGS;
    m->plc_heartbeat = R_HB;
    m->plc_status = R_STATUS;
    m->scan_seq = R_SEQ;
    m->read_result = R_RESULT;
    m->track_id = R_TRACK;
    m->confirm_seq = R_CSEQ;
    m->confirm_result = R_CRES;
    m->confirm_lane = R_CLANE;
    m->barcode = R_CODE;
    m->wcs_heartbeat = W_HB;
    m->resp_seq = W_RESP;
    m->dest_lane = W_LANE;
    m->cmd_flags = W_FLAGS;
    m->confirm_ack_seq = W_ACK;
}

int plcfix_wait_event(struct loop *loop, const struct conv_event *ev, const size_t *n_ev,
                      size_t *from, enum conv_evt_kind kind, uint32_t val, uint32_t timeout_ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)timeout_ms * 1000;
    do {
        for (; *from < *n_ev; (*from)++) {
            const struct conv_event *e = &ev[*from];
            if (e->kind != kind)
                continue;
            if (kind == CONV_EVT_LINK ? e->link == (enum conv_link)val
                                      : (kind == CONV_EVT_STATUS || e->seq == val))
                return (int)(*from)++;
        }
        loop_run_once(loop, 5);
    } while (clock_real_mono_us() < end);
    return -1;
}

void plcfix_run_ms(struct loop *loop, uint32_t ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)ms * 1000;
    while (clock_real_mono_us() < end)
        loop_run_once(loop, 5);
}
