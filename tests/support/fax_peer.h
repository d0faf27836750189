/* Test support: a fax machine that sends, built on spandsp (the calling
 * side of T.30 over G.711), for the in-process worker tests and the e2e
 * sender (tests/tools/fax_send.c). Also makes the multi-page TIFF it sends
 * (libtiff, a pattern that differs per page) and reads back a received
 * TIFF's pages (count, width, rows, black pixels) to compare them. No
 * sockets: the caller moves its 20 ms frames. */
#ifndef FAX_PEER_H
#define FAX_PEER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	FAX_PEER_FRAME = 160,
	FAX_PEER_PAGES_MAX = 16,
};

struct fax_peer;

/* One page of a TIFF as read back. */
struct fax_page_info {
	unsigned width, rows;
	unsigned black; /* black pixels on the page */
	/* ... of them in the header band (the top 10 points, where the
	 * worker burns a tiff box's header line: fax_tiff_header.h) */
	unsigned black_top;
	unsigned x_dpi, y_dpi;
};

/* Writes a G3 (T.4 1D) bilevel TIFF of `pages` pages, 1728 pixels wide,
 * `rows` rows each at 204 x 196 dpi, page n carrying n + 1 black bars
 * (so pages differ and their order shows). 0 or -EIO. */
int fax_peer_make_tiff(const char *path, unsigned pages, unsigned rows);
/* Reads the pages of a TIFF: returns the page count (<= max) or a
 * negative errno. */
int fax_peer_read_tiff(const char *path, struct fax_page_info *pi,
		       unsigned max);

/* A sender of tiff_path (ecm: offer error correction), ident its TSI.
 * 0, -ENOMEM. */
int fax_peer_alloc(struct fax_peer **fp, const char *tiff_path, bool ecm,
		   const char *ident);
void fax_peer_free(struct fax_peer *f);
/* Received audio (G.711, alaw or µ-law), any length up to 8000. */
void fax_peer_rx(struct fax_peer *f, const uint8_t *g711, size_t len,
		 bool alaw);
/* Audio lost in transit, in samples (a fill-in). */
void fax_peer_rx_lost(struct fax_peer *f, size_t samples);
/* The next 20 ms to send. */
void fax_peer_tx(struct fax_peer *f, uint8_t out[FAX_PEER_FRAME], bool alaw);
/* T.30 ended; *code the completion code (0 OK), *pages the pages sent. */
bool fax_peer_done(const struct fax_peer *f, int *code, unsigned *pages);
/* Ends T.30 now (the line dropped). */
void fax_peer_hangup(struct fax_peer *f);

#endif
