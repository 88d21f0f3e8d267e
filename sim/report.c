/* The run's report (report.h): records samples, alarms, faults, checks, lane counts and label
 * files during a run, then writes a self-contained index.html (inline CSS, SVG plots as files
 * beside it and inline <img> links, no network) into the run folder. */
#include "report.h"

#include "config/config.h"
#include "sim/scenario.h"
#include "sim/svg.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_SAMPLES = 4096,
    MAX_ALARMS = 1024,
    MAX_CHECKS = 256,
    MAX_LANES = 128,
    MAX_LABELS = 12,
    MAX_CUTOFFS = 64,
    MAX_FAULTS = 128,
    LAT_BUCKETS = 22
};

struct sample {
    double t_min, arrived, accepted, shipped, sorted, throughput, speed;
};

struct alarm {
    char id[160];
    double raised_s, cleared_s; /* cleared < raised: active */
    unsigned raises;
};

struct sim_report_priv {
    struct sample samples[MAX_SAMPLES];
    size_t n_samples;
    struct alarm alarms[MAX_ALARMS];
    size_t n_alarms;
    struct {
        char name[64];
        bool ok;
        char detail[512];
    } checks[MAX_CHECKS];
    size_t n_checks;
    struct {
        char label[96];
        double count;
    } lanes[MAX_LANES];
    size_t n_lanes;
    char labels[MAX_LABELS][8 + 2 * 256];
    size_t n_labels;
    struct {
        char label[64];
        double t_min;
    } cutoffs[MAX_CUTOFFS];
    size_t n_cutoffs;
    struct {
        char label[96];
        double start_s, end_s;
    } faults[MAX_FAULTS];
    size_t n_faults;
    uint64_t lat[LAT_BUCKETS]; /* command round trip, ms: [0,1), [1,2), [2,4) ... */
    struct {
        char state[32];
        unsigned n;
    } states[16];
    size_t n_states;
};

void sim_report_init(struct sim_report *r)
{
    memset(r, 0, sizeof(*r));
    r->p = calloc(1, sizeof(*r->p));
}

void sim_report_fini(struct sim_report *r)
{
    free(r->p);
    r->p = NULL;
}

void sim_report_latency(struct sim_report *r, double ms)
{
    unsigned b = 0;
    if (!r->p)
        return;
    while (b + 1 < LAT_BUCKETS && ms >= (double)(1u << b))
        b++;
    r->p->lat[b]++;
}

void sim_report_alarm(struct sim_report *r, const char *id, bool raised, double t_s)
{
    struct sim_report_priv *p = r->p;
    struct alarm *a = NULL;
    if (!p)
        return;
    for (size_t i = 0; i < p->n_alarms; i++)
        if (strcmp(p->alarms[i].id, id) == 0)
            a = &p->alarms[i];
    if (!a) {
        if (!raised || p->n_alarms == MAX_ALARMS)
            return;
        a = &p->alarms[p->n_alarms++];
        snprintf(a->id, sizeof(a->id), "%s", id);
        a->raised_s = t_s;
        a->cleared_s = -1;
        a->raises = 1;
        return;
    }
    if (raised && a->cleared_s >= a->raised_s) {
        a->raised_s = t_s;
        a->cleared_s = -1;
        a->raises++;
    } else if (!raised && a->cleared_s < a->raised_s) {
        a->cleared_s = t_s;
    }
}

size_t sim_report_active_alarms(const struct sim_report *r)
{
    size_t n = 0;
    for (size_t i = 0; r->p && i < r->p->n_alarms; i++)
        n += r->p->alarms[i].cleared_s < r->p->alarms[i].raised_s;
    return n;
}

void sim_report_alarm_match(const struct sim_report *r, const char *pattern, unsigned *raised,
                            unsigned *active, unsigned *raises)
{
    *raised = *active = *raises = 0;
    for (size_t i = 0; r->p && i < r->p->n_alarms; i++)
        if (sim_glob_match(pattern, r->p->alarms[i].id)) {
            (*raised)++;
            *active += r->p->alarms[i].cleared_s < r->p->alarms[i].raised_s;
            *raises += r->p->alarms[i].raises;
        }
}

void sim_report_cutoff(struct sim_report *r, const char *carrier, double t_min)
{
    struct sim_report_priv *p = r->p;
    if (!p || p->n_cutoffs == MAX_CUTOFFS)
        return;
    snprintf(p->cutoffs[p->n_cutoffs].label, sizeof(p->cutoffs[0].label), "%s", carrier);
    p->cutoffs[p->n_cutoffs++].t_min = t_min;
}

void sim_report_fault(struct sim_report *r, const char *kind, const char *target, double t_s,
                      bool start)
{
    struct sim_report_priv *p = r->p;
    if (!p)
        return;
    if (start) {
        if (p->n_faults == MAX_FAULTS)
            return;
        snprintf(p->faults[p->n_faults].label, sizeof(p->faults[0].label), "fault %s %s", kind,
                 target);
        p->faults[p->n_faults].start_s = t_s;
        p->faults[p->n_faults++].end_s = t_s; /* instant unless an end follows */
        return;
    }
    for (size_t i = p->n_faults; i-- > 0;)
        if (strstr(p->faults[i].label, kind)) {
            p->faults[i].end_s = t_s;
            break;
        }
}

void sim_report_sample(struct sim_report *r, double t_min, double arrived, double accepted,
                       double shipped, double sorted, double throughput_per_min, double speed)
{
    struct sim_report_priv *p = r->p;
    if (!p || p->n_samples == MAX_SAMPLES ||
        (p->n_samples && t_min <= p->samples[p->n_samples - 1].t_min))
        return;
    p->samples[p->n_samples++] =
        (struct sample){t_min,
                        arrived,
                        accepted,
                        shipped,
                        sorted,
                        isfinite(throughput_per_min) ? throughput_per_min : 0,
                        isfinite(speed) && speed > 0 ? speed : 0};
}

void sim_report_check(struct sim_report *r, const char *name, bool ok, const char *detail)
{
    struct sim_report_priv *p = r->p;
    if (ok)
        r->passed++;
    else
        r->failed++;
    if (!p || p->n_checks == MAX_CHECKS)
        return;
    snprintf(p->checks[p->n_checks].name, sizeof(p->checks[0].name), "%s", name);
    snprintf(p->checks[p->n_checks].detail, sizeof(p->checks[0].detail), "%s", detail);
    p->checks[p->n_checks++].ok = ok;
}

void sim_report_order_state(struct sim_report *r, const char *state)
{
    struct sim_report_priv *p = r->p;
    size_t i;
    if (!p)
        return;
    for (i = 0; i < p->n_states; i++)
        if (strcmp(p->states[i].state, state) == 0)
            break;
    if (i == p->n_states) {
        if (i == 16)
            return;
        snprintf(p->states[i].state, sizeof(p->states[0].state), "%s", state);
        p->n_states++;
    }
    p->states[i].n++;
}

static void lane_add(struct sim_report_priv *p, const char *label, double n)
{
    if (p->n_lanes == MAX_LANES)
        return;
    snprintf(p->lanes[p->n_lanes].label, sizeof(p->lanes[0].label), "%s", label);
    p->lanes[p->n_lanes++].count = n;
}

void sim_report_plc(struct sim_report *r, const char *plc, const struct sim_plc_counters *c,
                    const struct cfg_site *site, const uint32_t *sp, unsigned n_points)
{
    struct sim_report_priv *p = r->p;
    char label[96];
    (void)plc;
    if (!p)
        return;
    /* Lane numbers of every scan point of this PLC: the summed counters are per number. */
    for (unsigned k = 0; k < n_points; k++) {
        const struct cfg_scan_point *s = &site->scan_points[sp[k]];
        for (uint32_t l = 0; l < s->n_lanes; l++) {
            const struct cfg_lane *ln = &site->lanes[s->lanes[l]];
            if ((int32_t)s->lanes[l] == s->reject_lane || (int32_t)s->lanes[l] == s->recirc_lane ||
                ln->number > SIM_PLC_MAX_LANES)
                continue;
            lane_add(p, ln->id, (double)c->diverted[ln->number]);
        }
    }
    snprintf(label, sizeof(label), "reject");
    lane_add(p, label, (double)c->rejected);
    lane_add(p, "recirc", (double)c->recirculated);
    lane_add(p, "lost", (double)c->lost);
}

void sim_report_labels(struct sim_report *r, const char *labels_dir)
{
    struct sim_report_priv *p = r->p;
    DIR *d = opendir(labels_dir);
    struct dirent *e;
    if (!p || !d)
        return;
    while ((e = readdir(d)) && p->n_labels < MAX_LABELS) {
        char sub[512];
        DIR *s;
        struct dirent *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", labels_dir, e->d_name);
        if (!(s = opendir(sub)))
            continue;
        while ((f = readdir(s)) && p->n_labels < MAX_LABELS) {
            size_t n = strlen(f->d_name);
            if (n > 4 && strcmp(f->d_name + n - 4, ".png") == 0)
                snprintf(p->labels[p->n_labels++], sizeof(p->labels[0]), "labels/%s/%s", e->d_name,
                         f->d_name);
        }
        closedir(s);
    }
    closedir(d);
}

static void esc(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
}

static int write_svg(const char *dir, const char *name, char *svg, FILE *html)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!svg)
        return -ENOMEM;
    f = fopen(path, "w");
    if (!f) {
        free(svg);
        return -errno;
    }
    fputs(svg, f);
    fclose(f);
    /* Inline too, so index.html alone is the whole report. */
    fprintf(html, "<figure>%s</figure>\n", svg);
    free(svg);
    return 0;
}

int sim_report_write(struct sim_report *r, const char *dir, const char *title, const char *site)
{
    struct sim_report_priv *p = r->p;
    char path[1024], *svg = NULL;
    FILE *h;
    size_t n;
    double *t, *a, *b, *c, *d, *e;
    if (!p)
        return -ENOMEM;
    snprintf(path, sizeof(path), "%s/index.html", dir);
    if (!(h = fopen(path, "w")))
        return -errno;
    fprintf(h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wcs sim: ");
    esc(h, title);
    fprintf(h, "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
               "td,th{padding:2px 8px;text-align:left}.pass{color:#2ca02c}.fail{color:#d62728;"
               "font-weight:bold}figure{margin:1em 0}img{max-width:260px;border:1px solid #ccc;"
               "margin:4px}</style></head><body>\n<h1>wcs sim: ");
    esc(h, title);
    fprintf(h, "</h1>\n<p>site <b>");
    esc(h, site);
    if (r->speed_min > 0 && r->speed_min < r->speed)
        fprintf(h,
                "</b>; %.0f s of simulated time in %.1f s wall (speed factor %g..%g, paced "
                "between %.0f and %.0f, %.1fx achieved); %u checks passed, %u failed.</p>\n",
                r->sim_s, r->wall_s, r->speed_min, r->speed, r->speed_low, r->speed_high,
                r->wall_s > 0 ? r->sim_s / r->wall_s : 0, r->passed, r->failed);
    else
        fprintf(h,
                "</b>; %.0f s of simulated time in %.1f s wall (speed factor %g, %.1fx "
                "achieved); %u checks passed, %u failed.</p>\n",
                r->sim_s, r->wall_s, r->speed, r->wall_s > 0 ? r->sim_s / r->wall_s : 0, r->passed,
                r->failed);
    fprintf(h, "<h2>Expectations</h2>\n<table>\n");
    for (size_t i = 0; i < p->n_checks; i++) {
        fprintf(h, "<tr><td class=\"%s\">%s</td><td>", p->checks[i].ok ? "pass" : "fail",
                p->checks[i].ok ? "PASS" : "FAIL");
        esc(h, p->checks[i].name);
        fprintf(h, "</td><td>");
        esc(h, p->checks[i].detail);
        fprintf(h, "</td></tr>\n");
    }
    fprintf(h,
            "</table>\n<h2>Figures</h2>\n<table>\n"
            "<tr><td>orders</td><td>%llu in, %llu accepted, %llu shipped (evt/ship %llu)</td>"
            "</tr>\n<tr><td>waves</td><td>%llu planned, %llu released</td></tr>\n"
            "<tr><td>commands</td><td>%llu sent, %llu ok, %llu refused, %llu sent again, %llu held "
            "for a link, %llu not sent, %llu refusals retried</td>"
            "</tr>\n<tr><td>inventory</td><td>%llu counts, %llu adjustments applied, %llu "
            "approvals requested</td></tr>\n<tr><td>conveyor</td><td>%llu items inducted"
            "</td></tr>\n<tr><td>order states</td><td>",
            (unsigned long long)r->orders_in, (unsigned long long)r->orders_accepted,
            (unsigned long long)r->orders_shipped, (unsigned long long)r->ship_events,
            (unsigned long long)r->waves_planned, (unsigned long long)r->waves_released,
            (unsigned long long)r->cmds_sent, (unsigned long long)r->cmds_ok,
            (unsigned long long)r->cmds_refused, (unsigned long long)r->cmds_resent,
            (unsigned long long)r->cmds_held, (unsigned long long)r->cmds_unsent,
            (unsigned long long)r->cmds_retried, (unsigned long long)r->counts_done,
            (unsigned long long)r->adjustments_applied, (unsigned long long)r->approvals_requested,
            (unsigned long long)r->inducted);
    for (size_t i = 0; i < p->n_states; i++) {
        esc(h, p->states[i].state);
        fprintf(h, " %u%s", p->states[i].n, i + 1 < p->n_states ? ", " : "");
    }
    fprintf(h, "</td></tr>\n</table>\n<h2>Plots</h2>\n");
    n = p->n_samples;
    t = calloc(n + 1, sizeof(double));
    a = calloc(n + 1, sizeof(double));
    b = calloc(n + 1, sizeof(double));
    c = calloc(n + 1, sizeof(double));
    d = calloc(n + 1, sizeof(double));
    e = calloc(n + 1, sizeof(double));
    if (t && a && b && c && d && e) {
        struct sim_svg_series s1[3], s2[1];
        struct sim_svg_mark marks[MAX_CUTOFFS];
        for (size_t i = 0; i < n; i++) {
            t[i] = p->samples[i].t_min;
            a[i] = p->samples[i].accepted;
            b[i] = p->samples[i].shipped;
            c[i] = p->samples[i].sorted;
            d[i] = p->samples[i].accepted - p->samples[i].shipped;
            e[i] = p->samples[i].throughput;
        }
        s1[0] = (struct sim_svg_series){"orders accepted", t, a, n};
        s1[1] = (struct sim_svg_series){"orders shipped", t, b, n};
        s1[2] = (struct sim_svg_series){"items sorted", t, c, n};
        if (sim_svg_lines(&svg, "Throughput over the shift (cumulative)", "minutes", "count", s1, 3,
                          NULL, 0) == 0)
            write_svg(dir, "throughput.svg", svg, h);
        for (size_t i = 0; i < p->n_cutoffs; i++)
            marks[i] = (struct sim_svg_mark){p->cutoffs[i].t_min, p->cutoffs[i].label};
        s2[0] = (struct sim_svg_series){"open orders (accepted - shipped)", t, d, n};
        if (sim_svg_lines(&svg, "Backlog against carrier cutoffs", "minutes", "orders", s2, 1,
                          marks, p->n_cutoffs) == 0)
            write_svg(dir, "backlog.svg", svg, h);
        s2[0] = (struct sim_svg_series){"sorter throughput per min (wcs KPI)", t, e, n};
        if (sim_svg_lines(&svg, "Sorter throughput (wcs KPI)", "minutes", "items/min", s2, 1, NULL,
                          0) == 0)
            write_svg(dir, "sorter.svg", svg, h);
        if (r->speed_min > 0 && r->speed_min < r->speed) {
            size_t m = 0; /* t and d reused: the samples that know their speed */
            for (size_t i = 0; i < n; i++)
                if (p->samples[i].speed > 0) {
                    t[m] = p->samples[i].t_min;
                    d[m++] = p->samples[i].speed;
                }
            s2[0] = (struct sim_svg_series){"floor time per real time", t, d, m};
            if (m > 1 && sim_svg_lines(&svg, "Clock speed over the shift (the pace)", "minutes",
                                       "x real time", s2, 1, NULL, 0) == 0)
                write_svg(dir, "clock.svg", svg, h);
        }
    }
    free(t);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    {
        char lab[LAT_BUCKETS][32];
        const char *labels[LAT_BUCKETS];
        double v[LAT_BUCKETS];
        for (unsigned i = 0; i < LAT_BUCKETS; i++) {
            if (i == 0)
                snprintf(lab[i], sizeof(lab[i]), "<1");
            else
                snprintf(lab[i], sizeof(lab[i]), "%u", 1u << (i - 1));
            labels[i] = lab[i];
            v[i] = (double)p->lat[i];
        }
        if (sim_svg_bars(&svg, "Command latency histogram (publish to reply, sim ms, lower bound)",
                         "commands", labels, v, LAT_BUCKETS) == 0)
            write_svg(dir, "latency.svg", svg, h);
    }
    if (p->n_lanes) {
        const char *labels[MAX_LANES];
        double v[MAX_LANES];
        for (size_t i = 0; i < p->n_lanes; i++) {
            labels[i] = p->lanes[i].label;
            v[i] = p->lanes[i].count;
        }
        if (sim_svg_bars(&svg, "Per-lane counts (PLC)", "items", labels, v, p->n_lanes) == 0)
            write_svg(dir, "lanes.svg", svg, h);
    }
    {
        struct sim_svg_span spans[MAX_ALARMS + MAX_FAULTS];
        size_t ns = 0;
        for (size_t i = 0; i < p->n_faults; i++)
            spans[ns++] = (struct sim_svg_span){p->faults[i].label, p->faults[i].start_s / 60,
                                                p->faults[i].end_s / 60};
        for (size_t i = 0; i < p->n_alarms && ns < 40; i++)
            spans[ns++] = (struct sim_svg_span){p->alarms[i].id, p->alarms[i].raised_s / 60,
                                                p->alarms[i].cleared_s / 60};
        if (sim_svg_timeline(&svg, "Faults and alarms (red: still active at the end)", "minutes",
                             spans, ns, r->sim_s > 60 ? r->sim_s / 60 : 1) == 0)
            write_svg(dir, "alarms.svg", svg, h);
        fprintf(h, "<table><tr><th>alarm</th><th>raised (s)</th><th>cleared (s)</th>"
                   "<th>raises</th></tr>\n");
        for (size_t i = 0; i < p->n_alarms; i++) {
            fprintf(h, "<tr><td>");
            esc(h, p->alarms[i].id);
            if (p->alarms[i].cleared_s >= p->alarms[i].raised_s)
                fprintf(h, "</td><td>%.1f</td><td>%.1f</td><td>%u</td></tr>\n",
                        p->alarms[i].raised_s, p->alarms[i].cleared_s, p->alarms[i].raises);
            else
                fprintf(h, "</td><td>%.1f</td><td>active</td><td>%u</td></tr>\n",
                        p->alarms[i].raised_s, p->alarms[i].raises);
        }
        fprintf(h, "</table>\n");
    }
    fprintf(h, "<h2>Sample labels</h2>\n");
    if (!p->n_labels)
        fprintf(h, "<p>No label was printed in this run.</p>\n");
    for (size_t i = 0; i < p->n_labels; i++) {
        fprintf(h, "<a href=\"");
        esc(h, p->labels[i]);
        fprintf(h, "\"><img src=\"");
        esc(h, p->labels[i]);
        fprintf(h, "\" alt=\"label\"></a>\n");
    }
    fprintf(h, "<p>Files: sim.log (the runner's timeline), wcs.log (the daemon's log), "
               "site.yaml (the derived config), *.svg.</p>\n</body></html>\n");
    return fclose(h) == 0 ? 0 : -EIO;
}
