/* Relay stamping of bridged packets onto a leg's outbound stream. */
#include "relay.h"

void relay_stamp(struct relay *r, struct player *s,
		 const struct mw_rtp_hdr *in, uint32_t samples, bool te,
		 uint64_t now_ms, struct mw_rtp_hdr *out)
{
	struct relay_map *m = &r->audio;
	bool marker = in->marker;
	uint32_t next_ts;

	if (te && !(m->sync && m->in_ssrc == in->ssrc))
		m = &r->te;
	if (!m->sync || m->in_ssrc != in->ssrc) {
		/* s->ts is the timestamp the packet after the last one sent
		 * would have had; a pause since then moves it on by the
		 * pause, as player_start() does between two prompts. */
		uint32_t ts = s->ts;

		if (s->sent_any && now_ms > s->last_ms + PLAYER_PTIME_MS)
			ts += (uint32_t)((now_ms - s->last_ms -
					  PLAYER_PTIME_MS) *
					 (PLAYER_SAMPLES / PLAYER_PTIME_MS));
		m->ts_off = ts - in->ts;
		m->in_ssrc = in->ssrc;
		m->sync = true;
		if (!te)
			marker = true;
	}
	out->marker = marker;
	out->pt = in->pt;
	out->seq = s->seq++;
	out->ts = in->ts + m->ts_off;
	out->ssrc = s->ssrc;

	/* A late (reordered) packet does not move the clock back. */
	next_ts = out->ts + samples;
	if (!s->sent_any || (int32_t)(next_ts - s->ts) > 0)
		s->ts = next_ts;
	s->sent_any = true;
	s->last_ms = now_ms;
}
