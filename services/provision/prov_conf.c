/* Conference rooms of a tenant: list the rooms with members, list a
 * room's members, and mute, unmute or kick one. The router keeps the
 * member list (pbx:{<tenant>}:conf:members:<room>, one field per call:
 * "<worker> <moderator> <muted> <joined_ms> <caller>"); a mute or kick is
 * queued for the worker that holds the call (pbx:{sys}:conf:ctl:<worker>,
 * "<tenant> <call> mute|unmute|kick"), which polls its list while it has
 * rooms and checks the call is that tenant's. A call is reached only
 * through its tenant and room: it must be in that room's member list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbx_log.h"
#include "prov.h"

enum {
	SCAN_BATCH = 200,
	CTL_TTL_S = 30, /* a worker that is gone never pops its list */
	CALL_ID_MAX = 200,
};

static int conf_args(struct provision *pv,
		     const Pbx__V1__ProvRequest__Conference *q,
		     struct prov_reply *r, bool need_room, bool need_call)
{
	const char *tenant = prov_str(q->tenant), *call = prov_str(q->call);
	int err = prov_check_tenant(r, tenant);

	if (!err && need_room)
		err = prov_check_id(r, "room", prov_str(q->room));
	if (!err && need_call &&
	    (!call[0] || strlen(call) > CALL_ID_MAX || strchr(call, ' ')))
		err = prov_fail(r, -EINVAL, "call \"%s\" is not a Call-ID",
				call);
	if (err)
		return err;
	return prov_tenant_known(pv, r, tenant);
}

struct scan_arg {
	struct prov_reply *r;
	size_t prefix; /* of "pbx:{t}:conf:members:" */
};

static int scan_rooms(struct provision *pv, const redisReply *keys,
		      void *arg)
{
	struct scan_arg *sa = arg;
	int err = 0;

	for (size_t i = 0; i < keys->elements && !err; i++) {
		const char *k = keys->element[i]->str;
		long long n = 0;

		if (!k || strlen(k) <= sa->prefix)
			continue;
		err = prov_store_int(pv, &n, "HLEN %s", k);
		if (!err && n > 0)
			err = prov_strv_add(&sa->r->items, "%s %lld member%s",
					    k + sa->prefix, n,
					    n == 1 ? "" : "s");
	}
	return err;
}

int prov_conf_list(struct provision *pv,
		   const Pbx__V1__ProvRequest__Conference *q,
		   struct prov_reply *r)
{
	char match[PBX_KEY_MAX];
	struct scan_arg sa = {.r = r};
	int err = conf_args(pv, q, r, false, false);

	if (err)
		return err;
	if (pbx_key_of(match, sizeof(match), q->tenant, PBX_K_CONF_MEMBERS) ||
	    strlen(match) + 3 > sizeof(match))
		return -EINVAL;
	strcat(match, ":");
	sa.prefix = strlen(match);
	strcat(match, "*");
	return prov_store_scan(pv, match, SCAN_BATCH, scan_rooms, &sa);
}

/* One member line: "<call> <caller> moderator|member muted|talking
 * since <UTC time>". */
static int member_line(struct prov_reply *r, const char *call,
		       const char *val)
{
	char worker[80], caller[80], when[32] = "?";
	int mod = 0, muted = 0;
	unsigned long long ms = 0;
	time_t t;
	struct tm tm;

	if (sscanf(val, "%79s %d %d %llu %79s", worker, &mod, &muted, &ms,
		   caller) != 5)
		return 0; /* not written by a router: skipped */
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return prov_strv_add(&r->items, "%s %s %s %s since %s", call, caller,
			     mod ? "moderator" : "member",
			     muted ? "muted" : "talking", when);
}

int prov_conf_members(struct provision *pv,
		      const Pbx__V1__ProvRequest__Conference *q,
		      struct prov_reply *r)
{
	char key[PBX_KEY_MAX];
	redisReply *h = NULL;
	int err = conf_args(pv, q, r, true, false);

	if (err)
		return err;
	if (pbx_key_sub_of(key, sizeof(key), q->tenant, PBX_K_CONF_MEMBERS,
			   q->room))
		return -EINVAL;
	err = prov_store_cmd(pv, &h, "HGETALL %s", key);
	for (size_t i = 0; !err && h->type == REDIS_REPLY_ARRAY &&
			   i + 1 < h->elements;
	     i += 2)
		err = member_line(r, h->element[i]->str,
				  h->element[i + 1]->str);
	if (h)
		freeReplyObject(h);
	return err;
}

/* Queues op for the worker that holds the member `call` of the room. */
static int conf_ctl(struct provision *pv,
		    const Pbx__V1__ProvRequest__Conference *q,
		    struct prov_reply *r, const char *op)
{
	char key[PBX_KEY_MAX], ctl[PBX_KEY_MAX], worker[80];
	char line[PBX_ID_MAX + CALL_ID_MAX + 16];
	char *val = NULL;
	int err = conf_args(pv, q, r, true, true);

	if (err)
		return err;
	if (pbx_key_sub_of(key, sizeof(key), q->tenant, PBX_K_CONF_MEMBERS,
			   q->room))
		return -EINVAL;
	err = prov_store_str(pv, &val, "HGET %s %s", key, q->call);
	if (err)
		return err;
	if (!val || sscanf(val, "%79s", worker) != 1 ||
	    pbx_key_sys_sub_of(ctl, sizeof(ctl), PBX_KS_CONF_CTL, worker)) {
		free(val);
		return prov_fail(r, -ENOENT, "no member %s in room %s",
				 q->call, q->room);
	}
	free(val);
	/* One argument: hiredis keeps a %s whole, spaces and all. */
	snprintf(line, sizeof(line), "%s %s %s", q->tenant, q->call, op);
	err = prov_store_do(pv, "RPUSH %s %s", ctl, line);
	if (!err)
		err = prov_store_do(pv, "EXPIRE %s %d", ctl, CTL_TTL_S);
	if (!err)
		PLOG_INFO("conference %s/%s: %s %s (worker %s)", q->tenant,
			  q->room, op, q->call, worker);
	return err;
}

int prov_conf_mute(struct provision *pv,
		   const Pbx__V1__ProvRequest__Conference *q,
		   struct prov_reply *r)
{
	return conf_ctl(pv, q, r, "mute");
}

int prov_conf_unmute(struct provision *pv,
		     const Pbx__V1__ProvRequest__Conference *q,
		     struct prov_reply *r)
{
	return conf_ctl(pv, q, r, "unmute");
}

int prov_conf_kick(struct provision *pv,
		   const Pbx__V1__ProvRequest__Conference *q,
		   struct prov_reply *r)
{
	return conf_ctl(pv, q, r, "kick");
}
