/* USB HID POS scale and scanner reports.
 * Scale data report as read by usbscale (usbscale.c) and the HID POS Usage Tables 1.02:
 * [0] report id 0x03 (some scales 0x04), [1] status, [2] unit, [3] exponent (int8, base 10),
 * [4..5] weight u16 little-endian. Zero command: output report `02 02`.
 * Scanner input report as documented by Access-IS (LSR116/ATR110 product manuals, "HID reports"):
 * [0] report id 0x02, [1] data length (0..56), [2..4] AIM identifier "]Xm", [5..60] data,
 * [61] vendor symbology id, [62] reserved, [63] bit 0 = more reports follow for this read. */
#include "drivers/codec/hidpos.h"

#include <assert.h>
#include <string.h>

#include "base/err.h"
#include "massconv.h"

static const struct mass_unit *unit_of(enum hidpos_unit u)
{
    switch (u) {
    case HIDPOS_UNIT_MG:
        return &MASS_MG;
    case HIDPOS_UNIT_G:
        return &MASS_G;
    case HIDPOS_UNIT_KG:
        return &MASS_KG;
    case HIDPOS_UNIT_CARAT:
        return &MASS_CT;
    case HIDPOS_UNIT_TAEL:
        return &MASS_TAEL;
    case HIDPOS_UNIT_GRAIN:
        return &MASS_GRAIN;
    case HIDPOS_UNIT_PENNYWEIGHT:
        return &MASS_DWT;
    case HIDPOS_UNIT_TONNE:
        return &MASS_TONNE;
    case HIDPOS_UNIT_TON:
        return &MASS_TON;
    case HIDPOS_UNIT_TROY_OZ:
        return &MASS_OZT;
    case HIDPOS_UNIT_OZ:
        return &MASS_OZ;
    case HIDPOS_UNIT_LB:
        return &MASS_LB;
    case HIDPOS_UNIT_UNKNOWN:
        break;
    }
    return NULL;
}

int hidpos_scale_decode(const uint8_t *rep, size_t len, struct hidpos_scale_reading *out)
{
    struct hidpos_scale_reading r;
    assert(out);
    /* Some host stacks prepend a 0x00 (the unnumbered-report placeholder). */
    if (len == HIDPOS_SCALE_REPORT_LEN + 1 && rep[0] == 0x00) {
        rep++;
        len--;
    }
    if (len != HIDPOS_SCALE_REPORT_LEN)
        return WCS_E_SYNTAX;
    if (rep[0] != 0x03 && rep[0] != 0x04)
        return WCS_E_SYNTAX;
    if (rep[1] < HIDPOS_SCALE_FAULT || rep[1] > HIDPOS_SCALE_NEEDS_REZERO)
        return WCS_E_RANGE;
    if (rep[2] > HIDPOS_UNIT_LB)
        return WCS_E_RANGE;
    memset(&r, 0, sizeof(r));
    r.status = (enum hidpos_scale_status)rep[1];
    r.unit = (enum hidpos_unit)rep[2];
    r.exponent = (int8_t)rep[3];
    r.raw = (uint16_t)(rep[4] | (rep[5] << 8));
    r.has_weight = r.status == HIDPOS_SCALE_STABLE_ZERO || r.status == HIDPOS_SCALE_IN_MOTION ||
                   r.status == HIDPOS_SCALE_STABLE;
    r.stable = r.status == HIDPOS_SCALE_STABLE_ZERO || r.status == HIDPOS_SCALE_STABLE;
    if (r.has_weight) {
        const struct mass_unit *u = unit_of(r.unit);
        int rc;
        if (!u)
            return WCS_E_RANGE;
        rc = mass_to_mg(r.raw, r.exponent, u, &r.weight_mg);
        if (rc < 0)
            return rc;
    }
    *out = r;
    return 0;
}

int hidpos_scale_zero_report(uint8_t *buf, size_t cap)
{
    if (cap < 2)
        return WCS_E_EXHAUSTED;
    buf[0] = 0x02; /* report id of the scale control report */
    buf[1] = 0x02; /* "zero scale" bit */
    return 2;
}

int hidpos_scanner_decode(const uint8_t *rep, size_t len, struct hidpos_scan_report *out)
{
    const uint8_t *p;
    assert(out);
    if (len == HIDPOS_SCANNER_REPORT_LEN) {
        if (rep[0] != HIDPOS_SCANNER_REPORT_ID)
            return WCS_E_SYNTAX;
        p = rep + 1;
    } else if (len == HIDPOS_SCANNER_REPORT_LEN - 1) {
        p = rep;
    } else {
        return WCS_E_SYNTAX;
    }
    /* p[0] length, p[1..3] AIM, p[4..59] data, p[60] vendor id, p[61] reserved, p[62] flags. */
    if (p[0] > HIDPOS_SCANNER_DATA_MAX)
        return WCS_E_SYNTAX;
    memset(out->aim, 0, sizeof(out->aim));
    if (p[1] || p[2] || p[3]) {
        if (p[1] != ']' || p[2] < 0x21 || p[2] > 0x7e || p[3] < 0x21 || p[3] > 0x7e)
            return WCS_E_SYNTAX;
        memcpy(out->aim, p + 1, 3);
    }
    out->data = p + 4;
    out->len = p[0];
    out->more = (p[62] & 0x01) != 0;
    return 0;
}

void hidpos_scan_asm_init(struct hidpos_scan_asm *a, size_t max_len)
{
    assert(a);
    a->max_len = max_len < 1 ? 1 : max_len > HIDPOS_SCAN_MAX ? HIDPOS_SCAN_MAX : max_len;
    a->len = 0;
    a->active = false;
    a->dropping = false;
    a->overflows = 0;
    memset(a->aim, 0, sizeof(a->aim));
}

int hidpos_scan_asm_feed(struct hidpos_scan_asm *a, const uint8_t *rep, size_t len,
                         struct hidpos_scan *out)
{
    struct hidpos_scan_report r;
    int rc;
    assert(a && out);
    rc = hidpos_scanner_decode(rep, len, &r);
    if (rc < 0) {
        a->active = false;
        a->dropping = false;
        a->len = 0;
        return rc;
    }
    if (a->dropping) {
        /* Skipping the rest of an overflowed read. */
        if (!r.more)
            a->dropping = false;
        return 0;
    }
    if (!a->active) {
        a->active = true;
        a->len = 0;
        memcpy(a->aim, r.aim, sizeof(a->aim));
    } else if (r.aim[0] && memcmp(r.aim, a->aim, sizeof(a->aim)) != 0) {
        a->active = false;
        a->len = 0;
        return WCS_E_SYNTAX;
    }
    if (a->len + r.len > a->max_len) {
        a->active = false;
        a->len = 0;
        a->overflows++;
        a->dropping = r.more;
        return WCS_E_FULL;
    }
    memcpy(a->buf + a->len, r.data, r.len);
    a->len += r.len;
    if (r.more)
        return 0;
    memcpy(out->aim, a->aim, sizeof(out->aim));
    memcpy(out->data, a->buf, a->len);
    out->data[a->len] = 0;
    out->len = a->len;
    a->active = false;
    a->len = 0;
    return 1;
}
