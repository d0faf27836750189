/* DTMF de-duplication across RFC 4733 and in-band detection (pure). */
#include <string.h>

#include "dtmf_dedup.h"

void dtmf_dedup_init(struct dtmf_dedup *d)
{
	memset(d, 0, sizeof(*d));
	for (int s = 0; s < DTMF_SRC_N; s++)
		d->cur[s] = -1;
}

/* The newest press of digit from another source that src has not paired
 * with yet and that is still within its window; -1 if none. */
static int find_twin(const struct dtmf_dedup *d, enum dtmf_src src,
		     char digit, uint64_t now_ms)
{
	for (unsigned k = 1; k <= DTMF_DEDUP_HIST; k++) {
		unsigned i = (d->next + DTMF_DEDUP_HIST - k) % DTMF_DEDUP_HIST;
		const struct dtmf_press *p = &d->hist[i];

		if (!p->digit || p->digit != digit || p->seen & (1u << src))
			continue;
		/* A source's clock can only be a little behind the other's:
		 * a press that ended long ago is a different press. */
		if (now_ms <= p->last_ms + DTMF_DEDUP_MARGIN_MS)
			return (int)i;
	}
	return -1;
}

bool dtmf_dedup_press(struct dtmf_dedup *d, enum dtmf_src src, char digit,
		      uint64_t now_ms)
{
	struct dtmf_press *p;
	int i;

	if ((unsigned)src >= DTMF_SRC_N || !digit)
		return false;
	i = find_twin(d, src, digit, now_ms);
	if (i >= 0) {
		p = &d->hist[i];
		p->seen |= (uint8_t)(1u << src);
		if (now_ms > p->last_ms)
			p->last_ms = now_ms;
		d->cur[src] = i;
		return false;
	}
	i = (int)d->next;
	d->next = (d->next + 1) % DTMF_DEDUP_HIST;
	/* The slot's old press is forgotten: no source may extend it. */
	for (int s = 0; s < DTMF_SRC_N; s++)
		if (d->cur[s] == i)
			d->cur[s] = -1;
	p = &d->hist[i];
	p->digit = digit;
	p->seen = (uint8_t)(1u << src);
	p->last_ms = now_ms;
	d->cur[src] = i;
	return true;
}

void dtmf_dedup_alive(struct dtmf_dedup *d, enum dtmf_src src,
		      uint64_t now_ms)
{
	struct dtmf_press *p;

	if ((unsigned)src >= DTMF_SRC_N || d->cur[src] < 0)
		return;
	p = &d->hist[d->cur[src]];
	if (now_ms > p->last_ms)
		p->last_ms = now_ms;
}
