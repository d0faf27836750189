/* One media call: the caller's leg (libre sipsess UAS, answered only when
 * told), the prompt player and ringback on it, DTMF detection, per-call
 * timers, and at most one ring: an outbound leg through the edge proxy
 * that is bridged to the caller when it answers. Knows nothing about the
 * bus or the call table: it reports to its owner through one callback. */
#ifndef MWCALL_H
#define MWCALL_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

#include "offer_codec.h"

struct mwcall;
struct pacer;

/* What every call needs from the worker; outlives all calls. */
struct mwcall_env {
	struct sipsess_sock *sock;
	struct pacer *pacer;
	struct sa rtp_ip;
	uint16_t rtp_port_min;
	uint16_t rtp_port_max;
	const char *cuser;    /* Contact user part: the worker id */
	const char *edge_uri; /* outbound proxy (loose route) for rings */
	/* One ringback cycle per law (index enum offer_law), shared. */
	const uint8_t *ringback[2];
	size_t ringback_len[2];
	uint32_t ring_timeout_max_ms;
	uint32_t rtp_timeout_ms; /* 0: legs may stay silent forever */
	/* The call of this worker with that Call-ID (an attended
	 * transfer's Replaces), or NULL. */
	struct mwcall *(*find)(const char *callid, void *arg);
	void *find_arg;
};

enum mwcall_ev_kind {
	MWCALL_EV_ANSWERED,    /* caller's 200 OK sent (seq: the command) */
	MWCALL_EV_PLAY_DONE,   /* prompt of Play `seq` sent completely */
	MWCALL_EV_DTMF,	       /* caller pressed `digit` (detail: how) */
	MWCALL_EV_TIMER,       /* timer `timer_id` fired */
	MWCALL_EV_RING_RESULT, /* ring `seq` ended ringing: ring_result */
	MWCALL_EV_RECORDED,    /* voicemail stopped recording (detail:
				* "#", "silence", "max_length", "hangup",
				* "rtp timeout"): take the recorder with
				* mwcall_record_take(); CLOSED follows */
	MWCALL_EV_CONF_MUTED,  /* its conference mute changed (`muted`) */
	MWCALL_EV_FAX_DONE,    /* the fax ended (detail: "done", "hangup",
				* "rtp timeout", "max_length", "worker
				* stopping"): take the receiver with
				* mwcall_fax_take(); after "done" CLOSED
				* (ended) follows */
	MWCALL_EV_TRANSFER,    /* the bridged callee's REFER was accepted
				* (202): xfer_by, xfer_user, xfer_host;
				* answer with mwcall_transfer() or
				* mwcall_transfer_refuse() */
	MWCALL_EV_TRANSFER_DONE, /* the transfer ended: ring_result
				  * (ANSWERED: bridged to the target, the
				  * transferor's leg ended), sip_code,
				  * detail */
	MWCALL_EV_CLOSED,      /* the call ended by itself (detail: why) */
};

struct mwcall_event {
	enum mwcall_ev_kind kind;
	uint64_t seq;
	uint16_t sip_code;
	const char *detail;
	char digit;
	uint32_t timer_id;
	int ring_result; /* Pbx__V1__MediaEvent__RingResult */
	const char *leg; /* RING_RESULT of a named leg */
	bool ended;	 /* CLOSED: we ended it (BYE), not the caller */
	bool muted;	 /* CONF_MUTED */
	const char *xfer_by, *xfer_user, *xfer_host; /* TRANSFER */
	const char *picked_by; /* RING_RESULT answered by a Pickup */
};

/* Every event of the call. On MWCALL_EV_CLOSED the handler must
 * mwcall_free() the call (it may do so inside the callback); on the
 * others it must not free it. */
typedef void(mwcall_event_h)(struct mwcall *call,
			     const struct mwcall_event *ev, void *arg);

/* Takes an INVITE: decodes the SDP offer, picks G.711, opens the RTP
 * socket and sends 180 Ringing (no SDP). Returns 0 (the call owns the
 * session), -ENOTSUP no SDP offer or no G.711 in it (reply 488), -EBADMSG
 * unparsable SDP (reply 400), -EPROTO a request libre cannot make a
 * dialog of (reply 400), or another negative errno (reply 500); *why is
 * then a reason phrase naming the problem ("No PCMU or PCMA Offered",
 * "Bad SDP Audio Line", ...) or NULL. On error no final response has
 * been sent and no callback fires. */
int mwcall_accept(struct mwcall **callp, const struct mwcall_env *env,
		  const struct sip_msg *msg, const char *tenant,
		  mwcall_event_h *evh, void *arg, const char **why);

/* A call that starts with our INVITE (a queue's call-back: the agent
 * first, then Ring the caller's number): the first leg goes to
 * target_uri through the edge (X-Pbx-Dest dest_kind), From the number
 * caller_id at the edge's host. Once it answers the call is like an
 * answered incoming one (MWCALL_EV_ANSWERED(seq): Ring, Play, Hangup ...
 * work on it). Not answered within timeout_ms (0 or above the maximum:
 * ring_timeout_max_ms), refused or unreachable: MWCALL_EV_CLOSED with
 * ring_result (NO_ANSWER / BUSY / UNAVAILABLE), sip_code and detail, and
 * the handler frees the call. */
struct mwcall_orig {
	const char *callid;	/* the call's id on the bus (ours) */
	const char *target_uri; /* sip: or sips: URI */
	const char *dest_kind;	/* "extension", "external", "mobile" */
	const char *caller_id;	/* a number, shown to the callee */
	uint32_t timeout_ms;
	uint64_t seq;
};
/* 0 (the INVITE is out: events follow), -EINVAL a bad parameter (*why
 * says which), or another negative errno (no RTP port, SIP failure); on
 * error no callback fires. */
int mwcall_originate(struct mwcall **callp, const struct mwcall_env *env,
		     const char *tenant, const struct mwcall_orig *p,
		     mwcall_event_h *evh, void *arg, const char **why);

/* Frees the call: BYE to answered legs, CANCEL to a ringing callee, 486 to
 * an unanswered caller unless mwcall_reject() answered it. NULL-safe.
 * Fires no callback. */
void mwcall_free(struct mwcall *call);

/* 200 OK with the SDP answer; MWCALL_EV_ANSWERED(seq) follows at once.
 * -EALREADY if answered. */
int mwcall_answer(struct mwcall *call, uint64_t seq);
/* Final response `code` for a call not answered yet; -EALREADY if it was
 * answered (hang up with mwcall_free() instead). */
int mwcall_reject(struct mwcall *call, uint16_t code, const char *reason);

/* Plays audio (in the call's law; a libre mem object, referenced, not
 * copied: the prompt cache's shared buffer) `loops` times, replacing what
 * plays now (ringback included); answers first if needed. PLAY_DONE(seq)
 * at the end; with barge_in, a caller's digit stops it and no PLAY_DONE
 * comes. 0, -EINVAL, or the answer's error. */
int mwcall_play(struct mwcall *call, uint8_t *audio, size_t len,
		uint32_t loops, bool barge_in, uint64_t seq);
/* Music on hold: audio (a libre mem object, referenced) looped until
 * replaced, stopped or a named leg is bridged; no PLAY_DONE, digits do
 * not stop it; answers first if needed. 0 or an error as above. */
int mwcall_moh(struct mwcall *call, uint8_t *audio, size_t len,
	       uint64_t seq);
/* A queue announcement: audio (a libre mem object, referenced) once,
 * then music on hold moh (referenced, kept for later announcements)
 * looped again; no PLAY_DONE, digits do not stop it. Replaces what plays
 * now; answers first if needed. 0 or an error as above. */
int mwcall_hold_say(struct mwcall *call, uint8_t *audio, size_t len,
		    uint8_t *moh, size_t moh_len, uint64_t seq);
/* True while music on hold or a queue announcement plays. */
bool mwcall_holding(const struct mwcall *call);
/* True while a queue announcement plays. */
bool mwcall_playing_hold(const struct mwcall *call);
/* Stops the prompt silently (no PLAY_DONE). */
void mwcall_stop_play(struct mwcall *call);
/* True while a prompt (a Play's) is playing. */
bool mwcall_playing_prompt(const struct mwcall *call);

/* The caller's audio as it arrives (G.711 in the call's law, one RTP
 * payload), for a listener (the voice assistant); NULL stops it. The
 * handler must not free the call. */
typedef void(mwcall_tap_h)(const uint8_t *payload, size_t len, void *arg);
void mwcall_tap(struct mwcall *call, mwcall_tap_h *h, void *arg);

struct recorder;

/* Voicemail: plays greeting (a libre mem object, referenced; NULL: none)
 * then a beep, answering first if needed, then feeds the caller's audio
 * to rec (taken over: freed with the call unless taken) until the caller
 * presses #, is silent for silence_ms, max_ms of audio are recorded, or
 * hangs up. Then MWCALL_EV_RECORDED and MWCALL_EV_CLOSED (ended: the
 * call frees sends the BYE), or on hang-up RECORDED before the usual
 * CLOSED. No PLAY_DONE. 0, -EBUSY already in voicemail, -EALREADY
 * bridged, -ENOMEM, or the answer's error (rec is then not taken). */
int mwcall_voicemail(struct mwcall *call, uint8_t *greeting, size_t len,
		     struct recorder *rec, uint32_t max_ms,
		     uint32_t silence_ms, uint64_t seq);
/* Stops voicemail now if it is greeting or recording: RECORDED (why) at
 * once; the call stays (its owner ends it). The call's own hang-up and
 * RTP timeout do this before their CLOSED; the worker when it stops. */
void mwcall_record_stop(struct mwcall *call, const char *why);
/* The recorder of a call that reported MWCALL_EV_RECORDED; the caller
 * owns it. NULL when there is none. */
/* Voicemail refused (the box is over its quota): answers if needed,
 * plays prompt (mem_ref'd by the player) and then ends the call: CLOSED
 * with ended set (BYE), nothing recorded. A caller who hangs up first
 * ends it as any call. 0, -EINVAL, -EBUSY (voicemail already), or the
 * play's error. */
int mwcall_voicemail_refuse(struct mwcall *call, uint8_t *prompt,
			    size_t len, uint64_t seq);
struct recorder *mwcall_record_take(struct mwcall *call);

struct fax_recv;

enum { MWCALL_FAX_MAX_MS = 3600000 }; /* longest fax: an hour */

/* Fax: answers if needed, stops what plays, and from then on runs rx (taken
 * over: freed with the call unless taken) on the caller's audio, sending
 * its modem audio every 20 ms, until T.30 ends, the caller hangs up, or
 * MWCALL_FAX_MAX_MS pass. Then MWCALL_EV_FAX_DONE, and CLOSED (ended) when
 * the fax ended by itself. No DTMF is detected meanwhile (fax tones are
 * not key presses). 0, -EBUSY already receiving, -EALREADY bridged or in
 * voicemail, or the answer's error (rx is then not taken). */
int mwcall_fax(struct mwcall *call, struct fax_recv *rx, uint64_t seq);
/* With on (the box's t38), the worker offers T.38 itself once the
 * sender's CNG is heard: a re-INVITE to m=image udptl t38; a 2xx with
 * an image port switches the fax to T.38, anything else (488, no answer
 * within MWCALL_T38_ANSWER_MS) keeps it on audio. */
enum { MWCALL_T38_ANSWER_MS = 4000 };
void mwcall_fax_t38_offer(struct mwcall *call, bool on);
/* The scenario goes on after the fax: when T.30 ends (or the maximum
 * length) the call is kept, back on audio if it was on T.38, instead of
 * hung up; mwcall_fax_continues() then says so (after FAX_DONE). */
void mwcall_fax_keep(struct mwcall *call, bool on);
bool mwcall_fax_continues(const struct mwcall *call);
/* Ends a fax now if one runs: T.30 is terminated (phase E with what was
 * received) and FAX_DONE (why) fires at once; the call stays. */
void mwcall_fax_stop(struct mwcall *call, const char *why);
/* The receiver of a call that reported MWCALL_EV_FAX_DONE; the caller
 * owns it. NULL when there is none. */
struct fax_recv *mwcall_fax_take(struct mwcall *call);
/* Milliseconds since the fax started. */
uint32_t mwcall_fax_ms(const struct mwcall *call);

/* Starts timer `id` (restarting it if running) or cancels it (ms 0).
 * 0, or -ENOSPC when the call has MWCALL_TIMERS_MAX running. */
enum { MWCALL_TIMERS_MAX = 16 };
int mwcall_timer(struct mwcall *call, uint32_t id, uint32_t ms);

enum { MWCALL_LEG_MAX = 64 }; /* a leg name + NUL */

struct mwcall_ring {
	const char *target_uri; /* sip: or sips: URI */
	uint32_t timeout_ms;	/* 0 or above the maximum: the maximum */
	const char *caller_id;	/* From user; empty: the caller's */
	const char *caller_name;
	const char *dest_kind; /* X-Pbx-Dest; empty: "extension" */
	/* NULL or "": the one ring of the call (ringback, early media).
	 * Named (a queue's agent, 1-63 of A-Za-z0-9-_.:@+): several may
	 * ring at once, the caller keeps hearing what plays, the first to
	 * answer is bridged and the others get CANCEL and RING_RESULT
	 * RING_CANCELLED. */
	const char *leg;
	uint64_t seq;
};

/* Originates the callee leg and plays ringback to the caller (183 with
 * SDP first if the caller is not answered). RING_RESULT(seq) follows when
 * it stops ringing. Returns 0, or: -EBUSY a ring is in progress,
 * -EALREADY already bridged, -EINVAL a bad parameter (*why says which),
 * or another negative errno (SIP or RTP failure). */
int mwcall_ring(struct mwcall *call, const struct mwcall_ring *ring,
		const char **why);
/* Stops named leg `leg` (every named leg when NULL or ""): CANCEL while
 * it rings; a bridged named leg gets a BYE and the caller stays answered
 * without it. No event. 0, or -ENOENT no such leg. */
int mwcall_ring_cancel(struct mwcall *call, const char *leg);
/* The router's answer to MWCALL_EV_TRANSFER: rings p's target (no named
 * leg) while the transferred party hears ringback; TRANSFER_DONE
 * follows. 0, -ENOENT no transfer waits, or mwcall_ring's errors (the
 * transfer then failed: NOTIFY 503 sent, TRANSFER_DONE not). */
int mwcall_transfer(struct mwcall *call, const struct mwcall_ring *p,
		    const char **why);
/* ... or its refusal: a final NOTIFY with code and reason, the call goes
 * on bridged as before (ended, CLOSED, if the transferor hung up). */
int mwcall_transfer_refuse(struct mwcall *call, uint16_t code,
			   const char *reason);

/* Call pickup (docs/employees.md "Pickup"; mwcall_join.c): call, the
 * picker's, takes the ringing call `callid` of its tenant on this
 * worker: that call's ring is cancelled (CANCEL to the colleague), its
 * caller answered if it was not, call answered, and the two callers
 * joined (RTP, RFC 4733 and INFO digits relayed both ways; either
 * hanging up ends the other). The picked call emits RING_RESULT
 * ANSWERED (its Ring's seq, picked_by `by`); call emits ANSWERED(seq).
 * -ENOENT with *why when there is nothing to pick up (no such call of
 * the tenant, not ringing, already bridged); the calls are unchanged. */
int mwcall_pickup(struct mwcall *call, const char *callid, const char *by,
		  uint64_t seq, const char **why);

/* RTP inactivity sweep (the worker runs it for every call every
 * rtp_watch_period_ms()): an answered caller leg, or a bridged callee
 * leg, that has sent nothing for env->rtp_timeout_ms and is not on hold
 * by its own SDP ends the call: MWCALL_EV_CLOSED with detail "rtp
 * timeout" or "callee rtp timeout" (the handler frees the call, whose
 * free sends the BYEs). Returns true if the call ended. */
bool mwcall_rtp_check(struct mwcall *call, uint64_t now_ms);

const char *mwcall_tenant(const struct mwcall *call);
const char *mwcall_callid(const struct mwcall *call);
const char *mwcall_caller(const struct mwcall *call);
const char *mwcall_dialed(const struct mwcall *call);
enum offer_law mwcall_law(const struct mwcall *call);
bool mwcall_answered(const struct mwcall *call);
bool mwcall_bridged(const struct mwcall *call);
bool mwcall_in_conf(const struct mwcall *call);

/* Records the call's bridge (callrec.h), mixed or two-channel as rec
 * was opened, into rec (taken on
 * success; on error the caller keeps it). Mixing starts when the
 * callee answers (at once if bridged already); max_ms 0: 4 h. 0,
 * -EINVAL, -EALREADY (recorded already), -ENOMEM. prompt (a mem
 * buffer, referenced; NULL none): played to the caller when the callee
 * answers ("this call is recorded"). */
int mwcall_record_call(struct mwcall *call, struct recorder *rec,
		       uint32_t max_ms, uint8_t *prompt, size_t prompt_len);
/* The recording's recorder, for the worker to store at the call's end,
 * and the wall-clock ms its mixing started; NULL when none was armed or
 * the bridge never came up (then discarded). */
struct recorder *mwcall_callrec_take(struct mwcall *call, uint64_t *start_ms);
/* The named leg whose bridge is being recorded (a queue agent's
 * "<offer>:<agent>"), "" for the call's one ring or none. */
const char *mwcall_callrec_leg(const struct mwcall *call);

#endif
