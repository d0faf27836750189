/* A received fax's TIFF as a PDF (libtiff decodes each page, libhpdf
 * writes one page per fax page at the fax's own resolution, so the PDF
 * prints at the size that was sent). No shelling out. Pure: files in,
 * file out. */
#ifndef FAX_PDF_H
#define FAX_PDF_H
#include <stdarg.h>
#include <stddef.h>

enum {
	FAX_PDF_MAX_PAGES = 500,    /* a longer fax is cut here */
	FAX_PDF_MAX_WIDTH = 10000,  /* pixels: T.30 pages are <= 4864 */
	FAX_PDF_MAX_LENGTH = 60000, /* rows: a long page at 1200 lpi */
	/* The header line: its longest text, its size and its white band
	 * in points (the TIFF header, fax_tiff_header.h, the same). */
	FAX_PDF_HEADER_MAX = 160,
	FAX_PDF_HEADER_PT = 7,
	FAX_PDF_HEADER_BAND = 10,
};

/* The page header line (the box's `header`): "<when>  From: <from>
 * <text>  Page n/m" in the PDF's built-in Helvetica on a white band at the
 * top of every page (over the image). Printable ASCII; other bytes are
 * written as '?'. A `tiff` box gets the same line burned into its TIFF
 * pages (fax_tiff_header.h). */
struct fax_pdf_header {
	const char *text; /* the box's line; NULL or "": no header at all */
	const char *when; /* "2026-12-07 22:45 UTC" */
	const char *from; /* the sender's TSI, else the caller */
};

/* The header line of page n of `of` into buf (cut to size): printable
 * ASCII, other bytes as '?'. The one place its text is made, for the PDF
 * and the TIFF pages alike. Returns snprintf's length. */
int fax_pdf_header_line(char *buf, size_t size,
			const struct fax_pdf_header *hdr, int n, int of);

/* Writes the pages of the bilevel TIFF at tiff_path into a new PDF at
 * pdf_path, each with hdr's line when hdr is not NULL. Returns the number
 * of pages written (>= 1), or -ENOENT (no such file), -EBADMSG (not a
 * bilevel fax TIFF, or no page in it), -E2BIG (a page beyond the bounds
 * above), -ENOMEM, -EIO. */
int fax_pdf_write(const char *tiff_path, const char *pdf_path,
		  const struct fax_pdf_header *hdr);

/* For libtiff's TIFFSetErrorHandler / TIFFSetWarningHandler: says
 * nothing (libtiff prints on stderr by default; a damaged page is
 * reported by the callers' return values instead). */
void fax_tiff_quiet(const char *module, const char *fmt, va_list ap);
/* The current page's resolution tag (TIFFTAG_XRESOLUTION or _Y) in dots
 * per inch, or fallback when it is missing. */
struct tiff;
float fax_tiff_dpi(struct tiff *t, unsigned tag, float fallback);

#endif
