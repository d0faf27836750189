/* Test support: queue-manager instances in-process with their real peers:
 * a redis-server of their own (redis_fixture.h) and a fake router (a
 * ZeroMQ ROUTER on a free loopback port, the socket a router binds for
 * queue-managers) that sends QueueCommands to a chosen instance and keeps
 * every QueueEvent it receives. Instances run on the test's loop, or each
 * on a thread of its own (their Redis scripts then really interleave).
 * Queue objects are seeded with the keys provisioning writes (pbx_keys). */
#ifndef QM_HARNESS_H
#define QM_HARNESS_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pbx_bus.h"
#include "qm.h"
#include "redis_fixture.h"

#define QMH_TENANT "acme"
#define QMH_MAX 2

struct qmh_thread;

struct pbx_zap;

struct qm_harness {
	struct redis_fixture rf;
	/* CURVE (qmh_start_curve): key files in keydir, the ZAP handler of
	 * domain "queue"; instances whose bit is set in deny get a key the
	 * fake router does not allow. */
	bool curve;
	char keydir[64];
	struct pbx_zap *zap;
	unsigned deny;
	struct event_base *base;
	void *zctx;
	char endpoint[64];
	struct pbx_bus *router; /* the fake router */
	struct qm_config cfg[QMH_MAX];
	struct qm *qm[QMH_MAX];
	struct qmh_thread *thr[QMH_MAX];
	/* QueueEvents received, oldest first; used[i]: taken by an expect */
	Pbx__V1__Envelope **msg;
	bool *used;
	size_t n, cap;
	unsigned long heartbeats[QMH_MAX];
	/* The heartbeat period of instances added next (0: 100 ms). */
	long heartbeat_ms;
	/* Called for each QueueEvent as it arrives, with the index of the
	 * instance that sent it (the race test answers offers from here);
	 * the event is kept as well unless it returns true. */
	bool (*on_event)(struct qm_harness *h, int from,
			 const Pbx__V1__Envelope *env, void *arg);
	void *on_event_arg;
};

/* Starts redis-server and the fake router. 0 or a negative errno (h is
 * then stopped). Logs errors only unless PBX_TEST_LOG says more. */
int qmh_start(struct qm_harness *h);
/* The same with every socket on CURVE, as the stack runs it: the fake
 * router is a CURVE server whose ZAP handler allows the keys qm0 and qm1
 * (unless h->deny says otherwise, set before qmh_add). */
int qmh_start_curve(struct qm_harness *h);
/* Starts instance i ("qm<i>") with test timings (poll 10 ms); returns
 * once it is connected to Redis and its first heartbeat reached the fake
 * router. threaded: it runs on a thread of its own. */
int qmh_add(struct qm_harness *h, int i, bool threaded);
/* Stops instance i at once (its thread first), as a crash would, except
 * that its sockets close cleanly. */
void qmh_kill(struct qm_harness *h, int i);
/* Closes the fake router's socket (the instances see no router: their
 * sends fail) and, with rebind, binds a new one on the same endpoint. */
int qmh_router_restart(struct qm_harness *h, bool rebind);
/* Everything, in reverse order; idempotent. */
void qmh_stop(struct qm_harness *h);

/* Runs the test's loop for ms. */
void qmh_run(struct qm_harness *h, int ms);

/* pbx:{acme}:objects queue:<name> = the document sq, written with single
 * quotes for double ones; and a new objects revision. */
int qmh_queue(struct qm_harness *h, const char *name, const char *sq);

/* Commands from the fake router to instance i. */
int qmh_enqueue(struct qm_harness *h, int i, const char *call,
		const char *queue, unsigned priority, unsigned max_wait_s);
/* The same with Enqueue.announce_ms (position news this often). */
int qmh_enqueue_news(struct qm_harness *h, int i, const char *call,
		     const char *queue, unsigned priority,
		     unsigned max_wait_s, unsigned announce_ms);
int qmh_leave(struct qm_harness *h, int i, const char *call, bool exit_key,
	      const char *digit);
int qmh_result(struct qm_harness *h, int i, const char *call,
	       const char *agent, unsigned offer,
	       Pbx__V1__QueueCommand__AgentResult__Result res);
int qmh_agent(struct qm_harness *h, int i, const char *agent,
	      Pbx__V1__QueueCommand__AgentState__Action action,
	      const char *reason);

/* Runs the loop until an unused QueueEvent of case c (and of call, unless
 * NULL) arrived; marks it used and returns it, or NULL after ms. */
const Pbx__V1__Envelope *qmh_expect(struct qm_harness *h,
				    Pbx__V1__QueueEvent__EvCase c,
				    const char *call, int ms);
/* Unused QueueEvents of case c (all cases: 0) received so far. */
size_t qmh_pending(const struct qm_harness *h, Pbx__V1__QueueEvent__EvCase c);
/* Marks every event received so far used. */
void qmh_drain(struct qm_harness *h);

/* The agent's state as stored ("ready" when it has no record), its
 * field `field` as text ("" when absent). */
void qmh_agent_field(struct qm_harness *h, const char *agent,
		     const char *field, char *buf, size_t size);
/* A counter of pbx:{acme}:qm:stats ("<queue>:<name>"), 0 when absent. */
long long qmh_stat(struct qm_harness *h, const char *field);

/* Sends a raw command envelope to instance i (retries until the route is
 * known, up to 2 s). */
int qmh_send(struct qm_harness *h, int i, const char *call,
	     Pbx__V1__QueueCommand *cmd);

#endif
