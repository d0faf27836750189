/* services/asr-bridge/bridge.c in one process: the bridge's CURVE-less
 * ROUTER on loopback and a fake worker (a real ZeroMQ DEALER, as a media
 * worker connects) on the same libevent loop; the recogniser is a test
 * backend that answers a fixed text (or fails), so what is asserted is
 * the bridge's part: heartbeats, stream state, endpointing over the bus,
 * the phrase mapping and threshold, refusals, idle streams dropped; and
 * a remote test backend that answers 100 ms later from the loop (as the
 * Vosk adapter does): the turn's url and secret reach it, a stream
 * stopped meanwhile gets no answer, a pending turn is cancelled when the
 * bridge stops. Suite asr_sphinx: the real embedded recogniser on its
 * decode threads with espeak-ng speech: many streams at once, each its
 * own FINAL, the loop free meanwhile; streams stopped mid-decode; a full
 * queue; decodes cancelled at shutdown. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "asr_backend.h"
#include "bridge.h"
#include "fake_peer.h"
#include "pbx_bus.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_metrics.h"
#include "pbx_test.h"
#include "test_port.h"

#define KIND(x) PBX__V1__ASR_RESULT__KIND__KIND_##x

struct test_backend {
	struct asr_backend base;
	const char *text;
	double score;
	int fail;
	size_t samples; /* of the last utterance */
	int calls;
};

/* The remote one: each turn answers "yes" 100 ms later. */
struct rturn {
	struct rtest *r;
	asr_done_h *done;
	void *arg;
	struct event *ev;
	struct rturn *next;
};
struct rtest {
	struct asr_backend base;
	int calls;
	/* streaming (rts_ops): turns begun, samples given, aborts */
	int begun, aborted;
	size_t streamed;
	char url[64], secret[64], language[16];
	struct rturn *pending;
};

static struct {
	struct event_base *base;
	void *zctx;
	struct fake_peer *worker; /* a media worker's DEALER */
	struct bridge_config cfg;
	struct bridge *bridge;
	struct test_backend *tb;
	struct rtest *rt;
} fx;

static int tb_recognize(struct asr_backend *b, const struct asr_utt *u,
			asr_done_h *done, void *arg)
{
	struct test_backend *t = (struct test_backend *)b;

	t->calls++;
	t->samples = u->n;
	if (t->fail)
		return t->fail;
	done(0, &(struct asr_hyp){.text = t->text, .score = t->score}, arg);
	return 0;
}

static void tb_free(struct asr_backend *b)
{
	free(b);
}

static const struct asr_backend_ops tb_ops = {
	.name = "test", .free = tb_free, .recognize = tb_recognize};

static void rturn_end(struct rturn *t, int err)
{
	struct rturn **pp = &t->r->pending;

	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
	event_free(t->ev);
	t->done(err, err ? NULL : &(struct asr_hyp){.text = "yes", .conf = 1},
		t->arg);
	free(t);
}

static void rturn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rturn_end(arg, 0);
}

static int rt_recognize(struct asr_backend *b, const struct asr_utt *u,
			asr_done_h *done, void *arg)
{
	struct rtest *r = (struct rtest *)b;
	struct rturn *t = calloc(1, sizeof(*t));
	struct timeval tv = {0, 100000};

	r->calls++;
	snprintf(r->url, sizeof(r->url), "%s", u->url);
	snprintf(r->secret, sizeof(r->secret), "%s", u->secret);
	snprintf(r->language, sizeof(r->language), "%s", u->language);
	t->r = r;
	t->done = done;
	t->arg = arg;
	t->ev = evtimer_new(fx.base, rturn_cb, t);
	evtimer_add(t->ev, &tv);
	t->next = r->pending;
	r->pending = t;
	return 0;
}

static void rt_free(struct asr_backend *b)
{
	struct rtest *r = (struct rtest *)b;

	while (r->pending)
		rturn_end(r->pending, -ECANCELED);
	free(b);
}

static const struct asr_backend_ops rt_ops = {.name = "rtest",
					      .remote = true,
					      .free = rt_free,
					      .recognize = rt_recognize};

/* The same backend, streaming: the turn is the backend itself (one at a
 * time in these tests); the end answers as recognize does. */
static int rts_begin(struct asr_backend *b, const struct asr_utt *u,
		     void **turn)
{
	struct rtest *r = (struct rtest *)b;

	r->begun++;
	r->streamed = u->n;
	*turn = r;
	return 0;
}

static int rts_feed(void *turn, const int16_t *pcm, size_t n)
{
	(void)pcm;
	((struct rtest *)turn)->streamed += n;
	return 0;
}

static int rts_end(void *turn, asr_done_h *done, void *arg)
{
	struct rtest *r = turn;
	struct asr_utt u = {.url = "streamed", .secret = "", .language = ""};

	return rt_recognize(&r->base, &u, done, arg);
}

static void rts_abort(void *turn)
{
	((struct rtest *)turn)->aborted++;
}

static const struct asr_backend_ops rts_ops = {.name = "rtest",
					       .remote = true,
					       .free = rt_free,
					       .recognize = rt_recognize,
					       .stream_begin = rts_begin,
					       .stream_feed = rts_feed,
					       .stream_end = rts_end,
					       .stream_abort = rts_abort};

static void run_ms(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(fx.base, &tv);
	event_base_dispatch(fx.base);
}

/* The bridge on a loopback port with these backends, and the worker. */
static void setup_with(struct asr_backend *const *be, size_t n, long capacity)
{
	char ep[64];

	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%u", test_free_port());
	if (!fx.base)
		fx.base = event_base_new();
	fx.zctx = pbx_zmq_ctx_new();
	snprintf(fx.cfg.bridge_id, sizeof(fx.cfg.bridge_id), "asr1");
	snprintf(fx.cfg.listen, sizeof(fx.cfg.listen), "%s", ep);
	fx.cfg.capacity = capacity;
	fx.cfg.stream_idle_ms = 400;
	fx.cfg.end_silence_ms = 200;
	fx.cfg.max_utterance_ms = 3000;
	fx.cfg.threshold_db = -40;
	fx.cfg.score_floor = -45;
	fx.cfg.score_ceil = -25;
	cr_assert_eq(bridge_alloc(&fx.bridge, fx.base, fx.zctx, &fx.cfg, be, n),
		     0);
	cr_assert_eq(fake_peer_alloc(&fx.worker, fx.base, fx.zctx, ep, "mw1"),
		     0);
}

static void setup(void)
{
	pbx_log_init("test", PBX_LOG_WARN);
	fx.tb = calloc(1, sizeof(*fx.tb));
	fx.tb->base.ops = &tb_ops;
	fx.tb->text = "yes please";
	fx.tb->score = -20; /* above the ceiling: acoustic confidence 1 */
	fx.rt = calloc(1, sizeof(*fx.rt));
	fx.rt->base.ops = &rt_ops;
	setup_with((struct asr_backend *[]){&fx.tb->base, &fx.rt->base}, 2, 2);
}

static void teardown(void)
{
	fake_peer_free(fx.worker);
	bridge_free(fx.bridge);
	zmq_ctx_term(fx.zctx);
	event_base_free(fx.base);
	memset(&fx, 0, sizeof(fx));
	pbx_test_fini();
}

TestSuite(asr_bridge, .init = setup, .fini = teardown, .timeout = 20);

static void send_env(Pbx__V1__Envelope *env)
{
	env->tenant_id = (char *)"t1";
	env->call_id = (char *)"call-1";
	cr_assert_eq(fake_peer_send(fx.worker, env, 2000), 0);
}

/* The first message of body kind at or after index from, waiting ms. */
static const Pbx__V1__Envelope *wait_msg(size_t from, int body, int ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)ms;

	do {
		for (size_t i = from; i < fake_peer_count(fx.worker); i++)
			if ((int)fake_peer_msg(fx.worker, i)->body_case == body)
				return fake_peer_msg(fx.worker, i);
		run_ms(5);
	} while (pbx_clock_mono_ms() < end);
	return NULL;
}

static const Pbx__V1__AsrResult *wait_result(size_t from, int ms)
{
	const Pbx__V1__Envelope *e =
		wait_msg(from, PBX__V1__ENVELOPE__BODY_ASR_RESULT, ms);

	return e ? e->asr_result : NULL;
}

/* The first AsrResult of kind (any message index), waiting ms. */
static const Pbx__V1__AsrResult *wait_kind(int kind, int ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)ms;

	do {
		for (size_t i = 0; i < fake_peer_count(fx.worker); i++) {
			const Pbx__V1__Envelope *e = fake_peer_msg(fx.worker, i);

			if (e->asr_result && (int)e->asr_result->kind == kind)
				return e->asr_result;
		}
		run_ms(5);
	} while (pbx_clock_mono_ms() < end);
	return NULL;
}

static void start_ex(uint64_t id, double confidence, const char *lang,
		     const char *backend, const char *url)
{
	static char *yes_syn[] = {"yes", "yeah"}, *no_syn[] = {"no"};
	Pbx__V1__AsrPhrase yes = PBX__V1__ASR_PHRASE__INIT,
			   no = PBX__V1__ASR_PHRASE__INIT;
	Pbx__V1__AsrPhrase *ph[] = {&yes, &no};
	Pbx__V1__AsrStart st = PBX__V1__ASR_START__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	yes.name = (char *)"yes";
	yes.n_synonyms = 2;
	yes.synonyms = yes_syn;
	no.name = (char *)"no";
	no.n_synonyms = 1;
	no.synonyms = no_syn;
	st.stream_id = id;
	st.n_phrases = 2;
	st.phrases = ph;
	st.confidence = confidence;
	st.no_input_ms = 1000;
	st.sample_rate = 8000;
	st.language = (char *)lang;
	st.backend = (char *)backend;
	st.url = (char *)url;
	st.secret = (char *)(url[0] ? "the-secret" : "");
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_START;
	env.asr_start = &st;
	send_env(&env);
}

static void start(uint64_t id, double confidence)
{
	start_ex(id, confidence, "", "", "");
}

/* ms of audio (tone or silence) on stream id, 20 ms per frame. */
static void audio(uint64_t id, int ms, bool voiced)
{
	static uint32_t seq;
	uint8_t pcm[320];

	for (int t = 0; t < ms / 20; t++) {
		Pbx__V1__AsrAudio au = PBX__V1__ASR_AUDIO__INIT;
		Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

		for (int i = 0; i < 160; i++) {
			int16_t v = voiced ? (int16_t)(10000 *
						       sin(2 * M_PI * 440 * i /
							   8000.0))
					   : 0;

			pcm[2 * i] = (uint8_t)((uint16_t)v & 0xff);
			pcm[2 * i + 1] = (uint8_t)((uint16_t)v >> 8);
		}
		au.stream_id = id;
		au.seq = seq++;
		au.pcm.data = pcm;
		au.pcm.len = sizeof(pcm);
		env.body_case = PBX__V1__ENVELOPE__BODY_ASR_AUDIO;
		env.asr_audio = &au;
		send_env(&env);
	}
}

/* The bridge's /metrics text now (malloc'd). */
static char *metrics_text(void)
{
	struct pbx_metrics *m = NULL;
	size_t len;
	char *txt;

	cr_assert_eq(pbx_metrics_alloc(&m, "asr-bridge", ""), 0);
	cr_assert_eq(bridge_metrics_add(fx.bridge, m), 0);
	txt = pbx_metrics_render(m, &len);
	cr_assert_not_null(txt);
	pbx_metrics_free(m);
	return txt;
}

static void ping(void)
{
	Pbx__V1__AsrPing p = PBX__V1__ASR_PING__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	p.worker_id = (char *)"mw1";
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_PING;
	env.asr_ping = &p;
	send_env(&env);
}

Test(asr_bridge, ping_is_answered_with_a_heartbeat)
{
	const Pbx__V1__Envelope *hb;

	ping();
	hb = wait_msg(0, PBX__V1__ENVELOPE__BODY_ASR_HEARTBEAT, 3000);
	cr_assert_not_null(hb);
	cr_assert_str_eq(hb->asr_heartbeat->bridge_id, "asr1");
	cr_assert_eq(hb->asr_heartbeat->capacity, 2);
	cr_assert_eq(hb->asr_heartbeat->load, 0);
	cr_assert_str_eq(hb->asr_heartbeat->backends, "test,rtest");
}

Test(asr_bridge, speech_is_endpointed_recognised_and_mapped)
{
	const Pbx__V1__AsrResult *r;

	start(7, 0.4);
	audio(7, 200, false);
	audio(7, 600, true);
	r = wait_result(0, 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->kind, KIND(SPEECH_STARTED));
	cr_assert_eq(r->stream_id, 7);
	cr_assert_eq(bridge_load(fx.bridge), 1);
	audio(7, 300, false);
	r = wait_kind(KIND(FINAL), 3000);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->text, "yes please");
	cr_assert_str_eq(r->phrase, "yes");
	cr_assert_float_eq(r->confidence, 0.5, 1e-9);
	cr_assert_eq(fx.tb->calls, 1);
	/* 200 ms of the silence as lead-in, 600 ms speech, 200 ms end. */
	cr_assert_eq(fx.tb->samples, (200 + 600 + 200) * 8);
	cr_assert_eq(bridge_load(fx.bridge), 0);
}

Test(asr_bridge, below_the_threshold_no_phrase_is_given)
{
	const Pbx__V1__AsrResult *r;

	fx.tb->score = -40; /* acoustic 0.25: "yes please" 0.125 */
	start(1, 0.2);
	audio(1, 600, true);
	audio(1, 300, false);
	r = wait_kind(KIND(FINAL), 3000);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->text, "yes please");
	cr_assert_str_eq(r->phrase, "");
	cr_assert_float_eq(r->confidence, 0.125, 1e-9);
}

Test(asr_bridge, silence_gives_no_input_and_a_failure_not_recognised)
{
	const Pbx__V1__AsrResult *r;

	start(1, 0);
	audio(1, 1000, false);
	r = wait_result(0, 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->kind, KIND(NO_INPUT));
	fx.tb->fail = -EIO;
	start(2, 0);
	audio(2, 100, true);
	audio(2, 200, false);
	r = wait_kind(KIND(FINAL), 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->stream_id, 2);
	cr_assert_str_eq(r->phrase, "");
	cr_assert_str_eq(r->detail, "recogniser failed");
}

Test(asr_bridge, over_capacity_and_bad_starts_are_refused)
{
	const Pbx__V1__AsrResult *r;
	Pbx__V1__AsrStart st = PBX__V1__ASR_START__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	start(1, 0);
	start(2, 0);
	start(3, 0);
	r = wait_result(0, 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_eq(r->stream_id, 3);
	cr_assert_str_eq(r->detail, "busy");
	st.stream_id = 9; /* no phrases */
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_START;
	env.asr_start = &st;
	send_env(&env);
	r = wait_result(1, 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->stream_id, 9);
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_eq(bridge_load(fx.bridge), 2);
}

Test(asr_bridge, a_silent_worker_stream_is_dropped)
{
	start(1, 0);
	audio(1, 100, false);
	run_ms(50);
	cr_assert_eq(bridge_load(fx.bridge), 1);
	run_ms(800); /* stream_idle_ms 400, swept every 200 ms */
	cr_assert_eq(bridge_load(fx.bridge), 0);
	cr_assert_null(wait_result(0, 10));
}

Test(asr_bridge, audio_that_stops_after_speech_ends_the_utterance)
{
	const Pbx__V1__AsrResult *r;

	start(4, 0);
	audio(4, 600, true); /* then nothing: a phone with DTX */
	r = wait_kind(KIND(FINAL), 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->stream_id, 4);
	cr_assert_str_eq(r->phrase, "yes");
	cr_assert_eq(bridge_load(fx.bridge), 0);
}

static void stop(uint64_t id)
{
	Pbx__V1__AsrAudio au = PBX__V1__ASR_AUDIO__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	au.stream_id = id;
	au.stop = true;
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_AUDIO;
	env.asr_audio = &au;
	send_env(&env);
}

Test(asr_bridge, another_language_goes_to_the_remote_backend_with_its_url)
{
	const Pbx__V1__AsrResult *r;

	start_ex(5, 0.5, "ru", "", "ws://asr.example/ru");
	audio(5, 600, true);
	audio(5, 300, false);
	r = wait_kind(KIND(FINAL), 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->stream_id, 5);
	cr_assert_str_eq(r->phrase, "yes");
	cr_assert_float_eq(r->confidence, 1.0, 1e-9, "the backend's own");
	cr_assert_eq(fx.rt->calls, 1);
	cr_assert_eq(fx.tb->calls, 0);
	cr_assert_str_eq(fx.rt->url, "ws://asr.example/ru");
	cr_assert_str_eq(fx.rt->secret, "the-secret");
	cr_assert_str_eq(fx.rt->language, "ru");
	cr_assert_eq(bridge_load(fx.bridge), 0);
	/* The remote one's ~100 ms are the recogniser's, not the bridge's:
	 * the bridge's own share stays in the lowest buckets. */
	{
		char *txt = metrics_text();

		cr_assert_not_null(strstr(txt, "pbx_asr_finals_total 1\n"), "%s",
				   txt);
		cr_assert_not_null(strstr(txt, "pbx_asr_result_seconds_count{"
					       "recogniser=\"remote\"} 1\n"),
				   "%s", txt);
		cr_assert_not_null(strstr(txt, "pbx_asr_result_seconds_bucket{"
					       "recogniser=\"remote\",le=\"0.05\"} 0\n"),
				   "%s", txt);
		cr_assert_not_null(strstr(txt, "pbx_asr_bridge_seconds_bucket{"
					       "le=\"0.02\"} 1\n"),
				   "%s", txt);
		free(txt);
	}
}

Test(asr_bridge, a_stream_stopped_during_a_remote_decode_gets_no_answer)
{
	start_ex(6, 0.5, "ru", "rtest", "ws://asr.example/");
	audio(6, 600, true);
	audio(6, 300, false);
	for (int i = 0; i < 100 && !fx.rt->calls; i++)
		run_ms(5);
	cr_assert_eq(fx.rt->calls, 1);
	cr_assert_eq(bridge_load(fx.bridge), 1, "kept while it decodes");
	audio(6, 100, true); /* frames during the decode: not heard */
	stop(6);
	run_ms(300); /* the backend answers meanwhile: dropped */
	cr_assert_eq(bridge_load(fx.bridge), 0);
	cr_assert_null(wait_kind(KIND(FINAL), 10));
	cr_assert_null(fx.rt->pending);
}

Test(asr_bridge, a_pending_remote_decode_is_cancelled_when_the_bridge_stops)
{
	start_ex(8, 0.5, "ru", "", "ws://asr.example/");
	audio(8, 600, true);
	audio(8, 300, false);
	for (int i = 0; i < 100 && !fx.rt->calls; i++)
		run_ms(5);
	cr_assert_eq(fx.rt->calls, 1);
	cr_assert_not_null(fx.rt->pending);
	/* teardown frees the bridge now: ASan sees the turn freed */
}

Test(asr_bridge, a_language_without_a_recogniser_is_refused)
{
	const Pbx__V1__AsrResult *r;

	start_ex(1, 0.5, "ru", "", ""); /* no url: nobody hears Russian */
	r = wait_result(0, 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_str_eq(r->detail, "no model for the language");
	start_ex(2, 0.5, "en", "rtest", "");
	r = wait_result(1, 3000);
	cr_assert_not_null(r);
	cr_assert_eq(r->kind, KIND(ERROR));
	cr_assert_str_eq(r->detail,
			 "the backend needs a url (the tenant's asr setting)");
	start_ex(3, 0.5, "ru", "test", "ws://x/");
	r = wait_result(2, 3000);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->detail, "no model for the language");
	start_ex(4, 0.5, "en", "google", "");
	r = wait_result(3, 3000);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->detail, "unknown backend");
	cr_assert_eq(bridge_load(fx.bridge), 0);
}

Test(asr_bridge, a_streaming_backend_hears_the_speech_as_it_comes)
{
	const Pbx__V1__AsrResult *r;

	fx.rt->base.ops = &rts_ops;
	start_ex(5, 0.5, "ru", "", "ws://asr.example/ru");
	audio(5, 200, false);
	audio(5, 100, true);
	run_ms(50);
	cr_assert_eq(fx.rt->begun, 1, "begun at the start of speech");
	audio(5, 500, true);
	run_ms(50);
	/* the lead-in, and every voiced frame so far */
	cr_assert_eq(fx.rt->streamed, (200 + 600) * 8);
	cr_assert_eq(fx.rt->calls, 0);
	audio(5, 300, false);
	r = wait_kind(KIND(FINAL), 3000);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->phrase, "yes");
	cr_assert_eq(fx.rt->calls, 1, "ended once");
	cr_assert_str_eq(fx.rt->url, "streamed");
	/* the same audio as a whole utterance: lead-in, speech, 200 ms */
	cr_assert_eq(fx.rt->streamed, (200 + 600 + 200) * 8);
	cr_assert_eq(fx.rt->aborted, 0);
	cr_assert_eq(bridge_load(fx.bridge), 0);
}

Test(asr_bridge, a_stream_stopped_while_speaking_aborts_its_turn)
{
	fx.rt->base.ops = &rts_ops;
	start_ex(6, 0.5, "ru", "", "ws://asr.example/ru");
	audio(6, 400, true);
	run_ms(50);
	cr_assert_eq(fx.rt->begun, 1);
	stop(6);
	run_ms(50);
	cr_assert_eq(fx.rt->aborted, 1);
	cr_assert_eq(fx.rt->calls, 0);
	cr_assert_eq(bridge_load(fx.bridge), 0);
	cr_assert_null(wait_kind(KIND(FINAL), 10));
}

/* The embedded recogniser for real (pocketsphinx, its decode threads)
 * behind the bridge; the utterances spoken by espeak-ng, as the e2e
 * suite's callers speak them. */

#define HMM "/usr/share/pocketsphinx/model/en-us/en-us"
#define DICT "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

static const char *const WORDS[] = {"sales", "operator", "yes",
				    "no"};
#define NWORDS (sizeof(WORDS) / sizeof(WORDS[0]))

/* The bridge with pocketsphinx alone: threads, queue_max. */
static void sphinx_setup(size_t threads, size_t queue)
{
	struct asr_sphinx_cfg sc = {.hmm = HMM, .dict = DICT,
				    .threads = threads, .queue_max = queue};
	struct asr_backend *be = NULL;

	pbx_log_init("test", PBX_LOG_WARN);
	fx.base = event_base_new();
	cr_assert_eq(asr_sphinx_alloc(&be, fx.base, &sc), 0);
	setup_with(&be, 1, 16);
	fx.cfg.end_silence_ms = 400; /* the bridge reads it from here */
	fx.cfg.stream_idle_ms = 5000;
}

static void setup_2_8(void)
{
	sphinx_setup(2, 8);
}

static void setup_1_1(void)
{
	sphinx_setup(1, 1);
}

/* espeak-ng's text at 8 kHz, signed 16-bit (malloc'd, *n samples). */
static int16_t *say(const char *text, size_t *n)
{
	char cmd[256];
	int16_t *pcm = calloc(8000 * 4, sizeof(*pcm));
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "espeak-ng -v en-us -s 150 --stdout '%s' | sox -q -t wav - "
		 "-r 8000 -c 1 -e signed-integer -b 16 -t raw -",
		 text);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(pcm);
	*n = fread(pcm, sizeof(*pcm), 8000 * 4, f);
	cr_assert_eq(pclose(f), 0, "espeak-ng or sox failed");
	cr_assert_gt(*n, 1600, "%zu samples of \"%s\"", *n, text);
	return pcm;
}

/* Stream id listening for nph of WORDS from first on (a grammar of its
 * own: the decoders switch between them). */
static void start_words(uint64_t id, size_t first, size_t nph)
{
	Pbx__V1__AsrPhrase ph[NWORDS], *pp[NWORDS];
	char *syn[NWORDS];
	Pbx__V1__AsrStart st = PBX__V1__ASR_START__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	for (size_t i = 0; i < nph; i++) {
		pbx__v1__asr_phrase__init(&ph[i]);
		syn[i] = (char *)WORDS[(first + i) % NWORDS];
		ph[i].name = syn[i];
		ph[i].n_synonyms = 1;
		ph[i].synonyms = &syn[i];
		pp[i] = &ph[i];
	}
	st.stream_id = id;
	st.n_phrases = nph;
	st.phrases = pp;
	st.no_input_ms = 3000;
	st.sample_rate = 8000;
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_START;
	env.asr_start = &st;
	send_env(&env);
}

static void frame(uint64_t id, const int16_t *pcm)
{
	Pbx__V1__AsrAudio au = PBX__V1__ASR_AUDIO__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	uint8_t b[320];

	for (int i = 0; i < 160; i++) {
		b[2 * i] = (uint8_t)((uint16_t)pcm[i] & 0xff);
		b[2 * i + 1] = (uint8_t)((uint16_t)pcm[i] >> 8);
	}
	au.stream_id = id;
	au.pcm.data = b;
	au.pcm.len = sizeof(b);
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_AUDIO;
	env.asr_audio = &au;
	send_env(&env);
}

/* Streams 1..n, stream i saying WORDS[i % NWORDS] among the 3 phrases
 * from it on; frames interleaved, every utterance ending on the same
 * frame (then 500 ms of silence: end of speech on each, close
 * together). */
static void speak_all(size_t n)
{
	int16_t *pcm[16], zero[160] = {0};
	size_t len[16], most = 0, lead[16];

	cr_assert_leq(n, 16);
	for (size_t i = 0; i < n; i++) {
		pcm[i] = say(WORDS[(i + 1) % NWORDS], &len[i]);
		len[i] = (len[i] + 159) / 160;
		most = len[i] > most ? len[i] : most;
		start_words(i + 1, (i + 1) % NWORDS, 3);
	}
	for (size_t i = 0; i < n; i++)
		lead[i] = most - len[i] + 10;
	for (size_t t = 0; t < most + 10 + 25; t++)
		for (size_t i = 0; i < n; i++) {
			size_t k = t - lead[i];

			frame(i + 1, t >= lead[i] && k < len[i]
					     ? pcm[i] + k * 160
					     : zero);
		}
	for (size_t i = 0; i < n; i++)
		free(pcm[i]);
}

/* The FINAL of stream id among the messages, NULL none; *nfinal: how
 * many FINALs in all. */
static const Pbx__V1__AsrResult *final_of(uint64_t id, size_t *nfinal)
{
	const Pbx__V1__AsrResult *r = NULL;

	*nfinal = 0;
	for (size_t i = 0; i < fake_peer_count(fx.worker); i++) {
		const Pbx__V1__Envelope *e = fake_peer_msg(fx.worker, i);

		if (e->body_case != PBX__V1__ENVELOPE__BODY_ASR_RESULT ||
		    e->asr_result->kind != KIND(FINAL))
			continue;
		++*nfinal;
		if (e->asr_result->stream_id == id)
			r = e->asr_result;
	}
	return r;
}

/* Runs the loop until n FINALs came (or ms passed); how many came. */
static size_t wait_finals(size_t n, int ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)ms;
	size_t got;

	for (;;) {
		final_of(0, &got);
		if (got >= n || pbx_clock_mono_ms() >= end)
			return got;
		run_ms(10);
	}
}

static const char *word_of(uint64_t id)
{
	return WORDS[id % NWORDS];
}

TestSuite(asr_sphinx, .fini = teardown, .timeout = 120);

Test(asr_sphinx, many_streams_at_once_each_get_their_final_off_the_loop,
     .init = setup_2_8)
{
	const size_t n = 6;
	size_t got, hb_at = 0, before = 0;

	speak_all(n);
	ping(); /* behind every stream's end of speech on the socket */
	cr_assert_eq(wait_finals(n, 60000), n);
	cr_assert_not_null(
		wait_msg(0, PBX__V1__ENVELOPE__BODY_ASR_HEARTBEAT, 5000));
	for (size_t i = 0; i < fake_peer_count(fx.worker) && !hb_at; i++) {
		const Pbx__V1__Envelope *e = fake_peer_msg(fx.worker, i);

		if (e->body_case == PBX__V1__ENVELOPE__BODY_ASR_HEARTBEAT)
			hb_at = i;
		else if (e->asr_result->kind == KIND(FINAL))
			before++;
	}
	/* The loop answered the ping while the decodes ran: 6 utterances on
	 * 2 threads cannot all be done by then (decoding on the loop, all 6
	 * FINALs came before the heartbeat). */
	cr_assert_lt(before, n, "%zu FINALs before the heartbeat", before);
	for (uint64_t id = 1; id <= n; id++) {
		const Pbx__V1__AsrResult *r = final_of(id, &got);

		cr_assert_not_null(r, "stream %llu", (unsigned long long)id);
		cr_assert_str_eq(r->phrase, word_of(id), "stream %llu heard \"%s\"",
				 (unsigned long long)id, r->text);
		cr_assert_str_eq(r->detail, "");
	}
	cr_assert_eq(bridge_load(fx.bridge), 0);
}

Test(asr_sphinx, streams_stopped_during_their_decode_get_no_answer,
     .init = setup_2_8)
{
	const Pbx__V1__AsrResult *r;
	size_t got;
	char *txt;

	speak_all(3);
	/* Right behind their end of speech: streams 1 and 2 are with the
	 * decode threads (decoding, or queued) when the stops come. */
	stop(1);
	stop(2);
	cr_assert_eq(wait_finals(1, 60000), 1);
	run_ms(500); /* the stopped ones' answers come meanwhile: dropped */
	r = final_of(3, &got);
	cr_assert_eq(got, 1);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->phrase, word_of(3));
	cr_assert_eq(bridge_load(fx.bridge), 0);
	txt = metrics_text();
	cr_assert_not_null(strstr(txt, "pbx_asr_finals_total 1\n"), "%s", txt);
	free(txt);
}

Test(asr_sphinx, a_full_decode_queue_answers_recogniser_busy,
     .init = setup_1_1)
{
	const size_t n = 4;
	size_t got, busy = 0;
	char *txt;

	speak_all(n); /* one thread, one waiting: two of four refused */
	cr_assert_eq(wait_finals(n, 60000), n);
	for (uint64_t id = 1; id <= n; id++) {
		const Pbx__V1__AsrResult *r = final_of(id, &got);

		cr_assert_not_null(r);
		if (!strcmp(r->detail, "recogniser busy")) {
			busy++;
			cr_assert_str_eq(r->phrase, "");
		} else {
			cr_assert_str_eq(r->detail, "");
			cr_assert_str_eq(r->phrase, word_of(id));
		}
	}
	cr_assert_eq(busy, 2);
	cr_assert_eq(bridge_load(fx.bridge), 0);
	txt = metrics_text();
	cr_assert_not_null(strstr(txt, "pbx_asr_decode_refused_total 2\n"),
			   "%s", txt);
	free(txt);
}

Test(asr_sphinx, decodes_under_way_are_cancelled_when_the_bridge_stops,
     .init = setup_1_1)
{
	size_t got;

	speak_all(2);
	ping();
	cr_assert_not_null(
		wait_msg(0, PBX__V1__ENVELOPE__BODY_ASR_HEARTBEAT, 5000));
	final_of(0, &got);
	/* the second waits for the only thread */
	cr_assert_lt(got, 2, "a decode still under way");
	/* teardown frees the bridge now: the thread joined, both turns
	 * answered -ECANCELED to streams gone, nothing leaks (ASan) */
}
