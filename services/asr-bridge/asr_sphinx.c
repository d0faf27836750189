/* The embedded recogniser: pocketsphinx 0.8+5prealpha (Debian) with the
 * en-us 16 kHz model. One decoder per bridge process, driven from the
 * loop between utterances; each utterance gets the grammar of its turn
 * (asr_grammar.c) and is upsampled 8 → 16 kHz (libsamplerate) first:
 * the 16 kHz model on upsampled telephone audio recognised 56/64 test
 * phrases, the model at 8 kHz almost none (/work/shared/notes/media.md).
 */
#include <errno.h>
#include <pocketsphinx.h>
#include <sphinxbase/jsgf.h>
#include <samplerate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asr_backend.h"
#include "asr_grammar.h"
#include "pbx_log.h"

struct sphinx {
	struct asr_backend base; /* first: the backend's handle */
	ps_decoder_t *ps;
	cmd_ln_t *cfg;
	double filler_weight;
	unsigned gen; /* alternates the search names */
	char grammar[ASR_GRAMMAR_MAX];
	char current[ASR_GRAMMAR_MAX]; /* the grammar set now: "" none */
	float *fin, *fout;
	int16_t *pcm16;
	size_t cap; /* samples at 8 kHz the buffers hold */
};

static bool known(const char *word, void *arg)
{
	char *pron = ps_lookup_word(arg, word);

	if (!pron)
		return false;
	ckd_free(pron);
	return true;
}

static int grow(struct sphinx *s, size_t n)
{
	float *fin, *fout;
	int16_t *p;

	if (n <= s->cap)
		return 0;
	fin = realloc(s->fin, n * sizeof(*fin));
	if (fin)
		s->fin = fin;
	fout = realloc(s->fout, 2 * n * sizeof(*fout) + 64);
	if (fout)
		s->fout = fout;
	p = realloc(s->pcm16, 2 * n * sizeof(*p) + 32);
	if (p)
		s->pcm16 = p;
	if (!fin || !fout || !p)
		return -ENOMEM;
	s->cap = n;
	return 0;
}

/* Makes s->grammar the decoder's search (unless it is already). Parsed
 * here rather than with ps_set_jsgf_string, which in 0.8+5prealpha never
 * frees the parsed grammar (a leak per call). A new search name each
 * time, the old one unset after the switch: replacing the current search
 * in place would free it under the decoder. */
static int grammar_set(struct sphinx *s)
{
	char name[8], old[8];
	jsgf_rule_t *rule;
	fsg_model_t *fsg = NULL;
	jsgf_t *g;
	int err = -EINVAL;

	if (!strcmp(s->grammar, s->current))
		return 0;
	g = jsgf_parse_string(s->grammar, NULL);
	rule = g ? jsgf_get_public_rule(g) : NULL;
	if (rule)
		fsg = jsgf_build_fsg(g, rule, ps_get_logmath(s->ps),
				     (float32)cmd_ln_float32_r(s->cfg, "-lw"));
	snprintf(old, sizeof(old), "g%u", s->gen & 1);
	snprintf(name, sizeof(name), "g%u", ++s->gen & 1);
	if (fsg && !ps_set_fsg(s->ps, name, fsg) &&
	    !ps_set_search(s->ps, name)) {
		if (s->gen > 1)
			ps_unset_search(s->ps, old);
		memcpy(s->current, s->grammar, sizeof(s->current));
		err = 0;
	} else {
		s->current[0] = '\0';
	}
	if (fsg)
		fsg_model_free(fsg);
	if (g)
		jsgf_grammar_free(g);
	return err;
}

/* 8 → 16 kHz; returns the samples written to s->pcm16 or an error. */
static long upsample(struct sphinx *s, const int16_t *pcm, size_t n)
{
	SRC_DATA d = {0};
	int err;

	if (grow(s, n))
		return -ENOMEM;
	src_short_to_float_array(pcm, s->fin, (int)n);
	d.data_in = s->fin;
	d.input_frames = (long)n;
	d.data_out = s->fout;
	d.output_frames = (long)(2 * n + 16);
	d.src_ratio = 2.0;
	err = src_simple(&d, SRC_SINC_FASTEST, 1);
	if (err) {
		PLOG_WARN("resampler: %s", src_strerror(err));
		return -EIO;
	}
	src_float_to_short_array(s->fout, s->pcm16, (int)d.output_frames_gen);
	return d.output_frames_gen;
}

static int sphinx_recognize(struct asr_backend *b, const struct asr_utt *u,
			    asr_done_h *done, void *arg)
{
	struct sphinx *s = (struct sphinx *)b;
	struct asr_grammar_stats st;
	struct asr_hyp h = {0};
	const char *hyp;
	int32 score;
	long n16;
	int len;

	len = asr_grammar_build(u->phrases, u->nphrases, s->filler_weight,
				known, s->ps, s->grammar, sizeof(s->grammar),
				&st);
	if (len < 0)
		return len;
	if (st.dropped)
		PLOG_INFO("grammar: %zu synonym(s) left out (words the "
			  "dictionary does not know)",
			  st.dropped);
	n16 = upsample(s, u->pcm, u->n);
	if (n16 < 0)
		return (int)n16;
	if (grammar_set(s)) {
		PLOG_WARN("pocketsphinx refused the grammar");
		return -EINVAL;
	}
	if (ps_start_utt(s->ps) < 0 ||
	    ps_process_raw(s->ps, s->pcm16, (size_t)n16, FALSE, TRUE) < 0 ||
	    ps_end_utt(s->ps) < 0) {
		PLOG_WARN("pocketsphinx failed on the utterance");
		return -EIO;
	}
	hyp = ps_get_hyp(s->ps, &score);
	h.text = hyp ? hyp : "";
	/* The path's acoustic score per 10 ms frame (its log units): speech
	 * forced onto a phrase it is not scores lower per frame than the
	 * phrase said (docs/services/asr-bridge.md, "Confidence"). */
	h.score = (double)score / (ps_get_n_frames(s->ps) ? ps_get_n_frames(s->ps) : 1);
	done(0, &h, arg);
	return 0;
}

static void sphinx_free(struct asr_backend *b)
{
	struct sphinx *s = (struct sphinx *)b;

	if (!s)
		return;
	if (s->ps)
		ps_free(s->ps);
	if (s->cfg)
		cmd_ln_free_r(s->cfg);
	free(s->fin);
	free(s->fout);
	free(s->pcm16);
	free(s);
}

static const struct asr_backend_ops sphinx_ops = {
	.name = "pocketsphinx",
	.free = sphinx_free,
	.recognize = sphinx_recognize,
};

int asr_sphinx_alloc(struct asr_backend **bp, const struct asr_sphinx_cfg *cfg)
{
	struct sphinx *s;

	if (access(cfg->hmm, R_OK) || access(cfg->dict, R_OK))
		return -ENOENT;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &sphinx_ops;
	s->filler_weight = cfg->filler_weight;
	s->cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", cfg->hmm, "-dict",
			     cfg->dict, "-logfn", "/dev/null", "-dither", "yes", NULL);
	if (s->cfg)
		s->ps = ps_init(s->cfg);
	if (!s->ps) {
		sphinx_free(&s->base);
		return -EIO;
	}
	*bp = &s->base;
	return 0;
}
