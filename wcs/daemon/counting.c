/* The cycle-count scheduler (counting.h). A pass: read the plan (tasks scheduled today, when
 * each location was last counted, which have an open count), the quant sets of the config's
 * internal locations, then those quants; a location holding stock is due when its highest-class
 * product's period has passed since its last count (never counted: due). The due locations,
 * most overdue first, are opened one by one through count_request until the day's maximum. */
#include "daemon/counting.h"

#include "base/err.h"
#include "base/log.h"
#include "store/ops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cloc {
    char path[STORE_PATH_MAX];
    int64_t last_ms; /* 0: never counted */
    bool open;       /* a count is open there */
    bool stock;      /* holds stock */
    enum cfg_abc cls;
    int64_t due_ms;
};

struct cquant {
    char key[STORE_KEY_MAX];
    uint32_t loc; /* into the pass's locations */
};

struct counting {
    struct loop *loop;
    struct store *store;
    struct bus *bus;
    const struct cfg_site *const *site;
    const struct wcs_clock *clock;
    uint32_t period_ms;
    uint64_t timer;
    bool armed, running, closing;
    counting_done_fn done;
    void *done_arg;
    struct counting_stats st;
    /* the pass */
    char day[11];
    int64_t now_ms;
    uint64_t remaining;
    uint32_t daily_max;
    struct cloc *locs;
    size_t n_locs, next;
    struct cquant *quants;
    size_t n_quants, cap_quants, qnext;
    uint32_t *due; /* indices into locs, in order */
    size_t n_due, dnext;
};

uint32_t counting_period_days(const struct cfg_counting *cfg, enum cfg_abc cls)
{
    switch (cls) {
    case CFG_ABC_A:
        return cfg->a_days;
    case CFG_ABC_B:
        return cfg->b_days;
    default:
        return cfg->c_days;
    }
}

int64_t counting_due_ms(const struct cfg_counting *cfg, enum cfg_abc cls, int64_t last_ms)
{
    if (last_ms <= 0)
        return 0;
    return last_ms + (int64_t)counting_period_days(cfg, cls) * COUNTING_DAY_MS;
}

static int rank(enum cfg_abc c)
{
    return c == CFG_ABC_A ? 3 : c == CFG_ABC_B ? 2 : c == CFG_ABC_C ? 1 : 0;
}

enum cfg_abc counting_higher(enum cfg_abc a, enum cfg_abc b)
{
    return rank(a) >= rank(b) ? a : b;
}

void counting_day(int64_t wall_ms, char out[11])
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    unsigned y, m, d;
    gmtime_r(&t, &tm);
    y = (unsigned)(tm.tm_year + 1900) % 10000u;
    m = (unsigned)(tm.tm_mon + 1) % 100u;
    d = (unsigned)tm.tm_mday % 100u;
    snprintf(out, 11, "%04u-%02u-%02u", y, m, d);
}

static void pass_reset(struct counting *c)
{
    free(c->locs);
    free(c->quants);
    free(c->due);
    c->locs = NULL;
    c->quants = NULL;
    c->due = NULL;
    c->n_locs = c->next = c->n_quants = c->cap_quants = c->qnext = c->n_due = c->dnext = 0;
}

static void destroy(struct counting *c)
{
    pass_reset(c);
    free(c);
}

/* Ends the pass; returns true when the scheduler was freed (closing). */
static bool pass_end(struct counting *c, int rc)
{
    counting_done_fn done = c->done;
    void *arg = c->done_arg;
    c->running = false;
    c->done = NULL;
    if (c->closing) {
        destroy(c);
        return true;
    }
    if (rc == 0)
        c->st.passes++;
    else {
        c->st.failed++;
        log_warnx("counting pass failed rc=%s", wcs_strerror(rc));
    }
    pass_reset(c);
    if (done)
        done(arg, rc);
    return false;
}

static const struct cfg_product *product(const struct cfg_site *s, const char *sku)
{
    int32_t i = cfg_find_product(s, sku);
    return i >= 0 ? &s->products[i] : NULL;
}

static struct store_ctx sched_ctx(struct counting *c)
{
    return (struct store_ctx){
        .actor = "wcs-counting", .cause = "counting schedule", .ts_ms = c->now_ms};
}

static int create_next(struct counting *c);

static void on_created(void *arg, const struct store_result *r)
{
    struct counting *c = arg;
    const struct cloc *l = &c->locs[c->due[c->dnext - 1]];
    int rc;
    if (c->closing) {
        pass_end(c, -ECANCELED);
        return;
    }
    if (r->rc == 0 && r->n_values >= 1) {
        c->st.created++;
        log_info("count scheduled task=%s location=%s class=%c", r->values[0], l->path,
                 l->cls == CFG_ABC_A   ? 'A'
                 : l->cls == CFG_ABC_B ? 'B'
                                       : 'C');
        if (c->bus) {
            char cls[2] = {l->cls == CFG_ABC_A ? 'A' : l->cls == CFG_ABC_B ? 'B' : 'C', 0};
            json_t *ev =
                json_pack("{s:s,s:s,s:s,s:s,s:s}", "event", "scheduled", "task", r->values[0],
                          "location", l->path, "class", cls, "by", "wcs-counting");
            if (ev)
                (void)bus_publish_event(c->bus, "count", ev);
            json_decref(ev);
        }
    } else if (r->rc == WCS_E_STATE && r->message && strstr(r->message, "daily maximum")) {
        pass_end(c, 0);
        return;
    } else if (r->rc == WCS_E_STATE || r->rc == WCS_E_UNKNOWN || r->rc == -EINVAL) {
        c->st.skipped++;
    } else {
        pass_end(c, r->rc);
        return;
    }
    if ((rc = create_next(c)) != 0)
        pass_end(c, rc == 1 ? 0 : rc);
}

/* Returns 0 (a call is in flight), 1 (nothing left) or an error. */
static int create_next(struct counting *c)
{
    const struct cloc *l;
    struct store_ctx ctx = sched_ctx(c);
    char cls;
    if (c->dnext >= c->n_due || c->remaining == 0)
        return 1;
    l = &c->locs[c->due[c->dnext++]];
    c->remaining--;
    cls = l->cls == CFG_ABC_A ? 'A' : l->cls == CFG_ABC_B ? 'B' : 'C';
    return ops_count_schedule(c->store, &ctx, l->path, c->day, c->daily_max, cls, on_created, c);
}

static int due_cmp_ctx_sort(const void *x, const void *y, void *arg)
{
    const struct cloc *locs = arg;
    const struct cloc *a = &locs[*(const uint32_t *)x], *b = &locs[*(const uint32_t *)y];
    if (a->due_ms != b->due_ms)
        return a->due_ms < b->due_ms ? -1 : 1;
    return strcmp(a->path, b->path);
}

static void decide(struct counting *c)
{
    const struct cfg_site *s = *c->site;
    int rc;
    if (!s || !s->counting.enabled) {
        pass_end(c, 0);
        return;
    }
    c->due = calloc(c->n_locs ? c->n_locs : 1, sizeof(*c->due));
    if (!c->due) {
        pass_end(c, -ENOMEM);
        return;
    }
    for (size_t i = 0; i < c->n_locs; i++) {
        struct cloc *l = &c->locs[i];
        if (!l->stock || l->open)
            continue;
        l->due_ms = counting_due_ms(&s->counting, l->cls, l->last_ms);
        if (l->due_ms <= c->now_ms)
            c->due[c->n_due++] = (uint32_t)i;
    }
    qsort_r(c->due, c->n_due, sizeof(*c->due), due_cmp_ctx_sort, c->locs);
    c->st.last_due = c->n_due;
    rc = create_next(c);
    if (rc != 0)
        pass_end(c, rc == 1 ? 0 : rc);
}

static int read_quants(struct counting *c);

static void on_quants(void *arg, const struct store_result *r)
{
    struct counting *c = arg;
    const struct cfg_site *s = *c->site;
    size_t base = c->qnext,
           n = c->n_quants - base < OPS_READ_MAX ? c->n_quants - base : OPS_READ_MAX;
    int rc;
    if (c->closing || r->rc != 0) {
        pass_end(c, c->closing ? -ECANCELED : r->rc);
        return;
    }
    if (r->n_values < OPS_QUANT_VALUES * n || !s) {
        pass_end(c, WCS_E_PROTOCOL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *const *v = r->values + OPS_QUANT_VALUES * i;
        struct cloc *l = &c->locs[c->quants[base + i].loc];
        const struct cfg_product *p;
        if (strcmp(v[0], "1") != 0 || strtoll(v[4], NULL, 10) <= 0)
            continue;
        p = product(s, v[1]);
        l->cls = l->stock ? counting_higher(l->cls, p ? p->abc : CFG_ABC_C)
                          : (p && p->abc != CFG_ABC_NONE ? p->abc : CFG_ABC_C);
        l->stock = true;
    }
    c->qnext = base + n;
    if (c->qnext < c->n_quants) {
        if ((rc = read_quants(c)) != 0)
            pass_end(c, rc);
        return;
    }
    decide(c);
}

static int read_quants(struct counting *c)
{
    const char *keys[OPS_READ_MAX];
    struct store_ctx ctx = sched_ctx(c);
    size_t n = c->n_quants - c->qnext < OPS_READ_MAX ? c->n_quants - c->qnext : OPS_READ_MAX;
    for (size_t i = 0; i < n; i++)
        keys[i] = c->quants[c->qnext + i].key;
    return ops_wave_read_quants(c->store, &ctx, keys, n, on_quants, c);
}

static int read_sets(struct counting *c);

static void on_sets(void *arg, const struct store_result *r)
{
    struct counting *c = arg;
    size_t base = c->next, n = c->n_locs - base < OPS_READ_MAX ? c->n_locs - base : OPS_READ_MAX;
    size_t v = 0;
    int rc;
    if (c->closing || r->rc != 0) {
        pass_end(c, c->closing ? -ECANCELED : r->rc);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t m = v < r->n_values ? strtoul(r->values[v++], NULL, 10) : 0;
        for (size_t k = 0; k < m && v < r->n_values; k++, v++) {
            if (c->n_quants == c->cap_quants) {
                size_t cap = c->cap_quants ? 2 * c->cap_quants : 256;
                struct cquant *q = realloc(c->quants, cap * sizeof(*q));
                if (!q) {
                    pass_end(c, -ENOMEM);
                    return;
                }
                c->quants = q;
                c->cap_quants = cap;
            }
            snprintf(c->quants[c->n_quants].key, STORE_KEY_MAX, "%s", r->values[v]);
            c->quants[c->n_quants++].loc = (uint32_t)(base + i);
        }
    }
    c->next = base + n;
    rc = c->next < c->n_locs ? read_sets(c) : c->n_quants ? read_quants(c) : (decide(c), 0);
    if (rc != 0)
        pass_end(c, rc);
}

static int read_sets(struct counting *c)
{
    const char *locs[OPS_READ_MAX];
    struct store_ctx ctx = sched_ctx(c);
    size_t n = c->n_locs - c->next < OPS_READ_MAX ? c->n_locs - c->next : OPS_READ_MAX;
    for (size_t i = 0; i < n; i++)
        locs[i] = c->locs[c->next + i].path;
    return ops_read_loc_quants(c->store, &ctx, locs, n, on_sets, c);
}

static struct cloc *find_loc(struct counting *c, const char *path)
{
    /* locs are in config order; a linear search per counted location is enough at the
     * scheduler's pace (once per period). */
    for (size_t i = 0; i < c->n_locs; i++)
        if (strcmp(c->locs[i].path, path) == 0)
            return &c->locs[i];
    return NULL;
}

static void on_plan(void *arg, const struct store_result *r)
{
    struct counting *c = arg;
    const struct cfg_site *s = *c->site;
    size_t v = 0, n;
    uint64_t today;
    int rc;
    if (c->closing || r->rc != 0) {
        pass_end(c, c->closing ? -ECANCELED : r->rc);
        return;
    }
    if (!s || !s->counting.enabled || r->n_values < 2) {
        pass_end(c, s && s->counting.enabled ? WCS_E_PROTOCOL : 0);
        return;
    }
    c->daily_max = s->counting.daily_max;
    today = strtoull(r->values[v++], NULL, 10);
    c->remaining = today >= c->daily_max ? 0 : c->daily_max - today;
    /* The internal locations of the config: the stock-holding storage. */
    c->locs = calloc(s->n_locations ? s->n_locations : 1, sizeof(*c->locs));
    if (!c->locs) {
        pass_end(c, -ENOMEM);
        return;
    }
    for (uint32_t i = 0; i < s->n_locations; i++)
        if (s->locations[i].type == CFG_LOC_INTERNAL)
            snprintf(c->locs[c->n_locs++].path, STORE_PATH_MAX, "%s", s->locations[i].path);
    n = strtoul(r->values[v++], NULL, 10);
    for (size_t i = 0; i < n && v + 1 < r->n_values; i++, v += 2) {
        struct cloc *l = find_loc(c, r->values[v]);
        if (l)
            l->last_ms = strtoll(r->values[v + 1], NULL, 10);
    }
    n = v < r->n_values ? strtoul(r->values[v++], NULL, 10) : 0;
    for (size_t i = 0; i < n && v < r->n_values; i++, v++) {
        struct cloc *l = find_loc(c, r->values[v]);
        if (l)
            l->open = true;
    }
    if (c->remaining == 0 || c->n_locs == 0) {
        pass_end(c, 0);
        return;
    }
    if ((rc = read_sets(c)) != 0)
        pass_end(c, rc);
}

int counting_run(struct counting *c, counting_done_fn done, void *arg)
{
    const struct cfg_site *s;
    struct store_ctx ctx;
    int rc;
    if (!c)
        return -EINVAL;
    if (c->running)
        return -EBUSY;
    s = *c->site;
    if (!s || !s->counting.enabled)
        return -ENOENT;
    c->now_ms = clock_wall_ms(c->clock);
    counting_day(c->now_ms, c->day);
    ctx = sched_ctx(c);
    rc = ops_count_read_plan(c->store, &ctx, c->day, on_plan, c);
    if (rc != 0)
        return rc;
    c->running = true;
    c->done = done;
    c->done_arg = arg;
    return 0;
}

static void on_timer(struct loop *l, uint64_t id, void *arg)
{
    struct counting *c = arg;
    (void)id;
    c->armed = false;
    if (store_is_ready(c->store))
        (void)counting_run(c, NULL, NULL); /* -EBUSY, -ENOENT: nothing to do this time */
    c->armed = loop_add_timer(l, (uint64_t)c->period_ms * 1000, on_timer, c, &c->timer) == 0;
}

int counting_open(struct counting **out, struct loop *loop, struct store *store, struct bus *bus,
                  const struct cfg_site *const *site, const struct wcs_clock *clock,
                  uint32_t first_ms, uint32_t period_ms)
{
    struct counting *c;
    if (!out || !loop || !store || !site || !clock)
        return -EINVAL;
    if (!(c = calloc(1, sizeof(*c))))
        return -ENOMEM;
    c->loop = loop;
    c->store = store;
    c->bus = bus;
    c->site = site;
    c->clock = clock;
    c->period_ms = period_ms;
    if (period_ms > 0) {
        if (loop_add_timer(loop, (uint64_t)first_ms * 1000, on_timer, c, &c->timer) != 0) {
            free(c);
            return -ENOMEM;
        }
        c->armed = true;
    }
    *out = c;
    return 0;
}

void counting_get_stats(const struct counting *c, struct counting_stats *out)
{
    *out = c->st;
}

void counting_close(struct counting *c)
{
    if (!c)
        return;
    if (c->armed)
        (void)loop_cancel_timer(c->loop, c->timer);
    c->armed = false;
    if (c->running) {
        c->closing = true; /* freed by the pass's outstanding callback */
        return;
    }
    destroy(c);
}
