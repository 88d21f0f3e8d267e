/* Pure parsers of the configuration formats (config/parse.h): strict numbers, times, device
 * URIs, GTINs, location path ranges and CSV lines. No I/O and no allocation. */
#include "config/parse.h"

#include "base/err.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char **why, const char *msg, int rc)
{
    if (why)
        *why = msg;
    return rc;
}

/* Classifies a non-integer for a better message than "not an integer". */
static int bad_uint(const char *s, const char **why)
{
    const char *p = s;
    if (*p == '\0')
        return fail(why, "empty value", WCS_E_SYNTAX);
    if (*p == '-' && isdigit((unsigned char)p[1]))
        return fail(why, "must not be negative", WCS_E_RANGE);
    if (*p == '+')
        return fail(why, "a sign is not allowed", WCS_E_SYNTAX);
    while (isdigit((unsigned char)*p))
        p++;
    if (p != s && (*p == '.' || *p == 'e' || *p == 'E'))
        return fail(why, "not an integer (fractions and exponents are not allowed)", WCS_E_SYNTAX);
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return fail(why, "hexadecimal is not allowed, write it in decimal", WCS_E_SYNTAX);
    return fail(why, "not a decimal integer", WCS_E_SYNTAX);
}

int cfg_parse_uint(const char *s, uint64_t max, uint64_t *out, const char **why)
{
    uint64_t v = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return bad_uint(s, why);
    if (p[0] == '0' && p[1] != '\0') {
        if (isdigit((unsigned char)p[1]))
            return fail(why, "leading zeros are not allowed (no octal); write it without them",
                        WCS_E_SYNTAX);
        return bad_uint(s, why);
    }
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            v = UINT64_MAX;
            while (isdigit((unsigned char)*p))
                p++;
            if (*p)
                return bad_uint(s, why);
            return fail(why, "out of range", WCS_E_RANGE);
        }
        v = v * 10 + d;
    }
    if (*p)
        return bad_uint(s, why);
    if (v > max)
        return fail(why, "out of range", WCS_E_RANGE);
    *out = v;
    return 0;
}

int cfg_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, const char **why)
{
    uint64_t mag;
    bool neg = s[0] == '-';
    int rc;
    if (neg && !isdigit((unsigned char)s[1]))
        return fail(why, "not a decimal integer", WCS_E_SYNTAX);
    rc = cfg_parse_uint(neg ? s + 1 : s, (uint64_t)INT64_MAX + 1, &mag, why);
    if (rc == WCS_E_RANGE && why && strcmp(*why, "must not be negative") == 0)
        return fail(why, "not a decimal integer", WCS_E_SYNTAX);
    if (rc < 0)
        return rc;
    if (neg) {
        if (mag == (uint64_t)INT64_MAX + 1) {
            if (min > INT64_MIN)
                return fail(why, "out of range", WCS_E_RANGE);
            *out = INT64_MIN;
            return 0;
        }
        if (mag == 0)
            return fail(why, "write 0 without a sign", WCS_E_SYNTAX);
        if (-(int64_t)mag < min)
            return fail(why, "out of range", WCS_E_RANGE);
        *out = -(int64_t)mag;
        return 0;
    }
    if (mag > (uint64_t)INT64_MAX || (int64_t)mag > max || (int64_t)mag < min)
        return fail(why, "out of range", WCS_E_RANGE);
    *out = (int64_t)mag;
    return 0;
}

int cfg_parse_number(const char *s, double *out, const char **why)
{
    const char *p = s;
    char *end;
    double v;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return fail(why, "not a decimal number", WCS_E_SYNTAX);
    if (p[0] == '0' && isdigit((unsigned char)p[1]))
        return fail(why, "leading zeros are not allowed", WCS_E_SYNTAX);
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return fail(why, "hexadecimal is not allowed", WCS_E_SYNTAX);
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return fail(why, "not a decimal number", WCS_E_SYNTAX);
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return fail(why, "not a decimal number", WCS_E_SYNTAX);
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return fail(why, "not a decimal number", WCS_E_SYNTAX);
    v = strtod(s, &end);
    if (*end || !isfinite(v))
        return fail(why, "out of range", WCS_E_RANGE);
    *out = v;
    return 0;
}

int cfg_parse_bool(const char *s, bool *out, const char **why)
{
    if (strcmp(s, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(s, "false") == 0) {
        *out = false;
        return 0;
    }
    return fail(why, "expected true or false", WCS_E_SYNTAX);
}

int cfg_parse_time(const char *s, uint16_t *minutes, const char **why)
{
    unsigned h, m;
    if (!(isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':' &&
          isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) && s[5] == '\0'))
        return fail(why, "expected a 24 h time HH:MM (e.g. 09:30)", WCS_E_SYNTAX);
    h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
    if (h > 23)
        return fail(why, "hour out of range, expected 00..23", WCS_E_RANGE);
    if (m > 59)
        return fail(why, "minute out of range, expected 00..59", WCS_E_RANGE);
    *minutes = (uint16_t)(h * 60 + m);
    return 0;
}

const char *cfg_uri_scheme_name(enum cfg_uri_scheme s)
{
    switch (s) {
    case CFG_URI_TCP:
        return "tcp";
    case CFG_URI_RTU:
        return "rtu";
    case CFG_URI_SERIAL:
        return "serial";
    case CFG_URI_USB:
        return "usb";
    }
    return "?";
}

static bool is_standard_baud(uint64_t b)
{
    static const uint32_t rates[] = {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
        if (rates[i] == b)
            return true;
    return false;
}

static int parse_hex16(const char *s, size_t n, uint16_t *out)
{
    unsigned v = 0;
    if (n != 4)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (!isxdigit(c))
            return -1;
        v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    *out = (uint16_t)v;
    return 0;
}

static bool is_host_char(int c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_';
}

static int parse_tcp(const char *p, struct cfg_uri *u, const char **why)
{
    const char *host = p, *host_end, *colon;
    char port[8];
    uint64_t v;
    size_t n;
    if (*p == '[') {
        host = p + 1;
        host_end = strchr(host, ']');
        if (!host_end)
            return fail(why, "unterminated IPv6 address, expected tcp://[addr]:port", WCS_E_SYNTAX);
        for (const char *q = host; q < host_end; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return fail(why, "invalid IPv6 address", WCS_E_SYNTAX);
        colon = host_end + 1;
        if (*colon != ':')
            return fail(why, "missing port, expected tcp://host:port", WCS_E_SYNTAX);
    } else {
        colon = strrchr(p, ':');
        if (!colon)
            return fail(why, "missing port, expected tcp://host:port", WCS_E_SYNTAX);
        host_end = colon;
        for (const char *q = host; q < host_end; q++)
            if (!is_host_char((unsigned char)*q))
                return fail(why, "invalid host name, expected tcp://host:port", WCS_E_SYNTAX);
    }
    n = (size_t)(host_end - host);
    if (n == 0)
        return fail(why, "missing host, expected tcp://host:port", WCS_E_SYNTAX);
    if (n > CFG_URI_HOST_MAX)
        return fail(why, "host name too long", WCS_E_SYNTAX);
    if (strlen(colon + 1) >= sizeof(port) || colon[1] == '\0')
        return fail(why, "invalid port, expected 1..65535", colon[1] ? WCS_E_RANGE : WCS_E_SYNTAX);
    strcpy(port, colon + 1);
    if (cfg_parse_uint(port, 65535, &v, NULL) < 0 || v == 0)
        return fail(why, "invalid port, expected 1..65535", WCS_E_RANGE);
    memcpy(u->host, host, n);
    u->host[n] = '\0';
    u->port = (uint16_t)v;
    return 0;
}

static int parse_serial(const char *p, struct cfg_uri *u, const char **why)
{
    const char *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    bool have_baud = false;
    if (*p != '/' || n < 2)
        return fail(why, "expected an absolute device path, e.g. rtu:///dev/ttyS1?baud=19200",
                    WCS_E_SYNTAX);
    if (n > CFG_URI_DEVICE_MAX)
        return fail(why, "device path too long", WCS_E_SYNTAX);
    for (size_t i = 0; i < n; i++)
        if (!is_host_char((unsigned char)p[i]) && p[i] != '/')
            return fail(why, "invalid character in device path", WCS_E_SYNTAX);
    memcpy(u->device, p, n);
    u->device[n] = '\0';
    u->parity = 'N';
    u->data_bits = 8;
    u->stop_bits = 1;
    while (q && *q) {
        const char *key = q + 1, *eq = strchr(key, '='), *amp;
        char val[16];
        size_t klen, vlen;
        uint64_t v;
        if (!eq)
            return fail(why, "expected key=value parameters (baud, parity, data, stop)",
                        WCS_E_SYNTAX);
        amp = strchr(eq, '&');
        klen = (size_t)(eq - key);
        vlen = amp ? (size_t)(amp - eq - 1) : strlen(eq + 1);
        if (vlen == 0 || vlen >= sizeof(val))
            return fail(why, "invalid parameter value", WCS_E_SYNTAX);
        memcpy(val, eq + 1, vlen);
        val[vlen] = '\0';
        if (klen == 4 && strncmp(key, "baud", 4) == 0) {
            if (cfg_parse_uint(val, UINT32_MAX, &v, NULL) < 0 || !is_standard_baud(v))
                return fail(why,
                            "unsupported baud rate, expected one of 1200 2400 4800 9600 19200 "
                            "38400 57600 115200",
                            WCS_E_RANGE);
            u->baud = (uint32_t)v;
            have_baud = true;
        } else if (klen == 6 && strncmp(key, "parity", 6) == 0) {
            if (vlen != 1 || !strchr("NEO", val[0]))
                return fail(why, "invalid parity, expected N, E or O", WCS_E_RANGE);
            u->parity = val[0];
        } else if (klen == 4 && strncmp(key, "data", 4) == 0) {
            if (strcmp(val, "7") != 0 && strcmp(val, "8") != 0)
                return fail(why, "invalid data bits, expected 7 or 8", WCS_E_RANGE);
            u->data_bits = (uint8_t)(val[0] - '0');
        } else if (klen == 4 && strncmp(key, "stop", 4) == 0) {
            if (strcmp(val, "1") != 0 && strcmp(val, "2") != 0)
                return fail(why, "invalid stop bits, expected 1 or 2", WCS_E_RANGE);
            u->stop_bits = (uint8_t)(val[0] - '0');
        } else {
            return fail(why, "unknown parameter, expected baud, parity, data or stop",
                        WCS_E_SYNTAX);
        }
        q = amp;
    }
    if (!have_baud)
        return fail(why, "missing baud parameter, e.g. ?baud=19200", WCS_E_SYNTAX);
    return 0;
}

static int parse_usb(const char *p, struct cfg_uri *u, const char **why)
{
    const char *colon = strchr(p, ':'), *q;
    size_t n;
    if (!colon)
        return fail(why, "expected usb://VID:PID with 4 hex digits each", WCS_E_SYNTAX);
    q = strchr(colon, '?');
    n = q ? (size_t)(q - colon - 1) : strlen(colon + 1);
    if (parse_hex16(p, (size_t)(colon - p), &u->vid) < 0 || parse_hex16(colon + 1, n, &u->pid) < 0)
        return fail(why, "expected usb://VID:PID with 4 hex digits each", WCS_E_SYNTAX);
    u->serial[0] = '\0';
    if (q) {
        if (strncmp(q, "?serial=", 8) != 0 || q[8] == '\0')
            return fail(why, "the only usb parameter is serial=...", WCS_E_SYNTAX);
        if (strlen(q + 8) > CFG_URI_SERIAL_MAX)
            return fail(why, "serial number too long", WCS_E_SYNTAX);
        for (const char *c = q + 8; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
                return fail(why, "invalid character in serial number", WCS_E_SYNTAX);
        strcpy(u->serial, q + 8);
    }
    return 0;
}

int cfg_parse_uri(const char *s, struct cfg_uri *out, const char **why)
{
    struct cfg_uri u;
    int rc;
    memset(&u, 0, sizeof(u));
    if (strncmp(s, "tcp://", 6) == 0) {
        u.scheme = CFG_URI_TCP;
        rc = parse_tcp(s + 6, &u, why);
    } else if (strncmp(s, "rtu://", 6) == 0) {
        u.scheme = CFG_URI_RTU;
        rc = parse_serial(s + 6, &u, why);
    } else if (strncmp(s, "serial://", 9) == 0) {
        u.scheme = CFG_URI_SERIAL;
        rc = parse_serial(s + 9, &u, why);
    } else if (strncmp(s, "usb://", 6) == 0) {
        u.scheme = CFG_URI_USB;
        rc = parse_usb(s + 6, &u, why);
    } else {
        return fail(why, "unknown scheme, expected tcp://, rtu://, serial:// or usb://",
                    WCS_E_SYNTAX);
    }
    if (rc == 0)
        *out = u;
    return rc;
}

int cfg_gtin_check(const char *s, char norm14[15], const char **why)
{
    size_t n = strlen(s);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return fail(why, "a GTIN has digits only", WCS_E_SYNTAX);
    if (n != 8 && n != 12 && n != 13 && n != 14)
        return fail(why, "a GTIN has 8, 12, 13 or 14 digits", WCS_E_SYNTAX);
    /* GS1 General Specifications 7.9.1: weights 3,1,3,... from the digit left of the check. */
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned d = (unsigned)(s[n - 2 - i] - '0');
        sum += (i % 2 == 0) ? 3 * d : d;
    }
    if ((10 - sum % 10) % 10 != (unsigned)(s[n - 1] - '0'))
        return fail(why, "wrong check digit", WCS_E_CHECK);
    if (norm14) {
        memset(norm14, '0', 14 - n);
        memcpy(norm14 + 14 - n, s, n);
        norm14[14] = '\0';
    }
    return 0;
}

static int parse_bound(const char *s, size_t n, uint32_t *v, bool *alpha, uint8_t *width)
{
    uint64_t x = 0;
    if (n == 1 && isalpha((unsigned char)s[0])) {
        *alpha = true;
        *v = (unsigned char)s[0];
        *width = 0;
        return 0;
    }
    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *alpha = false;
    *v = (uint32_t)x;
    *width = (s[0] == '0' && n > 1) ? (uint8_t)n : 0;
    return 0;
}

int cfg_range_parse(const char *pattern, struct cfg_range *r, const char **why)
{
    struct cfg_range out;
    memset(&out, 0, sizeof(out));
    out.pattern = pattern;
    out.count = 1;
    for (const char *p = pattern; *p; p++) {
        const char *close, *dots;
        struct cfg_range_group *g;
        bool a1, a2;
        uint8_t w2;
        if (*p == '}')
            return fail(why, "'}' without '{'", WCS_E_SYNTAX);
        if (*p != '{')
            continue;
        close = strchr(p, '}');
        dots = strstr(p, "..");
        if (!close || !dots || dots > close)
            return fail(why, "a range is written {first..last}, e.g. {01..40} or {A..F}",
                        WCS_E_SYNTAX);
        if (out.n_groups == CFG_RANGE_GROUPS_MAX)
            return fail(why, "too many range groups (at most 8)", WCS_E_RANGE);
        g = &out.g[out.n_groups];
        if (parse_bound(p + 1, (size_t)(dots - p - 1), &g->start, &a1, &g->width) < 0 ||
            parse_bound(dots + 2, (size_t)(close - dots - 2), &g->end, &a2, &w2) < 0 || a1 != a2)
            return fail(why,
                        "a range is written {first..last} with two numbers or two letters, "
                        "e.g. {01..40} or {A..F}",
                        WCS_E_SYNTAX);
        g->alpha = a1;
        if (g->start > g->end)
            return fail(why, "range start is after its end", WCS_E_RANGE);
        g->from = (uint32_t)(p - pattern);
        g->to = (uint32_t)(close - pattern + 1);
        out.count *= (uint64_t)(g->end - g->start + 1);
        if (out.count > CFG_RANGE_EXPAND_MAX)
            return fail(why, "range expands to more than 100000 locations", WCS_E_RANGE);
        out.n_groups++;
        p = close;
    }
    *r = out;
    return 0;
}

int cfg_range_expand(const struct cfg_range *r, uint64_t idx, char *buf, size_t len)
{
    uint32_t vals[CFG_RANGE_GROUPS_MAX];
    size_t o = 0;
    uint32_t pos = 0;
    if (idx >= r->count)
        return WCS_E_RANGE;
    for (uint32_t i = r->n_groups; i-- > 0;) {
        uint64_t span = r->g[i].end - r->g[i].start + 1;
        vals[i] = r->g[i].start + (uint32_t)(idx % span);
        idx /= span;
    }
    for (uint32_t i = 0; i <= r->n_groups; i++) {
        uint32_t lit_end = i < r->n_groups ? r->g[i].from : (uint32_t)strlen(r->pattern);
        size_t lit = lit_end - pos;
        int n;
        if (o + lit >= len)
            return WCS_E_EXHAUSTED;
        memcpy(buf + o, r->pattern + pos, lit);
        o += lit;
        if (i == r->n_groups)
            break;
        if (r->g[i].alpha)
            n = snprintf(buf + o, len - o, "%c", (char)vals[i]);
        else
            n = snprintf(buf + o, len - o, "%0*u", (int)r->g[i].width, vals[i]);
        if (n < 0 || (size_t)n >= len - o)
            return WCS_E_EXHAUSTED;
        o += (size_t)n;
        pos = r->g[i].to;
    }
    buf[o] = '\0';
    return 0;
}

int cfg_path_check(const char *path, const char **why)
{
    size_t n = strlen(path), seg = 0, segs = 1;
    if (n == 0)
        return fail(why, "empty path", WCS_E_SYNTAX);
    if (n > 255)
        return fail(why, "path longer than 255 bytes", WCS_E_SYNTAX);
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)path[i];
        if (c == '/') {
            if (seg == 0)
                return fail(why, "empty path segment (a path is like WH1/Stock/A/01)",
                            WCS_E_SYNTAX);
            seg = 0;
            segs++;
            continue;
        }
        if (!isalnum(c) && c != '_' && c != '-' && c != '.')
            return fail(why, "a path segment has only letters, digits, '_', '-' and '.'",
                        WCS_E_SYNTAX);
        seg++;
    }
    if (seg == 0)
        return fail(why, "empty path segment (a path is like WH1/Stock/A/01)", WCS_E_SYNTAX);
    if (segs > 16)
        return fail(why, "more than 16 path segments", WCS_E_SYNTAX);
    return 0;
}

int cfg_id_check(const char *id, const char **why)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return fail(why, "an id has 1 to 64 characters", WCS_E_SYNTAX);
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)id[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.')
            return fail(why, "an id has only letters, digits, '_', '-' and '.'", WCS_E_SYNTAX);
    }
    return 0;
}

int cfg_csv_split(const char *line, size_t len, char *scratch, struct cfg_csv_field *fields,
                  size_t max, size_t *n, uint32_t *err_col, const char **why)
{
    size_t i = 0, o = 0, count = 0;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    for (;;) {
        struct cfg_csv_field f;
        if (count == max)
            return fail(why, "too many fields", WCS_E_EXHAUSTED);
        f.col = (uint32_t)i + 1;
        f.text = scratch + o;
        if (i < len && line[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    *err_col = f.col;
                    return fail(why, "unterminated quoted field", WCS_E_SYNTAX);
                }
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        scratch[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                scratch[o++] = line[i++];
            }
            if (i < len && line[i] != ',') {
                *err_col = (uint32_t)i + 1;
                return fail(why, "unexpected character after a closing quote", WCS_E_SYNTAX);
            }
        } else {
            while (i < len && line[i] != ',') {
                if (line[i] == '"') {
                    *err_col = (uint32_t)i + 1;
                    return fail(why, "a quote inside an unquoted field", WCS_E_SYNTAX);
                }
                scratch[o++] = line[i++];
            }
        }
        f.len = (size_t)(scratch + o - f.text);
        scratch[o++] = '\0';
        fields[count++] = f;
        if (i >= len)
            break;
        i++; /* the comma */
    }
    *n = count;
    return 0;
}
