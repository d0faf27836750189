/* Endpointing of one listening turn (asr_stream.h). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "asr_stream.h"

enum { MS_PER_FRAME = 20, LEAD = ASR_LEAD_MS * ASR_RATE / 1000 };

int asr_stream_init(struct asr_stream *s, const struct asr_stream_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	if (!cfg || !cfg->no_input_ms || !cfg->max_utterance_ms ||
	    !cfg->end_silence_ms || cfg->max_utterance_ms > ASR_UTTERANCE_MAX_MS)
		return -EINVAL;
	s->cfg = *cfg;
	s->cap = LEAD + (size_t)cfg->max_utterance_ms * ASR_RATE / 1000 +
		 ASR_FRAME;
	s->pcm = malloc(s->cap * sizeof(*s->pcm));
	return s->pcm ? 0 : -ENOMEM;
}

void asr_stream_release(struct asr_stream *s)
{
	free(s->pcm);
	s->pcm = NULL;
	s->n = s->cap = 0;
}

double asr_stream_frame_db(const int16_t *pcm, size_t n)
{
	double sum = 0;

	if (!n)
		return -120;
	for (size_t i = 0; i < n; i++)
		sum += (double)pcm[i] * pcm[i];
	sum /= (double)n * 32768.0 * 32768.0;
	return sum > 1e-12 ? 10 * log10(sum) : -120;
}

static void keep(struct asr_stream *s, const int16_t *f)
{
	if (s->state == ASR_ST_WAIT && s->n + ASR_FRAME > LEAD) {
		/* Only the lead-in is kept while waiting. */
		size_t drop = s->n + ASR_FRAME - LEAD;

		memmove(s->pcm, s->pcm + drop, (s->n - drop) * sizeof(*f));
		s->n -= drop;
	}
	if (s->n + ASR_FRAME <= s->cap) {
		memcpy(s->pcm + s->n, f, ASR_FRAME * sizeof(*f));
		s->n += ASR_FRAME;
	}
}

static enum asr_stream_ev frame(struct asr_stream *s, const int16_t *f)
{
	bool voiced = asr_stream_frame_db(f, ASR_FRAME) > s->cfg.threshold_db;

	s->ms += MS_PER_FRAME;
	keep(s, f);
	if (s->state == ASR_ST_WAIT) {
		s->voiced_run = voiced ? s->voiced_run + MS_PER_FRAME : 0;
		if (s->voiced_run >= ASR_START_MS) {
			s->state = ASR_ST_SPEECH;
			s->speech_ms = s->voiced_run;
			s->silent_run = 0;
			return ASR_EV_SPEECH_STARTED;
		}
		if (s->ms >= s->cfg.no_input_ms) {
			s->state = ASR_ST_DONE;
			return ASR_EV_NO_INPUT;
		}
		return ASR_EV_NONE;
	}
	s->speech_ms += MS_PER_FRAME;
	s->silent_run = voiced ? 0 : s->silent_run + MS_PER_FRAME;
	if (s->silent_run >= s->cfg.end_silence_ms) {
		s->state = ASR_ST_DONE;
		return ASR_EV_END_OF_SPEECH;
	}
	if (s->speech_ms >= s->cfg.max_utterance_ms) {
		s->state = ASR_ST_DONE;
		return ASR_EV_MAX_UTTERANCE;
	}
	return ASR_EV_NONE;
}

enum asr_stream_ev asr_stream_feed(struct asr_stream *s, const int16_t *pcm,
				   size_t n)
{
	enum asr_stream_ev ev = ASR_EV_NONE, e;

	while (n && s->state != ASR_ST_DONE) {
		size_t take = ASR_FRAME - s->npart;

		if (take > n)
			take = n;
		memcpy(s->part + s->npart, pcm, take * sizeof(*pcm));
		s->npart += take;
		pcm += take;
		n -= take;
		if (s->npart < ASR_FRAME)
			break;
		s->npart = 0;
		e = frame(s, s->part);
		if (e != ASR_EV_NONE)
			ev = e;
	}
	return ev;
}

const int16_t *asr_stream_audio(const struct asr_stream *s, size_t *n)
{
	size_t cut = 0;

	if (s->silent_run > ASR_TAIL_MS)
		cut = (size_t)(s->silent_run - ASR_TAIL_MS) * ASR_RATE / 1000;
	*n = s->n > cut ? s->n - cut : 0;
	return s->pcm;
}

const char *asr_stream_ev_name(enum asr_stream_ev ev)
{
	static const char *const names[] = {
		[ASR_EV_NONE] = "none",
		[ASR_EV_SPEECH_STARTED] = "speech_started",
		[ASR_EV_END_OF_SPEECH] = "end_of_speech",
		[ASR_EV_MAX_UTTERANCE] = "max_utterance",
		[ASR_EV_NO_INPUT] = "no_input",
	};

	return (unsigned)ev < sizeof(names) / sizeof(names[0]) ? names[ev]
								: "?";
}
