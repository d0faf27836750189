/* Timers: ring timeouts, max waits, wrap-ups and wake-ups live in each
 * tenant's pbx:{t}:qm:timers, so whichever instance is alive fires them.
 * Every script run reports its tenant's earliest timer and timer sequence;
 * pbx:{sys}:qm:due (tenant -> earliest due) is updated from it by a small
 * script that refuses a report older (by sequence) than the one stored, so
 * two instances reporting out of order cannot hide a newer, earlier timer.
 * Each instance polls that index (at the earliest due, at least every
 * poll_ms) and fires the due tenants' timers (op "timers": atomic, so
 * two instances firing the same tenant fire each timer once). A report
 * lost with a crashed instance is repaired by the sweep, which asks every
 * tenant in pbx:{sys}:qm:tenants for its earliest timer every sweep_ms. */
#include <errno.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_log.h"
#include "qm.h"

/* Tenants fired per poll, timers fired per tenant run, tenants asked per
 * sweep step. */
#define POLL_TENANTS 64
#define RUN_TIMERS 256
#define SWEEP_BATCH 100

/* Never later than poll_ms from now: a wall clock that jumped (NTP, a
 * test's fake clock) cannot stall the polls. */
static void arm(struct qm *qm, uint64_t at_ms)
{
	uint64_t now = pbx_clock_now_ms();
	uint64_t ms = at_ms > now ? at_ms - now : 0;

	if (ms > (uint64_t)qm->cfg->poll_ms)
		ms = (uint64_t)qm->cfg->poll_ms;
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	qm->next_poll_ms = now + ms;
	evtimer_add(qm->poll, &tv);
}

static void due_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	redisReply *rr = reply;

	(void)arg;
	if (ac->data && rr && rr->type == REDIS_REPLY_ERROR)
		PLOG_ERR("timer index not updated: %s", rr->str);
}

void qm_timer_due(struct qm *qm, const char *tenant, uint64_t due_ms,
		  long long seq)
{
	redisAsyncContext *ac = pbx_redis_ctx(qm->redis);
	char kdue[PBX_KEY_MAX], kseq[PBX_KEY_MAX];

	if (ac && !qm_script_due_keys(kdue, kseq, sizeof(kdue)))
		pbx_redis_acmd(ac, due_reply, NULL,
				  "EVAL %s 2 %s %s %s %llu %lld", qm_due_lua,
				  kdue, kseq, tenant,
				  (unsigned long long)due_ms, seq);
	if (due_ms && qm->poll && due_ms < qm->next_poll_ms)
		arm(qm, due_ms);
}

/* One tenant's timers run; owned by that run. */
struct fire {
	char tenant[PBX_ID_MAX + 1];
};

static void fired(struct qm *qm, const redisReply *events, void *arg)
{
	struct fire *f = arg;

	if (events) {
		qm->n.timer_runs++;
		qm_event_apply(qm, f->tenant, NULL, events, NULL);
	}
	free(f);
}

static void fire_tenant(struct qm *qm, const char *tenant)
{
	struct qm_args a = {0};
	struct fire *f;

	if (!pbx_tenant_valid(tenant))
		return;
	f = calloc(1, sizeof(*f));
	if (!f)
		return;
	snprintf(f->tenant, sizeof(f->tenant), "%s", tenant);
	qm_args_addf(&a, "%d", RUN_TIMERS);
	qm_args_addf(&a, "%ld", qm->cfg->max_missed);
	if (qm_store_run(qm, tenant, "timers", &a, fired, f))
		free(f);
}

static void poll_due(redisAsyncContext *ac, void *reply, void *arg)
{
	struct qm *qm = arg;
	redisReply *rr = reply;

	if (!ac->data || !rr || rr->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < rr->elements; i++) {
		if (rr->element[i]->type == REDIS_REPLY_STRING)
			fire_tenant(qm, rr->element[i]->str);
	}
}

/* The earliest entry of the index: when to poll next. Entries due now
 * are being fired by this poll; their runs report what is left. */
static void poll_next(redisAsyncContext *ac, void *reply, void *arg)
{
	struct qm *qm = arg;
	redisReply *rr = reply;
	uint64_t now = pbx_clock_now_ms();
	uint64_t at = now + (uint64_t)qm->cfg->poll_ms;

	if (!ac->data)
		return;
	qm->polling = false;
	if (rr && rr->type == REDIS_REPLY_ARRAY && rr->elements == 2) {
		uint64_t due = strtoull(rr->element[1]->str, NULL, 10);

		if (due > now && due < at)
			at = due;
	}
	arm(qm, at);
}

void qm_timer_poll(struct qm *qm)
{
	redisAsyncContext *ac = pbx_redis_ctx(qm->redis);
	char key[PBX_KEY_MAX];

	if (qm->polling)
		return; /* poll_next re-arms */
	if (!ac || pbx_key_sys_of(key, sizeof(key), PBX_KS_QM_DUE)) {
		arm(qm, pbx_clock_now_ms() + (uint64_t)qm->cfg->poll_ms);
		return;
	}
	if (pbx_redis_acmd(ac, poll_due, qm,
			      "ZRANGEBYSCORE %s -inf %llu LIMIT 0 %d", key,
			      (unsigned long long)pbx_clock_now_ms(),
			      POLL_TENANTS) != REDIS_OK ||
	    pbx_redis_acmd(ac, poll_next, qm, "ZRANGE %s 0 0 WITHSCORES",
			      key) != REDIS_OK) {
		arm(qm, pbx_clock_now_ms() + (uint64_t)qm->cfg->poll_ms);
		return;
	}
	qm->polling = true;
	qm->next_poll_ms = UINT64_MAX;
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	qm_timer_poll(arg);
}

static void nothing(struct qm *qm, const redisReply *events, void *arg)
{
	(void)qm;
	(void)events;
	(void)arg;
}

static void sweep_step(struct qm *qm);

/* The census of the metrics: every sweep also counts each tenant's
 * waiting and ringing callers; the sums are published once the sweep
 * listed every tenant and every count answered. */
static void census_done(struct qm *qm)
{
	if (qm->census_pending || !qm->census_listed)
		return;
	qm->waiting = qm->census_waiting;
	qm->offered = qm->census_offered;
}

static void census_reply(redisAsyncContext *ac, void *reply, void *arg,
			 bool waiting)
{
	struct qm *qm = arg;
	redisReply *rr = reply;

	if (!ac->data)
		return;
	qm->census_pending--;
	if (rr && rr->type == REDIS_REPLY_ERROR && !qm->census_warned) {
		/* Once: the census is a metric, the queues work without. */
		PLOG_WARN("queue census: %s", rr->str);
		qm->census_warned = true;
	}
	if (rr && rr->type == REDIS_REPLY_INTEGER && rr->integer > 0)
		*(waiting ? &qm->census_waiting : &qm->census_offered) +=
			(unsigned long)rr->integer;
	census_done(qm);
}

static void census_wait(redisAsyncContext *ac, void *reply, void *arg)
{
	census_reply(ac, reply, arg, true);
}

static void census_offered(redisAsyncContext *ac, void *reply, void *arg)
{
	census_reply(ac, reply, arg, false);
}

static void census_tenant(struct qm *qm, redisAsyncContext *ac,
			  const char *tenant)
{
	char key[PBX_KEY_MAX];

	/* ZLEXCOUNT - +: the whole lex-ordered set, with the one command
	 * the queue ACL user already has for these keys. */
	if (!pbx_key_of(key, sizeof(key), tenant, PBX_K_QM_WAIT) &&
	    pbx_redis_acmd(ac, census_wait, qm, "ZLEXCOUNT %s - +", key) ==
		    REDIS_OK)
		qm->census_pending++;
	if (!pbx_key_of(key, sizeof(key), tenant, PBX_K_QM_OFFERED) &&
	    pbx_redis_acmd(ac, census_offered, qm, "ZLEXCOUNT %s - +",
			      key) == REDIS_OK)
		qm->census_pending++;
}

static void sweep_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	struct qm *qm = arg;
	redisReply *rr = reply;

	if (!ac->data)
		return;
	if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements != 2) {
		qm->sweeping = false;
		return;
	}
	/* Each "due" run reports the tenant's earliest timer: the report is
	 * the repair. */
	for (size_t i = 0; i < rr->element[1]->elements; i++) {
		struct qm_args a = {0};
		const char *t = rr->element[1]->element[i]->str;

		if (t && pbx_tenant_valid(t)) {
			qm_store_run(qm, t, "due", &a, nothing, NULL);
			census_tenant(qm, ac, t);
		}
	}
	qm->sweep_cursor = strtoull(rr->element[0]->str, NULL, 10);
	if (qm->sweep_cursor) {
		sweep_step(qm);
	} else {
		qm->sweeping = false;
		qm->census_listed = true;
		census_done(qm);
	}
}

static void sweep_step(struct qm *qm)
{
	redisAsyncContext *ac = pbx_redis_ctx(qm->redis);
	char key[PBX_KEY_MAX];

	if (!ac || pbx_key_sys_of(key, sizeof(key), PBX_KS_QM_TENANTS) ||
	    pbx_redis_acmd(ac, sweep_reply, qm, "SSCAN %s %llu COUNT %d",
			      key, qm->sweep_cursor, SWEEP_BATCH) != REDIS_OK)
		qm->sweeping = false;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qm *qm = arg;

	(void)fd;
	(void)what;
	if (qm->sweeping)
		return;
	qm->sweeping = true;
	qm->sweep_cursor = 0;
	qm->census_waiting = qm->census_offered = 0;
	qm->census_listed = false;
	sweep_step(qm);
}

int qm_timer_start(struct qm *qm)
{
	struct timeval tv = {qm->cfg->sweep_ms / 1000,
			     (qm->cfg->sweep_ms % 1000) * 1000};

	qm->poll = evtimer_new(qm->base, poll_cb, qm);
	qm->sweep = event_new(qm->base, -1, EV_PERSIST, sweep_cb, qm);
	if (!qm->poll || !qm->sweep)
		return -ENOMEM;
	arm(qm, pbx_clock_now_ms());
	return event_add(qm->sweep, &tv) ? -ENOMEM : 0;
}

void qm_timer_stop(struct qm *qm)
{
	if (qm->poll)
		event_free(qm->poll);
	if (qm->sweep)
		event_free(qm->sweep);
	qm->poll = qm->sweep = NULL;
}
