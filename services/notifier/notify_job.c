/* Parsing and checking notification jobs (notify_job.h): a job comes
 * from Redis, so nothing in it is trusted until checked here. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "notify_job.h"

/* The kinds of event the notifier announces: one row each, with what a
 * channel needs to know of it (the webhook's event name, the box object
 * and the hash that describe the item, where its file lives). */
#define CH(c) (1u << (c))
static const struct notify_kind kinds[] = {
	{"voicemail", "voicemail", NOTIFY_ITEM_VOICEMAIL, PBX_MEDIA_VOICEMAIL,
	 "voicemail_box", PBX_K_VM_MSG,
	 CH(NOTIFY_CH_EMAIL) | CH(NOTIFY_CH_WEBHOOK) | CH(NOTIFY_CH_MWI)},
	{"mwi", "mwi", NOTIFY_ITEM_VOICEMAIL, PBX_MEDIA_VOICEMAIL,
	 "voicemail_box", PBX_K_VM_MSG, CH(NOTIFY_CH_MWI)},
	/* A fax stored (received or failed): the file attached is the
	 * box's format (fax_box `format`: PBX_MEDIA_FAX_PDF or the TIFF). */
	{"fax", "fax.received", NOTIFY_ITEM_FAX, PBX_MEDIA_FAX_PDF, "fax_box",
	 PBX_K_FAX_MSG, CH(NOTIFY_CH_EMAIL) | CH(NOTIFY_CH_WEBHOOK)},
	/* A call ended (the router, route_cdr.c): the record itself is
	 * the event; no file, no e-mail. */
	{"cdr", "call.ended", NOTIFY_ITEM_CDR, PBX_MEDIA_KIND_COUNT, "",
	 PBX_K_CDR, CH(NOTIFY_CH_WEBHOOK)},
};

const char *const notify_channel_names[NOTIFY_CH_COUNT] = {
	[NOTIFY_CH_EMAIL] = "email",
	[NOTIFY_CH_WEBHOOK] = "webhook",
	[NOTIFY_CH_MWI] = "mwi",
};

int notify_job_kind(const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(kinds[i].name, kind))
			return (int)i;
	}
	return -EINVAL;
}

const struct notify_kind *notify_job_kind_of(const struct notify_job *j)
{
	int k = notify_job_kind(j->kind);

	return k < 0 ? NULL : &kinds[k];
}

enum pbx_media_kind notify_job_media(const struct notify_job *j)
{
	const struct notify_kind *k = notify_job_kind_of(j);

	return k ? k->media : PBX_MEDIA_KIND_COUNT;
}

unsigned notify_job_channels(const struct notify_job *j)
{
	const struct notify_kind *k = notify_job_kind_of(j);

	return k ? k->channels : 0;
}

int notify_job_channel(const char *channel)
{
	for (int i = 0; i < NOTIFY_CH_COUNT; i++) {
		if (!strcmp(notify_channel_names[i], channel))
			return i;
	}
	return -EINVAL;
}

/* Copies a field's value into dst (size), -EINVAL if it does not fit. */
static int copy(char *dst, size_t size, const redisReply *v)
{
	if (v->type != REDIS_REPLY_STRING || v->len >= size)
		return -EINVAL;
	memcpy(dst, v->str, v->len);
	dst[v->len] = '\0';
	return 0;
}

static bool stream_id_valid(const char *id)
{
	unsigned long long ms, seq;
	char end;

	return id && strlen(id) < NOTIFY_STREAM_ID_MAX &&
	       sscanf(id, "%llu-%llu%c", &ms, &seq, &end) == 2;
}

int notify_job_parse(struct notify_job *j, const char *id,
		     const redisReply *fields)
{
	static const struct {
		const char *name;
		size_t off, size;
	} map[] = {
#define F(n) {#n, offsetof(struct notify_job, n), sizeof(((struct notify_job *)0)->n)}
		F(kind), F(tenant), F(box), F(ref), F(channel), F(src),
#undef F
	};

	memset(j, 0, sizeof(*j));
	if (!stream_id_valid(id) || !fields ||
	    fields->type != REDIS_REPLY_ARRAY || fields->elements % 2)
		return -EINVAL;
	snprintf(j->id, sizeof(j->id), "%s", id);
	for (size_t i = 0; i < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];

		if (k->type != REDIS_REPLY_STRING)
			return -EINVAL;
		for (size_t m = 0; m < sizeof(map) / sizeof(map[0]); m++) {
			if (strcmp(k->str, map[m].name))
				continue;
			if (copy((char *)j + map[m].off, map[m].size,
				 fields->element[i + 1]))
				return -EINVAL;
		}
	}
	if (notify_job_kind(j->kind) < 0 || !pbx_tenant_valid(j->tenant) ||
	    !pbx_id_valid(j->box) || !pbx_media_id_valid(j->ref))
		return -EINVAL;
	if (j->channel[0] &&
	    (notify_job_channel(j->channel) < 0 || !stream_id_valid(j->src)))
		return -EINVAL;
	return 0;
}
