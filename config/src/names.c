/* Names of config enums as written in YAML, the default PLC register layout, and lookups over
 * a loaded site. */
#include "internal.h"

#include <string.h>

const char *cfg_loc_type_name(enum cfg_loc_type t)
{
    return (unsigned)t < CFG_LOC_TYPE_COUNT ? loc_type_names[t] : "?";
}

const char *cfg_dev_kind_name(enum cfg_dev_kind k)
{
    static const char *const n[] = {"plc", "scanner", "scale", "printer"};
    return (unsigned)k < 4 ? n[k] : "?";
}

const char *cfg_station_kind_name(enum cfg_station_kind k)
{
    static const char *const n[] = {"pack", "receive", "return"};
    return (unsigned)k < 3 ? n[k] : "?";
}

const char *cfg_dest_name(enum cfg_dest d)
{
    static const char *const n[] = {"station", "carrier", "qa", "reject", "recirc"};
    return (unsigned)d < 5 ? n[d] : "?";
}

static const struct {
    const char *name;
    uint16_t offset;
} regs[CFG_REG_COUNT] = {
    /* Read block, from read_base (DESIGN.md §4.5, docs/config.md). */
    [CFG_REG_PLC_HEARTBEAT] = {"plc_heartbeat", 0},
    [CFG_REG_PLC_STATUS] = {"plc_status", 1},
    [CFG_REG_SCAN_SEQ] = {"scan_seq", 2},
    [CFG_REG_READ_RESULT] = {"read_result", 3},
    [CFG_REG_TRACK_ID] = {"track_id", 4},
    [CFG_REG_CONFIRM_SEQ] = {"confirm_seq", 6},
    [CFG_REG_CONFIRM_RESULT] = {"confirm_result", 7},
    [CFG_REG_CONFIRM_LANE] = {"confirm_lane", 8},
    [CFG_REG_BARCODE] = {"barcode", 9},
    /* Write block, from write_base. */
    [CFG_REG_WCS_HEARTBEAT] = {"wcs_heartbeat", 0},
    [CFG_REG_RESP_SEQ] = {"resp_seq", 1},
    [CFG_REG_DEST_LANE] = {"dest_lane", 2},
    [CFG_REG_CMD_FLAGS] = {"cmd_flags", 3},
    [CFG_REG_CONFIRM_ACK_SEQ] = {"confirm_ack_seq", 4},
};

const char *cfg_reg_name(enum cfg_reg r)
{
    return (unsigned)r < CFG_REG_COUNT ? regs[r].name : "?";
}

uint16_t cfg_reg_default_offset(enum cfg_reg r)
{
    return (unsigned)r < CFG_REG_COUNT ? regs[r].offset : 0;
}

uint16_t cfg_reg_width(enum cfg_reg r, uint16_t barcode_regs)
{
    if (r == CFG_REG_TRACK_ID)
        return 2;
    if (r == CFG_REG_BARCODE)
        return barcode_regs;
    return 1;
}

int32_t cfg_find_location(const struct cfg_site *site, const char *path)
{
    for (uint32_t i = 0; i < site->n_locations; i++)
        if (strcmp(site->locations[i].path, path) == 0)
            return (int32_t)i;
    return -1;
}

int32_t cfg_find_device(const struct cfg_site *site, const char *id)
{
    for (uint32_t i = 0; i < site->n_devices; i++)
        if (strcmp(site->devices[i].id, id) == 0)
            return (int32_t)i;
    return -1;
}
