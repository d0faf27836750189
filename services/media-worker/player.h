/* Prompt playback for one call: turns raw 8 kHz G.711 bytes into 20 ms RTP
 * packets (seq, timestamp, marker, silence padding, catch-up after a late
 * timer). Pure: no sockets and no clock of its own; the caller passes the
 * monotonic time and a send handler, so tests drive it packet by packet. */
#ifndef PLAYER_H
#define PLAYER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mw_rtp.h"

enum {
	PLAYER_PTIME_MS = 20,
	PLAYER_SAMPLES = 160, /* 20 ms at 8 kHz, one byte per sample */
	PLAYER_PKT_SIZE = MW_RTP_HDR_SIZE + PLAYER_SAMPLES,
	/* A tick that reports more periods than this (the loop stalled) sends
	 * only this many and drops the older audio: a burst longer than a
	 * jitter buffer would be discarded by the phone anyway. */
	PLAYER_MAX_CATCHUP = 25,
};

/* G.711 silence: µ-law 0xFF and A-law 0xD5 both decode to (near) zero. */
#define PLAYER_SILENCE_ULAW 0xFF
#define PLAYER_SILENCE_ALAW 0xD5

/* One RTP stream (it lives as long as the call: seq, timestamp and SSRC
 * continue across prompts) plus the prompt being played. Owned by the
 * call; player_stop() drops its reference to the prompt. */
struct player {
	uint32_t ssrc;
	uint16_t seq; /* of the next packet */
	uint32_t ts;  /* of the next packet */
	uint8_t pt;
	uint8_t silence;
	bool sent_any;
	uint64_t last_ms; /* when the last packet was produced */

	const uint8_t *audio; /* prompt, NULL when idle */
	bool ref;	      /* we hold a libre mem reference to audio */
	bool forever;	      /* loops until stopped (ringback) */
	size_t len;
	size_t pos;
	uint32_t passes; /* passes still to start after the current one */
	bool marker;	 /* the next packet starts a talkspurt */
};

/* Sends one packet; pkt is only valid during the call. */
typedef void(player_send_h)(const uint8_t *pkt, size_t len, void *arg);

void player_init(struct player *p, uint8_t pt, uint8_t silence, uint32_t ssrc,
		 uint16_t seq, uint32_t ts);
/* Changes the payload type and silence byte (re-INVITE picked a new
 * codec); the stream keeps its seq and timestamp. */
void player_set_codec(struct player *p, uint8_t pt, uint8_t silence);

/* `loops` that plays until stopped or replaced (music on hold). */
#define PLAYER_FOREVER UINT32_MAX

/* Copies audio and starts playing it `loops` times (0 counts as 1); a
 * running prompt is replaced. The first packet carries the marker bit and,
 * after a pause, a timestamp advanced by the pause (RFC 3550 §5.1).
 * Returns 0, -EINVAL for empty audio, -ENOMEM. */
int player_start(struct player *p, const uint8_t *audio, size_t len,
		 uint32_t loops, uint64_t now_ms);
/* The same without a copy: audio is a libre mem object (mem_alloc, at
 * least len bytes) of which the player takes a reference until the
 * prompt ends, stops or is replaced; the bytes must not change meanwhile
 * (the prompt cache shares them between calls). 0 or -EINVAL. */
int player_start_ref(struct player *p, uint8_t *audio, size_t len,
		     uint32_t loops, uint64_t now_ms);
/* Plays audio that outlives the player (not copied, not freed) in a loop
 * until player_stop() or another start; no end is ever reported. Used for
 * the shared ringback cycle. 0 or -EINVAL. */
int player_start_loop(struct player *p, const uint8_t *audio, size_t len,
		      uint64_t now_ms);
void player_stop(struct player *p);
bool player_active(const struct player *p);

/* Writes the next packet (header + 160 bytes, the last one padded with
 * silence) into pkt and returns PLAYER_PKT_SIZE, or 0 when idle. */
size_t player_next(struct player *p, uint8_t pkt[PLAYER_PKT_SIZE],
		   uint64_t now_ms);

/* Writes a packet of 160 bytes of audio made elsewhere (the conference
 * mix, the fax modem's audio) on this stream into pkt: header stamped as
 * player_next() does (same SSRC, next seq), the timestamp moved on by a
 * pause since the last packet (marker set). Returns PLAYER_PKT_SIZE, or 0
 * while a prompt plays (it owns the stream then). */
size_t player_frame(struct player *p, const uint8_t *payload,
		    uint8_t pkt[PLAYER_PKT_SIZE], uint64_t now_ms);

/* Drops n packets' worth of audio without sending it (loop stall, or the
 * caller put us on hold): the timestamp moves on, the sequence number
 * does not (nothing was lost in transit) and the next packet carries the
 * marker. Returns true if that reached the end (the player is idle). */
bool player_skip(struct player *p, uint64_t n);

/* One pacing tick covering `periods` 20 ms periods: sends that many
 * packets (capped at PLAYER_MAX_CATCHUP, the rest skipped) so the stream
 * keeps real time. Returns true when the prompt ended during this tick;
 * the player is then idle. */
bool player_tick(struct player *p, uint64_t periods, uint64_t now_ms,
		 player_send_h *sendh, void *arg);

#endif
