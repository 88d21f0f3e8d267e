/* Automatic wave release (docs/daemon.md, "Automatic wave release"): with waves.auto_release a
 * loop timer on the daemon's clock finds each carrier's next cutoff (plan_site_next_cutoff) and,
 * from pick_pack_ship_min before it until the cutoff, as soon as a confirmed order of that
 * carrier waits, runs wave.plan and then wave.release of every wave it made through the command
 * layer as actor `wcs` (command_run_local). The request_ids are derived from carrier and cutoff,
 * so Redis enforces at most one release per cutoff, across restarts too. */
#include "internal.h"

#include "base/err.h"
#include "base/log.h"
#include "plan/plan.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_MS 60000LL
/* How often a carrier inside its release window is checked for waiting orders, and how long
 * the timer sleeps at most otherwise (reloads kick it at once). Daemon clock. */
#define CHECK_MS 60000LL
#define IDLE_MS  (60 * MIN_MS)
/* A release that could not start because Redis was down is tried again after this. */
#define RETRY_MS 10000LL
/* The planning site is remapped this often (its "today" moves with the clock). */
#define SITE_MAX_AGE_MS (6 * 60 * MIN_MS)

struct autowave {
    struct wcsd *d;
    uint64_t timer;
    bool armed;
    /* the planning site used for the cutoffs, and what it was made from */
    struct plan_site *ps;
    const struct cfg_site *ps_cfg;
    int64_t ps_opened_ms;
    /* per config carrier: the last cutoff handled (epoch minutes), by carrier code */
    char (*codes)[WCSD_ID_MAX];
    int64_t *done_min;
    uint32_t n_carriers;
    /* the release running (one at a time) */
    bool running;
    char carrier[WCSD_ID_MAX];
    int64_t cutoff_min;
    char stamp[16];   /* cutoff as YYYYMMDDHHMM (UTC) */
    char iso[24];     /* cutoff as YYYY-MM-DDTHH:MMZ */
    char rid[96];     /* wave.plan's request_id */
    char cause[112];  /* the journal's cause */
    json_t *waves;    /* ids wave.plan made */
    size_t next_wave; /* the next to release */
    json_t *released; /* ids released */
    json_t *errors;   /* [{wave?, error}] */
    uint64_t orders, tasks;
    bool executed; /* something was executed now (not only replays) */
    struct autowave_stats st;
};

static void arm(struct autowave *a, int64_t delay_ms);

static void fmt_cutoff(struct autowave *a)
{
    time_t t = (time_t)(a->cutoff_min * 60);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(a->stamp, sizeof(a->stamp), "%Y%m%d%H%M", &tm);
    strftime(a->iso, sizeof(a->iso), "%Y-%m-%dT%H:%MZ", &tm);
}

/* The carriers of the running config, keeping what was handled for the codes that stay. */
static int sync_carriers(struct autowave *a, const struct cfg_site *s)
{
    uint32_t n = s->waves.n_carriers;
    char(*codes)[WCSD_ID_MAX] = calloc(n ? n : 1, sizeof(*codes));
    int64_t *done = calloc(n ? n : 1, sizeof(*done));
    if (!codes || !done) {
        free(codes);
        free(done);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        snprintf(codes[i], sizeof(codes[i]), "%s", s->waves.carriers[i].code);
        for (uint32_t k = 0; k < a->n_carriers; k++)
            if (strcmp(a->codes[k], codes[i]) == 0)
                done[i] = a->done_min[k];
    }
    free(a->codes);
    free(a->done_min);
    a->codes = codes;
    a->done_min = done;
    a->n_carriers = n;
    return 0;
}

/* The planning site for the cutoffs, remapped after a reload or when it grew old. */
static int site_for(struct autowave *a, int64_t now_ms)
{
    const struct cfg_site *s = a->d->site;
    char msg[256];
    int rc;
    if (a->ps && a->ps_cfg == s && now_ms - a->ps_opened_ms < SITE_MAX_AGE_MS &&
        now_ms >= a->ps_opened_ms)
        return 0;
    plan_site_close(a->ps);
    a->ps = NULL;
    if (a->ps_cfg != s && (rc = sync_carriers(a, s)) < 0)
        return rc;
    a->ps_cfg = s;
    rc = plan_site_open(&a->ps, s, now_ms / 1000, msg, sizeof(msg));
    if (rc < 0) {
        log_warnx("auto-release: cannot map the site for cutoffs rc=%s detail=\"%s\"",
                  wcs_strerror(rc), rc == WCS_E_RANGE ? msg : "");
        return rc;
    }
    a->ps_opened_ms = now_ms;
    return 0;
}

/* True when a confirmed order of carrier waits in the in-memory model. */
static bool order_waits(const struct wcsd *d, const char *carrier)
{
    for (size_t i = 0; i < d->orders.cap; i++) {
        const struct wcsd_order *o = d->orders.slots ? d->orders.slots[i] : NULL;
        if (o && o->state == WCSD_ORDER_CONFIRMED && strcmp(o->carrier, carrier) == 0)
            return true;
    }
    return false;
}

static void alarm_id(const char *carrier, char *out, size_t cap)
{
    snprintf(out, cap, "wave.auto.%s", carrier);
}

/* The release of the running cutoff is over: log, evt/wave, alarm, and look again. */
static void run_end(struct autowave *a)
{
    struct wcsd *d = a->d;
    size_t n_err = json_array_size(a->errors), n_rel = json_array_size(a->released);
    char alarm[WCSD_ID_MAX + 16], waves[512] = "";
    size_t i, off = 0;
    json_t *v;
    json_array_foreach(a->released, i, v)
    {
        int w =
            snprintf(waves + off, sizeof(waves) - off, "%s%s", i ? "," : "", json_string_value(v));
        if (w < 0 || (size_t)w >= sizeof(waves) - off)
            break;
        off += (size_t)w;
    }
    for (uint32_t k = 0; k < a->n_carriers; k++)
        if (strcmp(a->codes[k], a->carrier) == 0 && a->done_min[k] < a->cutoff_min)
            a->done_min[k] = a->cutoff_min;
    alarm_id(a->carrier, alarm, sizeof(alarm));
    if (!a->executed) {
        /* Every step was answered from Redis: an earlier run (before a restart) did it. */
        a->st.replayed++;
        const char *e = json_string_value(json_object_get(json_array_get(a->errors, 0), "error"));
        log_info("auto-release already done carrier=%s cutoff=%s waves=%s outcome=\"%s\"",
                 a->carrier, a->iso, waves[0] ? waves : "-", e ? e : "ok");
    } else {
        const char *first =
            n_err ? json_string_value(json_object_get(json_array_get(a->errors, 0), "error"))
                  : NULL;
        json_t *ev = json_pack("{s:s,s:s,s:s,s:I,s:O,s:I,s:I,s:O,s:b}", "event", "auto_release",
                               "carrier", a->carrier, "cutoff", a->iso, "cutoff_ms",
                               (json_int_t)(a->cutoff_min * MIN_MS), "waves", a->released, "orders",
                               (json_int_t)a->orders, "tasks", (json_int_t)a->tasks, "errors",
                               a->errors, "ok", n_err == 0 && n_rel > 0);
        if (n_rel > 0) {
            a->st.released++;
            a->st.waves += n_rel;
        }
        if (n_err) {
            char text[640]; /* carrier (64) + cutoff + 200 of the error + the advice */
            a->st.failed++;
            log_warnx("auto-release failed carrier=%s cutoff=%s released=%s error=\"%s\"",
                      a->carrier, a->iso, waves[0] ? waves : "-", first ? first : "");
            snprintf(text, sizeof(text),
                     "Automatic wave release for carrier %s (cutoff %s) failed: %.200s -- plan and "
                     "release its orders by hand (wave.plan, wave.release)",
                     a->carrier, a->iso, first ? first : "");
            daemon_alarm(d, alarm, true, "warning", text);
        } else {
            log_info("auto-release carrier=%s cutoff=%s waves=%s orders=%" PRIu64 " tasks=%" PRIu64,
                     a->carrier, a->iso, waves, a->orders, a->tasks);
            daemon_alarm(d, alarm, false, NULL, NULL);
        }
        if (ev && d->bus)
            (void)bus_publish_event(d->bus, "wave", ev);
        json_decref(ev);
    }
    json_decref(a->waves);
    json_decref(a->released);
    json_decref(a->errors);
    a->waves = a->released = a->errors = NULL;
    a->running = false;
    arm(a, 0);
}

static void add_error(struct autowave *a, const char *wave, const char *error)
{
    json_t *e = wave ? json_pack("{s:s,s:s}", "wave", wave, "error", error)
                     : json_pack("{s:s}", "error", error);
    if (e)
        json_array_append_new(a->errors, e);
}

static void release_next(struct autowave *a);

static void on_released(void *arg, const json_t *fields, const char *error, unsigned flags)
{
    struct autowave *a = arg;
    const char *wave = json_string_value(json_array_get(a->waves, a->next_wave));
    size_t i;
    json_t *v;
    if (!(flags & CMD_LOCAL_REPLAYED))
        a->executed = true;
    if (!fields) {
        add_error(a, wave, error);
    } else {
        json_array_append_new(a->released, json_string(wave ? wave : ""));
        a->orders += json_array_size(json_object_get(fields, "orders"));
        a->tasks += (uint64_t)json_integer_value(json_object_get(fields, "tasks"));
        /* The released orders changed state in Redis: the model follows. */
        json_array_foreach(json_object_get(fields, "orders"), i, v) if (json_is_string(v))
            model_refresh_order(a->d, json_string_value(v));
    }
    a->next_wave++;
    release_next(a);
}

/* Releases the planned waves one after the other (request_ids <plan's>-1, -2, ...). */
static void release_next(struct autowave *a)
{
    while (a->next_wave < json_array_size(a->waves)) {
        const char *wave = json_string_value(json_array_get(a->waves, a->next_wave));
        char rid[112];
        json_t *body = json_pack("{s:s}", "wave", wave ? wave : "");
        struct cmd_local l = {.user = "wcs",
                              .command = "wave.release",
                              .request_id = rid,
                              .cause = a->cause,
                              .body = body};
        int rc;
        snprintf(rid, sizeof(rid), "%s-%zu", a->rid, a->next_wave + 1);
        rc = body ? command_run_local(&a->d->cmds, &l, on_released, a) : -ENOMEM;
        json_decref(body);
        if (rc == 0)
            return; /* on_released continues */
        a->executed = true;
        add_error(a, wave, wcs_strerror(rc));
        a->next_wave++;
    }
    run_end(a);
}

static void on_planned(void *arg, const json_t *fields, const char *error, unsigned flags)
{
    struct autowave *a = arg;
    size_t i;
    json_t *v;
    if ((flags & CMD_LOCAL_STORE_ERROR) && !(flags & CMD_LOCAL_REPLAYED)) {
        /* Not executed (Redis down at the claim) or ended by Redis; the retry replays a stored
         * answer if there is one, so this never runs twice. */
        log_warnx("auto-release postponed carrier=%s cutoff=%s error=\"%s\"", a->carrier, a->iso,
                  error ? error : "");
        a->running = false;
        json_decref(a->waves);
        json_decref(a->released);
        json_decref(a->errors);
        a->waves = a->released = a->errors = NULL;
        arm(a, RETRY_MS);
        return;
    }
    if (!(flags & CMD_LOCAL_REPLAYED))
        a->executed = true;
    if (!fields) {
        add_error(a, NULL, error ? error : "refused");
        run_end(a);
        return;
    }
    json_array_foreach(json_object_get(fields, "waves"), i, v)
    {
        const char *w = json_string_value(json_object_get(v, "wave"));
        if (w)
            json_array_append_new(a->waves, json_string(w));
    }
    a->next_wave = 0;
    release_next(a);
}

/* Starts the release of carrier k for cutoff_min. Returns 0 (running), or an error. */
static int run_start(struct autowave *a, uint32_t k, int64_t cutoff_min)
{
    char wave[96]; /* too long for a wave id: wave.plan refuses it */
    json_t *body;
    int rc;
    snprintf(a->carrier, sizeof(a->carrier), "%s", a->codes[k]);
    a->cutoff_min = cutoff_min;
    fmt_cutoff(a);
    snprintf(a->rid, sizeof(a->rid), "auto-%s-%s", a->carrier, a->stamp);
    snprintf(a->cause, sizeof(a->cause), "auto-release %s %s", a->carrier, a->iso);
    snprintf(wave, sizeof(wave), "AUTO-%s-%s", a->carrier, a->stamp);
    a->waves = json_array();
    a->released = json_array();
    a->errors = json_array();
    a->orders = a->tasks = 0;
    a->executed = false;
    a->running = true;
    a->st.started++;
    body = json_pack("{s:s,s:s}", "wave", wave, "carrier", a->carrier);
    if (!a->waves || !a->released || !a->errors || !body) {
        rc = -ENOMEM;
    } else {
        struct cmd_local l = {.user = "wcs",
                              .command = "wave.plan",
                              .request_id = a->rid,
                              .cause = a->cause,
                              .body = body};
        rc = command_run_local(&a->d->cmds, &l, on_planned, a);
    }
    json_decref(body);
    if (rc != 0) {
        /* Nothing was claimed: a bad id (a carrier code too long for a request_id) or memory. */
        a->executed = true;
        if (a->errors)
            add_error(a, NULL,
                      rc == -EINVAL ? "carrier code too long for a request_id" : wcs_strerror(rc));
        run_end(a);
    }
    return 0;
}

/* Looks at every carrier: starts the first release due, and arms the timer for the next
 * moment something may become due. */
static void check(struct autowave *a)
{
    struct wcsd *d = a->d;
    const struct cfg_site *s = d->site;
    int64_t now_ms, now_min, wake_ms, ppsm_ms;
    if (a->running || d->stopping || !s || !s->waves.auto_release || s->waves.n_carriers == 0)
        return; /* a reload or the running release's end looks again */
    now_ms = clock_wall_ms(d->clock);
    if (!d->store_up || !d->state_loaded) {
        arm(a, RETRY_MS); /* the model (waiting orders) and Redis are needed */
        return;
    }
    if (site_for(a, now_ms) < 0) {
        arm(a, IDLE_MS);
        return;
    }
    now_min = now_ms / MIN_MS;
    ppsm_ms = (int64_t)s->waves.pick_pack_ship_min * MIN_MS;
    wake_ms = now_ms + IDLE_MS;
    a->st.checks++;
    for (uint32_t k = 0; k < a->n_carriers; k++) {
        int64_t after = a->done_min[k] > now_min ? a->done_min[k] : now_min, cutoff;
        int rc = plan_site_next_cutoff(a->ps, k, after, &cutoff);
        if (rc < 0)
            continue; /* no cutoff within the week */
        if (now_ms < cutoff * MIN_MS - ppsm_ms) {
            if (cutoff * MIN_MS - ppsm_ms < wake_ms)
                wake_ms = cutoff * MIN_MS - ppsm_ms;
            continue;
        }
        /* Inside the release window [cutoff - pick_pack_ship_min, cutoff). */
        if (order_waits(d, a->codes[k])) {
            (void)run_start(a, k, cutoff);
            return;
        }
        if (now_ms + CHECK_MS < wake_ms)
            wake_ms = now_ms + CHECK_MS;
        if (cutoff * MIN_MS < wake_ms)
            wake_ms = cutoff * MIN_MS;
    }
    arm(a, wake_ms - now_ms);
}

static void on_timer(struct loop *l, uint64_t id, void *arg)
{
    struct autowave *a = arg;
    (void)l;
    (void)id;
    a->armed = false;
    check(a);
}

static void arm(struct autowave *a, int64_t delay_ms)
{
    if (a->armed) {
        (void)loop_cancel_timer(a->d->loop, a->timer);
        a->armed = false;
    }
    if (delay_ms < 0)
        delay_ms = 0;
    a->armed = loop_add_timer(a->d->loop, (uint64_t)delay_ms * 1000, on_timer, a, &a->timer) == 0;
    if (!a->armed)
        log_warnx("auto-release: cannot arm its timer");
}

int autowave_open(struct wcsd *d)
{
    struct autowave *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->d = d;
    d->autowave = a;
    arm(a, 0);
    return 0;
}

void autowave_kick(struct wcsd *d)
{
    struct autowave *a = d ? d->autowave : NULL;
    if (a && !a->running)
        arm(a, 0);
}

void autowave_get_stats(const struct wcsd *d, struct autowave_stats *out)
{
    *out = d->autowave ? d->autowave->st : (struct autowave_stats){0};
}

void autowave_close(struct wcsd *d)
{
    struct autowave *a = d ? d->autowave : NULL;
    if (!a)
        return;
    if (a->armed)
        (void)loop_cancel_timer(d->loop, a->timer);
    plan_site_close(a->ps);
    json_decref(a->waves);
    json_decref(a->released);
    json_decref(a->errors);
    free(a->codes);
    free(a->done_min);
    free(a);
    d->autowave = NULL;
}
