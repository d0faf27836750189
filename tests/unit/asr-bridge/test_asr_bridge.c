/* services/asr-bridge/bridge.c in one process: the bridge's CURVE-less
 * ROUTER on loopback and a fake worker (a real ZeroMQ DEALER, as a media
 * worker connects) on the same libevent loop; the recogniser is a test
 * backend that answers a fixed text (or fails), so what is asserted is
 * the bridge's part: heartbeats, stream state, endpointing over the bus,
 * the phrase mapping and threshold, refusals, idle streams dropped. */
#include <criterion/criterion.h>
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

static struct {
	struct event_base *base;
	void *zctx;
	struct fake_peer *worker; /* a media worker's DEALER */
	struct bridge_config cfg;
	struct bridge *bridge;
	struct test_backend *tb;
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
	cr_assert_eq(bridge_alloc(&fx.bridge, fx.base, fx.zctx, &fx.cfg,
				  (struct asr_backend *[]){&fx.tb->base}, 1),
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

static void start(uint64_t id, double confidence)
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
	env.body_case = PBX__V1__ENVELOPE__BODY_ASR_START;
	env.asr_start = &st;
	send_env(&env);
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
	cr_assert_str_eq(hb->asr_heartbeat->backends, "test");
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
