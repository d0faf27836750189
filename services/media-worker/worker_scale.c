/* Scaling without a restart, the worker's side: its RTP range claimed in
 * Redis at start and renewed with each periodic heartbeat (a lease, so a
 * worker that dies frees its range), and the operator's drain mark read
 * on the same round trip (pbx_rtp_lease.h). docs/operations.md. */
#include <errno.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_rtp_lease.h"
#include "prompt_store.h"
#include "worker_priv.h"

enum {
	/* Renewed every heartbeat_ms; a few missed renewals (Redis slow, the
	 * loop behind) must not free the range under live calls. */
	LEASE_MIN_MS = 10000,
	LEASE_HEARTBEATS = 5,
	/* Redis unreachable: each try may block the loop for the store's
	 * timeout (a host that drops packets) and logs a line; try this
	 * seldom until it answers. */
	RENEW_RETRY_MS = 5000,
};

static int store_vcmd(void *arg, struct redisReply **rp, const char *fmt,
		      va_list ap)
{
	return prompt_store_vcommand(arg, rp, fmt, ap);
}

static unsigned lease_ms(const struct worker *w)
{
	long ms = w->cfg->heartbeat_ms * LEASE_HEARTBEATS;

	return (unsigned)(ms > LEASE_MIN_MS ? ms : LEASE_MIN_MS);
}

/* The drain mark read with the lease: "" none, "wait", "exit". */
static void drain_mark(struct worker *w, const char *mark)
{
	bool op = mark[0] != '\0', ex = !strcmp(mark, PBX_DRAIN_EXIT);

	if (op == w->drain_op && ex == w->drain_exit)
		return;
	PLOG_INFO("operator drain mark: %s (%u calls)",
		  !op ? "none: in service" : ex ? "drain, exit after the last "
						  "call"
						: "drain",
		  w->load);
	w->drain_op = op;
	w->drain_exit = ex;
	worker_drain_apply(w);
}

int worker_scale_claim(struct worker *w)
{
	const struct mw_config *cfg = w->cfg;
	struct pbx_rtp_claim q = {
		.worker = cfg->worker_id,
		.min = (unsigned)cfg->rtp_port_min,
		.max = (unsigned)cfg->rtp_port_max,
		.block = (unsigned)cfg->rtp_port_block,
		.lease_ms = lease_ms(w),
	};
	struct pbx_rtp_lease l;
	int err;

	w->rtp_min = (uint16_t)q.min;
	w->rtp_max = (uint16_t)q.max;
	err = pbx_rtp_lease_claim(store_vcmd, w->store, &q, &l);
	switch (err) {
	case 0:
		break;
	case -EADDRINUSE:
		PLOG_ERR("RTP ports %u-%u overlap %u-%u of live worker %s: "
			 "not starting (give this worker another range, or "
			 "rtp_port_block to take a free one)",
			 q.min, q.max, l.min, l.max, l.other);
		return err;
	case -ENOSPC:
		PLOG_ERR("RTP pool %u-%u has no free block of %u ports left "
			 "(pbxctl worker list): not starting",
			 q.min, q.max, q.block);
		return err;
	default:
		if (q.block) {
			PLOG_ERR("RTP pool %u-%u: cannot allocate a block "
				 "without Redis (%s): not starting",
				 q.min, q.max, strerror(-err));
			return err;
		}
		/* A worker starts without Redis (prompts are read
		 * lazily); its range is claimed at the first heartbeat
		 * that reaches Redis. */
		PLOG_WARN("RTP ports %u-%u not claimed yet (Redis: %s); "
			  "retried with the heartbeats",
			  q.min, q.max, strerror(-err));
		w->rtp_retry_ms = pbx_clock_mono_ms() + RENEW_RETRY_MS;
		return 0;
	}
	w->rtp_min = (uint16_t)l.min;
	w->rtp_max = (uint16_t)l.max;
	w->rtp_claimed = true;
	PLOG_INFO("RTP ports %u-%u claimed%s", l.min, l.max,
		  q.block ? " from the pool" : "");
	/* An exit mark left by an earlier run: this run starts drained
	 * and stays (it is the replacement), it does not exit at once. */
	if (!strcmp(l.drain, PBX_DRAIN_EXIT)) {
		pbx_worker_drain_settle(store_vcmd, w->store, cfg->worker_id);
		snprintf(l.drain, sizeof(l.drain), "%s", PBX_DRAIN_WAIT);
	}
	w->drain_op = l.drain[0] != '\0';
	w->drain_exit = false;
	if (w->drain_op)
		PLOG_INFO("operator drain mark: drain (pbxctl worker undrain "
			  "%s puts it in service)",
			  cfg->worker_id);
	w->draining = w->draining || w->drain_op;
	return 0;
}

void worker_scale_renew(struct worker *w)
{
	struct pbx_rtp_claim q = {
		.worker = w->cfg->worker_id,
		.min = w->rtp_min,
		.max = w->rtp_max,
		.lease_ms = lease_ms(w),
	};
	struct pbx_rtp_lease l;
	int err;

	if (w->stopping || pbx_clock_mono_ms() < w->rtp_retry_ms)
		return;
	err = pbx_rtp_lease_claim(store_vcmd, w->store, &q, &l);
	w->rtp_retry_ms = err && err != -EADDRINUSE
				  ? pbx_clock_mono_ms() + RENEW_RETRY_MS
				  : 0;
	if (err == -EADDRINUSE) {
		/* Our lease lapsed (Redis lost it, or this worker was
		 * frozen past it) and another worker took the ports. */
		if (!w->rtp_conflict_logged)
			PLOG_ERR("RTP ports %u-%u: worker %s holds %u-%u now; "
				 "calls of both may cross: restart one of "
				 "them with another range",
				 q.min, q.max, l.other, l.min, l.max);
		w->rtp_conflict_logged = true;
		return;
	}
	if (err)
		return; /* Redis down: logged by the store; next beat */
	if (!w->rtp_claimed || w->rtp_conflict_logged)
		PLOG_INFO("RTP ports %u-%u claimed", l.min, l.max);
	w->rtp_claimed = true;
	w->rtp_conflict_logged = false;
	drain_mark(w, l.drain);
}

void worker_scale_release(struct worker *w)
{
	if (!w->rtp_claimed)
		return;
	w->rtp_claimed = false;
	if (w->drain_op && w->drain_exit)
		pbx_worker_drain_settle(store_vcmd, w->store,
					w->cfg->worker_id);
	pbx_rtp_lease_release(store_vcmd, w->store, w->cfg->worker_id);
}
