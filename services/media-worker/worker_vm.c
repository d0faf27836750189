/* Voicemail in the worker: a Record command becomes a recorder in the
 * media store and the call's voicemail; when it stops, the message is
 * committed to disk and only then referenced in Redis (hash
 * pbx:{<tenant>}:vm:msg:<id>, then its id in the box's sorted set
 * pbx:{<tenant>}:vm:box:<box>), so Redis never names a missing file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_media_store.h"
#include "pbx_notify.h"
#include "prompt_cache.h"
#include "prompt_store.h"
#include "recorder.h"
#include "worker_priv.h"

/* One integer reply (nil: 0); -EIO when Redis could not answer. */
static int store_int(struct worker *w, long long *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int store_int(struct worker *w, long long *v, const char *fmt, ...)
{
	redisReply *r = NULL;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = prompt_store_vcommand(w->store, &r, fmt, ap);
	va_end(ap);

	*v = 0;
	if (!err && r->type == REDIS_REPLY_INTEGER)
		*v = r->integer;
	else if (!err && r->type == REDIS_REPLY_STRING)
		*v = strtoll(r->str, NULL, 10);
	else if (!err && r->type != REDIS_REPLY_NIL)
		err = -EPROTO;
	if (r)
		freeReplyObject(r);
	return err;
}

/* The tenant's voicemail quota (pbx:{t}:vm:quota, provision sets it):
 * -ENOSPC when the box holds its messages or the tenant its bytes
 * already; else 0, with *max_ms cut to what the bytes left can hold (16
 * bytes a ms). A quota that cannot be read lets the message in: a lost
 * message is worse than a box a little over its limit (logged). */
static int quota_check(struct worker *w, const char *tenant,
		       const char *box, uint32_t *max_ms)
{
	char qkey[PBX_KEY_MAX], bkey[PBX_KEY_MAX], ukey[PBX_KEY_MAX];
	long long qmsg, qbytes, n = 0, used = 0;
	int err;

	if (pbx_key_of(qkey, sizeof(qkey), tenant, PBX_K_VM_QUOTA) ||
	    pbx_key_sub_of(bkey, sizeof(bkey), tenant, PBX_K_VM_BOX, box) ||
	    pbx_key_of(ukey, sizeof(ukey), tenant, PBX_K_VM_BYTES))
		return 0;
	err = store_int(w, &qmsg, "HGET %s messages", qkey);
	if (!err)
		err = store_int(w, &qbytes, "HGET %s bytes", qkey);
	if (!err && qmsg > 0)
		err = store_int(w, &n, "ZCARD %s", bkey);
	if (!err && qbytes > 0)
		err = store_int(w, &used, "GET %s", ukey);
	if (err) {
		PLOG_WARN("voicemail: quota of %s not readable (%s): taken",
			  tenant, strerror(-err));
		return 0;
	}
	if (qmsg > 0 && n >= qmsg) {
		PLOG_INFO("voicemail: box %s holds %lld of %lld messages: full",
			  box, n, qmsg);
		return -ENOSPC;
	}
	if (qbytes > 0 && used + 44 + 16 * 1000 > qbytes) {
		PLOG_INFO("voicemail: %s stores %lld of %lld bytes: full",
			  tenant, used, qbytes);
		return -ENOSPC;
	}
	if (qbytes > 0 && (qbytes - used - 44) / 16 < *max_ms)
		*max_ms = (uint32_t)((qbytes - used - 44) / 16);
	return 0;
}

/* Over quota: the caller hears why, and the call ends. */
static int refuse(struct worker *w, struct worker_call *wc, uint64_t seq,
		  const char **why)
{
	uint8_t *audio = NULL;
	size_t len = 0;
	int err = worker_sound(w, wc->lang, "vm_full", mwcall_law(wc->call),
			       &audio, &len);

	if (!err)
		err = mwcall_voicemail_refuse(wc->call, audio, len, seq);
	mem_deref(audio);

	if (err) {
		*why = "voicemail refused";
		return err;
	}
	snprintf(wc->vm_result, sizeof(wc->vm_result),
		 "voicemail: box full, refused");
	return 0;
}

int worker_vm_start(struct worker *w, struct worker_call *wc,
		    const char *box, const char *greeting, uint32_t max_ms,
		    uint64_t seq, const char **why)
{
	const struct mw_config *cfg = w->cfg;
	char id[PBX_MEDIA_ID_MAX];
	struct recorder *rec = NULL;
	uint8_t *audio = NULL;
	size_t len = 0;
	int err;

	*why = NULL;
	if (!pbx_id_valid(box)) {
		*why = "invalid voicemail box";
		return -EINVAL;
	}
	if (quota_check(w, mwcall_tenant(wc->call), box, &max_ms) == -ENOSPC)
		return refuse(w, wc, seq, why);
	err = pbx_media_store_new_id(id, sizeof(id), pbx_clock_now_ms());
	if (!err)
		err = recorder_open(&rec, cfg->media_root,
				    mwcall_tenant(wc->call), id,
				    cfg->worker_id);
	if (err) {
		PLOG_ERR("voicemail: cannot open a message in %s: %s",
			 cfg->media_root, strerror(-err));
		*why = "media store unavailable";
		return err;
	}
	/* A missing greeting is no reason to lose the message: the caller
	 * hears the built-in one instead. */
	if (greeting && greeting[0]) {
		err = prompt_cache_get(w->prompts, mwcall_tenant(wc->call),
				       greeting, mwcall_law(wc->call), &audio,
				       &len);
		if (err)
			PLOG_WARN("voicemail greeting %s: %s; the built-in "
				  "greeting instead",
				  greeting, strerror(-err));
	}
	if (!audio)
		(void)worker_sound(w, wc->lang, "vm_greeting",
				   mwcall_law(wc->call), &audio, &len);
	err = mwcall_voicemail(wc->call, audio, len, rec, max_ms,
			       (uint32_t)cfg->vm_silence_ms, seq);
	mem_deref(audio);
	if (err) {
		recorder_free(rec);
		*why = "voicemail could not start";
		return err;
	}
	snprintf(wc->vm_box, sizeof(wc->vm_box), "%s", box);
	PLOG_INFO("voicemail: box %s, message %s", box, id);
	return 0;
}

/* The message's hash, then its id in the box: a crash in between leaves
 * an unlisted hash, never a listed id without metadata. */
static int store_meta(struct worker *w, struct worker_call *wc,
		      const struct recorder *rec)
{
	const char *tenant = mwcall_tenant(wc->call);
	const char *id = recorder_id(rec);
	uint32_t ms = recorder_ms(rec);
	uint64_t now = pbx_clock_now_ms(), at = now - ms;
	char mkey[PBX_KEY_MAX], bkey[PBX_KEY_MAX];
	int err;

	err = pbx_key_sub_of(mkey, sizeof(mkey), tenant, PBX_K_VM_MSG, id);
	if (!err)
		err = pbx_key_sub_of(bkey, sizeof(bkey), tenant, PBX_K_VM_BOX,
				     wc->vm_box);
	if (!err)
		err = prompt_store_write(
			w->store,
			"HSET %s box %s caller %s called %s time_ms %llu "
			"duration_ms %u bytes %llu status new call_id %s",
			mkey, wc->vm_box, mwcall_caller(wc->call),
			mwcall_dialed(wc->call), (unsigned long long)at, ms,
			(unsigned long long)recorder_bytes(rec),
			mwcall_callid(wc->call));
	if (!err)
		err = prompt_store_write(w->store, "ZADD %s %llu %s", bkey,
					 (unsigned long long)at, id);
	/* The tenant's bytes, for its quota; listed already, so a failure
	 * here only under-counts (logged). */
	if (!err && (pbx_key_of(mkey, sizeof(mkey), tenant, PBX_K_VM_BYTES) ||
		     prompt_store_write(w->store, "INCRBY %s %llu", mkey,
					(unsigned long long)recorder_bytes(
						rec))))
		PLOG_WARN("voicemail: %s not counted in the tenant's bytes",
			  id);
	return err;
}

void worker_notify(struct worker *w, const char *kind, const char *tenant,
		   const char *box, const char *ref)
{
	char key[PBX_KEY_MAX];
	redisReply *r = NULL;
	int err;

	err = pbx_key_sys_of(key, sizeof(key), PBX_KS_NOTIFY_JOBS);
	if (!err)
		err = prompt_store_command(w->store, &r, PBX_NOTIFY_XADD, key,
					   kind, tenant, box, ref);
	if (!err && r->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("%s: XADD %s: %s", kind, key, r->str);
		err = -EPROTO;
	}
	if (r)
		freeReplyObject(r);
	if (err)
		PLOG_WARN("%s: %s listed, but no notification (%s)", kind,
			  ref, strerror(-err));
}

void worker_vm_save(struct worker *w, struct worker_call *wc,
		    const char *why)
{
	struct recorder *rec = mwcall_record_take(wc->call);
	uint32_t ms = recorder_ms(rec);
	int err;

	if (!rec)
		return;
	if (ms < (uint32_t)w->cfg->vm_min_ms) {
		PLOG_INFO("voicemail: %u ms (%s) is below %ld ms: discarded",
			  ms, why, w->cfg->vm_min_ms);
		snprintf(wc->vm_result, sizeof(wc->vm_result),
			 "voicemail: too short, discarded");
		recorder_free(rec);
		return;
	}
	err = recorder_commit(rec);
	if (err) {
		PLOG_ERR("voicemail: message %s not stored: %s",
			 recorder_id(rec), strerror(-err));
		snprintf(wc->vm_result, sizeof(wc->vm_result),
			 "voicemail: not stored");
		recorder_free(rec);
		return;
	}
	err = store_meta(w, wc, rec);
	if (err) {
		/* The file is whole on disk; only Redis is missing it. It is
		 * kept (never lose a message) and named for the operator. */
		PLOG_ERR("voicemail: message %s stored in %s/%s/vm but not "
			 "listed (redis: %s)",
			 recorder_id(rec), w->cfg->media_root,
			 mwcall_tenant(wc->call), strerror(-err));
		snprintf(wc->vm_result, sizeof(wc->vm_result),
			 "voicemail: stored, not listed");
	} else {
		PLOG_INFO("voicemail: message %s saved in box %s: %u ms, %llu "
			  "bytes (%s)",
			  recorder_id(rec), wc->vm_box, ms,
			  (unsigned long long)recorder_bytes(rec), why);
		snprintf(wc->vm_result, sizeof(wc->vm_result),
			 "voicemail: saved %s", recorder_id(rec));
		worker_notify(w, PBX_NOTIFY_KIND_VOICEMAIL,
			      mwcall_tenant(wc->call), wc->vm_box,
			      recorder_id(rec));
	}
	recorder_free(rec);
}
