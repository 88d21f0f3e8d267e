/* NCI / Weigh-Tronix SCP-01 replies, as described in the NCI 7800 and Avery Weigh-Tronix 7821
 * user manuals ("NCI Communications Protocol") and the status-bit table of the Ohaus Aviator
 * 7000 service manual (NCI-SCP01):
 *   W<CR> -> <LF>xxxx.xxuu<CR><LF>hh..<CR><ETX>   S<CR>, Z<CR> -> <LF>hh..<CR><ETX>
 *   unknown command -> <LF>?<CR><ETX>
 * Each status byte has bits 4 and 5 set (so "00" is no flags), bit 6 = another status byte
 * follows (bytes 2 and 3; always 0 in byte 1), bit 7 = parity (ignored here). */
#include "drivers/codec/nci.h"

#include <assert.h>
#include <string.h>

#include "base/err.h"
#include "massconv.h"

int nci_build(enum nci_cmd cmd, char *buf, size_t cap)
{
    static const char letters[] = {
        [NCI_CMD_WEIGHT] = 'W', [NCI_CMD_STATUS] = 'S', [NCI_CMD_ZERO] = 'Z'};
    assert((unsigned)cmd < sizeof(letters));
    if (cap < 2)
        return WCS_E_EXHAUSTED;
    buf[0] = letters[cmd];
    buf[1] = '\r';
    return 2;
}

static int parse_status(const uint8_t *p, size_t n, struct nci_reply *r)
{
    static const uint32_t map[4][4] = {
        {NCI_ST_MOTION, NCI_ST_AT_ZERO, NCI_ST_RAM_ERROR, NCI_ST_EEPROM_ERROR},
        {NCI_ST_UNDER_CAPACITY, NCI_ST_OVER_CAPACITY, NCI_ST_ROM_ERROR, NCI_ST_BAD_CALIBRATION},
        {0, 0, NCI_ST_NET, NCI_ST_INITIAL_ZERO_ERROR},
        {NCI_ST_WEIGHT_CHANGED, NCI_ST_ZERO_SEEN, NCI_ST_METRIC, 0},
    };
    uint32_t st = 0;
    if (n < 2 || n > 4)
        return WCS_E_SYNTAX;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i] & 0x7f;
        bool follows = (c & 0x40) != 0;
        if ((c & 0x30) != 0x30)
            return WCS_E_SYNTAX;
        /* Byte 1 never carries the follow bit; bytes 2-4 carry it exactly when not last. */
        if (i == 0 ? follows : follows != (i + 1 < n))
            return WCS_E_SYNTAX;
        if (i == 2 && (c & 0x03) == 0x03)
            st |= NCI_ST_HIGH_RANGE;
        else if (i == 2 && (c & 0x03) != 0)
            return WCS_E_SYNTAX; /* range codes 01 and 10 are undefined */
        for (int b = 0; b < 4; b++)
            if (c & (1u << b))
                st |= map[i][b];
    }
    r->status = st;
    r->status_bytes = (int)n;
    return 0;
}

static int parse_weight(const uint8_t *p, size_t n, struct nci_reply *r)
{
    static const struct mass_unit *const units[] = {&MASS_LB, &MASS_KG, &MASS_OZ, &MASS_G};
    const struct mass_unit *u = NULL;
    size_t end = n, ustart, start = 0;
    bool dashes = true;
    int64_t m;
    int e, rc;
    while (end > 0 && p[end - 1] == ' ')
        end--;
    ustart = end;
    while (ustart > 0 && p[ustart - 1] >= 'a' && p[ustart - 1] <= 'z')
        ustart--;
    if (ustart == end || end - ustart > 3)
        return WCS_E_SYNTAX;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i]->name) == end - ustart &&
            memcmp(units[i]->name, p + ustart, end - ustart) == 0)
            u = units[i];
    if (!u)
        return WCS_E_RANGE;
    memcpy(r->unit, p + ustart, end - ustart);
    r->unit[end - ustart] = '\0';
    while (start < ustart && p[start] == ' ')
        start++;
    end = ustart;
    while (end > start && p[end - 1] == ' ')
        end--;
    if (start == end)
        return WCS_E_SYNTAX;
    for (size_t i = start; i < end; i++)
        if (p[i] != '^' && p[i] != '_' && p[i] != '-')
            dashes = false;
    if (dashes) {
        r->has_weight = false;
        return 0;
    }
    rc = mass_parse_decimal((const char *)p + start, end - start, &m, &e);
    if (rc < 0)
        return rc;
    rc = mass_to_mg(m, e, u, &r->weight_mg);
    if (rc < 0)
        return rc;
    r->has_weight = true;
    return 0;
}

int nci_parse(const uint8_t *frame, size_t len, struct nci_reply *out)
{
    struct nci_reply r;
    const uint8_t *body, *crlf = NULL;
    size_t n;
    int rc;
    assert(out);
    if (len < 4 || frame[0] != '\n' || frame[len - 2] != '\r' || frame[len - 1] != 0x03)
        return WCS_E_SYNTAX;
    body = frame + 1;
    n = len - 3;
    memset(&r, 0, sizeof(r));
    /* At most one CR LF inside (between the weight line and the status bytes). */
    for (size_t i = 0; i < n; i++) {
        if (!crlf && body[i] == '\r' && i + 1 < n && body[i + 1] == '\n') {
            crlf = body + i;
            i++;
            continue;
        }
        /* Control characters are framing only; status bytes may carry a parity bit. */
        if ((body[i] & 0x7f) < 0x20)
            return WCS_E_SYNTAX;
    }
    if (!crlf && n == 1 && body[0] == '?') {
        r.kind = NCI_REPLY_UNRECOGNISED;
        *out = r;
        return 0;
    }
    if (crlf) {
        size_t wlen = (size_t)(crlf - body);
        r.kind = NCI_REPLY_WEIGHT;
        rc = parse_weight(body, wlen, &r);
        if (rc < 0)
            return rc;
        rc = parse_status(crlf + 2, n - wlen - 2, &r);
    } else {
        r.kind = NCI_REPLY_STATUS;
        rc = parse_status(body, n, &r);
    }
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

void nci_framer_init(struct nci_framer *f)
{
    assert(f);
    f->len = 0;
    f->overflow = false;
    f->dropped_frames = 0;
}

int nci_framer_feed(struct nci_framer *f, const uint8_t *data, size_t len, size_t *consumed,
                    uint8_t *frame, size_t *frame_len)
{
    assert(f && consumed && frame && frame_len);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (f->overflow) {
            if (c == 0x03) {
                f->overflow = false;
                f->len = 0;
            }
            continue;
        }
        if (f->len >= NCI_FRAME_MAX) {
            f->overflow = true;
            f->dropped_frames++;
            f->len = 0;
            if (c == 0x03)
                f->overflow = false;
            continue;
        }
        f->buf[f->len++] = c;
        if (c == 0x03) {
            memcpy(frame, f->buf, f->len);
            *frame_len = f->len;
            f->len = 0;
            *consumed = i + 1;
            return 1;
        }
    }
    *consumed = len;
    return 0;
}
