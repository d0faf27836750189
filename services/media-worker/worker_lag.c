/* Loop lag: how far behind the worker's event loop runs, and the refusal
 * of new calls while it is too far behind.
 *
 * A worker whose loop is behind (its core saturated by setup, or starved
 * by others on the host) answers INVITEs late: past Kamailio's 2 s for
 * the worker's first reply the caller already got 503, and a late 200 is
 * answered to nobody, so the call holds a slot until libre's 2xx timer
 * gives up 32 s later. Enough of those fill the worker, and it refuses
 * calls for half a minute after the load is gone (measured at 750
 * greeting calls/s, issue 17). Refusing at once while behind keeps it at
 * the work it can do: the INVITE gets 503 now (Kamailio tries the other
 * worker), and the heartbeat reports the worker full so the routers place
 * nothing on it until it has caught up.
 *
 * The probe is a libre timer every LAG_PERIOD_MS: how late it fires is
 * the loop's lag; while it is overdue (the loop is busy right now) the
 * time since it was due counts too. */
#include <re.h>

#include "pbx_log.h"
#include "worker_priv.h"

enum {
	LAG_PERIOD_MS = 100,
};

static void lag_handler(void *arg)
{
	struct worker *w = arg;
	uint64_t now = tmr_jiffies();

	w->lag_ms = now > w->lag_due_ms ? (uint32_t)(now - w->lag_due_ms) : 0;
	w->lag_due_ms = now + LAG_PERIOD_MS;
	tmr_start(&w->tmr_lag, LAG_PERIOD_MS, lag_handler, w);
}

void worker_lag_start(struct worker *w)
{
	w->lag_ms = 0;
	w->lag_due_ms = tmr_jiffies() + LAG_PERIOD_MS;
	tmr_start(&w->tmr_lag, LAG_PERIOD_MS, lag_handler, w);
}

void worker_lag_stop(struct worker *w)
{
	tmr_cancel(&w->tmr_lag);
}

uint32_t worker_lag_ms(const struct worker *w)
{
	uint64_t now = tmr_jiffies();
	uint32_t overdue = 0;

	if (tmr_isrunning(&w->tmr_lag) && now > w->lag_due_ms)
		overdue = (uint32_t)(now - w->lag_due_ms);
	return overdue > w->lag_ms ? overdue : w->lag_ms;
}

bool worker_lagging(const struct worker *w)
{
	return w->cfg->overload_lag_ms > 0 &&
	       worker_lag_ms(w) > (uint32_t)w->cfg->overload_lag_ms;
}
