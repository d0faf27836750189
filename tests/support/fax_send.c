/* fax_send: a fax machine on a real call for the e2e suites. Calls
 * <number> through the edge (libre SIP, PCMU, RTP on its own port), sends
 * a TIFF with spandsp's T.30 sender (tests/support/fax_peer.c) paced at
 * 20 ms, and ends when the far side hangs up, T.30 ends, or the timeout
 * passes. With loss_permille it drops that share of the packets both ways
 * (random; a dropped outgoing packet still uses its sequence number, so
 * the receiver sees the gap; a dropped incoming one is fed to the sender's
 * modem as lost audio), and with jitter_ms it delays each outgoing packet
 * by a random 0..jitter_ms (so packets also overtake each other), as a
 * lossy, jittery network between a fax machine and the PBX would.
 * T.38 (t38 mode): "invite" re-INVITEs to m=image udptl t38 a second after
 * the call is up and, once the far end answers with its port, sends the
 * fax from spandsp's T.38 terminal in UDPTL packets (the project's
 * udptl.c, 3 redundant IFPs each) instead of audio; "accept" takes the
 * far end's T.38 re-INVITE the same way; "refuse" answers such a re-INVITE
 * 488 and goes on over audio. The loss and jitter apply to UDPTL packets
 * too. "back": as "invite", then after the first page over T.38 it
 * re-INVITEs back to audio (image line at port 0) and its terminal goes
 * quiet; "move": as "invite", and a re-INVITE back to audio from the far
 * end is answered with a new RTP port (only audio arriving there counts
 * in after=, the old port's in old=).
 * Prints one line: "code=<final SIP response or 200> result=<T.30 code>
 * pages=<pages sent> closed=<bye|timeout|...> ... transport=<audio|t38>
 * reinvites=<T.38 offers received> ... after=<packets of a 700 Hz tone
 * received: the e2e suite's prompt when the scenario goes on after the
 * fax> to_audio=<re-INVITEs back from T.38 to audio> back=<our re-INVITEs
 * back to audio sent>/<answered with audio> old=<tone packets at the
 * port we moved away from> text=<spandsp's text>".
 * Exit 0 when the call was answered and the fax ended; 1 otherwise.
 *
 * usage: fax_send <local ip> <sip port> <edge ip:port> <number> <tiff>
 *                 [ecm 0|1] [timeout_s] [loss_permille] [make_pages]
 *                 [jitter_ms] [t38: off|invite|accept|refuse]
 *        fax_send compare <sent.tif> <received.tif> [header]
 *        fax_send maketiff <out.tif> <pages>
 * compare prints the pages of both and exits 0 when the received pages are
 * the sent ones: the same count and widths, rows within 2 %, black pixels
 * within 3 % per page; with "header", black pixels compared below the
 * top 10-point band, where the received pages must carry a header line
 * (500 black pixels or more, and not the sent band's). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re.h>
#include <spandsp.h>

#include "fax_peer.h"
#include "udptl.h"

enum { QUEUE_MAX = 64, T38_RED = 3, T38_DATAGRAM = 400 };
enum t38_mode { T38_OFF, T38_INVITE, T38_ACCEPT, T38_REFUSE, T38_BACK, T38_MOVE };

/* Outgoing packets held back by the simulated jitter. */
struct delayed {
	struct mbuf *mb;
	uint64_t due;
};

struct sender {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct rtp_sock *rtp;
	struct fax_peer *fax;
	/* T.38 */
	enum t38_mode mode;
	const char *tiff;
	bool ecm;
	struct sdp_media *image;
	t38_terminal_state_t *t38; /* once switched */
	struct udp_helper *uh;
	struct udptl_tx utx;
	struct udptl_rx urx;
	struct sa t38_peer;
	struct tmr tmr_reinvite;
	bool t38_done;
	int t38_code;
	unsigned t38_pages;
	unsigned reinvites;
	struct tmr tmr_tx, tmr_end;
	uint64_t t0;
	uint32_t ts;
	unsigned sent, lost;
	unsigned loss_permille, jitter_ms;
	unsigned lost_rx;
	unsigned rx_after; /* audio packets after T.30 ended */
	unsigned to_audio; /* re-INVITEs from T.38 back to audio */
	/* "back": our re-INVITE back to audio after page 1 (sent, and
	 * answered with an audio port); the T.38 terminal then goes quiet. */
	struct tmr tmr_back;
	unsigned back_sent, back_ok;
	bool t38_quiet;
	/* "move": a re-INVITE back to audio is answered from a new RTP
	 * port; only audio there counts in rx_after, the old port's in
	 * rx_old. */
	struct rtp_sock *rtp2;
	unsigned rx_old;
	struct delayed q[QUEUE_MAX];
	struct tmr tmr_q;
	uint16_t code;
	bool answered;
	const char *closed;
};

static struct sender S;

static void finish(const char *why)
{
	if (!S.closed)
		S.closed = why;
	tmr_cancel(&S.tmr_tx);
	re_cancel();
}

static bool lose(void)
{
	return S.loss_permille && (unsigned)(rand() % 1000) < S.loss_permille;
}

/* Where our packets go: the audio line's address, or the image line's. */
static const struct sa *dst(void)
{
	return S.t38 ? &S.t38_peer : sdp_media_raddr(S.sdpm);
}

/* Sends the held packets that are due, earliest first (as a network
 * with that delay would deliver them); re-arms for the next one. */
static void queue_run(void *arg)
{
	uint64_t now = tmr_jiffies(), next;
	size_t pick;

	(void)arg;
	for (;;) {
		next = 0;
		pick = QUEUE_MAX;
		for (size_t i = 0; i < QUEUE_MAX; i++) {
			if (S.q[i].mb && (!next || S.q[i].due < next)) {
				next = S.q[i].due;
				pick = i;
			}
		}
		if (pick == QUEUE_MAX)
			return;
		if (next > now)
			break;
		udp_send(rtp_sock(S.rtp), dst(), S.q[pick].mb);
		S.q[pick].mb = mem_deref(S.q[pick].mb);
	}
	tmr_start(&S.tmr_q, next - now, queue_run, NULL);
}

static void send_later(struct mbuf *mb)
{
	uint64_t due = tmr_jiffies() + (uint64_t)(rand() % (S.jitter_ms + 1));

	for (size_t i = 0; i < QUEUE_MAX; i++) {
		if (!S.q[i].mb) {
			S.q[i].mb = mem_ref(mb);
			S.q[i].due = due;
			queue_run(NULL);
			return;
		}
	}
	udp_send(rtp_sock(S.rtp), dst(), mb); /* full */
}

/* One packet through the simulated network: lost, delayed, or sent. */
static void net_send(struct mbuf *mb)
{
	if (lose())
		S.lost++;
	else if (S.jitter_ms)
		send_later(mb);
	else
		udp_send(rtp_sock(S.rtp), dst(), mb);
}

static void tx_tick(void *arg)
{
	uint8_t frame[FAX_PEER_FRAME];
	struct mbuf *mb = mbuf_alloc(RTP_HEADER_SIZE + sizeof(frame));
	uint64_t now = tmr_jiffies(), due;

	(void)arg;
	if (!mb)
		return;
	if (S.t38) {
		/* The terminal's clock: its IFPs go out from t38_tx. */
		mem_deref(mb);
		if (!S.t38_quiet)
			t38_terminal_send_timeout(S.t38, FAX_PEER_FRAME);
		S.sent++;
		due = S.t0 + 20 * (uint64_t)S.sent;
		tmr_start(&S.tmr_tx, due > now ? due - now : 0, tx_tick, NULL);
		if (S.t38_done)
			finish("t30");
		return;
	}
	fax_peer_tx(S.fax, frame, false);
	mb->pos = mb->end = RTP_HEADER_SIZE;
	mbuf_write_mem(mb, frame, sizeof(frame));
	mb->pos = 0;
	/* rtp_encode numbers the packet; a lost one is numbered, not sent. */
	if (!rtp_encode(S.rtp, false, S.sent == 0, 0, S.ts, mb)) {
		mb->pos = 0;
		net_send(mb);
	}
	mem_deref(mb);
	S.ts += FAX_PEER_FRAME;
	S.sent++;
	due = S.t0 + 20 * (uint64_t)S.sent;
	tmr_start(&S.tmr_tx, due > now ? due - now : 0, tx_tick, NULL);
	if (fax_peer_done(S.fax, NULL, NULL))
		finish("t30");
}

/* A packet of the 700 Hz tone the e2e suite plays after the fax (the
 * scenario's next node): Goertzel power at 700 Hz against the packet's
 * energy. Fax modems and tones (300-bit/s V.21 at 1650/1850 Hz, CED
 * 2100 Hz, the image modems' 1700-1800 Hz carriers) stay far below. */
static bool tone700(const uint8_t *p, size_t n)
{
	const double k = 2.0 * cos(2.0 * M_PI * 700.0 / 8000.0);
	double s1 = 0, s2 = 0, energy = 0, power;

	if (n < 80)
		return false;
	for (size_t i = 0; i < n; i++) {
		double x = ulaw_to_linear(p[i]), s0 = x + k * s1 - s2;

		energy += x * x;
		s2 = s1;
		s1 = s0;
	}
	power = s1 * s1 + s2 * s2 - k * s1 * s2;
	/* A pure tone's Goertzel power is about n/2 times its energy. */
	return energy > n * 100.0 * 100.0 && power > 0.4 * energy * n / 2;
}

static void rtp_h(const struct sa *src, const struct rtp_header *hdr,
		  struct mbuf *mb, void *arg)
{
	(void)src;
	if (hdr->pt != 0)
		return;
	if (tone700(mbuf_buf(mb), mbuf_get_left(mb))) {
		/* The scenario went on after the fax. */
		if (S.rtp2 && arg != &S.rtp2)
			S.rx_old++; /* at the address we moved away from */
		else
			S.rx_after++;
	}
	if (lose()) {
		S.lost_rx++;
		fax_peer_rx_lost(S.fax, mbuf_get_left(mb));
		return;
	}
	fax_peer_rx(S.fax, mbuf_buf(mb), mbuf_get_left(mb), false);
}

/* ---- T.38 ---- */

static int t38_tx(t38_core_state_t *s, void *arg, const uint8_t *buf, int len,
		  int count)
{
	uint8_t pkt[UDPTL_IFP_MAX * 2];
	struct mbuf *mb;
	int n;

	(void)s;
	(void)arg;
	n = udptl_encode(&S.utx, buf, (size_t)len, pkt, sizeof(pkt));
	if (n < 0)
		return -1;
	mb = mbuf_alloc((size_t)n);
	if (!mb)
		return -1;
	mbuf_write_mem(mb, pkt, (size_t)n);
	for (int i = 0; i < (count < 1 ? 1 : count > 3 ? 3 : count); i++) {
		mb->pos = 0;
		net_send(mb);
	}
	mem_deref(mb);
	return 0;
}

static void t38_ifp(const uint8_t *ifp, size_t len, uint16_t seq, void *arg)
{
	(void)arg;
	t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(S.t38), ifp,
			       (int)len, seq);
}

static bool t38_rx(struct sa *src, struct mbuf *mb, void *arg)
{
	const uint8_t *p = mbuf_buf(mb);

	(void)src;
	(void)arg;
	if (!S.t38)
		return false;
	/* Audio (RTP v2, PCMU) still arriving from before the switch is
	 * not UDPTL. */
	if (mbuf_get_left(mb) > 12 && (p[0] & 0xc0) == 0x80 &&
	    (p[1] & 0x7f) == 0) {
		if (tone700(p + 12, mbuf_get_left(mb) - 12)) {
			if (S.rtp2)
				S.rx_old++; /* we moved away from here */
			else
				S.rx_after++; /* the scenario went on */
		}
		return true;
	}
	if (lose())
		S.lost_rx++;
	else
		udptl_decode(&S.urx, mbuf_buf(mb), mbuf_get_left(mb), t38_ifp,
			     NULL);
	return true;
}

static void t38_phase_e(t30_state_t *s, void *arg, int code)
{
	t30_stats_t st;

	(void)arg;
	t30_get_transfer_statistics(s, &st);
	S.t38_done = true;
	S.t38_code = code;
	S.t38_pages = (unsigned)st.pages_tx;
}

/* Back to audio: our offer with the image line at port 0 and the audio
 * line on (what a gateway falling back to audio would send). */
static void back(void *arg)
{
	struct mbuf *mb = NULL;
	int err;

	(void)arg;
	sdp_media_set_disabled(S.image, true);
	sdp_media_set_disabled(S.sdpm, false);
	err = sdp_encode(&mb, S.sdp, true);
	if (!err)
		err = sipsess_modify(S.sess, mb);
	mem_deref(mb);
	if (err)
		fprintf(stderr, "fax_send: re-INVITE to audio: %s\n",
			strerror(err));
	else
		S.back_sent++;
}

/* "back": after the first page over T.38, the call goes back to audio
 * (spandsp 0.0.6 cannot carry the T.30 session over, so the terminal just
 * goes quiet: the receiver must end the fax with that page kept). */
static int t38_phase_d(t30_state_t *s, void *arg, int fcf)
{
	(void)s;
	(void)arg;
	(void)fcf;
	if (!S.back_sent && !S.t38_quiet) {
		S.t38_quiet = true;
		tmr_start(&S.tmr_back, 0, back, NULL);
	}
	return 0;
}

/* The image line (added only when T.38 comes up: our first offer is
 * audio only). */
static int image_line(void)
{
	int err;

	if (S.image)
		return 0;
	err = sdp_media_add(&S.image, S.sdp, "image",
			    sa_port(rtp_local(S.rtp)), "udptl");
	err = err ? err
		  : sdp_format_add(NULL, S.image, false, "t38", NULL, 0, 0,
				   NULL, NULL, NULL, false, NULL);
	err = err ? err
		  : sdp_media_set_lattr(S.image, false, "T38FaxVersion", "0");
	err = err ? err
		  : sdp_media_set_lattr(S.image, false, "T38FaxMaxDatagram",
					"%d", T38_DATAGRAM);
	err = err ? err
		  : sdp_media_set_lattr(S.image, false, "T38FaxUdpEC",
					"t38UDPRedundancy");
	return err;
}

/* The far end's image line is up: T.30 starts again on T.38 (the audio
 * sender is left as it is). */
static int t38_start(void)
{
	t30_state_t *t30;

	if (S.t38)
		return 0;
	if (!sdp_media_rport(S.image))
		return EPROTO;
	S.t38_peer = *sdp_media_raddr(S.image);
	udptl_tx_init(&S.utx, T38_RED, T38_DATAGRAM);
	udptl_rx_init(&S.urx);
	S.t38 = t38_terminal_init(NULL, true, t38_tx, NULL);
	if (!S.t38)
		return ENOMEM;
	t30 = t38_terminal_get_t30_state(S.t38);
	t30_set_tx_ident(t30, "E2E SENDER");
	t30_set_ecm_capability(t30, S.ecm);
	t30_set_supported_compressions(t30,
				       T30_SUPPORT_T4_1D_COMPRESSION |
					       T30_SUPPORT_T4_2D_COMPRESSION |
					       (S.ecm ? T30_SUPPORT_T6_COMPRESSION
						      : 0));
	t30_set_tx_file(t30, S.tiff, -1, -1);
	t30_set_phase_e_handler(t30, t38_phase_e, NULL);
	if (S.mode == T38_BACK)
		t30_set_phase_d_handler(t30, t38_phase_d, NULL);
	sdp_media_set_disabled(S.sdpm, true);
	return udp_register_helper(&S.uh, rtp_sock(S.rtp), 0, NULL, t38_rx,
				   NULL);
}

static void reinvite(void *arg)
{
	struct mbuf *mb = NULL;
	int err;

	(void)arg;
	err = image_line();
	if (!err) {
		sdp_media_set_disabled(S.sdpm, true);
		err = sdp_encode(&mb, S.sdp, true);
	}
	if (!err)
		err = sipsess_modify(S.sess, mb);
	mem_deref(mb);
	if (err)
		fprintf(stderr, "fax_send: re-INVITE: %s\n", strerror(err));
}

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	static const char image[] = "\nm=image ";
	static const char no_image[] = "\nm=image 0 ";
	bool t38 = memmem(mbuf_buf(msg->mb), mbuf_get_left(msg->mb), image,
			  sizeof(image) - 1) != NULL;
	int err;

	(void)arg;
	if (t38 && memmem(mbuf_buf(msg->mb), mbuf_get_left(msg->mb), no_image,
			  sizeof(no_image) - 1)) {
		/* Back to audio (the image line refused): our audio line
		 * answers again. */
		S.to_audio++;
		if (S.image)
			sdp_media_set_disabled(S.image, true);
		sdp_media_set_disabled(S.sdpm, false);
		if (S.mode == T38_MOVE && !S.rtp2) {
			struct sa ip = *rtp_local(S.rtp);

			sa_set_port(&ip, 0);
			/* rtp_h tells the sockets apart by its arg. */
			if (rtp_listen(&S.rtp2, IPPROTO_UDP, &ip, 34000, 34999,
				       false, rtp_h, NULL, &S.rtp2))
				return ENOMEM;
			sdp_media_set_lport(S.sdpm, sa_port(rtp_local(S.rtp2)));
		}
		if (sdp_decode(S.sdp, msg->mb, true))
			return EPROTO;
		return sdp_encode(descp, S.sdp, false);
	}
	if (t38) {
		S.reinvites++;
		if (S.mode != T38_ACCEPT)
			return EPROTO; /* libre answers 488 */
		if (image_line())
			return ENOMEM;
	}
	if (sdp_decode(S.sdp, msg->mb, true))
		return EPROTO;
	if (t38) {
		err = t38_start();
		if (err)
			return err;
	}
	return sdp_encode(descp, S.sdp, false);
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	int err;

	(void)arg;
	err = sdp_decode(S.sdp, msg->mb, false);
	if (!err && S.back_sent) {
		if (sdp_media_rport(S.sdpm) && !sdp_media_rport(S.image))
			S.back_ok++;
		return 0;
	}
	if (!err && S.image && sdp_media_rport(S.image))
		err = t38_start();
	return err;
}

static void progress_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	S.answered = true;
	S.code = 200;
	S.t0 = tmr_jiffies();
	tmr_start(&S.tmr_tx, 0, tx_tick, NULL);
	if ((S.mode == T38_INVITE || S.mode == T38_BACK ||
	     S.mode == T38_MOVE) &&
	    !S.image)
		tmr_start(&S.tmr_reinvite, 1000, reinvite, NULL);
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	(void)arg;
	if (msg && msg->scode)
		S.code = msg->scode;
	/* The receiver hangs up after the sender's DCN: the line drops. */
	fax_peer_hangup(S.fax);
	if (S.t38 && !S.t38_done)
		t30_terminate(t38_terminal_get_t30_state(S.t38));
	finish(err == ECONNRESET ? "bye" : "error");
	S.sess = mem_deref(S.sess);
}

static void timeout_h(void *arg)
{
	(void)arg;
	fax_peer_hangup(S.fax);
	if (S.t38 && !S.t38_done)
		t30_terminate(t38_terminal_get_t30_state(S.t38));
	finish("timeout");
}

static void conn_h(const struct sip_msg *msg, void *arg)
{
	(void)arg;
	sip_treply(NULL, S.sip, msg, 486, "Busy Here");
}

/* header: the received pages carry a header line in their top band
 * (compared below it, and the band must have been drawn anew). */
static int compare(const char *sent, const char *got, bool header)
{
	struct fax_page_info s[FAX_PEER_PAGES_MAX], g[FAX_PEER_PAGES_MAX];
	int ns = fax_peer_read_tiff(sent, s, FAX_PEER_PAGES_MAX);
	int ng = fax_peer_read_tiff(got, g, FAX_PEER_PAGES_MAX);
	int bad = ns <= 0 || ng != ns;

	printf("pages sent=%d received=%d\n", ns, ng);
	for (int i = 0; i < ng && i < ns; i++) {
		int drow = abs((int)g[i].rows - (int)s[i].rows);
		unsigned sb = s[i].black - (header ? s[i].black_top : 0);
		unsigned gb = g[i].black - (header ? g[i].black_top : 0);
		int dblack = abs((int)gb - (int)sb);
		int dtop = abs((int)g[i].black_top - (int)s[i].black_top);
		int ok = g[i].width == s[i].width &&
			 drow <= (int)s[i].rows / 50 &&
			 dblack <= (int)sb * 3 / 100;

		/* A header: ink in the band, and not the sent band's. */
		if (header)
			ok = ok && g[i].black_top >= 500 &&
			     dtop > (int)s[i].black_top / 10;
		printf("page %d: %ux%u (%u black, %u in the top band, %ux%u "
		       "dpi) vs %ux%u (%u black, %u in the top band) %s\n",
		       i + 1, g[i].width, g[i].rows, g[i].black,
		       g[i].black_top, g[i].x_dpi, g[i].y_dpi, s[i].width,
		       s[i].rows, s[i].black, s[i].black_top,
		       ok ? "ok" : "DIFFERS");
		bad |= !ok;
	}
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sa laddr, ip;
	struct mbuf *mb = NULL;
	char uri[128], from[128];
	int result = -1, err;
	unsigned pages = 0, timeout_s;
	bool ecm, done;

	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "compare"))
		return compare(argv[2], argv[3],
			       argc == 5 && !strcmp(argv[4], "header"));
	if (argc == 4 && !strcmp(argv[1], "maketiff"))
		return fax_peer_make_tiff(argv[2], (unsigned)atoi(argv[3]),
					  200)
			       ? 1
			       : 0;
	if (argc < 6) {
		fprintf(stderr, "usage: fax_send <local ip> <sip port> <edge "
				"ip:port> <number> <tiff> [ecm] [timeout_s] "
				"[loss_permille] [make_pages]\n");
		return 2;
	}
	ecm = argc > 6 ? atoi(argv[6]) != 0 : true;
	timeout_s = argc > 7 ? (unsigned)atoi(argv[7]) : 120;
	S.loss_permille = argc > 8 ? (unsigned)atoi(argv[8]) : 0;
	S.jitter_ms = argc > 10 ? (unsigned)atoi(argv[10]) : 0;
	if (argc > 11) {
		static const char *const modes[] = {"off",    "invite", "accept",
						    "refuse", "back",   "move"};
		S.mode = (enum t38_mode)-1;
		for (int i = 0; i < 6; i++)
			if (!strcmp(argv[11], modes[i]))
				S.mode = (enum t38_mode)i;
		if ((int)S.mode < 0) {
			fprintf(stderr, "fax_send: t38 mode: off, invite, "
					"accept, refuse, back or move\n");
			return 2;
		}
	}
	S.tiff = argv[5];
	S.ecm = ecm;
	if (argc > 9 && atoi(argv[9]) > 0 && fax_peer_make_tiff(argv[5], (unsigned)atoi(argv[9]),
					   200)) {
		fprintf(stderr, "fax_send: cannot write %s\n", argv[5]);
		return 2;
	}
	srand((unsigned)getpid());
	if (libre_init() || sa_set_str(&laddr, argv[1], atoi(argv[2])) ||
	    sa_set_str(&ip, argv[1], 0))
		return 2;
	if (fax_peer_alloc(&S.fax, argv[5], ecm, "E2E SENDER"))
		return 2;
	err = sip_alloc(&S.sip, NULL, 32, 32, 32, "fax_send", NULL, NULL);
	err = err ? err : sip_transp_add(S.sip, SIP_TRANSP_UDP, &laddr);
	err = err ? err : sipsess_listen(&S.sock, S.sip, 32, conn_h, NULL);
	err = err ? err
		  : rtp_listen(&S.rtp, IPPROTO_UDP, &ip, 33000, 33999, false,
			       rtp_h, NULL, NULL);
	err = err ? err : sdp_session_alloc(&S.sdp, &ip);
	err = err ? err
		  : sdp_media_add(&S.sdpm, S.sdp, "audio",
				  sa_port(rtp_local(S.rtp)), "RTP/AVP");
	err = err ? err
		  : sdp_format_add(NULL, S.sdpm, false, "0", "PCMU", 8000, 1,
				   NULL, NULL, NULL, false, NULL);
	err = err ? err : sdp_encode(&mb, S.sdp, true);
	if (err) {
		fprintf(stderr, "fax_send: setup: %s\n", strerror(err));
		return 2;
	}
	snprintf(uri, sizeof(uri), "sip:%s@%s", argv[4], argv[3]);
	snprintf(from, sizeof(from), "sip:79990000002@%s", argv[1]);
	err = sipsess_connect(&S.sess, S.sock, uri, NULL, from, "fax", NULL,
			      0, "application/sdp", mb, NULL, NULL, false,
			      offer_h, answer_h, progress_h, estab_h, NULL,
			      NULL, close_h, NULL, "");
	mem_deref(mb);
	if (err) {
		fprintf(stderr, "fax_send: INVITE: %s\n", strerror(err));
		return 2;
	}
	tmr_start(&S.tmr_end, timeout_s * 1000, timeout_h, NULL);
	re_main(NULL);
	if (S.t38) {
		done = S.t38_done;
		result = S.t38_done ? S.t38_code : -1;
		pages = S.t38_pages;
	} else {
		done = fax_peer_done(S.fax, &result, &pages);
	}
	printf("code=%u result=%d pages=%u closed=%s lost=%u lost_rx=%u "
	       "sent=%u transport=%s reinvites=%u recovered=%llu after=%u "
	       "to_audio=%u back=%u/%u old=%u text=%s\n",
	       S.code, result, pages, S.closed ? S.closed : "?", S.lost,
	       S.lost_rx, S.sent, S.t38 ? "t38" : "audio", S.reinvites,
	       (unsigned long long)S.urx.recovered, S.rx_after, S.to_audio,
	       S.back_sent, S.back_ok, S.rx_old,
	       t30_completion_code_to_str(result));
	tmr_cancel(&S.tmr_tx);
	tmr_cancel(&S.tmr_q);
	for (size_t i = 0; i < QUEUE_MAX; i++)
		mem_deref(S.q[i].mb);
	tmr_cancel(&S.tmr_end);
	tmr_cancel(&S.tmr_reinvite);
	tmr_cancel(&S.tmr_back);
	S.rtp2 = mem_deref(S.rtp2);
	S.uh = mem_deref(S.uh);
	if (S.t38)
		t38_terminal_free(S.t38);
	S.sess = mem_deref(S.sess);
	S.sock = mem_deref(S.sock);
	sip_close(S.sip, true);
	S.sip = mem_deref(S.sip);
	S.rtp = mem_deref(S.rtp);
	S.sdp = mem_deref(S.sdp);
	fax_peer_free(S.fax);
	libre_close();
	return S.answered && done ? 0 : 1;
}
