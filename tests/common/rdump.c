/* Canonical Redis snapshots for tests (rdump.h). Record per key: name NUL, u64 body length, body
 * (type NUL, ttl flag byte, then items each as u32 length + bytes), '\n'. */
#include "rdump.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
    char *p;
    size_t len, cap;
};

static void need(struct buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    while (b->len + n > b->cap)
        b->cap = b->cap ? b->cap * 2 : 4096;
    b->p = realloc(b->p, b->cap);
    if (!b->p)
        abort();
}

static void put(struct buf *b, const void *d, size_t n)
{
    need(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void item(struct buf *b, const char *s, size_t n)
{
    uint32_t l = (uint32_t)n;
    put(b, &l, sizeof(l));
    put(b, s, n);
}

static redisReply *cmd(redisContext *c, const char *fmt, const char *key)
{
    redisReply *r = redisCommand(c, fmt, key);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "rdump: %s %s: %s\n", fmt, key, r ? r->str : c->errstr);
        abort();
    }
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pairs (field, value) of a flat array, compared by field. */
static int cmp_pair(const void *a, const void *b)
{
    const redisReply *const *x = a, *const *y = b;
    size_t n = x[0]->len < y[0]->len ? x[0]->len : y[0]->len;
    int c = memcmp(x[0]->str, y[0]->str, n);
    return c ? c : (x[0]->len > y[0]->len) - (x[0]->len < y[0]->len);
}

static int cmp_elem(const void *a, const void *b)
{
    return cmp_pair(a, b);
}

/* Flattens a stream reply (entries of [id, [field, value, ...]]) in order. */
static void stream_items(struct buf *b, const redisReply *r)
{
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        item(b, e->element[0]->str, e->element[0]->len);
        for (size_t k = 0; k < e->element[1]->elements; k++)
            item(b, e->element[1]->element[k]->str, e->element[1]->element[k]->len);
    }
}

static void body_of(redisContext *c, const char *key, struct buf *b)
{
    redisReply *t = cmd(c, "TYPE %s", key), *ttl = cmd(c, "PTTL %s", key), *r = NULL;
    char flag = ttl->integer >= 0 ? 1 : 0;
    put(b, t->str, strlen(t->str) + 1);
    put(b, &flag, 1);
    if (strcmp(t->str, "string") == 0) {
        r = cmd(c, "GET %s", key);
        item(b, r->str, r->len);
    } else if (strcmp(t->str, "hash") == 0) {
        r = cmd(c, "HGETALL %s", key);
        qsort(r->element, r->elements / 2, 2 * sizeof(*r->element), cmp_pair);
        for (size_t i = 0; i < r->elements; i++)
            item(b, r->element[i]->str, r->element[i]->len);
    } else if (strcmp(t->str, "set") == 0) {
        r = cmd(c, "SMEMBERS %s", key);
        qsort(r->element, r->elements, sizeof(*r->element), cmp_elem);
        for (size_t i = 0; i < r->elements; i++)
            item(b, r->element[i]->str, r->element[i]->len);
    } else if (strcmp(t->str, "zset") == 0 || strcmp(t->str, "list") == 0) {
        r = cmd(c, t->str[0] == 'z' ? "ZRANGE %s 0 -1 WITHSCORES" : "LRANGE %s 0 -1", key);
        for (size_t i = 0; i < r->elements; i++)
            item(b, r->element[i]->str, r->element[i]->len);
    } else if (strcmp(t->str, "stream") == 0) {
        r = cmd(c, "XRANGE %s - +", key);
        stream_items(b, r);
    }
    freeReplyObject(r);
    freeReplyObject(ttl);
    freeReplyObject(t);
}

char *rdump(redisContext *c, const char *pattern, rdump_skip_fn skip, void *arg, size_t *len)
{
    char cursor[32] = "0", **keys = NULL;
    size_t n = 0, cap = 0;
    struct buf out = {0};
    do {
        redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY)
            abort();
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *k = r->element[1]->element[i]->str;
            if (skip && skip(k, arg))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                keys = realloc(keys, cap * sizeof(*keys));
            }
            keys[n++] = strdup(k);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    if (n)
        qsort(keys, n, sizeof(*keys), cmp_str);
    need(&out, 1);
    for (size_t i = 0; i < n; i++) {
        struct buf body = {0};
        uint64_t bl;
        body_of(c, keys[i], &body);
        bl = body.len;
        put(&out, keys[i], strlen(keys[i]) + 1);
        put(&out, &bl, sizeof(bl));
        put(&out, body.p, body.len);
        put(&out, "\n", 1);
        free(body.p);
        free(keys[i]);
    }
    free(keys);
    *len = out.len;
    return out.p;
}

/* The record at *off: its key (NUL-terminated), body and body length; advances *off. */
static const char *next(const char *s, size_t *off, const char **body, uint64_t *bl)
{
    const char *k = s + *off;
    size_t kl = strlen(k) + 1;
    memcpy(bl, k + kl, sizeof(*bl));
    *body = k + kl + sizeof(*bl);
    *off += kl + sizeof(*bl) + *bl + 1;
    return k;
}

size_t rdump_count(const char *snap, size_t len)
{
    size_t off = 0, n = 0;
    const char *body;
    uint64_t bl;
    while (off < len) {
        next(snap, &off, &body, &bl);
        n++;
    }
    return n;
}

size_t rdump_diff(const char *a, size_t na, const char *b, size_t nb)
{
    size_t i = 0, j = 0, diffs = 0;
    while (i < na || j < nb) {
        size_t i2 = i, j2 = j;
        const char *ba = NULL, *bb = NULL;
        uint64_t la = 0, lb = 0;
        const char *ka = i < na ? next(a, &i2, &ba, &la) : NULL;
        const char *kb = j < nb ? next(b, &j2, &bb, &lb) : NULL;
        int c = !ka ? 1 : !kb ? -1 : strcmp(ka, kb);
        if (c < 0) {
            fprintf(stderr, "  removed: %s\n", ka);
            diffs++;
        } else if (c > 0) {
            fprintf(stderr, "  added: %s\n", kb);
            diffs++;
        } else if (la != lb || memcmp(ba, bb, la) != 0) {
            fprintf(stderr, "  changed: %s\n", ka);
            diffs++;
        }
        if (c <= 0)
            i = i2;
        if (c >= 0)
            j = j2;
    }
    return diffs;
}
