/* Distribution: every strategy of the queue object (ring_all,
 * round_robin with memory, longest_idle, least_calls, random, linear),
 * caller priority and waiting-time order, through a real instance, a real
 * redis-server and the fake router. */
#include "qm_test.h"

TestSuite(qm_dispatch, .init = qm_setup, .fini = qm_teardown,
	  .timeout = 60);

Test(qm_dispatch, linear_offers_the_first_free_agent_in_list_order)
{
	unsigned n;

	queue_put("q", "{'strategy':'linear','agents':['101','102','103']}");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	join("c2", "q", 0);
	offered_to("c2", "102");
	talk("c1", "101", n);
	join("c3", "q", 0);
	/* 101 is free again and first in the list; 103 never rang. */
	offered_to("c3", "101");
	cr_assert_str_eq(state_of("103"), "ready");
}

Test(qm_dispatch, round_robin_goes_on_after_the_last_agent_offered)
{
	static const char *const order[] = {"101", "102", "103", "101",
					    "102"};
	char call[16];

	queue_put("q",
		  "{'strategy':'round_robin','agents':['101','102','103']}");
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		unsigned n;

		snprintf(call, sizeof(call), "c%zu", i);
		join(call, "q", 0);
		n = offered_to(call, order[i]);
		talk(call, order[i], n);
		settle();
	}
}

Test(qm_dispatch, round_robin_memory_survives_the_instance)
{
	unsigned n;

	queue_put("q", "{'strategy':'round_robin','agents':['101','102']}");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	talk("c1", "101", n);
	settle();
	/* The memory is in Redis: a fresh instance continues the turn. */
	qmh_kill(&h, 0);
	cr_assert_eq(qmh_add(&h, 0, false), 0);
	join("c2", "q", 0);
	offered_to("c2", "102");
}

/* 101 and 102 each answer calls (101 twice); 103 logs out and back in
 * last, so it has taken no call but has been idle the shortest time. */
static void calls_and_idle(void)
{
	unsigned n;

	clock_start();
	cr_assert_str_eq(agent_do("103", LOGOUT, NULL), "logged_out");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	clock_step(1000);
	talk("c1", "101", n);
	settle();
	join("c2", "q", 0);
	n = offered_to("c2", "102");
	clock_step(1000);
	talk("c2", "102", n);
	settle();
	join("c3", "q", 0);
	/* Equal calls (one each): the longest idle, 101, is next. */
	n = offered_to("c3", "101");
	clock_step(1000);
	talk("c3", "101", n);
	clock_step(1000);
	cr_assert_str_eq(agent_do("103", LOGIN, NULL), "ready");
	clock_step(1000);
}

Test(qm_dispatch, least_calls_prefers_the_agent_with_fewest_answered)
{
	queue_put("q",
		  "{'strategy':'least_calls','agents':['101','102','103']}");
	calls_and_idle();
	join("c4", "q", 0);
	offered_to("c4", "103");
}

Test(qm_dispatch, longest_idle_prefers_the_agent_free_the_longest)
{
	queue_put("q",
		  "{'strategy':'longest_idle','agents':['101','102','103']}");
	calls_and_idle();
	/* 102 has been free since its call ended; 101 ended later, 103
	 * logged in last. */
	join("c4", "q", 0);
	offered_to("c4", "102");
}

Test(qm_dispatch, random_spreads_calls_over_every_agent)
{
	static const char *const agents[] = {"101", "102", "103", "104"};
	unsigned count[4] = {0};
	char call[16];

	queue_put("q", "{'strategy':'random','agents':['101','102','103',"
		       "'104']}");
	/* 4 * (3/4)^48 < 1e-5: an agent left out means no spread. */
	for (int i = 0; i < 48; i++) {
		const qm_offer *o;

		snprintf(call, sizeof(call), "c%d", i);
		join(call, "q", 0);
		o = offer_of(call);
		cr_assert_eq(o->n_agents, 1);
		for (int j = 0; j < 4; j++)
			count[j] += !strcmp(o->agents[0], agents[j]);
		talk(call, o->agents[0], o->offer);
		settle();
	}
	for (int j = 0; j < 4; j++)
		cr_assert_gt(count[j], 0, "agent %s never chosen", agents[j]);
}

Test(qm_dispatch, ring_all_rings_every_free_agent_and_cancels_the_rest)
{
	const qm_offer *o;
	const Pbx__V1__Envelope *e;

	queue_put("q", "{'strategy':'ring_all','agents':['101','102','103']}");
	cr_assert_str_eq(agent_do("102", PAUSE, "lunch"), "paused");
	join("c1", "q", 0);
	o = offer_of("c1");
	cr_assert_eq(o->n_agents, 2);
	cr_assert_str_eq(o->agents[0], "101");
	cr_assert_str_eq(o->agents[1], "103");
	cr_assert_str_eq(state_of("101"), "ringing");
	cr_assert_str_eq(state_of("103"), "ringing");
	report("c1", "103", o->offer, ANSWERED);
	e = qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_CANCEL, "c1", WAIT_MS);
	cr_assert_not_null(e, "101 not told to stop ringing");
	cr_assert_eq(e->queue_event->cancel->n_agents, 1);
	cr_assert_str_eq(e->queue_event->cancel->agents[0], "101");
	cr_assert_str_eq(state_of("101"), "ready");
	cr_assert_str_eq(state_of("103"), "busy");
	cr_assert_str_eq(state_of("102"), "paused");
	/* 101 answering late is refused: the call is 103's. */
	report("c1", "101", o->offer, ANSWERED);
	e = qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_CANCEL, "c1", WAIT_MS);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->queue_event->cancel->agents[0], "101");
	cr_assert_str_eq(state_of("101"), "ready");
}

/* External and mobile numbers are agents like extensions (no
 * registration: ready while logged in); the Offer names each agent's
 * kind, for the router to ring numbers through the trunk. */
Test(qm_dispatch, number_agents_are_offered_with_their_kinds)
{
	const qm_offer *o;

	queue_put("q", "{'strategy':'ring_all','agents':['101',"
		       "{'mobile':'8 916 123-45-67'},"
		       "{'external':'+7 495 123 45 67'}]}");
	cr_assert_str_eq(agent_do("+74951234567", PAUSE, "away"), "paused");
	join("c1", "q", 0);
	o = offer_of("c1");
	cr_assert_eq(o->n_agents, 2);
	cr_assert_eq(o->n_agent_kinds, 2);
	cr_assert_str_eq(o->agents[0], "101");
	cr_assert_str_eq(o->agent_kinds[0], "extension");
	cr_assert_str_eq(o->agents[1], "+79161234567");
	cr_assert_str_eq(o->agent_kinds[1], "mobile");
	cr_assert_str_eq(o->dest_kind, "");
	report("c1", "+79161234567", o->offer, ANSWERED);
	cr_assert_not_null(
		qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_CANCEL, "c1", WAIT_MS));
	cr_assert_str_eq(state_of("+79161234567"), "busy");
	report("c1", "+79161234567", o->offer, HUNG_UP);
	settle();
	cr_assert_str_eq(state_of("+79161234567"), "ready");

	/* Extensions only: dest_kind says it for all. */
	queue_put("e", "{'strategy':'linear','agents':['102']}");
	join("c2", "e", 0);
	o = offer_of("c2");
	cr_assert_str_eq(o->dest_kind, "extension");
	cr_assert_str_eq(o->agent_kinds[0], "extension");
}

Test(qm_dispatch, higher_priority_first_then_the_longest_waiting)
{
	unsigned n;

	clock_start();
	queue_put("q", "{'strategy':'linear','agents':['101']}");
	cr_assert_str_eq(agent_do("101", PAUSE, NULL), "paused");
	join_via(0, "old", "q", 0, 1);
	clock_step(1000);
	join_via(0, "young", "q", 0, 2);
	clock_step(1000);
	/* Priority 5 goes ahead of both, whatever their wait. */
	join_via(0, "vip", "q", 5, 1);
	no_offer(100);
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	n = offered_to("vip", "101");
	talk("vip", "101", n);
	n = offered_to("old", "101");
	talk("old", "101", n);
	offered_to("young", "101");
}

Test(qm_dispatch, one_free_agent_goes_to_the_best_caller_of_all_its_queues)
{
	unsigned n;

	clock_start();
	queue_put("a", "{'strategy':'linear','agents':['101']}");
	queue_put("b", "{'strategy':'linear','agents':['101','102']}");
	cr_assert_str_eq(agent_do("101", PAUSE, NULL), "paused");
	cr_assert_str_eq(agent_do("102", LOGOUT, NULL), "logged_out");
	join("a1", "a", 0);
	clock_step(1000);
	join("b1", "b", 3);
	clock_step(1000);
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	/* b1's priority beats a1's longer wait across the two queues. */
	n = offered_to("b1", "101");
	talk("b1", "101", n);
	offered_to("a1", "101");
}

Test(qm_dispatch, an_agent_never_rings_for_two_calls)
{
	queue_put("a", "{'strategy':'ring_all','agents':['101','102']}");
	queue_put("b", "{'strategy':'ring_all','agents':['102','103']}");
	join("a1", "a", 0);
	cr_assert_eq(offer_of("a1")->n_agents, 2);
	join("b1", "b", 0);
	/* 102 rings for a1 already: b1 rings 103 alone. */
	offered_to("b1", "103");
	join("a2", "a", 0);
	join("b2", "b", 0);
	no_offer(200);
}
