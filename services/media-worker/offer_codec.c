/* Codec choice from an SDP offer: G.711 only, caller's order. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <re.h>

#include "offer_codec.h"

enum { PT_PCMU = 0, PT_PCMA = 8, PT_DYN_MIN = 96, PT_DYN_MAX = 127 };

const char *offer_codec_name(enum offer_law law)
{
	return law == OFFER_ALAW ? "PCMA" : "PCMU";
}

static int law_of(const struct offer_fmt *f, enum offer_law *law)
{
	/* Static types are fixed by RFC 3551 whatever the rtpmap says. */
	if (f->pt == PT_PCMU) {
		*law = OFFER_ULAW;
		return 0;
	}
	if (f->pt == PT_PCMA) {
		*law = OFFER_ALAW;
		return 0;
	}
	if (f->pt < PT_DYN_MIN || f->pt > PT_DYN_MAX || !f->name ||
	    f->srate != 8000)
		return -ENOTSUP;
	if (!strcasecmp(f->name, "PCMU")) {
		*law = OFFER_ULAW;
		return 0;
	}
	if (!strcasecmp(f->name, "PCMA")) {
		*law = OFFER_ALAW;
		return 0;
	}
	return -ENOTSUP;
}

int offer_codec_pick(struct offer_codec *c, const struct offer_fmt *v,
		     size_t n)
{
	bool found = false;

	c->pt = -1;
	c->te_pt = -1;
	for (size_t i = 0; i < n; i++) {
		enum offer_law law;

		if (c->te_pt < 0 && v[i].name &&
		    !strcasecmp(v[i].name, "telephone-event") &&
		    v[i].srate == 8000 && v[i].pt >= PT_DYN_MIN &&
		    v[i].pt <= PT_DYN_MAX)
			c->te_pt = v[i].pt;
		if (!found && !law_of(&v[i], &law)) {
			c->pt = v[i].pt;
			c->law = law;
			found = true;
		}
	}
	return found ? 0 : -ENOTSUP;
}

enum { OFFER_MAX_FMTS = 32 };

int offer_codec_choose(struct offer_codec *c, const struct sdp_media *m)
{
	struct offer_fmt v[OFFER_MAX_FMTS];
	const struct list *lst = sdp_media_format_lst(m, false);
	struct le *le;
	size_t n = 0;

	/* A rejected or held-off line (port 0) or another transport (SAVP)
	 * leaves no remote formats on our RTP/AVP audio line. */
	if (!lst || !sdp_media_rport(m))
		return -ENOTSUP;
	for (le = list_head(lst); le && n < OFFER_MAX_FMTS; le = le->next) {
		const struct sdp_format *f = le->data;

		v[n].pt = f->pt;
		v[n].name = f->name;
		v[n].srate = f->srate;
		n++;
	}
	return offer_codec_pick(c, v, n);
}

int offer_codec_trim(char *out, size_t size, const char *in, size_t len,
		     bool audio, unsigned *trimmed)
{
	enum { SESSION, KEEP, CUT } sec = SESSION;
	bool audio_seen = !audio, cut_more = false;
	unsigned n = 0;
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(in + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (in + i)) + 1 : len - i;
		const char *line = in + i;

		i += l;
		if (l >= 2 && line[0] == 'm' && line[1] == '=') {
			n += cut_more;
			cut_more = false;
			if (!audio_seen && l >= 8 &&
			    !strncmp(line, "m=audio ", 8)) {
				audio_seen = true;
				sec = KEEP;
			} else {
				sec = CUT;
			}
		} else if (sec == CUT) {
			/* Blank lines and stray line ends count for nothing. */
			if (l > 2 || (line[0] != '\r' && line[0] != '\n'))
				cut_more = true;
			continue;
		}
		if (o + l > size)
			return -ENOSPC;
		memcpy(out + o, line, l);
		o += l;
	}
	n += cut_more;
	if (trimmed)
		*trimmed = n;
	return (int)o;
}
