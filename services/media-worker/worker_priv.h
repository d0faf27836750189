/* Worker internals shared by worker.c (lifecycle, call table, signals,
 * call events), worker_invite.c (INVITE admission), worker_bus.c (router
 * links, events, heartbeats) and worker_command.c (commands -> calls).
 * Not for other modules. */
#ifndef WORKER_PRIV_H
#define WORKER_PRIV_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

#include "mw_config.h"
#include "mwcall.h"
#include "pbx_bus.h"
#include "pbx_keys.h"
#include "pbx_media_store.h"
#include "say.h"

struct asr_listen;
struct confroom_table;
struct worker_asr;
struct pacer;
struct prompt_cache;
struct prompt_store;
struct worker;

/* One DEALER per router endpoint, so that every router gets every
 * heartbeat (one DEALER connected to all would round-robin them). */
struct worker_link {
	struct worker *w;
	struct pbx_bus *bus;
	int fd;
	bool down;    /* last send failed: logged once until it works */
	bool ever_up; /* a send has succeeded since start */
	char endpoint[128];
};

/* A call in the table; owned by the table, owns the mwcall. */
struct worker_call {
	struct le he;
	struct worker *w;
	struct mwcall *call;
	struct worker_link *home; /* router that last spoke about the call */
	/* message_ids of the commands events answer (reply_to). */
	char play_msgid[64];   /* the running Play */
	char ring_msgid[64];   /* the running Ring */
	char answer_msgid[64]; /* the command that answers the caller */
	/* Voicemail (worker_vm.c): the box of the Record command, and what
	 * became of the message, for the ENDED event. */
	char vm_box[PBX_ID_MAX + 1];
	char vm_result[96];
	char conf_msgid[64]; /* the ConfJoin / ConfMute last received */
	/* Voicemail from a phone (worker_vmacc.c): the session, owned. */
	struct vmacc *acc;
	/* Fax (worker_fax.c): the FaxReceive's box, options and message id,
	 * the fax's id and temporary TIFF until it is stored. */
	char fax_box[PBX_ID_MAX + 1];
	char fax_header[64]; /* the box's page header line, "" none */
	char fax_msgid[64];
	char fax_id[PBX_MEDIA_ID_MAX];
	char fax_tmp[PBX_MEDIA_PATH_MAX];
	bool fax_pdf;
	bool fax_t38;
	uint64_t fax_start_ms; /* wall clock, Unix ms */
	struct worker_queue *queue; /* a queued caller's hold (worker_queue.c) */
	/* Call recording (worker_rec.c): armed by RecordCall; the rung
	 * subscriber and the queue (a queue's bridge: its agent is the
	 * answering leg's), for the metadata. */
	bool rec_armed;
	char rec_ext[64];
	char rec_queue[64];
	struct asr_listen *asr; /* an assistant node listening (owned) */
	enum say_lang lang; /* of the system sounds (MediaCommand.language) */
};


struct worker {
	const struct mw_config *cfg;
	void *zctx;
	char sip_uri[PBX_CFG_STRLEN + 24]; /* "sip:" listen [";transport=tcp"] */
	char edge_uri[PBX_CFG_STRLEN]; /* route for rings, without ";lr" */
	uint64_t started_ms;

	struct sip *sip;
	struct sipsess_sock *sock;
	struct sip_lsnr *options_lsnr;
	struct sa edge;
	struct mwcall_env env;
	struct pacer *pacer;
	struct prompt_store *store;
	struct prompt_cache *prompts; /* in front of store */
	struct confroom_table *conf;  /* conference rooms of this worker */
	uint8_t *ringback[2]; /* one cycle per law, shared by all calls */
	/* The built-in music on hold per law (libre mem, referenced by the
	 * calls that play it): for a Play{moh} without a prompt of its own. */
	uint8_t *moh[2];
	size_t moh_len[2];
	/* Built-in prompts (the system sounds of sys_sounds.h: conference
	 * PIN, voicemail greeting, ...), per language, played for a Play of
	 * their name when the tenant has no prompt of that name; the same
	 * way. */
	struct worker_sound {
		const char *lang, *name;
		uint8_t *audio[2];
		size_t len[2];
	} *sounds;
	size_t nsounds;

	struct hash *calls; /* worker_call by Call-ID */
	uint32_t load;
	bool draining;	 /* no new calls: any of the three below, or
			  * stopping (worker_drain_apply) */
	bool drain_usr1; /* SIGUSR1 */
	bool drain_op;	 /* an operator's mark in Redis (worker_scale.c) */
	bool drain_exit; /* ... "exit": stop once the last call ended */
	/* worker_scale.c: the RTP ports this worker uses, and whether its
	 * lease on them is in Redis (renewed with each heartbeat). */
	uint16_t rtp_min, rtp_max;
	bool rtp_claimed;
	bool rtp_conflict_logged;
	uint64_t rtp_retry_ms; /* Redis down: no renewal before (mono) */
	bool stopping;	 /* SIGINT/SIGTERM: shutting down */
	bool sip_exited; /* sip_close() finished its transactions */
	bool grace_over;

	struct worker_link *links;
	size_t nlinks;
	size_t next_link; /* round-robin start for new calls */
	/* >0 while inside pbx_bus_send(). The foundation pbx_bus delivered
	 * frames to receive handlers from inside a send; should any version
	 * do so, they are deferred to tmr_pending instead of freeing calls
	 * under the sender's feet. */
	int sending;
	struct list pending;
	struct worker_asr *asr; /* links to the asr-bridges; NULL: none */

	int sigfd;
	struct tmr tmr_hb;
	struct tmr tmr_hb_retry; /* heartbeat to routers that missed one */
	struct tmr tmr_poll;	 /* ZMQ_FD re-check every 50 ms */
	struct tmr tmr_kick;	 /* ... and right after each send */
	struct tmr tmr_pending;
	struct tmr tmr_rtp; /* RTP inactivity sweep over all calls */
	struct tmr tmr_lag; /* loop lag probe (worker_lag.c) */
	uint64_t lag_due_ms; /* tmr_jiffies() when the probe is due */
	uint32_t lag_ms;     /* how late it fired last */
	uint64_t lag_logged_ms; /* last "loop behind" refusal logged */
	uint32_t lag_refused;	/* refusals not logged since */
	struct tmr tmr_conf; /* conference control poll (worker_conf.c) */
	struct tmr tmr_grace;
	struct tmr tmr_stop;
	struct tmr tmr_drained; /* the stop after a drain's last call */
	/* Metrics (worker_metrics.c): the registry and its HTTP server. */
	struct pbx_metrics *metrics;
	struct http_sock *http;
	unsigned long cfg_capacity;
	unsigned long n_calls, n_refused_full, n_refused_lag;
};

/* Event to the router about one call. */
struct worker_event {
	int kind; /* Pbx__V1__MediaEvent__Kind */
	const char *tenant;
	const char *callid;
	uint64_t seq;
	uint32_t sip_code;
	const char *detail;
	const char *caller;
	const char *dialed;
	const char *reply_to;
	char digit;	   /* KIND_DTMF */
	uint32_t timer_id; /* KIND_TIMER */
	int ring_result;   /* KIND_RING_RESULT */
	const char *leg;   /* KIND_RING_RESULT of a named leg */
	uint32_t conf_members; /* KIND_CONF_JOINED / KIND_CONF_FULL */
	bool conf_muted;       /* KIND_CONF_JOINED / KIND_CONF_MUTED */
	const char *fax_id; /* KIND_FAX_DONE */
	int32_t fax_result;
	uint32_t fax_pages;
	bool fax_continues; /* KIND_FAX_DONE: the call stays up */
	const char *speech_phrase; /* KIND_SPEECH */
	double speech_confidence;
	const char *speech_text;
	const char *transfer_host; /* KIND_TRANSFER */
	const char *picked_by; /* KIND_RING_RESULT answered by a Pickup */
};

/* worker.c */
struct worker_call *worker_call_find(struct worker *w, const char *callid);
/* Links wc (its call accepted, ringing) and announces the new load. */
void worker_call_add(struct worker *w, struct worker_call *wc);
/* Unlinks, hangs up (mwcall_free) and frees wc; heartbeat on the change. */
void worker_call_end(struct worker *w, struct worker_call *wc);
/* One integer reply of a Redis command (nil: 0): 0, or -EIO when Redis
 * could not answer, -EPROTO for another reply (worker_vm.c). */
int worker_store_int(struct worker *w, long long *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* mwcall_event_h of every call: events to the router; CLOSED ends wc. */
void worker_call_event(struct mwcall *call, const struct mwcall_event *ev,
		       void *arg);

/* worker_invite.c: sipsess connh and the OPTIONS responder. */
void worker_invite(const struct sip_msg *msg, void *arg);
bool worker_options(const struct sip_msg *msg, void *arg);

/* Recomputes `draining` from its causes (heartbeat on a change) and,
 * drained with "exit" and no call left, stops the worker from the loop. */
void worker_drain_apply(struct worker *w);

/* worker_scale.c: the RTP range (claimed at start: 0, or -EADDRINUSE /
 * -ENOSPC / a Redis error for a pool, logged naming the other worker),
 * renewed with each periodic heartbeat with the drain mark read back;
 * released at a stop. */
int worker_scale_claim(struct worker *w);
void worker_scale_renew(struct worker *w);
void worker_scale_release(struct worker *w);

/* worker_bus.c */
int worker_bus_open(struct worker *w);
void worker_bus_close(struct worker *w);
/* Sends to `home` if it takes it, else to the next router that does;
 * returns the link used (NULL: no router reachable, event dropped). */
struct worker_link *worker_event_send(struct worker *w,
				      struct worker_link *home,
				      const struct worker_event *ev);
/* To every router. final: capacity 0 (we are leaving). */
void worker_heartbeat(struct worker *w, bool final);

/* worker_metrics.c: /metrics and /health on libre's HTTP server at
 * metrics_listen (off: only the registry). 0 or a negative errno
 * (logged; -EINVAL printed). */
int worker_metrics_start(struct worker *w);
void worker_metrics_stop(struct worker *w);
/* worker_asr.c: the voice assistant (docs/services/asr-bridge.md). */
int worker_asr_open(struct worker *w);
void worker_asr_close(struct worker *w);
/* A Listen command on wc: plays the prompt and streams the caller to a
 * bridge. 0, or a negative errno with *why (a FAILED event's detail). */
int worker_asr_listen(struct worker *w, struct worker_call *wc,
		      const Pbx__V1__Envelope *env, const char **why);
/* Ends wc's listening turn if one runs (the bridge is told). */
void worker_asr_stop(struct worker_call *wc, const char *why);
/* A call timer fired: while wc listens and the caller speaks (a
 * KIND_SPEECH is owed: the bridge's answer or the deadline's
 * not_recognized) it is held back, sent after that SPEECH, and true is
 * returned; false otherwise (send it now). */
bool worker_asr_hold_timer(struct worker_call *wc, uint32_t id);

/* worker_lag.c: the event loop's lag, probed every 100 ms. */
void worker_lag_start(struct worker *w);
void worker_lag_stop(struct worker *w);
uint32_t worker_lag_ms(const struct worker *w);
/* True while the loop is more than overload_lag_ms behind: new calls are
 * refused and heartbeats report the worker full. */
bool worker_lagging(const struct worker *w);

/* worker_vm.c */
/* Starts voicemail on wc for a Record command: opens the recorder in the
 * media store, fetches the greeting. 0, or a negative errno with *why. */
int worker_vm_start(struct worker *w, struct worker_call *wc,
		    const char *box, const char *greeting, uint32_t max_ms,
		    uint64_t seq, const char **why);
/* MWCALL_EV_RECORDED: stores the message (or discards it when shorter
 * than vm_min_ms) and its metadata; notes the result in wc->vm_result. */
void worker_vm_save(struct worker *w, struct worker_call *wc,
		    const char *why);
/* Announces a listed item to the notifier (e-mail, webhook, MWI): one
 * XADD of a job of `kind` (PBX_NOTIFY_KIND_*), after the item is listed,
 * so a job never names one that is not there. A failure costs the
 * notification, never the item (logged). */
void worker_notify(struct worker *w, const char *kind, const char *tenant,
		   const char *box, const char *ref);

/* worker_rec.c */
/* RecordCall: arms the recording of wc's bridge. 0, or a negative errno
 * with *why (the call goes on unrecorded). */
int worker_rec_start(struct worker *w, struct worker_call *wc,
		     const Pbx__V1__MediaCommand__RecordCall *rc,
		     const char **why);
/* At the call's end: stores the recording (file, then metadata). */
void worker_rec_save(struct worker *w, struct worker_call *wc);

/* worker_vmacc.c: voicemail from a phone (VmAccess). start: the session
 * on wc (box "" asks for its number; own: the box's own extension); 0,
 * or a negative errno with *why. event: the call's DTMF and PLAY_DONE
 * while a session runs (the router hears neither). free: with the call. */
int worker_vmacc_start(struct worker *w, struct worker_call *wc,
		       const char *box, bool own, const char **why);
void worker_vmacc_event(struct worker_call *wc,
			const struct mwcall_event *ev);
void worker_vmacc_free(struct worker_call *wc);

/* worker_command.c: the tenant's prompt `name` in wc's law, else the
 * system sound of that name in wc's language; music on hold `prompt`,
 * else the built-in music. *audio is referenced for the caller. 0 or a
 * negative errno. */
int worker_prompt_audio(struct worker *w, struct worker_call *wc,
			const char *name, uint8_t **audio, size_t *len);
int worker_moh_audio(struct worker *w, const char *tenant, const char *prompt,
		     enum offer_law law, uint8_t **audio, size_t *len);

/* worker_queue.c: a queued caller's hold (QueueHold: music, entry and
 * periodic prompts) and the announcements of its place (QueueAnnounce).
 * hold: 0, or a negative errno with *why. announce: -ENOENT when the call
 * is not on hold. end: frees the hold (the call ends). */
struct Pbx__V1__MediaCommand__QueueHold;
struct Pbx__V1__MediaCommand__QueueAnnounce;
int worker_queue_hold(struct worker *w, struct worker_call *wc,
		      const struct Pbx__V1__MediaCommand__QueueHold *h,
		      uint64_t seq, const char **why);
int worker_queue_announce(struct worker_call *wc,
			  const struct Pbx__V1__MediaCommand__QueueAnnounce *a);
void worker_queue_end(struct worker_call *wc);
/* A queued caller's system sound `name` (q_callback_ok, ...) in its
 * hold's language, the tenant's prompt of that name first; *audio is
 * the caller's (libre mem). -ENOENT: not on hold, or no such sound. */
int worker_queue_sound(struct worker_call *wc, const char *name,
		       uint8_t **audio, size_t *len);

/* worker.c: the built-in prompt `name` (referenced for the caller) in
 * lang (English when lang has none) and law, or -ENOENT. */
int worker_sound(struct worker *w, enum say_lang lang, const char *name,
		 enum offer_law law, uint8_t **audio, size_t *len);

/* worker_conf.c: conference control lines from provisioning. start: the
 * poll timer (pops only while there are rooms). ctl: one line "<tenant>
 * <call-id> mute|unmute|kick"; 0, -EINVAL (not such a line), -ENOENT (no
 * such call of that tenant in a room). */
void worker_conf_start(struct worker *w);
int worker_conf_ctl(struct worker *w, const char *line);
/* worker_fax.c */
enum { WORKER_FAX_REFUSED = -1 }; /* FAX_DONE fax_result: box full */
/* Starts receiving a fax on wc for a FaxReceive command: the temporary
 * TIFF in the media store, the receiver, the call's fax mode. 0, or a
 * negative errno with *why. */
int worker_fax_start(struct worker *w, struct worker_call *wc,
		     const Pbx__V1__MediaCommand__FaxReceive *fr, uint64_t seq,
		     const char **why);
/* MWCALL_EV_FAX_DONE: stores what was received (TIFF, PDF if asked) and
 * the fax's metadata, failed faxes included, and sends KIND_FAX_DONE. */
void worker_fax_save(struct worker *w, struct worker_call *wc,
		     const char *why, uint64_t seq);

/* worker_command.c: one MediaCommand from router link l. */
void worker_command(struct worker *w, struct worker_link *l,
		    const Pbx__V1__Envelope *env);

#endif
