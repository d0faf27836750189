/* Outbound calls of extensions: an extension of a tenant dialled a
 * number that is neither one of its tenant's extensions nor a number
 * connected on the platform. The tenant's policy (the destination class
 * allowed, the extension's permission, the caller ID, which must still
 * be the tenant's number) and its outbound limits (concurrent calls,
 * calls per minute: PBX_K_OUT_LEGS, PBX_K_OUT_CPM) decide; an allowed
 * call becomes a call of the built-in scenario "@out:<number>:<caller
 * id>": a media worker anchors it and rings the number through the
 * carrier trunk (X-Pbx-Dest external or mobile), like a scenario's
 * subscriber node would (docs/employees.md "Outbound calls"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"

/* The minute counter outlives its minute a little (clock skew between
 * routers). */
#define OUT_CPM_TTL_MS 120000

static void refuse(struct route_ctx *c, unsigned code, const char *reason)
{
	/* A mistyped extension is no policy matter. */
	if (code == 404 || code == 484)
		PLOG_INFO("call from extension %s to %s (%s): %u %s", c->caller,
			  c->number, scenario_dest_name(c->out_dest), code,
			  reason);
	else
		PLOG_WARN("outbound call from extension %s to %s (%s) refused: "
			  "%u %s",
			  c->caller, c->number,
			  scenario_dest_name(c->out_dest), code, reason);
	c->out_rej(c, code, reason);
}

static void go(struct route_ctx *c)
{
	const struct scenario_out_verdict *v = &c->out_v;

	snprintf(c->scen, sizeof(c->scen), ROUTE_OUT_SCEN "%s:%s", c->number,
		 v->caller_id);
	c->version = 0;
	PLOG_INFO("outbound call from extension %s to %s (%s) as %s%s",
		  c->caller, c->number, scenario_dest_name(c->out_dest),
		  v->caller_id, v->exempt ? ", exempt from the limits" : "");
	c->out_next(c);
}

static void counted(struct route_ctx *c)
{
	if (c->limited == 1) {
		refuse(c, 486, "Busy Here (Outbound Call Limit)");
		return;
	}
	if (c->limited == 2) {
		refuse(c, 503, "Service Unavailable (Outbound Rate Limit)");
		return;
	}
	go(c);
}

static void got_owner(struct route_ctx *c, redisReply *rr)
{
	c->missing = !rr || rr->type != REDIS_REPLY_STRING ||
		     strcmp(rr->str, c->tenant);
}

static void owner_done(struct route_ctx *c)
{
	unsigned long long minute = pbx_clock_now_ms() / 60000;
	char kset[PBX_KEY_MAX], kctr[PBX_KEY_MAX], sub[24];

	if (c->err) {
		refuse(c, 503, "Service Unavailable");
		return;
	}
	/* Set while the tenant owned it; a number disconnected since is
	 * nobody's caller ID. */
	if (c->missing) {
		refuse(c, 403, "Forbidden (caller ID is not the tenant's "
			       "number)");
		return;
	}
	if (c->out_v.exempt) {
		go(c);
		return;
	}
	snprintf(sub, sizeof(sub), "%llu", minute);
	if (pbx_key_of(kset, sizeof(kset), c->tenant, PBX_K_OUT_LEGS) ||
	    pbx_key_sub_of(kctr, sizeof(kctr), c->tenant, PBX_K_OUT_CPM,
			   sub)) {
		refuse(c, 503, "Service Unavailable");
		return;
	}
	route_limits_count(c, kset, kctr, c->out_pol.max_legs, c->out_pol.cpm,
			   OUT_CPM_TTL_MS, counted);
}

static void got_policy(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type != REDIS_REPLY_ARRAY ||
	    rr->elements != scenario_out_nfields + SCENARIO_OUT_EXT_FIELDS) {
		c->err = true;
		return;
	}
	for (size_t i = 0; i < rr->elements; i++)
		scenario_outbound_apply(&c->out_pol, i,
					rr->element[i]->type ==
							REDIS_REPLY_STRING
						? rr->element[i]->str
						: NULL);
}

static void policy_done(struct route_ctx *c)
{
	char key[PBX_KEY_MAX];

	if (c->err) {
		refuse(c, 503, "Service Unavailable");
		return;
	}
	scenario_outbound_decide(&c->out_pol, c->out_dest, &c->out_v);
	if (c->out_v.code) {
		refuse(c, c->out_v.code, c->out_v.reason);
		return;
	}
	c->missing = false;
	if (pbx_key_sys(key, sizeof(key), "did:%s", c->out_v.caller_id)) {
		refuse(c, 503, "Service Unavailable");
		return;
	}
	route_pipe_cmd(c, got_owner, "GET %s", key);
	route_pipe_run(c, owner_done);
}

void route_outbound_call(struct route_ctx *c, const char *ext,
			 route_next_h *next,
			 void (*rej)(struct route_ctx *c, unsigned code,
				     const char *reason))
{
	const char *argv[3 + 8 + SCENARIO_OUT_EXT_FIELDS];
	char key[PBX_KEY_MAX], f_out[96], f_cid[96];
	size_t argc = 0;

	c->out_next = next;
	c->out_rej = rej;
	c->out_dest = scenario_dest_class(c->number);
	c->err = false;
	c->waiting = 0;
	scenario_outbound_init(&c->out_pol);
	/* No Redis for what no policy can allow. */
	if (c->out_dest == SCENARIO_DEST_SHORT ||
	    c->out_dest == SCENARIO_DEST_INVALID) {
		policy_done(c);
		return;
	}
	if (!pbx_id_valid(ext) ||
	    pbx_key_of(key, sizeof(key), c->tenant, PBX_K_OUTBOUND) ||
	    scenario_outbound_ext_field(f_out, sizeof(f_out), ext,
					"outbound") ||
	    scenario_outbound_ext_field(f_cid, sizeof(f_cid), ext,
					"caller_id") ||
	    scenario_out_nfields > 8) {
		refuse(c, 403, "Forbidden");
		return;
	}
	/* One HMGET: the table's fields in order, then the extension's. */
	argv[argc++] = "HMGET";
	argv[argc++] = key;
	for (size_t i = 0; i < scenario_out_nfields; i++)
		argv[argc++] = scenario_out_fields[i].name;
	argv[argc++] = f_out;
	argv[argc++] = f_cid;
	route_pipe_argv(c, got_policy, argc, argv);
	route_pipe_run(c, policy_done);
}

static const char *plus(const char *num, enum scenario_dest d)
{
	return num[0] != '+' && d != SCENARIO_DEST_EMERGENCY &&
			       d != SCENARIO_DEST_SHORT
		       ? "+"
		       : "";
}

int route_scen_numbers(const char *p, char *num, char *cid, size_t size,
		       bool cid_needed)
{
	const char *colon = strchr(p, ':');

	if (!colon || (size_t)(colon - p) >= size ||
	    strlen(colon + 1) >= size)
		return -EINVAL;
	memcpy(num, p, (size_t)(colon - p));
	num[colon - p] = '\0';
	snprintf(cid, size, "%s", colon + 1);
	/* Made from checked numbers only: no JSON escaping. */
	if (!pbx_number_valid(num) ||
	    ((cid_needed || cid[0]) && !pbx_number_valid(cid)))
		return -EINVAL;
	return 0;
}

int route_outbound_json(const char *scen, char *json, size_t size)
{
	char num[SCENARIO_OUT_NUM_MAX], cid[SCENARIO_OUT_NUM_MAX];
	enum scenario_dest d;
	int n;

	if (route_scen_numbers(scen + strlen(ROUTE_OUT_SCEN), num, cid,
			       sizeof(num), true))
		return -EINVAL;
	d = scenario_dest_class(num);
	/* Full numbers go out in E.164 with their '+' (the trunk's format
	 * starts from it); an emergency number as dialled. No timeout: the
	 * worker's longest ring (ring_timeout_max_ms), as for "@ext:". */
	n = snprintf(json, size,
		     "{\"start\":\"ring\",\"nodes\":{\"ring\":{\"type\":"
		     "\"subscriber\",\"options\":{\"kind\":\"%s\","
		     "\"target\":\"%s%s\",\"caller_id\":\"%s%s\"}}}}",
		     d == SCENARIO_DEST_MOBILE ? "mobile" : "external",
		     plus(num, d), num, plus(cid, scenario_dest_class(cid)), cid);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
