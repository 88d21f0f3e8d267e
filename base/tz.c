/* TZif reader (RFC 8536): parses a zone file into transitions, offsets and the footer's POSIX
 * TZ rule, and converts between UTC instants and local wall times without touching the
 * process's TZ (setenv/tzset are not thread-safe while other threads convert times). Used by
 * the planner's cutoffs (wcs/plan/site.c) and shipping's on-time check (wcs/daemon/ship.c). */
#include "base/tz.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* RFC 8536 3.2: utoff should lie in [-89999, 93599]; anything outside is refused. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
/* Instants are clamped to about ±3 million years so that day and year arithmetic never
 * overflows. */
#define T_LIMIT  ((int64_t)1 << 46)
#define FILE_MAX (1 << 20)

enum rule_kind { RULE_JULIAN1, RULE_JULIAN0, RULE_MONTH };

struct rule {
    enum rule_kind kind;
    unsigned day;               /* Jn: 1..365; n: 0..365 */
    unsigned month, week, wday; /* Mm.w.d */
    int32_t time_s;             /* local time of the change, -167h..167h */
};

struct wcs_tz {
    uint32_t n_trans, n_types;
    int64_t *trans;   /* ascending transition instants */
    uint8_t *idx;     /* type of each transition */
    int32_t *utoff_s; /* offset of each type */
    bool has_footer, has_dst;
    int32_t std_s, dst_s;
    struct rule start, end;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t clamp_t(int64_t t)
{
    return t < -T_LIMIT ? -T_LIMIT : t > T_LIMIT ? T_LIMIT : t;
}

int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9;
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void tz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- footer: POSIX TZ string (RFC 8536 3.3, POSIX.1 8.3 with the v3 extensions) ---------- */

static bool p_name(const char **sp)
{
    const char *s = *sp;
    size_t n = 0;
    if (*s == '<') {
        s++;
        while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
               *s == '+' || *s == '-')
            s++, n++;
        if (*s != '>' || n < 3)
            return false;
        *sp = s + 1;
        return true;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++, n++;
    if (n < 3)
        return false;
    *sp = s;
    return true;
}

static bool p_num(const char **sp, unsigned max, unsigned *out)
{
    const char *s = *sp;
    unsigned v = 0;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned)(*s++ - '0');
        if (v > max)
            return false;
    }
    *out = v;
    *sp = s;
    return true;
}

/* [+-]hh[:mm[:ss]] with hh up to max_h. */
static bool p_hms(const char **sp, unsigned max_h, int32_t *out)
{
    const char *s = *sp;
    int sign = 1;
    unsigned h, m = 0, sec = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (!p_num(&s, max_h, &h))
        return false;
    if (*s == ':') {
        s++;
        if (!p_num(&s, 59, &m))
            return false;
        if (*s == ':') {
            s++;
            if (!p_num(&s, 59, &sec))
                return false;
        }
    }
    *out = sign * (int32_t)(h * 3600 + m * 60 + sec);
    *sp = s;
    return true;
}

static bool p_rule(const char **sp, struct rule *r)
{
    const char *s = *sp;
    memset(r, 0, sizeof(*r));
    if (*s == 'J') {
        s++;
        r->kind = RULE_JULIAN1;
        if (!p_num(&s, 365, &r->day) || r->day < 1)
            return false;
    } else if (*s == 'M') {
        s++;
        r->kind = RULE_MONTH;
        if (!p_num(&s, 12, &r->month) || r->month < 1 || *s++ != '.' || !p_num(&s, 5, &r->week) ||
            r->week < 1 || *s++ != '.' || !p_num(&s, 6, &r->wday))
            return false;
    } else {
        r->kind = RULE_JULIAN0;
        if (!p_num(&s, 365, &r->day))
            return false;
    }
    r->time_s = 2 * 3600;
    if (*s == '/') {
        s++;
        if (!p_hms(&s, 167, &r->time_s))
            return false;
    }
    *sp = s;
    return true;
}

static int parse_footer(struct wcs_tz *z, const char *s, char *err, size_t err_len)
{
    int32_t off;
    if (!*s)
        return 0; /* an empty footer: no rule after the last transition */
    if (!p_name(&s) || !p_hms(&s, 24, &off)) {
        wcs_errf(err, err_len, "footer: bad standard time name or offset");
        return WCS_E_SYNTAX;
    }
    z->std_s = -off; /* POSIX offsets count west positive */
    z->has_footer = true;
    if (!*s)
        return 0;
    if (!p_name(&s)) {
        wcs_errf(err, err_len, "footer: bad daylight time name");
        return WCS_E_SYNTAX;
    }
    z->dst_s = z->std_s + 3600;
    if (*s && *s != ',') {
        if (!p_hms(&s, 24, &off)) {
            wcs_errf(err, err_len, "footer: bad daylight time offset");
            return WCS_E_SYNTAX;
        }
        z->dst_s = -off;
    }
    if (*s != ',') {
        wcs_errf(err, err_len, "footer: daylight time without a rule");
        return WCS_E_SYNTAX;
    }
    s++;
    if (!p_rule(&s, &z->start) || *s++ != ',' || !p_rule(&s, &z->end) || *s) {
        wcs_errf(err, err_len, "footer: bad daylight time rule");
        return WCS_E_SYNTAX;
    }
    z->has_dst = true;
    return 0;
}

/* Day number (since the epoch) a rule names in year y. */
static int64_t rule_day(const struct rule *r, int64_t y)
{
    int64_t jan1 = tz_days_from_civil(y, 1, 1);
    switch (r->kind) {
    case RULE_JULIAN1:
        return jan1 + r->day - 1 + (is_leap(y) && r->day >= 60);
    case RULE_JULIAN0:
        return jan1 + r->day;
    case RULE_MONTH:
        break;
    }
    int64_t first = tz_days_from_civil(y, r->month, 1);
    int64_t next =
        r->month == 12 ? tz_days_from_civil(y + 1, 1, 1) : tz_days_from_civil(y, r->month + 1, 1);
    int64_t wd_first = (first + 4) % 7; /* 1970-01-01 was a Thursday (4) */
    if (wd_first < 0)
        wd_first += 7;
    int64_t day = first + ((int64_t)r->wday - wd_first + 7) % 7 + (int64_t)(r->week - 1) * 7;
    while (day >= next)
        day -= 7;
    return day;
}

static int32_t footer_offset(const struct wcs_tz *z, int64_t t)
{
    int64_t y;
    unsigned m, d;
    if (!z->has_dst)
        return z->std_s;
    tz_civil_from_days(floor_div(t + z->std_s, 86400), &y, &m, &d);
    int64_t s = rule_day(&z->start, y) * 86400 + z->start.time_s - z->std_s;
    int64_t e = rule_day(&z->end, y) * 86400 + z->end.time_s - z->dst_s;
    if (s < e)
        return t >= s && t < e ? z->dst_s : z->std_s;
    return t >= e && t < s ? z->std_s : z->dst_s;
}

/* ---- TZif body ------------------------------------------------------------------------- */

struct hdr {
    uint8_t version;
    uint32_t isut, isstd, leap, time, type, chars;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_hdr(const uint8_t *p, size_t len, struct hdr *h, char *err, size_t err_len)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0) {
        wcs_errf(err, err_len, "not a TZif file (magic or length)");
        return WCS_E_SYNTAX;
    }
    h->version = p[4];
    if (h->version != 0 && h->version < '2') {
        wcs_errf(err, err_len, "unknown TZif version 0x%02x", h->version);
        return WCS_E_SYNTAX;
    }
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chars = be32(p + 40);
    if (h->type == 0 || h->type > 256 || h->chars == 0 || (h->isut && h->isut != h->type) ||
        (h->isstd && h->isstd != h->type)) {
        wcs_errf(err, err_len, "bad header counts (types %u, chars %u, isut %u, isstd %u)", h->type,
                 h->chars, h->isut, h->isstd);
        return WCS_E_SYNTAX;
    }
    return 0;
}

static uint64_t block_len(const struct hdr *h, unsigned tsize)
{
    return (uint64_t)h->time * tsize + h->time + (uint64_t)h->type * 6 + h->chars +
           (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

/* Fills the transitions and types of z from the data block at p (times of tsize bytes). */
static int read_block(struct wcs_tz *z, const struct hdr *h, const uint8_t *p, unsigned tsize,
                      char *err, size_t err_len)
{
    const uint8_t *idx = p + (size_t)h->time * tsize;
    const uint8_t *types = idx + h->time;
    for (uint32_t i = 0; i < h->time; i++) {
        z->trans[i] = tsize == 8 ? be64(p + (size_t)i * 8) : (int32_t)be32(p + (size_t)i * 4);
        if (i > 0 && z->trans[i] <= z->trans[i - 1]) {
            wcs_errf(err, err_len, "transition %u not after the one before", i);
            return WCS_E_SYNTAX;
        }
        if (idx[i] >= h->type) {
            wcs_errf(err, err_len, "transition %u names type %u of %u", i, idx[i], h->type);
            return WCS_E_SYNTAX;
        }
        z->idx[i] = idx[i];
    }
    for (uint32_t i = 0; i < h->type; i++) {
        const uint8_t *t = types + (size_t)i * 6;
        int32_t off = (int32_t)be32(t);
        if (off < UTOFF_MIN || off > UTOFF_MAX || t[4] > 1 || t[5] >= h->chars) {
            wcs_errf(err, err_len, "type %u: bad offset %d, dst flag or name index", i, off);
            return WCS_E_SYNTAX;
        }
        z->utoff_s[i] = off;
    }
    z->n_trans = h->time;
    z->n_types = h->type;
    return 0;
}

int tz_parse(struct wcs_tz **out, const void *data, size_t len, char *err, size_t err_len)
{
    const uint8_t *p = data;
    struct hdr h;
    unsigned tsize = 4;
    size_t off;
    int rc;
    if ((rc = read_hdr(p, len, &h, err, err_len)) < 0)
        return rc;
    off = 44;
    if (h.version >= '2') {
        uint64_t skip = block_len(&h, 4);
        if (skip > len - off) {
            wcs_errf(err, err_len, "truncated version 1 data block");
            return WCS_E_SYNTAX;
        }
        off += (size_t)skip;
        if ((rc = read_hdr(p + off, len - off, &h, err, err_len)) < 0)
            return rc;
        off += 44;
        tsize = 8;
    }
    uint64_t blen = block_len(&h, tsize);
    if (blen > len - off) {
        wcs_errf(err, err_len, "truncated data block (%llu bytes needed, %zu left)",
                 (unsigned long long)blen, len - off);
        return WCS_E_SYNTAX;
    }
    if (h.leap) {
        wcs_errf(err, err_len, "leap-second zone files are not supported");
        return WCS_E_RANGE;
    }
    struct wcs_tz *z = calloc(1, sizeof(*z));
    if (!z)
        return -ENOMEM;
    z->trans = malloc(((size_t)h.time + 1) * sizeof(*z->trans));
    z->idx = malloc((size_t)h.time + 1);
    z->utoff_s = malloc((size_t)h.type * sizeof(*z->utoff_s));
    if (!z->trans || !z->idx || !z->utoff_s) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = read_block(z, &h, p + off, tsize, err, err_len)) < 0)
        goto fail;
    off += (size_t)blen;
    if (tsize == 8) {
        /* Footer: "\n<TZ string>\n" (RFC 8536 3.3). */
        const uint8_t *nl;
        char footer[256];
        if (off >= len || p[off] != '\n' || !(nl = memchr(p + off + 1, '\n', len - off - 1))) {
            wcs_errf(err, err_len, "missing footer");
            rc = WCS_E_SYNTAX;
            goto fail;
        }
        size_t n = (size_t)(nl - (p + off + 1));
        if (n >= sizeof(footer) || memchr(p + off + 1, '\0', n)) {
            wcs_errf(err, err_len, "footer too long or not text");
            rc = WCS_E_SYNTAX;
            goto fail;
        }
        memcpy(footer, p + off + 1, n);
        footer[n] = '\0';
        if ((rc = parse_footer(z, footer, err, err_len)) < 0)
            goto fail;
    }
    *out = z;
    return 0;
fail:
    tz_free(z);
    return rc;
}

int tz_load(struct wcs_tz **out, const char *zone, char *err, size_t err_len)
{
    char path[512];
    struct stat st;
    uint8_t *buf;
    ssize_t got;
    size_t n = 0;
    int fd, rc;
    if (!zone || !*zone || zone[0] == '/' || strstr(zone, "..") ||
        strlen(zone) > sizeof(path) - sizeof(TZ_DIR) - 2) {
        wcs_errf(err, err_len, "time zone '%s': not a zone name", zone ? zone : "");
        return WCS_E_UNKNOWN;
    }
    snprintf(path, sizeof(path), "%s/%s", TZ_DIR, zone);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR ? WCS_E_UNKNOWN : -errno;
        wcs_errf(err, err_len, "time zone '%s': %s", zone, wcs_strerror(-errno));
        return rc;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
        close(fd);
        wcs_errf(err, err_len, "time zone '%s': not a regular file of at most 1 MiB", zone);
        return WCS_E_UNKNOWN;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    while (n < (size_t)st.st_size && (got = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            free(buf);
            close(fd);
            wcs_errf(err, err_len, "time zone '%s': read: %s", zone, wcs_strerror(rc));
            return rc;
        }
        n += (size_t)got;
    }
    close(fd);
    rc = tz_parse(out, buf, n, err, err_len);
    free(buf);
    return rc;
}

void tz_free(struct wcs_tz *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    free(tz->idx);
    free(tz->utoff_s);
    free(tz);
}

int32_t tz_offset_s(const struct wcs_tz *z, int64_t utc_s)
{
    int64_t t = clamp_t(utc_s);
    if (z->n_trans == 0)
        return z->has_footer ? footer_offset(z, t) : z->utoff_s[0];
    if (t < z->trans[0])
        return z->utoff_s[0];         /* RFC 8536 3.2: before the first transition, type 0 */
    uint32_t lo = 0, hi = z->n_trans; /* the last transition at or before t is in [lo, hi) */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == z->n_trans - 1 && z->has_footer)
        return footer_offset(z, t);
    return z->utoff_s[z->idx[lo]];
}

int64_t tz_local_s(const struct wcs_tz *tz, int64_t utc_s)
{
    int64_t t = clamp_t(utc_s);
    return t + tz_offset_s(tz, t);
}

int64_t tz_utc_s(const struct wcs_tz *tz, int64_t local_s)
{
    /* The offsets in effect within two days either side include the one (or, across a
     * transition, both) that can apply; a candidate is right when the instant it gives has it. */
    int64_t l = clamp_t(local_s), best = 0, gap = 0;
    bool found = false, any = false;
    for (int k = -2; k <= 2; k++) {
        int32_t o = tz_offset_s(tz, l + k * 86400);
        int64_t u = l - o;
        if (tz_offset_s(tz, u) == o) {
            if (!found || u < best)
                best = u;
            found = true;
        } else if (!any || u > gap) {
            gap = u;
            any = true;
        }
    }
    return found ? best : gap;
}
