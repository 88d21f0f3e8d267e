/* The hash of a string for the project's in-memory tables (open addressing or chained, sized in
 * powers of two: callers mask the low bits): FNV-1a, 64 bits. Not for anything an attacker may
 * choose to collide at scale. */
#ifndef BASE_HASH_H
#define BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* the FNV offset basis */
    while (*s)
        h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

/* The same hash of n bytes at p (keys that are not NUL-terminated): hash_mem(s, strlen(s)) ==
 * hash_str(s). */
static inline uint64_t hash_mem(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

#endif
