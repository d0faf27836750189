/* The asr benches' inputs (asr_bench.c, asr_load.c): the phrases given
 * on the command line and the espeak-made utterance files. */
#ifndef BENCH_AUDIO_H
#define BENCH_AUDIO_H
#include <stddef.h>
#include <stdint.h>

#include "asr_grammar.h"

struct bench_phrases {
	struct scenario_phrase ph[ASR_PHRASES_MAX];
	const char *syn[ASR_PHRASES_MAX][ASR_SYNONYMS_MAX];
	size_t n;
};

/* "name=syn|syn;name=syn..." (spec is cut in place and must outlive p):
 * 0, or -EINVAL for no phrase or an item without '='. */
int bench_phrases_parse(struct bench_phrases *p, char *spec);

/* A raw 8 kHz signed 16-bit mono file with the silences the bridge's
 * endpointing leaves around an utterance (ASR_LEAD_MS before,
 * ASR_TAIL_MS after), zero-filled; *n samples. NULL if unreadable. */
int16_t *bench_read_raw(const char *path, size_t *n);

/* The phrase a file's name says it holds: its base name up to the first
 * '.' ("none" for out-of-grammar speech). Returns the base name. */
const char *bench_expected(const char *path, char *want, size_t len);

#endif
