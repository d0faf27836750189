/* The notifier's core (notifier.h): the Redis consumer group, fan-out,
 * in-flight deliveries, acknowledgement, retries and dead letters.
 *
 * Redis is used through one blocking connection with a short timeout from
 * the libevent loop: every command is one round trip to a local server,
 * while the slow part, talking to SMTP and HTTP servers, runs in libcurl's
 * multi interface on the same loop (notify_curl.c). New jobs are read
 * every poll_ms without BLOCK, so the loop never waits on Redis for
 * long.
 *
 * A job is acknowledged (XACK, and XDEL: the stream holds only work to
 * do) only once delivered, given up, or found to have nothing to send.
 * A failed delivery is left pending; XPENDING shows how often it was
 * delivered and how long ago, and it is claimed again (XCLAIM, which
 * counts the delivery) once its backoff has passed. Jobs pending in a
 * notifier that died are claimed the same way by whoever scans next. */
#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifier_priv.h"
#include "notify_curl.h"
#include "notify_mwi.h"
#include "pbx_log.h"
#include "pbx_notify.h"

#define GROUP "notifier"
#define STREAM_MAXLEN PBX_NOTIFY_MAXLEN
#define SCAN_MAX 1000

static void drop_conn(struct notifier *n)
{
	if (n->rc)
		pbx_redis_close(n->rc);
	n->rc = NULL;
	n->grouped = false;
}

static redisReply *vcmd(struct notifier *n, const char *fmt, va_list ap)
{
	redisReply *r;

	if (!n->rc)
		return NULL;
	r = pbx_redis_vcmd(n->rc, fmt, ap);
	if (!r) {
		PLOG_WARN("redis: %s; reconnecting", n->rc->errstr);
		drop_conn(n);
	}
	return r;
}

redisReply *notifier_cmd(struct notifier *n, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = vcmd(n, fmt, ap);
	va_end(ap);
	return r;
}

/* A command whose reply only says whether it worked (an error reply is
 * logged). */
static bool cmd_ok(struct notifier *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool cmd_ok(struct notifier *n, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;
	bool ok;

	va_start(ap, fmt);
	r = vcmd(n, fmt, ap);
	va_end(ap);
	ok = r && r->type != REDIS_REPLY_ERROR;
	if (r && !ok)
		PLOG_ERR("redis: %s", r->str);
	if (r)
		freeReplyObject(r);
	return ok;
}

/* Connected, authenticated, and the group exists (made from the start of
 * the stream: jobs written before the first notifier ever ran count). */
static bool connect_redis(struct notifier *n)
{
	const struct notifier_conf *c = n->conf;
	redisReply *r;

	if (!n->rc) {
		n->rc = pbx_redis_connect(c->redis.host, (int)c->redis.port,
					  &c->redis.cred, 1000);
		if (!n->rc) {
			if (!n->warned_down)
				PLOG_WARN("redis %s:%ld unreachable; retrying",
					  c->redis.host, c->redis.port);
			n->warned_down = true;
			return false;
		}
		if (n->warned_down)
			PLOG_INFO("redis connected");
		n->warned_down = false;
	}
	if (n->grouped)
		return true;
	r = notifier_cmd(n, "XGROUP CREATE %s " GROUP " 0 MKSTREAM",
			 n->jobs_key);
	if (!r)
		return false;
	n->grouped = r->type != REDIS_REPLY_ERROR ||
		     !strncmp(r->str, "BUSYGROUP", 9);
	if (!n->grouped)
		PLOG_ERR("redis: XGROUP CREATE %s: %s", n->jobs_key, r->str);
	freeReplyObject(r);
	return n->grouped;
}

/* Done with a job: no longer pending, out of the stream, no error kept.
 * One transaction, so a crash leaves either all of it or none (then the
 * job is delivered again: at least once, never lost). */
static bool ack(struct notifier *n, const char *id)
{
	redisReply *r;
	bool ok;

	if (!cmd_ok(n, "MULTI"))
		return false;
	cmd_ok(n, "XACK %s " GROUP " %s", n->jobs_key, id);
	cmd_ok(n, "XDEL %s %s", n->jobs_key, id);
	cmd_ok(n, "HDEL %s %s", n->errors_key, id);
	r = notifier_cmd(n, "EXEC");
	ok = r && r->type == REDIS_REPLY_ARRAY;
	if (r)
		freeReplyObject(r);
	if (!ok)
		PLOG_ERR("notify %s: acknowledgement failed; it will be "
			 "delivered again",
			 id);
	return ok;
}

/* Gives a job up: its fields and why into the dead-letter stream, then
 * acknowledged, in one transaction. */
static void dead(struct notifier *n, const char *id,
		 const redisReply *fields, uint32_t attempts, const char *why)
{
	const char *argv[64];
	size_t argl[64], k = 0;
	char at[16];
	redisReply *r;

	n->n_dead++;
	snprintf(at, sizeof(at), "%u", attempts);
	argv[k++] = "XADD";
	argv[k++] = n->dead_key;
	argv[k++] = "MAXLEN";
	argv[k++] = "~";
	argv[k++] = STREAM_MAXLEN;
	argv[k++] = "*";
	argv[k++] = "job";
	argv[k++] = id;
	argv[k++] = "attempts";
	argv[k++] = at;
	argv[k++] = "error";
	argv[k++] = why;
	for (size_t i = 0; fields && fields->type == REDIS_REPLY_ARRAY &&
			   i + 1 < fields->elements && k + 2 <= 64;
	     i += 2) {
		if (fields->element[i]->type != REDIS_REPLY_STRING ||
		    fields->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		argv[k++] = fields->element[i]->str;
		argv[k++] = fields->element[i + 1]->str;
	}
	for (size_t i = 0; i < k; i++)
		argl[i] = strlen(argv[i]);
	if (!cmd_ok(n, "MULTI"))
		return;
	r = pbx_redis_cmd_argv(n->rc, (int)k, argv, argl);
	if (!r) {
		drop_conn(n);
		return;
	}
	freeReplyObject(r);
	PLOG_ERR("notify %s: given up after %u attempts: %s", id, attempts,
		 why);
	cmd_ok(n, "XACK %s " GROUP " %s", n->jobs_key, id);
	cmd_ok(n, "XDEL %s %s", n->jobs_key, id);
	cmd_ok(n, "HDEL %s %s", n->errors_key, id);
	r = notifier_cmd(n, "EXEC");
	if (r)
		freeReplyObject(r);
}

/* A producer's job becomes one job per channel; the producer's job is
 * acknowledged in the same transaction, so a crash repeats the fan-out
 * or has done it whole. */
static void fan_out(struct notifier *n, const struct notify_job *j)
{
	redisReply *r;
	bool ok;

	if (!cmd_ok(n, "MULTI"))
		return;
	for (int c = 0; c < NOTIFY_CH_COUNT; c++)
		if (notify_job_channels(j) & 1u << c)
			cmd_ok(n, PBX_NOTIFY_XADD " channel %s src %s", n->jobs_key, j->kind, j->tenant, j->box, j->ref,
		       notify_channel_names[c], j->id);
	cmd_ok(n, "XACK %s " GROUP " %s", n->jobs_key, j->id);
	cmd_ok(n, "XDEL %s %s", n->jobs_key, j->id);
	r = notifier_cmd(n, "EXEC");
	ok = r && r->type == REDIS_REPLY_ARRAY;
	if (r)
		freeReplyObject(r);
	if (ok)
		PLOG_INFO("notify %s: %s %s/%s: fanned out", j->id, j->kind,
			  j->box, j->ref);
}

static notify_start_h *const starts[NOTIFY_CH_COUNT] = {
	[NOTIFY_CH_EMAIL] = notify_email_start,
	[NOTIFY_CH_WEBHOOK] = notify_webhook_start,
	[NOTIFY_CH_MWI] = notify_mwi_start,
};

/* The MWI channel: the subscribers' thread recounts the box and sends
 * NOTIFYs. Counts are state, not events: nothing to retry, a later
 * change or the phone's next refresh carries the truth. */
int notify_mwi_start(struct delivery *d, const char **why)
{
	if (!d->n->mwi) {
		*why = "MWI is off";
		return NOTIFY_NOTHING;
	}
	notify_mwi_changed(d->n->mwi, d->job.tenant, d->job.box);
	*why = "the box's subscribers are told";
	return NOTIFY_NOTHING;
}

static void delivery_free(struct delivery *d)
{
	struct notifier *n = d->n;

	if (d->prev)
		d->prev->next = d->next;
	else
		n->inflight = d->next;
	if (d->next)
		d->next->prev = d->prev;
	n->ninflight--;
	free(d->payload);
	curl_slist_free_all(d->list);
	free(d);
}

/* A delivery failed: kept pending with its reason (a restarted notifier
 * reports it), or dead when no try is left. */
static void failed(struct notifier *n, const struct notify_job *j,
		   uint32_t attempt, const char *why)
{
	redisReply *r;

	n->n_failed++;
	if (!notify_backoff_exhausted(&n->backoff, attempt)) {
		PLOG_WARN("notify %s: %s attempt %u failed: %s; again in %u ms",
			  j->id, j->channel, attempt, why,
			  notify_backoff_ms(&n->backoff, attempt));
		cmd_ok(n, "HSET %s %s %s", n->errors_key, j->id, why);
		return;
	}
	r = notifier_cmd(n, "XRANGE %s %s %s", n->jobs_key, j->id, j->id);
	dead(n, j->id,
	     r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
			     r->element[0]->elements == 2
		     ? r->element[0]->element[1]
		     : NULL,
	     attempt, why);
	if (r)
		freeReplyObject(r);
}

void notifier_done(struct delivery *d, bool ok, const char *why)
{
	struct notifier *n = d->n;

	pbx_log_ctx(d->job.tenant, NULL);
	if (ok) {
		PLOG_INFO("notify %s: %s of %s/%s delivered (attempt %u)",
			  d->job.id, d->job.channel, d->job.box, d->job.ref,
			  d->attempt);
		n->n_sent++;
		ack(n, d->job.id);
	} else {
		failed(n, &d->job, d->attempt, why);
	}
	pbx_log_ctx(NULL, NULL);
	delivery_free(d);
}

static bool inflight(const struct notifier *n, const char *id)
{
	for (const struct delivery *d = n->inflight; d; d = d->next) {
		if (!strcmp(d->job.id, id))
			return true;
	}
	return false;
}

/* One job read from the stream, delivered for the attempt-th time. */
static void handle(struct notifier *n, const char *id,
		   const redisReply *fields, uint32_t attempt)
{
	struct notify_job j;
	struct delivery *d;
	const char *why = NULL;
	int err;

	if (notify_job_parse(&j, id, fields)) {
		dead(n, id, fields, attempt, "not a valid job");
		return;
	}
	pbx_log_ctx(j.tenant, NULL);
	if (!j.channel[0]) {
		fan_out(n, &j);
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out; /* pending: tried again */
	d->n = n;
	d->job = j;
	d->attempt = attempt;
	d->next = n->inflight;
	if (n->inflight)
		n->inflight->prev = d;
	n->inflight = d;
	n->ninflight++;
	err = starts[notify_job_channel(j.channel)](d, &why);
	if (err == NOTIFY_NOTHING) {
		PLOG_INFO("notify %s: %s: no transfer (%s)", j.id, j.channel,
			  why ? why : "not configured");
		ack(n, j.id);
		delivery_free(d);
	} else if (err) {
		failed(n, &j, attempt, why ? why : strerror(-err));
		delivery_free(d);
	}
out:
	pbx_log_ctx(NULL, NULL);
}

/* New jobs, as many as there is room in flight. */
static void read_new(struct notifier *n)
{
	long room = n->conf->max_inflight - (long)n->ninflight;
	redisReply *r, *entries;

	if (room <= 0)
		return;
	r = notifier_cmd(n,
			 "XREADGROUP GROUP " GROUP " %s COUNT %ld STREAMS %s >",
			 n->conf->notifier_id, room, n->jobs_key);
	if (!r)
		return;
	if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "NOGROUP"))
		n->grouped = false; /* the stream was deleted: make it again */
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->elements != 2) {
		freeReplyObject(r);
		return;
	}
	entries = r->element[0]->element[1];
	for (size_t i = 0; i < entries->elements && n->rc; i++) {
		redisReply *e = entries->element[i];

		if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
		    e->element[0]->type == REDIS_REPLY_STRING)
			handle(n, e->element[0]->str, e->element[1], 1);
	}
	freeReplyObject(r);
}

/* The last error recorded for a job, into buf ("" when none). */
static const char *last_error(struct notifier *n, const char *id, char *buf,
			      size_t size)
{
	redisReply *r = notifier_cmd(n, "HGET %s %s", n->errors_key, id);

	snprintf(buf, size, "%s",
		 r && r->type == REDIS_REPLY_STRING ? r->str
						    : "no error recorded");
	if (r)
		freeReplyObject(r);
	return buf;
}

/* Claims one pending job idle for at least min_idle ms. Returns the
 * XCLAIM reply (the caller frees) and its entry in *ep, NULL in *ep when
 * another notifier took it first or it is no longer in the stream. */
static redisReply *claim(struct notifier *n, const char *id, long long idle,
			 redisReply **ep)
{
	redisReply *r = notifier_cmd(n, "XCLAIM %s " GROUP " %s %lld %s",
				     n->jobs_key, n->conf->notifier_id, idle,
				     id);

	*ep = NULL;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2)
		*ep = r->element[0];
	return r;
}

/* Failed jobs whose backoff has passed, and jobs a dead notifier left. */
static void retry_pending(struct notifier *n)
{
	redisReply *r;

	r = notifier_cmd(n, "XPENDING %s " GROUP " IDLE %u - + %d",
			 n->jobs_key, n->backoff.base_ms, SCAN_MAX);
	if (!r)
		return;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements &&
			   n->rc && (long)n->ninflight < n->conf->max_inflight;
	     i++) {
		redisReply *p = r->element[i], *c, *e;
		const char *id;
		long long idle, count;

		if (p->type != REDIS_REPLY_ARRAY || p->elements != 4)
			continue;
		id = p->element[0]->str;
		idle = p->element[2]->integer;
		count = p->element[3]->integer;
		if (inflight(n, id) ||
		    !notify_backoff_due(&n->backoff, (uint32_t)count,
					(uint64_t)idle))
			continue;
		c = claim(n, id, notify_backoff_ms(&n->backoff,
						   (uint32_t)count),
			  &e);
		/* No entry: another notifier took it meanwhile, or it was
		 * trimmed from the stream (XCLAIM then drops it). */
		if (e && notify_backoff_exhausted(&n->backoff,
						  (uint32_t)count)) {
			char why[256];

			dead(n, id, e->element[1], (uint32_t)count,
			     last_error(n, id, why, sizeof(why)));
		} else if (e) {
			handle(n, id, e->element[1], (uint32_t)count + 1);
		}
		if (c)
			freeReplyObject(c);
	}
	freeReplyObject(r);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;

	(void)fd;
	(void)what;
	if (!connect_redis(n))
		return;
	read_new(n);
	if (n->rc)
		retry_pending(n);
}

size_t notifier_discard(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

int notifier_alloc(struct notifier **np, struct event_base *base,
		   const struct notifier_conf *conf)
{
	struct notifier *n = calloc(1, sizeof(*n));
	struct timeval tv = {.tv_sec = conf->poll_ms / 1000,
			     .tv_usec = conf->poll_ms % 1000 * 1000};
	struct pbx_redis_cred smtp;
	int err;

	if (!n)
		return -ENOMEM;
	n->base = base;
	n->conf = conf;
	n->backoff = (struct notify_backoff){
		.base_ms = (uint32_t)conf->retry_base_ms,
		.max_ms = (uint32_t)conf->retry_max_ms,
		.max_attempts = (uint32_t)conf->max_attempts,
	};
	/* The SMTP password as a file or a value, like Redis's. */
	err = pbx_redis_cred_load(&smtp, "", conf->smtp_password,
				  conf->smtp_password_file);
	if (err)
		goto fail;
	snprintf(n->smtp_password, sizeof(n->smtp_password), "%s",
		 smtp.password);
	memset(&smtp, 0, sizeof(smtp));
	if (pbx_key_sys_of(n->jobs_key, sizeof(n->jobs_key),
			   PBX_KS_NOTIFY_JOBS) ||
	    pbx_key_sys_of(n->dead_key, sizeof(n->dead_key),
			   PBX_KS_NOTIFY_DEAD) ||
	    pbx_key_sys_of(n->errors_key, sizeof(n->errors_key),
			   PBX_KS_NOTIFY_ERRORS)) {
		err = -EINVAL;
		goto fail;
	}
	err = notify_curl_alloc(&n->curl, base);
	if (!err && conf->mwi_listen[0])
		err = notify_mwi_alloc(&n->mwi, conf);
	if (err)
		goto fail;
	n->tick = event_new(base, -1, EV_PERSIST, on_tick, n);
	if (!n->tick || event_add(n->tick, &tv)) {
		err = -ENOMEM;
		goto fail;
	}
	*np = n;
	return 0;
fail:
	notifier_free(n);
	return err;
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	if (n->tick)
		event_free(n->tick);
	/* Transfers first: their callbacks may no longer run. */
	notify_curl_free(n->curl);
	notify_mwi_free(n->mwi);
	while (n->inflight)
		delivery_free(n->inflight);
	drop_conn(n);
	memset(n->smtp_password, 0, sizeof(n->smtp_password));
	free(n);
}
