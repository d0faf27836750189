/* Worker registry: registry values, liveness, draining and least-loaded
 * choice (Redis is not connected here; the registry works from memory). */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_test.h"
#include "workers.h"

static struct workers *w;

static void setup(void)
{
	cr_assert_eq(workers_alloc(&w, NULL, 3000), 0);
}

static void teardown(void)
{
	workers_free(w);
	pbx_clock_fake(0);
	pbx_test_fini();
}

TestSuite(workers, .init = setup, .fini = teardown);

static void beat(const char *id, const char *uri, unsigned load,
		 unsigned cap, bool draining)
{
	Pbx__V1__WorkerHeartbeat hb = PBX__V1__WORKER_HEARTBEAT__INIT;

	hb.worker_id = (char *)id;
	hb.sip_uri = (char *)uri;
	hb.load = load;
	hb.capacity = cap;
	hb.draining = draining;
	workers_heartbeat(w, &hb);
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
	cr_assert_neq(workers_parse("mw1", "garbage", &wi), 0);
	cr_assert_neq(workers_parse("mw1", "1 2 3 0 http://x", &wi), 0);
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
