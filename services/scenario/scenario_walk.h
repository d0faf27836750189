/* Scenario walk: the one piece of code that moves a call through a
 * scenario. Pure: it never reads the clock, never blocks, never allocates;
 * the live router and the simulator feed it the same events and carry out
 * the actions it returns, and differ only in where the events come from.
 * The state is small, fixed-size and serialisable to one printable string
 * so it can live in one Redis hash field between events.
 *
 * Contract of one step (scenario_walk_step):
 *   - in: the parsed scenario, a context (now, caller, objects), the call's
 *     state and one event;
 *   - out: the state, moved on, and a short ordered list of actions to
 *     carry out in order (n == 0: nothing to do now, the call waits for
 *     its next event), plus the hops taken (for logs and the simulator);
 *   - after an action list that contains REJECT or HANGUP the call is over
 *     (out->ended); later events are answered with no actions.
 * Media events: a call whose first action list holds anything but REJECT
 * needs a media worker. ANSWER is followed by an ANSWERED event; PLAY
 * without barge-in by PLAY_DONE; PLAY with barge-in by PLAY_DONE or a DTMF
 * (the worker stops the prompt itself); TIMER(id, ms > 0) by TIMER(id)
 * unless cancelled by TIMER(id, 0); RING by RING_RESULT; QUEUE by
 * QUEUE_RESULT; FAX with keep_call by FAX_RESULT (without it the
 * worker ends the call); CRM_LOOKUP by CRM_RESULT (the walk arms its own timer for
 * the lookup timeout); RECOGNIZE by PLAY_DONE when its prompt ends (the
 * walk then arms its own no-input timer) and SPEECH. Events that do not fit
 * the state (a stale timer, a DTMF while ringing) are ignored: no actions,
 * state unchanged. */
#ifndef SCENARIO_WALK_H
#define SCENARIO_WALK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

#define WALK_NODE_MAX 65   /* node id (1-64 characters) + NUL */
#define WALK_DIGITS_MAX 17 /* digits collected by an ivr + NUL */
#define WALK_TARGET_MAX 33 /* extension or number + NUL */
#define WALK_ACTIONS_MAX 6 /* actions one step can return */
/* Nodes visited in one step without waiting for the caller (the node the
 * step stops at included); beyond it the call ends cleanly with 500
 * "Scenario Loop". Lint refuses every graph that can exceed it: loops of
 * pure nodes and chains of more than WALK_MAX_HOPS - 1 of them. */
#define WALK_MAX_HOPS 64
/* A buffer of this size always holds an encoded state. */
#define WALK_STATE_TEXT_MAX 512

enum walk_event_kind {
	WALK_EV_START,	      /* a new call reached the scenario */
	WALK_EV_ANSWERED,     /* the caller's leg is answered */
	WALK_EV_PLAY_DONE,    /* the prompt of the current node finished */
	WALK_EV_DTMF,	      /* the caller pressed .digit */
	WALK_EV_TIMER,	      /* timer .timer_id fired */
	WALK_EV_RING_RESULT,  /* the RING ended: .ring */
	WALK_EV_SPEECH,	      /* recogniser result: .phrase, .confidence */
	WALK_EV_CRM_RESULT,   /* CRM lookup result: .crm, .owner */
	WALK_EV_QUEUE_RESULT, /* the caller left the queue: .queue, .digit */
	WALK_EV_FAILED,	      /* the media side could not do what was asked */
	WALK_EV_HANGUP,	      /* the caller hung up; the call is gone */
	WALK_EV_FAX_RESULT,   /* a fax with outputs ended: .fax_ok */
	WALK_EV_COUNT
};

/* 0 is "unspecified" in every result enum, so a zero-initialised event is
 * never silently "answered"; the walk treats it as a failure. */
enum walk_ring_result {
	WALK_RING_NONE,
	WALK_RING_ANSWERED,    /* bridged: the call ends there */
	WALK_RING_NO_ANSWER,   /* rang for the whole timeout */
	WALK_RING_BUSY,	       /* 486 / 600 */
	WALK_RING_UNAVAILABLE, /* 404 / 480 / 5xx / not registered */
};

enum walk_crm_result {
	WALK_CRM_NONE,
	WALK_CRM_OWNER, /* .owner: the responsible one's extension or number */
	WALK_CRM_NOT_FOUND,
	WALK_CRM_ERROR,
};

enum walk_queue_result {
	WALK_QUEUE_NONE,
	WALK_QUEUE_ANSWERED,  /* an agent answered: the call ends there */
	WALK_QUEUE_TIMEOUT,   /* max wait passed */
	WALK_QUEUE_FULL,      /* queue at max length: not joined */
	WALK_QUEUE_NO_AGENTS, /* no agent logged in */
	WALK_QUEUE_EXIT_KEY,  /* the caller pressed exit key .digit */
};

struct walk_event {
	enum walk_event_kind kind;
	char digit;		      /* DTMF: 0-9 * # A-D; QUEUE EXIT_KEY */
	uint32_t timer_id;	      /* TIMER */
	enum walk_ring_result ring;   /* RING_RESULT */
	const char *phrase;	      /* SPEECH: phrase name from the
				       * RECOGNIZE action; NULL or "": not
				       * recognised */
	double confidence;	      /* SPEECH: 0..1 */
	enum walk_crm_result crm;     /* CRM_RESULT */
	const char *owner;	      /* CRM_RESULT OWNER: extension, or
				       * a phone number (owner_number) */
	bool owner_number;	      /* CRM_RESULT OWNER: .owner is a
				       * number, rung external (trunk) */
	enum walk_queue_result queue; /* QUEUE_RESULT */
	bool fax_ok;		      /* FAX_RESULT: T.30 ended OK */
};

/* Everything the walk may know about the world, passed in per step. */
struct walk_ctx {
	int64_t now_ms;	    /* Unix ms (schedules); the caller's clock */
	const char *caller; /* caller number as received; NULL/"" anon */
	const struct scenario_objects *objs; /* tenant objects; may be NULL */
	bool fax_disabled; /* the tenant's fax option is off now: a fax
			    * node refuses the call (403) */
};

enum walk_act_kind {
	WALK_ACT_REJECT,     /* not answered: reply end.code/end.reason */
	WALK_ACT_ANSWER,     /* answer the caller (needs a media worker) */
	WALK_ACT_PLAY,	     /* play.prompt, play.barge_in */
	WALK_ACT_STOP_PLAY,  /* stop the prompt playing now */
	WALK_ACT_TIMER,	     /* start timer.id for timer.ms; ms 0 cancels */
	WALK_ACT_RING,	     /* originate a leg and bridge it on answer */
	WALK_ACT_QUEUE,	     /* put the caller in queue.name */
	WALK_ACT_RECORD,     /* record a voicemail into record.box */
	WALK_ACT_FAX,	     /* receive a fax into fax.box */
	WALK_ACT_CONFERENCE, /* join conference.room (asks the PIN) */
	WALK_ACT_RECOGNIZE,  /* play recognize.prompt and listen */
	WALK_ACT_CRM_LOOKUP, /* ask crm.crm who owns the caller */
	WALK_ACT_HANGUP,     /* answered: end the call (BYE), end.code for
			      * the CDR */
	WALK_ACT_COUNT
};

enum walk_dest {
	WALK_DEST_NONE,
	WALK_DEST_EXTENSION,
	WALK_DEST_EXTERNAL,
	WALK_DEST_MOBILE,
};

/* One phrase a voice assistant expects, with its synonyms (borrowed from
 * the scenario). */
struct scenario_phrase {
	const char *name;	     /* output "phrase:<name>" */
	const char *const *synonyms; /* including the name itself */
	size_t nsynonyms;
};

/* One action. Strings are borrowed from the scenario or the object set
 * (valid while those live) except the char arrays, which are copies. */
struct walk_action {
	enum walk_act_kind kind;
	union {
		struct {
			unsigned code;	    /* SIP code, e.g. 486 */
			const char *reason; /* SIP reason phrase */
		} end;			    /* REJECT, HANGUP */
		struct {
			const char *prompt;
			bool barge_in; /* a DTMF stops it */
		} play;
		struct {
			uint32_t id; /* never 0 */
			uint32_t ms; /* 0: cancel */
		} timer;
		struct {
			enum walk_dest dest;
			char target[WALK_TARGET_MAX]; /* extension / digits */
			uint32_t timeout_ms;	      /* 0: no timeout */
			char caller_id[WALK_TARGET_MAX]; /* "" keep caller's */
			bool record; /* record the bridge (RecordCall) */
			uint8_t record_channels;   /* 1 mono, 2 stereo */
			const char *record_prompt; /* or NULL */
		} ring;
		struct {
			const char *name; /* queue object name */
			uint32_t max_wait_s;
			uint32_t max_len; /* 0: unlimited */
			const char *strategy;
			uint32_t agent_timeout_s;
			uint32_t wrapup_s;
			const char *moh; /* prompt or NULL: default */
			bool announce_position;
			bool announce_wait;
			const char *periodic_prompt;
			const char *entry_prompt; /* once, first; NULL none */
			uint32_t periodic_s;
			bool join_empty;
			int priority;
			char exit_keys[16]; /* digits that leave the queue */
			/* The queue object's call-back exit ('\0': none; an
			 * exit key of the node wins) and its settings. */
			char callback_key;
			const char *callback_prompt; /* NULL: system sound */
			uint32_t callback_window_s, callback_retries;
			uint32_t callback_retry_s;
			/* Record the agent's bridge (RecordCall first). */
			bool record;
			uint8_t record_channels;   /* 1 mono, 2 stereo */
			const char *record_prompt; /* or NULL */
		} queue;
		struct {
			const char *box;
			uint32_t max_s;	      /* longest message */
			const char *greeting; /* prompt or NULL: default */
		} record;
		struct {
			const char *box;
			bool t38;
			bool ecm;
			bool pdf;	   /* store a PDF beside the TIFF */
			const char *ident; /* our station id or NULL */
			const char *header; /* page header line or NULL */
			uint32_t max_faxes; /* box quota, 0: no limit */
			uint32_t max_bytes; /* box quota, 0: no limit */
			bool keep_call;	   /* the node has outputs: the
					    * worker keeps the call after
					    * the fax, FAX_RESULT follows */
		} fax;
		struct {
			const char *room;
			const char *pin; /* NULL: no PIN asked */
			const char *moderator_pin;
			uint32_t pin_retries;
			uint32_t max_members; /* 0: unlimited */
			bool join_muted;
		} conference;
		struct {
			const char *prompt;
			const struct scenario_phrase *phrases;
			size_t nphrases;
			double confidence;   /* below it: not recognised */
			uint32_t timeout_ms; /* the walk's no-input timer */
		} recognize;
		struct {
			const char *crm;     /* bitrix24 / amocrm / api */
			uint32_t timeout_ms; /* the walk's lookup timer */
		} crm;
	};
};

/* One node visited during a step, for logs and the simulator. */
struct walk_hop {
	const char *node; /* node id, borrowed from the scenario */
	enum node_type type;
	const char *what;   /* outcome word or what the node did:
			     * "in_list", "match", "digit:2", "ring",
			     * "play", "retry", ... (static or from sc) */
	const char *output; /* output followed; NULL: stayed or ended */
};

/* Listen flags: what the node the call is in reacts to now. */
#define WALK_LISTEN_DTMF 0x1
#define WALK_LISTEN_SPEECH 0x2

struct walk_actions {
	size_t n; /* 0: wait */
	struct walk_action act[WALK_ACTIONS_MAX];
	size_t nhops;
	struct walk_hop hop[WALK_MAX_HOPS + 1];
	unsigned listen;     /* WALK_LISTEN_* */
	bool ended;	     /* the walk is done with this call: it ended, or
			      * it is bridged to a person / in voicemail,
			      * fax or a conference (only HANGUP and FAILED
			      * matter after that) */
	const char *outcome; /* when ended: "answered", "hangup",
			      * "rejected", "voicemail", "fax",
			      * "conference", "caller_hangup", "failed",
			      * "loop" (static) */
};

/* The call's position in the scenario. Plain data: copy it freely, store
 * it with scenario_walk_state_encode. */
struct walk_state {
	char node[WALK_NODE_MAX];     /* current node id; "" before START */
	uint8_t phase;		      /* where inside the node (internal) */
	bool answered;		      /* the caller's leg is answered */
	bool ended;		      /* the call is over */
	uint8_t tries;		      /* ivr / assistant replays done */
	uint32_t timer;		      /* timer armed now, 0: none */
	uint32_t timer_seq;	      /* last timer id used */
	uint32_t steps;		      /* events handled */
	char digits[WALK_DIGITS_MAX]; /* ivr extension digits so far */
	char target[WALK_TARGET_MAX]; /* ring target being rung */
};

/* An empty state (before START). START resets any state anyway. */
void scenario_walk_init(struct walk_state *st);

/* Applies ev to st and says what to do next (out is overwritten).
 * Returns 0; -EINVAL when arguments are bad or st does not fit sc (its
 * node vanished with a new version), -ELOOP when the cycle guard tripped:
 * out then ends the call cleanly (REJECT or HANGUP 500). Reads ctx->now_ms
 * only, never the clock. ctx may be NULL for events that need nothing
 * from it (then: now 0, anonymous caller, no objects). */
int scenario_walk_step(const struct scenario *sc, const struct walk_ctx *ctx,
		       struct walk_state *st, const struct walk_event *ev,
		       struct walk_actions *out);

/* The state as one printable string (no spaces, no control characters):
 * "w1|<node>|<phase>|..."; returns its length, or -ENOSPC (size too
 * small; WALK_STATE_TEXT_MAX always suffices) or -EINVAL. */
int scenario_walk_state_encode(const struct walk_state *st, char *buf,
			       size_t size);
/* Parses what encode wrote. 0, or -EINVAL for anything else (st is then
 * unchanged). */
int scenario_walk_state_decode(struct walk_state *st, const char *buf);

/* "START", "DTMF", ...; "?" for a bad value. */
const char *scenario_walk_event_name(enum walk_event_kind kind);
/* "REJECT", "PLAY", ...; "?" for a bad value. */
const char *scenario_walk_act_name(enum walk_act_kind kind);
/* "answered", "no_answer", "busy", "unavailable"; "?" otherwise. */
const char *scenario_walk_ring_name(enum walk_ring_result r);

/* Which phrase does text say? Case-insensitive match of the whole text,
 * or of a whole word sequence inside it, against every synonym; returns
 * the phrase index or -1. For the simulator and the speech bridge. */
int scenario_walk_phrase_match(const struct scenario_phrase *phrases, size_t n,
			       const char *text);

#endif
