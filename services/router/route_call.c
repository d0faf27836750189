/* New calls: number → tenant → active scenario → first action. Replies to
 * the edge with a RouteDecision: reject with a SIP code, or relay to the
 * least-loaded live media worker after the call state is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"
#include "workers.h"

static void reply(struct route_ctx *c, Pbx__V1__RouteDecision__Action act,
		  unsigned code, const char *reason, const char *uri,
		  const char *worker)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__RouteDecision d = PBX__V1__ROUTE_DECISION__INIT;
	int err;

	d.edge_id = c->edge_id;
	d.tindex = c->tindex;
	d.tlabel = c->tlabel;
	d.action = act;
	d.sip_code = code;
	d.reason = (char *)(reason ? reason : "");
	d.media_uri = (char *)(uri ? uri : "");
	d.worker_id = (char *)(worker ? worker : "");
	env.tenant_id = c->tenant;
	env.call_id = c->call_id;
	env.reply_to = c->msg_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_ROUTE_DECISION;
	env.route_decision = &d;

	if (act == PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA)
		PLOG_INFO("call %s -> %s: media on %s", c->caller, c->number,
			  worker);
	else
		PLOG_INFO("call %s -> %s: reject %u %s", c->caller, c->number,
			  code, reason);
	err = pbx_bus_send(c->r->edge_bus, &c->peer, &env);
	if (err)
		PLOG_WARN("decision not sent to edge %s: %d", c->edge_id, err);
	c->r->calls_routed++;
}

static void reject(struct route_ctx *c, unsigned code, const char *reason)
{
	reply(c, PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT, code, reason,
	      NULL, NULL);
	route_ctx_free(c);
}

static void saved(struct route_ctx *c, int result)
{
	if (result != 1) {
		/* 0: another INVITE with this Call-ID already owns it. */
		reject(c, result == 0 ? 482 : 503,
		       result == 0 ? "Loop Detected" : "Service Unavailable");
		return;
	}
	reply(c, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA, 0, NULL,
	      c->worker_uri, c->worker_id);
	route_ctx_free(c);
}

static void decide(struct route_ctx *c, const struct scenario *sc)
{
	const struct worker_info *w;
	struct walk_action act;

	pbx_log_ctx(c->tenant, c->call_id);
	if (!sc) {
		reject(c, 503, "Service Unavailable");
		return;
	}
	scenario_walk(sc, &c->st, WALK_EV_START, &act);
	switch (act.kind) {
	case WALK_ACT_ANSWER:
		break;
	case WALK_ACT_REJECT:
	default:
		if (act.sip_code == 501)
			PLOG_WARN("node %s: %s element is not supported yet; "
				  "call rejected",
				  c->st.node, act.node_type);
		reject(c, act.sip_code, act.reason);
		return;
	}
	w = workers_pick(c->r->workers);
	if (!w) {
		PLOG_ERR("no live media worker for node %s", c->st.node);
		reject(c, 503, "No Media Worker");
		return;
	}
	snprintf(c->worker_id, sizeof(c->worker_id), "%s", w->id);
	snprintf(c->worker_uri, sizeof(c->worker_uri), "%s", w->sip_uri);
	c->rev = 0;
	c->seq = 0;
	route_state_save(c, saved);
}

static void number_cb(redisAsyncContext *ac, void *reply_, void *arg)
{
	struct route_ctx *c = arg;
	redisReply *rr = reply_;

	(void)ac;
	pbx_log_ctx(c->tenant, c->call_id);
	if (!rr) {
		reject(c, 503, "Service Unavailable");
		return;
	}
	if (rr->type != REDIS_REPLY_STRING || !pbx_id_valid(rr->str)) {
		reject(c, 404, "Not Found");
		return;
	}
	snprintf(c->scen, sizeof(c->scen), "%s", rr->str);
	route_scenario_load(c, decide);
}

static void did_cb(redisAsyncContext *ac, void *reply_, void *arg)
{
	struct route_ctx *c = arg;
	redisReply *rr = reply_;
	char key[PBX_KEY_MAX];

	if (!rr) {
		reject(c, 503, "Service Unavailable");
		return;
	}
	if (rr->type != REDIS_REPLY_STRING || !pbx_tenant_valid(rr->str)) {
		reject(c, 404, "Not Found");
		return;
	}
	/* The tenant comes from our own index, never from the caller. */
	snprintf(c->tenant, sizeof(c->tenant), "%s", rr->str);
	pbx_log_ctx(c->tenant, c->call_id);
	if (pbx_key(key, sizeof(key), c->tenant, "number:%s", c->number) ||
	    redisAsyncCommand(ac, number_cb, c, "HGET %s scenario", key) !=
		    REDIS_OK)
		reject(c, 503, "Service Unavailable");
}

void route_call_new(struct router *r, const struct pbx_bus_peer *peer,
		    const Pbx__V1__Envelope *env)
{
	const Pbx__V1__CallNew *cn = env->call_new;
	redisAsyncContext *ac;
	struct route_ctx *c;
	char key[PBX_KEY_MAX];

	c = route_ctx_alloc(r, peer, env);
	if (!c) {
		PLOG_ERR("out of memory for call %s", env->call_id);
		return; /* the edge answers 503 on its timeout */
	}
	c->tenant[0] = '\0'; /* an edge never chooses the tenant */
	snprintf(c->edge_id, sizeof(c->edge_id), "%s",
		 cn->edge_id ? cn->edge_id : "");
	c->tindex = cn->tindex;
	c->tlabel = cn->tlabel;
	snprintf(c->caller, sizeof(c->caller), "%s",
		 cn->from_user ? cn->from_user : "");
	pbx_log_ctx(NULL, c->call_id);

	if (!c->call_id[0] || strlen(env->call_id) >= sizeof(c->call_id)) {
		reject(c, 400, "Bad Call-ID");
		return;
	}
	if (!pbx_number_valid(cn->to_user)) {
		reject(c, 404, "Not Found");
		return;
	}
	snprintf(c->number, sizeof(c->number), "%s", cn->to_user);
	ac = pbx_redis_ctx(r->redis);
	if (!ac || pbx_key_sys(key, sizeof(key), "did:%s", c->number) ||
	    redisAsyncCommand(ac, did_cb, c, "GET %s", key) != REDIS_OK) {
		PLOG_ERR("storage unavailable: cannot route");
		reject(c, 503, "Service Unavailable");
	}
}
