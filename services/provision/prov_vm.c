/* Voicemail messages: list, download, mark heard, delete, through the
 * box rules of prov_box.c (tenant and box scoped, Redis before files). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prov.h"

/* 8 kHz 16-bit WAV: 16,000 bytes a second, so 3600 s (the longest
 * message) is 57.6 MB; the reply stays one bounded frame. */
#define PROV_VM_GET_MAX (64u * 1024 * 1024)

static const enum pbx_media_kind vm_media[] = {PBX_MEDIA_VOICEMAIL};

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
	struct prov_box_keys k;
	int err;

	err = prov_box_find(pv, &vm_kind, &ref, r, &k);
	if (!err)
		err = prov_store_do(pv, "HSET %s status heard", k.item);
	return err;
}

int prov_vm_delete(struct provision *pv,
		   const Pbx__V1__ProvRequest__Voicemail *q,
		   struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);

	return prov_box_delete(pv, &vm_kind, &ref, r);
}
