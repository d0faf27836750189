/* Tests for rtp_watch.c: the RTP inactivity decision (armed or not, last
 * packet, hold by the peer's own SDP, timeout 0) and the sweep that turns
 * a leg's packet count into a "last heard" stamp. */
#include <criterion/criterion.h>

#include "pbx_test.h"
#include "rtp_watch.h"

TestSuite(rtp_watch, .fini = pbx_test_fini);

Test(rtp_watch, unarmed_leg_never_times_out)
{
	struct rtp_watch w = {0};

	/* A caller not answered yet (or a callee still ringing). */
	cr_assert_not(rtp_watch_expired(&w, 10 * 60 * 1000, 2000));
	cr_assert_not(rtp_watch_sweep(&w, 0, 10 * 60 * 1000, 2000));
}

Test(rtp_watch, silent_leg_times_out_after_the_timeout_from_arming)
{
	struct rtp_watch w = {0};

	rtp_watch_arm(&w, 0, 1000);
	cr_assert_not(rtp_watch_expired(&w, 1000, 2000));
	cr_assert_not(rtp_watch_expired(&w, 2999, 2000));
	cr_assert(rtp_watch_expired(&w, 3000, 2000));
	cr_assert(rtp_watch_expired(&w, 99999, 2000));
}

Test(rtp_watch, packets_before_arming_do_not_count)
{
	struct rtp_watch w = {0};

	/* 40 packets of early media before the answer. */
	rtp_watch_arm(&w, 40, 1000);
	cr_assert_not(rtp_watch_sweep(&w, 40, 2000, 2000));
	cr_assert_eq(w.last_rx_ms, 0);
	cr_assert(rtp_watch_sweep(&w, 40, 3000, 2000));
}

Test(rtp_watch, any_new_packet_restarts_the_window)
{
	struct rtp_watch w = {0};

	rtp_watch_arm(&w, 0, 1000);
	cr_assert_not(rtp_watch_sweep(&w, 1, 2500, 2000)); /* one packet */
	cr_assert_eq(w.last_rx_ms, 2500);
	cr_assert_not(rtp_watch_sweep(&w, 1, 4000, 2000)); /* 1.5 s quiet */
	cr_assert_not(rtp_watch_sweep(&w, 1, 4499, 2000));
	cr_assert(rtp_watch_sweep(&w, 1, 4500, 2000));
}

Test(rtp_watch, streaming_leg_never_times_out)
{
	struct rtp_watch w = {0};
	uint64_t pkts = 0;

	rtp_watch_arm(&w, 0, 0);
	for (uint64_t t = 500; t <= 60000; t += 500) {
		pkts += 25; /* 20 ms packets */
		cr_assert_not(rtp_watch_sweep(&w, pkts, t, 2000), "at %llu",
			      (unsigned long long)t);
	}
}

Test(rtp_watch, peer_on_hold_is_exempt)
{
	struct rtp_watch w = {0};

	rtp_watch_arm(&w, 0, 1000);
	rtp_watch_hold(&w, true, 1500); /* re-INVITE a=sendonly/inactive */
	cr_assert_not(rtp_watch_expired(&w, 1000 + 3600 * 1000, 2000));
	cr_assert_not(rtp_watch_sweep(&w, 0, 1000 + 3600 * 1000, 2000));
}

Test(rtp_watch, resume_from_hold_gives_the_whole_timeout_again)
{
	struct rtp_watch w = {0};

	rtp_watch_arm(&w, 0, 1000);
	rtp_watch_hold(&w, true, 1500);
	rtp_watch_hold(&w, false, 100000); /* back to sendrecv */
	cr_assert_not(rtp_watch_expired(&w, 101999, 2000));
	cr_assert(rtp_watch_expired(&w, 102000, 2000));
}

Test(rtp_watch, sdp_without_hold_change_keeps_the_window)
{
	struct rtp_watch w = {0};

	/* A session-refresh re-INVITE (still sendrecv) is no RTP: a peer
	 * whose audio never arrives must not be kept alive by it. */
	rtp_watch_arm(&w, 0, 1000);
	rtp_watch_hold(&w, false, 2500);
	cr_assert(rtp_watch_expired(&w, 3000, 2000));
}

Test(rtp_watch, hold_before_answer_is_remembered)
{
	struct rtp_watch w = {0};

	/* The INVITE itself was a=sendonly: exempt from the answer on. */
	rtp_watch_hold(&w, true, 500);
	rtp_watch_arm(&w, 0, 1000);
	cr_assert_not(rtp_watch_expired(&w, 100000, 2000));
}

Test(rtp_watch, zero_timeout_disables)
{
	struct rtp_watch w = {0};

	rtp_watch_arm(&w, 0, 1000);
	cr_assert_not(rtp_watch_expired(&w, UINT64_MAX, 0));
	cr_assert_not(rtp_watch_sweep(&w, 0, UINT64_MAX, 0));
}

Test(rtp_watch, clock_before_the_stamp_is_not_a_timeout)
{
	struct rtp_watch w = {0};

	rtp_watch_arm(&w, 0, 5000);
	cr_assert_not(rtp_watch_expired(&w, 1000, 2000));
}

Test(rtp_watch, sweep_period_is_a_quarter_between_20_ms_and_1_s)
{
	cr_assert_eq(rtp_watch_period_ms(2000), 500);
	cr_assert_eq(rtp_watch_period_ms(60000), 1000);
	cr_assert_eq(rtp_watch_period_ms(3600000), 1000);
	cr_assert_eq(rtp_watch_period_ms(40), 20);
	cr_assert_eq(rtp_watch_period_ms(1), 20);
}
