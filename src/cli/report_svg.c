/* The plot of `poets report --svg` (src/cli/report.h): a self-contained SVG with two panels side
 * by side — best value so far per evaluation, and cumulative regret at the round boundaries —
 * one coloured polyline per run in each, axes with ticks, a title and a legend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "poets/json.h"
#include "report.h"

#define SVG_W 1000.0
#define PLOT_W 400.0
#define PLOT_H 300.0
#define PLOT_TOP 60.0
#define PANEL_LEFT0 80.0
#define PANEL_STRIDE 500.0
#define LEGEND_TOP 420.0
#define LEGEND_PER_ROW 3
#define LEGEND_ROW_H 20.0

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define N_COLOURS (sizeof palette / sizeof palette[0])

typedef struct axis {
    double lo, hi, step;
} axis_t;

/* Axis covering [min, max] with about five ticks at 1, 2 or 5 × 10^k. */
static axis_t axis_make(double min, double max)
{
    if (!isfinite(min) || !isfinite(max)) min = 0.0, max = 1.0;
    if (max - min < 1e-12 * (fabs(max) + 1.0)) {
        double pad = fabs(max) > 0 ? 0.1 * fabs(max) : 1.0;
        min -= pad, max += pad;
    }
    double raw = (max - min) / 5.0, mag = pow(10.0, floor(log10(raw))), norm = raw / mag;
    double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
    return (axis_t){floor(min / step) * step, ceil(max / step) * step, step};
}

static void xml_text(poets_strbuf_t *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': poets_strbuf_append(sb, "&amp;", 5); break;
        case '<': poets_strbuf_append(sb, "&lt;", 4); break;
        case '>': poets_strbuf_append(sb, "&gt;", 4); break;
        case '"': poets_strbuf_append(sb, "&quot;", 6); break;
        default:
            if ((unsigned char)*s >= 0x20) poets_strbuf_append(sb, s, 1);
        }
    }
}

typedef struct panel {
    double left;
    axis_t x, y;
} panel_t;

static double px(const panel_t *p, double x) { return p->left + PLOT_W * (x - p->x.lo) / (p->x.hi - p->x.lo); }
static double py(const panel_t *p, double y) { return PLOT_TOP + PLOT_H * (1.0 - (y - p->y.lo) / (p->y.hi - p->y.lo)); }

static void draw_axes(poets_strbuf_t *sb, const panel_t *p, const char *title, const char *xlabel, const char *ylabel)
{
    double bottom = PLOT_TOP + PLOT_H, mid_x = p->left + PLOT_W / 2;
    poets_strbuf_printf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#000\"/>\n",
                        p->left, PLOT_TOP, PLOT_W, PLOT_H);
    for (double t = p->x.lo; t <= p->x.hi + 0.5 * p->x.step; t += p->x.step) {
        double x = px(p, t);
        poets_strbuf_printf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>"
                                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                            x, bottom, x, bottom + 5, x, bottom + 19, fabs(t) < 1e-12 * p->x.step ? 0.0 : t);
    }
    for (double t = p->y.lo; t <= p->y.hi + 0.5 * p->y.step; t += p->y.step) {
        double y = py(p, t);
        poets_strbuf_printf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>"
                                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                            p->left - 5, y, p->left, y, p->left, y, p->left + PLOT_W, y, p->left - 8, y + 4,
                            fabs(t) < 1e-12 * p->y.step ? 0.0 : t);
    }
    poets_strbuf_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>\n",
                        mid_x, PLOT_TOP - 10, title);
    poets_strbuf_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", mid_x, bottom + 40, xlabel);
    poets_strbuf_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
                        p->left - 55, PLOT_TOP + PLOT_H / 2, p->left - 55, PLOT_TOP + PLOT_H / 2, ylabel);
}

/* One polyline through the finite points (x[i], y[i]) (x NULL: x = i + 1); step: hold each
 * value until the next point (a running best). */
static void draw_line(poets_strbuf_t *sb, const panel_t *p, const double *x, const double *y, size_t n, int step,
                      const char *colour)
{
    size_t shown = 0;
    double prev_y = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i])) continue;
        double xi = px(p, x ? x[i] : (double)(i + 1));
        if (shown++ == 0) poets_strbuf_printf(sb, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour);
        else if (step) poets_strbuf_printf(sb, "%.1f,%.1f ", xi, prev_y);
        prev_y = py(p, y[i]);
        poets_strbuf_printf(sb, "%.1f,%.1f ", xi, prev_y);
    }
    if (shown) poets_strbuf_append(sb, "\"/>\n", 4);
}

static void extend(double v, double *min, double *max)
{
    if (!isfinite(v)) return;
    if (v < *min) *min = v;
    if (v > *max) *max = v;
}

/* Legend label: "method seed S", with the file name added when two runs would share it. */
static void legend_label(poets_strbuf_t *sb, const report_run_t *runs, size_t n, size_t i)
{
    int clash = 0;
    for (size_t j = 0; j < n; j++)
        if (j != i && runs[j].seed == runs[i].seed && strcmp(runs[j].method, runs[i].method) == 0) clash = 1;
    poets_strbuf_printf(sb, "%s seed %llu", runs[i].method, (unsigned long long)runs[i].seed);
    if (clash) {
        const char *base = strrchr(runs[i].file, '/');
        poets_strbuf_append(sb, " (", 2);
        xml_text(sb, base ? base + 1 : runs[i].file);
        poets_strbuf_append(sb, ")", 1);
    }
}

int report_svg_write(const char *out_path, const report_run_t *runs, size_t n, poets_err_t *err)
{
    double max_evals = 1, bmin = INFINITY, bmax = -INFINITY, rmin = 0, rmax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if ((double)runs[i].evaluations > max_evals) max_evals = (double)runs[i].evaluations;
        for (size_t j = 0; j < runs[i].evaluations; j++) extend(runs[i].best_so_far[j], &bmin, &bmax);
        for (size_t j = 0; j < runs[i].n_regret; j++) {
            extend(runs[i].regret_y[j], &rmin, &rmax);
            if (runs[i].regret_x[j] > max_evals) max_evals = runs[i].regret_x[j];
        }
    }
    if (rmax < rmin) rmax = rmin;
    panel_t best = {PANEL_LEFT0, axis_make(0, max_evals), axis_make(bmin, bmax)};
    panel_t regret = {PANEL_LEFT0 + PANEL_STRIDE, axis_make(0, max_evals), axis_make(rmin, rmax)};
    size_t legend_rows = (n + LEGEND_PER_ROW - 1) / LEGEND_PER_ROW;
    double height = LEGEND_TOP + LEGEND_ROW_H * (double)legend_rows + 10;

    poets_strbuf_t sb = {0};
    poets_strbuf_printf(&sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                             "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
                        SVG_W, height, SVG_W, height);
    poets_strbuf_printf(&sb, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    poets_strbuf_printf(&sb, "<text x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">"
                             "POETS runs: best value and cumulative regret</text>\n", SVG_W / 2);
    draw_axes(&sb, &best, "Best value so far", "evaluations", "best value");
    draw_axes(&sb, &regret, "Cumulative regret", "evaluations", "cumulative regret");
    for (size_t i = 0; i < n; i++) {
        const char *colour = palette[i % N_COLOURS];
        draw_line(&sb, &best, NULL, runs[i].best_so_far, runs[i].evaluations, 1, colour);
        draw_line(&sb, &regret, runs[i].regret_x, runs[i].regret_y, runs[i].n_regret, 0, colour);
        double lx = PANEL_LEFT0 + 300.0 * (double)(i % LEGEND_PER_ROW);
        double ly = LEGEND_TOP + LEGEND_ROW_H * (double)(i / LEGEND_PER_ROW);
        poets_strbuf_printf(&sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>"
                                 "<text x=\"%.1f\" y=\"%.1f\">", lx, ly, lx + 24, ly, colour, lx + 30, ly + 4);
        legend_label(&sb, runs, n, i);
        poets_strbuf_append(&sb, "</text>\n", 8);
    }
    poets_strbuf_append(&sb, "</svg>\n", 7);
    int rc = poets_write_file_atomic(out_path, sb.data, sb.len, err);
    poets_strbuf_free(&sb);
    return rc == 0 ? 0 : poets_fail_prefix(err, "--svg");
}
