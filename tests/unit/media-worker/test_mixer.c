/* Tests for mixer.c: member queues (order, bound, padding), the N-1 sum
 * with clipping in both laws, and the join/leave tones. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mixer.h"
#include "mwlaw.h"
#include "pbx_test.h"

TestSuite(mixer, .fini = pbx_test_fini);

static void frame_of(uint8_t *p, int16_t v, enum offer_law law)
{
	for (size_t i = 0; i < MIXER_SAMPLES; i++)
		p[i] = mwlaw_encode(v, law);
}

Test(mixer, queue_keeps_order_and_drops_the_oldest_when_full)
{
	struct mixer_in in;
	uint8_t p[MIXER_SAMPLES];
	int16_t f[MIXER_SAMPLES];

	memset(&in, 0, sizeof(in));
	cr_assert_not(mixer_in_pop(&in, f));
	for (int k = 1; k <= MIXER_DEPTH + 2; k++) {
		frame_of(p, (int16_t)(k * 1000), OFFER_ULAW);
		mixer_in_push(&in, p, sizeof(p), OFFER_ULAW);
	}
	cr_assert_eq(in.dropped, 2);
	for (int k = 3; k <= MIXER_DEPTH + 2; k++) {
		cr_assert(mixer_in_pop(&in, f));
		cr_assert_eq(f[0], mwlaw_decode(mwlaw_encode((int16_t)(k * 1000),
							     OFFER_ULAW),
						OFFER_ULAW));
	}
	cr_assert_not(mixer_in_pop(&in, f));
}

Test(mixer, short_packet_is_padded_with_silence_and_long_one_cut)
{
	struct mixer_in in;
	uint8_t p[400];
	int16_t f[MIXER_SAMPLES];

	memset(&in, 0, sizeof(in));
	frame_of(p, 2000, OFFER_ALAW);
	mixer_in_push(&in, p, 80, OFFER_ALAW);
	cr_assert(mixer_in_pop(&in, f));
	cr_assert_gt(f[79], 1900);
	cr_assert_eq(f[80], 0);
	cr_assert_eq(f[MIXER_SAMPLES - 1], 0);
	memset(p, mwlaw_encode(1000, OFFER_ALAW), sizeof(p));
	mixer_in_push(&in, p, sizeof(p), OFFER_ALAW);
	cr_assert_eq(in.n, 1, "one frame, not 2.5");
}

Test(mixer, each_member_gets_the_sum_without_itself)
{
	int16_t a[MIXER_SAMPLES], b[MIXER_SAMPLES], c[MIXER_SAMPLES];
	int32_t acc[MIXER_SAMPLES] = {0};
	uint8_t out[MIXER_SAMPLES];

	for (size_t i = 0; i < MIXER_SAMPLES; i++) {
		a[i] = 1000;
		b[i] = -3000;
		c[i] = 500;
	}
	mixer_add(acc, a);
	mixer_add(acc, b);
	mixer_add(acc, c);
	mixer_out(out, acc, a, NULL, OFFER_ULAW); /* b + c */
	cr_assert_eq(out[0], mwlaw_encode(-2500, OFFER_ULAW));
	mixer_out(out, acc, b, NULL, OFFER_ALAW); /* a + c */
	cr_assert_eq(out[0], mwlaw_encode(1500, OFFER_ALAW));
	/* A member that did not talk hears everyone. */
	mixer_out(out, acc, NULL, NULL, OFFER_ULAW);
	cr_assert_eq(out[0], mwlaw_encode(-1500, OFFER_ULAW));
	/* The tone is added for everyone. */
	mixer_out(out, acc, a, c, OFFER_ULAW);
	cr_assert_eq(out[0], mwlaw_encode(-2000, OFFER_ULAW));
}

Test(mixer, loud_sums_are_clipped_not_wrapped)
{
	int16_t loud[MIXER_SAMPLES];
	int32_t acc[MIXER_SAMPLES] = {0};
	uint8_t out[MIXER_SAMPLES];

	for (size_t i = 0; i < MIXER_SAMPLES; i++)
		loud[i] = 30000;
	for (int k = 0; k < 4; k++)
		mixer_add(acc, loud);
	mixer_out(out, acc, loud, NULL, OFFER_ULAW);
	cr_assert_eq(out[0], mwlaw_encode(INT16_MAX, OFFER_ULAW));
	for (size_t i = 0; i < MIXER_SAMPLES; i++)
		loud[i] = -30000;
	memset(acc, 0, sizeof(acc));
	for (int k = 0; k < 4; k++)
		mixer_add(acc, loud);
	mixer_out(out, acc, NULL, NULL, OFFER_ALAW);
	cr_assert_eq(out[0], mwlaw_encode(INT16_MIN, OFFER_ALAW));
}

Test(mixer, tone_is_whole_frames_ramped_and_bounded)
{
	int16_t *t = NULL;
	size_t n = 0;
	int peak = 0;

	cr_assert_eq(mixer_tone(&t, &n, 1400, 1800, 250), 0);
	cr_assert_eq(n % MIXER_SAMPLES, 0);
	cr_assert_geq(n, 250 * 8);
	cr_assert_eq(t[0], 0, "starts from silence");
	for (size_t i = 0; i < n; i++)
		if (abs(t[i]) > peak)
			peak = abs(t[i]);
	cr_assert_gt(peak, 5000);
	cr_assert_leq(peak, 7000);
	free(t);
}
