/* Two calls of one worker made one (issue 16): the lookup of the other
 * call (by Call-ID, only among the tenant's calls on this worker) that
 * both an attended transfer's Replaces (mwcall_xfer.c) and a pickup use,
 * and the pickup's join of two caller legs.
 *
 * Why a pickup joins two calls instead of moving a leg as the attended
 * transfer does: the transfer moves a callee leg (struct ring), whose
 * SIP session and RTP socket were opened with the ring as their
 * argument, so the ring can change calls. The legs a pickup brings
 * together are both caller legs (the colleague's caller, the picker's
 * own call), whose sessions libre holds with their call as argument and
 * cannot be given another; so both calls stay, each relays its caller's
 * audio to the other's, and the first to end ends the other. */
#include <errno.h>
#include <string.h>

#include "mwcall_priv.h"
#include "pbx_log.h"
#include "ring_result.h"

#define RR(x) PBX__V1__MEDIA_EVENT__RING_RESULT__RING_##x

struct mwcall *mwcall_join_find(struct mwcall *call, const char *callid)
{
	struct mwcall *other;

	if (!callid || !callid[0] || !call->env->find)
		return NULL;
	other = call->env->find(callid, call->env->find_arg);
	/* Another tenant's call looks like no call at all. */
	if (!other || other == call || strcmp(other->tenant, call->tenant))
		return NULL;
	return other;
}

void join_from_caller(struct mwcall *call, const struct mw_rtp_hdr *hdr,
		      const uint8_t *payload, size_t len, bool te,
		      uint64_t now_ms)
{
	struct mwcall *o = call->joined;

	/* A prompt to the other caller (the router's) takes precedence. */
	if (!o || o->playing != PLAY_NONE)
		return;
	leg_relay(&o->leg, hdr, payload, len, call->leg.codec.law, te, now_ms);
}

/* The joined call's partner is gone: it ends too (BYE). Run from its own
 * timer: the partner may have been freed inside a walk over the calls
 * (the RTP sweep), where freeing another call is not safe. */
static void partner_gone(void *arg)
{
	struct mwcall *call = arg;
	struct mwcall_event ev = {
		.kind = MWCALL_EV_CLOSED,
		.detail = "the other party hung up",
		.ended = true,
	};

	mwcall_log_ctx(call);
	PLOG_INFO("joined call ended: hanging up");
	mwcall_emit(call, &ev); /* frees the call */
	pbx_log_ctx(NULL, NULL);
}

void join_free(struct mwcall *call)
{
	struct mwcall *o = call->joined;

	tmr_cancel(&call->jtmr);
	if (!o)
		return;
	call->joined = NULL;
	o->joined = NULL;
	tmr_start(&o->jtmr, 0, partner_gone, o);
}

/* What can be picked up: a call whose one ring (a subscriber node's, a
 * colleague's dialled extension) still rings, and nothing else going on
 * that a join would cut. */
static bool ringing(const struct mwcall *c)
{
	const struct ring *b = c->ring;

	return b && !b->bridged && !b->xfer && !b->name[0] && !c->joined &&
	       !c->conf && !c->xfer_pending && !c->xfer && !c->fax.rx &&
	       c->vm.phase == VM_NONE && !c->originated;
}

int mwcall_pickup(struct mwcall *call, const char *callid, const char *by,
		  uint64_t seq, const char **why)
{
	struct mwcall *rung;
	struct ring *b;
	struct mwcall_event ev = {
		.kind = MWCALL_EV_RING_RESULT,
		.sip_code = 200,
		.detail = "picked up",
		.ring_result = RR(ANSWERED),
		.picked_by = by,
	};
	char a[64], c2[64];

	*why = NULL;
	if (call->joined || call->ring || call->conf ||
	    !list_isempty(&call->legs) || call->originated) {
		*why = "the picker's call is busy";
		return -EBUSY;
	}
	rung = mwcall_join_find(call, callid);
	if (!rung || !ringing(rung)) {
		/* Answered by the colleague a moment ago, ended, or never
		 * ours: the same for the picker. */
		*why = "nothing to pick up";
		return -ENOENT;
	}
	b = rung->ring;
	ev.seq = b->seq;
	mwcall_log_ctx(rung);
	PLOG_INFO("picked up by %s (call %s): ring to %s cancelled", by,
		  call->callid, b->user);
	rung->ring = NULL;
	ring_free(b); /* CANCEL to the colleague */
	if (rung->playing == PLAY_RINGBACK)
		mwcall_player_stop(rung);
	if (!rung->answered && mwcall_answer_caller(rung, ev.seq)) {
		/* The caller's scenario goes on as after a failed ring. */
		ev.ring_result = RR(UNAVAILABLE);
		ev.sip_code = 500;
		ev.detail = "pickup: cannot answer the caller";
		mwcall_emit(rung, &ev);
		*why = "cannot answer the ringing call's caller";
		mwcall_log_ctx(call);
		return -EIO;
	}
	mwcall_log_ctx(call);
	if (!call->answered && mwcall_answer_caller(call, seq)) {
		ev.ring_result = RR(UNAVAILABLE);
		ev.sip_code = 500;
		ev.detail = "pickup: cannot answer the picker";
		mwcall_emit(rung, &ev);
		*why = "cannot answer the picker";
		return -EIO;
	}
	if (call->playing != PLAY_NONE)
		mwcall_player_stop(call);
	call->joined = rung;
	rung->joined = call;
	relay_resync(&call->leg.relay);
	relay_resync(&rung->leg.relay);
	PLOG_INFO("pickup of call %s: joined: %s/%d %s <-> %s/%d %s%s",
		  rung->callid, offer_codec_name(call->leg.codec.law),
		  call->leg.codec.pt,
		  leg_sa_str(&call->leg.raddr, a, sizeof(a)),
		  offer_codec_name(rung->leg.codec.law), rung->leg.codec.pt,
		  leg_sa_str(&rung->leg.raddr, c2, sizeof(c2)),
		  call->leg.codec.law != rung->leg.codec.law ? " (transcoding)"
							     : "");
	mwcall_log_ctx(rung);
	mwcall_emit(rung, &ev);
	mwcall_log_ctx(call);
	return 0;
}
