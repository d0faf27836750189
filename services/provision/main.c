/* provision: wiring only. Reads the config, binds the ROUTER bus, runs the
 * libevent loop until SIGINT/SIGTERM, and tears down in reverse. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "pbx_bus.h"
#include "pbx_config.h"
#include "pbx_curve.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "pbx_service.h"
#include "provision.h"

/* The largest request: a 16 MiB prompt in its envelope; what is between
 * this and the bus's own 24 MiB limit is answered "too large" by the
 * handlers. Above it ZeroMQ drops the connection unbuffered. */
#define PROV_MAX_FRAME (24LL * 1024 * 1024 + 4096)
#define PROV_MONITOR "inproc://provision.monitor"

static char cfg_listen[PBX_CFG_STRLEN];
static char cfg_redis_host[PBX_CFG_STRLEN];
static long cfg_redis_port;
static char cfg_redis_user[PBX_CFG_STRLEN];
static char cfg_redis_password[PBX_CFG_STRLEN];
static char cfg_redis_password_file[PBX_CFG_STRLEN];
static char cfg_log_level[PBX_CFG_STRLEN];
static struct pbx_metrics_config mcfg;
static char cfg_media_root[PBX_CFG_STRLEN];
static char cfg_curve_secret_file[PBX_CFG_STRLEN];
static char cfg_curve_allow_dir[PBX_CFG_STRLEN];
static long cfg_max_clients;
static long cfg_wait_replicas;
static long cfg_worker_ttl_ms;
static long cfg_wait_timeout_ms;

static const struct pbx_config_item config[] = {
	{"listen", PBX_CFG_STR, cfg_listen, "tcp://127.0.0.1:7010", 0, 0,
	 "ZeroMQ endpoint(s) the ROUTER binds, comma-separated"},
	{"redis_host", PBX_CFG_STR, cfg_redis_host, "127.0.0.1", 0, 0,
	 "Redis host"},
	{"redis_port", PBX_CFG_INT, &cfg_redis_port, "6390", 1, 65535,
	 "Redis port"},
	{"redis_user", PBX_CFG_STR, cfg_redis_user, "", 0, 0,
	 "Redis ACL user (empty: default)"},
	{"redis_password", PBX_CFG_SECRET, cfg_redis_password, "", 0, 0,
	 "Redis password (prefer redis_password_file)"},
	{"redis_password_file", PBX_CFG_STR, cfg_redis_password_file, "", 0,
	 0, "file whose first line is the Redis password"},
	{"redis_wait_replicas", PBX_CFG_INT, &cfg_wait_replicas, "0", 0, 8,
	 "a write is acknowledged once this many replicas have it (WAIT); "
	 "0: at once"},
	{"redis_wait_timeout_ms", PBX_CFG_INT, &cfg_wait_timeout_ms, "1000",
	 1, 60000, "how long a write waits for its replicas before it fails"},
	{"media_root", PBX_CFG_STR, cfg_media_root,
	 PROVISION_MEDIA_ROOT_DEFAULT, 0, 0,
	 "durable media store root (voicemail files), as the workers'"},
	{"worker_ttl_ms", PBX_CFG_INT, &cfg_worker_ttl_ms, "3000", 100, 600000,
	 "the routers' worker_ttl_ms: `worker list` calls a worker whose last "
	 "heartbeat is older silent"},
	{"log_level", PBX_CFG_STR, cfg_log_level, "info", 0, 0,
	 "error, warn, info or debug"},
	PBX_LOG_FORMAT_ITEM,
	PBX_REDIS_SENTINEL_ITEMS,
	PBX_METRICS_ITEMS(mcfg, "127.0.0.1:9203"),
	{"curve_secret_file", PBX_CFG_STR, cfg_curve_secret_file, "", 0, 0,
	 "CURVE server key (.key); empty: plaintext, no authentication"},
	{"curve_allow_dir", PBX_CFG_STR, cfg_curve_allow_dir, "", 0, 0,
	 "directory of the clients' .pub keys (tenant-<t>.pub: that tenant "
	 "only; any other name: operator)"},
	{"max_clients", PBX_CFG_INT, &cfg_max_clients, "4", 1, 64,
	 "connections served at once (with CURVE); memory in flight is at "
	 "most about 3 x 24 MiB per client"},
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	PLOG_INFO("signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct event *sigint = NULL, *sigterm = NULL;
	struct provision *pv = NULL;
	struct pbx_redis_cred cred;
	struct pbx_bus *bus = NULL;
	struct pbx_zap *zap = NULL;
	struct pbx_metrics *metrics = NULL;
	enum pbx_log_level lvl;
	void *zctx = NULL;
	int err, rc = 1;

	err = pbx_config_main(config, sizeof(config) / sizeof(config[0]),
			      "provision", argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (pbx_log_level_parse(cfg_log_level, &lvl)) {
		fprintf(stderr, "config: log_level: '%s' is not one of error, "
				"warn, info, debug\n",
			cfg_log_level);
		return 2;
	}
	if (pbx_redis_cred_load(&cred, cfg_redis_user, cfg_redis_password,
				cfg_redis_password_file))
		return 2;
	memset(cfg_redis_password, 0, sizeof(cfg_redis_password));
	pbx_log_init("provision", lvl);
	signal(SIGPIPE, SIG_IGN);
	/* Wrong credentials stop start-up here, with Redis's reason; an
	 * unreachable Redis does not (requests reconnect). */
	if (pbx_redis_check(cfg_redis_host, (int)cfg_redis_port, &cred))
		return 1;

	base = event_base_new();
	zctx = pbx_zmq_ctx_new();
	if (!base || !zctx) {
		PLOG_ERR("cannot create the event loop or the zmq context");
		goto out;
	}
	err = provision_alloc(&pv, cfg_redis_host, (int)cfg_redis_port, &cred);
	memset(&cred, 0, sizeof(cred));
	if (err) {
		PLOG_ERR("provision: %s", strerror(-err));
		goto out;
	}
	provision_set_worker_ttl(pv, cfg_worker_ttl_ms);
	provision_set_wait(pv, (int)cfg_wait_replicas,
			   (int)cfg_wait_timeout_ms);
	if (provision_set_media_root(pv, cfg_media_root)) {
		PLOG_ERR("config: media_root: '%s' is not an absolute path",
			 cfg_media_root);
		goto out;
	}
	/* The ZAP handler first: libzmq lets every client in while none is
	 * bound. */
	if (cfg_curve_secret_file[0]) {
		const struct pbx_zap_domain dom = {
			.domain = "provision",
			.allow_dir = cfg_curve_allow_dir,
			.monitor = PROV_MONITOR,
			.max_peers = (int)cfg_max_clients,
		};

		if (!cfg_curve_allow_dir[0]) {
			PLOG_ERR("curve_allow_dir is required with "
				 "curve_secret_file");
			goto out;
		}
		err = pbx_zap_start(&zap, zctx, &dom, 1);
		if (err) {
			PLOG_ERR("cannot start the ZAP handler: %s",
				 strerror(-err));
			goto out;
		}
	} else {
		PLOG_WARN("no curve_secret_file: any local process can change "
			  "any tenant");
	}
	/* Memory in flight: frames above PROV_MAX_FRAME drop the
	 * connection before they are buffered; each client has at most one
	 * frame queued (RCVHWM 1) and one more held by its reader, and the
	 * ZAP handler admits max_clients connections. */
	err = pbx_bus_alloc_opts(&bus, zctx, PBX_BUS_ROUTER, cfg_listen, NULL,
				 &(struct pbx_bus_opts){
					 .secret_file = cfg_curve_secret_file,
					 .zap_domain = "provision",
					 .max_frame = PROV_MAX_FRAME,
					 .rcvhwm = 2,
					 .monitor = zap ? PROV_MONITOR : NULL,
				 },
				 provision_recv, pv);
	if (err) {
		PLOG_ERR("cannot listen on %s: %s", cfg_listen,
			 strerror(-err));
		goto out;
	}
	err = pbx_bus_attach(bus, base);
	if (err) {
		PLOG_ERR("bus: %s", strerror(-err));
		goto out;
	}
	rc = pbx_service_metrics(&metrics, "provision", &mcfg, base);
	if (rc)
		goto out;
	rc = 1;
	provision_metrics_add(pv, metrics);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (!sigint || !sigterm || evsignal_add(sigint, NULL) ||
	    evsignal_add(sigterm, NULL)) {
		PLOG_ERR("cannot install signal handlers");
		goto out;
	}
	PLOG_INFO("listening on %s, redis %s:%ld", cfg_listen, cfg_redis_host,
		  cfg_redis_port);
	event_base_dispatch(base);
	rc = 0;
out:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	pbx_metrics_free(metrics);
	pbx_bus_free(bus);
	pbx_zap_stop(zap);
	provision_free(pv);
	if (zctx)
		zmq_ctx_term(zctx);
	if (base)
		event_base_free(base);
	return rc;
}
