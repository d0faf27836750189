/* Phrase matching for the voice assistant: folds text (case, Cyrillic
 * case and ё, punctuation, spaces) and finds which expected phrase a
 * recognised utterance says, by whole synonym or whole word sequence.
 * Lint uses the same folding to find synonyms shared by two phrases. */
#include <string.h>

#include "scenario_internal.h"
#include "scenario_walk.h"

#define FOLD_MAX 256

void scenario_text_fold(const char *in, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0;
	bool space = false;

	if (!size)
		return;
	while (*p && n + 3 < size) {
		unsigned char c = *p;

		if (c < 0x80) {
			p++;
			if ((c >= 'A' && c <= 'Z'))
				c = (unsigned char)(c - 'A' + 'a');
			if (!((c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9'))) {
				space = n > 0;
				continue;
			}
			if (space)
				out[n++] = ' ';
			space = false;
			out[n++] = (char)c;
			continue;
		}
		if (space)
			out[n++] = ' ';
		space = false;
		/* Cyrillic capitals U+0410..U+042F and Ё/ё fold to small
		 * letters, ё to е, so "Продажи" and "продажи" match. */
		if (c == 0xD0 && p[1] >= 0x90 && p[1] <= 0x9F) {
			out[n++] = (char)0xD0;
			out[n++] = (char)(p[1] + 0x20);
			p += 2;
		} else if (c == 0xD0 && p[1] >= 0xA0 && p[1] <= 0xAF) {
			out[n++] = (char)0xD1;
			out[n++] = (char)(p[1] - 0x20);
			p += 2;
		} else if ((c == 0xD0 && p[1] == 0x81) ||
			   (c == 0xD1 && p[1] == 0x91)) {
			out[n++] = (char)0xD0;
			out[n++] = (char)0xB5;
			p += 2;
		} else {
			out[n++] = (char)c;
			p++;
		}
	}
	out[n] = '\0';
}

/* Is needle a whole word sequence of hay? Both folded. */
static bool has_words(const char *hay, const char *needle)
{
	size_t nl = strlen(needle);

	if (!nl)
		return false;
	for (const char *p = strstr(hay, needle); p;
	     p = strstr(p + 1, needle)) {
		if ((p == hay || p[-1] == ' ') &&
		    (p[nl] == '\0' || p[nl] == ' '))
			return true;
	}
	return false;
}

int scenario_walk_phrase_match(const struct scenario_phrase *phrases, size_t n,
			       const char *text)
{
	char t[FOLD_MAX], s[FOLD_MAX];

	if (!phrases || !text)
		return -1;
	scenario_text_fold(text, t, sizeof(t));
	if (!t[0])
		return -1;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < phrases[i].nsynonyms; k++) {
			scenario_text_fold(phrases[i].synonyms[k], s,
					   sizeof(s));
			if (has_words(t, s))
				return (int)i;
		}
	}
	return -1;
}
