/* One leg's media: SDP offer/answer, RTP socket, send and relay. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mwlaw.h"
#include "leg.h"
#include "mwcall.h"
#include "pacer.h"
#include "pbx_clock.h"
#include "pbx_log.h"

enum { TE_PT_OURS = 101, PT_CN = 13, TX_MBUF_SIZE = 512 };

const char *leg_sa_str(const struct sa *sa, char *buf, size_t size)
{
	if (re_snprintf(buf, size, "%J", sa) < 0)
		snprintf(buf, size, "?");
	return buf;
}

/* A payload type the leg agreed on (or comfort noise): only such packets
 * may latch a source. */
static bool pt_valid(const struct leg *l, uint8_t pt)
{
	return l->have_codec &&
	       (pt == l->codec.pt || pt == PT_CN ||
		(l->codec.te_pt >= 0 && pt == l->codec.te_pt));
}

static void log_latch(struct leg *l, enum rtp_latch_verdict v,
		      const struct sa *src, uint32_t ssrc)
{
	char a[64], b[64];

	if (v == RTP_LATCH_PASS || v == RTP_LATCH_RUN_ON ||
	    (v == RTP_LATCH_DROP && l->drop_logged))
		return;
	pbx_log_ctx(l->tenant, l->callid);
	if (v == RTP_LATCH_LATCHED) {
		PLOG_INFO("rtp: %s latched to %s (ssrc %08x, %s, SDP %s)",
			  l->who, leg_sa_str(src, a, sizeof(a)), ssrc,
			  l->latch.exact ? "the SDP address"
					 : "a run of packets",
			  leg_sa_str(&l->latch.sdp, b, sizeof(b)));
	} else {
		/* Once per leg: a spray hits every port; the count is in
		 * the "call freed" line. */
		l->drop_logged = true;
		PLOG_INFO("rtp: %s: dropped a packet from %s (%s%s); further "
			  "drops are only counted",
			  l->who, leg_sa_str(src, a, sizeof(a)),
			  !l->latch.open	? "media not open yet"
			  : l->latch.latched ? "latched to "
					     : "not latched yet",
			  l->latch.open && l->latch.latched
				  ? leg_sa_str(&l->latch.src, b, sizeof(b))
				  : "");
	}
	pbx_log_ctx(NULL, NULL);
}

struct leg_totals leg_totals;

static void rtp_recv_handler(const struct sa *src,
			     const struct rtp_header *hdr, struct mbuf *mb,
			     void *arg)
{
	struct leg *l = arg;
	struct mw_rtp_hdr h = {
		.marker = hdr->m,
		.pt = hdr->pt,
		.seq = hdr->seq,
		.ts = hdr->ts,
		.ssrc = hdr->ssrc,
	};
	enum rtp_latch_verdict v;

	/* Packets due from the pacer go out first (pacer.h): a burst of
	 * received packets must not delay them. The leg stays valid: no
	 * tick frees a call. */
	pacer_poll(l->pacer);
	/* Before anything looks at it: not from the peer, not heard. */
	v = rtp_latch_check(&l->latch, src, hdr->ssrc, pt_valid(l, hdr->pt));
	log_latch(l, v, src, hdr->ssrc);
	if (v == RTP_LATCH_DROP || v == RTP_LATCH_RUN_ON) {
		leg_totals.dropped++;
		return;
	}
	l->rx_pkts++;
	leg_totals.rx++;
	mw_rtp_seq_update(&l->seq, hdr->ssrc, hdr->seq, &leg_totals.lost,
			  &leg_totals.late);
	l->rx_bytes += mbuf_get_left(mb);
	if (l->recvh)
		l->recvh(&h, mbuf_buf(mb), mbuf_get_left(mb), l->arg);
}

int leg_open(struct leg *l, const struct mwcall_env *env, const char *who,
	     const char *tenant, const char *callid, leg_recv_h *recvh,
	     void *arg)
{
	int err;

	memset(l, 0, sizeof(*l));
	l->who = who;
	l->tenant = tenant;
	l->callid = callid;
	l->recvh = recvh;
	l->arg = arg;
	l->pacer = env->pacer;
	player_init(&l->out, 0, PLAYER_SILENCE_ULAW, rand_u32(), rand_u16(),
		    rand_u32());
	l->txmb = mbuf_alloc(TX_MBUF_SIZE);
	if (!l->txmb)
		return -ENOMEM;
	err = -sdp_session_alloc(&l->sdp, &env->rtp_ip);
	if (!err)
		err = -sdp_media_add(&l->sdpm, l->sdp, "audio", 0, "RTP/AVP");
	if (!err) {
		err = -rtp_listen(&l->rtp, IPPROTO_UDP, &env->rtp_ip,
				  env->rtp_port_min, env->rtp_port_max, false,
				  rtp_recv_handler, NULL, l);
		if (err)
			PLOG_ERR("no RTP port in %u..%u: %s",
				 env->rtp_port_min, env->rtp_port_max,
				 strerror(-err));
	}
	if (err) {
		leg_close(l);
		return err;
	}
	leg_totals.open++;
	sdp_media_set_lport(l->sdpm, sa_port(rtp_local(l->rtp)));
	return 0;
}

void leg_close(struct leg *l)
{
	if (!l)
		return;
	player_stop(&l->out);
	if (l->rtp)
		leg_totals.open--;
	l->rtp = mem_deref(l->rtp);
	l->sdp = mem_deref(l->sdp); /* and the media and formats in it */
	l->sdpm = NULL;
	memset(l->lfmt, 0, sizeof(l->lfmt));
	l->txmb = mem_deref(l->txmb);
}

static void drop_formats(struct leg *l)
{
	for (size_t i = 0; i < 3; i++)
		l->lfmt[i] = mem_deref(l->lfmt[i]);
}

/* After a codec choice: stream payload type, address and direction. */
static void apply(struct leg *l, const struct offer_codec *c)
{
	const struct sa *ra = sdp_media_raddr(l->sdpm);
	bool was = l->can_send;

	l->codec = *c;
	l->have_codec = true;
	player_set_codec(&l->out, (uint8_t)c->pt,
			 c->law == OFFER_ALAW ? PLAYER_SILENCE_ALAW
					      : PLAYER_SILENCE_ULAW);
	l->raddr = *ra;
	/* A new address re-opens latching; hold (0.0.0.0) keeps it. */
	rtp_latch_sdp(&l->latch, ra);
	/* c=0.0.0.0 (old-style hold), a=recvonly or a=inactive from the
	 * peer (libre mirrors it into our direction): send nothing. */
	l->can_send = sa_isset(ra, SA_ALL) && !sa_is_any(ra) &&
		      (sdp_media_dir(l->sdpm) & SDP_SENDONLY);
	/* Resuming starts a new talkspurt without a sequence gap. */
	if (l->can_send != was)
		relay_resync(&l->relay);
	/* A peer that put us on hold may legitimately send nothing, even
	 * with a=sendonly (many phones play no music on hold): anything but
	 * sendrecv to a real address exempts it from the RTP timeout. */
	rtp_watch_hold(&l->watch,
		       !sa_isset(ra, SA_ALL) || sa_is_any(ra) ||
			       sdp_media_rdir(l->sdpm) != SDP_SENDRECV,
		       pbx_clock_mono_ms());
}

int leg_offer(struct leg *l, enum offer_law first, struct mbuf **mbp)
{
	enum offer_law second = first == OFFER_ULAW ? OFFER_ALAW : OFFER_ULAW;
	char id[8];
	int err;

	drop_formats(l);
	err = sdp_format_add(&l->lfmt[0], l->sdpm, false,
			     first == OFFER_ULAW ? "0" : "8",
			     offer_codec_name(first), 8000, 1, NULL, NULL,
			     NULL, false, NULL);
	if (!err)
		err = sdp_format_add(&l->lfmt[1], l->sdpm, false,
				     second == OFFER_ULAW ? "0" : "8",
				     offer_codec_name(second), 8000, 1, NULL,
				     NULL, NULL, false, NULL);
	snprintf(id, sizeof(id), "%d", TE_PT_OURS);
	if (!err)
		err = sdp_format_add(&l->lfmt[2], l->sdpm, false, id,
				     telev_rtpfmt, 8000, 1, NULL, NULL, NULL,
				     false, "0-15");
	if (!err)
		err = sdp_encode(mbp, l->sdp, true);
	return -err;
}

/* Decodes our part of an offer (offer_codec_trim) into the leg's session.
 * When even that fails, finds out whether the session part or the audio
 * line is to blame, for the reason phrase. */
static int decode_offer(struct leg *l, struct mbuf *mb, const char **why)
{
	size_t len = mbuf_get_left(mb);
	struct sdp_session *tmp = NULL;
	struct mbuf *t = mbuf_alloc(len + 1);
	unsigned trimmed = 0;
	int n, err;

	if (!t)
		return -ENOMEM;
	n = offer_codec_trim((char *)t->buf, t->size, (const char *)mbuf_buf(mb),
			     len, true, &trimmed);
	if (n < 0) {
		mem_deref(t);
		return -ENOMEM; /* cannot happen: the copy only shrinks */
	}
	t->end = (size_t)n;
	if (trimmed)
		PLOG_DEBUG("offer: %u media line(s) besides audio not read "
			   "(answered with port 0)",
			   trimmed);
	err = sdp_decode(l->sdp, t, true);
	if (err == ENOMEM) {
		mem_deref(t);
		return -ENOMEM;
	}
	if (err) {
		*why = "Bad SDP";
		t->pos = 0;
		n = offer_codec_trim((char *)t->buf, t->size,
				     (const char *)mbuf_buf(mb), len, false,
				     NULL);
		t->end = n < 0 ? 0 : (size_t)n;
		/* The same body without the audio line's attributes. */
		if (n >= 0 && !sdp_session_alloc(&tmp, leg_local(l)) &&
		    !sdp_decode(tmp, t, true))
			*why = "Bad SDP Audio Line";
		mem_deref(tmp);
		err = -EBADMSG;
	}
	mem_deref(t);
	return err;
}

int leg_take_offer(struct leg *l, struct mbuf *mb, struct mbuf **mbp,
		   const char **why)
{
	struct offer_codec c;
	size_t pos = mb->pos;
	char id[12];
	int err;

	*why = NULL;
	err = decode_offer(l, mb, why);
	mb->pos = pos;
	if (err)
		return err;
	if (!sdp_media_rport(l->sdpm)) {
		/* No m=audio, port 0, or not RTP/AVP (libre leaves no
		 * remote port on our line then). */
		*why = "No Usable Audio Line";
		return -ENOTSUP;
	}
	err = offer_codec_choose(&c, l->sdpm);
	if (err) {
		*why = "No PCMU or PCMA Offered";
		return err;
	}
	/* Our answer carries exactly the chosen codec (and the peer's
	 * telephone-event type), so both sides know what we send. */
	drop_formats(l);
	snprintf(id, sizeof(id), "%d", c.pt);
	err = sdp_format_add(&l->lfmt[0], l->sdpm, false, id,
			     offer_codec_name(c.law), 8000, 1, NULL, NULL,
			     NULL, false, NULL);
	if (!err && c.te_pt >= 0) {
		snprintf(id, sizeof(id), "%d", c.te_pt);
		err = sdp_format_add(&l->lfmt[1], l->sdpm, false, id,
				     telev_rtpfmt, 8000, 1, NULL, NULL, NULL,
				     false, "0-15");
	}
	if (err)
		return -err;
	apply(l, &c);
	if (mbp)
		return -sdp_encode(mbp, l->sdp, false);
	return 0;
}

int leg_take_answer(struct leg *l, struct mbuf *mb)
{
	struct offer_codec c;
	size_t pos = mb->pos;
	int err;

	err = sdp_decode(l->sdp, mb, false);
	mb->pos = pos;
	if (err)
		return -EBADMSG;
	err = offer_codec_choose(&c, l->sdpm);
	if (err)
		return err;
	apply(l, &c);
	leg_media_open(l);
	return 0;
}

void leg_media_open(struct leg *l)
{
	rtp_latch_open(&l->latch);
}

int leg_encode_answer(struct leg *l, struct mbuf **mbp)
{
	return -sdp_encode(mbp, l->sdp, false);
}

static bool send_mb(struct leg *l)
{
	int err;

	l->txmb->pos = 0;
	err = udp_send(rtp_sock(l->rtp), &l->raddr, l->txmb);
	if (err) {
		if (!l->tx_err_logged) {
			char a[64];

			PLOG_WARN("rtp: send to %s failed: %s",
				  leg_sa_str(&l->raddr, a, sizeof(a)),
				  strerror(err));
			l->tx_err_logged = true;
		}
		return false;
	}
	l->tx_pkts++;
	leg_totals.tx++;
	return true;
}

bool leg_send(struct leg *l, const uint8_t *pkt, size_t len)
{
	if (!l->can_send)
		return false;
	mbuf_rewind(l->txmb);
	if (mbuf_write_mem(l->txmb, pkt, len))
		return false;
	return send_mb(l);
}

void leg_relay(struct leg *l, const struct mw_rtp_hdr *in,
	       const uint8_t *payload, size_t len, enum offer_law from,
	       bool te, uint64_t now_ms)
{
	struct mw_rtp_hdr h;
	uint8_t hdr[MW_RTP_HDR_SIZE];

	if (!l->can_send || !l->have_codec || (te && l->codec.te_pt < 0))
		return;
	relay_stamp(&l->relay, &l->out, in, te ? 0 : (uint32_t)len, te, now_ms,
		    &h);
	h.pt = (uint8_t)(te ? l->codec.te_pt : l->codec.pt);
	mw_rtp_encode(hdr, &h);
	mbuf_rewind(l->txmb);
	if (mbuf_write_mem(l->txmb, hdr, sizeof(hdr)) ||
	    mbuf_write_mem(l->txmb, payload, len))
		return;
	if (!te && from != l->codec.law)
		mwlaw_transcode(l->txmb->buf + MW_RTP_HDR_SIZE,
				l->txmb->buf + MW_RTP_HDR_SIZE, len, from,
				l->codec.law);
	send_mb(l);
}

const struct sa *leg_local(const struct leg *l)
{
	return rtp_local(l->rtp);
}
