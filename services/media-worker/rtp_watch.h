/* RTP inactivity watch for one leg: decides when a leg that should be
 * sending has been silent for too long ("no call can hang"). Pure: the
 * leg's receive path only counts packets (it did already); a periodic
 * sweep turns the count into a "last heard" stamp and asks
 * rtp_watch_expired(). No clock and no timer of its own. */
#ifndef RTP_WATCH_H
#define RTP_WATCH_H
#include <stdbool.h>
#include <stdint.h>

/* Embedded in its leg. Zeroed = not armed. */
struct rtp_watch {
	bool armed;	     /* caller answered / callee bridged */
	bool held;	     /* the peer's own SDP says it sends nothing */
	uint64_t since_ms;   /* armed, or back from hold, at */
	uint64_t last_rx_ms; /* sweep that first saw new packets; 0 none */
	uint64_t rx_seen;    /* the leg's packet count at that sweep */
};

/* Starts watching (the leg is now expected to send). rx_pkts: the leg's
 * packet count now, so packets from before (early media) do not count. */
void rtp_watch_arm(struct rtp_watch *w, uint64_t rx_pkts, uint64_t now_ms);

/* The peer's SDP changed: held = it declared it sends nothing (a=sendonly,
 * a=recvonly, a=inactive, c=0.0.0.0). Coming back from hold restarts the
 * window, so a resumed peer gets the whole timeout to start sending. */
void rtp_watch_hold(struct rtp_watch *w, bool held, uint64_t now_ms);

/* The decision: armed, not held, timeout_ms > 0 and nothing heard for at
 * least timeout_ms since the later of since_ms and last_rx_ms. */
bool rtp_watch_expired(const struct rtp_watch *w, uint64_t now_ms,
		       uint32_t timeout_ms);

/* One sweep: notes new packets (rx_pkts moved since the last sweep) as
 * heard now, then decides. A leg is thus ended between timeout_ms and
 * timeout_ms + two sweep periods after its last packet. */
bool rtp_watch_sweep(struct rtp_watch *w, uint64_t rx_pkts, uint64_t now_ms,
		     uint32_t timeout_ms);

/* Sweep period for a timeout: a quarter of it, 20 ms to 1 s. */
uint32_t rtp_watch_period_ms(uint32_t timeout_ms);

#endif
