/* UDPTL (ITU-T T.38 §9.1): the framing that carries T.38 IFP packets over
 * UDP, with redundancy for loss. Debian's spandsp 0.0.6 has the T.38
 * terminal (IFP packets in and out) but no UDPTL, so this is ours: the
 * UDPTLPacket of T.38 Annex A in ASN.1 PER (aligned):
 *
 *   seq-number          2 octets, big endian
 *   primary-ifp-packet  open type: length determinant + the IFP octets
 *   error-recovery      1 octet: 0x00 secondary-ifp-packets (redundancy),
 *                       0x80 fec-info
 *     redundancy:       length determinant (count), then that many open
 *                       types, the IFPs of seq - 1, seq - 2, ... in order
 *
 * A length determinant is one octet below 128, two octets (0x80 | high
 * 6 bits, low 8 bits) below 16384; fragmented lengths (16384 and up) are
 * refused, as no IFP comes near them. We send redundancy only (SDP
 * T38FaxUdpEC:t38UDPRedundancy); a received FEC packet yields its primary
 * IFP only. Pure: no sockets. */
#ifndef UDPTL_H
#define UDPTL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	UDPTL_IFP_MAX = 1024, /* longest IFP we send or take */
	UDPTL_RED_MAX = 8,    /* previous IFPs carried in one packet */
	UDPTL_LEN_MAX = 16383 /* longest unfragmented PER length */
};

/* The sending side: sequence numbers and the IFPs to repeat. Owned by
 * whoever sends (a T.38 leg). */
struct udptl_tx {
	uint16_t seq;		  /* of the next packet */
	unsigned redundancy;	  /* previous IFPs per packet, <= RED_MAX */
	size_t max_datagram;	  /* the far end's T38FaxMaxDatagram */
	unsigned nhist;		  /* IFPs in hist, newest first */
	uint16_t hist_len[UDPTL_RED_MAX];
	uint8_t hist[UDPTL_RED_MAX][UDPTL_IFP_MAX];
};

/* redundancy: 0..UDPTL_RED_MAX previous IFPs per packet (more is cut);
 * max_datagram: the largest packet the far end takes (0: no limit below
 * the buffer size); the oldest secondary IFPs are left out to fit. */
void udptl_tx_init(struct udptl_tx *t, unsigned redundancy,
		   size_t max_datagram);

/* The packet carrying ifp (len 1..UDPTL_IFP_MAX) into buf. Returns its
 * length, -EINVAL (bad IFP), or -E2BIG (the primary alone does not fit
 * buf or the far end's maximum). The IFP joins the history either way it
 * succeeds. */
int udptl_encode(struct udptl_tx *t, const uint8_t *ifp, size_t len,
		 uint8_t *buf, size_t size);

/* One IFP out of the stream, in sequence order, with its sequence
 * number; recovered IFPs (from redundancy) come before the primary. */
typedef void(udptl_ifp_h)(const uint8_t *ifp, size_t len, uint16_t seq,
			  void *arg);

/* The receiving side. */
struct udptl_rx {
	bool have;	   /* a packet was taken */
	uint16_t next;	   /* the sequence number expected next */
	uint64_t packets;  /* taken (not duplicates) */
	uint64_t recovered; /* IFPs delivered from redundancy */
	uint64_t lost;	    /* IFPs neither received nor recovered */
	uint64_t dups;	    /* repeats and packets older than next */
	uint64_t bad;	    /* packets that did not parse */
};

void udptl_rx_init(struct udptl_rx *r);

/* Parses one UDPTL packet and delivers its IFPs to h: the missing ones
 * its redundancy carries (oldest first), then the primary. A repeat or an
 * old packet delivers nothing. 0, or -EBADMSG (nothing delivered) for a
 * packet that does not parse or runs past len. */
int udptl_decode(struct udptl_rx *r, const uint8_t *pkt, size_t len,
		 udptl_ifp_h *h, void *arg);

#endif
