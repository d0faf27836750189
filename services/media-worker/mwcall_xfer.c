/* Transfer (issue 16, docs/employees.md "Transfer"): the REFER of an
 * extension on a bridged call, checked here, on either leg. Blind: 202,
 * NOTIFYs (message/sipfrag, one at a time) to the transferor, ringback to
 * the transferred party, the router's target rung as a second callee leg;
 * on its answer it replaces the transferor's leg (the callee's REFER) or
 * is bridged to the callee while the caller leg ends (the caller's
 * REFER); a failure returns the call to the transferor. Attended
 * (Refer-To with Replaces, the callee's REFER): the transferor's other
 * call on this worker gives its callee leg to this call, and both of the
 * transferor's legs end. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mwcall_priv.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "ring_result.h"

/* Bounds of what a REFER may carry (every byte of it comes from a
 * phone). */
enum {
	XFER_REFER_TO_MAX = 512,
	XFER_USER_MAX = 64,
	XFER_HOST_MAX = 255,
	XFER_REPLACES_MAX = 300,
	XFER_NOTIFY_DELAY_MS = 50,
};

#define RR(x) PBX__V1__MEDIA_EVENT__RING_RESULT__RING_##x

static void notify_send(struct mwcall *call, uint16_t code,
			const char *reason, bool final);

/* The transferor's leg, replaced: its BYE (ring_free) once the final
 * NOTIFY was answered; now when there is none to wait for. */
static void drop_transferor(struct mwcall *call, struct ring *old)
{
	if (!old)
		return;
	if (call->xreq || call->xnext_set) {
		ring_free(call->xold);
		call->xold = old;
		return;
	}
	ring_free(old);
}

static void ring_send(const uint8_t *pkt, size_t len, void *arg)
{
	leg_send(arg, pkt, len);
}

void xfer_ringback_tick(struct mwcall *call, uint64_t periods,
			uint64_t now_ms)
{
	struct leg *l = call->ring ? &call->ring->leg : NULL;

	if (l && l->can_send)
		player_tick(&l->out, periods, now_ms, ring_send, l);
	else if (l)
		player_skip(&l->out, periods);
}

/* The callee transferred by the caller hears ringback on its own leg
 * (the call's pacer entry: nothing else plays on a bridged call). */
static void callee_ringback_start(struct mwcall *call)
{
	struct ring *b = call->ring;
	enum offer_law law;

	if (!b || call->playing != PLAY_NONE || call->fax.rx || call->xrb)
		return;
	law = b->leg.codec.law;
	if (!call->env->ringback_len[law] ||
	    player_start_loop(&b->leg.out, call->env->ringback[law],
			      call->env->ringback_len[law],
			      pbx_clock_mono_ms()))
		return;
	if (pacer_add(call->env->pacer, &call->pe)) {
		player_stop(&b->leg.out);
		return;
	}
	call->xrb = true;
}

static void callee_ringback_stop(struct mwcall *call)
{
	if (!call->xrb)
		return;
	call->xrb = false;
	if (call->playing == PLAY_NONE && call->env)
		pacer_remove(call->env->pacer, &call->pe);
	if (call->ring) {
		player_stop(&call->ring->leg.out);
		relay_resync(&call->ring->leg.relay);
	}
}

/* The caller leg, a transferor's, ends (BYE): the call goes on between
 * its two callee legs. */
static void drop_caller(struct mwcall *call)
{
	call->xdrop_caller = false;
	/* The pacer entry stays while it plays the callee's ringback. */
	if (call->env && !call->xrb)
		pacer_remove(call->env->pacer, &call->pe);
	call->playing = PLAY_NONE;
	leg_close(&call->leg); /* the codec stays: relays read its law */
	call->leg.can_send = false; /* a later Play sends nothing */
	call->leg.watch.armed = false;
	call->sess = mem_deref(call->sess);
	PLOG_INFO("transfer: the transferor's (caller) leg ended");
}

static void notify_resp(int err, const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;

	if (!err && msg && msg->scode < 200)
		return;
	mwcall_log_ctx(call);
	call->xreq = NULL;
	if (err)
		PLOG_INFO("transfer NOTIFY: %s", strerror(err));
	else if (msg->scode >= 300)
		PLOG_INFO("transfer NOTIFY answered %u", msg->scode);
	if (call->xnext_set) {
		call->xnext_set = false;
		notify_send(call, call->xnext_code, call->xnext_reason,
			    call->xnext_final);
	}
	if (!call->xreq && !call->xnext_set && call->xfinal_sent) {
		ring_free(call->xold); /* BYE to the transferor */
		call->xold = NULL;
		if (call->xdrop_caller)
			drop_caller(call);
		call->xdlg = mem_deref(call->xdlg);
		call->xsip = NULL;
	}
	pbx_log_ctx(NULL, NULL);
}

static void notify_send(struct mwcall *call, uint16_t code,
			const char *reason, bool final)
{
	char frag[128];
	int err;

	re_snprintf(frag, sizeof(frag), "SIP/2.0 %u %s\r\n", code, reason);
	err = sip_drequestf(&call->xreq, call->xsip, true, "NOTIFY",
			    call->xdlg, 0, NULL, NULL, notify_resp, call,
			    "Event: refer\r\n"
			    "Subscription-State: %s\r\n"
			    "Content-Type: message/sipfrag;version=2.0\r\n"
			    "Content-Length: %zu\r\n"
			    "\r\n"
			    "%s",
			    final ? "terminated;reason=noresource"
				  : "active;expires=60",
			    strlen(frag), frag);
	if (final)
		call->xfinal_sent = true;
	if (err) {
		PLOG_WARN("transfer NOTIFY %u not sent: %s", code,
			  strerror(err));
		call->xreq = NULL;
		if (final) { /* no answer will come to wait for */
			call->xdlg = mem_deref(call->xdlg);
			call->xsip = NULL;
		}
	}
}

static void notify_release(void *arg)
{
	struct mwcall *call = arg;

	call->xhold = false;
	if (!call->xnext_set || call->xreq)
		return;
	mwcall_log_ctx(call);
	call->xnext_set = false;
	notify_send(call, call->xnext_code, call->xnext_reason,
		    call->xnext_final);
	pbx_log_ctx(NULL, NULL);
}

static void notify_hold(struct mwcall *call)
{
	call->xhold = true;
	tmr_start(&call->xtmr, XFER_NOTIFY_DELAY_MS, notify_release, call);
}

/* The implicit subscription of the REFER (RFC 3515): the progress of the
 * transfer as a sipfrag, one NOTIFY at a time; the final one ends it. */
static void xfer_notify(struct mwcall *call, uint16_t code,
			const char *reason, bool final)
{
	if (!call->xdlg || !call->xsip || call->xfinal_sent ||
	    (call->xnext_set && call->xnext_final))
		return;
	if (call->xreq || call->xhold) {
		call->xnext_set = true;
		call->xnext_final = final;
		call->xnext_code = code;
		snprintf(call->xnext_reason, sizeof(call->xnext_reason), "%s",
			 reason);
		return;
	}
	notify_send(call, code, reason, final);
}

static void emit_done(struct mwcall *call, int result, uint16_t code,
		      const char *detail)
{
	struct mwcall_event ev = {
		.kind = MWCALL_EV_TRANSFER_DONE,
		.ring_result = result,
		.sip_code = code,
		.detail = detail,
	};

	mwcall_emit(call, &ev);
}

/* The transfer is over without a new bridge. With the transferor still
 * there the caller is bridged back to it; without, the call ends. Returns
 * false when the call is gone. */
static bool back_to_transferor(struct mwcall *call, const char *why)
{
	struct mwcall_event closed = {
		.kind = MWCALL_EV_CLOSED,
		.detail = why,
		.ended = true,
	};

	call->xfer_pending = false;
	callee_ringback_stop(call);
	if (call->playing == PLAY_RINGBACK)
		mwcall_player_stop(call);
	if (call->xby_caller ? call->sess != NULL : call->ring != NULL) {
		relay_resync(&call->leg.relay);
		relay_resync(&call->ring->leg.relay);
		PLOG_INFO("transfer: back to the transferor");
		return true;
	}
	PLOG_INFO("transfer failed and the transferor is gone: ending");
	mwcall_emit(call, &closed); /* frees the call */
	return false;
}

void xfer_free(struct mwcall *call)
{
	tmr_cancel(&call->xtmr);
	ring_free(call->xfer);
	call->xfer = NULL;
	ring_free(call->xold);
	call->xold = NULL;
	ring_free(call->xpeer);
	call->xpeer = NULL;
	/* A NOTIFY in flight is cancelled: no handler follows. */
	call->xreq = mem_deref(call->xreq);
	call->xdlg = mem_deref(call->xdlg);
}

bool xfer_ring_answered(struct ring *ring)
{
	struct mwcall *call = ring->call;
	struct ring *old = call->ring;

	if (!ring->xfer || call->xfer != ring)
		return false;
	tmr_cancel(&ring->tmr);
	call->xfer = NULL;
	ring->xfer = false;
	ring->bridged = true;
	rtp_watch_arm(&ring->leg.watch, ring->leg.rx_pkts,
		      pbx_clock_mono_ms());
	if (call->xby_caller) {
		/* The callee and the target, the caller leg out. */
		callee_ringback_stop(call);
		ring->peer = old;
		old->peer = ring;
		call->xpeer = ring;
		relay_resync(&old->leg.relay);
		relay_resync(&ring->leg.relay);
		xfer_notify(call, 200, "OK", true);
		if (call->xreq || call->xnext_set)
			call->xdrop_caller = true;
		else if (call->sess)
			drop_caller(call);
		PLOG_INFO("transfer: %s answered, bridged to the callee",
			  ring->user);
		emit_done(call, RR(ANSWERED), 200, "transferred");
		return true;
	}
	if (call->playing == PLAY_RINGBACK)
		mwcall_player_stop(call);
	xfer_notify(call, 200, "OK", true);
	call->ring = ring;
	drop_transferor(call, old);
	relay_resync(&call->leg.relay);
	relay_resync(&ring->leg.relay);
	PLOG_INFO("transfer: %s answered, bridged; transferor's leg ended",
		  ring->user);
	emit_done(call, RR(ANSWERED), 200, "transferred");
	return true;
}

bool xfer_ring_failed(struct ring *ring, int result, uint16_t code,
		      const char *detail)
{
	struct mwcall *call = ring->call;

	if (!ring->xfer || call->xfer != ring)
		return false;
	call->xfer = NULL;
	ring_free(ring); /* CANCEL while it rings */
	PLOG_INFO("transfer failed: %s", detail ? detail : "");
	xfer_notify(call,
		    code >= 300		      ? code
		    : result == RR(NO_ANSWER) ? 408
					      : 480,
		    code >= 300		      ? "Transfer Failed"
		    : result == RR(NO_ANSWER) ? "Request Timeout"
					      : "Temporarily Unavailable",
		    true);
	emit_done(call, result, code, detail);
	back_to_transferor(call, "transfer failed, transferor gone");
	return true;
}

/* The transferor is gone: no more NOTIFYs (one in flight is cancelled,
 * one waiting dropped). */
static void sub_end(struct mwcall *call)
{
	call->xreq = mem_deref(call->xreq);
	tmr_cancel(&call->xtmr);
	call->xhold = call->xnext_set = false;
	call->xdlg = mem_deref(call->xdlg);
	call->xsip = NULL;
}

bool xfer_transferor_closed(struct ring *ring)
{
	struct mwcall *call = ring->call;

	if (ring == call->xold) {
		/* It hung up after the transfer, before our BYE. */
		call->xold = NULL;
		sub_end(call);
		ring_free(ring);
		return true;
	}
	if (call->ring != ring || (!call->xfer_pending && !call->xfer))
		return false;
	/* Phones often hang up once the 202 or the first NOTIFY is in: the
	 * caller stays with the transfer (no way back then). */
	PLOG_INFO("transferor hung up during the transfer");
	call->ring = NULL;
	sub_end(call);
	ring_free(ring);
	return true;
}

bool xfer_caller_closed(struct mwcall *call)
{
	if (!call->xby_caller ||
	    (!call->xfer_pending && !call->xfer && !call->xdrop_caller &&
	     !call->xpeer))
		return false;
	/* As a callee transferor may: the transfer goes on (or is done). */
	PLOG_INFO("transferor (caller) hung up during the transfer");
	sub_end(call);
	drop_caller(call);
	return true;
}

int mwcall_transfer(struct mwcall *call, const struct mwcall_ring *p,
		    const char **why)
{
	struct mwcall_ring q = *p;
	struct ring *ring;
	int err;

	*why = NULL;
	if (!call->xfer_pending) {
		*why = "no transfer waits";
		return -ENOENT;
	}
	q.leg = NULL;
	/* The target sees who is transferred to it: the caller, or the
	 * callee the caller transfers (its number as we rang it). */
	if (call->xby_caller && (!q.caller_id || !q.caller_id[0]) &&
	    call->ring)
		q.caller_id = call->ring->user;
	err = ring_originate(call, &q, &ring, why);
	if (err) {
		PLOG_WARN("transfer: cannot ring %s: %s", p->target_uri,
			  *why ? *why : strerror(-err));
		xfer_notify(call, 503, "Service Unavailable", true);
		back_to_transferor(call, "transfer failed, transferor gone");
		return err;
	}
	call->xfer_pending = false;
	ring->xfer = true;
	call->xfer = ring;
	ring_arm(ring);
	return 0;
}

int mwcall_transfer_refuse(struct mwcall *call, uint16_t code,
			   const char *reason)
{
	if (!call->xfer_pending)
		return -ENOENT;
	PLOG_INFO("transfer refused: %u %s", code, reason);
	xfer_notify(call, code, reason, true);
	back_to_transferor(call, "transfer refused, transferor gone");
	return 0;
}

/* ---- the REFER ---- */

static void refuse(struct sip *sip, const struct sip_msg *msg, uint16_t code,
		   const char *reason)
{
	PLOG_INFO("REFER refused: %u %s", code, reason);
	(void)sip_reply(sip, msg, code, reason);
}

/* Percent-decoding of a URI header's value into buf (NUL-ended). */
static bool unescape(char *buf, size_t size, const struct pl *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->l; i++) {
		char c = v->p[i];

		if (c == '%') {
			char h[3] = {0};

			if (i + 2 >= v->l || !isxdigit((unsigned char)v->p[i + 1]) ||
			    !isxdigit((unsigned char)v->p[i + 2]))
				return false;
			h[0] = v->p[i + 1];
			h[1] = v->p[i + 2];
			c = (char)strtol(h, NULL, 16);
			i += 2;
		}
		if ((unsigned char)c < 0x21 || n + 1 >= size)
			return false;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return n > 0;
}

/* Attended: the transferor's call to the target on this worker (Call-ID
 * from Replaces) gives up its callee leg; this call's callee leg (the
 * transferor) and that call (the transferor's caller leg) end. */
static void attended(struct sip *sip, const struct sip_msg *msg,
		     struct ring *ring, const struct pl *rv)
{
	struct mwcall *call = ring->call;
	char rep[XFER_REPLACES_MAX + 1], *semi;
	struct mwcall *other;
	struct ring *b;
	struct mwcall_event ended = {
		.kind = MWCALL_EV_CLOSED,
		.detail = "replaced by an attended transfer",
		.ended = true,
	};

	if (rv->l > XFER_REPLACES_MAX || !unescape(rep, sizeof(rep), rv)) {
		refuse(sip, msg, 400, "Bad Replaces");
		return;
	}
	semi = strchr(rep, ';');
	if (semi)
		*semi = '\0';
	other = mwcall_join_find(call, rep);
	if (!other) {
		refuse(sip, msg, 488,
		       "Not Acceptable Here (the replaced call is not on "
		       "this media worker)");
		return;
	}
	b = other->ring;
	if (!other->caller_internal || strcmp(other->caller, ring->user) ||
	    !b || !b->bridged || other->xfer || other->xfer_pending ||
	    other->conf) {
		refuse(sip, msg, 403,
		       "Forbidden (the replaced call is not the "
		       "transferor's bridged call)");
		return;
	}
	(void)sip_reply(sip, msg, 202, "Accepted");
	call->xsip = sip;
	call->xdlg = mem_ref(sipsess_dialog(ring->sess));
	call->xfinal_sent = call->xnext_set = false;
	notify_hold(call);
	xfer_notify(call, 200, "OK", true);
	/* B's leg moves: its socket and session keep `b` as their
	 * argument; its log names must outlive the other call. */
	other->ring = NULL;
	b->call = call;
	b->leg.tenant = call->tenant;
	b->leg.callid = call->callid;
	call->ring = b;
	drop_transferor(call, ring); /* BYE to the transferor (this call) */
	if (call->playing == PLAY_RINGBACK)
		mwcall_player_stop(call);
	relay_resync(&call->leg.relay);
	relay_resync(&b->leg.relay);
	PLOG_INFO("attended transfer: bridged to %s of call %s", b->user,
		  other->callid);
	emit_done(call, RR(ANSWERED), 200, "attended transfer");
	mwcall_log_ctx(other);
	PLOG_INFO("callee leg given to call %s (attended transfer)",
		  call->callid);
	mwcall_emit(other, &ended); /* frees it: BYE to the transferor */
}

/* A REFER of the transferor, on its leg: dlg its dialog, by its user;
 * ring the callee leg it came on (NULL: the caller leg). Checks, then
 * attended (Replaces) or blind: 202, NOTIFY 100, TRANSFER. */
static void refer(struct mwcall *call, struct sip *sip,
		  const struct sip_msg *msg, struct ring *ring,
		  struct sip_dialog *dlg, const char *by)
{
	const struct sip_hdr *rt;
	struct sip_addr addr;
	struct pl rv, rname = PL("Replaces");
	char user[XFER_USER_MAX + 1], host[XFER_HOST_MAX + 1];
	struct mwcall_event ev = {.kind = MWCALL_EV_TRANSFER};

	if (!call->ring || !call->ring->bridged || call->conf ||
	    (ring && call->ring != ring)) {
		refuse(sip, msg, 403, "Forbidden (not a bridged call)");
		return;
	}
	if (call->xfer_pending || call->xfer || call->xreq || call->xold ||
	    call->xpeer || call->xdrop_caller) {
		refuse(sip, msg, 491, "Request Pending");
		return;
	}
	rt = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	if (!rt || sip_msg_hdr_count(msg, SIP_HDR_REFER_TO) != 1) {
		refuse(sip, msg, 400, "Bad Request (one Refer-To)");
		return;
	}
	if (rt->val.l > XFER_REFER_TO_MAX) {
		refuse(sip, msg, 400, "Bad Request (Refer-To too long)");
		return;
	}
	if (sip_addr_decode(&addr, &rt->val) ||
	    (pl_strcasecmp(&addr.uri.scheme, "sip") &&
	     pl_strcasecmp(&addr.uri.scheme, "sips")) ||
	    !addr.uri.user.l || addr.uri.user.l > XFER_USER_MAX ||
	    !addr.uri.host.l || addr.uri.host.l > XFER_HOST_MAX) {
		refuse(sip, msg, 400, "Bad Request (Refer-To)");
		return;
	}
	if (addr.uri.headers.l &&
	    !uri_header_get(&addr.uri.headers, &rname, &rv)) {
		if (ring)
			attended(sip, msg, ring, &rv);
		else
			refuse(sip, msg, 501,
			       "Not Implemented (attended transfer by the "
			       "calling extension)");
		return;
	}
	pl_strcpy(&addr.uri.user, user, sizeof(user));
	pl_strcpy(&addr.uri.host, host, sizeof(host));
	for (const char *c = user; *c; c++) {
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
			refuse(sip, msg, 400, "Bad Request (Refer-To)");
			return;
		}
	}
	(void)sip_reply(sip, msg, 202, "Accepted");
	call->xfer_pending = true;
	call->xby_caller = !ring;
	call->xsip = sip;
	call->xdlg = mem_ref(dlg);
	call->xfinal_sent = call->xnext_set = false;
	notify_hold(call);
	xfer_notify(call, 100, "Trying", false);
	/* The transferred party hears ringback from now on, not the
	 * transferor: the caller on its leg, or the callee on its own. */
	if (ring && call->env->ringback_len[call->leg.codec.law])
		mwcall_ringback_start(call);
	else if (!ring)
		callee_ringback_start(call);
	PLOG_INFO("REFER from %s: blind transfer to %s@%s", by, user, host);
	ev.xfer_by = by;
	ev.xfer_user = user;
	ev.xfer_host = host;
	mwcall_emit(call, &ev);
}

/* A REFER on the callee leg ring, or on the caller leg (ring NULL): only
 * an extension's. */
static void refer_on(struct mwcall *call, struct ring *ring, struct sip *sip,
		     const struct sip_msg *msg)
{
	mwcall_log_ctx(call);
	/* A carrier's, a cascade's or an outside caller's leg: nobody of
	 * the tenant (the caller leg: the edge authenticated it or not). */
	if (ring ? !ring->ext : !call->caller_internal)
		refuse(sip, msg, 403,
		       "Forbidden (transfer only by an extension)");
	else
		refer(call, sip, msg, ring,
		      sipsess_dialog(ring ? ring->sess : call->sess),
		      ring ? ring->user : call->caller);
	pbx_log_ctx(NULL, NULL);
}

void ring_refer_handler(struct sip *sip, const struct sip_msg *msg,
			void *arg)
{
	struct ring *ring = arg;

	refer_on(ring->call, ring, sip, msg);
}

void mwcall_refer_caller(struct sip *sip, const struct sip_msg *msg,
			 void *arg)
{
	refer_on(arg, NULL, sip, msg);
}
