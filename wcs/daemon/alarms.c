/* The daemon's alarm bookkeeping. The registry: every floor alarm raised or cleared through
 * daemon_alarm is mirrored in wcs:{s}:alarm:<id>, so alarm.ack (a command-layer script) knows
 * it, and an acknowledgement is republished on the retained alarm.
 * Alarms an earlier wcs process left retained on the broker (bus.h, on_foreign_alarm): nobody
 * would ever clear them. Once the daemon has had time to raise its own (READY plus a grace
 * period, or at most FOREIGN_MAX_WAIT_US), each one is settled: a pending adjustment approval
 * (approval-<ADJ-n> whose Redis record is still pending) is adopted, so it is republished and
 * cleared when approved; one the daemon raised again meanwhile is its own; every other is
 * cleared and logged. docs/daemon.md, "Alarms". */
#include "daemon/internal.h"

#include "base/err.h"
#include "base/log.h"
#include "store/hook.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOREIGN_GRACE_US    5000000ull  /* after READY: the daemon's own alarms are raised */
#define FOREIGN_MAX_WAIT_US 60000000ull /* settle even when READY never comes (a PLC is down) */

struct approval_check {
    struct wcsd *d;
    char id[WCSD_ALARM_ID_MAX];
};

static void drop(struct wcsd *d, size_t i)
{
    json_decref(d->foreign[i].body);
    d->foreign[i] = d->foreign[--d->n_foreign];
}

static ssize_t find(const struct wcsd *d, const char *id)
{
    for (size_t i = 0; i < d->n_foreign; i++)
        if (strcmp(d->foreign[i].id, id) == 0)
            return (ssize_t)i;
    return -1;
}

static void clear_stale(struct wcsd *d, const char *id, const char *why)
{
    alarms_registry_write(d, id, false, false, NULL, NULL, 0);
    if (bus_clear_alarm(d->bus, id) == 0)
        log_info("stale alarm cleared id=%s (left by an earlier run: %s)", id, why);
}

static void on_approval_state(void *arg, int rc, const char *msg, const struct store_item *items,
                              size_t n)
{
    struct approval_check *c = arg;
    struct wcsd *d = c->d;
    ssize_t i = find(d, c->id);
    if (i < 0) {
        free(c);
        return;
    }
    d->foreign[i].checking = false;
    if (rc != 0) {
        log_warnx("stale alarm not settled id=%s rc=%s %s (retried)", c->id, wcs_strerror(rc),
                  msg ? msg : "");
        free(c);
        return;
    }
    if (n == 1 && !items[0].nil && strcmp(items[0].str, "pending") == 0 && d->foreign[i].body) {
        if (bus_raise_alarm(d->bus, c->id, d->foreign[i].body) == 0)
            log_info("alarm adopted id=%s (the approval is still pending)", c->id);
    } else {
        clear_stale(d, c->id, "the approval is no longer pending");
    }
    drop(d, (size_t)i);
    free(c);
}

/* Settles one foreign alarm; returns false when it must be tried again later. */
static bool settle(struct wcsd *d, size_t i)
{
    struct foreign_alarm *f = &d->foreign[i];
    if (bus_alarm_raised(d->bus, f->id)) {
        drop(d, i); /* raised again by this run: its own now */
        return true;
    }
    if (strncmp(f->id, "approval-", 9) == 0 && store_id_check(f->id + 9) == 0) {
        char key[256];
        const char *argv[3] = {"HGET", key, "state"};
        struct approval_check *c;
        if (f->checking)
            return true;
        if (store_key(key, sizeof(key), d->site->id, "approval", f->id + 9) < 0)
            return true;
        c = calloc(1, sizeof(*c));
        if (!c)
            return false;
        c->d = d;
        snprintf(c->id, sizeof(c->id), "%s", f->id);
        if (store_raw(d->store, false, 3, argv, on_approval_state, c) != 0) {
            free(c);
            return false; /* Redis not ready: next round */
        }
        f->checking = true;
        return true;
    }
    clear_stale(d, f->id, "not raised by this run");
    drop(d, i);
    return true;
}

static void on_foreign_timer(struct loop *l, uint64_t id, void *arg)
{
    struct wcsd *d = arg;
    uint64_t now = clock_mono_us(d->clock);
    (void)l;
    (void)id;
    d->foreign_timer = 0;
    if (d->stopping)
        return;
    if ((!d->ready || now - d->ready_at_us < FOREIGN_GRACE_US) &&
        now - d->foreign_since_us < FOREIGN_MAX_WAIT_US) {
        (void)loop_add_timer(d->loop, 1000000, on_foreign_timer, d, &d->foreign_timer);
        return;
    }
    for (size_t i = d->n_foreign; i-- > 0;)
        (void)settle(d, i);
    if (d->n_foreign > 0) /* approvals being checked, or Redis down: look again */
        (void)loop_add_timer(d->loop, 1000000, on_foreign_timer, d, &d->foreign_timer);
}

void alarms_on_foreign(void *arg, const char *id, const json_t *body)
{
    struct wcsd *d = arg;
    ssize_t i = find(d, id);
    if (strlen(id) >= WCSD_ALARM_ID_MAX) {
        clear_stale(d, id, "id too long to track");
        return;
    }
    if (i < 0) {
        if (d->n_foreign == d->cap_foreign) {
            size_t cap = d->cap_foreign ? 2 * d->cap_foreign : 16;
            struct foreign_alarm *p = realloc(d->foreign, cap * sizeof(*p));
            if (!p) {
                clear_stale(d, id, "out of memory");
                return;
            }
            d->foreign = p;
            d->cap_foreign = cap;
        }
        i = (ssize_t)d->n_foreign++;
        memset(&d->foreign[i], 0, sizeof(d->foreign[i]));
        snprintf(d->foreign[i].id, sizeof(d->foreign[i].id), "%s", id);
    }
    json_decref(d->foreign[i].body);
    d->foreign[i].body = body ? json_deep_copy(body) : NULL;
    log_info("retained alarm from an earlier run found id=%s (settled once this run has raised "
             "its own)",
             id);
    if (!d->foreign_timer) {
        if (!d->foreign_since_us)
            d->foreign_since_us = clock_mono_us(d->clock);
        (void)loop_add_timer(d->loop, 1000000, on_foreign_timer, d, &d->foreign_timer);
    }
}

void alarms_fini(struct wcsd *d)
{
    if (d->foreign_timer)
        (void)loop_cancel_timer(d->loop, d->foreign_timer);
    d->foreign_timer = 0;
    while (d->n_foreign)
        drop(d, 0);
    free(d->foreign);
    d->foreign = NULL;
    d->cap_foreign = 0;
}

/* ---- the alarm registry in Redis (docs/redis.md wcs:{s}:alarm:<id>) ---- */

/* Alarms whose hash a command-layer script owns (approval_request/approval_apply,
 * count_submit); the daemon writes every other one. */
static bool registry_owned(const char *id)
{
    size_t n = strlen(id);
    if (strncmp(id, "approval-", 9) == 0)
        return false;
    return !(strncmp(id, "count.", 6) == 0 && n > 15 && strcmp(id + n - 9, ".reserved") == 0);
}

void alarms_registry_write(struct wcsd *d, const char *id, bool on, bool fresh,
                           const char *severity, const char *text, int64_t since_ms)
{
    char key[STORE_KEY_MAX], ts[24];
    const char *del[2] = {"DEL", key};
    if (!d->store || !registry_owned(id) ||
        store_key(key, sizeof(key), d->site->id, "alarm", id) < 0)
        return;
    /* Writes are held while Redis is down and replayed in order, so a raise and its clear
     * reach Redis in the order they happened. A fresh raise drops an acknowledgement of an
     * earlier occurrence. */
    if ((!on || fresh) && store_raw(d->store, true, 2, del, NULL, NULL) != 0)
        log_warnx("alarm registry not written id=%s", id);
    if (!on)
        return;
    snprintf(ts, sizeof(ts), "%" PRId64, since_ms);
    const char *set[] = {"HSET",   key,    "state", "active", "severity",
                         severity, "text", text,    "ts",     ts};
    if (store_raw(d->store, true, fresh ? 10 : 8, set, NULL, NULL) != 0)
        log_warnx("alarm registry not written id=%s", id);
}

struct ack_read {
    struct wcsd *d;
    char id[WCSD_ALARM_ID_MAX];
};

static void on_ack_read(void *arg, int rc, const char *msg, const struct store_item *items,
                        size_t n)
{
    struct ack_read *q = arg;
    struct wcsd *d = q->d;
    const json_t *cur;
    json_t *body;
    if (rc != 0 || n < 3 || items[0].nil) {
        log_warnx("alarm acknowledgement not published id=%s rc=%s %s", q->id, wcs_strerror(rc),
                  msg ? msg : "");
        free(q);
        return;
    }
    /* Only an alarm this process still has raised is republished: a cleared one stays cleared. */
    cur = d->bus ? bus_alarm_body(d->bus, q->id) : NULL;
    if (cur && (body = json_deep_copy(cur)) != NULL) {
        json_object_set_new(body, "acked_by", json_string(items[0].str));
        json_object_set_new(body, "acked_ts",
                            json_integer(items[1].nil ? 0 : strtoll(items[1].str, NULL, 10)));
        json_object_set_new(body, "note", json_string(items[2].nil ? "" : items[2].str));
        if (bus_raise_alarm(d->bus, q->id, body) == 0)
            log_info("alarm acknowledged id=%s by=%s", q->id, items[0].str);
        json_decref(body);
    }
    free(q);
}

void alarms_on_ack(struct wcsd *d, const char *id)
{
    char key[STORE_KEY_MAX];
    const char *argv[] = {"HMGET", key, "acked_by", "acked_ts", "note"};
    struct ack_read *q;
    if (!d->store || strlen(id) >= WCSD_ALARM_ID_MAX ||
        store_key(key, sizeof(key), d->site->id, "alarm", id) < 0)
        return;
    if (!(q = calloc(1, sizeof(*q))))
        return;
    q->d = d;
    snprintf(q->id, sizeof(q->id), "%s", id);
    if (store_raw(d->store, false, 5, argv, on_ack_read, q) != 0) {
        log_warnx("alarm acknowledgement not published id=%s: redis not ready", id);
        free(q);
    }
}
