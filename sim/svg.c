/* SVG plot writer (sim/svg.h) for the scenario report: axes with "nice" ticks, polylines,
 * bars and timeline spans, built in an open_memstream buffer. Pure: no files, no clock. */
#include "sim/svg.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { W = 720, H = 360, ML = 64, MR = 16, MT = 36, MB = 48 };

static const char *const COLOURS[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* A tick step of 1, 2 or 5 × 10^k giving about 5 ticks over span. */
static double nice_step(double span)
{
    double raw = span / 5, p, m;
    if (!(raw > 0))
        return 1;
    p = pow(10, floor(log10(raw)));
    m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void head(FILE *f, const char *title)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n<text x=\"%d\" y=\"20\" "
            "font-size=\"14\" font-weight=\"bold\">",
            W, H, W, H, W, H, ML);
    esc(f, title);
    fputs("</text>\n", f);
}

struct axes {
    double x0, x1, y0, y1;
};

static double px(const struct axes *a, double x)
{
    return ML + (x - a->x0) / (a->x1 - a->x0) * (W - ML - MR);
}

static double py(const struct axes *a, double y)
{
    return H - MB - (y - a->y0) / (a->y1 - a->y0) * (H - MT - MB);
}

static void axes_draw(FILE *f, const struct axes *a, const char *xlabel, const char *ylabel,
                      bool xticks)
{
    double ys = nice_step(a->y1 - a->y0), xs = nice_step(a->x1 - a->x0);
    fprintf(f,
            "<g stroke=\"#333\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
            ML, H - MB, W - MR, H - MB, ML, MT, ML, H - MB);
    for (double y = ceil(a->y0 / ys) * ys; y <= a->y1 + ys * 1e-9; y += ys)
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                ML, py(a, y), W - MR, py(a, y), ML - 4, py(a, y) + 4, y);
    if (xticks)
        for (double x = ceil(a->x0 / xs) * xs; x <= a->x1 + xs * 1e-9; x += xs)
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px(a, x),
                    H - MB + 14, x);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (W + ML) / 2, H - 8);
    esc(f, xlabel);
    fprintf(f,
            "</text>\n<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" "
            "text-anchor=\"middle\">",
            H / 2, H / 2);
    esc(f, ylabel);
    fputs("</text>\n", f);
}

/* Closes the memstream; only then does *buf hold the final (reallocated) text. */
static int finish(FILE *f, char **buf, char **out)
{
    fputs("</svg>\n", f);
    if (fclose(f) != 0) {
        free(*buf);
        return -ENOMEM;
    }
    *out = *buf;
    return 0;
}

int sim_svg_lines(char **out, const char *title, const char *xlabel, const char *ylabel,
                  const struct sim_svg_series *series, size_t n_series,
                  const struct sim_svg_mark *marks, size_t n_marks)
{
    struct axes a = {INFINITY, -INFINITY, 0, -INFINITY};
    char *buf = NULL;
    size_t len;
    FILE *f;
    for (size_t s = 0; s < n_series; s++)
        for (size_t i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y) || (i && x < series[s].x[i - 1]))
                return -EINVAL;
            a.x0 = fmin(a.x0, x);
            a.x1 = fmax(a.x1, x);
            a.y0 = fmin(a.y0, y);
            a.y1 = fmax(a.y1, y);
        }
    for (size_t m = 0; m < n_marks; m++) {
        if (!isfinite(marks[m].x))
            return -EINVAL;
        a.x0 = fmin(a.x0, marks[m].x);
        a.x1 = fmax(a.x1, marks[m].x);
    }
    if (!isfinite(a.x0)) {
        a.x0 = 0;
        a.x1 = 1;
    }
    if (!(a.y1 > a.y0))
        a.y1 = a.y0 + 1;
    if (!(a.x1 > a.x0))
        a.x1 = a.x0 + 1;
    a.y1 += (a.y1 - a.y0) * 0.05;
    if (!(f = open_memstream(&buf, &len)))
        return -ENOMEM;
    head(f, title);
    axes_draw(f, &a, xlabel, ylabel, true);
    for (size_t m = 0; m < n_marks; m++) {
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\" "
                "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%d\" fill=\"#666\">",
                px(&a, marks[m].x), MT, px(&a, marks[m].x), H - MB, px(&a, marks[m].x) + 2,
                MT + 10);
        esc(f, marks[m].label);
        fputs("</text>\n", f);
    }
    for (size_t s = 0; s < n_series; s++) {
        const char *col = COLOURS[s % 8];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", col);
        for (size_t i = 0; i < series[s].n; i++)
            fprintf(f, "%s%.1f,%.1f", i ? " " : "", px(&a, series[s].x[i]), py(&a, series[s].y[i]));
        fprintf(f,
                "\"/>\n<rect x=\"%zu\" y=\"26\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"%zu\" y=\"35\">",
                (size_t)(W - 300 + s * 100), col, (size_t)(W - 286 + s * 100));
        esc(f, series[s].name);
        fputs("</text>\n", f);
    }
    return finish(f, &buf, out);
}

int sim_svg_bars(char **out, const char *title, const char *ylabel, const char *const *labels,
                 const double *values, size_t n)
{
    struct axes a = {0, 1, 0, 0};
    char *buf = NULL;
    size_t len;
    FILE *f;
    double bw;
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            return -EINVAL;
        a.y0 = fmin(a.y0, values[i]);
        a.y1 = fmax(a.y1, values[i]);
    }
    if (!(a.y1 > a.y0))
        a.y1 = a.y0 + 1;
    a.y1 += (a.y1 - a.y0) * 0.05;
    if (!(f = open_memstream(&buf, &len)))
        return -ENOMEM;
    head(f, title);
    axes_draw(f, &a, "", ylabel, false);
    bw = (double)(W - ML - MR) / (double)n;
    for (size_t i = 0; i < n; i++) {
        double x = ML + bw * (double)i, top = py(&a, fmax(values[i], 0)),
               bot = py(&a, fmin(values[i], 0));
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                "<title>",
                x + bw * 0.1, top, bw * 0.8, bot - top, COLOURS[0]);
        esc(f, labels[i]);
        fprintf(f,
                ": %g</title></rect>\n<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
                "font-size=\"%d\">",
                values[i], x + bw / 2, H - MB + 14, n > 24 ? 8 : 11);
        esc(f, labels[i]);
        fputs("</text>\n", f);
    }
    return finish(f, &buf, out);
}

int sim_svg_timeline(char **out, const char *title, const char *xlabel,
                     const struct sim_svg_span *spans, size_t n, double t_end)
{
    struct axes a = {0, t_end, 0, 1};
    char *buf = NULL;
    size_t len;
    FILE *f;
    double rowh;
    if (!isfinite(t_end) || t_end <= 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(spans[i].start) || !isfinite(spans[i].end))
            return -EINVAL;
    if (!(f = open_memstream(&buf, &len)))
        return -ENOMEM;
    head(f, title);
    fprintf(f, "<g stroke=\"#333\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n", ML,
            H - MB, W - MR, H - MB);
    for (double x = 0, xs = nice_step(t_end); x <= t_end + xs * 1e-9; x += xs)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px(&a, x),
                H - MB + 14, x);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (W + ML) / 2, H - 8);
    esc(f, xlabel);
    fputs("</text>\n", f);
    rowh = n ? fmin(24.0, (double)(H - MT - MB) / (double)n) : 24.0;
    for (size_t i = 0; i < n; i++) {
        double s = fmax(0, spans[i].start),
               e = spans[i].end < spans[i].start ? t_end : spans[i].end;
        double y = MT + rowh * (double)i;
        e = fmin(e, t_end);
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\">",
                px(&a, s), y + 2, fmax(1.5, px(&a, e) - px(&a, s)), rowh - 4,
                spans[i].end < spans[i].start ? COLOURS[1] : COLOURS[3], px(&a, s) + 3,
                y + rowh / 2 + 4, rowh < 14 ? 8 : 11);
        esc(f, spans[i].label);
        fputs("</text>\n", f);
    }
    return finish(f, &buf, out);
}
