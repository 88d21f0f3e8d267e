/* One line of a JSON Lines products file -> the node tree ytree.c makes from YAML, with a line
 * and column on every key and value, so a JSONL product goes through the same schema walk and
 * the same builder as an inline one. jansson parses and validates (strict UTF-8, no duplicate
 * keys); a second pass over the text finds where each value starts, which jansson does not
 * keep. The only file that includes jansson.h. */
#include "internal.h"

#include "base/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct conv {
    struct arena *mem;
    const char *line;
    size_t len;
    uint32_t lineno;
    bool lost;     /* the text scan disagreed with jansson: columns are 1 from here */
    size_t at_off; /* column cache: the character column of byte offset at_off */
    uint32_t at_col;
    int oom;
};

/* Character column (1-based) of byte offset off. Values are visited in text order, so the
 * count resumes from the previous offset and a line costs O(len) in all. */
static uint32_t col_of(struct conv *c, size_t off)
{
    if (c->lost || off > c->len)
        return 1;
    if (off < c->at_off) {
        c->at_off = 0;
        c->at_col = 1;
    }
    for (; c->at_off < off; c->at_off++)
        c->at_col += ((unsigned char)c->line[c->at_off] & 0xC0) != 0x80;
    return c->at_col;
}

static size_t skip_ws(const struct conv *c, size_t off)
{
    while (off < c->len && (c->line[off] == ' ' || c->line[off] == '\t' || c->line[off] == '\r' ||
                            c->line[off] == '\n'))
        off++;
    return off;
}

/* off is at a '"'; returns the offset after the closing quote (or len). */
static size_t skip_string(const struct conv *c, size_t off)
{
    for (off++; off < c->len; off++) {
        if (c->line[off] == '\\')
            off++;
        else if (c->line[off] == '"')
            return off + 1;
    }
    return c->len;
}

/* A number or literal ends at a delimiter. */
static size_t skip_word(const struct conv *c, size_t off)
{
    while (off < c->len && !strchr(",:]} \t\r\n", c->line[off]))
        off++;
    return off;
}

/* Expects byte ch at (after blanks) off; returns the offset after it, or marks the scan lost. */
static size_t expect(struct conv *c, size_t off, char ch)
{
    off = skip_ws(c, off);
    if (off < c->len && c->line[off] == ch)
        return off + 1;
    c->lost = true;
    return off;
}

static struct ynode *new_node(struct conv *c, enum ykind k, enum yjson j, size_t off)
{
    struct ynode *n = arena_alloc(c->mem, sizeof(*n));
    if (!n) {
        c->oom = 1;
        return NULL;
    }
    n->kind = k;
    n->json = j;
    n->line = c->lineno;
    n->col = col_of(c, off);
    return n;
}

static bool set_str(struct conv *c, struct ynode *n, const char *s, size_t len)
{
    n->str = arena_strndup(c->mem, s, len);
    n->len = len;
    if (!n->str)
        c->oom = 1;
    return n->str != NULL;
}

static size_t convert(struct conv *c, json_t *v, size_t off, struct ynode **out);

static size_t convert_object(struct conv *c, json_t *v, size_t off, struct ynode *n)
{
    size_t i = 0;
    const char *key;
    json_t *val;
    n->n = json_object_size(v);
    n->pairs = arena_alloc(c->mem, (n->n ? n->n : 1) * sizeof(*n->pairs));
    if (!n->pairs) {
        c->oom = 1;
        return off;
    }
    off = expect(c, off, '{');
    /* jansson (2.8 and later) iterates an object in insertion order, which is text order here
     * since duplicates are refused; the raw key is compared to make sure. */
    json_object_foreach(v, key, val)
    {
        size_t klen = strlen(key), kstart, kend;
        struct ynode *k;
        if (i > 0)
            off = expect(c, off, ',');
        kstart = skip_ws(c, off);
        kend = kstart < c->len && c->line[kstart] == '"' ? skip_string(c, kstart) : kstart;
        if (kend - kstart < 2 ||
            (!memchr(c->line + kstart, '\\', kend - kstart) &&
             (kend - kstart - 2 != klen || memcmp(c->line + kstart + 1, key, klen) != 0)))
            c->lost = true;
        k = new_node(c, Y_SCALAR, YJ_STRING, kstart);
        if (!k || !set_str(c, k, key, klen))
            return off;
        off = expect(c, kend, ':');
        n->pairs[i].key = k;
        off = convert(c, val, skip_ws(c, off), &n->pairs[i].val);
        if (c->oom)
            return off;
        i++;
    }
    return expect(c, off, '}');
}

static size_t convert_array(struct conv *c, json_t *v, size_t off, struct ynode *n)
{
    n->n = json_array_size(v);
    n->items = arena_alloc(c->mem, (n->n ? n->n : 1) * sizeof(*n->items));
    if (!n->items) {
        c->oom = 1;
        return off;
    }
    off = expect(c, off, '[');
    for (size_t i = 0; i < n->n; i++) {
        if (i > 0)
            off = expect(c, off, ',');
        off = convert(c, json_array_get(v, i), skip_ws(c, off), &n->items[i]);
        if (c->oom)
            return off;
    }
    return expect(c, off, ']');
}

/* Converts v, whose text starts at off, into *out; returns the offset after its text. */
static size_t convert(struct conv *c, json_t *v, size_t off, struct ynode **out)
{
    struct ynode *n;
    char num[32];
    size_t end;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (!(n = *out = new_node(c, Y_MAP, YJ_OBJECT, off)))
            return off;
        return convert_object(c, v, off, n);
    case JSON_ARRAY:
        if (!(n = *out = new_node(c, Y_SEQ, YJ_ARRAY, off)))
            return off;
        return convert_array(c, v, off, n);
    case JSON_STRING:
        if ((n = *out = new_node(c, Y_SCALAR, YJ_STRING, off)))
            set_str(c, n, json_string_value(v), json_string_length(v));
        return off < c->len && c->line[off] == '"' ? skip_string(c, off) : off;
    case JSON_INTEGER:
        end = skip_word(c, off);
        if ((n = *out = new_node(c, Y_SCALAR, YJ_INTEGER, off))) {
            n->plain = true;
            set_str(
                c, n, num,
                (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
        }
        return end;
    case JSON_REAL:
        /* Kept as written ("1.0", "2e3") for messages; jansson would print 1.0 as 1. */
        end = skip_word(c, off);
        if ((n = *out = new_node(c, Y_SCALAR, YJ_REAL, off))) {
            n->plain = true;
            if (!c->lost && end > off && end - off < sizeof(num))
                set_str(c, n, c->line + off, end - off);
            else
                set_str(c, n, num, (size_t)snprintf(num, sizeof(num), "%.17g", json_real_value(v)));
        }
        return end;
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL:
    default:
        end = skip_word(c, off);
        if ((n = *out = new_node(c, Y_SCALAR, json_is_null(v) ? YJ_NULL : YJ_BOOL, off))) {
            const char *w = json_is_null(v) ? "null" : json_is_true(v) ? "true" : "false";
            n->plain = true;
            set_str(c, n, w, strlen(w));
        }
        return end;
    }
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
    default:
        return "null";
    }
}

int jsonl_parse_line(struct arena *mem, const char *line, size_t len, uint32_t lineno,
                     struct ynode **out, struct jsonl_error *err)
{
    struct conv c = {.mem = mem, .line = line, .lineno = lineno, .at_col = 1};
    struct ynode *root = NULL;
    const char *nul;
    json_error_t je;
    json_t *v;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    c.len = len;
    nul = memchr(line, '\0', len);
    if (nul) {
        err->col = col_of(&c, (size_t)(nul - line));
        snprintf(err->msg, sizeof(err->msg), "NUL byte in the line");
        return WCS_E_SYNTAX;
    }
    /* JSON_DECODE_ANY so that a line holding a number or a string gets "not an object" rather
     * than jansson's "'[' or '{' expected". */
    v = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return -ENOMEM;
        err->col = je.column > 0 ? (uint32_t)je.column : 1;
        snprintf(err->msg, sizeof(err->msg), "invalid JSON: %s", je.text);
        return WCS_E_SYNTAX;
    }
    if (!json_is_object(v)) {
        err->col = col_of(&c, skip_ws(&c, 0));
        snprintf(err->msg, sizeof(err->msg), "expected one JSON object per line, found %s",
                 json_type_name(v));
        json_decref(v);
        return WCS_E_SYNTAX;
    }
    convert(&c, v, skip_ws(&c, 0), &root);
    json_decref(v);
    if (c.oom)
        return -ENOMEM;
    *out = root;
    return 0;
}
