/* Codec choice for an SDP offer: the first of the caller's formats that is
 * G.711 (PCMU or PCMA), in the caller's order, plus the caller's RFC 4733
 * telephone-event payload type if it offered one. */
#ifndef OFFER_CODEC_H
#define OFFER_CODEC_H
#include <stdbool.h>
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

/* Copies the SDP body in[0..len) to out, keeping the session part and the
 * first m=audio section whole and every other media section as its m=
 * line alone (its c=, b=, a= lines dropped). We answer only the first
 * audio line; the others are refused (port 0 in the answer) whatever
 * they say, and libre's decoder fails the whole body on one malformed
 * line anywhere (a video a=rtpmap without a clock rate), so what it
 * never needs is not given to it. The m= lines stay in place: the answer
 * has one per offered line, in order. With audio false no section is
 * kept whole (to tell a bad session part from a bad audio line).
 * Returns the length written (out is not NUL-terminated), or -ENOSPC;
 * *trimmed (if not NULL) = media sections cut down to their m= line that
 * had more lines. */
int offer_codec_trim(char *out, size_t size, const char *in, size_t len,
		     bool audio, unsigned *trimmed);

#endif
