/* One listening turn's endpointing: the caller's 8 kHz audio in 20 ms
 * frames → start of speech, end of speech (a silence after it, or the
 * longest utterance), or no input. Energy-based, timed by the audio
 * itself (frames counted, never the clock), so a test feeds it and knows
 * exactly what comes out. Keeps the utterance (with a short lead-in from
 * before the start) for the recogniser. */
#ifndef ASR_STREAM_H
#define ASR_STREAM_H
#include <stddef.h>
#include <stdint.h>

enum {
	ASR_RATE = 8000,
	ASR_FRAME = 160,      /* samples per 20 ms */
	ASR_LEAD_MS = 300,    /* audio kept from before the start */
	ASR_START_MS = 60,    /* voiced this long in a row: speech */
	ASR_TAIL_MS = 200,    /* silence kept after the last voiced frame */
	ASR_UTTERANCE_MAX_MS = 30000,
};

struct asr_stream_cfg {
	uint32_t no_input_ms;	   /* from the stream's start */
	uint32_t max_utterance_ms; /* from the start of speech */
	uint32_t end_silence_ms;   /* silence that ends speech */
	double threshold_db;	   /* a frame above it (dBFS) is voiced */
};

enum asr_stream_state { ASR_ST_WAIT, ASR_ST_SPEECH, ASR_ST_DONE };

enum asr_stream_ev {
	ASR_EV_NONE,
	ASR_EV_SPEECH_STARTED,
	ASR_EV_END_OF_SPEECH, /* the utterance is complete: decode it */
	ASR_EV_MAX_UTTERANCE, /* ... cut at max_utterance_ms */
	ASR_EV_NO_INPUT,
};

/* Owned by its bridge stream. */
struct asr_stream {
	struct asr_stream_cfg cfg;
	enum asr_stream_state state;
	uint32_t ms;	     /* audio received, ms */
	uint32_t speech_ms;  /* since the start of speech */
	uint32_t voiced_run; /* ms voiced in a row */
	uint32_t silent_run; /* ms silent in a row (in speech) */
	int16_t *pcm;	     /* lead-in + utterance */
	size_t n, cap;	     /* samples */
	int16_t part[ASR_FRAME];
	size_t npart; /* samples of an incomplete frame */
};

/* 0, -EINVAL (a bound is 0 or max_utterance_ms > ASR_UTTERANCE_MAX_MS),
 * -ENOMEM. */
int asr_stream_init(struct asr_stream *s, const struct asr_stream_cfg *cfg);
void asr_stream_release(struct asr_stream *s);

/* Feeds n samples (any count; counted in whole 20 ms frames). Returns
 * the first event that happened in them (a frame that starts speech and
 * a later one that ends it in the same call: both states are taken, the
 * later event returned; SPEECH_STARTED is then implied). After an end
 * (DONE) it returns NONE and keeps nothing more. */
enum asr_stream_ev asr_stream_feed(struct asr_stream *s, const int16_t *pcm,
				   size_t n);

/* The utterance so far (valid until the next feed or release): the
 * lead-in, the speech, and at most ASR_TAIL_MS of the silence after it
 * (the recogniser's scores per frame are then comparable whatever
 * end_silence_ms is). */
const int16_t *asr_stream_audio(const struct asr_stream *s, size_t *n);

/* Energy of a frame in dBFS (-120 for digital silence). */
double asr_stream_frame_db(const int16_t *pcm, size_t n);

const char *asr_stream_ev_name(enum asr_stream_ev ev);

#endif
