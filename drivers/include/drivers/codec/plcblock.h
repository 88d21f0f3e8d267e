/* Modbus register blocks of the conveyor PLC handshake (DESIGN.md §4.5, docs/plc.md).
 * Pure codec: a register map (filled by the config loader), decoding of the PLC -> wcs read
 * block, encoding of the wcs -> PLC write block, u16 sequence and heartbeat helpers, and the
 * planner that turns the maps of one PLC's scan points into Modbus read/write requests.
 * Addresses are 0-based PDU addresses (what libmodbus takes); offsets are relative to a block. */
#ifndef DRIVERS_CODEC_PLCBLOCK_H
#define DRIVERS_CODEC_PLCBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    PLC_READ_MAX_REGS = 125,   /* Modbus FC03 limit per request */
    PLC_WRITE_MAX_REGS = 123,  /* Modbus FC16 limit per request */
    PLC_BARCODE_MAX_REGS = 50, /* 100 characters */
    PLC_BARCODE_DEFAULT_REGS = 20,
    PLC_PLAN_MAX_POINTS = 64, /* scan points one planner call can take */
};

/* plc_status bits (a set bit means the condition is present). */
enum plc_status_bit {
    PLC_ST_AUTO = 1u << 0,  /* conveyor in automatic mode */
    PLC_ST_ESTOP = 1u << 1, /* emergency stop active */
    PLC_ST_JAM = 1u << 2,   /* a jam is detected */
    PLC_ST_DOWNSTREAM_FULL = 1u << 3,
    PLC_ST_SCANNER_FAULT = 1u << 4,
    PLC_ST_ACTUATOR_FAULT = 1u << 5,
    PLC_ST_WCS_COMMS_LOST = 1u << 6, /* the PLC saw wcs_heartbeat stall */
    PLC_ST_KNOWN_MASK = 0x7f,
};

/* read_result. NONE (0) is valid only while scan_seq is 0 (no item seen since PLC start). */
enum plc_read_result {
    PLC_READ_NONE = 0,
    PLC_READ_GOOD = 1,
    PLC_READ_NOREAD = 2,
    PLC_READ_MULTI = 3,
};

/* confirm_result. NONE (0) is valid only while confirm_seq is 0. */
enum plc_confirm_result {
    PLC_CONFIRM_NONE = 0,
    PLC_CONFIRM_DIVERTED = 1,
    PLC_CONFIRM_PASSED = 2,
    PLC_CONFIRM_LATE_DEFAULT = 3, /* decision came late: item sent to the default lane */
    PLC_CONFIRM_LANE_FULL = 4,
    PLC_CONFIRM_ACTUATOR_FAULT = 5,
    PLC_CONFIRM_LOST = 6,
};

/* cmd_flags bits written by wcs. Bits not listed are reserved and must be 0. */
enum plc_cmd_bit {
    PLC_CMD_REJECT = 1u << 0,      /* send the item to the reject lane, ignore dest_lane */
    PLC_CMD_RECIRCULATE = 1u << 1, /* let the item pass to recirculate, ignore dest_lane */
    PLC_CMD_KNOWN_MASK = 0x3,
};

/* Where each field lives. Offsets are registers from read_base / write_base. track_id takes
 * 2 registers, barcode takes barcode_regs registers; the rest take 1. */
struct plc_regmap {
    uint16_t read_base;
    uint16_t read_regs; /* span of the read block, 1..125 */
    uint16_t write_base;
    uint16_t write_regs; /* span of the write block, 1..123 */
    uint16_t barcode_regs;
    /* read block offsets */
    uint16_t plc_heartbeat;
    uint16_t plc_status;
    uint16_t scan_seq;
    uint16_t read_result;
    uint16_t track_id; /* u32, high word first */
    uint16_t confirm_seq;
    uint16_t confirm_result;
    uint16_t confirm_lane;
    uint16_t barcode;
    /* write block offsets */
    uint16_t wcs_heartbeat;
    uint16_t resp_seq;
    uint16_t dest_lane;
    uint16_t cmd_flags;
    uint16_t confirm_ack_seq;
};

/* The decoded read block. barcode is NUL-terminated with padding trimmed. */
struct plc_read_block {
    uint16_t plc_heartbeat;
    uint16_t status; /* PLC_ST_* bits */
    uint16_t scan_seq;
    enum plc_read_result read_result;
    uint32_t track_id;
    uint16_t confirm_seq;
    enum plc_confirm_result confirm_result;
    uint16_t confirm_lane;
    size_t barcode_len;
    char barcode[2 * PLC_BARCODE_MAX_REGS + 1];
};

/* What wcs writes. */
struct plc_write_block {
    uint16_t wcs_heartbeat;
    uint16_t resp_seq; /* the scan_seq being answered (0: none yet) */
    uint16_t dest_lane;
    uint16_t cmd_flags; /* PLC_CMD_* bits */
    uint16_t confirm_ack_seq;
};

/* One Modbus request: `count` registers starting at PDU address `addr`. */
struct plc_request {
    uint16_t addr;
    uint16_t count;
};

/* Fills *map with the default layout (docs/plc.md) at the given bases and barcode length
 * (1..50 registers; out of range is clamped by plc_regmap_validate failing, not here). */
void plc_regmap_init(struct plc_regmap *map, uint16_t read_base, uint16_t write_base,
                     uint16_t barcode_regs);

/* Checks spans (read 1..125, write 1..123, no wrap past address 65535), barcode_regs 1..50,
 * every field inside its block and no two fields overlapping. Returns 0 or WCS_E_CONFIG and,
 * when why is not NULL, a static string naming the first problem. */
int plc_regmap_validate(const struct plc_regmap *map, const char **why);

/* Decodes a read block of n registers (n must equal map->read_regs). Returns 0, WCS_E_SYNTAX
 * (wrong length, barcode not printable ASCII or with data after its padding), or WCS_E_RANGE
 * (unknown status bit, read_result or confirm_result value, or a NONE result with a nonzero
 * sequence). *out is written only on success. An invalid map is a programming error (assert). */
int plc_read_decode(const uint16_t *regs, size_t n, const struct plc_regmap *map,
                    struct plc_read_block *out);

/* Encodes the write block into regs[0..map->write_regs); registers not mapped to a field are
 * zero. Returns the number of registers (write_regs), WCS_E_EXHAUSTED if cap is too small, or
 * WCS_E_RANGE for a reserved cmd_flags bit (nothing written then). */
int plc_write_encode(const struct plc_write_block *w, const struct plc_regmap *map, uint16_t *regs,
                     size_t cap);

/* Decodes a write block as encoded above (for the round trip and for tests reading back what
 * the PLC holds). Returns 0, WCS_E_SYNTAX (n != write_regs) or WCS_E_RANGE (reserved bit). */
int plc_write_decode(const uint16_t *regs, size_t n, const struct plc_regmap *map,
                     struct plc_write_block *out);

/* Sequence numbers run 1..65535 and wrap to 1; 0 means "none yet". Returns the successor. */
uint16_t plc_seq_next(uint16_t seq);

/* True when `seq` is newer than `last`: last == 0 and seq != 0, or seq is 1..32767 steps ahead
 * of last in the 1..65535 cycle. seq == 0 is never newer. */
bool plc_seq_is_newer(uint16_t seq, uint16_t last);

/* Heartbeat watch: remembers the last value and when it changed. */
struct plc_heartbeat {
    uint16_t value;
    bool seen;
    uint64_t changed_us;
};

/* Starts watching at now_us (as if the heartbeat had just changed). */
void plc_heartbeat_init(struct plc_heartbeat *hb, uint64_t now_us);
/* Records a sample. Returns true if the value differs from the previous sample. */
bool plc_heartbeat_sample(struct plc_heartbeat *hb, uint16_t value, uint64_t now_us);
/* True once the value has not changed for 3 periods: now_us - changed_us >= 3 * period_ms.
 * Exactly 3 periods counts as stalled. A period of 0 is a programming error. */
bool plc_heartbeat_stalled(const struct plc_heartbeat *hb, uint64_t now_us, uint32_t period_ms);

/* Plans the read requests for n scan points of one PLC. Each read block is one request, so a
 * block is always read atomically. With merge_adjacent, blocks that touch exactly (the next
 * starts where the previous ends) are merged while the request stays within 125 registers;
 * blocks with a gap or overlap are never merged (a gap would read registers nobody mapped).
 * req_of_point (optional, n entries) gets the index of the request that covers each point.
 * Returns the number of requests, WCS_E_EXHAUSTED if cap is too small, or WCS_E_CONFIG if
 * n > PLC_PLAN_MAX_POINTS. Requests come out in ascending address order. */
int plc_plan_reads(const struct plc_regmap *maps, size_t n, bool merge_adjacent,
                   struct plc_request *out, size_t cap, size_t *req_of_point);

/* Plans the write requests: always one per scan point, never merged (each scan point's
 * decision is written when it is ready, and a merged write would rewrite the other point's
 * block with stale values). Returns n, WCS_E_EXHAUSTED, or WCS_E_CONFIG when two write blocks
 * overlap. out[i] belongs to maps[i]. */
int plc_plan_writes(const struct plc_regmap *maps, size_t n, struct plc_request *out, size_t cap);

#endif
