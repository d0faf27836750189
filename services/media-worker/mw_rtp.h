/* RTP fixed header (RFC 3550 §5.1): pure encode/decode, no sockets, so the
 * packetisation math can be unit tested byte by byte. */
#ifndef MW_RTP_H
#define MW_RTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MW_RTP_HDR_SIZE 12

struct mw_rtp_hdr {
	bool marker;
	uint8_t pt; /* 0..127 */
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
};

/* Receive accounting of one stream (a leg's peer), for the metrics:
 * sequence gaps are lost packets, a packet at or behind the highest
 * sequence number seen is late (reordered or duplicated). A new SSRC or a
 * jump of more than MW_RTP_SEQ_JUMP starts over (a new stream, a peer
 * restarting its numbering): nothing counted. Zeroed: no packet yet. */
#define MW_RTP_SEQ_JUMP 3000
struct mw_rtp_seq {
	uint32_t ssrc;
	uint16_t max;
	bool init;
};
/* One packet: adds its lost (gap before it) and late (0 or 1) counts. */
void mw_rtp_seq_update(struct mw_rtp_seq *s, uint32_t ssrc, uint16_t seq,
		       unsigned long *lost, unsigned long *late);

/* Writes version 2, no padding, no extension, no CSRC. */
void mw_rtp_encode(uint8_t buf[MW_RTP_HDR_SIZE], const struct mw_rtp_hdr *h);

/* Returns the header length (12 + 4 * CSRC count, plus any extension),
 * or -EBADMSG for a buffer that is not RTP version 2. */
int mw_rtp_decode(struct mw_rtp_hdr *h, const uint8_t *buf, size_t len);

#endif
