/* The crm-connector's metrics (docs/services/crm-connector.md,
 * "Metrics"): the counters it keeps in crm->n, the lookup latency; healthy
 * while Redis and a router are connected. */
#include <stddef.h>

#include "crm.h"
#include "pbx_metrics.h"
#include "pbx_service.h"

#define N(f, name, help) PBX_COUNTER(struct crm, n.f, name, help)
#define ANSWERED(f, l)                                                        \
	PBX_COUNTER_L(struct crm, n.f, "pbx_crm_answers_total", l,           \
		      "lookups answered, by result")

static const struct pbx_metric crm_metrics[] = {
	N(lookups, "pbx_crm_lookups_total", "CrmLookups received"),
	ANSWERED(answered_owner, "result=\"owner\""),
	ANSWERED(answered_not_found, "result=\"not_found\""),
	ANSWERED(answered_error, "result=\"error\""),
	N(cache_hits, "pbx_crm_cache_hits_total",
	  "lookups answered from the cache"),
	N(breaker_refusals, "pbx_crm_breaker_refusals_total",
	  "lookups refused by an open circuit breaker"),
	N(deadlines, "pbx_crm_deadlines_total",
	  "lookups the CRM did not answer in time"),
	N(http_requests, "pbx_crm_http_requests_total",
	  "requests made to tenants' CRMs"),
	N(refreshes, "pbx_crm_token_refreshes_total",
	  "OAuth access tokens refreshed (amoCRM, Bitrix24 application)"),
	N(logs_done, "pbx_crm_call_logs_total", "calls logged into a CRM"),
	N(logs_failed, "pbx_crm_call_log_errors_total",
	  "call logs a CRM refused or never answered"),
	N(log_retries, "pbx_crm_call_log_retries_total",
	  "call-log requests tried again after a failure on the way"),
	PBX_HISTOGRAM(struct crm, lookup_latency,
		      "pbx_crm_lookup_latency_seconds",
		      "a lookup from its CrmLookup to its CrmResult"),
};

static int health(const void *obj, const char **why)
{
	const struct crm *crm = obj;

	return pbx_service_health(crm->redis, crm->bus, why);
}

int crm_metrics_add(struct crm *crm, struct pbx_metrics *m)
{
	pbx_metrics_health(m, health, crm);
	return PBX_METRICS_ADD(m, crm_metrics, crm);
}
