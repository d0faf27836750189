/* The recogniser's grammar for one listening turn: a JSGF grammar made
 * from the node's phrases and synonyms, plus a filler path of common
 * short words that out-of-grammar speech can take instead of being forced
 * onto a phrase; and the mapping of a hypothesis back to a phrase with a
 * confidence. Pure: no recogniser, no I/O (asr_sphinx.c uses it). */
#ifndef ASR_GRAMMAR_H
#define ASR_GRAMMAR_H
#include <stdbool.h>
#include <stddef.h>

#include "scenario_walk.h"

enum {
	ASR_PHRASES_MAX = SCENARIO_PHRASES_MAX,	  /* phrases per turn */
	ASR_SYNONYMS_MAX = SCENARIO_SYNONYMS_MAX, /* synonyms per phrase */
	ASR_WORDS_MAX = 12,    /* words per synonym */
	ASR_WORD_MAX = 32,     /* characters per word */
	ASR_GRAMMAR_MAX = 16384,
};

/* Does the recogniser's dictionary know word (lower case)? */
typedef bool(asr_word_known_h)(const char *word, void *arg);

/* What asr_grammar_build left out (a synonym with a word the dictionary
 * does not know: that synonym only). */
struct asr_grammar_stats {
	size_t synonyms; /* synonyms in the grammar */
	size_t dropped;	 /* synonyms left out */
};

/* Writes the JSGF grammar for phrases into buf: rule <p<i>> per phrase
 * (its synonyms, each normalised by asr_grammar_words), and
 * public <utt> = <p0> | ... | /filler_weight/ <filler>+ when filler_weight
 * > 0. Returns the length, -EINVAL (no phrase, too many phrases or
 * synonyms, a synonym too long, no synonym left at all), -ENOSPC. */
int asr_grammar_build(const struct scenario_phrase *phrases, size_t n,
		      double filler_weight, asr_word_known_h *known,
		      void *arg, char *buf, size_t size,
		      struct asr_grammar_stats *stats);

/* The words of text for the grammar: ASCII letters lower-cased, Cyrillic
 * and other UTF-8 bytes kept, apostrophes kept inside a word, anything
 * else a separator. Writes at most max words into words; returns their
 * count, or -E2BIG (more than max words or a word longer than
 * ASR_WORD_MAX - 1). */
int asr_grammar_words(const char *text, char words[][ASR_WORD_MAX],
		      size_t max);

/* A hypothesis mapped to a phrase: the phrase index or -1, and the
 * confidence: the share of the hypothesis's words that belong to the
 * synonym matched (1.0 when the caller said only the synonym, less when
 * filler words came with it, 0 when nothing matched). */
int asr_grammar_match(const struct scenario_phrase *phrases, size_t n,
		      const char *hyp, double *confidence);

/* The acoustic confidence of the embedded recogniser: its score per
 * frame mapped linearly from floor (0) to ceil (1), clamped. */
double asr_grammar_acoustic(double score, double floor, double ceil);

#endif
