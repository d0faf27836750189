/* crm-connector: wiring only — configuration, objects, the event loop,
 * teardown. */
#include <curl/curl.h>
#include <stdio.h>

#include "crm.h"
#include "pbx_config.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_service.h"

static struct crm_config cfg;
static struct pbx_metrics_config mcfg;

#define INT(n, def, lo, hi, help)                                             \
	{#n, PBX_CFG_INT, &cfg.n, def, lo, hi, help}

static const struct pbx_config_item items[] = {
	{"crm_id", PBX_CFG_STR, cfg.crm_id, "crm1", 0, 0,
	 "name of this instance (its CURVE key name)"},
	{"router_endpoints", PBX_CFG_STR, cfg.router_endpoints,
	 "tcp://127.0.0.1:7004", 0, 0,
	 "every router's crm socket, comma-separated"},
	PBX_SERVICE_REDIS_ITEMS(cfg.redis),
	INT(heartbeat_ms, "1000", 100, 10000,
	    "CrmHeartbeat to the routers this often"),
	INT(cache_ttl_s, "30", 0, 86400,
	    "answers are kept this long unless the tenant sets cache_ttl_s "
	    "(0: no cache)"),
	INT(cache_slots, "65536", 16, 4194304, "answer cache size (entries)"),
	INT(breaker_failures, "5", 1, 1000,
	    "failed CRM requests in a row that open a tenant's breaker"),
	INT(breaker_open_ms, "30000", 100, 3600000,
	    "an open breaker answers crm_error at once for this long, then "
	    "lets one trial request through"),
	INT(log_timeout_ms, "10000", 100, 120000,
	    "limit of one call-log request to a CRM"),
	INT(log_retries, "3", 0, 10,
	    "a call-log request that failed on the way (no answer, 5xx, 429) "
	    "is tried again this many times"),
	INT(log_backoff_ms, "1000", 100, 600000,
	    "first wait before a call-log retry, doubled each time (at most "
	    "64 times this)"),
	INT(refresh_margin_s, "300", 0, 86400,
	    "OAuth (amoCRM, Bitrix24 application): refresh the access token "
	    "this long before it expires"),
	INT(crm_private, "0", 0, 1,
	    "1: CRM URLs may reach loopback, private, link-local and CGNAT "
	    "addresses; 0: refused (as the notifier's webhook_private)"),
	INT(answer_margin_ms, "100", 0, 1000,
	    "a lookup is answered crm_error this long before its lookup "
	    "timeout"),
	{"log_level", PBX_CFG_STR, cfg.log_level, "info", 0, 0,
	 "error, warn, info or debug"},
	PBX_LOG_FORMAT_ITEM,
	PBX_METRICS_ITEMS(mcfg, "127.0.0.1:9206"),
	{"curve_secret_file", PBX_CFG_STR, cfg.curve_secret_file, "", 0, 0,
	 "CURVE key (.key) of this instance, named crm_id; empty: plaintext"},
	{"curve_server_public_file", PBX_CFG_STR,
	 cfg.curve_server_public_file, "", 0, 0,
	 "the routers' CURVE public key (.pub)"},
};

static int obj_alloc(void **objp, struct event_base *base, void *zctx,
		     const void *c)
{
	struct crm *crm;
	int err = crm_alloc(&crm, base, zctx, c);

	if (!err)
		*objp = crm;
	return err;
}

static void obj_free(void *obj)
{
	crm_free(obj);
}

static int obj_metrics(void *obj, struct pbx_metrics *m)
{
	return crm_metrics_add(obj, m);
}

int main(int argc, char **argv)
{
	static const struct pbx_service_obj ops = {
		obj_alloc, obj_free, "crm-connector", &mcfg, obj_metrics};
	size_t n = sizeof(items) / sizeof(items[0]);
	char banner[4 * PBX_CFG_STRLEN];
	int err;

	err = pbx_config_main(items, n, "crm-connector", argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	err = pbx_service_client_start("crm-connector", "crm_id", cfg.crm_id,
				       cfg.curve_secret_file,
				       cfg.curve_server_public_file,
				       cfg.log_level, &cfg.redis);
	if (err)
		return err;
	if (cfg.crm_private)
		PLOG_WARN("crm_private=1: tenants' CRM URLs may reach our own "
			  "networks");
	snprintf(banner, sizeof(banner), "%s: routers %s, redis %s:%ld",
		 cfg.crm_id, cfg.router_endpoints, cfg.redis.host,
		 cfg.redis.port);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	err = pbx_service_client_run(&ops, &cfg, banner);
	curl_global_cleanup();
	return err;
}
