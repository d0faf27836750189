/* In-band DTMF: spandsp's detector over the G.711 audio of one inbound
 * stream, one digit per tone (reported when the tone starts). Runs on
 * every caller leg, telephone-event or not: some gateways negotiate it
 * and still send tones; dtmf_dedup keeps a key that arrives both ways
 * to one event. About 3 µs of CPU per 20 ms frame. */
#ifndef DTMF_INBAND_H
#define DTMF_INBAND_H
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

struct dtmf_inband;

/* Called once per detected key, from inside dtmf_inband_feed(). */
typedef void(dtmf_inband_h)(char digit, void *arg);

int dtmf_inband_alloc(struct dtmf_inband **dp, dtmf_inband_h *digith,
		      void *arg);
void dtmf_inband_free(struct dtmf_inband *d);

/* Feeds n bytes of G.711 audio in the given law (any frame size). */
void dtmf_inband_feed(struct dtmf_inband *d, const uint8_t *audio, size_t n,
		      enum offer_law law);

/* The key whose tone is on at the end of the audio fed so far, or 0. */
char dtmf_inband_tone(const struct dtmf_inband *d);

#endif
