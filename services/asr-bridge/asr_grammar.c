/* The JSGF grammar of one listening turn and the hypothesis → phrase
 * mapping (asr_grammar.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "asr_grammar.h"

/* Short common words (all in cmudict-en-us) that give out-of-grammar
 * speech somewhere to go: without them the search must force every
 * sentence onto a phrase. Words that a synonym uses are left out of the
 * filler, so a phrase is never shadowed by its own words. */
static const char *const filler_words[] = {
	"a",	 "the",	  "is",	   "it",    "to",    "and",  "of",
	"in",	 "that",  "what",  "we",    "she",   "they", "this",
	"was",	 "for",	  "on",	   "with",  "be",    "have", "do",
	"at",	 "but",	  "so",	   "if",    "my",    "can",  "will",
	"how",	 "why",	  "when",  "where", "there", "here", "go",
	"get",	 "make",  "think", "see",   "come",  "look", "day",
	"time",	 "good",  "nice",  "well",  "just",  "like", "some",
	"weather", "today", "city", "tell", "red",   "blue", "green",
};

struct out {
	char *buf;
	size_t size, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

static bool is_sep(unsigned char c)
{
	return c < 0x80 && c != '\'' && !(c >= 'a' && c <= 'z') &&
	       !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9');
}

int asr_grammar_words(const char *text, char words[][ASR_WORD_MAX],
		      size_t max)
{
	size_t n = 0, len = 0;
	const unsigned char *p = (const unsigned char *)text;

	for (;; p++) {
		if (!*p || is_sep(*p)) {
			if (len) {
				words[n][len] = '\0';
				/* Apostrophes only inside a word. */
				while (len && words[n][len - 1] == '\'')
					words[n][--len] = '\0';
				if (len && words[n][0] == '\'')
					memmove(words[n], words[n] + 1, len--);
				if (len)
					n++;
				len = 0;
			}
			if (!*p)
				return (int)n;
			continue;
		}
		if (!len && n >= max)
			return -E2BIG;
		if (len + 1 >= ASR_WORD_MAX)
			return -E2BIG;
		words[n][len++] = (char)((*p >= 'A' && *p <= 'Z')
						 ? *p - 'A' + 'a'
						 : *p);
	}
}

/* One synonym as a JSGF sequence; false when the dictionary lacks one
 * of its words (nothing written then). -EINVAL for a bad synonym. */
static int put_synonym(struct out *o, const char *syn,
		       asr_word_known_h *known, void *arg)
{
	char w[ASR_WORDS_MAX][ASR_WORD_MAX];
	int n = asr_grammar_words(syn, w, ASR_WORDS_MAX);

	if (n == -E2BIG)
		return 0; /* too many or too long words: left out as unknown */
	if (n <= 0)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (known && !known(w[i], arg))
			return 0;
	for (int i = 0; i < n; i++)
		put(o, "%s%s", i ? " " : "", w[i]);
	return 1;
}

static bool synonym_uses(const struct scenario_phrase *phrases, size_t n,
			 const char *word)
{
	char w[ASR_WORDS_MAX][ASR_WORD_MAX];

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < phrases[i].nsynonyms; k++) {
			int m = asr_grammar_words(phrases[i].synonyms[k], w,
						  ASR_WORDS_MAX);

			for (int j = 0; j < m; j++)
				if (!strcmp(w[j], word))
					return true;
		}
	}
	return false;
}

int asr_grammar_build(const struct scenario_phrase *phrases, size_t n,
		      double filler_weight, asr_word_known_h *known,
		      void *arg, char *buf, size_t size,
		      struct asr_grammar_stats *stats)
{
	struct out o = {.buf = buf, .size = size};
	struct asr_grammar_stats st = {0};
	bool used[ASR_PHRASES_MAX] = {false};
	size_t nfill = 0;

	if (!phrases || !n || n > ASR_PHRASES_MAX || !buf || !size)
		return -EINVAL;
	buf[0] = '\0';
	put(&o, "#JSGF V1.0;\ngrammar asr;\n");
	for (size_t i = 0; i < n; i++) {
		size_t kept = 0, start = o.len;

		if (!phrases[i].nsynonyms ||
		    phrases[i].nsynonyms > ASR_SYNONYMS_MAX)
			return -EINVAL;
		put(&o, "<p%zu> = ", i);
		for (size_t k = 0; k < phrases[i].nsynonyms; k++) {
			size_t mark = o.len;
			int r;

			if (kept)
				put(&o, " | ");
			r = put_synonym(&o, phrases[i].synonyms[k], known, arg);
			if (r < 0)
				return r;
			if (!r) {
				o.len = mark; /* drop the " | " too */
				buf[o.len] = '\0';
				st.dropped++;
				continue;
			}
			kept++;
		}
		if (!kept) {
			/* A phrase the dictionary cannot say: a rule that
			 * matches nothing would make the grammar invalid. */
			o.len = start;
			buf[o.len] = '\0';
			continue;
		}
		used[i] = true;
		st.synonyms += kept;
		put(&o, ";\n");
	}
	if (!st.synonyms)
		return -EINVAL;
	if (filler_weight > 0) {
		put(&o, "<filler> = ");
		for (size_t i = 0;
		     i < sizeof(filler_words) / sizeof(filler_words[0]); i++) {
			if (synonym_uses(phrases, n, filler_words[i]) ||
			    (known && !known(filler_words[i], arg)))
				continue;
			put(&o, "%s%s", nfill ? " | " : "", filler_words[i]);
			nfill++;
		}
		put(&o, ";\n");
	}
	put(&o, "public <utt> = ");
	if (nfill)
		put(&o, "/1/ (");
	for (size_t i = 0, k = 0; i < n; i++)
		if (used[i])
			put(&o, "%s<p%zu>", k++ ? " | " : "", i);
	if (nfill)
		put(&o, ") | /%.9f/ <filler>+", filler_weight);
	put(&o, ";\n");
	if (o.full)
		return -ENOSPC;
	if (stats)
		*stats = st;
	return (int)o.len;
}

int asr_grammar_match(const struct scenario_phrase *phrases, size_t n,
		      const char *hyp, double *confidence)
{
	char hw[64][ASR_WORD_MAX], sw[ASR_WORDS_MAX][ASR_WORD_MAX];
	int nh, best = -1, idx;

	*confidence = 0;
	if (!hyp || !phrases || !n)
		return -1;
	nh = asr_grammar_words(hyp, hw, 64);
	if (nh <= 0)
		return -1;
	idx = scenario_walk_phrase_match(phrases, n, hyp);
	if (idx < 0)
		return -1;
	/* The longest synonym of that phrase found as a word run. */
	for (size_t k = 0; k < phrases[idx].nsynonyms; k++) {
		int ns = asr_grammar_words(phrases[idx].synonyms[k], sw,
					   ASR_WORDS_MAX);

		for (int s = 0; ns > 0 && s + ns <= nh; s++) {
			int j = 0;

			while (j < ns && !strcmp(hw[s + j], sw[j]))
				j++;
			if (j == ns && ns > best)
				best = ns;
		}
	}
	/* scenario_walk_phrase_match is the judge; the run only measures. */
	*confidence = best > 0 ? (double)best / nh : 1.0 / nh;
	return idx;
}

double asr_grammar_acoustic(double score, double floor, double ceil)
{
	double c;

	if (ceil <= floor)
		return 1;
	c = (score - floor) / (ceil - floor);
	return c < 0 ? 0 : c > 1 ? 1 : c;
}
