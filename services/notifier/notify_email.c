/* The e-mail channel: the box's `email` gets a message about the new
 * item: a voicemail, with the WAV attached when the box says `attach`, or
 * a fax, with its pages attached as the fax box's `format` says (PDF or
 * TIFF). A file larger than attach_max_bytes is announced without it.
 * Sent with libcurl's SMTP to the notifier's smtp_url. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notifier_priv.h"
#include "notify_curl.h"
#include "notify_mime.h"
#include "pbx_log.h"

struct box_conf {
	char email[NOTIFY_ADDR_MAX + 1];
	bool attach;   /* voicemail: the box's attach; fax: always */
	bool tiff;     /* fax: format "tiff" */
};

/* The box object's email, attach and format; -ENOENT when the box is
 * gone. */
static int box_load(struct notifier *n, const struct notify_job *j,
		    const struct notify_kind *k, struct box_conf *b)
{
	char key[PBX_KEY_MAX];
	json_error_t jerr;
	json_t *doc, *v;
	redisReply *r;

	memset(b, 0, sizeof(*b));
	if (pbx_key_of(key, sizeof(key), j->tenant, PBX_K_OBJECTS))
		return -EINVAL;
	r = notifier_cmd(n, "HGET %s %s:%s", key, k->object, j->box);
	if (!r)
		return -EIO;
	if (r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return -ENOENT;
	}
	doc = json_loadb(r->str, r->len, 0, &jerr);
	freeReplyObject(r);
	if (!doc)
		return -ENOENT;
	v = json_object_get(doc, "email");
	if (json_is_string(v))
		snprintf(b->email, sizeof(b->email), "%s",
			 json_string_value(v));
	if (k->item == NOTIFY_ITEM_FAX) {
		v = json_object_get(doc, "format");
		b->attach = true;
		b->tiff = json_is_string(v) &&
			  !strcmp(json_string_value(v), "tiff");
	} else {
		b->attach = json_is_true(json_object_get(doc, "attach"));
	}
	json_decref(doc);
	return 0;
}

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct delivery *d = arg;
	size_t n = size * nmemb;

	if (n > d->len - d->off)
		n = d->len - d->off;
	memcpy(buf, d->payload + d->off, n);
	d->off += n;
	return n;
}

static void sent(CURLcode res, long code, const char *err, void *arg)
{
	struct delivery *d = arg;
	char why[256];

	if (res == CURLE_OK) {
		notifier_done(d, true, NULL);
		return;
	}
	snprintf(why, sizeof(why), "smtp: %s (%ld)", err, code);
	notifier_done(d, false, why);
}

/* The file to attach and how it is named; media is
 * PBX_MEDIA_KIND_COUNT when there is none (voicemail without attach, a
 * fax without a whole page). */
struct attachment {
	enum pbx_media_kind media;
	const char *type, *ext, *prefix;
};

static struct attachment attachment_of(const struct notify_kind *k,
				       const struct box_conf *b,
				       const struct notify_msg *m)
{
	struct attachment none = {.media = PBX_MEDIA_KIND_COUNT};

	if (!b->attach)
		return none;
	if (k->item == NOTIFY_ITEM_VOICEMAIL)
		return (struct attachment){PBX_MEDIA_VOICEMAIL, "audio/wav",
					   "wav", "voicemail"};
	/* A fax: the box's format; the TIFF when the PDF could not be made
	 * (files "tif"), nothing when no page arrived (files ""). */
	if (!b->tiff && strstr(m->files, "pdf"))
		return (struct attachment){PBX_MEDIA_FAX_PDF,
					   "application/pdf", "pdf", "fax"};
	if (strstr(m->files, "tif"))
		return (struct attachment){PBX_MEDIA_FAX, "image/tiff", "tif",
					   "fax"};
	return none;
}

/* Subject and text of the mail. */
static void describe(char *subject, size_t ssize, char *text, size_t tsize,
		     const struct notify_kind *k, const struct notify_job *j,
		     const struct notify_msg *m, const char *when,
		     const char *note)
{
	const char *from = m->caller[0] ? m->caller : "unknown";

	if (k->item == NOTIFY_ITEM_VOICEMAIL) {
		snprintf(subject, ssize, "New voicemail from %s (%u s)", from,
			 (m->duration_ms + 500) / 1000);
		snprintf(text, tsize,
			 "A new message in voicemail box %s.\n\n"
			 "From:     %s\nTo:       %s\nReceived: %s\n"
			 "Length:   %u.%01u s\nMessage:  %s\n%s",
			 j->box, from, m->called, when, m->duration_ms / 1000,
			 m->duration_ms % 1000 / 100, j->ref, note);
		return;
	}
	snprintf(subject, ssize, "%s from %s (%u page%s)",
		 m->result ? "Incomplete fax" : "Fax", from, m->pages,
		 m->pages == 1 ? "" : "s");
	snprintf(text, tsize,
		 "A %sfax in fax box %s.\n\n"
		 "From:     %s%s%s%s\nTo:       %s\nReceived: %s\n"
		 "Pages:    %u (%s dpi)\nSpeed:    %u bit/s%s over %s\n"
		 "Result:   %s (T.30 code %d)\nFax:      %s\n%s",
		 m->result ? "failed or partial " : "new ", j->box, from,
		 m->remote_id[0] ? " (" : "", m->remote_id,
		 m->remote_id[0] ? ")" : "", m->called, when, m->pages,
		 m->resolution[0] ? m->resolution : "?", m->bit_rate,
		 m->ecm ? ", ECM" : "", m->transport[0] ? m->transport : "?",
		 m->result_text[0] ? m->result_text : "?", m->result, j->ref,
		 note);
}

static int build(struct delivery *d, const struct notify_msg *m,
		 const struct box_conf *b)
{
	struct notifier *n = d->n;
	const struct notify_job *j = &d->job;
	const struct notify_kind *k = notify_job_kind_of(j);
	struct attachment a = attachment_of(k, b, m);
	char subject[160], text[1024], when[40], mid[160], name[80];
	time_t t = (time_t)(m->time_ms / 1000);
	uint8_t *file = NULL;
	size_t filelen = 0;
	const char *note = "";
	struct tm tm;
	int err;

	if (a.media != PBX_MEDIA_KIND_COUNT) {
		err = pbx_media_store_read(n->conf->media_root, j->tenant,
					   a.media, j->ref, &file, &filelen,
					   (size_t)n->conf->attach_max_bytes);
		if (err == -EFBIG)
			note = k->item == NOTIFY_ITEM_FAX
				       ? "\nThe fax is too large to attach; "
					 "fetch it with pbxctl fax get.\n"
				       : "\nThe recording is too long to "
					 "attach; fetch it with pbxctl vm "
					 "get.\n";
		else if (err == -ENOENT)
			return -ENOENT; /* deleted meanwhile */
		else if (err)
			return err;
	} else if (k->item == NOTIFY_ITEM_FAX) {
		note = "\nNo whole page was received.\n";
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	describe(subject, sizeof(subject), text, sizeof(text), k, j, m, when,
		 note);
	snprintf(mid, sizeof(mid), "%s.%s.%s", j->ref, j->channel,
		 j->tenant);
	for (char *p = mid; *p; p++)
		if (*p == '_')
			*p = '-';
	snprintf(name, sizeof(name), "%s-%s.%s", a.prefix ? a.prefix : "",
		 j->ref, a.ext ? a.ext : "");
	err = notify_mime_build(
		&(struct notify_mail){
			.from = n->conf->smtp_from,
			.to = b->email,
			.subject = subject,
			.text = text,
			.message_id = mid,
			.date_ms = m->time_ms,
			.attach_name = file ? name : NULL,
			.attach_type = a.type,
			.attach = file,
			.attach_len = filelen,
		},
		&d->payload, &d->len);
	free(file);
	return err;
}

int notify_email_start(struct delivery *d, const char **why)
{
	struct notifier *n = d->n;
	const struct notifier_conf *c = n->conf;
	struct notify_msg m;
	struct box_conf b;
	char addr[PBX_CFG_STRLEN + 3];
	CURL *easy;
	int err;

	err = box_load(n, &d->job, notify_job_kind_of(&d->job), &b);
	if (err == -ENOENT || (!err && !b.email[0])) {
		*why = "the box has no email";
		return NOTIFY_NOTHING;
	}
	if (!err && !notify_mime_addr_valid(b.email)) {
		*why = "the box's email is not an address we send to";
		return NOTIFY_NOTHING;
	}
	if (!err)
		err = notifier_msg_load(n, &d->job, &m);
	if (!err)
		err = build(d, &m, &b);
	if (err == -ENOENT) {
		*why = "the message was deleted";
		return NOTIFY_NOTHING;
	}
	if (err) {
		*why = err == -EIO ? "redis unavailable" : NULL;
		return err;
	}
	easy = curl_easy_init();
	if (!easy)
		return -ENOMEM;
	snprintf(addr, sizeof(addr), "<%s>", b.email);
	d->list = curl_slist_append(NULL, addr);
	if (!d->list) {
		curl_easy_cleanup(easy);
		return -ENOMEM;
	}
	snprintf(addr, sizeof(addr), "<%s>", c->smtp_from);
	curl_easy_setopt(easy, CURLOPT_URL, c->smtp_url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(easy, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, d->list);
	curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(easy, CURLOPT_READDATA, d);
	curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->len);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, notifier_discard);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_USE_SSL,
			 !strcmp(c->smtp_tls, "all")   ? (long)CURLUSESSL_ALL
			 : !strcmp(c->smtp_tls, "try") ? (long)CURLUSESSL_TRY
						       : (long)CURLUSESSL_NONE);
	if (c->smtp_user[0]) {
		curl_easy_setopt(easy, CURLOPT_USERNAME, c->smtp_user);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, n->smtp_password);
	}
	PLOG_INFO("notify %s: mail to %s about %s/%s (%zu bytes, attempt %u)",
		  d->job.id, b.email, d->job.box, d->job.ref, d->len,
		  d->attempt);
	return notify_curl_start(n->curl, easy, sent, d);
}
