/* Tests for dtmf_dedup.c: one event per key press when the keys arrive
 * as RFC 4733 events, as tones, or both; time is made up. */
#include <criterion/criterion.h>

#include "dtmf_dedup.h"
#include "pbx_test.h"

TestSuite(dtmf_dedup, .fini = pbx_test_fini);

#define TE DTMF_SRC_4733
#define TONE DTMF_SRC_INBAND

/* A press as one source sees it: reported at `at`, then signs of life
 * every 20 ms until at + dur. Returns what dtmf_dedup_press said. */
static bool see(struct dtmf_dedup *d, enum dtmf_src src, char digit, uint64_t at,
		uint64_t dur)
{
	bool r = dtmf_dedup_press(d, src, digit, at);

	for (uint64_t t = at + 20; t <= at + dur; t += 20)
		dtmf_dedup_alive(d, src, t);
	return r;
}

Test(dtmf_dedup, rfc4733_only_reports_every_press)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	cr_assert(see(&d, TE, '1', 0, 100));
	cr_assert(see(&d, TE, '1', 150, 100));
	cr_assert(see(&d, TE, '2', 300, 100));
	cr_assert(see(&d, TE, '2', 310, 100)); /* a new event: a new press */
}

Test(dtmf_dedup, tones_only_report_every_press)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	cr_assert(see(&d, TONE, '5', 40, 80));
	cr_assert(see(&d, TONE, '5', 200, 80));
	cr_assert(see(&d, TONE, '#', 400, 80));
}

Test(dtmf_dedup, both_ways_for_one_press_is_one_event)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	/* RFC 4733 first (the tone needs 40 ms to be detected)... */
	cr_assert(see(&d, TE, '7', 0, 120));
	cr_assert_not(see(&d, TONE, '7', 40, 80));
	/* ... or the tone first (a gateway slow to send its events). */
	cr_assert(see(&d, TONE, '8', 1000, 100));
	cr_assert_not(see(&d, TE, '8', 1090, 100));
}

Test(dtmf_dedup, long_press_is_one_event)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	/* A 3 s press whose tone detection drops out and comes back while
	 * the RFC 4733 event goes on. */
	dtmf_dedup_press(&d, TE, '0', 0);
	for (uint64_t t = 20; t <= 3000; t += 20)
		dtmf_dedup_alive(&d, TE, t);
	cr_assert_not(dtmf_dedup_press(&d, TONE, '0', 40));
	/* The tone's second start is a second press from that source
	 * (nothing from RFC 4733 to pair it with): reported. */
	cr_assert(dtmf_dedup_press(&d, TONE, '0', 2000));
}

Test(dtmf_dedup, two_presses_of_one_key_are_two_events)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	/* Fast: 100 ms on, 60 ms off, both ways, the tone 40 ms behind. */
	cr_assert(see(&d, TE, '3', 0, 100));
	cr_assert_not(see(&d, TONE, '3', 40, 60));
	cr_assert(see(&d, TE, '3', 160, 100));
	cr_assert_not(see(&d, TONE, '3', 200, 60));
	/* The same with the sources swapping who is first. */
	cr_assert(see(&d, TONE, '4', 1000, 100));
	cr_assert_not(see(&d, TE, '4', 1020, 100));
	cr_assert(see(&d, TE, '4', 1160, 100));
	cr_assert_not(see(&d, TONE, '4', 1200, 60));
}

Test(dtmf_dedup, interleaved_digits_each_once)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	/* The tone detector lags so much that RFC 4733 has already
	 * reported the next key when it reports the previous one. */
	cr_assert(see(&d, TE, '1', 0, 60));
	cr_assert(see(&d, TE, '2', 100, 60));
	cr_assert_not(see(&d, TONE, '1', 150, 20));
	cr_assert_not(see(&d, TONE, '2', 200, 20));
	cr_assert(see(&d, TE, '1', 300, 60));
	cr_assert_not(see(&d, TONE, '1', 340, 20));
}

Test(dtmf_dedup, same_key_from_the_other_way_after_the_margin_is_new)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	cr_assert(see(&d, TE, '9', 0, 100));
	/* Last sign of life at 100 ms: 301 ms is past the 200 ms margin. */
	cr_assert(see(&d, TONE, '9', 100 + DTMF_DEDUP_MARGIN_MS + 1, 60));
}

Test(dtmf_dedup, one_report_pairs_only_once)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	/* Two tones within one RFC 4733 event's window: the event stands
	 * for one of them only. */
	cr_assert(see(&d, TE, '6', 0, 300));
	cr_assert_not(see(&d, TONE, '6', 40, 40));
	cr_assert(see(&d, TONE, '6', 200, 40));
}

Test(dtmf_dedup, a_forgotten_press_is_not_extended)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	cr_assert(dtmf_dedup_press(&d, TONE, '1', 0));
	/* RFC 4733 reports more presses than the history holds. */
	for (int i = 0; i < DTMF_DEDUP_HIST; i++)
		cr_assert(dtmf_dedup_press(&d, TE, (char)('2' + i),
					   10 + (uint64_t)i));
	/* The tone's press was overwritten (by RFC 4733's '5'): its signs
	 * of life must not keep that other press's window open. */
	dtmf_dedup_alive(&d, TONE, 5000);
	cr_assert(dtmf_dedup_press(&d, TONE, '5', 5100));
}

Test(dtmf_dedup, bad_arguments_report_nothing)
{
	struct dtmf_dedup d;

	dtmf_dedup_init(&d);
	cr_assert_not(dtmf_dedup_press(&d, DTMF_SRC_N, '1', 0));
	cr_assert_not(dtmf_dedup_press(&d, TE, 0, 0));
	dtmf_dedup_alive(&d, DTMF_SRC_N, 0);
}
