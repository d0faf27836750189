/* The queue's side of a live call (issue 9): a QUEUE action puts the caller
 * on music and in a queue-manager's queue, with a deadline of its own; the
 * queue-manager's Offers ring agents as named legs on the caller's worker,
 * their results go back as AgentResults, its Cancels stop legs, and its
 * Result moves the walk on (QUEUE_RESULT). The call record keeps what any
 * router needs to continue: the queue, whether the caller still waits,
 * and its exit keys. Every wait ends: no live queue-manager, or none that
 * answers within max wait + queue_grace_s, takes the node's exit route. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"

#define AR(x) PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_##x
#define LEAVE(x) PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_##x
#define QR(x) PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_##x
#define RR(x) PBX__V1__MEDIA_EVENT__RING_RESULT__RING_##x

/* An agent is an extension or a number ("+<digits>"): it fits a ring
 * target. */
enum { OFFER_AGENTS_MAX = 64, AGENT_MAX = WALK_TARGET_MAX };

/* An Offer's agent kinds, as the walk's ring destinations (one table:
 * an unknown kind is no agent to ring). */
static const struct {
	const char *name;
	enum walk_dest dest;
} agent_dests[] = {
	{"extension", WALK_DEST_EXTENSION},
	{"external", WALK_DEST_EXTERNAL},
	{"mobile", WALK_DEST_MOBILE},
};

static enum walk_dest agent_dest(const char *kind)
{
	for (size_t i = 0; i < sizeof(agent_dests) / sizeof(*agent_dests);
	     i++) {
		if (!strcmp(kind, agent_dests[i].name))
			return agent_dests[i].dest;
	}
	return WALK_DEST_NONE;
}

/* A named leg's result, as the queue-manager counts it (0: nothing to
 * report: the leg was cancelled because another answered). */
static const int agent_result_of[] = {
	[RR(ANSWERED)] = AR(ANSWERED),
	[RR(NO_ANSWER)] = AR(NO_ANSWER),
	[RR(BUSY)] = AR(BUSY),
	[RR(UNAVAILABLE)] = AR(UNAVAILABLE),
	[RR(CANCELLED)] = 0,
};

/* A queue-manager's Result, as the walk hears it (QUEUED is no event). */
static const struct {
	enum walk_event_kind ev;
	enum walk_queue_result queue;
} walk_of[] = {
	[QR(TIMEOUT)] = {WALK_EV_QUEUE_RESULT, WALK_QUEUE_TIMEOUT},
	[QR(FULL)] = {WALK_EV_QUEUE_RESULT, WALK_QUEUE_FULL},
	[QR(NO_AGENTS)] = {WALK_EV_QUEUE_RESULT, WALK_QUEUE_NO_AGENTS},
	[QR(EXIT_KEY)] = {WALK_EV_QUEUE_RESULT, WALK_QUEUE_EXIT_KEY},
	[QR(FAILED)] = {WALK_EV_FAILED, WALK_QUEUE_NONE},
};

/* ---- to the queue-manager ---------------------------------------------- */

int route_queue_send(struct router *r, const char *tenant,
		     const char *call_id, Pbx__V1__QueueCommand *qc)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	const char *qm = qms_pick(&r->qms, pbx_clock_mono_ms());
	struct pbx_bus_peer peer;
	int err;

	if (!qm)
		return -EHOSTUNREACH;
	peer.len = strlen(qm);
	memcpy(peer.id, qm, peer.len);
	env.tenant_id = (char *)tenant;
	env.call_id = (char *)call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_QUEUE_COMMAND;
	env.queue_command = qc;
	err = pbx_bus_send(r->queue_bus, &peer, &env);
	if (err)
		PLOG_WARN("command to queue-manager %s failed: %d", qm, err);
	return err;
}

/* A caller that can be called back has a number this long at least
 * (not an extension, not a short number). */
#define CB_CALLER_MIN 10

/* The call-back's settings kept while the caller waits (c->qcb). */
struct qcb {
	char key;
	unsigned window_s, retries, retry_s;
	char prompt[PBX_ID_MAX + 1];
};

static int qcb_parse(const char *s, struct qcb *q)
{
	int n = 0;

	memset(q, 0, sizeof(*q));
	if (sscanf(s, "%c,%u,%u,%u,%n", &q->key, &q->window_s, &q->retries,
		   &q->retry_s, &n) != 4 || !n)
		return -EINVAL;
	snprintf(q->prompt, sizeof(q->prompt), "%s", s + n);
	return 0;
}

/* The caller asked for a call-back and its call ended: it keeps its
 * place; the queue-manager calls an agent, then this number (showing
 * the number the caller dialled) when its turn comes. */
static void leave_callback(struct route_ctx *c)
{
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__Leave lv = PBX__V1__QUEUE_COMMAND__LEAVE__INIT;
	struct qcb q;
	char d[2] = {0};

	if (qcb_parse(c->qcb, &q))
		return;
	d[0] = q.key;
	lv.reason = LEAVE(CALLBACK);
	lv.digit = d;
	lv.callback_number = c->caller;
	lv.callback_caller_id = (char *)(pbx_number_valid(c->number)
						 ? c->number
						 : "");
	lv.callback_window_s = q.window_s;
	lv.callback_retries = q.retries;
	lv.callback_retry_s = q.retry_s;
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_LEAVE;
	qc.leave = &lv;
	PLOG_INFO("queue %s: the caller %s hung up for a call-back", c->queue,
		  c->caller);
	if (route_queue_send(c->r, c->tenant, c->call_id, &qc))
		PLOG_WARN("queue %s: call-back not sent (no queue-manager); "
			  "the caller is dropped at its max wait",
			  c->queue);
}

static void leave(struct route_ctx *c, int reason, char digit)
{
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__Leave lv = PBX__V1__QUEUE_COMMAND__LEAVE__INIT;
	char d[2] = {digit, '\0'};

	lv.reason = reason;
	lv.digit = d;
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_LEAVE;
	qc.leave = &lv;
	if (route_queue_send(c->r, c->tenant, c->call_id, &qc))
		PLOG_WARN("queue %s: leave not sent (no queue-manager); it "
			  "drops the caller at its max wait",
			  c->queue[0] ? c->queue : "?");
}

/* ---- to the worker ------------------------------------------------------ */

static void cancel_ring(struct route_ctx *c, const char *leg)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__CancelRing cr =
		PBX__V1__MEDIA_COMMAND__CANCEL_RING__INIT;

	cr.leg = (char *)leg;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_CANCEL_RING;
	cmd.cancel_ring = &cr;
	route_exec_send(c, &cmd);
}

/* A named leg is "<offer>:<agent>": its result names both. */
static void leg_name(char *buf, size_t size, uint32_t offer,
		     const char *agent)
{
	snprintf(buf, size, "%u:%s", offer, agent);
}

static int leg_parse(const char *leg, uint32_t *offer, const char **agent)
{
	char *end;
	unsigned long n = strtoul(leg, &end, 10);

	if (end == leg || *end != ':' || !end[1] || n > UINT32_MAX)
		return -EINVAL;
	*offer = (uint32_t)n;
	*agent = end + 1;
	return 0;
}

/* ---- the walk's side ---------------------------------------------------- */

void route_queue_join(struct route_ctx *c, const struct walk_action *a)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__QueueHold hold =
		PBX__V1__MEDIA_COMMAND__QUEUE_HOLD__INIT;
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__Enqueue eq =
		PBX__V1__QUEUE_COMMAND__ENQUEUE__INIT;
	uint32_t max_wait = a->queue.max_wait_s;
	bool news = a->queue.announce_position || a->queue.announce_wait;
	char cbk[2] = {0};

	/* The caller hears music from now until an agent answers (the
	 * worker's built-in music when the queue names none): the entry
	 * prompt first, then every periodic_interval the periodic prompt
	 * and its place, in the tenant's language. */
	hold.moh = (char *)(a->queue.moh ? a->queue.moh : "");
	hold.entry_prompt =
		(char *)(a->queue.entry_prompt ? a->queue.entry_prompt : "");
	hold.periodic_prompt = (char *)(a->queue.periodic_prompt
						? a->queue.periodic_prompt
						: "");
	if (news || a->queue.periodic_prompt)
		hold.periodic_ms = a->queue.periodic_s * 1000;
	hold.language = c->lang;
	hold.announce_position = a->queue.announce_position;
	hold.announce_wait = a->queue.announce_wait;
	/* The call-back exit is offered to a caller who can be called. */
	if (a->queue.callback_key && pbx_number_valid(c->caller) &&
	    strlen(c->caller) >= CB_CALLER_MIN)
		cbk[0] = a->queue.callback_key;
	hold.callback_key = cbk;
	/* Armed before the music: the agent's leg may answer at once. */
	if (a->queue.record)
		route_exec_record_call(c, "", a->queue.name,
				       a->queue.record_channels,
				       a->queue.record_prompt);
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_QUEUE_HOLD;
	cmd.queue_hold = &hold;
	route_exec_send(c, &cmd);

	eq.queue = (char *)a->queue.name;
	eq.priority = a->queue.priority < 0	 ? 0
		      : a->queue.priority > 10 ? 10
					       : (uint32_t)a->queue.priority;
	eq.max_wait_s = max_wait;
	eq.caller = c->caller;
	/* The queue-manager reports a new position at most this often. */
	eq.announce_ms = news ? a->queue.periodic_s * 1000 : 0;
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_ENQUEUE;
	qc.enqueue = &eq;
	if (route_queue_send(c->r, c->tenant, c->call_id, &qc)) {
		/* The deadline's path, at once: the exit route. */
		PLOG_WARN("node %s: queue %s: no queue-manager alive; the "
			  "exit route",
			  c->st.node, a->queue.name);
		route_exec_timer(c, ROUTE_QUEUE_TIMER, 1);
		return;
	}
	PLOG_INFO("node %s: queue %s (max wait %u s, priority %u)",
		  c->st.node, a->queue.name, max_wait, eq.priority);
	route_exec_timer(c, ROUTE_QUEUE_TIMER, (max_wait + (uint32_t)c->r->cfg->queue_grace_s) *
				1000);
}

bool route_queue_translate(struct route_ctx *c, struct walk_event *ev)
{
	if (c->kind == ROUTE_EV_QUEUE_RESULT) {
		/* A late Result of a queue the call left (maybe for
		 * another queue) is not about where it is now. */
		if (!c->qwait || strcmp(c->q_from, c->queue))
			return false;
		memset(ev, 0, sizeof(*ev));
		ev->kind = walk_of[c->q_kind].ev;
		ev->queue = walk_of[c->q_kind].queue;
		ev->digit = c->digit;
		return true;
	}
	if (c->q_leg[0]) {
		/* An agent answered: the worker bridged it. */
		if (!c->qwait) {
			PLOG_WARN("leg %s answered a call that left the "
				  "queue; dropped",
				  c->q_leg);
			cancel_ring(c, c->q_leg);
			return false;
		}
		memset(ev, 0, sizeof(*ev));
		ev->kind = WALK_EV_QUEUE_RESULT;
		ev->queue = WALK_QUEUE_ANSWERED;
		return true;
	}
	if (ev->kind == WALK_EV_TIMER && ev->timer_id == ROUTE_QUEUE_TIMER) {
		if (!c->qwait)
			return false; /* stale */
		PLOG_WARN("queue %s: no word from a queue-manager in time; "
			  "the exit route",
			  c->queue);
		ev->kind = WALK_EV_FAILED;
		c->q_leave = LEAVE(HANGUP);
		return true;
	}
	if (ev->kind == WALK_EV_DTMF && c->qwait && ev->digit &&
	    strchr(c->qkeys, ev->digit)) {
		PLOG_INFO("queue %s: exit key %c", c->queue, ev->digit);
		ev->kind = WALK_EV_QUEUE_RESULT;
		ev->queue = WALK_QUEUE_EXIT_KEY;
		c->q_leave = LEAVE(EXIT_KEY);
	}
	return true;
}

void route_queue_prepare(struct route_ctx *c, const struct walk_event *ev)
{
	if (c->qwait && ev->kind == WALK_EV_QUEUE_RESULT &&
	    ev->queue == WALK_QUEUE_ANSWERED) {
		/* Bridged: no more exit keys; the queue-manager hears of
		 * the call's end (route_queue_ended). */
		c->qwait = false;
		c->qkeys[0] = c->qcb[0] = '\0';
		c->qcb_on = false;
	} else if (c->qwait && (c->out.n || c->out.ended)) {
		c->q_left = true;
		c->qwait = false;
		c->queue[0] = c->qkeys[0] = c->qcb[0] = '\0';
		c->qcb_on = false;
	}
	for (size_t i = 0; i < c->out.n; i++) {
		const struct walk_action *a = &c->out.act[i];

		if (a->kind != WALK_ACT_QUEUE)
			continue;
		snprintf(c->queue, sizeof(c->queue), "%s", a->queue.name);
		snprintf(c->qkeys, sizeof(c->qkeys), "%s", a->queue.exit_keys);
		c->qwait = true;
		c->qcb[0] = '\0';
		if (a->queue.callback_key)
			snprintf(c->qcb, sizeof(c->qcb), "%c,%u,%u,%u,%s",
				 a->queue.callback_key,
				 a->queue.callback_window_s,
				 a->queue.callback_retries,
				 a->queue.callback_retry_s,
				 a->queue.callback_prompt
					 ? a->queue.callback_prompt
					 : "");
	}
}

/* The caller of a queue with a call-back key pressed it (and can be
 * called: its number is one), or its confirmation ended. */
bool route_queue_callback(struct route_ctx *c)
{
	struct qcb q;

	if (!c->qwait || qcb_parse(c->qcb, &q))
		return false;
	if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF &&
	    c->digit == q.key && !c->qcb_on) {
		if (!pbx_number_valid(c->caller) ||
		    strlen(c->caller) < CB_CALLER_MIN) {
			PLOG_INFO("queue %s: call-back key from %s, which is "
				  "no number to call: ignored",
				  c->queue, c->caller[0] ? c->caller : "-");
			return false;
		}
		PLOG_INFO("queue %s: call-back asked (key %c): "
			  "confirmation, then the caller may hang up",
			  c->queue, q.key);
		c->qcb_on = true;
		c->q_cb_do = ROUTE_CB_CONFIRM;
		return true;
	}
	if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE &&
	    c->qcb_on) {
		c->q_cb_do = ROUTE_CB_BYE;
		return true;
	}
	return false;
}

void route_queue_after_save(struct route_ctx *c)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__StopPlay sp =
		PBX__V1__MEDIA_COMMAND__STOP_PLAY__INIT;
	struct qcb q;

	if (c->q_cb_do == ROUTE_CB_CONFIRM && !qcb_parse(c->qcb, &q)) {
		/* The caller keeps its place while it listens (an agent
		 * free meanwhile still takes the call). */
		route_exec_play(c, q.prompt[0] ? q.prompt : "q_callback_ok",
				false);
		return;
	}
	if (c->q_cb_do == ROUTE_CB_BYE) {
		route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id,
				   200, "call-back asked");
		return;
	}
	if (!c->q_left)
		return;
	/* Out of the queue: no agent may still ring for it, its deadline
	 * and its music go; the next node's actions follow. */
	cancel_ring(c, "");
	route_exec_timer(c, ROUTE_QUEUE_TIMER, 0);
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_STOP_PLAY;
	cmd.stop_play = &sp;
	route_exec_send(c, &cmd);
	if (c->q_leave)
		leave(c, c->q_leave, c->digit);
}

void route_queue_ended(struct route_ctx *c)
{
	if (route_callback_is(c)) {
		route_callback_ended(c);
		return;
	}
	/* Waiting: abandoned, or called back; bridged: the agent's call
	 * ended. */
	if (c->queue[0] && c->qwait && c->qcb_on)
		leave_callback(c);
	else if (c->queue[0])
		leave(c, LEAVE(HANGUP), 0);
}

bool route_queue_leg_result(struct router *r, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaEvent *me = env->media_event;
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__AgentResult ar =
		PBX__V1__QUEUE_COMMAND__AGENT_RESULT__INIT;
	const char *agent;
	uint32_t offer;
	int result = 0;

	if (leg_parse(me->leg, &offer, &agent)) {
		PLOG_WARN("ring result of an unknown leg '%s' dropped",
			  me->leg);
		return false;
	}
	if (me->ring_result >= 0 &&
	    (size_t)me->ring_result < sizeof(agent_result_of) /
					      sizeof(agent_result_of[0]))
		result = agent_result_of[me->ring_result];
	if (!result)
		return false;
	PLOG_INFO("agent %s (offer %u): ring result %d (sip %u)", agent, offer,
		  me->ring_result, me->sip_code);
	ar.agent = (char *)agent;
	ar.offer = offer;
	ar.result = result;
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT;
	qc.agent_result = &ar;
	if (route_queue_send(r, env->tenant_id, env->call_id, &qc))
		PLOG_WARN("agent %s: result not sent (no queue-manager)",
			  agent);
	return result == AR(ANSWERED);
}

/* ---- from the queue-manager --------------------------------------------- */

/* An Offer, a Cancel or a new place waiting for the call's record. */
struct qoffer {
	bool cancel;
	bool place;	  /* Result QUEUED: position, wait_s */
	uint32_t position, wait_s;
	char queue[AGENT_MAX];
	uint32_t offer;
	uint32_t timeout_ms;
	size_t n;
	char agent[OFFER_AGENTS_MAX][AGENT_MAX];
	enum walk_dest dest[OFFER_AGENTS_MAX];
};

static void got_call(struct route_ctx *c, struct redisReply *rr)
{
	char *dst[] = {c->worker_id, c->domain, c->caller, c->queue, NULL};
	size_t size[] = {sizeof(c->worker_id), sizeof(c->domain),
			 sizeof(c->caller), sizeof(c->queue), 0};

	if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements != 5) {
		c->err = true;
		return;
	}
	c->missing = rr->element[0]->type != REDIS_REPLY_STRING;
	for (size_t i = 0; i < 5; i++) {
		const struct redisReply *e = rr->element[i];
		const char *v = e->type == REDIS_REPLY_STRING ? e->str : "";

		if (dst[i])
			snprintf(dst[i], size[i], "%s", v);
		else
			c->qwait = !strcmp(v, "1"); /* the last: qwait */
	}
}

static void offer_run(struct route_ctx *c)
{
	struct qoffer *o = c->user;
	struct walk_action ring;
	char leg[AGENT_MAX + 16];

	pbx_log_ctx(c->tenant, c->call_id);
	if (c->err || c->missing) {
		/* Gone: its Leave releases the agents. */
		PLOG_INFO("queue %s for a call without state ignored",
			  o->place ? "news" : o->cancel ? "cancel" : "offer");
		goto out;
	}
	if (o->place) {
		Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
		Pbx__V1__MediaCommand__QueueAnnounce qa =
			PBX__V1__MEDIA_COMMAND__QUEUE_ANNOUNCE__INIT;

		/* Only for the queue it waits in now. */
		if (!c->qwait || strcmp(c->queue, o->queue))
			goto out;
		qa.position = o->position;
		qa.wait_s = o->wait_s;
		cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_QUEUE_ANNOUNCE;
		cmd.queue_announce = &qa;
		route_exec_send(c, &cmd);
		goto out;
	}
	for (size_t i = 0; i < o->n; i++) {
		leg_name(leg, sizeof(leg), o->offer, o->agent[i]);
		if (o->cancel) {
			PLOG_INFO("queue %s: stop ringing agent %s", c->queue,
				  o->agent[i]);
			cancel_ring(c, leg);
			continue;
		}
		if (!c->qwait) {
			PLOG_INFO("offer %u to agent %s for a call not "
				  "waiting: ignored",
				  o->offer, o->agent[i]);
			continue;
		}
		/* A number rings through the tenant's trunk, as a
		 * subscriber node's external or mobile target does. */
		ring = (struct walk_action){
			.kind = WALK_ACT_RING,
			.ring = {.dest = o->dest[i],
				 .timeout_ms = o->timeout_ms},
		};
		snprintf(ring.ring.target, sizeof(ring.ring.target), "%s",
			 o->agent[i]);
		route_exec_ring(c, &ring, leg);
	}
out:
	free(o);
	route_ctx_free(c);
}

/* Reads the call's record, then carries out o (owned from here on). */
static void with_call(struct router *r, const Pbx__V1__Envelope *env,
		      struct qoffer *o)
{
	char key[PBX_KEY_MAX];
	struct route_ctx *c;

	if (!o) {
		PLOG_ERR("out of memory for a queue event");
		return;
	}
	c = route_ctx_alloc(r, NULL, env);
	if (!c) {
		PLOG_ERR("out of memory for a queue event");
		free(o);
		return;
	}
	c->user = o;
	if (!pbx_key(key, sizeof(key), c->tenant, "call:%s", c->call_id))
		route_pipe_cmd(c, got_call,
			       "HMGET %s worker domain caller queue qwait",
			       key);
	if (!c->waiting)
		c->err = true;
	route_pipe_run(c, offer_run);
}

/* kinds: each agent's (an Offer's agent_kinds), or NULL: all `kind`. */
static void offer_or_cancel(struct router *r, const Pbx__V1__Envelope *env,
			    bool cancel, char **agents, size_t n,
			    char **kinds, const char *kind, uint32_t offer,
			    uint32_t timeout_ms)
{
	struct qoffer *o = calloc(1, sizeof(*o));

	if (o) {
		o->cancel = cancel;
		o->offer = offer;
		o->timeout_ms = timeout_ms;
		for (size_t i = 0; i < n && o->n < OFFER_AGENTS_MAX; i++) {
			enum walk_dest d = agent_dest(kinds ? kinds[i] : kind);

			if (!agents[i] || !agents[i][0] ||
			    strlen(agents[i]) >= AGENT_MAX)
				continue;
			if (!cancel && d == WALK_DEST_NONE) {
				/* Never rung: the offer expires (a miss). */
				PLOG_WARN("offer %u: agent %s of unknown kind "
					  "'%s' not rung",
					  offer, agents[i],
					  kinds ? kinds[i] : kind);
				continue;
			}
			o->dest[o->n] = d;
			snprintf(o->agent[o->n++], AGENT_MAX, "%s", agents[i]);
		}
	}
	with_call(r, env, o);
}

/* The caller's place, to its worker (the announcement is the worker's). */
static void queue_news(struct router *r, const Pbx__V1__Envelope *env,
		       const Pbx__V1__QueueEvent__Result *res)
{
	struct qoffer *o;

	if (strlen(res->queue) >= AGENT_MAX)
		return;
	o = calloc(1, sizeof(*o));
	if (o) {
		o->place = true;
		o->position = res->position;
		o->wait_s = res->wait_s;
		snprintf(o->queue, sizeof(o->queue), "%s", res->queue);
	}
	with_call(r, env, o);
}

void route_queue_event(struct router *r, const struct pbx_bus_peer *peer,
		       const Pbx__V1__Envelope *env)
{
	const Pbx__V1__QueueEvent *qe = env->queue_event;
	const Pbx__V1__QueueEvent__Result *res;
	struct route_ctx *c;

	(void)peer;
	if (!qe)
		return;
	if (qe->ev_case == PBX__V1__QUEUE_EVENT__EV_AGENT_STATUS) {
		if (qe->agent_status)
			PLOG_INFO("agent %s of %s: %s%s%s",
				  qe->agent_status->agent, env->tenant_id,
				  qe->agent_status->state,
				  qe->agent_status->reason[0] ? ": " : "",
				  qe->agent_status->reason);
		return;
	}
	if (!pbx_tenant_valid(env->tenant_id) || !env->call_id ||
	    !env->call_id[0] || strlen(env->call_id) >= sizeof(c->call_id)) {
		PLOG_WARN("queue event without valid tenant/call dropped");
		return;
	}
	pbx_log_ctx(env->tenant_id, env->call_id);
	switch (qe->ev_case) {
	case PBX__V1__QUEUE_EVENT__EV_OFFER:
		if (qe->offer->callback_number[0]) {
			route_callback_offer(r, env, qe->offer);
			return;
		}
		/* agent_kinds names each agent's kind; an older
		 * queue-manager's dest_kind all of them. */
		offer_or_cancel(r, env, false, qe->offer->agents,
				qe->offer->n_agents,
				qe->offer->n_agent_kinds == qe->offer->n_agents
					? qe->offer->agent_kinds
					: NULL,
				qe->offer->dest_kind[0] ? qe->offer->dest_kind
							: "extension",
				qe->offer->offer, qe->offer->timeout_ms);
		return;
	case PBX__V1__QUEUE_EVENT__EV_CANCEL:
		/* A call-back made for that offer, if any, ends too. */
		route_callback_cancel(r, env, qe->cancel->offer);
		offer_or_cancel(r, env, true, qe->cancel->agents,
				qe->cancel->n_agents, NULL, "", qe->cancel->offer,
				0);
		return;
	case PBX__V1__QUEUE_EVENT__EV_RESULT:
		break;
	default:
		PLOG_WARN("queue event %d dropped", qe->ev_case);
		return;
	}
	res = qe->result;
	if (res->kind == QR(QUEUED)) {
		PLOG_INFO("queue %s: position %u, estimated wait %u s",
			  res->queue, res->position, res->wait_s);
		if (res->position)
			queue_news(r, env, res);
		return;
	}
	if (res->kind <= 0 || (size_t)res->kind >= sizeof(walk_of) /
							   sizeof(walk_of[0]) ||
	    !walk_of[res->kind].ev) {
		PLOG_WARN("queue result %d dropped", res->kind);
		return;
	}
	PLOG_INFO("queue %s: result %d%s%s", res->queue, res->kind,
		  res->detail[0] ? ": " : "", res->detail);
	c = route_ctx_alloc(r, NULL, env);
	if (!c) {
		PLOG_ERR("out of memory for a queue result");
		return;
	}
	c->kind = ROUTE_EV_QUEUE_RESULT;
	c->q_kind = res->kind;
	c->digit = res->digit[0];
	snprintf(c->q_from, sizeof(c->q_from), "%s", res->queue);
	route_walk_event(c);
}
