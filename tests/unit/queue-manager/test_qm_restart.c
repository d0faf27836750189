/* Nothing lives in an instance: a killed instance's callers, agents and
 * timers are all served by the next one; a lost timer-index entry is
 * repaired by the sweep; a Redis that lost the script gets it again; an
 * offer no router takes is made again once a router is back, and counts
 * as nobody's miss; a router hears of a new instance as soon as it is
 * connected, not a heartbeat period later. */
#include "qm_test.h"

TestSuite(qm_restart, .init = qm_setup, .fini = qm_teardown,
	  .timeout = 60);

#define KIND(k) PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_##k

Test(qm_restart, a_new_instance_serves_the_callers_of_a_killed_one)
{
	unsigned n;

	clock_start();
	queue_put("q", "{'strategy':'linear','agents':['101','102']}");
	cr_assert_str_eq(agent_do("101", PAUSE, NULL), "paused");
	cr_assert_str_eq(agent_do("102", PAUSE, NULL), "paused");
	join("c1", "q", 0);
	clock_step(1000);
	join("c2", "q", 0);
	clock_step(1000);
	join("c3", "q", 0);
	/* Gone with everything it had in memory. */
	qmh_kill(&h, 0);
	cr_assert_eq(qmh_add(&h, 1, false), 0);
	cr_assert_str_eq(agent_do_via(1, "101", RESUME, NULL), "ready");
	n = offered_to("c1", "101");
	report_via(1, "c1", "101", n, ANSWERED);
	report_via(1, "c1", "101", n, HUNG_UP);
	n = offered_to("c2", "101");
	cr_assert_str_eq(agent_do_via(1, "102", RESUME, NULL), "ready");
	offered_to("c3", "102");
	report_via(1, "c2", "101", n, ANSWERED);
	settle();
	cr_assert_str_eq(state_of("101"), "busy");
	cr_assert_eq(qmh_stat(&h, "q:answered"), 2);
}

Test(qm_restart, timers_fire_on_the_surviving_instance)
{
	clock_start();
	cr_assert_eq(qmh_add(&h, 1, false), 0);
	queue_put("q", "{'agents':['101'],'wrapup':5}");
	cr_assert_str_eq(agent_do("101", PAUSE, NULL), "paused");
	cr_assert_eq(qmh_enqueue(&h, 0, "c1", "q", 0, 10), 0);
	cr_assert_eq(result_of("c1")->kind, KIND(QUEUED));
	qmh_kill(&h, 0);
	clock_step(11000);
	cr_assert_eq(result_of("c1")->kind, KIND(TIMEOUT));
}

Test(qm_restart, the_sweep_repairs_a_lost_timer_index_entry)
{
	char key[PBX_KEY_MAX];

	clock_start();
	queue_put("q", "{'agents':['101']}");
	cr_assert_str_eq(agent_do("101", PAUSE, NULL), "paused");
	cr_assert_eq(qmh_enqueue(&h, 0, "c1", "q", 0, 10), 0);
	cr_assert_eq(result_of("c1")->kind, KIND(QUEUED));
	settle();
	/* As if the instance had died between the script and the index
	 * update. */
	cr_assert_eq(pbx_key_sys_of(key, sizeof(key), PBX_KS_QM_DUE), 0);
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(&h.rf, "DEL %s", key)),
		     0);
	clock_step(11000);
	/* The sweep runs every 200 ms here. */
	cr_assert_eq(result_of("c1")->kind, KIND(TIMEOUT));
}

Test(qm_restart, a_redis_that_lost_the_script_gets_it_again)
{
	queue_put("q", "{'strategy':'linear','agents':['101','102']}");
	cr_assert_str_eq(agent_do("102", PAUSE, NULL), "paused");
	join("c1", "q", 0);
	offered_to("c1", "101");
	cr_assert_eq(redis_fixture_ok(redis_fixture_cmd(&h.rf,
							"SCRIPT FLUSH")),
		     0);
	join("c2", "q", 0);
	cr_assert_str_eq(agent_do("102", RESUME, NULL), "ready");
	offered_to("c2", "102");
	cr_assert_eq(h.qm[0]->n.store_errors, 0);
}

Test(qm_restart, an_offer_no_router_takes_is_made_again_later)
{
	unsigned n;

	clock_start();
	queue_put("q", "{'agents':['101'],'wrapup':5}");
	join("c0", "q", 0);
	n = offered_to("c0", "101");
	talk("c0", "101", n);
	join("c1", "q", 0);
	settle();
	cr_assert_str_eq(state_of("101"), "wrapup");
	/* No router: the wrap-up ends and the offer has nobody to go to. */
	cr_assert_eq(qmh_router_restart(&h, false), 0);
	qmh_run(&h, 200);
	clock_step(5500);
	qmh_run(&h, 100);
	cr_assert_gt(h.qm[0]->n.send_failed, 0);
	cr_assert_str_eq(state_of("101"), "ready");
	cr_assert_eq(qmh_router_restart(&h, true), 0);
	qmh_run(&h, 300);
	clock_step(200); /* retry_ms is 100 here */
	offered_to("c1", "101");
	cr_assert_eq(qmh_stat(&h, "q:agent:101:missed"), 0);
}

Test(qm_restart, a_router_hears_a_new_instance_as_soon_as_it_connects)
{
	uint64_t t0 = pbx_clock_mono_ms();

	/* Its first heartbeat leaves before the connection is up and is
	 * dropped; the next must not wait for the 10 s period (the stack's
	 * first call after start-up found no queue-manager). */
	h.heartbeat_ms = 10000;
	cr_assert_eq(qmh_add(&h, 1, false), 0);
	cr_assert_lt(pbx_clock_mono_ms() - t0, 1000);
}
