/* Call forwarding of extensions: a colleague dialled extension <e> of
 * its own tenant, and <e> forwards (fields ext:<e>:fwd_always,
 * fwd_busy, fwd_noanswer, fwd_timeout of the tenant's hash
 * PBX_K_OUTBOUND; pbxctl ext set, feature codes *72, *90, *92). Decided
 * once, when the call starts:
 *  - always: the call goes to the target instead; an extension's own
 *    "always" is followed in turn (at most ROUTE_FWD_HOPS extensions;
 *    one seen twice is a loop: 482); an outside number is an outbound
 *    call of the forwarding extension (its permission, its caller ID,
 *    the tenant's classes and limits: route_outbound.c);
 *  - busy / no answer: the built-in scenario "@fwd:..." rings <e> and
 *    on busy (DND included) or no answer (or not registered) the target
 *    once, without following the target's own forwarding (so no loop);
 *    with an outside target the policy is checked and the call counted
 *    among the outbound calls at the start ("@out:fwd:..."); a target the
 *    policy refuses is dropped (logged) and <e> alone rings.
 * docs/employees.md "Forwarding". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_redis.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"

/* The fields read for one extension, in this order. */
static const char *const fwd_fields[FWD_NF] = {
	[FWD_ALWAYS] = "fwd_always",
	[FWD_BUSY] = "fwd_busy",
	[FWD_NOANSWER] = "fwd_noanswer",
	[FWD_TIMEOUT] = "fwd_timeout",
};

static void got_fields(struct route_ctx *c, redisReply *rr)
{
	struct route_fwd *f = &c->fwd;

	memset(f->v, 0, sizeof(f->v));
	if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements != FWD_NF) {
		c->err = true;
		return;
	}
	for (size_t i = 0; i < FWD_NF; i++) {
		const redisReply *e = rr->element[i];

		/* Stored canonical by provisioning or the feature codes;
		 * anything else is no target. */
		if (e->type == REDIS_REPLY_STRING &&
		    e->len < sizeof(f->v[i]) && pbx_number_valid(e->str))
			memcpy(f->v[i], e->str, e->len + 1);
	}
	f->read = true;
}

int route_forward_read(struct route_ctx *c, const char *tenant,
		       const char *ext)
{
	const char *argv[2 + FWD_NF];
	char key[PBX_KEY_MAX], names[FWD_NF][96];

	if (!pbx_id_valid(ext) ||
	    pbx_key_of(key, sizeof(key), tenant, PBX_K_OUTBOUND))
		return -EINVAL;
	argv[0] = "HMGET";
	argv[1] = key;
	for (size_t i = 0; i < FWD_NF; i++) {
		if (scenario_outbound_ext_field(names[i], sizeof(names[i]), ext,
						fwd_fields[i]))
			return -EINVAL;
		argv[2 + i] = names[i];
	}
	route_pipe_argv(c, got_fields, 2 + FWD_NF, argv);
	return 0;
}

bool route_forward_set(const struct route_ctx *c)
{
	const struct route_fwd *f = &c->fwd;

	return f->read && (f->v[FWD_ALWAYS][0] || f->v[FWD_BUSY][0] ||
			   f->v[FWD_NOANSWER][0]);
}

static bool seen(const struct route_fwd *f, const char *ext)
{
	for (int i = 0; i < f->hops; i++)
		if (!strcmp(f->seen[i], ext))
			return true;
	return false;
}

static void step(struct route_ctx *c);
static void conditional(struct route_ctx *c);

static void got_member(struct route_ctx *c, redisReply *rr)
{
	c->fwd.is_ext = rr && rr->type == REDIS_REPLY_INTEGER &&
			rr->integer == 1;
}

/* An outside target of an "always" was allowed: c->scen is
 * "@out:<number>:<caller id>". */
static void always_out(struct route_ctx *c)
{
	PLOG_INFO("extension %s forwards every call to %s", c->fwd.cur,
		  c->number);
	snprintf(c->number, sizeof(c->number), "%s", c->fwd.dialled);
	c->fwd.next(c);
}

static void always_read(struct route_ctx *c)
{
	struct route_fwd *f = &c->fwd;

	if (c->err) {
		f->rej(c, 503, "Service Unavailable");
		return;
	}
	if (f->is_ext) {
		/* f->v now holds the target's own fields. */
		snprintf(f->seen[f->hops++], sizeof(f->seen[0]), "%s",
			 f->target);
		snprintf(f->cur, sizeof(f->cur), "%s", f->target);
		step(c);
		return;
	}
	/* Not an extension: out through the trunk as a call of the
	 * forwarding extension. */
	snprintf(c->number, sizeof(c->number), "%s", f->target);
	route_outbound_call(c, f->cur, always_out, f->rej);
}

static void step(struct route_ctx *c)
{
	struct route_fwd *f = &c->fwd;
	char key[PBX_KEY_MAX];

	if (!f->v[FWD_ALWAYS][0]) {
		conditional(c);
		return;
	}
	snprintf(f->target, sizeof(f->target), "%s", f->v[FWD_ALWAYS]);
	if (seen(f, f->target) || f->hops >= ROUTE_FWD_HOPS) {
		PLOG_WARN("call forwarding of extension %s loops back to %s "
			  "(after %d extensions): refused",
			  f->dialled, f->target, f->hops);
		f->rej(c, 482, "Loop Detected (call forwarding)");
		return;
	}
	c->err = false;
	f->is_ext = false;
	if (pbx_id_valid(f->target) &&
	    !pbx_key(key, sizeof(key), c->tenant, "exts") &&
	    !route_forward_read(c, c->tenant, f->target))
		route_pipe_cmd(c, got_member, "SISMEMBER %s %s", key,
			       f->target);
	route_pipe_run(c, always_read);
}

/* An outside target in the scenario's name: always with its '+' (the
 * JSON tells the kinds apart by it, and the trunk's format starts from
 * E.164). */
static const char *mark(const struct route_fwd *f, int i, char *buf,
			size_t size)
{
	if (!(f->outside & (1 << i)) || f->v[i][0] == '+' || !f->v[i][0])
		return f->v[i];
	snprintf(buf, size, "+%s", f->v[i]);
	return buf;
}

/* The name of the built-in scenario of a conditional forward; false
 * when it does not fit (the extension then rings alone). */
static bool name_conditional(struct route_ctx *c, const char *cid)
{
	const struct route_fwd *f = &c->fwd;
	long t = f->v[FWD_TIMEOUT][0] ? strtol(f->v[FWD_TIMEOUT], NULL, 10)
				      : SCENARIO_FWD_TIMEOUT_DEF;
	char b[40], na[40];
	int n;

	if (t < SCENARIO_FWD_TIMEOUT_MIN || t > SCENARIO_FWD_TIMEOUT_MAX)
		t = SCENARIO_FWD_TIMEOUT_DEF;
	/* Without a no-answer target the extension rings as long as an
	 * internal call does. */
	if (!f->v[FWD_NOANSWER][0])
		t = 0;
	if (cid)
		n = snprintf(c->scen, sizeof(c->scen),
			     ROUTE_OUT_SCEN "fwd:%s:%ld:%s:%s:%s", f->cur, t,
			     mark(f, FWD_BUSY, b, sizeof(b)),
			     mark(f, FWD_NOANSWER, na, sizeof(na)), cid);
	else
		n = snprintf(c->scen, sizeof(c->scen),
			     ROUTE_FWD_SCEN "%s:%ld:%s:%s", f->cur, t,
			     f->v[FWD_BUSY], f->v[FWD_NOANSWER]);
	return n > 0 && (size_t)n < sizeof(c->scen);
}

static void plain(struct route_ctx *c)
{
	snprintf(c->scen, sizeof(c->scen), "@ext:%s", c->fwd.cur);
	c->version = 0;
	c->fwd.next(c);
}

static void named(struct route_ctx *c, const char *cid)
{
	if (!name_conditional(c, cid)) {
		PLOG_WARN("call forwarding of extension %s: targets too long; "
			  "ringing it alone",
			  c->fwd.cur);
		if (cid)
			route_limits_release(c->r, c->tenant, c->call_id);
		plain(c);
		return;
	}
	c->version = 0;
	PLOG_INFO("extension %s forwards on busy to '%s', on no answer to "
		  "'%s'",
		  c->fwd.cur, c->fwd.v[FWD_BUSY], c->fwd.v[FWD_NOANSWER]);
	c->fwd.next(c);
}

/* An outside conditional target allowed (and counted): the second one,
 * if any, needs only the class check with the policy just read. */
static void cond_out(struct route_ctx *c)
{
	struct route_fwd *f = &c->fwd;
	struct scenario_out_verdict v;
	char cid[SCENARIO_OUT_NUM_MAX];

	snprintf(c->number, sizeof(c->number), "%s", f->dialled);
	snprintf(cid, sizeof(cid), "%s", c->out_v.caller_id);
	for (int i = FWD_BUSY; i <= FWD_NOANSWER; i++) {
		if (!(f->outside & (1 << i)))
			continue;
		scenario_outbound_decide(&c->out_pol,
					 scenario_dest_class(f->v[i]), &v);
		if (!v.code && v.exempt) {
			v.code = 403;
			v.reason = "Forbidden (no forwarding to emergency "
				   "numbers)";
		}
		if (v.code) {
			PLOG_WARN("call forwarding of extension %s to %s "
				  "refused: %u %s; not forwarded",
				  f->cur, f->v[i], v.code, v.reason);
			f->v[i][0] = '\0';
		}
	}
	named(c, cid);
}

/* The policy refused the first outside target (or the limits did):
 * that forward is dropped, the extension still rings. */
static void cond_refused(struct route_ctx *c, unsigned code,
			 const char *reason)
{
	struct route_fwd *f = &c->fwd;

	snprintf(c->number, sizeof(c->number), "%s", f->dialled);
	for (int i = FWD_BUSY; i <= FWD_NOANSWER; i++) {
		if ((f->outside & (1 << i)) && f->v[i][0]) {
			PLOG_WARN("call forwarding of extension %s to %s "
				  "refused: %u %s; not forwarded",
				  f->cur, f->v[i], code, reason);
			f->v[i][0] = '\0';
		}
	}
	if (f->v[FWD_BUSY][0] || f->v[FWD_NOANSWER][0])
		named(c, NULL);
	else
		plain(c);
}

static void got_busy_ext(struct route_ctx *c, redisReply *rr)
{
	if (!(rr && rr->type == REDIS_REPLY_INTEGER && rr->integer == 1))
		c->fwd.outside |= 1 << FWD_BUSY;
}

static void got_na_ext(struct route_ctx *c, redisReply *rr)
{
	if (!(rr && rr->type == REDIS_REPLY_INTEGER && rr->integer == 1))
		c->fwd.outside |= 1 << FWD_NOANSWER;
}

static void cond_read(struct route_ctx *c)
{
	struct route_fwd *f = &c->fwd;

	if (c->err) {
		f->rej(c, 503, "Service Unavailable");
		return;
	}
	for (int i = FWD_BUSY; i <= FWD_NOANSWER; i++) {
		if (!(f->outside & (1 << i)))
			continue;
		/* The first outside target goes through the whole policy
		 * and the limits. */
		snprintf(c->number, sizeof(c->number), "%s", f->v[i]);
		route_outbound_call(c, f->cur, cond_out, cond_refused);
		return;
	}
	named(c, NULL);
}

static void conditional(struct route_ctx *c)
{
	static route_pipe_h *const member_h[FWD_NF] = {
		[FWD_BUSY] = got_busy_ext,
		[FWD_NOANSWER] = got_na_ext,
	};
	struct route_fwd *f = &c->fwd;
	char key[PBX_KEY_MAX];

	if (!f->v[FWD_BUSY][0] && !f->v[FWD_NOANSWER][0]) {
		plain(c);
		return;
	}
	c->err = false;
	f->outside = 0;
	if (pbx_key(key, sizeof(key), c->tenant, "exts")) {
		f->rej(c, 503, "Service Unavailable");
		return;
	}
	for (int i = FWD_BUSY; i <= FWD_NOANSWER; i++) {
		/* Forwarding to itself is ringing it longer: no forward. */
		if (!strcmp(f->v[i], f->cur))
			f->v[i][0] = '\0';
		if (f->v[i][0])
			route_pipe_cmd(c, member_h[i], "SISMEMBER %s %s", key,
				       f->v[i]);
	}
	route_pipe_run(c, cond_read);
}

void route_forward_call(struct route_ctx *c, route_next_h *next,
			void (*rej)(struct route_ctx *c, unsigned code,
				    const char *reason))
{
	struct route_fwd *f = &c->fwd;

	f->next = next;
	f->rej = rej;
	snprintf(f->dialled, sizeof(f->dialled), "%s", c->number);
	snprintf(f->cur, sizeof(f->cur), "%s", c->number);
	snprintf(f->seen[0], sizeof(f->seen[0]), "%s", c->number);
	f->hops = 1;
	step(c);
}

/* ---- the built-in scenario ------------------------------------------ */

/* One subscriber node: an extension of the tenant, or an outside number
 * in E.164 with the caller ID. */
static int node(char *out, size_t size, const char *name, const char *target,
		const char *cid)
{
	if (!cid)
		return snprintf(out, size,
				",\"%s\":{\"type\":\"subscriber\",\"options\":"
				"{\"kind\":\"internal\",\"target\":\"%s\"}}",
				name, target);
	return snprintf(out, size,
			",\"%s\":{\"type\":\"subscriber\",\"options\":{"
			"\"kind\":\"%s\",\"target\":\"%s\",\"caller_id\":"
			"\"%s%s\"}}",
			name,
			scenario_dest_class(target + 1) == SCENARIO_DEST_MOBILE
				? "mobile"
				: "external",
			target, cid[0] == '+' ? "" : "+", cid);
}

int route_forward_json(const char *scen, char *json, size_t size)
{
	char buf[160], *field[6] = {NULL}, *p, timeout[24] = "";
	const char *cid = NULL;
	size_t nf = 0, off;
	bool out = !strncmp(scen, ROUTE_OUT_SCEN "fwd:",
			    strlen(ROUTE_OUT_SCEN "fwd:"));
	int n;

	p = (char *)scen + (out ? strlen(ROUTE_OUT_SCEN "fwd:")
				: strlen(ROUTE_FWD_SCEN));
	if (strlen(p) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, p);
	/* <ext>:<timeout>:<busy>:<noanswer>[:<caller id>] */
	for (p = buf; nf < 6;) {
		field[nf++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (nf != (out ? 5u : 4u) || !pbx_id_valid(field[0]) ||
	    (field[2][0] && !pbx_number_valid(field[2])) ||
	    (field[3][0] && !pbx_number_valid(field[3])))
		return -EINVAL;
	if (out) {
		if (!pbx_number_valid(field[4]))
			return -EINVAL;
		cid = field[4];
	}
	if (strtol(field[1], NULL, 10) > 0)
		snprintf(timeout, sizeof(timeout), ",\"timeout\":%ld",
			 strtol(field[1], NULL, 10));
	/* Made from checked ids and numbers only: no JSON escaping. An
	 * extension target rings as a colleague (the caller's number), an
	 * outside one ('+') with the caller ID the policy chose. */
	n = snprintf(json, size,
		     "{\"start\":\"r\",\"nodes\":{\"r\":{\"type\":"
		     "\"subscriber\",\"options\":{\"kind\":\"internal\","
		     "\"target\":\"%s\"%s},\"outputs\":{%s%s%s}}",
		     field[0], timeout, field[2][0] ? "\"busy\":\"b\"" : "",
		     field[2][0] && field[3][0] ? "," : "",
		     field[3][0] ? "\"no_answer\":\"n\",\"unavailable\":\"n\""
				 : "");
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	off = (size_t)n;
	for (int i = 2; i <= 3; i++) {
		bool outside = field[i][0] == '+';

		if (!field[i][0])
			continue;
		if (outside && !cid)
			return -EINVAL;
		n = node(json + off, size - off, i == 2 ? "b" : "n", field[i],
			 outside ? cid : NULL);
		if (n < 0 || (size_t)n >= size - off)
			return -ENAMETOOLONG;
		off += (size_t)n;
	}
	n = snprintf(json + off, size - off, "}}");
	return n < 0 || (size_t)n >= size - off ? -ENAMETOOLONG : 0;
}
