/* One media call: sipsess UAS + SDP offer/answer + RTP socket + player. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mwcall.h"
#include "pacer.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "player.h"

enum { CALL_STR_MAX = 256 };

/* Owned by the worker's call table; owns everything below. */
struct mwcall {
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;	   /* owned by sdp */
	struct sdp_format *fmt;	   /* our answer's codec, owned by sdpm */
	struct sdp_format *te_fmt; /* telephone-event, owned by sdpm */
	struct rtp_sock *rtp;
	struct mbuf *txmb; /* reused for every packet we send */
	struct pacer *pacer;
	struct pacer_entry pe;
	struct player player;
	struct offer_codec codec;
	struct sa raddr; /* where our RTP goes (caller's SDP) */
	bool can_send;	 /* raddr usable and direction allows */

	char *tenant;
	char *callid;
	char *caller;
	char *dialed;
	bool answered;	  /* 200 OK sent */
	bool established; /* ACK received */
	uint64_t play_seq;
	uint64_t start_ms;

	uint64_t rx_pkts, rx_bytes, tx_pkts;
	bool tx_err_logged;

	mwcall_close_h *closeh;
	mwcall_done_h *doneh;
	void *arg;
};

static char *pl_dupz(const struct pl *pl)
{
	size_t n = pl && pl->p ? pl->l : 0;
	char *s;

	if (n > CALL_STR_MAX)
		n = CALL_STR_MAX;
	s = malloc(n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, pl->p, n);
	s[n] = '\0';
	return s;
}

/* "ip:port" for logs (pbx_log is printf, which has no %J). */
static const char *sa_str(const struct sa *sa, char *buf, size_t size)
{
	if (re_snprintf(buf, size, "%J", sa) < 0)
		snprintf(buf, size, "?");
	return buf;
}

static void set_log_ctx(const struct mwcall *call)
{
	pbx_log_ctx(call->tenant, call->callid);
}

/* Picks the codec from an offer in mb and rebuilds our answer formats.
 * Used for the INVITE and for re-INVITEs. */
static int negotiate(struct mwcall *call, struct mbuf *mb)
{
	struct offer_codec c;
	const struct sa *ra;
	char id[12];
	size_t pos = mb->pos;
	int err;

	err = sdp_decode(call->sdp, mb, true);
	mb->pos = pos;
	if (err)
		return -EBADMSG;
	err = offer_codec_choose(&c, call->sdpm);
	if (err)
		return err;

	/* Our answer carries exactly the chosen codec (and the caller's
	 * telephone-event type), so both sides know what we send. */
	call->fmt = mem_deref(call->fmt);
	call->te_fmt = mem_deref(call->te_fmt);
	snprintf(id, sizeof(id), "%d", c.pt);
	err = sdp_format_add(&call->fmt, call->sdpm, false, id,
			     offer_codec_name(c.law), 8000, 1, NULL, NULL,
			     NULL, false, NULL);
	if (!err && c.te_pt >= 0) {
		snprintf(id, sizeof(id), "%d", c.te_pt);
		err = sdp_format_add(&call->te_fmt, call->sdpm, false, id,
				     "telephone-event", 8000, 1, NULL, NULL,
				     NULL, false, "0-15");
	}
	if (err)
		return -err;

	call->codec = c;
	player_set_codec(&call->player, (uint8_t)c.pt,
			 c.law == OFFER_ALAW ? PLAYER_SILENCE_ALAW
					     : PLAYER_SILENCE_ULAW);
	ra = sdp_media_raddr(call->sdpm);
	call->raddr = *ra;
	/* c=0.0.0.0 (old-style hold) or a=recvonly from us means: keep the
	 * clock running, send nothing. */
	call->can_send = sa_isset(ra, SA_ALL) && !sa_is_any(ra) &&
			 (sdp_media_dir(call->sdpm) & SDP_SENDONLY);
	return 0;
}

static void rtp_recv_handler(const struct sa *src,
			     const struct rtp_header *hdr, struct mbuf *mb,
			     void *arg)
{
	struct mwcall *call = arg;

	(void)src;
	(void)hdr;
	/* Counted only: nothing consumes caller audio in this slice. */
	call->rx_pkts++;
	call->rx_bytes += mbuf_get_left(mb);
}

static void send_packet(const uint8_t *pkt, size_t len, void *arg)
{
	struct mwcall *call = arg;
	int err;

	mbuf_rewind(call->txmb);
	err = mbuf_write_mem(call->txmb, pkt, len);
	call->txmb->pos = 0;
	if (!err)
		err = udp_send(rtp_sock(call->rtp), &call->raddr, call->txmb);
	if (err) {
		if (!call->tx_err_logged) {
			char a[64];

			set_log_ctx(call);
			PLOG_WARN("rtp: send to %s failed: %s",
				  sa_str(&call->raddr, a, sizeof(a)),
				  strerror(err));
			call->tx_err_logged = true;
		}
		return;
	}
	call->tx_pkts++;
}

static void tick_handler(uint64_t periods, uint64_t now_ms, void *arg)
{
	struct mwcall *call = arg;
	bool done;

	/* On hold the prompt still runs on the clock (the router hears
	 * PLAY_DONE on time) but no packet, so no sequence number, is used. */
	if (call->can_send)
		done = player_tick(&call->player, periods, now_ms, send_packet,
				   call);
	else
		done = player_skip(&call->player, periods);
	if (!done)
		return;
	pacer_remove(call->pacer, &call->pe);
	set_log_ctx(call);
	PLOG_DEBUG("play %llu done", (unsigned long long)call->play_seq);
	call->doneh(call, call->play_seq, call->arg);
	pbx_log_ctx(NULL, NULL);
}

static int offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			 void *arg)
{
	struct mwcall *call = arg;
	char a[64];
	int err;

	set_log_ctx(call);
	err = negotiate(call, msg->mb);
	if (!err)
		err = -sdp_encode(descp, call->sdp, false);
	if (err)
		PLOG_WARN("re-INVITE: offer refused: %s", strerror(-err));
	else
		PLOG_INFO("re-INVITE: %s/%d to %s%s",
			  offer_codec_name(call->codec.law), call->codec.pt,
			  sa_str(&call->raddr, a, sizeof(a)),
			  call->can_send ? "" : " (not sending)");
	pbx_log_ctx(NULL, NULL);
	return err ? -err : 0; /* libre wants a positive errno */
}

static int answer_handler(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return 0; /* we never send offers, so no answers arrive */
}

static void estab_handler(const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;

	(void)msg;
	call->established = true;
	set_log_ctx(call);
	PLOG_DEBUG("ACK received, call established");
	pbx_log_ctx(NULL, NULL);
}

static void close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;

	(void)msg;
	set_log_ctx(call);
	/* libre 1.1.0 reports BYE and CANCEL alike (ECONNRESET). */
	PLOG_INFO("caller side closed: %s",
		  err == ECONNRESET ? "BYE/CANCEL" : strerror(err));
	pbx_log_ctx(NULL, NULL);
	call->closeh(call, err, call->arg);
}

int mwcall_accept(struct mwcall **callp, const struct mwcall_env *env,
		  const struct sip_msg *msg, const char *tenant,
		  mwcall_close_h *closeh, mwcall_done_h *doneh, void *arg)
{
	struct mwcall *call;
	struct mbuf *answer = NULL;
	char la[64], ra[64];
	int err;

	if (!callp || !env || !msg || !tenant || !closeh || !doneh)
		return -EINVAL;
	if (!mbuf_get_left(msg->mb) ||
	    !msg_ctype_cmp(&msg->ctyp, "application", "sdp"))
		return -ENOTSUP; /* no offer: late offer is not supported */

	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->closeh = closeh;
	call->doneh = doneh;
	call->arg = arg;
	call->pacer = env->pacer;
	call->start_ms = pbx_clock_mono_ms();
	pacer_entry_init(&call->pe, tick_handler, call);
	player_init(&call->player, 0, PLAYER_SILENCE_ULAW, rand_u32(),
		    rand_u16(), rand_u32());
	call->tenant = strdup(tenant);
	call->callid = pl_dupz(&msg->callid);
	call->caller = pl_dupz(&msg->from.uri.user);
	call->dialed = pl_dupz(&msg->uri.user);
	call->txmb = mbuf_alloc(PLAYER_PKT_SIZE);
	if (!call->tenant || !call->callid || !call->caller || !call->dialed ||
	    !call->txmb) {
		err = -ENOMEM;
		goto out;
	}

	err = -sdp_session_alloc(&call->sdp, &env->rtp_ip);
	if (!err)
		err = -sdp_media_add(&call->sdpm, call->sdp, "audio", 0,
				     "RTP/AVP");
	if (err)
		goto out;
	err = negotiate(call, msg->mb);
	if (err)
		goto out;

	err = -rtp_listen(&call->rtp, IPPROTO_UDP, &env->rtp_ip,
			  env->rtp_port_min, env->rtp_port_max, false,
			  rtp_recv_handler, NULL, call);
	if (err) {
		PLOG_ERR("no RTP port in %u..%u: %s", env->rtp_port_min,
			 env->rtp_port_max, strerror(-err));
		goto out;
	}
	sdp_media_set_lport(call->sdpm, sa_port(rtp_local(call->rtp)));
	err = -sdp_encode(&answer, call->sdp, false);
	if (err)
		goto out;

	err = -sipsess_accept(&call->sess, env->sock, msg, 200, "OK",
			      env->cuser, "application/sdp", answer, NULL,
			      NULL, false, offer_handler, answer_handler,
			      estab_handler, NULL, NULL, close_handler, call,
			      "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n");
	if (err)
		goto out;
	call->answered = true;
	PLOG_INFO("answered: %s/%d, RTP %s -> %s%s",
		  offer_codec_name(call->codec.law), call->codec.pt,
		  sa_str(rtp_local(call->rtp), la, sizeof(la)),
		  sa_str(&call->raddr, ra, sizeof(ra)),
		  call->can_send ? "" : " (not sending)");
out:
	mem_deref(answer);
	if (err) {
		mwcall_free(call);
		return err;
	}
	*callp = call;
	return 0;
}

int mwcall_reject(struct mwcall *call, uint16_t code, const char *reason)
{
	if (!call)
		return -EINVAL;
	if (call->answered)
		return -EALREADY;
	return -sipsess_reject(call->sess, code, reason, "");
}

void mwcall_free(struct mwcall *call)
{
	if (!call)
		return;
	if (call->callid && call->rtp) {
		set_log_ctx(call);
		PLOG_INFO("call freed after %llu ms: rtp rx %llu pkts / %llu "
			  "bytes, tx %llu pkts",
			  (unsigned long long)(pbx_clock_mono_ms() -
					       call->start_ms),
			  (unsigned long long)call->rx_pkts,
			  (unsigned long long)call->rx_bytes,
			  (unsigned long long)call->tx_pkts);
	}
	if (call->pacer)
		pacer_remove(call->pacer, &call->pe);
	player_stop(&call->player);
	/* Socket first: no RTP callback may reach a half-freed call. */
	mem_deref(call->rtp);
	/* Sends BYE (or 486 if never answered); libre keeps the session
	 * alive by itself until that transaction ends. */
	mem_deref(call->sess);
	mem_deref(call->sdp);
	mem_deref(call->txmb);
	free(call->tenant);
	free(call->callid);
	free(call->caller);
	free(call->dialed);
	free(call);
}

int mwcall_play(struct mwcall *call, const uint8_t *audio, size_t len,
		uint32_t loops, uint64_t seq)
{
	int err;

	err = player_start(&call->player, audio, len, loops,
			   pbx_clock_mono_ms());
	if (err)
		return err;
	call->play_seq = seq;
	err = pacer_add(call->pacer, &call->pe);
	if (err)
		player_stop(&call->player);
	return err;
}

void mwcall_stop_play(struct mwcall *call)
{
	player_stop(&call->player);
	pacer_remove(call->pacer, &call->pe);
}

const char *mwcall_tenant(const struct mwcall *call)
{
	return call->tenant;
}

const char *mwcall_callid(const struct mwcall *call)
{
	return call->callid;
}

const char *mwcall_caller(const struct mwcall *call)
{
	return call->caller;
}

const char *mwcall_dialed(const struct mwcall *call)
{
	return call->dialed;
}

enum offer_law mwcall_law(const struct mwcall *call)
{
	return call->codec.law;
}

bool mwcall_answered(const struct mwcall *call)
{
	return call->answered;
}
