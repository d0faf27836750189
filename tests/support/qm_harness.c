/* Test support: queue-manager instances with a real redis-server and a
 * fake router (see qm_harness.h). Owns everything in struct qm_harness. */
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "pbx_clock.h"
#include "pbx_curve.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "test_log.h"
#include "qm_harness.h"

/* An instance on a thread of its own: its loop, stopped through a flag a
 * 5 ms timer of that loop reads. */
struct qmh_thread {
	pthread_t tid;
	struct event_base *base;
	struct event *check;
	atomic_bool stop;
};

static void run_1ms(struct event_base *base)
{
	struct timeval tv = {0, 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

void qmh_run(struct qm_harness *h, int ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)ms;

	while (pbx_clock_mono_ms() < end) {
		run_1ms(h->base);
		if (h->router)
			pbx_bus_process(h->router);
	}
}

static int keep(struct qm_harness *h, const Pbx__V1__Envelope *env)
{
	Pbx__V1__Envelope *copy;
	uint8_t *buf;
	size_t len;

	if (pbx_envelope_encode(env, &buf, &len))
		return -ENOMEM;
	copy = pbx_envelope_decode(buf, len);
	free(buf);
	if (!copy)
		return -ENOMEM;
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		Pbx__V1__Envelope **v = realloc(h->msg, cap * sizeof(*v));
		bool *u = v ? realloc(h->used, cap * sizeof(*u)) : NULL;

		if (v)
			h->msg = v;
		if (!u) {
			pbx_envelope_free(copy);
			return -ENOMEM;
		}
		h->used = u;
		h->cap = cap;
	}
	h->used[h->n] = false;
	h->msg[h->n++] = copy;
	return 0;
}

static void router_recv(struct pbx_bus *bus, const struct pbx_bus_peer *peer,
			const Pbx__V1__Envelope *env, int err, void *arg)
{
	struct qm_harness *h = arg;
	int from = -1;

	(void)bus;
	if (err || !env || !peer)
		return;
	for (int i = 0; i < QMH_MAX; i++) {
		if (peer->len == strlen(h->cfg[i].qm_id) &&
		    !memcmp(peer->id, h->cfg[i].qm_id, peer->len))
			from = i;
	}
	if (env->body_case == PBX__V1__ENVELOPE__BODY_QUEUE_HEARTBEAT) {
		if (from >= 0)
			h->heartbeats[from]++;
		return;
	}
	if (env->body_case != PBX__V1__ENVELOPE__BODY_QUEUE_EVENT)
		return;
	if (h->on_event && h->on_event(h, from, env, h->on_event_arg))
		return;
	keep(h, env);
}

/* keep_endpoint: bind where the last socket was (its clients reconnect
 * there), else on a free port (a few tries: another process may take the
 * port between the probe and the bind). */
static int bind_router(struct qm_harness *h, bool keep_endpoint)
{
	int err = -EADDRINUSE;

	char key[128];
	struct pbx_bus_opts opts = {.zap_domain = "queue"};

	if (h->curve) {
		snprintf(key, sizeof(key), "%s/router.key", h->keydir);
		opts.secret_file = key;
	}
	for (int i = 0; i < 5 && err; i++) {
		if (!keep_endpoint)
			snprintf(h->endpoint, sizeof(h->endpoint),
				 "tcp://127.0.0.1:%d",
				 redis_fixture_free_port());
		err = pbx_bus_alloc_opts(&h->router, h->zctx, PBX_BUS_ROUTER,
					 h->endpoint, NULL, &opts, router_recv,
					 h);
		if (err && keep_endpoint)
			qmh_run(h, 20);
	}
	if (!err)
		err = pbx_bus_attach(h->router, h->base);
	return err;
}

int qmh_router_restart(struct qm_harness *h, bool rebind)
{
	pbx_bus_free(h->router);
	h->router = NULL;
	return rebind ? bind_router(h, true) : 0;
}

/* keydir/router.{key,pub}, keydir/qm<i>.{key,pub} and the allow list
 * keydir/allow with the allowed instances' .pub. */
static int make_keys(struct qm_harness *h)
{
	char allow[96], name[16], from[128], to[160];
	int err;

	snprintf(h->keydir, sizeof(h->keydir), "/tmp/qm_curve.XXXXXX");
	if (!mkdtemp(h->keydir))
		return -errno;
	snprintf(allow, sizeof(allow), "%s/allow", h->keydir);
	if (mkdir(allow, 0700))
		return -errno;
	err = pbx_curve_keygen(h->keydir, "router");
	for (int i = 0; !err && i < QMH_MAX; i++) {
		char pub[PBX_CURVE_Z85];
		FILE *f;

		snprintf(name, sizeof(name), "qm%d", i);
		err = pbx_curve_keygen(h->keydir, name);
		if (err || (h->deny & (1u << i)))
			continue;
		snprintf(from, sizeof(from), "%s/%s.pub", h->keydir, name);
		snprintf(to, sizeof(to), "%s/%s.pub", allow, name);
		err = pbx_curve_load_public(from, pub);
		f = err ? NULL : fopen(to, "w");
		if (!err && (!f || fprintf(f, "%s\n", pub) < 0))
			err = -EIO;
		if (f)
			fclose(f);
	}
	return err;
}

static void remove_keys(struct qm_harness *h)
{
	char cmd[128];

	if (!h->keydir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->keydir);
	if (system(cmd))
		fprintf(stderr, "qm_harness: cannot remove %s\n", h->keydir);
	h->keydir[0] = '\0';
}

int qmh_start_curve(struct qm_harness *h)
{
	unsigned deny = h->deny;

	memset(h, 0, sizeof(*h));
	h->curve = true;
	h->deny = deny;
	return qmh_start(h);
}

int qmh_start(struct qm_harness *h)
{
	bool curve = h->curve;
	unsigned deny = h->deny;
	int err;

	memset(h, 0, sizeof(*h));
	h->curve = curve;
	h->deny = deny;
	test_log_init("qm-test");
	if (redis_fixture_start(&h->rf))
		return -ECONNREFUSED;
	h->base = event_base_new();
	h->zctx = pbx_zmq_ctx_new();
	if (!h->base || !h->zctx) {
		qmh_stop(h);
		return -ENOMEM;
	}
	if (h->curve) {
		char allow[96];
		struct pbx_zap_domain dom = {.domain = "queue",
					     .allow_dir = allow};

		err = make_keys(h);
		snprintf(allow, sizeof(allow), "%s/allow", h->keydir);
		if (!err)
			err = pbx_zap_start(&h->zap, h->zctx, &dom, 1);
		if (err) {
			qmh_stop(h);
			return err;
		}
	}
	err = bind_router(h, false);
	if (err)
		qmh_stop(h);
	return err;
}

static void check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmh_thread *t = arg;

	(void)fd;
	(void)what;
	if (atomic_load(&t->stop))
		event_base_loopbreak(t->base);
}

static void *thread_main(void *arg)
{
	struct qmh_thread *t = arg;

	event_base_dispatch(t->base);
	return NULL;
}

static int thread_start(struct qmh_thread **tp)
{
	struct timeval tv = {0, 5000};
	struct qmh_thread *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->base = event_base_new();
	t->check = t->base ? event_new(t->base, -1, EV_PERSIST, check_cb, t)
			   : NULL;
	if (!t->check || event_add(t->check, &tv)) {
		if (t->base)
			event_base_free(t->base);
		free(t);
		return -ENOMEM;
	}
	*tp = t;
	return 0;
}

static void thread_stop(struct qmh_thread *t)
{
	atomic_store(&t->stop, true);
	pthread_join(t->tid, NULL);
}

static void thread_free(struct qmh_thread *t)
{
	event_free(t->check);
	event_base_free(t->base);
	free(t);
}

int qmh_add(struct qm_harness *h, int i, bool threaded)
{
	struct qm_config *c = &h->cfg[i];
	struct event_base *base = h->base;
	uint64_t end;
	int err;

	memset(c, 0, sizeof(*c));
	snprintf(c->qm_id, sizeof(c->qm_id), "qm%d", i);
	snprintf(c->router_endpoints, sizeof(c->router_endpoints), "%s",
		 h->endpoint);
	snprintf(c->redis.host, sizeof(c->redis.host), "127.0.0.1");
	snprintf(c->log_level, sizeof(c->log_level), "error");
	c->redis.port = h->rf.port;
	c->heartbeat_ms = h->heartbeat_ms ? h->heartbeat_ms : 100;
	c->poll_ms = 10;
	c->sweep_ms = 200;
	c->offer_grace_ms = 2000;
	c->max_missed = 3;
	c->service_level_s = 20;
	c->talk_max_s = 3600;
	c->max_offers = 32;
	c->retry_ms = 100;
	if (h->curve) {
		snprintf(c->curve_secret_file, sizeof(c->curve_secret_file),
			 "%s/qm%d.key", h->keydir, i);
		snprintf(c->curve_server_public_file,
			 sizeof(c->curve_server_public_file), "%s/router.pub",
			 h->keydir);
	}
	h->heartbeats[i] = 0;
	if (threaded) {
		err = thread_start(&h->thr[i]);
		if (err)
			return err;
		base = h->thr[i]->base;
	}
	err = qm_alloc(&h->qm[i], base, h->zctx, c);
	if (err)
		goto fail;
	if (threaded &&
	    pthread_create(&h->thr[i]->tid, NULL, thread_main, h->thr[i])) {
		err = -EAGAIN;
		goto fail;
	}
	end = pbx_clock_mono_ms() + 3000;
	while (h->heartbeats[i] == 0 && pbx_clock_mono_ms() < end)
		qmh_run(h, 5);
	/* Connected to Redis: a thread's instance is not ours to look at,
	 * so run a script through it instead (its heartbeat shows the bus;
	 * the first command that needs Redis retries below). */
	if (!threaded) {
		while (!pbx_redis_ctx(h->qm[i]->redis) &&
		       pbx_clock_mono_ms() < end)
			qmh_run(h, 5);
		if (!pbx_redis_ctx(h->qm[i]->redis))
			err = -ETIMEDOUT;
	} else {
		qmh_run(h, 100);
	}
	if (!h->heartbeats[i])
		err = -ETIMEDOUT;
	if (err)
		goto fail;
	return 0;
fail:
	qmh_kill(h, i);
	return err;
}

void qmh_kill(struct qm_harness *h, int i)
{
	if (h->thr[i] && h->thr[i]->tid)
		thread_stop(h->thr[i]);
	qm_free(h->qm[i]);
	h->qm[i] = NULL;
	if (h->thr[i])
		thread_free(h->thr[i]);
	h->thr[i] = NULL;
}

void qmh_stop(struct qm_harness *h)
{
	for (int i = 0; i < QMH_MAX; i++)
		qmh_kill(h, i);
	pbx_bus_free(h->router);
	h->router = NULL;
	for (size_t i = 0; i < h->n; i++)
		pbx_envelope_free(h->msg[i]);
	free(h->msg);
	free(h->used);
	h->msg = NULL;
	h->used = NULL;
	h->n = h->cap = 0;
	pbx_zap_stop(h->zap);
	h->zap = NULL;
	if (h->zctx)
		zmq_ctx_term(h->zctx);
	h->zctx = NULL;
	if (h->base)
		event_base_free(h->base);
	h->base = NULL;
	redis_fixture_stop(&h->rf);
	remove_keys(h);
	pbx_clock_fake(0);
}

int qmh_queue(struct qm_harness *h, const char *name, const char *sq)
{
	char key[PBX_KEY_MAX], *json = strdup(sq);
	int err;

	if (!json)
		return -ENOMEM;
	for (char *p = json; *p; p++)
		*p = *p == '\'' ? '"' : *p;
	err = pbx_key_of(key, sizeof(key), QMH_TENANT, PBX_K_OBJECTS) ||
	      redis_fixture_ok(redis_fixture_cmd(
		      &h->rf, "HSET %s queue:%s %s", key, name, json));
	free(json);
	if (err)
		return -EIO;
	if (pbx_key_of(key, sizeof(key), QMH_TENANT, PBX_K_OBJECTS_REV) ||
	    redis_fixture_ok(redis_fixture_cmd(&h->rf, "INCR %s", key)))
		return -EIO;
	return 0;
}

int qmh_send(struct qm_harness *h, int i, const char *call,
	     Pbx__V1__QueueCommand *cmd)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	struct pbx_bus_peer peer = {.len = strlen(h->cfg[i].qm_id)};
	uint64_t end = pbx_clock_mono_ms() + 2000;
	int err;

	memcpy(peer.id, h->cfg[i].qm_id, peer.len);
	env.tenant_id = (char *)QMH_TENANT;
	env.call_id = (char *)(call ? call : "");
	env.body_case = PBX__V1__ENVELOPE__BODY_QUEUE_COMMAND;
	env.queue_command = cmd;
	for (;;) {
		err = pbx_bus_send(h->router, &peer, &env);
		if (!err || pbx_clock_mono_ms() >= end)
			return err;
		qmh_run(h, 1);
	}
}

int qmh_enqueue(struct qm_harness *h, int i, const char *call,
		const char *queue, unsigned priority, unsigned max_wait_s)
{
	return qmh_enqueue_news(h, i, call, queue, priority, max_wait_s, 0);
}

int qmh_enqueue_news(struct qm_harness *h, int i, const char *call,
		     const char *queue, unsigned priority,
		     unsigned max_wait_s, unsigned announce_ms)
{
	Pbx__V1__QueueCommand cmd = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__Enqueue e =
		PBX__V1__QUEUE_COMMAND__ENQUEUE__INIT;

	e.queue = (char *)queue;
	e.priority = priority;
	e.max_wait_s = max_wait_s;
	e.announce_ms = announce_ms;
	e.caller = (char *)"79161234567";
	cmd.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_ENQUEUE;
	cmd.enqueue = &e;
	return qmh_send(h, i, call, &cmd);
}

int qmh_leave(struct qm_harness *h, int i, const char *call, bool exit_key,
	      const char *digit)
{
	Pbx__V1__QueueCommand cmd = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__Leave l = PBX__V1__QUEUE_COMMAND__LEAVE__INIT;

	l.reason = PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_HANGUP;
	if (exit_key)
		l.reason =
			PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_EXIT_KEY;
	l.digit = (char *)(digit ? digit : "");
	cmd.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_LEAVE;
	cmd.leave = &l;
	return qmh_send(h, i, call, &cmd);
}

int qmh_result(struct qm_harness *h, int i, const char *call,
	       const char *agent, unsigned offer,
	       Pbx__V1__QueueCommand__AgentResult__Result res)
{
	Pbx__V1__QueueCommand cmd = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__AgentResult r =
		PBX__V1__QUEUE_COMMAND__AGENT_RESULT__INIT;

	r.agent = (char *)agent;
	r.offer = offer;
	r.result = res;
	cmd.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT;
	cmd.agent_result = &r;
	return qmh_send(h, i, call, &cmd);
}

int qmh_agent(struct qm_harness *h, int i, const char *agent,
	      Pbx__V1__QueueCommand__AgentState__Action action,
	      const char *reason)
{
	Pbx__V1__QueueCommand cmd = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__AgentState s =
		PBX__V1__QUEUE_COMMAND__AGENT_STATE__INIT;

	s.agent = (char *)agent;
	s.action = action;
	s.reason = (char *)(reason ? reason : "");
	cmd.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_AGENT_STATE;
	cmd.agent_state = &s;
	return qmh_send(h, i, NULL, &cmd);
}

static bool matches(const Pbx__V1__Envelope *m, Pbx__V1__QueueEvent__EvCase c,
		    const char *call)
{
	if (!m->queue_event || (c && m->queue_event->ev_case != c))
		return false;
	return !call || (m->call_id && !strcmp(m->call_id, call));
}

const Pbx__V1__Envelope *qmh_expect(struct qm_harness *h,
				    Pbx__V1__QueueEvent__EvCase c,
				    const char *call, int ms)
{
	uint64_t end = pbx_clock_mono_ms() + (uint64_t)ms;

	for (;;) {
		for (size_t i = 0; i < h->n; i++) {
			if (!h->used[i] && matches(h->msg[i], c, call)) {
				h->used[i] = true;
				return h->msg[i];
			}
		}
		if (pbx_clock_mono_ms() >= end)
			return NULL;
		qmh_run(h, 1);
	}
}

size_t qmh_pending(const struct qm_harness *h, Pbx__V1__QueueEvent__EvCase c)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		n += !h->used[i] && matches(h->msg[i], c, NULL);
	return n;
}

void qmh_drain(struct qm_harness *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->used[i] = true;
}

void qmh_agent_field(struct qm_harness *h, const char *agent,
		     const char *field, char *buf, size_t size)
{
	char key[PBX_KEY_MAX];
	redisReply *r = NULL;
	json_t *doc = NULL, *v;

	snprintf(buf, size, "%s", strcmp(field, "st") ? "" : "ready");
	if (!pbx_key_of(key, sizeof(key), QMH_TENANT, PBX_K_QM_AGENTS))
		r = redis_fixture_cmd(&h->rf, "HGET %s %s", key, agent);
	if (r && r->type == REDIS_REPLY_STRING)
		doc = json_loads(r->str, 0, NULL);
	v = doc ? json_object_get(doc, field) : NULL;
	if (json_is_string(v))
		snprintf(buf, size, "%s", json_string_value(v));
	else if (json_is_number(v))
		snprintf(buf, size, "%.0f", json_number_value(v));
	else if (json_is_object(v))
		snprintf(buf, size, "%s",
			 json_string_value(json_object_get(v, "st")));
	json_decref(doc);
	if (r)
		freeReplyObject(r);
}

long long qmh_stat(struct qm_harness *h, const char *field)
{
	char key[PBX_KEY_MAX];
	redisReply *r = NULL;
	long long v = 0;

	if (!pbx_key_of(key, sizeof(key), QMH_TENANT, PBX_K_QM_STATS))
		r = redis_fixture_cmd(&h->rf, "HGET %s %s", key, field);
	if (r && r->type == REDIS_REPLY_STRING)
		v = atoll(r->str);
	if (r)
		freeReplyObject(r);
	return v;
}
