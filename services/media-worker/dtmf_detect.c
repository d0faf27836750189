/* RFC 4733 + in-band DTMF of one stream, one report per key press. */
#include <errno.h>
#include <stdlib.h>

#include "dtmf_4733.h"
#include "dtmf_dedup.h"
#include "dtmf_detect.h"
#include "dtmf_inband.h"

struct dtmf_detect {
	struct dtmf_4733 te;
	struct dtmf_inband *inband;
	struct dtmf_dedup dedup;
	uint64_t now_ms; /* of the audio being fed (for inband_digit) */
	dtmf_detect_h *digith;
	void *arg;
};

static void inband_digit(char digit, void *arg)
{
	struct dtmf_detect *d = arg;

	if (dtmf_dedup_press(&d->dedup, DTMF_SRC_INBAND, digit, d->now_ms))
		d->digith(digit, "inband", d->arg);
}

int dtmf_detect_alloc(struct dtmf_detect **dp, dtmf_detect_h *digith,
		      void *arg)
{
	struct dtmf_detect *d;
	int err;

	if (!dp || !digith)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->digith = digith;
	d->arg = arg;
	dtmf_dedup_init(&d->dedup);
	err = dtmf_4733_init(&d->te);
	if (!err)
		err = dtmf_inband_alloc(&d->inband, inband_digit, d);
	if (err) {
		dtmf_detect_free(d);
		return err;
	}
	*dp = d;
	return 0;
}

void dtmf_detect_free(struct dtmf_detect *d)
{
	if (!d)
		return;
	dtmf_inband_free(d->inband);
	dtmf_4733_close(&d->te);
	free(d);
}

void dtmf_detect_event(struct dtmf_detect *d, uint32_t ts,
		       const uint8_t *payload, size_t len, uint64_t now_ms)
{
	char digit = dtmf_4733_recv(&d->te, ts, payload, len);

	if (digit) {
		if (dtmf_dedup_press(&d->dedup, DTMF_SRC_4733, digit, now_ms))
			d->digith(digit, "rfc4733", d->arg);
	} else if (dtmf_4733_in_press(&d->te, ts)) {
		/* Repeats and end packets: the press is still on. */
		dtmf_dedup_alive(&d->dedup, DTMF_SRC_4733, now_ms);
	}
}

void dtmf_detect_audio(struct dtmf_detect *d, const uint8_t *audio, size_t n,
		       enum offer_law law, uint64_t now_ms)
{
	d->now_ms = now_ms;
	dtmf_inband_feed(d->inband, audio, n, law);
	if (dtmf_inband_tone(d->inband))
		dtmf_dedup_alive(&d->dedup, DTMF_SRC_INBAND, now_ms);
}
