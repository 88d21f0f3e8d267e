/* count.submit (flow.h): reads the count task, the approval counter and the location's quant
 * set, then the quants themselves; builds the list of quants the count covers (every quant of
 * the location holding or reserving stock, restricted to the task's product when it has one,
 * plus every (sku, lot) the counter listed) and submits it to count_submit, which turns each
 * variance into nothing, an adjustment or a pending approval. Raises the approval alarms and
 * the reserved-stock alarm on the bus and publishes evt/count. */
#include "flow.h"

#include "base/err.h"
#include "store/ops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBERS_MAX 4096 /* quant keys of one location's set that a count reads */

struct quant {
    char key[STORE_KEY_MAX];
    char sku[STORE_ID_MAX], lot[STORE_ID_MAX];
    int64_t on_hand, reserved;
};

struct csub {
    struct cmd_ctx *c;
    struct store_ctx ctx;
    char actor[BUS_NAME_MAX], cause[BUS_NAME_MAX + BUS_REQUEST_ID_MAX + 2];
    const struct cmd_args *a;
    flow_done_fn done;
    void *arg;
    int attempt;
    char only[STORE_ID_MAX]; /* the task's product ("" all) */
    uint64_t seq, set_size;
    struct quant *q; /* the set's members as read */
    size_t n_q;
    json_t *counts; /* the listed counts (canonical) */
};

static void csub_free(struct csub *f)
{
    if (!f)
        return;
    free(f->q);
    json_decref(f->counts);
    free(f);
}

static void fail(struct csub *f, const char *error, bool store_error)
{
    f->done(f->arg, NULL, error, store_error, NULL, NULL);
    csub_free(f);
}

static void fail_rc(struct csub *f, int rc, const char *msg)
{
    flow_fail_rc(f->done, f->arg, rc, msg);
    csub_free(f);
}

static int read_task(struct csub *f);

static void raise_alarms(struct csub *f, const json_t *approvals, bool flagged)
{
    struct bus *b = f->c->bus;
    size_t i;
    json_t *ap;
    if (!b)
        return;
    json_array_foreach(approvals, i, ap)
    {
        char id[BUS_NAME_MAX];
        const char *adj = json_string_value(json_object_get(ap, "approval"));
        json_t *body = json_pack(
            "{s:s,s:s,s:s,s:O,s:O,s:O,s:s}", "text", "adjustment needs approval", "approval", adj,
            "requester", f->actor, "why", json_object_get(ap, "why"), "sku",
            json_object_get(ap, "sku"), "qty", json_object_get(ap, "qty"), "task", f->a->id);
        snprintf(id, sizeof(id), "approval-%s", adj);
        if (body)
            bus_raise_alarm(b, id, body);
        json_decref(body);
    }
    if (flagged) {
        char id[BUS_NAME_MAX];
        json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "text",
                                 "count found less than is reserved: the reservation cannot be "
                                 "honoured",
                                 "task", f->a->id, "location", f->a->loc, "counter", f->actor);
        snprintf(id, sizeof(id), "count.%s.reserved", f->a->id);
        if (body)
            bus_raise_alarm(b, id, body);
        json_decref(body);
    }
}

static void on_submit(void *arg, const struct store_result *r)
{
    struct csub *f = arg;
    json_t *fields, *results, *approvals, *ev;
    size_t adjusted = 0, variances = 0, i;
    json_t *x;
    bool flagged;
    if (ops_retry_due(r, &f->attempt)) {
        int rc = read_task(f);
        if (rc != 0)
            fail_rc(f, rc, NULL);
        return;
    }
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    if (r->n_values < 3 || !r->values) {
        fail(f, "store unavailable (unexpected script reply): not executed", true);
        return;
    }
    results = json_loads(r->values[0], 0, NULL);
    approvals = json_loads(r->values[1], 0, NULL);
    flagged = strcmp(r->values[2], "1") == 0;
    if (!json_is_array(results))
        results = (json_decref(results), json_array());
    if (!json_is_array(approvals))
        approvals = (json_decref(approvals), json_array());
    json_array_foreach(results, i, x)
    {
        const char *act = json_string_value(json_object_get(x, "action"));
        variances += act && strcmp(act, "match") != 0;
        adjusted += act && strcmp(act, "adjusted") == 0;
    }
    fields =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:b,s:O,s:O}", "task", f->a->id, "location", f->a->loc,
                  "state", "done", "variances", (json_int_t)variances, "adjusted",
                  (json_int_t)adjusted, "approvals_pending", (json_int_t)json_array_size(approvals),
                  "reserved_short", flagged, "results", results, "approvals", approvals);
    raise_alarms(f, approvals, flagged);
    if (f->c->bus && fields) {
        ev = json_deep_copy(fields);
        if (ev) {
            json_object_set_new(ev, "event", json_string("submitted"));
            json_object_set_new(ev, "counter", json_string(f->actor));
            (void)bus_publish_event(f->c->bus, "count", ev);
        }
        json_decref(ev);
    }
    json_decref(results);
    json_decref(approvals);
    if (!fields) {
        fail(f, "out of memory", true);
        return;
    }
    f->done(f->arg, fields, NULL, false, f->a->id, "done");
    csub_free(f);
}

/* Finds the listed count of (sku, lot): its index in f->counts, or -1. */
static long listed(const struct csub *f, const char *sku, const char *lot)
{
    size_t i;
    json_t *l;
    json_array_foreach(f->counts, i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "sku")), sku) == 0 &&
            strcmp(json_string_value(json_object_get(l, "lot")), lot) == 0)
            return (long)i;
    }
    return -1;
}

static void submit(struct csub *f)
{
    struct ops_count_quant q[OPS_COUNT_QUANTS_MAX];
    size_t n = 0, i, ncounts = json_array_size(f->counts);
    bool *used = calloc(ncounts ? ncounts : 1, sizeof(*used));
    char e[CMD_ERR_MAX];
    json_t *l;
    int rc;
    if (!used) {
        fail(f, "out of memory", true);
        return;
    }
    for (i = 0; i < f->n_q; i++) {
        const struct quant *m = &f->q[i];
        long k;
        if (f->only[0] && strcmp(m->sku, f->only) != 0)
            continue;
        k = listed(f, m->sku, m->lot);
        if (k < 0 && m->on_hand == 0 && m->reserved == 0)
            continue;
        if (n == OPS_COUNT_QUANTS_MAX)
            goto too_many;
        q[n].sku = m->sku;
        q[n].lot = m->lot;
        q[n].counted = -1;
        q[n].unit_value_cents = -1;
        if (k >= 0) {
            l = json_array_get(f->counts, (size_t)k);
            used[k] = true;
            q[n].counted = json_integer_value(json_object_get(l, "qty"));
            q[n].unit_value_cents = json_integer_value(json_object_get(l, "unit"));
        }
        n++;
    }
    json_array_foreach(f->counts, i, l)
    {
        const char *sku = json_string_value(json_object_get(l, "sku"));
        if (used[i])
            continue;
        if (f->only[0] && strcmp(sku, f->only) != 0) {
            snprintf(e, sizeof(e), "count %s counts only %s, not %s", f->a->id, f->only, sku);
            free(used);
            fail(f, e, false);
            return;
        }
        if (n == OPS_COUNT_QUANTS_MAX)
            goto too_many;
        q[n].sku = sku;
        q[n].lot = json_string_value(json_object_get(l, "lot"));
        q[n].counted = json_integer_value(json_object_get(l, "qty"));
        q[n].unit_value_cents = json_integer_value(json_object_get(l, "unit"));
        n++;
    }
    free(used);
    rc = ops_count_submit(f->c->store, &f->ctx, f->a->id, f->a->loc, f->seq, f->set_size,
                          f->c->site->adjust_qty_threshold,
                          f->c->site->adjust_value_threshold_cents, q, n, on_submit, f);
    if (rc != 0)
        fail_rc(f, rc, NULL);
    return;
too_many:
    free(used);
    snprintf(e, sizeof(e), "location %s holds more than %d quants: a count covers at most %d",
             f->a->loc, OPS_COUNT_QUANTS_MAX, OPS_COUNT_QUANTS_MAX);
    fail(f, e, false);
}

/* One quant of the location's set as read; a quant in the set but gone keeps its key's name. */
static void on_quant(void *arg, size_t i, const struct ops_quant_row *row)
{
    struct csub *f = arg;
    struct quant *m = &f->q[i];
    snprintf(m->sku, sizeof(m->sku), "%s", row->sku);
    snprintf(m->lot, sizeof(m->lot), "%s", row->lot);
    m->on_hand = row->on_hand;
    m->reserved = row->reserved;
    if (!row->exists) {
        struct store_quant_ref ref;
        if (store_key_parse_quant(m->key, strlen(m->key), &ref) == 0) {
            snprintf(m->sku, sizeof(m->sku), "%s", ref.sku);
            snprintf(m->lot, sizeof(m->lot), "%s", ref.lot);
        }
    }
}

static void on_quants(void *arg, const struct store_result *r)
{
    struct csub *f = arg;
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    submit(f);
}

static void on_task(void *arg, const struct store_result *r)
{
    struct csub *f = arg;
    char e[CMD_ERR_MAX];
    size_t n;
    if (r->rc != 0) {
        fail_rc(f, r->rc, r->message);
        return;
    }
    if (r->n_values < 6) {
        fail(f, "store unavailable (unexpected script reply): not executed", true);
        return;
    }
    /* The script's own refusal texts, so that a race answers the same. */
    if (!r->values[0][0]) {
        snprintf(e, sizeof(e), "unknown count task \"%s\"", f->a->id);
        fail(f, e, false);
        return;
    }
    if (strcmp(r->values[0], "count") != 0) {
        snprintf(e, sizeof(e), "task %s is a %s task, not a count", f->a->id, r->values[0]);
        fail(f, e, false);
        return;
    }
    if (strcmp(r->values[1], "open") != 0) {
        snprintf(e, sizeof(e), "count %s is %s: it was submitted before", f->a->id, r->values[1]);
        fail(f, e, false);
        return;
    }
    if (strcmp(r->values[2], f->a->loc) != 0) {
        snprintf(e, sizeof(e), "scanned location %s is not the location of count %s (%s)",
                 f->a->loc, f->a->id, r->values[2]);
        fail(f, e, false);
        return;
    }
    snprintf(f->only, sizeof(f->only), "%s", r->values[3]);
    f->seq = strtoull(r->values[4], NULL, 10);
    n = strtoul(r->values[5], NULL, 10);
    if (n > MEMBERS_MAX || r->n_values < 6 + n) {
        snprintf(e, sizeof(e), "location %s has %zu quant records: more than a count reads (%d)",
                 f->a->loc, n, MEMBERS_MAX);
        fail(f, e, false);
        return;
    }
    f->set_size = n;
    free(f->q);
    f->q = calloc(n ? n : 1, sizeof(*f->q));
    if (!f->q) {
        fail(f, "out of memory", true);
        return;
    }
    f->n_q = n;
    for (size_t i = 0; i < n; i++)
        snprintf(f->q[i].key, sizeof(f->q[i].key), "%s", r->values[6 + i]);
    if (n == 0) {
        submit(f);
        return;
    }
    int rc = ops_read_quant_rows(f->c->store, &f->ctx, r->values + 6, n, on_quant, on_quants, f);
    if (rc != 0)
        fail_rc(f, rc, NULL);
}

static int read_task(struct csub *f)
{
    return ops_count_read_task(f->c->store, &f->ctx, f->a->id, f->a->loc, on_task, f);
}

int count_submit_start(struct cmd_ctx *c, const struct store_ctx *ctx, const struct cmd_args *a,
                       const char *user, flow_done_fn done, void *arg)
{
    struct csub *f;
    int rc;
    if (!c || !ctx || !a || !a->id || !a->loc || !a->lines_json || !done)
        return -EINVAL;
    if (!(f = calloc(1, sizeof(*f))))
        return -ENOMEM;
    f->c = c;
    f->a = a;
    f->done = done;
    f->arg = arg;
    f->ctx = *ctx;
    snprintf(f->actor, sizeof(f->actor), "%s", user);
    snprintf(f->cause, sizeof(f->cause), "%s", ctx->cause ? ctx->cause : "");
    f->ctx.actor = f->actor;
    f->ctx.cause = f->cause;
    f->counts = json_loads(a->lines_json, 0, NULL);
    if (!json_is_array(f->counts)) {
        csub_free(f);
        return -EINVAL;
    }
    rc = read_task(f);
    if (rc != 0)
        csub_free(f);
    return rc;
}
