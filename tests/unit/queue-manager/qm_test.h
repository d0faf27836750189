/* Helpers for the queue-manager suites: one harness per test (a fresh
 * redis-server, instance 0 on the test's loop, the fake router), and
 * one-line steps that send a command and assert what the router hears. */
#ifndef QM_TEST_H
#define QM_TEST_H
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_test.h"
#include "qm_harness.h"

#define WAIT_MS 3000

static struct qm_harness h;

static inline void qm_setup(void)
{
	cr_assert_eq(qmh_start(&h), 0, "harness");
	cr_assert_eq(qmh_add(&h, 0, false), 0, "instance 0");
}

static inline void qm_teardown(void)
{
	qmh_stop(&h);
	pbx_test_fini();
}

typedef Pbx__V1__QueueEvent__Offer qm_offer;

static inline void queue_put(const char *name, const char *sq)
{
	cr_assert_eq(qmh_queue(&h, name, sq), 0);
}

/* The Result the router gets for call (any kind); asserts it came. */
static inline const Pbx__V1__QueueEvent__Result *result_of(const char *call)
{
	const Pbx__V1__Envelope *e =
		qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_RESULT, call, WAIT_MS);

	cr_assert_not_null(e, "no result for %s", call);
	return e->queue_event->result;
}

/* Enqueues call through instance i and asserts it joined at position
 * pos (0: do not check the position). */
static inline void join_via(int i, const char *call, const char *queue,
			    unsigned prio, unsigned pos)
{
	const Pbx__V1__QueueEvent__Result *r;

	cr_assert_eq(qmh_enqueue(&h, i, call, queue, prio, 600), 0);
	r = result_of(call);
	cr_assert_eq(r->kind, PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_QUEUED,
		     "%s: result kind %d", call, r->kind);
	if (pos)
		cr_assert_eq(r->position, pos, "%s at %u", call, r->position);
}

static inline void join(const char *call, const char *queue, unsigned prio)
{
	join_via(0, call, queue, prio, 0);
}

/* The next Offer for call; asserts it came. */
static inline const qm_offer *offer_of(const char *call)
{
	const Pbx__V1__Envelope *e =
		qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_OFFER, call, WAIT_MS);

	cr_assert_not_null(e, "no offer for %s", call);
	return e->queue_event->offer;
}

/* Asserts the next offer for call goes to exactly one agent, `agent`;
 * returns its offer number. */
static inline unsigned offered_to(const char *call, const char *agent)
{
	const qm_offer *o = offer_of(call);

	cr_assert_eq(o->n_agents, 1, "%s offered to %zu agents", call,
		     o->n_agents);
	cr_assert_str_eq(o->agents[0], agent, "%s offered to %s, not %s",
			 call, o->agents[0], agent);
	return o->offer;
}

/* No offer arrives within ms. */
static inline void no_offer(int ms)
{
	cr_assert_null(qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_OFFER, NULL,
				  ms),
		       "an offer arrived");
}

static inline void report_via(int i, const char *call, const char *agent,
			      unsigned n,
			      Pbx__V1__QueueCommand__AgentResult__Result res)
{
	cr_assert_eq(qmh_result(&h, i, call, agent, n, res), 0);
}

static inline void report(const char *call, const char *agent, unsigned n,
			  Pbx__V1__QueueCommand__AgentResult__Result res)
{
	report_via(0, call, agent, n, res);
}

#define ANSWERED PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_ANSWERED
#define NO_ANSWER                                                             \
	PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_NO_ANSWER
#define HUNG_UP PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_HUNG_UP
#define BUSY PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_BUSY
#define LOGIN PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_LOGIN
#define LOGOUT PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_LOGOUT
#define PAUSE PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_PAUSE
#define RESUME PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_RESUME

/* The agent answers and the call ends at once. */
static inline void talk(const char *call, const char *agent, unsigned n)
{
	report(call, agent, n, ANSWERED);
	report(call, agent, n, HUNG_UP);
}

/* Changes an agent's state through instance i and waits for the
 * AgentStatus answer; returns the state it reports. */
static inline const char *
agent_do_via(int i, const char *agent,
	     Pbx__V1__QueueCommand__AgentState__Action a, const char *reason)
{
	const Pbx__V1__Envelope *e;

	cr_assert_eq(qmh_agent(&h, i, agent, a, reason), 0);
	e = qmh_expect(&h, PBX__V1__QUEUE_EVENT__EV_AGENT_STATUS, NULL,
		       WAIT_MS);
	cr_assert_not_null(e, "no agent status for %s", agent);
	cr_assert_str_eq(e->queue_event->agent_status->agent, agent);
	return e->queue_event->agent_status->state;
}

static inline const char *agent_do(const char *agent,
				   Pbx__V1__QueueCommand__AgentState__Action a,
				   const char *reason)
{
	return agent_do_via(0, agent, a, reason);
}

/* The stored state of an agent. */
static inline const char *state_of(const char *agent)
{
	static char buf[4][64];
	static int k;
	char *b = buf[k++ & 3];

	qmh_agent_field(&h, agent, "st", b, sizeof(buf[0]));
	return b;
}

/* Lets every command sent so far run to its end (no event expected). */
static inline void settle(void)
{
	qmh_run(&h, 50);
}

/* The fake wall clock: clock_start() pins it (call it before the first
 * command of a test that moves time), clock_step() moves it by ms and
 * gives the poll time to fire what became due. */
static uint64_t fake_now;

static inline void clock_start(void)
{
	fake_now = 1767225600000ULL; /* 2026-01-01T00:00:00Z */
	pbx_clock_fake(fake_now);
}

static inline void clock_step(uint64_t ms)
{
	fake_now += ms;
	pbx_clock_fake(fake_now);
	qmh_run(&h, 60);
}

#endif
