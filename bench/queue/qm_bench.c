/* qm_bench: the queue-manager under a contact centre's load (issue 9,
 * docs/performance.md "Queues"). Real queue-manager processes (--qm, N of
 * them) against a real redis-server (--redis-port, already running), over
 * the real bus: this program is the router (a ZeroMQ ROUTER the instances
 * connect to, plaintext), sending QueueCommands to a random live instance
 * and answering every Offer at once.
 *
 * Load: T tenants x Q queues (longest_idle, 10 agents each, every agent in
 * one queue or more: two with the defaults), A agents in all, all paused, then W callers waiting; then
 * for S seconds E enqueues/s and C agent-state changes/s, alternately:
 * resume a paused agent (it is free: the time to the Offer naming it is
 * measured) and pause a talking one (the pause waits for its call, whose
 * end is reported once the queue-manager confirmed the pending pause).
 *
 * Reports: agent free -> offer p50/p99/max; double offers (an Offer naming
 * an agent the router sees ringing, talking or paused, or a call it saw
 * offered already: must be 0); Redis commands per offer (Redis counts the
 * commands a script runs too) and script runs per offer; offers, and
 * agents left free with no caller for them. Exit 1 if a double offer was seen or the
 * load could not be driven. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "pbx_bus.h"
#include "pbx_clock.h"
#include "pbx_keys.h"

#define QMB_MAX 8
#define AGENTS_PER_QUEUE 10

enum agent_st { A_PAUSED, A_FREE, A_BUSY, A_PAUSING };

struct agent {
	enum agent_st st;
	int tenant;
	uint64_t free_ms; /* when RESUME was sent (A_FREE) */
	uint32_t call;	  /* A_BUSY / A_PAUSING: caller index */
	uint32_t offer;
	bool confirmed; /* A_PAUSING: the pending pause was answered */
};

struct caller {
	uint8_t st; /* 0 waiting (or never joined), 1 offered */
};

static struct {
	int tenants, queues, agents, waiting, enq_rate, chg_rate, seconds;
	int instances;
	int redis_port;
	const char *qm_bin;
	char endpoint[64];
	struct pbx_bus *bus;
	pid_t pid[QMB_MAX];
	char id[QMB_MAX][16];
	bool live[QMB_MAX];
	struct agent *ag;
	size_t nag;
	struct caller *calls;
	size_t ncalls, capcalls;
	/* counters */
	uint64_t offers, doubles, results, statuses, no_offer;
	uint64_t *lat; /* µs */
	size_t nlat, caplat;
	bool measuring;
	uint64_t send_fail;
} B;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void tenant_name(char *buf, size_t size, int t)
{
	snprintf(buf, size, "qb%d", t);
}

/* Agent i is extension 2000 + its index in its tenant. */
static void agent_name(char *buf, size_t size, size_t i)
{
	snprintf(buf, size, "%zu", 2000 + i % (B.nag / (size_t)B.tenants));
}

static int pick_instance(void)
{
	int n = 0, live[QMB_MAX];

	for (int i = 0; i < B.instances; i++)
		if (B.live[i])
			live[n++] = i;
	return n ? live[rand() % n] : -1;
}

static void pump(int ms);

/* Sends to a random live instance; retries while its queue is full. */
static int send_cmd(int tenant, const char *call, Pbx__V1__QueueCommand *qc)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	struct pbx_bus_peer peer;
	char t[16];
	int i = pick_instance(), err;

	if (i < 0)
		return -EHOSTUNREACH;
	tenant_name(t, sizeof(t), tenant);
	peer.len = strlen(B.id[i]);
	memcpy(peer.id, B.id[i], peer.len);
	env.tenant_id = t;
	env.call_id = (char *)(call ? call : "");
	env.body_case = PBX__V1__ENVELOPE__BODY_QUEUE_COMMAND;
	env.queue_command = qc;
	for (int tries = 0; tries < 1000; tries++) {
		err = pbx_bus_send(B.bus, &peer, &env);
		if (err != -EAGAIN)
			break;
		pump(1);
	}
	if (err)
		B.send_fail++;
	return err;
}

static void agent_cmd(size_t a, int action)
{
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__AgentState s =
		PBX__V1__QUEUE_COMMAND__AGENT_STATE__INIT;
	char name[32];

	agent_name(name, sizeof(name), a);
	s.agent = name;
	s.action = action;
	s.reason = (char *)"bench";
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_AGENT_STATE;
	qc.agent_state = &s;
	send_cmd(B.ag[a].tenant, NULL, &qc);
}

static void call_id(char *buf, size_t size, size_t c)
{
	snprintf(buf, size, "bench-%zu", c);
}

static void agent_result(size_t a, int result)
{
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__AgentResult r =
		PBX__V1__QUEUE_COMMAND__AGENT_RESULT__INIT;
	char name[32], cid[32];

	agent_name(name, sizeof(name), a);
	call_id(cid, sizeof(cid), B.ag[a].call);
	r.agent = name;
	r.offer = B.ag[a].offer;
	r.result = result;
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT;
	qc.agent_result = &r;
	send_cmd(B.ag[a].tenant, cid, &qc);
}

static int enqueue(void)
{
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__Enqueue e =
		PBX__V1__QUEUE_COMMAND__ENQUEUE__INIT;
	char q[16], cid[32];
	size_t c = B.ncalls;
	int t = rand() % B.tenants;

	if (B.ncalls == B.capcalls) {
		size_t cap = B.capcalls ? 2 * B.capcalls : 16384;
		struct caller *v = realloc(B.calls, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memset(v + B.capcalls, 0, (cap - B.capcalls) * sizeof(*v));
		B.calls = v;
		B.capcalls = cap;
	}
	B.ncalls++;
	snprintf(q, sizeof(q), "q%d", rand() % B.queues);
	call_id(cid, sizeof(cid), c);
	e.queue = q;
	e.max_wait_s = 3600;
	e.caller = (char *)"74951234567";
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_ENQUEUE;
	qc.enqueue = &e;
	return send_cmd(t, cid, &qc);
}

/* The agent index of (tenant, name), or -1. */
static long agent_index(const char *tenant, const char *name)
{
	long t, n;

	if (sscanf(tenant, "qb%ld", &t) != 1 || t < 0 || t >= B.tenants)
		return -1;
	n = strtol(name, NULL, 10) - 2000;
	if (n < 0 || n >= (long)(B.nag / (size_t)B.tenants))
		return -1;
	return t * (long)(B.nag / (size_t)B.tenants) + n;
}

static void got_offer(const Pbx__V1__Envelope *env,
		      const Pbx__V1__QueueEvent__Offer *o)
{
	unsigned long c;
	uint64_t t = now_us();

	B.offers += B.measuring;
	if (sscanf(env->call_id, "bench-%lu", &c) != 1 || c >= B.ncalls) {
		B.doubles++;
		return;
	}
	if (B.calls[c].st) {
		fprintf(stderr, "double: call %lu offered twice\n", c);
		B.doubles++;
	}
	B.calls[c].st = 1;
	for (size_t i = 0; i < o->n_agents; i++) {
		long a = agent_index(env->tenant_id, o->agents[i]);

		if (a < 0) {
			B.doubles++;
			continue;
		}
		if (B.ag[a].st != A_FREE) {
			fprintf(stderr, "double: agent %s/%s offered in state "
					"%d\n",
				env->tenant_id, o->agents[i], B.ag[a].st);
			B.doubles++;
			continue;
		}
		if (B.measuring && B.nlat < B.caplat)
			B.lat[B.nlat++] = t - B.ag[a].free_ms;
		B.ag[a].st = A_BUSY;
		B.ag[a].call = (uint32_t)c;
		B.ag[a].offer = o->offer;
		agent_result((size_t)a, PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_ANSWERED);
	}
}

static void got_status(const Pbx__V1__Envelope *env,
		       const Pbx__V1__QueueEvent__AgentStatus *s)
{
	long a = agent_index(env->tenant_id, s->agent);

	B.statuses++;
	if (a < 0 || B.ag[a].st != A_PAUSING || B.ag[a].confirmed)
		return;
	/* The pause waits for the call: end it now. */
	B.ag[a].confirmed = true;
	agent_result((size_t)a,
		     PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_HUNG_UP);
	B.ag[a].st = A_PAUSED;
}

static void recv_h(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		   const Pbx__V1__Envelope *env, int err, void *arg)
{
	const Pbx__V1__QueueEvent *qe;

	(void)bus;
	(void)arg;
	if (err || !env || !peer)
		return;
	if (env->body_case == PBX__V1__ENVELOPE__BODY_QUEUE_HEARTBEAT) {
		for (int i = 0; i < B.instances; i++)
			if (peer->len == strlen(B.id[i]) &&
			    !memcmp(peer->id, B.id[i], peer->len))
				B.live[i] = true;
		return;
	}
	if (env->body_case != PBX__V1__ENVELOPE__BODY_QUEUE_EVENT)
		return;
	qe = env->queue_event;
	switch (qe->ev_case) {
	case PBX__V1__QUEUE_EVENT__EV_OFFER:
		got_offer(env, qe->offer);
		break;
	case PBX__V1__QUEUE_EVENT__EV_AGENT_STATUS:
		got_status(env, qe->agent_status);
		break;
	case PBX__V1__QUEUE_EVENT__EV_RESULT:
		B.results++;
		break;
	default:
		break;
	}
}

static void pump(int ms)
{
	struct pollfd p = {.fd = pbx_bus_fd(B.bus), .events = POLLIN};

	pbx_bus_process(B.bus);
	if (ms > 0 && poll(&p, 1, ms) > 0)
		pbx_bus_process(B.bus);
}

/* ---- Redis ---------------------------------------------------------------- */

static redisContext *R;

static int redis_ok(redisReply *r)
{
	int ok = r && r->type != REDIS_REPLY_ERROR;

	if (r && r->type == REDIS_REPLY_ERROR)
		fprintf(stderr, "redis: %s\n", r->str);
	freeReplyObject(r);
	return ok ? 0 : -EIO;
}

/* Queue j of a tenant: agents sj .. sj+9 (mod the tenant's agents), s
 * its agents over its queues: every agent is in a queue, with the
 * defaults (500 agents, 100 queues a tenant) each in two. */
static int seed(void)
{
	size_t per = B.nag / (size_t)B.tenants;
	size_t stride = per / (size_t)B.queues ? per / (size_t)B.queues : 1;
	char key[PBX_KEY_MAX], t[16], json[512], field[32];

	for (int ti = 0; ti < B.tenants; ti++) {
		tenant_name(t, sizeof(t), ti);
		if (pbx_key_of(key, sizeof(key), t, PBX_K_OBJECTS))
			return -EINVAL;
		for (int q = 0; q < B.queues; q++) {
			size_t n = (size_t)snprintf(
				json, sizeof(json),
				"{\"strategy\":\"longest_idle\",\"max_wait\":"
				"3600,\"agent_timeout\":30,\"agents\":[");

			for (int k = 0; k < AGENTS_PER_QUEUE; k++)
				n += (size_t)snprintf(
					json + n, sizeof(json) - n,
					"%s\"%zu\"", k ? "," : "",
					2000 + ((size_t)q * stride + (size_t)k) %
						       per);
			snprintf(json + n, sizeof(json) - n, "]}");
			snprintf(field, sizeof(field), "queue:q%d", q);
			redisAppendCommand(R, "HSET %s %s %s", key, field,
					   json);
		}
		for (int q = 0; q < B.queues; q++) {
			redisReply *r = NULL;

			if (redisGetReply(R, (void **)&r) != REDIS_OK ||
			    redis_ok(r))
				return -EIO;
		}
		if (pbx_key_of(key, sizeof(key), t, PBX_K_OBJECTS_REV) ||
		    redis_ok(redisCommand(R, "INCR %s", key)))
			return -EIO;
	}
	return 0;
}

static long long info_num(const char *section, const char *field)
{
	redisReply *r = redisCommand(R, "INFO %s", section);
	long long v = -1;
	const char *p;

	if (r && r->type == REDIS_REPLY_STRING &&
	    (p = strstr(r->str, field)))
		v = strtoll(p + strlen(field) + 1, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* Script runs (EVALSHA, and EVAL: the timer index's small script). */
static long long script_runs(void)
{
	redisReply *r = redisCommand(R, "INFO commandstats");
	long long sum = 0;
	const char *names[] = {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="};

	if (!r || r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return -1;
	}
	for (size_t i = 0; i < 2; i++) {
		const char *p = strstr(r->str, names[i]);

		if (p)
			sum += strtoll(p + strlen(names[i]), NULL, 10);
	}
	freeReplyObject(r);
	return sum;
}

/* ---- processes -------------------------------------------------------- */

static int spawn(int i)
{
	char a[7][128];
	pid_t pid;

	snprintf(B.id[i], sizeof(B.id[i]), "qmb%d", i + 1);
	snprintf(a[0], sizeof(a[0]), "qm_id=%s", B.id[i]);
	snprintf(a[1], sizeof(a[1]), "router_endpoints=%s", B.endpoint);
	snprintf(a[2], sizeof(a[2]), "redis_port=%d", B.redis_port);
	snprintf(a[3], sizeof(a[3]), "log_level=warn");
	snprintf(a[4], sizeof(a[4]), "max_offers=64");
	snprintf(a[5], sizeof(a[5]), "heartbeat_ms=500");
	/* Several instances on one host: no metrics endpoint (one port). */
	snprintf(a[6], sizeof(a[6]), "metrics_listen=0");
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execl(B.qm_bin, B.qm_bin, "--set", a[0], "--set", a[1],
		      "--set", a[2], "--set", a[3], "--set", a[4], "--set",
		      a[5], "--set", a[6], (char *)NULL);
		_exit(127);
	}
	B.pid[i] = pid;
	return 0;
}

static void stop_all(void)
{
	for (int i = 0; i < B.instances; i++) {
		if (B.pid[i] > 0) {
			kill(B.pid[i], SIGTERM);
			waitpid(B.pid[i], NULL, 0);
			B.pid[i] = 0;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(double p)
{
	size_t i;

	if (!B.nlat)
		return 0;
	i = (size_t)(p * (double)(B.nlat - 1) + 0.5);
	return B.lat[i];
}

static void usage(void)
{
	fprintf(stderr,
		"usage: qm_bench [--qm PATH] --redis-port P --router-port P "
		"[--instances 2] [--tenants 10] [--queues 100 (per tenant)] "
		"[--agents 5000] [--waiting 10000] [--enqueues 200] "
		"[--changes 500] [--seconds 60]\n");
}

int main(int argc, char **argv)
{
	int router_port = 0;
	const struct {
		const char *name;
		int *dst;
	} opts[] = {
		{"--redis-port", &B.redis_port}, {"--router-port", &router_port},
		{"--instances", &B.instances},	 {"--tenants", &B.tenants},
		{"--queues", &B.queues},	 {"--agents", &B.agents},
		{"--waiting", &B.waiting},	 {"--enqueues", &B.enq_rate},
		{"--changes", &B.chg_rate},	 {"--seconds", &B.seconds},
	};
	size_t k;
	size_t per;
	uint64_t t0, end, next_enq, next_chg;
	double enq_gap, chg_gap;
	long long cmd0, cmd1, all0, all1;
	uint64_t offers_before;
	bool resume_turn = true;
	int rc = 0;

	B.qm_bin = QUEUE_MANAGER_PATH;
	B.instances = 2;
	B.tenants = 10;
	B.queues = 100;
	B.agents = 5000;
	B.waiting = 10000;
	B.enq_rate = 200;
	B.chg_rate = 500;
	B.seconds = 60;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			usage();
			return 2;
		}
		i++;
		if (!strcmp(o, "--qm")) {
			B.qm_bin = v;
			continue;
		}
		for (k = 0; k < sizeof(opts) / sizeof(*opts); k++) {
			if (!strcmp(o, opts[k].name)) {
				*opts[k].dst = atoi(v);
				break;
			}
		}
		if (k == sizeof(opts) / sizeof(*opts)) {
			usage();
			return 2;
		}
	}
	if (!B.qm_bin || B.redis_port <= 0 || router_port <= 0 ||
	    B.instances < 1 || B.instances > QMB_MAX || B.tenants < 1 ||
	    B.queues < 1 || B.agents < B.tenants * AGENTS_PER_QUEUE ||
	    B.enq_rate < 1 || B.chg_rate < 2 || B.seconds < 1) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	per = (size_t)B.agents / (size_t)B.tenants;
	B.nag = per * (size_t)B.tenants;
	B.ag = calloc(B.nag, sizeof(*B.ag));
	B.caplat = (size_t)B.chg_rate * (size_t)B.seconds + 1024;
	B.lat = calloc(B.caplat, sizeof(*B.lat));
	if (!B.ag || !B.lat)
		return 1;
	for (size_t a = 0; a < B.nag; a++)
		B.ag[a].tenant = (int)(a / per);

	R = redisConnect("127.0.0.1", (int)B.redis_port);
	if (!R || R->err) {
		fprintf(stderr, "qm_bench: redis on port %d: %s\n",
			B.redis_port, R ? R->errstr : "no memory");
		return 1;
	}
	if (seed()) {
		fprintf(stderr, "qm_bench: cannot seed the queues\n");
		return 1;
	}
	snprintf(B.endpoint, sizeof(B.endpoint), "tcp://127.0.0.1:%d",
		 router_port);
	if (pbx_bus_alloc(&B.bus, pbx_zmq_ctx_new(), PBX_BUS_ROUTER,
			  B.endpoint, NULL, recv_h, NULL)) {
		fprintf(stderr, "qm_bench: cannot bind %s\n", B.endpoint);
		return 1;
	}
	for (int i = 0; i < B.instances; i++) {
		if (spawn(i)) {
			fprintf(stderr, "qm_bench: cannot start %s\n",
				B.qm_bin);
			stop_all();
			return 1;
		}
	}
	/* Every instance heard from (its heartbeat). */
	end = pbx_clock_mono_ms() + 10000;
	for (;;) {
		int n = 0;

		for (int i = 0; i < B.instances; i++)
			n += B.live[i];
		if (n == B.instances)
			break;
		if (pbx_clock_mono_ms() > end) {
			fprintf(stderr, "qm_bench: queue-managers silent\n");
			stop_all();
			return 1;
		}
		pump(10);
	}

	/* Fill: every agent paused, then W callers waiting. */
	for (size_t a = 0; a < B.nag; a++) {
		agent_cmd(a, PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_PAUSE);
		if (a % 200 == 199)
			pump(1);
	}
	/* Each step of the fill has two minutes (a loaded host is slow). */
	end = pbx_clock_mono_ms() + 120000;
	while (B.statuses < B.nag && pbx_clock_mono_ms() < end)
		pump(10);
	for (int c = 0; c < B.waiting; c++) {
		enqueue();
		if (c % 200 == 199)
			pump(1);
	}
	end = pbx_clock_mono_ms() + 120000;
	while (B.results < (uint64_t)B.waiting && pbx_clock_mono_ms() < end)
		pump(10);
	if (B.statuses < B.nag || B.results < (uint64_t)B.waiting) {
		fprintf(stderr, "qm_bench: fill incomplete (%" PRIu64
				" agents paused, %" PRIu64 " callers in)\n",
			B.statuses, B.results);
		stop_all();
		return 1;
	}
	fprintf(stderr, "qm_bench: %zu agents paused, %d callers waiting in "
			"%d queues; load for %d s\n",
		B.nag, B.waiting, B.tenants * B.queues, B.seconds);

	/* Load. */
	cmd0 = info_num("stats", "total_commands_processed");
	all0 = script_runs();
	offers_before = B.offers;
	B.measuring = true;
	enq_gap = 1e6 / B.enq_rate;
	chg_gap = 1e6 / B.chg_rate;
	t0 = now_us();
	next_enq = next_chg = t0;
	end = t0 + (uint64_t)B.seconds * 1000000;
	while (now_us() < end) {
		uint64_t t = now_us();

		while (next_enq <= t) {
			enqueue();
			next_enq += (uint64_t)enq_gap;
		}
		while (next_chg <= t) {
			size_t a = (size_t)rand() % B.nag;

			next_chg += (uint64_t)chg_gap;
			/* The nearest agent in the wanted state. */
			for (size_t j = 0; j < B.nag; j++) {
				struct agent *g = &B.ag[(a + j) % B.nag];

				if (resume_turn && g->st == A_PAUSED) {
					g->st = A_FREE;
					g->free_ms = now_us();
					agent_cmd((a + j) % B.nag, PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_RESUME);
					break;
				}
				if (!resume_turn && g->st == A_BUSY) {
					g->st = A_PAUSING;
					g->confirmed = false;
					agent_cmd((a + j) % B.nag, PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_PAUSE);
					break;
				}
			}
			resume_turn = !resume_turn;
		}
		pump(1);
	}
	B.measuring = false;
	/* Offers still on their way are answered, not measured. */
	pump(200);
	cmd1 = info_num("stats", "total_commands_processed");
	all1 = script_runs();
	for (size_t a = 0; a < B.nag; a++)
		B.no_offer += B.ag[a].st == A_FREE;
	stop_all();

	qsort(B.lat, B.nlat, sizeof(*B.lat), cmp_u64);
	{
		uint64_t offers = B.offers - offers_before;
		double per_offer = offers ? (double)(cmd1 - cmd0) /
						    (double)offers
					  : 0;
		double all_per = offers ? (double)(all1 - all0) /
						  (double)offers
					: 0;

		printf("| measure | value |\n|---|---|\n");
		printf("| load | %d tenants x %d queues, %zu agents, %d "
		       "waiting at start, %d enqueues/s, %d agent changes/s, "
		       "%d s, %d queue-manager processes |\n",
		       B.tenants, B.queues, B.nag, B.waiting, B.enq_rate,
		       B.chg_rate, B.seconds, B.instances);
		printf("| offers | %" PRIu64 " (%.0f/s) |\n", offers,
		       (double)offers / B.seconds);
		printf("| agent free -> offer p50 | %.2f ms |\n",
		       (double)pct(0.50) / 1000);
		printf("| agent free -> offer p99 | %.2f ms |\n",
		       (double)pct(0.99) / 1000);
		printf("| agent free -> offer max | %.2f ms |\n",
		       B.nlat ? (double)B.lat[B.nlat - 1] / 1000 : 0);
		printf("| samples | %zu (agents resumed and offered a call) |\n",
		       B.nlat);
		printf("| agents free at the end (no caller for them) | %" PRIu64
		       " |\n",
		       B.no_offer);
		printf("| double offers | %" PRIu64 " |\n", B.doubles);
		printf("| Redis commands per offer (those the scripts run "
		       "included) | %.1f |\n",
		       per_offer);
		printf("| script runs per offer | %.1f |\n", all_per);
		printf("| bus sends that failed | %" PRIu64 " |\n",
		       B.send_fail);
	}
	if (B.doubles || B.send_fail || !B.nlat)
		rc = 1;
	pbx_bus_free(B.bus);
	redisFree(R);
	return rc;
}
