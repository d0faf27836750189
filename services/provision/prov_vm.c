/* Voicemail messages: list, download, mark heard, delete, through the
 * box rules of prov_box.c (tenant and box scoped, Redis before files). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbx_log.h"
#include "pbx_vm_box.h"
#include "prov.h"

/* 8 kHz 16-bit WAV: 16,000 bytes a second, so 3600 s (the longest
 * message) is 57.6 MB; the reply stays one bounded frame. */
#define PROV_VM_GET_MAX (64u * 1024 * 1024)

static const enum pbx_media_kind vm_media[] = {PBX_MEDIA_VOICEMAIL};

/* provision's Redis connection, for pbx_vm_box.c. */
static int vm_cmd(void *arg, redisReply **rp, const char *fmt, va_list ap)
{
	return prov_store_vcmd(arg, rp, fmt, ap);
}

static struct pbx_vm_store vm_store(struct provision *pv)
{
	return (struct pbx_vm_store){vm_cmd, pv, pv->media_root};
}

static const struct prov_box_kind vm_kind = {
	.box_key = PBX_K_VM_BOX,
	.item_key = PBX_K_VM_MSG,
	.box_noun = "voicemail box",
	.item_noun = "message",
	.media = vm_media,
	.nmedia = 1,
};

static struct prov_box_ref ref_of(const Pbx__V1__ProvRequest__Voicemail *q)
{
	return (struct prov_box_ref){q->tenant, q->box, q->id};
}

/* "<id> <new|heard> <UTC time> <seconds>s from <caller> to <called>" */
static int list_line(struct prov_reply *r, const char *id,
		     const redisReply *h)
{
	unsigned ms = (unsigned)strtoul(prov_box_field(h, "duration_ms"),
					NULL, 10);
	char when[32];

	prov_box_when(when, sizeof(when), prov_box_field(h, "time_ms"));
	return prov_strv_add(&r->items, "%s %s %s %u.%02us from %s to %s", id,
			     prov_box_field(h, "status"), when, ms / 1000,
			     ms % 1000 / 10, prov_box_field(h, "caller"),
			     prov_box_field(h, "called"));
}

int prov_vm_list(struct provision *pv,
		 const Pbx__V1__ProvRequest__Voicemail *q,
		 struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);

	return prov_box_list(pv, &vm_kind, &ref, r, list_line);
}

int prov_vm_get(struct provision *pv, const Pbx__V1__ProvRequest__Voicemail *q,
		struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);

	return prov_box_read(pv, &vm_kind, &ref, PBX_MEDIA_VOICEMAIL,
			     PROV_VM_GET_MAX, r);
}

int prov_vm_heard(struct provision *pv,
		  const Pbx__V1__ProvRequest__Voicemail *q,
		  struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);
	struct pbx_vm_store st = vm_store(pv);
	struct prov_box_keys k;
	int err;

	err = prov_box_args(pv, &vm_kind, &ref, r, true, &k);
	if (!err)
		err = pbx_vm_heard(&st, ref.tenant, ref.box, ref.id);
	if (err == -ENOENT)
		return prov_fail(r, err, "no message %s in voicemail box %s",
				 ref.id, ref.box);
	return err;
}

/* The same rules as a phone's 7 (pbx_vm_box.c): unlisted and uncounted
 * in one script, the MWI job, then the file. */
int prov_vm_delete(struct provision *pv,
		   const Pbx__V1__ProvRequest__Voicemail *q,
		   struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);
	struct pbx_vm_store st = vm_store(pv);
	struct prov_box_keys k;
	int err;

	err = prov_box_args(pv, &vm_kind, &ref, r, true, &k);
	if (!err)
		err = pbx_vm_delete(&st, ref.tenant, ref.box, ref.id);
	if (err == -ENOENT)
		return prov_already_absent(r);
	return err;
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

/* The box's wrong-PIN count (the phone's lock-out, docs/voicemail.md
 * *Listening from a phone*) goes: a locked box opens to its right PIN at
 * once, and the count starts again from 0. The reply says what it was. */
int prov_vm_unlock(struct provision *pv,
		   const Pbx__V1__ProvRequest__Voicemail *q,
		   struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);
	struct prov_box_keys k;
	char key[PBX_KEY_MAX];
	long long fails = 0;
	int err;

	err = prov_box_args(pv, &vm_kind, &ref, r, false, &k);
	if (err)
		return err;
	if (pbx_key_sub_of(key, sizeof(key), ref.tenant, PBX_K_VM_PINFAIL,
			   ref.box))
		return -EINVAL;
	err = prov_store_int(pv, &fails, "GET %s", key);
	if (!err)
		err = prov_store_do(pv, "DEL %s", key);
	if (err)
		return err;
	PLOG_INFO("voicemail box %s: wrong-PIN count %lld cleared", ref.box,
		  fails);
	return prov_strv_add(&r->items, "box %s: %s (%lld wrong PINs)",
			     ref.box, fails >= PBX_VM_PIN_LOCK_AFTER
					      ? "unlocked"
					      : "was not locked",
			     fails);
}
