/* Media workers for operators (pbxctl worker list|drain|undrain; operator
 * keys only, prov_auth.c): the list joins the registry the routers write
 * from heartbeats (pbx:{sys}:workers) with the drain marks
 * (pbx:{sys}:worker:drain); drain and undrain set and clear a mark, which
 * the routers honour at their next registry refresh (500 ms) and the
 * worker at its next heartbeat (it then refuses new INVITEs, and with
 * "exit" stops once its last call ended). docs/operations.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_rtp_lease.h"
#include "pbx_worker_reg.h"
#include "prov.h"

/* The mark of id in an HGETALL reply of the marks, or NULL. */
static const char *mark_of(const redisReply *marks, const char *id)
{
	for (size_t i = 0; i + 1 < marks->elements; i += 2) {
		if (marks->element[i]->type == REDIS_REPLY_STRING &&
		    marks->element[i + 1]->type == REDIS_REPLY_STRING &&
		    !strcmp(marks->element[i]->str, id))
			return marks->element[i + 1]->str;
	}
	return NULL;
}

/* silent_ms: the routers' worker_ttl_ms (older heartbeats: no calls). */
static const char *state_of(const struct pbx_worker_reg *g, const char *mark,
			    uint64_t age, uint64_t silent_ms)
{
	if (age > silent_ms)
		return "silent";
	if (!g->capacity)
		return "stopping";
	if (g->draining || mark)
		return "draining";
	return g->load >= g->capacity ? "full" : "up";
}

static int list_line(struct provision *pv, struct prov_reply *r,
		     const char *id, const char *val, const char *mark,
		     uint64_t now)
{
	struct pbx_worker_reg g;
	char rtp[96] = "-";
	uint64_t age;

	if (pbx_worker_reg_parse(val, &g))
		return prov_strv_add(&r->items, "%s state=unreadable", id);
	age = now > g.seen_ms ? now - g.seen_ms : 0;
	if (g.rtp_ip[0])
		snprintf(rtp, sizeof(rtp), "%s:%u-%u", g.rtp_ip, g.rtp_min,
			 g.rtp_max);
	return prov_strv_add(
		&r->items,
		"%s address=%s rtp=%s state=%s calls=%u capacity=%u "
		"heartbeat=%llu.%llus%s",
		id, g.sip_uri, rtp, state_of(&g, mark, age,
				 pv->worker_ttl_ms > 0
					 ? (uint64_t)pv->worker_ttl_ms
					 : PROVISION_WORKER_TTL_MS_DEFAULT),
		g.load,
		g.capacity, (unsigned long long)(age / 1000),
		(unsigned long long)(age % 1000 / 100),
		(mark && !strcmp(mark, PBX_DRAIN_EXIT)) || g.drain_exit
			? " then=exit"
			: "");
}

int prov_worker_list(struct provision *pv, struct prov_reply *r)
{
	char key[PBX_KEY_MAX], marks_key[PBX_KEY_MAX];
	redisReply *reg = NULL, *marks = NULL;
	uint64_t now = pbx_clock_now_ms();
	int err;

	if (pbx_key_sys_of(key, sizeof(key), PBX_KS_WORKERS) ||
	    pbx_key_sys_of(marks_key, sizeof(marks_key), PBX_KS_WORKER_DRAIN))
		return -EINVAL;
	err = prov_store_cmd(pv, &reg, "HGETALL %s", key);
	if (!err)
		err = prov_store_cmd(pv, &marks, "HGETALL %s", marks_key);
	if (!err && (reg->type != REDIS_REPLY_ARRAY ||
		     marks->type != REDIS_REPLY_ARRAY))
		err = -EIO;
	for (size_t i = 0; !err && i + 1 < reg->elements; i += 2) {
		const redisReply *f = reg->element[i], *v = reg->element[i + 1];

		if (f->type == REDIS_REPLY_STRING &&
		    v->type == REDIS_REPLY_STRING)
			err = list_line(pv, r, f->str, v->str,
					mark_of(marks, f->str), now);
	}
	/* Marked workers no router has heard from (stopped, not yet
	 * replaced): the mark waits for them. */
	for (size_t i = 0; !err && i + 1 < marks->elements; i += 2) {
		const redisReply *f = marks->element[i];

		if (f->type == REDIS_REPLY_STRING && !mark_of(reg, f->str))
			err = prov_strv_add(&r->items,
					    "%s address=- rtp=- state=drained "
					    "calls=0 capacity=0 heartbeat=-",
					    f->str);
	}
	if (reg)
		freeReplyObject(reg);
	if (marks)
		freeReplyObject(marks);
	if (!err)
		prov_strv_sort(&r->items);
	return err;
}

/* The worker must be one the routers know (its registry entry). */
static int worker_known(struct provision *pv, struct prov_reply *r,
			const char *id)
{
	char key[PBX_KEY_MAX];
	long long n = 0;
	int err = prov_check_id(r, "worker", id);

	if (err)
		return err;
	if (pbx_key_sys_of(key, sizeof(key), PBX_KS_WORKERS))
		return -EINVAL;
	err = prov_store_int(pv, &n, "HEXISTS %s %s", key, id);
	if (!err && !n)
		err = prov_fail(r, -ENOENT,
				"no worker %s is registered (pbxctl worker "
				"list)",
				id);
	return err;
}

int prov_worker_drain(struct provision *pv,
		      const Pbx__V1__ProvRequest__Worker *q,
		      struct prov_reply *r)
{
	const char *id = prov_str(q->worker);
	char key[PBX_KEY_MAX];
	int err = worker_known(pv, r, id);

	if (err)
		return err;
	if (pbx_key_sys_of(key, sizeof(key), PBX_KS_WORKER_DRAIN))
		return -EINVAL;
	err = prov_store_do(pv, "HSET %s %s %s", key, id,
			    q->exit ? PBX_DRAIN_EXIT : PBX_DRAIN_WAIT);
	if (!err)
		err = prov_strv_add(&r->items,
				    "%s draining: no new calls%s", id,
				    q->exit ? "; it exits after its last call"
					    : "");
	return err;
}

int prov_worker_undrain(struct provision *pv,
			const Pbx__V1__ProvRequest__Worker *q,
			struct prov_reply *r)
{
	const char *id = prov_str(q->worker);
	char key[PBX_KEY_MAX];
	long long n = 0;
	int err = prov_check_id(r, "worker", id);

	if (err)
		return err;
	if (pbx_key_sys_of(key, sizeof(key), PBX_KS_WORKER_DRAIN))
		return -EINVAL;
	err = prov_store_int(pv, &n, "HDEL %s %s", key, id);
	if (!err && !n)
		err = worker_known(pv, r, id);
	if (!err)
		err = prov_strv_add(&r->items, "%s %s", id,
				    n ? "in service: takes new calls"
				      : "was not drained");
	return err;
}
