/* A string → dense id hash map (open addressing, FNV-1a): ids are 0, 1, 2... in insertion
 * order and each id's key can be read back. Used by wcs_plan for SKUs, location paths, lots,
 * zones, order ids. Private to wcs/plan. */
#ifndef WCS_PLAN_IDMAP_H
#define WCS_PLAN_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#define IDMAP_NONE UINT32_MAX

struct idmap;

/* Returns 0 with *out set (free with idmap_free), or -ENOMEM. */
int idmap_new(struct idmap **out);
/* NULL-safe. */
void idmap_free(struct idmap *m);
/* The id of key (len bytes, not NUL-terminated), or IDMAP_NONE. */
uint32_t idmap_get(const struct idmap *m, const char *key, size_t len);
/* Sets *id to key's id, adding the key with the next id if absent. Returns 1 (added), 0
 * (present) or -ENOMEM (nothing changed). */
int idmap_put(struct idmap *m, const char *key, size_t len, uint32_t *id);
/* The NUL-terminated key of id (< idmap_count), owned by the map. */
const char *idmap_key(const struct idmap *m, uint32_t id);
uint32_t idmap_count(const struct idmap *m);
/* Removes the most recently added key (the last id). For rolling back a failed parse. */
void idmap_pop(struct idmap *m);

#endif
