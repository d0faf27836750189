/* Queue-manager: owns the DEALER to the routers, the Redis connection, the
 * script that holds every queue rule (qm.lua), the tenants' queue
 * configuration cache and the timers. No call or agent state lives here:
 * it is all in Redis, so N instances share it and one that dies loses
 * nothing (docs/services/queue-manager.md). The files below split the
 * work: qm_store.c (script runs), qm_conf.c (queue objects), qm_call.c and
 * qm_agent.c (router commands), qm_dispatch.c (offers), qm_event.c (what a
 * script run decided, sent to routers), qm_timer.c (due timers). */
#ifndef QM_H
#define QM_H
#include <stdbool.h>
#include <stdint.h>

#include "pbx_bus.h"
#include "pbx_config.h"
#include "pbx_keys.h"
#include "pbx_metrics.h"
#include "pbx_redis.h"
#include "pbx_service.h"
#include "qm_script.h"

struct event_base;
struct event;
struct qm_conf;
struct qm_confs;
struct redisReply;

struct qm_config {
	char qm_id[PBX_CFG_STRLEN];
	char router_endpoints[PBX_CFG_STRLEN];
	struct pbx_service_redis redis;
	long heartbeat_ms;
	long poll_ms;
	long sweep_ms;
	long offer_grace_ms;
	long max_missed;
	long service_level_s;
	long talk_max_s;
	long max_offers;
	long retry_ms;
	char log_level[PBX_CFG_STRLEN];
	char curve_secret_file[PBX_CFG_STRLEN];
	char curve_server_public_file[PBX_CFG_STRLEN];
};

/* What this instance did, for logs and tests. */
struct qm_counters {
	unsigned long commands;     /* QueueCommands handled */
	unsigned long offers;       /* Offers sent */
	unsigned long cancels;      /* Cancels sent */
	unsigned long results;      /* Results sent */
	unsigned long send_failed;  /* events no router took */
	unsigned long runs;         /* script runs answered */
	unsigned long store_errors; /* script runs that failed */
	unsigned long timer_runs;   /* tenants whose timers were fired */
};

/* Result kinds (qm_event.c's result_kinds[]). */
#define QM_RESULT_KINDS 6

struct qm {
	const struct qm_config *cfg;
	struct event_base *base;
	struct pbx_redis *redis;
	struct pbx_bus *bus; /* DEALER to every router */
	struct qm_confs *confs;
	struct event *heartbeat;
	/* qm_store.c: the script's SHA1 once SCRIPT LOAD answered */
	char sha[41];
	bool sha_loading;
	/* qm_timer.c */
	struct event *poll, *sweep;
	uint64_t next_poll_ms; /* wall clock the poll timer is armed for */
	bool polling;
	unsigned long long sweep_cursor;
	bool sweeping;
	uint32_t rnd; /* random strategy: a Park-Miller state, never 0 */
	bool closing; /* qm_free runs: replies still arriving send nothing */
	uint64_t started_ms;
	struct qm_counters n;
	/* Metrics (qm_metrics.c). Callers waiting in and ringing agents
	 * of every tenant's queues, as of the last complete sweep (every
	 * instance counts them all): qm_timer.c's census. */
	unsigned long waiting, offered;
	unsigned long census_waiting, census_offered;
	unsigned census_pending;
	bool census_listed;
	bool census_warned; /* a census reply was an error (logged once) */
	/* Callers' estimated wait when they joined (qm_event.c). */
	struct pbx_hist est_wait;
	unsigned long n_result[QM_RESULT_KINDS]; /* by result_kinds[] */
};

int qm_alloc(struct qm **qp, struct event_base *base, void *zctx,
	     const struct qm_config *cfg);
/* qm_metrics.c: the counters, the census and the health into m. */
int qm_metrics_add(struct qm *qm, struct pbx_metrics *m);
/* Stops at once: pending script runs end with a NULL reply (their
 * handlers free what they own and send nothing). */
void qm_free(struct qm *qm);

/* ---- qm_store.c: the script ------------------------------------------- */

/* The script's answer: events is its list of events (arrays of strings,
 * docs in qm.lua), NULL when the run failed (logged once, here). */
typedef void(qm_store_h)(struct qm *qm, const struct redisReply *events,
			 void *arg);

/* Runs op of qm.lua on tenant's keys at pbx_clock_now_ms(). Takes the
 * arguments (a is reset). Before h runs, the run's "due" event updates
 * the cluster-wide timer index and this instance's wake-up. Returns 0, or
 * -ENOTCONN (Redis down), -EINVAL, -ENOMEM: then h is never called. */
int qm_store_run(struct qm *qm, const char *tenant, const char *op,
		 struct qm_args *a, qm_store_h *h, void *arg);
/* Counts the tenant in pbx:{sys}:qm:tenants (the sweep's list); sent
 * ahead of the first script run that can give the tenant state. */
void qm_store_tenant_seen(struct qm *qm, const char *tenant);

/* ---- qm_event.c: a script's decisions, carried out -------------------- */

/* Sends the offers, cancels, results and agent states of events to the
 * routers (results and agent states as answers to reply_to, which may be
 * NULL), and dispatches the queues the events freed an agent or a caller
 * in (conf: the tenant's configuration if the caller holds it, else NULL:
 * it is loaded when needed). */
void qm_event_apply(struct qm *qm, const char *tenant, struct qm_conf *conf,
		    const struct redisReply *events, const char *reply_to);
/* Sends a QueueEvent about call_id (may be "") of tenant to a router;
 * reply_to may be NULL. 0, or the bus error (counted, logged). */
int qm_event_send(struct qm *qm, const char *tenant, const char *call_id,
		  const char *reply_to, Pbx__V1__QueueEvent *ev);

/* ---- qm_dispatch.c: offers -------------------------------------------- */

/* Offers the waiting callers of these queues to their free agents (one
 * atomic script run per round, rounds until nothing more fits). */
void qm_dispatch_queues(struct qm *qm, const char *tenant,
			struct qm_conf *conf, const char *const *queues,
			size_t n);

/* ---- qm_call.c / qm_agent.c: router commands -------------------------- */

void qm_call_command(struct qm *qm, const Pbx__V1__Envelope *env);
void qm_agent_command(struct qm *qm, const Pbx__V1__Envelope *env);
/* An agent is an extension (an id) or, later, a number. */
bool qm_agent_valid(const char *agent);

/* ---- qm_timer.c: timers in Redis -------------------------------------- */

int qm_timer_start(struct qm *qm);
void qm_timer_stop(struct qm *qm);
/* A script run reported the tenant's earliest timer (due_ms 0: none) at
 * timer sequence seq: records it in pbx:{sys}:qm:due (unless a newer
 * sequence is there already) and wakes this instance then. */
void qm_timer_due(struct qm *qm, const char *tenant, uint64_t due_ms,
		  long long seq);
/* Runs one poll now (tests; the poll timer does the same). */
void qm_timer_poll(struct qm *qm);

#endif
