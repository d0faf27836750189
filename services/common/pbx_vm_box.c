/* Voicemail message changes shared by provisioning and the media worker
 * (pbx_vm_box.h): one script each on the tenant's slot, the MWI job, the
 * file last; and a field of a box's object set from a phone. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_media_store.h"
#include "pbx_notify.h"
#include "pbx_vm_box.h"

/* KEYS box, message; ARGV id. 1 marked, 0 not in the box. */
static const char heard_lua[] =
	"if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end "
	"redis.call('HSET', KEYS[2], 'status', 'heard') return 1";

/* KEYS box, message, the tenant's bytes; ARGV id. 1 deleted, 0 not in
 * the box. */
static const char delete_lua[] =
	"if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end "
	"local b = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0') "
	"if b and b > 0 then redis.call('DECRBY', KEYS[3], b) end "
	"redis.call('ZREM', KEYS[1], ARGV[1]) redis.call('DEL', KEYS[2]) "
	"return 1";

static int raw(const struct pbx_vm_store *s, struct redisReply **rp,
	       const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = s->cmd(s->arg, rp, fmt, ap);
	va_end(ap);
	return err;
}

static int run(const struct pbx_vm_store *s, long long *v, const char *fmt,
	       ...)
{
	struct redisReply *r = NULL;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = s->cmd(s->arg, &r, fmt, ap);
	va_end(ap);
	if (err)
		return err;
	if (r->type == REDIS_REPLY_ERROR)
		err = -EIO;
	else if (v)
		*v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	freeReplyObject(r);
	return err;
}

/* The box's counts changed: the notifier's MWI tells the phones that
 * watch it. Best effort: the change is done, and a phone's next refresh
 * shows the counts anyway (logged). */
static void changed(const struct pbx_vm_store *s, const char *tenant,
		    const char *box, const char *id)
{
	char key[PBX_KEY_MAX];

	if (pbx_key_sys_of(key, sizeof(key), PBX_KS_NOTIFY_JOBS) ||
	    run(s, NULL, PBX_NOTIFY_XADD, key, PBX_NOTIFY_KIND_MWI, tenant,
		box, id))
		PLOG_WARN("voicemail %s/%s: no MWI job", box, id);
}

static int keys(char *bkey, char *mkey, size_t size, const char *tenant,
		const char *box, const char *id)
{
	if (!pbx_id_valid(box) || !pbx_media_id_valid(id) ||
	    pbx_key_sub_of(bkey, size, tenant, PBX_K_VM_BOX, box) ||
	    pbx_key_sub_of(mkey, size, tenant, PBX_K_VM_MSG, id))
		return -EINVAL;
	return 0;
}

int pbx_vm_heard(const struct pbx_vm_store *s, const char *tenant,
		 const char *box, const char *id)
{
	char bkey[PBX_KEY_MAX], mkey[PBX_KEY_MAX];
	long long done = 0;
	int err;

	err = keys(bkey, mkey, sizeof(bkey), tenant, box, id);
	if (!err)
		err = run(s, &done, "EVAL %s 2 %s %s %s", heard_lua, bkey,
			  mkey, id);
	if (err)
		return err;
	if (!done)
		return -ENOENT;
	changed(s, tenant, box, id);
	return 0;
}

int pbx_vm_delete(const struct pbx_vm_store *s, const char *tenant,
		  const char *box, const char *id)
{
	char bkey[PBX_KEY_MAX], mkey[PBX_KEY_MAX], ukey[PBX_KEY_MAX];
	long long done = 0;
	int err;

	err = keys(bkey, mkey, sizeof(bkey), tenant, box, id);
	if (!err && pbx_key_of(ukey, sizeof(ukey), tenant, PBX_K_VM_BYTES))
		err = -EINVAL;
	if (!err)
		err = run(s, &done, "EVAL %s 3 %s %s %s %s", delete_lua, bkey,
			  mkey, ukey, id);
	if (err)
		return err;
	if (!done)
		return -ENOENT;
	changed(s, tenant, box, id);
	err = pbx_media_store_remove(s->media_root, tenant,
				     PBX_MEDIA_VOICEMAIL, id);
	if (err && err != -ENOENT)
		PLOG_WARN("voicemail %s/%s: file not removed: %s", box, id,
			  strerror(-err));
	return 0;
}

/* KEYS objects hash, revision; ARGV field, the document read (""
 * none), the new one. Written only if the object is still what was read
 * (a pbxctl object put in between wins; the caller reads again), and the
 * revision moves with it as for every object write (prov_object.c): the
 * routers' compiled objects follow. 1 written, 0 changed meanwhile. */
static const char swap_lua[] =
	"if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then "
	"return 0 end "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) "
	"redis.call('INCR', KEYS[2]) return 1";

/* The box's document (malloc'd, "" when it has none) into *jp. */
static int box_read(const struct pbx_vm_store *s, const char *okey,
		    const char *box, char **jp)
{
	struct redisReply *r = NULL;
	int err = raw(s, &r, "HGET %s voicemail_box:%s", okey, box);

	if (err)
		return err;
	if (r->type == REDIS_REPLY_STRING)
		*jp = strndup(r->str, r->len);
	else if (r->type == REDIS_REPLY_NIL)
		*jp = strdup("");
	else
		err = -EIO;
	freeReplyObject(r);
	if (!err && !*jp)
		err = -ENOMEM;
	return err;
}

int pbx_vm_box_set(const struct pbx_vm_store *s, const char *tenant,
		   const char *box, const char *field, const char *value,
		   pbx_vm_check_h *check)
{
	char okey[PBX_KEY_MAX], rkey[PBX_KEY_MAX];
	long long done = 0;
	int err = 0;

	if (!pbx_id_valid(box) || !field || !value || !check ||
	    pbx_key_of(okey, sizeof(okey), tenant, PBX_K_OBJECTS) ||
	    pbx_key_of(rkey, sizeof(rkey), tenant, PBX_K_OBJECTS_REV))
		return -EINVAL;
	/* Twice: once more if the document changed under us. */
	for (int attempt = 0; !err && !done && attempt < 2; attempt++) {
		char *old = NULL, *doc = NULL;
		json_t *o = NULL;

		err = box_read(s, okey, box, &old);
		if (!err) {
			o = old[0] ? json_loads(old, 0, NULL) : json_object();
			if (!json_is_object(o) ||
			    json_object_set_new(o, field, json_string(value)))
				err = -EPROTO;
		}
		if (!err) {
			doc = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
			err = doc ? check(doc) : -ENOMEM;
		}
		if (!err)
			err = run(s, &done, "EVAL %s 2 %s %s voicemail_box:%s "
				  "%s %s",
				  swap_lua, okey, rkey, box, old, doc);
		json_decref(o);
		free(old);
		free(doc);
	}
	if (!err && !done)
		err = -EAGAIN;
	return err;
}
