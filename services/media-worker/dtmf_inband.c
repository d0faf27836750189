/* In-band DTMF detection (spandsp dtmf_rx) on G.711 frames. */
#include <errno.h>
#include <stdlib.h>

#include <spandsp.h>

#include "dtmf_inband.h"
#include "mwlaw.h"

enum { CHUNK = 160 };

struct dtmf_inband {
	dtmf_rx_state_t *rx;
	dtmf_inband_h *digith;
	void *arg;
	char tone; /* the key sounding now, 0: none */
};

/* spandsp's realtime callback: a confirmed change of the received tone,
 * code = the key when one starts, 0 when it stops. With it set, spandsp
 * queues no digits (no digits callback needed); we report each key when
 * its tone starts and remember that it is on, which is what the
 * de-duplication against RFC 4733 needs. */
static void tone_cb(void *user_data, int code, int level, int delay)
{
	struct dtmf_inband *d = user_data;

	(void)level;
	(void)delay;
	d->tone = (char)code;
	if (code)
		d->digith((char)code, d->arg);
}

int dtmf_inband_alloc(struct dtmf_inband **dp, dtmf_inband_h *digith,
		      void *arg)
{
	struct dtmf_inband *d;

	if (!dp || !digith)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->digith = digith;
	d->arg = arg;
	d->rx = dtmf_rx_init(NULL, NULL, NULL);
	if (!d->rx) {
		free(d);
		return -ENOMEM;
	}
	dtmf_rx_set_realtime_callback(d->rx, tone_cb, d);
	*dp = d;
	return 0;
}

void dtmf_inband_free(struct dtmf_inband *d)
{
	if (!d)
		return;
	dtmf_rx_free(d->rx);
	free(d);
}

void dtmf_inband_feed(struct dtmf_inband *d, const uint8_t *audio, size_t n,
		      enum offer_law law)
{
	int16_t amp[CHUNK];

	while (n) {
		size_t k = n < CHUNK ? n : CHUNK;

		mwlaw_decode_buf(amp, audio, k, law);
		dtmf_rx(d->rx, amp, (int)k);
		audio += k;
		n -= k;
	}
}

char dtmf_inband_tone(const struct dtmf_inband *d)
{
	return d ? d->tone : 0;
}
