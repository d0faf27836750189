/* What a script run decided, carried out: offers, cancels, results and
 * agent states go to the routers; queues in which a caller came back or an
 * agent became free are dispatched. An offer no router takes is handed
 * back to the queue at once (op "unoffer"), so no agent rings for nobody
 * and nobody's missed offers grow for it. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_log.h"
#include "qm.h"
#include "qm_conf.h"

/* At most this many queues dispatched after one run; a run names few. */
#define EVENT_QUEUES_MAX 64

int qm_event_send(struct qm *qm, const char *tenant, const char *call_id,
		  const char *reply_to, Pbx__V1__QueueEvent *ev)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	int err;

	if (qm->closing)
		return -ECANCELED;
	env.tenant_id = (char *)tenant;
	env.call_id = (char *)(call_id ? call_id : "");
	env.reply_to = (char *)(reply_to ? reply_to : "");
	env.body_case = PBX__V1__ENVELOPE__BODY_QUEUE_EVENT;
	env.queue_event = ev;
	err = pbx_bus_send(qm->bus, NULL, &env);
	if (err) {
		qm->n.send_failed++;
		PLOG_WARN("no router took the queue event (%s)",
			  strerror(-err));
	}
	return err;
}

static const char *str(const redisReply *ev, size_t i)
{
	return i < ev->elements ? ev->element[i]->str : "";
}

/* The agents of an event from index `from` on, as a borrowed array. */
static char **agents_of(const redisReply *ev, size_t from, size_t *n)
{
	char **v;

	*n = ev->elements > from ? ev->elements - from : 0;
	v = calloc(*n ? *n : 1, sizeof(*v));
	for (size_t i = 0; v && i < *n; i++)
		v[i] = ev->element[from + i]->str;
	return v;
}

static void unoffer_done(struct qm *qm, const redisReply *events, void *arg)
{
	(void)arg;
	(void)events;
	(void)qm;
}

/* The kind of each agent of an offer, as the queue object says
 * (extension, external or mobile: the router rings numbers through the
 * tenant's trunk); dest_kind "extension" when all are. Offers come from
 * dispatch runs, which hold the configuration; without it (or for an
 * agent the queue no longer lists) a number is "external". */
static void offer_kinds(Pbx__V1__QueueEvent__Offer *of,
			const struct qm_conf *conf)
{
	struct scenario_queue q = {0};
	bool all_ext = true;

	if (!conf || qm_conf_queue(conf, of->queue, &q))
		q.nagents = 0;
	for (size_t i = 0; i < of->n_agents; i++) {
		const char *kind = of->agents[i][0] == '+' ? "external"
							   : "extension";

		for (size_t j = 0; j < q.nagents; j++) {
			if (!strcmp(q.agents[j], of->agents[i]))
				kind = q.kinds[j];
		}
		of->agent_kinds[i] = (char *)kind;
		all_ext &= !strcmp(kind, "extension");
	}
	of->n_agent_kinds = of->n_agents;
	of->dest_kind = (char *)(all_ext ? "extension" : "");
}

/* offer call queue n timeout_ms agent..., or for a call-back
 * cboffer call queue n timeout_ms number caller_id agent */
static void send_offer(struct qm *qm, const char *tenant,
		       const struct qm_conf *conf, const redisReply *ev)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Offer of = PBX__V1__QUEUE_EVENT__OFFER__INIT;
	const char *call = str(ev, 1);
	bool cb = !strcmp(str(ev, 0), "cboffer");
	struct qm_args a = {0};
	int err;

	of.queue = (char *)str(ev, 2);
	of.offer = (uint32_t)strtoul(str(ev, 3), NULL, 10);
	of.timeout_ms = (uint32_t)strtoul(str(ev, 4), NULL, 10);
	if (cb) {
		of.callback_number = (char *)str(ev, 5);
		of.callback_caller_id = (char *)str(ev, 6);
	}
	of.agents = agents_of(ev, cb ? 7 : 5, &of.n_agents);
	of.agent_kinds = calloc(of.n_agents ? of.n_agents : 1,
				sizeof(*of.agent_kinds));
	if (!of.agents || !of.agent_kinds) {
		err = -ENOMEM;
	} else {
		offer_kinds(&of, conf);
		qe.ev_case = PBX__V1__QUEUE_EVENT__EV_OFFER;
		qe.offer = &of;
		pbx_log_ctx(tenant, call);
		err = qm_event_send(qm, tenant, call, NULL, &qe);
	}
	free(of.agents);
	free(of.agent_kinds);
	if (!err) {
		qm->n.offers++;
		PLOG_INFO("queue %s: %soffer %u to %s%s", of.queue,
			  cb ? "call-back " : "", of.offer,
			  str(ev, cb ? 7 : 5),
			  of.n_agents > 1 ? " and others" : "");
		return;
	}
	qm_args_add(&a, call);
	qm_args_add(&a, str(ev, 3));
	qm_args_addf(&a, "%ld", qm->cfg->retry_ms);
	if (qm_store_run(qm, tenant, "unoffer", &a, unoffer_done, NULL))
		PLOG_ERR("queue %s: offer %u not sent and not taken back: "
			 "it expires after the ring timeout",
			 of.queue, of.offer);
}

/* cancel call n agent... */
static void send_cancel(struct qm *qm, const char *tenant,
			const redisReply *ev)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Cancel ca = PBX__V1__QUEUE_EVENT__CANCEL__INIT;

	ca.offer = (uint32_t)strtoul(str(ev, 2), NULL, 10);
	ca.agents = agents_of(ev, 3, &ca.n_agents);
	if (!ca.agents)
		return;
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_CANCEL;
	qe.cancel = &ca;
	pbx_log_ctx(tenant, str(ev, 1));
	if (!qm_event_send(qm, tenant, str(ev, 1), NULL, &qe))
		qm->n.cancels++;
	free(ca.agents);
}

static const struct {
	const char *name;
	Pbx__V1__QueueEvent__Result__Kind kind;
} result_kinds[] = {
	{"queued", PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_QUEUED},
	{"timeout", PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_TIMEOUT},
	{"full", PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_FULL},
	{"no_agents", PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_NO_AGENTS},
	{"exit_key", PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_EXIT_KEY},
	{"failed", PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_FAILED},
};

/* result call queue kind detail [wait_s] */
static void send_result(struct qm *qm, const char *tenant,
			const redisReply *ev, const char *reply_to)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Result re = PBX__V1__QUEUE_EVENT__RESULT__INIT;
	const char *kind = str(ev, 3), *detail = str(ev, 4);

	_Static_assert(sizeof(result_kinds) / sizeof(*result_kinds) ==
			       QM_RESULT_KINDS,
		       "qm->n_result has a counter per result kind");
	for (size_t i = 0; i < sizeof(result_kinds) / sizeof(*result_kinds);
	     i++) {
		if (!strcmp(kind, result_kinds[i].name)) {
			re.kind = result_kinds[i].kind;
			qm->n_result[i]++;
		}
	}
	re.queue = (char *)str(ev, 2);
	if (re.kind == PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_QUEUED) {
		re.position = (uint32_t)strtoul(detail, NULL, 10);
		re.wait_s = (uint32_t)strtoul(str(ev, 5), NULL, 10);
		pbx_hist_observe(&qm->est_wait, re.wait_s * 1000.0);
	}
	else if (re.kind == PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_EXIT_KEY)
		re.digit = (char *)detail;
	else
		re.detail = (char *)detail;
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_RESULT;
	qe.result = &re;
	pbx_log_ctx(tenant, str(ev, 1));
	PLOG_INFO("queue %s: %s%s%s", re.queue, kind, *detail ? " " : "",
		  detail);
	if (!qm_event_send(qm, tenant, str(ev, 1), reply_to, &qe))
		qm->n.results++;
}

/* agent agent state reason pending */
static void send_agent(struct qm *qm, const char *tenant,
		       const redisReply *ev, const char *reply_to)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__AgentStatus as =
		PBX__V1__QUEUE_EVENT__AGENT_STATUS__INIT;
	const char *st = str(ev, 2);

	as.agent = (char *)str(ev, 1);
	as.state = (char *)(!strcmp(st, "out") ? "logged_out" : st);
	as.reason = (char *)str(ev, 3);
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_AGENT_STATUS;
	qe.agent_status = &as;
	pbx_log_ctx(tenant, NULL);
	PLOG_INFO("agent %s: %s%s%s%s%s", as.agent, as.state,
		  *as.reason ? " (" : "", as.reason, *as.reason ? ")" : "",
		  *str(ev, 4) ? ", after the call" : "");
	qm_event_send(qm, tenant, "", reply_to, &qe);
}

/* Adds name to the set (no repeats); false when it is full. */
static bool set_add(const char **set, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp(set[i], name))
			return true;
	}
	if (*n == EVENT_QUEUES_MAX)
		return false;
	set[(*n)++] = name;
	return true;
}

/* The queues to dispatch after a run: those named by "queue" events and
 * those of the agents named by "ready" events. */
struct dispatch_after {
	char tenant[PBX_ID_MAX + 1];
	char **queues, **agents;
	size_t nq, na;
};

static void dispatch_after_free(struct dispatch_after *d)
{
	for (size_t i = 0; i < d->nq; i++)
		free(d->queues[i]);
	for (size_t i = 0; i < d->na; i++)
		free(d->agents[i]);
	free(d->queues);
	free(d->agents);
	free(d);
}

static void dispatch_with(struct qm *qm, struct qm_conf *conf,
			  struct dispatch_after *d)
{
	const char *set[EVENT_QUEUES_MAX];
	size_t n = 0;

	for (size_t i = 0; i < d->nq; i++)
		set_add(set, &n, d->queues[i]);
	for (size_t i = 0; i < d->na; i++) {
		const char *names[EVENT_QUEUES_MAX];
		size_t k = qm_conf_agent_queues(conf, d->agents[i], names,
						EVENT_QUEUES_MAX);

		for (size_t j = 0; j < k && j < EVENT_QUEUES_MAX; j++)
			set_add(set, &n, names[j]);
	}
	if (n)
		qm_dispatch_queues(qm, d->tenant, conf, set, n);
}

static void conf_loaded(struct qm *qm, struct qm_conf *conf, void *arg)
{
	struct dispatch_after *d = arg;

	if (conf)
		dispatch_with(qm, conf, d);
	qm_conf_drop(conf);
	dispatch_after_free(d);
}

static int keep(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

void qm_event_apply(struct qm *qm, const char *tenant, struct qm_conf *conf,
		    const redisReply *events, const char *reply_to)
{
	struct dispatch_after *d = calloc(1, sizeof(*d));
	int err = d ? 0 : -ENOMEM;

	for (size_t i = 0; events && i < events->elements; i++) {
		const redisReply *ev = events->element[i];
		const char *what = str(ev, 0);

		if (!strcmp(what, "offer") || !strcmp(what, "cboffer"))
			send_offer(qm, tenant, conf, ev);
		else if (!strcmp(what, "cancel"))
			send_cancel(qm, tenant, ev);
		else if (!strcmp(what, "result"))
			send_result(qm, tenant, ev, reply_to);
		else if (!strcmp(what, "agent"))
			send_agent(qm, tenant, ev, reply_to);
		else if (!strcmp(what, "ready") && !err)
			err = keep(&d->agents, &d->na, str(ev, 1));
		else if (!strcmp(what, "queue") && !err)
			err = keep(&d->queues, &d->nq, str(ev, 1));
	}
	pbx_log_ctx(tenant, NULL);
	if (err) {
		/* The timers still fire: every caller is offered again at
		 * the latest when some agent's or call's timer runs. */
		PLOG_ERR("out of memory: dispatch skipped");
	} else if (d->nq || d->na) {
		snprintf(d->tenant, sizeof(d->tenant), "%s", tenant);
		if (conf) {
			dispatch_with(qm, conf, d);
		} else if (!qm_conf_get(qm, tenant, conf_loaded, d)) {
			return; /* conf_loaded frees d */
		}
	}
	if (d)
		dispatch_after_free(d);
}
