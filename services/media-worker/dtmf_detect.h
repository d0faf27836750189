/* The caller's keys from its RTP: RFC 4733 events (when telephone-event
 * was negotiated) and in-band tones (always: some gateways negotiate
 * telephone-event and still send tones), merged into one report per key
 * press by dtmf_dedup. Owns the three detectors; no sockets, time passed
 * in, so the whole path is testable with packets made up by a test. */
#ifndef DTMF_DETECT_H
#define DTMF_DETECT_H
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

struct dtmf_detect;

/* One key press: digit 0-9 * # A-D, how = "rfc4733" or "inband" (the way
 * that reported it first). Called from inside dtmf_detect_event/_audio. */
typedef void(dtmf_detect_h)(char digit, const char *how, void *arg);

/* 0, -EINVAL, -ENOMEM; *dp is set only on success. */
int dtmf_detect_alloc(struct dtmf_detect **dp, dtmf_detect_h *digith,
		      void *arg);
void dtmf_detect_free(struct dtmf_detect *d); /* NULL-safe */

/* A telephone-event packet's payload and RTP timestamp, received at
 * now_ms (any monotonic millisecond clock, the same for both calls). */
void dtmf_detect_event(struct dtmf_detect *d, uint32_t ts,
		       const uint8_t *payload, size_t len, uint64_t now_ms);
/* n bytes of G.711 audio in law, received at now_ms. */
void dtmf_detect_audio(struct dtmf_detect *d, const uint8_t *audio, size_t n,
		       enum offer_law law, uint64_t now_ms);

#endif
