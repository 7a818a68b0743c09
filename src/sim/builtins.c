/* SPDX-License-Identifier: MIT */
/* Built-in scenarios: lookup and the header lines `vmlab list` shows. */
#include <assert.h>
#include <string.h>

#include "sim/sim.h"

const struct sim_builtin *sim_find_scenario(const struct sim_builtin *t,
					    int n, const char *name)
{
	assert(name && n >= 0 && (t || !n));
	for (int i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

const struct sim_builtin *sim_find_builtin(const char *name)
{
	return sim_find_scenario(sim_builtins, sim_nr_builtins, name);
}

/* Next line of [p, end): its start in *line and length in *n. */
static const char *next_line(const char *p, const char *end,
			     const char **line, size_t *n)
{
	*line = p;
	while (p < end && *p != '\n')
		p++;
	*n = (size_t)(p - *line);
	return p < end ? p + 1 : p;
}

void sim_describe(const char *text, size_t len, char *out, size_t n)
{
	assert(out && n > 0);
	out[0] = 0;
	const char *p = text, *end = text + len, *line;
	size_t ln;
	while (p < end) {
		p = next_line(p, end, &line, &ln);
		if (ln < 3 || strncmp(line, "--", 2))
			continue;
		line += 2;
		ln -= 2;
		while (ln && *line == ' ') {
			line++;
			ln--;
		}
		/* "name: description" -> "description" */
		const char *colon = memchr(line, ':', ln);
		if (colon && colon + 1 < line + ln && colon[1] == ' ' &&
		    !memchr(line, ' ', (size_t)(colon - line))) {
			ln -= (size_t)(colon + 2 - line);
			line = colon + 2;
		}
		snprintf(out, n, "%.*s", (int)ln, line);
		return;
	}
}

bool sim_header(const char *text, size_t len, const char *key, char *out,
		size_t n)
{
	assert(key && out && n > 0);
	const char *p = text, *end = text + len, *line;
	size_t ln, kl = strlen(key);
	while (p < end) {
		p = next_line(p, end, &line, &ln);
		if (ln < 2 || strncmp(line, "--", 2))
			break; /* the header is the leading comment block */
		line += 2;
		ln -= 2;
		while (ln && *line == ' ') {
			line++;
			ln--;
		}
		if (ln > kl + 1 && !strncmp(line, key, kl) && line[kl] == ':') {
			line += kl + 1;
			ln -= kl + 1;
			while (ln && *line == ' ') {
				line++;
				ln--;
			}
			snprintf(out, n, "%.*s", (int)ln, line);
			return true;
		}
	}
	return false;
}
