/* Calls of a lost media worker. Every call placed on a worker is indexed
 * under it (pbx:{sys}:wcalls:<worker>, members "<tenant> <call-id>").
 * When a worker's heartbeats stop for longer than worker_ttl_ms, one
 * router (whichever takes pbx:{sys}:reap:<worker> first) ends each of its
 * calls at the edge that set it up (CallEnd: Kamailio sends BYE to the
 * caller), deletes the call records and logs one line per lost call, then
 * drops the worker from the registry. Nothing here keeps state between
 * callbacks but the small structs each callback frees. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "workers.h"

/* Long enough for one router to finish; short enough that a router that
 * died half-way leaves the rest to another on the worker's next loss. */
#define REAP_LOCK_MS 15000

/* KEYS: registry hash. ARGV: worker id, the heartbeat time it was lost
 * at. Removes the entry only if no newer heartbeat arrived meanwhile (a
 * restarted worker with the same id keeps its fresh entry). */
static const char forget_lua[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1]) "
	"if v and tonumber(string.match(v, '^(%d+)')) <= tonumber(ARGV[2]) "
	"then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

struct reap {
	struct router *r;
	char worker[65];
	unsigned long long seen_ms;
};

struct reap_call {
	struct router *r;
	char worker[65];
	char tenant[65];
	char call_id[256];
};

static int index_key(char *key, size_t size, const char *worker)
{
	return pbx_id_valid(worker)
		       ? pbx_key_sys(key, size, "wcalls:%s", worker)
		       : -EINVAL;
}

/* One set member (a single argument: "%s %s" would make two). */
static int index_member(char *buf, size_t size, const char *tenant,
			const char *call_id)
{
	int n = snprintf(buf, size, "%s %s", tenant, call_id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void route_index_add(struct router *r, const char *worker,
		     const char *tenant, const char *call_id)
{
	redisAsyncContext *ac = pbx_redis_ctx(r->redis);
	char key[PBX_KEY_MAX], member[PBX_KEY_MAX];

	if (ac && !index_key(key, sizeof(key), worker) &&
	    !index_member(member, sizeof(member), tenant, call_id))
		pbx_redis_acmd(ac, NULL, NULL, "SADD %s %s", key, member);
}

void route_index_del(struct router *r, const char *worker,
		     const char *tenant, const char *call_id)
{
	redisAsyncContext *ac = pbx_redis_ctx(r->redis);
	char key[PBX_KEY_MAX], member[PBX_KEY_MAX];

	if (ac && !index_key(key, sizeof(key), worker) &&
	    !index_member(member, sizeof(member), tenant, call_id))
		pbx_redis_acmd(ac, NULL, NULL, "SREM %s %s", key, member);
}

void route_edge_heard(struct router *r, const char *edge)
{
	unsigned i;

	for (i = 0; i < r->n_edges; i++)
		if (!strcmp(r->edges[i], edge))
			return;
	if (r->n_edges == ROUTER_EDGES_MAX)
		return; /* more than that: the first ones are the fallbacks */
	snprintf(r->edges[r->n_edges++], sizeof(r->edges[0]), "%s", edge);
}

static int send_call_end_to(struct router *r, const char *edge,
			    Pbx__V1__Envelope *env)
{
	struct pbx_bus_peer peer;
	size_t n = strlen(edge);

	if (n == 0 || n > sizeof(peer.id))
		return -EINVAL;
	memcpy(peer.id, edge, n);
	peer.len = n;
	return pbx_bus_send(r->edge_bus, &peer, env);
}

/* To the call's own edge; if that one is gone, to any other edge-bridge
 * heard from (each reaches the same Kamailio, which finds the dialog by
 * its Call-ID): a dead bridge leaves no caller in silence. */
static void send_call_end(struct router *r, const char *edge,
			  const struct reap_call *rc)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CallEnd ce = PBX__V1__CALL_END__INIT;
	char reason[128];
	int err = -EINVAL;

	snprintf(reason, sizeof(reason), "media worker %s lost", rc->worker);
	ce.edge_id = (char *)edge;
	ce.reason = reason;
	env.tenant_id = (char *)rc->tenant;
	env.call_id = (char *)rc->call_id;
	env.body_case = PBX__V1__ENVELOPE__BODY_CALL_END;
	env.call_end = &ce;
	if (edge[0])
		err = send_call_end_to(r, edge, &env);
	for (unsigned i = 0; err && i < r->n_edges; i++) {
		if (!strcmp(r->edges[i], edge))
			continue;
		env.message_id = NULL; /* a fresh one per attempt */
		err = send_call_end_to(r, r->edges[i], &env);
		if (!err)
			PLOG_WARN("edge %s is gone: call end sent through "
				  "edge %s",
				  edge[0] ? edge : "(unknown)", r->edges[i]);
	}
	if (err)
		PLOG_ERR("call end not sent: no edge-bridge reachable (%d): "
			 "the caller is not told",
			 err);
}

/* The lost call's record (the record's hash rr): failed, worker lost. */
static void lost_cdr(const struct reap_call *rc, const redisReply *rr)
{
	struct pbx_cdr *cdr = calloc(1, sizeof(*cdr));
	const char *scen = route_field(rr, "scenario");

	if (!cdr) {
		PLOG_ERR("out of memory: the call's record is lost");
		return;
	}
	if (!scen || strncmp(scen, ROUTE_CONF_LEG_SCEN,
			     strlen(ROUTE_CONF_LEG_SCEN))) {
		route_cdr_from_record(cdr, rr);
		snprintf(cdr->tenant, sizeof(cdr->tenant), "%s", rc->tenant);
		snprintf(cdr->call_id, sizeof(cdr->call_id), "%s",
			 rc->call_id);
		cdr->end = PBX_CDR_END_LOST;
		route_cdr_write(rc->r, cdr);
	}
	free(cdr);
}

static void call_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct reap_call *rc = arg;
	const char *worker = route_field(reply, "worker");
	const char *edge = route_field(reply, "edge");
	const char *alt = route_field(reply, "alt");
	const char *cof = route_field(reply, "cof");
	char key[PBX_KEY_MAX];

	pbx_log_ctx(rc->tenant, rc->call_id);
	/* A cascade leg into a room on a live worker, carrying a call of
	 * the lost one: nobody is on its other end any more. */
	if (reply && worker && strcmp(worker, rc->worker) && cof &&
	    !strcmp(cof, rc->worker)) {
		PLOG_WARN("conference leg on %s: its caller's media worker %s "
			  "is gone; ending it",
			  worker, rc->worker);
		route_media_hangup(rc->r, worker, rc->tenant, rc->call_id, 480,
				   "Conference Caller Lost");
	}
	/* Gone (ended normally) or moved to another worker: not lost. Not
	 * started yet (the decision's fallback is still set): the edge
	 * is trying the fallback worker in the INVITE transaction, and a
	 * record it never uses expires with the setup TTL. */
	if (reply && worker && !strcmp(worker, rc->worker) &&
	    !(alt && alt[0])) {
		PLOG_WARN("call lost: media worker %s is gone; ending it at "
			  "the edge %s",
			  rc->worker, edge && edge[0] ? edge : "(unknown)");
		send_call_end(rc->r, edge ? edge : "", rc);
		route_limits_release(rc->r, rc->tenant, rc->call_id);
		lost_cdr(rc, reply);
		if (!pbx_key(key, sizeof(key), rc->tenant, "call:%s",
			     rc->call_id))
			pbx_redis_acmd(ac, NULL, NULL, "DEL %s", key);
	}
	pbx_log_ctx(NULL, NULL);
	free(rc);
}

static void reap_member(struct reap *rp, redisAsyncContext *ac,
			const char *member)
{
	struct reap_call *rc;
	const char *sp = strchr(member, ' ');
	char key[PBX_KEY_MAX];

	if (!sp || (size_t)(sp - member) >= sizeof(rc->tenant) ||
	    strlen(sp + 1) >= sizeof(rc->call_id))
		return;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return;
	rc->r = rp->r;
	memcpy(rc->worker, rp->worker, sizeof(rc->worker));
	memcpy(rc->tenant, member, (size_t)(sp - member));
	snprintf(rc->call_id, sizeof(rc->call_id), "%s", sp + 1);
	if (pbx_key(key, sizeof(key), rc->tenant, "call:%s", rc->call_id) ||
	    pbx_redis_acmd(ac, call_cb, rc, "HGETALL %s", key) !=
		    REDIS_OK)
		free(rc);
}

static void members_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct reap *rp = arg;
	redisReply *rr = reply;
	char key[PBX_KEY_MAX];
	char seen[24];

	if (rr && rr->type == REDIS_REPLY_ARRAY) {
		PLOG_WARN("media worker %s lost (silent since %llu): %zu "
			  "call(s) to end",
			  rp->worker, rp->seen_ms, rr->elements);
		for (size_t i = 0; i < rr->elements; i++)
			if (rr->element[i]->type == REDIS_REPLY_STRING)
				reap_member(rp, ac, rr->element[i]->str);
		if (!index_key(key, sizeof(key), rp->worker))
			pbx_redis_acmd(ac, NULL, NULL, "DEL %s", key);
		snprintf(seen, sizeof(seen), "%llu", rp->seen_ms);
		if (!pbx_key_sys_of(key, sizeof(key), PBX_KS_WORKERS))
			pbx_redis_acmd(ac, NULL, NULL, "EVAL %s 1 %s %s %s",
					  forget_lua, key, rp->worker, seen);
		workers_forget(rp->r->workers, rp->worker, rp->seen_ms);
		/* The lock goes with the reap: a worker restarted under
		 * the same id and lost again within REAP_LOCK_MS (its
		 * calls on it) is reaped at once, not never (issue 17:
		 * the lock outlived the reap, the second loss found it
		 * taken and was left as "another router's"). */
		if (!pbx_key_sys(key, sizeof(key), "reap:%s", rp->worker))
			pbx_redis_acmd(ac, NULL, NULL, "DEL %s", key);
	}
	free(rp);
}

static void lock_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct reap *rp = arg;
	redisReply *rr = reply;
	char key[PBX_KEY_MAX];

	/* NIL: another router is reaping this worker. */
	if (rr && rr->type == REDIS_REPLY_STATUS &&
	    !index_key(key, sizeof(key), rp->worker) &&
	    pbx_redis_acmd(ac, members_cb, rp, "SMEMBERS %s", key) ==
		    REDIS_OK)
		return;
	free(rp);
}

void route_reap_worker(const char *worker_id, uint64_t seen_ms, void *arg)
{
	struct router *r = arg;
	redisAsyncContext *ac = pbx_redis_ctx(r->redis);
	struct reap *rp;
	char key[PBX_KEY_MAX];

	if (!ac || !pbx_id_valid(worker_id) ||
	    pbx_key_sys(key, sizeof(key), "reap:%s", worker_id))
		return;
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return;
	rp->r = r;
	rp->seen_ms = (unsigned long long)seen_ms;
	snprintf(rp->worker, sizeof(rp->worker), "%s", worker_id);
	if (pbx_redis_acmd(ac, lock_cb, rp, "SET %s %s NX PX %d", key,
			      r->cfg->router_id, REAP_LOCK_MS) != REDIS_OK)
		free(rp);
}
