/* Worker registry: registry values, liveness, draining and least-loaded
 * choice (Redis is not connected here; the registry works from memory). */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <string.h>
#include <unistd.h>

#include "pbx_clock.h"
#include "pbx_test.h"
#include "test_port.h"
#include "workers.h"

static struct workers *w;

static void setup(void)
{
	cr_assert_eq(workers_alloc(&w, NULL, 3000, 30000), 0);
}

static void teardown(void)
{
	workers_free(w);
	pbx_clock_fake(0);
	pbx_test_fini();
}

TestSuite(workers, .init = setup, .fini = teardown);

static void beat_on(int fd, const char *id, const char *uri, unsigned load,
		    unsigned cap, bool draining)
{
	Pbx__V1__WorkerHeartbeat hb = PBX__V1__WORKER_HEARTBEAT__INIT;

	hb.worker_id = (char *)id;
	hb.sip_uri = (char *)uri;
	hb.load = load;
	hb.capacity = cap;
	hb.draining = draining;
	workers_heartbeat(w, &hb, fd);
}

static void beat(const char *id, const char *uri, unsigned load,
		 unsigned cap, bool draining)
{
	beat_on(-1, id, uri, load, cap, draining);
}

Test(workers, parse_reads_registry_value)
{
	struct worker_info wi;

	cr_assert_eq(workers_parse("mw1", "1700000000000 3 500 0 "
					  "sip:127.0.0.1:5080",
				   &wi),
		     0);
	cr_assert_str_eq(wi.sip_uri, "sip:127.0.0.1:5080");
	cr_assert_eq(wi.load, 3);
	cr_assert_eq(wi.capacity, 500);
	cr_assert_eq(wi.draining, false);
	cr_assert_eq(wi.rtp_max, 0, "no RTP part: an older router's value");
	cr_assert_eq(workers_parse("mw2", "1700000000000 0 500 1 "
					  "sip:127.0.0.1:5082 127.0.0.1 "
					  "25000-29998 1",
				   &wi),
		     0);
	cr_assert_str_eq(wi.rtp_ip, "127.0.0.1");
	cr_assert_eq(wi.rtp_min, 25000);
	cr_assert_eq(wi.rtp_max, 29998);
	cr_assert(wi.draining && wi.drain_exit);
	cr_assert_neq(workers_parse("mw1", "garbage", &wi), 0);
	cr_assert_neq(workers_parse("mw1", "1 2 3 0 http://x", &wi), 0);
}

/* The heartbeat's RTP range and exit flag reach the registry entry. */
Test(workers, heartbeat_rtp_range_is_recorded)
{
	Pbx__V1__WorkerHeartbeat hb = PBX__V1__WORKER_HEARTBEAT__INIT;
	const struct worker_info *wi;

	hb.worker_id = "mw3";
	hb.sip_uri = "sip:127.0.0.1:5084";
	hb.capacity = 10;
	hb.rtp_ip = "127.0.0.1";
	hb.rtp_port_min = 30000;
	hb.rtp_port_max = 34998;
	workers_heartbeat(w, &hb, -1);
	wi = workers_pick(w);
	cr_assert_not_null(wi);
	cr_assert_str_eq(wi->rtp_ip, "127.0.0.1");
	cr_assert_eq(wi->rtp_min, 30000);
	cr_assert_eq(wi->rtp_max, 34998);
	/* An RTP address with a space would break the value: ignored. */
	hb.worker_id = "mw4";
	hb.rtp_ip = "1.2.3.4 x";
	workers_heartbeat(w, &hb, -1);
	cr_assert(!workers_live(w, "mw4"));
}

Test(workers, no_worker_means_no_pick)
{
	cr_assert_null(workers_pick(w));
}

Test(workers, burst_alternates_between_equal_workers)
{
	unsigned a = 0, b = 0;

	beat("mw1", "sip:127.0.0.1:5080", 0, 100, false);
	beat("mw2", "sip:127.0.0.1:5082", 0, 100, false);
	for (int i = 0; i < 10; i++) {
		const struct worker_info *wi = workers_pick(w);

		cr_assert_not_null(wi);
		if (!strcmp(wi->id, "mw1"))
			a++;
		else
			b++;
	}
	cr_assert_eq(a, 5);
	cr_assert_eq(b, 5);
}

Test(workers, draining_and_full_workers_get_no_calls)
{
	beat("mw1", "sip:127.0.0.1:5080", 0, 100, true);
	beat("mw2", "sip:127.0.0.1:5082", 2, 2, false);
	cr_assert_null(workers_pick(w));
	beat("mw3", "sip:127.0.0.1:5084", 50, 100, false);
	cr_assert_str_eq(workers_pick(w)->id, "mw3");
}

Test(workers, silent_worker_expires)
{
	uint64_t now = pbx_clock_now_ms();

	pbx_clock_fake(now);
	beat("mw1", "sip:127.0.0.1:5080", 0, 100, false);
	pbx_clock_fake(now + 2999);
	cr_assert_not_null(workers_pick(w));
	pbx_clock_fake(now + 3001);
	cr_assert_null(workers_pick(w));
}

Test(workers, bad_heartbeat_is_ignored)
{
	beat("bad id!", "sip:127.0.0.1:5080", 0, 100, false);
	beat("mw1", "tcp://nope", 0, 100, false);
	cr_assert_null(workers_pick(w));
}

/* ---- lost workers: dead (connection closed) vs busy (still connected) */

static unsigned lost_n;
static char lost_id[65];

static void on_lost(const char *id, uint64_t seen_ms, void *arg)
{
	(void)seen_ms;
	(void)arg;
	lost_n++;
	snprintf(lost_id, sizeof(lost_id), "%s", id);
}

/* A real TCP connection on loopback, as a worker's to the router: *srv is
 * the router's (accepted) end, *cli the worker's. */
static void tcp_pair(int *srv, int *cli)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int l = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = test_free_port();

	cr_assert(l >= 0 && port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 1), 0);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srv = accept(l, NULL, NULL);
	cr_assert(*srv >= 0);
	close(l);
}

Test(workers, busy_worker_still_connected_keeps_its_calls_until_reap_time)
{
	uint64_t now = pbx_clock_now_ms();
	int srv, cli;

	tcp_pair(&srv, &cli);
	pbx_clock_fake(now);
	beat_on(srv, "mw1", "sip:127.0.0.1:5080", 0, 100, false);
	pbx_clock_fake(now + 3001);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 0, "a silent but connected worker is not lost");
	cr_assert_null(workers_pick(w), "... but gets no new calls");
	pbx_clock_fake(now + 29999);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 0);
	pbx_clock_fake(now + 30001);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 1, "silent past worker_reap_ms: lost");
	cr_assert_str_eq(lost_id, "mw1");
	close(srv);
	close(cli);
}

Test(workers, dead_worker_whose_connection_closed_is_lost_after_ttl)
{
	uint64_t now = pbx_clock_now_ms();
	int srv, cli;

	tcp_pair(&srv, &cli);
	pbx_clock_fake(now);
	beat_on(srv, "mw1", "sip:127.0.0.1:5080", 0, 100, false);
	pbx_clock_fake(now + 2999);
	close(cli); /* the worker's process died: its kernel closes */
	close(srv); /* ... and libzmq closes ours */
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 0, "within the ttl nobody is lost");
	pbx_clock_fake(now + 3001);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 1);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 1, "reported once");
}

Test(workers, fd_number_reused_by_another_connection_counts_as_closed)
{
	uint64_t now = pbx_clock_now_ms();
	int srv, cli, srv2, cli2;

	tcp_pair(&srv, &cli);
	pbx_clock_fake(now);
	beat_on(srv, "mw1", "sip:127.0.0.1:5080", 0, 100, false);
	close(cli);
	/* Another connection takes srv's number, as an accept() after
	 * libzmq closed it would: the number is open, the peer is not the
	 * worker. */
	tcp_pair(&srv2, &cli2);
	cr_assert_eq(dup2(srv2, srv), srv);
	pbx_clock_fake(now + 3001);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 1, "a new connection on the old number is not "
				"the worker's");
	close(srv);
	close(srv2);
	close(cli2);
}

Test(workers, heartbeat_read_from_redis_keeps_the_known_connection)
{
	uint64_t now = pbx_clock_now_ms();
	int srv, cli;

	tcp_pair(&srv, &cli);
	pbx_clock_fake(now);
	beat_on(srv, "mw1", "sip:127.0.0.1:5080", 0, 100, false);
	/* The same worker's later heartbeat that reached another router
	 * (no connection of ours) keeps ours known: still connected. */
	pbx_clock_fake(now + 1000);
	beat("mw1", "sip:127.0.0.1:5080", 0, 100, false);
	pbx_clock_fake(now + 4001);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 0);
	close(cli);
	close(srv);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 1, "its connection closed: lost");
}

Test(workers, worker_of_unknown_connection_waits_for_reap_time)
{
	uint64_t now = pbx_clock_now_ms();

	pbx_clock_fake(now);
	beat("mw1", "sip:127.0.0.1:5080", 0, 100, false);
	pbx_clock_fake(now + 29999);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 0, "no connection known: it may be alive");
	pbx_clock_fake(now + 30001);
	workers_lost(w, on_lost, NULL);
	cr_assert_eq(lost_n, 1);
}

static uint64_t lost_seen;

static void on_lost_seen(const char *id, uint64_t seen_ms, void *arg)
{
	on_lost(id, seen_ms, arg);
	lost_seen = seen_ms;
}

/* A worker stopped and started again under its id while its first loss
 * is still being reaped (the reap ends with workers_forget): the new
 * process's entry, connection included, stays, so its own death is seen
 * after the ttl like any other (issue 17: test_calls.sh killed mw2 4 s
 * after restarting it, and nobody ended its calls). */
Test(workers, restarted_worker_survives_the_reap_of_its_last_life)
{
	const uint64_t now = pbx_clock_now_ms();
	int pair[2][2];

	/* First life: heartbeat, then its process dies. */
	tcp_pair(&pair[0][0], &pair[0][1]);
	pbx_clock_fake(now);
	beat_on(pair[0][0], "mw1", "sip:127.0.0.1:5080", 0, 100, false);
	for (int i = 1; i >= 0; i--)
		close(pair[0][i]);
	pbx_clock_fake(now + 3001);
	workers_lost(w, on_lost_seen, NULL);
	cr_assert_eq(lost_n, 1);
	cr_assert_eq(lost_seen, now);
	/* Restarted before the reap's Redis round trips came back. */
	tcp_pair(&pair[1][0], &pair[1][1]);
	pbx_clock_fake(now + 3100);
	beat_on(pair[1][0], "mw1", "sip:127.0.0.1:5080", 0, 100, false);
	workers_forget(w, "mw1", lost_seen);
	cr_assert_not_null(workers_pick(w), "the new process is kept");
	/* It dies too: lost after the ttl, not after worker_reap_ms. */
	for (int i = 1; i >= 0; i--)
		close(pair[1][i]);
	pbx_clock_fake(now + 3100 + 3001);
	workers_lost(w, on_lost_seen, NULL);
	cr_assert_eq(lost_n, 2, "the second death is seen after the ttl");
	cr_assert_eq(lost_seen, now + 3100);
	workers_forget(w, "mw1", lost_seen);
	cr_assert_null(workers_pick(w), "forgotten after its own loss");
}
