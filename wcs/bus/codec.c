/* The bus's pure codec: command topic and envelope parsing, response-topic checks, payload and
 * reply serialisation, and the field helpers handlers use to read a command's body.
 * See codec.h and bus.h for the contracts; docs/mqtt.md for the wire format. */
#include "codec.h"

#include "base/err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool bus_name_ok(const char *s, size_t len)
{
    if (len == 0 || len >= BUS_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

bool bus_request_id_ok(const char *s, size_t len)
{
    if (len == 0 || len > BUS_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-' && s[i] != ':')
            return false;
    return true;
}

/* Finds the next '/'-separated level of topic[*pos..len); returns its length and start. */
static size_t next_level(const char *topic, size_t len, size_t *pos, const char **start)
{
    size_t i = *pos;
    *start = topic + i;
    while (i < len && topic[i] != '/')
        i++;
    size_t n = i - *pos;
    *pos = i < len ? i + 1 : i + 2; /* past the '/', or beyond len when there was none */
    return n;
}

int bus_cmd_topic_parse(const char *topic, size_t len, const char *site, char user[BUS_NAME_MAX],
                        char command[BUS_NAME_MAX], char *err, size_t err_len)
{
    const char *lv[6];
    size_t ln[6], pos = 0, n = 0;
    user[0] = '\0';
    command[0] = '\0';
    if (memchr(topic, '\0', len)) {
        wcs_errf(err, err_len, "topic holds a NUL byte");
        return WCS_E_UNKNOWN;
    }
    while (pos <= len && n < 6)
        ln[n] = next_level(topic, len, &pos, &lv[n]), n++;
    if (n != 6 || pos <= len || ln[0] != 3 || memcmp(lv[0], "wcs", 3) != 0 || ln[1] != 2 ||
        memcmp(lv[1], "v1", 2) != 0 || ln[2] != strlen(site) || memcmp(lv[2], site, ln[2]) != 0 ||
        ln[3] != 3 || memcmp(lv[3], "cmd", 3) != 0) {
        wcs_errf(err, err_len, "not a command topic of site %s", site);
        return WCS_E_UNKNOWN;
    }
    if (!bus_name_ok(lv[4], ln[4])) {
        wcs_errf(err, err_len, "user level: expected 1..63 characters of [A-Za-z0-9_.-]");
        return -EINVAL;
    }
    memcpy(user, lv[4], ln[4]);
    user[ln[4]] = '\0';
    if (!bus_name_ok(lv[5], ln[5])) {
        wcs_errf(err, err_len, "command name: expected 1..63 characters of [A-Za-z0-9_.-]");
        return WCS_E_SYNTAX;
    }
    memcpy(command, lv[5], ln[5]);
    command[ln[5]] = '\0';
    return 0;
}

int bus_envelope_parse(const void *payload, size_t len, size_t max_bytes, json_t **body,
                       char request_id[BUS_REQUEST_ID_MAX + 1], char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *root, *rid;
    const char *s;
    size_t n;

    request_id[0] = '\0';
    if (len > max_bytes) {
        wcs_errf(err, err_len, "payload of %zu bytes exceeds the limit of %zu bytes", len,
                 max_bytes);
        return WCS_E_RANGE;
    }
    if (len == 0) {
        wcs_errf(err, err_len, "empty payload: expected a JSON object with \"request_id\"");
        return WCS_E_SYNTAX;
    }
    root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        wcs_errf(err, err_len, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return WCS_E_SYNTAX;
    }
    if (!json_is_object(root)) {
        wcs_errf(err, err_len, "expected a JSON object with \"request_id\"");
        goto fail_root;
    }
    rid = json_object_get(root, "request_id");
    if (!rid) {
        wcs_errf(err, err_len, "field \"request_id\": missing");
        goto fail_root;
    }
    if (!json_is_string(rid)) {
        wcs_errf(err, err_len, "field \"request_id\": expected a string");
        goto fail_root;
    }
    s = json_string_value(rid);
    n = json_string_length(rid);
    if (!bus_request_id_ok(s, n)) {
        wcs_errf(err, err_len, "field \"request_id\": expected 1..%d characters of [A-Za-z0-9._:-]",
                 BUS_REQUEST_ID_MAX);
        goto fail_root;
    }
    memcpy(request_id, s, n);
    request_id[n] = '\0';
    *body = root;
    return 0;

fail_root:
    json_decref(root);
    return WCS_E_SYNTAX;
}

bool bus_response_topic_ok(const char *rt, size_t len, const char *site, const char *user)
{
    char prefix[3 * BUS_NAME_MAX + 32];
    int n = snprintf(prefix, sizeof(prefix), "wcs/v1/%s/reply/%s/", site, user);
    if (n < 0 || (size_t)n >= sizeof(prefix) || len <= (size_t)n)
        return false;
    if (memcmp(rt, prefix, (size_t)n) != 0)
        return false;
    for (size_t i = (size_t)n; i < len; i++)
        if (rt[i] == '+' || rt[i] == '#' || rt[i] == '\0')
            return false;
    return true;
}

static char *dump(json_t *o, size_t *len)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s)
        *len = strlen(s);
    return s;
}

char *bus_payload_dump(const json_t *body, int64_t ts_ms, uint64_t seq, size_t *len)
{
    json_t *o;
    char *s = NULL;
    if (body && !json_is_object(body))
        return NULL;
    /* A shallow copy: the caller's object stays as given; members are shared, not copied. */
    o = body ? json_copy((json_t *)body) : json_object();
    if (!o)
        return NULL;
    if (json_object_set_new(o, "ts", json_integer(ts_ms)) == 0 &&
        json_object_set_new(o, "seq", json_integer((json_int_t)seq)) == 0)
        s = dump(o, len);
    json_decref(o);
    return s;
}

static const char *const reserved[] = {"ok", "error", "request_id", "command", "ts", "seq"};

char *bus_reply_dump(bool ok, const char *request_id, const char *command, const json_t *fields,
                     const char *error, int64_t ts_ms, uint64_t seq, size_t *len)
{
    json_t *o;
    char *s = NULL;
    const char *key;
    json_t *val;

    if (fields && !json_is_object(fields))
        return NULL;
    for (size_t i = 0; fields && i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (json_object_get(fields, reserved[i]))
            return NULL;
    o = json_object();
    if (!o)
        return NULL;
    if (json_object_set_new(o, "ok", json_boolean(ok)) < 0 ||
        json_object_set_new(o, "request_id", request_id ? json_string(request_id) : json_null()) <
            0 ||
        json_object_set_new(o, "command", command ? json_string(command) : json_null()) < 0)
        goto out;
    if (fields) {
        json_object_foreach((json_t *)fields, key, val)
        {
            if (json_object_set(o, key, val) < 0)
                goto out;
        }
    }
    if (!ok && json_object_set_new(o, "error", json_string(error ? error : "error")) < 0)
        goto out;
    if (json_object_set_new(o, "ts", json_integer(ts_ms)) == 0 &&
        json_object_set_new(o, "seq", json_integer((json_int_t)seq)) == 0)
        s = dump(o, len);
out:
    json_decref(o);
    return s;
}

/* ---- field helpers ---- */

/* Looks up body[name]: 0 found, 1 absent but optional, WCS_E_SYNTAX absent and required. */
static int lookup(const json_t *body, const char *name, unsigned flags, json_t **v, char *err,
                  size_t err_len)
{
    *v = json_is_object(body) ? json_object_get(body, name) : NULL;
    if (*v)
        return 0;
    if (flags & BUS_FIELD_OPTIONAL)
        return 1;
    wcs_errf(err, err_len, "field \"%s\": missing", name);
    return WCS_E_SYNTAX;
}

int bus_field_string(const json_t *body, const char *name, unsigned flags, size_t min_len,
                     size_t max_len, const char **out, char *err, size_t err_len)
{
    json_t *v;
    int rc = lookup(body, name, flags, &v, err, err_len);
    if (rc != 0)
        return rc;
    if (!json_is_string(v)) {
        wcs_errf(err, err_len, "field \"%s\": expected a string", name);
        return WCS_E_SYNTAX;
    }
    size_t n = json_string_length(v);
    if (n < min_len || n > max_len) {
        wcs_errf(err, err_len, "field \"%s\": expected %zu..%zu characters, got %zu", name, min_len,
                 max_len, n);
        return WCS_E_SYNTAX;
    }
    if (memchr(json_string_value(v), '\0', n)) {
        wcs_errf(err, err_len, "field \"%s\": holds a NUL character", name);
        return WCS_E_SYNTAX;
    }
    *out = json_string_value(v);
    return 0;
}

static void int_expectation(char *buf, size_t n, int64_t min, int64_t max)
{
    if (min == 1 && max == INT64_MAX)
        snprintf(buf, n, "a positive integer");
    else if (min == 0 && max == INT64_MAX)
        snprintf(buf, n, "a non-negative integer");
    else if (min == INT64_MIN && max == INT64_MAX)
        snprintf(buf, n, "an integer");
    else if (max == INT64_MAX)
        snprintf(buf, n, "an integer >= %" PRId64, min);
    else if (min == INT64_MIN)
        snprintf(buf, n, "an integer <= %" PRId64, max);
    else
        snprintf(buf, n, "an integer in %" PRId64 "..%" PRId64, min, max);
}

int bus_field_int(const json_t *body, const char *name, unsigned flags, int64_t min, int64_t max,
                  int64_t *out, char *err, size_t err_len)
{
    json_t *v;
    char want[96];
    int rc = lookup(body, name, flags, &v, err, err_len);
    if (rc != 0)
        return rc;
    if (json_is_integer(v)) {
        int64_t x = (int64_t)json_integer_value(v);
        if (x >= min && x <= max) {
            *out = x;
            return 0;
        }
    }
    int_expectation(want, sizeof(want), min, max);
    wcs_errf(err, err_len, "field \"%s\": expected %s", name, want);
    return WCS_E_SYNTAX;
}

int bus_field_enum(const json_t *body, const char *name, unsigned flags, const char *const *values,
                   int *out, char *err, size_t err_len)
{
    json_t *v;
    int rc = lookup(body, name, flags, &v, err, err_len);
    if (rc != 0)
        return rc;
    if (json_is_string(v))
        for (int i = 0; values[i]; i++)
            if (strcmp(json_string_value(v), values[i]) == 0 &&
                strlen(values[i]) == json_string_length(v)) {
                *out = i;
                return 0;
            }
    if (err && err_len) {
        size_t off = 0;
        int w = snprintf(err, err_len, "field \"%s\": expected one of ", name);
        off = w > 0 ? (size_t)w : 0;
        for (int i = 0; values[i] && off < err_len; i++) {
            w = snprintf(err + off, err_len - off, "%s\"%s\"", i ? ", " : "", values[i]);
            off += w > 0 ? (size_t)w : 0;
        }
    }
    return WCS_E_SYNTAX;
}

int bus_field_bool(const json_t *body, const char *name, unsigned flags, bool *out, char *err,
                   size_t err_len)
{
    json_t *v;
    int rc = lookup(body, name, flags, &v, err, err_len);
    if (rc != 0)
        return rc;
    if (!json_is_boolean(v)) {
        wcs_errf(err, err_len, "field \"%s\": expected true or false", name);
        return WCS_E_SYNTAX;
    }
    *out = json_is_true(v);
    return 0;
}
