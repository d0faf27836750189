/* The voice assistant on the worker (docs/services/asr-bridge.md): one
 * DEALER per asr-bridge (asr_bridges = name@endpoint,...), an AsrPing to
 * each every asr_ping_ms whose AsrHeartbeat answer says the bridge lives
 * and how loaded it is; a Listen command plays the question and streams
 * the caller's audio (20 ms frames, L16) to the least-loaded live bridge;
 * the bridge's answer becomes a KIND_SPEECH MediaEvent. A deadline on the
 * worker guarantees an answer once speech began: a dead or late bridge
 * gives not_recognized; before speech the router's no-input timer
 * decides (no_input). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mwlaw.h"
#include "pbx_clock.h"
#include "pbx_curve.h"
#include "pbx_log.h"
#include "scenario.h"
#include "worker_priv.h"

#include "pbx/v1/envelope.pb-c.h"

#define RESULT(k) PBX__V1__ASR_RESULT__KIND__KIND_##k

enum {
	POLL_MS = 50,
	DEAD_PINGS = 3,	   /* heartbeats missed: the bridge is not used */
	FRAME_MAX = 480,   /* bytes of one RTP payload we forward */
	NO_INPUT_MAX_MS = 60000,
};

/* One asr-bridge; owned by worker_asr. */
struct asr_peer {
	struct worker_asr *a;
	char name[PBX_CURVE_NAME];
	char endpoint[128];
	struct pbx_bus *bus;
	int fd;
	uint64_t seen_ms; /* monotonic: its last heartbeat; 0 never */
	uint32_t capacity, load;
	uint32_t placed; /* streams sent since its last heartbeat */
	bool draining;
	bool alive_logged;
};

struct worker_asr {
	struct worker *w;
	struct asr_peer *peers;
	size_t n;
	uint64_t next_id;
	size_t rr; /* round-robin start among equally loaded bridges */
	struct tmr ping;
	struct tmr poll;
};

/* The listening turn of one call; owned by its worker_call (wc->asr). */
struct asr_listen {
	struct worker_call *wc;
	struct asr_peer *peer; /* NULL: no bridge was live */
	uint64_t id;
	uint64_t seq; /* the Listen command's */
	char msgid[64];
	char tenant[64];
	uint32_t frames;
	uint32_t max_utt_ms;
	bool started;
	bool held;	  /* a call timer fired while the caller spoke */
	uint32_t held_id; /* ... its id, reported when the turn ends */
	enum offer_law law;
	struct tmr deadline;
};

static bool peer_alive(const struct asr_peer *p)
{
	const struct mw_config *cfg = p->a->w->cfg;

	return p->seen_ms &&
	       pbx_clock_mono_ms() - p->seen_ms <
		       (uint64_t)(DEAD_PINGS * cfg->asr_ping_ms);
}

/* The live bridge with the lowest load ÷ capacity, counting the streams
 * placed since its last heartbeat (a burst spreads). */
static struct asr_peer *peer_pick(struct worker_asr *a)
{
	struct asr_peer *best = NULL;
	double best_r = 0;

	/* Ties go round: the search starts after the last bridge used. */
	a->rr++;
	for (size_t k = 0; k < a->n; k++) {
		struct asr_peer *p = &a->peers[(a->rr + k) % a->n];
		double r;

		if (!peer_alive(p) || p->draining ||
		    p->load + p->placed >= p->capacity)
			continue;
		r = (double)(p->load + p->placed) / p->capacity;
		if (!best || r < best_r) {
			best = p;
			best_r = r;
		}
	}
	return best;
}

static void poll_handler(void *arg);

static int peer_send(struct asr_peer *p, Pbx__V1__Envelope *env)
{
	int err = pbx_bus_send(p->bus, NULL, env);

	/* A send can consume the ZMQ_FD edge: look again from the loop. */
	tmr_start(&p->a->poll, 0, poll_handler, p->a);
	return err;
}

static void speech_event(struct asr_listen *ls, const char *phrase,
			 double conf, const char *text, const char *detail)
{
	struct worker_call *wc = ls->wc;
	struct worker_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_SPEECH,
		.tenant = mwcall_tenant(wc->call),
		.callid = mwcall_callid(wc->call),
		.seq = ls->seq,
		.detail = detail,
		.reply_to = ls->msgid,
		.speech_phrase = phrase,
		.speech_confidence = conf,
		.speech_text = text,
	};

	worker_event_send(wc->w, wc->home, &ev);
}

static void listen_free(struct asr_listen *ls)
{
	tmr_cancel(&ls->deadline);
	mwcall_tap(ls->wc->call, NULL, NULL);
	ls->wc->asr = NULL;
	free(ls);
}

/* Tells the bridge to drop the stream (no answer follows). */
static void stream_stop(struct asr_listen *ls)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__AsrAudio au = PBX__V1__ASR_AUDIO__INIT;

	if (!ls->peer)
		return;
	au.stream_id = ls->id;
	au.stop = true;
	env.tenant_id = ls->tenant;
	env.call_id = (char *)mwcall_callid(ls->wc->call);
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_AUDIO;
	env.asr_audio = &au;
	peer_send(ls->peer, &env);
}

void worker_asr_stop(struct worker_call *wc, const char *why)
{
	struct asr_listen *ls = wc->asr;

	if (!ls)
		return;
	PLOG_INFO("listening stopped (%s)", why);
	stream_stop(ls);
	listen_free(ls);
}

bool worker_asr_hold_timer(struct worker_call *wc, uint32_t id)
{
	struct asr_listen *ls = wc->asr;

	if (!ls || !ls->started)
		return false;
	ls->held = true;
	ls->held_id = id;
	return true;
}

/* The turn answered (or gave up): a timer held back meanwhile goes to
 * the router after the SPEECH, which has made it stale unless the walk
 * could not take the SPEECH; then the timer moves the call on (no call
 * waits for ever). Frees ls. */
static void listen_end(struct asr_listen *ls)
{
	struct worker_call *wc = ls->wc;
	struct worker_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_TIMER,
		.tenant = mwcall_tenant(wc->call),
		.callid = mwcall_callid(wc->call),
		.timer_id = ls->held_id,
	};
	bool held = ls->held;

	listen_free(ls);
	if (held)
		worker_event_send(wc->w, wc->home, &ev);
}

static void deadline_handler(void *arg)
{
	struct asr_listen *ls = arg;

	pbx_log_ctx(mwcall_tenant(ls->wc->call), mwcall_callid(ls->wc->call));
	if (ls->started) {
		PLOG_WARN("asr: no answer from bridge %s in time: "
			  "not recognised",
			  ls->peer ? ls->peer->name : "-");
		speech_event(ls, "", 0, "", "deadline");
	} else {
		/* Nothing heard: the router's no-input timer has fired or
		 * will; it decides. */
		PLOG_INFO("asr: listening ended without speech");
	}
	stream_stop(ls);
	listen_end(ls);
	pbx_log_ctx(NULL, NULL);
}

static void tap_handler(const uint8_t *payload, size_t len, void *arg)
{
	struct asr_listen *ls = arg;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__AsrAudio au = PBX__V1__ASR_AUDIO__INIT;
	int16_t pcm[FRAME_MAX];
	uint8_t le[2 * FRAME_MAX];

	if (!ls->peer || !len || len > FRAME_MAX)
		return;
	mwlaw_decode_buf(pcm, payload, len, ls->law);
	for (size_t i = 0; i < len; i++) {
		le[2 * i] = (uint8_t)((uint16_t)pcm[i] & 0xff);
		le[2 * i + 1] = (uint8_t)((uint16_t)pcm[i] >> 8);
	}
	au.stream_id = ls->id;
	au.seq = ls->frames++;
	au.pcm.data = le;
	au.pcm.len = 2 * len;
	env.tenant_id = ls->tenant;
	env.call_id = (char *)mwcall_callid(ls->wc->call);
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_AUDIO;
	env.asr_audio = &au;
	peer_send(ls->peer, &env);
}

static int stream_start(struct asr_listen *ls,
			const Pbx__V1__MediaCommand__Listen *cmd,
			uint32_t no_input_ms)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__AsrStart st = PBX__V1__ASR_START__INIT;

	st.stream_id = ls->id;
	st.n_phrases = cmd->n_phrases;
	st.phrases = cmd->phrases;
	st.confidence = cmd->confidence;
	st.no_input_ms = no_input_ms;
	st.max_utterance_ms = ls->max_utt_ms;
	st.language = cmd->language;
	st.backend = cmd->backend;
	st.url = cmd->asr_url;	     /* the tenant's recogniser, if any */
	st.secret = cmd->asr_secret; /* never logged */
	st.sample_rate = 8000;
	env.tenant_id = ls->tenant;
	env.call_id = (char *)mwcall_callid(ls->wc->call);
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_START;
	env.asr_start = &st;
	return peer_send(ls->peer, &env);
}

static const char *listen_check(const Pbx__V1__MediaCommand__Listen *l)
{
	if (!l->n_phrases || l->n_phrases > SCENARIO_PHRASES_MAX)
		return "listen: 1 to 32 phrases";
	for (size_t i = 0; i < l->n_phrases; i++) {
		const Pbx__V1__AsrPhrase *p = l->phrases[i];

		if (!p || !p->name || !p->name[0] || !p->n_synonyms ||
		    p->n_synonyms > SCENARIO_SYNONYMS_MAX)
			return "listen: a phrase without name or with 0 or "
			       "more than 16 synonyms";
	}
	if (l->confidence < 0 || l->confidence > 1)
		return "listen: confidence out of 0..1";
	if (l->no_input_ms > NO_INPUT_MAX_MS)
		return "listen: no_input_ms above 60 s";
	if ((l->asr_url && strlen(l->asr_url) > 1023) ||
	    (l->asr_secret && strlen(l->asr_secret) > 511))
		return "listen: asr url or secret too long";
	return NULL;
}

int worker_asr_listen(struct worker *w, struct worker_call *wc,
		      const Pbx__V1__Envelope *env, const char **why)
{
	const Pbx__V1__MediaCommand__Listen *cmd = env->media_command->listen;
	struct worker_asr *a = w->asr;
	struct asr_listen *ls;
	uint8_t *audio = NULL;
	size_t len = 0;
	uint32_t prompt_ms, no_input_ms;
	int err;

	*why = listen_check(cmd);
	if (*why)
		return -EINVAL;
	err = worker_prompt_audio(w, wc, cmd->prompt, &audio, &len);
	if (err) {
		*why = err == -ENOENT ? "listen: prompt not found"
				      : "listen: prompt unavailable";
		return err;
	}
	worker_asr_stop(wc, "replaced");
	ls = calloc(1, sizeof(*ls));
	if (!ls) {
		mem_deref(audio);
		return -ENOMEM;
	}
	ls->wc = wc;
	ls->seq = env->media_command->seq;
	ls->law = mwcall_law(wc->call);
	ls->max_utt_ms = cmd->max_utterance_ms &&
					 cmd->max_utterance_ms <
						 (uint32_t)w->cfg->asr_max_utterance_ms
				 ? cmd->max_utterance_ms
				 : (uint32_t)w->cfg->asr_max_utterance_ms;
	snprintf(ls->msgid, sizeof(ls->msgid), "%s",
		 env->message_id ? env->message_id : "");
	snprintf(ls->tenant, sizeof(ls->tenant), "%s", env->tenant_id);
	tmr_init(&ls->deadline);
	/* No barge-in on digits: a key would stop the prompt without a
	 * PLAY_DONE, and the walk waits for speech. Speech stops it. */
	err = mwcall_play(wc->call, audio, len, 1, false, ls->seq);
	mem_deref(audio);
	if (err) {
		free(ls);
		*why = "listen: play failed";
		return err;
	}
	wc->asr = ls;
	/* The stream outlives the router's no-input timer (prompt + node
	 * timeout) a little: that timer decides no_input, not the bridge. */
	prompt_ms = (uint32_t)(len / 8);
	no_input_ms = prompt_ms + (cmd->no_input_ms ? cmd->no_input_ms : 5000) +
		      1000;
	ls->peer = a ? peer_pick(a) : NULL;
	if (ls->peer) {
		ls->id = ++a->next_id;
		if (stream_start(ls, cmd, no_input_ms)) {
			PLOG_WARN("asr: bridge %s did not take the stream",
				  ls->peer->name);
			ls->peer = NULL;
		} else {
			ls->peer->placed++;
			mwcall_tap(wc->call, tap_handler, ls);
		}
	}
	if (!ls->peer)
		PLOG_WARN("asr: no live asr-bridge: the caller is not heard "
			  "(no_input)");
	else
		PLOG_INFO("listening: stream %llu on %s, %zu phrase(s), "
			  "prompt %u ms",
			  (unsigned long long)ls->id, ls->peer->name,
			  cmd->n_phrases, prompt_ms);
	tmr_start(&ls->deadline,
		  no_input_ms + (uint64_t)w->cfg->asr_grace_ms,
		  deadline_handler, ls);
	return 0;
}

static void on_result(struct worker_asr *a, struct asr_peer *p,
		      const Pbx__V1__Envelope *env)
{
	const Pbx__V1__AsrResult *r = env->asr_result;
	struct worker_call *wc = worker_call_find(a->w, env->call_id);
	struct asr_listen *ls = wc ? wc->asr : NULL;

	if (!ls || ls->peer != p || ls->id != r->stream_id ||
	    strcmp(ls->tenant, env->tenant_id))
		return; /* a turn that ended already */
	switch (r->kind) {
	case RESULT(SPEECH_STARTED):
		ls->started = true;
		if (mwcall_playing_prompt(wc->call)) {
			PLOG_INFO("asr: speech: prompt stopped (barge-in)");
			mwcall_stop_play(wc->call);
		}
		tmr_start(&ls->deadline,
			  ls->max_utt_ms + (uint64_t)a->w->cfg->asr_grace_ms,
			  deadline_handler, ls);
		return;
	case RESULT(FINAL):
		PLOG_INFO("asr: heard \"%s\": %s (confidence %.2f, bridge "
			  "%u ms)",
			  r->text, r->phrase[0] ? r->phrase : "not recognised",
			  r->confidence, r->decode_ms);
		speech_event(ls, r->phrase, r->confidence, r->text, "final");
		break;
	case RESULT(NO_INPUT):
		PLOG_INFO("asr: bridge heard no speech");
		break;
	default:
		PLOG_WARN("asr: bridge %s: %s", p->name, r->detail);
		if (ls->started)
			speech_event(ls, "", 0, "", "bridge error");
		break;
	}
	listen_end(ls);
}

static void on_heartbeat(struct asr_peer *p, const Pbx__V1__AsrHeartbeat *hb)
{
	if (!peer_alive(p) || !p->alive_logged)
		PLOG_INFO("asr: bridge %s live (%u/%u streams)", p->name,
			  hb->load, hb->capacity);
	p->alive_logged = true;
	p->seen_ms = pbx_clock_mono_ms();
	p->capacity = hb->capacity;
	p->load = hb->load;
	p->placed = 0;
	p->draining = hb->draining;
}

static void recv_handler(struct pbx_bus *bus, const struct pbx_bus_peer *bp,
			 const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct asr_peer *p = arg;

	(void)bus;
	(void)bp;
	if (err || !env)
		return;
	pbx_log_ctx(env->tenant_id, env->call_id);
	if (env->body_case == PBX__V1__ENVELOPE__BODY_ASR_HEARTBEAT)
		on_heartbeat(p, env->asr_heartbeat);
	else if (env->body_case == PBX__V1__ENVELOPE__BODY_ASR_RESULT)
		on_result(p->a, p, env);
	pbx_log_ctx(NULL, NULL);
}

static void poll_all(struct worker_asr *a)
{
	for (size_t i = 0; i < a->n; i++)
		pbx_bus_process(a->peers[i].bus);
}

static void poll_handler(void *arg)
{
	struct worker_asr *a = arg;

	poll_all(a);
	tmr_start(&a->poll, POLL_MS, poll_handler, a);
}

static void ping_handler(void *arg)
{
	struct worker_asr *a = arg;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__AsrPing ping = PBX__V1__ASR_PING__INIT;

	pbx_log_ctx(NULL, NULL);
	ping.worker_id = (char *)a->w->cfg->worker_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_PING;
	env.asr_ping = &ping;
	for (size_t i = 0; i < a->n; i++) {
		struct asr_peer *p = &a->peers[i];

		if (p->alive_logged && !peer_alive(p)) {
			PLOG_WARN("asr: bridge %s silent: not used", p->name);
			p->alive_logged = false;
		}
		peer_send(p, &env);
	}
	tmr_start(&a->ping, (uint64_t)a->w->cfg->asr_ping_ms, ping_handler, a);
}

static void fd_handler(int flags, void *arg)
{
	struct asr_peer *p = arg;

	(void)flags;
	pbx_bus_process(p->bus);
}

static int peer_open(struct worker_asr *a, struct asr_peer *p,
		     const char *item)
{
	const struct mw_config *cfg = a->w->cfg;
	const char *at = strchr(item, '@');
	char pub[PBX_CFG_STRLEN + PBX_CURVE_NAME + 8];
	int err;

	if (!at || at == item || (size_t)(at - item) >= sizeof(p->name) ||
	    strlen(at + 1) >= sizeof(p->endpoint))
		return -EINVAL;
	p->a = a;
	p->fd = -1;
	memcpy(p->name, item, (size_t)(at - item));
	snprintf(p->endpoint, sizeof(p->endpoint), "%s", at + 1);
	if (!pbx_curve_name_valid(p->name))
		return -EINVAL;
	snprintf(pub, sizeof(pub), "%s/%s.pub", cfg->asr_public_dir, p->name);
	err = pbx_bus_alloc_opts(
		&p->bus, a->w->zctx, PBX_BUS_DEALER, p->endpoint,
		cfg->worker_id,
		&(struct pbx_bus_opts){
			.secret_file = cfg->curve_secret_file,
			.server_public_file = cfg->curve_secret_file[0] ? pub
									: NULL,
		},
		recv_handler, p);
	if (err)
		return err;
	p->fd = pbx_bus_fd(p->bus);
	return -fd_listen(p->fd, FD_READ, fd_handler, p);
}

int worker_asr_open(struct worker *w)
{
	const char *list = w->cfg->asr_bridges;
	struct worker_asr *a;
	char *copy, *save = NULL, *item;
	size_t max = 1;
	int err = 0;

	if (!list[0])
		return 0;
	for (const char *s = list; *s; s++)
		max += *s == ',';
	a = calloc(1, sizeof(*a));
	copy = strdup(list);
	if (a)
		a->peers = calloc(max, sizeof(*a->peers));
	if (!a || !copy || !a->peers) {
		free(copy);
		if (a)
			free(a->peers);
		free(a);
		return -ENOMEM;
	}
	a->w = w;
	w->asr = a;
	tmr_init(&a->ping);
	tmr_init(&a->poll);
	for (item = strtok_r(copy, ", ", &save); item && !err;
	     item = strtok_r(NULL, ", ", &save)) {
		err = peer_open(a, &a->peers[a->n], item);
		if (a->peers[a->n].bus)
			a->n++;
		if (err == -EINVAL)
			PLOG_ERR("asr_bridges: '%s' is not <bridge_id>@"
				 "<endpoint>",
				 item);
	}
	free(copy);
	if (err)
		return err; /* worker_asr_close frees what was made */
	tmr_start(&a->ping, 0, ping_handler, a);
	tmr_start(&a->poll, POLL_MS, poll_handler, a);
	PLOG_INFO("asr: %zu bridge(s): %s", a->n, list);
	return 0;
}

void worker_asr_close(struct worker *w)
{
	struct worker_asr *a = w->asr;

	if (!a)
		return;
	tmr_cancel(&a->ping);
	tmr_cancel(&a->poll);
	for (size_t i = 0; i < a->n; i++) {
		if (a->peers[i].fd >= 0)
			fd_close(a->peers[i].fd);
		pbx_bus_free(a->peers[i].bus);
	}
	free(a->peers);
	free(a);
	w->asr = NULL;
}
