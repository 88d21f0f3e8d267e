/* YAML text -> node tree with line/column marks, built from libyaml's event API. The tree is
 * what the loader reports positions from (libcyaml's own positions are unreliable, see
 * /work/shared/reference/services.md). Aliases, several documents and complex keys are errors. */
#include "internal.h"

#include "base/err.h"

#include <errno.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

struct build {
    struct ytree *t;
    struct ynode *stack[MAX_DEPTH];
    /* Children collected per open container, as a growable array of node pointers. */
    struct ynode **kids[MAX_DEPTH];
    size_t nkids[MAX_DEPTH], capkids[MAX_DEPTH];
    int depth;
};

const char *ykind_name(enum ykind k)
{
    switch (k) {
    case Y_SCALAR:
        return "a scalar";
    case Y_MAP:
        return "a mapping";
    case Y_SEQ:
        return "a sequence";
    }
    return "?";
}

static struct ynode *new_node(struct ytree *t, enum ykind k, const yaml_mark_t *m)
{
    struct ynode *n = arena_alloc(&t->mem, sizeof(*n));
    if (n) {
        n->kind = k;
        n->line = (uint32_t)m->line + 1;
        n->col = (uint32_t)m->column + 1;
    }
    return n;
}

static int push_kid(struct build *b, struct ynode *n)
{
    int d = b->depth - 1;
    if (d < 0) {
        b->t->root = n;
        return 0;
    }
    if (b->nkids[d] == b->capkids[d]) {
        size_t cap = b->capkids[d] ? b->capkids[d] * 2 : 16;
        struct ynode **k = realloc(b->kids[d], cap * sizeof(*k));
        if (!k)
            return -ENOMEM;
        b->kids[d] = k;
        b->capkids[d] = cap;
    }
    b->kids[d][b->nkids[d]++] = n;
    return 0;
}

/* Moves the collected children of the innermost container into it. */
static int close_container(struct build *b)
{
    int d = b->depth - 1;
    struct ynode *c = b->stack[d];
    size_t n = b->nkids[d];
    if (c->kind == Y_SEQ) {
        c->items = arena_alloc(&b->t->mem, (n ? n : 1) * sizeof(*c->items));
        if (!c->items)
            return -ENOMEM;
        memcpy(c->items, b->kids[d], n * sizeof(*c->items));
        c->n = n;
    } else {
        c->pairs = arena_alloc(&b->t->mem, (n / 2 + 1) * sizeof(*c->pairs));
        if (!c->pairs)
            return -ENOMEM;
        for (size_t i = 0; i + 1 < n; i += 2) {
            c->pairs[i / 2].key = b->kids[d][i];
            c->pairs[i / 2].val = b->kids[d][i + 1];
        }
        c->n = n / 2;
    }
    b->nkids[d] = 0;
    b->depth--;
    return push_kid(b, c);
}

/* True when the next child of the innermost container is a mapping key. */
static bool at_key(const struct build *b)
{
    int d = b->depth - 1;
    return d >= 0 && b->stack[d]->kind == Y_MAP && b->nkids[d] % 2 == 0;
}

static void syntax_error(const yaml_parser_t *p, const char *file, struct cfg_errors *errs,
                         const char *text, size_t len)
{
    yaml_mark_t end, *m = (yaml_mark_t *)&p->problem_mark;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (m->index >= len) {
        /* libyaml marks an error at the end of input on a line after the text; point at the
         * end of the last line instead, where the reader looks. */
        size_t at = len > 0 && text[len - 1] == '\n' ? len - 1 : len;
        memset(&end, 0, sizeof(end));
        end.index = at;
        for (size_t i = 0; i < at; i++) {
            if (text[i] == '\n') {
                end.line++;
                end.column = 0;
            } else {
                end.column++;
            }
        }
        m = &end;
    }
    if (m->index < len && text[m->index] == '\t')
        errs_add(errs, file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "yaml",
                 "tab character; YAML indents with spaces only");
    else if (p->context)
        errs_add(errs, file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "yaml",
                 "%s (%s at line %u)", problem, p->context, (unsigned)p->context_mark.line + 1);
    else
        errs_add(errs, file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "yaml", "%s", problem);
}

int ytree_parse(struct ytree *t, const char *file, const char *text, size_t len,
                struct cfg_errors *errs)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct build b;
    int rc = 0, docs = 0;
    bool done = false;

    memset(t, 0, sizeof(*t));
    memset(&b, 0, sizeof(b));
    b.t = t;
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        struct ynode *n;
        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = -ENOMEM;
            } else {
                syntax_error(&parser, file, errs, text, len);
                rc = WCS_E_SYNTAX;
            }
            break;
        }
        const yaml_mark_t *m = &ev.start_mark;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                errs_add(errs, file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "yaml",
                         "a config file holds one YAML document");
                rc = WCS_E_SYNTAX;
            }
            break;
        case YAML_ALIAS_EVENT:
            errs_add(errs, file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "yaml",
                     "aliases (*name) are not supported; write the value out");
            rc = WCS_E_SYNTAX;
            break;
        case YAML_SCALAR_EVENT:
            n = new_node(t, Y_SCALAR, m);
            if (!n) {
                rc = -ENOMEM;
                break;
            }
            n->str =
                arena_strndup(&t->mem, (const char *)ev.data.scalar.value, ev.data.scalar.length);
            n->len = ev.data.scalar.length;
            n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            if (!n->str || strlen(n->str) != n->len) {
                if (n->str) {
                    errs_add(errs, file, n->line, n->col, "yaml", "NUL byte in a scalar");
                    rc = WCS_E_SYNTAX;
                } else {
                    rc = -ENOMEM;
                }
                break;
            }
            rc = push_kid(&b, n);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (at_key(&b)) {
                errs_add(errs, file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "yaml",
                         "a mapping key must be a plain string");
                rc = WCS_E_SYNTAX;
                break;
            }
            if (b.depth == MAX_DEPTH) {
                errs_add(errs, file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "yaml",
                         "nested deeper than %d levels", MAX_DEPTH);
                rc = WCS_E_SYNTAX;
                break;
            }
            n = new_node(t, ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP, m);
            if (!n) {
                rc = -ENOMEM;
                break;
            }
            b.stack[b.depth++] = n;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = close_container(&b);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    for (int d = 0; d < MAX_DEPTH; d++)
        free(b.kids[d]);
    if (rc < 0) {
        arena_free(&t->mem);
        t->root = NULL;
    }
    return rc;
}

void ytree_fini(struct ytree *t)
{
    if (t) {
        arena_free(&t->mem);
        t->root = NULL;
    }
}

const struct ynode *ymap_get(const struct ynode *map, const char *key)
{
    if (!map || map->kind != Y_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->pairs[i].key->str, key) == 0)
            return map->pairs[i].val;
    return NULL;
}
