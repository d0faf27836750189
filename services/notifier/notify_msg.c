/* What a notification says about its message: the voicemail hash
 * pbx:{<tenant>}:vm:msg:<ref> the media worker wrote. The caller's number
 * comes from a SIP header, so it is cut to safe characters before it goes
 * into an e-mail or a webhook. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifier_priv.h"

static void safe_copy(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < size; i++) {
		char c = src[i];

		dst[i] = strchr("abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+*#._@-",
				c)
				 ? c
				 : '?';
	}
	dst[i] = '\0';
}

int notifier_msg_load(struct notifier *n, const struct notify_job *j,
		      struct notify_msg *m)
{
	char key[PBX_KEY_MAX];
	redisReply *r;
	int err = 0;

	memset(m, 0, sizeof(*m));
	if (pbx_key_sub_of(key, sizeof(key), j->tenant, PBX_K_VM_MSG, j->ref))
		return -EINVAL;
	r = notifier_cmd(n, "HMGET %s caller called time_ms duration_ms box",
			 key);
	if (!r)
		return -EIO;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
		err = -EIO;
	} else if (r->element[2]->type != REDIS_REPLY_STRING ||
		   r->element[4]->type != REDIS_REPLY_STRING ||
		   strcmp(r->element[4]->str, j->box)) {
		/* Deleted, or not this box's: nothing to announce. */
		err = -ENOENT;
	} else {
		if (r->element[0]->type == REDIS_REPLY_STRING)
			safe_copy(m->caller, sizeof(m->caller),
				  r->element[0]->str);
		if (r->element[1]->type == REDIS_REPLY_STRING)
			safe_copy(m->called, sizeof(m->called),
				  r->element[1]->str);
		m->time_ms = strtoull(r->element[2]->str, NULL, 10);
		if (r->element[3]->type == REDIS_REPLY_STRING)
			m->duration_ms = (uint32_t)strtoul(r->element[3]->str,
							   NULL, 10);
	}
	freeReplyObject(r);
	return err;
}
