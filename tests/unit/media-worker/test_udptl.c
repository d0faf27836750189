/* UDPTL (udptl.c): the packet layout of T.38 §9.1 byte by byte, PER
 * lengths, recovery from redundancy after loss, repeats and old packets,
 * the far end's datagram limit, malformed and random input; and a whole
 * fax between two spandsp T.38 terminals whose IFPs cross a lossy
 * network in our UDPTL packets. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spandsp.h>

#include "fax_peer.h"
#include "pbx_test.h"
#include "udptl.h"

static void fini(void)
{
	pbx_test_fini();
}

TestSuite(udptl, .fini = fini, .timeout = 60);

/* What the decoder delivered. */
struct got {
	unsigned n;
	uint16_t seq[64];
	uint8_t first[64]; /* first octet of each IFP */
	size_t len[64];
};

static void collect(const uint8_t *ifp, size_t len, uint16_t seq, void *arg)
{
	struct got *g = arg;

	cr_assert_lt(g->n, 64);
	g->seq[g->n] = seq;
	g->first[g->n] = ifp[0];
	g->len[g->n] = len;
	g->n++;
}

static struct udptl_tx tx;

Test(udptl, packets_have_the_t38_layout)
{
	uint8_t buf[64];
	const uint8_t a[] = {0x00}, b[] = {0x01, 0x02}, c[] = {0xaa};
	const uint8_t pa[] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
	const uint8_t pb[] = {0x00, 0x01, 0x02, 0x01, 0x02,
			      0x00, 0x01, 0x01, 0x00};
	const uint8_t pc[] = {0x00, 0x02, 0x01, 0xaa, 0x00, 0x02,
			      0x02, 0x01, 0x02, 0x01, 0x00};

	udptl_tx_init(&tx, 2, 0);
	/* seq 0, primary (length 1, 00), redundancy, no secondary yet */
	cr_assert_eq(udptl_encode(&tx, a, sizeof(a), buf, sizeof(buf)),
		     (int)sizeof(pa));
	cr_assert_eq(memcmp(buf, pa, sizeof(pa)), 0);
	/* seq 1, primary 01 02, redundancy, 1 secondary: IFP 0 */
	cr_assert_eq(udptl_encode(&tx, b, sizeof(b), buf, sizeof(buf)),
		     (int)sizeof(pb));
	cr_assert_eq(memcmp(buf, pb, sizeof(pb)), 0);
	/* seq 2: secondaries newest first, IFP 1 then IFP 0 */
	cr_assert_eq(udptl_encode(&tx, c, sizeof(c), buf, sizeof(buf)),
		     (int)sizeof(pc));
	cr_assert_eq(memcmp(buf, pc, sizeof(pc)), 0);
}

Test(udptl, long_ifp_takes_a_two_octet_length)
{
	uint8_t ifp[300], buf[400];
	struct udptl_rx rx;
	struct got g = {0};

	memset(ifp, 0x5a, sizeof(ifp));
	udptl_tx_init(&tx, 0, 0);
	cr_assert_eq(udptl_encode(&tx, ifp, sizeof(ifp), buf, sizeof(buf)),
		     2 + 2 + 300 + 2);
	cr_assert_eq(buf[2], 0x81); /* 300 = 0x12c */
	cr_assert_eq(buf[3], 0x2c);
	udptl_rx_init(&rx);
	cr_assert_eq(udptl_decode(&rx, buf, 306, collect, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.len[0], 300);
	cr_assert_eq(udptl_encode(&tx, ifp, UDPTL_IFP_MAX + 1, buf,
				  sizeof(buf)),
		     -EINVAL);
	cr_assert_eq(udptl_encode(&tx, ifp, 300, buf, 200), -E2BIG);
}

/* Ten IFPs (first octet = index), packets in `drop` lost. */
static void run_loss(unsigned red, const bool *drop, struct got *g,
		     struct udptl_rx *rx)
{
	uint8_t buf[256], ifp[3];

	udptl_tx_init(&tx, red, 0);
	udptl_rx_init(rx);
	for (unsigned i = 0; i < 10; i++) {
		int n;

		memset(ifp, (int)i, sizeof(ifp));
		n = udptl_encode(&tx, ifp, sizeof(ifp), buf, sizeof(buf));
		cr_assert_gt(n, 0);
		if (!drop[i])
			cr_assert_eq(udptl_decode(rx, buf, (size_t)n, collect,
						  g),
				     0);
	}
}

Test(udptl, redundancy_recovers_lost_packets_in_order)
{
	bool drop[10] = {[3] = true, [4] = true};
	struct udptl_rx rx;
	struct got g = {0};

	run_loss(3, drop, &g, &rx);
	cr_assert_eq(g.n, 10, "%u IFPs", g.n);
	for (unsigned i = 0; i < 10; i++) {
		cr_assert_eq(g.seq[i], i);
		cr_assert_eq(g.first[i], i, "IFP %u out of order", i);
	}
	cr_assert_eq(rx.recovered, 2);
	cr_assert_eq(rx.lost, 0);
}

Test(udptl, loss_beyond_the_redundancy_is_counted)
{
	bool drop[10] = {[3] = true, [4] = true, [5] = true};
	struct udptl_rx rx;
	struct got g = {0};

	/* Packet 6 carries IFPs 5 and 4 only: 3 is gone. */
	run_loss(2, drop, &g, &rx);
	cr_assert_eq(g.n, 9);
	cr_assert_eq(rx.lost, 1);
	cr_assert_eq(rx.recovered, 2);
	cr_assert_eq(g.first[3], 4);
}

Test(udptl, repeats_and_old_packets_deliver_nothing)
{
	uint8_t p0[16], p1[16], ifp[1] = {7};
	struct udptl_rx rx;
	struct got g = {0};
	int n0, n1;

	udptl_tx_init(&tx, 1, 0);
	udptl_rx_init(&rx);
	n0 = udptl_encode(&tx, ifp, 1, p0, sizeof(p0));
	n1 = udptl_encode(&tx, ifp, 1, p1, sizeof(p1));
	cr_assert_eq(udptl_decode(&rx, p1, (size_t)n1, collect, &g), 0);
	cr_assert_eq(udptl_decode(&rx, p1, (size_t)n1, collect, &g), 0);
	cr_assert_eq(udptl_decode(&rx, p0, (size_t)n0, collect, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(rx.dups, 2);
}

Test(udptl, datagram_limit_drops_the_oldest_secondaries)
{
	uint8_t ifp[40], buf[512];
	int n;

	memset(ifp, 1, sizeof(ifp));
	/* 2 + 41 + 1 + 1 = 45 for the primary; each secondary 41 more. */
	udptl_tx_init(&tx, 4, 130);
	for (int i = 0; i < 4; i++)
		n = udptl_encode(&tx, ifp, sizeof(ifp), buf, sizeof(buf));
	cr_assert_eq(n, 45 + 2 * 41, "%d octets", n);
	cr_assert_eq(buf[2 + 41 + 1], 2, "two secondaries fit");
	udptl_tx_init(&tx, 4, 40);
	cr_assert_eq(udptl_encode(&tx, ifp, sizeof(ifp), buf, sizeof(buf)),
		     -E2BIG);
}

Test(udptl, malformed_packets_are_refused_whole)
{
	/* truncated open type; length past the end; fragmented length;
	 * a secondary running past the end; no recovery octet. */
	const uint8_t p1[] = {0, 1, 5, 1, 2};
	const uint8_t p2[] = {0, 1, 0x81, 0x00, 1, 2, 3};
	const uint8_t p3[] = {0, 1, 0xc1, 0, 0};
	const uint8_t p4[] = {0, 1, 1, 9, 0, 2, 1, 8, 3, 1};
	const uint8_t p5[] = {0, 1, 1, 9};
	const uint8_t p6[] = {0, 1, 0, 0}; /* an empty primary */
	const uint8_t *ps[] = {p1, p2, p3, p4, p5, p6};
	size_t ls[] = {sizeof(p1), sizeof(p2), sizeof(p3),
		       sizeof(p4), sizeof(p5), sizeof(p6)};
	struct udptl_rx rx;
	struct got g = {0};

	udptl_rx_init(&rx);
	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(udptl_decode(&rx, ps[i], ls[i], collect, &g),
			     -EBADMSG, "packet %zu", i + 1);
	cr_assert_eq(g.n, 0);
	cr_assert_eq(rx.bad, 6);
	cr_assert_not(rx.have);
}

static void count_only(const uint8_t *ifp, size_t len, uint16_t seq,
		       void *arg)
{
	unsigned *n = arg;

	(void)ifp;
	(void)seq;
	cr_assert_geq(len, 1);
	(*n)++;
}

Test(udptl, random_input_never_reads_past_the_packet)
{
	struct udptl_rx rx;
	unsigned n = 0, ok = 0;

	srand(12345);
	udptl_rx_init(&rx);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand() % 64);
		uint8_t *p = malloc(len ? len : 1); /* ASan sees overreads */
		int r;

		for (size_t k = 0; k < len; k++)
			p[k] = (uint8_t)rand();
		r = udptl_decode(&rx, p, len, count_only, &n);
		cr_assert(r == 0 || r == -EBADMSG);
		ok += r == 0;
		free(p);
	}
	cr_assert_gt(ok, 0, "some random packets parse");
}

/* ---- a fax over T.38 through our UDPTL --------------------------------- */

struct t38_side {
	t38_terminal_state_t *term;
	struct udptl_tx tx;
	struct udptl_rx rx;
	/* packets on their way to the other side (this 20 ms) */
	uint8_t q[64][512];
	size_t qlen[64];
	unsigned nq;
	bool done;
	int code;
	unsigned pages;
};

static struct t38_side A, B; /* A sends, B receives */
static unsigned loss_permille;

static int t38_out(t38_core_state_t *s, void *arg, const uint8_t *buf,
		   int len, int count)
{
	struct t38_side *me = arg;
	uint8_t pkt[512];
	int n;

	(void)s;
	n = udptl_encode(&me->tx, buf, (size_t)len, pkt, sizeof(pkt));
	cr_assert_gt(n, 0);
	/* Indicators are sent `count` times: the same packet again. */
	for (int i = 0; i < count && me->nq < 64; i++) {
		memcpy(me->q[me->nq], pkt, (size_t)n);
		me->qlen[me->nq++] = (size_t)n;
	}
	return 0;
}

static void t38_in(const uint8_t *ifp, size_t len, uint16_t seq, void *arg)
{
	struct t38_side *me = arg;

	t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(me->term), ifp,
			       (int)len, seq);
}

static void t38_phase_e(t30_state_t *s, void *arg, int code)
{
	struct t38_side *me = arg;
	t30_stats_t st;

	t30_get_transfer_statistics(s, &st);
	me->done = true;
	me->code = code;
	me->pages = (unsigned)(me == &A ? st.pages_tx : st.pages_rx);
}

static void deliver(struct t38_side *from, struct t38_side *to)
{
	for (unsigned i = 0; i < from->nq; i++)
		if ((unsigned)(rand() % 1000) >= loss_permille)
			udptl_decode(&to->rx, from->q[i], from->qlen[i],
				     t38_in, to);
	from->nq = 0;
}

static void side_open(struct t38_side *s, bool calling, const char *file,
		      unsigned red)
{
	t30_state_t *t30;

	memset(s, 0, sizeof(*s));
	udptl_tx_init(&s->tx, red, 400);
	udptl_rx_init(&s->rx);
	s->term = t38_terminal_init(NULL, calling, t38_out, s);
	cr_assert_not_null(s->term);
	t30 = t38_terminal_get_t30_state(s->term);
	t30_set_ecm_capability(t30, true);
	t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION |
						    T30_SUPPORT_T4_2D_COMPRESSION |
						    T30_SUPPORT_T6_COMPRESSION);
	if (calling)
		t30_set_tx_file(t30, file, -1, -1);
	else
		t30_set_rx_file(t30, file, -1);
	t30_set_phase_e_handler(t30, t38_phase_e, s);
}

/* A two-page fax from A to B, each packet lost with permille / 1000;
 * returns the receiver's T.30 result. */
static int t38_fax(unsigned permille, unsigned red, const char *dir)
{
	char sent[128], got[128];
	struct fax_page_info ps[4], pg[4];
	int code;

	snprintf(sent, sizeof(sent), "%s/t38-sent.tif", dir);
	snprintf(got, sizeof(got), "%s/t38-got.tif", dir);
	cr_assert_eq(fax_peer_make_tiff(sent, 2, 200), 0);
	loss_permille = permille;
	srand(777);
	side_open(&A, true, sent, red);
	side_open(&B, false, got, red);
	for (int t = 0; t < 15000 && !(A.done && B.done); t++) {
		t38_terminal_send_timeout(A.term, 160);
		t38_terminal_send_timeout(B.term, 160);
		deliver(&A, &B);
		deliver(&B, &A);
	}
	cr_assert(B.done && A.done, "T.30 never ended");
	t38_terminal_free(A.term);
	t38_terminal_free(B.term);
	if ((code = B.code))
		return code;
	cr_assert_eq(B.pages, 2);
	cr_assert_eq(fax_peer_read_tiff(got, pg, 4), 2);
	cr_assert_eq(fax_peer_read_tiff(sent, ps, 4), 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(pg[i].width, ps[i].width);
		cr_assert_eq(pg[i].rows, ps[i].rows);
		cr_assert_eq(pg[i].black, ps[i].black, "page %d", i + 1);
	}
	return 0;
}

/* 10 % loss each way: with 3 previous IFPs per packet the pages arrive
 * exactly; the same loss without redundancy ends the fax (so the
 * recovery is what carried it). */
Test(udptl, fax_between_spandsp_t38_terminals_survives_10_percent_loss)
{
	char dir[] = "/tmp/udptl-XXXXXX", cmd[64];
	int code;

	cr_assert_not_null(mkdtemp(dir));
	code = t38_fax(100, 3, dir);
	cr_assert_eq(code, 0, "with redundancy: %s",
		     t30_completion_code_to_str(code));
	cr_assert_gt(B.rx.recovered + A.rx.recovered, 0);
	cr_assert_neq(t38_fax(100, 0, dir), 0,
		      "10 %% loss without redundancy went through");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
