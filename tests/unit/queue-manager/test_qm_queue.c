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

/* ---- call-back exit ---------------------------------------------------- */

#define CB_FAILED                                                             \
	PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_CALLBACK_FAILED

/* The caller of call pressed the callback key and hung up. */
static int callback_leave_from(const char *call, const char *number,
			       uint32_t retries)
{
	Pbx__V1__QueueCommand cmd = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__Leave l = PBX__V1__QUEUE_COMMAND__LEAVE__INIT;

	l.reason = PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_CALLBACK;
	l.digit = (char *)"3";
	l.callback_number = (char *)number;
	l.callback_caller_id = (char *)"74951230000";
	l.callback_window_s = 600;
	l.callback_retries = retries;
	l.callback_retry_s = 30;
	cmd.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_LEAVE;
	cmd.leave = &l;
	return qmh_send(&h, 0, call, &cmd);
}

static int callback_leave(const char *call, uint32_t retries)
{
	return callback_leave_from(call, "79990001111", retries);
}

/* The next offer for call is a call-back to exactly `agent`. */
static unsigned callback_to(const char *call, const char *agent)
{
	const qm_offer *o = offer_of(call);

	cr_assert_str_eq(o->callback_number, "79990001111");
	cr_assert_str_eq(o->callback_caller_id, "74951230000");
	cr_assert_eq(o->n_agents, 1, "a call-back rings one agent");
	cr_assert_str_eq(o->agents[0], agent);
	return o->offer;
}

/* A caller who asked for a call-back keeps its place (ahead of a caller
 * who came later); its offer rings one agent even in ring_all; a failed
 * call-back leg frees the agent without a miss, lets the next caller
 * through, and comes back at its place after the retry interval; once
 * its retries are spent it is given up, counted. */
Test(qm_queue, callback_keeps_the_place_and_retries_then_gives_up)
{
	unsigned n;

	clock_start();
	queue_put("q", "{'strategy':'ring_all','agents':['101','102']}");
	nobody_free();
	cr_assert_str_eq(agent_do("102", PAUSE, NULL), "paused");
	join("c1", "q", 0);
	join("c2", "q", 0);
	cr_assert_eq(callback_leave("c1", 1), 0);
	settle();
	cr_assert_eq(qmh_stat(&h, "q:callback"), 1);
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	cr_assert_str_eq(agent_do("102", RESUME, NULL), "ready");
	n = callback_to("c1", "101");
	/* The agent answered, the caller did not. */
	report("c1", "101", n, CB_FAILED);
	settle();
	cr_assert_str_eq(state_of("101"), "ready");
	cr_assert_eq(qmh_stat(&h, "q:agent:101:missed"), 0);
	/* Meanwhile the next caller is served (by 102, free while 101
	 * was on the call-back). */
	talk("c2", "102", offered_to("c2", "102"));
	settle();
	no_offer(100);
	/* After the retry interval: from its place again. */
	clock_step(31000);
	n = callback_to("c1", "101");
	report("c1", "101", n, CB_FAILED);
	settle();
	cr_assert_eq(qmh_stat(&h, "q:callback_tries"), 2);
	cr_assert_eq(qmh_stat(&h, "q:callback_failed"), 1);
	clock_step(31000);
	no_offer(100);
	cr_assert_str_eq(state_of("101"), "ready");
}

/* A call-back whose caller answers is an answered call of the agent's:
 * busy, then ready when it ends; counted as done. A second key press
 * changes nothing. */
Test(qm_queue, callback_answered_is_a_call_of_the_agent)
{
	unsigned n;

	queue_put("q", "{'strategy':'linear','agents':['101']}");
	nobody_free();
	join("c1", "q", 0);
	cr_assert_eq(callback_leave("c1", 2), 0);
	cr_assert_eq(callback_leave("c1", 2), 0);
	settle();
	cr_assert_eq(qmh_stat(&h, "q:callback"), 1);
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	n = callback_to("c1", "101");
	report("c1", "101", n, ANSWERED);
	settle();
	cr_assert_str_eq(state_of("101"), "busy");
	cr_assert_eq(qmh_stat(&h, "q:callback_done"), 1);
	cr_assert_eq(qmh_stat(&h, "q:answered"), 1);
	report("c1", "101", n, HUNG_UP);
	settle();
	cr_assert_str_eq(state_of("101"), "ready");
}

/* A bad call-back request (not a number) is refused: the call goes on
 * waiting as it was. */
Test(qm_queue, callback_with_a_bad_number_changes_nothing)
{
	queue_put("q", "{'strategy':'linear','agents':['101']}");
	nobody_free();
	join("c1", "q", 0);
	cr_assert_eq(callback_leave_from("c1", "7999\r\nX: y", 1), 0);
	cr_assert_eq(callback_leave_from("c1", "", 1), 0);
	settle();
	cr_assert_eq(qmh_stat(&h, "q:callback"), 0);
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	cr_assert_eq(offer_of("c1")->callback_number[0], '\0');
}
