/* Feature codes: an extension of a tenant dials "*NN" and the router,
 * not a scenario, decides what happens. One table, code -> feature; the
 * rest of the router asks it:
 *  - route_call.c, on CallNew: is the dialled user a feature code, which
 *    one, and its side effect (an agent's login goes to the
 *    queue-manager at once);
 *  - route_ctx.c, when it loads the call's scenario "@fc:<code>": the
 *    feature's scenario, built in memory (a confirmation prompt and the
 *    hang-up), like an internal call's "@ext:<ext>";
 *  - route_media.c, on the worker's events: a feature the worker runs by
 *    itself (voicemail from a phone: MediaCommand.VmAccess) is started
 *    at INCOMING instead of walking;
 *  - the caller's own settings (do-not-disturb, forwarding: the
 *    extension's fields of PBX_K_OUTBOUND) are written on CallNew
 *    (route_feature_store), and the call plays the confirmation;
 *  - a pickup takes a ringing call on CallNew (route_pickup.c), goes to
 *    that call's worker, and is the worker's at INCOMING (Pickup).
 * docs/voicemail.md and docs/employees.md ("Feature codes") list them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "qms.h"
#include "pbx_redis.h"
#include "scenario.h"
#include "route_ctx.h"
#include "router.h"

enum feature_kind {
	FC_VM,	    /* voicemail from the phone: the worker runs it */
	FC_AGENT,   /* queue agent state: queue-manager, then a prompt */
	FC_DND,	    /* do-not-disturb toggle: Redis, then a prompt */
	FC_FWD,	    /* forwarding to the number dialled after the code */
	FC_FWD_OFF, /* forwarding cancelled */
	FC_PICKUP,  /* a ringing colleague's call; a number after the code:
		     * that extension's (directed pickup) */
};

struct route_feature {
	const char *code; /* the digits after '*' */
	enum feature_kind kind;
	bool own_box;	    /* FC_VM: the caller's own box (no number asked) */
	int agent_action;   /* FC_AGENT: QueueCommand.AgentState.Action */
	const char *prompt; /* FC_AGENT, FC_FWD*: the confirmation (system
			     * sound); FC_DND: the one when it turns on */
	const char *what;   /* in logs */
	const char *field;  /* FC_FWD*: the extension's setting
			     * (PBX_K_OUTBOUND ext:<e>:<field>) */
};

#define AGENT(a) PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_##a

static const struct route_feature features[] = {
	{"97", FC_VM, true, 0, NULL, "own voicemail box", NULL},
	{"98", FC_VM, false, 0, NULL, "any voicemail box", NULL},
	{"45", FC_AGENT, false, AGENT(LOGIN), "fc_agent_login",
	 "queue agent login", NULL},
	{"46", FC_AGENT, false, AGENT(LOGOUT), "fc_agent_logout",
	 "queue agent logout", NULL},
	{"78", FC_DND, false, 0, "fc_dnd_on", "do-not-disturb toggle", "dnd"},
	{"72", FC_FWD, false, 0, "fc_fwd_on", "forward every call",
	 "fwd_always"},
	{"73", FC_FWD_OFF, false, 0, "fc_fwd_off", "cancel forward always",
	 "fwd_always"},
	{"90", FC_FWD, false, 0, "fc_fwd_on", "forward when busy", "fwd_busy"},
	{"91", FC_FWD_OFF, false, 0, "fc_fwd_off", "cancel forward when busy",
	 "fwd_busy"},
	{"92", FC_FWD, false, 0, "fc_fwd_on", "forward on no answer",
	 "fwd_noanswer"},
	{"93", FC_FWD_OFF, false, 0, "fc_fwd_off",
	 "cancel forward on no answer", "fwd_noanswer"},
	/* Last: "8" is the prefix of "8<ext>", and must not shadow a
	 * longer code listed above. */
	{"8", FC_PICKUP, false, 0, "fc_pickup", "call pickup", NULL},
};

/* The DND prompt when it turns off (the table holds the "on" one). */
#define FC_DND_OFF_PROMPT "fc_dnd_off"

/* Digits after the star: a code and, for FC_FWD, the number. */
#define FC_DIGITS_MAX 22

bool route_feature_code(const char *user, char *code, size_t size)
{
	size_t n = 0;

	if (!user || !size)
		return false;
	/* A phone may escape the star in the Request-URI. */
	if (user[0] == '*')
		user++;
	else if (!strncasecmp(user, "%2a", 3))
		user += 3;
	else
		return false;
	code[0] = '\0';
	while (user[n] >= '0' && user[n] <= '9' && n + 1 < size &&
	       n < FC_DIGITS_MAX)
		n++;
	/* Anything but 1-22 digits after the star is no known code. */
	if (user[n] || n == 0)
		return true;
	memcpy(code, user, n);
	code[n] = '\0';
	return true;
}

/* The feature of spec: "<code>", "<code><number>" (FC_FWD),
 * "<code>:<variant>" (a scenario name's part); *arg gets what follows
 * an FC_FWD code. */
static const struct route_feature *lookup(const char *spec, const char **arg)
{
	size_t n = strcspn(spec, ":");

	for (size_t i = 0; i < sizeof(features) / sizeof(*features); i++) {
		const struct route_feature *f = &features[i];
		size_t k = strlen(f->code);

		if ((f->kind == FC_FWD || f->kind == FC_PICKUP) && n >= k &&
		    !strncmp(f->code, spec, k)) {
			if (arg)
				*arg = spec + k;
			return f;
		}
		if (k == n && !strncmp(f->code, spec, n)) {
			if (arg)
				*arg = "";
			return f;
		}
	}
	return NULL;
}

static const struct route_feature *find(const char *code)
{
	return lookup(code, NULL);
}

bool route_feature_known(const char *code)
{
	return code && find(code) != NULL;
}

const char *route_feature_what(const char *code)
{
	const struct route_feature *f = code ? find(code) : NULL;

	return f ? f->what : "unknown";
}

int route_feature_setup(struct router *r, const char *tenant,
			const char *call_id, const char *ext,
			const char *code)
{
	Pbx__V1__QueueCommand qc = PBX__V1__QUEUE_COMMAND__INIT;
	Pbx__V1__QueueCommand__AgentState as =
		PBX__V1__QUEUE_COMMAND__AGENT_STATE__INIT;
	const struct route_feature *f = find(code);

	if (!f)
		return -ENOENT;
	if (f->kind != FC_AGENT)
		return 0;
	as.agent = (char *)ext;
	as.action = f->agent_action;
	as.reason = (char *)"";
	qc.cmd_case = PBX__V1__QUEUE_COMMAND__CMD_AGENT_STATE;
	qc.agent_state = &as;
	PLOG_INFO("feature *%s: %s of agent %s", f->code, f->what, ext);
	return route_queue_send(r, tenant, call_id, &qc);
}

int route_feature_json(const char *code, char *json, size_t size)
{
	const struct route_feature *f = find(code);
	const char *prompt;
	int n;

	if (!f)
		return -ENOENT;
	/* "78:0": DND turned off. */
	prompt = f->kind == FC_VM || f->kind == FC_PICKUP ? "vm_pin"
		 : f->kind == FC_DND && strstr(code, ":0") ? FC_DND_OFF_PROMPT
							   : f->prompt;
	/* A worker-run feature (voicemail, pickup) is never walked
	 * (route_feature_event starts it at INCOMING); its scenario only
	 * lets the call be placed like any call that answers and plays. */
	n = snprintf(json, size,
		     "{\"start\":\"p\",\"nodes\":{\"p\":{\"type\":"
		     "\"greeting\",\"options\":{\"prompt\":\"%s\"},"
		     "\"outputs\":{\"next\":\"h\"}},\"h\":{\"type\":"
		     "\"hangup\"}}}",
		     prompt);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- settings of the caller's extension (DND, forwarding) ----------- */

/* Toggles a flag field: returns the new value (0 or 1). */
static const char toggle_lua[] =
	"local on = redis.call('HGET', KEYS[1], ARGV[1]) ~= '1' "
	"redis.call('HSET', KEYS[1], ARGV[1], on and '1' or '0') "
	"return on and 1 or 0";

static void got_stored(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type == REDIS_REPLY_ERROR)
		c->err = true;
}

/* The toggle's answer is the scenario's variant (its prompt). */
static void got_toggled(struct route_ctx *c, redisReply *rr)
{
	if (!rr || rr->type != REDIS_REPLY_INTEGER) {
		c->err = true;
		return;
	}
	snprintf(c->scen + strlen(c->scen), sizeof(c->scen) - strlen(c->scen),
		 ":%d", rr->integer ? 1 : 0);
}

static void stored(struct route_ctx *c)
{
	if (c->err) {
		c->fc_rej(c, 503, "Service Unavailable");
		return;
	}
	PLOG_INFO("feature %s of extension %s: done (%s)", c->number,
		  c->caller, c->scen);
	c->fc_next(c);
}

void route_feature_store(struct route_ctx *c, const char *code,
			 route_next_h *next,
			 void (*rej)(struct route_ctx *c, unsigned code,
				     const char *reason))
{
	const char *arg = "";
	const struct route_feature *f = lookup(code, &arg);
	char key[PBX_KEY_MAX], field[96], target[40];

	if (f && f->kind == FC_PICKUP) {
		snprintf(c->scen, sizeof(c->scen), "@fc:%s", f->code);
		route_pickup_claim(c, arg, next, rej);
		return;
	}
	if (!f || (f->kind != FC_DND && f->kind != FC_FWD &&
		   f->kind != FC_FWD_OFF)) {
		next(c);
		return;
	}
	c->fc_next = next;
	c->fc_rej = rej;
	c->err = false;
	c->waiting = 0;
	snprintf(c->scen, sizeof(c->scen), "@fc:%s", f->code);
	if (pbx_key_of(key, sizeof(key), c->tenant, PBX_K_OUTBOUND) ||
	    scenario_outbound_ext_field(field, sizeof(field), c->caller,
					f->field)) {
		rej(c, 403, "Forbidden");
		return;
	}
	switch (f->kind) {
	case FC_DND:
		route_pipe_cmd(c, got_toggled, "EVAL %s 1 %s %s", toggle_lua,
			       key, field);
		break;
	case FC_FWD_OFF:
		route_pipe_cmd(c, got_stored, "HDEL %s %s", key, field);
		break;
	default:
		/* The number as every number is stored (the one
		 * normaliser); the router decides at each call whether it
		 * is an extension, and the outbound policy applies then. */
		if (!arg[0] ||
		    scenario_number_canon(arg, target, sizeof(target)) <= 0) {
			PLOG_INFO("feature *%s of extension %s: no number "
				  "after the code",
				  f->code, c->caller);
			rej(c, 484, "Address Incomplete (number missing)");
			return;
		}
		if (!strcmp(target, c->caller)) {
			rej(c, 403, "Forbidden (forwarding to itself)");
			return;
		}
		route_pipe_cmd(c, got_stored, "HSET %s %s %s", key, field,
			       target);
		break;
	}
	route_pipe_run(c, stored);
}

enum route_fc_step route_feature_event(struct route_ctx *c)
{
	const struct route_feature *f = find(c->scen + strlen("@fc:"));

	if (!f || (f->kind != FC_VM && f->kind != FC_PICKUP))
		return ROUTE_FC_WALK;
	switch (c->kind) {
	case PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING:
		scenario_walk_init(&c->st);
		c->f_start = true;
		return ROUTE_FC_SAVE;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_FAILED:
		/* The worker could not start it: nobody left in silence. A
		 * pickup whose call stopped ringing meanwhile (answered by
		 * the colleague, taken by another picker, ended). */
		return f->kind == FC_PICKUP ? ROUTE_FC_END_NOTHING
					    : ROUTE_FC_END;
	default:
		/* ANSWERED and the like: the worker runs the session. */
		return ROUTE_FC_IGNORE;
	}
}

void route_feature_after_save(struct route_ctx *c)
{
	Pbx__V1__MediaCommand cmd = PBX__V1__MEDIA_COMMAND__INIT;
	Pbx__V1__MediaCommand__VmAccess va =
		PBX__V1__MEDIA_COMMAND__VM_ACCESS__INIT;
	const struct route_feature *f;

	if (!c->f_start)
		return;
	c->f_start = false;
	f = find(c->scen + strlen("@fc:"));
	if (f && f->kind == FC_PICKUP) {
		Pbx__V1__MediaCommand__Pickup pk =
			PBX__V1__MEDIA_COMMAND__PICKUP__INIT;

		if (!c->pk_call[0]) {
			PLOG_WARN("pickup call without the call it takes");
			route_media_hangup(c->r, c->worker_id, c->tenant,
					   c->call_id, 404,
					   "Not Found (nothing to pick up)");
			return;
		}
		pk.call = c->pk_call;
		pk.by = c->caller;
		cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_PICKUP;
		cmd.pickup = &pk;
		PLOG_INFO("feature *%s: extension %s picks up call %s",
			  f->code, c->caller, c->pk_call);
		route_exec_send(c, &cmd);
		return;
	}
	if (!f || f->kind != FC_VM)
		return;
	/* The box named like the extension, as MWI has it. */
	va.box = f->own_box ? c->caller : (char *)"";
	va.own = f->own_box;
	cmd.cmd_case = PBX__V1__MEDIA_COMMAND__CMD_VM_ACCESS;
	cmd.vm_access = &va;
	PLOG_INFO("feature *%s: %s%s%s", f->code, f->what,
		  f->own_box ? " " : "", f->own_box ? c->caller : "");
	route_exec_send(c, &cmd);
}
