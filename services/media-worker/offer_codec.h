/* Codec choice for an SDP offer: the first of the caller's formats that is
 * G.711 (PCMU or PCMA), in the caller's order, plus the caller's RFC 4733
 * telephone-event payload type if it offered one. */
#ifndef OFFER_CODEC_H
#define OFFER_CODEC_H
#include <stddef.h>
#include <stdint.h>

struct sdp_media;

enum offer_law { OFFER_ULAW, OFFER_ALAW };

/* One m= format as offered: name is the rtpmap encoding name, NULL for a
 * static payload type without rtpmap; srate 0 when unknown. */
struct offer_fmt {
	int pt;
	const char *name;
	uint32_t srate;
};

struct offer_codec {
	int pt; /* payload type to send (0, 8, or a dynamic one) */
	enum offer_law law;
	int te_pt; /* telephone-event payload type, -1 if none */
};

/* Returns 0 and fills *c, or -ENOTSUP when no format is G.711. */
int offer_codec_pick(struct offer_codec *c, const struct offer_fmt *v,
		     size_t n);

/* The same over the remote formats of a decoded SDP media line. */
int offer_codec_choose(struct offer_codec *c, const struct sdp_media *m);

const char *offer_codec_name(enum offer_law law);

#endif
