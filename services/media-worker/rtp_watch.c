/* RTP inactivity watch: the pure decision behind rtp_timeout_ms. */
#include "rtp_watch.h"

void rtp_watch_arm(struct rtp_watch *w, uint64_t rx_pkts, uint64_t now_ms)
{
	w->armed = true;
	w->since_ms = now_ms;
	w->last_rx_ms = 0;
	w->rx_seen = rx_pkts;
}

void rtp_watch_hold(struct rtp_watch *w, bool held, uint64_t now_ms)
{
	if (w->held && !held)
		w->since_ms = now_ms;
	w->held = held;
}

bool rtp_watch_expired(const struct rtp_watch *w, uint64_t now_ms,
		       uint32_t timeout_ms)
{
	uint64_t base;

	if (!timeout_ms || !w->armed || w->held)
		return false;
	base = w->last_rx_ms > w->since_ms ? w->last_rx_ms : w->since_ms;
	return now_ms >= base && now_ms - base >= timeout_ms;
}

bool rtp_watch_sweep(struct rtp_watch *w, uint64_t rx_pkts, uint64_t now_ms,
		     uint32_t timeout_ms)
{
	/* Any packet counts (comfort noise, telephone-event, a type we did
	 * not agree on): the question is whether the peer is alive. */
	if (rx_pkts != w->rx_seen) {
		w->rx_seen = rx_pkts;
		w->last_rx_ms = now_ms;
	}
	return rtp_watch_expired(w, now_ms, timeout_ms);
}

uint32_t rtp_watch_period_ms(uint32_t timeout_ms)
{
	uint32_t p = timeout_ms / 4;

	if (p < 20)
		return 20;
	return p > 1000 ? 1000 : p;
}
