/* The embedded recogniser's cost and accuracy on telephone audio: each
 * file (raw 8 kHz signed 16-bit mono, the name's stem up to the first '.'
 * being the phrase expected, "none" for out-of-grammar speech) is
 * recognised with the grammar of the phrases given, through the same
 * backend and phrase mapping the bridge uses. Prints one line per file
 * and a summary: intent accuracy, false accepts, real-time factor, and
 * the end-of-speech → result latency (the whole utterance is decoded
 * at its end, as the bridge does).
 *
 *   asr_bench [-f filler_ppm] [-c confidence] "name=syn|syn;..." file...
 *
 * A phrase counts as heard when its confidence (the bridge's: share of
 * the words times the acoustic confidence) reaches -c (0.5, a node's
 * default).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr_backend.h"
#include "asr_grammar.h"
#include "asr_stream.h"
#include "bench_audio.h"

#define HMM "/usr/share/pocketsphinx/model/en-us/en-us"
#define DICT "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

static struct bench_phrases P;
static char text[512];
static double score;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void done(int err, const struct asr_hyp *h, void *arg)
{
	(void)arg;
	snprintf(text, sizeof(text), "%s", err ? "(error)" : h->text);
	score = err ? 0 : h->score;
}

int main(int argc, char **argv)
{
	struct asr_sphinx_cfg cfg = {.hmm = HMM, .dict = DICT};
	double threshold = 0.5; /* a node's default confidence */
	struct asr_backend *b;
	double audio_s = 0, cpu_s = 0, worst = 0;
	int ok = 0, total = 0, fa = 0, neg = 0, arg = 1;

	while (argc - arg > 2 && argv[arg][0] == '-') {
		if (!strcmp(argv[arg], "-f"))
			cfg.filler_weight = atof(argv[arg + 1]) / 1e6;
		else if (!strcmp(argv[arg], "-c"))
			threshold = atof(argv[arg + 1]);
		arg += 2;
	}
	if (argc - arg < 2 || bench_phrases_parse(&P, argv[arg])) {
		fprintf(stderr, "usage: asr_bench [-f ppm] "
				"\"name=syn|syn;...\" file.raw...\n");
		return 2;
	}
	if (asr_sphinx_alloc(&b, NULL, &cfg)) { /* inline: no threads */
		fprintf(stderr, "pocketsphinx: cannot load %s\n", HMM);
		return 1;
	}
	for (int i = arg + 1; i < argc; i++) {
		char want[64];
		const char *base = bench_expected(argv[i], want, sizeof(want));
		struct asr_utt u = {
			.phrases = P.ph, .nphrases = P.n, .language = "en-us"};
		double t0, dt, conf;
		int idx;

		u.pcm = bench_read_raw(argv[i], &u.n);
		if (!u.pcm)
			continue;
		t0 = now_s();
		if (b->ops->recognize(b, &u, done, NULL))
			snprintf(text, sizeof(text), "(refused)");
		dt = now_s() - t0;
		idx = asr_grammar_match(P.ph, P.n, text, &conf);
		/* As the bridge does, with its default score_floor/ceil. */
		conf *= asr_grammar_acoustic(score, -45, -25);
		if (conf < threshold)
			idx = -1;
		audio_s += u.n / 8000.0;
		cpu_s += dt;
		if (dt > worst)
			worst = dt;
		total++;
		if (!strcmp(want, "none")) {
			neg++;
			fa += idx >= 0;
		} else {
			ok += idx >= 0 && !strcmp(P.ph[idx].name, want);
		}
		printf("%-28s heard \"%s\" -> %s (%.2f) score %.1f %.1f ms\n",
		       base, text, idx >= 0 ? P.ph[idx].name : "-", conf, score,
		       dt * 1000);
		free((void *)u.pcm);
	}
	printf("confidence >= %.2f: intent %d/%d, out-of-grammar accepted "
	       "%d/%d, RTF %.4f, "
	       "end-of-speech to result worst %.1f ms\n",
	       threshold, ok, total - neg, fa, neg, audio_s ? cpu_s / audio_s : 0,
	       worst * 1000);
	asr_backend_free(b);
	return 0;
}
