/* Worker registry: the live media workers as every router sees them
 * (heartbeats are written to Redis, so a heartbeat that reached another
 * router counts here too) and the least-loaded choice. */
#ifndef WORKERS_H
#define WORKERS_H
#include <stdint.h>

#include "pbx/v1/envelope.pb-c.h"

struct workers;
struct pbx_redis;

struct worker_info {
	char id[65];
	char sip_uri[128];
	unsigned capacity;
	unsigned load;       /* last reported + our placements since */
	bool draining;
	uint64_t seen_ms;    /* wall clock of the last heartbeat */
};

int workers_alloc(struct workers **wp, struct pbx_redis *redis,
		  uint64_t ttl_ms);
void workers_free(struct workers *w);

/* A heartbeat arrived on our socket: record it here and in Redis. */
void workers_heartbeat(struct workers *w, const Pbx__V1__WorkerHeartbeat *hb);
/* Reloads the registry from Redis (called on a timer). */
void workers_refresh(struct workers *w);
/* The least-loaded live, non-draining worker with room, or NULL; counts
 * the placement so calls in a burst spread before the next heartbeat. */
const struct worker_info *workers_pick(struct workers *w);
/* Parses a registry value "<seen_ms> <load> <capacity> <draining> <uri>"
 * (exposed for tests). Returns 0 or -EINVAL. */
int workers_parse(const char *id, const char *val, struct worker_info *wi);

#endif
