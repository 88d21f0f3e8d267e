/* SVG plots for the scenario report (docs/scenarios.md): line charts, bar charts and a timeline
 * of spans, written as self-contained SVG text (no scripts, no external fonts or links). Pure:
 * memory in, memory out. */
#ifndef SIM_SVG_H
#define SIM_SVG_H

#include <stddef.h>

struct sim_svg_series {
    const char *name;    /* legend text */
    const double *x, *y; /* n points, x increasing */
    size_t n;
};

/* A vertical marker (a carrier cutoff on a time axis). */
struct sim_svg_mark {
    double x;
    const char *label;
};

/* A horizontal bar on a timeline: from start to end (end < start: still open at t_end). */
struct sim_svg_span {
    const char *label;
    double start, end;
};

/* Each writer returns 0 and *out (a NUL-terminated SVG document, free() it), -EINVAL (NaN or
 * infinite values, x not increasing, n 0 where data is needed) or -ENOMEM. Text is XML-escaped. */
int sim_svg_lines(char **out, const char *title, const char *xlabel, const char *ylabel,
                  const struct sim_svg_series *series, size_t n_series,
                  const struct sim_svg_mark *marks, size_t n_marks);
int sim_svg_bars(char **out, const char *title, const char *ylabel, const char *const *labels,
                 const double *values, size_t n);
int sim_svg_timeline(char **out, const char *title, const char *xlabel,
                     const struct sim_svg_span *spans, size_t n, double t_end);

#endif
