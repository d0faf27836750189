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
 * 7 all, 3 without V.17). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp.h>

#include "fax_peer.h"
#include "fax_recv.h"

enum { INFLIGHT = 64, FRAME = 160 };

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
	       bool ecm, unsigned *pages)
{
	struct fax_recv_opts o = {.tiff_path = got, .ecm = ecm};
	const char *fill = getenv("FAX_SIM_FILL");
	const char *modems = getenv("FAX_SIM_MODEMS");

	if (fill)
		o.fill = !strcmp(fill, "fillin") ? FAX_RECV_FILL_FILLIN
			 : !strcmp(fill, "zero") ? FAX_RECV_FILL_ZERO
						 : FAX_RECV_FILL_REPEAT;
	if (modems)
		o.modems = atoi(modems);
	static struct pkt net[INFLIGHT];
	struct fax_recv_result r;
	struct fax_recv *rx;
	struct fax_peer *tx;
	uint8_t a[FRAME], b[FRAME];
	unsigned phase = (unsigned)(rand() % 20);
	uint16_t seq = 0;

	memset(net, 0, sizeof(net));
	if (fax_recv_alloc(&rx, &o) || fax_peer_alloc(&tx, sent, ecm, "SIM"))
		return -1;
	for (uint64_t t = 0; t < 600000 && !fax_recv_done(rx); t++) {
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
	*pages = r.pages;
	fax_recv_free(rx);
	fax_peer_free(tx);
	return r.code;
}

int main(int argc, char **argv)
{
	unsigned runs, pm, jit, ok = 0, pages, hist[128] = {0};
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
	srand(1);
	for (unsigned i = 0; i < runs; i++) {
		int code = one(sent, got, pm, jit, ecm, &pages);

		if (!code && pages == 2)
			ok++;
		else
			hist[code >= 0 && code < 127 ? code : 127]++;
	}
	printf("loss %u/1000 each way, jitter 0-%u ms, ecm %d: %u/%u OK "
	       "(%.1f %%)\n",
	       pm, jit, ecm, ok, runs, 100.0 * ok / (runs ? runs : 1));
	for (int c = 0; c < 128; c++)
		if (hist[c])
			printf("  %3u x %s\n", hist[c],
			       c == 0     ? "OK but pages missing"
			       : c == 127 ? "not ended (10 minutes)"
					  : t30_completion_code_to_str(c));
	remove(sent);
	remove(got);
	return 0;
}
