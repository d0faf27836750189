/* spandsp 0.0.6's T.30 answerer: repeated DCS and PPS taken in (see the
 * header). The only file that reads spandsp's private structures. */
#define SPANDSP_EXPOSE_INTERNAL_STRUCTURES
#include <spandsp.h>
#include <spandsp/version.h>

#include "fax_t30fix.h"

#if SPANDSP_RELEASE_DATE == 20110122
/* spandsp 0.0.6 t30.c's state numbers (its enum is not exported). */
enum {
	ST_F_TCF = 7,
	ST_F_FTT = 9,
	ST_F_POST_DOC_ECM = 13,
	ST_F_POST_RCP_MCF = 14,
};

static void state_set(t30_state_t *t, int state)
{
	t->state = state;
	t->step = 0; /* as t30.c's set_state() */
}

/* A frame from the HDLC receiver (ok: its CRC held). */
static void fix_frame(void *arg, const uint8_t *msg, int len, int ok)
{
	struct fax_t30fix *x = arg;
	t30_state_t *t = fax_get_t30_state(x->fax);

	/* Final frames (control field 0x13) only: that is where T.30
	 * acts on the state. */
	if (ok && len >= 3 && (msg[1] & 0x10)) {
		int fcf = msg[2] & 0xfe;

		if (t->state == ST_F_TCF && fcf == T30_DCS) {
			/* As after our FTT: the DCS is taken and its TCF
			 * awaited again. */
			state_set(t, ST_F_FTT);
			x->dcs_again++;
		} else if (t->state == ST_F_POST_RCP_MCF && fcf == T30_PPS) {
			/* process_rx_pps sees the previous page or block
			 * and answers MCF again. */
			state_set(t, ST_F_POST_DOC_ECM);
			x->pps_again++;
		}
	}
	t30_hdlc_accept(t, msg, len, ok);
}

static void hook(struct fax_t30fix *x)
{
	x->fax->modems.hdlc_rx.frame_handler = fix_frame;
	x->fax->modems.hdlc_rx.frame_user_data = x;
}

/* spandsp's set_rx_type re-initialises the HDLC receiver with T.30's
 * handler: ours goes back in after it. */
static void fix_set_rx(void *arg, int type, int bit_rate, int short_train,
		       int use_hdlc)
{
	struct fax_t30fix *x = arg;

	x->set_rx(x->set_rx_arg, type, bit_rate, short_train, use_hdlc);
	hook(x);
}

void fax_t30fix_attach(struct fax_t30fix *x, fax_state_t *fax)
{
	t30_state_t *t = fax_get_t30_state(fax);

	x->fax = fax;
	x->set_rx = t->set_rx_type_handler;
	x->set_rx_arg = t->set_rx_type_user_data;
	t->set_rx_type_handler = fix_set_rx;
	t->set_rx_type_user_data = x;
	hook(x);
}
#else
/* Another spandsp: its own T.30 (newer ones take both repeats). */
void fax_t30fix_attach(struct fax_t30fix *x, fax_state_t *fax)
{
	x->fax = fax;
}
#endif
