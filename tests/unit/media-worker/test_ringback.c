/* Tests for ringback.c: cadence parsing and the rendered cycle (tone
 * where it should be, exact silence elsewhere, the right frequency), and
 * the player looping the shared cycle. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "mwlaw.h"
#include "pbx_test.h"
#include "player.h"
#include "ringback.h"

TestSuite(ringback, .fini = pbx_test_fini);

Test(ringback, parses_single_and_dual_tones)
{
	struct ringback_spec rs;

	cr_assert_eq(ringback_parse(&rs, "425/1000/4000"), 0);
	cr_assert_eq(rs.f1, 425);
	cr_assert_eq(rs.f2, 0);
	cr_assert_eq(rs.on_ms, 1000);
	cr_assert_eq(rs.off_ms, 4000);
	cr_assert_eq(rs.level, -13);
	cr_assert_eq(ringback_parse(&rs, "440+480/2000/4000/-19"), 0);
	cr_assert_eq(rs.f1, 440);
	cr_assert_eq(rs.f2, 480);
	cr_assert_eq(rs.level, -19);
}

Test(ringback, bad_specs_refused)
{
	static const char *bad[] = {
		"",
		"425",
		"425/1000",
		"425/1000/",
		"x/1000/4000",
		"425/1000/4000/",
		"425/1000/4000/13",
		"425/10/4000",
		"20/1000/4000",
		"425+/1000/4000",
		"425/1000/4000 ",
		"425/1000/30000",
		"425/1000/4000/-50",
		"-425/1000/4000",
	};
	struct ringback_spec rs;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_eq(ringback_parse(&rs, bad[i]), -EINVAL, "'%s'",
			     bad[i]);
}

static double frame_energy(const uint8_t *b, enum offer_law law)
{
	double e = 0;

	for (int i = 0; i < 160; i++) {
		double v = mwlaw_decode(b[i], law);

		e += v * v;
	}
	return e / 160;
}

static void check_cadence(enum offer_law law)
{
	struct ringback_spec rs;
	uint8_t *buf = NULL;
	size_t len = 0;
	int crossings = 0;

	cr_assert_eq(ringback_parse(&rs, "425/1000/4000"), 0);
	cr_assert_eq(ringback_render(&rs, law, &buf, &len), 0);
	cr_assert_eq(len, 40000);
	/* 1 s of tone = 50 frames of 20 ms, then 200 frames of silence. */
	for (size_t f = 0; f < len / 160; f++) {
		double e = frame_energy(buf + f * 160, law);

		if (f < 50)
			cr_assert_gt(e, 1e5, "frame %zu quiet", f);
		else
			for (size_t i = 0; i < 160; i++)
				cr_assert_eq(buf[f * 160 + i],
					     mwlaw_encode(0, law),
					     "frame %zu not silent", f);
	}
	/* 425 Hz: 850 zero crossings in the second of tone (+-2). */
	for (size_t i = 1; i < 8000; i++) {
		int a = mwlaw_decode(buf[i - 1], law);
		int b = mwlaw_decode(buf[i], law);

		crossings += (a < 0) != (b < 0);
	}
	cr_assert(crossings >= 846 && crossings <= 854, "%d crossings",
		  crossings);
	free(buf);
}

Test(ringback, russian_cadence_ulaw)
{
	check_cadence(OFFER_ULAW);
}

Test(ringback, russian_cadence_alaw)
{
	check_cadence(OFFER_ALAW);
}

struct count {
	size_t loud, quiet;
};

static void count_send(const uint8_t *pkt, size_t len, void *arg)
{
	struct count *c = arg;

	cr_assert_eq(len, PLAYER_PKT_SIZE);
	if (frame_energy(pkt + MW_RTP_HDR_SIZE, OFFER_ULAW) > 1e5)
		c->loud++;
	else
		c->quiet++;
}

Test(ringback, player_loops_the_shared_cycle_until_stopped)
{
	struct ringback_spec rs;
	struct player p;
	struct count c = {0};
	uint8_t *buf = NULL;
	size_t len = 0;

	cr_assert_eq(ringback_parse(&rs, "425/1000/4000"), 0);
	cr_assert_eq(ringback_render(&rs, OFFER_ULAW, &buf, &len), 0);
	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	cr_assert_eq(player_start_loop(&p, buf, len, 0), 0);
	/* Three cycles = 15 s = 750 packets, in ticks of 25. */
	for (int i = 0; i < 30; i++)
		cr_assert_not(player_tick(&p, 25, (uint64_t)i * 500,
					  count_send, &c));
	cr_assert_eq(c.loud, 150);
	cr_assert_eq(c.quiet, 600);
	cr_assert(player_active(&p));
	player_stop(&p); /* must not free the shared cycle (ASan: double
			  * free below if it did) */
	cr_assert_not(player_active(&p));
	free(buf);
}
