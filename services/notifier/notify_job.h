/* The notification job: one entry of the stream pbx:{sys}:notify:jobs.
 * Generic, so every producer speaks it (voicemail, fax):
 *   kind    what happened: "voicemail" (a new message: e-mail, webhook,
 *           MWI), "mwi" (a box's messages changed: MWI only), "fax" (a
 *           fax stored: e-mail, webhook) or "cdr" (a call ended: webhook;
 *           box "cdr", ref the record's stream id); selects the kind's
 *           table row
 *   tenant  whose it is
 *   box     the box the item is in (a voicemail or fax box)
 *   ref     the item's id in the media store (the message or fax id)
 *   channel absent in a producer's job; the notifier fans that out into
 *           one job per channel ("email", "webhook", "mwi"), each retried on
 *           its own, so a failing webhook never sends the mail twice
 *   src     in a channel job: the id of the producer's job (the event
 *           id a webhook receiver deduplicates on)
 * The details (caller, duration, address, URL) are read when the job is
 * delivered, so a job is small and a message deleted meanwhile is not
 * announced. */
#ifndef NOTIFY_JOB_H
#define NOTIFY_JOB_H
#include <hiredis/hiredis.h>

#include "pbx_keys.h"
#include "pbx_media_store.h"

#define NOTIFY_STREAM_ID_MAX 48
#define NOTIFY_NAME_MAX 16

struct notify_job {
	char id[NOTIFY_STREAM_ID_MAX]; /* this entry's stream id */
	char kind[NOTIFY_NAME_MAX];
	char tenant[PBX_ID_MAX + 1];
	char box[PBX_ID_MAX + 1];
	char ref[PBX_MEDIA_ID_MAX];
	char channel[NOTIFY_NAME_MAX]; /* "" in a producer's job */
	char src[NOTIFY_STREAM_ID_MAX];
};

/* Fills j from a stream entry's id and its field/value array. Every
 * field is checked (tenant and box are ids, ref a media id, kind and
 * channel known names): 0 or -EINVAL. */
int notify_job_parse(struct notify_job *j, const char *id,
		     const redisReply *fields);

/* Whether kind / channel names one the notifier serves. */
int notify_job_kind(const char *kind);       /* index, or -EINVAL */
int notify_job_channel(const char *channel); /* index, or -EINVAL */
/* Where a parsed job's ref lives in the media store. */
enum pbx_media_kind notify_job_media(const struct notify_job *j);

/* What the item of a kind is. */
enum notify_item {
	NOTIFY_ITEM_VOICEMAIL, /* a voicemail message (vm:msg, a WAV) */
	NOTIFY_ITEM_FAX,       /* a fax (fax:msg, a PDF or TIFF) */
	NOTIFY_ITEM_CDR,       /* a call record (the entry ref of the
				* tenant's stream pbx:{t}:cdr; box "cdr") */
};
/* A kind's row of the table in notify_job.c. */
struct notify_kind {
	const char *name;        /* the job's kind */
	const char *event;       /* the webhook's X-Pbx-Event */
	enum notify_item item;
	enum pbx_media_kind media; /* the attached file's media kind */
	const char *object;      /* the box's object type */
	enum pbx_tkey msg_key;   /* the item's hash (a sub-key: ref) */
	unsigned channels;       /* bit per enum notify_channel */
};
/* The row of a parsed job's kind; NULL for an unknown one. */
const struct notify_kind *notify_job_kind_of(const struct notify_job *j);

enum notify_channel {
	NOTIFY_CH_EMAIL,
	NOTIFY_CH_WEBHOOK,
	NOTIFY_CH_MWI,
	NOTIFY_CH_COUNT
};
/* The channels a producer's job of this kind fans out to (bit per
 * enum notify_channel). */
unsigned notify_job_channels(const struct notify_job *j);
extern const char *const notify_channel_names[NOTIFY_CH_COUNT];

#endif
