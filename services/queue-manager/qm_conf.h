/* Queue configuration of each tenant: its `queue` objects (strategy,
 * agents, timeouts), compiled by the scenario library from
 * pbx:{t}:objects, cached per tenant and revalidated against
 * pbx:{t}:objects_rev on every use. A configuration is reference counted:
 * a command holds it across its Redis round trips, and a newer revision
 * replaces it in the cache without freeing it under that command. */
#ifndef QM_CONF_H
#define QM_CONF_H
#include <stddef.h>

#include "scenario.h"

struct qm;
struct qm_conf;
struct qm_confs;

int qm_confs_alloc(struct qm_confs **cp);
/* Drops the cache's references (held configurations live on). */
void qm_confs_free(struct qm_confs *c);

/* conf: a reference for the handler (drop it with qm_conf_drop), or NULL
 * when Redis failed (logged). */
typedef void(qm_conf_h)(struct qm *qm, struct qm_conf *conf, void *arg);

/* Calls h with the tenant's current configuration: after one GET of the
 * revision when the cached one is current, after reading the objects
 * when not. Returns 0, or -ENOTCONN / -ENOMEM (h is then never called). */
int qm_conf_get(struct qm *qm, const char *tenant, qm_conf_h *h, void *arg);
struct qm_conf *qm_conf_ref(struct qm_conf *conf);
void qm_conf_drop(struct qm_conf *conf); /* NULL-safe */

/* 0, -ENOENT (no such queue). */
int qm_conf_queue(const struct qm_conf *conf, const char *name,
		  struct scenario_queue *q);
/* The queues that list agent (at most max names, owned by conf); returns
 * how many there are. */
size_t qm_conf_agent_queues(const struct qm_conf *conf, const char *agent,
			    const char **names, size_t max);

#endif
