/* services/asr-bridge/bridge.c in one process: the bridge's CURVE-less
 * ROUTER on loopback and a fake worker (a real ZeroMQ DEALER, as a media
 * worker connects) on the same libevent loop; the recogniser is a test
 * backend that answers a fixed text (or fails), so what is asserted is
 * the bridge's part: heartbeats, stream state, endpointing over the bus,
 * the phrase mapping and threshold, refusals, idle streams dropped; and
 * a remote test backend that answers 100 ms later from the loop (as the
 * Vosk adapter does): the turn's url and secret reach it, a stream
 * stopped meanwhile gets no answer, a pending turn is cancelled when the
 * bridge stops. */
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

static void setup(void)
{
	char ep[64];

	pbx_log_init("test", PBX_LOG_WARN);
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%u", test_free_port());
	fx.base = event_base_new();
	fx.zctx = pbx_zmq_ctx_new();
	snprintf(fx.cfg.bridge_id, sizeof(fx.cfg.bridge_id), "asr1");
	snprintf(fx.cfg.listen, sizeof(fx.cfg.listen), "%s", ep);
	fx.cfg.capacity = 2;
	fx.cfg.stream_idle_ms = 400;
	fx.cfg.end_silence_ms = 200;
	fx.cfg.max_utterance_ms = 3000;
	fx.cfg.threshold_db = -40;
	fx.cfg.score_floor = -45;
	fx.cfg.score_ceil = -25;
	fx.tb = calloc(1, sizeof(*fx.tb));
	fx.tb->base.ops = &tb_ops;
	fx.tb->text = "yes please";
	fx.tb->score = -20; /* above the ceiling: acoustic confidence 1 */
	fx.rt = calloc(1, sizeof(*fx.rt));
	fx.rt->base.ops = &rt_ops;
	cr_assert_eq(bridge_alloc(&fx.bridge, fx.base, fx.zctx, &fx.cfg,
				  (struct asr_backend *[]){&fx.tb->base,
							   &fx.rt->base},
				  2),
		     0);
	cr_assert_eq(fake_peer_alloc(&fx.worker, fx.base, fx.zctx, ep, "mw1"),
		     0);
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

Test(asr_bridge, ping_is_answered_with_a_heartbeat)
{
	Pbx__V1__AsrPing ping = PBX__V1__ASR_PING__INIT;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	const Pbx__V1__Envelope *hb;

	ping.worker_id = (char *)"mw1";
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_PING;
	env.asr_ping = &ping;
	send_env(&env);
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
		struct pbx_metrics *m = NULL;
		size_t len;
		char *txt;

		cr_assert_eq(pbx_metrics_alloc(&m, "asr-bridge", ""), 0);
		cr_assert_eq(bridge_metrics_add(fx.bridge, m), 0);
		txt = pbx_metrics_render(m, &len);
		cr_assert_not_null(txt);
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
		pbx_metrics_free(m);
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
