/* Test support: the sending fax machine (spandsp) and its TIFF pages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp.h>
#include <tiffio.h>

#include "fax_peer.h"

struct fax_peer {
	fax_state_t *fax;
	bool done;
	int code;
	unsigned pages;
};

int fax_peer_make_tiff(const char *path, unsigned pages, unsigned rows)
{
	enum { W = 1728 };
	uint8_t line[W / 8];
	TIFF *t = TIFFOpen(path, "w");
	int err = 0;

	if (!t)
		return -EIO;
	for (unsigned p = 0; p < pages && !err; p++) {
		TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
		TIFFSetField(t, TIFFTAG_IMAGEWIDTH, W);
		TIFFSetField(t, TIFFTAG_IMAGELENGTH, rows);
		TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
		TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
		TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
		TIFFSetField(t, TIFFTAG_T4OPTIONS, 0);
		TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
		TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
		TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
		TIFFSetField(t, TIFFTAG_XRESOLUTION, 204.0f);
		TIFFSetField(t, TIFFTAG_YRESOLUTION, 196.0f);
		TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rows);
		TIFFSetField(t, TIFFTAG_PAGENUMBER, p, pages);
		for (unsigned r = 0; r < rows && !err; r++) {
			memset(line, 0, sizeof(line));
			/* p + 1 vertical bars, 64 pixels wide, and a
			 * horizontal rule every 50 rows. */
			for (unsigned b = 0; b <= p; b++)
				memset(line + 4 + b * 16, 0xff, 8);
			if (r % 50 == 0)
				memset(line, 0xff, sizeof(line));
			if (TIFFWriteScanline(t, line, r, 0) < 0)
				err = -EIO;
		}
		if (!err && !TIFFWriteDirectory(t))
			err = -EIO;
	}
	TIFFClose(t);
	return err;
}

static unsigned bits(uint8_t b)
{
	unsigned n = 0;

	for (; b; b &= (uint8_t)(b - 1))
		n++;
	return n;
}

int fax_peer_read_tiff(const char *path, struct fax_page_info *pi,
		       unsigned max)
{
	TIFF *t = TIFFOpen(path, "r");
	unsigned n = 0;

	if (!t)
		return -ENOENT;
	do {
		uint32_t w = 0, h = 0, band;
		uint16_t photo = PHOTOMETRIC_MINISWHITE;
		float xr = 0, yr = 0;
		tmsize_t ls = TIFFScanlineSize(t);
		uint8_t *line;

		if (n == max)
			break;
		TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
		TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
		TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photo);
		TIFFGetField(t, TIFFTAG_XRESOLUTION, &xr);
		TIFFGetField(t, TIFFTAG_YRESOLUTION, &yr);
		memset(&pi[n], 0, sizeof(pi[n]));
		pi[n].width = w;
		pi[n].rows = h;
		pi[n].x_dpi = (unsigned)(xr + 0.5f);
		pi[n].y_dpi = (unsigned)(yr + 0.5f);
		line = ls > 0 ? malloc((size_t)ls) : NULL;
		/* The header band: 10 points at the page's resolution. */
		band = (uint32_t)(10.0f * (yr > 0 ? yr : 98) / 72 + 0.5f);
		for (uint32_t r = 0; line && r < h; r++) {
			unsigned k = 0;

			if (TIFFReadScanline(t, line, r, 0) < 0)
				continue;
			for (tmsize_t i = 0; i < ls; i++)
				k += bits(photo == PHOTOMETRIC_MINISBLACK
						  ? (uint8_t)~line[i]
						  : line[i]);
			pi[n].black += k;
			if (r < band)
				pi[n].black_top += k;
		}
		free(line);
		n++;
	} while (TIFFReadDirectory(t));
	TIFFClose(t);
	return (int)n;
}

static void phase_e(t30_state_t *s, void *arg, int code)
{
	struct fax_peer *f = arg;
	t30_stats_t st;

	t30_get_transfer_statistics(s, &st);
	f->done = true;
	f->code = code;
	f->pages = st.pages_tx > 0 ? (unsigned)st.pages_tx : 0;
}

int fax_peer_alloc(struct fax_peer **fp, const char *tiff_path, bool ecm,
		   const char *ident)
{
	struct fax_peer *f = calloc(1, sizeof(*f));
	t30_state_t *t30;

	if (!f)
		return -ENOMEM;
	f->fax = fax_init(NULL, true);
	if (!f->fax) {
		free(f);
		return -ENOMEM;
	}
	fax_set_transmit_on_idle(f->fax, true);
	t30 = fax_get_t30_state(f->fax);
	t30_set_supported_modems(t30, T30_SUPPORT_V27TER | T30_SUPPORT_V29 |
					      T30_SUPPORT_V17);
	t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION |
						    T30_SUPPORT_T4_2D_COMPRESSION);
	t30_set_ecm_capability(t30, ecm);
	if (ident)
		t30_set_tx_ident(t30, ident);
	t30_set_tx_file(t30, tiff_path, -1, -1);
	t30_set_phase_e_handler(t30, phase_e, f);
	*fp = f;
	return 0;
}

void fax_peer_free(struct fax_peer *f)
{
	if (!f)
		return;
	fax_free(f->fax);
	free(f);
}

void fax_peer_rx(struct fax_peer *f, const uint8_t *g711, size_t len,
		 bool alaw)
{
	int16_t amp[8000];

	if (len > 8000)
		len = 8000;
	for (size_t i = 0; i < len; i++)
		amp[i] = alaw ? alaw_to_linear(g711[i]) : ulaw_to_linear(g711[i]);
	fax_rx(f->fax, amp, (int)len);
}

void fax_peer_rx_lost(struct fax_peer *f, size_t samples)
{
	fax_rx_fillin(f->fax, (int)samples);
}

void fax_peer_tx(struct fax_peer *f, uint8_t out[FAX_PEER_FRAME], bool alaw)
{
	int16_t amp[FAX_PEER_FRAME];
	int n = fax_tx(f->fax, amp, FAX_PEER_FRAME);

	if (n < 0)
		n = 0;
	memset(amp + n, 0, (FAX_PEER_FRAME - (size_t)n) * sizeof(*amp));
	for (size_t i = 0; i < FAX_PEER_FRAME; i++)
		out[i] = alaw ? linear_to_alaw(amp[i]) : linear_to_ulaw(amp[i]);
}

bool fax_peer_done(const struct fax_peer *f, int *code, unsigned *pages)
{
	if (code)
		*code = f->code;
	if (pages)
		*pages = f->pages;
	return f->done;
}

void fax_peer_hangup(struct fax_peer *f)
{
	if (!f->done)
		t30_terminate(fax_get_t30_state(f->fax));
}
