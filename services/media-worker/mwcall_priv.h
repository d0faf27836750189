/* Call internals shared by mwcall.c (caller leg, player, DTMF, timers)
 * and mwcall_ring.c (callee leg and bridge). Not for other modules. */
#ifndef MWCALL_PRIV_H
#define MWCALL_PRIV_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

#include "leg.h"
#include "mwcall.h"
#include "pacer.h"

struct callrec;
struct confroom_member;
struct dtmf_detect;

#define MWCALL_ALLOW                                                          \
	"Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER\r\n"

struct call_timer {
	struct tmr tmr;
	struct mwcall *call;
	uint32_t id;
	bool used;
};

/* The callee leg of a Ring; owned by its call: call->ring (an unnamed
 * ring, or the bridged leg), or call->legs while a named leg rings. */
struct ring {
	struct le le; /* in call->legs while a named leg rings */
	char name[MWCALL_LEG_MAX]; /* "" unnamed */
	struct mwcall *call;
	struct sipsess *sess;
	struct leg leg;
	struct tmr tmr; /* no-answer timeout */
	uint64_t seq;
	uint32_t timeout_ms;
	bool early;	    /* the callee's 18x carried SDP */
	bool early_flowing; /* ... and its audio arrived: ringback off */
	bool bridged;	    /* 200 OK from the callee */
	uint16_t progress;  /* last provisional code seen */
	/* Rung as an extension of the call's tenant (dest_kind
	 * "extension": Kamailio checked the domain is the tenant's and
	 * found the registration): only such a leg may transfer. */
	bool ext;
	char user[65];	    /* the target URI's user part (the extension) */
	bool xfer;	    /* the target leg of a blind transfer, ringing */
	/* Bridged to this other callee leg, not to the caller (the caller
	 * transferred the callee: call->ring <-> call->xpeer). */
	struct ring *peer;
};

/* PLAY_HOLD: a queue announcement between music (mwcall_hold_say): the
 * music (hold_moh) plays again after it, and no PLAY_DONE is sent. */
enum call_play { PLAY_NONE, PLAY_PROMPT, PLAY_RINGBACK, PLAY_MOH, PLAY_HOLD };

/* Voicemail on the caller leg (mwcall_vm.c). */
enum vm_phase { VM_NONE, VM_GREETING, VM_RECORDING, VM_DONE, VM_REFUSED };
struct call_vm {
	enum vm_phase phase;
	struct recorder *rec; /* owned until mwcall_record_take() */
	struct tmr tmr;	      /* stop checks (100 ms), or a stop now */
	const char *stop;     /* a stop asked from the RTP path: "#" */
	uint64_t voice_ms;    /* last voiced packet (monotonic) */
	uint32_t max_ms;
	uint32_t silence_ms;
};

/* Fax reception on the caller leg (mwcall_fax.c). */
struct call_fax {
	struct fax_recv *rx; /* owned until mwcall_fax_take() */
	struct tmr tmr;	     /* the end, run outside the pacer's walk */
	const char *stop;    /* why it ended, once it has */
	bool reported;	     /* FAX_DONE emitted */
	bool keep;	     /* the scenario goes on: no BYE after T.30 */
	bool continues;	     /* ended with keep: the call stays up */
	uint64_t start_ms;   /* monotonic */
	uint64_t seq;
	/* T.38 (the sender re-INVITEd to m=image udptl t38): the image line
	 * of the caller leg's SDP session (owned by it), the UDPTL packets
	 * taken off the leg's RTP port by a UDP helper, sent to t38_peer. */
	struct sdp_media *t38m;
	struct udp_helper *uh;
	/* Our own T.38 offer (box t38): NONE until CNG, then OFFERED (our
	 * re-INVITE out, t38tmr the wait for its answer), then ON or
	 * REFUSED (audio to the end); BACK: the fax on T.38 is over and our
	 * re-INVITE back to audio is out (its answer moves the leg). */
	bool t38_offer;
	enum { T38_NONE, T38_OFFERED, T38_ON, T38_REFUSED, T38_BACK } t38_state;
	struct tmr t38tmr;
	struct sa t38_peer;
	struct mbuf *t38mb; /* reused for every UDPTL packet we send */
};

/* Owned by the worker's call table; owns everything below. */
struct mwcall {
	const struct mwcall_env *env;
	struct sipsess *sess; /* caller leg, UAS */
	struct leg leg;
	struct pacer_entry pe;
	struct dtmf_detect *dtmf; /* RFC 4733 and in-band, de-duplicated */

	enum call_play playing;
	bool barge_in;
	uint64_t play_seq;
	uint8_t *hold_moh; /* music after a PLAY_HOLD (libre mem, ours) */
	size_t hold_moh_len;

	char *tenant;
	char *callid;
	char *caller;
	char *dialed;
	/* Kamailio authenticated the caller as one of the tenant's
	 * extensions (X-Pbx-Source: extension). Only then may a leg we
	 * originate present the caller as ext@<tenant domain>; anyone
	 * else is an external number (caller_id_external). */
	bool caller_internal;
	bool answered;	    /* 200 OK sent */
	bool established;   /* ACK received */
	bool progress_sent; /* 183 with SDP sent */
	uint64_t start_ms;

	struct ring *ring;  /* unnamed ring, or the bridged leg */
	struct list legs;   /* named legs ringing (struct ring) */
	struct call_timer timers[MWCALL_TIMERS_MAX];
	struct call_vm vm;
	/* In a conference room (confroom.c): the room's member. */
	struct confroom_member *conf;
	struct call_fax fax;
	/* Recording of the bridge (callrec.h): armed by RecordCall, mixing
	 * from the bridge's 200 OK; owned until mwcall_callrec_take(). */
	struct callrec *crec;
	/* The voice assistant's listener (worker_asr.c): the caller's
	 * audio while an assistant node listens. */
	mwcall_tap_h *tap;
	void *tap_arg;
	uint8_t *crec_prompt; /* played to the caller at the bridge (mem) */
	size_t crec_prompt_len;
	/* The named leg (a queue's "<offer>:<agent>") whose bridge is
	 * recorded; "" for the call's one ring. */
	char crec_leg[MWCALL_LEG_MAX];

	/* Transfer (mwcall_xfer.c): a REFER of the bridged callee was
	 * accepted (xfer_pending: the router decides the target), then the
	 * target leg rings (xfer). The transferor's dialog (referenced)
	 * gets the NOTIFYs until the final one; xsip is the worker's. */
	bool xfer_pending;
	struct ring *xfer;
	struct sip_dialog *xdlg;
	struct sip *xsip;
	/* One NOTIFY at a time, in order (a later one waits in xnext:
	 * through the edge two could overtake each other); xold, the
	 * transferor's leg once replaced, gets its BYE when the final
	 * NOTIFY was answered, so the BYE never overtakes it either. */
	struct sip_request *xreq;
	/* The first NOTIFY waits XFER_NOTIFY_DELAY_MS after the 202: a
	 * request relayed by the edge can overtake a response, and a phone
	 * may refuse a NOTIFY of a REFER it has no 202 for yet. */
	struct tmr xtmr;
	bool xhold;
	bool xnext_set, xnext_final, xfinal_sent;
	uint16_t xnext_code;
	char xnext_reason[96];
	struct ring *xold;
	/* The transferor is the caller (an extension's outbound or internal
	 * call): the target, once answered, is call->xpeer, bridged to
	 * call->ring, and the caller leg ends (xdrop_caller: after the
	 * final NOTIFY was answered). */
	bool xby_caller, xdrop_caller;
	struct ring *xpeer;
	/* ... and meanwhile the callee hears ringback on its own leg (the
	 * call's pacer entry plays it instead of the caller's player). */
	bool xrb;

	/* Joined to another call of this worker (mwcall_join.c, a pickup):
	 * the two caller legs relay to each other; the first to end ends
	 * the other (jtmr: outside whatever walk freed the first). */
	struct mwcall *joined;
	struct tmr jtmr;

	/* A call that started with our INVITE (mwcall_originate): its
	 * no-answer timeout, and the kind of the leg (X-Pbx-Dest). */
	bool originated;
	struct tmr orig_tmr;
	uint32_t orig_timeout_ms;
	uint64_t orig_seq;

	mwcall_event_h *evh;
	void *arg;
};

/* mwcall.c */
/* A call's common parts (env, handler, timers, tenant; NULL: out of
 * memory); the creator sets callid, caller and dialed, then opens the
 * first leg with mwcall_leg_open(). Freed with mwcall_free(). */
struct mwcall *mwcall_new(const struct mwcall_env *env, const char *tenant,
			  mwcall_event_h *evh, void *arg);
int mwcall_leg_open(struct mwcall *call);
/* The first leg's session handlers (re-INVITE offers, INFO digits, the
 * end of an answered call), whichever side sent the INVITE. */
int mwcall_sess_offer(struct mbuf **descp, const struct sip_msg *msg,
		      void *arg);
void mwcall_sess_info(struct sip *sip, const struct sip_msg *msg, void *arg);
void mwcall_sess_close(int err, const struct sip_msg *msg, void *arg);
void mwcall_log_ctx(const struct mwcall *call);
void mwcall_emit(struct mwcall *call, const struct mwcall_event *ev);
/* 200 OK to the caller (if not yet), ANSWERED(seq). */
int mwcall_answer_caller(struct mwcall *call, uint64_t seq);
/* 183 with our SDP (if neither it nor the 200 went out yet). */
int mwcall_progress_caller(struct mwcall *call);
void mwcall_player_stop(struct mwcall *call);
int mwcall_ringback_start(struct mwcall *call);
/* Answers 200 to a DTMF INFO (400 garbage, 415 another type) and returns
 * the digit, or 0. */
char mwcall_info_digit(struct sip *sip, const struct sip_msg *msg);
/* Sends the digit as an INFO application/dtmf-relay on sess. */
void mwcall_info_send(struct sipsess *sess, char digit);

/* Starts audio on the caller leg (answering first if needed). */
int mwcall_play_start(struct mwcall *call, uint8_t *audio, size_t len,
		      uint32_t loops, enum call_play what, bool barge_in,
		      uint64_t seq);

/* mwcall_vm.c */
/* The greeting and beep ended: start recording. */
void mwcall_vm_greeting_done(struct mwcall *call);
void mwcall_vm_refused_done(struct mwcall *call);
/* A caller's audio packet while in voicemail (RTP path: never frees). */
void mwcall_vm_audio(struct mwcall *call, const uint8_t *payload,
		     size_t len);
/* A digit while in voicemail (RTP or SIP path: never frees). */
void mwcall_vm_digit(struct mwcall *call, char digit);
void mwcall_vm_free(struct mwcall *call);

/* mwcall_fax.c */
/* One pacing tick while receiving a fax (the pacer's handler). */
void mwcall_fax_tick(struct mwcall *call, uint64_t periods, uint64_t now_ms);
/* A caller's audio packet while receiving (RTP path: never frees). */
void mwcall_fax_audio(struct mwcall *call, const struct mw_rtp_hdr *hdr,
		      const uint8_t *payload, size_t len);
void mwcall_fax_free(struct mwcall *call);
/* A re-INVITE's offer while receiving a fax: when it offers T.38
 * (m=image udptl t38 with a port) the fax switches to T.38 and *descp
 * gets our answer (*handled true; a positive errno: refused, libre
 * answers 488). Otherwise *handled is false and the offer is the audio
 * path's. */
int mwcall_fax_offer(struct mwcall *call, struct mbuf *mb,
		     struct mbuf **descp, bool *handled);
/* The answer to our T.38 re-INVITE (a 2xx with SDP). */
int mwcall_fax_answer(struct mwcall *call, const struct sip_msg *msg);

/* mwcall_join.c: two calls of one worker. */
/* The call `callid` of call's tenant on this worker, other than call;
 * NULL when there is none (another tenant's call looks like none). */
struct mwcall *mwcall_join_find(struct mwcall *call, const char *callid);
/* A packet from call's caller, for the joined call's caller (RTP path:
 * never frees). */
void join_from_caller(struct mwcall *call, const struct mw_rtp_hdr *hdr,
		      const uint8_t *payload, size_t len, bool te,
		      uint64_t now_ms);
/* The call goes (mwcall_free): the joined one ends soon after. */
void join_free(struct mwcall *call);

/* mwcall_ring.c */
/* A sip:/sips: URI of printable characters without <>", decoded into u
 * (pl: its text). */
bool mwcall_uri_ok(const char *s, struct uri *u, struct pl *pl);
/* 1..max characters, each alphanumeric or in extra. */
bool mwcall_token_ok(const char *s, size_t max, const char *extra);
/* "sip:<cid as an external number, or anonymous>@<edge host>": how a leg
 * through the edge shows a caller that is no extension. 0, -EINVAL (a
 * bad edge_uri). */
int mwcall_from_external(const struct mwcall_env *env, const char *cid,
			 char *from_uri, size_t size);
/* An outbound leg that never answered: its ring result
 * (Pbx__V1__MediaEvent__RingResult), the SIP code to report and a
 * detail ("486 Busy Here", or libre's error). */
int mwcall_leg_failure(int err, const struct sip_msg *msg, uint16_t *code,
		       char *detail, size_t size);
void ring_free(struct ring *ring);
/* Makes the callee leg of p (checked: target, kind, caller id) and sends
 * its INVITE; the caller hears nothing new. 0 with *ringp (the caller
 * places it), or a negative errno with *why. */
int ring_originate(struct mwcall *call, const struct mwcall_ring *p,
		   struct ring **ringp, const char **why);
/* Starts the ring's no-answer timeout. */
void ring_arm(struct ring *ring);
/* The callee's REFER (mwcall_xfer.c). */
void ring_refer_handler(struct sip *sip, const struct sip_msg *msg,
			void *arg);

/* One pacing tick of the callee's ringback during a transfer by the
 * caller (the pacer's handler, mwcall.c). */
void xfer_ringback_tick(struct mwcall *call, uint64_t periods,
			uint64_t now_ms);

/* mwcall_xfer.c: the transfer's side of a ring's events. Each returns
 * true when the ring was the transfer's (or its transferor) and was
 * handled; the call may then be gone (CLOSED emitted). */
bool xfer_ring_answered(struct ring *ring);
bool xfer_ring_failed(struct ring *ring, int result, uint16_t code,
		      const char *detail);
bool xfer_transferor_closed(struct ring *ring);
/* The caller leg closed: true when it was a transferor's and the call
 * goes on without it. */
bool xfer_caller_closed(struct mwcall *call);
/* A REFER on the caller leg: refused (see docs/employees.md). */
void mwcall_refer_caller(struct sip *sip, const struct sip_msg *msg,
			 void *arg);
void xfer_free(struct mwcall *call);
/* Frees every named leg still ringing (CANCEL), but `keep`; with
 * `report`, each gets RING_RESULT CANCELLED. */
void ring_legs_cancel(struct mwcall *call, const struct ring *keep,
		      bool report);
/* A packet from the caller, for the callee (bridged calls only). */
void ring_from_caller(struct ring *ring, const struct mw_rtp_hdr *hdr,
		      const uint8_t *payload, size_t len, bool te,
		      uint64_t now_ms);

#endif
