/* Tests for relay.c: packets from the other leg re-stamped onto our
 * outbound stream: SSRC, gap-free seq, timestamps across prompts, sources
 * and pauses, reordering, telephone-events on their own SSRC. */
#include <criterion/criterion.h>

#include "pbx_test.h"
#include "relay.h"

TestSuite(relay, .fini = pbx_test_fini);

static struct mw_rtp_hdr in_hdr(uint32_t ssrc, uint16_t seq, uint32_t ts)
{
	struct mw_rtp_hdr h = {.pt = 0, .seq = seq, .ts = ts, .ssrc = ssrc};

	return h;
}

static struct mw_rtp_hdr stamp(struct relay *r, struct player *s,
			       struct mw_rtp_hdr in, bool te, uint64_t now)
{
	struct mw_rtp_hdr out;

	relay_stamp(r, s, &in, te ? 0 : 160, te, now, &out);
	return out;
}

Test(relay, first_packet_continues_our_stream_with_marker)
{
	struct player s;
	struct relay r = {0};
	struct mw_rtp_hdr out;

	player_init(&s, 0, PLAYER_SILENCE_ULAW, 0xabcdef, 500, 80000);
	out = stamp(&r, &s, in_hdr(0x1111, 40000, 123456), false, 1000);
	cr_assert_eq(out.ssrc, 0xabcdef);
	cr_assert_eq(out.seq, 500);
	cr_assert_eq(out.ts, 80000);
	cr_assert(out.marker);
	cr_assert_eq(s.seq, 501);
	cr_assert_eq(s.ts, 80160);

	out = stamp(&r, &s, in_hdr(0x1111, 40001, 123616), false, 1020);
	cr_assert_eq(out.seq, 501);
	cr_assert_eq(out.ts, 80160);
	cr_assert_not(out.marker);
}

Test(relay, seq_stays_contiguous_after_upstream_loss_ts_keeps_timing)
{
	struct player s;
	struct relay r = {0};
	struct mw_rtp_hdr out;

	player_init(&s, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	stamp(&r, &s, in_hdr(7, 10, 1600), false, 0);
	/* 11 and 12 lost upstream. */
	out = stamp(&r, &s, in_hdr(7, 13, 1600 + 3 * 160), false, 60);
	cr_assert_eq(out.seq, 1);
	cr_assert_eq(out.ts, 480);
	cr_assert_eq(s.ts, 640);
}

Test(relay, late_packet_does_not_move_the_clock_back)
{
	struct player s;
	struct relay r = {0};
	struct mw_rtp_hdr out;

	player_init(&s, 0, PLAYER_SILENCE_ULAW, 1, 100, 0);
	stamp(&r, &s, in_hdr(7, 10, 0), false, 0);
	stamp(&r, &s, in_hdr(7, 12, 320), false, 40);
	out = stamp(&r, &s, in_hdr(7, 11, 160), false, 41); /* reordered */
	cr_assert_eq(out.ts, 160);
	cr_assert_eq(out.seq, 102);
	cr_assert_eq(s.ts, 480);
}

Test(relay, new_source_continues_after_the_pause_with_marker)
{
	struct player s;
	struct relay r = {0};
	struct mw_rtp_hdr out;

	player_init(&s, 0, PLAYER_SILENCE_ULAW, 9, 0, 0);
	stamp(&r, &s, in_hdr(1, 1000, 5000), false, 1000);
	/* The far end restarts with another SSRC 1 s later. */
	out = stamp(&r, &s, in_hdr(2, 7, 999), false, 2020);
	cr_assert(out.marker);
	cr_assert_eq(out.seq, 1);
	/* 1 s later than the packet after the last one: +8000 samples. */
	cr_assert_eq(out.ts, 160 + 8000);
}

Test(relay, resync_after_a_prompt_joins_seamlessly)
{
	struct player s;
	struct relay r = {0};
	struct mw_rtp_hdr out;
	uint8_t pkt[PLAYER_PKT_SIZE], audio[320] = {1};

	player_init(&s, 0, PLAYER_SILENCE_ULAW, 9, 50, 1000);
	stamp(&r, &s, in_hdr(1, 1, 160), false, 0); /* seq 50, ts 1000 */
	/* A prompt of two packets plays (its first packet right on time). */
	cr_assert_eq(player_start(&s, audio, sizeof(audio), 1, 20), 0);
	cr_assert_eq(player_next(&s, pkt, 20), PLAYER_PKT_SIZE);
	cr_assert_eq(player_next(&s, pkt, 40), PLAYER_PKT_SIZE);
	cr_assert_eq(s.seq, 53);
	relay_resync(&r);
	out = stamp(&r, &s, in_hdr(1, 4, 640), false, 60);
	cr_assert(out.marker);
	cr_assert_eq(out.seq, 53);
	cr_assert_eq(out.ts, 1000 + 3 * 160);
}

Test(relay, telephone_events_keep_their_start_timestamp)
{
	struct player s;
	struct relay r = {0};
	struct mw_rtp_hdr out;

	player_init(&s, 101, PLAYER_SILENCE_ULAW, 9, 0, 0);
	stamp(&r, &s, in_hdr(1, 1, 160), false, 0);
	for (int i = 0; i < 3; i++) {
		out = stamp(&r, &s, in_hdr(1, (uint16_t)(2 + i), 320), true,
			    (uint64_t)(20 + 20 * i));
		cr_assert_eq(out.ts, 160);
		cr_assert_eq(out.seq, 1 + i);
	}
}

Test(relay, events_on_their_own_ssrc_do_not_disturb_the_audio)
{
	struct player s;
	struct relay r = {0};
	struct mw_rtp_hdr a1, e1, e2, a2;

	player_init(&s, 0, PLAYER_SILENCE_ULAW, 9, 0, 0);
	stamp(&r, &s, in_hdr(1, 1, 1000), false, 0);
	a1 = stamp(&r, &s, in_hdr(1, 2, 1160), false, 20);
	e1 = stamp(&r, &s, in_hdr(77, 500, 90000), true, 25);
	a2 = stamp(&r, &s, in_hdr(1, 3, 1320), false, 40);
	e2 = stamp(&r, &s, in_hdr(77, 501, 90000), true, 45);
	cr_assert_not(a2.marker);
	cr_assert_eq(a2.ts, a1.ts + 160);
	cr_assert_eq(e2.ts, e1.ts); /* still one event */
	cr_assert_eq(a1.seq + 1, e1.seq);
	cr_assert_eq(e1.seq + 1, a2.seq);
	cr_assert_eq(a2.seq + 1, e2.seq);
}
