/* OpenWMS OSIP telegrams. Layouts taken from the OpenWMS OSIP driver
 * (openwms/org.openwms.common.comm.osip: OSIPHeader, Payload, the *TelegramDeserializer and
 * *Serializer classes and the *FieldLengthProviderImpl defaults); see docs/plc.md for the table.
 * Every telegram is padded with a filler to the configured length and ended by CR LF. */
#include "drivers/codec/osip.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "base/err.h"

enum fid { F_BARCODE, F_ACTUAL, F_TARGET, F_TGROUP, F_GROUP, F_LOCATION, F_ERROR, F_DATE };

struct fdesc {
    size_t off; /* offsetof in struct osip_telegram */
    size_t width;
    char none; /* fill character meaning "no value" (build accepts ""), 0: value required */
};

static const struct fdesc fields[] = {
    [F_BARCODE] = {offsetof(struct osip_telegram, barcode), OSIP_BARCODE_LEN, '?'},
    [F_ACTUAL] = {offsetof(struct osip_telegram, actual), OSIP_LOCATION_LEN, '*'},
    [F_TARGET] = {offsetof(struct osip_telegram, target), OSIP_LOCATION_LEN, '*'},
    [F_TGROUP] = {offsetof(struct osip_telegram, target_group), OSIP_GROUP_LEN, '*'},
    [F_GROUP] = {offsetof(struct osip_telegram, group), OSIP_GROUP_LEN, '*'},
    [F_LOCATION] = {offsetof(struct osip_telegram, location), OSIP_LOCATION_LEN, '*'},
    [F_ERROR] = {offsetof(struct osip_telegram, error), OSIP_ERROR_LEN, 0},
    [F_DATE] = {offsetof(struct osip_telegram, date), OSIP_DATE_LEN, 0},
};

struct layout {
    const char *name;
    int n;
    enum fid f[6];
};

static const struct layout layouts[] = {
    [OSIP_REQ] = {"REQ_", 5, {F_BARCODE, F_ACTUAL, F_TARGET, F_ERROR, F_DATE}},
    [OSIP_RES] = {"RES_", 6, {F_BARCODE, F_ACTUAL, F_TARGET, F_TGROUP, F_ERROR, F_DATE}},
    [OSIP_UPD] = {"UPD_", 4, {F_BARCODE, F_ACTUAL, F_ERROR, F_DATE}},
    [OSIP_LOCU] = {"LOCU", 4, {F_GROUP, F_LOCATION, F_ERROR, F_DATE}},
    [OSIP_SYSU] = {"SYSU", 3, {F_GROUP, F_ERROR, F_DATE}},
    [OSIP_ERR] = {"ERR_", 2, {F_ERROR, F_DATE}},
    [OSIP_SYNQ] = {"SYNQ", 1, {F_DATE}},
    [OSIP_SYNC] = {"SYNC", 1, {F_DATE}},
};

enum { NTYPES = sizeof(layouts) / sizeof(layouts[0]) };

const char *osip_type_name(enum osip_type t)
{
    assert((unsigned)t < NTYPES);
    return layouts[t].name;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static bool digits(const char *s, size_t n, uint32_t *v)
{
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint32_t)(s[i] - '0');
    }
    if (v)
        *v = x;
    return true;
}

/* yyyyMMddHHmmss with real calendar days (Gregorian leap years). */
static bool valid_date(const char *s)
{
    static const uint8_t mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint32_t y, mo, d, h, mi, se;
    if (!digits(s, 4, &y) || !digits(s + 4, 2, &mo) || !digits(s + 6, 2, &d) ||
        !digits(s + 8, 2, &h) || !digits(s + 10, 2, &mi) || !digits(s + 12, 2, &se))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
        return false;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    return true;
}

static size_t payload_len(const struct layout *l)
{
    size_t n = OSIP_MIN_LEN;
    for (int i = 0; i < l->n; i++)
        n += fields[l->f[i]].width;
    return n;
}

int osip_parse(const char *buf, size_t len, size_t telegram_len, char filler,
               struct osip_telegram *out)
{
    struct osip_telegram t;
    const struct layout *l = NULL;
    uint32_t hlen, seq;
    size_t pos;
    assert(out);
    assert(buf || len == 0);
    if (len < OSIP_MIN_LEN || memcmp(buf, "###", 3) != 0)
        return WCS_E_SYNTAX;
    if (!printable(buf, len))
        return WCS_E_SYNTAX;
    if (!digits(buf + 3, 5, &hlen) || hlen != len || (telegram_len && len != telegram_len))
        return WCS_E_SYNTAX;
    if (!digits(buf + 18, 5, &seq))
        return WCS_E_SYNTAX;
    memset(&t, 0, sizeof(t));
    memcpy(t.sender, buf + 8, OSIP_NODE_LEN);
    memcpy(t.receiver, buf + 13, OSIP_NODE_LEN);
    t.seq = seq;
    for (unsigned i = 0; i < NTYPES; i++)
        if (memcmp(buf + OSIP_HEADER_LEN, layouts[i].name, OSIP_TYPE_LEN) == 0) {
            l = &layouts[i];
            t.type = (enum osip_type)i;
        }
    if (!l)
        return WCS_E_UNKNOWN;
    if (payload_len(l) > len)
        return WCS_E_SYNTAX;
    pos = OSIP_MIN_LEN;
    for (int i = 0; i < l->n; i++) {
        const struct fdesc *fd = &fields[l->f[i]];
        memcpy((char *)&t + fd->off, buf + pos, fd->width);
        pos += fd->width;
    }
    if (!valid_date(t.date))
        return WCS_E_SYNTAX;
    for (; pos < len; pos++)
        if (buf[pos] != filler)
            return WCS_E_SYNTAX;
    *out = t;
    return 0;
}

int osip_build(const struct osip_telegram *t, size_t telegram_len, char filler, char *buf,
               size_t cap)
{
    const struct layout *l;
    size_t pos;
    assert(t && buf);
    if ((unsigned)t->type >= NTYPES)
        return WCS_E_RANGE;
    l = &layouts[t->type];
    if (telegram_len < payload_len(l) || telegram_len > OSIP_MAX_LEN)
        return WCS_E_RANGE;
    if ((unsigned char)filler < 0x20 || (unsigned char)filler > 0x7e)
        return WCS_E_RANGE;
    if (strlen(t->sender) != OSIP_NODE_LEN || strlen(t->receiver) != OSIP_NODE_LEN ||
        !printable(t->sender, OSIP_NODE_LEN) || !printable(t->receiver, OSIP_NODE_LEN) ||
        t->seq > OSIP_SEQ_MAX)
        return WCS_E_RANGE;
    for (int i = 0; i < l->n; i++) {
        const struct fdesc *fd = &fields[l->f[i]];
        const char *v = (const char *)t + fd->off;
        size_t n = strnlen(v, fd->width + 1);
        if (!(n == fd->width || (n == 0 && fd->none)) || !printable(v, n))
            return WCS_E_RANGE;
    }
    if (!valid_date(t->date))
        return WCS_E_RANGE;
    if (cap < telegram_len + 2)
        return WCS_E_EXHAUSTED;
    memcpy(buf, "###", 3);
    /* Fixed-width decimal fields, zero padded on the left. */
    size_t lv = telegram_len;
    uint32_t sv = t->seq;
    for (int i = 0; i < 5; i++) {
        buf[7 - i] = (char)('0' + lv % 10);
        buf[22 - i] = (char)('0' + sv % 10);
        lv /= 10;
        sv /= 10;
    }
    memcpy(buf + 8, t->sender, OSIP_NODE_LEN);
    memcpy(buf + 13, t->receiver, OSIP_NODE_LEN);
    memcpy(buf + OSIP_HEADER_LEN, l->name, OSIP_TYPE_LEN);
    pos = OSIP_MIN_LEN;
    for (int i = 0; i < l->n; i++) {
        const struct fdesc *fd = &fields[l->f[i]];
        const char *v = (const char *)t + fd->off;
        if (v[0] == '\0')
            memset(buf + pos, fd->none, fd->width);
        else
            memcpy(buf + pos, v, fd->width);
        pos += fd->width;
    }
    memset(buf + pos, filler, telegram_len - pos);
    buf[telegram_len] = '\r';
    buf[telegram_len + 1] = '\n';
    return (int)(telegram_len + 2);
}

/* Copies a caller value of exactly `width` characters, or the "none" fill for NULL/"". */
static int copy_field(char *dst, const char *src, size_t width, char none)
{
    if (src && src[0]) {
        if (strnlen(src, width + 1) != width)
            return WCS_E_RANGE;
        memcpy(dst, src, width);
    } else {
        if (!none)
            return WCS_E_RANGE;
        memset(dst, none, width);
    }
    dst[width] = '\0';
    return 0;
}

int osip_res_for(const struct osip_telegram *req, const char *target, const char *target_group,
                 const char *error, const char *date, struct osip_telegram *res)
{
    struct osip_telegram r;
    assert(req && res);
    if (req->type != OSIP_REQ)
        return WCS_E_RANGE;
    memset(&r, 0, sizeof(r));
    r.type = OSIP_RES;
    memcpy(r.sender, req->receiver, sizeof(r.sender));
    memcpy(r.receiver, req->sender, sizeof(r.receiver));
    r.seq = req->seq >= OSIP_SEQ_MAX ? 0 : req->seq + 1;
    memcpy(r.barcode, req->barcode, sizeof(r.barcode));
    memcpy(r.actual, req->actual, sizeof(r.actual));
    if (copy_field(r.target, target, OSIP_LOCATION_LEN, '*') < 0 ||
        copy_field(r.target_group, target_group, OSIP_GROUP_LEN, '*') < 0 ||
        copy_field(r.error, error, OSIP_ERROR_LEN, 0) < 0 ||
        copy_field(r.date, date, OSIP_DATE_LEN, 0) < 0)
        return WCS_E_RANGE;
    *res = r;
    return 0;
}

void osip_framer_init(struct osip_framer *f, size_t telegram_len)
{
    assert(f);
    f->telegram_len = telegram_len;
    f->len = 0;
    f->discarded_bytes = 0;
}

size_t osip_framer_feed(struct osip_framer *f, const uint8_t *data, size_t len)
{
    size_t room, n;
    assert(f);
    room = sizeof(f->buf) - f->len;
    n = len < room ? len : room;
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    return n;
}

static void drop(struct osip_framer *f, size_t n, bool garbage)
{
    memmove(f->buf, f->buf + n, f->len - n);
    f->len -= n;
    if (garbage)
        f->discarded_bytes += n;
}

size_t osip_framer_next(struct osip_framer *f, char *out, size_t cap)
{
    assert(f && out && cap > OSIP_MAX_LEN);
    for (;;) {
        size_t i = 0, L;
        uint32_t hlen;
        while (i + 3 <= f->len && memcmp(f->buf + i, "###", 3) != 0)
            i++;
        if (i + 3 > f->len) {
            /* Keep a trailing "#" or "##": it may be the start of the next sync. */
            size_t keep = 0;
            while (keep < 2 && keep < f->len && f->buf[f->len - 1 - keep] == '#')
                keep++;
            drop(f, f->len - keep, true);
            return 0;
        }
        if (i > 0)
            drop(f, i, true);
        if (f->len < 8)
            return 0;
        if (!digits((const char *)f->buf + 3, 5, &hlen) || hlen < OSIP_MIN_LEN ||
            hlen > OSIP_MAX_LEN || (f->telegram_len && hlen != f->telegram_len)) {
            drop(f, 1, true);
            continue;
        }
        L = hlen;
        if (f->len < L + 2)
            return 0;
        if (f->buf[L] != '\r' || f->buf[L + 1] != '\n') {
            /* Truncated or corrupt frame: resynchronise on the next "###". */
            drop(f, 1, true);
            continue;
        }
        memcpy(out, f->buf, L);
        out[L] = '\0';
        drop(f, L + 2, false);
        return L;
    }
}
