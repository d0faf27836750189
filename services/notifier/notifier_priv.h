/* Inside the notifier: the object, one delivery, and what the channel
 * files (notify_email.c, notify_webhook.c) use of the core. */
#ifndef NOTIFIER_PRIV_H
#define NOTIFIER_PRIV_H
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "notifier.h"
#include "notify_backoff.h"
#include "notify_addr.h"
#include "notify_job.h"

struct notify_curl;
struct notify_mwi;

/* One channel job being delivered; owned by the in-flight list of its
 * notifier, freed when its transfer ends (or by notifier_free). */
struct delivery {
	struct notifier *n;
	struct delivery *prev, *next;
	struct notify_job job;
	uint32_t attempt;          /* 1 for the first delivery */
	char *payload;             /* SMTP: the message */
	size_t len, off;
	struct curl_slist *list;   /* SMTP recipients / HTTP headers */
	char refused[NOTIFY_ADDR_REFUSED_MAX];          /* webhook: the private address refused */
};

/* Owned by main(). */
struct notifier {
	struct event_base *base;
	const struct notifier_conf *conf;
	struct notify_backoff backoff;
	redisContext *rc;          /* NULL while Redis is down */
	bool grouped;              /* the consumer group exists */
	bool warned_down;
	struct event *tick;
	struct notify_curl *curl;
	struct notify_mwi *mwi;    /* NULL: MWI off (mwi_listen empty) */
	struct delivery *inflight;
	unsigned ninflight;
	char smtp_password[256];
	char jobs_key[PBX_KEY_MAX], dead_key[PBX_KEY_MAX],
		errors_key[PBX_KEY_MAX];
	/* Metrics (notifier_metrics.c): deliveries made, attempts that
	 * failed, jobs given up into the dead letters. */
	unsigned long n_sent, n_failed, n_dead;
};

/* A command on the notifier's connection; NULL when Redis is down or the
 * connection broke (dropped: the next tick reconnects). A reply of type
 * error is returned as it is. */
redisReply *notifier_cmd(struct notifier *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* What a channel's start function returns besides 0 (started: the
 * transfer's end calls notifier_done) and a negative errno (failed now;
 * why is set). */
#define NOTIFY_NOTHING 1 /* nothing to send (no address, message gone) */

typedef int(notify_start_h)(struct delivery *d, const char **why);
notify_start_h notify_email_start;
notify_start_h notify_webhook_start;
notify_start_h notify_mwi_start;

/* A channel's transfer ended: ok, or why it failed. Frees d. */
void notifier_done(struct delivery *d, bool ok, const char *why);

/* The item a job names (a voicemail message or a fax), read from its
 * hash; the fax fields are zero / empty for voicemail. */
struct notify_msg {
	char caller[PBX_ID_MAX + 1];
	char called[PBX_ID_MAX + 1];
	uint64_t time_ms;
	uint32_t duration_ms;
	/* fax */
	char remote_id[24];    /* the sender's TSI (20 characters) */
	char result_text[96];
	char resolution[24];   /* "204x196" */
	char transport[8];     /* "audio", "t38" */
	char files[16];        /* "tif,pdf", "tif", "" */
	int result;            /* T.30 completion code, 0 = OK */
	uint32_t pages, bit_rate;
	bool ecm;
};
/* 0, -ENOENT (deleted: nothing to announce), -EIO (Redis). */
int notifier_msg_load(struct notifier *n, const struct notify_job *j,
		      struct notify_msg *m);

/* Discards a response body (curl writes it to stdout otherwise). */
size_t notifier_discard(char *p, size_t size, size_t nmemb, void *arg);

#endif
