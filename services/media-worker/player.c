/* Prompt playback: packetisation, timestamps, padding and catch-up. */
#include <errno.h>
#include <string.h>

#include <re.h>

#include "player.h"

void player_init(struct player *p, uint8_t pt, uint8_t silence, uint32_t ssrc,
		 uint16_t seq, uint32_t ts)
{
	memset(p, 0, sizeof(*p));
	p->pt = pt;
	p->silence = silence;
	p->ssrc = ssrc;
	p->seq = seq;
	p->ts = ts;
}

void player_set_codec(struct player *p, uint8_t pt, uint8_t silence)
{
	p->pt = pt;
	p->silence = silence;
}

void player_stop(struct player *p)
{
	if (p->ref)
		mem_deref((void *)p->audio);
	p->audio = NULL;
	p->ref = false;
	p->forever = false;
	p->len = 0;
	p->pos = 0;
	p->passes = 0;
}

bool player_active(const struct player *p)
{
	return p->audio != NULL;
}

/* The timestamp is the sampling clock (see player_start). */
static void start(struct player *p, const uint8_t *audio, bool ref, size_t len,
		  uint32_t loops, uint64_t now_ms)
{
	/* The timestamp is the sampling clock: silence between two prompts
	 * still advances it, or the phone would play them back to back. A
	 * prompt replacing one mid-stream continues without a gap. */
	if (p->sent_any && !player_active(p) &&
	    now_ms > p->last_ms + PLAYER_PTIME_MS)
		p->ts += (uint32_t)((now_ms - p->last_ms - PLAYER_PTIME_MS) *
				    (PLAYER_SAMPLES / PLAYER_PTIME_MS));

	player_stop(p);
	p->audio = audio;
	p->ref = ref;
	p->len = len;
	p->pos = 0;
	p->forever = loops == PLAYER_FOREVER;
	p->passes = loops > 1 && !p->forever ? loops - 1 : 0;
	p->marker = true;
}

int player_start(struct player *p, const uint8_t *audio, size_t len,
		 uint32_t loops, uint64_t now_ms)
{
	uint8_t *copy;

	if (!audio || !len)
		return -EINVAL;
	copy = mem_alloc(len, NULL);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, audio, len);
	start(p, copy, true, len, loops, now_ms);
	return 0;
}

int player_start_ref(struct player *p, uint8_t *audio, size_t len,
		     uint32_t loops, uint64_t now_ms)
{
	if (!audio || !len)
		return -EINVAL;
	/* Referenced before start() drops the old prompt: it may be the
	 * same buffer. */
	start(p, mem_ref(audio), true, len, loops, now_ms);
	return 0;
}

int player_start_loop(struct player *p, const uint8_t *audio, size_t len,
		      uint64_t now_ms)
{
	if (!audio || !len)
		return -EINVAL;
	start(p, audio, false, len, 1, now_ms);
	p->forever = true;
	return 0;
}

/* Copies up to n bytes of the prompt into out, wrapping into the next pass
 * while passes remain. Returns the bytes copied (< n at the very end). */
static size_t take(struct player *p, uint8_t *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		size_t chunk;

		if (p->pos == p->len) {
			if (!p->passes && !p->forever)
				break;
			if (!p->forever)
				p->passes--;
			p->pos = 0;
		}
		chunk = p->len - p->pos;
		if (chunk > n - got)
			chunk = n - got;
		if (out)
			memcpy(out + got, p->audio + p->pos, chunk);
		p->pos += chunk;
		got += chunk;
	}
	return got;
}

static bool at_end(const struct player *p)
{
	return p->pos == p->len && !p->passes && !p->forever;
}

/* Stamps the next packet of the stream: header into pkt, seq and
 * timestamp moved on. The payload is already at pkt + header. */
static void stamp(struct player *p, uint8_t *pkt, uint64_t now_ms)
{
	struct mw_rtp_hdr h;

	h.marker = p->marker;
	h.pt = p->pt;
	h.seq = p->seq;
	h.ts = p->ts;
	h.ssrc = p->ssrc;
	mw_rtp_encode(pkt, &h);

	p->marker = false;
	p->seq++; /* uint16_t: wraps 65535 -> 0 as RFC 3550 expects */
	p->ts += PLAYER_SAMPLES;
	p->sent_any = true;
	p->last_ms = now_ms;
}

size_t player_next(struct player *p, uint8_t pkt[PLAYER_PKT_SIZE],
		   uint64_t now_ms)
{
	size_t got;

	if (!player_active(p))
		return 0;
	got = take(p, pkt + MW_RTP_HDR_SIZE, PLAYER_SAMPLES);
	memset(pkt + MW_RTP_HDR_SIZE + got, p->silence, PLAYER_SAMPLES - got);
	stamp(p, pkt, now_ms);
	if (at_end(p))
		player_stop(p);
	return PLAYER_PKT_SIZE;
}

bool player_skip(struct player *p, uint64_t n)
{
	/* Audio resumes after a gap: that starts a talkspurt. */
	if (n && player_active(p))
		p->marker = true;
	while (n-- && player_active(p)) {
		take(p, NULL, PLAYER_SAMPLES);
		p->ts += PLAYER_SAMPLES;
		if (at_end(p)) {
			player_stop(p);
			return true;
		}
	}
	return false;
}

bool player_tick(struct player *p, uint64_t periods, uint64_t now_ms,
		 player_send_h *sendh, void *arg)
{
	uint8_t pkt[PLAYER_PKT_SIZE];

	if (!player_active(p) || !periods)
		return false;
	if (periods > PLAYER_MAX_CATCHUP) {
		if (player_skip(p, periods - PLAYER_MAX_CATCHUP))
			return true;
		periods = PLAYER_MAX_CATCHUP;
	}
	while (periods--) {
		size_t n = player_next(p, pkt, now_ms);

		if (!n)
			break;
		if (sendh)
			sendh(pkt, n, arg);
		if (!player_active(p))
			return true;
	}
	return false;
}

size_t player_frame(struct player *p, const uint8_t *payload,
		    uint8_t pkt[PLAYER_PKT_SIZE], uint64_t now_ms)
{
	if (player_active(p))
		return 0;
	/* A pause since the last packet (a prompt, music, or nothing was
	 * sent) moves the sampling clock on, as between two prompts. */
	if (p->sent_any && now_ms > p->last_ms + 2 * PLAYER_PTIME_MS) {
		p->ts += (uint32_t)((now_ms - p->last_ms - PLAYER_PTIME_MS) *
				    (PLAYER_SAMPLES / PLAYER_PTIME_MS));
		p->marker = true;
	}
	memcpy(pkt + MW_RTP_HDR_SIZE, payload, PLAYER_SAMPLES);
	stamp(p, pkt, now_ms);
	return PLAYER_PKT_SIZE;
}
