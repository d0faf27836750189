/* Two queue-manager instances, each on a thread of its own, share one
 * Redis and serve one tenant's six queues (every strategy) over sixteen
 * agents that belong to several queues at once. The fake router sends
 * every command to a random instance and plays callers and agents:
 * answers, misses, hang-ups before and after answer, resumes of agents the
 * queue-manager paused. It keeps its own view of who rings for what, from
 * the offers it got and the reports it sent, and counts an offer that
 * names an agent it still sees ringing or talking, or a call it still sees
 * ringing, as a double offer. Over at least 10,000 offers there must be
 * none, and Redis must end clean. */
#include <stdlib.h>

#include "qm_test.h"

#define AGENTS 16
#define TARGET_OFFERS 10000
#define IN_FLIGHT 64
#define CALLS_MAX 40000

static void race_fini(void);
TestSuite(qm_race, .fini = race_fini, .timeout = 300);

enum cst { C_NONE, C_WAITING, C_RINGING, C_TALKING, C_DONE };

struct rcall {
	enum cst st;
	unsigned offer;
	int agents[AGENTS];
	int nagents;
	int talker;
	uint64_t end_ms;
};

struct race {
	int agent_call[AGENTS]; /* -1 free, else the call it rings / talks */
	struct rcall *calls;
	int ncalls;
	int in_flight;
	unsigned seed;
	unsigned long offers, agent_offers, per_instance[QMH_MAX];
	unsigned long double_agent, double_call, unexpected;
	unsigned long answered, missed, abandoned, resumed;
};

static struct race R;

static void race_fini(void)
{
	qm_teardown(); /* the instances first: they may still be talking */
	free(R.calls);
	R.calls = NULL;
}

static const char *const queues[][2] = {
	{"rr", "{'strategy':'round_robin','agents':['201','202','203','204',"
	       "'205','206','207','208']}"},
	{"li", "{'strategy':'longest_idle','agents':['205','206','207','208',"
	       "'209','210','211','212']}"},
	{"lc", "{'strategy':'least_calls','agents':['209','210','211','212',"
	       "'213','214','215','216']}"},
	{"rnd", "{'strategy':'random','agents':['201','203','205','207',"
		"'209','211','213','215']}"},
	{"lin", "{'strategy':'linear','agents':['216','214','212','210',"
		"'208','206','204','202']}"},
	{"all", "{'strategy':'ring_all','agents':['213','214','215','216',"
		"'201','202']}"},
};
#define NQUEUES (sizeof(queues) / sizeof(*queues))

static int rnd(int n)
{
	return (int)(rand_r(&R.seed) % (unsigned)n);
}

static int instance(void)
{
	return rnd(QMH_MAX);
}

static int agent_index(const char *a)
{
	int i = atoi(a) - 201;

	cr_assert(i >= 0 && i < AGENTS, "agent %s", a);
	return i;
}

static void agent_name(int i, char *buf, size_t size)
{
	snprintf(buf, size, "%d", 201 + i);
}

static int call_index(const char *id)
{
	int i = atoi(id + 1);

	cr_assert(id[0] == 'r' && i >= 0 && i < R.ncalls, "call %s", id);
	return i;
}

static void call_name(int i, char *buf, size_t size)
{
	snprintf(buf, size, "r%d", i);
}

static void send_result(int c, int a, unsigned offer,
			Pbx__V1__QueueCommand__AgentResult__Result res)
{
	char call[16], agent[16];

	call_name(c, call, sizeof(call));
	agent_name(a, agent, sizeof(agent));
	cr_assert_eq(qmh_result(&h, instance(), call, agent, offer, res), 0);
}

/* The reports free the agents in our view before they are sent: from
 * then on the queue-manager may offer them again. */
static void free_agents(struct rcall *rc, int keep)
{
	for (int i = 0; i < rc->nagents; i++) {
		if (rc->agents[i] != keep)
			R.agent_call[rc->agents[i]] = -1;
	}
}

static void on_offer(int from, const char *call,
		     const Pbx__V1__QueueEvent__Offer *o)
{
	static const Pbx__V1__QueueCommand__AgentResult__Result misses[] = {
		NO_ANSWER, BUSY,
		PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_UNAVAILABLE};
	int c = call_index(call);
	struct rcall *rc = &R.calls[c];
	int roll = rnd(100);

	R.offers++;
	R.per_instance[from >= 0 ? from : 0]++;
	if (rc->st == C_RINGING || rc->st == C_TALKING) {
		R.double_call++;
		fprintf(stderr, "race: call %s offered again while %s\n",
			call, rc->st == C_RINGING ? "ringing" : "talking");
	}
	rc->nagents = 0;
	for (size_t i = 0; i < o->n_agents; i++) {
		int a = agent_index(o->agents[i]);

		R.agent_offers++;
		if (R.agent_call[a] >= 0) {
			R.double_agent++;
			fprintf(stderr,
				"race: agent %s offered %s while on r%d\n",
				o->agents[i], call, R.agent_call[a]);
		}
		R.agent_call[a] = c;
		rc->agents[rc->nagents++] = a;
	}
	rc->st = C_RINGING;
	rc->offer = o->offer;
	if (roll < 72) {
		int a = rc->agents[rnd(rc->nagents)];

		free_agents(rc, a);
		rc->st = C_TALKING;
		rc->talker = a;
		rc->end_ms = pbx_clock_mono_ms() + (uint64_t)rnd(4);
		R.answered++;
		send_result(c, a, o->offer, ANSWERED);
	} else if (roll < 95) {
		free_agents(rc, -1);
		rc->st = C_WAITING;
		R.missed++;
		for (int i = 0; i < rc->nagents; i++)
			send_result(c, rc->agents[i], o->offer, misses[rnd(3)]);
	} else {
		free_agents(rc, -1);
		rc->st = C_DONE;
		R.in_flight--;
		R.abandoned++;
		cr_assert_eq(qmh_leave(&h, instance(), call, false, NULL), 0);
	}
}

/* A Cancel names agents we freed already (another answered, the caller
 * left); anything else is a ring we did not expect to stop. */
static void on_cancel(const char *call, const Pbx__V1__QueueEvent__Cancel *ca)
{
	int c = call_index(call);

	for (size_t i = 0; i < ca->n_agents; i++) {
		int a = agent_index(ca->agents[i]);

		if (R.agent_call[a] == c &&
		    !(R.calls[c].st == C_TALKING && R.calls[c].talker == a)) {
			R.unexpected++;
			fprintf(stderr, "race: cancel of %s for %s\n",
				ca->agents[i], call);
		}
	}
}

static bool on_event(struct qm_harness *hh, int from,
		     const Pbx__V1__Envelope *env, void *arg)
{
	const Pbx__V1__QueueEvent *ev = env->queue_event;

	(void)hh;
	(void)arg;
	switch (ev->ev_case) {
	case PBX__V1__QUEUE_EVENT__EV_OFFER:
		on_offer(from, env->call_id, ev->offer);
		break;
	case PBX__V1__QUEUE_EVENT__EV_CANCEL:
		on_cancel(env->call_id, ev->cancel);
		break;
	case PBX__V1__QUEUE_EVENT__EV_RESULT:
		if (ev->result->kind !=
		    PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_QUEUED) {
			R.unexpected++;
			fprintf(stderr, "race: result %d for %s\n",
				ev->result->kind, env->call_id);
		}
		break;
	case PBX__V1__QUEUE_EVENT__EV_AGENT_STATUS:
		/* Paused after missed offers: back to work. */
		if (!strcmp(ev->agent_status->state, "paused")) {
			R.resumed++;
			cr_assert_eq(qmh_agent(&h, instance(),
					       ev->agent_status->agent,
					       RESUME, NULL),
				     0);
		}
		break;
	default:
		break;
	}
	return true;
}

/* Keeps IN_FLIGHT callers in the queues until the target is reached, and
 * ends the calls whose talk is over. */
static void drive(bool more)
{
	uint64_t now = pbx_clock_mono_ms();
	char call[16];

	for (int c = 0; c < R.ncalls; c++) {
		struct rcall *rc = &R.calls[c];

		if (rc->st != C_TALKING || rc->end_ms > now)
			continue;
		R.agent_call[rc->talker] = -1;
		rc->st = C_DONE;
		R.in_flight--;
		send_result(c, rc->talker, rc->offer, HUNG_UP);
	}
	while (more && R.in_flight < IN_FLIGHT && R.ncalls < CALLS_MAX) {
		int c = R.ncalls++;

		call_name(c, call, sizeof(call));
		R.calls[c].st = C_WAITING;
		R.in_flight++;
		cr_assert_eq(qmh_enqueue(&h, instance(), call,
					 queues[rnd(NQUEUES)][0],
					 (unsigned)rnd(4), 86400),
			     0);
	}
}

static long long redis_count(const char *cmd, enum pbx_tkey k)
{
	char key[PBX_KEY_MAX];
	redisReply *r;
	long long n = -1;

	cr_assert_eq(pbx_key_of(key, sizeof(key), QMH_TENANT, k), 0);
	r = redis_fixture_cmd(&h.rf, "%s %s", cmd, key);
	if (r && r->type == REDIS_REPLY_INTEGER)
		n = r->integer;
	if (r)
		freeReplyObject(r);
	return n;
}

Test(qm_race, two_instances_never_offer_twice_over_ten_thousand_offers)
{
	uint64_t end;
	long long answered = 0;

	cr_assert_eq(qmh_start(&h), 0);
	memset(&R, 0, sizeof(R));
	R.seed = 20261207;
	R.calls = calloc(CALLS_MAX, sizeof(*R.calls));
	cr_assert_not_null(R.calls);
	for (int i = 0; i < AGENTS; i++)
		R.agent_call[i] = -1;
	for (size_t i = 0; i < NQUEUES; i++)
		queue_put(queues[i][0], queues[i][1]);
	/* 600 s rings and a day's max wait: every ring ends by our
	 * report, never by a queue-manager timer. */
	h.on_event = on_event;
	cr_assert_eq(qmh_add(&h, 0, true), 0);
	cr_assert_eq(qmh_add(&h, 1, true), 0);
	end = pbx_clock_mono_ms() + 240000;
	while (R.offers < TARGET_OFFERS && pbx_clock_mono_ms() < end) {
		drive(true);
		qmh_run(&h, 1);
	}
	/* Every caller still in a queue is served before we look. */
	while (R.in_flight > 0 && pbx_clock_mono_ms() < end) {
		drive(false);
		qmh_run(&h, 1);
	}
	qmh_run(&h, 300);
	fprintf(stderr,
		"race: offers %lu (%lu agent offers; instance 0: %lu, 1: %lu), "
		"calls %d, answered %lu, all missed %lu, abandoned %lu, "
		"agents resumed %lu; double offers: %lu of agents, %lu of "
		"calls\n",
		R.offers, R.agent_offers, R.per_instance[0], R.per_instance[1],
		R.ncalls, R.answered, R.missed, R.abandoned, R.resumed,
		R.double_agent, R.double_call);
	cr_assert_eq(R.double_agent, 0, "agents offered twice");
	cr_assert_eq(R.double_call, 0, "calls offered twice");
	cr_assert_eq(R.unexpected, 0, "unexpected cancels or results");
	cr_assert_geq(R.offers, TARGET_OFFERS);
	cr_assert_eq(R.in_flight, 0, "%d calls never finished", R.in_flight);
	cr_assert_gt(R.per_instance[0], TARGET_OFFERS / 10);
	cr_assert_gt(R.per_instance[1], TARGET_OFFERS / 10);
	/* Redis ends clean: no caller, no ring, no busy agent. */
	cr_assert_eq(redis_count("HLEN", PBX_K_QM_CALLS), 0);
	cr_assert_eq(redis_count("ZCARD", PBX_K_QM_WAIT), 0);
	cr_assert_eq(redis_count("ZCARD", PBX_K_QM_OFFERED), 0);
	for (int i = 0; i < AGENTS; i++) {
		char agent[16];
		const char *st;

		agent_name(i, agent, sizeof(agent));
		st = state_of(agent);
		cr_assert(!strcmp(st, "ready") || !strcmp(st, "paused"),
			  "agent %s ends %s", agent, st);
	}
	for (size_t i = 0; i < NQUEUES; i++) {
		char f[64];

		snprintf(f, sizeof(f), "%s:answered", queues[i][0]);
		answered += qmh_stat(&h, f);
	}
	cr_assert_eq(answered, (long long)R.answered);
}
