/* One media call: the caller leg (sipsess UAS), answer / reject / 183,
 * prompts and ringback, DTMF from the caller, per-call timers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "callrec.h"
#include "confroom.h"
#include "dtmf_detect.h"
#include "dtmf_info.h"
#include "mwcall_priv.h"
#include "pbx_clock.h"
#include "pbx_log.h"

enum { CALL_STR_MAX = 256 };

static char *pl_dupz(const struct pl *pl)
{
	size_t n = pl && pl->p ? pl->l : 0;
	char *s;

	if (n > CALL_STR_MAX)
		n = CALL_STR_MAX;
	s = malloc(n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, pl->p, n);
	s[n] = '\0';
	return s;
}

void mwcall_log_ctx(const struct mwcall *call)
{
	pbx_log_ctx(call->tenant, call->callid);
}

void mwcall_emit(struct mwcall *call, const struct mwcall_event *ev)
{
	call->evh(call, ev, call->arg);
}

/* ---- player: prompts and ringback on the caller leg ---- */

static void send_packet(const uint8_t *pkt, size_t len, void *arg)
{
	struct mwcall *call = arg;

	leg_send(&call->leg, pkt, len);
	/* Audio from the callee continues after this with fresh offsets. */
	relay_resync(&call->leg.relay);
}

static void tick_handler(uint64_t periods, uint64_t now_ms, void *arg)
{
	struct mwcall *call = arg;
	struct mwcall_event ev = {.kind = MWCALL_EV_PLAY_DONE};
	enum call_play was = call->playing;
	bool done;

	if (call->fax.rx) {
		mwcall_fax_tick(call, periods, now_ms);
		return;
	}
	if (call->xrb) {
		xfer_ringback_tick(call, periods, now_ms);
		return;
	}
	/* On hold the prompt still runs on the clock (the router hears
	 * PLAY_DONE on time) but no packet, so no sequence number, is used. */
	if (call->leg.can_send)
		done = player_tick(&call->leg.out, periods, now_ms,
				   send_packet, call);
	else
		done = player_skip(&call->leg.out, periods);
	if (!done)
		return;
	pacer_remove(call->env->pacer, &call->pe);
	call->playing = PLAY_NONE;
	mwcall_log_ctx(call);
	if (was == PLAY_HOLD) {
		/* A queue announcement ended: the music again. */
		if (call->hold_moh)
			(void)mwcall_play_start(call, call->hold_moh,
						call->hold_moh_len,
						PLAYER_FOREVER, PLAY_MOH, false,
						call->play_seq);
		pbx_log_ctx(NULL, NULL);
		return;
	}
	if (call->vm.phase == VM_GREETING) {
		mwcall_vm_greeting_done(call);
		pbx_log_ctx(NULL, NULL);
		return;
	}
	if (call->vm.phase == VM_REFUSED) {
		mwcall_vm_refused_done(call); /* frees the call */
		pbx_log_ctx(NULL, NULL);
		return;
	}
	PLOG_DEBUG("play %llu done", (unsigned long long)call->play_seq);
	ev.seq = call->play_seq;
	mwcall_emit(call, &ev);
	/* A prompt to a conference member (its announcement) ended: the
	 * room's audio again, or its music while the room is not live. */
	if (call->conf)
		confroom_member_resume(call->conf);
	pbx_log_ctx(NULL, NULL);
}

void mwcall_player_stop(struct mwcall *call)
{
	player_stop(&call->leg.out);
	pacer_remove(call->env->pacer, &call->pe);
	call->playing = PLAY_NONE;
}

int mwcall_ringback_start(struct mwcall *call)
{
	enum offer_law law = call->leg.codec.law;
	int err;

	err = player_start_loop(&call->leg.out, call->env->ringback[law],
				call->env->ringback_len[law],
				pbx_clock_mono_ms());
	if (!err)
		err = pacer_add(call->env->pacer, &call->pe);
	if (err) {
		mwcall_player_stop(call);
		return err;
	}
	call->playing = PLAY_RINGBACK;
	call->barge_in = false;
	return 0;
}

/* ---- DTMF from the caller ---- */

static void report_digit(struct mwcall *call, char digit, const char *how)
{
	struct mwcall_event ev = {
		.kind = MWCALL_EV_DTMF, .digit = digit, .detail = how};

	mwcall_log_ctx(call);
	PLOG_INFO("DTMF '%c' (%s)%s", digit, how,
		  call->playing == PLAY_PROMPT && call->barge_in
			  ? ": prompt stopped"
			  : "");
	if (call->playing == PLAY_PROMPT && call->barge_in)
		mwcall_player_stop(call);
	mwcall_emit(call, &ev);
	mwcall_vm_digit(call, digit);
	if (call->conf)
		confroom_member_digit(call->conf, digit);
}

static void detect_digit(char digit, const char *how, void *arg)
{
	report_digit(arg, digit, how);
}

static void caller_rx(const struct mw_rtp_hdr *hdr, const uint8_t *payload,
		      size_t len, void *arg)
{
	struct mwcall *call = arg;
	const struct offer_codec *c = &call->leg.codec;
	/* The callee hears ringback while the caller transfers it. */
	bool bridged = call->ring && call->ring->bridged && !call->xrb;
	uint64_t now;

	if (c->te_pt >= 0 && hdr->pt == c->te_pt) {
		now = pbx_clock_mono_ms();
		dtmf_detect_event(call->dtmf, hdr->ts, payload, len, now);
		if (bridged)
			ring_from_caller(call->ring, hdr, payload, len, true,
					 now);
		else if (call->joined)
			join_from_caller(call, hdr, payload, len, true, now);
		return;
	}
	if (hdr->pt != c->pt)
		return; /* comfort noise or a type we did not agree on */
	if (call->fax.rx) {
		/* Fax tones are not key presses: no DTMF meanwhile. */
		mwcall_fax_audio(call, hdr, payload, len);
		return;
	}
	/* Digits only emit events, which never free the call. In-band
	 * detection runs with telephone-event too (dtmf_detect.h). */
	now = pbx_clock_mono_ms();
	dtmf_detect_audio(call->dtmf, payload, len, c->law, now);
	if (call->vm.phase == VM_RECORDING)
		mwcall_vm_audio(call, payload, len);
	if (call->conf)
		confroom_member_audio(call->conf, payload, len);
	if (call->tap)
		call->tap(payload, len, call->tap_arg);
	if (bridged) {
		callrec_audio(call->crec, CALLREC_CALLER, payload, len, c->law);
		ring_from_caller(call->ring, hdr, payload, len, false, now);
	} else if (call->joined) {
		join_from_caller(call, hdr, payload, len, false, now);
	}
}

char mwcall_info_digit(struct sip *sip, const struct sip_msg *msg)
{
	enum dtmf_info_type t =
		dtmf_info_type_of(msg->ctyp.type.p, msg->ctyp.type.l,
				  msg->ctyp.subtype.p, msg->ctyp.subtype.l);
	char digit = 0;

	if (t == DTMF_INFO_NONE) {
		sip_reply(sip, msg, 415, "Unsupported Media Type");
		return 0;
	}
	if (dtmf_info_parse(t, (const char *)mbuf_buf(msg->mb),
			    mbuf_get_left(msg->mb), &digit)) {
		PLOG_INFO("INFO with a DTMF type but no digit: 400");
		sip_reply(sip, msg, 400, "Bad DTMF Body");
		return 0;
	}
	sip_reply(sip, msg, 200, "OK");
	return digit;
}

void mwcall_info_send(struct sipsess *sess, char digit)
{
	struct mbuf *mb = mbuf_alloc(64);
	int err;

	if (!mb)
		return;
	err = mbuf_printf(mb, "Signal=%c\r\nDuration=160\r\n", digit);
	mb->pos = 0;
	if (!err)
		err = sipsess_info(sess, "application/dtmf-relay", mb, NULL,
				   NULL);
	if (err)
		PLOG_WARN("INFO '%c' not relayed: %s", digit, strerror(err));
	mem_deref(mb);
}

void mwcall_sess_info(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;
	char digit;

	mwcall_log_ctx(call);
	digit = mwcall_info_digit(sip, msg);
	if (digit) {
		if (call->ring && call->ring->bridged)
			mwcall_info_send(call->ring->sess, digit);
		else if (call->joined && call->joined->sess)
			mwcall_info_send(call->joined->sess, digit);
		report_digit(call, digit, "info");
	}
	pbx_log_ctx(NULL, NULL);
}

/* ---- caller leg SIP ---- */

int mwcall_sess_offer(struct mbuf **descp, const struct sip_msg *msg,
		      void *arg)
{
	struct mwcall *call = arg;
	const char *why;
	char a[64];
	int err;

	mwcall_log_ctx(call);
	if (call->fax.rx) {
		bool handled = false;

		err = mwcall_fax_offer(call, msg->mb, descp, &handled);
		if (handled) {
			pbx_log_ctx(NULL, NULL);
			return err;
		}
	}
	/* An audio offer: our audio line answers (a T.38 switch had
	 * disabled it). */
	sdp_media_set_disabled(call->leg.sdpm, false);
	err = leg_take_offer(&call->leg, msg->mb, descp, &why);
	if (err) {
		PLOG_WARN("re-INVITE from the caller refused: %s",
			  why ? why : strerror(-err));
	} else {
		PLOG_INFO("re-INVITE from the caller: %s/%d to %s%s",
			  offer_codec_name(call->leg.codec.law),
			  call->leg.codec.pt,
			  leg_sa_str(&call->leg.raddr, a, sizeof(a)),
			  call->leg.can_send ? "" : " (not sending: hold)");
	}
	pbx_log_ctx(NULL, NULL);
	return err ? -err : 0; /* libre wants a positive errno */
}

static int answer_handler(const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;
	int err;

	/* Our only offer to the caller: a fax's re-INVITE to T.38. */
	mwcall_log_ctx(call);
	err = mwcall_fax_answer(call, msg);
	pbx_log_ctx(NULL, NULL);
	return err;
}

static void estab_handler(const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;

	(void)msg;
	call->established = true;
	mwcall_log_ctx(call);
	PLOG_DEBUG("ACK received, call established");
	pbx_log_ctx(NULL, NULL);
}

void mwcall_sess_close(int err, const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;
	struct mwcall_event ev = {.kind = MWCALL_EV_CLOSED};

	(void)msg;
	mwcall_log_ctx(call);
	if (xfer_caller_closed(call)) {
		pbx_log_ctx(NULL, NULL);
		return;
	}
	/* libre reports BYE and CANCEL alike (ECONNRESET): an unanswered
	 * call can only have been cancelled. */
	if (err == ECONNRESET)
		ev.detail =
			call->answered ? "caller hung up" : "caller cancelled";
	else
		ev.detail = strerror(err);
	PLOG_INFO("caller side closed: %s", ev.detail);
	mwcall_record_stop(call, "hangup");
	mwcall_fax_stop(call, "hangup");
	mwcall_emit(call, &ev); /* frees the call */
	pbx_log_ctx(NULL, NULL);
}

struct mwcall *mwcall_new(const struct mwcall_env *env, const char *tenant,
			  mwcall_event_h *evh, void *arg)
{
	struct mwcall *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->env = env;
	call->evh = evh;
	call->arg = arg;
	call->start_ms = pbx_clock_mono_ms();
	pacer_entry_init(&call->pe, tick_handler, call);
	for (size_t i = 0; i < MWCALL_TIMERS_MAX; i++)
		tmr_init(&call->timers[i].tmr);
	tmr_init(&call->vm.tmr);
	tmr_init(&call->fax.tmr);
	tmr_init(&call->fax.t38tmr);
	tmr_init(&call->orig_tmr);
	tmr_init(&call->xtmr);
	tmr_init(&call->jtmr);
	list_init(&call->legs);
	call->tenant = strdup(tenant);
	return call;
}

int mwcall_leg_open(struct mwcall *call)
{
	int err = dtmf_detect_alloc(&call->dtmf, detect_digit, call);

	if (!err)
		err = leg_open(&call->leg, call->env, "caller", call->tenant,
			       call->callid, caller_rx, call);
	return err;
}

int mwcall_accept(struct mwcall **callp, const struct mwcall_env *env,
		  const struct sip_msg *msg, const char *tenant,
		  mwcall_event_h *evh, void *arg, const char **why)
{
	const struct sip_hdr *source;
	struct mwcall *call;
	int err;

	if (!callp || !env || !msg || !tenant || !evh || !why)
		return -EINVAL;
	*why = NULL;
	if (!mbuf_get_left(msg->mb) ||
	    !msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		*why = "No SDP Offer"; /* late offer is not supported */
		return -ENOTSUP;
	}

	call = mwcall_new(env, tenant, evh, arg);
	if (!call)
		return -ENOMEM;
	call->callid = pl_dupz(&msg->callid);
	call->caller = pl_dupz(&msg->from.uri.user);
	call->dialed = pl_dupz(&msg->uri.user);
	/* worker_invite() took this INVITE from the edge proxy only, which
	 * strips any X-Pbx-* a caller sends and sets this one itself. A
	 * missing header means "not an extension". */
	source = sip_msg_xhdr(msg, "X-Pbx-Source");
	call->caller_internal =
		source && !pl_strcasecmp(&source->val, "extension");
	if (!call->tenant || !call->callid || !call->caller || !call->dialed) {
		err = -ENOMEM;
		goto out;
	}
	err = mwcall_leg_open(call);
	if (err)
		goto out;
	err = leg_take_offer(&call->leg, msg->mb, NULL, why);
	if (err)
		goto out;

	/* 180 without SDP: the router decides what happens next. */
	err = -sipsess_accept(&call->sess, env->sock, msg, 180, "Ringing",
			      env->cuser, "application/sdp", NULL, NULL, NULL,
			      false, mwcall_sess_offer, answer_handler,
			      estab_handler, mwcall_sess_info,
			      mwcall_refer_caller, mwcall_sess_close,
			      call, MWCALL_ALLOW);
	if (err == -EBADMSG || err == -EINVAL) {
		/* libre could not make a dialog of the request (its Contact,
		 * From or To): not an SDP problem. */
		*why = "Bad Request Headers";
		err = -EPROTO;
	}
	if (err)
		goto out;
	PLOG_INFO("incoming from '%s' to '%s': %s/%d%s, ringing", call->caller,
		  call->dialed, offer_codec_name(call->leg.codec.law),
		  call->leg.codec.pt,
		  call->leg.codec.te_pt >= 0 ? " +telephone-event" : "");
out:
	if (err) {
		mwcall_free(call);
		return err;
	}
	*callp = call;
	return 0;
}

int mwcall_answer_caller(struct mwcall *call, uint64_t seq)
{
	struct mwcall_event ev = {.kind = MWCALL_EV_ANSWERED, .seq = seq};
	struct mbuf *mb = NULL;
	char la[64], ra[64];
	int err;

	if (call->answered)
		return -EALREADY;
	err = leg_encode_answer(&call->leg, &mb);
	if (!err)
		err = -sipsess_answer(call->sess, 200, "OK", mb, MWCALL_ALLOW);
	mem_deref(mb);
	if (err) {
		PLOG_WARN("cannot answer the caller: %s", strerror(-err));
		return err;
	}
	call->answered = true;
	leg_media_open(&call->leg); /* the caller has our SDP */
	/* From now on the caller is expected to send. */
	rtp_watch_arm(&call->leg.watch, call->leg.rx_pkts,
		      pbx_clock_mono_ms());
	PLOG_INFO("answered: %s/%d, RTP %s -> %s%s",
		  offer_codec_name(call->leg.codec.law), call->leg.codec.pt,
		  leg_sa_str(leg_local(&call->leg), la, sizeof(la)),
		  leg_sa_str(&call->leg.raddr, ra, sizeof(ra)),
		  call->leg.can_send ? "" : " (not sending)");
	mwcall_emit(call, &ev);
	return 0;
}

int mwcall_progress_caller(struct mwcall *call)
{
	struct mbuf *mb = NULL;
	int err;

	if (call->answered || call->progress_sent)
		return 0;
	err = leg_encode_answer(&call->leg, &mb);
	if (!err)
		err = -sipsess_progress(call->sess, 183, "Session Progress",
					mb, MWCALL_ALLOW);
	mem_deref(mb);
	if (!err) {
		call->progress_sent = true;
		leg_media_open(&call->leg); /* early media may come */
	}
	return err;
}

int mwcall_answer(struct mwcall *call, uint64_t seq)
{
	return mwcall_answer_caller(call, seq);
}

int mwcall_reject(struct mwcall *call, uint16_t code, const char *reason)
{
	if (!call)
		return -EINVAL;
	if (call->answered)
		return -EALREADY;
	/* No header format: libre then ends the response with
	 * "Content-Length: 0" and the blank line. With one (even "") it
	 * leaves both to the format, and the response does not parse. */
	return -sipsess_reject(call->sess, code, reason, NULL);
}

int mwcall_play_start(struct mwcall *call, uint8_t *audio, size_t len,
		      uint32_t loops, enum call_play what, bool barge_in,
		      uint64_t seq)
{
	int err;

	if (!call->answered) {
		err = mwcall_answer_caller(call, seq);
		if (err)
			return err;
	}
	err = player_start_ref(&call->leg.out, audio, len, loops,
			       pbx_clock_mono_ms());
	if (err)
		return err;
	call->play_seq = seq;
	call->barge_in = barge_in;
	call->playing = what;
	err = pacer_add(call->env->pacer, &call->pe);
	if (err)
		mwcall_player_stop(call);
	return err;
}

int mwcall_play(struct mwcall *call, uint8_t *audio, size_t len,
		uint32_t loops, bool barge_in, uint64_t seq)
{
	return mwcall_play_start(call, audio, len, loops, PLAY_PROMPT, barge_in,
			  seq);
}

int mwcall_moh(struct mwcall *call, uint8_t *audio, size_t len, uint64_t seq)
{
	return mwcall_play_start(call, audio, len, PLAYER_FOREVER, PLAY_MOH, false,
			  seq);
}

int mwcall_hold_say(struct mwcall *call, uint8_t *audio, size_t len,
		    uint8_t *moh, size_t moh_len, uint64_t seq)
{
	mem_deref(call->hold_moh);
	call->hold_moh = mem_ref(moh);
	call->hold_moh_len = moh_len;
	return mwcall_play_start(call, audio, len, 1, PLAY_HOLD, false, seq);
}

bool mwcall_holding(const struct mwcall *call)
{
	return call->playing == PLAY_MOH || call->playing == PLAY_HOLD;
}

bool mwcall_playing_hold(const struct mwcall *call)
{
	return call->playing == PLAY_HOLD;
}

void mwcall_stop_play(struct mwcall *call)
{
	if (call->playing == PLAY_PROMPT || call->playing == PLAY_MOH ||
	    call->playing == PLAY_HOLD)
		mwcall_player_stop(call);
}

/* ---- timers ---- */

static void timer_handler(void *arg)
{
	struct call_timer *t = arg;
	struct mwcall *call = t->call;
	struct mwcall_event ev = {.kind = MWCALL_EV_TIMER, .timer_id = t->id};

	t->used = false;
	mwcall_log_ctx(call);
	PLOG_DEBUG("timer %u fired", t->id);
	mwcall_emit(call, &ev);
	pbx_log_ctx(NULL, NULL);
}

int mwcall_timer(struct mwcall *call, uint32_t id, uint32_t ms)
{
	struct call_timer *t = NULL, *free_slot = NULL;

	for (size_t i = 0; i < MWCALL_TIMERS_MAX; i++) {
		struct call_timer *c = &call->timers[i];

		if (c->used && c->id == id)
			t = c;
		else if (!c->used && !free_slot)
			free_slot = c;
	}
	if (!ms) {
		if (t) {
			tmr_cancel(&t->tmr);
			t->used = false;
		}
		return 0;
	}
	if (!t)
		t = free_slot;
	if (!t)
		return -ENOSPC;
	t->call = call;
	t->id = id;
	t->used = true;
	tmr_start(&t->tmr, ms, timer_handler, t);
	return 0;
}

/* ---- RTP inactivity ---- */

static void rtp_timeout(struct mwcall *call, const struct leg *l,
			const char *who, const char *detail)
{
	struct mwcall_event ev = {.kind = MWCALL_EV_CLOSED, .detail = detail};

	mwcall_log_ctx(call);
	PLOG_INFO("no RTP from the %s for %u ms (%llu packets in all): "
		  "hanging up",
		  who, call->env->rtp_timeout_ms,
		  (unsigned long long)l->rx_pkts);
	mwcall_record_stop(call, "rtp timeout");
	mwcall_fax_stop(call, "rtp timeout");
	mwcall_emit(call, &ev); /* frees the call: BYE to both legs */
	pbx_log_ctx(NULL, NULL);
}

bool mwcall_rtp_check(struct mwcall *call, uint64_t now_ms)
{
	uint32_t ms = call->env->rtp_timeout_ms;
	struct ring *ring = call->ring;

	if (rtp_watch_sweep(&call->leg.watch, call->leg.rx_pkts, now_ms, ms)) {
		rtp_timeout(call, &call->leg, "caller", "rtp timeout");
		return true;
	}
	/* Only armed once bridged: a ringing callee has its own timeout. */
	if (ring &&
	    rtp_watch_sweep(&ring->leg.watch, ring->leg.rx_pkts, now_ms, ms)) {
		rtp_timeout(call, &ring->leg, "callee", "callee rtp timeout");
		return true;
	}
	ring = call->xpeer;
	if (ring &&
	    rtp_watch_sweep(&ring->leg.watch, ring->leg.rx_pkts, now_ms, ms)) {
		rtp_timeout(call, &ring->leg, "callee",
			    "transfer target rtp timeout");
		return true;
	}
	return false;
}

/* ---- teardown and accessors ---- */

void mwcall_free(struct mwcall *call)
{
	if (!call)
		return;
	if (call->callid && call->leg.rtp) {
		mwcall_log_ctx(call);
		PLOG_INFO("call freed after %llu ms: rtp rx %llu pkts / %llu "
			  "bytes, tx %llu pkts, dropped %llu from other "
			  "sources",
			  (unsigned long long)(pbx_clock_mono_ms() -
					       call->start_ms),
			  (unsigned long long)call->leg.rx_pkts,
			  (unsigned long long)call->leg.rx_bytes,
			  (unsigned long long)call->leg.tx_pkts,
			  (unsigned long long)call->leg.latch.dropped);
	}
	ring_legs_cancel(call, NULL, false);
	ring_free(call->ring);
	call->ring = NULL;
	xfer_free(call);
	join_free(call);
	for (size_t i = 0; i < MWCALL_TIMERS_MAX; i++)
		tmr_cancel(&call->timers[i].tmr);
	tmr_cancel(&call->orig_tmr);
	mwcall_vm_free(call);
	/* Out of its room before the leg goes: the mix sends on it. */
	confroom_member_leave(call->conf);
	mwcall_fax_free(call);
	callrec_free(call->crec); /* not taken: discarded */
	mem_deref(call->crec_prompt);
	if (call->env)
		pacer_remove(call->env->pacer, &call->pe);
	/* Socket first: no RTP callback may reach a half-freed call. */
	leg_close(&call->leg);
	/* Sends BYE (or 486 if never answered); libre keeps the session
	 * alive by itself until that transaction ends. */
	mem_deref(call->sess);
	mem_deref(call->hold_moh);
	dtmf_detect_free(call->dtmf);
	free(call->tenant);
	free(call->callid);
	free(call->caller);
	free(call->dialed);
	free(call);
}

const char *mwcall_tenant(const struct mwcall *call)
{
	return call->tenant;
}

const char *mwcall_callid(const struct mwcall *call)
{
	return call->callid;
}

const char *mwcall_caller(const struct mwcall *call)
{
	return call->caller;
}

const char *mwcall_dialed(const struct mwcall *call)
{
	return call->dialed;
}

bool mwcall_playing_prompt(const struct mwcall *call)
{
	return call->playing == PLAY_PROMPT;
}

void mwcall_tap(struct mwcall *call, mwcall_tap_h *h, void *arg)
{
	call->tap = h;
	call->tap_arg = arg;
}

enum offer_law mwcall_law(const struct mwcall *call)
{
	return call->leg.codec.law;
}

bool mwcall_answered(const struct mwcall *call)
{
	return call->answered;
}

bool mwcall_in_conf(const struct mwcall *call)
{
	return call->conf != NULL;
}

bool mwcall_bridged(const struct mwcall *call)
{
	return call->ring && call->ring->bridged;
}
