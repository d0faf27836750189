/* Test support: one router in-process, with its real peers: a redis-server
 * of its own (redis_fixture.h), a fake edge-bridge on its edge socket and a
 * fake media worker ("mw-test") on its worker socket, all on loopback TCP
 * and one libevent loop. Tenant data is seeded with the keys provisioning
 * writes (pbx_keys), so the router reads what it reads in production. */
#ifndef ROUTER_HARNESS_H
#define ROUTER_HARNESS_H
#include <stdbool.h>
#include <stdint.h>

#include "fake_peer.h"
#include "redis_fixture.h"
#include "router.h"

#define HARNESS_TENANT "acme"
#define HARNESS_DOMAIN "acme.pbx.test"
#define HARNESS_WORKER "mw-test"
#define HARNESS_WORKER_URI "sip:10.0.0.7:5080"
#define HARNESS_QM "qm-test"
#define HARNESS_CRM "crm-test"

struct router_harness {
	struct redis_fixture rf;
	struct event_base *base;
	void *zctx;
	struct router_config cfg;
	struct router *rt;
	struct fake_peer *edge;
	struct fake_peer *worker;
	struct fake_peer *qm; /* a queue-manager on the queue socket */
	struct fake_peer *crm; /* a crm-connector on the crm socket */
	uint32_t tlabel; /* the CallNews' tlabel (tindex 11); 0: 22 */
};

/* Starts redis-server, the router (on two free loopback ports) and both
 * fake peers; returns once the router is connected to Redis. The worker
 * has sent no heartbeat yet. Logs errors only; PBX_TEST_LOG=debug (or
 * warn, info) shows more. 0 or a negative errno (h is then stopped). */
int router_harness_start(struct router_harness *h);
/* Frees everything in reverse order (router first: pending Redis callbacks
 * run while the buses still exist), then stops Redis. Idempotent. */
void router_harness_stop(struct router_harness *h);

/* Runs the loop for ms. */
void router_harness_settle(struct router_harness *h, int ms);
/* Waits until every event the fake worker sent so far has been handled to
 * its end, so a test can assert that something did NOT happen. Each round
 * sends an event for a call that has no state from the fake worker and
 * waits for the router's hang-up of it, then drops that hang-up: the
 * worker socket and the Redis connection are both FIFO, so when round k
 * is answered every chain started before round 1 has finished its first
 * k Redis round trips and sent what they led to (ahead of the answer, on
 * the same connection). Rounds: the longest chain to wait for (a step is
 * 2: read, save; each compare-and-set retry adds 2). Needs Redis up (or
 * down, not frozen). 0 or -ETIMEDOUT. */
int router_harness_barrier(struct router_harness *h, int rounds);

/* ---- tenant data, as provisioning stores it ---------------------------- */

/* pbx:{t}:tenant (domain, fax off) and objects_rev 1. */
int router_harness_seed_tenant(struct router_harness *h);
/* A field of the tenant's outbound hash (the policy, an extension's
 * settings: PBX_K_OUTBOUND), as provisioning writes it. */
int router_harness_seed_outbound(struct router_harness *h, const char *field,
				 const char *value);
/* SADD pbx:{t}:exts <ext>: the tenant's extensions. */
int router_harness_seed_ext(struct router_harness *h, const char *ext);
/* An object as provisioning's put writes it: HSET pbx:{t}:objects
 * <kind>:<name> json, then INCR objects_rev. */
int router_harness_seed_object(struct router_harness *h, const char *kind,
			       const char *name, const char *json);
/* pbx:{t}:scenario:<name>:v<version> json. */
int router_harness_seed_scenario(struct router_harness *h, const char *name,
				 long version, const char *json);
/* pbx:{sys}:did:<canon> -> tenant and pbx:{t}:number:<canon> -> (name,
 * version); number in any form, stored canonical. */
int router_harness_seed_number(struct router_harness *h, const char *number,
			       const char *name, long version);
/* All three for one number: tenant, scenario name v1, number. */
int router_harness_seed_call(struct router_harness *h, const char *number,
			     const char *name, const char *json);

/* ---- the fake worker --------------------------------------------------- */

/* Sends a heartbeat (capacity, load, draining) and waits until the router
 * recorded it (its field in pbx:{sys}:workers). 0 or negative errno. */
int router_harness_heartbeat(struct router_harness *h, unsigned capacity,
			     unsigned load, bool draining);

struct harness_event {
	Pbx__V1__MediaEvent__Kind kind;
	uint64_t seq;
	const char *digit;
	uint32_t timer_id;
	Pbx__V1__MediaEvent__RingResult ring;
	const char *leg; /* RING_RESULT of a named leg */
	uint32_t conf_members; /* CONF_JOINED / CONF_FULL */
	bool conf_muted;
	const char *speech_phrase; /* SPEECH */
	double speech_confidence;
	int32_t fax_result;  /* FAX_DONE */
	bool fax_continues;  /* FAX_DONE of a kept call */
	/* TRANSFER: the transferor, the Refer-To user and host */
	const char *caller, *dialed, *transfer_host;
	const char *picked_by; /* RING_RESULT answered by a Pickup */
};

/* Sends one MediaEvent for call_id from the fake worker. */
int router_harness_event(struct router_harness *h, const char *call_id,
			 const struct harness_event *ev);

/* ---- the fake queue-manager ------------------------------------------- */

/* Sends a QueueHeartbeat and waits until the router knows HARNESS_QM. */
int router_harness_qm_heartbeat(struct router_harness *h);
/* Sends one QueueEvent about call_id from the fake queue-manager. */
int router_harness_qm_event(struct router_harness *h, const char *call_id,
			    Pbx__V1__QueueEvent *qe);

/* ---- the fake crm-connector --------------------------------------------- */

/* Sends a CrmHeartbeat and waits until the router knows HARNESS_CRM. */
int router_harness_crm_heartbeat(struct router_harness *h);
/* Sends one CrmResult about call_id from the fake crm-connector. */
int router_harness_crm_result(struct router_harness *h, const char *call_id,
			      Pbx__V1__CrmResult *res);

/* ---- the fake edge ----------------------------------------------------- */

/* Sends CallNew (a trunk call from `from` to `to`) and waits for the
 * RouteDecision; returns it (owned by h->edge) or NULL after 3 s. */
const Pbx__V1__RouteDecision *
router_harness_call_new(struct router_harness *h, const char *call_id,
			const char *from, const char *to);
/* The same, from an extension of caller_tenant (source "extension"). */
const Pbx__V1__RouteDecision *
router_harness_call_new_ext(struct router_harness *h, const char *call_id,
			    const char *from, const char *to,
			    const char *caller_tenant);
/* The same with any source ("worker": a media worker's cascade leg). */
const Pbx__V1__RouteDecision *
router_harness_call_new_src(struct router_harness *h, const char *call_id,
			    const char *from, const char *to,
			    const char *source);

/* ---- call state in Redis ----------------------------------------------- */

/* Field of pbx:{t}:call:<call_id> into buf ("" when missing); 0 when the
 * field exists, -ENOENT when not. */
int router_harness_call_field(struct router_harness *h, const char *call_id,
			      const char *field, char *buf, size_t size);
/* TTL of the call record in s (-2: no record, -1: no TTL). */
long long router_harness_call_ttl(struct router_harness *h,
				  const char *call_id);
/* Number of call records of the tenant (pbx:{t}:call:*). */
long long router_harness_call_count(struct router_harness *h);
/* Polls until the call record is gone; true when it is, within ms. */
bool router_harness_call_gone(struct router_harness *h, const char *call_id,
			      int ms);

#endif
