/* crm-connector object: wires the routers' requests to the jobs, tells
 * the routers it is alive (CrmHeartbeat), owns the loop's CRM client
 * (libcurl multi), the answer cache and the breakers. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "crm.h"
#include "crm_breaker.h"
#include "crm_cache.h"
#include "notify_curl.h"
#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"

/* A heartbeat no router took (none connected yet) is tried again this
 * soon, so a router knows a new instance as soon as it is connected. */
#define HEARTBEAT_RETRY_MS 100

static void bus_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		     const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct crm *crm = arg;

	(void)bus;
	(void)peer;
	if (err || !env)
		return; /* logged by the bus */
	/* The tenant is the router's (from its own number index); a
	 * message without a valid one is nobody's. */
	if (!pbx_tenant_valid(env->tenant_id)) {
		PLOG_WARN("crm message without a valid tenant dropped");
		return;
	}
	pbx_log_ctx(env->tenant_id, env->call_id);
	if (env->body_case == PBX__V1__ENVELOPE__BODY_CRM_LOOKUP &&
	    env->crm_lookup)
		crm_job_lookup(crm, env);
	else if (env->body_case == PBX__V1__ENVELOPE__BODY_CRM_CALL_LOG &&
		 env->crm_call_log)
		crm_job_call_log(crm, env);
	else
		PLOG_WARN("unexpected message type %d dropped",
			  env->body_case);
	pbx_log_ctx(NULL, NULL);
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CrmHeartbeat hb = PBX__V1__CRM_HEARTBEAT__INIT;
	struct crm *crm = arg;
	long ms = crm->cfg->heartbeat_ms;
	struct timeval tv;

	(void)fd;
	(void)what;
	hb.crm_id = (char *)crm->cfg->crm_id;
	hb.started_ms = crm->started_ms;
	env.tenant_id = (char *)"";
	env.call_id = (char *)"";
	env.body_case = PBX__V1__ENVELOPE__BODY_CRM_HEARTBEAT;
	env.crm_heartbeat = &hb;
	if (pbx_bus_send(crm->bus, NULL, &env) && ms > HEARTBEAT_RETRY_MS)
		ms = HEARTBEAT_RETRY_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(crm->heartbeat, &tv);
}

int crm_alloc(struct crm **cp, struct event_base *base, void *zctx,
	      const struct crm_config *cfg)
{
	struct crm *crm = calloc(1, sizeof(*crm));
	int err;

	if (!crm)
		return -ENOMEM;
	crm->cfg = cfg;
	crm->base = base;
	crm->started_ms = pbx_clock_now_ms();
	err = crm_cache_alloc(&crm->cache, (size_t)cfg->cache_slots);
	if (!err)
		err = crm_breaker_alloc(&crm->breaker, 4096,
					(unsigned)cfg->breaker_failures,
					(uint64_t)cfg->breaker_open_ms);
	if (!err)
		err = notify_curl_alloc(&crm->curl, base);
	if (!err)
		err = pbx_redis_alloc(&crm->redis, base, cfg->redis.host,
				      (int)cfg->redis.port, &cfg->redis.cred);
	if (!err)
		err = pbx_bus_alloc_opts(
			&crm->bus, zctx, PBX_BUS_DEALER, cfg->router_endpoints,
			cfg->crm_id,
			&(struct pbx_bus_opts){
				.secret_file = cfg->curve_secret_file,
				.server_public_file =
					cfg->curve_server_public_file,
			},
			bus_recv, crm);
	if (!err)
		err = pbx_bus_attach(crm->bus, base);
	if (err)
		goto fail;
	crm->heartbeat = event_new(base, -1, 0, heartbeat_cb, crm);
	if (!crm->heartbeat) {
		err = -ENOMEM;
		goto fail;
	}
	event_active(crm->heartbeat, EV_TIMEOUT, 0);
	*cp = crm;
	return 0;
fail:
	crm_free(crm);
	return err;
}

void crm_free(struct crm *crm)
{
	if (!crm)
		return;
	crm->closing = true;
	if (crm->heartbeat)
		event_free(crm->heartbeat);
	/* Redis first: its pending replies arrive as NULL and their jobs
	 * start nothing new (closing); then the transfers, which end
	 * without callbacks; then the jobs they belonged to. */
	pbx_redis_free(crm->redis);
	notify_curl_free(crm->curl);
	crm_job_free_all(crm);
	pbx_bus_free(crm->bus);
	crm_cache_free(crm->cache);
	crm_breaker_free(crm->breaker);
	free(crm);
}
