/* Call recordings: list, download, delete, through the box rules of
 * prov_box.c with the tenant's one list of recordings (PBX_REC_LIST) as
 * the box: tenant scoped, ids only, Redis before files. The media worker
 * writes them (worker_rec.c, docs/voicemail.md "Call recording"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"

/* 8 kHz 16-bit WAV: 16,000 bytes a second a channel; the longest
 * recordings (4 h mono, 2 h stereo: worker_rec.c) are 230 MB. The reply stays one bounded frame: longer ones are
 * refused with a clear error. */
#define PROV_REC_GET_MAX (256u * 1024 * 1024)

static const enum pbx_media_kind rec_media[] = {PBX_MEDIA_RECORDING};

/* Its bytes leave the tenant's count (the storage quota). */
static int rec_uncount(struct provision *pv, const struct prov_box_ref *ref,
		       const struct prov_box_keys *k)
{
	char ukey[PBX_KEY_MAX];
	long long bytes = 0;
	int err;

	if (pbx_key_of(ukey, sizeof(ukey), ref->tenant, PBX_K_REC_BYTES))
		return -EINVAL;
	err = prov_store_int(pv, &bytes, "HGET %s bytes", k->item);
	if (!err && bytes > 0)
		err = prov_store_do(pv, "DECRBY %s %lld", ukey, bytes);
	return err;
}

static const struct prov_box_kind rec_kind = {
	.box_key = PBX_K_REC_LIST,
	.item_key = PBX_K_REC_MSG,
	.box_noun = "recording list",
	.item_noun = "recording",
	.media = rec_media,
	.nmedia = 1,
	.before_delete = rec_uncount,
};

static struct prov_box_ref ref_of(const Pbx__V1__ProvRequest__Recording *q)
{
	return (struct prov_box_ref){q->tenant, PBX_REC_LIST, q->id};
}

/* "<id> <UTC time> <seconds>s from <caller> to <called> ext <extension>
 * [queue <queue>] [stereo] <bytes> bytes call <call-id>" */
static int list_line(struct prov_reply *r, const char *id,
		     const redisReply *h)
{
	unsigned ms = (unsigned)strtoul(prov_box_field(h, "duration_ms"),
					NULL, 10);
	const char *queue = prov_box_field(h, "queue");
	char when[32];

	prov_box_when(when, sizeof(when), prov_box_field(h, "time_ms"));
	return prov_strv_add(&r->items,
			     "%s %s %u.%02us from %s to %s ext %s%s%s%s %s "
			     "bytes call %s",
			     id, when, ms / 1000, ms % 1000 / 10,
			     prov_box_field(h, "caller"),
			     prov_box_field(h, "called"),
			     prov_box_field(h, "extension"),
			     queue[0] ? " queue " : "", queue,
			     !strcmp(prov_box_field(h, "channels"), "2")
				     ? " stereo"
				     : "",
			     prov_box_field(h, "bytes"),
			     prov_box_field(h, "call_id"));
}

int prov_rec_list(struct provision *pv,
		  const Pbx__V1__ProvRequest__Recording *q,
		  struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);

	return prov_box_list(pv, &rec_kind, &ref, r, list_line);
}

int prov_rec_get(struct provision *pv,
		 const Pbx__V1__ProvRequest__Recording *q,
		 struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);

	return prov_box_read(pv, &rec_kind, &ref, PBX_MEDIA_RECORDING,
			     PROV_REC_GET_MAX, r);
}

int prov_rec_delete(struct provision *pv,
		    const Pbx__V1__ProvRequest__Recording *q,
		    struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);

	return prov_box_delete(pv, &rec_kind, &ref, r);
}
