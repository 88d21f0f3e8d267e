/* cfg_load(): reads the root file and its includes, parses each with libyaml into a node tree,
 * checks every tree against the schema, lets libcyaml fill the raw structs when all are clean,
 * then hands over to build.c. Also file reading (read_all, shared with the products CSV and
 * JSONL readers of build.c) and secret-file checks, the only places that touch the filesystem. */
#include "loader.h"

#include "base/err.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE_BYTES (64u << 20)

static const char *node_at(const struct ynode *n, const char *rel, const struct ynode **out)
{
    char key[128];
    *out = n;
    while (*rel && n) {
        size_t k = strcspn(rel, ".[");
        if (k > 0) {
            if (k >= sizeof(key))
                return rel;
            memcpy(key, rel, k);
            key[k] = '\0';
            n = ymap_get(n, key);
            if (!n)
                return rel;
            *out = n;
            rel += k;
        } else if (*rel == '[') {
            size_t idx = strtoul(rel + 1, NULL, 10);
            if (n->kind != Y_SEQ || idx >= n->n)
                return rel;
            n = n->items[idx];
            *out = n;
            rel = strchr(rel, ']');
            rel = rel ? rel + 1 : "";
        }
        if (*rel == '.')
            rel++;
    }
    return rel;
}

void lerr(struct loader *L, const struct org *o, const char *rel, const char *fmt, ...)
{
    char msg[900], path[600];
    const struct ynode *n = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (o->node)
        node_at(o->node, rel, &n);
    snprintf(path, sizeof(path), "%s%s%s", o->path, (*o->path && *rel && rel[0] != '[') ? "." : "",
             rel);
    errs_add(L->errs, o->file, n ? n->line : 1, n ? n->col : 1, path, "%s", msg);
}

int grow(struct loader *L, void **arr, uint32_t *n, size_t *cap, size_t elem, struct orgs *o,
         const struct org *org)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *a = realloc(*arr, nc * elem);
        struct org *ov;
        if (!a)
            goto oom;
        *arr = a;
        ov = realloc(o->v, nc * sizeof(*ov));
        if (!ov)
            goto oom;
        o->v = ov;
        *cap = nc;
    }
    memset((char *)*arr + *n * elem, 0, elem);
    o->v[*n] = *org;
    return (int)(*n)++;
oom:
    L->oom = 1;
    return -1;
}

const char *resolve_path(struct loader *L, size_t fi, const char *rel)
{
    const char *dir = L->files[fi].dir;
    char *out;
    size_t n;
    if (rel[0] == '/' || !dir || !*dir)
        return arena_strdup(L->mem, rel);
    n = strlen(dir) + strlen(rel) + 2;
    out = arena_alloc(L->mem, n);
    if (out)
        snprintf(out, n, "%s/%s", dir, rel);
    return out;
}

char *read_all(const char *path, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    struct stat st;
    if (!f) {
        *err = errno;
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
        fclose(f);
        *err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return NULL;
    }
    for (;;) {
        size_t got;
        if (n + 4096 + 1 > cap) {
            char *b;
            cap = cap ? cap * 2 : 65536;
            if (cap > MAX_FILE_BYTES + 65536) {
                free(buf);
                fclose(f);
                *err = EFBIG;
                return NULL;
            }
            b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                *err = ENOMEM;
                return NULL;
            }
            buf = b;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        *err = errno ? errno : EIO;
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *dir_of(struct arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return arena_strdup(a, "");
    if (slash == path)
        return arena_strdup(a, "/");
    return arena_strndup(a, path, (size_t)(slash - path));
}

static int add_file(struct loader *L, const char *path, char *text, size_t len, int parent)
{
    struct srcfile *f;
    if (L->n_files == L->cap_files) {
        size_t nc = L->cap_files ? L->cap_files * 2 : 8;
        struct srcfile *v = realloc(L->files, nc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        L->files = v;
        L->cap_files = nc;
    }
    f = &L->files[L->n_files];
    memset(f, 0, sizeof(*f));
    f->path = arena_strdup(L->mem, path);
    f->dir = L->from_mem ? NULL : dir_of(L->mem, path);
    f->text = text;
    f->len = len;
    f->parent = parent;
    if (!L->from_mem) {
        char real[PATH_MAX];
        f->real = arena_strdup(L->mem, realpath(path, real) ? real : path);
    }
    if (!f->path || (!L->from_mem && (!f->dir || !f->real)))
        return -ENOMEM;
    return (int)L->n_files++;
}

/* Parses and checks file fi, then loads what it includes (depth first). */
static int process_file(struct loader *L, size_t fi)
{
    const struct ynode *root, *inc;
    int rc = ytree_parse(&L->files[fi].tree, L->files[fi].path, L->files[fi].text, L->files[fi].len,
                         L->errs);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return 0;
    root = L->files[fi].tree.root;
    if (!root) {
        if (fi == 0)
            errs_add(L->errs, L->files[fi].path, 1, 1, "(top)", "the file is empty");
        return 0;
    }
    check_tree(root, L->files[fi].path, L->errs);
    inc = ymap_get(root, "include");
    if (!inc || inc->kind != Y_SEQ)
        return 0;
    for (size_t i = 0; i < inc->n; i++) {
        const struct ynode *item = inc->items[i];
        struct org o = {root, L->files[fi].path, ""};
        char rel[32], real[PATH_MAX];
        const char *p;
        char *text;
        size_t len = 0;
        int err = 0, nf;
        bool bad = false;
        if (item->kind != Y_SCALAR || item->len == 0)
            continue; /* check_tree reported it */
        snprintf(rel, sizeof(rel), "include[%zu]", i);
        if (L->from_mem) {
            lerr(L, &o, rel, "cannot include '%s' when the config is loaded from memory",
                 item->str);
            continue;
        }
        p = resolve_path(L, fi, item->str);
        if (!p)
            return -ENOMEM;
        if (realpath(p, real)) {
            /* A cycle runs back up the chain of includers; a repeat is anywhere else. */
            for (int a = (int)fi; a >= 0; a = L->files[a].parent)
                if (strcmp(L->files[a].real, real) == 0) {
                    char chain[1024];
                    size_t o2 = 0;
                    int stack[64], depth = 0;
                    for (int b = (int)fi; b >= 0 && depth < 64; b = L->files[b].parent) {
                        stack[depth++] = b;
                        if (b == a)
                            break;
                    }
                    chain[0] = '\0';
                    while (depth-- > 0 && o2 < sizeof(chain))
                        o2 += (size_t)snprintf(chain + o2, sizeof(chain) - o2, "%s -> ",
                                               L->files[stack[depth]].path);
                    if (o2 < sizeof(chain))
                        snprintf(chain + o2, sizeof(chain) - o2, "%s", p);
                    lerr(L, &o, rel, "include cycle: %s", chain);
                    bad = true;
                    break;
                }
            for (size_t b = 0; !bad && b < L->n_files; b++)
                if (strcmp(L->files[b].real, real) == 0) {
                    lerr(L, &o, rel, "'%s' is already included (from %s); include a file once", p,
                         L->files[b].parent >= 0 ? L->files[L->files[b].parent].path : "the top");
                    bad = true;
                }
        }
        if (bad)
            continue;
        if (L->n_files >= 64) {
            lerr(L, &o, rel, "more than 64 files included");
            continue;
        }
        text = read_all(p, &len, &err);
        if (!text) {
            if (err == ENOMEM)
                return -ENOMEM;
            lerr(L, &o, rel, "cannot read '%s': %s", p, strerror(err));
            continue;
        }
        nf = add_file(L, p, text, len, (int)fi);
        if (nf < 0) {
            free(text);
            return nf;
        }
        rc = process_file(L, (size_t)nf);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void loader_fini(struct loader *L)
{
    struct orgs *os[] = {&L->o_wh,   &L->o_loc, &L->o_prod, &L->o_cat, &L->o_put,
                         &L->o_rep,  &L->o_pur, &L->o_car,  &L->o_dev, &L->o_sp,
                         &L->o_lane, &L->o_st,  &L->o_role, &L->o_user};
    struct strmap *ms[] = {&L->m_wh,  &L->m_loc, &L->m_sku,  &L->m_gtin, &L->m_cat,  &L->m_car,
                           &L->m_dev, &L->m_sp,  &L->m_lane, &L->m_st,   &L->m_role, &L->m_user};
    for (size_t i = 0; i < sizeof(os) / sizeof(os[0]); i++)
        free(os[i]->v);
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
        strmap_free(ms[i]);
    for (size_t i = 0; i < L->n_files; i++) {
        schema_free(L->files[i].raw);
        ytree_fini(&L->files[i].tree);
        free(L->files[i].text);
    }
    free(L->files);
}

static int run(struct cfg_site **out, const char *path, char *text, size_t len,
               struct cfg_errors *errs, bool from_mem)
{
    struct loader L;
    struct cfg_site *site = calloc(1, sizeof(*site));
    int rc = 0, fi;
    memset(&L, 0, sizeof(L));
    L.errs = errs;
    L.errs_at_start = errs->count + errs->dropped;
    L.from_mem = from_mem;
    if (!site || !(site->files_ = calloc(1, sizeof(*site->files_)))) {
        free(site);
        free(text);
        return -ENOMEM;
    }
    L.site = site;
    L.mem = &site->files_->mem;
    fi = add_file(&L, path, text, len, -1);
    if (fi < 0) {
        free(text);
        rc = fi;
        goto out;
    }
    rc = process_file(&L, 0);
    if (rc < 0 || loader_failed(&L))
        goto out;
    for (size_t i = 0; i < L.n_files; i++) {
        if (!L.files[i].tree.root)
            continue;
        rc = schema_load(&L.files[i].raw, L.files[i].path, L.files[i].text, L.files[i].len, errs);
        if (rc < 0)
            goto out;
    }
    for (size_t i = 0; i < L.n_files && rc == 0; i++)
        if (L.files[i].raw)
            rc = build_file(&L, i);
    for (size_t i = 0; i < L.n_files && rc == 0; i++)
        if (L.files[i].raw && L.files[i].raw->products_file)
            rc = load_products_file(&L, i);
    if (rc == 0)
        rc = build_finish(&L);
    if (rc == 0 && L.oom)
        rc = -ENOMEM;
    if (rc == 0 && !loader_failed(&L))
        rc = cfg_index_products(site);
out:
    loader_fini(&L);
    if (rc == 0 && loader_failed(&L))
        rc = WCS_E_CONFIG;
    if (rc < 0 && rc != -ENOMEM && !loader_failed(&L))
        errs_add(errs, path, 1, 1, "(top)", "%s", wcs_strerror(rc));
    if (rc < 0 && rc != -ENOMEM)
        rc = WCS_E_CONFIG;
    if (rc < 0) {
        cfg_free(site);
        return rc;
    }
    *out = site;
    return 0;
}

int cfg_load(struct cfg_site **out, const char *path, struct cfg_errors *errs)
{
    size_t len = 0;
    int err = 0;
    char *text = read_all(path, &len, &err);
    if (!text) {
        if (err == ENOMEM)
            return -ENOMEM;
        errs_add(errs, path, 1, 1, "(top)", "cannot read the config: %s", strerror(err));
        return WCS_E_CONFIG;
    }
    return run(out, path, text, len, errs, false);
}

int cfg_load_mem(struct cfg_site **out, const char *name, const char *text, size_t len,
                 struct cfg_errors *errs)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    return run(out, name, copy, len, errs, true);
}

void cfg_free(struct cfg_site *site)
{
    if (!site)
        return;
    cfg_index_free(site);
    free(site->warehouses);
    free(site->locations);
    free(site->products);
    free(site->categories);
    free(site->putaway_rules);
    free(site->replenishment);
    free(site->purchase_rules);
    free(site->waves.carriers);
    free(site->devices);
    free(site->scan_points);
    free(site->lanes);
    free(site->stations);
    free(site->roles);
    free(site->users);
    if (site->files_)
        arena_free(&site->files_->mem);
    free(site->files_);
    free(site);
}

void check_secret(struct loader *L, size_t fi, const struct org *o, const char *rel,
                  const char *name)
{
    struct stat st;
    const char *p;
    if (L->from_mem) {
        lerr(L, o, rel, "cannot check '%s' when the config is loaded from memory", name);
        return;
    }
    p = resolve_path(L, fi, name);
    if (!p) {
        L->oom = 1;
        return;
    }
    if (stat(p, &st) < 0) {
        lerr(L, o, rel,
             "cannot use password file '%s': %s; create it with the secret and "
             "chmod 600 (scripts/example-secrets.sh does this for the examples)",
             p, strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        lerr(L, o, rel, "password file '%s' is not a regular file", p);
        return;
    }
    if (st.st_mode & 077)
        lerr(L, o, rel,
             "password file '%s' has mode %04o; group and others must have no access: "
             "chmod 600 %s",
             p, (unsigned)(st.st_mode & 07777), p);
}
