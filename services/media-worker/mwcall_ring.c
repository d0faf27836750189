/* Ring: the callee leg (sipsess UAC through the edge proxy), ringback or
 * early media to the caller, the no-answer timeout, and once the callee
 * answers, the bridge (RTP both ways, DTMF relayed, hold answered
 * locally). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caller_id.h"
#include "callrec.h"
#include "mwcall_priv.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "ring_result.h"

enum { URI_MAX = 256, NAME_MAX_LEN = 64 };

void ring_free(struct ring *ring)
{
	if (!ring)
		return;
	tmr_cancel(&ring->tmr);
	if (ring->leg.rtp)
		PLOG_INFO("callee leg closed: rtp rx %llu pkts, tx %llu pkts, "
			  "dropped %llu from other sources",
			  (unsigned long long)ring->leg.rx_pkts,
			  (unsigned long long)ring->leg.tx_pkts,
			  (unsigned long long)ring->leg.latch.dropped);
	leg_close(&ring->leg);
	/* CANCEL while it rings, BYE once answered; libre keeps the
	 * session until that transaction ends. */
	mem_deref(ring->sess);
	free(ring);
}

/* The ring is over without a bridge: tell the router, leave the caller
 * as it is (answered or in early media) for the scenario to go on. */
static void ring_finish(struct ring *ring, int result, uint16_t code,
			const char *detail)
{
	struct mwcall *call = ring->call;
	struct mwcall_event ev = {
		.kind = MWCALL_EV_RING_RESULT,
		.seq = ring->seq,
		.sip_code = code,
		.detail = detail,
		.ring_result = result,
		.leg = ring->name[0] ? ring->name : NULL,
	};
	char name[MWCALL_LEG_MAX];

	PLOG_INFO("ring %llu%s%s: %s (%u %s)", (unsigned long long)ring->seq,
		  ring->name[0] ? " leg " : "", ring->name,
		  result == PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER
			  ? "no answer"
		  : result == PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY
			  ? "busy"
			  : "unavailable",
		  code, detail ? detail : "");
	if (ring->name[0]) {
		/* A named leg leaves what plays (music on hold) alone. */
		list_unlink(&ring->le);
		snprintf(name, sizeof(name), "%s", ring->name);
		ev.leg = name; /* the ring is freed before the event */
	} else {
		if (call->playing == PLAY_RINGBACK)
			mwcall_player_stop(call);
		call->ring = NULL;
	}
	ring_free(ring);
	mwcall_emit(call, &ev);
}

void ring_legs_cancel(struct mwcall *call, const struct ring *keep,
		      bool report)
{
	struct le *le = list_head(&call->legs);

	while (le) {
		struct ring *ring = le->data;
		struct mwcall_event ev = {
			.kind = MWCALL_EV_RING_RESULT,
			.seq = ring->seq,
			.detail = "another leg answered",
			.ring_result =
				PBX__V1__MEDIA_EVENT__RING_RESULT__RING_CANCELLED,
		};
		char name[MWCALL_LEG_MAX];

		le = le->next;
		if (ring == keep)
			continue;
		list_unlink(&ring->le);
		snprintf(name, sizeof(name), "%s", ring->name);
		ev.leg = name;
		ring_free(ring); /* CANCEL */
		if (report)
			mwcall_emit(call, &ev);
	}
}

int mwcall_ring_cancel(struct mwcall *call, const char *leg)
{
	struct ring *b = call->ring;
	int n = 0;

	if (!leg || !leg[0]) {
		n = (int)list_count(&call->legs);
		ring_legs_cancel(call, NULL, false);
		return n ? 0 : -ENOENT;
	}
	for (struct le *le = list_head(&call->legs); le; le = le->next) {
		struct ring *ring = le->data;

		if (!strcmp(ring->name, leg)) {
			list_unlink(&ring->le);
			ring_free(ring);
			return 0;
		}
	}
	if (b && b->name[0] && !strcmp(b->name, leg)) {
		/* An answer the queue refused: that agent goes, the caller
		 * stays for what the scenario does next. */
		PLOG_INFO("leg %s: bridge dropped", leg);
		call->ring = NULL;
		ring_free(b); /* BYE */
		return 0;
	}
	return -ENOENT;
}

void ring_from_caller(struct ring *ring, const struct mw_rtp_hdr *hdr,
		      const uint8_t *payload, size_t len, bool te,
		      uint64_t now_ms)
{
	leg_relay(&ring->leg, hdr, payload, len, ring->call->leg.codec.law, te,
		  now_ms);
}

static void callee_rx(const struct mw_rtp_hdr *hdr, const uint8_t *payload,
		      size_t len, void *arg)
{
	struct ring *ring = arg;
	struct mwcall *call = ring->call;
	const struct offer_codec *c = &ring->leg.codec;
	bool te;

	if (!ring->bridged && (!ring->early || ring->name[0] || ring->xfer))
		return; /* no SDP answer yet: we do not know the stream; a
			 * named leg's caller hears its music meanwhile */
	te = c->te_pt >= 0 && hdr->pt == c->te_pt;
	if (!te && hdr->pt != c->pt)
		return;
	if (ring->peer) {
		leg_relay(&ring->peer->leg, hdr, payload, len, c->law, te,
			  pbx_clock_mono_ms());
		return;
	}
	if (ring->bridged && call->ring != ring)
		return; /* a transferor's leg on its way out */
	if (!ring->bridged && !ring->early_flowing) {
		/* Early media replaces our ringback from its first packet,
		 * not from the 183: some send SDP long before audio. */
		ring->early_flowing = true;
		if (call->playing == PLAY_RINGBACK)
			mwcall_player_stop(call);
	}
	if (ring->bridged && !te && call->ring == ring)
		callrec_audio(call->crec, CALLREC_CALLEE, payload, len, c->law);
	/* A prompt to the caller (the router's) takes precedence. */
	if (call->playing != PLAY_NONE)
		return;
	leg_relay(&call->leg, hdr, payload, len, c->law, te,
		  pbx_clock_mono_ms());
}

static int ring_offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			      void *arg)
{
	struct ring *ring = arg;
	const char *why;
	char a[64];
	int err;

	mwcall_log_ctx(ring->call);
	err = leg_take_offer(&ring->leg, msg->mb, descp, &why);
	if (err)
		PLOG_WARN("re-INVITE from the callee refused: %s",
			  why ? why : strerror(-err));
	else
		PLOG_INFO("re-INVITE from the callee: %s/%d to %s%s",
			  offer_codec_name(ring->leg.codec.law),
			  ring->leg.codec.pt,
			  leg_sa_str(&ring->leg.raddr, a, sizeof(a)),
			  ring->leg.can_send ? "" : " (not sending: hold)");
	pbx_log_ctx(NULL, NULL);
	return err ? -err : 0;
}

static int ring_answer_handler(const struct sip_msg *msg, void *arg)
{
	struct ring *ring = arg;
	int err;

	mwcall_log_ctx(ring->call);
	err = leg_take_answer(&ring->leg, msg->mb);
	if (err)
		PLOG_WARN("callee's SDP answer unusable: %s", strerror(-err));
	pbx_log_ctx(NULL, NULL);
	return err ? EPROTO : 0;
}

static void ring_progress_handler(const struct sip_msg *msg, void *arg)
{
	struct ring *ring = arg;

	if (msg->scode <= 100 || msg->scode == ring->progress)
		return;
	ring->progress = msg->scode;
	mwcall_log_ctx(ring->call);
	if (!ring->early && mbuf_get_left(msg->mb) &&
	    msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		int err = leg_take_answer(&ring->leg, msg->mb);

		if (err)
			PLOG_WARN("callee's early SDP unusable: %s",
				  strerror(-err));
		else
			ring->early = true;
	}
	PLOG_INFO("ring %llu: callee %u%s", (unsigned long long)ring->seq,
		  msg->scode, ring->early ? " (early media)" : "");
	pbx_log_ctx(NULL, NULL);
}

static void ring_estab_handler(const struct sip_msg *msg, void *arg)
{
	struct ring *ring = arg;
	struct mwcall *call = ring->call;
	struct mwcall_event ev = {
		.kind = MWCALL_EV_RING_RESULT,
		.seq = ring->seq,
		.sip_code = msg ? msg->scode : 200,
		.ring_result =
			PBX__V1__MEDIA_EVENT__RING_RESULT__RING_ANSWERED,
	};
	char a[64], b[64];

	mwcall_log_ctx(call);
	if (xfer_ring_answered(ring)) {
		pbx_log_ctx(NULL, NULL);
		return;
	}
	tmr_cancel(&ring->tmr);
	ring->bridged = true;
	rtp_watch_arm(&ring->leg.watch, ring->leg.rx_pkts,
		      pbx_clock_mono_ms());
	if (ring->name[0]) {
		/* The first named leg to answer takes the call: the others
		 * stop ringing, the music stops. */
		ev.leg = ring->name;
		list_unlink(&ring->le);
		call->ring = ring;
		ring_legs_cancel(call, ring, true);
		if (call->playing != PLAY_NONE)
			mwcall_player_stop(call);
	}
	if (call->playing == PLAY_RINGBACK)
		mwcall_player_stop(call);
	relay_resync(&call->leg.relay);
	relay_resync(&ring->leg.relay);
	if (!call->answered && mwcall_answer_caller(call, ring->seq)) {
		struct mwcall_event closed = {
			.kind = MWCALL_EV_CLOSED,
			.detail = "cannot answer the caller",
		};

		mwcall_emit(call, &closed); /* frees the call and ring */
		pbx_log_ctx(NULL, NULL);
		return;
	}
	if (call->crec && callrec_start(call->crec, pbx_clock_now_ms()))
		PLOG_WARN("recording: cannot start mixing: not recorded");
	else if (call->crec)
		snprintf(call->crec_leg, sizeof(call->crec_leg), "%s",
			 ring->name);
	if (call->crec_prompt) {
		/* "This call is recorded": the caller hears it first, then
		 * the callee (whose audio waits behind the prompt). */
		if (mwcall_play_start(call, call->crec_prompt,
				      call->crec_prompt_len, 1, PLAY_PROMPT,
				      false, ring->seq))
			PLOG_WARN("recording: announcement not played");
		call->crec_prompt = mem_deref(call->crec_prompt);
	}
	PLOG_INFO("ring %llu: answered, bridged: caller %s/%d %s <-> callee "
		  "%s/%d %s%s",
		  (unsigned long long)ring->seq,
		  offer_codec_name(call->leg.codec.law), call->leg.codec.pt,
		  leg_sa_str(&call->leg.raddr, a, sizeof(a)),
		  offer_codec_name(ring->leg.codec.law), ring->leg.codec.pt,
		  leg_sa_str(&ring->leg.raddr, b, sizeof(b)),
		  call->leg.codec.law != ring->leg.codec.law ? " (transcoding)"
							     : "");
	mwcall_emit(call, &ev);
	pbx_log_ctx(NULL, NULL);
}

static void ring_info_handler(struct sip *sip, const struct sip_msg *msg,
			      void *arg)
{
	struct ring *ring = arg;
	struct mwcall *call = ring->call;
	char digit;

	mwcall_log_ctx(call);
	/* The callee's digits are for the caller, not for the scenario. */
	digit = mwcall_info_digit(sip, msg);
	if (digit && ring->peer)
		mwcall_info_send(ring->peer->sess, digit);
	else if (digit && call->answered && call->sess)
		mwcall_info_send(call->sess, digit);
	pbx_log_ctx(NULL, NULL);
}

int mwcall_leg_failure(int err, const struct sip_msg *msg, uint16_t *code,
		       char *detail, size_t size)
{
	int result = ring_result_of(msg && msg->scode >= 300 ? msg->scode : 0,
				    err, code);

	if (msg && msg->scode >= 300)
		re_snprintf(detail, size, "%u %r", msg->scode, &msg->reason);
	else
		re_snprintf(detail, size, "%s", err ? strerror(err) : "closed");
	return result;
}

static void ring_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct ring *ring = arg;
	struct mwcall *call = ring->call;
	char detail[96];
	uint16_t code;
	int result;

	mwcall_log_ctx(call);
	if (ring->bridged && xfer_transferor_closed(ring)) {
		pbx_log_ctx(NULL, NULL);
		return;
	}
	if (ring->bridged) {
		struct mwcall_event ev = {
			.kind = MWCALL_EV_CLOSED,
			.detail = err == ECONNRESET ? "callee hung up"
						    : "callee leg failed",
		};

		PLOG_INFO("callee side closed: %s",
			  err == ECONNRESET ? "BYE" : strerror(err));
		mwcall_emit(call, &ev); /* frees the call and ring */
		pbx_log_ctx(NULL, NULL);
		return;
	}
	result = mwcall_leg_failure(err, msg, &code, detail, sizeof(detail));
	if (!xfer_ring_failed(ring, result, code, detail))
		ring_finish(ring, result, code, detail);
	pbx_log_ctx(NULL, NULL);
}

static void ring_timeout_handler(void *arg)
{
	struct ring *ring = arg;
	char detail[64];

	mwcall_log_ctx(ring->call);
	re_snprintf(detail, sizeof(detail), "no answer within %u ms",
		    ring->timeout_ms);
	if (!xfer_ring_failed(ring,
			      PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER,
			      0, detail))
		ring_finish(ring,
			    PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER,
			    0, detail); /* mem_deref of the session: CANCEL */
	pbx_log_ctx(NULL, NULL);
}

void ring_arm(struct ring *ring)
{
	tmr_start(&ring->tmr, ring->timeout_ms, ring_timeout_handler, ring);
}

/* ---- parameters: everything here goes into SIP headers ---- */

bool mwcall_uri_ok(const char *s, struct uri *u, struct pl *pl)
{
	size_t n = strlen(s);

	if (!n || n > URI_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
			return false;
	}
	if (strncasecmp(s, "sip:", 4) && strncasecmp(s, "sips:", 5))
		return false;
	pl_set_str(pl, s);
	return !uri_decode(u, pl) && u->host.l;
}

bool mwcall_token_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

int mwcall_from_external(const struct mwcall_env *env, const char *cid,
			 char *from_uri, size_t size)
{
	char caller_id[CALLER_ID_SIZE];
	struct pl edge;
	struct uri eu;

	caller_id_external(caller_id, sizeof(caller_id), cid);
	pl_set_str(&edge, env->edge_uri);
	if (uri_decode(&eu, &edge) || !pl_isset(&eu.host))
		return -EINVAL;
	re_snprintf(from_uri, size, "sip:%s@%r", caller_id, &eu.host);
	return 0;
}

int mwcall_ring(struct mwcall *call, const struct mwcall_ring *p,
		const char **why)
{
	struct ring *ring;
	bool named;
	int err;

	*why = NULL;
	named = p->leg && p->leg[0];
	/* A member's audio is the room's: a bridge would mix two worlds. */
	if (call->conf) {
		*why = "in a conference";
		return -EALREADY;
	}
	if (call->ring) {
		*why = call->ring->bridged ? "already bridged"
					   : "a ring is in progress";
		return call->ring->bridged ? -EALREADY : -EBUSY;
	}
	if (call->xfer_pending || call->xfer) {
		*why = "a transfer is in progress";
		return -EBUSY;
	}
	if (!named && !list_isempty(&call->legs)) {
		*why = "a ring is in progress";
		return -EBUSY;
	}
	if (named) {
		if (!mwcall_token_ok(p->leg, MWCALL_LEG_MAX - 1, "-_.:@+")) {
			*why = "bad leg";
			return -EINVAL;
		}
		for (struct le *le = list_head(&call->legs); le;
		     le = le->next) {
			if (!strcmp(((struct ring *)le->data)->name, p->leg)) {
				*why = "leg already ringing";
				return -EBUSY;
			}
		}
	}
	err = ring_originate(call, p, &ring, why);
	if (err)
		return err;
	if (named) {
		/* The caller keeps hearing what plays (music on hold). */
		list_append(&call->legs, &ring->le, ring);
		ring_arm(ring);
		return 0;
	}
	call->ring = ring;

	/* Ringback: on a call not answered yet it is early media, which
	 * needs our SDP in a 183 first. A prompt playing now stops. */
	err = mwcall_progress_caller(call);
	if (err)
		PLOG_WARN("183 to the caller failed: %s; no ringback",
			  strerror(-err));
	else if (call->env->ringback_len[call->leg.codec.law])
		mwcall_ringback_start(call);
	ring_arm(ring);
	return 0;
}

int ring_originate(struct mwcall *call, const struct mwcall_ring *p,
		   struct ring **ringp, const char **why)
{
	const struct mwcall_env *env = call->env;
	/* Every leg goes through the edge; an empty edge_uri (only the
	 * in-process tests: the config requires one) rings target_uri
	 * directly, so that they can ring several agents. */
	const char *routev[1] = {env->edge_uri};
	const char *kind;
	char from_uri[URI_MAX + CALLER_ID_SIZE + 8], name[NAME_MAX_LEN + 1];
	char caller_id[CALLER_ID_SIZE];
	struct mbuf *offer = NULL;
	struct ring *ring;
	struct uri u;
	struct pl pl, from_host;
	const char *cid_src;
	bool named;
	int err;

	*why = NULL;
	named = p->leg && p->leg[0];
	if (!p->target_uri || !mwcall_uri_ok(p->target_uri, &u, &pl)) {
		*why = "bad target_uri";
		return -EINVAL;
	}
	/* Cleaned, not refused: "+7(916)000-00-02" from a list is a fine
	 * caller id, and an injection attempt becomes harmless. A caller
	 * the edge did not authenticate as an extension is shown as an
	 * external number (or "anonymous") at the edge's host, never as
	 * <id>@<tenant domain>: that is what an internal call looks like,
	 * and an outsider's From "201@<tenant domain>" must not pass for
	 * extension 201. */
	cid_src = p->caller_id && p->caller_id[0] ? p->caller_id
						  : call->caller;
	kind = p->dest_kind && p->dest_kind[0] ? p->dest_kind : "extension";
	if (!mwcall_token_ok(kind, 32, "-_")) {
		*why = "bad dest_kind";
		return -EINVAL;
	}
	/* A carrier sees a number at the edge, never an extension at the
	 * tenant's domain, whoever calls (an outbound call shows the
	 * tenant's number the router chose). */
	if (call->caller_internal && strcmp(kind, "external") &&
	    strcmp(kind, "mobile")) {
		caller_id_clean(caller_id, sizeof(caller_id), cid_src);
		from_host = u.host;
		re_snprintf(from_uri, sizeof(from_uri), "sip:%s@%r",
			    caller_id, &from_host);
	} else if (mwcall_from_external(env, cid_src, from_uri,
					sizeof(from_uri))) {
		*why = "bad edge_uri";
		return -EINVAL;
	}
	caller_name_clean(name, sizeof(name), p->caller_name);

	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	ring->call = call;
	ring->seq = p->seq;
	if (named)
		snprintf(ring->name, sizeof(ring->name), "%s", p->leg);
	ring->timeout_ms =
		p->timeout_ms && p->timeout_ms < env->ring_timeout_max_ms
			? p->timeout_ms
			: env->ring_timeout_max_ms;
	tmr_init(&ring->tmr);
	err = leg_open(&ring->leg, env, "callee", call->tenant, call->callid,
		       callee_rx, ring);
	if (err) {
		free(ring);
		*why = "no RTP port";
		return err;
	}
	/* The caller's law first: no transcoding when the callee can. */
	err = leg_offer(&ring->leg, call->leg.codec.law, &offer);
	if (!err)
		err = -sipsess_connect(
			&ring->sess, env->sock, p->target_uri,
			name[0] ? name : NULL, from_uri, env->cuser, routev,
			env->edge_uri[0] ? 1 : 0,
			"application/sdp", offer, NULL, NULL, false,
			ring_offer_handler, ring_answer_handler,
			ring_progress_handler, ring_estab_handler,
			ring_info_handler, ring_refer_handler,
			ring_close_handler, ring,
			"X-Pbx-Tenant: %s\r\nX-Pbx-Dest: %s\r\n"
			"X-Pbx-Call: %s\r\n" MWCALL_ALLOW,
			call->tenant, kind, call->callid);
	mem_deref(offer);
	if (err) {
		*why = "cannot send the INVITE";
		ring_free(ring);
		return err;
	}
	ring->ext = !strcmp(kind, "extension");
	re_snprintf(ring->user, sizeof(ring->user), "%r", &u.user);
	PLOG_INFO("ring %llu%s%s: %s (%s) from %s, %u ms",
		  (unsigned long long)ring->seq, named ? " leg " : "",
		  ring->name, p->target_uri, kind, from_uri, ring->timeout_ms);
	*ringp = ring;
	return 0;
}

/* ---- recording of the bridge ---- */

int mwcall_record_call(struct mwcall *call, struct recorder *rec,
		       uint32_t max_ms, uint8_t *prompt, size_t prompt_len)
{
	struct callrec *cr;
	int err;

	if (!call || !rec)
		return -EINVAL;
	if (call->crec)
		return -EALREADY;
	err = callrec_alloc(&cr, rec, call->env ? call->env->pacer : NULL,
			    max_ms);
	if (err)
		return err;
	call->crec = cr;
	if (prompt && prompt_len) {
		call->crec_prompt = mem_ref(prompt);
		call->crec_prompt_len = prompt_len;
	}
	/* Already bridged (a RecordCall after the answer): from now on. */
	if (call->ring && call->ring->bridged) {
		snprintf(call->crec_leg, sizeof(call->crec_leg), "%s",
			 call->ring->name);
		return callrec_start(cr, pbx_clock_now_ms());
	}
	return 0;
}

const char *mwcall_callrec_leg(const struct mwcall *call)
{
	return call ? call->crec_leg : "";
}

struct recorder *mwcall_callrec_take(struct mwcall *call, uint64_t *start_ms)
{
	struct callrec *cr = call ? call->crec : NULL;

	if (!cr)
		return NULL;
	call->crec = NULL;
	if (start_ms)
		*start_ms = callrec_start_ms(cr);
	return callrec_finish(cr);
}
