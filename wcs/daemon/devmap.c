/* Config -> driver: turns a PLC device of the site config and its scan points into the
 * conv_plc driver config (transport address, timings, one register map per scan point), with
 * a signature string of all of it so that a reload can tell an unchanged PLC from a changed one. */
#include "internal.h"

#include "base/err.h"

#include <stdio.h>
#include <string.h>

static int addr_of(const struct cfg_device *dev, struct tr_addr *a, enum conv_proto *proto,
                   const char **why)
{
    switch (dev->model) {
    case CFG_MODEL_MODBUS_TCP:
    case CFG_MODEL_OSIP:
        if (dev->uri.scheme != CFG_URI_TCP)
            break;
        *proto = dev->model == CFG_MODEL_OSIP ? CONV_OSIP : CONV_MODBUS_TCP;
        return tr_addr_tcp(a, dev->uri.host, dev->uri.port) == 0 ? 0 : WCS_E_CONFIG;
    case CFG_MODEL_MODBUS_RTU:
        if (dev->uri.scheme != CFG_URI_RTU)
            break;
        *proto = CONV_MODBUS_RTU;
        return tr_addr_serial(a, dev->uri.device, dev->uri.baud, dev->uri.parity,
                              dev->uri.data_bits, dev->uri.stop_bits) == 0
                   ? 0
                   : WCS_E_CONFIG;
    default:
        break;
    }
    *why = "PLC model and URI do not fit";
    return WCS_E_CONFIG;
}

/* Register map of one scan point: the loader gives absolute PDU addresses; the driver wants
 * offsets from each block's start. */
static void map_of(const struct cfg_scan_point *sp, struct plc_regmap *m)
{
    memset(m, 0, sizeof(*m));
    m->read_base = sp->read_start;
    m->read_regs = sp->read_count;
    m->write_base = sp->write_start;
    m->write_regs = sp->write_count;
    m->barcode_regs = sp->barcode_regs;
    m->plc_heartbeat = (uint16_t)(sp->reg[CFG_REG_PLC_HEARTBEAT] - sp->read_start);
    m->plc_status = (uint16_t)(sp->reg[CFG_REG_PLC_STATUS] - sp->read_start);
    m->scan_seq = (uint16_t)(sp->reg[CFG_REG_SCAN_SEQ] - sp->read_start);
    m->read_result = (uint16_t)(sp->reg[CFG_REG_READ_RESULT] - sp->read_start);
    m->track_id = (uint16_t)(sp->reg[CFG_REG_TRACK_ID] - sp->read_start);
    m->confirm_seq = (uint16_t)(sp->reg[CFG_REG_CONFIRM_SEQ] - sp->read_start);
    m->confirm_result = (uint16_t)(sp->reg[CFG_REG_CONFIRM_RESULT] - sp->read_start);
    m->confirm_lane = (uint16_t)(sp->reg[CFG_REG_CONFIRM_LANE] - sp->read_start);
    m->barcode = (uint16_t)(sp->reg[CFG_REG_BARCODE] - sp->read_start);
    m->wcs_heartbeat = (uint16_t)(sp->reg[CFG_REG_WCS_HEARTBEAT] - sp->write_start);
    m->resp_seq = (uint16_t)(sp->reg[CFG_REG_RESP_SEQ] - sp->write_start);
    m->dest_lane = (uint16_t)(sp->reg[CFG_REG_DEST_LANE] - sp->write_start);
    m->cmd_flags = (uint16_t)(sp->reg[CFG_REG_CMD_FLAGS] - sp->write_start);
    m->confirm_ack_seq = (uint16_t)(sp->reg[CFG_REG_CONFIRM_ACK_SEQ] - sp->write_start);
}

static void sig_add(char *sig, size_t cap, size_t *used, const char *fmt_s, long long a,
                    long long b)
{
    int k;
    if (*used >= cap)
        return;
    k = snprintf(sig + *used, cap - *used, "%s=%lld,%lld;", fmt_s, a, b);
    if (k > 0)
        *used += (size_t)k;
}

int devmap_plc(const struct cfg_site *site, uint32_t dev, struct conv_plc_cfg *out,
               uint32_t *point_index, char *sig, size_t sig_cap, const char **why)
{
    const struct cfg_device *d = &site->devices[dev];
    struct tr_addr a;
    enum conv_proto proto = CONV_MODBUS_TCP;
    size_t used = 0;
    int k;

    *why = NULL;
    if (d->kind != CFG_DEV_PLC) {
        *why = "not a PLC";
        return WCS_E_CONFIG;
    }
    if (addr_of(d, &a, &proto, why) != 0) {
        if (!*why)
            *why = "bad PLC address";
        return WCS_E_CONFIG;
    }
    conv_plc_cfg_init(out, proto, &a);
    out->id = d->id;
    out->unit_id = d->unit_id;
    if (d->poll_ms)
        out->poll_ms = d->poll_ms;
    if (d->heartbeat_ms)
        out->heartbeat_ms = d->heartbeat_ms;
    if (d->timeout_ms)
        out->timeout_ms = d->timeout_ms;
    out->queue_cap = 4096;
    k = snprintf(sig, sig_cap, "%s|%s|%u|%u|%u|%u|", d->id, d->uri_text, d->unit_id, out->poll_ms,
                 out->heartbeat_ms, out->timeout_ms);
    used = k > 0 ? (size_t)k : 0;
    for (uint32_t i = 0; i < site->n_scan_points; i++) {
        const struct cfg_scan_point *sp = &site->scan_points[i];
        if (sp->plc != dev)
            continue;
        if (out->n_points >= CONV_MAX_POINTS || (proto == CONV_OSIP && out->n_points >= 1)) {
            *why = "too many scan points on one PLC";
            return WCS_E_CONFIG;
        }
        map_of(sp, &out->points[out->n_points]);
        point_index[out->n_points] = i;
        k = snprintf(sig + used, used < sig_cap ? sig_cap - used : 0, "[%s]", sp->id);
        used += k > 0 ? (size_t)k : 0;
        for (int r = 0; r < CFG_REG_COUNT; r++)
            sig_add(sig, sig_cap, &used, "r", r, sp->reg[r]);
        sig_add(sig, sig_cap, &used, "b", sp->barcode_regs, sp->read_count);
        out->n_points++;
    }
    if (out->n_points == 0) {
        *why = "no scan point uses this PLC";
        return 1; /* not an error: a PLC without points is not started */
    }
    if (used >= sig_cap) {
        *why = "PLC config too large";
        return WCS_E_CONFIG;
    }
    return 0;
}
