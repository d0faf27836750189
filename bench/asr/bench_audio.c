/* The asr benches' inputs: phrases and utterance files (bench_audio.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr_stream.h"
#include "bench_audio.h"

int bench_phrases_parse(struct bench_phrases *p, char *spec)
{
	char *save = NULL, *item;

	for (item = strtok_r(spec, ";", &save); item && p->n < ASR_PHRASES_MAX;
	     item = strtok_r(NULL, ";", &save)) {
		struct scenario_phrase *ph = &p->ph[p->n];
		char *eq = strchr(item, '='), *s2 = NULL, *w;

		if (!eq)
			return -EINVAL;
		*eq = '\0';
		ph->name = item;
		ph->synonyms = p->syn[p->n];
		for (w = strtok_r(eq + 1, "|", &s2);
		     w && ph->nsynonyms < ASR_SYNONYMS_MAX;
		     w = strtok_r(NULL, "|", &s2))
			p->syn[p->n][ph->nsynonyms++] = w;
		p->n++;
	}
	return p->n ? 0 : -EINVAL;
}

int16_t *bench_read_raw(const char *path, size_t *n)
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
	buf = len > 0 ? calloc((size_t)len / 2 + LEAD + TAIL, 2) : NULL;
	*n = buf ? fread(buf + LEAD, 2, (size_t)len / 2, f) + LEAD + TAIL : 0;
	fclose(f);
	return buf;
}

const char *bench_expected(const char *path, char *want, size_t len)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	snprintf(want, len, "%.*s", (int)strcspn(base, "."), base);
	return base;
}
