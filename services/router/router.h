/* Router: owns the two bus sockets (edges, workers), the Redis connection,
 * the worker registry and the scenario cache; handlers live in
 * route_call.c (new calls) and route_media.c (worker events). */
#ifndef ROUTER_H
#define ROUTER_H
#include <stdbool.h>
#include <stdint.h>

#include "pbx_bus.h"
#include "pbx_config.h"
#include "pbx_metrics.h"
#include "pbx_redis.h"
#include "qms.h"

struct event_base;
struct pbx_redis;
struct workers;
struct vcache;
struct route_cdr_batch;
struct did_cache;

struct router_config {
	char router_id[PBX_CFG_STRLEN];
	char edge_listen[PBX_CFG_STRLEN];
	char worker_listen[PBX_CFG_STRLEN];
	char queue_listen[PBX_CFG_STRLEN];
	char crm_listen[PBX_CFG_STRLEN];
	char redis_host[PBX_CFG_STRLEN];
	long redis_port;
	char redis_user[PBX_CFG_STRLEN];
	char redis_password[PBX_CFG_STRLEN];
	char redis_password_file[PBX_CFG_STRLEN];
	struct pbx_redis_cred redis_cred; /* from the three above (main) */
	long worker_ttl_ms;  /* silent this long: no new calls */
	long worker_reap_ms; /* silent this long, connected or not: lost */
	long call_ttl_s;
	long queue_ttl_ms;  /* a queue-manager silent this long is gone */
	long queue_grace_s; /* a queued call's deadline: max wait + this */
	long crm_ttl_ms;    /* a crm-connector silent this long is gone */
	long cdr_max_entries; /* call records kept per tenant (0: default) */
	long cdr_max_age_s;   /* ... and for how long (0: default) */
	long did_cache_ms;    /* number -> tenant kept this long (0: off) */
	char log_level[PBX_CFG_STRLEN];
	/* CURVE (docs/security.md): empty secret file = plaintext. */
	char curve_secret_file[PBX_CFG_STRLEN];
	char curve_edge_allow_dir[PBX_CFG_STRLEN];
	char curve_worker_allow_dir[PBX_CFG_STRLEN];
	char curve_queue_allow_dir[PBX_CFG_STRLEN];
	char curve_crm_allow_dir[PBX_CFG_STRLEN];
};

#define ROUTER_EDGES_MAX 16

struct router {
	const struct router_config *cfg;
	struct event_base *base;
	struct pbx_redis *redis;
	struct pbx_bus *edge_bus;    /* ROUTER: edge-bridges */
	struct pbx_bus *worker_bus;  /* ROUTER: media workers */
	struct pbx_bus *queue_bus;   /* ROUTER: queue-managers */
	struct qms qms;              /* live queue-managers */
	struct pbx_bus *crm_bus;     /* ROUTER: crm-connectors */
	struct qms crms;             /* live crm-connectors (same registry) */
	struct workers *workers;
	struct vcache *scache;  /* parsed scenarios */
	struct vcache *ocache;  /* compiled tenant objects */
	struct vcache *outcache; /* outbound calls' built-in scenarios
				  * ("@out:", one per number dialled: kept
				  * apart so they never evict a tenant's) */
	struct event *tick;
	struct route_cdr_batch *cdrs; /* call records waiting (route_cdr.c) */
	struct did_cache *dids; /* number -> tenant, a moment (did_cache.h) */
	/* Edge-bridges heard from (bus ids): a CallEnd whose call's own
	 * edge is gone goes to another one, as every edge reaches the same
	 * Kamailio (route_reap.c). */
	char edges[ROUTER_EDGES_MAX][65];
	unsigned n_edges;
	unsigned long calls_routed;
	/* Metrics (router_metrics.c). */
	unsigned long placement_failures; /* no live worker with room */
	struct pbx_hist step_hist; /* one route_ctx's life: a step's work */
};

int router_alloc(struct router **rp, struct event_base *base, void *zctx,
		 const struct router_config *cfg);
void router_free(struct router *r);
/* router_metrics.c: r's metrics and health into m. */
int router_metrics_add(struct router *r, struct pbx_metrics *m);

/* route_call.c: an edge asks where a new call goes. */
void route_call_new(struct router *r, const struct pbx_bus_peer *peer,
		    const Pbx__V1__Envelope *env);
/* route_media.c: a worker reports on a call it anchors. */
void route_media_event(struct router *r, const struct pbx_bus_peer *peer,
		       const Pbx__V1__Envelope *env);
/* route_queue.c: a queue-manager reports on a queued call. */
void route_queue_event(struct router *r, const struct pbx_bus_peer *peer,
		       const Pbx__V1__Envelope *env);
/* route_crm.c: a crm-connector answers a lookup. */
void route_crm_event(struct router *r, const Pbx__V1__Envelope *env);
/* route_cdr.c: the batch of call records waiting for Redis (r->cdrs).
 * flush: the batch to Redis now (the router's shutdown); free logs every
 * record still waiting. */
int route_cdr_batch_alloc(struct router *r);
void route_cdr_flush(struct router *r);
void route_cdr_batch_free(struct router *r);
/* route_reap.c: an edge-bridge (its bus id) asked about a call. */
void route_edge_heard(struct router *r, const char *edge);
/* route_reap.c: workers_lost_h that ends a lost worker's calls. */
void route_reap_worker(const char *worker_id, uint64_t seen_ms, void *arg);
/* cmd (its body set) to worker_id as call_id's command number seq;
 * 0 or the send's error (logged). */
int route_media_send(struct router *r, const char *worker_id,
		     const char *tenant, const char *call_id, uint64_t seq,
		     Pbx__V1__MediaCommand *cmd);
/* Sends a MediaCommand hangup for a call we cannot continue (also every
 * hang-up the walk decides); the code and reason go into the call record
 * for its CDR (route_cdr.c). */
void route_media_hangup(struct router *r, const char *worker_id,
			const char *tenant, const char *call_id,
			unsigned code, const char *reason);

#endif
