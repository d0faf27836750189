/* Worker events: reload the call's state, take one walk step, store the
 * new state (compare-and-set, retried on a race with another router) and
 * only then command the worker. A call whose state is gone is hung up: no
 * call is left hanging on a worker without a scenario. */
#include <errno.h>
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


static void copy_record(struct route_ctx *c, const redisReply *rr);

static void end_call(struct route_ctx *c, unsigned code, const char *reason)
{
	route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id, code,
			   reason);
	route_ctx_free(c);
}

/* What the end of a call tells others: its queue, its CRM record, who
 * called what, its conference room, and its call record (the CDR, built
 * here while the hash is at hand: c->user until deleted() writes it). */
static void got_ending(struct route_ctx *c, redisReply *rr)
{
	struct pbx_cdr *cdr = c->user;

	if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements == 0)
		return;
	copy_record(c, rr); /* harmless: c is not saved again */
	c->missing = false;
	if (cdr)
		route_cdr_from_record(cdr, rr);
}

static void got_nothing(struct route_ctx *c, redisReply *rr)
{
	(void)c;
	(void)rr;
}

static void deleted(struct route_ctx *c)
{
	struct pbx_cdr *cdr = c->user;

	route_queue_ended(c);
	route_conf_ended(c);
	if (c->pk)
		route_pickup_forget(c->r, c->tenant, c->call_id);
	route_crm_ended(c);
	/* Only the router that found the record writes it: a second end
	 * (both workers of a decision, a late HANGUP) finds none. */
	if (cdr && !c->missing && !route_conf_is_leg(c)) {
		snprintf(cdr->tenant, sizeof(cdr->tenant), "%s", c->tenant);
		snprintf(cdr->call_id, sizeof(cdr->call_id), "%s",
			 c->call_id);
		route_cdr_write(c->r, cdr);
	}
	free(cdr);
	c->user = NULL;
	route_ctx_free(c);
}

/* The call is over: its record goes (read first: the queue-manager must
 * hear of the end of a queued call, the CDR is written from it); frees
 * c. */
static void delete_state(struct route_ctx *c, enum pbx_cdr_end end)
{
	char key[PBX_KEY_MAX];
	struct pbx_cdr *cdr = calloc(1, sizeof(*cdr));

	if (cdr)
		cdr->end = end;
	else
		PLOG_ERR("out of memory: the call's record is lost");
	c->user = cdr;
	c->missing = true; /* until got_ending finds the record */
	if (!pbx_key(key, sizeof(key), c->tenant, "call:%s", c->call_id)) {
		route_pipe_cmd(c, got_ending, "HGETALL %s", key);
		route_pipe_cmd(c, got_nothing, "DEL %s", key);
	}
	/* The sender ended the call; the fallback it was also indexed
	 * under (if any) expires with the reaper's scan (members whose
	 * record is gone are dropped). */
	route_index_del(c->r, c->worker_id, c->tenant, c->call_id);
	if (c->cof[0])
		route_index_del(c->r, c->cof, c->tenant, c->call_id);
	route_limits_release(c->r, c->tenant, c->call_id);
	route_pipe_run(c, deleted);
}

static void load_state(struct route_ctx *c);

static void after_save(struct route_ctx *c, int result)
{
	pbx_log_ctx(c->tenant, c->call_id);
	if (result == 0 && ++c->tries < SAVE_TRIES) {
		/* Another router moved this call on: start over from the
		 * state it wrote. */
		load_state(c);
		return;
	}
	if (result != 1) {
		PLOG_ERR("cannot store call state; ending the call");
		end_call(c, 503, "Service Unavailable");
		return;
	}
	if (c->moved_from[0]) {
		route_index_del(c->r, c->moved_from, c->tenant, c->call_id);
		c->moved_from[0] = '\0';
	}
	/* Started: counted against the tenant's limit until it ends. */
	if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING)
		route_limits_extend(c->r, c->tenant, c->call_id,
				    !strncmp(c->scen, ROUTE_OUT_SCEN,
					     strlen(ROUTE_OUT_SCEN)));
	route_queue_after_save(c);
	route_conf_after_save(c);
	route_feature_after_save(c);
	route_exec_then(c, route_ctx_free);
}

static void fill_event(const struct route_ctx *c, struct walk_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	switch (c->kind) {
	case PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING:
		ev->kind = WALK_EV_START;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED:
		ev->kind = WALK_EV_ANSWERED;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE:
		ev->kind = WALK_EV_PLAY_DONE;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF:
		ev->kind = WALK_EV_DTMF;
		ev->digit = c->digit;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER:
		ev->kind = WALK_EV_TIMER;
		ev->timer_id = c->timer_id;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_SPEECH:
		ev->kind = WALK_EV_SPEECH;
		ev->phrase = c->speech_phrase;
		ev->confidence = c->speech_conf;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_FAX_DONE:
		ev->kind = WALK_EV_FAX_RESULT;
		ev->fax_ok = c->fax_ok;
		break;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT:
		ev->kind = WALK_EV_RING_RESULT;
		switch (c->ring_result) {
		case PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED:
			ev->ring = WALK_RING_ANSWERED;
			break;
		case PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER:
			ev->ring = WALK_RING_NO_ANSWER;
			break;
		case PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY:
			ev->ring = WALK_RING_BUSY;
			break;
		default:
			ev->ring = WALK_RING_UNAVAILABLE;
			break;
		}
		break;
	default:
		ev->kind = WALK_EV_FAILED;
		break;
	}
}

static void step(struct route_ctx *c)
{
	struct walk_event ev;
	struct walk_ctx ctx;
	int err;

	pbx_log_ctx(c->tenant, c->call_id);
	if (!c->sc || !c->objs) {
		end_call(c, 503, "Service Unavailable");
		return;
	}
	/* A feature the worker runs itself (voicemail from the phone). */
	if (!strncmp(c->scen, "@fc:", 4)) {
		switch (route_feature_event(c)) {
		case ROUTE_FC_WALK:
			break;
		case ROUTE_FC_SAVE:
			memset(&c->out, 0, sizeof(c->out));
			c->seq++;
			route_state_save(c, after_save);
			return;
		case ROUTE_FC_IGNORE:
			route_ctx_free(c);
			return;
		case ROUTE_FC_END:
			end_call(c, 500, "Feature Failed");
			return;
		case ROUTE_FC_END_NOTHING:
			end_call(c, 404, "Not Found (nothing to pick up)");
			return;
		}
	}
	/* A call in a conference is the room's (the walk is done with
	 * it): PIN digits, its timer, the worker's answers. */
	if (c->conf[0] && c->kind != PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING) {
		memset(&c->out, 0, sizeof(c->out));
		if (!route_conf_event(c)) {
			route_ctx_free(c);
			return;
		}
		c->seq++;
		route_state_save(c, after_save);
		return;
	}
	/* A waiting caller's call-back key and its confirmation are the
	 * queue's, not the walk's. */
	if (route_queue_callback(c)) {
		memset(&c->out, 0, sizeof(c->out));
		c->seq++;
		route_state_save(c, after_save);
		return;
	}
	/* Its extension's ring ended: no longer to be picked up. */
	if (c->pk && c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT &&
	    !c->q_leg[0])
		route_pickup_forget(c->r, c->tenant, c->call_id);
	fill_event(c, &ev);
	if (!route_queue_translate(c, &ev) || !route_crm_translate(c, &ev) ||
	    !route_callback_translate(c, &ev)) {
		route_ctx_free(c); /* nothing for the walk */
		return;
	}
	if (ev.kind == WALK_EV_START)
		scenario_walk_init(&c->st);
	route_cdr_before_step(c);
	route_walk_ctx(c, &ctx);
	err = scenario_walk_step(c->sc, &ctx, &c->st, &ev, &c->out);
	route_cdr_after_step(c, &ev);
	if (err)
		PLOG_WARN("walk %s: %s (scenario %s v%ld)",
			  scenario_walk_event_name(ev.kind),
			  err == -ELOOP ? "loop guard" : "state does not fit",
			  c->scen, c->version);
	for (size_t i = 0; i < c->out.nhops; i++)
		PLOG_DEBUG("hop %s (%s): %s%s%s", c->out.hop[i].node,
			   scenario_type_name(c->out.hop[i].type),
			   c->out.hop[i].what ? c->out.hop[i].what : "",
			   c->out.hop[i].output ? " -> " : "",
			   c->out.hop[i].output ? c->out.hop[i].output : "");
	route_queue_prepare(c, &ev);
	route_conf_prepare(c);
	route_crm_prepare(c);
	if (c->out.n == 0) {
		/* Nothing to do now (an ignored or waiting event): the state
		 * is unchanged unless the walk moved, save only then. */
		route_state_save(c, after_save);
		return;
	}
	c->seq++;
	route_state_save(c, after_save);
}

static void got_state(struct route_ctx *c, redisReply *rr)
{
	const char *walk, *scen, *rev, *seq, *worker, *ver;

	if (!rr || rr->type != REDIS_REPLY_ARRAY) {
		c->err = true;
		return;
	}
	walk = route_field(rr, "walk");
	scen = route_field(rr, "scenario");
	rev = route_field(rr, "rev");
	seq = route_field(rr, "seq");
	worker = route_field(rr, "worker");
	ver = route_field(rr, "version");
	/* A queue-manager's event: the call's worker is the record's. */
	if (!c->worker_id[0] && worker)
		snprintf(c->worker_id, sizeof(c->worker_id), "%s", worker);
	if (!walk || !scen || !rev || !seq || !ver ||
	    scenario_walk_state_decode(&c->st, walk)) {
		c->missing = true;
		return;
	}
	if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING &&
	    route_field(rr, "alt") && route_field(rr, "alt")[0] && worker &&
	    !strcmp(worker, c->worker_id))
		/* The first worker took it: the fallback's index entry goes. */
		snprintf(c->moved_from, sizeof(c->moved_from), "%s",
			 route_field(rr, "alt"));
	if (worker && strcmp(worker, c->worker_id)) {
		const char *alt = route_field(rr, "alt");

		/* The edge fell back to the second worker of the decision:
		 * it anchors the call from now on. */
		if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING &&
		    alt && !strcmp(alt, c->worker_id)) {
			PLOG_WARN("worker %s did not take the call; %s has it",
				  worker, c->worker_id);
			snprintf(c->moved_from, sizeof(c->moved_from), "%s",
				 worker);
		} else {
			PLOG_WARN("event from worker %s for a call on %s "
				  "ignored",
				  c->worker_id, worker);
			c->ignore = true;
			return;
		}
	}
	snprintf(c->scen, sizeof(c->scen), "%s", scen);
	c->version = strtol(ver, NULL, 10);
	c->rev = strtol(rev, NULL, 10);
	c->seq = strtoull(seq, NULL, 10);
	copy_record(c, rr);
}

/* The record's facts into c (an event's step, or the end of the call). */
static void copy_record(struct route_ctx *c, const redisReply *rr)
{
#define COPY(dst, name)                                                        \
	snprintf(dst, sizeof(dst), "%s",                                       \
		 route_field(rr, name) ? route_field(rr, name) : "")
	COPY(c->caller, "caller");
	COPY(c->edge, "edge");
	COPY(c->number, "dialed");
	COPY(c->domain, "domain");
	COPY(c->lang, "lang");
	COPY(c->queue, "queue");
	COPY(c->qkeys, "qkeys");
	COPY(c->conf, "conf");
	COPY(c->cdig, "cdig");
	COPY(c->crm, "crm");
	COPY(c->cof, "cof");
	COPY(c->qcb, "qcb");
	COPY(c->qcall, "qcall");
	COPY(c->qag, "qag");
	COPY(c->pk_call, "pkc");
#undef COPY
	c->pk = route_field(rr, "pk") && !strcmp(route_field(rr, "pk"), "1");
	c->qcb_on = route_field(rr, "qcbon") &&
		    !strcmp(route_field(rr, "qcbon"), "1");
	c->qoff = route_field(rr, "qoff")
			  ? (uint32_t)strtoul(route_field(rr, "qoff"), NULL, 10)
			  : 0;
	c->qcbst = route_field(rr, "qcbst") ? route_field(rr, "qcbst")[0]
					    : '\0';
	route_cdr_load(c, rr);
	c->cstate = route_field(rr, "cst") ? route_field(rr, "cst")[0] : '\0';
	c->ctries = route_field(rr, "ctry") ? atoi(route_field(rr, "ctry")) : 0;
	c->cmod = route_field(rr, "cmod") && !strcmp(route_field(rr, "cmod"), "1");
	c->qwait = route_field(rr, "qwait") && !strcmp(route_field(rr, "qwait"), "1");
	c->fax_enabled = route_field(rr, "fax") && !strcmp(route_field(rr, "fax"), "1");
}

static void got_objects_rev(struct route_ctx *c, redisReply *rr)
{
	c->objects_rev = rr && rr->type == REDIS_REPLY_STRING
				 ? strtol(rr->str, NULL, 10)
				 : 0;
}

static void state_done(struct route_ctx *c)
{
	if (c->ignore) {
		/* Not this worker's call: no answer, the owner is untouched. */
		route_ctx_free(c);
		return;
	}
	if (c->missing) {
		PLOG_WARN("event for a call without state; hanging it up");
		end_call(c, 480, "Temporarily Unavailable");
		return;
	}
	if (c->err) {
		if (c->worker_id[0] && c->rev == 0 && !c->scen[0]) {
			end_call(c, 503, "Service Unavailable");
			return;
		}
		route_ctx_free(c);
		return;
	}
	/* (A SPEECH answers the Listen, older than the timer step that
	 * follows its PLAY_DONE: the walk takes it only while it listens,
	 * and the worker drops the answers of turns it ended.) */
	if (c->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE &&
	    c->ev_seq != c->seq) {
		PLOG_DEBUG("stale play-done %" PRIu64 " (now %" PRIu64
			   ") ignored",
			   c->ev_seq, c->seq);
		route_ctx_free(c);
		return;
	}
	route_load(c, step);
}

void route_walk_event(struct route_ctx *c)
{
	load_state(c);
}

static void load_state(struct route_ctx *c)
{
	char key[PBX_KEY_MAX];

	c->err = false;
	c->missing = false;
	c->ignore = false;
	c->waiting = 0;
	if (!pbx_key(key, sizeof(key), c->tenant, "call:%s", c->call_id))
		route_pipe_cmd(c, got_state, "HGETALL %s", key);
	if (!pbx_key(key, sizeof(key), c->tenant, "objects_rev"))
		route_pipe_cmd(c, got_objects_rev, "GET %s", key);
	if (c->waiting == 0) {
		PLOG_ERR("storage unavailable; ending the call");
		end_call(c, 503, "Service Unavailable");
		return;
	}
	route_pipe_run(c, state_done);
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
	c->ev_seq = me->seq;
	c->digit = me->digit && me->digit[0] ? me->digit[0] : 0;
	c->timer_id = me->timer_id;
	c->ring_result = me->ring_result;
	if (me->picked_by && pbx_id_valid(me->picked_by))
		snprintf(c->picked_by, sizeof(c->picked_by), "%s",
			 me->picked_by);
	snprintf(c->speech_phrase, sizeof(c->speech_phrase), "%s",
		 me->speech_phrase ? me->speech_phrase : "");
	c->speech_conf = me->speech_confidence;
	pbx_log_ctx(c->tenant, c->call_id);

	switch (me->kind) {
	case PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED:
		PLOG_INFO("call ended (%s%s%s)",
			  me->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP
				  ? "caller hung up"
				  : "we hung up",
			  me->detail && me->detail[0] ? ": " : "",
			  me->detail ? me->detail : "");
		delete_state(c,
			     me->kind == PBX__V1__MEDIA_EVENT__KIND__KIND_HANGUP
				     ? PBX_CDR_END_CALLER
				     : PBX_CDR_END_US);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_FAILED:
		PLOG_WARN("worker %s failed: %s", c->worker_id,
			  me->detail ? me->detail : "");
		load_state(c);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_DTMF:
		PLOG_INFO("dtmf %c (%s)", c->digit ? c->digit : '?',
			  me->detail ? me->detail : "");
		load_state(c);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_RING_RESULT:
		if (me->leg && me->leg[0]) {
			/* A queue's agent: the queue-manager counts it; the
			 * walk hears only of an answer. */
			if (!route_queue_leg_result(r, env)) {
				route_ctx_free(c);
				return;
			}
			snprintf(c->q_leg, sizeof(c->q_leg), "%s", me->leg);
			load_state(c);
			return;
		}
		PLOG_INFO("ring result %d (sip %u)%s%s", me->ring_result,
			  me->sip_code, c->picked_by[0] ? ": picked up by " : "",
			  c->picked_by);
		load_state(c);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_CONF_JOINED:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_CONF_FULL:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_CONF_MUTED:
		c->c_members = me->conf_members;
		c->c_muted = me->conf_muted;
		load_state(c);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_SPEECH:
		PLOG_INFO("speech: %s (confidence %.2f, heard \"%s\", %s)",
			  c->speech_phrase[0] ? c->speech_phrase
					      : "not recognised",
			  c->speech_conf,
			  me->speech_text ? me->speech_text : "",
			  me->detail ? me->detail : "");
		load_state(c);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_PLAY_DONE:
	case PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER:
		load_state(c);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_TRANSFER:
		route_xfer_event(c, me);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_TRANSFER_DONE:
		route_xfer_done(c, me);
		return;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_FAX_DONE:
		PLOG_INFO("fax %s: %d %s, %u pages%s",
			  me->fax_id && me->fax_id[0] ? me->fax_id : "(none)",
			  me->fax_result, me->detail ? me->detail : "",
			  me->fax_pages,
			  me->fax_continues ? "; the scenario goes on" : "");
		if (me->fax_continues) {
			/* A node with outputs: the call is still up and the
			 * walk follows "next" / "failed". */
			c->fax_ok = me->fax_result == 0;
			load_state(c);
			return;
		}
		/* An end point: the worker ends the call itself and ENDED
		 * or HANGUP follows. */
		route_ctx_free(c);
		return;
	default:
		PLOG_WARN("unknown media event kind %d dropped", me->kind);
		route_ctx_free(c);
		return;
	}
}
