/* A queue's call-back (issue 9): the caller pressed the callback key,
 * heard the confirmation and hung up, keeping its place (route_queue.c).
 * When its turn comes the queue-manager's Offer carries its number: a
 * worker calls the agent first (Originate, a call under its own id
 * "cb<offer>-<queued call id>", of the built-in scenario
 * "@cb:<number>:<caller id>"); once the agent answers, the walk rings the
 * caller's number through the trunk (a subscriber node) and the two are
 * bridged. The queue-manager hears, for the queued call: the agent's
 * miss, the caller's leg failing (CALLBACK_FAILED: it tries again from
 * its place), the answer of both (ANSWERED) and the end (HUNG_UP). The
 * record keeps the queued call, the agent, the offer and where the
 * call-back is (qcall, qag, qoff, qcbst), so any router continues it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "route_ctx.h"
#include "router.h"
#include "workers.h"

#define AR(x) PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_##x
#define RR(x) PBX__V1__MEDIA_EVENT__RING_RESULT__RING_##x

/* The caller's phone rings this long (the queue-manager's offer allows
 * for it: qm.lua CB_RING_MS). */
#define CB_RING_S 30

/* What an Offer asks, until the call's record is saved. */
struct cb_offer {
	char kind[16];	/* the agent's: extension, external, mobile */
	uint32_t timeout_ms;
};

bool route_callback_is(const struct route_ctx *c)
{
	/* The record's qcall (the end of a call reads no scenario name). */
	return c->qcall[0] != '\0';
}

int route_callback_json(const char *scen, char *json, size_t size)
{
	char num[33], cid[33];
	enum scenario_dest d;
	int n;

	/* Made by route_callback_offer() from checked numbers only. */
	if (route_scen_numbers(scen + strlen(ROUTE_CB_SCEN), num, cid,
			       sizeof(num), false))
		return -EINVAL;
	d = scenario_dest_class(num);
	/* The caller's phone rings CB_RING_S at most; any failure ends
	 * the call-back (the agent is hung up). */
	n = snprintf(json, size,
		     "{\"start\":\"ring\",\"nodes\":{\"ring\":{\"type\":"
		     "\"subscriber\",\"options\":{\"kind\":\"%s\","
		     "\"target\":\"%s%s\",\"timeout\":%d%s%s%s%s},"
		     "\"outputs\":{\"next\":\"bye\"}},\"bye\":{\"type\":"
		     "\"hangup\"}}}",
		     d == SCENARIO_DEST_MOBILE ? "mobile" : "external",
		     num[0] == '+' ? "" : "+", num, CB_RING_S,
		     cid[0] ? ",\"caller_id\":\"" : "",
		     cid[0] && cid[0] != '+' ? "+" : "", cid,
		     cid[0] ? "\"" : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- to the queue-manager, about the queued call ------------------------ */

static void agent_result(struct route_ctx *c, int result)
{
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__AgentResult ar =
		PBX__V1__QUEUE_COMMAND__AGENT_RESULT__INIT;

	ar.agent = c->qag;
	ar.offer = c->qoff;
	ar.result = result;
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT;
	qc.agent_result = &ar;
	PLOG_INFO("call-back of %s (queue %s, agent %s, offer %u): result %d",
		  c->qcall, c->queue, c->qag, c->qoff, result);
	if (route_queue_send(c->r, c->tenant, c->qcall, &qc))
		PLOG_WARN("call-back of %s: result not sent (no "
			  "queue-manager); its offer expires",
			  c->qcall);
}

/* ---- the Offer: call the agent ------------------------------------------- */

static void originate(struct route_ctx *c, const struct cb_offer *o)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Originate org =
		PBX__V1__MEDIA_COMMAND__ORIGINATE__INIT;
	bool ext = !strcmp(o->kind, "extension");
	char uri[320];

	/* An extension in the tenant's domain; a number through the trunk
	 * (Kamailio picks it from X-Pbx-Dest), as a Ring does. */
	snprintf(uri, sizeof(uri), "sip:%s@%s%s", c->qag, c->domain,
		 ext ? "" : ";user=phone");
	org.target_uri = uri;
	org.timeout_ms = o->timeout_ms;
	org.caller_id = c->caller; /* the agent sees whom it calls back */
	org.dest_kind = (char *)o->kind;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_ORIGINATE;
	cmd.originate = &org;
	PLOG_INFO("call-back of %s: calling agent %s (%s) on %s", c->qcall,
		  c->qag, o->kind, c->worker_id);
	route_exec_send(c, &cmd);
}

static void saved(struct route_ctx *c, int result)
{
	struct cb_offer *o = c->user;

	pbx_log_ctx(c->tenant, c->call_id);
	if (result != 1) {
		PLOG_ERR("call-back of %s: cannot store the call (%d)",
			 c->qcall, result);
		agent_result(c, AR(UNAVAILABLE));
	} else {
		route_index_add(c->r, c->worker_id, c->tenant, c->call_id);
		originate(c, o);
	}
	free(o);
	c->user = NULL;
	route_ctx_free(c);
}

static void got_tenant(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements != 2 ||
	    rr->element[0]->type != REDIS_REPLY_STRING) {
		c->err = true;
		return;
	}
	snprintf(c->domain, sizeof(c->domain), "%s", rr->element[0]->str);
	if (rr->element[1]->type == REDIS_REPLY_STRING)
		snprintf(c->lang, sizeof(c->lang), "%s", rr->element[1]->str);
}

static void tenant_done(struct route_ctx *c)
{
	const struct worker_info *w;

	pbx_log_ctx(c->tenant, c->call_id);
	w = c->err ? NULL : workers_pick(c->r->workers);
	if (!w) {
		PLOG_WARN("call-back of %s: %s; the agent's offer fails",
			  c->qcall,
			  c->err ? "no tenant facts" : "no live media worker");
		agent_result(c, AR(UNAVAILABLE));
		free(c->user);
		c->user = NULL;
		route_ctx_free(c);
		return;
	}
	snprintf(c->worker_id, sizeof(c->worker_id), "%s", w->id);
	c->rev = 0;
	c->seq = 0;
	c->qcbst = ROUTE_CBST_AGENT;
	route_state_save(c, saved);
}

void route_callback_offer(struct router *r, const Pbx__V1__Envelope *env,
			  const Pbx__V1__QueueEvent__Offer *of)
{
	const char *kind = of->n_agent_kinds ? of->agent_kinds[0]
			   : of->dest_kind[0] ? of->dest_kind
					      : "extension";
	struct cb_offer *o;
	struct route_ctx *c;
	char key[PBX_KEY_MAX];
	int n;

	/* One agent; numbers that go into SIP headers and the scenario. */
	if (of->n_agents < 1 || !of->agents[0][0] ||
	    strlen(of->agents[0]) >= sizeof(c->qag) ||
	    (strcmp(kind, "extension") && strcmp(kind, "external") &&
	     strcmp(kind, "mobile")) ||
	    !pbx_number_valid(of->callback_number) ||
	    (of->callback_caller_id[0] &&
	     !pbx_number_valid(of->callback_caller_id)) ||
	    strlen(of->queue) >= sizeof(c->queue)) {
		PLOG_WARN("call-back offer %u with bad arguments dropped "
			  "(it expires)",
			  of->offer);
		return;
	}
	c = route_ctx_alloc(r, NULL, env);
	o = calloc(1, sizeof(*o));
	if (!c || !o) {
		PLOG_ERR("out of memory for a call-back");
		free(o);
		route_ctx_free(c);
		return;
	}
	snprintf(o->kind, sizeof(o->kind), "%s", kind);
	o->timeout_ms = of->timeout_ms;
	c->user = o;
	snprintf(c->qcall, sizeof(c->qcall), "%s", env->call_id);
	n = snprintf(c->call_id, sizeof(c->call_id), "cb%u-%s", of->offer,
		     env->call_id);
	snprintf(c->qag, sizeof(c->qag), "%s", of->agents[0]);
	c->qoff = of->offer;
	snprintf(c->queue, sizeof(c->queue), "%s", of->queue);
	snprintf(c->caller, sizeof(c->caller), "%s", of->callback_number);
	snprintf(c->number, sizeof(c->number), "%s", of->callback_caller_id);
	snprintf(c->scen, sizeof(c->scen), ROUTE_CB_SCEN "%s:%s",
		 of->callback_number, of->callback_caller_id);
	c->version = 0;
	pbx_log_ctx(c->tenant, c->call_id);
	if (n < 0 || (size_t)n >= sizeof(c->call_id) ||
	    pbx_key(key, sizeof(key), c->tenant, "tenant")) {
		PLOG_WARN("call-back of %s: id too long", c->qcall);
		agent_result(c, AR(UNAVAILABLE));
		free(o);
		c->user = NULL;
		route_ctx_free(c);
		return;
	}
	route_pipe_cmd(c, got_tenant, "HMGET %s domain language", key);
	route_pipe_run(c, tenant_done);
}

/* ---- a Cancel: the queue-manager took the offer back ---------------------- */

static void got_worker(struct route_ctx *c, redisReply *rr)
{
	if (rr && rr->type == REDIS_REPLY_STRING)
		snprintf(c->worker_id, sizeof(c->worker_id), "%s", rr->str);
}

static void cancel_done(struct route_ctx *c)
{
	pbx_log_ctx(c->tenant, c->call_id);
	if (c->worker_id[0]) {
		/* Its end reports to the queue-manager as any end; the
		 * offer is over there already (a stale report). */
		PLOG_INFO("call-back of %s: offer %u taken back; ending it",
			  c->qcall, c->qoff);
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   480, "call-back cancelled");
	}
	route_ctx_free(c);
}

void route_callback_cancel(struct router *r, const Pbx__V1__Envelope *env,
			   uint32_t offer)
{
	struct route_ctx *c = route_ctx_alloc(r, NULL, env);
	char key[PBX_KEY_MAX];
	int n;

	if (!c)
		return;
	n = snprintf(c->call_id, sizeof(c->call_id), "cb%u-%s", offer,
		     env->call_id);
	snprintf(c->qcall, sizeof(c->qcall), "%s", env->call_id);
	c->qoff = offer;
	if (n > 0 && (size_t)n < sizeof(c->call_id) &&
	    !pbx_key(key, sizeof(key), c->tenant, "call:%s", c->call_id))
		route_pipe_cmd(c, got_worker, "HGET %s worker", key);
	route_pipe_run(c, cancel_done);
}

/* ---- its events ------------------------------------------------------------ */

bool route_callback_translate(struct route_ctx *c, struct walk_event *ev)
{
	if (!route_callback_is(c))
		return true;
	if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED) {
		if (c->qcbst != ROUTE_CBST_AGENT)
			return false; /* repeated */
		/* The agent is there: the walk rings the caller. */
		PLOG_INFO("call-back of %s: agent %s answered; calling %s",
			  c->qcall, c->qag, c->caller);
		c->qcbst = ROUTE_CBST_RING;
		memset(ev, 0, sizeof(*ev));
		ev->kind = WALK_EV_START;
		return true;
	}
	if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT &&
	    c->qcbst == ROUTE_CBST_RING) {
		if (c->ring_result == RR(ANSWERED)) {
			c->qcbst = ROUTE_CBST_UP;
			agent_result(c, AR(ANSWERED));
		} else {
			/* The walk ends the call (no output): the agent
			 * is free, the call tries again from its place. */
			c->qcbst = ROUTE_CBST_FAILED;
			agent_result(c, AR(CALLBACK_FAILED));
		}
	}
	return true;
}

void route_callback_ended(struct route_ctx *c)
{
	static const int agent_of[] = {
		[RR(NO_ANSWER)] = AR(NO_ANSWER),
		[RR(BUSY)] = AR(BUSY),
		[RR(UNAVAILABLE)] = AR(UNAVAILABLE),
	};
	int res = 0;

	if (!c->qcall[0] || !c->qag[0])
		return;
	switch (c->qcbst) {
	case ROUTE_CBST_AGENT:
		/* The agent did not take it: a miss, as a ring's. */
		if (c->ring_result > 0 &&
		    (size_t)c->ring_result <
			    sizeof(agent_of) / sizeof(*agent_of))
			res = agent_of[c->ring_result];
		agent_result(c, res ? res : AR(UNAVAILABLE));
		break;
	case ROUTE_CBST_RING:
		/* The agent hung up while the caller's phone rang. */
		agent_result(c, AR(CALLBACK_FAILED));
		break;
	case ROUTE_CBST_UP:
		agent_result(c, AR(HUNG_UP));
		break;
	default:
		break; /* reported when it failed */
	}
}
