/* One leg's media: its SDP session (offer or answer), the codec both sides
 * agreed on, the RTP socket, where our packets go and whether they may go
 * (hold), and our outbound stream (struct player: prompts, ringback and
 * relayed packets all share its SSRC, seq and timestamp). No SIP here:
 * the call owns the sipsess and feeds SDP bodies in. */
#ifndef LEG_H
#define LEG_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

#include "mw_rtp.h"
#include "offer_codec.h"
#include "player.h"
#include "relay.h"
#include "rtp_latch.h"
#include "rtp_watch.h"

struct mwcall_env;
struct pacer;

/* One received RTP packet; payload is only valid during the call. */
typedef void(leg_recv_h)(const struct mw_rtp_hdr *hdr, const uint8_t *payload,
			 size_t len, void *arg);

/* Embedded in its call (caller leg) or ring (callee leg). */
struct leg {
	struct sdp_session *sdp;
	struct sdp_media *sdpm;	    /* owned by sdp */
	struct sdp_format *lfmt[3]; /* our formats, owned by sdpm */
	struct rtp_sock *rtp;
	struct mbuf *txmb; /* reused for every packet we send */

	bool have_codec;
	struct offer_codec codec; /* what we send (and expect) */
	struct sa raddr;	  /* the peer's SDP address */
	bool can_send;		  /* address usable, direction allows */

	struct player out; /* our outbound stream */
	struct relay relay;

	/* Which source is the peer (rtp_latch.h): packets from any other
	 * are dropped before anything else sees them, so they neither reach
	 * the DTMF detectors or the other leg nor keep a dead leg alive. */
	struct rtp_latch latch;
	bool drop_logged; /* the first dropped packet was logged */

	/* For log lines from the receive path: "caller" or "callee", and
	 * the call's tenant and Call-ID (owned by the call). */
	const char *who, *tenant, *callid;

	/* rx_pkts (packets from the peer) is the only thing the receive
	 * path updates for the inactivity watch; the sweep reads it.
	 * Dropped packets are in latch.dropped. */
	uint64_t rx_pkts, rx_bytes, tx_pkts;
	struct mw_rtp_seq seq; /* the peer's stream: lost and late */
	struct rtp_watch watch; /* armed by the call (answer, bridge) */
	bool tx_err_logged;

	leg_recv_h *recvh;
	void *arg;
	struct pacer *pacer; /* the worker's (env), polled on receive */
};

/* What every leg of this process did (one worker per process), for the
 * metrics (worker_metrics.c): legs open now, and RTP packets received
 * from peers, sent, dropped (not from the latched peer), lost (sequence
 * gaps) and late (behind the highest sequence number seen). */
struct leg_totals {
	unsigned long open;
	unsigned long rx, tx, dropped, lost, late;
};
extern struct leg_totals leg_totals;

/* Opens the RTP socket (a free port of env's range) and the SDP session.
 * who ("caller"/"callee"), tenant and callid name the leg in log lines and
 * must outlive it. 0 or a negative errno; on error nothing is left to
 * close. */
int leg_open(struct leg *l, const struct mwcall_env *env, const char *who,
	     const char *tenant, const char *callid, leg_recv_h *recvh,
	     void *arg);
/* NULL-safe on a zeroed leg; frees the socket first, so no receive
 * callback can follow. */
void leg_close(struct leg *l);

/* Our offer (callee legs): PCMU and PCMA, `first` first, and
 * telephone-event/8000 as payload type 101. */
int leg_offer(struct leg *l, enum offer_law first, struct mbuf **mbp);
/* The peer's offer in mb (INVITE or re-INVITE): picks the codec, answers
 * with exactly it (plus the peer's telephone-event type) and encodes the
 * answer into *mbp (NULL: only decode). Only the first audio line is read
 * whole: other media lines are refused (port 0) whatever their
 * attributes say (offer_codec_trim). -EBADMSG unparsable ("Bad SDP" or
 * "Bad SDP Audio Line" in *why), -ENOTSUP no usable audio line or no
 * G.711 in it (*why says which). mb's position is kept. */
int leg_take_offer(struct leg *l, struct mbuf *mb, struct mbuf **mbp,
		   const char **why);
/* The peer's answer to our offer (18x or 200); the peer has our SDP, so
 * its packets are taken from now on (leg_media_open). */
int leg_take_answer(struct leg *l, struct mbuf *mb);
/* Our SDP reached the peer (our 183 or 200 to an offer): from now on its
 * packets may come, and the first valid ones latch (rtp_latch.h). */
void leg_media_open(struct leg *l);
/* Our current answer again (183 then 200 carry the same SDP). */
int leg_encode_answer(struct leg *l, struct mbuf **mbp);

/* Sends a complete RTP packet (header included) to the peer, if allowed.
 * Returns true if it went out. */
bool leg_send(struct leg *l, const uint8_t *pkt, size_t len);
/* Relays a packet received on the other leg (its codec law `from`) on
 * this leg's stream: re-stamped, transcoded if the laws differ; a
 * telephone-event packet (te) goes out only if this leg negotiated them. */
void leg_relay(struct leg *l, const struct mw_rtp_hdr *in,
	       const uint8_t *payload, size_t len, enum offer_law from,
	       bool te, uint64_t now_ms);

const struct sa *leg_local(const struct leg *l);
/* "ip:port" for logs (pbx_log is printf, which has no %J). */
const char *leg_sa_str(const struct sa *sa, char *buf, size_t size);

#endif
