/* Tests for dtmf_inband.c: spandsp's generator -> G.711 -> our detector
 * path, in 20 ms frames as RTP would carry them. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <spandsp.h>

#include "dtmf_inband.h"
#include "mwlaw.h"
#include "pbx_test.h"

TestSuite(dtmf_inband, .fini = pbx_test_fini);

struct got {
	char digits[32];
	size_t n;
};

static void on_digit(char digit, void *arg)
{
	struct got *g = arg;

	cr_assert_lt(g->n, sizeof(g->digits) - 1);
	g->digits[g->n++] = digit;
}

/* Generates `digits` (plus trailing silence) and feeds the detector
 * 160 bytes at a time; returns what it reported. */
static void run(const char *digits, enum offer_law law, int level,
		struct got *g)
{
	dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
	struct dtmf_inband *d = NULL;
	int16_t amp[160];
	uint8_t frame[160];

	memset(g, 0, sizeof(*g));
	cr_assert_not_null(tx);
	cr_assert_eq(dtmf_inband_alloc(&d, on_digit, g), 0);
	dtmf_tx_set_level(tx, level, 0);
	dtmf_tx_put(tx, digits, -1);
	for (int f = 0; f < 200; f++) { /* 4 s */
		int n = dtmf_tx(tx, amp, 160);

		for (int i = n; i < 160; i++)
			amp[i] = 0;
		for (int i = 0; i < 160; i++)
			frame[i] = mwlaw_encode(amp[i], law);
		dtmf_inband_feed(d, frame, sizeof(frame), law);
	}
	dtmf_inband_free(d);
	dtmf_tx_free(tx);
}

Test(dtmf_inband, ulaw_tones_become_digits)
{
	struct got g;

	run("159#", OFFER_ULAW, -10, &g);
	cr_assert_str_eq(g.digits, "159#");
}

Test(dtmf_inband, alaw_tones_become_digits)
{
	struct got g;

	run("0*8D", OFFER_ALAW, -10, &g);
	cr_assert_str_eq(g.digits, "0*8D");
}

Test(dtmf_inband, quiet_tones_still_detected)
{
	struct got g;

	run("2", OFFER_ULAW, -26, &g);
	cr_assert_str_eq(g.digits, "2");
}

Test(dtmf_inband, silence_and_speech_band_tone_give_nothing)
{
	struct dtmf_inband *d = NULL;
	struct got g = {0};
	uint8_t frame[160];

	cr_assert_eq(dtmf_inband_alloc(&d, on_digit, &g), 0);
	memset(frame, 0xff, sizeof(frame));
	for (int f = 0; f < 100; f++)
		dtmf_inband_feed(d, frame, sizeof(frame), OFFER_ULAW);
	/* A single 425 Hz tone (our own ringback) is not a key. */
	for (int f = 0; f < 100; f++) {
		for (int i = 0; i < 160; i++) {
			double t = (f * 160 + i) / 8000.0;

			frame[i] = mwlaw_encode(
				(int16_t)(8000 * sin(2 * M_PI * 425 * t)),
				OFFER_ULAW);
		}
		dtmf_inband_feed(d, frame, sizeof(frame), OFFER_ULAW);
	}
	cr_assert_eq(g.n, 0, "got '%s'", g.digits);
	dtmf_inband_free(d);
}
