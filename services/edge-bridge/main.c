/* edge-bridge: wires Kamailio's evapi socket to the router bus. Parses the
 * config, creates the bridge, the bus DEALER and the evapi connection, runs
 * the libevent loop until SIGINT/SIGTERM, and tears down in reverse. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bridge.h"
#include "evapi_conn.h"
#include "pbx_bus.h"
#include "pbx_config.h"
#include "pbx_log.h"
#include "pbx_service.h"

static char cfg_edge_id[PBX_CFG_STRLEN];
static char cfg_evapi_addr[PBX_CFG_STRLEN];
static char cfg_router_endpoints[PBX_CFG_STRLEN];
static long cfg_router_timeout_ms;
static char cfg_log_level[PBX_CFG_STRLEN];
static struct pbx_metrics_config mcfg;
static char cfg_curve_secret_file[PBX_CFG_STRLEN];
static char cfg_curve_server_public_file[PBX_CFG_STRLEN];

/* Mirrored in docs/services/edge-bridge.md. */
static const struct pbx_config_item config[] = {
	{"edge_id", PBX_CFG_STR, cfg_edge_id, "edge1", 0, 0,
	 "this edge's id: CallNew.edge_id and the bus identity"},
	{"evapi_addr", PBX_CFG_STR, cfg_evapi_addr, "127.0.0.1:8448", 0, 0,
	 "Kamailio evapi listener (ip:port)"},
	{"router_endpoints", PBX_CFG_STR, cfg_router_endpoints,
	 "tcp://127.0.0.1:7001", 0, 0,
	 "router ROUTER sockets, comma-separated (round-robin)"},
	{"router_timeout_ms", PBX_CFG_INT, &cfg_router_timeout_ms, "1500",
	 100, 10000,
	 "answer 503 when the router has not decided by then (keep it "
	 "below Kamailio's 2000 ms)"},
	{"log_level", PBX_CFG_STR, cfg_log_level, "info", 0, 0,
	 "error, warn, info or debug"},
	PBX_LOG_FORMAT_ITEM,
	PBX_METRICS_ITEMS(mcfg, "127.0.0.1:9202"),
	{"curve_secret_file", PBX_CFG_STR, cfg_curve_secret_file, "", 0, 0,
	 "CURVE key (.key) named <edge_id>; empty: plaintext"},
	{"curve_server_public_file", PBX_CFG_STR,
	 cfg_curve_server_public_file, "", 0, 0,
	 "the routers' CURVE public key (.pub)"},
};
#define NCONFIG (sizeof(config) / sizeof(config[0]))

/* The objects the hooks below need; lives on main's stack. */
struct app {
	struct pbx_bus *bus;
	struct evapi_conn *evapi;
	struct bridge *bridge;
	bool evapi_up;
	struct pbx_metrics *metrics;
};

/* Healthy while Kamailio's evapi and a router are connected. */
static int health(const void *obj, const char **why)
{
	const struct app *app = obj;

	if (!app->evapi_up)
		*why = "kamailio evapi not connected";
	else if (!pbx_bus_connected(app->bus))
		*why = "no router connected";
	else
		return 0;
	return -ENOTCONN;
}

static int router_send(Pbx__V1__Envelope *env, void *arg)
{
	struct app *app = arg;

	return pbx_bus_send(app->bus, NULL, env);
}

static int kamailio_send(const char *json, size_t len, void *arg)
{
	struct app *app = arg;

	return evapi_conn_send(app->evapi, json, len);
}

static void bus_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		     const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct app *app = arg;

	(void)bus;
	(void)peer;
	(void)err;
	bridge_router_message(app->bridge, env);
}

static void evapi_frame(const char *data, size_t len, void *arg)
{
	struct app *app = arg;

	bridge_kamailio_frame(app->bridge, data, len);
}

static void evapi_state(bool up, void *arg)
{
	struct app *app = arg;

	app->evapi_up = up;
	if (!up)
		bridge_kamailio_down(app->bridge);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	PLOG_INFO("signal %d: stopping", (int)sig);
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	struct app app = {0};
	struct event_base *base = NULL;
	struct event *sigint = NULL, *sigterm = NULL;
	enum pbx_log_level level;
	void *zctx = NULL;
	int err, rc = 1;

	err = pbx_config_main(config, NCONFIG, "edge-bridge", argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (pbx_log_level_parse(cfg_log_level, &level)) {
		fprintf(stderr, "config: log_level: '%s' is not error, warn, "
				"info or debug\n",
			cfg_log_level);
		return 2;
	}
	pbx_log_init("edge-bridge", level);
	/* A write to a socket Kamailio closed must fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);

	base = event_base_new();
	zctx = pbx_zmq_ctx_new();
	if (!base || !zctx) {
		PLOG_ERR("cannot create the event loop or zmq context");
		goto out;
	}
	err = bridge_alloc(&app.bridge, base,
			   &(struct bridge_conf){
				   .edge_id = cfg_edge_id,
				   .timeout_ms =
					   (unsigned)cfg_router_timeout_ms,
				   .router_sendh = router_send,
				   .kamailio_sendh = kamailio_send,
				   .arg = &app,
			   });
	if (err)
		goto fail;
	err = pbx_bus_alloc_opts(
		&app.bus, zctx, PBX_BUS_DEALER, cfg_router_endpoints,
		cfg_edge_id,
		&(struct pbx_bus_opts){
			.secret_file = cfg_curve_secret_file,
			.server_public_file = cfg_curve_server_public_file,
		},
		bus_recv, &app);
	if (err)
		goto fail;
	err = pbx_bus_attach(app.bus, base);
	if (err)
		goto fail;
	err = evapi_conn_alloc(&app.evapi, base, cfg_evapi_addr, evapi_frame,
			       evapi_state, &app);
	if (err)
		goto fail;
	rc = pbx_service_metrics(&app.metrics, "edge-bridge", &mcfg, base);
	if (rc)
		goto out;
	rc = 1;
	pbx_metrics_health(app.metrics, health, &app);
	bridge_metrics_add(app.bridge, app.metrics);
	sigint = evsignal_new(base, SIGINT, signal_cb, base);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	if (!sigint || !sigterm || evsignal_add(sigint, NULL) ||
	    evsignal_add(sigterm, NULL)) {
		PLOG_ERR("cannot install signal handlers");
		goto out;
	}

	PLOG_INFO("edge %s: evapi %s, routers %s, timeout %ld ms",
		  cfg_edge_id, cfg_evapi_addr, cfg_router_endpoints,
		  cfg_router_timeout_ms);
	event_base_dispatch(base);
	rc = 0;
	goto out;
fail:
	PLOG_ERR("start-up failed: %s", strerror(-err));
out:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	pbx_metrics_free(app.metrics);
	evapi_conn_free(app.evapi);
	pbx_bus_free(app.bus);
	bridge_free(app.bridge);
	if (zctx)
		zmq_ctx_term(zctx);
	if (base)
		event_base_free(base);
	return rc;
}
