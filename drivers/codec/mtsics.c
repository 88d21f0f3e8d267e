/* Mettler Toledo MT-SICS commands and replies (Reference Manual MT-SICS, level 0 and 1): a reply
 * is "<cmd> <status> [<value> <unit>]" with the value right-aligned in a fixed-width field, so
 * fields are split on runs of spaces. Status letters: S stable, D dynamic, A done, I busy,
 * + overload, - underload, L logical error; ES/ET/EL are the generic error replies. */
#include "drivers/codec/mtsics.h"

#include <assert.h>
#include <string.h>

#include "base/err.h"
#include "massconv.h"

int mtsics_build(enum mtsics_cmd cmd, char *buf, size_t cap)
{
    const char *s;
    size_t n;
    switch (cmd) {
    case MTSICS_CMD_S:
        s = "S\r\n";
        break;
    case MTSICS_CMD_SI:
        s = "SI\r\n";
        break;
    case MTSICS_CMD_Z:
        s = "Z\r\n";
        break;
    case MTSICS_CMD_T:
        s = "T\r\n";
        break;
    case MTSICS_CMD_TA:
        s = "TA\r\n";
        break;
    case MTSICS_CMD_I4:
        s = "I4\r\n";
        break;
    default:
        return WCS_E_RANGE;
    }
    n = strlen(s);
    if (cap < n)
        return WCS_E_EXHAUSTED;
    memcpy(buf, s, n);
    return (int)n;
}

struct tok {
    const char *p;
    size_t n;
};

/* Splits on spaces into at most max tokens. Returns the count, or -1 if there are more. */
static int split(const char *s, size_t len, struct tok *t, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        if (i >= len)
            break;
        if (n == max)
            return -1;
        t[n].p = s + i;
        while (i < len && s[i] != ' ')
            i++;
        t[n].n = (size_t)(s + i - t[n].p);
        n++;
    }
    return n;
}

static bool tok_is(const struct tok *t, const char *s)
{
    return t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

static int parse_weight(const struct tok *val, const struct tok *unit, struct mtsics_reply *r)
{
    static const struct mass_unit *const units[] = {&MASS_G, &MASS_KG, &MASS_MG, &MASS_LB,
                                                    &MASS_OZ};
    const struct mass_unit *u = NULL;
    int64_t m;
    int e, rc;
    rc = mass_parse_decimal(val->p, val->n, &m, &e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (tok_is(unit, units[i]->name))
            u = units[i];
    if (!u)
        return WCS_E_RANGE;
    rc = mass_to_mg(m, e, u, &r->weight_mg);
    if (rc < 0)
        return rc;
    memcpy(r->unit, unit->p, unit->n);
    r->unit[unit->n] = '\0';
    r->has_weight = true;
    return 0;
}

static int status_of(const struct tok *t, enum mtsics_status *st)
{
    if (t->n != 1)
        return WCS_E_SYNTAX;
    switch (t->p[0]) {
    case 'S':
        *st = MTSICS_ST_STABLE;
        return 0;
    case 'D':
        *st = MTSICS_ST_DYNAMIC;
        return 0;
    case 'A':
        *st = MTSICS_ST_DONE;
        return 0;
    case 'I':
        *st = MTSICS_ST_BUSY;
        return 0;
    case '+':
        *st = MTSICS_ST_OVERLOAD;
        return 0;
    case '-':
        *st = MTSICS_ST_UNDERLOAD;
        return 0;
    case 'L':
        *st = MTSICS_ST_LOGICAL;
        return 0;
    default:
        return WCS_E_SYNTAX;
    }
}

/* I4 A "serial": the serial number is the quoted rest of the line. */
static int parse_serial(const char *line, size_t len, const struct tok *first,
                        struct mtsics_reply *r)
{
    const char *q = first->p;
    const char *end = line + len;
    const char *close;
    size_t n;
    if (*q != '"')
        return WCS_E_SYNTAX;
    q++;
    close = memchr(q, '"', (size_t)(end - q));
    if (!close)
        return WCS_E_SYNTAX;
    for (const char *p = close + 1; p < end; p++)
        if (*p != ' ')
            return WCS_E_SYNTAX;
    n = (size_t)(close - q);
    if (n == 0 || n > MTSICS_SERIAL_MAX)
        return WCS_E_SYNTAX;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)q[i] < 0x20 || (unsigned char)q[i] > 0x7e)
            return WCS_E_SYNTAX;
    memcpy(r->serial, q, n);
    r->serial[n] = '\0';
    return 0;
}

int mtsics_parse(const char *line, size_t len, struct mtsics_reply *out)
{
    struct mtsics_reply r;
    struct tok t[8];
    int n, rc;
    assert(out);
    assert(line || len == 0);
    if (len > 0 && line[len - 1] == '\r')
        len--;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
            return WCS_E_SYNTAX;
    memset(&r, 0, sizeof(r));
    /* A quoted I4 serial may hold spaces, hence room for more than 4 fields. */
    n = split(line, len, t, 8);
    if (n < 1)
        return WCS_E_SYNTAX;
    if (tok_is(&t[0], "ES") || tok_is(&t[0], "ET") || tok_is(&t[0], "EL")) {
        if (n != 1)
            return WCS_E_SYNTAX;
        r.cmd = MTSICS_CMD_NONE;
        r.status = t[0].p[1] == 'S'   ? MTSICS_ST_ERR_SYNTAX
                   : t[0].p[1] == 'T' ? MTSICS_ST_ERR_TRANSMIT
                                      : MTSICS_ST_ERR_LOGICAL;
        *out = r;
        return 0;
    }
    if (tok_is(&t[0], "S"))
        r.cmd = MTSICS_CMD_S;
    else if (tok_is(&t[0], "Z"))
        r.cmd = MTSICS_CMD_Z;
    else if (tok_is(&t[0], "T"))
        r.cmd = MTSICS_CMD_T;
    else if (tok_is(&t[0], "TA"))
        r.cmd = MTSICS_CMD_TA;
    else if (tok_is(&t[0], "I4"))
        r.cmd = MTSICS_CMD_I4;
    else
        return WCS_E_SYNTAX;
    if (n < 2)
        return WCS_E_SYNTAX;
    rc = status_of(&t[1], &r.status);
    if (rc < 0)
        return rc;
    /* Which statuses carry a value, per command. */
    bool with_value = (r.cmd == MTSICS_CMD_S &&
                       (r.status == MTSICS_ST_STABLE || r.status == MTSICS_ST_DYNAMIC)) ||
                      (r.cmd == MTSICS_CMD_T && r.status == MTSICS_ST_STABLE) ||
                      (r.cmd == MTSICS_CMD_TA && r.status == MTSICS_ST_DONE);
    bool allowed;
    switch (r.cmd) {
    case MTSICS_CMD_S:
        allowed = r.status != MTSICS_ST_DONE && r.status != MTSICS_ST_LOGICAL;
        break;
    case MTSICS_CMD_Z:
        allowed = r.status == MTSICS_ST_DONE || r.status == MTSICS_ST_BUSY ||
                  r.status == MTSICS_ST_OVERLOAD || r.status == MTSICS_ST_UNDERLOAD;
        break;
    case MTSICS_CMD_T:
        allowed = r.status == MTSICS_ST_STABLE || r.status == MTSICS_ST_BUSY ||
                  r.status == MTSICS_ST_OVERLOAD || r.status == MTSICS_ST_UNDERLOAD;
        break;
    case MTSICS_CMD_TA:
        allowed = r.status == MTSICS_ST_DONE || r.status == MTSICS_ST_BUSY ||
                  r.status == MTSICS_ST_LOGICAL;
        break;
    default: /* I4 */
        allowed = r.status == MTSICS_ST_DONE || r.status == MTSICS_ST_BUSY;
        break;
    }
    if (!allowed)
        return WCS_E_SYNTAX;
    if (r.cmd == MTSICS_CMD_I4 && r.status == MTSICS_ST_DONE) {
        /* The quoted serial may contain spaces: parse from the third field's start. */
        if (n < 3)
            return WCS_E_SYNTAX;
        rc = parse_serial(line, len, &t[2], &r);
        if (rc < 0)
            return rc;
    } else if (with_value) {
        if (n != 4)
            return WCS_E_SYNTAX;
        rc = parse_weight(&t[2], &t[3], &r);
        if (rc < 0)
            return rc;
    } else if (n != 2) {
        return WCS_E_SYNTAX;
    }
    *out = r;
    return 0;
}

void mtsics_framer_init(struct mtsics_framer *f)
{
    assert(f);
    f->len = 0;
    f->overflow = false;
    f->dropped_lines = 0;
}

int mtsics_framer_feed(struct mtsics_framer *f, const uint8_t *data, size_t len, size_t *consumed,
                       char *line, size_t *line_len)
{
    assert(f && consumed && line && line_len);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (c == '\n') {
            *consumed = i + 1;
            if (f->overflow) {
                f->overflow = false;
                f->len = 0;
                continue;
            }
            size_t n = f->len;
            if (n > 0 && f->buf[n - 1] == '\r')
                n--;
            memcpy(line, f->buf, n);
            line[n] = '\0';
            *line_len = n;
            f->len = 0;
            return 1;
        }
        if (f->overflow)
            continue;
        if (f->len >= MTSICS_LINE_MAX - 1) {
            f->overflow = true;
            f->dropped_lines++;
            continue;
        }
        f->buf[f->len++] = (char)c;
    }
    *consumed = len;
    return 0;
}
