/* The webhook channel: a JSON POST to the tenant's webhook_url, signed
 * with its webhook_secret (notify_sign.h). Only a 2xx answer counts as
 * delivered; redirects are not followed and only http and https are
 * spoken, so a URL cannot turn the notifier into a client of anything
 * else. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifier_priv.h"
#include "notify_addr.h"
#include "notify_curl.h"
#include "notify_sign.h"
#include "pbx_cdr.h"
#include "pbx_clock.h"
#include "pbx_log.h"

static void answered(CURLcode res, long code, const char *err, void *arg)
{
	struct delivery *d = arg;
	char why[256];

	if (res == CURLE_OK && code >= 200 && code < 300) {
		notifier_done(d, true, NULL);
		return;
	}
	if (res == CURLE_OK)
		snprintf(why, sizeof(why), "webhook answered HTTP %ld", code);
	else if (d->refused[0]) {
		PLOG_WARN("notify %s: webhook of %s refused: %s is an address "
			  "of our own network",
			  d->job.id, d->job.tenant, d->refused);
		snprintf(why, sizeof(why),
			 "webhook: %s is an address of our own network "
			 "(webhook_private 0)",
			 d->refused);
	} else
		snprintf(why, sizeof(why), "webhook: %s", err);
	notifier_done(d, false, why);
}

/* The event, as the receiver reads it (docs/services/notifier.md): the
 * item's metadata, never its file. */
static char *body_json(const struct delivery *d, const struct notify_msg *m)
{
	const struct notify_job *j = &d->job;
	const struct notify_kind *k = notify_job_kind_of(j);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, "
			      "s:I, s:i}",
			      "event_id", j->src, "event", k->event, "kind",
			      j->kind, "tenant", j->tenant, "box", j->box,
			      "id", j->ref, "caller", m->caller, "called",
			      m->called, "time_ms", (json_int_t)m->time_ms,
			      "duration_ms", (json_int_t)m->duration_ms,
			      "attempt", (int)d->attempt);
	char *s;

	if (o && k->item == NOTIFY_ITEM_FAX &&
	    json_object_update_new(
		    o, json_pack("{s:s, s:i, s:i, s:s, s:s, s:i, s:b, s:s, "
				 "s:s}",
				 "remote_id", m->remote_id, "pages",
				 (int)m->pages, "result", m->result,
				 "result_text", m->result_text, "resolution",
				 m->resolution, "bit_rate", (int)m->bit_rate,
				 "ecm", (int)m->ecm, "transport", m->transport,
				 "files", m->files))) {
		json_decref(o);
		return NULL;
	}
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* A call record's event: the record (pbx_cdr_json) with the event's own
 * fields; -ENOENT when the record was trimmed meanwhile. */
static int cdr_body(struct delivery *d, char **body)
{
	const struct notify_job *j = &d->job;
	char key[PBX_KEY_MAX];
	static struct pbx_cdr cdr; /* 5 KB; one delivery at a time */
	json_t *ev;
	redisReply *r;
	int err;

	if (pbx_key_of(key, sizeof(key), j->tenant, PBX_K_CDR) ||
	    !pbx_cdr_id_valid(j->ref))
		return -EINVAL;
	r = notifier_cmd(d->n, "XRANGE %s %s %s", key, j->ref, j->ref);
	if (!r)
		return -EIO;
	err = r->type != REDIS_REPLY_ARRAY ? -EIO
	      : r->elements != 1	     ? -ENOENT
					     : pbx_cdr_from_entry(&cdr,
								  r->element[0]);
	freeReplyObject(r);
	if (err)
		return err;
	ev = json_pack("{s:s, s:s, s:s, s:s, s:i}", "event_id", j->src,
		       "event", notify_job_kind_of(j)->event, "kind", j->kind,
		       "tenant", j->tenant, "attempt", (int)d->attempt);
	if (!ev)
		return -ENOMEM;
	*body = pbx_cdr_json(&cdr, ev);
	json_decref(ev);
	return *body ? 0 : -ENOMEM;
}

static int add_header(struct delivery *d, const char *fmt, const char *v)
{
	char line[512];
	struct curl_slist *l;

	snprintf(line, sizeof(line), fmt, v);
	l = curl_slist_append(d->list, line);
	if (!l)
		return -ENOMEM;
	d->list = l;
	return 0;
}

int notify_webhook_start(struct delivery *d, const char **why)
{
	struct notifier *n = d->n;
	char key[PBX_KEY_MAX], sig[NOTIFY_SIGN_MAX];
	char url[1024] = "", secret[512] = "";
	struct notify_msg m;
	redisReply *r;
	CURL *easy;
	char *body;
	int err;

	if (pbx_key_of(key, sizeof(key), d->job.tenant, PBX_K_NOTIFY))
		return -EINVAL;
	r = notifier_cmd(n, "HMGET %s webhook_url webhook_secret", key);
	if (!r) {
		*why = "redis unavailable";
		return -EIO;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		snprintf(url, sizeof(url), "%s", r->element[0]->str);
		snprintf(secret, sizeof(secret), "%s", r->element[1]->str);
	}
	freeReplyObject(r);
	if (!url[0] || !secret[0]) {
		*why = "the tenant has no webhook";
		return NOTIFY_NOTHING;
	}
	if (notify_job_kind_of(&d->job)->item == NOTIFY_ITEM_CDR) {
		body = NULL;
		err = cdr_body(d, &body);
	} else {
		err = notifier_msg_load(n, &d->job, &m);
		body = err ? NULL : body_json(d, &m);
		if (!err && !body)
			err = -ENOMEM;
	}
	if (err == -ENOENT) {
		*why = "the message was deleted";
		return NOTIFY_NOTHING;
	}
	if (err == -EIO) {
		*why = "redis unavailable";
		return err;
	}
	if (err)
		return err;
	d->payload = body;
	d->len = strlen(body);
	err = notify_sign(sig, sizeof(sig), secret, pbx_clock_now_ms() / 1000,
			  body, d->len);
	memset(secret, 0, sizeof(secret));
	if (!err)
		err = add_header(d, "%s", "Content-Type: application/json");
	if (!err)
		err = add_header(d, NOTIFY_SIGN_HEADER ": %s", sig);
	if (!err)
		err = add_header(d, "X-Pbx-Event: %s",
				 notify_job_kind_of(&d->job)->event);
	if (!err)
		err = add_header(d, "X-Pbx-Event-Id: %s", d->job.src);
	if (err)
		return err;
	easy = curl_easy_init();
	if (!easy)
		return -ENOMEM;
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, d->list);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, d->payload);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)d->len);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, notifier_discard);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, n->conf->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pbx-notifier/1");
	d->refused[0] = '\0';
	if (!n->conf->webhook_private)
		notify_addr_guard(easy, d->refused);
	PLOG_INFO("notify %s: webhook for %s/%s (attempt %u)", d->job.id,
		  d->job.box, d->job.ref, d->attempt);
	return notify_curl_start(n->curl, easy, answered, d);
}
