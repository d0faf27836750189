/* What a notification says about its item: the hash the media worker
 * wrote (pbx:{<tenant>}:vm:msg:<ref> for voicemail, fax:msg:<ref> for a
 * fax; the kinds table says which). Everything in it may come from a SIP
 * header or a fax machine (caller, the sender's TSI), so it is cut to
 * safe characters before it goes into an e-mail or a webhook. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifier_priv.h"

static void safe_copy(char *dst, size_t size, const redisReply *v,
		      const char *allowed)
{
	size_t i = 0;

	if (v->type != REDIS_REPLY_STRING) {
		dst[0] = '\0';
		return;
	}
	for (; v->str[i] && i + 1 < size; i++) {
		char c = v->str[i];

		dst[i] = c && strchr(allowed, c) ? c : '?';
	}
	dst[i] = '\0';
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define NUMBER_CHARS ALNUM "+*#._@-"
#define TEXT_CHARS ALNUM " +*#._@-,:;()/'!?="

static unsigned long num(const redisReply *v)
{
	return v->type == REDIS_REPLY_STRING ? strtoul(v->str, NULL, 10) : 0;
}

/* The hash's fields, in HMGET's order. */
enum {
	F_CALLER, F_CALLED, F_TIME, F_DURATION, F_BOX,
	F_VM_COUNT, /* voicemail reads these; a fax also: */
	F_REMOTE = F_VM_COUNT, F_PAGES, F_RESULT, F_RESULT_TEXT, F_RESOL,
	F_RATE, F_ECM, F_TRANSPORT, F_FILES, F_FAX_COUNT
};

int notifier_msg_load(struct notifier *n, const struct notify_job *j,
		      struct notify_msg *m)
{
	const struct notify_kind *k = notify_job_kind_of(j);
	bool fax = k && k->item == NOTIFY_ITEM_FAX;
	size_t want = fax ? F_FAX_COUNT : F_VM_COUNT;
	char key[PBX_KEY_MAX];
	redisReply *r, *const *e;
	int err = 0;

	memset(m, 0, sizeof(*m));
	if (!k || pbx_key_sub_of(key, sizeof(key), j->tenant, k->msg_key,
				 j->ref))
		return -EINVAL;
	/* hiredis splits the format, not its arguments: two formats. */
	r = fax ? notifier_cmd(n,
			       "HMGET %s caller called time_ms duration_ms "
			       "box remote_id pages result result_text "
			       "resolution bit_rate ecm transport files",
			       key)
		: notifier_cmd(n,
			       "HMGET %s caller called time_ms duration_ms box",
			       key);
	if (!r)
		return -EIO;
	e = r->element;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != want) {
		err = -EIO;
	} else if (e[F_TIME]->type != REDIS_REPLY_STRING ||
		   e[F_BOX]->type != REDIS_REPLY_STRING ||
		   strcmp(e[F_BOX]->str, j->box)) {
		/* Deleted, or not this box's: nothing to announce. */
		err = -ENOENT;
	} else {
		safe_copy(m->caller, sizeof(m->caller), e[F_CALLER],
			  NUMBER_CHARS);
		safe_copy(m->called, sizeof(m->called), e[F_CALLED],
			  NUMBER_CHARS);
		m->time_ms = strtoull(e[F_TIME]->str, NULL, 10);
		m->duration_ms = (uint32_t)num(e[F_DURATION]);
	}
	if (!err && fax) {
		safe_copy(m->remote_id, sizeof(m->remote_id), e[F_REMOTE],
			  TEXT_CHARS);
		safe_copy(m->result_text, sizeof(m->result_text),
			  e[F_RESULT_TEXT], TEXT_CHARS);
		safe_copy(m->resolution, sizeof(m->resolution), e[F_RESOL],
			  ALNUM);
		safe_copy(m->transport, sizeof(m->transport), e[F_TRANSPORT],
			  ALNUM);
		safe_copy(m->files, sizeof(m->files), e[F_FILES], ALNUM ",");
		m->pages = (uint32_t)num(e[F_PAGES]);
		m->bit_rate = (uint32_t)num(e[F_RATE]);
		m->ecm = num(e[F_ECM]) != 0;
		m->result = e[F_RESULT]->type == REDIS_REPLY_STRING
				    ? atoi(e[F_RESULT]->str)
				    : -1;
	}
	freeReplyObject(r);
	return err;
}
