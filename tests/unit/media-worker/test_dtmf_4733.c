/* Tests for dtmf_4733.c: one digit per key press from RFC 4733 packet
 * trains (repeated starts, three end packets), with losses. */
#include <criterion/criterion.h>
#include <string.h>

#include "dtmf_4733.h"
#include "pbx_test.h"

TestSuite(dtmf_4733, .fini = pbx_test_fini);

struct train {
	struct dtmf_4733 d;
	char got[32];
	size_t n;
};

static void feed(struct train *t, uint32_t ts, int event, bool end,
		 uint16_t duration)
{
	uint8_t p[4] = {(uint8_t)event, (uint8_t)((end ? 0x80 : 0) | 10),
			(uint8_t)(duration >> 8), (uint8_t)duration};
	char digit = dtmf_4733_recv(&t->d, ts, p, sizeof(p));

	if (digit) {
		cr_assert_lt(t->n, sizeof(t->got) - 1);
		t->got[t->n++] = digit;
	}
}

/* A key press as a phone sends it: `starts` packets growing in duration,
 * then the end packet three times. */
static void press(struct train *t, uint32_t ts, int event, int starts,
		  int ends)
{
	for (int i = 0; i < starts; i++)
		feed(t, ts, event, false, (uint16_t)(160 * (i + 1)));
	for (int i = 0; i < ends; i++)
		feed(t, ts, event, true, (uint16_t)(160 * (starts + 1)));
}

static void setup_train(struct train *t)
{
	memset(t, 0, sizeof(*t));
	cr_assert_eq(dtmf_4733_init(&t->d), 0);
}

Test(dtmf_4733, repeated_starts_and_three_ends_give_one_digit)
{
	struct train t;

	setup_train(&t);
	press(&t, 1000, 4, 8, 3);
	press(&t, 5000, 2, 8, 3);
	cr_assert_str_eq(t.got, "42");
	dtmf_4733_close(&t.d);
}

Test(dtmf_4733, same_key_twice_gives_two_digits)
{
	struct train t;

	setup_train(&t);
	press(&t, 1000, 5, 5, 3);
	press(&t, 3000, 5, 5, 3);
	cr_assert_str_eq(t.got, "55");
	dtmf_4733_close(&t.d);
}

Test(dtmf_4733, lost_starts_reported_on_the_end_packet)
{
	struct train t;

	setup_train(&t);
	press(&t, 1000, 9, 0, 3);
	press(&t, 4000, 11, 0, 1);
	cr_assert_str_eq(t.got, "9#");
	dtmf_4733_close(&t.d);
}

Test(dtmf_4733, lost_ends_then_same_key_still_counted)
{
	struct train t;

	setup_train(&t);
	press(&t, 1000, 7, 4, 0);
	/* The next press of 7 starts before any end of the first arrived:
	 * its starts look like repeats, its end (new timestamp) is not. */
	press(&t, 3000, 7, 4, 3);
	cr_assert_str_eq(t.got, "77");
	dtmf_4733_close(&t.d);
}

Test(dtmf_4733, every_key_code_maps)
{
	struct train t;

	setup_train(&t);
	for (int e = 0; e <= 15; e++)
		press(&t, (uint32_t)(1000 * (e + 1)), e, 2, 3);
	cr_assert_str_eq(t.got, "0123456789*#ABCD");
	dtmf_4733_close(&t.d);
}

Test(dtmf_4733, non_dtmf_events_and_short_payloads_ignored)
{
	struct train t;
	uint8_t shortp[3] = {5, 10, 0};

	setup_train(&t);
	press(&t, 1000, 16, 3, 3); /* flash */
	cr_assert_eq(dtmf_4733_recv(&t.d, 2000, shortp, sizeof(shortp)), 0);
	cr_assert_eq(dtmf_4733_recv(&t.d, 2000, NULL, 4), 0);
	cr_assert_eq(t.n, 0);
	dtmf_4733_close(&t.d);
}
