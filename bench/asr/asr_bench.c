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

#define HMM "/usr/share/pocketsphinx/model/en-us/en-us"
#define DICT "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

static struct scenario_phrase ph[ASR_PHRASES_MAX];
static const char *syn[ASR_PHRASES_MAX][ASR_SYNONYMS_MAX];
static size_t nph;
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

static int parse_phrases(char *spec)
{
	char *save = NULL, *item;

	for (item = strtok_r(spec, ";", &save); item && nph < ASR_PHRASES_MAX;
	     item = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(item, '='), *s2 = NULL, *w;

		if (!eq)
			return -EINVAL;
		*eq = '\0';
		ph[nph].name = item;
		ph[nph].synonyms = syn[nph];
		for (w = strtok_r(eq + 1, "|", &s2);
		     w && ph[nph].nsynonyms < ASR_SYNONYMS_MAX;
		     w = strtok_r(NULL, "|", &s2))
			syn[nph][ph[nph].nsynonyms++] = w;
		nph++;
	}
	return nph ? 0 : -EINVAL;
}

/* The file with the silences the bridge's endpointing leaves around an
 * utterance (ASR_LEAD_MS before, ASR_TAIL_MS after), zero-filled. */
static int16_t *read_raw(const char *path, size_t *n)
{
	enum { LEAD = ASR_LEAD_MS * 8, TAIL = ASR_TAIL_MS * 8 };
	FILE *f = fopen(path, "rb");
	int16_t *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc((size_t)len / 2 + LEAD + TAIL, 2);
	*n = buf ? fread(buf + LEAD, 2, (size_t)len / 2, f) + LEAD + TAIL : 0;
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct asr_sphinx_cfg cfg = {HMM, DICT, 0};
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
	if (argc - arg < 2 || parse_phrases(argv[arg])) {
		fprintf(stderr, "usage: asr_bench [-f ppm] "
				"\"name=syn|syn;...\" file.raw...\n");
		return 2;
	}
	if (asr_sphinx_alloc(&b, &cfg)) {
		fprintf(stderr, "pocketsphinx: cannot load %s\n", HMM);
		return 1;
	}
	for (int i = arg + 1; i < argc; i++) {
		const char *base = strrchr(argv[i], '/');
		char want[64];
		struct asr_utt u = {
			.phrases = ph, .nphrases = nph, .language = "en-us"};
		double t0, dt, conf;
		int idx;

		base = base ? base + 1 : argv[i];
		snprintf(want, sizeof(want), "%.*s", (int)strcspn(base, "."),
			 base);
		u.pcm = read_raw(argv[i], &u.n);
		if (!u.pcm)
			continue;
		t0 = now_s();
		if (b->ops->recognize(b, &u, done, NULL))
			snprintf(text, sizeof(text), "(refused)");
		dt = now_s() - t0;
		idx = asr_grammar_match(ph, nph, text, &conf);
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
			ok += idx >= 0 && !strcmp(ph[idx].name, want);
		}
		printf("%-28s heard \"%s\" -> %s (%.2f) score %.1f %.1f ms\n",
		       base, text, idx >= 0 ? ph[idx].name : "-", conf, score,
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
