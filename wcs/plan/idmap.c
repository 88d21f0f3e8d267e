/* String → dense id hash map for wcs_plan: linear probing over a power-of-two table of ids,
 * keys copied into per-key allocations, grown at 50% load. */
#include "idmap.h"

#include "base/hash.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct idmap {
    uint32_t *slots; /* id per slot, IDMAP_NONE when empty */
    uint32_t mask;   /* slots - 1 */
    char **keys;
    uint32_t *lens;
    uint32_t *hashes;
    uint32_t count, cap;
};

int idmap_new(struct idmap **out)
{
    struct idmap *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->mask = 15;
    m->slots = malloc(16 * sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return -ENOMEM;
    }
    memset(m->slots, 0xff, 16 * sizeof(*m->slots));
    *out = m;
    return 0;
}

void idmap_free(struct idmap *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->count; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->lens);
    free(m->hashes);
    free(m->slots);
    free(m);
}

static uint32_t find_slot(const struct idmap *m, const char *key, size_t len, uint32_t h)
{
    uint32_t i = h & m->mask;
    for (;;) {
        uint32_t id = m->slots[i];
        if (id == IDMAP_NONE ||
            (m->hashes[id] == h && m->lens[id] == len && memcmp(m->keys[id], key, len) == 0))
            return i;
        i = (i + 1) & m->mask;
    }
}

uint32_t idmap_get(const struct idmap *m, const char *key, size_t len)
{
    return m->slots[find_slot(m, key, len, (uint32_t)hash_mem(key, len))];
}

static int rehash(struct idmap *m, uint32_t n_slots)
{
    uint32_t *slots = malloc((size_t)n_slots * sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    memset(slots, 0xff, (size_t)n_slots * sizeof(*slots));
    free(m->slots);
    m->slots = slots;
    m->mask = n_slots - 1;
    for (uint32_t id = 0; id < m->count; id++) {
        uint32_t i = m->hashes[id] & m->mask;
        while (m->slots[i] != IDMAP_NONE)
            i = (i + 1) & m->mask;
        m->slots[i] = id;
    }
    return 0;
}

static int grow_arrays(struct idmap *m)
{
    uint32_t cap = m->cap ? m->cap * 2 : 16;
    char **keys = realloc(m->keys, cap * sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    m->keys = keys;
    uint32_t *lens = realloc(m->lens, cap * sizeof(*lens));
    if (!lens)
        return -ENOMEM;
    m->lens = lens;
    uint32_t *hashes = realloc(m->hashes, cap * sizeof(*hashes));
    if (!hashes)
        return -ENOMEM;
    m->hashes = hashes;
    m->cap = cap;
    return 0;
}

int idmap_put(struct idmap *m, const char *key, size_t len, uint32_t *id)
{
    uint32_t h = (uint32_t)hash_mem(key, len), slot = find_slot(m, key, len, h);
    char *copy;
    if (m->slots[slot] != IDMAP_NONE) {
        *id = m->slots[slot];
        return 0;
    }
    assert(len < UINT32_MAX && m->count < IDMAP_NONE - 1);
    if (m->count == m->cap && grow_arrays(m) < 0)
        return -ENOMEM;
    if ((uint64_t)(m->count + 1) * 2 > (uint64_t)m->mask + 1) {
        if (rehash(m, (m->mask + 1) * 2) < 0)
            return -ENOMEM;
        slot = find_slot(m, key, len, h);
    }
    copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, key, len);
    copy[len] = '\0';
    m->keys[m->count] = copy;
    m->lens[m->count] = (uint32_t)len;
    m->hashes[m->count] = h;
    m->slots[slot] = m->count;
    *id = m->count++;
    return 1;
}

const char *idmap_key(const struct idmap *m, uint32_t id)
{
    assert(id < m->count);
    return m->keys[id];
}

uint32_t idmap_count(const struct idmap *m)
{
    return m->count;
}

void idmap_pop(struct idmap *m)
{
    assert(m->count > 0);
    uint32_t id = m->count - 1;
    uint32_t slot = find_slot(m, m->keys[id], m->lens[id], m->hashes[id]);
    assert(m->slots[slot] == id);
    /* Backward-shift deletion keeps every probe chain unbroken. */
    uint32_t i = slot, j = slot;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->slots[j] == IDMAP_NONE)
            break;
        uint32_t home = m->hashes[m->slots[j]] & m->mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = IDMAP_NONE;
    free(m->keys[id]);
    m->count--;
}
