/* The notifier's metrics (docs/services/notifier.md, "Metrics"):
 * deliveries, failed attempts, dead letters, deliveries in flight; healthy
 * while its Redis connection and consumer group are there. */
#include <errno.h>
#include <stddef.h>

#include "notifier.h"
#include "notifier_priv.h"
#include "pbx_metrics.h"

static const struct pbx_metric notifier_metrics[] = {
	PBX_COUNTER(struct notifier, n_sent, "pbx_notify_sent_total",
		    "notifications delivered (e-mail, webhook, MWI)"),
	PBX_COUNTER(struct notifier, n_failed, "pbx_notify_failed_total",
		    "delivery attempts that failed (retried or given up)"),
	PBX_COUNTER(struct notifier, n_dead, "pbx_notify_dead_letters_total",
		    "jobs given up into the dead-letter stream"),
	PBX_GAUGE(struct notifier, ninflight, "pbx_notify_inflight",
		  "deliveries under way"),
};

static int health(const void *obj, const char **why)
{
	const struct notifier *n = obj;

	if (!n->rc || !n->grouped) {
		*why = "redis not connected";
		return -ENOTCONN;
	}
	return 0;
}

int notifier_metrics_add(struct notifier *n, struct pbx_metrics *m)
{
	pbx_metrics_health(m, health, n);
	return PBX_METRICS_ADD(m, notifier_metrics, n);
}
