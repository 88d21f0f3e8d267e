/* The derived site config of a simulator run (siteconf.h): libyaml's document API loads the
 * site file and its includes; a new document is built from their nodes with the redis, mqtt,
 * device uri and relative-path changes, and emitted. Lists of the included files are
 * concatenated and their mappings copied, as the config loader merges them (docs/config.md). */
#include "siteconf.h"

#include "base/err.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_FILES = 32 };

struct src {
    yaml_document_t doc;
    char dir[PATH_MAX];
    bool loaded;
};

struct derive {
    struct src files[MAX_FILES];
    size_t n_files;
    yaml_document_t out;
    const struct siteconf_opts *o;
    char *err;
    size_t err_len;
};

static const char *scalar(yaml_document_t *d, yaml_node_t *n)
{
    (void)d;
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int add_str(yaml_document_t *out, const char *s)
{
    return yaml_document_add_scalar(out, NULL, (yaml_char_t *)s, (int)strlen(s),
                                    YAML_ANY_SCALAR_STYLE);
}

static int add_pair(yaml_document_t *out, int map, const char *k, int v)
{
    int kn = add_str(out, k);
    if (!kn || !v || !yaml_document_append_mapping_pair(out, map, kn, v))
        return -ENOMEM;
    return 0;
}

/* Copies node n of document d into out (deep); returns the new node id or 0. */
static int copy(yaml_document_t *out, yaml_document_t *d, yaml_node_t *n)
{
    int id = 0;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return yaml_document_add_scalar(out, NULL, n->data.scalar.value, (int)n->data.scalar.length,
                                        n->data.scalar.style);
    case YAML_SEQUENCE_NODE:
        id = yaml_document_add_sequence(out, NULL, YAML_BLOCK_SEQUENCE_STYLE);
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             id && i < n->data.sequence.items.top; i++) {
            int c = copy(out, d, yaml_document_get_node(d, *i));
            if (!c || !yaml_document_append_sequence_item(out, id, c))
                return 0;
        }
        return id;
    case YAML_MAPPING_NODE:
        id = yaml_document_add_mapping(out, NULL, YAML_BLOCK_MAPPING_STYLE);
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; id && p < n->data.mapping.pairs.top;
             p++) {
            int k = copy(out, d, yaml_document_get_node(d, p->key));
            int v = copy(out, d, yaml_document_get_node(d, p->value));
            if (!k || !v || !yaml_document_append_mapping_pair(out, id, k, v))
                return 0;
        }
        return id;
    default:
        return 0;
    }
}

static int load(struct derive *D, const char *path)
{
    struct src *s;
    FILE *f;
    yaml_parser_t p;
    char tmp[PATH_MAX];
    int ok;
    if (D->n_files == MAX_FILES) {
        wcs_errf(D->err, D->err_len, "%s: more than %d included files", path, MAX_FILES);
        return WCS_E_CONFIG;
    }
    s = &D->files[D->n_files];
    if (!(f = fopen(path, "rb"))) {
        wcs_errf(D->err, D->err_len, "%s: %s", path, strerror(errno));
        return -errno;
    }
    snprintf(tmp, sizeof(tmp), "%s", path);
    if (!realpath(dirname(tmp), s->dir)) {
        fclose(f);
        return -errno;
    }
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    ok = yaml_parser_load(&p, &s->doc);
    if (!ok)
        wcs_errf(D->err, D->err_len, "%s:%zu:%zu: YAML: %s", path, p.problem_mark.line + 1,
                 p.problem_mark.column + 1, p.problem ? p.problem : "error");
    yaml_parser_delete(&p);
    fclose(f);
    if (!ok)
        return WCS_E_CONFIG;
    s->loaded = true;
    D->n_files++;
    if (!yaml_document_get_root_node(&s->doc) ||
        yaml_document_get_root_node(&s->doc)->type != YAML_MAPPING_NODE) {
        wcs_errf(D->err, D->err_len, "%s: expected a mapping at the top", path);
        return WCS_E_CONFIG;
    }
    return 0;
}

/* A path relative to dir made absolute. */
static void absolute(char *out, size_t cap, const char *dir, const char *rel)
{
    if (rel[0] == '/')
        snprintf(out, cap, "%s", rel);
    else
        snprintf(out, cap, "%s/%s", dir, rel);
}

static const char *dev_uri(const struct siteconf_opts *o, const char *id)
{
    for (size_t i = 0; id && i < o->n_devs; i++)
        if (strcmp(o->devs[i].id, id) == 0)
            return o->devs[i].uri;
    return NULL;
}

/* A device mapping with its uri replaced when the device is emulated (and, for an emulated PLC,
 * its poll_ms when o->plc_poll_ms is set). */
static int copy_device(struct derive *D, yaml_document_t *d, yaml_node_t *n)
{
    const char *id = NULL, *kind = NULL, *uri;
    char poll[16];
    bool plc_poll;
    int m;
    if (n->type != YAML_MAPPING_NODE)
        return copy(&D->out, d, n);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(d, yaml_document_get_node(d, p->key)) ?: "";
        if (strcmp(k, "id") == 0)
            id = scalar(d, yaml_document_get_node(d, p->value));
        else if (strcmp(k, "kind") == 0)
            kind = scalar(d, yaml_document_get_node(d, p->value));
    }
    if (!(uri = dev_uri(D->o, id)))
        return copy(&D->out, d, n);
    plc_poll = D->o->plc_poll_ms && kind && strcmp(kind, "plc") == 0;
    snprintf(poll, sizeof(poll), "%u", D->o->plc_poll_ms);
    m = yaml_document_add_mapping(&D->out, NULL, YAML_FLOW_MAPPING_STYLE);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; m && p < n->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(d, yaml_document_get_node(d, p->key));
        int v;
        if (!k)
            return 0;
        if (plc_poll && strcmp(k, "poll_ms") == 0)
            continue; /* added below */
        v = strcmp(k, "uri") == 0 ? add_str(&D->out, uri)
                                  : copy(&D->out, d, yaml_document_get_node(d, p->value));
        if (add_pair(&D->out, m, k, v) != 0)
            return 0;
    }
    if (m && plc_poll && add_pair(&D->out, m, "poll_ms", add_str(&D->out, poll)) != 0)
        return 0;
    return m;
}

/* A mapping copied with key k's value replaced by (or, when absent, given) the scalar v. */
static int copy_with(struct derive *D, yaml_document_t *d, yaml_node_t *n, const char *k,
                     const char *v)
{
    int m = yaml_document_add_mapping(&D->out, NULL, YAML_FLOW_MAPPING_STYLE);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; m && p < n->data.mapping.pairs.top;
         p++) {
        const char *pk = scalar(d, yaml_document_get_node(d, p->key));
        if (!pk)
            return 0;
        if (strcmp(pk, k) == 0)
            continue;
        if (add_pair(&D->out, m, pk, copy(&D->out, d, yaml_document_get_node(d, p->value))))
            return 0;
    }
    if (m && add_pair(&D->out, m, k, add_str(&D->out, v)) != 0)
        return 0;
    return m;
}

/* The conveyor section, with every scan point's decision_budget_ms set when
 * o->decision_budget_ms is. */
static int copy_conveyor(struct derive *D, yaml_document_t *d, yaml_node_t *n)
{
    char budget[16];
    int m;
    if (!D->o->decision_budget_ms || n->type != YAML_MAPPING_NODE)
        return copy(&D->out, d, n);
    snprintf(budget, sizeof(budget), "%u", D->o->decision_budget_ms);
    m = yaml_document_add_mapping(&D->out, NULL, YAML_BLOCK_MAPPING_STYLE);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; m && p < n->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(d, yaml_document_get_node(d, p->key));
        yaml_node_t *v = yaml_document_get_node(d, p->value);
        int c;
        if (!k)
            return 0;
        if (strcmp(k, "scan_points") == 0 && v->type == YAML_SEQUENCE_NODE) {
            c = yaml_document_add_sequence(&D->out, NULL, YAML_BLOCK_SEQUENCE_STYLE);
            for (yaml_node_item_t *i = v->data.sequence.items.start;
                 c && i < v->data.sequence.items.top; i++) {
                yaml_node_t *it = yaml_document_get_node(d, *i);
                int x = it->type == YAML_MAPPING_NODE
                            ? copy_with(D, d, it, "decision_budget_ms", budget)
                            : copy(&D->out, d, it);
                if (!x || !yaml_document_append_sequence_item(&D->out, c, x))
                    return 0;
            }
        } else {
            c = copy(&D->out, d, v);
        }
        if (!c || add_pair(&D->out, m, k, c) != 0)
            return 0;
    }
    return m;
}

/* The value node of key in mapping node v of d (NULL: v is no mapping or has no such key). */
static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *v, const char *key)
{
    if (!v || v->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *k = scalar(d, yaml_document_get_node(d, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

/* The redis or mqtt section, pointed at the run's servers. Of the site's own section (v in d,
 * NULL when it has none) only what is not about the connection is kept: mqtt's qos. */
static int conn_section(struct derive *D, bool redis, yaml_document_t *d, yaml_node_t *v)
{
    const struct siteconf_opts *o = D->o;
    int m = yaml_document_add_mapping(&D->out, NULL, YAML_BLOCK_MAPPING_STYLE);
    /* Copied as it is, so the loader judges it (a bad value is its error, not dropped here). */
    yaml_node_t *qos = redis ? NULL : map_get(d, v, "qos");
    char port[16], timeout[16];
    if (!m)
        return 0;
    if (redis) {
        snprintf(port, sizeof(port), "%d", o->redis_port);
        snprintf(timeout, sizeof(timeout), "%u", o->redis_timeout_ms ? o->redis_timeout_ms : 1000);
        if (add_pair(&D->out, m, "host", add_str(&D->out, o->redis_host)) ||
            add_pair(&D->out, m, "port", add_str(&D->out, port)) ||
            add_pair(&D->out, m, "user", add_str(&D->out, o->redis_user)) ||
            add_pair(&D->out, m, "password_file", add_str(&D->out, o->redis_password_file)) ||
            add_pair(&D->out, m, "timeout_ms", add_str(&D->out, timeout)) ||
            add_pair(&D->out, m, "journal_maxlen", add_str(&D->out, "5000000")))
            return 0;
    } else if (add_pair(&D->out, m, "uri", add_str(&D->out, o->mqtt_uri)) ||
               add_pair(&D->out, m, "client_id", add_str(&D->out, o->mqtt_client_id)) ||
               add_pair(&D->out, m, "user", add_str(&D->out, o->mqtt_user)) ||
               add_pair(&D->out, m, "password_file", add_str(&D->out, o->mqtt_password_file)) ||
               add_pair(&D->out, m, "keepalive_s", add_str(&D->out, "10")) ||
               (qos && add_pair(&D->out, m, "qos", copy(&D->out, d, qos)))) {
        return 0;
    }
    return m;
}

/* Merges the top-level keys of file fi (then its includes) into root/lists. */
struct merged {
    const char *key;
    int node; /* a sequence in out */
};

static bool seen_redis, seen_mqtt;

static int merge(struct derive *D, size_t fi, int root, struct merged *lists, size_t *n_lists)
{
    yaml_document_t *d = &D->files[fi].doc;
    yaml_node_t *r = yaml_document_get_root_node(d);
    for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top; p++) {
        const char *k = scalar(d, yaml_document_get_node(d, p->key));
        yaml_node_t *v = yaml_document_get_node(d, p->value);
        char abs[PATH_MAX];
        if (!k)
            continue;
        if (strcmp(k, "include") == 0) {
            if (v->type != YAML_SEQUENCE_NODE)
                continue;
            for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
                 i++) {
                const char *inc = scalar(d, yaml_document_get_node(d, *i));
                size_t nfi = D->n_files;
                int rc;
                if (!inc)
                    continue;
                absolute(abs, sizeof(abs), D->files[fi].dir, inc);
                if ((rc = load(D, abs)) != 0 || (rc = merge(D, nfi, root, lists, n_lists)) != 0)
                    return rc;
                d = &D->files[fi].doc; /* stable: files[] is an array, not reallocated */
            }
        } else if (strcmp(k, "products_file") == 0 && scalar(d, v)) {
            absolute(abs, sizeof(abs), D->files[fi].dir, scalar(d, v));
            if (add_pair(&D->out, root, k, add_str(&D->out, abs)))
                return -ENOMEM;
        } else if (strcmp(k, "redis") == 0 || strcmp(k, "mqtt") == 0) {
            *(k[0] == 'r' ? &seen_redis : &seen_mqtt) = true;
            if (add_pair(&D->out, root, k, conn_section(D, k[0] == 'r', d, v)))
                return -ENOMEM;
        } else if (v->type == YAML_SEQUENCE_NODE) {
            size_t li;
            for (li = 0; li < *n_lists; li++)
                if (strcmp(lists[li].key, k) == 0)
                    break;
            if (li == *n_lists) {
                int s = yaml_document_add_sequence(&D->out, NULL, YAML_BLOCK_SEQUENCE_STYLE);
                if (li == 32 || add_pair(&D->out, root, k, s))
                    return -ENOMEM;
                lists[li].key = k;
                lists[li].node = s;
                (*n_lists)++;
            }
            for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
                 i++) {
                yaml_node_t *it = yaml_document_get_node(d, *i);
                int c = strcmp(k, "devices") == 0 ? copy_device(D, d, it) : copy(&D->out, d, it);
                if (!c || !yaml_document_append_sequence_item(&D->out, lists[li].node, c))
                    return -ENOMEM;
            }
        } else if (add_pair(&D->out, root, k,
                            strcmp(k, "conveyor") == 0 ? copy_conveyor(D, d, v)
                                                       : copy(&D->out, d, v))) {
            return -ENOMEM;
        }
    }
    return 0;
}

int siteconf_derive(const char *site_path, const char *out_path, const struct siteconf_opts *o,
                    char *err, size_t err_len)
{
    struct derive *D = calloc(1, sizeof(*D));
    struct merged lists[32];
    size_t n_lists = 0;
    yaml_emitter_t em;
    FILE *f = NULL;
    int root, rc;
    if (!D)
        return -ENOMEM;
    D->o = o;
    D->err = err;
    D->err_len = err_len;
    if (!yaml_document_initialize(&D->out, NULL, NULL, NULL, 1, 1)) {
        free(D);
        return -ENOMEM;
    }
    root = yaml_document_add_mapping(&D->out, NULL, YAML_BLOCK_MAPPING_STYLE);
    seen_redis = seen_mqtt = false;
    rc = load(D, site_path);
    if (rc == 0)
        rc = merge(D, 0, root, lists, &n_lists);
    /* A site without connection sections gets them: the run's servers are the only ones. */
    if (rc == 0 && !seen_redis &&
        add_pair(&D->out, root, "redis", conn_section(D, true, NULL, NULL)))
        rc = -ENOMEM;
    if (rc == 0 && !seen_mqtt &&
        add_pair(&D->out, root, "mqtt", conn_section(D, false, NULL, NULL)))
        rc = -ENOMEM;
    if (rc == 0 && !(f = fopen(out_path, "w"))) {
        rc = -errno;
        wcs_errf(err, err_len, "%s: %s", out_path, strerror(errno));
    }
    if (rc == 0) {
        yaml_emitter_initialize(&em);
        yaml_emitter_set_output_file(&em, f);
        yaml_emitter_set_width(&em, 120);
        if (!yaml_emitter_open(&em)) {
            rc = WCS_E_CONFIG;
        } else {
            /* yaml_emitter_dump deletes the document whether it succeeds or not. */
            int ok = yaml_emitter_dump(&em, &D->out);
            memset(&D->out, 0, sizeof(D->out));
            if (!ok || !yaml_emitter_close(&em))
                rc = WCS_E_CONFIG;
        }
        if (rc != 0)
            wcs_errf(err, err_len, "%s: YAML emitter: %s", out_path,
                     em.problem ? em.problem : "error");
        yaml_emitter_delete(&em);
    }
    if (f && fclose(f) != 0 && rc == 0)
        rc = -EIO;
    if (rc != 0)
        yaml_document_delete(&D->out);
    for (size_t i = 0; i < D->n_files; i++)
        yaml_document_delete(&D->files[i].doc);
    free(D);
    return rc;
}
