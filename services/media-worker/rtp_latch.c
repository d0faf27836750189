/* RTP source latching for one leg: the pure rule (see rtp_latch.h). */
#include <string.h>

#include "rtp_latch.h"

bool rtp_latch_addr_private(const struct sa *sa)
{
	if (sa_af(sa) == AF_INET) {
		uint32_t a = sa_in(sa);

		return (a >> 24) == 10 ||		  /* 10/8 */
		       (a >> 20) == (172u << 4 | 1) ||	  /* 172.16/12 */
		       (a >> 16) == (192u << 8 | 168) ||  /* 192.168/16 */
		       (a >> 22) == (100u << 2 | 1) ||	  /* 100.64/10 */
		       (a >> 16) == (169u << 8 | 254);	  /* 169.254/16 */
	}
#ifdef HAVE_INET6
	if (sa_af(sa) == AF_INET6) {
		const uint8_t *b = sa->u.in6.sin6_addr.s6_addr;

		return (b[0] & 0xfe) == 0xfc ||		   /* fc00::/7 */
		       (b[0] == 0xfe && (b[1] & 0xc0) == 0x80); /* fe80::/10 */
	}
#endif
	return false;
}

static bool usable(const struct sa *sa)
{
	return sa && sa_isset(sa, SA_ALL) && !sa_is_any(sa);
}

void rtp_latch_sdp(struct rtp_latch *l, const struct sa *sdp)
{
	if (!usable(sdp))
		return; /* hold (c=0.0.0.0): the peer comes back to the old */
	if (l->have_sdp && sa_cmp(sdp, &l->sdp, SA_ALL))
		return; /* a session refresh, a direction change */
	l->sdp = *sdp;
	l->have_sdp = true;
	l->sdp_private = rtp_latch_addr_private(sdp);
	l->cand_n = 0;
	if (!l->latched)
		return;
	/* The peer moved its media: until a source latches again, the old
	 * one still passes (it may go on sending until it has our 200). */
	l->exact = sa_cmp(&l->src, sdp, SA_ALL);
	l->relatch = !l->exact;
}

void rtp_latch_open(struct rtp_latch *l)
{
	l->open = true;
}

static enum rtp_latch_verdict latch(struct rtp_latch *l, const struct sa *src,
				    bool exact)
{
	bool moved = !l->latched || !sa_cmp(&l->src, src, SA_ALL);

	l->src = *src;
	l->latched = true;
	l->exact = exact;
	l->relatch = false;
	l->cand_n = 0;
	if (!moved)
		return RTP_LATCH_PASS; /* the old source confirmed itself */
	l->latches++;
	return RTP_LATCH_LATCHED;
}

/* One more packet of a candidate run; true when the run is long enough. */
static bool run(struct rtp_latch *l, const struct sa *src, uint32_t ssrc)
{
	if (l->cand_n && l->cand_ssrc == ssrc &&
	    sa_cmp(&l->cand, src, SA_ALL)) {
		l->cand_n++;
	} else {
		l->cand = *src;
		l->cand_ssrc = ssrc;
		l->cand_n = 1;
	}
	return l->cand_n >= RTP_LATCH_RUN;
}

static enum rtp_latch_verdict drop(struct rtp_latch *l)
{
	l->dropped++;
	return RTP_LATCH_DROP;
}

enum rtp_latch_verdict rtp_latch_check(struct rtp_latch *l,
				       const struct sa *src, uint32_t ssrc,
				       bool valid)
{
	if (!l->open)
		return drop(l); /* nobody can know our port yet */
	if (l->latched && sa_cmp(src, &l->src, SA_ALL)) {
		/* Re-opened but the old source goes on: a run of its own
		 * closes the window again. */
		if (l->relatch && valid && run(l, src, ssrc))
			return latch(l, src, false);
		return RTP_LATCH_PASS;
	}
	if (!valid)
		return drop(l);
	/* Exactly where the SDP says: the peer (or someone spoofing both
	 * its address and port, which a blind sprayer cannot know). */
	if (l->have_sdp && sa_cmp(src, &l->sdp, SA_ALL) &&
	    (!l->latched || !l->exact))
		return latch(l, src, true);
	if (l->latched && !l->relatch)
		return drop(l);
	/* A routable SDP address: the peer is not behind a NAT that could
	 * change its IP; a port may still differ. */
	if (l->have_sdp && !l->sdp_private && !sa_cmp(src, &l->sdp, SA_ADDR))
		return drop(l);
	if (run(l, src, ssrc))
		return latch(l, src, false);
	drop(l);
	return RTP_LATCH_RUN_ON;
}
