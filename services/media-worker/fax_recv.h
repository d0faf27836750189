/* Fax receiver for one call: spandsp's T.30 answerer (fax_state_t) over
 * G.711, driven by the call's 20 ms pacing. Received RTP payloads wait in
 * a small jitter queue; every tick owes the receiver 20 ms, fed from the
 * queue as it arrives (late audio a tick later, lost audio as a fill-in,
 * a stream dry for longer than the slack as a fill-in too, so the T.30
 * timers run on the wall clock even when nothing arrives) and gives back
 * 20 ms of our modem's audio to send. spandsp writes the pages into
 * a TIFF file as they arrive. When the sender (or we) switch the call to
 * T.38 before a page has arrived, T.30 starts again on spandsp's T.38
 * terminal: IFP packets in UDPTL framing (udptl.h, with redundancy)
 * instead of audio, the same tick driving its timers. Pure: no sockets,
 * no clock; named fax_recv_ because spandsp exports fax_rx*. Owned by the
 * call receiving. */
#ifndef FAX_RECV_H
#define FAX_RECV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offer_codec.h"

enum {
	FAX_RECV_FRAME = 160,	 /* samples per tick: 20 ms at 8 kHz */
	FAX_RECV_IDENT_MAX = 20, /* T.30 station id, characters */
	/* Jitter queue: playout starts (and restarts after running dry)
	 * once this much is queued; beyond the maximum the oldest audio
	 * goes (the sender's clock runs fast, or a burst arrived). 60 ms:
	 * with 40 ms, 20 ms of network jitter plus the tick's phase ran the
	 * queue dry now and then, and a fill-in during training costs the
	 * fax (bench/fax_loss.sh, docs/performance.md). */
	FAX_RECV_PRIME = 3 * FAX_RECV_FRAME,
	FAX_RECV_QUEUE_MAX = 10 * FAX_RECV_FRAME,
	/* Audio owed but not arrived (jitter, a late wake-up) is waited
	 * for up to this long before it is filled in. */
	FAX_RECV_SLACK = 5 * FAX_RECV_FRAME,
	/* A sequence jump up to this many packets is loss, filled in;
	 * a larger one is a new stream (restart, re-INVITE). */
	FAX_RECV_MAX_GAP = 25,
};

struct fax_recv;

/* Image modems (fax_recv_opts.modems). */
enum {
	FAX_RECV_V27TER = 1, /* 4800, 2400 bit/s */
	FAX_RECV_V29 = 2,    /* 9600, 7200 */
	FAX_RECV_V17 = 4,    /* 14400 ... 7200 */
	FAX_RECV_MODEMS = FAX_RECV_V27TER | FAX_RECV_V29 | FAX_RECV_V17,
};

/* What a lost packet (a sequence gap) is fed to the modem as.
 * REPEAT, the default: 20 ms is a whole number of carrier cycles and
 * symbols of every fax modem (V.17 and V.27ter 1800 Hz, V.29 1700 Hz;
 * 2400 or 1600 baud), so the repeated audio keeps carrier phase and
 * symbol timing, and a modem training through the loss still trains far
 * more often than with spandsp's fill-in, which keeps the carrier phase
 * but skips the symbols (fax_sim at 0.5 % loss, 20 ms jitter: 80.5 %
 * against 64.5 %; silence: worse still; docs/performance.md). */
enum fax_recv_fill {
	FAX_RECV_FILL_REPEAT, /* the audio of the packet before it again */
	FAX_RECV_FILL_FILLIN, /* spandsp's fax_rx_fillin */
	FAX_RECV_FILL_ZERO,   /* silence */
};

struct fax_recv_opts {
	const char *tiff_path; /* where spandsp writes the pages */
	bool ecm;	       /* offer error correction mode */
	const char *ident;     /* our CSI; NULL or "": none */
	/* Image modems offered, FAX_RECV_V* bits; 0: FAX_RECV_MODEMS. */
	int modems;
	enum fax_recv_fill fill;
	/* spandsp's T.30 exactly as shipped, without fax_t30fix (for
	 * fax_sim's comparison only). */
	bool t30_as_is;
};

/* What came of the fax, valid once fax_recv_done() (partly before). */
struct fax_recv_result {
	int code;	   /* T.30 completion code, T30_ERR_OK = 0 */
	const char *text;  /* spandsp's text for it (static) */
	unsigned pages;	   /* pages received whole */
	unsigned x_dpi, y_dpi;
	unsigned width;	   /* pixels of the last page */
	unsigned bit_rate; /* the image modem's, bit/s */
	bool ecm;	   /* error correction was used */
	unsigned bad_rows;
	char remote_id[FAX_RECV_IDENT_MAX + 1]; /* the sender's TSI */
	bool t38;	   /* received over T.38 (else audio) */
};

/* 0, -EINVAL, -ENOMEM. Nothing is written until the sender's pages come. */
int fax_recv_alloc(struct fax_recv **fp, const struct fax_recv_opts *o);
/* Frees spandsp's state, which closes the TIFF file. NULL-safe. */
void fax_recv_free(struct fax_recv *f);

/* One received RTP packet of `law` audio (at most 8000 bytes used), with
 * its sequence number: queued for the next ticks; a short gap before it
 * is queued as loss (filled as the options' fill says: by default the
 * packet before it again; never zeros by default: a modem would read
 * silence as a dropped carrier). A packet that arrives after a newer one takes
 * its place in the queue if that has not been played yet (reordering is
 * not loss); a repeat, or one whose time has passed, is dropped. */
void fax_recv_packet(struct fax_recv *f, uint16_t seq, const uint8_t *payload,
		     size_t len, enum offer_law law);

/* One 20 ms period: 160 samples into the receiver, 160 of ours into out
 * (in `law`). */
void fax_recv_tick(struct fax_recv *f, uint8_t out[FAX_RECV_FRAME],
		   enum offer_law law);

/* One UDPTL packet to send (T.38 mode), from inside fax_recv_tick or
 * fax_recv_udptl. */
typedef void(fax_recv_send_h)(const uint8_t *pkt, size_t len, void *arg);

/* Switches to T.38: the audio receiver goes, T.30 starts again on a T.38
 * terminal whose IFPs go out through sendh in UDPTL packets carrying
 * `redundancy` previous IFPs (at most UDPTL_RED_MAX) and at most
 * max_datagram bytes (the far end's T38FaxMaxDatagram; 0: no limit).
 * From now on the tick sends nothing on audio (out is silence).
 * 0; -EALREADY (T.38 already, or the fax is over); -EBUSY (a page has
 * arrived over audio: restarting T.30 would lose it); -ENOMEM. */
int fax_recv_t38(struct fax_recv *f, unsigned redundancy, size_t max_datagram,
		 fax_recv_send_h *sendh, void *arg);
bool fax_recv_is_t38(const struct fax_recv *f);
/* Back from T.38 to audio (the sender re-INVITEd to audio): T.30 starts
 * again on the audio modems, as fax_recv_t38 did the other way. 0;
 * -EALREADY (not on T.38, or the fax is over); -EBUSY (a page has arrived
 * over T.38: spandsp 0.0.6 cannot carry a T.30 session from its T.38
 * terminal to its audio one, so a restart would lose it); -ENOMEM. */
int fax_recv_audio(struct fax_recv *f);
/* The sender's calling tone (CNG, 1100 Hz) was heard in the audio fed:
 * the moment to offer T.38 (a fax machine is there). */
bool fax_recv_cng_heard(const struct fax_recv *f);
/* One received UDPTL packet (T.38 mode; ignored otherwise): its IFPs,
 * those recovered from redundancy first, go to the terminal. */
void fax_recv_udptl(struct fax_recv *f, const uint8_t *pkt, size_t len);

/* The sender hung up: T.30 ends now (phase E with what was received). */
void fax_recv_hangup(struct fax_recv *f);

/* T.30 reached phase E: the fax is over, whatever its result. */
bool fax_recv_done(const struct fax_recv *f);
void fax_recv_result(const struct fax_recv *f, struct fax_recv_result *r);

/* Counters: samples fed, filled in (lost, or a dry stream) and dropped
 * (queue full); packets lost, put back in order, and dropped as repeats
 * or too late. */
struct fax_recv_stats {
	uint64_t fed, filled, dropped;
	uint64_t lost, reordered, late;
	/* T.38: UDPTL packets sent and taken, IFPs recovered from
	 * redundancy, lost for good, packets that did not parse. */
	uint64_t t38_sent, t38_rx, t38_recovered, t38_lost, t38_bad;
	/* Audio: repeated DCS (training failed) and PPS (our MCF lost)
	 * taken in where spandsp 0.0.6 would disconnect (fax_t30fix.h). */
	unsigned dcs_again, pps_again;
};
void fax_recv_stats(const struct fax_recv *f, struct fax_recv_stats *s);

#endif
