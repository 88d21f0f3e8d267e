/* Scenario parser (sim/scenario.h, docs/scenarios.md): libyaml's event API builds a small node
 * tree with line/column marks, then a walk over the known keys fills struct sim_scenario and
 * reports every problem as `file:line:col: path: message`. Pure: no I/O but the file read of
 * sim_scenario_load. */
#include "sim/scenario.h"

#include "base/err.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

enum { ERR_MAX = 200, DEPTH_MAX = 32 };

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
    enum ykind kind;
    unsigned line, col;
    char *text;          /* scalar */
    struct ynode **kids; /* map: key, value, key, value...; seq: items */
    size_t n, cap;
};

struct ctx {
    const char *file;
    struct sim_errors *errs;
    size_t n_err;
    bool oom;
};

static void node_free(struct ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static void err_add(struct ctx *c, unsigned line, unsigned col, const char *path, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static void err_add(struct ctx *c, unsigned line, unsigned col, const char *path, const char *fmt,
                    ...)
{
    char msg[512], *l;
    va_list ap;
    char **grown;
    c->n_err++;
    if (!c->errs || c->errs->count >= ERR_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (asprintf(&l, "%s:%u:%u: %s: %s", c->file, line, col, path[0] ? path : "(top)", msg) < 0) {
        c->oom = true;
        return;
    }
    grown = realloc(c->errs->lines, (c->errs->count + 1) * sizeof(*grown));
    if (!grown) {
        free(l);
        c->oom = true;
        return;
    }
    c->errs->lines = grown;
    c->errs->lines[c->errs->count++] = l;
}

void sim_errors_fini(struct sim_errors *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->count; i++)
        free(e->lines[i]);
    free(e->lines);
    e->lines = NULL;
    e->count = 0;
}

static int add_kid(struct ynode *p, struct ynode *k)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct ynode **g = realloc(p->kids, cap * sizeof(*g));
        if (!g)
            return -ENOMEM;
        p->kids = g;
        p->cap = cap;
    }
    p->kids[p->n++] = k;
    return 0;
}

/* Builds the tree; on a YAML error appends one error and returns WCS_E_CONFIG. */
static int tree_parse(struct ctx *c, const char *text, size_t len, struct ynode **root)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct ynode *stack[DEPTH_MAX];
    int depth = 0, rc = 0;
    bool done = false;
    *root = NULL;
    if (!yaml_parser_initialize(&p))
        return -ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done) {
        struct ynode *n = NULL;
        if (!yaml_parser_parse(&p, &ev)) {
            err_add(c, (unsigned)p.problem_mark.line + 1, (unsigned)p.problem_mark.column + 1, "",
                    "YAML syntax: %s%s%s", p.problem ? p.problem : "error", p.context ? " " : "",
                    p.context ? p.context : "");
            rc = WCS_E_CONFIG;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (*root) {
                err_add(c, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1, "",
                        "one YAML document expected");
                rc = WCS_E_CONFIG;
                done = true;
            }
            break;
        case YAML_ALIAS_EVENT:
            err_add(c, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1, "",
                    "aliases are not supported");
            rc = WCS_E_CONFIG;
            done = true;
            break;
        case YAML_SCALAR_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            n = calloc(1, sizeof(*n));
            if (!n) {
                rc = -ENOMEM;
                done = true;
                break;
            }
            n->line = (unsigned)ev.start_mark.line + 1;
            n->col = (unsigned)ev.start_mark.column + 1;
            if (ev.type == YAML_SCALAR_EVENT) {
                n->kind = Y_SCALAR;
                n->text = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
                if (!n->text || strlen(n->text) != ev.data.scalar.length) {
                    bool nul = n->text != NULL;
                    node_free(n);
                    if (nul) {
                        err_add(c, (unsigned)ev.start_mark.line + 1,
                                (unsigned)ev.start_mark.column + 1, "", "NUL in a scalar");
                        rc = WCS_E_CONFIG;
                    } else {
                        rc = -ENOMEM;
                    }
                    done = true;
                    break;
                }
            } else {
                n->kind = ev.type == YAML_MAPPING_START_EVENT ? Y_MAP : Y_SEQ;
            }
            if (depth > 0) {
                if (stack[depth - 1]->kind == Y_MAP && stack[depth - 1]->n % 2 == 0 &&
                    n->kind != Y_SCALAR) {
                    err_add(c, n->line, n->col, "", "complex mapping keys are not supported");
                    node_free(n);
                    rc = WCS_E_CONFIG;
                    done = true;
                    break;
                }
                if (add_kid(stack[depth - 1], n) != 0) {
                    node_free(n);
                    rc = -ENOMEM;
                    done = true;
                    break;
                }
            } else if (!*root) {
                *root = n;
            } else {
                node_free(n);
            }
            if (n->kind != Y_SCALAR) {
                if (depth == DEPTH_MAX) {
                    err_add(c, n->line, n->col, "", "nesting deeper than %d levels", DEPTH_MAX);
                    rc = WCS_E_CONFIG;
                    done = true;
                    break;
                }
                stack[depth++] = n;
            }
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rc != 0) {
        node_free(*root);
        *root = NULL;
    }
    return rc;
}

/* ---- typed readers: each appends an error and returns false on a bad value ---- */

static const char *kind_name(enum ykind k)
{
    return k == Y_SCALAR ? "a scalar" : k == Y_MAP ? "a mapping" : "a sequence";
}

static bool want(struct ctx *c, const struct ynode *n, enum ykind k, const char *path)
{
    if (n->kind == k)
        return true;
    err_add(c, n->line, n->col, path, "expected %s, got %s", kind_name(k), kind_name(n->kind));
    return false;
}

static bool rd_str(struct ctx *c, const struct ynode *n, const char *path, char *out, size_t cap)
{
    if (!want(c, n, Y_SCALAR, path))
        return false;
    if (strlen(n->text) >= cap || n->text[0] == '\0') {
        err_add(c, n->line, n->col, path, "expected 1..%zu characters", cap - 1);
        return false;
    }
    memcpy(out, n->text, strlen(n->text) + 1);
    return true;
}

static bool is_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= SIM_ID_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return false;
    return true;
}

static bool rd_id(struct ctx *c, const struct ynode *n, const char *path, char *out)
{
    if (!want(c, n, Y_SCALAR, path))
        return false;
    if (!is_id(n->text)) {
        err_add(c, n->line, n->col, path, "expected an id: 1..63 characters of [A-Za-z0-9_.-]");
        return false;
    }
    strcpy(out, n->text);
    return true;
}

/* Strict unsigned integer: digits only, no leading zero, no sign, at most max. */
static bool rd_uint(struct ctx *c, const struct ynode *n, const char *path, uint64_t max,
                    uint64_t *out)
{
    const char *s;
    uint64_t v = 0;
    if (!want(c, n, Y_SCALAR, path))
        return false;
    s = n->text;
    if (!*s || (s[0] == '0' && s[1])) {
        err_add(c, n->line, n->col, path, "expected an integer in 0..%llu without leading zeros",
                (unsigned long long)max);
        return false;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s) || v > (max - (uint64_t)(*s - '0')) / 10) {
            err_add(c, n->line, n->col, path, "expected an integer in 0..%llu",
                    (unsigned long long)max);
            return false;
        }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static bool rd_int(struct ctx *c, const struct ynode *n, const char *path, int64_t *out)
{
    const char *t;
    uint64_t v = 0;
    if (!want(c, n, Y_SCALAR, path))
        return false;
    t = n->text[0] == '-' ? n->text + 1 : n->text;
    for (const char *p = t; *p && v <= (1u << 30); p++)
        v = isdigit((unsigned char)*p) ? v * 10 + (uint64_t)(*p - '0') : UINT64_MAX;
    if (!t[0] || (t[0] == '0' && t[1]) || v > (1u << 30)) {
        err_add(c, n->line, n->col, path, "expected an integer in -1073741824..1073741824");
        return false;
    }
    *out = n->text[0] == '-' ? -(int64_t)v : (int64_t)v;
    return true;
}

static bool rd_num(struct ctx *c, const struct ynode *n, const char *path, double lo, double hi,
                   double *out)
{
    char *end;
    double v;
    if (!want(c, n, Y_SCALAR, path))
        return false;
    errno = 0;
    v = strtod(n->text, &end);
    if (end == n->text || *end || errno || !isfinite(v) || v < lo || v > hi ||
        !(isdigit((unsigned char)n->text[0]) || n->text[0] == '-' || n->text[0] == '.')) {
        err_add(c, n->line, n->col, path, "expected a number in %g..%g", lo, hi);
        return false;
    }
    *out = v;
    return true;
}

static bool rd_bool(struct ctx *c, const struct ynode *n, const char *path, bool *out)
{
    if (!want(c, n, Y_SCALAR, path))
        return false;
    if (strcmp(n->text, "true") == 0 || strcmp(n->text, "false") == 0) {
        *out = n->text[0] == 't';
        return true;
    }
    err_add(c, n->line, n->col, path, "expected true or false");
    return false;
}

int sim_parse_duration(const char *s, uint64_t *ms_out)
{
    uint64_t v = 0, mul = 1000;
    const char *p = s;
    if (!s || !isdigit((unsigned char)*s))
        return WCS_E_SYNTAX;
    if (s[0] == '0' && isdigit((unsigned char)s[1]))
        return WCS_E_SYNTAX;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > 100000000000ull)
            return WCS_E_SYNTAX;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '\0' || strcmp(p, "s") == 0)
        mul = 1000;
    else if (strcmp(p, "ms") == 0)
        mul = 1;
    else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0)
        mul = 60000;
    else if (strcmp(p, "h") == 0)
        mul = 3600000;
    else
        return WCS_E_SYNTAX;
    if (v > UINT64_MAX / mul / 1000)
        return WCS_E_SYNTAX;
    *ms_out = v * mul;
    return 0;
}

static bool rd_dur(struct ctx *c, const struct ynode *n, const char *path, uint64_t *out)
{
    if (!want(c, n, Y_SCALAR, path))
        return false;
    if (sim_parse_duration(n->text, out) != 0 || *out > 7ull * 24 * 3600 * 1000) {
        err_add(c, n->line, n->col, path,
                "expected a duration up to 7 days: 250ms, 90s, 15m, 8h or seconds");
        return false;
    }
    return true;
}

bool sim_glob_match(const char *p, const char *t)
{
    const char *star = NULL, *mark = NULL;
    while (*t) {
        if (*p == '?' || (*p && *p == *t)) {
            p++;
            t++;
        } else if (*p == '*') {
            star = p++;
            mark = t;
        } else if (star) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

const char *sim_fault_kind_name(enum sim_fault_kind k)
{
    static const char *const names[] = {
        "plc_disconnect",    "broker_restart", "redis_restart", "wcs_kill",
        "printer_paper_out", "scale_unstable", "jam",           "user_offline",
        "redis_stall"};
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* ---- mapping walk: every key must be known; duplicates are errors ---- */

struct field {
    const char *key;
    const struct ynode *val;
    const struct ynode *keynode;
};

/* Collects the values of the named keys of map m (NULL-terminated keys[]); an unknown or repeated
 * key is an error. vals[i] is NULL for a missing key. Returns false when m is not a mapping. */
static bool fields(struct ctx *c, const struct ynode *m, const char *path, const char *const *keys,
                   const struct ynode **vals)
{
    size_t nk = 0;
    while (keys[nk])
        vals[nk++] = NULL;
    if (!want(c, m, Y_MAP, path))
        return false;
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const struct ynode *k = m->kids[i];
        size_t j;
        for (j = 0; j < nk; j++)
            if (strcmp(keys[j], k->text) == 0)
                break;
        if (j == nk) {
            char allowed[512] = "";
            for (size_t a = 0; a < nk; a++) {
                strncat(allowed, a ? ", " : "", sizeof(allowed) - strlen(allowed) - 1);
                strncat(allowed, keys[a], sizeof(allowed) - strlen(allowed) - 1);
            }
            err_add(c, k->line, k->col, path, "unknown key \"%s\" (allowed: %s)", k->text, allowed);
        } else if (vals[j]) {
            err_add(c, k->line, k->col, path, "key \"%s\" given twice (first at line %u)", k->text,
                    vals[j]->line);
        } else {
            vals[j] = m->kids[i + 1];
        }
    }
    return true;
}

static void sub(char *out, size_t cap, const char *path, const char *key)
{
    snprintf(out, cap, "%s%s%s", path, path[0] ? "." : "", key);
}

static void idx(char *out, size_t cap, const char *path, size_t i)
{
    snprintf(out, cap, "%s[%zu]", path, i);
}

static void *grow_arr(struct ctx *c, void *arr, size_t n, size_t elem)
{
    void *g = realloc(arr, (n + 1) * elem);
    if (!g) {
        c->oom = true;
        return NULL;
    }
    memset((char *)g + n * elem, 0, elem);
    return g;
}

/* ---- records: a mapping's known keys, read by key index with the value's own path ---- */

struct rec {
    struct ctx *c;
    const struct ynode *m;   /* the mapping */
    const char *path;        /* its path */
    const char *const *keys; /* NULL-terminated */
    const struct ynode **v;  /* the value of each key (NULL: missing) */
    char pp[192];            /* path.key of the value read last */
};

enum { OPT = false, REQ = true };

/* fields() of m into v, remembered in r for the rec_ readers below (path and keys must outlive
 * r). Returns false when m is not a mapping (an error is added). */
static bool rec_open(struct rec *r, struct ctx *c, const struct ynode *m, const char *path,
                     const char *const *keys, const struct ynode **v)
{
    r->c = c;
    r->m = m;
    r->path = path;
    r->keys = keys;
    r->v = v;
    r->pp[0] = '\0';
    return fields(c, m, path, keys, v);
}

/* The value of keys[k], NULL when missing (an error at the mapping when required); r->pp
 * becomes its path. */
static const struct ynode *rec_val(struct rec *r, size_t k, bool required)
{
    sub(r->pp, sizeof(r->pp), r->path, r->keys[k]);
    if (!r->v[k] && required)
        err_add(r->c, r->m->line, r->m->col, r->path, "missing key \"%s\"", r->keys[k]);
    return r->v[k];
}

/* Typed reads of keys[k]: true when the value is there and good (then stored), false when it
 * is missing (an error only when required) or bad (an error at the value). */
static bool rec_str(struct rec *r, size_t k, bool required, char *out, size_t cap)
{
    const struct ynode *n = rec_val(r, k, required);
    return n && rd_str(r->c, n, r->pp, out, cap);
}

static bool rec_id(struct rec *r, size_t k, bool required, char *out)
{
    const struct ynode *n = rec_val(r, k, required);
    return n && rd_id(r->c, n, r->pp, out);
}

static bool rec_uint(struct rec *r, size_t k, bool required, uint64_t max, uint64_t *out)
{
    const struct ynode *n = rec_val(r, k, required);
    return n && rd_uint(r->c, n, r->pp, max, out);
}

static bool rec_int(struct rec *r, size_t k, int64_t *out)
{
    const struct ynode *n = rec_val(r, k, OPT);
    return n && rd_int(r->c, n, r->pp, out);
}

static bool rec_num(struct rec *r, size_t k, double lo, double hi, double *out)
{
    const struct ynode *n = rec_val(r, k, OPT);
    return n && rd_num(r->c, n, r->pp, lo, hi, out);
}

static bool rec_bool(struct rec *r, size_t k, bool *out)
{
    const struct ynode *n = rec_val(r, k, OPT);
    return n && rd_bool(r->c, n, r->pp, out);
}

static bool rec_dur(struct rec *r, size_t k, bool required, uint64_t *out)
{
    const struct ynode *n = rec_val(r, k, required);
    return n && rd_dur(r->c, n, r->pp, out);
}

/* An error at the value of keys[k] (present), under r->pp as the last rec_ call left it. */
#define REC_ERR(r, k, ...) err_add((r)->c, (r)->v[k]->line, (r)->v[k]->col, (r)->pp, __VA_ARGS__)

/* The value of keys[k] as one of names[0..n) (its index in *out); else an error "expected one
 * of "a", "b"". False when missing or bad. */
static bool rec_choice(struct rec *r, size_t k, const char *const *names, size_t n, size_t *out)
{
    const struct ynode *v = rec_val(r, k, OPT);
    char allowed[256] = "";
    if (!v || !want(r->c, v, Y_SCALAR, r->pp))
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v->text, names[i]) == 0) {
            *out = i;
            return true;
        }
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(allowed);
        snprintf(allowed + len, sizeof(allowed) - len, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    REC_ERR(r, k, "expected one of %s", allowed);
    return false;
}

static void parse_weights(struct ctx *c, const struct ynode *m, const char *path,
                          struct sim_weight **out, size_t *n)
{
    char p[256];
    if (!want(c, m, Y_MAP, path))
        return;
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        struct sim_weight *g;
        sub(p, sizeof(p), path, m->kids[i]->text);
        if (!is_id(m->kids[i]->text)) {
            err_add(c, m->kids[i]->line, m->kids[i]->col, p, "expected an id as the key");
            continue;
        }
        g = grow_arr(c, *out, *n, sizeof(**out));
        if (!g)
            return;
        *out = g;
        strcpy(g[*n].name, m->kids[i]->text);
        if (rd_num(c, m->kids[i + 1], p, 0, 1e9, &g[*n].weight))
            (*n)++;
    }
}

static void parse_orders(struct ctx *c, struct sim_scenario *s, const struct ynode *m)
{
    static const char *const keys[] = {"file", "generate", "via", NULL};
    static const char *const gkeys[] = {"count",    "lines_per_order", "qty",    "arrival",
                                        "carriers", "priorities",      "max_kg", NULL};
    static const char *const via[] = {"erp", "import"};
    const struct ynode *v[4], *g[8];
    struct rec r, rg, rl;
    uint64_t u;
    size_t k;
    if (!rec_open(&r, c, m, "orders", keys, v))
        return;
    if (v[0] && v[1])
        err_add(c, m->line, m->col, "orders", "give either file or generate, not both");
    if (!v[0] && !v[1])
        err_add(c, m->line, m->col, "orders", "expected file or generate");
    rec_str(&r, 0, OPT, s->orders_file, sizeof(s->orders_file));
    s->orders_via = v[0] ? SIM_VIA_IMPORT : SIM_VIA_ERP;
    if (rec_choice(&r, 2, via, 2, &k))
        s->orders_via = k == 0 ? SIM_VIA_ERP : SIM_VIA_IMPORT;
    if (!v[1] || !rec_open(&rg, c, v[1], "orders.generate", gkeys, g))
        return;
    s->orders_generate = true;
    s->gen.lines_min = s->gen.lines_max = 1;
    s->gen.qty_min = s->gen.qty_max = 1;
    if (rec_uint(&rg, 0, REQ, 1000000, &u))
        s->gen.count = (uint32_t)u;
    if (g[1] && want(c, g[1], Y_MAP, "orders.generate.lines_per_order")) {
        static const char *const lk[] = {"min", "max", "mean", NULL};
        const struct ynode *l[3];
        rec_open(&rl, c, g[1], "orders.generate.lines_per_order", lk, l);
        if (l[2] && (l[0] || l[1]))
            err_add(c, g[1]->line, g[1]->col, "orders.generate.lines_per_order",
                    "give min/max or mean, not both");
        if (rec_uint(&rl, 0, OPT, 1000, &u))
            s->gen.lines_min = (uint32_t)u;
        if (rec_uint(&rl, 1, OPT, 1000, &u))
            s->gen.lines_max = (uint32_t)u;
        rec_num(&rl, 2, 1, 1000, &s->gen.lines_mean);
        if (!l[2] && (s->gen.lines_min == 0 || s->gen.lines_min > s->gen.lines_max))
            err_add(c, g[1]->line, g[1]->col, "orders.generate.lines_per_order",
                    "expected 1 <= min <= max");
    }
    if (g[2] && want(c, g[2], Y_MAP, "orders.generate.qty")) {
        static const char *const qk[] = {"min", "max", NULL};
        const struct ynode *q[2];
        rec_open(&rl, c, g[2], "orders.generate.qty", qk, q);
        if (rec_uint(&rl, 0, OPT, 100000, &u))
            s->gen.qty_min = (uint32_t)u;
        if (rec_uint(&rl, 1, OPT, 100000, &u))
            s->gen.qty_max = (uint32_t)u;
        if (s->gen.qty_min == 0 || s->gen.qty_min > s->gen.qty_max)
            err_add(c, g[2]->line, g[2]->col, "orders.generate.qty", "expected 1 <= min <= max");
    }
    if (g[3] && want(c, g[3], Y_SEQ, "orders.generate.arrival")) {
        double sum = 0;
        if (g[3]->n == 0 || g[3]->n > SIM_ARRIVAL_MAX)
            err_add(c, g[3]->line, g[3]->col, "orders.generate.arrival",
                    "expected 1..%d hourly weights", SIM_ARRIVAL_MAX);
        for (size_t i = 0; i < g[3]->n && i < SIM_ARRIVAL_MAX; i++) {
            char p[64];
            idx(p, sizeof(p), "orders.generate.arrival", i);
            if (rd_num(c, g[3]->kids[i], p, 0, 1e9, &s->gen.arrival[i]))
                sum += s->gen.arrival[i];
        }
        s->gen.n_arrival = (unsigned)(g[3]->n < SIM_ARRIVAL_MAX ? g[3]->n : SIM_ARRIVAL_MAX);
        if (g[3]->n > 0 && sum <= 0)
            err_add(c, g[3]->line, g[3]->col, "orders.generate.arrival",
                    "the weights sum to 0: no order would arrive");
    }
    if (g[4])
        parse_weights(c, g[4], "orders.generate.carriers", &s->gen.carriers, &s->gen.n_carriers);
    if (g[5])
        parse_weights(c, g[5], "orders.generate.priorities", &s->gen.priorities,
                      &s->gen.n_priorities);
    rec_num(&rg, 6, 0.001, 100000, &s->gen.max_kg);
}

static void parse_stock(struct ctx *c, struct sim_scenario *s, const struct ynode *m)
{
    static const char *const keys[] = {"file", "generate", NULL};
    static const char *const gk[] = {"cover", "shortage", NULL};
    const struct ynode *v[2], *g[2];
    struct rec r, rg;
    if (!rec_open(&r, c, m, "stock", keys, v))
        return;
    if (!!v[0] == !!v[1])
        err_add(c, m->line, m->col, "stock", "expected either file or generate");
    rec_str(&r, 0, OPT, s->stock_file, sizeof(s->stock_file));
    s->stock_cover = 1.0;
    if (v[1] && rec_open(&rg, c, v[1], "stock.generate", gk, g)) {
        s->stock_generate = true;
        rec_num(&rg, 0, 0, 1000, &s->stock_cover);
        rec_num(&rg, 1, 0, 1, &s->stock_shortage);
    }
}

static void parse_totes(struct ctx *c, struct sim_scenario *s, const struct ynode *q)
{
    static const char *const keys[] = {"tote", "order", "dest", NULL};
    if (!want(c, q, Y_SEQ, "totes"))
        return;
    for (size_t i = 0; i < q->n; i++) {
        const struct ynode *v[3];
        char p[64];
        struct rec r;
        struct sim_tote *g;
        idx(p, sizeof(p), "totes", i);
        if (!rec_open(&r, c, q->kids[i], p, keys, v))
            continue;
        if (!(g = grow_arr(c, s->totes, s->n_totes, sizeof(*g))))
            return;
        s->totes = g;
        g += s->n_totes++;
        rec_id(&r, 0, REQ, g->tote);
        rec_id(&r, 1, OPT, g->order);
        if (rec_str(&r, 2, OPT, g->dest, sizeof(g->dest)) &&
            !(strncmp(g->dest, "station:", 8) == 0 || strncmp(g->dest, "carrier:", 8) == 0 ||
              strcmp(g->dest, "qa") == 0 || strcmp(g->dest, "reject") == 0))
            REC_ERR(&r, 2, "expected station:<id>, carrier:<code>, qa or reject");
        if (!v[1] && !v[2])
            err_add(c, q->kids[i]->line, q->kids[i]->col, p, "expected order or dest");
    }
}

static void parse_inducts(struct ctx *c, struct sim_agents *a, const struct ynode *q)
{
    static const char *const keys[] = {"at", "point", "barcode", "count", "every", "read", NULL};
    const char *path = "agents.induction";
    if (!want(c, q, Y_SEQ, path))
        return;
    for (size_t i = 0; i < q->n; i++) {
        static const char *const rn[] = {"rate", "good", "noread", "multiread"};
        const struct ynode *v[6];
        char p[64];
        struct rec r;
        struct sim_induct *g;
        uint64_t u;
        size_t k;
        idx(p, sizeof(p), path, i);
        if (!rec_open(&r, c, q->kids[i], p, keys, v))
            continue;
        if (!(g = grow_arr(c, a->inducts, a->n_inducts, sizeof(*g))))
            return;
        a->inducts = g;
        g += a->n_inducts++;
        g->count = 1;
        g->every_ms = 1000;
        rec_dur(&r, 0, OPT, &g->at_ms);
        rec_id(&r, 1, REQ, g->point);
        if (rec_str(&r, 2, OPT, g->barcode, sizeof(g->barcode)))
            for (const char *b = g->barcode; *b; b++)
                if ((unsigned char)*b < 0x20 && *b != 0x1d) {
                    REC_ERR(&r, 2, "expected printable ASCII (or GS)");
                    break;
                }
        if (rec_uint(&r, 3, OPT, 1000000, &u)) {
            g->count = (uint32_t)u;
            if (u == 0)
                REC_ERR(&r, 3, "expected at least 1");
        }
        if (rec_dur(&r, 4, OPT, &g->every_ms) && g->every_ms == 0)
            REC_ERR(&r, 4, "expected more than 0");
        if (rec_choice(&r, 5, rn, 4, &k))
            g->read = (enum sim_induct_read)k;
    }
}

static void parse_counts(struct ctx *c, struct sim_agents *a, const struct ynode *q,
                         const char *path)
{
    static const char *const keys[] = {"at", "location", "sku", "lot", "delta", NULL};
    if (!want(c, q, Y_SEQ, path))
        return;
    for (size_t i = 0; i < q->n; i++) {
        const struct ynode *v[5];
        char p[96];
        struct rec r;
        struct sim_count *g;
        idx(p, sizeof(p), path, i);
        if (!rec_open(&r, c, q->kids[i], p, keys, v))
            continue;
        if (!(g = grow_arr(c, a->counts, a->n_counts, sizeof(*g))))
            return;
        a->counts = g;
        g += a->n_counts++;
        rec_dur(&r, 0, OPT, &g->at_ms);
        if (!v[1] || !v[2]) /* one error for the two */
            err_add(c, q->kids[i]->line, q->kids[i]->col, p, "missing key \"%s\"",
                    !v[1] ? "location" : "sku");
        rec_str(&r, 1, OPT, g->location, sizeof(g->location));
        rec_id(&r, 2, OPT, g->sku);
        rec_id(&r, 3, OPT, g->lot);
        rec_int(&r, 4, &g->delta);
    }
}

static void parse_agents(struct ctx *c, struct sim_scenario *s, const struct ynode *m)
{
    static const char *const keys[] = {"erp",       "supervisor", "counters", "pickers", "packers",
                                       "induction", "receiver",   "qa",       NULL};
    const struct ynode *v[8];
    struct sim_agents *a = &s->agents;
    struct rec r;
    uint64_t u;
    if (!fields(c, m, "agents", keys, v))
        return;
    if (v[0]) {
        static const char *const k[] = {"user", NULL};
        const struct ynode *e[1];
        if (rec_open(&r, c, v[0], "agents.erp", k, e))
            rec_id(&r, 0, REQ, a->erp_user);
    }
    if (v[1]) {
        static const char *const k[] = {"user",       "approver", "wave_lead",  "wave_max_orders",
                                        "wave_every", "release",  "ack_alarms", NULL};
        const struct ynode *e[7];
        a->release_waves = true;
        a->ack_alarms = true;
        if (rec_open(&r, c, v[1], "agents.supervisor", k, e)) {
            rec_id(&r, 0, REQ, a->supervisor_user);
            rec_id(&r, 1, OPT, a->approver_user);
            if (rec_dur(&r, 2, OPT, &u))
                a->wave_lead_min = (uint32_t)(u / 60000);
            if (rec_uint(&r, 3, OPT, 10000, &u))
                a->wave_max_orders = (uint32_t)u;
            rec_dur(&r, 4, OPT, &a->wave_every_ms);
            rec_bool(&r, 5, &a->release_waves);
            rec_bool(&r, 6, &a->ack_alarms);
        }
    }
    if (v[2]) {
        static const char *const k[] = {"user", "counts", NULL};
        const struct ynode *e[2];
        if (rec_open(&r, c, v[2], "agents.counters", k, e)) {
            rec_id(&r, 0, REQ, a->counter_user);
            if (rec_val(&r, 1, OPT))
                parse_counts(c, a, e[1], r.pp);
        }
    }
    for (int w = 3; w <= 4; w++) {
        static const char *const k[] = {
            "count", "users", "seconds_per_pick", "seconds_per_pack", "errors", "empty", NULL};
        const struct ynode *e[6];
        const char *path = w == 3 ? "agents.pickers" : "agents.packers";
        if (!v[w] || !rec_open(&r, c, v[w], path, k, e))
            continue;
        if (rec_uint(&r, 0, OPT, SIM_AGENTS_MAX, &u))
            *(w == 3 ? &a->pickers : &a->packers) = (uint32_t)u;
        if (rec_val(&r, 1, OPT) && want(c, e[1], Y_SEQ, r.pp)) {
            if (e[1]->n > SIM_AGENTS_MAX)
                REC_ERR(&r, 1, "at most %d users", SIM_AGENTS_MAX);
            for (size_t i = 0; i < e[1]->n && a->n_picker_users < SIM_AGENTS_MAX; i++) {
                char pi[128];
                idx(pi, sizeof(pi), r.pp, i);
                if (rd_id(c, e[1]->kids[i], pi, a->picker_users[a->n_picker_users]))
                    a->n_picker_users++;
            }
        }
        if (w == 4 && e[5])
            err_add(c, e[5]->line, e[5]->col, "agents.packers.empty",
                    "only pickers find locations empty (agents.pickers.empty)");
        rec_num(&r, 2, 0.1, 3600, &a->seconds_per_pick);
        rec_num(&r, 3, 0.1, 3600, &a->seconds_per_pack);
        if (rec_val(&r, 4, OPT)) {
            static const char *const ek[] = {"wrong_product", "wrong_qty", "skipped_scan",
                                             "wrong_tote", NULL};
            const struct ynode *ev[4];
            double *dst[4] = {&a->err_wrong_product, &a->err_wrong_qty, &a->err_skipped_scan,
                              &a->err_wrong_tote};
            struct rec re;
            if (rec_open(&re, c, e[4], r.pp, ek, ev))
                for (size_t i = 0; i < 4; i++)
                    rec_num(&re, i, 0, 1, dst[i]);
        }
    }
    if (v[3] && v[3]->kind == Y_MAP) {
        const struct ynode *em = NULL;
        for (size_t i = 0; i + 1 < v[3]->n; i += 2)
            if (strcmp(v[3]->kids[i]->text, "empty") == 0)
                em = v[3]->kids[i + 1];
        if (em && want(c, em, Y_SEQ, "agents.pickers.empty")) {
            if (em->n > SIM_EMPTY_MAX)
                err_add(c, em->line, em->col, "agents.pickers.empty", "at most %d locations",
                        SIM_EMPTY_MAX);
            for (size_t i = 0; i < em->n && a->n_empty < SIM_EMPTY_MAX; i++) {
                char pi[64];
                idx(pi, sizeof(pi), "agents.pickers.empty", i);
                if (rd_str(c, em->kids[i], pi, a->empty[a->n_empty], sizeof(a->empty[0])))
                    a->n_empty++;
            }
        }
    }
    if (v[6]) {
        static const char *const k[] = {"user", "station", "return_station", NULL};
        const struct ynode *e[3];
        if (rec_open(&r, c, v[6], "agents.receiver", k, e)) {
            rec_id(&r, 0, REQ, a->receiver_user);
            rec_id(&r, 1, OPT, a->receive_station);
            rec_id(&r, 2, OPT, a->return_station);
        }
    }
    a->qa_after_ms = 600000;
    if (v[7]) {
        static const char *const k[] = {"user", "after", "decision", NULL};
        const struct ynode *e[3];
        if (rec_open(&r, c, v[7], "agents.qa", k, e)) {
            rec_id(&r, 0, REQ, a->qa_user);
            rec_dur(&r, 1, OPT, &a->qa_after_ms);
            if (rec_val(&r, 2, OPT) && want(c, e[2], Y_SCALAR, r.pp)) {
                if (strcmp(e[2]->text, "scrap") == 0)
                    a->qa_scrap = true;
                else if (strcmp(e[2]->text, "release") != 0)
                    REC_ERR(&r, 2, "expected \"release\" or \"scrap\"");
            }
        }
    }
    if (!a->seconds_per_pick)
        a->seconds_per_pick = 8;
    if (!a->seconds_per_pack)
        a->seconds_per_pack = 45;
    if (v[5])
        parse_inducts(c, a, v[5]);
}

static void parse_faults(struct ctx *c, struct sim_scenario *s, const struct ynode *q)
{
    static const char *const keys[] = {"at", "kind", "target", "duration", NULL};
    if (!want(c, q, Y_SEQ, "faults"))
        return;
    for (size_t i = 0; i < q->n; i++) {
        const struct ynode *v[4];
        char p[64];
        struct rec r;
        struct sim_fault *g;
        size_t k;
        idx(p, sizeof(p), "faults", i);
        if (!rec_open(&r, c, q->kids[i], p, keys, v))
            continue;
        if (!(g = grow_arr(c, s->faults, s->n_faults, sizeof(*g))))
            return;
        s->faults = g;
        g += s->n_faults++;
        rec_dur(&r, 0, REQ, &g->at_ms);
        if (!rec_val(&r, 1, REQ) || !want(c, v[1], Y_SCALAR, r.pp))
            continue;
        for (k = 0; k < SIM_FAULT_KINDS; k++)
            if (strcmp(v[1]->text, sim_fault_kind_name((enum sim_fault_kind)k)) == 0)
                break;
        if (k == SIM_FAULT_KINDS) {
            char kinds[256] = "";
            for (size_t j = 0, n = 0; j < SIM_FAULT_KINDS; j++)
                n += (size_t)snprintf(kinds + n, n < sizeof(kinds) ? sizeof(kinds) - n : 0, "%s%s",
                                      j ? ", " : "", sim_fault_kind_name((enum sim_fault_kind)j));
            REC_ERR(&r, 1, "expected one of %s", kinds);
            continue;
        }
        g->kind = (enum sim_fault_kind)k;
        if (rec_val(&r, 2, OPT)) {
            if (k == SIM_FAULT_BROKER_RESTART || k == SIM_FAULT_REDIS_RESTART ||
                k == SIM_FAULT_WCS_KILL || k == SIM_FAULT_REDIS_STALL)
                REC_ERR(&r, 2, "a %s takes no target", sim_fault_kind_name(g->kind));
            else
                rd_id(c, v[2], r.pp, g->target);
        } else if (k == SIM_FAULT_PLC_DISCONNECT || k == SIM_FAULT_PRINTER_PAPER_OUT ||
                   k == SIM_FAULT_SCALE_UNSTABLE || k == SIM_FAULT_JAM) {
            err_add(c, q->kids[i]->line, q->kids[i]->col, p,
                    "missing key \"target\" (a %s needs the device or scan point)",
                    sim_fault_kind_name(g->kind));
        } else if (k == SIM_FAULT_USER_OFFLINE) {
            err_add(c, q->kids[i]->line, q->kids[i]->col, p,
                    "missing key \"target\" (a user_offline needs the user whose link goes)");
        }
        if (rec_val(&r, 3, OPT)) {
            if (k == SIM_FAULT_WCS_KILL)
                REC_ERR(&r, 3, "wcs_kill takes no duration: wcs is restarted at once");
            else
                rd_dur(c, v[3], r.pp, &g->duration_ms);
        } else if (k != SIM_FAULT_WCS_KILL) {
            err_add(c, q->kids[i]->line, q->kids[i]->col, p, "missing key \"duration\"");
        }
    }
}

static void rd_count_expect(struct ctx *c, const struct ynode *n, const char *path,
                            struct sim_count_expect *e, bool rest_ok)
{
    uint64_t v = 0;
    const char *t = n->kind == Y_SCALAR ? n->text : "";
    e->checked = true;
    if (strcmp(t, "all") == 0) {
        e->all = true;
        return;
    }
    if (strcmp(t, "rest") == 0 && rest_ok) {
        e->rest = true;
        return;
    }
    for (const char *p = t; *p; p++)
        if (!isdigit((unsigned char)*p) || v > 100000000) {
            v = UINT64_MAX;
            break;
        } else {
            v = v * 10 + (uint64_t)(*p - '0');
        }
    if (!t[0] || (t[0] == '0' && t[1]) || v > 100000000)
        err_add(c, n->line, n->col, path, "expected \"all\"%s or a count in 0..100000000",
                rest_ok ? ", \"rest\"" : "");
    else
        e->n = v;
}

static void parse_expect(struct ctx *c, struct sim_scenario *s, const struct ynode *m)
{
    static const char *const keys[] = {"orders",
                                       "stock_conserved",
                                       "no_over_reservation",
                                       "totes_accounted",
                                       "alarms",
                                       "kpi",
                                       "flows_completed",
                                       NULL};
    const struct ynode *v[7];
    struct rec r, ri;
    bool b;
    if (!rec_open(&r, c, m, "expect", keys, v))
        return;
    if (v[0]) {
        static const char *const k[] = {"shipped", "backordered", "cancelled", "waved", NULL};
        const struct ynode *o[4];
        struct sim_count_expect *dst[4] = {&s->exp_shipped, &s->exp_backordered, &s->exp_cancelled,
                                           &s->exp_waved};
        if (rec_open(&ri, c, v[0], "expect.orders", k, o))
            for (size_t i = 0; i < 4; i++)
                if (rec_val(&ri, i, OPT))
                    rd_count_expect(c, o[i], ri.pp, dst[i], i == 0);
    }
    if (rec_bool(&r, 1, &b))
        s->exp_stock_conserved = b;
    if (rec_bool(&r, 2, &b))
        s->exp_no_over_reservation = b;
    if (rec_bool(&r, 3, &b))
        s->exp_totes_accounted = b;
    if (rec_bool(&r, 6, &b))
        s->exp_flows_completed = b;
    if (v[4] && want(c, v[4], Y_SEQ, "expect.alarms")) {
        static const char *const k[] = {"id", "raised", "cleared", "raises", NULL};
        for (size_t i = 0; i < v[4]->n; i++) {
            const struct ynode *a[4];
            uint64_t u;
            char p[64];
            struct sim_alarm_expect *g;
            idx(p, sizeof(p), "expect.alarms", i);
            if (!rec_open(&ri, c, v[4]->kids[i], p, k, a))
                continue;
            if (!(g = grow_arr(c, s->alarms, s->n_alarms, sizeof(*g))))
                return;
            s->alarms = g;
            g += s->n_alarms++;
            g->raised = g->cleared = -1;
            rec_str(&ri, 0, REQ, g->pattern, sizeof(g->pattern));
            if (rec_bool(&ri, 1, &b))
                g->raised = b;
            if (rec_bool(&ri, 2, &b))
                g->cleared = b;
            if (rec_uint(&ri, 3, OPT, 100000, &u)) {
                if (u == 0 || g->raised == 0)
                    REC_ERR(&ri, 3, "expected a count of 1 or more, with raised true or absent");
                else
                    g->raises = (unsigned)u;
            }
        }
    }
    if (v[5] && want(c, v[5], Y_MAP, "expect.kpi")) {
        static const char *const k[] = {"min", "max", NULL};
        for (size_t i = 0; i + 1 < v[5]->n; i += 2) {
            const struct ynode *key = v[5]->kids[i], *b2[2];
            char p[128];
            struct sim_kpi_bound *g;
            sub(p, sizeof(p), "expect.kpi", key->text);
            if (!is_id(key->text)) {
                err_add(c, key->line, key->col, p, "expected a KPI name as the key");
                continue;
            }
            if (!rec_open(&ri, c, v[5]->kids[i + 1], p, k, b2))
                continue;
            if (!b2[0] && !b2[1]) {
                err_add(c, v[5]->kids[i + 1]->line, v[5]->kids[i + 1]->col, p,
                        "expected min and/or max");
                continue;
            }
            if (!(g = grow_arr(c, s->kpis, s->n_kpis, sizeof(*g))))
                return;
            s->kpis = g;
            g += s->n_kpis++;
            strcpy(g->name, key->text);
            g->has_min = rec_num(&ri, 0, -1e15, 1e15, &g->min);
            g->has_max = rec_num(&ri, 1, -1e15, 1e15, &g->max);
            if (g->has_min && g->has_max && g->min > g->max)
                err_add(c, v[5]->kids[i + 1]->line, v[5]->kids[i + 1]->col, p,
                        "min %g is above max %g", g->min, g->max);
        }
    }
}

/* "YYYY-MM-DD" with a real month and day (AI 17 needs a year 2000..2049 read as 20YY, so the
 * scan the receiver makes must stay below 2050). */
static bool is_date(const char *t)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(t) != 10 || t[4] != '-' || t[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)t[i]))
            return false;
    int y = atoi(t), m = (t[5] - '0') * 10 + t[6] - '0', d = (t[8] - '0') * 10 + t[9] - '0';
    if (y < 2000 || y > 2049 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

static void parse_flow_lines(struct ctx *c, struct sim_flow *f, const struct ynode *q,
                             const char *path)
{
    static const char *const keys[] = {"sku", "qty", "lot", "expiry", "arrive", "scrap", NULL};
    if (!want(c, q, Y_SEQ, path))
        return;
    if (q->n == 0 || q->n > SIM_FLOW_LINES_MAX)
        err_add(c, q->line, q->col, path, "expected 1..%d lines", SIM_FLOW_LINES_MAX);
    for (size_t i = 0; i < q->n && f->n_lines < SIM_FLOW_LINES_MAX; i++) {
        const struct ynode *v[6];
        char p[96];
        struct rec r;
        struct sim_flow_line *l = &f->lines[f->n_lines];
        uint64_t u;
        idx(p, sizeof(p), path, i);
        if (!rec_open(&r, c, q->kids[i], p, keys, v))
            continue;
        f->n_lines++;
        if (!v[0] || !v[1]) /* one error for the two */
            err_add(c, q->kids[i]->line, q->kids[i]->col, p, "missing key \"%s\"",
                    !v[0] ? "sku" : "qty");
        rec_id(&r, 0, OPT, l->sku);
        if (rec_uint(&r, 1, OPT, 100000, &u)) {
            l->qty = (uint32_t)u;
            if (u == 0)
                REC_ERR(&r, 1, "expected at least 1");
        }
        rec_id(&r, 2, OPT, l->lot);
        if (rec_val(&r, 3, OPT) && f->kind != SIM_FLOW_RECEIPT)
            REC_ERR(&r, 3, "only a receipt line has an expiry");
        else if (v[3] && want(c, v[3], Y_SCALAR, r.pp)) {
            if (!is_date(v[3]->text))
                REC_ERR(&r, 3,
                        "expected a date YYYY-MM-DD in 2000..2049 (AI 17 has a 2-digit year)");
            else
                memcpy(l->expiry, v[3]->text, 11);
        }
        l->arrive = l->qty;
        if (rec_val(&r, 4, OPT) && f->kind != SIM_FLOW_RECEIPT)
            REC_ERR(&r, 4, "only a receipt line has \"arrive\"");
        else if (v[4] && rd_uint(c, v[4], r.pp, 100000, &u)) {
            l->arrive = (uint32_t)u;
            if (u > l->qty)
                REC_ERR(&r, 4,
                        "%llu arrive, more than the %u expected (over-receipt is not simulated)",
                        (unsigned long long)u, l->qty);
        }
        if (rec_val(&r, 5, OPT) && f->kind != SIM_FLOW_RETURN)
            REC_ERR(&r, 5, "only a return line has \"scrap\"");
        else if (v[5] && rd_uint(c, v[5], r.pp, 100000, &u)) {
            l->scrap = (uint32_t)u;
            if (u > l->qty)
                REC_ERR(&r, 5, "%llu scrapped, more than the %u returned", (unsigned long long)u,
                        l->qty);
        }
    }
}

/* receipts: [{at, receipt, supplier?, warehouse?, arrive?, lines}]
 * transfers: [{at, transfer, from, to, ship?, receive?, lines}]
 * returns: [{at, rma, order, credit?, arrive?, lines}] */
static void parse_flows(struct ctx *c, struct sim_scenario *s, const struct ynode *q,
                        enum sim_flow_kind kind)
{
    static const char *const rk[] = {"at",     "receipt", "supplier", "warehouse",
                                     "arrive", "lines",   NULL};
    static const char *const tk[] = {"at",   "transfer", "from",  "to",
                                     "ship", "receive",  "lines", NULL};
    static const char *const nk[] = {"at", "rma", "order", "credit", "arrive", "lines", NULL};
    const char *path = kind == SIM_FLOW_RECEIPT    ? "receipts"
                       : kind == SIM_FLOW_TRANSFER ? "transfers"
                                                   : "returns";
    const char *const *keys = kind == SIM_FLOW_RECEIPT ? rk : kind == SIM_FLOW_TRANSFER ? tk : nk;
    const char *idkey = keys[1];
    if (!want(c, q, Y_SEQ, path))
        return;
    for (size_t i = 0; i < q->n; i++) {
        const struct ynode *v[7] = {0}, *n = q->kids[i];
        char p[64];
        struct rec r;
        struct sim_flow *f;
        size_t lines = kind == SIM_FLOW_TRANSFER ? 6 : 5;
        idx(p, sizeof(p), path, i);
        if (!rec_open(&r, c, n, p, keys, v))
            continue;
        if (!(f = grow_arr(c, s->flows, s->n_flows, sizeof(*f))))
            return;
        s->flows = f;
        f += s->n_flows++;
        f->kind = kind;
        rec_dur(&r, 0, OPT, &f->at_ms);
        rec_id(&r, 1, REQ, f->id);
        for (size_t k = 0; k < s->n_flows - 1; k++)
            if (v[1] && s->flows[k].kind == kind && strcmp(s->flows[k].id, f->id) == 0)
                REC_ERR(&r, 1, "%s \"%s\" given twice", idkey, f->id);
        if (kind == SIM_FLOW_RECEIPT) {
            f->next_ms = f->at_ms + 600000;
            rec_id(&r, 2, OPT, f->supplier);
            rec_id(&r, 3, OPT, f->warehouse);
            rec_dur(&r, 4, OPT, &f->next_ms);
        } else if (kind == SIM_FLOW_TRANSFER) {
            f->next_ms = f->at_ms + 600000;
            rec_id(&r, 2, OPT, f->warehouse);
            rec_id(&r, 3, OPT, f->to);
            if (!v[2] || !v[3]) /* one error for the two */
                err_add(c, n->line, n->col, p, "missing key \"%s\"", !v[2] ? "from" : "to");
            else if (strcmp(f->warehouse, f->to) == 0)
                REC_ERR(&r, 3, "the same warehouse as from");
            rec_dur(&r, 4, OPT, &f->next_ms);
            f->last_ms = f->next_ms + 1800000;
            rec_dur(&r, 5, OPT, &f->last_ms);
        } else {
            f->next_ms = f->at_ms + 1800000;
            rec_id(&r, 2, REQ, f->order);
            rec_bool(&r, 3, &f->credit);
            rec_dur(&r, 4, OPT, &f->next_ms);
        }
        if (rec_val(&r, lines, REQ))
            parse_flow_lines(c, f, v[lines], r.pp);
        /* the steps in time order */
        if (f->next_ms <= f->at_ms || (kind == SIM_FLOW_TRANSFER && f->last_ms <= f->next_ms)) {
            const struct ynode *w =
                kind == SIM_FLOW_TRANSFER && f->last_ms <= f->next_ms && f->next_ms > f->at_ms
                    ? v[5]
                    : v[4];
            err_add(c, w ? w->line : n->line, w ? w->col : n->col, p,
                    kind == SIM_FLOW_TRANSFER && f->next_ms > f->at_ms
                        ? "receive must come after ship"
                        : "%s must come after at",
                    kind == SIM_FLOW_TRANSFER ? "ship" : "arrive");
        }
    }
}

/* The agents the flows need, and each flow inside the run. */
static void flows_cross_check(struct ctx *c, struct sim_scenario *s, const struct ynode **v)
{
    const struct sim_agents *a = &s->agents;
    for (size_t i = 0; i < s->n_flows; i++) {
        const struct sim_flow *f = &s->flows[i];
        const struct ynode *q = v[14 + f->kind];
        const char *path = f->kind == SIM_FLOW_RECEIPT    ? "receipts"
                           : f->kind == SIM_FLOW_TRANSFER ? "transfers"
                                                          : "returns";
        char p[64];
        size_t k = 0;
        for (size_t j = 0; j < i; j++)
            k += s->flows[j].kind == f->kind;
        if (!q || k >= q->n)
            continue;
        snprintf(p, sizeof(p), "%s[%zu]", path, k);
        q = q->kids[k];
        if (f->at_ms > s->duration_ms && s->duration_ms > 0)
            err_add(c, q->line, q->col, p,
                    "at %llu ms is after the end of the run (duration %llu ms)",
                    (unsigned long long)f->at_ms, (unsigned long long)s->duration_ms);
        if (f->kind == SIM_FLOW_RECEIPT && !a->erp_user[0])
            err_add(c, q->line, q->col, p,
                    "receipt.expect is sent by the ERP agent: add agents.erp");
        if (f->kind == SIM_FLOW_RECEIPT && (!a->receiver_user[0] || !a->receive_station[0]))
            err_add(
                c, q->line, q->col, p,
                "a receipt is scanned by the receiver: add agents.receiver with user and station");
        if (f->kind != SIM_FLOW_RECEIPT && !a->supervisor_user[0])
            err_add(c, q->line, q->col, p, "%s by the supervisor: add agents.supervisor",
                    f->kind == SIM_FLOW_TRANSFER ? "transfer.create/ship/receive are sent"
                                                 : "rma.authorize is sent");
        if (f->kind == SIM_FLOW_RETURN && (!a->receiver_user[0] || !a->return_station[0]))
            err_add(c, q->line, q->col, p,
                    "a return is received by the receiver: add agents.receiver with user and "
                    "return_station");
    }
}

/* "HH:MM" → minutes since midnight. */
static bool parse_hhmm(const char *t, int *out)
{
    if (strlen(t) != 5 || !isdigit((unsigned char)t[0]) || !isdigit((unsigned char)t[1]) ||
        t[2] != ':' || !isdigit((unsigned char)t[3]) || !isdigit((unsigned char)t[4]))
        return false;
    int h = (t[0] - '0') * 10 + t[1] - '0', m = (t[3] - '0') * 10 + t[4] - '0';
    if (h > 23 || m > 59)
        return false;
    *out = h * 60 + m;
    return true;
}

/* A user_offline target is a user the scenario's agents act as (the runner has a client for). */
static bool is_agent_user(const struct sim_scenario *s, const char *u)
{
    const struct sim_agents *a = &s->agents;
    const char *const one[] = {a->erp_user,     a->supervisor_user, a->approver_user,
                               a->counter_user, a->receiver_user,   a->qa_user};
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
        if (one[i][0] && strcmp(one[i], u) == 0)
            return true;
    for (unsigned i = 0; i < a->n_picker_users; i++)
        if (strcmp(a->picker_users[i], u) == 0)
            return true;
    return false;
}

static void parse_root(struct ctx *c, struct sim_scenario *s, const struct ynode *root)
{
    static const char *const keys[] = {"name",
                                       "site",
                                       "duration",
                                       "drain",
                                       "speed",
                                       "realtime",
                                       "seed",
                                       "start",
                                       "orders",
                                       "stock",
                                       "totes",
                                       "agents",
                                       "faults",
                                       "expect",
                                       "receipts",
                                       "transfers",
                                       "returns",
                                       "speed_min",
                                       "drain_until_done",
                                       NULL};
    const struct ynode *v[19];
    struct rec r;
    uint64_t u;
    if (!rec_open(&r, c, root, "", keys, v))
        return;
    rec_str(&r, 0, OPT, s->name, sizeof(s->name));
    if (!v[1])
        err_add(c, root->line, root->col, "", "missing key \"site\" (the site config path)");
    rec_str(&r, 1, OPT, s->site, sizeof(s->site));
    if (rec_dur(&r, 2, REQ, &s->duration_ms) && s->duration_ms == 0)
        REC_ERR(&r, 2, "expected more than 0");
    rec_dur(&r, 3, OPT, &s->drain_ms);
    if (rec_bool(&r, 18, &s->drain_until_done) && s->drain_until_done && s->drain_ms == 0)
        REC_ERR(&r, 18, "needs a drain to end early");
    s->speed = 1;
    rec_num(&r, 4, 0.1, 10000, &s->speed);
    rec_bool(&r, 5, &s->realtime);
    if (s->realtime && v[4] && s->speed != 1)
        err_add(c, v[4]->line, v[4]->col, "speed", "realtime: true runs at speed 1");
    s->speed_min = 0;
    if (rec_num(&r, 17, 0.1, 10000, &s->speed_min)) {
        if (s->realtime)
            REC_ERR(&r, 17, "realtime: true runs at speed 1");
        else if (s->speed_min > s->speed)
            REC_ERR(&r, 17, "expected at most speed");
    }
    s->seed = 1;
    if (rec_uint(&r, 6, OPT, UINT64_MAX, &u))
        s->seed = u;
    s->start_local_min = -1;
    if (v[7] && want(c, v[7], Y_SCALAR, "start") && !parse_hhmm(v[7]->text, &s->start_local_min))
        err_add(c, v[7]->line, v[7]->col, "start", "expected HH:MM (the site's local time)");
    if (v[7] && s->start_local_min >= 0 && (s->realtime || s->speed <= 1))
        err_add(c, v[7]->line, v[7]->col, "start",
                "a start time needs speed > 1 (a real-time run starts now)");
    if (v[8])
        parse_orders(c, s, v[8]);
    if (v[9])
        parse_stock(c, s, v[9]);
    if (v[10])
        parse_totes(c, s, v[10]);
    if (v[11])
        parse_agents(c, s, v[11]);
    if (v[12])
        parse_faults(c, s, v[12]);
    if (v[13])
        parse_expect(c, s, v[13]);
    if (v[14])
        parse_flows(c, s, v[14], SIM_FLOW_RECEIPT);
    if (v[15])
        parse_flows(c, s, v[15], SIM_FLOW_TRANSFER);
    if (v[16])
        parse_flows(c, s, v[16], SIM_FLOW_RETURN);
    flows_cross_check(c, s, v);
    /* Cross-checks. */
    if (s->orders_generate && s->orders_via == SIM_VIA_ERP && !s->agents.erp_user[0] && v[8])
        err_add(c, v[8]->line, v[8]->col, "orders",
                "generated orders go through the ERP agent: add agents.erp.user (or via: import)");
    for (size_t i = 0; i < s->n_faults && v[12] && i < v[12]->n; i++)
        if (s->faults[i].at_ms > s->duration_ms && s->duration_ms > 0) {
            char p[64];
            snprintf(p, sizeof(p), "faults[%zu].at", i);
            err_add(c, v[12]->kids[i]->line, v[12]->kids[i]->col, p,
                    "%llu ms is after the end of the run (duration %llu ms)",
                    (unsigned long long)s->faults[i].at_ms, (unsigned long long)s->duration_ms);
        }
    for (size_t i = 0; i < s->n_faults && v[12] && i < v[12]->n; i++)
        if (s->faults[i].kind == SIM_FAULT_USER_OFFLINE && s->faults[i].target[0] &&
            !is_agent_user(s, s->faults[i].target)) {
            char p[64];
            snprintf(p, sizeof(p), "faults[%zu].target", i);
            err_add(c, v[12]->kids[i]->line, v[12]->kids[i]->col, p,
                    "\"%s\" is no user the agents act as (agents: erp, supervisor, approver, "
                    "counter, receiver, qa users, pickers.users)",
                    s->faults[i].target);
        }
}

void sim_scenario_free(struct sim_scenario *s)
{
    if (!s)
        return;
    free(s->gen.carriers);
    free(s->gen.priorities);
    free(s->totes);
    free(s->agents.counts);
    free(s->agents.inducts);
    free(s->faults);
    free(s->flows);
    free(s->alarms);
    free(s->kpis);
    free(s);
}

int sim_scenario_parse(struct sim_scenario **out, const char *name, const char *text, size_t len,
                       struct sim_errors *errs)
{
    struct ctx c = {.file = name ? name : "scenario", .errs = errs};
    struct ynode *root = NULL;
    struct sim_scenario *s;
    int rc = tree_parse(&c, text, len, &root);
    if (rc != 0)
        return rc;
    if (!root) {
        err_add(&c, 1, 1, "", "empty scenario: expected a mapping with site, duration, ...");
        return WCS_E_CONFIG;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        node_free(root);
        return -ENOMEM;
    }
    s->exp_stock_conserved = s->exp_no_over_reservation = s->exp_totes_accounted = -1;
    s->exp_flows_completed = -1;
    parse_root(&c, s, root);
    node_free(root);
    if (c.oom) {
        sim_scenario_free(s);
        return -ENOMEM;
    }
    if (c.n_err) {
        sim_scenario_free(s);
        return WCS_E_CONFIG;
    }
    *out = s;
    return 0;
}

int sim_scenario_load(struct sim_scenario **out, const char *path, struct sim_errors *errs)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;
    if (!f) {
        struct ctx c = {.file = path, .errs = errs};
        rc = -errno;
        err_add(&c, 0, 0, "", "cannot read: %s", strerror(-rc));
        return rc;
    }
    for (;;) {
        size_t n;
        if (len == cap) {
            char *g = realloc(buf, cap ? cap * 2 : 8192);
            if (!g) {
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            buf = g;
            cap = cap ? cap * 2 : 8192;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len > 4u << 20) {
            struct ctx c = {.file = path, .errs = errs};
            err_add(&c, 0, 0, "", "larger than 4 MiB");
            free(buf);
            fclose(f);
            return WCS_E_CONFIG;
        }
    }
    fclose(f);
    rc = sim_scenario_parse(out, path, buf ? buf : "", len, errs);
    free(buf);
    return rc;
}
