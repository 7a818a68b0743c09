/* SPDX-License-Identifier: MIT */
/*
 * vmlab report: one self-contained HTML page (no network, no script, the
 * plots inline SVG) with the tour's results, the checker's findings and
 * their splats, a plot per sweep, and the Perfetto traces of the tour's
 * runs written next to it.  Like every output, a function of the inputs:
 * no dates, no timings.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/batch.h"
#include "cli/cli.h"

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* ----------------------------------------------------------- plots */

struct series {
	const char *name;
	double *y; /* one per x; NAN: no value */
};

struct plot {
	const char *title, *xlabel, *ylabel;
	const double *x;
	int n;
	struct series s[8];
	int ns;
	bool logx;
	double vline; /* > 0: a marked x (a ceiling) */
	const char *vlabel;
};

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c",
				     "#9467bd", "#ff7f0e", "#17becf"};

/* A "nice" step for about 5 ticks over [0, hi]. */
static double nice_step(double hi)
{
	double raw = hi / 5, p = pow(10, floor(log10(raw)));
	double m = raw / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void tick_label(char *buf, size_t n, double v)
{
	if (fabs(v) >= 1e6)
		snprintf(buf, n, "%.3gM", v / 1e6);
	else if (fabs(v) >= 1e4)
		snprintf(buf, n, "%.3gk", v / 1e3);
	else
		snprintf(buf, n, "%.4g", v);
}

static void svg_plot(FILE *f, const struct plot *p)
{
	const double W = 640, H = 360, L = 70, R = 170, T = 36, B = 52;
	const double pw = W - L - R, ph = H - T - B;
	assert(p->n >= 1 && p->ns >= 1);
	double x0 = p->x[0], x1 = p->x[p->n - 1], ymax = 0;
	for (int k = 0; k < p->ns; k++)
		for (int i = 0; i < p->n; i++)
			if (p->s[k].y[i] == p->s[k].y[i] && p->s[k].y[i] > ymax)
				ymax = p->s[k].y[i];
	if (ymax <= 0)
		ymax = 1;
	double ystep = nice_step(ymax);
	ymax = ceil(ymax / ystep) * ystep;
	double lx0 = p->logx ? log2(x0) : x0, lx1 = p->logx ? log2(x1) : x1;
	if (lx1 <= lx0)
		lx1 = lx0 + 1;
#define PX(v) (L + ((p->logx ? log2(v) : (v)) - lx0) / (lx1 - lx0) * pw)
#define PY(v) (T + ph - (v) / ymax * ph)
	fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		   "role=\"img\"><title>", W, H, W, H);
	esc(f, p->title);
	fputs("</title>\n", f);
	fprintf(f, "<text x=\"%.0f\" y=\"20\" class=\"t\">", L);
	esc(f, p->title);
	fputs("</text>\n", f);
	/* grid and y ticks */
	for (double v = 0; v <= ymax + ystep / 2; v += ystep) {
		char lab[32];
		tick_label(lab, sizeof(lab), v);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			   "class=\"g\"/><text x=\"%.1f\" y=\"%.1f\" "
			   "class=\"yt\">%s</text>\n",
			L, PY(v), L + pw, PY(v), L - 6, PY(v) + 4, lab);
	}
	/* x ticks: every point up to 12 of them, else about 8 */
	int every = p->n <= 12 ? 1 : (p->n + 7) / 8;
	for (int i = 0; i < p->n; i += every) {
		char lab[32];
		tick_label(lab, sizeof(lab), p->x[i]);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			   "class=\"a\"/><text x=\"%.1f\" y=\"%.1f\" "
			   "class=\"xt\">%s</text>\n",
			PX(p->x[i]), T + ph, PX(p->x[i]), T + ph + 5, PX(p->x[i]),
			T + ph + 18, lab);
	}
	fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
		   "class=\"a\"/><line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" "
		   "y2=\"%.0f\" class=\"a\"/>\n",
		L, T, L, T + ph, L, T + ph, L + pw, T + ph);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"xl\">", L + pw / 2,
		H - 10);
	esc(f, p->xlabel);
	fprintf(f, "%s</text>\n<text transform=\"translate(16 %.0f) "
		   "rotate(-90)\" class=\"xl\">", p->logx ? " (log scale)" : "",
		T + ph / 2);
	esc(f, p->ylabel);
	fputs("</text>\n", f);
	if (p->vline > 0 && p->vline >= x0 && p->vline <= x1) {
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" "
			   "class=\"v\"/><text x=\"%.1f\" y=\"%.0f\" "
			   "class=\"vt\">", PX(p->vline), T, PX(p->vline), T + ph,
			PX(p->vline) + 4, T + 12);
		esc(f, p->vlabel);
		fputs("</text>\n", f);
	}
	for (int k = 0; k < p->ns; k++) {
		const char *c = colors[k % 6];
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
			   "stroke-width=\"2\" points=\"", c);
		for (int i = 0; i < p->n; i++)
			if (p->s[k].y[i] == p->s[k].y[i])
				fprintf(f, "%s%.1f,%.1f", i ? " " : "",
					PX(p->x[i]), PY(p->s[k].y[i]));
		fputs("\"/>\n", f);
		for (int i = 0; i < p->n; i++)
			if (p->s[k].y[i] == p->s[k].y[i])
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
					   "fill=\"%s\"><title>%g: %g</title>"
					   "</circle>\n",
					PX(p->x[i]), PY(p->s[k].y[i]), c, p->x[i],
					p->s[k].y[i]);
		/* legend */
		double ly = T + 10 + 20 * k;
		fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
			   "stroke=\"%s\" stroke-width=\"3\"/><text x=\"%.0f\" "
			   "y=\"%.0f\" class=\"lg\">", L + pw + 12, ly,
			L + pw + 32, ly, c, L + pw + 38, ly + 4);
		esc(f, p->s[k].name);
		fputs("</text>\n", f);
	}
#undef PX
#undef PY
	fputs("</svg></figure>\n", f);
}

/* ---------------------------------------------------------- sweeps */

/* A sweep the report plots: scenario, one axis, the figure (row) whose
 * columns become the series. */
struct sweep_plot {
	const char *scenario; /* built-in, or report scenario */
	const char *def;      /* "-D" of the sweep */
	const char *rows[3];  /* figures to plot (each a chart) */
	const char *title[3];
	const char *xlabel, *ylabel[3];
	bool logx;
	double vline;
	const char *vlabel;
	const char *about;
};

static const struct sweep_plot sweeps[] = {
	{"flush-ceiling", "pages=1..64",
	 {"invlpg (all CPUs)", "full flushes"},
	 {"invlpg vs pages unmapped (4 CPUs)",
	  "full TLB flushes vs pages unmapped"},
	 "pages unmapped", {"invlpg instructions", "full flushes"}, false, 33,
	 "ceiling = 33",
	 "flush_tlb_kernel_range() on 4 CPUs that all cache the range: one "
	 "invlpg per page and CPU up to tlb_single_page_flush_ceiling, then a "
	 "single full flush per CPU."},
	{"guard-stacks", "stacks=1000,2000,4000,8000,16000",
	 {"VMAs added"}, {"VMAs vs thread stacks"}, "thread stacks",
	 {"VMAs added"}, true, 0, NULL,
	 "Each stack has one guard page: PROT_NONE costs VMAs, "
	 "MADV_GUARD_INSTALL markers cost none."},
	{"itlb-programs", "programs=8..1024*2",
	 {"iTLB misses"}, {"iTLB misses vs JIT programs (8 rounds)"},
	 "programs", {"iTLB misses"}, true, 0, NULL,
	 "One 4 KiB RO+X page per program against one shared 2 MiB page "
	 "(the BPF prog pack, execmem's ROX cache)."},
};

static const struct sim_builtin *report_scenario(const char *name)
{
	const struct sim_builtin *b = sim_find_scenario(
		sim_report_scenarios, sim_nr_report_scenarios, name);
	return b ? b : sim_find_builtin(name);
}

static int run_sweep(const struct sweep_plot *sp, int jobs, FILE *f)
{
	struct cli_args a;
	memset(&a, 0, sizeof(a));
	sim_opts_default(&a.o);
	a.shard_k = a.shard_n = 1;
	a.jobs = jobs;
	const struct sim_builtin *rb = report_scenario(sp->scenario);
	assert(rb);
	a.o.text = rb->text;
	a.o.text_len = rb->len;
	a.o.scenario = sp->scenario;
	a.o.defs[a.o.nr_defs++] = sp->def;
	struct batch b;
	int err = cli_make_batch("report", "sweep", &a, 1, &b);
	if (err)
		return err;
	if ((err = cli_run_batch("report", &a, &b))) {
		batch_free(&b);
		return err;
	}
	double *x = calloc(b.nr_points, sizeof(*x));
	struct point_agg *pa = calloc(b.nr_points, sizeof(*pa));
	if (!x || !pa)
		abort();
	const struct batch_axis *ax = &b.spec.axes[0];
	for (u64 p = 0; p < b.nr_points; p++) {
		x[p] = strtod(ax->values[p], NULL);
		batch_aggregate(&b, p, &pa[p]);
	}
	int status = EXIT_OK;
	for (int r = 0; r < 3 && sp->rows[r]; r++) {
		struct plot pl = {.title = sp->title[r], .xlabel = sp->xlabel,
				  .ylabel = sp->ylabel[r], .x = x,
				  .n = (int)b.nr_points, .logx = sp->logx,
				  .vline = sp->vline, .vlabel = sp->vlabel};
		/* series: the columns of the first point that have the row */
		for (int k = 0; k < pa[0].nr && pl.ns < 8; k++) {
			if (strcmp(pa[0].f[k].row, sp->rows[r]))
				continue;
			struct series *s = &pl.s[pl.ns++];
			s->name = pa[0].f[k].column;
			s->y = calloc(b.nr_points, sizeof(double));
			if (!s->y)
				abort();
			for (u64 p = 0; p < b.nr_points; p++) {
				s->y[p] = NAN;
				for (int q = 0; q < pa[p].nr; q++)
					if (pa[p].f[q].number &&
					    !strcmp(pa[p].f[q].row, sp->rows[r]) &&
					    !strcmp(pa[p].f[q].column, s->name))
						s->y[p] = pa[p].f[q].mean;
			}
		}
		if (pl.ns)
			svg_plot(f, &pl);
		else
			status = EXIT_FINDING;
		for (int k = 0; k < pl.ns; k++)
			free(pl.s[k].y);
	}
	fputs("<p class=\"about\">", f);
	esc(f, sp->about);
	fputs(" <code>vmlab run ", f);
	esc(f, rb->path);
	fprintf(f, " -D %s</code></p>\n", sp->def);
	for (u64 p = 0; p < b.nr_points; p++) {
		if (pa[p].failed)
			status = EXIT_FINDING;
		point_agg_free(&pa[p]);
	}
	free(pa);
	free(x);
	batch_free(&b);
	return status;
}

/* ------------------------------------------------------------ tour */

static void figures_table(FILE *f, const struct sim_result *r)
{
	if (!r->nr_rows)
		return;
	fputs("<table><tr><th></th>", f);
	for (int c = 0; c < r->nr_columns; c++) {
		fputs("<th>", f);
		esc(f, r->columns[c]);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (int i = 0; i < r->nr_rows; i++) {
		fputs("<tr><td class=\"n\">", f);
		esc(f, r->rows[i].name);
		fputs("</td>", f);
		for (int c = 0; c < r->nr_columns; c++) {
			char v[256];
			sim_format_value(&r->rows[i].v[c], v, sizeof(v));
			fputs("<td>", f);
			esc(f, v);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void pre_of(FILE *f, const struct sim_result *r,
		   void (*fn)(const struct sim_result *, FILE *))
{
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);
	if (!m)
		abort();
	fn(r, m);
	fclose(m);
	if (len) {
		fputs("<pre>", f);
		esc(f, s);
		fputs("</pre>\n", f);
	}
	free(s);
}

/* One built-in: its run (or, for a planted race, the first failing seed
 * explore finds), figures, verdict, splats and its trace. */
static int tour_entry(FILE *f, const struct sim_builtin *b, int jobs,
		      const char *tdir, const char *tlink)
{
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = b->name;
	o.quiet = true;
	char ex[32], d[256], note[256] = "";
	sim_describe(b->text, b->len, d, sizeof(d));
	u64 n = 0;
	bool planted = sim_header(b->text, b->len, "explore", ex, sizeof(ex)) &&
		       (n = strtoull(ex, NULL, 10)) > 0;
	if (planted) {
		struct cli_args a;
		memset(&a, 0, sizeof(a));
		a.o = o;
		a.o.policy = VMLAB_SCHED_PCT;
		a.shard_k = a.shard_n = 1;
		a.jobs = jobs;
		struct batch bt;
		if (cli_make_batch("report", "explore", &a, n, &bt))
			return EXIT_USAGE;
		int err = cli_run_batch("report", &a, &bt);
		u64 ff = err ? bt.nr_items : batch_first_failure(&bt);
		batch_free(&bt);
		if (ff == n) {
			snprintf(note, sizeof(note), "explore found no failing seed "
				 "in %llu (PCT)", (unsigned long long)n);
		} else {
			o.policy = VMLAB_SCHED_PCT;
			o.seed = 1 + ff;
			snprintf(note, sizeof(note), "a planted race: explore's "
				 "first failing seed under PCT is %llu "
				 "(vmlab replay %s --seed %llu --policy pct)",
				 (unsigned long long)o.seed, b->name,
				 (unsigned long long)o.seed);
		}
	}
	char trace[1024];
	assert(strlen(tdir) + strlen(b->name) + 7 < sizeof(trace));
	snprintf(trace, sizeof(trace), "%.500s/%.400s.json", tdir, b->name);
	o.trace = trace;
	struct sim_result r;
	sim_run(&o, &r);
	fprintf(f, "<section id=\"%s\"><h3>", b->name);
	esc(f, b->name);
	fputs("</h3><p>", f);
	esc(f, d);
	fputs("</p>\n", f);
	figures_table(f, &r);
	pre_of(f, &r, sim_print_checker);
	char v[1024];
	sim_verdict(&r, v, sizeof(v));
	bool ok = planted ? note[0] && !strncmp(note, "a planted", 9)
			  : r.status == SIM_OK;
	fprintf(f, "<p class=\"%s\">", ok ? "ok" : "bad");
	esc(f, planted ? note : v);
	fputs("</p>\n", f);
	if (r.nr_reports) {
		fprintf(f, "<details><summary>%zu checker report%s (splats)"
			   "</summary>\n", r.nr_reports,
			r.nr_reports == 1 ? "" : "s");
		pre_of(f, &r, sim_print_reports);
		fputs("</details>\n", f);
	}
	fprintf(f, "<p class=\"tr\">Trace: <a href=\"%s/%s.json\">%s.json</a> "
		   "(open it in <a href=\"https://ui.perfetto.dev\">"
		   "ui.perfetto.dev</a>, <em>Open trace file</em>)</p>"
		   "</section>\n", tlink, b->name, b->name);
	sim_result_free(&r);
	return ok ? EXIT_OK : EXIT_FINDING;
}

static const char style[] =
	"body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em "
	"auto;padding:0 1em;color:#222}h1{font-size:1.6em}h2{margin-top:2em;"
	"border-bottom:1px solid #ccc}table{border-collapse:collapse;margin:"
	".5em 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}"
	"td.n{text-align:left}pre{background:#f6f6f6;padding:.6em;overflow:"
	"auto;font-size:12px}.ok{color:#176117}.bad{color:#a11}.about{color:"
	"#555}figure{margin:1em 0}svg text{font:12px sans-serif;fill:#222}"
	"svg .t{font-size:14px;font-weight:bold}svg .yt{text-anchor:end}"
	"svg .xt,svg .xl{text-anchor:middle}svg .g{stroke:#e4e4e4}"
	"svg .a{stroke:#444}svg .v{stroke:#a11;stroke-dasharray:5 4}"
	"svg .vt{fill:#a11}nav a{margin-right:1em}";

int cmd_report(int argc, char **argv)
{
	const char *out = "vmlab-report.html";
	u64 jobs = 0;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) &&
		    i + 1 < argc)
			out = argv[++i];
		else if ((!strcmp(argv[i], "--jobs") || !strcmp(argv[i], "-j")) &&
			 i + 1 < argc && cli_parse_u64(argv[i + 1], &jobs) &&
			 jobs >= 1 && jobs <= 256)
			i++;
		else
			return cli_bad("report", "unknown option", argv[i]);
	}
	/* traces go to OUT's name without .html, plus "-traces/" */
	char tdir[512], tlink[512];
	size_t len = strlen(out);
	if (len > 5 && !strcmp(out + len - 5, ".html"))
		len -= 5;
	if (len > 400)
		return cli_bad("report", "the file name is too long", NULL);
	snprintf(tdir, sizeof(tdir), "%.*s-traces", (int)len, out);
	const char *base = strrchr(tdir, '/');
	snprintf(tlink, sizeof(tlink), "%s", base ? base + 1 : tdir);
	if (mkdir(tdir, 0777) && errno != EEXIST) {
		fprintf(stderr, "vmlab report: cannot make '%s'\n", tdir);
		return EXIT_USAGE;
	}
	FILE *f = fopen(out, "w");
	if (!f) {
		fprintf(stderr, "vmlab report: cannot write '%s'\n", out);
		return EXIT_USAGE;
	}
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
		   "charset=\"utf-8\"><title>vmlab %s report</title>\n<style>%s"
		   "</style></head>\n<body>\n<h1>vmlab %s: the tour, the "
		   "sweeps, the checker</h1>\n<p>An executable model of the "
		   "Linux memory-mapping subsystem.  Every figure below is a "
		   "function of the scenario, its parameters and its seed "
		   "(seed 1 unless stated): rerun the command shown to get it "
		   "again.</p>\n<nav><a href=\"#tour\">Tour</a><a "
		   "href=\"#sweeps\">Sweeps</a></nav>\n<h2 id=\"tour\">The tour"
		   "</h2>\n", VMLAB_VERSION, style, VMLAB_VERSION);
	int st = EXIT_OK, ok = 0;
	for (int i = 0; i < sim_nr_builtins; i++) {
		int e = tour_entry(f, &sim_builtins[i], (int)jobs, tdir, tlink);
		ok += e == EXIT_OK;
		if (e > st)
			st = e;
	}
	fprintf(f, "<p><b>%d of %d scenarios as expected.</b></p>\n", ok,
		sim_nr_builtins);
	fputs("<h2 id=\"sweeps\">Sweeps</h2>\n", f);
	for (size_t i = 0; i < sizeof(sweeps) / sizeof(sweeps[0]); i++) {
		fputs("<section>", f);
		int e = run_sweep(&sweeps[i], (int)jobs, f);
		fputs("</section>\n", f);
		if (e > st)
			st = e;
	}
	fputs("</body></html>\n", f);
	if (fclose(f)) {
		fprintf(stderr, "vmlab report: cannot write '%s'\n", out);
		return EXIT_USAGE;
	}
	printf("report: %s (traces in %s/)\n", out, tdir);
	return st;
}
