/* RTP source latching for one leg: which packets arriving on a leg's port
 * come from its peer. A worker's RTP ports are easy to find (one range,
 * one socket per leg) and UDP sources are whatever a sender writes, so
 * without this anyone could spray RTP or RFC 4733 events at every port
 * and be heard, or press keys, in other people's calls. Pure: the leg's
 * receive path asks rtp_latch_check() for every packet; no socket, no
 * clock, no log.
 *
 * The rule (docs/services/media-worker.md, "RTP latching"):
 *  - Nothing is taken before the leg is open: both sides have each
 *    other's SDP (our 183/200 went to the caller; the callee's answer
 *    came). Before that no peer can know our port.
 *  - A valid packet (one of the negotiated payload types, or CN) from
 *    exactly the peer's SDP address (IP and port) latches at once
 *    (symmetric RTP, RFC 4961), and wins over a latch made by the rule
 *    below.
 *  - Otherwise a source latches once it sent RTP_LATCH_RUN valid packets
 *    in a row with one SSRC, no other candidate's packet in between. If
 *    the SDP address is routable (not private: RFC 1918, CGNAT, link
 *    local, ULA) only sources with the SDP IP qualify (a port-changing
 *    NAT or a phone sending from another port); if it is private the
 *    peer is behind a NAT and any source qualifies.
 *  - Once latched, only the latched source passes (any SSRC: a phone may
 *    restart its stream). Everything else is dropped and counted.
 *  - A new SDP address (re-INVITE; not c=0.0.0.0) re-opens latching:
 *    the old source still passes until a source latches by the rules
 *    above (the old one too, by sending a run of its own).
 */
#ifndef RTP_LATCH_H
#define RTP_LATCH_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

/* Packets in a row with one SSRC that latch a source other than the
 * exact SDP address: 100 ms of a 20 ms stream. A blind spray sends one
 * or two packets to each port per pass; it cannot line up five on one
 * port before the peer's own packets break the run. */
enum { RTP_LATCH_RUN = 5 };

enum rtp_latch_verdict {
	RTP_LATCH_DROP,	   /* not from the peer: drop, counted */
	RTP_LATCH_RUN_ON,  /* dropped (counted) too, but part of a run that
			    * may latch: the normal start of a NATed leg */
	RTP_LATCH_PASS,	   /* from the latched source */
	RTP_LATCH_LATCHED, /* passes, and latched (or moved) the source */
};

/* Embedded in its leg; zeroed = closed (drops everything). */
struct rtp_latch {
	bool open;	  /* both sides have each other's SDP */
	bool have_sdp;	  /* sdp is a usable address */
	struct sa sdp;	  /* the peer's SDP address */
	bool sdp_private; /* ... is private: the peer may be behind NAT */
	bool latched;
	bool exact;	  /* the latched source is the SDP address */
	bool relatch;	  /* a new SDP address: latching re-opened */
	struct sa src;	  /* the latched source */
	struct sa cand;	  /* the candidate run, while (re)latching */
	uint32_t cand_ssrc;
	unsigned cand_n;
	uint64_t dropped; /* packets dropped, all reasons */
	uint64_t latches; /* times a source latched (1 normally) */
};

/* The peer's SDP address (offer or answer, first or re-INVITE). An
 * address that is not usable (unset, 0.0.0.0: hold) keeps the previous
 * one. A new address while latched re-opens latching. */
void rtp_latch_sdp(struct rtp_latch *l, const struct sa *sdp);
/* Both sides have each other's SDP: packets may now come. */
void rtp_latch_open(struct rtp_latch *l);
/* One packet from src with ssrc; valid: its payload type is one the leg
 * negotiated (or comfort noise). */
enum rtp_latch_verdict rtp_latch_check(struct rtp_latch *l,
				       const struct sa *src, uint32_t ssrc,
				       bool valid);
/* A private address (RFC 1918, 100.64/10, 169.254/16, fc00::/7,
 * fe80::/10): one a NAT may stand in front of. Loopback is not. */
bool rtp_latch_addr_private(const struct sa *sa);

#endif
