/* The command layer's pick task hints (taskhint.h): a chained hash table of task ids, each
 * entry one allocation holding its strings. */
#include "taskhint.h"

#include "base/hash.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS   8192u /* a power of two */
#define FIELD_MAX 200

struct hint {
    struct hint *next;
    struct ops_task_hint h;
    char task[]; /* then order, batch, sku, location, lot, each NUL-terminated */
};

struct taskhints {
    struct hint *b[BUCKETS];
    size_t n;
};

static size_t bucket(const char *s)
{
    return hash_str(s) & (BUCKETS - 1);
}

static void clear(struct taskhints *th)
{
    for (size_t i = 0; i < BUCKETS; i++)
        while (th->b[i]) {
            struct hint *e = th->b[i];
            th->b[i] = e->next;
            free(e);
        }
    th->n = 0;
}

static bool field_ok(const char *s, bool may_be_empty)
{
    return s && (may_be_empty || s[0]) && strlen(s) <= FIELD_MAX;
}

int taskhints_put(struct taskhints **th, const char *task, const struct ops_task_hint *h)
{
    const char *f[6];
    size_t len[6], total = 0;
    struct hint *e;
    char *p;
    if (!th || !h || !field_ok(task, false) || !field_ok(h->order, false) ||
        !field_ok(h->batch, false) || !field_ok(h->sku, false) || !field_ok(h->location, false) ||
        !field_ok(h->lot ? h->lot : "", true))
        return -EINVAL;
    if (!*th && !(*th = calloc(1, sizeof(**th))))
        return -ENOMEM;
    f[0] = task;
    f[1] = h->order;
    f[2] = h->batch;
    f[3] = h->sku;
    f[4] = h->location;
    f[5] = h->lot ? h->lot : "";
    for (size_t i = 0; i < 6; i++)
        total += (len[i] = strlen(f[i]) + 1);
    if (!(e = malloc(sizeof(*e) + total)))
        return -ENOMEM;
    p = e->task;
    for (size_t i = 0; i < 6; i++) {
        memcpy(p, f[i], len[i]);
        p += len[i];
    }
    p = e->task + len[0];
    e->h.order = p;
    e->h.batch = (p += len[1]);
    e->h.sku = (p += len[2]);
    e->h.location = (p += len[3]);
    e->h.lot = p + len[4];
    taskhints_drop(*th, task);
    if ((*th)->n >= TASKHINTS_MAX)
        clear(*th);
    size_t i = bucket(task);
    e->next = (*th)->b[i];
    (*th)->b[i] = e;
    (*th)->n++;
    return 0;
}

bool taskhints_get(const struct taskhints *th, const char *task, struct ops_task_hint *out)
{
    if (!th || !task)
        return false;
    for (const struct hint *e = th->b[bucket(task)]; e; e = e->next)
        if (strcmp(e->task, task) == 0) {
            *out = e->h;
            return true;
        }
    return false;
}

void taskhints_drop(struct taskhints *th, const char *task)
{
    if (!th || !task)
        return;
    for (struct hint **pp = &th->b[bucket(task)]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->task, task) == 0) {
            struct hint *e = *pp;
            *pp = e->next;
            free(e);
            th->n--;
            return;
        }
}

size_t taskhints_count(const struct taskhints *th)
{
    return th ? th->n : 0;
}

void taskhints_free(struct taskhints *th)
{
    if (!th)
        return;
    clear(th);
    free(th);
}
