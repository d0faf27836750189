/* Tests for rtp_latch.c: which packets on a leg's port come from its peer
 * (exact SDP address, a run from the SDP IP or from anywhere behind a
 * NAT, the latched source only afterwards, SSRC restarts, re-INVITE to a
 * new address, sprays before and after the latch). */
#include <criterion/criterion.h>

#include "pbx_test.h"
#include "rtp_latch.h"

TestSuite(rtp_latch, .fini = pbx_test_fini);

static struct sa A(const char *ip, uint16_t port)
{
	struct sa sa;

	cr_assert_eq(sa_set_str(&sa, ip, port), 0, "%s", ip);
	return sa;
}

/* An open latch whose peer's SDP says ip:port. */
static struct rtp_latch opened(const char *ip, uint16_t port)
{
	struct rtp_latch l = {0};
	struct sa sdp = A(ip, port);

	rtp_latch_sdp(&l, &sdp);
	rtp_latch_open(&l);
	return l;
}

/* n valid packets from ip:port with ssrc; the verdict of the last. */
static enum rtp_latch_verdict send_n(struct rtp_latch *l, const char *ip,
				     uint16_t port, uint32_t ssrc, unsigned n)
{
	struct sa src = A(ip, port);
	enum rtp_latch_verdict v = RTP_LATCH_DROP;

	for (unsigned i = 0; i < n; i++)
		v = rtp_latch_check(l, &src, ssrc, true);
	return v;
}

static bool passes(enum rtp_latch_verdict v)
{
	return v == RTP_LATCH_PASS || v == RTP_LATCH_LATCHED;
}

/* One blind spray pass: one valid packet to this port from each of many
 * sources on the attacker's host, fresh SSRCs. Returns packets passed. */
static unsigned spray(struct rtp_latch *l, const char *ip, unsigned pkts)
{
	unsigned passed = 0;

	for (unsigned i = 0; i < pkts; i++)
		passed += passes(send_n(l, ip, (uint16_t)(40000 + i % 7),
					0xbad0 + i, 1));
	return passed;
}

Test(rtp_latch, nothing_passes_before_the_sdp_exchange)
{
	struct rtp_latch l = {0};
	struct sa sdp = A("203.0.113.5", 4000);

	rtp_latch_sdp(&l, &sdp);
	/* Our answer has not gone out: nobody can know our port. */
	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 1, 10), RTP_LATCH_DROP);
	cr_assert_eq(l.dropped, 10);
	rtp_latch_open(&l);
	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 1, 1),
		     RTP_LATCH_LATCHED);
}

Test(rtp_latch, the_exact_sdp_address_latches_on_its_first_packet)
{
	struct rtp_latch l = opened("203.0.113.5", 4000);

	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 7, 1),
		     RTP_LATCH_LATCHED);
	cr_assert(l.exact);
	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 7, 5), RTP_LATCH_PASS);
	cr_assert_eq(l.latches, 1);
	cr_assert_eq(l.dropped, 0);
}

Test(rtp_latch, other_sources_are_dropped_once_latched)
{
	struct rtp_latch l = opened("203.0.113.5", 4000);

	send_n(&l, "203.0.113.5", 4000, 7, 1);
	/* Another host, the same host on another port, a long run, RTCP or
	 * garbage types: all dropped. */
	cr_assert_eq(send_n(&l, "198.51.100.9", 4000, 9, 50), RTP_LATCH_DROP);
	cr_assert_eq(send_n(&l, "203.0.113.5", 4002, 9, 50), RTP_LATCH_DROP);
	cr_assert_eq(spray(&l, "198.51.100.9", 1000), 0);
	cr_assert_eq(l.latches, 1);
	cr_assert_eq(l.dropped, 1100);
	/* The peer is unaffected. */
	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 7, 1), RTP_LATCH_PASS);
}

Test(rtp_latch, an_ssrc_change_from_the_latched_source_passes)
{
	struct rtp_latch l = opened("203.0.113.5", 4000);
	struct sa src = A("203.0.113.5", 4000);

	send_n(&l, "203.0.113.5", 4000, 7, 3);
	/* The phone restarts its stream; and packets of types we did not
	 * agree on (RTCP on the RTP port) from it pass to the leg, which
	 * ignores them, so they still count as "alive". */
	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 8, 1), RTP_LATCH_PASS);
	cr_assert_eq(rtp_latch_check(&l, &src, 99, false), RTP_LATCH_PASS);
	cr_assert_eq(l.dropped, 0);
}

Test(rtp_latch, routable_sdp_latches_a_run_from_its_ip_on_another_port)
{
	struct rtp_latch l = opened("203.0.113.5", 4000);

	/* A port-changing NAT in front of a phone that learnt its public IP,
	 * or a tester sending from another socket: five in a row. */
	cr_assert_eq(send_n(&l, "203.0.113.5", 17000, 3, 4),
		     RTP_LATCH_RUN_ON);
	cr_assert_eq(l.dropped, 4);
	cr_assert_eq(send_n(&l, "203.0.113.5", 17000, 3, 1),
		     RTP_LATCH_LATCHED);
	cr_assert_not(l.exact);
	cr_assert_eq(send_n(&l, "203.0.113.5", 17000, 3, 1), RTP_LATCH_PASS);
}

Test(rtp_latch, routable_sdp_never_latches_another_ip)
{
	struct rtp_latch l = opened("203.0.113.5", 4000);

	cr_assert_eq(send_n(&l, "198.51.100.9", 4000, 9, 500), RTP_LATCH_DROP);
	cr_assert_not(l.latched);
	/* Loopback is not private either: the e2e setup. */
	l = opened("127.0.0.2", 32000);
	cr_assert_eq(send_n(&l, "127.0.0.9", 32000, 9, 500), RTP_LATCH_DROP);
	cr_assert_eq(send_n(&l, "127.0.0.2", 17000, 1, 5), RTP_LATCH_LATCHED);
}

Test(rtp_latch, private_sdp_latches_the_first_run_from_anywhere)
{
	struct rtp_latch l = opened("192.168.1.10", 4000);

	/* Behind a NAT: the packets come from its public side. */
	cr_assert_eq(send_n(&l, "198.51.100.77", 61234, 5, 4),
		     RTP_LATCH_RUN_ON);
	cr_assert_eq(send_n(&l, "198.51.100.77", 61234, 5, 1),
		     RTP_LATCH_LATCHED);
	cr_assert_eq(send_n(&l, "198.51.100.9", 7000, 9, 50), RTP_LATCH_DROP);
}

Test(rtp_latch, a_run_is_broken_by_another_source_or_ssrc)
{
	struct rtp_latch l = opened("10.0.0.10", 4000);

	send_n(&l, "198.51.100.77", 61234, 5, 4);
	send_n(&l, "198.51.100.9", 7000, 9, 1); /* a sprayed packet */
	cr_assert_eq(send_n(&l, "198.51.100.77", 61234, 5, 4),
		     RTP_LATCH_RUN_ON);
	send_n(&l, "198.51.100.77", 61234, 6, 1); /* another SSRC */
	cr_assert_eq(send_n(&l, "198.51.100.77", 61234, 6, 3),
		     RTP_LATCH_RUN_ON);
	cr_assert_eq(send_n(&l, "198.51.100.77", 61234, 6, 1),
		     RTP_LATCH_LATCHED);
}

Test(rtp_latch, a_blind_spray_never_latches_a_natted_leg)
{
	struct rtp_latch l = opened("192.168.1.10", 4000);

	/* One packet per source and SSRC: never a run. */
	cr_assert_eq(spray(&l, "198.51.100.9", 5000), 0);
	cr_assert_not(l.latched);
	/* Interleaved with the peer's stream: the peer still latches. */
	for (int i = 0; i < 20 && !l.latched; i++) {
		send_n(&l, "198.51.100.77", 61234, 5, 1);
		if (i % 6 == 5)
			spray(&l, "198.51.100.9", 1);
	}
	cr_assert(l.latched);
	cr_assert_eq(sa_port(&l.src), 61234, "latched to port %u",
		     sa_port(&l.src));
}

Test(rtp_latch, invalid_types_never_latch)
{
	struct rtp_latch l = opened("203.0.113.5", 4000);
	struct sa src = A("203.0.113.5", 4000);

	for (int i = 0; i < 10; i++)
		cr_assert_eq(rtp_latch_check(&l, &src, 1, false),
			     RTP_LATCH_DROP);
	cr_assert_not(l.latched);
}

Test(rtp_latch, the_exact_address_wins_over_a_run)
{
	struct rtp_latch l = opened("192.168.1.10", 4000);

	/* Someone latched first by a run (before the peer sent anything);
	 * the peer's packets from its SDP address take the leg back. */
	send_n(&l, "198.51.100.9", 7000, 9, 5);
	cr_assert(l.latched);
	cr_assert_eq(send_n(&l, "192.168.1.10", 4000, 1, 1),
		     RTP_LATCH_LATCHED);
	cr_assert(l.exact);
	cr_assert_eq(send_n(&l, "198.51.100.9", 7000, 9, 50), RTP_LATCH_DROP);
	cr_assert_eq(l.latches, 2);
}

Test(rtp_latch, reinvite_to_a_new_port_relatches_there)
{
	struct rtp_latch l = opened("203.0.113.5", 4000);
	struct sa moved = A("203.0.113.5", 5000);

	send_n(&l, "203.0.113.5", 4000, 1, 3);
	rtp_latch_sdp(&l, &moved);
	/* Until the phone's packets come from the new port, the old one
	 * still passes; then only the new one. */
	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 1, 2), RTP_LATCH_PASS);
	cr_assert_eq(send_n(&l, "203.0.113.5", 5000, 2, 1),
		     RTP_LATCH_LATCHED);
	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 1, 1), RTP_LATCH_DROP);
	cr_assert_eq(send_n(&l, "203.0.113.5", 5000, 2, 1), RTP_LATCH_PASS);
}

Test(rtp_latch, reinvite_that_keeps_the_natted_source_closes_again)
{
	struct rtp_latch l = opened("192.168.1.10", 4000);
	struct sa moved = A("192.168.1.10", 4002);

	send_n(&l, "198.51.100.77", 61234, 5, 5);
	rtp_latch_sdp(&l, &moved);
	cr_assert(l.relatch);
	/* The NAT keeps its mapping: a run from the old source confirms it
	 * and closes the window; a sprayer gets nothing either way. */
	cr_assert_eq(send_n(&l, "198.51.100.77", 61234, 5, 5), RTP_LATCH_PASS);
	cr_assert_not(l.relatch);
	cr_assert_eq(send_n(&l, "198.51.100.9", 7000, 9, 50), RTP_LATCH_DROP);
	cr_assert_eq(l.latches, 1);
}

Test(rtp_latch, hold_and_refresh_keep_the_latch)
{
	struct rtp_latch l = opened("203.0.113.5", 4000);
	struct sa any = A("0.0.0.0", 4000), same = A("203.0.113.5", 4000);

	send_n(&l, "203.0.113.5", 4000, 1, 1);
	rtp_latch_sdp(&l, &any);  /* c=0.0.0.0 hold */
	rtp_latch_sdp(&l, &same); /* resume, or a session refresh */
	cr_assert_not(l.relatch);
	cr_assert_eq(send_n(&l, "203.0.113.5", 4002, 1, 10), RTP_LATCH_DROP);
	cr_assert_eq(send_n(&l, "203.0.113.5", 4000, 1, 1), RTP_LATCH_PASS);
}

Test(rtp_latch, private_addresses_are_classified)
{
	const char *priv[] = {"10.1.2.3",    "172.16.0.1", "172.31.255.1",
			      "192.168.0.1", "100.64.0.1", "100.127.1.1",
			      "169.254.1.1", "fd00::1",	   "fe80::1"};
	const char *pub[] = {"8.8.8.8",	    "172.32.0.1", "172.15.0.1",
			     "192.169.0.1", "100.128.0.1", "127.0.0.1",
			     "203.0.113.5", "2001:db8::1"};

	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
		struct sa sa = A(priv[i], 1);

		cr_assert(rtp_latch_addr_private(&sa), "%s", priv[i]);
	}
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
		struct sa sa = A(pub[i], 1);

		cr_assert_not(rtp_latch_addr_private(&sa), "%s", pub[i]);
	}
}
