/* Test support: a SIP user agent for Criterion tests, one libre sipsess
 * with a real RTP socket on 127.0.0.1 (ephemeral SIP port, RTP in
 * 50000-59998), as baresip's test/call.c uses them. It offers one audio
 * format (PCMU, PCMA, or G.722 to be refused) and telephone-event 101 if
 * asked, calls or answers, sends paced 20 ms RTP and RFC 4733 events, and
 * counts what reaches it: SIP responses, SDP directions, INFO, RTP
 * packets with their payload type, sequence gaps, timestamps, SSRC,
 * markers and payload bytes. Everything runs on the caller's libre loop;
 * failures are Criterion asserts. TEST_SIP_TRACE=1 in the environment
 * prints every SIP message it sends or receives. */
#ifndef TEST_UA_H
#define TEST_UA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <re.h>

enum {
	TEST_UA_PKT = 160,	      /* 20 ms of G.711 */
	TEST_UA_TE_PT = 101,	      /* telephone-event type, both ways */
	TEST_UA_TX_MAX = 8000 * 4,    /* 4 s of audio queued at most */
	TEST_UA_NEVER = UINT32_MAX, /* answer_delay_ms: do not answer */
	TEST_UA_RX_AUDIO = 8000 * 4,  /* 4 s of received audio kept */
};

/* What reached the agent over RTP since the last test_ua_rx_reset(). */
struct test_ua_rx {
	unsigned pkts;	    /* every packet */
	unsigned te_pkts;   /* telephone-event packets */
	unsigned te_events; /* ... distinct timestamps among them */
	uint32_t te_ts;
	int pt;		    /* of the first audio packet, -1: none */
	unsigned pt_other;  /* audio packets with another type */
	unsigned seq_gaps;  /* packets whose seq is not last + 1 */
	unsigned markers;
	/* audio packets whose timestamp is not the previous audio packet's
	 * plus its length in samples (a pause, or a jump) */
	unsigned ts_jumps;
	unsigned ssrc_changes;
	uint32_t last_ts, last_len, ssrc;
	unsigned fill_pkts; /* audio packets whose payload is all `fill` */
	uint8_t fill;
	uint16_t last_seq;
	uint64_t last_ms;
};

/* Owned by the test (static storage: it is large); read its counters. */
struct test_ua {
	const char *name; /* also the From and Contact user */
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct rtp_sock *rtp;
	struct sa sip_addr; /* where it listens (UDP) */
	uint8_t pt;	    /* the one audio format: 0 PCMU, 8 PCMA, ... */
	bool te;

	/* SIP as this side saw it */
	unsigned progress_n;   /* 1xx (>100) received */
	uint16_t last_progress;
	bool progress_sdp;     /* an 18x carried SDP */
	unsigned answers;      /* SDP answers taken: 200s to our INVITEs */
	bool estab;	       /* 200 + ACK (either side) */
	bool closed;
	int close_err;	       /* ECONNRESET: BYE or CANCEL from the peer */
	uint16_t close_code;   /* final response that ended it, if any */
	enum sdp_dir last_rdir; /* libre's view: what the peer lets us do */
	unsigned infos;	       /* INFO requests received (answered 200) */
	char info_body[64];
	unsigned info_2xx;     /* 2xx to our INFOs */
	uint16_t info_code;    /* last response to our INFO */

	/* Incoming INVITEs: the agent answers them by these settings. */
	unsigned invites;
	char inv_tenant[64];	 /* X-Pbx-Tenant */
	char inv_dest[64];	 /* X-Pbx-Dest */
	char inv_call[256];	 /* X-Pbx-Call */
	char inv_from_user[64];
	uint32_t answer_delay_ms; /* 0: 200 at once; TEST_UA_NEVER */
	uint16_t reject_code;	  /* final response instead */
	unsigned early_pkts;	  /* 183 with SDP and this much audio */
	uint8_t early_fill;
	struct tmr tmr_answer;

	struct test_ua_rx rx;
	/* The payload bytes of the audio packets received since the last
	 * test_ua_rx_reset(), in arrival order, the first 4 s: for tests
	 * that measure what was heard (tone energy). */
	uint8_t rx_audio[TEST_UA_RX_AUDIO];
	size_t rx_audio_len;
	unsigned rx_before_estab; /* rx.pkts when the call was set up */

	/* Live audio both ways (a fax machine): every received audio
	 * payload goes to audio_h; with src_h set, the paced sender asks it
	 * for each 20 ms frame instead of reading tx_buf. */
	void (*audio_h)(const uint8_t *p, size_t n, void *arg);
	void (*src_h)(uint8_t out[TEST_UA_PKT], void *arg);
	void *live_arg;

	/* paced sender: 160 bytes of tx_buf every 20 ms */
	struct tmr tmr_tx;
	uint8_t tx_buf[TEST_UA_TX_MAX];
	size_t tx_len, tx_pos;
	unsigned tx_pkts;
	uint64_t tx_last_ms; /* when the last packet went */
};

/* ua zeroed; libre_init() done. Offers payload type pt (0 PCMU, 8 PCMA,
 * anything else is named G722) and, with te, telephone-event 101. */
void test_ua_open(struct test_ua *ua, const char *name, uint8_t pt, bool te);
/* Replaces what the agent offers (and accepts): pt, and telephone-event
 * if te; the next offer or answer carries it (test_ua_modify()). */
void test_ua_formats(struct test_ua *ua, uint8_t pt, bool te);
/* Closes everything (force-closes the SIP stack). NULL-safe fields. */
void test_ua_close(struct test_ua *ua);

/* INVITE with our offer to uri, extra headers hdrs (each "...\r\n"). */
void test_ua_invite(struct test_ua *ua, const char *uri, const char *hdrs);
/* Drops the session: BYE once established, CANCEL before. */
void test_ua_hangup(struct test_ua *ua);
/* re-INVITE with our direction set to dir. */
void test_ua_modify(struct test_ua *ua, enum sdp_dir dir);
/* INFO with body; the answer lands in info_code / info_2xx. */
void test_ua_info(struct test_ua *ua, const char *ctype, const char *body);

void test_ua_rx_reset(struct test_ua *ua, uint8_t fill);
/* Sends `pkts` packets of `fill` bytes, one every 20 ms. */
void test_ua_talk(struct test_ua *ua, unsigned pkts, uint8_t fill);
/* Sends len bytes of audio, 160 every 20 ms. */
void test_ua_play(struct test_ua *ua, const uint8_t *audio, size_t len);
/* Live audio: received payloads to audio_h, and from now on one frame
 * from src_h every 20 ms until the agent closes (or src_h is NULL). */
void test_ua_live(struct test_ua *ua,
		  void (*audio_h)(const uint8_t *p, size_t n, void *arg),
		  void (*src_h)(uint8_t out[TEST_UA_PKT], void *arg),
		  void *arg);

/* One key press as RFC 4733 §2.5 sends it: three updates, then the end
 * packet three times, all with the event's timestamp ts. */
void test_ua_send_4733(struct test_ua *ua, int event, uint32_t ts);

/* Moves the agent's RTP to a fresh socket (a new port; its next offer
 * says so, e.g. test_ua_modify()). Returns the old socket, still open, for
 * test_ua_send_from(); the test frees it (mem_deref). */
struct rtp_sock *test_ua_move_rtp(struct test_ua *ua);
/* Sends pkts packets of `fill` at once from socket rs (not paced) to the
 * peer's SDP address, one SSRC, consecutive sequence numbers. */
void test_ua_send_from(struct test_ua *ua, struct rtp_sock *rs, unsigned pkts,
		       uint8_t fill);

/* Prints every SIP message of this stack if TEST_SIP_TRACE is set. */
void test_ua_sip_trace(struct sip *sip);

#endif
