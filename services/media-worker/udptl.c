/* UDPTL encode and decode (T.38 §9.1, Annex A, PER aligned). */
#include <errno.h>
#include <string.h>

#include "udptl.h"

/* ---- PER length determinants and open types ---- */

static size_t len_size(size_t n)
{
	return n < 128 ? 1 : 2;
}

/* Writes n's determinant at buf[*pos]; false when it does not fit. */
static bool put_len(uint8_t *buf, size_t size, size_t *pos, size_t n)
{
	if (n > UDPTL_LEN_MAX || *pos + len_size(n) > size)
		return false;
	if (n < 128) {
		buf[(*pos)++] = (uint8_t)n;
	} else {
		buf[(*pos)++] = (uint8_t)(0x80 | (n >> 8));
		buf[(*pos)++] = (uint8_t)n;
	}
	return true;
}

static bool put_open(uint8_t *buf, size_t size, size_t *pos,
		     const uint8_t *p, size_t n)
{
	if (!put_len(buf, size, pos, n) || *pos + n > size)
		return false;
	memcpy(buf + *pos, p, n);
	*pos += n;
	return true;
}

static bool get_len(const uint8_t *buf, size_t len, size_t *pos, size_t *n)
{
	if (*pos >= len)
		return false;
	if (!(buf[*pos] & 0x80)) {
		*n = buf[(*pos)++];
		return true;
	}
	if ((buf[*pos] & 0xc0) == 0xc0 || *pos + 2 > len)
		return false; /* fragmented: refused */
	*n = (size_t)(buf[*pos] & 0x3f) << 8 | buf[*pos + 1];
	*pos += 2;
	return true;
}

/* An open type's octets: *p points into buf. */
static bool get_open(const uint8_t *buf, size_t len, size_t *pos,
		     const uint8_t **p, size_t *n)
{
	if (!get_len(buf, len, pos, n) || *n > len - *pos)
		return false;
	*p = buf + *pos;
	*pos += *n;
	return true;
}

/* ---- sending ---- */

void udptl_tx_init(struct udptl_tx *t, unsigned redundancy,
		   size_t max_datagram)
{
	memset(t, 0, sizeof(*t));
	t->redundancy = redundancy > UDPTL_RED_MAX ? UDPTL_RED_MAX
						   : redundancy;
	t->max_datagram = max_datagram;
}

static void remember(struct udptl_tx *t, const uint8_t *ifp, size_t len)
{
	unsigned keep = UDPTL_RED_MAX - 1;

	if (!t->redundancy)
		return;
	memmove(t->hist[1], t->hist[0], keep * sizeof(t->hist[0]));
	memmove(t->hist_len + 1, t->hist_len, keep * sizeof(t->hist_len[0]));
	memcpy(t->hist[0], ifp, len);
	t->hist_len[0] = (uint16_t)len;
	if (t->nhist < UDPTL_RED_MAX)
		t->nhist++;
}

int udptl_encode(struct udptl_tx *t, const uint8_t *ifp, size_t len,
		 uint8_t *buf, size_t size)
{
	size_t pos = 0, limit = size, count_at, room;
	unsigned n;

	if (!t || !ifp || !len || len > UDPTL_IFP_MAX || !buf)
		return -EINVAL;
	n = t->nhist < t->redundancy ? t->nhist : t->redundancy;
	if (t->max_datagram && t->max_datagram < limit)
		limit = t->max_datagram;
	/* seq, primary, the recovery choice and a count of 0 at least. */
	if (limit < 2 + len_size(len) + len + 2)
		return -E2BIG;
	buf[pos++] = (uint8_t)(t->seq >> 8);
	buf[pos++] = (uint8_t)t->seq;
	put_open(buf, limit, &pos, ifp, len);
	buf[pos++] = 0x00; /* secondary-ifp-packets */
	/* As many previous IFPs as fit, newest first: a count below 128
	 * takes one octet. */
	count_at = pos++;
	room = limit - pos;
	for (unsigned i = 0; i < n; i++) {
		size_t need = len_size(t->hist_len[i]) + t->hist_len[i];

		if (need > room) {
			n = i;
			break;
		}
		put_open(buf, limit, &pos, t->hist[i], t->hist_len[i]);
		room -= need;
	}
	buf[count_at] = (uint8_t)n;
	remember(t, ifp, len);
	t->seq++;
	return (int)pos;
}

/* ---- receiving ---- */

void udptl_rx_init(struct udptl_rx *r)
{
	memset(r, 0, sizeof(*r));
}

enum { SECONDARY_MAX = 32 }; /* parsed per packet; more are ignored */

int udptl_decode(struct udptl_rx *r, const uint8_t *pkt, size_t len,
		 udptl_ifp_h *h, void *arg)
{
	const uint8_t *prim, *sec[SECONDARY_MAX];
	size_t pos = 2, plen, slen[SECONDARY_MAX], count = 0, nsec = 0;
	uint16_t seq, gap;

	if (!r || !pkt || !h || len < 4)
		goto bad;
	seq = (uint16_t)(pkt[0] << 8 | pkt[1]);
	if (!get_open(pkt, len, &pos, &prim, &plen) || !plen || pos >= len)
		goto bad;
	if (!(pkt[pos++] & 0x80)) {
		/* Redundancy: every secondary must parse, even those we
		 * do not need, or the packet is not what it claims. */
		if (!get_len(pkt, len, &pos, &count))
			goto bad;
		for (size_t i = 0; i < count; i++) {
			const uint8_t *p;
			size_t n;

			if (!get_open(pkt, len, &pos, &p, &n))
				goto bad;
			if (nsec < SECONDARY_MAX) {
				sec[nsec] = p;
				slen[nsec++] = n;
			}
		}
	}
	/* FEC: only the primary is used (we never ask for FEC). */
	if (r->have) {
		gap = (uint16_t)(seq - r->next);
		if (gap >= 0x8000) {
			r->dups++; /* a repeat, or too late */
			return 0;
		}
		/* IFPs next .. seq-1 are missing: secondary j-1 holds
		 * seq - j; those older than the redundancy are lost. */
		size_t avail = gap < nsec ? gap : nsec;

		r->lost += gap - avail;
		for (size_t j = avail; j > 0; j--) {
			if (slen[j - 1]) {
				h(sec[j - 1], slen[j - 1], (uint16_t)(seq - j),
				  arg);
				r->recovered++;
			} else {
				r->lost++;
			}
		}
	}
	r->have = true;
	r->next = (uint16_t)(seq + 1);
	r->packets++;
	h(prim, plen, seq, arg);
	return 0;
bad:
	if (r)
		r->bad++;
	return -EBADMSG;
}
