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
};

/* spandsp hands over the digits it has collected; with a digits
 * callback set they are delivered as detected (one at a time in
 * practice) and never queued for dtmf_rx_get(). */
static void digits_cb(void *user_data, const char *digits, int len)
{
	struct dtmf_inband *d = user_data;

	for (int i = 0; i < len; i++)
		d->digith(digits[i], d->arg);
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
	d->rx = dtmf_rx_init(NULL, digits_cb, d);
	if (!d->rx) {
		free(d);
		return -ENOMEM;
	}
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

		for (size_t i = 0; i < k; i++)
			amp[i] = mwlaw_decode(audio[i], law);
		dtmf_rx(d->rx, amp, (int)k);
		audio += k;
		n -= k;
	}
}
