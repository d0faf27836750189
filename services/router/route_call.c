/* New calls: number → tenant → active scenario version → first step.
 * Replies to the edge with a RouteDecision: reject with a SIP code when
 * the scenario refuses the call outright, else relay it to the
 * least-loaded live media worker once the call state is stored (the
 * worker then reports INCOMING and the walk starts for real). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_limits.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "did_cache.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"
#include "workers.h"

/* What the lookups found, beyond what the context keeps. */
struct call_lookup {
	char did_tenant[65];
	bool is_extension;      /* dialled an extension of the caller's
				 * own tenant */
	char caller_tenant[65];
	char pending[80];
	long pending_version;
	long long pending_at;
	/* The call goes straight into a conference room: the worker that
	 * holds it (PBX_K_CONF_ROOM), "" if none. */
	char conf_worker[65];
	/* A cascade leg into a room (route_conf.c): it must land on the
	 * room's worker, and is not another call of the tenant. */
	bool cascade;
	/* An extension's call: the worker of its latest other call
	 * (PBX_K_EXT_WORKER), "" if none. */
	char ext_worker[65];
};

#define LOOKUP(c) ((struct call_lookup *)(c)->user)

/* How long an extension's worker is remembered after its latest call
 * started: longer than most calls, so a consultation call made during a
 * long one still finds it; a stale entry costs nothing (a worker gone or
 * full is not taken). */
#define EXT_WORKER_TTL_S 14400

void route_ext_worker_note(struct route_ctx *c, const char *tenant,
			   const char *ext)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char key[PBX_KEY_MAX];

	if (!ac || !c->worker_id[0] ||
	    pbx_key_sub_of(key, sizeof(key), tenant, PBX_K_EXT_WORKER, ext))
		return;
	pbx_redis_acmd(ac, NULL, NULL, "SET %s %s EX %d", key,
			  c->worker_id, EXT_WORKER_TTL_S);
}

static void got_ext_worker(struct route_ctx *c, redisReply *rr)
{
	/* A lost reply only loses the preference. */
	if (rr && rr->type == REDIS_REPLY_STRING && pbx_id_valid(rr->str))
		snprintf(LOOKUP(c)->ext_worker,
			 sizeof(LOOKUP(c)->ext_worker), "%s", rr->str);
}

/* How long the edge may repeat a constant reject (scenario_start_is_
 * constant): also how long a scenario change takes to reach such a number
 * at the edge. */
#define ROUTE_EDGE_CACHE_MS 2000

static void reply(struct route_ctx *c, Pbx__V1__RouteDecision__Action act,
		  unsigned code, const char *reason)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__RouteDecision d = PBX__V1__ROUTE_DECISION__INIT;
	bool media = act == PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA;
	int err;

	d.edge_id = c->edge_id;
	d.tindex = c->tindex;
	d.tlabel = c->tlabel;
	d.action = act;
	d.sip_code = code;
	d.reason = (char *)(reason ? reason : "");
	d.media_uri = media ? c->worker_uri : (char *)"";
	d.worker_id = media ? c->worker_id : (char *)"";
	d.alt_media_uri = media ? c->alt_uri : (char *)"";
	d.alt_worker_id = media ? c->alt_id : (char *)"";
	d.edge_cache_ms = media || code == 503 ? 0 : c->edge_cache_ms;
	env.tenant_id = c->tenant;
	env.call_id = c->call_id;
	env.reply_to = c->msg_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_ROUTE_DECISION;
	env.route_decision = &d;

	if (media)
		PLOG_INFO("call %s -> %s: scenario %s v%ld on %s", c->caller,
			  c->number, c->scen, c->version, c->worker_id);
	else
		PLOG_INFO("call %s -> %s: reject %u %s", c->caller, c->number,
			  code, reason);
	err = pbx_bus_send(c->r->edge_bus, &c->peer, &env);
	if (err)
		PLOG_WARN("decision not sent to edge %s: %d", c->edge_id, err);
	c->r->calls_routed++;
}

static void finish(struct route_ctx *c)
{
	free(LOOKUP(c));
	route_ctx_free(c);
}

static void reject(struct route_ctx *c, unsigned code, const char *reason)
{
	/* An outbound call counted among the tenant's outbound calls
	 * (route_outbound.c) that goes no further is not up. */
	if (!strncmp(c->scen, ROUTE_OUT_SCEN, strlen(ROUTE_OUT_SCEN)))
		route_limits_release(c->r, c->tenant, c->call_id);
	reply(c, PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT, code, reason);
	/* A cascade leg is part of its caller's call (that one's record). */
	if (!LOOKUP(c) || !LOOKUP(c)->cascade)
		route_cdr_rejected(c, code, reason);
	finish(c);
}

/* The record of a call this INVITE transaction already asked about:
 * Kamailio asks again through another edge-bridge when the one it asked
 * died before answering (docs/operations.md, "Edge-bridges"), and the
 * answer may already be here. The same decision again, if the call has
 * not started (rev 1: only the first save) and its worker is still
 * there; else 482 as for any other INVITE with a live Call-ID. */
static void reasked(struct route_ctx *c, redisReply *rr)
{
	const char *tx = route_field(rr, "tx");
	const char *rev = route_field(rr, "rev");
	const char *worker = route_field(rr, "worker");
	const struct worker_info *w;
	char mine[24];

	snprintf(mine, sizeof(mine), "%" PRIu32 ":%" PRIu32, c->tindex,
		 c->tlabel);
	c->reask_ok = false;
	if (!tx || strcmp(tx, mine) || !rev || strcmp(rev, "1") || !worker ||
	    !(w = workers_pick_id(c->r->workers, worker)))
		return;
	snprintf(c->worker_id, sizeof(c->worker_id), "%s", w->id);
	snprintf(c->worker_uri, sizeof(c->worker_uri), "%s", w->sip_uri);
	/* No fallback this time: the record's stays for the reaper. */
	c->alt_id[0] = c->alt_uri[0] = '\0';
	c->reask_ok = true;
}

static void reask_done(struct route_ctx *c)
{
	if (c->err || !c->reask_ok) {
		reject(c, 482, "Loop Detected");
		return;
	}
	PLOG_INFO("asked again through edge %s: the same decision",
		  c->edge[0] ? c->edge : "(unknown)");
	reply(c, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA, 0, NULL);
	finish(c);
}

static void saved(struct route_ctx *c, int result)
{
	char key[PBX_KEY_MAX];

	if (result == 0 &&
	    !pbx_key(key, sizeof(key), c->tenant, "call:%s", c->call_id)) {
		/* 0: another INVITE with this Call-ID already owns it, or
		 * this one asked before. */
		route_pipe_cmd(c, reasked, "HGETALL %s", key);
		route_pipe_run(c, reask_done);
		return;
	}
	if (result != 1) {
		if (result != 0)
			route_limits_release(c->r, c->tenant, c->call_id);
		reject(c, result == 0 ? 482 : 503,
		       result == 0 ? "Loop Detected" : "Service Unavailable");
		return;
	}
	/* Indexed under both: whichever answers, a lost worker's reaper
	 * finds the call (INCOMING from the fallback drops the other). */
	route_index_add(c->r, c->worker_id, c->tenant, c->call_id);
	if (c->alt_id[0])
		route_index_add(c->r, c->alt_id, c->tenant, c->call_id);
	/* A cascade leg is also its caller's worker's: lost with it. */
	if (c->cof[0])
		route_index_add(c->r, c->cof, c->tenant, c->call_id);
	reply(c, PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA, 0, NULL);
	finish(c);
}

static void place(struct route_ctx *c);
static void take_room(struct route_ctx *c);

static void decide(struct route_ctx *c)
{
	struct walk_state probe;
	struct walk_event ev = {.kind = WALK_EV_START};
	struct walk_ctx ctx;

	pbx_log_ctx(c->tenant, c->call_id);
	/* Without its objects a schedule would read as closed and a list
	 * as not matching: a lost Redis reply is 503, not a wrong route. */
	if (!c->sc || !c->objs) {
		reject(c, 503, "Service Unavailable");
		return;
	}
	/* A dry first step: a call the scenario refuses outright (black
	 * list, closed, hang up) never needs a media worker. The worker's
	 * INCOMING runs START again for real; the walk is pure, so both
	 * agree (but for a schedule edge crossed in between, which the real
	 * step then decides). */
	route_walk_ctx(c, &ctx);
	scenario_walk_init(&probe);
	scenario_walk_step(c->sc, &ctx, &probe, &ev, &c->out);
	if (c->out.n > 0 && c->out.act[0].kind == WALK_ACT_REJECT) {
		/* The same answer for every call to this number: the edge may
		 * repeat it (a number that only refuses, under a flood, costs
		 * Kamailio alone). Short, so a change of scenario reaches the
		 * edge within that time without telling it. */
		if (scenario_start_is_constant(c->sc))
			c->edge_cache_ms = ROUTE_EDGE_CACHE_MS;
		reject(c, c->out.act[0].end.code, c->out.act[0].end.reason);
		return;
	}
	/* An element with no media side yet (queue, voicemail...) that the
	 * call reaches right after answering: refuse it here with 501 rather
	 * than answer and hang up. */
	if (c->out.n == 1 && c->out.act[0].kind == WALK_ACT_ANSWER) {
		ev.kind = WALK_EV_ANSWERED;
		scenario_walk_step(c->sc, &ctx, &probe, &ev, &c->out);
	}
	for (size_t i = 0; i < c->out.n; i++) {
		if (!route_exec_supported(c->out.act[i].kind)) {
			char reason[96];

			snprintf(reason, sizeof(reason),
				 "Not Implemented (%s not supported yet)",
				 scenario_walk_act_name(c->out.act[i].kind));
			PLOG_WARN("node %s: %s is not supported on live calls "
				  "yet; call rejected",
				  probe.node,
				  scenario_walk_act_name(c->out.act[i].kind));
			reject(c, 501, reason);
			return;
		}
	}
	take_room(c);
}

static void got_room(struct route_ctx *c, redisReply *rr)
{
	if (rr && rr->type == REDIS_REPLY_STRING)
		snprintf(LOOKUP(c)->conf_worker,
			 sizeof(LOOKUP(c)->conf_worker), "%s", rr->str);
}

static void room_read(struct route_ctx *c)
{
	/* A lost reply only loses the preference: any worker will do. */
	c->err = false;
	/* A cascade leg is part of its caller's call, counted already. */
	if (LOOKUP(c)->cascade)
		place(c);
	else
		route_limits_take(c, place);
}

/* A call whose first media step is a conference goes to the worker that
 * holds the room, so that all its members mix on one worker. */
static void take_room(struct route_ctx *c)
{
	char key[PBX_KEY_MAX];

	for (size_t i = 0; i < c->out.n; i++) {
		if (c->out.act[i].kind == WALK_ACT_CONFERENCE &&
		    !pbx_key_sub_of(key, sizeof(key), c->tenant,
				    PBX_K_CONF_ROOM,
				    c->out.act[i].conference.room)) {
			route_pipe_cmd(c, got_room, "GET %s", key);
			break;
		}
	}
	route_pipe_run(c, room_read);
}

/* The tenant's limits allowed the call (c->limited is 0): a worker. */
static void place(struct route_ctx *c)
{
	const struct worker_info *w;

	pbx_log_ctx(c->tenant, c->call_id);
	if (c->limited) {
		/* 486: the tenant's own lines are all busy; 503: slow down
		 * (a carrier may try another route). */
		PLOG_WARN("tenant %s limit reached: call refused",
			  c->limited == 1 ? "concurrent call" : "calls/s");
		if (c->limited == 1)
			reject(c, 486, "Busy Here (Call Limit)");
		else
			reject(c, 503, "Service Unavailable (Rate Limit)");
		return;
	}
	w = NULL;
	if (c->pk_worker[0]) {
		/* A pickup joins the ringing call on its worker, or
		 * nowhere. */
		w = workers_pick_id(c->r->workers, c->pk_worker);
		if (!w) {
			PLOG_WARN("pickup: the ringing call's worker %s is "
				  "gone or full: refused",
				  c->pk_worker);
			route_limits_release(c->r, c->tenant, c->call_id);
			reject(c, 480, "Temporarily Unavailable (pickup)");
			return;
		}
	} else if (LOOKUP(c)->cascade) {
		/* Anywhere else it would start a second half of the room. */
		w = LOOKUP(c)->conf_worker[0]
			    ? workers_pick_id(c->r->workers,
					      LOOKUP(c)->conf_worker)
			    : NULL;
		if (!w) {
			PLOG_WARN("cascade leg: the room's worker '%s' is gone "
				  "or full: refused",
				  LOOKUP(c)->conf_worker);
			reject(c, 480, "Conference Unavailable");
			return;
		}
	} else if (LOOKUP(c)->conf_worker[0]) {
		w = workers_pick_id(c->r->workers, LOOKUP(c)->conf_worker);
		if (!w)
			PLOG_INFO("conference room's worker %s is gone or "
				  "full: the room starts again elsewhere",
				  LOOKUP(c)->conf_worker);
	} else if (LOOKUP(c)->ext_worker[0]) {
		/* Beside the extension's other call, if that worker still
		 * takes calls; else wherever is least loaded. */
		w = workers_pick_id(c->r->workers, LOOKUP(c)->ext_worker);
	}
	if (!w)
		w = workers_pick(c->r->workers);
	if (!w) {
		PLOG_ERR("no live media worker for this call");
		c->r->placement_failures++;
		route_limits_release(c->r, c->tenant, c->call_id);
		reject(c, 503, "No Media Worker");
		return;
	}
	snprintf(c->worker_id, sizeof(c->worker_id), "%s", w->id);
	snprintf(c->worker_uri, sizeof(c->worker_uri), "%s", w->sip_uri);
	if (LOOKUP(c)->caller_tenant[0])
		route_ext_worker_note(c, LOOKUP(c)->caller_tenant, c->caller);
	/* A cascade leg has no fallback: anywhere but the room's worker it
	 * would start a second half of the room. */
	w = LOOKUP(c)->cascade || c->pk_worker[0]
		    ? NULL
		    : workers_pick_alt(c->r->workers, c->worker_id);
	if (w) {
		snprintf(c->alt_id, sizeof(c->alt_id), "%s", w->id);
		snprintf(c->alt_uri, sizeof(c->alt_uri), "%s", w->sip_uri);
	}
	c->rev = 0;
	c->seq = 0;
	route_state_save(c, saved);
}

static void got_number(struct route_ctx *c, redisReply *rr)
{
	struct call_lookup *lk = LOOKUP(c);
	const char *f[5] = {NULL};

	if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements != 5)
		return;
	for (size_t i = 0; i < 5; i++)
		if (rr->element[i]->type == REDIS_REPLY_STRING)
			f[i] = rr->element[i]->str;
	if (!f[0] || !f[1] || !pbx_id_valid(f[0])) {
		c->missing = true;
		return;
	}
	snprintf(c->scen, sizeof(c->scen), "%s", f[0]);
	c->version = strtol(f[1], NULL, 10);
	if (f[2] && f[3] && f[4] && pbx_id_valid(f[2])) {
		snprintf(lk->pending, sizeof(lk->pending), "%s", f[2]);
		lk->pending_version = strtol(f[3], NULL, 10);
		lk->pending_at = strtoll(f[4], NULL, 10);
	}
}

/* A limit field of the tenant hash, or its default when unset. */
static long limit_of(const redisReply *e, long def)
{
	return e->type == REDIS_REPLY_STRING ? strtol(e->str, NULL, 10) : def;
}

static void got_tenant(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements != 5)
		return;
	if (rr->element[0]->type == REDIS_REPLY_STRING)
		snprintf(c->domain, sizeof(c->domain), "%s",
			 rr->element[0]->str);
	c->fax_enabled = rr->element[1]->type == REDIS_REPLY_STRING &&
			 !strcmp(rr->element[1]->str, "1");
	c->limit_calls = limit_of(rr->element[2], PBX_LIMIT_CALLS_DEFAULT);
	c->limit_cps = limit_of(rr->element[3], PBX_LIMIT_CPS_DEFAULT);
	if (rr->element[4]->type == REDIS_REPLY_STRING)
		snprintf(c->lang, sizeof(c->lang), "%s", rr->element[4]->str);
}

static void got_objects_rev(struct route_ctx *c, redisReply *rr)
{
	c->objects_rev = rr && rr->type == REDIS_REPLY_STRING
				 ? strtol(rr->str, NULL, 10)
				 : 0;
}

static void facts_done(struct route_ctx *c)
{
	struct call_lookup *lk = LOOKUP(c);

	if (c->err) {
		reject(c, 503, "Service Unavailable");
		return;
	}
	if (c->missing) {
		reject(c, 404, "Not Found");
		return;
	}
	/* A scheduled activation that is due wins over the active pair. */
	if (lk->pending[0] && lk->pending_version > 0 &&
	    (long long)pbx_clock_now_ms() >= lk->pending_at) {
		snprintf(c->scen, sizeof(c->scen), "%s", lk->pending);
		c->version = lk->pending_version;
	}
	route_load(c, decide);
}

static void fetch_facts(struct route_ctx *c)
{
	char key[PBX_KEY_MAX];

	pbx_log_ctx(c->tenant, c->call_id);
	c->err = false;
	c->waiting = 0;
	if (c->scen[0] != '@' &&
	    !pbx_key(key, sizeof(key), c->tenant, "number:%s", c->number))
		route_pipe_cmd(c, got_number,
			       "HMGET %s scenario version pending_scenario "
			       "pending_version pending_at_ms",
			       key);
	if (!pbx_key(key, sizeof(key), c->tenant, "tenant"))
		route_pipe_cmd(c, got_tenant,
			       "HMGET %s domain feature_fax "
			       PBX_LIMIT_CALLS_FIELD " " PBX_LIMIT_CPS_FIELD
			       " language",
			       key);
	if (!pbx_key(key, sizeof(key), c->tenant, "objects_rev"))
		route_pipe_cmd(c, got_objects_rev, "GET %s", key);
	route_pipe_run(c, facts_done);
}

static void got_did(struct route_ctx *c, redisReply *rr)
{
	struct call_lookup *lk = LOOKUP(c);

	if (rr && rr->type == REDIS_REPLY_STRING && pbx_tenant_valid(rr->str)) {
		snprintf(lk->did_tenant, sizeof(lk->did_tenant), "%s",
			 rr->str);
		did_cache_put(c->r->dids, c->number, rr->str,
			      pbx_clock_now_ms());
	}
}

static void got_ext(struct route_ctx *c, redisReply *rr)
{
	LOOKUP(c)->is_extension =
		rr && rr->type == REDIS_REPLY_INTEGER && rr->integer == 1;
}

static void owner_done(struct route_ctx *c)
{
	struct call_lookup *lk = LOOKUP(c);

	if (c->err) {
		reject(c, 503, "Service Unavailable");
		return;
	}
	/* The tenant comes from our own indexes, never from the caller. */
	if (lk->is_extension) {
		snprintf(c->tenant, sizeof(c->tenant), "%s",
			 lk->caller_tenant);
		snprintf(c->scen, sizeof(c->scen), "@ext:%s", c->number);
		c->version = 0;
		/* The colleague forwards its calls (route_forward.c). */
		if (route_forward_set(c)) {
			pbx_log_ctx(c->tenant, c->call_id);
			route_forward_call(c, fetch_facts, reject);
			return;
		}
	} else if (lk->did_tenant[0]) {
		snprintf(c->tenant, sizeof(c->tenant), "%s", lk->did_tenant);
	} else if (lk->caller_tenant[0]) {
		/* An extension dialled a number outside the platform: out
		 * through the carrier trunk, if its tenant's policy allows. */
		snprintf(c->tenant, sizeof(c->tenant), "%s",
			 lk->caller_tenant);
		pbx_log_ctx(c->tenant, c->call_id);
		route_outbound_call(c, c->caller, fetch_facts, reject);
		return;
	} else {
		reject(c, 404, "Not Found");
		return;
	}
	fetch_facts(c);
}

/* An extension dialled a feature code (route_feature.c): the call is
 * the caller's tenant's, its scenario the feature's. Anyone else (a
 * trunk) dialling "*..." reaches no number: 404 as before. */
static void feature_call(struct route_ctx *c, const Pbx__V1__CallNew *cn,
			 const char *code)
{
	int err;

	if (!cn->source || strcmp(cn->source, "extension") ||
	    !pbx_tenant_valid(cn->caller_tenant) ||
	    !pbx_number_valid(c->caller)) {
		reject(c, 404, "Not Found");
		return;
	}
	snprintf(c->tenant, sizeof(c->tenant), "%s", cn->caller_tenant);
	pbx_log_ctx(c->tenant, c->call_id);
	if (!code[0] || !route_feature_known(code)) {
		PLOG_INFO("extension %s dialled an unknown feature code",
			  c->caller);
		reject(c, 404, "Unknown feature code");
		return;
	}
	snprintf(c->number, sizeof(c->number), "*%s", code);
	snprintf(c->scen, sizeof(c->scen), "@fc:%s", code);
	c->version = 0;
	err = route_feature_setup(c->r, c->tenant, c->call_id, c->caller,
				  code);
	if (err) {
		PLOG_WARN("feature *%s (%s) of %s: no queue-manager", code,
			  route_feature_what(code), c->caller);
		reject(c, 503, "No Queue Manager");
		return;
	}
	route_feature_store(c, code, fetch_facts, reject);
}

/* ---- a cascade leg into a room (route_conf.c) ---------------------------- */

/* The token is good once: read and deleted in one step. */
static const char cascade_lua[] =
	"local v = redis.call('GET', KEYS[1]) "
	"if v then redis.call('DEL', KEYS[1]) end return v";

/* "<tenant> <room> <moderator 0|1> <call-id> <its worker> <caller...>" */
static void got_cascade(struct route_ctx *c, redisReply *rr)
{
	char tenant[65], room[65], origin[256], from[65];
	int mod, off = 0;

	if (!rr || rr->type == REDIS_REPLY_ERROR) {
		c->err = true;
		return;
	}
	if (rr->type != REDIS_REPLY_STRING ||
	    sscanf(rr->str, "%64s %64s %d %255s %64s %n", tenant, room, &mod,
		   origin, from, &off) != 5 ||
	    !off || !pbx_tenant_valid(tenant) || !pbx_id_valid(room) ||
	    !pbx_id_valid(from)) {
		c->missing = true;
		return;
	}
	snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
	snprintf(c->scen, sizeof(c->scen), ROUTE_CONF_LEG_SCEN "%s", room);
	c->version = 0;
	c->cmod = mod == 1;
	snprintf(c->cof, sizeof(c->cof), "%s", from);
	snprintf(c->caller, sizeof(c->caller), "%s",
		 strcmp(rr->str + off, "-") ? rr->str + off : "");
	snprintf(c->number, sizeof(c->number), "conf");
	LOOKUP(c)->cascade = true;
	PLOG_INFO("cascade leg of call %s into room %s%s", origin, room,
		  c->cmod ? " (moderator)" : "");
}

static void cascade_done(struct route_ctx *c)
{
	if (c->err) {
		reject(c, 503, "Service Unavailable");
		return;
	}
	if (c->missing) {
		PLOG_WARN("cascade leg with an unknown or used token: refused");
		reject(c, 403, "Forbidden");
		return;
	}
	pbx_log_ctx(c->tenant, c->call_id);
	fetch_facts(c);
}

/* A leg a media worker placed through the edge (Kamailio sets source
 * "worker" only for a request from PBX_WORKER_NETS with X-Pbx-Dest:
 * conference): "conf-<token>" names the room and tenant in Redis; the
 * request itself chooses nothing. */
static void cascade_new(struct route_ctx *c, const char *user)
{
	char key[PBX_KEY_MAX];
	size_t n = user ? strlen(user) : 0;

	if (n != 5 + 32 || strncmp(user, "conf-", 5) ||
	    strspn(user + 5, "0123456789abcdef") != 32 ||
	    pbx_key_sys_sub_of(key, sizeof(key), PBX_KS_CONF_CASCADE,
			       user + 5)) {
		PLOG_WARN("worker leg to '%s' is no cascade leg: refused",
			  user ? user : "");
		reject(c, 404, "Not Found");
		return;
	}
	route_pipe_cmd(c, got_cascade, "EVAL %s 1 %s", cascade_lua, key);
	route_pipe_run(c, cascade_done);
}

void route_call_new(struct router *r, const struct pbx_bus_peer *peer,
		    const Pbx__V1__Envelope *env)
{
	const Pbx__V1__CallNew *cn = env->call_new;
	struct call_lookup *lk;
	struct route_ctx *c;
	const char *did;
	char key[PBX_KEY_MAX], code[24];

	c = route_ctx_alloc(r, peer, env);
	lk = calloc(1, sizeof(*lk));
	if (!c || !lk) {
		PLOG_ERR("out of memory for call %s", env->call_id);
		free(c);
		free(lk);
		return; /* the edge answers 503 on its timeout */
	}
	c->user = lk;
	c->t0 = pbx_clock_now_ms();
	c->tenant[0] = '\0'; /* an edge never chooses the tenant */
	c->limit_calls = PBX_LIMIT_CALLS_DEFAULT; /* until the facts say */
	c->limit_cps = PBX_LIMIT_CPS_DEFAULT;
	snprintf(c->edge_id, sizeof(c->edge_id), "%s",
		 cn->edge_id ? cn->edge_id : "");
	c->tindex = cn->tindex;
	c->tlabel = cn->tlabel;
	snprintf(c->caller, sizeof(c->caller), "%s",
		 cn->from_user ? cn->from_user : "");
	/* The edge's bus identity, if printable (it is its edge_id): where
	 * a CallEnd for this call goes if its worker dies. */
	if (peer && peer->len < sizeof(c->edge)) {
		memcpy(c->edge, peer->id, peer->len);
		c->edge[peer->len] = '\0';
		if (!pbx_id_valid(c->edge))
			c->edge[0] = '\0';
		else
			route_edge_heard(r, c->edge);
	}
	pbx_log_ctx(NULL, c->call_id);

	if (!c->call_id[0] || strlen(env->call_id) >= sizeof(c->call_id)) {
		reject(c, 400, "Bad Call-ID");
		return;
	}
	if (cn->source && !strcmp(cn->source, "worker")) {
		cascade_new(c, cn->to_user);
		return;
	}
	if (route_feature_code(cn->to_user, code, sizeof(code))) {
		feature_call(c, cn, code);
		return;
	}
	/* The number as stored (canonical), whichever form the caller's
	 * side wrote: "+7 (495) ...", "8495...", a tel: URI's user part. */
	if (!cn->to_user ||
	    scenario_number_canon(cn->to_user, c->number, sizeof(c->number)) <
		    0) {
		reject(c, 404, "Not Found");
		return;
	}
	did = did_cache_get(c->r->dids, c->number, c->t0);
	if (did)
		snprintf(lk->did_tenant, sizeof(lk->did_tenant), "%s", did);
	else if (!pbx_key_sys(key, sizeof(key), "did:%s", c->number))
		route_pipe_cmd(c, got_did, "GET %s", key);
	/* Kamailio authenticated the caller against its tenant's domain:
	 * a number that is one of that tenant's extensions rings it. */
	if (cn->source && !strcmp(cn->source, "extension") &&
	    pbx_tenant_valid(cn->caller_tenant) &&
	    !pbx_key(key, sizeof(key), cn->caller_tenant, "exts")) {
		snprintf(lk->caller_tenant, sizeof(lk->caller_tenant), "%s",
			 cn->caller_tenant);
		route_pipe_cmd(c, got_ext, "SISMEMBER %s %s", key, c->number);
		/* ... and its forwarding, in the same round trip (a number
		 * that is no extension has none). */
		route_forward_read(c, cn->caller_tenant, c->number);
		/* ... and where the caller's own latest call is. */
		if (!pbx_key_sub_of(key, sizeof(key), cn->caller_tenant,
				    PBX_K_EXT_WORKER, c->caller))
			route_pipe_cmd(c, got_ext_worker, "GET %s", key);
	}
	if (c->err && c->waiting == 0) {
		PLOG_ERR("storage unavailable: cannot route");
		reject(c, 503, "Service Unavailable");
		return;
	}
	route_pipe_run(c, owner_done);
}
