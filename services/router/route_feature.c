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
 *    at INCOMING instead of walking.
 * docs/voicemail.md and docs/employees.md ("Feature codes") list them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "qms.h"
#include "route_ctx.h"
#include "router.h"

enum feature_kind {
	FC_VM,	  /* voicemail from the phone: the worker runs it */
	FC_AGENT, /* queue agent state: queue-manager, then a prompt */
};

struct route_feature {
	const char *code; /* the digits after '*' */
	enum feature_kind kind;
	bool own_box;	    /* FC_VM: the caller's own box (no number asked) */
	int agent_action;   /* FC_AGENT: QueueCommand.AgentState.Action */
	const char *prompt; /* FC_AGENT: the confirmation (system sound) */
	const char *what;   /* in logs */
};

#define AGENT(a) PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_##a

static const struct route_feature features[] = {
	{"97", FC_VM, true, 0, NULL, "own voicemail box"},
	{"98", FC_VM, false, 0, NULL, "any voicemail box"},
	{"45", FC_AGENT, false, AGENT(LOGIN), "fc_agent_login",
	 "queue agent login"},
	{"46", FC_AGENT, false, AGENT(LOGOUT), "fc_agent_logout",
	 "queue agent logout"},
};

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
	while (user[n] >= '0' && user[n] <= '9' && n + 1 < size && n < 8)
		n++;
	/* Anything but 1-8 digits after the star is no known code. */
	if (user[n] || n == 0)
		return true;
	memcpy(code, user, n);
	code[n] = '\0';
	return true;
}

static const struct route_feature *find(const char *code)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(*features); i++)
		if (!strcmp(features[i].code, code))
			return &features[i];
	return NULL;
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
	int n;

	if (!f)
		return -ENOENT;
	/* A worker-run feature is never walked (route_feature_event starts
	 * it at INCOMING); its scenario only lets the call be placed like
	 * any call that answers and plays. */
	n = snprintf(json, size,
		     "{\"start\":\"p\",\"nodes\":{\"p\":{\"type\":"
		     "\"greeting\",\"options\":{\"prompt\":\"%s\"},"
		     "\"outputs\":{\"next\":\"h\"}},\"h\":{\"type\":"
		     "\"hangup\"}}}",
		     f->kind == FC_AGENT ? f->prompt : "vm_pin");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

enum route_fc_step route_feature_event(struct route_ctx *c)
{
	const struct route_feature *f = find(c->scen + strlen("@fc:"));

	if (!f || f->kind != FC_VM)
		return ROUTE_FC_WALK;
	switch (c->kind) {
	case PBX__V1__MEDIA_EVENT__KIND__KIND_INCOMING:
		scenario_walk_init(&c->st);
		c->f_start = true;
		return ROUTE_FC_SAVE;
	case PBX__V1__MEDIA_EVENT__KIND__KIND_FAILED:
		/* The worker could not start it: nobody left in silence. */
		return ROUTE_FC_END;
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
