/* Bridge: the pending table and the request/decision flow.
 *
 * Every pending entry waits the same timeout, so insertion order is
 * deadline order: a FIFO list gives the next deadline in O(1) and one
 * libevent timer, armed for the head, expires them. A hash on message_id
 * finds the entry a decision answers. Call-IDs (call.canceled) are looked
 * up by walking the list: cancels are rare and the list holds at most
 * timeout x call rate entries. */
#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "decision_json.h"
#include "pbx_bus.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_metrics.h"

#define MSGID_LEN 64
#define HASH_SIZE 4096 /* power of two */
/* More parked calls than this means the router is far behind; answering
 * 503 at once beats growing without bound. */
#define MAX_PENDING 65536
/* Recently expired or dropped ids, so a late decision is told apart from
 * a bogus one (debug vs warning). */
#define GONE_RING 512

/* One parked INVITE. Owned by the bridge's table. */
struct pending {
	struct pending *prev, *next; /* deadline order */
	struct pending *hnext;       /* hash chain */
	char msgid[MSGID_LEN];
	char *call_id;
	uint32_t tindex, tlabel;
	uint64_t start_ms, deadline_ms; /* pbx_clock_mono_ms() */
};

/* Owned by main. */
struct bridge {
	char *edge_id;
	unsigned timeout_ms;
	bridge_router_send_h *router_sendh;
	bridge_kamailio_send_h *kamailio_sendh;
	void *arg;
	struct event *timer;
	struct pending *head, *tail;
	struct pending *hash[HASH_SIZE];
	size_t count;
	char gone[GONE_RING][MSGID_LEN];
	size_t gone_next;
	/* Metrics (bridge_metrics_add). */
	unsigned long n_calls, n_decisions, n_timeouts, n_unreachable,
		n_overload;
	struct pbx_hist rtt; /* call.new sent -> decision back */
};

static size_t hash_of(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (HASH_SIZE - 1);
}

static void remember_gone(struct bridge *b, const char *msgid)
{
	snprintf(b->gone[b->gone_next], MSGID_LEN, "%s", msgid);
	b->gone_next = (b->gone_next + 1) % GONE_RING;
}

static bool was_gone(const struct bridge *b, const char *msgid)
{
	for (size_t i = 0; i < GONE_RING; i++) {
		if (b->gone[i][0] && !strcmp(b->gone[i], msgid))
			return true;
	}
	return false;
}

static void arm_timer(struct bridge *b)
{
	uint64_t now = pbx_clock_mono_ms(), ms;
	struct timeval tv;

	if (!b->head)
		return;
	ms = b->head->deadline_ms > now ? b->head->deadline_ms - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(b->timer, &tv);
}

static struct pending *pending_find(const struct bridge *b,
				    const char *msgid)
{
	struct pending *p = b->hash[hash_of(msgid)];

	while (p && strcmp(p->msgid, msgid))
		p = p->hnext;
	return p;
}

static int pending_add(struct bridge *b, struct pending **pp,
		       const char *call_id, uint32_t tindex, uint32_t tlabel)
{
	struct pending *p = calloc(1, sizeof(*p));
	size_t h;

	if (!p)
		return -ENOMEM;
	p->call_id = strdup(call_id);
	if (!p->call_id) {
		free(p);
		return -ENOMEM;
	}
	pbx_bus_msgid(p->msgid, sizeof(p->msgid));
	p->tindex = tindex;
	p->tlabel = tlabel;
	p->start_ms = pbx_clock_mono_ms();
	p->deadline_ms = p->start_ms + b->timeout_ms;

	h = hash_of(p->msgid);
	p->hnext = b->hash[h];
	b->hash[h] = p;
	p->prev = b->tail;
	if (b->tail)
		b->tail->next = p;
	else
		b->head = p;
	b->tail = p;
	if (b->count++ == 0)
		arm_timer(b);
	*pp = p;
	return 0;
}

/* Unlinks and frees p. The timer stays armed for the old head: firing
 * early for nothing is cheaper than re-arming on every decision. */
static void pending_del(struct bridge *b, struct pending *p)
{
	struct pending **pp = &b->hash[hash_of(p->msgid)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	if (p->prev)
		p->prev->next = p->next;
	else
		b->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		b->tail = p->prev;
	b->count--;
	remember_gone(b, p->msgid);
	free(p->call_id);
	free(p);
}

static void kamailio_send(struct bridge *b, const char *json)
{
	int err = b->kamailio_sendh(json, strlen(json), b->arg);

	if (err)
		PLOG_WARN("evapi: cannot send reply (%s): the caller gets "
			  "Kamailio's 503 after 2 s",
			  strerror(-err));
}

/* Answers a parked INVITE with a rejection decided here (no router). */
static void reply_reject(struct bridge *b, uint32_t tindex, uint32_t tlabel,
			 unsigned code, const char *reason)
{
	char *json;

	if (decision_json_reject(&json, tindex, tlabel, code, reason, "", 0)) {
		PLOG_ERR("cannot build reject %u for Kamailio", code);
		return;
	}
	kamailio_send(b, json);
	free(json);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bridge *b = arg;
	uint64_t now = pbx_clock_mono_ms();

	(void)fd;
	(void)what;
	while (b->head && b->head->deadline_ms <= now) {
		struct pending *p = b->head;

		pbx_log_ctx(NULL, p->call_id);
		PLOG_WARN("router timeout after %llu ms (request %s): 503",
			  (unsigned long long)(now - p->start_ms), p->msgid);
		reply_reject(b, p->tindex, p->tlabel, 503, "Router timeout");
		b->n_timeouts++;
		pending_del(b, p);
	}
	pbx_log_ctx(NULL, NULL);
	arm_timer(b);
}

int bridge_alloc(struct bridge **bp, struct event_base *base,
		 const struct bridge_conf *conf)
{
	struct bridge *b;

	if (!bp || !base || !conf || !conf->router_sendh ||
	    !conf->kamailio_sendh || !conf->timeout_ms)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->edge_id = strdup(conf->edge_id ? conf->edge_id : "");
	b->timer = evtimer_new(base, timer_cb, b);
	if (!b->edge_id || !b->timer) {
		if (b->timer)
			event_free(b->timer);
		free(b->edge_id);
		free(b);
		return -ENOMEM;
	}
	b->timeout_ms = conf->timeout_ms;
	b->router_sendh = conf->router_sendh;
	b->kamailio_sendh = conf->kamailio_sendh;
	b->arg = conf->arg;
	*bp = b;
	return 0;
}

static void drop_all(struct bridge *b)
{
	while (b->head)
		pending_del(b, b->head);
}

void bridge_free(struct bridge *b)
{
	if (!b)
		return;
	drop_all(b);
	event_free(b->timer);
	free(b->edge_id);
	free(b);
}

size_t bridge_pending_count(const struct bridge *b)
{
	return b ? b->count : 0;
}

static void handle_call_new(struct bridge *b, const json_t *root)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	struct decision_json_call call;
	char msgid[MSGID_LEN];
	struct pending *p;
	const char *bad;
	int err;

	if (decision_json_call_new(&call, &bad, root, b->edge_id)) {
		PLOG_WARN("evapi: call.new without a valid '%s': dropped",
			  bad);
		return;
	}
	pbx_log_ctx(NULL, call.call_id);
	b->n_calls++;
	if (b->count >= MAX_PENDING) {
		b->n_overload++;
		PLOG_WARN("%zu calls wait for the router: 503", b->count);
		reply_reject(b, call.msg.tindex, call.msg.tlabel, 503,
			     "Router unavailable");
		return;
	}
	err = pending_add(b, &p, call.call_id, call.msg.tindex,
			  call.msg.tlabel);
	if (err) {
		PLOG_ERR("cannot track call: %s", strerror(-err));
		reply_reject(b, call.msg.tindex, call.msg.tlabel, 500,
			     "Server Internal Error");
		return;
	}
	/* Keep our own copy of the id: the send hook is injectable (tests
	 * dispatch replies from inside it), so p may be gone when it
	 * returns. */
	snprintf(msgid, sizeof(msgid), "%s", p->msgid);
	env.message_id = msgid;
	env.call_id = (char *)call.call_id;
	env.tenant_id = (char *)""; /* the router decides the tenant */
	env.body_case = PBX__V1__ENVELOPE__BODY_CALL_NEW;
	env.call_new = &call.msg;

	/* Before sending: the decision may arrive inside the send. */
	PLOG_INFO("call.new %s -> %s from %s:%u/%s source=%s%s%s%s%s as %s",
		  call.msg.from_user, call.msg.to_user, call.msg.src_ip,
		  call.msg.src_port, call.msg.transport, call.msg.source,
		  *call.msg.source_trunk ? " trunk=" : "",
		  call.msg.source_trunk,
		  *call.msg.caller_tenant ? " tenant=" : "",
		  call.msg.caller_tenant, msgid);
	err = b->router_sendh(&env, b->arg);
	pbx_log_ctx(NULL, call.call_id); /* dispatching may have reset it */
	if (err) {
		PLOG_WARN("no router reachable (%s): 503", strerror(-err));
		b->n_unreachable++;
		reply_reject(b, call.msg.tindex, call.msg.tlabel, 503,
			     "Router unavailable");
		/* Never sent, so never answered: still pending. */
		p = pending_find(b, msgid);
		if (p)
			pending_del(b, p);
		return;
	}
}

static void handle_canceled(struct bridge *b, const json_t *root)
{
	const char *call_id;
	struct pending *p;

	if (decision_json_canceled(&call_id, root)) {
		PLOG_WARN("evapi: call.canceled without a callid: dropped");
		return;
	}
	pbx_log_ctx(NULL, call_id);
	for (p = b->head; p; p = p->next) {
		if (!strcmp(p->call_id, call_id))
			break;
	}
	if (!p) {
		PLOG_DEBUG("call.canceled: nothing pending");
		return;
	}
	PLOG_INFO("call.canceled while waiting for the router (%s): dropped",
		  p->msgid);
	pending_del(b, p);
}

void bridge_kamailio_frame(struct bridge *b, const char *data, size_t len)
{
	enum decision_json_event ev;
	json_t *root;

	if (decision_json_parse(&root, &ev, data, len)) {
		PLOG_WARN("evapi: malformed frame (%zu bytes): %.*s", len,
			  len > 200 ? 200 : (int)len, data);
		return;
	}
	switch (ev) {
	case DECISION_JSON_CALL_NEW:
		handle_call_new(b, root);
		break;
	case DECISION_JSON_CALL_CANCELED:
		handle_canceled(b, root);
		break;
	default:
		PLOG_WARN("evapi: unknown event '%s': dropped",
			  json_string_value(json_object_get(root, "event")));
		break;
	}
	json_decref(root);
	pbx_log_ctx(NULL, NULL);
}

void bridge_kamailio_down(struct bridge *b)
{
	if (b->count)
		PLOG_WARN("evapi down: dropping %zu pending calls", b->count);
	drop_all(b);
}

/* The router lost the worker anchoring an established call: Kamailio
 * ends the dialog (BYE both ways). */
static void call_end(struct bridge *b, const Pbx__V1__Envelope *env)
{
	char *json;

	if (decision_json_call_end(&json, env->call_id,
				   env->call_end->reason)) {
		PLOG_WARN("unusable call end: dropped");
		return;
	}
	PLOG_WARN("ending the call at the edge: %s",
		  env->call_end->reason ? env->call_end->reason : "");
	kamailio_send(b, json);
	free(json);
}

void bridge_router_message(struct bridge *b, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__RouteDecision *d;
	struct pending *p;
	char *json;
	int err;

	if (!env)
		return; /* undecodable: the bus has logged it */
	pbx_log_ctx(env->tenant_id, env->call_id);
	if (env->body_case == PBX__V1__ENVELOPE__BODY_CALL_END &&
	    env->call_end) {
		call_end(b, env);
		goto out;
	}
	if (env->body_case != PBX__V1__ENVELOPE__BODY_ROUTE_DECISION) {
		PLOG_WARN("bus: unexpected message (body %d, id %s): dropped",
			  (int)env->body_case, env->message_id);
		goto out;
	}
	p = env->reply_to && env->reply_to[0]
		    ? pending_find(b, env->reply_to)
		    : NULL;
	if (!p) {
		if (env->reply_to && was_gone(b, env->reply_to))
			PLOG_DEBUG("late decision for %s: dropped",
				   env->reply_to);
		else
			PLOG_WARN("decision for unknown request '%s': dropped",
				  env->reply_to ? env->reply_to : "");
		goto out;
	}
	pbx_log_ctx(env->tenant_id, p->call_id);
	d = env->route_decision;
	if ((d->tindex || d->tlabel) &&
	    (d->tindex != p->tindex || d->tlabel != p->tlabel))
		PLOG_WARN("decision echoes %u:%u, request was %u:%u; using "
			  "the request's",
			  d->tindex, d->tlabel, p->tindex, p->tlabel);

	b->n_decisions++;
	pbx_hist_observe(&b->rtt,
			 (double)(pbx_clock_mono_ms() - p->start_ms));
	err = decision_json_from_decision(&json, p->tindex, p->tlabel, d,
					  env->tenant_id);
	if (err) {
		/* Answer now: an unusable decision will not improve by
		 * waiting for Kamailio's timer. */
		PLOG_WARN("unusable decision (action %d, code %u, uri '%s'): "
			  "500",
			  (int)d->action, d->sip_code,
			  d->media_uri ? d->media_uri : "");
		reply_reject(b, p->tindex, p->tlabel, 500, "Router error");
	} else {
		PLOG_INFO("decision after %llu ms: %s",
			  (unsigned long long)(pbx_clock_mono_ms() -
					       p->start_ms),
			  json);
		kamailio_send(b, json);
		free(json);
	}
	pending_del(b, p);
out:
	pbx_log_ctx(NULL, NULL);
}

static const struct pbx_metric bridge_metrics[] = {
	PBX_COUNTER(struct bridge, n_calls, "pbx_edge_calls_total",
		    "new calls Kamailio parked and asked about"),
	PBX_COUNTER(struct bridge, n_decisions, "pbx_edge_decisions_total",
		    "router decisions received for a waiting call"),
	PBX_COUNTER_L(struct bridge, n_timeouts, "pbx_edge_503_total",
		      "why=\"router_timeout\"",
		      "calls answered 503 by the bridge itself"),
	PBX_COUNTER_L(struct bridge, n_unreachable, "pbx_edge_503_total",
		      "why=\"no_router\"",
		      "calls answered 503 by the bridge itself"),
	PBX_COUNTER_L(struct bridge, n_overload, "pbx_edge_503_total",
		      "why=\"overload\"",
		      "calls answered 503 by the bridge itself"),
	PBX_GAUGE(struct bridge, count, "pbx_edge_pending_calls",
		  "calls waiting for a router's decision"),
	PBX_HISTOGRAM(struct bridge, rtt, "pbx_edge_decision_rtt_seconds",
		      "bus round trip: CallNew sent to RouteDecision back "
		      "(the router's work included)"),
};

int bridge_metrics_add(struct bridge *b, struct pbx_metrics *m)
{
	return PBX_METRICS_ADD(m, bridge_metrics, b);
}
