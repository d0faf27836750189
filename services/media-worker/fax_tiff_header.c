/* The header line on a fax's TIFF pages: libtiff copies each page's rows,
 * FreeType draws the line into the top ones. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <tiffio.h>

#include "fax_tiff_header.h"

struct page {
	uint8_t *buf; /* rows of `line` bytes, 1 bit per pixel */
	size_t line;
	uint32_t w, h;
	bool one_is_black; /* PHOTOMETRIC_MINISWHITE, as fax TIFFs are */
};

static void pixel_ink(struct page *p, long x, long y)
{
	uint8_t *b;

	if (x < 0 || y < 0 || x >= (long)p->w || y >= (long)p->h)
		return;
	b = p->buf + (size_t)y * p->line + (size_t)x / 8;
	if (p->one_is_black)
		*b |= (uint8_t)(0x80 >> (x % 8));
	else
		*b &= (uint8_t)~(0x80 >> (x % 8));
}

/* The white band: `rows` rows from the top. */
static void band_clear(struct page *p, uint32_t rows)
{
	if (rows > p->h)
		rows = p->h;
	memset(p->buf, p->one_is_black ? 0x00 : 0xff, (size_t)rows * p->line);
}

/* The line in 1-bit glyphs (no anti-aliasing: a fax page has no grey),
 * its baseline at row `base`, starting at column `x`. */
static void text_draw(FT_Face face, struct page *p, const char *s, long x,
		     long base)
{
	for (; *s; s++) {
		FT_GlyphSlot g;

		if (FT_Load_Char(face, (unsigned char)*s,
				 FT_LOAD_RENDER | FT_LOAD_TARGET_MONO |
					 FT_LOAD_MONOCHROME))
			continue; /* no glyph: skipped, the rest drawn */
		g = face->glyph;
		for (unsigned r = 0; r < g->bitmap.rows; r++) {
			const uint8_t *row =
				g->bitmap.buffer + (long)r * g->bitmap.pitch;

			for (unsigned c = 0; c < g->bitmap.width; c++)
				if (row[c / 8] & (0x80 >> (c % 8)))
					pixel_ink(p, x + g->bitmap_left + c,
						  base - g->bitmap_top + r);
		}
		x += g->advance.x >> 6;
		if (x >= (long)p->w)
			break;
	}
}

/* The input's current page, with the line, as the output's next page. */
static int page_copy(TIFF *in, TIFF *out, FT_Face face,
		     const struct fax_pdf_header *hdr, int n, int of)
{
	uint16_t bps = 1, spp = 1, photo = PHOTOMETRIC_MINISWHITE;
	struct page p = {0};
	char line[FAX_PDF_HEADER_MAX];
	float xd, yd;
	tmsize_t sl;
	int err = 0;

	TIFFGetField(in, TIFFTAG_IMAGEWIDTH, &p.w);
	TIFFGetField(in, TIFFTAG_IMAGELENGTH, &p.h);
	TIFFGetFieldDefaulted(in, TIFFTAG_BITSPERSAMPLE, &bps);
	TIFFGetFieldDefaulted(in, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetField(in, TIFFTAG_PHOTOMETRIC, &photo);
	if (bps != 1 || spp != 1 || !p.w || !p.h)
		return -EBADMSG;
	if (p.w > FAX_PDF_MAX_WIDTH || p.h > FAX_PDF_MAX_LENGTH)
		return -E2BIG;
	sl = TIFFScanlineSize(in);
	if (sl <= 0 || (uint64_t)sl * 8 < p.w)
		return -EBADMSG;
	p.line = (size_t)sl;
	p.one_is_black = photo != PHOTOMETRIC_MINISBLACK;
	p.buf = calloc(p.h, p.line);
	if (!p.buf)
		return -ENOMEM;
	for (uint32_t r = 0; r < p.h; r++)
		if (TIFFReadScanline(in, p.buf + (size_t)r * p.line, r, 0) < 0)
			memset(p.buf + (size_t)r * p.line,
			       p.one_is_black ? 0x00 : 0xff, p.line);
	/* Fax defaults: 204 x 98 dpi (standard resolution). */
	xd = fax_tiff_dpi(in, TIFFTAG_XRESOLUTION, 204);
	yd = fax_tiff_dpi(in, TIFFTAG_YRESOLUTION, 98);
	/* The PDF's sizes in this page's pixels (FreeType scales x and y
	 * apart: fax pixels are not square). */
	if (FT_Set_Char_Size(face, 0, FAX_PDF_HEADER_PT * 64,
			     (FT_UInt)(xd + 0.5f), (FT_UInt)(yd + 0.5f))) {
		err = -EBADMSG;
		goto out;
	}
	band_clear(&p, (uint32_t)(FAX_PDF_HEADER_BAND * yd / 72 + 0.5f));
	fax_pdf_header_line(line, sizeof(line), hdr, n, of);
	text_draw(face, &p, line, (long)(6 * xd / 72),
		  (long)((FAX_PDF_HEADER_BAND - 2.5f) * yd / 72));
	TIFFSetField(out, TIFFTAG_IMAGEWIDTH, p.w);
	TIFFSetField(out, TIFFTAG_IMAGELENGTH, p.h);
	TIFFSetField(out, TIFFTAG_BITSPERSAMPLE, 1);
	TIFFSetField(out, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(out, TIFFTAG_PHOTOMETRIC, photo);
	TIFFSetField(out, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
	TIFFSetField(out, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
	TIFFSetField(out, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(out, TIFFTAG_ROWSPERSTRIP, p.h);
	TIFFSetField(out, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
	TIFFSetField(out, TIFFTAG_XRESOLUTION, xd);
	TIFFSetField(out, TIFFTAG_YRESOLUTION, yd);
	TIFFSetField(out, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
	TIFFSetField(out, TIFFTAG_PAGENUMBER, (uint16_t)(n - 1), (uint16_t)of);
	for (uint32_t r = 0; r < p.h && !err; r++)
		if (TIFFWriteScanline(out, p.buf + (size_t)r * p.line, r, 0) <
		    0)
			err = -EIO;
	if (!err && !TIFFWriteDirectory(out))
		err = -EIO;
out:
	free(p.buf);
	return err;
}

int fax_tiff_header(const char *in_path, const char *out_path,
		    const struct fax_pdf_header *hdr, const char *font)
{
	TIFFErrorHandler oe, ow;
	FT_Library ft = NULL;
	FT_Face face = NULL;
	TIFF *in = NULL, *out = NULL;
	int err = 0, pages = 0, of;

	if (!in_path || !out_path || !hdr || !hdr->text)
		return -EINVAL;
	if (FT_Init_FreeType(&ft))
		return -ENOMEM;
	err = FT_New_Face(ft, font ? font : FAX_TIFF_HEADER_FONT, 0, &face);
	if (err) {
		FT_Done_FreeType(ft);
		return err == FT_Err_Cannot_Open_Resource ? -ENOENT : -EBADMSG;
	}
	oe = TIFFSetErrorHandler(fax_tiff_quiet);
	ow = TIFFSetWarningHandler(fax_tiff_quiet);
	in = TIFFOpen(in_path, "r");
	if (!in) {
		err = errno == ENOENT ? -ENOENT : -EBADMSG;
		goto done;
	}
	out = TIFFOpen(out_path, "w");
	if (!out) {
		err = -EIO;
		goto done;
	}
	of = TIFFNumberOfDirectories(in);
	if (of > FAX_PDF_MAX_PAGES)
		of = FAX_PDF_MAX_PAGES;
	do {
		if (pages == FAX_PDF_MAX_PAGES)
			break;
		err = page_copy(in, out, face, hdr, pages + 1, of);
		if (err)
			break;
		pages++;
	} while (TIFFReadDirectory(in));
	if (!err && !pages)
		err = -EBADMSG;
done:
	if (out)
		TIFFClose(out); /* flushes: its errors come back as EIO */
	if (in)
		TIFFClose(in);
	TIFFSetErrorHandler(oe);
	TIFFSetWarningHandler(ow);
	FT_Done_Face(face);
	FT_Done_FreeType(ft);
	return err ? err : pages;
}
