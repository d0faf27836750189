/* fax_sim: the fax receiver (services/media-worker/fax_recv.c) against
 * spandsp's sender (tests/support/fax_peer.c) over a simulated network,
 * many runs on a virtual 1 ms clock: the sender sends a frame every
 * 20 ms, each reaches the receiver after a random 0..jitter_ms and is
 * lost with loss_permille (each way); the receiver ticks every 20 ms at a
 * random phase. Counts the faxes whose two pages arrived with T.30 OK,
 * and the T.30 results of the others. Fast (a fax in about 70 ms of CPU),
 * so it gives rates over hundreds of faxes; bench/fax_loss.sh measures
 * the same through the whole stack.
 *
 * usage: fax_sim <runs> <loss_permille> <jitter_ms> [ecm 0|1] [dir]
 * Environment: FAX_SIM_FILL (repeat, the receiver's default; fillin;
 * zero): what a lost packet is fed as; FAX_SIM_MODEMS (FAX_RECV_V* bits:
 * 7 all, 3 without V.17); FAX_SIM_T30FIX=0: spandsp's T.30 as shipped
 * (fax_t30fix.h off); FAX_SIM_SEED: the random sequence (1). A success:
 * both pages whole at the receiver and T.30 OK on both sides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp.h>

#include "fax_peer.h"
#include "fax_recv.h"

enum { INFLIGHT = 64, FRAME = 160 };

/* Repeats the receiver took in (fax_t30fix.h), over all runs. */
static unsigned dcs_again, pps_again;

struct pkt {
	bool used;
	uint16_t seq;
	uint64_t due;
	uint8_t b[FRAME];
};

static bool lose(unsigned pm)
{
	return (unsigned)(rand() % 1000) < pm;
}

/* One fax; returns its T.30 result (0 with 2 pages: a success). */
static int one(const char *sent, const char *got, unsigned pm, unsigned jit,
	       bool ecm, unsigned *pages, int *tx_code)
{
	struct fax_recv_opts o = {.tiff_path = got, .ecm = ecm};
	const char *fill = getenv("FAX_SIM_FILL");
	const char *modems = getenv("FAX_SIM_MODEMS");
	const char *fix = getenv("FAX_SIM_T30FIX");

	if (fill)
		o.fill = !strcmp(fill, "fillin") ? FAX_RECV_FILL_FILLIN
			 : !strcmp(fill, "zero") ? FAX_RECV_FILL_ZERO
						 : FAX_RECV_FILL_REPEAT;
	if (modems)
		o.modems = atoi(modems);
	o.t30_as_is = fix && !strcmp(fix, "0");
	static struct pkt net[INFLIGHT];
	struct fax_recv_result r;
	struct fax_recv_stats st;
	unsigned tx_pages = 0;
	struct fax_recv *rx;
	struct fax_peer *tx;
	uint8_t a[FRAME], b[FRAME];
	unsigned phase = (unsigned)(rand() % 20);
	uint16_t seq = 0;
	uint64_t tx_done = 0, rx_done = 0;

	memset(net, 0, sizeof(net));
	if (fax_recv_alloc(&rx, &o) || fax_peer_alloc(&tx, sent, ecm, "SIM"))
		return -1;
	for (uint64_t t = 0; t < 600000; t++) {
		/* Each side hangs up half a second after its T.30 ended
		 * (the worker's BYE, the sender's after its DCN): the
		 * other's T.30 then ends too, as on a real call. */
		if (fax_recv_done(rx) && !rx_done)
			rx_done = t;
		if (rx_done && t == rx_done + 500 &&
		    !fax_peer_done(tx, NULL, NULL))
			fax_peer_hangup(tx);
		if (fax_peer_done(tx, NULL, NULL) && !tx_done)
			tx_done = t;
		if (tx_done && t == tx_done + 500)
			fax_recv_hangup(rx);
		if (fax_recv_done(rx) && fax_peer_done(tx, NULL, NULL))
			break;
		if (t % 20 == 0) {
			fax_peer_tx(tx, a, false);
			if (!lose(pm)) {
				struct pkt *p = &net[seq % INFLIGHT];

				p->used = true;
				p->seq = seq;
				p->due = t + (jit ? (unsigned)rand() % (jit + 1)
						  : 0);
				memcpy(p->b, a, FRAME);
			}
			seq++;
		}
		for (size_t i = 0; i < INFLIGHT; i++) {
			if (net[i].used && net[i].due == t) {
				fax_recv_packet(rx, net[i].seq, net[i].b, FRAME,
						OFFER_ULAW);
				net[i].used = false;
			}
		}
		if (t % 20 == phase) {
			fax_recv_tick(rx, b, OFFER_ULAW);
			if (lose(pm))
				fax_peer_rx_lost(tx, FRAME);
			else
				fax_peer_rx(tx, b, FRAME, false);
		}
	}
	fax_recv_result(rx, &r);
	fax_recv_stats(rx, &st);
	fax_peer_done(tx, tx_code, &tx_pages);
	*pages = r.pages;
	dcs_again += st.dcs_again;
	pps_again += st.pps_again;
	fax_recv_free(rx);
	fax_peer_free(tx);
	return r.code;
}

int main(int argc, char **argv)
{
	unsigned runs, pm, jit, ok = 0, pages, hist[128] = {0}, tx_failed = 0;
	unsigned tx_hist[128] = {0}; /* the sender's result, failures only */
	const char *seed = getenv("FAX_SIM_SEED");
	char sent[256], got[256];
	const char *dir;
	bool ecm;

	if (argc < 4) {
		fprintf(stderr, "usage: fax_sim <runs> <loss_permille> "
				"<jitter_ms> [ecm 0|1] [dir]\n");
		return 2;
	}
	runs = (unsigned)atoi(argv[1]);
	pm = (unsigned)atoi(argv[2]);
	jit = (unsigned)atoi(argv[3]);
	ecm = argc > 4 ? atoi(argv[4]) != 0 : true;
	dir = argc > 5 ? argv[5] : "/tmp";
	snprintf(sent, sizeof(sent), "%s/fax_sim_sent.tif", dir);
	snprintf(got, sizeof(got), "%s/fax_sim_got.tif", dir);
	if (fax_peer_make_tiff(sent, 2, 200))
		return 2;
	srand(seed ? (unsigned)atoi(seed) : 1);
	for (unsigned i = 0; i < runs; i++) {
		int tx_code = -1;
		int code = one(sent, got, pm, jit, ecm, &pages, &tx_code);

		if (!code && !tx_code && pages == 2)
			ok++;
		else if (!code && pages == 2)
			tx_failed++; /* whole here, the sender thinks not */
		else
			hist[code >= 0 && code < 127 ? code : 127]++;
		if (code || tx_code || pages != 2)
			tx_hist[tx_code >= 0 && tx_code < 127 ? tx_code
							      : 127]++;
	}
	printf("loss %u/1000 each way, jitter 0-%u ms, ecm %d: %u/%u OK "
	       "(%.1f %%); repeated DCS taken %u, PPS %u\n",
	       pm, jit, ecm, ok, runs, 100.0 * ok / (runs ? runs : 1),
	       dcs_again, pps_again);
	if (tx_failed)
		printf("  %3u x received whole, the sender's T.30 failed\n",
		       tx_failed);
	for (int c = 0; c < 128; c++)
		if (hist[c])
			printf("  %3u x %s\n", hist[c],
			       c == 0     ? "OK but pages missing"
			       : c == 127 ? "not ended (10 minutes)"
					  : t30_completion_code_to_str(c));
	for (int c = 0; c < 128; c++)
		if (tx_hist[c])
			printf("  %3u x the sender's T.30: %s\n", tx_hist[c],
			       c == 127 ? "not ended"
					: t30_completion_code_to_str(c));
	remove(sent);
	remove(got);
	return 0;
}
