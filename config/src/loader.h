/* Private to config/: the state of one cfg_load() run, shared by load.c (files, includes,
 * product files, secrets) and build.c (raw structs -> cfg_site, cross-reference checks). */
#ifndef CONFIG_LOADER_H
#define CONFIG_LOADER_H

#include "internal.h"

/* What a built item came from: its node (for the position of any field), the file, and the
 * path of the node in that file ("conveyor.lanes[3]"). */
struct org {
    const struct ynode *node;
    const char *file;
    const char *path;
};

struct srcfile {
    char *path; /* as shown in errors */
    char *dir;  /* directory relative paths in this file resolve against; NULL from memory */
    char *real; /* realpath, for cycles and repeats */
    char *text;
    size_t len;
    struct ytree tree;
    struct raw_file *raw;
    int parent;
};

/* The site's private allocations (cfg_site.files_). */
struct cfg_files {
    struct arena mem;
};

struct orgs {
    struct org *v;
    size_t cap;
};

struct loader {
    struct cfg_errors *errs;
    size_t errs_at_start;
    struct cfg_site *site;
    struct arena *mem;
    struct srcfile *files;
    size_t n_files, cap_files;
    bool from_mem;
    /* Capacities of the site arrays, and origins parallel to them. */
    size_t cap_wh, cap_loc, cap_prod, cap_cat, cap_put, cap_rep, cap_pur, cap_car, cap_dev, cap_sp,
        cap_lane, cap_st, cap_role, cap_user;
    struct orgs o_wh, o_loc, o_prod, o_cat, o_put, o_rep, o_pur, o_car, o_dev, o_sp, o_lane, o_st,
        o_role, o_user;
    struct strmap m_wh, m_loc, m_sku, m_gtin, m_cat, m_car, m_dev, m_sp, m_lane, m_st, m_role,
        m_user;
    /* Where each once-only section was set: file index + 1, 0 when not yet. */
    const struct ynode *once_node[16]; /* indexed by build.c's ONCE_* (fewer than 16) */
    const char *once_file[16];
    int oom;
};

static inline bool loader_failed(const struct loader *L)
{
    return L->errs->count + L->errs->dropped > L->errs_at_start;
}

/* Adds an error at the node found by rel ("capacity.units", "cutoffs[1]", "" for the item)
 * below o->node (falls back to the nearest existing ancestor), with path o->path + rel. */
void lerr(struct loader *L, const struct org *o, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Grows a site array by one zeroed element; returns its index or -1 (out of memory). */
int grow(struct loader *L, void **arr, uint32_t *n, size_t *cap, size_t elem, struct orgs *o,
         const struct org *org);

int build_file(struct loader *L, size_t fi);
int build_finish(struct loader *L);
/* Resolves the category of product i from its node (products whose org has no node were
 * resolved as their file was read); reports an unknown one. */
void product_category(struct loader *L, uint32_t i);
/* Reads the products CSV or JSONL file named by file fi (chosen by its extension). */
int load_products_file(struct loader *L, size_t fi);
/* Reads a whole regular file of at most 64 MiB; NUL-terminated, the caller frees it. Returns
 * NULL with *err set (an errno) on failure. */
char *read_all(const char *path, size_t *len, int *err);
/* Resolves a path named in file fi (relative to its directory); arena string. */
const char *resolve_path(struct loader *L, size_t fi, const char *rel);
void check_secret(struct loader *L, size_t fi, const struct org *o, const char *rel,
                  const char *name);

#endif
