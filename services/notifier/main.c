/* notifier: wiring only — configuration, the notifier, the event loop,
 * teardown (docs/services/notifier.md). */
#include <curl/curl.h>
#include <re.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "notifier.h"
#include "notify_mime.h"
#include "pbx_config.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_service.h"

static struct notifier_conf cfg;
static struct pbx_metrics_config mcfg;

#define INT(n, def, lo, hi, help)                                             \
	{#n, PBX_CFG_INT, &cfg.n, def, lo, hi, help}
#define STR(n, def, help) {#n, PBX_CFG_STR, cfg.n, def, 0, 0, help}

/* Mirrored in docs/services/notifier.md. */
static const struct pbx_config_item items[] = {
	STR(notifier_id, "nt1",
	    "this instance's consumer name in the group \"notifier\""),
	PBX_SERVICE_REDIS_ITEMS(cfg.redis),
	STR(media_root, "/var/lib/pbx/media",
	    "the media store (read only: attachments)"),
	STR(smtp_url, "smtp://127.0.0.1:25",
	    "SMTP server (smtp:// or smtps://host:port)"),
	STR(smtp_user, "", "SMTP login (empty: none)"),
	{"smtp_password", PBX_CFG_SECRET, cfg.smtp_password, "", 0, 0,
	 "SMTP password (prefer smtp_password_file)"},
	STR(smtp_password_file, "",
	    "file whose first line is the SMTP password"),
	STR(smtp_from, "voicemail@pbx.invalid", "sender address"),
	STR(smtp_tls, "try",
	    "STARTTLS: none, try (when offered) or all (required)"),
	INT(poll_ms, "200", 10, 10000, "look for new jobs this often"),
	INT(retry_base_ms, "2000", 10, 3600000,
	    "wait after the first failure of a delivery (doubles each time)"),
	INT(retry_max_ms, "300000", 10, 86400000,
	    "longest wait between two attempts"),
	INT(max_attempts, "8", 1, 100,
	    "attempts before a job goes to the dead-letter stream"),
	INT(timeout_ms, "30000", 100, 600000,
	    "one SMTP or HTTP transfer, at most"),
	INT(max_inflight, "32", 1, 1024, "transfers running at once"),
	INT(attach_max_bytes, "10485760", 0, 67108864,
	    "larger recordings are announced without the attachment"),
	STR(mwi_listen, "127.0.0.1:5070",
	    "SIP (UDP) for message-summary SUBSCRIBEs (ip:port; empty: no "
	    "MWI)"),
	STR(mwi_edge_ip, "127.0.0.1",
	    "the only address SUBSCRIBEs are taken from (Kamailio)"),
	INT(mwi_expires_max, "3600", 60, 86400,
	    "longest subscription before the phone must refresh it"),
	INT(webhook_private, "0", 0, 1,
	    "1: webhooks may go to loopback, private and link-local "
	    "addresses (a local receiver); 0: refused, a tenant's URL must "
	    "not reach our own network"),
	STR(log_level, "info", "error, warn, info or debug"),
	PBX_LOG_FORMAT_ITEM,
	PBX_METRICS_ITEMS(mcfg, "127.0.0.1:9205"),
};

int main(int argc, char **argv)
{
	size_t n = sizeof(items) / sizeof(items[0]);
	struct event_base *base;
	struct pbx_metrics *metrics = NULL;
	struct notifier *nt;
	int err;

	err = pbx_config_main(items, n, "notifier", argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (!pbx_id_valid(cfg.notifier_id)) {
		fprintf(stderr, "config: notifier_id: '%s' is not an id\n",
			cfg.notifier_id);
		return 2;
	}
	if (!notify_mime_addr_valid(cfg.smtp_from)) {
		fprintf(stderr, "config: smtp_from: '%s' is not an address\n",
			cfg.smtp_from);
		return 2;
	}
	if (strcmp(cfg.smtp_tls, "none") && strcmp(cfg.smtp_tls, "try") &&
	    strcmp(cfg.smtp_tls, "all")) {
		fprintf(stderr, "config: smtp_tls: '%s' is not none, try or "
				"all\n",
			cfg.smtp_tls);
		return 2;
	}
	if (cfg.retry_max_ms < cfg.retry_base_ms) {
		fprintf(stderr, "config: retry_max_ms is below retry_base_ms\n");
		return 2;
	}
	err = pbx_service_start("notifier", cfg.log_level, &cfg.redis);
	if (err)
		return err;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		PLOG_ERR("cannot initialise libcurl");
		return 1;
	}
	/* libre (MWI's SIP stack) runs on a thread of its own
	 * (notify_mwi.c); its global state is set up here, once. */
	err = libre_init();
	if (err) {
		PLOG_ERR("libre_init: %s", strerror(err));
		curl_global_cleanup();
		return 1;
	}
	/* A peer that closes its socket must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base) {
		PLOG_ERR("cannot create the event loop");
		curl_global_cleanup();
		return 1;
	}
	err = notifier_alloc(&nt, base, &cfg);
	if (err) {
		PLOG_ERR("cannot start: %s", strerror(-err));
		event_base_free(base);
		libre_close();
		curl_global_cleanup();
		return 1;
	}
	err = pbx_service_metrics(&metrics, "notifier", &mcfg, base);
	if (!err) {
		notifier_metrics_add(nt, metrics);
		PLOG_INFO("%s: redis %s:%ld, smtp %s, media %s",
			  cfg.notifier_id, cfg.redis.host, cfg.redis.port,
			  cfg.smtp_url, cfg.media_root);
		pbx_service_run(base);
		PLOG_INFO("stopping");
	}
	pbx_metrics_free(metrics);
	notifier_free(nt);
	event_base_free(base);
	libre_close();
	curl_global_cleanup();
	return err;
}
