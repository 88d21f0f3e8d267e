/* The harness's pure helpers: user list parsing ("name:pass:role,...", from wcs-services --users)
 * and the mosquitto ACL text for wcs's topic tree (DESIGN.md §4.3). No I/O, no allocation;
 * unit-tested in tests/harness/test_harness_users.c and fuzzed by fuzz_harness_users. */
#include "harness/harness.h"

#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {
    [HARNESS_ROLE_OPERATOR] = "operator",
    [HARNESS_ROLE_SUPERVISOR] = "supervisor",
    [HARNESS_ROLE_SERVICE] = "service",
};
#define N_ROLES (sizeof(role_names) / sizeof(role_names[0]))

int harness_role_parse(const char *s, enum harness_role *out)
{
    for (size_t i = 0; i < N_ROLES; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum harness_role)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *harness_role_name(enum harness_role role)
{
    if ((unsigned)role >= N_ROLES)
        return "?";
    return role_names[role];
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static int name_check_n(const char *s, size_t n)
{
    if (n == 0 || n >= HARNESS_NAME_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(s[i]))
            return -EINVAL;
    /* "." and ".." would be directory names in the per-user password files. */
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return -EINVAL;
    return 0;
}

int harness_name_check(const char *name)
{
    return name_check_n(name, strnlen(name, HARNESS_NAME_MAX));
}

static bool is_password_char(char c)
{
    return c > ' ' && c <= '~' && c != '"' && c != '\'' && c != '\\' && c != ',' && c != ':';
}

static int password_check_n(const char *s, size_t n)
{
    if (n == 0 || n >= HARNESS_PASSWORD_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_password_char(s[i]))
            return -EINVAL;
    return 0;
}

int harness_password_check(const char *password)
{
    return password_check_n(password, strnlen(password, HARNESS_PASSWORD_MAX));
}

/* Parses one "name[:password[:role]]" entry of n bytes into *u. */
static int parse_entry(const char *s, size_t n, size_t index, struct harness_user *u, char *err,
                       size_t err_len)
{
    const char *f[3] = {s, NULL, NULL};
    size_t flen[3] = {n, 0, 0};
    size_t nf = 1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ':')
            continue;
        if (nf == 3) {
            wcs_errf(err, err_len, "user %zu: too many ':' fields (want name:password:role)",
                     index + 1);
            return -EINVAL;
        }
        flen[nf - 1] = (size_t)(s + i - f[nf - 1]);
        f[nf] = s + i + 1;
        flen[nf] = (size_t)(s + n - f[nf]);
        nf++;
    }
    if (name_check_n(f[0], flen[0]) < 0) {
        wcs_errf(err, err_len, "user %zu: bad name '%.*s' (1-%d characters from A-Z a-z 0-9 _ . -)",
                 index + 1, (int)(flen[0] < 64 ? flen[0] : 64), f[0], HARNESS_NAME_MAX - 1);
        return -EINVAL;
    }
    memcpy(u->name, f[0], flen[0]);
    u->name[flen[0]] = '\0';
    u->password[0] = '\0';
    u->role = HARNESS_ROLE_OPERATOR;
    if (nf >= 2 && flen[1] > 0) {
        if (password_check_n(f[1], flen[1]) < 0) {
            wcs_errf(err, err_len,
                     "user %s: bad password (1-%d printable characters, no space, quote, "
                     "backslash, ',' or ':')",
                     u->name, HARNESS_PASSWORD_MAX - 1);
            return -EINVAL;
        }
        memcpy(u->password, f[1], flen[1]);
        u->password[flen[1]] = '\0';
    }
    if (nf == 3) {
        char role[16];
        if (flen[2] >= sizeof(role)) {
            wcs_errf(err, err_len, "user %s: unknown role (operator, supervisor or service)",
                     u->name);
            return -EINVAL;
        }
        memcpy(role, f[2], flen[2]);
        role[flen[2]] = '\0';
        if (harness_role_parse(role, &u->role) < 0) {
            wcs_errf(err, err_len, "user %s: unknown role '%s' (operator, supervisor or service)",
                     u->name, role);
            return -EINVAL;
        }
    }
    return 0;
}

int harness_users_parse(const char *spec, size_t len, struct harness_user *users, size_t cap,
                        char *err, size_t err_len)
{
    size_t n = 0, start = 0;
    if (len == 0) {
        wcs_errf(err, err_len, "empty user list");
        return -EINVAL;
    }
    for (size_t i = 0; i <= len; i++) {
        if (i < len && spec[i] != ',')
            continue;
        if (n == cap) {
            wcs_errf(err, err_len, "more than %zu users", cap);
            return WCS_E_EXHAUSTED;
        }
        int rc = parse_entry(spec + start, i - start, n, &users[n], err, err_len);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(users[j].name, users[n].name) == 0) {
                wcs_errf(err, err_len, "user %s is given twice", users[n].name);
                return -EINVAL;
            }
        }
        n++;
        start = i + 1;
    }
    return (int)n;
}

/* Appends formatted text at *pos; on overflow marks *full and leaves buf NUL-terminated. */
static void append(char *buf, size_t cap, size_t *pos, bool *full, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void append(char *buf, size_t cap, size_t *pos, bool *full, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (*full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *pos) {
        *full = true;
        return;
    }
    *pos += (size_t)n;
}

int harness_mqtt_acl_wcs(char *buf, size_t cap, const char *site, const struct harness_user *users,
                         size_t n_users)
{
    size_t pos = 0;
    bool full = false;
    if (harness_name_check(site) < 0)
        return -EINVAL;
    for (size_t i = 0; i < n_users; i++) {
        if (harness_name_check(users[i].name) < 0 || (unsigned)users[i].role >= N_ROLES)
            return -EINVAL;
    }
    if (cap == 0)
        return WCS_E_EXHAUSTED;
    buf[0] = '\0';
    /* mosquitto applies pattern lines to every authenticated user, wherever they stand; topic
     * lines before the first "user" line would apply to anonymous clients only. */
    append(buf, cap, &pos, &full,
           "# wcs topic tree ACL for site %s (DESIGN.md section 4.3), written by the harness.\n"
           "# Every user: publish its own commands, read its own replies.\n"
           "pattern write wcs/v1/%s/cmd/%%u/#\n"
           "pattern read wcs/v1/%s/reply/%%u/#\n",
           site, site, site);
    for (size_t i = 0; i < n_users; i++) {
        switch (users[i].role) {
        case HARNESS_ROLE_OPERATOR:
            break;
        case HARNESS_ROLE_SUPERVISOR:
            append(buf, cap, &pos, &full, "\n# supervisor\nuser %s\ntopic read wcs/v1/%s/#\n",
                   users[i].name, site);
            break;
        case HARNESS_ROLE_SERVICE:
            append(buf, cap, &pos, &full, "\n# wcs service\nuser %s\ntopic readwrite wcs/v1/%s/#\n",
                   users[i].name, site);
            break;
        }
    }
    if (full)
        return WCS_E_EXHAUSTED;
    return (int)pos;
}
