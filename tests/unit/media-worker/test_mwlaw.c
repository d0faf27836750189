/* Tests for mwlaw.c: µ-law <-> A-law transcoding tables. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mwlaw.h"
#include "pbx_test.h"

TestSuite(mwlaw, .fini = pbx_test_fini);

/* Quantisation step of the law at a linear value: the most a conversion
 * to that law may move a sample. */
static int step_at(int v, enum offer_law law)
{
	int a = abs(v);

	if (law == OFFER_ULAW)
		return a < 32	  ? 4
		       : a < 96	  ? 8
		       : a < 224  ? 16
		       : a < 480  ? 32
		       : a < 992  ? 64
		       : a < 2016 ? 128
		       : a < 4064 ? 256
		       : a < 8160 ? 512
				  : 1024;
	return a < 512	   ? 32
	       : a < 1024  ? 64
	       : a < 2048  ? 128
	       : a < 4096  ? 256
	       : a < 8192  ? 512
	       : a < 16384 ? 1024
			   : 2048;
}

static void round_trip(enum offer_law from, enum offer_law to)
{
	for (int i = 0; i < 256; i++) {
		uint8_t b = (uint8_t)i, mid, back, again;
		int v = mwlaw_decode(b, from);
		int m, r;

		mwlaw_transcode(&mid, &b, 1, from, to);
		mwlaw_transcode(&back, &mid, 1, to, from);
		m = mwlaw_decode(mid, to);
		r = mwlaw_decode(back, from);
		/* Each conversion lands within a step of the other law. */
		cr_assert_leq(abs(m - v), step_at(v, to), "%02x: %d -> %d", i,
			      v, m);
		cr_assert_leq(abs(r - v), step_at(v, to) + step_at(v, from),
			      "%02x: %d -> %d -> %d", i, v, m, r);
		/* Same sign (silence may land on either zero). */
		cr_assert(v * r >= 0 || abs(v) <= 8, "%02x sign", i);
		/* A second round trip changes nothing: the tables are
		 * stable, so a relay through two workers does not drift. */
		mwlaw_transcode(&again, &back, 1, from, to);
		mwlaw_transcode(&again, &again, 1, to, from);
		cr_assert_eq(again, back, "%02x unstable", i);
	}
}

Test(mwlaw, ulaw_alaw_ulaw_round_trip_within_one_step)
{
	round_trip(OFFER_ULAW, OFFER_ALAW);
}

Test(mwlaw, alaw_ulaw_alaw_round_trip_within_one_step)
{
	round_trip(OFFER_ALAW, OFFER_ULAW);
}

Test(mwlaw, most_codes_survive_a_round_trip_exactly)
{
	int exact = 0;

	for (int i = 0; i < 256; i++) {
		uint8_t b = (uint8_t)i, t;

		mwlaw_transcode(&t, &b, 1, OFFER_ALAW, OFFER_ULAW);
		mwlaw_transcode(&t, &t, 1, OFFER_ULAW, OFFER_ALAW);
		exact += t == b;
	}
	/* G.711's tables are not transparent for the loudest and the
	 * quietest codes only. */
	cr_assert_geq(exact, 224, "only %d of 256 exact", exact);
}

Test(mwlaw, silence_maps_to_silence)
{
	uint8_t u = 0xff, a;

	mwlaw_transcode(&a, &u, 1, OFFER_ULAW, OFFER_ALAW);
	cr_assert_leq(abs(mwlaw_decode(a, OFFER_ALAW)), 8);
	cr_assert_eq(mwlaw_encode(0, OFFER_ULAW), 0xff);
	cr_assert_eq(mwlaw_encode(0, OFFER_ALAW), 0xd5);
}

Test(mwlaw, same_law_is_a_copy_and_in_place_works)
{
	uint8_t src[160], dst[160], in[160];

	for (int i = 0; i < 160; i++)
		src[i] = (uint8_t)(i * 7);
	mwlaw_transcode(dst, src, sizeof(src), OFFER_ULAW, OFFER_ULAW);
	cr_assert_arr_eq(dst, src, sizeof(src));
	memcpy(in, src, sizeof(in));
	mwlaw_transcode(dst, src, sizeof(src), OFFER_ULAW, OFFER_ALAW);
	mwlaw_transcode(in, in, sizeof(in), OFFER_ULAW, OFFER_ALAW);
	cr_assert_arr_eq(in, dst, sizeof(in));
}

Test(mwlaw, frame_decode_and_clipped_encode_match_the_sample_functions)
{
	enum offer_law laws[] = {OFFER_ULAW, OFFER_ALAW};
	uint8_t bytes[256], out[512];
	int16_t lin[256];
	int32_t sums[512];

	for (int i = 0; i < 256; i++)
		bytes[i] = (uint8_t)i;
	/* Every 128th value from beyond -32768 to beyond 32767: the clip. */
	for (int i = 0; i < 512; i++)
		sums[i] = -40000 + i * 160;
	for (size_t l = 0; l < 2; l++) {
		mwlaw_decode_buf(lin, bytes, 256, laws[l]);
		for (int i = 0; i < 256; i++)
			cr_assert_eq(lin[i], mwlaw_decode((uint8_t)i, laws[l]),
				     "law %zu byte %d", l, i);
		mwlaw_encode_clip(out, sums, 512, laws[l]);
		for (int i = 0; i < 512; i++) {
			int32_t v = sums[i] > INT16_MAX	  ? INT16_MAX
				    : sums[i] < INT16_MIN ? INT16_MIN
							  : sums[i];

			cr_assert_eq(out[i], mwlaw_encode((int16_t)v, laws[l]),
				     "law %zu sum %d", l, sums[i]);
		}
	}
}
