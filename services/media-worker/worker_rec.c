/* Call recording in the worker: a RecordCall command opens a recorder
 * (media store, kind PBX_MEDIA_RECORDING) and arms the call's callrec;
 * when the call ends, the mix is committed to disk and only then
 * referenced in Redis (hash pbx:{<tenant>}:rec:msg:<id>, then its id in
 * pbx:{<tenant>}:rec:list), so Redis never names a missing file. A call
 * whose bridge never came up leaves nothing. Mixed mono, or two channels
 * (caller left, callee right) when RecordCall says so. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_media_store.h"
#include "prompt_store.h"
#include "recorder.h"
#include "worker_priv.h"

/* GET of a counter (nil: 0). */
static int get_int(struct worker *w, const char *key, long long *v)
{
	redisReply *r = NULL;
	int err = prompt_store_command(w->store, &r, "GET %s", key);

	*v = 0;
	if (!err && r->type == REDIS_REPLY_STRING)
		*v = strtoll(r->str, NULL, 10);
	if (r)
		freeReplyObject(r);
	return err;
}

/* The tenant's bytes quota (the voicemail quota's `bytes`, shared by
 * messages and recordings): *max_ms is cut to what is left (16 bytes a
 * ms a channel); -ENOSPC when less than a second is. Unreadable: no
 * limit (logged), as for voicemail. */
static int quota_cut(struct worker *w, const char *tenant, unsigned channels,
		     uint32_t *max_ms)
{
	char qkey[PBX_KEY_MAX], vkey[PBX_KEY_MAX], rkey[PBX_KEY_MAX];
	long long q = 0, vm = 0, rec = 0, left;
	redisReply *r = NULL;
	int err;

	if (pbx_key_of(qkey, sizeof(qkey), tenant, PBX_K_VM_QUOTA) ||
	    pbx_key_of(vkey, sizeof(vkey), tenant, PBX_K_VM_BYTES) ||
	    pbx_key_of(rkey, sizeof(rkey), tenant, PBX_K_REC_BYTES))
		return 0;
	err = prompt_store_command(w->store, &r, "HGET %s bytes", qkey);
	if (!err && r->type == REDIS_REPLY_STRING)
		q = strtoll(r->str, NULL, 10);
	if (r)
		freeReplyObject(r);
	r = NULL;
	if (!err && q > 0)
		err = get_int(w, vkey, &vm);
	if (!err && q > 0)
		err = get_int(w, rkey, &rec);
	if (err) {
		PLOG_WARN("recording: quota of %s not readable (%s): taken",
			  tenant, strerror(-err));
		return 0;
	}
	if (q <= 0)
		return 0;
	left = (q - vm - rec - 44) / (16 * (long long)channels);
	if (left < 1000) {
		PLOG_INFO("recording: %s stores %lld of %lld bytes: full",
			  tenant, vm + rec, q);
		return -ENOSPC;
	}
	if (left < (long long)*max_ms)
		*max_ms = (uint32_t)left;
	return 0;
}

/* The longest recording: 4 h mono, 2 h in two channels, so a file stays
 * under 231 MB, what `pbxctl rec get` downloads in one reply. */
static uint32_t rec_max_ms(uint32_t max_ms, unsigned channels)
{
	uint32_t top = 4u * 3600 * 1000 / channels;

	return !max_ms || max_ms > top ? top : max_ms;
}

int worker_rec_start(struct worker *w, struct worker_call *wc,
		     const Pbx__V1__MediaCommand__RecordCall *rc,
		     const char **why)
{
	const char *tenant = mwcall_tenant(wc->call);
	unsigned channels = rc->channels == 2 ? 2 : 1;
	uint32_t max_ms = rec_max_ms(rc->max_ms, channels);
	char id[PBX_MEDIA_ID_MAX];
	struct recorder *rec = NULL;
	uint8_t *audio = NULL;
	size_t len = 0;
	int err;

	*why = NULL;
	if (strlen(rc->extension) >= sizeof(wc->rec_ext) ||
	    strlen(rc->queue) >= sizeof(wc->rec_queue)) {
		*why = "extension or queue too long";
		return -EINVAL;
	}
	if (wc->rec_armed) {
		/* The walk rang the next subscriber (or a queue): one
		 * recording a call, now of this one. */
		snprintf(wc->rec_ext, sizeof(wc->rec_ext), "%s",
			 rc->extension);
		snprintf(wc->rec_queue, sizeof(wc->rec_queue), "%s",
			 rc->queue);
		return 0;
	}
	if (quota_cut(w, tenant, channels, &max_ms)) {
		*why = "storage quota reached: not recorded";
		return -ENOSPC;
	}
	err = pbx_media_store_new_id(id, sizeof(id), pbx_clock_now_ms());
	if (!err)
		err = recorder_open_kind(&rec, w->cfg->media_root, tenant,
					 PBX_MEDIA_RECORDING, id,
					 w->cfg->worker_id, channels);
	if (err) {
		PLOG_ERR("recording: cannot open %s in %s: %s", id,
			 w->cfg->media_root, strerror(-err));
		*why = "media store unavailable";
		return err;
	}
	/* A missing announcement is logged; the call is recorded anyway. */
	if (rc->prompt[0] &&
	    worker_prompt_audio(w, wc, rc->prompt, &audio, &len))
		PLOG_WARN("recording: announcement %s missing", rc->prompt);
	err = mwcall_record_call(wc->call, rec, max_ms, audio, len);
	mem_deref(audio);
	if (err) {
		recorder_free(rec);
		*why = "recording could not start";
		return err;
	}
	wc->rec_armed = true;
	snprintf(wc->rec_ext, sizeof(wc->rec_ext), "%s", rc->extension);
	snprintf(wc->rec_queue, sizeof(wc->rec_queue), "%s", rc->queue);
	PLOG_INFO("recording: %s armed (%s %s, %u channel%s, up to %u ms)",
		  id, rc->queue[0] ? "queue" : "extension",
		  rc->queue[0] ? rc->queue : rc->extension, channels,
		  channels == 2 ? "s" : "", max_ms);
	return 0;
}

/* Who answered: the rung subscriber, or a queue's agent, named by the
 * answering leg ("<offer>:<agent>"). */
static const char *rec_who(const struct worker_call *wc)
{
	const char *leg = mwcall_callrec_leg(wc->call);
	const char *colon = strchr(leg, ':');

	if (wc->rec_ext[0] || !colon)
		return wc->rec_ext;
	return colon + 1;
}

static int store_meta(struct worker *w, struct worker_call *wc,
		      const struct recorder *rec, uint64_t at)
{
	const char *tenant = mwcall_tenant(wc->call);
	const char *id = recorder_id(rec);
	char mkey[PBX_KEY_MAX], lkey[PBX_KEY_MAX];
	int err;

	err = pbx_key_sub_of(mkey, sizeof(mkey), tenant, PBX_K_REC_MSG, id);
	if (!err)
		err = pbx_key_sub_of(lkey, sizeof(lkey), tenant,
				     PBX_K_REC_LIST, PBX_REC_LIST);
	if (!err)
		err = prompt_store_write(
			w->store,
			"HSET %s call_id %s caller %s called %s extension %s "
			"queue %s channels %u time_ms %llu duration_ms %u "
			"bytes %llu",
			mkey, mwcall_callid(wc->call), mwcall_caller(wc->call),
			mwcall_dialed(wc->call), rec_who(wc), wc->rec_queue,
			recorder_channels(rec), (unsigned long long)at,
			recorder_ms(rec),
			(unsigned long long)recorder_bytes(rec));
	if (!err)
		err = prompt_store_write(w->store, "ZADD %s %llu %s", lkey,
					 (unsigned long long)at, id);
	if (!err && (pbx_key_of(mkey, sizeof(mkey), tenant, PBX_K_REC_BYTES) ||
		     prompt_store_write(w->store, "INCRBY %s %llu", mkey,
					(unsigned long long)recorder_bytes(
						rec))))
		PLOG_WARN("recording: %s not counted in the tenant's bytes",
			  id);
	return err;
}

void worker_rec_save(struct worker *w, struct worker_call *wc)
{
	uint64_t at = 0;
	struct recorder *rec = mwcall_callrec_take(wc->call, &at);
	int err;

	if (!rec)
		return; /* none armed, or no bridge: nothing to keep */
	if (!recorder_ms(rec)) {
		recorder_free(rec);
		return;
	}
	err = recorder_commit(rec);
	if (!err)
		err = store_meta(w, wc, rec, at);
	if (err)
		PLOG_ERR("recording %s: not stored or not listed: %s",
			 recorder_id(rec), strerror(-err));
	else
		PLOG_INFO("recording %s saved: %u ms, %llu bytes",
			  recorder_id(rec), recorder_ms(rec),
			  (unsigned long long)recorder_bytes(rec));
	recorder_free(rec);
}
