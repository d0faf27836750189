/* MediaCommands from the routers: checked against the call table (worker,
 * call, tenant), then carried out on the call. Every refusal is a FAILED
 * event with a reason; nothing a router sends can crash the worker. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "confroom.h"
#include "pbx_log.h"
#include "prompt_cache.h"
#include "worker_priv.h"

#include "pbx/v1/envelope.pb-c.h"

#define KIND(k) PBX__V1__MEDIA_EVENT__KIND__KIND_##k

static void reply_event(struct worker *w, struct worker_link *l,
			const Pbx__V1__Envelope *env, int kind,
			const char *detail)
{
	const Pbx__V1__MediaCommand *cmd = env->media_command;
	struct worker_event ev = {
		.kind = kind,
		.tenant = env->tenant_id,
		.callid = env->call_id,
		.seq = cmd ? cmd->seq : 0,
		.detail = detail,
		.reply_to = env->message_id,
	};

	worker_event_send(w, l, &ev);
}

static void failed(struct worker *w, struct worker_link *l,
		   const Pbx__V1__Envelope *env, const char *what,
		   const char *detail)
{
	PLOG_WARN("%s refused: %s", what, detail);
	reply_event(w, l, env, KIND(FAILED), detail);
}

static void set_msgid(char *dst, size_t size, const Pbx__V1__Envelope *env)
{
	snprintf(dst, size, "%s", env->message_id ? env->message_id : "");
}

static void command_answer(struct worker *w, struct worker_link *l,
			   struct worker_call *wc,
			   const Pbx__V1__Envelope *env)
{
	uint64_t seq = env->media_command->seq;
	int err;

	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	err = mwcall_answer(wc->call, seq);
	if (err == -EALREADY) {
		/* Idempotent: whoever waits for ANSWERED gets it again. */
		struct worker_event ev = {
			.kind = KIND(ANSWERED),
			.tenant = env->tenant_id,
			.callid = env->call_id,
			.seq = seq,
			.caller = mwcall_caller(wc->call),
			.dialed = mwcall_dialed(wc->call),
			.detail = "already answered",
			.reply_to = env->message_id,
		};

		worker_event_send(w, l, &ev);
	} else if (err) {
		failed(w, l, env, "answer", strerror(-err));
	}
}

/* The tenant's prompt `name`; the system sound set stands in for one the
 * tenant did not upload (an upload of that name replaces it). *audio is
 * referenced for the caller. */
int worker_prompt_audio(struct worker *w, struct worker_call *wc,
			const char *name, uint8_t **audio, size_t *len)
{
	enum offer_law law = mwcall_law(wc->call);
	int err = name[0] ? prompt_cache_get(w->prompts,
					     mwcall_tenant(wc->call), name,
					     law, audio, len)
			  : -ENOENT;

	/* The system sounds also stand in while the store is down: a
	 * caller asked for its PIN is not hung up for want of Redis. */
	if (err && !worker_sound(w, wc->lang, name, law, audio, len)) {
		if (err != -ENOENT)
			PLOG_WARN("prompt %s: %s; the built-in one", name,
				  strerror(-err));
		err = 0;
	}
	return err;
}

/* Music on hold never fails for want of the tenant's own: the built-in
 * music plays instead. *audio is referenced for the caller. */
int worker_moh_audio(struct worker *w, const char *tenant, const char *prompt,
		     enum offer_law law, uint8_t **audio, size_t *len)
{
	int err = prompt[0] ? prompt_cache_get(w->prompts, tenant, prompt,
					       law, audio, len)
			    : -ENOENT;

	if (!err)
		return 0;
	if (prompt[0])
		PLOG_WARN("music on hold %s: %s; built-in music", prompt,
			  strerror(-err));
	*audio = mem_ref(w->moh[law]);
	*len = w->moh_len[law];
	return *audio ? 0 : -ENOENT;
}

static void command_play(struct worker *w, struct worker_link *l,
			 struct worker_call *wc, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__Play *play = env->media_command->play;
	uint64_t seq = env->media_command->seq;
	char detail[160];
	uint8_t *audio = NULL;
	size_t len = 0;
	int err;

	enum offer_law law = mwcall_law(wc->call);

	if (play->moh)
		err = worker_moh_audio(w, env->tenant_id, play->prompt, law, &audio,
				&len);
	else
		err = worker_prompt_audio(w, wc, play->prompt, &audio, &len);
	/* A queued caller's sounds (the call-back's confirmation) in the
	 * language of its hold. */
	if (err == -ENOENT && !play->moh)
		err = worker_queue_sound(wc, play->prompt, &audio, &len);
	if (err == -ENOENT)
		snprintf(detail, sizeof(detail), "prompt %s not found",
			 play->prompt);
	else if (err == -EINVAL)
		snprintf(detail, sizeof(detail), "invalid prompt name");
	else if (err)
		snprintf(detail, sizeof(detail),
			 "prompt store unavailable: %s", strerror(-err));
	if (!err) {
		/* A Play on a call not answered yet answers it; the
		 * ANSWERED event then replies to this Play. */
		set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
		set_msgid(wc->play_msgid, sizeof(wc->play_msgid), env);
		err = play->moh ? mwcall_moh(wc->call, audio, len, seq)
				: mwcall_play(wc->call, audio, len,
					      play->loops, play->barge_in,
					      seq);
		mem_deref(audio); /* the call holds its own reference */
		if (err)
			snprintf(detail, sizeof(detail), "play: %s",
				 strerror(-err));
	}
	if (err) {
		failed(w, l, env, "play", detail);
		return;
	}
	PLOG_INFO("playing %s (%zu bytes = %zu ms, loops %u%s, seq %llu)",
		  play->prompt[0] ? play->prompt : "built-in music", len,
		  len / 8, play->moh ? 0 : play->loops,
		  play->barge_in ? ", barge-in" : "", (unsigned long long)seq);
}

static void command_hangup(struct worker *w, struct worker_link *l,
			   struct worker_call *wc,
			   const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__Hangup *h = env->media_command->hangup;
	uint16_t code = h->sip_code >= 300 && h->sip_code <= 699
				? (uint16_t)h->sip_code
				: 480;
	const char *reason = h->reason && h->reason[0] ? h->reason : "Hangup";
	struct worker_event ev = {
		.kind = KIND(ENDED),
		.tenant = env->tenant_id,
		.callid = env->call_id,
		.seq = env->media_command->seq,
		.detail = reason,
		.reply_to = env->message_id,
	};

	/* A fax being received is stored first: FAX_DONE before ENDED. */
	mwcall_fax_stop(wc->call, "hangup command");
	if (mwcall_answered(wc->call)) {
		PLOG_INFO("hangup: BYE%s (%s)",
			  mwcall_bridged(wc->call) ? " to both legs" : "",
			  reason);
	} else {
		PLOG_INFO("hangup: %u %s", code, reason);
		mwcall_reject(wc->call, code, reason);
		ev.sip_code = code;
	}
	worker_event_send(w, l, &ev);
	worker_call_end(w, wc);
}

/* A Ring message as the call's ring parameters (borrowed strings). */
static struct mwcall_ring ring_of(const Pbx__V1__MediaCommand__Ring *r,
				  const Pbx__V1__Envelope *env)
{
	return (struct mwcall_ring){
		.target_uri = r->target_uri,
		.timeout_ms = r->timeout_ms,
		.caller_id = r->caller_id,
		.caller_name = r->caller_name,
		.dest_kind = r->dest_kind,
		.leg = r->leg,
		.seq = env->media_command->seq,
	};
}

static void command_ring(struct worker *w, struct worker_link *l,
			 struct worker_call *wc, const Pbx__V1__Envelope *env)
{
	struct mwcall_ring ring = ring_of(env->media_command->ring, env);
	const char *why = NULL;
	char detail[160];
	int err;

	set_msgid(wc->ring_msgid, sizeof(wc->ring_msgid), env);
	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	err = mwcall_ring(wc->call, &ring, &why);
	if (err) {
		snprintf(detail, sizeof(detail), "ring: %s",
			 why ? why : strerror(-err));
		failed(w, l, env, "ring", detail);
	}
}

/* The router's answer to a TRANSFER: the target, or a refusal. */
static void command_transfer(struct worker *w, struct worker_link *l,
			     struct worker_call *wc,
			     const Pbx__V1__Envelope *env)
{
	struct mwcall_ring ring = ring_of(env->media_command->transfer, env);
	const char *why = NULL;
	char detail[160];
	int err;

	err = mwcall_transfer(wc->call, &ring, &why);
	if (err) {
		snprintf(detail, sizeof(detail), "transfer: %s",
			 why ? why : strerror(-err));
		failed(w, l, env, "transfer", detail);
	}
}

static void command_transfer_refuse(struct worker *w, struct worker_link *l,
				    struct worker_call *wc,
				    const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__TransferRefuse *t =
		env->media_command->transfer_refuse;
	char reason[96];
	uint32_t code = t->sip_code;

	(void)w;
	(void)l;
	/* Both go into a sipfrag line: a final code and one line of text. */
	if (code < 300 || code > 699)
		code = 603;
	snprintf(reason, sizeof(reason), "%s",
		 t->reason[0] ? t->reason : "Declined");
	for (char *p = reason; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = ' ';
	if (mwcall_transfer_refuse(wc->call, (uint16_t)code, reason))
		PLOG_DEBUG("transfer refusal: no transfer waits");
}

/* Call pickup: this call (the picker's) takes the ringing call the
 * router named, on this worker (mwcall_join.c). */
static void command_pickup(struct worker *w, struct worker_link *l,
			   struct worker_call *wc, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__Pickup *p = env->media_command->pickup;
	const char *why = NULL;
	char detail[160];
	int err;

	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	err = mwcall_pickup(wc->call, p->call, p->by,
			    env->media_command->seq, &why);
	if (err) {
		snprintf(detail, sizeof(detail), "%s",
			 why ? why : strerror(-err));
		failed(w, l, env, "pickup", detail);
	}
}

static void command_cancel_ring(struct worker *w, struct worker_link *l,
				struct worker_call *wc,
				const Pbx__V1__Envelope *env)
{
	const char *leg = env->media_command->cancel_ring->leg;

	/* Nothing to stop is no error: the leg ended meanwhile (its
	 * RING_RESULT is on its way). */
	(void)w;
	(void)l;
	if (mwcall_ring_cancel(wc->call, leg))
		PLOG_DEBUG("cancel ring %s: no such leg", leg[0] ? leg : "*");
	else
		PLOG_INFO("ring leg %s cancelled", leg[0] ? leg : "*");
}

static void command_timer(struct worker *w, struct worker_link *l,
			  struct worker_call *wc, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__Timer *t = env->media_command->timer;

	if (mwcall_timer(wc->call, t->id, t->ms))
		failed(w, l, env, "timer", "too many timers on this call");
}

static void command_record(struct worker *w, struct worker_link *l,
			   struct worker_call *wc,
			   const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__Record *r = env->media_command->record;
	uint32_t max_ms = r->max_ms && r->max_ms <= 3600000 ? r->max_ms
							    : 3600000;
	const char *why = NULL;
	char detail[160];
	int err;

	/* A Record on a call not answered yet answers it. */
	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	err = worker_vm_start(w, wc, r->box, r->greeting, max_ms,
			      env->media_command->seq, &why);
	if (err) {
		snprintf(detail, sizeof(detail), "record: %s",
			 why ? why : strerror(-err));
		failed(w, l, env, "record", detail);
	}
}

static void command_record_call(struct worker *w, struct worker_link *l,
				struct worker_call *wc,
				const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__RecordCall *rc =
		env->media_command->record_call;
	const char *why = NULL;
	char detail[160];
	int err;

	err = worker_rec_start(w, wc, rc, &why);
	if (err) {
		snprintf(detail, sizeof(detail), "record call: %s",
			 why ? why : strerror(-err));
		failed(w, l, env, "record call", detail);
	}
}

static void command_vm_access(struct worker *w, struct worker_link *l,
			      struct worker_call *wc,
			      const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__VmAccess *va =
		env->media_command->vm_access;
	const char *why = NULL;
	char detail[160];
	int err;

	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	err = worker_vmacc_start(w, wc, va->box, va->own, &why);
	if (err) {
		snprintf(detail, sizeof(detail), "vm access: %s",
			 why ? why : strerror(-err));
		failed(w, l, env, "vm access", detail);
	}
}

/* The joiner hears how many are in the room (with it), then the room;
 * its PLAY_DONE answers the ConfJoin. A missing prompt is only logged:
 * the member is in the room either way. */
static void conf_announce(struct worker *w, struct worker_call *wc,
			  const Pbx__V1__Envelope *env, unsigned count)
{
	char name[32];
	uint8_t *audio = NULL;
	size_t len = 0;
	int err;

	if (count <= 10)
		snprintf(name, sizeof(name), "conf_count_%u", count);
	else
		snprintf(name, sizeof(name), "conf_count_many");
	err = worker_prompt_audio(w, wc, name, &audio, &len);
	if (!err) {
		set_msgid(wc->play_msgid, sizeof(wc->play_msgid), env);
		err = mwcall_play(wc->call, audio, len, 1, false,
				  env->media_command->seq);
		mem_deref(audio);
	}
	if (err)
		PLOG_WARN("conference: no announcement %s: %s", name,
			  strerror(-err));
}

static void command_conf_join(struct worker *w, struct worker_link *l,
			      struct worker_call *wc,
			      const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__ConfJoin *j = env->media_command->conf_join;
	struct confroom_opts o = {
		.muted = j->muted,
		.moderator = j->moderator,
		.wait_moderator = j->wait_moderator,
		.end_with_moderator = j->end_with_moderator,
		.max_members = j->max_members,
	};
	struct worker_event ev = {
		.tenant = env->tenant_id,
		.callid = env->call_id,
		.seq = env->media_command->seq,
		.reply_to = env->message_id,
	};
	unsigned count = 0;
	char detail[160];
	int err;

	if (!pbx_id_valid(j->room)) {
		failed(w, l, env, "conference", "invalid room name");
		return;
	}
	err = worker_moh_audio(w, env->tenant_id, j->moh, mwcall_law(wc->call),
			&o.moh, &o.moh_len);
	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	set_msgid(wc->conf_msgid, sizeof(wc->conf_msgid), env);
	if (!err)
		err = confroom_join(w->conf, wc->call, j->room, &o, &count);
	mem_deref(o.moh); /* the member holds its own reference */
	if (err == -ENOSPC) {
		PLOG_INFO("conference %s full (%u members)", j->room, count);
		ev.kind = KIND(CONF_FULL);
		ev.conf_members = count;
		ev.detail = "room full";
		worker_event_send(w, l, &ev);
		return;
	}
	if (err) {
		snprintf(detail, sizeof(detail), "conference: %s",
			 err == -EALREADY ? "already in a room or bridged"
					  : strerror(-err));
		failed(w, l, env, "conference", detail);
		return;
	}
	ev.kind = KIND(CONF_JOINED);
	ev.conf_members = count;
	ev.conf_muted = j->muted;
	worker_event_send(w, l, &ev);
	if (j->announce)
		conf_announce(w, wc, env, count);
}

static void command_conf_mute(struct worker *w, struct worker_link *l,
			      struct worker_call *wc,
			      const Pbx__V1__Envelope *env)
{
	set_msgid(wc->conf_msgid, sizeof(wc->conf_msgid), env);
	/* CONF_MUTED follows through the call's event. */
	if (confroom_mute(wc->call, env->media_command->conf_mute->muted))
		failed(w, l, env, "mute", "not in a conference");
}

/* FAILED "<what>: <why, else the error's text>" when err. */
static void failed_if(struct worker *w, struct worker_link *l,
		      const Pbx__V1__Envelope *env, const char *what, int err,
		      const char *why)
{
	char detail[160];

	if (!err)
		return;
	snprintf(detail, sizeof(detail), "%s: %s", what,
		 why ? why : strerror(-err));
	failed(w, l, env, what, detail);
}

static void command_fax_receive(struct worker *w, struct worker_link *l,
				struct worker_call *wc,
				const Pbx__V1__Envelope *env)
{
	const char *why = NULL;
	int err;

	/* A FaxReceive on a call not answered yet answers it. */
	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	set_msgid(wc->fax_msgid, sizeof(wc->fax_msgid), env);
	err = worker_fax_start(w, wc, env->media_command->fax_receive,
			       env->media_command->seq, &why);
	failed_if(w, l, env, "fax", err, why);
}

static void command_queue_hold(struct worker *w, struct worker_link *l,
			       struct worker_call *wc,
			       const Pbx__V1__Envelope *env)
{
	const char *why = NULL;
	int err;

	/* The music answers a call not answered yet. */
	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	set_msgid(wc->play_msgid, sizeof(wc->play_msgid), env);
	err = worker_queue_hold(w, wc, env->media_command->queue_hold,
				env->media_command->seq, &why);
	failed_if(w, l, env, "queue hold", err, why);
}

static void command_listen(struct worker *w, struct worker_link *l,
			   struct worker_call *wc,
			   const Pbx__V1__Envelope *env)
{
	const char *why = NULL;
	int err;

	/* The question answers a call not answered yet. */
	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	set_msgid(wc->play_msgid, sizeof(wc->play_msgid), env);
	err = worker_asr_listen(w, wc, env, &why);
	failed_if(w, l, env, "listen", err, why);
}

static void command_stop_play(struct worker *w, struct worker_link *l,
			      struct worker_call *wc,
			      const Pbx__V1__Envelope *env)
{
	(void)w;
	(void)l;
	(void)env;
	mwcall_stop_play(wc->call);
}

static void command_queue_announce(struct worker *w, struct worker_link *l,
				   struct worker_call *wc,
				   const Pbx__V1__Envelope *env)
{
	(void)w;
	(void)l;
	/* News for a call no longer on hold is no error: an agent answered
	 * meanwhile. */
	if (worker_queue_announce(wc, env->media_command->queue_announce))
		PLOG_DEBUG("queue news for a call not on hold");
}

/* protobuf-c leaves a oneof member NULL only for a malformed frame, but a
 * frame from another build may still lack it: each command's arguments
 * are checked once, by its row's `args`, before its handler runs. */
#define ARG(m) (cmd->m != NULL)
#define ARGS(name, expr)                                                      \
	static bool args_##name(const Pbx__V1__MediaCommand *cmd)             \
	{                                                                     \
		return expr;                                                  \
	}
ARGS(play, ARG(play) && cmd->play->prompt)
ARGS(hangup, ARG(hangup))
ARGS(ring, ARG(ring) && cmd->ring->target_uri)
ARGS(timer, ARG(timer))
ARGS(transfer, ARG(transfer) && cmd->transfer->target_uri &&
		       cmd->transfer->caller_id && cmd->transfer->caller_name &&
		       cmd->transfer->dest_kind)
ARGS(transfer_refuse, ARG(transfer_refuse) && cmd->transfer_refuse->reason)
ARGS(pickup, ARG(pickup) && cmd->pickup->call && cmd->pickup->by)
ARGS(cancel_ring, ARG(cancel_ring) && cmd->cancel_ring->leg)
ARGS(record, ARG(record) && cmd->record->box && cmd->record->greeting)
ARGS(conf_join, ARG(conf_join) && cmd->conf_join->room &&
			cmd->conf_join->moh)
ARGS(conf_mute, ARG(conf_mute))
ARGS(fax_receive, ARG(fax_receive) && cmd->fax_receive->box &&
			  cmd->fax_receive->ident)
ARGS(vm_access, ARG(vm_access) && cmd->vm_access->box)
ARGS(queue_hold, ARG(queue_hold) && cmd->queue_hold->moh &&
			 cmd->queue_hold->entry_prompt &&
			 cmd->queue_hold->periodic_prompt &&
			 cmd->queue_hold->language)
ARGS(queue_announce, ARG(queue_announce))
ARGS(record_call, ARG(record_call) && cmd->record_call->extension &&
			  cmd->record_call->prompt && cmd->record_call->queue)
ARGS(listen, ARG(listen) && cmd->listen->prompt && cmd->listen->language &&
		     cmd->listen->backend)
ARGS(originate, ARG(originate) && cmd->originate->target_uri &&
			cmd->originate->caller_id &&
			cmd->originate->dest_kind)
#undef ARGS
#undef ARG

/* Originate: a call that starts with our INVITE (a queue's call-back),
 * under the router's call id; admitted like an INVITE (room, draining,
 * lag). Its events go to the router that asked. */
static void command_originate(struct worker *w, struct worker_link *l,
			      struct worker_call *wc,
			      const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand__Originate *o =
		env->media_command->originate;
	struct mwcall_orig p = {
		.callid = env->call_id,
		.target_uri = o->target_uri,
		.dest_kind = o->dest_kind,
		.caller_id = o->caller_id,
		.timeout_ms = o->timeout_ms,
		.seq = env->media_command->seq,
	};
	const char *why = NULL;
	char detail[160];
	int err;

	(void)wc;
	if (!pbx_tenant_valid(env->tenant_id)) {
		failed(w, l, env, "originate", "bad tenant");
		return;
	}
	if (w->draining || w->stopping ||
	    w->load >= (uint32_t)w->cfg->capacity || worker_lagging(w)) {
		w->n_refused_full++;
		failed(w, l, env, "originate",
		       w->draining ? "draining" : "at capacity");
		return;
	}
	wc = calloc(1, sizeof(*wc));
	if (!wc) {
		failed(w, l, env, "originate", "out of memory");
		return;
	}
	wc->w = w;
	set_msgid(wc->answer_msgid, sizeof(wc->answer_msgid), env);
	err = mwcall_originate(&wc->call, &w->env, env->tenant_id, &p,
			       worker_call_event, wc, &why);
	if (err) {
		free(wc);
		snprintf(detail, sizeof(detail), "originate: %s",
			 why ? why : strerror(-err));
		failed(w, l, env, "originate", detail);
		return;
	}
	wc->home = l;
	worker_call_add(w, wc);
}

/* One row per command: the oneof case, its argument check (NULL: none
 * needed) and its handler; `creates`: the command starts a call, whose
 * id must not be in use (the others act on a call of the table). */
static const struct command_row {
	Pbx__V1__MediaCommand__CmdCase cmd;
	bool (*args)(const Pbx__V1__MediaCommand *cmd);
	void (*run)(struct worker *w, struct worker_link *l,
		    struct worker_call *wc, const Pbx__V1__Envelope *env);
	bool creates;
} commands[] = {
#define ROW(CASE, a, f) {PBX__V1__MEDIA_COMMAND__CMD_##CASE, a, f, false}
	ROW(ANSWER, NULL, command_answer),
	ROW(PLAY, args_play, command_play),
	ROW(STOP_PLAY, NULL, command_stop_play),
	ROW(HANGUP, args_hangup, command_hangup),
	ROW(RING, args_ring, command_ring),
	ROW(TIMER, args_timer, command_timer),
	ROW(CANCEL_RING, args_cancel_ring, command_cancel_ring),
	ROW(RECORD, args_record, command_record),
	ROW(CONF_JOIN, args_conf_join, command_conf_join),
	ROW(CONF_MUTE, args_conf_mute, command_conf_mute),
	ROW(FAX_RECEIVE, args_fax_receive, command_fax_receive),
	ROW(VM_ACCESS, args_vm_access, command_vm_access),
	ROW(QUEUE_HOLD, args_queue_hold, command_queue_hold),
	ROW(QUEUE_ANNOUNCE, args_queue_announce, command_queue_announce),
	ROW(RECORD_CALL, args_record_call, command_record_call),
	ROW(LISTEN, args_listen, command_listen),
	ROW(TRANSFER, args_transfer, command_transfer),
	ROW(TRANSFER_REFUSE, args_transfer_refuse, command_transfer_refuse),
	ROW(PICKUP, args_pickup, command_pickup),
	{PBX__V1__MEDIA_COMMAND__CMD_ORIGINATE, args_originate,
	 command_originate, true},
#undef ROW
};

static const struct command_row *command_row(Pbx__V1__MediaCommand__CmdCase c)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].cmd == c)
			return &commands[i];
	}
	return NULL;
}

void worker_command(struct worker *w, struct worker_link *l,
		    const Pbx__V1__Envelope *env)
{
	const Pbx__V1__MediaCommand *cmd = env->media_command;
	const struct command_row *row;
	struct worker_call *wc;

	if (cmd->worker_id[0] && strcmp(cmd->worker_id, w->cfg->worker_id)) {
		failed(w, l, env, "command", "wrong worker");
		return;
	}
	row = command_row(cmd->cmd_case);
	wc = worker_call_find(w, env->call_id);
	if (row && row->creates) {
		if (wc) {
			failed(w, l, env, "command", "call id in use");
			return;
		}
		if (row->args && !row->args(cmd)) {
			failed(w, l, env, "command",
			       "command without arguments");
			return;
		}
		row->run(w, l, NULL, env);
		return;
	}
	if (!wc) {
		PLOG_INFO("command seq %llu for an unknown call",
			  (unsigned long long)cmd->seq);
		reply_event(w, l, env, KIND(FAILED), "unknown call");
		return;
	}
	/* Call-IDs are chosen by callers, so one alone does not prove the
	 * command is about this tenant's call. */
	if (strcmp(mwcall_tenant(wc->call), env->tenant_id)) {
		PLOG_WARN("command seq %llu names a call of another tenant",
			  (unsigned long long)cmd->seq);
		reply_event(w, l, env, KIND(FAILED), "tenant mismatch");
		return;
	}
	if (!row) {
		reply_event(w, l, env, KIND(FAILED), "unknown command");
		return;
	}
	if (row->args && !row->args(cmd)) {
		failed(w, l, env, "command", "command without arguments");
		return;
	}
	wc->home = l;
	if (cmd->language && cmd->language[0] &&
	    say_lang_parse(cmd->language, &wc->lang))
		PLOG_WARN("command seq %llu: language '%.16s' unknown; %s kept",
			  (unsigned long long)cmd->seq, cmd->language,
			  say_lang_name(wc->lang));
	/* A listening turn ends with any step of the walk but a timer. */
	if (cmd->cmd_case != PBX__V1__MEDIA_COMMAND__CMD_TIMER &&
	    cmd->cmd_case != PBX__V1__MEDIA_COMMAND__CMD_LISTEN)
		worker_asr_stop(wc, "next command");
	row->run(w, l, wc, env);
}
