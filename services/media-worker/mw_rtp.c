/* RTP fixed header encode/decode in network byte order. */
#include <errno.h>

#include "mw_rtp.h"

void mw_rtp_encode(uint8_t buf[MW_RTP_HDR_SIZE], const struct mw_rtp_hdr *h)
{
	buf[0] = 0x80; /* V=2, P=0, X=0, CC=0 */
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	buf[2] = (uint8_t)(h->seq >> 8);
	buf[3] = (uint8_t)h->seq;
	buf[4] = (uint8_t)(h->ts >> 24);
	buf[5] = (uint8_t)(h->ts >> 16);
	buf[6] = (uint8_t)(h->ts >> 8);
	buf[7] = (uint8_t)h->ts;
	buf[8] = (uint8_t)(h->ssrc >> 24);
	buf[9] = (uint8_t)(h->ssrc >> 16);
	buf[10] = (uint8_t)(h->ssrc >> 8);
	buf[11] = (uint8_t)h->ssrc;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int mw_rtp_decode(struct mw_rtp_hdr *h, const uint8_t *buf, size_t len)
{
	size_t hlen;

	if (len < MW_RTP_HDR_SIZE || (buf[0] >> 6) != 2)
		return -EBADMSG;
	hlen = MW_RTP_HDR_SIZE + 4u * (buf[0] & 0x0f);
	if (buf[0] & 0x10) {
		/* Extension: 16-bit profile, 16-bit length in words. */
		if (len < hlen + 4)
			return -EBADMSG;
		hlen += 4 + 4u * ((size_t)buf[hlen + 2] << 8 | buf[hlen + 3]);
	}
	if (len < hlen)
		return -EBADMSG;
	h->marker = (buf[1] & 0x80) != 0;
	h->pt = buf[1] & 0x7f;
	h->seq = (uint16_t)(buf[2] << 8 | buf[3]);
	h->ts = get32(buf + 4);
	h->ssrc = get32(buf + 8);
	return (int)hlen;
}

void mw_rtp_seq_update(struct mw_rtp_seq *s, uint32_t ssrc, uint16_t seq,
		       unsigned long *lost, unsigned long *late)
{
	uint16_t d = (uint16_t)(seq - s->max);

	if (!s->init || ssrc != s->ssrc ||
	    (d > MW_RTP_SEQ_JUMP && d < 0x10000 - MW_RTP_SEQ_JUMP)) {
		s->init = true;
		s->ssrc = ssrc;
		s->max = seq;
		return;
	}
	if (d == 0 || d >= 0x8000) {
		(*late)++;
		return;
	}
	*lost += d - 1u;
	s->max = seq;
}
