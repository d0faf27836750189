/* Queue-manager object: wires the routers' commands to their handlers,
 * tells the routers it is alive, and starts the timers. Owns everything in
 * struct qm. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pbx_clock.h"
#include "pbx_log.h"
#include "qm.h"
#include "qm_conf.h"

static void bus_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
		     const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct qm *qm = arg;

	(void)bus;
	(void)peer;
	if (err || !env)
		return; /* logged by the bus */
	pbx_log_ctx(env->tenant_id, env->call_id);
	if (env->body_case != PBX__V1__ENVELOPE__BODY_QUEUE_COMMAND ||
	    !env->queue_command) {
		PLOG_WARN("unexpected message type %d dropped",
			  env->body_case);
		pbx_log_ctx(NULL, NULL);
		return;
	}
	qm->n.commands++;
	if (env->queue_command->cmd_case ==
	    PBX__V1__QUEUE_COMMAND__CMD_AGENT_STATE)
		qm_agent_command(qm, env);
	else
		qm_call_command(qm, env);
	pbx_log_ctx(NULL, NULL);
}

/* A heartbeat no router took (none connected yet: the first one, sent
 * before the connection is up, always is) is tried again this soon, so
 * a router hears of a new instance within this much of connecting. */
#define HEARTBEAT_RETRY_MS 100

/* Every router learns our route from these (a DEALER round-robins, so
 * with N routers each hears one in N). One-shot, re-armed each time: a
 * persistent timer activated by hand at start-up would skip its first
 * period, and a router would not know us for two of them. */
static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__QueueHeartbeat hb = PBX__V1__QUEUE_HEARTBEAT__INIT;
	struct qm *qm = arg;
	long ms = qm->cfg->heartbeat_ms;
	struct timeval tv;

	(void)fd;
	(void)what;
	hb.qm_id = (char *)qm->cfg->qm_id;
	hb.started_ms = qm->started_ms;
	env.tenant_id = (char *)"";
	env.call_id = (char *)"";
	env.body_case = PBX__V1__ENVELOPE__BODY_QUEUE_HEARTBEAT;
	env.queue_heartbeat = &hb;
	if (pbx_bus_send(qm->bus, NULL, &env) && ms > HEARTBEAT_RETRY_MS)
		ms = HEARTBEAT_RETRY_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(qm->heartbeat, &tv);
}

int qm_alloc(struct qm **qp, struct event_base *base, void *zctx,
	     const struct qm_config *cfg)
{
	struct qm *qm = calloc(1, sizeof(*qm));
	int err;

	if (!qm)
		return -ENOMEM;
	qm->cfg = cfg;
	qm->base = base;
	qm->started_ms = pbx_clock_now_ms();
	qm->rnd = (uint32_t)((qm->started_ms ^ (uint64_t)getpid()) %
			     2147483646u) + 1;
	err = qm_confs_alloc(&qm->confs);
	if (!err)
		err = pbx_redis_alloc(&qm->redis, base, cfg->redis.host,
				      (int)cfg->redis.port, &cfg->redis.cred);
	if (!err)
		err = pbx_bus_alloc_opts(
			&qm->bus, zctx, PBX_BUS_DEALER, cfg->router_endpoints,
			cfg->qm_id,
			&(struct pbx_bus_opts){
				.secret_file = cfg->curve_secret_file,
				.server_public_file =
					cfg->curve_server_public_file,
			},
			bus_recv, qm);
	if (!err)
		err = pbx_bus_attach(qm->bus, base);
	if (!err)
		err = qm_timer_start(qm);
	if (err)
		goto fail;
	qm->heartbeat = event_new(base, -1, 0, heartbeat_cb, qm);
	if (!qm->heartbeat) {
		err = -ENOMEM;
		goto fail;
	}
	event_active(qm->heartbeat, EV_TIMEOUT, 0);
	*qp = qm;
	return 0;
fail:
	qm_free(qm);
	return err;
}

void qm_free(struct qm *qm)
{
	if (!qm)
		return;
	qm->closing = true;
	if (qm->heartbeat)
		event_free(qm->heartbeat);
	qm_timer_stop(qm);
	/* Pending runs end with NULL replies: their handlers send nothing
	 * (the state they would have acted on is in Redis, for the next
	 * instance) and free what they own, configurations included. */
	pbx_redis_free(qm->redis);
	pbx_bus_free(qm->bus);
	qm_confs_free(qm->confs);
	free(qm);
}
