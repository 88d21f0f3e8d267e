/* Small helpers of the config loader: a bump arena for the strings of a loaded site, a string
 * index for duplicate and reference checks, and the error line sink. */
#include "internal.h"

#include "base/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    max_align_t data[];
};

void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_chunk *c = a->head;
    const size_t align = sizeof(max_align_t);
    void *p;
    n = (n + align - 1) / align * align;
    if (n == 0)
        n = align;
    if (!c || c->size - c->used < n) {
        size_t size = n > 60000 ? n : 60000;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->used = 0;
        c->size = size;
        c->next = a->head;
        a->head = c;
    }
    p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void arena_free(struct arena *a)
{
    while (a->head) {
        struct arena_chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

static int strmap_grow(struct strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    const char **keys = calloc(cap, sizeof(*keys));
    uint32_t *vals = calloc(cap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        size_t j;
        if (!m->keys[i])
            continue;
        for (j = hash_str(m->keys[i]) & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
            ;
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int strmap_put(struct strmap *m, const char *key, uint32_t val)
{
    size_t j;
    if ((m->n + 1) * 2 > m->cap && strmap_grow(m) < 0)
        return -1;
    for (j = hash_str(key) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
        if (strcmp(m->keys[j], key) == 0) {
            m->vals[j] = val;
            return 0;
        }
    m->keys[j] = key;
    m->vals[j] = val;
    m->n++;
    return 0;
}

bool strmap_get(const struct strmap *m, const char *key, uint32_t *val)
{
    if (!m->cap || !key)
        return false;
    for (size_t j = hash_str(key) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
        if (strcmp(m->keys[j], key) == 0) {
            if (val)
                *val = m->vals[j];
            return true;
        }
    return false;
}

void strmap_free(struct strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

void cfg_errors_init(struct cfg_errors *e)
{
    memset(e, 0, sizeof(*e));
}

void cfg_errors_fini(struct cfg_errors *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->count; i++)
        free(e->lines[i]);
    free(e->lines);
    memset(e, 0, sizeof(*e));
}

void errs_add(struct cfg_errors *e, const char *file, uint32_t line, uint32_t col, const char *path,
              const char *fmt, ...)
{
    char msg[1024], *s;
    va_list ap;
    int n;
    if (e->count >= CFG_ERRORS_MAX) {
        e->dropped++;
        return;
    }
    if (e->count == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        char **lines = realloc(e->lines, cap * sizeof(*lines));
        if (!lines) {
            e->dropped++;
            return;
        }
        e->lines = lines;
        e->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    n = snprintf(NULL, 0, "%s:%u:%u: %s: %s", file, line, col, path && *path ? path : "(top)", msg);
    s = malloc((size_t)n + 1);
    if (!s) {
        e->dropped++;
        return;
    }
    snprintf(s, (size_t)n + 1, "%s:%u:%u: %s: %s", file, line, col, path && *path ? path : "(top)",
             msg);
    e->lines[e->count++] = s;
}
