/* Tests for dtmf_detect.c: a caller's 20 ms RTP as a gateway sends it —
 * RFC 4733 event trains, G.711 audio with or without the key's tone, or
 * both — and the key presses reported. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "dtmf_detect.h"
#include "mwlaw.h"
#include "pbx_test.h"

TestSuite(dtmf_detect, .fini = pbx_test_fini);

struct got {
	char digits[32];
	char how[32]; /* 'r' rfc4733, 'i' inband, per digit */
	size_t n;
};

static void on_digit(char digit, const char *how, void *arg)
{
	struct got *g = arg;

	cr_assert_lt(g->n, sizeof(g->digits) - 1);
	g->how[g->n] = how[0];
	g->digits[g->n++] = digit;
}

/* One key press: the tone sounds from tone_ms for dur_ms (if tone), the
 * RFC 4733 event from te_ms for dur_ms (if te). */
struct press {
	char key;
	bool tone, te;
	int tone_ms, te_ms, dur_ms;
};

static void key_freqs(char key, double *lo, double *hi)
{
	static const char keys[] = "123A456B789C*0#D";
	static const double row[] = {697, 770, 852, 941};
	static const double col[] = {1209, 1336, 1477, 1633};
	int i = (int)(strchr(keys, key) - keys);

	*lo = row[i / 4];
	*hi = col[i % 4];
}

static int event_code(char key)
{
	static const char codes[] = "0123456789*#ABCD";

	return (int)(strchr(codes, key) - codes);
}

static void send_event(struct dtmf_detect *d, const struct press *p,
		       bool end, int dur_ms, uint64_t now)
{
	uint16_t dur = (uint16_t)(dur_ms * 8);
	uint8_t pl[4] = {(uint8_t)event_code(p->key),
			 (uint8_t)((end ? 0x80 : 0) | 10), (uint8_t)(dur >> 8),
			 (uint8_t)dur};

	/* Every packet of one event carries its start timestamp. */
	dtmf_detect_event(d, (uint32_t)(p->te_ms * 8), pl, sizeof(pl), now);
}

/* Plays `np` presses as 20 ms packets for total_ms and returns what was
 * reported. */
static void play(const struct press *ps, size_t np, int total_ms,
		 struct got *g)
{
	struct dtmf_detect *d = NULL;
	uint8_t frame[160];

	memset(g, 0, sizeof(*g));
	cr_assert_eq(dtmf_detect_alloc(&d, on_digit, g), 0);
	for (int t = 0; t < total_ms; t += 20) {
		for (int i = 0; i < 160; i++) {
			double s = 0, ts = (t * 8 + i) / 8000.0;

			for (size_t k = 0; k < np; k++) {
				const struct press *p = &ps[k];
				double lo, hi;

				if (!p->tone || t < p->tone_ms ||
				    t >= p->tone_ms + p->dur_ms)
					continue;
				key_freqs(p->key, &lo, &hi);
				s += 5000 * (sin(2 * M_PI * lo * ts) +
					     sin(2 * M_PI * hi * ts));
			}
			frame[i] = mwlaw_encode((int16_t)s, OFFER_ULAW);
		}
		for (size_t k = 0; k < np; k++) {
			const struct press *p = &ps[k];
			int on = t - p->te_ms;

			if (!p->te || on < 0)
				continue;
			if (on < p->dur_ms)
				send_event(d, p, false, on + 20, (uint64_t)t);
			else if (on < p->dur_ms + 60) /* three ends */
				send_event(d, p, true, p->dur_ms,
					   (uint64_t)t);
		}
		dtmf_detect_audio(d, frame, sizeof(frame), OFFER_ULAW,
				  (uint64_t)t);
	}
	dtmf_detect_free(d);
}

Test(dtmf_detect, rfc4733_only)
{
	const struct press ps[] = {
		{.key = '5', .te = true, .te_ms = 100, .dur_ms = 120},
		{.key = '#', .te = true, .te_ms = 500, .dur_ms = 120},
	};
	struct got g;

	play(ps, 2, 1000, &g);
	cr_assert_str_eq(g.digits, "5#");
	cr_assert_str_eq(g.how, "rr");
}

/* The bug of issue 7 item 8: a gateway that negotiated telephone-event
 * but sends tones. Every caller leg now runs the tone detector. */
Test(dtmf_detect, tones_only)
{
	const struct press ps[] = {
		{.key = '1', .tone = true, .tone_ms = 100, .dur_ms = 120},
		{.key = '0', .tone = true, .tone_ms = 400, .dur_ms = 120},
	};
	struct got g;

	play(ps, 2, 1000, &g);
	cr_assert_str_eq(g.digits, "10");
	cr_assert_str_eq(g.how, "ii");
}

Test(dtmf_detect, both_ways_for_one_press_is_one_event)
{
	const struct press ps[] = {
		/* the event and the tone together */
		{'2', true, true, 100, 100, 120},
		/* the tone 60 ms before the event */
		{'3', true, true, 500, 560, 120},
		/* the event 40 ms before the tone */
		{'4', true, true, 940, 900, 120},
	};
	struct got g;

	play(ps, 3, 1500, &g);
	cr_assert_str_eq(g.digits, "234");
}

Test(dtmf_detect, two_presses_of_one_key_are_two_events)
{
	const struct press ps[] = {
		{'7', true, true, 100, 100, 100},
		{'7', true, true, 300, 300, 100},
		{'7', true, true, 700, 700, 300},
	};
	struct got g;

	play(ps, 3, 1400, &g);
	cr_assert_str_eq(g.digits, "777");
}

Test(dtmf_detect, interleaved_keys_each_once)
{
	const struct press ps[] = {
		{'1', true, true, 100, 100, 80},
		{'2', true, true, 240, 240, 80},
		{'1', true, true, 380, 380, 80},
		{'9', false, true, 0, 520, 80},	 /* event only */
		{'*', true, false, 660, 0, 80},	 /* tone only */
		{'1', true, true, 800, 800, 80},
	};
	struct got g;

	play(ps, 6, 1400, &g);
	cr_assert_str_eq(g.digits, "1219*1");
}
