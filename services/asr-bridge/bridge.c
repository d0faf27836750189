/* asr-bridge core: workers' pings, streams, results (bridge.h). */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "asr_backend.h"
#include "asr_grammar.h"
#include "asr_stream.h"
#include "bridge.h"
#include "pbx_bus.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_metrics.h"

#include "pbx/v1/envelope.pb-c.h"

#define RESULT(k) PBX__V1__ASR_RESULT__KIND__KIND_##k

enum {
	SYNONYM_LEN_MAX = SCENARIO_SYNONYM_LEN_MAX,
	PCM_MAX = 1920,	       /* bytes per AsrAudio: 60 ms at 8 kHz */
	TICK_MS = 200,
	NO_INPUT_MAX_MS = 120000,
	LANG_MAX = 16,
	URL_MAX = 1024,	       /* AsrStart.url */
	SECRET_MAX = 512,      /* AsrStart.secret */
	BACKENDS_MAX = 4,
};

struct decode_ctx;

/* One listening turn; owned by the bridge's table (used == true). */
struct bstream {
	bool used;
	struct pbx_bus_peer peer; /* the worker that opened it */
	uint64_t id;
	char tenant[64];
	char callid[256];
	char language[LANG_MAX];
	double confidence;
	struct asr_stream st;
	struct scenario_phrase ph[ASR_PHRASES_MAX];
	const char *syn[ASR_PHRASES_MAX][ASR_SYNONYMS_MAX];
	size_t nph;
	uint64_t last_ms; /* monotonic: the last frame from the worker */
	uint64_t end_ms;  /* end of speech seen (for decode_ms) */
	uint64_t end_us;  /* ... in µs, for the latency metrics */
	uint64_t frame_ts_ms; /* the worker's send time (wall clock) of
			       * the last frame, for its wait in the bus */
	uint64_t queued_ms;   /* ... of the frame that ended the speech */
	bool started;	  /* SPEECH_STARTED sent */
	struct asr_backend *backend; /* the turn's recogniser */
	char *url, *secret;	     /* a remote one's server (owned) */
	/* The utterance is with the backend: frames are ignored, the
	 * idle sweep leaves the stream to the backend's own deadline. */
	struct decode_ctx *dc;
	/* A streaming backend's turn, from the start of speech: the
	 * samples it has (fed), or why it could not start (turn_err). */
	void *turn;
	size_t fed;
	int turn_err;
};

/* The metrics (bridge_metrics_add; docs/services/asr-bridge.md
 * "Metrics"). */
struct bridge_stats {
	unsigned long finals, no_input, refused, failed;
	unsigned long busy; /* the recogniser's queue was full */
	/* end of speech → result sent, by recogniser kind */
	struct pbx_hist result_ms[2]; /* [0] embedded, [1] remote */
	/* the bridge's own share: that minus the recogniser's time, plus
	 * the last frame's wait in the bus */
	struct pbx_hist own_ms;
};

struct bridge {
	const struct bridge_config *cfg;
	struct bridge_stats st;
	struct event_base *base;
	struct pbx_bus *bus;
	struct asr_backend *backends[BACKENDS_MAX]; /* [0]: the default */
	size_t nbackends;
	char names[64]; /* the heartbeat's "pocketsphinx,vosk" */
	struct bstream *streams;
	size_t cap;
	unsigned load;
	struct event *tick;
};

/* One recognition under way; outlives its stream if the stream ends
 * first (s NULL then: the answer is dropped). */
struct decode_ctx {
	struct bridge *b;
	struct bstream *s;
	uint64_t call_us; /* recognize called */
};

static void stream_release(struct bridge *b, struct bstream *s)
{
	if (!s->used)
		return;
	if (s->dc)
		s->dc->s = NULL;
	if (s->turn)
		s->backend->ops->stream_abort(s->turn);
	free(s->url);
	if (s->secret)
		explicit_bzero(s->secret, strlen(s->secret));
	free(s->secret);
	asr_stream_release(&s->st);
	for (size_t i = 0; i < s->nph; i++) {
		free((char *)s->ph[i].name);
		for (size_t k = 0; k < s->ph[i].nsynonyms; k++)
			free((char *)s->syn[i][k]);
	}
	memset(s, 0, sizeof(*s));
	b->load--;
}

static struct bstream *stream_find(struct bridge *b,
				   const struct pbx_bus_peer *peer,
				   uint64_t id)
{
	for (size_t i = 0; i < b->cap; i++) {
		struct bstream *s = &b->streams[i];

		if (s->used && s->id == id && s->peer.len == peer->len &&
		    !memcmp(s->peer.id, peer->id, peer->len))
			return s;
	}
	return NULL;
}

static void send_result(struct bridge *b, const struct pbx_bus_peer *peer,
			const char *tenant, const char *callid, uint64_t id,
			Pbx__V1__AsrResult *res)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	int err;

	res->stream_id = id;
	env.tenant_id = (char *)tenant;
	env.call_id = (char *)callid;
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_RESULT;
	env.asr_result = res;
	err = pbx_bus_send(b->bus, peer, &env);
	if (err)
		PLOG_WARN("stream %llu: result not sent: %s",
			  (unsigned long long)id, strerror(-err));
}

static void send_kind(struct bridge *b, struct bstream *s, int kind,
		      const char *detail)
{
	Pbx__V1__AsrResult res = PBX__V1__ASR_RESULT__INIT;

	res.kind = kind;
	res.detail = (char *)(detail ? detail : "");
	send_result(b, &s->peer, s->tenant, s->callid, s->id, &res);
}

/* A FINAL was sent: its latencies. rec_us: when the recogniser was
 * called (0: it was not). */
static void account(struct bridge *b, const struct bstream *s,
		    uint64_t rec_us, int err)
{
	uint64_t now = pbx_metrics_now_us();
	double total = (double)(now - s->end_us) / 1000;
	double rec = rec_us ? (double)(now - rec_us) / 1000 : 0;

	b->st.finals++;
	if (err)
		b->st.failed++;
	pbx_hist_observe(&b->st.result_ms[s->backend->ops->remote], total);
	pbx_hist_observe(&b->st.own_ms,
			 total - rec + (double)s->queued_ms);
}

static void decoded(int err, const struct asr_hyp *h, void *arg)
{
	const char *text = h ? h->text : "";
	struct decode_ctx *d = arg;
	struct bstream *s = d->s;
	struct bridge *b = d->b;
	Pbx__V1__AsrResult res = PBX__V1__ASR_RESULT__INIT;
	double conf = 0;
	int idx = -1;

	if (!s) { /* the worker stopped the turn, or the bridge stops */
		free(d);
		return;
	}
	if (s->dc != d) /* decode()'s out-of-memory answer, on its stack */
		d = NULL;
	pbx_log_ctx(s->tenant, s->callid);
	if (!err)
		idx = asr_grammar_match(s->ph, s->nph, text, &conf);
	/* The share of the words that make the phrase, times how well the
	 * audio fits them (a network backend's own confidence, else the
	 * embedded one's score per frame). */
	if (idx >= 0 && h)
		conf *= h->conf > 0 ? h->conf
				    : asr_grammar_acoustic(
					      h->score,
					      (double)b->cfg->score_floor,
					      (double)b->cfg->score_ceil);
	res.kind = RESULT(FINAL);
	res.text = (char *)(err ? "" : text);
	res.confidence = conf;
	res.phrase = (char *)(idx >= 0 && conf >= s->confidence
				      ? s->ph[idx].name
				      : "");
	res.detail = (char *)(err == -EBUSY ? "recogniser busy"
			      : err	    ? "recogniser failed"
					    : "");
	if (err == -EBUSY)
		b->st.busy++;
	res.decode_ms = (uint32_t)(pbx_clock_mono_ms() - s->end_ms);
	PLOG_INFO("stream %llu: heard \"%s\" -> %s (confidence %.2f, score "
		  "%.1f, %u ms)",
		  (unsigned long long)s->id, res.text,
		  res.phrase[0] ? res.phrase : "not recognised", conf,
		  h ? h->score : 0, res.decode_ms);
	send_result(b, &s->peer, s->tenant, s->callid, s->id, &res);
	account(b, s, d ? d->call_us : 0, err);
	s->dc = NULL;
	stream_release(b, s);
	free(d);
}

/* The turn as a backend sees it, with the audio the stream holds now. */
static struct asr_utt utt_of(const struct bstream *s)
{
	struct asr_utt u = {
		.phrases = s->ph,
		.nphrases = s->nph,
		.language = s->language,
		.url = s->url,
		.secret = s->secret,
		.tenant = s->tenant,
		.call_id = s->callid,
		.stream_id = s->id,
	};

	u.pcm = asr_stream_audio(&s->st, &u.n);
	return u;
}

/* Speech started: a streaming backend gets the turn and the audio so
 * far (a failure is kept for the end: not recognised). */
static void turn_begin(struct bstream *s)
{
	const struct asr_backend_ops *o = s->backend->ops;
	struct asr_utt u = utt_of(s);

	if (!o->stream_begin)
		return;
	s->turn_err = o->stream_begin(s->backend, &u, &s->turn);
	if (s->turn_err) {
		s->turn = NULL;
		PLOG_WARN("stream %llu: %s: %s", (unsigned long long)s->id,
			  o->name, strerror(-s->turn_err));
	}
	s->fed = u.n;
}

/* ... and what the stream holds beyond what it has: the audio after the
 * end of speech beyond the tail is not (asr_stream_audio leaves it). */
static void turn_feed(struct bstream *s)
{
	size_t n;
	const int16_t *pcm = asr_stream_audio(&s->st, &n);

	if (!s->turn || n <= s->fed)
		return;
	s->backend->ops->stream_feed(s->turn, pcm + s->fed, n - s->fed);
	s->fed = n;
}

/* The utterance is complete: recognise it; decoded() answers and frees
 * the stream (later, from the loop: the embedded backend's decode threads,
 * a remote one; at once for the embedded one without threads). */
static void decode(struct bridge *b, struct bstream *s)
{
	struct decode_ctx *d = calloc(1, sizeof(*d));
	struct asr_backend *be = s->backend;
	struct asr_utt u = utt_of(s);
	struct decode_ctx tmp = {b, s, 0};
	void *turn;
	uint64_t wall = pbx_clock_now_ms();
	int err;

	s->end_ms = pbx_clock_mono_ms();
	s->end_us = pbx_metrics_now_us();
	s->queued_ms = s->frame_ts_ms && wall > s->frame_ts_ms
			       ? wall - s->frame_ts_ms
			       : 0;
	if (!d) {
		decoded(-ENOMEM, NULL, &tmp); /* frees the stream */
		return;
	}
	d->b = b;
	d->s = s;
	s->dc = d;
	d->call_us = pbx_metrics_now_us();
	turn_feed(s);
	turn = s->turn;
	s->turn = NULL; /* the backend's now, whatever it answers */
	if (turn)
		err = be->ops->stream_end(turn, decoded, d);
	else if (s->turn_err)
		err = s->turn_err;
	else
		err = be->ops->recognize(be, &u, decoded, d);
	if (err) {
		PLOG_WARN("stream %llu: %s: %s", (unsigned long long)s->id,
			  be->ops->name, strerror(-err));
		decoded(err, NULL, d);
	}
}

static int copy_phrases(struct bstream *s, const Pbx__V1__AsrStart *st)
{
	if (!st->n_phrases || st->n_phrases > ASR_PHRASES_MAX)
		return -EINVAL;
	for (size_t i = 0; i < st->n_phrases; i++) {
		const Pbx__V1__AsrPhrase *p = st->phrases[i];
		struct scenario_phrase *ph = &s->ph[i];

		if (!p->name || !p->name[0] ||
		    strlen(p->name) > SYNONYM_LEN_MAX || !p->n_synonyms ||
		    p->n_synonyms > ASR_SYNONYMS_MAX)
			return -EINVAL;
		ph->name = strdup(p->name);
		s->nph++;
		if (!ph->name)
			return -ENOMEM;
		ph->synonyms = s->syn[i];
		for (size_t k = 0; k < p->n_synonyms; k++) {
			if (strlen(p->synonyms[k]) > SYNONYM_LEN_MAX)
				return -EINVAL;
			s->syn[i][k] = strdup(p->synonyms[k]);
			if (!s->syn[i][k])
				return -ENOMEM;
			ph->nsynonyms++;
		}
	}
	return 0;
}

static bool english(const char *lang)
{
	return !lang || !lang[0] || !strcmp(lang, "en-us") ||
	       !strcmp(lang, "en");
}

/* The turn's recogniser: the one named, else the default (the embedded
 * one) for English and the remote one for any other language with a
 * server. NULL: *why says why not. */
static struct asr_backend *pick_backend(struct bridge *b,
					const Pbx__V1__AsrStart *st,
					const char **why)
{
	const char *name = st->backend ? st->backend : "";
	bool has_url = st->url && st->url[0];
	struct asr_backend *be = NULL;

	for (size_t i = 0; i < b->nbackends && !be; i++) {
		const struct asr_backend_ops *o = b->backends[i]->ops;

		if (name[0] ? !strcmp(o->name, name)
			    : (o->remote ? has_url && !english(st->language)
					 : english(st->language)))
			be = b->backends[i];
	}
	if (!be)
		*why = name[0] ? "unknown backend" : "no model for the language";
	else if (be->ops->remote && !has_url)
		*why = "the backend needs a url (the tenant's asr setting)";
	else if (!be->ops->remote && !english(st->language))
		*why = "no model for the language";
	else
		return be;
	return NULL;
}

static const char *start_check(const Pbx__V1__AsrStart *st)
{
	if (st->sample_rate && st->sample_rate != ASR_RATE)
		return "sample_rate must be 8000";
	if (st->no_input_ms > NO_INPUT_MAX_MS)
		return "no_input_ms too large";
	if (st->confidence < 0 || st->confidence > 1)
		return "confidence out of 0..1";
	if (st->language && strlen(st->language) >= LANG_MAX)
		return "language too long";
	if (st->url && strlen(st->url) >= URL_MAX)
		return "url too long";
	if (st->secret && strlen(st->secret) >= SECRET_MAX)
		return "secret too long";
	return NULL;
}

static void on_start(struct bridge *b, const struct pbx_bus_peer *peer,
		     const Pbx__V1__Envelope *env)
{
	const Pbx__V1__AsrStart *st = env->asr_start;
	struct bstream tmp = {.peer = *peer, .id = st->stream_id}, *s = NULL;
	const char *why = start_check(st);
	struct asr_backend *be = NULL;
	struct asr_stream_cfg sc = {
		.no_input_ms = st->no_input_ms ? st->no_input_ms : 5000,
		.max_utterance_ms = st->max_utterance_ms
					    ? st->max_utterance_ms
					    : (uint32_t)b->cfg->max_utterance_ms,
		.end_silence_ms = st->end_silence_ms
					  ? st->end_silence_ms
					  : (uint32_t)b->cfg->end_silence_ms,
		.threshold_db = (double)b->cfg->threshold_db,
	};
	int err;

	snprintf(tmp.tenant, sizeof(tmp.tenant), "%s", env->tenant_id);
	snprintf(tmp.callid, sizeof(tmp.callid), "%s", env->call_id);
	if (!why)
		be = pick_backend(b, st, &why);
	if (stream_find(b, peer, st->stream_id))
		why = "stream exists";
	for (size_t i = 0; !why && i < b->cap && !s; i++)
		if (!b->streams[i].used)
			s = &b->streams[i];
	if (!why && !s)
		why = "busy";
	if (why) {
		PLOG_WARN("stream %llu refused: %s",
			  (unsigned long long)st->stream_id, why);
		send_kind(b, &tmp, RESULT(ERROR), why);
		b->st.refused++;
		return;
	}
	*s = tmp;
	s->used = true;
	b->load++;
	s->confidence = st->confidence;
	s->backend = be;
	snprintf(s->language, sizeof(s->language), "%s",
		 st->language && st->language[0] ? st->language : "en-us");
	s->last_ms = pbx_clock_mono_ms();
	err = copy_phrases(s, st);
	if (!err && be->ops->remote &&
	    (!(s->url = strdup(st->url)) ||
	     !(s->secret = strdup(st->secret ? st->secret : ""))))
		err = -ENOMEM;
	if (!err)
		err = asr_stream_init(&s->st, &sc);
	if (err) {
		why = err == -ENOMEM ? "out of memory" : "bad phrases or bounds";
		PLOG_WARN("stream %llu refused: %s",
			  (unsigned long long)st->stream_id, why);
		send_kind(b, s, RESULT(ERROR), why);
		b->st.refused++;
		stream_release(b, s);
		return;
	}
	PLOG_INFO("stream %llu: %zu phrase(s), no input %u ms, %s (%s), load "
		  "%u/%zu",
		  (unsigned long long)s->id, s->nph, sc.no_input_ms,
		  be->ops->name, s->language, b->load, b->cap);
}

static void on_audio(struct bridge *b, const struct pbx_bus_peer *peer,
		     const Pbx__V1__AsrAudio *a, uint64_t sent_ms)
{
	struct bstream *s = stream_find(b, peer, a->stream_id);
	int16_t pcm[PCM_MAX / 2];
	enum asr_stream_ev ev;
	size_t n;

	if (!s)
		return; /* ended already: frames in flight */
	if (a->stop) {
		PLOG_INFO("stream %llu: stopped by the worker",
			  (unsigned long long)s->id);
		stream_release(b, s);
		return;
	}
	if (s->dc) { /* with the recogniser: later frames are not heard */
		s->last_ms = pbx_clock_mono_ms();
		return;
	}
	if (a->pcm.len > PCM_MAX || a->pcm.len % 2) {
		send_kind(b, s, RESULT(ERROR), "bad audio frame");
		stream_release(b, s);
		return;
	}
	s->last_ms = pbx_clock_mono_ms();
	s->frame_ts_ms = sent_ms;
	n = a->pcm.len / 2;
	for (size_t i = 0; i < n; i++) /* little-endian on the wire */
		pcm[i] = (int16_t)(a->pcm.data[2 * i] |
				   a->pcm.data[2 * i + 1] << 8);
	ev = asr_stream_feed(&s->st, pcm, n);
	if (ev == ASR_EV_NONE) {
		turn_feed(s); /* a streaming backend hears it now */
		return;
	}
	if (!s->started && s->st.state != ASR_ST_WAIT &&
	    ev != ASR_EV_NO_INPUT) {
		s->started = true;
		PLOG_INFO("stream %llu: speech started at %u ms",
			  (unsigned long long)s->id, s->st.ms);
		send_kind(b, s, RESULT(SPEECH_STARTED), "");
		turn_begin(s);
	}
	switch (ev) {
	case ASR_EV_END_OF_SPEECH:
	case ASR_EV_MAX_UTTERANCE:
		decode(b, s);
		return;
	case ASR_EV_NO_INPUT:
		PLOG_INFO("stream %llu: no input", (unsigned long long)s->id);
		send_kind(b, s, RESULT(NO_INPUT), "");
		b->st.no_input++;
		stream_release(b, s);
		return;
	default:
		return;
	}
}

static void on_ping(struct bridge *b, const struct pbx_bus_peer *peer)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__AsrHeartbeat hb = PBX__V1__ASR_HEARTBEAT__INIT;

	hb.bridge_id = (char *)b->cfg->bridge_id;
	hb.capacity = (uint32_t)b->cap;
	hb.load = b->load;
	hb.backends = b->names;
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_HEARTBEAT;
	env.asr_heartbeat = &hb;
	pbx_bus_send(b->bus, peer, &env);
}

static void bus_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		     const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct bridge *b = arg;

	(void)bus;
	if (err || !env || !peer)
		return;
	pbx_log_ctx(env->tenant_id, env->call_id);
	switch (env->body_case) {
	case PBX__V1__ENVELOPE__BODY_ASR_PING:
		on_ping(b, peer);
		break;
	case PBX__V1__ENVELOPE__BODY_ASR_START:
		on_start(b, peer, env);
		break;
	case PBX__V1__ENVELOPE__BODY_ASR_AUDIO:
		on_audio(b, peer, env->asr_audio, env->timestamp_ms);
		break;
	default:
		PLOG_WARN("unexpected message %d from %s", env->body_case,
			  peer->user);
		break;
	}
	pbx_log_ctx(NULL, NULL);
}

/* Streams whose worker went silent: it died, or the call moved on and
 * its stop was lost. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bridge *b = arg;
	uint64_t now = pbx_clock_mono_ms();

	(void)fd;
	(void)what;
	for (size_t i = 0; i < b->cap; i++) {
		struct bstream *s = &b->streams[i];

		if (!s->used || s->dc)
			continue;
		pbx_log_ctx(s->tenant, s->callid);
		/* A phone that stops sending RTP in silences (VAD/DTX)
		 * ends its utterance by falling silent. */
		if (s->st.state == ASR_ST_SPEECH &&
		    now - s->last_ms >= (uint64_t)s->st.cfg.end_silence_ms) {
			PLOG_INFO("stream %llu: audio stopped: end of speech",
				  (unsigned long long)s->id);
			s->frame_ts_ms = 0; /* no frame ended it */
			decode(b, s);
			pbx_log_ctx(NULL, NULL);
			continue;
		}
		if (now - s->last_ms < (uint64_t)b->cfg->stream_idle_ms) {
			pbx_log_ctx(NULL, NULL);
			continue;
		}
		PLOG_WARN("stream %llu: no audio for %ld ms: dropped",
			  (unsigned long long)s->id, b->cfg->stream_idle_ms);
		stream_release(b, s);
		pbx_log_ctx(NULL, NULL);
	}
}

int bridge_alloc(struct bridge **bp, struct event_base *base, void *zctx,
		 const struct bridge_config *cfg,
		 struct asr_backend *const *backends, size_t nbackends)
{
	struct timeval tv = {0, TICK_MS * 1000};
	struct bridge *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->cfg = cfg;
	b->base = base;
	b->cap = (size_t)cfg->capacity;
	b->streams = calloc(b->cap, sizeof(*b->streams));
	if (!b->streams) {
		free(b);
		return -ENOMEM;
	}
	err = pbx_bus_alloc_opts(&b->bus, zctx, PBX_BUS_ROUTER, cfg->listen,
				 NULL,
				 &(struct pbx_bus_opts){
					 .secret_file = cfg->curve_secret_file,
					 .zap_domain = "asr",
					 .max_frame = 65536,
				 },
				 bus_recv, b);
	if (!err)
		err = pbx_bus_attach(b->bus, base);
	b->tick = event_new(base, -1, EV_PERSIST, tick_cb, b);
	if (!err && (!b->tick || event_add(b->tick, &tv)))
		err = -ENOMEM;
	if (!err && (!nbackends || nbackends > BACKENDS_MAX))
		err = -EINVAL;
	if (err) {
		bridge_free(b); /* the backends are not taken on error */
		return err;
	}
	for (size_t i = 0; i < nbackends; i++) {
		b->backends[i] = backends[i];
		snprintf(b->names + strlen(b->names),
			 sizeof(b->names) - strlen(b->names), "%s%s",
			 i ? "," : "", backends[i]->ops->name);
	}
	b->nbackends = nbackends;
	*bp = b;
	return 0;
}

void bridge_free(struct bridge *b)
{
	if (!b)
		return;
	if (b->tick)
		event_free(b->tick);
	for (size_t i = 0; i < b->cap; i++)
		stream_release(b, &b->streams[i]);
	/* Pending remote turns answer -ECANCELED to streams already gone. */
	for (size_t i = 0; i < b->nbackends; i++)
		asr_backend_free(b->backends[i]);
	pbx_bus_free(b->bus);
	free(b->streams);
	free(b);
}

unsigned bridge_load(const struct bridge *b)
{
	return b->load;
}

static double own_p99(const void *obj)
{
	const struct bridge *b = obj;

	return pbx_hist_quantile(&b->st.own_ms, 0.99) / 1000;
}

static double load_of(const void *obj)
{
	return ((const struct bridge *)obj)->load;
}

static double capacity_of(const void *obj)
{
	return (double)((const struct bridge *)obj)->cap;
}

#define RES_HIST(i, kind)                                                     \
	PBX_METRIC_FIELD(PBX_METRIC_HISTOGRAM, struct bridge,                 \
			 st.result_ms[i], "pbx_asr_result_seconds",          \
			 "recogniser=\"" kind "\"",                           \
			 "end of speech -> result sent (the recogniser's "    \
			 "time included), by recogniser")

static const struct pbx_metric bridge_metrics[] = {
	PBX_GAUGE_FN(load_of, "pbx_asr_streams", "streams open now"),
	PBX_GAUGE_FN(capacity_of, "pbx_asr_capacity",
		     "most streams open at once"),
	PBX_COUNTER(struct bridge, st.finals, "pbx_asr_finals_total",
		    "utterances answered (FINAL)"),
	PBX_COUNTER(struct bridge, st.failed,
		    "pbx_asr_recogniser_failures_total",
		    "utterances the recogniser failed on (not recognised)"),
	PBX_COUNTER(struct bridge, st.busy, "pbx_asr_decode_refused_total",
		    "utterances refused because the embedded recogniser's "
		    "queue was full (answered not recognised, \"recogniser "
		    "busy\")"),
	PBX_COUNTER(struct bridge, st.no_input, "pbx_asr_no_input_total",
		    "streams without speech (NO_INPUT)"),
	PBX_COUNTER(struct bridge, st.refused, "pbx_asr_refused_total",
		    "streams refused (busy, bad start, no recogniser)"),
	RES_HIST(0, "embedded"),
	RES_HIST(1, "remote"),
	PBX_HISTOGRAM(struct bridge, st.own_ms, "pbx_asr_bridge_seconds",
		      "the bridge's own latency per utterance: end of speech "
		      "-> result sent minus the recogniser's time, plus the "
		      "last frame's wait on the bus"),
	PBX_GAUGE_FN(own_p99, "pbx_asr_bridge_p99_seconds",
		     "99th percentile of pbx_asr_bridge_seconds (the upper "
		     "bound of its bucket; goal 0.02)"),
};

int bridge_metrics_add(struct bridge *b, struct pbx_metrics *m)
{
	return PBX_METRICS_ADD(m, bridge_metrics, b);
}
