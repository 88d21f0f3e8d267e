/* The command layer's asynchronous path (command.h): claim the request_id, authorize, validate,
 * execute one store operation, store the reply, journal, answer. One table maps each command to
 * its executor and reply builder; validators live in validate.c (pure). A job lives from the
 * bus's callback until its reply; the bus_cmd it carries is freed by that reply. */
#include "command/command.h"

#include "base/err.h"
#include "inbound.h"
#include "flow.h"
#include "store/ops.h"
#include "pick.h"
#include "replen.h"
#include "scan.h"
#include "short.h"
#include "taskhint.h"
#include "validate.h"
#include "wave.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TTL_S 86400u

struct job;
typedef int (*exec_fn)(struct job *j);
/* Builds the reply fields from a successful result; returns what changed (or -1: nothing). */
typedef int (*reply_fn)(struct job *j, const struct store_result *r, json_t *fields,
                        const char **id, const char **state);

struct entry {
    const char *name;
    exec_fn exec;
    reply_fn reply;
    /* The executor may start in the same round trip as the claim (job_start): it finishes
     * through on_exec, refuse or store_failed only, and everything it writes goes through
     * store scripts (which the claim guards) and, in wcs, after their result. */
    bool with_claim;
};

/* Where a job that started with its claim stands with it. */
enum claim_state { CLAIM_WAIT, CLAIM_OWN, CLAIM_DUP, CLAIM_FAILED };

struct job {
    struct cmd_ctx *c;
    struct bus_cmd *cmd;
    const struct entry *e;
    struct cmd_args a;
    struct store_ctx sctx;
    char key[STORE_ID_MAX];
    char cause[BUS_NAME_MAX + BUS_REQUEST_ID_MAX + 2];
    char user[BUS_NAME_MAX];
    char command[BUS_NAME_MAX];
    char request_id[BUS_REQUEST_ID_MAX + 1];
    /* A second change a reply builder reports (told to the owner before the main one). */
    int extra_what;
    char extra_id[STORE_PATH_MAX], extra_state[STORE_ID_MAX];
    /* A system-issued command (command_run_local) has no bus_cmd: its body and callback. */
    json_t *body;
    cmd_local_fn local;
    void *local_arg;
    /* Started with its claim (entry.with_claim): the claim's token and guard, the claim's
     * answer, and an outcome that came before it (held until the claim is known). */
    bool with_claim;
    enum claim_state claim;
    char token[48];
    struct store_claim guard;
    char claim_error[CMD_ERR_MAX];
    bool held;
    json_t *h_fields;
    char h_error[CMD_ERR_MAX];
    bool h_store_error;
    int h_what;
    char h_id[STORE_PATH_MAX], h_state[32];
};

static void extra_change(struct job *j, enum cmd_change what, const char *id, const char *state)
{
    j->extra_what = (int)what;
    snprintf(j->extra_id, sizeof(j->extra_id), "%s", id ? id : "");
    snprintf(j->extra_state, sizeof(j->extra_state), "%s", state ? state : "");
}

static uint32_t ttl(const struct cmd_ctx *c)
{
    return c->request_ttl_s ? c->request_ttl_s : DEFAULT_TTL_S;
}

void command_request_key(const char *rid, char out[STORE_ID_MAX])
{
    uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
    if (store_id_check(rid) == 0) {
        snprintf(out, STORE_ID_MAX, "%s", rid);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)rid; *p; p++) {
        h1 = (h1 ^ *p) * 0x100000001b3ull;
        h2 = (h2 ^ *p) * 0x100000001b3ull;
        h2 ^= h2 >> 29;
    }
    snprintf(out, STORE_ID_MAX, "h%016" PRIx64 "%016" PRIx64, h1, h2);
}

static void job_free(struct job *j)
{
    cmd_args_fini(&j->a);
    json_decref(j->body);
    json_decref(j->h_fields);
    free(j);
}

/* The answer goes to the bus, or to the local caller (fields borrowed during the call). */
static void answer_ok(struct job *j, const json_t *fields, unsigned flags)
{
    if (j->local)
        j->local(j->local_arg, fields, NULL, flags);
    else
        bus_reply_ok(j->cmd, fields);
    j->cmd = NULL;
}

static void answer_err(struct job *j, const char *error, unsigned flags)
{
    if (j->local)
        j->local(j->local_arg, NULL, error, flags);
    else
        bus_reply_err(j->cmd, error);
    j->cmd = NULL;
}

/* The text a repeat of the request is answered from: fields plus "ok" (fields itself is
 * borrowed, not copied: a wave.plan reply lists thousands of orders; "ok" is taken out again
 * before the bus builds its envelope), or {error, ok: false}. NULL without memory; the caller
 * frees. */
static char *stored_reply(json_t *fields, const char *error)
{
    json_t *stored = fields ? json_incref(fields) : json_pack("{s:s}", "error", error);
    char *text = NULL;
    if (stored) {
        json_object_set_new(stored, "ok", json_boolean(fields != NULL));
        text = json_dumps(stored, JSON_COMPACT | JSON_SORT_KEYS);
        if (fields)
            json_object_del(fields, "ok");
        json_decref(stored);
    }
    return text;
}

/* Stores the outcome for replays, journals a refusal, answers and frees the job. fields is
 * consumed (NULL for a refusal). */
static void finish(struct job *j, json_t *fields, const char *error, bool store_error)
{
    struct cmd_ctx *c = j->c;
    char *text = stored_reply(fields, error);
    /* The stored reply replaces the claim's token: what is journaled after it runs unguarded. */
    j->sctx.claim = NULL;
    if (text)
        store_request_reply(c->store, j->user, j->key, text, ttl(c), NULL, NULL);
    free(text);
    if (!fields && !store_error) {
        json_t *note = json_pack("{s:s,s:s,s:s}", "request_id", j->request_id, "user", j->user,
                                 "error", error);
        char *t = note ? json_dumps(note, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (t)
            ops_journal_note(c->store, &j->sctx, "cmd_refused", j->command, t, NULL, NULL);
        free(t);
        json_decref(note);
    }
    c->stats.handled++;
    if (fields) {
        c->stats.executed++;
        answer_ok(j, fields, 0);
        json_decref(fields);
    } else {
        if (store_error)
            c->stats.store_errors++;
        else
            c->stats.refused++;
        answer_err(j, error, store_error ? CMD_LOCAL_STORE_ERROR : 0);
    }
}

/* Nothing ran under the claim. When the claim was sent (its answer lost with the link) it may
 * still land, or have landed, and would then answer every repeat of the request id "still being
 * processed" for its TTL: the refusal is stored in its place if it is there (request_settle,
 * held until Redis is back), and the reply says to use a new id. */
static void claim_unavailable(struct job *j, const char *msg, bool sent)
{
    char e[CMD_ERR_MAX];
    snprintf(e, sizeof(e), "store unavailable (%s): not executed%s", msg,
             sent ? "; retry with a new request_id" : "");
    if (sent) {
        struct store_claim g = {j->user, j->key, j->token};
        struct store_ctx ctx = {.actor = j->user, .cause = j->cause, .claim = &g};
        char *text = stored_reply(NULL, e);
        if (text)
            (void)store_request_settle(j->c->store, &ctx, text, ttl(j->c), NULL, NULL);
        free(text);
    }
    j->c->stats.store_errors++;
    j->c->stats.handled++;
    answer_err(j, e, CMD_LOCAL_STORE_ERROR);
}

/* The end of a job: fields (consumed) or error, then what changed (what >= 0: id and state).
 * A job that started with its claim and ends before the claim's answer is held; one whose
 * claim was a repeat (answered by replay) ends silently; one whose claim failed is answered
 * as executed only when its script ran, which the claim's guard proves was under this claim. */
static void complete(struct job *j, json_t *fields, const char *error, bool store_error, int what,
                     const char *id, const char *state)
{
    struct cmd_ctx *c = j->c;
    if (j->with_claim && j->claim == CLAIM_WAIT) {
        j->held = true;
        j->h_fields = fields;
        snprintf(j->h_error, sizeof(j->h_error), "%s", error ? error : "");
        j->h_store_error = store_error;
        j->h_what = what;
        snprintf(j->h_id, sizeof(j->h_id), "%s", id ? id : "");
        snprintf(j->h_state, sizeof(j->h_state), "%s", state ? state : "");
        return;
    }
    if (j->with_claim && j->claim == CLAIM_DUP) {
        json_decref(fields);
        job_free(j);
        return;
    }
    if (j->with_claim && j->claim == CLAIM_FAILED && !fields) {
        claim_unavailable(j, j->claim_error, true);
        job_free(j);
        return;
    }
    /* id and state may point into the command's body or the store's reply: copy them before
     * the reply frees the command. */
    char id_copy[STORE_PATH_MAX], state_copy[32];
    snprintf(id_copy, sizeof(id_copy), "%s", id ? id : "");
    snprintf(state_copy, sizeof(state_copy), "%s", state ? state : "");
    finish(j, fields, error, store_error);
    if (what >= 0 && c->on_change && j->extra_id[0])
        c->on_change(c->change_arg, (enum cmd_change)j->extra_what, j->extra_id, j->extra_state);
    if (what >= 0 && c->on_change && id)
        c->on_change(c->change_arg, (enum cmd_change)what, id_copy, state_copy);
    job_free(j);
}

static void refuse(struct job *j, const char *error)
{
    complete(j, NULL, error, false, -1, NULL, NULL);
}

static void store_failed(struct job *j, int rc, const char *msg)
{
    char e[CMD_ERR_MAX];
    snprintf(e, sizeof(e), "store unavailable (%s): not executed; retry with a new request_id",
             msg && msg[0] ? msg : wcs_strerror(rc));
    complete(j, NULL, e, true, -1, NULL, NULL);
}

static void on_exec(void *arg, const struct store_result *r)
{
    struct job *j = arg;
    struct cmd_ctx *c = j->c;
    const char *id = NULL, *state = NULL;
    json_t *fields;
    int what;
    if (j->with_claim && r->rc == WCS_E_DUPLICATE) {
        /* The claim's guard refused the script: the claim is not this job's. */
        complete(j, NULL, "the request id is claimed by another call", true, -1, NULL, NULL);
        return;
    }
    if (r->rc == WCS_E_STATE || r->rc == WCS_E_UNKNOWN || r->rc == -EINVAL) {
        if (strncmp(j->command, "pick.", 5) == 0 &&
            pick_is_check_refusal(ops_refusal_text(r->message)))
            c->stats.pick_errors++;
        refuse(j, ops_refusal_text(r->message));
        return;
    }
    if (r->rc != 0) {
        store_failed(j, r->rc, r->message);
        return;
    }
    fields = json_object();
    what = j->e->reply(j, r, fields, &id, &state);
    if (what < 0 && what != -1) {
        json_decref(fields);
        store_failed(j, WCS_E_PROTOCOL, "unexpected script reply");
        return;
    }
    complete(j, fields, NULL, false, what, id, state);
}

/* ---- executors and reply builders ---- */

static bool nvals(const struct store_result *r, size_t n)
{
    return r->n_values >= n && r->values;
}

static json_t *json_or_null(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    return v ? v : json_null();
}

static int x_order_upsert(struct job *j)
{
    return ops_order_upsert(j->c->store, &j->sctx, j->a.id, j->a.header_json, j->a.lines_json,
                            j->a.draft, on_exec, j);
}

static int r_order_upsert(struct job *j, const struct store_result *r, json_t *f, const char **id,
                          const char **state)
{
    if (!nvals(r, 2))
        return -2;
    json_object_set_new(f, "order", json_string(j->a.id));
    json_object_set_new(f, "result", json_string(r->values[0]));
    json_object_set_new(f, "state", json_string(r->values[1]));
    *id = j->a.id;
    *state = r->values[1];
    return strcmp(r->values[0], "unchanged") == 0 ? -1 : CMD_CHANGED_ORDER;
}

static int x_order_action(struct job *j)
{
    return ops_order_action(j->c->store, &j->sctx, j->a.id, strchr(j->command, '.') + 1, on_exec,
                            j);
}

static int r_order_action(struct job *j, const struct store_result *r, json_t *f, const char **id,
                          const char **state)
{
    if (!nvals(r, 3))
        return -2;
    json_object_set_new(f, "order", json_string(j->a.id));
    json_object_set_new(f, "state", json_string(r->values[0]));
    json_object_set_new(f, "hold", json_boolean(strcmp(r->values[1], "1") == 0));
    json_object_set_new(f, "unreserved", json_integer(atoll(r->values[2])));
    *id = j->a.id;
    *state = r->values[0];
    return CMD_CHANGED_ORDER;
}

static void on_wave_plan(void *arg, json_t *fields, const char *error, bool store_error)
{
    struct job *j = arg;
    struct cmd_ctx *c = j->c;
    char id[STORE_ID_MAX];
    snprintf(id, sizeof(id), "%s", j->a.id);
    if (!fields) {
        if (store_error) {
            finish(j, NULL, error, true);
            job_free(j);
        } else {
            refuse(j, error);
        }
        return;
    }
    finish(j, fields, NULL, false);
    if (c->on_change)
        c->on_change(c->change_arg, CMD_CHANGED_WAVE, id, "planned");
    job_free(j);
}

/* wave.plan runs through the planner (wave.c); it answers through on_wave_plan. */
static int x_wave_plan(struct job *j)
{
    char err[CMD_ERR_MAX];
    int rc = wave_plan_start(j->c, &j->sctx, j->a.id, j->a.carrier, (uint32_t)j->a.max_orders,
                             on_wave_plan, j, err, sizeof(err));
    if (rc == WCS_E_STATE) {
        refuse(j, err);
        return 0;
    }
    return rc;
}

static int x_wave_action(struct job *j)
{
    if (strcmp(j->command, "wave.release") == 0) {
        char *st = pick_stations_json(j->c->site);
        int rc = st ? ops_wave_release(j->c->store, &j->sctx, j->a.id, st, on_exec, j) : -ENOMEM;
        free(st);
        return rc;
    }
    return ops_wave_action(j->c->store, &j->sctx, j->a.id, strchr(j->command, '.') + 1, on_exec, j);
}

static int r_wave_action(struct job *j, const struct store_result *r, json_t *f, const char **id,
                         const char **state)
{
    if (!nvals(r, 3))
        return -2;
    json_object_set_new(f, "wave", json_string(j->a.id));
    json_object_set_new(f, "state", json_string(r->values[0]));
    json_object_set_new(f, "orders", json_or_null(r->values[1]));
    json_object_set_new(f, "unreserved", json_integer(atoll(r->values[2])));
    if (strcmp(j->command, "wave.release") == 0 && nvals(r, 5)) {
        json_t *b = json_loads(r->values[3], 0, NULL), *t = json_loads(r->values[4], 0, NULL);
        json_t *ids = json_array(), *v;
        size_t i;
        json_array_foreach(b, i, v) json_array_append(ids, json_object_get(v, "batch"));
        json_object_set_new(f, "batches", ids);
        json_object_set_new(f, "tasks", json_integer((json_int_t)json_array_size(t)));
        /* Faces the released picks would take below their min get replenished first. */
        json_array_foreach(t, i, v)
        {
            const char *loc = json_string_value(json_object_get(v, "location"));
            const char *sku = json_string_value(json_object_get(v, "sku"));
            if (loc && sku)
                (void)replen_check(j->c, loc, sku, "release");
        }
        json_decref(b);
        json_decref(t);
        pick_publish(j->c->bus, r->values[3], r->values[4]);
    }
    *id = j->a.id;
    *state = r->values[0];
    return CMD_CHANGED_WAVE;
}

/* ---- picking ---- */

static int x_batch_claim(struct job *j)
{
    return ops_batch_claim(j->c->store, &j->sctx, j->a.id, j->user, on_exec, j);
}

static int r_batch_claim(struct job *j, const struct store_result *r, json_t *f, const char **id,
                         const char **state)
{
    json_t *tasks, *v, *batch;
    size_t i;
    if (!nvals(r, 5))
        return -2;
    tasks = json_loads(r->values[3], 0, NULL);
    if (!json_is_array(tasks)) {
        json_decref(tasks);
        tasks = json_array();
    }
    json_array_foreach(tasks, i, v)
    {
        char gtin[15];
        const char *sku = json_string_value(json_object_get(v, "sku")),
                   *task = json_string_value(json_object_get(v, "task"));
        const struct ops_task_hint h = {json_string_value(json_object_get(v, "order")),
                                        r->values[0], sku,
                                        json_string_value(json_object_get(v, "location")),
                                        json_string_value(json_object_get(v, "lot"))};
        pick_first_gtin(j->c->site, sku ? sku : "", gtin);
        json_object_set_new(v, "gtin", gtin[0] ? json_string(gtin) : json_null());
        /* The next pick.confirm of an open task runs without reading it (-EINVAL: not kept). */
        const char *ts = json_string_value(json_object_get(v, "state"));
        if (ts && strcmp(ts, "open") == 0)
            (void)taskhints_put(&j->c->hints, task, &h);
    }
    json_object_set_new(f, "batch", json_string(r->values[0]));
    json_object_set_new(f, "wave", json_string(r->values[1]));
    json_object_set_new(f, "orders", json_or_null(r->values[2]));
    json_object_set_new(f, "tasks", tasks);
    batch = json_pack("{s:s,s:s,s:s,s:s}", "batch", r->values[0], "wave", r->values[1], "state",
                      "assigned", "assignee", j->user);
    if (j->c->bus && batch)
        (void)bus_set_state(j->c->bus, "batch", r->values[0], batch);
    json_decref(batch);
    *id = r->values[0];
    *state = "assigned";
    return -1;
}

/* The GS1 century rule counts from the current year. */
static int current_year(const struct cmd_ctx *c)
{
    time_t t = (time_t)((c->clock ? clock_wall_ms(c->clock) : (int64_t)time(NULL) * 1000) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

static int x_pick(struct job *j)
{
    struct scan_data sc = {0};
    char err[CMD_ERR_MAX];
    const struct cfg_product *p = NULL;
    bool is_short = strcmp(j->command, "pick.short") == 0;
    if (j->a.scan) {
        char why[CMD_ERR_MAX - 16]; /* room for the field prefix */
        if (scan_parse_item(j->a.scan, strlen(j->a.scan), current_year(j->c), &sc, why,
                            sizeof(why)) != 0) {
            snprintf(err, sizeof(err), "field \"scan\": %s",
                     strncmp(why, "scan: ", 6) == 0 ? why + 6 : why);
            refuse(j, err);
            return 0;
        }
        p = pick_gtin_product(j->c->site, sc.gtin);
    }
    struct ops_pick pk = {.task = j->a.id,
                          .location = j->a.loc ? j->a.loc : "",
                          .gtin = sc.gtin,
                          .gtin_sku = p ? p->sku : "",
                          .lot = sc.lot[0] && !sc.serial ? sc.lot : NULL,
                          .expiry = sc.expiry[0] ? sc.expiry : NULL,
                          .qty = j->a.qty,
                          .tote = j->a.tote ? j->a.tote : "",
                          .short_pick = is_short,
                          .serial = sc.lot[0] && sc.serial ? sc.lot : NULL,
                          .serial_tracked = p && p->tracking == CFG_TRACK_SERIAL};
    struct ops_task_hint h;
    if (is_short) {
        taskhints_drop(j->c->hints, j->a.id);
        return short_start(j->c, &j->sctx, &pk, on_exec, j);
    }
    if (taskhints_get(j->c->hints, j->a.id, &h)) {
        pk.hint = &h;
        j->c->stats.pick_hinted++;
    }
    return ops_pick_confirm(j->c->store, &j->sctx, &pk, on_exec, j);
}

static void publish_task(struct job *j, const char *task, const char *state, const char *order,
                         int64_t picked, int64_t remaining, const char *tote)
{
    json_t *e = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "task", task, "state", state, "order",
                          order, "picked", (json_int_t)picked, "remaining", (json_int_t)remaining,
                          "tote", tote, "by", j->user);
    if (j->c->bus && e)
        (void)bus_publish_event(j->c->bus, "task", e);
    json_decref(e);
}

static void publish_batch_done(struct job *j, const char *batch)
{
    json_t *b = json_pack("{s:s,s:s,s:s}", "batch", batch, "state", "done", "assignee", j->user);
    if (j->c->bus && b)
        (void)bus_set_state(j->c->bus, "batch", batch, b);
    json_decref(b);
}

static int r_pick_confirm(struct job *j, const struct store_result *r, json_t *f, const char **id,
                          const char **state)
{
    if (!nvals(r, 9))
        return -2;
    j->c->stats.pick_confirms++;
    json_object_set_new(f, "task", json_string(j->a.id));
    json_object_set_new(f, "picked", json_integer(atoll(r->values[0])));
    json_object_set_new(f, "remaining", json_integer(atoll(r->values[1])));
    json_object_set_new(f, "order", json_string(r->values[2]));
    json_object_set_new(f, "order_state", json_string(r->values[3]));
    json_object_set_new(f, "next", r->values[4][0] ? json_string(r->values[4]) : json_null());
    publish_task(j, j->a.id, r->values[5], r->values[2], atoll(r->values[0]), atoll(r->values[1]),
                 r->values[7]);
    if (strcmp(r->values[5], "open") != 0)
        taskhints_drop(j->c->hints, j->a.id);
    if (strcmp(r->values[6], "done") == 0)
        publish_batch_done(j, r->values[8]);
    /* The pick may have taken its face below its replenishment min. */
    if (nvals(r, 11))
        (void)replen_check(j->c, r->values[10], r->values[9], "pick");
    /* The tote now carries the order: the sorter routes it by the fresh record. */
    extra_change(j, CMD_CHANGED_TOTE_PICKED, r->values[7], r->values[2]);
    *id = r->values[2];
    *state = r->values[3];
    return CMD_CHANGED_ORDER_STATE;
}

/* pick.short's reply and events: the shorted task, its replacements (evt/task), the backorder
 * (evt/backorder), the batch when it is done. */
static int r_pick_short(struct job *j, const struct store_result *r, json_t *f, const char **id,
                        const char **state)
{
    json_t *repl, *ids, *v;
    size_t i;
    if (!nvals(r, 12))
        return -2;
    if (j->a.qty > 0)
        j->c->stats.pick_confirms++;
    repl = json_loads(r->values[2], 0, NULL);
    if (!json_is_array(repl)) {
        json_decref(repl);
        repl = json_array();
    }
    ids = json_array();
    json_array_foreach(repl, i, v) json_array_append(ids, json_object_get(v, "task"));
    json_object_set_new(f, "task", json_string(j->a.id));
    json_object_set_new(f, "picked", json_integer(atoll(r->values[0])));
    json_object_set_new(f, "short", json_integer(atoll(r->values[1])));
    json_object_set(f, "replacement", json_array_size(ids) ? json_array_get(ids, 0) : json_null());
    json_object_set_new(f, "replacements", ids);
    json_object_set_new(f, "backorder", r->values[3][0] ? json_string(r->values[3]) : json_null());
    json_object_set_new(f, "follow_up", r->values[9][0] ? json_string(r->values[9]) : json_null());
    json_object_set_new(f, "count", r->values[8][0] ? json_string(r->values[8]) : json_null());
    json_object_set_new(f, "order", json_string(r->values[4]));
    json_object_set_new(f, "order_state", json_string(r->values[5]));
    json_object_set_new(f, "next", r->values[10][0] ? json_string(r->values[10]) : json_null());
    if (j->c->bus) {
        json_t *e =
            json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "task", j->a.id, "state", "short", "order",
                      r->values[4], "picked", (json_int_t)atoll(r->values[0]), "short",
                      (json_int_t)atoll(r->values[1]), "tote", r->values[11], "by", j->user);
        if (e)
            (void)bus_publish_event(j->c->bus, "task", e);
        json_decref(e);
        json_array_foreach(repl, i, v)
        {
            json_object_set_new(v, "batch", json_string(r->values[6]));
            json_object_set_new(v, "order", json_string(r->values[4]));
            json_object_set_new(v, "state", json_string("open"));
            json_object_set_new(v, "replaces", json_string(j->a.id));
            (void)bus_publish_event(j->c->bus, "task", v);
        }
        if (r->values[3][0]) {
            e = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "backorder", r->values[3], "order",
                          r->values[4], "task", j->a.id, "qty", (json_int_t)atoll(r->values[1]),
                          "follow_up", r->values[9], "state", "open");
            if (e)
                (void)bus_publish_event(j->c->bus, "backorder", e);
            json_decref(e);
        }
    }
    json_decref(repl);
    if (strcmp(r->values[7], "done") == 0)
        publish_batch_done(j, r->values[6]);
    if (r->values[11][0])
        extra_change(j, CMD_CHANGED_TOTE_PICKED, r->values[11], r->values[4]);
    *id = r->values[4];
    *state = r->values[5];
    return CMD_CHANGED_ORDER_STATE;
}

static int x_label_reprint(struct job *j)
{
    return ops_label_reprint(j->c->store, &j->sctx, j->a.id, j->a.printer, on_exec, j);
}

static int r_label_reprint(struct job *j, const struct store_result *r, json_t *f, const char **id,
                           const char **state)
{
    if (!nvals(r, 1))
        return -2;
    json_object_set_new(f, "shipment", json_string(j->a.id));
    json_object_set_new(f, "tote", json_string(r->values[0]));
    json_object_set_new(f, "printer", j->a.printer ? json_string(j->a.printer) : json_null());
    /* The owner prints the label again (docs/daemon.md "Packing and shipping"). */
    extra_change(j, CMD_CHANGED_REPRINT, j->a.id, j->a.printer ? j->a.printer : "");
    *id = r->values[0];
    *state = "reprint";
    return CMD_CHANGED_TOTE;
}

static int x_alarm_ack(struct job *j)
{
    return ops_alarm_ack(j->c->store, &j->sctx, j->a.id, j->a.note, on_exec, j);
}

static int r_alarm_ack(struct job *j, const struct store_result *r, json_t *f, const char **id,
                       const char **state)
{
    (void)r;
    json_object_set_new(f, "alarm", json_string(j->a.id));
    *id = j->a.id;
    *state = "acknowledged";
    return CMD_CHANGED_ALARM;
}

static int x_inventory_adjust(struct job *j)
{
    struct store_line l = {j->a.sku, j->a.loc, j->a.lot ? j->a.lot : "", j->a.qty};
    if (j->a.needs_approval)
        return ops_approval_request(
            j->c->store, &j->sctx, &l, j->a.reason,
            j->a.has_value ? j->a.unit_value_cents * (j->a.qty < 0 ? -j->a.qty : j->a.qty) : -1,
            j->a.why, on_exec, j);
    return store_adjust_valued(
        j->c->store, &j->sctx, &l, j->a.reason,
        j->a.has_value ? j->a.unit_value_cents * (j->a.qty < 0 ? -j->a.qty : j->a.qty) : -1,
        on_exec, j);
}

static int r_inventory_adjust(struct job *j, const struct store_result *r, json_t *f,
                              const char **id, const char **state)
{
    json_object_set_new(f, "sku", json_string(j->a.sku));
    json_object_set_new(f, "location", json_string(j->a.loc));
    json_object_set_new(f, "lot", j->a.lot ? json_string(j->a.lot) : json_null());
    json_object_set_new(f, "qty", json_integer(j->a.qty));
    if (!j->a.needs_approval) {
        json_object_set_new(f, "applied", json_true());
        *id = j->a.sku;
        *state = "adjusted";
        return CMD_CHANGED_STOCK;
    }
    if (!nvals(r, 1))
        return -2;
    json_object_set_new(f, "applied", json_false());
    json_object_set_new(f, "approval", json_string(r->values[0]));
    json_object_set_new(f, "state", json_string("pending"));
    json_object_set_new(f, "why", json_string(j->a.why));
    if (j->c->bus) {
        char alarm[BUS_NAME_MAX];
        json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "text", "adjustment needs approval",
                                 "approval", r->values[0], "requester", j->user, "why", j->a.why,
                                 "sku", j->a.sku, "qty", (json_int_t)j->a.qty);
        snprintf(alarm, sizeof(alarm), "approval-%s", r->values[0]);
        bus_raise_alarm(j->c->bus, alarm, body);
        json_decref(body);
    }
    *id = r->values[0];
    *state = "pending";
    return CMD_CHANGED_APPROVAL;
}

static int x_adjust_approve(struct job *j)
{
    return ops_approval_apply(j->c->store, &j->sctx, j->a.id, j->user, on_exec, j);
}

static int r_adjust_approve(struct job *j, const struct store_result *r, json_t *f, const char **id,
                            const char **state)
{
    if (!nvals(r, 6))
        return -2;
    json_object_set_new(f, "approval", json_string(j->a.id));
    json_object_set_new(f, "applied", json_true());
    json_object_set_new(f, "sku", json_string(r->values[0]));
    json_object_set_new(f, "location", json_string(r->values[1]));
    json_object_set_new(f, "lot", r->values[2][0] ? json_string(r->values[2]) : json_null());
    json_object_set_new(f, "qty", json_integer(atoll(r->values[3])));
    json_object_set_new(f, "on_hand", json_integer(atoll(r->values[4])));
    json_object_set_new(f, "requester", json_string(r->values[5]));
    if (j->c->bus) {
        char alarm[BUS_NAME_MAX];
        snprintf(alarm, sizeof(alarm), "approval-%s", j->a.id);
        bus_clear_alarm(j->c->bus, alarm); /* -ENOENT when another process raised it */
    }
    *id = j->a.id;
    *state = "approved";
    return CMD_CHANGED_APPROVAL;
}

static int x_rma_authorize(struct job *j)
{
    return ops_rma_authorize(j->c->store, &j->sctx, j->a.id, j->a.order, j->a.lines_json,
                             j->a.credit, on_exec, j);
}

static int r_rma_authorize(struct job *j, const struct store_result *r, json_t *f, const char **id,
                           const char **state)
{
    if (!nvals(r, 1))
        return -2;
    json_object_set_new(f, "rma", json_string(j->a.id));
    json_object_set_new(f, "order", json_string(j->a.order));
    json_object_set_new(f, "state", json_string("authorized"));
    json_object_set_new(f, "units", json_integer(atoll(r->values[0])));
    json_object_set_new(f, "credit", json_boolean(j->a.credit));
    *id = j->a.id;
    *state = "authorized";
    return CMD_CHANGED_RMA;
}

static int x_device(struct job *j)
{
    return ops_device_set(j->c->store, &j->sctx, j->a.id, strcmp(j->command, "device.enable") == 0,
                          j->a.reason, on_exec, j);
}

static int r_device(struct job *j, const struct store_result *r, json_t *f, const char **id,
                    const char **state)
{
    if (!nvals(r, 1))
        return -2;
    json_object_set_new(f, "device", json_string(j->a.id));
    json_object_set_new(f, "state", json_string(r->values[0]));
    *id = j->a.id;
    *state = r->values[0];
    return CMD_CHANGED_DEVICE;
}

static int x_count_request(struct job *j)
{
    return ops_count_request(j->c->store, &j->sctx, j->a.loc, j->a.sku, on_exec, j);
}

static int r_count_request(struct job *j, const struct store_result *r, json_t *f, const char **id,
                           const char **state)
{
    if (!nvals(r, 1))
        return -2;
    json_object_set_new(f, "task", json_string(r->values[0]));
    json_object_set_new(f, "location", json_string(j->a.loc));
    json_object_set_new(f, "sku", j->a.sku ? json_string(j->a.sku) : json_null());
    if (j->c->bus) {
        json_t *ev =
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "event", "requested", "task", r->values[0],
                      "location", j->a.loc, "sku", j->a.sku ? j->a.sku : "", "by", j->user);
        if (ev)
            (void)bus_publish_event(j->c->bus, "count", ev);
        json_decref(ev);
    }
    *id = r->values[0];
    *state = "open";
    return CMD_CHANGED_COUNT;
}
/* ---- replenishment ---- */

static int x_replen_claim(struct job *j)
{
    return ops_replen_claim(j->c->store, &j->sctx, j->a.id, j->user, on_exec, j);
}

static int r_replen_claim(struct job *j, const struct store_result *r, json_t *f, const char **id,
                          const char **state)
{
    char gtin[15];
    if (!nvals(r, 9))
        return -2;
    pick_first_gtin(j->c->site, r->values[1], gtin);
    json_object_set_new(f, "task", json_string(r->values[0]));
    json_object_set_new(f, "sku", json_string(r->values[1]));
    json_object_set_new(f, "gtin", gtin[0] ? json_string(gtin) : json_null());
    json_object_set_new(f, "lot", json_string(r->values[2]));
    json_object_set_new(f, "expiry", json_string(r->values[3]));
    json_object_set_new(f, "from", json_string(r->values[4]));
    json_object_set_new(f, "to", json_string(r->values[5]));
    json_object_set_new(f, "qty", json_integer(atoll(r->values[6])));
    json_object_set_new(f, "moved", json_integer(atoll(r->values[7])));
    if (j->c->bus) {
        json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s}", "task", r->values[0], "kind", "replenish",
                              "state", "open", "assignee", j->user, "to", r->values[5]);
        if (e)
            (void)bus_publish_event(j->c->bus, "task", e);
        json_decref(e);
    }
    *id = r->values[0];
    *state = "open";
    return -1;
}

static int x_replen_confirm(struct job *j)
{
    struct scan_data sc = {0};
    char err[CMD_ERR_MAX], why[CMD_ERR_MAX - 16]; /* room for the field prefix */
    const struct cfg_product *p;
    if (scan_parse_item(j->a.scan, strlen(j->a.scan), current_year(j->c), &sc, why, sizeof(why)) !=
        0) {
        snprintf(err, sizeof(err), "field \"scan\": %s",
                 strncmp(why, "scan: ", 6) == 0 ? why + 6 : why);
        refuse(j, err);
        return 0;
    }
    p = pick_gtin_product(j->c->site, sc.gtin);
    struct ops_replen_scan rs = {.task = j->a.id,
                                 .user = j->user,
                                 .from_scanned = j->a.loc,
                                 .to_scanned = j->a.to,
                                 .gtin = sc.gtin,
                                 .gtin_sku = p ? p->sku : "",
                                 .lot = sc.lot[0] && !sc.serial ? sc.lot : NULL,
                                 .expiry = sc.expiry[0] ? sc.expiry : NULL,
                                 .qty = j->a.qty};
    return replen_confirm_start(j->c, &j->sctx, &rs, on_exec, j);
}

static int r_replen_confirm(struct job *j, const struct store_result *r, json_t *f, const char **id,
                            const char **state)
{
    if (!nvals(r, 6))
        return -2;
    json_object_set_new(f, "task", json_string(j->a.id));
    json_object_set_new(f, "moved", json_integer(atoll(r->values[0])));
    json_object_set_new(f, "remaining", json_integer(atoll(r->values[1])));
    json_object_set_new(f, "state", json_string(r->values[2]));
    json_object_set_new(f, "to", json_string(r->values[3]));
    json_object_set_new(f, "sku", json_string(r->values[4]));
    json_object_set_new(f, "from", json_string(r->values[5]));
    if (j->c->bus) {
        json_t *e =
            json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s}", "task", j->a.id, "kind", "replenish",
                      "state", r->values[2], "moved", (json_int_t)atoll(r->values[0]), "remaining",
                      (json_int_t)atoll(r->values[1]), "from", r->values[5], "to", r->values[3],
                      "by", j->user);
        if (e)
            (void)bus_publish_event(j->c->bus, "task", e);
        json_decref(e);
    }
    *id = r->values[4];
    *state = r->values[2];
    return CMD_CHANGED_STOCK;
}

/* count.submit and transfer.* read before they run (count.c, transfer.c); they answer here. */
static void on_flow(void *arg, json_t *fields, const char *error, bool store_error, const char *id,
                    const char *state)
{
    struct job *j = arg;
    struct cmd_ctx *c = j->c;
    char id_copy[STORE_ID_MAX], state_copy[32];
    bool transfer = strncmp(j->command, "transfer.", 9) == 0;
    if (!fields) {
        finish(j, NULL, error, store_error);
        job_free(j);
        return;
    }
    snprintf(id_copy, sizeof(id_copy), "%s", id ? id : "");
    snprintf(state_copy, sizeof(state_copy), "%s", state ? state : "");
    finish(j, fields, NULL, false);
    if (c->on_change && id_copy[0])
        c->on_change(c->change_arg, transfer ? CMD_CHANGED_TRANSFER : CMD_CHANGED_COUNT, id_copy,
                     state_copy);
    job_free(j);
}

static int x_count_submit(struct job *j)
{
    return count_submit_start(j->c, &j->sctx, &j->a, j->user, on_flow, j);
}

static int x_transfer(struct job *j)
{
    return transfer_start(j->c, &j->sctx, j->command, &j->a, on_flow, j);
}

/* pack.reset runs in the daemon's memory (the session lives there) and answers at once. */
static int x_pack_reset(struct job *j)
{
    struct store_result r = {0};
    char why[256] = "", msg[300];
    int rc = j->c->station_reset ? j->c->station_reset(j->c->station_arg, j->a.id, j->a.order,
                                                       j->user, j->cause, why, sizeof(why))
                                 : WCS_E_STATE;
    if (!j->c->station_reset)
        snprintf(why, sizeof(why), "pack stations are not run here");
    r.rc = rc == 0 ? 0 : rc == WCS_E_UNKNOWN ? WCS_E_UNKNOWN : WCS_E_STATE;
    snprintf(msg, sizeof(msg), "%s %s", rc == WCS_E_UNKNOWN ? "EUNKNOWN" : "ESTATE", why);
    r.message = rc == 0 ? NULL : msg;
    on_exec(j, &r);
    return 0;
}

static int r_pack_reset(struct job *j, const struct store_result *r, json_t *f, const char **id,
                        const char **state)
{
    (void)r;
    json_object_set_new(f, "station", json_string(j->a.id));
    json_object_set_new(f, "state", json_string("IDLE"));
    *id = j->a.id;
    *state = "IDLE";
    return CMD_CHANGED_STATION;
}

/* Receiving and returns run as flows of reads and one script (inbound.c), which build the
 * reply fields themselves. */
static int x_inbound(struct job *j)
{
    return inbound_start(j->c, &j->sctx, j->command, &j->a, on_exec, j);
}

static int r_inbound(struct job *j, const struct store_result *r, json_t *f, const char **id,
                     const char **state)
{
    json_t *v;
    (void)j;
    if (!nvals(r, 4) || !(v = json_loads(r->values[0], 0, NULL)))
        return -2;
    json_object_update(f, v);
    json_decref(v);
    *id = r->values[1];
    *state = r->values[2];
    return atoi(r->values[3]);
}

/* The command table: validators are in validate.c under the same names; the role each needs is
 * the user's roles' `commands` lists (plus approve: true where cmd_need_of says so). */
static const struct entry entries[] = {
    {"order.upsert", x_order_upsert, r_order_upsert, true},
    {"order.cancel", x_order_action, r_order_action, true},
    {"order.hold", x_order_action, r_order_action, true},
    {"order.release", x_order_action, r_order_action, true},
    {"wave.plan", x_wave_plan, NULL, false},
    {"wave.release", x_wave_action, r_wave_action, false},
    {"wave.cancel", x_wave_action, r_wave_action, false},
    {"label.reprint", x_label_reprint, r_label_reprint, true},
    {"alarm.ack", x_alarm_ack, r_alarm_ack, true},
    {"inventory.adjust", x_inventory_adjust, r_inventory_adjust, false},
    {"adjust.approve", x_adjust_approve, r_adjust_approve, false},
    {"rma.authorize", x_rma_authorize, r_rma_authorize, false},
    {"pack.reset", x_pack_reset, r_pack_reset, false},
    {"device.enable", x_device, r_device, true},
    {"device.disable", x_device, r_device, true},
    {"count.request", x_count_request, r_count_request, true},
    {"batch.claim", x_batch_claim, r_batch_claim, true},
    {"pick.confirm", x_pick, r_pick_confirm, true},
    {"receipt.expect", x_inbound, r_inbound, false},
    {"receipt.scan", x_inbound, r_inbound, false},
    {"receipt.close", x_inbound, r_inbound, false},
    {"quality.release", x_inbound, r_inbound, false},
    {"putaway.confirm", x_inbound, r_inbound, false},
    {"return.receive", x_inbound, r_inbound, false},
    {"return.inspect", x_inbound, r_inbound, false},
    {"pick.short", x_pick, r_pick_short, false},
    {"count.submit", x_count_submit, NULL, false},
    {"transfer.create", x_transfer, NULL, false},
    {"transfer.ship", x_transfer, NULL, false},
    {"transfer.receive", x_transfer, NULL, false},
    {"replen.claim", x_replen_claim, r_replen_claim, true},
    {"replen.confirm", x_replen_confirm, r_replen_confirm, false},
    {NULL, NULL, NULL, false},
};

/* ---- the path of one command ---- */

/* The roles and fields check of a job (its arguments filled on success). */
static bool admitted(struct job *j, char *err, size_t cap)
{
    struct cmd_ctx *c = j->c;
    /* A system-issued command has no role to check: wcs itself decided to run it. */
    return (j->local || cmd_authorize(c->site, j->user, j->command, cmd_need_of(j->command, NULL),
                                      err, cap) == 0) &&
           cmd_validate(j->command, j->body, c->site, &j->a, err, cap) == 0 &&
           (j->local || cmd_authorize(c->site, j->user, j->command, cmd_need_of(j->command, &j->a),
                                      err, cap) == 0);
}

/* Answers a repeated request_id from what its first claim stored (the job stays). */
static void replay(struct job *j, const char *stored)
{
    bool running = !stored[0] || stored[0] == '~'; /* a claim's token: no reply yet */
    json_t *v = running ? NULL : json_loads(stored, 0, NULL);
    json_t *ok = v ? json_object_get(v, "ok") : NULL;
    char e[CMD_ERR_MAX];
    j->c->stats.replayed++;
    if (running) {
        snprintf(e, sizeof(e), "request_id \"%s\" is still being processed", j->request_id);
        answer_err(j, e, CMD_LOCAL_REPLAYED);
    } else if (!json_is_boolean(ok)) {
        answer_err(j, "stored reply of this request_id is unreadable", CMD_LOCAL_REPLAYED);
    } else if (json_is_true(ok)) {
        json_object_del(v, "ok");
        answer_ok(j, v, CMD_LOCAL_REPLAYED);
    } else {
        json_t *er = json_object_get(v, "error");
        answer_err(j, json_is_string(er) ? json_string_value(er) : "refused", CMD_LOCAL_REPLAYED);
    }
    json_decref(v);
}

/* The claim's answer for a job that started with it: the outcome held meanwhile, if any, is
 * finished now; otherwise the job's store calls are still on their way and end it. */
static void on_claim_with(struct job *j, const struct store_result *r)
{
    if (r->rc == WCS_E_DUPLICATE) {
        j->claim = CLAIM_DUP;
        replay(j, r->value ? r->value : "");
    } else if (r->rc != 0) {
        j->claim = CLAIM_FAILED;
        snprintf(j->claim_error, sizeof(j->claim_error), "%s",
                 r->message ? r->message : wcs_strerror(r->rc));
    } else {
        j->claim = CLAIM_OWN;
    }
    if (j->held) {
        json_t *fields = j->h_fields;
        j->h_fields = NULL;
        j->held = false;
        complete(j, fields, j->h_error[0] ? j->h_error : NULL, j->h_store_error, j->h_what,
                 j->h_id[0] ? j->h_id : NULL, j->h_state);
    }
}

static void on_claim(void *arg, const struct store_result *r)
{
    struct job *j = arg;
    char err[CMD_ERR_MAX];
    int rc;
    if (j->with_claim) {
        on_claim_with(j, r);
        return;
    }
    if (r->rc == WCS_E_DUPLICATE) {
        replay(j, r->value ? r->value : "");
        job_free(j);
        return;
    }
    if (r->rc != 0) {
        claim_unavailable(j, r->message ? r->message : wcs_strerror(r->rc), true);
        job_free(j);
        return;
    }
    if (!j->e) {
        snprintf(err, sizeof(err), "unknown command \"%s\"", j->command);
        refuse(j, err);
        return;
    }
    if (!admitted(j, err, sizeof(err))) {
        refuse(j, err);
        return;
    }
    rc = j->e->exec(j);
    if (rc != 0)
        store_failed(j, rc, NULL);
}

/* Claims the request_id of a filled job. A command whose entry allows it and that passes its
 * checks starts at once, in the same round trip as the claim, its scripts guarded by the
 * claim's token; any other runs from the claim's answer (on_claim). */
static int job_start(struct job *j)
{
    struct cmd_ctx *c = j->c;
    char err[CMD_ERR_MAX];
    int rc;
    command_request_key(j->request_id, j->key);
    for (const struct entry *e = entries; e->name && !j->e; e++)
        if (strcmp(e->name, j->command) == 0)
            j->e = e;
    j->sctx.actor = j->user;
    j->sctx.cause = j->cause;
    j->sctx.ts_ms = c->clock ? clock_wall_ms(c->clock) : 0;
    if (!c->claim_prefix[0]) {
        /* Random per process: a token of another wcs, or of this one before a restart, never
         * matches (a guard accepting a stranger's claim would run a repeat). */
        uint64_t r = 0;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r = clock_real_mono_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
        snprintf(c->claim_prefix, sizeof(c->claim_prefix), "%016" PRIx64, r);
    }
    snprintf(j->token, sizeof(j->token), "~%s.%" PRIu64, c->claim_prefix, ++c->claims);
    rc = store_request_claim(c->store, j->user, j->key, j->token, ttl(c), on_claim, j);
    if (rc != 0) {
        claim_unavailable(j, wcs_strerror(rc), false);
        job_free(j);
        return 0;
    }
    if (!j->e || !j->e->with_claim || !admitted(j, err, sizeof(err))) {
        /* Checked again, with the arguments filled again, when the claim answers. */
        cmd_args_fini(&j->a);
        memset(&j->a, 0, sizeof(j->a));
        return 0;
    }
    j->with_claim = true;
    j->claim = CLAIM_WAIT;
    j->guard = (struct store_claim){j->user, j->key, j->token};
    j->sctx.claim = &j->guard;
    rc = j->e->exec(j);
    if (rc != 0)
        store_failed(j, rc, NULL);
    return 0;
}

int command_handle(struct cmd_ctx *c, struct bus_cmd *cmd)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j) {
        bus_reply_err(cmd, "out of memory");
        return -ENOMEM;
    }
    j->c = c;
    j->cmd = cmd;
    j->body = json_incref(cmd->body);
    snprintf(j->user, sizeof(j->user), "%s", cmd->user);
    snprintf(j->command, sizeof(j->command), "%s", cmd->command);
    snprintf(j->request_id, sizeof(j->request_id), "%s", cmd->request_id);
    snprintf(j->cause, sizeof(j->cause), "%s %s", cmd->command, cmd->request_id);
    return job_start(j);
}

int command_run_local(struct cmd_ctx *c, const struct cmd_local *l, cmd_local_fn done, void *arg)
{
    struct job *j;
    if (!l->user || store_id_check(l->user) != 0 || !l->command || !l->request_id ||
        !l->request_id[0] || strlen(l->request_id) > BUS_REQUEST_ID_MAX || !l->cause ||
        !json_is_object(l->body) || !done)
        return -EINVAL;
    if (!(j = calloc(1, sizeof(*j))))
        return -ENOMEM;
    j->c = c;
    j->body = json_incref((json_t *)l->body);
    j->local = done;
    j->local_arg = arg;
    snprintf(j->user, sizeof(j->user), "%s", l->user);
    snprintf(j->command, sizeof(j->command), "%s", l->command);
    snprintf(j->request_id, sizeof(j->request_id), "%s", l->request_id);
    snprintf(j->cause, sizeof(j->cause), "%s", l->cause);
    return job_start(j);
}

void command_fini(struct cmd_ctx *c)
{
    wave_plan_fini(c);
    inbound_fini(c);
    replen_fini(c);
    taskhints_free(c->hints);
    c->hints = NULL;
}
