/* pbx_rtp_lease against a real redis-server: configured ranges that
 * overlap a live worker's are refused naming it, blocks are allocated
 * from a pool without overlap, leases expire and renew, a worker's own
 * lease never conflicts with it, and the drain mark comes back with the
 * lease (an "exit" mark settles to "wait"). Also the registry value
 * format (pbx_worker_reg). */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>

#include "pbx_rtp_lease.h"
#include "pbx_test.h"
#include "pbx_worker_reg.h"
#include "redis_fixture.h"

static struct redis_fixture rf;
static redisContext *rc;

static void setup(void)
{
	struct timeval tv = {2, 0};

	cr_assert_eq(redis_fixture_start(&rf), 0, "redis-server");
	rc = redisConnectWithTimeout("127.0.0.1", rf.port, tv);
	cr_assert(rc && !rc->err);
}

static void teardown(void)
{
	if (rc)
		redisFree(rc);
	redis_fixture_stop(&rf);
	pbx_test_fini();
}

TestSuite(pbx_rtp_lease, .init = setup, .fini = teardown);

static int vcmd(void *arg, struct redisReply **rp, const char *fmt,
		va_list ap)
{
	redisReply *r = redisvCommand(arg, fmt, ap);

	if (!r)
		return -EIO;
	*rp = r;
	return 0;
}

static int claim(const char *id, unsigned lo, unsigned hi, unsigned block,
		 unsigned lease_ms, struct pbx_rtp_lease *l)
{
	struct pbx_rtp_claim q = {id, lo, hi, block, lease_ms};

	return pbx_rtp_lease_claim(vcmd, rc, &q, l);
}

static void cmd(const char *c)
{
	redisReply *r = redisCommand(rc, c);

	cr_assert_not_null(r);
	freeReplyObject(r);
}

Test(pbx_rtp_lease, configured_ranges_apart_are_both_claimed)
{
	struct pbx_rtp_lease l;

	cr_assert_eq(claim("mw1", 20000, 24998, 0, 10000, &l), 0);
	cr_expect_eq(l.min, 20000);
	cr_expect_eq(l.max, 24998);
	cr_expect_str_eq(l.drain, "");
	cr_assert_eq(claim("mw2", 25000, 29998, 0, 10000, &l), 0);
	cr_expect_eq(l.min, 25000);
}

Test(pbx_rtp_lease, overlapping_range_is_refused_naming_the_live_worker)
{
	struct pbx_rtp_lease l;

	cr_assert_eq(claim("mw1", 20000, 24998, 0, 10000, &l), 0);
	/* The last port of mw1's range is enough. */
	cr_assert_eq(claim("mw9", 24998, 26000, 0, 10000, &l), -EADDRINUSE);
	cr_expect_str_eq(l.other, "mw1");
	cr_expect_eq(l.min, 20000);
	cr_expect_eq(l.max, 24998);
	/* Inside it, and around it. */
	cr_expect_eq(claim("mw9", 21000, 21010, 0, 10000, &l), -EADDRINUSE);
	cr_expect_eq(claim("mw9", 10000, 30000, 0, 10000, &l), -EADDRINUSE);
	/* Right next to it is fine. */
	cr_expect_eq(claim("mw9", 24999, 26000, 0, 10000, &l), 0);
}

Test(pbx_rtp_lease, own_old_lease_never_conflicts)
{
	struct pbx_rtp_lease l;

	cr_assert_eq(claim("mw1", 20000, 24998, 0, 10000, &l), 0);
	/* Restarted under the same id with another range. */
	cr_assert_eq(claim("mw1", 22000, 23000, 0, 10000, &l), 0);
	cr_expect_eq(l.min, 22000);
	/* Its old 20000-21999 is free for others now. */
	cr_expect_eq(claim("mw2", 20000, 21999, 0, 10000, &l), 0);
}

Test(pbx_rtp_lease, expired_lease_frees_the_range)
{
	struct pbx_rtp_lease l;

	cr_assert_eq(claim("mw1", 20000, 24998, 0, 300, &l), 0);
	cr_assert_eq(claim("mw2", 20000, 24998, 0, 10000, &l), -EADDRINUSE);
	usleep(400 * 1000);
	cr_assert_eq(claim("mw2", 20000, 24998, 0, 10000, &l), 0);
	/* mw1's renewal now finds mw2 there. */
	cr_assert_eq(claim("mw1", 20000, 24998, 0, 300, &l), -EADDRINUSE);
	cr_expect_str_eq(l.other, "mw2");
}

Test(pbx_rtp_lease, renewal_keeps_a_short_lease_alive)
{
	struct pbx_rtp_lease l;

	for (int i = 0; i < 5; i++) {
		cr_assert_eq(claim("mw1", 20000, 20099, 0, 300, &l), 0);
		usleep(150 * 1000);
	}
	cr_expect_eq(claim("mw2", 20050, 20060, 0, 300, &l), -EADDRINUSE);
}

Test(pbx_rtp_lease, blocks_from_a_pool_never_overlap)
{
	struct pbx_rtp_lease l, a, b, c;

	/* A configured worker sits in the middle of the pool. */
	cr_assert_eq(claim("mw1", 20100, 20199, 0, 10000, &l), 0);
	cr_assert_eq(claim("p1", 20000, 20499, 100, 10000, &a), 0);
	cr_assert_eq(claim("p2", 20000, 20499, 100, 10000, &b), 0);
	cr_assert_eq(claim("p3", 20000, 20499, 100, 10000, &c), 0);
	cr_expect_eq(a.min, 20000);
	cr_expect_eq(a.max, 20099);
	cr_expect_eq(b.min, 20200, "skips mw1's 20100-20199");
	cr_expect_eq(c.min, 20300);
	cr_expect_eq(c.max, 20399);
	/* One more fits (20400-20499), then the pool is full. */
	cr_assert_eq(claim("p4", 20000, 20499, 100, 10000, &l), 0);
	cr_expect_eq(l.min, 20400);
	cr_expect_eq(claim("p5", 20000, 20499, 100, 10000, &l), -ENOSPC);
	/* A block given back is taken again. */
	cr_assert_eq(pbx_rtp_lease_release(vcmd, rc, "p2"), 0);
	cr_assert_eq(claim("p5", 20000, 20499, 100, 10000, &l), 0);
	cr_expect_eq(l.min, 20200);
}

Test(pbx_rtp_lease, block_skips_a_lease_that_starts_before_it)
{
	struct pbx_rtp_lease l;
	/* Leases the script itself would never grant together (two
	 * workers configured into each other while Redis was away). */
	static const char *const held[][2] = {
		{"a", "20000 20010 99999999999999"},
		{"b", "20005 20200 99999999999999"},
		{"c", "20100 20150 99999999999999"},
	};

	for (size_t i = 0; i < 3; i++) {
		redisReply *r = redisCommand(rc, "HSET pbx:{sys}:rtp:leases "
						 "%s %s",
					     held[i][0], held[i][1]);

		cr_assert_not_null(r);
		freeReplyObject(r);
	}
	cr_assert_eq(claim("p", 20000, 30000, 50, 10000, &l), 0);
	cr_expect_eq(l.min, 20201);
	cr_expect_eq(l.max, 20250);
}

Test(pbx_rtp_lease, drain_mark_comes_back_and_exit_settles_to_wait)
{
	struct pbx_rtp_lease l;

	cmd("HSET pbx:{sys}:worker:drain mw1 exit");
	cr_assert_eq(claim("mw1", 20000, 20099, 0, 10000, &l), 0);
	cr_expect_str_eq(l.drain, PBX_DRAIN_EXIT);
	cr_assert_eq(pbx_worker_drain_settle(vcmd, rc, "mw1"), 0);
	cr_assert_eq(claim("mw1", 20000, 20099, 0, 10000, &l), 0);
	cr_expect_str_eq(l.drain, PBX_DRAIN_WAIT);
	/* Settling leaves a plain drain and no mark alone. */
	cr_assert_eq(pbx_worker_drain_settle(vcmd, rc, "mw1"), 0);
	cr_assert_eq(pbx_worker_drain_settle(vcmd, rc, "mw2"), 0);
	cr_assert_eq(claim("mw2", 20100, 20199, 0, 10000, &l), 0);
	cr_expect_str_eq(l.drain, "");
	cmd("HDEL pbx:{sys}:worker:drain mw1");
	cr_assert_eq(claim("mw1", 20000, 20099, 0, 10000, &l), 0);
	cr_expect_str_eq(l.drain, "");
}

Test(pbx_rtp_lease, bad_claims_are_refused_before_redis)
{
	struct pbx_rtp_lease l;

	cr_expect_eq(claim("bad id", 20000, 20099, 0, 10000, &l), -EINVAL);
	cr_expect_eq(claim("sys}", 20000, 20099, 0, 10000, &l), -EINVAL);
	cr_expect_eq(claim("mw1", 30000, 20099, 0, 10000, &l), -EINVAL);
	cr_expect_eq(claim("mw1", 20000, 70000, 0, 10000, &l), -EINVAL);
	cr_expect_eq(claim("mw1", 20000, 20099, 101, 10000, &l), -EINVAL);
	cr_expect_eq(claim("mw1", 20000, 20099, 0, 0, &l), -EINVAL);
}

Test(pbx_rtp_lease, garbage_lease_values_are_dropped)
{
	struct pbx_rtp_lease l;

	cmd("HSET pbx:{sys}:rtp:leases junk notalease");
	cr_assert_eq(claim("mw1", 20000, 20099, 0, 10000, &l), 0);
	cr_expect_eq(claim("mw2", 20000, 20099, 0, 10000, &l), -EADDRINUSE);
}

Test(pbx_rtp_lease, redis_down_is_an_error_not_a_claim)
{
	struct pbx_rtp_lease l;

	redis_fixture_stop(&rf);
	cr_expect_neq(claim("mw1", 20000, 20099, 0, 10000, &l), 0);
}

Test(pbx_worker_reg, value_round_trips_with_and_without_rtp)
{
	struct pbx_worker_reg a = {.seen_ms = 1700000000123ULL,
				   .load = 3,
				   .capacity = 500,
				   .draining = true,
				   .drain_exit = true,
				   .sip_uri = "sip:127.0.0.1:5080",
				   .rtp_ip = "127.0.0.1",
				   .rtp_min = 20000,
				   .rtp_max = 24998},
			      b;
	char v[320];

	cr_assert_eq(pbx_worker_reg_format(v, sizeof(v), &a), 0);
	cr_expect_str_eq(v, "1700000000123 3 500 1 sip:127.0.0.1:5080 "
			    "127.0.0.1 20000-24998 1");
	cr_assert_eq(pbx_worker_reg_parse(v, &b), 0);
	cr_expect_eq(b.seen_ms, a.seen_ms);
	cr_expect_eq(b.rtp_min, 20000);
	cr_expect_eq(b.rtp_max, 24998);
	cr_expect(b.drain_exit);
	cr_expect_str_eq(b.rtp_ip, "127.0.0.1");
	/* An older router's value: no RTP part. */
	cr_assert_eq(pbx_worker_reg_parse("1 2 3 0 sip:127.0.0.1:5082", &b),
		     0);
	cr_expect_str_eq(b.rtp_ip, "");
	cr_expect_eq(b.rtp_max, 0);
	cr_expect_neq(pbx_worker_reg_parse("1 2 3 0 http://x", &b), 0);
	cr_expect_neq(pbx_worker_reg_parse("1 2 3 0 sip:a 1.2.3.4 9-8 0", &b),
		      0);
	cr_expect_neq(pbx_worker_reg_parse("1 2 3 0 sip:a 1.2.3.4 1-2 0 x",
					   &b),
		      0);
	snprintf(a.rtp_ip, sizeof(a.rtp_ip), "a b");
	cr_expect_eq(pbx_worker_reg_format(v, sizeof(v), &a), -EINVAL);
	cr_expect_eq(pbx_worker_reg_format(v, 10, &b), -ENAMETOOLONG);
}
