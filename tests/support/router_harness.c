/* Test support: an in-process router with a real redis-server and fake
 * edge and worker peers (see router_harness.h). Owns everything in struct
 * router_harness. */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "test_log.h"
#include "pbx_redis.h"
#include "router_harness.h"
#include "scenario.h"

static void run_10ms(struct router_harness *h)
{
	struct timeval tv = {0, 10000};

	event_base_loopexit(h->base, &tv);
	event_base_dispatch(h->base);
}

void router_harness_settle(struct router_harness *h, int ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)ms;

	while (pbx_clock_mono_ms() < end)
		run_10ms(h);
}

int router_harness_barrier(struct router_harness *h, int rounds)
{
	static const char probe[] = "barrier-probe";
	struct harness_event ev = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ANSWERED};

	for (int i = 0; i < rounds; i++) {
		size_t from = fake_peer_count(h->worker);

		if (router_harness_event(h, probe, &ev) ||
		    fake_peer_wait_call(h->worker, probe, from, 2000) < 0)
			return -ETIMEDOUT;
		fake_peer_drop_call(h->worker, probe);
	}
	return 0;
}

/* The router binds; a port another process took between the probe and
 * the bind fails router_alloc, so try a few pairs. */
static int alloc_router(struct router_harness *h)
{
	int err = -EADDRINUSE;

	for (int i = 0; i < 5 && err; i++) {
		snprintf(h->cfg.edge_listen, sizeof(h->cfg.edge_listen),
			 "tcp://127.0.0.1:%d", redis_fixture_free_port());
		snprintf(h->cfg.worker_listen, sizeof(h->cfg.worker_listen),
			 "tcp://127.0.0.1:%d", redis_fixture_free_port());
		snprintf(h->cfg.queue_listen, sizeof(h->cfg.queue_listen),
			 "tcp://127.0.0.1:%d", redis_fixture_free_port());
		snprintf(h->cfg.crm_listen, sizeof(h->cfg.crm_listen),
			 "tcp://127.0.0.1:%d", redis_fixture_free_port());
		if (!strcmp(h->cfg.crm_listen, h->cfg.edge_listen) ||
		    !strcmp(h->cfg.crm_listen, h->cfg.worker_listen) ||
		    !strcmp(h->cfg.crm_listen, h->cfg.queue_listen))
			continue;
		if (!strcmp(h->cfg.edge_listen, h->cfg.worker_listen) ||
		    !strcmp(h->cfg.edge_listen, h->cfg.queue_listen) ||
		    !strcmp(h->cfg.worker_listen, h->cfg.queue_listen))
			continue;
		err = router_alloc(&h->rt, h->base, h->zctx, &h->cfg);
	}
	return err;
}

int router_harness_start(struct router_harness *h)
{
	int err;

	memset(h, 0, sizeof(*h));
	test_log_init("router-test");
	if (redis_fixture_start(&h->rf))
		return -ECONNREFUSED;
	snprintf(h->cfg.router_id, sizeof(h->cfg.router_id), "rtest");
	snprintf(h->cfg.redis_host, sizeof(h->cfg.redis_host), "127.0.0.1");
	snprintf(h->cfg.log_level, sizeof(h->cfg.log_level), "warn");
	h->cfg.redis_port = h->rf.port;
	h->cfg.worker_ttl_ms = 3000;
	/* inproc: no TCP connection tells a dead worker from a busy one, so
	 * the reap time is what ends a silent worker's calls here. */
	h->cfg.worker_reap_ms = 3000;
	h->cfg.call_ttl_s = 60;
	h->cfg.queue_ttl_ms = 3000;
	h->cfg.queue_grace_s = 2;
	h->cfg.crm_ttl_ms = 3000;
	h->base = event_base_new();
	h->zctx = pbx_zmq_ctx_new();
	if (!h->base || !h->zctx) {
		err = -ENOMEM;
		goto fail;
	}
	err = alloc_router(h);
	if (!err)
		err = fake_peer_alloc(&h->edge, h->base, h->zctx,
				      h->cfg.edge_listen, NULL);
	if (!err)
		err = fake_peer_alloc(&h->worker, h->base, h->zctx,
				      h->cfg.worker_listen, HARNESS_WORKER);
	if (!err)
		err = fake_peer_alloc(&h->qm, h->base, h->zctx,
				      h->cfg.queue_listen, HARNESS_QM);
	if (!err)
		err = fake_peer_alloc(&h->crm, h->base, h->zctx,
				      h->cfg.crm_listen, HARNESS_CRM);
	if (err)
		goto fail;
	for (int i = 0; i < 300 && !pbx_redis_ctx(h->rt->redis); i++)
		run_10ms(h);
	if (!pbx_redis_ctx(h->rt->redis)) {
		err = -ETIMEDOUT;
		goto fail;
	}
	return 0;
fail:
	router_harness_stop(h);
	return err;
}

void router_harness_stop(struct router_harness *h)
{
	router_free(h->rt);
	h->rt = NULL;
	fake_peer_free(h->edge);
	h->edge = NULL;
	fake_peer_free(h->worker);
	h->worker = NULL;
	fake_peer_free(h->qm);
	h->qm = NULL;
	fake_peer_free(h->crm);
	h->crm = NULL;
	if (h->zctx)
		zmq_ctx_term(h->zctx);
	h->zctx = NULL;
	if (h->base)
		event_base_free(h->base);
	h->base = NULL;
	redis_fixture_stop(&h->rf);
	pbx_clock_fake(0);
}

/* ---- the fake queue-manager -------------------------------------------- */

int router_harness_qm_heartbeat(struct router_harness *h)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__QueueHeartbeat hb = PBX__V1__QUEUE_HEARTBEAT__INIT;
	int err;

	hb.qm_id = (char *)HARNESS_QM;
	env.body_case = PBX__V1__ENVELOPE__BODY_QUEUE_HEARTBEAT;
	env.queue_heartbeat = &hb;
	err = fake_peer_send(h->qm, &env, 2000);
	for (int i = 0; !err && i < 200; i++) {
		if (qms_pick(&h->rt->qms, pbx_clock_mono_ms()))
			return 0;
		run_10ms(h);
	}
	return err ? err : -ETIMEDOUT;
}

int router_harness_qm_event(struct router_harness *h, const char *call_id,
			    Pbx__V1__QueueEvent *qe)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	env.tenant_id = (char *)HARNESS_TENANT;
	env.call_id = (char *)call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_QUEUE_EVENT;
	env.queue_event = qe;
	return fake_peer_send(h->qm, &env, 2000);
}

/* ---- the fake crm-connector --------------------------------------------- */

int router_harness_crm_heartbeat(struct router_harness *h)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CrmHeartbeat hb = PBX__V1__CRM_HEARTBEAT__INIT;
	int err;

	hb.crm_id = (char *)HARNESS_CRM;
	env.body_case = PBX__V1__ENVELOPE__BODY_CRM_HEARTBEAT;
	env.crm_heartbeat = &hb;
	err = fake_peer_send(h->crm, &env, 2000);
	for (int i = 0; !err && i < 200; i++) {
		if (h->rt->crms.n &&
		    pbx_clock_mono_ms() - h->rt->crms.qm[0].seen_ms < 1000)
			return 0;
		run_10ms(h);
	}
	return err ? err : -ETIMEDOUT;
}

int router_harness_crm_result(struct router_harness *h, const char *call_id,
			      Pbx__V1__CrmResult *res)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;

	env.tenant_id = (char *)HARNESS_TENANT;
	env.call_id = (char *)call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_CRM_RESULT;
	env.crm_result = res;
	return fake_peer_send(h->crm, &env, 2000);
}

/* ---- tenant data -------------------------------------------------------- */

int router_harness_seed_tenant(struct router_harness *h)
{
	char key[PBX_KEY_MAX];

	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "tenant") ||
	    redis_fixture_ok(redis_fixture_cmd(
		    &h->rf, "HSET %s name %s domain %s feature_fax 0 language ru",
		    key,
		    HARNESS_TENANT, HARNESS_DOMAIN)))
		return -EIO;
	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "objects_rev") ||
	    redis_fixture_ok(redis_fixture_cmd(&h->rf, "SET %s 1", key)))
		return -EIO;
	return 0;
}

int router_harness_seed_outbound(struct router_harness *h, const char *field,
				 const char *value)
{
	char key[PBX_KEY_MAX];

	if (pbx_key_of(key, sizeof(key), HARNESS_TENANT, PBX_K_OUTBOUND) ||
	    redis_fixture_ok(redis_fixture_cmd(&h->rf, "HSET %s %s %s", key,
					       field, value)))
		return -EIO;
	return 0;
}

int router_harness_seed_ext(struct router_harness *h, const char *ext)
{
	char key[PBX_KEY_MAX];

	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "exts") ||
	    redis_fixture_ok(redis_fixture_cmd(&h->rf, "SADD %s %s", key, ext)))
		return -EIO;
	return 0;
}

int router_harness_seed_object(struct router_harness *h, const char *kind,
			       const char *name, const char *json)
{
	char key[PBX_KEY_MAX], field[160];

	snprintf(field, sizeof(field), "%s:%s", kind, name);
	if (pbx_key_of(key, sizeof(key), HARNESS_TENANT, PBX_K_OBJECTS) ||
	    redis_fixture_ok(redis_fixture_cmd(&h->rf, "HSET %s %s %s", key,
					       field, json)))
		return -EIO;
	if (pbx_key_of(key, sizeof(key), HARNESS_TENANT, PBX_K_OBJECTS_REV) ||
	    redis_fixture_ok(redis_fixture_cmd(&h->rf, "INCR %s", key)))
		return -EIO;
	return 0;
}

int router_harness_seed_scenario(struct router_harness *h, const char *name,
				 long version, const char *json)
{
	char key[PBX_KEY_MAX];

	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "scenario:%s:v%ld",
		    name, version) ||
	    redis_fixture_ok(
		    redis_fixture_cmd(&h->rf, "HSET %s json %s", key, json)))
		return -EIO;
	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "scenario:%s", name) ||
	    redis_fixture_ok(redis_fixture_cmd(&h->rf, "HSET %s latest %ld",
					       key, version)))
		return -EIO;
	return 0;
}

int router_harness_seed_number(struct router_harness *h, const char *number,
			       const char *name, long version)
{
	char key[PBX_KEY_MAX], canon[33];

	if (scenario_number_canon(number, canon, sizeof(canon)) < 0)
		return -EINVAL;
	if (pbx_key_sys(key, sizeof(key), "did:%s", canon) ||
	    redis_fixture_ok(redis_fixture_cmd(&h->rf, "SET %s %s", key,
					       HARNESS_TENANT)))
		return -EIO;
	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "number:%s", canon) ||
	    redis_fixture_ok(redis_fixture_cmd(
		    &h->rf, "HSET %s scenario %s version %ld", key, name,
		    version)))
		return -EIO;
	return 0;
}

int router_harness_seed_call(struct router_harness *h, const char *number,
			     const char *name, const char *json)
{
	int err = router_harness_seed_tenant(h);

	if (!err)
		err = router_harness_seed_scenario(h, name, 1, json);
	if (!err)
		err = router_harness_seed_number(h, number, name, 1);
	return err;
}

/* ---- fake worker -------------------------------------------------------- */

int router_harness_heartbeat(struct router_harness *h, unsigned capacity,
			     unsigned load, bool draining)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__WorkerHeartbeat hb = PBX__V1__WORKER_HEARTBEAT__INIT;
	char key[PBX_KEY_MAX];
	int err;

	hb.worker_id = HARNESS_WORKER;
	hb.sip_uri = HARNESS_WORKER_URI;
	hb.capacity = capacity;
	hb.load = load;
	hb.draining = draining;
	env.body_case = PBX__V1__ENVELOPE__BODY_WORKER_HEARTBEAT;
	env.worker_heartbeat = &hb;
	err = fake_peer_send(h->worker, &env, 2000);
	if (err)
		return err;
	if (pbx_key_sys(key, sizeof(key), "workers"))
		return -EINVAL;
	/* The router writes the heartbeat to Redis as it records it: once
	 * the field is there, the in-memory registry has it too. */
	for (int i = 0; i < 200; i++) {
		redisReply *r = redis_fixture_cmd(&h->rf, "HEXISTS %s %s",
						  key, HARNESS_WORKER);
		bool there = r && r->type == REDIS_REPLY_INTEGER &&
			     r->integer == 1;

		if (r)
			freeReplyObject(r);
		if (there)
			return 0;
		run_10ms(h);
	}
	return -ETIMEDOUT;
}

int router_harness_event(struct router_harness *h, const char *call_id,
			 const struct harness_event *ev)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__MediaEvent me = PBX__V1__MEDIA_EVENT__INIT;

	me.worker_id = HARNESS_WORKER;
	me.kind = ev->kind;
	me.seq = ev->seq;
	me.digit = (char *)(ev->digit ? ev->digit : "");
	me.timer_id = ev->timer_id;
	me.ring_result = ev->ring;
	me.conf_members = ev->conf_members;
	me.conf_muted = ev->conf_muted;
	if (ev->speech_phrase)
		me.speech_phrase = (char *)ev->speech_phrase;
	me.speech_confidence = ev->speech_confidence;
	me.fax_result = ev->fax_result;
	me.fax_continues = ev->fax_continues;
	if (ev->leg)
		me.leg = (char *)ev->leg;
	if (ev->caller)
		me.caller = (char *)ev->caller;
	if (ev->dialed)
		me.dialed = (char *)ev->dialed;
	if (ev->transfer_host)
		me.transfer_host = (char *)ev->transfer_host;
	if (ev->picked_by)
		me.picked_by = (char *)ev->picked_by;
	env.tenant_id = HARNESS_TENANT;
	env.call_id = (char *)call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_MEDIA_EVENT;
	env.media_event = &me;
	return fake_peer_send(h->worker, &env, 2000);
}

/* ---- fake edge ---------------------------------------------------------- */

static const Pbx__V1__RouteDecision *
call_new(struct router_harness *h, const char *call_id, const char *from,
	 const char *to, const char *source, const char *caller_tenant)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CallNew cn = PBX__V1__CALL_NEW__INIT;
	const Pbx__V1__Envelope *got;
	size_t n = fake_peer_count(h->edge);

	cn.edge_id = "edge-test";
	cn.tindex = 11;
	cn.tlabel = h->tlabel ? h->tlabel : 22;
	cn.from_user = (char *)from;
	cn.to_user = (char *)to;
	cn.source = (char *)source;
	cn.caller_tenant = (char *)(caller_tenant ? caller_tenant : "");
	env.call_id = (char *)call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_CALL_NEW;
	env.call_new = &cn;
	if (fake_peer_send(h->edge, &env, 2000))
		return NULL;
	if (fake_peer_wait(h->edge, n + 1, 3000) <= n)
		return NULL;
	got = fake_peer_msg(h->edge, n);
	if (got->body_case != PBX__V1__ENVELOPE__BODY_ROUTE_DECISION)
		return NULL;
	return got->route_decision;
}

const Pbx__V1__RouteDecision *
router_harness_call_new(struct router_harness *h, const char *call_id,
			const char *from, const char *to)
{
	return call_new(h, call_id, from, to, "trunk", NULL);
}

const Pbx__V1__RouteDecision *
router_harness_call_new_ext(struct router_harness *h, const char *call_id,
			    const char *from, const char *to,
			    const char *caller_tenant)
{
	return call_new(h, call_id, from, to, "extension", caller_tenant);
}

const Pbx__V1__RouteDecision *
router_harness_call_new_src(struct router_harness *h, const char *call_id,
			    const char *from, const char *to,
			    const char *source)
{
	return call_new(h, call_id, from, to, source, NULL);
}

/* ---- call state --------------------------------------------------------- */

int router_harness_call_field(struct router_harness *h, const char *call_id,
			      const char *field, char *buf, size_t size)
{
	char key[PBX_KEY_MAX];
	redisReply *r;
	int err = -ENOENT;

	buf[0] = '\0';
	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "call:%s", call_id))
		return -EINVAL;
	r = redis_fixture_cmd(&h->rf, "HGET %s %s", key, field);
	if (r && r->type == REDIS_REPLY_STRING) {
		snprintf(buf, size, "%s", r->str);
		err = 0;
	}
	if (r)
		freeReplyObject(r);
	return err;
}

long long router_harness_call_ttl(struct router_harness *h,
				  const char *call_id)
{
	char key[PBX_KEY_MAX];
	redisReply *r;
	long long ttl = -3;

	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "call:%s", call_id))
		return -3;
	r = redis_fixture_cmd(&h->rf, "TTL %s", key);
	if (r && r->type == REDIS_REPLY_INTEGER)
		ttl = r->integer;
	if (r)
		freeReplyObject(r);
	return ttl;
}

long long router_harness_call_count(struct router_harness *h)
{
	char key[PBX_KEY_MAX];
	redisReply *r;
	long long n = -1;

	if (pbx_key(key, sizeof(key), HARNESS_TENANT, "call:*"))
		return -1;
	r = redis_fixture_cmd(&h->rf, "KEYS %s", key);
	if (r && r->type == REDIS_REPLY_ARRAY)
		n = (long long)r->elements;
	if (r)
		freeReplyObject(r);
	return n;
}

bool router_harness_call_gone(struct router_harness *h, const char *call_id,
			      int ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)ms;

	do {
		if (router_harness_call_ttl(h, call_id) == -2)
			return true;
		run_10ms(h);
	} while (pbx_clock_mono_ms() < end);
	return router_harness_call_ttl(h, call_id) == -2;
}
