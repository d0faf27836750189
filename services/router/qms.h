/* Queue-manager registry: the live queue-manager instances this router
 * heard from (QueueHeartbeat on its queue socket; every instance connects
 * to every router, so each router has its own complete view) and the
 * choice of one for a command. They share all state in Redis: any live
 * one will do. */
#ifndef QMS_H
#define QMS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMS_MAX 16

struct qm_info {
	char id[65];
	uint64_t seen_ms; /* monotonic ms of the last heartbeat */
};

/* Owned by the router. */
struct qms {
	struct qm_info qm[QMS_MAX];
	size_t n;
	size_t next; /* round-robin */
	uint64_t ttl_ms;
};

void qms_init(struct qms *q, uint64_t ttl_ms);
/* Records a heartbeat of instance id (1-64 characters) at now_ms.
 * -EINVAL bad id, -ENOSPC more than QMS_MAX instances. */
int qms_heartbeat(struct qms *q, const char *id, uint64_t now_ms);
/* A live instance (heard from within the TTL), round-robin; NULL when
 * none is. */
const char *qms_pick(struct qms *q, uint64_t now_ms);

#endif
