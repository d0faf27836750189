/* Worker registry: the live media workers as every router sees them
 * (heartbeats are written to Redis, so a heartbeat that reached another
 * router counts here too) and the least-loaded choice. */
#ifndef WORKERS_H
#define WORKERS_H
#include <stdint.h>

#include "pbx_bus.h"
#include "pbx/v1/envelope.pb-c.h"

struct workers;
struct pbx_redis;

struct worker_info {
	char id[65];
	char sip_uri[128];
	unsigned capacity;
	unsigned load;       /* last reported + our placements since */
	bool draining;       /* by its own heartbeat */
	bool drain_exit;     /* ... and it exits after its last call */
	char rtp_ip[64];     /* its RTP ports ("" / 0: not reported) */
	unsigned rtp_min, rtp_max;
	uint64_t seen_ms;    /* wall clock of the last heartbeat */
	bool lost;           /* reported by workers_lost() */
	/* Ours only (never in Redis): the connection its last heartbeat to
	 * this router came on; conn.fd -1 when unknown. */
	struct pbx_bus_conn conn;
};

/* A worker that is gone: silent for longer than the TTL with its
 * connection to us closed (its process died), or silent for longer than
 * the reap time whatever its connection says (its host died, or it hangs). */
typedef void(workers_lost_h)(const char *worker_id, uint64_t seen_ms,
			     void *arg);

/* ttl_ms: silence after which a worker gets no new calls; reap_ms (at
 * least ttl_ms): silence after which it is lost even if still connected. A
 * busy worker's heartbeats may come late; its calls must not be ended for
 * that. */
int workers_alloc(struct workers **wp, struct pbx_redis *redis,
		  uint64_t ttl_ms, uint64_t reap_ms);
void workers_free(struct workers *w);

/* A heartbeat arrived on our socket (on TCP connection fd, or -1): record
 * it here and in Redis. */
void workers_heartbeat(struct workers *w, const Pbx__V1__WorkerHeartbeat *hb,
		       int fd);
/* Reloads the registry and the operators' drain marks
 * (pbx:{sys}:worker:drain) from Redis (called on a timer). A worker with
 * a mark gets no new calls whatever its heartbeat says, so a drain holds
 * from this router's first refresh on, a restart included. */
void workers_refresh(struct workers *w);
/* True when an operator's drain mark names worker id (last refresh). */
bool workers_drain_marked(const struct workers *w, const char *id);
/* The least-loaded live, non-draining worker with room, or NULL; counts
 * the placement so calls in a burst spread before the next heartbeat. */
const struct worker_info *workers_pick(struct workers *w);
/* Worker id if it is live, not draining and has room (counted as a
 * placement like workers_pick), or NULL: a conference room's worker. */
const struct worker_info *workers_pick_id(struct workers *w, const char *id);
/* Calls on the live workers (their last reported load plus our
 * placements since): the system's active calls. */
unsigned workers_calls(const struct workers *w);
/* True while worker id's heartbeats are fresh (draining or full alike). */
bool workers_live(struct workers *w, const char *id);
/* The least-loaded live worker other than not_id, or NULL: the fallback
 * the edge tries when the first placement fails. Not counted as a
 * placement (it is used only if the first one fails). */
const struct worker_info *workers_pick_alt(struct workers *w,
					   const char *not_id);
/* Calls h once for each worker that is gone (see workers_lost_h; again
 * only after it came back and went silent again). Call on a timer. */
void workers_lost(struct workers *w, workers_lost_h *h, void *arg);
/* Forgets a worker lost with its heartbeat of seen_ms (its registry
 * entry was removed), unless a newer heartbeat came meanwhile (restarted
 * under the same id: that entry stays). */
void workers_forget(struct workers *w, const char *id, uint64_t seen_ms);
/* Parses a registry value "<seen_ms> <load> <capacity> <draining> <uri>
 * [<rtp_ip> <rtp_min>-<rtp_max> <exit 0|1>]" (exposed for tests; the
 * bracketed part is absent in values of older routers). 0 or -EINVAL. */
int workers_parse(const char *id, const char *val, struct worker_info *wi);

#endif
