/* SPDX-License-Identifier: MIT */
/*
 * Running a batch: sweep axes, items (point x seed), shards, worker
 * processes and the progress bar.  Every item is a pure function of the
 * scenario, its defs and its seed, so the records do not depend on how
 * many workers ran them or in which order they finished: the parent
 * stores each record at its item's index and reads them in index order.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/batch.h"

char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static void axis_add(struct batch_axis *ax, const char *v)
{
	if ((ax->nr_values & (ax->nr_values - 1)) == 0) {
		int cap = ax->nr_values ? 2 * ax->nr_values : 1;
		char **vs = realloc(ax->values, (size_t)cap * sizeof(*vs));
		char **ds = vs ? realloc(ax->defs, (size_t)cap * sizeof(*ds)) : NULL;
		if (!vs || !ds)
			abort();
		ax->values = vs;
		ax->defs = ds;
	}
	size_t n = strlen(ax->name) + strlen(v) + 2;
	char *d = malloc(n);
	if (!d)
		abort();
	snprintf(d, n, "%s=%s", ax->name, v);
	ax->values[ax->nr_values] = xstrdup(v);
	ax->defs[ax->nr_values++] = d;
}

static bool parse_s64(const char *s, const char *end, long long *out)
{
	char *e;
	if (s == end)
		return false;
	errno = 0;
	long long v = strtoll(s, &e, 0);
	if (e != end || errno)
		return false;
	*out = v;
	return true;
}

/* "a..b", "a..b*f", "a..b+s": 1 on success, 0 when s is not a range,
 * -1 when it is a bad one. */
static int parse_range(struct batch_axis *ax, const char *s, char *err,
		       size_t n)
{
	const char *dots = strstr(s, "..");
	if (!dots)
		return 0;
	const char *op = dots + 2 + strcspn(dots + 2, "*+");
	long long a, b, step = 1;
	char how = *op ? *op : '+';
	if (!parse_s64(s, dots, &a) || !parse_s64(dots + 2, op, &b) ||
	    (*op && !parse_s64(op + 1, op + strlen(op), &step))) {
		snprintf(err, n, "-D %s: a range is A..B, A..B*F or A..B+S "
				 "with integers", ax->name);
		return -1;
	}
	if ((how == '+' && step <= 0) || (how == '*' && (step < 2 || a <= 0)) ||
	    b < a) {
		snprintf(err, n, "-D %s: the range %s never reaches its end "
				 "(need A <= B, S > 0, F >= 2 and A > 0 with F)",
			 ax->name, s);
		return -1;
	}
	for (long long v = a; v <= b; v = how == '*' ? v * step : v + step) {
		if (ax->nr_values >= BATCH_MAX_VALUES) {
			snprintf(err, n, "-D %s: more than %d values", ax->name,
				 BATCH_MAX_VALUES);
			return -1;
		}
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", v);
		axis_add(ax, buf);
		if ((how == '*' && v > b / step) || (how == '+' && v > b - step))
			break; /* the next one passes b (and would overflow) */
	}
	return 1;
}

int batch_parse_axis(const char *def, struct batch_axis *ax, char *err,
		     size_t n)
{
	memset(ax, 0, sizeof(*ax));
	const char *eq = strchr(def, '=');
	if (!eq || eq == def) {
		snprintf(err, n, "-D needs name=value, got '%s'", def);
		return -1;
	}
	ax->name = malloc((size_t)(eq - def) + 1);
	if (!ax->name)
		abort();
	memcpy(ax->name, def, (size_t)(eq - def));
	ax->name[eq - def] = 0;
	const char *p = eq + 1;
	do {
		size_t len = strcspn(p, ",");
		char v[256];
		if (len >= sizeof(v) || (len == 0 && strchr(eq + 1, ','))) {
			snprintf(err, n, "-D %s: empty or too long value in '%s'",
				 ax->name, eq + 1);
			return -1;
		}
		memcpy(v, p, len);
		v[len] = 0;
		int r = parse_range(ax, v, err, n);
		if (r < 0)
			return -1;
		if (r == 0)
			axis_add(ax, v);
		p += len + (p[len] == ',');
	} while (*p);
	if (!ax->nr_values) /* -D name= */
		axis_add(ax, "");
	assert(ax->nr_values >= 1);
	return 0;
}

bool batch_parse_shard(const char *s, int *k, int *n)
{
	if (!s)
		return false;
	char *e;
	long a = strtol(s, &e, 10);
	if (e == s || *e != '/')
		return false;
	char *e2;
	long b = strtol(e + 1, &e2, 10);
	if (e2 == e + 1 || *e2 || a < 1 || b < 1 || a > b || b > 1000000)
		return false;
	*k = (int)a;
	*n = (int)b;
	return true;
}

void batch_spec_free(struct batch_spec *s)
{
	for (int a = 0; a < s->nr_axes; a++) {
		for (int v = 0; v < s->axes[a].nr_values; v++) {
			free(s->axes[a].values[v]);
			free(s->axes[a].defs[v]);
		}
		free(s->axes[a].values);
		free(s->axes[a].defs);
		free(s->axes[a].name);
	}
	free(s->axes);
	free(s->kind);
	free(s->scenario);
	free(s->policy);
	free(s->mutants);
	memset(s, 0, sizeof(*s));
}

void batch_init(struct batch *b)
{
	const struct batch_spec *s = &b->spec;
	assert(s->runs >= 1 && s->shard_k >= 1 && s->shard_k <= s->shard_n);
	b->nr_points = 1;
	for (int a = 0; a < s->nr_axes; a++)
		b->nr_points *= (u64)s->axes[a].nr_values;
	b->nr_items = b->nr_points * s->runs;
	b->rec = calloc(b->nr_items, sizeof(*b->rec));
	if (!b->rec)
		abort();
}

void batch_record_free(struct batch_record *rec)
{
	for (int i = 0; i < rec->nr_figs; i++) {
		free(rec->figs[i].column);
		free(rec->figs[i].row);
		free(rec->figs[i].text);
	}
	free(rec->figs);
	free(rec->hash);
	free(rec->check);
	free(rec->error);
	memset(rec, 0, sizeof(*rec));
}

void batch_free(struct batch *b)
{
	for (u64 i = 0; b->rec && i < b->nr_items; i++)
		batch_record_free(&b->rec[i]);
	free(b->rec);
	batch_spec_free(&b->spec);
	memset(b, 0, sizeof(*b));
}

u64 batch_item_point(const struct batch *b, u64 i)
{
	assert(i < b->nr_items);
	return i / b->spec.runs;
}

u64 batch_item_seed(const struct batch *b, u64 i)
{
	assert(i < b->nr_items);
	return b->spec.first_seed + i % b->spec.runs;
}

void batch_point_defs(const struct batch *b, u64 point, const char **defs)
{
	assert(point < b->nr_points && b->spec.nr_axes <= SIM_MAX_DEFS);
	/* The first axis varies slowest: the table reads like nested loops
	 * in the order the -D options were given. */
	for (int a = b->spec.nr_axes - 1; a >= 0; a--) {
		const struct batch_axis *ax = &b->spec.axes[a];
		defs[a] = ax->defs[point % (u64)ax->nr_values];
		point /= (u64)ax->nr_values;
	}
}

bool batch_in_shard(const struct batch *b, u64 i)
{
	/* Round robin over items: every shard gets a share of every point
	 * and of the low seeds explore reaches first. */
	return i % (u64)b->spec.shard_n == (u64)(b->spec.shard_k - 1);
}

/* ---------------------------------------------------------- records */

static void fig_text(const struct sim_value *v, struct batch_fig *fg)
{
	char buf[64];
	fg->number = true;
	switch (v->type) {
	case SV_INT: snprintf(buf, sizeof(buf), "%lld", (long long)v->i); break;
	case SV_NUM:
		if (v->d == v->d && v->d - v->d == 0) {
			snprintf(buf, sizeof(buf), "%.17g", v->d);
		} else {
			snprintf(buf, sizeof(buf), "%s", "null");
			fg->number = false;
		}
		break;
	case SV_BOOL:
		snprintf(buf, sizeof(buf), "%s", v->i ? "true" : "false");
		fg->number = false;
		break;
	default:
		fg->number = false;
		fg->text = xstrdup(v->s);
		return;
	}
	fg->text = xstrdup(buf);
}

void batch_record_from(struct batch_record *rec, const struct sim_result *r,
		       bool figures)
{
	memset(rec, 0, sizeof(*rec));
	rec->present = true;
	rec->status = (int)r->status;
	rec->nr_reports = r->nr_reports;
	for (size_t i = 0; i < r->nr_reports; i++) {
		if (r->reports[i].expected)
			continue;
		if (!rec->unexpected++)
			rec->check = xstrdup(r->reports[i].check);
	}
	char h[32];
	snprintf(h, sizeof(h), "%#llx", (unsigned long long)r->hash);
	rec->hash = xstrdup(h);
	if (r->error) {
		size_t len = strcspn(r->error, "\n");
		rec->error = xstrdup(r->error);
		rec->error[len] = 0;
	}
	if (!figures)
		return;
	size_t cap = (size_t)r->nr_columns * (size_t)r->nr_rows;
	rec->figs = calloc(cap ? cap : 1, sizeof(*rec->figs));
	if (!rec->figs)
		abort();
	for (int c = 0; c < r->nr_columns; c++)
		for (int i = 0; i < r->nr_rows; i++) {
			if (r->rows[i].v[c].type == SV_NONE)
				continue;
			struct batch_fig *fg = &rec->figs[rec->nr_figs++];
			fg->column = xstrdup(r->columns[c]);
			fg->row = xstrdup(r->rows[i].name);
			fig_text(&r->rows[i].v[c], fg);
		}
	assert((size_t)rec->nr_figs <= cap);
}

static int run_item(struct batch *b, const struct sim_opts *base, u64 i,
		    struct batch_record *rec)
{
	struct sim_opts o = *base;
	const char *defs[SIM_MAX_DEFS];
	batch_point_defs(b, batch_item_point(b, i), defs);
	for (int a = 0; a < b->spec.nr_axes; a++)
		o.defs[a] = defs[a];
	o.nr_defs = b->spec.nr_axes;
	o.seed = batch_item_seed(b, i);
	o.out = NULL;
	o.quiet = true;
	o.trace = NULL;
	struct sim_result r;
	sim_run(&o, &r);
	batch_record_from(rec, &r, b->figures);
	sim_result_free(&r);
	return rec->status;
}

u64 batch_first_failure(const struct batch *b)
{
	for (u64 i = 0; i < b->nr_items; i++)
		if (b->rec[i].present && b->rec[i].status != SIM_OK)
			return i;
	return b->nr_items;
}

/* All shard items below `upto` have records. */
static bool done_below(const struct batch *b, u64 upto)
{
	for (u64 i = 0; i < upto && i < b->nr_items; i++)
		if (batch_in_shard(b, i) && !b->rec[i].present)
			return false;
	return true;
}

int batch_default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* --------------------------------------------------------- workers */

struct worker {
	pid_t pid;
	int fd;
	char *buf;
	size_t len, cap;
};

/* The child: its stripe of the shard's items, one record line each. */
static void worker_main(struct batch *b, const struct sim_opts *base,
			int w, int jobs, int fd)
{
	FILE *f = fdopen(fd, "w");
	if (!f)
		_exit(3);
	u64 j = 0;
	for (u64 i = 0; i < b->nr_items; i++) {
		if (!batch_in_shard(b, i))
			continue;
		if (j++ % (u64)jobs != (u64)w)
			continue;
		int st = run_item(b, base, i, &b->rec[i]);
		batch_print_record(b, i, f);
		fflush(f);
		batch_record_free(&b->rec[i]);
		if (st == SIM_USAGE || (st != SIM_OK && b->stop_at_failure))
			break; /* its later items are past this one */
	}
	fclose(f);
	_exit(0); /* no atexit handlers: the parent owns the batch */
}

static int take_lines(struct batch *b, struct worker *wk, char *err,
		      size_t n)
{
	char *nl;
	size_t off = 0;
	while ((nl = memchr(wk->buf + off, '\n', wk->len - off))) {
		*nl = 0;
		struct jnode *j = json_parse(wk->buf + off, err, n);
		if (!j || batch_record_from_json(b, j, err, n)) {
			json_free(j);
			return -1;
		}
		json_free(j);
		off = (size_t)(nl - wk->buf) + 1;
	}
	memmove(wk->buf, wk->buf + off, wk->len - off);
	wk->len -= off;
	return 0;
}

static bool should_stop(const struct batch *b, int *usage)
{
	for (u64 i = 0; i < b->nr_items; i++)
		if (b->rec[i].present && b->rec[i].status == SIM_USAGE)
			*usage = 1;
	if (*usage)
		return true;
	if (!b->stop_at_failure)
		return false;
	u64 ff = batch_first_failure(b);
	return ff < b->nr_items && done_below(b, ff);
}

static u64 count_present(const struct batch *b)
{
	u64 n = 0;
	for (u64 i = 0; i < b->nr_items; i++)
		n += b->rec[i].present;
	return n;
}

static int run_workers(struct batch *b, const struct sim_opts *base,
		       int jobs, struct progress *pg, char *err, size_t n)
{
	struct worker *wk = calloc((size_t)jobs, sizeof(*wk));
	struct pollfd *pfd = calloc((size_t)jobs, sizeof(*pfd));
	if (!wk || !pfd)
		abort();
	fflush(stdout);
	fflush(stderr);
	for (int w = 0; w < jobs; w++) {
		int p[2];
		if (pipe(p))
			abort();
		pid_t pid = fork();
		if (pid < 0)
			abort();
		if (pid == 0) {
			close(p[0]);
			for (int k = 0; k < w; k++)
				close(wk[k].fd);
			worker_main(b, base, w, jobs, p[1]);
		}
		close(p[1]);
		wk[w].pid = pid;
		wk[w].fd = p[0];
	}
	int open = jobs, usage = 0, bad = 0;
	while (open && !bad) {
		int np = 0;
		for (int w = 0; w < jobs; w++)
			if (wk[w].fd >= 0)
				pfd[np++] = (struct pollfd){.fd = wk[w].fd,
							     .events = POLLIN};
		if (poll(pfd, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		for (int w = 0; w < jobs && !bad; w++) {
			if (wk[w].fd < 0)
				continue;
			int k = 0;
			while (k < np && pfd[k].fd != wk[w].fd)
				k++;
			if (k == np || !pfd[k].revents)
				continue;
			if (wk[w].len + 4096 > wk[w].cap) {
				wk[w].cap = wk[w].cap ? 2 * wk[w].cap : 65536;
				wk[w].buf = realloc(wk[w].buf, wk[w].cap);
				if (!wk[w].buf)
					abort();
			}
			ssize_t got = read(wk[w].fd, wk[w].buf + wk[w].len,
					   wk[w].cap - wk[w].len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(wk[w].fd);
				wk[w].fd = -1;
				open--;
				continue;
			}
			wk[w].len += (size_t)got;
			if (take_lines(b, &wk[w], err, n))
				bad = 1;
		}
		progress_step(pg, count_present(b));
		if (!bad && should_stop(b, &usage))
			break;
	}
	for (int w = 0; w < jobs; w++) {
		if (wk[w].fd >= 0) {
			kill(wk[w].pid, SIGTERM); /* only our own workers */
			close(wk[w].fd);
		}
		int status;
		while (waitpid(wk[w].pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!bad && WIFEXITED(status) && WEXITSTATUS(status) &&
		    !usage) {
			snprintf(err, n, "worker %d failed (exit %d)", w,
				 WEXITSTATUS(status));
			bad = 1;
		}
		free(wk[w].buf);
	}
	free(wk);
	free(pfd);
	return bad ? -1 : usage;
}

static const char *usage_error(const struct batch *b)
{
	for (u64 i = 0; i < b->nr_items; i++)
		if (b->rec[i].present && b->rec[i].status == SIM_USAGE)
			return b->rec[i].error ? b->rec[i].error : "usage error";
	return NULL;
}

int batch_run(struct batch *b, const struct sim_opts *base, int jobs,
	      bool bar, char *err, size_t n)
{
	assert(b->rec && jobs >= 1);
	err[0] = 0;
	u64 mine = 0;
	for (u64 i = 0; i < b->nr_items; i++)
		mine += batch_in_shard(b, i);
	if ((u64)jobs > mine)
		jobs = mine ? (int)mine : 1;
	struct progress pg;
	progress_start(&pg, bar, mine, "runs");
	int usage = 0;
	if (jobs == 1) {
		u64 done = 0;
		for (u64 i = 0; i < b->nr_items && !usage; i++) {
			if (!batch_in_shard(b, i))
				continue;
			int st = run_item(b, base, i, &b->rec[i]);
			progress_step(&pg, ++done);
			usage = st == SIM_USAGE;
			if (st != SIM_OK && b->stop_at_failure)
				break;
		}
	} else {
		usage = run_workers(b, base, jobs, &pg, err, n);
	}
	progress_end(&pg);
	if (usage < 0)
		return SIM_USAGE;
	if (usage) {
		snprintf(err, n, "%s", usage_error(b));
		return SIM_USAGE;
	}
	/* Explore: what the serial run would have run, no more. */
	if (b->stop_at_failure) {
		u64 ff = batch_first_failure(b);
		for (u64 i = ff + 1; i < b->nr_items; i++)
			batch_record_free(&b->rec[i]);
	}
	return SIM_OK;
}

/* ---------------------------------------------------------- progress */

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_start(struct progress *p, bool tty, u64 total,
		    const char *what)
{
	memset(p, 0, sizeof(*p));
	p->on = tty && isatty(STDERR_FILENO);
	p->total = total;
	p->what = what;
	if (p->on)
		p->t0 = wall();
}

/* Only what is drawn depends on the clock, never what is computed. */
void progress_step(struct progress *p, u64 done)
{
	if (!p->on || done == p->done)
		return;
	p->done = done;
	double t = wall() - p->t0;
	if (!p->shown && t < 1.0)
		return;
	p->shown = true;
	int w = 40, fill = (int)(done * (u64)w / (p->total ? p->total : 1));
	double eta = done ? t * (double)(p->total - done) / (double)done : 0;
	fprintf(stderr, "\r[%.*s%*s] %llu/%llu %s, %.0fs left ", fill,
		"########################################", w - fill, "",
		(unsigned long long)done, (unsigned long long)p->total,
		p->what, eta);
	fflush(stderr);
}

void progress_clear(struct progress *p)
{
	if (p->on && p->shown)
		fputs("\r\033[K", stderr);
}

void progress_end(struct progress *p)
{
	if (p->on && p->shown)
		fputs("\r\033[K", stderr);
	p->on = false;
}
