/* router: wiring only — configuration, objects, the event loop, teardown. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "pbx_config.h"
#include "pbx_curve.h"
#include "pbx_log.h"
#include "pbx_service.h"
#include "router.h"

static struct router_config cfg;
static struct pbx_metrics_config mcfg;

static const struct pbx_config_item items[] = {
	{"router_id", PBX_CFG_STR, cfg.router_id, "router1", 0, 0,
	 "name of this instance in logs"},
	{"edge_listen", PBX_CFG_STR, cfg.edge_listen, "tcp://127.0.0.1:7001",
	 0, 0, "ROUTER socket the edge-bridges connect to"},
	{"worker_listen", PBX_CFG_STR, cfg.worker_listen,
	 "tcp://127.0.0.1:7002", 0, 0,
	 "ROUTER socket the media workers connect to"},
	{"queue_listen", PBX_CFG_STR, cfg.queue_listen, "tcp://127.0.0.1:7003",
	 0, 0, "ROUTER socket the queue-managers connect to"},
	{"crm_listen", PBX_CFG_STR, cfg.crm_listen, "tcp://127.0.0.1:7004",
	 0, 0, "ROUTER socket the crm-connectors connect to"},
	{"redis_host", PBX_CFG_STR, cfg.redis_host, "127.0.0.1", 0, 0,
	 "Redis host"},
	{"redis_port", PBX_CFG_INT, &cfg.redis_port, "6390", 1, 65535,
	 "Redis port"},
	{"redis_user", PBX_CFG_STR, cfg.redis_user, "", 0, 0,
	 "Redis ACL user (empty: default)"},
	{"redis_password", PBX_CFG_SECRET, cfg.redis_password, "", 0, 0,
	 "Redis password (prefer redis_password_file)"},
	{"redis_password_file", PBX_CFG_STR, cfg.redis_password_file, "", 0,
	 0, "file whose first line is the Redis password"},
	{"worker_ttl_ms", PBX_CFG_INT, &cfg.worker_ttl_ms, "3000", 500, 60000,
	 "a worker silent this long gets no new calls (and its calls end "
	 "if its connection closed: the worker died)"},
	{"worker_reap_ms", PBX_CFG_INT, &cfg.worker_reap_ms, "30000", 1000,
	 600000,
	 "a worker silent this long is lost even if still connected (its "
	 "host died, or it hangs): its calls end"},
	{"did_cache_ms", PBX_CFG_INT, &cfg.did_cache_ms, "2000", 0, 60000,
	 "a number's tenant (its index entry) is kept this long after a "
	 "call to it, saving a Redis round trip per call; a number moved "
	 "to another tenant reaches it at most this late (0: off)"},
	{"call_ttl_s", PBX_CFG_INT, &cfg.call_ttl_s, "14400", 60, 604800,
	 "call state expires this long after its last event"},
	{"queue_ttl_ms", PBX_CFG_INT, &cfg.queue_ttl_ms, "3000", 500, 60000,
	 "a queue-manager silent this long gets no commands"},
	{"queue_grace_s", PBX_CFG_INT, &cfg.queue_grace_s, "10", 1, 600,
	 "a queued call with no word from the queue-managers takes the "
	 "exit route this long after its max wait"},
	{"crm_ttl_ms", PBX_CFG_INT, &cfg.crm_ttl_ms, "3000", 500, 60000,
	 "a crm-connector silent this long gets no lookups"},
	{"cdr_max_entries", PBX_CFG_INT, &cfg.cdr_max_entries, "100000", 100,
	 10000000, "call records kept per tenant (the oldest are trimmed)"},
	{"cdr_max_age_s", PBX_CFG_INT, &cfg.cdr_max_age_s, "2592000", 3600,
	 31536000, "call records older than this are trimmed (30 days)"},
	{"log_level", PBX_CFG_STR, cfg.log_level, "info", 0, 0,
	 "error, warn, info or debug"},
	PBX_LOG_FORMAT_ITEM,
	PBX_REDIS_SENTINEL_ITEMS,
	PBX_METRICS_ITEMS(mcfg, "127.0.0.1:9201"),
	{"curve_secret_file", PBX_CFG_STR, cfg.curve_secret_file, "", 0, 0,
	 "CURVE server key (.key) of both sockets; empty: plaintext"},
	{"curve_edge_allow_dir", PBX_CFG_STR, cfg.curve_edge_allow_dir, "", 0,
	 0, "directory of the edge-bridges' <edge_id>.pub keys"},
	{"curve_worker_allow_dir", PBX_CFG_STR, cfg.curve_worker_allow_dir, "",
	 0, 0, "directory of the media workers' <worker_id>.pub keys"},
	{"curve_queue_allow_dir", PBX_CFG_STR, cfg.curve_queue_allow_dir, "",
	 0, 0, "directory of the queue-managers' <qm_id>.pub keys"},
	{"curve_crm_allow_dir", PBX_CFG_STR, cfg.curve_crm_allow_dir, "", 0,
	 0, "directory of the crm-connectors' <crm_id>.pub keys"},
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	size_t n = sizeof(items) / sizeof(items[0]);
	struct event *sigint, *sigterm;
	enum pbx_log_level lvl;
	struct event_base *base;
	struct pbx_zap *zap = NULL;
	struct pbx_metrics *metrics = NULL;
	struct router *r;
	void *zctx;
	int err;

	err = pbx_config_main(items, n, "router", argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (pbx_log_level_parse(cfg.log_level, &lvl)) {
		fprintf(stderr, "config: log_level: '%s' is not a level\n",
			cfg.log_level);
		return 2;
	}
	if (pbx_redis_cred_load(&cfg.redis_cred, cfg.redis_user,
				cfg.redis_password, cfg.redis_password_file))
		return 2;
	memset(cfg.redis_password, 0, sizeof(cfg.redis_password));
	pbx_log_init("router", lvl);
	signal(SIGPIPE, SIG_IGN);
	/* Wrong credentials stop start-up here, with Redis's reason; an
	 * unreachable Redis does not (the router reconnects). */
	if (pbx_redis_check(cfg.redis_host, (int)cfg.redis_port,
			    &cfg.redis_cred))
		return 1;

	base = event_base_new();
	zctx = pbx_zmq_ctx_new();
	if (!base || !zctx) {
		PLOG_ERR("cannot create the event loop");
		return 1;
	}
	/* The ZAP handler first: libzmq lets every client in while none is
	 * bound. */
	if (cfg.curve_secret_file[0]) {
		struct pbx_zap_domain doms[4] = {
			{.domain = "edge",
			 .allow_dir = cfg.curve_edge_allow_dir},
			{.domain = "worker",
			 .allow_dir = cfg.curve_worker_allow_dir},
		};
		size_t ndoms = 2;

		if (!cfg.curve_edge_allow_dir[0] ||
		    !cfg.curve_worker_allow_dir[0]) {
			fprintf(stderr, "config: curve_edge_allow_dir and "
					"curve_worker_allow_dir are required "
					"with curve_secret_file\n");
			return 2;
		}
		/* Without queue-managers' keys none can connect: queued
		 * callers take their exit route at once. */
		if (!cfg.curve_queue_allow_dir[0])
			PLOG_WARN("no curve_queue_allow_dir: no queue-manager "
				  "can connect; queues take their exit "
				  "route");
		if (cfg.curve_queue_allow_dir[0])
			doms[ndoms++] = (struct pbx_zap_domain){
				.domain = "queue",
				.allow_dir = cfg.curve_queue_allow_dir};
		/* Without connectors' keys none can connect: crm nodes take
		 * crm_error at once. */
		if (cfg.curve_crm_allow_dir[0])
			doms[ndoms++] = (struct pbx_zap_domain){
				.domain = "crm",
				.allow_dir = cfg.curve_crm_allow_dir};
		else
			PLOG_WARN("no curve_crm_allow_dir: no crm-connector "
				  "can connect; crm nodes take crm_error");
		err = pbx_zap_start(&zap, zctx, doms, ndoms);
		if (err) {
			PLOG_ERR("cannot start the ZAP handler: %s",
				 strerror(-err));
			return 1;
		}
	} else {
		PLOG_WARN("no curve_secret_file: the buses are plaintext and "
			  "unauthenticated");
	}
	err = router_alloc(&r, base, zctx, &cfg);
	if (!err) {
		err = pbx_service_metrics(&metrics, "router", &mcfg, base);
		if (!err)
			router_metrics_add(r, metrics);
		else
			router_free(r);
	}
	if (err > 0) {
		pbx_zap_stop(zap);
		zmq_ctx_term(zctx);
		event_base_free(base);
		return err;
	}
	if (err) {
		PLOG_ERR("cannot start: %s", strerror(-err));
		pbx_zap_stop(zap);
		zmq_ctx_term(zctx);
		event_base_free(base);
		return 1;
	}
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	PLOG_INFO("%s: edges on %s, workers on %s, queue-managers on %s, "
		  "crm-connectors on %s, redis %s:%ld",
		  cfg.router_id, cfg.edge_listen, cfg.worker_listen,
		  cfg.queue_listen, cfg.crm_listen,
		  cfg.redis_host, cfg.redis_port);

	event_base_dispatch(base);

	PLOG_INFO("stopping");
	event_free(sigint);
	event_free(sigterm);
	pbx_metrics_free(metrics);
	router_free(r);
	pbx_zap_stop(zap);
	zmq_ctx_term(zctx);
	event_base_free(base);
	return 0;
}
