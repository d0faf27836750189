/* crm-connector: answers the routers' CrmLookup (who owns this caller in
 * the tenant's CRM, as an extension) within the node's lookup timeout,
 * and logs finished calls back into the CRM (CrmCallLog). Every CRM
 * request is a libcurl multi transfer on the libevent loop: nothing
 * blocks. Any number of instances may run: a router sends each request
 * to any live one; what they share (settings, mappings, amoCRM tokens)
 * is in Redis; the answer cache and the circuit breakers are per
 * instance. */
#ifndef CRM_H
#define CRM_H
#include <stdbool.h>
#include <stdint.h>

#include "pbx_bus.h"
#include "pbx_config.h"
#include "pbx_metrics.h"
#include "pbx_service.h"

struct event_base;
struct event;
struct notify_curl;
struct crm_cache;
struct crm_breaker;
struct crm_job;

struct crm_config {
	char crm_id[PBX_CFG_STRLEN];
	char router_endpoints[PBX_CFG_STRLEN];
	struct pbx_service_redis redis;
	long heartbeat_ms;
	long cache_ttl_s;	/* a tenant's answers, unless it sets its own */
	long cache_slots;
	long breaker_failures;
	long breaker_open_ms;
	long log_timeout_ms;	/* a call-log request's own limit */
	long log_retries;	/* a failed call-log step is tried again */
	long log_backoff_ms;	/* after this long, doubled each time */
	long refresh_margin_s;	/* OAuth: refresh this long before expiry */
	long crm_private;	/* 1: CRM URLs may reach our own networks */
	long answer_margin_ms;	/* answer this much before the deadline */
	char log_level[PBX_CFG_STRLEN];
	char curve_secret_file[PBX_CFG_STRLEN];
	char curve_server_public_file[PBX_CFG_STRLEN];
};

/* Counters, for tests and logs. */
struct crm_stats {
	unsigned long lookups, answered_owner, answered_not_found,
		answered_error, cache_hits, breaker_refusals, deadlines,
		http_requests, refreshes, logs_done, logs_failed,
		log_retries;
};

/* Owns everything in it. */
struct crm {
	const struct crm_config *cfg;
	struct event_base *base;
	struct pbx_redis *redis;
	struct pbx_bus *bus;	 /* DEALER to every router */
	struct notify_curl *curl;
	struct crm_cache *cache;
	struct crm_breaker *breaker;
	struct event *heartbeat;
	struct crm_job *jobs;	 /* live lookups and call logs */
	uint64_t started_ms;
	bool closing;
	struct crm_stats n;
	struct pbx_hist lookup_latency; /* lookup received -> answered */
};

int crm_alloc(struct crm **cp, struct event_base *base, void *zctx,
	      const struct crm_config *cfg);
void crm_free(struct crm *crm);
/* crm_metrics.c: the counters and the health into m. */
int crm_metrics_add(struct crm *crm, struct pbx_metrics *m);

/* crm_job.c: one lookup or one call log, from its bus message. */
void crm_job_lookup(struct crm *crm, const Pbx__V1__Envelope *env);
void crm_job_call_log(struct crm *crm, const Pbx__V1__Envelope *env);
/* Ends every job still running (shutdown, after Redis and curl). */
void crm_job_free_all(struct crm *crm);

#endif
