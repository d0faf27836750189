/* Test support: a libre SIP user agent with an RTP socket and counters
 * (see test_ua.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "test_ua.h"

static void copy_pl(char *buf, size_t size, const struct pl *pl)
{
	size_t n = pl && pl->p ? pl->l : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(buf, pl->p, n);
	buf[n] = '\0';
}

static void trace_h(bool tx, enum sip_transp tp, const struct sa *src,
		    const struct sa *dst, const uint8_t *pkt, size_t len,
		    void *arg)
{
	(void)tp;
	(void)arg;
	re_fprintf(stderr, "---- %s %J -> %J\n%b\n", tx ? "sent" : "received",
		   src, dst, pkt, len);
}

void test_ua_sip_trace(struct sip *sip)
{
	if (getenv("TEST_SIP_TRACE"))
		sip_set_trace_handler(sip, trace_h);
}

/* ---- SIP ---- */

static void take_sdp(struct test_ua *ua, const struct sip_msg *msg,
		     bool offer)
{
	if (!mbuf_get_left(msg->mb))
		return;
	cr_assert_eq(sdp_decode(ua->sdp, msg->mb, offer), 0, "%s: bad SDP",
		     ua->name);
	ua->last_rdir = sdp_media_rdir(ua->sdpm);
}

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct test_ua *ua = arg;

	take_sdp(ua, msg, true);
	return sdp_encode(descp, ua->sdp, false);
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct test_ua *ua = arg;

	take_sdp(ua, msg, false);
	ua->answers++;
	return 0;
}

static void progress_h(const struct sip_msg *msg, void *arg)
{
	struct test_ua *ua = arg;

	ua->progress_n++;
	ua->last_progress = msg->scode;
	if (mbuf_get_left(msg->mb) &&
	    msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		take_sdp(ua, msg, false);
		ua->progress_sdp = true;
	}
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct test_ua *ua = arg;

	(void)msg;
	ua->estab = true;
	ua->rx_before_estab = ua->rx.pkts;
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct test_ua *ua = arg;

	ua->closed = true;
	ua->close_err = err;
	ua->close_code = msg ? msg->scode : 0;
}

static void info_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct test_ua *ua = arg;
	struct pl body;

	ua->infos++;
	pl_set_mbuf(&body, msg->mb);
	copy_pl(ua->info_body, sizeof(ua->info_body), &body);
	sip_reply(sip, msg, 200, "OK");
}

static void info_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct test_ua *ua = arg;

	if (err || !msg)
		return;
	ua->info_code = msg->scode;
	if (msg->scode >= 200 && msg->scode < 300)
		ua->info_2xx++;
}

static void answer_now(void *arg)
{
	struct test_ua *ua = arg;
	struct mbuf *mb = NULL;

	cr_assert_eq(sdp_encode(&mb, ua->sdp, false), 0);
	cr_assert_eq(sipsess_answer(ua->sess, 200, "OK", mb, ""), 0);
	mem_deref(mb);
}

/* An INVITE to us: 200 at once if answer_delay_ms is 0, else 180 (or 183
 * with SDP and early_pkts packets of early media) and 200 after
 * answer_delay_ms; reject_code refuses it. */
static void conn_h(const struct sip_msg *msg, void *arg)
{
	struct test_ua *ua = arg;
	const struct sip_hdr *h;
	struct mbuf *mb = NULL;
	uint16_t code = 180;

	ua->invites++;
	if (ua->sess) {
		sip_treply(NULL, ua->sip, msg, 486, "Busy Here");
		return;
	}
	if ((h = sip_msg_xhdr(msg, "X-Pbx-Tenant")))
		copy_pl(ua->inv_tenant, sizeof(ua->inv_tenant), &h->val);
	if ((h = sip_msg_xhdr(msg, "X-Pbx-Dest")))
		copy_pl(ua->inv_dest, sizeof(ua->inv_dest), &h->val);
	if ((h = sip_msg_xhdr(msg, "X-Pbx-Call")))
		copy_pl(ua->inv_call, sizeof(ua->inv_call), &h->val);
	copy_pl(ua->inv_from_user, sizeof(ua->inv_from_user),
		&msg->from.uri.user);
	if (ua->reject_code) {
		sip_treply(NULL, ua->sip, msg, ua->reject_code, "Refused");
		return;
	}
	take_sdp(ua, msg, true);
	if (!ua->answer_delay_ms)
		code = 200;
	else if (ua->early_pkts)
		code = 183;
	if (code != 180)
		cr_assert_eq(sdp_encode(&mb, ua->sdp, false), 0);
	cr_assert_eq(sipsess_accept(&ua->sess, ua->sock, msg, code,
				    code == 200 ? "OK" : "Ringing", ua->name,
				    "application/sdp", mb, NULL, NULL, false,
				    offer_h, answer_h, estab_h, info_h, NULL,
				    close_h, ua, ""),
		     0);
	mem_deref(mb);
	if (code == 183)
		test_ua_talk(ua, ua->early_pkts, ua->early_fill);
	if (code < 200 && ua->answer_delay_ms != TEST_UA_NEVER)
		tmr_start(&ua->tmr_answer, ua->answer_delay_ms, answer_now,
			  ua);
}

void test_ua_invite(struct test_ua *ua, const char *uri, const char *hdrs)
{
	struct mbuf *mb = NULL;
	char from[80];

	re_snprintf(from, sizeof(from), "sip:%s@127.0.0.1", ua->name);
	cr_assert_eq(sdp_encode(&mb, ua->sdp, true), 0);
	cr_assert_eq(sipsess_connect(&ua->sess, ua->sock, uri, NULL, from,
				     ua->name, NULL, 0, "application/sdp", mb,
				     NULL, NULL, false, offer_h, answer_h,
				     progress_h, estab_h, info_h, NULL,
				     close_h, ua, "%s", hdrs ? hdrs : ""),
		     0);
	mem_deref(mb);
}

void test_ua_hangup(struct test_ua *ua)
{
	ua->sess = mem_deref(ua->sess);
}

void test_ua_modify(struct test_ua *ua, enum sdp_dir dir)
{
	struct mbuf *mb = NULL;

	sdp_media_set_ldir(ua->sdpm, dir);
	cr_assert_eq(sdp_encode(&mb, ua->sdp, true), 0);
	cr_assert_eq(sipsess_modify(ua->sess, mb), 0);
	mem_deref(mb);
}

void test_ua_info(struct test_ua *ua, const char *ctype, const char *body)
{
	struct mbuf *mb = mbuf_alloc(64);

	cr_assert_not_null(mb);
	cr_assert_eq(mbuf_write_str(mb, body), 0);
	mb->pos = 0;
	ua->info_code = 0;
	cr_assert_eq(sipsess_info(ua->sess, ctype, mb, info_resp_h, ua), 0);
	mem_deref(mb);
}

/* ---- RTP ---- */

static void rtp_h(const struct sa *src, const struct rtp_header *hdr,
		  struct mbuf *mb, void *arg)
{
	struct test_ua *ua = arg;
	struct test_ua_rx *rx = &ua->rx;
	const uint8_t *p = mbuf_buf(mb);
	size_t n = mbuf_get_left(mb);
	bool fill = n > 0;

	(void)src;
	if (rx->pkts && (uint16_t)(rx->last_seq + 1) != hdr->seq)
		rx->seq_gaps++;
	rx->pkts++;
	rx->last_seq = hdr->seq;
	rx->last_ms = pbx_clock_mono_ms();
	rx->markers += hdr->m;
	if (rx->pkts > 1 && hdr->ssrc != rx->ssrc)
		rx->ssrc_changes++;
	rx->ssrc = hdr->ssrc;
	if (hdr->pt == TEST_UA_TE_PT) {
		if (!rx->te_pkts++ || hdr->ts != rx->te_ts)
			rx->te_events++;
		rx->te_ts = hdr->ts;
		return;
	}
	if (rx->pt < 0)
		rx->pt = hdr->pt;
	else if (hdr->pt != rx->pt)
		rx->pt_other++;
	else if (hdr->ts != rx->last_ts + rx->last_len)
		rx->ts_jumps++;
	rx->last_ts = hdr->ts;
	rx->last_len = (uint32_t)n; /* G.711: one byte per sample */
	if (n <= sizeof(ua->rx_audio) - ua->rx_audio_len) {
		memcpy(ua->rx_audio + ua->rx_audio_len, p, n);
		ua->rx_audio_len += n;
	}
	if (ua->audio_h)
		ua->audio_h(p, n, ua->live_arg);
	for (size_t i = 0; i < n && fill; i++)
		fill = p[i] == rx->fill;
	rx->fill_pkts += fill;
}

void test_ua_rx_reset(struct test_ua *ua, uint8_t fill)
{
	memset(&ua->rx, 0, sizeof(ua->rx));
	ua->rx_audio_len = 0;
	ua->rx.pt = -1;
	ua->rx.fill = fill;
}

/* To the address of the peer's SDP. */
static void rtp_out(struct test_ua *ua, bool marker, uint8_t pt, uint32_t ts,
		    const uint8_t *payload, size_t len)
{
	struct mbuf *mb = mbuf_alloc(RTP_HEADER_SIZE + len);

	cr_assert_not_null(mb);
	mb->pos = mb->end = RTP_HEADER_SIZE;
	cr_assert_eq(mbuf_write_mem(mb, payload, len), 0);
	mb->pos = RTP_HEADER_SIZE;
	cr_assert_eq(rtp_send(ua->rtp, sdp_media_raddr(ua->sdpm), false,
			      marker, pt, ts, mb),
		     0);
	mem_deref(mb);
}

static void tx_tick(void *arg)
{
	struct test_ua *ua = arg;
	size_t n = ua->tx_len - ua->tx_pos;

	if (!n)
		return;
	if (n > TEST_UA_PKT)
		n = TEST_UA_PKT;
	rtp_out(ua, ua->tx_pos == 0, ua->pt, (uint32_t)ua->tx_pos,
		ua->tx_buf + ua->tx_pos, n);
	ua->tx_pos += n;
	ua->tx_pkts++;
	ua->tx_last_ms = pbx_clock_mono_ms();
	tmr_start(&ua->tmr_tx, 20, tx_tick, ua);
}

/* Live frames: the timer runs on a 20 ms grid from the first one, so
 * the stream keeps real time however late one wake-up is. */
static void live_tick(void *arg)
{
	struct test_ua *ua = arg;
	uint8_t frame[TEST_UA_PKT];
	uint64_t now = pbx_clock_mono_ms(), due;

	if (!ua->src_h)
		return;
	if (!ua->tx_last_ms)
		ua->tx_last_ms = now;
	ua->src_h(frame, ua->live_arg);
	rtp_out(ua, ua->tx_pkts == 0, ua->pt,
		(uint32_t)ua->tx_pkts * TEST_UA_PKT, frame, TEST_UA_PKT);
	ua->tx_pkts++;
	due = ua->tx_last_ms + 20 * (uint64_t)ua->tx_pkts;
	tmr_start(&ua->tmr_tx, due > now ? due - now : 0, live_tick, ua);
}

void test_ua_live(struct test_ua *ua,
		  void (*audio_h)(const uint8_t *p, size_t n, void *arg),
		  void (*src_h)(uint8_t out[TEST_UA_PKT], void *arg),
		  void *arg)
{
	ua->audio_h = audio_h;
	ua->src_h = src_h;
	ua->live_arg = arg;
	ua->tx_pkts = 0;
	ua->tx_last_ms = 0;
	if (src_h)
		tmr_start(&ua->tmr_tx, 0, live_tick, ua);
	else
		tmr_cancel(&ua->tmr_tx);
}

void test_ua_play(struct test_ua *ua, const uint8_t *audio, size_t len)
{
	cr_assert_leq(len, sizeof(ua->tx_buf));
	memcpy(ua->tx_buf, audio, len);
	ua->tx_len = len;
	ua->tx_pos = 0;
	ua->tx_pkts = 0;
	tmr_start(&ua->tmr_tx, 0, tx_tick, ua);
}

void test_ua_talk(struct test_ua *ua, unsigned pkts, uint8_t fill)
{
	size_t len = (size_t)pkts * TEST_UA_PKT;

	cr_assert_leq(len, sizeof(ua->tx_buf));
	memset(ua->tx_buf, fill, len);
	ua->tx_len = len;
	ua->tx_pos = 0;
	ua->tx_pkts = 0;
	tmr_start(&ua->tmr_tx, 0, tx_tick, ua);
}

void test_ua_send_4733(struct test_ua *ua, int event, uint32_t ts)
{
	for (int i = 0; i < 6; i++) {
		bool end = i >= 3;
		uint16_t dur = (uint16_t)(160 * (end ? 4 : i + 1));
		uint8_t p[4] = {(uint8_t)event,
				(uint8_t)((end ? 0x80 : 0) | 10),
				(uint8_t)(dur >> 8), (uint8_t)dur};

		rtp_out(ua, i == 0, TEST_UA_TE_PT, ts, p, sizeof(p));
	}
}

struct rtp_sock *test_ua_move_rtp(struct test_ua *ua)
{
	struct rtp_sock *old = ua->rtp;
	struct sa ip;

	cr_assert_eq(sa_set_str(&ip, "127.0.0.1", 0), 0);
	cr_assert_eq(rtp_listen(&ua->rtp, IPPROTO_UDP, &ip, 50000, 59998,
				false, rtp_h, NULL, ua),
		     0);
	cr_assert_neq(sa_port(rtp_local(ua->rtp)), sa_port(rtp_local(old)));
	sdp_media_set_lport(ua->sdpm, sa_port(rtp_local(ua->rtp)));
	return old;
}

void test_ua_send_from(struct test_ua *ua, struct rtp_sock *rs, unsigned pkts,
		       uint8_t fill)
{
	struct rtp_sock *cur = ua->rtp;
	uint8_t payload[TEST_UA_PKT];

	memset(payload, fill, sizeof(payload));
	ua->rtp = rs; /* rtp_out() sends from ua->rtp */
	for (unsigned i = 0; i < pkts; i++)
		rtp_out(ua, i == 0, ua->pt, i * TEST_UA_PKT, payload,
			sizeof(payload));
	ua->rtp = cur;
}

/* ---- lifecycle ---- */

void test_ua_formats(struct test_ua *ua, uint8_t pt, bool te)
{
	const struct list *l = sdp_media_format_lst(ua->sdpm, true);
	struct le *le = list_head(l);
	char fmt[4];

	/* The media's list holds the only reference to each format. */
	while (le) {
		struct sdp_format *f = le->data;

		le = le->next;
		mem_deref(f);
	}
	ua->pt = pt;
	ua->te = te;
	snprintf(fmt, sizeof(fmt), "%u", pt);
	cr_assert_eq(sdp_format_add(NULL, ua->sdpm, false, fmt,
				    pt == 8   ? "PCMA"
				    : pt == 0 ? "PCMU"
					      : "G722",
				    8000, 1, NULL, NULL, NULL, false, NULL),
		     0);
	if (te)
		cr_assert_eq(sdp_format_add(NULL, ua->sdpm, false, "101",
					    telev_rtpfmt, 8000, 1, NULL, NULL,
					    NULL, false, "0-15"),
			     0);
}

void test_ua_open(struct test_ua *ua, const char *name, uint8_t pt, bool te)
{
	struct sa ip;

	ua->name = name;
	tmr_init(&ua->tmr_answer);
	tmr_init(&ua->tmr_tx);
	test_ua_rx_reset(ua, 0);
	cr_assert_eq(sa_set_str(&ip, "127.0.0.1", 0), 0);
	cr_assert_eq(sip_alloc(&ua->sip, NULL, 32, 32, 32, name, NULL, NULL),
		     0);
	cr_assert_eq(sip_transp_add(ua->sip, SIP_TRANSP_UDP, &ip), 0);
	test_ua_sip_trace(ua->sip);
	cr_assert_eq(
		sip_transp_laddr(ua->sip, &ua->sip_addr, SIP_TRANSP_UDP, NULL),
		0);
	cr_assert_eq(sipsess_listen(&ua->sock, ua->sip, 32, conn_h, ua), 0);
	cr_assert_eq(rtp_listen(&ua->rtp, IPPROTO_UDP, &ip, 50000, 59998,
				false, rtp_h, NULL, ua),
		     0);
	cr_assert_eq(sdp_session_alloc(&ua->sdp, &ip), 0);
	cr_assert_eq(sdp_media_add(&ua->sdpm, ua->sdp, "audio",
				   sa_port(rtp_local(ua->rtp)), "RTP/AVP"),
		     0);
	test_ua_formats(ua, pt, te);
}

void test_ua_close(struct test_ua *ua)
{
	if (!ua->sip)
		return;
	tmr_cancel(&ua->tmr_answer);
	tmr_cancel(&ua->tmr_tx);
	ua->sess = mem_deref(ua->sess);
	ua->sock = mem_deref(ua->sock);
	sip_close(ua->sip, true);
	ua->sip = mem_deref(ua->sip);
	ua->rtp = mem_deref(ua->rtp);
	ua->sdp = mem_deref(ua->sdp);
}
