/* Start-up steps and the signal loop shared by services' main(). */
#include <errno.h>
#include <event2/event.h>
#include <zmq.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "pbx_bus.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_service.h"

int pbx_service_start(const char *service, const char *log_level,
		      struct pbx_service_redis *r)
{
	enum pbx_log_level lvl;

	if (pbx_log_level_parse(log_level, &lvl)) {
		fprintf(stderr, "config: log_level: '%s' is not one of error, "
				"warn, info, debug\n",
			log_level);
		return 2;
	}
	if (pbx_redis_cred_load(&r->cred, r->user, r->password,
				r->password_file))
		return 2;
	memset(r->password, 0, sizeof(r->password));
	pbx_log_init(service, lvl);
	signal(SIGPIPE, SIG_IGN);
	return pbx_redis_check(r->host, (int)r->port, &r->cred) ? 1 : 0;
}

int pbx_service_client_start(const char *service, const char *id_key,
			     const char *id, const char *secret_file,
			     const char *server_public_file,
			     const char *log_level,
			     struct pbx_service_redis *r)
{
	int err;

	if (!pbx_id_valid(id)) {
		fprintf(stderr, "config: %s: '%s' is not an id (1..64 of "
				"A-Z a-z 0-9 _ . -)\n",
			id_key, id);
		return 2;
	}
	if (secret_file[0] && !server_public_file[0]) {
		fprintf(stderr, "config: curve_server_public_file is required "
				"with curve_secret_file\n");
		return 2;
	}
	err = pbx_service_start(service, log_level, r);
	if (!err && !secret_file[0])
		PLOG_WARN("no curve_secret_file: the bus to the routers is "
			  "plaintext and unauthenticated");
	return err;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int pbx_service_client_run(const struct pbx_service_obj *ops, const void *cfg,
			   const char *banner)
{
	struct event_base *base = event_base_new();
	void *zctx = pbx_zmq_ctx_new();
	struct pbx_metrics *m = NULL;
	void *obj = NULL;
	int err = -ENOMEM, rc = 0;

	if (base && zctx)
		err = ops->alloc(&obj, base, zctx, cfg);
	if (err) {
		PLOG_ERR("cannot start: %s", strerror(-err));
		rc = 1;
	} else {
		rc = pbx_service_metrics(&m, ops->service, ops->mc, base);
		if (!rc) {
			ops->metrics(obj, m);
			PLOG_INFO("%s", banner);
			pbx_service_run(base);
			PLOG_INFO("stopping");
		}
		pbx_metrics_free(m);
		ops->free(obj);
	}
	if (zctx)
		zmq_ctx_term(zctx);
	if (base)
		event_base_free(base);
	return rc;
}

int pbx_service_metrics(struct pbx_metrics **mp, const char *service,
			const struct pbx_metrics_config *mc,
			struct event_base *base)
{
	struct pbx_metrics *m;
	int err = pbx_metrics_alloc(&m, service, mc->token_file);

	if (err)
		return err == -ENOMEM ? 1 : 2;
	err = pbx_metrics_http_start(m, base, mc->listen);
	if (err) {
		pbx_metrics_free(m);
		return err == -EINVAL ? 2 : 1;
	}
	*mp = m;
	return 0;
}

int pbx_service_health(struct pbx_redis *redis, struct pbx_bus *bus,
		       const char **why)
{
	if (!pbx_redis_ctx(redis))
		*why = "redis not connected";
	else if (bus && !pbx_bus_connected(bus))
		*why = "no router connected";
	else
		return 0;
	return -ENOTCONN;
}

void pbx_service_run(struct event_base *base)
{
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);

	if (sigint)
		event_add(sigint, NULL);
	if (sigterm)
		event_add(sigterm, NULL);
	event_base_dispatch(base);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
}
