/* Router object: wires the edge and worker sockets to their handlers and
 * keeps the worker registry fresh. Owns everything in struct router. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "router.h"
#include "scenario.h"
#include "vcache.h"
#include "did_cache.h"
#include "workers.h"

#define SCACHE_ENTRIES 256
/* Numbers a router remembers the tenant of (did_cache.h): one entry per
 * slot, a new number may evict another (then one more GET). */
#define DID_CACHE_SLOTS 4096

static void edge_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		      const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct router *r = arg;

	(void)bus;
	pbx_log_ctx(NULL, env ? env->call_id : NULL);
	if (err || !env) {
		/* Already logged by the bus; the edge times out into 503. */
		return;
	}
	if (env->body_case != PBX__V1__ENVELOPE__BODY_CALL_NEW) {
		PLOG_WARN("edge socket: unexpected message type %d dropped",
			  env->body_case);
		return;
	}
	route_call_new(r, peer, env);
	pbx_log_ctx(NULL, NULL);
}

static void worker_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
			const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct router *r = arg;

	(void)bus;
	if (err || !env)
		return;
	switch (env->body_case) {
	case PBX__V1__ENVELOPE__BODY_WORKER_HEARTBEAT:
		/* With CURVE a worker speaks only for the id its key names:
		 * another key's heartbeat for mw1 must not keep a dead mw1
		 * alive or move its calls. */
		if (peer && peer->user[0] && env->worker_heartbeat &&
		    (!env->worker_heartbeat->worker_id ||
		     strcmp(env->worker_heartbeat->worker_id, peer->user))) {
			PLOG_WARN("worker socket: key %s sent a heartbeat for "
				  "another worker id; dropped",
				  peer->user);
			break;
		}
		workers_heartbeat(r->workers, env->worker_heartbeat,
				  peer ? peer->fd : -1);
		break;
	case PBX__V1__ENVELOPE__BODY_MEDIA_EVENT:
		route_media_event(r, peer, env);
		break;
	default:
		PLOG_WARN("worker socket: unexpected message type %d dropped",
			  env->body_case);
		break;
	}
	pbx_log_ctx(NULL, NULL);
}

static void queue_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		       const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct router *r = arg;
	const Pbx__V1__QueueHeartbeat *hb;

	(void)bus;
	if (err || !env)
		return;
	switch (env->body_case) {
	case PBX__V1__ENVELOPE__BODY_QUEUE_HEARTBEAT:
		hb = env->queue_heartbeat;
		/* With CURVE an instance speaks only for its key's name. */
		if (!hb || !hb->qm_id ||
		    (peer && peer->user[0] && strcmp(hb->qm_id, peer->user))) {
			PLOG_WARN("queue socket: heartbeat for another id "
				  "dropped");
			break;
		}
		if (qms_heartbeat(&r->qms, hb->qm_id, pbx_clock_mono_ms()))
			PLOG_WARN("queue socket: heartbeat of %s not recorded",
				  hb->qm_id);
		break;
	case PBX__V1__ENVELOPE__BODY_QUEUE_EVENT:
		route_queue_event(r, peer, env);
		break;
	default:
		PLOG_WARN("queue socket: unexpected message type %d dropped",
			  env->body_case);
		break;
	}
	pbx_log_ctx(NULL, NULL);
}

static void crm_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		     const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct router *r = arg;
	const Pbx__V1__CrmHeartbeat *hb;

	(void)bus;
	if (err || !env)
		return;
	switch (env->body_case) {
	case PBX__V1__ENVELOPE__BODY_CRM_HEARTBEAT:
		hb = env->crm_heartbeat;
		/* With CURVE an instance speaks only for its key's name. */
		if (!hb || !hb->crm_id ||
		    (peer && peer->user[0] && strcmp(hb->crm_id, peer->user))) {
			PLOG_WARN("crm socket: heartbeat for another id "
				  "dropped");
			break;
		}
		if (qms_heartbeat(&r->crms, hb->crm_id, pbx_clock_mono_ms()))
			PLOG_WARN("crm socket: heartbeat of %s not recorded",
				  hb->crm_id);
		break;
	case PBX__V1__ENVELOPE__BODY_CRM_RESULT:
		route_crm_event(r, env);
		break;
	default:
		PLOG_WARN("crm socket: unexpected message type %d dropped",
			  env->body_case);
		break;
	}
	pbx_log_ctx(NULL, NULL);
}

static void free_scenario(void *val)
{
	scenario_free(val);
}

static void free_objects(void *val)
{
	scenario_objects_free(val);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct router *r = arg;

	(void)fd;
	(void)what;
	workers_refresh(r->workers);
	workers_lost(r->workers, route_reap_worker, r);
}

int router_alloc(struct router **rp, struct event_base *base, void *zctx,
		 const struct router_config *cfg)
{
	struct timeval tv = {0, 500000};
	struct router *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->cfg = cfg;
	r->base = base;
	qms_init(&r->qms, (uint64_t)cfg->queue_ttl_ms);
	qms_init(&r->crms, (uint64_t)cfg->crm_ttl_ms);
	err = pbx_redis_alloc(&r->redis, base, cfg->redis_host,
			      (int)cfg->redis_port, &cfg->redis_cred);
	if (err)
		goto fail;
	err = route_cdr_batch_alloc(r);
	if (!err)
		err = did_cache_alloc(&r->dids, DID_CACHE_SLOTS,
				      (uint64_t)cfg->did_cache_ms);
	if (err)
		goto fail;
	err = workers_alloc(&r->workers, r->redis,
			    (uint64_t)cfg->worker_ttl_ms,
			    (uint64_t)cfg->worker_reap_ms);
	if (err)
		goto fail;
	err = vcache_alloc(&r->scache, SCACHE_ENTRIES, free_scenario);
	if (!err)
		err = vcache_alloc(&r->ocache, SCACHE_ENTRIES, free_objects);
	if (!err)
		err = vcache_alloc(&r->outcache, SCACHE_ENTRIES, free_scenario);
	if (err)
		goto fail;
	err = pbx_bus_alloc_opts(&r->edge_bus, zctx, PBX_BUS_ROUTER,
				 cfg->edge_listen, NULL,
				 &(struct pbx_bus_opts){
					 .secret_file = cfg->curve_secret_file,
					 .zap_domain = "edge",
				 },
				 edge_recv, r);
	if (err)
		goto fail;
	err = pbx_bus_alloc_opts(&r->worker_bus, zctx, PBX_BUS_ROUTER,
				 cfg->worker_listen, NULL,
				 &(struct pbx_bus_opts){
					 .secret_file = cfg->curve_secret_file,
					 .zap_domain = "worker",
				 },
				 worker_recv, r);
	if (err)
		goto fail;
	err = pbx_bus_alloc_opts(&r->queue_bus, zctx, PBX_BUS_ROUTER,
				 cfg->queue_listen, NULL,
				 &(struct pbx_bus_opts){
					 .secret_file = cfg->curve_secret_file,
					 .zap_domain = "queue",
				 },
				 queue_recv, r);
	if (err)
		goto fail;
	err = pbx_bus_alloc_opts(&r->crm_bus, zctx, PBX_BUS_ROUTER,
				 cfg->crm_listen, NULL,
				 &(struct pbx_bus_opts){
					 .secret_file = cfg->curve_secret_file,
					 .zap_domain = "crm",
				 },
				 crm_recv, r);
	if (err)
		goto fail;
	err = pbx_bus_attach(r->edge_bus, base);
	if (!err)
		err = pbx_bus_attach(r->worker_bus, base);
	if (!err)
		err = pbx_bus_attach(r->queue_bus, base);
	if (!err)
		err = pbx_bus_attach(r->crm_bus, base);
	if (err)
		goto fail;
	r->tick = event_new(base, -1, EV_PERSIST, tick_cb, r);
	if (!r->tick || event_add(r->tick, &tv)) {
		err = -ENOMEM;
		goto fail;
	}
	*rp = r;
	return 0;
fail:
	router_free(r);
	return err;
}

void router_free(struct router *r)
{
	if (!r)
		return;
	if (r->tick)
		event_free(r->tick);
	/* The call records waiting go out with whatever else is queued
	 * (written, not waited for: no reply will be read). */
	route_cdr_flush(r);
	pbx_redis_flush(r->redis);
	/* Freeing Redis runs pending callbacks with NULL replies: they hang up
	 * or reject through the buses, so free it while those still exist
	 * (and their call records, logged as not stored, after it). */
	pbx_redis_free(r->redis);
	r->redis = NULL;
	route_cdr_batch_free(r);
	pbx_bus_free(r->edge_bus);
	pbx_bus_free(r->worker_bus);
	pbx_bus_free(r->queue_bus);
	pbx_bus_free(r->crm_bus);
	vcache_free(r->scache);
	vcache_free(r->ocache);
	vcache_free(r->outcache);
	did_cache_free(r->dids);
	workers_free(r->workers);
	free(r);
}
