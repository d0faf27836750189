/* G.711 law helpers (named mwlaw_ because spandsp exports g711_*): µ-law
 * <-> A-law transcoding through two 256-byte tables (built once from
 * spandsp's G.711 procedure) and 16-bit linear decode/encode. Pure. */
#ifndef MWLAW_H
#define MWLAW_H
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

/* Converts n bytes from one law to the other; a plain copy when the laws
 * are the same. dst and src may be the same buffer. */
void mwlaw_transcode(uint8_t *dst, const uint8_t *src, size_t n,
		     enum offer_law from, enum offer_law to);

/* One byte of the law as a 16-bit linear sample. */
int16_t mwlaw_decode(uint8_t b, enum offer_law law);
/* One 16-bit linear sample in the law. */
uint8_t mwlaw_encode(int16_t s, enum offer_law law);
/* n bytes of the law as linear samples: one table lookup each (the
 * conference's and the in-band DTMF detector's per-packet decode). */
void mwlaw_decode_buf(int16_t *dst, const uint8_t *src, size_t n,
		      enum offer_law law);
/* n 32-bit sums, clipped to 16 bits, in the law (the conference mix's
 * per-member encode; the law chosen once, not per sample). */
void mwlaw_encode_clip(uint8_t *dst, const int32_t *src, size_t n,
		       enum offer_law law);

#endif
