/* Fax on the caller leg: the receiver fed from the caller's RTP, its
 * modem audio sent on the call's pacer slot every 20 ms, and the end
 * (T.30 done, hang-up, RTP timeout, the maximum length). The end asked
 * from the pacer's walk runs from the call's own timer: it ends the call,
 * which must not happen inside the walk. */
#include <errno.h>
#include <string.h>

#include "fax_recv.h"
#include "mwcall_priv.h"
#include "pbx_clock.h"
#include "pbx_log.h"

int mwcall_fax(struct mwcall *call, struct fax_recv *rx, uint64_t seq)
{
	int err;

	if (!call || !rx)
		return -EINVAL;
	if (call->fax.rx || call->fax.stop)
		return -EBUSY;
	if ((call->ring && call->ring->bridged) || call->vm.phase != VM_NONE)
		return -EALREADY;
	if (!call->answered) {
		err = mwcall_answer_caller(call, seq);
		if (err)
			return err;
	}
	mwcall_player_stop(call); /* a prompt or ringback ends here */
	call->fax.rx = rx;
	call->fax.seq = seq;
	call->fax.start_ms = pbx_clock_mono_ms();
	err = pacer_add(call->env->pacer, &call->pe);
	if (err) {
		call->fax.rx = NULL;
		return err;
	}
	PLOG_INFO("fax: receiving (%s)",
		  offer_codec_name(call->leg.codec.law));
	return 0;
}

/* FAX_DONE once; the handler takes the receiver. */
static void fax_report(struct mwcall *call, const char *why)
{
	struct mwcall_event ev = {
		.kind = MWCALL_EV_FAX_DONE, .detail = why, .seq = call->fax.seq};

	if (call->fax.reported)
		return;
	call->fax.reported = true;
	call->fax.stop = why;
	tmr_cancel(&call->fax.tmr);
	pacer_remove(call->env->pacer, &call->pe);
	mwcall_emit(call, &ev);
}

static void fax_finish(void *arg)
{
	struct mwcall *call = arg;
	struct mwcall_event closed = {.kind = MWCALL_EV_CLOSED,
				      .detail = "fax received",
				      .ended = true};

	mwcall_log_ctx(call);
	fax_report(call, call->fax.stop);
	mwcall_emit(call, &closed); /* frees the call: BYE */
	pbx_log_ctx(NULL, NULL);
}

static void fax_end_soon(struct mwcall *call, const char *why)
{
	if (call->fax.stop)
		return;
	call->fax.stop = why;
	tmr_start(&call->fax.tmr, 0, fax_finish, call);
}

void mwcall_fax_tick(struct mwcall *call, uint64_t periods, uint64_t now_ms)
{
	uint8_t frame[FAX_RECV_FRAME];
	uint8_t pkt[PLAYER_PKT_SIZE];
	enum offer_law law = call->leg.codec.law;

	if (call->fax.stop)
		return;
	/* A stalled loop: the receiver's clock goes on from here (T.30
	 * timers have seconds of slack), the peer gets no burst. */
	if (periods > PLAYER_MAX_CATCHUP)
		periods = PLAYER_MAX_CATCHUP;
	while (periods--) {
		fax_recv_tick(call->fax.rx, frame, law);
		/* 0 while a prompt owns the stream: nothing to send. */
		if (call->leg.can_send &&
		    player_frame(&call->leg.out, frame, pkt, now_ms))
			leg_send(&call->leg, pkt, sizeof(pkt));
		if (fax_recv_done(call->fax.rx))
			break;
	}
	if (fax_recv_done(call->fax.rx)) {
		fax_end_soon(call, "done");
	} else if (now_ms - call->fax.start_ms >= MWCALL_FAX_MAX_MS) {
		mwcall_log_ctx(call);
		PLOG_WARN("fax: still running after %u ms: ended",
			  (unsigned)MWCALL_FAX_MAX_MS);
		pbx_log_ctx(NULL, NULL);
		fax_recv_hangup(call->fax.rx);
		fax_end_soon(call, "max_length");
	}
}

void mwcall_fax_audio(struct mwcall *call, const struct mw_rtp_hdr *hdr,
		      const uint8_t *payload, size_t len)
{
	if (!call->fax.stop)
		fax_recv_packet(call->fax.rx, hdr->seq, payload, len,
				call->leg.codec.law);
}

void mwcall_fax_stop(struct mwcall *call, const char *why)
{
	if (!call->fax.rx || call->fax.reported)
		return;
	/* Phase E with what was received; the pages so far are kept. */
	fax_recv_hangup(call->fax.rx);
	fax_report(call, why);
}

struct fax_recv *mwcall_fax_take(struct mwcall *call)
{
	struct fax_recv *rx = call ? call->fax.rx : NULL;

	if (call)
		call->fax.rx = NULL;
	return rx;
}

uint32_t mwcall_fax_ms(const struct mwcall *call)
{
	return call->fax.start_ms
		       ? (uint32_t)(pbx_clock_mono_ms() - call->fax.start_ms)
		       : 0;
}

void mwcall_fax_free(struct mwcall *call)
{
	tmr_cancel(&call->fax.tmr);
	fax_recv_free(call->fax.rx); /* not taken: its TIFF is closed */
	call->fax.rx = NULL;
}
