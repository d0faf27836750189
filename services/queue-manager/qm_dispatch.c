/* Dispatch: offers waiting callers to free agents. The choice and the
 * reservation are one run of qm.lua (op "dispatch"), so two instances
 * dispatching the same queues at once cannot give one agent two calls or
 * one call two agents: whichever run Redis executes second sees the first
 * one's reservations. A run makes at most max_offers offers; a full run
 * is followed by another until one comes back short. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_log.h"
#include "qm.h"
#include "qm_conf.h"

/* Owned by its chain of runs; freed by the last. */
struct dispatch {
	struct qm *qm;
	char tenant[PBX_ID_MAX + 1];
	struct qm_conf *conf; /* a reference */
	char **queues;
	size_t n;
};

static void dispatch_free(struct dispatch *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->queues[i]);
	free(d->queues);
	qm_conf_drop(d->conf);
	free(d);
}

/* Park-Miller: the random strategy's draw, passed to the script so that
 * the choice is made where the reservation is. */
static uint32_t next_rnd(struct qm *qm)
{
	qm->rnd = (uint32_t)(((uint64_t)qm->rnd * 48271u) % 2147483647u);
	return qm->rnd;
}

/* Adds "name strategy timeout_ms timer_ms nagents agent..." for each
 * queue that still exists; returns how many were added. */
static size_t queue_args(struct dispatch *d, struct qm_args *a)
{
	size_t added = 0;

	for (size_t i = 0; i < d->n; i++) {
		struct scenario_queue q;
		unsigned long tmo;

		if (qm_conf_queue(d->conf, d->queues[i], &q))
			continue; /* deleted: its callers time out */
		tmo = q.agent_timeout_s * 1000UL;
		qm_args_add(a, d->queues[i]);
		qm_args_add(a, q.strategy);
		qm_args_addf(a, "%lu", tmo);
		qm_args_addf(a, "%lu",
			     tmo + (unsigned long)d->qm->cfg->offer_grace_ms);
		qm_args_addf(a, "%zu", q.nagents);
		for (size_t j = 0; j < q.nagents; j++)
			qm_args_add(a, q.agents[j]);
		added++;
	}
	return added;
}

static void round_run(struct dispatch *d);

static void round_done(struct qm *qm, const redisReply *events, void *arg)
{
	struct dispatch *d = arg;
	long offers = 0;

	if (!events) {
		dispatch_free(d);
		return;
	}
	for (size_t i = 0; i < events->elements; i++) {
		if (!strcmp(events->element[i]->element[0]->str, "offer"))
			offers++;
	}
	qm_event_apply(qm, d->tenant, d->conf, events, NULL);
	if (offers >= qm->cfg->max_offers)
		round_run(d);
	else
		dispatch_free(d);
}

static void round_run(struct dispatch *d)
{
	struct qm_args a = {0};
	struct qm_args q = {0};
	size_t nq = queue_args(d, &q);
	int err;

	if (!nq) {
		qm_args_reset(&q);
		dispatch_free(d);
		return;
	}
	qm_args_addf(&a, "%u", next_rnd(d->qm));
	qm_args_addf(&a, "%ld", d->qm->cfg->max_offers);
	qm_args_addf(&a, "%zu", nq);
	for (int i = 0; i < q.n; i++)
		qm_args_add(&a, q.v[i]);
	a.err |= q.err;
	qm_args_reset(&q);
	err = qm_store_run(d->qm, d->tenant, "dispatch", &a, round_done, d);
	if (err) {
		/* Every waiting caller has a timer; the next event of the
		 * tenant or the next wake-up dispatches again. */
		pbx_log_ctx(d->tenant, NULL);
		PLOG_ERR("dispatch not run: %s", strerror(-err));
		dispatch_free(d);
	}
}

void qm_dispatch_queues(struct qm *qm, const char *tenant,
			struct qm_conf *conf, const char *const *queues,
			size_t n)
{
	struct dispatch *d = calloc(1, sizeof(*d));

	if (!d || !(d->queues = calloc(n ? n : 1, sizeof(*d->queues)))) {
		free(d);
		PLOG_ERR("out of memory: dispatch skipped");
		return;
	}
	d->qm = qm;
	d->conf = qm_conf_ref(conf);
	snprintf(d->tenant, sizeof(d->tenant), "%s", tenant);
	for (; d->n < n; d->n++) {
		d->queues[d->n] = strdup(queues[d->n]);
		if (!d->queues[d->n]) {
			dispatch_free(d);
			return;
		}
	}
	round_run(d);
}
