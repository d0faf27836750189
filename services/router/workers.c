/* Worker registry: heartbeats → Redis hash pbx:{sys}:workers (one field per
 * worker), refreshed into memory on a timer with the operators' drain
 * marks (pbx:{sys}:worker:drain); picks the least-loaded live worker that
 * is neither draining nor marked. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "pbx_worker_reg.h"
#include "workers.h"

#define WORKERS_MAX 256

struct workers {
	struct pbx_redis *redis;
	uint64_t ttl_ms, reap_ms;
	struct worker_info v[WORKERS_MAX];
	size_t n;
	bool refreshing;
	/* Worker ids an operator drained (pbxctl worker drain), as of the
	 * last refresh; kept apart from v[] so a mark holds for a worker
	 * this router has not heard from yet. */
	char marked[WORKERS_MAX][65];
	size_t nmarked;
};

int workers_alloc(struct workers **wp, struct pbx_redis *redis,
		  uint64_t ttl_ms, uint64_t reap_ms)
{
	struct workers *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->redis = redis;
	w->ttl_ms = ttl_ms;
	w->reap_ms = reap_ms > ttl_ms ? reap_ms : ttl_ms;
	*wp = w;
	return 0;
}

void workers_free(struct workers *w)
{
	free(w);
}

int workers_parse(const char *id, const char *val, struct worker_info *wi)
{
	struct pbx_worker_reg r;

	memset(wi, 0, sizeof(*wi));
	wi->conn.fd = -1;
	if (!id || strlen(id) >= sizeof(wi->id) ||
	    pbx_worker_reg_parse(val, &r))
		return -EINVAL;
	snprintf(wi->id, sizeof(wi->id), "%s", id);
	snprintf(wi->sip_uri, sizeof(wi->sip_uri), "%s", r.sip_uri);
	snprintf(wi->rtp_ip, sizeof(wi->rtp_ip), "%s", r.rtp_ip);
	wi->rtp_min = r.rtp_min;
	wi->rtp_max = r.rtp_max;
	wi->drain_exit = r.drain_exit;
	wi->seen_ms = r.seen_ms;
	wi->load = r.load;
	wi->capacity = r.capacity;
	wi->draining = r.draining;
	return 0;
}

bool workers_drain_marked(const struct workers *w, const char *id)
{
	for (size_t i = 0; i < w->nmarked; i++) {
		if (!strcmp(w->marked[i], id))
			return true;
	}
	return false;
}

static struct worker_info *find(struct workers *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++) {
		if (!strcmp(w->v[i].id, id))
			return &w->v[i];
	}
	return NULL;
}

/* The same heartbeat seen again (from Redis): keep what we know, lost
 * included. */
static void wi_refresh_load(struct worker_info *cur,
			    const struct worker_info *wi)
{
	cur->capacity = wi->capacity;
	cur->draining = wi->draining;
	cur->drain_exit = wi->drain_exit;
}

/* conn: the connection of a heartbeat on our socket, NULL for one read
 * from Redis (the connection we know stays). */
static void upsert(struct workers *w, const struct worker_info *wi,
		   const struct pbx_bus_conn *conn)
{
	struct worker_info *cur = find(w, wi->id);

	if (cur) {
		/* Keep the newer report: Redis may lag our own socket. */
		if (cur->seen_ms < wi->seen_ms) {
			struct pbx_bus_conn known = cur->conn;

			*cur = *wi; /* a newer heartbeat: alive again */
			cur->conn = conn ? *conn : known;
		} else if (cur->seen_ms == wi->seen_ms)
			wi_refresh_load(cur, wi);
		return;
	}
	if (w->n < WORKERS_MAX) {
		w->v[w->n] = *wi;
		if (conn)
			w->v[w->n].conn = *conn;
		w->n++;
	}
}

void workers_heartbeat(struct workers *w, const Pbx__V1__WorkerHeartbeat *hb,
		       int fd)
{
	struct pbx_bus_conn conn;
	struct worker_info wi;
	struct pbx_worker_reg reg = {
		.seen_ms = pbx_clock_now_ms(),
		.load = hb->load,
		.capacity = hb->capacity,
		.draining = hb->draining,
		.drain_exit = hb->drain_exit,
		.rtp_min = hb->rtp_port_min,
		.rtp_max = hb->rtp_port_max,
	};
	char key[PBX_KEY_MAX], val[320];
	redisAsyncContext *ac;

	if (!hb->worker_id || !pbx_id_valid(hb->worker_id) || !hb->sip_uri ||
	    strlen(hb->sip_uri) >= sizeof(reg.sip_uri) ||
	    (hb->rtp_ip && strlen(hb->rtp_ip) >= sizeof(reg.rtp_ip))) {
		PLOG_WARN("workers: ignoring heartbeat with bad id or uri");
		return;
	}
	snprintf(reg.sip_uri, sizeof(reg.sip_uri), "%s", hb->sip_uri);
	snprintf(reg.rtp_ip, sizeof(reg.rtp_ip), "%s",
		 hb->rtp_ip ? hb->rtp_ip : "");
	if (pbx_worker_reg_format(val, sizeof(val), &reg) ||
	    workers_parse(hb->worker_id, val, &wi)) {
		PLOG_WARN("workers: ignoring heartbeat of %s with bad fields",
			  hb->worker_id);
		return;
	}
	/* A connection we cannot tell (inproc): keep the one we know. */
	upsert(w, &wi, pbx_bus_conn_get(&conn, fd) ? NULL : &conn);

	ac = pbx_redis_ctx(w->redis);
	if (!ac || pbx_key_sys_of(key, sizeof(key), PBX_KS_WORKERS))
		return;
	pbx_redis_acmd(ac, NULL, NULL, "HSET %s %s %s", key,
			  hb->worker_id, val);
}

static void refresh_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct workers *w = arg;
	redisReply *r = reply;

	(void)ac;
	w->refreshing = false;
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		struct worker_info wi;

		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (workers_parse(r->element[i]->str, r->element[i + 1]->str,
				  &wi) == 0)
			upsert(w, &wi, NULL);
	}
}

static void marks_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct workers *w = arg;
	redisReply *r = reply;

	(void)ac;
	/* Redis down or a bad reply: the marks we know stay, so a drain
	 * is never lifted by an error. */
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return;
	w->nmarked = 0;
	for (size_t i = 0; i + 1 < r->elements && w->nmarked < WORKERS_MAX;
	     i += 2) {
		const redisReply *f = r->element[i];

		if (f->type == REDIS_REPLY_STRING &&
		    f->len < sizeof(w->marked[0]))
			snprintf(w->marked[w->nmarked++],
				 sizeof(w->marked[0]), "%s", f->str);
	}
}

void workers_refresh(struct workers *w)
{
	redisAsyncContext *ac = pbx_redis_ctx(w->redis);
	char key[PBX_KEY_MAX], marks[PBX_KEY_MAX];

	if (!ac || w->refreshing ||
	    pbx_key_sys_of(key, sizeof(key), PBX_KS_WORKERS) ||
	    pbx_key_sys_of(marks, sizeof(marks), PBX_KS_WORKER_DRAIN))
		return;
	/* Marks first: the registry's reply (which ends the refresh)
	 * comes after them on the same connection. */
	if (pbx_redis_acmd(ac, marks_cb, w, "HGETALL %s", marks) !=
	    REDIS_OK)
		return;
	if (pbx_redis_acmd(ac, refresh_cb, w, "HGETALL %s", key) ==
	    REDIS_OK)
		w->refreshing = true;
}

/* Live, not draining (by its heartbeat or an operator's mark), room. */
static bool placeable(const struct workers *w, const struct worker_info *wi,
		      uint64_t now)
{
	return !wi->draining && wi->load < wi->capacity &&
	       now <= wi->seen_ms + w->ttl_ms &&
	       !workers_drain_marked(w, wi->id);
}

static struct worker_info *pick(struct workers *w, const char *not_id)
{
	uint64_t now = pbx_clock_now_ms();
	struct worker_info *best = NULL;

	for (size_t i = 0; i < w->n; i++) {
		struct worker_info *wi = &w->v[i];

		if (!placeable(w, wi, now) ||
		    (not_id && !strcmp(wi->id, not_id)))
			continue;
		/* Least loaded relative to capacity. */
		if (!best || (uint64_t)wi->load * best->capacity <
				     (uint64_t)best->load * wi->capacity)
			best = wi;
	}
	return best;
}

const struct worker_info *workers_pick(struct workers *w)
{
	struct worker_info *best = pick(w, NULL);

	if (best)
		best->load++;
	return best;
}

const struct worker_info *workers_pick_id(struct workers *w, const char *id)
{
	struct worker_info *wi = find(w, id);

	if (!wi || !placeable(w, wi, pbx_clock_now_ms()))
		return NULL;
	wi->load++;
	return wi;
}

unsigned workers_calls(const struct workers *w)
{
	uint64_t now = pbx_clock_now_ms();
	unsigned n = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (now <= w->v[i].seen_ms + w->ttl_ms)
			n += w->v[i].load;
	}
	return n;
}

bool workers_live(struct workers *w, const char *id)
{
	struct worker_info *wi = find(w, id);

	return wi && pbx_clock_now_ms() <= wi->seen_ms + w->ttl_ms;
}

const struct worker_info *workers_pick_alt(struct workers *w,
					   const char *not_id)
{
	return pick(w, not_id);
}

void workers_lost(struct workers *w, workers_lost_h *h, void *arg)
{
	uint64_t now = pbx_clock_now_ms();

	for (size_t i = 0; i < w->n; i++) {
		struct worker_info *wi = &w->v[i];

		if (wi->lost || now <= wi->seen_ms + w->ttl_ms)
			continue;
		/* Silent but still connected: busy (its loop behind, the
		 * machine starved) or its heartbeats stuck behind our own
		 * backlog. It gets no new calls; its calls go on. */
		if (now <= wi->seen_ms + w->reap_ms &&
		    (wi->conn.fd < 0 || pbx_bus_conn_open(&wi->conn)))
			continue;
		wi->lost = true;
		h(wi->id, wi->seen_ms, arg);
	}
}

void workers_forget(struct workers *w, const char *id, uint64_t seen_ms)
{
	struct worker_info *wi = find(w, id);

	/* A newer heartbeat came while the loss was reaped: the worker
	 * was restarted under the same id, and its entry holds the new
	 * connection, which tells when this one dies. */
	if (!wi || wi->seen_ms > seen_ms)
		return;
	*wi = w->v[--w->n];
}
