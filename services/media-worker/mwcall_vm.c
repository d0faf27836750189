/* Voicemail on the caller leg: greeting and beep, then the caller's audio
 * into a recorder until #, trailing silence, the maximum length or the
 * hang-up. Stops asked from the RTP path run from the call's own timer,
 * never inside the receive callback: a stop ends the call, which frees
 * the RTP socket that is calling us. */
#include <errno.h>
#include <string.h>

#include "mwcall_priv.h"
#include "mwlaw.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "recorder.h"

enum {
	VM_CHECK_MS = 100,
	BEEP_GAP_MS = 100, /* silence between the greeting and the beep */
	BEEP_MS = 400,
	BEEP_LEVEL = 8000, /* about -12 dBm0 */
};

/* One period of a 1 kHz sine at 8 kHz, unit amplitude x 1000. */
static const int16_t sine_1k[8] = {0, 707, 1000, 707, 0, -707, -1000, -707};

/* greeting + gap + beep, in the call's law, as one libre mem object. */
static uint8_t *greeting_with_beep(const uint8_t *greeting, size_t len,
				   enum offer_law law, size_t *outlen)
{
	size_t gap = BEEP_GAP_MS * 8, beep = BEEP_MS * 8;
	uint8_t *buf = mem_alloc(len + gap + beep, NULL);
	uint8_t quiet = mwlaw_encode(0, law);

	if (!buf)
		return NULL;
	if (len)
		memcpy(buf, greeting, len);
	memset(buf + len, quiet, gap);
	for (size_t i = 0; i < beep; i++)
		buf[len + gap + i] = mwlaw_encode(
			(int16_t)(sine_1k[i % 8] * BEEP_LEVEL / 1000), law);
	*outlen = len + gap + beep;
	return buf;
}

int mwcall_voicemail(struct mwcall *call, uint8_t *greeting, size_t len,
		     struct recorder *rec, uint32_t max_ms,
		     uint32_t silence_ms, uint64_t seq)
{
	uint8_t *audio;
	size_t n = 0;
	int err;

	if (!call || !rec || !max_ms)
		return -EINVAL;
	if (call->vm.phase != VM_NONE)
		return -EBUSY;
	if (call->ring && call->ring->bridged)
		return -EALREADY;
	audio = greeting_with_beep(greeting, greeting ? len : 0,
				   call->leg.codec.law, &n);
	if (!audio)
		return -ENOMEM;
	err = mwcall_play_start(call, audio, n, 1, PLAY_PROMPT, false, seq);
	mem_deref(audio); /* the player holds its own reference */
	if (err)
		return err;
	call->vm.phase = VM_GREETING;
	call->vm.rec = rec;
	call->vm.max_ms = max_ms;
	call->vm.silence_ms = silence_ms;
	call->vm.stop = NULL;
	PLOG_INFO("voicemail: greeting %zu ms, then recording (max %u ms, "
		  "silence %u ms)",
		  len / 8, max_ms, silence_ms);
	return 0;
}

int mwcall_voicemail_refuse(struct mwcall *call, uint8_t *prompt,
			    size_t len, uint64_t seq)
{
	int err;

	if (!call || !prompt || !len)
		return -EINVAL;
	if (call->vm.phase != VM_NONE)
		return -EBUSY;
	if (call->ring && call->ring->bridged)
		return -EALREADY;
	err = mwcall_play_start(call, prompt, len, 1, PLAY_PROMPT, false, seq);
	if (err)
		return err;
	call->vm.phase = VM_REFUSED;
	PLOG_INFO("voicemail refused: %zu ms of prompt, then BYE", len / 8);
	return 0;
}

/* The refusal was heard: the call ends (CLOSED, ended: BYE). */
void mwcall_vm_refused_done(struct mwcall *call)
{
	struct mwcall_event closed = {.kind = MWCALL_EV_CLOSED,
				      .detail = "voicemail refused",
				      .ended = true};

	call->vm.phase = VM_DONE;
	mwcall_emit(call, &closed); /* frees the call: BYE */
}

/* Stops recording: RECORDED (the handler takes the recorder). */
static void vm_stop(struct mwcall *call, const char *why)
{
	struct mwcall_event ev = {.kind = MWCALL_EV_RECORDED, .detail = why};

	tmr_cancel(&call->vm.tmr);
	call->vm.phase = VM_DONE;
	PLOG_INFO("voicemail: recording stopped (%s) after %u ms", why,
		  recorder_ms(call->vm.rec));
	mwcall_emit(call, &ev);
}

/* RECORDED, then (ended) CLOSED: the handler frees the call. */
static void vm_finish(struct mwcall *call, const char *why)
{
	struct mwcall_event closed = {.kind = MWCALL_EV_CLOSED,
				      .detail = "voicemail recorded",
				      .ended = true};

	vm_stop(call, why);
	mwcall_emit(call, &closed); /* frees the call: BYE */
}

static void vm_check(void *arg)
{
	struct mwcall *call = arg;
	uint64_t now = pbx_clock_mono_ms();

	mwcall_log_ctx(call);
	if (call->vm.stop)
		vm_finish(call, call->vm.stop);
	else if (recorder_ms(call->vm.rec) >= call->vm.max_ms)
		vm_finish(call, "max_length");
	else if (call->vm.silence_ms &&
		 now - call->vm.voice_ms >= call->vm.silence_ms)
		vm_finish(call, "silence");
	else
		tmr_start(&call->vm.tmr, VM_CHECK_MS, vm_check, call);
	pbx_log_ctx(NULL, NULL);
}

void mwcall_vm_greeting_done(struct mwcall *call)
{
	call->vm.phase = VM_RECORDING;
	call->vm.voice_ms = pbx_clock_mono_ms();
	PLOG_INFO("voicemail: beep sent, recording");
	tmr_start(&call->vm.tmr, VM_CHECK_MS, vm_check, call);
}

void mwcall_vm_audio(struct mwcall *call, const uint8_t *payload, size_t len)
{
	if (call->vm.stop || recorder_ms(call->vm.rec) >= call->vm.max_ms)
		return;
	if (recorder_audio(call->vm.rec, payload, len, call->leg.codec.law))
		call->vm.voice_ms = pbx_clock_mono_ms();
}

void mwcall_vm_digit(struct mwcall *call, char digit)
{
	if (call->vm.phase != VM_RECORDING || digit != '#' || call->vm.stop)
		return;
	call->vm.stop = "#";
	tmr_start(&call->vm.tmr, 0, vm_check, call);
}

void mwcall_record_stop(struct mwcall *call, const char *why)
{
	if (call->vm.phase == VM_GREETING || call->vm.phase == VM_RECORDING)
		vm_stop(call, why);
}

struct recorder *mwcall_record_take(struct mwcall *call)
{
	struct recorder *rec = call ? call->vm.rec : NULL;

	if (call)
		call->vm.rec = NULL;
	return rec;
}

void mwcall_vm_free(struct mwcall *call)
{
	tmr_cancel(&call->vm.tmr);
	recorder_free(call->vm.rec); /* not taken: discarded */
	call->vm.rec = NULL;
}
