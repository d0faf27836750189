/* Fax TIFF -> PDF: every page decoded to 1-bit rows with libtiff, placed
 * as an image on a page of its physical size with libhpdf, with the box's
 * header line (date, sender, page n/m) at its top when it has one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpdf.h>
#include <tiffio.h>

#include "fax_pdf.h"

/* libhpdf reports errors through a handler; it only records the first. */
static void hpdf_err(HPDF_STATUS err, HPDF_STATUS detail, void *arg)
{
	int *e = arg;

	(void)detail;
	if (!*e)
		*e = err == HPDF_FAILD_TO_ALLOC_MEM ? -ENOMEM : -EIO;
}

/* libtiff prints on stderr by default; the return value says enough. */
void fax_tiff_quiet(const char *module, const char *fmt, va_list ap)
{
	(void)module;
	(void)fmt;
	(void)ap;
}

float fax_tiff_dpi(TIFF *t, unsigned tag, float fallback)
{
	float v = 0;
	uint16_t unit = RESUNIT_INCH;

	if (!TIFFGetField(t, tag, &v) || v <= 0)
		return fallback;
	TIFFGetFieldDefaulted(t, TIFFTAG_RESOLUTIONUNIT, &unit);
	return unit == RESUNIT_CENTIMETER ? v * 2.54f : v;
}

enum { HDR_PT = FAX_PDF_HEADER_PT, HDR_BAND = FAX_PDF_HEADER_BAND };

/* Printable ASCII only: Helvetica's WinAnsi would garble the rest. */
static void hdr_clean(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

int fax_pdf_header_line(char *buf, size_t size,
			const struct fax_pdf_header *hdr, int n, int of)
{
	int len = snprintf(buf, size, "%s  From: %s  %s  Page %d/%d",
			   hdr->when ? hdr->when : "",
			   hdr->from ? hdr->from : "", hdr->text, n, of);

	hdr_clean(buf);
	return len;
}

/* The header line on a white band at the top of the page. */
static void header_draw(HPDF_Doc pdf, HPDF_Page page, float pw, float ph,
			const struct fax_pdf_header *hdr, int n, int of)
{
	HPDF_Font font = HPDF_GetFont(pdf, "Helvetica", NULL);
	char line[FAX_PDF_HEADER_MAX];

	if (!font)
		return;
	fax_pdf_header_line(line, sizeof(line), hdr, n, of);
	HPDF_Page_SetRGBFill(page, 1, 1, 1);
	HPDF_Page_Rectangle(page, 0, ph - HDR_BAND, pw, HDR_BAND);
	HPDF_Page_Fill(page);
	HPDF_Page_SetRGBFill(page, 0, 0, 0);
	HPDF_Page_BeginText(page);
	HPDF_Page_SetFontAndSize(page, font, HDR_PT);
	HPDF_Page_TextOut(page, 6, ph - HDR_BAND + 2.5f, line);
	HPDF_Page_EndText(page);
}

/* One TIFF directory as one PDF page (n of `of`, for the header). */
static int page_add(TIFF *t, HPDF_Doc pdf, int *herr,
		    const struct fax_pdf_header *hdr, int n, int of)
{
	uint32_t w = 0, h = 0;
	uint16_t bps = 1, spp = 1, photo = PHOTOMETRIC_MINISWHITE;
	tmsize_t line;
	uint8_t *buf;
	HPDF_Image img;
	HPDF_Page page;
	float xd, yd, pw, ph;

	TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
	TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
	TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photo);
	if (bps != 1 || spp != 1 || !w || !h)
		return -EBADMSG;
	if (w > FAX_PDF_MAX_WIDTH || h > FAX_PDF_MAX_LENGTH)
		return -E2BIG;
	line = TIFFScanlineSize(t);
	if (line <= 0 || (uint64_t)line * 8 < w)
		return -EBADMSG;
	buf = calloc(h, (size_t)line);
	if (!buf)
		return -ENOMEM;
	for (uint32_t r = 0; r < h; r++) {
		/* A row that does not decode stays white: a fax with a bad
		 * row is still worth reading. */
		if (TIFFReadScanline(t, buf + (size_t)r * line, r, 0) < 0)
			memset(buf + (size_t)r * line, 0, (size_t)line);
	}
	if (photo == PHOTOMETRIC_MINISBLACK) /* 1 is white: flip to 1=black */
		for (size_t i = 0; i < (size_t)h * line; i++)
			buf[i] = (uint8_t)~buf[i];
	img = HPDF_Image_LoadRaw1BitImageFromMem(pdf, buf, w, h,
						 (HPDF_UINT)line, HPDF_TRUE,
						 HPDF_TRUE);
	free(buf);
	if (!img)
		return *herr ? *herr : -EIO;
	/* Fax defaults: 204 x 98 dpi (standard resolution). */
	xd = fax_tiff_dpi(t, TIFFTAG_XRESOLUTION, 204);
	yd = fax_tiff_dpi(t, TIFFTAG_YRESOLUTION, 98);
	pw = (float)w * 72.0f / xd;
	ph = (float)h * 72.0f / yd;
	page = HPDF_AddPage(pdf);
	if (!page)
		return *herr ? *herr : -EIO;
	HPDF_Page_SetWidth(page, pw);
	HPDF_Page_SetHeight(page, ph);
	HPDF_Page_DrawImage(page, img, 0, 0, pw, ph);
	if (hdr && hdr->text && hdr->text[0])
		header_draw(pdf, page, pw, ph, hdr, n, of);
	return *herr;
}

int fax_pdf_write(const char *tiff_path, const char *pdf_path,
		  const struct fax_pdf_header *hdr)
{
	TIFFErrorHandler oe, ow;
	HPDF_Doc pdf;
	TIFF *t;
	int herr = 0, pages = 0, err = 0, of;

	if (!tiff_path || !pdf_path)
		return -EINVAL;
	oe = TIFFSetErrorHandler(fax_tiff_quiet);
	ow = TIFFSetWarningHandler(fax_tiff_quiet);
	t = TIFFOpen(tiff_path, "r");
	if (!t) {
		err = errno == ENOENT ? -ENOENT : -EBADMSG;
		goto out;
	}
	pdf = HPDF_New(hpdf_err, &herr);
	if (!pdf) {
		err = -ENOMEM;
		goto out;
	}
	HPDF_SetCompressionMode(pdf, HPDF_COMP_ALL);
	of = TIFFNumberOfDirectories(t);
	if (of > FAX_PDF_MAX_PAGES)
		of = FAX_PDF_MAX_PAGES;
	do {
		if (pages == FAX_PDF_MAX_PAGES)
			break;
		err = page_add(t, pdf, &herr, hdr, pages + 1, of);
		if (err)
			break;
		pages++;
	} while (TIFFReadDirectory(t));
	if (!err && !pages)
		err = -EBADMSG;
	if (!err && HPDF_SaveToFile(pdf, pdf_path) != HPDF_OK)
		err = herr ? herr : -EIO;
	HPDF_Free(pdf);
out:
	if (t)
		TIFFClose(t);
	TIFFSetErrorHandler(oe);
	TIFFSetWarningHandler(ow);
	return err ? err : pages;
}
