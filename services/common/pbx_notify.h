/* The notification job, as producers write it: one entry of the stream
 * pbx:{sys}:notify:jobs (PBX_KS_NOTIFY_JOBS) with the fields kind, tenant,
 * box and ref (services/notifier/notify_job.h says what they mean;
 * docs/services/notifier.md). One command format for every producer, so
 * the media worker (voicemail and fax) and provision write the same job. */
#ifndef PBX_NOTIFY_H
#define PBX_NOTIFY_H

/* The stream's bound: acknowledged jobs are deleted, so it holds only the
 * backlog; past this the oldest are trimmed. */
#define PBX_NOTIFY_MAXLEN "100000"

/* hiredis format: stream key, kind, tenant, box, ref. */
#define PBX_NOTIFY_XADD                                                       \
	"XADD %s MAXLEN ~ " PBX_NOTIFY_MAXLEN                                 \
	" * kind %s tenant %s box %s ref %s"

#define PBX_NOTIFY_KIND_VOICEMAIL "voicemail" /* a new message */
#define PBX_NOTIFY_KIND_MWI "mwi" /* a box's messages changed (heard, deleted) */
#define PBX_NOTIFY_KIND_FAX "fax" /* a fax stored (received, failed or partial) */
/* A call ended (box "cdr", ref: its entry id in pbx:{t}:cdr; router). */
#define PBX_NOTIFY_KIND_CDR "cdr"

#endif
