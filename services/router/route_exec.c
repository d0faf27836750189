/* Action execution: turns the walk's actions into media commands for the
 * worker that anchors the call, in order. Elements whose media side does
 * not exist yet end the call with a clear SIP error and log line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"

int route_media_send(struct router *r, const char *worker_id,
		     const char *tenant, const char *call_id, uint64_t seq,
		     Pbx__V1__MediaCommand *cmd)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	struct pbx_bus_peer peer;
	size_t n = strlen(worker_id);
	int err;

	if (n == 0 || n > sizeof(peer.id))
		return -EINVAL;
	memcpy(peer.id, worker_id, n);
	peer.len = n;
	cmd->worker_id = (char *)worker_id;
	cmd->seq = seq;
	env.tenant_id = (char *)tenant;
	env.call_id = (char *)call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_COMMAND;
	env.media_command = cmd;
	err = pbx_bus_send(r->worker_bus, &peer, &env);
	if (err)
		PLOG_ERR("command to worker %s failed: %d", worker_id, err);
	return err;
}

void route_exec_send(struct route_ctx *c, Pbx__V1__MediaCommand *cmd)
{
	/* The worker says its system sounds in the tenant's language. */
	if (c->lang[0])
		cmd->language = c->lang;
	route_media_send(c->r, c->worker_id, c->tenant, c->call_id, c->seq,
			 cmd);
}

static const char ecode_lua[] =
	"if redis.call('HLEN', KEYS[1]) > 0 then "
	"redis.call('HSET', KEYS[1], 'ecode', ARGV[1], 'ereason', ARGV[2]) "
	"end return 0";

void route_media_hangup(struct router *r, const char *worker_id,
			const char *tenant, const char *call_id,
			unsigned code, const char *reason)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Hangup hup = PBX__V1__MEDIA_COMMAND__HANGUP__INIT;

	redisAsyncContext *ac = pbx_redis_ctx(r->redis);
	char key[PBX_KEY_MAX];

	hup.sip_code = code;
	hup.reason = (char *)reason;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_HANGUP;
	cmd.hangup = &hup;
	/* Why the call ends, for its CDR: into the record if it still
	 * exists (a record must never be made up by this write). */
	if (ac && !pbx_key(key, sizeof(key), tenant, "call:%s", call_id))
		pbx_redis_acmd(ac, NULL, NULL, "EVAL %s 1 %s %u %s",
				  ecode_lua, key, code, reason ? reason : "");
	route_media_send(r, worker_id, tenant, call_id, 0, &cmd);
}

static void hangup(struct route_ctx *c, unsigned code, const char *reason)
{
	route_media_hangup(c->r, c->worker_id, c->tenant, c->call_id, code,
			   reason ? reason : "");
}

/* A number written with separators as "+<digits>" (international: 11 or
 * more digits once canonical) or its canonical digits (short numbers);
 * a plain number, or anything that is not a number, as it is. */
static const char *e164(const char *in, char *buf, size_t size)
{
	int n;

	if (pbx_number_valid(in))
		return in;
	n = scenario_number_canon(in, buf + 1, size - 1);
	if (n <= 0)
		return in;
	if (n < 11 || buf[1] == '+')
		return buf + 1;
	buf[0] = '+';
	return buf;
}

/* A node with `record` (subscriber, crm, queue): the worker records
 * the bridge the next Ring makes (RecordCall, docs/protocol.md). */
void route_exec_record_call(struct route_ctx *c, const char *extension,
			    const char *queue, unsigned channels,
			    const char *prompt)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__RecordCall rc =
		PBX__V1__MEDIA_COMMAND__RECORD_CALL__INIT;

	rc.extension = (char *)extension;
	rc.queue = (char *)(queue ? queue : "");
	rc.prompt = (char *)(prompt ? prompt : "");
	rc.channels = channels == 2 ? 2 : 1;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RECORD_CALL;
	cmd.record_call = &rc;
	PLOG_INFO("node %s: record the call to %s%s (%u channel%s)",
		  c->st.node, queue ? "queue " : "", queue ? queue : extension,
		  rc.channels, rc.channels == 2 ? "s" : "");
	route_exec_send(c, &cmd);
}

void route_exec_ring(struct route_ctx *c, const struct walk_action *a,
		     const char *leg)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring rg = PBX__V1__MEDIA_COMMAND__RING__INIT;
	char uri[320], num[40], cid[40];
	const char *kind = a->ring.dest == WALK_DEST_EXTENSION ? "extension"
			   : a->ring.dest == WALK_DEST_MOBILE  ? "mobile"
							       : "external";
	const char *target = a->ring.target;
	const char *caller_id = c->caller;

	/* A number as the scenario's author wrote it ("+7 916 123-45-67")
	 * goes out in E.164 form: a SIP URI user and a caller ID carry no
	 * spaces or brackets, and Kamailio formats "+<country>..." for the
	 * trunk. */
	if (a->ring.dest != WALK_DEST_EXTENSION)
		target = e164(a->ring.target, num, sizeof(num));
	if (a->ring.caller_id[0])
		caller_id = e164(a->ring.caller_id, cid, sizeof(cid));
	/* Extensions live in the tenant's SIP domain, where Kamailio finds
	 * their registrations; numbers go out through a carrier trunk, which
	 * Kamailio picks from X-Pbx-Dest. */
	snprintf(uri, sizeof(uri), "sip:%s@%s%s", target, c->domain,
		 a->ring.dest == WALK_DEST_EXTENSION ? "" : ";user=phone");
	rg.target_uri = uri;
	rg.timeout_ms = a->ring.timeout_ms;
	rg.caller_id = (char *)caller_id;
	rg.caller_name = (char *)"";
	rg.dest_kind = (char *)kind;
	if (leg)
		rg.leg = (char *)leg;
	if (a->ring.record)
		route_exec_record_call(c, a->ring.target, NULL,
				       a->ring.record_channels,
				       a->ring.record_prompt);
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RING;
	cmd.ring = &rg;
	/* A colleague may pick it up (route_pickup.c); a queue's agents
	 * (named legs) are the queue's. */
	if (a->ring.dest == WALK_DEST_EXTENSION && !leg)
		route_pickup_ringing(c, a->ring.target);
	if (a->ring.dest == WALK_DEST_EXTENSION)
		route_ext_worker_note(c, c->tenant, a->ring.target);
	PLOG_INFO("node %s: ring %s %s (%u ms)%s%s", c->st.node, kind,
		  a->ring.target, a->ring.timeout_ms, leg ? " leg " : "",
		  leg ? leg : "");
	route_exec_send(c, &cmd);
}

static bool exec_answer(struct route_ctx *c, const struct walk_action *a)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Answer ans = PBX__V1__MEDIA_COMMAND__ANSWER__INIT;

	(void)a;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_ANSWER;
	cmd.answer = &ans;
	route_exec_send(c, &cmd);
	return true;
}

void route_exec_play(struct route_ctx *c, const char *prompt, bool barge_in)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Play play = PBX__V1__MEDIA_COMMAND__PLAY__INIT;

	play.prompt = (char *)prompt;
	play.loops = 1;
	play.barge_in = barge_in;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_PLAY;
	cmd.play = &play;
	PLOG_INFO("node %s: play %s%s", c->st.node, prompt,
		  barge_in ? " (barge-in)" : "");
	route_exec_send(c, &cmd);
}

void route_exec_timer(struct route_ctx *c, uint32_t id, uint32_t ms)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Timer t = PBX__V1__MEDIA_COMMAND__TIMER__INIT;

	t.id = id;
	t.ms = ms;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_TIMER;
	cmd.timer = &t;
	route_exec_send(c, &cmd);
}

static bool exec_play(struct route_ctx *c, const struct walk_action *a)
{
	route_exec_play(c, a->play.prompt, a->play.barge_in);
	return true;
}

static bool exec_stop_play(struct route_ctx *c, const struct walk_action *a)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__StopPlay sp =
		PBX__V1__MEDIA_COMMAND__STOP_PLAY__INIT;

	(void)a;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_STOP_PLAY;
	cmd.stop_play = &sp;
	route_exec_send(c, &cmd);
	return true;
}

static bool exec_timer(struct route_ctx *c, const struct walk_action *a)
{
	route_exec_timer(c, a->timer.id, a->timer.ms);
	return true;
}

static bool exec_ring(struct route_ctx *c, const struct walk_action *a)
{
	route_exec_ring(c, a, NULL);
	return true;
}

static bool exec_queue(struct route_ctx *c, const struct walk_action *a)
{
	route_queue_join(c, a);
	return true;
}

/* Voicemail: the worker plays the greeting and the beep, records, stores
 * the message and ends the call itself (ENDED, or HANGUP when the caller
 * hangs up first); the walk is done with the call. */
static bool exec_record(struct route_ctx *c, const struct walk_action *a)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Record rec = PBX__V1__MEDIA_COMMAND__RECORD__INIT;

	rec.box = (char *)a->record.box;
	rec.greeting = (char *)(a->record.greeting ? a->record.greeting : "");
	rec.max_ms = a->record.max_s * 1000;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_RECORD;
	cmd.record = &rec;
	PLOG_INFO("node %s: voicemail into box %s (max %u s%s%s)", c->st.node,
		  a->record.box, a->record.max_s,
		  a->record.greeting ? ", greeting " : "",
		  a->record.greeting ? a->record.greeting : "");
	route_exec_send(c, &cmd);
	return true;
}

/* Conference: the PIN entry or the join (route_conf.c). */
static bool exec_conference(struct route_ctx *c, const struct walk_action *a)
{
	route_conf_start(c, a);
	return true;
}

/* Fax: the worker receives and stores the pages, then ends the call
 * itself (FAX_DONE, then ENDED or HANGUP), or, when the node has outputs
 * (keep_call), keeps it and its FAX_DONE continues the walk. */
static bool exec_fax(struct route_ctx *c, const struct walk_action *a)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__FaxReceive fr =
		PBX__V1__MEDIA_COMMAND__FAX_RECEIVE__INIT;

	fr.box = (char *)a->fax.box;
	fr.ecm = a->fax.ecm;
	fr.t38 = a->fax.t38;
	fr.pdf = a->fax.pdf;
	fr.ident = (char *)(a->fax.ident ? a->fax.ident : "");
	fr.keep_call = a->fax.keep_call;
	fr.header = (char *)(a->fax.header ? a->fax.header : "");
	fr.max_faxes = a->fax.max_faxes;
	fr.max_bytes = a->fax.max_bytes;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_FAX_RECEIVE;
	cmd.fax_receive = &fr;
	PLOG_INFO("node %s: fax into box %s (ecm %s, %s)", c->st.node,
		  a->fax.box, a->fax.ecm ? "on" : "off",
		  a->fax.pdf ? "pdf" : "tiff");
	route_exec_send(c, &cmd);
	return true;
}

/* CRM: ask a crm-connector; its CrmResult continues the walk. */
static bool exec_crm(struct route_ctx *c, const struct walk_action *a)
{
	route_crm_lookup(c, a);
	return true;
}

/* Voice assistant: the worker plays the question and streams the caller
 * to an asr-bridge; KIND_SPEECH (and PLAY_DONE, for the walk's no-input
 * timer) follow. Phrases are borrowed from the scenario for the send. */
static bool exec_recognize(struct route_ctx *c, const struct walk_action *a)
{
	enum { PH_MAX = 32 };
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Listen ls = PBX__V1__MEDIA_COMMAND__LISTEN__INIT;
	Pbx__V1__AsrPhrase ph[PH_MAX], *php[PH_MAX];
	size_t n = a->recognize.nphrases < PH_MAX ? a->recognize.nphrases
						  : PH_MAX;

	for (size_t i = 0; i < n; i++) {
		const struct scenario_phrase *p = &a->recognize.phrases[i];

		pbx__v1__asr_phrase__init(&ph[i]);
		ph[i].name = (char *)p->name;
		ph[i].n_synonyms = p->nsynonyms;
		ph[i].synonyms = (char **)p->synonyms;
		php[i] = &ph[i];
	}
	ls.prompt = (char *)a->recognize.prompt;
	ls.n_phrases = n;
	ls.phrases = php;
	ls.confidence = a->recognize.confidence;
	ls.no_input_ms = a->recognize.timeout_ms;
	/* The tenant's recogniser; unset: the bridge's default (English,
	 * embedded). The secret is never logged. */
	ls.backend = c->asr_engine;
	ls.language = c->asr_lang;
	ls.asr_url = c->asr_url;
	ls.asr_secret = c->asr_secret;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_LISTEN;
	cmd.listen = &ls;
	PLOG_INFO("node %s: listen after %s (%zu phrases, %s, %s)",
		  c->st.node, a->recognize.prompt, n,
		  c->asr_engine[0] ? c->asr_engine : "default recogniser",
		  c->asr_lang[0] ? c->asr_lang : "en");
	route_exec_send(c, &cmd);
	return true;
}

/* REJECT, HANGUP: the call is over. */
static bool exec_end(struct route_ctx *c, const struct walk_action *a)
{
	PLOG_INFO("node %s: %s %u %s", c->st.node,
		  a->kind == WALK_ACT_REJECT ? "reject" : "hang up",
		  a->end.code, a->end.reason ? a->end.reason : "");
	hangup(c, a->end.code, a->end.reason);
	return false;
}

/* What this build does for each walk action (false: the action ended the
 * call); NULL: no media side yet, the call ends with 501. */
typedef bool(exec_h)(struct route_ctx *c, const struct walk_action *a);
static exec_h *const exec_of[WALK_ACT_COUNT] = {
	[WALK_ACT_REJECT] = exec_end,	  [WALK_ACT_ANSWER] = exec_answer,
	[WALK_ACT_PLAY] = exec_play,	  [WALK_ACT_STOP_PLAY] = exec_stop_play,
	[WALK_ACT_TIMER] = exec_timer,	  [WALK_ACT_RING] = exec_ring,
	[WALK_ACT_QUEUE] = exec_queue,	  [WALK_ACT_HANGUP] = exec_end,
	[WALK_ACT_RECORD] = exec_record, [WALK_ACT_CONFERENCE] = exec_conference,
	[WALK_ACT_FAX] = exec_fax,	  [WALK_ACT_CRM_LOOKUP] = exec_crm,
	[WALK_ACT_RECOGNIZE] = exec_recognize,
};

static bool exec_one(struct route_ctx *c, const struct walk_action *a)
{
	char reason[96];

	if (route_exec_supported(a->kind))
		return exec_of[a->kind](c, a);
	snprintf(reason, sizeof(reason), "Not Implemented (%s not supported yet)",
		 scenario_walk_act_name(a->kind));
	PLOG_WARN("node %s: %s is not supported on live calls yet; ending the "
		  "call",
		  c->st.node, scenario_walk_act_name(a->kind));
	hangup(c, 501, reason);
	return false;
}

bool route_exec_supported(enum walk_act_kind k)
{
	return k < WALK_ACT_COUNT && exec_of[k] != NULL;
}

/* HMGET engine language url secret of pbx:{t}:asr. A value that does
 * not fit is dropped whole (provision bounds them below these sizes). */
static void got_asr(struct route_ctx *c, redisReply *rr)
{
	struct {
		char *dst;
		size_t size;
	} f[] = {{c->asr_engine, sizeof(c->asr_engine)},
		 {c->asr_lang, sizeof(c->asr_lang)},
		 {c->asr_url, sizeof(c->asr_url)},
		 {c->asr_secret, sizeof(c->asr_secret)}};

	if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements != 4)
		return;
	for (size_t i = 0; i < 4; i++)
		if (rr->element[i]->type == REDIS_REPLY_STRING &&
		    rr->element[i]->len < f[i].size)
			memcpy(f[i].dst, rr->element[i]->str,
			       rr->element[i]->len + 1);
}

static void exec_now(struct route_ctx *c)
{
	route_next_h *next = c->exec_next;

	pbx_log_ctx(c->tenant, c->call_id);
	if (c->err) /* Redis failed: the default recogniser; say so */
		PLOG_WARN("cannot read the tenant's asr setting: the default "
			  "recogniser listens");
	route_exec_actions(c);
	next(c);
}

void route_exec_then(struct route_ctx *c, route_next_h *next)
{
	char key[PBX_KEY_MAX];
	bool listens = false;

	for (size_t i = 0; i < c->out.n; i++)
		listens |= c->out.act[i].kind == WALK_ACT_RECOGNIZE;
	if (!listens || pbx_key_of(key, sizeof(key), c->tenant, PBX_K_ASR)) {
		route_exec_actions(c);
		next(c);
		return;
	}
	c->err = false;
	c->exec_next = next;
	route_pipe_cmd(c, got_asr, "HMGET %s engine language url secret", key);
	route_pipe_run(c, exec_now);
}

void route_exec_actions(struct route_ctx *c)
{
	/* An element without a media side yet ends the call before any
	 * other action of the step runs: the caller of an unanswered call
	 * gets the 501 itself, never a 200 followed by a BYE. */
	for (size_t i = 0; i < c->out.n; i++) {
		if (!route_exec_supported(c->out.act[i].kind)) {
			exec_one(c, &c->out.act[i]);
			return;
		}
	}
	for (size_t i = 0; i < c->out.n; i++) {
		if (!exec_one(c, &c->out.act[i]))
			break;
	}
}
