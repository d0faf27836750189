/* Received faxes: list, download (PDF or TIFF), delete, through the box
 * rules of prov_box.c (tenant and box scoped, Redis before files). The
 * media worker writes them (docs/fax.md); a failed fax is listed with its
 * T.30 result and may have no file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"

/* A fax page is 20-100 KB as TIFF; 500 pages stay below this. */
#define PROV_FAX_GET_MAX (64u * 1024 * 1024)

static const enum pbx_media_kind fax_media[] = {PBX_MEDIA_FAX,
						PBX_MEDIA_FAX_PDF};

/* Its bytes leave the box's count (the box's max_bytes quota). */
static int fax_uncount(struct provision *pv, const struct prov_box_ref *ref,
		       const struct prov_box_keys *k)
{
	char ukey[PBX_KEY_MAX];
	long long bytes = 0;
	int err;

	if (pbx_key_sub_of(ukey, sizeof(ukey), ref->tenant, PBX_K_FAX_BYTES,
			   ref->box))
		return -EINVAL;
	err = prov_store_int(pv, &bytes, "HGET %s bytes", k->item);
	if (!err && bytes > 0)
		err = prov_store_do(pv, "DECRBY %s %lld", ukey, bytes);
	return err;
}

static const struct prov_box_kind fax_kind = {
	.box_key = PBX_K_FAX_BOX,
	.item_key = PBX_K_FAX_MSG,
	.box_noun = "fax box",
	.item_noun = "fax",
	.media = fax_media,
	.nmedia = 2,
	.before_delete = fax_uncount,
};

static struct prov_box_ref ref_of(const Pbx__V1__ProvRequest__Fax *q)
{
	return (struct prov_box_ref){q->tenant, q->box, q->id};
}

/* "<id> <status> <UTC time> <pages> pages <seconds>s from <caller>
 * (<remote id>) to <called> <resolution> <bit/s> ecm|noecm <files|-> <OK
 * or the T.30 result> " */
static int list_line(struct prov_reply *r, const char *id,
		     const redisReply *h)
{
	const char *files = prov_box_field(h, "files");
	int result = atoi(prov_box_field(h, "result"));
	unsigned ms = (unsigned)strtoul(prov_box_field(h, "duration_ms"),
					NULL, 10);
	char when[32];

	prov_box_when(when, sizeof(when), prov_box_field(h, "time_ms"));
	return prov_strv_add(
		&r->items,
		"%s %s %s %s pages %us from %s (%s) to %s %s dpi %s bit/s "
		"%s %s %s",
		id, prov_box_field(h, "status"), when,
		prov_box_field(h, "pages"), ms / 1000,
		prov_box_field(h, "caller"), prov_box_field(h, "remote_id"),
		prov_box_field(h, "called"), prov_box_field(h, "resolution"),
		prov_box_field(h, "bit_rate"),
		strcmp(prov_box_field(h, "ecm"), "1") ? "noecm" : "ecm",
		files[0] ? files : "-",
		result ? prov_box_field(h, "result_text") : "OK");
}

int prov_fax_list(struct provision *pv, const Pbx__V1__ProvRequest__Fax *q,
		  struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);

	return prov_box_list(pv, &fax_kind, &ref, r, list_line);
}

/* Is "tif" or "pdf" among the comma-separated files of the fax? */
static bool has_file(const char *files, const char *ext)
{
	size_t n = strlen(ext);

	for (const char *p = files; p && *p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, ext, n) && (p[n] == ',' || !p[n]))
			return true;
	}
	return false;
}

int prov_fax_get(struct provision *pv, const Pbx__V1__ProvRequest__Fax *q,
		 struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);
	const char *fmt = prov_str(q->format);
	struct prov_box_keys k;
	redisReply *h = NULL;
	char files[32] = "";
	int err;

	if (fmt[0] && strcmp(fmt, "pdf") && strcmp(fmt, "tif"))
		return prov_fail(r, -EINVAL,
				 "fax format \"%s\" is not pdf or tif", fmt);
	err = prov_box_find(pv, &fax_kind, &ref, r, &k);
	if (!err)
		err = prov_store_cmd(pv, &h, "HGET %s files", k.item);
	if (err)
		return err;
	if (h->type == REDIS_REPLY_STRING)
		snprintf(files, sizeof(files), "%s", h->str);
	freeReplyObject(h);
	if (!fmt[0])
		fmt = has_file(files, "pdf") ? "pdf" : "tif";
	if (!has_file(files, fmt))
		return prov_fail(r, -ENOENT, "fax %s has no %s file%s", q->id,
				 fmt, files[0] ? "" : " (no page was received)");
	return prov_box_read(pv, &fax_kind, &ref,
			     strcmp(fmt, "pdf") ? PBX_MEDIA_FAX
						: PBX_MEDIA_FAX_PDF,
			     PROV_FAX_GET_MAX, r);
}

int prov_fax_delete(struct provision *pv, const Pbx__V1__ProvRequest__Fax *q,
		    struct prov_reply *r)
{
	struct prov_box_ref ref = ref_of(q);

	return prov_box_delete(pv, &fax_kind, &ref, r);
}
