/* The PLC decision table (drivers/plc.h): immutable versions of a persistent string map with
 * copy-on-write pages and buckets, rule sets and lane flags, published by the owner with one
 * pointer swap and read lock-free by the PLC workers; nodes dropped by a version are freed once
 * every reader slot has moved past it (epoch counters, one per reader). */
#include "plc_private.h"

#include "base/err.h"
#include "base/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
    TOP_BITS = 10,
    PAGE_BITS = 8,
    N_TOP = 1 << TOP_BITS,   /* pages per version */
    N_PAGE = 1 << PAGE_BITS, /* buckets per page: 262 144 buckets in all */
};

#define SLOT_IDLE UINT64_MAX

struct entry {
    uint64_t hash;
    char key[CONV_TABLE_KEY_MAX];
    char value[CONV_TABLE_KEY_MAX];
};

/* Nodes carry the version that made them: equal to the working version means not yet
 * published, so the owner may still change it in place. */
struct bucket {
    uint64_t born;
    uint32_t n;
    struct entry e[];
};

struct page {
    uint64_t born;
    struct bucket *b[N_PAGE];
};

struct rules {
    uint64_t born;
    size_t n;
    struct conv_ruleset sets[]; /* classes point into cls below */
};

struct lanes {
    uint64_t born;
    size_t n;
    bool ok[];
};

struct snap {
    uint64_t version;
    size_t size;
    struct rules *rules;
    struct lanes *lanes;
    struct page *pages[N_TOP];
};

struct retired {
    void *p;
    uint64_t tag; /* the first version without it */
};

struct conv_table {
    conv_key_fn key_fn;
    _Atomic(struct snap *) cur; /* newest published, NULL before the first publish */
    _Atomic uint64_t pub;       /* its version */
    struct snap *work;          /* the next version being staged (owner only) */
    bool dirty;
    _Atomic uint64_t slot[CONV_TABLE_READERS]; /* SLOT_IDLE or the version a reader entered */
    bool slot_used[CONV_TABLE_READERS];
    struct retired *ret;
    size_t n_ret, cap_ret;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = hash_str(s);
    return h ? h : 1;
}

/* Remembers p for freeing once no reader can see it. On allocation failure the node leaks
 * rather than being freed under a reader. */
static void retire(struct conv_table *t, void *p)
{
    if (!p)
        return;
    if (t->n_ret == t->cap_ret) {
        size_t cap = t->cap_ret ? t->cap_ret * 2 : 256;
        struct retired *r = realloc(t->ret, cap * sizeof(*r));
        if (!r)
            return;
        t->ret = r;
        t->cap_ret = cap;
    }
    t->ret[t->n_ret++] = (struct retired){p, t->work->version};
}

int conv_table_new(struct conv_table **out, conv_key_fn key_fn)
{
    struct conv_table *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->work = calloc(1, sizeof(*t->work));
    if (!t->work) {
        free(t);
        return -ENOMEM;
    }
    t->work->version = 1;
    t->key_fn = key_fn;
    atomic_init(&t->cur, NULL);
    atomic_init(&t->pub, 0);
    for (size_t i = 0; i < CONV_TABLE_READERS; i++)
        atomic_init(&t->slot[i], SLOT_IDLE);
    *out = t;
    return 0;
}

void conv_table_free(struct conv_table *t)
{
    struct snap *cur;
    if (!t)
        return;
    /* Retired nodes are exactly those of older versions that the working copy dropped; the
     * rest of the published version is shared with the working copy. */
    for (size_t i = 0; i < t->n_ret; i++)
        free(t->ret[i].p);
    free(t->ret);
    for (size_t i = 0; i < N_TOP; i++) {
        struct page *pg = t->work->pages[i];
        if (!pg)
            continue;
        for (size_t j = 0; j < N_PAGE; j++)
            free(pg->b[j]);
        free(pg);
    }
    free(t->work->rules);
    free(t->work->lanes);
    cur = atomic_load(&t->cur);
    if (cur != t->work)
        free(cur);
    free(t->work);
    free(t);
}

/* The working copy's page i, copied first if a published version shares it. */
static struct page *own_page(struct conv_table *t, size_t i)
{
    struct page *pg = t->work->pages[i], *np;
    if (pg && pg->born == t->work->version)
        return pg;
    np = malloc(sizeof(*np));
    if (!np)
        return NULL;
    if (pg)
        memcpy(np, pg, sizeof(*np));
    else
        memset(np, 0, sizeof(*np));
    np->born = t->work->version;
    retire(t, pg);
    t->work->pages[i] = np;
    return np;
}

int conv_table_put(struct conv_table *t, const char *key, const char *value)
{
    size_t klen = key ? strlen(key) : 0, vlen = value ? strlen(value) : 0;
    uint64_t h;
    size_t ti, bi, n, at;
    struct page *pg;
    struct bucket *b, *nb;

    if (klen == 0 || klen >= CONV_TABLE_KEY_MAX || vlen >= CONV_TABLE_KEY_MAX)
        return WCS_E_RANGE;
    h = hash_key(key);
    ti = (size_t)(h >> (64 - TOP_BITS));
    bi = (size_t)(h >> (64 - TOP_BITS - PAGE_BITS)) & (N_PAGE - 1);
    pg = t->work->pages[ti];
    b = pg ? pg->b[bi] : NULL;
    n = b ? b->n : 0;
    for (at = 0; at < n; at++)
        if (b->e[at].hash == h && strcmp(b->e[at].key, key) == 0)
            break;
    if (at == n && !value)
        return 0; /* deleting what is not there */
    if (at < n && value && strcmp(b->e[at].value, value) == 0)
        return 0; /* unchanged: no copy, no new version */
    pg = own_page(t, ti);
    if (!pg)
        return -ENOMEM;
    if (!value) {
        /* Delete: a copy without the entry (or none at all). */
        nb = NULL;
        if (n > 1) {
            nb = malloc(sizeof(*nb) + (n - 1) * sizeof(nb->e[0]));
            if (!nb)
                return -ENOMEM;
            nb->born = t->work->version;
            nb->n = (uint32_t)(n - 1);
            memcpy(nb->e, b->e, at * sizeof(b->e[0]));
            memcpy(nb->e + at, b->e + at + 1, (n - at - 1) * sizeof(b->e[0]));
        }
        t->work->size--;
    } else {
        size_t m = at < n ? n : n + 1;
        if (b && b->born == t->work->version && at < n) {
            nb = b; /* not published yet: change in place */
        } else {
            nb = malloc(sizeof(*nb) + m * sizeof(nb->e[0]));
            if (!nb)
                return -ENOMEM;
            nb->born = t->work->version;
            nb->n = (uint32_t)m;
            if (n)
                memcpy(nb->e, b->e, n * sizeof(b->e[0]));
        }
        if (at == n) {
            nb->e[at].hash = h;
            memcpy(nb->e[at].key, key, klen + 1);
            t->work->size++;
        }
        memcpy(nb->e[at].value, value, vlen + 1);
    }
    if (b != nb) {
        if (b && b->born == t->work->version)
            free(b); /* never published */
        else
            retire(t, b);
    }
    pg->b[bi] = nb;
    t->dirty = true;
    return 0;
}

int conv_table_set_rules(struct conv_table *t, const struct conv_ruleset *sets, size_t n)
{
    size_t ncls = 0;
    struct rules *r;
    struct conv_class_rule *cls;

    for (size_t i = 0; i < n; i++) {
        const struct conv_ruleset *s = &sets[i];
        if (s->n_classes > CONV_TABLE_CLASSES || (s->n_classes && !s->classes))
            return WCS_E_RANGE;
        if ((s->noread.cmd_flags | s->multiread.cmd_flags | s->malformed.cmd_flags) &
            ~PLC_CMD_KNOWN_MASK)
            return WCS_E_RANGE;
        for (size_t c = 0; c < s->n_classes; c++)
            if ((s->classes[c].rule.cmd_flags & ~PLC_CMD_KNOWN_MASK) ||
                memchr(s->classes[c].cls, '\0', CONV_TABLE_KEY_MAX) == NULL)
                return WCS_E_RANGE;
        ncls += s->n_classes;
    }
    r = malloc(sizeof(*r) + n * sizeof(r->sets[0]) + ncls * sizeof(*cls));
    if (!r)
        return -ENOMEM;
    r->born = t->work->version;
    r->n = n;
    cls = (struct conv_class_rule *)(void *)(r->sets + n);
    for (size_t i = 0; i < n; i++) {
        r->sets[i] = sets[i];
        if (sets[i].n_classes)
            memcpy(cls, sets[i].classes, sets[i].n_classes * sizeof(*cls));
        r->sets[i].classes = cls;
        cls += sets[i].n_classes;
    }
    if (t->work->rules && t->work->rules->born == t->work->version)
        free(t->work->rules);
    else
        retire(t, t->work->rules);
    t->work->rules = r;
    t->dirty = true;
    return 0;
}

int conv_table_set_lanes(struct conv_table *t, const bool *ok, size_t n)
{
    struct lanes *l = malloc(sizeof(*l) + (n ? n : 1) * sizeof(bool));
    if (!l)
        return -ENOMEM;
    l->born = t->work->version;
    l->n = n;
    if (n)
        memcpy(l->ok, ok, n * sizeof(bool));
    if (t->work->lanes && t->work->lanes->born == t->work->version)
        free(t->work->lanes);
    else
        retire(t, t->work->lanes);
    t->work->lanes = l;
    t->dirty = true;
    return 0;
}

size_t conv_table_reclaim(struct conv_table *t)
{
    uint64_t min = SLOT_IDLE;
    size_t kept = 0;
    for (size_t i = 0; i < CONV_TABLE_READERS; i++) {
        uint64_t v = atomic_load(&t->slot[i]);
        if (v < min)
            min = v;
    }
    /* A reader that entered with version v reads a version >= v, which holds no node whose
     * tag is <= v. A slot read as idle belongs to a reader that will load a pointer published
     * before this check (all sequentially consistent). */
    for (size_t i = 0; i < t->n_ret; i++) {
        if (t->ret[i].tag <= min)
            free(t->ret[i].p);
        else
            t->ret[kept++] = t->ret[i];
    }
    t->n_ret = kept;
    return kept;
}

uint64_t conv_table_publish(struct conv_table *t)
{
    struct snap *old = atomic_load(&t->cur), *next;
    uint64_t v = t->work->version;

    if (!t->dirty)
        return atomic_load(&t->pub);
    next = malloc(sizeof(*next));
    if (!next) {
        /* Keep staging into the same working copy; the next publish retries. */
        (void)conv_table_reclaim(t);
        return atomic_load(&t->pub);
    }
    atomic_store(&t->cur, t->work);
    atomic_store(&t->pub, v);
    memcpy(next, t->work, sizeof(*next));
    next->version = v + 1;
    t->work = next;
    t->dirty = false;
    retire(t, old); /* the snapshot struct itself; tag v + 1 */
    (void)conv_table_reclaim(t);
    return v;
}

size_t conv_table_size(const struct conv_table *t)
{
    const struct snap *s = atomic_load(&((struct conv_table *)t)->cur);
    return s ? s->size : 0;
}

int conv_table_reader_add(struct conv_table *t)
{
    for (int i = 0; i < CONV_TABLE_READERS; i++)
        if (!t->slot_used[i]) {
            t->slot_used[i] = true;
            atomic_store(&t->slot[i], SLOT_IDLE);
            return i;
        }
    return WCS_E_FULL;
}

void conv_table_reader_del(struct conv_table *t, int slot)
{
    if (slot < 0 || slot >= CONV_TABLE_READERS)
        return;
    atomic_store(&t->slot[slot], SLOT_IDLE);
    t->slot_used[slot] = false;
}

static const char *map_get(const struct snap *s, const char *key)
{
    uint64_t h = hash_key(key);
    const struct page *pg = s->pages[h >> (64 - TOP_BITS)];
    const struct bucket *b;
    if (!pg)
        return NULL;
    b = pg->b[(h >> (64 - TOP_BITS - PAGE_BITS)) & (N_PAGE - 1)];
    for (uint32_t i = 0; b && i < b->n; i++)
        if (b->e[i].hash == h && strcmp(b->e[i].key, key) == 0)
            return b->e[i].value;
    return NULL;
}

static const struct conv_rule *class_rule(const struct conv_ruleset *rs, const char *cls)
{
    for (size_t i = 0; i < rs->n_classes; i++)
        if (strcmp(rs->classes[i].cls, cls) == 0)
            return &rs->classes[i].rule;
    return NULL;
}

static void resolve(const struct conv_table *t, const struct snap *s, uint32_t set,
                    enum plc_read_result rr, const char *barcode, struct conv_rule *out)
{
    const struct conv_ruleset *rs;
    const struct conv_rule *r = NULL;
    char key[CONV_TABLE_KEY_MAX];
    const char *v;

    if (!s->rules || set >= s->rules->n)
        return;
    rs = &s->rules->sets[set];
    if (rr == PLC_READ_NOREAD || rr == PLC_READ_NONE) {
        r = &rs->noread;
    } else if (rr == PLC_READ_MULTI) {
        r = &rs->multiread;
    } else if (t->key_fn) {
        if (t->key_fn(barcode, strlen(barcode), key, sizeof(key)) != 0)
            r = &rs->malformed;
        v = key;
    } else {
        v = barcode;
    }
    for (unsigned hop = 0; !r && hop < CONV_TABLE_HOPS; hop++) {
        v = map_get(s, v);
        if (!v)
            return;
        r = class_rule(rs, v);
    }
    if (!r || r->kind != CONV_RULE_WRITE)
        return;
    if (r->lane >= 0 && (!s->lanes || (size_t)r->lane >= s->lanes->n || !s->lanes->ok[r->lane]))
        return;
    *out = *r;
}

void conv_table_decide(struct conv_table *t, int slot, uint32_t set, enum plc_read_result rr,
                       const char *barcode, struct conv_rule *out, uint64_t *version_out)
{
    struct snap *s;

    memset(out, 0, sizeof(*out));
    out->kind = CONV_RULE_ASK;
    out->lane = -1;
    /* Enter: announce the published version first, then load the pointer, which is at least
     * that version (publish stores the pointer before the version). */
    atomic_store(&t->slot[slot], atomic_load(&t->pub));
    s = atomic_load(&t->cur);
    *version_out = s ? s->version : 0;
    if (s)
        resolve(t, s, set, rr, barcode, out);
    atomic_store(&t->slot[slot], SLOT_IDLE);
}
