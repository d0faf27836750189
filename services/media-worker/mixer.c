/* Conference mixing: member queues, N-1 sums, join/leave tones. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mixer.h"
#include "mwlaw.h"

void mixer_in_push(struct mixer_in *in, const uint8_t *payload, size_t n,
		   enum offer_law law)
{
	int16_t *f;

	if (in->n == MIXER_DEPTH) {
		in->head = (in->head + 1) % MIXER_DEPTH;
		in->n--;
		in->dropped++;
	}
	f = in->q[(in->head + in->n) % MIXER_DEPTH];
	if (n > MIXER_SAMPLES)
		n = MIXER_SAMPLES;
	mwlaw_decode_buf(f, payload, n, law);
	memset(f + n, 0, (MIXER_SAMPLES - n) * sizeof(*f));
	in->n++;
}

bool mixer_in_pop(struct mixer_in *in, int16_t out[MIXER_SAMPLES])
{
	if (!in->n)
		return false;
	memcpy(out, in->q[in->head], MIXER_SAMPLES * sizeof(*out));
	in->head = (in->head + 1) % MIXER_DEPTH;
	in->n--;
	return true;
}

void mixer_in_clear(struct mixer_in *in)
{
	in->head = 0;
	in->n = 0;
}

void mixer_add(int32_t acc[MIXER_SAMPLES], const int16_t frame[MIXER_SAMPLES])
{
	for (size_t i = 0; i < MIXER_SAMPLES; i++)
		acc[i] += frame[i];
}

void mixer_out(uint8_t out[MIXER_SAMPLES], const int32_t acc[MIXER_SAMPLES],
	       const int16_t *own, const int16_t *tone, enum offer_law law)
{
	int32_t v[MIXER_SAMPLES];

	/* Branch-free passes the compiler vectorises; the law once. */
	memcpy(v, acc, sizeof(v));
	if (own)
		for (size_t i = 0; i < MIXER_SAMPLES; i++)
			v[i] -= own[i];
	if (tone)
		for (size_t i = 0; i < MIXER_SAMPLES; i++)
			v[i] += tone[i];
	mwlaw_encode_clip(out, v, MIXER_SAMPLES, law);
}

int mixer_tone(int16_t **bufp, size_t *np, unsigned hz, unsigned hz2,
	       unsigned ms)
{
	size_t n = (size_t)ms * 8, ramp = 40; /* 5 ms */
	/* -16 dBm0: a peak of about 0.22 of full scale. */
	const double amp = 7000.0;
	int16_t *b;

	/* Whole frames, so a tone ends on a packet boundary. */
	n = (n + MIXER_SAMPLES - 1) / MIXER_SAMPLES * MIXER_SAMPLES;
	b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned f = hz2 && i >= n / 2 ? hz2 : hz;
		size_t k = hz2 && i >= n / 2 ? i - n / 2 : i;
		size_t len = hz2 ? n / 2 : n;
		double g = 1.0;

		if (k < ramp)
			g = (double)k / ramp;
		else if (len - k < ramp)
			g = (double)(len - k) / ramp;
		b[i] = (int16_t)(amp * g * sin(2 * 3.14159265358979 * f * (double)k / 8000));
	}
	*bufp = b;
	*np = n;
	return 0;
}
