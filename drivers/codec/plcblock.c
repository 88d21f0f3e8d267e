/* Modbus register blocks of the conveyor handshake: register map, read-block decoding,
 * write-block encoding, sequence/heartbeat helpers and request planning. Pure: no I/O, no
 * clock (callers pass times), no allocation. The wire meaning is documented in docs/plc.md. */
#include "drivers/codec/plcblock.h"

#include <assert.h>
#include <string.h>

#include "base/err.h"

void plc_regmap_init(struct plc_regmap *map, uint16_t read_base, uint16_t write_base,
                     uint16_t barcode_regs)
{
    assert(map);
    memset(map, 0, sizeof(*map));
    map->read_base = read_base;
    map->write_base = write_base;
    map->barcode_regs = barcode_regs;
    map->plc_heartbeat = 0;
    map->plc_status = 1;
    map->scan_seq = 2;
    map->read_result = 3;
    map->track_id = 4;
    map->confirm_seq = 6;
    map->confirm_result = 7;
    map->confirm_lane = 8;
    map->barcode = 9;
    map->read_regs = (uint16_t)(9 + barcode_regs);
    map->wcs_heartbeat = 0;
    map->resp_seq = 1;
    map->dest_lane = 2;
    map->cmd_flags = 3;
    map->confirm_ack_seq = 4;
    map->write_regs = 5;
}

struct span {
    uint32_t off;
    uint32_t len;
};

/* Checks that every span lies in [0, total) (-1 otherwise), then that no two overlap (-2). */
static int check_spans(const struct span *s, size_t n, uint32_t total)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].off + s[i].len > total)
            return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (s[i].off < s[j].off + s[j].len && s[j].off < s[i].off + s[i].len)
                return -2;
    return 0;
}

int plc_regmap_validate(const struct plc_regmap *map, const char **why)
{
    const char *msg = NULL;
    assert(map);
    if (map->barcode_regs < 1 || map->barcode_regs > PLC_BARCODE_MAX_REGS)
        msg = "barcode_regs must be 1..50";
    else if (map->read_regs < 1 || map->read_regs > PLC_READ_MAX_REGS)
        msg = "read block span must be 1..125 registers";
    else if (map->write_regs < 1 || map->write_regs > PLC_WRITE_MAX_REGS)
        msg = "write block span must be 1..123 registers";
    else if ((uint32_t)map->read_base + map->read_regs > 65536u)
        msg = "read block runs past address 65535";
    else if ((uint32_t)map->write_base + map->write_regs > 65536u)
        msg = "write block runs past address 65535";
    if (!msg) {
        const struct span rd[] = {
            {map->plc_heartbeat, 1},  {map->plc_status, 1},   {map->scan_seq, 1},
            {map->read_result, 1},    {map->track_id, 2},     {map->confirm_seq, 1},
            {map->confirm_result, 1}, {map->confirm_lane, 1}, {map->barcode, map->barcode_regs},
        };
        const struct span wr[] = {
            {map->wcs_heartbeat, 1}, {map->resp_seq, 1},        {map->dest_lane, 1},
            {map->cmd_flags, 1},     {map->confirm_ack_seq, 1},
        };
        int rc = check_spans(rd, sizeof(rd) / sizeof(rd[0]), map->read_regs);
        if (rc == -1)
            msg = "a read field lies outside the read block";
        else if (rc == -2)
            msg = "two read fields overlap";
        rc = check_spans(wr, sizeof(wr) / sizeof(wr[0]), map->write_regs);
        if (!msg && rc == -1)
            msg = "a write field lies outside the write block";
        else if (!msg && rc == -2)
            msg = "two write fields overlap";
    }
    if (why)
        *why = msg;
    return msg ? WCS_E_CONFIG : 0;
}

/* Barcode registers carry two ASCII characters each, high byte first, padded at the end with
 * NUL or space. GS (0x1D) is allowed: it is the FNC1 separator of GS1 scan data. */
static int decode_barcode(const uint16_t *regs, size_t nregs, char *out, size_t *out_len)
{
    size_t n = 0, end = 0;
    bool in_nul = false;
    for (size_t i = 0; i < nregs; i++) {
        const unsigned char c[2] = {(unsigned char)(regs[i] >> 8), (unsigned char)(regs[i] & 0xff)};
        for (int k = 0; k < 2; k++) {
            if (c[k] == 0) {
                in_nul = true;
                continue;
            }
            /* Data after a NUL means the PLC wrote garbage, not padding. */
            if (in_nul)
                return WCS_E_SYNTAX;
            if (!(c[k] >= 0x20 && c[k] <= 0x7e) && c[k] != 0x1d)
                return WCS_E_SYNTAX;
            out[n++] = (char)c[k];
            if (c[k] != ' ')
                end = n;
        }
    }
    out[end] = '\0';
    *out_len = end;
    return 0;
}

int plc_read_decode(const uint16_t *regs, size_t n, const struct plc_regmap *map,
                    struct plc_read_block *out)
{
    struct plc_read_block b;
    int rc;
    assert(regs || n == 0);
    assert(map && out);
    assert(plc_regmap_validate(map, NULL) == 0);
    if (n != map->read_regs)
        return WCS_E_SYNTAX;
    memset(&b, 0, sizeof(b));
    b.plc_heartbeat = regs[map->plc_heartbeat];
    b.status = regs[map->plc_status];
    b.scan_seq = regs[map->scan_seq];
    b.track_id = ((uint32_t)regs[map->track_id] << 16) | regs[map->track_id + 1];
    b.confirm_seq = regs[map->confirm_seq];
    b.confirm_lane = regs[map->confirm_lane];
    if (b.status & ~(unsigned)PLC_ST_KNOWN_MASK)
        return WCS_E_RANGE;
    if (regs[map->read_result] > PLC_READ_MULTI)
        return WCS_E_RANGE;
    b.read_result = (enum plc_read_result)regs[map->read_result];
    if (regs[map->confirm_result] > PLC_CONFIRM_LOST)
        return WCS_E_RANGE;
    b.confirm_result = (enum plc_confirm_result)regs[map->confirm_result];
    /* A result of 0 says "nothing yet": only consistent with a sequence still at 0. */
    if ((b.read_result == PLC_READ_NONE) != (b.scan_seq == 0))
        return WCS_E_RANGE;
    if ((b.confirm_result == PLC_CONFIRM_NONE) != (b.confirm_seq == 0))
        return WCS_E_RANGE;
    rc = decode_barcode(regs + map->barcode, map->barcode_regs, b.barcode, &b.barcode_len);
    if (rc < 0)
        return rc;
    *out = b;
    return 0;
}

int plc_write_encode(const struct plc_write_block *w, const struct plc_regmap *map, uint16_t *regs,
                     size_t cap)
{
    assert(w && map);
    assert(plc_regmap_validate(map, NULL) == 0);
    if (cap < map->write_regs)
        return WCS_E_EXHAUSTED;
    if (w->cmd_flags & ~(unsigned)PLC_CMD_KNOWN_MASK)
        return WCS_E_RANGE;
    memset(regs, 0, map->write_regs * sizeof(regs[0]));
    regs[map->wcs_heartbeat] = w->wcs_heartbeat;
    regs[map->resp_seq] = w->resp_seq;
    regs[map->dest_lane] = w->dest_lane;
    regs[map->cmd_flags] = w->cmd_flags;
    regs[map->confirm_ack_seq] = w->confirm_ack_seq;
    return map->write_regs;
}

int plc_write_decode(const uint16_t *regs, size_t n, const struct plc_regmap *map,
                     struct plc_write_block *out)
{
    assert(map && out);
    assert(plc_regmap_validate(map, NULL) == 0);
    if (n != map->write_regs)
        return WCS_E_SYNTAX;
    if (regs[map->cmd_flags] & ~(unsigned)PLC_CMD_KNOWN_MASK)
        return WCS_E_RANGE;
    out->wcs_heartbeat = regs[map->wcs_heartbeat];
    out->resp_seq = regs[map->resp_seq];
    out->dest_lane = regs[map->dest_lane];
    out->cmd_flags = regs[map->cmd_flags];
    out->confirm_ack_seq = regs[map->confirm_ack_seq];
    return 0;
}

uint16_t plc_seq_next(uint16_t seq)
{
    return seq == 65535 ? 1 : (uint16_t)(seq + 1);
}

bool plc_seq_is_newer(uint16_t seq, uint16_t last)
{
    uint32_t d;
    if (seq == 0)
        return false;
    if (last == 0)
        return true;
    /* Distance forward in the 65535-long cycle 1..65535; newer if less than half a cycle. */
    d = ((uint32_t)seq + 65535u - last) % 65535u;
    return d >= 1 && d <= 32767;
}

void plc_heartbeat_init(struct plc_heartbeat *hb, uint64_t now_us)
{
    assert(hb);
    hb->value = 0;
    hb->seen = false;
    hb->changed_us = now_us;
}

bool plc_heartbeat_sample(struct plc_heartbeat *hb, uint16_t value, uint64_t now_us)
{
    assert(hb);
    if (hb->seen && hb->value == value)
        return false;
    /* The first sample only establishes the value; it does not prove the peer is alive. */
    if (hb->seen)
        hb->changed_us = now_us;
    hb->value = value;
    bool changed = hb->seen;
    hb->seen = true;
    return changed;
}

bool plc_heartbeat_stalled(const struct plc_heartbeat *hb, uint64_t now_us, uint32_t period_ms)
{
    assert(hb);
    assert(period_ms > 0);
    if (now_us <= hb->changed_us)
        return false;
    return now_us - hb->changed_us >= 3ull * period_ms * 1000ull;
}

int plc_plan_reads(const struct plc_regmap *maps, size_t n, bool merge_adjacent,
                   struct plc_request *out, size_t cap, size_t *req_of_point)
{
    size_t order[PLC_PLAN_MAX_POINTS];
    size_t nreq = 0;
    assert(maps || n == 0);
    if (n > PLC_PLAN_MAX_POINTS)
        return WCS_E_CONFIG;
    /* Insertion sort of point indices by read_base (stable, n is small). */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && maps[order[j - 1]].read_base > maps[i].read_base) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t k = 0; k < n; k++) {
        const struct plc_regmap *m = &maps[order[k]];
        if (merge_adjacent && nreq > 0) {
            struct plc_request *last = &out[nreq - 1];
            uint32_t end = (uint32_t)last->addr + last->count;
            if (end == m->read_base && last->count + (uint32_t)m->read_regs <= PLC_READ_MAX_REGS) {
                last->count = (uint16_t)(last->count + m->read_regs);
                if (req_of_point)
                    req_of_point[order[k]] = nreq - 1;
                continue;
            }
        }
        if (nreq >= cap)
            return WCS_E_EXHAUSTED;
        out[nreq].addr = m->read_base;
        out[nreq].count = m->read_regs;
        if (req_of_point)
            req_of_point[order[k]] = nreq;
        nreq++;
    }
    return (int)nreq;
}

int plc_plan_writes(const struct plc_regmap *maps, size_t n, struct plc_request *out, size_t cap)
{
    assert(maps || n == 0);
    if (n > PLC_PLAN_MAX_POINTS)
        return WCS_E_CONFIG;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            uint32_t ai = maps[i].write_base, ae = ai + maps[i].write_regs;
            uint32_t bi = maps[j].write_base, be = bi + maps[j].write_regs;
            if (ai < be && bi < ae)
                return WCS_E_CONFIG;
        }
    if (cap < n)
        return WCS_E_EXHAUSTED;
    for (size_t i = 0; i < n; i++) {
        out[i].addr = maps[i].write_base;
        out[i].count = maps[i].write_regs;
    }
    return (int)n;
}
