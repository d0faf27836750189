/* The media worker's metrics endpoint (docs/services/media-worker.md,
 * "Metrics"): the worker runs libre's loop, not libevent's, so /metrics
 * and /health are served by libre's HTTP server on that loop, with the
 * same tables and request policy as every other service (pbx_metrics.h):
 * nothing is read from another thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <re.h>

#include "leg.h"
#include "pbx_log.h"
#include "pbx_metrics.h"
#include "worker.h"
#include "worker_priv.h"

/* A scrape is one short GET: as evhttp's limit elsewhere. */
#define MAX_HEADERS 4096

static const struct pbx_metric worker_metrics[] = {
	PBX_GAUGE(struct worker, load, "pbx_worker_active_calls",
		  "calls on this worker"),
	PBX_GAUGE(struct worker, cfg_capacity, "pbx_worker_capacity",
		  "most calls it takes (capacity)"),
	PBX_GAUGE(struct worker, draining, "pbx_worker_draining",
		  "1 while draining: no new calls"),
	PBX_GAUGE(struct worker, lag_ms, "pbx_worker_loop_lag_ms",
		  "how late the event loop's 100 ms probe fired last"),
	PBX_COUNTER(struct worker, n_calls, "pbx_worker_calls_total",
		    "calls taken (INVITEs accepted)"),
	PBX_COUNTER_L(struct worker, n_refused_full,
		      "pbx_worker_refused_total", "why=\"full\"",
		      "INVITEs refused 503: full or draining, or the loop "
		      "behind (overload_lag_ms)"),
	PBX_COUNTER_L(struct worker, n_refused_lag,
		      "pbx_worker_refused_total", "why=\"lag\"",
		      "INVITEs refused 503: full or draining, or the loop "
		      "behind (overload_lag_ms)"),
};

static const struct pbx_metric leg_metrics[] = {
	PBX_GAUGE(struct leg_totals, open, "pbx_worker_active_legs",
		  "RTP legs open (callers and callees)"),
	PBX_COUNTER(struct leg_totals, rx, "pbx_worker_rtp_received_total",
		    "RTP packets received from peers"),
	PBX_COUNTER(struct leg_totals, tx, "pbx_worker_rtp_sent_total",
		    "RTP packets sent"),
	PBX_COUNTER(struct leg_totals, lost, "pbx_worker_rtp_lost_total",
		    "RTP packets missing from peers' streams (sequence gaps)"),
	PBX_COUNTER(struct leg_totals, late, "pbx_worker_rtp_late_total",
		    "RTP packets behind the highest sequence number seen "
		    "(reordered or duplicated)"),
	PBX_COUNTER(struct leg_totals, dropped,
		    "pbx_worker_rtp_dropped_total",
		    "RTP packets dropped: not from the latched peer"),
};

/* Healthy while a router takes our heartbeats (draining is healthy: it
 * is asked for). */
static int health(const void *obj, const char **why)
{
	const struct worker *w = obj;

	for (size_t i = 0; i < w->nlinks; i++) {
		if (w->links[i].ever_up && !w->links[i].down)
			return 0;
	}
	*why = "no router reachable";
	return -ENOTCONN;
}

static const char *reason_of(int status)
{
	return status == 200   ? "OK"
	       : status == 400 ? "Bad Request"
	       : status == 401 ? "Unauthorized"
	       : status == 404 ? "Not Found"
	       : status == 405 ? "Method Not Allowed"
	       : status == 413 ? "Payload Too Large"
	       : status == 503 ? "Service Unavailable"
			       : "Error";
}

static void on_request(struct http_conn *conn, const struct http_msg *msg,
		       void *arg)
{
	struct worker *w = arg;
	const struct http_hdr *auth =
		http_msg_hdr(msg, HTTP_HDR_AUTHORIZATION);
	char method[16], path[256], authv[512] = "";
	const char *ctype = "text/plain; charset=utf-8";
	char *body = NULL;
	size_t len = 0;
	int status;

	pl_strcpy(&msg->met, method, sizeof(method));
	pl_strcpy(&msg->path, path, sizeof(path));
	if (auth)
		pl_strcpy(&auth->val, authv, sizeof(authv));
	if (msg->_mb && msg->_mb->pos > MAX_HEADERS)
		status = 400;
	else if (msg->clen)
		status = 413;
	else
		status = pbx_metrics_request(w->metrics, method, path,
					     auth ? authv : NULL, &body, &len,
					     &ctype);
	http_reply(conn, (uint16_t)status, reason_of(status),
		   "Content-Type: %s\r\n"
		   "%s"
		   "Content-Length: %zu\r\n"
		   "\r\n"
		   "%b",
		   ctype,
		   status == 401 ? "WWW-Authenticate: Bearer\r\n" : "", len,
		   body ? body : "", len);
	free(body);
}

int worker_metrics_start(struct worker *w)
{
	const struct pbx_metrics_config *mc = &w->cfg->metrics;
	char host[PBX_CFG_STRLEN];
	uint16_t port;
	struct sa sa;
	int err;

	w->cfg_capacity = (unsigned long)w->cfg->capacity;
	err = pbx_metrics_alloc(&w->metrics, "media-worker", mc->token_file);
	if (err)
		return err;
	pbx_metrics_health(w->metrics, health, w);
	PBX_METRICS_ADD(w->metrics, worker_metrics, w);
	PBX_METRICS_ADD(w->metrics, leg_metrics, &leg_totals);
	err = pbx_metrics_listen_parse(mc->listen, host, sizeof(host), &port);
	if (err)
		return err > 0 ? 0 : err;
	err = sa_set_str(&sa, host, port);
	if (!err)
		err = http_listen(&w->http, &sa, on_request, w);
	if (err) {
		PLOG_ERR("metrics_listen %s: cannot listen: %s", mc->listen,
			 strerror(err));
		return -err;
	}
	PLOG_INFO("metrics on http://%s/metrics and /health%s", mc->listen,
		  mc->token_file[0] ? " (bearer token)" : "");
	return 0;
}

void worker_metrics_stop(struct worker *w)
{
	w->http = mem_deref(w->http);
	pbx_metrics_free(w->metrics);
	w->metrics = NULL;
}
