/* Queues from the provisioning side: an agent's login, logout, pause and
 * resume (pbxctl queue agent), and the statistics of a tenant's queues
 * (pbxctl queue stats). Both run the queue-manager's own script
 * (services/queue-manager/qm.lua) on the provisioning connection, so an
 * agent's state has one set of rules whoever changes it; an agent made
 * free here gets a wake-up timer that a queue-manager fires to offer it
 * the waiting callers (docs/services/queue-manager.md). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "qm_script.h"
#include "scenario.h"

#define QUEUE_PREFIX "queue:"

static const char *const actions[] = {"login", "logout", "pause", "resume"};

/* Runs op of the queue script with the arguments in a (reset after);
 * *rp gets the list of events. */
static int run(struct provision *pv, const char *tenant, const char *op,
	       struct qm_args *a, redisReply **rp)
{
	struct qm_args all = {0};
	const char **argv = NULL;
	size_t *argvlen = NULL;
	int err = qm_script_head(&all, tenant, op, pbx_clock_now_ms());

	for (int i = 0; !err && i < a->n; i++)
		qm_args_add(&all, a->v[i]);
	if (!err && (a->err || all.err))
		err = -ENOMEM;
	if (!err) {
		argv = calloc((size_t)all.n, sizeof(*argv));
		argvlen = calloc((size_t)all.n, sizeof(*argvlen));
		if (!argv || !argvlen)
			err = -ENOMEM;
	}
	if (!err) {
		qm_script_argv(&all, NULL, argv, argvlen);
		err = prov_store_argv(pv, rp, all.n, argv, argvlen);
	}
	if (!err && (*rp)->type != REDIS_REPLY_ARRAY)
		err = -EIO;
	free(argv);
	free(argvlen);
	qm_args_reset(&all);
	qm_args_reset(a);
	return err;
}

/* Field i of event ev of a script reply, "" when absent. */
static const char *ev_str(const redisReply *ev, size_t i)
{
	return ev->type == REDIS_REPLY_ARRAY && i < ev->elements &&
			       ev->element[i]->type == REDIS_REPLY_STRING
		       ? ev->element[i]->str
		       : "";
}

/* A run by provisioning ends like any other: the tenant is one the
 * sweep walks, and its timer-index entry follows the run's "due" event,
 * so a wake-up it scheduled is fired by a queue-manager. */
static int note_due(struct provision *pv, const char *tenant,
		    const redisReply *events)
{
	char kdue[PBX_KEY_MAX], kseq[PBX_KEY_MAX], kten[PBX_KEY_MAX];
	const redisReply *ev;

	if (!events->elements)
		return -EIO;
	ev = events->element[events->elements - 1];
	if (strcmp(ev_str(ev, 0), "due"))
		return -EIO;
	if (qm_script_due_keys(kdue, kseq, sizeof(kdue)) ||
	    pbx_key_sys_of(kten, sizeof(kten), PBX_KS_QM_TENANTS))
		return -EINVAL;
	return prov_store_do(pv, "EVAL %s 2 %s %s %s %s %s", qm_due_lua, kdue,
			     kseq, tenant,
			     *ev_str(ev, 1) ? ev_str(ev, 1) : "0",
			     ev_str(ev, 2));
}

static const char *state_name(const char *st)
{
	return strcmp(st, "out") ? st : "logged_out";
}

static int agent_known(struct provision *pv, struct prov_reply *r,
		       const char *tenant, const char *agent)
{
	char key[PBX_KEY_MAX];
	long long member = 0;
	int err;

	if (pbx_key(key, sizeof(key), tenant, "exts"))
		return -EINVAL;
	err = prov_store_int(pv, &member, "SISMEMBER %s %s", key, agent);
	if (!err && !member)
		err = prov_fail(r, -ENOENT,
				"extension %s is not an extension of "
				"tenant %s",
				agent, tenant);
	return err;
}

/* The tenant's queue names (from its objects hash) and its compiled
 * objects; the caller frees both. */
static int tenant_queues(struct provision *pv, const char *tenant,
			 struct prov_strv *names,
			 struct scenario_objects **objs)
{
	char key[PBX_KEY_MAX];
	int err;

	if (pbx_key_of(key, sizeof(key), tenant, PBX_K_OBJECTS))
		return -EINVAL;
	err = prov_store_list(pv, names, "HKEYS %s", key);
	if (!err)
		err = prov_object_load(pv, tenant, objs);
	return err;
}

/* A number is an agent of the tenant when one of its queues lists it
 * (as {"external": N} or {"mobile": N}): no record is made for numbers
 * nobody lists. */
static int number_agent_known(struct provision *pv, struct prov_reply *r,
			      const char *tenant, const char *id)
{
	struct scenario_objects *objs = NULL;
	struct prov_strv names = {.v = NULL};
	bool listed = false;
	int err = tenant_queues(pv, tenant, &names, &objs);

	for (size_t i = 0; !err && !listed && i < names.n; i++) {
		struct scenario_queue q;

		if (strncmp(names.v[i], QUEUE_PREFIX, strlen(QUEUE_PREFIX)) ||
		    scenario_objects_queue(objs,
					   names.v[i] + strlen(QUEUE_PREFIX),
					   &q))
			continue;
		for (size_t j = 0; j < q.nagents && !listed; j++)
			listed = !strcmp(q.agents[j], id);
	}
	prov_strv_reset(&names);
	scenario_objects_free(objs);
	if (!err && !listed)
		err = prov_fail(r, -ENOENT,
				"number %s is not an agent of any queue of "
				"tenant %s",
				id, tenant);
	return err;
}

int prov_queue_agent(struct provision *pv,
		     const Pbx__V1__ProvRequest__QueueAgent *q,
		     struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant), *agent = prov_str(q->agent);
	const char *action = prov_str(q->action);
	const char *reason = prov_str(q->reason);
	struct qm_args a = {0};
	redisReply *rep = NULL;
	char key[PBX_KEY_MAX], num[SCENARIO_AGENT_NUMBER_MAX];
	bool known = false;
	/* An extension has at most 8 digits, a number agent 10 or more:
	 * a number in any form is the agent "+<digits>". */
	bool is_num = scenario_agent_number(agent, num, sizeof(num)) > 0;
	int err;

	if (is_num)
		agent = num;
	err = prov_check_tenant(r, tenant);
	if (!err && !is_num)
		err = prov_check_id(r, "agent", agent);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(actions) / sizeof(*actions); i++)
		known |= !strcmp(action, actions[i]);
	if (!known)
		return prov_fail(r, -EINVAL,
				 "action is login, logout, pause or resume");
	if (reason[0] && strcmp(action, "pause"))
		return prov_fail(r, -EINVAL, "only a pause has a reason");
	if (!qm_script_reason_valid(reason))
		return prov_fail(r, -EINVAL,
				 "reason must be at most 64 printable "
				 "characters");
	err = prov_tenant_known(pv, r, tenant);
	if (!err)
		err = is_num ? number_agent_known(pv, r, tenant, agent)
			     : agent_known(pv, r, tenant, agent);
	if (err)
		return err;
	qm_args_add(&a, agent);
	qm_args_add(&a, action);
	qm_args_add(&a, reason);
	qm_args_add(&a, "1"); /* a queue-manager dispatches on wake-up */
	err = pbx_key_sys_of(key, sizeof(key), PBX_KS_QM_TENANTS);
	if (!err)
		err = prov_store_do(pv, "SADD %s %s", key, tenant);
	if (!err)
		err = run(pv, tenant, "agent", &a, &rep);
	if (!err)
		err = note_due(pv, tenant, rep);
	qm_args_reset(&a); /* when run() did not take it */
	for (size_t i = 0; !err && i < rep->elements; i++) {
		const redisReply *ev = rep->element[i];

		if (strcmp(ev_str(ev, 0), "agent"))
			continue;
		PLOG_INFO("agent %s: %s", agent, action);
		err = prov_strv_add(&r->items, "%s %s%s%s%s%s%s", agent,
				    state_name(ev_str(ev, 2)),
				    *ev_str(ev, 3) ? " (" : "", ev_str(ev, 3),
				    *ev_str(ev, 3) ? ")" : "",
				    *ev_str(ev, 4) ? ", then " : "",
				    *ev_str(ev, 4) ? state_name(ev_str(ev, 4))
						   : "");
	}
	if (rep)
		freeReplyObject(rep);
	return err;
}

/* ---- statistics -------------------------------------------------------- */

/* HGETALL of a tenant key, as a reply the caller frees. */
static int hgetall(struct provision *pv, const char *tenant,
		   enum pbx_tkey k, redisReply **rp)
{
	char key[PBX_KEY_MAX];
	int err;

	if (pbx_key_of(key, sizeof(key), tenant, k))
		return -EINVAL;
	err = prov_store_cmd(pv, rp, "HGETALL %s", key);
	if (!err && (*rp)->type != REDIS_REPLY_ARRAY)
		err = -EIO;
	return err;
}

/* The value of "<queue>:<name>" in the stats hash, 0 when absent. */
static long long counter(const redisReply *stats, const char *queue,
			 const char *name)
{
	size_t ql = strlen(queue);

	for (size_t i = 0; i + 1 < stats->elements; i += 2) {
		const char *f = stats->element[i]->str;

		if (!strncmp(f, queue, ql) && f[ql] == ':' &&
		    !strcmp(f + ql + 1, name))
			return atoll(stats->element[i + 1]->str);
	}
	return 0;
}

/* "<queue>:agent:<agent>:<what>" in the stats hash. */
static long long agent_counter(const redisReply *stats, const char *queue,
			       const char *agent, const char *what)
{
	char name[128];

	snprintf(name, sizeof(name), "agent:%s:%s", agent, what);
	return counter(stats, queue, name);
}

/* The agent's state and reason from the agents hash (no record: ready). */
static void agent_state(const redisReply *agents, const char *agent,
			char *buf, size_t size)
{
	snprintf(buf, size, "ready");
	for (size_t i = 0; i + 1 < agents->elements; i += 2) {
		json_t *doc, *st, *why;

		if (strcmp(agents->element[i]->str, agent))
			continue;
		doc = json_loads(agents->element[i + 1]->str, 0, NULL);
		st = json_object_get(doc, "st");
		why = json_object_get(doc, "reason");
		if (json_is_string(st))
			snprintf(buf, size, "%s%s%s%s",
				 state_name(json_string_value(st)),
				 json_is_string(why) ? " (" : "",
				 json_is_string(why) ? json_string_value(why)
						     : "",
				 json_is_string(why) ? ")" : "");
		json_decref(doc);
		return;
	}
}

static long long per(long long total, long long n)
{
	return n ? total / n : 0;
}

/* One queue: its line, then one line per agent it lists. live is the
 * script's {"stats", queue, waiting, ringing, oldest join ms}. */
static int queue_lines(struct prov_reply *r, const char *queue,
		       const struct scenario_queue *cq,
		       const redisReply *live, const redisReply *stats,
		       const redisReply *agents)
{
	unsigned long long now = pbx_clock_now_ms();
	const char *oldest = ev_str(live, 4);
	long long answered = counter(stats, queue, "answered");
	long long sl = counter(stats, queue, "answered_sl");
	long long sl_ms = counter(stats, queue, "sl_ms");
	long long ab = counter(stats, queue, "abandoned");
	char sl_text[64] = "";
	int err;

	if (answered)
		snprintf(sl_text, sizeof(sl_text),
			 " (%lld%% within %lld s, mean wait %lld s)",
			 sl * 100 / answered, sl_ms / 1000,
			 per(counter(stats, queue, "wait_ms"), answered) /
				 1000);
	err = prov_strv_add(
		&r->items,
		"queue %s: waiting %s (ringing %s), longest wait %llu s; "
		"answered %lld%s, abandoned %lld (mean wait %lld s), timed "
		"out %lld, left by key %lld, turned away %lld full, %lld no "
		"agents; talk %lld s; call-backs %lld (connected %lld, tries "
		"failed %lld, given up %lld, expired %lld)",
		queue, ev_str(live, 2), ev_str(live, 3),
		*oldest && strtoull(oldest, NULL, 10) < now
			? (now - strtoull(oldest, NULL, 10)) / 1000
			: 0ULL,
		answered, sl_text, ab,
		per(counter(stats, queue, "abandoned_wait_ms"), ab) / 1000,
		counter(stats, queue, "timeout"),
		counter(stats, queue, "exited"), counter(stats, queue, "full"),
		counter(stats, queue, "no_agents"),
		counter(stats, queue, "talk_ms") / 1000,
		counter(stats, queue, "callback"),
		counter(stats, queue, "callback_done"),
		counter(stats, queue, "callback_tries"),
		counter(stats, queue, "callback_failed"),
		counter(stats, queue, "callback_expired"));
	for (size_t i = 0; !err && i < cq->nagents; i++) {
		const char *ag = cq->agents[i];
		char st[128];

		agent_state(agents, ag, st, sizeof(st));
		err = prov_strv_add(
			&r->items,
			"queue %s agent %s: %s, calls %lld, talk %lld s, "
			"missed %lld",
			queue, ag, st,
			agent_counter(stats, queue, ag, "calls"),
			agent_counter(stats, queue, ag, "talk_ms") / 1000,
			agent_counter(stats, queue, ag, "missed"));
	}
	return err;
}

int prov_queue_stats(struct provision *pv,
		     const Pbx__V1__ProvRequest__QueueStats *q,
		     struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant), *only = prov_str(q->queue);
	struct scenario_objects *objs = NULL;
	redisReply *live = NULL, *stats = NULL, *agents = NULL;
	struct prov_strv names = {.v = NULL};
	struct qm_args a = {0};
	int err;

	if (only[0] && prov_check_id(r, "queue", only))
		return -EINVAL;
	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	err = tenant_queues(pv, tenant, &names, &objs);
	for (size_t i = 0; !err && i < names.n; i++) {
		const char *n = names.v[i] + strlen(QUEUE_PREFIX);

		if (!strncmp(names.v[i], QUEUE_PREFIX, strlen(QUEUE_PREFIX)) &&
		    (!only[0] || !strcmp(n, only)))
			qm_args_add(&a, n);
	}
	if (!err && !a.n)
		err = only[0] ? prov_fail(r, -ENOENT, "no queue %s", only) : 0;
	if (!err && a.n)
		err = run(pv, tenant, "stats", &a, &live);
	if (!err && live)
		err = hgetall(pv, tenant, PBX_K_QM_STATS, &stats);
	if (!err && live)
		err = hgetall(pv, tenant, PBX_K_QM_AGENTS, &agents);
	for (size_t i = 0; !err && live && i < live->elements; i++) {
		const redisReply *ev = live->element[i];
		struct scenario_queue cq;

		if (strcmp(ev_str(ev, 0), "stats") ||
		    scenario_objects_queue(objs, ev_str(ev, 1), &cq))
			continue;
		err = queue_lines(r, ev_str(ev, 1), &cq, ev, stats, agents);
	}
	qm_args_reset(&a);
	prov_strv_reset(&names);
	scenario_objects_free(objs);
	if (live)
		freeReplyObject(live);
	if (stats)
		freeReplyObject(stats);
	if (agents)
		freeReplyObject(agents);
	return err;
}
