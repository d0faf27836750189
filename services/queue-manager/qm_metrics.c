/* The queue-manager's metrics (docs/services/queue-manager.md,
 * "Metrics"): its counters, the results by kind, the callers' estimated
 * waits and the census of waiting callers; healthy while Redis and a
 * router are connected. */
#include <stddef.h>

#include "pbx_metrics.h"
#include "pbx_service.h"
#include "qm.h"

#define N(f, name, help) PBX_COUNTER(struct qm, n.f, name, help)
/* In result_kinds[] order (qm_event.c). */
#define RESULT(i, k)                                                          \
	PBX_COUNTER_L(struct qm, n_result[i], "pbx_queue_results_total",     \
		      "kind=\"" k "\"", "results told to routers, by kind")

static const struct pbx_metric qm_metrics[] = {
	PBX_GAUGE(struct qm, waiting, "pbx_queue_waiting_callers",
		  "callers waiting in all tenants' queues (every instance "
		  "counts them all, every sweep_ms)"),
	PBX_GAUGE(struct qm, offered, "pbx_queue_ringing_callers",
		  "queued callers whose offer rings an agent now"),
	PBX_HISTOGRAM(struct qm, est_wait, "pbx_queue_estimated_wait_seconds",
		      "a caller's estimated wait when it joined a queue"),
	RESULT(0, "queued"),
	RESULT(1, "timeout"),
	RESULT(2, "full"),
	RESULT(3, "no_agents"),
	RESULT(4, "exit_key"),
	RESULT(5, "failed"),
	N(commands, "pbx_queue_commands_total", "QueueCommands handled"),
	N(offers, "pbx_queue_offers_total", "offers sent (agents rung)"),
	N(cancels, "pbx_queue_cancels_total", "offers taken back"),
	N(send_failed, "pbx_queue_send_failed_total",
	  "events no router took"),
	N(runs, "pbx_queue_script_runs_total", "script runs answered"),
	N(store_errors, "pbx_queue_script_errors_total",
	  "script runs that failed"),
};

static int health(const void *obj, const char **why)
{
	const struct qm *qm = obj;

	return pbx_service_health(qm->redis, qm->bus, why);
}

int qm_metrics_add(struct qm *qm, struct pbx_metrics *m)
{
	qm->est_wait.scale = 60; /* 60 ms .. 10 min */
	pbx_metrics_health(m, health, qm);
	return PBX_METRICS_ADD(m, qm_metrics, qm);
}
