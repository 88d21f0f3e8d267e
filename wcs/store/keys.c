/* Key names of the Redis schema (docs/redis.md): builders and the quant-key parser. Pure: no
 * I/O, no allocation. Every key of a site is "wcs:{<site>}:..." so one site's keys share a hash
 * slot; identifiers never contain ':', '{', '}' or spaces, so a key splits back unambiguously. */
#include "store/store.h"

#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* Checks len bytes as an identifier. */
static int id_check_n(const char *s, size_t len)
{
    if (len == 0 || len >= STORE_ID_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!is_id_char(s[i]))
            return -EINVAL;
    return 0;
}

static int path_check_n(const char *s, size_t len)
{
    size_t seg = 0;
    if (len == 0 || len >= STORE_PATH_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '/') {
            if (seg == 0)
                return -EINVAL; /* leading, trailing or doubled '/' */
            seg = 0;
        } else if (is_id_char(s[i])) {
            seg++;
        } else {
            return -EINVAL;
        }
    }
    return seg == 0 ? -EINVAL : 0;
}

int store_id_check(const char *id)
{
    if (!id)
        return -EINVAL;
    return id_check_n(id, strnlen(id, STORE_ID_MAX));
}

int store_path_check(const char *path)
{
    if (!path)
        return -EINVAL;
    return path_check_n(path, strnlen(path, STORE_PATH_MAX));
}

int store_lot_check(const char *lot)
{
    if (!lot)
        return -EINVAL;
    return lot[0] == '\0' ? 0 : store_id_check(lot);
}

static int finish(char *buf, size_t cap, int n)
{
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= cap) {
        if (cap > 0)
            buf[0] = '\0';
        return WCS_E_EXHAUSTED;
    }
    return n;
}

int store_key(char *buf, size_t cap, const char *site, const char *kind, const char *id)
{
    if (store_id_check(site) != 0 || !kind || !kind[0] || (id && store_id_check(id) != 0))
        return -EINVAL;
    if (id)
        return finish(buf, cap, snprintf(buf, cap, "wcs:{%s}:%s:%s", site, kind, id));
    return finish(buf, cap, snprintf(buf, cap, "wcs:{%s}:%s", site, kind));
}

int store_key_quant(char *buf, size_t cap, const char *site, const char *sku, const char *loc,
                    const char *lot)
{
    if (!lot)
        lot = "";
    if (store_id_check(site) != 0 || store_id_check(sku) != 0 || store_path_check(loc) != 0 ||
        store_lot_check(lot) != 0)
        return -EINVAL;
    return finish(buf, cap, snprintf(buf, cap, "wcs:{%s}:quant:%s:%s:%s", site, sku, loc, lot));
}

/* Copies the part [p, end) into dst (size cap) after checking it with check. */
static int take(char *dst, size_t cap, const char *p, const char *end,
                int (*check)(const char *, size_t))
{
    size_t n = (size_t)(end - p);
    if (check(p, n) != 0 || n >= cap)
        return WCS_E_SYNTAX;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

int store_key_parse_quant(const char *key, size_t len, struct store_quant_ref *out)
{
    static const char prefix[] = "wcs:{";
    static const char mid[] = "}:quant:";
    const char *p = key, *end = key + len, *q;
    if (!key || len < sizeof(prefix) - 1 || memcmp(p, prefix, sizeof(prefix) - 1) != 0)
        return WCS_E_SYNTAX;
    p += sizeof(prefix) - 1;
    q = memchr(p, '}', (size_t)(end - p));
    if (!q || take(out->site, sizeof(out->site), p, q, id_check_n) != 0)
        return WCS_E_SYNTAX;
    if ((size_t)(end - q) < sizeof(mid) - 1 || memcmp(q, mid, sizeof(mid) - 1) != 0)
        return WCS_E_SYNTAX;
    p = q + sizeof(mid) - 1;
    q = memchr(p, ':', (size_t)(end - p));
    if (!q || take(out->sku, sizeof(out->sku), p, q, id_check_n) != 0)
        return WCS_E_SYNTAX;
    p = q + 1;
    q = memchr(p, ':', (size_t)(end - p));
    if (!q || take(out->loc, sizeof(out->loc), p, q, path_check_n) != 0)
        return WCS_E_SYNTAX;
    p = q + 1;
    if (p == end) {
        out->lot[0] = '\0';
        return 0;
    }
    return take(out->lot, sizeof(out->lot), p, end, id_check_n);
}
