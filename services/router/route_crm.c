/* The CRM's side of a live call (issue 14): the walk's CRM_LOOKUP goes to
 * a live crm-connector (CrmLookup), its CrmResult continues the walk
 * (owner: the walk rings that extension, or that number through the
 * tenant's trunk; not_found / error: the node's outputs). The walk's own lookup timer, on the call's worker, is the
 * router's deadline: with no connector alive, or one that never answers,
 * the call takes crm_error at lookup_timeout all the same (at once when
 * no connector is alive). After the call the connector is told how it
 * went (CrmCallLog), to log it in the CRM.
 *
 * The call record keeps it in one field, `crm`:
 *   "<crm> <node> <lookup started ms> <owner answered ms, 0> <ext|-> <user|->"
 * where an owner number is "+<digits>" (scenario_agent_number: an
 * extension never starts with "+").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "route_ctx.h"
#include "router.h"
#include "scenario.h"

#define RES(x) PBX__V1__CRM_RESULT__KIND__KIND_##x

struct crm_rec {
	char crm[16];
	char node[65];
	uint64_t t0, ans;
	char ext[65], user[65];
};

static bool rec_parse(const char *s, struct crm_rec *r)
{
	memset(r, 0, sizeof(*r));
	if (!s || sscanf(s, "%15s %64s %" SCNu64 " %" SCNu64 " %64s %64s",
			 r->crm, r->node, &r->t0, &r->ans, r->ext,
			 r->user) != 6)
		return false;
	if (!strcmp(r->ext, "-"))
		r->ext[0] = '\0';
	if (!strcmp(r->user, "-"))
		r->user[0] = '\0';
	return true;
}

static void rec_format(char *buf, size_t size, const struct crm_rec *r)
{
	snprintf(buf, size, "%s %s %" PRIu64 " %" PRIu64 " %s %s", r->crm,
		 r->node, r->t0, r->ans, r->ext[0] ? r->ext : "-",
		 r->user[0] ? r->user : "-");
}

static int crm_send(struct router *r, const char *tenant, const char *call_id,
		    Pbx__V1__Envelope *env)
{
	const char *id = qms_pick(&r->crms, pbx_clock_mono_ms());
	struct pbx_bus_peer peer;
	int err;

	if (!id)
		return -EHOSTUNREACH;
	peer.len = strlen(id);
	memcpy(peer.id, id, peer.len);
	env->tenant_id = (char *)tenant;
	env->call_id = (char *)call_id;
	err = pbx_bus_send(r->crm_bus, &peer, env);
	if (err)
		PLOG_WARN("message to crm-connector %s failed: %d", id, err);
	return err;
}

void route_crm_prepare(struct route_ctx *c)
{
	for (size_t i = 0; i < c->out.n; i++) {
		const struct walk_action *a = &c->out.act[i];
		struct crm_rec rec = {0};

		if (a->kind != WALK_ACT_CRM_LOOKUP)
			continue;
		snprintf(rec.crm, sizeof(rec.crm), "%s", a->crm.crm);
		snprintf(rec.node, sizeof(rec.node), "%s", c->st.node);
		rec.t0 = pbx_clock_now_ms();
		rec_format(c->crm, sizeof(c->crm), &rec);
	}
}

void route_crm_lookup(struct route_ctx *c, const struct walk_action *a)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CrmLookup q = PBX__V1__CRM_LOOKUP__INIT;

	q.crm = (char *)a->crm.crm;
	q.caller = c->caller;
	q.called = c->number;
	q.timeout_ms = a->crm.timeout_ms;
	q.node = c->st.node;
	env.body_case = PBX__V1__ENVELOPE__BODY_CRM_LOOKUP;
	env.crm_lookup = &q;
	if (!crm_send(c->r, c->tenant, c->call_id, &env)) {
		PLOG_INFO("node %s: crm %s lookup (%u ms)", c->st.node,
			  a->crm.crm, a->crm.timeout_ms);
		return;
	}
	/* No connector: the lookup timer that follows in this step fires
	 * at once, the walk takes crm_error. */
	PLOG_WARN("node %s: crm %s: no crm-connector alive; crm_error",
		  c->st.node, a->crm.crm);
	for (size_t i = 0; i < c->out.n; i++) {
		struct walk_action *t = &c->out.act[i];

		if (t->kind == WALK_ACT_TIMER && t->timer.id == c->st.timer &&
		    t->timer.ms)
			t->timer.ms = 1;
	}
}

bool route_crm_translate(struct route_ctx *c, struct walk_event *ev)
{
	struct crm_rec rec;

	if (c->kind == ROUTE_EV_CRM_RESULT) {
		/* Only an answer for the node the call waits in. */
		if (!rec_parse(c->crm, &rec) || strcmp(rec.node, c->crm_node) ||
		    strcmp(c->st.node, c->crm_node)) {
			PLOG_INFO("crm result for node %s, call at %s: "
				  "ignored",
				  c->crm_node, c->st.node);
			return false;
		}
		memset(ev, 0, sizeof(*ev));
		ev->kind = WALK_EV_CRM_RESULT;
		ev->crm = c->crm_kind == RES(OWNER)	 ? WALK_CRM_OWNER
			  : c->crm_kind == RES(NOT_FOUND) ? WALK_CRM_NOT_FOUND
							  : WALK_CRM_ERROR;
		if (ev->crm == WALK_CRM_OWNER) {
			ev->owner = c->crm_ext;
			ev->owner_number = c->crm_ext[0] == '+';
			snprintf(rec.ext, sizeof(rec.ext), "%s", c->crm_ext);
			snprintf(rec.user, sizeof(rec.user), "%s",
				 pbx_id_valid(c->crm_user) ? c->crm_user : "");
			rec_format(c->crm, sizeof(c->crm), &rec);
		}
		return true;
	}
	/* The owner answered (the ring of the crm node, not a later one). */
	if (ev->kind == WALK_EV_RING_RESULT && ev->ring == WALK_RING_ANSWERED &&
	    rec_parse(c->crm, &rec) && !strcmp(rec.node, c->st.node) &&
	    rec.ext[0] && !rec.ans) {
		rec.ans = pbx_clock_now_ms();
		rec_format(c->crm, sizeof(c->crm), &rec);
	}
	return true;
}

void route_crm_ended(struct route_ctx *c)
{
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	Pbx__V1__CrmCallLog log = PBX__V1__CRM_CALL_LOG__INIT;
	uint64_t now = pbx_clock_now_ms();
	struct crm_rec rec;

	if (!rec_parse(c->crm, &rec))
		return;
	log.crm = rec.crm;
	log.caller = c->caller;
	log.called = c->number;
	/* An owner number goes back as digits in its own field. */
	log.extension = rec.ext[0] == '+' ? "" : rec.ext;
	log.number = rec.ext[0] == '+' ? rec.ext + 1 : "";
	log.crm_user = rec.user;
	log.answered = rec.ans > 0;
	log.started_ms = rec.t0;
	log.duration_s = rec.ans && now > rec.ans
				 ? (uint32_t)((now - rec.ans + 500) / 1000)
				 : 0;
	env.body_case = PBX__V1__ENVELOPE__BODY_CRM_CALL_LOG;
	env.crm_call_log = &log;
	if (crm_send(c->r, c->tenant, c->call_id, &env))
		PLOG_WARN("crm %s: call log not sent (no crm-connector)",
			  rec.crm);
	else
		PLOG_INFO("crm %s: call log sent (%s, %u s)", rec.crm,
			  log.answered ? "answered" : "missed",
			  log.duration_s);
}

void route_crm_event(struct router *r, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__CrmResult *res = env->crm_result;
	struct route_ctx *c;

	if (!res || !pbx_tenant_valid(env->tenant_id) || !env->call_id ||
	    !env->call_id[0] || strlen(env->call_id) >= sizeof(c->call_id)) {
		PLOG_WARN("crm result without valid tenant/call dropped");
		return;
	}
	pbx_log_ctx(env->tenant_id, env->call_id);
	PLOG_INFO("crm result for node %s: %d%s%s%s%s%s%s", res->node,
		  res->kind, res->extension[0] ? " owner " : "",
		  res->extension, res->number[0] ? " owner number " : "",
		  res->number,
		  res->detail[0] ? ": " : "", res->detail);
	c = route_ctx_alloc(r, NULL, env);
	if (!c) {
		PLOG_ERR("out of memory for a crm result");
		return;
	}
	c->kind = ROUTE_EV_CRM_RESULT;
	c->crm_kind = res->kind;
	snprintf(c->crm_node, sizeof(c->crm_node), "%s", res->node);
	snprintf(c->crm_ext, sizeof(c->crm_ext), "%s",
		 pbx_id_valid(res->extension) ? res->extension : "");
	/* No extension: a number, kept as "+<digits>" (E.164, 10 to 15). */
	if (!c->crm_ext[0] && res->number[0] &&
	    scenario_agent_number(res->number, c->crm_ext,
				  sizeof(c->crm_ext)) <= 0)
		c->crm_ext[0] = '\0';
	snprintf(c->crm_user, sizeof(c->crm_user), "%s", res->crm_user);
	if (c->crm_kind == RES(OWNER) && !c->crm_ext[0])
		c->crm_kind = RES(NOT_FOUND); /* an owner we cannot ring */
	route_walk_event(c);
}
