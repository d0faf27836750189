/* The notifier: consumes the notification job stream (notify_job.h) in
 * the Redis consumer group "notifier", fans each producer's job out into
 * one job per channel, delivers those (e-mail over SMTP, the tenant's
 * signed webhook) without blocking its loop, and retries a failed one
 * with backoff until it is delivered or given up into the dead-letter
 * stream. Everything it has not acknowledged stays pending in Redis, so
 * a notifier that dies loses nothing: it (or another instance) takes the
 * pending jobs up again. */
#ifndef NOTIFIER_H
#define NOTIFIER_H
#include "pbx_config.h"
#include "pbx_service.h"

struct event_base;
struct notifier;

/* The config table's values (main.c; docs/services/notifier.md). */
struct notifier_conf {
	char notifier_id[PBX_CFG_STRLEN];
	struct pbx_service_redis redis;
	char media_root[PBX_CFG_STRLEN];
	char smtp_url[PBX_CFG_STRLEN];
	char smtp_user[PBX_CFG_STRLEN];
	char smtp_password[PBX_CFG_STRLEN];
	char smtp_password_file[PBX_CFG_STRLEN];
	char smtp_from[PBX_CFG_STRLEN];
	char smtp_tls[PBX_CFG_STRLEN];
	long poll_ms;
	long retry_base_ms;
	long retry_max_ms;
	long max_attempts;
	long timeout_ms;
	long max_inflight;
	long attach_max_bytes;
	char mwi_listen[PBX_CFG_STRLEN];
	char mwi_edge_ip[PBX_CFG_STRLEN];
	long mwi_expires_max;
	long webhook_private; /* 1: webhooks may reach our own networks */
	char log_level[PBX_CFG_STRLEN];
};

/* conf is borrowed for the notifier's life. 0, -ENOMEM. Redis may be
 * down: the notifier connects when it can. */
int notifier_alloc(struct notifier **np, struct event_base *base,
		   const struct notifier_conf *conf);
/* Deliveries in flight are dropped unacknowledged: they stay pending
 * and are delivered again after the next start. */
void notifier_free(struct notifier *n);

struct pbx_metrics;
/* notifier_metrics.c: the counters and the health into m. */
int notifier_metrics_add(struct notifier *n, struct pbx_metrics *m);

#endif
