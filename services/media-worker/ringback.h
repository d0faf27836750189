/* Ringback tone: the cadence spec of the config ("425/1000/4000": one or
 * two frequencies in Hz joined by '+', tone ms, pause ms, optional level in
 * dBm0) and one full cycle of it rendered as 8 kHz G.711, which the player
 * loops for every ringing call (shared, never copied per call). */
#ifndef RINGBACK_H
#define RINGBACK_H
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

struct ringback_spec {
	int f1, f2;	 /* Hz; f2 0 for a single tone */
	int level;	 /* dBm0 per frequency, negative */
	uint32_t on_ms;	 /* tone */
	uint32_t off_ms; /* silence after it */
};

/* "425/1000/4000" (Russia, the default), "440+480/2000/4000/-19" (North
 * America). One on/off pair per cycle (double-ring cadences such as the
 * British one are not expressible). Frequencies 50..3900 Hz, on 20..10000 ms,
 * off 0..20000 ms, level -40..-3 dBm0 (default -13). Returns 0 or -EINVAL. */
int ringback_parse(struct ringback_spec *rs, const char *str);

/* One cycle (on + off) in the law: (on_ms + off_ms) * 8 bytes, malloc'd
 * into *bufp (caller frees). 0, -EINVAL, -ENOMEM. */
int ringback_render(const struct ringback_spec *rs, enum offer_law law,
		    uint8_t **bufp, size_t *lenp);

#endif
