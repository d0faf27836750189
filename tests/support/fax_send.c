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
 * Prints one line: "code=<final SIP response or 200> result=<T.30 code>
 * pages=<pages sent> closed=<bye|timeout|...> text=<spandsp's text>".
 * Exit 0 when the call was answered and the fax ended; 1 otherwise.
 *
 * usage: fax_send <local ip> <sip port> <edge ip:port> <number> <tiff>
 *                 [ecm 0|1] [timeout_s] [loss_permille] [make_pages]
 *                 [jitter_ms]
 *        fax_send compare <sent.tif> <received.tif>
 *        fax_send maketiff <out.tif> <pages>
 * compare prints the pages of both and exits 0 when the received pages are
 * the sent ones: the same count and widths, rows within 2 %, black pixels
 * within 3 % per page. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re.h>
#include <spandsp.h>

#include "fax_peer.h"

enum { QUEUE_MAX = 64 };

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
	struct tmr tmr_tx, tmr_end;
	uint64_t t0;
	uint32_t ts;
	unsigned sent, lost;
	unsigned loss_permille, jitter_ms;
	unsigned lost_rx;
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
		udp_send(rtp_sock(S.rtp), sdp_media_raddr(S.sdpm),
			 S.q[pick].mb);
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
	udp_send(rtp_sock(S.rtp), sdp_media_raddr(S.sdpm), mb); /* full */
}

static void tx_tick(void *arg)
{
	uint8_t frame[FAX_PEER_FRAME];
	struct mbuf *mb = mbuf_alloc(RTP_HEADER_SIZE + sizeof(frame));
	uint64_t now = tmr_jiffies(), due;

	(void)arg;
	if (!mb)
		return;
	fax_peer_tx(S.fax, frame, false);
	mb->pos = mb->end = RTP_HEADER_SIZE;
	mbuf_write_mem(mb, frame, sizeof(frame));
	mb->pos = 0;
	/* rtp_encode numbers the packet; a lost one is numbered, not sent. */
	if (!rtp_encode(S.rtp, false, S.sent == 0, 0, S.ts, mb)) {
		mb->pos = 0;
		if (lose())
			S.lost++;
		else if (S.jitter_ms)
			send_later(mb);
		else
			udp_send(rtp_sock(S.rtp), sdp_media_raddr(S.sdpm), mb);
	}
	mem_deref(mb);
	S.ts += FAX_PEER_FRAME;
	S.sent++;
	due = S.t0 + 20 * (uint64_t)S.sent;
	tmr_start(&S.tmr_tx, due > now ? due - now : 0, tx_tick, NULL);
	if (fax_peer_done(S.fax, NULL, NULL))
		finish("t30");
}

static void rtp_h(const struct sa *src, const struct rtp_header *hdr,
		  struct mbuf *mb, void *arg)
{
	(void)src;
	(void)arg;
	if (hdr->pt != 0)
		return;
	if (lose()) {
		S.lost_rx++;
		fax_peer_rx_lost(S.fax, mbuf_get_left(mb));
		return;
	}
	fax_peer_rx(S.fax, mbuf_buf(mb), mbuf_get_left(mb), false);
}

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	(void)arg;
	if (sdp_decode(S.sdp, msg->mb, true))
		return EPROTO;
	return sdp_encode(descp, S.sdp, false);
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	(void)arg;
	return sdp_decode(S.sdp, msg->mb, false);
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
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	(void)arg;
	if (msg && msg->scode)
		S.code = msg->scode;
	/* The receiver hangs up after the sender's DCN: the line drops. */
	fax_peer_hangup(S.fax);
	finish(err == ECONNRESET ? "bye" : "error");
	S.sess = mem_deref(S.sess);
}

static void timeout_h(void *arg)
{
	(void)arg;
	fax_peer_hangup(S.fax);
	finish("timeout");
}

static void conn_h(const struct sip_msg *msg, void *arg)
{
	(void)arg;
	sip_treply(NULL, S.sip, msg, 486, "Busy Here");
}

static int compare(const char *sent, const char *got)
{
	struct fax_page_info s[FAX_PEER_PAGES_MAX], g[FAX_PEER_PAGES_MAX];
	int ns = fax_peer_read_tiff(sent, s, FAX_PEER_PAGES_MAX);
	int ng = fax_peer_read_tiff(got, g, FAX_PEER_PAGES_MAX);
	int bad = ns <= 0 || ng != ns;

	printf("pages sent=%d received=%d\n", ns, ng);
	for (int i = 0; i < ng && i < ns; i++) {
		int drow = abs((int)g[i].rows - (int)s[i].rows);
		int dblack = abs((int)g[i].black - (int)s[i].black);
		int ok = g[i].width == s[i].width &&
			 drow <= (int)s[i].rows / 50 &&
			 dblack <= (int)s[i].black * 3 / 100;

		printf("page %d: %ux%u (%u black, %ux%u dpi) vs %ux%u (%u "
		       "black) %s\n",
		       i + 1, g[i].width, g[i].rows, g[i].black, g[i].x_dpi,
		       g[i].y_dpi, s[i].width, s[i].rows, s[i].black,
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

	if (argc == 4 && !strcmp(argv[1], "compare"))
		return compare(argv[2], argv[3]);
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
	done = fax_peer_done(S.fax, &result, &pages);
	printf("code=%u result=%d pages=%u closed=%s lost=%u lost_rx=%u "
	       "sent=%u text=%s\n",
	       S.code, result, pages, S.closed ? S.closed : "?", S.lost,
	       S.lost_rx, S.sent, t30_completion_code_to_str(result));
	tmr_cancel(&S.tmr_tx);
	tmr_cancel(&S.tmr_q);
	for (size_t i = 0; i < QUEUE_MAX; i++)
		mem_deref(S.q[i].mb);
	tmr_cancel(&S.tmr_end);
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
