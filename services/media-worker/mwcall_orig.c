/* A call that starts with our INVITE (mwcall_originate): the first leg is
 * a sipsess UAC through the edge instead of the caller's UAS. Until it
 * answers, its own no-answer timeout and failure report (CLOSED with a
 * ring result); once answered, the call is an answered call like any
 * other (mwcall.c's session handlers, Ring, Play, Hangup). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mwcall_priv.h"
#include "pbx_clock.h"
#include "pbx_log.h"

#include "pbx/v1/media.pb-c.h"

enum { FROM_MAX = 320 };

/* Not answered: CLOSED (the handler frees the call: CANCEL if it still
 * rings). */
static void orig_failed(struct mwcall *call, int result, uint16_t code,
			const char *detail)
{
	struct mwcall_event ev = {
		.kind = MWCALL_EV_CLOSED,
		.seq = call->orig_seq,
		.sip_code = code,
		.detail = detail,
		.ring_result = result,
	};

	tmr_cancel(&call->orig_tmr);
	PLOG_INFO("originated leg to '%s' not answered: %s", call->dialed,
		  detail);
	mwcall_emit(call, &ev);
}

static void orig_timeout(void *arg)
{
	struct mwcall *call = arg;
	char detail[64];

	mwcall_log_ctx(call);
	re_snprintf(detail, sizeof(detail), "no answer within %u ms",
		    call->orig_timeout_ms);
	orig_failed(call, PBX__V1__MEDIA_EVENT__RING_RESULT__RING_NO_ANSWER, 0,
		    detail);
	pbx_log_ctx(NULL, NULL);
}

static int orig_answer(const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;
	int err;

	mwcall_log_ctx(call);
	err = leg_take_answer(&call->leg, msg->mb);
	if (err)
		PLOG_WARN("originated leg's SDP answer unusable: %s",
			  strerror(-err));
	pbx_log_ctx(NULL, NULL);
	return err ? EPROTO : 0;
}

static void orig_progress(const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;

	mwcall_log_ctx(call);
	PLOG_DEBUG("originated leg: %u", msg->scode);
	pbx_log_ctx(NULL, NULL);
}

static void orig_estab(const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;
	struct mwcall_event ev = {
		.kind = MWCALL_EV_ANSWERED,
		.seq = call->orig_seq,
		.sip_code = msg ? msg->scode : 200,
	};
	char la[64], ra[64];

	mwcall_log_ctx(call);
	tmr_cancel(&call->orig_tmr);
	call->answered = call->established = true;
	rtp_watch_arm(&call->leg.watch, call->leg.rx_pkts,
		      pbx_clock_mono_ms());
	PLOG_INFO("originated leg to '%s' answered: %s/%d, RTP %s -> %s",
		  call->dialed, offer_codec_name(call->leg.codec.law),
		  call->leg.codec.pt,
		  leg_sa_str(leg_local(&call->leg), la, sizeof(la)),
		  leg_sa_str(&call->leg.raddr, ra, sizeof(ra)));
	mwcall_emit(call, &ev);
	pbx_log_ctx(NULL, NULL);
}

static void orig_close(int err, const struct sip_msg *msg, void *arg)
{
	struct mwcall *call = arg;
	char detail[96];
	uint16_t code;
	int result;

	if (call->answered) {
		mwcall_sess_close(err, msg, arg); /* a hang-up */
		return;
	}
	mwcall_log_ctx(call);
	result = mwcall_leg_failure(err, msg, &code, detail, sizeof(detail));
	orig_failed(call, result, code, detail);
	pbx_log_ctx(NULL, NULL);
}

static const char *orig_check(const struct mwcall_orig *p)
{
	struct uri u;
	struct pl pl;

	if (!p->callid || !p->callid[0] || strlen(p->callid) > 255)
		return "bad call id";
	for (const char *c = p->callid; *c; c++) {
		if (*c < 0x21 || *c > 0x7e)
			return "bad call id";
	}
	if (!p->target_uri || !mwcall_uri_ok(p->target_uri, &u, &pl))
		return "bad target_uri";
	if (!p->dest_kind || !mwcall_token_ok(p->dest_kind, 32, "-_"))
		return "bad dest_kind";
	if (!p->caller_id)
		return "bad caller_id";
	return NULL;
}

int mwcall_originate(struct mwcall **callp, const struct mwcall_env *env,
		     const char *tenant, const struct mwcall_orig *p,
		     mwcall_event_h *evh, void *arg, const char **why)
{
	/* Every leg goes through the edge; an empty edge_uri (the
	 * in-process tests) calls target_uri directly. */
	const char *routev[1] = {env->edge_uri};
	char from_uri[FROM_MAX];
	struct mbuf *offer = NULL;
	struct mwcall *call;
	int err;

	*why = orig_check(p);
	if (*why)
		return -EINVAL;
	if (mwcall_from_external(env, p->caller_id, from_uri,
				 sizeof(from_uri))) {
		*why = "bad edge_uri";
		return -EINVAL;
	}
	call = mwcall_new(env, tenant, evh, arg);
	if (!call)
		return -ENOMEM;
	call->originated = true;
	call->orig_seq = p->seq;
	call->orig_timeout_ms =
		p->timeout_ms && p->timeout_ms < env->ring_timeout_max_ms
			? p->timeout_ms
			: env->ring_timeout_max_ms;
	call->callid = strdup(p->callid);
	call->caller = strdup(p->caller_id);
	call->dialed = strdup(p->target_uri);
	if (!call->tenant || !call->callid || !call->caller || !call->dialed) {
		err = -ENOMEM;
		goto out;
	}
	mwcall_log_ctx(call);
	err = mwcall_leg_open(call);
	if (err) {
		*why = "no RTP port";
		goto out;
	}
	err = leg_offer(&call->leg, OFFER_ALAW, &offer);
	if (!err)
		err = -sipsess_connect(
			&call->sess, env->sock, p->target_uri, NULL, from_uri,
			env->cuser, routev, env->edge_uri[0] ? 1 : 0,
			"application/sdp", offer, NULL, NULL, false,
			mwcall_sess_offer, orig_answer, orig_progress,
			orig_estab, mwcall_sess_info, mwcall_refer_caller,
			orig_close, call,
			"X-Pbx-Tenant: %s\r\nX-Pbx-Dest: %s\r\n"
			"X-Pbx-Call: %s\r\n" MWCALL_ALLOW,
			call->tenant, p->dest_kind, call->callid);
	mem_deref(offer);
	if (err) {
		*why = "cannot send the INVITE";
		goto out;
	}
	tmr_start(&call->orig_tmr, call->orig_timeout_ms, orig_timeout, call);
	PLOG_INFO("originate %llu: %s (%s) from %s, %u ms",
		  (unsigned long long)p->seq, p->target_uri, p->dest_kind,
		  from_uri, call->orig_timeout_ms);
out:
	pbx_log_ctx(NULL, NULL);
	if (err) {
		mwcall_free(call);
		return err;
	}
	*callp = call;
	return 0;
}
