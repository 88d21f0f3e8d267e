/* The control daemon's life cycle (docs/daemon.md): config, loop, signals through a signalfd,
 * the store, bus and PLC links, readiness and the systemd watchdog, SIGHUP reload that adds and
 * removes PLCs without touching unchanged ones, the SIGTERM drain, alarms and the periodic KPIs. */
#include "internal.h"

#include "base/err.h"
#include "base/log.h"
#include "daemon/counting.h"
#include "store/ops.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define SWEEP_US 500000ull
/* Under --clock-speed: the sweep at most every 20 ms and the KPI snapshot at most 4 times a
 * second of real time (period_us). */
#define SWEEP_MIN_REAL_US 20000ull
#define KPI_MIN_REAL_US   250000ull
/* Under --clock-speed: a retained state topic set again within 50 ms of real time of its last
 * send is held, its latest value sent later (bus_opts.state_min_interval_us). */
#define STATE_MIN_REAL_US 50000ull
#define DRAIN_POLL_US     10000ull
/* The cycle-count scheduler's first pass and period (daemon clock; counting.c). */
#define COUNTING_FIRST_MS  5000u
#define COUNTING_PERIOD_MS 600000u

/* ---- small helpers ---- */

/* The sd_notify protocol, sent without ever blocking: libsystemd's sd_notify uses a blocking
 * sendmsg, which would stall the loop if the receiver stopped reading. A message that does not
 * fit is dropped and counted. */
static void notify(struct wcsd *d, const char *text)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path;
    size_t n;
    if (!d->o.sd_notify || !(path = getenv("NOTIFY_SOCKET")) || !path[0])
        return;
    n = strlen(path);
    if (n >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
        return;
    memcpy(sa.sun_path, path, n);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    if (d->nfd < 0)
        d->nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (d->nfd < 0 ||
        sendto(d->nfd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0) {
        if (d->notify_dropped++ == 0)
            log_warn("sd_notify message dropped text=%s", text);
    }
}

void daemon_alarm(struct wcsd *d, const char *id, bool on, const char *severity, const char *text)
{
    const json_t *cur;
    json_t *body;
    int64_t since = (int64_t)clock_wall_ms(d->clock);
    const char *keep[] = {"acked_by", "acked_ts", "note"};
    if (!on) {
        alarms_registry_write(d, id, false, false, NULL, NULL, 0);
        if (d->bus && bus_clear_alarm(d->bus, id) == 0)
            log_info("alarm cleared id=%s", id);
        return;
    }
    severity = severity ? severity : "warning";
    text = text ? text : "";
    /* Raised again while active (a new text): it keeps its start and its acknowledgement. */
    cur = d->bus ? bus_alarm_body(d->bus, id) : NULL;
    if (cur && json_integer_value(json_object_get(cur, "since")) > 0)
        since = (int64_t)json_integer_value(json_object_get(cur, "since"));
    alarms_registry_write(d, id, true, cur == NULL, severity, text, since);
    if (!d->bus)
        return;
    body = json_pack("{s:s,s:s,s:s,s:I}", "id", id, "severity", severity, "text", text, "since",
                     (json_int_t)since);
    for (size_t i = 0; body && cur && i < sizeof(keep) / sizeof(*keep); i++)
        if (json_object_get(cur, keep[i]))
            json_object_set(body, keep[i], json_object_get(cur, keep[i]));
    if (body && bus_raise_alarm(d->bus, id, body) == 0 && !cur)
        log_warnx("alarm raised id=%s text=\"%s\"", id, text);
    json_decref(body);
}

static bool plcs_healthy(const struct wcsd *d, size_t *up_out)
{
    size_t up = 0;
    for (size_t i = 0; i < d->n_plcs; i++)
        if (d->plcs[i]->link == CONV_LINK_UP)
            up++;
    if (up_out)
        *up_out = up;
    return up == d->n_plcs;
}

void daemon_update_status(struct wcsd *d)
{
    char line[256];
    size_t up = 0;
    (void)plcs_healthy(d, &up);
    snprintf(line, sizeof(line), "STATUS=%s: plc %zu/%zu up, redis %s, mqtt %s",
             d->stopping ? "stopping"
             : d->ready  ? "sorting"
                         : "starting",
             up, d->n_plcs, d->store_up ? "up" : "down", d->bus_up ? "up" : "down");
    if (strcmp(line, d->status_line) == 0)
        return;
    snprintf(d->status_line, sizeof(d->status_line), "%s", line);
    notify(d, line);
}

void daemon_check_ready(struct wcsd *d)
{
    if (d->ready || d->stopping || !d->state_loaded)
        return;
    for (size_t i = 0; i < d->n_plcs; i++)
        if (!d->plcs[i]->good_cycle)
            return;
    d->ready = true;
    d->ready_at_us = clock_mono_us(d->clock);
    log_info("ready plcs=%zu points=%zu lanes=%u totes=%zu orders=%zu", d->n_plcs, d->n_points,
             d->site->n_lanes, d->totes.n, d->orders.n);
    notify(d, "READY=1");
    daemon_update_status(d);
}

/* ---- runtime built from a config (also used by reload) ---- */

static int build_lanes(struct wcsd *d, const struct cfg_site *site, struct lanert **lanes_out,
                       bool **en_out, bool **full_out)
{
    struct lanert *lanes = calloc(site->n_lanes ? site->n_lanes : 1, sizeof(*lanes));
    bool *en = calloc(site->n_lanes ? site->n_lanes : 1, sizeof(*en));
    bool *full = calloc(site->n_lanes ? site->n_lanes : 1, sizeof(*full));
    if (!lanes || !en || !full) {
        free(lanes);
        free(en);
        free(full);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < site->n_lanes; i++) {
        snprintf(lanes[i].id, sizeof(lanes[i].id), "%s", site->lanes[i].id);
        for (uint32_t j = 0; d->lanes && j < d->site->n_lanes; j++)
            if (strcmp(d->lanes[j].id, lanes[i].id) == 0) {
                lanes[i] = d->lanes[j];
                full[i] = d->lane_full[j];
            }
    }
    *lanes_out = lanes;
    *en_out = en;
    *full_out = full;
    return 0;
}

static int build_points(struct wcsd *d, const struct cfg_site *site, struct pointrt **out)
{
    struct pointrt *pts = calloc(site->n_scan_points ? site->n_scan_points : 1, sizeof(*pts));
    if (!pts)
        return -ENOMEM;
    for (uint32_t i = 0; i < site->n_scan_points; i++) {
        snprintf(pts[i].id, sizeof(pts[i].id), "%s", site->scan_points[i].id);
        for (size_t j = 0; d->points && j < d->n_points; j++)
            if (strcmp(d->points[j].id, pts[i].id) == 0)
                pts[i] = d->points[j]; /* keeps outstanding decisions across a reload */
        pts[i].cfg_index = i;
        pts[i].plc = NULL;
    }
    *out = pts;
    return 0;
}

static int open_plc(struct wcsd *d, const struct cfg_site *site, uint32_t dev, struct plcrt **out)
{
    struct conv_plc_cfg cfg;
    uint32_t idx[CONV_MAX_POINTS];
    struct plcrt *p = calloc(1, sizeof(*p));
    const char *why = NULL;
    int rc;
    if (!p)
        return -ENOMEM;
    rc = devmap_plc(site, dev, &cfg, idx, p->sig, sizeof(p->sig), &why);
    if (rc != 0) {
        free(p);
        if (rc == 1)
            return 1;
        log_warnx("plc not started dev=%s: %s", site->devices[dev].id, why ? why : "?");
        return rc;
    }
    p->d = d;
    snprintf(p->id, sizeof(p->id), "%s", site->devices[dev].id);
    p->n_points = cfg.n_points;
    for (size_t i = 0; i < CONV_MAX_POINTS; i++)
        p->point_of[i] = i < cfg.n_points ? (int32_t)idx[i] : -1;
    p->link = CONV_LINK_DOWN;
    p->opened_us = clock_real_mono_us();
    rc = conv_plc_open(&p->conv, d->loop, &cfg, sort_on_plc_event, p);
    if (rc != 0) {
        log_warnx("plc open failed dev=%s rc=%s", p->id, wcs_strerror(rc));
        free(p);
        return rc;
    }
    log_info("plc started dev=%s uri=%s points=%zu", p->id, site->devices[dev].uri_text,
             p->n_points);
    *out = p;
    return 0;
}

static void close_plc(struct wcsd *d, struct plcrt *p)
{
    char id[WCSD_ID_MAX + 16];
    if (!p)
        return;
    conv_plc_close(p->conv);
    if (p->alarm_link) {
        snprintf(id, sizeof(id), "plc.%s.link", p->id);
        daemon_alarm(d, id, false, NULL, NULL);
    }
    if (d->bus)
        (void)bus_del_state(d->bus, "device", p->id);
    free(p);
}

/* Links each scan point of the running set to its PLC. */
static void link_points(struct wcsd *d)
{
    for (size_t i = 0; i < d->n_plcs; i++) {
        struct plcrt *p = d->plcs[i];
        for (size_t j = 0; j < p->n_points; j++)
            if (p->point_of[j] >= 0 && (size_t)p->point_of[j] < d->n_points) {
                d->points[p->point_of[j]].plc = p;
                d->points[p->point_of[j]].conv_point = (uint16_t)j;
            }
    }
}

/* Opens, keeps or closes PLCs so the running set matches site. Unchanged PLCs (same signature)
 * keep their connection; their point indices are refreshed for the new config. */
static int sync_plcs(struct wcsd *d, const struct cfg_site *site, size_t *added, size_t *removed)
{
    struct plcrt **next = calloc(site->n_devices ? site->n_devices : 1, sizeof(*next));
    size_t n = 0;
    *added = *removed = 0;
    if (!next)
        return -ENOMEM;
    for (size_t i = 0; i < d->n_plcs; i++)
        d->plcs[i]->keep = false;
    for (uint32_t dev = 0; dev < site->n_devices; dev++) {
        struct conv_plc_cfg cfg;
        uint32_t idx[CONV_MAX_POINTS];
        char sig[SIG_MAX];
        const char *why;
        struct plcrt *found = NULL, *p = NULL;
        if (site->devices[dev].kind != CFG_DEV_PLC)
            continue;
        if (devmap_plc(site, dev, &cfg, idx, sig, sizeof(sig), &why) != 0)
            continue;
        for (size_t i = 0; i < d->n_plcs; i++)
            if (!d->plcs[i]->keep && strcmp(d->plcs[i]->sig, sig) == 0)
                found = d->plcs[i];
        if (found) {
            found->keep = true;
            for (size_t j = 0; j < CONV_MAX_POINTS; j++)
                found->point_of[j] = j < cfg.n_points ? (int32_t)idx[j] : -1;
            next[n++] = found;
            continue;
        }
        if (open_plc(d, site, dev, &p) == 0) {
            p->keep = true;
            next[n++] = p;
            (*added)++;
        }
    }
    for (size_t i = 0; i < d->n_plcs; i++)
        if (!d->plcs[i]->keep) {
            log_info("plc stopped dev=%s", d->plcs[i]->id);
            close_plc(d, d->plcs[i]);
            (*removed)++;
        }
    free(d->plcs);
    d->plcs = next;
    d->n_plcs = n;
    return 0;
}

/* ---- signals ---- */

static void on_signal(struct loop *l, int fd, unsigned events, void *arg)
{
    struct wcsd *d = arg;
    struct signalfd_siginfo si;
    (void)l;
    (void)events;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_info("signal received sig=%s", si.ssi_signo == SIGTERM ? "TERM" : "INT");
            wcsd_stop(d);
        } else if (si.ssi_signo == SIGHUP) {
            log_info("signal received sig=HUP: reloading config=%s", d->config_path);
            (void)wcsd_reload(d);
        }
    }
}

static int setup_signals(struct wcsd *d)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked before any thread starts, so every thread inherits the mask and the signals are
     * only ever read from the signalfd on the loop. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -errno;
    d->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sfd < 0)
        return -errno;
    return loop_add_fd(d->loop, d->sfd, LOOP_READ, on_signal, d);
}

/* ---- store and bus ---- */

static void on_store_state(void *arg, bool up, int reason, const char *detail)
{
    struct wcsd *d = arg;
    d->store_up = up;
    if (up) {
        log_info("redis up");
        if (d->store_alarm) {
            d->store_alarm = false;
            daemon_alarm(d, "redis.down", false, NULL, NULL);
        }
        if (!d->state_loaded && model_load_start(d) != 0)
            log_warnx("state load could not start");
        station_load(d);
        ship_drain(d); /* carton confirmations kept while Redis was down */
    } else {
        struct store_stats st;
        char msg[320];
        store_get_stats(d->store, &st);
        log_warnx("redis down rc=%s detail=\"%s\"", wcs_strerror(reason), detail ? detail : "");
        if (!d->store_alarm) {
            d->store_alarm = true;
            snprintf(msg, sizeof(msg),
                     "Redis unreachable (%s): sorting continues from memory, state changes are "
                     "held (%zu now) and written when it is back",
                     detail ? detail : wcs_strerror(reason), st.queue_len);
            daemon_alarm(d, "redis.down", true, "critical", msg);
        }
    }
    daemon_update_status(d);
    /* The first report, up or down, ends the start's hold on commands (wcsd_open). */
    d->store_reported = true;
    if (d->bus)
        bus_hold_commands(d->bus, false);
}

/* A command changed something the hot path reads from memory: bring the model up to date. */
static void on_cmd_change(void *arg, enum cmd_change what, const char *id, const char *state)
{
    struct wcsd *d = arg;
    switch (what) {
    case CMD_CHANGED_ORDER:
        model_refresh_order(d, id);
        break;
    case CMD_CHANGED_TOTE:
        model_refresh_tote(d, id);
        break;
    case CMD_CHANGED_ORDER_STATE:
        model_order_picked(d, id, state);
        break;
    case CMD_CHANGED_TOTE_PICKED:
        model_tote_picked(d, id, state);
        break;
    case CMD_CHANGED_WAVE:
        model_refresh_wave(d, id);
        break;
    case CMD_CHANGED_ALARM:
        alarms_on_ack(d, id);
        break;
    case CMD_CHANGED_REPRINT:
        station_reprint(d, id, state);
        break;
    default:
        break;
    }
}

static int on_station_reset(void *arg, const char *station, const char *order, const char *actor,
                            const char *cause, char *why, size_t cap)
{
    return station_reset(arg, station, order, actor, cause, why, cap);
}

static void on_command(struct bus *b, struct bus_cmd *cmd, void *arg)
{
    struct wcsd *d = arg;
    int rc = WCS_E_UNKNOWN;
    (void)b;
    if (!d->cmd_fn) {
        /* The command layer answers every outcome itself, failures included. */
        (void)command_handle(&d->cmds, cmd);
        return;
    }
    rc = d->cmd_fn(d, cmd);
    if (rc == 0)
        return;
    if (rc == WCS_E_UNKNOWN) {
        log_info("command refused user=%s command=%s: unknown command", cmd->user, cmd->command);
        (void)bus_reply_err(cmd, "unknown command");
    } else {
        log_warnx("command failed user=%s command=%s rc=%s", cmd->user, cmd->command,
                  wcs_strerror(rc));
        (void)bus_reply_err(cmd, "internal error");
    }
}

/* The bus refused a command itself (unreadable envelope, oversize, bad command name, retained):
 * journal it exactly as the command layer journals its refusals (op cmd_refused, subject the
 * command, after {request_id, user, error}; actor the user, cause "<command> <request_id>",
 * "_invalid" for what could not be read; docs/mqtt.md) and log it, a flood summarised. */
static void on_bus_refused(void *arg, const char *user, const char *command, const char *request_id,
                           const char *reason)
{
    struct wcsd *d = arg;
    const char *subject = command ? command : "_invalid";
    char cause[BUS_NAME_MAX + BUS_REQUEST_ID_MAX + 2];
    struct store_ctx ctx = {.actor = user, .cause = cause};
    json_t *note;
    char *after = NULL;
    uint64_t now = loop_now_us(d->loop), sup = 0;
    int rc = -ENOMEM;

    snprintf(cause, sizeof(cause), "%s %s", subject, request_id ? request_id : "_invalid");
    note = json_pack("{s:s?,s:s,s:s}", "request_id", request_id, "user", user, "error", reason);
    if (note)
        after = json_dumps(note, JSON_COMPACT | JSON_SORT_KEYS);
    if (after)
        rc = ops_journal_note(d->store, &ctx, "cmd_refused", subject, after, NULL, NULL);
    free(after);
    json_decref(note);
    if (log_repeat_hit(&d->rep_bus_refused, now, 10000000, &sup))
        log_info("command refused by the bus user=%s command=%s request_id=%s reason=\"%s\" "
                 "suppressed=%" PRIu64,
                 user, subject, request_id ? request_id : "_invalid", reason, sup);
    if (rc != 0 && log_repeat_hit(&d->rep_store, now, 10000000, &sup))
        log_warnx("journal write refused op=cmd_refused subject=%s rc=%s suppressed=%" PRIu64,
                  subject, wcs_strerror(rc), sup);
}

static void check_bus(struct wcsd *d)
{
    struct bus_stats st;
    uint64_t now;
    if (!d->bus)
        return;
    bus_get_stats(d->bus, &st);
    now = loop_now_us(d->loop);
    /* The disconnect counter catches an outage shorter than the polling period. */
    if ((st.disconnects != d->bus_disc_seen || (!st.connected && d->bus_up)) && !d->bus_outage) {
        /* Nobody could see an alarm now: log it, and alarm once the broker is back. */
        d->bus_outage = true;
        d->bus_down_since_us = now;
        log_warnx("mqtt down: events are buffered (%" PRIu64 " waiting)", st.offline_len);
    }
    d->bus_disc_seen = st.disconnects;
    if (st.connected && d->bus_outage) {
        char msg[320];
        d->bus_outage = false;
        log_info("mqtt up connects=%" PRIu64, st.connects);
        snprintf(msg, sizeof(msg),
                 "MQTT broker was unreachable for about %.1f s; buffered events were sent "
                 "(%" PRIu64 " dropped since start)",
                 (double)(now - d->bus_down_since_us) / 1e6, st.offline_dropped);
        daemon_alarm(d, "mqtt.outage", true, "info", msg);
    }
    if (st.connected != d->bus_up) {
        d->bus_up = st.connected;
        if (d->bus_up && st.connects == 1)
            log_info("mqtt up");
        daemon_update_status(d);
    }
}

/* ---- KPIs ---- */

static double availability(const struct wcsd *d)
{
    uint64_t now = clock_real_mono_us(), up = 0, total = 0;
    for (size_t i = 0; i < d->n_plcs; i++) {
        const struct plcrt *p = d->plcs[i];
        up += p->up_total_us + (p->link == CONV_LINK_UP ? now - p->up_since_us : 0);
        total += now - p->opened_us;
    }
    return total ? (double)up / (double)total : 1.0;
}

static void fill_kpi(struct wcsd *d)
{
    d->k.noread_rate = d->k.scans ? (double)d->k.no_reads / (double)d->k.scans : 0;
    d->k.divert_confirm_rate =
        d->k.diverts ? (double)d->k.confirms_diverted / (double)d->k.diverts : 0;
    d->k.device_availability = availability(d);
    d->k.latency.count = d->lat.count;
    d->k.latency.p50_us = hist_quantile(&d->lat, 0.50);
    d->k.latency.p99_us = hist_quantile(&d->lat, 0.99);
    d->k.latency.p999_us = hist_quantile(&d->lat, 0.999);
    d->k.latency.max_us = d->lat.max_us;
}

static void fill_autowave(struct wcsd *d);

void wcsd_get_kpi(struct wcsd *d, struct wcsd_kpi *out)
{
    fill_kpi(d);
    fill_autowave(d);
    *out = d->k;
}

void wcsd_kpi_reset_latency(struct wcsd *d)
{
    hist_reset(&d->lat);
}

static void noread_alarms(struct wcsd *d)
{
    for (size_t i = 0; i < d->n_points; i++) {
        struct pointrt *pt = &d->points[i];
        char id[WCSD_ID_MAX + 16], msg[320];
        bool high;
        if (pt->period_scans < 20)
            continue;
        high = pt->period_noreads * 100 >= (uint64_t)d->o.noread_alarm_pct * pt->period_scans;
        if (high != pt->alarm_noread) {
            pt->alarm_noread = high;
            snprintf(id, sizeof(id), "sp.%s.noread", pt->id);
            snprintf(msg, sizeof(msg),
                     "No-read rate at scan point %s is %" PRIu64 "%%: clean the scanner window, "
                     "check labels",
                     pt->id, pt->period_noreads * 100 / pt->period_scans);
            daemon_alarm(d, id, high, "warning", msg);
        }
        pt->period_scans = pt->period_noreads = 0;
    }
}

static uint64_t field_u64(const struct store_result *r, const char *name, bool *found)
{
    for (size_t i = 0; i + 1 < r->n_values; i += 2)
        if (strcmp(r->values[i], name) == 0) {
            if (found)
                *found = true;
            return strtoull(r->values[i + 1], NULL, 10);
        }
    return 0;
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0;
}

/* The counters of wcs:{s}:kpi arrived: the flow KPIs of the next snapshot. */
static void on_kpi_read(void *arg, const struct store_result *r)
{
    struct wcsd *d = arg;
    struct wcsd_kpi_flow *f = &d->k.flow;
    uint64_t now = loop_now_us(d->loop), lines, received;
    bool has_confirms = false;
    double hours;
    d->kpi_reading = false;
    if (r->rc != 0)
        return; /* the next period reads again */
    lines = field_u64(r, "pick_confirms", &has_confirms);
    if (!has_confirms)
        lines = field_u64(r, "picks", NULL);
    received = field_u64(r, "received_units", NULL);
    hours = (double)(now - d->kpi_flow_us) / 3600e6;
    if (f->valid && hours > 0) {
        f->lines_picked_per_hour =
            lines >= d->kpi_flow_lines ? (double)(lines - d->kpi_flow_lines) / hours : 0;
        f->received_units_per_hour = received >= d->kpi_flow_received
                                         ? (double)(received - d->kpi_flow_received) / hours
                                         : 0;
    }
    d->kpi_flow_us = now;
    d->kpi_flow_lines = lines;
    d->kpi_flow_received = received;
    f->lines_picked = lines;
    f->pick_confirms = field_u64(r, "pick_confirms", NULL);
    f->pick_errors = field_u64(r, "pick_errors", NULL);
    f->pick_accuracy = ratio(f->pick_confirms, f->pick_confirms + f->pick_errors);
    f->ship_on_time = field_u64(r, "ship_on_time", NULL);
    f->ship_late = field_u64(r, "ship_late", NULL);
    f->ship_on_time_rate = ratio(f->ship_on_time, f->ship_on_time + f->ship_late);
    f->received_units = received;
    f->adjustments = field_u64(r, "adjustments", NULL);
    f->adjusted_units_in = field_u64(r, "adjusted_units_in", NULL);
    f->adjusted_units_out = field_u64(r, "adjusted_units_out", NULL);
    f->adjusted_value_cents = field_u64(r, "adjusted_value_cents", NULL);
    f->approvals_requested = field_u64(r, "approvals_requested", NULL);
    f->counts_done = field_u64(r, "counts_done", NULL);
    f->count_quants = field_u64(r, "count_quants", NULL);
    f->count_variances = field_u64(r, "count_variances", NULL);
    f->count_variance_share = ratio(f->count_variances, f->count_quants);
    f->transfers = field_u64(r, "transfers", NULL);
    f->transfers_done = field_u64(r, "transfers_done", NULL);
    f->transfer_shipped_units = field_u64(r, "transfer_shipped_units", NULL);
    f->transfer_received_units = field_u64(r, "transfer_received_units", NULL);
    f->replen_tasks = field_u64(r, "replen_tasks", NULL);
    f->replen_tasks_pick = field_u64(r, "replen_tasks_pick", NULL);
    f->replen_tasks_release = field_u64(r, "replen_tasks_release", NULL);
    f->replen_planned_units = field_u64(r, "replen_planned_units", NULL);
    f->replen_claims = field_u64(r, "replen_claims", NULL);
    f->replen_confirms = field_u64(r, "replen_confirms", NULL);
    f->replen_units = field_u64(r, "replen_units", NULL);
    f->replen_done = field_u64(r, "replen_done", NULL);
    f->valid = true;
}

/* The order backlog by state from the in-memory model (no Redis read). */
static void fill_backlog(struct wcsd *d)
{
    struct wcsd_kpi_flow *f = &d->k.flow;
    f->backlog_confirmed = f->backlog_waved = f->backlog_picking = f->backlog_picked = 0;
    for (size_t i = 0; i < d->orders.cap; i++) {
        const struct wcsd_order *o = d->orders.slots ? d->orders.slots[i] : NULL;
        if (!o)
            continue;
        f->backlog_confirmed += o->state == WCSD_ORDER_CONFIRMED;
        f->backlog_waved += o->state == WCSD_ORDER_WAVED;
        f->backlog_picking += o->state == WCSD_ORDER_PICKING;
        f->backlog_picked += o->state == WCSD_ORDER_PICKED;
    }
    f->backlog_total =
        f->backlog_confirmed + f->backlog_waved + f->backlog_picking + f->backlog_picked;
}

static json_t *flow_json(const struct wcsd_kpi_flow *f)
{
    return json_pack(
        "{s:{s:I,s:I,s:I,s:I,s:I},s:I,s:f,s:I,s:I,s:f,s:I,s:I,s:f,s:I,s:f,s:I,s:I,s:I,s:I,s:I,"
        "s:I,s:I,s:I,s:f,s:I,s:I,s:b}",
        "order_backlog", "confirmed", (json_int_t)f->backlog_confirmed, "waved",
        (json_int_t)f->backlog_waved, "picking", (json_int_t)f->backlog_picking, "picked",
        (json_int_t)f->backlog_picked, "total", (json_int_t)f->backlog_total, "lines_picked",
        (json_int_t)f->lines_picked, "lines_picked_per_hour", f->lines_picked_per_hour,
        "pick_confirms", (json_int_t)f->pick_confirms, "pick_errors", (json_int_t)f->pick_errors,
        "pick_accuracy", f->pick_accuracy, "ship_on_time", (json_int_t)f->ship_on_time, "ship_late",
        (json_int_t)f->ship_late, "ship_on_time_rate", f->ship_on_time_rate, "received_units",
        (json_int_t)f->received_units, "received_units_per_hour", f->received_units_per_hour,
        "adjustments", (json_int_t)f->adjustments, "adjusted_units_in",
        (json_int_t)f->adjusted_units_in, "adjusted_units_out", (json_int_t)f->adjusted_units_out,
        "adjusted_value_cents", (json_int_t)f->adjusted_value_cents, "approvals_requested",
        (json_int_t)f->approvals_requested, "counts_done", (json_int_t)f->counts_done,
        "count_quants", (json_int_t)f->count_quants, "count_variances",
        (json_int_t)f->count_variances, "count_variance_share", f->count_variance_share,
        "transfers", (json_int_t)f->transfers, "transfers_done", (json_int_t)f->transfers_done,
        "counters_read", f->valid);
}

/* Replenishment and automatic release, added to flow_json's object (j may be NULL). */
static void flow_json_more(json_t *j, const struct wcsd_kpi_flow *f)
{
    const struct {
        const char *name;
        uint64_t v;
    } kv[] = {
        {"replen_tasks", f->replen_tasks},
        {"replen_tasks_pick", f->replen_tasks_pick},
        {"replen_tasks_release", f->replen_tasks_release},
        {"replen_planned_units", f->replen_planned_units},
        {"replen_claims", f->replen_claims},
        {"replen_confirms", f->replen_confirms},
        {"replen_units", f->replen_units},
        {"replen_done", f->replen_done},
        {"auto_releases", f->auto_releases},
        {"auto_release_waves", f->auto_release_waves},
        {"auto_release_failed", f->auto_release_failed},
    };
    for (size_t i = 0; j && i < sizeof(kv) / sizeof(kv[0]); i++)
        json_object_set_new(j, kv[i].name, json_integer((json_int_t)kv[i].v));
}

/* The automatic release's counters of this process (autowave.c). */
static void fill_autowave(struct wcsd *d)
{
    struct autowave_stats st;
    autowave_get_stats(d, &st);
    d->k.flow.auto_releases = st.released;
    d->k.flow.auto_release_waves = st.waves;
    d->k.flow.auto_release_failed = st.failed;
}

/* The fields of a KPI hash being written (store_kpi_write): names and formatted values. */
struct kpi_fields {
    struct store_field f[24];
    char v[24][32];
    size_t n;
};

static void kpi_field(struct kpi_fields *kf, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void kpi_field(struct kpi_fields *kf, const char *name, const char *fmt, ...)
{
    va_list ap;
    assert(kf->n < sizeof(kf->f) / sizeof(kf->f[0]));
    va_start(ap, fmt);
    vsnprintf(kf->v[kf->n], sizeof(kf->v[kf->n]), fmt, ap);
    va_end(ap);
    kf->f[kf->n].name = name;
    kf->f[kf->n].value = kf->v[kf->n];
    kf->n++;
}

/* Writes wcs:{s}:kpi:flow (HSET, like the sorter snapshot). */
static void write_flow(struct wcsd *d)
{
    const struct wcsd_kpi_flow *f = &d->k.flow;
    struct kpi_fields kf = {.n = 0};
    kpi_field(&kf, "backlog_confirmed", "%" PRIu64, f->backlog_confirmed);
    kpi_field(&kf, "backlog_waved", "%" PRIu64, f->backlog_waved);
    kpi_field(&kf, "backlog_picking", "%" PRIu64, f->backlog_picking);
    kpi_field(&kf, "backlog_picked", "%" PRIu64, f->backlog_picked);
    kpi_field(&kf, "backlog_total", "%" PRIu64, f->backlog_total);
    kpi_field(&kf, "lines_picked_per_hour", "%.1f", f->lines_picked_per_hour);
    kpi_field(&kf, "pick_accuracy", "%.4f", f->pick_accuracy);
    kpi_field(&kf, "ship_on_time", "%" PRIu64, f->ship_on_time);
    kpi_field(&kf, "ship_late", "%" PRIu64, f->ship_late);
    kpi_field(&kf, "ship_on_time_rate", "%.4f", f->ship_on_time_rate);
    kpi_field(&kf, "received_units_per_hour", "%.1f", f->received_units_per_hour);
    kpi_field(&kf, "adjustments", "%" PRIu64, f->adjustments);
    kpi_field(&kf, "adjusted_value_cents", "%" PRIu64, f->adjusted_value_cents);
    kpi_field(&kf, "counts_done", "%" PRIu64, f->counts_done);
    kpi_field(&kf, "count_variance_share", "%.4f", f->count_variance_share);
    kpi_field(&kf, "transfers", "%" PRIu64, f->transfers);
    kpi_field(&kf, "replen_tasks", "%" PRIu64, f->replen_tasks);
    kpi_field(&kf, "replen_confirms", "%" PRIu64, f->replen_confirms);
    kpi_field(&kf, "replen_units", "%" PRIu64, f->replen_units);
    kpi_field(&kf, "auto_releases", "%" PRIu64, f->auto_releases);
    (void)store_kpi_write(d->store, "flow", kf.f, kf.n, NULL, NULL);
}

static void publish_kpi(struct wcsd *d)
{
    uint64_t now = loop_now_us(d->loop);
    double mins = (double)(now - d->kpi_last_us) / 60e6;
    struct wcsd_kpi *k = &d->k;
    json_t *j, *plcs;

    k->throughput_per_min = mins > 0 ? (double)(k->confirms - d->kpi_last_confirms) / mins : 0;
    d->kpi_last_confirms = k->confirms;
    d->kpi_last_us = now;
    fill_kpi(d);
    fill_backlog(d);
    fill_autowave(d);
    noread_alarms(d);
    if (d->bus) {
        plcs = json_object();
        for (size_t i = 0; plcs && i < d->n_plcs; i++)
            json_object_set_new(plcs, d->plcs[i]->id,
                                json_string(conv_link_name(d->plcs[i]->link)));
        j = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
            "s:f,s:f,s:f,s:f,s:{s:I,s:I,s:I,s:I,s:I},s:o}",
            "scans", (json_int_t)k->scans, "scans_missed", (json_int_t)k->scans_missed, "decisions",
            (json_int_t)k->decisions, "no_reads", (json_int_t)k->no_reads, "multi_reads",
            (json_int_t)k->multi_reads, "unknown_totes", (json_int_t)k->unknown_totes, "malformed",
            (json_int_t)k->malformed, "diverts", (json_int_t)k->diverts, "rejects",
            (json_int_t)k->reject_decisions, "recirculations", (json_int_t)k->recirc_decisions,
            "late", (json_int_t)k->late, "decide_failed", (json_int_t)k->decide_failed, "confirms",
            (json_int_t)k->confirms, "confirms_diverted", (json_int_t)k->confirms_diverted,
            "confirms_unmatched", (json_int_t)k->confirms_unmatched, "lost", (json_int_t)k->lost,
            "lane_full", (json_int_t)k->lane_full, "recirc_exhausted",
            (json_int_t)k->recirc_exhausted, "throughput_per_min", k->throughput_per_min,
            "noread_rate", k->noread_rate, "divert_confirm_rate", k->divert_confirm_rate,
            "device_availability", k->device_availability, "latency_us", "count",
            (json_int_t)k->latency.count, "p50", (json_int_t)k->latency.p50_us, "p99",
            (json_int_t)k->latency.p99_us, "p999", (json_int_t)k->latency.p999_us, "max",
            (json_int_t)k->latency.max_us, "plcs", plcs ? plcs : json_object());
        if (j) {
            json_object_set_new(j, "table_decisions", json_integer((json_int_t)k->table_decisions));
            json_object_set_new(j, "table_disagreed", json_integer((json_int_t)k->table_disagreed));
            /* Commands' handling time and Redis round trips since start (real time). */
            const struct hist *ch = bus_cmd_latency(d->bus);
            json_object_set_new(j, "cmd_latency_us",
                                json_pack("{s:I,s:I,s:I,s:I}", "count", (json_int_t)ch->count,
                                          "p50", (json_int_t)hist_quantile(ch, 0.50), "p99",
                                          (json_int_t)hist_quantile(ch, 0.99), "max",
                                          (json_int_t)ch->max_us));
            if (d->store) {
                const struct hist *rt = store_rtt(d->store);
                struct store_stats ss;
                store_get_stats(d->store, &ss);
                json_object_set_new(
                    j, "redis_rtt_us",
                    json_pack("{s:I,s:I,s:I,s:I,s:I}", "count", (json_int_t)rt->count, "p50",
                              (json_int_t)hist_quantile(rt, 0.50), "p99",
                              (json_int_t)hist_quantile(rt, 0.99), "max", (json_int_t)rt->max_us,
                              "in_flight_max", (json_int_t)ss.in_flight_max));
            }
            /* Picking (wcs/command): this process's applied picks and refused pick checks. */
            const struct cmd_stats *cs = &d->cmds.stats;
            uint64_t tries = cs->pick_confirms + cs->pick_errors;
            json_object_set_new(j, "pick_confirms", json_integer((json_int_t)cs->pick_confirms));
            json_object_set_new(j, "pick_errors", json_integer((json_int_t)cs->pick_errors));
            json_object_set_new(j, "pick_accuracy",
                                tries ? json_real((double)cs->pick_confirms / (double)tries)
                                      : json_null());
            json_t *fj = flow_json(&k->flow);
            flow_json_more(fj, &k->flow);
            if (fj)
                json_object_update(j, fj); /* the flow KPIs at the top level, beside the sorter's */
            json_decref(fj);
            (void)bus_set_kpi(d->bus, j);
        }
        json_decref(j);
    }
    if (d->store && d->store_up) {
        struct kpi_fields kf = {.n = 0};
        kpi_field(&kf, "scans", "%" PRIu64, k->scans);
        kpi_field(&kf, "decisions", "%" PRIu64, k->decisions);
        kpi_field(&kf, "no_reads", "%" PRIu64, k->no_reads);
        kpi_field(&kf, "diverts", "%" PRIu64, k->diverts);
        kpi_field(&kf, "recirculations", "%" PRIu64, k->recirc_decisions);
        kpi_field(&kf, "rejects", "%" PRIu64, k->reject_decisions);
        kpi_field(&kf, "late", "%" PRIu64, k->late);
        kpi_field(&kf, "confirms_diverted", "%" PRIu64, k->confirms_diverted);
        kpi_field(&kf, "throughput_per_min", "%.1f", k->throughput_per_min);
        kpi_field(&kf, "noread_rate", "%.4f", k->noread_rate);
        kpi_field(&kf, "divert_confirm_rate", "%.4f", k->divert_confirm_rate);
        kpi_field(&kf, "device_availability", "%.4f", k->device_availability);
        kpi_field(&kf, "latency_p50_us", "%" PRIu64, k->latency.p50_us);
        kpi_field(&kf, "latency_p99_us", "%" PRIu64, k->latency.p99_us);
        kpi_field(&kf, "latency_p999_us", "%" PRIu64, k->latency.p999_us);
        kpi_field(&kf, "latency_max_us", "%" PRIu64, k->latency.max_us);
        (void)store_kpi_write(d->store, "sorter", kf.f, kf.n, NULL, NULL);
        write_flow(d);
        if (!d->kpi_reading) {
            struct store_ctx ctx = {.actor = "wcs", .cause = "kpi"};
            d->kpi_reading =
                ops_read_hash(d->store, &ctx, "kpi", on_kpi_read, d) == 0; /* for the next one */
        }
    }
}

/* A housekeeping period of clock_us on the loop's clock, but at least min_real_us of real time:
 * on a clock S times faster than real time (the simulator's shifts) a 500 ms sweep would run
 * 1,200 times a real second, and a 10 s KPI snapshot 60 times, for nobody's benefit. */
static uint64_t period_us(const struct wcsd *d, uint64_t clock_us, uint64_t min_real_us)
{
    double floor_us = (double)min_real_us * (d->speed > 0 ? d->speed : 1.0);
    return (double)clock_us >= floor_us ? clock_us : (uint64_t)floor_us;
}

static uint64_t kpi_period_us(const struct wcsd *d)
{
    return period_us(d, (uint64_t)d->o.kpi_interval_ms * 1000, KPI_MIN_REAL_US);
}

static void on_kpi_timer(struct loop *l, uint64_t id, void *arg)
{
    struct wcsd *d = arg;
    (void)id;
    publish_kpi(d);
    (void)loop_add_timer(l, kpi_period_us(d), on_kpi_timer, d, &d->kpi_timer);
}

static void on_sweep_timer(struct loop *l, uint64_t id, void *arg)
{
    struct wcsd *d = arg;
    (void)id;
    check_bus(d);
    sort_sweep(d);
    station_load(d); /* a station whose session could not be read yet */
    ship_drain(d);   /* kept carton confirmations Redis refused until now */
    /* A state load refused at the Redis up report (reads wait for held writes to drain, e.g.
     * confirmations queued while Redis was connecting after a restart) is tried again here. */
    if (d->store_up && !d->state_loaded)
        (void)model_load_start(d);
    daemon_update_status(d);
    (void)loop_add_timer(l, period_us(d, SWEEP_US, SWEEP_MIN_REAL_US), on_sweep_timer, d,
                         &d->sweep_timer);
}

/* WATCHDOG=1 only while every link is healthy: a daemon that cannot sort or cannot record
 * what it sorts gets restarted by systemd rather than pretending. */
static void on_watchdog_timer(struct loop *l, uint64_t id, void *arg)
{
    struct wcsd *d = arg;
    (void)id;
    if (d->store_up && d->bus_up && plcs_healthy(d, NULL))
        notify(d, "WATCHDOG=1");
    /* The factor now (a simulator's clock file changes it): the ping is due in real time. */
    (void)loop_add_timer(l, (uint64_t)((double)d->watchdog_usec / 2 * loop_speed(l)),
                         on_watchdog_timer, d, &d->wd_timer);
}

/* ---- open / close ---- */

static void log_errors(const struct cfg_errors *e)
{
    for (size_t i = 0; i < e->count; i++)
        log_errx("%s", e->lines[i]);
    if (e->dropped)
        log_errx("config: %zu more errors not shown", e->dropped);
}

/* SCHED_FIFO for the loop thread only. Threads inherit their creator's policy, and the PLC
 * workers wait awake (sched_yield) for a decision: at real-time priority they would starve
 * Redis and mosquitto, so the loop drops back to the normal policy while it starts threads. */
static void set_rt(struct wcsd *d, bool on)
{
    struct sched_param sp = {.sched_priority = on ? d->o.rt_priority : 0};
    int e;
    if (d->o.rt_priority <= 0)
        return;
    e = pthread_setschedparam(pthread_self(), on ? SCHED_FIFO : SCHED_OTHER, &sp);
    if (e != 0 && on && !d->rt_warned) {
        d->rt_warned = true;
        log_warnx("real-time priority not set prio=%d rc=%s (needs CAP_SYS_NICE)", d->o.rt_priority,
                  wcs_strerror(-e));
    } else if (e == 0 && on && !d->rt_logged) {
        d->rt_logged = true;
        log_info("real-time priority set thread=loop policy=fifo prio=%d", d->o.rt_priority);
    }
}

static int open_links(struct wcsd *d)
{
    const struct cfg_site *s = d->site;
    struct store_opts so = {0};
    struct bus_opts bo = {0};
    char err[BUS_ERR_MAX] = "";
    size_t added, removed;
    int rc;

    if (!s->redis.password_file) {
        log_errx("config: redis.password_file is required by wcs run");
        return WCS_E_CONFIG;
    }
    so.host = s->redis.host;
    so.port = s->redis.port;
    so.user = s->redis.user;
    so.password_file = s->redis.password_file;
    so.site = s->id;
    so.instance = d->o.instance;
    so.command_timeout_ms = s->redis.timeout_ms;
    so.journal_maxlen = s->redis.journal_maxlen;
    so.queue_cap = 200000;
    so.jitter_seed = (uint64_t)getpid();
    so.on_state = on_store_state;
    so.state_arg = d;
    rc = store_open(&d->store, d->loop, &so);
    if (rc != 0) {
        log_errx("redis store not opened rc=%s", wcs_strerror(rc));
        return rc;
    }
    bo.uri = s->mqtt.uri;
    bo.client_id = s->mqtt.client_id;
    bo.user = s->mqtt.user;
    bo.password_file = s->mqtt.password_file;
    bo.site = s->id;
    bo.gen = (uint64_t)clock_wall_ms(clock_system());
    bo.keepalive_s = (int)s->mqtt.keepalive_s;
    bo.events_qos0 = s->mqtt.qos == 0;
    bo.offline_capacity = 100000;
    /* A pack station's state changes at every verified unit: seconds apart on a floor, a few
     * milliseconds apart on the simulator's fast clock, where only the last one matters. */
    bo.state_min_interval_us = d->speed > 1.0 ? period_us(d, 0, STATE_MIN_REAL_US) : 0;
    /* The broker keeps wcs's subscriptions while it restarts and queues the QoS 1 commands sent
     * meanwhile (docs/reliability.md); request_id idempotency makes a redelivery harmless. */
    bo.persistent_session = true;
    bo.on_refused = on_bus_refused;
    bo.on_refused_arg = d;
    bo.on_foreign_alarm = alarms_on_foreign;
    bo.on_foreign_alarm_arg = d;
    rc = bus_open(&d->bus, d->loop, &bo, on_command, d, err, sizeof(err));
    if (rc != 0) {
        log_errx("mqtt bus not opened rc=%s: %s", wcs_strerror(rc), err);
        return rc;
    }
    /* The broker delivers the commands it queued for wcs's session right after the connect,
     * which is quicker than reaching Redis: they wait for the store's first report, so they
     * run rather than being refused "store unavailable" (docs/reliability.md). */
    if (!d->store_reported)
        bus_hold_commands(d->bus, true);
    d->cmds = (struct cmd_ctx){.store = d->store,
                               .bus = d->bus,
                               .site = s,
                               .clock = d->clock,
                               .loop = d->loop,
                               .on_change = on_cmd_change,
                               .change_arg = d,
                               .station_reset = on_station_reset,
                               .station_arg = d};
    rc = sync_plcs(d, s, &added, &removed);
    if (rc != 0)
        return rc;
    link_points(d);
    sort_table_sync(d);
    rc = station_sync(d, s);
    if (rc != 0)
        return rc;
    set_rt(d, true);
    return 0;
}

int wcsd_open(struct wcsd **out, const struct wcsd_opts *o)
{
    struct cfg_errors errs;
    struct wcsd *d;
    uint64_t wd = 0;
    int rc;

    if (!out || !o || !o->config_path)
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->o = *o;
    d->sfd = -1;
    d->nfd = -1;
    d->o.instance = NULL;
    d->config_path = strdup(o->config_path);
    if (!d->config_path) {
        free(d);
        return -ENOMEM;
    }
    if (o->instance && !(d->o.instance = strdup(o->instance))) {
        free(d->config_path);
        free(d);
        return -ENOMEM;
    }
    if (!d->o.kpi_interval_ms)
        d->o.kpi_interval_ms = 10000;
    if (!d->o.lost_timeout_ms)
        d->o.lost_timeout_ms = 30000;
    if (!d->o.drain_timeout_ms)
        d->o.drain_timeout_ms = 5000;
    if (!d->o.noread_alarm_pct)
        d->o.noread_alarm_pct = 5;
    if (!d->o.unmatched_alarm_n)
        d->o.unmatched_alarm_n = 3;
    d->clock = o->clock ? o->clock : clock_system();
    d->speed = o->clock_speed > 0 ? o->clock_speed : 1.0;
    d->started_real_us = clock_real_mono_us();

    cfg_errors_init(&errs);
    rc = cfg_load(&d->site, d->config_path, &errs);
    if (rc != 0) {
        log_errors(&errs);
        log_errx("config refused path=%s errors=%zu", d->config_path, errs.count + errs.dropped);
        cfg_errors_fini(&errs);
        goto fail;
    }
    cfg_errors_fini(&errs);
    rc = loop_new(&d->loop, d->clock);
    if (rc != 0)
        goto fail;
    loop_set_speed(d->loop, d->speed);
    rc = sort_table_open(d);
    if (rc != 0)
        goto fail;
    if (o->signals && (rc = setup_signals(d)) != 0)
        goto fail;
    d->jobs = calloc(JOBS_CAP, sizeof(*d->jobs));
    if (!d->jobs) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = build_lanes(d, d->site, &d->lanes, &d->lane_enabled, &d->lane_full);
    if (rc == 0)
        rc = build_points(d, d->site, &d->points);
    if (rc != 0)
        goto fail;
    d->n_points = d->site->n_scan_points;
    model_apply_lane_overrides(d);
    log_info("starting site=%s config=%s plcs=%u scan_points=%u lanes=%u", d->site->id,
             d->config_path, 0u, d->site->n_scan_points, d->site->n_lanes);
    rc = open_links(d);
    if (rc != 0)
        goto fail;
    rc = counting_open(&d->counting, d->loop, d->store, d->bus,
                       (const struct cfg_site *const *)&d->site, d->clock, COUNTING_FIRST_MS,
                       COUNTING_PERIOD_MS);
    if (rc != 0)
        goto fail;
    if ((rc = autowave_open(d)) != 0)
        goto fail;
    d->kpi_last_us = loop_now_us(d->loop);
    d->kpi_flow_us = d->kpi_last_us;
    (void)loop_add_timer(d->loop, kpi_period_us(d), on_kpi_timer, d, &d->kpi_timer);
    (void)loop_add_timer(d->loop, period_us(d, SWEEP_US, SWEEP_MIN_REAL_US), on_sweep_timer, d,
                         &d->sweep_timer);
    if (o->sd_notify && sd_watchdog_enabled(0, &wd) > 0 && wd > 0) {
        d->watchdog_usec = wd;
        log_info("watchdog enabled interval_us=%" PRIu64, wd);
        (void)loop_add_timer(d->loop, (uint64_t)((double)wd / 2 * loop_speed(d->loop)),
                             on_watchdog_timer, d, &d->wd_timer);
    }
    daemon_update_status(d);
    *out = d;
    return 0;
fail:
    wcsd_close(d);
    return rc;
}

static void on_drain_timer(struct loop *l, uint64_t id, void *arg)
{
    struct wcsd *d = arg;
    struct store_stats ss = {0};
    struct bus_stats bs = {0};
    bool store_done, bus_done;
    (void)id;
    if (d->store)
        store_get_stats(d->store, &ss);
    if (d->bus)
        bus_get_stats(d->bus, &bs);
    store_done =
        d->jlen == 0 && (!d->store || !d->store_up ||
                         (ss.in_flight == 0 && ss.queue_len == 0 && ship_backlog_len(d) == 0));
    bus_done = !d->bus || !bs.connected || bs.offline_len == 0;
    if (store_done && bus_done) {
        log_info("drained");
        loop_stop(l);
        return;
    }
    if (loop_now_us(l) >= d->drain_deadline_us) {
        log_warnx("drain timed out bookkeeping=%zu redis_in_flight=%zu redis_held=%zu "
                  "mqtt_waiting=%" PRIu64,
                  d->jlen, ss.in_flight, ss.queue_len, bs.offline_len);
        loop_stop(l);
        return;
    }
    (void)loop_add_timer(l, DRAIN_POLL_US, on_drain_timer, d, &d->drain_timer);
}

void wcsd_stop(struct wcsd *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    sort_table_detach(d); /* no more decisions, from the workers either */
    notify(d, "STOPPING=1");
    log_info("stopping: no more decisions, draining timeout_ms=%u", d->o.drain_timeout_ms);
    daemon_update_status(d);
    publish_kpi(d);
    d->drain_deadline_us = loop_now_us(d->loop) + (uint64_t)d->o.drain_timeout_ms * 1000;
    (void)loop_add_timer(d->loop, 0, on_drain_timer, d, &d->drain_timer);
}

int wcsd_run(struct wcsd *d)
{
    int rc = loop_run(d->loop);
    if (rc != 0)
        log_errx("loop failed rc=%s", wcs_strerror(rc));
    log_info("stopped decisions=%" PRIu64 " confirms=%" PRIu64, d->k.decisions, d->k.confirms);
    return rc;
}

int wcsd_reload(struct wcsd *d)
{
    struct cfg_errors errs;
    struct cfg_site *ns = NULL, *old;
    struct lanert *lanes;
    struct pointrt *points;
    bool *en, *full;
    size_t added = 0, removed = 0;
    int rc;

    cfg_errors_init(&errs);
    rc = cfg_load(&ns, d->config_path, &errs);
    if (rc != 0) {
        log_errors(&errs);
        log_errx("reload refused, running config kept path=%s errors=%zu", d->config_path,
                 errs.count + errs.dropped);
        cfg_errors_fini(&errs);
        return rc;
    }
    cfg_errors_fini(&errs);
    if (strcmp(ns->id, d->site->id) != 0) {
        log_errx("reload refused: site id changed from %s to %s (restart to change it)",
                 d->site->id, ns->id);
        cfg_free(ns);
        return WCS_E_CONFIG;
    }
    if (strcmp(ns->mqtt.uri, d->site->mqtt.uri) != 0 || ns->redis.port != d->site->redis.port ||
        strcmp(ns->redis.host, d->site->redis.host) != 0)
        log_warnx("reload: redis and mqtt settings take effect at the next restart");
    if (build_lanes(d, ns, &lanes, &en, &full) != 0) {
        cfg_free(ns);
        return -ENOMEM;
    }
    if (build_points(d, ns, &points) != 0) {
        free(lanes);
        free(en);
        free(full);
        cfg_free(ns);
        return -ENOMEM;
    }
    /* Totes keep their last scan point and lane by id. */
    for (size_t i = 0; i < d->totes.cap; i++) {
        struct wcsd_tote *t = d->totes.slots[i];
        int32_t p = -1, l = -1;
        if (!t)
            continue;
        for (uint32_t j = 0; t->last_point >= 0 && j < ns->n_scan_points; j++)
            if (strcmp(ns->scan_points[j].id, d->site->scan_points[t->last_point].id) == 0)
                p = (int32_t)j;
        for (uint32_t j = 0; t->last_lane >= 0 && j < ns->n_lanes; j++)
            if (strcmp(ns->lanes[j].id, d->site->lanes[t->last_lane].id) == 0)
                l = (int32_t)j;
        t->last_point = p;
        t->last_lane = l;
    }
    /* The workers stop deciding from the table until it matches the new config. */
    sort_table_detach(d);
    free(d->lanes);
    free(d->lane_enabled);
    free(d->lane_full);
    free(d->points);
    d->lanes = lanes;
    d->lane_enabled = en;
    d->lane_full = full;
    d->points = points;
    d->n_points = ns->n_scan_points;
    old = d->site;
    /* A wave.plan running on the old config's mapping is ended (and answered) first. */
    command_fini(&d->cmds);
    d->site = ns;
    d->cmds.site = ns;
    model_apply_lane_overrides(d);
    set_rt(d, false); /* new PLC workers start with the normal policy */
    rc = sync_plcs(d, ns, &added, &removed);
    set_rt(d, true);
    link_points(d);
    sort_table_sync(d);
    if (station_sync(d, ns) != 0)
        log_warnx("reload: pack stations not updated (out of memory)");
    cfg_free(old);
    autowave_kick(d);
    log_info("reloaded plcs=%zu added=%zu removed=%zu scan_points=%u lanes=%u", d->n_plcs, added,
             removed, ns->n_scan_points, ns->n_lanes);
    /* A new PLC must complete a good cycle before the watchdog is fed again (READY stays). */
    daemon_update_status(d);
    return rc;
}

void wcsd_close(struct wcsd *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_plcs; i++) {
        conv_plc_close(d->plcs[i]->conv);
        free(d->plcs[i]);
    }
    free(d->plcs);
    conv_table_free(d->tab); /* every PLC is closed: no reader left */
    station_close_all(d);
    ship_fini(d);
    ship_close(d);
    /* Store before bus: store_close calls back every pending command, which is answered on
     * the bus. */
    command_fini(&d->cmds);
    store_close(d->store);
    counting_close(d->counting); /* after the store: a pass in flight was answered */
    autowave_close(d);           /* after the store: a release in flight was answered */
    alarms_fini(d);              /* after the store: its last callbacks look the alarms up */
    bus_close(d->bus);
    if (d->sfd >= 0) {
        if (d->loop)
            (void)loop_del_fd(d->loop, d->sfd);
        close(d->sfd);
    }
    loop_free(d->loop);
    if (d->nfd >= 0)
        close(d->nfd);
    cfg_free(d->site);
    hmap_fini(&d->totes);
    hmap_fini(&d->orders);
    hmap_fini(&d->lane_overrides);
    free(d->lanes);
    free(d->lane_enabled);
    free(d->lane_full);
    free(d->points);
    free(d->jobs);
    free((char *)d->o.instance);
    free(d->config_path);
    free(d);
}

/* ---- accessors ---- */

struct loop *wcsd_loop(struct wcsd *d)
{
    return d->loop;
}

struct store *wcsd_store(struct wcsd *d)
{
    return d->store;
}

struct bus *wcsd_bus(struct wcsd *d)
{
    return d->bus;
}

const struct cfg_site *wcsd_config(struct wcsd *d)
{
    return d->site;
}

const struct wcs_clock *wcsd_clock(struct wcsd *d)
{
    return d->clock;
}

bool wcsd_is_ready(const struct wcsd *d)
{
    return d->ready;
}

void wcsd_set_command_fn(struct wcsd *d, wcsd_command_fn fn)
{
    d->cmd_fn = fn;
}
