/* The caller's side of a queue: joining (position, a repeated join, a
 * full queue, an unknown queue), max wait (the exit route, also while an
 * agent rings), exit keys, hanging up while waiting, offers nobody reports
 * on, the statistics each outcome counts, and the news of a caller's
 * place (position changes, at most once per period; the wait estimate). */
#include "qm_test.h"

TestSuite(qm_queue, .init = qm_setup, .fini = qm_teardown, .timeout = 60);

#define KIND(k) PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_##k

static void nobody_free(void)
{
	cr_assert_str_eq(agent_do("101", PAUSE, NULL), "paused");
}

Test(qm_queue, position_counts_the_callers_ahead)
{
	queue_put("q", "{'agents':['101']}");
	nobody_free();
	join_via(0, "c1", "q", 0, 1);
	join_via(0, "c2", "q", 0, 2);
	join_via(0, "c3", "q", 0, 3);
	/* The router may repeat an Enqueue: same answer, same place. */
	join_via(0, "c2", "q", 0, 2);
	join_via(0, "vip", "q", 9, 1);
	cr_assert_eq(qmh_stat(&h, "q:joined"), 4);
}

Test(qm_queue, a_full_queue_turns_the_caller_away)
{
	queue_put("q", "{'agents':['101'],'max_len':2}");
	join("c1", "q", 0); /* rings 101: still in the queue */
	join("c2", "q", 0);
	cr_assert_eq(qmh_enqueue(&h, 0, "c3", "q", 0, 60), 0);
	cr_assert_eq(result_of("c3")->kind, KIND(FULL));
	cr_assert_eq(qmh_stat(&h, "q:full"), 1);
}

Test(qm_queue, an_unknown_queue_fails_the_join)
{
	const Pbx__V1__QueueEvent__Result *r;

	cr_assert_eq(qmh_enqueue(&h, 0, "c1", "ghost", 0, 60), 0);
	r = result_of("c1");
	cr_assert_eq(r->kind, KIND(FAILED));
	cr_assert_str_eq(r->detail, "no such queue");
	/* A call in one queue cannot join another. */
	queue_put("a", "{'agents':['101']}");
	queue_put("b", "{'agents':['101']}");
	nobody_free();
	join("c2", "a", 0);
	cr_assert_eq(qmh_enqueue(&h, 0, "c2", "b", 0, 60), 0);
	cr_assert_eq(result_of("c2")->kind, KIND(FAILED));
}

Test(qm_queue, max_wait_takes_the_exit_route)
{
	clock_start();
	queue_put("q", "{'agents':['101'],'max_wait':600}");
	nobody_free();
	cr_assert_eq(qmh_enqueue(&h, 0, "c1", "q", 0, 30), 0);
	cr_assert_eq(result_of("c1")->kind, KIND(QUEUED));
	/* max_wait_s 0: the queue's own (600 s). */
	cr_assert_eq(qmh_enqueue(&h, 0, "c2", "q", 0, 0), 0);
	cr_assert_eq(result_of("c2")->kind, KIND(QUEUED));
	clock_step(29000);
	cr_assert_null(qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_RESULT, NULL,
				  100));
	clock_step(1500);
	cr_assert_eq(result_of("c1")->kind, KIND(TIMEOUT));
	cr_assert_eq(qmh_stat(&h, "q:timeout"), 1);
	clock_step(560000);
	cr_assert_null(qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_RESULT, NULL,
				  100));
	clock_step(20000);
	cr_assert_eq(result_of("c2")->kind, KIND(TIMEOUT));
	/* Gone: the agent finds nobody. */
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	no_offer(100);
}

Test(qm_queue, max_wait_while_an_agent_rings_stops_the_ring)
{
	const Pbx__V1__Envelope *e;

	clock_start();
	queue_put("q", "{'agents':['101'],'agent_timeout':60}");
	cr_assert_eq(qmh_enqueue(&h, 0, "c1", "q", 0, 20), 0);
	cr_assert_eq(result_of("c1")->kind, KIND(QUEUED));
	offered_to("c1", "101");
	clock_step(20500);
	e = qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_CANCEL, "c1", WAIT_MS);
	cr_assert_not_null(e, "the ring was not stopped");
	cr_assert_str_eq(e->queue_event->cancel->agents[0], "101");
	cr_assert_eq(result_of("c1")->kind, KIND(TIMEOUT));
	/* The caller timed out, the agent did not miss anything. */
	cr_assert_str_eq(state_of("101"), "ready");
	cr_assert_eq(qmh_stat(&h, "q:agent:101:missed"), 0);
}

Test(qm_queue, an_exit_key_leaves_with_its_digit)
{
	const Pbx__V1__QueueEvent__Result *r;

	queue_put("q", "{'agents':['101']}");
	nobody_free();
	join("c1", "q", 0);
	join("c2", "q", 0);
	cr_assert_eq(qmh_leave(&h, 0, "c1", true, "0"), 0);
	r = result_of("c1");
	cr_assert_eq(r->kind, KIND(EXIT_KEY));
	cr_assert_str_eq(r->digit, "0");
	/* c2 moved up. */
	join_via(0, "c2", "q", 0, 1);
	cr_assert_eq(qmh_stat(&h, "q:exited"), 1);
}

Test(qm_queue, hanging_up_while_waiting_or_ringing_is_abandoned)
{
	const Pbx__V1__Envelope *e;

	clock_start();
	queue_put("q", "{'agents':['101']}");
	join("c1", "q", 0);
	offered_to("c1", "101");
	/* The pause applies once the ring is over. */
	cr_assert_str_eq(agent_do("101", PAUSE, NULL), "ringing");
	join("c2", "q", 0);
	clock_step(4000);
	cr_assert_eq(qmh_leave(&h, 0, "c1", false, NULL), 0);
	e = qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_CANCEL, "c1", WAIT_MS);
	cr_assert_not_null(e);
	cr_assert_str_eq(state_of("101"), "paused");
	cr_assert_eq(qmh_leave(&h, 0, "c2", false, NULL), 0);
	settle();
	cr_assert_eq(qmh_stat(&h, "q:abandoned"), 2);
	cr_assert_eq(qmh_stat(&h, "q:abandoned_wait_ms"), 2 * 4000);
	/* A hang-up reported twice counts once. */
	cr_assert_eq(qmh_leave(&h, 0, "c2", false, NULL), 0);
	settle();
	cr_assert_eq(qmh_stat(&h, "q:abandoned"), 2);
}

Test(qm_queue, an_offer_nobody_reports_on_expires_as_a_miss)
{
	const Pbx__V1__Envelope *e;

	clock_start();
	/* agent_timeout 5 s, and the harness's grace of 2 s. */
	queue_put("q", "{'strategy':'linear','agents':['101','102'],"
		       "'agent_timeout':5}");
	join("c1", "q", 0);
	offered_to("c1", "101");
	clock_step(6900);
	no_offer(50);
	clock_step(200);
	e = qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_CANCEL, "c1", WAIT_MS);
	cr_assert_not_null(e, "the expired ring was not stopped");
	offered_to("c1", "102");
	cr_assert_eq(qmh_stat(&h, "q:agent:101:missed"), 1);
	cr_assert_str_eq(state_of("101"), "ready");
}

Test(qm_queue, answered_calls_count_for_the_service_level)
{
	unsigned n;

	clock_start();
	queue_put("q", "{'agents':['101']}");
	nobody_free();
	join("slow", "q", 0);
	clock_step(1000);
	join("fast", "q", 0);
	clock_step(24000);
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	n = offered_to("slow", "101");
	talk("slow", "101", n);
	n = offered_to("fast", "101");
	cr_assert_eq(qmh_leave(&h, 0, "fast", false, NULL), 0);
	settle();
	join("quick", "q", 0); /* answered within 20 s */
	n = offered_to("quick", "101");
	clock_step(3000);
	report("quick", "101", n, ANSWERED);
	settle();
	cr_assert_eq(qmh_stat(&h, "q:answered"), 2);
	cr_assert_eq(qmh_stat(&h, "q:answered_sl"), 1);
	cr_assert_eq(qmh_stat(&h, "q:wait_ms"), 25000 + 3000);
	cr_assert_eq(qmh_stat(&h, "q:abandoned"), 1);
}

Test(qm_queue, a_bridged_call_never_reported_over_frees_its_agent)
{
	unsigned n;

	clock_start();
	queue_put("q", "{'agents':['101']}");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	report("c1", "101", n, ANSWERED);
	settle();
	/* The harness's talk_max_s is an hour; nobody says c1 ended. */
	clock_step(3599000);
	join("c2", "q", 0);
	no_offer(100);
	clock_step(2000);
	offered_to("c2", "101");
	cr_assert_eq(qmh_stat(&h, "q:talk_limit"), 1);
	/* Counted to the limit's firing, in the poll after it. */
	cr_assert_geq(qmh_stat(&h, "q:talk_ms"), 3600000);
	cr_assert_leq(qmh_stat(&h, "q:talk_ms"), 3601000);
	/* A late hang-up of c1 changes nothing. */
	report("c1", "101", n, HUNG_UP);
	settle();
	cr_assert_str_eq(state_of("101"), "ringing");
}

/* The next Result for call is QUEUED at pos with estimated wait wait_s. */
static void news_of(const char *call, unsigned pos, unsigned wait_s)
{
	const Pbx__V1__QueueEvent__Result *r = result_of(call);

	cr_assert_eq(r->kind, KIND(QUEUED), "%s: result kind %d", call,
		     r->kind);
	cr_assert_eq(r->position, pos, "%s at %u, not %u", call, r->position,
		     pos);
	cr_assert_eq(r->wait_s, wait_s, "%s: estimate %u s, not %u", call,
		     r->wait_s, wait_s);
}

static void no_news(void)
{
	cr_assert_null(qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_RESULT, NULL,
				  100),
		       "a result arrived");
}

Test(qm_queue, position_news_when_it_changed_at_most_once_per_period)
{
	unsigned n;

	clock_start();
	queue_put("q", "{'agents':['101']}");
	nobody_free();
	join("c1", "q", 0);
	cr_assert_eq(qmh_enqueue_news(&h, 0, "c2", "q", 0, 600, 10000), 0);
	/* No caller of q was answered yet: no estimate. */
	news_of("c2", 2, 0);
	/* A period passes, the place is the same: nothing said. */
	clock_step(10000);
	no_news();
	/* c1 leaves: c2 is first, but hears of it only when its period
	 * comes round, not at once. */
	cr_assert_eq(qmh_leave(&h, 0, "c1", false, NULL), 0);
	settle();
	clock_step(5000);
	no_news();
	clock_step(5000);
	news_of("c2", 1, 0);
	clock_step(10000);
	no_news();
	/* c2 is answered after 30 s at place 2 when it joined: 15 s per
	 * place. A caller joining at place 2 behind c3 expects 30 s. */
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	n = offered_to("c2", "101");
	report("c2", "101", n, ANSWERED);
	settle();
	join("c3", "q", 0);
	cr_assert_eq(qmh_enqueue_news(&h, 0, "c4", "q", 0, 600, 10000), 0);
	news_of("c4", 2, 30);
	/* The bridged call and the calls that left have no timer left. */
	cr_assert_eq(qmh_leave(&h, 0, "c4", false, NULL), 0);
	settle();
	clock_step(10000);
	no_news();
}
