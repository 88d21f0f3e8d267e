/* A canonical snapshot of a site's Redis keys for "nothing changed" assertions: every key's name,
 * type and logical content (hash fields and set members sorted, zsets and lists and streams in
 * their own order) and whether it has a TTL. Not DUMP: DUMP serialises a hash table in its
 * bucket order, which a mere read changes (HGET performs an incremental rehash step), so equal
 * contents can give different DUMP bytes. */
#ifndef TESTS_COMMON_RDUMP_H
#define TESTS_COMMON_RDUMP_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

/* Decides whether a key is left out of the snapshot (journal, request records, ...). */
typedef bool (*rdump_skip_fn)(const char *key, void *arg);

/* Snapshots every key matching pattern (SCAN MATCH) that skip (may be NULL) does not leave out,
 * sorted by name. Returns a malloc'd buffer (*len its length); aborts the test process on a
 * Redis error (these are test helpers). */
char *rdump(redisContext *c, const char *pattern, rdump_skip_fn skip, void *arg, size_t *len);
/* Number of keys in a snapshot. */
size_t rdump_count(const char *snap, size_t len);
/* Prints to stderr the keys that differ between two snapshots (added, removed, changed). Returns
 * how many differ (0: equal). */
size_t rdump_diff(const char *a, size_t na, const char *b, size_t nb);

#endif
