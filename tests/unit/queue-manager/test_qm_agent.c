/* Agent states: ready -> ringing -> busy -> wrap-up -> ready, pause with a
 * reason and resume, logout and login, a pause or logout asked for during
 * a call, missed offers (the next agent rings; N in a row pause the
 * agent), and reports that come too late to count. */
#include "qm_test.h"

TestSuite(qm_agent, .init = qm_setup, .fini = qm_teardown, .timeout = 60);

static void field_is(const char *agent, const char *field, const char *want)
{
	char buf[128];

	qmh_agent_field(&h, agent, field, buf, sizeof(buf));
	cr_assert_str_eq(buf, want, "%s.%s is '%s', not '%s'", agent, field,
			 buf, want);
}

Test(qm_agent, a_call_takes_the_agent_through_busy_and_wrap_up)
{
	unsigned n;

	clock_start();
	queue_put("q", "{'agents':['101'],'wrapup':10}");
	cr_assert_str_eq(state_of("101"), "ready");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	cr_assert_str_eq(state_of("101"), "ringing");
	report("c1", "101", n, ANSWERED);
	settle();
	cr_assert_str_eq(state_of("101"), "busy");
	join("c2", "q", 0);
	clock_step(30000); /* talking */
	report("c1", "101", n, HUNG_UP);
	settle();
	cr_assert_str_eq(state_of("101"), "wrapup");
	clock_step(9000);
	no_offer(100);
	clock_step(1500);
	offered_to("c2", "101");
	cr_assert_eq(qmh_stat(&h, "q:answered"), 1);
	cr_assert_eq(qmh_stat(&h, "q:agent:101:calls"), 1);
	cr_assert_eq(qmh_stat(&h, "q:agent:101:talk_ms"), 30000);
	field_is("101", "calls", "1");
}

Test(qm_agent, a_paused_agent_gets_no_calls_until_resumed)
{
	cr_assert_str_eq(agent_do("101", PAUSE, "lunch"), "paused");
	field_is("101", "reason", "lunch");
	queue_put("q", "{'agents':['101']}");
	join("c1", "q", 0);
	no_offer(200);
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	field_is("101", "reason", "");
	offered_to("c1", "101");
}

Test(qm_agent, logged_out_agents_make_a_queue_without_agents)
{
	const Pbx__V1__QueueEvent__Result *r;

	queue_put("strict", "{'agents':['101','102'],'join_empty':false}");
	queue_put("lenient", "{'agents':['101','102']}");
	cr_assert_str_eq(agent_do("101", LOGOUT, NULL), "logged_out");
	cr_assert_str_eq(agent_do("102", PAUSE, NULL), "paused");
	/* A paused agent is logged in: the caller may wait for it. */
	join("c1", "strict", 0);
	cr_assert_str_eq(agent_do("102", LOGOUT, NULL), "logged_out");
	cr_assert_eq(qmh_enqueue(&h, 0, "c2", "strict", 0, 60), 0);
	r = result_of("c2");
	cr_assert_eq(r->kind,
		     PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_NO_AGENTS);
	/* join_empty (the default) lets the caller wait for a login. */
	join("c3", "lenient", 0);
	no_offer(100);
	cr_assert_str_eq(agent_do("101", LOGIN, NULL), "ready");
	/* c1 of "strict" waits longest and ranks first. */
	offered_to("c1", "101");
	cr_assert_eq(qmh_stat(&h, "strict:no_agents"), 1);
}

Test(qm_agent, a_pause_asked_for_during_a_call_applies_when_it_ends)
{
	const Pbx__V1__Envelope *e;
	unsigned n;

	queue_put("q", "{'agents':['101'],'wrapup':30}");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	report("c1", "101", n, ANSWERED);
	cr_assert_str_eq(agent_do("101", PAUSE, "coffee"), "busy");
	field_is("101", "pend", "paused");
	join("c2", "q", 0);
	report("c1", "101", n, HUNG_UP);
	e = qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_AGENT_STATUS, NULL,
		       WAIT_MS);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->queue_event->agent_status->state, "paused");
	cr_assert_str_eq(e->queue_event->agent_status->reason, "coffee");
	cr_assert_str_eq(state_of("101"), "paused");
	no_offer(100);
	/* A logout asked for while ringing applies when the offer ends. */
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	n = offered_to("c2", "101");
	cr_assert_str_eq(agent_do("101", LOGOUT, NULL), "ringing");
	report("c2", "101", n, NO_ANSWER);
	settle();
	cr_assert_str_eq(state_of("101"), "out");
	field_is("101", "missed", "0");
}

Test(qm_agent, a_missed_offer_rings_the_next_agent_and_keeps_the_place)
{
	unsigned n;

	queue_put("q", "{'strategy':'linear','agents':['101','102']}");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	cr_assert_str_eq(agent_do("102", PAUSE, NULL), "paused");
	join("c2", "q", 0);
	report("c1", "101", n, NO_ANSWER);
	/* c1 keeps its place ahead of c2; 101, who just missed it, is the
	 * only free agent, so it rings again. */
	n = offered_to("c1", "101");
	field_is("101", "missed", "1");
	cr_assert_str_eq(agent_do("102", RESUME, NULL), "ready");
	offered_to("c2", "102");
	report("c1", "101", n, BUSY);
	settle();
	field_is("101", "missed", "2");
	cr_assert_eq(qmh_stat(&h, "q:agent:101:missed"), 2);
}

Test(qm_agent, an_agent_that_missed_is_skipped_while_another_is_free)
{
	unsigned n;

	queue_put("q", "{'strategy':'linear','agents':['101','102']}");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	report("c1", "101", n, NO_ANSWER);
	/* linear would pick 101 first; 102 gets its turn. */
	n = offered_to("c1", "102");
	report("c1", "102", n, NO_ANSWER);
	/* Both missed it: the turn starts over. */
	offered_to("c1", "101");
}

Test(qm_agent, missed_offers_in_a_row_pause_the_agent)
{
	const Pbx__V1__Envelope *e;
	unsigned n;

	queue_put("q", "{'agents':['101']}");
	join("c1", "q", 0);
	for (int i = 0; i < 3; i++) {
		n = offered_to("c1", "101");
		report("c1", "101", n, NO_ANSWER);
	}
	e = qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_AGENT_STATUS, NULL,
		       WAIT_MS);
	cr_assert_not_null(e, "no auto-pause reported");
	cr_assert_str_eq(e->queue_event->agent_status->state, "paused");
	cr_assert_str_eq(e->queue_event->agent_status->reason,
			 "auto: 3 missed offers");
	no_offer(200);
	cr_assert_str_eq(agent_do("101", RESUME, NULL), "ready");
	field_is("101", "missed", "0");
	n = offered_to("c1", "101");
	report("c1", "101", n, ANSWERED);
	settle();
	cr_assert_str_eq(state_of("101"), "busy");
}

Test(qm_agent, an_answer_starts_the_missed_count_over)
{
	unsigned n;

	queue_put("q", "{'agents':['101']}");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	report("c1", "101", n, NO_ANSWER);
	n = offered_to("c1", "101");
	report("c1", "101", n, NO_ANSWER);
	n = offered_to("c1", "101");
	talk("c1", "101", n);
	settle();
	field_is("101", "missed", "0");
	cr_assert_str_eq(state_of("101"), "ready");
}

Test(qm_agent, late_or_foreign_reports_change_nothing)
{
	unsigned n;

	queue_put("q", "{'agents':['101','102']}");
	cr_assert_str_eq(agent_do("102", PAUSE, NULL), "paused");
	join("c1", "q", 0);
	n = offered_to("c1", "101");
	/* A report for an older offer, or from an agent never offered the
	 * call, is not about this ring. */
	report("c1", "101", n + 7, NO_ANSWER);
	report("c1", "102", n, NO_ANSWER);
	report("nope", "101", n, HUNG_UP);
	settle();
	cr_assert_str_eq(state_of("101"), "ringing");
	cr_assert_str_eq(state_of("102"), "paused");
	field_is("101", "missed", "0");
	report("c1", "101", n, ANSWERED);
	settle();
	cr_assert_str_eq(state_of("101"), "busy");
}

/* What provisioning does for `pbxctl queue agent resume` (prov_queue.c):
 * the script by text with a wake-up, then the timer-index report. */
static void resume_as_provisioning(const char *agent)
{
	struct qm_args a = {0};
	struct timeval tv = {2, 0};
	redisContext *rc = redisConnectWithTimeout("127.0.0.1", h.rf.port, tv);
	char kdue[PBX_KEY_MAX], kseq[PBX_KEY_MAX];
	const redisReply *due;
	const char **argv;
	size_t *argvlen;
	redisReply *r;

	cr_assert(rc && !rc->err);
	cr_assert_eq(qm_script_head(&a, QMH_TENANT, "agent",
				    pbx_clock_now_ms()),
		     0);
	qm_args_add(&a, agent);
	qm_args_add(&a, "resume");
	qm_args_add(&a, "");
	qm_args_add(&a, "1");
	argv = calloc((size_t)a.n, sizeof(*argv));
	argvlen = calloc((size_t)a.n, sizeof(*argvlen));
	qm_script_argv(&a, NULL, argv, argvlen);
	r = redisCommandArgv(rc, a.n, argv, argvlen);
	cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements);
	due = r->element[r->elements - 1];
	cr_assert_str_eq(due->element[0]->str, "due");
	cr_assert_eq(qm_script_due_keys(kdue, kseq, sizeof(kdue)), 0);
	freeReplyObject(redisCommand(
		rc, "EVAL %s 2 %s %s %s %s %s", qm_due_lua, kdue, kseq,
		QMH_TENANT,
		due->element[1]->str[0] ? due->element[1]->str : "0",
		due->element[2]->str));
	freeReplyObject(r);
	free(argv);
	free(argvlen);
	qm_args_reset(&a);
	redisFree(rc);
}

Test(qm_agent, an_agent_resumed_by_provisioning_is_offered_by_an_instance)
{
	queue_put("q", "{'agents':['101']}");
	cr_assert_str_eq(agent_do("101", PAUSE, NULL), "paused");
	join("c1", "q", 0);
	no_offer(100);
	/* Not through an instance: only the wake-up timer tells them. */
	resume_as_provisioning("101");
	offered_to("c1", "101");
}
