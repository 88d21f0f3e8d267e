/* ZPL II label rendering (ZPL II Programming Guide: ^XA/^XZ, ^PW, ^LL, ^CI28 UTF-8, ^FO, ^A0,
 * ^FH hex escapes, ^BY, ^BC Code 128 with mode D for GS1-128, ^GB, ^PQ). Coordinates are laid
 * out for 203 dpi and scaled for 300 dpi heads. Built-in labels and site templates share the
 * same escaping rules. */
#include "drivers/codec/zpl.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

struct out {
    char *buf;
    size_t cap;
    size_t len;
    bool full;
};

static void out_init(struct out *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->full = cap == 0;
    if (cap)
        buf[0] = '\0';
}

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (o->len + n + 1 > o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    assert(n >= 0 && (size_t)n < sizeof(tmp));
    put(o, tmp, (size_t)n);
}

static int out_done(const struct out *o)
{
    return o->full ? WCS_E_EXHAUSTED : (int)o->len;
}

/* Length of the UTF-8 sequence starting at s (1..4), or 0 if it is not well formed. Control
 * characters (below 0x20 and DEL) count as not well formed here: no label field wants them. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x20 || s[0] == 0x7f)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
            return 0; /* overlong, surrogate */
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

/* Field data under ^FH with escape character esc: '^', '~', esc and every non-ASCII byte become
 * esc + two hex digits (the printer decodes the bytes, then ^CI28 reads them as UTF-8). */
static int put_escaped(struct out *o, const char *v, char esc)
{
    const unsigned char *s = (const unsigned char *)v;
    while (*s) {
        size_t n = utf8_len(s);
        if (n == 0)
            return WCS_E_RANGE;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = s[i];
            if (c == '^' || c == '~' || c == (unsigned char)esc || c >= 0x80)
                putf(o, "%c%02X", esc, c);
            else
                put(o, (const char *)&c, 1);
        }
        s += n;
    }
    return 0;
}

/* A value placed where ^FH is not in effect: it must not contain a command prefix. */
static int put_plain(struct out *o, const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    while (*s) {
        size_t n = utf8_len(s);
        if (n == 0 || *s == '^' || *s == '~')
            return WCS_E_RANGE;
        put(o, (const char *)s, n);
        s += n;
    }
    return 0;
}

static bool empty(const char *s)
{
    return !s || !*s;
}

/* Code 128 data as printed here: printable ASCII without '>' (the ^BC invocation prefix). */
static bool code128_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '>')
            return false;
    return true;
}

static bool sscc_ok(const char *s)
{
    int sum = 0;
    if (strlen(s) != 18)
        return false;
    for (int i = 0; i < 18; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    /* GS1 check digit: weights 3,1,3,... from the right of the 17 data digits. */
    for (int i = 16, w = 3; i >= 0; i--, w = 4 - w)
        sum += (s[i] - '0') * w;
    return (10 - sum % 10) % 10 == s[17] - '0';
}

/* Scales a 203-dpi layout coordinate to the head's resolution, rounding to nearest. */
static unsigned sc(enum zpl_dpi dpi, unsigned v)
{
    return (unsigned)(((unsigned long)v * dpi + 101) / 203);
}

static bool dpi_ok(enum zpl_dpi dpi)
{
    return dpi == ZPL_DPI_203 || dpi == ZPL_DPI_300;
}

static void header(struct out *o, enum zpl_dpi dpi, unsigned length_in_x10)
{
    put(o, "^XA\n^CI28\n", 10);
    /* 4 in wide: 812 dots at 203 dpi, 1200 at 300 dpi. */
    putf(o, "^PW%u\n^LL%u\n^LH0,0\n", 4u * dpi, length_in_x10 * dpi / 10u);
}

static void footer(struct out *o)
{
    put(o, "^PQ1\n^XZ\n", 9);
}

/* ^FOx,y^A0N,h,h^FH_^FD<escaped text>^FS */
static int text(struct out *o, enum zpl_dpi dpi, unsigned x, unsigned y, unsigned h, const char *s)
{
    putf(o, "^FO%u,%u^A0N,%u,%u^FH_^FD", sc(dpi, x), sc(dpi, y), sc(dpi, h), sc(dpi, h));
    int rc = put_escaped(o, s, '_');
    put(o, "^FS\n", 4);
    return rc;
}

int zpl_render_sscc(const struct zpl_sscc_label *l, char *buf, size_t cap)
{
    struct out o;
    const struct zpl_address *a;
    char line[96];
    unsigned y;
    int rc = 0;
    assert(l && (buf || cap == 0));
    a = &l->ship_to;
    if (!dpi_ok(l->dpi) || empty(l->sscc) || !sscc_ok(l->sscc) || l->weight_mg < 0)
        return WCS_E_RANGE;
    if (empty(a->name) || empty(a->line1) || empty(a->postal) || empty(a->city) ||
        empty(a->country) || empty(l->carrier) || empty(l->order))
        return WCS_E_RANGE;
    out_init(&o, buf, cap);
    header(&o, l->dpi, 60);
    rc |= text(&o, l->dpi, 30, 30, 28, "SHIP TO:");
    rc |= text(&o, l->dpi, 30, 65, 36, a->name);
    rc |= text(&o, l->dpi, 30, 105, 30, a->line1);
    y = 140;
    if (!empty(a->line2)) {
        rc |= text(&o, l->dpi, 30, y, 30, a->line2);
        y += 35;
    }
    putf(&o, "^FO%u,%u^A0N,%u,%u^FH_^FD", sc(l->dpi, 30), sc(l->dpi, y), sc(l->dpi, 30),
         sc(l->dpi, 30));
    rc |= put_escaped(&o, a->postal, '_');
    put(&o, " ", 1);
    rc |= put_escaped(&o, a->city, '_');
    put(&o, "^FS\n", 4);
    rc |= text(&o, l->dpi, 30, y + 35, 30, a->country);
    putf(&o, "^FO%u,%u^GB%u,%u,%u^FS\n", sc(l->dpi, 30), sc(l->dpi, 260), sc(l->dpi, 752),
         sc(l->dpi, 3), sc(l->dpi, 3));
    rc |= text(&o, l->dpi, 30, 285, 28, "CARRIER:");
    rc |= text(&o, l->dpi, 200, 280, 36, l->carrier);
    rc |= text(&o, l->dpi, 30, 335, 28, "ORDER:");
    rc |= text(&o, l->dpi, 200, 330, 36, l->order);
    /* Weight in kg with 2 decimals: 10 000 mg per hundredth, rounded half up. */
    int64_t hundredths = (l->weight_mg + 5000) / 10000;
    snprintf(line, sizeof(line), "%lld.%02lld kg", (long long)(hundredths / 100),
             (long long)(hundredths % 100));
    rc |= text(&o, l->dpi, 30, 385, 28, "WEIGHT:");
    rc |= text(&o, l->dpi, 200, 380, 36, line);
    putf(&o, "^FO%u,%u^GB%u,%u,%u^FS\n", sc(l->dpi, 30), sc(l->dpi, 440), sc(l->dpi, 752),
         sc(l->dpi, 3), sc(l->dpi, 3));
    rc |= text(&o, l->dpi, 30, 465, 28, "SSCC");
    /* GS1-128 in mode D: the printer adds FNC1 and the symbol check character itself and
     * prints the interpretation line "(00) ..." below the bars. */
    putf(&o, "^FO%u,%u^BY%u^BCN,%u,Y,N,N,D^FD(00)%s^FS\n", sc(l->dpi, 60), sc(l->dpi, 520),
         l->dpi == ZPL_DPI_300 ? 4u : 3u, sc(l->dpi, 250), l->sscc);
    snprintf(line, sizeof(line), "(00) %s", l->sscc);
    rc |= text(&o, l->dpi, 30, 880, 40, line);
    footer(&o);
    if (rc)
        return WCS_E_RANGE;
    return out_done(&o);
}

/* Code 128 of an ASCII value with ^FH so '^', '~' and '_' survive. */
static void code128(struct out *o, enum zpl_dpi dpi, unsigned x, unsigned y, unsigned h,
                    const char *v)
{
    putf(o, "^FO%u,%u^BY%u^BCN,%u,N,N,N^FH_^FD", sc(dpi, x), sc(dpi, y),
         dpi == ZPL_DPI_300 ? 3u : 2u, sc(dpi, h));
    (void)put_escaped(o, v, '_');
    put(o, "^FS\n", 4);
}

int zpl_render_lpn(const struct zpl_lpn_label *l, char *buf, size_t cap)
{
    struct out o;
    int rc = 0;
    assert(l && (buf || cap == 0));
    if (!dpi_ok(l->dpi) || empty(l->lpn) || !code128_ok(l->lpn))
        return WCS_E_RANGE;
    out_init(&o, buf, cap);
    header(&o, l->dpi, 20);
    if (!empty(l->caption))
        rc |= text(&o, l->dpi, 30, 20, 30, l->caption);
    code128(&o, l->dpi, 40, 60, 180, l->lpn);
    rc |= text(&o, l->dpi, 40, 260, 60, l->lpn);
    footer(&o);
    if (rc)
        return WCS_E_RANGE;
    return out_done(&o);
}

int zpl_render_location(const struct zpl_location_label *l, char *buf, size_t cap)
{
    struct out o;
    int rc;
    assert(l && (buf || cap == 0));
    if (!dpi_ok(l->dpi) || empty(l->location) || !code128_ok(l->location))
        return WCS_E_RANGE;
    out_init(&o, buf, cap);
    header(&o, l->dpi, 20);
    /* Big text first: pickers read it from a distance; the barcode is for the scanner. */
    rc = text(&o, l->dpi, 30, 20, 110, l->location);
    code128(&o, l->dpi, 40, 170, 180, l->location);
    footer(&o);
    if (rc)
        return WCS_E_RANGE;
    return out_done(&o);
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* Reads "{{ name }}" at s (which starts with "{{"). Returns the length of the placeholder and
 * the name's span, or WCS_E_SYNTAX. */
static int placeholder(const char *s, const char **name, size_t *name_len)
{
    size_t i = 2, start, end;
    while (s[i] == ' ')
        i++;
    start = i;
    while (name_char(s[i]))
        i++;
    end = i;
    while (s[i] == ' ')
        i++;
    if (s[i] != '}' || s[i + 1] != '}' || end == start || end - start > 32)
        return WCS_E_SYNTAX;
    *name = s + start;
    *name_len = end - start;
    return (int)(i + 2);
}

/* Tracks where the template is: inside ^FD..^FS or not, and whether ^FH applies. */
struct zctx {
    bool in_fd;
    bool fh;
    char esc;
};

static void track(struct zctx *z, const char *s)
{
    if (s[0] != '^')
        return;
    if (s[1] == 'F' && s[2] == 'H') {
        z->fh = true;
        /* ^FHx sets the escape character; ^FH alone (next is ^ or ~ or end) uses '_'. */
        z->esc = (s[3] && s[3] != '^' && s[3] != '~' && s[3] != '\n' && s[3] != '\r') ? s[3] : '_';
    } else if (s[1] == 'F' && s[2] == 'D') {
        z->in_fd = true;
    } else if (s[1] == 'F' && s[2] == 'S') {
        z->in_fd = false;
        z->fh = false;
    }
}

int zpl_render_template(const char *tmpl, const struct zpl_field *fields, size_t n, char *buf,
                        size_t cap)
{
    struct out o;
    struct zctx z = {false, false, '_'};
    const char *s = tmpl;
    assert(tmpl && (fields || n == 0) && (buf || cap == 0));
    out_init(&o, buf, cap);
    while (*s) {
        if (s[0] == '{' && s[1] == '{') {
            const char *name, *value = NULL;
            size_t nlen;
            int len = placeholder(s, &name, &nlen), rc;
            if (len < 0)
                return len;
            for (size_t i = 0; i < n && !value; i++)
                if (strlen(fields[i].name) == nlen && memcmp(fields[i].name, name, nlen) == 0)
                    value = fields[i].value ? fields[i].value : "";
            if (!value)
                return WCS_E_UNKNOWN;
            rc = (z.in_fd && z.fh) ? put_escaped(&o, value, z.esc) : put_plain(&o, value);
            if (rc < 0)
                return rc;
            s += len;
            continue;
        }
        track(&z, s);
        put(&o, s, 1);
        s++;
    }
    return out_done(&o);
}

int zpl_template_check(const char *tmpl, char (*names)[33], size_t cap, size_t *count)
{
    size_t found = 0;
    assert(tmpl && (names || cap == 0) && count);
    for (const char *s = tmpl; *s;) {
        if (s[0] == '{' && s[1] == '{') {
            const char *name;
            size_t nlen;
            bool dup = false;
            int len = placeholder(s, &name, &nlen);
            if (len < 0)
                return len;
            for (size_t i = 0; i < found; i++)
                if (strlen(names[i]) == nlen && memcmp(names[i], name, nlen) == 0)
                    dup = true;
            if (!dup) {
                if (found == cap)
                    return WCS_E_EXHAUSTED;
                memcpy(names[found], name, nlen);
                names[found][nlen] = '\0';
                found++;
            }
            s += len;
            continue;
        }
        s++;
    }
    *count = found;
    return 0;
}
