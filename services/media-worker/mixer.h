/* Conference mixing, pure: G.711 frames in, per member "everyone but
 * me" out. Each member's received audio waits in a short queue of 20 ms
 * frames (struct mixer_in, decoded to linear at arrival); on every pacing
 * period the room takes at most one frame from each queue, sums the
 * talkers once (mixer_add into 32-bit), and gives each member the sum
 * less its own frame (mixer_out: N-1 mixing at O(N) per period, not
 * O(N^2)), with an optional tone added for everyone, clipped and encoded
 * in the member's law. No sockets, no clock. */
#ifndef MIXER_H
#define MIXER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

enum {
	MIXER_SAMPLES = 160, /* 20 ms at 8 kHz */
	/* Frames a member may have waiting: 60 ms. A sender whose clock
	 * runs fast, or a burst after a network stall, loses its oldest
	 * audio instead of adding delay for everyone. */
	MIXER_DEPTH = 3,
};

/* One member's received audio, oldest first. Embedded in the member. */
struct mixer_in {
	int16_t q[MIXER_DEPTH][MIXER_SAMPLES];
	unsigned head, n;
	uint64_t dropped; /* frames pushed out by newer ones */
};

/* Decodes one packet's G.711 payload (n bytes: a shorter one is padded
 * with silence, a longer one cut at 20 ms) into the queue; the oldest
 * frame is dropped when it is full. */
void mixer_in_push(struct mixer_in *in, const uint8_t *payload, size_t n,
		   enum offer_law law);
/* The oldest frame into out; false (out untouched) when none waits. */
bool mixer_in_pop(struct mixer_in *in, int16_t out[MIXER_SAMPLES]);
void mixer_in_clear(struct mixer_in *in);

/* acc += frame. */
void mixer_add(int32_t acc[MIXER_SAMPLES], const int16_t frame[MIXER_SAMPLES]);
/* out = law(clip(acc - own + tone)); own NULL: the member did not talk
 * (or is muted), tone NULL: none. */
void mixer_out(uint8_t out[MIXER_SAMPLES], const int32_t acc[MIXER_SAMPLES],
	       const int16_t *own, const int16_t *tone, enum offer_law law);

/* Renders a beep of `ms` at hz (a second tone hz2 after half of it when
 * not 0), at about -16 dBm0 with 5 ms ramps, into a new linear buffer
 * (malloc'd, *np samples). Join and leave tones. 0 or -ENOMEM. */
int mixer_tone(int16_t **bufp, size_t *np, unsigned hz, unsigned hz2,
	       unsigned ms);

#endif
