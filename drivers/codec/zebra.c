/* Zebra ~HS and ~HQES replies, per the ZPL II Programming Guide (45541L, "~HS Host Status
 * Return" and "~HQ Host Query", ES error/warning flag tables). ~HS fields are decimal, flags
 * are single '0'/'1' characters; ~HQES bitmasks are two groups of eight hex digits. */
#include "drivers/codec/zebra.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "base/err.h"

enum { STX = 0x02, ETX = 0x03 };

struct field {
    const uint8_t *p;
    size_t n;
};

/* Splits s[0..n) on commas into exactly `want` fields. */
static int split_fields(const uint8_t *s, size_t n, struct field *f, int want)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ',') {
            if (k == want)
                return WCS_E_SYNTAX;
            f[k].p = s + start;
            f[k].n = i - start;
            k++;
            start = i + 1;
        }
    }
    return k == want ? 0 : WCS_E_SYNTAX;
}

static int num(const struct field *f, size_t max_digits, uint32_t *v)
{
    uint32_t x = 0;
    if (f->n == 0 || f->n > max_digits)
        return WCS_E_SYNTAX;
    for (size_t i = 0; i < f->n; i++) {
        if (f->p[i] < '0' || f->p[i] > '9')
            return WCS_E_SYNTAX;
        x = x * 10 + (uint32_t)(f->p[i] - '0');
    }
    *v = x;
    return 0;
}

static int flag(const struct field *f, bool *v)
{
    if (f->n != 1 || (f->p[0] != '0' && f->p[0] != '1'))
        return WCS_E_SYNTAX;
    *v = f->p[0] == '1';
    return 0;
}

/* Finds the next "<STX>body<ETX><CR><LF>" at or after *pos. Returns 0 with the body, -EAGAIN
 * if the string is not complete yet, or WCS_E_SYNTAX. */
static int next_string(const uint8_t *buf, size_t len, size_t *pos, struct field *body)
{
    size_t i = *pos;
    /* Bytes before STX (line noise, a stray CR LF) are skipped; nothing inside a string is. */
    while (i < len && buf[i] != STX) {
        if (buf[i] == ETX)
            return WCS_E_SYNTAX;
        i++;
    }
    if (i >= len)
        return -EAGAIN;
    size_t start = ++i;
    while (i < len && buf[i] != ETX) {
        if (buf[i] == STX || buf[i] < 0x20 || buf[i] > 0x7e)
            return WCS_E_SYNTAX;
        i++;
    }
    if (i >= len)
        return -EAGAIN;
    body->p = buf + start;
    body->n = i - start;
    i++;
    if (i < len && buf[i] != '\r')
        return WCS_E_SYNTAX;
    if (i + 1 < len && buf[i + 1] != '\n')
        return WCS_E_SYNTAX;
    if (i + 2 > len)
        return -EAGAIN;
    *pos = i + 2;
    return 0;
}

static bool valid_mode(uint8_t c)
{
    return (c >= '0' && c <= '9') || c == 'K' || c == 'S' || c == 'A';
}

int zebra_hs_parse(const uint8_t *buf, size_t len, struct zebra_hs *out)
{
    struct zebra_hs h;
    struct field s[3], f[12];
    size_t pos = 0;
    uint32_t v;
    int rc;
    assert(out);
    assert(buf || len == 0);
    for (int i = 0; i < 3; i++) {
        rc = next_string(buf, len, &pos, &s[i]);
        if (rc < 0)
            return rc;
    }
    memset(&h, 0, sizeof(h));

    if ((rc = split_fields(s[0].p, s[0].n, f, 12)) < 0)
        return rc;
    if ((rc = num(&f[0], 3, &v)) < 0)
        return rc;
    h.comm_settings = (uint16_t)v;
    if ((rc = flag(&f[1], &h.paper_out)) < 0 || (rc = flag(&f[2], &h.paused)) < 0)
        return rc;
    if ((rc = num(&f[3], 5, &h.label_length_dots)) < 0 ||
        (rc = num(&f[4], 3, &h.formats_in_buffer)) < 0)
        return rc;
    if ((rc = flag(&f[5], &h.buffer_full)) < 0 || (rc = flag(&f[6], &h.comm_diag_mode)) < 0 ||
        (rc = flag(&f[7], &h.partial_format)) < 0)
        return rc;
    if ((rc = num(&f[8], 3, &v)) < 0) /* iii: unused, always 000 */
        return rc;
    if ((rc = flag(&f[9], &h.corrupt_ram)) < 0 || (rc = flag(&f[10], &h.under_temperature)) < 0 ||
        (rc = flag(&f[11], &h.over_temperature)) < 0)
        return rc;

    if ((rc = split_fields(s[1].p, s[1].n, f, 11)) < 0)
        return rc;
    if ((rc = num(&f[0], 3, &v)) < 0)
        return rc;
    h.function_settings = (uint16_t)v;
    bool unused;
    if ((rc = flag(&f[1], &unused)) < 0 || (rc = flag(&f[2], &h.head_up)) < 0 ||
        (rc = flag(&f[3], &h.ribbon_out)) < 0 || (rc = flag(&f[4], &h.thermal_transfer)) < 0)
        return rc;
    if (f[5].n != 1)
        return WCS_E_SYNTAX;
    if (!valid_mode(f[5].p[0]))
        return WCS_E_RANGE;
    h.print_mode = (enum zebra_print_mode)f[5].p[0];
    if ((rc = num(&f[6], 1, &v)) < 0)
        return rc;
    h.print_width_mode = (uint8_t)v;
    if ((rc = flag(&f[7], &h.label_waiting)) < 0 || (rc = num(&f[8], 8, &h.labels_remaining)) < 0 ||
        (rc = flag(&f[9], &h.format_while_printing)) < 0 ||
        (rc = num(&f[10], 3, &h.graphics_stored)) < 0)
        return rc;

    if ((rc = split_fields(s[2].p, s[2].n, f, 2)) < 0)
        return rc;
    if ((rc = num(&f[0], 4, &v)) < 0)
        return rc;
    h.password = (uint16_t)v;
    if ((rc = flag(&f[1], &h.static_ram_installed)) < 0)
        return rc;
    *out = h;
    return (int)pos;
}

/* Reads a line (up to LF) starting at *pos; strips CR, surrounding spaces and STX/ETX. */
static int next_line(const uint8_t *buf, size_t len, size_t *pos, struct field *line)
{
    size_t i = *pos, start, end;
    while (i < len && buf[i] != '\n')
        i++;
    if (i >= len)
        return -EAGAIN;
    start = *pos;
    end = i;
    while (start < end && (buf[start] == ' ' || buf[start] == STX || buf[start] == '\r'))
        start++;
    while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\r' || buf[end - 1] == ETX))
        end--;
    line->p = buf + start;
    line->n = end - start;
    *pos = i + 1;
    return 0;
}

static int hexgroup(const uint8_t *p, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else
            return WCS_E_SYNTAX;
        x = (x << 4) | d;
    }
    *v = x;
    return 0;
}

/* "<label> f gggggggg gggggggg" with any run of spaces between the parts. */
static int flag_line(const struct field *line, const char *label, uint64_t *mask)
{
    size_t ln = strlen(label), i;
    uint32_t g2, g1;
    bool set;
    if (line->n < ln || memcmp(line->p, label, ln) != 0)
        return WCS_E_SYNTAX;
    i = ln;
    while (i < line->n && line->p[i] == ' ')
        i++;
    if (i >= line->n || (line->p[i] != '0' && line->p[i] != '1'))
        return WCS_E_SYNTAX;
    set = line->p[i++] == '1';
    if (i >= line->n || line->p[i] != ' ')
        return WCS_E_SYNTAX;
    while (i < line->n && line->p[i] == ' ')
        i++;
    if (line->n - i != 17 || line->p[i + 8] != ' ')
        return WCS_E_SYNTAX;
    if (hexgroup(line->p + i, &g2) < 0 || hexgroup(line->p + i + 9, &g1) < 0)
        return WCS_E_SYNTAX;
    *mask = ((uint64_t)g2 << 32) | g1;
    if (set != (*mask != 0))
        return WCS_E_PROTOCOL;
    return 0;
}

int zebra_hqes_parse(const uint8_t *buf, size_t len, struct zebra_hqes *out)
{
    struct zebra_hqes q;
    struct field line;
    size_t pos = 0;
    int rc;
    assert(out);
    assert(buf || len == 0);
    /* Blank lines (a bare STX line) before the title are allowed. */
    do {
        rc = next_line(buf, len, &pos, &line);
        if (rc < 0)
            return rc;
    } while (line.n == 0);
    if (line.n != 14 || memcmp(line.p, "PRINTER STATUS", 14) != 0)
        return WCS_E_SYNTAX;
    if ((rc = next_line(buf, len, &pos, &line)) < 0)
        return rc;
    if ((rc = flag_line(&line, "ERRORS:", &q.errors)) < 0)
        return rc;
    if ((rc = next_line(buf, len, &pos, &line)) < 0)
        return rc;
    if ((rc = flag_line(&line, "WARNINGS:", &q.warnings)) < 0)
        return rc;
    /* A trailing ETX on its own belongs to this reply. */
    if (pos < len && buf[pos] == ETX)
        pos++;
    *out = q;
    return (int)pos;
}
