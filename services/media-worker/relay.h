/* Relay stamping: packets from the other leg of a bridge are sent on this
 * leg's own outbound stream: our SSRC, our sequence numbers (one more per
 * packet sent, whatever came in: the stream we send stays gap-free across
 * prompts, sources and hold), and timestamps that keep the inbound
 * stream's timing. The timestamp offset is recomputed from the wall clock
 * whenever the source changes (a new SSRC, the end of a prompt, resume
 * from hold); that packet carries the marker. Telephone-events from an
 * SSRC other than the audio's (some senders use two) get their own
 * offset, so neither source resets the other. Pure. */
#ifndef RELAY_H
#define RELAY_H
#include <stdbool.h>
#include <stdint.h>

#include "mw_rtp.h"
#include "player.h"

struct relay_map {
	bool sync; /* ts_off valid for in_ssrc */
	uint32_t in_ssrc;
	uint32_t ts_off;
};

/* Owned by the leg it sends on. */
struct relay {
	struct relay_map audio;
	struct relay_map te;
};

/* The next relayed packet starts a new talkspurt (offsets recomputed). */
static inline void relay_resync(struct relay *r)
{
	r->audio.sync = false;
	r->te.sync = false;
}

/* Fills *out for the inbound header *in, sent on stream `s` at now_ms.
 * samples: the audio duration of the payload; te: a telephone-event
 * packet (no duration: all packets of an event carry its start time).
 * Advances s (seq, ts, last_ms) as the player would. */
void relay_stamp(struct relay *r, struct player *s,
		 const struct mw_rtp_hdr *in, uint32_t samples, bool te,
		 uint64_t now_ms, struct mw_rtp_hdr *out);

#endif
