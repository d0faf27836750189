/* Router commands about an agent: login, logout, pause (with a reason)
 * and resume, from the agent's phone (feature codes) or tools. One script
 * run each; an agent that became free is dispatched at once, and the
 * router is answered with the agent's state (AgentStatus). */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_log.h"
#include "qm.h"

/* Owned by its run; freed when it is answered. */
struct agent_op {
	char tenant[PBX_ID_MAX + 1];
	char msg_id[64];
};

static const char *const actions[] = {
	[PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_LOGIN] = "login",
	[PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_LOGOUT] =
		"logout",
	[PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_PAUSE] = "pause",
	[PBX__V1__QUEUE_COMMAND__AGENT_STATE__ACTION__ACTION_RESUME] =
		"resume",
};

bool qm_agent_valid(const char *agent)
{
	return pbx_id_valid(agent) || pbx_number_valid(agent);
}

static void agent_done(struct qm *qm, const redisReply *events, void *arg)
{
	struct agent_op *op = arg;

	if (events)
		qm_event_apply(qm, op->tenant, NULL, events, op->msg_id);
	free(op);
}

void qm_agent_command(struct qm *qm, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__QueueCommand__AgentState *s =
		env->queue_command->agent_state;
	int act = s->action;
	struct qm_args a = {0};
	struct agent_op *op;
	int err;

	if (!pbx_tenant_valid(env->tenant_id) || !qm_agent_valid(s->agent) ||
	    act <= 0 || (size_t)act >= sizeof(actions) / sizeof(*actions) ||
	    !qm_script_reason_valid(s->reason)) {
		PLOG_WARN("agent command with a bad tenant, agent, action or "
			  "reason dropped");
		return;
	}
	pbx_log_ctx(env->tenant_id, NULL);
	op = calloc(1, sizeof(*op));
	if (!op) {
		PLOG_ERR("out of memory: agent command dropped");
		return;
	}
	snprintf(op->tenant, sizeof(op->tenant), "%s", env->tenant_id);
	snprintf(op->msg_id, sizeof(op->msg_id), "%s",
		 env->message_id ? env->message_id : "");
	qm_args_add(&a, s->agent);
	qm_args_add(&a, actions[act]);
	qm_args_add(&a, s->reason ? s->reason : "");
	qm_args_add(&a, "0"); /* we dispatch ourselves: no wake-up timer */
	qm_store_tenant_seen(qm, op->tenant);
	err = qm_store_run(qm, op->tenant, "agent", &a, agent_done, op);
	if (err) {
		PLOG_ERR("agent %s: %s not run: %s", s->agent, actions[act],
			 strerror(-err));
		free(op);
	}
}
