/* SPDX-License-Identifier: MIT */
/*
 * Running the mutant catalogue (include/vmlab/mutant.h): each mutant's
 * scenario explored with the bug on until it fails, and with it off for
 * the same seeds, which must all pass.  Deterministic: seeds 1..N, PCT
 * with depth 3 (explore's default), no host time (the command adds it).
 */
#include <stdlib.h>

#include "sim/lsim.h"

static const struct sim_builtin *mutant_scenario(const char *name)
{
	return sim_find_scenario(sim_mutant_scenarios, sim_nr_mutant_scenarios,
				 name);
}

static void opts_for(struct sim_opts *o, const struct sim_builtin *b, int id,
		     bool on)
{
	sim_opts_default(o);
	o->scenario = b->name;
	o->text = b->text;
	o->text_len = b->len;
	o->quiet = true;
	o->policy = VMLAB_SCHED_PCT;
	o->depth = 3;
	/* A race deeper than PCT's three can reach in its seeds (a thread
	 * that must run at several given points of another) says so in its
	 * header; the seeds are then uniform random schedules. */
	if (memmem(b->text, b->len, "\n-- policy: random\n",
		   strlen("\n-- policy: random\n")))
		o->policy = VMLAB_SCHED_RANDOM;
	if (on)
		o->mutants[id / 64] |= 1ULL << (id % 64);
	o->pct_steps = sim_calibrate(o);
	assert(o->pct_steps >= 1);
}

int sim_mutant_run(int id, u64 seeds, struct sim_mutant_outcome *out)
{
	const struct vmlab_mutant_info *mi = vmlab_mutant_info(id);
	assert(out);
	memset(out, 0, sizeof(*out));
	if (!mi)
		return -VMLAB_EINVAL;
	const struct sim_builtin *b = mutant_scenario(mi->scenario);
	if (!b)
		return -VMLAB_EINVAL;
	out->seeds = seeds ? seeds : (u64)mi->seeds;
	struct sim_opts o;
	struct sim_result r;
	opts_for(&o, b, id, true);
	for (u64 s = 1; s <= out->seeds && !out->first_catch; s++) {
		o.seed = s;
		if (sim_run(&o, &r) != SIM_OK) {
			out->first_catch = s;
			out->on_error = lsim_strdup(r.error ? r.error : "failed");
			out->check_named = !strcmp(mi->check, "outcome") ||
					   strstr(out->on_error, mi->check);
			/* A scenario assertion may stop the run first: the
			 * checker's report then names the catch. */
			for (size_t i = 0; i < r.nr_reports; i++)
				out->check_named |= !r.reports[i].expected &&
						    !strcmp(r.reports[i].check,
							    mi->check);
		}
		sim_result_free(&r);
	}
	opts_for(&o, b, id, false);
	for (u64 s = 1; s <= out->seeds; s++) {
		o.seed = s;
		if (sim_run(&o, &r) != SIM_OK) {
			if (!out->off_error)
				out->off_error =
					lsim_strdup(r.error ? r.error : "failed");
			out->false_pos++;
		}
		sim_result_free(&r);
	}
	assert(out->first_catch <= out->seeds);
	return 0;
}

void sim_mutant_outcome_free(struct sim_mutant_outcome *out)
{
	if (!out)
		return;
	free(out->on_error);
	free(out->off_error);
	memset(out, 0, sizeof(*out));
}

bool sim_mutant_ok(int id, const struct sim_mutant_outcome *out)
{
	(void)id;
	assert(vmlab_mutant_info(id) && out);
	return out->first_catch && out->check_named && !out->false_pos;
}
