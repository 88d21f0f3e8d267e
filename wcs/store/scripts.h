/* The store's Lua scripts, embedded at build time (embed_lua.cmake): name, SHA1 of the body as
 * Redis computes it for SCRIPT LOAD / EVALSHA, and the body (prelude + script). Private to
 * wcs/store. */
#ifndef WCS_STORE_SCRIPTS_H
#define WCS_STORE_SCRIPTS_H

#include <stddef.h>

struct store_script {
    const char *name;
    const char *sha1; /* 40 lowercase hex digits */
    const char *body;
    size_t len;
};

/* Terminated by an entry with name == NULL. */
extern const struct store_script store_scripts[];

#endif
