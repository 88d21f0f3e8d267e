/* ZPL II stream splitter and format parser of the printer emulator (sim/include/sim/zpl.h).
 * Command shapes and defaults from the ZPL II Programming Guide: ^BY2,3.0,10 at power-on,
 * ^FH default indicator '_', ^A takes its font name as the character after A, ^FD data runs to
 * the next caret, ^BC mode D computes (00)/(01) check digits itself. */
#include "sim/zpl.h"

#include "base/err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static size_t next_ctl(const uint8_t *buf, size_t len, size_t from)
{
    while (from < len && buf[from] != '^' && buf[from] != '~')
        from++;
    return from;
}

enum zpl_event zpl_next(const uint8_t *buf, size_t len, size_t *consumed, size_t *start,
                        size_t *end)
{
    char a, b;
    *consumed = 0;
    if (len == 0)
        return ZPL_EV_NEED_MORE;
    if (buf[0] != '^' && buf[0] != '~') {
        *consumed = next_ctl(buf, len, 0);
        return ZPL_EV_SKIPPED;
    }
    if (len < 3)
        return ZPL_EV_NEED_MORE;
    a = (char)toupper(buf[1]);
    b = (char)toupper(buf[2]);
    if (buf[0] == '~') {
        *consumed = 3;
        if (a == 'H' && b == 'S')
            return ZPL_EV_HS;
        if (a == 'H' && b == 'Q') {
            if (len < 5)
                return (*consumed = 0, ZPL_EV_NEED_MORE);
            if (toupper(buf[3]) == 'E' && toupper(buf[4]) == 'S') {
                *consumed = 5;
                return ZPL_EV_HQES;
            }
            return ZPL_EV_SKIPPED;
        }
        if (a == 'P' && b == 'P')
            return ZPL_EV_PAUSE;
        if (a == 'P' && b == 'S')
            return ZPL_EV_RESUME;
        if (a == 'J' && b == 'A')
            return ZPL_EV_CANCEL_ALL;
        return ZPL_EV_SKIPPED;
    }
    if (a == 'X' && b == 'A') {
        for (size_t i = 3; i + 2 < len; i++) {
            if (buf[i] == '^' && toupper(buf[i + 1]) == 'X' && toupper(buf[i + 2]) == 'Z') {
                *start = 0;
                *end = i + 3;
                *consumed = i + 3;
                return ZPL_EV_FORMAT;
            }
        }
        return ZPL_EV_NEED_MORE;
    }
    /* A caret command outside a format (^XZ without ^XA, a config command): skip it. */
    *consumed = next_ctl(buf, len, 1);
    return ZPL_EV_SKIPPED;
}

/* ---- format parser ------------------------------------------------------------------------- */

enum { PARAMS_MAX = 8 };

struct params {
    const char *p[PARAMS_MAX];
    size_t n[PARAMS_MAX];
    int count;
};

static void split(const char *s, size_t len, struct params *pr)
{
    size_t b = 0;
    pr->count = 0;
    while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n' || s[len - 1] == ' '))
        len--;
    if (len == 0)
        return;
    for (size_t i = 0; i <= len && pr->count < PARAMS_MAX; i++) {
        if (i == len || s[i] == ',') {
            pr->p[pr->count] = s + b;
            pr->n[pr->count] = i - b;
            pr->count++;
            b = i + 1;
        }
    }
}

struct perr {
    char *buf;
    size_t cap;
};

static int fail(struct perr *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct perr *e, int rc, const char *fmt, ...)
{
    va_list ap;
    if (e->buf && e->cap) {
        va_start(ap, fmt);
        vsnprintf(e->buf, e->cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Parameter i as an integer in [lo, hi]; def when absent or empty. A decimal fraction is
 * accepted and truncated (^BY ratio is written 3.0). */
static int get_int(const struct params *pr, int i, int32_t def, int32_t lo, int32_t hi,
                   int32_t *out)
{
    int64_t v = 0;
    size_t k = 0, n;
    const char *s;
    if (i >= pr->count || pr->n[i] == 0) {
        *out = def;
        return 0;
    }
    s = pr->p[i];
    n = pr->n[i];
    if (!isdigit((unsigned char)s[0]))
        return WCS_E_SYNTAX;
    while (k < n && isdigit((unsigned char)s[k])) {
        v = v * 10 + (s[k] - '0');
        if (v > 100000000)
            return WCS_E_RANGE;
        k++;
    }
    if (k < n && s[k] == '.') {
        k++;
        while (k < n && isdigit((unsigned char)s[k]))
            k++;
    }
    if (k != n)
        return WCS_E_SYNTAX;
    if (v < lo || v > hi)
        return WCS_E_RANGE;
    *out = (int32_t)v;
    return 0;
}

static int get_yn(const struct params *pr, int i, bool def, bool *out)
{
    if (i >= pr->count || pr->n[i] == 0) {
        *out = def;
        return 0;
    }
    if (pr->n[i] != 1 || (toupper(pr->p[i][0]) != 'Y' && toupper(pr->p[i][0]) != 'N'))
        return WCS_E_SYNTAX;
    *out = toupper(pr->p[i][0]) == 'Y';
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)toupper((unsigned char)c);
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

struct state {
    int32_t x, y, lh_x, lh_y;
    char cf_font;
    int32_t cf_h, cf_w;
    bool a_set;
    char a_font;
    int32_t a_h, a_w;
    int32_t by_w, by_h;
    bool bc_set, bc_hr, bc_above;
    int32_t bc_h;
    char bc_mode;
    char fh;   /* 0: ^FH not in effect */
    bool open; /* a field waits for ^FS */
};

static void end_field(struct state *st)
{
    st->a_set = false;
    st->bc_set = false;
    st->fh = 0;
    st->open = false;
}

static struct zpl_field *new_field(struct zpl_label *lb, struct state *st, enum zpl_kind kind)
{
    struct zpl_field *f;
    if (lb->n_fields >= ZPL_FIELDS_MAX)
        return NULL;
    f = &lb->f[lb->n_fields++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->x = st->x;
    f->y = st->y;
    return f;
}

#define CHECK(expr, what)                                                                          \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0) {                                                                             \
            rc = fail(&e, rc_, "^%s: bad %s", cmd, what);                                          \
            goto bad;                                                                              \
        }                                                                                          \
    } while (0)

int zpl_parse(const char *fmt, size_t len, struct zpl_label *out, char *err, size_t cap)
{
    static struct zpl_label lb_zero;
    struct perr e = {err, cap};
    struct state st;
    struct zpl_label *lb = out;
    size_t i, body_end;
    int rc;
    const uint8_t *u = (const uint8_t *)fmt;
    if (len < 6 || fmt[0] != '^' || toupper(u[1]) != 'X' || toupper(u[2]) != 'A')
        return fail(&e, WCS_E_SYNTAX, "format does not start with ^XA");
    body_end = len - 3;
    if (fmt[body_end] != '^' || toupper(u[body_end + 1]) != 'X' || toupper(u[body_end + 2]) != 'Z')
        return fail(&e, WCS_E_SYNTAX, "format does not end with ^XZ");
    /* The struct is large: it is parsed in place and zeroed again on failure. */
    *lb = lb_zero;
    lb->pq = 1;
    memset(&st, 0, sizeof(st));
    st.cf_font = '0';
    st.cf_h = 30;
    st.by_w = 2;
    st.by_h = 10;
    i = 3;
    while (i < body_end) {
        char cmd[3] = {0};
        size_t ps, pe;
        struct params pr;
        if (fmt[i] != '^' && fmt[i] != '~') {
            i++; /* line breaks and stray bytes between commands */
            continue;
        }
        if (i + 3 > body_end) {
            rc = fail(&e, WCS_E_SYNTAX, "truncated command at byte %zu", i);
            goto bad;
        }
        if (fmt[i] == '~') {
            lb->ignored++;
            i = next_ctl(u, body_end, i + 1);
            continue;
        }
        cmd[0] = (char)toupper(u[i + 1]);
        if (cmd[0] == 'A') {
            cmd[1] = fmt[i + 2]; /* the font name */
        } else {
            cmd[1] = (char)toupper(u[i + 2]);
        }
        ps = i + 3;
        if (cmd[0] == 'F' && cmd[1] == 'D')
            pe = ps;
        else
            pe = next_ctl(u, body_end, ps);
        if (cmd[0] == 'F' && cmd[1] == 'D') {
            struct zpl_field *f;
            size_t n = 0;
            while (pe < body_end && fmt[pe] != '^')
                pe++;
            if (st.open) {
                rc = fail(&e, WCS_E_SYNTAX, "^FD: previous field not ended by ^FS");
                goto bad;
            }
            f = new_field(lb, &st, st.bc_set ? ZPL_CODE128 : ZPL_TEXT);
            if (!f) {
                rc = fail(&e, WCS_E_EXHAUSTED, "^FD: more than %d fields", ZPL_FIELDS_MAX);
                goto bad;
            }
            for (size_t k = ps; k < pe; k++) {
                char c = fmt[k];
                if (st.fh && c == st.fh) {
                    int h1 = k + 2 < pe ? hexval(fmt[k + 1]) : -1;
                    int h2 = k + 2 < pe ? hexval(fmt[k + 2]) : -1;
                    if (h1 < 0 || h2 < 0) {
                        rc = fail(&e, WCS_E_SYNTAX, "^FD: bad ^FH escape at byte %zu", k);
                        goto bad;
                    }
                    c = (char)(h1 * 16 + h2);
                    k += 2;
                }
                if (n >= ZPL_DATA_MAX) {
                    rc = fail(&e, WCS_E_RANGE, "^FD: data longer than %d bytes", ZPL_DATA_MAX);
                    goto bad;
                }
                f->data[n++] = c;
            }
            f->data[n] = '\0';
            f->data_len = n;
            if (f->kind == ZPL_CODE128) {
                f->bar_h = st.bc_h ? st.bc_h : st.by_h;
                f->module_w = st.by_w;
                f->hr_line = st.bc_hr;
                f->hr_above = st.bc_above;
                f->mode = st.bc_mode;
            } else {
                f->font = st.a_set ? st.a_font : st.cf_font;
                f->font_h = st.a_set ? st.a_h : st.cf_h;
                f->font_w = st.a_set ? st.a_w : st.cf_w;
            }
            st.open = true;
            i = pe;
            continue;
        }
        split(fmt + ps, pe - ps, &pr);
        i = pe;
        if (cmd[0] == 'A') {
            int32_t h, w;
            if (pr.count > 0 && pr.n[0] > 1) {
                rc = fail(&e, WCS_E_SYNTAX, "^A: bad orientation");
                goto bad;
            }
            CHECK(get_int(&pr, 1, st.cf_h, 10, 32000, &h), "height");
            CHECK(get_int(&pr, 2, 0, 0, 32000, &w), "width");
            st.a_set = true;
            st.a_font = cmd[1];
            st.a_h = h;
            st.a_w = w;
        } else if (!strcmp(cmd, "FO") || !strcmp(cmd, "FT")) {
            int32_t x, y;
            CHECK(get_int(&pr, 0, 0, 0, 32000, &x), "x");
            CHECK(get_int(&pr, 1, 0, 0, 32000, &y), "y");
            st.x = st.lh_x + x;
            st.y = st.lh_y + y;
        } else if (!strcmp(cmd, "LH")) {
            CHECK(get_int(&pr, 0, 0, 0, 32000, &st.lh_x), "x");
            CHECK(get_int(&pr, 1, 0, 0, 32000, &st.lh_y), "y");
        } else if (!strcmp(cmd, "CF")) {
            if (pr.count > 0 && pr.n[0] == 1)
                st.cf_font = pr.p[0][0];
            else if (pr.count > 0 && pr.n[0] > 1) {
                rc = fail(&e, WCS_E_SYNTAX, "^CF: bad font name");
                goto bad;
            }
            CHECK(get_int(&pr, 1, st.cf_h, 10, 32000, &st.cf_h), "height");
            CHECK(get_int(&pr, 2, st.cf_w, 0, 32000, &st.cf_w), "width");
        } else if (!strcmp(cmd, "BY")) {
            int32_t ratio;
            CHECK(get_int(&pr, 0, st.by_w, 1, 10, &st.by_w), "module width");
            CHECK(get_int(&pr, 1, 3, 2, 3, &ratio), "ratio");
            CHECK(get_int(&pr, 2, st.by_h, 1, 32000, &st.by_h), "height");
        } else if (!strcmp(cmd, "BC")) {
            bool check;
            if (pr.count > 0 && pr.n[0] > 1) {
                rc = fail(&e, WCS_E_SYNTAX, "^BC: bad orientation");
                goto bad;
            }
            CHECK(get_int(&pr, 1, 0, 1, 32000, &st.bc_h), "height");
            CHECK(get_yn(&pr, 2, true, &st.bc_hr), "interpretation line flag");
            CHECK(get_yn(&pr, 3, false, &st.bc_above), "interpretation line position");
            CHECK(get_yn(&pr, 4, false, &check), "check digit flag");
            st.bc_mode = 'N';
            if (pr.count > 5 && pr.n[5] > 0) {
                char m = (char)toupper((unsigned char)pr.p[5][0]);
                if (pr.n[5] != 1 || (m != 'N' && m != 'U' && m != 'A' && m != 'D')) {
                    rc = fail(&e, WCS_E_SYNTAX, "^BC: mode must be N, U, A or D");
                    goto bad;
                }
                st.bc_mode = m;
            }
            st.bc_set = true;
        } else if (!strcmp(cmd, "FH")) {
            st.fh = pr.count > 0 && pr.n[0] == 1 ? pr.p[0][0] : '_';
        } else if (!strcmp(cmd, "FS")) {
            end_field(&st);
        } else if (!strcmp(cmd, "GB")) {
            struct zpl_field *f;
            int32_t w, h, t;
            CHECK(get_int(&pr, 2, 1, 1, 32000, &t), "thickness");
            CHECK(get_int(&pr, 0, t, 1, 32000, &w), "width");
            CHECK(get_int(&pr, 1, t, 1, 32000, &h), "height");
            if (st.open) {
                rc = fail(&e, WCS_E_SYNTAX, "^GB: previous field not ended by ^FS");
                goto bad;
            }
            f = new_field(lb, &st, ZPL_BOX);
            if (!f) {
                rc = fail(&e, WCS_E_EXHAUSTED, "^GB: more than %d fields", ZPL_FIELDS_MAX);
                goto bad;
            }
            f->box_w = w < t ? t : w;
            f->box_h = h < t ? t : h;
            f->box_t = t;
            f->box_color = 'B';
            if (pr.count > 3 && pr.n[3] > 0) {
                char c = (char)toupper((unsigned char)pr.p[3][0]);
                if (pr.n[3] != 1 || (c != 'B' && c != 'W')) {
                    rc = fail(&e, WCS_E_SYNTAX, "^GB: color must be B or W");
                    goto bad;
                }
                f->box_color = c;
            }
            st.open = true;
        } else if (!strcmp(cmd, "PW")) {
            CHECK(get_int(&pr, 0, 0, 2, 32000, &lb->pw), "width");
        } else if (!strcmp(cmd, "LL")) {
            CHECK(get_int(&pr, 0, 0, 1, 32000, &lb->ll), "length");
        } else if (!strcmp(cmd, "PQ")) {
            int32_t q;
            CHECK(get_int(&pr, 0, 1, 1, 99999999, &q), "quantity");
            lb->pq = (uint32_t)q;
        } else if (!strcmp(cmd, "FX")) {
            /* comment */
        } else if (!strcmp(cmd, "XA")) {
            rc = fail(&e, WCS_E_SYNTAX, "^XA inside a format");
            goto bad;
        } else {
            lb->ignored++;
        }
    }
    if (st.open && lb->n_fields > 0 && lb->f[lb->n_fields - 1].kind != ZPL_BOX) {
        rc = fail(&e, WCS_E_SYNTAX, "^FD without ^FS before ^XZ");
        goto bad;
    }
    return 0;
bad:
    *lb = lb_zero;
    return rc;
}

static int check_digit(const char *d, size_t n)
{
    int sum = 0;
    for (size_t k = 0; k < n; k++) {
        int w = ((n - k) % 2 == 1) ? 3 : 1; /* weights 3,1,3,... from the right */
        sum += (d[k] - '0') * w;
    }
    return (10 - sum % 10) % 10;
}

int zpl_gs1_normalize(const char *data, size_t len, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    while (i < len && data[i] == ' ')
        i++;
    if (i >= len || data[i] != '(')
        return WCS_E_SYNTAX;
    while (i < len) {
        char ai[5];
        size_t an = 0, vs, vn;
        bool pad;
        if (data[i] != '(')
            return WCS_E_SYNTAX;
        i++;
        while (i < len && data[i] != ')') {
            if (!isdigit((unsigned char)data[i]) || an >= 4)
                return WCS_E_SYNTAX;
            ai[an++] = data[i++];
        }
        if (i >= len || an < 2)
            return WCS_E_SYNTAX;
        ai[an] = '\0';
        i++;
        vs = o + an + 2;
        if (vs >= cap)
            return WCS_E_EXHAUSTED;
        out[o++] = '[';
        memcpy(out + o, ai, an);
        o += an;
        out[o++] = ']';
        while (i < len && data[i] != '(') {
            if (data[i] != ' ') {
                if (o + 1 >= cap)
                    return WCS_E_EXHAUSTED;
                out[o++] = data[i];
            }
            i++;
        }
        vn = o - vs;
        if (vn == 0)
            return WCS_E_SYNTAX;
        pad = (!strcmp(ai, "00") && vn == 17) ||
              ((!strcmp(ai, "01") || !strcmp(ai, "02")) && vn == 13);
        if (pad) {
            for (size_t k = vs; k < o; k++)
                if (!isdigit((unsigned char)out[k]))
                    return WCS_E_SYNTAX;
            if (o + 1 >= cap)
                return WCS_E_EXHAUSTED;
            out[o] = (char)('0' + check_digit(out + vs, vn));
            o++;
        }
    }
    out[o] = '\0';
    return (int)o;
}
