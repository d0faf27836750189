/* Per-event context carried through the chain of asynchronous Redis
 * replies that handles one bus message. Owned by the chain: the last
 * callback (or the first error) frees it with route_ctx_free(). */
#ifndef ROUTE_CTX_H
#define ROUTE_CTX_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "pbx_bus.h"
#include "pbx_cdr.h"
#include "scenario_outbound.h"
#include "scenario_walk.h"

struct router;
struct scenario;
struct scenario_objects;
struct route_ctx;
struct redisReply;
struct vcache_ref;

/* Reply handler of one pipelined command: copy what is needed into c
 * (reply may be NULL: connection lost; set c->err then). */
typedef void(route_pipe_h)(struct route_ctx *c, struct redisReply *reply);
typedef void(route_next_h)(struct route_ctx *c);

#define ROUTE_PIPE_MAX 4
/* c->kind of a queue-manager's Result (beside the MediaEvent kinds). */
#define ROUTE_EV_QUEUE_RESULT 1000
/* c->kind of a crm-connector's CrmResult. */
#define ROUTE_EV_CRM_RESULT 1001
/* The worker timer that is a queued call's own deadline (the walk's ids
 * count up from 1). */
#define ROUTE_QUEUE_TIMER 0xffffff01u
/* The worker timer of a conference PIN entry (no digit for that long
 * counts as a wrong PIN). */
#define ROUTE_CONF_TIMER 0xffffff02u
/* c->cstate: entering a PIN, joining or in the room, hearing a last
 * prompt before the hang-up ("" in the record: not in a conference). */
#define ROUTE_CONF_PIN 'p'
#define ROUTE_CONF_IN 'j'
#define ROUTE_CONF_BYE 'e'
/* ... in a room held by another worker, through a cascade leg (the leg
 * is the member; this call is only bridged to it). */
#define ROUTE_CONF_CASCADE 'c'
/* The built-in scenario of a cascade leg: "@conf:<room>". */
#define ROUTE_CONF_LEG_SCEN "@conf:"
/* A call-back (route_callback.c): the built-in scenario that rings the
 * caller's number once the agent answered: "@cb:<number>:<caller id>". */
#define ROUTE_CB_SCEN "@cb:"
/* c->qcbst of a call-back: calling the agent, ringing the caller, both
 * up, the caller's leg failed (reported). */
#define ROUTE_CBST_AGENT '\0'
#define ROUTE_CBST_RING 'r'
#define ROUTE_CBST_UP 'a'
#define ROUTE_CBST_FAILED 'f'
/* c->q_cb_do: after the save, play the confirmation / hang up. */
#define ROUTE_CB_CONFIRM 1
#define ROUTE_CB_BYE 2
/* TTL of a call record before its worker reported INCOMING. */
#define ROUTE_SETUP_TTL_S 60

/* route_forward.c: call forwarding of the dialled extension, decided
 * when the call starts. */
enum route_fwd_field { FWD_ALWAYS, FWD_BUSY, FWD_NOANSWER, FWD_TIMEOUT, FWD_NF };
#define ROUTE_FWD_HOPS 5 /* extensions an "always" chain may pass */
#define ROUTE_FWD_SCEN "@fwd:"
struct route_fwd {
	bool read;		 /* v holds an extension's fields */
	char v[FWD_NF][33];	 /* ... canonical, "" unset */
	char dialled[33];	 /* the extension the caller dialled */
	char cur[65];		 /* the extension whose fields v are */
	char target[33];	 /* the "always" target being looked at */
	char seen[ROUTE_FWD_HOPS][33]; /* extensions passed */
	int hops;
	bool is_ext;		 /* target is one of the tenant's */
	unsigned outside;	 /* bits (1 << FWD_BUSY ...): outside
				  * targets */
	route_next_h *next;
	void (*rej)(struct route_ctx *c, unsigned code, const char *reason);
};

struct route_pipe_item {
	struct route_ctx *c;
	route_pipe_h *h;
};

struct route_ctx {
	struct router *r;
	struct pbx_bus_peer peer;   /* who sent the message */
	char msg_id[64];            /* for reply_to */
	uint64_t t0_us;             /* allocated (step latency metric) */
	char tenant[65];
	char call_id[256];
	/* new call */
	char edge_id[65];
	uint32_t tindex, tlabel;
	char number[33];            /* dialled */
	char caller[65];
	/* tenant facts, kept in the call state */
	char domain[256];
	bool fax_enabled;
	char lang[8];               /* the tenant's language ("" English) */
	long limit_calls, limit_cps; /* the tenant's (pbx_limits.h) */
	long objects_rev;
	/* scenario in use */
	char scen[80];              /* name, or "@ext:<ext>" (internal call) */
	long version;
	/* Pinned in the caches (sc_ref, objs_ref) for as long as this
	 * context lives: another call's load may evict the entries while
	 * this one waits for Redis. Dropped by route_ctx_free(). */
	const struct scenario *sc;
	const struct scenario_objects *objs;
	struct vcache_ref *sc_ref, *objs_ref;
	/* call state */
	char worker_id[65];
	char worker_uri[128];
	char alt_id[65];            /* fallback worker the edge may use */
	uint32_t edge_cache_ms;     /* a reject the edge may repeat (call.proto) */
	char alt_uri[128];
	char edge[65];              /* routing id of the edge-bridge that
				     * asked: where a CallEnd goes */
	char moved_from[65];        /* on INCOMING: the other worker of the
				     * decision, whose index entry goes once
				     * the state is saved */
	uint64_t seq;               /* bumped per step; echoed by PLAY_DONE */
	long rev;                   /* call state revision read */
	bool reask_ok;              /* route_call.c: the same decision again */
	int tries;
	struct walk_state st;
	/* the event being handled */
	int kind;                   /* Pbx__V1__MediaEvent__Kind */
	uint64_t ev_seq;
	char digit;
	uint32_t timer_id;
	int ring_result;            /* Pbx__V1__MediaEvent__RingResult */
	char speech_phrase[129];    /* KIND_SPEECH: "" not recognised */
	double speech_conf;
	/* The tenant's recogniser (pbx:{t}:asr), read before a step that
	 * listens (route_exec_then): "" unset */
	char asr_engine[16];
	char asr_lang[16];
	char asr_url[1024];
	char asr_secret[512];
	bool fax_ok;		    /* KIND_FAX_DONE of a kept call: T.30 OK */
	struct walk_actions out;    /* decided, sent after the save */
	/* queue (route_queue.c), kept in the call record */
	char queue[65];             /* the queue-manager knows the call: it
				     * waits in this queue, or was bridged
				     * from it ("" otherwise) */
	bool qwait;                 /* ... and still waits */
	char qkeys[16];             /* its exit keys while it waits */
	bool q_left;                /* this step took it out of the queue */
	int q_leave;                /* Leave reason to send after the save */
	int q_kind;                 /* ROUTE_EV_QUEUE_RESULT: Result kind */
	char q_leg[80];             /* RING_RESULT of a named leg */
	char q_from[65];            /* the queue a Result is about */
	/* call-back exit (route_queue.c: the caller; route_callback.c: the
	 * call-back), kept in the call record */
	char qcb[96];               /* the queue's call-back settings while
				     * waiting: "<key>,<window s>,<retries>,
				     * <retry s>,<prompt>" ("" none) */
	bool qcb_on;                /* the caller asked: confirmation, then
				     * Leave CALLBACK at the call's end */
	int q_cb_do;                /* after the save: ROUTE_CB_* */
	char qcall[256];            /* a call-back: the queued call it serves */
	char qag[33];               /* ... its agent, offer, and where it is */
	uint32_t qoff;
	char qcbst;                 /* ROUTE_CBST_* */
	/* conference (route_conf.c), kept in the call record */
	char conf[65];              /* the room the call enters or is in */
	char cstate;                /* ROUTE_CONF_*: where in the room */
	int ctries;                 /* wrong PINs so far */
	char cdig[20];              /* PIN digits typed so far */
	bool cmod;                  /* joins (joined) as a moderator */
	char cof[65];               /* a cascade leg: the worker of the call
				     * it carries (reaped with it) */
	int c_do;                   /* after the save: what to send */
	uint32_t c_members;         /* CONF_JOINED / CONF_FULL */
	/* feature code (route_feature.c): after the save, start it */
	bool f_start;
	bool c_muted;               /* CONF_JOINED / CONF_MUTED */
	/* crm (route_crm.c): the record's `crm` field, and a CrmResult */
	char crm[256];
	int crm_kind;               /* ROUTE_EV_CRM_RESULT: its kind */
	char crm_node[65];          /* ... the node it answers */
	char crm_ext[65];           /* ... the owner's extension, or
				     * number as "+<digits>" */
	char crm_user[65];          /* ... the owner's CRM user id */
	/* call record (route_cdr.c), kept in the call record: when the
	 * router first heard of it, the caller's answer, a person's
	 * answer and who; the last ring result nobody answered; the walk's
	 * outcome; the path so far */
	uint64_t t0, tans, tbr;
	char who[80];
	char ring[16];
	char outc[16];
	bool trace_cut;
	char trace[PBX_CDR_TRACE_MAX];
	/* pipeline */
	struct route_pipe_item pipe[ROUTE_PIPE_MAX];
	int waiting;
	bool err;
	bool missing;               /* a looked-up key does not exist */
	bool ignore;                /* the event is not the sender's to send */
	int limited;                /* route_limits_take: 0 ok, 1 calls, 2 cps */
	route_next_h *next;
	route_next_h *exec_next;    /* route_exec_then's, after the actions */
	void *user;                 /* chain-specific record, owned by the
				     * chain */
	/* outbound call of an extension (route_outbound.c) */
	struct scenario_outbound out_pol;
	struct scenario_out_verdict out_v;
	enum scenario_dest out_dest;
	route_next_h *out_next;
	void (*out_rej)(struct route_ctx *c, unsigned code,
			const char *reason);
	/* feature code that changes a setting (route_feature_store) */
	route_next_h *fc_next;
	void (*fc_rej)(struct route_ctx *c, unsigned code,
		       const char *reason);
	/* call forwarding (route_forward.c) */
	struct route_fwd fwd;
	/* transfer (route_xfer.c): the transferor and the target are
	 * extensions of the tenant; the Refer-To host is another tenant's
	 * domain */
	bool xf_by_ext, xf_to_ext, xf_foreign;
	/* call pickup (route_pickup.c): a picker's call (scenario "@fc:8"):
	 * the call it takes (kept in the record as `pkc`), that call's
	 * extension and worker (where the picker's call is placed), or why
	 * there is none (1 nothing rings, 2 the picker has no group) */
	char pk_call[256];
	char pk_ext[65];
	char pk_worker[65];
	int pk_none;
	/* a call whose extension ring is noted for pickup (the record's
	 * `pk`): its ring result and its end remove the note */
	bool pk;
	/* KIND_RING_RESULT answered by a pickup: the picker */
	char picked_by[65];
};

struct route_ctx *route_ctx_alloc(struct router *r,
				  const struct pbx_bus_peer *peer,
				  const Pbx__V1__Envelope *env);
void route_ctx_free(struct route_ctx *c);

/* Pipelining: queue commands with route_pipe_cmd (each reply goes to its
 * handler), then route_pipe_run(c, next): next runs once every reply has
 * arrived (at once when none was queued). c->err is set when a command
 * could not be sent or a reply was lost. */
void route_pipe_cmd(struct route_ctx *c, route_pipe_h *h, const char *fmt,
		    ...);
/* The same with the arguments as they are (binary-safe, any count). */
void route_pipe_argv(struct route_ctx *c, route_pipe_h *h, size_t argc,
		     const char **argv);
void route_pipe_run(struct route_ctx *c, route_next_h *next);

/* Loads c->sc (c->scen, c->version) and c->objs (c->objects_rev) through
 * the caches, pinning both; next runs with both set, or with c->sc NULL on
 * failure (logged). Safe to call again on the same context (a retried
 * step): the previous pins are dropped first. */
void route_load(struct route_ctx *c, route_next_h *next);

/* Saves the call state (walk, scenario, worker, seq, tenant facts) if the
 * stored revision is still c->rev. h gets 1 saved, 0 conflict, -1 error. */
typedef void(route_save_h)(struct route_ctx *c, int result);
void route_state_save(struct route_ctx *c, route_save_h *h);

/* The value of field name in an HGETALL reply, NULL when absent. */
const char *route_field(const struct redisReply *rr, const char *name);

/* The walk context of this call at wall-clock now. */
void route_walk_ctx(const struct route_ctx *c, struct walk_ctx *ctx);

/* route_cdr.c: call detail records (docs/services/router.md "Call
 * records").
 * step: before a walk step, what the event tells the record (the
 *   caller's answer, who answered, a ring nobody took); after it
 *   (out set), the hops it visited and the outcome.
 * from_record: a CDR's fields from the call hash (HGETALL reply).
 * rejected: a call refused before any worker took it (c->out: the dry
 *   step's hops, if any).
 * write: completes cdr (pbx_cdr_finish) and queues it for the next
 *   batch (at most 10 ms later), which adds it to the tenant's stream with
 *   the retention bounds and queues the webhook job when the tenant has a
 *   webhook. Fire and forget: a lost write is logged.
 * The batch itself: router.h. */
void route_cdr_before_step(struct route_ctx *c);
void route_cdr_after_step(struct route_ctx *c, const struct walk_event *ev);
void route_cdr_from_record(struct pbx_cdr *cdr, const struct redisReply *rr);
/* load: the record's fields of a call hash (HGETALL reply) into c. */
void route_cdr_load(struct route_ctx *c, const struct redisReply *rr);
void route_cdr_rejected(struct route_ctx *c, unsigned code,
			const char *reason);
void route_cdr_write(struct router *r, struct pbx_cdr *cdr);
/* The record fields of c as HSET arguments (name, value pairs) into argv
 * from index *n; bufs for the numbers. */
#define ROUTE_CDR_NARGS 16
void route_cdr_save_args(struct route_ctx *c, const char **argv, size_t *n,
			 char bufs[3][24]);

/* route_reap.c: the worker call index (pbx:{sys}:wcalls:<worker>, one
 * member "<tenant> <call-id>" per call it anchors) and the reaper that
 * ends a lost worker's calls at the edge and removes their records. */
void route_index_add(struct router *r, const char *worker,
		     const char *tenant, const char *call_id);
void route_index_del(struct router *r, const char *worker,
		     const char *tenant, const char *call_id);

/* route_limits.c: the tenant's concurrent-call and calls-per-second
 * limits (pbx_limits.h), counted in Redis (pbx:{t}:active, a sorted set
 * of call ids scored by expiry; pbx:{t}:cps:<second>). take counts the
 * call and sets c->limited (0 within the limits; on a Redis error the
 * call is let through: limits guard against abuse, Redis errors are
 * handled by the save that follows); extend keeps an answered call
 * counted for call_ttl_s; release forgets it. */
void route_limits_take(struct route_ctx *c, route_next_h *next);
/* The counting under take: kset a sorted set of live calls (at most
 * max_set), kctr this period's counter (at most max_rate, expiring
 * after ctr_ttl_ms); sets c->limited 0, 1 (set), 2 (rate). extend (of
 * an outbound call) and release also keep the tenant's outbound set
 * (PBX_K_OUT_LEGS). */
void route_limits_count(struct route_ctx *c, const char *kset,
			const char *kctr, long max_set, long max_rate,
			long long ctr_ttl_ms, route_next_h *next);
void route_limits_extend(struct router *r, const char *tenant,
			 const char *call_id, bool outbound);
void route_limits_release(struct router *r, const char *tenant,
			  const char *call_id);

/* route_media.c: loads the call's state, takes one walk step for the
 * event in c (kind ...), saves and carries out the actions; frees c. */
void route_walk_event(struct route_ctx *c);

/* route_queue.c: the queue's side of a call.
 * event: a media event of a queued call in queue terms (an exit key, its
 *   deadline, an agent's answer); false: nothing to walk (c is freed by
 *   the caller).
 * prepare: after the walk step, before the save: the queue fields.
 * after_save: stops what the queue did when the call left it, tells the
 *   queue-manager.
 * join: the QUEUE action (music, Enqueue, the deadline).
 * ended: the call is over (c->queue as read): Leave.
 * leg_result: RING_RESULT of a named leg → AgentResult; true when the
 *   walk must hear of it (an answer). */
bool route_queue_translate(struct route_ctx *c, struct walk_event *ev);
void route_queue_prepare(struct route_ctx *c, const struct walk_event *ev);
void route_queue_after_save(struct route_ctx *c);
void route_queue_join(struct route_ctx *c, const struct walk_action *a);
void route_queue_ended(struct route_ctx *c);
/* A waiting caller's call-back key, or the end of its confirmation:
 * true when taken (c->q_cb_do says what follows the save). */
bool route_queue_callback(struct route_ctx *c);
bool route_queue_leg_result(struct router *r, const Pbx__V1__Envelope *env);
/* Sends a MediaCommand to c->worker_id (seq c->seq). */
void route_exec_send(struct route_ctx *c, Pbx__V1__MediaCommand *cmd);
/* Play prompt once; Timer id for ms (0 cancels). */
void route_exec_play(struct route_ctx *c, const char *prompt, bool barge_in);
void route_exec_timer(struct route_ctx *c, uint32_t id, uint32_t ms);
/* The RING action a to c->worker_id, as named leg `leg` (NULL: the
 * call's one ring). */
/* RecordCall: the call's next bridge is recorded (extension: the one
 * rung; queue: the queue whose agent will answer, or NULL). */
void route_exec_record_call(struct route_ctx *c, const char *extension,
			    const char *queue, unsigned channels,
			    const char *prompt);
void route_exec_ring(struct route_ctx *c, const struct walk_action *a,
		     const char *leg);

/* route_conf.c: the conference's side of a call.
 * prepare: after the walk step, before the save: a CONFERENCE action
 *   starts the PIN entry (or the join) in the record.
 * start: the CONFERENCE action after the save (PIN prompt, or join).
 * event: an event of a call in a conference (c->conf set): PIN digits,
 *   its timer, the worker's CONF_* answers; sets the record's fields and
 *   c->c_do; false: nothing to save.
 * after_save: sends what event decided, keeps the room's Redis keys.
 * ended: the call is over (c->conf, c->cstate as read): it leaves the
 *   room's member list.
 * placement: the worker that holds room `room` of the tenant, if it is
 *   live (route_call.c asks before placing a call that goes straight
 *   into a room). */
void route_conf_prepare(struct route_ctx *c);
/* The call is a cascade leg into a room (scenario "@conf:<room>"). */
bool route_conf_is_leg(const struct route_ctx *c);
void route_conf_start(struct route_ctx *c, const struct walk_action *a);
bool route_conf_event(struct route_ctx *c);
void route_conf_after_save(struct route_ctx *c);
void route_conf_ended(struct route_ctx *c);

/* route_feature.c: feature codes (*97 ...), one table.
 * code: the dialled user is a feature code ("*NN" or "%2ANN"); code
 *   gets its digits ("" when it is no well-formed code).
 * known / what: a code of the table; its name for logs.
 * setup: on CallNew, the feature's side effect (an agent's state to the
 *   queue-manager); -ENOENT unknown, -EHOSTUNREACH no queue-manager.
 * json: the scenario of call "@fc:<code>", built in memory.
 * event: a worker event of such a call: walk it, or (a feature the worker
 *   runs itself) save and start it in after_save, ignore it, or end the
 *   call. */
enum route_fc_step {
	ROUTE_FC_WALK,
	ROUTE_FC_SAVE,
	ROUTE_FC_IGNORE,
	ROUTE_FC_END,
	ROUTE_FC_END_NOTHING, /* a pickup found nothing: 404 */
};
bool route_feature_code(const char *user, char *code, size_t size);
bool route_feature_known(const char *code);
const char *route_feature_what(const char *code);
int route_feature_setup(struct router *r, const char *tenant,
			const char *call_id, const char *ext,
			const char *code);
int route_feature_json(const char *code, char *json, size_t size);
enum route_fc_step route_feature_event(struct route_ctx *c);
/* store: on CallNew, a code that changes the caller's own settings
 * (*78 DND toggle; *72, *90, *92 <number> forward; *73, *91, *93 cancel)
 * writes them, names the call's scenario (its confirmation) and runs
 * next; a missing or bad number: rej 484. Any other code: next at
 * once. */
void route_feature_store(struct route_ctx *c, const char *code,
			 route_next_h *next,
			 void (*rej)(struct route_ctx *c, unsigned code,
				     const char *reason));
void route_feature_after_save(struct route_ctx *c);
/* route_queue.c: a command to a live queue-manager (-EHOSTUNREACH:
 * none). */
int route_queue_send(struct router *r, const char *tenant,
		     const char *call_id, Pbx__V1__QueueCommand *qc);
/* route_crm.c: the CRM's side of a call.
 * prepare: after the walk step, before the save: a CRM_LOOKUP action
 *   starts the record's `crm` field.
 * lookup: the CRM_LOOKUP action (CrmLookup to a live connector; none:
 *   the step's lookup timer is cut to 1 ms).
 * translate: a CrmResult as the walk's CRM_RESULT (false: not for the
 *   node the call is at); notes the owner's answer.
 * ended: the call is over (c->crm as read): CrmCallLog. */
void route_crm_prepare(struct route_ctx *c);
void route_crm_lookup(struct route_ctx *c, const struct walk_action *a);
bool route_crm_translate(struct route_ctx *c, struct walk_event *ev);
void route_crm_ended(struct route_ctx *c);

/* route_outbound.c: an extension dialled a number that is no
 * extension and no number of the platform: the tenant's outbound policy
 * (scenario_outbound.h), the caller ID's owner, the outbound limits;
 * then the call's scenario is "@out:<number>:<caller id>" and next runs
 * (the call goes on like any other), or the call is refused (rej). */
void route_outbound_call(struct route_ctx *c, const char *ext,
			 route_next_h *next,
			 void (*rej)(struct route_ctx *c, unsigned code,
				     const char *reason));
/* route_xfer.c: KIND_TRANSFER (a worker accepted an extension's
 * REFER): the checks and the target, answered to the worker with
 * MediaCommand.transfer or transfer_refuse; KIND_TRANSFER_DONE: logged.
 * Both free c. */
void route_xfer_event(struct route_ctx *c, const Pbx__V1__MediaEvent *me);
void route_xfer_done(struct route_ctx *c, const Pbx__V1__MediaEvent *me);
/* The built-in scenario of "@out:..." (c->scen). */
int route_outbound_json(const char *scen, char *json, size_t size);
/* The "<number>:<caller id>" of a built-in scenario's name (@out:, @cb:)
 * into num and cid (size bytes each), both numbers (cid may be empty
 * unless cid_needed). 0 or -EINVAL. */
int route_scen_numbers(const char *p, char *num, char *cid, size_t size,
		       bool cid_needed);

/* route_pickup.c: call pickup (docs/employees.md "Pickup").
 * ringing: the walk rings extension ext (the call's one ring): note it
 *   (fire and forget).
 * forget: the note of call_id goes (its ring ended, or the call).
 * claim: the picker c->caller's "*8" (target "") or "*8<target>": takes
 *   the oldest ringing call of its group (or that extension's) into
 *   c->pk_call / pk_ext / pk_worker and runs next; nothing: rej 404. */
void route_pickup_ringing(struct route_ctx *c, const char *ext);
/* Notes c->worker_id as the worker of extension ext (of tenant)'s latest
 * call (PBX_K_EXT_WORKER): its next call is placed there when it can be. */
void route_ext_worker_note(struct route_ctx *c, const char *tenant,
			   const char *ext);
void route_pickup_forget(struct router *r, const char *tenant,
			 const char *call_id);
void route_pickup_claim(struct route_ctx *c, const char *target,
			route_next_h *next,
			void (*rej)(struct route_ctx *c, unsigned code,
				    const char *reason));

/* route_callback.c: a queue's call-back. */
/* An Offer with callback_number: a worker calls the agent (Originate)
 * as a call of the built-in scenario "@cb:<number>:<caller id>". */
void route_callback_offer(struct router *r, const Pbx__V1__Envelope *env,
			  const Pbx__V1__QueueEvent__Offer *of);
/* A Cancel of offer `offer` of the queued call: the call-back made for
 * it (if any) is hung up. */
void route_callback_cancel(struct router *r, const Pbx__V1__Envelope *env,
			   uint32_t offer);
/* The scenario of a "@cb:..." name; 0, -EINVAL, -ENAMETOOLONG. */
int route_callback_json(const char *scen, char *json, size_t size);
/* A call-back's call (its record names the queued call it serves). */
bool route_callback_is(const struct route_ctx *c);
/* A call-back's events before the walk: the agent's answer starts the
 * walk (it rings the caller), the caller's ring result goes to the
 * queue-manager. false: nothing for the walk. */
bool route_callback_translate(struct route_ctx *c, struct walk_event *ev);
/* Its end: what the queue-manager must hear (the agent's result, a
 * failed call-back, or the end of the bridged call). */
void route_callback_ended(struct route_ctx *c);
#define ROUTE_OUT_SCEN "@out:"

/* route_forward.c: call forwarding (docs/employees.md "Forwarding").
 * read: queues the HMGET of ext's forwarding fields (into c->fwd);
 *   -EINVAL for a bad id.
 * set: what was read forwards somewhere.
 * call: c->number (an extension of c->tenant, its fields read) forwards:
 *   decides the call's scenario ("@ext:", "@fwd:", "@out:", "@out:fwd:")
 *   and runs next, or refuses it with rej (482 a loop, the policy's
 *   answers for an outside "always" target).
 * json: the built-in scenario of "@fwd:..." and "@out:fwd:...". */
int route_forward_read(struct route_ctx *c, const char *tenant,
		       const char *ext);
bool route_forward_set(const struct route_ctx *c);
void route_forward_call(struct route_ctx *c, route_next_h *next,
			void (*rej)(struct route_ctx *c, unsigned code,
				    const char *reason));
int route_forward_json(const char *scen, char *json, size_t size);

/* route_exec.c: carries out c->out as media commands to c->worker_id;
 * route_exec_supported: this build has a media side for the action.
 * route_exec_then: the same once what the actions need is read (the
 * tenant's asr setting, for a step that listens), then next(c). */
bool route_exec_supported(enum walk_act_kind k);
void route_exec_actions(struct route_ctx *c);
void route_exec_then(struct route_ctx *c, route_next_h *next);

#endif
