/* Call pickup (docs/employees.md "Pickup"): the tenant's ringing
 * extension legs in Redis, and the choice of the one a picker's "*8"
 * (the group's oldest) or "*8<ext>" (that extension's) takes.
 *
 *  - ringing: when the walk rings an extension (the call's one ring, not
 *    a queue's named legs), one script notes the call under the
 *    extension's pickup group ("*" none) with the ring's start and the
 *    call's worker, and marks the call record (`pk`), so that its ring
 *    result and its end remove the note (forget). Fire and forget: a
 *    lost note only makes that call impossible to pick up.
 *  - claim: on the picker's CallNew, one script drops notes older than
 *    ROUTE_PICKUP_MAX_AGE_MS (a safety net beside the keys' TTL), then
 *    takes (removes) the oldest note of the picker's group, or of the
 *    dialled extension: of two pickers at once exactly one gets it. The
 *    picker's call then goes to that worker (route_call.c) and, at its
 *    INCOMING, the worker gets MediaCommand.Pickup (route_feature.c);
 *    the worker checks the call still rings (a colleague who answered
 *    meanwhile wins: the picker gets 404).
 * Only the picker's own tenant's keys are read (its tenant comes from
 * Kamailio's authentication), so no other tenant's call can be taken. */
#include <stdio.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario_outbound.h"

/* A note older than this is stale (its result was lost): longer than
 * any ring a worker allows. */
#define ROUTE_PICKUP_MAX_AGE_MS (10 * 60 * 1000)
/* The keys' TTL, renewed by every note: a tenant's notes go away on
 * their own once nothing rings. */
#define ROUTE_PICKUP_TTL_S 900
/* Notes a claim looks at, oldest first. */
#define ROUTE_PICKUP_SCAN "199"

/* KEYS: the outbound hash, the ring set, the info hash, the call record;
 * ARGV: the extension's group field, call id, extension, worker, now,
 * TTL. The record is marked only while it exists (never made up). */
static const char ringing_lua[] =
	"local g = redis.call('HGET', KEYS[1], ARGV[1]) "
	"if not g or g == '' then g = '*' end "
	"redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2]) "
	"redis.call('HSET', KEYS[3], ARGV[2], g .. ' ' .. ARGV[3] .. ' ' .. "
	"ARGV[4]) "
	"redis.call('EXPIRE', KEYS[2], ARGV[6]) "
	"redis.call('EXPIRE', KEYS[3], ARGV[6]) "
	"if redis.call('EXISTS', KEYS[4]) == 1 then "
	"redis.call('HSET', KEYS[4], 'pk', '1') end "
	"return 0";

/* KEYS: the outbound hash, the ring set, the info hash; ARGV: the
 * picker's group field, now, the maximum age, the extension asked for
 * ("" the group's oldest), the picker. {call id, extension, worker}; -1
 * the picker has no group (and asked for none); 0 nothing rings. */
static const char claim_lua[] =
	"local now = tonumber(ARGV[2]) "
	"for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', "
	"now - tonumber(ARGV[3]))) do "
	"redis.call('ZREM', KEYS[2], m) redis.call('HDEL', KEYS[3], m) end "
	"local g = false "
	"if ARGV[4] == '' then "
	"g = redis.call('HGET', KEYS[1], ARGV[1]) "
	"if not g or g == '' then return -1 end end "
	"for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, " ROUTE_PICKUP_SCAN
	")) do "
	"local v = redis.call('HGET', KEYS[3], m) "
	"if not v then redis.call('ZREM', KEYS[2], m) else "
	"local grp, ext, w = string.match(v, '^(%S+) (%S+) (%S+)$') "
	"if grp and ext ~= ARGV[5] and ((g and grp == g) or "
	"(not g and ext == ARGV[4])) then "
	"redis.call('ZREM', KEYS[2], m) redis.call('HDEL', KEYS[3], m) "
	"return {m, ext, w} end end end "
	"return 0";

static int keys(const char *tenant, char *kout, char *kring, char *kinfo)
{
	return pbx_key_of(kout, PBX_KEY_MAX, tenant, PBX_K_OUTBOUND) ||
	       pbx_key_of(kring, PBX_KEY_MAX, tenant, PBX_K_PICKUP_RING) ||
	       pbx_key_of(kinfo, PBX_KEY_MAX, tenant, PBX_K_PICKUP_INFO);
}

void route_pickup_ringing(struct route_ctx *c, const char *ext)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char kout[PBX_KEY_MAX], kring[PBX_KEY_MAX], kinfo[PBX_KEY_MAX];
	char kcall[PBX_KEY_MAX], field[96], now[24], ttl[12];
	const char *argv[] = {"EVAL", ringing_lua, "4", kout,	kring,
			      kinfo,  kcall,	   field, c->call_id, ext,
			      c->worker_id, now,   ttl};

	/* Ids only: a note's fields are split on spaces. */
	if (!ac || !pbx_id_valid(ext) || !pbx_id_valid(c->worker_id) ||
	    strchr(c->call_id, ' ') || keys(c->tenant, kout, kring, kinfo) ||
	    pbx_key(kcall, sizeof(kcall), c->tenant, "call:%s", c->call_id) ||
	    scenario_outbound_ext_field(field, sizeof(field), ext,
					"pickup_group"))
		return;
	snprintf(now, sizeof(now), "%llu",
		 (unsigned long long)pbx_clock_now_ms());
	snprintf(ttl, sizeof(ttl), "%d", ROUTE_PICKUP_TTL_S);
	pbx_redis_acmd_argv(ac, NULL, NULL, (int)(sizeof(argv) / sizeof(*argv)),
			      argv, NULL);
}

void route_pickup_forget(struct router *r, const char *tenant,
			 const char *call_id)
{
	redisAsyncContext *ac = pbx_redis_ctx(r->redis);
	char kout[PBX_KEY_MAX], kring[PBX_KEY_MAX], kinfo[PBX_KEY_MAX];

	if (!ac || keys(tenant, kout, kring, kinfo))
		return;
	pbx_redis_acmd(ac, NULL, NULL, "ZREM %s %s", kring, call_id);
	pbx_redis_acmd(ac, NULL, NULL, "HDEL %s %s", kinfo, call_id);
}

static void got_claim(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type == REDIS_REPLY_ERROR) {
		c->err = true;
		return;
	}
	c->pk_none = 0;
	if (rr->type == REDIS_REPLY_INTEGER) {
		c->pk_none = rr->integer < 0 ? 2 : 1;
		return;
	}
	if (rr->type != REDIS_REPLY_ARRAY || rr->elements != 3 ||
	    rr->element[0]->type != REDIS_REPLY_STRING ||
	    rr->element[1]->type != REDIS_REPLY_STRING ||
	    rr->element[2]->type != REDIS_REPLY_STRING ||
	    rr->element[0]->len >= sizeof(c->pk_call) ||
	    !pbx_id_valid(rr->element[2]->str)) {
		c->pk_none = 1;
		return;
	}
	snprintf(c->pk_call, sizeof(c->pk_call), "%s", rr->element[0]->str);
	snprintf(c->pk_ext, sizeof(c->pk_ext), "%s", rr->element[1]->str);
	snprintf(c->pk_worker, sizeof(c->pk_worker), "%s",
		 rr->element[2]->str);
}

static void claimed(struct route_ctx *c)
{
	if (c->err) {
		c->fc_rej(c, 503, "Service Unavailable");
		return;
	}
	if (c->pk_none) {
		PLOG_INFO("pickup by extension %s%s%s: nothing to pick up%s",
			  c->caller, c->pk_ext[0] ? " of " : "", c->pk_ext,
			  c->pk_none == 2 ? " (no pickup group)" : "");
		c->fc_rej(c, 404,
			  c->pk_none == 2
				  ? "Not Found (nothing to pick up: no pickup "
				    "group)"
				  : "Not Found (nothing to pick up)");
		return;
	}
	PLOG_INFO("pickup by extension %s: call %s ringing %s on %s",
		  c->caller, c->pk_call, c->pk_ext, c->pk_worker);
	c->fc_next(c);
}

void route_pickup_claim(struct route_ctx *c, const char *target,
			route_next_h *next,
			void (*rej)(struct route_ctx *c, unsigned code,
				    const char *reason))
{
	char kout[PBX_KEY_MAX], kring[PBX_KEY_MAX], kinfo[PBX_KEY_MAX];
	char field[96], now[24], age[24];
	const char *argv[] = {"EVAL", claim_lua, "3",	 kout,	   kring,
			      kinfo,  field,	 now,	 age,	   target,
			      c->caller};

	c->fc_next = next;
	c->fc_rej = rej;
	c->err = false;
	c->waiting = 0;
	c->pk_call[0] = c->pk_worker[0] = '\0';
	snprintf(c->pk_ext, sizeof(c->pk_ext), "%s", target);
	/* "*8<ext>": an extension of the tenant, as every id is written. */
	if (target[0] && !pbx_id_valid(target)) {
		rej(c, 404, "Not Found (nothing to pick up)");
		return;
	}
	if (keys(c->tenant, kout, kring, kinfo) ||
	    scenario_outbound_ext_field(field, sizeof(field), c->caller,
					"pickup_group")) {
		rej(c, 403, "Forbidden");
		return;
	}
	snprintf(now, sizeof(now), "%llu",
		 (unsigned long long)pbx_clock_now_ms());
	snprintf(age, sizeof(age), "%d", ROUTE_PICKUP_MAX_AGE_MS);
	route_pipe_argv(c, got_claim, sizeof(argv) / sizeof(*argv), argv);
	route_pipe_run(c, claimed);
}
