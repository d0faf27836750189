/* Router commands about a caller: Enqueue (join a queue, then dispatch
 * it), Leave (hung up or pressed an exit key) and AgentResult (what became
 * of an offer, or of the bridged call). Each is one script run whose
 * events qm_event.c carries out; the envelope's tenant and call id say
 * whose call it is (routers are trusted: CURVE, docs/security.md). */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_log.h"
#include "qm.h"
#include "qm_conf.h"

#define CALL_ID_MAX 255
#define PRIORITY_MAX 10
#define MAX_WAIT_S_MAX 86400
/* Position news: at most this often, and not more often than 5 s. */
#define ANNOUNCE_MS_MIN 5000
#define ANNOUNCE_MS_MAX 3600000

/* One command in progress; owned by its chain, freed by its last step. */
struct call_op {
	struct qm *qm;
	char tenant[PBX_ID_MAX + 1];
	char call_id[CALL_ID_MAX + 1];
	char msg_id[64];
	char queue[PBX_ID_MAX + 1];
	char caller[PBX_ID_MAX + 1];
	uint32_t priority, max_wait_s, announce_ms;
	struct qm_conf *conf; /* a reference, once loaded */
};

static void op_free(struct call_op *op)
{
	qm_conf_drop(op->conf);
	free(op);
}

/* A SIP Call-ID is printable ASCII without spaces. */
static bool call_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > CALL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/* Answers the router's Enqueue with a FAILED result. */
static void enqueue_failed(struct call_op *op, const char *why)
{
	Pbx__V1__QueueEvent qe = PBX__V1__QUEUE_EVENT__INIT;
	Pbx__V1__QueueEvent__Result re = PBX__V1__QUEUE_EVENT__RESULT__INIT;

	PLOG_WARN("queue %s: not joined: %s", op->queue, why);
	re.queue = op->queue;
	re.kind = PBX__V1__QUEUE_EVENT__RESULT__KIND__KIND_FAILED;
	re.detail = (char *)why;
	qe.ev_case = PBX__V1__QUEUE_EVENT__EV_RESULT;
	qe.result = &re;
	if (!qm_event_send(op->qm, op->tenant, op->call_id, op->msg_id, &qe))
		op->qm->n.results++;
}

static void op_done(struct qm *qm, const redisReply *events, void *arg)
{
	struct call_op *op = arg;

	pbx_log_ctx(op->tenant, op->call_id);
	if (events)
		qm_event_apply(qm, op->tenant, op->conf, events, op->msg_id);
	else if (op->queue[0])
		enqueue_failed(op, "storage unavailable");
	op_free(op);
}

static void enqueue_conf(struct qm *qm, struct qm_conf *conf, void *arg)
{
	struct call_op *op = arg;
	struct scenario_queue q;
	struct qm_args a = {0};
	const char *one[1] = {op->queue};
	uint32_t max_wait_s;
	int err;

	pbx_log_ctx(op->tenant, op->call_id);
	op->conf = conf;
	if (!conf) {
		enqueue_failed(op, "storage unavailable");
		op_free(op);
		return;
	}
	if (qm_conf_queue(conf, op->queue, &q)) {
		enqueue_failed(op, "no such queue");
		op_free(op);
		return;
	}
	max_wait_s = op->max_wait_s ? op->max_wait_s : q.max_wait_s;
	qm_args_add(&a, op->call_id);
	qm_args_add(&a, op->queue);
	qm_args_addf(&a, "%u", op->priority);
	qm_args_addf(&a, "%llu", max_wait_s * 1000ULL);
	qm_args_addf(&a, "%u", q.max_len);
	qm_args_add(&a, q.join_empty ? "1" : "0");
	qm_args_addf(&a, "%llu", q.wrapup_s * 1000ULL);
	qm_args_add(&a, op->caller);
	qm_args_addf(&a, "%u", op->announce_ms);
	for (size_t i = 0; i < q.nagents; i++)
		qm_args_add(&a, q.agents[i]);
	qm_store_tenant_seen(qm, op->tenant);
	err = qm_store_run(qm, op->tenant, "enqueue", &a, op_done, op);
	if (err) {
		enqueue_failed(op, "storage unavailable");
		op_free(op);
		return;
	}
	/* Queued right behind the join on the same connection: no round
	 * trip between a caller joining and its first offer. */
	qm_dispatch_queues(qm, op->tenant, conf, one, 1);
}

static void enqueue(struct call_op *op,
		    const Pbx__V1__QueueCommand__Enqueue *e)
{
	int err;

	snprintf(op->queue, sizeof(op->queue), "%s", e->queue);
	if (!pbx_id_valid(e->queue) || e->priority > PRIORITY_MAX ||
	    e->max_wait_s > MAX_WAIT_S_MAX ||
	    (e->announce_ms && (e->announce_ms < ANNOUNCE_MS_MIN ||
				e->announce_ms > ANNOUNCE_MS_MAX))) {
		enqueue_failed(op, "bad request (queue, priority 0-10, "
				   "max_wait_s 0-86400, announce_ms 0 or "
				   "5000-3600000)");
		op_free(op);
		return;
	}
	op->priority = e->priority;
	op->max_wait_s = e->max_wait_s;
	op->announce_ms = e->announce_ms;
	/* Only for statistics and logs: a caller id that is not a number
	 * is kept out rather than refused. */
	if (e->caller && pbx_number_valid(e->caller))
		snprintf(op->caller, sizeof(op->caller), "%s", e->caller);
	err = qm_conf_get(op->qm, op->tenant, enqueue_conf, op);
	if (err) {
		enqueue_failed(op, "storage unavailable");
		op_free(op);
	}
}

/* A call-back's bounds (Leave CALLBACK; the queue object's are within). */
#define CB_WINDOW_S_MIN 10
#define CB_WINDOW_S_MAX 86400
#define CB_RETRIES_MAX 10
#define CB_RETRY_S_MIN 1
#define CB_RETRY_S_MAX 3600

static const char *const leave_reasons[] = {
	[PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_HANGUP] = "hangup",
	[PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_EXIT_KEY] = "exit_key",
	[PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_CALLBACK] = "callback",
};

static const char *const agent_results[] = {
	[PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_ANSWERED] =
		"answered",
	[PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_NO_ANSWER] =
		"no_answer",
	[PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_BUSY] = "busy",
	[PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_UNAVAILABLE] =
		"unavailable",
	[PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_HUNG_UP] =
		"hung_up",
	[PBX__V1__QUEUE_COMMAND__AGENT_RESULT__RESULT__RESULT_CALLBACK_FAILED] =
		"cb_failed",
};

/* The name of enum value v in names[n], or NULL. */
static const char *enum_name(const char *const *names, size_t n, int v)
{
	return v > 0 && (size_t)v < n ? names[v] : NULL;
}

static int leave(struct call_op *op, const Pbx__V1__QueueCommand__Leave *l,
		 struct qm_args *a)
{
	const char *reason = enum_name(
		leave_reasons, sizeof(leave_reasons) / sizeof(*leave_reasons),
		l->reason);

	bool cb = l->reason ==
		  PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_CALLBACK;
	bool key = cb || l->reason ==
				 PBX__V1__QUEUE_COMMAND__LEAVE__REASON__REASON_EXIT_KEY;

	if (!reason || (key && (!l->digit || strlen(l->digit) != 1 ||
				!strchr("0123456789*#ABCD", l->digit[0]))))
		return -EINVAL;
	/* The numbers go into SIP headers later: E.164 digits only. */
	if (cb && (!pbx_number_valid(l->callback_number) ||
		   (l->callback_caller_id[0] &&
		    !pbx_number_valid(l->callback_caller_id)) ||
		   l->callback_window_s < CB_WINDOW_S_MIN ||
		   l->callback_window_s > CB_WINDOW_S_MAX ||
		   l->callback_retries > CB_RETRIES_MAX ||
		   l->callback_retry_s < CB_RETRY_S_MIN ||
		   l->callback_retry_s > CB_RETRY_S_MAX))
		return -EINVAL;
	qm_args_add(a, op->call_id);
	qm_args_add(a, reason);
	qm_args_add(a, l->digit ? l->digit : "");
	if (cb) {
		qm_args_add(a, l->callback_number);
		qm_args_add(a, l->callback_caller_id);
		qm_args_addf(a, "%llu", l->callback_window_s * 1000ULL);
		qm_args_addf(a, "%u", l->callback_retries);
		qm_args_addf(a, "%llu", l->callback_retry_s * 1000ULL);
	}
	return 0;
}

static int agent_result(struct call_op *op,
			const Pbx__V1__QueueCommand__AgentResult *r,
			struct qm_args *a)
{
	const char *res = enum_name(
		agent_results, sizeof(agent_results) / sizeof(*agent_results),
		r->result);

	if (!res || !qm_agent_valid(r->agent))
		return -EINVAL;
	qm_args_add(a, op->call_id);
	qm_args_add(a, r->agent);
	qm_args_addf(a, "%u", r->offer);
	qm_args_add(a, res);
	qm_args_addf(a, "%ld", op->qm->cfg->max_missed);
	qm_args_addf(a, "%ld", op->qm->cfg->service_level_s * 1000L);
	qm_args_addf(a, "%lld", op->qm->cfg->talk_max_s * 1000LL);
	return 0;
}

void qm_call_command(struct qm *qm, const Pbx__V1__Envelope *env)
{
	const Pbx__V1__QueueCommand *cmd = env->queue_command;
	struct call_op *op;
	struct qm_args a = {0};
	const char *name;
	int err;

	if (!pbx_tenant_valid(env->tenant_id) ||
	    !call_id_valid(env->call_id)) {
		PLOG_WARN("queue command without a valid tenant and call id "
			  "dropped");
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		PLOG_ERR("out of memory: queue command dropped");
		return;
	}
	op->qm = qm;
	snprintf(op->tenant, sizeof(op->tenant), "%s", env->tenant_id);
	snprintf(op->call_id, sizeof(op->call_id), "%s", env->call_id);
	snprintf(op->msg_id, sizeof(op->msg_id), "%s",
		 env->message_id ? env->message_id : "");
	switch (cmd->cmd_case) {
	case PBX__V1__QUEUE_COMMAND__CMD_ENQUEUE:
		enqueue(op, cmd->enqueue);
		return;
	case PBX__V1__QUEUE_COMMAND__CMD_LEAVE:
		name = "leave";
		err = leave(op, cmd->leave, &a);
		break;
	case PBX__V1__QUEUE_COMMAND__CMD_AGENT_RESULT:
		name = "result";
		err = agent_result(op, cmd->agent_result, &a);
		break;
	default:
		name = "?";
		err = -EINVAL;
		break;
	}
	if (!err)
		err = qm_store_run(qm, op->tenant, name, &a, op_done, op);
	if (err) {
		PLOG_WARN("queue command %s not run: %s", name,
			  err == -EINVAL ? "bad request" : strerror(-err));
		qm_args_reset(&a);
		op_free(op);
	}
}
