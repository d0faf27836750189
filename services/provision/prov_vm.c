/* Voicemail messages: list, download, mark heard, delete. A message is
 * reached only through its tenant and box: the id must be in the box's
 * sorted set pbx:{<tenant>}:vm:box:<box>, and the file path is built by
 * the media store from the tenant and the id alone (pbx_media_store.h),
 * so no request reaches another tenant's message or any other file. A
 * delete drops the Redis references first, then the file: Redis never
 * names a missing file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbx_log.h"
#include "pbx_media_store.h"
#include "pbx_notify.h"
#include "prov.h"

/* 8 kHz 16-bit WAV: 16,000 bytes a second, so 3600 s (the longest
 * message) is 57.6 MB; the reply stays one bounded frame. */
#define PROV_VM_GET_MAX (64u * 1024 * 1024)

struct vm_keys {
	char box[PBX_KEY_MAX];
	char msg[PBX_KEY_MAX];
};

/* Checks tenant, box (and id when need_id), and that the tenant exists;
 * fills the keys. */
static int vm_args(struct provision *pv,
		   const Pbx__V1__ProvRequest__Voicemail *q,
		   struct prov_reply *r, bool need_id, struct vm_keys *k)
{
	const char *tenant = prov_str(q->tenant), *box = prov_str(q->box);
	const char *id = prov_str(q->id);
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_id(r, "voicemail box", box);
	if (!err && need_id && !pbx_media_id_valid(id))
		err = prov_fail(r, -EINVAL,
				"message id \"%s\" is not a message id", id);
	if (err)
		return err;
	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key_sub_of(k->box, sizeof(k->box), tenant, PBX_K_VM_BOX, box))
		return -EINVAL;
	if (need_id && pbx_key_sub_of(k->msg, sizeof(k->msg), tenant,
				      PBX_K_VM_MSG, id))
		return -EINVAL;
	return 0;
}

/* 0 when the message is in the box; -ENOENT (reply set) when not. */
static int vm_in_box(struct provision *pv, const struct vm_keys *k,
		     const Pbx__V1__ProvRequest__Voicemail *q,
		     struct prov_reply *r, bool quiet)
{
	redisReply *rep = NULL;
	bool in;
	int err;

	err = prov_store_cmd(pv, &rep, "ZSCORE %s %s", k->box, q->id);
	if (err)
		return err;
	in = rep->type == REDIS_REPLY_STRING;
	freeReplyObject(rep);
	if (in)
		return 0;
	return quiet ? -ENOENT
		     : prov_fail(r, -ENOENT,
				 "no message %s in voicemail box %s", q->id,
				 q->box);
}

/* A message named by tenant, box and id that is in that box. */
static int vm_find(struct provision *pv,
		   const Pbx__V1__ProvRequest__Voicemail *q,
		   struct prov_reply *r, struct vm_keys *k)
{
	int err = vm_args(pv, q, r, true, k);

	return err ? err : vm_in_box(pv, k, q, r, false);
}

static const char *field(const redisReply *h, const char *name)
{
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(h->element[i]->str, name) &&
		    h->element[i + 1]->type == REDIS_REPLY_STRING)
			return h->element[i + 1]->str;
	}
	return "";
}

/* "<id> <new|heard> <UTC time> <seconds>s from <caller> to <called>" */
static int list_line(struct prov_reply *r, const char *id,
		     const redisReply *h)
{
	time_t t = (time_t)(strtoull(field(h, "time_ms"), NULL, 10) / 1000);
	unsigned ms = (unsigned)strtoul(field(h, "duration_ms"), NULL, 10);
	char when[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return prov_strv_add(&r->items, "%s %s %s %u.%02us from %s to %s", id,
			     field(h, "status"), when, ms / 1000,
			     ms % 1000 / 10, field(h, "caller"),
			     field(h, "called"));
}

int prov_vm_list(struct provision *pv,
		 const Pbx__V1__ProvRequest__Voicemail *q,
		 struct prov_reply *r)
{
	struct prov_strv ids = {0};
	struct vm_keys k;
	int err;

	err = vm_args(pv, q, r, false, &k);
	if (!err)
		err = prov_store_list(pv, &ids, "ZRANGE %s 0 -1", k.box);
	for (size_t i = 0; i < ids.n && !err; i++) {
		char mkey[PBX_KEY_MAX];
		redisReply *h = NULL;

		if (pbx_key_sub_of(mkey, sizeof(mkey), q->tenant, PBX_K_VM_MSG,
				   ids.v[i]))
			continue;
		err = prov_store_cmd(pv, &h, "HGETALL %s", mkey);
		if (!err && h->type == REDIS_REPLY_ARRAY && h->elements)
			err = list_line(r, ids.v[i], h);
		if (h)
			freeReplyObject(h);
	}
	prov_strv_reset(&ids);
	return err;
}

int prov_vm_get(struct provision *pv, const Pbx__V1__ProvRequest__Voicemail *q,
		struct prov_reply *r)
{
	struct vm_keys k;
	int err;

	err = vm_find(pv, q, r, &k);
	if (err)
		return err;
	err = pbx_media_store_read(pv->media_root, q->tenant,
				   PBX_MEDIA_VOICEMAIL, q->id, &r->data,
				   &r->data_len, PROV_VM_GET_MAX);
	if (err == -EFBIG)
		return prov_fail(r, err, "message %s is above %u bytes", q->id,
				 PROV_VM_GET_MAX);
	if (err == -ENOENT) {
		/* Listed but not on disk: the store was lost or moved. */
		PLOG_ERR("voicemail %s/%s: listed, but no file under %s",
			 q->box, q->id, pv->media_root);
		return prov_fail(r, -EIO, "the message's file is missing");
	}
	return err;
}

/* The box's counts changed: a job for the notifier, whose MWI tells the
 * phones watching the box. Best effort: the change itself is done, and a
 * phone's next refresh shows the counts anyway (logged). */
static void vm_changed(struct provision *pv,
		       const Pbx__V1__ProvRequest__Voicemail *q)
{
	char key[PBX_KEY_MAX];

	if (pbx_key_sys_of(key, sizeof(key), PBX_KS_NOTIFY_JOBS) ||
	    prov_store_do(pv, PBX_NOTIFY_XADD, key, PBX_NOTIFY_KIND_MWI,
			  q->tenant, q->box, q->id))
		PLOG_WARN("voicemail %s/%s: no MWI job", q->box, q->id);
}

int prov_vm_heard(struct provision *pv,
		  const Pbx__V1__ProvRequest__Voicemail *q,
		  struct prov_reply *r)
{
	struct vm_keys k;
	int err;

	err = vm_find(pv, q, r, &k);
	if (!err)
		err = prov_store_do(pv, "HSET %s status heard", k.msg);
	if (!err)
		vm_changed(pv, q);
	return err;
}

/* The message's bytes leave the tenant's count (its quota). Before the
 * hash goes: a failure after this over-frees, never leaks, the quota. */
static int vm_uncount(struct provision *pv, const char *tenant,
		      const char *mkey)
{
	char ukey[PBX_KEY_MAX];
	long long bytes = 0;
	int err;

	if (pbx_key_of(ukey, sizeof(ukey), tenant, PBX_K_VM_BYTES))
		return -EINVAL;
	err = prov_store_int(pv, &bytes, "HGET %s bytes", mkey);
	if (!err && bytes > 0)
		err = prov_store_do(pv, "DECRBY %s %lld", ukey, bytes);
	return err;
}

int prov_vm_delete(struct provision *pv,
		   const Pbx__V1__ProvRequest__Voicemail *q,
		   struct prov_reply *r)
{
	struct vm_keys k;
	int err;

	err = vm_args(pv, q, r, true, &k);
	if (err)
		return err;
	err = vm_in_box(pv, &k, q, r, true);
	if (err == -ENOENT)
		return prov_already_absent(r);
	if (!err)
		err = vm_uncount(pv, q->tenant, k.msg);
	if (!err)
		err = prov_store_do(pv, "ZREM %s %s", k.box, q->id);
	if (!err)
		err = prov_store_do(pv, "DEL %s", k.msg);
	if (err)
		return err;
	vm_changed(pv, q);
	err = pbx_media_store_remove(pv->media_root, q->tenant,
				     PBX_MEDIA_VOICEMAIL, q->id);
	if (err && err != -ENOENT)
		PLOG_WARN("voicemail %s/%s: file not removed: %s", q->box,
			  q->id, strerror(-err));
	return 0;
}

/* Quotas up to 10^6 messages a box and 1 TB of messages a tenant. */
#define QUOTA_MESSAGES_MAX 1000000LL
#define QUOTA_BYTES_MAX 1000000000000LL

int prov_vm_quota(struct provision *pv,
		  const Pbx__V1__ProvRequest__VmQuota *q,
		  struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	char qkey[PBX_KEY_MAX], ukey[PBX_KEY_MAX];
	long long msgs = 0, bytes = 0, used = 0;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (q->messages < -1 || q->messages > QUOTA_MESSAGES_MAX ||
	    q->bytes < -1 || q->bytes > QUOTA_BYTES_MAX)
		return prov_fail(r, -EINVAL,
				 "a voicemail quota is 0 (no limit) to %lld "
				 "messages a box and to %lld bytes (-1: "
				 "unchanged)",
				 QUOTA_MESSAGES_MAX, QUOTA_BYTES_MAX);
	if (pbx_key_of(qkey, sizeof(qkey), tenant, PBX_K_VM_QUOTA) ||
	    pbx_key_of(ukey, sizeof(ukey), tenant, PBX_K_VM_BYTES))
		return -EINVAL;
	if (q->messages >= 0)
		err = prov_store_do(pv, "HSET %s messages %lld", qkey,
				    (long long)q->messages);
	if (!err && q->bytes >= 0)
		err = prov_store_do(pv, "HSET %s bytes %lld", qkey,
				    (long long)q->bytes);
	if (!err)
		err = prov_store_int(pv, &msgs, "HGET %s messages", qkey);
	if (!err)
		err = prov_store_int(pv, &bytes, "HGET %s bytes", qkey);
	if (!err)
		err = prov_store_int(pv, &used, "GET %s", ukey);
	if (err)
		return err;
	if (msgs > 0)
		err = prov_strv_add(&r->items, "messages per box: %lld", msgs);
	else
		err = prov_strv_add(&r->items, "messages per box: no limit");
	if (!err && bytes > 0)
		err = prov_strv_add(&r->items, "bytes: %lld of %lld used",
				    used, bytes);
	else if (!err)
		err = prov_strv_add(&r->items, "bytes: %lld used, no limit",
				    used);
	return err;
}
