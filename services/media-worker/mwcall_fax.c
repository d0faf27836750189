/* Fax on the caller leg: the receiver fed from the caller's RTP, its
 * modem audio sent on the call's pacer slot every 20 ms, and the end
 * (T.30 done, hang-up, RTP timeout, the maximum length). The end asked
 * from the pacer's walk runs from the call's own timer: it ends the call,
 * which must not happen inside the walk. A re-INVITE offering T.38
 * (m=image udptl t38) switches the receiver to T.38: UDPTL on the leg's
 * own RTP port (a UDP helper takes the packets before RTP sees them),
 * our answer's image line on the same port. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fax_recv.h"
#include "mwcall_priv.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "udptl.h"

enum {
	T38_REDUNDANCY = 3,	/* previous IFPs in every UDPTL packet */
	T38_DATAGRAM_OURS = 400, /* our T38FaxMaxDatagram */
	T38_DATAGRAM_MIN = 100,	/* a peer's smaller limit is raised */
	T38_DATAGRAM_MAX = 1400, /* ... and a larger one cut to a packet */
};

int mwcall_fax(struct mwcall *call, struct fax_recv *rx, uint64_t seq)
{
	int err;

	if (!call || !rx)
		return -EINVAL;
	if (call->fax.rx || call->fax.stop)
		return -EBUSY;
	if ((call->ring && call->ring->bridged) || call->vm.phase != VM_NONE)
		return -EALREADY;
	if (!call->answered) {
		err = mwcall_answer_caller(call, seq);
		if (err)
			return err;
	}
	mwcall_player_stop(call); /* a prompt or ringback ends here */
	call->fax.rx = rx;
	call->fax.seq = seq;
	call->fax.start_ms = pbx_clock_mono_ms();
	err = pacer_add(call->env->pacer, &call->pe);
	if (err) {
		call->fax.rx = NULL;
		return err;
	}
	PLOG_INFO("fax: receiving (%s)",
		  offer_codec_name(call->leg.codec.law));
	return 0;
}

/* FAX_DONE once; the handler takes the receiver. */
static void fax_report(struct mwcall *call, const char *why)
{
	struct mwcall_event ev = {
		.kind = MWCALL_EV_FAX_DONE, .detail = why, .seq = call->fax.seq};

	if (call->fax.reported)
		return;
	call->fax.reported = true;
	call->fax.stop = why;
	tmr_cancel(&call->fax.tmr);
	pacer_remove(call->env->pacer, &call->pe);
	mwcall_emit(call, &ev);
}

static void t38_back_to_audio(struct mwcall *call);

static void fax_finish(void *arg)
{
	struct mwcall *call = arg;
	struct mwcall_event closed = {.kind = MWCALL_EV_CLOSED,
				      .detail = "fax received",
				      .ended = true};
	bool t38 = call->fax.t38_state == T38_ON;

	mwcall_log_ctx(call);
	if (call->fax.keep) {
		/* The scenario goes on: FAX_DONE says so, the router's walk
		 * sends what comes next (a prompt, a hang-up). */
		call->fax.continues = true;
		fax_report(call, call->fax.stop);
		if (t38)
			t38_back_to_audio(call);
		pbx_log_ctx(NULL, NULL);
		return;
	}
	fax_report(call, call->fax.stop);
	mwcall_emit(call, &closed); /* frees the call: BYE */
	pbx_log_ctx(NULL, NULL);
}

static void fax_end_soon(struct mwcall *call, const char *why)
{
	if (call->fax.stop)
		return;
	call->fax.stop = why;
	tmr_start(&call->fax.tmr, 0, fax_finish, call);
}

static void t38_reinvite(void *arg);

void mwcall_fax_tick(struct mwcall *call, uint64_t periods, uint64_t now_ms)
{
	uint8_t frame[FAX_RECV_FRAME];
	uint8_t pkt[PLAYER_PKT_SIZE];
	enum offer_law law = call->leg.codec.law;

	if (call->fax.stop)
		return;
	/* A stalled loop: the receiver's clock goes on from here (T.30
	 * timers have seconds of slack), the peer gets no burst. */
	if (periods > PLAYER_MAX_CATCHUP)
		periods = PLAYER_MAX_CATCHUP;
	while (periods--) {
		fax_recv_tick(call->fax.rx, frame, law);
		/* 0 while a prompt owns the stream: nothing to send; over
		 * T.38 the tick sent UDPTL itself. */
		if (call->leg.can_send && !fax_recv_is_t38(call->fax.rx) &&
		    player_frame(&call->leg.out, frame, pkt, now_ms))
			leg_send(&call->leg, pkt, sizeof(pkt));
		if (fax_recv_done(call->fax.rx))
			break;
	}
	if (call->fax.t38_offer && call->fax.t38_state == T38_NONE &&
	    !fax_recv_done(call->fax.rx) &&
	    fax_recv_cng_heard(call->fax.rx)) {
		/* SIP goes out from the call's timer, not the pacer's walk. */
		call->fax.t38_state = T38_OFFERED;
		tmr_start(&call->fax.t38tmr, 0, t38_reinvite, call);
	}
	if (fax_recv_done(call->fax.rx)) {
		fax_end_soon(call, "done");
	} else if (now_ms - call->fax.start_ms >= MWCALL_FAX_MAX_MS) {
		mwcall_log_ctx(call);
		PLOG_WARN("fax: still running after %u ms: ended",
			  (unsigned)MWCALL_FAX_MAX_MS);
		pbx_log_ctx(NULL, NULL);
		fax_recv_hangup(call->fax.rx);
		fax_end_soon(call, "max_length");
	}
}

void mwcall_fax_audio(struct mwcall *call, const struct mw_rtp_hdr *hdr,
		      const uint8_t *payload, size_t len)
{
	if (!call->fax.stop)
		fax_recv_packet(call->fax.rx, hdr->seq, payload, len,
				call->leg.codec.law);
}

void mwcall_fax_stop(struct mwcall *call, const char *why)
{
	if (!call->fax.rx || call->fax.reported)
		return;
	/* Phase E with what was received; the pages so far are kept. */
	fax_recv_hangup(call->fax.rx);
	fax_report(call, why);
}

struct fax_recv *mwcall_fax_take(struct mwcall *call)
{
	struct fax_recv *rx = call ? call->fax.rx : NULL;

	if (call)
		call->fax.rx = NULL;
	return rx;
}

uint32_t mwcall_fax_ms(const struct mwcall *call)
{
	return call->fax.start_ms
		       ? (uint32_t)(pbx_clock_mono_ms() - call->fax.start_ms)
		       : 0;
}

/* ---- T.38 ---- */

static void t38_send(const uint8_t *pkt, size_t len, void *arg)
{
	struct mwcall *call = arg;
	struct mbuf *mb = call->fax.t38mb;
	int err;

	mbuf_rewind(mb);
	err = mbuf_write_mem(mb, pkt, len);
	mb->pos = 0;
	if (!err)
		err = udp_send(rtp_sock(call->leg.rtp), &call->fax.t38_peer, mb);
	if (err && !call->leg.tx_err_logged) {
		call->leg.tx_err_logged = true;
		mwcall_log_ctx(call);
		PLOG_WARN("fax: UDPTL not sent: %s", strerror(err));
		pbx_log_ctx(NULL, NULL);
	}
	call->leg.tx_pkts++;
}

/* An RTP packet of the call's audio (version 2, its payload type):
 * audio the sender sent before the switch, still arriving (jitter). Fed
 * to UDPTL it would parse (a "sequence number" near 0x8000) and make every
 * real packet after it look old. A UDPTL packet looks so only with a
 * sequence number of 0x8000 and more, hours into a fax. */
static bool stale_rtp(const struct mwcall *call, const uint8_t *p, size_t n)
{
	const struct offer_codec *c = &call->leg.codec;
	int pt = n > 12 ? p[1] & 0x7f : -1;

	return n > 12 && (p[0] & 0xc0) == 0x80 &&
	       (pt == c->pt || pt == c->te_pt || pt == 13);
}

/* UDPTL from the peer, on the RTP port: consumed once the fax is on
 * T.38 (from the image line's address only); RTP goes on to libre
 * otherwise. The RTP inactivity watch counts these packets too. */
static bool t38_recv(struct sa *src, struct mbuf *mb, void *arg)
{
	struct mwcall *call = arg;

	if (!call->fax.rx || call->fax.t38_state != T38_ON)
		return false; /* audio again: RTP for libre */
	if (!sa_cmp(src, &call->fax.t38_peer, SA_ADDR) ||
	    stale_rtp(call, mbuf_buf(mb), mbuf_get_left(mb)))
		return true; /* not the peer's UDPTL: dropped */
	call->leg.rx_pkts++;
	call->leg.rx_bytes += mbuf_get_left(mb);
	if (!call->fax.stop)
		fax_recv_udptl(call->fax.rx, mbuf_buf(mb), mbuf_get_left(mb));
	return true;
}

static bool has_image_line(const struct mbuf *mb)
{
	static const char needle[] = "\nm=image ";
	size_t n = mbuf_get_left(mb);

	return n && memmem(mbuf_buf(mb), n, needle, sizeof(needle) - 1);
}

/* The image line of the leg's SDP session, with what we do. */
static int t38_media(struct mwcall *call)
{
	struct sdp_media *m;
	char dg[16];
	int err;

	if (call->fax.t38m)
		return 0;
	err = sdp_media_add(&m, call->leg.sdp, "image",
			    sa_port(rtp_local(call->leg.rtp)), "udptl");
	if (err)
		return err;
	snprintf(dg, sizeof(dg), "%d", T38_DATAGRAM_OURS);
	err = sdp_format_add(NULL, m, false, "t38", NULL, 0, 0, NULL, NULL,
			     NULL, false, NULL);
	err = err ? err : sdp_media_set_lattr(m, false, "T38FaxVersion", "0");
	err = err ? err
		  : sdp_media_set_lattr(m, false, "T38MaxBitRate", "14400");
	err = err ? err
		  : sdp_media_set_lattr(m, false, "T38FaxRateManagement",
					"transferredTCF");
	err = err ? err
		  : sdp_media_set_lattr(m, false, "T38FaxMaxBuffer", "2000");
	err = err ? err
		  : sdp_media_set_lattr(m, false, "T38FaxMaxDatagram", "%s",
					dg);
	err = err ? err
		  : sdp_media_set_lattr(m, false, "T38FaxUdpEC",
					"t38UDPRedundancy");
	call->fax.t38m = m; /* owned by the session either way */
	if (!err && !call->fax.t38mb) {
		call->fax.t38mb = mbuf_alloc(UDPTL_IFP_MAX * 2);
		if (!call->fax.t38mb)
			err = ENOMEM;
	}
	return err;
}

/* The peer's T38FaxMaxDatagram, bounded; theirs is what our packets must
 * fit. */
static size_t peer_datagram(const struct sdp_media *m)
{
	const char *v = sdp_media_rattr(m, "T38FaxMaxDatagram");
	long n = v ? strtol(v, NULL, 10) : 0;

	if (n <= 0)
		n = T38_DATAGRAM_OURS; /* not said: the usual */
	if (n < T38_DATAGRAM_MIN)
		n = T38_DATAGRAM_MIN;
	if (n > T38_DATAGRAM_MAX)
		n = T38_DATAGRAM_MAX;
	return (size_t)n;
}

/* The peer's image line is decoded: the fax goes to T.38 (or, on T.38
 * already, follows a new address). 0, or a positive errno (refused). */
static int t38_switch(struct mwcall *call)
{
	const struct sa *raddr = sdp_media_raddr(call->fax.t38m);
	const char *ec = sdp_media_rattr(call->fax.t38m, "T38FaxUdpEC");
	unsigned red = ec && !strcmp(ec, "t38UDPRedundancy") ? T38_REDUNDANCY
							      : 0;
	char a[64];
	int err;

	if (!sa_isset(raddr, SA_ALL)) {
		PLOG_WARN("fax: T.38 without an address refused");
		return EPROTO;
	}
	call->fax.t38_peer = *raddr;
	if (!fax_recv_is_t38(call->fax.rx)) {
		err = fax_recv_t38(call->fax.rx, red,
				   peer_datagram(call->fax.t38m), t38_send,
				   call);
		if (err) {
			PLOG_WARN("fax: T.38 refused: %s",
				  err == -EBUSY ? "pages already arrived "
						  "over audio"
						: strerror(-err));
			return err == -EBUSY ? EBUSY : EPROTO;
		}
	}
	if (!call->fax.uh) {
		err = udp_register_helper(&call->fax.uh,
					  rtp_sock(call->leg.rtp), 0, NULL,
					  t38_recv, call);
		if (err)
			return err;
	}
	call->fax.t38_state = T38_ON;
	tmr_cancel(&call->fax.t38tmr);
	/* Our audio goes quiet: the image line replaces it. */
	sdp_media_set_disabled(call->leg.sdpm, true);
	PLOG_INFO("fax: on T.38 (UDPTL to %s, redundancy %u, datagram %zu)",
		  leg_sa_str(&call->fax.t38_peer, a, sizeof(a)), red,
		  peer_datagram(call->fax.t38m));
	return 0;
}

/* An audio offer (no image line, or one at port 0) while the fax runs:
 * on T.38 before the first page the receiver goes back to audio modems
 * (T.30 starts again); after a page spandsp 0.0.6 cannot carry the T.30
 * session over (fax_recv_audio), so the fax ends here with the pages
 * received kept and T.30's result recorded (ended "t38 to audio"), and
 * the call goes to audio all the same: BYE, or the scenario's next node
 * heard over audio. Either way the audio path then answers the offer
 * (its c= and m= become the leg's). On audio already: nothing to do. */
static int t38_to_audio(struct mwcall *call)
{
	int err;

	if (call->fax.t38_state != T38_ON)
		return 0;
	call->fax.t38_state = T38_REFUSED; /* no T.38 offer of ours again */
	err = fax_recv_audio(call->fax.rx);
	if (!err) {
		PLOG_INFO("fax: the caller went back to audio: T.30 starts "
			  "again on the audio modems");
		return 0;
	}
	PLOG_WARN("fax: the caller went back to audio %s: the fax ends with "
		  "the pages received",
		  err == -EBUSY ? "after a page" : strerror(-err));
	fax_recv_hangup(call->fax.rx);
	fax_end_soon(call, "t38 to audio");
	return 0;
}

int mwcall_fax_offer(struct mwcall *call, struct mbuf *mb,
		     struct mbuf **descp, bool *handled)
{
	size_t pos = mb->pos;
	int err;

	*handled = false;
	if (!call->fax.rx || call->fax.stop)
		return 0;
	if (!has_image_line(mb))
		return t38_to_audio(call);
	err = t38_media(call);
	if (err) {
		*handled = true;
		PLOG_ERR("fax: no T.38 media line: %s", strerror(err));
		return err;
	}
	err = sdp_decode(call->leg.sdp, mb, true);
	mb->pos = pos;
	if (err || !sdp_media_rport(call->fax.t38m)) {
		/* Not a T.38 offer after all (port 0, or unreadable): the
		 * audio path reads it again and says what is wrong. */
		return err ? 0 : t38_to_audio(call);
	}
	*handled = true;
	err = t38_switch(call);
	if (err)
		return err;
	err = sdp_encode(descp, call->leg.sdp, false);
	return err;
}

/* The audio line of an answer to our re-INVITE becomes the leg's (its c=
 * and m=: the peer may move its RTP with it). */
static void audio_answer(struct mwcall *call, const struct sip_msg *msg)
{
	char a[64];
	int err = leg_take_answer(&call->leg, msg->mb);

	if (err)
		PLOG_WARN("fax: the answer's audio line not taken: %s",
			  strerror(-err));
	else
		PLOG_INFO("fax: audio to %s",
			  leg_sa_str(&call->leg.raddr, a, sizeof(a)));
}

/* Our re-INVITE's answer: a 2xx. To our T.38 offer: with an image port
 * the fax goes to T.38; without, it stays on audio. To our re-INVITE back
 * to audio after a fax on T.38: the audio line. */
int mwcall_fax_answer(struct mwcall *call, const struct sip_msg *msg)
{
	int err;

	if (call->fax.t38_state == T38_BACK) {
		call->fax.t38_state = T38_REFUSED;
		audio_answer(call, msg);
		return 0;
	}
	if (!call->fax.rx || call->fax.t38_state != T38_OFFERED)
		return 0;
	tmr_cancel(&call->fax.t38tmr);
	err = sdp_decode(call->leg.sdp, msg->mb, false);
	if (!err && sdp_media_rport(call->fax.t38m) && !call->fax.stop) {
		err = t38_switch(call);
		if (!err)
			return 0;
	}
	PLOG_INFO("fax: the caller answered our T.38 offer without T.38 "
		  "(%s): audio",
		  err ? strerror(err) : "no image port");
	call->fax.t38_state = T38_REFUSED;
	sdp_media_set_disabled(call->leg.sdpm, false);
	audio_answer(call, msg);
	return 0;
}

static void t38_refused(void *arg)
{
	struct mwcall *call = arg;

	if (call->fax.t38_state != T38_OFFERED)
		return;
	mwcall_log_ctx(call);
	/* libre reports no error response to a re-INVITE: no 2xx in time
	 * is a refusal (a 488 comes in milliseconds). */
	PLOG_INFO("fax: no T.38 answer within %u ms (refused): audio",
		  (unsigned)MWCALL_T38_ANSWER_MS);
	call->fax.t38_state = T38_REFUSED;
	sdp_media_set_disabled(call->leg.sdpm, false);
	pbx_log_ctx(NULL, NULL);
}

static void t38_reinvite(void *arg)
{
	struct mwcall *call = arg;
	struct mbuf *mb = NULL;
	int err;

	mwcall_log_ctx(call);
	err = call->fax.stop ? ECANCELED : t38_media(call);
	if (!err) {
		sdp_media_set_disabled(call->leg.sdpm, true);
		err = sdp_encode(&mb, call->leg.sdp, true);
	}
	if (!err)
		err = sipsess_modify(call->sess, mb);
	mem_deref(mb);
	if (err) {
		PLOG_WARN("fax: no T.38 re-INVITE: %s (audio)",
			  strerror(err));
		call->fax.t38_state = T38_REFUSED;
		sdp_media_set_disabled(call->leg.sdpm, false);
	} else {
		PLOG_INFO("fax: CNG heard: re-INVITE to T.38");
		tmr_start(&call->fax.t38tmr, MWCALL_T38_ANSWER_MS,
			  t38_refused, call);
	}
	pbx_log_ctx(NULL, NULL);
}

void mwcall_fax_t38_offer(struct mwcall *call, bool on)
{
	if (call)
		call->fax.t38_offer = on;
}

void mwcall_fax_keep(struct mwcall *call, bool on)
{
	if (call)
		call->fax.keep = on;
}

bool mwcall_fax_continues(const struct mwcall *call)
{
	return call && call->fax.continues;
}

/* A fax on T.38 ended and the call goes on: our re-INVITE puts it back
 * on audio (image line at port 0, audio line on), so the next node's
 * prompt is heard. Its answer's audio line becomes the leg's
 * (mwcall_fax_answer: the peer may answer from a new address); a
 * refusal leaves a call that the next node hangs up or plays to in vain,
 * never a stuck one. */
static void t38_back_to_audio(struct mwcall *call)
{
	struct mbuf *mb = NULL;
	int err;

	tmr_cancel(&call->fax.t38tmr);
	call->fax.t38_state = T38_BACK;
	if (call->fax.t38m)
		sdp_media_set_disabled(call->fax.t38m, true);
	sdp_media_set_disabled(call->leg.sdpm, false);
	err = sdp_encode(&mb, call->leg.sdp, true);
	if (!err)
		err = sipsess_modify(call->sess, mb);
	mem_deref(mb);
	if (err) {
		call->fax.t38_state = T38_REFUSED;
		PLOG_WARN("fax: no re-INVITE back to audio: %s",
			  strerror(err));
	} else {
		PLOG_INFO("fax: T.38 done, re-INVITE back to audio");
	}
}

void mwcall_fax_free(struct mwcall *call)
{
	call->fax.uh = mem_deref(call->fax.uh);
	call->fax.t38mb = mem_deref(call->fax.t38mb);
	tmr_cancel(&call->fax.t38tmr);
	tmr_cancel(&call->fax.tmr);
	fax_recv_free(call->fax.rx); /* not taken: its TIFF is closed */
	call->fax.rx = NULL;
}
