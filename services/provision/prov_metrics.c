/* provision's metrics (docs/services/provision.md, "Metrics"): requests
 * answered by status; healthy while Redis answers. */
#include <errno.h>
#include <stddef.h>

#include "pbx_metrics.h"
#include "prov.h"

#define BY_STATUS(i, s)                                                       \
	PBX_COUNTER_L(struct provision, n_status[i],                          \
		      "pbx_provision_requests_total", "status=\"" s "\"",     \
		      "requests answered, by status")

static const struct pbx_metric prov_metrics[] = {
	BY_STATUS(0, "ok"),        BY_STATUS(1, "invalid"),
	BY_STATUS(2, "not_found"), BY_STATUS(3, "conflict"),
	BY_STATUS(4, "too_large"), BY_STATUS(5, "internal"),
	BY_STATUS(6, "permission_denied"),
};

/* Its Redis connection is blocking and made again by the next request;
 * the check makes it when it is down (a bounded connect). */
static int health(const void *obj, const char **why)
{
	struct provision *pv = (struct provision *)obj;

	if (!pv->rc && prov_store_connect(pv)) {
		*why = "redis not reachable";
		return -ENOTCONN;
	}
	return 0;
}

int provision_metrics_add(struct provision *pv, struct pbx_metrics *m)
{
	pbx_metrics_health(m, health, pv);
	return PBX_METRICS_ADD(m, prov_metrics, pv);
}
