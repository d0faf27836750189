/* Two repeated T.30 commands that spandsp 0.0.6's answerer (Debian 12's
 * libspandsp2, release 20110122) refuses, taken in as T.30 says instead.
 * Both happen when a packet is lost (docs/performance.md, "Fax over
 * audio"):
 * - a DCS repeated while waiting for TCF: the image modem did not train
 *   (a packet lost in its training), 0.0.6 sends nothing and, when the
 *   sender repeats DCS after its T4, treats the DCS as unexpected and
 *   disconnects ("Unexpected message received"). Taken as a new DCS: a
 *   new TCF follows, as after an FTT.
 * - a PPS repeated after our MCF (ECM): our MCF was lost; 0.0.6
 *   disconnects although every frame arrived. Taken by spandsp's own
 *   "repeat of the previous block" check, which sends MCF again.
 * How: the frames spandsp's V.21 / ECM HDLC receiver decodes pass through
 * fax_t30fix_frame before T.30; the HDLC receiver's handler is set again
 * every time spandsp sets up a receive modem (it re-initialises the HDLC
 * receiver then). Compiled in only for that spandsp release: the states
 * are its t30.c's. Owned by the fax receiver, which must not move it
 * while the fax object lives (spandsp keeps its address). */
#ifndef FAX_T30FIX_H
#define FAX_T30FIX_H
#include <spandsp.h>

struct fax_t30fix {
	fax_state_t *fax;
	t30_set_handler_t *set_rx;	/* spandsp's own, called first */
	void *set_rx_arg;
	unsigned dcs_again, pps_again; /* repeats taken in */
};

/* Puts the workaround between fax's HDLC receiver and its T.30. */
void fax_t30fix_attach(struct fax_t30fix *x, fax_state_t *fax);

#endif
