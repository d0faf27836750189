/* Dry run: replays one call through the version a number runs at the
 * simulated time, with the tenant's objects and features, using the
 * scenario library's simulator, which drives the same walk as live calls.
 * A scheduled activation counts when the simulated time is at or after
 * it, as the router would switch then. The tenant's extensions and prompt
 * lengths go in too, so a ring to a missing extension fails and the clock
 * runs as a live call's. Nothing is written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "scenario.h"
#include "scenario_sim.h"

/* Room for the path of a long call: a line per hop, 200 hops at most. */
#define SIM_OUT_MAX (64u * 1024)

/* What one run needs besides the version: loaded once per request. */
struct sim_env {
	struct provision *pv;
	const Pbx__V1__ProvRequest__ScenarioSimulate *q;
	struct scenario_objects *objs;
	bool fax;
	unsigned long long now;
	/* The tenant's extensions: a ring to any other is unavailable, as
	 * the registrar makes it on a live call. */
	struct prov_strv exts;
	/* Prompt names (owned by prompt_names) and their lengths. */
	struct prov_strv prompt_names;
	struct scenario_sim_prompt *prompts;
	size_t nprompts;
};

/* How long a stored prompt plays: its `ms` field, else the length of its
 * 8 kHz G.711 audio (1 byte per sample, 8 per ms) for a prompt stored
 * before `ms` was. */
static int prompt_length(struct provision *pv, const char *tenant,
			 const char *name, uint32_t *ms)
{
	char key[PBX_KEY_MAX], *v = NULL;
	long long bytes = 0;
	int err;

	*ms = 0;
	if (pbx_key(key, sizeof(key), tenant, "prompt:%s", name))
		return 0;
	err = prov_store_str(pv, &v, "HGET %s ms", key);
	if (!err && v) {
		*ms = (uint32_t)strtoul(v, NULL, 10);
		free(v);
		return 0;
	}
	if (!err)
		err = prov_store_int(pv, &bytes, "HSTRLEN %s ulaw", key);
	if (!err)
		*ms = (uint32_t)(bytes / 8);
	return err;
}

/* The tenant's extensions and prompt lengths into e. */
static int tenant_load(struct sim_env *e)
{
	const char *tenant = prov_str(e->q->tenant);
	int err;

	err = prov_store_members(e->pv, tenant, "exts", &e->exts);
	if (!err)
		err = prov_store_members(e->pv, tenant, "prompts",
					 &e->prompt_names);
	if (err || !e->prompt_names.n)
		return err;
	e->prompts = calloc(e->prompt_names.n, sizeof(*e->prompts));
	if (!e->prompts)
		return -ENOMEM;
	for (size_t i = 0; !err && i < e->prompt_names.n; i++) {
		e->prompts[i].name = e->prompt_names.v[i];
		err = prompt_length(e->pv, tenant, e->prompt_names.v[i],
				    &e->prompts[i].ms);
		e->nprompts = i + 1;
	}
	return err;
}

static void trim_newlines(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
}

static void input_fill(struct scenario_sim_input *in,
		       const struct sim_env *e)
{
	const Pbx__V1__ProvRequest__ScenarioSimulate *q = e->q;

	memset(in, 0, sizeof(*in));
	in->caller = prov_str(q->caller);
	in->at = prov_str(q->at);
	in->timezone = prov_str(q->timezone);
	in->now_ms = (int64_t)e->now;
	in->dtmf = (const char *const *)q->dtmf;
	in->ndtmf = q->n_dtmf;
	in->say = (const char *const *)q->say;
	in->nsay = q->n_say;
	in->agents = prov_str(q->agents);
	in->no_answer = (const char *const *)q->no_answer;
	in->nno_answer = q->n_no_answer;
	in->busy = (const char *const *)q->busy;
	in->nbusy = q->n_busy;
	in->unavailable = (const char *const *)q->unavailable;
	in->nunavailable = q->n_unavailable;
	in->crm_owner = prov_str(q->crm_owner);
	in->fax_disabled = !e->fax;
	in->extensions = (const char *const *)e->exts.v;
	in->nextensions = e->exts.n;
	in->extensions_known = true;
	in->prompts = e->prompts;
	in->nprompts = e->nprompts;
}

/* Simulates the call on one version; out gets the path (SIM_OUT_MAX). */
static int run_one(const struct sim_env *e, const char *name,
		   long long version, char *out,
		   struct scenario_sim_result *res, struct prov_reply *r)
{
	const char *tenant = prov_str(e->q->tenant);
	struct scenario_sim_input in;
	struct scenario_report *rep = NULL;
	struct scenario *sc = NULL;
	char *json = NULL;
	int err;

	err = prov_scenario_load(e->pv, tenant, name, version, &json);
	if (!err && !json)
		err = prov_fail(r, -EIO, "scenario %s v%lld is missing", name,
				version);
	if (err)
		return err;
	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		err = -ENOMEM;
		goto out;
	}
	/* Loaded exactly as the router loads it (references were checked
	 * when the version was put; the walk meets a missing object the way
	 * a live call would). */
	err = scenario_parse(&sc, json, NULL, NULL, rep);
	if (err == -EINVAL) {
		rep->text[sizeof(rep->text) - 1] = '\0';
		trim_newlines(rep->text);
		err = prov_fail(r, -EINVAL,
				"scenario %s v%lld does not load:\n%s", name,
				version, rep->text);
	}
	if (err)
		goto out;
	input_fill(&in, e);
	out[0] = '\0';
	err = scenario_sim_run(sc, e->objs, &in, out, SIM_OUT_MAX, res);
	if (err == -EINVAL) {
		trim_newlines(out);
		err = prov_fail(r, -EINVAL, "%s",
				out[0] ? out
				       : "the simulation input is not valid");
	}
out:
	scenario_free(sc);
	free(rep);
	free(json);
	return err;
}

int prov_simulate(struct provision *pv,
		  const Pbx__V1__ProvRequest__ScenarioSimulate *q,
		  struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *number = prov_str(q->number);
	struct sim_env e = {.pv = pv, .q = q, .now = pbx_clock_now_ms()};
	struct scenario_sim_result res;
	const char *name;
	long long version;
	struct prov_pair p;
	char *out = NULL;
	int err;

	err = prov_number_check_owned(pv, r, tenant, number);
	if (err)
		return err;
	err = prov_number_pair(pv, tenant, number, e.now, &p);
	if (err == -ENOENT || (!err && !p.scenario[0]))
		return prov_fail(r, -ENOENT,
				 "number %s has no active scenario yet",
				 number);
	if (err)
		return err;
	err = prov_object_load(pv, tenant, &e.objs);
	if (!err)
		err = prov_feature_enabled(pv, tenant, "fax", &e.fax);
	if (!err)
		err = tenant_load(&e);
	out = malloc(SIM_OUT_MAX);
	if (!err && !out)
		err = -ENOMEM;
	if (err)
		goto out;
	name = p.scenario;
	version = p.version;
	err = run_one(&e, name, version, out, &res, r);
	/* The simulated time is only known once the version's zone has read
	 * `at`: a call at or after a scheduled switch runs the new version
	 * (judged by the time as that version reads it). */
	if (!err && p.pending_scenario[0] &&
	    (unsigned long long)res.at_ms >= p.pending_at_ms) {
		err = run_one(&e, p.pending_scenario, p.pending_version, out,
			      &res, r);
		if (!err && (unsigned long long)res.at_ms < p.pending_at_ms) {
			/* Its zone puts the time before the switch. */
			err = run_one(&e, name, version, out, &res, r);
		} else {
			name = p.pending_scenario;
			version = p.pending_version;
		}
	}
	if (!err && asprintf(&r->body, "number %s runs scenario %s v%lld\n%s",
			     number, name, version, out) < 0) {
		r->body = NULL;
		err = -ENOMEM;
	}
out:
	scenario_objects_free(e.objs);
	prov_strv_reset(&e.exts);
	prov_strv_reset(&e.prompt_names);
	free(e.prompts);
	free(out);
	return err;
}
