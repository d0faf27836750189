/* Per-tenant limits on live calls: concurrent calls and new calls per
 * second, checked and counted in one Lua script on the tenant's slot when
 * the router places a call (docs/services/router.md "Limits"); the same
 * script counts outbound calls of extensions (route_outbound.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_limits.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"

/* KEYS: a sorted set of live entries scored by expiry, this period's
 * counter. ARGV: now_ms, call id, expiry ms of the entry, the set's
 * limit, the counter's limit, set TTL ms, counter TTL ms. Returns 0
 * counted, 1 over the set's limit, 2 over the rate. Entries past their
 * expiry (a call whose end was never reported) drop out. The limits come
 * from facts the router read anyway (not keys of the script: the
 * router's Redis user may only read the tenant's hashes). */
static const char take_lua[] =
	"local maxc = tonumber(ARGV[4]) "
	"local maxr = tonumber(ARGV[5]) "
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) "
	"if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end "
	"if redis.call('ZCARD', KEYS[1]) >= maxc then return 1 end "
	"local n = redis.call('INCR', KEYS[2]) "
	"if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[7]) end "
	"if n > maxr then return 2 end "
	"redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2]) "
	"redis.call('PEXPIRE', KEYS[1], ARGV[6]) "
	"return 0";

static void got_take(struct route_ctx *c, redisReply *rr)
{
	if (rr && rr->type == REDIS_REPLY_INTEGER)
		c->limited = (int)rr->integer;
	else
		PLOG_WARN("limits not checked: %s",
			  rr && rr->type == REDIS_REPLY_ERROR ? rr->str
							      : "no reply");
}

void route_limits_count(struct route_ctx *c, const char *kset,
			const char *kctr, long max_set, long max_rate,
			long long ctr_ttl_ms, route_next_h *next)
{
	unsigned long long now = pbx_clock_now_ms();
	long long ttl_ms = c->r->cfg->call_ttl_s * 1000LL;

	c->limited = 0;
	c->err = false;
	c->waiting = 0;
	route_pipe_cmd(c, got_take,
		       "EVAL %s 2 %s %s %llu %s %llu %ld %ld %lld %lld",
		       take_lua, kset, kctr, now, c->call_id,
		       now + ROUTE_SETUP_TTL_S * 1000ULL, max_set, max_rate,
		       ttl_ms, ctr_ttl_ms);
	route_pipe_run(c, next);
}

void route_limits_take(struct route_ctx *c, route_next_h *next)
{
	unsigned long long now = pbx_clock_now_ms();
	char kact[PBX_KEY_MAX], kcps[PBX_KEY_MAX];

	if (pbx_key(kact, sizeof(kact), c->tenant, "active") ||
	    pbx_key(kcps, sizeof(kcps), c->tenant, "cps:%llu", now / 1000)) {
		c->limited = 0;
		next(c);
		return;
	}
	route_limits_count(c, kact, kcps, c->limit_calls, c->limit_cps, 2000,
			   next);
}

void route_limits_extend(struct router *r, const char *tenant,
			 const char *call_id, bool outbound)
{
	redisAsyncContext *ac = pbx_redis_ctx(r->redis);
	unsigned long long until =
		pbx_clock_now_ms() + r->cfg->call_ttl_s * 1000ULL;
	char key[PBX_KEY_MAX];

	if (ac && !pbx_key(key, sizeof(key), tenant, "active"))
		pbx_redis_acmd(ac, NULL, NULL, "ZADD %s XX %llu %s", key,
				  until, call_id);
	/* An outbound call (route_outbound.c) is counted there too. */
	if (ac && outbound &&
	    !pbx_key_of(key, sizeof(key), tenant, PBX_K_OUT_LEGS))
		pbx_redis_acmd(ac, NULL, NULL, "ZADD %s XX %llu %s", key,
				  until, call_id);
}

void route_limits_release(struct router *r, const char *tenant,
			  const char *call_id)
{
	redisAsyncContext *ac = pbx_redis_ctx(r->redis);
	char key[PBX_KEY_MAX];

	if (ac && !pbx_key(key, sizeof(key), tenant, "active"))
		pbx_redis_acmd(ac, NULL, NULL, "ZREM %s %s", key, call_id);
	/* Whatever the call was: the reaper and the end of a call do not
	 * know its scenario, and a ZREM of no member costs nothing. */
	if (ac && !pbx_key_of(key, sizeof(key), tenant, PBX_K_OUT_LEGS))
		pbx_redis_acmd(ac, NULL, NULL, "ZREM %s %s", key, call_id);
}
