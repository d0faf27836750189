/* The router's metrics (docs/services/router.md, "Metrics"): descriptors
 * of the counters struct router keeps, and its health: up while Redis is
 * connected (its buses are bound sockets: they exist once it runs). */
#include <stddef.h>

#include "pbx_metrics.h"
#include "pbx_service.h"
#include "router.h"
#include "workers.h"

static double active_calls(const void *obj)
{
	return workers_calls(((const struct router *)obj)->workers);
}

static const struct pbx_metric router_metrics[] = {
	PBX_COUNTER(struct router, calls_routed, "pbx_router_decisions_total",
		    "route decisions sent to an edge (media or reject)"),
	PBX_COUNTER(struct router, placement_failures,
		    "pbx_router_placement_failures_total",
		    "new calls refused 503: no live media worker with room"),
	PBX_GAUGE_FN(active_calls, "pbx_router_active_calls",
		     "calls on the live media workers (their heartbeats)"),
	PBX_HISTOGRAM(struct router, step_hist, "pbx_router_step_seconds",
		      "one step of a call (a new call's decision, a worker's "
		      "or queue's event) from its message to its last Redis "
		      "reply"),
	PBX_GAUGE(struct router, qms.n, "pbx_router_queue_managers",
		  "queue-managers known (live or not)"),
};

static int health(const void *obj, const char **why)
{
	const struct router *r = obj;

	return pbx_service_health(r->redis, NULL, why);
}

int router_metrics_add(struct router *r, struct pbx_metrics *m)
{
	pbx_metrics_health(m, health, r);
	return PBX_METRICS_ADD(m, router_metrics, r);
}
