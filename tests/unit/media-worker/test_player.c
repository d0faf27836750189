/* Tests for player.c: G.711 prompt packetisation, RTP sequence/timestamp
 * math, silence padding, catch-up after late timer ticks, and shared
 * (referenced, not copied) prompt buffers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <re.h>

#include "mw_rtp.h"
#include "pbx_test.h"
#include "player.h"

TestSuite(player, .fini = pbx_test_fini);

/* Records what a tick sends. */
struct sink {
	size_t n;
	struct mw_rtp_hdr hdr[64];
	uint8_t payload[64][PLAYER_SAMPLES];
	size_t len[64];
};

static void sink_send(const uint8_t *pkt, size_t len, void *arg)
{
	struct sink *s = arg;

	cr_assert_lt(s->n, 64);
	cr_assert_eq(mw_rtp_decode(&s->hdr[s->n], pkt, len), MW_RTP_HDR_SIZE);
	memcpy(s->payload[s->n], pkt + MW_RTP_HDR_SIZE, len - MW_RTP_HDR_SIZE);
	s->len[s->n] = len;
	s->n++;
}

static uint8_t *ramp(size_t len)
{
	uint8_t *a = malloc(len);

	cr_assert_not_null(a);
	for (size_t i = 0; i < len; i++)
		a[i] = (uint8_t)(i % 251); /* never a silence byte pattern */
	return a;
}

static void start(struct player *p, size_t len, uint32_t loops)
{
	uint8_t *a = ramp(len);

	cr_assert_eq(player_start(p, a, len, loops, 1000), 0);
	free(a);
}

Test(player, packets_carry_160_bytes_of_prompt_in_order)
{
	struct player p;
	struct sink s = {0};
	uint8_t *a = ramp(480);

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 0xabc, 100, 5000);
	cr_assert_eq(player_start(&p, a, 480, 1, 1000), 0);
	cr_assert(player_tick(&p, 3, 1060, sink_send, &s));
	cr_assert_eq(s.n, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(s.len[i], PLAYER_PKT_SIZE);
		cr_assert_arr_eq(s.payload[i], a + i * 160, 160);
		cr_assert_eq(s.hdr[i].pt, 0);
		cr_assert_eq(s.hdr[i].ssrc, 0xabc);
	}
	cr_assert_not(player_active(&p));
	free(a);
}

Test(player, marker_only_on_first_packet_of_talkspurt)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 8, PLAYER_SILENCE_ALAW, 1, 0, 0);
	start(&p, 160 * 4, 1);
	player_tick(&p, 4, 1080, sink_send, &s);
	cr_assert_eq(s.n, 4);
	cr_assert(s.hdr[0].marker);
	for (size_t i = 1; i < 4; i++)
		cr_assert_not(s.hdr[i].marker);
}

Test(player, seq_increments_by_one_and_wraps_after_65535)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 65534, 0);
	start(&p, 160 * 4, 1);
	player_tick(&p, 4, 1080, sink_send, &s);
	cr_assert_eq(s.hdr[0].seq, 65534);
	cr_assert_eq(s.hdr[1].seq, 65535);
	cr_assert_eq(s.hdr[2].seq, 0);
	cr_assert_eq(s.hdr[3].seq, 1);
}

Test(player, timestamp_advances_160_per_packet_and_wraps)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0xffffff60u);
	start(&p, 160 * 3, 1);
	player_tick(&p, 3, 1060, sink_send, &s);
	cr_assert_eq(s.hdr[0].ts, 0xffffff60u);
	cr_assert_eq(s.hdr[1].ts, 0);
	cr_assert_eq(s.hdr[2].ts, 160);
}

Test(player, last_packet_padded_with_ulaw_silence)
{
	struct player p;
	struct sink s = {0};
	uint8_t *a = ramp(200);

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	cr_assert_eq(player_start(&p, a, 200, 1, 1000), 0);
	cr_assert(player_tick(&p, 5, 1040, sink_send, &s));
	cr_assert_eq(s.n, 2, "200 bytes make 2 packets, not %zu", s.n);
	cr_assert_eq(s.len[1], PLAYER_PKT_SIZE);
	cr_assert_arr_eq(s.payload[1], a + 160, 40);
	for (size_t i = 40; i < 160; i++)
		cr_assert_eq(s.payload[1][i], 0xFF);
	free(a);
}

Test(player, last_packet_padded_with_alaw_silence)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 8, PLAYER_SILENCE_ALAW, 1, 0, 0);
	start(&p, 161, 1);
	player_tick(&p, 2, 1040, sink_send, &s);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.payload[1][0], 160 % 251);
	for (size_t i = 1; i < 160; i++)
		cr_assert_eq(s.payload[1][i], 0xD5);
}

Test(player, loops_replay_the_prompt_without_padding_between_passes)
{
	struct player p;
	struct sink s = {0};
	uint8_t *a = ramp(100);

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	cr_assert_eq(player_start(&p, a, 100, 3, 1000), 0);
	/* 300 bytes: 160 + 140 padded. */
	cr_assert(player_tick(&p, 10, 1040, sink_send, &s));
	cr_assert_eq(s.n, 2);
	cr_assert_arr_eq(s.payload[0], a, 100);
	cr_assert_arr_eq(s.payload[0] + 100, a, 60);
	cr_assert_arr_eq(s.payload[1], a + 60, 40);
	cr_assert_arr_eq(s.payload[1] + 40, a, 100);
	for (size_t i = 140; i < 160; i++)
		cr_assert_eq(s.payload[1][i], 0xFF);
	free(a);
}

Test(player, zero_loops_plays_once)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	start(&p, 320, 0);
	cr_assert(player_tick(&p, 10, 1040, sink_send, &s));
	cr_assert_eq(s.n, 2);
}

Test(player, one_period_per_tick_sends_one_packet)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	start(&p, 160 * 3, 1);
	cr_assert_not(player_tick(&p, 1, 1020, sink_send, &s));
	cr_assert_eq(s.n, 1);
	cr_assert_not(player_tick(&p, 1, 1040, sink_send, &s));
	cr_assert_eq(s.n, 2);
	cr_assert(player_tick(&p, 1, 1060, sink_send, &s));
	cr_assert_eq(s.n, 3);
	cr_assert_not(player_tick(&p, 1, 1080, sink_send, &s));
	cr_assert_eq(s.n, 3, "nothing after the end");
}

Test(player, late_tick_sends_every_missed_packet_to_keep_real_time)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 10, 1000);
	start(&p, 160 * 10, 1);
	player_tick(&p, 1, 1020, sink_send, &s);
	/* The loop was busy for 80 ms: the timer reports 4 expirations. */
	cr_assert_not(player_tick(&p, 4, 1100, sink_send, &s));
	cr_assert_eq(s.n, 5);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(s.hdr[i].seq, 10 + i);
		cr_assert_eq(s.hdr[i].ts, 1000 + 160 * i);
	}
	cr_assert_eq(s.payload[4][0], (4 * 160) % 251, "no audio skipped");
	player_stop(&p);
}

Test(player, stall_beyond_catchup_cap_drops_old_audio_and_keeps_clock)
{
	struct player p;
	struct sink s = {0};
	uint8_t *a = ramp(160 * 60);

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	cr_assert_eq(player_start(&p, a, 160 * 60, 1, 1000), 0);
	/* 1 s stall = 50 periods: only the newest 25 are sent. */
	cr_assert_not(player_tick(&p, 50, 2000, sink_send, &s));
	cr_assert_eq(s.n, PLAYER_MAX_CATCHUP);
	cr_assert_eq(s.hdr[0].seq, 0, "no sequence gap: nothing was lost");
	cr_assert(s.hdr[0].marker);
	cr_assert_not(s.hdr[1].marker);
	cr_assert_eq(s.hdr[0].ts, 25 * 160, "timestamp covers the stall");
	cr_assert_arr_eq(s.payload[0], a + 25 * 160, 160);
	cr_assert_eq(s.hdr[24].ts, 49 * 160);
	player_stop(&p);
	free(a);
}

Test(player, skipped_audio_resumes_with_marker_and_next_seq)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 500, 0);
	start(&p, 160 * 10, 1);
	player_tick(&p, 2, 1040, sink_send, &s);
	/* On hold for 3 periods. */
	cr_assert_not(player_skip(&p, 3));
	player_tick(&p, 1, 1120, sink_send, &s);
	cr_assert_eq(s.n, 3);
	cr_assert(s.hdr[2].marker);
	cr_assert_eq(s.hdr[2].seq, 502);
	cr_assert_eq(s.hdr[2].ts, 5 * 160);
	cr_assert_eq(s.payload[2][0], (5 * 160) % 251);
	player_stop(&p);
}

Test(player, stall_longer_than_prompt_ends_it)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	start(&p, 160 * 10, 1);
	cr_assert(player_tick(&p, 100, 3000, sink_send, &s));
	cr_assert_eq(s.n, 0);
	cr_assert_not(player_active(&p));
}

Test(player, new_prompt_replaces_current_with_marker_and_continuous_clock)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	start(&p, 160 * 10, 1);
	player_tick(&p, 2, 1040, sink_send, &s);
	start(&p, 160 * 2, 1);
	cr_assert(player_tick(&p, 5, 1080, sink_send, &s));
	cr_assert_eq(s.n, 4);
	cr_assert(s.hdr[2].marker);
	cr_assert_eq(s.hdr[2].seq, 2);
	cr_assert_eq(s.hdr[2].ts, 320);
	cr_assert_eq(s.payload[2][1], 1, "new prompt from its start");
}

Test(player, pause_between_prompts_advances_timestamp_not_seq)
{
	struct player p;
	struct sink s = {0};
	uint8_t *a = ramp(160);

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	cr_assert_eq(player_start(&p, a, 160, 1, 1000), 0);
	cr_assert(player_tick(&p, 1, 1020, sink_send, &s));
	/* Next prompt 1 s after the last packet: 49 periods of silence. */
	cr_assert_eq(player_start(&p, a, 160, 1, 2020), 0);
	cr_assert(player_tick(&p, 1, 2040, sink_send, &s));
	cr_assert_eq(s.hdr[1].seq, 1);
	cr_assert_eq(s.hdr[1].ts, 160 + 49 * 160);
	cr_assert(s.hdr[1].marker);
	free(a);
}

Test(player, empty_prompt_is_refused)
{
	struct player p;
	uint8_t b = 0;

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	cr_assert_eq(player_start(&p, &b, 0, 1, 0), -EINVAL);
	cr_assert_not(player_active(&p));
	cr_assert_eq(player_next(&p, (uint8_t[PLAYER_PKT_SIZE]){0}, 0), 0);
}

Test(player, stop_frees_the_prompt_and_idles)
{
	struct player p;
	struct sink s = {0};

	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 0, 0);
	start(&p, 160 * 5, 2);
	player_stop(&p);
	cr_assert_not(player_active(&p));
	cr_assert_not(player_tick(&p, 3, 1060, sink_send, &s));
	cr_assert_eq(s.n, 0);
}

Test(player, shared_audio_is_referenced_not_copied_and_released)
{
	struct player p;
	struct sink s = {0};
	uint8_t *a = mem_alloc(320, NULL);

	cr_assert_not_null(a);
	memset(a, 0x42, 320);
	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 1, 1);
	cr_assert_eq(player_start_ref(&p, a, 320, 1, 1000), 0);
	cr_assert_eq(mem_nrefs(a), 2);
	cr_assert_eq(p.audio, a, "no copy");
	/* The owner (the prompt cache) lets go: the player keeps it. */
	mem_deref(a);
	cr_assert(player_tick(&p, 2, 1040, sink_send, &s));
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.payload[1][159], 0x42);
	cr_assert_not(player_active(&p)); /* and released it at the end */
}

Test(player, replacing_a_shared_prompt_drops_its_reference)
{
	struct player p;
	uint8_t *a = mem_alloc(160, NULL);
	uint8_t *b = mem_alloc(160, NULL);

	memset(a, 1, 160);
	memset(b, 2, 160);
	player_init(&p, 0, PLAYER_SILENCE_ULAW, 1, 1, 1);
	cr_assert_eq(player_start_ref(&p, a, 160, 1, 1000), 0);
	cr_assert_eq(player_start_ref(&p, b, 160, 1, 1000), 0);
	cr_assert_eq(mem_nrefs(a), 1);
	cr_assert_eq(mem_nrefs(b), 2);
	/* The same buffer again (a Play of the same cached prompt). */
	cr_assert_eq(player_start_ref(&p, b, 160, 1, 1000), 0);
	cr_assert_eq(mem_nrefs(b), 2);
	player_stop(&p);
	cr_assert_eq(mem_nrefs(b), 1);
	cr_assert_eq(player_start_ref(&p, NULL, 160, 1, 1000), -EINVAL);
	mem_deref(a);
	mem_deref(b);
}
