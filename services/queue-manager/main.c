/* queue-manager: wiring only — configuration, objects, the event loop,
 * teardown. */
#include <stdio.h>

#include "pbx_config.h"
#include "pbx_log.h"
#include "pbx_service.h"
#include "qm.h"

static struct qm_config cfg;
static struct pbx_metrics_config mcfg;

#define INT(n, def, lo, hi, help)                                             \
	{#n, PBX_CFG_INT, &cfg.n, def, lo, hi, help}

static const struct pbx_config_item items[] = {
	{"qm_id", PBX_CFG_STR, cfg.qm_id, "qm1", 0, 0,
	 "name of this instance (its CURVE key name)"},
	{"router_endpoints", PBX_CFG_STR, cfg.router_endpoints,
	 "tcp://127.0.0.1:7003", 0, 0,
	 "every router's queue socket, comma-separated"},
	PBX_SERVICE_REDIS_ITEMS(cfg.redis),
	INT(heartbeat_ms, "1000", 100, 10000,
	    "QueueHeartbeat to the routers this often"),
	INT(poll_ms, "100", 5, 5000,
	    "look for due timers at least this often"),
	INT(sweep_ms, "5000", 100, 600000,
	    "re-read every tenant's earliest timer this often"),
	INT(offer_grace_ms, "5000", 100, 60000,
	    "an offer nobody reported on expires this long after the ring "
	    "timeout (a miss)"),
	INT(max_missed, "3", 0, 100,
	    "missed offers in a row that pause an agent (0: never)"),
	INT(service_level_s, "20", 1, 3600,
	    "answered within this many seconds counts for the service level"),
	INT(talk_max_s, "14400", 60, 604800,
	    "a bridged call whose end is never reported frees its agent after "
	    "this"),
	INT(max_offers, "32", 1, 1000, "offers made by one dispatch run"),
	INT(retry_ms, "1000", 10, 60000,
	    "an offer no router took is made again after this"),
	{"log_level", PBX_CFG_STR, cfg.log_level, "info", 0, 0,
	 "error, warn, info or debug"},
	PBX_LOG_FORMAT_ITEM,
	PBX_METRICS_ITEMS(mcfg, "127.0.0.1:9204"),
	{"curve_secret_file", PBX_CFG_STR, cfg.curve_secret_file, "", 0, 0,
	 "CURVE key (.key) of this instance, named qm_id; empty: plaintext"},
	{"curve_server_public_file", PBX_CFG_STR,
	 cfg.curve_server_public_file, "", 0, 0,
	 "the routers' CURVE public key (.pub)"},
};

static int obj_alloc(void **objp, struct event_base *base, void *zctx,
		     const void *c)
{
	struct qm *qm;
	int err = qm_alloc(&qm, base, zctx, c);

	if (!err)
		*objp = qm;
	return err;
}

static void obj_free(void *obj)
{
	qm_free(obj);
}

static int obj_metrics(void *obj, struct pbx_metrics *m)
{
	return qm_metrics_add(obj, m);
}

int main(int argc, char **argv)
{
	static const struct pbx_service_obj ops = {
		obj_alloc, obj_free, "queue-manager", &mcfg, obj_metrics};
	size_t n = sizeof(items) / sizeof(items[0]);
	char banner[4 * PBX_CFG_STRLEN];
	int err;

	err = pbx_config_main(items, n, "queue-manager", argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	err = pbx_service_client_start("queue-manager", "qm_id", cfg.qm_id,
				       cfg.curve_secret_file,
				       cfg.curve_server_public_file,
				       cfg.log_level, &cfg.redis);
	if (err)
		return err;
	snprintf(banner, sizeof(banner), "%s: routers %s, redis %s:%ld",
		 cfg.qm_id, cfg.router_endpoints, cfg.redis.host,
		 cfg.redis.port);
	return pbx_service_client_run(&ops, &cfg, banner);
}
