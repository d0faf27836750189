/* Provisioning service: answers each pbx.v1 ProvRequest envelope on its bus
 * with one ProvResponse envelope (or a BusError for a frame it cannot
 * read), keeping tenants, numbers, extensions, prompts, scenario
 * versions, tenant objects and features, and the operator's trunks in
 * Redis (docs/services/provision.md lists every key). */
#ifndef PROVISION_H
#define PROVISION_H

#include "pbx_bus.h"

struct provision;

/* Sets *pvp only on success. Redis is connected on first use (and again
 * after any failure), so the service starts and answers INTERNAL "storage
 * unavailable" while Redis is down. */
struct pbx_redis_cred;
/* cred (may be NULL: no AUTH) is copied. */
int provision_alloc(struct provision **pvp, const char *redis_host,
		    int redis_port, const struct pbx_redis_cred *cred);
void provision_free(struct provision *pv);

struct pbx_metrics;
/* prov_metrics.c: requests by status and the health (Redis reachable)
 * into m. */
int provision_metrics_add(struct provision *pv, struct pbx_metrics *m);

/* The media store's root (voicemail files), absolute; 0 or -EINVAL. */
#define PROVISION_MEDIA_ROOT_DEFAULT "/var/lib/pbx/media"
int provision_set_media_root(struct provision *pv, const char *root);

/* A request that wrote is answered OK only once `replicas` replicas have
 * its writes (Redis WAIT, at most timeout_ms); else it fails INTERNAL
 * "not confirmed by a replica". replicas 0 (the default): at once. */
void provision_set_wait(struct provision *pv, int replicas, int timeout_ms);

/* The routers' worker_ttl_ms (config item of the same name): `worker
 * list` calls a worker whose last heartbeat is older "silent". */
#define PROVISION_WORKER_TTL_MS_DEFAULT 3000
void provision_set_worker_ttl(struct provision *pv, long ms);

/* The bus receive handler (pbx_bus_recv_h); arg is the struct provision.
 * Always replies to the sending peer, whatever arrived. */
void provision_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		    const Pbx__V1__Envelope *env, int err, void *arg);

#endif
