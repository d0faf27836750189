/* G.711 law helpers: transcoding tables, linear decode/encode. */
#include <stdbool.h>
#include <string.h>

#include <spandsp.h>

#include "mwlaw.h"

static uint8_t ulaw2alaw[256];
static uint8_t alaw2ulaw[256];
static int16_t lin[2][256]; /* [law == OFFER_ALAW][byte] */
static bool tables_ready;

/* The worker has one thread; the tables are built on first use rather
 * than at start so that tests and tools need no init call. */
static void tables_build(void)
{
	for (int i = 0; i < 256; i++) {
		ulaw2alaw[i] = ulaw_to_alaw((uint8_t)i);
		alaw2ulaw[i] = alaw_to_ulaw((uint8_t)i);
		lin[0][i] = ulaw_to_linear((uint8_t)i);
		lin[1][i] = alaw_to_linear((uint8_t)i);
	}
	tables_ready = true;
}

void mwlaw_transcode(uint8_t *dst, const uint8_t *src, size_t n,
		     enum offer_law from, enum offer_law to)
{
	const uint8_t *t;

	if (from == to) {
		if (dst != src)
			memmove(dst, src, n);
		return;
	}
	if (!tables_ready)
		tables_build();
	t = from == OFFER_ULAW ? ulaw2alaw : alaw2ulaw;
	for (size_t i = 0; i < n; i++)
		dst[i] = t[src[i]];
}

int16_t mwlaw_decode(uint8_t b, enum offer_law law)
{
	return law == OFFER_ALAW ? alaw_to_linear(b) : ulaw_to_linear(b);
}

uint8_t mwlaw_encode(int16_t s, enum offer_law law)
{
	return law == OFFER_ALAW ? linear_to_alaw(s) : linear_to_ulaw(s);
}

void mwlaw_decode_buf(int16_t *dst, const uint8_t *src, size_t n,
		      enum offer_law law)
{
	const int16_t *t;

	if (!tables_ready)
		tables_build();
	t = lin[law == OFFER_ALAW];
	for (size_t i = 0; i < n; i++)
		dst[i] = t[src[i]];
}

static inline int16_t clip16(int32_t v)
{
	return v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : (int16_t)v;
}

void mwlaw_encode_clip(uint8_t *dst, const int32_t *src, size_t n,
		       enum offer_law law)
{
	if (law == OFFER_ALAW) {
		for (size_t i = 0; i < n; i++)
			dst[i] = linear_to_alaw(clip16(src[i]));
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = linear_to_ulaw(clip16(src[i]));
	}
}
