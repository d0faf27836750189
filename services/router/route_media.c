/* Worker events: reload the call's state, advance the walk, store the new
 * state (compare-and-set, retried on a race with another router) and only
 * then command the worker. A call whose state is gone is hung up: no call
 * is left hanging on a worker without a scenario. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"

#define SAVE_TRIES 3

static void send_cmd(struct router *r, const char *worker_id,
		     const char *tenant, const char *call_id,
		     Pbx__V1__MediaCommand *cmd)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	struct pbx_bus_peer peer;
	size_t n = strlen(worker_id);
	int err;

	memcpy(peer.id, worker_id, n);
	peer.len = n;
	cmd->worker_id = (char *)worker_id;
	env.tenant_id = (char *)tenant;
	env.call_id = (char *)call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND;
	env.media_command = cmd;
	err = pbx_bus_send(r->worker_bus, &peer, &env);
	if (err)
		PLOG_ERR("command to worker %s failed: %d", worker_id, err);
}

void route_media_hangup(struct router *r, const char *worker_id,
			const char *tenant, const char *call_id,
			unsigned code, const char *reason)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Hangup hup = PBX__V1__MEDIA_COMMAND__HANGUP__INIT;

	hup.sip_code = code;
	hup.reason = (char *)reason;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_HANGUP;
	cmd.hangup = &hup;
	send_cmd(r, worker_id, tenant, call_id, &cmd);
}

static void delete_state(struct route_ctx *c)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char key[PBX_KEY_MAX];

	if (ac && !pbx_key(key, sizeof(key), c->tenant, "call:%s", c->call_id))
		redisAsyncCommand(ac, NULL, NULL, "DEL %s", key);
}

static void load_state(struct route_ctx *c);

static void after_save(struct route_ctx *c, int result)
{
	struct walk_action *act = &c->act;

	pbx_log_ctx(c->tenant, c->call_id);
	if (result == 0 && ++c->tries < SAVE_TRIES) {
		/* Another router moved this call on: start over from the
		 * state it wrote. */
		load_state(c);
		return;
	}
	if (result != 1) {
		PLOG_ERR("cannot store call state; ending the call");
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   503, "Service Unavailable");
		route_ctx_free(c);
		return;
	}
	if (act->kind == WALK_ACT_PLAY) {
		Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
		Pbx__V1__MediaCommand__Play play =
			PBX__V1__MEDIA_COMMAND__PLAY__INIT;

		PLOG_INFO("node %s: play %s", c->st.node, act->prompt);
		play.prompt = (char *)act->prompt;
		play.loops = 1;
		cmd.seq = c->seq;
		cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_PLAY;
		cmd.play = &play;
		send_cmd(c->r, c->worker_id, c->tenant, c->call_id, &cmd);
	} else {
		PLOG_INFO("node %s: hang up (%u %s)", c->st.node,
			  act->sip_code, act->reason);
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   act->sip_code, act->reason);
	}
	route_ctx_free(c);
}

static void walk(struct route_ctx *c, const struct scenario *sc)
{
	struct walk_action *act = &c->act;
	enum walk_event ev;

	pbx_log_ctx(c->tenant, c->call_id);
	if (!sc) {
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   503, "Service Unavailable");
		route_ctx_free(c);
		return;
	}
	switch (c->kind) {
	case PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED:
		ev = WALK_EV_ANSWERED;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE:
		ev = WALK_EV_PLAY_DONE;
		break;
	default:
		ev = WALK_EV_FAILED;
		break;
	}
	if (scenario_walk(sc, &c->st, ev, act))
		PLOG_WARN("call no longer fits scenario %s v%ld", c->scen,
			  c->version);
	if (act->kind == WALK_ACT_PLAY && !act->prompt) {
		act->kind = WALK_ACT_HANGUP;
		act->sip_code = 500;
	}
	if (act->kind == WALK_ACT_PLAY)
		c->seq++;
	if (act->kind == WALK_ACT_REJECT || act->kind == WALK_ACT_ANSWER) {
		/* The call is answered already; anything else ends it. */
		act->kind = WALK_ACT_HANGUP;
	}
	route_state_save(c, after_save);
}

static const char *field(const redisReply *rr, const char *name)
{
	for (size_t i = 0; i + 1 < rr->elements; i += 2) {
		if (rr->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(rr->element[i]->str, name) &&
		    rr->element[i + 1]->type == REDIS_REPLY_STRING)
			return rr->element[i + 1]->str;
	}
	return NULL;
}

static void state_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct route_ctx *c = arg;
	redisReply *rr = reply;
	const char *node, *scen, *rev, *seq, *worker;

	(void)ac;
	pbx_log_ctx(c->tenant, c->call_id);
	if (!rr || rr->type != REDIS_REPLY_ARRAY) {
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   503, "Service Unavailable");
		route_ctx_free(c);
		return;
	}
	node = field(rr, "node");
	scen = field(rr, "scenario");
	rev = field(rr, "rev");
	seq = field(rr, "seq");
	worker = field(rr, "worker");
	if (!node || !scen || !rev || !seq) {
		PLOG_WARN("event for a call without state; hanging it up");
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   480, "Temporarily Unavailable");
		route_ctx_free(c);
		return;
	}
	if (worker && strcmp(worker, c->worker_id)) {
		PLOG_WARN("event from worker %s for a call on %s ignored",
			  c->worker_id, worker);
		route_ctx_free(c);
		return;
	}
	if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE &&
	    strtoull(seq, NULL, 10) != c->seq) {
		PLOG_DEBUG("stale play-done %" PRIu64 " ignored", c->seq);
		route_ctx_free(c);
		return;
	}
	snprintf(c->st.node, sizeof(c->st.node), "%s", node);
	c->st.answered = field(rr, "answered") &&
			 !strcmp(field(rr, "answered"), "1");
	snprintf(c->scen, sizeof(c->scen), "%s", scen);
	c->rev = strtol(rev, NULL, 10);
	c->seq = strtoull(seq, NULL, 10);
	route_scenario_load(c, walk);
}

static void load_state(struct route_ctx *c)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char key[PBX_KEY_MAX];

	if (!ac || pbx_key(key, sizeof(key), c->tenant, "call:%s",
			   c->call_id) ||
	    redisAsyncCommand(ac, state_cb, c, "HGETALL %s", key) !=
		    REDIS_OK) {
		PLOG_ERR("storage unavailable; ending the call");
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   503, "Service Unavailable");
		route_ctx_free(c);
	}
}

void route_media_event(struct router *r, const struct pbx_bus_peer *peer,
		       const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaEvent *me = env->media_event;
	struct route_ctx *c;

	if (!pbx_tenant_valid(env->tenant_id) || !env->call_id ||
	    !env->call_id[0] || strlen(env->call_id) >= sizeof(c->call_id) ||
	    !peer || peer->len == 0 || peer->len > 64) {
		PLOG_WARN("media event without valid tenant/call dropped");
		return;
	}
	c = route_ctx_alloc(r, peer, env);
	if (!c) {
		PLOG_ERR("out of memory for a media event");
		return;
	}
	/* The worker is who sent it on our socket, whatever the body says. */
	memcpy(c->worker_id, peer->id, peer->len);
	c->worker_id[peer->len] = '\0';
	c->kind = me->kind;
	c->seq = me->seq;
	pbx_log_ctx(c->tenant, c->call_id);

	switch (me->kind) {
	case PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED:
		PLOG_INFO("call ended (%s)",
			  me->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP
				  ? "caller hung up"
				  : "we hung up");
		delete_state(c);
		route_ctx_free(c);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_FAILED:
		PLOG_WARN("worker %s failed: %s", c->worker_id,
			  me->detail ? me->detail : "");
		load_state(c);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE:
		load_state(c);
		return;
	default:
		PLOG_WARN("unknown media event kind %d dropped", me->kind);
		route_ctx_free(c);
		return;
	}
}
