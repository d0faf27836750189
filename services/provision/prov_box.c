/* Stored media reached through a tenant's box: voicemail messages and
 * faxes. An item is reached only through its tenant and box: its id must
 * be in the box's sorted set (pbx:{<tenant>}:<kind>:box:<box>), and its
 * files' paths are built by the media store from the tenant and the id
 * alone (pbx_media_store.h), so no request reaches another tenant's item
 * or any other file. A delete drops the Redis references first, then the
 * files: Redis never names a missing file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbx_log.h"
#include "prov.h"

int prov_box_args(struct provision *pv, const struct prov_box_kind *kind,
		  const struct prov_box_ref *ref, struct prov_reply *r,
		  bool need_id, struct prov_box_keys *k)
{
	const char *tenant = prov_str(ref->tenant), *box = prov_str(ref->box);
	const char *id = prov_str(ref->id);
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_id(r, kind->box_noun, box);
	if (!err && need_id && !pbx_media_id_valid(id))
		err = prov_fail(r, -EINVAL, "%s id \"%s\" is not a %s id",
				kind->item_noun, id, kind->item_noun);
	if (err)
		return err;
	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key_sub_of(k->box, sizeof(k->box), tenant, kind->box_key,
			   box))
		return -EINVAL;
	if (need_id && pbx_key_sub_of(k->item, sizeof(k->item), tenant,
				      kind->item_key, id))
		return -EINVAL;
	return 0;
}

int prov_box_has(struct provision *pv, const struct prov_box_kind *kind,
		 const struct prov_box_keys *k, const struct prov_box_ref *ref,
		 struct prov_reply *r, bool quiet)
{
	redisReply *rep = NULL;
	bool in;
	int err;

	err = prov_store_cmd(pv, &rep, "ZSCORE %s %s", k->box, ref->id);
	if (err)
		return err;
	in = rep->type == REDIS_REPLY_STRING;
	freeReplyObject(rep);
	if (in)
		return 0;
	return quiet ? -ENOENT
		     : prov_fail(r, -ENOENT, "no %s %s in %s %s",
				 kind->item_noun, ref->id, kind->box_noun,
				 ref->box);
}

int prov_box_find(struct provision *pv, const struct prov_box_kind *kind,
		  const struct prov_box_ref *ref, struct prov_reply *r,
		  struct prov_box_keys *k)
{
	int err = prov_box_args(pv, kind, ref, r, true, k);

	return err ? err : prov_box_has(pv, kind, k, ref, r, false);
}

const char *prov_box_field(const redisReply *h, const char *name)
{
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(h->element[i]->str, name) &&
		    h->element[i + 1]->type == REDIS_REPLY_STRING)
			return h->element[i + 1]->str;
	}
	return "";
}

void prov_box_when(char *buf, size_t size, const char *time_ms)
{
	time_t t = (time_t)(strtoull(time_ms, NULL, 10) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int prov_box_list(struct provision *pv, const struct prov_box_kind *kind,
		  const struct prov_box_ref *ref, struct prov_reply *r,
		  prov_box_line_h *lineh)
{
	struct prov_strv ids = {0};
	struct prov_box_keys k;
	int err;

	err = prov_box_args(pv, kind, ref, r, false, &k);
	if (!err)
		err = prov_store_list(pv, &ids, "ZRANGE %s 0 -1", k.box);
	for (size_t i = 0; i < ids.n && !err; i++) {
		char ikey[PBX_KEY_MAX];
		redisReply *h = NULL;

		if (pbx_key_sub_of(ikey, sizeof(ikey), ref->tenant,
				   kind->item_key, ids.v[i]))
			continue;
		err = prov_store_cmd(pv, &h, "HGETALL %s", ikey);
		if (!err && h->type == REDIS_REPLY_ARRAY && h->elements)
			err = lineh(r, ids.v[i], h);
		if (h)
			freeReplyObject(h);
	}
	prov_strv_reset(&ids);
	return err;
}

int prov_box_read(struct provision *pv, const struct prov_box_kind *kind,
		  const struct prov_box_ref *ref, enum pbx_media_kind media,
		  size_t max, struct prov_reply *r)
{
	struct prov_box_keys k;
	int err;

	err = prov_box_find(pv, kind, ref, r, &k);
	if (err)
		return err;
	err = pbx_media_store_read(pv->media_root, ref->tenant, media, ref->id,
				   &r->data, &r->data_len, max);
	if (err == -EFBIG)
		return prov_fail(r, err, "%s %s is above %zu bytes",
				 kind->item_noun, ref->id, max);
	if (err == -ENOENT) {
		/* Listed but not on disk: the store was lost or moved. */
		PLOG_ERR("%s %s/%s: listed, but no file under %s",
			 kind->item_noun, ref->box, ref->id, pv->media_root);
		return prov_fail(r, -EIO, "the %s's file is missing",
				 kind->item_noun);
	}
	return err;
}

int prov_box_delete(struct provision *pv, const struct prov_box_kind *kind,
		    const struct prov_box_ref *ref, struct prov_reply *r)
{
	struct prov_box_keys k;
	int err;

	err = prov_box_args(pv, kind, ref, r, true, &k);
	if (err)
		return err;
	err = prov_box_has(pv, kind, &k, ref, r, true);
	if (err == -ENOENT)
		return prov_already_absent(r);
	if (!err && kind->before_delete)
		err = kind->before_delete(pv, ref, &k);
	if (!err)
		err = prov_store_do(pv, "ZREM %s %s", k.box, ref->id);
	if (!err)
		err = prov_store_do(pv, "DEL %s", k.item);
	if (err)
		return err;
	if (kind->changed)
		kind->changed(pv, ref);
	for (size_t i = 0; i < kind->nmedia; i++) {
		err = pbx_media_store_remove(pv->media_root, ref->tenant,
					     kind->media[i], ref->id);
		if (err && err != -ENOENT)
			PLOG_WARN("%s %s/%s: file not removed: %s",
				  kind->item_noun, ref->box, ref->id,
				  strerror(-err));
	}
	return 0;
}
