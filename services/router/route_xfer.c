/* Transfer (issue 16, docs/employees.md "Transfer"): a worker accepted the
 * REFER of an extension bridged on one of its calls (KIND_TRANSFER) and
 * asks where to. The transferor must be an extension of the call's
 * tenant, the Refer-To host no other tenant's domain; the target is
 * written in the one canonical form (scenario_number_canon): one of the
 * tenant's extensions is rung in the tenant's domain, anything else is an
 * outbound call under the tenant's policy and limits (route_outbound.c),
 * with the tenant's caller ID. The answer is MediaCommand.transfer (a
 * Ring) or transfer_refuse (the phone gets the code in a NOTIFY). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"

/* The call record's view of a transfer (route_cdr.c): fields of the call
 * hash beside the walk's, so no compare-and-set step is needed. "xf" =
 * "<ms> <transferor> <target>" when the target rings, "xfr" = "<ms>
 * <result>" when it ended; a later transfer of the call replaces both. */
static void note(struct route_ctx *c, const char *field, const char *a,
		 const char *b)
{
	redisAsyncContext *ac = pbx_redis_ctx(c->r->redis);
	char key[PBX_KEY_MAX], v[160];

	if (!ac || pbx_key(key, sizeof(key), c->tenant, "call:%s", c->call_id))
		return;
	snprintf(v, sizeof(v), "%llu %s%s%s",
		 (unsigned long long)pbx_clock_now_ms(), a, b ? " " : "",
		 b ? b : "");
	pbx_redis_acmd(ac, NULL, NULL, "HSET %s %s %s", key, field, v);
}

/* The target rings this long (the worker caps it at its
 * ring_timeout_max_ms); then the caller is back with the transferor. */
#define XFER_RING_MS 30000

static void refuse(struct route_ctx *c, unsigned code, const char *reason)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__TransferRefuse tr =
		PBX__V1__MEDIA_COMMAND__TRANSFER_REFUSE__INIT;

	PLOG_WARN("transfer by extension %s to %s refused: %u %s",
		  c->caller[0] ? c->caller : "?",
		  c->number[0] ? c->number : "?", code, reason);
	tr.sip_code = code;
	tr.reason = (char *)reason;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_TRANSFER_REFUSE;
	cmd.transfer_refuse = &tr;
	route_media_send(c->r, c->worker_id, c->tenant, c->call_id, 0, &cmd);
	route_ctx_free(c);
}

static void out_refused(struct route_ctx *c, unsigned code,
			const char *reason)
{
	refuse(c, code, reason);
}

static void ring(struct route_ctx *c, const char *target, const char *kind,
		 const char *caller_id)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__Ring rg = PBX__V1__MEDIA_COMMAND__RING__INIT;
	bool ext = !strcmp(kind, "extension");
	char uri[320];

	/* Extensions in the tenant's domain (Kamailio finds them there);
	 * numbers through the carrier trunk, which X-Pbx-Dest picks. */
	snprintf(uri, sizeof(uri), "sip:%s@%s%s", target, c->domain,
		 ext ? "" : ";user=phone");
	rg.target_uri = uri;
	rg.timeout_ms = XFER_RING_MS;
	rg.caller_id = (char *)caller_id;
	rg.caller_name = (char *)"";
	rg.dest_kind = (char *)kind;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_TRANSFER;
	cmd.transfer = &rg;
	PLOG_INFO("transfer by extension %s: ring %s %s", c->caller, kind,
		  target);
	note(c, "xf", c->caller, target);
	route_media_send(c->r, c->worker_id, c->tenant, c->call_id, 0, &cmd);
	route_ctx_free(c);
}

/* "+" before a full number (the trunk's format starts from E.164); an
 * emergency or short number as dialled. */
static const char *plus(const char *num)
{
	enum scenario_dest d = scenario_dest_class(num);

	return num[0] != '+' && d != SCENARIO_DEST_EMERGENCY &&
			       d != SCENARIO_DEST_SHORT
		       ? "+"
		       : "";
}

static void out_allowed(struct route_ctx *c)
{
	char target[40], cid[40];

	snprintf(target, sizeof(target), "%s%s", plus(c->number), c->number);
	snprintf(cid, sizeof(cid), "%s%s", plus(c->out_v.caller_id),
		 c->out_v.caller_id);
	ring(c, target,
	     c->out_dest == SCENARIO_DEST_MOBILE ? "mobile" : "external", cid);
}

static void got_domain(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type == REDIS_REPLY_ERROR)
		c->err = true;
	else if (rr->type == REDIS_REPLY_STRING)
		snprintf(c->domain, sizeof(c->domain), "%s", rr->str);
}

static void got_by(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type != REDIS_REPLY_INTEGER)
		c->err = true;
	else
		c->xf_by_ext = rr->integer == 1;
}

static void got_to(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type != REDIS_REPLY_INTEGER)
		c->err = true;
	else
		c->xf_to_ext = rr->integer == 1;
}

static void got_owner(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type == REDIS_REPLY_ERROR)
		c->err = true;
	else if (rr->type == REDIS_REPLY_STRING)
		c->xf_foreign = strcmp(rr->str, c->tenant) != 0;
}

static void facts_done(struct route_ctx *c)
{
	if (c->err || !c->domain[0]) {
		refuse(c, 503, "Service Unavailable");
		return;
	}
	if (!c->xf_by_ext) {
		refuse(c, 403, "Forbidden (the transferor is not an extension)");
		return;
	}
	if (c->xf_foreign) {
		refuse(c, 403, "Forbidden (another tenant's domain)");
		return;
	}
	if (c->xf_to_ext) {
		ring(c, c->number, "extension", "");
		return;
	}
	route_outbound_call(c, c->caller, out_allowed, out_refused);
}

/* The Refer-To host as a domain key: lower case, no trailing dot; false
 * when it cannot be a host name or address. */
static bool host_of(const char *in, char *out, size_t size)
{
	size_t n = in ? strlen(in) : 0;

	if (!n || n >= size)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_' &&
		    ch != ':' && ch != '[' && ch != ']')
			return false;
		out[i] = (char)tolower(ch);
	}
	out[n] = '\0';
	if (out[n - 1] == '.')
		out[n - 1] = '\0';
	return out[0] != '\0';
}

void route_xfer_event(struct route_ctx *c, const Pbx__V1__MediaEvent *me)
{
	char key[PBX_KEY_MAX], host[256];

	c->xf_by_ext = c->xf_to_ext = c->xf_foreign = false;
	if (!me->caller || !pbx_id_valid(me->caller)) {
		refuse(c, 403, "Forbidden (the transferor is not an extension)");
		return;
	}
	snprintf(c->caller, sizeof(c->caller), "%s", me->caller);
	if (!host_of(me->transfer_host, host, sizeof(host))) {
		refuse(c, 400, "Bad Request (Refer-To host)");
		return;
	}
	if (!me->dialed ||
	    scenario_number_canon(me->dialed, c->number, sizeof(c->number)) <
		    0) {
		refuse(c, 404, "Not Found");
		return;
	}
	PLOG_INFO("transfer by extension %s to %s@%s", c->caller, c->number,
		  host);
	if (pbx_key(key, sizeof(key), c->tenant, "tenant")) {
		refuse(c, 503, "Service Unavailable");
		return;
	}
	route_pipe_cmd(c, got_domain, "HGET %s domain", key);
	if (!pbx_key(key, sizeof(key), c->tenant, "exts")) {
		route_pipe_cmd(c, got_by, "SISMEMBER %s %s", key, c->caller);
		route_pipe_cmd(c, got_to, "SISMEMBER %s %s", key, c->number);
	}
	if (!pbx_key_sys(key, sizeof(key), "domain:%s", host))
		route_pipe_cmd(c, got_owner, "GET %s", key);
	route_pipe_run(c, facts_done);
}

void route_xfer_done(struct route_ctx *c, const Pbx__V1__MediaEvent *me)
{
	static const char *const results[] = {
		[PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED] = "answered",
		[PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER] = "no_answer",
		[PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY] = "busy",
		[PBX__V1__MEDIA_EVENT__RING_RESULT__RING_UNAVAILABLE] =
			"unavailable",
	};
	const char *res = me->ring_result >= 0 &&
					  (size_t)me->ring_result <
						  sizeof(results) /
							  sizeof(results[0]) &&
				  results[me->ring_result]
			  ? results[me->ring_result]
			  : "failed";

	/* An attended transfer is the worker's alone: no TRANSFER came. */
	if (me->detail && !strcmp(me->detail, "attended transfer"))
		note(c, "xf", "-", "attended");
	note(c, "xfr", res, NULL);
	PLOG_INFO("transfer %s (ring result %d, sip %u%s%s)",
		  me->ring_result ==
				  PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED
			  ? "done"
			  : "failed",
		  me->ring_result, me->sip_code,
		  me->detail && me->detail[0] ? ": " : "",
		  me->detail ? me->detail : "");
	route_ctx_free(c);
}
