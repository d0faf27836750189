/* Numbers (DIDs): connecting one to a tenant, disconnecting it, listing
 * them, and which scenario version each runs (activate, scheduled
 * activation, rollback). pbx:{sys}:did:<number> is the truth the router
 * reads to find the tenant; it is claimed with SET NX so two tenants racing
 * for one number cannot both win. A refusal never names the other tenant.
 * pbx:{t}:number:<n> holds the active pair (scenario, version), the pair
 * before it (prev_*) and a scheduled one (pending_*), and is only ever
 * changed by one Lua script at a time, so it is never seen half-written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"

/* Shared prologue of the scripts on a number hash: a scheduled pair that
 * is due is what the router already uses, so before anything else it
 * becomes the active pair (the old active one becoming prev) and the
 * schedule is cleared. Sets cs, cv to the active pair (false when none).
 * ARGV[1] is now in ms. */
#define FOLD_LUA                                                              \
	"local h = redis.call('HMGET', KEYS[1], 'scenario', 'version', "      \
	"'pending_scenario', 'pending_version', 'pending_at_ms') "           \
	"local cs, cv = h[1], h[2] "                                          \
	"if h[3] and h[4] and h[5] and tonumber(h[5]) <= tonumber(ARGV[1]) " \
	"then "                                                               \
	"  if cs and (cs ~= h[3] or cv ~= h[4]) then "                        \
	"    redis.call('HSET', KEYS[1], 'prev_scenario', cs, "               \
	"'prev_version', cv) end "                                            \
	"  cs, cv = h[3], h[4] "                                              \
	"  redis.call('HSET', KEYS[1], 'scenario', cs, 'version', cv) "       \
	"end "

/* KEYS: number hash, scenario head. ARGV: now_ms, name, version (0: the
 * latest now), at_ms (0: now). The version is resolved here, inside the
 * script, so a concurrent put cannot slip between the lookup and the
 * write. Activating the pair that is already active changes nothing (so
 * rollback still returns to the one before). Returns {0, version,
 * scheduled}, {-1} no such scenario, {-2, latest} no such version. */
static const char activate_lua[] =
	"local latest = tonumber(redis.call('HGET', KEYS[2], 'latest')) or 0 "
	"if latest < 1 then return {-1, 0, 0} end "
	"local v = tonumber(ARGV[3]) "
	"if v == 0 then v = latest end "
	"if v > latest or redis.call('EXISTS', KEYS[2] .. ':v' .. v) == 0 "
	"then return {-2, latest, 0} end " FOLD_LUA
	"local at = tonumber(ARGV[4]) "
	"if at > tonumber(ARGV[1]) then "
	"  redis.call('HSET', KEYS[1], 'pending_scenario', ARGV[2], "
	"'pending_version', v, 'pending_at_ms', ARGV[4]) "
	"  return {0, v, 1} end "
	"redis.call('HDEL', KEYS[1], 'pending_scenario', 'pending_version', "
	"'pending_at_ms') "
	"if cs ~= ARGV[2] or cv ~= tostring(v) then "
	"  if cs then redis.call('HSET', KEYS[1], 'prev_scenario', cs, "
	"'prev_version', cv) end "
	"  redis.call('HSET', KEYS[1], 'scenario', ARGV[2], 'version', v) "
	"end "
	"return {0, v, 0}";

/* KEYS: number hash. ARGV: now_ms. Swaps the active and the previous
 * pair (so a second rollback undoes the first) and drops any schedule.
 * Returns {0, scenario, version} or {-1} when there is no previous
 * pair. */
static const char rollback_lua[] =
	FOLD_LUA "redis.call('HDEL', KEYS[1], 'pending_scenario', "
	"'pending_version', 'pending_at_ms') "
	"local p = redis.call('HMGET', KEYS[1], 'prev_scenario', "
	"'prev_version') "
	"if not p[1] or not p[2] then return {-1, '', ''} end "
	"redis.call('HSET', KEYS[1], 'scenario', p[1], 'version', p[2]) "
	"if cs and cv then redis.call('HSET', KEYS[1], 'prev_scenario', cs, "
	"'prev_version', cv) else redis.call('HDEL', KEYS[1], "
	"'prev_scenario', 'prev_version') end "
	"return {0, p[1], p[2]}";

/* A new number runs the default scenario's given version; a reconnect
 * keeps whatever was activated since. KEYS: number hash. ARGV: version. */
static const char init_lua[] =
	"if redis.call('HEXISTS', KEYS[1], 'scenario') == 0 then "
	"redis.call('HSET', KEYS[1], 'scenario', 'default', 'version', "
	"ARGV[1]) end return 0";

int prov_number_owned(struct provision *pv, const char *tenant,
		      const char *number, bool *owned)
{
	char key[PBX_KEY_MAX];
	char *owner = NULL;
	int err;

	*owned = false;
	if (pbx_key_sys(key, sizeof(key), "did:%s", number))
		return -EINVAL;
	err = prov_store_str(pv, &owner, "GET %s", key);
	if (!err)
		*owned = owner && !strcmp(owner, tenant);
	free(owner);
	return err;
}

/* The tenant-side records of a connected number. */
static int link_number(struct provision *pv, const char *tenant,
		       const char *number, long long version)
{
	char key[PBX_KEY_MAX];
	int err;

	if (pbx_key(key, sizeof(key), tenant, "numbers"))
		return -EINVAL;
	err = prov_store_do(pv, "SADD %s %s", key, number);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "number:%s", number))
		return -EINVAL;
	return prov_store_do(pv, "EVAL %s 1 %s %lld", init_lua, key, version);
}

int prov_number_connect(struct provision *pv,
			const Pbx__V1__ProvRequest__Number *q,
			struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *number = prov_str(q->number);
	char dkey[PBX_KEY_MAX];
	char *owner = NULL;
	bool claimed, other;
	bool set = false;
	long long version = 0;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_number(r, number);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key_sys(dkey, sizeof(dkey), "did:%s", number))
		return -EINVAL;

	err = prov_store_str(pv, &owner, "GET %s", dkey);
	if (err)
		return err;
	claimed = owner != NULL;
	other = owner && strcmp(owner, tenant);
	free(owner);
	if (other)
		goto taken;
	/* The scenario comes before the claim: the router may route the
	 * number the moment the index names the tenant. */
	err = prov_scenario_ensure_default(pv, tenant, r, &version);
	if (!err && !claimed) {
		err = prov_store_set_nx(pv, dkey, tenant, &set);
		if (!err && !set) {
			bool mine = false;

			/* Lost a race: fine only if the winner was us. */
			err = prov_number_owned(pv, tenant, number, &mine);
			if (!err && !mine)
				goto taken;
		}
	}
	if (err)
		return err;
	return link_number(pv, tenant, number, version);
taken:
	return prov_fail(r, -EEXIST,
			 "number %s is connected to another tenant", number);
}

int prov_number_disconnect(struct provision *pv,
			   const Pbx__V1__ProvRequest__Number *q,
			   struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *number = prov_str(q->number);
	char key[PBX_KEY_MAX];
	long long member = 0;
	bool owned = false;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_number(r, number);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "numbers"))
		return -EINVAL;
	err = prov_store_int(pv, &member, "SISMEMBER %s %s", key, number);
	if (!err)
		err = prov_number_owned(pv, tenant, number, &owned);
	if (err)
		return err;
	if (!member && !owned) {
		char *owner = NULL;

		/* Gone from this tenant: done, unless another tenant holds
		 * it (then the request is most likely aimed at the wrong
		 * tenant, and saying "ok" would hide that). */
		if (pbx_key_sys(key, sizeof(key), "did:%s", number))
			return -EINVAL;
		err = prov_store_str(pv, &owner, "GET %s", key);
		if (err)
			return err;
		if (owner) {
			free(owner);
			return prov_fail(r, -ENOENT,
					 "number %s is not connected to "
					 "tenant %s",
					 number, tenant);
		}
		return prov_already_absent(r);
	}
	/* Routing stops first (the index), then the tenant's records. */
	if (pbx_key_sys(key, sizeof(key), "did:%s", number))
		return -EINVAL;
	err = prov_store_del_if(pv, key, tenant);
	if (!err && !pbx_key(key, sizeof(key), tenant, "numbers"))
		err = prov_store_do(pv, "SREM %s %s", key, number);
	if (!err && !pbx_key(key, sizeof(key), tenant, "number:%s", number))
		err = prov_store_do(pv, "DEL %s", key);
	return err;
}

static void copy_field(char *dst, size_t size, const redisReply *e)
{
	dst[0] = '\0';
	if (e->type == REDIS_REPLY_STRING)
		snprintf(dst, size, "%s", e->str);
}

static long long int_field(const redisReply *e)
{
	return e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
}

int prov_number_pair(struct provision *pv, const char *tenant,
		     const char *number, unsigned long long now_ms,
		     struct prov_pair *p)
{
	char key[PBX_KEY_MAX];
	redisReply *rep = NULL;
	int err;

	memset(p, 0, sizeof(*p));
	if (pbx_key(key, sizeof(key), tenant, "number:%s", number))
		return -EINVAL;
	err = prov_store_cmd(pv, &rep,
			     "HMGET %s scenario version pending_scenario "
			     "pending_version pending_at_ms prev_scenario "
			     "prev_version",
			     key);
	if (err)
		return err;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 7) {
		freeReplyObject(rep);
		return -EIO;
	}
	copy_field(p->scenario, sizeof(p->scenario), rep->element[0]);
	p->version = int_field(rep->element[1]);
	copy_field(p->pending_scenario, sizeof(p->pending_scenario),
		   rep->element[2]);
	p->pending_version = int_field(rep->element[3]);
	p->pending_at_ms = (unsigned long long)int_field(rep->element[4]);
	copy_field(p->prev_scenario, sizeof(p->prev_scenario),
		   rep->element[5]);
	p->prev_version = int_field(rep->element[6]);
	freeReplyObject(rep);
	/* What the router does with a due schedule (FOLD_LUA makes it
	 * permanent on the next write). */
	if (p->pending_scenario[0] && p->pending_at_ms <= now_ms) {
		if (strcmp(p->scenario, p->pending_scenario) ||
		    p->version != p->pending_version) {
			memcpy(p->prev_scenario, p->scenario,
			       sizeof(p->prev_scenario));
			p->prev_version = p->version;
		}
		memcpy(p->scenario, p->pending_scenario,
		       sizeof(p->scenario));
		p->version = p->pending_version;
		p->pending_scenario[0] = '\0';
		p->pending_version = 0;
		p->pending_at_ms = 0;
	}
	if (!p->scenario[0] && !p->pending_scenario[0])
		return -ENOENT;
	return 0;
}

/* "main v3", "main v3, then holiday v1 from <time>", "-" when unset. */
static const char *pair_text(char *buf, size_t size,
			     const struct prov_pair *p, bool none)
{
	char when[40];
	int n;

	if (none || !p->scenario[0])
		n = snprintf(buf, size, "-");
	else
		n = snprintf(buf, size, "%s v%lld", p->scenario, p->version);
	if (!none && p->pending_scenario[0] && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, ", then %s v%lld from %s",
			 p->pending_scenario, p->pending_version,
			 prov_time_iso(when, sizeof(when), p->pending_at_ms));
	return buf;
}

int prov_number_check_owned(struct provision *pv, struct prov_reply *r,
			    const char *tenant, const char *number)
{
	bool owned = false;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_number(r, number);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (!err)
		err = prov_number_owned(pv, tenant, number, &owned);
	if (err)
		return err;
	if (!owned)
		return prov_fail(r, -ENOENT,
				 "number %s is not connected to tenant %s",
				 number, tenant);
	return 0;
}

/* Far enough ahead for any real schedule; refuses typos like a year
 * 20260 that would park a version forever. */
#define AT_MAX_AHEAD_MS (10ULL * 366 * 24 * 3600 * 1000)

int prov_number_activate(struct provision *pv,
			 const Pbx__V1__ProvRequest__ScenarioActivate *q,
			 struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *number = prov_str(q->number);
	const char *name = prov_str(q->name);
	unsigned long long now = pbx_clock_now_ms();
	char nkey[PBX_KEY_MAX], skey[PBX_KEY_MAX], when[40];
	redisReply *rep = NULL;
	long long st, v, sched;
	int err;

	err = prov_number_check_owned(pv, r, tenant, number);
	if (!err)
		err = prov_check_id(r, "scenario name", name);
	if (err)
		return err;
	if (q->at_ms > now + AT_MAX_AHEAD_MS)
		return prov_fail(r, -EINVAL,
				 "the activation time is more than 10 years "
				 "ahead");
	/* An older version may name a prompt, extension or object deleted
	 * since (only the versions that run, will run or are the latest
	 * keep theirs): refuse to make it run rather than fail its calls.
	 * A put between this check and the script only adds a newer,
	 * linted version. */
	v = q->version;
	if (!v)
		err = prov_scenario_latest(pv, tenant, name, &v);
	if (!err && v)
		err = prov_lint_runnable(pv, tenant, name, v, r);
	if (err)
		return err;
	if (pbx_key(nkey, sizeof(nkey), tenant, "number:%s", number) ||
	    pbx_key(skey, sizeof(skey), tenant, "scenario:%s", name))
		return -EINVAL;
	err = prov_store_cmd(pv, &rep, "EVAL %s 2 %s %s %llu %s %u %llu",
			     activate_lua, nkey, skey, now, name,
			     (unsigned)q->version,
			     (unsigned long long)q->at_ms);
	if (err)
		return err;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER ||
	    rep->element[2]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -EIO;
	}
	st = rep->element[0]->integer;
	v = rep->element[1]->integer;
	sched = rep->element[2]->integer;
	freeReplyObject(rep);
	if (st == -1)
		return prov_fail(r, -ENOENT, "scenario %s does not exist",
				 name);
	if (st == -2)
		return prov_fail(r, -ENOENT,
				 "scenario %s has no version %u (latest is "
				 "v%lld)",
				 name, (unsigned)q->version, v);
	if (sched) {
		prov_time_iso(when, sizeof(when), q->at_ms);
		PLOG_INFO("number %s: %s v%lld scheduled from %s", number,
			  name, v, when);
		return prov_strv_add(&r->items, "%s %s v%lld from %s", number,
				     name, v, when);
	}
	if (q->at_ms)
		prov_strv_add(&r->warnings,
			      "%s is not in the future: activated now",
			      prov_time_iso(when, sizeof(when), q->at_ms));
	PLOG_INFO("number %s: %s v%lld active", number, name, v);
	return prov_strv_add(&r->items, "%s %s v%lld", number, name, v);
}

int prov_number_rollback(struct provision *pv,
			 const Pbx__V1__ProvRequest__ScenarioRollback *q,
			 struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *number = prov_str(q->number);
	unsigned long long now = pbx_clock_now_ms();
	char key[PBX_KEY_MAX];
	redisReply *rep = NULL;
	struct prov_pair p;
	int err;

	err = prov_number_check_owned(pv, r, tenant, number);
	if (err)
		return err;
	/* The version rolled back to is the one prov_number_pair calls
	 * previous (a due schedule folded, as the script folds it). */
	err = prov_number_pair(pv, tenant, number, now, &p);
	if (!err && p.prev_scenario[0])
		err = prov_lint_runnable(pv, tenant, p.prev_scenario,
					 p.prev_version, r);
	if (err && err != -ENOENT)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "number:%s", number))
		return -EINVAL;
	err = prov_store_cmd(pv, &rep, "EVAL %s 1 %s %llu", rollback_lua, key,
			     now);
	if (err)
		return err;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -EIO;
	}
	if (rep->element[0]->integer) {
		freeReplyObject(rep);
		return prov_fail(r, -ENOENT,
				 "number %s has no previous scenario to roll "
				 "back to",
				 number);
	}
	PLOG_INFO("number %s: rolled back to %s v%s", number,
		  rep->element[1]->str ? rep->element[1]->str : "?",
		  rep->element[2]->str ? rep->element[2]->str : "?");
	err = prov_strv_add(&r->items, "%s %s v%s", number,
			    rep->element[1]->str ? rep->element[1]->str : "?",
			    rep->element[2]->str ? rep->element[2]->str : "?");
	freeReplyObject(rep);
	return err;
}

int prov_number_list(struct provision *pv,
		     const Pbx__V1__ProvRequest__TenantRef *q,
		     struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	struct prov_strv nums = {.v = NULL};
	int err;

	err = prov_tenant_members(pv, r, tenant, "numbers", &nums);
	for (size_t i = 0; !err && i < nums.n; i++) {
		char line[256];
		struct prov_pair p;
		int e = prov_number_pair(pv, tenant, nums.v[i],
					 pbx_clock_now_ms(), &p);

		if (e && e != -ENOENT) {
			err = e;
			break;
		}
		err = prov_strv_add(&r->items, "%s %s",
				    nums.v[i], pair_text(line, sizeof(line),
							 &p, e == -ENOENT));
	}
	prov_strv_reset(&nums);
	return err;
}
