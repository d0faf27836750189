/* The box's header line burned into a received fax's TIFF pages (a
 * `tiff` box; the PDF draws the same line itself): every page is copied
 * into a new TIFF with the line, made by fax_pdf_header_line, rendered
 * with FreeType in black on a white band over the top of the page, at
 * the size it has on the PDF (7 pt on a 10 pt band, at the page's own
 * x and y resolution). Pure: files in, file out. */
#ifndef FAX_TIFF_HEADER_H
#define FAX_TIFF_HEADER_H
#include "fax_pdf.h"

/* The font the line is drawn in (Debian's fonts-dejavu-core). */
#define FAX_TIFF_HEADER_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

/* Writes the pages of the bilevel TIFF at `in` into a new TIFF at `out`
 * (T.6 compressed, the pages' size and resolution kept), each with hdr's
 * line, page n of the TIFF's count. font: a TrueType file, NULL for
 * FAX_TIFF_HEADER_FONT. Returns the pages written (>= 1), or -ENOENT (no
 * such TIFF or font), -EBADMSG (not a bilevel TIFF, no page, or a font
 * FreeType cannot read), -E2BIG (a page beyond fax_pdf.h's bounds),
 * -ENOMEM, -EIO. `out` may be left half written on error. */
int fax_tiff_header(const char *in, const char *out,
		    const struct fax_pdf_header *hdr, const char *font);

#endif
