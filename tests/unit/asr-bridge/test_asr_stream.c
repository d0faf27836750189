/* services/asr-bridge/asr_stream.c: endpointing timed by the audio: start
 * of speech after 60 ms voiced, end after the silence, the longest
 * utterance, no input, the lead-in kept, frames split across feeds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "asr_stream.h"
#include "pbx_test.h"

static struct asr_stream s;
static const struct asr_stream_cfg cfg = {
	.no_input_ms = 1000,
	.max_utterance_ms = 2000,
	.end_silence_ms = 400,
	.threshold_db = -40,
};

static void fini(void)
{
	asr_stream_release(&s);
	pbx_test_fini();
}
TestSuite(asr_stream, .fini = fini);

/* ms of a 440 Hz tone at -10 dBFS (voiced) or of digital silence;
 * returns the last event other than NONE. */
static enum asr_stream_ev feed(int ms, bool voiced)
{
	enum asr_stream_ev last = ASR_EV_NONE, e;
	int16_t f[ASR_FRAME];

	for (int t = 0; t < ms / 20; t++) {
		for (int i = 0; i < ASR_FRAME; i++)
			f[i] = voiced ? (int16_t)(10362 *
						  sin(2 * M_PI * 440 *
						      (t * ASR_FRAME + i) /
						      8000.0))
				      : 0;
		e = asr_stream_feed(&s, f, ASR_FRAME);
		if (e != ASR_EV_NONE)
			last = e;
	}
	return last;
}

Test(asr_stream, speech_then_silence_ends_the_utterance)
{
	size_t n;

	cr_assert_eq(asr_stream_init(&s, &cfg), 0);
	cr_assert_eq(feed(500, false), ASR_EV_NONE);
	cr_assert_eq(feed(40, true), ASR_EV_NONE);
	cr_assert_eq(feed(20, true), ASR_EV_SPEECH_STARTED);
	cr_assert_eq(s.state, ASR_ST_SPEECH);
	cr_assert_eq(feed(600, true), ASR_EV_NONE);
	cr_assert_eq(feed(380, false), ASR_EV_NONE);
	cr_assert_eq(feed(20, false), ASR_EV_END_OF_SPEECH);
	cr_assert_eq(s.state, ASR_ST_DONE);
	/* Lead-in (300 ms, the start's 60 ms included) + 600, and of the
	 * 400 ms of silence only ASR_TAIL_MS. */
	asr_stream_audio(&s, &n);
	cr_assert_eq(n, (size_t)(300 + 600 + ASR_TAIL_MS) * 8);
	cr_assert_eq(feed(200, true), ASR_EV_NONE);
}

Test(asr_stream, short_noise_is_not_speech)
{
	cr_assert_eq(asr_stream_init(&s, &cfg), 0);
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(feed(40, true), ASR_EV_NONE);
		cr_assert_eq(feed(20, false), ASR_EV_NONE);
	}
	cr_assert_eq(s.state, ASR_ST_WAIT);
}

Test(asr_stream, nothing_heard_is_no_input)
{
	cr_assert_eq(asr_stream_init(&s, &cfg), 0);
	cr_assert_eq(feed(980, false), ASR_EV_NONE);
	cr_assert_eq(feed(20, false), ASR_EV_NO_INPUT);
	cr_assert_eq(feed(100, true), ASR_EV_NONE);
}

Test(asr_stream, endless_speech_is_cut_at_max_utterance)
{
	cr_assert_eq(asr_stream_init(&s, &cfg), 0);
	cr_assert_eq(feed(60, true), ASR_EV_SPEECH_STARTED);
	cr_assert_eq(feed(1920, true), ASR_EV_NONE);
	cr_assert_eq(feed(20, true), ASR_EV_MAX_UTTERANCE);
}

Test(asr_stream, frames_split_across_feeds_count_once)
{
	int16_t tone[ASR_FRAME * 3];

	for (size_t i = 0; i < sizeof(tone) / sizeof(tone[0]); i++)
		tone[i] = (int16_t)(10362 * sin(2 * M_PI * 440 * i / 8000.0));
	cr_assert_eq(asr_stream_init(&s, &cfg), 0);
	cr_assert_eq(asr_stream_feed(&s, tone, 100), ASR_EV_NONE);
	cr_assert_eq(asr_stream_feed(&s, tone + 100, 300), ASR_EV_NONE);
	cr_assert_eq(s.ms, 40);
	cr_assert_eq(asr_stream_feed(&s, tone + 400, 80),
		     ASR_EV_SPEECH_STARTED);
}

Test(asr_stream, bad_bounds_are_refused)
{
	struct asr_stream_cfg c = cfg;

	c.end_silence_ms = 0;
	cr_assert_eq(asr_stream_init(&s, &c), -EINVAL);
	c = cfg;
	c.max_utterance_ms = ASR_UTTERANCE_MAX_MS + 1;
	cr_assert_eq(asr_stream_init(&s, &c), -EINVAL);
}

Test(asr_stream, frame_energy)
{
	int16_t f[ASR_FRAME] = {0};

	cr_assert_float_eq(asr_stream_frame_db(f, ASR_FRAME), -120, 1e-9);
	for (int i = 0; i < ASR_FRAME; i++)
		f[i] = (i & 1) ? 3277 : -3277; /* -20 dBFS square */
	cr_assert_float_eq(asr_stream_frame_db(f, ASR_FRAME), -20, 0.01);
}
