/* Runs of the queue script (qm.lua) on a tenant's keys: loads it once with
 * SCRIPT LOAD and runs it with EVALSHA; a Redis that lost its scripts
 * (restarted, SCRIPT FLUSH) answers NOSCRIPT and the run is repeated with
 * EVAL while the script is loaded again. Owns each run's argument vector
 * until its reply arrived. */
#include <errno.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_log.h"
#include "qm.h"

/* One run in flight; owns its arguments (qm_script_head + the op's). */
struct store_run {
	struct qm *qm;
	char tenant[PBX_ID_MAX + 1];
	struct qm_args args;
	qm_store_h *h;
	void *arg;
	bool by_text; /* sent with EVAL */
};

static void run_free(struct store_run *r)
{
	qm_args_reset(&r->args);
	free(r);
}

static void load_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct qm *qm = arg;
	redisReply *rr = reply;

	(void)ac;
	if (!ac->data)
		return; /* the connection is being freed with qm */
	qm->sha_loading = false;
	if (rr && rr->type == REDIS_REPLY_STRING && rr->len == 40)
		memcpy(qm->sha, rr->str, 41);
	else
		PLOG_ERR("SCRIPT LOAD of the queue script failed: %s",
			 rr && rr->type == REDIS_REPLY_ERROR ? rr->str
							     : "no reply");
}

static void script_load(struct qm *qm, redisAsyncContext *ac)
{
	if (qm->sha_loading)
		return;
	if (pbx_redis_acmd(ac, load_cb, qm, "SCRIPT LOAD %s", qm_lua) ==
	    REDIS_OK)
		qm->sha_loading = true;
}

static int send_run(struct store_run *r);

/* The last event of every run: {"due", ms|"", tseq}. */
static void note_due(struct qm *qm, const char *tenant, const redisReply *rr)
{
	const redisReply *ev;

	if (!rr->elements)
		return;
	ev = rr->element[rr->elements - 1];
	if (ev->type != REDIS_REPLY_ARRAY || ev->elements != 3 ||
	    strcmp(ev->element[0]->str, "due"))
		return;
	qm_timer_due(qm, tenant, strtoull(ev->element[1]->str, NULL, 10),
		     strtoll(ev->element[2]->str, NULL, 10));
}

static bool events_valid(const redisReply *rr)
{
	if (rr->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < rr->elements; i++) {
		const redisReply *ev = rr->element[i];

		if (ev->type != REDIS_REPLY_ARRAY || !ev->elements)
			return false;
		for (size_t j = 0; j < ev->elements; j++) {
			if (ev->element[j]->type != REDIS_REPLY_STRING)
				return false;
		}
	}
	return true;
}

static void run_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct store_run *r = arg;
	struct qm *qm = r->qm;
	redisReply *rr = reply;

	if (!ac->data) {
		/* qm_free: nobody to tell; the handler frees its own. */
		r->h(qm, NULL, r->arg);
		run_free(r);
		return;
	}
	pbx_log_ctx(r->tenant, NULL);
	if (rr && rr->type == REDIS_REPLY_ERROR &&
	    !strncmp(rr->str, "NOSCRIPT", 8) && !r->by_text) {
		/* Redis lost the script: this run by text, the next ones by
		 * SHA again once it is loaded. */
		qm->sha[0] = '\0';
		script_load(qm, ac);
		if (!send_run(r))
			return;
		rr = NULL;
	}
	if (!rr || !events_valid(rr)) {
		qm->n.store_errors++;
		PLOG_ERR("queue script %s failed: %s",
			 r->args.v[QM_SCRIPT_OP],
			 rr && rr->type == REDIS_REPLY_ERROR ? rr->str
			 : rr ? "unexpected reply"
			      : "Redis connection lost");
		r->h(qm, NULL, r->arg);
	} else {
		qm->n.runs++;
		note_due(qm, r->tenant, rr);
		r->h(qm, rr, r->arg);
	}
	run_free(r);
}

/* Sends r by SHA when it is known, else by text. 0 or -ENOTCONN. */
static int send_run(struct store_run *r)
{
	struct qm *qm = r->qm;
	redisAsyncContext *ac = pbx_redis_ctx(qm->redis);
	const char **argv;
	size_t *argvlen;
	int rc;

	if (!ac)
		return -ENOTCONN;
	if (!qm->sha[0])
		script_load(qm, ac);
	r->by_text = !qm->sha[0];
	argv = calloc((size_t)r->args.n, sizeof(*argv));
	argvlen = calloc((size_t)r->args.n, sizeof(*argvlen));
	if (!argv || !argvlen) {
		free(argv);
		free(argvlen);
		return -ENOMEM;
	}
	qm_script_argv(&r->args, r->by_text ? NULL : qm->sha, argv, argvlen);
	rc = pbx_redis_acmd_argv(ac, run_cb, r, r->args.n, argv, argvlen);
	free(argv);
	free(argvlen);
	return rc == REDIS_OK ? 0 : -ENOTCONN;
}

int qm_store_run(struct qm *qm, const char *tenant, const char *op,
		 struct qm_args *a, qm_store_h *h, void *arg)
{
	struct store_run *r;
	int err;

	if (a->err || !pbx_tenant_valid(tenant)) {
		err = a->err ? -ENOMEM : -EINVAL;
		qm_args_reset(a);
		return err;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		qm_args_reset(a);
		return -ENOMEM;
	}
	r->qm = qm;
	r->h = h;
	r->arg = arg;
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	qm_script_head(&r->args, tenant, op, pbx_clock_now_ms());
	for (int i = 0; i < a->n; i++)
		qm_args_add(&r->args, a->v[i]);
	qm_args_reset(a);
	err = r->args.err ? -ENOMEM : send_run(r);
	if (err) {
		run_free(r);
		return err;
	}
	return 0;
}

void qm_store_tenant_seen(struct qm *qm, const char *tenant)
{
	redisAsyncContext *ac = pbx_redis_ctx(qm->redis);
	char key[PBX_KEY_MAX];

	if (ac && !pbx_key_sys_of(key, sizeof(key), PBX_KS_QM_TENANTS))
		pbx_redis_acmd(ac, NULL, NULL, "SADD %s %s", key, tenant);
}
